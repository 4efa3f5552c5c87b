"""A deleted code settled later, end to end over real sockets: two visits click links with the same text
(POST /collect), a customer writes that text without the code (the generic webhook) and is alerted without a
source; the other visit then writes with its code, and the first alert in Telegram is redrawn with the visit
the second look found (the card says why)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any
from urllib.parse import quote

import aiohttp
import pytest

from tests.fakes.telegram_api import FakeTelegramAPI, html_to_text
from tests.test_contact_ids import hmac_sha256, post_json
from tests.test_outbox import OWNER
from tests.test_outbox import TOKEN as BOT_TOKEN
from tracking.codes import format_prefill, new_code
from tracking.models import AttributionStatus

SECRET = "generic-secret-for-second-looks"
NUMBER = "+79991234567"
TEXT = "Здравствуйте! Сколько стоит детская фотосессия в студии?"


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegramAPI]:
    async with FakeTelegramAPI() as api:
        yield api


async def visit_and_click(http: aiohttp.ClientSession, server: Any, visitor: str, campaign: str) -> str:
    code = new_code()
    page = f"https://studio.example/kids?utm_source=yandex&utm_medium=cpc&utm_campaign={campaign}"
    link = f"https://wa.me/{NUMBER[1:]}?text={quote(format_prefill(TEXT, code, 'код'))}"
    for payload in (
        {"t": "view", "c": code, "v": visitor, "u": page},
        {"t": "click", "c": code, "v": visitor, "u": page, "h": NUMBER[1:], "p": link},
    ):
        async with http.post(server.url + "/collect", json=payload) as response:
            assert response.status == 200, await response.text()
    return code


async def write(http: aiohttp.ClientSession, server: Any, contact: str, sid: str, text: str) -> None:
    body = {"message_id": sid, "business_number": NUMBER, "contact_id": contact, "text": text}
    url = server.url + "/webhooks/generic"
    assert await post_json(http, url, body, lambda data: {"X-Chattrack-Signature": hmac_sha256(SECRET, data)}) == 200


async def test_the_alert_shows_the_visit_a_second_look_found(
    fake: FakeTelegramAPI, start_server: Callable[..., Any], http: aiohttp.ClientSession
) -> None:
    server = await start_server(
        telegram_bot_token=BOT_TOKEN,
        telegram_owner_ids=str(OWNER),
        telegram_api_url=fake.url,
        tracked_numbers=NUMBER,
        generic_webhook_secret=SECRET,
    )
    mine = await visit_and_click(http, server, "visitor-anna-0001", "spring")
    other = await visit_and_click(http, server, "visitor-oleg-0002", "autumn")

    await write(http, server, "+79160000001", "m1", TEXT)  # the code deleted: two visits fit, none is named
    first = await fake.wait_for("sendMessage", lambda c: c.ok and "+7 916 000-00-01" in html_to_text(c.params["text"]))
    assert "spring" not in first.params["text"]

    await write(http, server, "+79160000002", "m2", format_prefill(TEXT, other, "код"))
    edit = await fake.wait_for(
        "editMessageText", lambda c: c.ok and c.params.get("message_id") == first.result["message_id"]
    )
    redrawn = html_to_text(edit.params["text"])
    assert "Кампания: spring" in redrawn and "Вероятно, с сайта" in redrawn, redrawn
    dialogs = await server.store.find_dialogs(contact_id="+79160000001")
    assert dialogs[0].status is AttributionStatus.PROBABLE and dialogs[0].code == mine
