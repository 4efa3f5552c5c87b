"""GET /healthz: is the server up, and can it reach its store. With `Authorization: Bearer
<CHATTRACK_API_TOKEN>` it also says what /status says in the bot (each site, provider, Telegram, the
outbox: tracking/install.py's `gather`).

Also wires the installation's signs (tracking/install.py) into the app: the Tracker's observer, the owners'
notices through the bot, and the primary process's silence check."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from aiohttp import web

from tracking.install import Installation, TelegramState, gather
from tracking.periods import utc_now
from tracking.store import StoreUnavailable
from webhooks.app import SETTINGS, STORE, TRACKER, bearer_refusal

INSTALL = web.AppKey("install", Installation)


async def healthz(request: web.Request) -> web.Response:
    if "Authorization" in request.headers:
        refusal = bearer_refusal(request, "health detail is off: set CHATTRACK_API_TOKEN")
        return refusal or await detail(request)
    store = request.app[STORE]
    reachable = await store.ping()
    body: dict[str, object] = {
        "status": "ok" if reachable else "degraded",
        "store": "ok" if reachable else "unavailable",
    }
    healthy = reachable
    if reachable:
        # Reads answering is not enough: on a full disk every webhook would answer 503 while this said ok.
        failing = await store.check_writes(utc_now())
        body["writes"] = "ok" if failing is None else "failing"
        if failing is not None:
            healthy = False
            body["status"], body["reason"] = "degraded", failing
        try:
            body["pending_alerts"] = await store.pending_alerts()
        except StoreUnavailable:
            pass
    return web.json_response(body, status=200 if healthy else 503)


async def detail(request: web.Request) -> web.Response:
    """Every part's state, as /status shows it (the token's holder runs the server: addresses are fine)."""
    from bot.runtime import BOT_RUNTIME
    from bot.status import telegram_state

    app = request.app
    runtime = app.get(BOT_RUNTIME)
    bot = runtime.bot if runtime is not None else None

    async def telegram() -> TelegramState:
        return await telegram_state(bot, app[SETTINGS])

    status = await gather(app[STORE], app[SETTINGS], utc_now(), telegram)
    body = {"status": "ok" if status.store.ok else "degraded", **status.as_json()}
    return web.json_response(body, status=200 if status.store.ok else 503)


async def installation(app: web.Application) -> AsyncIterator[None]:
    """Known sites read at start; on the primary process, silent providers looked for every 10 minutes."""
    install = app[INSTALL]
    await install.load()
    task = asyncio.create_task(install.watch_silence(), name="install-silence") if app[PRIMARY] else None
    yield
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    await install.close()  # before the store closes: signs under way are written


PRIMARY = web.AppKey("install_primary", bool)


def setup(app: web.Application, *, primary: bool = True) -> None:
    from bot.runtime import BOT_RUNTIME
    from bot.status import OwnerNotices

    settings = app[SETTINGS]
    install = app[INSTALL] = Installation(app[STORE], settings)
    install.notifier = OwnerNotices(lambda: app.get(BOT_RUNTIME), settings.bot_language, settings.zone)
    app[TRACKER].observers.append(install.message)
    app[PRIMARY] = primary
    app.cleanup_ctx.append(installation)
    app.router.add_get("/healthz", healthz)
