"""Ad spend from a file: an ad platform's own export as it is (Yandex Direct, VK Ads, Google Ads, Meta), or
a table the owner made for a platform without an import (Avito, a blogger).

A CSV (UTF-8 with or without BOM, UTF-16 as Google Ads saves «Excel .csv», or Windows-1251; `;`, `,` or tab
between columns) or an Excel book (.xlsx, its first sheet). The line naming the columns may come after a
report's title lines (its name, its period): it is the first of the first MAX_TITLE_LINES lines that names a
date, a campaign and a cost, in Russian or English as the platforms name them («Дата», «Название кампании»,
«Расход (руб.)», «Потрачено всего, ₽», "Day", "Campaign", "Amount spent (RUB)"...), with an optional source,
campaign id and currency. Totals lines («Итого», «Всего», "Total: Account") are skipped. A platform's export
has no source column: the source is given once for the whole file (`source`: the CLI's `--source`, the
caption of the file sent to the bot); a file with a source column takes each line's own, the given one
filling its empty cells. A currency named by a column or by the cost's header («Расход, ₽», "Cost (USD)")
must be the business currency: there is no rate to convert with.

All or nothing: every line is read first, and any line that is wrong stops the import with the line named
by its number in the file («Строка 7: не понял дату «31.02.2026»»): nothing of a bad file is stored. Lines
of one day, source and campaign are added up (a file may list a campaign's ad groups apart). A re-import of
a day replaces its figures (Store.save_costs). Errors are keys of bot/texts.py (`costs_error_*`) with their
values, so the bot and the CLI say them in the owner's language.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import partial
from itertools import chain, islice
from typing import Any

from tracking import amounts
from tracking.models import Cost
from tracking.store.base import Store

ORIGIN = "file"
MAX_BYTES = 5 * 1024 * 1024  # a year of daily spend of a hundred campaigns is ~2 MB of CSV
MAX_ROWS = 20_000
MAX_ERRORS = 5  # problems named at once: enough to fix a file in one go, short enough to read
MAX_COLUMNS = 60  # Google Ads and Meta exports carry dozens of metric columns
MAX_TITLE_LINES = 15  # non-empty lines searched for the one naming the columns (a report's name, period, notes)
EXCEL_EPOCH = date(1899, 12, 30)  # a date cell without its format reads as days since this
SOURCE_EXAMPLES = "vk, google, avito"

# Column names as owners and platforms write them (lower case, «ё» as «е», «№» as «номер», punctuation,
# units in brackets and anything after a comma dropped: «Расход (руб.)», «Потрачено всего, ₽»).
COLUMNS: dict[str, tuple[str, ...]] = {
    "day": ("дата", "день", "date", "day", "reporting starts", "начало отчетности"),  # Meta: a row's first day
    "day_end": ("reporting ends", "конец отчетности"),  # Meta: its last day (the same day when broken down by day)
    "source": ("источник", "площадка", "рекламная система", "канал", "source", "platform", "utm source"),
    "campaign": ("кампания", "название кампании", "имя кампании", "campaign", "campaign name", "utm campaign"),
    "amount": (
        "расход",
        "расходы",
        "сумма",
        "затраты",
        "стоимость",  # Google Ads in Russian
        "потрачено",  # VK Ads: «Потрачено всего, ₽»
        "потраченная сумма",  # Meta in Russian
        "списано",
        "cost",
        "spend",
        "spent",
        "spent budget",  # Telegram Ads
        "amount",
        "amount spent",  # Meta
    ),
    "campaign_id": ("id кампании", "ид кампании", "номер кампании", "campaign id"),  # Direct: «№ Кампании»
    "currency": ("валюта", "код валюты", "currency", "currency code"),  # Google Ads: "Currency code"
}
# Words that may follow a column's name without making it another column: «Потрачено всего», «Расход с НДС».
# Anything else makes it another figure ("Cost / conv.", «День недели», "Campaign status") and is not read.
QUALIFIERS = frozenset({"всего", "итого", "total", "all", "с", "без", "до", "ндс", "vat", "incl", "excl", "gross"})
REQUIRED = ("day", "source", "campaign", "amount")
# Currency signs and words, as the bot reads them in a sale's amount («₽», «руб», «тг», «$»…).
CURRENCIES = {**amounts.CURRENCY_SIGNS, **amounts.CURRENCY_WORDS}
_DATE_FORMATS = ("%d.%m.%Y", "%Y-%m-%d", "%d.%m.%y", "%d/%m/%Y", "%Y.%m.%d", "%Y/%m/%d")
# Google Ads and Meta in English: «Nov 1, 2026», «November 1, 2026», «Sat, Nov 1, 2026», «1 Nov 2026».
_WORDY_DATE_FORMATS = ("%b %d, %Y", "%B %d, %Y", "%a, %b %d, %Y", "%A, %B %d, %Y", "%d %b %Y", "%d %B %Y")
_TOTALS = re.compile(r"^(итого|всего|общий итог|total|totals|grand total)\b", re.IGNORECASE)
_DASHES = ("-", "--", "—", "–", "−")  # Google Ads and Direct write a dash for nothing spent
_SOURCE = re.compile(r"^[\w.-]{1,64}$")


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the file: a key of bot/texts.py (`costs_error_<key>`) and its values."""

    key: str
    values: dict[str, object] = field(default_factory=dict)


