"""The README's picture of the dashboard: a phone-sized screenshot of the page over seeded data.

    .venv/bin/python -m tests.dashboard_screenshot [docs/img/dashboard.png] [--dark] [--serve]

Starts the real server on a temporary SQLite file, seeds a believable business (tests/dashboard_seed.py),
signs in as the owner and takes the picture in headless Chromium at 360×740. With --serve it then keeps the
server running and prints a one-time login link, to look at the page in a browser.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from playwright.async_api import BrowserContext, ViewportSize, async_playwright

from dashboard.sessions import Person, new_login
from tests.browser import CHROMIUM, LAUNCH_ARGS
from tests.conftest import RunningServer, free_port, serving
from tests.dashboard_helpers import OWNER_ID, session_cookie
from tests.dashboard_seed import seed_business
from tracking.periods import utc_now
from tracking.settings import load_settings

PHONE: ViewportSize = {"width": 360, "height": 740}


@asynccontextmanager
async def seeded_server(folder: Path) -> AsyncIterator[RunningServer]:
    settings = load_settings(
        database_url=f"sqlite:///{folder / 'chattrack.db'}",
        tracked_numbers="+7 999 123-45-67",
        timezone="Europe/Moscow",
        telegram_owner_ids=str(OWNER_ID),
        port=free_port(),
    )
    async with serving(settings) as server:
        await seed_business(server.store, utc_now())
        yield server


async def sign_in(context: BrowserContext, server: RunningServer, lang: str = "ru") -> None:
    """The owner's session cookie in the browser, as the login link would have set it."""
    cookie = await session_cookie(server, lang=lang)  # type: ignore[arg-type]
    await context.add_cookies(
        [{"name": name, "value": value, "domain": "127.0.0.1", "path": "/dashboard"} for name, value in cookie.items()]
    )


async def screenshot(target: Path, dark: bool, serve: bool) -> None:
    with tempfile.TemporaryDirectory() as folder:
        async with seeded_server(Path(folder)) as server, async_playwright() as playwright:
            browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
            context = await browser.new_context(
                viewport=PHONE, device_scale_factor=2, color_scheme="dark" if dark else "light", locale="ru-RU"
            )
            await sign_in(context, server)
            page = await context.new_page()
            await page.goto(server.url + "/dashboard")
            await page.wait_for_selector("html[data-drawn='1']")
            target.parent.mkdir(parents=True, exist_ok=True)
            # the top of the page and the first widgets, as a phone shows them on two screens
            await page.screenshot(path=str(target), clip={"x": 0, "y": 0, "width": 360, "height": 1000}, full_page=True)
            print(f"wrote {target}")
            await browser.close()
            if serve:
                secret = await new_login(server.store, Person(user_id=OWNER_ID, name="Анна", lang="ru"), utc_now())
                print(f"open {server.url}/dashboard/login?token={secret} (once, 10 minutes); Ctrl+C stops")
                await asyncio.Event().wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("target", nargs="?", default="docs/img/dashboard.png", type=Path)
    parser.add_argument("--dark", action="store_true")
    parser.add_argument("--serve", action="store_true")
    args = parser.parse_args()
    asyncio.run(screenshot(args.target, args.dark, args.serve))


if __name__ == "__main__":
    main()
