"""One person, one contact: the same WhatsApp customer reaches us through Twilio, Meta, Green-API and the
generic webhook in each provider's own way of writing the number, and is one contact with one dialog."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable
from typing import Any

import aiohttp
import pytest

from tests.conftest import twilio_form

META_SECRET = "meta-app-secret-for-contact-ids"
GREENAPI_TOKEN = "greenapi-token-for-contact-ids"
GENERIC_SECRET = "generic-secret-for-contact-ids"
BUSINESS = "+79991234567"


def secrets() -> dict[str, Any]:
    return {
        "meta_app_secret": META_SECRET,
        "meta_verify_token": "verify",
        "greenapi_webhook_token": GREENAPI_TOKEN,
        "generic_webhook_secret": GENERIC_SECRET,
    }


def hmac_sha256(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


async def post_json(
    http: aiohttp.ClientSession, url: str, body: dict[str, Any], headers: Callable[[bytes], dict[str, str]]
) -> int:
    data = json.dumps(body, ensure_ascii=True).encode()
    async with http.post(url, data=data, headers={"Content-Type": "application/json", **headers(data)}) as response:
        await response.read()
        return response.status


async def via_twilio(http: aiohttp.ClientSession, server: Any, wa_id: str, sid: str, business: str = BUSINESS) -> int:
    form = twilio_form("Hola", sid=sid, From=f"whatsapp:+{wa_id}", WaId=wa_id, To=f"whatsapp:{business}")
    return (await server.post_twilio(http, form)).status


async def via_meta(http: aiohttp.ClientSession, server: Any, wa_id: str, sid: str, business: str = BUSINESS) -> int:
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": business[1:], "phone_number_id": "106540352242922"},
        "contacts": [{"profile": {"name": "Ana"}, "wa_id": wa_id}],
        "messages": [
            {
                "from": wa_id,
                "id": f"wamid.{sid}",
                "timestamp": str(int(time.time())),
                "type": "text",
                "text": {"body": "Hola"},
            }
        ],
    }
    body = {
        "object": "whatsapp_business_account",
        "entry": [{"id": "1", "changes": [{"value": value, "field": "messages"}]}],
    }
    return await post_json(
        http, server.url + "/webhooks/meta", body, lambda data: {"X-Hub-Signature-256": hmac_sha256(META_SECRET, data)}
    )


async def via_greenapi(http: aiohttp.ClientSession, server: Any, wa_id: str, sid: str, business: str = BUSINESS) -> int:
    chat = f"{wa_id}@c.us"
    body = {
        "typeWebhook": "incomingMessageReceived",
        "instanceData": {"idInstance": 1101000001, "wid": f"{business[1:]}@c.us", "typeInstance": "whatsapp"},
        "timestamp": int(time.time()),
        "idMessage": sid,
        "senderData": {"chatId": chat, "sender": chat, "senderName": "Ana"},
        "messageData": {"typeMessage": "textMessage", "textMessageData": {"textMessage": "Hola"}},
    }
    return await post_json(
        http, server.url + "/webhooks/greenapi", body, lambda _: {"Authorization": f"Bearer {GREENAPI_TOKEN}"}
    )


async def via_generic(http: aiohttp.ClientSession, server: Any, wa_id: str, sid: str, business: str = BUSINESS) -> int:
    body = {"message_id": sid, "business_number": business, "contact_id": f"{wa_id}@c.us", "text": "Hola"}
    return await post_json(
        http,
        server.url + "/webhooks/generic",
        body,
        lambda data: {"X-Chattrack-Signature": hmac_sha256(GENERIC_SECRET, data)},
    )


@pytest.mark.parametrize(
    ("wa_id", "contact_id"),
    [
        ("5215512345678", "+525512345678"),  # Mexican mobile: WhatsApp still writes the old '1'
        ("551187654321", "+5511987654321"),  # Brazilian mobile registered before the ninth digit
        ("5491123456789", "+5491123456789"),  # Argentine mobile: 549 + area + number, already E.164
        ("79161234567", "+79161234567"),
    ],
)
async def test_one_customer_is_one_contact_whichever_provider_carried_the_message(
    start_server: Any, http: aiohttp.ClientSession, wa_id: str, contact_id: str
) -> None:
    server = await start_server(**secrets())

    for turn, send in enumerate((via_twilio, via_meta, via_greenapi, via_generic)):
        assert await send(http, server, wa_id, f"SM{turn}") == 200, send.__name__

    [dialog] = await server.store.find_dialogs(contact_id=contact_id)
    assert (dialog.contact_phone, dialog.business_number, dialog.message_count) == (contact_id, BUSINESS, 4)
