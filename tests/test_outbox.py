"""Lead alerts leave the persisted outbox for the (fake) Bot API: retries, backoff, several copies."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramBadRequest, TelegramNetworkError, TelegramRetryAfter, TelegramServerError
from aiogram.methods import SendMessage

from bot import outbox
from bot.outbox import FALLBACK_AFTER, SEND_TIMEOUT, AlertDispatcher, retry_delay
from tests.fakes.telegram_api import ApiCall, FakeTelegramAPI
from tracking.models import Attribution, AttributionStatus, Channel, Dialog, InboundMessage, Messenger
from tracking.periods import buckets_for
from tracking.store.base import NewDialog
from tracking.store.sqlite import SQLiteStore

OWNER, OTHER_OWNER = 111, 222
START = datetime(2026, 11, 27, 9, 30, tzinfo=UTC)
TOKEN = "123456:TEST-token"


class FakeClock:
    def __init__(self, now: datetime = START) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


async def queue_lead(
    store: SQLiteStore, *, at: datetime = START, chats: Sequence[int] = (OWNER,), **fields: Any
) -> Dialog:
    """A new dialog and its alerts, stored the way `Tracker.ingest` stores them."""
    contact = fields.pop("contact_id", "+7916" + str(uuid.uuid4().int)[:7])
    message = InboundMessage(
        provider="twilio",
        message_id=uuid.uuid4().hex,
        business_number="+79991234567",
        contact_id=contact,
        contact_phone=contact,
        contact_name=fields.pop("contact_name", "Анна"),
        text="Здравствуйте, сколько стоит?",
        received_at=at,
    )
    draft = Dialog(
        id=uuid.uuid4().hex,
        provider="twilio",
        messenger=Messenger.WHATSAPP,
        business_number=message.business_number,
        contact_id=contact,
        contact_phone=contact,
        contact_name=message.contact_name,
        started_at=at,
        last_message_at=at,
        is_repeat=False,
        buckets=buckets_for(at, ZoneInfo("UTC")),
        code="K7Q2M",
        status=AttributionStatus.EXACT,
        attribution=Attribution(
            channel=Channel.PAID_SEARCH, source="yandex", medium="cpc", campaign=fields.pop("campaign", "winter_sale")
        ),
        first_message=message.text,
        **fields,
    )
    new = NewDialog(message=message, draft=draft, dialog_gap=timedelta(hours=72), alert_chats=list(chats))
    return (await store.add_message(new)).dialog


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegramAPI]:
    async with FakeTelegramAPI() as api:
        yield api


@pytest.fixture
async def bot(fake: FakeTelegramAPI) -> AsyncIterator[Bot]:
    bot = Bot(TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(fake.url)))
    yield bot
    await bot.session.close()


def dialog_of(call: ApiCall) -> str:
    """The dialog id an alert is about, read back from its card button."""
    return str(call.params["reply_markup"]["inline_keyboard"][1][0]["callback_data"]).split(":")[1]


def is_ok(call: ApiCall) -> bool:
    return call.ok


async def test_kick_sends_a_new_alert_to_each_owner_at_once(
    store: SQLiteStore, fake: FakeTelegramAPI, bot: Bot
) -> None:
    first = await queue_lead(store, chats=[OWNER])
    # Nothing but a kick may wake it within the test: the next poll would come in an hour.
    dispatcher = AlertDispatcher(store, bot, owner_ids=[OWNER, OTHER_OWNER], poll_interval=3600)
    dispatcher.start()
    try:
        await fake.wait_for("sendMessage", is_ok)  # the backlog goes out at start
        second = await queue_lead(store, chats=[OWNER, OTHER_OWNER], at=datetime.now(UTC))
        dispatcher.kick()
        await fake.wait_for("sendMessage", is_ok, count=3, timeout=1)
    finally:
        await dispatcher.stop()

    sent = fake.sent_messages()
    assert sorted((c.params["chat_id"], dialog_of(c)) for c in sent) == sorted(
        [(OWNER, first.id), (OWNER, second.id), (OTHER_OWNER, second.id)]
    )
    assert all(c.params["parse_mode"] == "HTML" and "winter_sale" in c.params["text"] for c in sent)
    assert await store.pending_alerts() == 0
    assert dispatcher.sent == 3  # one outbox item per owner chat
    # Where each alert went is kept, so that erasing the contact can edit them (bot/privacy.py).
    assert await store.alert_messages(second.contact_id) == sorted(
        (c.params["chat_id"], c.result["message_id"]) for c in sent if dialog_of(c) == second.id
    )


async def test_retry_after_is_honoured_and_the_alert_is_sent_once(
    store: SQLiteStore, fake: FakeTelegramAPI, bot: Bot
) -> None:
    clock = FakeClock()
    await queue_lead(store)
    dispatcher = AlertDispatcher(store, bot, owner_ids=[OWNER], clock=clock)
    fake.fail_next("sendMessage", status=429, retry_after=7)

    assert await dispatcher.run_once() == 0
    assert await store.pending_alerts() == 1
    clock.advance(6.9)
    assert await dispatcher.run_once() == 0  # too early: Telegram asked for 7 seconds
    assert len(fake.calls_to("sendMessage")) == 1
    clock.advance(0.1)
    assert await dispatcher.run_once() == 1

    assert [c.status for c in fake.calls_to("sendMessage")] == [429, 200]
    assert len(fake.sent_messages(OWNER)) == 1
    assert await store.pending_alerts() == 0
    clock.advance(3600)
    assert await dispatcher.run_once() == 0  # nothing is left to send again


async def test_server_errors_are_retried_with_backoff_until_delivered(
    store: SQLiteStore, fake: FakeTelegramAPI, bot: Bot
) -> None:
    await queue_lead(store)
    fake.fail_next("sendMessage", 2, status=500)
    # The real clock and a 10 ms backoff: the loop itself waits for each retry.
    dispatcher = AlertDispatcher(store, bot, owner_ids=[OWNER], retry_base=0.01)
    dispatcher.start()
    try:
        await fake.wait_for("sendMessage", is_ok)
    finally:
        await dispatcher.stop()

    assert [c.status for c in fake.calls_to("sendMessage")] == [500, 500, 200]
    assert await store.pending_alerts() == 0
    assert (dispatcher.sent, dispatcher.failed) == (1, 2)


async def test_unreachable_api_keeps_the_alert_pending_until_it_recovers(
    store: SQLiteStore, fake: FakeTelegramAPI, bot: Bot
) -> None:
    clock = FakeClock()
    await queue_lead(store)
    dispatcher = AlertDispatcher(store, bot, owner_ids=[OWNER], retry_base=2, clock=clock)
    fake.fail_next("sendMessage", 2, status="unreachable")

    assert await dispatcher.run_once() == 0
    clock.advance(2)
    assert await dispatcher.run_once() == 0  # second attempt, dropped again
    clock.advance(3.9)
    assert await dispatcher.run_once() == 0  # backoff doubled to 4 s
    assert await store.pending_alerts() == 1
    clock.advance(0.1)
    assert await dispatcher.run_once() == 1

    assert [c.status for c in fake.calls_to("sendMessage")] == [0, 0, 200]
    assert await store.pending_alerts() == 0


async def test_owner_who_has_not_started_the_bot_is_retried_at_the_slowest_pace(
    store: SQLiteStore, fake: FakeTelegramAPI, bot: Bot
) -> None:
    clock = FakeClock()
    await queue_lead(store)
    dispatcher = AlertDispatcher(store, bot, owner_ids=[OWNER], retry_max=300, clock=clock)
    fake.fail_next("sendMessage", status=400, description="Bad Request: chat not found")

    assert await dispatcher.run_once() == 0
    clock.advance(299)
    assert await dispatcher.run_once() == 0
    assert len(fake.calls_to("sendMessage")) == 1
    clock.advance(1)
    assert await dispatcher.run_once() == 1
    assert len(fake.sent_messages(OWNER)) == 1


def test_retry_delay_policy() -> None:
    method = SendMessage(chat_id=1, text="x")
    server, network = TelegramServerError(method, "boom"), TelegramNetworkError(method, "down")
    assert [retry_delay(server, n, base=2, cap=30) for n in range(1, 7)] == [2, 4, 8, 16, 30, 30]
    assert retry_delay(network, 3, base=1, cap=300) == 4
    assert retry_delay(TelegramRetryAfter(method, "slow down", retry_after=42), 1, base=2, cap=30) == 42
    assert retry_delay(TelegramBadRequest(method, "chat not found"), 1, base=2, cap=30) == 30


async def test_two_copies_on_one_database_send_each_alert_once(tmp_path: Path, fake: FakeTelegramAPI, bot: Bot) -> None:
    stores = [SQLiteStore(tmp_path / "shared.db"), SQLiteStore(tmp_path / "shared.db")]
    for s in stores:
        await s.open()
    dialogs = [await queue_lead(stores[i % 2]) for i in range(30)]
    second_bot = Bot(TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(fake.url)))
    copies = [
        AlertDispatcher(stores[0], bot, owner_ids=[OWNER], batch=4),
        AlertDispatcher(stores[1], second_bot, owner_ids=[OWNER], batch=4),
    ]
    try:
        for copy in copies:
            copy.start()
        await fake.wait_for("sendMessage", is_ok, count=30)
    finally:
        for copy in copies:
            await copy.stop()
        await second_bot.session.close()

    sent_for = sorted(dialog_of(c) for c in fake.sent_messages())
    assert sent_for == sorted(d.id for d in dialogs)  # every alert, none twice
    assert sum(copy.sent for copy in copies) == 30
    assert await stores[0].pending_alerts() == 0
    for s in stores:
        await s.close()


async def test_without_a_token_alerts_are_logged_without_personal_data_and_kept(
    store: SQLiteStore, caplog: pytest.LogCaptureFixture
) -> None:
    clock = FakeClock()
    dialog = await queue_lead(store, contact_id="+79161112233", contact_name="Пётр")
    dispatcher = AlertDispatcher(store, None, owner_ids=[OWNER], retry_max=300, clock=clock)
    caplog.set_level(logging.INFO, logger="chattrack.bot.outbox")

    assert await dispatcher.run_once() == 0
    clock.advance(300)
    assert await dispatcher.run_once() == 0  # looked again, said nothing new

    lines = [r.getMessage() for r in caplog.records if dialog.id in r.getMessage()]
    assert len(lines) == 1
    assert "paid_search" in lines[0] and "winter_sale" in lines[0]
    log_text = caplog.text
    assert "79161112233" not in log_text and "Пётр" not in log_text and "сколько стоит" not in log_text
    assert await store.pending_alerts() == 1


async def test_a_campaign_name_cannot_forge_lines_in_the_log(
    store: SQLiteStore, caplog: pytest.LogCaptureFixture
) -> None:
    forged = "x\n2026-12-06 07:00:00 WARNING chattrack.http: admin token accepted\u202e"
    dialog = await queue_lead(store, campaign=forged)
    caplog.set_level(logging.INFO, logger="chattrack.bot.outbox")
    await AlertDispatcher(store, None, owner_ids=[OWNER], clock=FakeClock()).run_once()
    [line] = [r.getMessage() for r in caplog.records if dialog.id in r.getMessage()]
    assert "\n" not in line and "\u202e" not in line and "admin token accepted" in line


async def test_alerts_for_the_owners_wait_for_an_owner_then_reach_each(
    store: SQLiteStore, fake: FakeTelegramAPI, bot: Bot
) -> None:
    clock = FakeClock()
    dialog = await queue_lead(store, chats=[0])  # queued while no owner was configured
    before = AlertDispatcher(store, bot, owner_ids=[], retry_max=300, clock=clock)
    assert await before.run_once() == 0
    assert fake.calls_to("sendMessage") == []
    assert await store.pending_alerts() == 1

    clock.advance(300)  # restarted with two owners configured
    after = AlertDispatcher(store, bot, owner_ids=[OWNER, OTHER_OWNER], retry_max=300, clock=clock)
    assert await after.run_once() == 1
    assert sorted(c.params["chat_id"] for c in fake.sent_messages()) == [OWNER, OTHER_OWNER]
    assert {dialog_of(c) for c in fake.sent_messages()} == {dialog.id}
    assert await store.pending_alerts() == 0


async def test_an_owner_already_served_is_not_sent_the_alert_again_on_retry(
    store: SQLiteStore, fake: FakeTelegramAPI, bot: Bot
) -> None:
    clock = FakeClock()
    await queue_lead(store, chats=[0])
    dispatcher = AlertDispatcher(store, bot, owner_ids=[OWNER, OTHER_OWNER], retry_base=1, clock=clock)
    fake.fail_next("sendMessage", status=500, when=lambda c: c.params.get("chat_id") == OTHER_OWNER)

    assert await dispatcher.run_once() == 0
    clock.advance(1)
    assert await dispatcher.run_once() == 1

    assert [(c.params["chat_id"], c.status) for c in fake.calls_to("sendMessage")] == [
        (OWNER, 200),
        (OTHER_OWNER, 500),
        (OTHER_OWNER, 200),
    ]


# alerts Telegram refuses, alerts that cannot be rendered, slow answers ------------------------------------


def refused_unless_plain(call: ApiCall) -> bool:
    return str(call.params.get("parse_mode", "")).upper() == "HTML"


async def test_an_alert_telegram_keeps_refusing_goes_out_plain_at_the_fifth_attempt(
    store: SQLiteStore, fake: FakeTelegramAPI, bot: Bot
) -> None:
    clock = FakeClock()
    dialog = await queue_lead(store, contact_id="+79161112233")
    dispatcher = AlertDispatcher(store, bot, owner_ids=[OWNER], retry_max=300, clock=clock)
    # Every marked-up send fails, as a message Telegram cannot parse would, for ever.
    reason = "Bad Request: can't parse entities: Unsupported start tag at byte offset 42"
    fake.fail_next("sendMessage", 1000, status=400, description=reason, when=refused_unless_plain)

    for _ in range(FALLBACK_AFTER - 1):
        assert await dispatcher.run_once() == 0
        clock.advance(300)
    assert await store.pending_alerts() == 1
    assert await dispatcher.run_once() == 1
    clock.advance(3600)
    assert await dispatcher.run_once() == 0  # delivered: never sent again

    calls = fake.calls_to("sendMessage")
    assert [c.status for c in calls] == [400] * FALLBACK_AFTER + [200]
    plain = calls[-1].params
    assert "parse_mode" not in plain or plain["parse_mode"] in (None, "")
    assert plain["text"] == (
        "🆕 Новая заявка · WhatsApp\n👤 +7 916 111-22-33\n"
        f"Не получилось показать уведомление целиком. Карточка диалога: /dialog {dialog.id}"
    )
    assert plain["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == f"card:{dialog.id}"
    assert await store.pending_alerts() == 0


async def test_a_refused_alert_before_the_fifth_attempt_is_retried_in_full(
    store: SQLiteStore, fake: FakeTelegramAPI, bot: Bot
) -> None:
    clock = FakeClock()
    await queue_lead(store)
    dispatcher = AlertDispatcher(store, bot, owner_ids=[OWNER], retry_max=300, clock=clock)
    fake.fail_next("sendMessage", 2, status=400, description="Bad Request: chat not found")

    for _ in range(3):
        await dispatcher.run_once()
        clock.advance(300)

    # The owner started the bot meanwhile: the alert arrives whole, not in the plain form.
    assert [c.status for c in fake.calls_to("sendMessage")] == [400, 400, 200]
    assert fake.sent_messages()[0].params["parse_mode"] == "HTML"


async def test_an_alert_that_cannot_be_rendered_goes_out_plain_at_once(
    store: SQLiteStore, fake: FakeTelegramAPI, bot: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    dialog = await queue_lead(store, contact_id="+79161112233", contact_name="Пётр")

    def broken(*_: object, **__: object) -> str:
        raise ValueError("Invalid IPv6 URL")  # what a click page "http://[" once did to the renderer

    monkeypatch.setattr(outbox, "render_alert", broken)
    dispatcher = AlertDispatcher(store, bot, owner_ids=[OWNER], lang="en", clock=FakeClock())

    assert await dispatcher.run_once() == 1
    [sent] = fake.sent_messages(OWNER)
    assert sent.params["text"].startswith("🆕 New lead · WhatsApp\n👤 +7 916 111-22-33\n")
    assert f"/dialog {dialog.id}" in sent.params["text"]
    assert await store.pending_alerts() == 0


async def test_a_slow_answer_from_telegram_is_waited_for_not_sent_again(
    store: SQLiteStore, fake: FakeTelegramAPI, bot: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = FakeClock()
    await queue_lead(store)
    dispatcher = AlertDispatcher(store, bot, owner_ids=[OWNER], retry_base=1, clock=clock)
    held = fake.hold_next("sendMessage")
    sending = asyncio.create_task(dispatcher.run_once())
    await held.arrived.wait()

    # Telegram takes a minute to answer: move the loop's clock past the Bot API's own ~60 s, so every timer
    # due by then fires (an aiohttp timeout shorter than that gives the send up), then let the answer go.
    loop = asyncio.get_running_loop()
    real_time = loop.time
    monkeypatch.setattr(loop, "time", lambda: real_time() + 61)
    held.release()
    delivered = await sending
    clock.advance(3600)
    assert await dispatcher.run_once() == 0

    assert delivered == 1
    assert [c.status for c in fake.calls_to("sendMessage")] == [200]  # one send, no duplicate
    assert await store.pending_alerts() == 0
    assert SEND_TIMEOUT > 60
