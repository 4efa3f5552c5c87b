"""POST /webhooks/wazzup: WhatsApp and Telegram messages as Wazzup (wazzup24.com) posts them (API v3).

Wazzup connects a business's WhatsApp, Telegram and other messenger channels to a CRM. Its webhooks
(wazzup24.com/help/api-en/webhooks/, wazzup24.ru/help/api-ru/webhooks-2/) post one JSON object that may
hold `messages` and `statuses` at once; other subscriptions post `createContact`, `createDeal`,
`channelsUpdates` or `templateStatus` alone. On registration Wazzup posts `{"test": true}` and wants
200; it waits 30 s. Every message is stored, in order, before we answer, and a repeated `messageId`
changes nothing. One unreadable message is counted and logged; the rest of the delivery is still taken.

What is a lead here: a customer's own message (`isEcho: false`) in a private WhatsApp or Telegram chat
whose type carries what they said. Echoes (`isEcho: true`: the business's own messages, sent from the CRM,
the phone or Wazzup's app) are its replies: the first one answers the customer's dialog, by `authorName`
when a manager wrote it. Receipts, group chats and other messengers are counted and stored nowhere. An
edit (`isEdited`) replaces the stored text of its message; a deletion (`isDeleted`) marks it deleted.

Wazzup sends `Authorization: Bearer <crmKey>` when it has the integration's crmKey (WAuth's
`POST /v3/connect`), and nothing otherwise; a webhook URL may carry a query string, so an integration
connected with a plain API key puts the same secret in it as `?crmKey=<key>`. Either is compared in
constant time with CHATTRACK_WAZZUP_CRM_KEY.
"""

from __future__ import annotations

import hmac
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from tracking.contacts import TELEGRAM_PREFIX
from tracking.models import BusinessReply, InboundMessage, IngestOutcome, Messenger
from tracking.periods import sent_at, utc_now
from tracking.phones import normalise_phone, whatsapp_contact
from tracking.service import Tracker
from tracking.settings import Settings
from webhooks.app import SETTINGS, TRACKER, error, notify_new_dialog, validation_reason
from webhooks.health import INSTALL
from webhooks.rare_log import RareWarnings

log = logging.getLogger("chattrack.wazzup")
rare = RareWarnings(log)

PATH = "/webhooks/wazzup"
PROVIDER = "wazzup"
KEPT = timedelta(days=30)  # a sending time older than this is taken as now (an older dateTime is a clock far off)
KEY_PARAMETER = "crmKey"
# chatType → messenger; private chats only. Groups (whatsgroup, telegroup, maxgroup) are not leads, and
# Instagram, VK, Avito, Viber and MAX have no place in reports yet: both are counted and skipped.
MESSENGERS = {"whatsapp": Messenger.WHATSAPP, "telegram": Messenger.TELEGRAM}
GROUPS = frozenset({"whatsgroup", "telegroup", "maxgroup"})
# Message types that carry what a customer says (Wazzup: text, image, audio, video, document, vcard,
# geo, wapi_template, unsupported, missing_call, system, unknown). Decided by inclusion: a type Wazzup
# adds later is counted as not content until it is looked at.
CONTENT_TYPES = frozenset({"text", "image", "audio", "video", "document", "vcard", "geo"})
# What the business sends that is a reply: what a customer may send, and a WhatsApp template. An echo whose
# `status` is "error" did not leave; an edited or deleted echo changes a message sent before.
REPLY_TYPES = CONTENT_TYPES | {"wapi_template"}
FAILED = "error"


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore")  # Wazzup adds fields (avitoProfileId, advert, instPost…)


class Contact(_Lenient):
    name: str | None = None
    username: str | None = None  # Telegram only, without @
    phone: str | None = None  # Telegram and MAX only, international digits


class Message(_Lenient):
    messageId: str = Field(min_length=1, max_length=256)
    channelId: str = Field(min_length=1, max_length=256)
    chatType: str
    chatId: str = Field(min_length=1, max_length=256)
    dateTime: datetime | None = None
    type: str = "text"
    isEcho: bool = False
    isEdited: bool = False
    isDeleted: bool = False
    text: str | None = None
    contact: Contact | None = None
    status: str | None = None  # of an echo: sent, delivered, read, error…; "inbound" for a customer's
    authorName: str | None = None  # the manager who wrote an echo (Wazzup sends it only when isEcho)


