"""The snippet's endpoint holds its edge: URLs and click targets checked, bounded storage, clicks only
from the browser that holds the visit's code. All over a real server on a free port and a real SQLite file."""

from __future__ import annotations

import json
import logging
import sqlite3
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest

from tracking.clicks import PREFILL_LIMIT
from tracking.codes import new_code
from tracking.store.base import CLICKS_KEPT_PER_VISIT

PAGE = "https://studio.example/kids?utm_source=yandex&utm_campaign=spring"
VISITOR = "visitor-0001"


async def post(http: aiohttp.ClientSession, server: Any, payload: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    body = json.dumps(payload, ensure_ascii=False).encode()
    async with http.post(server.url + "/collect", data=body, headers={"Content-Type": "text/plain"}) as response:
        return response.status, await response.json()


def view(code: str, **fields: Any) -> dict[str, Any]:
    return {"t": "view", "c": code, "v": VISITOR, "u": PAGE, **fields}


BAD_URLS = [
    ("http://[", "not a valid URL"),  # the one that froze a lead alert (urlsplit: Invalid IPv6 URL)
    ("http://[::1", "not a valid URL"),
    ("http://[not-an-address]/", "not a valid URL"),
    ("https://studio.example:99999/", "not a valid URL"),  # .port raises: out of range
    ("https://studio.example:8o/", "not a valid URL"),
    ("javascript:alert(1)", "must start with"),
    ("file:///etc/passwd", "must start with"),
    ("//studio.example/", "must start with"),
    ("https:///kids", "has no host"),
    ("https://studio.example/a\nb", "control"),
    ("https://studio.example/\x00", "control"),
    ("\thttps://studio.example/", "control"),
    ("https://studio.example/\u202eкод", "control"),  # a bidi override
    ("https://studio.example/\u200b", "control"),  # zero width
    ("https://studio.example/a b", "space"),
]


@pytest.mark.parametrize("field", ["u", "r", "ft.u", "ft.r"])
@pytest.mark.parametrize(("url", "why"), BAD_URLS)
async def test_a_malformed_url_is_refused_naming_the_field_and_nothing_is_stored(
    start_server: Any, http: aiohttp.ClientSession, field: str, url: str, why: str
) -> None:
    server = await start_server()
    code = new_code()
    payload = view(code)
    if field.startswith("ft."):
        payload["ft"] = {field[3:]: url}
    else:
        payload[field] = url
    status, body = await post(http, server, payload)
    assert status == 400, body
    assert body["error"].startswith(field + ":") and why in body["error"], body
    assert await server.store.get_visit(code) is None


async def test_urls_that_browsers_send_are_kept_exactly_as_sent(start_server: Any, http: aiohttp.ClientSession) -> None:
    server = await start_server()
    cases = [
        ("https://студия.рф/детям?utm_campaign=весна", "android-app://org.telegram.messenger/"),
        ("http://[2001:db8::1]:8080/price?gclid=x#top", "https://yandex.ru/"),
        ("https://Studio.Example", ""),  # no referrer: stored as none
        ("https://studio.example/" + "p" * (1024 - 23), "https://ya.ru/" + "q" * (1024 - 14)),  # at the caps
    ]
    for url, referrer in cases:
        code = new_code()
        first_touch = {"u": url, "r": referrer} if len(url) < 1000 else None  # the body's cap is 4 KB
        status, body = await post(http, server, view(code, u=url, r=referrer, ft=first_touch))
        assert (status, body) == (200, {"code": code}), url[:80]
        visit = await server.store.get_visit(code)
        assert visit is not None
        assert visit.attribution.landing_page == url  # not normalised: no punycode, no trailing slash
        assert visit.attribution.referrer == (referrer or None)


async def test_urls_over_their_caps_are_refused(start_server: Any, http: aiohttp.ClientSession) -> None:
    server = await start_server()
    long_page = "https://studio.example/" + "p" * 1024
    long_referrer = "https://ya.ru/" + "q" * 1024
    for payload, field in [(view(new_code(), u=long_page), "u"), (view(new_code(), r=long_referrer), "r")]:
        status, body = await post(http, server, payload)
        assert status == 400 and body["error"].startswith(field + ":"), body


@pytest.mark.parametrize(
    "target", ["+7 999", "=cmd|calc", "@shop\u202e", "79991234567\n", "x" * 40, "", "٧٩٩٩١٢٣٤٥٦٧", "shop.example"]
)
async def test_a_click_with_a_malformed_target_is_refused(
    start_server: Any, http: aiohttp.ClientSession, target: str
) -> None:
    server = await start_server()
    code = new_code()
    assert (await post(http, server, view(code)))[0] == 200
    status, body = await post(http, server, {**view(code), "t": "click", "h": target})
    assert status == 400 and body["error"].startswith("h:"), body
    visit = await server.store.get_visit(code)
    assert visit is not None and visit.attribution.contact_page is None


# clicks only from the browser that holds the code (item 13) ------------------------------------------


def click(code: str, visitor: str, page: str) -> dict[str, Any]:
    return {"t": "click", "c": code, "v": visitor, "u": page, "h": "79991234567"}


async def test_a_click_from_another_browser_is_answered_like_an_unknown_code_and_kept_nowhere(
    start_server: Any, http: aiohttp.ClientSession
) -> None:
    server = await start_server()
    code, unknown = new_code(), new_code()
    assert await post(http, server, view(code)) == (200, {"code": code})
    recent = (datetime.now(UTC) - timedelta(minutes=5), datetime.now(UTC) + timedelta(minutes=5))

    forged = await post(http, server, click(code, "someone-else-1", "https://evil.example/"))
    no_visit = await post(http, server, click(unknown, "someone-else-1", "https://evil.example/"))

    # The same answer as for a code that has no visit: nothing tells whether the code exists.
    assert forged == (200, {"code": code}) and no_visit == (200, {"code": unknown})
    visit = await server.store.get_visit(code)
    assert visit is not None and visit.attribution.contact_page is None
    assert await server.store.recent_clicks("+79991234567", *recent) == []
    assert await server.store.get_visit(unknown) is None

    assert await post(http, server, click(code, VISITOR, PAGE + "#prices")) == (200, {"code": code})
    visit = await server.store.get_visit(code)
    assert visit is not None and visit.attribution.contact_page == PAGE + "#prices"
    assert [c.code for c in await server.store.recent_clicks("+79991234567", *recent)] == [code]


# what one visit stores, and the global budget of new visits (item 7) -----------------------------------


async def test_one_visit_stores_a_bounded_number_of_bytes(start_server: Any, http: aiohttp.ClientSession) -> None:
    """The most one browser can make a visit keep: every field at its cap, and clicks without end."""
    server = await start_server()
    code = new_code()
    page = "https://studio.example/?" + "q" * (1024 - 24)
    longest = view(
        code,
        u=page,
        r="https://ya.ru/" + "r" * (1024 - 14),
        s="99999x99999",
        l="x" * 35,
        z="z" * 64,
        ga="g" * 64,
        ym="9" * 32,
        v="v" * 64,
    )
    async with http.post(
        server.url + "/collect", data=json.dumps(longest).encode(), headers={"User-Agent": "u" * 5000}
    ) as response:
        assert response.status == 200, await response.text()
    # the link's text at its cap in the widest characters (4 bytes each in UTF-8)
    chat = "https://wa.me/79991234567?text=" + "😀" * 600
    for _ in range(40):
        assert (await post(http, server, {**click(code, "v" * 64, page), "p": chat}))[0] == 200

    def stored(db: sqlite3.Connection) -> tuple[int, int, int]:
        columns = [row[1] for row in db.execute("PRAGMA table_info(visits)")]
        lengths = " + ".join(f"coalesce(length(CAST({c} AS BLOB)), 0)" for c in columns)
        visit = db.execute(f"SELECT {lengths} FROM visits WHERE code = ?", (code,)).fetchone()[0]
        clicks, click_bytes = db.execute(
            "SELECT count(*), sum(length(page) + length(target) + length(at) + length(code)"
            " + length(CAST(prefill AS BLOB))) FROM clicks WHERE code = ?",
            (code,),
        ).fetchone()
        return visit, clicks, click_bytes

    visit_bytes, clicks, click_bytes = await server.store.read(stored)
    # The page three times (landing, current, contact), referrer, user agent (cut at 512), short fields.
    assert visit_bytes <= 3 * 1024 + 1024 + 512 + 600, visit_bytes
    assert clicks == CLICKS_KEPT_PER_VISIT and click_bytes <= CLICKS_KEPT_PER_VISIT * (1024 + 60 + 4 * PREFILL_LIMIT)


async def test_new_visits_over_the_minute_budget_get_429_while_open_visits_go_on(
    start_server: Any, http: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    server = await start_server(new_visits_per_minute=2, metrics_access="public")
    codes = [new_code() for _ in range(4)]
    caplog.set_level(logging.WARNING, logger="chattrack.collect")

    answers = [await post(http, server, view(code)) for code in codes]

    assert answers[:2] == [(200, {"code": codes[0]}), (200, {"code": codes[1]})]
    for status, body in answers[2:]:
        assert status == 429 and "new visits" in body["error"]
    assert [await server.store.get_visit(code) is not None for code in codes] == [True, True, False, False]
    later = await post(http, server, view(codes[0], u=PAGE + "&page=2"))  # a visit already open goes on
    assert later == (200, {"code": codes[0]})
    visit = await server.store.get_visit(codes[0])
    assert visit is not None and visit.pages_seen == 2

    async with http.get(server.url + "/metrics") as response:
        assert "chattrack_new_visits_refused_total 2.0" in await response.text()
    lines = [r.getMessage() for r in caplog.records if "CHATTRACK_NEW_VISITS_PER_MINUTE" in r.getMessage()]
    assert len(lines) == 1 and "budget of 2 a minute" in lines[0]  # one line a minute, not one a request
