"""An Excel workbook (.xlsx) of a period: one sheet per report and one of the dialogs, in the asker's language.

Written with XlsxWriter in constant-memory mode: each row goes to a temporary file as it is written, so a
big period costs disk, not memory. Text is always written as text (never parsed as a formula, a number
or a link), so nothing a customer typed can run in the owner's spreadsheet; counts are numbers, dates
are Excel dates. The dialogs sheet is bounded (`MAX_ROWS`): the file and the bot's message say when it
was cut.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Sequence
from contextlib import aclosing
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal, cast
from zoneinfo import ZoneInfo

from xlsxwriter import Workbook
from xlsxwriter.format import Format
from xlsxwriter.worksheet import Worksheet

from reports import counts
from reports.counts import Comparison, Dynamics, PeriodTotals, Ranking, TagFilter, tag_query
from reports.export import EXPORT_FIELDS, PAGE_SIZE, Cell, DialogFilter, iter_dialogs, people_record, team_record
from reports.i18n import WORDS, Lang, field_label, number, period_label, value_label, word
from reports.money import MONEY_FIELDS, Figures, Joined, MoneyColumns, columns_of, joined, joined_leads, spend_key
from reports.periods import Period
from reports.tag_words import tag_note
from tracking.periods import bucket_start
from tracking.store.base import Bucket, Store
from tracking.team import reply_windows

MAX_ROWS = 50_000  # dialogs in one workbook: 5 MB (Telegram takes 50 MB from a bot), some 10–30 s to write
RANKING_ROWS = counts.MAX_LIMIT
MAX_DAY_BUCKETS = counts.MAX_BUCKETS  # a longer period is shown by month
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

# The sheet a report's button opens the workbook on.
Focus = Literal["summary", "channels", "sources", "campaigns", "pages", "landing", "dynamics", "comparison", "dialogs"]

# Column widths (characters) of the dialogs sheet; other fields get DEFAULT_WIDTH.
WIDTHS: dict[str, int] = {
    "id": 34,
    "started": 17,
    "contact_name": 24,
    "contact_phone": 18,
    "contact_id": 18,
    "business_number": 18,
    "channel": 26,
    "campaign": 24,
    "content": 20,
    "term": 20,
    "referrer": 36,
    "landing_page": 40,
    "contact_page": 40,
    "tags": 20,
    "status": 30,
    "status_reason": 36,
    "first_message": 50,
    "last_message": 17,
    "started_at_utc": 17,
    "taken_by": 20,
    "taken_at": 17,
    "answered_at": 17,
    "first_response_minutes": 12,
    "answer_state": 14,
}
DEFAULT_WIDTH = 13
# The ranking sheets: the field, the sheet's focus name and the word of its name.
RANKINGS = (
    ("channel", "channels", "channels"),
    ("source", "sources", "sheet_sources"),
    ("campaign", "campaigns", "sheet_campaigns"),
    ("contact_page", "pages", "pages_contact"),
    ("landing_page", "landing", "pages_landing"),
)
DATE_FORMATS: dict[Lang, str] = {"ru": "dd.mm.yyyy hh:mm", "en": "yyyy-mm-dd hh:mm"}
DAY_FORMATS: dict[Lang, str] = {"ru": "dd.mm.yyyy", "en": "yyyy-mm-dd"}


@dataclass(frozen=True)
class ExportFile:
    data: bytes
    filename: str
    rows: int  # dialogs written
    total: int  # dialogs of the period under the filter

    @property
    def cut(self) -> bool:
        return self.rows < self.total


@dataclass
class _Formats:
    header: Format
    date: Format
    day: Format
    share: Format
    bold: Format


def _formats(book: Workbook, lang: Lang) -> _Formats:
    return _Formats(
        header=book.add_format({"bold": True, "bg_color": "#EEEEEE", "bottom": 1, "text_wrap": True}),
        date=book.add_format({"num_format": DATE_FORMATS[lang]}),
        day=book.add_format({"num_format": DAY_FORMATS[lang]}),
        share=book.add_format({"num_format": "0%"}),
        bold=book.add_format({"bold": True}),
    )


def _put(sheet: Worksheet, row: int, col: int, value: Cell | float, formats: _Formats) -> None:
    """One cell by its type: text stays text whatever it looks like; dates are Excel dates."""
    if value is None or value == "":
        return
    if isinstance(value, datetime):
        sheet.write_datetime(row, col, value, formats.date)
    elif isinstance(value, date):
        sheet.write_datetime(row, col, datetime.combine(value, datetime.min.time()), formats.day)
    elif isinstance(value, bool):
        sheet.write_boolean(row, col, value)
    elif isinstance(value, int | float):
        sheet.write_number(row, col, value)
    elif isinstance(value, Decimal):  # money: a number the spreadsheet sums
        sheet.write_number(row, col, float(value))
    else:
        sheet.write_string(row, col, str(value))


def _header(sheet: Worksheet, names: Sequence[str], widths: Sequence[int], formats: _Formats) -> None:
    for col, (name, width) in enumerate(zip(names, widths, strict=True)):
        sheet.set_column(col, col, width)
        sheet.write_string(0, col, name, formats.header)
    sheet.freeze_panes(1, 0)


def sheet_name(lang: Lang, key: str) -> str:
    """A sheet's name: Excel takes at most 31 characters and none of []:*?/\\."""
    name = word(lang, key)
    return "".join(c for c in name if c not in "[]:*?/\\")[:31]


