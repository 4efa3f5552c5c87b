"""Periods as owners type them, Russian and English, against the days each one counts, seen from a fixed now.

`now` is Friday 27 November 2026, 12:00 in Moscow (ISO week 48: Mon 23 – Sun 29 November). The days are
first..last_covered: a running period ("ноябрь" in November) counts up to today.

Run as a script (`.venv/bin/python -m tests.test_periods_phrasings`, with dateparser installed) to measure
dateparser on the same list; reports/periods.py's docstring quotes the figures.
"""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reports.periods import MAX_DAYS, PeriodError, parse_comparison, parse_period
from tests.seed import MOSCOW, utc

NOW = utc("2026-11-27 09:00")  # Friday 12:00 in Moscow

# (what the owner types, first day, last day counted)
PHRASINGS: list[tuple[str, str, str]] = [
    # Russian: days and named periods
    ("сегодня", "2026-11-27", "2026-11-27"),
    ("вчера", "2026-11-26", "2026-11-26"),
    ("позавчера", "2026-11-25", "2026-11-25"),
    ("неделя", "2026-11-23", "2026-11-27"),
    ("эта неделя", "2026-11-23", "2026-11-27"),
    ("на этой неделе", "2026-11-23", "2026-11-27"),
    ("прошлая неделя", "2026-11-16", "2026-11-22"),
    ("за прошлую неделю", "2026-11-16", "2026-11-22"),
    ("на прошлой неделе", "2026-11-16", "2026-11-22"),
    ("позапрошлая неделя", "2026-11-09", "2026-11-15"),
    ("месяц", "2026-11-01", "2026-11-27"),
    ("в этом месяце", "2026-11-01", "2026-11-27"),
    ("с начала месяца", "2026-11-01", "2026-11-27"),
    ("прошлый месяц", "2026-10-01", "2026-10-31"),
    ("в прошлом месяце", "2026-10-01", "2026-10-31"),
    ("позапрошлый месяц", "2026-09-01", "2026-09-30"),
    ("год", "2026-01-01", "2026-11-27"),
    ("с начала года", "2026-01-01", "2026-11-27"),
    ("прошлый год", "2025-01-01", "2025-12-31"),
    ("в прошлом году", "2025-01-01", "2025-12-31"),
    # Russian: months
    ("ноябрь", "2026-11-01", "2026-11-27"),
    ("в ноябре", "2026-11-01", "2026-11-27"),
    ("за ноябрь", "2026-11-01", "2026-11-27"),
    ("Ноябрь 2025", "2025-11-01", "2025-11-30"),
    ("в ноябре 2025 года", "2025-11-01", "2025-11-30"),
    ("ноябрь 2026", "2026-11-01", "2026-11-30"),
    ("октябрь", "2026-10-01", "2026-10-31"),
    ("за октябрь", "2026-10-01", "2026-10-31"),
    ("декабрь", "2025-12-01", "2025-12-31"),
    ("в декабре", "2025-12-01", "2025-12-31"),
    ("январь", "2026-01-01", "2026-01-31"),
    ("в мае", "2026-05-01", "2026-05-31"),
    ("в феврале 2024", "2024-02-01", "2024-02-29"),
    ("прошлый ноябрь", "2025-11-01", "2025-11-30"),
    ("в прошлом ноябре", "2025-11-01", "2025-11-30"),
    ("сентябрь 2026 г.", "2026-09-01", "2026-09-30"),
    ("11.2026", "2026-11-01", "2026-11-30"),
    # Russian: ranges of days
    ("с 1 по 15 ноября", "2026-11-01", "2026-11-15"),
    ("с 1 ноября по 15 ноября", "2026-11-01", "2026-11-15"),
    ("1-15 ноября", "2026-11-01", "2026-11-15"),
    ("1–15 ноября", "2026-11-01", "2026-11-15"),
    ("1 - 15 ноября", "2026-11-01", "2026-11-15"),
    ("с 1-го по 15-е ноября", "2026-11-01", "2026-11-15"),
    ("с 1 до 15 ноября", "2026-11-01", "2026-11-15"),
    ("c 1 по 15 ноября", "2026-11-01", "2026-11-15"),  # a Latin "c"
    ("с 28 октября по 5 ноября", "2026-10-28", "2026-11-05"),
    ("с 1 по 15 ноября 2025", "2025-11-01", "2025-11-15"),
    ("с 1 по 15 декабря", "2025-12-01", "2025-12-15"),
    ("с 25 по 27 ноября", "2026-11-25", "2026-11-27"),
    ("01.11–15.11", "2026-11-01", "2026-11-15"),
    ("01.11-15.11", "2026-11-01", "2026-11-15"),
    ("01.11 - 15.11", "2026-11-01", "2026-11-15"),
    ("с 01.11 по 15.11", "2026-11-01", "2026-11-15"),
    ("с 1 по 15.11", "2026-11-01", "2026-11-15"),
    ("01.11.2026-15.11.2026", "2026-11-01", "2026-11-15"),
    ("01.11.2026 – 15.11.2026", "2026-11-01", "2026-11-15"),
    ("1.11-15.11.26", "2026-11-01", "2026-11-15"),
    ("1.11.25-15.11.25", "2025-11-01", "2025-11-15"),
    ("с 20.12 по 10.01", "2025-12-20", "2026-01-10"),
    ("2026-11-01..2026-11-15", "2026-11-01", "2026-11-15"),
    # Russian: single days
    ("15 ноября", "2026-11-15", "2026-11-15"),
    ("15 ноя", "2026-11-15", "2026-11-15"),
    ("15.11", "2026-11-15", "2026-11-15"),
    ("15.11.2026", "2026-11-15", "2026-11-15"),
    ("15.11.25", "2025-11-15", "2025-11-15"),
    ("1 декабря", "2025-12-01", "2025-12-01"),
    ("3 ноября 2025 года", "2025-11-03", "2025-11-03"),
    ("в пятницу", "2026-11-27", "2026-11-27"),
    ("в понедельник", "2026-11-23", "2026-11-23"),
    ("в воскресенье", "2026-11-22", "2026-11-22"),
    ("в прошлую пятницу", "2026-11-20", "2026-11-20"),
    ("в прошлый понедельник", "2026-11-16", "2026-11-16"),
    # Russian: quarters, weeks, years
    ("Q3", "2026-07-01", "2026-09-30"),
    ("q4", "2026-10-01", "2026-11-27"),
    ("3 квартал", "2026-07-01", "2026-09-30"),
    ("3-й квартал", "2026-07-01", "2026-09-30"),
    ("третий квартал", "2026-07-01", "2026-09-30"),
    ("в третьем квартале", "2026-07-01", "2026-09-30"),
    ("за 3 квартал", "2026-07-01", "2026-09-30"),
    ("3 кв", "2026-07-01", "2026-09-30"),
    ("III квартал", "2026-07-01", "2026-09-30"),
    ("3 квартал 2025", "2025-07-01", "2025-09-30"),
    ("3 квартал 2025 года", "2025-07-01", "2025-09-30"),
    ("Q3 2025", "2025-07-01", "2025-09-30"),
    ("первый квартал", "2026-01-01", "2026-03-31"),
    ("прошлый квартал", "2026-07-01", "2026-09-30"),
    ("квартал", "2026-10-01", "2026-11-27"),
    ("48 неделя", "2026-11-23", "2026-11-27"),
    ("47-я неделя", "2026-11-16", "2026-11-22"),
    ("2025 год", "2025-01-01", "2025-12-31"),
    ("в 2025 году", "2025-01-01", "2025-12-31"),
    ("за 2025 год", "2025-01-01", "2025-12-31"),
    ("выходные", "2026-11-21", "2026-11-22"),
    ("на выходных", "2026-11-21", "2026-11-22"),
    ("прошлые выходные", "2026-11-21", "2026-11-22"),
    # Russian: counts back and "since"
    ("за последние 7 дней", "2026-11-21", "2026-11-27"),
    ("последние 7 дней", "2026-11-21", "2026-11-27"),
    ("7 дней", "2026-11-21", "2026-11-27"),
    ("за 7 дней", "2026-11-21", "2026-11-27"),
    ("последние 30 дней", "2026-10-29", "2026-11-27"),
    ("за 14 дней", "2026-11-14", "2026-11-27"),
    ("за 2 недели", "2026-11-14", "2026-11-27"),
    ("последние 2 недели", "2026-11-14", "2026-11-27"),
    ("за две недели", "2026-11-14", "2026-11-27"),
    ("последняя неделя", "2026-11-21", "2026-11-27"),
    ("за последний месяц", "2026-10-28", "2026-11-27"),
    ("за последние 3 месяца", "2026-08-28", "2026-11-27"),
    ("за 3 месяца", "2026-08-28", "2026-11-27"),
    ("за полгода", "2026-05-28", "2026-11-27"),
    ("с понедельника", "2026-11-23", "2026-11-27"),
    ("со среды", "2026-11-25", "2026-11-27"),
    ("с 1 ноября", "2026-11-01", "2026-11-27"),
    ("с 15.11", "2026-11-15", "2026-11-27"),
    ("с 1 октября", "2026-10-01", "2026-11-27"),
    # English
    ("today", "2026-11-27", "2026-11-27"),
    ("yesterday", "2026-11-26", "2026-11-26"),
    ("day before yesterday", "2026-11-25", "2026-11-25"),
    ("this week", "2026-11-23", "2026-11-27"),
    ("last week", "2026-11-16", "2026-11-22"),
    ("week before last", "2026-11-09", "2026-11-15"),
    ("this month", "2026-11-01", "2026-11-27"),
    ("last month", "2026-10-01", "2026-10-31"),
    ("November", "2026-11-01", "2026-11-27"),
    ("in november", "2026-11-01", "2026-11-27"),
    ("November 2025", "2025-11-01", "2025-11-30"),
    ("Nov 2025", "2025-11-01", "2025-11-30"),
    ("last november", "2025-11-01", "2025-11-30"),
    ("december", "2025-12-01", "2025-12-31"),
    ("October 2026", "2026-10-01", "2026-10-31"),
    ("Nov 1-15", "2026-11-01", "2026-11-15"),
    ("November 1–15", "2026-11-01", "2026-11-15"),
    ("Nov 1 - Nov 15", "2026-11-01", "2026-11-15"),
    ("Nov 1 to Nov 15", "2026-11-01", "2026-11-15"),
    ("from Nov 1 to Nov 15", "2026-11-01", "2026-11-15"),
    ("1-15 Nov", "2026-11-01", "2026-11-15"),
    ("Oct 28 - Nov 5", "2026-10-28", "2026-11-05"),
    ("November 1-15, 2025", "2025-11-01", "2025-11-15"),
    ("Nov 15", "2026-11-15", "2026-11-15"),
    ("November 15th", "2026-11-15", "2026-11-15"),
    ("15 November 2025", "2025-11-15", "2025-11-15"),
    ("q3", "2026-07-01", "2026-09-30"),
    ("2025 q3", "2025-07-01", "2025-09-30"),
    ("third quarter", "2026-07-01", "2026-09-30"),
    ("3rd quarter", "2026-07-01", "2026-09-30"),
    ("last quarter", "2026-07-01", "2026-09-30"),
    ("this quarter", "2026-10-01", "2026-11-27"),
    ("past 14 days", "2026-11-14", "2026-11-27"),
    ("last 7 days", "2026-11-21", "2026-11-27"),
    ("the last 30 days", "2026-10-29", "2026-11-27"),
    ("past week", "2026-11-21", "2026-11-27"),
    ("last 2 weeks", "2026-11-14", "2026-11-27"),
    ("past 3 months", "2026-08-28", "2026-11-27"),
    ("past year", "2025-11-28", "2026-11-27"),
    ("since monday", "2026-11-23", "2026-11-27"),
    ("since Nov 1", "2026-11-01", "2026-11-27"),
    ("monday", "2026-11-23", "2026-11-23"),
    ("on friday", "2026-11-27", "2026-11-27"),
    ("last friday", "2026-11-20", "2026-11-20"),
    ("weekend", "2026-11-21", "2026-11-22"),
    ("week 48", "2026-11-23", "2026-11-27"),
    ("in 2025", "2025-01-01", "2025-12-31"),
    ("this year", "2026-01-01", "2026-11-27"),
    ("ytd", "2026-01-01", "2026-11-27"),
]


