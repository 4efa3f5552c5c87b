"""The snippet's endpoint holds its edge: URLs and click targets checked, bounded storage, clicks only
from the browser that holds the visit's code. All over a real server on a free port and a real SQLite file."""

from __future__ import annotations

import json
from typing import Any

import aiohttp
import pytest

from tracking.codes import new_code

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
        ("https://studio.example/" + "p" * (2048 - 23), "https://ya.ru/" + "q" * (1024 - 14)),  # at the caps
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
    long_page = "https://studio.example/" + "p" * 2048
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
