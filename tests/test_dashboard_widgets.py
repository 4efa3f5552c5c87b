"""The first widgets (summary, channels with its drill-down, compare, pages) over a real server: each
fragment's figures (data-value) equal the JSON API's for the same seeded dialogs, period and filters; the
drill-down's levels and breadcrumb; a bad parameter is a 400 that says which."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import aiohttp
import pytest

from dashboard.texts import TEXTS
from tests.dashboard_helpers import OWNER_ID, session_cookie
from tests.seed import PRICE, seed_dialog, seed_report_fixture, utc

TOKEN = "widgets-api-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@dataclass
class Fragment:
    """What a widget's fragment shows, read as the page script and a person read it."""

    widget: str = ""
    rows: dict[str, dict[str, str]] = field(default_factory=dict)  # data-row → data-field → data-value
    links: dict[str, dict[str, str]] = field(default_factory=dict)  # data-row → data-field → href
    names: dict[str, str] = field(default_factory=dict)  # data-row → the row's name as shown
    downs: dict[str, str] = field(default_factory=dict)  # data-row → its link one level down
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
        self.foot = False
        self.texts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if "data-widget" in a:
            self.found.widget = a["data-widget"]
        if tag == "tfoot":
            self.foot = True
        if tag == "tr" and "data-row" in a:
            self.row = ("@" if self.foot else "") + a["data-row"]  # a table's foot: "@total", "@rest"
        if tag == "nav" and "breadcrumb" in a.get("class", ""):
            self.in_crumbs = True
        if tag == "canvas":
            self.found.charts.append(json.loads(a["data-chart"]))
        if "num" in a.get("class", "").split() and self.row is not None:
            self.found.rows.setdefault(self.row, {})[a["data-field"]] = a["data-value"]
            if "href" in a:
                self.found.links.setdefault(self.row, {})[a["data-field"]] = a["href"]
        crumb = self.in_crumbs and (tag == "a" or "aria-current" in a)  # not the separators
        if tag in ("a", "span") and ("data-reload" in a or crumb or "data-name" in a):
            self.open, self.buffer = {"tag": tag, **a}, ""

    def handle_data(self, data: str) -> None:
        self.texts.append(data)
        if self.open is not None:
            self.buffer += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "tr":
            self.row = None
        if tag == "tfoot":
            self.foot = False
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
                if self.row is not None:
                    self.found.downs[self.row] = a["href"]
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
    ad: dict[str, Any] = {"channel": "paid_search", "source": "google", "medium": "cpc", "campaign": "black friday"}
    await seed_dialog(server.store, utc("2026-11-10 09:00"), **ad, content="banner-1", term="купить диван")
    await seed_dialog(server.store, utc("2026-11-11 09:00"), **ad, content="banner-1", term="диван недорого")
    await seed_dialog(server.store, utc("2026-11-12 09:00"), **ad, content="banner-1", term="купить диван")
    await seed_dialog(server.store, utc("2026-11-12 10:00"), **ad, content="text-2")
    return server


async def fragment(http: aiohttp.ClientSession, server: Any, path: str, **params: str) -> Fragment:
    async with http.get(server.url + path, params=params, cookies=await session_cookie(server)) as response:
        body = await response.text()
        assert response.status == 200, body
        assert "text/html" in response.headers["Content-Type"]
        return read(body)


async def follow(http: aiohttp.ClientSession, server: Any, href: str) -> Fragment:
    """A widget's own link (data-reload), fetched as the page script fetches it."""
    assert href.startswith("/dashboard/widgets/"), href
    async with http.get(server.url + href, cookies=await session_cookie(server)) as response:
        assert response.status == 200, await response.text()
        return read(await response.text())


async def api(http: aiohttp.ClientSession, server: Any, path: str, **params: str) -> Any:
    async with http.get(server.url + path, params=params, headers=AUTH) as response:
        assert response.status == 200, await response.text()
        return await response.json()


