"""The counting reports, each one definition over `Store.count_dialogs` (the store does the counting).

summary (totals and the share of new / repeat dialogs), ranking (channels, pages of contact, landing
pages, drill-down by source / medium / campaign / content / term or any groupable field), dynamics (a
series per channel per day / week / month / quarter) and the comparison of two periods.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Literal

from reports.periods import Period
from tracking.demo import DEMO
from tracking.periods import buckets_for
from tracking.store.base import (
    CUSTOMER,
    GROUPABLE_FIELDS,
    NOT_TAKEN,
    TAKEN_BY,
    Bucket,
    CountQuery,
    CountRow,
    Store,
    is_repeat_of,
    taker_of,
)

DRILLDOWN_FIELDS = ("source", "medium", "campaign", "content", "term")
PAGE_FIELDS: dict[str, str] = {"contact": "contact_page", "landing": "landing_page"}
MAX_BUCKETS = 800  # points on one chart / in one answer; more asks for a wider bucket
MAX_LIMIT = 1000

Filters = Mapping[str, str]
SPAM = "spam"


@dataclass(frozen=True)
class TagFilter:
    """Which tagged dialogs a report counts: only those tagged `only` (when set), leaving out those with any
    tag of `without`. The default leaves spam out: spam is not a lead."""

    only: str | None = None
    without: tuple[str, ...] = (SPAM,)


INCLUDE_ALL = TagFilter(without=())


class ReportError(ValueError):
    """A report asked for something that cannot be answered (unknown field, too many points...)."""


@dataclass(frozen=True)
class TagScope:
    """A tag filter as one report applied it: the tags left out, and how many dialogs that left out."""

    without: tuple[str, ...] = ()
    left_out: int = 0


@dataclass(frozen=True)
class Totals:
    dialogs: int = 0
    new: int = 0
    repeat: int = 0

    @property
    def new_share(self) -> float | None:
        return self.new / self.dialogs if self.dialogs else None

    @property
    def repeat_share(self) -> float | None:
        return self.repeat / self.dialogs if self.dialogs else None

    def __add__(self, other: Totals) -> Totals:
        return Totals(self.dialogs + other.dialogs, self.new + other.new, self.repeat + other.repeat)

    @classmethod
    def of(cls, rows: Sequence[CountRow]) -> Totals:
        return cls(sum(r.dialogs for r in rows), sum(r.new for r in rows), sum(r.repeat for r in rows))


@dataclass(frozen=True)
class PeriodTotals:
    period: Period
    totals: Totals
    filters: dict[str, str] = field(default_factory=dict)
    tags: TagScope = TagScope()


@dataclass(frozen=True)
class RankRow:
    value: str | None  # None: the field was not set (no source, no campaign...)
    totals: Totals
    share: float  # of all dialogs of the period (with its filters)


@dataclass(frozen=True)
class Ranking:
    period: Period
    by: str
    rows: list[RankRow]
    total: Totals
    rest: Totals  # what the rows beyond `limit` add up to
    filters: dict[str, str] = field(default_factory=dict)
    tags: TagScope = TagScope()


@dataclass(frozen=True)
class Series:
    value: str | None
    points: list[int]  # dialogs per bucket, aligned with Dynamics.buckets
    other: bool = False  # the series that lumps together everything beyond the top ones

    @property
    def total(self) -> int:
        return sum(self.points)


@dataclass(frozen=True)
class Dynamics:
    period: Period
    bucket: Bucket
    by: str
    buckets: list[str]  # local bucket keys in time order: "2026-11-27", "2026-W48", "2026-11", "2026-Q4"
    series: list[Series]  # biggest first; "other" last
    totals: list[int]
    filters: dict[str, str] = field(default_factory=dict)
    tags: TagScope = TagScope()


@dataclass(frozen=True)
class Change:
    a: int
    b: int

    @property
    def delta(self) -> int:
        return self.a - self.b

    @property
    def ratio(self) -> float | None:
        """Relative change of a against b (0.25 = +25 %); None when b is 0 (nothing to compare with)."""
        return (self.a - self.b) / self.b if self.b else None


@dataclass(frozen=True)
class ComparisonRow:
    value: str | None
    dialogs: Change


@dataclass(frozen=True)
class Comparison:
    a: Period
    b: Period
    by: str
    dialogs: Change
    new: Change
    repeat: Change
    rows: list[ComparisonRow]  # by `by`, biggest in a (then in b) first
    filters: dict[str, str] = field(default_factory=dict)
    tags: TagScope = TagScope()  # left out in a
    tags_b: TagScope = TagScope()  # left out in b


def check_field(name: str) -> str:
    if name not in GROUPABLE_FIELDS:
        raise ReportError(f"unknown field {name!r}; use one of {', '.join(GROUPABLE_FIELDS)}")
    return name


def check_filters(filters: Filters | None) -> dict[str, str]:
    checked = dict(filters or {})
    for name in checked:
        check_field(name)
    if TAKEN_BY in checked:  # a user id as the stores read it ("007" is 7), or "none"
        try:
            taker = taker_of(checked[TAKEN_BY])
        except ValueError as exc:
            raise ReportError(str(exc)) from None
        checked[TAKEN_BY] = NOT_TAKEN if taker is None else str(taker)
    if CUSTOMER in checked:  # new or repeat, as a dialog's record writes it
        try:
            is_repeat_of(checked[CUSTOMER])
        except ValueError as exc:
            raise ReportError(str(exc)) from None
    return checked


def tag_query(filters: Filters | None, tags: TagFilter | None) -> tuple[dict[str, str], list[str]]:
    """The checked field filters (with the tag asked for) and the tags left out (never the one asked for).
    Demo leads are left out besides, always and unsaid: `report_query` adds them to the store query."""
    checked = check_filters(filters)
    tags = tags or TagFilter()
    if tags.only is not None:
        if checked.get("tag", tags.only) != tags.only:
            raise ReportError("two different tags asked for: choose one")
        checked["tag"] = tags.only
    only = checked.get("tag")
    return checked, [tag for tag in dict.fromkeys(tags.without) if tag not in (only, DEMO)]


def report_query(
    period: Period,
    checked: dict[str, str],
    without: list[str],
    include_probable: bool,
    group_by: Sequence[str] = (),
    bucket: Bucket | None = None,
) -> CountQuery:
    """The store query of a report over `period`: its checked filters and tags left out (`tag_query`), and
    demo leads (tracking/demo.py), which no report counts."""
    return CountQuery(
        start=period.start,
        end=period.end,
        group_by=list(group_by),
        bucket=bucket,
        filters=checked,
        without_tags=[*(tag for tag in without if tag != DEMO), DEMO],
        include_probable=include_probable,
    )


def said_left_out(query: CountQuery) -> tuple[str, ...]:
    """The tags a report says it left out: every one but the demo's, which is never a lead to mention."""
    return tuple(tag for tag in query.without_tags if tag != DEMO)


