"""The team report summed up by the store (Store.response_sums) gives exactly the figures of summing its rows
(Store.response_rows + reports.team.team_figures, the way every report was computed before): random dialogs,
takers, replies, reply windows, filters, tags, probable matches, periods, limits and moments of "now", from a
fixed seed. MongoDB sums no rows itself (None): the same comparison holds there trivially, and keeps it honest
if it ever does."""

from __future__ import annotations

import random
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from reports.counts import TagFilter, report_query, tag_query
from reports.periods import Period, Unit
from reports.team import UNANSWERED_AFTER, TeamReport, team_figures, team_report, team_rows
from tests.store_contract import ZONE, message, new_dialog
from tracking.models import AnswerState, AttributionStatus, Channel
from tracking.store.base import NOT_TAKEN, Store
from tracking.store.sqlite import SQLiteStore, response_sums_sql
from tracking.team import answer_state, reply_windows

SEED = 20
SET_DATE = "a date written by $set comes back as a string without its time zone"
MONTH = Period(date(2026, 3, 1), date(2026, 3, 31), ZONE, Unit.MONTH)
WEEK = Period(date(2026, 3, 9), date(2026, 3, 15), ZONE, Unit.WEEK)
NUMBERS = ("+79991234567", "+79997654321")
PROVIDERS = ("twilio", "greenapi")
STAFF = ((501, ("Мария", "Маша", "")), (502, ("Олег",)), (503, ("",)))  # names a taker signs with, "" none
CHANNELS = (Channel.PAID_SEARCH, Channel.ORGANIC_SEARCH, Channel.DIRECT, Channel.REFERRAL)
TAGS = ("spam", "vip", "sale", "demo")
ROW_LIMIT = 200_000


