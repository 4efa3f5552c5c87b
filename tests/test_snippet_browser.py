# ruff: noqa: F811  (pytest fixtures imported from tests.browser are parameters here)
"""The snippet in headless Chromium, against a stand-in tracker on a real socket.

The stand-in serves the test pages (tests/pages/) as a site at ``http://shop.test:<port>`` and the
snippet plus ``/collect`` at ``http://127.0.0.1:<port>``: two origins, as in production. It records
what /collect receives and answers per the protocol (``{"code": ...}``), or fails on demand.
Chat links are never followed to the internet: the browser context answers them with a stub page
and the test reads the exact URL the browser asked for.
"""

from __future__ import annotations

import asyncio
import json
import re
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from aiohttp import web
from playwright.async_api import Page, Route

from snippet import SnippetConfig, render_extension, render_snippet
from tests.browser import browser, collect_errors, page  # noqa: F401
from tracking.codes import format_prefill, is_valid_code, new_code

PAGES = Path(__file__).parent / "pages"
NUMBER = "79991234567"
CHAT_URL = re.compile(r"^https://(wa\.me|api\.whatsapp\.com|web\.whatsapp\.com|t\.me|telegram\.me|telegram\.dog)/")
WAIT = 10.0  # seconds a condition may take before the test fails (never a sleep)

Payload = dict[str, Any]


@dataclass
class Tracker:
    """Stand-in for chattrack's server: pages, /t.js and /collect."""

    config: SnippetConfig
    site: str = ""  # the pages' origin
    origin: str = ""  # the tracker's origin
    received: list[Payload] = field(default_factory=list)
    failed: list[Payload] = field(default_factory=list)  # bodies answered with 500
    content_types: list[str] = field(default_factory=list)
    preflights: int = 0
    fail_next: int = 0  # answer 500 to this many next collect requests
    collide_with: str | None = None  # answer the next view with this code, as on a collision
    changed: asyncio.Condition = field(default_factory=asyncio.Condition)

    def url(self, page_name: str) -> str:
        return f"{self.site}/pages/{page_name}.html"

    async def wait_for(self, predicate: Callable[[Payload], bool]) -> Payload:
        """The first received payload matching ``predicate``, waiting for it to arrive."""
        found: list[Payload] = []

        def check() -> bool:
            found[:] = [p for p in self.received if predicate(p)]
            return bool(found)

        async with self.changed:
            await asyncio.wait_for(self.changed.wait_for(check), WAIT)
        return found[0]

    def views(self) -> list[Payload]:
        return [p for p in self.received if p["t"] == "view"]

    def clicks(self) -> list[Payload]:
        return [p for p in self.received if p["t"] == "click"]

    # -- handlers

    async def script(self, request: web.Request) -> web.Response:
        return web.Response(
            body=render_snippet(self.config),
            content_type="application/javascript",
            charset="utf-8",
            headers={"Cache-Control": "public, max-age=300"},
        )

    async def extension(self, request: web.Request) -> web.Response:
        # t.js loads it with import(): a module script, fetched with CORS
        return web.Response(
            body=render_extension(),
            content_type="application/javascript",
            charset="utf-8",
            headers={"Cache-Control": "public, max-age=300", "Access-Control-Allow-Origin": "*"},
        )

    async def collect(self, request: web.Request) -> web.Response:
        cors = {"Access-Control-Allow-Origin": request.headers.get("Origin", "*")}
        body = await request.read()
        assert len(body) <= 4096
        payload = json.loads(body)
        self.content_types.append(request.headers.get("Content-Type", ""))
        async with self.changed:
            if self.fail_next:
                self.fail_next -= 1
                self.failed.append(payload)
                self.changed.notify_all()
                return web.Response(status=500, text="store down", headers=cors)
            self.received.append(payload)
            self.changed.notify_all()
        code = payload["c"]
        if self.collide_with and payload["t"] == "view":
            code, self.collide_with = self.collide_with, None
        return web.json_response({"code": code}, headers=cors)

    async def favicon(self, request: web.Request) -> web.Response:
        return web.Response(status=204)  # so the console shows no 404

    async def preflight(self, request: web.Request) -> web.Response:
        self.preflights += 1
        return web.Response(status=204)

    async def page(self, request: web.Request) -> web.Response:
        name = request.match_info.get("name", "spa")
        path = PAGES / f"{name}.html"
        if not path.is_file():
            raise web.HTTPNotFound()
        nonce = secrets.token_urlsafe(12)
        html = path.read_text(encoding="utf-8").replace("{{tracker}}", self.origin).replace("{{nonce}}", nonce)
        headers = {}
        if name == "csp":
            headers["Content-Security-Policy"] = (
                f"script-src 'nonce-{nonce}' 'strict-dynamic'; object-src 'none'; base-uri 'none'; "
                "require-trusted-types-for 'script'"
            )
        return web.Response(text=html, content_type="text/html", headers=headers)


