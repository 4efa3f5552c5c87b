"""/webhooks/meta against the real server on a free port: payloads in the shapes of Meta's webhook reference
(developers.facebook.com/documentation/business-messaging/whatsapp/webhooks/reference/messages), signed
as Meta signs them (X-Hub-Signature-256 over the raw body)."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp

from tests.test_twilio_webhook import collect_view
from tracking.codes import format_prefill, new_code
from tracking.models import AttributionStatus, Channel

APP_SECRET = "meta-app-secret-for-tests"
VERIFY_TOKEN = "verify-me-please"
BUSINESS_DISPLAY = "79991234567"  # metadata.display_phone_number: digits, no '+'
BUSINESS = "+79991234567"
CUSTOMER = "79161234567"
WAMID = "wamid.HBgLNzkxNjEyMzQ1NjcVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA="


def meta_settings(**extra: Any) -> dict[str, Any]:
    return {"meta_app_secret": APP_SECRET, "meta_verify_token": VERIFY_TOKEN, **extra}


def text_message(body: str, wamid: str = WAMID, sender: str | None = CUSTOMER, **extra: Any) -> dict[str, Any]:
    message: dict[str, Any] = {"id": wamid, "timestamp": str(int(time.time())), "type": "text", "text": {"body": body}}
    if sender is not None:
        message["from"] = sender
    message.update(extra)
    return message


def contact(wa_id: str | None = CUSTOMER, name: str = "Анна", user_id: str | None = None) -> dict[str, Any]:
    found: dict[str, Any] = {"profile": {"name": name}}
    if wa_id is not None:
        found["wa_id"] = wa_id
    if user_id is not None:
        found["user_id"] = user_id
    return found


def change(messages: list[dict[str, Any]], contacts: list[dict[str, Any]] | None = None, **value: Any) -> dict:
    body: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": BUSINESS_DISPLAY, "phone_number_id": "106540352242922"},
        **value,
    }
    if messages:
        body["contacts"] = contacts if contacts is not None else [contact()]
        body["messages"] = messages
    return {"value": body, "field": "messages"}


def delivery(*changes: dict[str, Any], entries: int = 1) -> dict[str, Any]:
    """`entries` copies of one entry holding `changes` (Meta batches several entries in one POST)."""
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": f"10229012934039{i}", "changes": list(changes)} for i in range(entries)],
    }


def raw(payload: dict[str, Any]) -> bytes:
    # Meta serialises with escaped unicode (\u0410…); we must verify the bytes, never re-encoded JSON.
    return json.dumps(payload, ensure_ascii=True).encode()


def sign(body: bytes, secret: str = APP_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


async def post_meta(
    http: aiohttp.ClientSession, server: Any, body: bytes | dict[str, Any], signature: str | None = None, **headers: str
) -> tuple[int, Any]:
    data = raw(body) if isinstance(body, dict) else body
    sent = {"Content-Type": "application/json", **headers}
    sent["X-Hub-Signature-256"] = sign(data) if signature is None else signature
    async with http.post(server.url + "/webhooks/meta", data=data, headers=sent) as response:
        return response.status, await response.json()


async def all_dialogs(server: Any) -> list[Any]:
    now = datetime.now(UTC)
    return list(await server.store.list_dialogs(now - timedelta(days=2), now + timedelta(days=1)))


async def test_verification_handshake(start_server: Any, http: aiohttp.ClientSession) -> None:
    server = await start_server(**meta_settings())
    url = server.url + "/webhooks/meta"
    query = {"hub.mode": "subscribe", "hub.challenge": "1158201444", "hub.verify_token": VERIFY_TOKEN}
    async with http.get(url, params=query) as response:
        assert response.status == 200
        assert response.content_type == "text/plain"
        assert await response.text() == "1158201444"
    for wrong in ({"hub.verify_token": "guess"}, {"hub.mode": "unsubscribe"}, {"hub.verify_token": ""}):
        async with http.get(url, params={**query, **wrong}) as response:
            assert response.status == 403, wrong
            assert "1158201444" not in await response.text()

    unconfigured = await start_server(**meta_settings(meta_verify_token=None))
    async with http.get(unconfigured.url + "/webhooks/meta", params=query) as response:
        assert response.status == 403
        assert "CHATTRACK_META_VERIFY_TOKEN" in (await response.json())["error"]


async def test_text_message_opens_an_attributed_dialog(start_server: Any, http: aiohttp.ClientSession) -> None:
    server = await start_server(**meta_settings())
    code = new_code()
    await collect_view(http, server, code, "https://studio.example/?utm_source=google&utm_medium=cpc&utm_campaign=sale")
    text = format_prefill("Здравствуйте! Хочу записаться", code, "код")

    status, body = await post_meta(http, server, delivery(change([text_message(text)])))

    assert (status, body) == (200, {"messages": 1, "new_dialogs": 1})
    [dialog] = await server.store.find_dialogs(contact_id="+79161234567")
    assert (dialog.provider, dialog.business_number, dialog.contact_phone) == ("meta", BUSINESS, "+79161234567")
    assert dialog.contact_name == "Анна"
    assert (dialog.status, dialog.code, dialog.attribution.campaign) == (AttributionStatus.EXACT, code, "sale")
    assert dialog.first_message == "Здравствуйте! Хочу записаться"


async def test_forged_unsigned_or_reencoded_requests_are_refused(
    start_server: Any, http: aiohttp.ClientSession
) -> None:
    server = await start_server(**meta_settings())
    payload = delivery(change([text_message("Привет")]))
    body = raw(payload)
    tampered = body.replace("Привет".encode("unicode_escape"), b"Hacked")
    reencoded = json.dumps(payload, ensure_ascii=False).encode()  # same JSON, other bytes than Meta signed

    cases = [
        (body, sign(body, "another-app-secret")),
        (body, ""),
        (body, sign(body).removeprefix("sha256=")),
        (body, "sha1=" + hmac.new(APP_SECRET.encode(), body, hashlib.sha1).hexdigest()),
        (tampered, sign(body)),
        (body, sign(reencoded)),
    ]
    for data, signature in cases:
        status, answer = await post_meta(http, server, data, signature=signature)
        assert status == 403, signature
        assert "X-Hub-Signature-256" in answer["error"]
    assert await all_dialogs(server) == []
    assert await server.store.pending_alerts() == 0

    unconfigured = await start_server(**meta_settings(meta_app_secret=None))
    status, answer = await post_meta(http, unconfigured, body)
    assert status == 403
    assert "CHATTRACK_META_APP_SECRET" in answer["error"]


async def test_signature_is_over_the_raw_bytes(start_server: Any, http: aiohttp.ClientSession) -> None:
    server = await start_server(**meta_settings())
    body = raw(delivery(change([text_message("Сколько стоит?")])))
    assert b"\\u0421" in body  # escaped unicode, as Meta sends it
    status, _ = await post_meta(http, server, body)
    assert status == 200
    [dialog] = await all_dialogs(server)
    assert dialog.first_message == "Сколько стоит?"


async def test_retries_make_one_dialog_and_one_alert(start_server: Any, http: aiohttp.ClientSession) -> None:
    server = await start_server(**meta_settings(telegram_owner_ids="1001"))
    body = raw(delivery(change([text_message("Хочу записаться")])))

    answers = await asyncio.gather(*(post_meta(http, server, body) for _ in range(3)))
    later = await post_meta(http, server, body)  # Meta retries for days

    assert [status for status, _ in answers] + [later[0]] == [200, 200, 200, 200]
    assert sum(answer["new_dialogs"] for _, answer in [*answers, later]) == 1
    [dialog] = await all_dialogs(server)
    assert dialog.message_count == 1
    assert await server.store.pending_alerts() == 1


async def test_every_message_of_a_batched_delivery_is_stored(start_server: Any, http: aiohttp.ClientSession) -> None:
    server = await start_server(**meta_settings())
    first = change(
        [text_message("Первое", "wamid.A1"), text_message("Второе", "wamid.A2")],
        statuses=[{"id": "wamid.OUT1", "status": "delivered", "recipient_id": CUSTOMER}],
    )
    second = change(
        [text_message("Добрый день", "wamid.B1", sender="79035550011")],
        contacts=[contact("79035550011", "Борис")],
    )
    payload = delivery(first, second)
    payload["entry"].append(
        {"id": "other-waba", "changes": [change([text_message("Hi", "wamid.C1", "4915123456789")])]}
    )

    status, answer = await post_meta(http, server, payload)

    assert (status, answer) == (200, {"messages": 4, "new_dialogs": 3})
    anna, boris, third = [
        await server.store.find_dialogs(contact_id=phone)
        for phone in ("+79161234567", "+79035550011", "+4915123456789")
    ]
    assert (anna[0].message_count, anna[0].first_message) == (2, "Первое")
    assert (boris[0].contact_name, third[0].first_message) == ("Борис", "Hi")
    assert third[0].contact_name is None  # the single contact of that change is someone else


async def test_statuses_are_acknowledged_and_ignored(start_server: Any, http: aiohttp.ClientSession) -> None:
    server = await start_server(**meta_settings())
    receipts = [
        {"id": WAMID, "status": status, "timestamp": str(int(time.time())), "recipient_id": CUSTOMER}
        for status in ("sent", "delivered", "read")
    ]
    status, answer = await post_meta(http, server, delivery(change([], statuses=receipts)))
    assert (status, answer) == (200, {"messages": 0, "new_dialogs": 0})
    status, answer = await post_meta(http, server, {"object": "page", "entry": []})
    assert (status, answer) == (200, {"ignored": "object page"})
    assert await all_dialogs(server) == []


async def test_malformed_deliveries_get_4xx_with_a_reason(start_server: Any, http: aiohttp.ClientSession) -> None:
    server = await start_server(**meta_settings())
    no_metadata = delivery(change([text_message("hi")]))
    del no_metadata["entry"][0]["changes"][0]["value"]["metadata"]
    no_id = delivery(change([{k: v for k, v in text_message("hi").items() if k != "id"}]))
    nobody = delivery(change([text_message("hi", sender=None)], contacts=[]))
    bad_business = delivery(change([text_message("hi")]))
    bad_business["entry"][0]["changes"][0]["value"]["metadata"]["display_phone_number"] = "not a number"
    cases: list[tuple[bytes | dict[str, Any], str]] = [
        (b"{not json", "Invalid JSON"),
        (b"\xff\xfe", "Invalid JSON"),
        ({"entry": []}, "object"),
        ({"object": "whatsapp_business_account", "entry": "nope"}, "entry"),
        (no_metadata, "metadata"),
        (no_id, "id"),
        (nobody, "no sender"),
        (bad_business, "display_phone_number"),
    ]
    for body, reason in cases:
        status, answer = await post_meta(http, server, body)
        assert status == 400, (body, answer)
        assert reason in answer["error"], answer
    # A good message in the same delivery as a broken one is not half-stored: Meta will retry it all.
    half = delivery(
        change([text_message("ok", "wamid.OK"), text_message("bad", "wamid.BAD", sender=None)], contacts=[])
    )
    assert (await post_meta(http, server, half))[0] == 400
    async with http.post(
        server.url + "/webhooks/meta", data=b"a=1", headers={"X-Hub-Signature-256": sign(b"a=1")}
    ) as r:
        assert r.status == 415
    assert await all_dialogs(server) == []


async def test_click_to_whatsapp_ad_becomes_the_attribution(start_server: Any, http: aiohttp.ClientSession) -> None:
    server = await start_server(**meta_settings())
    referral = {
        "source_url": "https://www.instagram.com/p/C8xYz/",
        "source_id": "120210123456789",
        "source_type": "ad",
        "headline": "Детская фотосессия -20%",
        "body": "Запишитесь в WhatsApp",
        "media_type": "image",
        "image_url": "https://scontent.example/ad.jpg",
        "ctwa_clid": "ARAkLkA8rmlFeiCktEJQ-QTwRiyYHAFDLMNDBH0CD3qpjd0HR4irJ6LEkR7JwFF4XvnO2E4Nx0",
    }
    message = text_message("Здравствуйте! Расскажите подробнее", referral=referral)

    status, _ = await post_meta(http, server, delivery(change([message])))

    assert status == 200
    [dialog] = await all_dialogs(server)
    assert dialog.status is AttributionStatus.AD_REFERRAL
    attribution = dialog.attribution
    assert (attribution.channel, attribution.source, attribution.medium) == (Channel.PAID_SOCIAL, "instagram", "ctwa")
    assert (attribution.campaign, attribution.content) == ("Детская фотосессия -20%", "120210123456789")
    assert attribution.ctwa_clid == referral["ctwa_clid"]
    assert dialog.first_message == "Здравствуйте! Расскажите подробнее"


async def test_a_contact_without_a_phone_is_known_by_its_user_id(
    start_server: Any, http: aiohttp.ClientSession
) -> None:
    server = await start_server(**meta_settings())
    bsuid = "US.13491208655302741918"
    username_only = [contact(wa_id=None, name="maria", user_id=bsuid)]
    first = text_message("Здравствуйте", "wamid.U1", sender=None, from_user_id=bsuid)
    second = text_message("Есть время в субботу?", "wamid.U2", sender=None, from_user_id=bsuid)

    await post_meta(http, server, delivery(change([first], contacts=username_only)))
    await post_meta(http, server, delivery(change([second], contacts=username_only)))

    [dialog] = await server.store.find_dialogs(contact_id=bsuid)
    assert (dialog.contact_phone, dialog.contact_name, dialog.message_count) == (None, "maria", 2)


async def test_non_text_messages_open_the_dialog_with_what_text_there_is(
    start_server: Any, http: aiohttp.ClientSession
) -> None:
    server = await start_server(**meta_settings())
    shapes = {
        "79030000001": {"type": "image", "image": {"caption": "Вот такую хочу", "mime_type": "image/jpeg", "id": "1"}},
        "79030000002": {"type": "button", "button": {"payload": "BOOK", "text": "Записаться"}},
        "79030000003": {
            "type": "interactive",
            "interactive": {"type": "button_reply", "button_reply": {"id": "b1", "title": "Цены"}},
        },
        "79030000004": {
            "type": "interactive",
            "interactive": {"type": "list_reply", "list_reply": {"id": "l", "title": "Суббота"}},
        },
        "79030000005": {"type": "location", "location": {"latitude": 55.75, "longitude": 37.61}},
        "79030000006": {"type": "reaction", "reaction": {"message_id": "wamid.OUT", "emoji": "👍"}},
        "79030000007": {"type": "system", "system": {"body": "User changed number", "type": "user_changed_number"}},
    }
    messages = []
    for number, shape in shapes.items():
        message = {"from": number, "id": f"wamid.{number}", "timestamp": str(int(time.time())), **shape}
        messages.append(message)
    contacts = [contact(number, f"n{number[-1]}") for number in shapes]

    status, answer = await post_meta(http, server, delivery(change(messages, contacts=contacts)))

    assert (status, answer) == (200, {"messages": 5, "new_dialogs": 5})
    first = {d.contact_phone: d.first_message for d in await all_dialogs(server)}
    assert first == {
        "+79030000001": "Вот такую хочу",
        "+79030000002": "Записаться",
        "+79030000003": "Цены",
        "+79030000004": "Суббота",
        "+79030000005": "",
    }


async def test_the_message_time_is_when_the_customer_wrote(start_server: Any, http: aiohttp.ClientSession) -> None:
    server = await start_server(**meta_settings())
    sent = int(time.time()) - 3 * 3600  # delivered by a retry three hours late
    status, _ = await post_meta(http, server, delivery(change([text_message("hi", timestamp=str(sent))])))
    assert status == 200
    [dialog] = await all_dialogs(server)
    assert dialog.started_at == datetime.fromtimestamp(sent, UTC)


async def test_store_unavailable_is_503_so_meta_retries(start_server: Any, http: aiohttp.ClientSession) -> None:
    server = await start_server(**meta_settings())
    async with http.get(server.url + "/healthz") as response:
        assert response.status == 200  # up and serving before the database goes away
    await server.store.close()
    status, answer = await post_meta(http, server, delivery(change([text_message("hi")])))
    assert status == 503
    assert "retry" in answer["error"]
