"""Privacy: `chattrack forget <phone>` erases a contact; expired visits are deleted."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import sys
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

import aiohttp

from tests.conftest import twilio_form
from tests.seed import seed_dialog
from tests.store_contract import CONTACT, message, new_dialog
from tests.test_twilio_webhook import collect_view
from tracking.codes import format_prefill, new_code
from tracking.contacts import contacts_meant
from tracking.models import Messenger, PageView
from tracking.periods import utc_now
from tracking.store.sqlite import SQLiteStore
from webhooks.app import TRACKER

T = TypeVar("T")


async def test_forget_erases_dialogs_messages_alerts_and_visits(
    start_server: Any, http: aiohttp.ClientSession, tmp_path: Path
) -> None:
    server = await start_server()
    code = new_code()
    await collect_view(http, server, code, "https://studio.example/?utm_campaign=x")
    await server.post_twilio(http, twilio_form(format_prefill("Привет", code, "код"), sid="SMa"))
    await server.post_twilio(http, twilio_form("Привет", sid="SMb", From="whatsapp:+79160000000", WaId="79160000000"))
    assert await server.store.get_visit(code) is not None

    env = {**os.environ, "CHATTRACK_DATABASE_URL": server.settings.database_url}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "webhooks.cli",
        "forget",
        "8 (916) 123-45-67",
        env=env,
        cwd=Path(__file__).parent.parent,
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await process.communicate()

    assert process.returncode == 0
    assert "erased 1 dialog(s) of +79161234567" in out.decode()
    assert await server.store.find_dialogs(contact_id="+79161234567") == []
    assert await server.store.get_visit(code) is None
    assert await server.store.pending_alerts() == 1  # the other contact's alert stays
    assert len(await server.store.find_dialogs(contact_id="+79160000000")) == 1


async def test_expired_visits_are_purged(start_server: Any, http: aiohttp.ClientSession) -> None:
    server = await start_server(visit_retention_days=30)
    code = new_code()
    await collect_view(http, server, code, "https://studio.example/")
    tracker = server.app[TRACKER]
    assert await tracker.purge_expired_visits(utc_now() + timedelta(days=29)) == 0
    assert await server.store.get_visit(code) is not None
    assert await tracker.purge_expired_visits(utc_now() + timedelta(days=31)) == 1
    assert await server.store.get_visit(code) is None


async def test_forget_also_takes_what_the_browser_stored_during_its_scan(tmp_path: Path) -> None:
    """Visits have no index by visitor: forget scans on a reader first, then the write adds what the same
    browser stored meanwhile, so a page view landing between the two is erased too."""
    store = SQLiteStore(tmp_path / "forget.db")
    await store.open()
    now = utc_now()
    first, during = new_code(), new_code()
    await store.record_page_view(PageView(code=first, visitor_id="browser-1", url="https://shop.example/", at=now))
    await store.add_message(new_dialog(message(now), code=first))
    scan = store.runner.read

    async def scan_then_browse(work: Callable[[sqlite3.Connection], T]) -> T:
        found = await scan(work)
        page = PageView(code=during, visitor_id="browser-1", url="https://shop.example/prices", at=utc_now())
        await store.record_page_view(page)
        return found

    store.runner.read = scan_then_browse  # type: ignore[method-assign]

    assert await store.forget_contact(CONTACT) == 1

    assert await store.get_visit(first) is None and await store.get_visit(during) is None
    await store.close()


# What forget must leave nowhere on disk: the contact's phone, name and words, their visit's address, and the
# message's id (only a keyed hash of it is kept, to recognise a replay).
SECRETS = ("79165550199", "Zinaida Erasmova", "secret-words-4242", "203.0.113.77", "ErasedAgent/9.9", "SMerased4242")


def files_holding(path: Path, needles: tuple[str, ...]) -> dict[str, list[str]]:
    """Which of the database's files (main, WAL, shared memory) hold which needles, byte for byte."""
    found: dict[str, list[str]] = {}
    for name in (path.name, path.name + "-wal", path.name + "-shm"):
        one = path.with_name(name)
        if not one.exists():
            continue
        data = one.read_bytes()
        hits = [needle for needle in needles if needle.encode() in data]
        if hits:
            found[name] = hits
    return found


