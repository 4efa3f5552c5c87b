"""Money reports: joining ad spend to the leads it brought, the figures per channel, source, campaign and ad
(spend, leads, qualified, sales, revenue, cost per lead and per sale, ROMI), and how the owner reads them."""

from __future__ import annotations

import asyncio
import io
import tempfile
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import openpyxl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tests.test_bot_commands as bot_tests
from reports.counts import TagFilter
from reports.daily import daily_summary
from reports.i18n import money
from reports.money import (
    Cell,
    Figures,
    Spend,
    apply_filters,
    join,
    joined,
    money_columns,
    money_report,
    money_rows,
    render_money,
    spend_key,
    spends,
    total_of,
)
from reports.periods import Period, Unit
from reports.xlsx import export_workbook
from tests.fakes.telegram_api import html_to_text
from tests.seed import MOSCOW, seed_dialog, utc
from tests.test_bot_commands import NOW, OWNER, BotAPI, Person, RunBot, shown, to_chat
from tracking.models import AttributionStatus, Channel, Cost, Sale
from tracking.store.base import CountQuery, CountRow, Store
from tracking.store.sqlite import SQLiteStore


@pytest.mark.parametrize(
    ("amount", "currency", "lang", "text"),
    [
        (Decimal("12000"), "RUB", "ru", "12\u00a0000\u00a0₽"),
        (Decimal("12000.00"), "rub", "en", "12,000\u00a0₽"),
        (Decimal("120"), "USD", "ru", "$120"),
        (Decimal("95"), "EUR", "en", "€95"),
        (Decimal("12000"), "KZT", "ru", "12\u00a0000\u00a0₸"),
        (Decimal("1234.5"), "RUB", "ru", "1\u00a0234,50\u00a0₽"),
        (Decimal("1234.567"), "USD", "en", "$1,234.57"),
        (Decimal("0.005"), "RUB", "ru", "0,01\u00a0₽"),
        (Decimal("0"), "RUB", "ru", "0\u00a0₽"),
        (Decimal("-250"), "RUB", "ru", "−250\u00a0₽"),
        (Decimal("1200"), "CNY", "ru", "1\u00a0200\u00a0CNY"),
        (None, "RUB", "ru", "—"),
    ],
)
def test_money_reads_as_the_owner_writes_it(amount: Decimal | None, currency: str, lang: str, text: str) -> None:
    assert money(amount, currency, lang) == text  # type: ignore[arg-type]


# joining spend to leads: pure ----------------------------------------------------------------------


def cost(source: str, campaign: str, amount: str, *, campaign_id: str | None = None, ad_id: str | None = None,
         day: date = date(2026, 11, 10), currency: str = "RUB") -> Cost:  # fmt: skip
    return Cost(day=day, source=source, campaign=campaign, campaign_id=campaign_id, ad_id=ad_id,
                amount=Decimal(amount), currency=currency, origin="file")  # fmt: skip


def cell(channel: str, source: str | None, campaign: str | None, content: str | None = None, leads: int = 1,
         qualified: int = 0, sales: int = 0, revenue: str = "0") -> Cell:  # fmt: skip
    return Cell(channel, source, campaign, content, leads, qualified, sales, Decimal(revenue))


@pytest.mark.parametrize("utm_source", ["yandex", "ya", "Yandex.Direct", "direct", "yandex_direct", " YANDEX "])
def test_direct_spend_joins_leads_whatever_name_the_links_give_yandex(utm_source: str) -> None:
    [match] = join(
        [cell("paid_search", utm_source, "spring", leads=3)], spends([cost("yandex", "Spring", "900")], "RUB")
    )
    assert match.joined and match.leads == 3


def test_spend_joins_by_campaign_name_or_id_trimmed_and_in_any_case_and_only_from_its_source() -> None:
    cells = [
        cell("paid_search", "yandex", " 12345678 ", leads=2),  # utm_campaign={campaign_id}
        cell("paid_search", "yandex", "SPRING sale", leads=3),
        cell("paid_social", "vk", "spring sale", leads=7),  # the same name, another platform
    ]
    [match] = join(cells, spends([cost("yandex", "Spring Sale", "1000", campaign_id="12345678")], "RUB"))
    assert match.leads == 5
    assert {c.source for c in match.cells} == {"yandex"}


