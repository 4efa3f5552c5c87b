"""The primary process's work with other systems, as cleanup contexts of the app (webhooks/app.py): the
delivery outbox (conversions to Metrica and GA4, events out) and Yandex Direct's spend import. The adapters
live in integrations/, which knows neither the HTTP routing nor Telegram; this module wires them to the app's
settings, store, metrics and bot."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

import aiohttp
from aiohttp import web

from integrations.direct import DirectClient, DirectImport
from integrations.outbox import DeliveryDispatcher, senders
from webhooks.app import SETTINGS, STORE
from webhooks.metrics import METRICS

log = logging.getLogger("chattrack.integrations")

DELIVERIES = web.AppKey("deliveries", DeliveryDispatcher)  # the primary process's dispatcher (kick it)
DIRECT_IMPORT = web.AppKey("direct_import", DirectImport)


async def run_deliveries(app: web.Application) -> AsyncIterator[None]:
    """The dispatcher for the systems configured: one HTTP session for every sender, closed after the
    dispatcher stopped (so the batch in flight finishes and its outcome is kept)."""
    settings = app[SETTINGS]
    async with aiohttp.ClientSession() as http:
        found = senders(settings, http)
        if not found:
            yield
            return
        observers = [app[METRICS].observe_delivery] if METRICS in app else []
        dispatcher = DeliveryDispatcher(
            app[STORE], found, interval=settings.conversions_interval_seconds, observers=observers
        )
        app[DELIVERIES] = dispatcher
        dispatcher.start()
        log.info("deliveries: %s, every %.0f s", ", ".join(dispatcher.kinds), dispatcher.interval)
        yield
        await dispatcher.stop()


async def direct_imports(app: web.Application) -> AsyncIterator[None]:
    """Direct's spend, imported in the background (Direct configured). A refused token is told to the owners."""
    settings = app[SETTINGS]
    session = aiohttp.ClientSession()

    async def tell_owners(reason: str) -> None:
        from bot.runtime import BOT_RUNTIME  # the bot is set up after this context is added
        from bot.texts import text

        runtime = app.get(BOT_RUNTIME)
        if runtime is None or runtime.bot is None:
            return
        await runtime.owners.refresh()
        for owner in runtime.owners:
            await runtime.bot.send_message(owner, text(settings.bot_language, "direct_refused", reason=reason))

    importer = app[DIRECT_IMPORT] = DirectImport(
        store=app[STORE],
        client=DirectClient.of(session, settings),
        zone=settings.zone,
        every=settings.direct_import_hours * 3600,
        tell_owners=tell_owners,
    )
    task = asyncio.create_task(importer.forever(), name="direct-import")
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    await session.close()