@pytest.fixture
async def tracker(aiohttp_server: Callable[..., Awaitable[Any]]) -> AsyncIterator[Tracker]:
    stand_in = Tracker(config=SnippetConfig(numbers=[NUMBER], telegram=["shop_bot", "furniture_shop"]))
    app = web.Application()
    app.router.add_get("/t.js", stand_in.script)
    app.router.add_get("/tx.js", stand_in.extension)
    app.router.add_post("/collect", stand_in.collect)
    app.router.add_route("OPTIONS", "/collect", stand_in.preflight)
    app.router.add_get("/pages/{name}.html", stand_in.page)
    app.router.add_get("/spa/{tail:.*}", stand_in.page)
    app.router.add_get("/favicon.ico", stand_in.favicon)
    server = await aiohttp_server(app)
    stand_in.site = f"http://shop.test:{server.port}"
    stand_in.origin = f"http://127.0.0.1:{server.port}"
    yield stand_in
    assert stand_in.preflights == 0, "the snippet must post without a CORS preflight"
    assert all(ct.startswith("text/plain") for ct in stand_in.content_types)


async def chats(page: Page) -> list[str]:
    """Answer chat URLs with a stub page (no internet here); the list fills with the URLs asked for."""
    opened: list[str] = []

    async def stub(route: Route) -> None:
        opened.append(route.request.url)
        await route.fulfill(status=200, content_type="text/html", body="<title>chat</title>")

    await page.context.route(CHAT_URL, stub)
    return opened


async def marked(page: Page, selector: str, attribute: str = "href") -> str:
    """The attribute of ``selector`` once the snippet has written the visit code into it."""
    handle = await page.wait_for_function(
        """([selector, attribute]) => {
            const el = document.querySelector(selector);
            const code = window.chattrack && window.chattrack.code();
            const value = el && el.getAttribute(attribute);
            return code && value && value.includes(encodeURIComponent(code)) && value;
        }""",
        arg=[selector, attribute],
        timeout=WAIT * 1000,
    )
    return str(await handle.json_value())


def check_marked(url: str, base: str, text: str, code: str, marker: str = "ref", **params: str) -> None:
    """``url`` is ``base`` with the prefilled text ``text`` carrying ``code``, and other params kept."""
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == base
    assert "+" not in parts.query, "spaces are written %20: a '+' is not a space in every app"
    query = parse_qs(parts.query, keep_blank_values=True)
    assert query.pop("text") == [format_prefill(text, code, marker)]
    assert {k: v[0] for k, v in query.items()} == params


async def code_of(page: Page) -> str:
    code = str(await page.evaluate("chattrack.code()"))
    assert is_valid_code(code), code
    return code


# -- link forms


