"""/webhooks/meta: WhatsApp messages as Meta's WhatsApp Cloud API delivers them.

GET is Meta's verification handshake; POST carries `entry[].changes[].value` objects, each with
`messages[]` (customers writing to the business), `statuses[]` (what became of the messages the business
sent through the API) and/or `message_echoes[]` (field smb_message_echoes: messages the business sent from
the WhatsApp Business app on a coexistence number). One delivery may batch several entries, changes and
messages; every message is stored, in order, before we answer 200. Meta delivers at least once and
retries for days on anything else, so a repeated message id (wamid) changes nothing.

The business's replies: an echo, and a sent / delivered / read status (a message sent through the API
left), answer the customer's dialog (Tracker.record_reply keeps the earliest, so the statuses of a message
already counted change nothing). A failed status, and echoes that edit, revoke or react, answer nothing.

What opens or joins a dialog is decided by inclusion: the types Meta's messages webhook reference lists
as what a customer sends (CONTENT_TYPES). Everything else (reactions, system notices, "chat opened",
unsupported or unknown types) is counted and stored nowhere. WhatsApp Business app numbers (coexistence)
also send `edit` and `revoke`: an edit replaces the stored text of its original message, a revoke marks
it deleted; neither opens a dialog. One message that cannot be read is counted, logged and skipped: a
400 would make Meta retry the whole batch, the good messages with it, for days.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from tracking.models import BusinessReply, InboundMessage, IngestOutcome, Messenger
from tracking.periods import sent_at, unix_moment, utc_now
from tracking.phones import whatsapp_contact, whatsapp_number
from tracking.service import Tracker
from webhooks.app import SETTINGS, TRACKER, error, notify_new_dialog, validation_reason
from webhooks.health import INSTALL
from webhooks.rare_log import RareWarnings
from webhooks.referral import AdReferral, ad_attribution

log = logging.getLogger("chattrack.meta")

PATH = "/webhooks/meta"
PROVIDER = "meta"
KEPT = timedelta(days=30)  # a sending time older than this is taken as now (Meta retries for days)
# What a customer says, by Meta's messages webhook reference: a text; media with or without a caption; a
# button, list row or flow answer chosen; a location, a contact card, an order from the catalogue.
CONTENT_TYPES = frozenset(
    {"text", "image", "video", "audio", "document", "sticker", "button", "interactive", "location", "contacts", "order"}
)
# Documented types that are not: what each is counted as (a fixed word: it is a metrics label). Reactions
# to our messages, number or BSUID changes, "chat opened" (request_welcome), disappearing-mode notices, and
# messages WhatsApp could not pass on (unsupported; `unknown` in older versions). Any other type: "other".
EVENT_KINDS = {
    "reaction": "reaction",
    "system": "event",
    "request_welcome": "event",
    "ephemeral": "event",
    "unsupported": "unsupported",
    "unknown": "unsupported",
}
# Statuses saying a message the business sent left ("failed" says it did not; "deleted", "warning" of older
# versions say nothing of sending), and echoes that are no message of their own.
REPLY_STATUSES = frozenset({"sent", "delivered", "read"})
NOT_REPLY_ECHOES = frozenset({"edit", "revoke", "reaction"})
rare = RareWarnings(log)


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore")  # Meta adds fields without notice


class Profile(_Lenient):
    name: str | None = None


class Contact(_Lenient):
    wa_id: str | None = None  # the phone number's digits; absent for some users with a username (2026)
    user_id: str | None = None  # business-scoped user id (BSUID), e.g. "US.13491208655302741918"
    profile: Profile | None = None


class Text(_Lenient):
    body: str = ""


class Media(_Lenient):  # image, video, audio, document, sticker: only images, videos and documents have captions
    caption: str | None = None


class Button(_Lenient):  # a quick-reply button of a template
    text: str | None = None


class Reply(_Lenient):  # a reply button or a list row
    title: str | None = None


class FlowReply(_Lenient):  # a WhatsApp Flow's answer (nfm_reply): `body` is what the chat shows ("Sent")
    body: str | None = None


class Interactive(_Lenient):
    button_reply: Reply | None = None
    list_reply: Reply | None = None
    nfm_reply: FlowReply | None = None


class Location(_Lenient):
    name: str | None = None
    address: str | None = None


class Order(_Lenient):
    text: str | None = None  # the customer's note with the order


class Content(_Lenient):
    """What a message holds, by its type: a message's own content, or the new content of an edit."""

    type: str = "text"
    text: Text | None = None
    image: Media | None = None
    video: Media | None = None
    audio: Media | None = None
    document: Media | None = None
    sticker: Media | None = None
    button: Button | None = None
    interactive: Interactive | None = None
    location: Location | None = None
    order: Order | None = None

    def readable_text(self) -> str:
        """What the customer wrote, whatever the type: a text, a caption, the button or row chosen, a place's
        name, an order's note; "" for what has none (media without caption, a contact card)."""
        if self.text is not None:
            return self.text.body
        for media in (self.image, self.video, self.document):
            if media is not None and media.caption:
                return media.caption
        if self.button is not None and self.button.text:
            return self.button.text
        if self.interactive is not None:
            reply = self.interactive.button_reply or self.interactive.list_reply
            if reply is not None and reply.title:
                return reply.title
            if self.interactive.nfm_reply is not None and self.interactive.nfm_reply.body:
                return self.interactive.nfm_reply.body
        if self.location is not None:
            return ", ".join(part for part in (self.location.name, self.location.address) if part)
        if self.order is not None and self.order.text:
            return self.order.text
        return ""


