"""The server killed with SIGKILL under load and started again, as a real process on a real SQLite file.

`python -m webhooks.cli serve` runs as a subprocess with its settings in CHATTRACK_* variables; signed
Twilio posts arrive concurrently; the process is killed mid-load and started again on the same port and
file. Then: every message answered 200 before the kill was stored; retries of every message (as Twilio
retries) leave exactly one dialog per contact; the lead alerts left in the outbox reach a local Bot API
(FakeTelegramAPI) after the restart.

The dead copy may hold a lease on the alerts it was sending (the lease frees them after 60 s, a figure
the server does not let us configure). The tests move those leases into the past, as if the minute had
passed, instead of waiting it out.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from twilio.request_validator import RequestValidator

from tests.conftest import TWILIO_TOKEN, free_port, twilio_form
from tests.fakes.telegram_api import ApiCall, FakeTelegramAPI
from tests.test_faults import sqlite_inconsistencies

ROOT = Path(__file__).resolve().parent.parent
OWNER = 4242
BOT_TOKEN = "123456:TEST-token"
CONTACTS = 30
CONCURRENCY = 10
READY_TIMEOUT = 30.0
DEADLINE = 30.0  # seconds for the retries to be stored and the alerts delivered after the restart


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    url: str
    log: Path

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@dataclass(frozen=True)
class Post:
    sid: str
    contact: str
    form: dict[str, str]


def traffic() -> list[Post]:
    """Every contact writes twice, without a code; first messages of all contacts come first."""
    posts = []
    for turn in range(2):
        for n in range(CONTACTS):
            contact = f"+7903{n:07d}"
            sid = f"SM{n:016x}{turn:016x}"
            form = twilio_form(f"Добрый день! Вопрос {turn + 1}", sid=sid, From="whatsapp:" + contact)
            form["WaId"] = contact[1:]
            posts.append(Post(sid, contact, form))
    return posts


class Site:
    """Where the server listens (the same port across restarts, so Twilio's signed URL stays valid)."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.database = workdir / "chattrack.db"
        self.servers: list[Server] = []
        self.validator = RequestValidator(TWILIO_TOKEN)

    def env(self, telegram_api_url: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("CHATTRACK_")}
        env.update(
            {
                "PYTHONPATH": str(ROOT),
                "CHATTRACK_DATABASE_URL": f"sqlite:///{self.database}",
                "CHATTRACK_TRACKED_NUMBERS": "+7 999 123-45-67",
                "CHATTRACK_TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
                "CHATTRACK_TIMEZONE": "Europe/Moscow",
                "CHATTRACK_TELEGRAM_BOT_TOKEN": BOT_TOKEN,
                "CHATTRACK_TELEGRAM_OWNER_IDS": str(OWNER),
                "CHATTRACK_TELEGRAM_API_URL": telegram_api_url,
                # Failed sends are retried within 0.2 s, so nothing waits on a long backoff.
                "CHATTRACK_ALERT_RETRY_MAX_SECONDS": "0.2",
            }
        )
        return env

    def launch(self, telegram_api_url: str, *options: str, **env: str) -> Server:
        log = self.workdir / f"server-{len(self.servers)}.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "webhooks.cli", "serve", "--port", str(self.port), *options],
                env={**self.env(telegram_api_url), **env},
                cwd=self.workdir,  # no developer's .env is read
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        server = Server(process, self.url, log)
        self.servers.append(server)
        return server

    async def start(self, telegram_api_url: str, *options: str, **env: str) -> Server:
        server = self.launch(telegram_api_url, *options, **env)
        await wait_ready(server)
        return server

    def signature(self, form: dict[str, str]) -> str:
        return str(self.validator.compute_signature(self.url + "/webhooks/twilio", form))


async def wait_ready(server: Server) -> None:
    """Poll /healthz until it answers 200: each attempt is a connection, bounded by a deadline."""
    timeout = aiohttp.ClientTimeout(total=1)
    async with aiohttp.ClientSession(timeout=timeout) as session, asyncio.timeout(READY_TIMEOUT):
        while True:
            assert server.process.poll() is None, server.log.read_text(errors="replace")[-3000:]
            with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                async with session.get(server.url + "/healthz") as response:
                    if response.status == 200:
                        return


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    place = Site(tmp_path)
    yield place
    for server in place.servers:
        server.stop()


@pytest.fixture
async def telegram() -> AsyncIterator[FakeTelegramAPI]:
    async with FakeTelegramAPI() as fake:
        yield fake


async def post(session: aiohttp.ClientSession, site: Site, item: Post) -> int | None:
    """The status Twilio would see, or None when the connection died without an answer."""
    headers = {"X-Twilio-Signature": site.signature(item.form)}
    try:
        async with session.post(site.url + "/webhooks/twilio", data=item.form, headers=headers) as response:
            await response.read()
            return response.status
    except (aiohttp.ClientError, TimeoutError):
        return None


async def load_and_kill(
    site: Site, server: Server, posts: list[Post], ready_to_kill: Callable[[int], bool]
) -> dict[str, int | None]:
    """Post concurrently; SIGKILL the server as soon as `ready_to_kill(answered 200 so far)` holds."""
    statuses: dict[str, int | None] = {}
    accepted = 0
    limit = asyncio.Semaphore(CONCURRENCY)
    killed = asyncio.Event()

    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=20)) as session:

        async def send(item: Post) -> None:
            nonlocal accepted
            async with limit:
                if killed.is_set():
                    statuses[item.sid] = None
                    return
                status = statuses[item.sid] = await post(session, site, item)
            if status == 200:
                accepted += 1
                if not killed.is_set() and ready_to_kill(accepted):
                    killed.set()
                    server.kill()  # requests still in flight see their connection die

        await asyncio.gather(*(send(item) for item in posts))
    assert killed.is_set(), "the load ended before the kill"
    return statuses


