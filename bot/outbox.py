"""Delivery of lead alerts from the persisted outbox to Telegram, with retries.

Each pass leases the due alerts (`Store.claim_alerts`), so several copies of the server share one outbox
and each alert goes out once; a copy that dies mid-pass loses its lease and another copy takes over.
A send that succeeded but could not be marked sent is sent again later: delivery is at least once.

When a send fails the alert waits, then is retried (it is never dropped):
- 429 Too Many Requests: exactly the `retry_after` Telegram asked for;
- network errors, 5xx and undecodable answers: exponential backoff from `retry_base` seconds, capped at
  `retry_max` (the setting `alert_retry_max_seconds`);
- 4xx (chat not found, bot blocked, bad token…): `retry_max` at once — nothing will change until a person
  acts (an owner starts the bot, the token is fixed), and then the alert still arrives.

An alert Telegram keeps refusing with 400 Bad Request ("message is too long", "can't parse entities"…) is
sent in its plain form (`plain_alert`: no markup, that a lead came, the contact, how to open the card) from
its `FALLBACK_AFTER`-th attempt on; one that cannot be rendered at all is sent plain at once (rendering is
a pure function of the stored dialog: a retry would fail the same way). So no stored value can hold an
alert back for ever, and none is dropped.

Sends wait `SEND_TIMEOUT` seconds for Telegram's answer, longer than the Bot API itself takes to answer:
a send given up while Telegram was still accepting it would be sent again. The lease outlasts several such
sends, so no other copy takes over an alert whose send is still in flight.

Alerts queued for chat 0 go to the team at delivery time (bot/team.py, `team_targets`): the team group (in
its topic) when one is set, else every owner and staff member who has not muted alerts; with no owner, no
staff and no group no pass claims them (the owners are read again before each pass, bot/owners.py), so they
stay due and leave the moment someone claims the bot (its claim kicks the outbox). Which chats already got
the alert is read from the store (`dialog_alert_messages`), so a retry after a partial failure, on this copy
of the server or another, sends it only to the chats still missing it. The team group's loss is handled
where it is seen: a group upgraded to a supergroup moves the team chat to its new id; the bot removed from
the group (403, chat not found) sends alerts back to private chats, and the owners are told. One chat's
refusal (4xx) does not hold the rest of the team: they get the alert, and the item is retried for an owner's
chat alone; a staff member's chat the bot cannot write to (blocked, gone) is left out of that alert instead
of holding it.

A TAKE_REMINDER item ("nobody took this lead") comes due `take_reminder_minutes` after the dialog opened:
dropped when the lead was taken (or erased) by then, else sent once to each chat that got the alert (muted
people left out), as a reply to the alert there, with the alert's text and buttons under a ⏰ line. The
reminder is a copy of the alert too (kept with `alert_message_sent`): it is edited with the others, and a
chat with two copies was reminded already. A refused reminder (403/400) is skipped, never retried for ever.

Without a bot token the dispatcher only logs that an alert waits (dialog id, channel, campaign — never the
phone or the message) and leaves it in the outbox for the day a token is configured.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from aiogram import Bot
from aiogram.exceptions import (
    AiogramError,
    ClientDecodeError,
    TelegramAPIError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.types import InlineKeyboardMarkup, LinkPreviewOptions, Message, ReplyParameters
from cachetools import LRUCache

from bot.alerts import TAGS, alert_keyboard, card_keyboard, plain_alert, render_alert
from bot.owners import Owners, as_owners
from bot.team import Target, team_targets
from bot.texts import text
from tracking.models import TAKE_REMINDER, Dialog, OutboxItem
from tracking.passes import PassLoop
from tracking.periods import utc_now
from tracking.store.base import Store
from tracking.strings import one_line

log = logging.getLogger("chattrack.bot.outbox")

Clock = Callable[[], datetime]
OWNERS_CHAT = 0  # an outbox chat id meaning "the team at delivery time" (bot/team.py, team_targets)
FALLBACK_AFTER = 5  # from this attempt on, an alert Telegram refuses with 400 goes in its plain form
# Seconds to wait for Telegram's answer: above the Bot API's own ~60 s (and aiogram's default of 60).
SEND_TIMEOUT = 75
LEASE = timedelta(seconds=4 * SEND_TIMEOUT)  # several sends at the slowest fit in one lease


def retry_delay(error: BaseException, attempts: int, base: float, cap: float) -> float:
    """Seconds to wait before the next attempt after `error` on attempt number `attempts` (1-based)."""
    if isinstance(error, TelegramRetryAfter):
        return float(max(error.retry_after, 1))  # Telegram's own figure, even above the cap
    if isinstance(error, TelegramNetworkError | TelegramServerError | ClientDecodeError):
        return min(base * 2 ** max(attempts - 1, 0), cap)
    return cap


@dataclass(frozen=True)
class _Send:
    """One message of an outbox item: where it goes, and the alert it answers (a reminder's)."""

    target: Target
    reply_to: int | None = None


class _TeamChatChanged(Exception):
    """The team group moved or was lost while sending: send the item again to the team as it is now."""


class AlertDispatcher(PassLoop):
    def __init__(
        self,
        store: Store,
        bot: Bot | None,
        *,
        owner_ids: Owners | Iterable[int] = (),
        lang: str = "ru",
        zone: ZoneInfo | None = None,
        retry_max: float = 300.0,
        retry_base: float = 2.0,
        lease: timedelta = LEASE,
        batch: int = 10,
        send_timeout: int = SEND_TIMEOUT,
        poll_interval: float = 30.0,
        clock: Clock = utc_now,
        tags: Sequence[str] = TAGS,
    ) -> None:
        super().__init__("lead alerts", log)
        self.tags = tuple(tags)
        self.store = store
        self.bot = bot
        self.owners = as_owners(owner_ids)  # the runtime's shared view: a claim is seen at the next pass
        self.lang = lang
        self.zone = zone
        self.retry_max = retry_max
        self.retry_base = retry_base
        self.lease = lease
        self.batch = batch
        if lease.total_seconds() < 2 * send_timeout:  # else another copy could take over a send in flight
            raise ValueError(f"the outbox lease ({lease}) must last at least two send timeouts ({send_timeout} s)")
        self.send_timeout = send_timeout
        # Other copies may queue or release alerts this one never hears of: look again this often.
        self.poll_interval = poll_interval
        self.clock = clock
        self.sent = 0
        self.failed = 0
        self._next_due: datetime | None = None
        # Alerts already logged in log-only mode; bounded, since without a token they are never sent.
        self._logged: LRUCache[str, bool] = LRUCache(maxsize=10_000)

    def seconds_to_next_pass(self) -> float:
        wait = self.poll_interval
        if self._next_due is not None:
            wait = min(wait, (self._next_due - self.clock()).total_seconds())
        return max(wait, 0.0)

    # one pass -----------------------------------------------------------------------------------

    async def run_once(self) -> int:
        """Claim and deliver every due alert; returns how many were delivered."""
        self._next_due = None
        delivered = 0
        loop = asyncio.get_running_loop()
        if self.bot is not None and not await self._anyone():
            return 0  # nobody to send to: the alerts stay due instead of waiting `retry_max` after a claim
        while not self._stopping:
            items = await self.store.claim_alerts(self.clock(), self.lease, self.batch)
            if self.bot is None:  # log-only: nothing is sent, so put the whole batch back in one commit
                await asyncio.gather(*(self._deliver(item) for item in items))
            else:
                # Stop sending before the lease can run out under a slow send, so no other copy sends twice.
                deadline = loop.time() + self.lease.total_seconds() - self.send_timeout
                for index, item in enumerate(items):
                    if self._stopping or (index > 0 and loop.time() > deadline):
                        for rest in items[index:]:
                            await self.store.alert_failed(rest.id, self.clock(), "lease released unsent")
                        break
                    delivered += await self._deliver(item)
            if len(items) < self.batch:
                break
        return delivered

    async def _anyone(self) -> bool:
        """Someone an alert can reach: an owner (read again when the last read is old), staff or the group."""
        await self.owners.refresh()
        return bool(self.owners) or bool(await team_targets(self.store, self.owners))

    async def _deliver(self, item: OutboxItem) -> int:
        dialog = await self.store.get_dialog(item.dialog_id)
        if dialog is None:  # dialogs are written with their alerts, so only a deletion gets here
            log.warning("lead alert %s: dialog %s is gone; dropping the alert", item.id, item.dialog_id)
            await self.store.alert_sent(item.id, self.clock())
            return 0
        reminder = item.kind == TAKE_REMINDER
        if reminder and (dialog.taken_by is not None or self.bot is None):
            # Taken in time: nothing to remind. Without a bot the alert itself has not gone out.
            await self.store.alert_sent(item.id, self.clock())
            return 0
        if self.bot is None:
            self._log_waiting(item, dialog)
            await self._retry_later(item, self.retry_max, "no Telegram bot token configured")
            return 0
        try:
            try:
                plan = await self._deliver_to_team(item, dialog, self.bot)
            except _TeamChatChanged:  # the group moved or was lost: at once, to the team as it is now
                plan = await self._deliver_to_team(item, dialog, self.bot)
            if plan is None:
                why = "the alert has not reached anyone yet" if reminder else "no owner configured"
                await self._retry_later(item, self.retry_max, why)
                return 0
        except _TeamChatChanged as exc:  # twice in a row: the next pass
            await self._retry_later(item, 0, str(exc))
            return 0
        except AiogramError as exc:
            delay = retry_delay(exc, item.attempts, self.retry_base, self.retry_max)
            self.failed += 1
            log.warning(
                "lead alert %s (dialog %s, attempt %d) failed: %s: %s; retry in %.0f s",
                item.id,
                item.dialog_id,
                item.attempts,
                type(exc).__name__,
                exc,
                delay,
            )
            await self._retry_later(item, delay, f"{type(exc).__name__}: {exc}")
            return 0
        except Exception as exc:  # a bug must not stop the other alerts
            log.exception("lead alert %s (dialog %s) failed", item.id, item.dialog_id)
            await self._retry_later(item, self.retry_max, f"{type(exc).__name__}: {exc}")
            return 0
        await self.store.alert_sent(item.id, self.clock())
        self.sent += 1
        log.info("%s %s (dialog %s) sent to %d chat(s)", item.kind, item.id, item.dialog_id, len(plan))
        return 1

    async def _deliver_to_team(self, item: OutboxItem, dialog: Dialog, bot: Bot) -> list[_Send] | None:
        """Send the item to every chat of its plan still missing it; the plan, None when there is no one yet."""
        copies = await self.store.dialog_alert_messages(dialog.id)
        reminder = item.kind == TAKE_REMINDER
        plan = await (self._reminder_plan(copies) if reminder else self._alert_plan(item, copies))
        if plan is not None:
            await self._send(item, dialog, plan, bot)
        return plan

    async def _alert_plan(self, item: OutboxItem, copies: Sequence[tuple[int, int]]) -> list[_Send] | None:
        """The chats still missing the alert; None while there is no one to send it to (no owner configured)."""
        if item.chat_id != OWNERS_CHAT:
            targets = [Target(item.chat_id)]
        else:
            targets = await team_targets(self.store, self.owners)
            if not targets and not self.owners:
                return None
        served = {chat_id for chat_id, _ in copies}
        return [_Send(target) for target in targets if target.chat_id not in served]

    async def _reminder_plan(self, copies: Sequence[tuple[int, int]]) -> list[_Send] | None:
        """Each chat that got the alert and has not muted alerts, replying to its first copy there; a chat
        with two copies was reminded already. None while the alert has reached no one."""
        if not copies:
            return None
        first: dict[int, int] = {}
        for chat_id, message_id in copies:
            first.setdefault(chat_id, message_id)
        count = Counter(chat_id for chat_id, _ in copies)
        muted = await self.store.muted_users()
        team = await self.store.team_chat()
        return [
            _Send(Target(chat_id, team.thread_id if team and team.chat_id == chat_id else None), message_id)
            for chat_id, message_id in first.items()
            if count[chat_id] < 2 and not (chat_id > 0 and chat_id in muted)
        ]

    async def _send(self, item: OutboxItem, dialog: Dialog, plan: Sequence[_Send], bot: Bot) -> None:
        reminder = item.kind == TAKE_REMINDER
        try:
            body = render_alert(dialog, self.lang, self.zone)
            if reminder:
                minutes = max(int((self.clock() - dialog.started_at).total_seconds() // 60), 1)
                body = text(self.lang, "take_reminder", minutes=minutes) + "\n\n" + body
            rich: str | None = body
        except Exception:  # a bug: the lead still gets its alert, in the plain form
            log.exception("lead alert %s (dialog %s) could not be rendered; sending it plain", item.id, dialog.id)
            rich = None
        refused: TelegramAPIError | None = None
        for step in plan:
            chat_id = step.target.chat_id
            try:
                if rich is None:
                    sent = await self._send_plain(bot, step, dialog)
                else:
                    sent = await self._send_rich(bot, item, step, dialog, rich)
            except (TelegramBadRequest, TelegramForbiddenError, TelegramMigrateToChat) as exc:
                # One chat's refusal: the rest of the team still gets the alert. (429, 5xx and network errors
                # stop the pass instead: more sends now would only fail or slow down the same way.)
                if await self._team_chat_failed(bot, chat_id, exc):
                    raise _TeamChatChanged(f"team group {chat_id}: {exc}") from exc
                if reminder or self._left_the_team(item, chat_id, exc):
                    # A reminder is a nudge, sent at most once; a staff member who blocked the bot would hold
                    # every alert for ever: either is left out of this item, not retried.
                    log.info("%s %s not sent to chat %s: %s", item.kind, item.id, chat_id, exc)
                else:
                    refused = refused or exc  # retried for this chat alone (an owner who has not started the bot)
                continue
            await self._remember(dialog, chat_id, sent.message_id)
        if refused is not None:
            raise refused

    def _left_the_team(self, item: OutboxItem, chat_id: int, exc: TelegramAPIError) -> bool:
        """A staff member's private chat the bot cannot write to (blocked, account deleted): not an owner, whose
        alerts wait until they start the bot, and not an alert queued for that chat by name."""
        gone = isinstance(exc, TelegramForbiddenError) or "chat not found" in exc.message
        return gone and item.chat_id == OWNERS_CHAT and chat_id > 0 and chat_id not in self.owners

    async def _send_rich(self, bot: Bot, item: OutboxItem, step: _Send, dialog: Dialog, body: str) -> Message:
        reassign = step.target.chat_id < 0 or step.target.chat_id in self.owners  # an owner reads this copy
        keyboard = alert_keyboard(dialog, self.lang, tags=self.tags, reassign=reassign)
        try:
            return await self._message(bot, step, body, "HTML", keyboard)
        except TelegramBadRequest as exc:
            if item.attempts < FALLBACK_AFTER or "chat not found" in exc.message:
                raise
            log.warning(
                "lead alert %s (dialog %s, attempt %d) refused again (%s); sending it plain",
                item.id,
                dialog.id,
                item.attempts,
                exc,
            )
            return await self._send_plain(bot, step, dialog)

    async def _message(
        self, bot: Bot, step: _Send, body: str, parse_mode: str | None, keyboard: InlineKeyboardMarkup | None
    ) -> Message:
        """One send, in the team group's topic and as a reply when the step says so; a topic since deleted
        gets it in the group's general chat instead."""
        target = step.target
        reply = (
            None
            if step.reply_to is None
            else ReplyParameters(message_id=step.reply_to, allow_sending_without_reply=True)
        )
        try:
            return await bot.send_message(
                target.chat_id,
                body,
                parse_mode=parse_mode,
                reply_markup=keyboard,
                message_thread_id=target.thread_id,
                reply_parameters=reply,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
                request_timeout=self.send_timeout,
            )
        except TelegramBadRequest as exc:
            if target.thread_id is None or "thread not found" not in exc.message:
                raise
            log.warning("topic %s of the team group is gone: alerts go to the group's general chat", target.thread_id)
            return await self._message(bot, _Send(Target(target.chat_id)), body, parse_mode, keyboard)

    async def _team_chat_failed(self, bot: Bot, chat_id: int, exc: TelegramAPIError) -> bool:
        """The team group refused for good: it moved (a group upgraded to a supergroup gets a new id), or the
        bot was removed from it or it was deleted. True when the team chat changed, so the alert goes again."""
        team = await self.store.team_chat()
        if team is None or team.chat_id != chat_id:
            return False
        if isinstance(exc, TelegramMigrateToChat):
            await self.store.set_team_chat(team.model_copy(update={"chat_id": exc.migrate_to_chat_id}))
            log.warning("the team group %s is now %s: alerts follow it", chat_id, exc.migrate_to_chat_id)
            return True
        if not isinstance(exc, TelegramForbiddenError) and "chat not found" not in exc.message:
            return False
        await self.store.set_team_chat(None)
        log.warning("the bot cannot write to the team group %s (%s): alerts go to private chats again", chat_id, exc)
        for owner in self.owners:
            try:
                await bot.send_message(owner, text(self.lang, "team_chat_lost", title=team.title or str(chat_id)))
            except AiogramError as error:
                log.info("owner %s not told that the team group is lost: %s", owner, error)
        return True

    async def _remember(self, dialog: Dialog, chat_id: int, message_id: int) -> None:
        """Keep where the alert went, so erasing the contact can edit it; the alert is sent whatever happens."""
        try:
            await self.store.alert_message_sent(dialog.id, chat_id, message_id)
        except Exception as exc:
            log.warning("lead alert of dialog %s: its message in chat %s not kept: %s", dialog.id, chat_id, exc)

    async def _send_plain(self, bot: Bot, step: _Send, dialog: Dialog) -> Message:
        """The alert without markup: nothing in it for Telegram to refuse but the chat itself."""
        return await self._message(bot, step, plain_alert(dialog, self.lang), None, card_keyboard(dialog, self.lang))

    async def _retry_later(self, item: OutboxItem, delay: float, error: str) -> None:
        due = self.clock() + timedelta(seconds=delay)
        await self.store.alert_failed(item.id, due, error)
        if self._next_due is None or due < self._next_due:
            self._next_due = due

    def _log_waiting(self, item: OutboxItem, dialog: Dialog) -> None:
        if item.id in self._logged:
            return
        self._logged[item.id] = True
        # Privacy: ids and attribution only; the phone and the customer's words stay in the store.
        log.info(
            "lead alert %s waits in the outbox (no CHATTRACK_TELEGRAM_BOT_TOKEN): dialog %s, %s, "
            "channel %s, campaign %s, %s",
            item.id,
            dialog.id,
            dialog.messenger.value,
            dialog.attribution.channel.value,
            one_line(dialog.attribution.campaign or "-", 80),  # a UTM tag anyone can set: no forged log lines
            "repeat" if dialog.is_repeat else "new",
        )