def test_the_list_is_long_and_has_no_twins() -> None:
    texts = [text for text, _, _ in PHRASINGS]
    assert len(texts) >= 100 and len(set(texts)) == len(texts)


@pytest.mark.parametrize(("text", "first", "last"), PHRASINGS)
def test_phrasing_counts_the_days_an_owner_means(text: str, first: str, last: str) -> None:
    period = parse_period(text, MOSCOW, NOW)
    assert (period.first.isoformat(), period.last_covered.isoformat()) == (first, last)


@pytest.mark.parametrize(
    ("text", "running"),
    [("ноябрь", True), ("ноябрь 2026", False), ("с 1 ноября", True), ("с 1 по 15 ноября", False), ("q4", True)],
)
def test_a_period_named_from_today_runs_to_now_one_with_its_year_is_whole(text: str, running: bool) -> None:
    period = parse_period(text, MOSCOW, NOW)
    assert period.running is running
    assert (period.end == NOW) is running


def test_steps_back_by_its_kind() -> None:
    """«ноябрь» steps back to October (a month), «Q3» to Q2, «с 1 по 15 ноября» by its 15 days."""
    assert parse_period("ноябрь 2025", MOSCOW, NOW).previous().first == date(2025, 10, 1)
    assert parse_period("3 квартал", MOSCOW, NOW).previous().first == date(2026, 4, 1)
    before = parse_period("с 1 по 15 ноября", MOSCOW, NOW).previous()
    assert (before.first, before.last) == (date(2026, 10, 17), date(2026, 10, 31))


