"""New or repeat customer as a filter and a grouping (`customer=new`, `customer=repeat`) of the JSON API and the
dashboard, over a real server on a free port with the real SQLite store; and how it reads in words."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from typing import Any

import aiohttp
import openpyxl
import pytest

from reports.i18n import value_label
from tests.dashboard_helpers import OWNER_ID, session_cookie
from tests.seed import seed_dialog, seed_report_fixture, utc
from tests.test_api import AUTH, FILTERED_ENDPOINTS, TOKEN, get

# November and December 2026 of seed_report_fixture (Moscow): d1, d2, d4, d5, d6 new; d3 (A again) and d7 (B again,
# Dec 1) repeat; and one spam, a new customer's
NOVEMBER = "2026-11-01..2026-12-31"
BEFORE = "2026-09-01..2026-10-31"  # d10 and d11, new customers


@pytest.fixture
async def seeded(start_server: Callable[..., Any]) -> Any:
    server = await start_server(api_token=TOKEN, telegram_owner_ids=str(OWNER_ID))
    server.ids = await seed_report_fixture(server.store)
    spam = await seed_dialog(server.store, utc("2026-11-20 09:00"), channel="paid_search", tags=["spam"])
    server.ids["spam"] = spam.id
    return server


async def body(http: aiohttp.ClientSession, server: Any, path: str, **params: str) -> Any:
    status, found = await get(http, server.url + path, **params)
    assert status == 200, found
    return found


async def test_every_report_counts_new_or_repeat_customers(seeded: Any, http: aiohttp.ClientSession) -> None:
    every = await body(http, seeded, "/api/reports/summary", period=NOVEMBER)
    new = await body(http, seeded, "/api/reports/summary", period=NOVEMBER, customer="new")
    repeat = await body(http, seeded, "/api/reports/summary", period=NOVEMBER, customer="repeat")

    assert (every["dialogs"], every["new"], every["repeat"]) == (7, 5, 2)
    assert (new["dialogs"], new["new"], new["repeat"], new["filters"]) == (5, 5, 0, {"customer": "new"})
    assert (repeat["dialogs"], repeat["new"], repeat["repeat"]) == (2, 0, 2)
    assert (new["left_out"], repeat["left_out"]) == (1, 0)  # the spam is a new customer's, left out as always

    channels = await body(http, seeded, "/api/reports/channels", period=NOVEMBER, customer="repeat")
    assert {r["value"]: r["dialogs"] for r in channels["rows"]} == {"paid_search": 2}
    paid = await body(http, seeded, "/api/reports/summary", period=NOVEMBER, customer="new", channel="paid_search")
    assert paid["dialogs"] == 1  # d1
    pages = await body(http, seeded, "/api/reports/pages", period=NOVEMBER, customer="repeat")
    assert sum(r["dialogs"] for r in pages["rows"]) + pages["rest"]["dialogs"] == 2
    weeks = await body(http, seeded, "/api/reports/dynamics", period=NOVEMBER, bucket="month", customer="new")
    assert sum(point for series in weeks["series"] for point in series["points"]) == 5


async def test_reports_group_by_new_or_repeat_customer(seeded: Any, http: aiohttp.ClientSession) -> None:
    drill = await body(http, seeded, "/api/reports/drilldown", period=NOVEMBER, by="customer")
    dynamics = await body(http, seeded, "/api/reports/dynamics", period=NOVEMBER, by="customer", bucket="month")
    compare = await body(http, seeded, "/api/reports/compare", a=NOVEMBER, b=BEFORE, by="customer")

    assert drill["by"] == "customer"
    assert [(r["value"], r["dialogs"], r["new"], r["repeat"]) for r in drill["rows"]] == [
        ("new", 5, 5, 0),
        ("repeat", 2, 0, 2),
    ]
    assert {s["value"]: s["points"] for s in dynamics["series"]} == {"new": [5, 0], "repeat": [1, 1]}  # Nov, Dec
    assert {r["value"]: (r["a"], r["b"]) for r in compare["rows"]} == {"new": (5, 2), "repeat": (2, 0)}


async def test_the_dialog_list_and_the_exports_keep_new_or_repeat_customers(
    seeded: Any, http: aiohttp.ClientSession
) -> None:
    ids = seeded.ids
    repeat = await body(http, seeded, "/api/dialogs", period=NOVEMBER, customer="repeat")
    new = await body(http, seeded, "/api/dialogs", period=NOVEMBER, customer="new", spam="include")
    assert sorted(d["id"] for d in repeat["dialogs"]) == sorted([ids["d3"], ids["d7"]])
    assert {d["customer"] for d in repeat["dialogs"]} == {"repeat"} and repeat["filters"] == {"customer": "repeat"}
    assert sorted(d["id"] for d in new["dialogs"]) == sorted(ids[n] for n in ("d1", "d2", "d4", "d5", "d6", "spam"))

    params = {"period": NOVEMBER, "customer": "repeat", "format": "machine"}
    async with http.get(seeded.url + "/api/dialogs.csv", params=params, headers=AUTH) as response:
        assert response.status == 200
        rows = list(csv.DictReader(io.StringIO((await response.read()).decode("utf-8-sig"))))
    assert sorted(r["id"] for r in rows) == sorted([ids["d3"], ids["d7"]])

    async with http.get(
        seeded.url + "/api/dialogs.xlsx", params={"period": NOVEMBER, "customer": "new"}, headers=AUTH
    ) as response:
        assert response.status == 200 and response.headers["X-Dialogs-Total"] == "5"
        book = openpyxl.load_workbook(io.BytesIO(await response.read()))
    cells = [str(c) for sheet in book.worksheets for row in sheet.iter_rows(values_only=True) for c in row if c]
    assert "Клиент" in cells and "новый" in cells  # the filter, in words


@pytest.mark.parametrize("value", ["New", "repeated", "none", "1", "новый", "new,repeat"])
async def test_a_customer_that_is_neither_new_nor_repeat_is_a_400(
    seeded: Any, http: aiohttp.ClientSession, value: str
) -> None:
    for path in FILTERED_ENDPOINTS:
        when = {"a": NOVEMBER} if path.endswith("compare") else {"period": NOVEMBER}
        async with http.get(seeded.url + path, params={**when, "customer": value}, headers=AUTH) as response:
            found = await response.json()
            assert response.status == 400, (path, value, found)
            assert "customer" in found["error"] and "repeat" in found["error"], (path, found)
    cookies = await session_cookie(seeded)
    for path in ("/dashboard", "/dashboard/dialogs", "/dashboard/widgets/summary"):
        async with http.get(seeded.url + path, params={"customer": value}, cookies=cookies) as response:
            assert response.status == 400 and "customer" in await response.text(), path


def test_new_and_repeat_read_as_words() -> None:
    assert [value_label(lang, "customer", v) for lang in ("ru", "en") for v in ("new", "repeat")] == [
        "новый",
        "повторный",
        "new",
        "repeat",
    ]


async def test_the_dashboards_form_chip_and_dialog_list_keep_repeat_customers(
    seeded: Any, http: aiohttp.ClientSession
) -> None:
    cookies = await session_cookie(seeded)
    async with http.get(seeded.url + "/dashboard", params={"customer": "repeat"}, cookies=cookies) as response:
        assert response.status == 200
        page = await response.text()
    assert '<select name="customer">' in page
    assert '<option value="new">новый</option>' in page and '<option value="repeat" selected>повторный</option>' in page
    assert "Клиент: повторный" in page  # the filter's chip
    assert "customer=repeat" in page  # every widget's address carries it

    async with http.get(
        seeded.url + "/dashboard/dialogs", params={"period": NOVEMBER, "customer": "repeat"}, cookies=cookies
    ) as response:
        assert response.status == 200
        listed = await response.text()
    shown = re.findall(r'href="/dashboard/dialogs/([0-9a-f]+)', listed)
    assert sorted(shown) == sorted([seeded.ids["d3"], seeded.ids["d7"]])
    assert "повторный" in listed  # the chip, in words


async def test_the_summary_links_only_the_customers_the_pages_filter_keeps(
    seeded: Any, http: aiohttp.ClientSession
) -> None:
    cookies = await session_cookie(seeded)
    params = {"period": NOVEMBER, "customer": "repeat"}
    async with http.get(seeded.url + "/dashboard/widgets/summary", params=params, cookies=cookies) as response:
        assert response.status == 200
        html = await response.text()
    repeat = re.search(r'<tr data-row="repeat">.*?</tr>', html, re.S)
    new = re.search(r'<tr data-row="new">.*?</tr>', html, re.S)
    assert repeat is not None and new is not None
    assert 'href="/dashboard/dialogs?period=2026-11-01..2026-12-31&amp;customer=repeat"' in repeat.group(0)
    assert "href" not in new.group(0)  # 0 new among repeat customers: no list shows them
