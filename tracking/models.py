"""The domain: visits, inbound messages, dialogs, lead alerts.

Every input crosses one of these models once, at the edge; the core trusts them.
Times are timezone-aware UTC datetimes everywhere inside the core.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, Field

from tracking.strings import bounded, bounded_id, one_line


class Channel(StrEnum):
    """Traffic channel of a visit, after GA4's default channel grouping (plus Yandex click ids)."""

    PAID_SEARCH = "paid_search"
    ORGANIC_SEARCH = "organic_search"
    PAID_SOCIAL = "paid_social"
    ORGANIC_SOCIAL = "organic_social"
    EMAIL = "email"
    REFERRAL = "referral"
    MAPS = "maps"  # maps and directories: Yandex Maps, 2GIS, Google Maps, Zoon, Avito, Profi.ru…
    DISPLAY = "display"
    MESSENGER = "messenger"
    AFFILIATE = "affiliate"
    OTHER_CAMPAIGN = "other_campaign"
    DIRECT = "direct"
    UNATTRIBUTED = "unattributed"


class Attribution(BaseModel):
    """Where a visit (and so a dialog) came from: the fields reports group by."""

    channel: Channel = Channel.UNATTRIBUTED
    source: str | None = None
    medium: str | None = None
    campaign: str | None = None
    content: str | None = None
    term: str | None = None
    gclid: str | None = None
    yclid: str | None = None
    fbclid: str | None = None
    ctwa_clid: str | None = None  # Click-to-WhatsApp ad click id
    referrer: str | None = None
    landing_page: str | None = None
    contact_page: str | None = None
    region: str | None = None
    os: str | None = None
    browser: str | None = None
    device: str | None = None
    screen: str | None = None
    language: str | None = None


class Visit(BaseModel):
    """One visit (a browser session) to the business's site, known by its short code."""

    code: str
    visitor_id: str
    first_seen: datetime
    last_seen: datetime
    attribution: Attribution
    current_page: str | None = None
    pages_seen: int = 1
    timezone: str | None = None
    user_agent: str | None = None
    ip: str | None = None
    ga_client_id: str | None = None
    ym_client_id: str | None = None


@dataclass(slots=True, kw_only=True)
class PageView:
    """What the snippet reports for one page of a visit (already validated at the edge, so a plain
    dataclass: building a pydantic model again cost ~6 µs of every page view; a frozen one's __init__
    ~2.5 µs more than this)."""

    code: str
    visitor_id: str
    url: str
    referrer: str | None = None
    screen: str | None = None
    language: str | None = None
    timezone: str | None = None
    user_agent: str | None = None
    ip: str | None = None
    ga_client_id: str | None = None
    ym_client_id: str | None = None
    region: str | None = None  # set by the Tracker when it resolves regions
    at: datetime


def opened_visit(view: PageView) -> Visit:
    """The visit a first page view opens: what the view tells, not yet attributed. Source, channel and
    device are worked out from it when a message needs them (Tracker.attributed): most visits never
    write, and classifying took ~40 µs of every first page view, a third of the snippet's traffic."""
    return Visit(
        code=view.code,
        visitor_id=view.visitor_id,
        first_seen=view.at,
        last_seen=view.at,
        attribution=Attribution(
            landing_page=view.url,
            referrer=view.referrer,
            screen=view.screen,
            language=view.language,
            region=view.region,
        ),
        current_page=view.url,
        timezone=view.timezone,
        user_agent=view.user_agent,
        ip=view.ip,
        ga_client_id=view.ga_client_id,
        ym_client_id=view.ym_client_id,
    )


class Click(BaseModel):
    """A click on a marked click-to-chat link: the page of contact, and a fallback-matching hint."""

    code: str
    page: str
    target: str  # the business number (E.164) or Telegram username the link opens
    at: datetime
    # The text the link put into the customer's messenger, without the code: what is left when a customer
    # deletes the code (tracking/fallback.py). None when the link carried none (or an older snippet sent it).
    prefill: str | None = None


class Messenger(StrEnum):
    WHATSAPP = "whatsapp"
    TELEGRAM = "telegram"


# A Telegram username without its '@' (Telegram: 5–32 of these; 4 for some old and collectible names).
TELEGRAM_USERNAME = re.compile(r"[A-Za-z0-9_]{4,32}")

# Caps on what providers send: none of them bounds a profile name, and a signed request is still outside
# data. Ids keep telling different ids apart when cut (bounded_id); names and referral fields are one line.
NAME_LIMIT = 256
TEXT_LIMIT = 4096  # WhatsApp's and Telegram's own limit on a message
ID_LIMIT = 256
REFERRAL_LIMIT = 2048  # an ad's URL, headline, body


def _name(value: str | None) -> str | None:
    return one_line(value, NAME_LIMIT) or None


