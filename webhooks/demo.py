"""GET /demo: a small site page with the real snippet and a WhatsApp button, for a new owner to see a lead
alert in Telegram before any provider is connected. POST /demo/send: its «send as a customer» button.

The page loads the snippet from this server as a site does (/t.js; /demo/t.js, the same script knowing the
demo number too, when no number is tracked, since the snippet marks tracked numbers only), with UTM tags in
its address, so the lead shows a campaign. A browser here cannot send a WhatsApp message, so the page shows
the text the snippet wrote into the link and posts exactly that text; the server ingests it as a message of
provider "demo" from a new contact, through the same `Tracker.ingest` the webhooks use, and the alert leaves
through the outbox. Demo leads are tagged "demo": marked in the bot, counted nowhere (tracking/demo.py).

Who reaches the port could press the button too: the page is on only while the demo is (DemoSwitch), sends
are limited per address and to MAX_STORED demo leads until the owner erases them, a cross-site post is
refused (Origin, Sec-Fetch-Site, and a token the page got in a cookie and carries in a header), and only a
code of a visit that landed on this page makes a lead, so no real visit is ever tied to a demo lead. A click
on the page's WhatsApp button is not recorded as a click: a demo visit is never a candidate of the matcher
that attributes real code-less messages.
"""

from __future__ import annotations

import hmac
import html
import json
import secrets
import uuid
from urllib.parse import urlsplit

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from tracking.clicks import code_markers
from tracking.codes import extract_code
from tracking.demo import DEMO, MAX_STORED, DemoSwitch, demo_count, new_contact
from tracking.models import InboundMessage, Messenger
from tracking.periods import utc_now
from tracking.settings import Settings
from webhooks import collect
from webhooks.app import SETTINGS, STORE, TRACKER, error, notify_new_dialog, validation_reason
from webhooks.collect import CollectLimiter, Script, client_ip, render_script

# A number the Australian regulator keeps for drama (+61 491 570 156–159): nobody's phone, shown when none is
# tracked. libphonenumber takes it as valid, so the alert writes it as people do (Ofcom's 07700 900xxx it does not).
DEMO_NUMBER = "61491570156"
UTM = "utm_source=demo&utm_medium=cpc&utm_campaign=demo"
COOKIE = "chattrack_demo"
TOKEN_HEADER = "X-Chattrack-Demo"
SENDS_PER_MINUTE = 5  # per address
MAX_BODY = 4096

SWITCH = web.AppKey("demo_switch", DemoSwitch)
LIMITER = web.AppKey("demo_limiter", CollectLimiter)
DEMO_SCRIPT = web.AppKey("demo_script", Script)


