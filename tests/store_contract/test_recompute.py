"""Recomputing the stored local buckets when the business's time zone changes."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest

from tests.store_contract import at, rows
from tests.store_contract.reports import SEEDS, seed_messages
from tracking.periods import buckets_for
from tracking.recompute import recompute_buckets
from tracking.store.base import Bucket, CountQuery, Store

UTC_ZONE = ZoneInfo("UTC")
START, END = at("2024-01-01 00:00"), at("2028-01-01 00:00")


@pytest.fixture
async def seeded(store: Store) -> Store:
    for new in seed_messages():  # buckets in Europe/Moscow
        await store.add_message(new)
    return store


async def test_a_new_time_zone_rewrites_the_buckets_that_differ(seeded: Store) -> None:
    # D2, D4 and D5 start before midnight in UTC but after it in Moscow; the others stay put.
    assert await recompute_buckets(seeded, UTC_ZONE) == 3

    for dialog in await seeded.list_dialogs(START, END):
        assert dialog.buckets == buckets_for(dialog.started_at, UTC_ZONE)
    assert {d.buckets.day for d in await seeded.list_dialogs(START, END)} == {s.started[:10] for s in SEEDS}
    assert await recompute_buckets(seeded, UTC_ZONE) == 0


async def test_reports_group_by_the_recomputed_buckets(seeded: Store) -> None:
    await recompute_buckets(seeded, UTC_ZONE)

    counts = await seeded.count_dialogs(CountQuery(start=START, end=END, bucket=Bucket.QUARTER))

    assert [(r[1], r[2]) for r in rows(counts)] == [
        ("2024-Q4", 1),  # D8
        ("2026-Q1", 4),  # D1-D4: D4 is 31 March in UTC
        ("2026-Q4", 2),  # D5, D6: D5 is 31 December in UTC
        ("2027-Q1", 1),  # D7
    ]
