"""Ad spend from the owner's files (integrations/cost_files.py): CSV in the encodings, separators and number
forms owners' programs write, Excel books, each mistake named by its line and nothing stored from a bad file;
`chattrack costs import FILE`, and the file sent to the bot by an owner (staff and strangers refused)."""

from __future__ import annotations

import io
import time
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from bot.costs import describe_import, describe_rejection
from integrations.cost_files import MAX_ROWS, CostFileError, import_cost_file, parse_amount, read_cost_file
from tests import test_bot_commands as bot_tests
from tests.test_bot_commands import OWNER, STAFF, STRANGER, BotAPI, Person, RunBot, add_staff, shown
from tracking.store.sqlite import SQLiteStore
from webhooks.cli import main

api, run_bot = bot_tests.api, bot_tests.run_bot  # the shared fixtures (the store is conftest's)

RUSSIAN_CSV = (
    "Дата;Источник;Кампания;Расход\n"
    "01.11.2026;VK;Осень — кухни;12 000,50\n"
    "02.11.2026;vk;Осень — кухни;1 234\n"
    "02.11.2026;avito;Объявления;500\n"
)


def problems(error: CostFileError) -> list[tuple[str, dict[str, object]]]:
    return [(p.key, p.values) for p in error.problems]


def xlsx(rows: list[list[Any]]) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


# reading ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "encoded",
    [
        RUSSIAN_CSV.encode("utf-8"),
        b"\xef\xbb\xbf" + RUSSIAN_CSV.encode("utf-8"),  # Excel's «CSV UTF-8»
        RUSSIAN_CSV.encode("cp1251"),  # Excel's «CSV» on a Russian Windows
        RUSSIAN_CSV.replace(";", "\t").encode("utf-8"),
        RUSSIAN_CSV.replace("\n", "\r\n").encode("utf-8"),
    ],
    ids=["utf8", "bom", "cp1251", "tabs", "crlf"],
)
def test_a_russian_csv_reads_the_same_in_every_encoding_and_separator(encoded: bytes) -> None:
    result = read_cost_file(encoded, "расходы.csv", "RUB")

    assert result.lines == 3
    assert sorted((str(c.day), c.source, c.campaign, c.amount) for c in result.costs) == [
        ("2026-11-01", "vk", "Осень — кухни", Decimal("12000.50")),
        ("2026-11-02", "avito", "Объявления", Decimal("500")),
        ("2026-11-02", "vk", "Осень — кухни", Decimal("1234")),
    ]
    assert {(c.origin, c.currency, c.campaign_id, c.ad_id) for c in result.costs} == {("file", "RUB", None, None)}
    assert (result.first, result.last) == (date(2026, 11, 1), date(2026, 11, 2))
    assert result.totals() == {"vk": Decimal("13234.50"), "avito": Decimal("500")}


def test_an_english_csv_with_commas_quotes_ids_and_other_date_forms() -> None:
    text = (
        "Date,Source,Campaign,Campaign ID,Cost,Currency\n"
        '2026-11-01,google,"Brand, search",123,"1,234.56",RUB\n'
        "01.11.26,google,Other,,0.5,₽\n"
    )

    result = read_cost_file(text.encode(), "spend.csv", "RUB")

    assert sorted((str(c.day), c.campaign, c.campaign_id, c.amount) for c in result.costs) == [
        ("2026-11-01", "Brand, search", "123", Decimal("1234.56")),
        ("2026-11-01", "Other", None, Decimal("0.5")),
    ]


def test_headers_with_units_and_sum_as_cost_are_understood() -> None:
    text = "дата;источник;название кампании;Сумма, ₽\n01.11.2026;Блогер;Обзор;15000\n"

    (cost,) = read_cost_file(text.encode(), "x.csv", "RUB").costs

    assert (cost.source, cost.campaign, cost.amount) == ("блогер", "Обзор", Decimal("15000"))


def test_lines_of_one_day_source_and_campaign_are_added_up() -> None:
    text = "Дата;Источник;Кампания;Расход\n01.11.2026;vk;Кухни;100\n01.11.2026;vk;Кухни;50,25\n"

    result = read_cost_file(text.encode(), "x.csv", "RUB")

    assert [c.amount for c in result.costs] == [Decimal("150.25")] and result.lines == 2


