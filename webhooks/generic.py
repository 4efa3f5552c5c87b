"""POST /webhooks/generic: one message from any platform, in our own small JSON schema.

For platforms without an adapter (Wazzup, Chat2Desk, an n8n/Make scenario, your own CRM): map the
platform's event to `GenericMessage` and sign the raw body with the shared secret
(`CHATTRACK_GENERIC_WEBHOOK_SECRET`):

    X-Chattrack-Signature: sha256=<hex HMAC-SHA256(secret, body)>

Optionally, against replays of a captured request, also send the Unix time and sign it with the body:

    X-Chattrack-Timestamp: 1764000000
    X-Chattrack-Signature: sha256=<hex HMAC-SHA256(secret, "1764000000." + body)>

A timestamp more than 5 minutes away from our clock is refused. Retries with the same `message_id`
are safe: the message is stored once.

`"direction": "outgoing"` posts a message the business sent to the customer instead (the same fields,
`author_name` for who wrote it): the first one answers the customer's dialog (first response time).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from datetime import UTC, datetime
from typing import Annotated, Literal

from aiohttp import web
from pydantic import BaseModel, ConfigDict, StringConstraints, ValidationError, model_validator

from tracking.models import BusinessReply, InboundMessage, IngestOutcome, Messenger
from tracking.periods import utc_now
from tracking.phones import normalise_phone, whatsapp_contact
from webhooks.app import SETTINGS, TRACKER, error, notify_new_dialog, validation_reason
from webhooks.health import INSTALL
from webhooks.referral import AdReferral, ad_attribution

log = logging.getLogger("chattrack.generic")

PATH = "/webhooks/generic"
SIGNATURE = "X-Chattrack-Signature"
TIMESTAMP = "X-Chattrack-Timestamp"
MAX_CLOCK_SKEW = 300  # seconds a signed timestamp may be away from our clock

Short = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=256)]
Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,31}$")]


class GenericMessage(BaseModel):
    """A customer's message, posted as JSON to /webhooks/generic.

    Example: {"message_id": "wz-8812", "business_number": "+7 999 123-45-67",
    "contact_phone": "79161234567", "contact_name": "Анна", "text": "Здравствуйте! код 7KQ2-M",
    "timestamp": "2026-11-27T10:15:00Z", "platform": "wazzup"}
    """

    model_config = ConfigDict(extra="ignore", str_max_length=8192)

    message_id: Short  # the platform's id of the message; a retry sends the same one
    business_number: Short  # the number the customer wrote to (any format), or @username for Telegram
    messenger: Messenger = Messenger.WHATSAPP
    contact_phone: Short | None = None  # the customer's number, any format; best for repeat detection
    contact_id: Short | None = None  # the platform's id of the customer when it has no phone
    contact_name: Short | None = None
    text: str = ""
    timestamp: datetime | None = None  # ISO 8601 or Unix seconds; default: when we receive it
    platform: Slug | None = None  # e.g. "wazzup": message ids are unique per platform
    referral: AdReferral | None = None  # a Click-to-WhatsApp ad, in Meta's field names
    # "outgoing": a message the business sent to this customer (its reply), not the customer's own.
    direction: Literal["incoming", "outgoing"] = "incoming"
    author_name: Short | None = None  # of an outgoing message: the team member who wrote it

    @model_validator(mode="after")
    def _someone_wrote(self) -> GenericMessage:
        if not (self.contact_phone or self.contact_id):
            raise ValueError("contact_phone or contact_id is required")
        return self

    @property
    def provider(self) -> str:
        return f"generic:{self.platform}" if self.platform else "generic"


def signature_matches(secret: str, body: bytes, header: str, timestamp: str | None) -> bool:
    scheme, _, given = header.partition("=")
    if scheme != "sha256" or not given:
        return False
    signed = f"{timestamp}.".encode() + body if timestamp is not None else body
    expected = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, given.strip().lower())


def timestamp_is_fresh(timestamp: str, now: float) -> bool:
    try:
        return abs(now - int(timestamp)) <= MAX_CLOCK_SKEW
    except ValueError:
        return False


def _contact(posted: GenericMessage, region: str) -> tuple[str, str | None] | str:
    """(contact id, phone), or why the message names nobody. A WhatsApp id as platforms pass it on
    ('79161234567@c.us', 'whatsapp:+7916…', '5215512345678') is read as the phone it names
    (tracking.phones.whatsapp_contact), so the customer is one contact whichever way they arrived."""
    if posted.messenger is Messenger.WHATSAPP:
        given = [whatsapp_contact(raw, region) for raw in (posted.contact_phone, posted.contact_id) if raw]
        known = [found for found in given if found[1] is not None]
        if known:
            return known[0]
        if posted.contact_id and given[-1][0]:
            return given[-1]
        return "contact_id names nobody" if posted.contact_id else "contact_phone is not a phone number"
    phone = normalise_phone(posted.contact_phone, region) if posted.contact_phone else None
    if posted.contact_phone and phone is None and not posted.contact_id:
        return "contact_phone is not a phone number"
    return phone or posted.contact_id or "", phone


def _parties(posted: GenericMessage, region: str) -> tuple[str, str, str | None] | str:
    """(business number, contact id, contact phone), or why the message names no business or nobody."""
    if posted.messenger is Messenger.TELEGRAM:
        business: str | None = "@" + posted.business_number.lstrip("@").lower()
    else:
        business = normalise_phone(posted.business_number, region)
    if business is None:
        return "business_number is not a phone number"
    contact = _contact(posted, region)
    return contact if isinstance(contact, str) else (business, *contact)


def _sent_at(posted: GenericMessage, now: datetime) -> datetime:
    """When it was written: a time without a zone is taken as UTC, as documented; never in the future."""
    sent = posted.timestamp
    if sent is not None and sent.tzinfo is None:
        sent = sent.replace(tzinfo=UTC)
    return min(sent, now) if sent is not None else now


def to_reply(posted: GenericMessage, region: str, now: datetime) -> BusinessReply | str:
    """An outgoing message: the business's reply to the customer it names, or why it names nobody."""
    parties = _parties(posted, region)
    if isinstance(parties, str):
        return parties
    business, contact_id, _ = parties
    return BusinessReply(
        provider=posted.provider,  # as the customer's own messages from this platform name it
        business_number=business,
        contact_id=contact_id,
        sent_at=_sent_at(posted, now),
        by=posted.author_name,
    )