class _Book:
    """The workbook being written, sheet by sheet (each sheet's rows in order, as constant memory wants)."""

    def __init__(self, lang: Lang) -> None:
        self.lang = lang
        self.output = io.BytesIO()
        self.book = Workbook(
            self.output,
            {
                "constant_memory": True,
                "strings_to_formulas": False,
                "strings_to_numbers": False,
                "strings_to_urls": False,
            },
        )
        self.formats = _formats(self.book, lang)
        self.sheets: dict[str, Worksheet] = {}

    def sheet(self, focus: str, key: str) -> Worksheet:
        sheet = self.book.add_worksheet(sheet_name(self.lang, key))
        self.sheets[focus] = sheet
        return sheet

    def close(self, focus: str) -> bytes:
        chosen = self.sheets.get(focus)
        if chosen is not None:
            chosen.activate()
        self.book.close()
        return self.output.getvalue()


def _summary_sheet(
    book: _Book, report: PeriodTotals, compare_with: Period | None, created: datetime, notes: list[str]
) -> None:
    lang, f = book.lang, book.formats
    sheet = book.sheet("summary", "summary")
    sheet.set_column(0, 0, 28)
    sheet.set_column(1, 1, 40)
    t = report.totals
    rows: list[tuple[str, Cell | float]] = [
        (word(lang, "period"), period_label(lang, report.period)),
        (word(lang, "dialogs"), t.dialogs),
        (word(lang, "new"), t.new),
        (word(lang, "repeat"), t.repeat),
    ]
    if compare_with is not None:
        rows.append((word(lang, "vs"), period_label(lang, compare_with)))
    for key, wanted in report.filters.items():
        rows.append((f"{word(lang, 'filters')}: {field_label(lang, key)}", value_label(lang, key, wanted)))
    rows.append((word(lang, "created"), created.replace(tzinfo=None, microsecond=0)))
    for i, (name, value) in enumerate(rows):
        sheet.write_string(i, 0, name, f.bold)
        _put(sheet, i, 1, value, f)
    if t.dialogs:
        sheet.write_number(2, 2, t.new / t.dialogs, f.share)
        sheet.write_number(3, 2, t.repeat / t.dialogs, f.share)
    for i, line in enumerate(notes, len(rows) + 1):
        sheet.write_string(i, 0, line, f.bold)


def _ranking_sheet(book: _Book, focus: str, key: str, report: Ranking, money: MoneyColumns | None = None) -> None:
    """A ranking, with its money after the counts (spend, sales, revenue, cost per lead and sale, ROMI: numbers,
    empty where unknown) when `money` is given."""
    lang, f = book.lang, book.formats
    sheet = book.sheet(focus, key)
    first_width = 60 if report.by in ("contact_page", "landing_page") else 30
    names = [field_label(lang, report.by), word(lang, "dialogs"), word(lang, "new"), word(lang, "repeat")]
    extra = [field_label(lang, name) for name in MONEY_COLUMNS] if money is not None else []
    _header(sheet, [*names, word(lang, "share"), *extra], [first_width, 11, 11, 11, 9, *(13 for _ in extra)], f)
    row = 0
    for row, r in enumerate(report.rows, 1):
        sheet.write_string(row, 0, value_label(lang, report.by, r.value))
        for col, n in enumerate((r.totals.dialogs, r.totals.new, r.totals.repeat), 1):
            sheet.write_number(row, col, n)
        sheet.write_number(row, 4, r.share, f.share)
        if money is not None:
            _money_cells(sheet, row, money.figures(r.value, r.totals.dialogs), money.sales_known, f)
    if report.rest.dialogs:
        row += 1
        sheet.write_string(row, 0, word(lang, "rest"))
        for col, n in enumerate((report.rest.dialogs, report.rest.new, report.rest.repeat), 1):
            sheet.write_number(row, col, n)
    row += 1
    sheet.write_string(row, 0, word(lang, "total"), f.bold)
    for col, n in enumerate((report.total.dialogs, report.total.new, report.total.repeat), 1):
        sheet.write_number(row, col, n, f.bold)
    if money is not None:
        _money_cells(sheet, row, replace(money.total, leads=report.total.dialogs), True, f)


