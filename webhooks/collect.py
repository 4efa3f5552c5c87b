"""The snippet's side of the server: GET /t.js and /tx.js serve it, POST /collect records visits and clicks.

The snippet posts JSON as text/plain, so browsers send it without a CORS preflight.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Literal
from urllib.parse import urlsplit

from aiohttp import web
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
)

from snippet import SnippetConfig, render_extension, render_snippet
from tracking.clicks import code_markers, prefill_of
from tracking.codes import is_valid_code, new_code
from tracking.models import Click, PageView
from tracking.periods import utc_now
from tracking.settings import Settings, SettingsError
from tracking.store import CodeTaken
from tracking.store.base import VisitBudgetSpent
from webhooks.app import SETTINGS, TRACKER, error, validation_reason
from webhooks.health import INSTALL
from webhooks.metrics import METRICS
from webhooks.rare_log import RareWarnings

log = logging.getLogger("chattrack.collect")

MAX_COLLECT_BODY = 4096

# What one visit may store is bounded by these: the snippet itself cuts page URLs and referrers at 800
# characters, the rest is what browsers send. A visit keeps its page up to three times (landing, current,
# contact) and its clicks (CLICKS_KEPT_PER_VISIT) once each, with their texts: ~5 KB and ~30 KB at most.
MAX_PAGE_URL = 1024
MAX_REFERRER = 1024  # browsers send only the origin across sites unless the site asks for more
PAGE_SCHEMES = frozenset({"http", "https"})
REFERRER_SCHEMES = PAGE_SCHEMES | {"android-app"}  # Chrome on Android names the app that opened the link


# An http(s) URL of printable ASCII with a plain host name and no port or user: what browsers send nearly
# always. urllib.parse takes every such URL whole (its netloc has no brackets, "@" or port to check), so
# a match needs no urlsplit; anything else goes the full way below.
_PLAIN_WEB_URL = re.compile(r"https?://[A-Za-z0-9.-]+(?:[/?#][!-~]*)?")  # no IGNORECASE: it doubles the cost


def _checked_url(schemes: frozenset[str], *, empty: bool = False) -> Callable[[str], str]:
    """A validator: the URL exactly as sent (not normalised: attribution reads it as the browser wrote it),
    once urllib.parse, which every reader of stored URLs uses, takes it whole: a known scheme, a host, a
    valid IPv6 address and port, no control, format or space characters (browsers percent-encode them).
    pydantic's HttpUrl was not used: it rewrites what it accepts (punycode hosts, percent-encoded paths,
    a trailing slash) and parses by other rules than the urllib.parse our renderers use."""

    plain = _PLAIN_WEB_URL.fullmatch

    def check(value: str) -> str:
        if plain(value) or (empty and not value):
            return value  # the common case: ~0.4 µs, where urlsplit and its checks take ~3 µs
        if not value.isprintable() or " " in value:
            raise ValueError("has control or space characters")
        try:
            parts = urlsplit(value)
            host = parts.hostname
            parts.port  # noqa: B018 - raises for a port that is not a number from 0 to 65535
        except ValueError as exc:
            raise ValueError(f"not a valid URL ({exc})") from None
        if parts.scheme not in schemes:
            raise ValueError(f"must start with {' or '.join(sorted(f'{s}://' for s in schemes))}")
        if not host:
            raise ValueError("has no host")
        return value

    return check


PageUrl = Annotated[str, StringConstraints(max_length=MAX_PAGE_URL), AfterValidator(_checked_url(PAGE_SCHEMES))]
# "" is no referrer (the snippet sends document.referrer as it is), stored as none.
Referrer = Annotated[
    str, StringConstraints(max_length=MAX_REFERRER), AfterValidator(_checked_url(REFERRER_SCHEMES, empty=True))
]

_TARGET = re.compile(r"\+?[0-9]{6,16}|@?[A-Za-z0-9_]{1,32}")


def _checked_target(value: str) -> str:
    if not _TARGET.fullmatch(value):
        raise ValueError("must be a WhatsApp number's digits or a Telegram username")
    return value


# A clicked link's target as the snippet names it (see _target below).
ClickTarget = Annotated[str, StringConstraints(max_length=33), AfterValidator(_checked_target)]

MAX_CHAT_URL = 1024  # the snippet sends at most 800 characters


def _chat_url_or_none(value: object) -> str | None:
    # Only a hint for the fallback matcher: a wrong one loses the hint, never the click (no 400).
    return value if isinstance(value, str) and len(value) <= MAX_CHAT_URL else None


# The marked chat URL a click opened (its text is what the link prefilled: tracking/clicks.py).
ChatUrl = Annotated[str | None, BeforeValidator(_chat_url_or_none)]


class FirstTouch(BaseModel):
    u: PageUrl | None = None
    r: Referrer | None = None


class CollectPayload(BaseModel):
    """What the snippet sends; see snippet/t.js."""

    model_config = ConfigDict(extra="ignore")

    t: Literal["view", "click"]
    c: Annotated[str, StringConstraints(min_length=7, max_length=7)]
    v: Annotated[str, StringConstraints(min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
    u: PageUrl
    r: Referrer | None = None
    s: Annotated[str, StringConstraints(max_length=11, pattern=r"^[0-9]{1,5}x[0-9]{1,5}$")] | None = None
    l: Annotated[str, StringConstraints(max_length=35)] | None = None  # noqa: E741 - the wire name; BCP 47
    z: Annotated[str, StringConstraints(max_length=64)] | None = None  # IANA names are 32 at most
    ga: Annotated[str, StringConstraints(max_length=64)] | None = None
    ym: Annotated[str, StringConstraints(max_length=32)] | None = None
    h: ClickTarget | None = None
    p: ChatUrl = None
    ft: FirstTouch | None = None
    sl: int | None = Field(default=None, ge=0, le=10_000)


def _allowed_origin(settings: Settings, request: web.Request) -> str | None:
    """The value for Access-Control-Allow-Origin, or None when this origin may not post."""
    origins = settings.site_origins
    origin = request.headers.get("Origin")
    if not origins:
        return origin or "*"
    # This server's own pages (GET /demo) are no other site: a post from its own origin is always allowed.
    public = urlsplit(settings.public_url or "")
    own = (f"{request.scheme}://{request.host}", f"{public.scheme}://{public.netloc}")
    return origin if origin in origins or (origin is not None and origin in own) else None


def _target(raw: str) -> str:
    """A clicked link's target as dialogs name business numbers: +E.164, or @username for Telegram."""
    if re.fullmatch(r"\+?\d{6,16}", raw):
        return "+" + raw.lstrip("+")
    return "@" + raw.lstrip("@").lower()


