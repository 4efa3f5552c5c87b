"""Excel files from the bot through the local Bot API double: /export with a period and tag words, and the
«📥 Excel» button under every report (its callback data within Telegram's 64 bytes), read back with openpyxl."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import datetime

import openpyxl
from openpyxl.workbook.workbook import Workbook

from bot.export import ExportCallback, export_data, pressed
from reports.counts import TagFilter
from reports.periods import Unit, parse_period
from tests import test_bot_commands as bot_tests
from tests.fakes.telegram_api import ApiCall
from tests.seed import MOSCOW, seed_dialog, utc
from tests.test_bot_commands import NOW, OWNER, STAFF, BotAPI, Person, RunBot, add_staff, seed_week, shown
from tracking.models import Channel
from tracking.store.sqlite import SQLiteStore

api, run_bot = bot_tests.api, bot_tests.run_bot  # the shared fixtures (the store is conftest's)


def workbook(call: ApiCall) -> Workbook:
    data = call.params["document"]
    assert isinstance(data, bytes) and data.startswith(b"PK")  # a zip: the .xlsx container
    return openpyxl.load_workbook(io.BytesIO(data))


def dialog_rows(book: Workbook, sheet: str) -> list[tuple[object, ...]]:
    return [row for row in list(book[sheet].iter_rows(values_only=True))[1:] if row[1] is not None]


def excel_button(call: ApiCall) -> str:
    """The callback data of the «📥 Excel» button under a report's last message."""
    rows = call.params["reply_markup"]["inline_keyboard"]
    (button,) = [b for row in rows for b in row if b["text"] == "📥 Excel"]
    data = str(button["callback_data"])
    assert len(data.encode()) <= 64
    return data


async def test_export_a_named_month_in_russian(run_bot: RunBot, api: BotAPI, store: SQLiteStore) -> None:
    await seed_week(store)
    await seed_dialog(store, utc("2026-11-25 08:00"), channel=Channel.PAID_SEARCH, tags=["spam"])
    await run_bot(clock=lambda: NOW)
    owner = Person(api, OWNER, "ru", "Ирина")

    owner.says("/export ноябрь")
    sent = await owner.gets("sendDocument")

    assert sent.params["document_name"] == "dialogi-2026-11-01..2026-11-30.xlsx"
    assert shown(sent, "caption") == "Выгрузка для Excel · 1–26 ноя 2026 (пока)\nДиалогов: 6"  # spam left out
    book = workbook(sent)
    assert book.sheetnames[:2] == ["Сводка", "Каналы"] and book.sheetnames[-1] == "Диалоги"
    rows = dialog_rows(book, "Диалоги")
    assert len(rows) == 6 and rows[0][1] == datetime(2026, 11, 10, 15, 0)  # Nov 10, 15:00 in Moscow
    assert api.calls_to("sendChatAction")  # "sending a file…" while it is built

    owner.says("/export ноябрь со спамом")
    with_spam = await owner.gets("sendDocument")
    assert len(dialog_rows(workbook(with_spam), "Диалоги")) == 7


async def test_export_last_week_in_english_with_a_tag(run_bot: RunBot, api: BotAPI, store: SQLiteStore) -> None:
    await seed_week(store)
    await seed_dialog(store, utc("2026-11-17 08:00"), channel=Channel.REFERRAL, tags=["sale"])
    await add_staff(store)
    await run_bot(clock=lambda: NOW)
    maria = Person(api, STAFF, "en", "Maria")

    maria.says("/export last week sale")
    sent = await maria.gets("sendDocument")

    assert shown(sent, "caption") == "Excel export · Nov 16–22, 2026\nDialogs: 1"
    book = workbook(sent)
    assert book.sheetnames[0] == "Summary" and book.sheetnames[-1] == "Dialogs"
    header = next(book["Dialogs"].iter_rows(values_only=True))
    assert header[1] == "Date and time" and "Tags" in header
    (row,) = dialog_rows(book, "Dialogs")
    assert row[header.index("Tags")] == "Sale"