async def retry_until_stored(site: Site, posts: list[Post]) -> Counter[int | None]:
    """Twilio's side after the restart: every message again, until each is answered 200."""
    seen: Counter[int | None] = Counter()
    pending = list(posts)
    async with aiohttp.ClientSession() as session, asyncio.timeout(DEADLINE):
        while pending:
            statuses = await asyncio.gather(*(post(session, site, item) for item in pending))
            seen.update(statuses)
            pending = [item for item, status in zip(pending, statuses, strict=True) if status != 200]
    return seen


def query(site: Site, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    with contextlib.closing(sqlite3.connect(site.database)) as db:
        return list(db.execute(sql, args).fetchall())


def expire_leases_of_the_dead(site: Site) -> int:
    """What the 60 s lease does by itself: alerts the killed copy had claimed become claimable again."""
    with contextlib.closing(sqlite3.connect(site.database)) as db, db:
        return db.execute("UPDATE outbox SET lease_until = NULL WHERE sent_at IS NULL").rowcount


def is_lead_alert(call: ApiCall) -> bool:
    """A lead alert carries its card button; the installation's notices (tracking/install.py) carry none."""
    return call.ok and "card:" in str(call.params.get("reply_markup"))


def alerted_dialog(call: ApiCall) -> str:
    """The dialog a lead alert is about, from its card button (callback data `card:<dialog id>`)."""
    markup = call.params["reply_markup"]
    keyboard = json.loads(markup) if isinstance(markup, str) else markup
    for row in keyboard["inline_keyboard"]:
        for button in row:
            data = button.get("callback_data", "")
            if data.startswith("card:"):
                return str(data.removeprefix("card:"))
    raise AssertionError(f"no card button in {keyboard}")


def delivered(telegram: FakeTelegramAPI) -> Counter[str]:
    """Lead alerts the Bot API accepted, per dialog."""
    return Counter(alerted_dialog(c) for c in telegram.sent_messages(OWNER) if is_lead_alert(c))


async def until(condition: Callable[[], Awaitable[bool]], what: str) -> None:
    """Ask again and again (each time a real request) until `condition` holds, within DEADLINE."""
    try:
        async with asyncio.timeout(DEADLINE):
            while not await condition():
                pass
    except TimeoutError:
        raise AssertionError(f"not within {DEADLINE} s: {what}") from None


async def outbox_empty(site: Site) -> bool:
    async with aiohttp.ClientSession() as session, session.get(site.url + "/healthz") as response:
        return response.status == 200 and (await response.json())["pending_alerts"] == 0


def check_accepted_are_stored(site: Site, statuses: dict[str, int | None]) -> None:
    stored = {sid for (sid,) in query(site, "SELECT message_id FROM messages")}
    accepted = {sid for sid, status in statuses.items() if status == 200}
    assert accepted <= stored, f"answered 200 but lost: {sorted(accepted - stored)}"
    assert set(statuses.values()) <= {200, None}, Counter(statuses.values())
    assert sqlite_inconsistencies(site.database) == []


def check_one_dialog_per_contact(site: Site, posts: list[Post]) -> set[str]:
    per_contact = Counter(contact for (contact,) in query(site, "SELECT contact_id FROM dialogs"))
    assert per_contact == Counter({item.contact: 1 for item in posts})
    assert query(site, "SELECT COUNT(*) FROM messages") == [(len(posts),)]
    assert sqlite_inconsistencies(site.database) == []
    return {dialog for (dialog,) in query(site, "SELECT id FROM dialogs")}


async def test_killed_under_load_loses_no_accepted_message_and_alerts_each_dialog_once(
    site: Site, telegram: FakeTelegramAPI
) -> None:
    posts = traffic()
    # Before the kill Telegram is unreachable (nothing listens there): every alert stays in the outbox.
    first = await site.start(telegram_api_url=f"http://127.0.0.1:{free_port()}")
    statuses = await load_and_kill(site, first, posts, lambda accepted: accepted >= len(posts) // 3)

    check_accepted_are_stored(site, statuses)
    assert query(site, "SELECT COUNT(*) FROM outbox WHERE sent_at IS NOT NULL") == [(0,)]
    assert telegram.calls == []
    expire_leases_of_the_dead(site)

    await site.start(telegram_api_url=telegram.url)
    retried = await retry_until_stored(site, posts)

    assert set(retried) <= {200}, retried  # every retry answered at once: nothing was left half-written
    dialogs = check_one_dialog_per_contact(site, posts)
    await telegram.wait_for("sendMessage", is_lead_alert, count=len(dialogs), timeout=DEADLINE)
    await until(lambda: outbox_empty(site), "every alert marked sent")
    assert delivered(telegram) == Counter({dialog: 1 for dialog in dialogs})


async def test_killed_while_alerts_flow_repeats_at_most_the_alert_in_flight(
    site: Site, telegram: FakeTelegramAPI
) -> None:
    """Telegram has no idempotency key: a kill between its answer and our "sent" mark repeats that one
    alert (delivery is at least once). Alerts marked sent are never sent again, and nothing is lost."""
    posts = traffic()
    first = await site.start(telegram_api_url=telegram.url)

    def alerts_flowing(accepted: int) -> bool:
        return accepted >= len(posts) // 3 and len(telegram.sent_messages(OWNER)) >= 3

    statuses = await load_and_kill(site, first, posts, alerts_flowing)
    check_accepted_are_stored(site, statuses)
    before_kill = delivered(telegram)
    marked_sent = {d for (d,) in query(site, "SELECT dialog_id FROM outbox WHERE sent_at IS NOT NULL")}
    assert marked_sent <= set(before_kill)
    expire_leases_of_the_dead(site)

    await site.start(telegram_api_url=telegram.url)
    retried = await retry_until_stored(site, posts)

    assert set(retried) <= {200}, retried
    dialogs = check_one_dialog_per_contact(site, posts)
    await until(lambda: outbox_empty(site), "every alert marked sent")
    alerts = delivered(telegram)
    assert set(alerts) == dialogs  # every dialog alerted
    repeated = {dialog for dialog, n in alerts.items() if n > 1}
    assert all(alerts[dialog] == 1 for dialog in marked_sent)  # marked sent: never again
    assert len(repeated) <= 1 and max(alerts.values()) <= 2, alerts
    assert repeated <= set(before_kill) - marked_sent  # only one Telegram accepted just before the kill
