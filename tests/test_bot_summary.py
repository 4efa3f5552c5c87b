"""The daily summary: each member's time, once only across runs and copies, caught up the same day only.

The job is called directly with a controllable clock (`DailySummaries.run_due`); one test starts the real
server to check the APScheduler wiring and the catch-up pass it runs at start.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiogram import Bot
from apscheduler.triggers.interval import IntervalTrigger

from bot.runtime import create_bot
from bot.summary import JOB_ID, DailySummaries
from reports.schedule import SUMMARY_LEASE
from tests import test_bot_commands as bot_tests
from tests.seed import BUSINESS, seed_dialog, utc
from tests.test_bot_commands import OWNER, STAFF, TOKEN, BotAPI, RunBot, add_staff, shown, to_chat
from tests.test_outbox import FakeClock
from tracking.models import Channel
from tracking.settings import Settings
from tracking.store.base import StoreUnavailable, SummaryChoice
from tracking.store.sqlite import SQLiteStore

api, run_bot = bot_tests.api, bot_tests.run_bot  # the shared fixtures (the store is conftest's)

# Moscow is UTC+3: 05:30 UTC is 08:30 there. "Yesterday" for Thursday 26 November is Wednesday the 25th.
THU_0830 = utc("2026-11-26 05:30")
THU_0905 = utc("2026-11-26 06:05")
THU_1400 = utc("2026-11-26 11:00")
KEY_STAFF, KEY_OWNER = f"summary:{STAFF}:2026-11-25", f"summary:{OWNER}:2026-11-25"


async def seed_wednesday(store: SQLiteStore) -> None:
    await seed_dialog(store, utc("2026-11-25 07:00"), channel=Channel.PAID_SEARCH, source="yandex")
    await seed_dialog(store, utc("2026-11-25 09:00"), channel=Channel.PAID_SEARCH, source="google")
    await seed_dialog(store, utc("2026-11-25 12:00"), channel=Channel.DIRECT)
    await seed_dialog(store, utc("2026-11-24 12:00"), channel=Channel.DIRECT)  # the day before


@pytest.fixture
def settings(make_settings: Callable[..., Settings], api: BotAPI) -> Callable[..., Settings]:
    def make(**overrides: Any) -> Settings:
        values = {"telegram_bot_token": TOKEN, "telegram_owner_ids": str(OWNER), "telegram_api_url": api.url}
        return make_settings(**{**values, **overrides})

    return make


@pytest.fixture
async def bot(settings: Callable[..., Settings]) -> AsyncIterator[Bot]:
    bot = create_bot(settings())
    assert bot is not None
    yield bot
    await bot.session.close()


@pytest.fixture
async def replica_store(tmp_path: Path, store: SQLiteStore) -> AsyncIterator[SQLiteStore]:
    """Another copy of the server's connection to the same database file."""
    other = SQLiteStore(tmp_path / "chattrack.db")
    await other.open()
    yield other
    await other.close()


class FinishFailsOnce(SQLiteStore):
    """A copy's store that is unreachable just when a sent summary is recorded as done."""

    finish_calls = 0

    async def finish_job(self, key: str, now: datetime) -> None:
        self.finish_calls += 1
        if self.finish_calls == 1:
            raise StoreUnavailable("database is locked")
        await super().finish_job(key, now)


def photos_to(api: BotAPI, chat: int) -> list[bytes]:
    return [c.params["photo"] for c in api.calls_to("sendPhoto", to_chat(chat))]


