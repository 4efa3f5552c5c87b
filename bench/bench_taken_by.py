"""Reports by who took a lead (taken_by) on SQLite: no rollup shape holds it, so they count a month's dialogs
raw; timed beside the bare COUNT(*) of the month and the same reports the rollups answer.

Run from the repository root: ``.venv/bin/python bench/bench_taken_by.py`` (200,000 dialogs over a year),
``--dialogs 1000000`` for the issue's scale. Seeding is bench_reports.py's, takers and replies
bench_team_report.py's (80% taken by five people), the team columns filled as the store fills them.
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
from bench_team_report import add_team, fill

from reports.counts import channels, ranking, summary
from tracking.store.sqlite import SQLiteStore


async def measure(path: Path, runs: int) -> list[tuple[str, float, int]]:
    store = SQLiteStore(path, roll_up_every=None)
    await store.open()
    try:
        month = last_month()

        one, nobody, paid = {"taken_by": "1001"}, {"taken_by": "none"}, {"channel": "paid_search"}
        work = [
            ("baseline: SELECT COUNT(*) over the month", lambda: month_count(store, month)),
            ("summary (rollups)", lambda: summary(store, month)),
            (
                "summary, channel = paid_search (rollups)",
                lambda: summary(store, month, filters=paid),
            ),
            ("summary, taken_by = one person (raw)", lambda: summary(store, month, filters=one)),
            ("summary, taken_by = none (raw)", lambda: summary(store, month, filters=nobody)),
            ("channels (rollups)", lambda: channels(store, month)),
            ("channels of one person's leads (raw)", lambda: channels(store, month, filters=one)),
            ("ranking by taken_by (raw)", lambda: ranking(store, month, "taken_by")),
        ]
        results = []
        for name, job in work:
            answer: Any = await job()
            totals = answer if isinstance(answer, int) else getattr(answer, "totals", None) or answer.total
            results.append((name, await timed(job, runs), totals if isinstance(totals, int) else totals.dialogs))
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
            print(f"takers and replies added in {add_team(path):.1f} s")
            fill(path)
        results = asyncio.run(measure(path, args.runs))
    baseline = results[0][1]
    print(f"SQLite, {args.dialogs:,} dialogs over {args.days} days, the last month; median of {args.runs}")
    print(f"{'report':44} {'dialogs':>8} {'ms':>8} {'× baseline':>11}")
    for name, seconds, dialogs in results:
        print(f"{name:44} {dialogs:8,} {seconds * 1000:8.1f} {seconds / baseline:11.1f}")


if __name__ == "__main__":
    main()