async def dialogs_behind(http: aiohttp.ClientSession, server: Any, href: str) -> int:
    """How many dialogs a figure's link opens, as the API lists them: the link's period and filters asked of
    GET /api/dialogs (every page). The list takes no `probable`: it changes no new or repeat figure."""
    assert href.startswith("/dashboard/dialogs?"), href
    params = {k: v for k, v in parse_qsl(urlsplit(href).query) if k != "probable"}
    found, cursor = 0, None
    while True:
        page = await api(http, server, "/api/dialogs", **params, limit="1000", **({"cursor": cursor} if cursor else {}))
        found += len(page["dialogs"])
        cursor = page["next"]
        if cursor is None:
            return found


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
    assert shown.rows["@total"]["dialogs"] == str(answer["dialogs"])
    assert [(row, f["dialogs"]) for row, f in shown.rows.items() if row != "@total"] == [
        ("new", str(answer["new"])),
        ("repeat", str(answer["repeat"])),
    ]
    assert _number(shown.rows["new"]["share"]) == answer["new_share"]
    assert _number(shown.rows["repeat"]["share"]) == answer["repeat_share"]
    assert shown.charts[0]["kind"] == "doughnut"
    assert shown.charts[0]["datasets"][0]["data"] == [answer["new"], answer["repeat"]]
    # the total opens the dialogs of the same period and filters
    href = shown.links["@total"]["dialogs"]
    assert href.startswith("/dashboard/dialogs?")
    for name, value in params.items():
        assert f"{name}={value.replace(':', '%3A')}" in href
    # new and repeat (and their shares, and the doughnut's slices) open exactly the dialogs they count
    for key in ("new", "repeat"):
        href = shown.links[key]["dialogs"]
        assert href.endswith(f"&customer={key}") and shown.links[key]["share"] == href
        assert await dialogs_behind(http, seeded, href) == answer[key], href
    assert shown.charts[0]["links"] == [shown.links["new"]["dialogs"], shown.links["repeat"]["dialogs"]]


async def test_summary_says_an_empty_period_in_words(seeded: Any, http: aiohttp.ClientSession) -> None:
    shown = await fragment(http, seeded, "/dashboard/widgets/summary", period="2025-03")
    assert "Диалогов нет." in shown.text
    assert not shown.charts and not shown.rows


async def test_summary_tells_what_the_tag_filter_left_out(seeded: Any, http: aiohttp.ClientSession) -> None:
    shown = await fragment(http, seeded, "/dashboard/widgets/summary", period="2026-11")
    assert "Без спама: 1 диалог не учтён" in shown.text


# channels and the drill-down ---------------------------------------------------------------------------


def assert_ranking(shown: Fragment, answer: Any) -> None:
    """The fragment's rows, shares, new, rest and total are the API ranking's, in its order."""
    rows = [(row, f) for row, f in shown.rows.items() if not row.startswith("@")]
    assert [row for row, _ in rows] == [r["value"] or "" for r in answer["rows"]]
    for (_, f), r in zip(rows, answer["rows"], strict=True):
        assert (int(f["dialogs"]), int(f["new"])) == (r["dialogs"], r["new"])
        assert _number(f["share"]) == r["share"]
    assert int(shown.rows["@total"]["dialogs"]) == answer["total"]["dialogs"]
    assert int(shown.rows.get("@rest", {}).get("dialogs", 0)) == answer["rest"]["dialogs"]
    assert shown.charts[0]["kind"] == "hbar"
    assert shown.charts[0]["datasets"][0]["data"] == [r["dialogs"] for r in answer["rows"]]


