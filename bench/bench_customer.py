"""Reports of new or repeat customers (customer=new|repeat) on SQLite: every rollup row keeps its dialogs and
its repeat ones, so they are answered from the rows (new = dialogs − repeat); timed beside the bare COUNT(*)
of the month, the same reports unfiltered, and the same query counted raw (no rollups) for scale.

Run from the repository root: ``.venv/bin/python bench/bench_customer.py`` (200,000 dialogs over a year,
30% of them repeat), ``--dialogs 1000000`` for the issue's scale. Seeding is bench_reports.py's.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_reports import last_month, month_count, seed, seeded_arguments, timed

from reports.counts import Comparison, channels, compare, ranking, summary
from tracking.store import rollups
from tracking.store.base import CountQuery
from tracking.store.sqlite import SQLiteStore, ts


def dialogs_of(answer: Any) -> int:
    """How many dialogs a report (or a bare count) counted: period A's of a comparison."""
    if isinstance(answer, int):
        return answer
    if isinstance(answer, Comparison):
        return answer.dialogs.a
    return int((getattr(answer, "totals", None) or answer.total).dialogs)


async def measure(path: Path, runs: int) -> list[tuple[str, float, int]]:
    store = SQLiteStore(path, roll_up_every=None)
    await store.open()
    try:
        month = last_month()

        async def raw(filters: dict[str, str]) -> int:
            """The same count with no rollup (rollups.count_sql without a shape): every dialog of the month."""
            query = CountQuery(start=month.start, end=month.end, filters=filters, without_tags=["spam"])
            sql, args = rollups.count_sql(query, None, ts)
            found = await store.read(lambda db: db.execute(sql, args).fetchone())
            return int(found[0] or 0)

        new, repeat = {"customer": "new"}, {"customer": "repeat"}
        work = [
            ("baseline: SELECT COUNT(*) over the month", lambda: month_count(store, month)),
            ("summary (rollups)", lambda: summary(store, month)),
            ("summary, customer = new (rollups)", lambda: summary(store, month, filters=new)),
            ("summary, customer = repeat (rollups)", lambda: summary(store, month, filters=repeat)),
            ("customer = repeat counted raw", lambda: raw(repeat)),
            ("channels (rollups)", lambda: channels(store, month)),
            ("channels, customer = new (rollups)", lambda: channels(store, month, filters=new)),
            ("ranking by customer (rollups)", lambda: ranking(store, month, "customer")),
            ("compare, customer = repeat (rollups)", lambda: compare(store, month, month.previous(), filters=repeat)),
        ]
        results = []
        for name, job in work:
            results.append((name, await timed(job, runs), dialogs_of(await job())))
        return results
    finally:
        await store.close()


def main() -> None:
    parser = seeded_arguments(__doc__)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = args.db or Path(tmp) / "bench.db"
        if not path.exists():
            seed(path, args.dialogs, args.days, False)
        results = asyncio.run(measure(path, args.runs))
    baseline = results[0][1]
    print(f"SQLite, {args.dialogs:,} dialogs over {args.days} days, the last month; median of {args.runs}")
    print(f"{'report':44} {'dialogs':>8} {'ms':>8} {'× baseline':>11}")
    for name, seconds, dialogs in results:
        print(f"{name:44} {dialogs:8,} {seconds * 1000:8.1f} {seconds / baseline:11.1f}")


if __name__ == "__main__":
    main()