def client_ip(settings: Settings, request: web.Request) -> str | None:
    """The visitor's address. Behind `forwarded_proxies` trusted proxies it is the N-th X-Forwarded-For
    entry from the right: each proxy appends the address it saw, so the entries left of it are whatever
    the client sent (uvicorn, werkzeug's ProxyFix and gunicorn read it the same way). A header too short
    to have passed through every proxy leaves the peer's address."""
    if settings.trust_forwarded_for:
        forwarded = request.headers.getall("X-Forwarded-For", ())
        if forwarded:
            entries = (forwarded[0] if len(forwarded) == 1 else ",".join(forwarded)).split(",")
            if len(entries) >= settings.forwarded_proxies:
                return entries[-settings.forwarded_proxies].strip()[:64] or request.remote
    return request.remote


class CollectLimiter:
    """Per-IP limit, so one client cannot flood the store with page views.

    A sliding-window counter (what `limits` calls SlidingWindowCounter): this minute's hits plus the
    previous minute's, weighted by the share of it the window still covers. Two plain dicts, this
    minute's counts and the last one's, swapped when the minute turns: ~1.5 µs a page view, where a
    `cachetools` TTL cache cost ~9 µs and `limits`' MemoryStorage ~100 µs (it walks every key on a timer
    thread; bench/bench_http.py). Each minute remembers at most `max_addresses`; beyond that, new
    addresses go uncounted until the minute turns (a flood from that many addresses is not one client)."""

    WINDOW = 60.0

    def __init__(self, per_minute: int, max_addresses: int = 100_000, clock: Callable[[], float] = time.monotonic):
        self.per_minute = per_minute
        self.max_addresses = max_addresses
        self.clock = clock
        self.minute = -2
        self.current: dict[str, int] = {}
        self.previous: dict[str, int] = {}

    @property
    def remembered(self) -> int:
        return len(self.current) + len(self.previous)

    def allow(self, ip: str | None) -> bool:
        window, into = divmod(self.clock(), self.WINDOW)
        minute = int(window)
        if minute != self.minute:
            self.previous = self.current if minute == self.minute + 1 else {}
            self.current, self.minute = {}, minute
        key = ip or "unknown"
        current = self.current.get(key, 0)
        if current + self.previous.get(key, 0) * (1 - into / self.WINDOW) >= self.per_minute:
            return False
        if current or len(self.current) < self.max_addresses:
            self.current[key] = current + 1
        return True