async def test_channels_drill_down_to_keywords_with_the_apis_figures(seeded: Any, http: aiohttp.ClientSession) -> None:
    period = {"period": "2026-11"}
    shown = await fragment(http, seeded, "/dashboard/widgets/channels", **period)
    assert shown.widget == "channels" and not shown.crumbs
    assert_ranking(shown, await api(http, seeded, "/api/reports/channels", **period))
    assert shown.names["paid_search"] == "Платный поиск"
    assert shown.links["paid_search"]["dialogs"] == "/dashboard/dialogs?period=2026-11&channel=paid_search"
    # a channel's new customers open exactly those dialogs
    assert shown.links["paid_search"]["new"] == "/dashboard/dialogs?period=2026-11&channel=paid_search&customer=new"
    for row, f in shown.rows.items():
        if "new" in shown.links.get(row, {}):
            assert await dialogs_behind(http, seeded, shown.links[row]["new"]) == int(f["new"]), row

    chosen: dict[str, str] = {}
    for level, value in [("source", "google"), ("campaign", "black friday"), ("content", "banner-1")]:
        above = {"channel": "paid_search", "source": "google", "campaign": "black friday"}
        parent = next(f for f in ("channel", "source", "campaign") if f not in chosen)
        shown = await follow(http, seeded, shown.downs[above[parent]])
        chosen[parent] = above[parent]
        assert_ranking(shown, await api(http, seeded, "/api/reports/drilldown", by=level, **period, **chosen))
        assert value in shown.downs, (level, shown.downs)
        last = value
    # the keywords of one ad: the last level, nothing further to open
    shown = await follow(http, seeded, shown.downs[last])
    chosen["content"] = "banner-1"
    answer = await api(http, seeded, "/api/reports/drilldown", by="term", **period, **chosen)
    assert_ranking(shown, answer)
    assert [(r["value"], r["dialogs"]) for r in answer["rows"]] == [("купить диван", 2), ("диван недорого", 1)]
    assert not shown.downs
    assert shown.links["купить диван"]["dialogs"] == (
        "/dashboard/dialogs?period=2026-11&channel=paid_search&source=google&campaign=black+friday"
        "&content=banner-1&term=%D0%BA%D1%83%D0%BF%D0%B8%D1%82%D1%8C+%D0%B4%D0%B8%D0%B2%D0%B0%D0%BD"
    )
    # the breadcrumb: every level above, the one shown plain
    assert [text for text, _ in shown.crumbs] == ["Все каналы", "Платный поиск", "Google", "black friday", "banner-1"]
    assert shown.crumbs[-1][1] is None and all(href for _, href in shown.crumbs[:-1])
    # back up to the campaigns of google: the ad and the campaign chosen below are dropped, the period kept
    up = dict(shown.crumbs)["Google"]
    assert up is not None
    shown = await follow(http, seeded, up)
    del chosen["content"], chosen["campaign"]
    assert_ranking(shown, await api(http, seeded, "/api/reports/drilldown", by="campaign", **period, **chosen))
    assert [text for text, _ in shown.crumbs] == ["Все каналы", "Платный поиск", "Google"]
    top = dict(shown.crumbs)["Все каналы"]
    assert top is not None
    shown = await follow(http, seeded, top)
    assert_ranking(shown, await api(http, seeded, "/api/reports/channels", **period))


async def test_a_level_keeps_the_pages_other_filters(seeded: Any, http: aiohttp.ClientSession) -> None:
    params = {"period": "2026-11", "tag": "qualified", "level": "source"}
    shown = await fragment(http, seeded, "/dashboard/widgets/channels", **params)
    answer = await api(http, seeded, "/api/reports/drilldown", by="source", period="2026-11", tag="qualified")
    assert_ranking(shown, answer)
    assert all("tag=qualified" in href for href in shown.downs.values())
    assert [text for text, _ in shown.crumbs] == ["Все каналы"]


async def test_a_value_that_is_not_set_opens_nothing(seeded: Any, http: aiohttp.ClientSession) -> None:
    shown = await fragment(http, seeded, "/dashboard/widgets/channels", period="2026-11", level="campaign")
    assert shown.names[""] == "(не задано)"
    assert "" not in shown.downs and "" not in shown.links  # the list cannot show "no campaign" alone
    assert shown.downs["black friday"].endswith("level=content&campaign=black+friday")


