# ruff: noqa: F811  (pytest fixtures imported from tests.browser are parameters here)
"""The demo page in headless Chromium against the real server: the snippet marks its WhatsApp button, «Отправить
как клиент» sends the prefilled text, and the lead alert reaches the local Bot API marked as a demo, with the
page's campaign and the code stripped from the customer's words."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.async_api import Page, Request, expect

from tests.browser import browser, collect_errors, page  # noqa: F401
from tests.fakes.telegram_api import FakeTelegramAPI
from tracking.codes import extract_code
from tracking.demo import demo_count
from webhooks.demo import DEMO_NUMBER

OWNER = 1001
WAIT = 10_000  # ms a condition may take in the browser before the test fails


@pytest.fixture
async def telegram() -> AsyncIterator[FakeTelegramAPI]:
    async with FakeTelegramAPI() as fake:
        yield fake


@pytest.mark.parametrize(("tracked", "number"), [("+7 999 123-45-67", "79991234567"), ("", DEMO_NUMBER)])
async def test_the_demo_page_makes_a_marked_lead_alert(
    start_server: Any,
    telegram: FakeTelegramAPI,
    page: Page,
    tracked: str,
    number: str,
) -> None:
    server = await start_server(
        tracked_numbers=tracked,
        telegram_bot_token="123456:TEST-token",
        telegram_owner_ids=str(OWNER),
        telegram_api_url=telegram.url,
        site_origins="https://salon.example",  # the demo page is this server's own: /collect still takes it
    )
    errors = collect_errors(page)
    clicks: list[dict[str, Any]] = []

    def watch(request: Request) -> None:
        if request.url.endswith("/collect") and request.post_data:
            posted = json.loads(request.post_data)
            if posted.get("t") == "click":
                clicks.append(posted)

    page.on("request", watch)
    await page.goto(server.url + "/demo")
    assert "utm_campaign=demo" in page.url  # redirected to its campaign

    send = page.locator("#send")
    await send.wait_for(state="visible")
    await expect(send).to_be_enabled(timeout=WAIT)  # the link is marked and the server has the visit
    href = await page.get_attribute("a[data-demo-chat]", "href")
    assert href is not None and href.startswith(f"https://wa.me/{number}?text=")
    text = parse_qs(urlsplit(href).query)["text"][0]
    code = extract_code(text).code
    assert code is not None  # the snippet marked the link
    assert await page.text_content("#prefilled") == text  # the page shows what a customer would send

    await page.click("a[data-demo-chat]")  # no WhatsApp here: the page says so, and no click is recorded
    await expect(page.locator("#result")).to_contain_text("Отправить как клиент", timeout=WAIT)
    assert page.url.startswith(server.url + "/demo")

    await send.click()
    await expect(page.locator("#result")).to_contain_text("Telegram", timeout=WAIT)
    alert = await telegram.wait_for("sendMessage", lambda c: c.ok and c.params.get("chat_id") == OWNER)
    body = str(alert.params["text"])
    assert body.startswith("🧪 <b>Демо</b>")
    assert "Кампания: demo" in body
    [said] = [line for line in body.splitlines() if line.startswith("💬")]
    assert code not in said and "Здравствуйте! Хочу записаться на семейную фотосессию" in said
    [dialog] = await server.store.find_dialogs(code=code)
    assert dialog.tags == ["demo"] and dialog.business_number == "+" + number
    assert await demo_count(server.store) == 1
    assert clicks == []  # a demo visit is never a candidate for a real code-less message
    assert errors == []
