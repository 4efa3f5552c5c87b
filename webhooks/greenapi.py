"""POST /webhooks/greenapi: WhatsApp messages as Green-API (green-api.com) posts them.

Green-API runs a WhatsApp account (a phone with WhatsApp or WhatsApp Business, linked by QR code) and
posts one JSON notification per event. `typeWebhook = incomingMessageReceived` is a customer writing.
The business's own messages (`outgoingMessageReceived` from the phone or app, `outgoingAPIMessageReceived`
through the API) and the sent / delivered / read statuses of them (`outgoingMessageStatus`) are its replies:
the first one answers the customer's dialog (Tracker.record_reply keeps the earliest, so the statuses of a
message already reported change nothing). Every other type (stateInstanceChanged, incomingCall…) is
acknowledged, counted and ignored. What opens or joins a dialog is decided by inclusion: the `typeMessage`
values Green-API's incoming-message pages list as what a customer sends (CONTENT_TYPES). Edits and
deletions change a message already stored; reactions, poll votes, unknown types and the rest are counted
and stored nowhere. It retries every minute for 24 hours until it gets a 200, so a repeated `idMessage`
changes nothing. With the instance setting `webhookUrlToken` it sends `Authorization: Bearer <token>`: we
refuse anything else.
"""

from __future__ import annotations

import hmac
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from tracking.models import BusinessReply, InboundMessage, IngestOutcome, Messenger
from tracking.periods import sent_at, unix_moment, utc_now
from tracking.phones import whatsapp_contact, whatsapp_number
from webhooks.app import SETTINGS, TRACKER, error, notify_new_dialog, validation_reason
from webhooks.health import INSTALL
from webhooks.referral import AdReferral, ad_attribution

log = logging.getLogger("chattrack.greenapi")

PATH = "/webhooks/greenapi"
PROVIDER = "greenapi"
KEPT = timedelta(days=2)  # a sending time older than this is taken as now (Green-API retries for 24 hours)
INCOMING = "incomingMessageReceived"
# What a customer says, by Green-API's incoming-message pages: a text (with a link preview or an ad's fields,
# or quoting a message), media with or without a caption, a sticker, a place, contact cards, a poll they
# started, and the button, template button, interactive reply button or list row they chose (documented as
# both templateButtonsReplyMessage and, in its example, templateButtonReplyMessage; a tap on the reply buttons
# of sendInteractiveButtonsReply arrives as interactiveButtonsResponse).
CONTENT_TYPES = frozenset(
    {
        "textMessage",
        "extendedTextMessage",
        "quotedMessage",
        "imageMessage",
        "videoMessage",
        "documentMessage",
        "audioMessage",
        "stickerMessage",
        "locationMessage",
        "contactMessage",
        "contactsArrayMessage",
        "pollMessage",
        "buttonsResponseMessage",
        "templateButtonsReplyMessage",
        "templateButtonReplyMessage",
        "interactiveButtonsResponse",
        "listResponseMessage",
    }
)
# Documented types that are not what a customer says (counted as `not_content`): reactions, votes in a poll,
# group invitations, and the button, list and template messages only business tools send. Any other type is
# one Green-API added later: counted as `other` until someone looks at it.
NOT_CONTENT_TYPES = frozenset(
    {
        "reactionMessage",
        "pollUpdateMessage",
        "groupInviteMessage",
        "buttonsMessage",
        "listMessage",
        "templateMessage",
        "interactiveButtons",
        "interactiveButtonsReply",
    }
)
EDITED, DELETED = "editedMessage", "deletedMessage"  # change a message already stored (`stanzaId`)
# The business's own messages (senderData.chatId is the customer) and the receipts of them.
OUTGOING = frozenset({"outgoingMessageReceived", "outgoingAPIMessageReceived"})
STATUS = "outgoingMessageStatus"
# A status that says the message left the phone; failed, noAccount, notInGroup, yellowCard, noActiveSession…
# say it did not, and answer nothing.
REPLY_STATUSES = frozenset({"sent", "delivered", "read"})
# The business's messages that are no reply: a change of one sent before (that one answered), a reaction,
# a vote in a poll.
NOT_REPLY_TYPES = frozenset({EDITED, DELETED, "reactionMessage", "pollUpdateMessage"})


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore")


