"""The outbox of lead alerts (leases, retries) and leased once-only jobs."""

from __future__ import annotations

import asyncio
import sqlite3
from contextlib import closing
from datetime import timedelta
from pathlib import Path

import pytest

from tests.store_contract import MakeStore, at, message, new_dialog
from tracking.store.base import Store
from tracking.store.mongo import MongoStore
from tracking.store.sqlite import ts

T0 = at("2026-03-01 10:00")
LEASE = timedelta(minutes=1)
SET_DATE = "a date written by $set comes back as a string without its time zone"


async def queue(
    store: Store, *, minutes: int = 0, chats: list[int] | None = None, contact: str = "+79160000001"
) -> str:
    new = new_dialog(message(T0 + timedelta(minutes=minutes), contact=contact), chats=chats or [7])
    await store.add_message(new)
    return new.draft.id


async def test_due_alerts_are_claimed_oldest_first_up_to_the_limit(store: Store) -> None:
    later = await queue(store, minutes=5, contact="+79160000002")
    first = await queue(store, minutes=0, contact="+79160000001")
    await queue(store, minutes=30, contact="+79160000003")  # not due yet

    claimed = await store.claim_alerts(T0 + timedelta(minutes=10), LEASE, limit=1)
    rest = await store.claim_alerts(T0 + timedelta(minutes=10), LEASE)

    assert [(a.dialog_id, a.attempts, a.next_attempt_at) for a in claimed] == [(first, 1, T0)]
    assert [(a.dialog_id, a.attempts) for a in rest] == [(later, 1)]


async def test_a_leased_alert_is_not_claimed_again_while_the_lease_holds(store: Store) -> None:
    await queue(store)
    assert len(await store.claim_alerts(T0, LEASE)) == 1

    assert await store.claim_alerts(T0, LEASE) == []


async def test_an_expired_lease_frees_the_alert_for_another_copy(store: Store) -> None:
    dialog_id = await queue(store)
    await store.claim_alerts(T0, LEASE)  # its holder dies without reporting

    assert await store.claim_alerts(T0 + LEASE - timedelta(seconds=1), LEASE) == []
    again = await store.claim_alerts(T0 + LEASE, LEASE)

    assert [(a.dialog_id, a.attempts) for a in again] == [(dialog_id, 2)]


async def test_a_sent_alert_is_never_claimed_again(store: Store) -> None:
    await queue(store)
    (item,) = await store.claim_alerts(T0, LEASE)

    await store.alert_sent(item.id, T0 + timedelta(seconds=2))

    assert await store.claim_alerts(T0 + timedelta(days=365), LEASE) == []


@pytest.mark.emulator_xfail(SET_DATE)
async def test_a_failed_alert_waits_for_its_next_attempt(store: Store) -> None:
    dialog_id = await queue(store)
    (item,) = await store.claim_alerts(T0, LEASE)

    await store.alert_failed(item.id, T0 + timedelta(minutes=5), "Bad Gateway" * 100)

    assert await store.claim_alerts(T0 + timedelta(minutes=4), LEASE) == []
    (retry,) = await store.claim_alerts(T0 + timedelta(minutes=5), LEASE)
    assert (retry.dialog_id, retry.attempts, retry.next_attempt_at) == (dialog_id, 2, T0 + timedelta(minutes=5))
    assert retry.last_error is not None and len(retry.last_error) == 500


@pytest.mark.emulator_xfail("count_documents({field: None}) misses documents whose field is null")
async def test_pending_alerts_counts_those_not_sent(store: Store) -> None:
    await queue(store, chats=[1, 2], contact="+79160000001")
    await queue(store, chats=[3], contact="+79160000002")
    assert await store.pending_alerts() == 3
    first, *_ = await store.claim_alerts(T0, LEASE)

    await store.alert_sent(first.id, T0)

    assert await store.pending_alerts() == 2


