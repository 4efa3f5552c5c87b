"""Traffic channels with a drill-down: channel → source → campaign → ad (content) → keyword (term). A row's
name opens the next level with its value as one more filter (carried in the widget's own links, the same
names as the page's filters), and a breadcrumb goes back up. Each level is reports.counts.ranking by that
field, the very call of GET /api/reports/channels (level channel) and /api/reports/drilldown (the others)."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from dashboard.query import DashboardQuery
from dashboard.templating import render
from dashboard.texts import t
from dashboard.viewer import Viewer
from dashboard.widgets import widget
from dashboard.widgets.cells import Num, count, customer_link, name, notes, ranking_chart, row_link, share, table_words
from reports import counts
from reports.i18n import Lang, field_label, period_label
from webhooks.app import STORE

LEVELS = ("channel", "source", "campaign", "content", "term")
LIMIT = 10  # rows of one level, as the API's default
PATH = "/dashboard/widgets/channels"


@dataclass(frozen=True, slots=True)
class Row:
    key: str  # the value as stored ("" when not set)
    name: str
    down: str | None  # the next level's link: None at the last level and for a value not set
    dialogs: Num
    share: Num
    new: Num


@dataclass(frozen=True, slots=True)
class Crumb:
    text: str
    href: str | None  # None: the level shown now


def crumbs(q: DashboardQuery, lang: Lang, level: str) -> list[Crumb]:
    """ "All channels › Paid search › google": each one back up to the level below it; the level shown now
    is plain. Going up drops the values chosen on the way down, and only those."""
    here = LEVELS.index(level)
    chosen = [f for f in LEVELS[:here] if f in q.filters]
    if not chosen and level == LEVELS[0]:
        return []
    steps = [(t(lang, "w_channels_all"), 0)] + [(name(lang, f, q.filters[f]), LEVELS.index(f) + 1) for f in chosen]
    found = []
    for text, target in steps:
        up = {"level": LEVELS[target], **dict.fromkeys(LEVELS[target:here])}
        found.append(Crumb(text, None if target == here else q.link(PATH, up)))
    return found


@widget("channels", "w_channels", extra={"level"})
async def build(request: web.Request, q: DashboardQuery, viewer: Viewer) -> web.StreamResponse:
    lang = viewer.lang
    level = q.choice("level", LEVELS, "channel")
    assert level is not None
    report = await counts.ranking(
        request.app[STORE],
        q.period,
        level,
        filters=q.filters,
        limit=LIMIT,
        include_probable=q.probable,
        tags=q.tags,
    )
    deeper = LEVELS[LEVELS.index(level) + 1] if level != LEVELS[-1] else None
    rows = []
    for r in report.rows:
        link = row_link(q, level, r.value)
        down = None if deeper is None or link is None else q.link(PATH, {"level": deeper, level: r.value})
        rows.append(
            Row(
                key=r.value or "",
                name=name(lang, level, r.value),
                down=down,
                dialogs=count(lang, r.totals.dialogs, link),
                share=share(lang, r.share, link),
                new=count(lang, r.totals.new, None if link is None else customer_link(q, "new", **{level: r.value})),
            )
        )
    period = period_label(lang, report.period)
    heading = field_label(lang, level)
    spec = ranking_chart(lang, [row.name for row in rows], report, [row.dialogs.href for row in rows])
    return render(
        request,
        "widgets/channels.html",
        {
            "name": "channels",
            "level": level,
            "heading": heading,
            "period": period,
            "crumbs": crumbs(q, lang, level),
            "rows": rows,
            "rest": count(lang, report.rest.dialogs) if report.rest.dialogs else None,
            "total": count(lang, report.total.dialogs, q.dialogs_link()),
            "spec": spec,
            "notes": notes(lang, q, report.tags),
            "w": table_words(lang),
        },
    )
