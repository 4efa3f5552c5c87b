"""Money per channel: spend, leads, cost per lead, sales, revenue and ROMI (`reports.money.money_report`, the
bot's «💰» view; the API's /api/reports/channels gives the same figures beside its counts).

Spend nobody knows is «—», never 0: no cost loaded for the period, or a filter spend cannot be split by (a
page, a tag…) says so in words; spend that found no leads is listed apart, as in the bot."""

from __future__ import annotations

from decimal import Decimal

from aiohttp import web

from dashboard.query import DashboardQuery, chart
from dashboard.templating import render
from dashboard.viewer import Viewer
from dashboard.widgets import widget
from dashboard.widgets.cells import Num, count, name, notes, row_link, table_words
from reports.i18n import Lang, field_label, money, number, period_label, value_label, word
from reports.money import UNMATCHED_SHOWN, ZERO, Figures, money_report, romi_text
from tracking.models import Channel
from webhooks.app import STORE

ROWS = len(Channel) + 1  # every channel (and one not set): nothing lumped into «the rest»


def amount(lang: Lang, value: Decimal | None, currency: str, href: str | None) -> Num:
    """Money in plain roubles (data-value rounded to kopecks, as the API's JSON); «—» when unknown, no link."""
    if value is None:
        return Num(None, money(value, currency, lang))
    return Num(float(round(value, 2)), money(value, currency, lang), href)


def figures_cells(lang: Lang, f: Figures, currency: str, href: str | None) -> dict[str, Num]:
    return {
        "spend": amount(lang, f.spend, currency, href),
        "leads": count(lang, f.leads, href),
        "cost_per_lead": amount(lang, f.cost_per_lead, currency, href),
        "sales": count(lang, f.sales, href),
        "revenue": amount(lang, f.revenue, currency, href),
        "romi": Num(None, "—") if f.romi is None else Num(float(round(f.romi, 4)), romi_text(lang, f.romi), href),
    }


@widget("money", "w_money")
async def build(request: web.Request, q: DashboardQuery, viewer: Viewer) -> web.StreamResponse:
    lang, currency = viewer.lang, q.settings.currency
    report = await money_report(
        request.app[STORE], q.period, "channel", filters=q.filters, tags=q.tags, include_probable=q.probable,
        currency=currency, limit=ROWS,
    )  # fmt: skip
    rows = [
        {
            "key": row.value or "",
            "name": name(lang, "channel", row.value),
            "cells": figures_cells(lang, row.figures, currency, row_link(q, "channel", row.value)),
        }
        for row in report.rows
    ]
    said: list[str] = []
    if not report.spend_known:
        said.append(word(lang, "money_spend_unknown"))
    elif not report.costs_known:
        said.append(word(lang, "money_no_costs"))
    spent = [float(round(row.figures.spend or ZERO, 2)) for row in report.rows]
    earned = [float(round(row.figures.revenue, 2)) for row in report.rows]
    datasets: list[dict[str, object]] = [
        {"label": word(lang, key), "data": data}
        for key, data in (("money_spend", spent), ("money_revenue", earned))
        if any(data)
    ]
    spec = chart(
        "bar",
        [value_label(lang, "channel", row.value) for row in report.rows],
        datasets,
        links=[row_link(q, "channel", row.value) or q.dialogs_link() for row in report.rows],
    )
    unmatched = [
        {
            "campaign": spend.campaign,
            "source": value_label(lang, "source", spend.source),
            "spend": amount(lang, spend.amount, currency, None),  # no dialog came of it: nothing to open
        }
        for spend in report.unmatched[:UNMATCHED_SHOWN]
    ]
    return render(
        request,
        "widgets/money.html",
        {
            "name": "money",
            "period": period_label(lang, report.period),
            "rows": rows,
            "total": figures_cells(lang, report.total, currency, q.dialogs_link()),
            "empty": not report.rows,
            "spec": spec if datasets else None,
            "said": said,
            "notes": notes(lang, q, report.tags),
            "unmatched": unmatched,
            "more": word(lang, "and_more").format(count=number(lang, len(report.unmatched) - len(unmatched)))
            if len(report.unmatched) > len(unmatched)
            else None,
            "w": {
                **table_words(lang),
                "channel": field_label(lang, "channel"),
                "unmatched": word(lang, "money_unmatched"),
            },
        },
    )
