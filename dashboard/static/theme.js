/* chattrack dashboard: the theme, set before the page is drawn (so it never flashes in the wrong colours).
   Inside Telegram the Mini App's launch parameters carry the chat's colours (tgWebAppThemeParams in
   location.hash); they are kept in sessionStorage, so later pages of the session (the dialog list, a card)
   keep them after the hash is gone. Elsewhere the stylesheet follows prefers-color-scheme. No telegram.org
   script is needed. */
(function () {
  "use strict";
  var KEY = "chattrack.tgTheme";
  // our variable ← Telegram's theme parameters, the first one given wins
  var MAP = {
    "--bg": ["secondary_bg_color", "bg_color"],
    "--card": ["section_bg_color", "bg_color"],
    "--text": ["text_color"],
    "--hint": ["hint_color", "subtitle_text_color"],
    "--link": ["link_color", "accent_text_color"],
    "--accent": ["button_color", "accent_text_color"],
    "--accent-text": ["button_text_color"],
    "--border": ["section_separator_color"],
  };
  var COLOUR = /^#[0-9a-fA-F]{3,8}$/;

  function stored() {
    try {
      return sessionStorage.getItem(KEY);
    } catch (e) {
      return null;
    }
  }

  function keep(raw) {
    try {
      sessionStorage.setItem(KEY, raw);
    } catch (e) {
      /* private mode: this page still gets the theme */
    }
  }

  function fromHash() {
    var raw = new URLSearchParams(location.hash.slice(1)).get("tgWebAppThemeParams");
    return raw && parse(raw) ? raw : null;
  }

  function parse(raw) {
    try {
      var theme = JSON.parse(raw);
      return theme && typeof theme === "object" ? theme : null;
    } catch (e) {
      return null;
    }
  }

  function dark(colour) {
    var hex = colour.slice(1);
    if (hex.length < 6) hex = hex.replace(/./g, "$&$&");
    var rgb = [0, 2, 4].map(function (i) { return parseInt(hex.substr(i, 2), 16) / 255; });
    return 0.2126 * rgb[0] + 0.7152 * rgb[1] + 0.0722 * rgb[2] < 0.5;
  }

  function apply(theme) {
    var root = document.documentElement;
    if (!theme) return;
    Object.keys(MAP).forEach(function (name) {
      var found = MAP[name].map(function (key) { return theme[key]; }).find(function (v) {
        return typeof v === "string" && COLOUR.test(v);
      });
      if (found) root.style.setProperty(name, found);
      else root.style.removeProperty(name);
    });
    var bg = theme.bg_color || theme.secondary_bg_color;
    if (typeof bg === "string" && COLOUR.test(bg)) {
      root.dataset.theme = dark(bg) ? "dark" : "light";
      root.style.setProperty("color-scheme", root.dataset.theme);
    }
    root.dataset.telegram = "1";
  }

  var raw = fromHash();
  if (raw) keep(raw);
  else raw = stored();
  apply(raw ? parse(raw) : null);

  // for the page script: Telegram tells a running Mini App when the chat's theme changes
  window.chattrackTheme = {
    change: function (theme) {
      if (!theme || typeof theme !== "object") return;
      keep(JSON.stringify(theme));
      apply(theme);
    },
  };
})();
