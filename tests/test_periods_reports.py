"""Periods in the owner's words through the bot and the API: comparisons that say what they compare (cut at the
same time, or whole on request), /report by month or quarter, periods typed as people type them."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import aiohttp
import pytest

import webhooks.api
from bot.commands import bucket_period, pick_bucket
from tests.seed import MOSCOW, seed_report_fixture, utc
from tests.test_bot_commands import NOW, OWNER, BotAPI, Person, RunBot, api, run_bot, seed_week, shown
from tracking.store.base import Bucket
from tracking.store.sqlite import SQLiteStore

__all__ = ["api", "run_bot"]  # fixtures shared with test_bot_commands

TOKEN = "s3cret-api-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


# the bot -------------------------------------------------------------------------------------------


async def test_compare_says_the_earlier_week_is_cut_at_the_same_time_and_counts_it_whole_on_request(
    run_bot: RunBot, api: BotAPI, store: SQLiteStore
) -> None:
    await seed_week(store)  # last week: Mon 13:00 and Sun 23:30; this week so far (Thu 12:00): three
    await run_bot(clock=lambda: NOW)
    owner = Person(api, OWNER, "ru")

    owner.says("/compare неделя")
    cut = await owner.reads()
    owner.says("/compare неделя целиком")
    whole = await owner.reads()

    assert "А: 23–26 ноя 2026 (пока)\nБ: 16–19 ноя 2026, до 12:00 — по то же время" in cut
    assert "Диалоги: 3 против 1 —" in cut
    assert "Б: 16–22 ноя 2026 (целиком)" in whole and "Диалоги: 3 против 2 —" in whole


async def test_compare_in_english_whole_and_so_far(run_bot: RunBot, api: BotAPI, store: SQLiteStore) -> None:
    await seed_week(store)
    await run_bot(clock=lambda: NOW)
    owner = Person(api, OWNER, "en")

    owner.says("/compare week")
    cut = await owner.reads()
    owner.says("/compare week in full")
    whole = await owner.reads()

    assert "A: Nov 23–26, 2026 (so far)\nB: Nov 16–19, 2026, until 12:00 — to the same time" in cut
    assert "B: Nov 16–22, 2026 (in full)" in whole and "Dialogs: 3 vs 2 —" in whole


async def test_stats_over_periods_typed_as_people_type_them(run_bot: RunBot, api: BotAPI, store: SQLiteStore) -> None:
    await seed_week(store)
    await run_bot(clock=lambda: NOW)
    owner = Person(api, OWNER, "ru")

    owner.says("/stats в ноябре")
    november = await owner.reads()
    owner.says("/stats с 1 по 15 ноября")
    first_half = await owner.reads()
    owner.says("/stats 16.11-22.11")
    last_week = await owner.reads()

    assert november.startswith("Сводка · 1–26 ноя 2026 (пока)") and "Диалоги: 6\n" in november
    assert first_half.startswith("Сводка · 1–15 ноя 2026") and "Диалоги: 1\n" in first_half
    assert last_week.startswith("Сводка · 16–22 ноя 2026") and "Диалоги: 2\n" in last_week


async def test_an_unknown_period_answers_with_examples_that_work_in_the_owners_language(
    run_bot: RunBot, api: BotAPI
) -> None:
    await run_bot(clock=lambda: NOW)
    owner = Person(api, OWNER, "ru")

    owner.says("/stats на днях")
    russian = await owner.reads()
    owner.lang = "en"
    owner.says("/stats fortnight")
    answer = await owner.reads()
    owner.lang = "ru"

    assert russian.startswith("Не понял период «на днях». Примеры:")
    assert re.search(r"[A-Za-z]", russian) is None  # Russian examples only
    assert "с 1 по 15 ноября" in russian and "3 квартал" in russian
    assert answer.startswith("I don't know the period “fortnight”.") and "Nov 1-15" in answer
    examples = russian.split("Примеры: ", 1)[1].rstrip(".").split(", ")
    for example in examples:  # every example it gives works
        owner.says(f"/stats {example}")
        assert (await owner.reads()).startswith("Сводка · "), example


async def test_report_by_month_draws_a_year_of_months_and_lists_them(
    run_bot: RunBot, api: BotAPI, store: SQLiteStore
) -> None:
    await seed_week(store)
    await run_bot(clock=lambda: NOW)
    owner = Person(api, OWNER, "ru")

    owner.says("/report по месяцам")
    photo = await owner.gets("sendPhoto")
    details = await owner.reads()

    assert shown(photo, "caption").startswith("Сводка · 1 дек 2025 – 26 ноя 2026 (пока)")
    dynamics, _, channels = details.partition("\n\n")
    assert dynamics.startswith("Динамика · 1 дек 2025 – 26 ноя 2026 (пока)")
    bars = [line for line in dynamics.splitlines() if " — " in line]
    assert len(bars) == 12 and bars[-1].split(" — ")[1].startswith("6")
    assert channels.startswith("Каналы")


async def test_report_by_week_over_a_named_month_in_english(run_bot: RunBot, api: BotAPI, store: SQLiteStore) -> None:
    await seed_week(store)
    await run_bot(clock=lambda: NOW)
    owner = Person(api, OWNER, "en")

    owner.says("/report november 2026 by week")
    photo = await owner.gets("sendPhoto")
    details = await owner.reads()

    assert shown(photo, "caption").startswith("Summary · Nov 1–30, 2026")
    dynamics = details.partition("\n\n")[0]
    totals = [int(line.split(" — ")[1].split(":")[0]) for line in dynamics.splitlines() if " — " in line]
    assert totals == [0, 0, 1, 2, 4, 0]  # ISO weeks 44..49 of 2026 that touch November; the month is whole


@pytest.mark.parametrize(
    ("args", "bucket", "rest"),
    [
        ("по месяцам", Bucket.MONTH, ""),
        ("2026 по кварталам", Bucket.QUARTER, "2026"),
        ("прошлый месяц По Неделям спам", Bucket.WEEK, "прошлый месяц спам"),
        ("by day last 2 weeks", Bucket.DAY, "last 2 weeks"),
        ("2025 monthly", Bucket.MONTH, "2025"),
        ("помесячно", Bucket.MONTH, ""),
        ("ноябрь", None, "ноябрь"),
        ("понедельник", None, "понедельник"),
    ],
)
def test_bucket_words_are_taken_out_of_the_arguments(args: str, bucket: Bucket | None, rest: str) -> None:
    assert pick_bucket(args) == (bucket, rest)


def test_a_report_by_bucket_without_a_period_shows_whole_bars() -> None:
    now = utc("2026-11-26 09:00")
    firsts = {b: bucket_period(b, MOSCOW, now).first.isoformat() for b in Bucket}
    assert firsts == {
        Bucket.DAY: "2026-10-28",
        Bucket.WEEK: "2026-08-31",  # a Monday, 13 weeks
        Bucket.MONTH: "2025-12-01",
        Bucket.QUARTER: "2025-01-01",  # 8 quarters
    }
    assert bucket_period(Bucket.MONTH, MOSCOW, now).end == now


# the API -------------------------------------------------------------------------------------------


@pytest.fixture
async def server(start_server: Callable[..., Any], monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setattr(webhooks.api, "utc_now", lambda: utc("2026-11-27 11:00"))  # Friday 14:00 in Moscow
    running = await start_server(api_token=TOKEN)
    await seed_report_fixture(running.store)  # today: 00:30 and 13:00 before now, 15:00 after; yesterday 23:59
    return running


async def get(http: aiohttp.ClientSession, url: str, **params: str) -> tuple[int, Any]:
    async with http.get(url, params=params, headers=AUTH) as response:
        return response.status, await response.json()


async def test_api_compare_cuts_the_earlier_period_and_counts_it_whole_with_whole_true(
    server: Any, http: aiohttp.ClientSession
) -> None:
    url = server.url + "/api/reports/compare"
    status, cut = await get(http, url, a="сегодня")
    assert status == 200 and cut["dialogs"]["a"] == 2 and cut["dialogs"]["b"] == 0
    assert cut["b"]["cut"] is True and cut["b"]["running"] is False and cut["b"]["end"] == "2026-11-26T11:00:00+00:00"
    status, whole = await get(http, url, a="today", whole="true")
    assert status == 200 and whole["dialogs"]["b"] == 1
    assert whole["b"]["cut"] is False and whole["b"]["end"] == "2026-11-26T21:00:00+00:00"
    status, error = await get(http, url, a="today", whole="maybe")
    assert status == 400 and "whole must be one of" in error["error"]


async def test_api_periods_in_words(server: Any, http: aiohttp.ClientSession) -> None:
    status, body = await get(http, server.url + "/api/reports/summary", period="ноябрь 2026")
    assert status == 200 and body["dialogs"] == 6 and body["period"]["label"] == "2026-11-01..2026-11-30"
    status, body = await get(http, server.url + "/api/reports/dynamics", period="3 квартал 2026", bucket="month")
    assert (body["buckets"], body["totals"]) == (["2026-07", "2026-08", "2026-09"], [0, 0, 1])
    status, body = await get(http, server.url + "/api/reports/channels", period="Nov 26-27")
    assert body["period"]["first"] == "2026-11-26" and body["total"]["dialogs"] == 4  # dates given: whole days
    status, body = await get(http, server.url + "/api/reports/summary", period="на днях")
    assert status == 400 and "unknown period" in body["error"] and "Nov 1-15" in body["error"]