class Delivery(_Lenient):
    test: bool = False
    messages: list[object] = Field(default_factory=list)  # each read on its own: one bad one is skipped
    statuses: list[object] = Field(default_factory=list)
    # Other subscriptions' deliveries: acknowledged (Wazzup wants 200), stored nowhere.
    createContact: object | None = None
    createDeal: object | None = None
    channelsUpdates: object | None = None
    templateStatus: object | None = None

    def other_events(self) -> int:
        return sum(
            e is not None for e in (self.createContact, self.createDeal, self.channelsUpdates, self.templateStatus)
        )


@dataclass(frozen=True)
class Skip:
    """A message stored nowhere on purpose; `kind` is a fixed word (a metrics label)."""

    kind: str


def key_matches(expected: str, request: web.Request) -> bool:
    """`Authorization: Bearer <crmKey>`, else `?crmKey=<key>` in the URL Wazzup was given."""
    scheme, _, given = request.headers.get("Authorization", "").strip().partition(" ")
    if scheme.lower() != "bearer":
        given = request.query.get(KEY_PARAMETER, "")
    given = given.strip()
    return bool(given) and hmac.compare_digest(given.encode(), expected.encode())


def business_number(channel_id: str, settings: Settings) -> str:
    """The number or @username the customer wrote to. Wazzup names only the channel; its phone or username
    (`plainId` of GET /v3/channels) comes from CHATTRACK_WAZZUP_CHANNELS. Unmapped, the channel id stands
    for it: the dialog is kept, but no click on the site can be matched to it."""
    mapped = settings.wazzup_channels.get(channel_id)  # E.164 or @username (tracking.settings)
    if mapped is None:
        rare.warn("unmapped", f"wazzup: channel {channel_id[:64]!r} is not in CHATTRACK_WAZZUP_CHANNELS")
        return channel_id
    return mapped


def _contact(message: Message, messenger: Messenger, region: str) -> tuple[str, str | None, str | None]:
    """(contact id, phone, name) as the other paths name the same person: a WhatsApp sender by E.164
    (tracking.phones.whatsapp_contact, as Twilio, Meta and Green-API), a Telegram user as the bot does
    ('tg:<user id>', 'Name (@username)')."""
    contact = message.contact or Contact()
    name = contact.name or None
    if messenger is Messenger.WHATSAPP:
        contact_id, phone = whatsapp_contact(message.chatId, region)
        return contact_id, phone, name if name != message.chatId else None  # Wazzup puts the number as name
    chat = message.chatId.strip()
    contact_id = TELEGRAM_PREFIX + chat if chat.isascii() and chat.isdigit() else chat
    phone = normalise_phone(contact.phone, region) if contact.phone else None
    if contact.username:
        name = f"{name or ''} (@{contact.username.lstrip('@')})".strip()
    return contact_id, phone, name


def to_reply(message: Message, settings: Settings, now: datetime) -> BusinessReply | Skip:
    """An echo: the business's reply to the customer of its chat (named as their own messages name them), or
    why it is none."""
    if message.chatType in GROUPS:
        return Skip("group")
    messenger = MESSENGERS.get(message.chatType)
    if messenger is None:
        return Skip("messenger")
    if message.type not in REPLY_TYPES or message.isEdited or message.isDeleted or message.status == FAILED:
        return Skip("echo")
    contact_id, _, _ = _contact(message, messenger, settings.default_region)
    return BusinessReply(
        provider=PROVIDER,
        business_number=business_number(message.channelId, settings),
        contact_id=contact_id,
        sent_at=sent_at(message.dateTime, now, KEPT),
        by=message.authorName or None,
    )


