"""The health check's write probe, on every store."""

from __future__ import annotations

from tests.store_contract import at
from tracking.store.base import Store


async def test_a_write_probe_commits_and_can_be_repeated(store: Store) -> None:
    assert await store.check_writes(at("2026-03-01 10:00")) is None
    assert await store.check_writes(at("2026-03-01 10:01")) is None
    assert await store.ping() is True