async def test_wa_me_links_are_marked_and_the_click_opens_the_marked_url(tracker: Tracker, page: Page) -> None:
    errors = collect_errors(page)
    opened = await chats(page)
    await page.goto(tracker.url("plain"), referer="https://www.google.com/")
    bare = await marked(page, "#bare")
    code = await code_of(page)

    assert bare == f"https://wa.me/79991234567?text=%28ref%20{code}%29"
    check_marked(await marked(page, "#with-text"), "https://wa.me/79991234567", "Hello, I want to book a repair", code)
    check_marked(await marked(page, "#plus-text"), "https://wa.me/79991234567", "Hi there", code)
    # numbers written for people: +, spaces, brackets, dashes, %20, %2B; compared as digits
    check_marked(await marked(page, "#formatted"), "https://wa.me/+7 (999) 123-45-67", "", code)
    check_marked(await marked(page, "#encoded"), "https://wa.me/%2B7%20999%20123-45-67", "Здравствуйте", code)
    # another business's number and the site's own links stay as they were
    assert await page.get_attribute("#other", "href") == "https://wa.me/74950000000?text=Hello"
    assert await page.get_attribute("#site", "href") == "/about?ref=wa.me"

    view = await tracker.wait_for(lambda p: p["t"] == "view")
    assert view["c"] == code
    assert re.fullmatch(r"[0-9A-Z]{16}", view["v"])
    assert view["u"] == tracker.url("plain")
    assert view["r"] == "https://www.google.com/"
    assert view["s"] == "1280x720"
    assert view["l"] == "en-US"
    assert view["z"]
    assert view["ft"] == {"u": tracker.url("plain"), "r": "https://www.google.com/"}
    assert view["sl"] == 0
    assert "ga" not in view and "ym" not in view

    # a click on the icon inside the link: the browser goes to the marked URL
    async with page.expect_popup() as popup:
        await page.click("#icon-dot")
    await (await popup.value).wait_for_load_state()
    assert opened == [f"https://wa.me/79991234567?text=%28ref%20{code}%29"]
    click = await tracker.wait_for(lambda p: p["t"] == "click")
    assert click["c"] == code
    assert click["v"] == view["v"]  # the server keeps a click only from the browser holding the code
    assert click["h"] == NUMBER
    assert click["p"] == opened[0]  # the marked url: the server reads the link's text out of it
    assert click["u"] == tracker.url("plain")
    assert "r" not in click
    assert errors == []


async def test_api_whatsapp_variants_keep_their_other_parameters(tracker: Tracker, page: Page) -> None:
    await page.goto(tracker.url("api"))
    await marked(page, "#web")
    code = await code_of(page)
    check_marked(
        await marked(page, "#send"), "https://api.whatsapp.com/send", "I need an appointment", code, phone=NUMBER
    )
    check_marked(
        await marked(page, "#send-slash"),
        "https://api.whatsapp.com/send/",
        "Price list?",
        code,
        phone="+79991234567",
        type="phone_number",
        app_absent="0",
    )
    check_marked(await marked(page, "#no-text"), "https://api.whatsapp.com/send", "", code, phone="7-999-123-45-67")
    check_marked(await marked(page, "#scheme"), "whatsapp://send", "From the app", code, phone=NUMBER)
    check_marked(await marked(page, "#web"), "https://web.whatsapp.com/send", "From the desktop", code, phone=NUMBER)
    assert await page.get_attribute("#other", "href") == "https://api.whatsapp.com/send?phone=74950000000&text=Hello"

    opened = await chats(page)
    async with page.expect_request(CHAT_URL):
        await page.click("#send-slash")
    check_marked(
        opened[0],
        "https://api.whatsapp.com/send/",
        "Price list?",
        code,
        phone="+79991234567",
        type="phone_number",
        app_absent="0",
    )
    click = await tracker.wait_for(lambda p: p["t"] == "click")
    assert (click["h"], click["u"], click["p"]) == (NUMBER, tracker.url("api"), opened[0])


