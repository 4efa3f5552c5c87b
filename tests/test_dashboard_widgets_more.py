"""The dynamics, money and team widgets over a real server: each fragment's figures (data-value) equal the
JSON API's for the same seeded dialogs, sales, costs and replies; the dynamics' bucket switch; the links
behind the numbers open exactly those dialogs; empty periods and unknown costs said in words."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import aiohttp
import pytest

from tests.dashboard_helpers import OWNER_ID, session_cookie
from tests.seed import seed_dialog, seed_report_fixture, utc
from tests.test_money_reports import seed_money
from tests.test_team_reports import seed_team_day

TOKEN = "widgets-more-api-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@dataclass
class Fragment:
    widget: str = ""
    rows: dict[str, dict[str, str]] = field(default_factory=dict)  # data-row → data-field → data-value
    links: dict[str, dict[str, str]] = field(default_factory=dict)  # data-row → data-field → href
    switch: list[tuple[str, str | None, bool]] = field(default_factory=list)  # (text, href or None, current)
    charts: list[dict[str, Any]] = field(default_factory=list)
    text: str = ""


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found = Fragment()
        self.row: str | None = None
        self.choice: dict[str, str] | None = None
        self.buffer = ""
        self.texts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if "data-widget" in a:
            self.found.widget = a["data-widget"]
        if tag == "tr" and "data-row" in a:
            self.row = a["data-row"]
        if tag == "canvas":
            self.found.charts.append(json.loads(a["data-chart"]))
        if "num" in a.get("class", "").split():
            assert self.row is not None, "a number outside a table row"
            self.found.rows.setdefault(self.row, {})[a["data-field"]] = a["data-value"]
            if "href" in a:
                self.found.links.setdefault(self.row, {})[a["data-field"]] = a["href"]
        if "data-reload" in a or "aria-disabled" in a:
            self.choice, self.buffer = a, ""

    def handle_data(self, data: str) -> None:
        self.texts.append(data)
        self.buffer += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "tr":
            self.row = None
        if self.choice is not None and tag in ("a", "span"):
            a, text = self.choice, " ".join(self.buffer.split())
            self.found.switch.append((text, a.get("href"), a.get("aria-current") == "true"))
            self.choice = None


def read(html: str) -> Fragment:
    reader = _Reader()
    reader.feed(html)
    reader.found.text = " ".join(" ".join(reader.texts).split())
    return reader.found


@pytest.fixture
async def seeded(start_server: Callable[..., Any]) -> Any:
    server = await start_server(api_token=TOKEN, telegram_owner_ids=str(OWNER_ID))
    await seed_report_fixture(server.store)
    await seed_dialog(server.store, utc("2026-11-20 09:00"), channel="paid_search", source="google", tags=["spam"])
    return server


async def get(http: aiohttp.ClientSession, server: Any, path: str, **params: str) -> tuple[int, str]:
    async with http.get(server.url + path, params=params, cookies=await session_cookie(server)) as response:
        return response.status, await response.text()


async def fragment(http: aiohttp.ClientSession, server: Any, path: str, **params: str) -> Fragment:
    status, body = await get(http, server, path, **params)
    assert status == 200, body
    return read(body)


async def api(http: aiohttp.ClientSession, server: Any, path: str, **params: str) -> Any:
    async with http.get(server.url + path, params=params, headers=AUTH) as response:
        assert response.status == 200, await response.text()
        return await response.json()


async def dialogs_behind(http: aiohttp.ClientSession, server: Any, href: str) -> int:
    """How many dialogs a number's link opens: its query asked of the API's summary (the dialog list's own
    choices are the API's)."""
    path, query = urlsplit(href).path, dict(parse_qsl(urlsplit(href).query))
    assert path == "/dashboard/dialogs"
    return int((await api(http, server, "/api/reports/summary", **query))["dialogs"])


# dynamics ------------------------------------------------------------------------------------------


WINTER = "2026-09-01..2027-01-31"  # the fixture's dialogs, across quarters, months, weeks and a year's end


@pytest.mark.parametrize("bucket", ["day", "week", "month", "quarter"])
@pytest.mark.parametrize("filters", [{}, {"channel": "paid_search"}, {"tag": "qualified"}, {"spam": "include"}])
async def test_dynamics_figures_are_the_apis(
    seeded: Any, http: aiohttp.ClientSession, bucket: str, filters: dict[str, str]
) -> None:
    shown = await fragment(http, seeded, "/dashboard/widgets/dynamics", period=WINTER, bucket=bucket, **filters)
    answer = await api(http, seeded, "/api/reports/dynamics", period=WINTER, bucket=bucket, top="100", **filters)
    assert shown.widget == "dynamics"
    assert [row for row in shown.rows if row != "total"] == answer["buckets"]
    for series in answer["series"]:
        points = [shown.rows[key][series["value"]] for key in answer["buckets"]]
        assert points == [str(n) for n in series["points"]], series["value"]
        assert shown.rows["total"][series["value"]] == str(series["total"])
    assert [shown.rows[key]["total"] for key in answer["buckets"]] == [str(n) for n in answer["totals"]]
    assert shown.rows["total"]["total"] == str(sum(answer["totals"]))
    (spec,) = shown.charts
    assert [d["data"] for d in spec["datasets"]] == [s["points"] for s in answer["series"]]
    assert len(spec["labels"]) == len(spec["links"]) == len(answer["buckets"])


async def test_dynamics_numbers_open_their_dialogs(seeded: Any, http: aiohttp.ClientSession) -> None:
    """A cell's link asks for its bucket's days and its channel: exactly the dialogs it counts."""
    shown = await fragment(http, seeded, "/dashboard/widgets/dynamics", period=WINTER, bucket="week", tag="qualified")
    checked = 0
    for row, fields in shown.rows.items():
        for name, value in fields.items():
            href = shown.links[row][name]
            assert ("tag", "qualified") in parse_qsl(urlsplit(href).query)  # the page's filters go along
            if value != "0":
                assert await dialogs_behind(http, seeded, href) == int(value), (row, name, href)
                checked += 1
    assert checked >= 4
    # the week of Monday 30 November holds d6 (paid social, probable) and d7 (paid search, repeat)
    every = await fragment(http, seeded, "/dashboard/widgets/dynamics", period=WINTER, bucket="week")
    assert (every.rows["2026-W49"]["paid_search"], every.rows["2026-W49"]["total"]) == ("1", "2")
    assert dict(parse_qsl(urlsplit(every.links["2026-W49"]["paid_search"]).query)) == {
        "period": "2026-11-30..2026-12-06",
        "channel": "paid_search",
    }


async def test_the_bucket_switch(seeded: Any, http: aiohttp.ClientSession) -> None:
    shown = await fragment(http, seeded, "/dashboard/widgets/dynamics", period=WINTER, channel="referral")
    # five months: weeks by default; each choice reloads this widget with the page's choices kept
    assert [(text, current) for text, _, current in shown.switch] == [
        ("Дни", False), ("Недели", True), ("Месяцы", False), ("Кварталы", False),
    ]  # fmt: skip
    by_month = shown.switch[2][1]
    assert by_month is not None and urlsplit(by_month).path == "/dashboard/widgets/dynamics"
    assert dict(parse_qsl(urlsplit(by_month).query)) == {"period": WINTER, "channel": "referral", "bucket": "month"}
    months = await fragment(http, seeded, by_month)
    assert [row for row in months.rows if row != "total"] == ["2026-09", "2026-10", "2026-11", "2026-12", "2027-01"]
    assert months.rows["2026-11"] == {"referral": "1", "total": "1"}
    assert [current for _, _, current in months.switch] == [False, False, True, False]
    (spec,) = months.charts
    assert spec["kind"] == "bar" and spec["stacked"] is True  # few points: stacked bars
    days = await fragment(http, seeded, "/dashboard/widgets/dynamics", period=WINTER, bucket="day")
    assert days.charts[0]["kind"] == "line" and len(days.charts[0]["labels"]) == 153
    # a month of days is the default for a month
    month = await fragment(http, seeded, "/dashboard/widgets/dynamics", period="2026-11")
    assert [current for _, _, current in month.switch] == [True, False, False, False]


async def test_a_bucket_too_fine_for_the_period(seeded: Any, http: aiohttp.ClientSession) -> None:
    long = "2024-01-01..2026-12-31"  # 1,096 days: more points by day than one chart holds
    shown = await fragment(http, seeded, "/dashboard/widgets/dynamics", period=long)
    assert shown.switch[0] == ("Дни", None, False)  # shown, not offered
    assert [current for _, _, current in shown.switch] == [False, False, True, False]
    status, body = await get(http, seeded, "/dashboard/widgets/dynamics", period=long, bucket="day")
    assert status == 400 and "wider bucket" in body
    status, body = await get(http, seeded, "/dashboard/widgets/dynamics", period=long, bucket="year")
    assert status == 400 and "bucket must be one of day, week, month, quarter" in body


async def test_dynamics_of_an_empty_period(seeded: Any, http: aiohttp.ClientSession) -> None:
    status, body = await get(http, seeded, "/dashboard/widgets/dynamics", period="2025-03")
    assert status == 200
    shown = read(body)
    assert shown.charts == [] and shown.rows == {}
    assert "Диалогов нет." in shown.text


# money ---------------------------------------------------------------------------------------------

MONEY = ("spend", "cost_per_lead", "sales", "revenue", "romi")


def plain(value: str) -> float | None:
    return None if value == "" else float(value)


@pytest.fixture
async def with_money(start_server: Callable[..., Any]) -> Any:
    server = await start_server(api_token=TOKEN, telegram_owner_ids=str(OWNER_ID))
    await seed_money(server.store)
    return server


@pytest.mark.parametrize(
    "filters",
    [{}, {"channel": "paid_search"}, {"source": "yandex"}, {"tag": "qualified"}, {"spam": "include"},
     {"probable": "false"}, {"medium": "cpc"}],
)  # fmt: skip
async def test_money_figures_are_the_apis(
    with_money: Any, http: aiohttp.ClientSession, filters: dict[str, str]
) -> None:
    shown = await fragment(http, with_money, "/dashboard/widgets/money", period="2026-11", **filters)
    answer = await api(http, with_money, "/api/reports/channels", period="2026-11", limit="100", **filters)
    assert shown.widget == "money"
    for row in [*answer["rows"], {**answer["total"], "value": "total"}]:
        cells = shown.rows[row["value"]]
        assert cells["leads"] == str(row["dialogs"]), row["value"]
        assert {name: plain(cells[name]) for name in MONEY} == {name: row[name] for name in MONEY}, row["value"]
    unmatched = [plain(f["spend"]) for row, f in shown.rows.items() if row.startswith("unmatched")]
    assert unmatched == [s["spend"] for s in answer["unmatched_spend"]]


async def test_money_by_channel_in_words_and_links(with_money: Any, http: aiohttp.ClientSession) -> None:
    shown = await fragment(http, with_money, "/dashboard/widgets/money", period="2026-11")
    # Direct's «Весна» 6 000 ₽ joined three leads; «Осень»'s 500 ₽ found none and goes under paid search
    assert shown.rows["paid_search"] == {"spend": "6500.0", "leads": "3", "cost_per_lead": "2166.67", "sales": "2",
                                         "revenue": "12000.0", "romi": "0.8462"}  # fmt: skip
    assert shown.rows["paid_social"]["spend"] == ""  # no cost known for VK: «—», not 0
    assert "Платный поиск 6 500 ₽ 3 2 166,67 ₽ 2 12 000 ₽ +85 %" in shown.text.replace("\u00a0", " ")
    assert "Расход без заявок Осень (Яндекс) 500 ₽" in shown.text.replace("\u00a0", " ")
    assert sorted(shown.links["paid_social"]) == ["leads", "revenue", "sales"]  # «—» opens nothing
    href = shown.links["paid_search"]["leads"]
    assert dict(parse_qsl(urlsplit(href).query)) == {"period": "2026-11", "channel": "paid_search"}
    assert await dialogs_behind(http, with_money, href) == 3
    assert "unmatched-1" not in shown.links  # spend without leads: no dialog to open
    (spec,) = shown.charts
    assert spec["kind"] == "bar" and [d["data"] for d in spec["datasets"]] == [[6500.0, 0.0], [12000.0, 0.0]]


async def test_money_without_costs_or_dialogs(seeded: Any, http: aiohttp.ClientSession) -> None:
    shown = await fragment(http, seeded, "/dashboard/widgets/money", period="2026-11")
    assert "Расходов на рекламу за этот период нет: их загружают из Директа или файлом." in shown.text
    assert {f["spend"] for f in shown.rows.values()} == {""}  # no cost is zero cost
    assert shown.rows["total"]["leads"] == "6"  # d1 to d6 (Moscow time), the spam left out
    assert shown.charts == []  # nothing spent, nothing sold: no chart of zeros
    split = await fragment(
        http, seeded, "/dashboard/widgets/money", period="2026-11", contact_page="shop.example/price"
    )
    assert "Расход не делится по этому фильтру: показаны заявки и продажи." in split.text
    status, body = await get(http, seeded, "/dashboard/widgets/money", period="2025-03")
    assert status == 200 and "Диалогов нет." in body and "<canvas" not in body and "<table" not in body


# team ----------------------------------------------------------------------------------------------

TEAM = ("dialogs", "answered", "answered_share", "median_first_response_seconds", "p90_first_response_seconds",
        "unanswered_after_900s", "unanswered_after_3600s")  # fmt: skip


@pytest.fixture
async def with_team(start_server: Callable[..., Any]) -> Any:
    server = await start_server(api_token=TOKEN, telegram_owner_ids=str(OWNER_ID))
    await seed_team_day(server.store)
    return server


@pytest.mark.parametrize("filters", [{}, {"channel": "organic_search"}, {"spam": "include"}, {"tag": "spam"}])
async def test_team_figures_are_the_apis(with_team: Any, http: aiohttp.ClientSession, filters: dict[str, str]) -> None:
    shown = await fragment(http, with_team, "/dashboard/widgets/team", period="2026-11-26", **filters)
    answer = await api(http, with_team, "/api/reports/team", period="2026-11-26", **filters)
    assert shown.widget == "team"
    people = [str(p["user_id"]) if p["user_id"] is not None else "nobody" for p in answer["people"]]
    assert [row for row in shown.rows if row != "total"] == people
    for key, row in [*zip(people, answer["people"], strict=True), ("total", answer["total"])]:
        assert {name: plain(shown.rows[key][name]) for name in TEAM} == {name: row[name] for name in TEAM}, key


async def test_team_in_words(with_team: Any, http: aiohttp.ClientSession) -> None:
    shown = await fragment(http, with_team, "/dashboard/widgets/team", period="2026-11-26")
    text = " ".join(shown.text.replace("\u00a0", " ").replace("( ", "(").replace(" )", ")").split())
    # Maria answered in 2 and 10 min (median 6, 90 % within 9.2); Vera's number does not report replies
    assert "Мария 3 2 (100 %) 6 мин 9 мин 0 0" in text
    assert "Никто не взял 1 0 (0 %) — — 1 1" in text
    assert "Ждали дольше 15 мин" in text and "Ждали дольше 1 ч" in text
    assert "Об ответах неизвестно: 1" in text
    # a person's figures open the leads they took; nobody's, the leads nobody took
    maria = next(key for key in shown.rows if key not in ("nobody", "total"))
    assert await dialogs_behind(http, with_team, shown.links[maria]["dialogs"]) == 3
    assert shown.links["nobody"]["dialogs"].endswith("taken_by=none")
    assert await dialogs_behind(http, with_team, shown.links["nobody"]["dialogs"]) == 1
    (spec,) = shown.charts
    assert spec["kind"] == "hbar" and spec["labels"] == ["Мария", "Ирина"]
    assert spec["datasets"][0]["data"] == [6.0, 30.0]  # medians in minutes: 360 s and 1,800 s
    status, body = await get(http, with_team, "/dashboard/widgets/team", period="2025-03")
    assert status == 200 and "Диалогов нет." in body and "<canvas" not in body and "<table" not in body
