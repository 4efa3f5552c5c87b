"""Ad spend (issue 19): costs saved by (origin, day, source, campaign id or name, ad), replaced by a re-import
rather than added twice, read back exactly (Decimal, never float) for a period of days."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from tests.mongo_server import MongoServer
from tests.store_contract import MakeStore
from tracking.models import Cost
from tracking.store.base import CostRow, Store
from tracking.store.mongo import MongoStore


def cost(
    day: str,
    amount: str,
    *,
    campaign: str = "Ремонт кухонь",
    campaign_id: str | None = None,
    ad_id: str | None = None,
    source: str = "yandex",
    origin: str = "direct",
) -> Cost:
    return Cost(
        day=date.fromisoformat(day),
        source=source,
        campaign=campaign,
        campaign_id=campaign_id,
        ad_id=ad_id,
        amount=Decimal(amount),
        currency="RUB",
        origin=origin,
    )


async def test_costs_come_back_exact_for_the_days_asked_in_order(store: Store) -> None:
    saved = [
        cost("2026-11-02", "1234.56", campaign="Б", campaign_id="17"),
        cost("2026-11-01", "0.01", campaign="А", source="vk", origin="file"),
        cost("2026-11-01", "99999999999.99", campaign="А"),
        cost("2026-11-03", "5", campaign="В"),  # outside [1, 3)
        cost("2026-10-31", "7", campaign="Г"),  # outside
    ]

    written = await store.save_costs(saved)

    assert written == 5
    rows = await store.cost_rows(date(2026, 11, 1), date(2026, 11, 3))
    # by day, then source ("vk" before "yandex"), then campaign; plain rows with every field as saved
    assert rows == [CostRow(**saved[i].model_dump()) for i in (1, 2, 0)]
    assert [r.amount for r in rows] == [Decimal("0.01"), Decimal("99999999999.99"), Decimal("1234.56")]
    assert all(isinstance(r.amount, Decimal) for r in rows)
    assert str(rows[2].amount) == "1234.56"


async def test_a_reimport_of_a_day_replaces_its_figures_never_adds_them(store: Store) -> None:
    await store.save_costs([cost("2026-11-01", "100", campaign_id="17", ad_id="900"), cost("2026-11-01", "50")])

    await store.save_costs([cost("2026-11-01", "130.40", campaign="Кухни (новое имя)", campaign_id="17", ad_id="900")])

    rows = await store.cost_rows(date(2026, 11, 1), date(2026, 11, 2))
    assert sorted((r.campaign, r.campaign_id, r.ad_id, r.amount) for r in rows) == [
        ("Кухни (новое имя)", "17", "900", Decimal("130.40")),  # known by its id: the new name replaces the old
        ("Ремонт кухонь", None, None, Decimal("50")),
    ]
    assert sum(r.amount for r in rows) == Decimal("180.40")


async def test_rows_differing_in_origin_source_ad_or_campaign_are_kept_apart(store: Store) -> None:
    day = "2026-11-01"
    distinct = [
        cost(day, "1"),
        cost(day, "2", origin="file"),
        cost(day, "3", source="vk"),
        cost(day, "4", ad_id="900"),
        cost(day, "5", ad_id="901"),
        cost(day, "6", campaign="Другая"),
        cost(day, "7", campaign_id="17"),
    ]

    assert await store.save_costs(distinct) == 7

    rows = await store.cost_rows(date(2026, 11, 1), date(2026, 11, 2))
    assert sorted(r.amount for r in rows) == [Decimal(n) for n in "1234567"]


async def test_one_key_twice_in_a_batch_keeps_the_last(store: Store) -> None:
    written = await store.save_costs([cost("2026-11-01", "10"), cost("2026-11-01", "12.5")])

    assert written == 1
    assert [r.amount for r in await store.cost_rows(date(2026, 11, 1), date(2026, 11, 2))] == [Decimal("12.5")]


async def test_nothing_to_save_writes_nothing(store: Store) -> None:
    assert await store.save_costs([]) == 0
    assert await store.cost_rows(date(2000, 1, 1), date(2100, 1, 1)) == []


async def test_another_copy_reads_what_one_saved_and_concurrent_imports_do_not_mix(make_store: MakeStore) -> None:
    one, two = await make_store(), await make_store()
    days = [f"2026-11-{d:02d}" for d in range(1, 29)]

    await asyncio.gather(
        one.save_costs([cost(d, "1.10", campaign_id="17") for d in days]),
        two.save_costs([cost(d, "2.20", campaign_id="18") for d in days]),
    )

    rows = await one.cost_rows(date(2026, 11, 1), date(2026, 12, 1))
    assert len(rows) == 56
    assert sum(r.amount for r in rows) == Decimal("92.40")


@pytest.fixture
async def mongo_store(mongodb: MongoServer) -> AsyncIterator[MongoStore]:
    name = f"chattrack_test_{uuid.uuid4().hex[:12]}"
    store = MongoStore(mongodb.database_url(name))
    await store.open()
    yield store
    await store.close()
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongodb.url)
    await client.drop_database(name)
    await client.close()


async def test_mongo_completes_a_save_whose_writer_died_after_its_journal(mongo_store: MongoStore) -> None:
    """All or nothing without transactions: the batch is journalled as one document first; a copy dying
    before applying it leaves the journal, and the next read applies it whole."""
    store = mongo_store
    await store.save_costs([cost("2026-11-01", "100", campaign_id="17")])
    applied: list[str] = []
    original = store._apply_cost_batch

    async def dies_before_applying(batch: dict[str, Any]) -> None:
        applied.append(str(batch["_id"]))
        raise ConnectionError("the copy died")

    store._apply_cost_batch = dies_before_applying  # type: ignore[method-assign]
    with pytest.raises(ConnectionError):
        await store.save_costs([cost("2026-11-01", "150", campaign_id="17"), cost("2026-11-02", "30")])
    store._apply_cost_batch = original  # type: ignore[method-assign]
    assert [doc["amount"] for doc in await store.db.costs.find({}).to_list()] == ["100"]  # none of the new batch yet

    rows = await store.cost_rows(date(2026, 11, 1), date(2026, 11, 3))

    assert len(applied) == 1
    assert [(str(r.day), r.amount) for r in rows] == [("2026-11-01", Decimal("150")), ("2026-11-02", Decimal("30"))]
    assert await store.db.cost_batches.count_documents({}) == 0


async def test_mongo_an_old_journal_applied_late_never_undoes_a_newer_import(mongo_store: MongoStore) -> None:
    store = mongo_store
    await store.save_costs([cost("2026-11-01", "200", campaign_id="17")])
    newer = await store.db.costs.find_one({})
    assert newer is not None
    row = {name: value for name, value in newer.items() if name != "seq"} | {"amount": "1"}
    await store.db.cost_batches.insert_one({"_id": "00000000000000000001-old", "rows": [row]})

    rows = await store.cost_rows(date(2026, 11, 1), date(2026, 11, 2))

    assert [r.amount for r in rows] == [Decimal("200")]
    assert await store.db.cost_batches.count_documents({}) == 0