@pytest.mark.parametrize(
    "text",
    [
        "на днях",
        "fortnight",
        "15",
        "31 ноября",
        "30.02",
        "с 15 по 1 ноября",
        "28-5 ноября",
        "5 квартал",
        "q5",
        "60 неделя",
        "13.2026",
        "с 1 декабря 2026",  # starts in the future
        "9999 дней",
        "ноябрь 1850",
        "0 дней",
        "1-0.0",  # month 0
        "0.0-1",
    ],
)
def test_what_is_no_period_is_refused(text: str) -> None:
    with pytest.raises(PeriodError) as caught:
        parse_period(text, MOSCOW, NOW)
    assert caught.value.text == text


def test_parse_period_is_pure_and_the_default_is_used_for_nothing() -> None:
    assert parse_period("", MOSCOW, NOW, default="30d").first == date(2026, 10, 29)
    assert parse_period(None, MOSCOW, NOW, default="прошлый месяц").first == date(2026, 10, 1)
    first = parse_period("в ноябре", MOSCOW, NOW)
    assert parse_period("в ноябре", MOSCOW, NOW) == first


def test_the_earlier_period_is_cut_at_the_same_moment_or_taken_whole() -> None:
    a, b = parse_comparison("неделя", MOSCOW, NOW)
    assert a.running and not a.cut and b.cut and not b.running
    assert b.end == utc("2026-11-20 09:00") and b.last_covered == date(2026, 11, 20)
    for words in ("неделя целиком", "неделя полностью", "week whole", "week in full"):
        a, b = parse_comparison(words, MOSCOW, NOW)
        assert (a.end, b.first, b.end) == (NOW, date(2026, 11, 16), utc("2026-11-22 21:00")), words
        assert b.matched and not b.cut
    a, b = parse_comparison("ноябрь год назад", MOSCOW, NOW, whole=True)
    assert (b.first, b.last_covered, b.end) == (date(2025, 11, 1), date(2025, 11, 30), utc("2025-11-30 21:00"))
    a, b = parse_comparison("прошлый месяц", MOSCOW, NOW)  # nothing runs: nothing is cut
    assert not b.matched and b.last == date(2026, 9, 30)


