"""Headless Chromium (Debian's build) driven by Playwright, for tests that need a real browser.

Import the fixtures into a test module: ``from tests.browser import browser, page  # noqa: F401``.
No ``playwright install``: Playwright drives /usr/lib/chromium/chromium.

Host names ending in ``.test`` resolve to 127.0.0.1 inside this browser, so a test can serve a
"site" at ``http://shop.test:<port>/`` and the tracker at ``http://127.0.0.1:<port>/`` from the
same local server and still get two origins, as in production.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from playwright.async_api import Browser, ConsoleMessage, Error, Page, async_playwright

from tests.fakes import serve_app

CHROMIUM = os.environ.get("CHATTRACK_TEST_CHROMIUM", "/usr/lib/chromium/chromium")
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--host-resolver-rules=MAP *.test 127.0.0.1",
]


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        try:
            yield launched
        finally:
            await launched.close()


@pytest.fixture
async def page(browser: Browser) -> AsyncIterator[Page]:
    """A page in a fresh context (empty storage and cookies), closed after the test."""
    context = await browser.new_context()
    try:
        yield await context.new_page()
    finally:
        await context.close()


def collect_errors(page: Page) -> list[str]:
    """A list that fills with the page's uncaught errors and console errors (CSP violations among them)."""
    errors: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            errors.append(f"console: {message.text} ({message.location.get('url')})")

    def on_page_error(error: Error) -> None:
        errors.append(f"pageerror: {error.message}")

    page.on("console", on_console)
    page.on("pageerror", on_page_error)
    return errors


async def serve_page(path: str, html: str) -> tuple[web.AppRunner, str]:
    """A site of one page at `path` on a free port; its address names the host shop.test (mapped above)."""

    async def page(request: web.Request) -> web.Response:
        return web.Response(text=html, content_type="text/html")

    app = web.Application()
    app.router.add_get(path, page)
    runner, url = await serve_app(app)
    return runner, url.replace("127.0.0.1", "shop.test")