LIMITER = web.AppKey("collect_limiter", CollectLimiter)


WARNINGS = web.AppKey("collect_warnings", RareWarnings)


def _answer(code: str, cors: dict[str, str]) -> web.Response:
    # A code is 7 base32 symbols, nothing to escape: no json.dumps on the hottest path.
    return web.Response(body=b'{"code":"%s"}' % code.encode(), content_type="application/json", headers=cors)


async def collect(request: web.Request) -> web.Response:
    app = request.app  # a property: looked up once
    settings = app[SETTINGS]
    origin = _allowed_origin(settings, request)
    if origin is None:
        return error(403, "origin not allowed: add it to CHATTRACK_SITE_ORIGINS")
    cors = {"Access-Control-Allow-Origin": origin, "Vary": "Origin"}
    ip = client_ip(settings, request)
    if not app[LIMITER].allow(ip):
        return web.json_response({"error": "too many requests from this address"}, status=429, headers=cors)
    if request.content_length is not None and request.content_length > MAX_COLLECT_BODY:
        return error(413, f"payload over {MAX_COLLECT_BODY} bytes")
    # The whole body, however it was split on the way (content.read(n) returns what has arrived so far).
    body = await request.content.read(MAX_COLLECT_BODY + 1)
    while len(body) <= MAX_COLLECT_BODY and not request.content.at_eof():
        body += await request.content.read(MAX_COLLECT_BODY + 1 - len(body))
    if len(body) > MAX_COLLECT_BODY:
        return error(413, f"payload over {MAX_COLLECT_BODY} bytes")
    try:
        payload = CollectPayload.model_validate_json(body)
    except ValidationError as exc:
        return web.json_response({"error": validation_reason(exc)}, status=400, headers=cors)
    code = payload.c.upper()
    if not is_valid_code(code):
        return web.json_response({"error": "c: not a valid visit code"}, status=400, headers=cors)

    tracker = app[TRACKER]
    now = utc_now()
    if payload.t == "click":
        if not payload.h:
            return web.json_response({"error": "h: a click needs its target"}, status=400, headers=cors)
        # Kept only from the browser that holds the code; anyone else gets the answer an unknown code gets
        # (nothing tells whether the code exists) and stores nothing.
        prefill = prefill_of(payload.p, code_markers(settings.code_marker)) if payload.p else None
        click = Click(code=code, page=payload.u, target=_target(payload.h), at=now, prefill=prefill)
        if await tracker.record_click(click, payload.v):
            app[INSTALL].click(now)  # the first marked click is told once (tracking/install.py)
        return _answer(code, cors)

    view = PageView(
        code=code,
        visitor_id=payload.v,
        url=payload.u,
        referrer=payload.r or None,
        screen=payload.s,
        language=payload.l,
        timezone=payload.z,
        user_agent=request.headers.get("User-Agent", "")[:512] or None,
        ip=ip,
        ga_client_id=payload.ga,
        ym_client_id=payload.ym,
        at=now,
    )
    for _ in range(3):
        try:
            code = await tracker.record_view(view, request.headers)
            app[INSTALL].page_view(view.url, request.host, now)  # a sign of the site's snippet, in memory
            return _answer(code, cors)
        except CodeTaken:
            # Another visitor holds this code: hand out a fresh one; the snippet re-marks its links.
            view = dataclasses.replace(view, code=new_code())
        except VisitBudgetSpent:
            app[METRICS].new_visits_refused.inc()
            app[WARNINGS].warn(
                "new_visits",
                f"new visits over the budget of {settings.new_visits_per_minute} a minute "
                "(CHATTRACK_NEW_VISITS_PER_MINUTE) are refused with 429; page views of open visits are still kept",
            )
            # The snippet keeps the view and sends it again with the next page or when the tab is hidden.
            return web.json_response(
                {"error": "too many new visits this minute, try again later"}, status=429, headers=cors
            )
    return web.json_response({"error": "could not allocate a visit code"}, status=409, headers=cors)


