# ruff: noqa: F811  (pytest fixtures imported from tests.browser are parameters here)
"""The dashboard page in headless Chromium over seeded data: every registered widget drawn at phone and desktop
sizes in light and dark themes (the system's, and Telegram's from the Mini App's launch parameters), the period
picker and the filter form reloading every widget with the new choices, a widget's own switch, a tap on a bar
opening its dialogs, and the first view's weight and time to all widgets drawn.

Screenshots of every widget go to $CHATTRACK_SCREENSHOTS when set (else the test's tmp_path), named
<size>-<theme>-<widget>.png: look at them after a change to the page."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import aiohttp
import pytest
from playwright.async_api import Browser, BrowserContext, Page, ViewportSize, expect

from dashboard.widgets import ORDER, WIDGETS
from tests.browser import browser, collect_errors  # noqa: F401
from tests.conftest import RunningServer
from tests.dashboard_helpers import OWNER_ID, session_cookie
from tests.dashboard_seed import seed_business
from tracking.periods import utc_now

WAIT = 10_000  # ms a condition may take in the browser before the test fails
TOKEN = "dashboard-browser-api-token"
SIZES: dict[str, ViewportSize] = {"phone": {"width": 360, "height": 740}, "desktop": {"width": 1280, "height": 900}}
# Telegram's theme parameters as its apps send them (a dark chat theme and the default light one)
TELEGRAM_DARK = {
    "bg_color": "#17212b", "secondary_bg_color": "#0e1621", "section_bg_color": "#17212b", "text_color": "#f5f5f5",
    "hint_color": "#708499", "link_color": "#6ab3f3", "button_color": "#5288c1", "button_text_color": "#ffffff",
    "section_separator_color": "#111921",
}  # fmt: skip
TELEGRAM_LIGHT = {
    "bg_color": "#ffffff", "secondary_bg_color": "#efeff3", "section_bg_color": "#ffffff", "text_color": "#000000",
    "hint_color": "#999999", "link_color": "#2481cc", "button_color": "#2481cc", "button_text_color": "#ffffff",
    "section_separator_color": "#e7e7e7",
}  # fmt: skip
# theme name → (emulated color scheme, Telegram's parameters or None, the page background expected)
THEMES: dict[str, tuple[str, dict[str, str] | None, str]] = {
    "light": ("light", None, "rgb(241, 243, 246)"),
    "dark": ("dark", None, "rgb(15, 20, 25)"),
    "tg-light": ("dark", TELEGRAM_LIGHT, "rgb(239, 239, 243)"),  # Telegram's wins over the system's
    "tg-dark": ("light", TELEGRAM_DARK, "rgb(14, 22, 33)"),
}


# read at import: the tests' own fixture clears CHATTRACK_* variables before each test
SCREENSHOTS = os.environ.get("CHATTRACK_SCREENSHOTS")


def shots_folder(tmp_path: Path) -> Path:
    folder = Path(SCREENSHOTS or tmp_path / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def telegram_hash(theme: dict[str, str]) -> str:
    """The Mini App's launch parameters as Telegram puts them after the page's address."""
    return "#tgWebAppVersion=8.0&tgWebAppPlatform=android&tgWebAppThemeParams=" + quote(json.dumps(theme))


@pytest.fixture
async def seeded(start_server: Any) -> RunningServer:
    server: RunningServer = await start_server(telegram_owner_ids=str(OWNER_ID), api_token=TOKEN)
    await seed_business(server.store, utc_now())
    return server


async def signed_in_context(browser: Browser, server: RunningServer, **options: Any) -> BrowserContext:
    context = await browser.new_context(locale="ru-RU", **options)
    cookie = await session_cookie(server)
    await context.add_cookies(
        [{"name": name, "value": value, "domain": "127.0.0.1", "path": "/dashboard"} for name, value in cookie.items()]
    )
    return context


def registered() -> list[str]:
    return [name for name in ORDER if name in WIDGETS]


async def all_drawn(page: Page, *, contains: str = "") -> None:
    """Every widget's section holds its fragment (not loading, not failed), from an address with `contains`."""
    sections = page.locator("section.widget")
    await expect(sections).to_have_count(len(registered()))
    for name in registered():
        section = page.locator(f"section.widget[data-name='{name}']")
        await expect(section).to_have_attribute("data-state", "drawn", timeout=WAIT)
        await expect(section).not_to_have_attribute("aria-busy", "true")
        if contains:
            await expect(section).to_have_attribute("data-src", _containing(contains))
        await expect(section.locator(f"[data-widget='{name}']")).to_have_count(1)


def _containing(text: str) -> Any:
    import re

    return re.compile(re.escape(text))


async def api(server: RunningServer, path: str) -> Any:
    async with (
        aiohttp.ClientSession() as http,
        http.get(server.url + path, headers={"Authorization": f"Bearer {TOKEN}"}) as response,
    ):
        assert response.status == 200, await response.text()
        return await response.json()


