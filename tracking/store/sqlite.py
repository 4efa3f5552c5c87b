"""The embedded default store: one SQLite file, zero set-up.

Writes are group-committed inside `BEGIN IMMEDIATE` transactions (tracking/store/sqlite_runner.py), so
several server processes may share the file. Times are stored as UTC ISO-8601 strings, which sort like the
instants they name.
"""

from __future__ import annotations

import asyncio
import functools
import gc
import inspect
import itertools
import json
import logging
import sqlite3
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

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
from tracking.periods import utc_now
from tracking.store import rollups
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
    ResponseGroup,
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
from tracking.store.sqlite_runner import SQLiteRunner, wal_path

T = TypeVar("T")
WRITE_FAILURE_MEMORY = 60.0  # seconds a failed commit keeps the health check saying writes fail
log = logging.getLogger("chattrack.store")

SCHEMA_VERSION = 1

# Attribution columns copied from Dialog.attribution, so reports group in SQL.
ATTRIBUTION_COLUMNS = ATTRIBUTION_FIELDS
# Copied from the dialog's document too, so the team report reads no JSON (Store.response_rows): who the
# dialog came through and from, who took it and the first reply. Times as ts() writes them (a document's
# own text in dialogs filled from it: ISO 8601 either way). NULL provider: a dialog stored before these
# columns, not filled from its document yet (fill_team_columns).
TEAM_COLUMNS = {
    "provider": "TEXT",
    "contact_name": "TEXT",
    "taken_by": "INTEGER",
    "taken_by_name": "TEXT",
    "taken_at": "TEXT",
    "answered_at": "TEXT",
    "answered_by": "TEXT",
}

# What an outbox item of a delivery (issue 19) adds to an alert's columns (OutboxItem); `data` is JSON.
DELIVERY_COLUMNS = {
    "goal": "TEXT",
    "event": "TEXT",
    "sale_id": "TEXT",
    "happened_at": "TEXT",
    "data": "TEXT",
    "outcome": "TEXT",
}

SCHEMA = f"""
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS visits (
    code TEXT PRIMARY KEY, visitor_id TEXT NOT NULL, last_seen TEXT NOT NULL, data TEXT NOT NULL,
    current_page TEXT, pages_seen INTEGER);
CREATE INDEX IF NOT EXISTS visits_last_seen ON visits (last_seen);
CREATE TABLE IF NOT EXISTS clicks (
    id INTEGER PRIMARY KEY, code TEXT NOT NULL, target TEXT NOT NULL, page TEXT NOT NULL, at TEXT NOT NULL,
    prefill TEXT);
CREATE INDEX IF NOT EXISTS clicks_target_at ON clicks (target, at);
CREATE INDEX IF NOT EXISTS clicks_code ON clicks (code);
CREATE TABLE IF NOT EXISTS dialogs (
    id TEXT PRIMARY KEY, business_number TEXT NOT NULL, contact_id TEXT NOT NULL,
    messenger TEXT NOT NULL, started_at TEXT NOT NULL, last_message_at TEXT NOT NULL,
    is_repeat INTEGER NOT NULL, status TEXT NOT NULL, code TEXT,
    {", ".join(f"{c} TEXT" for c in ATTRIBUTION_COLUMNS)},
    day TEXT NOT NULL, week TEXT NOT NULL, month TEXT NOT NULL, quarter TEXT NOT NULL,
    {", ".join(f"{c} {kind}" for c, kind in TEAM_COLUMNS.items())},
    data TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS dialogs_contact ON dialogs (contact_id, business_number, last_message_at);
CREATE INDEX IF NOT EXISTS dialogs_started ON dialogs (started_at);
CREATE INDEX IF NOT EXISTS dialogs_number_started ON dialogs (business_number, started_at);
CREATE INDEX IF NOT EXISTS dialogs_code ON dialogs (code);
-- Covering index for the report primitive: a month of a million dialogs is counted from the index alone.
CREATE INDEX IF NOT EXISTS dialogs_report ON dialogs (started_at, is_repeat, status, channel, source, medium,
    campaign, content, term, landing_page, contact_page, region, os, browser, device, business_number, messenger,
    day, week, month, quarter, id);
CREATE TABLE IF NOT EXISTS dialog_tags (
    dialog_id TEXT NOT NULL, tag TEXT NOT NULL, PRIMARY KEY (dialog_id, tag));
CREATE INDEX IF NOT EXISTS dialog_tags_tag ON dialog_tags (tag);
CREATE TABLE IF NOT EXISTS messages (
    provider TEXT NOT NULL, message_id TEXT NOT NULL, dialog_id TEXT NOT NULL,
    received_at TEXT NOT NULL, text TEXT NOT NULL, PRIMARY KEY (provider, message_id));
CREATE INDEX IF NOT EXISTS messages_dialog ON messages (dialog_id);
CREATE TABLE IF NOT EXISTS outbox (
    id TEXT PRIMARY KEY, dialog_id TEXT NOT NULL, chat_id INTEGER NOT NULL, kind TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0, next_attempt_at TEXT NOT NULL, lease_until TEXT,
    created_at TEXT NOT NULL, sent_at TEXT, last_error TEXT,
    {", ".join(f"{c} {kind}" for c, kind in DELIVERY_COLUMNS.items())});
-- Items not done yet, per kind in due order: the alert dispatcher and the deliveries' one each claim an
-- index range of their own kinds (a backlog of one never slows the other). Done items are not in it.
CREATE INDEX IF NOT EXISTS outbox_kind_due ON outbox (kind, next_attempt_at) WHERE sent_at IS NULL;
CREATE INDEX IF NOT EXISTS outbox_dialog ON outbox (dialog_id);
-- A dialog's sales (issue 19) as rows for the money reports (sale_rows), by their dialog's start; the
-- dialog's document holds them too, so every read of a dialog has them without a join.
CREATE TABLE IF NOT EXISTS sales (
    dialog_id TEXT NOT NULL, sale_id TEXT NOT NULL, started_at TEXT NOT NULL, at TEXT NOT NULL,
    amount TEXT, currency TEXT NOT NULL, PRIMARY KEY (dialog_id, sale_id)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS sales_started ON sales (started_at, dialog_id, at);
CREATE TABLE IF NOT EXISTS jobs (key TEXT PRIMARY KEY, claimed_at TEXT NOT NULL, lease_until TEXT, done_at TEXT);
CREATE TABLE IF NOT EXISTS invites (
    token TEXT PRIMARY KEY, created_by INTEGER NOT NULL, created_at TEXT NOT NULL, expires_at TEXT NOT NULL,
    used_by INTEGER, used_at TEXT);
CREATE TABLE IF NOT EXISTS staff (user_id INTEGER PRIMARY KEY, added_at TEXT NOT NULL, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS summary_choices (user_id INTEGER PRIMARY KEY, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS business_accounts (connection_id TEXT PRIMARY KEY, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS erased_messages (digest TEXT PRIMARY KEY) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS contact_aliases (alias TEXT PRIMARY KEY, contact_id TEXT NOT NULL) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS contact_aliases_contact ON contact_aliases (contact_id);
CREATE TABLE IF NOT EXISTS alert_messages (
    dialog_id TEXT NOT NULL, chat_id INTEGER NOT NULL, message_id INTEGER NOT NULL, seq INTEGER,
    PRIMARY KEY (dialog_id, chat_id, message_id)) WITHOUT ROWID;
-- The team (issue 18): a reply to an alert or a relayed message in a team chat finds its dialog.
CREATE INDEX IF NOT EXISTS alert_messages_message ON alert_messages (chat_id, message_id);
CREATE TABLE IF NOT EXISTS relay_messages (
    chat_id INTEGER NOT NULL, message_id INTEGER NOT NULL, dialog_id TEXT NOT NULL,
    PRIMARY KEY (chat_id, message_id)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS relay_messages_dialog ON relay_messages (dialog_id);
CREATE TABLE IF NOT EXISTS reply_sources (
    provider TEXT NOT NULL, business_number TEXT NOT NULL, since TEXT NOT NULL,
    PRIMARY KEY (provider, business_number)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS muted_users (user_id INTEGER PRIMARY KEY);
CREATE TABLE IF NOT EXISTS marks (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
-- Ad spend (issue 19): one row per origin, day, source, campaign (its id when known) and ad ('' for none).
-- Amounts are exact decimal text.
CREATE TABLE IF NOT EXISTS costs (
    origin TEXT NOT NULL, day TEXT NOT NULL, source TEXT NOT NULL, campaign_key TEXT NOT NULL, ad_id TEXT NOT NULL,
    campaign TEXT NOT NULL, campaign_id TEXT, amount TEXT NOT NULL, currency TEXT NOT NULL,
    PRIMARY KEY (origin, day, source, campaign_key, ad_id)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS costs_day ON costs (day);
"""


DIALOG_COLUMNS = (
    "id",
    "business_number",
    "contact_id",
    "messenger",
    "started_at",
    "last_message_at",
    "is_repeat",
    "status",
    "code",
    *ATTRIBUTION_COLUMNS,
    "day",
    "week",
    "month",
    "quarter",
    *TEAM_COLUMNS,
    "data",
)
TEAM_UPDATE = f"UPDATE dialogs SET {', '.join(f'{c} = ?' for c in TEAM_COLUMNS)}, data = ? WHERE id = ?"
SAVE_COST = (
    "INSERT INTO costs (origin, day, source, campaign_key, ad_id, campaign, campaign_id, amount, currency) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (origin, day, source, campaign_key, ad_id) DO UPDATE SET "
    "campaign = excluded.campaign, campaign_id = excluded.campaign_id, amount = excluded.amount, "
    "currency = excluded.currency"
)
INSERT_DIALOG = f"INSERT INTO dialogs ({', '.join(DIALOG_COLUMNS)}) VALUES ({', '.join('?' * len(DIALOG_COLUMNS))})"


# The last whole second ts() formatted, and its text (one tuple: threads read it whole).
_last_second: tuple[tuple[int, ...], str] = ((), "")


ROLL_UP_EVERY = 60.0  # seconds: how far (besides the running hour) reports may count raw from the dialogs


def ts(moment: datetime) -> str:
    """A moment as stored: ISO 8601 in UTC with microseconds, text that sorts in time order."""
    global _last_second
    if moment.tzinfo is not UTC:  # most moments come from utc_now(): skip the conversion (a hot path)
        moment = moment.astimezone(UTC)
    # isoformat() cost ~2 µs of every page view (CPython formats it with a printf-like parser): the date
    # and time to the second are formatted once per second, the microseconds each time (~0.6 µs).
    second = (moment.year, moment.month, moment.day, moment.hour, moment.minute, moment.second)
    known, text = _last_second
    if second != known:
        text = moment.replace(microsecond=0, tzinfo=None).isoformat()
        _last_second = (second, text)
    return f"{text}.{moment.microsecond:06d}+00:00"


def parse_ts(value: str) -> datetime:
    return datetime.fromisoformat(value)


def sqlite_path(database_url: str) -> Path:
    return Path(database_url.removeprefix("sqlite:///"))


