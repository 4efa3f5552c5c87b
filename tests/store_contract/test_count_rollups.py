"""Counts stay exact through every change: after a random sequence of operations, every shape of CountQuery
gives what a recount of the stored dialogs gives (SQLite answers most from its rollups,
tracking/store/rollups.py, and counts from the dialogs the part-hours at a period's edges and the hours
from the watermark on, which the roll-up step has not reached yet: its random steps lag behind dialogs,
and dialogs arrive with times before the watermark). Who took a lead (taken_by) is in no rollup shape:
grouped or filtered by it, a query is counted from the dialogs, and must still equal the recount. New or
repeat (customer) is in every row (its dialogs and repeat counts): grouped or filtered by it, each row splits.

The recount here is independent of both stores: it reads the dialogs back (list_dialogs) and counts in
Python. MongoDB keeps the same rows (tracking/store/mongo_counts.py) and adds them up in Python, so every
shape is compared on the nx-27017 emulator too, but for queries no kept shape serves: those are counted
by an aggregation, and the emulator's $group by a document is broken (test_counts.GROUPED), so only
their ungrouped form is compared there (and one taker's dialogs for those nobody took: its $match of a
null misses them); a real MongoDB gets every shape of them.
"""

from __future__ import annotations

import itertools
import sqlite3
import uuid
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pymongo import AsyncMongoClient

from tests.mongo_server import MongoServer
from tests.store_contract import NUMBER, OTHER_NUMBER, Row, at, message, new_dialog, rows
from tracking.models import Attribution, AttributionStatus, Channel, Dialog
from tracking.recompute import recompute_buckets
from tracking.store import mongo_counts, rollups
from tracking.store.base import GROUPABLE_FIELDS, Bucket, CodeAttribution, CountQuery, Store
from tracking.store.mongo import MongoStore, dialog_document
from tracking.store.sqlite import SQLiteStore

T0 = at("2026-03-30 19:00")  # around Moscow's midnight, the end of March and of Q1
WINDOW = timedelta(hours=80)
CONTACTS = ["+79160000001", "+79160000002", "+79160000003", "+79160000004"]
CHANNELS = [Channel.PAID_SEARCH, Channel.ORGANIC_SEARCH, Channel.DIRECT, Channel.UNATTRIBUTED]
STATUSES = [AttributionStatus.EXACT, AttributionStatus.PROBABLE, AttributionStatus.NONE]
TAGS = ["spam", "sale", "vip", "qualified"]
TAKERS = [501, 502]  # Telegram user ids of the team members who take leads
ZONES = [ZoneInfo("Europe/Moscow"), ZoneInfo("UTC"), ZoneInfo("Asia/Kolkata")]
EVERYTHING = (at("2020-01-01 00:00"), at("2030-01-01 00:00"))

