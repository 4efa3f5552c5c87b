"""Money report speed on SQLite: the «💰» view over a month, beside the counting report it sits under.

Run from the repository root: ``.venv/bin/python bench/bench_money.py`` (30,000 dialogs over 30 days, seeded
as bench/bench_reports.py seeds them: paid ones carry 50 campaigns and 200 ads), ``--dialogs 85000`` for a
busy month. Each campaign gets a cost per day and source (Direct's names it by id, as `{campaign_id}` UTM
templates do, so half the joins go by id), plus 20 campaigns that brought no leads; 10 % of the paid dialogs
made a sale. Each line is the median of several runs of an opened `SQLiteStore`.

Measured (2 shared CPUs, 30,000 dialogs over 30 days, 4,200 costs, 902 sales) before issue 19's speed-up:
/channels 8 ms; «💰» by channel 310 ms, by campaign 350 ms, by ad 290 ms. Of that: leads by channel, source,
campaign and ad 97 ms (10,000 groups: no rollup holds the ad), qualified 33 ms, costs 25 ms, sales 10 ms, the
join in Python ~90 ms. Now views above the ad count leads by campaign (docs/performance.md, "Money reports"):
/channels 3.3 ms; by channel 57 ms against 226 ms counted down to the ad in the same run, by source 82, by
campaign 58, by ad 213. With ``--dialogs 1000000`` (~7 minutes with seeding): /channels 11.7 ms; by channel
1,438 ms against 2,515 ms, by source 1,652, by campaign 1,464, by ad 2,657: the leads are counted raw.
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import sys
import tempfile
import time
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_reports import END, ZONE, seed, timed

from reports.counts import channels
from reports.money import MoneyRow, joined, money_report, money_rows
from reports.periods import Period, Unit
from tracking.models import Cost, Sale
from tracking.store.sqlite import SQLiteStore


async def add_money(store: SQLiteStore, path: Path, first: date, days: int) -> tuple[int, int]:
    costs = [
        Cost(day=first + timedelta(days=d), source=source, campaign=f"campaign-{c}",
             campaign_id=f"campaign-{c}" if source == "google" else f"id-{c}", amount=Decimal("1234.50"),
             currency="RUB", origin="file")
        for d in range(days) for c in range(70) for source in ("google", "yandex")
    ]  # fmt: skip
    await store.save_costs(costs)
    with sqlite3.connect(path) as db:
        paid = [row[0] for row in db.execute("SELECT id FROM dialogs WHERE channel = 'paid_search'")][::10]
    for i, dialog_id in enumerate(paid):
        sale = Sale(id=f"s{i}", amount=Decimal(12000), currency="RUB", at=END - timedelta(days=1))
        await store.add_sale(dialog_id, sale)
    return len(costs), len(paid)


async def down_to_the_ad(store: SQLiteStore, period: Period, by: str) -> list[MoneyRow]:
    """A view's rows as every view counted them before (issue 19): leads grouped down to the ad."""
    data = await joined(store, period, ads=True)
    return money_rows(by, data.cells, data.matches, qualified=data.counted)


async def measure(path: Path, days: int, runs: int, *, seeded: bool) -> list[tuple[str, float]]:
    store = SQLiteStore(path, roll_up_every=None)
    await store.open()
    try:
        if store._rebuild is not None:  # a file kept from a version with other rollup shapes: rebuilt first
            started = time.perf_counter()
            await store._rebuild
            print(f"report rollups rebuilt (other shapes) in {time.perf_counter() - started:.1f} s")
        last = (END - timedelta(days=1)).date()
        month = Period(last - timedelta(days=days - 1), last, ZONE, Unit.SPAN)
        if seeded:
            costs, sales = await add_money(store, path, month.first, days)
            print(f"{costs:,} costs, {sales:,} sales added")
        return [
            ("/channels (count_dialogs by channel): baseline", await timed(lambda: channels(store, month), runs)),
            (
                "💰 by channel, leads down to the ad (before)",
                await timed(lambda: down_to_the_ad(store, month, "channel"), runs),
            ),
            ("💰 by channel", await timed(lambda: money_report(store, month), runs)),
            ("💰 by source", await timed(lambda: money_report(store, month, "source"), runs)),
            ("💰 by campaign", await timed(lambda: money_report(store, month, "campaign"), runs)),
            ("💰 by ad", await timed(lambda: money_report(store, month, "content"), runs)),
        ]
    finally:
        await store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dialogs", type=int, default=30_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--db", type=Path, help="keep the database here (reused, with its costs and sales, if it exists)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = args.db or Path(tmp) / "bench.db"
        seeded = not path.exists()
        if seeded:
            started = time.perf_counter()
            seed(path, args.dialogs, args.days, report_index=False)
            print(f"seeded {args.dialogs:,} dialogs over {args.days} days in {time.perf_counter() - started:.1f} s")
        results = asyncio.run(measure(path, args.days, args.runs, seeded=seeded))
    print(f"SQLite, {args.dialogs:,} dialogs over {args.days} days; median of {args.runs}")
    for name, seconds in results:
        print(f"{name:52} {seconds * 1000:9.1f} ms")


if __name__ == "__main__":
    main()
