# ruff: noqa: F811  (pytest fixtures imported from tests.browser are parameters here)
"""The dashboard's "Done means", end to end in Chromium at phone and desktop sizes: an owner asks the bot for
/web, opens the one-time link, sees each widget with the JSON API's numbers for the same seeded data, switches
a widget's buckets, the page's period and a filter, opens a lead's card from the list, ticks a tag, and the
lead's alert in Telegram (the local Bot API) is edited to show it. The Mini App's sign-in and its refusals are
in test_dashboard_auth.py and test_dashboard_signin_browser.py."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import aiohttp
import pytest
from playwright.async_api import Browser, Page, expect

from bot.runtime import BOT_RUNTIME
from tests.browser import browser, collect_errors  # noqa: F401
from tests.conftest import RunningServer
from tests.dashboard_helpers import OWNER_ID
from tests.dashboard_seed import seed_business
from tests.fakes.telegram_api import ApiCall
from tests.test_bot_commands import BotAPI, Person
from tests.test_dashboard_browser import SIZES, WAIT, all_drawn, summary_total
from tests.test_outbox import TOKEN as BOT_TOKEN
from tests.test_outbox import queue_lead
from tracking.periods import utc_now

API_TOKEN = "dashboard-e2e-api-token"
LINK = re.compile(r"(http\S+/dashboard/login\?token=[A-Za-z0-9_-]+)")


@pytest.fixture
async def api() -> AsyncIterator[BotAPI]:
    fake = BotAPI()
    await fake.start()
    yield fake
    await fake.stop()


async def from_api(server: RunningServer, path: str) -> Any:
    async with (
        aiohttp.ClientSession() as http,
        http.get(server.url + path, headers={"Authorization": f"Bearer {API_TOKEN}"}) as response,
    ):
        assert response.status == 200, await response.text()
        return await response.json()


async def values(page: Page, selector: str) -> list[float]:
    """The raw numbers (data-value) of the cells `selector` finds, in the page's order."""
    found = await page.locator(selector).evaluate_all("cells => cells.map(c => c.dataset.value)")
    return [float(value) for value in found]


def is_card_alert(call: ApiCall) -> bool:
    """A lead alert to the owner (it has the card's buttons), not a notice about the installation."""
    markup = call.params.get("reply_markup") or {}
    return call.ok and call.params.get("chat_id") == OWNER_ID and bool(markup.get("inline_keyboard"))


@pytest.mark.parametrize("size", ["phone", "desktop"])
async def test_from_the_bots_link_to_an_edited_alert(
    size: str, api: BotAPI, start_server: Any, browser: Browser
) -> None:
    # `api` first: fixtures tear down in reverse, so the server stops polling before the Bot API goes away
    server: RunningServer = await start_server(
        telegram_bot_token=BOT_TOKEN,
        telegram_owner_ids=str(OWNER_ID),
        telegram_api_url=api.url,
        api_token=API_TOKEN,
    )
    await seed_business(server.store, utc_now())
    lead = await queue_lead(server.store, at=datetime.now(UTC), chats=(OWNER_ID,))  # type: ignore[arg-type]
    server.app[BOT_RUNTIME].kick()  # as a webhook does after storing a new dialog
    alert = await api.wait_for("sendMessage", is_card_alert)

    owner = Person(api, OWNER_ID, "ru", "Ирина")
    owner.says("/web")
    answer = await api.wait_for("sendMessage", lambda c: c.ok and "/dashboard/login?token=" in str(c.params["text"]))
    found = LINK.search(str(answer.params["text"]))
    assert found is not None
    link = found.group(1).replace("&amp;", "&")

    context = await browser.new_context(viewport=SIZES[size], locale="ru-RU")
    try:
        page = await context.new_page()
        errors = collect_errors(page)

        # the link's page posts the one-time token by itself and lands on the dashboard
        await page.goto(link)
        await page.wait_for_url(re.compile(r"/dashboard$"), timeout=WAIT)
        await all_drawn(page)
        summary = await from_api(server, "/api/reports/summary?period=30d")
        assert await summary_total(page) == summary["dialogs"] > 0
        channels = await from_api(server, "/api/reports/channels?period=30d")
        shown = await values(page, "[data-widget='channels'] tbody [data-field='dialogs']")
        assert shown == [row["dialogs"] for row in channels["rows"]]

        # a widget's own switch: dynamics by week, the API's weekly totals
        await page.locator("[data-widget='dynamics'] a[data-reload][href*='bucket=week']").click()
        await expect(
            page.locator("[data-widget='dynamics'] a[aria-current='true'][href*='bucket=week']")
        ).to_have_count(1, timeout=WAIT)
        weekly = await from_api(server, "/api/reports/dynamics?period=30d&bucket=week")
        rows = await values(page, "[data-widget='dynamics'] tbody [data-field='total']")
        assert rows == [float(n) for n in weekly["totals"]] and len(rows) == len(weekly["buckets"])

        # the page's period: every widget again, for seven days
        await page.locator("nav.presets a[href*='period=7d']").click()
        await all_drawn(page, contains="period=7d")
        assert await summary_total(page) == (await from_api(server, "/api/reports/summary?period=7d"))["dialogs"]

        # a filter: paid search only
        await page.locator("details.filters > summary").click()
        await page.locator("details.filters select[name='channel']").select_option("paid_search")
        await page.locator("details.filters button[type='submit']").click()
        await all_drawn(page, contains="channel=paid_search")
        filtered = await from_api(server, "/api/reports/summary?period=7d&channel=paid_search")
        assert (
            await summary_total(page)
            == filtered["dialogs"]
            < (await from_api(server, "/api/reports/summary?period=7d"))["dialogs"]
        )

        # the list, the lead's card, a tag ticked: the alert in Telegram shows it
        await page.goto(server.url + "/dashboard/dialogs?q=" + quote(lead.contact_id))
        await page.locator(f"a.d-row[href^='/dashboard/dialogs/{lead.id}']").click()
        await page.wait_for_url(re.compile(rf"/dashboard/dialogs/{lead.id}"), timeout=WAIT)
        await page.locator("input[type='checkbox'][name='tag'][value='qualified']").check()
        await page.locator("form[action*='/tags'] button[type='submit']").click()
        await expect(page.locator("input[type='checkbox'][name='tag'][value='qualified']")).to_be_checked(timeout=WAIT)
        edit = await api.wait_for(
            "editMessageText",
            lambda c: (
                c.ok
                and c.params.get("message_id") == alert.result["message_id"]
                and c.params["reply_markup"]["inline_keyboard"][0][0]["text"] == "✅ Целевой"
            ),
        )
        assert edit.params["chat_id"] == OWNER_ID
        stored = await server.store.get_dialog(lead.id)
        assert stored is not None and "qualified" in stored.tags
        assert errors == []
    finally:
        await context.close()