def to_message(message: Message, settings: Settings, now: datetime) -> InboundMessage | BusinessReply | Skip:
    """The customer's message, the business's reply (an echo), or why it is stored nowhere. Edits and
    deletions are read as messages here; `receive` decides what they change."""
    if message.isEcho:
        return to_reply(message, settings, now)  # the business writing: never a lead
    if message.chatType in GROUPS:
        return Skip("group")
    messenger = MESSENGERS.get(message.chatType)
    if messenger is None:
        return Skip("messenger")
    if message.type not in CONTENT_TYPES and not message.isDeleted:
        return Skip("not_content")
    contact_id, phone, name = _contact(message, messenger, settings.default_region)
    return InboundMessage(
        provider=PROVIDER,
        message_id=message.messageId,
        messenger=messenger,
        business_number=business_number(message.channelId, settings),
        contact_id=contact_id,
        contact_phone=phone,
        contact_name=name,
        text=message.text or "",  # a media message's caption, when it has one
        received_at=sent_at(message.dateTime, now, KEPT),  # Wazzup sends UTC
    )


@dataclass
class Tally:
    stored: int = 0
    new_dialogs: int = 0
    updated: int = 0
    replies: int = 0  # echoes taken as the business's replies, whether or not a dialog was waiting
    skipped: int = 0


async def take(raw: object, settings: Settings, tracker: Tracker, now: datetime, tally: Tally) -> None:
    """Store, edit or delete what one message of a delivery says; count the rest."""
    try:
        message = Message.model_validate(raw)
        inbound = to_message(message, settings, now)
    except ValidationError as exc:
        tally.skipped += 1
        tracker.skipped(PROVIDER, "unreadable")
        rare.warn("unreadable", f"wazzup: unreadable message skipped: {validation_reason(exc)}")
        return
    if isinstance(inbound, Skip):
        tally.skipped += 1
        tracker.skipped(PROVIDER, inbound.kind)
        return
    if isinstance(inbound, BusinessReply):
        await tracker.record_reply(inbound)  # one with no dialog before it answers nothing
        tally.replies += 1
        return
    if message.isDeleted:
        if await tracker.delete_message(PROVIDER, inbound.message_id):
            tally.updated += 1
        else:  # a message we never stored: nothing to delete
            tally.skipped += 1
            tracker.skipped(PROVIDER, "deletion")
        return
    if message.isEdited and await tracker.edit_message(PROVIDER, inbound.message_id, inbound.text):
        tally.updated += 1
        return
    # A new message, a retry, or an edit of one we never received (it still says what the customer wrote).
    result = await tracker.ingest(inbound)  # stored before we answer
    tally.stored += result.outcome in (IngestOutcome.NEW_DIALOG, IngestOutcome.APPENDED)
    tally.new_dialogs += result.outcome is IngestOutcome.NEW_DIALOG


async def receive(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    if settings.wazzup_crm_key is None:
        request.app[INSTALL].refused(PROVIDER, "unset")  # /status tells the owner why and what to set
        return error(403, "requests cannot be checked: set CHATTRACK_WAZZUP_CRM_KEY")
    if not key_matches(settings.wazzup_crm_key.get_secret_value(), request):
        rare.warn("bad_key", f"wazzup: wrong or missing crmKey from {request.remote}")  # anyone can send these
        request.app[INSTALL].refused(PROVIDER, "key")
        return error(403, "invalid key: expected Authorization: Bearer <crmKey> or ?crmKey=<key> in the URL")
    if request.content_type != "application/json":
        return error(415, "expected application/json, as Wazzup posts")
    body = await request.read()
    try:
        delivery = Delivery.model_validate_json(body)
    except ValidationError as exc:
        return error(400, validation_reason(exc, "not a Wazzup webhook: "))
    tracker = request.app[TRACKER]
    if delivery.test:
        return web.json_response({"ok": True})  # Wazzup's probe when the webhook is registered
    tally = Tally()
    now = utc_now()
    for raw in delivery.messages:  # in order: the first message of a chat opens its dialog
        await take(raw, settings, tracker, now, tally)
    for _ in delivery.statuses:  # receipts of the business's own messages
        tracker.skipped(PROVIDER, "status")
    for _ in range(delivery.other_events()):  # a CRM's work (create a contact or deal), channel states
        tracker.skipped(PROVIDER, "event")
    if tally.new_dialogs:
        notify_new_dialog(request.app)
    return web.json_response(
        {
            "messages": tally.stored,
            "new_dialogs": tally.new_dialogs,
            "updated": tally.updated,
            "replies": tally.replies,
            "skipped": tally.skipped,
            "statuses": len(delivery.statuses),
        }
    )


def setup(app: web.Application) -> None:
    app.router.add_post(PATH, receive)
