"""`chattrack serve --workers 2`: two real processes on one port and one SQLite file.

What must hold with several workers: every message stored once and alerted once, whichever worker a
request or a retry reaches; /metrics counts every worker's requests; SIGTERM stops them all gracefully;
a worker that dies is replaced, one that dies during start-up stops the server; workers do not outlive
a supervisor killed outright.
"""

from __future__ import annotations

import asyncio
import os
import select
import signal
from collections import Counter
from pathlib import Path

import aiohttp
import pytest
from pymongo import MongoClient

from tests.fakes.telegram_api import FakeTelegramAPI
from tests.mongo_server import mongo_server, real_mongodb_url
from tests.test_restart import (
    DEADLINE,
    Server,
    Site,
    check_one_dialog_per_contact,
    delivered,
    is_lead_alert,
    outbox_empty,
    post,
    traffic,
    until,
    wait_ready,
)
from tests.test_restart import site as site  # the fixtures, re-exported for pytest
from tests.test_restart import telegram as telegram


def workers_of(server: Server) -> list[int]:
    pid = server.process.pid
    return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def wait_gone(pid: int, timeout: float = DEADLINE) -> bool:
    """Whether process `pid` (not our child) ended within `timeout`: a pidfd turns readable when it does."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return True
    try:
        readable, _, _ = select.select([fd], [], [], timeout)
        return bool(readable)
    finally:
        os.close(fd)


async def test_two_workers_store_and_alert_each_message_once(site: Site, telegram: FakeTelegramAPI) -> None:
    server = await site.start(telegram.url, "--workers", "2", CHATTRACK_METRICS_ACCESS="public")
    assert len(workers_of(server)) == 2
    posts = traffic()

    # Twilio's retries: each message three times at once, so copies race in both workers.
    async with aiohttp.ClientSession() as session:
        statuses = await asyncio.gather(*(post(session, site, item) for item in posts for _ in range(3)))
        async with session.get(site.url + "/metrics") as response:
            metrics = await response.text()
    assert Counter(statuses) == Counter({200: 3 * len(posts)})

    dialogs = check_one_dialog_per_contact(site, posts)
    await telegram.wait_for("sendMessage", is_lead_alert, count=len(dialogs), timeout=DEADLINE)
    await until(lambda: outbox_empty(site), "every alert marked sent")
    assert delivered(telegram) == Counter({dialog: 1 for dialog in dialogs})
    # One scrape, answered by one worker, counts the requests both workers served.
    twilio = 'chattrack_http_requests_total{route="/webhooks/twilio",status="200"}'
    assert f"{twilio} {float(3 * len(posts))}" in metrics
    # Only the primary polls Telegram: a second getUpdates would get 409 Conflict from the real API.
    await telegram.wait_for("getUpdates", timeout=DEADLINE)
    assert len(telegram.calls_to("deleteWebhook")) == 1


async def test_sigterm_stops_every_worker_gracefully(site: Site, telegram: FakeTelegramAPI) -> None:
    server = await site.start(telegram.url, "--workers", "2")
    children = workers_of(server)
    server.process.send_signal(signal.SIGTERM)
    assert server.process.wait(timeout=DEADLINE) == 0
    assert all(wait_gone(pid) for pid in children)
    assert "Traceback" not in server.log.read_text()


async def test_a_worker_that_dies_is_replaced(site: Site, telegram: FakeTelegramAPI) -> None:
    server = await site.start(telegram.url, "--workers", "2", CHATTRACK_WORKER_STARTUP_GRACE_SECONDS="0")
    first, second = workers_of(server)
    os.kill(second, signal.SIGKILL)
    assert wait_gone(second)

    async def replaced() -> bool:
        now = workers_of(server)
        return len(now) == 2 and second not in now

    await until(replaced, "a new worker in place of the killed one")
    await wait_ready(server)
    assert first in workers_of(server)
    assert "worker 1 exited with -9; starting another" in server.log.read_text()


async def test_a_worker_dying_at_start_up_stops_the_server(site: Site, telegram: FakeTelegramAPI) -> None:
    server = await site.start(telegram.url, "--workers", "2", CHATTRACK_WORKER_STARTUP_GRACE_SECONDS="3600")
    children = workers_of(server)
    os.kill(children[1], signal.SIGKILL)
    assert server.process.wait(timeout=DEADLINE) == 1
    assert all(wait_gone(pid) for pid in children)
    assert "during start-up; stopping" in server.log.read_text()


async def test_workers_stop_when_the_supervisor_is_killed(site: Site, telegram: FakeTelegramAPI) -> None:
    server = await site.start(telegram.url, "--workers", "2")
    children = workers_of(server)
    server.kill()
    assert all(wait_gone(pid) for pid in children)
    assert "its supervisor is gone; shutting down" in server.log.read_text()


def test_workers_must_be_at_least_one(tmp_path: Path) -> None:
    site = Site(tmp_path)
    server = site.launch("http://127.0.0.1:9", "--workers", "0")
    assert server.process.wait(timeout=DEADLINE) == 2
    assert "--workers: at least 1" in server.log.read_text()


@pytest.mark.parametrize("value", ["0", "many"])
def test_bad_workers_setting_names_it(tmp_path: Path, value: str) -> None:
    site = Site(tmp_path)
    server = site.launch("http://127.0.0.1:9", CHATTRACK_WORKERS=value)
    assert server.process.wait(timeout=DEADLINE) == 2
    assert "CHATTRACK_WORKERS" in server.log.read_text()


async def test_two_workers_on_mongodb_store_each_message_once(
    site: Site, telegram: FakeTelegramAPI, tmp_path: Path
) -> None:
    """The same with the MongoDB store: the parent prepares it and closes its client before forking;
    each worker opens its own. (nx-27017 here, or CHATTRACK_TEST_MONGODB_URL.)"""
    (tmp_path / "mongodb").mkdir()
    with mongo_server(tmp_path / "mongodb", real_mongodb_url()) as mongodb:
        database = mongodb.database_url("chattrack_workers")
        await site.start(telegram.url, "--workers", "2", CHATTRACK_DATABASE_URL=database)
        posts = traffic()

        async with aiohttp.ClientSession() as session:
            statuses = await asyncio.gather(*(post(session, site, item) for item in posts for _ in range(3)))
        assert Counter(statuses) == Counter({200: 3 * len(posts)})

        with MongoClient(database) as client:
            db = client.get_default_database()
            per_contact = Counter(d["contact_id"] for d in db.dialogs.find({}, {"contact_id": 1}))
            assert per_contact == Counter({item.contact: 1 for item in posts})
            assert db.messages.count_documents({}) == len(posts)
            dialogs = {str(d["_id"]) for d in db.dialogs.find({}, {"_id": 1})}
        await telegram.wait_for("sendMessage", is_lead_alert, count=len(dialogs), timeout=DEADLINE)
        await until(lambda: outbox_empty(site), "every alert marked sent")
        assert delivered(telegram) == Counter({dialog: 1 for dialog in dialogs})
