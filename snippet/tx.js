/* chattrack tx.js: the part of the snippet that does not fit t.js's 2,000-byte budget. t.js loads it
   (import(): an ES module, served with CORS like t.js and cached the same way) once per page, right
   after the page view, and hands over its internals:

   C  configuration (k tracked targets, n national forms, p presets)   K(text) the text with the code
   x([marked url, target]) report a click (the url: what the link prefilled)   H(element) mark one
   element, returns [marked url, target] for a chat link   I(root) mark a document or shadow root
   o  t.js's click listener   Y the url attributes' selector   X their names   c() the visit's code
   f(F) replace t.js's link marker with this one (and re-mark the page)

   What it adds:
   - every link form, not only t.js's: telegram.me / telegram.dog (aliases of t.me), tg://resolve,
     t.me/+<phone> and tg://resolve?phone= (compared as numbers), national numbers ("8 999 ...": the
     tracked number, corrected to its international form), Android intent:// links to WhatsApp
   - GET forms to a chat url (action="https://api.whatsapp.com/send"): the code goes into the text field
   - navigation by assignment (location.href = 'https://wa.me/...'), where the Navigation API exists
   - inline onclick="window.open('...')" / "location.href='...'" literals
   - open shadow roots and same-origin frames: marked, observed and hooked like the page

   Served minified (rjsmin, no renaming) by snippet/__init__.py; nothing here may throw into the page. */
export default ({ C, K, x, H, I, o, Y, X, c, f }) => {
  var G = f => (...a) => {
      try {
        return f(...a)
      } catch {}
    },
    seen = new WeakSet(),
    windows = new WeakMap(), // a Navigation object -> its window
    once = v => !seen.has(v) && seen.add(v),
    on = (t, e, f) => t.addEventListener(e, f, 1),
    // [marked url, target] for a tracked chat url in any form, else undefined.
    // m: 1 scheme and host (kept), 6 app scheme, 9 path, 10 query, 11 fragment
    F = G((v, m, g, t, i, h) => {
      if (!(m = v.match(/^(https?:\/\/((wa|t|telegram)\.(me|dog)|(api|web)\.whatsapp\.com)|(whatsapp|tg|intent):(\/\/)?(send|resolve))(\/?[^?#]*)\??([^#]*)(.*)/))) return
      g = new URLSearchParams(m[10])
      // a number in the query (phone=), a Telegram username (domain=), or the first path segment:
      // wa.me/<number>, t.me/<username>, t.me/+<number>, intent://send/<number>
      t = g.get('phone') || g.get('domain') || m[9].slice(1).split('/')[0]
      if (/^[a-z]/i.test(t)) t = t.toLowerCase()
      // digits ("%20" too); a national form ("8 (999) 123-45-67") is the tracked number at the same
      // index of k, written back in its international form (WhatsApp opens no chat for 8...)
      else if ((i = C.n?.indexOf((t = t.replace(/%\w\w|\D/g, '')))) >= 0) t = C.k[i], g.has('phone') ? g.set('phone', t) : (m[9] = m[9].replace(/[^/+].*/, t))
      if (!C.k.includes(t)) return
      h = m[6] == 'intent' ? m[11] : ''
      // WhatsApp's smsto intent takes no text: its whatsapp-scheme form does (intent://send/?phone=...)
      if (!g.has('phone') && h) g.set('phone', t), (m[9] = '/'), (h = h.replace('scheme=smsto', 'scheme=whatsapp').replace(/;action=[^;]*/, ''))
      // a bot deep link (tracked: chattrack's own bot) carries the code as its start parameter
      g.has('start') ? g.set('start', c()) : g.set('text', K(g.get('text') || ''))
      return [
        m[1] + m[9] + '?' + (g + '').replace(/\+/g, '%20') +
          // the intent's fallback (a browser without the app) is a chat url too
          h.replace(/(_url=)([^;]*)/, (a, n, u) => n + ((a = F(decodeURIComponent(u))) ? encodeURIComponent(a[0]) : u)),
        t
      ]
    }),
    // onclick="window.open('https://wa.me/...')" or location.href='...' on the element clicked (when it
    // has no url attribute of its own): the marked url opens instead, in a new window as chat widgets do
    literal = G((e, t, r) => {
      ;(t = e.composedPath().find(t => t.matches?.(Y + ',[onclick]'))) &&
        !H(t) &&
        (r = /(https?|whatsapp):\/\/[^'"\s]+/.exec(t.getAttribute('onclick'))) &&
        (r = F(r[0])) &&
        (e.preventDefault(), e.stopImmediatePropagation(), open(r[0]))
    }),
    // a GET form to a chat url: the marked url's parameters go into its fields (text added if missing); the
    // click reports that url, so the text the form carried (the customer's own, if they typed it) with it
    submit = G((e, f = e.target, r) =>
      f.method == 'get' &&
      (r = F(f.action + '?' + new URLSearchParams(new FormData(f)))) &&
      (new URL(r[0]).searchParams.forEach(
        (v, n) => ((f.elements[n] || f.appendChild(Object.assign(f.ownerDocument.createElement('input'), { type: 'hidden', name: n }))).value = v)
      ),
      x(r))
    ),
    // location.href = 'https://wa.me/...' (or whatsapp://, or a form's own submit()): a chat url without
    // the code is cancelled and navigated to marked; the marked url carries the code, so no loop
    navigate = G(
      (e, u, r) =>
        e.cancelable &&
        !(u = e.destination.url).includes(c()) &&
        (r = F(u)) &&
        (e.preventDefault(), x(r), (windows.get(e.target).location.href = r[0]))
    ),
    // a window: ours (its document is t.js's), or a same-origin frame's, once per document it shows (a
    // frame's contentWindow stays the same object across its pages; another origin's throws on .document:
    // out of reach). Listeners are the same functions each time: a window never gets one twice.
    hook = G((v, n = v.document, p = v.open) => {
      if (!once(n)) return
      if (n != document) observe(n, 1), I(n), scan(n), (v.open = (...a) => (G(r => (r = F(a[0] + '')) && ((a[0] = r[0]), x(r)))(), p.apply(v, a)))
      on(v, 'click', o)
      on(v, 'click', literal)
      on(v, 'submit', submit)
      v.navigation && (windows.set(v.navigation, v), on(v.navigation, 'navigate', navigate))
    }),
    // a root's later changes: its links re-marked (own: t.js does the page's), new shadow roots and frames found
    observe = (n, own) =>
      new MutationObserver(G(r => (own && I(n), r.map(r => r.addedNodes.forEach(scan))))).observe(n, { childList: 1, subtree: 1, attributeFilter: X }),
    // a subtree: each open shadow root marked and observed, each frame hooked now and after every load
    scan = n =>
      n.querySelectorAll &&
      [n, ...n.querySelectorAll('*')].forEach((e, t) => {
        ;(t = e.shadowRoot) && once(t) && (observe(t, 1), on(t, 'submit', submit), I(t), scan(t))
        e.tagName == 'IFRAME' && once(e) && (on(e, 'load', (t = () => hook(e.contentWindow))), t())
      }),
    attach = Element.prototype.attachShadow
  // a shadow root attached after the host was added: looked at once the host has rendered into it
  Element.prototype.attachShadow = function () {
    var t = attach.apply(this, arguments)
    queueMicrotask(G(() => scan(this)))
    return t
  }
  f(F)
  observe(document)
  hook(window)
  scan(document)
}
