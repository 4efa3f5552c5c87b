"""Report periods as people type them ("ноябрь", "с 1 по 15 ноября", "Q3", "past 14 days") → [start, end) in UTC.

Every period is a span of local wall-clock time in the business's zone, so "yesterday" means the owner's
yesterday and its edges fall on local midnights (DST included). A period named relative to today that is
still under way ("week", "ноябрь" in November, "с 1 ноября", "последние 7 дней") ends at `now`: comparing
it with the previous one then compares like with like. A period given with its year or its dates
("ноябрь 2026", "2026-11", "01.11.2026-15.11.2026") is the whole calendar span. A month, a quarter or a
day without a year is the latest one that is not in the future.

The grammar is hand-written, one rule per kind of phrase (`parse_period` lists them in order), because
dateparser (1.5) is not solid here. Measured on the 163 phrasings of tests/test_periods_phrasings.py (run
that file as a script for the figures): it got 26 right, the grammar 163. dateparser names one instant,
not a span: of 139 spans it found both ends only of 7, those with both days and months written out
(«с 28 октября по 5 ноября», "Nov 1 to Nov 15"); a month, a quarter, "last 7 days" or «1-15 ноября» it
cannot give. Of 24 single days it read 19, and the five it missed are the worrying kind: «15.11» became
15:11 yesterday, and «в пятницу» on a Friday and «в прошлую пятницу» last week's or nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
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
    "Use today, yesterday, week, last week, month, last month, quarter, year, november, november 2025, "
    "Nov 1-15, last 7 days, past 3 months, since monday, Q3, 2026-11-27, 2026-11-01..2026-11-15, 2026-11, "
    "2026-W48, 2026-Q4 or 2026 (Russian works too: ноябрь, с 1 по 15 ноября, 3 квартал, последние 7 дней)"
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
    # Set on the period before a running one (see `previous`): `until` is then not "now" but the same
    # moment of this earlier period, and with `until` dropped (`whole`) it counts whole on purpose.
    matched: bool = False

    @property
    def start(self) -> datetime:
        return local_midnight(self.first, self.zone)

    @property
    def end(self) -> datetime:
        full = local_midnight(self.last + timedelta(days=1), self.zone)
        return full if self.until is None else min(full, max(self.until, self.start))

    @property
    def shortened(self) -> bool:
        """It ends at `until`, before its last day is over."""
        return self.until is not None and self.end < local_midnight(self.last + timedelta(days=1), self.zone)

    @property
    def running(self) -> bool:
        """Still under way: it ends at `until` (now), before its last day is over."""
        return self.shortened and not self.matched

    @property
    def cut(self) -> bool:
        """An earlier period cut at the same moment as the running one it is compared with."""
        return self.shortened and self.matched

    @property
    def last_covered(self) -> date:
        """The last local day the period reaches into (today, for a running one; the cut's day)."""
        if not self.shortened:
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
        return replace(self, first=first, last=last, until=until, matched=self.matched or until is not None)

    def previous(self) -> Period:
        """The period just before, of the same kind: last week for a week, the previous 7 days for 7d.
        Before a running period it is cut at the same moment (this week so far → last week to this time)."""
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

    def whole(self) -> Period:
        """An earlier period counted to its end, not cut at the running one's moment (`matched` stays)."""
        return replace(self, until=None) if self.matched else self


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


# The words ----------------------------------------------------------------------------------------

# Phrases that name a period relative to today, in English and Russian, mapped to one canonical name.
# Leading "за", "в", "на", "in", "for"... are dropped first (see _FILLERS), so «за неделю» is "неделю".
_ALIAS_LINES = {
    "today": "today|day|сегодня|день|today so far",
    "yesterday": "yesterday|вчера",
    "before yesterday": "позавчера|before yesterday|day before yesterday",
    "week": "week|this week|current week|неделя|неделю|неделе|эта неделя|эту неделю|этой неделе|текущая неделя|"
    "текущую неделю|текущей неделе|с начала недели|week to date|wtd",
    "last week": "last week|previous week|прошлая неделя|прошлую неделю|прошлой неделе|предыдущая неделя|"
    "предыдущую неделю|предыдущей неделе",
    "week before last": "week before last|позапрошлая неделя|позапрошлую неделю|позапрошлой неделе",
    "month": "month|this month|current month|месяц|этот месяц|этом месяце|текущий месяц|текущем месяце|"
    "с начала месяца|month to date|mtd",
    "last month": "last month|previous month|прошлый месяц|прошлом месяце|предыдущий месяц|предыдущем месяце",
    "month before last": "month before last|позапрошлый месяц|позапрошлом месяце",
    "quarter": "quarter|this quarter|current quarter|квартал|этот квартал|этом квартале|текущий квартал|"
    "текущем квартале|с начала квартала|quarter to date|qtd",
    "last quarter": "last quarter|previous quarter|прошлый квартал|прошлом квартале|предыдущий квартал|"
    "предыдущем квартале",
    "year": "year|this year|current year|год|этот год|этом году|текущий год|текущем году|с начала года|"
    "year to date|ytd",
    "last year": "last year|previous year|прошлый год|прошлом году|предыдущий год|предыдущем году",
    "year before last": "year before last|позапрошлый год|позапрошлом году",
    "weekend": "weekend|this weekend|выходные|выходных|эти выходные|этих выходных",
    "last weekend": "last weekend|previous weekend|прошлые выходные|прошлых выходных",
}
ALIASES: dict[str, str] = {phrase: name for name, line in _ALIAS_LINES.items() for phrase in line.split("|")}

_MONTH_LINES = (
    "январь января январе янв jan january",
    "февраль февраля феврале фев февр feb february",
    "март марта марте мар mar march",
    "апрель апреля апреле апр apr april",
    "май мая мае may",
    "июнь июня июне июн jun june",
    "июль июля июле июл jul july",
    "август августа августе авг aug august",
    "сентябрь сентября сентябре сен сент sep sept september",
    "октябрь октября октябре окт oct october",
    "ноябрь ноября ноябре ноя нояб nov november",
    "декабрь декабря декабре дек dec december",
)
MONTH_WORDS: dict[str, int] = {word: n for n, line in enumerate(_MONTH_LINES, 1) for word in line.split()}
_WEEKDAY_LINES = (
    "понедельник понедельника пн monday mon",
    "вторник вторника вт tuesday tue tues",
    "среда среду среды ср wednesday wed",
    "четверг четверга чт thursday thu thur thurs",
    "пятница пятницу пятницы пт friday fri",
    "суббота субботу субботы сб saturday sat",
    "воскресенье воскресенья вс sunday sun",
)
WEEKDAY_WORDS: dict[str, int] = {word: n for n, line in enumerate(_WEEKDAY_LINES) for word in line.split()}
_ORDINAL_LINES = (
    "первый первого первом первая первое первой first",
    "второй второго втором вторая второе second",
    "третий третьего третьем третья третье third",
    "четвертый четвертого четвертом четвертая fourth",
)
ORDINAL_WORDS: dict[str, int] = {word: n for n, line in enumerate(_ORDINAL_LINES, 1) for word in line.split()}
ROMAN = {"i": 1, "ii": 2, "iii": 3, "iv": 4}
NUMBER_WORDS: dict[str, int] = {
    **dict.fromkeys(("один", "одна", "одну", "one"), 1),
    **dict.fromkeys(("два", "две", "пару", "two"), 2),
    **dict.fromkeys(("три", "three"), 3),
    **dict.fromkeys(("четыре", "four"), 4),
    **dict.fromkeys(("пять", "five"), 5),
    **dict.fromkeys(("шесть", "six"), 6),
    **dict.fromkeys(("семь", "seven"), 7),
    **dict.fromkeys(("восемь", "eight"), 8),
    **dict.fromkeys(("девять", "nine"), 9),
    **dict.fromkeys(("десять", "ten"), 10),
    **dict.fromkeys(("двенадцать", "twelve"), 12),
    **dict.fromkeys(("четырнадцать", "fourteen"), 14),
    **dict.fromkeys(("тридцать", "thirty"), 30),
    **dict.fromkeys(("девяносто", "ninety"), 90),
}
# A count of units back from today: days and weeks count days, months, quarters and years calendar months.
_UNIT_WORDS: dict[str, tuple[str, int]] = {
    **dict.fromkeys(("d", "day", "days", "д", "дн", "дня", "дней", "день", "сутки", "суток"), ("days", 1)),
    **dict.fromkeys(("w", "week", "weeks", "нед", "неделя", "неделю", "недели", "недель"), ("days", 7)),
    **dict.fromkeys(("month", "months", "мес", "месяц", "месяца", "месяцев"), ("months", 1)),
    **dict.fromkeys(("quarters", "кварталов", "квартала"), ("months", 3)),
    **dict.fromkeys(("y", "year", "years", "г", "год", "года", "лет"), ("months", 12)),
    **dict.fromkeys(("полгода", "half-year", "half year"), ("months", 6)),
}

# Leading words that add nothing: «за ноябрь», «в ноябре», «на прошлой неделе», "in November", "for Q3".
_FILLERS = frozenset({"за", "в", "во", "на", "in", "for", "during", "over", "on", "the", "of", "period"})
_DASHES = str.maketrans({"–": "-", "—": "-", "‒": "-", "−": "-", "‑": "-", "ё": "е", ",": " ", "/": "."})


def _alternatives(words: Iterable[str]) -> str:
    return "|".join(re.escape(word) for word in sorted(words, key=len, reverse=True))


_MON = rf"(?P<mon>{_alternatives(MONTH_WORDS)})\.?"
_ORD_SUFFIX = r"(?:-?(?:й|ый|ий|ой|го|е|ое|я|ая|st|nd|rd|th))?"
_YEAR_WORD = r"(?:\s*(?:года|году|год|г\.?))?"

# The days a range or "since" is made of: «1 ноября», "Nov 1", «01.11», «1.11.26», "2026-11-01", «1».
_ISO_DAY = re.compile(r"^(?P<year>\d{4})-(?P<month>\d{1,2})-(?P<day>\d{1,2})$")
_DOTTED_DAY = re.compile(r"^(?P<day>\d{1,2})\.(?P<month>\d{1,2})(?:\.(?P<year>\d{4}|\d{2}))?$")
_DAY_MONTH = re.compile(rf"^(?P<day>\d{{1,2}}){_ORD_SUFFIX}\s*{_MON}(?:\s+(?P<year>\d{{4}}){_YEAR_WORD})?$")
_MONTH_DAY = re.compile(rf"^{_MON}\s*(?P<day>\d{{1,2}}){_ORD_SUFFIX}(?:\s+(?P<year>\d{{4}}))?$")
_BARE_DAY = re.compile(rf"^(?P<day>\d{{1,2}}){_ORD_SUFFIX}(?:\s+(?P<year>\d{{4}}))?$")  # "Nov 1-15 2025"
_DAY_FORMS = (_ISO_DAY, _DOTTED_DAY, _DAY_MONTH, _MONTH_DAY)

_SINCE = re.compile(r"^(?:с|со|since|from|starting|starting from|начиная с)\s+(?P<rest>.+)$")
_RANGE_SEP = re.compile(r"\s*(?:\.\.|-)\s*|\s+(?:по|до|to|till|until|through|thru)\s+")
_COUNT = re.compile(
    r"^(?:(?P<last>последни[ей]|последний|последнюю|последняя|последних|прошедши[ей]|прошлые|"
    r"last|past|previous|the last|the past)\s*)?"
    rf"(?P<n>\d{{1,4}}|{_alternatives(NUMBER_WORDS)})?\s*(?P<unit>{_alternatives(_UNIT_WORDS)})$"
)
_MONTH_NAME = re.compile(
    rf"^(?:(?P<rel>прошл\w+|last|previous|эт\w+|this)\s+)?{_MON}(?:\s+(?P<year>\d{{4}}){_YEAR_WORD})?$"
)
_DOTTED_MONTH = re.compile(r"^(?P<month>\d{1,2})\.(?P<year>\d{4})$")
_QUARTER_CODE = re.compile(r"^(?:q\s*(?P<q1>[1-4])(?:\s*(?P<y1>\d{4}))?|(?P<y2>\d{4})\s*-?\s*q\s*(?P<q2>[1-4]))$")
_QUARTER_WORDS = re.compile(
    rf"^(?:(?P<n>[1-4]|iv|i{{1,3}}){_ORD_SUFFIX}|(?P<ord>{_alternatives(ORDINAL_WORDS)}))\s*"
    r"(?:(?:квартал|квартале|кв\.?|quarter)(?:\s+(?:of\s+)?(?P<y1>\d{4})" + _YEAR_WORD + r")?"
    r"|квартала\s+(?P<y2>\d{4})" + _YEAR_WORD + r")$"
)
_QUARTER_AFTER = re.compile(r"^(?:квартал|quarter)\s+(?P<n>[1-4])(?:\s+(?P<y>\d{4}))?$")
_WEEK_NUMBER = re.compile(
    r"^(?:(?P<a>\d{1,2})(?:-?(?:я|ая|ю|ую))?\s+(?:неделя|неделю)|(?:неделя|week|w)\s*(?P<b>\d{1,2}))$"
)
_YEAR_NAME = re.compile(rf"^(?P<year>\d{{4}}){_YEAR_WORD}$")
_WEEKDAY = re.compile(rf"^(?:(?P<rel>прошл\w+|last|previous)\s+)?(?P<wd>{_alternatives(WEEKDAY_WORDS)})$")

# The forms the first version took, kept as they were (ISO codes, "7d", dotted dates with the year).
_LAST_DAYS = re.compile(r"^(\d{1,4})\s*(?:d|days?|д|дн|дня|дней|день)$")
_DAY = r"(\d{4}-\d{2}-\d{2}|\d{1,2}\.\d{1,2}\.\d{4})"
_RANGE = re.compile(rf"^{_DAY}\s*(?:\.\.|-|\s-\s|-\s|\s-)\s*{_DAY}$")
_SINGLE_DAY = re.compile(rf"^{_DAY}$")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_WEEK = re.compile(r"^(\d{4})-?w(\d{1,2})$")
_QUARTER = re.compile(r"^(\d{4})-?q([1-4])$")
_YEAR = re.compile(r"^(\d{4})$")


def normal_words(text: str) -> str:
    """Lower case, ё as е, one kind of dash, no commas, single spaces, no leading filler words."""
    words = (text or "").lower().translate(_DASHES).replace("\u00a0", " ").strip(" .\"'«»“”")
    parts = words.split()
    parts = ["с" if part == "c" else part for part in parts]  # a Latin "c" typed for the Russian «с»
    while len(parts) > 1 and parts[0] in _FILLERS:
        parts = parts[1:]
    return " ".join(parts)


def parse_period(text: str | None, zone: ZoneInfo, now: datetime, default: str = "today") -> Period:
    """The period `text` names, seen from `now` in `zone`. Raises PeriodError on anything else.

    Tried in order: a named period («прошлая неделя», "mtd"), the ISO and numeric codes ("2026-11",
    "2026-W48", "7d", "01.11.2026-15.11.2026"), "since" a day («с 1 ноября», "since monday"), a count of
    days, weeks, months or years back («последние 7 дней», «за 2 недели», "past 3 months"), a month
    («в ноябре», "november 2025", «11.2026»), a quarter («Q3», «3 квартал», «третий квартал»), a week number
    («48 неделя»), a year («2025 год»), a weekday («в пятницу»), a day («15 ноября», "Nov 15", «15.11»), a
    range of days («с 1 по 15 ноября», «01.11–15.11», "Nov 1-15").
    """
    raw = (text or "").strip()
    words = normal_words(raw) or normal_words(default)
    today = now.astimezone(zone).date()
    named = ALIASES.get(words)
    if named is not None:
        return _named(named, today, zone, now)
    legacy = _legacy(words, raw, zone, now, today)
    if legacy is not None:
        return legacy
    if match := _SINCE.match(words):
        rest = match.group("rest")
        since = _day_of(rest, today, raw)
        if since is not None:
            if since > today:
                raise PeriodError(raw, "the period starts in the future")
            return _checked(Period(since, today, zone, Unit.SPAN, until=now), raw)
        return _range(rest, raw, zone, today)
    for rule in (_year_rule, _week_number, _count, _month, _quarter, _single_day):
        found = rule(words, raw, zone, now, today)
        if found is not None:
            return found
    return _range(words, raw, zone, today)


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
        case "before yesterday":
            return Period(today - timedelta(days=2), today - timedelta(days=2), zone, Unit.DAY)
        case "week":
            return Period(week_start, week_start + timedelta(days=6), zone, Unit.WEEK, until=now)
        case "last week":
            return Period(week_start - timedelta(days=7), week_start - timedelta(days=1), zone, Unit.WEEK)
        case "week before last":
            return Period(week_start - timedelta(days=14), week_start - timedelta(days=8), zone, Unit.WEEK)
        case "month":
            return Period(month_start, month_end(today), zone, Unit.MONTH, until=now)
        case "last month":
            first = add_months(month_start, -1)
            return Period(first, month_end(first), zone, Unit.MONTH)
        case "month before last":
            first = add_months(month_start, -2)
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
        case "year before last":
            return Period(date(today.year - 2, 1, 1), date(today.year - 2, 12, 31), zone, Unit.YEAR)
        case "weekend" | "last weekend":
            # The latest Saturday and Sunday begun by today; "last" is the one before if this one runs.
            saturday = today - timedelta(days=(today.weekday() - 5) % 7)
            if name == "last weekend" and saturday + timedelta(days=1) >= today:
                saturday -= timedelta(days=7)
            return _running(Period(saturday, saturday + timedelta(days=1), zone, Unit.WEEK), now)
    raise AssertionError(name)  # every alias maps to a case above


def _legacy(words: str, raw: str, zone: ZoneInfo, now: datetime, today: date) -> Period | None:
    if match := _LAST_DAYS.match(words):
        return _last_days(int(match.group(1)), raw, zone, now, today)
    if match := _RANGE.match(words):
        first, last = _date(match.group(1), raw), _date(match.group(2), raw)
        if last < first:
            raise PeriodError(raw, "the range ends before it starts")
        return _checked(Period(first, last, zone, Unit.SPAN), raw)
    if match := _SINGLE_DAY.match(words):
        day = _date(match.group(1), raw)
        return _checked(Period(day, day, zone, Unit.DAY), raw)
    if match := _MONTH.match(words):
        return _month_period(_year(int(match.group(1)), raw), int(match.group(2)), raw, zone)
    if match := _WEEK.match(words):
        return _iso_week(_year(int(match.group(1)), raw), int(match.group(2)), raw, zone)
    if match := _QUARTER.match(words):
        return _quarter_period(_year(int(match.group(1)), raw), int(match.group(2)), zone)
    if match := _YEAR.match(words):
        year = _year(int(match.group(1)), raw)
        return Period(date(year, 1, 1), date(year, 12, 31), zone, Unit.YEAR)
    return None


def _last_days(count: int, raw: str, zone: ZoneInfo, now: datetime, today: date) -> Period:
    if not 1 <= count <= MAX_DAYS:
        raise PeriodError(raw, f"the number of days must be 1 to {MAX_DAYS}")
    return Period(today - timedelta(days=count - 1), today, zone, Unit.SPAN, until=now)


def _count(words: str, raw: str, zone: ZoneInfo, now: datetime, today: date) -> Period | None:
    """«последние 7 дней», «за 2 недели», «3 месяца», "past 14 days", "last 3 months": back from today."""
    match = _COUNT.match(words)
    if match is None or not (match.group("n") or match.group("last") or match.group("unit") == "полгода"):
        return None
    n = match.group("n")
    count = 1 if n is None else int(n) if n.isdigit() else NUMBER_WORDS[n]
    kind, size = _UNIT_WORDS[match.group("unit")]
    if kind == "days":
        return _last_days(count * size, raw, zone, now, today)
    if not 1 <= count * size <= MAX_DAYS // 28:
        raise PeriodError(raw, f"the number of months must be 1 to {MAX_DAYS // 28}")
    return Period(add_months(today, -count * size) + timedelta(days=1), today, zone, Unit.SPAN, until=now)


def _month(words: str, raw: str, zone: ZoneInfo, now: datetime, today: date) -> Period | None:
    """«ноябрь», «в ноябре», «ноябрь 2025», «прошлый ноябрь», "last november", «11.2026»."""
    if match := _DOTTED_MONTH.match(words):
        return _month_period(_year(int(match.group("year")), raw), int(match.group("month")), raw, zone)
    match = _MONTH_NAME.match(words)
    if match is None:
        return None
    month = MONTH_WORDS[match.group("mon")]
    if match.group("year"):
        return _month_period(_year(int(match.group("year")), raw), month, raw, zone)
    year = today.year if month <= today.month else today.year - 1  # the latest not in the future
    rel = match.group("rel") or ""
    if rel.startswith(("прошл", "last", "previous")) and month == today.month:
        year -= 1  # "last November" in November is a year ago
    return _running(_month_period(year, month, raw, zone), now)


def _quarter(words: str, raw: str, zone: ZoneInfo, now: datetime, today: date) -> Period | None:
    """«Q3», "q3 2025", «3 квартал», «3-й квартал 2025 года», «третий квартал», «III кв», "quarter 3"."""
    quarter: str | int | None = None
    year: str | None = None
    if match := _QUARTER_CODE.match(words):
        quarter, year = match.group("q1") or match.group("q2"), match.group("y1") or match.group("y2")
    elif match := _QUARTER_WORDS.match(words):
        n, ordinal = match.group("n"), match.group("ord")
        quarter = ORDINAL_WORDS[ordinal] if ordinal else ROMAN.get(n) or n
        year = match.group("y1") or match.group("y2")
    elif match := _QUARTER_AFTER.match(words):
        quarter, year = match.group("n"), match.group("y")
    if quarter is None:
        return None
    q = int(quarter)
    if year:
        return _quarter_period(_year(int(year), raw), q, zone)
    latest = today.year if date(today.year, q * 3 - 2, 1) <= today else today.year - 1
    return _running(_quarter_period(latest, q, zone), now)


def _week_number(words: str, raw: str, zone: ZoneInfo, now: datetime, today: date) -> Period | None:
    """«48 неделя», «48-я неделя», "week 48": the ISO week of this year, or of last year if still ahead."""
    match = _WEEK_NUMBER.match(words)
    if match is None:
        return None
    week = int(match.group("a") or match.group("b"))
    year = today.isocalendar().year
    if week > today.isocalendar().week:
        year -= 1
    return _running(_iso_week(year, week, raw, zone), now)


def _year(year: int, raw: str) -> int:
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise PeriodError(raw, f"the year must be {MIN_YEAR} to {MAX_YEAR}")
    return year


def _year_rule(words: str, raw: str, zone: ZoneInfo, now: datetime, today: date) -> Period | None:
    """«2025 год», «в 2025 году», "2025": the whole calendar year."""
    if match := _YEAR_NAME.match(words):
        year = _year(int(match.group("year")), raw)
        return Period(date(year, 1, 1), date(year, 12, 31), zone, Unit.YEAR)
    return None


def _single_day(words: str, raw: str, zone: ZoneInfo, now: datetime, today: date) -> Period | None:
    """A weekday («в пятницу», "last friday"), «15 ноября», "Nov 15", «15.11», «15.11.26»."""
    day = _day_of(words, today, raw)
    if day is None:
        return None
    return _running(Period(day, day, zone, Unit.DAY), now)


def _day_of(words: str, today: date, raw: str) -> date | None:
    """A single day, a year left out meaning the latest such day not in the future."""
    if match := _WEEKDAY.match(words):
        back = (today.weekday() - WEEKDAY_WORDS[match.group("wd")]) % 7
        if match.group("rel"):  # «в прошлую пятницу»: that day of last week
            week_start = today - timedelta(days=today.weekday())
            return week_start - timedelta(days=7 - WEEKDAY_WORDS[match.group("wd")])
        return today - timedelta(days=back)
    if words in ALIASES and ALIASES[words] in ("today", "yesterday", "before yesterday"):
        return today - timedelta(days=("today", "yesterday", "before yesterday").index(ALIASES[words]))
    parts = _day_parts(words, raw)
    if parts is None:
        return None
    day, month, year = parts
    assert month is not None  # only a bare day has none
    if year is not None:
        return _made(year, month, day, raw)
    for back in range(9):  # the latest such day not in the future (29 February may be years back)
        try:
            candidate = date(today.year - back, month, day)
        except ValueError:
            continue
        if candidate <= today:
            return candidate
    raise PeriodError(raw, f"no such date {day}.{month}")


def _day_parts(words: str, raw: str, *, bare: bool = False) -> tuple[int, int | None, int | None] | None:
    """(day, month, year) of «1 ноября 2025», "Nov 1", «01.11», «1.11.26», "2026-11-01"; «1» when `bare`."""
    for form in _DAY_FORMS:
        if match := form.match(words):
            found = match.groupdict()
            month = MONTH_WORDS[found["mon"]] if found.get("mon") else int(found["month"])
            year = found.get("year")
            full_year = None if year is None else int(year) + (2000 if len(year) == 2 else 0)
            return int(found["day"]), month, None if full_year is None else _year(full_year, raw)
    if bare and (match := _BARE_DAY.match(words)):
        year = match.group("year")
        return int(match.group("day")), None, None if year is None else _year(int(year), raw)
    return None


def _range(words: str, raw: str, zone: ZoneInfo, today: date) -> Period:
    """«1-15 ноября», «с 1 по 15 ноября», «01.11–15.11», «1.11-15.11.26», "Nov 1-15", "nov 1 to dec 3".
    A side without a month takes the other's; without a year, the latest year the range starts in by today."""
    for sep in _RANGE_SEP.finditer(words):
        left, right = words[: sep.start()].strip(), words[sep.end() :].strip()
        a, b = _day_parts(left, raw, bare=True), _day_parts(right, raw, bare=True)
        if a is None and left:
            a = _dated(_day_of(left, today, raw))
        if b is None and right:
            b = _dated(_day_of(right, today, raw))
        if a is None or b is None or (a[1] is None and b[1] is None):
            continue
        first, last = _resolve(a, b, today, raw)
        if last < first:
            raise PeriodError(raw, "the range ends before it starts")
        return _checked(Period(first, last, zone, Unit.SPAN), raw)
    raise PeriodError(raw, "unknown period")


def _dated(day: date | None) -> tuple[int, int | None, int | None] | None:
    return None if day is None else (day.day, day.month, day.year)


def _resolve(
    a: tuple[int, int | None, int | None], b: tuple[int, int | None, int | None], today: date, raw: str
) -> tuple[date, date]:
    a_month = a[1] if a[1] is not None else b[1]
    b_month = b[1] if b[1] is not None else a[1]
    assert a_month is not None and b_month is not None
    # «25.12–05.01» runs into the next year; «28-5 ноября» (one month for both) is a mistake
    wraps = a[1] is not None and b[1] is not None and (b_month, b[0]) < (a_month, a[0])
    a_year, b_year = a[2], b[2]
    if a_year is None and b_year is not None:
        a_year = b_year - 1 if wraps else b_year
    elif a_year is None:
        a_year = today.year if (a_month, a[0]) <= (today.month, today.day) else today.year - 1
    if b_year is None:
        b_year = a_year + 1 if wraps else a_year
    return _made(a_year, a_month, a[0], raw), _made(b_year, b_month, b[0], raw)


def _made(year: int, month: int, day: int, raw: str) -> date:
    try:
        return date(_year(year, raw), month, day)
    except ValueError as exc:
        raise PeriodError(raw, f"no such date {day:02d}.{month:02d}.{year}") from exc


def _month_period(year: int, month: int, raw: str, zone: ZoneInfo) -> Period:
    if not 1 <= month <= 12:
        raise PeriodError(raw, "no such month")
    first = date(year, month, 1)
    return Period(first, month_end(first), zone, Unit.MONTH)


def _quarter_period(year: int, quarter: int, zone: ZoneInfo) -> Period:
    first = date(year, quarter * 3 - 2, 1)
    return Period(first, month_end(add_months(first, 2)), zone, Unit.QUARTER)


def _iso_week(year: int, week: int, raw: str, zone: ZoneInfo) -> Period:
    try:
        first = date.fromisocalendar(year, week, 1)
    except ValueError as exc:
        raise PeriodError(raw, f"{year} has no ISO week {week}") from exc
    return Period(first, first + timedelta(days=6), zone, Unit.WEEK)


def _running(period: Period, now: datetime) -> Period:
    """A period named relative to today that has not ended yet counts up to now."""
    return replace(period, until=now) if period.end > now else period


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


def _checked(period: Period, raw: str) -> Period:
    if period.days > MAX_DAYS:
        raise PeriodError(raw, f"the range is longer than {MAX_DAYS} days")
    return period


_VERSUS = re.compile(r"\s+(?:vs\.?|versus|против|и|and)\s+|\s*,\s*")
_YEAR_AGO = re.compile(r"\s+(?:yoy|year ago|a year ago|год назад|годом ранее|с прошлым годом)$")
_WHOLE = re.compile(r"(?:^|\s)(?:целиком|полностью|in full|whole|full|entire)(?=\s|$)")


def parse_comparison(
    text: str | None, zone: ZoneInfo, now: datetime, default: str = "week", *, whole: bool = False
) -> tuple[Period, Period]:
    """Two periods to compare: "week" (vs the same span of last week), "month yoy" (vs a year ago),
    "2026-11 vs 2025-11", or any two periods joined by "vs"/"против". An earlier period is cut at the
    running one's moment unless `whole` or the words «целиком», «полностью», "whole", "in full" ask for it
    whole.
    """
    words = " ".join((text or "").lower().split())
    if _WHOLE.search(words):
        whole, words = True, " ".join(_WHOLE.sub(" ", words).split())
    words = words or default
    if match := _YEAR_AGO.search(words):
        a = parse_period(words[: match.start()], zone, now, default)
        b = a.year_ago()
    elif len(parts := _VERSUS.split(words, maxsplit=1)) == 2:
        return parse_period(parts[0], zone, now), parse_period(parts[1], zone, now)
    else:
        a = parse_period(words, zone, now)
        b = a.previous()
    return a, b.whole() if whole else b