moments = st.integers(0, int(WINDOW.total_seconds()) // 60).map(lambda m: T0 + timedelta(minutes=m))
add = st.tuples(
    st.just("add"),
    moments,
    st.sampled_from(CONTACTS),
    st.sampled_from([NUMBER, OTHER_NUMBER]),
    st.sampled_from(CHANNELS),
    st.sampled_from(STATUSES),
    st.sampled_from([None, "google", "yandex"]),
    st.lists(st.sampled_from(TAGS), max_size=2, unique=True),
)
operation = st.one_of(
    add,
    add,
    add,
    st.tuples(st.just("tag"), st.integers(0, 50), st.lists(st.sampled_from(TAGS), max_size=3)),
    st.tuples(st.just("attribute"), st.integers(0, 50), st.sampled_from(CHANNELS), st.sampled_from(STATUSES)),
    st.tuples(st.just("take"), st.integers(0, 50), st.sampled_from(TAKERS), st.booleans()),
    st.tuples(st.just("forget"), st.sampled_from(CONTACTS)),
    st.tuples(st.just("zone"), st.sampled_from(ZONES)),
    st.tuples(st.just("rebuild"), st.one_of(moments, st.just(T0 + 2 * WINDOW))),
    st.tuples(st.just("roll_up"), st.one_of(moments, st.just(T0 + 2 * WINDOW))),
    st.tuples(st.just("roll_up"), moments),
)
# An instant: whole days and hours (what reports mostly ask) and any minute (running periods, cut comparisons).
instants = st.one_of(
    st.integers(-1, 5).map(lambda d: at("2026-03-30 21:00") + timedelta(days=d)),
    st.integers(-4, 90).map(lambda h: T0 + timedelta(hours=h)),
    moments.map(lambda m: m + timedelta(seconds=17)),
)
VALUES = ["paid_search", "google", "spring", "probable", "exact", "qualified", "vip", NUMBER, "whatsapp", "501", "none"]
VALUES += ["new", "repeat"]  # customer's
CUSTOMERS = [{"customer": "new"}, {"customer": "repeat"}]
filters = (
    st.dictionaries(
        st.sampled_from(
            ["channel", "source", "campaign", "status", "tag", "business_number", "messenger", "taken_by", "customer"]
        ),
        st.sampled_from(VALUES),
        max_size=2,
    )
    .filter(lambda chosen: chosen.get("taken_by", "none") in ("501", "none"))  # taken_by takes only ids and none
    .filter(lambda chosen: chosen.get("customer", "new") in ("new", "repeat"))
)
options = st.tuples(
    instants,
    instants,
    st.sampled_from([None, *Bucket]),
    filters,
    st.sampled_from([[], ["spam"], ["spam", "vip"]]),
    st.booleans(),
)


@pytest.fixture(autouse=True)
def small_pieces(monkeypatch: pytest.MonkeyPatch) -> None:
    """Roll-up steps of a few dialogs and day-summing steps of a few rows: pieces split hours, days and
    shapes, and meet dialogs that share a started_at (the random times are whole minutes)."""
    monkeypatch.setattr(rollups, "PIECE", 3)
    monkeypatch.setattr(rollups, "DAY_PIECE", 2)


def recount(dialogs: list[Dialog], query: CountQuery) -> list[Row]:
    """What count_dialogs must answer, counted in Python from the dialogs as stored."""

    def value(dialog: Dialog, name: str) -> str | None:
        fields: dict[str, Any] = dialog.attribution.model_dump(mode="json")
        if name in fields:
            if not query.include_probable and dialog.status == AttributionStatus.PROBABLE:
                return "unattributed" if name == "channel" else None
            return fields[name]
        taker = None if dialog.taken_by is None else str(dialog.taken_by)
        customer = "repeat" if dialog.is_repeat else "new"
        return {
            "business_number": dialog.business_number,
            "messenger": dialog.messenger.value,
            "taken_by": taker,
            "customer": customer,
        }.get(name, dialog.status.value)

    totals: Counter[tuple[Any, ...]] = Counter()
    for dialog in dialogs:
        if not query.start <= dialog.started_at < query.end or set(dialog.tags) & set(query.without_tags):
            continue
        wants = {
            name: None if (name, wanted) == ("taken_by", "none") else wanted for name, wanted in query.filters.items()
        }
        if any(
            (wanted not in dialog.tags) if name == "tag" else (value(dialog, name) != wanted)
            for name, wanted in wants.items()
        ):
            continue
        group_tags = [query.filters["tag"]] if "tag" in query.filters else sorted(set(dialog.tags))
        for tag in group_tags if "tag" in query.group_by else [None]:
            key = tuple((name, tag if name == "tag" else value(dialog, name)) for name in query.group_by)
            bucket = getattr(dialog.buckets, query.bucket.value) if query.bucket else None
            totals[(tuple(sorted(key)), bucket, dialog.is_repeat)] += 1
    out = {(key, bucket): [0, 0] for key, bucket, _ in totals}
    for (key, bucket, repeat), n in totals.items():
        out[(key, bucket)][1 if repeat else 0] += n
    return sorted(((k, b, new + rep, new, rep) for (k, b), (new, rep) in out.items()), key=repr)


async def apply(store: Store, operations: list[tuple[Any, ...]], sent: list[str]) -> None:
    for op in operations:
        dialogs = await store.list_dialogs(*EVERYTHING)
        if op[0] == "add":
            _, when, contact, number, channel, status, source, tags = op
            msg = message(when, contact=contact, number=number)
            new = new_dialog(msg, channel=channel, status=status, source=source, tags=tags, gap=timedelta(hours=3))
            new.draft.attribution.campaign = "spring" if channel == Channel.PAID_SEARCH else None
            await store.add_message(new)
            sent.append(msg.message_id)
        elif op[0] == "tag" and dialogs:
            await store.set_tags(dialogs[op[1] % len(dialogs)].id, op[2])
        elif op[0] == "attribute" and sent:
            campaign = "autumn" if op[2] == Channel.PAID_SEARCH else None
            attribution = Attribution(
                channel=op[2], source="vk", campaign=campaign, landing_page="https://salon.example/"
            )
            change = CodeAttribution(code=uuid.uuid4().hex[:8], status=op[3], attribution=attribution)
            await store.edit_message("twilio", sent[op[1] % len(sent)], "код", T0 + WINDOW, change)
        elif op[0] == "take" and dialogs:  # who took a lead: counted raw, never from the rollups
            await store.take_dialog(
                dialogs[op[1] % len(dialogs)].id, op[2], f"user {op[2]}", T0 + WINDOW, replace=op[3]
            )
        elif op[0] == "forget":
            await store.forget_contact(op[1])
        elif op[0] == "zone":
            await recompute_buckets(store, op[1])
        elif op[0] == "rebuild" and isinstance(store, SQLiteStore):
            assert await store.rebuild_counts(now=op[1])
        elif op[0] == "roll_up" and isinstance(store, SQLiteStore):
            await store.roll_up(now=op[1])
        elif op[0] == "rebuild" and isinstance(store, MongoStore):
            assert await store.repair_counts()


async def mongo_rows(store: MongoStore) -> list[tuple[Any, ...]]:
    """The kept rows, as comparable tuples."""
    found = await store.db.dialog_counts.find({"dialogs": {"$ne": 0}}).to_list()
    return sorted(tuple(sorted((k, repr(v)) for k, v in row.items())) for row in found)


async def mongo_rebuilt(store: MongoStore) -> bool:
    """Mark every hour and recount them all, as an upgrade from a version without rows does."""
    await mongo_counts.mark_everything(store.db)
    return await store.repair_counts(stale=0)


def snapshot(path: Path) -> list[tuple[Any, ...]]:
    with sqlite3.connect(path) as db:
        return sorted(db.execute("SELECT * FROM dialog_counts WHERE dialogs <> 0"))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(operations=st.lists(operation, min_size=1, max_size=25), queries=st.lists(options, min_size=1, max_size=3))
async def test_every_count_equals_a_recount_after_any_changes(
    adapter: str, on_emulator: bool, tmp_path: Path, request: Any, operations: list[Any], queries: list[Any]
) -> None:
    store: Store
    server: MongoServer | None = request.getfixturevalue("mongodb") if adapter == "mongo" else None
    database = f"chattrack_test_{uuid.uuid4().hex[:12]}"
    path = tmp_path / f"{database}.db"
    # SQLite rolls up only when an operation says so (the random steps), not every minute on its own.
    store = SQLiteStore(path, roll_up_every=None) if server is None else MongoStore(server.database_url(database))
    await store.open()
    try:
        await apply(store, operations, [])
        dialogs = await store.list_dialogs(*EVERYTHING)
        if isinstance(store, MongoStore):  # every change counted itself: no hour is left to the repair
            assert await store.db.count_marks.count_documents({}) == 0
        # Every field alone, and the money reports' leads: by channel, source and campaign (their own shape).
        group_bys = [[], *([name] for name in GROUPABLE_FIELDS), ["channel", "source", "campaign"]]
        group_bys += [["channel", "customer"], ["tag", "customer"]]  # a row split into new and repeat per group
        # Periods that end or start within an hour of a dialog: its part-hour is counted from the dialogs.
        around = [d.started_at for d in dialogs[:3]]
        queries += [(T0 - timedelta(days=1), t + timedelta(minutes=1), None, {}, ["spam"], True) for t in around]
        queries += [(t - timedelta(minutes=1), T0 + 2 * WINDOW, Bucket.DAY, {}, [], False) for t in around]
        # Who took them (counted raw whatever else the query asks): one taker's, and those nobody took.
        queries += [(T0, T0 + 2 * WINDOW, Bucket.DAY, {"taken_by": taker}, [], True) for taker in ("501", "none")]
        # The money reports' qualified leads (a tag filter, spam left out), and a campaign's leads by source.
        queries += [(T0 - timedelta(days=1), T0 + 2 * WINDOW, None, {"tag": "qualified"}, ["spam"], probable)
                    for probable in (True, False)]  # fmt: skip
        queries += [(T0 - timedelta(days=1), T0 + 2 * WINDOW, Bucket.DAY, {"campaign": "spring"}, ["spam"], True)]
        # New or repeat customers (rows split: new = dialogs - repeat), alone, with a tag and beside a part-hour.
        queries += [(T0 - timedelta(days=1), T0 + 2 * WINDOW, Bucket.WEEK, {"customer": c}, ["spam"], True)
                    for c in ("new", "repeat")]  # fmt: skip
        queries += [(T0, t + timedelta(minutes=1), None, {"customer": "repeat", "tag": "vip"}, [], False)
                    for t in around[:1]]  # fmt: skip
        for start, end, bucket, filtered, without, probable in queries:
            for group_by in group_bys:
                query = CountQuery(
                    start=start,
                    end=end,
                    group_by=group_by,
                    bucket=bucket,
                    filters=filtered,
                    without_tags=without,
                    include_probable=probable,
                )
                if on_emulator and rollups.shape_for(query) is None:  # an aggregation: ungrouped only
                    query = query.model_copy(update={"group_by": [], "bucket": None})
                if on_emulator and query.filters.get("taken_by") == "none":  # test_taken_by.NULL_BESIDE_RANGE
                    query = query.model_copy(update={"filters": {**query.filters, "taken_by": "501"}})
                assert rows(await store.count_dialogs(query)) == recount(dialogs, query), query
        if isinstance(store, SQLiteStore):  # what the changes and the roll-up kept equals what a rebuild computes
            await store.roll_up(now=T0 + 2 * WINDOW)
            # every dialog is in the rows now: new and repeat customers split from them, as recounted
            for group_by, customer in itertools.product([[], ["customer"], ["channel", "customer"]], [{}, *CUSTOMERS]):
                query = CountQuery(start=T0 - timedelta(days=1), end=T0 + 2 * WINDOW, group_by=group_by,
                                   bucket=Bucket.DAY, filters=customer, without_tags=["spam"])  # fmt: skip
                assert rows(await store.count_dialogs(query)) == recount(dialogs, query), query
            kept = snapshot(path)
            assert await store.rebuild_counts(now=T0 + 2 * WINDOW)
            assert snapshot(path) == kept
        if isinstance(store, MongoStore):  # the same for MongoDB's rows
            kept_rows = await mongo_rows(store)
            assert await mongo_rebuilt(store)
            assert await mongo_rows(store) == kept_rows
    finally:
        await store.close()
        if server is not None:
            client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(server.url)
            await client.drop_database(database)
            await client.close()


async def test_a_file_of_an_older_version_counts_raw_until_its_rollups_are_rebuilt(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "old.db")
    await store.open()
    for minute in range(0, 600, 7):
        new = new_dialog(message(T0 + timedelta(minutes=minute), contact=f"+7916{minute:07d}"), tags=["sale"])
        await store.add_message(new)
    query = CountQuery(start=T0 - timedelta(days=1), end=T0 + timedelta(days=1), group_by=["channel"])
    expected = rows(await store.count_dialogs(query))

    def older_version(db: sqlite3.Connection) -> None:  # no rollups, no record of them
        db.execute("DELETE FROM dialog_counts")
        db.execute("DELETE FROM meta WHERE key = 'dialog_counts'")

    await store.write(older_version)
    await store.close()
    assert snapshot(tmp_path / "old.db") == []

    reopened = SQLiteStore(tmp_path / "old.db")
    await reopened.open()
    try:
        assert reopened._rebuild is not None  # open() found no complete rollups and started the rebuild
        assert rows(await reopened.count_dialogs(query)) == expected  # raw meanwhile, or rollups once done
        assert await reopened._rebuild
        assert await reopened.read(rollups.is_ready)
        assert rows(await reopened.count_dialogs(query)) == expected
        assert snapshot(tmp_path / "old.db") != []
    finally:
        await reopened.close()


def test_the_money_reports_leads_are_read_from_their_own_shape() -> None:
    """Leads and qualified leads by channel, source and campaign (reports/money.py, views above the ad)."""
    period = {"start": T0, "end": T0 + WINDOW, "without_tags": ["spam"]}
    leads = CountQuery(**period, group_by=["channel", "source", "campaign"])
    qualified = CountQuery(**period, group_by=["channel", "source", "campaign"], filters={"tag": "qualified"})
    assert rollups.shape_for(leads) == rollups.shape_for(qualified) == "source_campaign"
    assert rollups.shape_for(CountQuery(**period, group_by=["channel", "campaign"])) == "campaign"  # the smaller
    assert rollups.shape_for(CountQuery(**period, group_by=["channel", "source", "campaign", "content"])) is None


async def test_a_file_whose_rollups_lack_a_shape_added_since_rebuilds_them(tmp_path: Path) -> None:
    """A file of a version before a shape was added: its rows are complete for the shapes it knew, but hold
    none of the new shape. open() sees the other shapes' mark, counts raw and rebuilds every shape."""
    path = tmp_path / "shapes.db"
    store = SQLiteStore(path, roll_up_every=None)
    await store.open()
    for minute in range(0, 600, 7):
        new = new_dialog(
            message(T0 + timedelta(minutes=minute), contact=f"+7916{minute:07d}"),
            channel=CHANNELS[minute % 4],
            source=["google", "yandex", None][minute % 3],
            campaign=f"campaign-{minute % 2}",
            tags=["qualified"] if minute % 5 == 0 else [],
        )
        await store.add_message(new)
    await store.roll_up(now=T0 + timedelta(days=2))
    dialogs = await store.list_dialogs(*EVERYTHING)
    money = [
        CountQuery(start=T0 - timedelta(days=1), end=T0 + timedelta(days=1), group_by=["channel", "source", "campaign"],
                   filters=filtered, without_tags=["spam"])
        for filtered in ({}, {"tag": "qualified"})
    ]  # fmt: skip
    expected = [recount(dialogs, query) for query in money]
    assert all(expected)

    def older_version(db: sqlite3.Connection) -> None:  # rows of every shape but the new one, and no mark
        db.execute("DELETE FROM dialog_counts WHERE shape = 'source_campaign'")
        db.execute("DELETE FROM meta WHERE key = ?", (rollups.SHAPES_KEY,))

    await store.write(older_version)
    await store.close()
    assert all(row[1] != "source_campaign" for row in snapshot(path))

    reopened = SQLiteStore(path, roll_up_every=None)
    await reopened.open()
    try:
        assert reopened._rebuild is not None  # open() found rows of other shapes and started the rebuild
        assert not await reopened.read(rollups.is_ready)
        assert [rows(await reopened.count_dialogs(query)) for query in money] == expected  # raw meanwhile
        assert await reopened._rebuild
        assert await reopened.read(rollups.is_ready)
        assert [rows(await reopened.count_dialogs(query)) for query in money] == expected  # from the new shape
        assert any(row[1] == "source_campaign" for row in snapshot(path))
        assert await reopened.read(lambda db: rollups._meta(db, rollups.SHAPES_KEY)) == rollups.SHAPES_MARK
    finally:
        await reopened.close()
    again = SQLiteStore(path, roll_up_every=None)  # the mark is kept: the next open rebuilds nothing
    await again.open()
    try:
        assert again._rebuild is None
    finally:
        await again.close()


async def test_a_mongodb_whose_counts_lack_a_shape_added_since_recounts_every_hour(mongodb: MongoServer) -> None:
    """The same upgrade on MongoDB: counts kept by a version before the shape hold none of its rows; open()
    marks every hour (reports count them raw) and the repair recounts them with every shape."""
    name = f"chattrack_test_{uuid.uuid4().hex[:12]}"
    store = MongoStore(mongodb.database_url(name))
    await store.open()
    try:
        for minute in range(0, 600, 23):
            new = new_dialog(
                message(T0 + timedelta(minutes=minute), contact=f"+7916{minute:07d}"),
                channel=CHANNELS[minute % 4],
                source=["google", "yandex", None][minute % 3],
                campaign=f"campaign-{minute % 2}",
                tags=["qualified"] if minute % 5 == 0 else [],
            )
            await store.add_message(new)
        dialogs = await store.list_dialogs(*EVERYTHING)
        # an older version's counts: no rows of the new shape, no mark of the shapes counted
        await store.db.dialog_counts.delete_many({"shape": "source_campaign"})
        await store.db.meta.update_one({"_id": mongo_counts.STATE}, {"$unset": {"shapes": ""}})
    finally:
        await store.close()
    query = CountQuery(start=T0 - timedelta(days=1), end=T0 + timedelta(days=1),
                       group_by=["source", "campaign"], without_tags=["spam"])  # fmt: skip
    reopened = MongoStore(mongodb.database_url(name), count_stale=0)
    await reopened.open()
    try:
        assert reopened._startup_repair is not None  # every hour marked at open
        assert await reopened._startup_repair
        assert await reopened.db.dialog_counts.count_documents({"shape": "source_campaign"}) > 0
        state = await reopened.db.meta.find_one({"_id": mongo_counts.STATE})
        assert state is not None and state["shapes"] == rollups.SHAPES_MARK
        assert rows(await reopened.count_dialogs(query)) == recount(dialogs, query)
    finally:
        await reopened.close()
        client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(mongodb.url)
        await client.drop_database(name)
        await client.close()


async def test_a_migration_marks_the_rollups_stale_and_a_rebuild_started_before_it_does_not_mark_them_ready(
    tmp_path: Path,
) -> None:
    store = SQLiteStore(tmp_path / "m.db")
    await store.open()
    try:
        await store.add_message(new_dialog(message(T0), channel=Channel.PAID_SEARCH))
        began = await store.read(rollups.state)

        def migration(db: sqlite3.Connection) -> None:  # rewrites a counted column behind the rollups' back
            db.execute("UPDATE dialogs SET channel = 'direct'")
            rollups.mark_stale(db)

        await store.write(migration)
        query = CountQuery(start=T0 - timedelta(days=2), end=T0 + timedelta(days=2), group_by=["channel"])
        assert [r.key for r in await store.count_dialogs(query)] == [{"channel": "direct"}]  # raw: exact
        assert not await store.write(lambda db: rollups.finish_rebuild(db, began))  # a rebuild from before
        assert await store.rebuild_counts()
        assert [r.key for r in await store.count_dialogs(query)] == [{"channel": "direct"}]  # from the rollups
    finally:
        await store.close()


def test_a_period_is_split_into_days_hours_and_part_hours_at_its_edges() -> None:
    days, hours, raw = rollups.plan(at("2026-03-30 21:00"), at("2026-04-02 14:25"))
    assert days == [(at("2026-03-31 00:00"), at("2026-04-02 00:00"))]
    assert hours == [(at("2026-03-30 21:00"), at("2026-03-31 00:00")), (at("2026-04-02 00:00"), at("2026-04-02 14:00"))]
    assert raw == [(at("2026-04-02 14:00"), at("2026-04-02 14:25"))]
    assert rollups.plan(at("2026-03-30 21:10"), at("2026-03-30 21:50")) == (
        [],
        [],
        [(at("2026-03-30 21:10"), at("2026-03-30 21:50"))],
    )


async def test_a_new_dialog_writes_no_rollup_row_unless_it_started_before_the_watermark(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "w.db", roll_up_every=None)
    await store.open()
    try:
        await store.roll_up(now=T0 + timedelta(hours=5, minutes=40))
        assert await store.read(rollups.watermark) == "2026-03-31T00"
        await store.add_message(new_dialog(message(T0 + timedelta(hours=5, minutes=30)), tags=["sale"]))
        assert snapshot(tmp_path / "w.db") == []  # ingest writes no rollup row
        # A provider's time in the past, before W: counted in the rows at once, hour and day (a whole day).
        await store.add_message(new_dialog(message(T0 + timedelta(hours=1), contact="+79160000009")))
        spans = Counter((row[0], row[2]) for row in snapshot(tmp_path / "w.db"))
        assert spans == {("h", "2026-03-30T20"): len(rollups.SHAPES) - 1, ("d", "2026-03-30"): len(rollups.SHAPES) - 1}
    finally:
        await store.close()


async def test_reports_are_exact_while_the_watermark_lags_and_after_it_catches_up(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "lag.db", roll_up_every=None)
    await store.open()
    try:
        for minute in range(0, 48 * 60, 37):
            when = T0 + timedelta(minutes=minute)
            new = new_dialog(
                message(when, contact=f"+7916{minute:07d}"),
                channel=CHANNELS[minute % 4],
                tags=["spam"] if minute % 3 == 0 else [],
            )
            await store.add_message(new)
        dialogs = await store.list_dialogs(*EVERYTHING)
        queries = [
            CountQuery(start=T0 - timedelta(days=1), end=T0 + timedelta(days=3), group_by=["channel"]),
            CountQuery(start=at("2026-03-31 00:00"), end=at("2026-04-01 13:25"), bucket=Bucket.DAY),
            CountQuery(start=T0 + timedelta(minutes=10), end=T0 + timedelta(hours=30), without_tags=["spam"]),
        ]
        expected = [recount(dialogs, query) for query in queries]
        assert all(expected)
        # No roll-up yet (W = ''), half-way, then all: the same answers.
        for now in (None, T0 + timedelta(hours=20, minutes=5), T0 + timedelta(days=3)):
            if now is not None:
                await store.roll_up(now=now)
            assert [rows(await store.count_dialogs(query)) for query in queries] == expected, now
        assert await store.read(rollups.watermark) == "2026-04-02T19"
        assert await store.read(rollups.rolled_day) == "2026-04-02"
    finally:
        await store.close()


async def test_a_crash_between_a_dialog_and_its_counts_is_counted_raw_then_repaired_at_start_up(
    mongodb: MongoServer,
) -> None:
    """A copy dies after writing a dialog but before its $inc (and another after the hour's $inc, before
    the day's): reports count the marked hours from the dialogs meanwhile, and the next start repairs them."""
    name = f"chattrack_test_{uuid.uuid4().hex[:12]}"
    store = MongoStore(mongodb.database_url(name))
    await store.open()
    try:
        for minute in range(0, 3000, 97):
            await store.add_message(new_dialog(message(T0 + timedelta(minutes=minute), contact=f"+7916{minute:07d}")))
        db = store.db
        lost = new_dialog(
            message(T0 + timedelta(hours=30, minutes=5), contact="+79169990001"),
            channel=Channel.PAID_SEARCH,
            tags=["vip"],
        )
        await mongo_counts.mark(db, [mongo_counts.hour_of(lost.draft.started_at)])
        await db.dialogs.insert_one(dialog_document(lost.draft, 1))  # and the copy dies: no $inc, the mark stays
        half = new_dialog(
            message(T0 + timedelta(hours=50, minutes=1), contact="+79169990002"), tags=["sale"], channel=Channel.DIRECT
        )
        half_doc = dialog_document(half.draft, 1)
        await mongo_counts.mark(db, [mongo_counts.hour_of(half.draft.started_at)])
        await db.dialogs.insert_one(half_doc)
        hour_only = {k: v for k, v in mongo_counts.contribution(half_doc).items() if k.startswith("h|")}
        await mongo_counts.apply(db, hour_only)  # and this one dies before the day's rows
        period = {"start": T0 - timedelta(days=1), "end": T0 + timedelta(days=4)}
        queries = [CountQuery(**period, group_by=[field], bucket=Bucket.DAY) for field in ("channel", "tag", "status")]
        queries.append(CountQuery(**period, filters={"tag": "vip"}))
        dialogs = await store.list_dialogs(*EVERYTHING)
        assert len(dialogs) == 33
        for query in queries:  # the marked hours come from the dialogs: exact before any repair
            assert rows(await store.count_dialogs(query)) == recount(dialogs, query), query
    finally:
        await store.close()

    reopened = MongoStore(mongodb.database_url(name), count_stale=0)
    await reopened.open()
    try:
        assert reopened._startup_repair is not None  # open() found marks and started the repair
        assert await reopened._startup_repair
        assert await reopened.db.count_marks.count_documents({}) == 0
        for query in queries:  # from the kept counts alone now
            assert rows(await reopened.count_dialogs(query)) == recount(dialogs, query), query
        kept = await mongo_rows(reopened)
        assert kept and await mongo_rebuilt(reopened)
        assert await mongo_rows(reopened) == kept
    finally:
        await reopened.close()
        client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(mongodb.url)
        await client.drop_database(name)
        await client.close()


async def test_a_roll_up_step_over_a_burst_hour_counts_at_most_a_piece_and_never_splits_an_instant(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(rollups, "PIECE", 7)
    store = SQLiteStore(tmp_path / "burst.db", roll_up_every=None)
    await store.open()
    try:
        # 60 dialogs in one hour, three at each instant, and 9 more at one instant (more than a piece).
        for i in range(60):
            when = T0 + timedelta(minutes=i // 3, seconds=1)
            await store.add_message(new_dialog(message(when, contact=f"+7916{i:07d}")))
        for i in range(9):
            await store.add_message(new_dialog(message(T0 + timedelta(minutes=30), contact=f"+7917{i:07d}")))
        target = rollups.slot(T0 + timedelta(hours=2), rollups.HOUR)

        def counted(db: sqlite3.Connection) -> tuple[int, int]:
            """The dialogs in the hour rows, and the dialogs started before W."""
            found = db.execute("SELECT SUM(dialogs) FROM dialog_counts WHERE span = 'h' AND shape = 'all'")
            below = db.execute("SELECT COUNT(*) FROM dialogs WHERE started_at < ?", (rollups.watermark(db),))
            return found.fetchone()[0] or 0, below.fetchone()[0]

        before, steps = 0, []
        while await store.write(lambda db: rollups.roll_up_step(db, target)):
            after, below = await store.read(counted)
            assert after == below  # the rows hold exactly the dialogs before W
            steps.append(after - before)
            before = after
        assert before == 69
        assert max(steps) == 9  # the one instant of 9 dialogs, whole
        assert sorted(steps)[-2] <= 7 and sum(steps) == 69  # every other step at most a piece
        assert await store.read(rollups.watermark) == target
        query = CountQuery(start=T0 - timedelta(days=1), end=T0 + timedelta(days=1), group_by=["channel"])
        assert [r.dialogs for r in await store.count_dialogs(query)] == [69]
    finally:
        await store.close()