class Changed(_Lenient):  # `edit` and `revoke` (coexistence): which message they change
    original_message_id: str = Field(min_length=1, max_length=256)


class Edit(Changed):
    message: Content = Field(default_factory=Content)  # the message's new content (text, or media and caption)


class Message(Content):
    id: str = Field(min_length=1, max_length=256)
    sender: str | None = Field(None, alias="from")
    from_user_id: str | None = None
    timestamp: str | None = None
    group_id: str | None = None
    referral: AdReferral | None = None
    edit: Edit | None = None
    revoke: Changed | None = None


class Echo(_Lenient):
    """A message the business sent from the WhatsApp Business app (smb_message_echoes): `to` is the
    customer's phone; `to_user_id` their business-scoped user id, as BSUID payloads name the recipient."""

    id: str = Field(min_length=1, max_length=256)
    to: str | None = None
    to_user_id: str | None = None
    timestamp: str | None = None
    type: str = "text"


class Status(_Lenient):
    """What became of a message the business sent through the API: `recipient_id` is the customer's phone
    (absent when it was sent to a BSUID the phone of which Meta does not share), `recipient_user_id` their
    BSUID."""

    id: str = Field(min_length=1, max_length=256)
    status: str = Field(max_length=64)
    timestamp: str | None = None
    recipient_id: str | None = None
    recipient_user_id: str | None = None
    recipient_type: str | None = None  # "group" for a message to a group chat


class Metadata(_Lenient):
    display_phone_number: str
    phone_number_id: str | None = None


class Value(_Lenient):
    # Each message (and the metadata they need) is read on its own: one that cannot be read is skipped.
    metadata: Any = None
    contacts: list[Any] = Field(default_factory=list)
    messages: list[Any] = Field(default_factory=list)
    statuses: list[Any] = Field(default_factory=list)
    message_echoes: list[Any] = Field(default_factory=list)


class Change(_Lenient):
    field: str | None = None
    value: Value


class Entry(_Lenient):
    id: str | None = None
    changes: list[Change] = Field(default_factory=list)


class Delivery(_Lenient):
    object: str
    entry: list[Entry]


def signature_matches(secret: str, body: bytes, header: str) -> bool:
    """`X-Hub-Signature-256: sha256=<hex>` over the raw bytes (Meta's own serialisation, not re-encoded JSON)."""
    scheme, _, given = header.partition("=")
    if scheme != "sha256" or not given:
        return False
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, given.strip().lower())


