"""The tag filter (issue 17, point 2): spam is left out of every report by default, and each report says so.

The owner's tag words (`/channels неделя продажа`, `/stats неделя со спамом`), the counting reports, the
daily summary, the bot's answers (through the local Bot API double) and the API, in both languages.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import aiohttp
import pytest

from bot.alerts import tag_label as alert_tag_label
from bot.summary import DailySummaries
from reports.counts import INCLUDE_ALL, TagFilter, TagScope, compare, dynamics, ranking, summary
from reports.daily import daily_summary
from reports.i18n import value_label
from reports.periods import parse_period
from reports.render import render_ranking, render_summary
from reports.tag_words import BUILT_IN, TAG_LABELS, TagWordsError, dialogs_count, split_tag_words, tag_note
from tests import test_bot_commands as bot_tests
from tests import test_bot_summary as summary_tests
from tests.seed import MOSCOW, seed_dialog, utc
from tests.test_bot_commands import NOW, OWNER, BotAPI, Person, RunBot
from tests.test_outbox import FakeClock
from tracking.models import Channel
from tracking.store.base import Bucket, Store
from tracking.store.sqlite import SQLiteStore

api, run_bot = bot_tests.api, bot_tests.run_bot  # the bot's fixtures (the store is conftest's)
settings, bot = summary_tests.settings, summary_tests.bot

TAGS = ("qualified", "sale", "spam", "vip")
SPAM_OUT = TagFilter()


# the owner's words --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "only", "without", "rest"),
    [
        ("прошлый месяц продажа", "sale", ("spam",), "прошлый месяц"),
        ("ноябрь спам", "spam", (), "ноябрь"),
        ("неделя со спамом", None, (), "неделя"),
        ("неделя с спамом", None, (), "неделя"),
        ("вместе со спамом 7d", None, (), "7d"),
        ("с учётом спама месяц", None, (), "месяц"),
        ("week with spam", None, (), "week"),
        ("including spam last week", None, (), "last week"),
        ("без квалифицированных", None, ("spam", "qualified"), ""),
        ("без целевых месяц", None, ("spam", "qualified"), "месяц"),
        ("кампания неделя без целевых", None, ("spam", "qualified"), "кампания неделя"),
        ("с продажей вчера", "sale", ("spam",), "вчера"),
        ("продажи", "sale", ("spam",), ""),
        ("Продажами неделя", "sale", ("spam",), "неделя"),
        ("только спам", "spam", (), ""),
        ("only sales last week", "sale", ("spam",), "last week"),
        ("Qualified week", "qualified", ("spam",), "week"),
        ("целевые", "qualified", ("spam",), ""),
        ("VIP неделя", "vip", ("spam",), "неделя"),
        ("without vip", None, ("spam", "vip"), ""),
        ("продажа со спамом", "sale", (), ""),
        ("без спама", None, ("spam",), ""),
    ],
)
def test_tag_words_are_taken_out_and_the_rest_left_for_the_period(
    args: str, only: str | None, without: tuple[str, ...], rest: str
) -> None:
    assert split_tag_words(args, TAGS) == (TagFilter(only, without), rest)


@pytest.mark.parametrize(
    "args", ["", "неделя", "с 1 по 15 ноября", "2026-11-01..2026-11-15", "источник месяц", "без", "со", "с 3 ноя"]
)
def test_words_that_name_no_tag_change_nothing(args: str) -> None:
    assert split_tag_words(args, TAGS) == (None, args)


def test_a_tag_the_business_does_not_use_is_not_a_tag_word() -> None:
    assert split_tag_words("vip неделя", ("qualified", "sale", "spam")) == (None, "vip неделя")


def test_two_tags_at_once_are_refused_by_name() -> None:
    with pytest.raises(TagWordsError) as refused:
        split_tag_words("неделя продажи целевые", TAGS)
    assert refused.value.tags == ["sale", "qualified"]


def test_the_tag_words_are_the_buttons_words() -> None:
    for lang in ("ru", "en"):
        for tag in BUILT_IN:
            assert TAG_LABELS[lang][tag] == alert_tag_label(lang, tag)


@pytest.mark.parametrize(
    ("count", "ru", "en"),
    [
        (1, "Без спама: 1 диалог не учтён", "Spam left out: 1 dialog"),
        (2, "Без спама: 2 диалога не учтены", "Spam left out: 2 dialogs"),
        (8, "Без спама: 8 диалогов не учтены", "Spam left out: 8 dialogs"),
        (11, "Без спама: 11 диалогов не учтены", "Spam left out: 11 dialogs"),
        (21, "Без спама: 21 диалог не учтён", "Spam left out: 21 dialogs"),
        (1004, "Без спама: 1\u00a0004 диалога не учтены", "Spam left out: 1,004 dialogs"),
    ],
)
def test_the_note_counts_in_the_owners_words(count: int, ru: str, en: str) -> None:
    assert tag_note("ru", None, TagScope(("spam",), count)) == [ru]
    assert tag_note("en", None, TagScope(("spam",), count)) == [en]


def test_the_note_names_every_tag_and_says_nothing_when_nothing_was_left_out() -> None:
    scope = TagScope(("spam", "qualified", "vip"), 3)
    assert tag_note("ru", "sale", scope) == [
        "Только с тегом «Продажа»",
        "Без спама, целевых и тега «vip»: 3 диалога не учтены",
    ]
    assert tag_note("en", "sale", scope) == [
        "Only dialogs tagged “Sale”",
        "Spam, Qualified and tag “vip” left out: 3 dialogs",
    ]
    assert tag_note("ru", None, TagScope(("spam",), 0)) == []
    assert tag_note("ru", None, TagScope()) == ["Спам учтён"]
    assert tag_note("en", "spam", TagScope()) == ["Only dialogs tagged “Spam”"]
    assert dialogs_count("ru", 3) == "3 диалога"


# the reports -------------------------------------------------------------------------------------


async def seed_week(store: Store) -> None:
    """ISO week 48 of 2026 (Moscow) and the week before; NOW is Thursday the 26th, 12:00."""
    await seed_dialog(store, utc("2026-11-24 08:00"), channel=Channel.PAID_SEARCH, source="yandex", tags=["sale"])
    await seed_dialog(store, utc("2026-11-24 09:00"), channel=Channel.PAID_SEARCH, source="google", tags=["spam"])
    await seed_dialog(store, utc("2026-11-25 08:00"), channel=Channel.DIRECT, tags=["qualified"])
    await seed_dialog(store, utc("2026-11-25 10:00"), channel=Channel.ORGANIC_SEARCH, tags=["spam", "sale"])
    await seed_dialog(store, utc("2026-11-17 08:00"), channel=Channel.DIRECT, tags=["spam"])  # last week
    await seed_dialog(store, utc("2026-11-18 08:00"), channel=Channel.DIRECT)


WEEK = "2026-11-23..2026-11-29"


async def test_a_spam_dialog_is_not_counted_by_default_and_is_when_asked(store: SQLiteStore) -> None:
    await seed_week(store)
    week = parse_period(WEEK, MOSCOW, NOW)

    default, everything, spam, sales, sales_with_spam, no_qualified = [
        await summary(store, week, tags=tags)
        for tags in (
            None,
            INCLUDE_ALL,
            TagFilter(only="spam"),
            TagFilter(only="sale"),
            TagFilter(only="sale", without=()),
            TagFilter(without=("spam", "qualified")),
        )
    ]

    assert (default.totals.dialogs, default.tags) == (2, TagScope(("spam",), 2))
    assert (everything.totals.dialogs, everything.tags) == (4, TagScope())
    assert (spam.totals.dialogs, spam.tags, spam.filters) == (2, TagScope(), {"tag": "spam"})
    assert (sales.totals.dialogs, sales.tags) == (1, TagScope(("spam",), 1))
    assert sales_with_spam.totals.dialogs == 2
    assert (no_qualified.totals.dialogs, no_qualified.tags) == (1, TagScope(("spam", "qualified"), 3))


async def test_rankings_dynamics_and_comparisons_leave_spam_out_and_count_it(store: SQLiteStore) -> None:
    await seed_week(store)
    week = parse_period(WEEK, MOSCOW, NOW)
    before = parse_period("2026-11-16..2026-11-22", MOSCOW, NOW)

    channels = await ranking(store, week, "channel")
    by_tag = await ranking(store, week, "tag")
    trend = await dynamics(store, week, Bucket.DAY)
    trend_all = await dynamics(store, week, Bucket.DAY, tags=INCLUDE_ALL)
    against = await compare(store, week, before)

    assert [(r.value, r.totals.dialogs) for r in channels.rows] == [("direct", 1), ("paid_search", 1)]
    assert channels.tags == TagScope(("spam",), 2)
    assert {r.value: r.totals.dialogs for r in by_tag.rows} == {"qualified": 1, "sale": 1}
    assert (by_tag.total.dialogs, by_tag.tags.left_out) == (2, 2)
    assert (sum(trend.totals), trend.tags.left_out, sum(trend_all.totals)) == (2, 2, 4)
    assert (against.dialogs.a, against.dialogs.b) == (2, 1)
    assert (against.tags.left_out, against.tags_b.left_out) == (2, 1)


async def test_rendered_reports_say_which_tag_filter_applied(store: SQLiteStore) -> None:
    await seed_week(store)
    week = parse_period(WEEK, MOSCOW, NOW)

    ru = render_summary(await summary(store, week), "ru")
    en = render_ranking(await ranking(store, week, "channel", tags=TagFilter(only="sale")), "en")
    everything = render_summary(await summary(store, week, tags=INCLUDE_ALL), "ru")

    assert "<i>Без спама: 2 диалога не учтены</i>" in ru and "Диалоги: <b>2</b>" in ru
    assert "<i>Only dialogs tagged “Sale”</i>\n<i>Spam left out: 1 dialog</i>" in en
    assert "Filter" not in en  # the tag is said in words, not as "Tag = sale"
    assert "<i>Спам учтён</i>" in everything and "Диалоги: <b>4</b>" in everything


async def test_the_daily_summary_leaves_spam_out_and_says_so(store: SQLiteStore) -> None:
    await seed_week(store)
    wednesday = utc("2026-11-25 12:00").astimezone(MOSCOW).date()

    ru = await daily_summary(store, MOSCOW, wednesday, "ru")
    en = await daily_summary(store, MOSCOW, wednesday, "en")
    everything = await daily_summary(store, MOSCOW, wednesday, "ru", tags=INCLUDE_ALL)

    assert "Диалоги: <b>1</b>\n<i>Без спама: 1 диалог не учтён</i>" in ru.text
    assert "Без спама: 1 диалог не учтён" in ru.caption
    assert "Dialogs: <b>1</b>\n<i>Spam left out: 1 dialog</i>" in en.text
    assert "Диалоги: <b>2</b>" in everything.text and "Спам учтён" in everything.text


async def test_the_daily_summary_sent_by_the_bot_says_spam_was_left_out(
    api: BotAPI, store: SQLiteStore, bot: Any, settings: Callable[..., Any]
) -> None:
    await seed_week(store)
    clock = FakeClock(utc("2026-11-26 06:05"))  # Thursday 09:05 in Moscow: Wednesday's summary is due
    summaries = DailySummaries(store, bot, settings(summary_time="09:00"), clock=clock)

    assert await summaries.run_due() == [f"summary:{OWNER}:2026-11-25"]
    caption = bot_tests.shown(await api.wait_for("sendPhoto", bot_tests.to_chat(OWNER)), "caption")
    assert "Диалоги: 1\nБез спама: 1 диалог не учтён" in caption


# the bot -----------------------------------------------------------------------------------------


async def test_the_bot_takes_tag_words_in_russian(run_bot: RunBot, api: BotAPI, store: SQLiteStore) -> None:
    await seed_week(store)
    await run_bot(clock=lambda: NOW)
    owner = Person(api, OWNER, "ru")

    owner.says("/stats неделя")
    default = await owner.reads()
    owner.says("/stats неделя со спамом")
    with_spam = await owner.reads()
    owner.says("/stats неделя спам")
    only_spam = await owner.reads()
    owner.says("/channels источник неделя продажи")
    sales = await owner.reads()
    owner.says("/stats неделя продажа целевые")
    refused = await owner.reads()

    assert "Диалоги: 2\n" in default and "Без спама: 2 диалога не учтены" in default
    assert default.count("Без спама") == 1  # said once, not again above the channels
    assert "Диалоги: 4\n" in with_spam and "Спам учтён" in with_spam
    assert "Диалоги: 2\n" in only_spam and "Только с тегом «Спам»" in only_spam
    assert (
        "Только с тегом «Продажа»\nБез спама: 1 диалог не учтён" in sales
        and f"1. {value_label('ru', 'source', 'yandex')} — 1 (100" in sales
    )
    assert "один тег за раз" in refused and "«Продажа», «Целевой»" in refused


async def test_the_bot_takes_tag_words_in_english(run_bot: RunBot, api: BotAPI, store: SQLiteStore) -> None:
    await seed_week(store)
    await run_bot(clock=lambda: NOW)
    owner = Person(api, OWNER, "en")

    owner.says("/channels week with spam")
    channels = await owner.reads()
    owner.says("/compare week")
    comparison = await owner.reads()
    owner.says("/report week sale")
    photo = await owner.gets("sendPhoto")

    assert "Spam included" in channels and "Total: 4" in channels
    assert f"{value_label('en', 'channel', 'paid_search')} — 2" in channels
    assert "Spam left out: 2 and 1 dialogs" in comparison and "Dialogs: 2 vs 1" in comparison
    caption = bot_tests.shown(photo, "caption")
    assert "Only dialogs tagged “Sale”" in caption and "Dialogs: 1" in caption


# the API -----------------------------------------------------------------------------------------

API_TOKEN = "tag-filter-token"


@pytest.fixture
async def server(start_server: Callable[..., Any]) -> Any:
    started = await start_server(api_token=API_TOKEN)
    await seed_week(started.store)
    return started


async def get(http: aiohttp.ClientSession, url: str, params: list[tuple[str, str]]) -> tuple[int, Any]:
    async with http.get(url, params=params, headers={"Authorization": f"Bearer {API_TOKEN}"}) as response:
        return response.status, await response.json()


@pytest.mark.parametrize(
    ("params", "dialogs", "without", "left_out"),
    [
        ([], 2, ["spam"], 2),
        ([("spam", "include")], 4, [], 0),
        ([("spam", "exclude")], 2, ["spam"], 2),
        ([("tag", "spam")], 2, [], 0),
        ([("tag", "sale")], 1, ["spam"], 1),
        ([("tag", "sale"), ("spam", "include")], 2, [], 0),
        ([("without_tag", "qualified")], 3, ["qualified"], 1),
        ([("without_tag", "qualified"), ("spam", "exclude")], 1, ["qualified", "spam"], 3),
        ([("without_tag", "spam"), ("without_tag", "qualified")], 1, ["spam", "qualified"], 3),
        ([("without_tag", "spam,qualified")], 1, ["spam", "qualified"], 3),
        ([("without_tag", "")], 4, [], 0),
    ],
)
async def test_api_summary_leaves_spam_out_unless_asked(
    server: Any,
    http: aiohttp.ClientSession,
    params: list[tuple[str, str]],
    dialogs: int,
    without: list[str],
    left_out: int,
) -> None:
    status, body = await get(http, server.url + "/api/reports/summary", [("period", WEEK), *params])
    assert status == 200, body
    assert (body["dialogs"], body["without_tags"], body["left_out"]) == (dialogs, without, left_out)


async def test_api_reports_all_take_the_tag_filter(server: Any, http: aiohttp.ClientSession) -> None:
    url = server.url + "/api/reports/"
    _, channels = await get(http, url + "channels", [("period", WEEK)])
    _, with_spam = await get(http, url + "channels", [("period", WEEK), ("spam", "include")])
    _, sources = await get(http, url + "drilldown", [("period", WEEK), ("by", "source"), ("tag", "sale")])
    _, trend = await get(http, url + "dynamics", [("period", WEEK), ("bucket", "day")])
    _, against = await get(http, url + "compare", [("a", "2026-W48"), ("b", "2026-W47")])

    assert (channels["total"]["dialogs"], channels["left_out"]) == (2, 2)
    assert (with_spam["total"]["dialogs"], with_spam["left_out"], with_spam["without_tags"]) == (4, 0, [])
    assert [(r["value"], r["dialogs"]) for r in sources["rows"]] == [("yandex", 1)]
    assert (sum(trend["totals"]), trend["left_out"]) == (2, 2)
    assert (against["dialogs"]["a"], against["dialogs"]["b"]) == (2, 1)
    assert against["left_out"] == {"a": 2, "b": 1} and against["without_tags"] == ["spam"]


@pytest.mark.parametrize(
    "params",
    [[("spam", "maybe")], [("spam", "include"), ("spam", "exclude")], [("without_tag", "x" * 201)]],
)
async def test_api_bad_tag_parameters_are_400(
    server: Any, http: aiohttp.ClientSession, params: list[tuple[str, str]]
) -> None:
    status, body = await get(http, server.url + "/api/reports/summary", [("period", WEEK), *params])
    assert status == 400 and ("spam" in body["error"] or "without_tag" in body["error"])


async def test_api_dialogs_list_and_csv_leave_spam_out_unless_asked(server: Any, http: aiohttp.ClientSession) -> None:
    url = server.url + "/api/dialogs"
    _, default = await get(http, url, [("period", WEEK)])
    _, everything = await get(http, url, [("period", WEEK), ("spam", "include")])
    _, spam = await get(http, url, [("period", WEEK), ("tag", "spam")])
    pages, cursor = [], None
    while True:  # one at a time: pages filled past the spam dialogs, to the end
        _, page = await get(http, url, [("period", WEEK), ("limit", "1"), *([("cursor", cursor)] if cursor else [])])
        pages.append([d["id"] for d in page["dialogs"]])
        cursor = page["next"]
        if cursor is None:
            break
    async with http.get(
        url + ".csv", params={"period": WEEK}, headers={"Authorization": f"Bearer {API_TOKEN}"}
    ) as response:
        csv_default = (await response.text()).strip().splitlines()
    async with http.get(
        url + ".csv", params={"period": WEEK, "spam": "include"}, headers={"Authorization": f"Bearer {API_TOKEN}"}
    ) as response:
        csv_everything = (await response.text()).strip().splitlines()

    assert (len(default["dialogs"]), default["without_tags"]) == (2, ["spam"])
    assert all("spam" not in d["tags"] for d in default["dialogs"])
    assert len(everything["dialogs"]) == 4 and everything["without_tags"] == []
    assert len(spam["dialogs"]) == 2 and spam["filters"] == {"tag": "spam"}
    assert [ids for ids in pages if ids] == [[d["id"]] for d in default["dialogs"]]
    assert (len(csv_default), len(csv_everything)) == (1 + 2, 1 + 4)  # the header and the dialogs