def test_an_ads_spend_joins_the_leads_of_its_ad_by_utm_content() -> None:
    cells = [cell("paid_search", "yandex", "111", "9001", leads=2), cell("paid_search", "yandex", "111", "9002")]
    [ad] = join(cells, spends([cost("yandex", "Spring", "300", campaign_id="111", ad_id="9001")], "RUB"))
    assert [c.content for c in ad.ad_cells] == ["9001"]
    rows = {r.value: r.figures for r in money_rows("content", cells, [ad])}
    assert rows["9001"].spend == Decimal(300) and rows["9001"].cost_per_lead == Decimal(150)
    assert rows["9002"].spend is None  # no cost known for that ad: unknown, not zero


def test_costs_of_a_campaign_add_up_over_days_and_another_currency_is_left_out() -> None:
    added = spends(
        [cost("yandex", "Spring", "100.50", day=date(2026, 11, 1)), cost("Yandex", " spring ", "99.50"),
         cost("yandex", "Spring", "5", currency="USD")], "RUB",
    )  # fmt: skip
    assert [(s.campaign, s.amount) for s in added] == [("Spring", Decimal("200.00"))]


def test_spend_without_leads_is_listed_and_shown_under_its_sources_paid_channel() -> None:
    cells = [cell("paid_search", "yandex", "spring", leads=4, sales=1, revenue="12000"), cell("organic_search",
             "google", None, leads=6)]  # fmt: skip
    matches = join(cells, spends([cost("yandex", "spring", "3000"), cost("yandex", "Autumn", "500"),
                                  cost("vk", "Retarget", "700")], "RUB"))  # fmt: skip
    assert [m.spend.campaign for m in matches if not m.joined] == ["Autumn", "Retarget"]
    by_channel = {r.value: r.figures for r in money_rows("channel", cells, matches)}
    assert by_channel["paid_search"].spend == Decimal(3500) and by_channel["paid_search"].leads == 4
    assert by_channel["paid_social"] == Figures(Decimal(700), 0, 0, 0, Decimal(0))
    assert by_channel["organic_search"].spend is None and by_channel["organic_search"].cost_per_lead is None
    by_campaign = {r.value: r.figures for r in money_rows("campaign", cells, matches)}
    assert set(by_campaign) == {"spring", None}  # spend without leads is listed apart, not as a campaign's row
    assert total_of(cells, matches).spend == Decimal(4200)


def test_figures_cost_per_lead_per_sale_and_romi() -> None:
    figures = Figures(Decimal(10000), leads=8, qualified=4, sales=2, revenue=Decimal(35000))
    assert figures.cost_per_lead == Decimal(1250)
    assert figures.cost_per_sale == Decimal(5000)
    assert figures.romi == Decimal("2.5")  # (35 000 − 10 000) / 10 000
    assert Figures(Decimal(0), leads=3).romi is None and Figures(None, leads=3, revenue=Decimal(5)).romi is None
    assert Figures(Decimal(500), leads=0).cost_per_lead is None


def test_a_campaign_named_by_its_id_carries_its_costs_name() -> None:
    cells = [cell("paid_search", "ya", "777", leads=2)]
    [row] = money_rows("campaign", cells, join(cells, spends([cost("yandex", "Весна", "100", campaign_id="777")],
                                                             "RUB")))  # fmt: skip
    assert (row.value, row.name, row.figures.spend) == ("777", "Весна", Decimal(100))


def test_filters_keep_the_spend_of_the_leads_they_keep() -> None:
    cells = [cell("paid_search", "yandex", "spring", leads=2), cell("paid_social", "vk", "autumn", leads=5)]
    matches = join(cells, spends([cost("yandex", "spring", "100"), cost("vk", "autumn", "300"),
                                  cost("yandex", "winter", "50")], "RUB"))  # fmt: skip
    kept_cells, kept = apply_filters(cells, matches, {"channel": "paid_search"})
    assert [c.campaign for c in kept_cells] == ["spring"]
    assert sorted(m.spend.campaign for m in kept) == ["spring", "winter"]  # Direct's unjoined spend: paid search
    _, by_source = apply_filters(cells, matches, {"source": "Yandex"})
    assert sorted(m.spend.campaign for m in by_source) == ["spring", "winter"]