# two periods compared --------------------------------------------------------------------------------


def assert_comparison(shown: Fragment, answer: Any) -> None:
    """Per channel and in total (dialogs, new, repeat): A, B, the change and the relative change of the API."""
    rows = [(row, f) for row, f in shown.rows.items() if not row.startswith("@")]
    assert [row for row, _ in rows] == [r["value"] or "" for r in answer["rows"]]
    expected = [(r["a"], r["b"], r["delta"], r["ratio"]) for r in answer["rows"]]
    assert [(_number(f["a"]), _number(f["b"]), _number(f["delta"]), _number(f["ratio"])) for _, f in rows] == expected
    for key in ("dialogs", "new", "repeat"):
        f, c = shown.rows["@" + key], answer[key]
        ratio = None if c["a"] == c["b"] == 0 else c["ratio"]
        assert (_number(f["a"]), _number(f["b"]), _number(f["delta"]), _number(f["ratio"])) == (
            c["a"],
            c["b"],
            c["delta"],
            ratio,
        )
    chart = shown.charts[0]
    assert chart["kind"] == "bar" and [d["data"] for d in chart["datasets"]] == [
        [r["a"] for r in answer["rows"]],
        [r["b"] for r in answer["rows"]],
    ]


@pytest.mark.parametrize(
    ("params", "vs"),
    [
        ({"period": "2026-W48"}, "previous"),
        ({"period": "2026-W49"}, "previous"),
        ({"period": "2026-11", "channel": "paid_search"}, "previous"),
        ({"period": "2026-12", "spam": "include"}, "year_ago"),
        ({"period": "2026-11-20..2026-12-05", "tag": "qualified"}, "previous"),
    ],
)
async def test_compare_figures_are_the_apis(
    seeded: Any, http: aiohttp.ClientSession, params: dict[str, str], vs: str
) -> None:
    shown = await fragment(http, seeded, "/dashboard/widgets/compare", **params, vs=vs)
    rest = {k: v for k, v in params.items() if k != "period"}
    answer = await api(http, seeded, "/api/reports/compare", a=params["period"], b=vs, **rest)
    assert shown.widget == "compare"
    assert_comparison(shown, answer)
    # new and repeat of each side open exactly the dialogs they count (B cut at A's moment has no list)
    for key in ("new", "repeat"):
        links = shown.links["@" + key]
        assert (
            links["a"].endswith(f"customer={key}")
            and await dialogs_behind(http, seeded, links["a"]) == answer[key]["a"]
        )
        assert ("b" in links) == (not answer["b"]["cut"])
        if "b" in links:
            assert await dialogs_behind(http, seeded, links["b"]) == answer[key]["b"]
    # the choice shown as chosen, the other one a link that keeps the page's choices
    assert [(href.split("vs=")[1], chosen) for _, href, chosen in shown.reloads] == [
        ("previous", vs == "previous"),
        ("year_ago", vs == "year_ago"),
    ]
    assert all(f"period={params['period']}" in href for _, href, _ in shown.reloads)


async def test_compare_links_each_side_to_its_own_dialogs(seeded: Any, http: aiohttp.ClientSession) -> None:
    shown = await fragment(http, seeded, "/dashboard/widgets/compare", period="2026-W49")
    assert "А 30 ноя – 6 дек 2026 Б 23–29 ноя 2026" in shown.text
    assert shown.links["paid_search"] == {
        "a": "/dashboard/dialogs?period=2026-W49&channel=paid_search",
        "b": "/dashboard/dialogs?period=2026-11-23..2026-11-29&channel=paid_search",
    }
    assert shown.links["@dialogs"]["b"] == "/dashboard/dialogs?period=2026-11-23..2026-11-29"
    assert shown.links["@new"] == {
        "a": "/dashboard/dialogs?period=2026-W49&customer=new",
        "b": "/dashboard/dialogs?period=2026-11-23..2026-11-29&customer=new",
    }
    assert shown.links["@repeat"]["a"] == "/dashboard/dialogs?period=2026-W49&customer=repeat"
    assert shown.rows["paid_search"]["ratio"] == "-0.5" and "−1 −50 %" in shown.text  # 1 against 2


