/* chattrack snippet: gives each visit a short code and writes it into the prefilled text of the
   site's click-to-chat links (wa.me, api.whatsapp.com, whatsapp://, web.whatsapp.com, t.me):
   "<the link's text> (<marker> <CODE>)".

   Served minified (rjsmin) by snippet/__init__.py, which replaces CHATTRACK_CONFIG with
   {"k": tracked targets: WhatsApp numbers as digits and Telegram usernames in lowercase,
    "n": each number's national form at its index in k, 0 for none (absent: none; used by tx.js),
    "p": [[path regex, preset phrase], ...], "m": marker (absent: by page language),
    "c": consent required (absent: no)}.
   rjsmin does not rename, so names are one letter (legend below) and the style is terse: the
   served script must stay under 2,000 bytes gzipped (tests/test_snippet_build.py).

   No globals but window.chattrack; no eval, no inline code (strict-CSP safe); every entry point is
   wrapped by G, so nothing the script does throws into the host page (G also ends a step early on
   purpose: a missing element or match is a TypeError it swallows).

   What does not fit the budget is in tx.js (an ES module, see its header), loaded with import() once
   per page right after the page view: the rarer link forms (Telegram's aliases and tg:, national
   numbers, Android intents), chat forms, navigation by assignment, onclick literals, shadow roots and
   frames. t.js alone marks the common link forms at once; tx.js takes over its link marker (F).
   The common plugin pattern keeps the URL in a data-href / data-url / data-link attribute (rewritten
   here, so the plugin reads the marked URL); window.open is wrapped.

   Legend
   data  A code alphabet (Crockford base32)   B browser state in localStorage.ct: v visitor id,
         f first touch {u, r}, l last touch   C config   E collect url   L location   M marker
         N navigator   O the page's window.open   P tx.js loaded   R "(marker CODE)" pattern, any known marker   S tab state in
         sessionStorage.ct: c visit code, t last page view (ms), q unsent payloads   X attributes
         that may hold a chat url   Y their selector   j last click (target + second)   h the page is being left
         k storage and cookies allowed   l route of the last page view
   code  D read state   F marked url   G guard   H mark one element   I mark a subtree   J post   K text with the code
         Q post queued   T touch {u, r}   U cut   V save state   W route   Z random chars
         a payload   e page view   g keep the visit   o click   x report a click   y route changed
         z listen */
