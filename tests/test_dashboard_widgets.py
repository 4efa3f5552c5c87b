"""The first widgets (summary, channels with its drill-down, compare, pages) over a real server: each
fragment's figures (data-value) equal the JSON API's for the same seeded dialogs, period and filters; the
drill-down's levels and breadcrumb; a bad parameter is a 400 that says which."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

import aiohttp
import pytest

from tests.dashboard_helpers import OWNER_ID, session_cookie
from tests.seed import seed_dialog, seed_report_fixture, utc

TOKEN = "widgets-api-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@dataclass
class Fragment:
    """What a widget's fragment shows, read as the page script and a person read it."""

    widget: str = ""
    rows: dict[str, dict[str, str]] = field(default_factory=dict)  # data-row → data-field → data-value
    links: dict[str, dict[str, str]] = field(default_factory=dict)  # data-row → data-field → href
    names: dict[str, str] = field(default_factory=dict)  # data-row → the row's name as shown
    reloads: list[tuple[str, str, bool]] = field(default_factory=list)  # (text, href, aria-current)
    crumbs: list[tuple[str, str | None]] = field(default_factory=list)  # breadcrumb: (text, href or None)
    charts: list[dict[str, Any]] = field(default_factory=list)
    text: str = ""

    def values(self, name: str) -> list[tuple[str, float | None]]:
        """(row, the figure `name`) in the table's order, rows without it left out."""
        return [(row, _number(f[name])) for row, f in self.rows.items() if name in f]


def _number(text: str) -> float | None:
    return None if text == "" else float(text)


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found = Fragment()
        self.row: str | None = None
        self.open: dict[str, str] | None = None  # the element whose text is being read
        self.buffer = ""
        self.in_crumbs = False
        self.texts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if "data-widget" in a:
            self.found.widget = a["data-widget"]
        if tag == "tr" and "data-row" in a:
            self.row = a["data-row"]
        if tag == "nav" and "breadcrumb" in a.get("class", ""):
            self.in_crumbs = True
        if tag == "canvas":
            self.found.charts.append(json.loads(a["data-chart"]))
        if "num" in a.get("class", "").split() and self.row is not None:
            self.found.rows.setdefault(self.row, {})[a["data-field"]] = a["data-value"]
            if "href" in a:
                self.found.links.setdefault(self.row, {})[a["data-field"]] = a["href"]
        if tag in ("a", "span", "th") and ("data-reload" in a or self.in_crumbs or "data-name" in a):
            self.open, self.buffer = {"tag": tag, **a}, ""

    def handle_data(self, data: str) -> None:
        self.texts.append(data)
        if self.open is not None:
            self.buffer += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "tr":
            self.row = None
        if tag == "nav":
            self.in_crumbs = False
        if self.open is not None and tag == self.open["tag"]:
            text, a = " ".join(self.buffer.split()), self.open
            if "data-name" in a and self.row is not None:
                self.found.names[self.row] = text
            if self.in_crumbs:
                self.found.crumbs.append((text, a.get("href")))
            elif "data-reload" in a:
                self.found.reloads.append((text, a["href"], a.get("aria-current") == "true"))
            self.open = None


def read(html: str) -> Fragment:
    reader = _Reader()
    reader.feed(html)
    reader.found.text = " ".join(" ".join(reader.texts).split())
    return reader.found


@pytest.fixture
async def seeded(start_server: Callable[..., Any]) -> Any:
    server = await start_server(api_token=TOKEN, telegram_owner_ids=str(OWNER_ID))
    server.ids = await seed_report_fixture(server.store)
    await seed_dialog(server.store, utc("2026-11-20 09:00"), channel="paid_search", source="google", tags=["spam"])
    return server


async def fragment(http: aiohttp.ClientSession, server: Any, path: str, **params: str) -> Fragment:
    async with http.get(server.url + path, params=params, cookies=await session_cookie(server)) as response:
        body = await response.text()
        assert response.status == 200, body
        assert "text/html" in response.headers["Content-Type"]
        return read(body)


async def api(http: aiohttp.ClientSession, server: Any, path: str, **params: str) -> Any:
    async with http.get(server.url + path, params=params, headers=AUTH) as response:
        assert response.status == 200, await response.text()
        return await response.json()


# the summary -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "params",
    [
        {"period": "2026-11"},
        {"period": "2026-11", "tag": "sale"},
        {"period": "2026-11", "channel": "paid_search"},
        {"period": "2026-11-01..2026-12-31", "spam": "include", "probable": "false"},
    ],
)
async def test_summary_figures_are_the_apis(seeded: Any, http: aiohttp.ClientSession, params: dict[str, str]) -> None:
    shown = await fragment(http, seeded, "/dashboard/widgets/summary", **params)
    answer = await api(http, seeded, "/api/reports/summary", **params)
    assert shown.widget == "summary"
    assert shown.rows["total"]["dialogs"] == str(answer["dialogs"])
    assert [(row, f["dialogs"]) for row, f in shown.rows.items() if row != "total"] == [
        ("new", str(answer["new"])),
        ("repeat", str(answer["repeat"])),
    ]
    assert _number(shown.rows["new"]["share"]) == answer["new_share"]
    assert _number(shown.rows["repeat"]["share"]) == answer["repeat_share"]
    assert shown.charts[0]["kind"] == "doughnut"
    assert shown.charts[0]["datasets"][0]["data"] == [answer["new"], answer["repeat"]]
    # the total opens the dialogs of the same period and filters
    href = shown.links["total"]["dialogs"]
    assert href.startswith("/dashboard/dialogs?")
    for name, value in params.items():
        assert f"{name}={value.replace(':', '%3A')}" in href


async def test_summary_says_an_empty_period_in_words(seeded: Any, http: aiohttp.ClientSession) -> None:
    shown = await fragment(http, seeded, "/dashboard/widgets/summary", period="2025-03")
    assert "Диалогов нет." in shown.text
    assert not shown.charts and not shown.rows


async def test_summary_tells_what_the_tag_filter_left_out(seeded: Any, http: aiohttp.ClientSession) -> None:
    shown = await fragment(http, seeded, "/dashboard/widgets/summary", period="2026-11")
    assert "Без спама: 1 диалог не учтён" in shown.text