async def preflight(request: web.Request) -> web.Response:
    origin = _allowed_origin(request.app[SETTINGS], request)
    if origin is None:
        return error(403, "origin not allowed: add it to CHATTRACK_SITE_ORIGINS")
    return web.Response(
        status=204,
        headers={
            "Access-Control-Allow-Origin": origin,
            "Access-Control-Allow-Methods": "POST",
            "Access-Control-Allow-Headers": "Content-Type",
            "Access-Control-Max-Age": "86400",
            "Vary": "Origin",
        },
    )


@dataclass(frozen=True)
class Script:
    """The served snippet, rendered once: its configuration only changes with a restart."""

    body: bytes
    etag: str


SCRIPT = web.AppKey("script", Script)
# tx.js: what does not fit t.js's size budget; t.js loads it with import() after the page view.
EXTENSION = web.AppKey("extension", Script)


def _served(body: bytes) -> Script:
    return Script(body=body, etag='"' + hashlib.sha256(body).hexdigest()[:16] + '"')


def render_script(settings: Settings, demo_number: str | None = None) -> Script:
    """/t.js for the settings. With `demo_number` (the demo page, while no number is tracked): the snippet
    marks links to that number, and asks no consent (the demo page gives none)."""
    try:
        config = SnippetConfig(
            numbers=[demo_number] if demo_number else settings.tracked_numbers,
            telegram=settings.telegram_usernames,
            marker=settings.code_marker,
            presets=list(settings.presets.items()),
            consent_required=settings.consent_required and demo_number is None,
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        name = {"presets": "PRESETS", "marker": "CODE_MARKER", "telegram": "TELEGRAM_USERNAMES"}.get(
            str(first["loc"][0]) if first["loc"] else "", "TRACKED_NUMBERS"
        )
        raise SettingsError(f"CHATTRACK_{name}: {first['msg']}") from exc
    return _served(render_snippet(config))


async def script(request: web.Request) -> web.Response:
    return _serve(request.app[SCRIPT], request)


async def extension(request: web.Request) -> web.Response:
    return _serve(request.app[EXTENSION], request)


def _serve(served: Script, request: web.Request) -> web.Response:
    # CORS: t.js loads tx.js with import(), a module fetch
    headers = {"Cache-Control": "public, max-age=300", "ETag": served.etag, "Access-Control-Allow-Origin": "*"}
    if request.headers.get("If-None-Match") == served.etag:
        return web.Response(status=304, headers=headers)
    return web.Response(body=served.body, content_type="application/javascript", charset="utf-8", headers=headers)


def setup(app: web.Application) -> None:
    app[LIMITER] = CollectLimiter(app[SETTINGS].collect_rate_per_minute)
    app[WARNINGS] = RareWarnings(log)
    app[SCRIPT] = render_script(app[SETTINGS])
    app[EXTENSION] = _served(render_extension())
    app.router.add_post("/collect", collect)
    app.router.add_route("OPTIONS", "/collect", preflight)
    app.router.add_get("/t.js", script)
    app.router.add_get("/tx.js", extension)
