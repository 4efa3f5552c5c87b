"""Team report speed on SQLite: /team over a month and over a year, beside the bare report primitive.

Run from the repository root: ``.venv/bin/python bench/bench_team_report.py`` (1,000,000 dialogs over a
year: a month holds ~85,000), ``--dialogs 30000 --days 30`` for a month of ~30,000 dialogs.
The dialogs are seeded as bench/bench_reports.py seeds them (bulk, through the store's schema); then 80 % are
taken by one of five people and 70 % answered 10 s to 2 h after they opened (json_set on the stored dialog,
where the store keeps those fields), and the seeded number reports replies from before the first dialog.
Each line is the median of several runs on an opened `SQLiteStore`, in one run beside `count_dialogs` (the
primitive every counting report asks) over the same period, and the store's `response_rows` alone.

Measured (2 cores, 1,000,000 dialogs over 2026, median of 3): December (85,129 dialogs): count_dialogs 1.0 ms,
response_rows 1,953 ms (~0.6 s of it SQLite's json_extract, the rest building the rows), team_figures 355 ms,
team_report 1,932 ms. The year: count_dialogs 4.9 ms, response_rows of all 999,645 dialogs 19.6 s; team_report
reads the first 200,000 (ROW_LIMIT, "cut") in 6.0 s. 30,000 dialogs in a month: response_rows 683 ms,
team_report 787 ms. Reading rows, not summing them, is the cost: a year needs the store to sum (or keep
taken/answered in columns and hand back only the response seconds).
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_reports import END, ZONE, seed, timed

from reports.counts import report_query
from reports.periods import Period, Unit, month_end
from reports.team import ROW_LIMIT, team_figures, team_report
from tracking.store.base import CountQuery, ResponseRow
from tracking.store.sqlite import SQLiteStore
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
        first = db.execute("SELECT MIN(started_at) FROM dialogs").fetchone()[0]
        db.execute(
            "INSERT OR REPLACE INTO reply_sources (provider, business_number, since) VALUES (?, ?, ?)",
            ("bench", "+79991234567", first),
        )
    db.close()
    return time.perf_counter() - started


async def measure(path: Path, runs: int) -> list[tuple[str, int, float]]:
    store = SQLiteStore(path, roll_up_every=None)
    await store.open()
    try:
        now = END
        last = (END - timedelta(days=1)).astimezone(ZONE).date()
        month = Period(last.replace(day=1), month_end(last.replace(day=1)), ZONE, Unit.MONTH)
        year = Period(last.replace(month=1, day=1), last, ZONE, Unit.YEAR)
        windows = reply_windows(await store.reply_sources())
        results: list[tuple[str, int, float]] = []
        for label, period in (("month", month), ("year", year)):
            query = report_query(period, {}, ["spam"], True)
            every = await store.response_rows(query, limit=10_000_000)
            rows = every[:ROW_LIMIT]

            async def count(query: CountQuery = query) -> object:
                return await store.count_dialogs(query)

            async def read_all(query: CountQuery = query) -> object:
                return await store.response_rows(query, limit=10_000_000)

            async def compute(period: Period = period, rows: list[ResponseRow] = rows) -> object:
                return team_figures(period, rows, windows, now)

            async def report(period: Period = period) -> object:
                return await team_report(store, period, now=now)

            results += [
                (f"{label}: count_dialogs (the primitive)", len(every), await timed(count, runs)),
                (f"{label}: response_rows, all", len(every), await timed(read_all, runs)),
                (f"{label}: team_figures (compute only)", len(rows), await timed(compute, runs)),
                (f"{label}: team_report (/team, /stats line)", len(rows), await timed(report, runs)),
            ]
        return results
    finally:
        await store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dialogs", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=365, help="spread the dialogs over this many days before 2027")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--db", type=Path, help="keep the database here (reused if it exists)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = args.db or Path(tmp) / "bench.db"
        if not path.exists():
            seconds = seed(path, args.dialogs, args.days, report_index=False)
            print(f"seeded {args.dialogs:,} dialogs over {args.days} days in {seconds:.1f} s")
            print(f"takers and replies added in {add_team(path):.1f} s")
        results = asyncio.run(measure(path, args.runs))
    print(f"SQLite, {args.dialogs:,} dialogs over {args.days} days; median of {args.runs} (ROW_LIMIT {ROW_LIMIT:,})")
    print(f"{'what':46} {'dialogs':>10} {'ms':>9}")
    for name, count, seconds in results:
        print(f"{name:46} {count:10,} {seconds * 1000:9.1f}")


if __name__ == "__main__":
    main()