@pytest.mark.parametrize(
    ("written", "amount"),
    [
        ("12 000,50", "12000.50"),
        ("12\u00a0000,50 ₽", "12000.50"),
        ("12,000.50", "12000.50"),
        ("12.000,50", "12000.50"),
        ("1 234 567", "1234567"),
        ("99,9", "99.9"),
        ("0", "0"),
        ("15000 руб.", "15000"),
        ("12,000", "12000"),  # three digits after the comma: thousands, as the bot reads a sale
    ],
)
def test_amounts_as_owners_write_them(written: str, amount: str) -> None:
    assert parse_amount(written) == Decimal(amount)


def test_an_excel_book_with_real_dates_numbers_and_text_dates() -> None:
    data = xlsx(
        [
            ["Дата", "Источник", "Кампания", "Расход"],
            [datetime(2026, 11, 1), "VK", "Кухни", 1234.56],
            ["02.11.2026", "avito", "Шкафы", "2 000,10"],
            [None, None, None, None],  # an empty line is skipped
            [46329, "vk", "Кухни", 10],  # a date cell that lost its format: Excel's day number (3 Nov 2026)
        ]
    )

    result = read_cost_file(data, "расходы.xlsx", "RUB")

    assert sorted((str(c.day), c.source, c.amount) for c in result.costs) == [
        ("2026-11-01", "vk", Decimal("1234.56")),
        ("2026-11-02", "avito", Decimal("2000.10")),
        ("2026-11-03", "vk", Decimal("10")),
    ]


# ad platforms' own exports, as they are -----------------------------------------------------------------
# Layouts as the platforms write them (see docs/money.md): title lines before the header, the platforms' column
# names, totals lines, their number and date forms; none has a source column, so the source is given.

# Google Ads, Reports → Download → CSV: the report's name and period first, "Total: …" lines last, every metric
# column («Campaign status» before «Campaign», «Cost / conv.» after «Cost»), thousands with commas, «--» for none.
GOOGLE_ADS = (
    "Campaign report\n"
    '"November 1, 2026 - November 2, 2026"\n'
    "Campaign status,Campaign,Campaign ID,Day,Currency code,Impr.,Clicks,Cost,Conversions,Cost / conv.\n"
    'Enabled,Кухни — поиск,20918273,2026-11-01,RUB,"12,480",312,"4,210.55",7.00,601.51\n'
    "Enabled,Кухни — поиск,20918273,2026-11-02,RUB,9870,240,3150.00,3.00,1050.00\n"
    "Paused,Шкафы,20918274,2026-11-01,RUB,120,2,--,0.00,--\n"
    'Total: Account,--,--,--,RUB,"22,470",554,"7,360.55",10.00,736.06\n'
    'Total: Search,--,--,--,RUB,"22,470",554,"7,360.55",10.00,736.06\n'
)


# The same report as «Excel .csv»: UTF-16 with its mark, tabs between columns, numbers without quotes.
GOOGLE_ADS_EXCEL = (
    "Campaign report\n"
    "November 1, 2026 - November 2, 2026\n"
    "Campaign status\tCampaign\tCampaign ID\tDay\tCurrency code\tImpr.\tClicks\tCost\tConversions\tCost / conv.\n"
    "Enabled\tКухни — поиск\t20918273\t2026-11-01\tRUB\t12,480\t312\t4,210.55\t7.00\t601.51\n"
    "Enabled\tКухни — поиск\t20918273\t2026-11-02\tRUB\t9870\t240\t3150.00\t3.00\t1050.00\n"
    "Paused\tШкафы\t20918274\t2026-11-01\tRUB\t120\t2\t--\t0.00\t--\n"
    "Total: Account\t--\t--\t--\tRUB\t22,470\t554\t7,360.55\t10.00\t736.06\n"
).encode("utf-16")


