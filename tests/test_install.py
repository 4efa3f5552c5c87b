"""Installation signs (tracking/install.py): written to the store's marks at most once a minute per key, tell-once
notices decided by the store across copies and given back when nobody got them, the flood of new sites an
outsider can post capped, silence told once per silence, the demo ignored; each provider webhook's refusal
recorded with its reason, through the real server."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from twilio.request_validator import RequestValidator

from tests.conftest import TWILIO_TOKEN, RunningServer, twilio_form
from tests.seed import utc
from tracking.install import (
    FIRST_MESSAGE,
    NEW_HOSTS_PER_HOUR,
    Installation,
    site_host,
)
from tracking.models import InboundMessage
from tracking.service import Tracker
from tracking.settings import Settings
from tracking.store.sqlite import SQLiteStore
from webhooks.health import INSTALL

T0 = utc("2026-11-26 09:00")


class Clock:
    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


class Notices:
    """A Notifier that records what it sent; `reachable` and `works` say how the bot fares."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, Any]]] = []
        self.reachable: bool | None = True
        self.works = True

    async def reach(self) -> bool | None:
        return self.reachable

    async def send(self, key: str, values: dict[str, Any]) -> bool:
        if self.works:
            self.sent.append((key, values))
        return self.works

    def keys(self) -> list[str]:
        return [key for key, _ in self.sent]


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def settings(make_settings: Callable[..., Settings]) -> Settings:
    return make_settings()


def installation(store: SQLiteStore, settings: Settings, clock: Clock) -> tuple[Installation, Notices]:
    install = Installation(store, settings, clock=clock)
    notices = Notices()
    install.notifier = notices
    return install, notices


def message(provider: str = "twilio", message_id: str = "m1") -> InboundMessage:
    return InboundMessage(
        provider=provider,
        message_id=message_id,
        business_number="+79991234567",
        contact_id="+79161234567",
        contact_phone="+79161234567",
        text="Здравствуйте",
        received_at=T0,
    )


# the site's snippet -------------------------------------------------------------------------------


def test_site_host_is_the_host_as_the_owner_names_it() -> None:
    assert site_host("https://www.Salon.ru/цены?a=b") == ("salon.ru", "www.salon.ru")
    assert site_host("http://127.0.0.1:8080/demo") == ("127.0.0.1", "127.0.0.1:8080")
    assert site_host("https://user@shop.example.com./") == ("shop.example.com", "shop.example.com")
    assert site_host("not a url") is None


async def test_a_site_is_written_once_a_minute_and_told_once(
    store: SQLiteStore, settings: Settings, clock: Clock
) -> None:
    install, notices = installation(store, settings, clock)
    install.page_view("https://salon.ru/")
    await install.settled()
    first = await store.get_mark("site:salon.ru")
    assert first == {"first_view_at": T0.isoformat(), "last_view_at": T0.isoformat()}
    assert notices.sent == [("notice_site", {"host": "salon.ru"})]
    assert await store.get_mark("told:site:salon.ru") is not None

    clock.advance(seconds=30)
    for _ in range(100):  # page views within the minute: nothing written, nothing told
        install.page_view("https://www.salon.ru/prices")
    assert not install._tasks
    await install.settled()
    assert await store.get_mark("site:salon.ru") == first

    clock.advance(seconds=31)
    install.page_view("https://salon.ru/")
    await install.settled()
    mark = await store.get_mark("site:salon.ru")
    assert mark == {"first_view_at": T0.isoformat(), "last_view_at": clock.now.isoformat()}
    assert notices.keys() == ["notice_site"]


async def test_the_servers_own_pages_and_hosts_outside_the_site_origins_are_no_site(
    store: SQLiteStore, make_settings: Callable[..., Settings], clock: Clock
) -> None:
    settings = make_settings(public_url="https://track.salon.ru", site_origins="https://salon.ru")
    install, notices = installation(store, settings, clock)
    install.page_view("http://127.0.0.1:8080/demo", own_netloc="127.0.0.1:8080")  # the demo, served here
    install.page_view("https://track.salon.ru/demo")  # the same behind the public address
    install.page_view("https://attacker.example/")  # not one of CHATTRACK_SITE_ORIGINS
    install.page_view("https://salon.ru/")
    await install.settled()
    assert list(await store.marks("site:")) == ["site:salon.ru"]
    assert notices.keys() == ["notice_site"]