async def test_only_the_tracked_number_is_marked_on_a_russian_page(tracker: Tracker, page: Page) -> None:
    await page.goto(tracker.url("landing"))
    sales = await marked(page, "#sales")
    code = await code_of(page)
    check_marked(sales, "https://wa.me/79991234567", "Хочу букет", code, marker="код")
    assert await page.get_attribute("#accounting", "href") == "https://wa.me/74951112233"
    assert await page.get_attribute("#suppliers", "href") == (
        "https://api.whatsapp.com/send?phone=79160001122&text=%D0%9F%D1%80%D0%B5%D0%B4%D0%BB%D0%BE%D0%B6%D0%B5%D0%BD%D0%B8%D0%B5"
    )
    # digits are compared whole: a prefix or a longer number is someone else
    assert await page.get_attribute("#partners", "href") == "https://wa.me/7999123456"
    assert await page.get_attribute("#couriers", "href") == "https://wa.me/799912345678"


async def test_configured_marker_wins_over_the_page_language(tracker: Tracker, page: Page) -> None:
    tracker.config = SnippetConfig(numbers=[NUMBER], marker="id")
    await page.goto(tracker.url("landing"))
    check_marked(await marked(page, "#sales"), "https://wa.me/79991234567", "Хочу букет", await code_of(page), "id")


async def test_telegram_links_for_configured_usernames(tracker: Tracker, page: Page) -> None:
    opened = await chats(page)
    await page.goto(tracker.url("telegram"))
    tg = await marked(page, "#tg")
    code = await code_of(page)
    assert tg == f"https://t.me/Shop_Bot?text=%28ref%20{code}%29"
    check_marked(await marked(page, "#tg-text"), "https://t.me/shop_bot", "I want the Python course", code)
    assert await page.get_attribute("#tg-channel", "href") == "https://t.me/shop_news"
    # a bot deep link carries the code invisibly, as its start parameter
    assert await page.get_attribute("#tg-bot", "href") == f"https://t.me/shop_bot?start={code}"
    async with page.expect_request(CHAT_URL):
        await page.click("#tg")
    assert opened == [tg]
    click = await tracker.wait_for(lambda p: p["t"] == "click")
    assert (click["h"], click["p"]) == ("shop_bot", tg)


async def test_short_links_are_left_alone_and_counted(tracker: Tracker, page: Page) -> None:
    await page.goto(tracker.url("short"))
    await marked(page, "#long")
    assert await page.get_attribute("#short", "href") == "https://wa.me/message/ABCDEFGHIJKLM1"
    view = await tracker.wait_for(lambda p: p["t"] == "view")
    assert view["sl"] == 2


# -- widgets and builders


async def test_widget_opening_whatsapp_with_window_open(tracker: Tracker, page: Page) -> None:
    opened = await chats(page)
    await page.goto(tracker.url("widget"))
    await page.wait_for_function("window.chattrack && chattrack.code()")
    code = await code_of(page)
    await page.click("#fab")
    async with page.expect_popup() as popup:
        await page.click("#start")
    await (await popup.value).wait_for_load_state()
    check_marked(opened[0], "https://wa.me/79991234567", "Hello from the hotel site", code)
    click = await tracker.wait_for(lambda p: p["t"] == "click")
    assert (click["h"], click["u"], click["p"]) == (NUMBER, tracker.url("widget"), opened[0])  # window.open's url


async def test_inline_onclick_urls_are_intercepted(tracker: Tracker, page: Page) -> None:
    errors = collect_errors(page)
    opened = await chats(page)
    await page.clock.install()
    await page.goto(tracker.url("widget"))
    await page.wait_for_function("window.chattrack && chattrack.code()")
    code = await code_of(page)

    async with page.expect_popup() as popup:
        await page.click("#inline-open")
    await (await popup.value).wait_for_load_state()
    check_marked(opened[0], "https://wa.me/79991234567", "Booking question", code)
    await (await popup.value).close()
    await tracker.wait_for(lambda p: p["t"] == "click")
    await page.clock.fast_forward(2000)  # clicks on one target within a second count once

    # location.href = '...' in onclick: the marked URL opens in a new window, as from chat widgets
    async with page.expect_popup() as popup:
        await page.click("#inline-href")
    await (await popup.value).wait_for_load_state()
    check_marked(opened[1], "https://api.whatsapp.com/send", "", code, phone=NUMBER)
    assert page.url == tracker.url("widget")  # the site stays open
    await tracker.wait_for(lambda p: len(tracker.clicks()) == 2)
    assert [(c["h"], c["p"]) for c in tracker.clicks()] == [(NUMBER, opened[0]), (NUMBER, opened[1])]
    assert errors == []


