"""New or repeat customer as a report field (customer=new|repeat): grouped by and filtered by in both stores.
Every rollup row keeps its dialogs and its repeat ones, so a query any shape serves is answered from the rows
(new = dialogs − repeat), exactly as a count of the dialogs; the dialog keeps it as is_repeat."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from tests.store_contract import at, expect, message, new_dialog, rows
from tests.store_contract.test_counts import GROUPED
from tests.store_contract.test_money_store import PUSH_DATE
from tracking.models import Channel, Sale
from tracking.store import rollups
from tracking.store.base import CountQuery, Store, is_repeat_of
from tracking.store.sqlite import SQLiteStore

T0 = at("2026-03-02 09:00")
PERIOD = {"start": at("2026-03-01 00:00"), "end": at("2026-04-01 00:00")}
ANNA = 501
# (name, contact, day, channel, tags): a contact's later dialogs (days apart: a new dialog each) are repeat ones.
PLAN = [
    ("olga_first", "+79160000001", 0, Channel.PAID_SEARCH, []),
    ("ivan_first", "+79160000002", 1, Channel.DIRECT, []),
    ("spam_first", "+79160000003", 2, Channel.PAID_SEARCH, ["spam"]),
    ("olga_again", "+79160000001", 6, Channel.PAID_SEARCH, ["sale"]),
    ("ivan_again", "+79160000002", 10, Channel.PAID_SEARCH, []),
    ("olga_third", "+79160000001", 14, Channel.DIRECT, []),
    ("spam_again", "+79160000003", 18, Channel.DIRECT, ["spam"]),
]


async def seed(store: Store) -> dict[str, str]:
    """Three new customers (one a spammer) and four repeat dialogs. Their ids by a short name."""
    ids: dict[str, str] = {}
    for i, (name, contact, day, channel, tags) in enumerate(PLAN):
        when = T0 + timedelta(days=day, minutes=11 * i)
        dialog = (
            await store.add_message(new_dialog(message(when, contact=contact), channel=channel, tags=tags))
        ).dialog
        assert dialog.is_repeat == name.endswith(("again", "third")), name
        ids[name] = dialog.id
    return ids


async def total(store: Store, **filters: str) -> tuple[int, int, int]:
    """(dialogs, new, repeat) of March with these filters, spam left out."""
    found = await store.count_dialogs(CountQuery(**PERIOD, filters=filters, without_tags=["spam"]))
    return sum(r.dialogs for r in found), sum(r.new for r in found), sum(r.repeat for r in found)


async def test_new_or_repeat_customers_are_counted_with_other_filters_and_tags_left_out(store: Store) -> None:
    await seed(store)

    assert await total(store) == (5, 2, 3)
    assert await total(store, customer="new") == (2, 2, 0)
    assert await total(store, customer="repeat") == (3, 0, 3)
    assert await total(store, customer="repeat", channel="paid_search") == (2, 0, 2)
    assert await total(store, customer="new", channel="paid_search") == (1, 1, 0)
    assert await total(store, customer="repeat", tag="sale") == (1, 0, 1)
    assert await total(store, customer="new", tag="sale") == (0, 0, 0)
    every = await store.count_dialogs(CountQuery(**PERIOD, filters={"customer": "repeat"}))
    assert sum(r.dialogs for r in every) == 4  # with the spammer's second dialog


async def test_dialogs_group_by_new_or_repeat_customer(store: Store) -> None:
    await seed(store)

    counted = await store.count_dialogs(CountQuery(**PERIOD, group_by=["customer"], without_tags=["spam"]))
    by_channel = await store.count_dialogs(
        CountQuery(**PERIOD, group_by=["channel", "customer"], without_tags=["spam"])
    )
    tags = await store.count_dialogs(CountQuery(**PERIOD, group_by=["tag", "customer"]))

    assert rows(counted) == expect(({"customer": "new"}, None, 2, 0), ({"customer": "repeat"}, None, 0, 3))
    assert rows(by_channel) == expect(
        ({"channel": "paid_search", "customer": "new"}, None, 1, 0),
        ({"channel": "paid_search", "customer": "repeat"}, None, 0, 2),
        ({"channel": "direct", "customer": "new"}, None, 1, 0),
        ({"channel": "direct", "customer": "repeat"}, None, 0, 1),
    )
    assert rows(tags) == expect(
        ({"tag": "sale", "customer": "repeat"}, None, 0, 1),
        ({"tag": "spam", "customer": "new"}, None, 1, 0),
        ({"tag": "spam", "customer": "repeat"}, None, 0, 1),
    )


async def test_repeat_customers_by_week(store: Store) -> None:
    await seed(store)

    weeks = await store.count_dialogs(CountQuery(**PERIOD, bucket="week", filters={"customer": "repeat"}))

    # olga_again (Sunday, Mar 8), ivan_again (Mar 12), olga_third (Monday, Mar 16) and the spammer's (Mar 20)
    assert rows(weeks) == expect(({}, "2026-W10", 0, 1), ({}, "2026-W11", 0, 1), ({}, "2026-W12", 0, 2))


@pytest.mark.emulator_xfail(GROUPED)
async def test_customer_beside_a_field_no_shape_holds_is_counted_from_the_dialogs(store: Store) -> None:
    ids = await seed(store)
    for name in ("olga_first", "olga_again", "ivan_again"):
        assert await store.take_dialog(ids[name], ANNA, "Анна", T0 + timedelta(days=20)) is not None

    query = CountQuery(**PERIOD, group_by=["taken_by", "customer"], without_tags=["spam"])
    assert rollups.shape_for(query) is None
    assert rows(await store.count_dialogs(query)) == expect(
        ({"taken_by": str(ANNA), "customer": "new"}, None, 1, 0),
        ({"taken_by": str(ANNA), "customer": "repeat"}, None, 0, 2),
        ({"taken_by": None, "customer": "new"}, None, 1, 0),
        ({"taken_by": None, "customer": "repeat"}, None, 0, 1),
    )


async def test_one_takers_repeat_customers_are_counted_from_the_dialogs(store: Store) -> None:
    ids = await seed(store)
    for name in ("olga_first", "olga_again", "ivan_again"):
        assert await store.take_dialog(ids[name], ANNA, "Анна", T0 + timedelta(days=20)) is not None

    assert await total(store, taken_by=str(ANNA), customer="repeat") == (2, 0, 2)
    assert await total(store, taken_by=str(ANNA), customer="new") == (1, 1, 0)


async def test_team_rows_follow_a_customer_filter(store: Store) -> None:
    ids = await seed(store)

    team = await store.response_rows(CountQuery(**PERIOD, filters={"customer": "new"}, without_tags=["spam"]))

    assert sorted(r.dialog_id for r in team) == sorted([ids["olga_first"], ids["ivan_first"]])


@pytest.mark.emulator_xfail(PUSH_DATE)
async def test_sale_rows_follow_a_customer_filter(store: Store) -> None:
    ids = await seed(store)
    for name in ("olga_first", "olga_again"):
        sale = Sale(id=f"sale-{name}", amount=Decimal(1000), currency="RUB", at=T0 + timedelta(days=25))
        assert await store.add_sale(ids[name], sale) is not None

    sales = await store.sale_rows(CountQuery(**PERIOD, filters={"customer": "repeat"}))

    assert [r.dialog_id for r in sales] == [ids["olga_again"]]


@pytest.mark.parametrize("value", ["New", "repeated", "", "none", "1", "true", "новый"])
async def test_a_customer_that_is_neither_new_nor_repeat_is_refused(store: Store, value: str) -> None:
    with pytest.raises(ValueError, match="customer"):
        await store.count_dialogs(CountQuery(**PERIOD, filters={"customer": value}))
    with pytest.raises(ValueError, match="customer"):
        is_repeat_of(value)


def test_every_shape_answers_a_customer_query_from_its_rows() -> None:
    for query, shape in (
        (CountQuery(**PERIOD, group_by=["customer"]), "all"),
        (CountQuery(**PERIOD, filters={"customer": "new"}), "all"),
        (CountQuery(**PERIOD, group_by=["channel", "customer"], filters={"source": "google"}), "channel"),
        (CountQuery(**PERIOD, group_by=["tag", "customer"]), "tag"),
        (CountQuery(**PERIOD, group_by=["campaign"], filters={"customer": "repeat", "status": "exact"}), "campaign"),
    ):
        assert rollups.shape_for(query) == shape, query


async def test_sqlite_answers_customer_queries_from_the_rollup_rows_exactly(tmp_path: Path) -> None:
    """Before the roll-up every dialog is counted itself; after it, whole days come from the rows (split into
    new = dialogs − repeat and repeat): the same answers."""
    store = SQLiteStore(tmp_path / "customers.db", roll_up_every=None)
    await store.open()
    try:
        await seed(store)
        queries = [
            CountQuery(**PERIOD, filters={"customer": "new"}, without_tags=["spam"]),
            CountQuery(**PERIOD, filters={"customer": "repeat"}),
            CountQuery(**PERIOD, filters={"customer": "repeat", "channel": "direct"}),
            CountQuery(**PERIOD, group_by=["channel", "customer"], bucket="week"),
            CountQuery(**PERIOD, group_by=["tag", "customer"], filters={"customer": "repeat"}),
            CountQuery(**PERIOD, group_by=["customer"], filters={"tag": "sale"}),
        ]
        before = [rows(await store.count_dialogs(query)) for query in queries]
        await store.roll_up(now=at("2026-05-01 00:00"))
        assert await store.read(rollups.watermark) >= "2026-04"  # every March dialog is in the rows now

        assert [rows(await store.count_dialogs(query)) for query in queries] == before
        assert before[:3] == [
            expect(({}, None, 2, 0)),
            expect(({}, None, 0, 4)),
            expect(({}, None, 0, 2)),
        ]
    finally:
        await store.close()
