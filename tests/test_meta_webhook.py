"""/webhooks/meta against the real server on a free port: payloads in the shapes of Meta's webhook reference
(developers.facebook.com/documentation/business-messaging/whatsapp/webhooks/reference/messages), signed
as Meta signs them (X-Hub-Signature-256 over the raw body)."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest

from tests.test_twilio_webhook import collect_view
from tracking.codes import format_prefill, new_code
from tracking.contacts import contacts_meant
from tracking.models import AttributionStatus, Channel
from webhooks import meta
from webhooks.app import TRACKER
from webhooks.rare_log import RareWarnings

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


def skips(server: Any) -> list[tuple[str, str]]:
    """What the handler counts as stored nowhere (Tracker.skipped, as /metrics counts it)."""
    seen: list[tuple[str, str]] = []
    server.app[TRACKER].skip_observers.append(lambda provider, kind: seen.append((provider, kind)))
    return seen


async def texts(server: Any, dialog_id: str) -> list[str | None]:
    """The dialog's messages, oldest first: text, or None when deleted."""
    return [None if m.deleted else m.text for m in await server.store.dialog_messages(dialog_id)]


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

    assert (status, body) == (200, {"messages": 1, "new_dialogs": 1, "updated": 0, "replies": 0, "skipped": 0})
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

    assert (status, answer) == (200, {"messages": 4, "new_dialogs": 3, "updated": 0, "replies": 1, "skipped": 0})
    anna, boris, third = [
        await server.store.find_dialogs(contact_id=phone)
        for phone in ("+79161234567", "+79035550011", "+4915123456789")
    ]
    assert (anna[0].message_count, anna[0].first_message) == (2, "Первое")
    assert (boris[0].contact_name, third[0].first_message) == ("Борис", "Hi")
    assert third[0].contact_name is None  # the single contact of that change is someone else


async def test_statuses_without_a_dialog_store_nothing(start_server: Any, http: aiohttp.ClientSession) -> None:
    server = await start_server(**meta_settings())
    receipts = [
        {"id": WAMID, "status": status, "timestamp": str(int(time.time())), "recipient_id": CUSTOMER}
        for status in ("sent", "delivered", "read", "failed")
    ]
    status, answer = await post_meta(http, server, delivery(change([], statuses=receipts)))
    assert (status, answer) == (200, {"messages": 0, "new_dialogs": 0, "updated": 0, "replies": 3, "skipped": 1})
    status, answer = await post_meta(http, server, {"object": "page", "entry": []})
    assert (status, answer) == (200, {"ignored": "object page"})
    assert await all_dialogs(server) == []


async def test_what_is_no_delivery_gets_4xx_with_a_reason(start_server: Any, http: aiohttp.ClientSession) -> None:
    server = await start_server(**meta_settings())
    cases: list[tuple[bytes | dict[str, Any], str]] = [
        (b"{not json", "Invalid JSON"),
        (b"\xff\xfe", "Invalid JSON"),
        ({"entry": []}, "object"),
        ({"object": "whatsapp_business_account", "entry": "nope"}, "entry"),
        ({"object": "whatsapp_business_account", "entry": [{"changes": [{"value": "nope"}]}]}, "value"),
    ]
    for body, reason in cases:
        status, answer = await post_meta(http, server, body)
        assert status == 400, (body, answer)
        assert reason in answer["error"], answer
    async with http.post(
        server.url + "/webhooks/meta", data=b"a=1", headers={"X-Hub-Signature-256": sign(b"a=1")}
    ) as r:
        assert r.status == 415
    assert await all_dialogs(server) == []