MONEY_COLUMNS = ("spend", "sales", "revenue", "cost_per_lead", "cost_per_sale", "romi")


def _money_cells(sheet: Worksheet, row: int, figures: Figures, sales_known: bool, f: _Formats) -> None:
    """A row's money from column 5: numbers the spreadsheet sums (ROMI a percentage); empty where unknown."""
    values: tuple[Decimal | int | None, ...] = (
        figures.spend,
        figures.sales if sales_known else None,
        figures.revenue if sales_known else None,
        figures.cost_per_lead,
        figures.cost_per_sale,
    )
    for col, value in enumerate(values, 5):
        if value is not None:
            sheet.write_number(row, col, float(round(Decimal(value), 2)))
    if figures.romi is not None:
        sheet.write_number(row, 10, float(round(figures.romi, 4)), f.share)


def _costs_sheet(book: _Book, data: Joined) -> None:
    """«Расходы»: every cost of the period's days, with the leads its campaign (or ad) joined."""
    lang, f = book.lang, book.formats
    sheet = book.sheet("costs", "sheet_costs")
    names = ("day", "source", "campaign", "campaign_id", "ad_id", "amount", "currency", "origin", "joined_leads")
    headers = [word(lang, "day"), *(field_label(lang, n) for n in names[1:])]
    _header(sheet, headers, [12, 14, 30, 16, 16, 13, 9, 10, 13], f)
    leads = joined_leads(data)
    for row, cost in enumerate(data.costs, 1):
        sheet.write_datetime(row, 0, datetime.combine(cost.day, datetime.min.time()), f.day)
        for col, text in enumerate((cost.source, cost.campaign, cost.campaign_id, cost.ad_id), 1):
            if text:
                sheet.write_string(row, col, text)
        sheet.write_number(row, 5, float(cost.amount))
        sheet.write_string(row, 6, cost.currency)
        sheet.write_string(row, 7, WORDS[lang].get(f"origin_{cost.origin}", cost.origin))
        sheet.write_number(row, 8, leads.get(spend_key(cost.source, cost.campaign, cost.campaign_id, cost.ad_id), 0))


def _dynamics_sheet(book: _Book, report: Dynamics) -> None:
    lang, f = book.lang, book.formats
    sheet = book.sheet("dynamics", "sheet_by_day" if report.bucket is Bucket.DAY else "dynamics")
    names = [word(lang, "day" if report.bucket is Bucket.DAY else "period"), word(lang, "total")]
    names += [word(lang, "other") if s.other else value_label(lang, report.by, s.value) for s in report.series]
    _header(sheet, names, [12, 9, *(max(12, min(len(n) + 2, 30)) for n in names[2:])], f)
    for row, key in enumerate(report.buckets, 1):
        first = bucket_start(report.bucket.value, key)
        sheet.write_datetime(row, 0, datetime.combine(first, datetime.min.time()), f.day)
        sheet.write_number(row, 1, report.totals[row - 1])
        for col, series in enumerate(report.series, 2):
            sheet.write_number(row, col, series.points[row - 1])


def _comparison_sheet(book: _Book, report: Comparison) -> None:
    lang, f = book.lang, book.formats
    sheet = book.sheet("comparison", "comparison")
    a, b = period_label(lang, report.a), period_label(lang, report.b)
    _header(sheet, [field_label(lang, report.by), a, b, word(lang, "change"), "%"], [30, 22, 22, 12, 9], f)
    totals = [
        (word(lang, "dialogs"), report.dialogs),
        (word(lang, "new"), report.new),
        (word(lang, "repeat"), report.repeat),
    ]
    rows = [*totals, *((value_label(lang, report.by, r.value), r.dialogs) for r in report.rows)]
    for row, (name, change) in enumerate(rows, 1):
        sheet.write_string(row, 0, name, f.bold if row <= len(totals) else None)
        sheet.write_number(row, 1, change.a)
        sheet.write_number(row, 2, change.b)
        sheet.write_number(row, 3, change.delta)
        if change.ratio is not None:
            sheet.write_number(row, 4, change.ratio, f.share)


