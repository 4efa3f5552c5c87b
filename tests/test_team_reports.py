"""The team report (reports/team.py): leads taken, answered, first response times, late answers.

The figures are computed by hand from each seed (the comments show how); the pure computation is tested on
ResponseRow lists, then the report, /team, /stats, the daily summary, the API and the exports on dialogs
stored through the real SQLite store.
"""

from __future__ import annotations

import itertools
from datetime import date, datetime, timedelta
from typing import Any

import pytest

import bot.commands
from reports.card import dialog_card
from reports.counts import TagFilter
from reports.export import team_record
from reports.i18n import response_time
from reports.periods import Period, Unit
from reports.render import render_card, render_team, team_line
from reports.team import ResponseFigures, figures, team_figures, team_report, unanswered_dialogs
from tests import test_bot_commands as bot_tests
from tests.fakes.telegram_api import html_to_text
from tests.seed import BUSINESS, MOSCOW, seed_dialog, utc
from tests.test_bot_commands import OWNER, STAFF, BotAPI, Person, RunBot, add_staff
from tracking.models import Channel
from tracking.store.base import ResponseRow, Store
from tracking.store.sqlite import SQLiteStore

NOW = utc("2026-11-26 09:00")  # Thursday 12:00 in Moscow
REPORTING = ("greenapi", "+79990000001")  # reports the business's replies since SINCE
SILENT = ("twilio", "+79990000002")  # never reported a reply: its dialogs are "unknown"
SINCE = utc("2026-11-01 00:00")
WINDOWS = {REPORTING: SINCE}
ANNA, BORIS = 501, 502
_serial = itertools.count(1)


def row(
    started: datetime,
    answered_after: float | None = None,
    *,
    taker: int | None = None,
    name: str | None = None,
    source: tuple[str, str] = REPORTING,
    channel: str = "paid_search",
) -> ResponseRow:
    serial = next(_serial)
    return ResponseRow(
        dialog_id=f"{serial:032x}",
        provider=source[0],
        business_number=source[1],
        channel=channel,
        contact_id=f"+7926{serial:07d}",
        started_at=started,
        taken_by=taker,
        taken_by_name=name,
        taken_at=started + timedelta(minutes=1) if taker is not None else None,
        answered_at=started + timedelta(seconds=answered_after) if answered_after is not None else None,
    )


def ago(minutes: float) -> datetime:
    return NOW - timedelta(minutes=minutes)


def seed_rows() -> list[ResponseRow]:
    """Ten dialogs: Anna took four, Boris two, nobody four."""
    return [
        row(ago(300), 60, taker=ANNA, name="Анна"),  # answered in 1 min
        row(ago(290), 300, taker=ANNA, name="Анна"),  # 5 min
        row(ago(280), 1200, taker=ANNA, name="Анна", channel="direct"),  # 20 min: late after 15 min
        row(ago(120), None, taker=ANNA, name="Анна"),  # unanswered for 2 h: late after 15 min and 1 h
        row(ago(270), 4000, taker=BORIS, name="Борис", channel="direct"),  # 1 h 6 min 40 s: late after both
        row(ago(260), None, taker=BORIS, name="Борис", source=SILENT),  # unknown: never late
        row(ago(10), None),  # unanswered, but only 10 min so far: not late yet
        row(ago(30), None),  # unanswered 30 min: late after 15 min only
        row(ago(250), 30, source=SILENT),  # answered in 30 s: a known reply counts whatever the source
        row(SINCE - timedelta(days=1), None),  # opened before its source reported replies: unknown
    ]


def test_figures_by_hand() -> None:
    total = figures(seed_rows(), WINDOWS, NOW)
    assert (total.dialogs, total.taken, total.answered, total.unanswered, total.unknown) == (10, 6, 5, 3, 2)
    # answered in 30, 60, 300, 1200, 4000 s: the median is the third; the 90th percentile lies 0.6 of the
    # way from the fourth to the fifth (position 0.9 × 4 = 3.6): 1200 + 0.6 × 2800 = 2880
    assert total.median_seconds == 300
    assert total.p90_seconds == 2880
    # late after 15 min: 1200 s, 4000 s, unanswered 2 h and 30 min; after 1 h: 4000 s and unanswered 2 h
    assert total.late == (4, 2)
    assert total.known == 8 and total.answered_share == 5 / 8


