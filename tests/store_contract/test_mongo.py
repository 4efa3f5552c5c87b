"""What only the MongoDB adapter has: indexes and schema at open, outages, copies that die half-way."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from datetime import datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any, cast

import pytest
from pymongo import AsyncMongoClient

from tests.mongo_server import MongoServer, emulator, free_port
from tests.store_contract import CONTACT, at, message, new_dialog, queued_alerts
from tracking.models import Dialog, IngestOutcome, IngestResult
from tracking.store.base import CountQuery, NewDialog, StoreUnavailable
from tracking.store.mongo import SCHEMA_VERSION, MongoStore

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
