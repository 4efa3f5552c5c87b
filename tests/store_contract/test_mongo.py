"""What only the MongoDB adapter has: indexes and schema at open, outages, copies that die half-way."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any, cast

import pytest
from pymongo import AsyncMongoClient, CursorType, monitoring
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from tests.mongo_plans import describe, find_plan
from tests.mongo_server import MongoServer, emulator, free_port
from tests.store_contract import CONTACT, at, message, new_dialog, queued_alerts
from tracking.limits import NewVisitBudget
from tracking.models import Dialog, IngestOutcome, IngestResult, PageView
from tracking.store.base import Bucket, CountQuery, NewDialog, StoreUnavailable
from tracking.store.mongo import SCHEMA_VERSION, MongoStore, client_options, count_pipeline, forgotten_messages

T0 = at("2026-03-01 10:00")
OpenStore = Callable[..., Awaitable[MongoStore]]


@pytest.fixture
async def database_url(mongodb: MongoServer) -> AsyncIterator[str]:
    name = f"chattrack_test_{uuid.uuid4().hex[:12]}"
    yield mongodb.database_url(name)
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongodb.url)
    await client.drop_database(name)
    await client.close()


@pytest.fixture
async def open_store(database_url: str) -> AsyncIterator[OpenStore]:
    stores: list[MongoStore] = []

    async def open_(cls: type[MongoStore] = MongoStore, **options: Any) -> MongoStore:
        store = cls(database_url, **options)
        await store.open()
        stores.append(store)
        return store

    yield open_
    for store in stores:
        await store.close()


def index_keys(info: Mapping[str, Any]) -> dict[tuple[str, ...], Any]:
    """Indexes by their fields (nx-27017 ignores index names and directions)."""
    return {tuple(field for field, _ in spec["key"]): spec for spec in info.values()}


async def test_open_creates_the_indexes_idempotently_and_records_the_schema(open_store: OpenStore) -> None:
    await open_store()
    store = await open_store(retention_days=30)  # a second copy starting, with another retention

    messages = index_keys(await store.db.messages.index_information())
    dialogs = index_keys(await store.db.dialogs.index_information())
    visits = index_keys(await store.db.visits.index_information())
    clicks = index_keys(await store.db.clicks.index_information())
    assert messages[("provider", "message_id")].get("unique") is True
    assert dialogs[("contact_id", "business_number", "seq")].get("unique") is True
    for fields in [("business_number", "started_at"), ("started_at",), ("code",)]:
        assert fields in dialogs
    assert ("phone",) in index_keys(await store.db.contacts.index_information())
    assert visits[("last_seen",)]["expireAfterSeconds"] == 30 * 86400
    assert clicks[("at",)]["expireAfterSeconds"] == 30 * 86400
    meta = await store.db.meta.find_one({"_id": "schema_version"})
    assert meta is not None and meta["value"] == SCHEMA_VERSION


async def test_a_database_of_a_newer_chattrack_is_refused(open_store: OpenStore, database_url: str) -> None:
    store = await open_store()
    await store.db.meta.update_one({"_id": "schema_version"}, {"$set": {"value": SCHEMA_VERSION + 1}})

    with pytest.raises(RuntimeError, match="upgrade chattrack"):
        await MongoStore(database_url).open()


async def test_a_url_without_a_database_name_is_refused() -> None:
    with pytest.raises(ValueError, match="must name the database"):
        await MongoStore(f"mongodb://127.0.0.1:{free_port()}/").open()


async def test_a_closed_port_is_unavailable_quickly() -> None:
    store = MongoStore(f"mongodb://127.0.0.1:{free_port()}/chattrack", timeout=1.0)

    started = time.monotonic()
    with pytest.raises(StoreUnavailable):
        await store.open()
    assert time.monotonic() - started < 3
    started = time.monotonic()
    assert await store.ping() is False
    assert time.monotonic() - started < 3
    with pytest.raises(StoreUnavailable):
        await store.add_message(new_dialog(message(T0)))
    await store.close()


async def test_a_server_that_goes_away_makes_writes_fail_fast_not_hang(tmp_path: Path) -> None:
    with emulator(tmp_path) as server:
        store = MongoStore(server.database_url("chattrack"), timeout=1.0)
        await store.open()
        assert (await store.add_message(new_dialog(message(T0)))).outcome is IngestOutcome.NEW_DIALOG
        assert await store.ping() is True
        assert await store.check_writes(T0) is None
    # the server is gone now
    started = time.monotonic()
    assert await store.ping() is False
    assert (await store.check_writes(T0) or "").startswith("a write fails")
    with pytest.raises(StoreUnavailable):
        await store.add_message(new_dialog(message(T0 + timedelta(minutes=1))))
    with pytest.raises(StoreUnavailable):
        await store.count_dialogs(CountQuery(start=T0, end=T0 + timedelta(days=1)))
    assert time.monotonic() - started < 8
    await store.close()


class CopyDied(Exception):
    """Stands for a server copy killed between two steps of storing a message."""


class DyingStore(MongoStore):
    """A copy that dies at one step of add_message, leaving what a killed process would leave."""

    def __init__(self, url: str, *, dies: str, **options: Any) -> None:
        super().__init__(url, **options)
        self.dies = dies

    async def _decide(self, new: NewDialog) -> Any:
        if self.dies == "deciding":
            raise CopyDied
        return await super()._decide(new)

    async def _open_dialog(self, dialog: Dialog, seq: int) -> Dialog | None:
        if self.dies == "opening":
            raise CopyDied
        opened = await super()._open_dialog(dialog, seq)
        if self.dies == "after opening":
            raise CopyDied
        return opened

    async def _append(self, dialog_id: str, ref: str, at: Any) -> Dialog:
        appended = await super()._append(dialog_id, ref, at)
        if self.dies == "after appending":
            raise CopyDied
        return appended


@pytest.mark.parametrize("dies", ["deciding", "opening", "after opening"])
async def test_the_retry_completes_a_first_message_whose_copy_died(open_store: OpenStore, dies: str) -> None:
    dying = await open_store(DyingStore, dies=dies)
    original = new_dialog(message(T0, message_id="SM-1"), chats=[5])
    with pytest.raises(CopyDied):
        await dying.add_message(original)
    survivor = await open_store(claim_timeout=0)  # the dead copy's claim counts as stale at once

    retried = await survivor.add_message(new_dialog(message(T0, message_id="SM-1"), chats=[5]))
    again = await survivor.add_message(new_dialog(message(T0, message_id="SM-1"), chats=[5]))

    assert retried.outcome is IngestOutcome.NEW_DIALOG
    if dies != "deciding":  # the dead copy had recorded its decision: the retry carries it out
        assert retried.dialog.id == original.draft.id
    assert again.outcome is IngestOutcome.DUPLICATE and again.dialog.id == retried.dialog.id
    (dialog,) = await survivor.find_dialogs(contact_id=CONTACT)
    assert dialog.id == retried.dialog.id and dialog.message_count == 1
    assert await queued_alerts(survivor) == [(5, dialog.id)]


async def test_the_retry_of_an_appended_message_counts_it_once(
    open_store: OpenStore, mongodb: MongoServer, request: pytest.FixtureRequest
) -> None:
    if mongodb.emulator:
        reason = "nx-27017: {array: {$ne: value}} matches arrays that contain the value"
        request.applymarker(pytest.mark.xfail(strict=True, reason=reason))
    first = new_dialog(message(T0))
    healthy = await open_store()
    await healthy.add_message(first)
    dying = await open_store(DyingStore, dies="after appending")
    with pytest.raises(CopyDied):
        await dying.add_message(new_dialog(message(T0 + timedelta(minutes=1), message_id="SM-2")))
    survivor = await open_store(claim_timeout=0)

    retried = await survivor.add_message(new_dialog(message(T0 + timedelta(minutes=1), message_id="SM-2")))

    assert retried.outcome is IngestOutcome.APPENDED
    assert retried.dialog.id == first.draft.id and retried.dialog.message_count == 2


async def test_a_retry_while_another_copy_still_stores_the_message_asks_the_provider_to_come_back(
    open_store: OpenStore,
) -> None:
    busy = await open_store(DyingStore, dies="deciding")  # leaves the message claimed a moment ago
    with pytest.raises(CopyDied):
        await busy.add_message(new_dialog(message(T0, message_id="SM-1")))
    impatient = await open_store(duplicate_wait=0.2)

    started = time.monotonic()
    with pytest.raises(StoreUnavailable, match="still being stored"):
        await impatient.add_message(new_dialog(message(T0, message_id="SM-1")))
    assert time.monotonic() - started < 2
    assert await impatient.find_dialogs(contact_id=CONTACT) == []


class PausingStore(MongoStore):
    """A slow copy: stops at named steps of add_message until told to go on."""

    def __init__(self, url: str, **options: Any) -> None:
        super().__init__(url, **options)
        self.reached = {step: asyncio.Event() for step in ("decided", "opened")}
        self.go_on = {step: asyncio.Event() for step in ("decided", "opened")}

    async def pause(self, step: str) -> None:
        self.reached[step].set()
        await self.go_on[step].wait()

    async def _decide(self, new: NewDialog) -> Any:
        decision = await super()._decide(new)
        await self.pause("decided")  # decided, not yet recorded
        return decision

    async def _open_dialog(self, dialog: Dialog, seq: int) -> Dialog | None:
        opened = await super()._open_dialog(dialog, seq)
        await self.pause("opened")  # recorded and carried out, not yet marked done
        return opened


class RacingRetry(MongoStore):
    """A retry that read the slow copy's claim before its decision was recorded, and takes over after."""

    slow: PausingStore
    slow_storing: asyncio.Task[IngestResult]

    async def _take_over(self, doc: dict[str, Any]) -> str | None:
        self.slow.go_on["decided"].set()
        await self.slow.reached["opened"].wait()
        token = await super()._take_over(doc)
        self.slow.go_on["opened"].set()  # the slow copy finishes: a failed takeover then reads it done
        await self.slow_storing
        return token