def test_per_person_and_per_channel() -> None:
    period = Period(date(2026, 11, 26), date(2026, 11, 26), MOSCOW, Unit.DAY, until=NOW)
    report = team_figures(period, seed_rows(), WINDOWS, NOW)
    anna, boris, nobody = report.people
    assert (anna.user_id, anna.name, boris.user_id, nobody.user_id) == (ANNA, "Анна", BORIS, None)
    # Anna: 60, 300, 1200 s; the 90th percentile at position 0.9 × 2 = 1.8: 300 + 0.8 × 900 = 1020
    assert (anna.figures.dialogs, anna.figures.answered, anna.figures.unanswered) == (4, 3, 1)
    assert (anna.figures.median_seconds, anna.figures.p90_seconds, anna.figures.late) == (300, 1020, (2, 1))
    # Boris: one answer, which is its own median and 90th percentile; one dialog unknown
    assert (boris.figures.median_seconds, boris.figures.p90_seconds) == (4000, 4000)
    assert (boris.figures.unknown, boris.figures.late) == (1, (1, 1))
    assert (nobody.figures.dialogs, nobody.figures.taken, nobody.figures.late) == (4, 0, (1, 0))
    paid, direct = report.channels
    assert (paid.channel, paid.figures.dialogs) == ("paid_search", 8)
    assert (direct.channel, direct.figures.dialogs) == ("direct", 2)
    assert (direct.figures.median_seconds, direct.figures.p90_seconds) == (2600, 3720)  # 1200, 4000: 1200 + 0.9 × 2800


def test_the_edges_of_late() -> None:
    exactly = [row(ago(15), None), row(ago(100), 900), row(ago(100), 901)]
    # unanswered exactly 15 min: late after 15 min; answered at 900 s is not later than 15 min, 901 s is
    assert figures(exactly, WINDOWS, NOW).late == (2, 0)
    assert figures([row(ago(59.99), None)], WINDOWS, NOW).late == (1, 0)
    assert figures([row(ago(60), None)], WINDOWS, NOW).late == (1, 1)


def test_nothing_known_shows_no_numbers_it_does_not_have() -> None:
    empty = figures([], WINDOWS, NOW)
    assert empty == ResponseFigures() and empty.answered_share is None
    assert (empty.median_seconds, empty.p90_seconds) == (None, None)
    assert response_time("ru", None) == "—"
    silent = figures([row(ago(100), None, source=SILENT)], WINDOWS, NOW)
    assert (silent.unknown, silent.unanswered, silent.late) == (1, 0, (0, 0))
    assert team_line("ru", silent) is None  # /stats says nothing of the team when nothing is known


def test_durations_in_the_owners_words() -> None:
    assert [response_time("ru", s) for s in (0, 45, 59.4, 59.6, 240, 270, 4800, 90_000)] == [
        "0\u00a0с", "45\u00a0с", "59\u00a0с", "1\u00a0мин", "4\u00a0мин", "4\u00a0мин", "1\u00a0ч 20\u00a0мин",
        "1\u00a0д 1\u00a0ч",
    ]  # fmt: skip
    assert response_time("en", 4800) == "1\u00a0h 20\u00a0min"


def test_unanswered_dialogs_leave_unknown_and_answered_out() -> None:
    rows = seed_rows()
    assert unanswered_dialogs(rows, WINDOWS) == [rows[3], rows[6], rows[7]]