# through the store (SQLite) and the bot -------------------------------------------------------------

api, run_bot = bot_tests.api, bot_tests.run_bot  # the shared fixtures (the store is conftest's)
NOVEMBER = Period(date(2026, 11, 1), date(2026, 11, 30), MOSCOW, Unit.MONTH)


async def sale(store: Store, dialog_id: str, amount: str | None, currency: str = "RUB") -> None:
    value = Decimal(amount) if amount is not None else None
    added = Sale(id=uuid.uuid4().hex, amount=value, currency=currency, at=utc("2026-11-20 10:00"))
    assert await store.add_sale(dialog_id, added) is not None


async def seed_money(store: Store) -> None:
    """November: three Direct leads of campaign 12345 («Весна», its id in utm_campaign), one qualified, with
    two sales (12 000 and one without an amount yet); a VK lead with no cost; Direct spend on «Весна» on two
    days, on «Осень» that brought nobody, and a December cost outside the month."""
    paid: dict[str, Any] = {"channel": Channel.PAID_SEARCH, "medium": "cpc", "campaign": "12345"}
    first = await seed_dialog(store, utc("2026-11-05 09:00"), source="yandex", content="901", **paid)
    await seed_dialog(store, utc("2026-11-06 09:00"), source="ya", content="902", tags=["qualified"], **paid)
    third = await seed_dialog(store, utc("2026-11-07 09:00"), source="yandex", **paid)
    await seed_dialog(store, utc("2026-11-08 09:00"), channel=Channel.PAID_SOCIAL, source="vk", campaign="retarget")
    await seed_dialog(store, utc("2026-10-31 09:00"), source="yandex", **paid)  # October: not November's lead
    await seed_dialog(store, utc("2026-11-09 09:00"), channel=Channel.PAID_SEARCH, source="yandex",
                      campaign="12345", tags=["spam"])  # fmt: skip
    await sale(store, first.id, "12000")
    await sale(store, third.id, None)
    await store.save_costs(
        [
            cost("yandex", "Весна", "3000", campaign_id="12345", day=date(2026, 11, 5)),
            cost("yandex", "Весна", "3000", campaign_id="12345", day=date(2026, 11, 6)),
            cost("yandex", "Осень", "500", campaign_id="777", day=date(2026, 11, 6)),
            cost("yandex", "Весна", "9999", campaign_id="12345", day=date(2026, 12, 1)),
        ]
    )


async def test_the_money_report_joins_the_stores_costs_sales_and_leads(store: SQLiteStore) -> None:
    await seed_money(store)

    by_channel = await money_report(store, NOVEMBER)
    by_campaign = await money_report(store, NOVEMBER, "campaign")

    rows = {r.value: r.figures for r in by_channel.rows}
    assert rows["paid_search"] == Figures(Decimal(6500), 3, 1, 2, Decimal(12000))  # Осень's 500: Direct's channel
    assert rows["paid_social"] == Figures(None, 1, 0, 0, Decimal(0))  # no cost known: unknown, not 0
    assert by_channel.total.spend == Decimal(6500) and by_channel.total.leads == 4
    assert by_channel.tags.left_out == 1  # the spam lead
    assert [s.campaign for s in by_channel.unmatched] == ["Осень"]
    spring = next(r for r in by_campaign.rows if r.value == "12345")
    assert spring.name == "Весна"
    assert (spring.figures.spend, spring.figures.cost_per_lead, spring.figures.cost_per_sale) == (
        Decimal(6000),
        Decimal(2000),
        Decimal(3000),
    )
    assert spring.figures.romi == Decimal(1)  # (12 000 − 6 000) / 6 000
    text = html_to_text(render_money(by_channel, "ru"))
    assert "1. Платный поиск — расход 6\u00a0500\u00a0₽" in text
    assert "заявок 3 · целевых 1 · продаж 2 · выручка 12\u00a0000\u00a0₽" in text
    assert "цена заявки 2\u00a0166,67\u00a0₽ · цена продажи 3\u00a0250\u00a0₽ · окупаемость +85\u00a0%" in text
    assert "Реклама в соцсетях — расход —" in text
    assert "Расход без заявок\nОсень (Яндекс) — 500\u00a0₽" in text


