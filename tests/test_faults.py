"""The store goes away in the middle of webhook traffic, over a real server on a free port.

While the store is away the Twilio webhook answers 503, so Twilio retries; nothing is half-written;
when the store returns, every message retried (as Twilio does, the answered ones too) is stored exactly
once: one dialog per contact, each with all its messages, and one lead alert per dialog. No answer is
ever a 500 (or any status but 200 and 503). Both adapters: SQLite closed under the traffic, and MongoDB
(nx-27017 on a file) killed with SIGKILL and started again on the same port.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from pymongo import MongoClient

from tests.conftest import RunningServer, free_port, twilio_form
from tests.mongo_server import _answers_ping
from tracking.models import InboundMessage, IngestResult
from tracking.settings import Settings
from tracking.store import Store
from tracking.store.mongo import MongoStore
from webhooks.app import TRACKER, create_app

CONTACTS = 24
MESSAGES_EACH = 2
REQUEST_TIMEOUT = aiohttp.ClientTimeout(total=20)
RETRY_DEADLINE = 60.0  # seconds for every message to be stored after the store returns


@dataclass(frozen=True)
class Post:
    sid: str
    contact: str
    form: dict[str, str]


def traffic() -> list[Post]:
    """Each contact writes MESSAGES_EACH times without a code (so the order of arrival cannot split a dialog)."""
    posts = []
    for turn in range(MESSAGES_EACH):
        for n in range(CONTACTS):
            contact = f"+7916{n:07d}"
            sid = f"SM{n:016x}{turn:016x}"
            form = twilio_form(f"Здравствуйте, вопрос {turn + 1}", sid=sid, From="whatsapp:" + contact)
            form["WaId"] = contact[1:]
            posts.append(Post(sid, contact, form))
    return posts


async def post(server: RunningServer, http: aiohttp.ClientSession, item: Post) -> int:
    response = await server.post_twilio(http, item.form)
    return response.status


def stored_after(server: RunningServer, count: int) -> asyncio.Event:
    """An event set once `count` messages have been stored (the Tracker calls observers after each)."""
    reached = asyncio.Event()
    stored = 0

    def observe(message: InboundMessage, result: IngestResult) -> None:
        nonlocal stored
        stored += 1
        if stored >= count:
            reached.set()

    server.app[TRACKER].observers.append(observe)
    return reached


async def send_through_outage(
    server: RunningServer, http: aiohttp.ClientSession, posts: list[Post], take_store_away: Callable[[], Any]
) -> tuple[Counter[int], Counter[int]]:
    """Post the first half at once; once a quarter of all is stored, take the store away, then post the
    second half while it is away. Returns the statuses of each half."""
    half = len(posts) // 2
    reached = stored_after(server, len(posts) // 4)
    first = [asyncio.create_task(post(server, http, item)) for item in posts[:half]]
    waiting = asyncio.create_task(reached.wait())
    await asyncio.wait([waiting, *first], return_when=asyncio.FIRST_COMPLETED)
    await asyncio.wait_for(waiting, 20)
    await take_store_away()
    second = await asyncio.gather(*(post(server, http, item) for item in posts[half:]))
    return Counter(await asyncio.gather(*first)), Counter(second)


async def retry_until_stored(server: RunningServer, http: aiohttp.ClientSession, posts: list[Post]) -> Counter[int]:
    """Twilio's side: post every message again until each has been answered 200 (answered ones too)."""
    seen: Counter[int] = Counter()
    pending = list(posts)
    async with asyncio.timeout(RETRY_DEADLINE):
        while pending:
            statuses = await asyncio.gather(*(post(server, http, item) for item in pending))
            seen.update(statuses)
            pending = [item for item, status in zip(pending, statuses, strict=True) if status != 200]
    return seen


async def check_one_dialog_per_contact(store: Store, posts: list[Post]) -> set[str]:
    """Each contact has one dialog holding all its messages; returns the dialogs' ids."""
    ids = set()
    for contact in sorted({item.contact for item in posts}):
        dialogs = await store.find_dialogs(contact_id=contact)
        assert len(dialogs) == 1, f"{contact}: {len(dialogs)} dialogs"
        assert dialogs[0].message_count == MESSAGES_EACH, f"{contact}: {dialogs[0].message_count} messages"
        ids.add(dialogs[0].id)
    return ids


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=REQUEST_TIMEOUT) as session:
        yield session


# SQLite -------------------------------------------------------------------------------------------


def sqlite_inconsistencies(path: Path) -> list[str]:
    """What a half-written message would leave, read straight from the file."""
    with contextlib.closing(sqlite3.connect(path)) as db:
        checks = {
            "message without its dialog": "SELECT COUNT(*) FROM messages m LEFT JOIN dialogs d ON d.id = m.dialog_id "
            "WHERE d.id IS NULL",
            "dialog without a message": "SELECT COUNT(*) FROM dialogs d WHERE NOT EXISTS "
            "(SELECT 1 FROM messages m WHERE m.dialog_id = d.id)",
            "dialog without its alert": "SELECT COUNT(*) FROM dialogs d WHERE NOT EXISTS "
            "(SELECT 1 FROM outbox o WHERE o.dialog_id = d.id)",
            "message_count that disagrees with the messages": "SELECT COUNT(*) FROM dialogs d WHERE "
            "json_extract(d.data, '$.message_count') != (SELECT COUNT(*) FROM messages m WHERE m.dialog_id = d.id)",
        }
        return [name for name, sql in checks.items() if db.execute(sql).fetchone()[0]]


