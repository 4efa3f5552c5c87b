"""The bot inside the aiohttp server: lead alerts, /start, and updates by long polling or webhook.

Without `public_url` the bot long-polls (one copy of the server only: Telegram serves getUpdates to one
client at a time). With it, Telegram posts updates to `<public_url>/telegram/webhook`, signed with a
secret header; every copy may receive them. Without a bot token only the outbox runs, in log-only mode.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from aiogram import Bot, Dispatcher, F, Router
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.exceptions import AiogramError
from aiogram.filters import CommandStart
from aiogram.types import Message
from aiogram.utils.token import TokenValidationError
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import web

from bot.alerts import alerts_router
from bot.outbox import AlertDispatcher, Clock
from bot.texts import language, text
from tracking.periods import utc_now
from tracking.settings import ENV_PREFIX, Settings, SettingsError
from tracking.store.base import Store

log = logging.getLogger("chattrack.bot")

WEBHOOK_PATH = "/telegram/webhook"
RETRY_CAP = 300.0  # seconds between attempts to register the webhook while Telegram is unreachable


def webhook_secret(settings: Settings) -> str | None:
    """The secret Telegram sends back with each webhook call: the setting, else derived from the token so
    every copy and every restart agree without storing anything."""
    if settings.telegram_webhook_secret is not None:
        return settings.telegram_webhook_secret.get_secret_value()
    if settings.telegram_bot_token is None:
        return None
    token = settings.telegram_bot_token.get_secret_value().encode()
    return hmac.new(token, b"chattrack telegram webhook secret", hashlib.sha256).hexdigest()


def start_router(owner_ids: list[int]) -> Router:
    """/start: owners are greeted in their language; anyone else gets a polite refusal, nothing more."""
    router = Router(name="start")
    owners = set(owner_ids)

    @router.message(CommandStart(), F.from_user.id.in_(owners))
    async def greet_owner(message: Message) -> None:
        user = message.from_user
        assert user is not None  # the filter matched its id
        await message.answer(text(language(user.language_code), "start_owner", name=user.first_name))

    @router.message(CommandStart())
    async def refuse(message: Message) -> None:
        code = message.from_user.language_code if message.from_user else None
        await message.answer(text(language(code), "start_stranger"))

    return router


@dataclass
class BotRuntime:
    alerts: AlertDispatcher
    bot: Bot | None = None
    dispatcher: Dispatcher | None = None
    webhook_url: str | None = None  # None: long polling (or no bot at all)
    secret: str | None = None
    _tasks: list[asyncio.Task[Any]] = field(default_factory=list)

    def kick(self) -> None:
        """A dialog was just stored: send its alert now rather than at the next poll."""
        self.alerts.kick()

    async def start(self) -> None:
        self.alerts.start()
        if self.bot is None or self.dispatcher is None:
            return
        if self.webhook_url is None:
            self._spawn(self._poll(self.bot, self.dispatcher), "telegram-polling")
        else:
            self._spawn(self._register_webhook(self.bot, self.dispatcher, self.webhook_url), "telegram-webhook")

    async def close(self) -> None:
        """Stop polling, let the alert in flight finish, cancel the rest, close the HTTP session."""
        if self.dispatcher is not None and self.webhook_url is None:
            with contextlib.suppress(RuntimeError):  # polling had not started yet
                await self.dispatcher.stop_polling()
        await self.alerts.stop()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        if self.bot is not None:
            await self.bot.session.close()

    def _spawn(self, work: Coroutine[Any, Any, None], name: str) -> None:
        self._tasks.append(asyncio.create_task(work, name=name))

    async def _poll(self, bot: Bot, dispatcher: Dispatcher) -> None:
        # A webhook left by an earlier deployment would make every getUpdates fail with 409.
        await _until_done(lambda: bot.delete_webhook(drop_pending_updates=False), "delete the webhook")
        await dispatcher.start_polling(bot, handle_signals=False, close_bot_session=False)

    async def _register_webhook(self, bot: Bot, dispatcher: Dispatcher, url: str) -> None:
        updates = dispatcher.resolve_used_update_types()
        await _until_done(
            lambda: bot.set_webhook(url, secret_token=self.secret, allowed_updates=updates),
            "register the webhook",
        )
        log.info("telegram webhook registered at %s", url)


async def _until_done(call: Callable[[], Awaitable[object]], what: str) -> None:
    """Telegram may be unreachable when the server starts; the server must start anyway, so keep trying."""
    delay = 1.0
    while True:
        try:
            await call()
            return
        except AiogramError as exc:
            log.warning("could not %s (%s: %s); retrying in %.0f s", what, type(exc).__name__, exc, delay)
        await asyncio.sleep(delay)
        delay = min(delay * 2, RETRY_CAP)


BOT_RUNTIME = web.AppKey("bot_runtime", BotRuntime)


def create_bot(settings: Settings) -> Bot | None:
    if settings.telegram_bot_token is None:
        return None
    session = None
    if settings.telegram_api_url:
        session = AiohttpSession(api=TelegramAPIServer.from_base(settings.telegram_api_url))
    try:
        return Bot(
            settings.telegram_bot_token.get_secret_value(),
            session=session,
            default=DefaultBotProperties(parse_mode=ParseMode.HTML, link_preview_is_disabled=True),
        )
    except TokenValidationError as exc:
        raise SettingsError(
            f"{ENV_PREFIX}TELEGRAM_BOT_TOKEN: not a bot token ({exc}); copy it from @BotFather, "
            "it looks like 123456789:AA..."
        ) from exc


def setup_bot(
    app: web.Application, settings: Settings, store: Store, *, lang: str = "ru", clock: Clock = utc_now
) -> BotRuntime:
    """Wire the bot into `app`: start on startup, stop before the store closes. Returns the runtime (also
    stored as `app[BOT_RUNTIME]`); without a token the outbox runs in log-only mode."""
    bot = create_bot(settings)
    alerts = AlertDispatcher(
        store,
        bot,
        owner_ids=settings.telegram_owner_ids,
        lang=lang,
        zone=settings.zone,
        retry_max=settings.alert_retry_max_seconds,
        lease=timedelta(seconds=60),
        clock=clock,
    )
    runtime = BotRuntime(alerts=alerts)
    if bot is None:
        log.warning("no %sTELEGRAM_BOT_TOKEN: lead alerts wait in the outbox and are only logged", ENV_PREFIX)
    else:
        if not settings.telegram_owner_ids:
            log.warning("no %sTELEGRAM_OWNER_IDS: lead alerts wait until an owner is configured", ENV_PREFIX)
        dispatcher = Dispatcher(name="chattrack")
        dispatcher.include_routers(
            start_router(settings.telegram_owner_ids),
            alerts_router(store, settings.telegram_owner_ids, lang, settings.zone),
        )
        runtime.bot, runtime.dispatcher = bot, dispatcher
        if settings.public_url is not None:
            runtime.webhook_url = settings.public_url + WEBHOOK_PATH
            runtime.secret = webhook_secret(settings)
            handler = SimpleRequestHandler(dispatcher, bot, secret_token=runtime.secret)
            # Not handler.register(): it would close the bot's session on shutdown, before the outbox stops.
            app.router.add_post(WEBHOOK_PATH, handler.handle)

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        # A cleanup context, not on_startup/on_cleanup: contexts unwind in reverse order, so the bot stops
        # before the store's context (registered earlier) closes the store under it.
        await runtime.start()
        yield
        await runtime.close()

    app.cleanup_ctx.append(lifecycle)
    app[BOT_RUNTIME] = runtime
    return runtime
