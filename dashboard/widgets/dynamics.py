"""Dynamics: dialogs per channel per day, week, month or quarter (`reports.counts.dynamics`, as GET
/api/reports/dynamics and the bot's /dynamics count them), with a switch between the four buckets.

Every channel is its own series (there are few of them), so no number is lumped into an «other» that no
filter could open. Each cell opens the dialogs of its channel in its bucket's days."""

from __future__ import annotations

from datetime import date, timedelta

from aiohttp import web

from dashboard.query import DashboardQuery, chart
from dashboard.templating import render
from dashboard.texts import t
from dashboard.viewer import Viewer
from dashboard.widgets import widget
from dashboard.widgets.cells import Num, count, name, notes, table_words
from reports.counts import MAX_BUCKETS, dynamics
from reports.i18n import bucket_label, period_label, value_label, word
from reports.periods import Period, add_months, month_end
from tracking.periods import bucket_start
from tracking.store.base import Bucket
from webhooks.app import STORE

BUCKETS = tuple(bucket.value for bucket in Bucket)  # day, week, month, quarter
# The days one bucket spans at least, as counts.dynamics checks a period against MAX_BUCKETS.
SHORTEST = {"day": 1, "week": 7, "month": 28, "quarter": 90}
LINE_FROM = 15  # points from which a line reads better than stacked bars


def fits(period: Period, bucket: str) -> bool:
    """Whether the period in this bucket stays within the points one chart may have."""
    return period.days // SHORTEST[bucket] <= MAX_BUCKETS


def default_bucket(period: Period) -> str:
    """Days for up to two months, weeks up to half a year, months beyond."""
    return "day" if period.days <= 62 else "week" if period.days <= 183 else "month"


def bucket_days(bucket: Bucket, key: str, period: Period) -> tuple[date, date]:
    """The days of the period a bucket holds (the first and last week or month may be cut by the period)."""
    first = bucket_start(bucket.value, key)
    if bucket is Bucket.DAY:
        last = first
    elif bucket is Bucket.WEEK:
        last = first + timedelta(days=6)
    else:
        last = month_end(add_months(first, 2 if bucket is Bucket.QUARTER else 0))
    return max(first, period.first), min(last, period.last_covered)


def days_text(first: date, last: date) -> str:
    """The period parameter for these days, as Period.label writes it."""
    return first.isoformat() if first == last else f"{first}..{last}"


@widget("dynamics", "w_dynamics", extra={"bucket"})
async def build(request: web.Request, q: DashboardQuery, viewer: Viewer) -> web.StreamResponse:
    lang, period = viewer.lang, q.period
    chosen = q.choice("bucket", BUCKETS, default_bucket(period))
    assert chosen is not None
    bucket = Bucket(chosen)
    report = await dynamics(
        request.app[STORE], period, bucket, by="channel", filters=q.filters, top=None,
        include_probable=q.probable, tags=q.tags,
    )  # fmt: skip
    year = period.first.year != period.last_covered.year
    labels = [bucket_label(lang, bucket, key, period, year=year) for key in report.buckets]
    periods = [days_text(*bucket_days(bucket, key, period)) for key in report.buckets]

    def cell(n: int, days: str | None = None, **channel: str | None) -> Num:
        """`n` dialogs, linked to those of the bucket's days (all the period's without `days`) and of the
        channel when one is given; a channel that is not set has no list of its own: no link."""
        if None in channel.values():
            return count(lang, n)
        changes = {"period": days, **channel} if days is not None else dict(channel)
        return count(lang, n, q.link("/dashboard/dialogs", changes))

    points = [
        [cell(n, days, channel=s.value) for n, days in zip(s.points, periods, strict=True)] for s in report.series
    ]
    series = [
        {"field": s.value or "", "name": name(lang, "channel", s.value), "total": cell(s.total, channel=s.value)}
        for s in report.series
    ]
    rows = [
        {"key": key, "label": label, "cells": [p[i] for p in points], "total": cell(report.totals[i], periods[i])}
        for i, (key, label) in enumerate(zip(report.buckets, labels, strict=True))
    ]
    spec = chart(
        "line" if len(labels) >= LINE_FROM else "bar",
        labels,
        [{"label": value_label(lang, "channel", s.value), "data": s.points} for s in report.series],
        stacked=len(labels) < LINE_FROM,
        links=[q.link("/dashboard/dialogs", {"period": days}) for days in periods],
    )
    switch = [
        {
            "label": t(lang, f"w_bucket_{option}"),
            "href": q.link("/dashboard/widgets/dynamics", {"bucket": option}) if fits(period, option) else None,
            "current": option == chosen,
        }
        for option in BUCKETS
    ]
    return render(
        request,
        "widgets/dynamics.html",
        {
            "name": "dynamics",
            "period": period_label(lang, period),
            "switch": switch,
            "empty": not any(report.totals),
            "spec": spec,
            "series": series,
            "rows": rows,
            "total": cell(sum(report.totals)),
            "notes": notes(lang, q, report.tags),
            "w": {**table_words(lang), "period": word(lang, "period")},
        },
    )
