"""The embedded default store: one SQLite file, zero set-up.

Writes that must be atomic run inside `BEGIN IMMEDIATE` transactions, so several server processes may
share the file. Times are stored as UTC ISO-8601 strings, which sort like the instants they name.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import sqlite3
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiosqlite

from tracking.models import (
    Click,
    Dialog,
    IngestOutcome,
    IngestResult,
    OutboxItem,
    PageView,
    Visit,
)
from tracking.store.base import (
    ATTRIBUTION_FIELDS,
    GROUPABLE_FIELDS,
    BusinessAccount,
    CodeTaken,
    CountQuery,
    CountRow,
    Invite,
    NewDialog,
    StaffMember,
    StoreUnavailable,
    SummaryChoice,
)

SCHEMA_VERSION = 1

# Attribution columns copied from Dialog.attribution, so reports group in SQL.
ATTRIBUTION_COLUMNS = ATTRIBUTION_FIELDS

SCHEMA = f"""
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS visits (
    code TEXT PRIMARY KEY, visitor_id TEXT NOT NULL, last_seen TEXT NOT NULL, data TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS visits_last_seen ON visits (last_seen);
CREATE INDEX IF NOT EXISTS visits_visitor ON visits (visitor_id);
CREATE TABLE IF NOT EXISTS clicks (
    id INTEGER PRIMARY KEY, code TEXT NOT NULL, target TEXT NOT NULL, page TEXT NOT NULL, at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS clicks_target_at ON clicks (target, at);
CREATE INDEX IF NOT EXISTS clicks_code ON clicks (code);
CREATE TABLE IF NOT EXISTS dialogs (
    id TEXT PRIMARY KEY, business_number TEXT NOT NULL, contact_id TEXT NOT NULL,
    messenger TEXT NOT NULL, started_at TEXT NOT NULL, last_message_at TEXT NOT NULL,
    is_repeat INTEGER NOT NULL, status TEXT NOT NULL, code TEXT,
    {", ".join(f"{c} TEXT" for c in ATTRIBUTION_COLUMNS)},
    day TEXT NOT NULL, week TEXT NOT NULL, month TEXT NOT NULL, quarter TEXT NOT NULL,
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
    created_at TEXT NOT NULL, sent_at TEXT, last_error TEXT);
CREATE INDEX IF NOT EXISTS outbox_due ON outbox (sent_at, next_attempt_at);
CREATE TABLE IF NOT EXISTS jobs (key TEXT PRIMARY KEY, claimed_at TEXT NOT NULL, lease_until TEXT, done_at TEXT);
CREATE TABLE IF NOT EXISTS invites (
    token TEXT PRIMARY KEY, created_by INTEGER NOT NULL, created_at TEXT NOT NULL, expires_at TEXT NOT NULL,
    used_by INTEGER, used_at TEXT);
CREATE TABLE IF NOT EXISTS staff (user_id INTEGER PRIMARY KEY, added_at TEXT NOT NULL, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS summary_choices (user_id INTEGER PRIMARY KEY, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS business_accounts (connection_id TEXT PRIMARY KEY, data TEXT NOT NULL);
"""


def ts(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def parse_ts(value: str) -> datetime:
    return datetime.fromisoformat(value)


def sqlite_path(database_url: str) -> Path:
    return Path(database_url.removeprefix("sqlite:///"))


def _failures_as_unavailable(cls: type[SQLiteStore]) -> type[SQLiteStore]:
    """Wrap every public coroutine method: SQLite failing (locked past busy_timeout, I/O error, disk full)
    or the store being closed under a call becomes StoreUnavailable, so webhooks answer 503 and providers
    retry, instead of a 500 or (aiosqlite's ValueError "Connection closed") a 400 that drops the message."""

    def guard(method: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
        @functools.wraps(method)
        async def call(self: SQLiteStore, *args: Any, **kwargs: Any) -> Any:
            opened = self._db
            try:
                return await method(self, *args, **kwargs)
            except sqlite3.OperationalError as exc:
                raise StoreUnavailable(f"SQLite: {exc}") from exc
            except (ValueError, sqlite3.ProgrammingError) as exc:
                if opened is None or self._db is not opened:  # closed (or reopened) during the call
                    raise StoreUnavailable("the store was closed during the call") from exc
                raise

        return call

    for name, method in list(vars(cls).items()):
        if not name.startswith("_") and name not in ("open", "close", "ping") and inspect.iscoroutinefunction(method):
            setattr(cls, name, guard(method))
    return cls


@_failures_as_unavailable
class SQLiteStore:
    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._db: aiosqlite.Connection | None = None
        # One connection per process: transactions of concurrent coroutines must not interleave on it.
        self._write = asyncio.Lock()

    @property
    def db(self) -> aiosqlite.Connection:
        if self._db is None:
            raise StoreUnavailable("store is not open")
        return self._db

    async def open(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = await aiosqlite.connect(self.path, isolation_level=None, timeout=10)
            self._db.row_factory = sqlite3.Row
            await self._db.execute("PRAGMA journal_mode=WAL")
            await self._db.execute("PRAGMA synchronous=NORMAL")
            await self._db.execute("PRAGMA busy_timeout=10000")
            await self._db.executescript(SCHEMA)
            await self._add_job_leases(self._db)
            await self._db.execute(
                "INSERT INTO meta (key, value) VALUES ('schema_version', ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (str(SCHEMA_VERSION),),
            )
        except (sqlite3.Error, OSError) as exc:
            raise StoreUnavailable(f"cannot open SQLite file {self.path}: {exc}") from exc

    @staticmethod
    async def _add_job_leases(db: aiosqlite.Connection) -> None:
        """Give a jobs table made before leases its lease_until and done_at columns (once, under a write lock,
        as another copy may be opening the file too). Its rows keep NULL in both, which claim_job reads as
        done: the old claim meant "sent or given up"."""
        await db.execute("BEGIN IMMEDIATE")
        try:
            columns = {row["name"] for row in await db.execute_fetchall("PRAGMA table_info(jobs)")}
            for column in ("lease_until", "done_at"):
                if column not in columns:
                    await db.execute(f"ALTER TABLE jobs ADD COLUMN {column} TEXT")
        except BaseException:
            await db.rollback()
            raise
        await db.commit()

    async def close(self) -> None:
        async with self._write:  # let the transaction in flight commit rather than cut it off
            if self._db is not None:
                db, self._db = self._db, None
                await db.close()

    async def ping(self) -> bool:
        try:
            await self.db.execute("SELECT 1")
            return True
        except (sqlite3.Error, StoreUnavailable, ValueError):
            return False

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """BEGIN IMMEDIATE … COMMIT; rolled back on any error. Other processes wait on busy_timeout."""
        async with self._write:
            db = self.db
            try:
                await db.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise StoreUnavailable(str(exc)) from exc
            try:
                yield db
            except BaseException:
                await db.rollback()
                raise
            await db.commit()

    # visits -------------------------------------------------------------------------------------

    async def record_page_view(self, view: PageView, visit: Visit) -> Visit:
        async with self._transaction() as db:
            row = await (await db.execute("SELECT data FROM visits WHERE code = ?", (view.code,))).fetchone()
            if row is None:
                stored = visit
            else:
                stored = Visit.model_validate_json(row["data"])
                if stored.visitor_id != view.visitor_id:
                    raise CodeTaken(view.code)
                stored.last_seen = max(stored.last_seen, view.at)
                stored.current_page = view.url
                stored.pages_seen += 1
            await db.execute(
                "INSERT INTO visits (code, visitor_id, last_seen, data) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (code) DO UPDATE SET last_seen = excluded.last_seen, data = excluded.data",
                (stored.code, stored.visitor_id, ts(stored.last_seen), stored.model_dump_json()),
            )
            return stored

    async def record_click(self, click: Click) -> None:
        async with self._transaction() as db:
            await db.execute(
                "INSERT INTO clicks (code, target, page, at) VALUES (?, ?, ?, ?)",
                (click.code, click.target, click.page, ts(click.at)),
            )
            row = await (await db.execute("SELECT data FROM visits WHERE code = ?", (click.code,))).fetchone()
            if row is not None:
                visit = Visit.model_validate_json(row["data"])
                visit.attribution.contact_page = click.page
                visit.last_seen = max(visit.last_seen, click.at)
                await db.execute(
                    "UPDATE visits SET data = ?, last_seen = ? WHERE code = ?",
                    (visit.model_dump_json(), ts(visit.last_seen), click.code),
                )

    async def get_visit(self, code: str) -> Visit | None:
        row = await (await self.db.execute("SELECT data FROM visits WHERE code = ?", (code,))).fetchone()
        return None if row is None else Visit.model_validate_json(row["data"])

    async def recent_clicks(self, target: str, since: datetime, until: datetime) -> list[Click]:
        cursor = await self.db.execute(
            "SELECT code, target, page, at FROM clicks WHERE target = ? AND at >= ? AND at <= ? ORDER BY at",
            (target, ts(since), ts(until)),
        )
        return [
            Click(code=r["code"], target=r["target"], page=r["page"], at=parse_ts(r["at"]))
            for r in await cursor.fetchall()
        ]

    async def delete_visits_before(self, cutoff: datetime) -> int:
        async with self._transaction() as db:
            cursor = await db.execute("DELETE FROM visits WHERE last_seen < ?", (ts(cutoff),))
            await db.execute("DELETE FROM clicks WHERE at < ?", (ts(cutoff),))
            return cursor.rowcount

    # dialogs ------------------------------------------------------------------------------------

    async def add_message(self, new: NewDialog) -> IngestResult:
        msg = new.message
        async with self._transaction() as db:
            seen = await (
                await db.execute(
                    "SELECT dialog_id FROM messages WHERE provider = ? AND message_id = ?",
                    (msg.provider, msg.message_id),
                )
            ).fetchone()
            if seen is not None:
                dialog = await self.get_dialog(seen["dialog_id"])
                assert dialog is not None  # a message row is only written with its dialog
                return IngestResult(outcome=IngestOutcome.DUPLICATE, dialog=dialog)

            latest = await (
                await db.execute(
                    "SELECT data FROM dialogs WHERE contact_id = ? AND business_number = ? "
                    "ORDER BY last_message_at DESC LIMIT 1",
                    (msg.contact_id, msg.business_number),
                )
            ).fetchone()
            current = None if latest is None else Dialog.model_validate_json(latest["data"])
            joins = (
                current is not None
                and msg.received_at - current.last_message_at < new.dialog_gap
                and (new.draft.code is None or new.draft.code == current.code)
            )
            if joins and current is not None:
                current.last_message_at = max(current.last_message_at, msg.received_at)
                current.message_count += 1
                await db.execute(
                    "UPDATE dialogs SET last_message_at = ?, data = ? WHERE id = ?",
                    (ts(current.last_message_at), current.model_dump_json(), current.id),
                )
                dialog, outcome = current, IngestOutcome.APPENDED
            else:
                earlier = await (
                    await db.execute("SELECT 1 FROM dialogs WHERE contact_id = ? LIMIT 1", (msg.contact_id,))
                ).fetchone()
                dialog = new.draft.model_copy(update={"is_repeat": earlier is not None})
                await self._insert_dialog(db, dialog)
                for chat_id in new.alert_chats:
                    await db.execute(
                        "INSERT INTO outbox (id, dialog_id, chat_id, kind, next_attempt_at, created_at) "
                        "VALUES (?, ?, ?, 'lead_alert', ?, ?)",
                        (uuid.uuid4().hex, dialog.id, chat_id, ts(msg.received_at), ts(msg.received_at)),
                    )
                outcome = IngestOutcome.NEW_DIALOG
            await db.execute(
                "INSERT INTO messages (provider, message_id, dialog_id, received_at, text) VALUES (?, ?, ?, ?, ?)",
                (msg.provider, msg.message_id, dialog.id, ts(msg.received_at), msg.text),
            )
            return IngestResult(outcome=outcome, dialog=dialog)

    async def _insert_dialog(self, db: aiosqlite.Connection, dialog: Dialog) -> None:
        attribution = dialog.attribution.model_dump(mode="json")
        columns = [
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
            "data",
        ]
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
            dialog.model_dump_json(),
        ]
        await db.execute(f"INSERT INTO dialogs ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})", values)
        await db.executemany(
            "INSERT OR IGNORE INTO dialog_tags (dialog_id, tag) VALUES (?, ?)",
            [(dialog.id, tag) for tag in dialog.tags],
        )

    async def get_dialog(self, dialog_id: str) -> Dialog | None:
        row = await (await self.db.execute("SELECT data FROM dialogs WHERE id = ?", (dialog_id,))).fetchone()
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
        cursor = await self.db.execute(sql + " ORDER BY started_at DESC LIMIT ?", (*args, limit))
        return [Dialog.model_validate_json(r["data"]) for r in await cursor.fetchall()]

    async def list_dialogs(self, start: datetime, end: datetime, limit: int = 1000) -> list[Dialog]:
        cursor = await self.db.execute(
            "SELECT data FROM dialogs WHERE started_at >= ? AND started_at < ? ORDER BY started_at LIMIT ?",
            (ts(start), ts(end), limit),
        )
        return [Dialog.model_validate_json(r["data"]) for r in await cursor.fetchall()]

    async def set_tags(self, dialog_id: str, tags: list[str]) -> Dialog | None:
        async with self._transaction() as db:
            row = await (await db.execute("SELECT data FROM dialogs WHERE id = ?", (dialog_id,))).fetchone()
            if row is None:
                return None
            dialog = Dialog.model_validate_json(row["data"])
            dialog.tags = sorted(set(tags))
            await db.execute("UPDATE dialogs SET data = ? WHERE id = ?", (dialog.model_dump_json(), dialog_id))
            await db.execute("DELETE FROM dialog_tags WHERE dialog_id = ?", (dialog_id,))
            await db.executemany(
                "INSERT INTO dialog_tags (dialog_id, tag) VALUES (?, ?)",
                [(dialog_id, t) for t in dialog.tags],
            )
            return dialog

    async def forget_contact(self, contact_id: str) -> int:
        async with self._transaction() as db:
            rows = await (
                await db.execute("SELECT id, code FROM dialogs WHERE contact_id = ?", (contact_id,))
            ).fetchall()
            ids = [(r["id"],) for r in rows]
            codes = [(r["code"],) for r in rows if r["code"]]
            for table in ("messages", "outbox", "dialog_tags"):
                await db.executemany(f"DELETE FROM {table} WHERE dialog_id = ?", ids)
            await db.executemany("DELETE FROM dialogs WHERE id = ?", ids)
            visitors = set()
            for (code,) in codes:
                row = await (await db.execute("SELECT visitor_id FROM visits WHERE code = ?", (code,))).fetchone()
                if row is not None:
                    visitors.add(row["visitor_id"])
            # Every visit of the same browser goes too, with its clicks.
            for visitor in visitors:
                await db.execute(
                    "DELETE FROM clicks WHERE code IN (SELECT code FROM visits WHERE visitor_id = ?)", (visitor,)
                )
                await db.execute("DELETE FROM visits WHERE visitor_id = ?", (visitor,))
            await db.executemany("DELETE FROM clicks WHERE code = ?", codes)
            return len(ids)

    async def count_dialogs(self, query: CountQuery) -> list[CountRow]:
        for name in [*query.group_by, *query.filters]:
            if name not in GROUPABLE_FIELDS:
                raise ValueError(f"cannot group or filter by {name!r}")

        def column(name: str) -> str:
            if name == "tag":
                return "t.tag"
            if not query.include_probable and name in ATTRIBUTION_COLUMNS:
                hidden = "'unattributed'" if name == "channel" else "NULL"
                return f"CASE WHEN d.status = 'probable' THEN {hidden} ELSE d.{name} END"
            return f"d.{name}"

        uses_tags = "tag" in query.group_by or "tag" in query.filters
        select = [f"{column(name)} AS g{i}" for i, name in enumerate(query.group_by)]
        if query.bucket is not None:
            select.append(f"d.{query.bucket.value} AS bucket")
        groups = [f"g{i}" for i in range(len(query.group_by))] + (["bucket"] if query.bucket else [])
        where = ["d.started_at >= ?", "d.started_at < ?"]
        args: list[Any] = [ts(query.start), ts(query.end)]
        for name, value in query.filters.items():
            where.append(f"{column(name)} = ?")
            args.append(value)
        sql = (
            f"SELECT {', '.join([*select, 'COUNT(*) AS n', 'SUM(d.is_repeat) AS r'])} FROM dialogs d"
            + (" JOIN dialog_tags t ON t.dialog_id = d.id" if uses_tags else "")
            + f" WHERE {' AND '.join(where)}"
            + (f" GROUP BY {', '.join(groups)}" if groups else "")
        )
        rows = await (await self.db.execute(sql, args)).fetchall()
        result = []
        for row in rows:
            n, repeat = int(row["n"]), int(row["r"] or 0)
            if n == 0:
                continue  # an ungrouped COUNT over nothing
            result.append(
                CountRow(
                    key={name: row[f"g{i}"] for i, name in enumerate(query.group_by)},
                    bucket=row["bucket"] if query.bucket else None,
                    dialogs=n,
                    new=n - repeat,
                    repeat=repeat,
                )
            )
        return result

    # outbox -------------------------------------------------------------------------------------

    async def claim_alerts(self, now: datetime, lease: timedelta, limit: int = 20) -> list[OutboxItem]:
        async with self._transaction() as db:
            cursor = await db.execute(
                "SELECT * FROM outbox WHERE sent_at IS NULL AND next_attempt_at <= ? "
                "AND (lease_until IS NULL OR lease_until <= ?) ORDER BY next_attempt_at LIMIT ?",
                (ts(now), ts(now), limit),
            )
            rows = await cursor.fetchall()
            await db.executemany(
                "UPDATE outbox SET lease_until = ?, attempts = attempts + 1 WHERE id = ?",
                [(ts(now + lease), r["id"]) for r in rows],
            )
        return [
            OutboxItem(
                id=r["id"],
                dialog_id=r["dialog_id"],
                chat_id=r["chat_id"],
                kind=r["kind"],
                attempts=r["attempts"] + 1,
                next_attempt_at=parse_ts(r["next_attempt_at"]),
                created_at=parse_ts(r["created_at"]),
                last_error=r["last_error"],
            )
            for r in rows
        ]

    async def alert_sent(self, item_id: str, now: datetime) -> None:
        async with self._transaction() as db:
            await db.execute("UPDATE outbox SET sent_at = ?, lease_until = NULL WHERE id = ?", (ts(now), item_id))

    async def alert_failed(self, item_id: str, next_attempt_at: datetime, error: str) -> None:
        async with self._transaction() as db:
            await db.execute(
                "UPDATE outbox SET next_attempt_at = ?, lease_until = NULL, last_error = ? WHERE id = ?",
                (ts(next_attempt_at), error[:500], item_id),
            )

    async def pending_alerts(self) -> int:
        row = await (await self.db.execute("SELECT COUNT(*) AS n FROM outbox WHERE sent_at IS NULL")).fetchone()
        return int(row["n"]) if row else 0

    async def claim_job(self, key: str, now: datetime, lease: timedelta) -> bool:
        # A new key is inserted; an existing one is taken over only when unfinished and its lease expired.
        # A row without a lease (written before leases) never is: it counts as done.
        async with self._transaction() as db:
            cursor = await db.execute(
                "INSERT INTO jobs (key, claimed_at, lease_until) VALUES (?, ?, ?) "
                "ON CONFLICT (key) DO UPDATE SET claimed_at = excluded.claimed_at, lease_until = excluded.lease_until "
                "WHERE jobs.done_at IS NULL AND jobs.lease_until IS NOT NULL "
                "AND jobs.lease_until <= excluded.claimed_at",
                (key, ts(now), ts(now + lease)),
            )
            return cursor.rowcount == 1

    async def finish_job(self, key: str, now: datetime) -> None:
        async with self._transaction() as db:
            await db.execute(
                "INSERT INTO jobs (key, claimed_at, done_at) VALUES (?, ?, ?) "
                "ON CONFLICT (key) DO UPDATE SET done_at = coalesce(jobs.done_at, excluded.done_at)",
                (key, ts(now), ts(now)),
            )

    # bot access -----------------------------------------------------------------------------------

    async def create_invite(self, invite: Invite) -> None:
        async with self._transaction() as db:
            await db.execute(
                "INSERT INTO invites (token, created_by, created_at, expires_at) VALUES (?, ?, ?, ?)",
                (invite.token, invite.created_by, ts(invite.created_at), ts(invite.expires_at)),
            )

    async def redeem_invite(
        self, token: str, user_id: int, name: str, username: str | None, now: datetime
    ) -> StaffMember | None:
        async with self._transaction() as db:
            cursor = await db.execute(
                "UPDATE invites SET used_by = ?, used_at = ? WHERE token = ? AND used_by IS NULL AND expires_at > ? "
                "RETURNING created_by",
                (user_id, ts(now), token, ts(now)),
            )
            row = await cursor.fetchone()
            await cursor.close()
            if row is None:
                return None
            member = StaffMember(user_id=user_id, name=name, username=username, added_at=now, added_by=row[0])
            await db.execute(
                "INSERT INTO staff (user_id, added_at, data) VALUES (?, ?, ?) "
                "ON CONFLICT (user_id) DO UPDATE SET added_at = excluded.added_at, data = excluded.data",
                (user_id, ts(now), member.model_dump_json()),
            )
            return member

    async def get_staff(self, user_id: int) -> StaffMember | None:
        row = await (await self.db.execute("SELECT data FROM staff WHERE user_id = ?", (user_id,))).fetchone()
        return None if row is None else StaffMember.model_validate_json(row["data"])

    async def list_staff(self) -> list[StaffMember]:
        cursor = await self.db.execute("SELECT data FROM staff ORDER BY added_at, user_id")
        return [StaffMember.model_validate_json(r["data"]) for r in await cursor.fetchall()]

    async def remove_staff(self, user_id: int) -> bool:
        async with self._transaction() as db:
            cursor = await db.execute("DELETE FROM staff WHERE user_id = ?", (user_id,))
            await db.execute("DELETE FROM summary_choices WHERE user_id = ?", (user_id,))
            return cursor.rowcount == 1

    async def set_summary_choice(self, choice: SummaryChoice) -> None:
        async with self._transaction() as db:
            await db.execute(
                "INSERT INTO summary_choices (user_id, data) VALUES (?, ?) "
                "ON CONFLICT (user_id) DO UPDATE SET data = excluded.data",
                (choice.user_id, choice.model_dump_json()),
            )

    async def summary_choices(self) -> list[SummaryChoice]:
        cursor = await self.db.execute("SELECT data FROM summary_choices ORDER BY user_id")
        return [SummaryChoice.model_validate_json(r["data"]) for r in await cursor.fetchall()]

    async def save_business_account(self, account: BusinessAccount) -> None:
        async with self._transaction() as db:
            await db.execute(
                "INSERT INTO business_accounts (connection_id, data) VALUES (?, ?) "
                "ON CONFLICT (connection_id) DO UPDATE SET data = excluded.data",
                (account.connection_id, account.model_dump_json()),
            )

    async def get_business_account(self, connection_id: str) -> BusinessAccount | None:
        cursor = await self.db.execute("SELECT data FROM business_accounts WHERE connection_id = ?", (connection_id,))
        row = await cursor.fetchone()
        return None if row is None else BusinessAccount.model_validate_json(row["data"])


__all__ = ["SQLiteStore", "sqlite_path"]
