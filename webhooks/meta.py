"""/webhooks/meta: WhatsApp messages as Meta's WhatsApp Cloud API delivers them.

GET is Meta's verification handshake; POST carries `entry[].changes[].value` objects, each with
`messages[]` (customers writing to the business) and/or `statuses[]` (receipts of what the business
sent, acknowledged and ignored). One delivery may batch several entries, changes and messages; every
message is stored, in order, before we answer 200. Meta delivers at least once and retries for days
on anything else, so a repeated message id (wamid) changes nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
from datetime import UTC, datetime, timedelta

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from tracking.models import InboundMessage, IngestOutcome, Messenger
from tracking.periods import utc_now
from tracking.phones import normalise_phone, whatsapp_contact
from webhooks.app import SETTINGS, TRACKER, error, notify_new_dialog, validation_reason
from webhooks.referral import AdReferral, ad_attribution

log = logging.getLogger("chattrack.meta")

PATH = "/webhooks/meta"
PROVIDER = "meta"
# Not a customer writing: number/BSUID changes, "chat opened" events, reactions to our own messages.
IGNORED_TYPES = frozenset({"system", "request_welcome", "reaction"})
_DIGITS = re.compile(r"\d{6,15}")


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


class Media(_Lenient):
    caption: str | None = None


class Button(_Lenient):
    text: str | None = None


class Reply(_Lenient):
    title: str | None = None


class Interactive(_Lenient):
    button_reply: Reply | None = None
    list_reply: Reply | None = None


class Message(_Lenient):
    id: str = Field(min_length=1, max_length=256)
    sender: str | None = Field(None, alias="from")
    from_user_id: str | None = None
    timestamp: str | None = None
    type: str = "text"
    group_id: str | None = None
    text: Text | None = None
    image: Media | None = None
    video: Media | None = None
    document: Media | None = None
    button: Button | None = None
    interactive: Interactive | None = None
    referral: AdReferral | None = None

    def readable_text(self) -> str:
        """What the customer wrote, whatever the message type: text, a caption, the button tapped."""
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
        return ""


class Metadata(_Lenient):
    display_phone_number: str
    phone_number_id: str | None = None


class Value(_Lenient):
    metadata: Metadata | None = None
    contacts: list[Contact] = Field(default_factory=list)
    messages: list[Message] = Field(default_factory=list)
    statuses: list[dict[str, object]] = Field(default_factory=list)


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


def business_number(metadata: Metadata, region: str) -> str | None:
    """E.164 of the business's number. Meta's test numbers (+1 555…) are not valid numbers to
    libphonenumber, yet they are the number the customer wrote to, so bare digits are kept as they are."""
    raw = metadata.display_phone_number
    number = normalise_phone(raw, region)
    if number is None:
        digits = re.sub(r"[^\d]", "", raw)
        number = "+" + digits if _DIGITS.fullmatch(digits) else None
    return number


def received_at(timestamp: str | None, now: datetime) -> datetime:
    """When the customer sent it (a retry days later must not move the dialog), never in the future."""
    try:
        moment = datetime.fromtimestamp(int(timestamp or ""), UTC)
    except (ValueError, OverflowError, OSError):
        return now
    return min(moment, now) if moment > now - timedelta(days=30) else now


def to_messages(delivery: Delivery, region: str) -> list[InboundMessage] | str:
    """Every customer message in a delivery, in order, or the reason the delivery is not well formed."""
    now = utc_now()
    found: list[InboundMessage] = []
    for entry in delivery.entry:
        for change in entry.changes:
            value = change.value
            if not value.messages:
                continue  # statuses, and fields we do not use
            if value.metadata is None:
                return "value.metadata is missing"
            business = business_number(value.metadata, region)
            if business is None:
                return "metadata.display_phone_number is not a phone number"
            for message in value.messages:
                if message.type in IGNORED_TYPES or message.group_id:
                    continue  # group chats are not leads
                inbound = _inbound(message, value.contacts, business, region, now)
                if isinstance(inbound, str):
                    return f"message {message.id}: {inbound}"
                found.append(inbound)
    return found


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
        contact_name=(contact.profile.name or None) if contact and contact.profile else None,
        text=message.readable_text(),
        received_at=received_at(message.timestamp, now),
        ad_referral=ad_attribution(message.referral),
    )


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
        return error(403, "verification is off: set CHATTRACK_META_VERIFY_TOKEN")
    query = request.query
    given = query.get("hub.verify_token", "")
    if query.get("hub.mode") != "subscribe" or not hmac.compare_digest(
        given.encode(), token.get_secret_value().encode()
    ):
        log.warning("meta: verification refused from %s", request.remote)
        return error(403, "hub.mode must be subscribe and hub.verify_token must match")
    return web.Response(text=query.get("hub.challenge", ""), content_type="text/plain")


async def receive(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    if settings.meta_app_secret is None:
        return error(403, "signature cannot be checked: set CHATTRACK_META_APP_SECRET")
    if request.content_type != "application/json":
        return error(415, "expected application/json, as Meta posts")
    body = await request.read()
    header = request.headers.get("X-Hub-Signature-256", "")
    if not header or not signature_matches(settings.meta_app_secret.get_secret_value(), body, header):
        log.warning("meta: bad signature from %s", request.remote)
        return error(403, "invalid X-Hub-Signature-256")
    try:
        delivery = Delivery.model_validate_json(body)
    except ValidationError as exc:
        return error(400, validation_reason(exc, "not a WhatsApp Cloud API delivery: "))
    if delivery.object != "whatsapp_business_account":
        return web.json_response({"ignored": f"object {delivery.object}"})
    messages = to_messages(delivery, settings.default_region)
    if isinstance(messages, str):
        log.warning("meta: refused delivery: %s", messages)
        return error(400, messages)
    tracker, opened = request.app[TRACKER], 0
    for message in messages:  # in order: the first message of a chat opens its dialog
        result = await tracker.ingest(message)  # stored before we answer
        opened += result.outcome is IngestOutcome.NEW_DIALOG
    if opened:
        notify_new_dialog(request.app)
    return web.json_response({"messages": len(messages), "new_dialogs": opened})


def setup(app: web.Application) -> None:
    app.router.add_get(PATH, verify)
    app.router.add_post(PATH, receive)
