# ruff: noqa: F811  (pytest fixtures imported from tests.browser are parameters here)
"""The dashboard opened as a Mini App in headless Chromium: Telegram puts the signed initData in the address's
fragment, the sign-in page posts it by itself and lands on the dashboard with a session; the same initData
again, or a forged one, leaves the visitor on the refusal in words."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, Page, Response, expect

from dashboard.viewer import COOKIE
from tests.browser import browser, collect_errors  # noqa: F401
from tests.conftest import RunningServer
from tests.dashboard_helpers import OWNER_ID
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.mini_app import BOT_TOKEN, init_data, launch_fragment, telegram_user

WAIT = 10_000  # ms a condition may take in the browser before the test fails


@pytest.fixture
async def telegram() -> AsyncIterator[FakeTelegramAPI]:
    async with FakeTelegramAPI() as fake:
        yield fake


@pytest.fixture
async def server(start_server: object, telegram: FakeTelegramAPI) -> RunningServer:
    running: RunningServer = await start_server(  # type: ignore[operator]
        telegram_bot_token=BOT_TOKEN, telegram_owner_ids=str(OWNER_ID), telegram_api_url=telegram.url
    )
    return running


async def mini_app(browser: Browser, server: RunningServer, data: str) -> tuple[Page, list[Response], list[str]]:
    """A fresh browser (no cookies) opening the dashboard as Telegram opens a Mini App: the page's documents
    as they load, and its errors (CSP violations among them)."""
    context = await browser.new_context(viewport={"width": 360, "height": 740}, locale="ru-RU")
    page = await context.new_page()
    documents: list[Response] = []
    page.on("response", lambda r: documents.append(r) if r.request.resource_type == "document" else None)
    errors = collect_errors(page)
    await page.goto(server.url + "/dashboard" + launch_fragment(data))
    return page, documents, errors


def script_errors(errors: list[str]) -> list[str]:
    """Errors of the page's scripts and CSP violations; not the refusals' own 401s (the page, the post)."""
    return [error for error in errors if "Failed to load resource" not in error]


async def test_the_mini_app_signs_in_from_init_data_and_a_replay_is_refused(
    browser: Browser, server: RunningServer
) -> None:
    data = init_data(telegram_user(OWNER_ID, "Анна", "ru"), int(time.time()))

    page, documents, errors = await mini_app(browser, server, data)
    await expect(page.locator('meta[name="csrf-token"]')).to_have_count(1, timeout=WAIT)  # the signed-in page
    cookies = {c["name"]: c for c in await page.context.cookies()}
    replayed, replayed_documents, replayed_errors = await mini_app(browser, server, data)
    failed = replayed.locator(".signin-failed")
    await expect(failed).to_be_visible(timeout=WAIT)

    assert [(urlpath(r.url), r.status) for r in documents] == [("/dashboard", 401), ("/dashboard", 200)]
    assert page.url.endswith(launch_fragment(data))  # the launch parameters stay for the page (its theme)
    assert cookies[COOKIE]["httpOnly"] and cookies[COOKIE]["path"] == "/dashboard"
    assert script_errors(errors) == []
    assert await failed.text_content() == (
        "Эти данные для входа уже использованы. Закройте отчёты и откройте их снова кнопкой «Отчёты» в чате с ботом."
    )
    assert [r.status for r in replayed_documents] == [401]  # no reload: it stays on the refusal
    assert COOKIE not in {c["name"] for c in await replayed.context.cookies()}
    assert await replayed.locator(".signin-words").is_hidden()  # «send /web» is not what helps here
    assert script_errors(replayed_errors) == []
    await page.context.close()
    await replayed.context.close()


async def test_a_forged_mini_app_launch_stays_signed_out(browser: Browser, server: RunningServer) -> None:
    forged_user = json.dumps(telegram_user(OWNER_ID), separators=(",", ":"))
    data = init_data(telegram_user(4242, lang="en"), int(time.time()), edits={"user": forged_user})

    page, documents, errors = await mini_app(browser, server, data)
    failed = page.locator(".signin-failed")
    await expect(failed).to_be_visible(timeout=WAIT)

    assert (await failed.text_content() or "").startswith("Telegram не подтвердил данные для входа.")
    assert [r.status for r in documents] == [401]
    assert await page.context.cookies() == []
    assert script_errors(errors) == []
    await page.context.close()


def urlpath(url: str) -> str:
    return "/" + url.split("/", 3)[3].split("#")[0].split("?")[0]