async def test_page_builder_buttons_with_data_attributes(tracker: Tracker, page: Page) -> None:
    opened = await chats(page)
    await page.goto(tracker.url("builder"))
    href = await marked(page, "#data-href", "data-href")
    code = await code_of(page)
    check_marked(href, "https://wa.me/79991234567", "Order a cake", code)
    check_marked(await marked(page, "#data-url", "data-url"), "https://api.whatsapp.com/send", "", code, phone=NUMBER)
    check_marked(await marked(page, "#data-link", "data-link"), "https://wa.me/79991234567", "", code)
    assert await page.get_attribute("#data-other", "data-href") == "https://wa.me/74950000000"

    # the builder's own script reads the (marked) attribute and sets location.href
    async with page.expect_request(CHAT_URL):
        await page.click("#data-href")
    assert opened == [href]
    click = await tracker.wait_for(lambda p: p["t"] == "click")
    assert (click["h"], click["c"], click["p"]) == (NUMBER, code, href)


# -- dynamic pages


async def test_late_links_and_rerenders_never_double_the_code(tracker: Tracker, page: Page) -> None:
    await page.goto(tracker.url("app"))
    order = await marked(page, "#order")  # rendered after load, marked by the observer
    code = await code_of(page)
    check_marked(order, "https://wa.me/79991234567", "I want to order: bike #1", code)

    for render in range(2, 5):
        await page.evaluate("rerender()")  # the element is replaced by a fresh, unmarked one
        check_marked(
            await marked(page, "#order"), "https://wa.me/79991234567", f"I want to order: bike #{render}", code
        )
        await page.evaluate("resetHref()")  # the href attribute written back unmarked
        check_marked(await marked(page, "#plain"), "https://wa.me/79991234567", "", code)
        await page.evaluate("keepMarked()")  # a marked href copied into a new element
        check_marked(
            await marked(page, "#order"), "https://wa.me/79991234567", f"I want to order: bike #{render}", code
        )

    # chattrack.mark() re-scans on demand and changes nothing already marked
    before = await page.get_attribute("#order", "href")
    await page.evaluate("chattrack.mark(document.getElementById('root'))")
    assert await page.get_attribute("#order", "href") == before

    # loading the script a second time neither re-wraps nor doubles anything
    await tracker.wait_for(lambda p: p["t"] == "view")
    await page.add_script_tag(url=f"{tracker.origin}/t.js")
    await page.evaluate("rerender()")
    order = await marked(page, "#order")
    assert order.count(code) == 1
    assert len(tracker.views()) == 1


