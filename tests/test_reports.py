"""Reports against hand-computed fixtures: Moscow time (UTC+3), ISO weeks around New Year, quarter edges."""

from __future__ import annotations

import csv
import io
import re
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pymongo import AsyncMongoClient

from reports.card import CARD_FIELDS, dialog_card, find_dialogs
from reports.counts import Change, ReportError, bucket_keys, channels, compare, dynamics, pages, ranking, summary
from reports.daily import daily_summary
from reports.export import EXPORT_FIELDS, dialogs_csv_bytes, page_dialogs
from reports.i18n import normalise_lang, period_label
from reports.periods import Period, PeriodError, parse_comparison, parse_period
from reports.render import (
    render_card,
    render_comparison,
    render_dynamics,
    render_period_error,
    render_ranking,
    render_summary,
    split_message,
    telegram_length,
)
from reports.schedule import DailySummaryJob, Subscription, job_key
from tests.mongo_server import MongoServer, mongo_server, real_mongodb_url
from tests.seed import CONTACTS, HOME, MOSCOW, PRICE, SALE, A, seed_dialog, seed_report_fixture, utc
from tracking.models import Attribution, Visit
from tracking.store.base import Bucket, Store
from tracking.store.mongo import MongoStore
from tracking.store.sqlite import SQLiteStore

UTC = ZoneInfo("UTC")
NOW = utc("2026-11-27 09:00")  # Friday 12:00 in Moscow, ISO week 48


def period(text: str, now: datetime = NOW) -> Period:
    return parse_period(text, MOSCOW, now)


# periods -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "first", "last"),
    [
        ("today", "2026-11-27", "2026-11-27"),
        ("сегодня", "2026-11-27", "2026-11-27"),
        ("", "2026-11-27", "2026-11-27"),
        ("yesterday", "2026-11-26", "2026-11-26"),
        ("Вчера", "2026-11-26", "2026-11-26"),
        ("week", "2026-11-23", "2026-11-29"),
        ("неделя", "2026-11-23", "2026-11-29"),
        ("last week", "2026-11-16", "2026-11-22"),
        ("прошлая  неделя", "2026-11-16", "2026-11-22"),
        ("month", "2026-11-01", "2026-11-30"),
        ("месяц", "2026-11-01", "2026-11-30"),
        ("last month", "2026-10-01", "2026-10-31"),
        ("прошлый месяц", "2026-10-01", "2026-10-31"),
        ("quarter", "2026-10-01", "2026-12-31"),
        ("last quarter", "2026-07-01", "2026-09-30"),
        ("year", "2026-01-01", "2026-12-31"),
        ("last year", "2025-01-01", "2025-12-31"),
        ("7d", "2026-11-21", "2026-11-27"),
        ("30 дней", "2026-10-29", "2026-11-27"),
        ("2026-11-01..2026-11-15", "2026-11-01", "2026-11-15"),
        ("01.11.2026 - 15.11.2026", "2026-11-01", "2026-11-15"),
        ("2026-11-05", "2026-11-05", "2026-11-05"),
        ("2026-11", "2026-11-01", "2026-11-30"),
        ("2024-02", "2024-02-01", "2024-02-29"),
        ("2026-W48", "2026-11-23", "2026-11-29"),
        ("2026-W53", "2026-12-28", "2027-01-03"),
        ("2027-W01", "2027-01-04", "2027-01-10"),
        ("2026-Q4", "2026-10-01", "2026-12-31"),
        ("2026", "2026-01-01", "2026-12-31"),
    ],
)
def test_period_days(text: str, first: str, last: str) -> None:
    p = period(text)
    assert (p.first.isoformat(), p.last.isoformat()) == (first, last)


def test_period_instants_are_moscow_midnights_in_utc() -> None:
    p = period("2026-11-27")
    assert p.start == utc("2026-11-26 21:00") and p.end == utc("2026-11-27 21:00")
    # Just after midnight in Moscow, still the previous day in UTC: "today" is Moscow's.
    late = parse_period("today", MOSCOW, utc("2026-11-26 21:30"))
    assert late.first == date(2026, 11, 27) and late.start == utc("2026-11-26 21:00")


