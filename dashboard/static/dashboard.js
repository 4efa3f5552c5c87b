/* chattrack dashboard: the page script */