async def test_one_unreadable_message_does_not_refuse_the_delivery(
    start_server: Any, http: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A 400 would make Meta retry the whole batch for days, the good messages with it.
    monkeypatch.setattr(meta, "rare", RareWarnings(meta.log))  # no line said by an earlier test this minute
    server = await start_server(**meta_settings())
    seen = skips(server)
    no_id = {k: v for k, v in text_message("без id").items() if k != "id"}
    nobody = text_message("без отправителя", "wamid.NOBODY", sender=None)
    broken = {**text_message("", "wamid.BROKEN"), "text": "not an object"}
    good = change([text_message("Первое", "wamid.OK1"), no_id, broken, text_message("Второе", "wamid.OK2")])
    no_metadata = change([text_message("hi", "wamid.NOMETA", sender="79035550011")])
    del no_metadata["value"]["metadata"]
    bad_business = change([text_message("hi", "wamid.BADBIZ", sender="79035550012")])
    bad_business["value"]["metadata"]["display_phone_number"] = "not a number"
    good["value"]["contacts"] = [contact(), "not a contact"]  # a broken contact costs only a name

    with caplog.at_level(logging.WARNING, logger="chattrack.meta"):
        status, answer = await post_meta(
            http, server, delivery(good, change([nobody], contacts=[]), no_metadata, bad_business)
        )

    assert (status, answer) == (200, {"messages": 2, "new_dialogs": 1, "updated": 0, "replies": 0, "skipped": 5})
    [dialog] = await all_dialogs(server)
    assert (dialog.contact_name, dialog.first_message, dialog.message_count) == ("Анна", "Первое", 2)
    assert await texts(server, dialog.id) == ["Первое", "Второе"]
    assert seen == [("meta", "unreadable")] * 5
    unreadable = [r.getMessage() for r in caplog.records if "unreadable message skipped" in r.getMessage()]
    assert len(unreadable) == 1  # once a minute, with how many went unsaid
    assert "id" in unreadable[0]


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


BSUID = "US.13491208655302741918"


def from_phone_and_user_id(body: str, wamid: str, at: int) -> dict[str, Any]:
    """A message that carries both identities: the phone (from, wa_id) and the business-scoped user id."""
    message = text_message(body, wamid, from_user_id=BSUID, timestamp=str(at))
    return change([message], contacts=[contact(user_id=BSUID)])


def from_user_id_only(body: str, wamid: str, at: int) -> dict[str, Any]:
    """A later message of the same customer: Meta stopped sending the phone (a username, 30 days' silence)."""
    message = text_message(body, wamid, sender=None, from_user_id=BSUID, timestamp=str(at))
    return change([message], contacts=[contact(wa_id=None, user_id=BSUID)])


async def test_a_customer_known_later_by_user_id_only_stays_the_phones_contact(
    start_server: Any, http: aiohttp.ClientSession
) -> None:
    server = await start_server(**meta_settings(telegram_owner_ids="1001", dialog_gap_hours=1))
    now = int(time.time())
    await post_meta(http, server, delivery(from_phone_and_user_id("Здравствуйте", "wamid.B1", now - 3 * 3600)))
    await post_meta(http, server, delivery(from_user_id_only("А доставка есть?", "wamid.B2", now - 3 * 3600 + 60)))
    # After the dialog gap: a new dialog, still the phone's, and the alert says the customer is known.
    status, answer = await post_meta(http, server, delivery(from_user_id_only("Снова я", "wamid.B3", now)))

    assert (status, answer["new_dialogs"]) == (200, 1)
    first, again = await all_dialogs(server)
    phone = "+79161234567"
    assert (first.contact_id, first.contact_phone, first.message_count, first.is_repeat) == (phone, phone, 2, False)
    assert (again.contact_id, again.contact_phone, again.message_count, again.is_repeat) == (phone, phone, 1, True)
    assert await texts(server, first.id) == ["Здравствуйте", "А доставка есть?"]
    assert await server.store.find_dialogs(contact_id=BSUID) == []  # no second contact, no "new customer" lead
    assert await server.store.pending_alerts() == 2  # one per dialog: the second one a repeat customer's


async def test_only_messages_with_a_user_id_look_it_up(start_server: Any, http: aiohttp.ClientSession) -> None:
    server = await start_server(**meta_settings())
    store, calls = server.store, []
    for name in ("aliased_contact", "link_alias"):
        method = getattr(store, name)

        async def counted(*args: Any, _method: Any = method, _name: str = name) -> Any:
            calls.append(_name)
            return await _method(*args)

        setattr(store, name, counted)

    await post_meta(http, server, delivery(change([text_message("Здравствуйте", "wamid.P1")])))
    assert calls == []  # phone only: no round trip more than before
    await post_meta(http, server, delivery(from_phone_and_user_id("Ещё вопрос", "wamid.P2", int(time.time()))))
    assert calls[0] == "link_alias"  # both identities: the link is recorded (the store may read first)
    calls.clear()
    await post_meta(http, server, delivery(from_user_id_only("И ещё", "wamid.P3", int(time.time()))))
    assert calls == ["aliased_contact"]  # the user id alone: resolved, not linked again


async def test_an_erased_customer_writing_by_user_id_is_a_new_contact(
    start_server: Any, http: aiohttp.ClientSession
) -> None:
    server = await start_server(**meta_settings())
    now, phone = int(time.time()), "+79161234567"
    first = delivery(from_phone_and_user_id("Здравствуйте", "wamid.F1", now - 60))
    await post_meta(http, server, first)
    assert await contacts_meant(server.store, BSUID, "RU") == [phone]  # an owner may name them by user id

    assert await server.store.forget_contact(phone) == 1

    assert await server.store.aliased_contact(BSUID) is None  # the link to the phone went with the contact
    await post_meta(http, server, first)  # Meta's retry of the erased message: stored nowhere, links nothing
    assert await server.store.aliased_contact(BSUID) is None
    await post_meta(http, server, delivery(from_user_id_only("Это снова я", "wamid.F2", now)))
    [dialog] = await all_dialogs(server)
    assert (dialog.contact_id, dialog.contact_phone, dialog.is_repeat) == (BSUID, None, False)
    assert await server.store.find_dialogs(contact_id=phone) == []


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

    assert (status, answer) == (200, {"messages": 5, "new_dialogs": 5, "updated": 0, "replies": 0, "skipped": 2})
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


def revoke(original: str, wamid: str = "wamid.REVOKE1") -> dict[str, Any]:
    """A customer deleted a message (coexistence), as Meta's revoke webhook reference shows it."""
    return {
        "from": CUSTOMER,
        "id": wamid,
        "timestamp": str(int(time.time())),
        "type": "revoke",
        "revoke": {"original_message_id": original},
    }


def edit(original: str, content: dict[str, Any], wamid: str = "wamid.EDIT1", at: int | None = None) -> dict[str, Any]:
    """A customer edited a message (coexistence), as Meta's edit webhook reference shows it: the new content
    in `edit.message`, typed like any message."""
    return {
        "from": CUSTOMER,
        "id": wamid,
        "timestamp": str(at or int(time.time())),
        "type": "edit",
        "edit": {"original_message_id": original, "message": {"context": {"id": original}, **content}},
    }


async def test_a_revoke_marks_its_message_deleted_and_opens_no_lead(
    start_server: Any, http: aiohttp.ClientSession
) -> None:
    server = await start_server(**meta_settings(telegram_owner_ids="1001"))
    seen = skips(server)

    status, answer = await post_meta(http, server, delivery(change([revoke("wamid.NEVER_SEEN")])))

    assert (status, answer) == (200, {"messages": 0, "new_dialogs": 0, "updated": 0, "replies": 0, "skipped": 1})
    assert await all_dialogs(server) == []  # not a lead, not an alert
    assert await server.store.pending_alerts() == 0
    assert seen == [("meta", "deletion")]

    await post_meta(http, server, delivery(change([text_message("Хочу записаться", WAMID)])))
    status, answer = await post_meta(http, server, delivery(change([revoke(WAMID, "wamid.REVOKE2")])))

    assert (status, answer) == (200, {"messages": 0, "new_dialogs": 0, "updated": 1, "replies": 0, "skipped": 0})
    [dialog] = await all_dialogs(server)
    assert dialog.message_count == 1
    assert await texts(server, dialog.id) == [None]
    assert await server.store.pending_alerts() == 1  # the message's own alert, none for its deletion
    retry = await post_meta(http, server, delivery(change([text_message("Хочу записаться", WAMID)])))
    assert retry == (200, {"messages": 1, "new_dialogs": 0, "updated": 0, "replies": 0, "skipped": 0})
    assert await texts(server, dialog.id) == [None]  # still deleted: a retry is a duplicate


async def test_an_edit_replaces_the_text_of_its_message(start_server: Any, http: aiohttp.ClientSession) -> None:
    server = await start_server(**meta_settings(telegram_owner_ids="1001"))
    seen = skips(server)
    sent = int(time.time()) - 60
    await post_meta(http, server, delivery(change([text_message("Здраствуйте, сколко стоит?", WAMID)])))
    photo = {"type": "image", "image": {"id": "1", "mime_type": "image/jpeg"}}
    await post_meta(http, server, delivery(change([text_message("", "wamid.PHOTO") | photo])))

    status, answer = await post_meta(
        http,
        server,
        delivery(
            change(
                [
                    edit(WAMID, {"type": "text", "text": {"body": "Здравствуйте, сколько стоит?"}}, at=sent),
                    edit("wamid.PHOTO", {"type": "image", "image": {"caption": "Вот такую"}}, "wamid.EDIT2"),
                    edit("wamid.NEVER_SEEN", {"type": "text", "text": {"body": "?"}}, "wamid.EDIT3"),
                ]
            )
        ),
    )

    assert (status, answer) == (200, {"messages": 0, "new_dialogs": 0, "updated": 2, "replies": 0, "skipped": 1})
    [dialog] = await all_dialogs(server)
    assert (dialog.first_message, dialog.message_count) == ("Здравствуйте, сколько стоит?", 2)
    assert await texts(server, dialog.id) == ["Здравствуйте, сколько стоит?", "Вот такую"]
    assert seen == [("meta", "edit")]
    assert await server.store.pending_alerts() == 1


async def test_an_edit_that_adds_the_code_attributes_the_dialog(start_server: Any, http: aiohttp.ClientSession) -> None:
    server = await start_server(**meta_settings())
    code = new_code()
    await collect_view(http, server, code, "https://studio.example/?utm_source=google&utm_medium=cpc&utm_campaign=sale")
    await post_meta(http, server, delivery(change([text_message("Здравствуйте! Хочу записаться", WAMID)])))

    text = format_prefill("Здравствуйте! Хочу записаться", code, "код")
    status, _ = await post_meta(http, server, delivery(change([edit(WAMID, {"type": "text", "text": {"body": text}})])))

    assert status == 200
    [dialog] = await all_dialogs(server)
    assert (dialog.status, dialog.code, dialog.attribution.campaign) == (AttributionStatus.EXACT, code, "sale")
    assert dialog.first_message == "Здравствуйте! Хочу записаться"


async def test_media_without_a_caption_opens_a_dialog(start_server: Any, http: aiohttp.ClientSession) -> None:
    server = await start_server(**meta_settings())
    shapes: dict[str, dict[str, Any]] = {
        "79030000011": {"type": "image", "image": {"mime_type": "image/jpeg", "sha256": "x", "id": "1"}},
        "79030000012": {"type": "audio", "audio": {"mime_type": "audio/ogg; codecs=opus", "id": "2", "voice": True}},
        "79030000013": {"type": "sticker", "sticker": {"mime_type": "image/webp", "id": "3", "animated": False}},
        "79030000014": {"type": "video", "video": {"mime_type": "video/mp4", "id": "4"}},
        "79030000015": {"type": "document", "document": {"filename": "brief.pdf", "id": "5"}},
        "79030000016": {"type": "contacts", "contacts": [{"name": {"formatted_name": "Ольга"}, "phones": []}]},
    }
    messages = [
        {"from": number, "id": f"wamid.{number}", "timestamp": str(int(time.time())), **shape}
        for number, shape in shapes.items()
    ]
    contacts = [contact(number, f"n{number[-1]}") for number in shapes]

    status, answer = await post_meta(http, server, delivery(change(messages, contacts=contacts)))

    assert (status, answer) == (200, {"messages": 6, "new_dialogs": 6, "updated": 0, "replies": 0, "skipped": 0})
    assert {d.contact_phone: d.first_message for d in await all_dialogs(server)} == {
        "+" + number: "" for number in shapes
    }


async def test_what_the_customer_chose_or_ordered_is_the_text(start_server: Any, http: aiohttp.ClientSession) -> None:
    server = await start_server(**meta_settings())
    shapes: dict[str, dict[str, Any]] = {
        "79030000021": {"type": "order", "order": {"catalog_id": "1", "text": "К 18:00", "product_items": []}},
        "79030000022": {
            "type": "interactive",
            "interactive": {"type": "nfm_reply", "nfm_reply": {"name": "flow", "body": "Sent", "response_json": "{}"}},
        },
        "79030000023": {"type": "location", "location": {"latitude": 55.75, "longitude": 37.61, "name": "Студия"}},
    }
    messages = [
        {"from": number, "id": f"wamid.{number}", "timestamp": str(int(time.time())), **shape}
        for number, shape in shapes.items()
    ]

    status, _ = await post_meta(http, server, delivery(change(messages, contacts=[])))

    assert status == 200
    assert {d.contact_phone: d.first_message for d in await all_dialogs(server)} == {
        "+79030000021": "К 18:00",
        "+79030000022": "Sent",
        "+79030000023": "Студия",
    }


async def test_events_and_unknown_types_are_stored_nowhere(start_server: Any, http: aiohttp.ClientSession) -> None:
    server = await start_server(**meta_settings(telegram_owner_ids="1001"))
    seen = skips(server)
    shapes: list[dict[str, Any]] = [
        {"type": "reaction", "reaction": {"message_id": "wamid.OUT", "emoji": "👍"}},
        {"type": "unsupported", "errors": [{"code": 131051, "title": "Message type unknown"}]},
        {"type": "unknown", "errors": [{"code": 131051, "title": "Message type is not currently supported"}]},
        {"type": "system", "system": {"body": "User A changed from 1 to 2", "type": "user_changed_number"}},
        {"type": "request_welcome"},
        {"type": "ephemeral"},
        {"type": "poll_vote_from_the_future", "poll_vote_from_the_future": {"option": 1}},
        {"type": "text", "text": {"body": "в группе"}, "group_id": "120363012345678901"},
    ]
    messages = [
        {"from": CUSTOMER, "id": f"wamid.E{i}", "timestamp": str(int(time.time())), **shape}
        for i, shape in enumerate(shapes)
    ]

    status, answer = await post_meta(http, server, delivery(change(messages)))

    assert (status, answer) == (200, {"messages": 0, "new_dialogs": 0, "updated": 0, "replies": 0, "skipped": 8})
    assert await all_dialogs(server) == []
    assert await server.store.pending_alerts() == 0
    assert [kind for _, kind in seen] == [
        "reaction", "unsupported", "unsupported", "event", "event", "event", "other", "group"
    ]  # fmt: skip


# The business's replies (first response time) ---------------------------------------------------------------


def moment(at: int) -> datetime:
    return datetime.fromtimestamp(at, UTC)


def echo_change(echoes: list[dict[str, Any]], display: str = BUSINESS_DISPLAY, **value: Any) -> dict[str, Any]:
    """smb_message_echoes as Meta's reference shows it: metadata, message_echoes[] with from (the business),
    to (the customer), id, timestamp, type and its object."""
    body = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": display, "phone_number_id": "106540352242922"},
        "message_echoes": echoes,
        **value,
    }
    return {"value": body, "field": "smb_message_echoes"}


