"""The `Store` protocol: everything the product keeps, behind one interface with two adapters.

`sqlite.SQLiteStore` is the embedded default; `mongo.MongoStore` is for production. Both pass the
same contract suite (tests/store_contract). Every method is atomic on its own: several copies of the
server may run against one database.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any, Protocol

from pydantic import BaseModel, Field

from tracking.limits import NewVisitBudget
from tracking.models import (
    ALERT_KINDS,
    Attribution,
    AttributionStatus,
    Click,
    Cost,
    DeliveryOutcome,
    Dialog,
    InboundMessage,
    IngestResult,
    OutboxItem,
    PageView,
    Sale,
    Visit,
)


class StoreUnavailable(Exception):
    """The database cannot be reached or timed out; webhooks answer 503 so providers retry."""


class CodeTaken(Exception):
    """A visit code already belongs to another visitor (the browser picked a colliding code)."""


class VisitBudgetSpent(Exception):
    """A first page view would open a visit past this minute's budget of new visits (NewVisitBudget)."""


# Clicks kept per visit (for matching code-less first messages): a real visitor clicks a few chat links;
# past this, a click still moves the visit's page of contact but adds no row.
CLICKS_KEPT_PER_VISIT = 10


def new_erasure_key() -> str:
    """The installation's key for erased message ids, made once when a store is first opened."""
    return secrets.token_hex(32)


def erased_message_digest(key: str, provider: str, message_id: str) -> str:
    """What a store keeps of a message it erased: a keyed hash of its id, so a provider's retry (or a
    replay of its signed request) is recognised and stored nowhere. The id alone is no personal data, but
    some providers' ids encode the phone (Meta's wamid): without the key the hash tells nothing."""
    return hmac.new(bytes.fromhex(key), f"{provider}\0{message_id}".encode(), hashlib.sha256).hexdigest()


