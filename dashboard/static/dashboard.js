/* chattrack dashboard: the page script. Plain JS, no build step.
   - loads every widget's fragment (<section class="widget" data-src>) at once;
   - links marked data-reload load their fragment into the same widget (a bucket, a drill-down level);
   - the period picker and the filter form (marked data-page) change the whole page without leaving it;
   - draws each <canvas data-chart> with Chart.js in the theme's colours; a tap on a bar or slice opens
     the dialogs behind it;
   - inside Telegram: tells the Mini App it is ready, follows its theme changes (no telegram.org script). */
(function () {
  "use strict";

  var charts = new Map(); // canvas → Chart
  var loads = new WeakMap(); // section → the latest load (an older answer arriving late is dropped)
  var drawnOnce = false;

  // the widgets ---------------------------------------------------------------------------------------

  function sections() {
    return Array.prototype.slice.call(document.querySelectorAll("section.widget[data-src]"));
  }

  function loadAll() {
    sections().forEach(function (section) { load(section, section.dataset.src); });
    if (!sections().length) done();
  }

  async function load(section, src) {
    var token = {};
    loads.set(section, token);
    section.setAttribute("aria-busy", "true");
    section.dataset.state = "loading";
    var html = null;
    try {
      var response = await fetch(src, { credentials: "same-origin", headers: { Accept: "text/html" } });
      if (response.status === 401) {
        location.reload(); // the session ended: the page shows how to sign in again
        return;
      }
      if (response.ok) html = await response.text();
    } catch (e) {
      html = null;
    }
    if (loads.get(section) !== token) return;
    forget(section);
    if (html !== null) {
      section.innerHTML = html;
      section.dataset.src = src;
      fit(section);
      section.querySelectorAll("canvas.chart[data-chart]").forEach(draw);
      section.dataset.state = "drawn";
    } else {
      failed(section, src);
      section.dataset.state = "failed";
    }
    section.removeAttribute("aria-busy");
    if (sections().every(function (s) { return !s.hasAttribute("aria-busy"); })) done();
  }

  function failed(section, src) {
    var template = document.getElementById("failed");
    var title = section.querySelector("h2");
    section.textContent = "";
    if (title) {
      var head = document.createElement("header");
      head.className = "widget-head";
      head.append(title);
      section.append(head);
    }
    if (template) {
      var note = template.content.cloneNode(true);
      note.querySelector("a").setAttribute("href", src);
      section.append(note);
    }
  }

  function done() {
    document.documentElement.dataset.drawn = "1";
    if (!drawnOnce) {
      drawnOnce = true;
      performance.mark("chattrack:widgets-drawn");
    }
  }

  // Wide tables scroll sideways inside their widget instead of widening the page on a phone.
  function fit(section) {
    section.querySelectorAll("table").forEach(function (table) {
      if (table.parentElement && table.parentElement.classList.contains("table-scroll")) return;
      var box = document.createElement("div");
      box.className = "table-scroll";
      table.before(box);
      box.append(table);
    });
  }

  // the page's choices ----------------------------------------------------------------------------------

  function pageUrl(form) {
    var url = new URL(form.getAttribute("action") || location.pathname, location.href);
    var params = new URLSearchParams();
    new FormData(form).forEach(function (value, name) {
      if (typeof value === "string" && value.trim() !== "") params.append(name, value.trim());
    });
    url.search = params.toString();
    return url.href;
  }

  // The same page with other choices: its header (picker, filters, links) is taken from the server's
  // answer, and every widget loads again with its new address.
  async function go(href, push) {
    var response;
    try {
      response = await fetch(href, { credentials: "same-origin", headers: { Accept: "text/html" } });
    } catch (e) {
      location.href = href;
      return;
    }
    if (!response.ok) {
      location.href = href; // the browser shows the refusal or the reason of a 400 as the server wrote it
      return;
    }
    var doc = new DOMParser().parseFromString(await response.text(), "text/html");
    if (push) history.pushState(null, "", response.url);
    ["#controls", ".topbar nav"].forEach(function (selector) {
      var now = document.querySelector(selector);
      var next = doc.querySelector(selector);
      if (now && next) now.replaceWith(document.adoptNode(next));
    });
    if (doc.title) document.title = doc.title;
    var fresh = new Map();
    doc.querySelectorAll("section.widget[data-src]").forEach(function (s) { fresh.set(s.dataset.name, s.dataset.src); });
    document.documentElement.dataset.drawn = "";
    sections().forEach(function (section) {
      var src = fresh.get(section.dataset.name);
      if (src) load(section, src);
    });
  }

  document.addEventListener("click", function (event) {
    if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey) return;
    var link = event.target.closest("a[href]");
    if (!link) return;
    var section = link.closest("section.widget");
    if (link.hasAttribute("data-reload") && section) {
      event.preventDefault();
      load(section, link.getAttribute("href"));
    } else if (link.hasAttribute("data-page")) {
      event.preventDefault();
      go(link.href, true);
    }
  });

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.hasAttribute("data-page")) return;
    event.preventDefault();
    var details = form.closest("details.filters");
    if (details) details.open = false;
    go(pageUrl(form), true);
  });

  window.addEventListener("popstate", function () {
    if (document.getElementById("dashboard")) go(location.href, false);
  });

  // charts ----------------------------------------------------------------------------------------------

  function colours() {
    var style = getComputedStyle(document.documentElement);
    var read = function (name) { return style.getPropertyValue(name).trim(); };
    var series = [];
    for (var i = 1; i <= 10; i++) series.push(read("--c" + i));
    return { text: read("--text"), hint: read("--hint"), border: read("--border"), card: read("--card"), series: series };
  }

  function numberFormat() {
    return new Intl.NumberFormat(document.documentElement.lang || undefined, { maximumFractionDigits: 1 });
  }

  function shorten(text, max) {
    text = String(text);
    return text.length > max ? text.slice(0, max - 1) + "…" : text;
  }

  // A bar's name on up to two lines of `max` characters: broken after a space or a slash, else anywhere.
  function wrap(text, max) {
    text = String(text);
    if (text.length <= max) return text;
    var cut = Math.max(text.lastIndexOf(" ", max), text.lastIndexOf("/", max - 1) + 1);
    if (cut < max / 3) cut = max;
    var first = text.slice(0, cut).trim();
    return [first, shorten(text.slice(cut).trim(), max)];
  }

  function draw(canvas) {
    if (typeof Chart === "undefined") return; // no chart library: the table below has every number
    var spec;
    try {
      spec = JSON.parse(canvas.dataset.chart);
    } catch (e) {
      return;
    }
    var box = canvas.parentElement;
    if (!box.classList.contains("chart-box")) {
      box = document.createElement("div");
      box.className = "chart-box chart-" + spec.kind;
      canvas.before(box);
      box.append(canvas);
    }
    var rows = spec.labels.length;
    if (spec.kind === "hbar") {
      var bars = spec.stacked ? 1 : spec.datasets.length;
      box.style.height = Math.max(96, rows * Math.max(bars * 14 + 12, 30) + (spec.datasets.length > 1 ? 56 : 28)) + "px";
    }
    var c = colours();
    var fmt = numberFormat();
    var show = function (v) { return fmt.format(v) + (spec.percent ? " %" : ""); };
    var narrow = box.clientWidth < 480;
    // an axis of big numbers on a phone: «1,2 млн» instead of «1 200 000»
    var compact = new Intl.NumberFormat(document.documentElement.lang || undefined, { notation: "compact" });
    var tick = function (v) { return (narrow && Math.abs(v) >= 10000 ? compact.format(v) : fmt.format(v)) + (spec.percent ? " %" : ""); };
    var doughnut = spec.kind === "doughnut";
    var line = spec.kind === "line";
    var pick = function (i) { return c.series[i % c.series.length]; };
    var datasets = spec.datasets.map(function (d, i) {
      var set = { label: d.label, data: d.data };
      if (doughnut) {
        set.backgroundColor = spec.labels.map(function (_, j) { return pick(j); });
        set.borderColor = c.card;
        set.borderWidth = 2;
      } else if (line) {
        set.borderColor = pick(i);
        set.backgroundColor = pick(i);
        set.borderWidth = 2;
        set.pointRadius = rows > 31 ? 0 : 2;
        set.pointHitRadius = 8;
        set.cubicInterpolationMode = "monotone"; // smooth, never dipping below zero between days
      } else {
        set.backgroundColor = pick(i);
        set.borderRadius = 3;
        set.maxBarThickness = 28;
      }
      return set;
    });
    var font = { size: narrow ? 11 : 12 };
    var horizontal = spec.kind === "hbar";
    var axis = function (categories) {
      var scale = {
        stacked: !!spec.stacked,
        grid: { color: c.border, drawTicks: false },
        border: { color: c.border },
        ticks: { color: c.hint, font: font, padding: 6 },
      };
      if (categories) {
        scale.grid = { display: false };
        scale.ticks.autoSkip = !horizontal; // every bar keeps its name: the box is as tall as they need
        scale.ticks.maxRotation = 0;
        var max = narrow ? 16 : 30;
        scale.ticks.callback = horizontal
          ? function (value) { return wrap(this.getLabelForValue(value), max); }
          : function (value) { return shorten(this.getLabelForValue(value), max); };
      } else {
        scale.beginAtZero = true;
        scale.ticks.precision = spec.percent ? undefined : 0;
        scale.ticks.callback = tick;
      }
      return scale;
    };
    var options = {
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      color: c.text,
      font: font,
      indexAxis: horizontal ? "y" : "x",
      interaction: doughnut ? { mode: "nearest", intersect: true } : { mode: "index", intersect: false, axis: horizontal ? "y" : "x" },
      plugins: {
        // one series has no legend: its name (what the bars count, in which unit) goes above the chart
        title: {
          display: !doughnut && spec.datasets.length === 1 && !!spec.datasets[0].label,
          text: spec.datasets.length === 1 ? spec.datasets[0].label : "",
          align: "start",
          color: c.hint,
          font: font,
          padding: { top: 0, bottom: 6 },
        },
        legend: {
          display: doughnut || spec.datasets.length > 1,
          position: "bottom",
          labels: { color: c.text, boxWidth: 12, boxHeight: 12, padding: narrow ? 8 : 12, font: font },
        },
        tooltip: {
          callbacks: {
            label: function (item) {
              var name = doughnut ? item.label : item.dataset.label;
              return (name ? name + ": " : "") + show(item.raw);
            },
          },
        },
      },
      onClick: function (event, elements) {
        if (!spec.links || !elements.length) return;
        var href = spec.links[elements[0].index];
        if (href) location.href = href;
      },
      onHover: function (event, elements) {
        canvas.style.cursor = spec.links && elements.length ? "pointer" : "default";
      },
    };
    if (doughnut) {
      options.cutout = "58%";
    } else {
      options.scales = horizontal
        ? { x: axis(false), y: axis(true) }
        : { x: axis(true), y: axis(false) };
    }
    var type = doughnut ? "doughnut" : line ? "line" : "bar";
    charts.set(canvas, new Chart(canvas, { type: type, data: { labels: spec.labels, datasets: datasets }, options: options }));
  }

  function forget(section) {
    charts.forEach(function (chart, canvas) {
      if (section.contains(canvas)) {
        chart.destroy();
        charts.delete(canvas);
      }
    });
  }

  function redraw() {
    charts.forEach(function (chart, canvas) {
      chart.destroy();
      charts.delete(canvas);
      draw(canvas);
    });
  }

  // Telegram ---------------------------------------------------------------------------------------------

  // Events to the Mini App's host, as telegram-web-app.js sends them (native apps, then the web client's frame).
  function tellTelegram(type, data) {
    var body = JSON.stringify(data || {});
    try {
      if (window.TelegramWebviewProxy) window.TelegramWebviewProxy.postEvent(type, body);
      else if (window.external && "notify" in window.external) window.external.notify(JSON.stringify({ eventType: type, eventData: data || {} }));
      else if (window.parent !== window) window.parent.postMessage(JSON.stringify({ eventType: type, eventData: data || {} }), "*");
    } catch (e) {
      /* not inside Telegram after all */
    }
  }

  function themeChanged(data) {
    if (data && data.theme_params && window.chattrackTheme) {
      window.chattrackTheme.change(data.theme_params);
      redraw();
    }
  }

  // native apps call window.Telegram.WebView.receiveEvent; the web client posts messages to the frame
  if (!window.Telegram) window.Telegram = {};
  if (!window.Telegram.WebView) window.Telegram.WebView = {};
  window.Telegram.WebView.receiveEvent = function (type, data) {
    if (type === "theme_changed") themeChanged(data);
  };
  window.addEventListener("message", function (event) {
    if (event.source !== window.parent || typeof event.data !== "string") return;
    try {
      var message = JSON.parse(event.data);
      if (message.eventType === "theme_changed") themeChanged(message.eventData);
    } catch (e) {
      /* not Telegram's */
    }
  });

  if (window.matchMedia) {
    window.matchMedia("(prefers-color-scheme: dark)").addEventListener("change", redraw);
  }

  function start() {
    if (document.documentElement.dataset.telegram) {
      tellTelegram("web_app_ready");
      tellTelegram("web_app_expand");
    }
    if (document.getElementById("dashboard")) loadAll();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