async def test_only_qualified_leads_and_a_filter_spend_cannot_split(store: SQLiteStore) -> None:
    await seed_money(store)

    qualified = await money_report(store, NOVEMBER, "campaign", tags=TagFilter(only="qualified"))
    by_page = await money_report(store, NOVEMBER, filters={"landing_page": "https://site.example/"})
    one_campaign = await money_report(store, NOVEMBER, "source", filters={"campaign": "12345"})

    [spring] = [r for r in qualified.rows if r.value == "12345"]
    assert spring.figures.leads == 1 and spring.figures.cost_per_lead == Decimal(6000)  # per qualified lead
    assert not by_page.spend_known and by_page.total.spend is None
    # the campaign's spend goes to the spelling most of its leads have; rows are the links' sources as written
    assert {r.value: r.figures.spend for r in one_campaign.rows} == {"yandex": Decimal(6000), "ya": None}
    assert one_campaign.total.leads == 3  # "ya" and "yandex" leads of the campaign


async def test_no_costs_at_all_says_so_and_shows_spend_unknown(store: SQLiteStore) -> None:
    await seed_dialog(store, utc("2026-11-05 09:00"), channel=Channel.PAID_SEARCH, source="yandex", campaign="x")

    report = await money_report(store, NOVEMBER, currency="RUB")

    assert not report.costs_known and report.total.spend is None
    text = html_to_text(render_money(report, "en"))
    assert "No ad spend for this period" in text and "Paid search — spend —" in text


async def test_channels_money_button_switches_the_message_to_money_and_back(
    run_bot: RunBot, api: BotAPI, store: SQLiteStore
) -> None:
    await seed_money(store)
    await run_bot(clock=lambda: NOW)
    owner = Person(api, OWNER, "ru", "Ирина")

    owner.says("/channels ноябрь 2026")
    counts = await owner.gets()
    [buttons] = counts.params["reply_markup"]["inline_keyboard"]
    assert [b["text"] for b in buttons] == ["💰 Деньги", "📥 Excel"]
    owner.presses(buttons[0]["callback_data"], counts.result)
    edited = await api.wait_for("editMessageText", to_chat(OWNER))
    money_view = shown(edited)
    [back] = edited.params["reply_markup"]["inline_keyboard"]
    owner.presses(back[0]["callback_data"], counts.result)
    again = shown(await api.wait_for("editMessageText", to_chat(OWNER), count=2))

    assert money_view.startswith("💰 Каналы · 1–30 ноя 2026")
    assert "1. Платный поиск — расход 6\u00a0500\u00a0₽" in money_view
    assert "Расход без заявок\nОсень (Яндекс) — 500\u00a0₽" in money_view
    assert [b["text"] for b in back] == ["📊 Заявки", "📥 Excel"]
    assert again.startswith("Каналы · 1–30 ноя 2026") and "1. Платный поиск — 3" in again


async def test_a_drilldown_by_campaign_has_its_money_view_in_english(
    run_bot: RunBot, api: BotAPI, store: SQLiteStore
) -> None:
    await seed_money(store)
    await run_bot(clock=lambda: NOW)
    maria = Person(api, OWNER, "en", "Irina")

    maria.says("/channels campaign 2026-11-01..2026-11-30")
    counts = await maria.gets()
    maria.presses(counts.params["reply_markup"]["inline_keyboard"][0][0]["callback_data"], counts.result)
    money_view = shown(await api.wait_for("editMessageText", to_chat(OWNER)))

    assert money_view.startswith("💰 Drill-down: Campaign · Nov 1–30, 2026")
    assert "1. 12345 (Весна) — spend 6,000\u00a0₽" in money_view
    assert "cost per lead 2,000\u00a0₽ · cost per sale 3,000\u00a0₽ · ROMI +100%" in money_view


# the API ---------------------------------------------------------------------------------------------

API_TOKEN = "money-api-token"


async def api_get(http: aiohttp.ClientSession, url: str, **params: str) -> Any:
    async with http.get(url, params=params, headers={"Authorization": f"Bearer {API_TOKEN}"}) as response:
        assert response.status == 200, await response.text()
        return await response.json()


