"""The team report: leads taken, answered, and how fast the first reply came, per person and per channel.

The dialogs of the period with the counting reports' filters and tags left out (the same `report_query`) and
the reply sources. A store that sums them up itself (`Store.response_sums`: SQLite, per taker and channel,
with each answered dialog's seconds) hands over those sums; else each dialog's row (`Store.response_rows`)
is summed up here, from `tracking.team.answer_state` / `response_seconds`. Both give the same figures
(tests/store_contract/test_team_sums.py).

A dialog is "unanswered after N" when its first reply came later than N after it opened, or when none came
and N has passed (its provider reports replies, so none is known to have been sent). Dialogs whose provider
does not tell us of the business's replies ("unknown") are counted apart, never as unanswered.
"""

from __future__ import annotations

import asyncio
import bisect
import statistics
from collections.abc import Awaitable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import chain

from reports.counts import SPAM, TagFilter, TagScope, Totals, count_all, report_query, tag_query, tag_scope
from reports.periods import Period
from tracking.models import AnswerState
from tracking.store.base import CountQuery, ResponseGroup, ResponseRow, ResponseSums, Store
from tracking.team import ReplyWindows, answer_state, reply_windows, response_seconds

# The waits the report counts dialogs left unanswered after: 15 minutes and an hour.
UNANSWERED_AFTER: tuple[timedelta, ...] = (timedelta(minutes=15), timedelta(hours=1))
NOTHING_LEFT_OUT = TagScope((SPAM,))  # spam left out as usual, none there
ROW_LIMIT = 200_000  # dialogs one report reads; past it, the report says it counted the first ones


@dataclass(frozen=True)
class ResponseFigures:
    """What one group of dialogs (a person's, a channel's, all) says about the team's answers."""

    dialogs: int = 0
    taken: int = 0  # someone pressed «Беру»
    answered: int = 0
    unanswered: int = 0  # the provider reports replies, and none came (yet)
    unknown: int = 0  # the provider does not report replies: neither answered nor unanswered
    median_seconds: float | None = None  # first response, among the answered
    p90_seconds: float | None = None  # nine answers in ten came at least this fast
    late: tuple[int, ...] = (0,) * len(UNANSWERED_AFTER)  # unanswered after each wait of UNANSWERED_AFTER

    @property
    def known(self) -> int:
        """Dialogs whose answer we know of either way."""
        return self.answered + self.unanswered

    @property
    def answered_share(self) -> float | None:
        """Answered among the dialogs whose answer is known; None when none is known."""
        return self.answered / self.known if self.known else None


@dataclass(frozen=True)
class PersonRow:
    user_id: int | None  # None: the dialogs nobody took
    name: str | None
    figures: ResponseFigures


@dataclass(frozen=True)
class ChannelRow:
    channel: str
    figures: ResponseFigures


@dataclass(frozen=True)
class TeamReport:
    period: Period
    total: ResponseFigures
    people: list[PersonRow]  # most leads taken first; the dialogs nobody took last
    channels: list[ChannelRow]  # most dialogs first
    waits: tuple[timedelta, ...] = UNANSWERED_AFTER
    filters: dict[str, str] = field(default_factory=dict)
    tags: TagScope = NOTHING_LEFT_OUT
    cut: bool = False  # the period had more dialogs than were read: the first ROW_LIMIT are counted


def _percentiles(seconds: list[float]) -> tuple[float | None, float | None]:
    """The median and the 90th percentile (linear between the nearest values, as spreadsheets compute it)."""
    if not seconds:
        return None, None
    if len(seconds) == 1:  # quantiles wants two values; one answer is every percentile of itself
        return seconds[0], seconds[0]
    return statistics.median(seconds), statistics.quantiles(seconds, n=10, method="inclusive")[-1]


# What one dialog adds to its groups' figures: taken, its state, and the seconds that matter for lateness
# (to the first reply when answered, waited so far when unanswered). Worked out once per dialog, however many
# groups (all, its person, its channel) count it.
_Fact = tuple[bool, AnswerState, float]


def _fact(row: ResponseRow, windows: ReplyWindows, now: datetime) -> _Fact:
    state = answer_state(row, windows)
    if state is AnswerState.ANSWERED:
        seconds = response_seconds(row)
        assert seconds is not None  # answered: it has a reply time
        return row.taken_by is not None, state, seconds
    if state is AnswerState.UNANSWERED:
        return row.taken_by is not None, state, (now - row.started_at).total_seconds()
    return row.taken_by is not None, state, 0.0