def sqlite_counts(path: Path) -> tuple[int, int, int]:
    """Rows of dialogs, messages and lead alerts in the outbox (each alert's take reminder left out)."""
    with contextlib.closing(sqlite3.connect(path)) as db:
        dialogs, messages, outbox = (
            int(db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])
            for table in ("dialogs", "messages", "outbox WHERE kind = 'lead_alert'")
        )
    return dialogs, messages, outbox


async def test_sqlite_closed_mid_traffic_answers_503_and_retries_store_once(
    start_server: Any, http: aiohttp.ClientSession
) -> None:
    server: RunningServer = await start_server()
    path = Path(server.settings.database_url.removeprefix("sqlite:///"))
    posts = traffic()

    # Closing lets the transaction in flight commit; what comes after is refused.
    in_flight, while_away = await send_through_outage(server, http, posts, server.store.close)

    assert set(in_flight) <= {200, 503} and in_flight[200] >= len(posts) // 4, in_flight
    assert while_away == Counter({503: len(posts) // 2})
    assert sqlite_inconsistencies(path) == []
    _, messages, _ = sqlite_counts(path)
    assert messages >= in_flight[200]  # every 200 was stored before it was sent

    await server.store.open()
    retried = await retry_until_stored(server, http, posts)

    assert set(retried) <= {200, 503}, retried
    assert sqlite_inconsistencies(path) == []
    assert sqlite_counts(path) == (CONTACTS, CONTACTS * MESSAGES_EACH, CONTACTS)
    await check_one_dialog_per_contact(server.store, posts)
    assert await server.store.pending_alerts() == CONTACTS  # one lead alert per dialog (no bot: they wait)


# MongoDB ------------------------------------------------------------------------------------------


class Emulator:
    """nx-27017 on a file and a fixed port, so it can be killed and started again with its data."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.url = f"mongodb://127.0.0.1:{self.port}/?directConnection=true"
        self.process: subprocess.Popen[bytes] | None = None

    def database_url(self, name: str) -> str:
        return f"mongodb://127.0.0.1:{self.port}/{name}?directConnection=true"

    def start(self, timeout: float = 20.0) -> None:
        exe = Path(sys.executable).with_name("nx-27017")
        self.process = subprocess.Popen(
            [str(exe), "--db", str(self.workdir / "nx.db"), "--host", "127.0.0.1", "--port", str(self.port),
             "--pid-file", str(self.workdir / "nx.pid"), "--log-file", str(self.workdir / "nx.log")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        until = time.monotonic() + timeout
        while not _answers_ping(self.url):  # each attempt is a connection with its own short timeout
            assert self.process.poll() is None, f"nx-27017 exited with {self.process.returncode}"
            assert time.monotonic() < until, f"nx-27017 did not answer within {timeout} s"

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture
def emulator(tmp_path: Path) -> Iterator[Emulator]:
    server = Emulator(tmp_path)
    server.start()
    yield server
    server.stop()


async def serve(settings: Settings, store: Store) -> tuple[web.AppRunner, RunningServer]:
    app = create_app(settings, store)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", settings.port).start()
    return runner, RunningServer(url=f"http://127.0.0.1:{settings.port}", app=app, settings=settings)


async def test_mongodb_killed_mid_traffic_answers_503_and_retries_store_once(
    make_settings: Callable[..., Settings], emulator: Emulator, http: aiohttp.ClientSession
) -> None:
    url = emulator.database_url("chattrack_faults")
    settings = make_settings(port=free_port(), database_url=url)
    # Short timeouts so the outage is noticed within a second and a message left pending by the outage
    # is taken over by the retry after a second (the defaults are 5 s and 15 s).
    store = MongoStore(url, timeout=1.0, duplicate_wait=0.5, claim_timeout=1.0)
    runner, server = await serve(settings, store)
    try:
        posts = traffic()

        async def kill_emulator() -> None:
            emulator.kill()

        in_flight, while_away = await send_through_outage(server, http, posts, kill_emulator)

        assert set(in_flight) <= {200, 503} and in_flight[200] >= len(posts) // 4, in_flight
        assert while_away == Counter({503: len(posts) // 2})

        emulator.start()
        retried = await retry_until_stored(server, http, posts)

        assert set(retried) <= {200, 503}, retried
        dialog_ids = await check_one_dialog_per_contact(server.store, posts)
        client: MongoClient[dict[str, Any]]
        with MongoClient(url, serverSelectionTimeoutMS=2000) as client:
            db: Any = client.get_default_database()
            docs = list(db.messages.find({}, {"message_id": 1, "state": 1, "dialog_id": 1}))
            assert sorted(d["message_id"] for d in docs) == sorted(item.sid for item in posts)
            assert {d["state"] for d in docs} == {"done"}
            per_dialog = Counter(d["dialog_id"] for d in docs)
            assert sorted(per_dialog.values()) == [MESSAGES_EACH] * CONTACTS
            assert db.dialogs.count_documents({}) == CONTACTS
            # One lead alert per dialog. (Not pending_alerts(): nx-27017 counts {"sent_at": None} as 0.)
            alerts = list(db.outbox.find({"kind": "lead_alert"}, {"dialog_id": 1, "sent_at": 1}))
            assert sorted(a["dialog_id"] for a in alerts) == sorted(dialog_ids)
            assert all(a["sent_at"] is None for a in alerts)
    finally:
        await runner.cleanup()