def test_running_periods_end_now_and_finished_ones_at_midnight() -> None:
    assert period("week").end == NOW and period("week").running
    assert period("7d").end == NOW
    assert period("last week").end == utc("2026-11-22 21:00") and not period("last week").running
    assert period("2026-11").end == utc("2026-11-30 21:00")


def test_dst_day_lasts_25_hours() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    p = parse_period("2026-10-25", berlin, utc("2026-11-01 00:00"))
    assert p.end - p.start == timedelta(hours=25)


@pytest.mark.parametrize(
    "text",
    ["garbage", "2026-13", "2026-11-31", "2025-W53", "2026-Q5", "0d", "99999d", "2026-11-15..2026-11-01", "1900"],
)
def test_bad_periods_say_what_is_accepted(text: str) -> None:
    with pytest.raises(PeriodError) as caught:
        period(text)
    assert "2026-11-01..2026-11-15" in str(caught.value)
    assert caught.value.text == text
    assert "мусор" in render_period_error("ru", PeriodError("мусор", "unknown period"))
    assert "&lt;b&gt;" in render_period_error("en", PeriodError("<b>", "unknown period"))


def test_previous_periods_cover_the_same_span() -> None:
    week = period("week")
    before = week.previous()
    assert (before.first, before.last, before.end) == (date(2026, 11, 16), date(2026, 11, 22), NOW - timedelta(days=7))
    month = period("month").previous()
    assert (month.first, month.last, month.end) == (date(2026, 10, 1), date(2026, 10, 31), utc("2026-10-27 09:00"))
    assert period("2026-03").previous().last == date(2026, 2, 28)
    assert period("2024-02").year_ago().last == date(2023, 2, 28)
    assert period("2026-Q1").previous().first == date(2025, 10, 1)
    assert period("2026-11-01..2026-11-15").previous().first == date(2026, 10, 17)
    assert period("7d").previous().last == date(2026, 11, 20)


def test_comparisons_parse() -> None:
    a, b = parse_comparison("week", MOSCOW, NOW)
    assert a.first == date(2026, 11, 23) and b.first == date(2026, 11, 16)
    a, b = parse_comparison("month yoy", MOSCOW, NOW)
    assert b.first == date(2025, 11, 1) and b.end == utc("2025-11-27 09:00")
    a, b = parse_comparison("2026-11 vs 2025-11", MOSCOW, NOW)
    assert (a.first, b.first, b.last) == (date(2026, 11, 1), date(2025, 11, 1), date(2025, 11, 30))
    a, b = parse_comparison("неделя против прошлая неделя", MOSCOW, NOW)
    assert (a.first, b.first) == (date(2026, 11, 23), date(2026, 11, 16))
    with pytest.raises(PeriodError):
        parse_comparison("week vs nonsense", MOSCOW, NOW)


def test_period_labels() -> None:
    assert period_label("ru", period("2026-11-27")) == "27 ноя 2026"
    assert period_label("en", period("2026-11")) == "Nov 1–30, 2026"
    assert period_label("ru", period("week")) == "23–27 ноя 2026 (пока)"
    assert period_label("en", period("2026-W53")) == "Dec 28, 2026 – Jan 3, 2027"
    assert normalise_lang("en-US") == "en" and normalise_lang("uk") == "ru" and normalise_lang(None) == "ru"


def test_bucket_keys_cover_every_bucket_in_order() -> None:
    assert bucket_keys(period("2026-12-28..2027-01-10"), Bucket.WEEK) == ["2026-W53", "2027-W01"]
    assert bucket_keys(period("2026-09-30..2026-10-01"), Bucket.QUARTER) == ["2026-Q3", "2026-Q4"]
    assert bucket_keys(period("week"), Bucket.DAY) == [f"2026-11-{d}" for d in range(23, 28)]


# fixtures ------------------------------------------------------------------------------------------


REAL_MONGODB_URL = real_mongodb_url()  # read at import: tests/conftest.py clears CHATTRACK_* around each test


@pytest.fixture(scope="session")
def report_mongodb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MongoServer]:
    with mongo_server(tmp_path_factory.mktemp("reports-mongodb"), REAL_MONGODB_URL) as server:
        yield server