def to_message(posted: GenericMessage, region: str, now: datetime) -> InboundMessage | str:
    """The message in our model, or the reason it is not one."""
    parties = _parties(posted, region)
    if isinstance(parties, str):
        return parties
    business, contact_id, phone = parties
    return InboundMessage(
        provider=posted.provider,
        message_id=posted.message_id,
        messenger=posted.messenger,
        business_number=business,
        contact_id=contact_id,
        contact_phone=phone,
        contact_name=posted.contact_name,
        text=posted.text,
        received_at=_sent_at(posted, now),
        ad_referral=ad_attribution(posted.referral),
    )


async def receive(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    if settings.generic_webhook_secret is None:
        request.app[INSTALL].refused("generic", "unset")  # /status tells the owner why and what to set
        return error(403, "signatures cannot be checked: set CHATTRACK_GENERIC_WEBHOOK_SECRET")
    if request.content_type != "application/json":
        return error(415, "expected application/json")
    body = await request.read()
    timestamp = request.headers.get(TIMESTAMP)
    header = request.headers.get(SIGNATURE, "")
    if not header or not signature_matches(settings.generic_webhook_secret.get_secret_value(), body, header, timestamp):
        log.warning("generic: bad signature from %s", request.remote)
        request.app[INSTALL].refused("generic", "signature")
        return error(403, f"invalid {SIGNATURE}: expected sha256=<hex HMAC-SHA256 of the body>")
    if timestamp is not None and not timestamp_is_fresh(timestamp, time.time()):
        request.app[INSTALL].refused("generic", "stale")
        return error(403, f"{TIMESTAMP} is more than {MAX_CLOCK_SKEW} s away from our clock")
    try:
        posted = GenericMessage.model_validate_json(body)
    except ValidationError as exc:
        return error(400, validation_reason(exc))
    if posted.direction == "outgoing":
        reply = to_reply(posted, settings.default_region, utc_now())
        if isinstance(reply, str):
            return error(400, reply)
        answered = await request.app[TRACKER].record_reply(reply)  # stored before we answer
        return web.json_response({"outcome": "reply", "dialog": answered.id if answered is not None else None})
    message = to_message(posted, settings.default_region, utc_now())
    if isinstance(message, str):
        return error(400, message)
    result = await request.app[TRACKER].ingest(message)  # stored before we answer
    if result.outcome is IngestOutcome.NEW_DIALOG:
        notify_new_dialog(request.app)
    if result.outcome in (IngestOutcome.ERASED, IngestOutcome.UNTRACKED):  # stored nowhere: no dialog to name
        return web.json_response({"outcome": result.outcome.value})
    dialog = result.dialog
    return web.json_response(
        {"outcome": result.outcome.value, "dialog": dialog.id, "status": dialog.status.value, "code": dialog.code}
    )


def setup(app: web.Application) -> None:
    app.router.add_post(PATH, receive)