class CostFileError(Exception):
    def __init__(self, problems: Sequence[Problem]) -> None:
        super().__init__("; ".join(f"{p.key} {p.values}" for p in problems))
        self.problems = list(problems)


@dataclass(frozen=True)
class CostImport:
    """What a file held, as stored: its costs (lines of one day, source and campaign added up)."""

    costs: list[Cost]
    lines: int  # lines of spend read from the file

    @property
    def first(self) -> date:
        return min(c.day for c in self.costs)

    @property
    def last(self) -> date:
        return max(c.day for c in self.costs)

    def totals(self) -> dict[str, Decimal]:
        """Spend per source, the largest first."""
        sums: dict[str, Decimal] = {}
        for cost in self.costs:
            sums[cost.source] = sums.get(cost.source, Decimal(0)) + cost.amount
        return dict(sorted(sums.items(), key=lambda item: (-item[1], item[0])))


def given_source(text: str | None) -> str | None:
    """The source named for the whole file («vk»), or None when none is; CostFileError when it is not one word."""
    source = (text or "").strip().lower()
    if not source:
        return None
    if not _SOURCE.match(source):
        raise CostFileError([Problem("given_source", {"value": (text or "").strip(), "examples": SOURCE_EXAMPLES})])
    return source


def _header_name(cell: object) -> str:
    text = str(cell or "").replace("\ufeff", "").strip().lower().replace("ё", "е").replace("№", "номер ")
    text = re.sub(r"\(.*?\)|,.*$", "", text)  # «Расход (руб.)», «Сумма, ₽»
    return " ".join(re.sub(r"[^\w ]+", " ", text).replace("_", " ").split())


def _columns(header: Sequence[object]) -> dict[str, int]:
    """Which cell holds which column: a name as it is first, then a name with qualifiers («Потрачено всего»)."""
    names = [_header_name(cell) for cell in header]
    found: dict[str, int] = {}
    taken: set[int] = set()
    for exact in (True, False):
        for column, aliases in COLUMNS.items():
            if column in found:
                continue
            for index, name in enumerate(names):
                if index not in taken and _names(name, aliases, exact=exact):
                    found[column] = index
                    taken.add(index)
                    break
    return found


def _names(name: str, aliases: tuple[str, ...], *, exact: bool) -> bool:
    if exact:
        return name in aliases
    return any(name.startswith(alias + " ") and set(name[len(alias) :].split()) <= QUALIFIERS for alias in aliases)


def _header_currency(cell: object) -> str | None:
    """The currency a cost's header names: «Расход (руб.)», «Потрачено всего, ₽», "Amount spent (USD)"."""
    text = str(cell or "").strip()
    unit = re.search(r"\(([^()]*)\)\s*$", text) or re.search(r",\s*([^,]+)$", text)
    if unit is None:
        return None
    written = unit.group(1).strip().rstrip(".")
    if re.fullmatch(r"[A-Z]{3}", written):  # an ISO code, as the platforms write it: upper case
        return written
    return CURRENCIES.get(written.lower())


def _text(cell: object) -> str:
    if cell is None:
        return ""
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    return str(cell).strip()


def parse_day(cell: object) -> date | None:
    if isinstance(cell, datetime):
        return cell.date()
    if isinstance(cell, date):
        return cell
    if isinstance(cell, (int, float)) and not isinstance(cell, bool):  # an Excel date without its format
        return EXCEL_EPOCH + timedelta(days=int(cell)) if 1 <= cell < 2_958_466 else None
    text = " ".join(_text(cell).split())
    # The whole text («Nov 1, 2026»), then its first word («01.11.2026 0:00:00», «2026-11-01T00:00:00»).
    for candidate, forms in ((text, _DATE_FORMATS + _WORDY_DATE_FORMATS), (re.split(r"[ T]", text)[0], _DATE_FORMATS)):
        for form in forms:
            try:
                day = datetime.strptime(candidate, form).date()
            except ValueError:
                continue
            return day if 2000 <= day.year <= 2100 else None
    return None