async def test_compare_with_a_running_period_cuts_the_earlier_one(seeded: Any, http: aiohttp.ClientSession) -> None:
    shown = await fragment(http, seeded, "/dashboard/widgets/compare", period="today", vs="previous")
    assert "по то же время" in shown.text  # yesterday, up to this moment
    assert "Диалогов нет." in shown.text and not shown.charts


async def test_compare_default_is_the_period_before(seeded: Any, http: aiohttp.ClientSession) -> None:
    shown = await fragment(http, seeded, "/dashboard/widgets/compare", period="2026-W48")
    answer = await api(http, seeded, "/api/reports/compare", a="2026-W48", b="previous")
    assert_comparison(shown, answer)
    assert [chosen for _, _, chosen in shown.reloads] == [True, False]


# pages of the site -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "params",
    [
        {"period": "2026-11"},
        {"period": "2026-11", "kind": "contact", "channel": "paid_search"},
        {"period": "2026-11", "kind": "landing"},
        {"period": "2026", "kind": "landing", "probable": "false", "spam": "include"},
    ],
)
async def test_pages_figures_are_the_apis(seeded: Any, http: aiohttp.ClientSession, params: dict[str, str]) -> None:
    shown = await fragment(http, seeded, "/dashboard/widgets/pages", **params)
    answer = await api(http, seeded, "/api/reports/pages", **params)
    assert shown.widget == "pages"
    assert_ranking(shown, answer)
    kind = params.get("kind", "contact")
    assert [(href.split("kind=")[1], chosen) for _, href, chosen in shown.reloads] == [
        ("contact", kind == "contact"),
        ("landing", kind == "landing"),
    ]


async def test_a_page_opens_its_dialogs(seeded: Any, http: aiohttp.ClientSession) -> None:
    long_page = "shop.example/catalog/" + "sofas/" * 20 + "grey"
    await seed_dialog(seeded.store, utc("2026-11-15 09:00"), contact_page=long_page)
    shown = await fragment(http, seeded, "/dashboard/widgets/pages", period="2026-11")
    assert shown.names[PRICE] == PRICE
    assert shown.links[PRICE]["dialogs"] == "/dashboard/dialogs?period=2026-11&contact_page=shop.example%2Fprice"
    # its new customers open exactly those dialogs, as a channel's do
    new = shown.links[PRICE]["new"]
    assert new == "/dashboard/dialogs?period=2026-11&contact_page=shop.example%2Fprice&customer=new"
    assert await dialogs_behind(http, seeded, new) == int(shown.rows[PRICE]["new"])
    assert len(shown.names[long_page]) == 80 and "…" in shown.names[long_page]  # shortened as the bot's reports
    assert shown.names[""] == "(не задано)" and "" not in shown.links
    shown = await fragment(http, seeded, "/dashboard/widgets/pages", period="2025")
    assert "Диалогов нет." in shown.text and not shown.charts