class InstanceData(_Lenient):
    wid: str  # the business's own account: "79001234567@c.us"
    typeInstance: str = "whatsapp"


class SenderData(_Lenient):
    chatId: str
    sender: str | None = None
    senderName: str | None = None
    senderContactName: str | None = None


class TextData(_Lenient):
    textMessage: str = ""


class ExtendedTextData(_Lenient):
    """Text with a link preview, a quote, or a Click-to-WhatsApp ad (then the source* fields are set)."""

    text: str = ""
    title: str | None = None
    sourceId: str | None = None
    sourceType: str | None = None
    sourceUrl: str | None = None

    def referral(self) -> AdReferral | None:
        if not (self.sourceId or self.sourceUrl):
            return None  # an ordinary link preview also has a title
        return AdReferral(
            source_url=self.sourceUrl, source_id=self.sourceId, source_type=self.sourceType, headline=self.title
        )


class FileData(_Lenient):
    caption: str | None = None


class ButtonsResponse(_Lenient):
    selectedButtonText: str | None = None


class TemplateButtonReply(_Lenient):
    selectedDisplayText: str | None = None


class InteractiveButtonsResponse(_Lenient):
    """The reply button a customer tapped: `selectedDisplayText` in Green-API's reference; integrations have also
    seen the `selectedButtonText` of simple buttons in its place."""

    selectedDisplayText: str | None = None
    selectedButtonText: str | None = None


class ListResponse(_Lenient):
    title: str | None = None


class LocationData(_Lenient):
    nameLocation: str | None = None
    address: str | None = None


class PollData(_Lenient):
    name: str | None = None  # the question the customer asks


class EditedData(_Lenient):
    textMessage: str = ""  # the new text
    stanzaId: str = Field(min_length=1, max_length=256)  # the idMessage of the message edited


class DeletedData(_Lenient):
    stanzaId: str = Field(min_length=1, max_length=256)  # the idMessage of the message deleted


class MessageData(_Lenient):
    typeMessage: str
    editedMessageData: EditedData | None = None
    deletedMessageData: DeletedData | None = None
    textMessageData: TextData | None = None
    extendedTextMessageData: ExtendedTextData | None = None
    fileMessageData: FileData | None = None
    buttonsResponseMessage: ButtonsResponse | None = None
    templateButtonReplyMessage: TemplateButtonReply | None = None
    interactiveButtonsResponse: InteractiveButtonsResponse | None = None
    listResponseMessage: ListResponse | None = None
    locationMessageData: LocationData | None = None
    pollMessageData: PollData | None = None

    def readable_text(self) -> str:
        """What the customer wrote: the text (a quote's own text), a file's caption, the button or list item
        chosen, a place's name and address, a poll's question; "" for what has none (media without a caption,
        a sticker, contact cards: a third person's name is no text of the customer's)."""
        if self.textMessageData is not None:
            return self.textMessageData.textMessage
        if self.extendedTextMessageData is not None:
            return self.extendedTextMessageData.text
        for chosen in (
            self.fileMessageData and self.fileMessageData.caption,
            self.buttonsResponseMessage and self.buttonsResponseMessage.selectedButtonText,
            self.templateButtonReplyMessage and self.templateButtonReplyMessage.selectedDisplayText,
            self.interactiveButtonsResponse
            and (
                self.interactiveButtonsResponse.selectedDisplayText
                or self.interactiveButtonsResponse.selectedButtonText
            ),
            self.listResponseMessage and self.listResponseMessage.title,
            self.pollMessageData and self.pollMessageData.name,
        ):
            if chosen:
                return chosen
        if self.locationMessageData is not None:
            place = self.locationMessageData
            return ", ".join(part for part in (place.nameLocation, place.address) if part)
        return ""


class Notification(_Lenient):
    typeWebhook: str


class IncomingMessage(Notification):
    """A message notification: a customer's (incoming), or the business's own (outgoing; then
    senderData.chatId is the customer and senderData.sender the business)."""

    instanceData: InstanceData
    timestamp: int | None = None
    idMessage: str = Field(min_length=1, max_length=256)
    senderData: SenderData
    messageData: MessageData


