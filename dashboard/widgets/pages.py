"""Top pages of the site: where customers clicked the chat link (pages of contact) or where their visit began
(landing pages), switched by `kind`. reports.counts.ranking by that page field, the call GET
/api/reports/pages makes."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from dashboard.query import DashboardQuery
from dashboard.templating import render
from dashboard.viewer import Viewer
from dashboard.widgets import widget
from dashboard.widgets.cells import Num, count, customer_link, name, notes, ranking_chart, row_link, share, table_words
from reports import counts
from reports.i18n import field_label, period_label, value_label
from webhooks.app import STORE

KINDS = tuple(counts.PAGE_FIELDS)  # contact, landing
LIMIT = 10  # pages, as the API's default
PATH = "/dashboard/widgets/pages"


@dataclass(frozen=True, slots=True)
class Row:
    key: str
    name: str  # shortened in the middle when long
    full: str  # the whole address, for the tooltip
    dialogs: Num
    share: Num
    new: Num


@widget("pages", "w_pages", extra={"kind"})
async def build(request: web.Request, q: DashboardQuery, viewer: Viewer) -> web.StreamResponse:
    lang = viewer.lang
    kind = q.choice("kind", KINDS, "contact")
    assert kind is not None
    by = counts.PAGE_FIELDS[kind]
    report = await counts.ranking(
        request.app[STORE], q.period, by, filters=q.filters, limit=LIMIT, include_probable=q.probable, tags=q.tags
    )
    rows = []
    for r in report.rows:
        link = row_link(q, by, r.value)
        rows.append(
            Row(
                key=r.value or "",
                name=name(lang, by, r.value),
                full=value_label(lang, by, r.value),
                dialogs=count(lang, r.totals.dialogs, link),
                share=share(lang, r.share, link),
                new=count(lang, r.totals.new, None if link is None else customer_link(q, "new", **{by: r.value})),
            )
        )
    heading = field_label(lang, by)
    spec = ranking_chart(lang, [row.name for row in rows], report, [row.dialogs.href for row in rows])
    return render(
        request,
        "widgets/pages.html",
        {
            "name": "pages",
            "kinds": [(option, q.link(PATH, {"kind": option}), option == kind) for option in KINDS],
            "heading": heading,
            "period": period_label(lang, report.period),
            "rows": rows,
            "rest": count(lang, report.rest.dialogs) if report.rest.dialogs else None,
            "total": count(lang, report.total.dialogs, q.dialogs_link()),
            "spec": spec,
            "notes": notes(lang, q, report.tags),
            "w": table_words(lang),
        },
    )