def _figures(facts: Sequence[_Fact], waits: Sequence[timedelta]) -> ResponseFigures:
    times = sorted(value for _, state, value in facts if state is AnswerState.ANSWERED)
    waited = sorted(value for _, state, value in facts if state is AnswerState.UNANSWERED)
    late = tuple(
        # answered later than the wait, or unanswered for at least the wait so far
        len(times) - bisect.bisect_right(times, limit) + len(waited) - bisect.bisect_left(waited, limit)
        for limit in (wait.total_seconds() for wait in waits)
    )
    median, p90 = _percentiles(times)
    taken = sum(1 for fact in facts if fact[0])
    unknown = len(facts) - len(times) - len(waited)
    return ResponseFigures(len(facts), taken, len(times), len(waited), unknown, median, p90, late)


def figures(
    rows: Iterable[ResponseRow],
    windows: ReplyWindows,
    now: datetime,
    waits: Sequence[timedelta] = UNANSWERED_AFTER,
) -> ResponseFigures:
    """The figures of these dialogs as of `now` (a dialog that has not waited N yet is not late after N)."""
    return _figures([_fact(row, windows, now) for row in rows], waits)


def team_figures(
    period: Period,
    rows: Sequence[ResponseRow],
    windows: ReplyWindows,
    now: datetime,
    *,
    waits: Sequence[timedelta] = UNANSWERED_AFTER,
    filters: dict[str, str] | None = None,
    tags: TagScope = NOTHING_LEFT_OUT,
    cut: bool = False,
) -> TeamReport:
    """The report of these rows: all of them, per person who took them (and those nobody took), per channel."""
    every: list[_Fact] = []
    by_person: dict[int | None, list[_Fact]] = {}
    names: dict[int, str | None] = {}
    by_channel: dict[str, list[_Fact]] = {}
    for row in rows:
        fact = _fact(row, windows, now)
        every.append(fact)
        by_person.setdefault(row.taken_by, []).append(fact)
        by_channel.setdefault(row.channel, []).append(fact)
        if row.taken_by is not None:
            names[row.taken_by] = row.taken_by_name or names.get(row.taken_by)  # rows are oldest first: latest name
    people = [
        PersonRow(user_id, names.get(user_id) if user_id is not None else None, _figures(facts, waits))
        for user_id, facts in by_person.items()
    ]
    people.sort(key=lambda p: (p.user_id is None, -p.figures.dialogs, (p.name or "").casefold(), p.user_id or 0))
    channels = [ChannelRow(channel, _figures(facts, waits)) for channel, facts in by_channel.items()]
    channels.sort(key=lambda c: (-c.figures.dialogs, c.channel))
    return TeamReport(
        period=period,
        total=_figures(every, waits),
        people=people,
        channels=channels,
        waits=tuple(waits),
        filters=dict(filters or {}),
        tags=tags,
        cut=cut,
    )


def _group_figures(groups: Sequence[ResponseGroup], waits: Sequence[timedelta]) -> ResponseFigures:
    """_figures of the dialogs these groups sum up."""
    times = sorted(chain.from_iterable(group.seconds for group in groups))
    dialogs = sum(group.dialogs for group in groups)
    unanswered = sum(group.unanswered for group in groups)
    late = tuple(
        # answered later than the wait (as _figures), or unanswered and opened at least the wait before now
        len(times) - bisect.bisect_right(times, wait.total_seconds()) + sum(group.late[i] for group in groups)
        for i, wait in enumerate(waits)
    )
    median, p90 = _percentiles(times)
    taken = sum(group.dialogs for group in groups if group.taken_by is not None)
    unknown = dialogs - len(times) - unanswered
    return ResponseFigures(dialogs, taken, len(times), unanswered, unknown, median, p90, late)


