"""A customer's Telegram message is never lost while the store is away, and a failing command is not redelivered.

Webhook mode: Telegram forgets an update once the webhook answered 2xx, and delivers it again otherwise. So
the answer waits for the handlers: 503 while the store is away, 200 for anything else (a bug or a refused
reply would fail on every redelivery). Long polling confirms every update it fetched, so there the bot
itself handles the update again once the store is back.
"""

from __future__ import annotations

import asyncio
import inspect
import itertools
import time
from collections.abc import Callable
from typing import Any

import aiohttp
import pytest

from bot import runtime as bot_runtime
from bot.runtime import BOT_RUNTIME, WEBHOOK_PATH
from tests import test_bot_commands as bot_tests
from tests.conftest import RunningServer
from tests.test_bot_commands import OWNER, TOKEN, BotAPI, to_chat, user
from tests.test_telegram_business import CUSTOMER, business_update, connection_update, dialogs_of, lead_alert_to
from tracking.store.base import Store, StoreUnavailable
from webhooks.app import STORE

api = bot_tests.api  # the shared fixture

SECRET = "delivery-test-webhook-secret"
_ids = itertools.count(90_000)


class Outage:
    """Switches the server's store off and on: while off, every one of its coroutine methods raises
    StoreUnavailable, as a store whose database cannot be reached does. `refused` is set at the first refusal."""

    def __init__(self, store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
        self.down = False
        self.refused = asyncio.Event()
        for name in dir(type(store)):
            method = getattr(store, name)
            if not name.startswith("_") and inspect.iscoroutinefunction(method):
                monkeypatch.setattr(store, name, self._guarded(method))

    def _guarded(self, method: Callable[..., Any]) -> Callable[..., Any]:
        async def call(*args: Any, **kwargs: Any) -> Any:
            if self.down:
                self.refused.set()
                raise StoreUnavailable("connection refused")
            return await method(*args, **kwargs)

        return call


def command(sender: int, text: str) -> dict[str, Any]:
    """A message with a command in the sender's private chat with the bot, as Telegram sends it."""
    return {
        "update_id": next(_ids),
        "message": {
            "message_id": next(_ids),
            "date": int(time.time()),
            "chat": {"id": sender, "type": "private", "first_name": "Ирина"},
            "from": user(sender, "ru", "Ирина"),
            "text": text,
            "entities": [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}],
        },
    }


@pytest.fixture
async def webhook(api: BotAPI, start_server: Callable[..., Any]) -> RunningServer:
    """The whole server with the bot in webhook mode (`api` first: it must outlive the server)."""
    server: RunningServer = await start_server(
        telegram_bot_token=TOKEN,
        telegram_owner_ids=str(OWNER),
        telegram_api_url=api.url,
        public_url="https://leads.example.com",
        telegram_webhook_secret=SECRET,
    )
    await api.wait_for("setWebhook")
    return server


async def deliver(http: aiohttp.ClientSession, server: RunningServer, update: dict[str, Any]) -> tuple[int, str]:
    """Telegram posting an update to the webhook: the answer's status and body."""
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
    async with http.post(server.url + WEBHOOK_PATH, json=update, headers=headers) as answer:
        return answer.status, await answer.text()


async def test_a_business_message_met_by_the_store_away_gets_a_503_and_its_redelivery_is_stored_once(
    webhook: RunningServer, api: BotAPI, http: aiohttp.ClientSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    outage = Outage(webhook.app[STORE], monkeypatch)
    assert (await deliver(http, webhook, connection_update(user(OWNER, "ru", "Ирина", "Flower_Shop"))))[0] == 200
    message = business_update(user(CUSTOMER, "ru", "Ольга"), "Здравствуйте! Есть пионы?")

    outage.down = True
    away = await deliver(http, webhook, message)
    outage.down = False
    again = await deliver(http, webhook, message)  # Telegram delivers it again, the same update
    once_more = await deliver(http, webhook, message)  # and once more, as if our 200 had been lost
    alert = await api.wait_for("sendMessage", lead_alert_to(OWNER))
    await webhook.app[BOT_RUNTIME].alerts.stop()  # lets the pass in flight finish: no alert left to send

    assert outage.refused.is_set()
    assert away[0] == 503 and "store unavailable" in away[1]
    assert again[0] == once_more[0] == 200
    [dialog] = await dialogs_of(webhook, CUSTOMER)
    assert dialog.message_count == 1 and dialog.first_message == "Здравствуйте! Есть пионы?"
    assert "Здравствуйте! Есть пионы?" in alert.params["text"]
    assert len(api.calls_to("sendMessage", lead_alert_to(OWNER))) == 1
    assert await webhook.store.pending_alerts() == 0


async def test_a_command_that_fails_for_another_reason_is_answered_200_and_the_bot_goes_on(
    webhook: RunningServer, api: BotAPI, http: aiohttp.ClientSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("a bug in the summary settings")

    monkeypatch.setattr(webhook.app[STORE], "summary_choices", broken)
    bug = await deliver(http, webhook, command(OWNER, "/summary"))
    api.fail_next("sendMessage", status=400, description="Bad Request: chat not found", when=to_chat(OWNER))
    refused_reply = await deliver(http, webhook, command(OWNER, "/help"))
    help_again = await deliver(http, webhook, command(OWNER, "/help"))

    assert bug[0] == refused_reply[0] == help_again[0] == 200  # Telegram must not deliver them again
    assert [c.status for c in api.calls_to("sendMessage", lambda c: c.params.get("chat_id") == OWNER)] == [400, 200]


async def test_a_body_that_is_not_an_update_is_a_400_with_the_reason(
    webhook: RunningServer, http: aiohttp.ClientSession
) -> None:
    status, body = await deliver(http, webhook, {"update_id": "not a number", "message": []})

    assert status == 400 and "malformed request" in body


async def test_long_polling_handles_an_update_again_once_the_store_is_back(
    api: BotAPI, start_server: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bot_runtime, "STORE_RETRY_FIRST", 0.05)
    server: RunningServer = await start_server(
        telegram_bot_token=TOKEN, telegram_owner_ids=str(OWNER), telegram_api_url=api.url
    )
    outage = Outage(server.app[STORE], monkeypatch)
    api.push_update(connection_update(user(OWNER, "ru", "Ирина", "Flower_Shop")))
    await api.wait_for("sendMessage", to_chat(OWNER))

    outage.down = True
    api.push_update(business_update(user(CUSTOMER, "ru", "Ольга"), "Здравствуйте! Есть пионы?"))
    async with asyncio.timeout(5):
        await outage.refused.wait()
    outage.down = False
    alert = await api.wait_for("sendMessage", lead_alert_to(OWNER))

    [dialog] = await dialogs_of(server, CUSTOMER)
    assert dialog.first_message == "Здравствуйте! Есть пионы?"
    assert "Здравствуйте! Есть пионы?" in alert.params["text"]
