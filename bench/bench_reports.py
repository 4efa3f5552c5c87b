"""Report speed on SQLite: every report over one month of a big database, against a bare COUNT(*).

Run from the repository root: ``.venv/bin/python bench/bench_reports.py`` (200,000 dialogs over a year),
``--dialogs 1000000`` for the issue's figure, ``--days 30`` to put them all in the month measured,
``--days 1`` for a burst (every dialog on the last day: "today so far" is then the whole burst).
Dialogs are bulk-inserted through the store's own schema (one transaction), in time order as ingest would
write them, and the report rollups are rebuilt from them (`SQLiteStore.rebuild_counts`, timed); each report
then runs through `reports/` on an opened `SQLiteStore`, median of several runs. Besides whole periods it
asks for a running day ("today" until 14:25 Moscow time, and the day before cut at the same time), whose
last part-hour the rollups cannot answer.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import itertools
import json
import random
import re
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from datetime import time as dt_time
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from reports.card import dialog_card, find_dialogs
from reports.charts import dynamics_png
from reports.counts import channels, compare, dynamics, pages, ranking, summary
from reports.daily import daily_summary
from reports.export import dialogs_csv_bytes
from reports.periods import Period, Unit, month_end
from tracking.models import Attribution, Dialog, Messenger, TimeBuckets
from tracking.periods import buckets_for
from tracking.store import rollups
from tracking.store.base import Bucket
from tracking.store.sqlite import ATTRIBUTION_COLUMNS, SQLiteStore, ts

ZONE = ZoneInfo("Europe/Moscow")
TARGET = 0.2  # seconds: the bar for every report over a month of 1M dialogs (issue 17, point 12)
END = datetime(2027, 1, 1, tzinfo=UTC)

CHANNELS: dict[str, tuple[int, list[str | None], str | None]] = {
    "paid_search": (30, ["google", "yandex"], "cpc"),
    "organic_search": (25, ["google", "yandex", "bing"], "organic"),
    "direct": (15, [None], None),
    "paid_social": (10, ["facebook", "instagram", "vk"], "paid"),
    "referral": (8, ["vc.ru", "habr.com", "2gis.ru", "avito.ru"], "referral"),
    "organic_social": (5, ["vk", "t.me", "instagram"], "social"),
    "email": (3, ["newsletter"], "email"),
    "unattributed": (4, [None], None),
}
OSES = ("Android", "iOS", "Windows", "macOS")
BROWSERS = ("Chrome", "Safari", "Yandex Browser", "Firefox")
DEVICES = ("mobile", "mobile", "desktop", "tablet")
STATUSES = (["exact"] * 70) + (["none"] * 20) + (["probable"] * 5) + (["unknown_code"] * 5)
# The index this benchmark shows SQLite needs (proposed for tracking/store/sqlite.py): every column a report
# filters, groups or counts by, after started_at, so a report over a period never reads the wide table rows.
REPORT_INDEX = (
    "CREATE INDEX IF NOT EXISTS dialogs_report ON dialogs (started_at, is_repeat, status, channel, source, medium, "
    "campaign, content, term, landing_page, contact_page, region, os, browser, device, business_number, messenger, "
    "day, week, month, quarter, id)"
)
COLUMNS = [
    "id", "business_number", "contact_id", "messenger", "started_at", "last_message_at", "is_repeat", "status",
    "code", *ATTRIBUTION_COLUMNS, "day", "week", "month", "quarter", "data",
]  # fmt: skip


def data_template() -> str:
    """A stored dialog's JSON with %(name)s holes, filled per row far faster than json.dumps of a dict."""
    moment = END
    dialog = Dialog(
        id="x",
        provider="bench",
        messenger=Messenger.WHATSAPP,
        business_number="+79991234567",
        contact_id="+79160000000",
        contact_phone="+79160000000",
        contact_name="Клиент",
        started_at=moment,
        last_message_at=moment,
        is_repeat=False,
        buckets=buckets_for(moment, ZONE),
        attribution=Attribution(),
        first_message="Здравствуйте! Сколько стоит доставка?",
    ).model_dump(mode="json")
    holes = {name: f"@@{name}@@" for name in ("id", "contact_id", "contact_phone", "started_at", "last_message_at",
                                              "is_repeat", "status")}  # fmt: skip
    dialog.update(holes)
    dialog["buckets"] = {name: f"@@{name}@@" for name in TimeBuckets.model_fields}
    dialog["attribution"] = dict(dialog["attribution"], **{name: f"@@{name}@@" for name in ATTRIBUTION_COLUMNS})
    text = json.dumps(dialog, ensure_ascii=False).replace("%", "%%")
    return re.sub(r'"@@(\w+)@@"', r"%(\1)s", text)


