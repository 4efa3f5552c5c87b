"""POST /webhooks/twilio: WhatsApp messages as Twilio posts them (form fields, X-Twilio-Signature)."""

from __future__ import annotations

import hmac
import logging

from aiohttp import web
from multidict import MultiDict, MultiDictProxy
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

from tracking.models import BusinessReply, InboundMessage, IngestOutcome, Messenger
from tracking.periods import utc_now
from tracking.phones import normalise_phone, whatsapp_contact
from webhooks.app import SETTINGS, TRACKER, error, notify_new_dialog
from webhooks.health import INSTALL
from webhooks.referral import from_twilio

log = logging.getLogger("chattrack.twilio")

EMPTY_TWIML = str(MessagingResponse())  # an empty body has been seen to raise Twilio error 11200


def public_url(request: web.Request) -> str:
    """The URL Twilio called: behind a proxy the request's own URL is internal, so build it from settings."""
    base = request.app[SETTINGS].public_url
    return (base + request.path_qs) if base else str(request.url)


def signed_by_twilio(validator: RequestValidator, url: str, fields: MultiDict[str], signature: str) -> bool:
    """The validator's verdict, computing one signature where it can: `validate` always computes two (the
    URL with and without its port, since Twilio's own signing is inconsistent about ports)."""
    expected = validator.compute_signature(url, fields)
    if hmac.compare_digest(expected.encode(), signature.encode()):
        return True
    return bool(validator.validate(url, fields, signature))


# An incoming message carries `SmsStatus=received` ("receiving" while its media is fetched); a status
# callback of a message the business sent carries `MessageStatus` (and the same value in `SmsStatus`):
# queued, sent, delivered, read, failed, undelivered… with From and To swapped.
INCOMING_STATUSES = frozenset({"received", "receiving"})


def is_status_callback(form: MultiDictProxy[str]) -> bool:
    """A delivery report of a message the business sent, posted to the same URL (one URL for everything
    is a common set-up): not a customer writing."""
    status = form.get("MessageStatus") or form.get("SmsStatus")
    return bool(status) and str(status).lower() not in INCOMING_STATUSES


# Statuses of a message that left the business: its first report answers the customer's dialog. Failed and
# undelivered ones answer nothing; queued, accepted and sending say only that it has not left yet.
REPLY_STATUSES = frozenset({"sent", "delivered", "read"})


def to_reply(form: MultiDictProxy[str], region: str) -> BusinessReply | str | None:
    """The business's reply a status callback reports (From is the business, To the customer); None for a
    status that is no reply; the reason when the callback names no one. Twilio's callbacks carry no time:
    the report's arrival stands for it (the first report, `sent`, comes within seconds of the send)."""
    status = str(form.get("MessageStatus") or form.get("SmsStatus") or "").lower()
    if status not in REPLY_STATUSES:
        return None
    sender, recipient = form.get("From", ""), form.get("To", "")
    if not sender or not recipient:
        return "From and To are required"
    business = normalise_phone(sender, region)
    contact_id, _ = whatsapp_contact(recipient, region)
    if business is None or not contact_id:
        return "From or To is not a phone number"
    return BusinessReply(provider="twilio", business_number=business, contact_id=contact_id, sent_at=utc_now())


def readable_text(form: MultiDictProxy[str]) -> str:
    """What the customer wrote: `Body` (a caption for media, a button's text); a shared place has an empty Body
    and its `Label` and `Address` fields (Twilio's WhatsApp location parameters), read as Meta's location is."""
    body = form.get("Body", "")
    if body or not form.get("Latitude"):
        return body
    return ", ".join(part for part in (form.get("Label", ""), form.get("Address", "")) if part)


def to_message(form: MultiDictProxy[str], region: str) -> InboundMessage | str:
    """The message in a Twilio form, or the reason it is not one."""
    sid = form.get("MessageSid") or form.get("SmsMessageSid")
    if not sid:
        return "MessageSid is missing"
    sender, recipient = form.get("From", ""), form.get("To", "")
    if not sender or not recipient:
        return "From and To are required"
    business = normalise_phone(recipient, region)
    if business is None:
        return "To is not a phone number"
    contact_id, phone = whatsapp_contact(sender, region)
    wa_id = form.get("WaId")
    if phone is None and wa_id:  # WhatsApp's own id of the sender: digits, no '+'
        by_wa_id = whatsapp_contact(wa_id, region)
        contact_id, phone = by_wa_id if by_wa_id[1] is not None else (contact_id, phone)
    if not contact_id:
        return "From names nobody"
    return InboundMessage(
        provider="twilio",
        message_id=sid,
        messenger=Messenger.WHATSAPP,
        business_number=business,
        contact_id=contact_id,
        contact_phone=phone,
        contact_name=(form.get("ProfileName") or None),
        text=readable_text(form),
        received_at=utc_now(),
        ad_referral=from_twilio(form),  # Click-to-WhatsApp ad (Referral* fields)
    )


async def twilio_webhook(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    if settings.twilio_auth_token is None:
        request.app[INSTALL].refused("twilio", "unset")  # /status tells the owner why and what to set
        return error(403, "signature cannot be checked: set CHATTRACK_TWILIO_AUTH_TOKEN")
    if request.content_type != "application/x-www-form-urlencoded":
        return error(415, "expected application/x-www-form-urlencoded, as Twilio posts")
    form = await request.post()
    signature = request.headers.get("X-Twilio-Signature", "")
    # Validate over every field received (Twilio adds fields without notice), repeated ones included. A
    # MultiDict is what the validator looks for first: a dict costs it two exceptions per field, twice.
    fields = MultiDict((key, value) for key, value in form.items() if isinstance(value, str))
    if not signature or not signed_by_twilio(request.app[VALIDATOR], public_url(request), fields, signature):
        log.warning("twilio: bad signature from %s", request.remote)
        request.app[INSTALL].refused("twilio", "signature")
        return error(403, "invalid X-Twilio-Signature")
    if is_status_callback(form):  # type: ignore[arg-type]
        reply = to_reply(form, settings.default_region)  # type: ignore[arg-type]
        if isinstance(reply, str):
            return error(400, reply)
        if reply is None:
            request.app[TRACKER].skipped("twilio", "status")
        else:
            await request.app[TRACKER].record_reply(reply)
        return web.Response(text=EMPTY_TWIML, content_type="text/xml")
    message = to_message(form, settings.default_region)  # type: ignore[arg-type]
    if isinstance(message, str):
        return error(400, message)
    result = await request.app[TRACKER].ingest(message)  # stored before we answer
    if result.outcome is IngestOutcome.NEW_DIALOG:
        notify_new_dialog(request.app)
    return web.Response(text=EMPTY_TWIML, content_type="text/xml")


VALIDATOR = web.AppKey("twilio_validator", RequestValidator)


def setup(app: web.Application) -> None:
    token = app[SETTINGS].twilio_auth_token
    app[VALIDATOR] = RequestValidator(token.get_secret_value() if token else "")
    app.router.add_post("/webhooks/twilio", twilio_webhook)
