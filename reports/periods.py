"""Report periods: natural arguments ("week", "вчера", "2026-11-01..2026-11-15") → [start, end) in UTC.

Every period is a span of local wall-clock time in the business's zone, so "yesterday" means the owner's
yesterday and its edges fall on local midnights (DST included). A period that is still running ("week",
"month", "7d") ends at `now`: comparing it with the previous one then compares like with like.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

MAX_DAYS = 3700  # ten years and a bit: longer asks are typos, and they make huge charts
MIN_YEAR, MAX_YEAR = 2000, 2100


class PeriodError(ValueError):
    """An argument that names no period; the message says what was wrong and what is accepted."""

    def __init__(self, text: str, reason: str) -> None:
        super().__init__(f"{reason}: {text!r}. {PERIOD_HELP}")
        self.text = text
        self.reason = reason


PERIOD_HELP = (
    "Use today, yesterday, week, last week, month, last month, quarter, last quarter, year, last year, "
    "7d, 30d, 2026-11-27, 2026-11-01..2026-11-15, 2026-11, 2026-W48, 2026-Q4 or 2026"
)


class Unit(StrEnum):
    """How a period steps back to the one before it (see `Period.previous`)."""

    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    QUARTER = "quarter"
    YEAR = "year"
    SPAN = "span"  # an arbitrary run of days: steps back by its own length


@dataclass(frozen=True)
class Period:
    """Local days `first`..`last` (inclusive) in `zone`; `start`/`end` are the UTC instants [start, end)."""

    first: date
    last: date
    zone: ZoneInfo
    unit: Unit
    until: datetime | None = None  # set when the period is still running: it ends at this instant

    @property
    def start(self) -> datetime:
        return local_midnight(self.first, self.zone)

    @property
    def end(self) -> datetime:
        full = local_midnight(self.last + timedelta(days=1), self.zone)
        return full if self.until is None else min(full, max(self.until, self.start))

    @property
    def running(self) -> bool:
        """Still under way: it ends at `until`, before its last day is over."""
        return self.until is not None and self.end < local_midnight(self.last + timedelta(days=1), self.zone)

    @property
    def last_covered(self) -> date:
        """The last local day the period reaches into (today, for a running one)."""
        if not self.running:
            return self.last
        return max(self.first, (self.end - timedelta(microseconds=1)).astimezone(self.zone).date())

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    @property
    def label(self) -> str:
        """Canonical text that parses back to the same days: "2026-11-27" or "2026-11-01..2026-11-30"."""
        return self.first.isoformat() if self.first == self.last else f"{self.first}..{self.last}"

    def shifted(self, *, days: int = 0, months: int = 0) -> Period:
        """The same stretch of local time moved back or forth (months clamp to the month's end)."""
        first = add_months(self.first, months) + timedelta(days=days)
        if self.unit in (Unit.MONTH, Unit.QUARTER, Unit.YEAR) and self.last == month_end(self.last):
            last = month_end(add_months(self.last, months))  # whole months stay whole (Feb 29 → Feb 28)
        else:
            last = add_months(self.last, months) + timedelta(days=days)
        until = None
        if self.until is not None:
            local = self.until.astimezone(self.zone)
            moved = datetime.combine(add_months(local.date(), months) + timedelta(days=days), local.timetz())
            until = moved.replace(tzinfo=self.zone).astimezone(UTC)
        return replace(self, first=first, last=last, until=until)

    def previous(self) -> Period:
        """The period just before, of the same kind: last week for a week, the previous 7 days for 7d."""
        match self.unit:
            case Unit.DAY:
                return self.shifted(days=-1)
            case Unit.WEEK:
                return self.shifted(days=-7)
            case Unit.MONTH:
                return self.shifted(months=-1)
            case Unit.QUARTER:
                return self.shifted(months=-3)
            case Unit.YEAR:
                return self.shifted(months=-12)
            case Unit.SPAN:
                return self.shifted(days=-self.days)

    def year_ago(self) -> Period:
        return self.shifted(months=-12)


def local_midnight(day: date, zone: ZoneInfo) -> datetime:
    """The UTC instant the local day begins (zoneinfo resolves a DST gap or fold)."""
    return datetime.combine(day, time(), tzinfo=zone).astimezone(UTC)


def add_months(day: date, months: int) -> date:
    """`day` moved by whole months, clamped to the target month's last day (Jan 31 + 1 → Feb 28)."""
    year, month = divmod(day.year * 12 + day.month - 1 + months, 12)
    first = date(year, month + 1, 1)
    return first.replace(day=min(day.day, month_end(first).day))


def month_end(day: date) -> date:
    following = date(day.year + day.month // 12, day.month % 12 + 1, 1)
    return following - timedelta(days=1)


def _quarter_start(day: date) -> date:
    return date(day.year, (day.month - 1) // 3 * 3 + 1, 1)


# Words people type, in English and Russian, mapped to one canonical name.
ALIASES: dict[str, str] = {
    "today": "today",
    "day": "today",
    "сегодня": "today",
    "день": "today",
    "yesterday": "yesterday",
    "вчера": "yesterday",
    "week": "week",
    "this week": "week",
    "неделя": "week",
    "неделю": "week",
    "эта неделя": "week",
    "за неделю": "week",
    "last week": "last week",
    "previous week": "last week",
    "прошлая неделя": "last week",
    "прошлую неделю": "last week",
    "за прошлую неделю": "last week",
    "month": "month",
    "this month": "month",
    "месяц": "month",
    "этот месяц": "month",
    "за месяц": "month",
    "last month": "last month",
    "previous month": "last month",
    "прошлый месяц": "last month",
    "за прошлый месяц": "last month",
    "quarter": "quarter",
    "this quarter": "quarter",
    "квартал": "quarter",
    "этот квартал": "quarter",
    "за квартал": "quarter",
    "last quarter": "last quarter",
    "прошлый квартал": "last quarter",
    "year": "year",
    "this year": "year",
    "год": "year",
    "этот год": "year",
    "за год": "year",
    "last year": "last year",
    "прошлый год": "last year",
}

_LAST_DAYS = re.compile(r"^(\d{1,4})\s*(?:d|days?|д|дн|дня|дней|день)$")
_DAY = r"(\d{4}-\d{2}-\d{2}|\d{1,2}\.\d{1,2}\.\d{4})"
_RANGE = re.compile(rf"^{_DAY}\s*(?:\.\.|–|—|\s-\s|-\s|\s-)\s*{_DAY}$")
_SINGLE_DAY = re.compile(rf"^{_DAY}$")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_WEEK = re.compile(r"^(\d{4})-?w(\d{1,2})$")
_QUARTER = re.compile(r"^(\d{4})-?q([1-4])$")
_YEAR = re.compile(r"^(\d{4})$")


def parse_period(text: str | None, zone: ZoneInfo, now: datetime, default: str = "today") -> Period:
    """The period `text` names, seen from `now` in `zone`. Raises PeriodError on anything else."""
    raw = (text or "").strip()
    words = " ".join(raw.lower().replace("ё", "е").split()) or default
    today = now.astimezone(zone).date()
    named = ALIASES.get(words)
    if named is not None:
        return _named(named, today, zone, now)
    if match := _LAST_DAYS.match(words):
        count = int(match.group(1))
        if not 1 <= count <= MAX_DAYS:
            raise PeriodError(raw, f"the number of days must be 1 to {MAX_DAYS}")
        return Period(today - timedelta(days=count - 1), today, zone, Unit.SPAN, until=now)
    if match := _RANGE.match(words):
        first, last = _date(match.group(1), raw), _date(match.group(2), raw)
        if last < first:
            raise PeriodError(raw, "the range ends before it starts")
        return _checked(Period(first, last, zone, Unit.SPAN), raw)
    if match := _SINGLE_DAY.match(words):
        day = _date(match.group(1), raw)
        return _checked(Period(day, day, zone, Unit.DAY), raw)
    if match := _MONTH.match(words):
        year, month = int(match.group(1)), int(match.group(2))
        if not 1 <= month <= 12:
            raise PeriodError(raw, "no such month")
        first = date(_year(year, raw), month, 1)
        return Period(first, month_end(first), zone, Unit.MONTH)
    if match := _WEEK.match(words):
        year, week = _year(int(match.group(1)), raw), int(match.group(2))
        try:
            first = date.fromisocalendar(year, week, 1)
        except ValueError as exc:
            raise PeriodError(raw, f"{year} has no ISO week {week}") from exc
        return Period(first, first + timedelta(days=6), zone, Unit.WEEK)
    if match := _QUARTER.match(words):
        year, quarter = _year(int(match.group(1)), raw), int(match.group(2))
        first = date(year, quarter * 3 - 2, 1)
        return Period(first, month_end(add_months(first, 2)), zone, Unit.QUARTER)
    if match := _YEAR.match(words):
        year = _year(int(match.group(1)), raw)
        return Period(date(year, 1, 1), date(year, 12, 31), zone, Unit.YEAR)
    raise PeriodError(raw, "unknown period")


def _named(name: str, today: date, zone: ZoneInfo, now: datetime) -> Period:
    week_start = today - timedelta(days=today.weekday())
    month_start = today.replace(day=1)
    quarter_start = _quarter_start(today)
    year_start = date(today.year, 1, 1)
    match name:
        case "today":
            return Period(today, today, zone, Unit.DAY, until=now)
        case "yesterday":
            return Period(today - timedelta(days=1), today - timedelta(days=1), zone, Unit.DAY)
        case "week":
            return Period(week_start, week_start + timedelta(days=6), zone, Unit.WEEK, until=now)
        case "last week":
            return Period(week_start - timedelta(days=7), week_start - timedelta(days=1), zone, Unit.WEEK)
        case "month":
            return Period(month_start, month_end(today), zone, Unit.MONTH, until=now)
        case "last month":
            first = add_months(month_start, -1)
            return Period(first, month_end(first), zone, Unit.MONTH)
        case "quarter":
            return Period(quarter_start, month_end(add_months(quarter_start, 2)), zone, Unit.QUARTER, until=now)
        case "last quarter":
            first = add_months(quarter_start, -3)
            return Period(first, month_end(add_months(first, 2)), zone, Unit.QUARTER)
        case "year":
            return Period(year_start, date(today.year, 12, 31), zone, Unit.YEAR, until=now)
        case "last year":
            return Period(date(today.year - 1, 1, 1), date(today.year - 1, 12, 31), zone, Unit.YEAR)
    raise AssertionError(name)  # every alias maps to a case above


def _date(text: str, raw: str) -> date:
    try:
        if "." in text:
            day, month, year = (int(part) for part in text.split("."))
            parsed = date(year, month, day)
        else:
            parsed = date.fromisoformat(text)
    except ValueError as exc:
        raise PeriodError(raw, f"no such date {text}") from exc
    _year(parsed.year, raw)
    return parsed


def _year(year: int, raw: str) -> int:
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise PeriodError(raw, f"the year must be {MIN_YEAR} to {MAX_YEAR}")
    return year


def _checked(period: Period, raw: str) -> Period:
    if period.days > MAX_DAYS:
        raise PeriodError(raw, f"the range is longer than {MAX_DAYS} days")
    return period


_VERSUS = re.compile(r"\s+(?:vs\.?|versus|против|и|and)\s+|\s*,\s*")
_YEAR_AGO = re.compile(r"\s+(?:yoy|year ago|a year ago|год назад|годом ранее)$")


def parse_comparison(text: str | None, zone: ZoneInfo, now: datetime, default: str = "week") -> tuple[Period, Period]:
    """Two periods to compare: "week" (vs the same span of last week), "month yoy" (vs a year ago),
    "2026-11 vs 2025-11", or any two periods joined by "vs"/"против".
    """
    words = " ".join((text or "").lower().split()) or default
    if match := _YEAR_AGO.search(words):
        a = parse_period(words[: match.start()], zone, now, default)
        return a, a.year_ago()
    parts = _VERSUS.split(words, maxsplit=1)
    if len(parts) == 2:
        return parse_period(parts[0], zone, now), parse_period(parts[1], zone, now)
    a = parse_period(words, zone, now)
    return a, a.previous()