class OutgoingStatus(Notification):
    """outgoingMessageStatus: what became of a message the business sent (from the phone or the API)."""

    instanceData: InstanceData
    timestamp: int | None = None
    idMessage: str = Field(min_length=1, max_length=256)
    chatId: str = Field(min_length=1, max_length=256)  # the customer's chat
    status: str = Field(max_length=64)


def token_matches(expected: str, header: str) -> bool:
    """`Authorization: Bearer <token>`; the scheme word is not checked, as Green-API's own integration
    library does not check it either."""
    _, _, given = header.strip().rpartition(" ")
    return bool(given) and hmac.compare_digest(given.encode(), expected.encode())


@dataclass(frozen=True)
class Skipped:
    """A notification that is not a customer's message to track (acknowledged, not stored). `kind` is a
    fixed word (a metrics label); `reason` may name what Green-API sent."""

    kind: str
    reason: str


@dataclass(frozen=True)
class Change:
    """A customer's edit (`text`) or deletion (`text` None) of a message already stored."""

    message_id: str
    text: str | None
    at: datetime


def _sent_at(timestamp: int | None, now: datetime) -> datetime:
    """When the customer sent it (Green-API retries for 24 hours)."""
    return sent_at(unix_moment(timestamp), now, KEPT)


def to_message(notification: IncomingMessage, region: str, now: datetime) -> InboundMessage | Change | Skipped | str:
    """The customer's message or change of one, or why it is skipped, or (a string) why the notification
    is malformed."""
    sender = notification.senderData
    data = notification.messageData
    kind = data.typeMessage
    if notification.instanceData.typeInstance != "whatsapp":  # only WhatsApp is tracked here
        return Skipped("instance", f"{notification.instanceData.typeInstance} instance")
    if sender.chatId.endswith("@g.us"):
        return Skipped("group", "group chat")  # a group is not a lead
    if kind == EDITED:
        if data.editedMessageData is None:
            return "messageData.editedMessageData is missing"
        edited = data.editedMessageData
        return Change(edited.stanzaId, edited.textMessage, _sent_at(notification.timestamp, now))
    if kind == DELETED:
        if data.deletedMessageData is None:
            return "messageData.deletedMessageData is missing"
        return Change(data.deletedMessageData.stanzaId, None, _sent_at(notification.timestamp, now))
    if kind not in CONTENT_TYPES:
        if kind in NOT_CONTENT_TYPES:
            return Skipped("not_content", kind)
        log.debug("greenapi: message type %r is not one Green-API documents: not read", kind[:64])
        return Skipped("other", kind[:64])
    # A wid libphonenumber does not know is kept as its digits: refusing it would mean 24 hours of retries.
    business = whatsapp_number(notification.instanceData.wid, region)
    if business is None:
        return "instanceData.wid is not a phone number"
    contact_id, phone = whatsapp_contact(sender.sender or sender.chatId, region)
    if not contact_id:
        return "senderData names nobody"
    extended = notification.messageData.extendedTextMessageData
    return InboundMessage(
        provider=PROVIDER,
        message_id=notification.idMessage,
        messenger=Messenger.WHATSAPP,
        business_number=business,
        contact_id=contact_id,
        contact_phone=phone,
        contact_name=sender.senderName or sender.senderContactName or None,
        text=notification.messageData.readable_text(),
        received_at=_sent_at(notification.timestamp, now),
        ad_referral=ad_attribution(extended.referral() if extended else None),
    )