async def test_spa_route_changes_send_views_and_clicks_carry_the_current_route(tracker: Tracker, page: Page) -> None:
    tracker.config = SnippetConfig(
        numbers=[NUMBER], telegram=["furniture_shop"], presets=[("/spa/catalog", "A question about the catalog")]
    )
    opened = await chats(page)
    await page.goto(f"{tracker.site}/spa/")
    fab = await marked(page, "#fab")
    code = await code_of(page)
    check_marked(fab, "https://wa.me/79991234567", "", code)
    await tracker.wait_for(lambda p: p["t"] == "view")

    await page.click("#nav-catalog")
    catalog = f"{tracker.site}/spa/catalog"
    await tracker.wait_for(lambda p: p["t"] == "view" and p["u"] == catalog)
    # no text of its own: the catalog's preset phrase, on the route's button and on the layout's
    check_marked(await marked(page, "#ask"), "https://wa.me/79991234567", "A question about the catalog", code)
    await page.wait_for_function("document.querySelector('#fab').href.includes('catalog')")
    check_marked(await marked(page, "#fab"), "https://wa.me/79991234567", "A question about the catalog", code)

    await page.click("#nav-contacts")
    contacts = f"{tracker.site}/spa/contacts"
    await tracker.wait_for(lambda p: p["t"] == "view" and p["u"] == contacts)
    check_marked(await marked(page, "#ask"), "https://wa.me/79991234567", "Where is the showroom?", code)
    check_marked(await marked(page, "#tg"), "https://t.me/furniture_shop", "", code)

    await page.go_back()  # popstate
    await tracker.wait_for(lambda p: p["t"] == "view" and p["u"] == catalog and len(tracker.views()) == 4)
    await page.go_forward()
    await tracker.wait_for(lambda p: len(tracker.views()) == 5)

    async with page.expect_request(CHAT_URL):
        await page.click("#ask")
    check_marked(opened[0], "https://wa.me/79991234567", "Where is the showroom?", code)
    click = await tracker.wait_for(lambda p: p["t"] == "click")
    assert click["u"] == contacts  # the page of contact is the route at click time
    assert [v["u"] for v in tracker.views()] == [f"{tracker.site}/spa/", catalog, contacts, catalog, contacts]
    assert {v["c"] for v in tracker.received} == {code}


# -- protocol: failures, collisions, session, consent


async def test_failed_collect_keeps_links_marked_and_resends_the_view(tracker: Tracker, page: Page) -> None:
    tracker.fail_next = 1
    await page.goto(tracker.url("plain"))
    bare = await marked(page, "#bare")
    code = await code_of(page)
    assert bare.endswith(f"%28ref%20{code}%29")
    async with tracker.changed:
        await asyncio.wait_for(tracker.changed.wait_for(lambda: len(tracker.failed) == 1), WAIT)
    # the failed view waits in sessionStorage...
    await page.wait_for_function("JSON.parse(sessionStorage.ct).q.length === 1")
    # ...and goes out again when the tab is hidden or shown
    await page.evaluate("document.dispatchEvent(new Event('visibilitychange'))")
    view = await tracker.wait_for(lambda p: p["t"] == "view")
    assert view == tracker.failed[0]
    assert view["c"] == code
    await page.wait_for_function("JSON.parse(sessionStorage.ct).q.length === 0")


async def test_blocked_collect_is_resent_from_the_next_page(tracker: Tracker, page: Page) -> None:
    async def block(route: Route) -> None:
        await route.abort("blockedbyclient")  # as an ad blocker does

    await page.route(f"{tracker.origin}/collect", block)
    await page.goto(tracker.url("plain"))
    bare = await marked(page, "#bare")
    code = await code_of(page)
    assert bare == f"https://wa.me/79991234567?text=%28ref%20{code}%29"
    await page.wait_for_function("JSON.parse(sessionStorage.ct).q.length === 1")
    assert tracker.received == []

    await page.unroute(f"{tracker.origin}/collect")
    await page.goto(tracker.url("telegram"))  # same tab: same visit, same code
    await tracker.wait_for(lambda p: p["u"] == tracker.url("plain"))
    await tracker.wait_for(lambda p: p["u"] == tracker.url("telegram"))
    assert [v["c"] for v in tracker.views()] == [code, code]
    assert await code_of(page) == code