# dateparser, measured on the same list -------------------------------------------------------------


def _dateparser_score() -> tuple[int, int, list[str]]:  # pragma: no cover - a measurement, run by hand
    """How many phrasings dateparser gets right: a single day as that day; a span as its first and last
    day found by search_dates (dateparser has no notion of a span, so a month or "last 7 days" it names
    by one day can only be right when the span is one day)."""
    from datetime import datetime
    from importlib import import_module

    dateparser = import_module("dateparser")  # not a dependency: installed by hand for the measurement
    search_dates = import_module("dateparser.search").search_dates

    base = NOW.astimezone(MOSCOW).replace(tzinfo=None)
    settings = {"RELATIVE_BASE": base, "PREFER_DATES_FROM": "past", "PREFER_DAY_OF_MONTH": "first"}
    right, starts, wrong = 0, 0, []
    for text, first, last in PHRASINGS:
        if first == last:
            found: datetime | None = dateparser.parse(text, languages=["ru", "en"], settings=settings)
            ok = found is not None and found.date().isoformat() == first
        else:
            hits = search_dates(text, languages=["ru", "en"], settings=settings) or []
            days = [moment.date().isoformat() for _, moment in hits]
            ok = len(days) >= 2 and days[0] == first and days[-1] == last
            alone = dateparser.parse(text, languages=["ru", "en"], settings=settings)
            starts += alone is not None and alone.date().isoformat() == first
        right += ok
        if not ok:
            wrong.append(text)
    return right, starts, wrong