def test_the_report_reads_in_the_owners_words() -> None:
    period = Period(date(2026, 11, 26), date(2026, 11, 26), MOSCOW, Unit.DAY, until=NOW)
    text = html_to_text(render_team(team_figures(period, seed_rows(), WINDOWS, NOW), "ru")).replace("\u00a0", " ")
    lines = text.split("\n")
    assert lines[0] == "Команда · 26 ноя 2026 (пока)" and lines[1].startswith("Диалоги")  # no spam: nothing said
    assert "Диалоги: 10 · взяты в работу: 6" in lines
    assert "Ответили: 5 из 8 (62 %)" in lines
    assert "Первый ответ: медиана 5 мин, 90 % — за 48 мин" in lines
    assert "Ждали ответа дольше 15 мин — 4, дольше 1 ч — 2" in lines
    assert any(line.startswith("Об ответах неизвестно: 2 — ") for line in lines)
    assert (
        "1. Анна — 4 · ответили 3 из 4 (75 %) · медиана 5 мин, 90 % — за 17 мин · "
        "ждали ответа дольше 15 мин — 2, дольше 1 ч — 1"
    ) in lines
    assert "2. Борис — 2 · ответили 1 из 1 (100 %) · медиана 1 ч 7 мин · ждали ответа" in text
    assert "Никто не взял — 4 · ответили 1 из 3 (33 %)" in text
    assert "1. Платный поиск — 8 · " in text and "2. Прямые заходы — 2 · " in text
    english = html_to_text(render_team(team_figures(period, seed_rows(), WINDOWS, NOW), "en")).replace("\u00a0", " ")
    assert "Answered: 5 of 8 (62%)" in english and "First response: median 5 min, 90% within 48 min" in english
    assert "Waited over 15 min — 4, over 1 h — 2" in english


# on dialogs stored through the real SQLite store -----------------------------------------------------

SILENT_NUMBER = "+79990000002"  # a business number whose provider never reported a reply


async def seed_team_day(store: Store) -> dict[str, str]:
    """Thursday 26 November (Moscow), as of 12:00 (NOW): Maria took three leads, Irina two, nobody one; a
    spam dialog is left out. The comments give each dialog's first response (UTC times)."""
    await store.reply_seen("test", BUSINESS, utc("2026-11-01 00:00"))  # seed_dialog's provider and number
    plan: list[tuple[str, str, dict[str, Any], tuple[int, str] | None, str | None]] = [
        ("d1", "07:00", {"name": "Анна", "channel": Channel.PAID_SEARCH}, (STAFF, "Мария"), "07:02"),  # 120 s
        ("d2", "07:30", {"contact": "+79161112233", "channel": Channel.PAID_SEARCH}, (STAFF, "Мария"), "07:40"),  # 600
        ("d3", "08:00", {"name": "Ольга", "channel": Channel.ORGANIC_SEARCH}, (OWNER, "Ирина"), "08:30"),  # 1800 s
        ("d4", "08:10", {"name": "Павел", "channel": Channel.ORGANIC_SEARCH}, (OWNER, "Ирина"), None),  # 50 min on
        ("d5", "08:50", {"contact": "+79162223344"}, None, None),  # nobody took it; 10 min on
        ("d6", "07:10", {"name": "Вера", "business_number": SILENT_NUMBER}, (STAFF, "Мария"), None),  # unknown
        ("spam", "06:00", {"name": "Спамер", "tags": ["spam"]}, (STAFF, "Мария"), "06:01"),  # left out
    ]
    ids = {}
    for key, at, fields, taker, reply in plan:
        dialog = await seed_dialog(store, utc(f"2026-11-26 {at}"), **fields)
        ids[key] = dialog.id
        if taker is not None:
            assert await store.take_dialog(dialog.id, taker[0], taker[1], dialog.started_at + timedelta(minutes=1))
        if reply is not None:
            assert await store.record_reply(dialog.id, utc(f"2026-11-26 {reply}"))
    return ids


THURSDAY = Period(date(2026, 11, 26), date(2026, 11, 26), MOSCOW, Unit.DAY, until=NOW)