def to_reply(
    notification: IncomingMessage | OutgoingStatus, region: str, now: datetime
) -> BusinessReply | Skipped | str:
    """The business's reply (a message it sent, or a status saying one left), or why the notification is
    none, or (a string) why it is malformed. The customer is named as their own messages name them."""
    if notification.instanceData.typeInstance != "whatsapp":
        return Skipped("instance", f"{notification.instanceData.typeInstance} instance")
    if isinstance(notification, OutgoingStatus):
        chat, kind = notification.chatId, notification.status
        if kind not in REPLY_STATUSES:
            return Skipped("status", f"status {kind[:64]}")
    else:
        chat, kind = notification.senderData.chatId, notification.messageData.typeMessage
        if kind in NOT_REPLY_TYPES:
            return Skipped("not_content", kind)
    if chat.endswith("@g.us"):
        return Skipped("group", "group chat")
    business = whatsapp_number(notification.instanceData.wid, region)
    if business is None:
        return "instanceData.wid is not a phone number"
    contact_id, _ = whatsapp_contact(chat, region)
    if not contact_id:
        return "chatId names nobody"
    return BusinessReply(
        provider=PROVIDER,
        business_number=business,
        contact_id=contact_id,
        sent_at=_sent_at(notification.timestamp, now),
    )


async def take_reply(request: web.Request, body: bytes, kind: str) -> web.Response:
    """An outgoing message or status: the first reply answers the customer's dialog; a reply with no dialog
    before it (the business writing first) answers nothing. `{"answered": <dialog id> | null}`."""
    model = OutgoingStatus if kind == STATUS else IncomingMessage
    try:
        notification = model.model_validate_json(body)
    except ValidationError as exc:
        return error(400, validation_reason(exc, f"not a Green-API {kind} notification: "))
    reply = to_reply(notification, request.app[SETTINGS].default_region, utc_now())
    tracker = request.app[TRACKER]
    if isinstance(reply, Skipped):
        tracker.skipped(PROVIDER, reply.kind)
        return web.json_response({"ignored": reply.reason})
    if isinstance(reply, str):
        return error(400, reply)
    dialog = await tracker.record_reply(reply)  # stored before we answer
    return web.json_response({"answered": dialog.id if dialog is not None else None})


async def receive(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    if settings.greenapi_webhook_token is None:
        request.app[INSTALL].refused(PROVIDER, "unset")  # /status tells the owner why and what to set
        return error(403, "requests cannot be checked: set CHATTRACK_GREENAPI_WEBHOOK_TOKEN")
    header = request.headers.get("Authorization", "")
    if not token_matches(settings.greenapi_webhook_token.get_secret_value(), header):
        log.warning("greenapi: bad Authorization from %s", request.remote)
        request.app[INSTALL].refused(PROVIDER, "key")
        return error(403, "invalid Authorization: expected Bearer <webhookUrlToken>")
    if request.content_type != "application/json":
        return error(415, "expected application/json, as Green-API posts")
    body = await request.read()
    try:
        kind = Notification.model_validate_json(body).typeWebhook
    except ValidationError as exc:
        return error(400, validation_reason(exc, "not a Green-API notification: "))
    if kind in OUTGOING or kind == STATUS:  # the business's replies
        return await take_reply(request, body, kind)
    if kind != INCOMING:  # instance state, calls, quotas
        request.app[TRACKER].skipped(PROVIDER, "not_incoming")
        return web.json_response({"ignored": kind})
    try:
        notification = IncomingMessage.model_validate_json(body)
    except ValidationError as exc:
        return error(400, validation_reason(exc, "not a Green-API notification: "))
    message = to_message(notification, settings.default_region, utc_now())
    tracker = request.app[TRACKER]
    if isinstance(message, Skipped):
        tracker.skipped(PROVIDER, message.kind)
        return web.json_response({"ignored": message.reason})
    if isinstance(message, str):
        return error(400, message)
    if isinstance(message, Change):  # opens no dialog; a change of a message never stored changes nothing
        if message.text is None:
            return web.json_response(
                {"deleted": await tracker.delete_message(PROVIDER, message.message_id, message.at)}
            )
        changed = await tracker.edit_message(PROVIDER, message.message_id, message.text, message.at)
        return web.json_response({"edited": changed})
    result = await tracker.ingest(message)  # stored before we answer
    if result.outcome is IngestOutcome.NEW_DIALOG:
        notify_new_dialog(request.app)
    if result.outcome in (IngestOutcome.ERASED, IngestOutcome.UNTRACKED):  # stored nowhere: no dialog to name
        return web.json_response({"outcome": result.outcome.value})
    return web.json_response({"outcome": result.outcome.value, "dialog": result.dialog.id})


def setup(app: web.Application) -> None:
    app.router.add_post(PATH, receive)
