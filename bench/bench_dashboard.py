"""Dashboard speed on SQLite: every widget's fragment over HTTP with a signed-in session, beside the bare report
primitive (`store.count_dialogs` of the same period) measured in the same run.

Run from the repository root: ``.venv/bin/python bench/bench_dashboard.py`` (100,000 dialogs over a year, about
a minute), ``--dialogs 1000000`` for the issue's figure (every widget under 200 ms with 1M dialogs; seeding
takes minutes: ``--db`` keeps the database for another run). Dialogs are seeded as bench/bench_reports.py
seeds them (its rollups rebuilt); the month measured, November 2026, gets costs as bench/bench_money.py gives
them (70 campaigns × 2 platforms a day, Direct's named by id) and a sale on every tenth paid-search lead; a
fifth of its dialogs were taken and answered, so the team widget has people and times to compute.

The server is chattrack's own app (`webhooks.app.create_app`) on a loopback port in this process, the client
an aiohttp session holding the dashboard's cookie; each line is the median of several runs of one fragment
(`GET /dashboard/widgets/<name>?period=2026-11`), after one run to warm the caches. Widgets are whatever the
registry holds (`dashboard.widgets.WIDGETS`): any added later is timed too.
"""

from __future__ import annotations

import asyncio
import socket
import sqlite3
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import aiohttp
from aiohttp import web
from bench_reports import ZONE, seed, seeded_arguments, timed

from dashboard.sessions import Person, open_session
from dashboard.viewer import COOKIE
from dashboard.widgets import ORDER, WIDGETS
from reports.counts import report_query
from reports.periods import Period, Unit, month_end
from tracking.models import Cost, Sale
from tracking.page_migration import META_KEY
from tracking.pages import rules_fingerprint
from tracking.settings import load_settings
from tracking.store.base import Store
from tracking.store.sqlite import SQLiteStore
from webhooks.app import PAGE_KEYS, STORE, create_app