async def test_two_copies_claiming_together_share_out_each_alert_once(make_store: MakeStore) -> None:
    one, two = await make_store(), await make_store()
    for i in range(15):
        await queue(one, chats=[1, 2], contact=f"+7916000{i:04d}")

    batches = await asyncio.gather(*(s.claim_alerts(T0, LEASE, limit=4) for s in [one, two] * 6))

    claimed = [item.id for batch in batches for item in batch]
    assert len(claimed) == 30 and len(set(claimed)) == 30


JOB = "summary:7:2026-02-28"


async def test_a_job_is_leased_to_exactly_one_of_many_concurrent_claimants(make_store: MakeStore) -> None:
    one, two = await make_store(), await make_store()

    wins = await asyncio.gather(*(s.claim_job(JOB, T0, LEASE) for s in [one, two] * 5))

    assert sorted(wins) == [False] * 9 + [True]
    assert await one.claim_job(JOB, T0 + LEASE - timedelta(seconds=1), LEASE) is False  # the lease holds
    assert await two.claim_job("summary:7:2026-03-01", T0, LEASE) is True  # keys are independent


async def test_an_expired_job_lease_lets_exactly_one_other_copy_claim_it(make_store: MakeStore) -> None:
    one, two = await make_store(), await make_store()
    assert await one.claim_job(JOB, T0, LEASE) is True  # and its holder dies without finishing
    expired = T0 + LEASE

    wins = await asyncio.gather(*(s.claim_job(JOB, expired, LEASE) for s in [two, one] * 5))

    assert sorted(wins) == [False] * 9 + [True]
    assert await one.claim_job(JOB, expired + LEASE - timedelta(seconds=1), LEASE) is False  # the new lease
    assert await two.claim_job(JOB, expired + LEASE, LEASE) is True


async def test_a_finished_job_is_never_claimed_again(make_store: MakeStore) -> None:
    one, two = await make_store(), await make_store()
    assert await one.claim_job(JOB, T0, LEASE) is True

    await one.finish_job(JOB, T0 + timedelta(seconds=3))
    await two.finish_job(JOB, T0 + timedelta(seconds=4))  # finishing again changes nothing

    later = [T0, T0 + LEASE, T0 + timedelta(days=365)]
    assert [await s.claim_job(JOB, t, LEASE) for t in later for s in (one, two)] == [False] * 6


async def test_a_job_finished_without_a_claim_is_never_claimed(store: Store) -> None:
    await store.finish_job(JOB, T0)

    assert await store.claim_job(JOB, T0 + timedelta(days=1), LEASE) is False


async def test_a_job_claimed_before_leases_existed_counts_as_done(
    adapter: str, make_store: MakeStore, tmp_path: Path
) -> None:
    # The old claim meant "sent, or given up": an old key must not be sent again after the upgrade.
    if adapter == "sqlite":  # a file from before leases: the jobs table has no lease_until/done_at
        with closing(sqlite3.connect(tmp_path / "chattrack.db")) as old, old:  # the file make_store opens
            old.execute("CREATE TABLE jobs (key TEXT PRIMARY KEY, claimed_at TEXT NOT NULL)")
            old.execute("INSERT INTO jobs (key, claimed_at) VALUES (?, ?)", (JOB, ts(T0)))
        store = await make_store()
    else:
        store = await make_store()
        assert isinstance(store, MongoStore)
        await store.db.jobs.insert_one({"_id": JOB, "claimed_at": T0})
    again = await make_store()  # a second open of the upgraded database changes nothing

    assert await store.claim_job(JOB, T0 + timedelta(days=365), LEASE) is False
    assert await again.claim_job(JOB, T0 + timedelta(days=365), LEASE) is False
    assert await store.claim_job("summary:7:2026-03-01", T0, LEASE) is True  # new keys are leased as usual
    assert await again.claim_job("summary:7:2026-03-01", T0 + LEASE, LEASE) is True