async def test_forget_leaves_no_trace_in_the_sqlite_files_while_readers_are_open(tmp_path: Path) -> None:
    """secure_delete zeroes what is deleted; a TRUNCATE checkpoint after the erase empties the WAL, which
    held the old pages. Readers stay open as in production: this store's own, and another copy's."""
    path = tmp_path / "chattrack.db"
    store, other_copy = SQLiteStore(path), SQLiteStore(path)
    await store.open()
    await other_copy.open()
    now = utc_now()
    code = new_code()
    view = PageView(
        code=code,
        visitor_id="browser-9",
        url="https://shop.example/",
        ip="203.0.113.77",
        user_agent="ErasedAgent/9.9",
        at=now,
    )
    await store.record_page_view(view)
    for n in range(30):  # other customers before and after, so pages are shared and reused
        await store.add_message(new_dialog(message(now, contact=f"+7926000{n:04d}", text=f"hello {n}")))
    secret = message(now, contact="+79165550199", text="secret-words-4242", message_id="SMerased4242")
    secret.contact_name = "Zinaida Erasmova"
    await store.add_message(new_dialog(secret, code=code))
    with sqlite3.connect(path) as side:  # the rows reach the database file itself, not only the WAL
        assert side.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()[0] == 0
    await store.add_message(new_dialog(message(now, contact="+79165550199", text="secret-words-4242 again")))  # joins
    for n in range(30, 60):
        await store.add_message(new_dialog(message(now, contact=f"+7926000{n:04d}", text=f"hello {n}")))
    before = files_holding(path, SECRETS)  # the test can see them before
    assert set(before["chattrack.db"]) == set(SECRETS) and "secret-words-4242" in before["chattrack.db-wal"]
    # Readers of this copy (lookups, the reader pool) and of the other copy have read, and stay open.
    assert await store.find_dialogs(contact_id="+79165550199")
    assert await store.list_dialogs(now - timedelta(days=1), now + timedelta(days=1))
    assert await other_copy.list_dialogs(now - timedelta(days=1), now + timedelta(days=1))
    assert await other_copy.get_visit(code) is not None
    idle = [sqlite3.connect(path, check_same_thread=False) for _ in range(3)]
    for reader in idle:
        reader.execute("SELECT count(*) FROM dialogs").fetchone()

    assert await store.forget_contact("+79165550199") == 1

    assert files_holding(path, SECRETS) == {}
    assert len(await other_copy.list_dialogs(now - timedelta(days=1), now + timedelta(days=1))) == 60
    for reader in idle:
        reader.close()
    await other_copy.close()
    await store.close()


async def test_a_replayed_twilio_request_after_forget_is_answered_and_stored_nowhere(
    start_server: Any, http: aiohttp.ClientSession
) -> None:
    server = await start_server()
    form = twilio_form("Здравствуйте, хочу записаться", sid="SMreplayed0000000000000000000001")
    first = await server.post_twilio(http, form)
    assert first.status == 200 and await server.store.pending_alerts() == 1
    assert await server.store.forget_contact("+79161234567") == 1

    replay = await server.post_twilio(http, form)  # the same signed request, byte for byte

    assert replay.status == 200  # Twilio stops retrying; a replayer learns nothing
    assert await server.store.find_dialogs(contact_id="+79161234567") == []
    assert await server.store.pending_alerts() == 0
    store = server.store
    assert isinstance(store, SQLiteStore)
    assert await store.read(lambda db: db.execute("SELECT COUNT(*) FROM messages").fetchone()[0]) == 0


async def run_forget(database_url: str, naming: str) -> str:
    env = {**os.environ, "CHATTRACK_DATABASE_URL": database_url}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "webhooks.cli", "forget", naming,
        env=env, cwd=Path(__file__).parent.parent, stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, _ = await process.communicate()
    assert process.returncode == 0
    return out.decode()


async def test_the_command_line_erases_telegram_customers_as_cards_show_them(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "chattrack.db")
    await store.open()
    now = utc_now()
    for contact, name in (("tg:777", "Ольга (@olga_flowers)"), ("tg:778", "Пётр"), ("tg:779", "Мария")):
        await seed_dialog(store, now, contact=contact, name=name, messenger=Messenger.TELEGRAM, business_number="@shop")
    url = f"sqlite:///{store.path}"

    outputs = [await run_forget(url, naming) for naming in ("@Olga_Flowers", "778", "@nobody_here")]

    assert outputs == [
        "erased 1 dialog(s) of tg:777, with their messages, alerts and visits\n",
        "erased 1 dialog(s) of tg:778, with their messages, alerts and visits\n",
        "nothing is stored about '@nobody_here': nothing erased\n",
    ]
    assert await store.find_dialogs(contact_id="tg:777") == [] and await store.find_dialogs(contact_id="tg:778") == []
    assert len(await store.find_dialogs(contact_id="tg:779")) == 1
    await store.close()


async def test_a_bare_number_that_is_both_a_phone_and_a_telegram_id_names_the_phone_only(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "chattrack.db")
    await store.open()
    now = utc_now()
    await seed_dialog(store, now, contact="+79160000001")
    await seed_dialog(store, now, contact="tg:9160000001", messenger=Messenger.TELEGRAM, business_number="@shop")

    assert await contacts_meant(store, "9160000001", "RU") == ["+79160000001"]  # as owners write phones
    assert await contacts_meant(store, "tg:9160000001", "RU") == ["tg:9160000001"]
    assert await contacts_meant(store, " +7 (916) 000-00-01 ", "RU") == ["+79160000001"]
    assert await contacts_meant(store, "9160000002", "RU") == []
    await store.close()


async def test_a_replayed_generic_request_after_forget_names_no_dialog(
    start_server: Any, http: aiohttp.ClientSession
) -> None:
    from tests.test_generic_webhook import SECRET, message, post

    server = await start_server(generic_webhook_secret=SECRET)
    body = message(message_id="wz-erased-1", contact_phone="+79161234567")
    status, answer = await post(http, server, body)
    assert status == 200 and "dialog" in answer
    assert await server.store.forget_contact("+79161234567") == 1

    assert await post(http, server, body) == (200, {"outcome": "erased"})  # no id of anything unstored
    assert await server.store.find_dialogs(contact_id="+79161234567") == []