async def test_each_member_gets_it_once_at_their_time_whichever_copy_runs(
    api: BotAPI, store: SQLiteStore, replica_store: SQLiteStore, bot: Bot, settings: Callable[..., Settings]
) -> None:
    await seed_wednesday(store)
    await add_staff(store, STAFF, at=THU_0830 - timedelta(days=10))
    chosen = SummaryChoice(user_id=STAFF, at="08:00", lang="en", chosen_at=THU_0830 - timedelta(days=2))
    await store.set_summary_choice(chosen)
    clock = FakeClock(THU_0830)
    config = settings(summary_time="09:00")  # the owners' default; the owner never chose one
    first = DailySummaries(store, bot, config, clock=clock)
    second = DailySummaries(replica_store, bot, config, clock=clock)

    at_0830 = [await first.run_due(), await first.run_due(), await second.run_due()]
    clock.now = THU_0905
    at_0905 = [await second.run_due(), await first.run_due(), await second.run_due()]

    assert at_0830 == [[KEY_STAFF], [], []]
    assert at_0905 == [[KEY_OWNER], [], []]
    staff_photo = await api.wait_for("sendPhoto", to_chat(STAFF))
    staff_text = await api.wait_for("sendMessage", to_chat(STAFF))
    assert len(photos_to(api, STAFF)) == 1 and len(photos_to(api, OWNER)) == 1
    assert photos_to(api, STAFF)[0].startswith(b"\x89PNG\r\n\x1a\n")
    caption = shown(staff_photo, "caption")
    assert caption.startswith("Daily summary · Nov 25, 2026 (Wed)\nDialogs: 3\nNew: 3 (100%)")
    assert "Against the day before: +2 (+200%, was 1)" in caption
    assert shown(staff_text).startswith("Channels\n1. Paid search — 2 (67%)")  # the tops, not the caption again
    owner_caption = shown(api.calls_to("sendPhoto", to_chat(OWNER))[0], "caption")
    assert owner_caption.startswith("Итоги дня · 25 ноя 2026 (ср)")  # the bot's language for the default


async def test_a_summary_missed_while_down_is_caught_up_the_same_day_only(
    api: BotAPI, store: SQLiteStore, bot: Bot, settings: Callable[..., Settings]
) -> None:
    await seed_wednesday(store)
    config = settings(summary_time="09:00")
    clock = FakeClock(THU_1400)  # the server was down at 09:00

    caught_up = await DailySummaries(store, bot, config, clock=clock).run_due()
    after_restart = await DailySummaries(store, bot, config, clock=clock).run_due()
    clock.now = utc("2026-11-28 05:00")  # Saturday 08:00: down all Friday, Friday's summary is stale now
    saturday_early = await DailySummaries(store, bot, config, clock=clock).run_due()
    clock.now = utc("2026-11-28 06:00")
    saturday = await DailySummaries(store, bot, config, clock=clock).run_due()

    assert caught_up == [KEY_OWNER]
    assert after_restart == [] and saturday_early == []
    assert saturday == [f"summary:{OWNER}:2026-11-27"]
    photos = api.calls_to("sendPhoto", to_chat(OWNER))
    assert [shown(p, "caption").splitlines()[:2] for p in photos] == [
        ["Итоги дня · 25 ноя 2026 (ср)", "Диалоги: 3"],
        ["Итоги дня · 27 ноя 2026 (пт)", "Диалоги: 0"],  # the chart still shows the last two weeks
    ]
    assert len(api.sent_messages(OWNER)) == 1  # Friday had no tops to list after the caption


async def test_a_time_chosen_after_todays_slot_starts_tomorrow(
    api: BotAPI, store: SQLiteStore, bot: Bot, settings: Callable[..., Settings]
) -> None:
    clock = FakeClock(THU_1400)
    await store.set_summary_choice(SummaryChoice(user_id=OWNER, at="08:00", lang="ru", chosen_at=THU_1400))
    summaries = DailySummaries(store, bot, settings(), clock=clock)

    today = await summaries.run_due()
    clock.now = utc("2026-11-27 05:00")  # Friday 08:00

    assert today == []
    assert await summaries.run_due() == [f"summary:{OWNER}:2026-11-26"]


async def test_who_is_subscribed(store: SQLiteStore, bot: Bot, settings: Callable[..., Settings]) -> None:
    await add_staff(store, STAFF)
    await add_staff(store, 502)
    await store.set_summary_choice(SummaryChoice(user_id=STAFF, at="07:30", lang="en", chosen_at=THU_0830))
    await store.set_summary_choice(SummaryChoice(user_id=502, at="10:00", lang="ru", chosen_at=THU_0830))
    await store.set_summary_choice(SummaryChoice(user_id=777, at="10:00", lang="ru", chosen_at=THU_0830))
    await store.remove_staff(502)
    summaries = DailySummaries(store, bot, settings(telegram_owner_ids="111,222", summary_time="09:15"))
    await store.set_summary_choice(SummaryChoice(user_id=222, at=None, lang="ru", chosen_at=THU_0830))

    subscribed = await summaries.subscriptions()

    # Owner 111 keeps the default; owner 222 turned it off; 502 was removed; 777 was never a member.
    assert [(s.chat_id, f"{s.at:%H:%M}", s.lang, s.since) for s in subscribed] == [
        (OWNER, "09:15", "ru", None),
        (STAFF, "07:30", "en", THU_0830),
    ]
    assert {s.zone.key for s in subscribed} == {"Europe/Moscow"}
    no_default = DailySummaries(store, bot, settings())
    assert [s.chat_id for s in await no_default.subscriptions()] == [STAFF]