@pytest.mark.parametrize("encoded", [GOOGLE_ADS.encode(), GOOGLE_ADS_EXCEL], ids=["csv", "excel-csv"])
def test_a_google_ads_report_download_reads_with_the_source_given(encoded: bytes) -> None:
    result = read_cost_file(encoded, "Campaign report.csv", "RUB", source="Google")

    assert result.lines == 3
    assert sorted((str(c.day), c.source, c.campaign, c.campaign_id, c.amount) for c in result.costs) == [
        ("2026-11-01", "google", "Кухни — поиск", "20918273", Decimal("4210.55")),
        ("2026-11-01", "google", "Шкафы", "20918274", Decimal("0")),
        ("2026-11-02", "google", "Кухни — поиск", "20918273", Decimal("3150.00")),
    ]


# Yandex Direct, «Мастер отчётов» → «Скачать» CSV: title lines, «№ Кампании», «Расход (руб.)», «Итого» last.
DIRECT_WIZARD = (
    "Отчёт «Мастер отчётов»\n"
    "Период: 01.11.2026 - 02.11.2026\n"
    "Логин: kuhni-master\n"
    "Суммы указаны с НДС\n"
    "Дата;Кампания;№ Кампании;Показы;Клики;CTR (%);Расход (руб.);Ср. цена клика (руб.)\n"
    "01.11.2026;Кухни — поиск;70112233;1 200;48;4,00;3 456,70;72,01\n"
    "02.11.2026;Кухни — поиск;70112233;1 100;40;3,64;2 956,70;73,92\n"
    "02.11.2026;Кухни — РСЯ;70112240;15 000;12;0,08;500,00;41,67\n"
    "Итого;;;17 300;100;0,58;6 913,40;69,13\n"
)


def test_a_direct_report_wizard_export_reads_with_ids_and_without_its_totals_line() -> None:
    result = read_cost_file(DIRECT_WIZARD.encode("cp1251"), "report.csv", "RUB", source="yandex")

    assert result.lines == 3
    assert sorted((str(c.day), c.source, c.campaign, c.campaign_id, c.amount) for c in result.costs) == [
        ("2026-11-01", "yandex", "Кухни — поиск", "70112233", Decimal("3456.70")),
        ("2026-11-02", "yandex", "Кухни — РСЯ", "70112240", Decimal("500.00")),
        ("2026-11-02", "yandex", "Кухни — поиск", "70112233", Decimal("2956.70")),
    ]


def test_a_wrong_line_of_an_export_is_named_by_its_line_in_the_file() -> None:
    broken = DIRECT_WIZARD.replace("02.11.2026;Кухни — РСЯ", "31.11.2026;Кухни — РСЯ")

    with pytest.raises(CostFileError) as caught:
        read_cost_file(broken.encode(), "report.csv", "RUB", source="yandex")

    assert problems(caught.value) == [("date", {"line": 8, "value": "31.11.2026"})]


# VK Ads (ads.vk.com), statistics → «Выгрузить» in Excel: a title, an empty row, the header, the totals row.
def vk_ads_book() -> bytes:
    return xlsx(
        [
            ["Статистика кампаний за период 01.11.2026 – 02.11.2026"],
            [],
            ["Дата", "ID кампании", "Название кампании", "Статус", "Показы", "Клики", "Потрачено всего, ₽"],
            ["01.11.2026", 1204455, "Кухни осень", "Активна", 10500, 87, 1520.4],
            ["02.11.2026", 1204455, "Кухни осень", "Активна", 9800, 70, 1310],
            ["Всего", None, None, None, 20300, 157, 2830.4],
        ]
    )


def test_a_vk_ads_book_reads_with_its_title_rows_and_totals_row() -> None:
    result = read_cost_file(vk_ads_book(), "statistics.xlsx", "RUB", source="vk")

    assert sorted((str(c.day), c.source, c.campaign, c.campaign_id, c.amount) for c in result.costs) == [
        ("2026-11-01", "vk", "Кухни осень", "1204455", Decimal("1520.4")),
        ("2026-11-02", "vk", "Кухни осень", "1204455", Decimal("1310")),
    ]


# Meta Ads Manager → Export → CSV, broken down by day: "Reporting starts" and "Reporting ends" of each line.
META = (
    "Reporting starts,Reporting ends,Campaign name,Campaign delivery,Results,Amount spent (RUB),Cost per result\n"
    "2026-11-01,2026-11-01,Кухни — лиды,active,4,2380.15,595.04\n"
    "2026-11-02,2026-11-02,Кухни — лиды,active,2,1200,600\n"
)