def _json(value: object) -> str:
    """JSON of the simple values seeded here (no quotes or backslashes in them)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return f'"{value}"'


def rows(count: int, days: int, seed: int = 7) -> list[tuple[object, ...]]:
    rng = random.Random(seed)
    start = END - timedelta(days=days)
    span = (END - start).total_seconds()
    moments = sorted(start + timedelta(seconds=rng.random() * span) for _ in range(count))
    names = list(CHANNELS)
    cumulative = list(itertools.accumulate(CHANNELS[n][0] for n in names))
    template = data_template()
    buckets: dict[date, TimeBuckets] = {}
    out: list[tuple[object, ...]] = []
    contacts = max(count * 7 // 10, 1)
    pick = rng.random
    for i, at in enumerate(moments):
        channel = names[bisect.bisect(cumulative, pick() * cumulative[-1])]
        _, sources, medium = CHANNELS[channel]
        source = sources[int(pick() * len(sources))]
        paid = channel in ("paid_search", "paid_social")
        local_day = at.astimezone(ZONE).date()
        bucket = buckets.get(local_day) or buckets.setdefault(local_day, buckets_for(at, ZONE))
        attribution = {
            "channel": channel,
            "source": source,
            "medium": medium,
            "campaign": f"campaign-{int(pick() * 50)}" if paid else None,
            "content": f"ad-{int(pick() * 200)}" if paid else None,
            "term": f"keyword {int(pick() * 1000)}" if channel == "paid_search" else None,
            "landing_page": f"https://shop.example/p/{int(pick() * 100)}",
            "contact_page": f"https://shop.example/p/{int(pick() * 50)}",
            "region": f"region-{int(pick() * 80)}",
            "os": OSES[int(pick() * len(OSES))],
            "browser": BROWSERS[int(pick() * len(BROWSERS))],
            "device": DEVICES[int(pick() * len(DEVICES))],
        }
        dialog_id = f"{i:032x}"
        iso = at.isoformat(timespec="microseconds")  # what the store's ts() writes for a UTC instant
        contact = f"+7916{int(pick() * contacts):07d}"
        is_repeat = pick() < 0.3
        status = STATUSES[int(pick() * len(STATUSES))]
        holes = {"id": dialog_id, "contact_id": contact, "contact_phone": contact, "started_at": iso,
                 "last_message_at": iso, "is_repeat": is_repeat, "status": status, **attribution,
                 **bucket.model_dump()}  # fmt: skip
        data = template % {name: _json(value) for name, value in holes.items()}
        out.append(
            (dialog_id, "+79991234567", contact, "whatsapp", iso, iso, int(is_repeat), status, None,
             *attribution.values(), bucket.day, bucket.week, bucket.month, bucket.quarter, data)
        )  # fmt: skip
    return out


def seed(path: Path, count: int, days: int, report_index: bool) -> float:
    started = time.perf_counter()
    store = SQLiteStore(path)
    asyncio.run(_open_close(store))  # the store's own schema and indexes
    data = rows(count, days)
    generated = time.perf_counter()
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=OFF")
    db.execute("PRAGMA cache_size=-262144")
    indexes = db.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'dialogs' "
                         "AND sql IS NOT NULL").fetchall()  # fmt: skip
    with db:  # bulk load without the secondary indexes, then build them once, as the schema defines them
        for name, _ in indexes:
            db.execute(f"DROP INDEX {name}")
        db.executemany(f"INSERT INTO dialogs ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})", data)
        tagged = [(row[0], "qualified") for row in data[::10]] + [(row[0], "sale") for row in data[::25]]
        db.executemany("INSERT INTO dialog_tags (dialog_id, tag) VALUES (?, ?)", tagged)
        for _, sql in indexes:
            db.execute(sql)
        if report_index:
            db.execute(REPORT_INDEX)
    db.execute("ANALYZE")
    db.close()
    loaded = time.perf_counter() - generated
    print(f"generated rows in {generated - started:.1f} s, inserted and indexed in {loaded:.1f} s")
    rebuilt = asyncio.run(_rebuild(path))
    print(f"report rollups rebuilt from the dialogs in {rebuilt:.1f} s")
    return time.perf_counter() - started


def lag(path: Path, hours: int) -> None:
    """Put the rollups' watermark W `hours` before the end of the month measured (Moscow's midnight), as if
    the roll-up step had not run for them: the running hour is always counted raw, one more is a roll-up
    that lags by an hour."""
    month_end = datetime.combine(END.astimezone(ZONE).date(), dt_time(0), tzinfo=ZONE)
    upto = rollups.slot(month_end - timedelta(hours=hours), rollups.HOUR)
    db = sqlite3.connect(path, isolation_level=None)
    with db:
        db.execute("BEGIN")
        db.execute("UPDATE meta SET value = ? WHERE key = ?", (upto, rollups.WATERMARK))
        db.execute("UPDATE meta SET value = MIN(value, ?) WHERE key = ?", (upto[:10], rollups.ROLLED))
        db.execute("DELETE FROM dialog_counts WHERE span = 'h' AND slot >= ?", (upto,))
        db.execute("DELETE FROM dialog_counts WHERE span = 'd' AND slot >= ?", (upto[:10],))
        raw = db.execute("SELECT COUNT(*) FROM dialogs WHERE started_at >= ?", (upto,)).fetchone()[0]
    db.close()
    print(f"watermark W = {upto} (UTC): {raw:,} dialogs from W on are counted raw")


async def _open_close(store: SQLiteStore) -> None:
    await store.open()
    await store.close()


async def _rebuild(path: Path) -> float:
    """The rollups' rebuild (SQLiteStore.rebuild_counts) as one bulk pass: an hour at a time, one transaction."""
    started = time.perf_counter()
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA synchronous=OFF")
    began = rollups.state(db)
    db.execute("BEGIN")
    rollups.begin_rebuild(db, rollups.slot(END, rollups.HOUR))  # W after every dialog: the roll-up caught up
    for hour in rollups.hours_to_rebuild(db):
        rollups.rebuild_hour(db, hour)
    for day in rollups.days_to_rebuild(db):
        rollups.rebuild_day(db, day)
    assert rollups.finish_rebuild(db, began)
    db.execute("COMMIT")
    db.close()
    return time.perf_counter() - started