def sums_figures(
    period: Period,
    sums: ResponseSums,
    *,
    waits: Sequence[timedelta] = UNANSWERED_AFTER,
    filters: dict[str, str] | None = None,
    tags: TagScope = NOTHING_LEFT_OUT,
) -> TeamReport:
    """team_figures of the dialogs a store summed up per taker and channel (Store.response_sums), with
    `waits` the ones it was asked to count the unanswered of (`opened_by`: now minus each)."""
    by_person: dict[int | None, list[ResponseGroup]] = {}
    by_channel: dict[str, list[ResponseGroup]] = {}
    for group in sums.groups:
        group.seconds.sort()  # once: a person's, a channel's and all the seconds then sort as merges of runs
        by_person.setdefault(group.taken_by, []).append(group)
        by_channel.setdefault(group.channel, []).append(group)
    people = [
        PersonRow(user_id, sums.names.get(user_id) if user_id is not None else None, _group_figures(groups, waits))
        for user_id, groups in by_person.items()
    ]
    people.sort(key=lambda p: (p.user_id is None, -p.figures.dialogs, (p.name or "").casefold(), p.user_id or 0))
    channels = [ChannelRow(channel, _group_figures(groups, waits)) for channel, groups in by_channel.items()]
    channels.sort(key=lambda c: (-c.figures.dialogs, c.channel))
    return TeamReport(
        period=period,
        total=_group_figures(sums.groups, waits),
        people=people,
        channels=channels,
        waits=tuple(waits),
        filters=dict(filters or {}),
        tags=tags,
        cut=sums.cut,
    )


def unanswered_dialogs(rows: Iterable[ResponseRow], windows: ReplyWindows) -> list[ResponseRow]:
    """The dialogs no reply is known to have answered though their provider reports replies, oldest first."""
    return [row for row in rows if answer_state(row, windows) is AnswerState.UNANSWERED]


@dataclass(frozen=True)
class TeamRows:
    """A period's rows as a team report reads them, with the reply sources and the tags left out."""

    rows: list[ResponseRow]
    windows: ReplyWindows
    filters: dict[str, str]
    tags: TagScope
    cut: bool


async def team_rows(
    store: Store,
    period: Period,
    *,
    filters: dict[str, str] | None = None,
    include_probable: bool = True,
    tags: TagFilter | None = None,
    limit: int = ROW_LIMIT,
) -> TeamRows:
    """The dialogs of the period with the period, filters and spam-left-out rules of the counting reports."""
    checked, without = tag_query(filters, tags)
    query = report_query(period, checked, without, include_probable)
    return await _read_rows(store, query, checked, limit, count_all(store, query))


async def _read_rows(
    store: Store, query: CountQuery, checked: dict[str, str], limit: int, counting: Awaitable[int | None]
) -> TeamRows:
    rows, sources, every = await asyncio.gather(
        store.response_rows(query, limit=limit + 1), store.reply_sources(), counting
    )
    cut = len(rows) > limit  # one more than the limit asked for: a period of exactly `limit` is whole
    rows = rows[:limit]
    kept = len(rows)
    if cut and every is not None:  # the rows stopped at the limit: what the query keeps is counted on its own
        kept = Totals.of(await store.count_dialogs(query)).dialogs
    return TeamRows(rows, reply_windows(sources), checked, tag_scope(query, every, kept), cut)


async def team_report(
    store: Store,
    period: Period,
    *,
    now: datetime,
    filters: dict[str, str] | None = None,
    include_probable: bool = True,
    tags: TagFilter | None = None,
    limit: int = ROW_LIMIT,
) -> TeamReport:
    """Leads taken, answered, first response times and late answers of the period, as of `now`."""
    checked, without = tag_query(filters, tags)
    query = report_query(period, checked, without, include_probable)
    counting = asyncio.ensure_future(count_all(store, query))  # beside the sums, or the rows
    try:
        windows = reply_windows(await store.reply_sources())
        opened_by = [now - wait for wait in UNANSWERED_AFTER]  # unanswered since then: waited at least that long
        sums = await store.response_sums(query, windows, opened_by, limit)
    except BaseException:
        counting.cancel()
        raise
    if sums is not None:  # summed up by the store (SQLite): no row per dialog built
        every = await counting
        kept = sum(group.dialogs for group in sums.groups)
        if sums.cut and every is not None:  # as team_rows: what the query keeps is counted on its own
            kept = Totals.of(await store.count_dialogs(query)).dialogs
        return await asyncio.to_thread(sums_figures, period, sums, filters=checked, tags=tag_scope(query, every, kept))
    read = await _read_rows(store, query, checked, limit, counting)
    # Off the event loop: 200,000 dialogs take ~0.4 s to sum up, and webhooks and the bot share the loop.
    return await asyncio.to_thread(
        team_figures, period, read.rows, read.windows, now, filters=read.filters, tags=read.tags, cut=read.cut
    )


__all__ = [
    "ROW_LIMIT",
    "UNANSWERED_AFTER",
    "ChannelRow",
    "PersonRow",
    "ResponseFigures",
    "TeamReport",
    "TeamRows",
    "figures",
    "sums_figures",
    "team_figures",
    "team_report",
    "team_rows",
    "unanswered_dialogs",
]