async def test_the_apis_channels_and_drilldown_rows_carry_money(
    start_server: Callable[..., Any], http: aiohttp.ClientSession
) -> None:
    server = await start_server(api_token=API_TOKEN)
    await seed_money(server.store)

    by_channel = await api_get(http, server.url + "/api/reports/channels", period="2026-11")
    by_campaign = await api_get(http, server.url + "/api/reports/drilldown", period="2026-11", by="campaign")
    by_medium = await api_get(http, server.url + "/api/reports/drilldown", period="2026-11", by="medium")
    by_page = await api_get(http, server.url + "/api/reports/drilldown", period="2026-11", by="landing_page")

    paid = next(row for row in by_channel["rows"] if row["value"] == "paid_search")
    assert {k: paid[k] for k in ("dialogs", "spend", "sales", "revenue", "cost_per_lead", "cost_per_sale", "romi")} == {
        "dialogs": 3, "spend": 6500.0, "sales": 2, "revenue": 12000.0, "cost_per_lead": 2166.67,
        "cost_per_sale": 3250.0, "romi": 0.8462,
    }  # fmt: skip
    social = next(row for row in by_channel["rows"] if row["value"] == "paid_social")
    assert (social["spend"], social["cost_per_lead"], social["romi"], social["sales"]) == (None, None, None, 0)
    assert by_channel["total"]["spend"] == 6500.0 and by_channel["currency"] == "RUB"
    assert by_channel["unmatched_spend"] == [
        {"source": "yandex", "campaign": "Осень", "campaign_id": "777", "ad_id": None, "spend": 500.0}
    ]
    spring = next(row for row in by_campaign["rows"] if row["value"] == "12345")
    assert (spring["spend"], spring["romi"]) == (6000.0, 1.0)
    cpc = next(row for row in by_medium["rows"] if row["value"] == "cpc")
    assert (cpc["spend"], cpc["sales"], cpc["revenue"]) == (None, 2, 12000.0)  # spend has no medium
    assert all(row["spend"] is None and row["sales"] is None for row in by_page["rows"])


# the daily summary -----------------------------------------------------------------------------------


async def test_the_daily_summary_says_the_days_spend_and_cost_per_lead_only_when_spend_is_known(
    store: SQLiteStore,
) -> None:
    await seed_money(store)

    with_spend = html_to_text((await daily_summary(store, MOSCOW, date(2026, 11, 6), "ru")).text)
    english = html_to_text((await daily_summary(store, MOSCOW, date(2026, 11, 6), "en")).text)
    without = html_to_text((await daily_summary(store, MOSCOW, date(2026, 11, 8), "ru")).text)

    # Nov 6: Весна's 3 000 and Осень's 500, one lead
    assert "Расход на рекламу: 3\u00a0500\u00a0₽ · цена заявки 3\u00a0500\u00a0₽" in with_spend
    assert "Ad spend: 3,500\u00a0₽ · cost per lead 3,500\u00a0₽" in english
    assert "Расход" not in without  # no cost imported for that day: no line at all


# the workbook ----------------------------------------------------------------------------------------


async def test_the_workbooks_report_sheets_have_money_columns_and_a_spend_sheet(store: SQLiteStore) -> None:
    await seed_money(store)

    file = await export_workbook(store, NOVEMBER, MOSCOW, "ru", now=utc("2026-12-02 09:00"))

    book = openpyxl.load_workbook(io.BytesIO(file.data), read_only=True)
    channels = [list(row) for row in book["Каналы"].iter_rows(values_only=True)]
    header = channels[0]
    assert header[5:] == ["Расход", "Продажи", "Выручка", "Цена заявки", "Цена продажи", "Окупаемость"]
    paid = next(row for row in channels if row[0] == "Платный поиск")
    assert paid[5:] == [6500, 2, 12000, 2166.67, 3250, 0.8462]  # numbers, not text
    social = next(row for row in channels if row[0] == "Реклама в соцсетях")
    assert social[5] is None and social[6] == 0  # spend unknown: an empty cell, not 0
    campaigns = [list(row) for row in book["Кампании"].iter_rows(values_only=True)]
    assert next(row for row in campaigns if row[0] == "12345")[5] == 6000
    costs = [list(row) for row in book["Расходы"].iter_rows(values_only=True)]
    assert costs[0] == ["День", "Источник", "Кампания", "Номер кампании", "Номер объявления", "Сумма", "Валюта",
                        "Откуда", "Заявок найдено"]  # fmt: skip
    assert [row[2:] for row in costs[1:]] == [
        ["Весна", "12345", None, 3000, "RUB", "файл", 3],
        ["Весна", "12345", None, 3000, "RUB", "файл", 3],
        ["Осень", "777", None, 500, "RUB", "файл", 0],
    ]