async def test_a_retry_does_not_take_over_a_decision_recorded_after_it_read_the_claim(open_store: OpenStore) -> None:
    slow = cast(PausingStore, await open_store(PausingStore))
    async with asyncio.timeout(20):
        storing = asyncio.create_task(slow.add_message(new_dialog(message(T0, message_id="SM-1"), chats=[5])))
        await slow.reached["decided"].wait()
        retry = cast(
            RacingRetry, await open_store(RacingRetry, claim_timeout=0)
        )  # the slow copy's claim counts as stale at once
        retry.slow, retry.slow_storing = slow, storing

        retried = await retry.add_message(new_dialog(message(T0, message_id="SM-1"), chats=[5]))
        first = await storing

    assert first.outcome is IngestOutcome.NEW_DIALOG
    assert retried.outcome is IngestOutcome.DUPLICATE and retried.dialog.id == first.dialog.id
    (dialog,) = await retry.find_dialogs(contact_id=CONTACT)
    assert dialog.id == first.dialog.id and dialog.message_count == 1
    assert await queued_alerts(retry) == [(5, dialog.id)]


class HourAhead(datetime):
    """The clock of a copy running an hour fast."""

    @classmethod
    def now(cls, tz: tzinfo | None = None) -> HourAhead:
        return cast(HourAhead, datetime.now(tz) + timedelta(hours=1))