def received_at(timestamp: str | None, now: datetime) -> datetime:
    """When the customer sent it, by the message's own timestamp."""
    return sent_at(unix_moment(timestamp), now, KEPT)


@dataclass(frozen=True)
class Revision:
    """An edit (`text` set) or a revoke (`text` None) of a message stored before (coexistence)."""

    original_id: str
    text: str | None
    at: datetime


@dataclass(frozen=True)
class Skipped:
    kind: str  # a fixed word: the metrics label (Tracker.skipped)
    why: str = ""  # for the log when unreadable


Reading = InboundMessage | Revision | BusinessReply | Skipped


def read_delivery(delivery: Delivery, region: str) -> list[Reading]:
    """What each message, echo and status of a delivery says, in order (a change's customers' messages
    before the business's replies in it): a customer's message, an edit or revoke of one, a reply of the
    business, or why it is skipped."""
    now = utc_now()
    found: list[Reading] = []
    for entry in delivery.entry:
        for change in entry.changes:
            value = change.value
            if not (value.messages or value.message_echoes or value.statuses):
                continue  # fields we do not use
            business = _business_of(value.metadata, region)
            contacts = _contacts(value.contacts)
            for raw in value.messages:
                found.append(business if isinstance(business, Skipped) else read(raw, contacts, business, region, now))
            for raw in value.message_echoes:
                found.append(business if isinstance(business, Skipped) else echo(raw, contacts, business, region, now))
            for raw in value.statuses:
                found.append(
                    business if isinstance(business, Skipped) else status(raw, contacts, business, region, now)
                )
    return found


def _business_of(metadata: Any, region: str) -> str | Skipped:
    """The business number of a change's messages, or why none of them can be read."""
    if metadata is None:
        return Skipped("unreadable", "value.metadata is missing")
    try:
        number = whatsapp_number(Metadata.model_validate(metadata).display_phone_number, region)
    except ValidationError as exc:
        return Skipped("unreadable", validation_reason(exc, "value.metadata."))
    return number or Skipped("unreadable", "metadata.display_phone_number is not a phone number")


def _contacts(raw: list[Any]) -> list[Contact]:
    """The `contacts[]` entries that can be read (a broken one only costs its sender's name)."""
    found = []
    for item in raw:
        try:
            found.append(Contact.model_validate(item))
        except ValidationError:
            continue
    return found


def read(raw: Any, contacts: list[Contact], business: str, region: str, now: datetime) -> Reading:
    """One message of a change: decided by inclusion (CONTENT_TYPES), edits and revokes apart."""
    try:
        message = Message.model_validate(raw)
    except ValidationError as exc:
        return Skipped("unreadable", validation_reason(exc, "message."))
    if message.group_id:
        return Skipped("group")  # group chats are not leads
    if message.type == "edit" or message.type == "revoke":
        changed = message.edit if message.type == "edit" else message.revoke
        if changed is None:
            return Skipped("unreadable", f"message {message.id}: {message.type} without its {message.type} object")
        text = message.edit.message.readable_text() if message.edit is not None else None
        return Revision(changed.original_message_id, text, received_at(message.timestamp, now))
    if message.type not in CONTENT_TYPES:
        return Skipped(EVENT_KINDS.get(message.type, "other"))
    try:
        inbound = _inbound(message, contacts, business, region, now)
    except ValidationError as exc:
        return Skipped("unreadable", validation_reason(exc, f"message {message.id}: "))
    return Skipped("unreadable", f"message {message.id}: {inbound}") if isinstance(inbound, str) else inbound


def _inbound(
    message: Message, contacts: list[Contact], business: str, region: str, now: datetime
) -> InboundMessage | str:
    contact = _contact_of(message, contacts)
    wa_id = message.sender or (contact.wa_id if contact else None)
    user_id = message.from_user_id or (contact.user_id if contact else None)
    sender, phone = whatsapp_contact(wa_id, region) if wa_id else ("", None)
    contact_id = phone or user_id or sender
    if not contact_id:
        return "no sender: neither from nor from_user_id"
    return InboundMessage(
        provider=PROVIDER,
        message_id=message.id,
        messenger=Messenger.WHATSAPP,
        business_number=business,
        contact_id=contact_id,
        contact_phone=phone,
        contact_alias=user_id or None,  # linked to the phone when both come; alone, resolved through that link
        contact_name=(contact.profile.name or None) if contact and contact.profile else None,
        text=message.readable_text(),
        received_at=received_at(message.timestamp, now),
        ad_referral=ad_attribution(message.referral),
    )