async def test_telegram_trouble_is_retried_and_the_summary_still_goes_once(
    api: BotAPI, store: SQLiteStore, bot: Bot, settings: Callable[..., Settings]
) -> None:
    await seed_wednesday(store)
    api.fail_next("sendPhoto", status=502)
    summaries = DailySummaries(store, bot, settings(summary_time="09:00"), clock=lambda: THU_1400, retry_delays=[0])

    assert await summaries.run_due() == [KEY_OWNER]
    assert [c.status for c in api.calls_to("sendPhoto")] == [502, 200]
    assert await summaries.run_due() == []


async def test_the_scheduler_runs_every_minute_and_catches_up_when_the_server_starts(
    run_bot: RunBot, api: BotAPI, store: SQLiteStore
) -> None:
    await seed_wednesday(store)
    runtime = await run_bot(clock=lambda: THU_1400, summary_time="09:00")

    photo = await api.wait_for("sendPhoto", to_chat(OWNER))

    assert shown(photo, "caption").startswith("Итоги дня · 25 ноя 2026 (ср)")
    assert runtime.summaries is not None and runtime.summaries.scheduler is not None
    job = runtime.summaries.scheduler.get_job(JOB_ID)
    assert isinstance(job.trigger, IntervalTrigger) and job.trigger.interval == timedelta(minutes=1)
    assert job.max_instances == 1 and job.coalesce is True
    await runtime.summaries.stop()  # lets the pass in flight finish
    assert await store.claim_job(KEY_OWNER, THU_1400 + timedelta(days=1), SUMMARY_LEASE) is False  # finished


async def test_a_summary_claimed_by_a_copy_that_died_before_sending_goes_out_once_its_lease_expired(
    api: BotAPI, store: SQLiteStore, replica_store: SQLiteStore, bot: Bot, settings: Callable[..., Settings]
) -> None:
    await seed_wednesday(store)
    config = settings(summary_time="09:00")
    assert await replica_store.claim_job(KEY_OWNER, THU_1400, SUMMARY_LEASE)  # as a copy does, then it is killed
    clock = FakeClock(THU_1400)
    survivor = DailySummaries(store, bot, config, clock=clock)

    while_leased = await survivor.run_due()
    clock.now = THU_1400 + SUMMARY_LEASE - timedelta(seconds=1)
    restarted_too_early = await DailySummaries(replica_store, bot, config, clock=clock).run_due()
    clock.now = THU_1400 + SUMMARY_LEASE
    expired = [await survivor.run_due(), await survivor.run_due()]
    clock.now = THU_1400 + 3 * SUMMARY_LEASE
    restarted_later = await DailySummaries(replica_store, bot, config, clock=clock).run_due()

    assert while_leased == [] and restarted_too_early == []
    assert expired == [[KEY_OWNER], []]
    assert restarted_later == []  # finished: never sent again
    assert len(photos_to(api, OWNER)) == 1


async def test_a_summary_that_failed_every_attempt_is_tried_again_once_its_lease_expired(
    api: BotAPI, store: SQLiteStore, bot: Bot, settings: Callable[..., Settings]
) -> None:
    await seed_wednesday(store)
    api.fail_next("sendPhoto", 2, status=502)  # both attempts of the first run
    config = settings(summary_time="09:00")
    clock = FakeClock(THU_1400)
    summaries = DailySummaries(store, bot, config, clock=clock, retry_delays=[0])

    given_up = await summaries.run_due()
    clock.now = THU_1400 + SUMMARY_LEASE - timedelta(seconds=1)
    while_leased = [await summaries.run_due(), await DailySummaries(store, bot, config, clock=clock).run_due()]
    clock.now = THU_1400 + SUMMARY_LEASE
    retried = [await summaries.run_due(), await summaries.run_due()]
    clock.now = THU_1400 + 3 * SUMMARY_LEASE
    afterwards = [await summaries.run_due(), await DailySummaries(store, bot, config, clock=clock).run_due()]

    assert given_up == [] and while_leased == [[], []]
    assert retried == [[KEY_OWNER], []]
    assert afterwards == [[], []]
    assert [c.status for c in api.calls_to("sendPhoto")] == [502, 502, 200]


