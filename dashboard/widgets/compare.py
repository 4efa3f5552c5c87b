"""Two periods side by side: the page's period (A) against the one before it or the same one a year ago (B),
in total, new, repeat and per channel, with the absolute and the relative change. reports.counts.compare,
the call GET /api/reports/compare makes for `a=<period>&b=previous` (or `b=year_ago`): while A runs, B is
cut at the same moment, and its label says so."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from dashboard.query import DashboardQuery, chart
from dashboard.templating import render
from dashboard.viewer import Viewer
from dashboard.widgets import widget
from dashboard.widgets.cells import Num, count, customer_link, name, notes, row_link, table_words
from reports import counts
from reports.counts import Change
from reports.i18n import Lang, field_label, period_label, signed, signed_percent, word
from reports.periods import Period
from webhooks.app import STORE

CHOICES = ("previous", "year_ago")
LIMIT = 10  # channels, as the API's default
PATH = "/dashboard/widgets/compare"


@dataclass(frozen=True, slots=True)
class Line:
    key: str
    name: str
    a: Num
    b: Num
    delta: Num
    ratio: Num


def change_cells(lang: Lang, change: Change) -> tuple[Num, Num]:
    """+3 and +150 %, as the bot's /compare says them; nothing either time is «±0» alone (no «не было»)."""
    if change.a == change.b == 0:
        return Num(0, signed(lang, 0)), Num(None, "")
    return Num(change.delta, signed(lang, change.delta)), Num(change.ratio, signed_percent(lang, change.ratio))


def line(lang: Lang, key: str, label: str, change: Change, a_href: str | None, b_href: str | None) -> Line:
    delta, ratio = change_cells(lang, change)
    return Line(key, label, count(lang, change.a, a_href), count(lang, change.b, b_href), delta, ratio)


def b_link(q: DashboardQuery, b: Period, **filters: str | None) -> str | None:
    """The dialogs of period B: its days. B cut at A's moment has no link: the list takes whole days only."""
    if b.cut or any(value is None or value == "" for value in filters.values()):
        return None
    return q.link("/dashboard/dialogs", {"period": b.label, **filters})


@widget("compare", "w_compare", extra={"vs"})
async def build(request: web.Request, q: DashboardQuery, viewer: Viewer) -> web.StreamResponse:
    lang = viewer.lang
    vs = q.choice("vs", CHOICES, "previous")
    a = q.period
    b = a.previous() if vs == "previous" else a.year_ago()
    report = await counts.compare(
        request.app[STORE],
        a,
        b,
        by="channel",
        filters=q.filters,
        limit=LIMIT,
        include_probable=q.probable,
        tags=q.tags,
    )
    rows = [
        line(lang, r.value or "", name(lang, "channel", r.value), r.dialogs, row_link(q, "channel", r.value),
             b_link(q, report.b, channel=r.value))
        for r in report.rows
    ]  # fmt: skip
    totals = [line(lang, "dialogs", word(lang, "dialogs"), report.dialogs, q.dialogs_link(), b_link(q, report.b))]
    for customer, change in (("new", report.new), ("repeat", report.repeat)):  # customer=new|repeat
        a_href = customer_link(q, customer)
        b_href = None if a_href is None else b_link(q, report.b, customer=customer)
        totals.append(line(lang, customer, word(lang, customer), change, a_href, b_href))
    a_label, b_label = period_label(lang, report.a), period_label(lang, report.b)
    spec = chart(
        "bar",
        [row.name for row in rows],
        [
            {"label": a_label, "data": [r.dialogs.a for r in report.rows]},
            {"label": b_label, "data": [r.dialogs.b for r in report.rows]},
        ],
        links=[row.a.href or "" for row in rows],
    )
    return render(
        request,
        "widgets/compare.html",
        {
            "name": "compare",
            "choices": [(choice, q.link(PATH, {"vs": choice}), choice == vs) for choice in CHOICES],
            "sides": [(word(lang, "side_a"), a_label), (word(lang, "side_b"), b_label)],
            "heading": field_label(lang, "channel"),
            "rows": rows,
            "totals": totals,
            "spec": spec,
            "notes": notes(lang, q, report.tags, report.tags_b),
            "w": table_words(lang),
        },
    )