def echo(at: int, to: str | None = CUSTOMER, wamid: str = "wamid.ECHO1", **extra: Any) -> dict[str, Any]:
    sent: dict[str, Any] = {
        "from": BUSINESS_DISPLAY,
        "id": wamid,
        "timestamp": str(at),
        "type": "text",
        "text": {"body": "Здравствуйте! Записал вас на 12:00"},
        **extra,
    }
    if to is not None:
        sent["to"] = to
    return sent


def receipt(status: str, at: int, recipient: str | None = CUSTOMER, wamid: str = "wamid.OUT1", **extra: Any) -> dict:
    """A status as Meta's status messages webhook reference shows it."""
    found: dict[str, Any] = {"id": wamid, "status": status, "timestamp": str(at), **extra}
    if recipient is not None:
        found["recipient_id"] = recipient
    if status == "failed":
        found["errors"] = [{"code": 131026, "title": "Message undeliverable"}]
    else:
        found["conversation"] = {"id": "7270432eae37498234f4444b35ffc5", "origin": {"type": "service"}}
        found["pricing"] = {"billable": True, "pricing_model": "CBP", "category": "service"}
    return found


async def open_dialog(http: aiohttp.ClientSession, server: Any, at: int, **message: Any) -> Any:
    """The customer's message at `at`: their dialog, not answered yet."""
    sent = text_message("Здравствуйте! Сколько стоит?", f"wamid.IN{at}", timestamp=str(at), **message)
    contacts = [contact(message.get("from", CUSTOMER), user_id=message.get("from_user_id"))]
    status, answer = await post_meta(http, server, delivery(change([sent], contacts=contacts)))
    assert (status, answer["new_dialogs"]) == (200, 1)
    [dialog] = [d for d in await all_dialogs(server) if d.started_at == moment(at)]
    assert dialog.answered_at is None
    return dialog


