"""Money reports: joining ad spend to the leads it brought, the figures per channel, source, campaign and ad
(spend, leads, qualified, sales, revenue, cost per lead and per sale, ROMI), and how the owner reads them."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from reports.i18n import money
from reports.money import Cell, Figures, apply_filters, join, money_rows, spends, total_of
from tracking.models import Cost


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
