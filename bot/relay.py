"""A bot customer's chat, both ways: their messages reach the team, a team member's reply reaches them.

A customer who writes to the bot (bot/customers.py) has no other channel: the team cannot write to them
first. So each message they send after the dialog opened is forwarded (the header names the customer) to
whoever took the lead, else to the team group (in its topic), else to every owner and staff member who has
not muted alerts; a chat that refuses it passes it on to the next of these. Each copy is recorded
(`Store.relay_message_sent`), so a member's reply to it — or to the lead's alert — maps back to the dialog
(`Store.dialog_by_bot_message`) and is copied to the customer through the bot: text, photos, documents,
voice notes alike, the member's name hidden unless CHATTRACK_REVEAL_STAFF_NAMES. The member is told in a
word whether it arrived, and the reply answers the dialog (`Tracker.record_reply`).
"""

from __future__ import annotations

import html
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from aiogram import Bot, F, Router
from aiogram.exceptions import AiogramError, TelegramBadRequest, TelegramForbiddenError
from aiogram.filters import Filter
from aiogram.types import Message

from bot.access import MEMBERS, HasRole, member_name, reply_to_bot
from bot.team import Target, team_members
from bot.texts import language, text
from tracking.contacts import telegram_user
from tracking.models import BusinessReply, Dialog
from tracking.service import Tracker
from tracking.store.base import Store

log = logging.getLogger("chattrack.bot.relay")

BOT_PROVIDER = "telegram"  # the provider of dialogs in the chat with the bot itself
MAX_CAPTION = 1024
# What copyMessage can give a new caption; a signed sticker, place or video note gets the name before it.
CAPTIONED = frozenset({"photo", "video", "animation", "audio", "document", "voice"})


async def bot_number(bot: Bot) -> str:
    """The bot's @username as dialogs in the chat with it name their business number."""
    me = await bot.me()  # cached by aiogram after the first call
    return "@" + (me.username or str(me.id)).lower()


@dataclass
class Relay:
    store: Store
    tracker: Tracker
    # Redraws every copy of a dialog's alert (bot/alerts.py AlertCopies.refresh).
    redraw: Callable[[Bot, str], Awaitable[object]]
    owner_ids: Iterable[int] = ()  # the runtime's shared Owners: a claim counts at once
    reveal_names: bool = False
    relayed: int = field(default=0, init=False)

    # the customer's messages to the team ---------------------------------------------------------------

    async def recipients(self, dialog: Dialog) -> list[list[Target]]:
        """Who gets the customer's messages, in order of preference: the taker, the team group, the team."""
        tiers: list[list[Target]] = []
        if dialog.taken_by is not None:
            tiers.append([Target(dialog.taken_by)])
        group = await self.store.team_chat()
        if group is not None:
            tiers.append([Target(group.chat_id, group.thread_id)])
        team = await team_members(self.store, self.owner_ids)
        if team:
            tiers.append([Target(user_id) for user_id in team])
        return tiers

    async def to_team(self, bot: Bot, message: Message, dialog: Dialog) -> int:
        """Forward the customer's message to the first tier of recipients that takes it; how many got it."""
        for tier in await self.recipients(dialog):
            delivered = 0
            for target in tier:
                try:
                    sent = await bot.forward_message(
                        target.chat_id, message.chat.id, message.message_id, message_thread_id=target.thread_id
                    )
                except AiogramError as exc:  # the taker blocked the bot, the group removed it…
                    log.info("dialog %s: a customer's message not relayed to a team chat: %s", dialog.id, exc)
                    continue
                await self.store.relay_message_sent(dialog.id, target.chat_id, sent.message_id)
                delivered += 1
            if delivered:
                self.relayed += 1
                return delivered
        log.warning("dialog %s: a customer's message reached no one of the team", dialog.id)
        return 0

    async def refresh_alerts(self, bot: Bot, dialog: Dialog) -> None:
        """Every copy of the dialog's alert shows it as it is now (its first message came after `/start`)."""
        await self.redraw(bot, dialog.id)

    # a member's reply to the customer ------------------------------------------------------------------

    async def to_customer(self, bot: Bot, reply: Message, dialog_id: str) -> str:
        """Copy a member's reply to the dialog's customer; the text key that tells the member how it went."""
        dialog = await self.store.get_dialog(dialog_id)
        if dialog is None:
            return "dialog_missing"
        customer = telegram_user(dialog.contact_id)
        if dialog.provider != BOT_PROVIDER or customer is None:
            return "relay_not_bot"
        member = reply.from_user
        assert member is not None  # HasRole matched a sender
        try:
            await self._send(bot, customer, reply, member.first_name if self.reveal_names else None)
        except TelegramForbiddenError as exc:
            log.info("dialog %s: the reply was not delivered: %s", dialog.id, exc)
            return "relay_blocked"
        except TelegramBadRequest as exc:
            log.info("dialog %s: Telegram refused the reply: %s", dialog.id, exc)
            return "relay_failed"
        await self.tracker.record_reply(
            BusinessReply(
                provider=BOT_PROVIDER,
                business_number=dialog.business_number,
                contact_id=dialog.contact_id,
                sent_at=reply.date,
                by=member_name(member),
            )
        )
        return "relay_sent"

    async def _send(self, bot: Bot, customer: int, reply: Message, name: str | None) -> None:
        """The reply as the member wrote it (copyMessage keeps photos, documents and formatting), signed
        with `name` when given: before the text, in the caption, or just before what takes no caption."""
        if name is None:
            await bot.copy_message(customer, reply.chat.id, reply.message_id)
            return
        signature = f"<b>{html.escape(name)}</b>"
        if reply.text is not None:
            await bot.send_message(customer, f"{signature}\n{reply.html_text}")
            return
        caption = f"{signature}\n{reply.html_text}" if reply.caption else signature
        if reply.content_type in CAPTIONED and len(name) + 1 + len(reply.caption or "") <= MAX_CAPTION:
            await bot.copy_message(customer, reply.chat.id, reply.message_id, caption=caption)
            return
        await bot.send_message(customer, signature)
        await bot.copy_message(customer, reply.chat.id, reply.message_id)


class ReplyToDialog(Filter):
    """A member's reply to a message the bot sent in that chat for a dialog (its alert or a relayed
    message): passes the dialog's id as `dialog_id`. Commands sent as replies stay commands."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def __call__(self, message: Message, bot: Bot) -> bool | dict[str, Any]:
        original = reply_to_bot(message, bot)
        if original is None:
            return False
        dialog_id = await self.store.dialog_by_bot_message(message.chat.id, original.message_id)
        return False if dialog_id is None else {"dialog_id": dialog_id}


def relay_router(relay: Relay) -> Router:
    """Members' replies to alerts and relayed messages; before the commands and the fallback."""
    router = Router(name="relay")

    @router.message(HasRole(MEMBERS), F.reply_to_message, ReplyToDialog(relay.store))
    async def reply_to_customer(message: Message, bot: Bot, dialog_id: str) -> None:
        outcome = await relay.to_customer(bot, message, dialog_id)
        if outcome == "relay_not_bot" and message.chat.type != "private":
            return  # colleagues talking over a WhatsApp lead in the group: not for the bot to answer
        lang = language(message.from_user.language_code if message.from_user else None)
        await message.reply(text(lang, outcome))

    return router


__all__ = ["BOT_PROVIDER", "Relay", "ReplyToDialog", "bot_number", "relay_router"]
