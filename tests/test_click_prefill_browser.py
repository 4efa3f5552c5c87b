# ruff: noqa: F811  (pytest fixtures imported from tests.browser are parameters here)
"""Issue 21 over real sockets: the snippet in headless Chromium, the real server and its SQLite store. Each
click keeps the text its link put into the messenger, without the code: a WhatsApp link's own text, the
page's preset phrase for a link without one, a Telegram link's text."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import pytest
from aiohttp import web
from playwright.async_api import Page, Route

from tests.browser import browser, collect_errors, page, serve_page  # noqa: F401
from tracking.codes import extract_code
from tracking.models import Click
from tracking.periods import utc_now

WAIT = 10.0  # seconds a condition may take before the test fails (never a sleep)
PRESET = "Хочу записаться на детскую съёмку"
OWN_TEXT = "Сколько стоит съёмка? 📸"  # percent-encoded in the link, as site builders write it


def site_page(tracker_url: str) -> str:
    return f"""<!doctype html><html lang="ru"><head><meta charset="utf-8"><title>Фотостудия</title></head>
<body>
<a id="own" href="https://wa.me/79991234567?text={quote(OWN_TEXT)}" target="_blank">WhatsApp</a>
<a id="bare" href="https://api.whatsapp.com/send?phone=79991234567" target="_blank">WhatsApp</a>
<a id="tg" href="https://t.me/Furniture_Shop?text=Is%20the%20sofa%20in%20stock%3F" target="_blank">Telegram</a>
<script async src="{tracker_url}/t.js"></script></body></html>"""


async def serve_site(tracker_url: str) -> tuple[web.AppRunner, str]:
    return await serve_page("/kids/photo", site_page(tracker_url))


@pytest.fixture
async def site(start_server: Any) -> AsyncIterator[tuple[Any, str]]:
    server = await start_server(telegram_usernames="furniture_shop", presets={"/kids/*": PRESET})
    runner, url = await serve_site(server.url)
    yield server, url
    await runner.cleanup()


async def answered_clicks(tab: Page) -> asyncio.Queue[str]:
    """A queue of the chat URLs of clicks the real server has answered (the snippet's POST /collect)."""
    answered: asyncio.Queue[str] = asyncio.Queue()

    async def relay(route: Route) -> None:
        response = await route.fetch()  # the real server answers; the browser gets its answer
        await route.fulfill(response=response)
        sent = json.loads(route.request.post_data or "{}")
        if response.status == 200 and sent.get("t") == "click":
            answered.put_nowait(sent["p"])

    await tab.route("**/collect", relay)
    return answered


async def chats(tab: Page) -> list[str]:
    """Chat URLs answered with a stub page (no internet here); the list fills with the URLs opened."""
    opened: list[str] = []

    async def stub(route: Route) -> None:
        opened.append(route.request.url)
        await route.fulfill(status=200, content_type="text/html", body="<title>chat</title>")

    await tab.context.route("https://{wa.me,api.whatsapp.com,t.me}/**", stub)
    return opened


async def click(tab: Page, selector: str, answered: asyncio.Queue[str]) -> str:
    """Click a chat link: the chat URL the snippet reported, once the server has answered the click."""
    async with tab.expect_popup() as popup:
        await tab.click(selector)
    await (await popup.value).wait_for_load_state()
    return await asyncio.wait_for(answered.get(), WAIT)


async def clicks_on(server: Any, target: str) -> list[Click]:
    now = utc_now()
    return list(await server.store.recent_clicks(target, now - timedelta(minutes=1), now))


def text_of(url: str) -> str:
    return parse_qs(urlsplit(url).query)["text"][0]


async def test_each_click_keeps_the_text_its_link_prefilled_without_the_code(
    site: tuple[Any, str],
    page: Page,
) -> None:
    server, url = site
    errors = collect_errors(page)
    opened = await chats(page)
    answered = await answered_clicks(page)
    await page.goto(url + "/kids/photo")
    await page.wait_for_function("window.chattrack && chattrack.code()")
    code = str(await page.evaluate("chattrack.code()"))

    await page.clock.install()
    reported = [await click(page, "#own", answered)]
    await page.clock.fast_forward(2000)  # a click on the same target within a second counts once
    reported.append(await click(page, "#bare", answered))
    reported.append(await click(page, "#tg", answered))

    assert reported == opened  # each click reports the marked url the browser opened
    for chat in opened:  # what the customer's messenger gets: the text with the code
        assert extract_code(text_of(chat)).code == code
    whatsapp = await clicks_on(server, "+79991234567")
    assert [(c.code, c.prefill) for c in whatsapp] == [(code, OWN_TEXT), (code, PRESET)]
    [telegram] = await clicks_on(server, "@furniture_shop")
    assert (telegram.code, telegram.prefill) == (code, "Is the sofa in stock?")
    assert errors == []