def test_a_meta_ads_manager_export_reads_its_reporting_days() -> None:
    result = read_cost_file(META.encode(), "Kuhni-Campaigns-Nov-1-2026-Nov-2-2026.csv", "RUB", source="facebook")

    assert sorted((str(c.day), c.source, c.campaign, c.amount) for c in result.costs) == [
        ("2026-11-01", "facebook", "Кухни — лиды", Decimal("2380.15")),
        ("2026-11-02", "facebook", "Кухни — лиды", Decimal("1200")),
    ]


def test_an_export_in_another_currency_or_over_a_period_is_refused_by_its_lines() -> None:
    dollars = META.replace("Amount spent (RUB)", "Amount spent (USD)")
    rubles_sign = DIRECT_WIZARD.replace("Расход (руб.)", "Расход, ₸")
    summed = META.replace("2026-11-02,2026-11-02", "2026-11-02,2026-11-30")

    with pytest.raises(CostFileError) as usd:
        read_cost_file(dollars.encode(), "x.csv", "RUB", source="facebook")
    with pytest.raises(CostFileError) as tenge:
        read_cost_file(rubles_sign.encode(), "x.csv", "RUB", source="yandex")
    with pytest.raises(CostFileError) as period:
        read_cost_file(summed.encode(), "x.csv", "RUB", source="facebook")

    assert problems(usd.value) == [("currency", {"line": 1, "value": "USD", "currency": "RUB"})]
    assert problems(tenge.value) == [("currency", {"line": 5, "value": "KZT", "currency": "RUB"})]
    assert problems(period.value) == [("period", {"line": 3, "first": "2026-11-02", "last": "2026-11-30"})]
    assert describe_rejection(period.value, "ru").splitlines()[1] == (
        "Строка 3: расход за период 2026-11-02 — 2026-11-30, а нужен по дням: выгрузите отчёт с разбивкой по дням"
    )
    assert read_cost_file(META.encode(), "x.csv", "RUB", source="facebook").lines == 2  # the same file in RUB


def test_an_export_without_a_source_asks_for_one_and_a_bad_one_is_named() -> None:
    with pytest.raises(CostFileError) as missing:
        read_cost_file(GOOGLE_ADS.encode(), "x.csv", "RUB")
    with pytest.raises(CostFileError) as sentence:
        read_cost_file(GOOGLE_ADS.encode(), "x.csv", "RUB", source="расходы за ноябрь")

    assert problems(missing.value) == [("no_source", {"examples": "vk, google, avito"})]
    assert describe_rejection(missing.value, "ru").splitlines()[1] == (
        "В файле нет столбца «Источник». Пришлите файл ещё раз с подписью — одним словом, откуда эти расходы, "
        "как источник назван в ссылках сайта: vk, google, avito."
    )
    assert describe_rejection(missing.value, "en", command="chattrack costs import x.csv").splitlines()[1] == (
        "The file has no Source column. Name the source of the whole file as the site's links name it: "
        "chattrack costs import x.csv --source vk"
    )
    assert describe_rejection(sentence.value, "ru").splitlines()[1] == (
        "«расходы за ноябрь» не похоже на источник: нужно одно слово, как источник назван в ссылках сайта "
        "(vk, google, avito)."
    )


def test_a_source_column_wins_and_the_given_source_fills_its_empty_cells() -> None:
    text = "Дата;Источник;Кампания;Расход\n01.11.2026;avito;Объявления;500\n01.11.2026;;Обзор;15 000\n"

    result = read_cost_file(text.encode(), "x.csv", "RUB", source="blogger")
    own = read_cost_file(text.replace(";;", ";vk;").encode(), "x.csv", "RUB", source="Расходы за ноябрь")

    assert sorted((c.source, c.campaign) for c in result.costs) == [("avito", "Объявления"), ("blogger", "Обзор")]
    assert sorted(c.source for c in own.costs) == ["avito", "vk"]  # a caption that is a note, not a source


