"""Customers reaching the business through Telegram: bot deep links and Telegram Business chats.

Deep links: `t.me/<bot>?start=<visit code>` carries the code invisibly (start parameters allow A–Z a–z 0–9
_ -, up to 64). The customer's chat with the bot becomes a dialog with the bot's @username as business
number, attributed exactly to that visit; later messages of the same customer join it like any message, the
first text among them becomes the dialog's first message and every copy of its alert is redrawn to show it.
Anyone else who writes to the bot privately (a plain `/start`, a start parameter that is neither a visit
code nor an invite, a message) is a customer too: a dialog without a code. Members are never customers.
Each new dialog is greeted once (CHATTRACK_BOT_GREETING, else the built-in greeting in the customer's
language); /help gets the greeting too (other commands are for staff). Their messages go on to the team
and the team's replies come back through the bot (bot/relay.py).

Telegram Business: an owner connects the bot to their own account (Settings → Telegram Business →
Chatbots). Telegram then sends a `business_connection` update, remembered in the store, and a
`business_message` for every message in the account's private chats. A customer's message becomes an
`InboundMessage` with the account's @username as business number, so the code the snippet appended to
`t.me/<username>?text=` links attributes the chat exactly as on WhatsApp. The owner's own replies are not
customer messages: each is the business answering (`Tracker.record_reply`, by the account's name); replies
a bot sends on the owner's behalf (an auto-reply) are no one's answer and are ignored. Only accounts of the
owners (bot/owners.py) or CHATTRACK_TELEGRAM_USERNAMES count: anyone can connect a bot to their account, and a
stranger's chats must not turn into this business's leads.

What is stored is decided by inclusion (CONTENT_TYPES, by aiogram's `Message.content_type`): what a
customer says — a text, media with or without a caption, a voice or video note, a sticker, a contact,
place or venue, a poll, checklist, dice or forwarded story. Service messages (a pinned message, gifts,
payments, shared users or chats, a new chat background…) and types this aiogram does not know are counted
(Tracker.skipped, kinds `not_content` and `other`) and stored nowhere.

Edits and deletions: a customer's edited message (`edited_message` in the chat with the bot,
`edited_business_message` in a business chat) replaces the stored text of that message; deleted business
messages (`deleted_business_messages`) are marked deleted. Neither opens a dialog; a message that was never
stored (the owner's own, another account's) changes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from aiogram import Bot, F, Router
from aiogram.enums import ContentType
from aiogram.exceptions import AiogramError
from aiogram.filters import Command, CommandObject, CommandStart, Filter
from aiogram.types import BusinessConnection, BusinessMessagesDeleted, Message, User

from bot.access import INVITE_PREFIX, HasRole, Role
from bot.owners import Owners, as_owners
from bot.relay import BOT_PROVIDER, Relay, bot_number
from bot.texts import language, text
from tracking.models import BusinessReply, Dialog, InboundMessage, IngestOutcome, Messenger
from tracking.service import Tracker
from tracking.store.base import BusinessAccount, Store

log = logging.getLogger("chattrack.bot.customers")

VISIT_PAYLOAD = r"^[0-9A-Za-z]{7}$"  # a visit code (6 + 1 check character); invites are inv_…
BUSINESS_PROVIDER = "telegram_business"
# What a customer says (Bot API Message fields, as aiogram names them): a text; a photo, live photo, video,
# animation, audio, voice note, video note, document, sticker or paid media, with or without a caption; a
# contact, location or venue; a poll, checklist or dice; a story they forward. Everything else aiogram knows is
# a service message or a bot's own kind of message (a game, an invoice, a rich message).
CONTENT_TYPES = frozenset(
    {
        ContentType.TEXT,
        ContentType.PHOTO,
        ContentType.LIVE_PHOTO,
        ContentType.VIDEO,
        ContentType.ANIMATION,
        ContentType.AUDIO,
        ContentType.VOICE,
        ContentType.VIDEO_NOTE,
        ContentType.DOCUMENT,
        ContentType.STICKER,
        ContentType.PAID_MEDIA,
        ContentType.CONTACT,
        ContentType.LOCATION,
        ContentType.VENUE,
        ContentType.POLL,
        ContentType.CHECKLIST,
        ContentType.DICE,
        ContentType.STORY,
    }
)


def contact_id(user: User) -> str:
    return f"tg:{user.id}"


def contact_name(user: User) -> str:
    return user.full_name + (f" (@{user.username})" if user.username else "")


def message_text(message: Message) -> str:
    """What a customer wrote: the text or caption, a venue's name and address, a poll's question, a checklist's
    title; "" for what has none (media without a caption, a sticker, a place, a contact: a third person's name
    is no text of the customer's)."""
    if message.text or message.caption:
        return message.text or message.caption or ""
    if message.venue is not None:
        return ", ".join(part for part in (message.venue.title, message.venue.address) if part)
    if message.poll is not None:
        return message.poll.question
    if message.checklist is not None:
        return message.checklist.title
    return ""


def not_content(message: Message) -> str | None:
    """None for what a customer says; else the kind it is counted as (a fixed word: a metrics label)."""
    kind = message.content_type
    if kind in CONTENT_TYPES:
        return None
    if kind == ContentType.UNKNOWN:  # newer than this aiogram: its fields say what it is, for whoever looks
        log.debug(
            "telegram: a message aiogram does not know (fields %s): not stored", sorted(message.model_extra or {})
        )
        return "other"
    return "not_content"


def bot_message_id(message: Message) -> str:
    """The id a customer's message in the chat with the bot is stored by (edits find it by the same)."""
    return f"{message.chat.id}:{message.message_id}"


def business_message_id(connection_id: str, chat_id: int, message_id: int) -> str:
    """The id a business chat's message is stored by: message ids are per chat, chats per connection."""
    return f"{connection_id}:{chat_id}:{message_id}"


def business_number(account: BusinessAccount) -> str:
    """A Telegram Business account's @username, as the snippet names `t.me/<username>` click targets."""
    return "@" + (account.username or str(account.user_id)).lower()


def edited_at(message: Message) -> datetime | None:
    return None if message.edit_date is None else datetime.fromtimestamp(message.edit_date, UTC)


class Customer(Filter):
    """A stranger's private message that is no command: a customer's (members are not customers). Passes
    their latest dialog with the bot as `latest` (None: this message opens their first); with `known`, only
    customers who have one pass."""

    def __init__(self, store: Store, *, known: bool = False) -> None:
        self.store = store
        self.known = known

    async def __call__(self, message: Message, role: Role = Role.STRANGER) -> bool | dict[str, Any]:
        if role is not Role.STRANGER or message.from_user is None or (message.text or "").startswith("/"):
            return False
        dialogs = await self.store.find_dialogs(contact_id=contact_id(message.from_user), limit=5)
        latest = next((d for d in dialogs if d.provider == BOT_PROVIDER), None)  # not a Telegram Business one
        if latest is None and self.known:
            return False
        return {"latest": latest}


def customers_router(
    tracker: Tracker,
    store: Store,
    *,
    owner_ids: Owners | Iterable[int],
    business_usernames: Iterable[str] = (),
    on_new_dialog: Callable[[], None] = lambda: None,
    lang: str = "ru",
    greeting: str | None = None,
    relay: Relay | None = None,
) -> Router:
    """`greeting`: what a new dialog's customer is told (plain text), else the built-in one in their language.
    `relay`: where customers' messages go on to (bot/relay.py); None: stored only."""
    router = Router(name="customers")
    owners = as_owners(owner_ids)  # the runtime's shared view, read live: a claim counts at once
    usernames = frozenset(name.lstrip("@").lower() for name in business_usernames)
    stranger = HasRole({Role.STRANGER})

    def allowed(account: BusinessAccount) -> bool:
        return account.user_id in owners or (account.username or "").lower() in usernames

    async def ingest(message: InboundMessage) -> IngestOutcome:
        result = await tracker.ingest(message)
        if result.outcome is IngestOutcome.NEW_DIALOG:
            on_new_dialog()  # the lead alert leaves now rather than at the next poll
        return result.outcome

    async def greet(message: Message) -> None:
        if greeting:  # the owner's words, as written: no markup to break
            await message.answer(greeting, parse_mode=None)
            return
        code = message.from_user.language_code if message.from_user else None
        await message.answer(text(language(code), "customer_welcome"))

    async def from_bot_chat(message: Message, bot: Bot, typed: str, start_code: str | None = None) -> InboundMessage:
        """A customer's message in their chat with the bot itself."""
        user = message.from_user
        assert user is not None  # private chats always have a sender
        return InboundMessage(
            provider=BOT_PROVIDER,
            message_id=bot_message_id(message),
            messenger=Messenger.TELEGRAM,
            business_number=await bot_number(bot),
            contact_id=contact_id(user),
            contact_name=contact_name(user),
            text=typed,
            received_at=message.date,
            start_code=start_code,
        )

    async def customer_message(
        message: Message, bot: Bot, typed: str, *, start_code: str | None = None, latest: Dialog | None = None
    ) -> None:
        """Store it; greet a new dialog; redraw the alerts when it became the dialog's first message; pass it
        on to the team. A redelivered update (DUPLICATE) was answered and relayed the first time."""
        result = await tracker.ingest(await from_bot_chat(message, bot, typed, start_code))
        outcome, dialog = result.outcome, result.dialog
        if outcome is IngestOutcome.NEW_DIALOG:
            on_new_dialog()  # the lead alert leaves now rather than at the next poll
            await greet(message)
        if outcome not in (IngestOutcome.NEW_DIALOG, IngestOutcome.APPENDED) or relay is None:
            return
        filled = latest is not None and latest.id == dialog.id and not latest.first_message and dialog.first_message
        if outcome is IngestOutcome.APPENDED and filled:
            await relay.refresh_alerts(bot, dialog)
        if (message.text or "").startswith("/"):
            return  # a /start: nothing the customer wrote
        if (
            outcome is IngestOutcome.NEW_DIALOG
            and message.content_type == ContentType.TEXT
            and not dialog.alert_withheld
        ):
            return  # the alert itself shows this text, and a reply to the alert reaches the customer
        await relay.to_team(bot, message, dialog)

    # customers in the chat with the bot ------------------------------------------------------------

    @router.message(CommandStart(deep_link=True, magic=F.args.regexp(VISIT_PAYLOAD)), F.chat.type == "private")
    async def deep_link(message: Message, command: CommandObject, bot: Bot) -> None:
        # "/start <code>" is what Telegram sends; the customer typed nothing
        await customer_message(message, bot, "", start_code=command.args)

    @router.message(CommandStart(), F.chat.type == "private", stranger)
    async def plain_start(message: Message, command: CommandObject, bot: Bot) -> None:
        """`/start` with no parameter, or one that is neither a visit code nor a valid invite."""
        if (command.args or "").startswith(INVITE_PREFIX):  # a cut or forged invite link: say so
            code = message.from_user.language_code if message.from_user else None
            await message.answer(text(language(code), "invite_invalid"))
            return
        await customer_message(message, bot, "")

    @router.message(Command("help"), F.chat.type == "private", stranger)
    async def customer_help(message: Message) -> None:
        """A customer typing /help: the greeting, which says what to do (other commands: the fallback's
        short answer, that they are for the company's staff)."""
        await greet(message)

    @router.message(F.chat.type == "private", Customer(store))
    async def customer_writes(message: Message, bot: Bot, latest: Dialog | None) -> None:
        skipped = not_content(message)
        if skipped is not None:  # handled here all the same: a customer's service message gets no refusal
            tracker.skipped(BOT_PROVIDER, skipped)
            return
        await customer_message(message, bot, message_text(message), latest=latest)

    @router.edited_message(F.chat.type == "private", Customer(store, known=True))
    async def customer_edits(message: Message) -> None:
        await tracker.edit_message(BOT_PROVIDER, bot_message_id(message), message_text(message), edited_at(message))

    # Telegram Business ----------------------------------------------------------------------------

    @router.business_connection()
    async def connection(event: BusinessConnection, bot: Bot) -> None:
        account = BusinessAccount(
            connection_id=event.id,
            user_id=event.user.id,
            username=event.user.username,
            name=event.user.full_name,
            enabled=event.is_enabled,
        )
        if not allowed(account):
            log.warning(
                "business connection %s of user %s ignored: not an owner (CHATTRACK_TELEGRAM_OWNER_IDS) "
                "nor a tracked username (CHATTRACK_TELEGRAM_USERNAMES)",
                event.id,
                event.user.id,
            )
            return
        await store.save_business_account(account)
        log.info("business connection %s of @%s: %s", event.id, account.username, "on" if event.is_enabled else "off")
        key = "business_connected" if event.is_enabled else "business_disconnected"
        owner_lang = language(event.user.language_code) if event.user.language_code else lang
        try:
            await bot.send_message(event.user_chat_id, text(owner_lang, key, name="@" + (account.username or "")))
        except AiogramError as exc:
            log.info("could not confirm the business connection to its owner: %s", exc)

    async def account_of(connection_id: str, bot: Bot) -> BusinessAccount | None:
        account = await store.get_business_account(connection_id)
        if account is not None:
            return account
        try:  # connected before this server saw the update (another deployment, a lost update)
            event = await bot.get_business_connection(connection_id)
        except AiogramError as exc:
            log.warning("business connection %s is unknown and Telegram did not say whose: %s", connection_id, exc)
            return None
        account = BusinessAccount(
            connection_id=event.id,
            user_id=event.user.id,
            username=event.user.username,
            name=event.user.full_name,
            enabled=event.is_enabled,
        )
        if allowed(account):
            await store.save_business_account(account)
        return account

    async def owner_replies(message: Message, account: BusinessAccount) -> None:
        """The account's owner wrote in a customer's chat: the business answered that customer's dialog."""
        await tracker.record_reply(
            BusinessReply(
                provider=BUSINESS_PROVIDER,
                business_number=business_number(account),
                contact_id=f"tg:{message.chat.id}",  # the chat is the customer's: its id is their user id
                sent_at=message.date,
                by=account.name or None,
            )
        )

    @router.business_message()
    async def business_message(message: Message, bot: Bot) -> None:
        sender = message.from_user
        if message.business_connection_id is None or sender is None:
            return
        # In a business chat the chat is the customer's: anyone else writing in it is the business.
        by_customer = sender.id == message.chat.id and message.sender_business_bot is None and not sender.is_bot
        account = await account_of(message.business_connection_id, bot)
        if account is None or not allowed(account) or not account.enabled:
            return
        if not by_customer:
            if sender.id == account.user_id and message.sender_business_bot is None and not_content(message) is None:
                await owner_replies(message, account)
            return
        if sender.id == account.user_id:
            return
        skipped = not_content(message)
        if skipped is not None:
            tracker.skipped(BUSINESS_PROVIDER, skipped)
            return
        await ingest(
            InboundMessage(
                provider=BUSINESS_PROVIDER,
                message_id=business_message_id(message.business_connection_id, message.chat.id, message.message_id),
                messenger=Messenger.TELEGRAM,
                business_number=business_number(account),
                contact_id=contact_id(sender),
                contact_name=contact_name(sender),
                text=message_text(message),
                received_at=message.date,
            )
        )

    @router.edited_business_message()
    async def business_edit(message: Message) -> None:
        sender = message.from_user
        if message.business_connection_id is None or sender is None or sender.id != message.chat.id:
            return  # not the customer's (the chat is theirs): the owner's messages are never stored
        stored_as = business_message_id(message.business_connection_id, message.chat.id, message.message_id)
        await tracker.edit_message(BUSINESS_PROVIDER, stored_as, message_text(message), edited_at(message))

    @router.deleted_business_messages()
    async def business_deletions(event: BusinessMessagesDeleted) -> None:
        for message_id in event.message_ids:  # the owner's own messages among them were never stored
            await tracker.delete_message(
                BUSINESS_PROVIDER, business_message_id(event.business_connection_id, event.chat.id, message_id)
            )

    return router


__all__ = ["BOT_PROVIDER", "BUSINESS_PROVIDER", "CONTENT_TYPES", "VISIT_PAYLOAD", "Customer", "customers_router"]