async def summary_total(page: Page) -> int:
    cell = page.locator("[data-widget='summary'] tr[data-row='total'] [data-field='dialogs']")
    return int(await cell.get_attribute("data-value") or "-1")


@pytest.mark.parametrize("size", ["phone", "desktop"])
async def test_every_widget_drawn_in_every_theme(
    seeded: RunningServer, browser: Browser, size: str, tmp_path: Path
) -> None:
    folder = shots_folder(tmp_path)
    assert registered(), "no widget is registered"
    for theme, (scheme, telegram, background) in THEMES.items():
        context = await signed_in_context(browser, seeded, viewport=SIZES[size], color_scheme=scheme)
        try:
            page = await context.new_page()
            errors = collect_errors(page)
            await page.goto(seeded.url + "/dashboard" + (telegram_hash(telegram) if telegram else ""))
            await all_drawn(page)
            assert await page.evaluate("getComputedStyle(document.body).backgroundColor") == background, theme
            # every chart a fragment carries is drawn by Chart.js, at a size that fits its widget
            canvases = page.locator("section.widget canvas.chart")
            for i in range(await canvases.count()):
                canvas = canvases.nth(i)
                assert await canvas.evaluate("c => Chart.getChart(c) !== undefined")
                box = await canvas.bounding_box()
                assert box is not None and box["width"] > 100 and box["height"] > 80
            # nothing wider than the screen: wide tables scroll inside their widget
            width = await page.evaluate("document.documentElement.scrollWidth")
            assert width <= SIZES[size]["width"], f"{theme}: the page is {width}px wide"
            for name in registered():
                await page.locator(f"section.widget[data-name='{name}']").screenshot(
                    path=str(folder / f"{size}-{theme}-{name}.png")
                )
            assert errors == []
        finally:
            await context.close()


async def test_period_filter_and_switch_reload_the_widgets(seeded: RunningServer, browser: Browser) -> None:
    context = await signed_in_context(browser, seeded, viewport=SIZES["phone"])
    page = await context.new_page()
    errors = collect_errors(page)
    await page.goto(seeded.url + "/dashboard")
    await all_drawn(page)
    month = await summary_total(page)
    assert month == (await api(seeded, "/api/reports/summary?period=30d"))["dialogs"]

    await page.get_by_role("link", name="7 дней").click()
    await all_drawn(page, contains="period=7d")
    assert parse_qs(urlsplit(page.url).query)["period"] == ["7d"]
    await expect(page.locator(".presets a[aria-current]")).to_have_text("7 дней")
    week = (await api(seeded, "/api/reports/summary?period=7d"))["dialogs"]
    assert await summary_total(page) == week < month

    await page.locator("details.filters summary").click()
    await page.locator("select[name='channel']").select_option("paid_search")
    await page.locator("details.filters button[type='submit']").click()
    await all_drawn(page, contains="channel=paid_search")
    query = parse_qs(urlsplit(page.url).query)
    assert query["channel"] == ["paid_search"] and query["period"] == ["7d"]  # the period stays
    paid = (await api(seeded, "/api/reports/summary?period=7d&channel=paid_search"))["dialogs"]
    assert await summary_total(page) == paid < week
    await expect(page.locator(".chips")).to_contain_text("Платный поиск")

    # a widget's own switch reloads that widget only, keeping the page's choices
    if "dynamics" in WIDGETS:
        dynamics = page.locator("section.widget[data-name='dynamics']")
        await dynamics.get_by_role("link", name="Недели").click()
        await expect(dynamics).to_have_attribute("data-src", _containing("bucket=week"), timeout=WAIT)
        await expect(dynamics).to_have_attribute("data-state", "drawn")
        assert "channel=paid_search" in (await dynamics.get_attribute("data-src") or "")
        await expect(dynamics.locator("nav a[aria-current]")).to_have_text("Недели")

    # custom dates: the page names the period as the API does
    await page.locator("details.custom summary").click()
    await page.locator("input[name='from']").fill("2026-01-05")
    await page.locator("input[name='to']").fill("2026-01-11")
    await page.locator("details.custom button[type='submit']").click()
    await all_drawn(page, contains="period=2026-01-05..2026-01-11")
    assert parse_qs(urlsplit(page.url).query)["channel"] == ["paid_search"]

    # back: the previous choices, drawn again
    await page.go_back()
    await all_drawn(page, contains="period=7d")
    assert await summary_total(page) == paid
    assert errors == []
    await context.close()