def last_month() -> Period:
    """The seeding's last whole month: the month every report benchmark measures."""
    first = (END - timedelta(days=1)).astimezone(ZONE).date().replace(day=1)
    return Period(first, month_end(first), ZONE, Unit.MONTH)


async def month_count(store: SQLiteStore, month: Period) -> int:
    """The baseline: a bare COUNT(*) of the month's dialogs."""
    sql = "SELECT COUNT(*) FROM dialogs WHERE started_at >= ? AND started_at < ?"
    found = await store.read(lambda db: db.execute(sql, (ts(month.start), ts(month.end))).fetchone())
    return int(found[0])


async def timed(work: Callable[[], Awaitable[object]], runs: int) -> float:
    await work()  # warm the page cache once
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        await work()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


async def measure(path: Path, runs: int) -> list[tuple[str, float]]:
    store = SQLiteStore(path, roll_up_every=None)  # W stays where the seeding (or --lag-hours) put it
    await store.open()
    try:
        month = last_month()
        last = month.last
        day = Period(last, last, ZONE, Unit.DAY)
        contact = (await store.list_dialogs(month.start, month.end, limit=1))[0].contact_id
        some = (await store.list_dialogs(day.start, day.end, limit=1))[0]

        paid = {"channel": "paid_search"}
        # A running day: until 14:25 Moscow time (a part-hour the rollups cannot answer), and the day before
        # cut at the same time of day, as /compare does.
        cut = datetime.combine(last, dt_time(14, 25), tzinfo=ZONE)
        today = Period(last, last, ZONE, Unit.DAY, until=cut)
        yesterday = last - timedelta(days=1)
        before = Period(yesterday, yesterday, ZONE, Unit.DAY, until=cut - timedelta(days=1))
        fortnight = await dynamics(store, Period(last - timedelta(days=13), last, ZONE, Unit.SPAN), Bucket.DAY, top=5)
        work: list[tuple[str, Callable[[], Awaitable[object]]]] = [
            ("baseline: SELECT COUNT(*) over the month", lambda: month_count(store, month)),
            ("summary (new / repeat)", lambda: summary(store, month)),
            ("channels", lambda: channels(store, month)),
            ("channels, probable as unattributed", lambda: channels(store, month, include_probable=False)),
            ("pages of contact", lambda: pages(store, month, "contact")),
            ("landing pages", lambda: pages(store, month, "landing")),
            ("drill-down: source in paid search", lambda: ranking(store, month, "source", filters=paid)),
            ("drill-down: campaign in paid search", lambda: ranking(store, month, "campaign", filters=paid)),
            ("drill-down: content (ad)", lambda: ranking(store, month, "content", filters=paid)),
            ("drill-down: term (keyword)", lambda: ranking(store, month, "term", filters=paid)),
            ("tags", lambda: ranking(store, month, "tag")),
            ("summary filtered by tag", lambda: summary(store, month, filters={"tag": "sale"})),
            ("dynamics by day per channel", lambda: dynamics(store, month, Bucket.DAY)),
            ("dynamics by week per channel", lambda: dynamics(store, month, Bucket.WEEK)),
            ("compare with the month before", lambda: compare(store, month, month.previous())),
            ("today until 14:25: channels", lambda: channels(store, today)),
            ("  compared with the day before until 14:25", lambda: compare(store, today, before)),
            ("daily summary (5 queries + PNG chart)", lambda: daily_summary(store, ZONE, last, "ru")),
            ("  of which the chart (14 days, PNG)", lambda: asyncio.to_thread(dynamics_png, fortnight, "ru")),
            ("dialog card (+ contact's history)", lambda: dialog_card(store, some.id, ZONE)),
            ("find dialogs by phone", lambda: find_dialogs(store, contact)),
        ]
        results = [(name, await timed(job, runs)) for name, job in work]
        csv_day = await timed(lambda: dialogs_csv_bytes(store, day, ZONE), 1)
        day_count = (await summary(store, day)).totals.dialogs
        results.append((f"CSV export of one day ({day_count:,} dialogs)", csv_day))
        return results
    finally:
        await store.close()


