"""New against repeat: the period's dialogs and the share of each, as the bot's /stats counts them
(reports.counts.summary, the same call as GET /api/reports/summary)."""

from __future__ import annotations

from aiohttp import web

from dashboard.query import DashboardQuery, chart
from dashboard.templating import render
from dashboard.viewer import Viewer
from dashboard.widgets import widget
from dashboard.widgets.cells import count, customer_link, notes, share, table_words
from reports import counts
from reports.i18n import period_label, word
from webhooks.app import STORE


@widget("summary", "w_summary")
async def build(request: web.Request, q: DashboardQuery, viewer: Viewer) -> web.StreamResponse:
    lang = viewer.lang
    report = await counts.summary(
        request.app[STORE], q.period, filters=q.filters, include_probable=q.probable, tags=q.tags
    )
    t = report.totals
    # each figure opens its dialogs: the list filters by customer=new or customer=repeat
    new, repeat = customer_link(q, "new"), customer_link(q, "repeat")
    rows = [
        ("new", word(lang, "new"), count(lang, t.new, new), share(lang, t.new_share, new)),
        ("repeat", word(lang, "repeat"), count(lang, t.repeat, repeat), share(lang, t.repeat_share, repeat)),
    ]
    labels = [label for _, label, _, _ in rows]
    spec = chart(
        "doughnut",
        labels,
        [{"label": word(lang, "dialogs"), "data": [t.new, t.repeat]}],
        links=[new or "", repeat or ""],
    )
    return render(
        request,
        "widgets/summary.html",
        {
            "name": "summary",
            "period": period_label(lang, report.period),
            "total": count(lang, t.dialogs, q.dialogs_link()),
            "rows": rows,
            "spec": spec,
            "notes": notes(lang, q, report.tags),
            "w": table_words(lang),
        },
    )