async def seed(store: Store, rng: random.Random, dialogs: int = 240) -> list[datetime]:
    """Random dialogs of the month (distinct starts, in microseconds), some taken, some answered, on providers
    and numbers of which some report replies since a moment of the month; returns the starts."""
    starts = sorted(MONTH.start + timedelta(microseconds=rng.randrange(31 * 86_400 * 10**6)) for _ in range(dialogs))
    for n, started in enumerate(starts):
        msg = message(started, contact=f"+7916{n:07d}", number=rng.choice(NUMBERS), provider=rng.choice(PROVIDERS))
        status = rng.choice((AttributionStatus.NONE, AttributionStatus.EXACT, AttributionStatus.PROBABLE))
        tags = [tag for tag in TAGS if rng.random() < 0.12]
        new = new_dialog(
            msg, status=status, channel=rng.choice(CHANNELS), source=rng.choice(("google", None)), tags=tags
        )
        dialog = (await store.add_message(new)).dialog
        if rng.random() < 0.7:
            user_id, names = rng.choice(STAFF)
            await store.take_dialog(
                dialog.id, user_id, rng.choice(names), started + timedelta(seconds=rng.randrange(600))
            )
        if rng.random() < 0.6:
            reply = rng.choice(
                (
                    timedelta(microseconds=rng.randrange(7_200 * 10**6)),
                    timedelta(seconds=rng.choice((0, 900, 3600))),  # on a wait's edge: late only when past it
                    timedelta(seconds=900, microseconds=1),
                    -timedelta(seconds=rng.randrange(1, 90)),  # a reply stamped before the dialog: 0 seconds
                    timedelta(days=rng.randrange(1, 5), microseconds=rng.randrange(10**6)),
                )
            )
            await store.record_reply(dialog.id, started + reply)
    # Replies reported since: one source from before the month, one from its middle, the rest never.
    await store.reply_seen("twilio", NUMBERS[0], MONTH.start - timedelta(days=1))
    await store.reply_seen("greenapi", NUMBERS[1], starts[dialogs // 2])
    return starts


@dataclass(frozen=True)
class Ask:
    period: Period
    now: datetime
    filters: dict[str, str]
    include_probable: bool
    tags: TagFilter | None
    limit: int


def asks(rng: random.Random, starts: list[datetime], waiting: datetime) -> Iterator[Ask]:
    """What the comparison asks; `waiting`: the start of an unanswered dialog."""
    middle = starts[len(starts) // 2]
    nows = (
        MONTH.end + timedelta(days=2),
        middle,  # a running period: later dialogs have not waited at all
        waiting + UNANSWERED_AFTER[0],  # it waited exactly 15 minutes: late after 15 minutes
        waiting + UNANSWERED_AFTER[1] - timedelta(microseconds=1),  # a microsecond short of an hour: not yet
    )
    filters: tuple[dict[str, str], ...] = (
        {},
        {"channel": "paid_search"},
        {"channel": "unattributed"},
        {"taken_by": "501"},
        {"taken_by": NOT_TAKEN},
        {"tag": "vip"},
        {"source": "google", "channel": "direct"},
        {"customer": "new", "taken_by": "502"},
    )
    tag_filters = (None, TagFilter(without=()), TagFilter(without=("spam", "sale")), TagFilter(only="sale"))
    for period in (MONTH, WEEK, MONTH.__class__(MONTH.first, MONTH.last, ZONE, Unit.MONTH, until=middle)):
        for now in nows:
            for chosen in filters:
                tags = rng.choice(tag_filters[:3] if "tag" in chosen else tag_filters)  # one tag asked for at most
                yield Ask(period, now, chosen, rng.random() < 0.7, tags, ROW_LIMIT)
    for limit in (1, 57, 120, len(starts), len(starts) + 1):
        yield Ask(MONTH, nows[0], {}, True, None, limit)


async def by_rows(store: Store, ask: Ask) -> TeamReport:
    """The figures as every team report was computed before the store summed them: each dialog's row."""
    read = await team_rows(
        store, ask.period, filters=ask.filters, include_probable=ask.include_probable, tags=ask.tags, limit=ask.limit
    )
    return team_figures(
        ask.period, read.rows, read.windows, ask.now, filters=read.filters, tags=read.tags, cut=read.cut
    )


async def summed(store: Store, ask: Ask) -> TeamReport:
    return await team_report(
        store,
        ask.period,
        now=ask.now,
        filters=ask.filters,
        include_probable=ask.include_probable,
        tags=ask.tags,
        limit=ask.limit,
    )


@pytest.mark.emulator_xfail(SET_DATE)
async def test_the_stores_sums_give_the_figures_of_the_rows(store: Store) -> None:
    rng = random.Random(SEED)
    starts = await seed(store, rng)
    windows = reply_windows(await store.reply_sources())
    rows = await store.response_rows(report_query(MONTH, {}, [], True))
    waiting = next(row.started_at for row in rows if answer_state(row, windows) is AnswerState.UNANSWERED)
    compared = 0
    for ask in asks(rng, starts, waiting):
        expected = await by_rows(store, ask)
        assert await summed(store, ask) == expected, ask
        compared += expected.total.dialogs
        if isinstance(store, SQLiteStore):  # the store did sum them up: the comparison is not of one path twice
            checked, without = tag_query(ask.filters, ask.tags)
            query = report_query(ask.period, checked, without, ask.include_probable)
            sums = await store.response_sums(query, windows, [ask.now - wait for wait in UNANSWERED_AFTER], ask.limit)
            assert sums is not None and sum(group.dialogs for group in sums.groups) == expected.total.dialogs
    everything = await by_rows(store, Ask(MONTH, MONTH.end, {}, True, TagFilter(without=()), ROW_LIMIT))
    t = everything.total
    # the random month holds every case the comparison is about (demo leads are always left out)
    assert t.dialogs > len(starts) // 2 and t.taken and t.answered and t.unanswered and t.unknown and all(t.late)
    assert {p.name for p in everything.people} >= {"Олег", None} and compared > 2_000


async def test_replies_read_from_documents_count_the_same(tmp_path: Path) -> None:
    """Dialogs filled from their documents keep a reply's time in the document's own text (not the store's
    fixed-width one), and dialogs not filled yet have none in their columns: both still give the rows' figures."""
    path = tmp_path / "filled.db"
    store = SQLiteStore(path)
    await store.open()
    try:
        rng = random.Random(SEED + 1)
        starts = await seed(store, rng, dialogs=80)
        ask = Ask(MONTH, starts[-1] + timedelta(minutes=30), {}, True, None, ROW_LIMIT)
        expected = await by_rows(store, ask)

        def as_documents_hold_them(db: sqlite3.Connection) -> None:
            db.execute("UPDATE dialogs SET answered_at = json_extract(data, '$.answered_at') WHERE rowid % 2 = 0")

        await store.write(as_documents_hold_them)
        with closing(sqlite3.connect(path)) as db:
            texts = [row[0] for row in db.execute("SELECT answered_at FROM dialogs WHERE answered_at IS NOT NULL")]
        assert any(text.endswith("Z") for text in texts) and any(text.endswith("+00:00") for text in texts)
        assert await summed(store, ask) == expected

        await store.write(lambda db: db.execute("UPDATE dialogs SET provider = NULL WHERE rowid % 3 = 0"))
        windows = reply_windows(await store.reply_sources())
        checked, without = tag_query(None, None)
        query = report_query(MONTH, checked, without, True)
        assert await store.response_sums(query, windows, [ask.now], ROW_LIMIT) is None  # read from the rows
        assert await summed(store, ask) == expected
    finally:
        await store.close()


async def test_the_sums_read_a_month_from_one_index_alone(tmp_path: Path) -> None:
    """No table row read, no sort: the cost of the report is the index entries of its period."""
    store = SQLiteStore(tmp_path / "plan.db")
    await store.open()
    try:
        windows = {("twilio", NUMBERS[0]): MONTH.start}
        for probable in (True, False):
            query = report_query(MONTH, {"taken_by": "501", "customer": "new"}, ["spam", "demo"], probable)
            sql, args = response_sums_sql(query, windows, [MONTH.end])

            def plan(db: sqlite3.Connection, sql: str = sql, args: list[object] = args) -> list[str]:
                return [row[3] for row in db.execute(f"EXPLAIN QUERY PLAN {sql}", args)]

            steps = await store.read(plan)
            assert any(
                step.startswith("SEARCH d USING COVERING INDEX dialogs_team (started_at>? AND") for step in steps
            )
            assert not any("TEMP B-TREE" in step for step in steps), steps
    finally:
        await store.close()