async def test_new_sites_an_outsider_posts_are_capped_per_hour(
    store: SQLiteStore, settings: Settings, clock: Clock
) -> None:
    install, notices = installation(store, settings, clock)
    for n in range(50):
        install.page_view(f"https://spam{n}.example/")
    await install.settled()
    assert len(await store.marks("site:")) == NEW_HOSTS_PER_HOUR
    assert len(notices.sent) == NEW_HOSTS_PER_HOUR
    install.page_view("https://spam0.example/")  # a site already recorded is still followed
    clock.advance(hours=1)
    install.page_view("https://salon.ru/")
    await install.settled()
    assert "site:salon.ru" in await store.marks("site:")
    assert len(notices.sent) == NEW_HOSTS_PER_HOUR + 1


async def test_known_sites_spend_no_budget_after_a_restart(
    store: SQLiteStore, settings: Settings, clock: Clock
) -> None:
    for n in range(NEW_HOSTS_PER_HOUR):
        await store.add_mark(f"site:old{n}.example", {"first_view_at": T0.isoformat(), "last_view_at": T0.isoformat()})
    install, _ = installation(store, settings, clock)
    await install.load()
    for n in range(NEW_HOSTS_PER_HOUR):
        install.page_view(f"https://old{n}.example/")
    install.page_view("https://salon.ru/")
    await install.settled()
    assert "site:salon.ru" in await store.marks("site:")


async def test_two_copies_of_the_server_tell_the_owner_once(settings: Settings, clock: Clock, tmp_path: Path) -> None:
    stores = [SQLiteStore(tmp_path / "chattrack.db"), SQLiteStore(tmp_path / "chattrack.db")]
    for one in stores:
        await one.open()
    try:
        copies = [installation(one, settings, clock) for one in stores]
        for install, _ in copies:
            install.page_view("https://salon.ru/")
            install.click()
            install.message(message(), None)  # type: ignore[arg-type]  # the observer reads no result
        for install, _ in copies:
            await install.settled()
        sent = sorted(key for _, notices in copies for key in notices.keys())
        assert sent == ["notice_click", "notice_provider", "notice_site"]
        for install, _ in copies:  # decided: remembered in memory, no store read again
            install.click()
            assert not install._tasks
    finally:
        for one in stores:
            await one.close()


async def test_a_notice_nobody_got_is_given_back_and_sent_at_a_later_sign(
    store: SQLiteStore, settings: Settings, clock: Clock
) -> None:
    install, notices = installation(store, settings, clock)
    notices.reachable = False  # nobody owns the bot yet
    install.click()
    await install.settled()
    assert notices.sent == [] and await store.get_mark("told:click") is None

    notices.reachable, notices.works = True, False  # Telegram refuses
    clock.advance(seconds=61)
    install.click()
    await install.settled()
    assert notices.sent == [] and await store.get_mark("told:click") is None

    notices.works = True
    clock.advance(seconds=30)
    install.click()  # within the minute: not tried again yet
    await install.settled()
    assert notices.sent == []
    clock.advance(seconds=31)
    install.click()
    await install.settled()
    assert notices.keys() == ["notice_click"]
    assert await store.get_mark("told:click") is not None