@pytest.fixture(params=["sqlite", "mongo"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    """Every report test runs on both adapters: a temp SQLite file, and MongoDB (a fresh database)."""
    if request.param == "sqlite":
        sqlite = SQLiteStore(tmp_path / "reports.db")
        await sqlite.open()
        yield sqlite
        await sqlite.close()
        return
    server: MongoServer = request.getfixturevalue("report_mongodb")
    database = f"chattrack_reports_{uuid.uuid4().hex[:12]}"
    mongo = MongoStore(server.database_url(database))
    await mongo.open()
    yield mongo
    await mongo.close()
    client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(server.url)
    await client.drop_database(database)
    await client.close()


@dataclass
class Seeded:
    store: Store
    ids: dict[str, str]


@pytest.fixture
async def seeded(store: Store) -> Seeded:
    return Seeded(store, await seed_report_fixture(store))


# counting reports -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "dialogs", "new", "repeat"),
    [
        ("2026-11-26", 1, 1, 0),  # d1 at 23:59; d2 at 00:30 belongs to the 27th
        ("2026-11-27", 3, 2, 1),  # d2, d3 (repeat of A), d4
        ("2026-11", 6, 5, 1),  # d1–d6; d7 is on Dec 1 in Moscow
        ("2026-12", 1, 0, 1),
        ("2026-W48", 5, 4, 1),  # Mon Nov 23 – Sun Nov 29 23:59
        ("2026-W49", 2, 1, 1),  # d6 (Mon 00:30), d7
        ("2026-W53", 2, 2, 0),  # d8, d12 (the year turns inside the week)
        ("2027-W01", 1, 0, 1),
        ("2026-Q3", 1, 1, 0),
        ("2026-Q4", 8, 6, 2),
        ("2027-Q1", 3, 2, 1),
        ("2026", 9, 7, 2),
        ("week", 2, 2, 0),  # so far at Friday 12:00: d1 and d2, not d3 (13:00)
    ],
)
async def test_summary_counts(seeded: Seeded, text: str, dialogs: int, new: int, repeat: int) -> None:
    report = await summary(seeded.store, period(text))
    assert (report.totals.dialogs, report.totals.new, report.totals.repeat) == (dialogs, new, repeat)


async def test_summary_shares_and_filters(seeded: Seeded) -> None:
    report = await summary(seeded.store, period("2026-11"))
    assert report.totals.new_share == pytest.approx(5 / 6) and report.totals.repeat_share == pytest.approx(1 / 6)
    sale = await summary(seeded.store, period("2026-11"), filters={"tag": "sale"})
    assert (sale.totals.dialogs, sale.totals.new, sale.totals.repeat) == (2, 1, 1)
    paid = await summary(seeded.store, period("2026"), filters={"channel": "paid_search", "source": "google"})
    assert paid.totals.dialogs == 2
    empty = await summary(seeded.store, period("2025"))
    assert empty.totals.dialogs == 0 and empty.totals.new_share is None
    with pytest.raises(ReportError):
        await summary(seeded.store, period("2026"), filters={"password": "x"})


async def test_channels_ranking(seeded: Seeded) -> None:
    report = await channels(seeded.store, period("2026-11"))
    got = [(r.value, r.totals.dialogs, r.totals.new) for r in report.rows]
    assert got == [
        ("paid_search", 2, 1),
        ("direct", 1, 1),
        ("organic_search", 1, 1),
        ("paid_social", 1, 1),
        ("referral", 1, 1),
    ]
    assert report.total.dialogs == 6 and report.rows[0].share == pytest.approx(2 / 6)
    top2 = await channels(seeded.store, period("2026-11"), limit=2)
    assert [r.value for r in top2.rows] == ["paid_search", "direct"] and top2.rest.dialogs == 3
    strict = await channels(seeded.store, period("2026-11"), include_probable=False)
    assert ("unattributed", 1) in [(r.value, r.totals.dialogs) for r in strict.rows]
    assert "paid_social" not in [r.value for r in strict.rows]


async def test_pages(seeded: Seeded) -> None:
    contact = await pages(seeded.store, period("2026-11"), "contact")
    assert [(r.value, r.totals.dialogs) for r in contact.rows] == [(PRICE, 4), (CONTACTS, 2)]
    landing = await pages(seeded.store, period("2026-11"), "landing")
    assert [(r.value, r.totals.dialogs) for r in landing.rows] == [(None, 3), (HOME, 2), (SALE, 1)]
    with pytest.raises(ReportError):
        await pages(seeded.store, period("2026-11"), "exit")  # type: ignore[arg-type]


async def test_drilldown(seeded: Seeded) -> None:
    paid = {"channel": "paid_search"}
    source = await ranking(seeded.store, period("2026-11-26..2026-12-01"), "source", filters=paid)
    assert [(r.value, r.totals.dialogs) for r in source.rows] == [("google", 2), ("yandex", 1)]
    campaign = await ranking(seeded.store, period("2026-11"), "campaign", filters=paid)
    assert [(r.value, r.totals.dialogs) for r in campaign.rows] == [("black friday", 1), ("brand", 1)]
    medium = await ranking(seeded.store, period("2026-11"), "medium", filters={"source": "yandex"})
    assert [(r.value, r.totals.dialogs) for r in medium.rows] == [("cpc", 1), ("organic", 1)]
    tags = await ranking(seeded.store, period("2026-11"), "tag")
    assert [(r.value, r.totals.dialogs) for r in tags.rows] == [("qualified", 2), ("sale", 2)]
    assert tags.total.dialogs == 6 and tags.rows[0].share == pytest.approx(2 / 6)
    with pytest.raises(ReportError):
        await ranking(seeded.store, period("2026-11"), "contact_name")
    with pytest.raises(ReportError):
        await ranking(seeded.store, period("2026-11"), "source", limit=0)


async def test_dynamics_by_day_fills_empty_days(seeded: Seeded) -> None:
    report = await dynamics(seeded.store, period("2026-11-26..2026-11-30"), Bucket.DAY)
    assert report.buckets == ["2026-11-26", "2026-11-27", "2026-11-28", "2026-11-29", "2026-11-30"]
    assert report.totals == [1, 3, 0, 1, 1]
    series = {s.value: s.points for s in report.series}
    assert series["paid_search"] == [1, 1, 0, 0, 0]
    assert series["paid_social"] == [0, 0, 0, 0, 1]
    assert report.series[0].value == "paid_search"


async def test_dynamics_by_week_month_quarter(seeded: Seeded) -> None:
    weeks = await dynamics(seeded.store, period("2026-12-28..2027-01-10"), Bucket.WEEK)
    assert (weeks.buckets, weeks.totals) == (["2026-W53", "2027-W01"], [2, 1])
    months = await dynamics(seeded.store, period("2026-11-01..2027-01-31"), Bucket.MONTH)
    assert (months.buckets, months.totals) == (["2026-11", "2026-12", "2027-01"], [6, 1, 3])
    quarters = await dynamics(seeded.store, period("2026-07-01..2027-03-31"), Bucket.QUARTER)
    assert (quarters.buckets, quarters.totals) == (["2026-Q3", "2026-Q4", "2027-Q1"], [1, 8, 3])
    by_source = await dynamics(seeded.store, period("2026-Q4"), Bucket.MONTH, by="source", filters={"medium": "cpc"})
    assert {s.value: s.points for s in by_source.series} == {"google": [0, 1, 1], "yandex": [0, 1, 0]}


async def test_dynamics_lumps_small_series_into_other(seeded: Seeded) -> None:
    report = await dynamics(seeded.store, period("2026"), Bucket.QUARTER, top=2)
    assert [(s.value, s.total) for s in report.series[:2]] == [("paid_search", 3), ("direct", 2)]
    assert len(report.series) == 3 and report.series[2].other and report.series[2].total == 4
    assert report.totals == [0, 0, 1, 8]
    with pytest.raises(ReportError):
        await dynamics(seeded.store, period("2000-01-01..2009-12-31"), Bucket.DAY)


def test_change_arithmetic() -> None:
    assert (Change(5, 4).delta, Change(5, 4).ratio) == (1, 0.25)
    assert (Change(2, 4).delta, Change(2, 4).ratio) == (-2, -0.5)
    assert Change(3, 0).ratio is None and Change(0, 0).ratio is None
    assert Change(0, 7).ratio == -1.0


async def test_compare_two_weeks(seeded: Seeded) -> None:
    report = await compare(seeded.store, period("2026-W48"), period("2026-W49"))
    assert (report.dialogs.a, report.dialogs.b, report.dialogs.delta, report.dialogs.ratio) == (5, 2, 3, 1.5)
    assert (report.new.a, report.new.b, report.repeat.a, report.repeat.b) == (4, 1, 1, 1)
    rows = [(r.value, r.dialogs.a, r.dialogs.b, r.dialogs.ratio) for r in report.rows]
    assert rows == [
        ("paid_search", 2, 1, 1.0),
        ("direct", 1, 0, None),
        ("organic_search", 1, 0, None),
        ("referral", 1, 0, None),
        ("paid_social", 0, 1, -1.0),
    ]
    text = render_comparison(report, "ru")
    assert "<b>5</b> против 2 — +3 (+150\u00a0%)" in text
    assert "Реклама в соцсетях: <b>0</b> против 1 — −1 (−100\u00a0%)" in text
    assert "Прямые заходы: <b>1</b> против 0 — +1 (не было)" in text
    nothing = render_comparison(await compare(seeded.store, period("2025-W48"), period("2025-W49")), "ru")
    assert "Повторные: <b>0</b> против 0 — ±0\n" in nothing + "\n" and "не было" not in nothing
    by_tag = await compare(seeded.store, period("2026-W48"), period("2026-W49"), by="tag")
    assert by_tag.dialogs.a == 5 and [(r.value, r.dialogs.a) for r in by_tag.rows] == [("qualified", 2), ("sale", 2)]


async def test_compare_this_month_with_same_month_last_year(store: Store) -> None:
    for at in ("2025-11-03 10:00", "2025-11-20 10:00", "2025-11-28 10:00", "2026-11-02 10:00"):
        await seed_dialog(store, utc(at))
    a, b = parse_comparison("month yoy", MOSCOW, NOW)
    report = await compare(store, a, b)
    # A year ago up to the same moment: Nov 3 and Nov 20 2025, not Nov 28.
    assert (report.dialogs.a, report.dialogs.b, report.dialogs.ratio) == (1, 2, -0.5)


# rendering -----------------------------------------------------------------------------------------


async def test_render_reports_in_both_languages(seeded: Seeded) -> None:
    report = await summary(seeded.store, period("2026-11"))
    ru, en = render_summary(report, "ru"), render_summary(report, "en")
    assert "Диалоги: <b>6</b>" in ru and "Новые: 5 (83\u00a0%)" in ru and "Повторные: 1 (17\u00a0%)" in ru
    assert "Dialogs: <b>6</b>" in en and "New: 5 (83%)" in en
    ranked = render_ranking(await channels(seeded.store, period("2026-11")), "ru")
    assert "1. Платный поиск — <b>2</b> (33\u00a0%) · новые 1" in ranked
    assert "Всего: <b>6</b>" in ranked
    days = render_dynamics(await dynamics(seeded.store, period("2026-11-26..2026-11-28"), Bucket.DAY), "en")
    assert "Nov 27 — <b>3</b>: Paid search 1, Direct 1, Organic search 1" in days
    assert "Nov 28 — <b>0</b>" in days
    nothing = render_ranking(await channels(seeded.store, period("2025")), "en")
    assert "No dialogs." in nothing


async def test_values_are_escaped(store: Store) -> None:
    await seed_dialog(store, utc("2026-11-27 10:00"), campaign="<b>sale</b> & more", channel="paid_search")
    text = render_ranking(await ranking(store, period("2026-11-27"), "campaign"), "en")
    assert "&lt;b&gt;sale&lt;/b&gt; &amp; more" in text and "<b>sale</b>" not in text


# the dialog card -----------------------------------------------------------------------------------

FULL: dict[str, str] = {
    "channel": "paid_search",
    "source": "yandex",
    "medium": "cpc",
    "campaign": "winter-2026",
    "content": "ad-42",
    "term": "купить диван",
    "yclid": "123456789",
    "gclid": "Cj0KCQ",
    "referrer": "https://yandex.ru/search/?text=диван",
    "landing_page": "https://shop.example/sofas?utm_source=yandex",
    "contact_page": "https://shop.example/sofas/42",
    "region": "Москва",
    "os": "Android 14",
    "browser": "Chrome Mobile 131",
    "device": "mobile",
    "screen": "412x915",
    "language": "ru-RU",
}


async def test_dialog_card_has_every_field(store: Store) -> None:
    first = await seed_dialog(store, utc("2026-11-20 08:00"), contact=A, channel="organic_search", source="google")
    visit = Visit(
        code="7K3M9QX",
        visitor_id="visitor-1",
        first_seen=utc("2026-11-27 09:55"),
        last_seen=utc("2026-11-27 10:00"),
        attribution=Attribution.model_validate(FULL),
        pages_seen=5,
    )
    dialog = await seed_dialog(
        store,
        utc("2026-11-27 10:03:20"),
        contact=A,
        name="Анна <script>",
        text="Здравствуйте! Есть диван в наличии?",
        code="7K3M9QX",
        tags=["qualified"],
        visit=visit,
        **FULL,  # type: ignore[arg-type]
    )
    card = await dialog_card(store, dialog.id, MOSCOW)
    assert card is not None and [d.id for d in card.history] == [first.id]
    record = card.record
    assert tuple(record) == CARD_FIELDS
    assert record["started"] == "2026-11-27 13:03" and record["customer"] == "repeat"
    assert (record["pages_seen"], record["time_on_site_seconds"]) == (5, 8 * 60 + 20)
    assert record["yclid"] == "123456789" and record["tags"] == "qualified"
    text = render_card(card, "ru")
    labelled = re.findall(r"^[^:\n]{2,40}: .+$", text, re.MULTILINE)
    assert len(labelled) >= 20, labelled
    for fragment in [
        "Анна &lt;script&gt;",
        "+7 916 000-00-01",
        "WhatsApp → +7 999 123-45-67",
        "27 ноя 2026, 13:03 · повторный клиент",
        "точно, по коду из ссылки <code>7K3M9QX</code>",
        "Канал: <b>Платный поиск</b>",
        "Ключевое слово: купить диван",
        "Метки клика: gclid=Cj0KCQ, yclid=123456789",
        "Просмотрено страниц: 5",
        "Время на сайте: 8\u00a0мин 20\u00a0с",
        "Регион: Москва",
        "Экран: 412x915",
        "Теги: Целевой",
        "<blockquote>Здравствуйте! Есть диван в наличии?</blockquote>",
        "Прошлые обращения</b> (1):",
        "20 ноя 2026, 11:00 — Поиск без рекламы · Google",
    ]:
        assert fragment in text, fragment
    english = render_card(card, "en")
    assert "Time on site: 8\u00a0min 20\u00a0s" in english and "repeat customer" in english
    first_card = await dialog_card(store, first, MOSCOW)
    assert first_card is not None and first_card.history == []
    assert "Раньше обращений не было" in render_card(first_card, "ru")
    assert await dialog_card(store, "0" * 32, MOSCOW) is None


async def test_find_dialogs_by_code_phone_or_id(store: Store) -> None:
    dialog = await seed_dialog(store, utc("2026-11-27 10:00"), contact="+79161234567", code="7K3M9QE")
    for query in ["7k3m9qe", "7К3М9QЕ", "+7 916 123-45-67", "89161234567", dialog.id]:
        assert [d.id for d in await find_dialogs(store, query)] == [dialog.id], query
    assert await find_dialogs(store, "nobody") == []
    assert await find_dialogs(store, "") == []


# splitting -----------------------------------------------------------------------------------------


def test_short_message_is_one_part() -> None:
    assert split_message("<b>hi</b>\nthere") == ["<b>hi</b>\nthere"]


def test_split_prefers_line_ends_and_respects_the_limit() -> None:
    lines = [f"{i}. <b>Платный поиск</b> — {i * 7}" for i in range(400)]
    parts = split_message("\n".join(lines), 500)
    assert len(parts) > 1
    assert all(telegram_length(p) <= 500 for p in parts)
    assert "\n".join(parts).split("\n") == lines  # cut only between lines


def test_split_reopens_a_tag_it_had_to_cut() -> None:
    quote = "<blockquote>" + " ".join(["слово"] * 300) + "</blockquote>"
    parts = split_message("<b>Title</b>\n" + quote, 400)
    assert len(parts) > 2
    for part in parts:
        assert telegram_length(part) <= 400
        assert part.count("<blockquote>") == part.count("</blockquote>")
    assert parts[1].startswith("<blockquote>") and parts[-1].endswith("</blockquote>")


def test_split_never_cuts_entities_or_emoji() -> None:
    text = "&amp;&lt;😀" * 500
    parts = split_message(text, 100)
    assert all(telegram_length(p) <= 100 for p in parts)
    assert "".join(parts) == text
    assert all(re.fullmatch(r"(&amp;|&lt;|😀)+", p) for p in parts)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.sampled_from(["<b>", "</b>", "<i>", "</i>", '<a href="https://x.example/?a=1&amp;b=2">', "</a>"]),
            st.sampled_from(["\n", " ", "&amp;", "&lt;", "😀"]),
            st.text(alphabet="abcжзи ", min_size=1, max_size=30),
        ),
        max_size=200,
    ),
    st.integers(min_value=80, max_value=300),
)
def test_split_keeps_every_part_valid(atoms: list[str], limit: int) -> None:
    text = _balanced("".join(atoms))
    parts = split_message(text, limit)
    for part in parts:
        assert telegram_length(part) <= limit
        assert _is_balanced(part), part
        assert not re.search(r"<[^>]*$|&[#\w]*$", part)  # no cut tag or entity at the end
    visible = re.sub(r"<[^>]*>", "", text)
    joined = re.sub(r"<[^>]*>", "", "".join(parts))
    assert re.sub(r"\s", "", joined) == re.sub(r"\s", "", visible)