async def test_a_copy_whose_clock_runs_fast_does_not_take_over_a_fresh_claim(
    open_store: OpenStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    busy = await open_store(DyingStore, dies="deciding")  # leaves the message claimed a moment ago
    with pytest.raises(CopyDied):
        await busy.add_message(new_dialog(message(T0, message_id="SM-1")))
    monkeypatch.setattr("tracking.store.mongo.datetime", HourAhead)  # staleness is the server's to judge
    fast = await open_store(duplicate_wait=0.2)

    with pytest.raises(StoreUnavailable, match="still being stored"):
        await fast.add_message(new_dialog(message(T0, message_id="SM-1")))
    assert await fast.find_dialogs(contact_id=CONTACT) == []


class CommandLog(monitoring.CommandListener):
    """The commands a client sends: name and the server-side time limit it carries (maxTimeMS)."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, int | None]] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        self.sent.append((event.command_name, event.command.get("maxTimeMS")))

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


class ListenedStore(MongoStore):
    """A copy whose client logs every command it sends."""

    def __init__(self, url: str, **options: Any) -> None:
        super().__init__(url, **options)
        self.log = CommandLog()

    def _new_client(self, **options: Any) -> Any:
        return super()._new_client(**options, event_listeners=[self.log])


def sent(store: MongoStore, name: str) -> list[int | None]:
    """The time limits of the commands `name` the store sent."""
    return [limit for command, limit in cast(ListenedStore, store).log.sent if command == name]


async def test_a_page_view_is_one_round_trip_first_or_later_within_the_budget_or_past_it(open_store: OpenStore) -> None:
    store = await open_store(ListenedStore)
    log = cast(ListenedStore, store).log
    budget = NewVisitBudget(1, clock=lambda: 60.0 * 1000 + 1)

    async def commands(view: PageView) -> list[str]:
        before = len(log.sent)
        assert await store.record_page_view(view, budget) == view.code
        return [name for name, _ in log.sent[before:]]

    now = datetime.now(UTC).replace(microsecond=0)  # T0 is past the visits' TTL
    first = PageView(code="ABCD1234", visitor_id="visitor-1", url="https://shop.example/", at=now)
    assert await commands(first) == ["update"]  # opens the visit: the budget's one unit
    later = PageView(code="ABCD1234", visitor_id="visitor-1", url="https://shop.example/price", at=now)
    assert await commands(later) == ["update"]  # merged with no unit left
    budget.per_minute = 2
    assert await commands(later) == ["update"]  # merged with a unit reserved and given back

    visit = await store.get_visit("ABCD1234")
    assert visit is not None and visit.pages_seen == 3 and visit.current_page == later.url
    assert budget.refused == 0 and budget.take() and not budget.take()  # one visit spent one unit


async def test_a_first_view_beaten_by_its_twin_merges_and_gives_its_unit_back(
    open_store: OpenStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two first views of one visit at once on a real MongoDB: both upserts insert, one fails on _id. The
    emulator runs them one after the other, so the race is staged: the twin opens the visit just before."""
    store = await open_store()
    budget = NewVisitBudget(2, clock=lambda: 60.0 * 1000 + 1)
    now = datetime.now(UTC).replace(microsecond=0)
    twin = PageView(code="ABCD1234", visitor_id="visitor-1", url="https://shop.example/", at=now)
    view = PageView(code="ABCD1234", visitor_id="visitor-1", url="https://shop.example/price", at=now)
    update_one = AsyncCollection.update_one
    raced: list[bool] = []

    async def beaten(self: AsyncCollection[Any], filter: Any, update: Any, upsert: bool = False, **kwargs: Any) -> Any:
        if upsert and not raced:
            raced.append(True)
            await store.record_page_view(twin, budget)
            raise DuplicateKeyError("E11000 duplicate key error collection: visits index: _id_", 11000)
        return await update_one(self, filter, update, upsert=upsert, **kwargs)

    monkeypatch.setattr(AsyncCollection, "update_one", beaten)

    assert await store.record_page_view(view, budget) == "ABCD1234"

    visit = await store.get_visit("ABCD1234")
    assert raced and visit is not None and visit.pages_seen == 2 and visit.current_page == view.url
    assert budget.take() and not budget.take()  # the twin's visit spent one unit of two


async def test_indexes_are_built_once_not_by_every_copy_that_starts(open_store: OpenStore) -> None:
    first = await open_store(ListenedStore)
    again = await open_store(ListenedStore)  # another worker, or a restart
    longer = await open_store(ListenedStore, retention_days=30)  # a changed retention is applied

    assert sent(first, "createIndexes") and sent(again, "createIndexes") == []
    assert sent(longer, "createIndexes")
    visits = index_keys(await longer.db.visits.index_information())
    assert visits[("last_seen",)]["expireAfterSeconds"] == 30 * 86400
    meta = await again.db.meta.find_one({"_id": "schema_version"})
    assert meta is not None and meta["value"] == SCHEMA_VERSION and meta["retention_seconds"] == 30 * 86400


async def test_erasure_has_its_own_longer_time_limit_and_requests_keep_theirs(open_store: OpenStore) -> None:
    store = await open_store(ListenedStore, timeout=2.0, erase_timeout=300.0)
    await store.add_message(new_dialog(message(T0)))
    lookups = [limit for limit in sent(store, "find") if limit is not None]
    before = len(sent(store, "delete"))  # opening a dialog deletes its report-count mark (mongo_counts)

    assert await store.forget_contact(CONTACT) == 1

    assert lookups and max(lookups) <= 2000  # the server is told to stop an ordinary request after 2 s
    deletes = [limit for limit in sent(store, "delete")[before:] if limit is not None]
    assert len(deletes) == len(sent(store, "delete")[before:]) and min(deletes) > 250_000


async def test_a_full_pool_makes_a_request_fail_within_the_timeout(database_url: str) -> None:
    store = MongoStore(database_url + ("&" if "?" in database_url else "?") + "maxPoolSize=1", timeout=1.0)
    await store.open()
    await store.db.outbox.insert_many([{"n": n} for n in range(50)])
    # An exhaust cursor holds its connection until it is read to the end: the pool's only one.
    holding = store.db.outbox.find({}, cursor_type=CursorType.EXHAUST, batch_size=5)
    try:
        await anext(holding)
        started = time.monotonic()
        async with asyncio.timeout(10):
            with pytest.raises(StoreUnavailable):
                await store.get_dialog("D1")
        assert time.monotonic() - started < 3
    finally:
        await holding.close()
        await store.close()


async def test_options_in_the_connection_string_win_over_chattracks_defaults() -> None:
    short = "serverSelectionTimeoutMS=200&connectTimeoutMS=200"
    store = MongoStore(f"mongodb://127.0.0.1:{free_port()}/chattrack?{short}", timeout=30.0)

    started = time.monotonic()
    async with asyncio.timeout(10):
        with pytest.raises(StoreUnavailable):
            await store.open()
    assert time.monotonic() - started < 3
    await store.close()


def test_the_url_options_are_read_case_insensitively() -> None:
    given = client_options("mongodb://db/chattrack?TIMEOUTMS=9000&replicaSet=rs0", 5.0)

    assert given == {"serverSelectionTimeoutMS": 5000, "connectTimeoutMS": 5000}
    assert client_options("mongodb+srv://cluster0.example.net/chattrack", 2.5)["timeoutMS"] == 2500
    # timeoutMS would override a per-step timeout the URL sets: then chattrack adds none
    assert "timeoutMS" not in client_options("mongodb://db/chattrack?socketTimeoutMS=20000", 5.0)


async def seeded_dialogs(store: MongoStore) -> None:
    """A few dialogs and messages: the planner of an empty or missing collection answers EOF."""
    for n in range(6):
        tags = ["vip"] if n % 2 else []
        sent_at = T0 + timedelta(days=n)
        await store.add_message(new_dialog(message(sent_at, contact=f"+7916000000{n}"), tags=tags))


async def test_forget_finds_the_contacts_messages_through_an_index(open_store: OpenStore) -> None:
    store = await open_store()
    await seeded_dialogs(store)

    assert await find_plan(store.db.messages, {"contact_id": CONTACT}) == [("IXSCAN", ("contact_id",))]


async def test_forget_reads_messages_through_indexes_only(
    open_store: OpenStore, mongodb: MongoServer, request: pytest.FixtureRequest
) -> None:
    if mongodb.emulator:
        request.applymarker(pytest.mark.xfail(strict=True, reason="nx-27017 plans a collection scan for any $or"))
    store = await open_store()
    await seeded_dialogs(store)

    steps = await find_plan(store.db.messages, forgotten_messages(CONTACT, ["D1", "D2"]))

    assert sorted(steps) == [("IXSCAN", ("contact_id",)), ("IXSCAN", ("dialog_id",))]


PERIOD = {"start": T0, "end": T0 + timedelta(days=31)}
REPORT_QUERIES = {
    "period": CountQuery(**PERIOD, bucket=Bucket.DAY),
    "channel": CountQuery(**PERIOD, group_by=["source"], filters={"channel": "paid_search"}),
    "tag": CountQuery(**PERIOD, group_by=["channel"], filters={"tag": "vip"}),
    "tag, by tag": CountQuery(**PERIOD, group_by=["tag"], filters={"tag": "vip"}),
    "no probable": CountQuery(**PERIOD, filters={"channel": "direct"}, include_probable=False),
}


@pytest.mark.parametrize("name", REPORT_QUERIES)
async def test_reports_read_the_period_through_an_index(open_store: OpenStore, name: str) -> None:
    store = await open_store()
    await seeded_dialogs(store)
    first = count_pipeline(REPORT_QUERIES[name])[0]

    steps = await find_plan(store.db.dialogs, first["$match"])

    assert steps and all(stage == "IXSCAN" for stage, _ in steps), describe(steps)
