"""Who took a lead as a filter and a grouping of the JSON API (`taken_by=<Telegram user id>`, `taken_by=none`
for nobody), over a real server on a free port with the real SQLite store; and how a taker reads in words."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from typing import Any

import aiohttp
import openpyxl
import pytest

from reports.i18n import field_label, value_label
from reports.people import taker_names, team_names
from reports.team import team_report
from tests.dashboard_helpers import OWNER_ID, session_cookie
from tests.test_api import AUTH, FILTERED_ENDPOINTS, TOKEN, get
from tests.test_bot_commands import OWNER, STAFF, add_staff
from tests.test_team_reports import NOW, THURSDAY, seed_team_day

DAY = "2026-11-26"  # Maria (STAFF) took d1, d2, d6 (and the spam, left out); Irina (OWNER) d3, d4; nobody d5


@pytest.fixture
async def team(start_server: Callable[..., Any]) -> Any:
    server = await start_server(api_token=TOKEN)
    server.ids = await seed_team_day(server.store)
    return server


async def test_every_report_counts_one_takers_leads_and_those_nobody_took(
    team: Any, http: aiohttp.ClientSession
) -> None:
    async def dialogs(taken_by: str | None = None, path: str = "/api/reports/summary", **more: str) -> Any:
        params = {"period": DAY, **more} | ({} if taken_by is None else {"taken_by": taken_by})
        status, body = await get(http, team.url + path, **params)
        assert status == 200, body
        return body

    every, maria, irina, nobody = [await dialogs(t) for t in (None, str(STAFF), str(OWNER), "none")]
    assert [b["dialogs"] for b in (every, maria, irina, nobody)] == [6, 3, 2, 1]
    assert (maria["filters"], nobody["filters"]) == ({"taken_by": str(STAFF)}, {"taken_by": "none"})
    assert (maria["left_out"], irina["left_out"]) == (1, 0)  # Maria's spam, left out as always
    assert (await dialogs(f"00{OWNER}"))["filters"] == {"taken_by": str(OWNER)}  # the id as the stores read it
    assert (await dialogs("424242"))["dialogs"] == 0  # nobody of that id took anything

    channels = await dialogs(str(OWNER), "/api/reports/channels")
    assert {r["value"]: r["dialogs"] for r in channels["rows"]} == {"organic_search": 2}
    assert (await dialogs(str(STAFF), channel="paid_search"))["dialogs"] == 2
    people = (await dialogs(str(OWNER), "/api/reports/team"))["people"]
    assert [(p["user_id"], p["name"], p["dialogs"]) for p in people] == [(OWNER, "Ирина", 2)]


async def test_reports_group_by_the_taker_with_nobody_as_null(team: Any, http: aiohttp.ClientSession) -> None:
    status, drill = await get(http, team.url + "/api/reports/drilldown", period=DAY, by="taken_by")
    _, dynamics = await get(http, team.url + "/api/reports/dynamics", period=DAY, by="taken_by")
    _, compare = await get(http, team.url + "/api/reports/compare", a=DAY, b="2026-11-25", by="taken_by")

    assert status == 200 and drill["by"] == "taken_by"
    assert [(r["value"], r["dialogs"]) for r in drill["rows"]] == [(str(STAFF), 3), (str(OWNER), 2), (None, 1)]
    assert {s["value"]: s["points"] for s in dynamics["series"]} == {str(STAFF): [3], str(OWNER): [2], None: [1]}
    assert {r["value"]: (r["a"], r["b"]) for r in compare["rows"]} == {str(STAFF): (3, 0), str(OWNER): (2, 0),
                                                                       None: (1, 0)}  # fmt: skip


async def test_the_dialog_list_and_the_exports_keep_one_takers_leads(team: Any, http: aiohttp.ClientSession) -> None:
    ids = team.ids
    _, maria = await get(http, team.url + "/api/dialogs", period=DAY, taken_by=str(STAFF))
    _, nobody = await get(http, team.url + "/api/dialogs", period=DAY, taken_by="none")
    assert sorted(d["id"] for d in maria["dialogs"]) == sorted([ids["d1"], ids["d2"], ids["d6"]])
    assert [d["id"] for d in nobody["dialogs"]] == [ids["d5"]] and nobody["filters"] == {"taken_by": "none"}

    params = {"period": DAY, "taken_by": str(OWNER), "format": "machine"}
    async with http.get(team.url + "/api/dialogs.csv", params=params, headers=AUTH) as response:
        assert response.status == 200
        rows = list(csv.DictReader(io.StringIO((await response.read()).decode("utf-8-sig"))))
    assert sorted(r["id"] for r in rows) == sorted([ids["d3"], ids["d4"]]) and {r["taken_by"] for r in rows} == {
        "Ирина"
    }

    params = {"period": DAY, "taken_by": "none"}
    async with http.get(team.url + "/api/dialogs.xlsx", params=params, headers=AUTH) as response:
        assert response.status == 200 and response.headers["X-Dialogs-Total"] == "1"
        book = openpyxl.load_workbook(io.BytesIO(await response.read()))
    cells = [str(c) for sheet in book.worksheets for row in sheet.iter_rows(values_only=True) for c in row if c]
    assert f"{field_label('ru', 'taken_by')}" in " ".join(cells) and "никто" in cells  # the filter, in words


@pytest.mark.parametrize("value", ["anna", "-5", "+5", "0", "1.5", "1e3", "٣", "１２３", str(2**63), "9" * 40, "None"])
async def test_a_taker_that_is_no_user_id_is_a_400(team: Any, http: aiohttp.ClientSession, value: str) -> None:
    for path in FILTERED_ENDPOINTS:
        when = {"a": DAY} if path.endswith("compare") else {"period": DAY}
        async with http.get(team.url + path, params={**when, "taken_by": value}, headers=AUTH) as response:
            body = await response.json()
            assert response.status == 400, (path, value, body)
            assert "taken_by" in body["error"] and "none" in body["error"], (path, body)


async def test_a_taker_reads_as_a_name_or_as_a_telegram_user_and_nobody_as_nobody(
    start_server: Callable[..., Any],
) -> None:
    server = await start_server(api_token=TOKEN)
    await seed_team_day(server.store)
    await add_staff(server.store, STAFF, "Мария\u202e Петровна")  # a name is anyone's to write: shown on one line

    names = await team_names(server.store, {OWNER: "Ирина"})
    report = await team_report(server.store, THURSDAY, now=NOW)

    assert names == {str(STAFF): "Мария\u202e Петровна", str(OWNER): "Ирина"}
    assert taker_names(report.people) == {str(STAFF): "Мария", str(OWNER): "Ирина"}
    assert value_label("ru", "taken_by", str(STAFF), names) == "Мария Петровна"
    assert value_label("ru", "taken_by", "777", names) == "пользователь Telegram 777"
    assert value_label("en", "taken_by", "777") == "Telegram user 777"
    assert [value_label(lang, "taken_by", v) for lang in ("ru", "en") for v in (None, "none")] == [
        "никто",
        "никто",
        "nobody",
        "nobody",
    ]


async def test_the_dashboards_filter_offers_and_names_the_leads_nobody_took(
    start_server: Callable[..., Any], http: aiohttp.ClientSession
) -> None:
    server = await start_server(telegram_owner_ids=str(OWNER_ID))
    await add_staff(server.store, STAFF, "Мария")
    cookies = await session_cookie(server)
    async with http.get(server.url + "/dashboard?taken_by=none", cookies=cookies) as response:
        assert response.status == 200
        page = await response.text()
    assert '<option value="none" selected>никто</option>' in page  # a choice of the form, not a raw word
    assert f'<option value="{STAFF}">Мария</option>' in page
    assert "Кто взял: никто" in page  # the filter's chip
    assert ">none<" not in page