async def test_a_tap_on_a_bar_opens_its_dialogs(seeded: RunningServer, browser: Browser) -> None:
    context = await signed_in_context(browser, seeded, viewport=SIZES["phone"], has_touch=True)
    page = await context.new_page()
    await page.goto(seeded.url + "/dashboard")
    await all_drawn(page)
    canvas = page.locator("section.widget[data-name='channels'] canvas.chart")
    spec = json.loads(await canvas.get_attribute("data-chart") or "{}")
    # the middle of the first bar, where Chart.js drew it
    x, y = await canvas.evaluate(
        "c => { const bar = Chart.getChart(c).getDatasetMeta(0).data[0]; return [(bar.x + bar.base) / 2, bar.y]; }"
    )
    box = await canvas.bounding_box()
    assert box is not None
    await page.touchscreen.tap(box["x"] + x, box["y"] + y)
    await page.wait_for_url(seeded.url + spec["links"][0], timeout=WAIT)
    await context.close()


async def test_telegram_theme_kept_for_later_pages(seeded: RunningServer, browser: Browser) -> None:
    context = await signed_in_context(browser, seeded, viewport=SIZES["phone"], color_scheme="light")
    page = await context.new_page()
    await page.goto(seeded.url + "/dashboard" + telegram_hash(TELEGRAM_DARK))
    await all_drawn(page)
    assert await page.evaluate("document.documentElement.dataset.theme") == "dark"
    await page.goto(seeded.url + "/dashboard?period=today")  # no launch parameters in this address
    await all_drawn(page)
    assert await page.evaluate("getComputedStyle(document.body).backgroundColor") == THEMES["tg-dark"][2]
    assert await page.evaluate("getComputedStyle(document.documentElement).getPropertyValue('--link')") == "#6ab3f3"
    await context.close()


async def test_first_view_is_light_and_quick(seeded: RunningServer, browser: Browser) -> None:
    """Weight: the transfer sizes of everything the first view fetched (compressed as sent); time: from the
    start of navigation to every widget drawn, in a fresh browser profile (nothing cached)."""
    warm = await signed_in_context(browser, seeded, viewport=SIZES["phone"])
    await (await warm.new_page()).goto(seeded.url + "/dashboard")  # the server's first request compiles templates
    await warm.close()
    context = await signed_in_context(browser, seeded, viewport=SIZES["phone"])
    page = await context.new_page()
    await page.goto(seeded.url + "/dashboard")
    await all_drawn(page)
    figures = await page.evaluate(
        """() => {
            const nav = performance.getEntriesByType("navigation")[0];
            const resources = performance.getEntriesByType("resource");
            const drawn = performance.getEntriesByName("chattrack:widgets-drawn")[0];
            return {
                bytes: nav.transferSize + resources.reduce((sum, r) => sum + r.transferSize, 0),
                files: resources.length + 1,
                drawn_ms: drawn ? drawn.startTime : null,
            };
        }"""
    )
    print(f"\nfirst view: {figures['files']} files, {figures['bytes'] / 1024:.1f} KB, all widgets drawn "
          f"{figures['drawn_ms']:.0f} ms after navigation start")  # fmt: skip
    assert figures["files"] >= 4 + len(registered())  # page, theme, styles ×2, scripts ×2, fragments
    assert 0 < figures["bytes"] < 300 * 1024
    assert figures["drawn_ms"] is not None and figures["drawn_ms"] < 1000
    await context.close()


async def test_the_page_without_its_script(seeded: RunningServer) -> None:
    """The page's own HTML: a section per registered widget whose address carries the page's choices; the
    custom dates form works without the script (a redirect naming the period); a bad date is a 400."""
    cookies = await session_cookie(seeded)
    async with aiohttp.ClientSession(base_url=seeded.url, cookies=cookies) as http:
        async with http.get("/dashboard?period=7d&channel=paid_search&content=ad-photo-1") as response:
            assert response.status == 200
            html = await response.text()
        for name in registered():
            assert (
                f'data-src="/dashboard/widgets/{name}?period=7d&amp;channel=paid_search&amp;content=ad-photo-1"' in html
            )
        assert 'name="content" value="ad-photo-1"' in html  # a choice the form has no field for rides along
        assert "Мария" in html and "Олег" in html  # the taker select names the staff
        custom = "/dashboard?channel=paid_search&from=2026-11-01&to=2026-11-15"
        async with http.get(custom, allow_redirects=False) as response:
            assert response.status == 303
            target = urlsplit(response.headers["Location"])
            assert target.path == "/dashboard"
            assert parse_qs(target.query) == {"channel": ["paid_search"], "period": ["2026-11-01..2026-11-15"]}
        async with http.get("/dashboard?from=2026-11-31&to=2026-12-01") as response:
            assert response.status == 400
            assert "YYYY-MM-DD" in await response.text()
        async with http.get("/dashboard?period=yesterday-ish") as response:
            assert response.status == 400  # the API's own check of a period
        async with http.get("/dashboard?colour=red") as response:
            assert response.status == 400
            assert "colour" in await response.text()
