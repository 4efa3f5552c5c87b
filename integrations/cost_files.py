"""Ad spend from a file the owner made: VK Ads, Google Ads, Avito, a blogger — any platform without an import.

A CSV (UTF-8 with or without BOM, or Windows-1251; `;`, `,` or tab between columns) or an Excel book (.xlsx,
its first sheet) whose first line names the columns: date, source, campaign, cost — in Russian or English
(«Дата», «Источник», «Кампания», «Расход» or «Сумма»), with an optional campaign id and currency. Amounts
may have a decimal comma or dot and spaces between thousands; dates are 01.11.2026, 2026-11-01 or 01.11.26.

All or nothing: every line is read first, and any line that is wrong stops the import with the line named
(«Строка 7: не понял дату «31.02.2026»»): nothing of a bad file is stored. Lines of one day, source and
campaign are added up (a file may list a campaign's ad groups apart). A re-import of a day replaces its
figures (Store.save_costs). Errors are keys of bot/texts.py (`costs_error_*`) with their values, so the bot
and the CLI say them in the owner's language.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from tracking import amounts
from tracking.models import Cost
from tracking.store.base import Store

ORIGIN = "file"
MAX_BYTES = 5 * 1024 * 1024  # a year of daily spend of a hundred campaigns is ~2 MB of CSV
MAX_ROWS = 20_000
MAX_ERRORS = 5  # problems named at once: enough to fix a file in one go, short enough to read
MAX_COLUMNS = 30
EXCEL_EPOCH = date(1899, 12, 30)  # a date cell without its format reads as days since this

# Column names as owners write them (lower case, «ё» as «е», punctuation and units dropped).
COLUMNS: dict[str, tuple[str, ...]] = {
    "day": ("дата", "день", "date", "day"),
    "source": ("источник", "площадка", "рекламная система", "канал", "source", "platform", "utm source"),
    "campaign": ("кампания", "название кампании", "campaign", "campaign name", "utm campaign"),
    "amount": ("расход", "расходы", "сумма", "затраты", "стоимость", "cost", "spend", "amount"),
    "campaign_id": ("id кампании", "ид кампании", "номер кампании", "campaign id", "campaign_id"),
    "currency": ("валюта", "currency"),
}
REQUIRED = ("day", "source", "campaign", "amount")
CURRENCY_SIGNS = {"₽": "RUB", "руб": "RUB", "р": "RUB", "$": "USD", "€": "EUR", "£": "GBP", "₸": "KZT", "тг": "KZT"}
_DATE_FORMATS = ("%d.%m.%Y", "%Y-%m-%d", "%d.%m.%y", "%d/%m/%Y", "%Y.%m.%d")


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


def _header_name(cell: object) -> str:
    text = str(cell or "").replace("\ufeff", "").strip().lower().replace("ё", "е")
    text = re.sub(r"\(.*?\)|,.*$", "", text)  # «Расход (руб.)», «Сумма, ₽»
    return re.sub(r"[^\w ]+", " ", text).replace("_", " ").strip()


def _columns(header: Sequence[object]) -> dict[str, int]:
    found: dict[str, int] = {}
    for index, cell in enumerate(header):
        name = _header_name(cell)
        for column, names in COLUMNS.items():
            aliases = {alias.replace("_", " ") for alias in names}
            if column not in found and (name in aliases or any(name.startswith(a + " ") for a in aliases)):
                found[column] = index
                break
    return found


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
    text = _text(cell).split(" ")[0]  # «01.11.2026 0:00:00» from some exports
    for form in _DATE_FORMATS:
        try:
            day = datetime.strptime(text, form).date()
        except ValueError:
            continue
        return day if 2000 <= day.year <= 2100 else None
    return None


def parse_amount(cell: object) -> Decimal | None:
    """12 000,50 · 12000.50 · 12,000.50 · 12.000,50 · «12 000 ₽»: exact, never through a float's digits. Text is
    read as the bot reads a sale's amount (tracking/amounts.py), so «12,000» is twelve thousand in both."""
    if isinstance(cell, bool):
        return None
    if isinstance(cell, int):
        return Decimal(cell)
    if isinstance(cell, float):
        return Decimal(repr(cell))  # Excel's number as it shows it (0.1, not 0.1000000000000000055)
    text = _text(cell).strip()
    sign = -1 if text[:1] in ("-", "\u2212") else 1  # refused by the caller, naming the line
    try:
        return sign * amounts.parse_amount(text[1:] if sign < 0 else text, "RUB").value
    except amounts.AmountError:
        return None


def _currency(cell: object) -> str:
    text = _text(cell).strip(". ").lower()
    return CURRENCY_SIGNS.get(text, text.upper())


def _csv_rows(data: bytes) -> Iterator[tuple[int, list[str]]]:
    if data.startswith(b"\xef\xbb\xbf"):
        text = data[3:].decode("utf-8", errors="strict")
    else:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            text = data.decode("cp1251")  # Excel's «CSV» on a Russian Windows
    first = next((line for line in text.splitlines() if line.strip()), "")
    delimiter = max((";", "\t", ","), key=first.count)  # ties: «;» then tab (a comma may be a decimal one)
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    for row in reader:
        yield reader.line_num, row


def _xlsx_rows(data: bytes) -> Iterator[tuple[int, list[Any]]]:
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


def read_cost_file(data: bytes, name: str, currency: str) -> CostImport:
    """Every line of the file as costs in `currency`, or CostFileError naming what is wrong (up to MAX_ERRORS)."""
    if len(data) > MAX_BYTES:
        raise CostFileError([Problem("too_big", {"limit": MAX_BYTES // (1024 * 1024)})])
    rows = _xlsx_rows(data) if is_xlsx(name, data) else _csv_rows(data)
    problems: list[Problem] = []
    columns: dict[str, int] | None = None
    sums: dict[tuple[date, str, str, str], Cost] = {}
    lines = 0
    for number, row in rows:
        if not any(_text(cell) for cell in row):
            continue
        if columns is None:
            columns = _columns(row)
            missing = [c for c in REQUIRED if c not in columns]
            if missing:
                raise CostFileError([Problem("columns", {"missing": missing})])
            continue
        lines += 1
        if lines > MAX_ROWS:
            raise CostFileError([Problem("too_many_rows", {"limit": MAX_ROWS})])
        cost = _cost(number, row, columns, currency, problems)
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


def _cost(
    number: int, row: Sequence[Any], columns: dict[str, int], currency: str, problems: list[Problem]
) -> Cost | None:
    def cell(column: str) -> Any:
        index = columns.get(column)
        return row[index] if index is not None and index < len(row) else None

    found = len(problems)
    day = parse_day(cell("day"))
    if day is None:
        problems.append(Problem("date", {"line": number, "value": _text(cell("day"))}))
    source = _text(cell("source")).lower()
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
    if len(problems) > found or day is None or amount is None:
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


async def import_cost_file(store: Store, data: bytes, name: str, currency: str) -> CostImport:
    """Read the whole file, then store it in one write: a bad file changes nothing."""
    imported = read_cost_file(data, name, currency)
    await store.save_costs(imported.costs)
    return imported
