"""Team report speed on SQLite: /team over a month and over a year, beside the bare report primitive.

Run from the repository root: ``.venv/bin/python bench/bench_team_report.py`` (1,000,000 dialogs over a
year: a month holds ~85,000), ``--dialogs 30000 --days 30`` for a month of ~30,000 dialogs.
The dialogs are seeded as bench/bench_reports.py seeds them (bulk, their documents and report columns only,
as a file of the version before the team columns); then 80 % are taken by one of five people and 70 %
answered 10 s to 2 h after they opened (json_set on the stored documents), and the seeded number reports
replies from before the first dialog. The file is then brought up to date as `SQLiteStore.open` does
(`migrate`: the team columns added, `dialogs_unfilled` built) and the dialogs' team columns filled from their
documents in the store's writes of FILL_BATCH, each timed. Each line is the median of several runs on an
opened `SQLiteStore`, in one run beside `count_dialogs` (the primitive every counting report asks), the
way rows were read before (`legacy`: json_extract of each document, a pydantic model per row), and the report
as it was before the store summed it up (`before`: every row read and summed in Python; the same figures,
asserted). Opening the store after the fill builds `dialogs_team` (timed, once).

Measured: see docs/performance.md, "Team report".
"""

from __future__ import annotations

import asyncio
import functools
import gc
import json
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_reports import END, ZONE, seed, seeded_arguments, timed

from reports.counts import report_query
from reports.periods import Period, Unit, month_end
from reports.team import ROW_LIMIT, UNANSWERED_AFTER, TeamReport, team_figures, team_report, team_rows
from tracking.store.base import CountQuery, ResponseRow
from tracking.store.sqlite import FILL_BATCH, FILL_TEAM_COLUMNS, SQLiteStore, migrate, parse_ts, response_sql
from tracking.store.sqlite_runner import connect
from tracking.team import reply_windows

PEOPLE = 5


def add_team(path: Path) -> float:
    """Takers and first replies on the seeded dialogs, spread by rowid (no two runs differ)."""
    started = time.perf_counter()
    db = sqlite3.connect(path)
    db.execute("PRAGMA synchronous=OFF")
    with db:
        db.execute(
            "UPDATE dialogs SET data = json_set(data, "
            f"'$.taken_by', 1000 + rowid % {PEOPLE}, '$.taken_by_name', 'Сотрудник ' || (rowid % {PEOPLE}), "
            "'$.taken_at', strftime('%Y-%m-%dT%H:%M:%fZ', started_at, '+60 seconds')) WHERE rowid % 10 < 8"
        )
        db.execute(
            "UPDATE dialogs SET data = json_set(data, '$.answered_at', "
            "strftime('%Y-%m-%dT%H:%M:%fZ', started_at, '+' || (10 + (rowid * 7919) % 7200) || ' seconds')) "
            "WHERE rowid % 10 < 7"
        )
        # bench_reports seeds tags in dialog_tags alone: the documents get them too, as the store keeps them.
        db.execute(
            "UPDATE dialogs SET data = json_set(data, '$.tags', (SELECT json_group_array(tag) FROM dialog_tags t "
            "WHERE t.dialog_id = dialogs.id)) WHERE id IN (SELECT dialog_id FROM dialog_tags)"
        )
        first = db.execute("SELECT MIN(started_at) FROM dialogs").fetchone()[0]
        db.execute(
            "INSERT OR REPLACE INTO reply_sources (provider, business_number, since) VALUES (?, ?, ?)",
            ("bench", "+79991234567", first),
        )
    db.close()
    return time.perf_counter() - started


def fill(path: Path) -> None:
    """What opening the file does (migrate) and then the store's fill of the team columns, timed a write at a
    time (each is BEGIN IMMEDIATE ... COMMIT, as the group commit runs it)."""
    db = connect(path)
    started = time.perf_counter()
    migrate(db)
    migrated = time.perf_counter() - started
    unfilled = db.execute("SELECT count(*) FROM dialogs WHERE provider IS NULL").fetchone()[0]
    writes: list[float] = []
    while True:
        began = time.perf_counter()
        db.execute("BEGIN IMMEDIATE")
        count = db.execute(FILL_TEAM_COLUMNS, (FILL_BATCH,)).rowcount
        db.execute("COMMIT")
        if not count:
            break
        writes.append(time.perf_counter() - began)
    db.close()
    print(f"migrate (team columns added, dialogs_unfilled built): {migrated:.2f} s")
    if writes:
        print(
            f"team columns of {unfilled:,} dialogs filled from their documents in {sum(writes):.1f} s: {len(writes)} "
            f"writes of {FILL_BATCH:,}, median {statistics.median(writes) * 1000:.0f} ms, "
            f"longest {max(writes) * 1000:.0f} ms"
        )


class LegacyRow(BaseModel):
    """ResponseRow as it was before the team columns: a pydantic model, validated from the document's fields."""

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
    tags: list[str] = Field(default_factory=list)


LEGACY_FIELDS = ("provider", "contact_name", "taken_by", "taken_by_name", "taken_at", "answered_at", "answered_by")