# views above the ad count leads by campaign: the same figures as counted down to the ad -----------------


def spends_as_first_written(costs: list[Cost], currency: str) -> list[Spend]:
    """`spends` as it was before it was made faster (one `replace` per cost): the reference it must equal."""
    totals: dict[tuple[str, str, str, str], Spend] = {}
    for each in costs:
        if each.currency.upper() != currency.upper():
            continue
        key = spend_key(each.source, each.campaign, each.campaign_id, each.ad_id)
        known = totals.get(key)
        if known is None:
            totals[key] = Spend(each.source.strip(), each.campaign.strip(), each.campaign_id, each.ad_id, each.amount)
        else:
            totals[key] = replace(known, amount=known.amount + each.amount)
    return list(totals.values())


SOURCES_WRITTEN = ["yandex", "ya", " Yandex ", "vk", "VK", "google", "avito"]
CAMPAIGNS_WRITTEN = ["spring", "Spring ", "123", "autumn", "777"]
ADS_WRITTEN = ["901", "902", "903"]
random_costs = st.lists(
    st.builds(
        cost,
        st.sampled_from(SOURCES_WRITTEN),
        st.sampled_from(["Spring", "autumn", "winter", "winter"]),  # no lead names «winter»: its ads' leads join
        st.decimals(min_value=0, max_value=100_000, places=2).map(str),
        campaign_id=st.sampled_from([None, "123", "777", "555"]),
        ad_id=st.sampled_from([None, *ADS_WRITTEN, "904"]),
        day=st.sampled_from([date(2026, 10, 31), date(2026, 11, 1), date(2026, 11, 30), date(2026, 12, 1)]),
        currency=st.sampled_from(["RUB", "RUB", "rub", "USD"]),
    ),
    max_size=12,
)


@given(random_costs)
def test_spends_add_up_as_they_did_before_they_were_made_faster(costs: list[Cost]) -> None:
    assert spends(costs, "RUB") == spends_as_first_written(costs, "RUB")


@dataclass(frozen=True)
class Lead:
    channel: str
    source: str | None
    campaign: str | None
    content: str | None
    tags: tuple[str, ...]
    probable: bool
    sale: str | None  # its sale's amount: "" a sale without an amount yet, None no sale


random_leads = st.lists(
    st.builds(
        Lead,
        st.sampled_from(["paid_search", "paid_social", "organic_search", "referral"]),
        st.sampled_from([None, *SOURCES_WRITTEN]),
        st.sampled_from([None, *CAMPAIGNS_WRITTEN]),
        st.sampled_from([None, *ADS_WRITTEN]),
        st.sampled_from([(), (), ("qualified",), ("spam",), ("qualified", "spam")]),
        st.booleans(),
        st.sampled_from([None, None, "", "12000", "500.50"]),
    ),
    max_size=14,
)
random_filters = st.sampled_from(
    [{}, {}, {"channel": "paid_search"}, {"source": "yandex"}, {"source": "Yandex"}, {"campaign": "123"},
     {"campaign": "spring"}, {"landing_page": "https://site.example/"}]
)  # fmt: skip


async def seed_random(store: Store, leads: list[Lead], costs: list[Cost]) -> None:
    for number, lead in enumerate(leads):
        status = AttributionStatus.PROBABLE if lead.probable else AttributionStatus.EXACT
        at = utc("2026-11-01 00:00") + timedelta(hours=7 * number)
        dialog = await seed_dialog(store, at, channel=lead.channel, status=status, tags=list(lead.tags),
                                   source=lead.source, campaign=lead.campaign, content=lead.content)  # fmt: skip
        if lead.sale is not None:
            await sale(store, dialog.id, lead.sale or None)
    await store.save_costs(costs)