if __name__ == "__main__":  # pragma: no cover
    singles = sum(first == last for _, first, last in PHRASINGS)
    score, starts, missed = _dateparser_score()
    print(f"phrasings: {len(PHRASINGS)} ({singles} single days, {len(PHRASINGS) - singles} spans)")
    print(f"dateparser right: {score}; spans whose first day alone it named: {starts}")
    grammar = sum(
        (lambda p: (p.first.isoformat(), p.last_covered.isoformat()) == (f, la))(parse_period(t, MOSCOW, NOW))
        for t, f, la in PHRASINGS
    )
    print(f"grammar right: {grammar}")
    print("dateparser missed:", "; ".join(missed))


_TOKENS = [
    "с",
    "по",
    "до",
    "за",
    "в",
    "-",
    "..",
    "–",
    "1",
    "15",
    "31",
    "01.11",
    "15.11.26",
    "2026",
    "2025",
    "ноября",
    "nov",
    "q3",
    "квартал",
    "третий",
    "неделя",
    "недели",
    "последние",
    "past",
    "7",
    "дней",
    "weeks",
    "месяца",
    "прошлый",
    "last",
    "понедельника",
    "friday",
    "год",
    "г.",
    "0",
    "99",
    "29.02",
    "13",
    "iv",
    "-й",
    "since",
]


@settings(max_examples=400, deadline=None)
@given(st.one_of(st.text(max_size=40), st.lists(st.sampled_from(_TOKENS), max_size=6).map(" ".join)))
def test_any_text_is_a_period_or_a_period_error(text: str) -> None:
    try:
        period = parse_period(text, MOSCOW, NOW)
    except PeriodError as error:
        assert error.text == text.strip()
        return
    assert period.first <= period.last and period.days <= MAX_DAYS
    assert period.start < period.end or period.first > NOW.astimezone(MOSCOW).date()
