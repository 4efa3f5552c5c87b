"""The whole first path over real sockets: a site page with the snippet in headless Chromium, the
wa.me link clicked, its prefilled text sent through Twilio's webhook, a lead alert at the Bot API."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest
from aiohttp import web
from playwright.async_api import Page, Route

from tests.browser import browser, collect_errors, page, serve_page  # noqa: F401
from tests.conftest import twilio_form
from tests.fakes.telegram_api import FakeTelegramAPI
from tracking.codes import extract_code
from tracking.models import AttributionStatus, Channel

OWNER = 1001
LANDING = "/kids?utm_source=yandex&utm_medium=cpc&utm_campaign=kids_nov&utm_content=ad7&utm_term=photo"


def site_page(tracker_url: str) -> str:
    return f"""<!doctype html><html lang="ru"><head><meta charset="utf-8"><title>Фотостудия</title></head>
<body><h1>Детская съёмка</h1>
<a id="tracked" href="https://wa.me/79991234567?text=%D0%A1%D0%BA%D0%BE%D0%BB%D1%8C%D0%BA%D0%BE%20%D1%81%D1%82%D0%BE%D0%B8%D1%82%3F">WhatsApp</a>
<a id="other" href="https://wa.me/79990000000">Другой номер</a>
<a id="api" href="https://api.whatsapp.com/send?phone=+7%20(999)%20123-45-67">api</a>
<script async src="{tracker_url}/t.js"></script></body></html>"""


@pytest.fixture
async def telegram() -> AsyncIterator[FakeTelegramAPI]:
    async with FakeTelegramAPI() as fake:
        yield fake


async def serve_site(tracker_url: str) -> tuple[web.AppRunner, str]:
    return await serve_page("/kids", site_page(tracker_url))


async def record_collects(tab: Page) -> dict[str, asyncio.Event]:
    """Events set once the server has answered a page view / a click (the snippet's POST /collect)."""
    answered = {"view": asyncio.Event(), "click": asyncio.Event()}

    async def relay(route: Route) -> None:
        response = await route.fetch()  # the real server answers; the browser gets its answer
        await route.fulfill(response=response)
        kind = json.loads(route.request.post_data or "{}").get("t")
        if response.status == 200 and kind in answered:
            answered[kind].set()

    await tab.route("**/collect", relay)
    return answered


async def open_whatsapp_link(tab: Page, selector: str) -> str:
    """Click a link and return the URL the browser would open (WhatsApp itself is not reachable here)."""
    opened: list[str] = []

    async def capture(route: Route) -> None:
        opened.append(route.request.url)
        await route.fulfill(status=200, body="whatsapp", content_type="text/plain")

    await tab.route("https://wa.me/**", capture)
    await tab.click(selector)
    await tab.wait_for_url("https://wa.me/**")
    return opened[0]


async def test_site_visit_to_lead_alert(
    start_server: Any,
    http: aiohttp.ClientSession,
    telegram: FakeTelegramAPI,
    page: Page,  # noqa: F811
) -> None:
    server = await start_server(
        telegram_bot_token="123456:TEST-token",
        telegram_owner_ids=str(OWNER),
        telegram_api_url=telegram.url,
    )
    site, site_url = await serve_site(server.url)
    errors = collect_errors(page)
    try:
        collected = await record_collects(page)
        await page.goto(site_url + LANDING)
        await asyncio.wait_for(collected["view"].wait(), 10)
        tracked = await page.get_attribute("#tracked", "href")
        assert tracked is not None and "%D0%BA%D0%BE%D0%B4" in tracked  # "код" appended
        assert await page.get_attribute("#other", "href") == "https://wa.me/79990000000"

        opened = await open_whatsapp_link(page, "#tracked")
        await asyncio.wait_for(collected["click"].wait(), 10)
    finally:
        await site.cleanup()

    text = parse_qs(urlsplit(opened).query)["text"][0]
    extraction = extract_code(text)
    assert extraction.code is not None and extraction.marked
    assert text.startswith("Сколько стоит?")  # the link's own text is kept
    assert extraction.text == "Сколько стоит?"
    assert errors == []

    response = await server.post_twilio(http, twilio_form(text, sid="SMe2e0000000000000000000000000001"))
    assert response.status == 200

    # the lead alert (with its card button), not the installation's notice of the first page view
    alert = await telegram.wait_for(
        "sendMessage",
        lambda c: c.params.get("chat_id") in (OWNER, str(OWNER)) and "card:" in str(c.params.get("reply_markup")),
        timeout=1,
    )
    body = str(alert.params["text"])
    assert "kids_nov" in body
    assert "Сколько стоит?" in body
    markup = alert.params.get("reply_markup")
    assert markup, "the alert carries tag buttons"
    buttons = json.loads(markup) if isinstance(markup, str) else markup
    assert buttons["inline_keyboard"]

    [dialog] = await server.store.find_dialogs(contact_id="+79161234567")
    assert dialog.status is AttributionStatus.EXACT
    assert dialog.attribution.channel is Channel.PAID_SEARCH
    assert (dialog.attribution.source, dialog.attribution.campaign) == ("yandex", "kids_nov")
    assert (dialog.attribution.content, dialog.attribution.term) == ("ad7", "photo")
    page = site_url.removeprefix("http://") + "/kids"  # host and path: the tags are in their own fields
    assert (dialog.attribution.landing_page, dialog.attribution.contact_page) == (page, page)
    assert dialog.visit is not None and dialog.visit.attribution.landing_page == site_url + LANDING
    assert dialog.attribution.screen and "x" in dialog.attribution.screen
    assert dialog.attribution.os is not None
