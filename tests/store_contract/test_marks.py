"""Marks: the installation's small documents by key (the claimed owner, one-time secrets, what was told once,
each part's last signs), on both stores and across copies of the server."""

from __future__ import annotations

import asyncio

from tests.store_contract import MakeStore
from tracking.store.base import Store


async def test_a_mark_is_put_read_replaced_and_listed_by_prefix(store: Store) -> None:
    assert await store.get_mark("site:shop.example") is None
    await store.put_mark("site:shop.example", {"last_view_at": "2026-12-06T10:00:00+00:00", "views": 1})
    await store.put_mark("site:shop.example", {"last_view_at": "2026-12-06T11:00:00+00:00"})
    await store.put_mark("site:a_b%.example", {"n": None, "nested": {"x": [1, "два"]}})
    await store.put_mark("provider:twilio", {"n": 2})

    assert await store.get_mark("site:shop.example") == {"last_view_at": "2026-12-06T11:00:00+00:00"}
    assert await store.marks("site:") == {
        "site:a_b%.example": {"n": None, "nested": {"x": [1, "два"]}},
        "site:shop.example": {"last_view_at": "2026-12-06T11:00:00+00:00"},
    }
    assert await store.marks("site:a_b%") == {"site:a_b%.example": {"n": None, "nested": {"x": [1, "два"]}}}
    assert await store.marks("site:a.b") == {}  # a prefix is text, not a pattern
    assert list(await store.marks("")) == ["provider:twilio", "site:a_b%.example", "site:shop.example"]


async def test_merging_keeps_the_fields_another_writer_set(store: Store) -> None:
    await store.merge_mark("provider:meta", {"last_message_at": "t1"})
    await asyncio.gather(
        store.merge_mark("provider:meta", {"last_refusal_at": "t2", "last_refusal": "signature"}),
        store.merge_mark("provider:meta", {"last_message_at": "t3"}),
    )
    await store.merge_mark("provider:meta", {"last_refusal": None})
    assert await store.get_mark("provider:meta") == {
        "last_message_at": "t3",
        "last_refusal_at": "t2",
        "last_refusal": None,
    }


async def test_exactly_one_copy_adds_a_mark(make_store: MakeStore) -> None:
    copies = [await make_store() for _ in range(3)]
    added = await asyncio.gather(*(copy.add_mark("told:first_view", {"by": i}) for i, copy in enumerate(copies)))
    assert sorted(added) == [False, False, True]
    winner = added.index(True)
    assert await copies[0].get_mark("told:first_view") == {"by": winner}
    assert await copies[1].add_mark("told:first_view", {"by": 9}) is False


async def test_exactly_one_copy_takes_a_one_time_mark(make_store: MakeStore) -> None:
    copies = [await make_store() for _ in range(3)]
    await copies[0].put_mark("owner_claim:digest", {"at": "t"})
    taken = await asyncio.gather(*(copy.take_mark("owner_claim:digest") for copy in copies))
    assert sorted(taken, key=lambda mark: mark is None) == [{"at": "t"}, None, None]
    assert await copies[2].get_mark("owner_claim:digest") is None
    assert await copies[2].take_mark("owner_claim:digest") is None