async def test_without_a_bot_notices_are_only_logged(
    store: SQLiteStore, settings: Settings, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    install = Installation(store, settings, clock=clock)
    caplog.set_level("INFO", logger="chattrack.install")
    install.click()
    await install.settled()
    assert "notice_click" in caplog.text
    assert await store.get_mark("told:click") is None  # a bot configured later still tells the owner


# providers -------------------------------------------------------------------------------------------


async def test_a_providers_messages_are_signs_and_its_first_is_told_once(
    store: SQLiteStore, settings: Settings, clock: Clock
) -> None:
    install, notices = installation(store, settings, clock)
    tracker = Tracker(store, settings)
    tracker.observers.append(install.message)
    await tracker.ingest(message("twilio", "m1"))
    await install.settled()
    assert await store.get_mark("provider:twilio") == {"last_message_at": T0.isoformat()}
    assert await store.get_mark(FIRST_MESSAGE) == {"provider": "twilio", "at": T0.isoformat()}
    assert notices.sent == [("notice_provider", {"provider": "Twilio"})]

    clock.advance(minutes=5)
    await tracker.ingest(message("generic:wazzup", "m2"))
    await tracker.ingest(message("twilio", "m3"))
    await install.settled()
    assert await store.get_mark(FIRST_MESSAGE) == {"provider": "twilio", "at": T0.isoformat()}
    assert await store.get_mark("provider:twilio") == {"last_message_at": clock.now.isoformat()}
    assert notices.sent[1:] == [("notice_provider", {"provider": "wazzup"})]


async def test_the_demo_is_no_sign(store: SQLiteStore, settings: Settings, clock: Clock) -> None:
    install, notices = installation(store, settings, clock)
    install.message(message("demo"), None)  # type: ignore[arg-type]
    await install.settled()
    assert await store.marks("provider:") == {}
    assert await store.get_mark(FIRST_MESSAGE) is None
    assert notices.sent == []


async def test_silence_is_told_once_per_silence(store: SQLiteStore, settings: Settings, clock: Clock) -> None:
    assert settings.provider_silence_hours == 24
    install, notices = installation(store, settings, clock)
    install.message(message(), None)  # type: ignore[arg-type]
    await install.settled()
    notices.sent.clear()

    clock.advance(hours=23)
    await install.check_silence()
    assert notices.sent == []
    clock.advance(hours=1)
    await install.check_silence()
    await install.check_silence()
    assert notices.sent == [("notice_silent", {"provider": "Twilio", "since": T0})]

    # a later message, then silence again: told again, once
    install.message(message(message_id="m2"), None)  # type: ignore[arg-type]
    await install.settled()
    again = clock.now
    clock.advance(hours=25)
    other = Installation(store, settings, clock=clock)  # another process, or after a restart
    other.notifier = notices
    await other.check_silence()
    await install.check_silence()
    assert notices.sent[1:] == [("notice_silent", {"provider": "Twilio", "since": again})]


async def test_customers_of_the_bot_itself_are_never_silent(
    store: SQLiteStore, settings: Settings, clock: Clock
) -> None:
    install, notices = installation(store, settings, clock)
    install.message(message("telegram"), None)  # type: ignore[arg-type]
    await install.settled()
    assert notices.keys() == ["notice_provider"]
    clock.advance(days=3)
    await install.check_silence()
    assert notices.keys() == ["notice_provider"]


async def test_silence_of_zero_hours_is_never_told(
    store: SQLiteStore, make_settings: Callable[..., Settings], clock: Clock
) -> None:
    install, notices = installation(store, make_settings(provider_silence_hours=0), clock)
    install.message(message(), None)  # type: ignore[arg-type]
    await install.settled()
    notices.sent.clear()
    clock.advance(days=30)
    await install.check_silence()
    assert notices.sent == []


# refusals through the real server -----------------------------------------------------------------------

SECRETS = {
    "meta_app_secret": "meta-secret",
    "greenapi_webhook_token": "green-token",
    "wazzup_crm_key": "wazzup-key",
    "generic_webhook_secret": "generic-secret",
}


@pytest.fixture
async def server(start_server: Callable[..., Any]) -> AsyncIterator[RunningServer]:
    yield await start_server(public_url="https://chat.salon.ru", **SECRETS)


async def refusals(server: RunningServer) -> dict[str, Any]:
    await server.app[INSTALL].settled()
    marks = await server.store.marks("provider:")
    return {key.removeprefix("provider:"): mark.get("last_refusal") for key, mark in marks.items()}


async def test_each_webhooks_refusal_is_recorded_with_its_reason(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    # Twilio signs the public address: a signature over the local one does not match
    form = twilio_form("Здравствуйте")
    local = server.url + "/webhooks/twilio"
    signature = RequestValidator(TWILIO_TOKEN).compute_signature(local, form)
    response = await server.post_twilio(http, form, signature=signature)
    assert response.status == 403
    body = json.dumps({"object": "whatsapp_business_account", "entry": []}).encode()
    wrong = "sha256=" + hmac.new(b"another-secret", body, hashlib.sha256).hexdigest()
    headers = {"Content-Type": "application/json"}
    async with http.post(
        server.url + "/webhooks/meta", data=body, headers={**headers, "X-Hub-Signature-256": wrong}
    ) as answer:
        assert answer.status == 403
    async with http.post(
        server.url + "/webhooks/greenapi", data=b"{}", headers={**headers, "Authorization": "Bearer stale-token"}
    ) as answer:
        assert answer.status == 403
    async with http.post(server.url + "/webhooks/wazzup?crmKey=old-key", data=b"{}", headers=headers) as answer:
        assert answer.status == 403
    async with http.post(
        server.url + "/webhooks/generic", data=body, headers={**headers, "X-Chattrack-Signature": wrong}
    ) as answer:
        assert answer.status == 403
    assert await refusals(server) == {
        "twilio": "signature",
        "meta": "signature",
        "greenapi": "key",
        "wazzup": "key",
        "generic": "signature",
    }
    mark = await server.store.get_mark("provider:twilio")
    assert mark is not None and datetime.fromisoformat(mark["last_refusal_at"]) <= datetime.now(tz=T0.tzinfo)


async def test_a_refusal_flood_writes_once_a_minute(server: RunningServer, http: aiohttp.ClientSession) -> None:
    install = server.app[INSTALL]
    clock = Clock()
    install.clock = clock
    for _ in range(20):
        await server.post_twilio(http, twilio_form("Здравствуйте"), signature="forged")
        clock.advance(seconds=1)
    assert (await refusals(server))["twilio"] == "signature"
    first = (await server.store.get_mark("provider:twilio") or {})["last_refusal_at"]
    assert first == T0.isoformat()
    clock.advance(seconds=41)
    await server.post_twilio(http, twilio_form("Здравствуйте"), signature="forged")
    await install.settled()
    assert (await server.store.get_mark("provider:twilio") or {})["last_refusal_at"] == clock.now.isoformat()


async def test_an_unset_secret_is_recorded_as_such(
    start_server: Callable[..., Any], http: aiohttp.ClientSession
) -> None:
    server = await start_server(twilio_auth_token=None)
    response = await server.post_twilio(http, twilio_form("Здравствуйте"), signature="anything")
    assert response.status == 403
    async with http.get(server.url + "/webhooks/meta?hub.mode=subscribe&hub.verify_token=x") as answer:
        assert answer.status == 403
    assert await refusals(server) == {"twilio": "unset", "meta": "verify"}


async def test_collect_records_the_site_and_the_first_marked_click(
    start_server: Callable[..., Any], http: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    server = await start_server()
    caplog.set_level("INFO", logger="chattrack.install")
    view = {"t": "view", "c": "7K3M9QE", "v": "visitor-0001", "u": "https://www.salon.ru/prices"}
    async with http.post(server.url + "/collect", data=json.dumps(view)) as answer:
        assert answer.status == 200
        code = (await answer.json())["code"]
    click = {**view, "t": "click", "c": code, "h": "79991234567"}
    async with http.post(server.url + "/collect", data=json.dumps({**click, "v": "someone-else"})) as answer:
        assert answer.status == 200  # not the browser that holds the code: no marked click
    await server.app[INSTALL].settled()
    assert "notice_click" not in caplog.text
    async with http.post(server.url + "/collect", data=json.dumps(click)) as answer:
        assert answer.status == 200
    await server.app[INSTALL].settled()
    mark = await server.store.get_mark("site:salon.ru")
    assert mark is not None and mark["first_view_at"] == mark["last_view_at"]
    assert "notice_site" in caplog.text and "notice_click" in caplog.text  # no bot: said in the log