def parse_amount(cell: object) -> Decimal | None:
    """12 000,50 · 12000.50 · 12,000.50 · 12.000,50 · «12 000 ₽»: exact, never through a float's digits. Text is
    read as the bot reads a sale's amount (tracking/amounts.py), so «12,000» is twelve thousand in both. A dash
    is nothing spent, as Google Ads and Direct write it."""
    if isinstance(cell, bool):
        return None
    if isinstance(cell, int):
        return Decimal(cell)
    if isinstance(cell, float):
        return Decimal(repr(cell))  # Excel's number as it shows it (0.1, not 0.1000000000000000055)
    text = _text(cell).strip()
    if text in _DASHES:
        return Decimal(0)
    sign = -1 if text[:1] in ("-", "\u2212") else 1  # refused by the caller, naming the line
    try:
        return sign * amounts.parse_amount(text[1:] if sign < 0 else text, "RUB").value
    except amounts.AmountError:
        return None


def _currency(cell: object) -> str:
    text = _text(cell).strip(". ").lower()
    return CURRENCIES.get(text, text.upper())


Rows = Iterator[tuple[int, list[Any]]]


def _decode(data: bytes) -> str:
    try:
        if data.startswith((b"\xff\xfe", b"\xfe\xff")):  # Google Ads' «Excel .csv»: UTF-16 with its mark
            return data.decode("utf-16")
        if data.startswith(b"\xef\xbb\xbf"):
            return data[3:].decode("utf-8")
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            return data.decode("cp1251")  # Excel's «CSV» on a Russian Windows
    except UnicodeDecodeError as exc:
        raise CostFileError([Problem("encoding")]) from exc


def _csv_sources(data: bytes) -> list[Callable[[], Rows]]:
    """The file read with each separator, the likeliest first: «;», then tab (a comma may be a decimal one)."""
    text = _decode(data)

    def rows(delimiter: str) -> Rows:
        reader = csv.reader(io.StringIO(text), delimiter=delimiter)
        for row in reader:
            yield reader.line_num, row  # the file's own line number (a quoted cell may span lines)

    return [partial(rows, delimiter) for delimiter in (";", "\t", ",")]


def _xlsx_rows(data: bytes) -> Rows:
    from openpyxl import load_workbook  # only for Excel books: the server starts without loading it

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise CostFileError([Problem("book")]) from exc
    try:
        sheet = book.worksheets[0]
        for number, row in enumerate(sheet.iter_rows(max_col=MAX_COLUMNS, values_only=True), start=1):
            yield number, list(row)
    finally:
        book.close()


def is_xlsx(name: str, data: bytes) -> bool:
    return name.lower().endswith(".xlsx") or data.startswith(b"PK\x03\x04")


@dataclass
class _Table:
    header_line: int
    header: list[Any]
    columns: dict[str, int]
    rows: Rows  # the lines after the header


def _table(sources: list[Callable[[], Rows]], source_given: bool) -> _Table:
    """The first line naming a date, a campaign and a cost among the first MAX_TITLE_LINES, in the first reading
    of the file (separator) that has one; else CostFileError naming the columns missing from the likeliest."""
    best: tuple[int, dict[str, int]] = (-1, {})  # the most columns named by one line, the earliest of equals
    for make_rows in sources:
        rows = make_rows()
        head = list(islice(((n, row) for n, row in rows if any(_text(c) for c in row)), MAX_TITLE_LINES))
        for position, (number, row) in enumerate(head):
            columns = _columns(row)
            if all(c in columns for c in ("day", "campaign", "amount")):
                return _Table(number, row, columns, chain(head[position + 1 :], rows))
            score = sum(c in columns for c in REQUIRED)
            if score > best[0]:
                best = (score, columns)
    wanted = [c for c in REQUIRED if c != "source" or not source_given]
    missing = [c for c in wanted if c not in best[1]]
    raise CostFileError([Problem("columns", {"missing": missing})])


