/* chattrack dashboard: signing in.
   Inside Telegram (a Mini App) the launch parameters arrive in the address's fragment: tgWebAppData is the
   signed initData, which this page posts to /dashboard/session, then loads the page again with its session.
   Elsewhere the page only says to ask the bot for /web. On /dashboard/login it submits the one-time link's
   form by itself (the button is there for browsers without scripts). */
(function () {
  "use strict";

  function launchData() {
    try {
      return new URLSearchParams(window.location.hash.slice(1)).get("tgWebAppData");
    } catch (error) {
      return null;
    }
  }

  function show(element, text) {
    if (!element) return;
    if (text) element.textContent = text;
    element.hidden = false;
  }

  function signInFromTelegram(main, initData) {
    var words = main.querySelector(".signin-words");
    var waiting = main.querySelector(".signin-telegram");
    var failed = main.querySelector(".signin-failed");
    if (words) words.hidden = true;
    show(waiting);
    fetch("/dashboard/session", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json" },
      body: JSON.stringify({ initData: initData })
    })
      .then(function (response) {
        return response.json().then(function (body) {
          return { ok: response.ok, body: body };
        });
      })
      .then(function (answer) {
        if (answer.ok) {
          window.location.reload(); // the same address, now with a session (the fragment stays for the theme)
          return;
        }
        if (waiting) waiting.hidden = true;
        show(failed, answer.body && answer.body.error);
      })
      .catch(function () {
        if (waiting) waiting.hidden = true;
        show(failed, failed && failed.getAttribute("data-network"));
      });
  }

  function start() {
    var form = document.querySelector("form[data-autosubmit]");
    if (form) {
      form.submit();
      return;
    }
    var main = document.querySelector("main.signin");
    var initData = launchData();
    if (main && main.getAttribute("data-reason") === "signed_out" && initData) {
      signInFromTelegram(main, initData);
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