(function (w, d) {
  var G = f => (...a) => {
    try {
      return f(...a)
    } catch {}
  }
  G(() => {
    if (w.chattrack) return // loaded twice: two copies would fight over every link
    var C = CHATTRACK_CONFIG,
      A = '0123456789ABCDEFGHJKMNPQRSTVWXYZ',
      L = location,
      N = navigator,
      X = ['href', 'data-href', 'data-url', 'data-link'],
      Y = X.map(a => '[' + a + ']') + '',
      E = new URL('/collect', d.currentScript.src),
      M = C.m || (/^(ru|uk|be|kk)\b/i.test(d.documentElement.lang || N.language) ? 'код' : 'ref'),
      // a code already in the text, ours or written with another known marker: replaced, so there is one
      R = RegExp('\\((код|ref|' + M + ') [0-9A-Z]{7}\\)', 'g'),
      k = !C.c,
      l,
      j,
      h,
      P,
      Z = n => Array.from(crypto.getRandomValues(new Uint8Array(n)), x => A[x & 31]).join(''), // 256 = 8 * 32: uniform
      U = s => s.slice(0, 800), // keeps a body under 4 KB (a click: u, p, ft.u, ft.r)
      T = () => ({ u: U(L.href), r: U(d.referrer) }),
      D = G(s => k && JSON.parse(w[s].ct)),
      S = D('sessionStorage') || { q: [] },
      B = D('localStorage') || { v: Z(16), f: T() },
      V = G(() => k && (sessionStorage.ct = JSON.stringify(S), localStorage.ct = JSON.stringify(B))),
      W = () => L.href.split('#')[0],
      // Keeps the visit's code; a new visit after 30 min without a page view.
      g = (t, m, i, q) => {
        t = Date.now()
        if (!S.c || t - S.t > 18e5) {
          // 6 payload chars with 2-4 digits (so >= 2 letters), redrawn otherwise
          do S.c = Z(6)
          while ((q = S.c.replace(/\D/g, '').length) < 2 || q > 4)
          // + the Luhn mod N check char (N = 32): from the right, factors 2, 1, 2...; an addend a
          // counts floor(a / N) + a % N, which is a + floor(a / N) modulo N
          for (m = 0, i = 6; i--; ) m += (q = A.indexOf(S.c[i]) << (i & 1)) + (q >> 5)
          S.c += A[-m & 31] // (N - sum % N) % N
          B.l = T()
        }
        S.t = t
        V()
      },
      // [marked url, target] for a tracked click-to-chat url, else undefined. A regular expression,
      // not new URL(): a page of 1,000 links is marked in a few ms.
      F = G((v, m, g, x) => {
        // m: 1 scheme and host, 2 host, 4 path, 5 query
        if (!(m = v.match(/^(https?:\/\/(wa\.me|t\.me|(api|web)\.whatsapp\.com)|whatsapp:\/\/send)(\/?[^?#]*)\??([^#]*)/))) return
        g = new URLSearchParams(m[5])
        x = m[2] == 't.me' ? m[4].split('/')[1].toLowerCase() : ((m[2] == 'wa.me' ? m[4] : g.get('phone')) + '').replace(/%\w\w|\D/g, '') // digits, "%20" too
        if (!C.k.includes(x)) return
        // a bot deep link (t.me/<bot>?start=) carries the code invisibly as its start parameter;
        // else no text of the site's own: the page's preset phrase
        g.has('start') ? g.set('start', S.c) : g.set('text', K(g.get('text') || ''))
        return [m[1] + m[4] + '?' + (g + '').replace(/\+/g, '%20'), x] // every "+" there is a space
      }),
      // The prefilled text with the code: the link's own text, else the page's preset phrase
      K = b => ((b = b.replace(R, '').trimEnd() || C.p.find(p => RegExp(p[0]).test(L.pathname))?.[1]) ? b + ' ' : '') + '(' + M + ' ' + S.c + ')',
      // Marks one element's url attributes; returns [marked url, target] when it holds a tracked link.
      H = (e, t, r, v) => X.map(n => (r = (v = e.getAttribute(n)) && F(v)) && (r[0] != v && e.setAttribute(n, r[0]), t = r)) && t,
      I = (r = d) => r.querySelectorAll(Y).forEach(H), // forEach's index and list fill H's spare parameters: harmless
      J = o =>
        fetch(E, { method: 'POST', body: JSON.stringify(o), keepalive: 1 })
          .then(r => {
            if (!r.ok) throw 0
            // the server saw a collision: adopt its code and re-mark
            r.json().then(G(r => /^[0-9A-Z]{7}$/.test(r = r.code) && o.c == S.c && r != S.c && (S.c = r, V(), I())), Object)
          })
          // kept to resend on the next page, unless the page is being left: then the browser still
          // delivers it (keepalive) while the promise fails, and a resend would count it twice
          .catch(() => h || (S.q = S.q.concat(o).slice(-9), V())),
      Q = q => {
        q = S.q
        S.q = []
        V()
        q.map(J)
      },
      a = (t, x) => ({
        t,
        c: S.c,
        v: B.v,
        u: U(L.href),
        s: screen.width + 'x' + screen.height,
        l: N.language,
        z: Intl.DateTimeFormat().resolvedOptions().timeZone,
        ...k && { ga: d.cookie.match(/\b_ga=GA\d\.\d\.([\d.]+)/)?.[1], ym: d.cookie.match(/\b_ym_uid=(\d+)/)?.[1], ft: B.f },
        ...x
      }),
      e = () => {
        l = W()
        g()
        I()
        Q()
        J(a('view', { r: U(d.referrer), sl: d.querySelectorAll('[href*="wa.me/message/"]').length }))
        // the rest (tx.js): other link forms, forms, navigation, frames and shadow roots
        P ||= import(new URL('tx.js', E)).then(G(m => m.default({ C, K, x, H, I, o, Y, X, c: () => S.c, f: f => (F = f, I()) })), Object)
      },
      // a click ([marked url, target]: the url's text tells the server what the link prefilled); a click
      // and the window.open it triggers (same target, same second) are one contact
      x = r => j != (j = r[1] + (Date.now() >> 10)) && J(a('click', { h: r[1], p: U(r[0]) })),
      O = w.open,
      z = (t, e, f) => t.addEventListener(e, f, 1),
      // the element clicked, inside shadow roots too: the nearest with a url attribute
      o = G((e, t) => (t = e.composedPath().find(t => t.matches?.(Y))) && (t = H(t)) && x(t)),
      // SPA: the page of contact is the route at click time; each route change is a page view.
      y = G(() => W() != l && e())
    w.open = (...a) => (G(r => (r = F(a[0] + '')) && (a[0] = r[0], x(r)))(), O(...a))
    z(w, 'click', o)
    ;['pushState', 'replaceState'].map((n, f) => (f = history[n], history[n] = (...a) => (a = f.apply(history, a), y(), a)))
    z(w, 'popstate', y)
    z(d, 'visibilitychange', G(Q))
    z(w, 'pagehide', () => (h = 1))
    w.chattrack = {
      // consent mode: from now on the browser keeps the visit, the visitor id and the first touch
      consent: G(() => k || (k = 1, S = D('sessionStorage') || S, B = D('localStorage') || B, e())),
      code: () => S.c,
      mark: G(I)
    }
    g()
    I()
    // links added or changed later (re-renders): one re-scan per batch of mutations
    new MutationObserver(G(() => I())).observe(d, { childList: 1, subtree: 1, attributeFilter: X })
    d.readyState[0] == 'l' ? z(d, 'DOMContentLoaded', G(e)) : e()
  })()
})(window, document)
