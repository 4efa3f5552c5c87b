"""Money reports: what the ads cost and what the leads they brought paid, per channel, source, campaign and ad.

Leads come from `Store.count_dialogs` (grouped by channel, source, campaign and ad: the "cells"), qualified
leads from the same count with the "qualified" tag, sales and revenue from `Store.sale_rows` (the sales of
dialogs started in the period: revenue belongs to its lead's period), spend from `Store.cost_rows` (by the
cost's day). A campaign's spend joins its leads by source and campaign (`join`):

- the dialog's utm_campaign equals the cost's campaign name or its id (Direct's UTM templates write
  {campaign_id}), compared trimmed and case-insensitive;
- the dialog's utm_source names the same platform as the cost's source (SOURCE_ALIASES: "yandex" is also
  ya, yandex.direct, direct, yandex_direct…; any other source is compared as written, case-insensitive);
- an ad's spend (a cost with an ad id) joins the dialogs whose utm_content is the ad id ({ad_id}).

Spend has no channel of its own: a campaign's takes its leads' channel (the one with most leads), and spend
that found no leads («Расход без заявок») is listed apart and shown under its source's paid channel (Direct's
is paid search). A row whose leads' campaigns have no known cost has spend None («—»), never 0.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import Decimal
from html import escape
from typing import TypeVar
from urllib.parse import quote

from reports.counts import (
    MAX_LIMIT,
    Filters,
    ReportError,
    TagFilter,
    TagScope,
    check_field,
    count_all,
    report_query,
    tag_query,
    tag_scope,
)
from reports.i18n import SOURCES, Lang, field_label, money, number, percent, period_label, value_label, word
from reports.periods import Period
from reports.render import shorten
from reports.tag_words import tag_note
from tracking.channels import classify
from tracking.models import Channel
from tracking.store.base import CostRow, CountQuery, CountRow, SaleRow, Store
from tracking.strings import one_line

_T = TypeVar("_T")

MONEY_FIELDS = ("channel", "source", "campaign", "content")  # what spend can be told apart by
CAMPAIGN_FIELDS = MONEY_FIELDS[:3]  # the leads above the ad: what views other than the ad's need (`joined`)
SALE_FIELDS = ("channel", "source", "medium", "campaign", "content", "term", "status", "tag")  # SaleRow's fields
QUALIFIED = "qualified"
UNMATCHED_SHOWN = 15  # campaigns named under «Расход без заявок»; the rest are counted
ZERO = Decimal(0)

# Names of one ad platform in utm_source and in cost files: each alias reads as its platform's name.
SOURCE_ALIASES: dict[str, tuple[str, ...]] = {
    "yandex": (
        "ya", "ya.ru", "yandex.ru", "yandex.direct", "yandex_direct", "yandex-direct", "yandexdirect", "direct", "yd",
    ),
    "google": ("google_ads", "google-ads", "googleads", "adwords", "google.com", "gads"),
    "vk": ("vk.com", "vk.ru", "vkontakte", "vk_ads", "vk-ads", "vkads", "mytarget", "my.target"),
    "facebook": ("fb", "facebook.com", "meta"),
    "instagram": ("ig", "instagram.com"),
    "telegram": ("tg", "telegram_ads", "t.me"),
    "avito": ("avito.ru",),
}  # fmt: skip
# ... and each source by the name the reports give it («Яндекс», «ВКонтакте», «Авито»: a cost file's words).
_CANONICAL = {
    **{label.casefold(): name for names in SOURCES.values() for name, label in names.items()},
    **{alias: name for name, aliases in SOURCE_ALIASES.items() for alias in (name, *aliases)},
}


def canonical_source(source: str | None) -> str:
    """ "Yandex.Direct", "ya", " YANDEX " → "yandex"; a source without aliases, lower-cased and trimmed."""
    key = (source or "").strip().casefold()
    return _CANONICAL.get(key, key)


def campaign_key(value: str | None) -> str:
    return (value or "").strip().casefold()


def paid_channel(source: str) -> str:
    """The channel of spend that found no leads: what a paid click from `source` would be (Direct's is paid
    search, VK's paid social); other campaigns when the source says nothing."""
    url = f"https://site.invalid/?utm_source={quote(canonical_source(source) or 'cpc')}&utm_medium=cpc"
    channel = classify(url, None).channel
    return channel.value if channel is not Channel.DIRECT else Channel.OTHER_CAMPAIGN.value


# what is joined ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Cell:
    """The leads of one channel, source, campaign and ad (content), and the sales they made."""

    channel: str | None
    source: str | None
    campaign: str | None
    content: str | None
    leads: int = 0
    qualified: int = 0
    sales: int = 0
    revenue: Decimal = ZERO

    def value(self, by: str) -> str | None:
        value: str | None = getattr(self, by)
        return value


@dataclass(frozen=True, slots=True)
class Spend:
    """One campaign's (or one ad's) spend over the period: its costs of every day added up."""

    source: str
    campaign: str
    campaign_id: str | None
    ad_id: str | None
    amount: Decimal


@dataclass(frozen=True, slots=True)
class Match:
    """A spend and the leads it joined: its campaign's (`cells`) and, for an ad's cost, its ad's (`ad_cells`)."""

    spend: Spend
    cells: tuple[Cell, ...] = ()
    ad_cells: tuple[Cell, ...] = ()

    @property
    def leads(self) -> int:
        """The leads it joined: its campaign's, else its ad's."""
        return sum(cell.leads for cell in self.cells or self.ad_cells)

    @property
    def joined(self) -> bool:
        """False: spend without leads («Расход без заявок»)."""
        return bool(self.cells or self.ad_cells)


def spends(costs: Iterable[CostRow], currency: str) -> list[Spend]:
    """Costs of the business currency added up per source, campaign (name and id) and ad, in the order first
    seen; costs of another currency are not added to these (there is no rate to add them with)."""
    firsts: dict[tuple[str, str, str, str], CostRow] = {}
    amounts: dict[tuple[str, str, str, str], Decimal] = {}
    keys: dict[tuple[str, str, str | None, str | None], tuple[str, str, str, str]] = {}  # a campaign's every day
    wanted = currency.upper()
    for cost in costs:
        if cost.currency.upper() != wanted:
            continue
        named = (cost.source, cost.campaign, cost.campaign_id, cost.ad_id)
        key = keys.get(named) or keys.setdefault(named, spend_key(*named))
        if key in amounts:  # added in the order seen, as the first cost's amount plus each next one
            amounts[key] += cost.amount
        else:
            firsts[key], amounts[key] = cost, cost.amount
    return [
        Spend(first.source.strip(), first.campaign.strip(), first.campaign_id, first.ad_id, amounts[key])
        for key, first in firsts.items()
    ]


def join(cells: Sequence[Cell], spent: Sequence[Spend]) -> list[Match]:
    """Each spend with the leads it joins (the module's rule): by source and campaign name or id; an ad's
    spend also with its ad's leads (utm_content = the ad id). A spend that joins nothing has no cells."""
    by_campaign: dict[tuple[str, str], list[Cell]] = {}
    by_ad: dict[tuple[str, str], list[Cell]] = {}
    for cell in cells:
        source = canonical_source(cell.source)
        if cell.campaign:
            by_campaign.setdefault((source, campaign_key(cell.campaign)), []).append(cell)
        if cell.content:
            by_ad.setdefault((source, campaign_key(cell.content)), []).append(cell)
    matches = []
    for spend in spent:
        source = canonical_source(spend.source)
        keys = dict.fromkeys(k for k in (campaign_key(spend.campaign), campaign_key(spend.campaign_id)) if k)
        joined = tuple(cell for key in keys for cell in by_campaign.get((source, key), ()))
        ad = tuple(by_ad.get((source, campaign_key(spend.ad_id)), ())) if spend.ad_id else ()
        matches.append(Match(spend, joined, ad))
    return matches


# the figures -----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Figures:
    """What a row of a money report says. `spend` None: no cost known for its leads («—»), not zero."""

    spend: Decimal | None = None
    leads: int = 0
    qualified: int | None = 0  # None: not counted (the report counts only another tag)
    sales: int = 0
    revenue: Decimal = ZERO

    @property
    def cost_per_lead(self) -> Decimal | None:
        return self.spend / self.leads if self.spend is not None and self.leads else None

    @property
    def cost_per_sale(self) -> Decimal | None:
        return self.spend / self.sales if self.spend is not None and self.sales else None

    @property
    def romi(self) -> Decimal | None:
        """(revenue − spend) / spend: 0.5 is +50 %; None when spend is zero or unknown."""
        return (self.revenue - self.spend) / self.spend if self.spend else None

    def __add__(self, other: Figures) -> Figures:
        spend = None if self.spend is None and other.spend is None else (self.spend or ZERO) + (other.spend or ZERO)
        qualified = None if self.qualified is None or other.qualified is None else self.qualified + other.qualified
        return Figures(spend, self.leads + other.leads, qualified, self.sales + other.sales,
                       self.revenue + other.revenue)  # fmt: skip


def _majority(cells: Sequence[Cell], by: str) -> str | None:
    """The value of `by` with the most leads among `cells` (ties: the first in order)."""
    leads: Counter[str | None] = Counter()
    for cell in cells:
        leads[cell.value(by)] += cell.leads
    return max(leads, key=lambda value: leads[value]) if leads else None


def spend_value(match: Match, by: str, rows: Mapping[str | None, object] = {}) -> tuple[bool, str | None]:
    """Where a spend shows in rows by `by`: (True, the row's value), or (False, None) when it cannot be told
    apart at that level (a campaign's spend among its ads; spend without leads by campaign or ad: listed
    apart instead)."""
    if by == "content":
        return (True, _majority(match.ad_cells, by)) if match.spend.ad_id and match.ad_cells else (False, None)
    if match.joined:
        return True, _majority(match.cells or match.ad_cells, by)
    if by == "channel":
        return True, paid_channel(match.spend.source)
    if by == "source":  # under a row of the same platform when there is one ("Yandex" under "yandex")
        source = canonical_source(match.spend.source)
        same = [value for value in rows if canonical_source(value) == source]
        return True, same[0] if same else match.spend.source
    return False, None


def figures_by(
    by: str, cells: Sequence[Cell], matches: Sequence[Match], *, qualified: bool = True
) -> dict[str | None, Figures]:
    """Figures per value of `by` (one of MONEY_FIELDS): the cells' leads, qualified, sales and revenue, and
    the spend of each match where `spend_value` puts it."""
    rows: dict[str | None, Figures] = {}
    for cell in cells:
        value = cell.value(by)
        rows[value] = rows.get(value, Figures()) + Figures(
            None, cell.leads, cell.qualified if qualified else None, cell.sales, cell.revenue
        )
    for match in matches:
        shown, value = spend_value(match, by, rows)
        if shown:
            known = rows.get(value, Figures(qualified=0 if qualified else None))
            rows[value] = known + Figures(match.spend.amount, qualified=0 if qualified else None)
    return rows


@dataclass(slots=True)
class _Tally:
    leads: int = 0
    qualified: int = 0
    sales: int = 0
    revenue: Decimal = ZERO


def merge_cells(
    leads: Sequence[CountRow],
    qualified: Sequence[CountRow],
    sales: Sequence[SaleRow],
    currency: str,
    *,
    ads: bool = True,
) -> list[Cell]:
    """Cells from count_dialogs rows grouped by MONEY_FIELDS (leads, qualified) and the sale rows; revenue is
    the known amounts in the business currency. `ads` False: rows grouped by CAMPAIGN_FIELDS, and cells
    without the ad (content None), the sales of a campaign's ads added up in one."""
    tallies: dict[tuple[str | None, str | None, str | None, str | None], _Tally] = {}

    def key(values: Mapping[str, str | None]) -> tuple[str | None, str | None, str | None, str | None]:
        return values.get("channel"), values.get("source"), values.get("campaign"), values.get("content")

    for row in leads:
        tallies.setdefault(key(row.key), _Tally()).leads += row.dialogs
    for row in qualified:
        tallies.setdefault(key(row.key), _Tally()).qualified += row.dialogs
    wanted = currency.upper()
    for sale in sales:
        cell = (sale.channel, sale.source, sale.campaign, sale.content if ads else None)
        tally = tallies.get(cell) or tallies.setdefault(cell, _Tally())
        tally.sales += 1
        if sale.amount is not None and sale.currency.upper() == wanted:
            tally.revenue += sale.amount
    return [
        Cell(*k, leads=t.leads, qualified=t.qualified, sales=t.sales, revenue=t.revenue) for k, t in tallies.items()
    ]


# the report ------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MoneyRow:
    value: str | None
    figures: Figures
    name: str | None = None  # the campaign's name when its leads name it by id (utm_campaign={campaign_id})


@dataclass(frozen=True)
class MoneyReport:
    period: Period
    by: str
    currency: str
    rows: list[MoneyRow]  # spend first, then leads, biggest first; top `limit`
    rest: Figures  # what the rows beyond `limit` add up to
    total: Figures  # every lead of the period and every spend (joined or not)
    matches: list[Match]  # each spend of the period and what it joined
    spend_known: bool = True  # False: filtered by a field spend cannot be told apart by (a page, a region…)
    filters: dict[str, str] = field(default_factory=dict)
    tags: TagScope = field(default_factory=TagScope)

    @property
    def unmatched(self) -> list[Spend]:
        """Spend without leads («Расход без заявок»), biggest first."""
        return sorted((m.spend for m in self.matches if not m.joined), key=lambda s: (-s.amount, s.campaign))

    @property
    def costs_known(self) -> bool:
        return bool(self.matches)


def _passes(match: Match, name: str, wanted: str) -> bool:
    """Whether a spend belongs under a filter `name` = `wanted` (one of MONEY_FIELDS)."""
    if name == "content":
        return match.spend.ad_id is not None and campaign_key(match.spend.ad_id) == campaign_key(wanted)
    if name == "campaign" and not match.joined:
        return campaign_key(wanted) in (campaign_key(match.spend.campaign), campaign_key(match.spend.campaign_id))
    shown, value = spend_value(match, name)
    if name == "source":
        return shown and canonical_source(value) == canonical_source(wanted)
    return shown and value == wanted


def apply_filters(
    cells: Sequence[Cell], matches: Sequence[Match], fields: Mapping[str, str]
) -> tuple[list[Cell], list[Match]]:
    """The cells and spends under field filters of MONEY_FIELDS: a spend is kept when it belongs there (its
    leads' values), with only the leads the filters keep."""

    def kept(cell: Cell) -> bool:
        return all(cell.value(name) == wanted for name, wanted in fields.items())

    matches = [
        replace(m, cells=tuple(filter(kept, m.cells)), ad_cells=tuple(filter(kept, m.ad_cells)))
        for m in matches
        if all(_passes(m, name, wanted) for name, wanted in fields.items())
    ]
    return [cell for cell in cells if kept(cell)], matches


def _order(row: MoneyRow) -> tuple[Decimal, int, bool, str]:
    spend = row.figures.spend if row.figures.spend is not None else Decimal(-1)
    return -spend, -row.figures.leads, row.value is None, row.value or ""


def money_rows(by: str, cells: Sequence[Cell], matches: Sequence[Match], *, qualified: bool = True) -> list[MoneyRow]:
    """Rows by `by`, biggest spend first; a campaign shown by its id carries its cost's name."""
    names: dict[str | None, str] = {}
    if by == "campaign":
        for match in matches:
            shown, value = spend_value(match, by)
            if shown and value is not None and campaign_key(value) != campaign_key(match.spend.campaign):
                names.setdefault(value, match.spend.campaign)
    figures = figures_by(by, cells, matches, qualified=qualified)
    return sorted((MoneyRow(v, f, names.get(v)) for v, f in figures.items()), key=_order)


def total_of(cells: Sequence[Cell], matches: Sequence[Match], *, qualified: bool = True) -> Figures:
    spend = sum((m.spend.amount for m in matches), ZERO) if matches else None
    return Figures(
        spend,
        sum(c.leads for c in cells),
        sum(c.qualified for c in cells) if qualified else None,
        sum(c.sales for c in cells),
        sum((c.revenue for c in cells), ZERO),
    )


def cost_days(period: Period) -> tuple[date, date]:
    """The days whose spend a period counts: [first, the last day it reaches into]."""
    return period.first, period.last_covered + timedelta(days=1)


@dataclass(frozen=True)
class Joined:
    """Leads, sales and spend of a period, joined, with the report's filters applied."""

    cells: list[Cell]
    matches: list[Match]
    sales: list[SaleRow]  # the sales the filters keep
    costs: list[CostRow]  # every cost of the period's days (the workbook's spend sheet)
    spend_known: bool
    counted: bool  # qualified leads counted (not under another tag's filter)
    checked: dict[str, str]
    scope: TagScope


async def joined(
    store: Store,
    period: Period,
    *,
    filters: Filters | None = None,
    tags: TagFilter | None = None,
    include_probable: bool = True,
    currency: str = "RUB",
    ads: bool = True,
) -> Joined:
    """The five queries of a money report at once (leads by MONEY_FIELDS, qualified leads, sales, costs, and
    the count that says what the tag filter left out), joined.

    `ads` False (a view above the ad): leads are grouped by CAMPAIGN_FIELDS, ~30 times fewer groups than with
    the ad, and cells carry no ad. Every figure above the ad stays the same: a campaign's spend joins and
    sums the same leads, and its majority channel, source and campaign come out the same, as stores return
    groups in key order (tests/test_money_reports.py compares both). Only an ad's spend whose campaign found
    no leads needs its ad's leads: then the leads are counted again down to the ad."""
    checked, without = tag_query(filters, tags)
    fields = {name: value for name, value in checked.items() if name != "tag"}
    spend_known = set(fields) <= set(MONEY_FIELDS)
    ads = ads or "content" in fields
    # Spend joins every lead of its campaign: the field filters apply after the join (apply_filters).
    asked = {name: value for name, value in checked.items() if name == "tag" or not spend_known}
    leads_query = report_query(period, asked, without, include_probable, MONEY_FIELDS if ads else CAMPAIGN_FIELDS)
    only = checked.get("tag")
    counted = only in (None, QUALIFIED)  # "qualified" is a tag: under another tag's filter it is not counted
    first, end = cost_days(period)
    no_costs: list[CostRow] = []
    (leads, qualified), sales, costs, every = await asyncio.gather(
        _lead_counts(store, leads_query, asked, count_qualified=counted and only is None),
        store.sale_rows(report_query(period, asked, without, include_probable)),
        store.cost_rows(first, end) if spend_known else _ready(no_costs),
        count_all(store, report_query(period, checked, without, include_probable)),
    )
    spent = spends(costs, currency)
    cells = merge_cells(leads, leads if only == QUALIFIED else qualified, sales, currency, ads=ads)
    matches = join(cells, spent)
    if not ads and any(m.spend.ad_id and not m.cells for m in matches):
        leads_query = leads_query.model_copy(update={"group_by": list(MONEY_FIELDS)})
        leads, qualified = await _lead_counts(store, leads_query, asked, count_qualified=counted and only is None)
        cells = merge_cells(leads, leads if only == QUALIFIED else qualified, sales, currency)
        matches = join(cells, spent)
    if fields and spend_known:
        cells, matches = apply_filters(cells, matches, fields)
        sales = [sale for sale in sales if all(getattr(sale, k) == v for k, v in fields.items())]
    scope = tag_scope(leads_query, every, sum(cell.leads for cell in cells))
    return Joined(cells, matches, sales, list(costs), spend_known, counted, checked, scope)


async def money_report(
    store: Store,
    period: Period,
    by: str = "channel",
    *,
    filters: Filters | None = None,
    tags: TagFilter | None = None,
    include_probable: bool = True,
    currency: str = "RUB",
    limit: int = 10,
) -> MoneyReport:
    """Spend, leads, qualified, sales and revenue per `by` (channel, source, campaign or content: the ad)."""
    check_field(by)
    if by not in MONEY_FIELDS:
        raise ReportError(f"money is counted by {', '.join(MONEY_FIELDS)}, not {by!r}")
    if not 1 <= limit <= MAX_LIMIT:
        raise ReportError(f"limit must be 1 to {MAX_LIMIT}")
    data = await joined(
        store, period, filters=filters, tags=tags, include_probable=include_probable, currency=currency,
        ads=by == "content",
    )  # fmt: skip
    counted = data.counted
    rows = money_rows(by, data.cells, data.matches, qualified=counted)
    rest = sum((row.figures for row in rows[limit:]), Figures(qualified=0 if counted else None))
    total = total_of(data.cells, data.matches, qualified=counted)
    if not data.spend_known:
        total = replace(total, spend=None)
    return MoneyReport(
        period, by, currency, rows[:limit], rest, total, data.matches, data.spend_known, data.checked, data.scope
    )


@dataclass(frozen=True)
class MoneyColumns:
    """Money beside another report's rows (the API's channels and drill-down): per value of `by`, its spend
    (MONEY_FIELDS only), sales and revenue (the fields a sale row has); None where a field cannot say."""

    by: str
    currency: str
    values: dict[str | None, Figures]
    total: Figures
    unmatched: list[Spend]
    spend_known: bool  # by a field spend is told apart by, under filters it can be
    sales_known: bool  # by a field the sales are grouped by

    def figures(self, value: str | None, leads: int) -> Figures:
        """The row of `value` with `leads` as the report counted them (its spend None when unknown)."""
        found = self.values.get(value, Figures())
        spend = found.spend if self.spend_known else None
        return Figures(spend, leads, found.qualified, found.sales, found.revenue)


async def money_columns(
    store: Store,
    period: Period,
    by: str,
    *,
    filters: Filters | None = None,
    tags: TagFilter | None = None,
    include_probable: bool = True,
    currency: str = "RUB",
) -> MoneyColumns:
    check_field(by)
    data = await joined(
        store, period, filters=filters, tags=tags, include_probable=include_probable, currency=currency,
        ads=by == "content",
    )  # fmt: skip
    return columns_of(data, by, currency)


def columns_of(data: Joined, by: str, currency: str) -> MoneyColumns:
    """Money per value of `by` from joined data (one join serves several fields: the workbook's sheets)."""
    spend_known = data.spend_known and by in MONEY_FIELDS
    if by in MONEY_FIELDS:
        values = {row.value: row.figures for row in money_rows(by, data.cells, data.matches)}
    else:
        values = {}
        for sale in data.sales:
            revenue = sale.amount if sale.amount is not None and sale.currency.upper() == currency.upper() else ZERO
            for value in sale.tags if by == "tag" else [getattr(sale, by, None)]:
                values[value] = values.get(value, Figures()) + Figures(sales=1, revenue=revenue)
    total = total_of(data.cells, data.matches)
    total = total if data.spend_known else replace(total, spend=None)
    unmatched = sorted((m.spend for m in data.matches if not m.joined), key=lambda s: (-s.amount, s.campaign))
    return MoneyColumns(by, currency, values, total, unmatched, spend_known, by in SALE_FIELDS)


async def _ready(value: _T) -> _T:
    return value


async def _lead_counts(
    store: Store, query: CountQuery, asked: Mapping[str, str], *, count_qualified: bool
) -> tuple[list[CountRow], list[CountRow]]:
    """Leads and, when counted apart, qualified leads by the query's fields, the two queries at once."""
    if not count_qualified:
        return await store.count_dialogs(query), []
    qualified_query = query.model_copy(update={"filters": {**asked, "tag": QUALIFIED}})
    leads, qualified = await asyncio.gather(store.count_dialogs(query), store.count_dialogs(qualified_query))
    return leads, qualified


# as Telegram HTML: the «💰» view of /channels ------------------------------------------------------------


def romi_text(lang: Lang, romi: Decimal | None) -> str:
    """ "+140 %", "−20 %"; «—» when spend is zero or unknown."""
    if romi is None:
        return "—"
    return ("+" if romi > 0 else "−" if romi < 0 else "±") + percent(lang, float(abs(romi)))


def figures_lines(lang: Lang, f: Figures, currency: str) -> list[str]:
    """A row's figures in two lines: what it brought, and what each lead and sale cost (when spend is known)."""
    brought = [f"{escape(word(lang, 'money_leads'))} {number(lang, f.leads)}"]
    if f.qualified is not None:
        brought.append(f"{escape(word(lang, 'money_qualified'))} {number(lang, f.qualified)}")
    brought.append(f"{escape(word(lang, 'money_sales'))} {number(lang, f.sales)}")
    brought.append(f"{escape(word(lang, 'money_revenue'))} {money(f.revenue, currency, lang)}")
    lines = [" · ".join(brought)]
    if f.spend is not None:
        lines.append(
            f"{escape(word(lang, 'money_cost_per_lead'))} {money(f.cost_per_lead, currency, lang)} · "
            f"{escape(word(lang, 'money_cost_per_sale'))} {money(f.cost_per_sale, currency, lang)} · "
            f"{escape(word(lang, 'money_romi'))} {romi_text(lang, f.romi)}"
        )
    return lines


def _row_name(lang: Lang, by: str, row: MoneyRow) -> str:
    name = escape(shorten(one_line(value_label(lang, by, row.value))))
    return name + (f" ({escape(shorten(one_line(row.name), 60))})" if row.name else "")


def view_title(lang: Lang, by: str) -> str:
    """The title the counting view of the same rows has: «Каналы», «Детализация: Кампания»."""
    return word(lang, "channels") if by == "channel" else f"{word(lang, 'drilldown')}: {field_label(lang, by)}"


def render_money(report: MoneyReport, lang: Lang) -> str:
    """The money view: per row its spend, then what it brought and what it cost; the total; spend that found
    no leads («Расход без заявок»), listed by campaign."""
    currency = report.currency
    lines = [f"<b>💰 {escape(view_title(lang, report.by))}</b> · {escape(period_label(lang, report.period))}"]
    parts = [f"{escape(field_label(lang, k))} = {escape(shorten(one_line(value_label(lang, k, v))))}"
             for k, v in report.filters.items() if k != "tag"]  # fmt: skip
    if parts:
        lines.append(f"<i>{escape(word(lang, 'filters'))}: {'; '.join(parts)}</i>")
    lines += [f"<i>{escape(note)}</i>" for note in tag_note(lang, report.filters.get("tag"), report.tags)]
    if not report.spend_known:
        lines.append(f"<i>{escape(word(lang, 'money_spend_unknown'))}</i>")
    elif not report.costs_known:
        lines.append(f"<i>{escape(word(lang, 'money_no_costs'))}</i>")
    spend_word = escape(word(lang, "money_spend"))
    for place, row in enumerate(report.rows, 1):
        amount = money(row.figures.spend, currency, lang)
        lines.append(f"{place}. {_row_name(lang, report.by, row)} — {spend_word} <b>{amount}</b>")
        lines += [f"    {line}" for line in figures_lines(lang, row.figures, currency)]
    if report.rest.leads or report.rest.spend:
        lines.append(f"{escape(word(lang, 'rest'))} — {spend_word} {money(report.rest.spend, currency, lang)}")
        lines += [f"    {line}" for line in figures_lines(lang, report.rest, currency)]
    if not report.rows:
        lines.append(escape(word(lang, "no_dialogs")))
    total = report.total
    lines.append(f"{escape(word(lang, 'total'))}: {spend_word} <b>{money(total.spend, currency, lang)}</b>")
    lines += [f"    {line}" for line in figures_lines(lang, total, currency)]
    unmatched = report.unmatched
    if unmatched:
        lines += ["", f"<b>{escape(word(lang, 'money_unmatched'))}</b>"]
        for spend in unmatched[:UNMATCHED_SHOWN]:
            campaign = escape(shorten(one_line(spend.campaign), 60))
            source = escape(shorten(one_line(value_label(lang, "source", spend.source)), 40))
            lines.append(f"{campaign} ({source}) — {money(spend.amount, currency, lang)}")
        if len(unmatched) > UNMATCHED_SHOWN:
            lines.append(escape(word(lang, "and_more").format(count=number(lang, len(unmatched) - UNMATCHED_SHOWN))))
    return "\n".join(lines)


def spend_key(source: str, campaign: str, campaign_id: str | None, ad_id: str | None) -> tuple[str, str, str, str]:
    """What one spend adds costs up by: the platform, the campaign's name and id, the ad."""
    return canonical_source(source), campaign_key(campaign), campaign_key(campaign_id), campaign_key(ad_id)


def joined_leads(data: Joined) -> dict[tuple[str, str, str, str], int]:
    """The leads each spend joined (its campaign's or ad's, over the period), by `spend_key` of its costs."""
    return {spend_key(m.spend.source, m.spend.campaign, m.spend.campaign_id, m.spend.ad_id): m.leads
            for m in data.matches}  # fmt: skip