async def test_two_quiet_weeks_give_a_text_summary_without_a_chart(
    api: BotAPI, store: SQLiteStore, bot: Bot, settings: Callable[..., Settings]
) -> None:
    await store.set_summary_choice(SummaryChoice(user_id=OWNER, at="09:00", lang="en", chosen_at=THU_0830))

    sent = await DailySummaries(store, bot, settings(), clock=lambda: THU_1400).run_due()

    assert sent == [KEY_OWNER]
    assert api.calls_to("sendPhoto") == []
    assert shown(api.sent_messages(OWNER)[0]).startswith("Daily summary · Nov 25, 2026 (Wed)\nDialogs: 0")


async def test_a_sent_summary_the_store_failed_to_record_is_recorded_by_the_next_run(
    tmp_path: Path, api: BotAPI, store: SQLiteStore, bot: Bot, settings: Callable[..., Settings]
) -> None:
    await seed_wednesday(store)
    config = settings(summary_time="09:00")
    flaky = FinishFailsOnce(tmp_path / "chattrack.db")
    await flaky.open()
    clock = FakeClock(THU_1400)
    summaries = DailySummaries(flaky, bot, config, clock=clock)

    sent = await summaries.run_due()
    clock.now = THU_1400 + timedelta(minutes=1)
    next_run = await summaries.run_due()
    clock.now = THU_1400 + 3 * SUMMARY_LEASE  # long after the lease: only `done` keeps another copy off
    another_copy = await DailySummaries(store, bot, config, clock=clock).run_due()
    await flaky.close()

    assert sent == [KEY_OWNER] and next_run == [] and another_copy == []
    assert flaky.finish_calls == 2
    assert len(photos_to(api, OWNER)) == 1


async def test_yesterdays_unanswered_customers_are_named_in_the_summary(
    api: BotAPI, store: SQLiteStore, bot: Bot, settings: Callable[..., Settings]
) -> None:
    """Named, or by their phone as people write it; eleven and more end «и ещё N». Answered dialogs, dialogs
    whose provider does not report replies (unknown) and another day's are not listed."""
    await store.reply_seen("test", BUSINESS, utc("2026-11-01 00:00"))
    for minute in range(12):  # Wednesday 10:00–10:11 Moscow, none answered
        name = None if minute == 1 else f"Клиент {minute:02d}"
        await seed_dialog(store, utc(f"2026-11-25 07:{minute:02d}"), contact=f"+791611122{minute:02d}", name=name)
    answered = await seed_dialog(store, utc("2026-11-25 08:00"), name="Ответили")
    await store.record_reply(answered.id, utc("2026-11-25 08:04"))
    await seed_dialog(store, utc("2026-11-25 08:30"), name="Неизвестно", business_number="+79990000002")
    await seed_dialog(store, utc("2026-11-24 08:00"), name="Позавчера")
    summaries = DailySummaries(store, bot, settings(summary_time="09:00"), clock=lambda: THU_0905)

    assert await summaries.run_due() == [KEY_OWNER]

    await api.wait_for("sendPhoto", to_chat(OWNER))
    text = shown(await api.wait_for("sendMessage", to_chat(OWNER))).replace("\u00a0", " ")
    lines = text.splitlines()
    assert "Ответили: 1 из 13 (8 %) · первый ответ: медиана 4 мин" in lines
    unanswered = lines[lines.index("Без ответа (12)") + 1]
    names = ", ".join(["Клиент 00", "+7 916 111-22-01", *(f"Клиент {m:02d}" for m in range(2, 10))])
    assert unanswered == f"{names} и ещё 2"
    assert "Неизвестно" not in text and "Позавчера" not in text and "Ответили," not in text