def _balanced(text: str) -> str:
    """Drop closing tags that close nothing and close what stays open, like a renderer would write it."""
    out: list[str] = []
    stack: list[str] = []
    for atom in re.findall(r"<[^>]*>|[^<]+", text):
        if atom.startswith("</"):
            name = atom[2:-1]
            if stack and stack[-1] == name:
                stack.pop()
                out.append(atom)
            continue
        if atom.startswith("<"):
            name = re.match(r"<(\w+)", atom).group(1)  # type: ignore[union-attr]
            if name in stack:
                continue
            stack.append(name)
        out.append(atom)
    return "".join(out) + "".join(f"</{n}>" for n in reversed(stack))


def _is_balanced(part: str) -> bool:
    stack: list[str] = []
    for tag in re.findall(r"<(/?)(\w+)", part):
        if tag[0]:
            if not stack or stack.pop() != tag[1]:
                return False
        else:
            stack.append(tag[1])
    return not stack


# CSV and paging ------------------------------------------------------------------------------------


async def test_csv_export_parses_back(seeded: Seeded) -> None:
    data = await dialogs_csv_bytes(seeded.store, period("2026-11"), MOSCOW, page_size=2)
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    assert [r["id"] for r in rows] == [seeded.ids[n] for n in ("d1", "d2", "d3", "d4", "d5", "d6")]
    assert rows[0]["started"] == "2026-11-26 23:59" and rows[0]["campaign"] == "black friday"
    assert rows[2]["customer"] == "repeat" and rows[2]["tags"] == "qualified, sale"
    assert rows[3]["source"] == "" and rows[5]["status"] == "probable"
    russian = await dialogs_csv_bytes(seeded.store, period("2026-11"), MOSCOW, lang="ru", delimiter="semicolon")
    header = next(csv.reader(io.StringIO(russian.decode("utf-8-sig")), delimiter=";"))
    assert header[:3] == ["Идентификатор диалога", "Дата и время", "Имя"] and len(header) == len(EXPORT_FIELDS)
    empty = await dialogs_csv_bytes(seeded.store, period("2025"), MOSCOW)
    assert len(list(csv.reader(io.StringIO(empty.decode("utf-8-sig"))))) == 1