def _failures_as_unavailable(cls: type[SQLiteStore]) -> type[SQLiteStore]:
    """Wrap every public coroutine method: SQLite failing (locked past busy_timeout, I/O error, disk full)
    becomes StoreUnavailable, so webhooks answer 503 and providers retry, instead of a 500."""

    def guard(method: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
        @functools.wraps(method)
        async def call(self: SQLiteStore, *args: Any, **kwargs: Any) -> Any:
            try:
                return await method(self, *args, **kwargs)
            except (sqlite3.OperationalError, sqlite3.ProgrammingError) as exc:  # Programming: closed under us
                raise StoreUnavailable(f"SQLite: {exc}") from exc

        return call

    for name, method in list(vars(cls).items()):
        # record_page_view's failures already arrive as StoreUnavailable (from the runner), and it is the
        # hottest call: no wrapper frame around it.
        skip = ("open", "close", "ping", "record_page_view")
        if not name.startswith("_") and name not in skip and inspect.iscoroutinefunction(method):
            setattr(cls, name, guard(method))
    return cls


def add_columns(db: sqlite3.Connection, table: str, columns: dict[str, str], backfill: str | None = None) -> None:
    """Give a table made by an older version its new columns (once, under a write lock, as another copy
    may be opening the file too); `backfill` fills them in the same transaction."""
    db.execute("BEGIN IMMEDIATE")
    try:
        present = {row["name"] for row in db.execute(f"PRAGMA table_info({table})")}
        missing = {name: kind for name, kind in columns.items() if name not in present}
        for name, kind in missing.items():
            db.execute(f"ALTER TABLE {table} ADD COLUMN {name} {kind}")
        if missing and backfill:
            db.execute(backfill)
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def migrate(db: sqlite3.Connection) -> None:
    # Jobs made before leases keep NULL in both columns, which claim_job reads as done: the old claim
    # meant "sent or given up".
    add_columns(db, "jobs", {"lease_until": "TEXT", "done_at": "TEXT"})
    # A later page view changes only these two (and last_seen): plain columns cost half of a json_set on
    # the visit's document (~7 µs of every page view, bench/bench_http.py).
    add_columns(
        db,
        "visits",
        {"current_page": "TEXT", "pages_seen": "INTEGER"},
        "UPDATE visits SET current_page = json_extract(data, '$.current_page'), "
        "pages_seen = json_extract(data, '$.pages_seen')",
    )
    # A first page view is stored as these columns, straight from the view: building the visit's pydantic
    # model and its JSON document cost ~15 µs of every first view. Visits stored before keep their
    # document in `data` (and NULL here); a click's page of contact goes to its column on both kinds.
    add_columns(db, "visits", {name: "TEXT" for name in VIEW_COLUMNS if name not in ("code", "visitor_id")})
    add_columns(db, "visits", {"contact_page": "TEXT"})
    # No index on visitor_id: visitor ids are random, so each first page view wrote one more page of it
    # to the WAL (~1/3 of the pages a burst of views commits); only `forget` asks by visitor, rarely,
    # and it scans on a reader thread instead (SQLiteStore.forget_contact).
    db.execute("DROP INDEX IF EXISTS visits_visitor")
    # Customers' edits and deletions: a deleted message keeps its row, so a retry of it stays a duplicate.
    add_columns(db, "messages", {"edited_at": "TEXT", "deleted_at": "TEXT"})
    # The order a dialog's alert copies were sent in (dialog_alert_messages); rows from before have NULL.
    add_columns(db, "alert_messages", {"seq": "INTEGER"})
    # The team report's fields as columns: dialogs stored before are filled from their documents after
    # open, in short writes (FILL_TEAM_COLUMNS), and found by this index meanwhile (empty once they are).
    add_columns(db, "dialogs", TEAM_COLUMNS)
    db.execute("CREATE INDEX IF NOT EXISTS dialogs_unfilled ON dialogs (started_at) WHERE provider IS NULL")
    # What the team report sums (response_sums) after started_at: a month is read from this index alone, not
    # from ~82,000 wide table rows (docs/performance.md, "Team report"). Built here: it needs TEAM_COLUMNS.
    db.execute(TEAM_INDEX)
    # Deliveries to other systems share the outbox (issue 19): items from before are alerts, their new
    # columns NULL (a sent one has no outcome). outbox_kind_due (SCHEMA) replaces (sent_at, next_attempt_at).
    add_columns(db, "outbox", DELIVERY_COLUMNS)
    db.execute("DROP INDEX IF EXISTS outbox_due")
    # The text a click's link prefilled, without the code (issue 21); clicks from before have NULL: none.
    add_columns(db, "clicks", {"prefill": "TEXT"})


TEAM_INDEX = (
    "CREATE INDEX IF NOT EXISTS dialogs_team ON dialogs "
    "(started_at, status, is_repeat, channel, taken_by, provider, business_number, answered_at, taken_by_name, id)"
)
# Dialogs filled per write, so ingest waits little behind one (docs/performance.md, "Team report").
FILL_BATCH = 2000
FILL_TEAM_COLUMNS = (
    "UPDATE dialogs SET provider = coalesce(json_extract(data, '$.provider'), ''), "  # '': filled, even if odd
    + ", ".join(f"{name} = json_extract(data, '$.{name}')" for name in TEAM_COLUMNS if name != "provider")
    + " WHERE rowid IN (SELECT rowid FROM dialogs WHERE provider IS NULL LIMIT ?)"
)


def unfilled_dialog(db: sqlite3.Connection) -> bool:
    """Whether a dialog's TEAM_COLUMNS wait to be filled (dialogs_unfilled answers at once)."""
    return db.execute("SELECT 1 FROM dialogs WHERE provider IS NULL LIMIT 1").fetchone() is not None


def team_values(dialog: Dialog) -> list[Any]:
    """A dialog's TEAM_COLUMNS, in their order."""
    values = {
        "provider": dialog.provider,
        "contact_name": dialog.contact_name,
        "taken_by": dialog.taken_by,
        "taken_by_name": dialog.taken_by_name,
        "taken_at": None if dialog.taken_at is None else ts(dialog.taken_at),
        "answered_at": None if dialog.answered_at is None else ts(dialog.answered_at),
        "answered_by": dialog.answered_by,
    }
    return [values[name] for name in TEAM_COLUMNS]


PageViewWork = tuple[PageView, asyncio.Future[str], NewVisitBudget | None]
# A click rides in the page views' batch, after them: the view that opens its visit may still be waiting.
ClickWork = tuple[Click, str, asyncio.Future[bool]]
# What a visit's first page view stores (besides last_seen, current_page and pages_seen).
VIEW_COLUMNS = (
    "code",
    "visitor_id",
    "first_seen",
    "landing_page",
    "referrer",
    "screen",
    "language",
    "region",
    "timezone",
    "user_agent",
    "ip",
    "ga_client_id",
    "ym_client_id",
)
INSERT_VISIT = (
    f"INSERT INTO visits ({', '.join(VIEW_COLUMNS)}, last_seen, current_page, pages_seen, data) "
    f"VALUES ({', '.join('?' * len(VIEW_COLUMNS))}, ?, ?, 1, '')"  # data: '' (NOT NULL in older files)
)


def _record_views(
    db: sqlite3.Connection, batch: list[PageViewWork], clicks: Sequence[ClickWork] = ()
) -> list[str | Exception | bool]:
    """Store a batch of page views: a code not seen yet opens a visit (its first view) while the budget of
    new visits allows (else VisitBudgetSpent), a code of the same visitor is a later view (last_seen,
    current page, pages seen), a code of another visitor is CodeTaken. Changes nothing before every view
    is decided, so a view refused is refused alone. Then the clicks, in order (see _record_click)."""
    codes = list({view.code for view, _, _ in batch})
    owners: dict[str, str] = {}
    for start in range(0, len(codes), 500):  # well under SQLite's limit of bound parameters
        part = codes[start : start + 500]
        sql = f"SELECT code, visitor_id FROM visits WHERE code IN ({', '.join('?' * len(part))})"
        owners.update((row[0], row[1]) for row in db.execute(sql, part))
    outcomes: list[str | Exception | bool] = []
    opened: list[tuple[Any, ...]] = []
    later: list[tuple[Any, ...]] = []
    for view, _, budget in batch:
        owner = owners.get(view.code)
        if owner is None:
            if budget is not None and not budget.take():
                outcomes.append(VisitBudgetSpent(view.code))
                continue
            owners[view.code] = view.visitor_id
            at = ts(view.at)
            opened.append(
                (
                    view.code,
                    view.visitor_id,
                    at,
                    view.url,
                    view.referrer,
                    view.screen,
                    view.language,
                    view.region,
                    view.timezone,
                    view.user_agent,
                    view.ip,
                    view.ga_client_id,
                    view.ym_client_id,
                    at,
                    view.url,
                )
            )
            outcomes.append(view.code)
        elif owner == view.visitor_id:
            later.append((ts(view.at), view.url, view.code, view.visitor_id))
            outcomes.append(view.code)
        else:
            outcomes.append(CodeTaken(view.code))
    if opened:
        db.executemany(INSERT_VISIT, opened)
    if later:  # after the inserts: a visit opened in this batch may already have its second view here
        db.executemany(
            "UPDATE visits SET last_seen = max(last_seen, ?), current_page = ?, pages_seen = pages_seen + 1 "
            "WHERE code = ? AND visitor_id = ?",
            later,
        )
    outcomes.extend(_record_click(db, click, visitor) for click, visitor, _ in clicks)
    return outcomes


def _record_click(db: sqlite3.Connection, click: Click, visitor_id: str) -> bool:
    """Store.record_click: the visit moves its page of contact only for its own visitor, then the click
    is kept while the visit has fewer than CLICKS_KEPT_PER_VISIT (clicks_code counts them)."""
    at = ts(click.at)
    held = db.execute(
        "UPDATE visits SET last_seen = max(last_seen, ?), contact_page = ? WHERE code = ? AND visitor_id = ?",
        (at, click.page, click.code, visitor_id),
    ).rowcount
    if not held:
        return False
    kept = db.execute("SELECT count(*) FROM clicks WHERE code = ?", (click.code,)).fetchone()[0]
    if kept < CLICKS_KEPT_PER_VISIT:
        db.execute(
            "INSERT INTO clicks (code, target, page, at, prefill) VALUES (?, ?, ?, ?, ?)",
            (click.code, click.target, click.page, at, click.prefill),
        )
    return True


def _visit(row: sqlite3.Row) -> Visit:
    """A visit from its row: the columns of its first view, or the document of an older version's."""
    if row["data"]:
        visit = Visit.model_validate_json(row["data"])
    else:  # the first view as stored opens the visit, as it did when it came
        first = {name: row[name] for name in VIEW_COLUMNS if name not in ("first_seen", "landing_page")}
        visit = opened_visit(PageView(**first, url=row["landing_page"], at=parse_ts(row["first_seen"])))
    # The columns are the truth for what later page views and clicks change.
    visit.last_seen = parse_ts(row["last_seen"])
    visit.current_page, visit.pages_seen = row["current_page"], row["pages_seen"]
    if row["contact_page"] is not None:
        visit.attribution.contact_page = row["contact_page"]
    return visit


# The dialog of a message the bot sent in a chat (a relayed message or an alert), each by its index:
# (chat_id, message_id, chat_id, message_id).
BOT_MESSAGE_SQL = (
    "SELECT dialog_id FROM relay_messages WHERE chat_id = ? AND message_id = ? UNION ALL "
    "SELECT dialog_id FROM alert_messages WHERE chat_id = ? AND message_id = ? LIMIT 1"
)

# A dialog's tags in one text (response_rows): the unit separator, which no tag holds.
TAG_SEPARATOR = "\x1f"


def dialog_filters(query: CountQuery) -> tuple[Callable[[str], str], list[str], list[Any]]:
    """What count_dialogs' raw part applies to the dialogs `d` besides the period: the filters, tags and
    probable matches, as conditions with their arguments; and how a column reads (a probable match's
    attribution hidden unless include_probable)."""
    for name in query.filters:
        if name not in GROUPABLE_FIELDS:
            raise ValueError(f"cannot filter by {name!r}")

    def column(name: str) -> str:
        if not query.include_probable and name in ATTRIBUTION_COLUMNS:
            hidden = "'unattributed'" if name == "channel" else "NULL"
            return f"CASE WHEN d.status = 'probable' THEN {hidden} ELSE d.{name} END"
        return f"d.{name}"

    where: list[str] = []
    args: list[Any] = []
    for name, value in query.filters.items():
        if name == "tag":
            where.append("EXISTS (SELECT 1 FROM dialog_tags t WHERE t.dialog_id = d.id AND t.tag = ?)")
        elif name == TAKEN_BY:
            condition, taker = rollups.taker_condition("d", value)
            where.append(condition)
            args.extend(taker)
            continue
        elif name == CUSTOMER:
            where.append("d.is_repeat = ?")
            args.append(int(is_repeat_of(value)))
            continue
        else:
            where.append(f"{column(name)} = ?")
        args.append(value)
    if query.without_tags:
        marks = ", ".join("?" * len(query.without_tags))
        where.append(f"NOT EXISTS (SELECT 1 FROM dialog_tags x WHERE x.dialog_id = d.id AND x.tag IN ({marks}))")
        args.extend(query.without_tags)
    return column, where, args


def response_sql(query: CountQuery) -> tuple[str, list[Any]]:
    """Store.response_rows: the dialogs count_dialogs would count for `query` (its raw part: the same
    filters, tags and probable matches), oldest first on the started_at index; a last `?` for the limit.
    Columns only: a dialog's document is read (once, every field at a time) only while it is not filled."""
    column, filters, filter_args = dialog_filters(query)
    where = ["d.started_at >= ? AND d.started_at < ?", *filters]
    args = [ts(query.start), ts(query.end), *filter_args]
    paths = ", ".join(f"'$.{name}'" for name in TEAM_COLUMNS)
    sql = (
        f"SELECT d.id, d.business_number, d.contact_id, d.started_at, {column('channel')}, "
        f"{', '.join(f'd.{name}' for name in TEAM_COLUMNS)}, "
        "(SELECT group_concat(g.tag, char(31)) FROM dialog_tags g WHERE g.dialog_id = d.id), "
        f"CASE WHEN d.provider IS NULL THEN json_extract(d.data, {paths}) END "
        f"FROM dialogs d WHERE {' AND '.join(where)} ORDER BY d.started_at LIMIT ?"
    )
    return sql, args


def response_rows(db: sqlite3.Connection, sql: str, args: Sequence[Any]) -> list[ResponseRow]:
    """Rows of response_sql as ResponseRows, from plain tuples (not sqlite3.Row) with datetime.fromisoformat:
    no JSON, no validation (docs/performance.md, "Team report")."""
    cursor = db.cursor()
    cursor.row_factory = None
    parse = datetime.fromisoformat
    rows: list[ResponseRow] = []
    # The cyclic GC paused meanwhile: each full collection walked every row built so far (a year's 1M
    # rows: 2.7 s of 8.4). Only if it was on: a concurrent build that found it paused leaves it to this one.
    paused = gc.isenabled()
    if paused:
        gc.disable()
    try:
        _build_rows(cursor.execute(sql, args), rows, parse)
    finally:
        if paused:
            gc.enable()
    return rows


def _build_rows(cursor: sqlite3.Cursor, rows: list[ResponseRow], parse: Callable[[str], datetime]) -> None:
    for (
        dialog_id,
        business_number,
        contact_id,
        started_at,
        channel,
        provider,
        contact_name,
        taken_by,
        taken_by_name,
        taken_at,
        answered_at,
        answered_by,
        tags,
        unfilled,
    ) in cursor:
        if unfilled is not None:  # stored before TEAM_COLUMNS and not filled yet: from its document
            provider, contact_name, taken_by, taken_by_name, taken_at, answered_at, answered_by = json.loads(unfilled)
        rows.append(
            ResponseRow(
                dialog_id=dialog_id,
                provider=provider,
                business_number=business_number,
                channel=channel,
                contact_name=contact_name,
                contact_id=contact_id,
                started_at=parse(started_at),
                taken_by=taken_by,
                taken_by_name=taken_by_name,
                taken_at=None if taken_at is None else parse(taken_at),
                answered_at=None if answered_at is None else parse(answered_at),
                answered_by=answered_by,
                tags=sorted(tags.split(TAG_SEPARATOR)) if tags else [],
            )
        )


def response_sums_sql(
    query: CountQuery, windows: Mapping[tuple[str, str], datetime], opened_by: Sequence[datetime]
) -> tuple[str, list[Any]]:
    """Store.response_sums: the dialogs of response_sql, oldest first, as what the sums need of each: taker,
    channel, the taker's name if any, start and first reply if answered, and if unanswered the bits of the
    `opened_by` moments it opened at or before. Read from dialogs_team alone while no filter needs more.
    Times compare as text: started_at and the arguments are ts()'s (fixed-width UTC). The reply's seconds
    are Python's: its text is a document's in dialogs filled from one, not always ts()'s."""
    # Its own taken_by and tags conditions: every dialog it reads is filled (response_sums), so the taker is
    # the column's alone; the tags left out are a set of ids found once, not looked up per dialog.
    others = {name: value for name, value in query.filters.items() if name != TAKEN_BY}
    column, filters, filter_args = dialog_filters(query.model_copy(update={"filters": others, "without_tags": []}))
    where = ["d.started_at >= ? AND d.started_at < ?", *filters]
    where_args: list[Any] = [ts(query.start), ts(query.end), *filter_args]
    if TAKEN_BY in query.filters:
        taker = taker_of(query.filters[TAKEN_BY])
        where.append("d.taken_by IS NULL" if taker is None else "d.taken_by = ?")
        where_args.extend([] if taker is None else [taker])
    if query.without_tags:
        marks = ", ".join("?" * len(query.without_tags))
        where.append(f"d.id NOT IN (SELECT dialog_id FROM dialog_tags WHERE tag IN ({marks}))")
        where_args.extend(query.without_tags)
    # The moment a dialog's provider and number began reporting replies (tracking.team.answer_state).
    since = "CASE " + " ".join("WHEN d.provider = ? AND d.business_number = ? THEN ?" for _ in windows) + " END"
    since_args = [value for (provider, number), at in windows.items() for value in (provider, number, ts(at))]
    late = " + ".join(f"(d.started_at <= ?) * {1 << bit}" for bit in range(len(opened_by))) or "0"
    unanswered = f"CASE WHEN d.answered_at IS NULL AND {since} <= d.started_at THEN {late} END" if windows else "NULL"
    sql = (
        f"SELECT d.taken_by, {column('channel')}, "
        "CASE WHEN d.taken_by IS NOT NULL AND d.taken_by_name <> '' THEN d.taken_by_name END, "
        f"CASE WHEN d.answered_at IS NOT NULL THEN d.started_at END, d.answered_at, {unanswered} "
        f"FROM dialogs d WHERE {' AND '.join(where)} ORDER BY d.started_at"
    )
    args = [*(since_args if windows else []), *((ts(moment) for moment in opened_by) if windows else []), *where_args]
    return sql, args


def response_sums(
    db: sqlite3.Connection,
    query: CountQuery,
    windows: Mapping[tuple[str, str], datetime],
    opened_by: Sequence[datetime],
    limit: int,
) -> ResponseSums | None:
    """Store.response_sums in one read transaction; None while the period holds a dialog not filled yet (its
    columns are NULL: response_rows reads its document). One pass in Python: a GROUP BY in SQL sorted the
    month's rows, slower than a dict (docs/performance.md, "Team report")."""
    sql, args = response_sums_sql(query, windows, opened_by)
    unfilled = "SELECT 1 FROM dialogs WHERE provider IS NULL AND started_at >= ? AND started_at < ? LIMIT 1"
    cursor = db.cursor()
    cursor.row_factory = None
    parse = datetime.fromisoformat
    masks = 1 << len(opened_by)  # the waits passed, as bits: 4 kinds of unanswered dialogs for two waits
    # Per taker and channel: [dialogs, answered seconds, then the unanswered of each mask] (lists: ~1/6 faster
    # than a dataclass's fields, and no loop over the waits per dialog).
    tallies: dict[tuple[int | None, str], list[Any]] = {}
    names: dict[int, str] = {}
    cursor.execute("BEGIN")
    try:
        if cursor.execute(unfilled, (ts(query.start), ts(query.end))).fetchone() is not None:
            return None
        rows = cursor.execute(sql, args)
        for taken_by, channel, name, started_at, answered_at, late in itertools.islice(rows, limit):
            tally = tallies.get((taken_by, channel))
            if tally is None:
                tally = tallies[taken_by, channel] = [0, [], *([0] * masks)]
            tally[0] += 1
            if answered_at is not None:  # as tracking.team.response_seconds: never below zero
                tally[1].append(max((parse(answered_at) - parse(started_at)).total_seconds(), 0.0))
            elif late is not None:
                tally[2 + late] += 1
            if name is not None:
                names[taken_by] = name  # oldest first: the latest name stays
        cut = rows.fetchone() is not None
    finally:
        cursor.execute("COMMIT")
    groups = [
        ResponseGroup(
            taken_by=taken_by,
            channel=channel,
            dialogs=tally[0],
            unanswered=sum(tally[2:]),
            late=[sum(n for mask, n in enumerate(tally[2:]) if mask & 1 << bit) for bit in range(len(opened_by))],
            seconds=tally[1],
        )
        for (taken_by, channel), tally in tallies.items()
    ]
    return ResponseSums(groups=groups, names=names, cut=cut)


SALE_ATTRIBUTION = ("channel", "source", "medium", "campaign", "content", "term")


def sale_sql(query: CountQuery) -> tuple[str, list[Any]]:
    """Store.sale_rows: the sales of the dialogs response_sql finds for `query`, on the sales' own index
    by their dialog's start (CROSS JOIN: sales are the outer loop), oldest dialog first; a last `?` for
    the limit."""
    column, filters, filter_args = dialog_filters(query)
    where = ["s.started_at >= ? AND s.started_at < ?", *filters]
    sql = (
        "SELECT s.dialog_id, s.sale_id, s.started_at, s.at, s.amount, s.currency, "
        f"{', '.join(column(name) for name in SALE_ATTRIBUTION)}, d.status, "
        "(SELECT group_concat(g.tag, char(31)) FROM dialog_tags g WHERE g.dialog_id = d.id) "
        f"FROM sales s CROSS JOIN dialogs d ON d.id = s.dialog_id WHERE {' AND '.join(where)} "
        "ORDER BY s.started_at, s.dialog_id, s.at LIMIT ?"
    )
    return sql, [ts(query.start), ts(query.end), *filter_args]


def sale_rows(db: sqlite3.Connection, sql: str, args: Sequence[Any]) -> list[SaleRow]:
    cursor = db.cursor()
    cursor.row_factory = None
    parse = datetime.fromisoformat
    return [
        SaleRow(
            dialog_id=dialog_id,
            sale_id=sale_id,
            started_at=parse(started_at),
            at=parse(sale_at),
            amount=None if amount is None else Decimal(amount),
            currency=currency,
            channel=channel,
            source=source,
            medium=medium,
            campaign=campaign,
            content=content,
            term=term,
            status=status,
            tags=sorted(tags.split(TAG_SEPARATOR)) if tags else [],
        )
        for (
            dialog_id,
            sale_id,
            started_at,
            sale_at,
            amount,
            currency,
            channel,
            source,
            medium,
            campaign,
            content,
            term,
            status,
            tags,
        ) in cursor.execute(sql, args)
    ]


def _outbox_item(row: sqlite3.Row, claimed: bool = False) -> OutboxItem:
    """An outbox row as an item; `claimed`: read just before this claim counted one more attempt."""
    return OutboxItem(
        id=row["id"],
        dialog_id=row["dialog_id"],
        chat_id=row["chat_id"],
        kind=row["kind"],
        attempts=row["attempts"] + (1 if claimed else 0),
        next_attempt_at=parse_ts(row["next_attempt_at"]),
        created_at=parse_ts(row["created_at"]),
        last_error=row["last_error"],
        goal=row["goal"],
        event=row["event"],
        sale_id=row["sale_id"],
        happened_at=None if row["happened_at"] is None else parse_ts(row["happened_at"]),
        data=json.loads(row["data"]) if row["data"] else {},
        sent_at=None if row["sent_at"] is None else parse_ts(row["sent_at"]),
        outcome=row["outcome"],
    )


QUEUE_ITEM = (
    "INSERT OR IGNORE INTO outbox (id, dialog_id, chat_id, kind, attempts, next_attempt_at, created_at, last_error, "
    f"sent_at, {', '.join(DELIVERY_COLUMNS)}) VALUES ({', '.join('?' * (9 + len(DELIVERY_COLUMNS)))})"
)


def _queue(db: sqlite3.Connection, items: Sequence[OutboxItem]) -> int:
    """Queue outbox items as they are; an id already queued keeps its item. How many were new."""
    new = 0
    for item in items:
        values = (
            item.id,
            item.dialog_id,
            item.chat_id,
            item.kind,
            item.attempts,
            ts(item.next_attempt_at),
            ts(item.created_at),
            item.last_error,
            None if item.sent_at is None else ts(item.sent_at),
            None if item.goal is None else item.goal.value,
            None if item.event is None else item.event.value,
            item.sale_id,
            None if item.happened_at is None else ts(item.happened_at),
            json.dumps(item.data, ensure_ascii=False),
            None if item.outcome is None else item.outcome.value,
        )
        new += db.execute(QUEUE_ITEM, values).rowcount
    return new


def _amount(amount: Decimal | None) -> str | None:
    """A sale's amount as stored: exact decimal text."""
    return None if amount is None else str(amount)


def _write_dialog(db: sqlite3.Connection, dialog: Dialog, tags_before: Sequence[str]) -> None:
    """Write a dialog's document back after a change of its tags or sales; when its tags changed, its
    dialog_tags and report counts follow (counted out before, in after)."""
    retag = list(tags_before) != dialog.tags
    if retag:
        rollups.remove(db, [dialog.id])
    db.execute("UPDATE dialogs SET data = ? WHERE id = ?", (dialog.model_dump_json(), dialog.id))
    if retag:
        db.execute("DELETE FROM dialog_tags WHERE dialog_id = ?", (dialog.id,))
        db.executemany("INSERT INTO dialog_tags (dialog_id, tag) VALUES (?, ?)", [(dialog.id, t) for t in dialog.tags])
        rollups.add(db, [dialog.id])


def _one(db: sqlite3.Connection, sql: str, args: Sequence[Any] | dict[str, Any] = ()) -> sqlite3.Row | None:
    row: sqlite3.Row | None = db.execute(sql, args).fetchone()
    return row


def _all(db: sqlite3.Connection, sql: str, args: Sequence[Any] = ()) -> list[sqlite3.Row]:
    return db.execute(sql, args).fetchall()


def _save_staff(db: sqlite3.Connection, member: StaffMember) -> None:
    db.execute(
        "INSERT INTO staff (user_id, added_at, data) VALUES (?, ?, ?) "
        "ON CONFLICT (user_id) DO UPDATE SET added_at = excluded.added_at, data = excluded.data",
        (member.user_id, ts(member.added_at), member.model_dump_json()),
    )


def _mark(value: str) -> dict[str, Any]:
    mark: dict[str, Any] = json.loads(value)
    return mark


def _rewrite_attribution(db: sqlite3.Connection, dialog: Dialog, attribution: CodeAttribution | None) -> Dialog:
    """Store `dialog` (with `attribution`, when given) over its row, its rollup counts moved along."""
    if attribution is not None:
        dialog = dialog.model_copy(
            update={
                "code": attribution.code,
                "status": attribution.status,
                "status_reason": attribution.status_reason,
                "attribution": attribution.attribution,
                "visit": attribution.visit,
            }
        )
    columns = dialog.attribution.model_dump(mode="json")
    rollups.remove(db, [dialog.id])
    db.execute(
        f"UPDATE dialogs SET status = ?, code = ?, {', '.join(f'{c} = ?' for c in ATTRIBUTION_COLUMNS)}, "
        "data = ? WHERE id = ?",
        (
            dialog.status.value,
            dialog.code,
            *(columns[c] for c in ATTRIBUTION_COLUMNS),
            dialog.model_dump_json(),
            dialog.id,
        ),
    )
    rollups.add(db, [dialog.id])
    return dialog


@_failures_as_unavailable
class SQLiteStore:
    """Reads and writes go through SQLiteRunner (tracking/store/sqlite_runner.py): writes are plain
    functions of a connection, group-committed on one writer thread; reads run on a pool of readers."""

    def __init__(self, path: Path | str, roll_up_every: float | None = ROLL_UP_EVERY) -> None:
        self.path = Path(path)
        self.roll_up_every = roll_up_every  # seconds between the report rollups' catch-ups; None: only when called
        self.runner = SQLiteRunner(self.path)
        self._views: list[PageViewWork] = []
        self._clicks: list[ClickWork] = []
        self._views_flush: asyncio.Task[None] | None = None
        self._erasure_key = ""  # read from the file by open()
        self._rebuild: asyncio.Task[bool] | None = None  # of the report rollups, when open() found them stale
        self._rolling: asyncio.Task[None] | None = None  # the rollups' roll-up, every roll_up_every seconds
        self._reply_since: dict[tuple[str, str], datetime] = {}  # reply sources as this copy last saw them
        self._filling: asyncio.Task[int] | None = None  # older dialogs' TEAM_COLUMNS, when open() found any

    async def open(self) -> None:
        def setup(db: sqlite3.Connection) -> None:
            db.executescript(SCHEMA)
            migrate(db)
            rollups.setup(db)
            db.execute(
                "INSERT INTO meta (key, value) VALUES ('schema_version', ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (str(SCHEMA_VERSION),),
            )
            # The first open makes the key; every copy opening the file reads the one that was stored.
            db.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('erasure_key', ?)", (new_erasure_key(),))
            self._erasure_key = db.execute("SELECT value FROM meta WHERE key = 'erasure_key'").fetchone()[0]

        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            await self.runner.open(setup)
        except (sqlite3.Error, OSError) as exc:
            raise StoreUnavailable(f"cannot open SQLite file {self.path}: {exc}") from exc
        if not self.runner.lookup(rollups.is_ready):  # a file of an older version, or after a migration
            self._rebuild = asyncio.create_task(self._rebuild_in_background())
        if self.runner.lookup(unfilled_dialog):
            self._filling = asyncio.create_task(self._fill_in_background())
        if self.roll_up_every is not None:
            self._rolling = asyncio.create_task(self._roll_up_in_background(self.roll_up_every))

    async def _rebuild_in_background(self) -> bool:
        try:
            return await self.rebuild_counts()
        except Exception:  # reports keep counting raw; the next start tries again
            log.exception("rebuilding the report rollups failed")
            return False

    async def _fill_in_background(self) -> int:
        try:
            return await self.fill_team_columns()
        except Exception:  # response_rows reads those dialogs' documents meanwhile; the next start goes on
            log.exception("filling the dialogs' team columns failed")
            return 0

    async def fill_team_columns(self) -> int:
        """Fill TEAM_COLUMNS of the dialogs stored before them from their documents, FILL_BATCH at a
        time (one short write each, so ingest is not kept waiting); the number filled by this call."""
        filled = 0
        while count := await self.runner.write(lambda db: db.execute(FILL_TEAM_COLUMNS, (FILL_BATCH,)).rowcount):
            filled += count
        return filled

    async def _roll_up_in_background(self, every: float) -> None:
        while True:  # reports are exact meanwhile (they count from W on raw): no hurry at open
            await asyncio.sleep(every)
            try:
                await self.roll_up()
            except Exception:  # reports count more raw meanwhile; the next minute tries again
                log.exception("rolling up the report rollups failed")

    async def close(self) -> None:
        """Commits the writes already queued (graceful shutdown), then closes."""
        if self._rolling is not None:
            self._rolling.cancel()
            await asyncio.gather(self._rolling, return_exceptions=True)
        if self._views_flush is not None:
            await asyncio.shield(self._views_flush)  # page views waiting for their batch are queued writes too
        if self._rebuild is not None:
            self._rebuild.cancel()  # what it rebuilt stays (each hour is whole); the next start goes on
            await asyncio.gather(self._rebuild, return_exceptions=True)
        if self._filling is not None:
            self._filling.cancel()  # each batch filled stays; the next start fills the rest
            await asyncio.gather(self._filling, return_exceptions=True)
        await self.runner.close()

    async def ping(self) -> bool:
        try:
            await self.runner.read(lambda db: db.execute("SELECT 1").fetchone())
            return True
        except (sqlite3.Error, StoreUnavailable, RuntimeError):
            return False

    async def check_writes(self, now: datetime) -> str | None:
        def touch(db: sqlite3.Connection) -> None:
            db.execute(
                "INSERT INTO meta (key, value) VALUES ('write_check', ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (now.isoformat(),),
            )

        try:
            await self.runner.write(touch)
        except (sqlite3.Error, StoreUnavailable, RuntimeError) as exc:
            return f"a write fails: {exc}"
        # A small write may still fit where a new dialog does not (a full disk, a WAL that has room left).
        failure = self.runner.last_failure
        if failure is not None and time.monotonic() - failure[0] < WRITE_FAILURE_MEMORY:
            return f"a write failed {time.monotonic() - failure[0]:.0f} s ago: {failure[1]}"
        return None

    async def read(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """Run `work` on a reader connection (for tools, benchmarks and tests)."""
        return await self.runner.read(work)

    async def write(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """Run `work` inside the next group commit, atomically (its own savepoint)."""
        return await self.runner.write(work)

    # visits -------------------------------------------------------------------------------------

    async def record_page_view(self, view: PageView, budget: NewVisitBudget | None = None) -> str:
        # The page views of one moment go into the group commit as one write (_record_views): one lookup of
        # their codes, then the new visits and the later views as one statement each. Per view that is
        # ~30 µs less than a write of its own (bench/bench_http.py traffic, in-process). Each caller still
        # returns only once its view is committed.
        flush = self._views_flush
        if flush is None:
            flush = self._views_flush = asyncio.create_task(self._flush_views())
        # The flush task's loop, not asyncio.get_running_loop(): on Python 3.11 that is a getpid()
        # system call each time (fork safety), ~1 µs of every page view on a virtual machine.
        done: asyncio.Future[str] = flush.get_loop().create_future()
        self._views.append((view, done, budget))
        return await done

    async def _flush_views(self) -> None:
        waiting: list[asyncio.Future[Any]] = []
        try:
            while self._views or self._clicks:
                batch, self._views = self._views, []
                clicks, self._clicks = self._clicks, []
                waiting = [done for _, done, _ in batch]
                waiting += [done for _, _, done in clicks]
                outcomes: list[str | Exception | bool]
                try:
                    outcomes = await self.runner.write(functools.partial(_record_views, batch=batch, clicks=clicks))
                except Exception as exc:  # the store failed the whole write: every view of it fails alike
                    outcomes = [exc] * len(waiting)
                for done, outcome in zip(waiting, outcomes, strict=True):
                    if done.done():
                        continue  # its caller gave up waiting; the view is stored (or not) all the same
                    if isinstance(outcome, Exception):
                        done.set_exception(outcome)
                    else:
                        done.set_result(outcome)
        finally:
            self._views_flush = None
            for done in waiting:  # only when cancelled mid-write: no caller may wait forever
                if not done.done():
                    done.set_exception(StoreUnavailable("page view write cancelled"))

    async def record_click(self, click: Click, visitor_id: str) -> bool:
        # In the page views' batch, after every view queued before it: the first view of its visit may
        # not be committed yet (it waits for the batch), and a write of its own could commit first.
        flush = self._views_flush
        if flush is None:
            flush = self._views_flush = asyncio.create_task(self._flush_views())
        done: asyncio.Future[bool] = flush.get_loop().create_future()
        self._clicks.append((click, visitor_id, done))
        return await done

    async def get_visit(self, code: str) -> Visit | None:
        row = self.runner.lookup(lambda db: _one(db, "SELECT * FROM visits WHERE code = ?", (code,)))
        return None if row is None else _visit(row)

    async def recent_clicks(self, target: str, since: datetime, until: datetime) -> list[Click]:
        rows = self.runner.lookup(
            lambda db: _all(
                db,
                "SELECT code, target, page, at, prefill FROM clicks WHERE target = ? AND at >= ? AND at <= ? "
                "ORDER BY at",
                (target, ts(since), ts(until)),
            )
        )
        return [
            Click(code=r["code"], target=r["target"], page=r["page"], at=parse_ts(r["at"]), prefill=r["prefill"])
            for r in rows
        ]

    async def any_visit(self) -> bool:
        return self.runner.lookup(lambda db: _one(db, "SELECT 1 FROM visits LIMIT 1")) is not None

    async def delete_visits_before(self, cutoff: datetime) -> int:
        def delete(db: sqlite3.Connection) -> int:
            # The dialogs' copies of these visits keep what was derived (region, OS, screen), not the
            # browser's address and string (dialogs_code and visits_last_seen find them).
            db.execute(
                "UPDATE dialogs SET data = json_set(data, '$.visit.ip', NULL, '$.visit.user_agent', NULL) "
                "WHERE code IN (SELECT code FROM visits WHERE last_seen < ?) AND json_type(data, '$.visit') = 'object'",
                (ts(cutoff),),
            )
            removed = db.execute("DELETE FROM visits WHERE last_seen < ?", (ts(cutoff),)).rowcount
            db.execute("DELETE FROM clicks WHERE at < ?", (ts(cutoff),))
            return removed

        return await self.runner.write(delete)

    # dialogs ------------------------------------------------------------------------------------

    async def add_message(self, new: NewDialog) -> IngestResult:
        digest = erased_message_digest(self._erasure_key, new.message.provider, new.message.message_id)
        return await self.runner.write(functools.partial(self._add_message, new=new, digest=digest))

    def _add_message(self, db: sqlite3.Connection, new: NewDialog, digest: str) -> IngestResult:
        msg = new.message
        seen = _one(
            db,
            "SELECT d.data FROM messages m JOIN dialogs d ON d.id = m.dialog_id "
            "WHERE m.provider = ? AND m.message_id = ?",
            (msg.provider, msg.message_id),
        )
        if seen is not None:  # a provider's retry: a message row is only written with its dialog
            return IngestResult(outcome=IngestOutcome.DUPLICATE, dialog=Dialog.model_validate_json(seen["data"]))
        if _one(db, "SELECT 1 FROM erased_messages WHERE digest = ?", (digest,)) is not None:
            return IngestResult(outcome=IngestOutcome.ERASED, dialog=new.draft)

        latest = _one(
            db,
            "SELECT data FROM dialogs WHERE contact_id = ? AND business_number = ? "
            "ORDER BY last_message_at DESC LIMIT 1",
            (msg.contact_id, msg.business_number),
        )
        current = None if latest is None else Dialog.model_validate_json(latest["data"])
        joins = (
            current is not None
            and msg.received_at - current.last_message_at < new.dialog_gap
            and (new.draft.code is None or new.draft.code == current.code)
        )
        if joins and current is not None:
            current.last_message_at = max(current.last_message_at, msg.received_at)
            current.message_count += 1
            if not current.first_message and msg.text:  # opened by a bare /start or a photo: the first words
                current.first_message = msg.text
            db.execute(
                "UPDATE dialogs SET last_message_at = ?, data = ? WHERE id = ?",
                (ts(current.last_message_at), current.model_dump_json(), current.id),
            )
            dialog, outcome = current, IngestOutcome.APPENDED
        else:
            starts = db.execute(
                "SELECT started_at FROM dialogs WHERE contact_id = ? ORDER BY started_at DESC LIMIT ?",
                (msg.contact_id, ALERTS_PER_CONTACT),
            ).fetchall()
            withheld = alert_withheld((parse_ts(started) for (started,) in starts), msg.received_at)
            dialog = new.draft.model_copy(update={"is_repeat": bool(starts), "alert_withheld": withheld})
            self._insert_dialog(db, dialog)
            queued = ts(msg.received_at)
            items = [
                (uuid.uuid4().hex, dialog.id, chat_id, LEAD_ALERT, queued, queued)
                for chat_id in ([] if withheld else new.alert_chats)
            ]
            if items and new.reminder_after is not None:
                due = ts(dialog.started_at + new.reminder_after)
                items.append((uuid.uuid4().hex, dialog.id, 0, TAKE_REMINDER, due, queued))
            db.executemany(
                "INSERT INTO outbox (id, dialog_id, chat_id, kind, next_attempt_at, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                items,
            )
            _queue(db, new.deliveries)  # conversions and events: with a new dialog only, never a retry
            outcome = IngestOutcome.NEW_DIALOG
        db.execute(
            "INSERT INTO messages (provider, message_id, dialog_id, received_at, text) VALUES (?, ?, ?, ?, ?)",
            (msg.provider, msg.message_id, dialog.id, ts(msg.received_at), msg.text),
        )
        return IngestResult(outcome=outcome, dialog=dialog)

    @staticmethod
    def _insert_dialog(db: sqlite3.Connection, dialog: Dialog) -> None:
        attribution = dialog.attribution.model_dump(mode="json")
        values: list[Any] = [
            dialog.id,
            dialog.business_number,
            dialog.contact_id,
            dialog.messenger.value,
            ts(dialog.started_at),
            ts(dialog.last_message_at),
            int(dialog.is_repeat),
            dialog.status.value,
            dialog.code,
            *(attribution[c] for c in ATTRIBUTION_COLUMNS),
            dialog.buckets.day,
            dialog.buckets.week,
            dialog.buckets.month,
            dialog.buckets.quarter,
            *team_values(dialog),
            dialog.model_dump_json(),
        ]
        db.execute(INSERT_DIALOG, values)
        db.executemany(
            "INSERT OR IGNORE INTO dialog_tags (dialog_id, tag) VALUES (?, ?)",
            [(dialog.id, tag) for tag in dialog.tags],
        )
        inserted = dict(zip(DIALOG_COLUMNS, values, strict=True))
        rollups.add_new(db, [inserted[name] for name in rollups.COUNTED], dialog.tags)

    async def get_dialog(self, dialog_id: str) -> Dialog | None:
        row = self.runner.lookup(lambda db: _one(db, "SELECT data FROM dialogs WHERE id = ?", (dialog_id,)))
        return None if row is None else Dialog.model_validate_json(row["data"])

    async def find_dialogs(
        self, *, code: str | None = None, contact_id: str | None = None, limit: int = 20
    ) -> list[Dialog]:
        where, args = [], []
        if code is not None:
            where.append("code = ?")
            args.append(code)
        if contact_id is not None:
            where.append("contact_id = ?")
            args.append(contact_id)
        sql = "SELECT data FROM dialogs"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY started_at DESC LIMIT ?"
        rows = self.runner.lookup(lambda db: _all(db, sql, (*args, limit)))
        return [Dialog.model_validate_json(r["data"]) for r in rows]

    async def list_dialogs(self, start: datetime, end: datetime, limit: int = 1000) -> list[Dialog]:
        rows = await self.runner.read(
            lambda db: _all(
                db,
                "SELECT data FROM dialogs WHERE started_at >= ? AND started_at < ? ORDER BY started_at LIMIT ?",
                (ts(start), ts(end), limit),
            )
        )
        return [Dialog.model_validate_json(r["data"]) for r in rows]

    async def unattributed_dialogs(
        self, business_number: str, start: datetime, end: datetime, limit: int = 50
    ) -> list[Dialog]:
        rows = await self.runner.read(
            lambda db: _all(
                db,
                "SELECT data FROM dialogs WHERE business_number = ? AND started_at >= ? AND started_at < ? "
                "AND status = ? ORDER BY started_at LIMIT ?",
                (business_number, ts(start), ts(end), AttributionStatus.NONE.value, limit),
            )
        )
        return [Dialog.model_validate_json(r["data"]) for r in rows]

    async def browse_dialogs(
        self,
        *,
        before: DialogPosition | None = None,
        after: DialogPosition | None = None,
        name: str | None = None,
        limit: int = 20,
        scan: int = NAME_SCAN,
    ) -> DialogBrowse:
        # Keyset paging on the started_at index; ties at one instant are ordered by id (a small sort).
        if after is not None:
            where, args = "WHERE started_at >= ? AND (started_at > ? OR id > ?)", [ts(after.started_at)] * 2
            args.append(after.dialog_id)
            order = "ORDER BY started_at, id"
        else:
            where, args, order = "", [], "ORDER BY started_at DESC, id DESC"
            if before is not None:
                where = "WHERE started_at <= ? AND (started_at < ? OR id < ?)"
                args = [ts(before.started_at), ts(before.started_at), before.dialog_id]
        if name is None:
            sql = f"SELECT data FROM dialogs {where} {order} LIMIT ?"
            rows = await self.runner.read(lambda db: _all(db, sql, (*args, limit)))
            return DialogBrowse(dialogs=[Dialog.model_validate_json(r["data"]) for r in rows])
        # A substring has no index: read the names of at most `scan` dialogs, in order, and keep the matches.
        needle = name.casefold()
        names = "SELECT id, started_at, json_extract(data, '$.contact_name') AS name FROM dialogs"
        sql = f"{names} {where} {order} LIMIT ?"

        def search(db: sqlite3.Connection) -> tuple[list[Dialog], DialogPosition | None]:
            rows = _all(db, sql, (*args, scan))
            matched = [r["id"] for r in rows if needle in (r["name"] or "").casefold()][:limit]
            found = {
                r["id"]: Dialog.model_validate_json(r["data"])
                for r in _all(db, f"SELECT id, data FROM dialogs WHERE id IN ({','.join('?' * len(matched))})", matched)
            }
            reached = None
            if len(matched) < limit and len(rows) == scan:
                reached = DialogPosition(started_at=parse_ts(rows[-1]["started_at"]), dialog_id=rows[-1]["id"])
            return [found[i] for i in matched if i in found], reached

        dialogs, reached = await self.runner.read(search)
        return DialogBrowse(dialogs=dialogs, scanned_to=reached)

    async def set_tags(self, dialog_id: str, tags: list[str], deliveries: Sequence[OutboxItem] = ()) -> Dialog | None:
        def retag(db: sqlite3.Connection) -> Dialog | None:
            row = _one(db, "SELECT data FROM dialogs WHERE id = ?", (dialog_id,))
            if row is None:
                return None
            dialog = Dialog.model_validate_json(row["data"])
            before, dialog.tags = dialog.tags, sorted(set(tags))
            if SALE_TAG not in dialog.tags and dialog.sales:  # the tag and the sales go together
                dialog.sales = []
                db.execute("DELETE FROM sales WHERE dialog_id = ?", (dialog_id,))
            _write_dialog(db, dialog, before)
            _queue(db, deliveries)
            return dialog

        return await self.runner.write(retag)

    async def telegram_contacts(self, username: str) -> list[str]:
        if not TELEGRAM_USERNAME.fullmatch(username):
            return []
        ending = "%(@" + username.replace("_", "\\_") + ")"  # LIKE ignores the case of ASCII letters

        def scan(db: sqlite3.Connection) -> list[str]:
            sql = (
                "SELECT DISTINCT contact_id FROM dialogs WHERE contact_id LIKE 'tg:%' "
                "AND json_extract(data, '$.contact_name') LIKE ? ESCAPE '\\' ORDER BY contact_id"
            )
            return [row[0] for row in db.execute(sql, (ending,))]

        return await self.runner.read(scan)

    async def forget_contact(self, contact_id: str) -> int:
        # Every visit of the browsers that led to the contact's dialogs goes too, with its clicks. Visits
        # have no index by visitor (page views are cheaper without), so they are found by a scan on a
        # reader thread first; the write then adds what those browsers stored since (last_seen is
        # indexed), and scans for a browser only a dialog opened meanwhile brought.
        scan_started = utc_now() - timedelta(minutes=5)  # a view answered just before may commit after

        def browsers(db: sqlite3.Connection) -> dict[str, list[str]]:
            found: dict[str, list[str]] = {}
            query = (
                "SELECT visitor_id, code FROM visits WHERE visitor_id IN (SELECT visitor_id FROM visits"
                " WHERE code IN (SELECT code FROM dialogs WHERE contact_id = ? AND code IS NOT NULL))"
            )
            for visitor, code in db.execute(query, (contact_id,)):
                found.setdefault(visitor, []).append(code)
            return found

        scanned = await self.runner.read(browsers)

        def forget(db: sqlite3.Connection) -> int:
            rows = _all(db, "SELECT id, code FROM dialogs WHERE contact_id = ?", (contact_id,))
            ids = [(r["id"],) for r in rows]
            codes = {r["code"] for r in rows if r["code"]}
            visitors = {
                row[0]
                for code in codes
                if (row := _one(db, "SELECT visitor_id FROM visits WHERE code = ?", (code,))) is not None
            }
            for visitor in visitors | scanned.keys():
                if visitor in scanned:
                    codes.update(scanned[visitor])
                    recent = "SELECT code FROM visits WHERE last_seen >= ? AND visitor_id = ?"
                    codes.update(row[0] for row in db.execute(recent, (ts(scan_started), visitor)))
                else:  # a dialog opened after the scan: rare, scan for this browser here
                    codes.update(
                        row[0] for row in db.execute("SELECT code FROM visits WHERE visitor_id = ?", (visitor,))
                    )
            erased = [
                (erased_message_digest(self._erasure_key, row[0], row[1]),)
                for dialog_id in ids
                for row in db.execute("SELECT provider, message_id FROM messages WHERE dialog_id = ?", dialog_id)
            ]
            db.executemany("INSERT OR IGNORE INTO erased_messages (digest) VALUES (?)", erased)
            rollups.remove(db, [dialog_id for (dialog_id,) in ids])
            # The outbox takes waiting deliveries (never sent after this) and the records of those done.
            for table in ("messages", "outbox", "dialog_tags", "alert_messages", "relay_messages", "sales"):
                db.executemany(f"DELETE FROM {table} WHERE dialog_id = ?", ids)
            db.executemany("DELETE FROM dialogs WHERE id = ?", ids)
            db.executemany("DELETE FROM clicks WHERE code = ?", [(code,) for code in codes])
            db.executemany("DELETE FROM visits WHERE code = ?", [(code,) for code in codes])
            db.execute("DELETE FROM contact_aliases WHERE contact_id = ? OR alias = ?", (contact_id, contact_id))
            return len(ids)

        erased = await self.runner.write(forget)
        # secure_delete zeroed the rows in the pages; the WAL still holds the pages as they were.
        if not await self.runner.empty_wal():
            log.warning(
                "forget: another process is reading the database, so the erased data stay in %s until a "
                "later checkpoint empties it (at the latest when every copy of chattrack stops)",
                wal_path(self.path),
            )
        return erased

    async def count_dialogs(self, query: CountQuery) -> list[CountRow]:
        for name in [*query.group_by, *query.filters]:
            if name not in GROUPABLE_FIELDS:
                raise ValueError(f"cannot group or filter by {name!r}")
        if TAKEN_BY in query.filters:
            taker_of(query.filters[TAKEN_BY])  # a bad value is refused here, not in the reader thread
        if CUSTOMER in query.filters:
            is_repeat_of(query.filters[CUSTOMER])

        def count(db: sqlite3.Connection) -> list[sqlite3.Row]:
            # One read transaction: the rows' state, W and the rows agree, whatever the roll-up commits meanwhile.
            db.execute("BEGIN")
            try:
                # Whole days and hours from the rollups (tracking/store/rollups.py) while they are complete.
                shape = rollups.shape_for(query) if rollups.is_ready(db) else None
                sql, args = rollups.count_sql(query, shape, ts)
                return _all(db, sql, args)
            finally:
                db.execute("COMMIT")

        rows = await self.runner.read(count)
        result = []
        for row in rows:
            n, repeat = int(row["n"] or 0), int(row["r"] or 0)
            if n == 0:
                continue  # an ungrouped COUNT over nothing
            result.append(
                CountRow(
                    key={
                        name: taker_key(row[f"g{i}"]) if name == TAKEN_BY else row[f"g{i}"]
                        for i, name in enumerate(query.group_by)
                    },
                    bucket=row["bucket"] if query.bucket else None,
                    dialogs=n,
                    new=n - repeat,
                    repeat=repeat,
                )
            )
        return result

    async def roll_up(self, now: datetime | None = None) -> None:
        """Bring the report rollups up to the last whole UTC hour before `now` (rollups.roll_up_step): at most
        rollups.PIECE new dialogs, or rollups.DAY_PIECE hour rows of a whole day, per short write, so ingest
        waits for none of it long, even on a burst."""
        target = rollups.slot(now or utc_now(), rollups.HOUR)
        while await self.runner.write(functools.partial(rollups.roll_up_step, target=target)):
            pass

    async def rebuild_counts(self, now: datetime | None = None) -> bool:
        """Recompute the report rollups from the dialogs (after a migration that rewrote dialogs' columns
        and called `rollups.mark_stale`, or to repair them), up to the last whole UTC hour before `now`: an
        hour per short write, so the server keeps serving, and reports count raw until it ends. Idempotent.
        False when the dialogs were marked stale again meanwhile (run it again)."""
        began = await self.runner.read(rollups.state)
        target = rollups.slot(now or utc_now(), rollups.HOUR)
        await self.runner.write(functools.partial(rollups.begin_rebuild, target=target))
        for hour in await self.runner.read(rollups.hours_to_rebuild):
            await self.runner.write(functools.partial(rollups.rebuild_hour, hour=hour))
        for day in await self.runner.read(rollups.days_to_rebuild):
            await self.runner.write(functools.partial(rollups.rebuild_day, day=day))
        return await self.runner.write(functools.partial(rollups.finish_rebuild, began=began))

    # outbox -------------------------------------------------------------------------------------

    async def claim_alerts(
        self, now: datetime, lease: timedelta, limit: int = 20, kinds: Sequence[str] = ALERT_KINDS
    ) -> list[OutboxItem]:
        # One index range of outbox_kind_due per kind (each in due order), the earliest `limit` of them all.
        sql = (
            "SELECT * FROM outbox WHERE kind = ? AND sent_at IS NULL AND next_attempt_at <= ? "
            "AND (lease_until IS NULL OR lease_until <= ?) ORDER BY next_attempt_at LIMIT ?"
        )

        def claim(db: sqlite3.Connection) -> list[sqlite3.Row]:
            due = [row for kind in dict.fromkeys(kinds) for row in _all(db, sql, (kind, ts(now), ts(now), limit))]
            rows = sorted(due, key=lambda r: r["next_attempt_at"])[:limit]
            db.executemany(
                "UPDATE outbox SET lease_until = ?, attempts = attempts + 1 WHERE id = ?",
                [(ts(now + lease), r["id"]) for r in rows],
            )
            return rows

        return [_outbox_item(r, claimed=True) for r in await self.runner.write(claim)]

    async def alert_sent(self, item_id: str, now: datetime) -> None:
        await self.delivery_done(item_id, now, DeliveryOutcome.SENT, None)

    async def alert_failed(self, item_id: str, next_attempt_at: datetime, error: str) -> None:
        await self.runner.write(
            lambda db: db.execute(
                "UPDATE outbox SET next_attempt_at = ?, lease_until = NULL, last_error = ? WHERE id = ?",
                (ts(next_attempt_at), error[:500], item_id),
            )
        )

    async def pending_alerts(self, kinds: Sequence[str] = ALERT_KINDS) -> int:
        # A take reminder waiting for its time is no backlog: it counts once due.
        wanted = list(dict.fromkeys(kinds))
        sql = (
            f"SELECT COUNT(*) AS n FROM outbox WHERE kind IN ({', '.join('?' * len(wanted))}) AND sent_at IS NULL "
            "AND (kind != ? OR next_attempt_at <= ?)"
        )
        row = self.runner.lookup(lambda db: _one(db, sql, (*wanted, TAKE_REMINDER, ts(utc_now()))))
        return int(row["n"]) if row else 0

    async def alert_message_sent(self, dialog_id: str, chat_id: int, message_id: int) -> None:
        await self.runner.write(
            lambda db: db.execute(
                "INSERT OR IGNORE INTO alert_messages (dialog_id, chat_id, message_id, seq) "
                "SELECT ?, ?, ?, coalesce(max(seq), 0) + 1 FROM alert_messages WHERE dialog_id = ?",
                (dialog_id, chat_id, message_id, dialog_id),
            )
        )

    async def alert_messages(self, contact_id: str) -> list[tuple[int, int]]:
        sql = (
            "SELECT chat_id, message_id FROM alert_messages WHERE dialog_id IN "
            "(SELECT id FROM dialogs WHERE contact_id = ?) ORDER BY chat_id, message_id"
        )
        rows = self.runner.lookup(lambda db: _all(db, sql, (contact_id,)))
        return [(int(r["chat_id"]), int(r["message_id"])) for r in rows]

    async def relay_messages(self, contact_id: str) -> list[tuple[int, int]]:
        sql = (
            "SELECT chat_id, message_id FROM relay_messages WHERE dialog_id IN "
            "(SELECT id FROM dialogs WHERE contact_id = ?) ORDER BY chat_id, message_id"
        )
        rows = self.runner.lookup(lambda db: _all(db, sql, (contact_id,)))
        return [(int(r["chat_id"]), int(r["message_id"])) for r in rows]

    # deliveries and sales (issue 19) ------------------------------------------------------------------

    async def delivery_done(self, item_id: str, now: datetime, outcome: DeliveryOutcome, note: str | None) -> None:
        await self.runner.write(
            lambda db: db.execute(
                "UPDATE outbox SET sent_at = ?, outcome = ?, last_error = ?, lease_until = NULL WHERE id = ?",
                (ts(now), outcome.value, None if note is None else note[:500], item_id),
            )
        )

    async def queue_deliveries(self, deliveries: Sequence[OutboxItem]) -> int:
        def queue(db: sqlite3.Connection) -> int:
            ids = {item.dialog_id for item in deliveries}
            known = {i for i in ids if _one(db, "SELECT 1 FROM dialogs WHERE id = ?", (i,)) is not None}
            return _queue(db, [item for item in deliveries if item.dialog_id in known])  # erased: nothing

        return await self.runner.write(queue) if deliveries else 0

    async def dialog_deliveries(self, dialog_id: str) -> list[OutboxItem]:
        sql = (
            f"SELECT * FROM outbox WHERE dialog_id = ? AND kind IN ({', '.join('?' * len(DELIVERY_KINDS))}) "
            "ORDER BY created_at, id"  # as MongoDB orders them
        )
        rows = self.runner.lookup(lambda db: _all(db, sql, (dialog_id, *DELIVERY_KINDS)))
        return [_outbox_item(r) for r in rows]

    async def _change_sales(
        self, dialog_id: str, change: Callable[[sqlite3.Connection, Dialog], bool]
    ) -> Dialog | None:
        """Read, change and write one dialog's sales (and with them its "sale" tag) in one write; `change`
        keeps the sales table in step and says whether the dialog changed."""

        def write(db: sqlite3.Connection) -> Dialog | None:
            row = _one(db, "SELECT data FROM dialogs WHERE id = ?", (dialog_id,))
            if row is None:
                return None
            dialog = Dialog.model_validate_json(row["data"])
            before = list(dialog.tags)
            if change(db, dialog):
                _write_dialog(db, dialog, before)
            return dialog

        return await self.runner.write(write)

    async def add_sale(self, dialog_id: str, sale: Sale, deliveries: Sequence[OutboxItem] = ()) -> Dialog | None:
        def add(db: sqlite3.Connection, dialog: Dialog) -> bool:
            if any(known.id == sale.id for known in dialog.sales):
                return False  # stored before (a retry): nothing changes, nothing is queued again
            dialog.sales.append(sale)
            if SALE_TAG not in dialog.tags:
                dialog.tags = sorted({*dialog.tags, SALE_TAG})
            db.execute(
                "INSERT INTO sales (dialog_id, sale_id, started_at, at, amount, currency) VALUES (?, ?, ?, ?, ?, ?)",
                (dialog.id, sale.id, ts(dialog.started_at), ts(sale.at), _amount(sale.amount), sale.currency),
            )
            _queue(db, deliveries)
            return True

        return await self._change_sales(dialog_id, add)

    async def update_sale(self, dialog_id: str, sale_id: str, amount: Decimal | None, currency: str) -> Dialog | None:
        now = utc_now()

        def update(db: sqlite3.Connection, dialog: Dialog) -> bool:
            sale = next((known for known in dialog.sales if known.id == sale_id), None)
            if sale is None:
                raise LookupError(sale_id)
            sale.amount, sale.currency = amount, currency
            db.execute(
                "UPDATE sales SET amount = ?, currency = ? WHERE dialog_id = ? AND sale_id = ?",
                (_amount(amount), currency, dialog_id, sale_id),
            )
            if amount is not None:  # its deliveries waited for the amount (deliveries.sale_due): due now
                db.execute(
                    "UPDATE outbox SET next_attempt_at = min(next_attempt_at, ?) "
                    "WHERE dialog_id = ? AND sale_id = ? AND sent_at IS NULL",
                    (ts(now), dialog_id, sale_id),
                )
            return True

        try:
            return await self._change_sales(dialog_id, update)
        except LookupError:  # no such sale: the write changed nothing
            return None

    async def remove_sale(self, dialog_id: str, sale_id: str) -> Dialog | None:
        def remove(db: sqlite3.Connection, dialog: Dialog) -> bool:
            kept = [known for known in dialog.sales if known.id != sale_id]
            if len(kept) == len(dialog.sales):
                return False
            dialog.sales = kept
            if not kept:  # the last sale takes the tag with it
                dialog.tags = [tag for tag in dialog.tags if tag != SALE_TAG]
            db.execute("DELETE FROM sales WHERE dialog_id = ? AND sale_id = ?", (dialog_id, sale_id))
            return True

        return await self._change_sales(dialog_id, remove)

    async def sale_rows(self, query: CountQuery, limit: int = 200_000) -> list[SaleRow]:
        sql, args = sale_sql(query)
        return await self.runner.read(functools.partial(sale_rows, sql=sql, args=(*args, limit)))

    async def save_costs(self, costs: Sequence[Cost]) -> int:
        rows = [
            (*key, cost.campaign, cost.campaign_id, amount_text(cost.amount), cost.currency)
            for key, cost in latest_by_key(costs).items()
        ]

        def save(db: sqlite3.Connection) -> int:  # one write: its savepoint commits all rows or none
            db.executemany(SAVE_COST, rows)
            return len(rows)

        return await self.runner.write(save) if rows else 0

    async def cost_rows(self, start: date, end: date) -> list[CostRow]:
        sql = (
            "SELECT day, source, campaign, campaign_id, ad_id, amount, currency, origin FROM costs "
            "WHERE day >= ? AND day < ? ORDER BY day, source, campaign, campaign_key, ad_id, origin"
        )

        def read(db: sqlite3.Connection) -> list[CostRow]:  # plain tuples, in the reader thread
            days: dict[str, date] = {}
            return [
                CostRow(days.get(day) or days.setdefault(day, date.fromisoformat(day)), source, campaign, campaign_id,
                        ad_id or None, Decimal(amount), currency, origin)
                for day, source, campaign, campaign_id, ad_id, amount, currency, origin
                in db.execute(sql, (start.isoformat(), end.isoformat()))
            ]  # fmt: skip

        return await self.runner.read(read)

    async def claim_job(self, key: str, now: datetime, lease: timedelta) -> bool:
        # A new key is inserted; an existing one is taken over only when unfinished and its lease expired.
        # A row without a lease (written before leases) never is: it counts as done.
        def claim(db: sqlite3.Connection) -> bool:
            cursor = db.execute(
                "INSERT INTO jobs (key, claimed_at, lease_until) VALUES (?, ?, ?) "
                "ON CONFLICT (key) DO UPDATE SET claimed_at = excluded.claimed_at, lease_until = excluded.lease_until "
                "WHERE jobs.done_at IS NULL AND jobs.lease_until IS NOT NULL "
                "AND jobs.lease_until <= excluded.claimed_at",
                (key, ts(now), ts(now + lease)),
            )
            return cursor.rowcount == 1

        return await self.runner.write(claim)

    async def finish_job(self, key: str, now: datetime) -> None:
        await self.runner.write(
            lambda db: db.execute(
                "INSERT INTO jobs (key, claimed_at, done_at) VALUES (?, ?, ?) "
                "ON CONFLICT (key) DO UPDATE SET done_at = coalesce(jobs.done_at, excluded.done_at)",
                (key, ts(now), ts(now)),
            )
        )

    # bot access -----------------------------------------------------------------------------------

    async def create_invite(self, invite: Invite) -> None:
        await self.runner.write(
            lambda db: db.execute(
                "INSERT INTO invites (token, created_by, created_at, expires_at) VALUES (?, ?, ?, ?)",
                (invite.token, invite.created_by, ts(invite.created_at), ts(invite.expires_at)),
            )
        )

    async def redeem_invite(
        self, token: str, user_id: int, name: str, username: str | None, now: datetime
    ) -> StaffMember | None:
        def redeem(db: sqlite3.Connection) -> StaffMember | None:
            row = _one(
                db,
                "UPDATE invites SET used_by = ?, used_at = ? WHERE token = ? AND used_by IS NULL AND expires_at > ? "
                "RETURNING created_by",
                (user_id, ts(now), token, ts(now)),
            )
            if row is None:
                return None
            member = StaffMember(user_id=user_id, name=name, username=username, added_at=now, added_by=row[0])
            _save_staff(db, member)
            return member

        return await self.runner.write(redeem)

    async def add_staff(self, member: StaffMember) -> None:
        await self.runner.write(lambda db: _save_staff(db, member))

    async def get_staff(self, user_id: int) -> StaffMember | None:
        row = self.runner.lookup(lambda db: _one(db, "SELECT data FROM staff WHERE user_id = ?", (user_id,)))
        return None if row is None else StaffMember.model_validate_json(row["data"])

    async def list_staff(self) -> list[StaffMember]:
        rows = self.runner.lookup(lambda db: _all(db, "SELECT data FROM staff ORDER BY added_at, user_id"))
        return [StaffMember.model_validate_json(r["data"]) for r in rows]

    async def remove_staff(self, user_id: int) -> bool:
        def remove(db: sqlite3.Connection) -> bool:
            removed = db.execute("DELETE FROM staff WHERE user_id = ?", (user_id,)).rowcount == 1
            db.execute("DELETE FROM summary_choices WHERE user_id = ?", (user_id,))
            db.execute("DELETE FROM muted_users WHERE user_id = ?", (user_id,))
            return removed

        return await self.runner.write(remove)

    async def set_summary_choice(self, choice: SummaryChoice) -> None:
        await self.runner.write(
            lambda db: db.execute(
                "INSERT INTO summary_choices (user_id, data) VALUES (?, ?) "
                "ON CONFLICT (user_id) DO UPDATE SET data = excluded.data",
                (choice.user_id, choice.model_dump_json()),
            )
        )

    async def summary_choices(self) -> list[SummaryChoice]:
        rows = self.runner.lookup(lambda db: _all(db, "SELECT data FROM summary_choices ORDER BY user_id"))
        return [SummaryChoice.model_validate_json(r["data"]) for r in rows]

    async def save_business_account(self, account: BusinessAccount) -> None:
        await self.runner.write(
            lambda db: db.execute(
                "INSERT INTO business_accounts (connection_id, data) VALUES (?, ?) "
                "ON CONFLICT (connection_id) DO UPDATE SET data = excluded.data",
                (account.connection_id, account.model_dump_json()),
            )
        )

    async def get_business_account(self, connection_id: str) -> BusinessAccount | None:
        row = self.runner.lookup(
            lambda db: _one(db, "SELECT data FROM business_accounts WHERE connection_id = ?", (connection_id,))
        )
        return None if row is None else BusinessAccount.model_validate_json(row["data"])

    # aliases: a provider's user id linked to the contact it was first seen with ------------------
    # Tables made by older versions need nothing: the table and its index come with SCHEMA (IF NOT EXISTS).

    async def link_alias(self, alias: str, contact_id: str) -> str:
        # Read first: every message carrying both ids links again, and a lookup costs no commit.
        linked = await self.aliased_contact(alias)
        if linked is not None:
            return linked

        def link(db: sqlite3.Connection) -> str:
            db.execute("INSERT OR IGNORE INTO contact_aliases (alias, contact_id) VALUES (?, ?)", (alias, contact_id))
            return str(db.execute("SELECT contact_id FROM contact_aliases WHERE alias = ?", (alias,)).fetchone()[0])

        return await self.runner.write(link)

    async def aliased_contact(self, alias: str) -> str | None:
        row = self.runner.lookup(
            lambda db: _one(db, "SELECT contact_id FROM contact_aliases WHERE alias = ?", (alias,))
        )
        return None if row is None else str(row["contact_id"])

    # customers' edits and deletions -------------------------------------------------------------

    async def message_dialog(self, provider: str, message_id: str) -> Dialog | None:
        row = self.runner.lookup(
            lambda db: _one(
                db,
                "SELECT d.data FROM messages m JOIN dialogs d ON d.id = m.dialog_id "
                "WHERE m.provider = ? AND m.message_id = ?",
                (provider, message_id),
            )
        )
        return None if row is None else Dialog.model_validate_json(row["data"])

    async def edit_message(
        self,
        provider: str,
        message_id: str,
        text: str,
        edited_at: datetime,
        attribution: CodeAttribution | None = None,
    ) -> bool:
        def edit(db: sqlite3.Connection) -> bool:
            row = _one(
                db,
                "SELECT rowid, dialog_id, edited_at FROM messages WHERE provider = ? AND message_id = ?",
                (provider, message_id),
            )
            if row is None:
                return False
            if row["edited_at"] is not None and row["edited_at"] > ts(edited_at):
                return True  # a newer edit is stored already
            db.execute(
                "UPDATE messages SET text = ?, edited_at = ? WHERE rowid = ?", (text, ts(edited_at), row["rowid"])
            )
            stored = _one(db, "SELECT data FROM dialogs WHERE id = ?", (row["dialog_id"],))
            if stored is None:
                return True
            dialog = Dialog.model_validate_json(stored["data"])
            # The message that opened the dialog was written with it, before any other of its messages.
            opener = _one(db, "SELECT min(rowid) AS first FROM messages WHERE dialog_id = ?", (dialog.id,))
            if opener is not None and opener["first"] == row["rowid"]:
                dialog.first_message = text
            _rewrite_attribution(db, dialog, attribution if dialog.code is None else None)
            return True

        return await self.runner.write(edit)

    async def attribute_dialog(self, dialog_id: str, attribution: CodeAttribution) -> Dialog | None:
        def attribute(db: sqlite3.Connection) -> Dialog | None:
            stored = _one(db, "SELECT data FROM dialogs WHERE id = ?", (dialog_id,))
            if stored is None:
                return None
            dialog = Dialog.model_validate_json(stored["data"])
            if dialog.code is not None:
                return None
            return _rewrite_attribution(db, dialog, attribution)

        return await self.runner.write(attribute)

    async def delete_message(self, provider: str, message_id: str, deleted_at: datetime) -> bool:
        def delete(db: sqlite3.Connection) -> bool:
            cursor = db.execute(
                "UPDATE messages SET deleted_at = coalesce(deleted_at, ?) WHERE provider = ? AND message_id = ?",
                (ts(deleted_at), provider, message_id),
            )
            return cursor.rowcount == 1

        return await self.runner.write(delete)

    async def dialog_messages(self, dialog_id: str) -> list[StoredMessage]:
        rows = await self.runner.read(
            lambda db: _all(
                db,
                "SELECT provider, message_id, text, received_at, edited_at, deleted_at FROM messages "
                "WHERE dialog_id = ? ORDER BY received_at, rowid",
                (dialog_id,),
            )
        )
        return [
            StoredMessage(
                provider=r["provider"],
                message_id=r["message_id"],
                text=r["text"],
                received_at=parse_ts(r["received_at"]),
                edited_at=None if r["edited_at"] is None else parse_ts(r["edited_at"]),
                deleted_at=None if r["deleted_at"] is None else parse_ts(r["deleted_at"]),
            )
            for r in rows
        ]

    # the team (issue 18) --------------------------------------------------------------------------

    async def dialog_alert_messages(self, dialog_id: str) -> list[tuple[int, int]]:
        sql = (
            "SELECT chat_id, message_id FROM alert_messages WHERE dialog_id = ? "
            "ORDER BY coalesce(seq, 0), chat_id, message_id"
        )
        rows = self.runner.lookup(lambda db: _all(db, sql, (dialog_id,)))
        return [(int(r["chat_id"]), int(r["message_id"])) for r in rows]

    async def _change_dialog(self, dialog_id: str, change: Callable[[Dialog], bool]) -> Dialog | None:
        """Read, change and write one dialog's document in one write (atomic: the writer runs one at a
        time, in BEGIN IMMEDIATE across processes). `change` says whether it changed anything."""

        def write(db: sqlite3.Connection) -> Dialog | None:
            row = _one(db, "SELECT data FROM dialogs WHERE id = ?", (dialog_id,))
            if row is None:
                return None
            dialog = Dialog.model_validate_json(row["data"])
            if change(dialog):  # the document and its TEAM_COLUMNS (no column the reports count by)
                db.execute(TEAM_UPDATE, (*team_values(dialog), dialog.model_dump_json(), dialog_id))
            return dialog

        return await self.runner.write(write)

    async def take_dialog(
        self, dialog_id: str, user_id: int, name: str, at: datetime, *, replace: bool = False
    ) -> Dialog | None:
        def take(dialog: Dialog) -> bool:
            if dialog.taken_by is not None and not replace:
                return False  # someone took it first
            dialog.taken_by, dialog.taken_by_name, dialog.taken_at = user_id, name, at
            return True

        return await self._change_dialog(dialog_id, take)

    async def record_reply(self, dialog_id: str, at: datetime, by: str | None = None) -> Dialog | None:
        def answer(dialog: Dialog) -> bool:
            if dialog.answered_at is not None and dialog.answered_at <= at:
                return False  # an earlier reply is kept
            dialog.answered_at, dialog.answered_by = at, by
            return True

        return await self._change_dialog(dialog_id, answer)

    async def reply_seen(self, provider: str, business_number: str, at: datetime) -> None:
        # Called for every reply a provider reports: a source known since no later than `at` needs no write
        # (`since` only ever moves earlier, so what this copy saw stays true whatever other copies write).
        key = (provider, business_number)
        known = self._reply_since.get(key)
        if known is not None and known <= at:
            return

        def seen(db: sqlite3.Connection) -> str:
            row = _one(
                db,
                "INSERT INTO reply_sources (provider, business_number, since) VALUES (?, ?, ?) "
                "ON CONFLICT (provider, business_number) DO UPDATE SET since = min(since, excluded.since) "
                "RETURNING since",
                (provider, business_number, ts(at)),
            )
            assert row is not None
            return str(row["since"])

        self._reply_since[key] = parse_ts(await self.runner.write(seen))

    async def reply_sources(self) -> list[ReplySource]:
        sql = "SELECT provider, business_number, since FROM reply_sources ORDER BY provider, business_number"
        rows = self.runner.lookup(lambda db: _all(db, sql))
        return [
            ReplySource(provider=r["provider"], business_number=r["business_number"], since=parse_ts(r["since"]))
            for r in rows
        ]

    async def relay_message_sent(self, dialog_id: str, chat_id: int, message_id: int) -> None:
        await self.runner.write(
            lambda db: db.execute(
                "INSERT OR IGNORE INTO relay_messages (chat_id, message_id, dialog_id) VALUES (?, ?, ?)",
                (chat_id, message_id, dialog_id),
            )
        )

    async def dialog_by_bot_message(self, chat_id: int, message_id: int) -> str | None:
        args = (chat_id, message_id, chat_id, message_id)
        row = self.runner.lookup(lambda db: _one(db, BOT_MESSAGE_SQL, args))
        return None if row is None else str(row["dialog_id"])

    async def set_team_chat(self, chat: TeamChat | None) -> None:
        def save(db: sqlite3.Connection) -> None:
            if chat is None:
                db.execute("DELETE FROM meta WHERE key = 'team_chat'")
            else:
                db.execute(
                    "INSERT INTO meta (key, value) VALUES ('team_chat', ?) "
                    "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    (chat.model_dump_json(),),
                )

        await self.runner.write(save)

    async def team_chat(self) -> TeamChat | None:
        row = self.runner.lookup(lambda db: _one(db, "SELECT value FROM meta WHERE key = 'team_chat'"))
        return None if row is None else TeamChat.model_validate_json(row["value"])

    async def set_alerts_muted(self, user_id: int, muted: bool) -> None:
        sql = (
            "INSERT OR IGNORE INTO muted_users (user_id) VALUES (?)"
            if muted
            else ("DELETE FROM muted_users WHERE user_id = ?")
        )
        await self.runner.write(lambda db: db.execute(sql, (user_id,)))

    async def muted_users(self) -> set[int]:
        rows = self.runner.lookup(lambda db: _all(db, "SELECT user_id FROM muted_users"))
        return {int(r["user_id"]) for r in rows}

    async def get_mark(self, key: str) -> dict[str, Any] | None:
        row = self.runner.lookup(lambda db: _one(db, "SELECT value FROM marks WHERE key = ?", (key,)))
        return None if row is None else _mark(row["value"])

    async def marks(self, prefix: str) -> dict[str, dict[str, Any]]:
        # substr, not LIKE: a key may hold % or _
        sql = "SELECT key, value FROM marks WHERE substr(key, 1, ?) = ? ORDER BY key"
        rows = self.runner.lookup(lambda db: _all(db, sql, (len(prefix), prefix)))
        return {str(row["key"]): _mark(row["value"]) for row in rows}

    async def put_mark(self, key: str, value: dict[str, Any]) -> None:
        sql = "INSERT INTO marks (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value"
        await self.runner.write(lambda db: db.execute(sql, (key, json.dumps(value))))

    async def merge_mark(self, key: str, fields: dict[str, Any]) -> None:
        # json_patch would drop fields set to None: merged in Python, inside the write's transaction
        def merge(db: sqlite3.Connection) -> None:
            row = _one(db, "SELECT value FROM marks WHERE key = ?", (key,))
            value = {**(_mark(row["value"]) if row is not None else {}), **fields}
            db.execute(
                "INSERT INTO marks (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, json.dumps(value)),
            )

        await self.runner.write(merge)

    async def add_mark(self, key: str, value: dict[str, Any]) -> bool:
        sql = "INSERT OR IGNORE INTO marks (key, value) VALUES (?, ?)"
        return bool(await self.runner.write(lambda db: db.execute(sql, (key, json.dumps(value))).rowcount))

    async def take_mark(self, key: str) -> dict[str, Any] | None:
        sql = "DELETE FROM marks WHERE key = ? RETURNING value"
        rows = await self.runner.write(lambda db: _all(db, sql, (key,)))  # stepped to its end: the delete done
        return _mark(rows[0]["value"]) if rows else None

    async def response_rows(self, query: CountQuery, limit: int = 200_000) -> list[ResponseRow]:
        sql, args = response_sql(query)
        # Built on a reader thread: a month may be 100,000 rows (~0.3 s), the event loop goes on meanwhile.
        return await self.runner.read(functools.partial(response_rows, sql=sql, args=(*args, limit)))

    async def response_sums(
        self,
        query: CountQuery,
        windows: Mapping[tuple[str, str], datetime],
        opened_by: Sequence[datetime],
        limit: int = 200_000,
    ) -> ResponseSums | None:
        if TAKEN_BY in query.filters:
            taker_of(query.filters[TAKEN_BY])  # a bad value is refused here, not in the reader thread
        return await self.runner.read(
            functools.partial(response_sums, query=query, windows=windows, opened_by=opened_by, limit=limit)
        )


__all__ = ["SQLiteStore", "sqlite_path"]
