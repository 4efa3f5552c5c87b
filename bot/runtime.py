"""The bot inside the aiohttp server: lead alerts, access, reports, the daily summary, Telegram customers.

Who owns the bot is one shared `Owners` view (bot/owners.py). With a token and nobody owning the bot, the
primary process prints a one-time link to claim it at start-up (bot/ownership.py, `BotRuntime.claim_link`).

Without `public_url` the bot long-polls (one copy of the server only: Telegram serves getUpdates to one
client at a time). With it, Telegram posts updates to `<public_url>/telegram/webhook`, signed with a
secret header; every copy may receive them. Without a bot token only the outbox runs, in log-only mode.

A customer's message must be stored before Telegram is told it arrived (`UpdateHandler`, `RetryWhileStoreAway`).

Routers, in the order an update tries them (`build_dispatcher`): access (/start inv_…, /invite, /staff),
ownership (/start own_…, /owner), privacy (/forget), sales (answers to «Сумма продажи?»), relay (members'
replies to alerts and relayed messages go to the bot's customer), customers (anyone else writing privately:
deep links, a plain /start, messages; Telegram Business), start (members' greeting; a refusal in groups), team
(/team in a group, /alerts, «Беру» and «Передать»), commands (reports, members only), web (/web: a link to the
dashboard), alerts (tag, sale and card buttons, members only), fallback (help hint or refusal).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from aiogram import BaseMiddleware, Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.exceptions import AiogramError
from aiogram.methods import TelegramMethod
from aiogram.types import TelegramObject, Update
from aiogram.utils.token import TokenValidationError
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import web

from bot.access import RoleMiddleware, access_router, fallback_router, set_menus, start_router
from bot.alerts import TAGS, AlertCopies, alerts_router
from bot.commands import commands_router
from bot.confirm import Confirmations, confirmation_key
from bot.costs import costs_router
from bot.customers import customers_router
from bot.demo import demo_router
from bot.onboarding import Onboarding
from bot.outbox import AlertDispatcher, Clock
from bot.owners import Owners
from bot.ownership import claim_block, claim_link, new_claim, ownership_router
from bot.privacy import privacy_router
from bot.relay import Relay, relay_router
from bot.sales import SaleQuestions, sales_router
from bot.status import status_router
from bot.summary import DailySummaries
from bot.team import team_router
from bot.web import mini_app_url, web_router
from tracking.demo import DemoSwitch, demo_url
from tracking.periods import utc_now
from tracking.service import Tracker
from tracking.settings import ENV_PREFIX, Settings, SettingsError
from tracking.store.base import Store, StoreUnavailable

log = logging.getLogger("chattrack.bot")

WEBHOOK_PATH = "/telegram/webhook"
RETRY_CAP = 300.0  # seconds between attempts to register the webhook while Telegram is unreachable
STORE_RETRY_FIRST = 1.0  # polling: seconds before an update that met the store away is handled again
STORE_RETRY_CAP = 60.0  # ... doubling up to this


def webhook_secret(settings: Settings) -> str | None:
    """The secret Telegram sends back with each webhook call: the setting, else derived from the token so
    every copy and every restart agree without storing anything."""
    if settings.telegram_webhook_secret is not None:
        return settings.telegram_webhook_secret.get_secret_value()
    if settings.telegram_bot_token is None:
        return None
    token = settings.telegram_bot_token.get_secret_value().encode()
    return hmac.new(token, b"chattrack telegram webhook secret", hashlib.sha256).hexdigest()


def lead_tags(settings: Settings) -> tuple[str, ...]:
    """The alert's tag buttons: the built-in ones, then the owner's own."""
    return tuple(dict.fromkeys([*TAGS, *settings.lead_tags]))


class UpdateHandler(SimpleRequestHandler):
    """The webhook: answers Telegram once the update is handled, not before (aiogram's default), so a customer's
    message is stored before Telegram forgets it. The store away: the handler's StoreUnavailable becomes a 503
    (webhooks.app.failure_as_json) and Telegram delivers the update again; ingestion is idempotent by message
    id. Any other failure (a bug, Telegram refusing a reply) would fail again on every redelivery, repeating a
    command and holding the queue: aiogram logs it and Telegram gets its 200.

    Every update waits, not only customers' messages: one rule is simpler, and a slow one (a chart report)
    cannot hold Telegram past its ~60 s: after 55 s aiogram answers and lets the handler finish on its own."""

    def __init__(self, dispatcher: Dispatcher, bot: Bot, secret_token: str | None) -> None:
        super().__init__(dispatcher, bot, handle_in_background=False, secret_token=secret_token)

    async def _handle_request(self, bot: Bot, request: web.Request) -> web.Response:
        # Outside the try: a body that is not an update is a 400 with the reason (failure_as_json).
        update = Update.model_validate(await request.json(loads=bot.session.json_loads), context={"bot": bot})
        try:
            result: TelegramMethod[Any] | None = await self.dispatcher.feed_webhook_update(bot, update, **self.data)
        except StoreUnavailable:
            raise
        except Exception:  # already logged by aiogram, with its traceback
            return web.json_response({})
        return web.Response(body=self._build_response_writer(bot=bot, result=result))


class RetryWhileStoreAway(BaseMiddleware):
    """Long polling confirms an update to Telegram whether or not its handling failed: an update that met the
    store away is handled again, after 1, 2, 4 … 60 s, until the store answers or the bot stops (then it is
    lost, and logged). The outermost of our middlewares: the role lookup reads the store too."""

    def __init__(self) -> None:
        self.stopping = asyncio.Event()

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        delay = STORE_RETRY_FIRST
        while True:
            try:
                return await handler(event, dict(data))  # a fresh copy: the routers write into it
            except StoreUnavailable as exc:
                if self.stopping.is_set():
                    log.error("telegram update %s lost: the store is unavailable (%s)", _update_id(event), exc)
                    raise
                log.warning("store unavailable (%s): telegram update %s again in %.0f s", exc, _update_id(event), delay)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):
                    await self.stopping.wait()  # stopping: one last try, then give up
            delay = min(delay * 2, STORE_RETRY_CAP)

    def stop(self) -> None:
        self.stopping.set()


def _update_id(event: TelegramObject) -> int | None:
    return event.update_id if isinstance(event, Update) else None


def build_dispatcher(
    store: Store,
    settings: Settings,
    tracker: Tracker,
    *,
    lang: str = "ru",
    clock: Clock = utc_now,
    on_new_dialog: Callable[[], None] = lambda: None,
    store_retry: RetryWhileStoreAway | None = None,
    copies: AlertCopies | None = None,
    owners: Owners | None = None,
) -> Dispatcher:
    """Every router of the bot behind the role middleware (see the module's docstring for the order);
    `store_retry` (long polling) before it. `copies`: the runtime's, which the API's changes redraw too.
    `owners`: the runtime's one view of who owns the bot, shared by every router (a claim is seen at once)."""
    owners = owners if owners is not None else Owners(settings.telegram_owner_ids, store)
    dispatcher = Dispatcher(name="chattrack")
    if store_retry is not None:
        dispatcher.update.outer_middleware(store_retry)
    dispatcher.update.outer_middleware(RoleMiddleware(store, owners))
    token = settings.telegram_bot_token
    confirmations = Confirmations(confirmation_key(token.get_secret_value() if token else None), clock)
    onboarding = Onboarding.of(store, settings)
    # Every copy of an alert in one state (tags, taker): shared by the alert and team buttons.
    copies = copies or alert_copies(store, settings, lang, owners)
    questions = SaleQuestions(store, tracker, copies.refresh)
    app_url = mini_app_url(settings)  # the dashboard's menu button, over https only
    relay = Relay(
        store,
        tracker,
        redraw=copies.refresh,  # a bot customer's first words after /start: every copy of the alert
        owner_ids=owners,
        reveal_names=settings.reveal_staff_names,
    )
    dispatcher.include_routers(
        access_router(store, zone=settings.zone, clock=clock, confirmations=confirmations, lang=lang, app_url=app_url),
        ownership_router(  # /start own_… before the customers' deep links; /owner
            store,
            owners,
            confirmations=confirmations,
            clock=clock,
            steps=onboarding.steps,
            kick=on_new_dialog,  # the outbox: alerts that waited for an owner
            lang=lang,
            app_url=app_url,
        ),
        privacy_router(store, default_region=settings.default_region, confirmations=confirmations, lang=lang),
        demo_router(store, DemoSwitch(store, settings.demo), demo_url(settings), lang=lang),  # /demo, its erasure
        sales_router(questions),  # answers to «Сумма продажи?»: before the relay, which takes other replies
        relay_router(relay),  # members' replies to alerts and relayed messages: before their commands
        customers_router(
            tracker,
            store,
            owner_ids=owners,
            business_usernames=settings.telegram_usernames,
            on_new_dialog=on_new_dialog,
            lang=lang,
            greeting=settings.bot_greeting,
            relay=relay,
        ),
        costs_router(store, settings.currency),  # an owner's spend file: after the relay and customers
        start_router(onboarding.steps, app_url),
        team_router(store, copies, clock=clock, tracker=tracker),  # /team in a group: before the report /team
        commands_router(
            store,
            zone=settings.zone,
            clock=clock,
            default_region=settings.default_region,
            summary_default=settings.summary_time,
            tags=lead_tags(settings),
            steps=onboarding.steps,
            currency=settings.currency,
        ),
        web_router(store, settings, clock=clock),  # /web: a one-time link to the dashboard
        alerts_router(store, settings.zone, lead_tags(settings), copies, tracker=tracker, questions=questions),
        status_router(store, settings, clock=clock),  # /status (owners): what of the installation works
        fallback_router(),
    )
    return dispatcher


def alert_copies(store: Store, settings: Settings, lang: str, owners: Owners | None = None) -> AlertCopies:
    owners = owners if owners is not None else Owners(settings.telegram_owner_ids, store)
    return AlertCopies(store, lang, settings.zone, lead_tags(settings), owners)


@dataclass
class BotRuntime:
    alerts: AlertDispatcher
    bot: Bot | None = None
    dispatcher: Dispatcher | None = None
    summaries: DailySummaries | None = None
    webhook_url: str | None = None  # None: long polling (or no bot at all)
    secret: str | None = None
    store: Store | None = None
    store_retry: RetryWhileStoreAway | None = None  # long polling only
    # Who owns the bot, one live view shared by every part of the bot (the setting wins, else the claim).
    owners: Owners = field(default_factory=lambda: Owners(()))
    # One worker process of several is primary: it alone polls Telegram (a second getUpdates gets 409),
    # registers the webhook and menus, and runs the daily summary. Every worker sends lead alerts when a
    # bot is configured (outbox leases make each alert leave once); without one only the primary logs them.
    primary: bool = True
    copies: AlertCopies | None = None
    clock: Clock = utc_now
    mini_app: str | None = None  # the dashboard's menu button (bot/web.py), set in members' chats at start-up
    lang: str = "ru"  # the bot's language: the menu button's words at start-up
    # The one-time link printed at start-up while nobody owns the bot; `claim_offered` is set once it is
    # known (or none is needed), for tools and tests that wait for it.
    claim_link: str | None = None
    claim_offered: asyncio.Event = field(default_factory=asyncio.Event)
    _tasks: list[asyncio.Task[Any]] = field(default_factory=list)
    _redraws: set[asyncio.Task[Any]] = field(default_factory=set)

    def kick(self) -> None:
        """A dialog was just stored: send its alert now rather than at the next poll."""
        self.alerts.kick()

    def redraw(self, dialog_id: str) -> None:
        """The dialog changed outside the bot (the API): every copy of its alert shows it, in the background."""
        if self.bot is None or self.copies is None:
            return
        task = asyncio.create_task(self._redraw(self.bot, self.copies, dialog_id), name=f"redraw-{dialog_id}")
        self._redraws.add(task)
        task.add_done_callback(self._redraws.discard)

    async def _redraw(self, bot: Bot, copies: AlertCopies, dialog_id: str) -> None:
        try:
            await copies.refresh(bot, dialog_id)
        except Exception as exc:  # the store away, a bug: the copies stay as they were until the next change
            log.warning("the alert copies of dialog %s were not redrawn: %s", dialog_id, exc)

    async def start(self) -> None:
        if self.primary or self.bot is not None:
            self.alerts.start()
        if self.bot is None or self.dispatcher is None or not self.primary:
            return
        if self.summaries is not None:
            self.summaries.start()  # needs the running loop: hence here, in the app's startup
        if self.store is not None:
            self._spawn(self._menus(self.bot, self.store), "telegram-menus")
            self._spawn(self._offer_claim(self.bot, self.store), "telegram-owner-claim")
        if self.webhook_url is None:
            self._spawn(self._poll(self.bot, self.dispatcher), "telegram-polling")
        else:
            self._spawn(self._register_webhook(self.bot, self.dispatcher, self.webhook_url), "telegram-webhook")

    async def close(self) -> None:
        """Stop polling, let the alert in flight finish, cancel the rest, close the HTTP session."""
        if self.store_retry is not None:
            self.store_retry.stop()
        if self.dispatcher is not None and self.webhook_url is None:
            with contextlib.suppress(RuntimeError):  # polling had not started yet
                await self.dispatcher.stop_polling()
        if self.summaries is not None:
            await self.summaries.stop()
        await self.alerts.stop()
        await asyncio.gather(*self._redraws, return_exceptions=True)  # a few edits: let them finish
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        if self.bot is not None:
            await self.bot.session.close()

    def _spawn(self, work: Coroutine[Any, Any, None], name: str) -> None:
        self._tasks.append(asyncio.create_task(work, name=name))

    async def _menus(self, bot: Bot, store: Store) -> None:
        try:
            await set_menus(bot, store, self.owners, self.mini_app, self.lang)
        except Exception as exc:  # a menu is a convenience: never let it take the bot down
            log.warning("could not register the command menus: %s", exc)

    async def _offer_claim(self, bot: Bot, store: Store) -> None:
        """Nobody owns the bot: a fresh one-time link to claim it, printed with its QR code once Telegram
        names the bot (retried while Telegram is unreachable: the server runs meanwhile)."""
        try:
            secret = await new_claim(store, self.owners, self.clock())
            if secret is None:
                return
            await _until_done(bot.me, "read the bot's name for the owner's link")  # cached by aiogram
            me = await bot.me()
            self.claim_link = claim_link(me.username or str(me.id), secret)
            print(claim_block(self.claim_link), flush=True)
            log.warning("nobody owns the bot @%s yet: open the one-time link printed above in Telegram", me.username)
        except Exception as exc:  # the store away: the next start offers a link again
            log.warning("could not offer the link to own the bot: %s", exc)
        finally:
            self.claim_offered.set()

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


def _app_tracker(app: web.Application) -> Tracker | None:
    """The server's own use-case object (with its region resolver and metrics observers), when there is one."""
    try:
        from webhooks.app import TRACKER
    except ImportError:  # the bot without the HTTP edge (tests, tools)
        return None
    return app.get(TRACKER)


def setup_bot(
    app: web.Application,
    settings: Settings,
    store: Store,
    *,
    lang: str = "ru",
    clock: Clock = utc_now,
    tracker: Tracker | None = None,
    primary: bool = True,
) -> BotRuntime:
    """Wire the bot into `app`: start on startup, stop before the store closes. Returns the runtime (also
    stored as `app[BOT_RUNTIME]`); without a token the outbox runs in log-only mode.

    `tracker` ingests Telegram customers' messages; default: the app's (webhooks.app.TRACKER), else a new one.
    `clock` drives reports' "today", the summary job and the outbox (tests pass a fixed one)."""
    bot = create_bot(settings)
    owners = Owners(settings.telegram_owner_ids, store)  # the one view every part of the bot shares
    alerts = AlertDispatcher(
        store,
        bot,
        owner_ids=owners,
        lang=lang,
        zone=settings.zone,
        retry_max=settings.alert_retry_max_seconds,
        clock=clock,
        tags=lead_tags(settings),
    )
    runtime = BotRuntime(
        alerts=alerts,
        store=store,
        owners=owners,
        primary=primary,
        clock=clock,
        mini_app=mini_app_url(settings),
        lang=lang,
    )
    if bot is None and primary:  # said once, not by every worker
        log.warning("no %sTELEGRAM_BOT_TOKEN: lead alerts wait in the outbox and are only logged", ENV_PREFIX)
    if bot is not None:
        tracker = tracker or _app_tracker(app) or Tracker(store, settings)
        if settings.public_url is None:
            runtime.store_retry = RetryWhileStoreAway()
        runtime.copies = alert_copies(store, settings, lang, owners)
        dispatcher = build_dispatcher(
            store,
            settings,
            tracker,
            lang=lang,
            clock=clock,
            on_new_dialog=runtime.kick,
            store_retry=runtime.store_retry,
            copies=runtime.copies,
            owners=owners,
        )
        runtime.bot, runtime.dispatcher = bot, dispatcher
        runtime.summaries = DailySummaries(store, bot, settings, clock=clock, owners=owners)
        if settings.public_url is not None:
            runtime.webhook_url = settings.public_url + WEBHOOK_PATH
            runtime.secret = webhook_secret(settings)
            handler = UpdateHandler(dispatcher, bot, secret_token=runtime.secret)
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