async def test_the_report_of_stored_dialogs(store: SQLiteStore) -> None:
    await seed_team_day(store)

    report = await team_report(store, THURSDAY, now=NOW)

    t = report.total
    assert (t.dialogs, t.taken, t.answered, t.unanswered, t.unknown) == (6, 5, 3, 2, 1)
    # 120, 600, 1800 s: the median 600; the 90th percentile at 0.9 × 2 = 1.8: 600 + 0.8 × 1200 = 1560
    assert (t.median_seconds, t.p90_seconds) == (600, 1560)
    assert t.late == (2, 0)  # 1800 s, and Pavel's 50 min so far; nothing an hour late yet
    assert (report.tags.without, report.tags.left_out) == (("spam",), 1)
    maria, irina, nobody = report.people
    assert (maria.user_id, maria.name, irina.user_id, irina.name, nobody.user_id) == (
        STAFF,
        "Мария",
        OWNER,
        "Ирина",
        None,
    )
    # Maria: 120 and 600 s, median 360, 90th percentile 120 + 0.9 × 480 = 552; Vera's dialog unknown
    assert (maria.figures.dialogs, maria.figures.answered, maria.figures.unknown) == (3, 2, 1)
    assert (maria.figures.median_seconds, maria.figures.p90_seconds) == (360, 552)
    assert (irina.figures.answered, irina.figures.unanswered, irina.figures.late) == (1, 1, (2, 0))
    assert (nobody.figures.dialogs, nobody.figures.unanswered, nobody.figures.late) == (1, 1, (0, 0))
    assert [(c.channel, c.figures.answered, c.figures.known) for c in report.channels] == [
        ("direct", 0, 1),
        ("organic_search", 1, 2),
        ("paid_search", 2, 2),
    ]
    spam_only = await team_report(store, THURSDAY, now=NOW, tags=TagFilter(only="spam"))
    assert (spam_only.total.dialogs, spam_only.total.answered, spam_only.total.median_seconds) == (1, 1, 60)
    whole = await team_report(store, THURSDAY, now=NOW, limit=6)  # exactly the limit: whole
    cut = await team_report(store, THURSDAY, now=NOW, limit=5)
    assert (whole.cut, whole.total.dialogs, cut.cut, cut.total.dialogs, cut.tags.left_out) == (False, 6, True, 5, 1)
    later = await team_report(store, THURSDAY, now=NOW + timedelta(hours=1))
    assert later.total.late == (3, 2)  # an hour on, Pavel's and the 08:50 dialog are both an hour late


# the bot -----------------------------------------------------------------------------------------------

api, run_bot = bot_tests.api, bot_tests.run_bot  # the shared fixtures (the store is conftest's)


async def test_team_in_a_private_chat_and_the_line_in_stats(run_bot: RunBot, api: BotAPI, store: SQLiteStore) -> None:
    await seed_team_day(store)
    await add_staff(store, STAFF, "Мария")
    await run_bot(clock=lambda: NOW)
    owner, maria = Person(api, OWNER, "ru", "Ирина"), Person(api, STAFF, "en", "Maria")

    owner.says("/team")  # today, as /stats
    team = (await owner.reads()).replace("\u00a0", " ")
    maria.says("/team 26.11")
    english = (await maria.reads()).replace("\u00a0", " ")
    owner.says("/stats")
    stats = (await owner.reads()).replace("\u00a0", " ")
    owner.says("/team неделя со спамом")
    with_spam = (await owner.reads()).replace("\u00a0", " ")

    lines = team.splitlines()
    assert lines[:2] == ["Команда · 26 ноя 2026 (пока)", "Без спама: 1 диалог не учтён"]
    assert "Диалоги: 6 · взяты в работу: 5" in lines and "Ответили: 3 из 5 (60 %)" in lines
    assert "Первый ответ: медиана 10 мин, 90 % — за 26 мин" in lines
    assert "Ждали ответа дольше 15 мин — 2, дольше 1 ч — 0" in lines
    assert "Об ответах неизвестно: 1 — сервис, через который подключён их номер, не сообщает об ответах компании" in (
        lines
    )
    people = lines[lines.index("Кто взял заявки") + 1 : lines.index("Каналы") - 1]
    assert people == [
        "1. Мария — 3 · ответили 2 из 2 (100 %) · медиана 6 мин, 90 % — за 9 мин · ждали ответа дольше 15 мин — 0, "
        "дольше 1 ч — 0 · неизвестно — 1",
        "2. Ирина — 2 · ответили 1 из 2 (50 %) · медиана 30 мин · ждали ответа дольше 15 мин — 2, дольше 1 ч — 0",
        "Никто не взял — 1 · ответили 0 из 1 (0 %) · ждали ответа дольше 15 мин — 0, дольше 1 ч — 0",
    ]
    assert lines[-3].startswith("1. Прямые заходы — 2 · ответили 0 из 1 (0 %)")
    assert lines[-1].startswith("3. Платный поиск — 2 · ответили 2 из 2 (100 %) · медиана 6 мин")
    assert "Team · Nov 26, 2026" in english and "First response: median 10 min, 90% within 26 min" in english
    assert "Ответили: 3 из 5 (60 %) · первый ответ: медиана 10 мин" in stats.splitlines()
    assert "Спам учтён" in with_spam and "Диалоги: 7 · взяты в работу: 6" in with_spam
    assert "Ответили: 4 из 6 (67 %)" in with_spam  # the spam dialog was answered in a minute