TARGET = 0.2  # seconds: the bar for every widget's data with 1M dialogs (issue 20, point 9)
OWNER = 1001
MONTH = "2026-11"
FIRST = date(2026, 11, 1)
STAFF = ((501, "Мария"), (502, "Ирина"), (503, "Олег"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def add_money_and_team(path: Path) -> str:
    """The month's costs, sales, takes and replies (see the module's doc)."""
    month = Period(FIRST, month_end(FIRST), ZONE, Unit.MONTH)
    store = SQLiteStore(path, roll_up_every=None)
    await store.open()
    try:
        # bulk-seeded rows lack the team report's columns: filled now, as a store does after an upgrade, not
        # in the background of the server measured
        filled = await store.fill_team_columns()
        days = month.days
        await store.save_costs(
            [
                Cost(day=FIRST + timedelta(days=d), source=source, campaign=f"campaign-{c}",
                     campaign_id=f"campaign-{c}" if source == "google" else f"id-{c}", amount=Decimal("1234.50"),
                     currency="RUB", origin="file")
                for d in range(days) for c in range(70) for source in ("google", "yandex")
            ]
        )  # fmt: skip
        start, end = month.start.isoformat(timespec="microseconds"), month.end.isoformat(timespec="microseconds")
        with sqlite3.connect(path) as db:
            ids = [row[0] for row in db.execute(
                "SELECT id, channel FROM dialogs WHERE started_at >= ? AND started_at < ? ORDER BY started_at",
                (start, end))]  # fmt: skip
            paid = [row[0] for row in db.execute(
                "SELECT id FROM dialogs WHERE started_at >= ? AND started_at < ? AND channel = 'paid_search'",
                (start, end))][::10]  # fmt: skip
        for i, dialog_id in enumerate(paid):
            sale = Sale(id=f"s{i}", amount=Decimal(12000), currency="RUB", at=datetime(2026, 11, 30, tzinfo=UTC))
            await store.add_sale(dialog_id, sale)
        await store.reply_seen("bench", "+79991234567", datetime(2026, 1, 1, tzinfo=UTC))
        taken = ids[::5]
        for i, dialog_id in enumerate(taken):
            user_id, name = STAFF[i % len(STAFF)]
            dialog = await store.get_dialog(dialog_id)
            assert dialog is not None
            await store.take_dialog(dialog_id, user_id, name, dialog.started_at + timedelta(minutes=1))
            await store.record_reply(dialog_id, dialog.started_at + timedelta(minutes=2 + i % 40))
        return (f"{filled:,} dialogs' team columns filled; {days * 140:,} costs, {len(paid):,} sales, "
                f"{len(taken):,} dialogs taken and answered in the month")  # fmt: skip
    finally:
        await store.close()


async def measure(path: Path, runs: int) -> list[tuple[str, float]]:
    port = free_port()
    settings = load_settings(database_url=f"sqlite:///{path}", port=port, telegram_owner_ids=str(OWNER),
                             timezone="Europe/Moscow", tracked_numbers="+7 999 123-45-67")  # fmt: skip
    with sqlite3.connect(path) as db:  # the seeded pages count as keyed: re-keying a million at start-up is
        # a once-per-rules-change job of minutes (tracking/page_migration.py), not a widget's time
        db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                   (META_KEY, rules_fingerprint(settings.kept_page_params)))  # fmt: skip
    app = create_app(settings)
    runner = web.AppRunner(app)
    await runner.setup()
    try:
        await web.TCPSite(runner, "127.0.0.1", port).start()
        await app[PAGE_KEYS]
        store: Store = app[STORE]
        session = await open_session(store, Person(user_id=OWNER, name="Bench", lang="ru"), datetime.now(UTC))
        month = Period(FIRST, month_end(FIRST), ZONE, Unit.MONTH)
        query = report_query(month, {}, ["spam"], True)
        async with aiohttp.ClientSession(f"http://127.0.0.1:{port}", cookies={COOKIE: session.id}) as http:

            def fragment(path: str, **params: str) -> Callable[[], Awaitable[object]]:
                async def get() -> object:
                    async with http.get(path, params={"period": MONTH, **params}) as response:
                        body = await response.read()
                        assert response.status == 200, (path, response.status, body[:300])
                        return body

                return get

            async def no_widget() -> object:
                async with http.get("/dashboard/widgets/none", params={"period": MONTH}) as response:
                    assert response.status == 404
                    return await response.read()

            work: list[tuple[str, Callable[[], Awaitable[object]]]] = [
                ("baseline: store.count_dialogs of the month", lambda: store.count_dialogs(query)),
                ("  HTTP + session, no widget (404)", no_widget),
            ]
            names = [name for name in ORDER if name in WIDGETS] + sorted(set(WIDGETS) - set(ORDER))
            for name in names:
                work.append((f"widget {name}", fragment(f"/dashboard/widgets/{name}")))
                if name == "dynamics":
                    for bucket in ("day", "week", "month", "quarter"):
                        work.append((f"  dynamics by {bucket}", fragment("/dashboard/widgets/dynamics", bucket=bucket)))
            work.append(("widget money, channel = paid search", fragment("/dashboard/widgets/money",
                                                                          channel="paid_search")))  # fmt: skip
            return [(name, await timed(job, runs)) for name, job in work]
    finally:
        await runner.cleanup()


def main() -> None:
    parser = seeded_arguments(__doc__, dialogs=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = args.db or Path(tmp) / "bench.db"
        if not path.exists():
            seconds = seed(path, args.dialogs, args.days, report_index=False)
            print(f"seeded {args.dialogs:,} dialogs over {args.days} days in {seconds:.1f} s")
            started = time.perf_counter()
            print(asyncio.run(add_money_and_team(path)), f"({time.perf_counter() - started:.1f} s)")
        results = asyncio.run(measure(path, args.runs))
    baseline = results[0][1]
    print(f"SQLite, {args.dialogs:,} dialogs over {args.days} days; period {MONTH}; median of {args.runs}")
    print(f"{'fragment':44} {'ms':>8} {'× baseline':>11}  target {TARGET * 1000:.0f} ms")
    slow = []
    for name, seconds in results:
        judged = name.startswith("widget") or name.startswith("  dynamics")
        over = judged and seconds > TARGET
        slow += [name.strip()] if over else []
        verdict = ("OVER" if over else "ok") if judged else ""
        print(f"{name:44} {seconds * 1000:8.1f} {seconds / baseline:11.1f}  {verdict}")
    print("every widget under target" if not slow else f"over target: {', '.join(slow)}")


if __name__ == "__main__":
    main()