def test_a_campaign_named_with_a_totals_word_is_a_campaign_when_its_line_has_a_date() -> None:
    text = "Day;Campaign;Cost\n2026-11-01;Total Remont;100\nNov 2, 2026;Кухни;50\nTotal;;150\n"

    result = read_cost_file(text.encode(), "x.csv", "RUB", "google")

    assert sorted((str(c.day), c.campaign) for c in result.costs) == [
        ("2026-11-01", "Total Remont"),
        ("2026-11-02", "Кухни"),
    ]


# mistakes ------------------------------------------------------------------------------------------------


def test_each_wrong_line_is_named_with_what_is_wrong() -> None:
    text = (
        "Дата;Источник;Кампания;Расход\n"
        "01.11.2026;vk;Кухни;100\n"
        "31.02.2026;vk;Кухни;100\n"
        "02.11.2026;;Кухни;100\n"
        "02.11.2026;vk;;100\n"
        "02.11.2026;vk;Кухни;сто\n"
        "02.11.2026;vk;Кухни;-5\n"
    )

    with pytest.raises(CostFileError) as caught:
        read_cost_file(text.encode(), "x.csv", "RUB")

    assert problems(caught.value) == [
        ("date", {"line": 3, "value": "31.02.2026"}),
        ("source", {"line": 4}),
        ("campaign", {"line": 5}),
        ("amount", {"line": 6, "value": "сто"}),
        ("negative", {"line": 7, "value": "-5"}),
    ]
    assert describe_rejection(caught.value, "ru").splitlines() == [
        "Файл не загружен, расходы не изменились.",
        "Строка 3: не понял дату «31.02.2026» (пишите 01.11.2026)",
        "Строка 4: не указан источник",
        "Строка 5: не указана кампания",
        "Строка 6: не понял сумму «сто»",
        "Строка 7: расход меньше нуля «-5»",
    ]


def test_missing_columns_another_currency_an_empty_file_and_a_broken_book() -> None:
    with pytest.raises(CostFileError) as columns:
        read_cost_file("Дата;Кампания;Клики\n01.11.2026;Кухни;5\n".encode(), "x.csv", "RUB")
    with pytest.raises(CostFileError) as currency:
        read_cost_file(b"Date;Source;Campaign;Cost;Currency\n2026-11-01;vk;A;5;USD\n", "x.csv", "RUB")
    with pytest.raises(CostFileError) as empty:
        read_cost_file("Дата;Источник;Кампания;Расход\n;;;\n".encode(), "x.csv", "RUB")
    with pytest.raises(CostFileError) as book:
        read_cost_file(b"PK\x03\x04 not really a book", "x.xlsx", "RUB")

    assert describe_rejection(columns.value, "ru").splitlines()[1].startswith("Не нашёл столбцы: «Источник», «Расход».")
    assert problems(currency.value) == [("currency", {"line": 2, "value": "USD", "currency": "RUB"})]
    assert problems(empty.value) == [("empty", {})]
    assert problems(book.value) == [("book", {})]


def test_too_many_lines_are_refused() -> None:
    text = "Дата;Источник;Кампания;Расход\n" + "01.11.2026;vk;Кухни;1\n" * (MAX_ROWS + 1)

    with pytest.raises(CostFileError) as caught:
        read_cost_file(text.encode(), "x.csv", "RUB")

    assert problems(caught.value) == [("too_many_rows", {"limit": MAX_ROWS})]


async def test_nothing_of_a_bad_file_is_stored_and_a_good_one_replaces_its_days(store: SQLiteStore) -> None:
    bad = RUSSIAN_CSV + "03.11.2026;vk;Кухни;двести\n"
    with pytest.raises(CostFileError):
        await import_cost_file(store, bad.encode(), "x.csv", "RUB")
    assert await store.cost_rows(date(2026, 1, 1), date(2027, 1, 1)) == []

    await import_cost_file(store, RUSSIAN_CSV.encode(), "x.csv", "RUB")
    corrected = "Дата;Источник;Кампания;Расход\n01.11.2026;vk;Осень — кухни;11 000\n"
    await import_cost_file(store, corrected.encode(), "x.csv", "RUB")

    rows = await store.cost_rows(date(2026, 1, 1), date(2027, 1, 1))
    assert sorted((str(c.day), c.source, c.amount) for c in rows) == [
        ("2026-11-01", "vk", Decimal("11000")),  # replaced, not added
        ("2026-11-02", "avito", Decimal("500")),
        ("2026-11-02", "vk", Decimal("1234")),
    ]