def echo(raw: Any, contacts: list[Contact], business: str, region: str, now: datetime) -> BusinessReply | Skipped:
    """One message the business sent from the WhatsApp Business app: a reply, unless it only changes or
    reacts to another."""
    try:
        sent = Echo.model_validate(raw)
    except ValidationError as exc:
        return Skipped("unreadable", validation_reason(exc, "message echo."))
    if sent.type in NOT_REPLY_ECHOES:
        return Skipped("echo")
    return _reply(sent.to, sent.to_user_id, sent.timestamp, contacts, business, region, now) or Skipped(
        "unreadable", f"message echo {sent.id}: no recipient: neither to nor to_user_id"
    )


def status(raw: Any, contacts: list[Contact], business: str, region: str, now: datetime) -> BusinessReply | Skipped:
    """One status of a message the business sent through the API: a reply when it was sent (or delivered,
    or read), not when it failed."""
    try:
        receipt = Status.model_validate(raw)
    except ValidationError as exc:
        return Skipped("unreadable", validation_reason(exc, "status."))
    if receipt.status not in REPLY_STATUSES:
        return Skipped("status")
    if receipt.recipient_type == "group":
        return Skipped("group")
    reply = _reply(receipt.recipient_id, receipt.recipient_user_id, receipt.timestamp, contacts, business, region, now)
    return reply or Skipped("unreadable", f"status of {receipt.id}: no recipient_id nor recipient_user_id")


def _reply(
    phone_id: str | None,
    user_id: str | None,
    timestamp: str | None,
    contacts: list[Contact],
    business: str,
    region: str,
    now: datetime,
) -> BusinessReply | None:
    """The business's reply to the customer named by phone digits and/or BSUID, named as their own
    messages name them (phone first, else the BSUID; the BSUID as the alias); None when neither is given."""
    contact = _recipient_of(phone_id, user_id, contacts)
    phone_id = phone_id or (contact.wa_id if contact else None)
    user_id = user_id or (contact.user_id if contact else None)
    recipient, phone = whatsapp_contact(phone_id, region) if phone_id else ("", None)
    contact_id = phone or user_id or recipient
    if not contact_id:
        return None
    return BusinessReply(
        provider=PROVIDER,
        business_number=business,
        contact_id=contact_id,
        contact_alias=user_id or None,
        sent_at=received_at(timestamp, now),
    )


def _recipient_of(phone_id: str | None, user_id: str | None, contacts: list[Contact]) -> Contact | None:
    """The `contacts[]` entry of a reply's recipient (status webhooks carry one with wa_id and user_id)."""
    digits = "".join(c for c in phone_id or "" if c.isdigit())
    for contact in contacts:
        if (digits and contact.wa_id == digits) or (user_id and contact.user_id == user_id):
            return contact
    if len(contacts) != 1:
        return None
    [only] = contacts
    someone_else = (only.wa_id and digits and only.wa_id != digits) or (
        only.user_id and user_id and only.user_id != user_id
    )
    return None if someone_else else only


def _contact_of(message: Message, contacts: list[Contact]) -> Contact | None:
    """The `contacts[]` entry of this message's sender: by phone or BSUID, else the only entry that
    names nobody else."""
    for contact in contacts:
        if (message.sender and contact.wa_id == message.sender) or (
            message.from_user_id and contact.user_id == message.from_user_id
        ):
            return contact
    if len(contacts) != 1:
        return None
    [only] = contacts
    someone_else = (only.wa_id and message.sender) or (only.user_id and message.from_user_id)
    return None if someone_else else only