async def views_now_and_down_to_the_ad(
    leads: list[Lead], costs: list[Cost], filters: dict[str, str], only_qualified: bool, include_probable: bool
) -> list[tuple[object, object]]:
    """Each view above the ad as money_report gives it, beside the same figures from the leads counted down
    to the ad (`joined` with ads=True: how every view counted them before)."""
    with tempfile.TemporaryDirectory() as folder:
        store = SQLiteStore(Path(folder) / "chattrack.db")
        await store.open()
        try:
            await seed_random(store, leads, costs)
            options: dict[str, Any] = {"filters": filters, "include_probable": include_probable,
                                       "tags": TagFilter(only="qualified") if only_qualified else None}  # fmt: skip
            fine = await joined(store, NOVEMBER, currency="RUB", ads=True, **options)
            pairs: list[tuple[object, object]] = []
            for by in ("channel", "source", "campaign"):
                report = await money_report(store, NOVEMBER, by, limit=100, **options)
                rows = money_rows(by, fine.cells, fine.matches, qualified=fine.counted)
                total = total_of(fine.cells, fine.matches, qualified=fine.counted)
                unmatched = sorted(
                    (m.spend for m in fine.matches if not m.joined), key=lambda s: (-s.amount, s.campaign)
                )
                pairs.append((report.rows, rows))
                pairs.append((report.total, total if fine.spend_known else replace(total, spend=None)))
                pairs.append((report.unmatched, unmatched))
                pairs.append(([(m.spend, m.leads, m.joined) for m in report.matches],
                              [(m.spend, m.leads, m.joined) for m in fine.matches]))  # fmt: skip
                columns = await money_columns(store, NOVEMBER, by, currency="RUB", **options)
                pairs.append((columns.values, {row.value: row.figures for row in money_rows(by, fine.cells,
                                                                                          fine.matches)}))  # fmt: skip
            return pairs
        finally:
            await store.close()


@settings(max_examples=60, deadline=None)
@given(random_leads, random_costs, random_filters, st.booleans(), st.booleans())
def test_views_above_the_ad_give_the_figures_the_leads_counted_down_to_the_ad_give(
    leads: list[Lead], costs: list[Cost], filters: dict[str, str], only_qualified: bool, include_probable: bool
) -> None:
    pairs = asyncio.run(views_now_and_down_to_the_ad(leads, costs, filters, only_qualified, include_probable))
    for now, before in pairs:
        assert now == before


class CountedQueries:
    """A store that notes what each count_dialogs groups by."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.groups: list[tuple[str, ...]] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)

    async def count_dialogs(self, query: CountQuery) -> list[CountRow]:
        if query.group_by:  # not the count of what the tag filter left out
            self.groups.append(tuple(query.group_by))
        return await self.store.count_dialogs(query)


async def test_views_above_the_ad_count_leads_by_campaign_unless_an_ads_spend_needs_its_ads_leads(
    store: SQLiteStore,
) -> None:
    await seed_money(store)
    counted = CountedQueries(store)

    by_channel = await money_report(counted, NOVEMBER)
    campaign_level = list(counted.groups)
    by_ad = await money_report(counted, NOVEMBER, "content")
    await store.save_costs([cost("yandex", "Лето", "400", campaign_id="999", ad_id="902", day=date(2026, 11, 7))])
    counted.groups.clear()
    with_an_ad = await money_report(counted, NOVEMBER)

    assert campaign_level == [("channel", "source", "campaign")] * 2  # leads and qualified leads, no ad
    assert {r.value: r.figures.spend for r in by_channel.rows} == {"paid_search": Decimal(6500), "paid_social": None}
    assert {r.value: r.figures.spend for r in by_ad.rows} == {"901": None, "902": None, None: None}
    # Лето's campaign named no lead, its ad 902 did: its spend joins that ad's lead, so the ad's leads are counted
    assert (
        counted.groups == [("channel", "source", "campaign")] * 2 + [("channel", "source", "campaign", "content")] * 2
    )
    assert {r.value: r.figures.spend for r in with_an_ad.rows} == {"paid_search": Decimal(6900), "paid_social": None}
    [summer] = [m for m in with_an_ad.matches if m.spend.campaign == "Лето"]
    assert summer.joined and summer.leads == 1 and with_an_ad.total.spend == Decimal(6900)
