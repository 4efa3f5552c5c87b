"""/web and the menu button «Отчёты»: the bot's ways into the dashboard, through the local Bot API and the whole
server (the link sent is opened on the same server)."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from bot.runtime import BOT_RUNTIME, WEBHOOK_PATH
from dashboard.sessions import LOGIN_PREFIX, SESSION_PREFIX
from dashboard.viewer import COOKIE
from tests.conftest import RunningServer
from tests.test_bot_commands import OWNER, STAFF, STRANGER, TOKEN, BotAPI, Person, add_staff, confirm, shown, user
from tests.test_bot_staff import REFUSAL_EN, _as_sent

LINK = re.compile(r"(http\S+/dashboard/login\?token=[A-Za-z0-9_-]+)")
PUBLIC = "https://leads.example.com"
SECRET = "web-test-webhook-secret"


@pytest.fixture
async def api() -> AsyncIterator[BotAPI]:
    fake = BotAPI()
    await fake.start()
    yield fake
    await fake.stop()


def link_in(answer: str) -> str:
    found = LINK.search(answer)
    assert found is not None, answer
    return found.group(1)


async def sign_in(http: aiohttp.ClientSession, link: str) -> aiohttp.ClientResponse:
    """What the link's page does: its form posts the token."""
    token = link.split("token=", 1)[1]
    base = link.split("/dashboard/", 1)[0]
    async with http.post(base + "/dashboard/login", data={"token": token}, allow_redirects=False) as response:
        await response.read()
        return response


async def test_web_sends_a_one_time_link_that_signs_in_once(
    start_server: Any, api: BotAPI, http: aiohttp.ClientSession
) -> None:
    server: RunningServer = await start_server(
        telegram_bot_token=TOKEN, telegram_owner_ids=str(OWNER), telegram_api_url=api.url
    )
    owner = Person(api, OWNER, "ru", "Ирина")

    owner.says("/web")
    sent = await owner.gets()
    link = link_in(shown(sent))
    async with http.get(link) as page:
        assert page.status == 200  # opening the link shows the form: the link is not spent yet
    first = await sign_in(http, link)
    second = await sign_in(http, link)

    assert shown(sent).startswith("Ссылка для входа в отчёты в браузере. Она действует 10 минут и один раз")
    assert link.startswith(server.url + "/dashboard/login?token=")  # http://127.0.0.1:<port> in development
    assert sent.params["link_preview_options"] == {"is_disabled": True}
    assert "кнопка «Отчёты»" not in shown(sent)  # no Mini App over plain http
    assert first.status == 303 and first.headers["Location"] == "/dashboard"
    async with http.get(server.url + "/dashboard", cookies={COOKIE: first.cookies[COOKIE].value}) as dashboard:
        assert dashboard.status == 200
    assert second.status == 401 and COOKIE not in second.cookies
    assert await server.store.marks(LOGIN_PREFIX) == {}  # spent, and only a digest was ever stored
    assert not api.calls_to("setChatMenuButton", lambda c: c.params["menu_button"]["type"] == "web_app")


async def test_web_is_for_members_in_their_private_chat(
    start_server: Any, api: BotAPI, http: aiohttp.ClientSession
) -> None:
    server: RunningServer = await start_server(
        telegram_bot_token=TOKEN, telegram_owner_ids=str(OWNER), telegram_api_url=api.url
    )
    await add_staff(server.store, STAFF, "Maria")
    maria, mallory = Person(api, STAFF, "en", "Maria"), Person(api, STRANGER, "en", "Mallory")

    mallory.says("/web")
    refused = await mallory.reads()
    maria.says("/web")
    answer = await maria.reads()
    response = await sign_in(http, link_in(answer))

    assert refused == REFUSAL_EN
    assert answer.startswith("A link to sign in to the reports in a browser. It is valid for 10 minutes, once")
    assert response.status == 303
    sessions = list((await server.store.marks(SESSION_PREFIX)).values())
    assert [(s["user_id"], s["name"], s["lang"]) for s in sessions] == [(STAFF, "Maria", "en")]