async def test_team_before_anything_is_known(run_bot: RunBot, api: BotAPI, store: SQLiteStore) -> None:
    """No reply source yet and nobody took a lead: the counts, and no «Ответили» that would read as 0 %."""
    await seed_dialog(store, utc("2026-11-26 07:00"), name="Анна")
    await run_bot(clock=lambda: NOW)
    owner = Person(api, OWNER, "ru")

    owner.says("/team")
    team = (await owner.reads()).replace("\u00a0", " ")
    owner.says("/stats")
    stats = await owner.reads()
    owner.says("/team прошлый год")
    empty = await owner.reads()

    assert "Диалоги: 1 · взяты в работу: 0" in team and "Заявки в работу пока никто не брал." in team
    assert "Ответили" not in team and "Об ответах неизвестно: 1" in team
    assert "Ответили" not in stats
    assert empty.endswith("Диалогов нет.")


async def test_stats_leaves_the_line_to_team_past_its_bound(
    run_bot: RunBot, api: BotAPI, store: SQLiteStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """/stats reads a bounded number of dialogs for its line: a partial count would mislead, so it says none."""
    await seed_team_day(store)
    monkeypatch.setattr(bot.commands, "STATS_TEAM_ROWS", 5)  # Thursday has 6 dialogs without spam
    await run_bot(clock=lambda: NOW)
    owner = Person(api, OWNER, "ru")

    owner.says("/stats")
    stats = await owner.reads()
    owner.says("/team")
    team = (await owner.reads()).replace("\u00a0", " ")

    assert "Диалоги: 6" in stats and "Ответили" not in stats
    assert "Ответили: 3 из 5 (60 %)" in team


# the card ----------------------------------------------------------------------------------------------


async def test_the_card_says_who_took_the_lead_and_how_it_was_answered(store: SQLiteStore) -> None:
    ids = await seed_team_day(store)

    def team_lines(card: Any) -> list[str]:
        lines = html_to_text(render_card(card, "ru")).replace("\u00a0", " ").split("\n")
        return [line for line in lines if line.startswith(("Кто взял", "Ответ"))]

    await store.record_reply(ids["d2"], utc("2026-11-26 07:35"), "Мария")  # earlier than 07:40, and by whom
    cards = {key: await dialog_card(store, ids[key], MOSCOW) for key in ("d1", "d2", "d4", "d5", "d6")}

    assert team_lines(cards["d1"]) == ["Кто взял: Мария, 26 ноя 2026, 10:01", "Ответ: через 2 мин"]
    assert team_lines(cards["d2"])[1] == "Ответ: через 5 мин (Мария)"
    assert team_lines(cards["d4"]) == ["Кто взял: Ирина, 26 ноя 2026, 11:11", "Ответ: без ответа"]
    assert team_lines(cards["d5"]) == ["Ответ: без ответа"]  # nobody took it
    assert team_lines(cards["d6"]) == ["Кто взял: Мария, 26 ноя 2026, 10:11", "Ответ: неизвестно"]  # silent number
    d1 = cards["d1"]
    assert d1 is not None
    assert team_record(d1.dialog, d1.windows, MOSCOW) == {
        "taken_by": "Мария",
        "taken_at": "2026-11-26 10:01",
        "answered_at": "2026-11-26 10:02",
        "first_response_minutes": 2.0,
        "answer_state": "answered",
    }
