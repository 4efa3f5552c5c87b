"""Excel files from the bot: /export [period] [tag words], and the «📥 Excel» button under every report.

The button's callback data carries the report and what it counted, compactly (Telegram allows 64 bytes):
`xl:<report>:<first>:<last>:<running>:<only tag>:<tags left out>:<b first>:<b last>`, days as YYMMDD. A
period that was still running when the report was shown runs to the moment the button is pressed, so the
file is never older than the report. The workbook itself is reports/xlsx.py.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from aiogram import Bot
from aiogram.filters.callback_data import CallbackData
from aiogram.types import BufferedInputFile, InlineKeyboardButton, InlineKeyboardMarkup

from bot.texts import text
from reports.counts import ReportError, TagFilter
from reports.i18n import Lang, number, period_label
from reports.periods import Period, Unit
from reports.xlsx import Focus, export_workbook
from tracking.store.base import Store

UPLOAD_LIMIT = 50 * 1024 * 1024  # Telegram's limit on a file a bot sends
CALLBACK_LIMIT = 64  # bytes of callback data Telegram accepts
DAY = "%y%m%d"

# One letter per report: the sheet the workbook opens on.
FOCUS: dict[str, Focus] = {
    "s": "summary",
    "c": "channels",
    "o": "sources",
    "m": "campaigns",
    "p": "pages",
    "l": "landing",
    "d": "dynamics",
    "v": "comparison",
    "x": "dialogs",
}
LETTER: dict[Focus, str] = {focus: letter for letter, focus in FOCUS.items()}
# The sheet of a /channels drill-down field.
DRILLDOWN_FOCUS: dict[str, Focus] = {"source": "sources", "campaign": "campaigns"}


class ExportCallback(CallbackData, prefix="xl"):
    r: str  # the report's letter (FOCUS)
    a: str  # first day, YYMMDD
    z: str  # last day
    run: int = 0  # 1: period a was running; 2: period b was cut at the same moment; 4: b was matched to a
    t: str = ""  # the only tag counted
    w: str = ""  # tags left out, comma-separated ("" none: unpacking gives defaults for empty fields)
    b: str = ""  # the compared period's first day
    y: str = ""  # its last day


def _day(value: date) -> str:
    return value.strftime(DAY)


def export_data(focus: Focus, period: Period, tags: TagFilter, compared: Period | None = None) -> str | None:
    """The button's callback data; None when it does not fit Telegram's 64 bytes (or a tag holds a ':')."""
    running = 1 if period.running else 0
    if compared is not None:  # cut at the same moment as the running period, or compared whole
        running |= (2 if compared.cut else 0) | (4 if compared.matched else 0)
    try:
        data = ExportCallback(
            r=LETTER[focus],
            a=_day(period.first),
            z=_day(period.last),
            run=running,
            t=tags.only or "",
            w=",".join(tags.without),
            b=_day(compared.first) if compared is not None else "",
            y=_day(compared.last) if compared is not None else "",
        ).pack()
    except ValueError:  # a separator in a tag
        return None
    return data if len(data.encode()) <= CALLBACK_LIMIT else None


def export_keyboard(
    lang: Lang, focus: Focus, period: Period, tags: TagFilter, compared: Period | None = None
) -> InlineKeyboardMarkup | None:
    """The «📥 Excel» button under a report (None when its data cannot fit)."""
    data = export_data(focus, period, tags, compared)
    if data is None:
        return None
    button = InlineKeyboardButton(text=text(lang, "export_button"), callback_data=data)
    return InlineKeyboardMarkup(inline_keyboard=[[button]])


def pressed(data: ExportCallback, zone: ZoneInfo, now: datetime) -> tuple[Focus, Period, Period | None, TagFilter]:
    """What a pressed button asks for. A running period runs to `now`; the compared one, cut the same way,
    to the same moment of its own days. ValueError for data no button of ours carries."""
    first, last = (datetime.strptime(v, DAY).date() for v in (data.a, data.z))
    if last < first or data.r not in FOCUS:
        raise ValueError("not an export button")
    period = Period(first, last, zone, Unit.SPAN, until=now if data.run & 1 else None)
    compared = None
    if data.b and data.y:
        b_first, b_last = (datetime.strptime(v, DAY).date() for v in (data.b, data.y))
        until = now - timedelta(days=(first - b_first).days) if data.run & 2 else None
        compared = Period(b_first, b_last, zone, Unit.SPAN, until=until, matched=bool(data.run & 4))
    tags = TagFilter(only=data.t or None, without=tuple(t for t in data.w.split(",") if t))
    return FOCUS[data.r], period, compared, tags


async def send_export(
    bot: Bot,
    chat_id: int,
    store: Store,
    zone: ZoneInfo,
    lang: Lang,
    *,
    now: datetime,
    period: Period,
    tags: TagFilter,
    focus: Focus = "summary",
    compared: Period | None = None,
    currency: str = "RUB",
) -> None:
    """Build the workbook and send it as a document; say so when the dialogs sheet was cut."""
    await bot.send_chat_action(chat_id, "upload_document")
    try:
        file = await export_workbook(
            store, period, zone, lang, now=now, tags=tags, compare_with=compared, focus=focus, currency=currency
        )
    except ReportError:
        await bot.send_message(chat_id, text(lang, "export_failed"))
        return
    if len(file.data) > UPLOAD_LIMIT:
        await bot.send_message(chat_id, text(lang, "export_failed"))
        return
    caption = text(lang, "export_caption", period=period_label(lang, period), count=number(lang, file.total))
    if file.cut:
        caption += "\n" + text(lang, "export_cut", shown=number(lang, file.rows), total=number(lang, file.total))
    await bot.send_document(chat_id, BufferedInputFile(file.data, filename=file.filename), caption=caption)