async def test_an_echo_from_the_business_app_answers_the_dialog_at_its_time(
    start_server: Any, http: aiohttp.ClientSession
) -> None:
    server = await start_server(**meta_settings())
    seen = skips(server)
    opened = int(time.time()) - 600
    dialog = await open_dialog(http, server, opened)

    status, answer = await post_meta(http, server, delivery(echo_change([echo(opened + 75)])))

    assert (status, answer) == (200, {"messages": 0, "new_dialogs": 0, "updated": 0, "replies": 1, "skipped": 0})
    [answered] = await all_dialogs(server)
    assert (answered.id, answered.answered_at, answered.message_count) == (dialog.id, moment(opened + 75), 1)
    assert seen == []  # a reply is neither a customer's message nor a skip


async def test_statuses_of_an_api_message_answer_once_at_the_earliest_and_failed_answers_nothing(
    start_server: Any, http: aiohttp.ClientSession
) -> None:
    server = await start_server(**meta_settings())
    seen = skips(server)
    opened = int(time.time()) - 900
    await open_dialog(http, server, opened)
    other = await open_dialog(http, server, opened + 1, **{"from": "79035550011"})

    failed = receipt("failed", opened + 20, "79035550011", "wamid.OUT2")
    assert (await post_meta(http, server, delivery(change([], statuses=[failed]))))[0] == 200
    read = receipt("read", opened + 200)  # out of order: the read receipt first
    sent_and_delivered = [receipt("sent", opened + 60), receipt("delivered", opened + 61)]
    for statuses in ([read], sent_and_delivered, [receipt("sent", opened + 60)]):  # the last one: Meta's retry
        status, _ = await post_meta(http, server, delivery(change([], statuses=statuses)))
        assert status == 200

    answered = {d.contact_id: d.answered_at for d in await all_dialogs(server)}
    assert answered == {"+79161234567": moment(opened + 60), "+79035550011": None}
    assert other.answered_at is None
    assert seen == [("meta", "status")]