async def test_a_code_taken_on_the_server_is_replaced_on_every_link(tracker: Tracker, page: Page) -> None:
    replacement = tracker.collide_with = new_code()
    opened = await chats(page)
    await page.goto(tracker.url("plain"))
    await page.wait_for_function(f"chattrack.code() === '{replacement}'")
    first = await tracker.wait_for(lambda p: p["t"] == "view")
    assert first["c"] != replacement
    assert await page.evaluate("JSON.parse(sessionStorage.ct).c") == replacement
    assert await marked(page, "#bare") == f"https://wa.me/79991234567?text=%28ref%20{replacement}%29"
    check_marked(
        await marked(page, "#with-text"), "https://wa.me/79991234567", "Hello, I want to book a repair", replacement
    )
    async with page.expect_request(CHAT_URL):
        await page.click("#with-text")
    check_marked(opened[0], "https://wa.me/79991234567", "Hello, I want to book a repair", replacement)
    click = await tracker.wait_for(lambda p: p["t"] == "click")
    assert click["c"] == replacement


async def test_visit_code_lives_for_the_tab_and_visitor_id_for_the_browser(tracker: Tracker, page: Page) -> None:
    await page.context.add_cookies(
        [
            {"name": "_ga", "value": "GA1.1.1234567890.1700000000", "url": "http://shop.test/"},
            {"name": "_ym_uid", "value": "1700000000123456789", "url": "http://shop.test/"},
        ]
    )
    await page.goto(tracker.url("plain"), referer="https://yandex.ru/")
    first = await tracker.wait_for(lambda p: p["t"] == "view")
    assert (first["ga"], first["ym"]) == ("1234567890.1700000000", "1700000000123456789")

    await page.goto(tracker.url("api"))  # same tab: same code, first touch kept
    second = await tracker.wait_for(lambda p: p["u"] == tracker.url("api"))
    assert second["c"] == first["c"]
    assert second["v"] == first["v"]
    assert second["ft"] == {"u": tracker.url("plain"), "r": "https://yandex.ru/"}

    other_tab = await page.context.new_page()  # a new tab: a new visit of the same visitor
    await other_tab.goto(tracker.url("telegram"))
    third = await tracker.wait_for(lambda p: p["u"] == tracker.url("telegram"))
    assert third["c"] != first["c"]
    assert third["v"] == first["v"]
    assert third["ft"] == first["ft"]


async def test_a_new_visit_starts_after_30_minutes_without_a_page_view(tracker: Tracker, page: Page) -> None:
    await page.clock.install()
    await page.goto(tracker.url("plain"))
    first = await tracker.wait_for(lambda p: p["t"] == "view")
    await page.clock.fast_forward("29:00")
    await page.evaluate("history.pushState(null, '', '?second')")
    second = await tracker.wait_for(lambda p: p["u"].endswith("?second"))
    assert second["c"] == first["c"]

    await page.clock.fast_forward("31:00")
    await page.evaluate("history.pushState(null, '', '?third')")
    third = await tracker.wait_for(lambda p: p["u"].endswith("?third"))
    assert third["c"] != first["c"]
    assert is_valid_code(third["c"])
    assert third["v"] == first["v"]
    assert await marked(page, "#bare") == f"https://wa.me/79991234567?text=%28ref%20{third['c']}%29"
    assert await page.evaluate("JSON.parse(localStorage.ct).l.u") == tracker.url("plain") + "?third"  # last touch
    assert await page.evaluate("JSON.parse(localStorage.ct).f.u") == tracker.url("plain")  # first touch


async def test_consent_mode_stores_nothing_until_consent(tracker: Tracker, page: Page) -> None:
    tracker.config = SnippetConfig(numbers=[NUMBER], consent_required=True)
    await page.context.add_cookies([{"name": "_ga", "value": "GA1.1.42.1700000000", "url": "http://shop.test/"}])
    await page.goto(tracker.url("plain"))
    bare = await marked(page, "#bare")  # links are marked with an in-memory code
    code = await code_of(page)
    assert bare.endswith(f"%28ref%20{code}%29")
    view = await tracker.wait_for(lambda p: p["t"] == "view")
    assert "ga" not in view and "ft" not in view
    assert await page.evaluate("localStorage.length + sessionStorage.length") == 0

    await page.evaluate("chattrack.consent()")
    after = await tracker.wait_for(lambda p: p["t"] == "view" and "ga" in p)
    assert after["c"] == code
    assert after["ga"] == "42.1700000000"
    assert after["ft"] == {"u": tracker.url("plain"), "r": ""}
    assert await page.evaluate("JSON.parse(sessionStorage.ct).c") == code
    assert await page.evaluate("JSON.parse(localStorage.ct).v") == after["v"]

    await page.goto(tracker.url("api"))  # the next page resumes the stored visit once consent is given
    await page.evaluate("chattrack.consent()")
    await page.wait_for_function(f"chattrack.code() === '{code}'")
    resumed = await tracker.wait_for(lambda p: p["u"] == tracker.url("api") and "ga" in p)
    assert (resumed["c"], resumed["v"]) == (code, after["v"])