def test_the_answer_names_lines_days_and_totals_per_source() -> None:
    result = read_cost_file(RUSSIAN_CSV.encode(), "x.csv", "RUB")

    assert describe_import(result, "ru", markup=False).splitlines() == [
        "💰 Расходы загружены: строк — 3, 1 ноя 2026 — 2 ноя 2026.",
        "• vk: 13\u00a0234,50\u00a0₽",
        "• avito: 500\u00a0₽",
        "Если эти дни уже загружались, их цифры заменены, а не сложены.",
    ]
    assert describe_import(result, "en", markup=False).splitlines()[0] == (
        "💰 Spend imported: 3 lines, Nov 1, 2026 – Nov 2, 2026."
    )


# the command line -----------------------------------------------------------------------------------------


def test_the_cli_imports_a_file_and_refuses_a_bad_one_with_exit_code_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHATTRACK_DATABASE_URL", f"sqlite:///{tmp_path / 'chattrack.db'}")
    good, bad = tmp_path / "расходы.csv", tmp_path / "плохой.csv"
    good.write_bytes(RUSSIAN_CSV.encode("cp1251"))
    bad.write_text("Дата;Источник;Кампания;Расход\n01.11.2026;vk;Кухни;100\n31.11.2026;vk;Кухни;5\n")

    assert main(["costs", "import", str(bad)]) == 1
    refused = capsys.readouterr()
    assert main(["costs", "import", str(good)]) == 0
    imported = capsys.readouterr()
    assert main(["costs", "import", str(tmp_path / "нет такого.csv")]) == 1

    assert "Строка 3: не понял дату «31.11.2026»" in refused.err
    assert "Файл не загружен, расходы не изменились." in refused.err
    assert imported.out.splitlines()[:3] == [
        "💰 Расходы загружены: строк — 3, 1 ноя 2026 — 2 ноя 2026.",
        "• vk: 13\u00a0234,50\u00a0₽",
        "• avito: 500\u00a0₽",
    ]

    async def stored() -> list[Any]:
        store = SQLiteStore(tmp_path / "chattrack.db")
        await store.open()
        try:
            return await store.cost_rows(date(2026, 1, 1), date(2027, 1, 1))
        finally:
            await store.close()

    import asyncio

    assert len(asyncio.run(stored())) == 3  # the good file only