def _referral(value: Attribution | None) -> Attribution | None:
    if value is None:
        return None
    texts = {k: one_line(v, REFERRAL_LIMIT) or None for k, v in value if isinstance(v, str) and k != "channel"}
    return value.model_copy(update=texts)


Id = Annotated[str, AfterValidator(lambda v: bounded_id(v, ID_LIMIT))]
OptionalId = Annotated[str | None, AfterValidator(lambda v: None if v is None else bounded_id(v, ID_LIMIT))]


class InboundMessage(BaseModel):
    """A customer's message as any provider delivers it, after its adapter checked the signature.
    Every string is bounded here, once, whichever provider it came from."""

    provider: str  # "twilio", "meta", ...
    message_id: Id  # the provider's id: retries carry the same one
    messenger: Messenger = Messenger.WHATSAPP
    business_number: Id  # E.164 of the tracked number (or @username for Telegram)
    contact_id: Id  # E.164 phone when known, else the provider's user id
    contact_phone: OptionalId = None
    # The provider's user id of the sender when it has one besides the phone (Meta's BSUID): with the
    # phone, the Tracker links it to the phone's contact; alone (it is then the contact id too), it is
    # resolved to the contact it was linked to, so one person stays one contact when the phone stops coming.
    contact_alias: OptionalId = None
    contact_name: Annotated[str | None, AfterValidator(_name)] = None
    text: Annotated[str, AfterValidator(lambda v: bounded(v, TEXT_LIMIT))] = ""
    received_at: datetime
    start_code: OptionalId = None  # a code carried invisibly (Telegram deep link)
    ad_referral: Annotated[Attribution | None, AfterValidator(_referral)] = None  # Click-to-WhatsApp ad data


class AttributionStatus(StrEnum):
    EXACT = "exact"  # a known code in the message
    UNKNOWN_CODE = "unknown_code"  # a well-formed code we never issued, or one that expired
    AD_REFERRAL = "ad_referral"  # the provider told us the ad (Click-to-WhatsApp)
    PROBABLE = "probable"  # matched to a recent click without a code
    NONE = "none"


class TimeBuckets(BaseModel):
    """Local-time bucket keys of a moment in the business's time zone, stored so stores group cheaply."""

    day: str  # 2026-11-27
    week: str  # ISO week: 2026-W48
    month: str  # 2026-11
    quarter: str  # 2026-Q4


class Sale(BaseModel):
    """One sale a dialog led to: its amount is None until someone names it (tapped «Продажа», not answered yet)."""

    id: str
    amount: Decimal | None = None  # in `currency`, two decimal places at most, >= 0
    currency: str  # ISO 4217, upper case: CHATTRACK_CURRENCY unless the API said otherwise
    at: datetime  # when it was recorded
    by: int | None = None  # the team member's Telegram user id (None: the API)
    by_name: str | None = None


class Dialog(BaseModel):
    """A conversation of one contact with one business number, attributed once, when it opens."""

    id: str
    provider: str
    messenger: Messenger
    business_number: str
    contact_id: str
    contact_phone: str | None = None
    contact_name: str | None = None
    started_at: datetime
    last_message_at: datetime
    is_repeat: bool
    buckets: TimeBuckets
    code: str | None = None
    status: AttributionStatus = AttributionStatus.NONE
    status_reason: str | None = None
    attribution: Attribution = Field(default_factory=Attribution)
    visit: Visit | None = None
    first_message: str = ""
    message_count: int = 1
    tags: list[str] = Field(default_factory=list)
    alert_withheld: bool = False  # opened with no lead alert: the contact opened too many dialogs within an hour
    # The team: who took the lead («Беру»), and the business's first reply when a provider tells us of it.
    taken_by: int | None = None  # the team member's Telegram user id
    taken_by_name: str | None = None
    taken_at: datetime | None = None
    answered_at: datetime | None = None  # the earliest reply the business sent in this dialog
    answered_by: str | None = None  # a team member's name when known (replies through the bot), else None
    # Money: each sale of this dialog (a repeat purchase is one more), oldest first. The "sale" tag and the
    # sales move together: tagging «Продажа» records a sale (its amount asked for), untagging removes them.
    sales: list[Sale] = Field(default_factory=list)

    @property
    def revenue(self) -> Decimal:
        """What the dialog's sales with a known amount bring, in the business currency."""
        return sum((sale.amount for sale in self.sales if sale.amount is not None), Decimal(0))


class AnswerState(StrEnum):
    """Whether the business answered a dialog, as far as its provider lets us know."""

    ANSWERED = "answered"
    UNANSWERED = "unanswered"  # the provider reports the business's replies, and none came
    UNKNOWN = "unknown"  # the provider does not report replies (or had not yet when the dialog opened)