async def test_a_reply_before_any_dialog_stores_nothing(start_server: Any, http: aiohttp.ClientSession) -> None:
    server = await start_server(**meta_settings())
    now = int(time.time())

    status, answer = await post_meta(http, server, delivery(echo_change([echo(now - 900)])))
    assert (status, answer["replies"]) == (200, 1)
    assert await all_dialogs(server) == []

    await open_dialog(http, server, now - 600)  # the customer writes after the business did
    late_receipt = receipt("delivered", now - 700)  # of the business's earlier message, delivered before
    assert (await post_meta(http, server, delivery(change([], statuses=[late_receipt]))))[0] == 200
    [dialog] = await all_dialogs(server)
    assert dialog.answered_at is None


async def test_replies_on_another_business_number_or_to_another_customer_answer_nothing(
    start_server: Any, http: aiohttp.ClientSession
) -> None:
    server = await start_server(**meta_settings())
    opened = int(time.time()) - 600
    await open_dialog(http, server, opened)

    other_number = echo_change([echo(opened + 30)], display="15550783881")
    other_customer = echo_change([echo(opened + 40, to="79035550099", wamid="wamid.ECHO2")])
    group = change([], statuses=[receipt("sent", opened + 50, recipient_type="group")])
    for payload in (other_number, other_customer, group):
        assert (await post_meta(http, server, delivery(payload)))[0] == 200

    [dialog] = await all_dialogs(server)
    assert dialog.answered_at is None