async def test_paging_survives_dialogs_at_the_same_instant(store: Store) -> None:
    same = utc("2026-11-27 10:00")
    ids = {(await seed_dialog(store, same)).id for _ in range(7)}
    ids |= {(await seed_dialog(store, same + timedelta(seconds=s))).id for s in range(1, 4)}
    got, cursor, pages_seen = [], None, 0
    while True:
        page, cursor = await page_dialogs(store, period("2026-11-27"), 3, cursor)
        got += [d.id for d in page]
        pages_seen += 1
        if cursor is None:
            break
    assert sorted(got) == sorted(ids) and len(got) == 10 and pages_seen >= 4
    with pytest.raises(ReportError):
        await page_dialogs(store, period("2026-11-27"), 3, "not-a-cursor")


# the daily summary and its job ---------------------------------------------------------------------


async def test_daily_summary(seeded: Seeded) -> None:
    # 2026-11-27: 3 dialogs; the day before 1; a week before (Nov 20) none.
    result = await daily_summary(seeded.store, MOSCOW, date(2026, 11, 27), "ru")
    assert "Итоги дня</b> · 27 ноя 2026 (пт)" in result.text
    assert "Диалоги: <b>3</b>" in result.text
    assert "Новые: 2 (67\u00a0%) · Повторные: 1 (33\u00a0%)" in result.text
    assert "К предыдущему дню: +2 (+200\u00a0%, было 1)" in result.text
    assert "К тому же дню неделю назад: +3 (не было)" in result.text
    assert "1. Прямые заходы — <b>1</b> (33\u00a0%) · новые 1" in result.text
    assert "1. shop.example/price — <b>2</b>" in result.text  # pages shown as host and path
    assert result.png is not None and result.png.startswith(b"\x89PNG\r\n\x1a\n")
    assert len(result.caption) <= 1024 and "Диалоги: <b>3</b>" in result.caption
    assert telegram_length(result.text) <= 4096
    quiet = await daily_summary(seeded.store, MOSCOW, date(2025, 6, 1), "en")
    assert quiet.png is None and "Dialogs: <b>0</b>" in quiet.text


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