class DemoSend(BaseModel):
    """What the page posts: the text the snippet prefilled, exactly."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=1000)


def demo_number(settings: Settings) -> str:
    """The number the page's button writes to, as international digits: the first tracked number (the
    snippet marks it, ingest keeps it), else the demo number."""
    return settings.tracked_numbers[0].lstrip("+") if settings.tracked_numbers else DEMO_NUMBER


# the page ---------------------------------------------------------------------------------------------

PAGE: dict[str, dict[str, str]] = {
    "ru": {
        "title": "Светлый кадр — фотостудия",
        "brand": "Светлый кадр",
        "tagline": "Фотостудия в центре города",
        "hero": "Семейные и детские фотосессии",
        "lead": "Уютная студия с дневным светом, фотограф и стилист. Готовые снимки — через неделю.",
        "prices": "Цены",
        "s1": "Семейная фотосессия",
        "s1p": "от 6 000 ₽ · 1 час",
        "s2": "Детская съёмка",
        "s2p": "от 4 500 ₽ · 40 минут",
        "s3": "Портрет",
        "s3p": "от 3 500 ₽ · 30 минут",
        "chat": "Написать в WhatsApp",
        "prefill": "Здравствуйте! Хочу записаться на семейную фотосессию",
        "demo": "🧪 Демо chattrack",
        "demo_about": "Это пробная страница сайта. Скрипт отслеживания уже дописал в ссылку кнопки WhatsApp "
        "код этого визита. Клиент отправил бы такое сообщение:",
        "waiting": "Ждём, пока скрипт отметит ссылку…",
        "send": "Отправить как клиент",
        "sending": "Отправляем…",
        "sent_telegram": "Готово! Заявка уже летит в Telegram: откройте чат с ботом. В ней — кампания этой "
        "страницы, а код из сообщения убран.",
        "sent_no_owner": "Заявка записана. У бота ещё нет владельца: откройте в Telegram ссылку, которую "
        "сервер напечатал при запуске, — и заявка придёт вам.",
        "sent_log": "Заявка записана. Бот Telegram ещё не подключён, поэтому уведомление о ней — только в окне, "
        "где запущен сервер. Чтобы заявки приходили в Telegram, впишите токен бота в настройку "
        "CHATTRACK_TELEGRAM_BOT_TOKEN и перезапустите сервер.",
        "failed": "Не получилось",
        "again": "Можно отправить ещё раз — будет новая пробная заявка. Стереть их: команда /demo в боте.",
        "clicked": "Здесь ссылка не открывает WhatsApp: нажмите «Отправить как клиент» ниже.",
        "footer": "Пробные заявки помечены «🧪 Демо» и не попадают в отчёты.",
    },
    "en": {
        "title": "Bright Frame — photo studio",
        "brand": "Bright Frame",
        "tagline": "Photo studio downtown",
        "hero": "Family and kids photo sessions",
        "lead": "A cosy daylight studio, a photographer and a stylist. Your photos are ready in a week.",
        "prices": "Prices",
        "s1": "Family session",
        "s1p": "from $90 · 1 hour",
        "s2": "Kids session",
        "s2p": "from $70 · 40 minutes",
        "s3": "Portrait",
        "s3p": "from $50 · 30 minutes",
        "chat": "Chat on WhatsApp",
        "prefill": "Hello! I'd like to book a family photo session",
        "demo": "🧪 chattrack demo",
        "demo_about": "This is a sample site page. The tracking script has already added this visit's code to "
        "the WhatsApp button's link. A customer would send this message:",
        "waiting": "Waiting for the script to mark the link…",
        "send": "Send as a customer",
        "sending": "Sending…",
        "sent_telegram": "Done! The lead alert is on its way to Telegram: open your chat with the bot. It "
        "shows this page's campaign, and the code is gone from the message.",
        "sent_no_owner": "The lead is stored. The bot has no owner yet: open in Telegram the link the server "
        "printed at start-up, and the alert comes to you.",
        "sent_log": "The lead is stored. No Telegram bot is connected (CHATTRACK_TELEGRAM_BOT_TOKEN), so the "
        "alert is only in the server's log: the line «lead alert … waits in the outbox».",
        "failed": "That did not work",
        "again": "You may send again: another demo lead. Erase them with /demo in the bot.",
        "clicked": "Here the link does not open WhatsApp: press «Send as a customer» below.",
        "footer": "Demo leads are marked «🧪 Demo» and left out of reports.",
    },
}

STYLE = """
*{box-sizing:border-box}body{margin:0;font:16px/1.5 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;
color:#2b2622;background:#faf7f2}header{display:flex;align-items:center;gap:12px;padding:16px 20px;
background:#fff;border-bottom:1px solid #eee3d6}.logo{width:40px;height:40px;border-radius:50%;
background:radial-gradient(circle at 35% 35%,#fff6d8,#f0b860 60%,#c9823a);flex:none}
header b{display:block;font-size:18px}header small{color:#8a7d70}main{max-width:760px;margin:0 auto;padding:20px}
.hero{padding:28px 22px;border-radius:18px;color:#fff;background:linear-gradient(135deg,#c9823a,#8e5a3c);
box-shadow:0 10px 30px #8e5a3c33}.hero h1{margin:0 0 8px;font-size:clamp(24px,6vw,34px);line-height:1.2}
.hero p{margin:0 0 18px;opacity:.92}.chat{display:inline-flex;align-items:center;gap:8px;padding:12px 20px;
border-radius:999px;background:#25d366;color:#fff;font-weight:600;text-decoration:none}
.chat:focus,.chat:hover{background:#1ebe5b}h2{margin:28px 0 12px;font-size:20px}
.prices{display:grid;grid-template-columns:repeat(auto-fit,minmax(200px,1fr));gap:12px}
.card{background:#fff;border:1px solid #eee3d6;border-radius:14px;padding:16px}.card span{color:#8a7d70}
.demo{margin-top:28px;padding:18px;border-radius:16px;background:#fff;border:2px dashed #7a6cf0}
.demo h2{margin:0 0 6px;color:#5a4bd6}.demo.flash{box-shadow:0 0 0 6px #7a6cf055}
blockquote{margin:12px 0;padding:12px 14px;border-left:4px solid #25d366;background:#f3fbf6;border-radius:8px;
white-space:pre-wrap;word-break:break-word}button{font:inherit;font-weight:600;padding:12px 20px;border:0;
border-radius:12px;background:#5a4bd6;color:#fff;cursor:pointer;width:100%;max-width:340px}
button:disabled{opacity:.5;cursor:default}#result{margin-top:12px;overflow-wrap:anywhere}#result.bad{color:#b3261e}
footer{color:#8a7d70;font-size:14px;text-align:center;padding:24px 20px}
"""

# The page's own script: before the snippet, so its click listener runs first and keeps the snippet from
# recording the WhatsApp button's click; it enables the send button once the link is marked and the server
# answered the page view (the visit is stored, so its code makes a lead).
SCRIPT = """
(function () {
  var T = JSON.parse(document.getElementById('demo-texts').textContent)
  var link, quote, send, result, viewed = false
  var f = window.fetch
  window.fetch = function (u, o) {
    var p = f.apply(this, arguments)
    try {
      if (String(u).indexOf('/collect') > 0 && o && String(o.body).indexOf('"t":"view"') > 0)
        p.then(function (r) { if (r.ok) { viewed = true; show() } }, function () {})
    } catch (e) {}
    return p
  }
  function prefilled() {
    try { return new URL(link.href).searchParams.get('text') || '' } catch (e) { return '' }
  }
  function marked() { return /\\((код|ref|[^\\s()]+) [0-9A-Z]{7}\\)$/.test(prefilled()) }
  function show() {
    if (!link) return
    var ready = marked()
    quote.textContent = ready ? prefilled() : T.waiting
    send.disabled = !(ready && viewed) || send.dataset.busy === '1'
  }
  addEventListener('click', function (e) {
    var a = e.target && e.target.closest && e.target.closest('a[data-demo-chat]')
    if (!a) return
    e.preventDefault()
    e.stopImmediatePropagation()
    var box = document.getElementById('demo')
    box.scrollIntoView({ behavior: 'smooth', block: 'center' })
    box.classList.add('flash')
    result.className = ''
    result.textContent = T.clicked
    setTimeout(function () { box.classList.remove('flash') }, 1200)
  }, true)
  document.addEventListener('DOMContentLoaded', function () {
    link = document.querySelector('a[data-demo-chat]')
    quote = document.getElementById('prefilled')
    send = document.getElementById('send')
    result = document.getElementById('result')
    new MutationObserver(show).observe(link, { attributes: true, attributeFilter: ['href'] })
    show()
    send.addEventListener('click', function () {
      var token = document.querySelector('meta[name=chattrack-demo]').content
      send.dataset.busy = '1'
      send.textContent = T.sending
      show()
      f('demo/send', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'X-Chattrack-Demo': token },
        body: JSON.stringify({ text: prefilled() }),
        credentials: 'same-origin'
      }).then(function (r) {
        return r.json().then(function (body) {
          if (!r.ok) throw new Error(body.error || r.status)
          result.className = ''
          result.textContent = T['sent_' + body.alert] + ' ' + T.again
        })
      }).catch(function (err) {
        result.className = 'bad'
        result.textContent = T.failed + ': ' + err.message
      }).then(function () {
        send.dataset.busy = ''
        send.textContent = T.send
        show()
      })
    })
  })
})()
"""


def render_page(lang: str, number: str, script_src: str, token: str, nonce: str) -> str:
    words = PAGE.get(lang, PAGE["ru"])
    e = {key: html.escape(value) for key, value in words.items()}
    chat = html.escape(f"https://wa.me/{number}?text=" + _quote(words["prefill"]), quote=True)
    texts = json.dumps(words, ensure_ascii=False).replace("<", "\\u003c")
    return f"""<!doctype html>
<html lang="{lang}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="chattrack-demo" content="{token}"><link rel="icon" href="data:,">
<title>{e["title"]}</title><style>{STYLE}</style>
<script type="application/json" id="demo-texts">{texts}</script>
<script nonce="{nonce}">{SCRIPT}</script>
<script async src="{script_src}"></script>
</head><body>
<header><div class="logo" aria-hidden="true"></div><div><b>{e["brand"]}</b><small>{e["tagline"]}</small></div></header>
<main>
<section class="hero"><h1>{e["hero"]}</h1><p>{e["lead"]}</p>
<a class="chat" data-demo-chat href="{chat}">💬 {e["chat"]}</a></section>
<h2>{e["prices"]}</h2>
<div class="prices">
<div class="card"><b>{e["s1"]}</b><br><span>{e["s1p"]}</span></div>
<div class="card"><b>{e["s2"]}</b><br><span>{e["s2p"]}</span></div>
<div class="card"><b>{e["s3"]}</b><br><span>{e["s3p"]}</span></div>
</div>
<section class="demo" id="demo"><h2>{e["demo"]}</h2><p>{e["demo_about"]}</p>
<blockquote id="prefilled">{e["waiting"]}</blockquote>
<button id="send" type="button" disabled>{e["send"]}</button>
<p id="result" role="status"></p></section>
</main>
<footer>{e["footer"]}</footer>
</body></html>"""


def _quote(value: str) -> str:
    from urllib.parse import quote

    return quote(value, safe="")


async def page(request: web.Request) -> web.StreamResponse:
    app = request.app
    switch = app[SWITCH]
    if not await switch.on():
        return error(404, switch.reason)
    if "utm_source" not in request.query:  # the page's campaign: the lead shows where it came from
        raise web.HTTPFound(f"{request.path}?{UTM}")
    settings = app[SETTINGS]
    token = request.cookies.get(COOKIE) or secrets.token_urlsafe(24)
    if not _token_shape(token):
        token = secrets.token_urlsafe(24)
    nonce = secrets.token_urlsafe(16)
    script_src = "t.js" if settings.tracked_numbers else "demo/t.js"
    body = render_page(settings.bot_language, demo_number(settings), script_src, token, nonce)
    response = web.Response(text=body, content_type="text/html", charset="utf-8")
    response.headers["Cache-Control"] = "no-store"
    response.headers["Content-Security-Policy"] = (
        f"default-src 'self'; script-src 'self' 'nonce-{nonce}'; style-src 'unsafe-inline'; "
        "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'"
    )
    response.headers["Referrer-Policy"] = "same-origin"
    response.set_cookie(COOKIE, token, httponly=True, samesite="Strict", path="/", max_age=86400)
    return response


def _token_shape(token: str) -> bool:
    return 16 <= len(token) <= 64 and all(c.isalnum() or c in "-_" for c in token)


async def script(request: web.Request) -> web.Response:
    from webhooks.collect import _serve

    return _serve(request.app[DEMO_SCRIPT], request)


def _cross_site(request: web.Request, settings: Settings) -> str | None:
    """Why a post is not from the demo page itself; None when it is."""
    fetch_site = request.headers.get("Sec-Fetch-Site")
    if fetch_site is not None and fetch_site != "same-origin":
        return f"cross-site request refused (Sec-Fetch-Site: {fetch_site[:20]})"
    origin = request.headers.get("Origin")
    if origin is not None:
        own = {f"{request.scheme}://{request.host}"}
        if settings.public_url:
            public = urlsplit(settings.public_url)
            own.add(f"{public.scheme}://{public.netloc}")
        if origin not in own:
            return "cross-site request refused: the origin is not this server"
    cookie, given = request.cookies.get(COOKIE, ""), request.headers.get(TOKEN_HEADER, "")
    if not cookie or not given or not hmac.compare_digest(cookie.encode(), given.encode()):
        return f"missing or wrong demo token: press the button on the demo page ({TOKEN_HEADER} must match its cookie)"
    return None


async def send(request: web.Request) -> web.Response:
    app = request.app
    switch = app[SWITCH]
    if not await switch.on():
        return error(404, switch.reason)
    settings = app[SETTINGS]
    refused = _cross_site(request, settings)
    if refused is not None:
        return error(403, refused)
    if not app[LIMITER].allow(client_ip(settings, request)):
        return error(429, f"too many demo leads from this address: {SENDS_PER_MINUTE} a minute at most")
    if request.content_type != "application/json":
        return error(415, "send JSON: Content-Type: application/json")
    if request.content_length is not None and request.content_length > MAX_BODY:
        return error(413, f"body over {MAX_BODY} bytes")
    body = await request.content.read(MAX_BODY + 1)
    if len(body) > MAX_BODY:
        return error(413, f"body over {MAX_BODY} bytes")
    try:
        posted = DemoSend.model_validate_json(body)
    except ValidationError as exc:
        return error(400, validation_reason(exc))
    tracker = app[TRACKER]
    code = extract_code(posted.text, code_markers(settings.code_marker)).code
    if code is None:
        return error(422, "text: no visit code in it; reload the demo page and press the button again")
    visit = await tracker.visit(code)
    if visit is None or not urlsplit(visit.attribution.landing_page or "").path.endswith("/demo"):
        return error(422, "text: its code is not of a visit to the demo page; reload it and press again")
    if await demo_count(app[STORE]) >= MAX_STORED:
        return error(429, f"{MAX_STORED} demo leads are stored already: erase them in the bot with /demo first")
    message = InboundMessage(
        provider=DEMO,
        message_id=uuid.uuid4().hex,
        messenger=Messenger.WHATSAPP,
        business_number="+" + demo_number(settings),
        contact_id=new_contact(),
        contact_name=DEMO_NAMES.get(settings.bot_language, DEMO_NAMES["ru"]),
        text=posted.text,
        received_at=utc_now(),
    )
    result = await tracker.ingest(message)
    notify_new_dialog(app)
    return web.json_response(
        {
            "dialog_id": result.dialog.id,
            "status": result.dialog.status.value,
            "campaign": result.dialog.attribution.campaign,
            "first_message": result.dialog.first_message,
            "alert": await _alert_goes(app, settings),
        }
    )


DEMO_NAMES = {"ru": "Демо-клиент", "en": "Demo customer"}


async def _alert_goes(app: web.Application, settings: Settings) -> str:
    """Where the alert goes: "telegram" (to an owner), "no_owner" (the bot waits for one), "log" (no bot)."""
    from bot.runtime import BOT_RUNTIME

    runtime = app.get(BOT_RUNTIME)
    if runtime is None or runtime.bot is None:
        return "log"
    try:
        await runtime.owners.refresh()
    except Exception:  # the store away: say what the settings say
        return "telegram" if settings.telegram_owner_ids else "no_owner"
    return "telegram" if runtime.owners else "no_owner"


def setup(app: web.Application) -> None:
    settings = app[SETTINGS]
    app[SWITCH] = DemoSwitch(app[STORE], settings.demo)
    app[LIMITER] = CollectLimiter(SENDS_PER_MINUTE)
    # While no number is tracked the page's own snippet knows the demo number; else it is /t.js itself.
    app[DEMO_SCRIPT] = app[collect.SCRIPT] if settings.tracked_numbers else render_script(settings, DEMO_NUMBER)
    app.router.add_get("/demo", page)
    app.router.add_get("/demo/t.js", script)
    app.router.add_post("/demo/send", send)


__all__ = ["DEMO_NUMBER", "demo_number", "render_page", "setup"]