def test_the_cli_takes_the_source_of_an_export_from_its_source_option(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHATTRACK_DATABASE_URL", f"sqlite:///{tmp_path / 'chattrack.db'}")
    report = tmp_path / "Мастер отчётов.csv"
    report.write_bytes(DIRECT_WIZARD.encode("cp1251"))

    assert main(["costs", "import", str(report)]) == 1
    refused = capsys.readouterr()
    assert main(["costs", "import", str(report), "--source", "yandex"]) == 0
    imported = capsys.readouterr()

    assert refused.err.splitlines()[1] == (
        "В файле нет столбца «Источник». Укажите источник всего файла, как он назван в ссылках сайта: "
        f"chattrack costs import '{report}' --source vk"
    )
    assert imported.out.splitlines()[:2] == [
        "💰 Расходы загружены: строк — 3, 1 ноя 2026 — 2 ноя 2026.",
        "• yandex: 6\u00a0913,40\u00a0₽",
    ]


# the bot ---------------------------------------------------------------------------------------------------


def sends_document(person: Person, api: BotAPI, content: bytes, name: str, caption: str | None = None) -> None:
    document = api.add_file(content, name)
    message: dict[str, Any] = {
        "message_id": int(time.time() * 1000) % 1_000_000,
        "date": int(time.time()),
        "chat": {"id": person.id, "type": "private", "first_name": person.name},
        "from": person.user,
        "document": document,
    }
    if caption is not None:
        message["caption"] = caption
    api.push_update({"message": message})


async def test_an_owner_sends_a_file_and_the_bot_imports_it(run_bot: RunBot, api: BotAPI, store: SQLiteStore) -> None:
    await run_bot()
    owner = Person(api, OWNER, "ru", "Ирина")

    sends_document(owner, api, RUSSIAN_CSV.encode(), "расходы.csv")
    answer = await owner.gets()

    assert shown(answer).splitlines()[:3] == [
        "💰 Расходы загружены: строк — 3, 1 ноя 2026 — 2 ноя 2026.",
        "• vk: 13\u00a0234,50\u00a0₽",
        "• avito: 500\u00a0₽",
    ]
    assert len(await store.cost_rows(date(2026, 1, 1), date(2027, 1, 1))) == 3


async def test_a_bad_file_sent_to_the_bot_is_answered_line_by_line_and_nothing_stored(
    run_bot: RunBot, api: BotAPI, store: SQLiteStore
) -> None:
    await run_bot()
    owner = Person(api, OWNER, "en", "Irina")
    bad = xlsx([["Date", "Source", "Campaign", "Cost"], ["2026-11-01", "vk", "A <b>", "1"], ["soon", "vk", "A", "2"]])

    sends_document(owner, api, bad, "spend.xlsx")
    answer = await owner.gets()

    assert shown(answer).splitlines() == [
        "The file was not imported; spend is unchanged.",
        "Line 3: can't read the date “soon” (write 2026-11-01 or 01.11.2026)",
    ]
    assert await store.cost_rows(date(2026, 1, 1), date(2027, 1, 1)) == []


async def test_staff_are_told_only_owners_import_and_strangers_files_are_never_read(
    run_bot: RunBot, api: BotAPI, store: SQLiteStore
) -> None:
    await add_staff(store)
    await run_bot()
    maria, stranger = Person(api, STAFF, "ru", "Мария"), Person(api, STRANGER, "ru", "Пётр")

    sends_document(maria, api, RUSSIAN_CSV.encode(), "расходы.csv")
    refused = await maria.gets()
    sends_document(stranger, api, RUSSIAN_CSV.encode(), "расходы.csv")
    await stranger.gets()

    assert shown(refused) == "Загружать расходы может только владелец."
    assert api.calls_to("getFile") == []
    assert await store.cost_rows(date(2026, 1, 1), date(2027, 1, 1)) == []


async def test_an_owner_sending_another_kind_of_file_is_told_what_to_send(run_bot: RunBot, api: BotAPI) -> None:
    await run_bot()
    owner = Person(api, OWNER, "ru", "Ирина")

    sends_document(owner, api, b"%PDF-1.4", "счёт.pdf")
    answer = await owner.gets()

    assert shown(answer).startswith("Пришлите расходы таблицей Excel")
    assert api.calls_to("getFile") == []


async def test_an_owner_sends_a_platforms_export_captioned_with_its_source(
    run_bot: RunBot, api: BotAPI, store: SQLiteStore
) -> None:
    await run_bot()
    owner = Person(api, OWNER, "ru", "Ирина")

    sends_document(owner, api, vk_ads_book(), "statistics.xlsx")
    asked = await owner.gets()
    stored_before = await store.cost_rows(date(2026, 1, 1), date(2027, 1, 1))
    sends_document(owner, api, vk_ads_book(), "statistics.xlsx", caption=" VK ")
    answer = await owner.gets()

    assert shown(asked).splitlines() == [
        "Файл не загружен, расходы не изменились.",
        "В файле нет столбца «Источник». Пришлите файл ещё раз с подписью — одним словом, откуда эти расходы, "
        "как источник назван в ссылках сайта: vk, google, avito.",
    ]
    assert stored_before == []
    assert shown(answer).splitlines()[:2] == [
        "💰 Расходы загружены: строк — 2, 1 ноя 2026 — 2 ноя 2026.",
        "• vk: 2\u00a0830,40\u00a0₽",
    ]
    rows = await store.cost_rows(date(2026, 1, 1), date(2027, 1, 1))
    assert sorted((c.source, c.campaign_id, c.amount) for c in rows) == [
        ("vk", "1204455", Decimal("1310")),
        ("vk", "1204455", Decimal("1520.4")),
    ]
