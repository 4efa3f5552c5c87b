"""Every test in this folder that takes `store` runs once per adapter: SQLite (a temp file) and MongoDB.

MongoDB is the server in CHATTRACK_TEST_MONGODB_URL when set, else the nx-27017 emulator (started once
per session on a free port). A test marked `@pytest.mark.emulator_xfail("why")` is expected to fail on
the emulator only — strictly, so it must pass again the day the emulator is fixed — and must pass on
SQLite and on a real MongoDB.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from pymongo import AsyncMongoClient

from tests.mongo_server import MongoServer, mongo_server, real_mongodb_url
from tests.store_contract import MakeStore
from tracking.store.base import Store
from tracking.store.mongo import MongoStore
from tracking.store.sqlite import SQLiteStore

# Read at import: tests/conftest.py clears CHATTRACK_* variables around every test.
REAL_MONGODB_URL = real_mongodb_url()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "emulator_xfail(reason): fails on nx-27017 only, because it deviates from MongoDB (reason)"
    )


@pytest.fixture(scope="session")
def mongodb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MongoServer]:
    with mongo_server(tmp_path_factory.mktemp("mongodb"), REAL_MONGODB_URL) as server:
        yield server


@pytest.fixture(params=["sqlite", "mongo"])
def adapter(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def on_emulator(adapter: str, request: pytest.FixtureRequest) -> bool:
    return adapter == "mongo" and bool(request.getfixturevalue("mongodb").emulator)


@pytest.fixture(autouse=True)
def _expected_failures(request: pytest.FixtureRequest) -> None:
    """Turn an emulator_xfail mark into a strict xfail when the test runs on nx-27017."""
    if "adapter" not in request.fixturenames:
        return
    emulated = request.node.get_closest_marker("emulator_xfail")
    if emulated is not None and request.getfixturevalue("on_emulator"):
        request.node.add_marker(pytest.mark.xfail(strict=True, reason="nx-27017: " + emulated.args[0]))


@pytest.fixture
async def make_store(adapter: str, request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[MakeStore]:
    """Opens another store on the same database: another copy of the server."""
    stores: list[Store] = []
    database = f"chattrack_test_{uuid.uuid4().hex[:12]}"
    server: MongoServer | None = request.getfixturevalue("mongodb") if adapter == "mongo" else None

    async def make() -> Store:
        store: Store
        if server is not None:
            store = MongoStore(server.database_url(database))
        else:
            store = SQLiteStore(tmp_path / "chattrack.db")
        await store.open()
        stores.append(store)
        return store

    yield make
    for store in stores:
        await store.close()
    if server is not None:
        client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(server.url)
        await client.drop_database(database)
        await client.close()


@pytest.fixture
async def store(make_store: MakeStore) -> Store:
    return await make_store()
