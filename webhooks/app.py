"""The aiohttp application: routes, shared state, error handling."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import hmac
import json
import logging
from collections.abc import AsyncIterator, Callable

from aiohttp import web
from pydantic import ValidationError

from tracking.geo import GeoError, RegionResolver
from tracking.periods import utc_now
from tracking.service import Tracker
from tracking.settings import Settings, SettingsError
from tracking.store import Store, StoreUnavailable, open_store
from webhooks.serving import GUARD, ConnectionGuard, sweep_connections

log = logging.getLogger("chattrack.http")

SETTINGS = web.AppKey("settings", Settings)
STORE = web.AppKey("store", Store)
TRACKER = web.AppKey("tracker", Tracker)
# Called after a message opens a dialog, so its lead alert leaves at once instead of at the next poll.
ON_NEW_DIALOG = web.AppKey("on_new_dialog", list[Callable[[], None]])
# Called with a dialog's id after the API changed its tags or sales: every copy of its alert is redrawn
# (in the background: the API does not wait for Telegram).
ON_DIALOG_CHANGED = web.AppKey("on_dialog_changed", list[Callable[[str], None]])
PAGE_KEYS = web.AppKey("page_keys", asyncio.Task[None])  # the start-up's keying of stored pages

MAX_BODY = 256 * 1024  # providers send a few KB; anything bigger is not a message


def error(status: int, reason: str) -> web.Response:
    return web.json_response({"error": reason}, status=status)


def validation_reason(exc: ValidationError, what: str = "") -> str:
    """The first thing wrong with a request body, as `field.path: message` (after `what`, when given)."""
    first = exc.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "body"
    return f"{what}{where}: {first['msg']}"


def bearer_refusal(request: web.Request, off: str) -> web.Response | None:
    """None when the request carries `Authorization: Bearer <CHATTRACK_API_TOKEN>` (compared in constant
    time); else 401, or 403 saying `off` while no token is configured."""
    token = request.app[SETTINGS].api_token
    if token is None:
        return error(403, off)
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), token.get_secret_value().encode()):
        response = error(401, "missing or wrong bearer token")
        response.headers["WWW-Authenticate"] = 'Bearer realm="chattrack"'
        return response
    return None


def failure_as_json(request: web.Request, exc: Exception) -> web.Response:
    """The answer to a request whose handler raised: 4xx with a reason for bad input, 503 when the store
    is away. Raises again what is not ours to answer (a redirect; a bug, which aiohttp logs as a 500
    without leaking it)."""
    if isinstance(exc, web.HTTPException):
        if exc.status >= 400 and exc.content_type != "application/json":
            return error(exc.status, exc.reason)
        raise exc
    if isinstance(exc, StoreUnavailable):
        log.warning("store unavailable on %s: %s", request.path, exc)
        return error(503, "store unavailable, retry later")
    # RecursionError: json.loads of absurdly nested JSON (aiogram's webhook handler parses on its own)
    if isinstance(exc, (UnicodeDecodeError, json.JSONDecodeError, ValueError, RecursionError)):
        return error(400, f"malformed request: {type(exc).__name__}")
    raise exc


def refusal_as_json(response: web.StreamResponse) -> web.StreamResponse:
    """A library's own plain-text refusal (aiogram's 401 "Unauthorized") in the same JSON shape."""
    if response.status >= 400 and isinstance(response, web.Response) and response.content_type == "text/plain":
        return error(response.status, response.text or response.reason)
    return response


def create_app(settings: Settings, store: Store | None = None, *, primary: bool = True) -> web.Application:
    """The whole server. With several worker processes (webhooks/workers.py) one is `primary`: it alone
    runs the timed work (retention, daily summary, Telegram polling); every worker serves requests."""
    from webhooks import api, collect, doctor, generic, greenapi, health, meta, metrics, twilio, wazzup

    # One middleware counts requests and turns failures into JSON: each layer costs every request two
    # coroutine frames (aiohttp adds one of its own when any middleware is set).
    app = web.Application(
        middlewares=[metrics.count_requests],
        client_max_size=MAX_BODY,
        # Never inflate a request body: aiohttp would do it on the event loop as the bytes arrive, before any
        # handler could refuse it. The middleware answers 415 to a compressed body instead.
        handler_args={"auto_decompress": False},
    )
    store = store or open_store(settings.database_url, settings.visit_retention_days)
    app[SETTINGS] = settings
    app[STORE] = store
    regions = None
    if settings.geoip_database or settings.trust_cdn_headers:
        try:
            # Place names in the bot's language where the base has them ("Москва, RU"): the owner reads them.
            regions = RegionResolver(
                settings.geoip_database, trust_cdn_headers=settings.trust_cdn_headers, language=settings.bot_language
            )
        except GeoError as exc:
            raise SettingsError(f"CHATTRACK_GEOIP_DATABASE: {exc}") from exc
    app[TRACKER] = Tracker(store, settings, regions)
    app[GUARD] = ConnectionGuard.from_settings(settings)
    app.cleanup_ctx.append(sweep_connections)
    app[ON_NEW_DIALOG] = []
    app[ON_DIALOG_CHANGED] = []

    async def open_and_close_store(app: web.Application) -> AsyncIterator[None]:
        await store.open()
        yield
        await store.close()

    app.cleanup_ctx.append(open_and_close_store)
    if primary:
        app.cleanup_ctx.append(retention)
        app.cleanup_ctx.append(key_stored_pages)
        from webhooks.background import direct_imports, run_deliveries

        app.cleanup_ctx.append(run_deliveries)  # conversions and events out, for what is configured
        if settings.direct_enabled:  # Yandex Direct's ad spend, imported in the background
            app.cleanup_ctx.append(direct_imports)
    app.on_startup.append(freeze_startup_objects)
    metrics.setup(app)
    health.setup(app, primary=primary)  # also the installation signs (tracking/install.py)
    collect.setup(app)
    twilio.setup(app)
    api.setup(app)
    meta.setup(app)
    greenapi.setup(app)
    wazzup.setup(app)
    generic.setup(app)
    from webhooks import demo

    demo.setup(app)  # GET /demo: a lead alert before any provider is connected
    doctor.setup(app)  # the one-time probe of `chattrack doctor`
    from bot.runtime import setup_bot

    runtime = setup_bot(app, settings, store, lang=settings.bot_language, tracker=app[TRACKER], primary=primary)
    app[ON_NEW_DIALOG].append(runtime.kick)
    app[ON_DIALOG_CHANGED].append(runtime.redraw)
    app[TRACKER].attributed_later.append(runtime.redraw)  # a second look: the alert shows the source it found
    from dashboard.app import setup as setup_dashboard

    setup_dashboard(app)  # /dashboard: the reports on a screen, in Telegram (Mini App) and in a browser
    return app


async def freeze_startup_objects(app: web.Application) -> None:
    """Move everything built at start-up (modules, parser tables, schemas: ~250k objects) out of the
    cyclic GC's sight. Otherwise every full collection walks them all: 100–170 ms pauses under load
    (bench/bench_http.py measured them with gc.callbacks)."""
    gc.collect()
    gc.freeze()


async def retention(app: web.Application) -> AsyncIterator[None]:
    """Delete expired visits at start-up and hourly (MongoDB also expires them with a TTL index)."""

    async def purge_hourly() -> None:
        while True:
            try:
                removed = await app[TRACKER].purge_expired_visits(utc_now())
                if removed:
                    log.info("retention: deleted %d expired visits", removed)
            except Exception as exc:  # a failed purge is retried next hour; it must not end the task
                log.warning("retention: purge failed: %s", exc)
            await asyncio.sleep(3600)

    task = asyncio.create_task(purge_hourly())
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def key_stored_pages(app: web.Application) -> AsyncIterator[None]:
    """Dialogs stored under older page or channel rules (or another CHATTRACK_PAGE_PARAMS) are keyed again
    once, in the background (tracking/page_migration.py); every later start reads one row."""
    from tracking.page_migration import keep_pages_current

    task = app[PAGE_KEYS] = asyncio.create_task(keep_pages_current(app[STORE], app[SETTINGS].kept_page_params))
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def notify_new_dialog(app: web.Application) -> None:
    for callback in app[ON_NEW_DIALOG]:
        callback()
