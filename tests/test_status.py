"""/status in the bot and GET /healthz with the API token: each part of the installation and how it fares, from
the same gathering (tracking/install.py); and the installation's notices reaching the owner, through the real
server and the local Bot API."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp

from bot.status import render_status
from tests.conftest import RunningServer, twilio_form
from tests.fakes.telegram_api import html_to_text
from tests.test_bot_commands import OWNER, STAFF, BotAPI, Person, add_staff, api, to_chat
from tests.test_owner_language import latin_words
from tracking.install import ProviderState, SiteState, Status, StoreState, TelegramState
from webhooks.health import INSTALL

__all__ = ["api"]  # the shared fixture

TOKEN = "123456:TEST-token"
API_TOKEN = "status-api-token"
MOSCOW = ZoneInfo("Europe/Moscow")


async def bot_server(start_server: Callable[..., Any], api: BotAPI, **overrides: Any) -> RunningServer:
    server: RunningServer = await start_server(
        telegram_bot_token=TOKEN,
        telegram_owner_ids=str(OWNER),
        telegram_api_url=api.url,
        api_token=API_TOKEN,
        generic_webhook_secret="generic-secret",
        **overrides,
    )
    return server


async def page_view(http: aiohttp.ClientSession, server: RunningServer, url: str) -> None:
    view = {"t": "view", "c": "7K3M9QE", "v": "visitor-0001", "u": url}
    async with http.post(server.url + "/collect", data=json.dumps(view)) as answer:
        assert answer.status == 200


# /status and the notices through the whole server ---------------------------------------------------------


async def test_a_new_owner_hears_of_the_site_and_the_provider_and_reads_status(
    api: BotAPI, start_server: Callable[..., Any], http: aiohttp.ClientSession
) -> None:
    server = await bot_server(start_server, api)
    owner = Person(api, OWNER, "ru", "Ирина")

    owner.says("/status")
    before = await owner.reads()
    assert "⚠️ Код на сайте: ни одного просмотра — вставьте код на сайт" in before
    assert "⚠️ Twilio: сообщений ещё не было" in before
    assert "⚠️ Другая платформа: сообщений ещё не было" in before
    assert "✅ Telegram: бот сам забирает сообщения у Telegram" in before
    assert "✅ База данных: отвечает, запись работает" in before
    assert "✅ Уведомления о заявках: все отправлены" in before

    await page_view(http, server, "https://www.salon.ru/prices")
    assert await owner.reads() == "✅ Код на сайте работает: получен первый просмотр страницы с salon.ru"
    assert (await server.post_twilio(http, twilio_form("Здравствуйте"))).status == 200
    await api.wait_for("sendMessage", lambda c: to_chat(OWNER)(c) and "подключено" in str(c.params["text"]))
    await server.post_twilio(http, twilio_form("Ещё раз", sid="SM0000000000000000000000000000002"))
    async with http.post(
        server.url + "/webhooks/generic",
        data=b"{}",
        headers={"Content-Type": "application/json", "X-Chattrack-Signature": "sha256=00"},
    ) as refused:
        assert refused.status == 403
    await server.app[INSTALL].settled()
    told = [call.params["text"] for call in api.sent_messages(OWNER) if "подключено" in str(call.params["text"])]
    assert told == ["✅ Twilio: подключено, первое сообщение получено"]  # once, for two messages

    owner.says("/status")
    answer = await api.wait_for(
        "sendMessage", lambda c: to_chat(OWNER)(c) and "Что работает" in c.params["text"], count=2
    )
    lines = html_to_text(answer.params["text"]).splitlines()
    assert lines[0] == "Что работает"
    assert any(line.startswith("✅ Код на сайте salon.ru: последний просмотр ") for line in lines)
    assert any(line.startswith("✅ Twilio: последнее сообщение ") for line in lines)
    assert any(line.startswith("⚠️ Другая платформа: сообщений ещё не было") for line in lines)
    refusal = next(line for line in lines if "последний отказ" in line)
    assert "подпись не совпала: проверьте CHATTRACK_GENERIC_WEBHOOK_SECRET" in refusal


async def test_status_is_for_owners_only(
    api: BotAPI, start_server: Callable[..., Any], http: aiohttp.ClientSession
) -> None:
    server = await bot_server(start_server, api)
    await add_staff(server.store)
    staff = Person(api, STAFF, "ru", "Мария")
    staff.says("/status")
    assert await staff.reads() == "Не знаю такой команды. Список команд: /help"
    stranger = Person(api, 999, "ru", "Пётр")
    stranger.says("/status")
    assert "Что работает" not in await stranger.reads()


async def test_the_owners_menu_offers_status(api: BotAPI, start_server: Callable[..., Any]) -> None:
    await bot_server(start_server, api)
    menu = await api.wait_for("setMyCommands", lambda c: c.params.get("language_code") == "ru")
    assert {"command": "status", "description": "Что работает: сайт, провайдеры, Telegram"} in menu.params["commands"]


# /healthz ----------------------------------------------------------------------------------------------


async def test_healthz_without_a_token_is_unchanged(
    api: BotAPI, start_server: Callable[..., Any], http: aiohttp.ClientSession
) -> None:
    server = await bot_server(start_server, api)
    async with http.get(server.url + "/healthz") as answer:
        assert answer.status == 200
        assert await answer.json() == {"status": "ok", "store": "ok", "writes": "ok", "pending_alerts": 0}


async def test_healthz_with_the_token_says_what_status_says(
    api: BotAPI, start_server: Callable[..., Any], http: aiohttp.ClientSession
) -> None:
    server = await bot_server(start_server, api, public_url="https://chat.salon.ru")
    await api.wait_for("setWebhook")
    api.webhook_error = (1_764_000_000, "Wrong response from the webhook: 502 Bad Gateway")
    await page_view(http, server, "https://salon.ru/")
    await server.post_twilio(http, twilio_form("Здравствуйте"), signature="forged")
    await server.app[INSTALL].settled()

    async with http.get(server.url + "/healthz", headers={"Authorization": f"Bearer {API_TOKEN}"}) as answer:
        assert answer.status == 200
        body = await answer.json()
    assert body["status"] == "ok"
    assert [site["host"] for site in body["sites"]] == ["salon.ru"]
    twilio = next(p for p in body["providers"] if p["name"] == "twilio")
    assert twilio["configured"] and not twilio["ok"] and twilio["last_message_at"] is None
    assert twilio["last_refusal"] == "signature"
    assert body["telegram"] == {
        "mode": "webhook",
        "ok": False,
        "url": "https://chat.salon.ru/telegram/webhook",
        "expected_url": "https://chat.salon.ru/telegram/webhook",
        "pending_updates": 0,
        "last_error": "Wrong response from the webhook: 502 Bad Gateway",
        "last_error_at": datetime.fromtimestamp(1_764_000_000, UTC).isoformat(),
        "unreachable": None,
    }
    assert body["store"] == {"ok": True, "reachable": True, "writes_failing": None}
    assert body["outbox"] == {"pending_alerts": 0}


async def test_healthz_with_a_wrong_token_is_refused_as_the_api_refuses(
    api: BotAPI, start_server: Callable[..., Any], http: aiohttp.ClientSession
) -> None:
    server = await bot_server(start_server, api)
    async with http.get(server.url + "/healthz", headers={"Authorization": "Bearer wrong"}) as answer:
        assert answer.status == 401
        assert answer.headers["WWW-Authenticate"] == 'Bearer realm="chattrack"'
        assert await answer.json() == {"error": "missing or wrong bearer token"}
    off = await start_server()  # no CHATTRACK_API_TOKEN: the detail is off
    async with http.get(off.url + "/healthz", headers={"Authorization": "Bearer anything"}) as answer:
        assert answer.status == 403
        assert "CHATTRACK_API_TOKEN" in (await answer.json())["error"]


# the text ----------------------------------------------------------------------------------------------


def sample(telegram: TelegramState) -> Status:
    at = datetime(2026, 11, 26, 9, 5, tzinfo=UTC)
    return Status(
        store=StoreState(reachable=True, writes_failing="disk I/O error"),
        sites=[SiteState("salon.ru", at, at)],
        providers=[
            ProviderState("twilio", True, None, at, "signature", silent=False),
            ProviderState("greenapi", True, at, at, "unset", silent=True),
            ProviderState("generic:wazzup", True, at, None, None, silent=False),
        ],
        telegram=telegram,
        pending_alerts=3,
    )


def test_status_text_reads_in_the_owners_words_in_both_languages() -> None:
    webhook = TelegramState(
        mode="webhook",
        url="https://old.salon.ru/telegram/webhook",
        expected_url="https://chat.salon.ru/telegram/webhook",
        pending=2,
    )
    failing = TelegramState(
        mode="webhook",
        url="https://chat.salon.ru/telegram/webhook",
        expected_url="https://chat.salon.ru/telegram/webhook",
        pending=2,
        last_error="Connection timed out",
        last_error_at=datetime(2026, 11, 26, 8, 0, tzinfo=UTC),
    )
    names = ("Twilio", "Green-API", "wazzup", "Connection timed out", "disk I/O error", "(x)")
    for telegram in (webhook, failing, TelegramState(mode="polling"), TelegramState(mode="webhook", unreachable="x")):
        ru = render_status("ru", sample(telegram), MOSCOW)
        assert latin_words(ru, names) == [], ru
        assert render_status("en", sample(telegram), MOSCOW).count("\n") == ru.count("\n")
    ru = render_status("ru", sample(failing), MOSCOW)
    assert "последний отказ 26 ноя 2026, 12:05: подпись не совпала: проверьте <code>CHATTRACK_PUBLIC_URL</code>" in ru
    assert "⚠️ Green-API: последнее сообщение 26 ноя 2026, 12:05, с тех пор тишина" in ru
    assert "секрет не задан: задайте <code>CHATTRACK_GREENAPI_WEBHOOK_TOKEN</code>" in ru
    assert "✅ wazzup: последнее сообщение" in ru
    assert "последняя ошибка 26 ноя 2026, 11:00: «Connection timed out»" in ru
    assert "⚠️ База данных: запись не проходит" in ru and "⚠️ Уведомления о заявках: ждут отправки 3" in ru
    assert "сообщения уходят на «https://old.salon.ru/telegram/webhook»" in render_status("ru", sample(webhook), MOSCOW)