def _dialog_rows(sheet: Worksheet, first_row: int, records: list[dict[str, Cell]], formats: _Formats) -> None:
    for row, record in enumerate(records, first_row):
        for col, value in enumerate(record.values()):
            _put(sheet, row, col, value, formats)


async def _dialogs_sheet(
    book: _Book,
    store: Store,
    period: Period,
    zone: ZoneInfo,
    keep: DialogFilter,
    max_rows: int,
    note: str | None,
) -> int:
    """The dialogs, oldest first, at most `max_rows`; written a page at a time off the event loop."""
    lang, f = book.lang, book.formats
    sheet = book.sheet("dialogs", "dialogs")
    names, widths = [field_label(lang, n) for n in EXPORT_FIELDS], [WIDTHS.get(n, DEFAULT_WIDTH) for n in EXPORT_FIELDS]
    _header(sheet, names, widths, f)
    windows = reply_windows(await store.reply_sources())
    written, page = 0, list[dict[str, Cell]]()
    async with aclosing(iter_dialogs(store, period, PAGE_SIZE, keep)) as dialogs:
        async for dialog in dialogs:
            if written + len(page) >= max_rows:
                break
            page.append({**people_record(dialog, zone, lang), **team_record(dialog, windows, zone, lang)})
            if len(page) == PAGE_SIZE:
                await asyncio.to_thread(_dialog_rows, sheet, written + 1, page, f)
                written, page = written + len(page), []
    if page:
        await asyncio.to_thread(_dialog_rows, sheet, written + 1, page, f)
        written += len(page)
    if written:
        sheet.autofilter(0, 0, written, len(EXPORT_FIELDS) - 1)
    if note is not None:
        sheet.write_string(written + 2, 0, note, f.bold)
    return written


def export_filename(period: Period, lang: Lang) -> str:
    return f"{'dialogi' if lang == 'ru' else 'dialogs'}-{period.label}.xlsx"


async def export_workbook(
    store: Store,
    period: Period,
    zone: ZoneInfo,
    lang: Lang,
    *,
    now: datetime,
    filters: dict[str, str] | None = None,
    tags: TagFilter | None = None,
    include_probable: bool = True,
    compare_with: Period | None = None,
    focus: Focus = "summary",
    max_rows: int = MAX_ROWS,
    currency: str = "RUB",
) -> ExportFile:
    """The workbook of `period`: summary, channels, sources, campaigns, pages of contact and landing pages,
    dynamics (by day; by month past MAX_DAY_BUCKETS days), the comparison with `compare_with` when given,
    and the dialogs. `filters` and `tags` (spam left out by default, as in the reports) pick the dialogs of
    every sheet alike."""
    checked, without = tag_query(filters, tags)
    keep = DialogFilter(checked, tuple(without))
    options: dict[str, Any] = {"filters": filters, "tags": tags, "include_probable": include_probable}
    bucket = Bucket.DAY if period.days <= MAX_DAY_BUCKETS else Bucket.MONTH
    totals, trend, money, *rankings = await asyncio.gather(
        counts.summary(store, period, **options),
        counts.dynamics(store, period, bucket, top=None, **options),
        joined(store, period, currency=currency, **options),
        *(counts.ranking(store, period, by, limit=RANKING_ROWS, **options) for by, _, _ in RANKINGS),
    )
    spent = cast(Joined, money)
    summary = cast(PeriodTotals, totals)
    comparison = None
    if compare_with is not None:
        comparison = await counts.compare(store, period, compare_with, limit=RANKING_ROWS, **options)
    total = summary.totals.dialogs
    note = None
    if total > max_rows:
        note = word(lang, "export_cut").format(shown=number(lang, max_rows), total=number(lang, total))
    only = tags.only if tags is not None else None
    notes = tag_note(lang, only, summary.tags, comparison.tags_b if comparison is not None else None)
    book = _Book(lang)
    _summary_sheet(book, summary, compare_with, now.astimezone(zone), [*notes, *([note] if note else [])])
    for (_, focus_of, key), ranked in zip(RANKINGS, rankings, strict=True):
        ranking = cast(Ranking, ranked)
        columns = columns_of(spent, ranking.by, currency) if ranking.by in MONEY_FIELDS else None
        _ranking_sheet(book, focus_of, key, ranking, columns)
    _dynamics_sheet(book, cast(Dynamics, trend))
    if comparison is not None:
        _comparison_sheet(book, comparison)
    if spent.costs:
        _costs_sheet(book, spent)
    rows = await _dialogs_sheet(book, store, period, zone, keep, max_rows, note)
    data = await asyncio.to_thread(book.close, focus)
    return ExportFile(data, export_filename(period, lang), rows, max(total, rows))