def seeded_arguments(doc: str | None, *, dialogs: int = 200_000, runs: int = 5) -> argparse.ArgumentParser:
    """The options every benchmark on this seeding takes (how many dialogs over how many days, runs, a kept
    database file); `doc` is the benchmark's docstring, whose first line describes it."""
    parser = argparse.ArgumentParser(description=(doc or "").splitlines()[0])
    parser.add_argument("--dialogs", type=int, default=dialogs)
    parser.add_argument("--days", type=int, default=365, help="spread the dialogs over this many days before 2027")
    parser.add_argument("--runs", type=int, default=runs)
    parser.add_argument("--db", type=Path, help="keep the database here (reused if it exists)")
    return parser


def main() -> None:
    parser = seeded_arguments(__doc__)
    parser.add_argument("--report-index", action="store_true", help="add the proposed covering index REPORT_INDEX")
    parser.add_argument("--lag-hours", type=int, default=0, help="leave the last N hours to the raw count (W lags)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = args.db or Path(tmp) / "bench.db"
        if not path.exists():
            seconds = seed(path, args.dialogs, args.days, args.report_index)
            print(f"seeded {args.dialogs:,} dialogs over {args.days} days in {seconds:.1f} s")
        if args.lag_hours:
            lag(path, args.lag_hours)
        results = asyncio.run(measure(path, args.runs))
    baseline = results[0][1]
    month_share = min(1.0, 31 / args.days)
    in_month = int(args.dialogs * month_share)
    print(f"SQLite, {args.dialogs:,} dialogs, one month ≈ {in_month:,} of them; median of {args.runs}")
    print(f"{'report':48} {'ms':>8} {'× baseline':>11}  target {TARGET * 1000:.0f} ms")
    slow = []
    for name, seconds in results:
        over = seconds > TARGET and not name.startswith(("baseline", "CSV", " "))
        slow += [name] if over else []
        print(f"{name:48} {seconds * 1000:8.1f} {seconds / baseline:11.1f}  {'OVER' if over else 'ok'}")
    print("every report under target" if not slow else f"over target: {', '.join(slow)}")


if __name__ == "__main__":
    main()