async def test_echoes_that_edit_revoke_or_react_answer_nothing(start_server: Any, http: aiohttp.ClientSession) -> None:
    server = await start_server(**meta_settings())
    seen = skips(server)
    opened = int(time.time()) - 600
    await open_dialog(http, server, opened)
    changes = [
        echo(opened + 10, wamid="wamid.E1", type="edit", edit={"original_message_id": "wamid.Z", "message": {}}),
        echo(opened + 11, wamid="wamid.E2", type="revoke", revoke={"original_message_id": "wamid.Z"}),
        echo(opened + 12, wamid="wamid.E3", type="reaction", reaction={"message_id": "wamid.Z", "emoji": "👍"}),
    ]
    for sent in changes:
        del sent["text"]

    status, answer = await post_meta(http, server, delivery(echo_change(changes)))

    assert (status, answer) == (200, {"messages": 0, "new_dialogs": 0, "updated": 0, "replies": 0, "skipped": 3})
    [dialog] = await all_dialogs(server)
    assert dialog.answered_at is None
    assert seen == [("meta", "echo")] * 3


async def test_a_reply_to_a_bsuid_finds_the_phone_contact_it_was_linked_to(
    start_server: Any, http: aiohttp.ClientSession
) -> None:
    server = await start_server(**meta_settings())
    user_id = "US.13491208655302741918"
    opened = int(time.time()) - 600
    await open_dialog(http, server, opened, from_user_id=user_id)  # the phone and its BSUID: linked

    by_bsuid = receipt("sent", opened + 45, recipient=None, recipient_user_id=user_id)
    status, answer = await post_meta(http, server, delivery(change([], statuses=[by_bsuid])))

    assert (status, answer["replies"]) == (200, 1)
    [dialog] = await all_dialogs(server)
    assert (dialog.contact_id, dialog.answered_at) == ("+79161234567", moment(opened + 45))