async def count_all(store: Store, query: CountQuery) -> int | None:
    """Dialogs of the query before its `without_tags` left any out (None when it leaves none out): asked
    beside the report's own query, so telling what was left out costs no extra wait. Demo leads stay out."""
    if not said_left_out(query):
        return None
    kept_out = [DEMO] if DEMO in query.without_tags else []
    every = query.model_copy(update={"group_by": [], "bucket": None, "without_tags": kept_out})
    return Totals.of(await store.count_dialogs(every)).dialogs


def tag_scope(query: CountQuery, every: int | None, kept: int) -> TagScope:
    return TagScope() if every is None else TagScope(said_left_out(query), max(every - kept, 0))


def _order(value: str | None, dialogs: int) -> tuple[int, bool, str]:
    return -dialogs, value is None, value or ""


async def summary(
    store: Store,
    period: Period,
    *,
    filters: Filters | None = None,
    include_probable: bool = True,
    tags: TagFilter | None = None,
) -> PeriodTotals:
    """Dialogs of the period, and how many came from new and from repeat customers."""
    checked, without = tag_query(filters, tags)
    query = report_query(period, checked, without, include_probable)
    rows, every = await asyncio.gather(store.count_dialogs(query), count_all(store, query))
    totals = Totals.of(rows)
    return PeriodTotals(period, totals, checked, tag_scope(query, every, totals.dialogs))


async def ranking(
    store: Store,
    period: Period,
    by: str,
    *,
    filters: Filters | None = None,
    limit: int = 10,
    include_probable: bool = True,
    tags: TagFilter | None = None,
) -> Ranking:
    """Dialogs per value of one field (channel, a page, source...), biggest first, top `limit`."""
    check_field(by)
    checked, without = tag_query(filters, tags)
    if not 1 <= limit <= MAX_LIMIT:
        raise ReportError(f"limit must be 1 to {MAX_LIMIT}")
    query = report_query(period, checked, without, include_probable, [by])
    rows, every = await asyncio.gather(store.count_dialogs(query), count_all(store, query))
    if by == "tag":  # a dialog with two tags is in two rows: the total is counted on its own
        total = Totals.of(await store.count_dialogs(query.model_copy(update={"group_by": []})))
    else:
        total = Totals.of(rows)
    ranked = sorted(rows, key=lambda r: _order(r.key[by], r.dialogs))
    top = [
        RankRow(r.key[by], Totals(r.dialogs, r.new, r.repeat), r.dialogs / total.dialogs if total.dialogs else 0.0)
        for r in ranked[:limit]
    ]
    return Ranking(period, by, top, total, Totals.of(ranked[limit:]), checked, tag_scope(query, every, total.dialogs))


async def channels(store: Store, period: Period, **options: object) -> Ranking:
    return await ranking(store, period, "channel", **options)  # type: ignore[arg-type]


async def pages(store: Store, period: Period, kind: Literal["contact", "landing"], **options: object) -> Ranking:
    """Top pages of contact (where the customer clicked the chat link) or landing pages."""
    if kind not in PAGE_FIELDS:
        raise ReportError(f"unknown kind of page {kind!r}; use contact or landing")
    return await ranking(store, period, PAGE_FIELDS[kind], **options)  # type: ignore[arg-type]


