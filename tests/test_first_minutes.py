# ruff: noqa: F811  (pytest fixtures imported from tests.browser are parameters here)
"""A new owner's first minutes, end to end over real sockets, as the README's quick start tells them.

1. chattrack starts with only a bot token (the local Bot API stands for Telegram) and prints a one-time link.
2. A person opens it in Telegram: they own the bot from then on.
3. They open /demo in Chromium and press «Отправить как клиент»: a lead alert marked demo reaches them; /demo
   in the bot erases it.
4. They paste the tag into their site: the first page view and the first marked click are told once each.
5. They connect a provider (its secret and the public address, then a restart): its first message is told,
   and `chattrack doctor` finds everything fine; a broken configuration is named with its fix.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Callable

import aiohttp
import pytest
from playwright.async_api import Page, expect

from bot.runtime import BOT_RUNTIME
from tests.browser import browser, collect_errors, page  # noqa: F401
from tests.conftest import RunningServer, free_port, serving
from tests.fakes.telegram_api import ApiCall, html_to_text
from tests.test_bot_commands import BOT_USERNAME, BotAPI, Person
from tests.test_contact_ids import hmac_sha256, post_json
from tracking.codes import format_prefill, new_code
from tracking.demo import demo_count
from tracking.settings import Settings
from webhooks.doctor import diagnose, report
from webhooks.health import INSTALL

TOKEN = "123456:TEST-first-minutes"
IRINA = 7001
NUMBER = "+79991234567"
SECRET = "generic-secret-of-the-first-minutes"
CLAIM = re.compile(rf"https://t\.me/{BOT_USERNAME}\?start=(own_[A-Za-z0-9_-]+)")
WAIT = 10_000  # ms a condition may take in the browser


@pytest.fixture
async def api() -> AsyncIterator[BotAPI]:
    async with BotAPI() as fake:
        yield fake


def to(chat_id: int, *words: str) -> Callable[[ApiCall], bool]:
    def matches(call: ApiCall) -> bool:
        shown = html_to_text(str(call.params.get("text", "")))
        return call.ok and call.params.get("chat_id") == chat_id and all(word in shown for word in words)

    return matches


def buttons(call: ApiCall) -> dict[str, str]:
    markup = call.params.get("reply_markup") or {}
    return {b["text"]: b.get("callback_data", "") for row in markup.get("inline_keyboard", []) for b in row}


async def collect(http: aiohttp.ClientSession, server: RunningServer, payload: dict[str, str]) -> None:
    async with http.post(server.url + "/collect", json=payload) as response:
        assert response.status == 200, await response.text()


async def test_a_new_owners_first_minutes(
    api: BotAPI,
    make_settings: Callable[..., Settings],
    page: Page,
    http: aiohttp.ClientSession,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # 1. Only a bot token: no owner, no number, no provider.
    only_a_token = make_settings(
        port=free_port(), telegram_bot_token=TOKEN, telegram_api_url=api.url, tracked_numbers="", twilio_auth_token=None
    )
    async with serving(only_a_token) as server:
        runtime = server.app[BOT_RUNTIME]
        async with asyncio.timeout(10):
            await runtime.claim_offered.wait()
        printed = capsys.readouterr().out
        found = CLAIM.search(printed)
        assert found is not None, printed
        assert "▀" in printed or "█" in printed  # the link's QR code, drawn in the terminal

        # 2. Irina opens the printed link in Telegram.
        irina = Person(api, IRINA, "ru", "Ирина", username="irina_k")
        irina.says(f"/start {found.group(1)}")
        welcome = await api.wait_for("sendMessage", to(IRINA, "владел"))
        assert "/demo" in html_to_text(welcome.params["text"])  # the next step: the demo
        irina.says(f"/start {found.group(1)}")  # the link is used up: nothing changes
        await api.wait_for("sendMessage", to(IRINA), count=2)

        # 3. The demo page in a browser: «send as a customer» makes a lead alert marked demo.
        errors = collect_errors(page)
        await page.goto(server.url + "/demo")
        send = page.locator("#send")
        await expect(send).to_be_enabled(timeout=WAIT)
        await send.click()
        alert = await api.wait_for("sendMessage", to(IRINA, "Демо", "Кампания: demo"), timeout=WAIT / 1000)
        [said] = [line for line in html_to_text(alert.params["text"]).splitlines() if line.startswith("💬")]
        assert not re.search(r"\b[0-9A-Z]{7}\b", said.replace("Здравствуйте", ""))  # the code is stripped
        assert await demo_count(server.store) == 1
        assert errors == []

        irina.says("/demo")  # erase it from the bot
        offer = await api.wait_for("sendMessage", lambda c: to(IRINA)(c) and any("Стереть" in b for b in buttons(c)))
        [erase] = [data for label, data in buttons(offer).items() if "Стереть" in label]
        irina.presses(erase, offer.result)
        await api.wait_for(
            "editMessageText",
            lambda c: c.ok and c.params.get("message_id") == alert.result["message_id"] and "стёрт" in c.params["text"],
        )
        assert await demo_count(server.store) == 0

        # 4. The tag on the real site: its first page view and first marked click are told once each.
        code, visitor = new_code(), "visitor-of-the-studio-1"
        site = "https://studio.example/kids?utm_source=yandex&utm_medium=cpc&utm_campaign=kids"
        await collect(http, server, {"t": "view", "c": code, "v": visitor, "u": site})
        await api.wait_for("sendMessage", to(IRINA, "studio.example"))
        link = f"https://wa.me/{NUMBER[1:]}?text={format_prefill('Здравствуйте!', code, 'код')}"
        await collect(http, server, {"t": "click", "c": code, "v": visitor, "u": site, "h": NUMBER[1:], "p": link})
        clicked = await api.wait_for("sendMessage", lambda c: to(IRINA)(c) and "клик" in c.params["text"].lower())
        await collect(http, server, {"t": "view", "c": new_code(), "v": "visitor-2", "u": site})
        await server.app[INSTALL].settled()
        told_site = api.calls_to("sendMessage", to(IRINA, "studio.example"))
        assert len(told_site) == 1, [c.params["text"] for c in told_site]  # once, not per page view

    # 5. A provider: its secret, the numbers and the public address, then a restart on the same store.
    port = free_port()
    connected = make_settings(
        port=port,
        public_url=f"http://127.0.0.1:{port}",
        telegram_bot_token=TOKEN,
        telegram_api_url=api.url,
        tracked_numbers=NUMBER,
        twilio_auth_token=None,
        generic_webhook_secret=SECRET,
    )
    async with serving(connected) as server:
        assert server.app[BOT_RUNTIME].claim_link is None  # owned: no new link
        await api.wait_for("setWebhook", lambda c: c.ok and c.params.get("url") == f"{server.url}/telegram/webhook")
        body = {
            "message_id": "first-real-1",
            "business_number": NUMBER,
            "contact_id": "+79160000001",
            "text": format_prefill("Здравствуйте!", code, "код"),
        }
        url = server.url + "/webhooks/generic"
        signed = await post_json(http, url, body, lambda data: {"X-Chattrack-Signature": hmac_sha256(SECRET, data)})
        assert signed == 200
        lead = await api.wait_for("sendMessage", to(IRINA, "Кампания: kids"))
        assert "Демо" not in lead.params["text"]
        await api.wait_for("sendMessage", lambda c: to(IRINA)(c) and "Другая платформа: подключено" in c.params["text"])
        assert not await server.app[BOT_RUNTIME].alerts.store.marks("owner_claim:")  # the link died with the claim

        checks = await diagnose(lambda: server.settings)
        assert all(check.ok for check in checks), report(checks)
        assert f"({server.url}) reaches this very server" in report(checks)

        broken = make_settings(
            port=port,
            telegram_bot_token="123456:TEST-not-this-bot",
            telegram_api_url=api.url,
            tracked_numbers="",
            twilio_auth_token=None,
            public_url=f"http://127.0.0.1:{free_port()}",  # nothing listens there
        )
        api.fail_next("getMe", status=401, description="Unauthorized")
        checks = await diagnose(lambda: broken)
        problems = report([check for check in checks if not check.ok])
        assert "copy it from @BotFather" in problems
        assert "is chattrack running?" in problems
        assert "CHATTRACK_TRACKED_NUMBERS" in problems
    assert clicked.params["chat_id"] == IRINA