async def test_strict_csp_with_nonce_has_no_violations(tracker: Tracker, page: Page) -> None:
    errors = collect_errors(page)
    opened = await chats(page)
    await page.goto(tracker.url("csp"))
    check_marked(await marked(page, "#wa"), "https://wa.me/79991234567", "Card question", await code_of(page))
    await tracker.wait_for(lambda p: p["t"] == "view")
    async with page.expect_popup() as popup:
        await page.click("#data")
    await (await popup.value).wait_for_load_state()
    check_marked(opened[0], "https://wa.me/79991234567", "", await code_of(page))
    await tracker.wait_for(lambda p: p["t"] == "click")
    # tx.js (import()) loads under the same policy: a link form only it knows is marked
    await page.evaluate(
        """() => { const a = document.createElement('a'); a.id = 'alias';
            a.setAttribute('href', 'https://telegram.me/shop_bot?text=Hi'); document.body.append(a); }"""
    )
    check_marked(await marked(page, "#alias"), "https://telegram.me/shop_bot", "Hi", await code_of(page))
    assert await page.evaluate("window.violations") == []
    assert errors == []


async def test_codes_made_in_the_browser_validate_in_python(tracker: Tracker, page: Page) -> None:
    tracker.config = SnippetConfig(numbers=[NUMBER], consent_required=True)  # nothing kept: a new code each load
    await page.goto(tracker.url("codes"))
    codes: list[str] = await asyncio.wait_for(page.evaluate("collectCodes(200)"), WAIT)
    assert len(codes) == 200
    assert all(is_valid_code(code) for code in codes), [c for c in codes if not is_valid_code(c)]
    assert len(set(codes)) == 200
    # the check character is not a constant: it depends on the payload
    assert len({code[-1] for code in codes}) > 16


async def test_the_script_never_throws_into_the_page(tracker: Tracker, page: Page) -> None:
    errors = collect_errors(page)
    await page.goto(tracker.url("plain"))
    await marked(page, "#bare")
    # hostile input through every entry point
    await page.evaluate(
        """() => {
            chattrack.mark(null); chattrack.mark(42); chattrack.consent();
            const a = document.createElement('a');
            a.setAttribute('href', 'https://wa.me:99999999/%%%');
            document.body.appendChild(a);
            const b = document.createElement('div');
            b.setAttribute('data-href', 'http://[::1');
            document.body.appendChild(b);
            b.click();
            history.pushState(null, '', '?step=2');
            window.open('about:blank').close(); window.open(undefined).close();
        }"""
    )
    await tracker.wait_for(lambda p: p["u"].endswith("?step=2"))
    assert errors == []


async def test_the_only_global_is_chattrack(tracker: Tracker, page: Page) -> None:
    await page.goto(tracker.url("codes"))  # a page without the tag
    before = set(await page.evaluate("Object.getOwnPropertyNames(window)"))
    await page.add_script_tag(url=f"{tracker.origin}/t.js")
    await page.wait_for_function("window.chattrack && chattrack.code()")
    after = set(await page.evaluate("Object.getOwnPropertyNames(window)"))
    assert after - before == {"chattrack"}
    assert sorted(await page.evaluate("Object.keys(chattrack)")) == ["code", "consent", "mark"]