async def verify(request: web.Request) -> web.Response:
    """Meta's handshake when the callback URL is saved: echo hub.challenge if the token is ours."""
    token = request.app[SETTINGS].meta_verify_token
    if token is None:
        request.app[INSTALL].refused(PROVIDER, "verify")  # /status tells the owner why and what to set
        return error(403, "verification is off: set CHATTRACK_META_VERIFY_TOKEN")
    query = request.query
    given = query.get("hub.verify_token", "")
    if query.get("hub.mode") != "subscribe" or not hmac.compare_digest(
        given.encode(), token.get_secret_value().encode()
    ):
        log.warning("meta: verification refused from %s", request.remote)
        request.app[INSTALL].refused(PROVIDER, "verify")
        return error(403, "hub.mode must be subscribe and hub.verify_token must match")
    return web.Response(text=query.get("hub.challenge", ""), content_type="text/plain")


async def receive(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    if settings.meta_app_secret is None:
        request.app[INSTALL].refused(PROVIDER, "unset")
        return error(403, "signature cannot be checked: set CHATTRACK_META_APP_SECRET")
    if request.content_type != "application/json":
        return error(415, "expected application/json, as Meta posts")
    body = await request.read()
    header = request.headers.get("X-Hub-Signature-256", "")
    if not header or not signature_matches(settings.meta_app_secret.get_secret_value(), body, header):
        log.warning("meta: bad signature from %s", request.remote)
        request.app[INSTALL].refused(PROVIDER, "signature")
        return error(403, "invalid X-Hub-Signature-256")
    try:
        delivery = Delivery.model_validate_json(body)
    except ValidationError as exc:
        return error(400, validation_reason(exc, "not a WhatsApp Cloud API delivery: "))
    if delivery.object != "whatsapp_business_account":
        return web.json_response({"ignored": f"object {delivery.object}"})
    tracker = request.app[TRACKER]
    tally = Tally()
    for reading in read_delivery(delivery, settings.default_region):  # in order: a chat's first message opens it
        await take(reading, tracker, tally)
    if tally.new_dialogs:
        notify_new_dialog(request.app)
    return web.json_response(
        {
            "messages": tally.stored,
            "new_dialogs": tally.new_dialogs,
            "updated": tally.updated,
            "replies": tally.replies,
            "skipped": tally.skipped,
        }
    )


@dataclass
class Tally:
    stored: int = 0  # customers' messages stored now or before (a retry)
    new_dialogs: int = 0
    updated: int = 0  # messages edited or marked deleted
    replies: int = 0  # the business's replies (echoes, statuses) taken, whether or not a dialog was waiting
    skipped: int = 0  # stored nowhere: events, failed statuses, unreadable messages, edits of messages never stored


async def take(reading: Reading, tracker: Tracker, tally: Tally) -> None:
    """Store, edit or mark deleted what one message of a delivery says, record a reply; count the rest."""
    if isinstance(reading, BusinessReply):
        await tracker.record_reply(reading)  # a reply with no dialog before it answers nothing
        tally.replies += 1
        return
    if isinstance(reading, Skipped):
        tally.skipped += 1
        tracker.skipped(PROVIDER, reading.kind)
        if reading.kind == "unreadable":
            rare.warn("unreadable", f"meta: unreadable message skipped: {reading.why}")
        return
    if isinstance(reading, Revision):
        if reading.text is None:
            changed = await tracker.delete_message(PROVIDER, reading.original_id, reading.at)
        else:
            changed = await tracker.edit_message(PROVIDER, reading.original_id, reading.text, reading.at)
        tally.updated += changed
        if not changed:  # of a message never stored (sent before tracking began, or erased)
            tally.skipped += 1
            tracker.skipped(PROVIDER, "deletion" if reading.text is None else "edit")
        return
    result = await tracker.ingest(reading)  # stored before we answer
    tally.stored += result.outcome is not IngestOutcome.ERASED
    tally.new_dialogs += result.outcome is IngestOutcome.NEW_DIALOG


def setup(app: web.Application) -> None:
    app.router.add_get(PATH, verify)
    app.router.add_post(PATH, receive)