def bucket_keys(period: Period, bucket: Bucket) -> list[str]:
    """Every bucket the period touches, in time order, so empty days show as zeros."""
    if period.end <= period.start:
        return []
    last = period.last_covered
    keys: list[str] = []
    day = period.first
    while day <= last:
        noon = datetime.combine(day, time(12), tzinfo=period.zone)
        key = getattr(buckets_for(noon, period.zone), bucket.value)
        if not keys or keys[-1] != key:
            keys.append(key)
        day += timedelta(days=1)
    return keys


async def dynamics(
    store: Store,
    period: Period,
    bucket: Bucket,
    *,
    by: str = "channel",
    filters: Filters | None = None,
    top: int | None = 6,
    include_probable: bool = True,
    tags: TagFilter | None = None,
) -> Dynamics:
    """Dialogs per `by` value per time bucket; series beyond the `top` biggest are lumped into one."""
    check_field(by)
    checked, without = tag_query(filters, tags)
    if top is not None and not 1 <= top <= MAX_LIMIT:
        raise ReportError(f"top must be 1 to {MAX_LIMIT}")
    if (period.days // {"day": 1, "week": 7, "month": 28, "quarter": 90}[bucket.value]) > MAX_BUCKETS:
        raise ReportError(f"more than {MAX_BUCKETS} points: choose a wider bucket or a shorter period")
    keys = bucket_keys(period, bucket)
    query = report_query(period, checked, without, include_probable, [by], bucket)
    rows, every = await asyncio.gather(store.count_dialogs(query), count_all(store, query))
    extra = sorted({r.bucket for r in rows if r.bucket is not None} - set(keys))
    keys = sorted([*keys, *extra]) if extra else keys  # cannot happen with well-stored buckets; never drop
    index = {key: i for i, key in enumerate(keys)}
    per_value: dict[str | None, list[int]] = {}
    for row in rows:
        points = per_value.setdefault(row.key[by], [0] * len(keys))
        if row.bucket is not None:
            points[index[row.bucket]] += row.dialogs
    ordered = sorted(per_value.items(), key=lambda item: _order(item[0], sum(item[1])))
    series = [Series(value, points) for value, points in ordered]
    if top is not None and len(series) > top + 1:
        lumped = [sum(column) for column in zip(*(s.points for s in series[top:]), strict=True)]
        series = [*series[:top], Series(None, lumped, other=True)]
    totals = [sum(column) for column in zip(*(s.points for s in series), strict=True)] if series else [0] * len(keys)
    kept = sum(totals)
    if by == "tag" and every is not None:  # a dialog with two tags is in two series: count the kept on their own
        kept = Totals.of(await store.count_dialogs(query.model_copy(update={"group_by": [], "bucket": None}))).dialogs
    return Dynamics(period, bucket, by, keys, series, totals, checked, tag_scope(query, every, kept))


async def compare(
    store: Store,
    a: Period,
    b: Period,
    *,
    by: str = "channel",
    filters: Filters | None = None,
    limit: int = 10,
    include_probable: bool = True,
    tags: TagFilter | None = None,
) -> Comparison:
    """Period a against period b: totals, new, repeat and per `by` value, with absolute and relative change."""
    check_field(by)
    checked, without = tag_query(filters, tags)
    if not 1 <= limit <= MAX_LIMIT:
        raise ReportError(f"limit must be 1 to {MAX_LIMIT}")

    def query(p: Period) -> CountQuery:
        return report_query(p, checked, without, include_probable, [by])

    rows_a, rows_b, every_a, every_b = await asyncio.gather(
        store.count_dialogs(query(a)),
        store.count_dialogs(query(b)),
        count_all(store, query(a)),
        count_all(store, query(b)),
    )
    if by == "tag":
        ungrouped = [query(p).model_copy(update={"group_by": []}) for p in (a, b)]
        totals_a, totals_b = [Totals.of(rows) for rows in await asyncio.gather(*map(store.count_dialogs, ungrouped))]
    else:
        totals_a, totals_b = Totals.of(rows_a), Totals.of(rows_b)
    count_a = {r.key[by]: r.dialogs for r in rows_a}
    count_b = {r.key[by]: r.dialogs for r in rows_b}
    values = sorted(
        count_a.keys() | count_b.keys(),
        key=lambda v: (-count_a.get(v, 0), -count_b.get(v, 0), v is None, v or ""),
    )
    rows = [ComparisonRow(v, Change(count_a.get(v, 0), count_b.get(v, 0))) for v in values[:limit]]
    return Comparison(
        a=a,
        b=b,
        by=by,
        dialogs=Change(totals_a.dialogs, totals_b.dialogs),
        new=Change(totals_a.new, totals_b.new),
        repeat=Change(totals_a.repeat, totals_b.repeat),
        rows=rows,
        filters=checked,
        tags=tag_scope(query(a), every_a, totals_a.dialogs),
        tags_b=tag_scope(query(b), every_b, totals_b.dialogs),
    )