async def test_removing_a_member_ends_their_dashboard_session_and_menu_button(
    start_server: Any, api: BotAPI, http: aiohttp.ClientSession
) -> None:
    server: RunningServer = await start_server(
        telegram_bot_token=TOKEN, telegram_owner_ids=str(OWNER), telegram_api_url=api.url
    )
    await add_staff(server.store, STAFF, "Мария")
    owner, maria = Person(api, OWNER, "ru"), Person(api, STAFF, "ru", "Мария")
    maria.says("/web")
    cookie = {COOKIE: (await sign_in(http, link_in(await maria.reads()))).cookies[COOKIE].value}
    async with http.get(server.url + "/dashboard", cookies=cookie) as before:
        assert before.status == 200

    owner.says("/staff")
    listing = await owner.gets()
    owner.presses(listing.params["reply_markup"]["inline_keyboard"][0][0]["callback_data"], listing.result)
    question = await api.wait_for("editMessageText", lambda c: c.ok)
    await confirm(owner, _as_sent(question))
    reset = await api.wait_for("setChatMenuButton", lambda c: c.params["chat_id"] == STAFF)

    assert reset.params["menu_button"] == {"type": "default"}
    assert await server.store.marks(SESSION_PREFIX) == {}
    async with http.get(server.url + "/dashboard", cookies=cookie) as after:
        assert after.status == 401  # the session is gone, not only refused


def command(sender: int, text: str, lang: str) -> dict[str, Any]:
    """A private message with a command, as Telegram posts it to the webhook."""
    stamp = time.time_ns()
    return {
        "update_id": stamp % 1_000_000_000,
        "message": {
            "message_id": stamp % 1_000_000,
            "date": int(time.time()),
            "chat": {"id": sender, "type": "private", "first_name": "Maria"},
            "from": user(sender, lang, "Maria"),
            "text": text,
            "entities": [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}],
        },
    }


async def test_over_https_every_member_gets_the_menu_button_that_opens_the_dashboard(
    start_server: Any, api: BotAPI, http: aiohttp.ClientSession
) -> None:
    server: RunningServer = await start_server(
        telegram_bot_token=TOKEN,
        telegram_owner_ids=str(OWNER),
        telegram_api_url=api.url,
        public_url=PUBLIC,
        telegram_webhook_secret=SECRET,
    )
    await add_staff(server.store, STAFF, "Maria")
    await api.wait_for("setChatMenuButton", lambda c: c.ok and c.params["chat_id"] == OWNER)

    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
    async with http.post(server.url + WEBHOOK_PATH, json=command(STAFF, "/web", "en"), headers=headers) as posted:
        assert posted.status == 200
    answer = shown(await api.wait_for("sendMessage", lambda c: c.ok and c.params["chat_id"] == STAFF))

    app = {"type": "web_app", "web_app": {"url": PUBLIC + "/dashboard"}}
    assert api.menu_buttons[OWNER] == {**app, "text": "Отчёты"}  # the bot's language at start-up
    assert api.menu_buttons[STAFF] == {**app, "text": "Reports"}  # set again by /web in the person's own
    assert link_in(answer).startswith(PUBLIC + "/dashboard/login?token=")
    assert answer.endswith("In Telegram, the «Reports» button left of the message field opens the reports.")
    assert STRANGER not in api.menu_buttons  # customers who write to the bot never see it


async def test_whoever_claims_the_bot_over_https_gets_the_menu_button_at_once(
    start_server: Any, api: BotAPI, http: aiohttp.ClientSession
) -> None:
    server: RunningServer = await start_server(
        telegram_bot_token=TOKEN, telegram_api_url=api.url, public_url=PUBLIC, telegram_webhook_secret=SECRET
    )
    runtime = server.app[BOT_RUNTIME]
    await asyncio.wait_for(runtime.claim_offered.wait(), 10)
    assert runtime.claim_link is not None
    start = "/start " + runtime.claim_link.split("?start=", 1)[1]

    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
    async with http.post(server.url + WEBHOOK_PATH, json=command(OWNER, start, "ru"), headers=headers) as posted:
        assert posted.status == 200
    await api.wait_for("setChatMenuButton", lambda c: c.ok and c.params["chat_id"] == OWNER)

    # the new owner's chat opens the dashboard from now on, not only after their next /start or a restart
    assert api.menu_buttons[OWNER] == {"type": "web_app", "web_app": {"url": PUBLIC + "/dashboard"}, "text": "Отчёты"}