def legacy_rows(db: sqlite3.Connection, query: CountQuery, limit: int) -> list[LegacyRow]:
    """The rows as response_rows read them before: every field from the document (json_extract), then
    validated (the bench's queries keep probable matches: the channel is the column's)."""
    sql, args = response_sql(query)
    paths = ", ".join(f"'$.{name}'" for name in (*LEGACY_FIELDS, "tags"))
    sql = (
        "SELECT d.id, d.business_number, d.contact_id, d.started_at, d.channel AS channel, "
        f"json_extract(d.data, {paths}) AS extra FROM dialogs d WHERE " + sql.split(" FROM dialogs d WHERE ", 1)[1]
    )
    rows = []
    for row in db.execute(sql, (*args, limit)):
        provider, name, taken_by, taken_name, taken_at, answered_at, answered_by, tags = json.loads(row["extra"])
        rows.append(
            LegacyRow(
                dialog_id=row["id"],
                provider=provider,
                business_number=row["business_number"],
                channel=row["channel"],
                contact_name=name,
                contact_id=row["contact_id"],
                started_at=parse_ts(row["started_at"]),
                taken_by=taken_by,
                taken_by_name=taken_name,
                taken_at=taken_at,
                answered_at=answered_at,
                answered_by=answered_by,
                tags=tags,
            )
        )
    return rows


def same_rows(rows: list[ResponseRow], legacy: list[LegacyRow]) -> bool:
    return [ResponseRow(**row.model_dump()) for row in legacy] == rows


async def measure(path: Path, runs: int) -> list[tuple[str, int, float]]:
    # As the server does once started (webhooks/app.py): what was built so far is out of the cyclic GC's
    # sight, so the collections a month of rows triggers walk the rows, not every module.
    gc.collect()
    gc.freeze()
    store = SQLiteStore(path, roll_up_every=None)
    started = time.perf_counter()
    await store.open()
    print(f"store opened (dialogs_team built if missing) in {time.perf_counter() - started:.1f} s")
    try:
        now = END
        last = (END - timedelta(days=1)).astimezone(ZONE).date()
        month = Period(last.replace(day=1), month_end(last.replace(day=1)), ZONE, Unit.MONTH)
        year = Period(last.replace(month=1, day=1), last, ZONE, Unit.YEAR)
        windows = reply_windows(await store.reply_sources())
        results: list[tuple[str, int, float]] = []
        for label, period in (("month", month), ("year", year)):
            query = report_query(period, {}, ["spam"], True)
            legacy = functools.partial(legacy_rows, query=query, limit=10_000_000)
            every = await store.response_rows(query, limit=10_000_000)
            assert same_rows(every, await store.read(legacy)), "the columns and the documents disagree"
            dialogs = len(every)
            del every  # rows held here would be walked by every collection the timed reads trigger

            async def count(query: CountQuery = query) -> object:
                return await store.count_dialogs(query)

            async def read_all(query: CountQuery = query) -> object:
                return await store.response_rows(query, limit=10_000_000)

            async def read_legacy(legacy: Any = legacy) -> object:
                return await store.read(legacy)

            results += [
                (f"{label}: count_dialogs (the primitive)", dialogs, await timed(count, runs)),
                (f"{label}: response_rows before (legacy), all", dialogs, await timed(read_legacy, runs)),
                (f"{label}: response_rows, all", dialogs, await timed(read_all, runs)),
            ]
            rows = await store.response_rows(query, limit=ROW_LIMIT)

            async def compute(period: Period = period, rows: list[ResponseRow] = rows) -> object:
                return team_figures(period, rows, windows, now)

            async def by_rows(period: Period = period) -> TeamReport:
                # team_report before the store summed up: every dialog's row, summed in Python off the loop
                read = await team_rows(store, period)
                return await asyncio.to_thread(
                    team_figures,
                    period,
                    read.rows,
                    read.windows,
                    now,
                    filters=read.filters,
                    tags=read.tags,
                    cut=read.cut,
                )

            async def sums(query: CountQuery = query) -> object:
                return await store.response_sums(query, windows, [now - wait for wait in UNANSWERED_AFTER], ROW_LIMIT)

            async def report(period: Period = period) -> TeamReport:
                return await team_report(store, period, now=now)

            assert await report() == await by_rows(), "the store's sums and the rows disagree"
            results += [
                (f"{label}: team_figures (compute only)", len(rows), await timed(compute, runs)),
                (f"{label}: team_report before (rows summed)", len(rows), await timed(by_rows, runs)),
                (f"{label}: response_sums", len(rows), await timed(sums, runs)),
                (f"{label}: team_report (/team, /stats line)", len(rows), await timed(report, runs)),
            ]
            del rows
        return results
    finally:
        await store.close()


def main() -> None:
    parser = seeded_arguments(__doc__, dialogs=1_000_000, runs=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = args.db or Path(tmp) / "bench.db"
        if not path.exists():
            seconds = seed(path, args.dialogs, args.days, report_index=False)
            print(f"seeded {args.dialogs:,} dialogs over {args.days} days in {seconds:.1f} s")
            print(f"takers and replies added in {add_team(path):.1f} s")
        fill(path)
        results = asyncio.run(measure(path, args.runs))
    print(f"SQLite, {args.dialogs:,} dialogs over {args.days} days; median of {args.runs} (ROW_LIMIT {ROW_LIMIT:,})")
    print(f"{'what':52} {'dialogs':>10} {'ms':>9}")
    for name, count, seconds in results:
        print(f"{name:52} {count:10,} {seconds * 1000:9.1f}")


if __name__ == "__main__":
    main()