def read_cost_file(data: bytes, name: str, currency: str, source: str | None = None) -> CostImport:
    """Every line of spend in the file as costs in `currency`, `source` naming the source of lines without one;
    or CostFileError naming what is wrong (up to MAX_ERRORS)."""
    if len(data) > MAX_BYTES:
        raise CostFileError([Problem("too_big", {"limit": MAX_BYTES // (1024 * 1024)})])
    sources: list[Callable[[], Rows]] = [lambda: _xlsx_rows(data)] if is_xlsx(name, data) else _csv_sources(data)
    table = _table(sources, bool((source or "").strip()))
    try:
        given = given_source(source)
    except CostFileError:
        if "source" not in table.columns:
            raise
        given = None  # a file with its own sources: the caption was a note («расходы за ноябрь»), not a source
    if "source" not in table.columns and given is None:
        raise CostFileError([Problem("no_source", {"examples": SOURCE_EXAMPLES})])
    header_currency = _header_currency(table.header[table.columns["amount"]])
    if header_currency is not None and header_currency != currency:
        raise CostFileError(
            [Problem("currency", {"line": table.header_line, "value": header_currency, "currency": currency})]
        )
    problems: list[Problem] = []
    sums: dict[tuple[date, str, str, str], Cost] = {}
    lines = 0
    for number, row in table.rows:
        if not any(_text(cell) for cell in row) or _is_total(row, table.columns):
            continue
        lines += 1
        if lines > MAX_ROWS:
            raise CostFileError([Problem("too_many_rows", {"limit": MAX_ROWS})])
        cost = _cost(number, row, table.columns, currency, given, problems)
        if cost is None:
            if len(problems) >= MAX_ERRORS:
                break
            continue
        key = (cost.day, cost.source, cost.campaign_id or cost.campaign, cost.campaign)
        if key in sums:
            cost = cost.model_copy(update={"amount": sums[key].amount + cost.amount})
        sums[key] = cost
    if problems:
        raise CostFileError(problems)
    if not sums:
        raise CostFileError([Problem("empty")])
    return CostImport(costs=list(sums.values()), lines=lines)


def _cell(row: Sequence[Any], columns: dict[str, int], column: str) -> Any:
    index = columns.get(column)
    return row[index] if index is not None and index < len(row) else None


def _is_total(row: Sequence[Any], columns: dict[str, int]) -> bool:
    """«Итого», «Всего: 3 кампании», "Total: Account", "Total rows: 42" — a line of sums, not of a day."""
    first = next((_text(cell) for cell in row if _text(cell)), "")
    labels = (first, _text(_cell(row, columns, "day")), _text(_cell(row, columns, "campaign")))
    return any(_TOTALS.match(label) for label in labels) and parse_day(_cell(row, columns, "day")) is None


def _cost(
    number: int,
    row: Sequence[Any],
    columns: dict[str, int],
    currency: str,
    given: str | None,
    problems: list[Problem],
) -> Cost | None:
    def cell(column: str) -> Any:
        return _cell(row, columns, column)

    found = len(problems)
    day = parse_day(cell("day"))
    if day is None:
        problems.append(Problem("date", {"line": number, "value": _text(cell("day"))}))
    elif "day_end" in columns and (end := parse_day(cell("day_end"))) is not None and end != day:
        problems.append(
            Problem("period", {"line": number, "first": _text(cell("day")), "last": _text(cell("day_end"))})
        )
    source = _text(cell("source")).lower() or given
    if not source:
        problems.append(Problem("source", {"line": number}))
    campaign = _text(cell("campaign"))
    if not campaign:
        problems.append(Problem("campaign", {"line": number}))
    amount = parse_amount(cell("amount"))
    if amount is None:
        key = "amount" if _text(cell("amount")) else "no_amount"
        problems.append(Problem(key, {"line": number, "value": _text(cell("amount"))}))
    elif amount < 0:
        problems.append(Problem("negative", {"line": number, "value": _text(cell("amount"))}))
    written = _currency(cell("currency")) if "currency" in columns and _text(cell("currency")) else currency
    if written != currency:
        problems.append(Problem("currency", {"line": number, "value": written, "currency": currency}))
    if len(problems) > found or day is None or amount is None or not source:
        return None
    return Cost(
        day=day,
        source=source,
        campaign=campaign,
        campaign_id=_text(cell("campaign_id")) or None,
        amount=amount,
        currency=currency,
        origin=ORIGIN,
    )


async def import_cost_file(
    store: Store, data: bytes, name: str, currency: str, source: str | None = None
) -> CostImport:
    """Read the whole file, then store it in one write: a bad file changes nothing."""
    imported = read_cost_file(data, name, currency, source)
    await store.save_costs(imported.costs)
    return imported