# refusals ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("widget", "params", "reason"),
    [
        ("channels", {"level": "medium"}, "level must be one of channel, source, campaign, content, term"),
        ("compare", {"vs": "tomorrow"}, "vs must be one of previous, year_ago"),
        ("pages", {"kind": "exit"}, "kind must be one of contact, landing"),
        ("summary", {"period": "garbage"}, "garbage"),
        ("summary", {"level": "source"}, "unknown parameter 'level'"),  # another widget's own parameter
        ("pages", {"vs": "previous"}, "unknown parameter 'vs'"),
        ("channels", {"limit": "5"}, "unknown parameter 'limit'"),
        ("compare", {"probable": "maybe"}, "probable must be one of"),
        ("channels", {"channel": "x" * 201}, "longer than 200"),
        ("channels", {"period": "2026-11", "tag": "sale", "without_tag": "a," * 30}, ""),
    ],
)
async def test_bad_parameters_are_400_with_a_reason(
    seeded: Any, http: aiohttp.ClientSession, widget: str, params: dict[str, str], reason: str
) -> None:
    path = f"/dashboard/widgets/{widget}"
    async with http.get(seeded.url + path, params=params, cookies=await session_cookie(seeded)) as response:
        text = await response.text()
        if not reason:  # many tags left out in one value is fine
            assert response.status == 200, text
            return
        assert response.status == 400, text
        assert reason in text


async def test_a_repeated_parameter_is_400(seeded: Any, http: aiohttp.ClientSession) -> None:
    url = seeded.url + "/dashboard/widgets/channels?level=source&level=campaign"
    async with http.get(url, cookies=await session_cookie(seeded)) as response:
        assert response.status == 400 and "more than once" in await response.text()


NASTY = ["", " ", "\x00", "%", "'; DROP TABLE dialogs; --", "9" * 200, "２０２６", "..", "-1", "null", "💥",
         "2026-W54", "31.02.2026", "<b>", "true", "\u202e", "channel", "previous"]  # fmt: skip
OWN = {"summary": [], "channels": ["level"], "compare": ["vs"], "pages": ["kind"]}


async def test_no_parameter_value_makes_a_500(seeded: Any, http: aiohttp.ClientSession) -> None:
    cookies = await session_cookie(seeded)
    for widget, own in OWN.items():
        for name in [*own, "period", "probable", "channel", "source", "tag", "without_tag", "spam"]:
            for value in NASTY:
                url = f"{seeded.url}/dashboard/widgets/{widget}"
                async with http.get(url, params={name: value}, cookies=cookies) as response:
                    assert response.status in (200, 400), (widget, name, value, response.status)
                    if response.status == 400:
                        assert (await response.text()).strip()


async def test_widgets_want_a_member(seeded: Any, http: aiohttp.ClientSession) -> None:
    for widget in OWN:
        async with http.get(f"{seeded.url}/dashboard/widgets/{widget}") as response:
            assert response.status == 401
            assert "data-widget" not in await response.text()
        async with http.get(
            f"{seeded.url}/dashboard/widgets/{widget}", cookies=await session_cookie(seeded, 777)
        ) as response:
            assert response.status == 403


# words -------------------------------------------------------------------------------------------------


async def test_widgets_speak_the_viewers_language(seeded: Any, http: aiohttp.ClientSession) -> None:
    cookies = await session_cookie(seeded, lang="en")
    seen = {}
    for widget in OWN:
        async with http.get(f"{seeded.url}/dashboard/widgets/{widget}?period=2026-11", cookies=cookies) as response:
            seen[widget] = read(await response.text())
    assert "New and repeat" in seen["summary"].text and "90%" in seen["summary"].text
    assert seen["channels"].names["paid_search"] == "Paid search"
    assert "A Nov 1–30, 2026 B Oct 1–31, 2026" in seen["compare"].text
    assert [text for text, _, _ in seen["pages"].reloads] == ["Pages of contact", "Landing pages"]


def test_russian_words_of_the_widgets_have_no_english_or_code_words() -> None:
    mine = ("w_summary", "w_channels", "w_compare", "w_pages")
    for key, text in TEXTS["ru"].items():
        if key.startswith(mine):
            words = re.sub(r"\{\w+\}", "", text)  # placeholders are filled with Russian words
            assert not re.search(r"[A-Za-z_]", words), (key, text)
            assert key in TEXTS["en"], key
