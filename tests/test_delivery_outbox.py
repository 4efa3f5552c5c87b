"""Deliveries leave the persisted outbox through integrations/outbox.py: once each, retried with backoff, given up
with the reason, never lost across a restart, a store outage or two copies of the server sharing one store."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from integrations.base import Delivered, Outgoing
from integrations.metrica import MetricaSender
from integrations.outbox import LEASE, DeliveryDispatcher, backoff
from tests.fakes.metrica_api import FakeMetricaAPI
from tests.seed import seed_dialog
from tracking.models import (
    EVENT_OUT,
    LEAD_ALERT,
    METRICA,
    Attribution,
    DeliveryOutcome,
    Dialog,
    Goal,
    OutboxItem,
    Visit,
)
from tracking.settings import Settings
from tracking.store.base import StoreUnavailable
from tracking.store.sqlite import SQLiteStore

START = datetime(2026, 11, 27, 9, 30, tzinfo=UTC)
YM_ID = "1700000000123456789"


class FakeClock:
    def __init__(self, now: datetime = START) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


class Recorder:
    """A sender that answers what it is told, item by item, and records every item it was given."""

    def __init__(self, kind: str = METRICA, batch_size: int = 10) -> None:
        self.kind = kind
        self.batch_size = batch_size
        self.sent: list[str] = []
        self.batches: list[list[str]] = []
        self.answers: list[Delivered] = []  # the next answers, in order; then SENT
        self.raises: Exception | None = None
        self.called = asyncio.Event()
        self.gate: asyncio.Event | None = None  # set: each send waits for it (a send in flight)

    async def send(self, batch: Sequence[Outgoing]) -> list[Delivered]:
        self.batches.append([o.item.id for o in batch])
        self.called.set()
        if self.gate is not None:
            await self.gate.wait()
        await asyncio.sleep(0)  # let another copy of the dispatcher run in between
        if self.raises is not None:
            raise self.raises
        results = []
        for outgoing in batch:
            answer = self.answers.pop(0) if self.answers else Delivered(DeliveryOutcome.SENT, None)
            if answer.outcome is DeliveryOutcome.SENT:
                self.sent.append(outgoing.item.id)
            results.append(answer)
        return results


def visit(last_seen: datetime = START) -> Visit:
    return Visit(
        code="7K3M9QE",
        visitor_id="v1",
        first_seen=last_seen - timedelta(minutes=5),
        last_seen=last_seen,
        attribution=Attribution(),
        ym_client_id=YM_ID,
    )


async def queue(store: SQLiteStore, count: int = 1, *, kind: str = METRICA, last_seen: datetime = START) -> list[str]:
    """`count` dialogs with a visit, each with one conversion of `kind` due now; their item ids."""
    ids = []
    for _ in range(count):
        dialog = await seed_dialog(store, START - timedelta(minutes=5), visit=visit(last_seen))
        ids.append(await queue_item(store, dialog, kind=kind))
    return ids


async def queue_item(store: SQLiteStore, dialog: Dialog, *, kind: str = METRICA, **fields: Any) -> str:
    item = OutboxItem(
        id=f"{kind}:lead:{dialog.id}",
        dialog_id=dialog.id,
        kind=kind,
        next_attempt_at=START,
        created_at=START,
        goal=Goal.LEAD,
        happened_at=dialog.started_at,
        **fields,
    )
    assert await store.queue_deliveries([item]) == 1
    return item.id


async def outcomes(store: SQLiteStore, ids: Sequence[str]) -> dict[str, DeliveryOutcome | None]:
    found: dict[str, DeliveryOutcome | None] = {}
    for item_id in ids:
        dialog_id = item_id.rsplit(":", 1)[1]
        for item in await store.dialog_deliveries(dialog_id):
            found[item.id] = item.outcome
    return found


async def item_of(store: SQLiteStore, item_id: str) -> OutboxItem:
    [item] = [i for i in await store.dialog_deliveries(item_id.rsplit(":", 1)[1]) if i.id == item_id]
    return item


async def test_each_due_item_is_sent_once_in_batches_and_kept_with_its_outcome(store: SQLiteStore) -> None:
    ids = await queue(store, 5)
    sender, clock, seen = Recorder(batch_size=2), FakeClock(), Counter[tuple[str, str]]()
    dispatcher = DeliveryDispatcher(store, [sender], clock=clock, observers=[lambda k, o: seen.update([(k, o)])])
    assert await dispatcher.run_once() == 5
    assert sorted(sender.sent) == sorted(ids)
    assert [len(batch) for batch in sender.batches] == [2, 2, 1]
    clock.advance(3600)
    assert await dispatcher.run_once() == 0  # done items are never claimed again
    assert len(sender.sent) == 5
    for item_id in ids:
        item = await item_of(store, item_id)
        assert (item.outcome, item.sent_at) == (DeliveryOutcome.SENT, START)
    assert seen == Counter({(METRICA, "sent"): 5})
    assert await store.pending_alerts(kinds=(METRICA,)) == 0


async def test_a_sender_gets_only_its_own_kind_and_alerts_are_left_to_the_bot(store: SQLiteStore) -> None:
    metrica = await queue(store, 1, kind=METRICA)
    events = await queue(store, 1, kind=EVENT_OUT)
    senders = [Recorder(METRICA), Recorder(EVENT_OUT)]
    await DeliveryDispatcher(store, senders, clock=FakeClock()).run_once()
    assert (senders[0].sent, senders[1].sent) == (metrica, events)
    claimed = await store.claim_alerts(START, LEASE, kinds=(LEAD_ALERT,))
    assert all(item.kind == LEAD_ALERT for item in claimed)


async def test_a_retry_waits_the_backoff_and_doubles_it_each_time(store: SQLiteStore) -> None:
    [item_id] = await queue(store)
    sender, clock = Recorder(), FakeClock()
    sender.answers = [Delivered(None, "http_error: 503"), Delivered(None, "http_error: 503")]
    dispatcher = DeliveryDispatcher(store, [sender], clock=clock, retry_base=60, retry_max=3600)
    await dispatcher.run_once()
    item = await item_of(store, item_id)
    assert (item.outcome, item.next_attempt_at, item.last_error) == (
        None,
        START + timedelta(seconds=60),
        "http_error: 503",
    )
    clock.advance(59)
    await dispatcher.run_once()
    assert len(sender.batches) == 1  # not due yet
    clock.advance(1)
    await dispatcher.run_once()
    assert len(sender.batches) == 2
    assert (await item_of(store, item_id)).next_attempt_at == clock.now + timedelta(seconds=120)
    clock.advance(120)
    await dispatcher.run_once()
    assert sender.sent == [item_id]
    assert backoff(30, 60, 3600) == 3600  # capped


async def test_the_systems_retry_after_is_waited_exactly(store: SQLiteStore) -> None:
    [item_id] = await queue(store)
    sender, clock = Recorder(), FakeClock()
    sender.answers = [Delivered(None, "quota", retry_after=7200)]
    await DeliveryDispatcher(store, [sender], clock=clock, retry_max=3600).run_once()
    assert (await item_of(store, item_id)).next_attempt_at == START + timedelta(seconds=7200)


async def test_a_sender_that_raises_has_its_whole_batch_retried(store: SQLiteStore) -> None:
    ids = await queue(store, 3)
    sender, clock = Recorder(), FakeClock()
    sender.raises = RuntimeError("boom")
    dispatcher = DeliveryDispatcher(store, [sender], clock=clock, retry_base=60)
    assert await dispatcher.run_once() == 0
    for item_id in ids:
        item = await item_of(store, item_id)
        assert (item.outcome, item.last_error) == (None, "error: RuntimeError: boom")
    sender.raises = None
    clock.advance(60)
    assert await dispatcher.run_once() == 3
    assert sorted(sender.sent) == sorted(ids)


async def test_an_erased_dialog_or_a_removed_sale_is_skipped_unsent(store: SQLiteStore) -> None:
    from decimal import Decimal

    from tracking.models import Sale

    dialog = await seed_dialog(store, START, visit=visit())
    sale = Sale(id="s1", amount=Decimal(100), currency="RUB", at=START)
    assert await store.add_sale(dialog.id, sale) is not None
    item_id = await queue_item(store, dialog, sale_id="s1")
    assert await store.remove_sale(dialog.id, "s1") is not None
    sender = Recorder()
    assert await DeliveryDispatcher(store, [sender], clock=FakeClock()).run_once() == 1
    assert sender.batches == []
    item = await item_of(store, item_id)
    assert (item.outcome, item.last_error) == (DeliveryOutcome.SKIPPED, "sale_removed")


async def test_a_dialog_gone_from_the_store_is_skipped(store: SQLiteStore) -> None:
    [item_id] = await queue(store)

    class Erased:  # the dialog read back as gone (erased between queueing and sending)
        def __getattr__(self, name: str) -> Any:
            return getattr(store, name)

        async def get_dialog(self, dialog_id: str) -> None:
            return None

    sender = Recorder()
    assert await DeliveryDispatcher(Erased(), [sender], clock=FakeClock()).run_once() == 1
    assert sender.batches == []
    assert (await item_of(store, item_id)).outcome is DeliveryOutcome.SKIPPED


# with Metrica's double: refusals, too late, 429 ------------------------------------------------------------


@pytest.fixture
async def metrica(store: SQLiteStore) -> AsyncIterator[tuple[FakeMetricaAPI, aiohttp.ClientSession]]:
    async with FakeMetricaAPI() as api, aiohttp.ClientSession() as http:
        yield api, http


def metrica_sender(
    api: FakeMetricaAPI, http: aiohttp.ClientSession, clock: FakeClock, **overrides: Any
) -> MetricaSender:
    values: dict[str, Any] = {"metrica_counter_id": api.counter, "metrica_token": api.token, "metrica_api_url": api.url}
    values.update(overrides)
    return MetricaSender(Settings(**values), http, clock=clock)


async def test_metrica_conversions_go_once_and_a_429_waits_its_retry_after(
    store: SQLiteStore, metrica: tuple[FakeMetricaAPI, aiohttp.ClientSession]
) -> None:
    api, http = metrica
    ids = await queue(store, 2)
    clock = FakeClock()
    dispatcher = DeliveryDispatcher(store, [metrica_sender(api, http, clock)], clock=clock)
    api.fail_next(429, "Превышена квота на количество запросов к счётчику", retry_after="90")
    assert await dispatcher.run_once() == 0
    assert (await item_of(store, ids[0])).next_attempt_at == START + timedelta(seconds=90)
    clock.advance(90)
    assert await dispatcher.run_once() == 2
    assert len(api.uploads) == 1 and len(api.rows) == 2
    clock.advance(3600)
    await dispatcher.run_once()
    assert len(api.rows) == 2  # once
    assert set((await outcomes(store, ids)).values()) == {DeliveryOutcome.SENT}


async def test_a_wrong_token_gives_metrica_up_with_the_reason(
    store: SQLiteStore, metrica: tuple[FakeMetricaAPI, aiohttp.ClientSession]
) -> None:
    api, http = metrica
    [item_id] = await queue(store)
    clock = FakeClock()
    dispatcher = DeliveryDispatcher(store, [metrica_sender(api, http, clock, metrica_token="revoked")], clock=clock)
    assert await dispatcher.run_once() == 1
    item = await item_of(store, item_id)
    assert (item.outcome, item.last_error) == (DeliveryOutcome.REFUSED, "invalid_token")
    clock.advance(86400)
    await dispatcher.run_once()
    assert api.requests == 1  # never asked again


async def test_a_visit_past_metricas_window_is_too_late_and_never_sent(
    store: SQLiteStore, metrica: tuple[FakeMetricaAPI, aiohttp.ClientSession]
) -> None:
    api, http = metrica
    [item_id] = await queue(store, last_seen=START - timedelta(days=22))
    clock = FakeClock()
    await DeliveryDispatcher(store, [metrica_sender(api, http, clock)], clock=clock).run_once()
    assert (await item_of(store, item_id)).outcome is DeliveryOutcome.TOO_LATE
    assert api.requests == 0


# restarts, outages, several copies -------------------------------------------------------------------------


async def test_a_restart_mid_batch_loses_none_and_sends_none_twice(store: SQLiteStore) -> None:
    ids = await queue(store, 5)
    sender, clock = Recorder(batch_size=2), FakeClock()
    sender.gate = asyncio.Event()
    first = DeliveryDispatcher(store, [sender], clock=clock, interval=3600)
    first.start()
    await asyncio.wait_for(sender.called.wait(), 5)  # the first batch is in flight
    stopping = asyncio.create_task(first.stop(grace=5))
    await asyncio.sleep(0)
    sender.gate.set()  # … and finishes: its outcome is stored before the loop ends
    await stopping
    assert len(sender.sent) == 2
    stored = list((await outcomes(store, ids)).values())
    assert (stored.count(DeliveryOutcome.SENT), stored.count(None)) == (2, 3)
    # the next start (same clock: no lease has run out) sends the rest, and only the rest
    second = DeliveryDispatcher(store, [sender], clock=clock)
    assert await second.run_once() == 3
    assert sorted(sender.sent) == sorted(ids)
    assert Counter(sender.sent).most_common(1)[0][1] == 1


async def test_a_copy_that_dies_mid_send_leaves_its_batch_to_the_next_after_the_lease(store: SQLiteStore) -> None:
    ids = await queue(store, 2)
    stuck, clock = Recorder(), FakeClock()
    stuck.gate = asyncio.Event()  # never opened: the copy dies with the send in flight
    first = DeliveryDispatcher(store, [stuck], clock=clock, interval=3600)
    first.start()
    await asyncio.wait_for(stuck.called.wait(), 5)
    await first.stop(grace=0)
    sender = Recorder()
    second = DeliveryDispatcher(store, [sender], clock=clock)
    assert await second.run_once() == 0  # still leased to the dead copy
    clock.advance(LEASE.total_seconds())
    assert await second.run_once() == 2
    assert sorted(sender.sent) == sorted(ids)


class Outage:
    """The store, unreachable while `down` (each call raises StoreUnavailable, as a lost database does)."""

    def __init__(self, store: SQLiteStore) -> None:
        self.store = store
        self.down = False
        self.refused = asyncio.Event()  # set once a call met the outage

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self.store, name)
        if not callable(attribute):
            return attribute

        async def call(*args: Any, **kwargs: Any) -> Any:
            if self.down:
                self.refused.set()
                raise StoreUnavailable("database is away")
            return await attribute(*args, **kwargs)

        return call


async def test_a_store_outage_waits_for_the_next_pass_and_loses_nothing(store: SQLiteStore) -> None:
    ids = await queue(store, 2)
    outage, sender, clock = Outage(store), Recorder(), FakeClock()
    outage.down = True
    dispatcher = DeliveryDispatcher(outage, [sender], clock=clock, interval=3600)
    with pytest.raises(StoreUnavailable):
        await dispatcher.run_once()
    outage.refused.clear()
    dispatcher.start()  # the loop meets the outage and outlives it …
    try:
        await asyncio.wait_for(outage.refused.wait(), 5)
        assert sender.batches == []
        outage.down = False
        dispatcher.kick()  # … and the next pass sends
        await asyncio.wait_for(sender.called.wait(), 5)
    finally:
        await dispatcher.stop()
    assert sorted(sender.sent) == sorted(ids)
    assert set((await outcomes(store, ids)).values()) == {DeliveryOutcome.SENT}


async def test_an_outage_after_the_send_sends_again_after_the_lease_never_loses(store: SQLiteStore) -> None:
    [item_id] = await queue(store)
    outage, clock = Outage(store), FakeClock()

    class DownAfterSend(Recorder):
        async def send(self, batch: Sequence[Outgoing]) -> list[Delivered]:
            results = await super().send(batch)
            outage.down = True  # the outcome cannot be stored
            return results

    sender = DownAfterSend()
    dispatcher = DeliveryDispatcher(outage, [sender], clock=clock)
    with pytest.raises(StoreUnavailable):
        await dispatcher.run_once()
    outage.down = False
    assert (await item_of(store, item_id)).outcome is None  # not lost: still waiting
    clock.advance(LEASE.total_seconds())
    plain = Recorder()
    assert await DeliveryDispatcher(store, [plain], clock=clock).run_once() == 1
    assert plain.sent == [item_id]  # at least once


async def test_two_copies_sharing_one_store_send_each_item_once(store: SQLiteStore, tmp_path: Path) -> None:
    ids = await queue(store, 12)
    other = SQLiteStore(tmp_path / "chattrack.db")  # the second server's own connection to the same file
    await other.open()
    try:
        a, b = Recorder(batch_size=2), Recorder(batch_size=2)
        clock = FakeClock()
        first = DeliveryDispatcher(store, [a], clock=clock)
        second = DeliveryDispatcher(other, [b], clock=clock)
        done = await asyncio.gather(first.run_once(), second.run_once())
    finally:
        await other.close()
    assert sum(done) == 12
    assert sorted(a.sent + b.sent) == sorted(ids)
    assert a.sent and b.sent  # both took part


async def test_the_server_sends_metrica_conversions_and_counts_them_in_metrics(
    start_server: Any, http: aiohttp.ClientSession
) -> None:
    from webhooks.background import DELIVERIES

    async with FakeMetricaAPI() as api:
        server = await start_server(
            metrics_access="public",
            metrica_counter_id=api.counter,
            metrica_token=api.token,
            metrica_api_url=api.url,
            conversions_interval_seconds=3600,  # only the kick below sends within the test
        )
        now = datetime.now(UTC)
        dialog = await seed_dialog(server.store, now - timedelta(minutes=2), visit=visit(now - timedelta(minutes=3)))
        item = OutboxItem(
            id=f"{METRICA}:lead:{dialog.id}",
            dialog_id=dialog.id,
            kind=METRICA,
            next_attempt_at=now,
            created_at=now,
            goal=Goal.LEAD,
            happened_at=dialog.started_at,
        )
        await server.store.queue_deliveries([item])
        server.app[DELIVERIES].kick()
        [row] = await api.wait_for_rows(1)
        assert (row["ClientId"], row["Target"]) == (YM_ID, "chattrack_lead")
        await server.app[DELIVERIES].stop()  # finishes the batch in flight: its outcome is stored
        assert (await server.store.dialog_deliveries(dialog.id))[0].outcome is DeliveryOutcome.SENT
        async with http.get(server.url + "/metrics") as response:
            body = await response.text()
    assert 'chattrack_deliveries_total{kind="metrica",outcome="sent"} 1.0' in body
    assert 'chattrack_deliveries_pending{kind="metrica"} 0.0' in body