class Bucket(StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    QUARTER = "quarter"


# Attribution fields of a dialog that reports group by (stores keep them where they can index them).
ATTRIBUTION_FIELDS = (
    "channel",
    "source",
    "medium",
    "campaign",
    "content",
    "term",
    "landing_page",
    "contact_page",
    "region",
    "os",
    "browser",
    "device",
)

# Dialog fields a report may group or filter by. "tag" matches any one of a dialog's tags; "taken_by" is who
# took the lead (a Telegram user id as text, NOT_TAKEN for nobody), which no rollup shape holds: counted raw.
# "customer" is whether the contact wrote before (the dialog's is_repeat): "new" or "repeat", as a dialog's
# record (reports/card.py) and the exports write it. Every rollup row counts both, so no shape needs it.
TAKEN_BY = "taken_by"
CUSTOMER = "customer"
GROUPABLE_FIELDS = (*ATTRIBUTION_FIELDS, "business_number", "messenger", "status", "tag", TAKEN_BY, CUSTOMER)
NOT_TAKEN = "none"  # taken_by=none: the dialogs nobody took (a group of them has the key None)
MAX_USER_ID = 2**63 - 1  # Telegram's ids fit in 52 bits; both stores keep 64-bit integers
NEW_CUSTOMER, REPEAT_CUSTOMER = "new", "repeat"
CUSTOMERS = (NEW_CUSTOMER, REPEAT_CUSTOMER)


def is_repeat_of(value: str) -> bool:
    """A customer filter's value as stored (is_repeat): True for "repeat", False for "new"; ValueError else."""
    if value not in CUSTOMERS:
        raise ValueError(f"customer must be {NEW_CUSTOMER!r} or {REPEAT_CUSTOMER!r}, not {value!r}")
    return value == REPEAT_CUSTOMER


def customer_key(is_repeat: object) -> str:
    """A customer group's key: "repeat" for a repeat dialog, "new" otherwise."""
    return REPEAT_CUSTOMER if is_repeat else NEW_CUSTOMER


def taker_of(value: str) -> int | None:
    """A taken_by filter's value as stored: the user id, or None for NOT_TAKEN; ValueError for anything else."""
    if value == NOT_TAKEN:
        return None
    if not value.isascii() or not value.isdigit() or not 0 < int(value) <= MAX_USER_ID:
        raise ValueError(f"taken_by must be a Telegram user id (a whole number) or {NOT_TAKEN!r}, not {value!r}")
    return int(value)


def taker_key(user_id: object) -> str | None:
    """A taken_by group's key: the user id as text, None for the dialogs nobody took."""
    return None if user_id is None else str(user_id)


class CountQuery(BaseModel):
    """Counts of dialogs started in [start, end), filtered, grouped by fields and/or a time bucket."""

    start: datetime
    end: datetime
    group_by: list[str] = Field(default_factory=list)
    bucket: Bucket | None = None
    filters: dict[str, str] = Field(default_factory=dict)
    # Dialogs carrying any of these tags are left out ("spam" by default in the reports).
    without_tags: list[str] = Field(default_factory=list)
    include_probable: bool = True


class CountRow(BaseModel):
    key: dict[str, str | None] = Field(default_factory=dict)
    bucket: str | None = None
    dialogs: int
    new: int
    repeat: int


class NewDialog(BaseModel):
    """What `ingest` decided about a message that may open a dialog; the store does the atomic part."""

    message: InboundMessage
    draft: Dialog  # used only when the message opens a new dialog
    dialog_gap: timedelta  # a message after this long a silence opens a new dialog
    alert_chats: list[int]  # Telegram chats that get a lead alert for a new dialog, unless limits.alert_withheld
    # With an alert queued: also queue one TAKE_REMINDER outbox item for chat 0, due this long after the
    # dialog's start (the dispatcher drops it when the lead was taken by then).
    reminder_after: timedelta | None = None
    # Deliveries to other systems (conversions, events: OutboxItem with a DELIVERY_KINDS kind, planned by
    # tracking/deliveries.py with the draft's id) queued in the same write as the new dialog, only when the
    # message opens one: a retry or a message joining a dialog queues nothing.
    deliveries: list[OutboxItem] = Field(default_factory=list)


class CodeAttribution(BaseModel):
    """What a code found in an edited message gives a dialog that had none (Tracker.edit_message)."""

    code: str
    status: AttributionStatus
    status_reason: str | None = None
    attribution: Attribution
    visit: Visit | None = None


class StoredMessage(BaseModel):
    """One message of a dialog as stored: its latest text, and whether the customer deleted it."""

    provider: str
    message_id: str
    text: str
    received_at: datetime
    edited_at: datetime | None = None
    deleted_at: datetime | None = None

    @property
    def deleted(self) -> bool:
        return self.deleted_at is not None


# How many dialogs one name search looks through at most (Store.browse_dialogs): a substring has no index,
# so a search reads this many names and says where it stopped; the next page searches on from there.
NAME_SCAN = 5000


class DialogPosition(BaseModel):
    """A place in the list of every dialog ordered by (started_at, id): where a page of /recent stops."""

    started_at: datetime
    dialog_id: str = ""  # "" sorts before every id: (t, "") is just before the dialogs that started at t


class DialogBrowse(BaseModel):
    """A page of Store.browse_dialogs, and where a bounded name search stopped short of a full page."""

    dialogs: list[Dialog]
    scanned_to: DialogPosition | None = None  # None: the page is full, or the list ended


class StaffMember(BaseModel):
    """Someone an owner invited to the bot: they may read reports and tag leads, not manage staff."""

    user_id: int  # Telegram user id
    name: str
    username: str | None = None
    added_at: datetime
    added_by: int  # the owner whose invite they used


class Invite(BaseModel):
    """A one-time invite; `token` is a digest of the secret in the deep link, never the secret itself."""

    token: str
    created_by: int
    created_at: datetime
    expires_at: datetime


class SummaryChoice(BaseModel):
    """When one owner or staff member wants the daily summary, as local time in the business's zone."""

    user_id: int
    at: str | None  # "HH:MM"; None: they turned it off
    lang: str = "ru"
    chosen_at: datetime  # slots before this moment are not caught up


class BusinessAccount(BaseModel):
    """A Telegram Business account that connected the bot: its chats with customers reach us."""

    connection_id: str
    user_id: int
    username: str | None = None
    name: str = ""
    enabled: bool = True


class TeamChat(BaseModel):
    """The group chat where the team gets lead alerts instead of private chats (`/team` in the group)."""

    chat_id: int
    thread_id: int | None = None  # a forum topic of the group, when /team was sent in one
    title: str = ""
    set_by: int
    set_at: datetime


class ReplySource(BaseModel):
    """A provider and business number that report the business's own replies, since `since` (the first
    reply seen): dialogs on it opened since then are "answered" or "unanswered", older ones "unknown"."""

    provider: str
    business_number: str
    since: datetime


@dataclass(slots=True, kw_only=True)
class ResponseRow:
    """What the team reports need of one dialog (Store.response_rows): no visit, no messages. A plain
    dataclass, not a model: the stores build a month's ~100,000 of them from their own columns, and
    validating each cost more than reading it (bench/bench_team_report.py)."""

    dialog_id: str
    provider: str
    business_number: str
    channel: str
    contact_name: str | None = None
    contact_id: str
    started_at: datetime
    taken_by: int | None = None
    taken_by_name: str | None = None
    taken_at: datetime | None = None
    answered_at: datetime | None = None
    answered_by: str | None = None
    tags: list[str] = field(default_factory=list)


@dataclass(slots=True, kw_only=True)
class ResponseGroup:
    """The dialogs of one taker (None: nobody took them) and channel among those a team report counts, summed
    up by the store (Store.response_sums): what reports/team.py would work out from their ResponseRows."""

    taken_by: int | None
    channel: str
    dialogs: int
    unanswered: int  # no reply known, on a provider and number that reported replies since before it opened
    late: list[int]  # of the unanswered, those opened at or before each moment of `opened_by`
    seconds: list[float]  # each answered dialog's first-response seconds (tracking.team.response_seconds)


@dataclass(slots=True, kw_only=True)
class ResponseSums:
    groups: list[ResponseGroup]
    names: dict[int, str]  # each taker's name on the latest of these dialogs that has one (never empty)
    cut: bool = False  # more than the limit: the oldest `limit` dialogs are summed, as response_rows reads them


@dataclass(slots=True, kw_only=True)
class SaleRow:
    """One sale with what the money reports group it by (Store.sale_rows): the dialog's attribution and start."""

    dialog_id: str
    sale_id: str
    started_at: datetime  # the dialog's: revenue belongs to the period its lead came in
    at: datetime  # the sale's
    amount: Decimal | None
    currency: str
    channel: str
    source: str | None = None
    medium: str | None = None
    campaign: str | None = None
    content: str | None = None
    term: str | None = None
    status: str = "none"
    tags: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class CostRow:
    """A stored cost as the reports read it (Store.cost_rows): Cost's fields, not validated again (they were when
    saved). A month holds thousands (a cost per campaign, ad and day): a pydantic model each cost ~10 µs."""

    day: date
    source: str
    campaign: str
    campaign_id: str | None
    ad_id: str | None
    amount: Decimal
    currency: str
    origin: str


class Store(Protocol):
    async def open(self) -> None:
        """Connect, create tables/indexes idempotently, record the schema version."""

    async def close(self) -> None: ...

    async def ping(self) -> bool:
        """True when the database answers (health check)."""

    async def check_writes(self, now: datetime) -> str | None:
        """None when a write commits now and none has failed in the last minute; else why not (health
        check: a full disk or a read-only file fails writes while reads still answer)."""

    # visits
    async def record_page_view(self, view: PageView, budget: NewVisitBudget | None = None) -> str:
        """Merge a page view into the visit with this code; when none exists, the view opens it
        (`opened_visit`). Returns the code (the merged visit is not read back: the snippet only needs to
        hear its code is taken or not). Raises CodeTaken when the code belongs to another visitor, and
        VisitBudgetSpent when the view would open a visit and `budget` has none left (a later view of an
        open visit is merged whatever the budget).
        """

    async def record_click(self, click: Click, visitor_id: str) -> bool:
        """A click of the visit's own browser: when the code's visit has this visitor id, the click sets
        its page of contact and is kept (up to CLICKS_KEPT_PER_VISIT per visit); True. Otherwise nothing
        is stored anywhere and False: someone who learned a code cannot change its visit. A click finds
        a first view that was answered (SQLite: also one still waiting for its batch's commit)."""

    async def get_visit(self, code: str) -> Visit | None:
        """The visit as stored: its first view's landing page, referrer and device, its later pages; its
        attribution is classified by the Tracker (visits stored by older versions come classified)."""

    async def recent_clicks(self, target: str, since: datetime, until: datetime) -> list[Click]: ...

    async def any_visit(self) -> bool:
        """True when any visit is stored (the snippet is on the site and was seen lately): one indexed read."""

    async def delete_visits_before(self, cutoff: datetime) -> int:
        """Retention: drop visits (and their clicks) last seen before `cutoff`; returns how many.

        The copies of those visits in dialogs lose the browser's IP address and user agent; what was
        derived from them (region, OS, browser, device, screen) stays for reports."""

    # dialogs
    async def add_message(self, new: NewDialog) -> IngestResult:
        """Store one inbound message, exactly once per (provider, message_id), atomically.

        A message with text that joins a dialog whose `first_message` is still "" (a bot deep link's
        `/start`, a photo without caption) becomes its first message.

        It joins the contact's latest dialog with this business number when that dialog is younger than
        `dialog_gap` and the message carries no other code; otherwise it opens `draft` (with is_repeat
        set by whether the contact wrote to this business before) and queues a lead alert per chat.
        A message that `forget_contact` erased is stored nowhere again (outcome ERASED).
        """

    async def get_dialog(self, dialog_id: str) -> Dialog | None: ...

    async def find_dialogs(
        self, *, code: str | None = None, contact_id: str | None = None, limit: int = 20
    ) -> list[Dialog]:
        """Newest first."""

    async def list_dialogs(self, start: datetime, end: datetime, limit: int = 1000) -> list[Dialog]:
        """Dialogs started in [start, end), oldest first."""

    async def unattributed_dialogs(
        self, business_number: str, start: datetime, end: datetime, limit: int = 50
    ) -> list[Dialog]:
        """The number's dialogs started in [start, end) that nothing attributed (status none), oldest first:
        what a second look weighs again (Tracker.second_look)."""

    async def browse_dialogs(
        self,
        *,
        before: DialogPosition | None = None,
        after: DialogPosition | None = None,
        name: str | None = None,
        limit: int = 20,
        scan: int = NAME_SCAN,
    ) -> DialogBrowse:
        """Every dialog, page by page, by (started_at, id): newest first strictly before `before` (from the
        newest when neither is given), or oldest first strictly after `after`. Indexed: as fast at the
        millionth dialog as at the first. With `name`, only dialogs whose contact name contains it (any
        case); at most `scan` dialogs are looked at, and when that stops the search before the page is
        full, `scanned_to` says where to search on from."""

    async def set_tags(self, dialog_id: str, tags: list[str], deliveries: Sequence[OutboxItem] = ()) -> Dialog | None:
        """Replace the dialog's tags; queue `deliveries` (OutboxItem of DELIVERY_KINDS; an id already queued
        is kept as it is, so a tag set twice converts once) in the same write. Tags without "sale" remove the
        dialog's sales. None (nothing queued) when there is no such dialog."""

    async def count_dialogs(self, query: CountQuery) -> list[CountRow]:
        """The report primitive: grouping is done by the database, never by Python loops."""

    async def telegram_contacts(self, username: str) -> list[str]:
        """Contact ids of Telegram customers whose name as stored ends with this "(@username)", in any case
        (Telegram usernames ignore it). [] for what is no username. Scans: for rare look-ups (forget)."""

    async def forget_contact(self, contact_id: str) -> int:
        """Privacy: erase a contact's dialogs, messages, alerts and the visits that led to them, and every
        alias link it is part of (user ids linked to it; its own link when it is a user id).

        Keeps only `erased_message_digest` of each erased message's id, so a retry of it stays erased.
        Returns the number of dialogs erased.
        """

    # aliases: a provider's user id (Meta's BSUID) linked to the contact it was first seen with
    async def link_alias(self, alias: str, contact_id: str) -> str:
        """Record that `alias` names `contact_id`, idempotently. The first link wins (a user id never moves
        to another contact): returns the contact the alias names, which is another one when it was linked
        before. Also when the contact has no dialog (yet)."""

    async def aliased_contact(self, alias: str) -> str | None:
        """The contact id `alias` was linked to; None when it never was, or was erased with its contact."""

    # outbox of lead alerts
    async def claim_alerts(
        self, now: datetime, lease: timedelta, limit: int = 20, kinds: Sequence[str] = ALERT_KINDS
    ) -> list[OutboxItem]:
        """Lease due items of these kinds to this copy; a lease that expires (its holder died) frees them
        again. Oldest due first. (Alerts by default: the conversion dispatcher asks for its own kinds.)"""

    async def alert_sent(self, item_id: str, now: datetime) -> None:
        """Done: sent (outcome SENT). Never claimed again."""

    async def alert_failed(self, item_id: str, next_attempt_at: datetime, error: str) -> None: ...

    async def pending_alerts(self, kinds: Sequence[str] = ALERT_KINDS) -> int:
        """Items of these kinds not done yet."""

    async def delivery_done(self, item_id: str, now: datetime, outcome: DeliveryOutcome, note: str | None) -> None:
        """Done with this outcome (sent, refused, too late, skipped) and why (`note`, kept as last_error:
        the card shows it). Never claimed again."""

    async def queue_deliveries(self, deliveries: Sequence[OutboxItem]) -> int:
        """Queue deliveries of dialogs that exist (a taken lead's event); an id already queued is left as it
        is. Returns how many were new."""

    async def dialog_deliveries(self, dialog_id: str) -> list[OutboxItem]:
        """The dialog's deliveries (DELIVERY_KINDS), waiting or done, oldest first: the card shows each."""

    async def alert_message_sent(self, dialog_id: str, chat_id: int, message_id: int) -> None:
        """The dialog's lead alert is Telegram message `message_id` in `chat_id`: kept so that erasing the
        contact can edit it (a chat may get the alert more than once: each copy is kept)."""

    async def alert_messages(self, contact_id: str) -> list[tuple[int, int]]:
        """(chat_id, message_id) of each alert recorded for the contact's dialogs; forget_contact erases them."""

    async def dialog_alert_messages(self, dialog_id: str) -> list[tuple[int, int]]:
        """(chat_id, message_id) of every copy of this dialog's lead alert, oldest first: each is edited when
        the dialog's tags or taker change, so no stale button undoes a colleague's change."""

    # the team: taking leads, relaying a bot customer's chat, the business's replies
    async def take_dialog(
        self, dialog_id: str, user_id: int, name: str, at: datetime, *, replace: bool = False
    ) -> Dialog | None:
        """The first taker wins: set taken_by/taken_by_name/taken_at only while nobody holds the dialog
        (atomic: of two people pressing «Беру» at once exactly one becomes its taker); with `replace` (an
        owner reassigns) set them whoever holds it. Returns the dialog as stored afterwards (the caller
        compares `taken_by` with its user to know who won); None when there is no such dialog."""

    async def record_reply(self, dialog_id: str, at: datetime, by: str | None = None) -> Dialog | None:
        """The business replied in the dialog at `at`: keeps the earliest reply (answered_at, answered_by),
        so late or repeated reports change nothing. None when there is no such dialog."""

    async def reply_seen(self, provider: str, business_number: str, at: datetime) -> None:
        """This provider reported a reply of the business on this number: from the first such report on, its
        dialogs can be told "unanswered" (ReplySource). Idempotent; the earliest `at` is kept."""

    async def reply_sources(self) -> list[ReplySource]: ...

    async def relay_message_sent(self, dialog_id: str, chat_id: int, message_id: int) -> None:
        """A bot customer's message was relayed to a team chat as this Telegram message: a reply to it
        answers the customer. forget_contact erases these with the dialog."""

    async def relay_messages(self, contact_id: str) -> list[tuple[int, int]]:
        """(chat_id, message_id) of each of the contact's messages relayed to a team chat: erasing the contact
        deletes them from the chats too (forget_contact erases the records)."""

    async def dialog_by_bot_message(self, chat_id: int, message_id: int) -> str | None:
        """The dialog a message the bot sent in a team chat belongs to: a relayed message or a lead alert."""

    async def set_team_chat(self, chat: TeamChat | None) -> None:
        """Alerts go to this group from now on; None: back to each member's private chat."""

    async def team_chat(self) -> TeamChat | None: ...

    async def set_alerts_muted(self, user_id: int, muted: bool) -> None:
        """An owner or staff member turns lead alerts in their private chat off (or on again)."""

    async def muted_users(self) -> set[int]: ...

    # marks: small JSON documents by key for the installation (tracking/install.py): the owner who claimed
    # the bot, one-time secrets, what the owner was told once, each part's last signs. Values hold JSON types
    # only (times as ISO strings).
    async def get_mark(self, key: str) -> dict[str, Any] | None: ...

    async def marks(self, prefix: str) -> dict[str, dict[str, Any]]:
        """Every mark whose key starts with `prefix`, by key."""

    async def put_mark(self, key: str, value: dict[str, Any]) -> None:
        """Insert or replace."""

    async def merge_mark(self, key: str, fields: dict[str, Any]) -> None:
        """Set these fields of the mark, keeping its others (created when missing): two writers of different
        fields never undo each other."""

    async def add_mark(self, key: str, value: dict[str, Any]) -> bool:
        """Insert only when the key is free: exactly one of many concurrent callers (across copies of the
        server too) gets True. What is told once, and the first claim of the bot, are decided here."""

    async def take_mark(self, key: str) -> dict[str, Any] | None:
        """Delete and return the mark: exactly one of many concurrent callers gets it (one-time secrets)."""

    async def response_rows(self, query: CountQuery, limit: int = 200_000) -> list[ResponseRow]:
        """Dialogs started in [query.start, query.end) with query.filters / without_tags /
        include_probable applied as count_dialogs applies them (group_by and bucket ignored), oldest first,
        at most `limit`: what the team reports compute response times from."""

    async def response_sums(
        self,
        query: CountQuery,
        windows: Mapping[tuple[str, str], datetime],
        opened_by: Sequence[datetime],
        limit: int = 200_000,
    ) -> ResponseSums | None:
        """The dialogs response_rows reads for `query` (the oldest `limit`), summed up per taker and channel
        by the store itself: unanswered as tracking.team.answer_state says with these reply `windows`. None
        when it does not sum them (the report then sums response_rows): MongoDB; SQLite while the period
        holds dialogs whose team columns are not filled yet."""

    # money: sales of a dialog, ad spend
    async def add_sale(self, dialog_id: str, sale: Sale, deliveries: Sequence[OutboxItem] = ()) -> Dialog | None:
        """Record one more sale of the dialog (and its "sale" tag when missing), queueing `deliveries` in the
        same write; a sale id already stored changes nothing. Returns the dialog as stored; None when there
        is no such dialog."""

    async def update_sale(self, dialog_id: str, sale_id: str, amount: Decimal | None, currency: str) -> Dialog | None:
        """Set (or change) a sale's amount and currency. The sale's deliveries still waiting become due now
        (they waited for the amount: tracking/deliveries.sale_due). None when the dialog or the sale is unknown."""

    async def remove_sale(self, dialog_id: str, sale_id: str) -> Dialog | None:
        """Remove one sale; the last one removed takes the "sale" tag with it. None when the dialog is unknown."""

    async def sale_rows(self, query: CountQuery, limit: int = 200_000) -> list[SaleRow]:
        """The sales of dialogs started in [query.start, query.end), with query.filters / without_tags /
        include_probable applied as count_dialogs applies them (group_by and bucket ignored), oldest dialog
        first: what the money reports sum revenue from."""

    async def save_costs(self, costs: Sequence[Cost]) -> int:
        """Insert or replace each cost by (origin, day, source, campaign_id or campaign, ad_id): a re-import
        of a day replaces its figures, never adds them twice. All or nothing. Returns how many were written."""

    async def cost_rows(self, start: date, end: date) -> list[CostRow]:
        """Every cost of days in [start, end), by day then source then campaign."""

    # once-only jobs (daily summary across restarts and replicas), leased like alerts
    async def claim_job(self, key: str, now: datetime, lease: timedelta) -> bool:
        """Lease the job to this caller until `now + lease`; False when it is done or another lease holds.

        True when the key was never claimed, or its last lease expired (its holder died or gave up) and it
        was never finished. Exactly one of many concurrent callers wins, across copies of the server too.
        """

    async def finish_job(self, key: str, now: datetime) -> None:
        """Mark the job done: it is never claimed again."""

    # bot access: staff invited by owners
    async def create_invite(self, invite: Invite) -> None: ...

    async def redeem_invite(
        self, token: str, user_id: int, name: str, username: str | None, now: datetime
    ) -> StaffMember | None:
        """Consume an unused, unexpired invite and make the user staff; None (nothing added) otherwise.

        Exactly one of several concurrent redemptions of one token succeeds.
        """

    async def add_staff(self, member: StaffMember) -> None:
        """Make someone staff without an invite (an owner who hands the bot over stays as staff); replaces
        their record when they already are."""

    async def get_staff(self, user_id: int) -> StaffMember | None: ...

    async def list_staff(self) -> list[StaffMember]:
        """Oldest first."""

    async def remove_staff(self, user_id: int) -> bool:
        """False when they were not staff. Their summary choice goes with them."""

    # daily summary choices
    async def set_summary_choice(self, choice: SummaryChoice) -> None:
        """Replace the user's choice."""

    async def summary_choices(self) -> list[SummaryChoice]: ...

    # Telegram Business connections
    async def save_business_account(self, account: BusinessAccount) -> None:
        """Insert or replace by connection id."""

    async def get_business_account(self, connection_id: str) -> BusinessAccount | None: ...

    # customers' edits and deletions of messages already stored
    async def message_dialog(self, provider: str, message_id: str) -> Dialog | None:
        """The dialog a stored message belongs to; None when the message is unknown or was erased."""

    async def edit_message(
        self,
        provider: str,
        message_id: str,
        text: str,
        edited_at: datetime,
        attribution: CodeAttribution | None = None,
    ) -> bool:
        """Replace the stored text of a message, and its dialog's `first_message` when the message opened
        the dialog. With `attribution`, the dialog takes its code, status, attribution and visit, but only
        while it has no code (a dialog is attributed once). An edit older than one already applied changes
        nothing, so a retried or late edit never reverts a newer one. False, and nothing stored, when the
        message is unknown (never stored, or erased with its contact)."""

    async def attribute_dialog(self, dialog_id: str, attribution: CodeAttribution) -> Dialog | None:
        """Give a dialog that has no code the attribution a later look found (Tracker.second_look): its code,
        status, reason, attribution and visit, with its report counts moved along. Only while it still has no
        code (a dialog is attributed once). The dialog as stored after; None when it is gone or has a code."""

    async def delete_message(self, provider: str, message_id: str, deleted_at: datetime) -> bool:
        """Mark a message deleted by its sender. Its row stays, so a provider's retry of the original is
        still a duplicate; the first deletion's time is kept. False, and nothing stored, when unknown."""

    async def dialog_messages(self, dialog_id: str) -> list[StoredMessage]:
        """The dialog's messages, oldest first (deleted ones too, marked so)."""
