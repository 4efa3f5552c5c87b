"""Response times by person: the leads each one took, how many were answered, the first response's median
and 90th percentile, and how many waited past 15 minutes and an hour (`reports.team.team_report`, the same
call as GET /api/reports/team and the bot's /team)."""

from __future__ import annotations

from datetime import timedelta

from aiohttp import web

from dashboard.query import DashboardQuery, chart
from dashboard.templating import render
from dashboard.texts import t
from dashboard.viewer import Viewer
from dashboard.widgets import widget
from dashboard.widgets.cells import Num, count, notes, share, table_words
from reports.card_rows import NAME_WIDTH
from reports.i18n import Lang, number, period_label, response_time, word
from reports.team import ResponseFigures, team_report
from tracking.store.base import NOT_TAKEN
from tracking.strings import one_line
from webhooks.app import STORE


def seconds(lang: Lang, value: float | None, href: str | None) -> Num:
    """A response time: data-value in seconds, read as people say it («4 мин»); «—» when none, no link."""
    if value is None:
        return Num(None, response_time(lang, value))
    return Num(round(value, 1), response_time(lang, value), href)


def figures_cells(lang: Lang, f: ResponseFigures, waits: tuple[timedelta, ...], href: str | None) -> dict[str, Num]:
    """A row's figures under the API's names for them (GET /api/reports/team)."""
    cells = {
        "dialogs": count(lang, f.dialogs, href),
        "answered": count(lang, f.answered, href),
        "answered_share": share(lang, f.answered_share, href if f.answered_share is not None else None),
        "median_first_response_seconds": seconds(lang, f.median_seconds, href),
        "p90_first_response_seconds": seconds(lang, f.p90_seconds, href),
    }
    for wait, late in zip(waits, f.late, strict=True):
        cells[late_field(wait)] = count(lang, late, href)
    return cells


def late_field(wait: timedelta) -> str:
    return f"unanswered_after_{int(wait.total_seconds())}s"


@widget("team", "w_team")
async def build(request: web.Request, q: DashboardQuery, viewer: Viewer) -> web.StreamResponse:
    lang = viewer.lang
    report = await team_report(
        request.app[STORE], q.period, now=q.now, filters=q.filters, include_probable=q.probable, tags=q.tags
    )

    def link(user_id: int | None) -> str:
        """A person's leads, or those nobody took."""
        return q.dialogs_link(taken_by=NOT_TAKEN if user_id is None else str(user_id))

    rows = [
        {
            "key": str(person.user_id) if person.user_id is not None else "nobody",
            "name": word(lang, "team_nobody")
            if person.user_id is None
            else one_line(person.name, NAME_WIDTH) or str(person.user_id),
            "cells": figures_cells(lang, person.figures, report.waits, link(person.user_id)),
        }
        for person in report.people
    ]
    answered = [(row, p) for row, p in zip(rows, report.people, strict=True) if p.figures.median_seconds is not None]
    spec = chart(
        "hbar",
        [str(row["name"]) for row, _ in answered],
        [
            {
                "label": t(lang, "w_team_median_minutes"),
                "data": [round((p.figures.median_seconds or 0) / 60, 1) for _, p in answered],
            }
        ],
        links=[link(p.user_id) for _, p in answered],
    )
    total = report.total
    said = []
    if report.cut:
        said.append(word(lang, "team_cut").format(shown=number(lang, total.dialogs)))
    if total.dialogs and not total.taken:
        said.append(word(lang, "team_none_taken"))
    if total.unknown:
        said.append(word(lang, "team_unknown").format(count=number(lang, total.unknown)))
    return render(
        request,
        "widgets/team.html",
        {
            "name": "team",
            "period": period_label(lang, report.period),
            "rows": rows,
            "total": figures_cells(lang, total, report.waits, q.dialogs_link()),
            "late": [
                (late_field(wait), t(lang, "w_team_waited", time=response_time(lang, wait.total_seconds())))
                for wait in report.waits
            ],
            "empty": not total.dialogs,
            "spec": spec if answered else None,
            "said": said,
            "notes": notes(lang, q, report.tags),
            "w": {**table_words(lang), "people": word(lang, "team_people")},
        },
    )