class BusinessReply(BaseModel):
    """A message the business sent to a customer, as a provider reports it (echoes, outgoing webhooks, statuses
    of messages sent through its API) or as the bot relayed it. Only its time matters: the first one answers
    the dialog. Bounded like InboundMessage."""

    provider: str
    business_number: Id  # the same number or @username an InboundMessage to this business carries
    contact_id: Id  # the customer, named exactly as that provider's InboundMessage names them
    sent_at: datetime
    by: Annotated[str | None, AfterValidator(_name)] = None  # a team member's name, when known
    contact_alias: OptionalId = None  # Meta's user id when the phone is missing (resolved like inbound)


class IngestOutcome(StrEnum):
    NEW_DIALOG = "new_dialog"
    APPENDED = "appended"
    DUPLICATE = "duplicate"
    ERASED = "erased"  # a retry or replay of a message whose contact was forgotten: stored nowhere
    UNTRACKED = "untracked"  # to a WhatsApp number not in CHATTRACK_TRACKED_NUMBERS: stored nowhere


class IngestResult(BaseModel):
    outcome: IngestOutcome
    dialog: Dialog  # ERASED, UNTRACKED: the draft, which was not stored


LEAD_ALERT = "lead_alert"
TAKE_REMINDER = "take_reminder"  # "nobody took this lead yet", due reminder_after the dialog opened
ALERT_KINDS = (LEAD_ALERT, TAKE_REMINDER)  # what bot/outbox.py delivers to Telegram
# Deliveries to other systems (integrations/): each goes through the same outbox as the alerts.
METRICA = "metrica"  # a row of Yandex Metrica's offline conversions upload
GA4 = "ga4"  # an event of GA4's Measurement Protocol
EVENT_OUT = "event"  # a signed JSON event to CHATTRACK_EVENTS_URL
DELIVERY_KINDS = (METRICA, GA4, EVENT_OUT)


class Goal(StrEnum):
    """A conversion the ad systems hear of: a new lead, a qualified lead, a sale."""

    LEAD = "lead"
    QUALIFIED = "qualified"
    SALE = "sale"


class EventType(StrEnum):
    """The `type` of an event sent to CHATTRACK_EVENTS_URL."""

    DIALOG_CREATED = "dialog.created"
    DIALOG_TAGGED = "dialog.tagged"
    DIALOG_TAKEN = "dialog.taken"
    SALE_RECORDED = "sale.recorded"


class DeliveryOutcome(StrEnum):
    """How an outbox item ended (items still waiting have none)."""

    SENT = "sent"
    REFUSED = "refused"  # a 4xx, or the system said the data is wrong: given up, with the reason kept
    TOO_LATE = "too_late"  # the visit is older than the system can link (Metrica's window, GA4's 63 days)
    SKIPPED = "skipped"  # nothing to send it with (the visit has no client id), or the dialog was erased


class OutboxItem(BaseModel):
    """A lead alert waiting to reach one Telegram chat, or a delivery to another system (a conversion, an
    event); persisted so no restart loses or repeats it. Kept after it is done, with how it ended: the card
    shows a dialog's deliveries («Метрика: отправлено 12:03»)."""

    id: str  # deliveries that must happen once have a deterministic id ("metrica:lead:<dialog id>")
    dialog_id: str
    chat_id: int = 0  # alerts only
    kind: str = LEAD_ALERT  # ALERT_KINDS or DELIVERY_KINDS
    attempts: int = 0
    next_attempt_at: datetime
    created_at: datetime
    last_error: str | None = None
    # deliveries
    goal: Goal | None = None  # METRICA, GA4: which conversion
    event: EventType | None = None  # EVENT_OUT: which event
    sale_id: str | None = None  # a sale's conversion or event: the sale (its amount is read when sent)
    happened_at: datetime | None = None  # when the conversion or event happened (sent as its time)
    data: dict[str, Any] = Field(default_factory=dict)  # JSON-able detail (dialog.tagged: {"added": [...]})
    # how it ended
    sent_at: datetime | None = None  # when it was done (sent, refused, too late, skipped)
    outcome: DeliveryOutcome | None = None


class Cost(BaseModel):
    """Ad spend of one campaign (or one ad) on one day, from Yandex Direct or a file the owner imported."""

    day: date  # the day the money was spent, as the platform (or the file) counts days
    source: str  # as the site's links name it in utm_source: "yandex", "vk", "google", "avito"
    campaign: str  # the campaign's name
    campaign_id: str | None = None  # Direct's id (UTM templates write {campaign_id} into utm_campaign)
    ad_id: str | None = None  # Direct's ad id ({ad_id} in utm_content), when spend is known per ad
    amount: Decimal  # >= 0, in `currency`
    currency: str
    origin: str  # "direct" or "file": a re-import replaces rows of the same origin, day, source, campaign, ad