async def test_summary_job_sends_once_across_restarts_and_replicas(seeded: Seeded) -> None:
    sent: list[tuple[int, str]] = []

    async def send(chat_id: int, summary: object) -> None:
        sent.append((chat_id, summary.text))  # type: ignore[attr-defined]

    clock = Clock(utc("2026-11-28 05:59"))  # 08:59 in Moscow
    owner = Subscription(chat_id=42, at=time(9, 0), zone=MOSCOW, lang="en", since=utc("2026-11-27 12:00"))
    job = DailySummaryJob(seeded.store, send, [owner], MOSCOW, clock, retry_delays=())
    assert await job.run_due() == [] and sent == []
    assert await job.next_due() == utc("2026-11-28 06:00")
    clock.now = utc("2026-11-28 06:00")
    assert await job.run_due() == [job_key(42, date(2026, 11, 27))]
    assert len(sent) == 1 and "Dialogs: <b>3</b>" in sent[0][1]
    assert await job.run_due() == []
    replica = DailySummaryJob(seeded.store, send, [owner], MOSCOW, clock, retry_delays=())  # a copy, or a restart
    assert await replica.run_due() == [] and len(sent) == 1


async def test_summary_job_catches_up_after_downtime(seeded: Seeded) -> None:
    sent: list[int] = []

    async def send(chat_id: int, summary: object) -> None:
        sent.append(chat_id)

    async def owners() -> list[Subscription]:
        return [Subscription(chat_id=7, at=time(9, 0), zone=ZoneInfo("Asia/Vladivostok"))]

    clock = Clock(utc("2026-11-28 21:30"))  # down over the 28th's 09:00 (Vladivostok); back on the 29th 07:30
    job = DailySummaryJob(seeded.store, send, owners, MOSCOW, clock, retry_delays=())
    assert await job.run_due() == [job_key(7, date(2026, 11, 27))]
    clock.now = utc("2026-11-28 23:00")  # 09:00 on the 29th in Vladivostok
    assert await job.run_due() == [job_key(7, date(2026, 11, 28))]
    assert sent == [7, 7]


async def test_summary_job_retries_a_failed_send_and_skips_slots_before_it_existed(seeded: Seeded) -> None:
    attempts: list[int] = []
    waits: list[float] = []

    async def flaky(chat_id: int, summary: object) -> None:
        attempts.append(chat_id)
        if len(attempts) < 3:
            raise ConnectionError("telegram is away")

    async def no_wait(seconds: float) -> None:
        waits.append(seconds)

    clock = Clock(utc("2026-11-28 07:00"))
    chosen_yesterday_evening = utc("2026-11-27 18:00")
    owner = Subscription(chat_id=1, at=time(9, 0), zone=MOSCOW, since=chosen_yesterday_evening)
    job = DailySummaryJob(seeded.store, flaky, [owner], MOSCOW, clock, retry_delays=(1, 2, 3), sleep=no_wait)
    assert await job.run_due() == [job_key(1, date(2026, 11, 27))]  # not the 26th: chosen after that slot
    assert attempts == [1, 1, 1] and waits == [1, 2]