async def test_an_echo_to_a_username_customer_answers_their_bsuid_dialog(
    start_server: Any, http: aiohttp.ClientSession
) -> None:
    server = await start_server(**meta_settings())
    user_id = "US.13491208655302741918"
    opened = int(time.time()) - 600
    sent = text_message("Здравствуйте", "wamid.U1", sender=None, from_user_id=user_id, timestamp=str(opened))
    assert (await post_meta(http, server, delivery(change([sent], contacts=[contact(None, user_id=user_id)]))))[
        0
    ] == 200

    status, answer = await post_meta(
        http, server, delivery(echo_change([echo(opened + 33, to=None, to_user_id=user_id)]))
    )

    assert (status, answer["replies"]) == (200, 1)
    [dialog] = await all_dialogs(server)
    assert (dialog.contact_id, dialog.answered_at) == (user_id, moment(opened + 33))


async def test_unreadable_replies_are_counted_and_the_rest_taken(
    start_server: Any, http: aiohttp.ClientSession
) -> None:
    server = await start_server(**meta_settings())
    seen = skips(server)
    opened = int(time.time()) - 600
    await open_dialog(http, server, opened)
    nobody = echo(opened + 5, to=None, wamid="wamid.NOBODY")
    no_id = {k: v for k, v in receipt("sent", opened + 6).items() if k != "id"}
    no_recipient = receipt("sent", opened + 7, recipient=None, wamid="wamid.NOREC")
    good = receipt("read", opened + 90)

    status, answer = await post_meta(
        http, server, delivery(echo_change([nobody]), change([], statuses=[no_id, no_recipient, good]))
    )

    assert (status, answer) == (200, {"messages": 0, "new_dialogs": 0, "updated": 0, "replies": 1, "skipped": 3})
    [dialog] = await all_dialogs(server)
    assert dialog.answered_at == moment(opened + 90)
    assert seen == [("meta", "unreadable")] * 3
