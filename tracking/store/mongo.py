"""The production store: MongoDB through PyMongo's asyncio client (Motor is deprecated).

Every method is safe with several copies of the server on one database, without multi-document
transactions (a standalone server or a sharded cluster may not offer them):

- a message is stored once: its document is inserted first and the unique (provider, message_id) index
  decides which copy owns it; a duplicate waits for the owner to finish and returns the same dialog;
- the owner records its decision (open dialog D with seq N / append to D) on the message document
  before acting, and every action is idempotent, so a copy that dies half-way leaves a pending message
  that the provider's retry completes rather than a half-written dialog;
- two first messages of one contact cannot open two dialogs: dialogs carry a per-(contact, number)
  sequence number under a unique index, so only one "dialog N+1" can ever be inserted;
- new/repeat is decided by the first dialog to claim the contact's document;
- lead alerts are leased with find_one_and_update, one document at a time.
- once-only jobs (daily summaries) are leased by one upsert on their `_id`, finished with `done_at`.

Times are BSON dates (millisecond precision, UTC). Report buckets are the local keys stored on each
dialog at write time (`tracking.periods.buckets_for`), so reports group on plain fields.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import re
import time
import uuid
from collections.abc import Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, Concatenate, ParamSpec, TypeVar, cast
from zoneinfo import ZoneInfo

import bson
import pymongo
from bson.codec_options import CodecOptions
from pymongo import ASCENDING, DESCENDING, AsyncMongoClient, ReturnDocument, UpdateOne, uri_parser
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import (
    BulkWriteError,
    ConfigurationError,
    ConnectionFailure,
    DuplicateKeyError,
    ExecutionTimeout,
    OperationFailure,
    PyMongoError,
    WTimeoutError,
)

from tracking.deliveries import SALE_TAG
from tracking.limits import ALERTS_PER_CONTACT, NewVisitBudget, alert_withheld
from tracking.models import (
    ALERT_KINDS,
    DELIVERY_KINDS,
    LEAD_ALERT,
    TAKE_REMINDER,
    TELEGRAM_USERNAME,
    AttributionStatus,
    Click,
    Cost,
    DeliveryOutcome,
    Dialog,
    IngestOutcome,
    IngestResult,
    OutboxItem,
    PageView,
    Sale,
    Visit,
    opened_visit,
)
from tracking.periods import buckets_for, utc_now
from tracking.store import mongo_counts, rollups
from tracking.store.base import (
    ATTRIBUTION_FIELDS,
    CLICKS_KEPT_PER_VISIT,
    CUSTOMER,
    GROUPABLE_FIELDS,
    NAME_SCAN,
    TAKEN_BY,
    BusinessAccount,
    CodeAttribution,
    CodeTaken,
    CostRow,
    CountQuery,
    CountRow,
    DialogBrowse,
    DialogPosition,
    Invite,
    NewDialog,
    ReplySource,
    ResponseRow,
    ResponseSums,
    SaleRow,
    StaffMember,
    StoredMessage,
    StoreUnavailable,
    SummaryChoice,
    TeamChat,
    VisitBudgetSpent,
    erased_message_digest,
    is_repeat_of,
    new_erasure_key,
    taker_key,
    taker_of,
)
from tracking.store.costs import amount_text, latest_by_key

# 2: messages by contact_id; dialogs by (tags, started_at). 3: aliases by contact_id. 4: report counts kept
# (tracking/store/mongo_counts.py): a version before would change dialogs without them. 5: the team (issue 18):
# alert_messages by (sent.chat, sent.message) and (relayed.chat, relayed.message). 6: deliveries share the
# outbox (issue 19): items by (sent_at, kind, next_attempt_at), replacing (sent_at, next_attempt_at).
SCHEMA_VERSION = 6
log = logging.getLogger("chattrack.store")


PENDING, DONE = "pending", "done"
# Message refs kept on a dialog so that re-applying an append (after a crash) is a no-op.
APPENDED_KEPT = 32
# Fields of a dialog document that are bookkeeping, not part of `Dialog`.
DIALOG_PROJECTION = {"seq": 0, "appended": 0}

Doc = dict[str, Any]
P = ParamSpec("P")
R = TypeVar("R")

# What response_rows reads of a dialog (no visit, no attribution but its channel), named as ResponseRow names it.
RESPONSE_PROJECTION: Doc = {
    "channel": "$attribution.channel",
    **{
        name: 1
        for name in (
            "provider",
            "business_number",
            "status",
            "contact_name",
            "contact_id",
            "started_at",
            "taken_by",
            "taken_by_name",
            "taken_at",
            "answered_at",
            "answered_by",
            "tags",
        )
    },
}

# Errors that mean "the database is not reachable or did not answer in time".
UNAVAILABLE_ERRORS = (ConnectionFailure, ExecutionTimeout, WTimeoutError)


def unavailable(exc: PyMongoError) -> bool:
    """Whether the error says the database is away or slow (a client-side timeout may come as any error
    class, with `timeout` set), rather than that the request was wrong."""
    return isinstance(exc, UNAVAILABLE_ERRORS) or exc.timeout


def url_options(url: str) -> set[str]:
    """The options a connection string sets itself, lower-cased (option names are case-insensitive)."""
    query = url.partition("?")[2]
    return {name.lower() for name in uri_parser.split_options(query, warn=False)} if query else set()


# The per-step timeouts that `timeoutMS` replaces (PyMongo lets it override them).
LEGACY_TIMEOUTS = {"sockettimeoutms", "waitqueuetimeoutms", "serverselectiontimeoutms"}


def client_options(url: str, timeout: float) -> Doc:
    """Our defaults for the client, each only where the connection string does not set it: the URL wins.

    `timeoutMS` is PyMongo's client-side operation timeout: it bounds a whole operation — waiting for a
    pooled connection, server selection, connecting, the round trip — and is sent as `maxTimeMS`, so the
    server stops too. Long operations (reports, erasure, index builds) raise it with `pymongo.timeout`.
    It also replaces the per-step timeouts, so a URL that sets one of those (the older way) gets no
    `timeoutMS` from us: what the user set is what applies."""
    ms = int(timeout * 1000)
    given = url_options(url)
    defaults: Doc = {"serverSelectionTimeoutMS": ms, "connectTimeoutMS": ms}
    if not given & LEGACY_TIMEOUTS:
        defaults["timeoutMS"] = ms
    return {name: value for name, value in defaults.items() if name.lower() not in given}


def _unavailable_as_store_error(
    method: Callable[Concatenate[MongoStore, P], Coroutine[Any, Any, R]],
) -> Callable[Concatenate[MongoStore, P], Coroutine[Any, Any, R]]:
    """Connection failures and timeouts surface as StoreUnavailable (the webhook answers 503)."""

    @functools.wraps(method)
    async def wrapper(self: MongoStore, *args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return await method(self, *args, **kwargs)
        except PyMongoError as exc:
            if not unavailable(exc):
                raise
            raise StoreUnavailable(f"MongoDB is unavailable: {exc}") from exc

    return wrapper


COST_WRITES = 1000  # rows of a cost batch per bulk write


def _without_id(doc: Doc) -> Doc:
    return {name: value for name, value in doc.items() if name != "_id"}


def _cost_doc(cost: Cost) -> Doc:
    return {
        "origin": cost.origin,
        "day": cost.day.isoformat(),
        "source": cost.source,
        "campaign": cost.campaign,
        "campaign_id": cost.campaign_id,
        "ad_id": cost.ad_id,
        "amount": amount_text(cost.amount),
        "currency": cost.currency,
    }


@dataclass(frozen=True)
class Decision:
    """What storing one message does; recorded on the message document before it is carried out."""

    dialog_id: str
    opens: bool
    seq: int = 0
    is_repeat: bool = False
    alert_withheld: bool = False

    def as_doc(self) -> Doc:
        return {
            "dialog_id": self.dialog_id,
            "opens": self.opens,
            "seq": self.seq,
            "is_repeat": self.is_repeat,
            "alert_withheld": self.alert_withheld,
        }

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> Decision:
        return cls(
            dialog_id=doc["dialog_id"],
            opens=doc["opens"],
            seq=doc.get("seq", 0),
            is_repeat=doc.get("is_repeat", False),
            alert_withheld=doc.get("alert_withheld", False),
        )


def sale_document(sale: Sale) -> Doc:
    """A sale as a dialog document embeds it: the amount as exact decimal text (no Decimal128)."""
    return {**sale.model_dump(), "amount": None if sale.amount is None else str(sale.amount)}


def dialog_document(dialog: Dialog, seq: int) -> Doc:
    """A dialog as stored: the model, keyed by its id, plus its sequence number for this contact."""
    doc = dialog.model_dump()
    doc["_id"] = doc.pop("id")
    doc["sales"] = [sale_document(sale) for sale in dialog.sales]
    doc["tags"] = list(dict.fromkeys(dialog.tags))  # a tag counts once per dialog, as in SQLite
    doc["seq"] = seq
    doc["appended"] = []
    return doc


def dialog_from(doc: Mapping[str, Any]) -> Dialog:
    fields = {k: v for k, v in doc.items() if k not in ("_id", "seq", "appended")}
    return Dialog.model_validate({**fields, "id": doc["_id"]})


def visit_document(visit: Visit) -> Doc:
    doc = visit.model_dump()
    doc["_id"] = doc.pop("code")
    return doc


def visit_from(doc: Mapping[str, Any]) -> Visit:
    return Visit.model_validate({**{k: v for k, v in doc.items() if k != "_id"}, "code": doc["_id"]})


def outbox_document(item: OutboxItem) -> Doc:
    """An outbox item as stored (a delivery's fields are absent from alerts stored before schema 6)."""
    doc = item.model_dump()
    doc["_id"] = doc.pop("id")
    doc["lease_until"] = None
    return doc


def outbox_from(doc: Mapping[str, Any]) -> OutboxItem:
    return OutboxItem(
        id=doc["_id"],
        dialog_id=doc["dialog_id"],
        chat_id=doc["chat_id"],
        kind=doc["kind"],
        attempts=doc["attempts"],
        next_attempt_at=doc["next_attempt_at"],
        created_at=doc["created_at"],
        last_error=doc.get("last_error"),
        goal=doc.get("goal"),
        event=doc.get("event"),
        sale_id=doc.get("sale_id"),
        happened_at=doc.get("happened_at"),
        data=doc.get("data") or {},
        sent_at=doc.get("sent_at"),
        outcome=doc.get("outcome"),
    )


def _sale_row(query: CountQuery, doc: Mapping[str, Any], sale: Mapping[str, Any]) -> SaleRow:
    """One sale of a dialog document read by sale_rows, its attribution hidden as count_dialogs hides it."""
    attribution: Mapping[str, Any] = doc.get("attribution") or {}
    if _hides(query, "channel") and doc.get("status") == "probable":
        attribution = {"channel": _hidden_value("channel")}
    return SaleRow(
        dialog_id=doc["_id"],
        sale_id=sale["id"],
        started_at=doc["started_at"],
        at=sale["at"],
        amount=None if sale.get("amount") is None else Decimal(sale["amount"]),
        currency=sale["currency"],
        channel=str(attribution.get("channel")),
        source=attribution.get("source"),
        medium=attribution.get("medium"),
        campaign=attribution.get("campaign"),
        content=attribution.get("content"),
        term=attribution.get("term"),
        status=doc.get("status", "none"),
        tags=sorted(doc.get("tags") or []),
    )


def _check_fields(query: CountQuery) -> None:
    for name in [*query.group_by, *query.filters]:
        if name not in GROUPABLE_FIELDS:
            raise ValueError(f"cannot group or filter by {name!r}")
    if TAKEN_BY in query.filters:
        taker_of(query.filters[TAKEN_BY])
    if CUSTOMER in query.filters:
        is_repeat_of(query.filters[CUSTOMER])


def _path(name: str) -> str:
    """Where a groupable field lives in a dialog document (tags are unwound to one per document)."""
    if name == "tag":
        return "tags"
    if name in ATTRIBUTION_FIELDS:
        return f"attribution.{name}"
    return name


def _hidden_value(name: str) -> str | None:
    """What a probable match shows for an attribution field when probable matches are excluded."""
    return "unattributed" if name == "channel" else None


def _hides(query: CountQuery, name: str) -> bool:
    return not query.include_probable and name in ATTRIBUTION_FIELDS


def _filter(query: CountQuery, name: str, value: str) -> Doc:
    if name == TAKEN_BY:  # kept as the user's integer id; None (nobody) also matches a missing field
        return {TAKEN_BY: taker_of(value)}
    if name == CUSTOMER:  # a new customer's dialog: is_repeat false (or missing, as count_pipeline reads it)
        return {"is_repeat": True} if is_repeat_of(value) else {"is_repeat": {"$ne": True}}
    path = _path(name)
    if not _hides(query, name):
        return {path: value}
    if value == _hidden_value(name):
        return {"$or": [{"status": "probable"}, {path: value}]}
    return {"status": {"$ne": "probable"}, path: value}


def _group_key(query: CountQuery, name: str) -> Any:
    if name == CUSTOMER:
        return {"$cond": [{"$eq": ["$is_repeat", True]}, "repeat", "new"]}
    # $ifNull: a missing field groups with null, as NULL does in SQL.
    value: Any = {"$ifNull": [f"${_path(name)}", None]}
    if _hides(query, name):
        value = {"$cond": [{"$eq": ["$status", "probable"]}, _hidden_value(name), value]}
    return value


def opening_deliveries(new: NewDialog, dialog_id: str) -> list[OutboxItem]:
    """The deliveries planned with the new dialog, for the dialog as opened: a copy completing a message
    whose first owner died opens the dialog that owner decided on, not its own draft, and the ids named
    after the draft name that dialog instead (so the two copies' items are the same items)."""
    draft = new.draft.id
    return [
        item.model_copy(update={"id": item.id.replace(draft, dialog_id), "dialog_id": dialog_id})
        for item in new.deliveries
    ]


def alert_copies(doc: Mapping[str, Any]) -> list[tuple[int, int]]:
    """(chat, message) of a dialog's alerts in the order sent: those kept before schema 5 first."""
    old = [(int(chat), int(message)) for chat, message in doc.get("messages", [])]
    new = [(int(m["chat"]), int(m["message"])) for m in doc.get("sent", [])]
    return list(dict.fromkeys(old + new))


def bot_message(chat_id: int, message_id: int) -> Doc:
    """The alert_messages document of a message the bot sent in a chat: an alert or a relayed message
    (each branch of the $or has its index)."""
    pair = {"$elemMatch": {"chat": chat_id, "message": message_id}}
    return {"$or": [{"sent": pair}, {"relayed": pair}]}


def forgotten_messages(contact_id: str, dialog_ids: list[str]) -> Doc:
    """The messages `forget_contact` erases: of the contact's dialogs, and any of the contact's own (a
    message still pending has no dialog yet). Each branch of the $or has its index."""
    return {"$or": [{"dialog_id": {"$in": dialog_ids}}, {"contact_id": contact_id}]}


def conjunction(conditions: list[Doc]) -> Doc:
    """One filter document (MongoDB's implicit AND); `$and` only for a field or operator met twice."""
    merged: Doc = {}
    repeated: list[Doc] = []
    for condition in conditions:
        if merged.keys() & condition.keys():
            repeated.append(condition)
        else:
            merged.update(condition)
    return {**merged, "$and": repeated} if repeated else merged


def count_pipeline(query: CountQuery) -> list[Doc]:
    """The aggregation behind `count_dialogs`: filter, unwind tags when grouping by them, group, count.

    Every filter is in the first $match, so the planner can use an index for it: (tags, started_at)
    for a tag, started_at otherwise. A tag counts once per dialog, so filtering by one needs no $unwind."""
    _check_fields(query)
    match: list[Doc] = [{"started_at": {"$gte": query.start, "$lt": query.end}}]
    match += [_filter(query, name, value) for name, value in query.filters.items()]
    if query.without_tags:
        match.append({"tags": {"$nin": query.without_tags}})
    pipeline: list[Doc] = [{"$match": conjunction(match)}]
    if "tag" in query.group_by:
        pipeline.append({"$unwind": "$tags"})  # dialogs without tags drop out, as in SQLite's join
        if "tag" in query.filters:  # the dialog's other tags are not in that tag's group
            pipeline.append({"$match": {"tags": query.filters["tag"]}})
    key: Doc = {name: _group_key(query, name) for name in query.group_by}
    if query.bucket is not None:
        key["bucket"] = f"$buckets.{query.bucket.value}"
    pipeline.append(
        {
            "$group": {
                "_id": key,
                "dialogs": {"$sum": 1},
                "repeat": {"$sum": {"$cond": [{"$eq": ["$is_repeat", True]}, 1, 0]}},
            }
        }
    )
    pipeline.append({"$sort": {"_id": ASCENDING}})
    return pipeline


def count_rows(query: CountQuery, groups: list[Doc]) -> list[CountRow]:
    """Turn the pipeline's groups into report rows."""
    rows = []
    for group in groups:
        key = group["_id"] or {}
        dialogs, repeat = int(group["dialogs"]), int(group["repeat"])
        rows.append(
            CountRow(
                key={name: taker_key(key.get(name)) if name == TAKEN_BY else key.get(name) for name in query.group_by},
                bucket=key.get("bucket") if query.bucket is not None else None,
                dialogs=dialogs,
                new=dialogs - repeat,
                repeat=repeat,
            )
        )
    return rows


class MongoStore:
    """The `Store` on MongoDB. The database name comes from the URL (mongodb://host/chattrack)."""

    def __init__(
        self,
        database_url: str,
        *,
        retention_days: int = 90,
        timeout: float = 5.0,
        report_timeout: float = 60.0,
        erase_timeout: float = 600.0,
        build_timeout: float = 3600.0,
        duplicate_wait: float = 5.0,
        claim_timeout: float = 15.0,
        count_repair_interval: float = 300.0,
        count_stale: float = 300.0,
    ) -> None:
        self.url = database_url
        self.retention = timedelta(days=retention_days)
        self.timeout = timeout  # every operation, unless the URL sets timeoutMS (see client_options)
        self.report_timeout = report_timeout  # a report may scan much more than one write
        self.erase_timeout = erase_timeout  # forgetting a contact deletes from every collection
        self.build_timeout = build_timeout  # index builds at start and recompute-buckets: whole collections
        self.duplicate_wait = duplicate_wait  # how long a duplicate waits for the copy storing the original
        # A message pending this long was presumably abandoned by a dead copy and may be taken over.
        # Taking over from a copy that is merely slow is safe too: every step is idempotent, and
        # decisions are recorded only by the current owner (compare-and-set on `owner`).
        self.claim_timeout = claim_timeout
        # The report counts' repair runs at start-up and this often; it takes a change's marks older than
        # `count_stale` for abandoned (far beyond what a change takes under the operation timeouts).
        self.count_repair_interval = count_repair_interval
        self.count_stale = count_stale
        self._repairs: asyncio.Task[None] | None = None
        self._startup_repair: asyncio.Task[bool] | None = None
        self._client: AsyncMongoClient[Doc] | None = None
        self._db: AsyncDatabase[Doc] | None = None
        self._codec: CodecOptions[Doc] = CodecOptions(tz_aware=True, tzinfo=UTC)
        self._erasure_key = ""  # read from the database by open()
        self._reply_since: dict[tuple[str, str], datetime] = {}  # reply sources as this copy last saw them

    @property
    def db(self) -> AsyncDatabase[Doc]:
        if self._db is None:
            raise StoreUnavailable("store is not open")
        return self._db

    async def open(self) -> None:
        await self.close()  # opening again (after a failed open) starts afresh
        try:
            self._client = self._new_client(tz_aware=True, tzinfo=UTC, appname="chattrack")
        except ConfigurationError as exc:
            raise ValueError(f"CHATTRACK_DATABASE_URL: {exc}") from exc
        try:
            database = self._client.get_default_database()
        except ConfigurationError as exc:
            await self.close()
            raise ValueError(
                f"CHATTRACK_DATABASE_URL must name the database, e.g. mongodb://host:27017/chattrack ({exc})"
            ) from exc
        try:
            await self._migrate(database)
            marked = await database.count_marks.find_one({}, {"_id": 1}) is not None
        except PyMongoError as exc:
            if not unavailable(exc):
                raise
            raise StoreUnavailable(f"MongoDB is unavailable: {exc}") from exc
        self._db = database
        # The start-up repair when a change left marks (a crash, a cut-short migration), then every interval.
        self._startup_repair = asyncio.create_task(self._repair_in_background()) if marked else None
        self._repairs = asyncio.create_task(self._repair_counts_every_interval())

    def _new_client(self, **options: Any) -> AsyncMongoClient[Doc]:
        return AsyncMongoClient(self.url, **options, **client_options(self.url, self.timeout))

    async def _migrate(self, db: AsyncDatabase[Doc]) -> None:
        """Create indexes and record the schema version, once per schema version and retention: the
        first copy to start after an upgrade builds them, every later start (each worker, each copy)
        reads one document."""
        meta = await db.meta.find_one({"_id": "schema_version"})
        if meta is not None and int(meta["value"]) > SCHEMA_VERSION:
            raise RuntimeError(
                f"the database has schema version {meta['value']}, newer than this chattrack's "
                f"{SCHEMA_VERSION}: upgrade chattrack"
            )
        retention = int(self.retention.total_seconds())
        if meta is None or int(meta["value"]) < SCHEMA_VERSION or meta.get("retention_seconds") != retention:
            # Index builds read whole collections: their own time limit, not one request's.
            with pymongo.timeout(self.build_timeout):
                await self._create_indexes(db)
            await db.meta.update_one(
                {"_id": "schema_version"},
                {"$set": {"value": SCHEMA_VERSION, "retention_seconds": retention}},
                upsert=True,
            )
        # Report counts: complete from the start on a database without dialogs; on one of an older version
        # (or after an open cut short here) every hour is marked for the repair, and reports count raw till then.
        state = await db.meta.find_one({"_id": mongo_counts.STATE})
        if state is None:
            empty = await db.dialogs.find_one({}, {"_id": 1}) is None
            with contextlib.suppress(DuplicateKeyError):
                value = mongo_counts.READY if empty else "stale"
                await db.meta.insert_one({"_id": mongo_counts.STATE, "value": value, "shapes": rollups.SHAPES_MARK})
            state = await db.meta.find_one({"_id": mongo_counts.STATE})
        if state is not None and state["value"] == mongo_counts.READY and state.get("shapes") != rollups.SHAPES_MARK:
            # rows counted for other shapes (a shape added since has none for the dialogs): every hour recounted
            await db.meta.update_one(
                {"_id": mongo_counts.STATE, "value": mongo_counts.READY}, {"$set": {"value": "stale shapes"}}
            )
            state = await db.meta.find_one({"_id": mongo_counts.STATE})
        if state is not None and state["value"] != mongo_counts.READY:
            with pymongo.timeout(self.build_timeout):
                await mongo_counts.mark_everything(db)
            await db.meta.update_one(
                {"_id": mongo_counts.STATE, "value": state["value"]},
                {"$set": {"value": mongo_counts.READY, "shapes": rollups.SHAPES_MARK}},
            )
        # The first open makes the key; every copy reads the one stored (a racing upsert loses with 11000).
        with contextlib.suppress(DuplicateKeyError):
            await db.meta.update_one(
                {"_id": "erasure_key"}, {"$setOnInsert": {"value": new_erasure_key()}}, upsert=True
            )
        stored = await db.meta.find_one({"_id": "erasure_key"})
        assert stored is not None
        self._erasure_key = str(stored["value"])

    async def _create_indexes(self, db: AsyncDatabase[Doc]) -> None:
        """Every index, idempotently (an existing index with the same keys and options is left as it is)."""
        await db.messages.create_index(
            [("provider", ASCENDING), ("message_id", ASCENDING)], unique=True, name="provider_message_id"
        )
        await db.messages.create_index("dialog_id", name="dialog_id")
        await db.messages.create_index("contact_id", name="contact_id")  # forget_contact finds them by it
        dialogs = db.dialogs
        await dialogs.create_index(
            [("contact_id", ASCENDING), ("business_number", ASCENDING), ("last_message_at", DESCENDING)],
            name="contact_latest",
        )
        # The arbiter that keeps concurrent first messages from opening two dialogs.
        await dialogs.create_index(
            [("contact_id", ASCENDING), ("business_number", ASCENDING), ("seq", ASCENDING)],
            unique=True,
            name="contact_seq",
        )
        await dialogs.create_index([("business_number", ASCENDING), ("started_at", ASCENDING)], name="number_started")
        await dialogs.create_index("started_at", name="started_at")
        await dialogs.create_index("code", name="code")
        # Reports filtered by a tag: equality first, then the period (tags is an array: a multikey index).
        await dialogs.create_index([("tags", ASCENDING), ("started_at", ASCENDING)], name="tags_started")
        with contextlib.suppress(OperationFailure):  # (tags) alone, before schema 2: a prefix of the above
            await dialogs.drop_index("tags")
        await db.contacts.create_index("phone", name="phone")
        await db.visits.create_index("visitor_id", name="visitor_id")
        await db.clicks.create_index([("target", ASCENDING), ("at", ASCENDING)], name="target_at")
        await db.clicks.create_index("code", name="code")
        # Claims by kind: one range per kind, merged in due order (alerts and deliveries never scan each other).
        await db.outbox.create_index(
            [("sent_at", ASCENDING), ("kind", ASCENDING), ("next_attempt_at", ASCENDING)], name="kind_due"
        )
        with contextlib.suppress(OperationFailure):  # (sent_at, next_attempt_at), before schema 6
            await db.outbox.drop_index("due")
        await db.outbox.create_index("dialog_id", name="dialog_id")
        await db.aliases.create_index("contact_id", name="contact_id")  # keyed by the alias; forget asks by contact
        await db.count_marks.create_index("hour", name="hour")  # reports ask which hours of a period are marked
        # A reply in a team chat to an alert or a relayed message finds its dialog (dialog_by_bot_message).
        for field in ("sent", "relayed"):
            keys = [(f"{field}.chat", ASCENDING), (f"{field}.message", ASCENDING)]
            await db.alert_messages.create_index(keys, name=field)
        await self._ttl_index(db, "visits", "last_seen")
        await self._ttl_index(db, "clicks", "at")

    async def _ttl_index(self, db: AsyncDatabase[Doc], collection: str, field: str) -> None:
        """Expire documents after the retention; a changed retention is applied with collMod."""
        seconds = int(self.retention.total_seconds())
        name = f"{field}_ttl"
        try:
            await db[collection].create_index(field, name=name, expireAfterSeconds=seconds)
        except OperationFailure as exc:
            if exc.code != 85:  # IndexOptionsConflict: same index, another expireAfterSeconds
                raise
            await db.command({"collMod": collection, "index": {"name": name, "expireAfterSeconds": seconds}})

    async def close(self) -> None:
        for task in (self._repairs, self._startup_repair):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._repairs = self._startup_repair = None
        if self._client is not None:
            await self._client.close()
        self._client, self._db = None, None

    async def _reachable(self) -> None:
        """Before a long operation: an unreachable server must still fail within `timeout`, but under a
        longer `pymongo.timeout` server selection would wait as long as the operation may run."""
        with pymongo.timeout(self.timeout):
            await self.db.command("ping")

    async def ping(self) -> bool:
        if self._client is None:
            return False
        try:
            with pymongo.timeout(min(self.timeout, 2.0)):
                await self._client.admin.command("ping")
            return True
        except PyMongoError:
            return False

    async def check_writes(self, now: datetime) -> str | None:
        try:
            with pymongo.timeout(min(self.timeout, 2.0)):
                await self.db.meta.update_one({"_id": "write_check"}, {"$set": {"value": now}}, upsert=True)
        except (PyMongoError, StoreUnavailable) as exc:
            return f"a write fails: {exc}"
        return None

    def _as_stored(self, doc: Doc) -> Doc:
        """The document as a read would return it (BSON dates keep milliseconds only)."""
        return bson.decode(bson.encode(doc), codec_options=self._codec)

    # visits -------------------------------------------------------------------------------------

    @_unavailable_as_store_error
    async def record_page_view(self, view: PageView, budget: NewVisitBudget | None = None) -> str:
        # One round trip, a first view or a later one: an upsert on (code, visitor) whose $set, $max and $inc
        # are a later view's changes and give the opened visit's values on insert too; $setOnInsert has the
        # rest of what a first view tells (no path in two operators). Another visitor's code cannot match
        # and fails the insert on _id.
        visits = self.db.visits
        mine = {"_id": view.code, "visitor_id": view.visitor_id}
        merge: Doc = {"$set": {"current_page": view.url}, "$max": {"last_seen": view.at}, "$inc": {"pages_seen": 1}}
        opening = visit_document(opened_visit(view))
        for path in ("_id", "visitor_id", "current_page", "last_seen", "pages_seen"):
            del opening[path]
        while True:
            unit = None if budget is None else budget.reserve()
            if budget is not None and unit is None:
                # No visit may open now, but a later view of an open visit is merged whatever the budget.
                merged = await visits.update_one(mine, merge)
                if merged.matched_count:
                    return view.code
                budget.refuse()
                raise VisitBudgetSpent(view.code)
            try:
                result = await visits.update_one(mine, {**merge, "$setOnInsert": opening}, upsert=True)
            except DuplicateKeyError:
                # Either another visitor holds the code, or this visitor's first view won a race: merge.
                if budget is not None and unit is not None:
                    budget.give_back(unit)
                holder = await visits.find_one({"_id": view.code}, {"visitor_id": 1})
                if holder is not None and holder["visitor_id"] != view.visitor_id:
                    raise CodeTaken(view.code) from None
                continue
            if result.upserted_id is None and budget is not None and unit is not None:
                budget.give_back(unit)  # merged into an open visit: no new visit
            return view.code

    @_unavailable_as_store_error
    async def record_click(self, click: Click, visitor_id: str) -> bool:
        held = await self.db.visits.update_one(
            {"_id": click.code, "visitor_id": visitor_id},
            {"$set": {"attribution.contact_page": click.page}, "$max": {"last_seen": click.at}},
        )
        if not held.matched_count:
            return False
        # Two clicks at once may both see room for one more: the bound is loose by the clicks in flight.
        if (
            await self.db.clicks.count_documents({"code": click.code}, limit=CLICKS_KEPT_PER_VISIT)
            < CLICKS_KEPT_PER_VISIT
        ):
            await self.db.clicks.insert_one(
                {"code": click.code, "target": click.target, "page": click.page, "at": click.at}
                | ({"prefill": click.prefill} if click.prefill is not None else {})  # clicks without: no field
            )
        return True

    @_unavailable_as_store_error
    async def get_visit(self, code: str) -> Visit | None:
        doc = await self.db.visits.find_one({"_id": code})
        return None if doc is None else visit_from(doc)

    @_unavailable_as_store_error
    async def recent_clicks(self, target: str, since: datetime, until: datetime) -> list[Click]:
        cursor = self.db.clicks.find({"target": target, "at": {"$gte": since, "$lte": until}}).sort("at", ASCENDING)
        return [
            Click(code=d["code"], target=d["target"], page=d["page"], at=d["at"], prefill=d.get("prefill"))
            for d in await cursor.to_list()
        ]

    @_unavailable_as_store_error
    async def any_visit(self) -> bool:
        return await self.db.visits.find_one({}, {"_id": 1}) is not None

    @_unavailable_as_store_error
    async def delete_visits_before(self, cutoff: datetime) -> int:
        deleted = await self.db.visits.delete_many({"last_seen": {"$lt": cutoff}})
        await self.db.clicks.delete_many({"at": {"$lt": cutoff}})
        await self._scrub_expired_visit_copies(cutoff)
        return deleted.deleted_count

    async def _scrub_expired_visit_copies(self, cutoff: datetime) -> None:
        """Dialogs whose visit is gone keep what was derived from it, not the browser's address and string.
        The TTL index may have deleted the visits already, so the dialogs are found by their copy's
        last_seen (never later than the visit's own) and checked against the visits still kept. A scan of
        the older dialogs (once a day): dialogs are few beside visits."""
        dialogs = self.db.dialogs
        copies = dialogs.find(
            {
                "visit.last_seen": {"$lt": cutoff},
                "$or": [{"visit.ip": {"$ne": None}}, {"visit.user_agent": {"$ne": None}}],
            },
            {"code": 1},
        )
        found = {d["_id"]: d.get("code") for d in await copies.to_list()}
        live = self.db.visits.find({"_id": {"$in": list(set(found.values()))}}, {"_id": 1})
        kept = {v["_id"] for v in await live.to_list()}
        expired = [dialog_id for dialog_id, code in found.items() if code not in kept]
        if expired:
            await dialogs.update_many({"_id": {"$in": expired}}, {"$set": {"visit.ip": None, "visit.user_agent": None}})

    # dialogs ------------------------------------------------------------------------------------

    @_unavailable_as_store_error
    async def add_message(self, new: NewDialog) -> IngestResult:
        msg = new.message
        digest = erased_message_digest(self._erasure_key, msg.provider, msg.message_id)
        if await self.db.erased_messages.find_one({"_id": digest}, {"_id": 1}) is not None:
            return IngestResult(outcome=IngestOutcome.ERASED, dialog=new.draft)
        token = uuid.uuid4().hex
        fields: Doc = {
            "contact_id": msg.contact_id,
            "business_number": msg.business_number,
            "received_at": msg.received_at,
            "text": msg.text,
            "state": PENDING,
            "decision": None,
            "dialog_id": None,
        }
        # An insert written as an upsert, so that the claim is dated by the server's clock ($currentDate):
        # no document has this fresh owner, so it inserts, or fails on the unique (provider, message_id)
        # index when the message is known (MongoDB retries an upsert's duplicate key only when the filter
        # is exactly the unique key's fields, which `owner` is not).
        claim = {"provider": msg.provider, "message_id": msg.message_id, "owner": token}
        try:
            result = await self.db.messages.update_one(
                claim, {"$setOnInsert": fields, "$currentDate": {"claimed_at": True}}, upsert=True
            )
        except DuplicateKeyError:
            return await self._settle_duplicate(new)
        if result.upserted_id is None:  # cannot happen (the owner is new); treat as known
            return await self._settle_duplicate(new)
        return await self._complete(new, result.upserted_id, token, None)

    async def _settle_duplicate(self, new: NewDialog) -> IngestResult:
        """The message is known: wait for the copy storing it, or take over from a copy that died."""
        msg = new.message
        deadline = time.monotonic() + self.duplicate_wait
        delay = 0.005
        while True:
            doc = await self.db.messages.find_one({"provider": msg.provider, "message_id": msg.message_id})
            if doc is None:  # removed meanwhile (never by chattrack): store it afresh
                return await self.add_message(new)
            if doc["state"] == DONE:
                dialog = await self.get_dialog(doc["dialog_id"])
                if dialog is None:
                    raise RuntimeError(f"message {msg.message_id} points at a missing dialog {doc['dialog_id']}")
                return IngestResult(outcome=IngestOutcome.DUPLICATE, dialog=dialog)
            if await self._server_time() - doc["claimed_at"] >= timedelta(seconds=self.claim_timeout):
                token = await self._take_over(doc)
                if token is not None:
                    recorded = doc.get("decision")
                    return await self._complete(new, doc["_id"], token, recorded and Decision.from_doc(recorded))
                continue
            if time.monotonic() >= deadline:
                raise StoreUnavailable(f"message {msg.provider}/{msg.message_id} is still being stored by another copy")
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.1)

    async def _server_time(self) -> datetime:
        """The server's clock: claims are dated by it ($currentDate), so staleness is judged by it alone,
        whatever the clocks of the copies say."""
        hello = await self.db.command("hello", codec_options=self._codec)
        return cast(datetime, hello["localTime"])

    async def _take_over(self, doc: Doc) -> str | None:
        """Become the owner of a stalled message in the state that was read: same owner, same recorded
        decision (or still none). Were a decision recorded meanwhile by the owner, taking over the state
        read without it would decide a second time; the caller reads again instead."""
        token = uuid.uuid4().hex
        pinned: Doc = {"_id": doc["_id"], "owner": doc["owner"], "state": PENDING}
        recorded = doc.get("decision")
        if recorded is None:
            pinned["decision"] = None
        else:  # every field of it (dotted paths: equal whatever the order of the fields)
            pinned.update({f"decision.{name}": value for name, value in recorded.items()})
        taken = await self.db.messages.update_one(
            pinned, {"$set": {"owner": token}, "$currentDate": {"claimed_at": True}}
        )
        return token if taken.modified_count == 1 else None

    async def _complete(self, new: NewDialog, message_oid: Any, token: str, decision: Decision | None) -> IngestResult:
        """Decide (unless a recorded decision is being resumed), record, carry out, mark done."""
        msg = new.message
        ref = str(message_oid)
        for _ in range(20):
            if decision is None:
                decision = await self._decide(new)
                recorded = await self.db.messages.update_one(
                    {"_id": message_oid, "owner": token},
                    {"$set": {"decision": decision.as_doc(), "dialog_id": decision.dialog_id}},
                )
                if recorded.matched_count == 0:  # another copy took this message over
                    return await self._settle_duplicate(new)
            if decision.opens:
                draft = new.draft.model_copy(
                    update={
                        "id": decision.dialog_id,
                        "is_repeat": decision.is_repeat,
                        "alert_withheld": decision.alert_withheld,
                    }
                )
                dialog = await self._open_dialog(draft, decision.seq)
                if dialog is None:  # another message opened this contact's next dialog first
                    decision = None
                    continue
                chats = [] if decision.alert_withheld else new.alert_chats
                await self._queue_alerts(dialog, chats, msg.received_at, new.reminder_after)
                await self._queue(opening_deliveries(new, dialog.id))
                outcome = IngestOutcome.NEW_DIALOG
            else:
                dialog = await self._append(decision.dialog_id, ref, msg.received_at, msg.text)
                outcome = IngestOutcome.APPENDED
            await self.db.messages.update_one({"_id": message_oid, "owner": token}, {"$set": {"state": DONE}})
            return IngestResult(outcome=outcome, dialog=dialog)
        raise StoreUnavailable(f"message {msg.provider}/{msg.message_id}: too many concurrent dialog openings")

    async def _decide(self, new: NewDialog) -> Decision:
        msg, draft = new.message, new.draft
        owned = {"contact_id": msg.contact_id, "business_number": msg.business_number}
        # The highest seq is read before the latest dialog: a dialog opened in between is then either
        # seen and joined, or its seq collides with ours and the insert sends us back here.
        top = await self.db.dialogs.find_one(owned, {"seq": 1}, sort=[("seq", DESCENDING)])
        latest = await self.db.dialogs.find_one(
            owned, {"last_message_at": 1, "code": 1}, sort=[("last_message_at", DESCENDING)]
        )
        if (
            latest is not None
            and msg.received_at - latest["last_message_at"] < new.dialog_gap
            and (draft.code is None or draft.code == latest.get("code"))
        ):
            return Decision(dialog_id=latest["_id"], opens=False)
        seq = (0 if top is None else int(top["seq"])) + 1
        is_repeat = not await self._first_dialog_of_contact(new, seq)
        # Dialogs with other business numbers are opened beside this one, not serialised with it: a flood
        # to two numbers at the same instant may bring one alert more.
        starts = self.db.dialogs.find({"contact_id": msg.contact_id}, {"_id": 0, "started_at": 1})
        recent = [
            d["started_at"] for d in await starts.sort("started_at", DESCENDING).limit(ALERTS_PER_CONTACT).to_list()
        ]
        withheld = alert_withheld(recent, msg.received_at)
        return Decision(dialog_id=draft.id, opens=True, seq=seq, is_repeat=is_repeat, alert_withheld=withheld)

    async def _first_dialog_of_contact(self, new: NewDialog, seq: int) -> bool:
        """The contact's document names its first dialog (number + seq); the first to insert it wins."""
        msg = new.message
        first = f"{msg.business_number}#{seq}"
        try:
            await self.db.contacts.insert_one(
                {
                    "_id": msg.contact_id,
                    "phone": msg.contact_phone,
                    "name": msg.contact_name,
                    "first_dialog": first,
                    "first_seen": msg.received_at,
                }
            )
            return True
        except DuplicateKeyError:
            contact = await self.db.contacts.find_one({"_id": msg.contact_id}, {"first_dialog": 1})
            return contact is not None and contact.get("first_dialog") == first

    async def _open_dialog(self, dialog: Dialog, seq: int) -> Dialog | None:
        """Insert the dialog; None when another dialog took this seq (the caller decides again)."""
        doc = dialog_document(dialog, seq)
        hours = [mongo_counts.hour_of(dialog.started_at)]
        token = await mongo_counts.mark(self.db, hours)
        try:
            await self.db.dialogs.insert_one(doc)
        except DuplicateKeyError:
            await mongo_counts.unmark(self.db, token, hours)  # not inserted by this attempt: nothing to count
            existing = await self.db.dialogs.find_one({"_id": dialog.id}, DIALOG_PROJECTION)
            return None if existing is None else dialog_from(existing)  # inserted by an earlier attempt
        await mongo_counts.apply(self.db, mongo_counts.contribution(doc))
        await mongo_counts.unmark(self.db, token, hours)
        return dialog_from(self._as_stored(doc))

    async def _queue_alerts(
        self, dialog: Dialog, chats: list[int], at: datetime, reminder_after: timedelta | None = None
    ) -> None:
        # One id per (dialog, chat), and per dialog for its reminder: re-queueing after a crash inserts
        # nothing twice.
        def item(item_id: str, chat_id: int, kind: str, due: datetime) -> Doc:
            return {
                "_id": item_id,
                "dialog_id": dialog.id,
                "chat_id": chat_id,
                "kind": kind,
                "attempts": 0,
                "next_attempt_at": due,
                "lease_until": None,
                "created_at": at,
                "sent_at": None,
                "last_error": None,
            }

        items = [item(f"{dialog.id}:{chat_id}", chat_id, LEAD_ALERT, at) for chat_id in dict.fromkeys(chats)]
        if not items:
            return
        if reminder_after is not None:  # to the team (chat 0), whoever got the alert
            items.append(item(f"{dialog.id}:reminder", 0, TAKE_REMINDER, dialog.started_at + reminder_after))
        try:
            await self.db.outbox.insert_many(items, ordered=False)
        except BulkWriteError as exc:
            if any(error.get("code") != 11000 for error in exc.details.get("writeErrors", [])):
                raise

    async def _append(self, dialog_id: str, ref: str, at: datetime, text: str = "") -> Dialog:
        """Count the message into the dialog once, even when an earlier attempt already did; its text
        becomes the dialog's first message while that is "" (a second round trip only then)."""
        doc = await self.db.dialogs.find_one_and_update(
            {"_id": dialog_id, "appended": {"$ne": ref}},
            {
                "$max": {"last_message_at": at},
                "$inc": {"message_count": 1},
                "$push": {"appended": {"$each": [ref], "$slice": -APPENDED_KEPT}},
            },
            projection=DIALOG_PROJECTION,
            return_document=ReturnDocument.AFTER,
        )
        if doc is None:
            doc = await self.db.dialogs.find_one({"_id": dialog_id}, DIALOG_PROJECTION)
        if doc is None:
            raise RuntimeError(f"dialog {dialog_id} vanished")
        if text and not doc.get("first_message"):
            filled = await self.db.dialogs.find_one_and_update(
                {"_id": dialog_id, "first_message": ""},  # a message joining at the same time may fill it first
                {"$set": {"first_message": text}},
                projection=DIALOG_PROJECTION,
                return_document=ReturnDocument.AFTER,
            )
            doc = filled or await self.db.dialogs.find_one({"_id": dialog_id}, DIALOG_PROJECTION) or doc
        return dialog_from(doc)

    @_unavailable_as_store_error
    async def get_dialog(self, dialog_id: str) -> Dialog | None:
        doc = await self.db.dialogs.find_one({"_id": dialog_id}, DIALOG_PROJECTION)
        return None if doc is None else dialog_from(doc)

    @_unavailable_as_store_error
    async def find_dialogs(
        self, *, code: str | None = None, contact_id: str | None = None, limit: int = 20
    ) -> list[Dialog]:
        where: Doc = {}
        if code is not None:
            where["code"] = code
        if contact_id is not None:
            where["contact_id"] = contact_id
        cursor = self.db.dialogs.find(where, DIALOG_PROJECTION).sort("started_at", DESCENDING).limit(limit)
        return [dialog_from(d) for d in await cursor.to_list()]

    @_unavailable_as_store_error
    async def list_dialogs(self, start: datetime, end: datetime, limit: int = 1000) -> list[Dialog]:
        cursor = (
            self.db.dialogs.find({"started_at": {"$gte": start, "$lt": end}}, DIALOG_PROJECTION)
            .sort("started_at", ASCENDING)
            .limit(limit)
        )
        return [dialog_from(d) for d in await cursor.to_list()]

    @_unavailable_as_store_error
    async def unattributed_dialogs(
        self, business_number: str, start: datetime, end: datetime, limit: int = 50
    ) -> list[Dialog]:
        where = {
            "business_number": business_number,
            "started_at": {"$gte": start, "$lt": end},
            "status": AttributionStatus.NONE.value,
        }
        cursor = self.db.dialogs.find(where, DIALOG_PROJECTION).sort("started_at", ASCENDING).limit(limit)
        return [dialog_from(d) for d in await cursor.to_list()]

    @_unavailable_as_store_error
    async def browse_dialogs(
        self,
        *,
        before: DialogPosition | None = None,
        after: DialogPosition | None = None,
        name: str | None = None,
        limit: int = 20,
        scan: int = NAME_SCAN,
    ) -> DialogBrowse:
        older = after is None
        position = before if older else after
        if name is None:
            docs = await self._in_order(position, older, limit, DIALOG_PROJECTION)
            return DialogBrowse(dialogs=[dialog_from(d) for d in docs])
        # A substring has no index: read the names of at most `scan` dialogs, in order, and keep the matches.
        needle = name.casefold()
        seen = await self._in_order(position, older, scan, {"started_at": 1, "contact_name": 1})
        matched = [d["_id"] for d in seen if needle in (d.get("contact_name") or "").casefold()][:limit]
        found = {d["_id"]: dialog_from(d) for d in await self.db.dialogs.find({"_id": {"$in": matched}}).to_list()}
        reached = None
        if len(matched) < limit and len(seen) == scan:
            reached = DialogPosition(started_at=seen[-1]["started_at"], dialog_id=seen[-1]["_id"])
        return DialogBrowse(dialogs=[found[i] for i in matched if i in found], scanned_to=reached)

    async def _in_order(
        self, position: DialogPosition | None, older: bool, count: int, projection: Mapping[str, int]
    ) -> list[Doc]:
        """Up to `count` dialog documents past `position`, by (started_at, _id), newest first when `older`.
        On the started_at index alone: the ties at the position and at the page's edge are read apart, in
        id order, so no dialog of an instant is skipped or shown twice whatever the page cuts."""
        sign, past = (DESCENDING, "$lt") if older else (ASCENDING, "$gt")
        found: list[Doc] = []
        later: Doc = {}
        if position is not None:
            ties = {"started_at": position.started_at, "_id": {past: position.dialog_id}}
            found = await self.db.dialogs.find(ties, projection).sort("_id", sign).limit(count).to_list()
            if len(found) >= count:
                return found[:count]
            later = {"started_at": {past: position.started_at}}
        wanted = count - len(found)
        rest = await self.db.dialogs.find(later, projection).sort("started_at", sign).limit(wanted).to_list()
        if len(rest) == wanted:  # the last instant may be cut: read it whole, in id order
            edge = rest[-1]["started_at"]
            group = self.db.dialogs.find({"started_at": edge}, projection).sort("_id", sign).limit(wanted)
            rest = [d for d in rest if d["started_at"] != edge] + await group.to_list()
        rest.sort(key=lambda d: (d["started_at"], d["_id"]), reverse=older)
        return found + rest[:wanted]

    @_unavailable_as_store_error
    async def set_tags(self, dialog_id: str, tags: list[str], deliveries: Sequence[OutboxItem] = ()) -> Dialog | None:
        fields: Doc = {"tags": sorted(set(tags))}
        if SALE_TAG not in fields["tags"]:  # the tag and the sales go together
            fields["sales"] = []
        changed = await self._counted_update({"_id": dialog_id}, fields)
        if changed is None:
            return None
        await self._queue(deliveries)
        doc = await self.db.dialogs.find_one({"_id": dialog_id}, DIALOG_PROJECTION)
        return None if doc is None else dialog_from(doc)

    async def _counted_update(self, where: Doc, fields: Doc) -> Doc | None:
        """$set fields of one dialog and move its report counts along; the document as it was, or None."""
        found = await self.db.dialogs.find_one({"_id": where["_id"]}, {"started_at": 1})
        if found is None:
            return None
        hours = [mongo_counts.hour_of(found["started_at"])]  # a dialog never changes its hour
        token = await mongo_counts.mark(self.db, hours)
        before = await self.db.dialogs.find_one_and_update(
            where, {"$set": fields}, projection=mongo_counts.COUNTED_PROJECTION, return_document=ReturnDocument.BEFORE
        )
        if before is not None:
            after = {**before, **fields}
            await mongo_counts.apply(self.db, mongo_counts.delta([before], [after]))
        await mongo_counts.unmark(self.db, token, hours)
        return before

    async def _counted_change(self, where: Doc, update: Doc, tags: Callable[[list[str]], list[str]]) -> Doc | None:
        """Apply `update` to the one dialog `where` finds and move its report counts along, its tags after
        being `tags(its tags before)`; the counted fields as they were, or None when nothing matched."""
        found = await self.db.dialogs.find_one({"_id": where["_id"]}, {"started_at": 1})
        if found is None:
            return None
        hours = [mongo_counts.hour_of(found["started_at"])]
        token = await mongo_counts.mark(self.db, hours)
        before = await self.db.dialogs.find_one_and_update(
            where, update, projection=mongo_counts.COUNTED_PROJECTION, return_document=ReturnDocument.BEFORE
        )
        if before is not None:
            after = {**before, "tags": tags(list(before.get("tags") or []))}
            await mongo_counts.apply(self.db, mongo_counts.delta([before], [after]))
        await mongo_counts.unmark(self.db, token, hours)
        return before

    @_unavailable_as_store_error
    async def telegram_contacts(self, username: str) -> list[str]:
        if not TELEGRAM_USERNAME.fullmatch(username):
            return []
        named = {
            "contact_id": {"$regex": "^tg:"},
            "contact_name": {"$regex": r"\(@" + username + r"\)$", "$options": "i"},  # [A-Za-z0-9_] only
        }
        return sorted({d["contact_id"] for d in await self.db.dialogs.find(named, {"contact_id": 1}).to_list()})

    @_unavailable_as_store_error
    async def forget_contact(self, contact_id: str) -> int:
        await self._reachable()
        with pymongo.timeout(self.erase_timeout):  # deletes from every collection: may take long
            return await self._forget_contact(contact_id)

    async def _forget_contact(self, contact_id: str) -> int:
        db = self.db
        dialogs = await db.dialogs.find({"contact_id": contact_id}, {"code": 1}).to_list()
        ids = [d["_id"] for d in dialogs]
        codes = [d["code"] for d in dialogs if d.get("code")]
        messages = forgotten_messages(contact_id, ids)
        erased = [
            {"_id": erased_message_digest(self._erasure_key, m["provider"], m["message_id"])}
            async for m in db.messages.find(messages, {"provider": 1, "message_id": 1})
        ]
        if erased:  # kept before the messages go: an interrupted forget, retried, finds them again
            try:
                await db.erased_messages.insert_many(erased, ordered=False)
            except BulkWriteError as exc:  # erased before (a retried forget): already kept
                if any(error.get("code") != 11000 for error in exc.details.get("writeErrors", [])):
                    raise
        await db.messages.delete_many(messages)
        await db.outbox.delete_many({"dialog_id": {"$in": ids}})
        await db.alert_messages.delete_many({"_id": {"$in": ids}})
        # Every visit of the same browsers goes too, with its clicks.
        visitors = await db.visits.distinct("visitor_id", {"_id": {"$in": codes}})
        visit_codes = [v["_id"] for v in await db.visits.find({"visitor_id": {"$in": visitors}}, {"_id": 1}).to_list()]
        await db.clicks.delete_many({"code": {"$in": [*codes, *visit_codes]}})
        await db.visits.delete_many({"visitor_id": {"$in": visitors}})
        await db.contacts.delete_one({"_id": contact_id})
        await db.aliases.delete_many({"$or": [{"contact_id": contact_id}, {"_id": contact_id}]})
        # Dialogs last: were this interrupted, a retry still finds what is left through them. One at a time,
        # so that exactly the dialogs this call deleted leave the report counts.
        counted = await db.dialogs.find({"_id": {"$in": ids}}, {"started_at": 1}).to_list()
        hours = [mongo_counts.hour_of(d["started_at"]) for d in counted]
        token = await mongo_counts.mark(db, hours)
        deleted = []
        for dialog_id in ids:
            gone = await db.dialogs.find_one_and_delete({"_id": dialog_id}, projection=mongo_counts.COUNTED_PROJECTION)
            if gone is not None:
                deleted.append(gone)
        await mongo_counts.apply(db, mongo_counts.delta(deleted, []))
        await mongo_counts.unmark(db, token, hours)
        # Again, the dialogs gone: a delivery queued meanwhile (its dialog still there) is never sent.
        await db.outbox.delete_many({"dialog_id": {"$in": ids}})
        return len(deleted)

    @_unavailable_as_store_error
    async def count_dialogs(self, query: CountQuery) -> list[CountRow]:
        _check_fields(query)
        await self._reachable()
        with pymongo.timeout(self.report_timeout):
            shape = rollups.shape_for(query)
            if shape is None or not await self._counts_ready():
                return await self._count_raw(query)
            return await self._count_kept(query, shape)

    async def _count_raw(self, query: CountQuery) -> list[CountRow]:
        groups = await (await self.db.dialogs.aggregate(count_pipeline(query))).to_list()
        return count_rows(query, groups)

    async def _counts_ready(self) -> bool:
        state = await self.db.meta.find_one({"_id": mongo_counts.STATE})
        return state is not None and state["value"] == mongo_counts.READY

    async def _count_kept(self, query: CountQuery, shape: str) -> list[CountRow]:
        """Whole days and hours from the kept counts (tracking/store/mongo_counts.py), added up here; the
        part-hours at the edges and marked hours from the dialogs (a long stretch of them by aggregation)."""
        dirty = await mongo_counts.dirty_hours(self.db, query.start, query.end)
        reads, raw = mongo_counts.split(query, dirty)
        totals: mongo_counts.Totals = {}
        mongo_counts.tally(query, await mongo_counts.read_rows(self.db, shape, reads), totals)
        for start, end in raw:
            if end - start > mongo_counts.RAW_IN_PYTHON:
                part = query.model_copy(update={"start": start, "end": end})
                for row in await self._count_raw(part):
                    total = totals.setdefault((tuple(row.key.values()), row.bucket), [0, 0])
                    total[0] += row.dialogs
                    total[1] += row.repeat
            else:
                mongo_counts.tally(query, await mongo_counts.raw_rows(self.db, shape, start, end), totals)
        return [
            CountRow(key=dict(zip(query.group_by, key, strict=True)), bucket=bucket, dialogs=n, new=n - r, repeat=r)
            for (key, bucket), (n, r) in sorted(totals.items(), key=repr)
            if n
        ]

    async def _repair_counts_every_interval(self) -> None:
        while True:
            await asyncio.sleep(self.count_repair_interval)
            await self._repair_in_background()

    async def _repair_in_background(self) -> bool:
        try:
            return await self.repair_counts()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("repairing the report counts failed; tried again in %s s", self.count_repair_interval)
            return False

    @_unavailable_as_store_error
    async def repair_counts(self, stale: float | None = None) -> bool:
        """Recount the hours a change marked and left (a crash, a migration, a time-zone change) older than
        `stale` (default count_stale); True when no mark is left."""
        with pymongo.timeout(self.build_timeout):
            return await mongo_counts.repair(self.db, self.count_stale if stale is None else stale)

    async def mark_counts(self, started: list[datetime]) -> None:
        """Before a bulk rewrite of dialogs' counted fields behind the counts' back: mark their hours for the
        repair (reports count them raw until then). Call repair_counts(stale=0) at the end."""
        await mongo_counts.mark(self.db, {mongo_counts.hour_of(moment) for moment in started}, at=0)

    @_unavailable_as_store_error
    async def recompute_buckets(self, zone: ZoneInfo, batch: int = 1000) -> int:
        """Re-derive every dialog's local buckets for `zone` (after the time zone changed)."""
        await self._reachable()
        with pymongo.timeout(self.build_timeout):  # reads every dialog
            return await self._recompute_buckets(zone, batch)

    async def _recompute_buckets(self, zone: ZoneInfo, batch: int) -> int:
        changed = 0
        updates: list[UpdateOne] = []
        started: list[datetime] = []
        async for doc in self.db.dialogs.find({}, {"started_at": 1, "buckets": 1}):
            buckets = buckets_for(doc["started_at"], zone).model_dump()
            if doc.get("buckets") != buckets:
                updates.append(UpdateOne({"_id": doc["_id"]}, {"$set": {"buckets": buckets}}))
                started.append(doc["started_at"])
            if len(updates) >= batch:
                await self.mark_counts(started)  # the counts move with them: their hours are recounted
                changed += (await self.db.dialogs.bulk_write(updates, ordered=False)).modified_count
                updates, started = [], []
        if updates:
            await self.mark_counts(started)
            changed += (await self.db.dialogs.bulk_write(updates, ordered=False)).modified_count
        if changed:
            await mongo_counts.repair(self.db, self.count_stale)
        return changed

    # outbox -------------------------------------------------------------------------------------

    @_unavailable_as_store_error
    async def claim_alerts(
        self, now: datetime, lease: timedelta, limit: int = 20, kinds: Sequence[str] = ALERT_KINDS
    ) -> list[OutboxItem]:
        # One index range of (sent_at, kind, next_attempt_at) per kind, as SQLite claims: the earliest due
        # of each kind is looked at, and the earliest of those claimed (another copy may take it first:
        # then the next of its kind is).
        def claimable(kind: str) -> Doc:
            return {
                "sent_at": None,
                "kind": kind,
                "next_attempt_at": {"$lte": now},
                "$or": [{"lease_until": None}, {"lease_until": {"$lte": now}}],
            }

        async def head(kind: str) -> datetime | None:
            doc = await self.db.outbox.find_one(
                claimable(kind), {"next_attempt_at": 1}, sort=[("next_attempt_at", ASCENDING)]
            )
            return None if doc is None else cast(datetime, doc["next_attempt_at"])

        heads = {kind: await head(kind) for kind in dict.fromkeys(kinds)}
        claimed: list[OutboxItem] = []
        while len(claimed) < limit:
            waiting = [(due, kind) for kind, due in heads.items() if due is not None]
            if not waiting:
                break
            kind = min(waiting)[1]
            doc = await self.db.outbox.find_one_and_update(
                claimable(kind),
                {"$set": {"lease_until": now + lease}, "$inc": {"attempts": 1}},
                sort=[("next_attempt_at", ASCENDING)],
                return_document=ReturnDocument.AFTER,
            )
            if doc is not None:
                claimed.append(outbox_from(doc))
            heads[kind] = None if doc is None else await head(kind)
        return claimed

    @_unavailable_as_store_error
    async def alert_sent(self, item_id: str, now: datetime) -> None:
        await self.delivery_done(item_id, now, DeliveryOutcome.SENT, None)

    @_unavailable_as_store_error
    async def alert_failed(self, item_id: str, next_attempt_at: datetime, error: str) -> None:
        await self.db.outbox.update_one(
            {"_id": item_id},
            {"$set": {"next_attempt_at": next_attempt_at, "lease_until": None, "last_error": error[:500]}},
        )

    @_unavailable_as_store_error
    async def pending_alerts(self, kinds: Sequence[str] = ALERT_KINDS) -> int:
        # A take reminder waiting for its time is no backlog: it counts once due.
        due = {"$or": [{"kind": {"$ne": TAKE_REMINDER}}, {"next_attempt_at": {"$lte": utc_now()}}]}
        return await self.db.outbox.count_documents({"sent_at": None, "kind": {"$in": list(kinds)}, **due})

    # The Telegram messages the bot sent about a dialog, one document per dialog: {_id: dialog id, sent:
    # [{chat, message}, …] (its alerts, in the order sent), relayed: [{chat, message}, …] (a bot customer's
    # messages relayed to team chats)}. Before schema 5 alerts were kept as messages: [[chat, message], …];
    # those are still listed, but a reply to one is not traced back to its dialog (no index has them).

    @_unavailable_as_store_error
    async def alert_message_sent(self, dialog_id: str, chat_id: int, message_id: int) -> None:
        await self.db.alert_messages.update_one(
            {"_id": dialog_id}, {"$addToSet": {"sent": {"chat": chat_id, "message": message_id}}}, upsert=True
        )

    @_unavailable_as_store_error
    async def alert_messages(self, contact_id: str) -> list[tuple[int, int]]:
        ids = [d["_id"] for d in await self.db.dialogs.find({"contact_id": contact_id}, {"_id": 1}).to_list()]
        docs = await self.db.alert_messages.find({"_id": {"$in": ids}}, {"messages": 1, "sent": 1}).to_list()
        return sorted(pair for doc in docs for pair in alert_copies(doc))

    @_unavailable_as_store_error
    async def relay_messages(self, contact_id: str) -> list[tuple[int, int]]:
        ids = [d["_id"] for d in await self.db.dialogs.find({"contact_id": contact_id}, {"_id": 1}).to_list()]
        docs = await self.db.alert_messages.find({"_id": {"$in": ids}}, {"relayed": 1}).to_list()
        return sorted((int(r["chat"]), int(r["message"])) for doc in docs for r in doc.get("relayed", []))

    # A job is {_id: key, claimed_at, lease_until, done_at (only once finished)}. A claim is one upsert: it
    # takes over the document when unfinished with an expired lease; when none matches, the upsert inserts
    # one and `_id`'s uniqueness turns "the key exists (done, or leased to another)" into DuplicateKeyError.
    # Concurrent claimers: single-document updates are atomic, so after the first takes the lease the
    # filter no longer matches for the others. A document from before leases ({_id, claimed_at}) has no
    # lease_until, which `$lte` never matches: it counts as done, as the old claim meant "sent or given up".
    # `done_at` is absent rather than null until finished: the equality {done_at: None} would be copied
    # into the upserted document, and `$exists` says what is meant.

    # Deliveries and sales (issue 19). A delivery is an outbox document like an alert, with its own fields
    # (outbox_document), kept once done with `outcome`. Sales are embedded in their dialog's document
    # (sale_document), so every read of a dialog has them; a change of them and the "sale" tag is one
    # update of that document. Without transactions the deliveries it queues are written right after it:
    # a copy dying in between loses them, never sends one for a change not stored.

    async def _queue(self, items: Sequence[OutboxItem]) -> int:
        """Insert outbox items (an id already queued keeps its item) of dialogs that exist; how many were
        new. Checked again after the insert: were the dialog erased meanwhile (forget deletes the outbox
        again after the dialogs), its items go too."""
        if not items:
            return 0
        dialog_ids = list({item.dialog_id for item in items})
        known = {d["_id"] for d in await self.db.dialogs.find({"_id": {"$in": dialog_ids}}, {"_id": 1}).to_list()}
        docs = [outbox_document(item) for item in items if item.dialog_id in known]
        if not docs:
            return 0
        try:
            inserted = len((await self.db.outbox.insert_many(docs, ordered=False)).inserted_ids)
        except BulkWriteError as exc:
            if any(error.get("code") != 11000 for error in exc.details.get("writeErrors", [])):
                raise
            inserted = int(exc.details.get("nInserted", 0))
        still = {d["_id"] for d in await self.db.dialogs.find({"_id": {"$in": list(known)}}, {"_id": 1}).to_list()}
        if known - still:
            await self.db.outbox.delete_many({"dialog_id": {"$in": list(known - still)}})
        return inserted

    @_unavailable_as_store_error
    async def delivery_done(self, item_id: str, now: datetime, outcome: DeliveryOutcome, note: str | None) -> None:
        done = {"sent_at": now, "outcome": outcome.value, "last_error": None if note is None else note[:500]}
        await self.db.outbox.update_one({"_id": item_id}, {"$set": {**done, "lease_until": None}})

    @_unavailable_as_store_error
    async def queue_deliveries(self, deliveries: Sequence[OutboxItem]) -> int:
        return await self._queue(deliveries)

    @_unavailable_as_store_error
    async def dialog_deliveries(self, dialog_id: str) -> list[OutboxItem]:
        cursor = self.db.outbox.find({"dialog_id": dialog_id, "kind": {"$in": list(DELIVERY_KINDS)}})
        docs = await cursor.to_list()
        docs.sort(key=lambda d: (d["created_at"], d["_id"]))  # a dialog has a few
        return [outbox_from(d) for d in docs]

    @_unavailable_as_store_error
    async def add_sale(self, dialog_id: str, sale: Sale, deliveries: Sequence[OutboxItem] = ()) -> Dialog | None:
        added = await self._counted_change(
            {"_id": dialog_id, "sales.id": {"$ne": sale.id}},  # a sale stored before changes nothing
            {"$push": {"sales": sale_document(sale)}, "$addToSet": {"tags": SALE_TAG}},
            lambda tags: tags if SALE_TAG in tags else [*tags, SALE_TAG],
        )
        if added is not None:
            await self._queue(deliveries)
        return await self.get_dialog(dialog_id)

    @_unavailable_as_store_error
    async def update_sale(self, dialog_id: str, sale_id: str, amount: Decimal | None, currency: str) -> Dialog | None:
        now = utc_now()
        doc = await self.db.dialogs.find_one_and_update(
            {"_id": dialog_id, "sales.id": sale_id},
            {"$set": {"sales.$.amount": None if amount is None else str(amount), "sales.$.currency": currency}},
            projection=DIALOG_PROJECTION,
            return_document=ReturnDocument.AFTER,
        )
        if doc is None:
            return None
        if amount is not None:  # its deliveries waited for the amount (deliveries.sale_due): due now
            await self.db.outbox.update_many(
                {"dialog_id": dialog_id, "sale_id": sale_id, "sent_at": None, "next_attempt_at": {"$gt": now}},
                {"$set": {"next_attempt_at": now}},
            )
        return dialog_from(doc)

    @_unavailable_as_store_error
    async def remove_sale(self, dialog_id: str, sale_id: str) -> Dialog | None:
        removed = await self.db.dialogs.find_one_and_update(
            {"_id": dialog_id, "sales.id": sale_id}, {"$pull": {"sales": {"id": sale_id}}}, projection={"_id": 1}
        )
        if removed is not None:  # the last sale takes the tag, unless a sale was added meanwhile
            await self._counted_change(
                {"_id": dialog_id, "sales": {"$size": 0}, "tags": SALE_TAG},
                {"$pull": {"tags": SALE_TAG}},
                lambda tags: [tag for tag in tags if tag != SALE_TAG],
            )
        return await self.get_dialog(dialog_id)

    @_unavailable_as_store_error
    async def sale_rows(self, query: CountQuery, limit: int = 200_000) -> list[SaleRow]:
        # count_dialogs' first $match, and the "sale" tag every dialog with sales carries: the (tags,
        # started_at) index reads just those dialogs of the period.
        match = count_pipeline(query.model_copy(update={"group_by": [], "bucket": None}))[0]["$match"]
        sold = conjunction([match, {"tags": SALE_TAG}, {"sales.0": {"$exists": True}}])
        fields = {"started_at": 1, "status": 1, "attribution": 1, "tags": 1, "sales": 1}
        await self._reachable()
        with pymongo.timeout(self.report_timeout):
            docs = await self.db.dialogs.find(sold, fields).sort("started_at", ASCENDING).limit(limit).to_list()
        docs.sort(key=lambda d: (d["started_at"], d["_id"]))
        rows = [
            _sale_row(query, doc, sale)
            for doc in docs
            for sale in sorted(doc["sales"], key=lambda s: (s["at"], s["id"]))
        ]
        return rows[:limit]

    # Ad spend: {_id: JSON [day, origin, source, campaign id or name, ad id], fields of Cost, amount as exact
    # text, seq}. The day leads the _id, so a period is a range of _id (no index of its own). Without
    # transactions a save is made whole by a journal: the batch is first inserted as ONE document in
    # cost_batches (atomic), then applied row by row and the journal removed. A copy dying half-way leaves the
    # journal, which the next cost_rows or save_costs applies first. `seq` orders batches: a row is replaced
    # only by a later batch, so applying an old journal again never undoes a newer import.

    @_unavailable_as_store_error
    async def save_costs(self, costs: Sequence[Cost]) -> int:
        rows = [
            {"_id": json.dumps([key[1], key[0], *key[2:]], ensure_ascii=False), **_cost_doc(cost)}
            for key, cost in latest_by_key(costs).items()
        ]
        if not rows:
            return 0
        await self._apply_cost_journals()
        batch = {"_id": f"{time.time_ns():020d}-{uuid.uuid4().hex}", "rows": rows}
        await self.db.cost_batches.insert_one(batch)
        await self._apply_cost_batch(batch)
        return len(rows)

    async def _apply_cost_journals(self) -> None:
        async for batch in self.db.cost_batches.find({}).sort("_id", ASCENDING):
            await self._apply_cost_batch(batch)

    async def _apply_cost_batch(self, batch: Doc) -> None:
        seq = batch["_id"]
        writes = [
            UpdateOne({"_id": row["_id"], "seq": {"$lt": seq}}, {"$set": {**_without_id(row), "seq": seq}}, upsert=True)
            for row in batch["rows"]
        ]
        for start in range(0, len(writes), COST_WRITES):
            try:
                await self.db.costs.bulk_write(writes[start : start + COST_WRITES], ordered=False)
            except BulkWriteError as exc:  # 11000: a later batch holds that row (the filter missed, upsert collided)
                if any(error.get("code") != 11000 for error in exc.details.get("writeErrors", [])):
                    raise
        await self.db.cost_batches.delete_one({"_id": seq})

    @_unavailable_as_store_error
    async def cost_rows(self, start: date, end: date) -> list[CostRow]:
        await self._apply_cost_journals()
        # Every _id begins ["YYYY-MM-DD", so ids of days in [start, end) sort between these two prefixes.
        where = {"_id": {"$gte": f'["{start.isoformat()}"', "$lt": f'["{end.isoformat()}"'}}
        docs = await self.db.costs.find(where).to_list()
        found = [
            CostRow(
                day=date.fromisoformat(doc["day"]),
                source=doc["source"],
                campaign=doc["campaign"],
                campaign_id=doc.get("campaign_id"),
                ad_id=doc.get("ad_id"),
                amount=Decimal(doc["amount"]),
                currency=doc["currency"],
                origin=doc["origin"],
            )
            for doc in docs
        ]
        return sorted(found, key=lambda c: (c.day, c.source, c.campaign, c.campaign_id or "", c.ad_id or "", c.origin))

    @_unavailable_as_store_error
    async def claim_job(self, key: str, now: datetime, lease: timedelta) -> bool:
        try:
            await self.db.jobs.update_one(
                {"_id": key, "done_at": {"$exists": False}, "lease_until": {"$lte": now}},
                {"$set": {"claimed_at": now, "lease_until": now + lease}},
                upsert=True,
            )
            return True
        except DuplicateKeyError:
            return False

    @_unavailable_as_store_error
    async def finish_job(self, key: str, now: datetime) -> None:
        with contextlib.suppress(DuplicateKeyError):  # finished before: it keeps its first done_at
            await self.db.jobs.update_one(
                {"_id": key, "done_at": {"$exists": False}},
                {"$set": {"done_at": now}, "$setOnInsert": {"claimed_at": now}},
                upsert=True,
            )

    # bot access -----------------------------------------------------------------------------------
    # Small collections keyed by their natural id; a redeemed invite is consumed first, then the member
    # written, so a copy dying in between wastes the invite rather than letting it be used twice.

    @_unavailable_as_store_error
    async def create_invite(self, invite: Invite) -> None:
        doc = invite.model_dump()
        doc["_id"] = doc.pop("token")
        await self.db.invites.insert_one({**doc, "used_by": None})

    @_unavailable_as_store_error
    async def redeem_invite(
        self, token: str, user_id: int, name: str, username: str | None, now: datetime
    ) -> StaffMember | None:
        invite = await self.db.invites.find_one_and_update(
            {"_id": token, "used_by": None, "expires_at": {"$gt": now}},
            {"$set": {"used_by": user_id, "used_at": now}},
        )
        if invite is None:
            return None
        member = StaffMember(user_id=user_id, name=name, username=username, added_at=now, added_by=invite["created_by"])
        await self.add_staff(member)
        return member

    @_unavailable_as_store_error
    async def add_staff(self, member: StaffMember) -> None:
        doc = {"_id": member.user_id, **member.model_dump()}
        await self.db.staff.replace_one({"_id": member.user_id}, doc, upsert=True)

    @_unavailable_as_store_error
    async def get_staff(self, user_id: int) -> StaffMember | None:
        doc = await self.db.staff.find_one({"_id": user_id}, {"_id": 0})
        return None if doc is None else StaffMember.model_validate(doc)

    @_unavailable_as_store_error
    async def list_staff(self) -> list[StaffMember]:
        cursor = self.db.staff.find({}, {"_id": 0}).sort([("added_at", ASCENDING), ("user_id", ASCENDING)])
        return [StaffMember.model_validate(doc) for doc in await cursor.to_list()]

    @_unavailable_as_store_error
    async def remove_staff(self, user_id: int) -> bool:
        removed = await self.db.staff.delete_one({"_id": user_id})
        await self.db.summary_choices.delete_one({"_id": user_id})
        await self.db.muted_users.delete_one({"_id": user_id})
        return removed.deleted_count == 1

    @_unavailable_as_store_error
    async def set_summary_choice(self, choice: SummaryChoice) -> None:
        await self.db.summary_choices.replace_one(
            {"_id": choice.user_id}, {"_id": choice.user_id, **choice.model_dump()}, upsert=True
        )

    @_unavailable_as_store_error
    async def summary_choices(self) -> list[SummaryChoice]:
        cursor = self.db.summary_choices.find({}, {"_id": 0}).sort("user_id", ASCENDING)
        return [SummaryChoice.model_validate(doc) for doc in await cursor.to_list()]

    @_unavailable_as_store_error
    async def save_business_account(self, account: BusinessAccount) -> None:
        await self.db.business_accounts.replace_one(
            {"_id": account.connection_id}, {"_id": account.connection_id, **account.model_dump()}, upsert=True
        )

    @_unavailable_as_store_error
    async def get_business_account(self, connection_id: str) -> BusinessAccount | None:
        doc = await self.db.business_accounts.find_one({"_id": connection_id}, {"_id": 0})
        return None if doc is None else BusinessAccount.model_validate(doc)

    # aliases: a provider's user id linked to the contact it was first seen with ------------------
    # One document per alias, keyed by it (_id): the unique key that makes the first link win.

    @_unavailable_as_store_error
    async def link_alias(self, alias: str, contact_id: str) -> str:
        # Read first: every message carrying both ids links again, and once linked a read is all it costs.
        linked = await self.aliased_contact(alias)
        if linked is not None:
            return linked
        try:
            await self.db.aliases.insert_one({"_id": alias, "contact_id": contact_id})
            return contact_id
        except DuplicateKeyError:  # a concurrent first link inserted it since: that one wins
            doc = await self.db.aliases.find_one({"_id": alias}, {"contact_id": 1})
            return contact_id if doc is None else str(doc["contact_id"])  # None: erased meanwhile

    @_unavailable_as_store_error
    async def aliased_contact(self, alias: str) -> str | None:
        doc = await self.db.aliases.find_one({"_id": alias}, {"contact_id": 1})
        return None if doc is None else str(doc["contact_id"])

    # customers' edits and deletions -------------------------------------------------------------
    # An edit or deletion changes the message's own document (the unique (provider, message_id) index
    # finds it), then its dialog; each step is idempotent, so a retried edit completes one cut short.
    # Only messages whose storing is done count: a message still pending has no dialog to show it yet.

    @_unavailable_as_store_error
    async def message_dialog(self, provider: str, message_id: str) -> Dialog | None:
        stored = {"provider": provider, "message_id": message_id, "state": DONE}
        doc = await self.db.messages.find_one(stored, {"dialog_id": 1})
        return None if doc is None else await self.get_dialog(doc["dialog_id"])

    @_unavailable_as_store_error
    async def edit_message(
        self,
        provider: str,
        message_id: str,
        text: str,
        edited_at: datetime,
        attribution: CodeAttribution | None = None,
    ) -> bool:
        stored = {"provider": provider, "message_id": message_id, "state": DONE}
        doc = await self.db.messages.find_one_and_update(
            {**stored, "$or": [{"edited_at": None}, {"edited_at": {"$lte": edited_at}}]},
            {"$set": {"text": text, "edited_at": edited_at}},
            projection={"dialog_id": 1, "decision": 1},
        )
        if doc is None:  # unknown, or a newer edit is stored already
            return await self.db.messages.find_one(stored, {"_id": 1}) is not None
        if (doc.get("decision") or {}).get("opens"):  # this message opened its dialog
            await self.db.dialogs.update_one({"_id": doc["dialog_id"]}, {"$set": {"first_message": text}})
        if attribution is not None:  # a dialog is attributed once: only while it has no code
            await self._counted_update({"_id": doc["dialog_id"], "code": None}, attribution.model_dump())
        return True

    @_unavailable_as_store_error
    async def attribute_dialog(self, dialog_id: str, attribution: CodeAttribution) -> Dialog | None:
        if await self._counted_update({"_id": dialog_id, "code": None}, attribution.model_dump()) is None:
            return None
        return await self.get_dialog(dialog_id)

    @_unavailable_as_store_error
    async def delete_message(self, provider: str, message_id: str, deleted_at: datetime) -> bool:
        stored = {"provider": provider, "message_id": message_id, "state": DONE}
        marked = await self.db.messages.update_one({**stored, "deleted_at": None}, {"$set": {"deleted_at": deleted_at}})
        if marked.matched_count:
            return True
        return await self.db.messages.find_one(stored, {"_id": 1}) is not None  # deleted before: kept as it was

    @_unavailable_as_store_error
    async def dialog_messages(self, dialog_id: str) -> list[StoredMessage]:
        cursor = self.db.messages.find(
            {"dialog_id": dialog_id, "state": DONE},
            {"provider": 1, "message_id": 1, "text": 1, "received_at": 1, "edited_at": 1, "deleted_at": 1},
        ).sort([("received_at", ASCENDING), ("_id", ASCENDING)])
        return [
            StoredMessage(
                provider=d["provider"],
                message_id=d["message_id"],
                text=d["text"],
                received_at=d["received_at"],
                edited_at=d.get("edited_at"),
                deleted_at=d.get("deleted_at"),
            )
            for d in await cursor.to_list()
        ]

    # the team (issue 18) --------------------------------------------------------------------------
    # Taking and answering are one conditional find_one_and_update each (atomic on the one document): the
    # condition (nobody holds it / no earlier reply) decides between concurrent callers. Neither changes
    # what reports count, so no counts move.

    @_unavailable_as_store_error
    async def dialog_alert_messages(self, dialog_id: str) -> list[tuple[int, int]]:
        doc = await self.db.alert_messages.find_one({"_id": dialog_id}, {"messages": 1, "sent": 1})
        return [] if doc is None else alert_copies(doc)

    @_unavailable_as_store_error
    async def take_dialog(
        self, dialog_id: str, user_id: int, name: str, at: datetime, *, replace: bool = False
    ) -> Dialog | None:
        where: Doc = {"_id": dialog_id} if replace else {"_id": dialog_id, "taken_by": None}
        doc = await self.db.dialogs.find_one_and_update(
            where,
            {"$set": {"taken_by": user_id, "taken_by_name": name, "taken_at": at}},
            projection=DIALOG_PROJECTION,
            return_document=ReturnDocument.AFTER,
        )
        if doc is None and not replace:  # taken before (or no such dialog): read who holds it
            doc = await self.db.dialogs.find_one({"_id": dialog_id}, DIALOG_PROJECTION)
        return None if doc is None else dialog_from(doc)

    @_unavailable_as_store_error
    async def record_reply(self, dialog_id: str, at: datetime, by: str | None = None) -> Dialog | None:
        doc = await self.db.dialogs.find_one_and_update(
            {"_id": dialog_id, "$or": [{"answered_at": None}, {"answered_at": {"$gt": at}}]},
            {"$set": {"answered_at": at, "answered_by": by}},
            projection=DIALOG_PROJECTION,
            return_document=ReturnDocument.AFTER,
        )
        if doc is None:  # answered earlier (or no such dialog)
            doc = await self.db.dialogs.find_one({"_id": dialog_id}, DIALOG_PROJECTION)
        return None if doc is None else dialog_from(doc)

    # reply_sources: {_id: "provider number", provider, business_number, since}

    @_unavailable_as_store_error
    async def reply_seen(self, provider: str, business_number: str, at: datetime) -> None:
        # Called for every reply a provider reports: a source this copy knows since no later than `at`
        # needs no write (`since` only moves earlier, whatever other copies write).
        key = (provider, business_number)
        known = self._reply_since.get(key)
        if known is not None and known <= at:
            return
        source = {"_id": f"{provider} {business_number}"}
        change = {"$set": {"provider": provider, "business_number": business_number}, "$min": {"since": at}}
        try:
            await self.db.reply_sources.update_one(source, change, upsert=True)
        except DuplicateKeyError:  # a concurrent first report inserted it: $min against that one
            await self.db.reply_sources.update_one(source, change)
        self._reply_since[key] = at  # the stored `since` is now at or before it

    @_unavailable_as_store_error
    async def reply_sources(self) -> list[ReplySource]:
        cursor = self.db.reply_sources.find({}, {"_id": 0}).sort("_id", ASCENDING)
        return [ReplySource.model_validate(doc) for doc in await cursor.to_list()]

    @_unavailable_as_store_error
    async def relay_message_sent(self, dialog_id: str, chat_id: int, message_id: int) -> None:
        await self.db.alert_messages.update_one(
            {"_id": dialog_id}, {"$addToSet": {"relayed": {"chat": chat_id, "message": message_id}}}, upsert=True
        )

    @_unavailable_as_store_error
    async def dialog_by_bot_message(self, chat_id: int, message_id: int) -> str | None:
        doc = await self.db.alert_messages.find_one(bot_message(chat_id, message_id), {"_id": 1})
        return None if doc is None else str(doc["_id"])

    # The team chat is a document of `meta`; mutes are {_id: user id} in `muted_users`.

    @_unavailable_as_store_error
    async def set_team_chat(self, chat: TeamChat | None) -> None:
        if chat is None:
            await self.db.meta.delete_one({"_id": "team_chat"})
        else:
            await self.db.meta.replace_one({"_id": "team_chat"}, {"_id": "team_chat", **chat.model_dump()}, upsert=True)

    @_unavailable_as_store_error
    async def team_chat(self) -> TeamChat | None:
        doc = await self.db.meta.find_one({"_id": "team_chat"}, {"_id": 0})
        return None if doc is None else TeamChat.model_validate(doc)

    @_unavailable_as_store_error
    async def set_alerts_muted(self, user_id: int, muted: bool) -> None:
        if muted:
            await self.db.muted_users.replace_one({"_id": user_id}, {"_id": user_id}, upsert=True)
        else:
            await self.db.muted_users.delete_one({"_id": user_id})

    @_unavailable_as_store_error
    async def muted_users(self) -> set[int]:
        return {int(doc["_id"]) for doc in await self.db.muted_users.find({}, {"_id": 1}).to_list()}

    # marks: {_id: key, value: {...}}; the value kept whole under one field, so its keys may be anything
    @_unavailable_as_store_error
    async def get_mark(self, key: str) -> dict[str, Any] | None:
        doc = await self.db.marks.find_one({"_id": key})
        return None if doc is None else dict(doc["value"])

    @_unavailable_as_store_error
    async def marks(self, prefix: str) -> dict[str, dict[str, Any]]:
        pattern = "^" + re.escape(prefix)  # anchored: the _id index serves it
        docs = await self.db.marks.find({"_id": {"$regex": pattern}}).sort("_id", ASCENDING).to_list()
        return {str(doc["_id"]): dict(doc["value"]) for doc in docs}

    @_unavailable_as_store_error
    async def put_mark(self, key: str, value: dict[str, Any]) -> None:
        await self.db.marks.replace_one({"_id": key}, {"_id": key, "value": value}, upsert=True)

    @_unavailable_as_store_error
    async def merge_mark(self, key: str, fields: dict[str, Any]) -> None:
        changes = {f"value.{name}": field for name, field in fields.items()}
        try:
            await self.db.marks.update_one({"_id": key}, {"$set": changes}, upsert=True)
        except DuplicateKeyError:  # two first writers of the key at once: the other created it, set ours on it
            await self.db.marks.update_one({"_id": key}, {"$set": changes})

    @_unavailable_as_store_error
    async def add_mark(self, key: str, value: dict[str, Any]) -> bool:
        try:
            await self.db.marks.insert_one({"_id": key, "value": value})
        except DuplicateKeyError:
            return False
        return True

    @_unavailable_as_store_error
    async def take_mark(self, key: str) -> dict[str, Any] | None:
        doc = await self.db.marks.find_one_and_delete({"_id": key})
        return None if doc is None else dict(doc["value"])

    @_unavailable_as_store_error
    async def response_rows(self, query: CountQuery, limit: int = 200_000) -> list[ResponseRow]:
        # The first $match of count_dialogs' pipeline: the same filters, on the same indexes (started_at,
        # or (tags, started_at) for a tag), in started_at order straight from the index.
        match = count_pipeline(query.model_copy(update={"group_by": [], "bucket": None}))[0]["$match"]
        await self._reachable()
        with pymongo.timeout(self.report_timeout):
            docs = (
                await self.db.dialogs.find(match, RESPONSE_PROJECTION)
                .sort("started_at", ASCENDING)
                .limit(limit)
                .to_list()
            )
        hidden = not query.include_probable
        return [
            ResponseRow(
                dialog_id=d["_id"],
                provider=d["provider"],
                business_number=d["business_number"],
                channel="unattributed" if hidden and d.get("status") == "probable" else d["channel"],
                contact_name=d.get("contact_name"),
                contact_id=d["contact_id"],
                started_at=d["started_at"],
                taken_by=d.get("taken_by"),
                taken_by_name=d.get("taken_by_name"),
                taken_at=d.get("taken_at"),
                answered_at=d.get("answered_at"),
                answered_by=d.get("answered_by"),
                tags=d.get("tags") or [],
            )
            for d in docs
        ]

    async def response_sums(
        self,
        query: CountQuery,
        windows: Mapping[tuple[str, str], datetime],
        opened_by: Sequence[datetime],
        limit: int = 200_000,
    ) -> ResponseSums | None:
        return None  # the team report sums response_rows, which read only the fields it needs (a projection)


__all__ = ["MongoStore", "bot_message", "count_pipeline", "count_rows", "dialog_document"]