async def test_an_unknown_period_is_explained_and_sends_no_file(run_bot: RunBot, api: BotAPI) -> None:
    await run_bot(clock=lambda: NOW)
    owner = Person(api, OWNER, "en")

    owner.says("/export fortnight")

    assert "fortnight" in await owner.reads()
    assert api.calls_to("sendDocument") == []


async def test_the_excel_button_under_a_drill_down_sends_its_workbook(
    run_bot: RunBot, api: BotAPI, store: SQLiteStore
) -> None:
    await seed_week(store)
    await run_bot(clock=lambda: NOW)
    owner = Person(api, OWNER, "ru")

    owner.says("/channels кампании неделя")
    report = await owner.gets()
    owner.presses(excel_button(report), report.result)
    sent = await owner.gets("sendDocument")

    book = workbook(sent)
    assert book.active is not None and book.active.title == "Кампании"  # opens on the report pressed under
    assert len(dialog_rows(book, "Диалоги")) == 3  # the week so far, as the report counted it
    assert shown(sent, "caption").startswith("Выгрузка для Excel · 23–26 ноя 2026 (пока)")


async def test_every_report_has_the_button_and_compare_exports_both_periods(
    run_bot: RunBot, api: BotAPI, store: SQLiteStore
) -> None:
    await seed_week(store)
    await run_bot(clock=lambda: NOW)
    owner = Person(api, OWNER, "en")

    buttons = {}
    for command in ("/stats week", "/pages landing week", "/compare week"):
        owner.says(command)
        buttons[command] = ExportCallback.unpack(excel_button(await owner.gets()))
    owner.says("/report week")
    await owner.gets("sendPhoto")
    report = await owner.gets()
    buttons["/report week"] = ExportCallback.unpack(excel_button(report))

    assert [b.r for b in buttons.values()] == ["s", "l", "v", "d"]
    assert buttons["/compare week"].b == "261116" and buttons["/stats week"].w == "spam"
    owner.presses(ExportCallback.pack(buttons["/compare week"]), report.result)
    book = workbook(await owner.gets("sendDocument"))
    assert book.active is not None and book.active.title == "Comparison"
    header, dialogs, *_ = list(book["Comparison"].iter_rows(values_only=True))
    assert header[1] == "Nov 23–26, 2026 (so far)"
    assert str(header[2]).startswith("Nov 16–19, 2026") and "12:00" in str(header[2])  # cut as the report was
    assert dialogs[:3] == ("Dialogs", 3, 1)  # the earlier week cut at the same moment: Thursday noon


async def test_a_button_pressed_later_exports_up_to_the_press(run_bot: RunBot, api: BotAPI, store: SQLiteStore) -> None:
    await seed_week(store)
    moment = [NOW]
    await run_bot(clock=lambda: moment[0])
    owner = Person(api, OWNER, "ru")

    owner.says("/stats неделя")
    report = await owner.gets()
    moment[0] = utc("2026-11-26 12:00")  # the week's dialog of 10:00 UTC has come in since
    owner.presses(excel_button(report), report.result)
    sent = await owner.gets("sendDocument")

    assert len(dialog_rows(workbook(sent), "Диалоги")) == 4


def test_the_button_data_fits_telegrams_64_bytes_or_there_is_no_button() -> None:
    week = parse_period("2026-11-23..2026-11-29", MOSCOW, NOW)
    before = parse_period("2026-11-16..2026-11-22", MOSCOW, NOW)
    data = export_data("comparison", week, TagFilter(only="sale", without=("spam", "b2b")), before)
    assert data is not None and len(data.encode()) <= 64
    assert pressed(ExportCallback.unpack(data), MOSCOW, NOW) == (
        "comparison", replace(week, unit=Unit.SPAN), replace(before, unit=Unit.SPAN),
        TagFilter(only="sale", without=("spam", "b2b")),
    )  # fmt: skip
    assert export_data("summary", week, TagFilter(only="очень-длинный-тег-владельца-для-особых-клиентов")) is None
    assert export_data("summary", week, TagFilter(only="a:b")) is None  # the separator cannot travel
