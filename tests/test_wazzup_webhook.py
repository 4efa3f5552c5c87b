"""POST /webhooks/wazzup against the real server on a free port: deliveries in the shapes of Wazzup's API v3
webhooks page (wazzup24.ru/help/api-ru/webhooks-2/, wazzup24.com/help/api-en/webhooks/), authorised as
Wazzup sends them when it has the integration's crmKey (`Authorization: Bearer <crmKey>`)."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest

from tests.test_twilio_webhook import collect_view
from tracking.codes import format_prefill, new_code
from tracking.models import AttributionStatus, Channel, Messenger
from webhooks.app import TRACKER

KEY = "wz-crm-key-5f1c2a9e0b7d4c3e8a6f"
WHATSAPP_CHANNEL = "b96a353b-06f5-4cac-8413-ba99999f9811"
TELEGRAM_CHANNEL = "d9e5721c-ce2b-444f-9627-60a8129d7e1f"
CHANNELS = json.dumps({WHATSAPP_CHANNEL: "+7 999 123-45-67", TELEGRAM_CHANNEL: "@Studio_Shop"})


def settings(**extra: Any) -> dict[str, Any]:
    return {"wazzup_crm_key": KEY, "wazzup_channels": CHANNELS, **extra}


def message(text: str | None, message_id: str = "6a2087e8-e0f4-4f1b-b968-9d9e5a933c81", **fields: Any) -> dict:
    """An incoming WhatsApp message as the webhooks page shows one."""
    body: dict[str, Any] = {
        "messageId": message_id,
        "dateTime": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
        "channelId": WHATSAPP_CHANNEL,
        "chatType": "whatsapp",
        "chatId": "79161234567",
        "type": "text",
        "isEcho": False,
        "contact": {"name": "Анна", "avatarUri": "https://store.wazzup24.com/0e82ead"},
        "text": text,
        "status": "inbound",
    }
    if text is None:
        del body["text"]
    body.update(fields)
    return body


async def post(
    http: aiohttp.ClientSession, server: Any, payload: Any, authorization: str | None = None, query: str = ""
) -> tuple[int, Any]:
    data = json.dumps(payload).encode() if not isinstance(payload, bytes) else payload
    # Wazzup's header, as its page writes it ("charset-utf-8").
    headers = {"Content-Type": "application/json; charset-utf-8"}
    if authorization != "":
        headers["Authorization"] = f"Bearer {KEY}" if authorization is None else authorization
    async with http.post(server.url + "/webhooks/wazzup" + query, data=data, headers=headers) as response:
        return response.status, await response.json()


def skips(server: Any) -> list[tuple[str, str]]:
    """What the handler counts as stored nowhere, as /metrics sees it (chattrack_events_skipped)."""
    seen: list[tuple[str, str]] = []
    server.app[TRACKER].skip_observers.append(lambda provider, kind: seen.append((provider, kind)))
    return seen


async def all_dialogs(server: Any) -> list[Any]:
    now = datetime.now(UTC)
    return list(await server.store.list_dialogs(now - timedelta(days=2), now + timedelta(days=1)))


async def test_the_registration_probe_gets_200(start_server: Any, http: aiohttp.ClientSession) -> None:
    server = await start_server(**settings())

    status, _ = await post(http, server, {"test": True})

    assert status == 200
    assert await all_dialogs(server) == []


async def test_whatsapp_message_with_a_code_is_attributed(start_server: Any, http: aiohttp.ClientSession) -> None:
    server = await start_server(**settings(telegram_owner_ids="1001"))
    code = new_code()
    await collect_view(http, server, code, "https://studio.example/?utm_source=google&utm_medium=cpc&utm_campaign=sale")

    status, answer = await post(http, server, {"messages": [message(format_prefill("Хочу записаться", code, "код"))]})

    assert (status, answer["messages"], answer["new_dialogs"]) == (200, 1, 1)
    [dialog] = await server.store.find_dialogs(contact_id="+79161234567")
    assert (dialog.provider, dialog.messenger, dialog.business_number) == ("wazzup", Messenger.WHATSAPP, "+79991234567")
    assert (dialog.contact_phone, dialog.contact_name) == ("+79161234567", "Анна")
    assert (dialog.status, dialog.code, dialog.attribution.channel) == (
        AttributionStatus.EXACT,
        code,
        Channel.PAID_SEARCH,
    )
    assert dialog.first_message == "Хочу записаться"
    assert await server.store.pending_alerts() == 1


async def test_telegram_message_names_the_customer_as_the_bot_does(
    start_server: Any, http: aiohttp.ClientSession
) -> None:
    server = await start_server(**settings())
    telegram = message(
        "Добрый день! Есть свободное время в субботу?",
        "caa90012-cce3-424c-86cd-05f99995073a",
        channelId=TELEGRAM_CHANNEL,
        chatType="telegram",
        chatId="5006001234",
        contact={"name": "Ольга", "username": "olga_flowers", "phone": "79161112233"},
    )

    status, _ = await post(http, server, {"messages": [telegram]})

    assert status == 200
    [dialog] = await server.store.find_dialogs(contact_id="tg:5006001234")
    assert (dialog.messenger, dialog.business_number) == (Messenger.TELEGRAM, "@studio_shop")
    assert (dialog.contact_phone, dialog.contact_name) == ("+79161112233", "Ольга (@olga_flowers)")
    assert dialog.first_message == "Добрый день! Есть свободное время в субботу?"


async def test_echoes_open_no_dialog_and_send_no_alert(start_server: Any, http: aiohttp.ClientSession) -> None:
    server = await start_server(**settings(telegram_owner_ids="1001"))
    seen = skips(server)
    from_crm = message("Здравствуйте! Чем помочь?", "e0629e11-0f67-4567-92a9-2237e91ec1b9", isEcho=True)
    from_app = message(
        "Записал вас на 12:00", "61e5a375-1760-452f-ad73-5318844ffc4f", isEcho=True, sentFromApp=True, authorName="Иван"
    )
    from_app["status"] = "sent"

    status, answer = await post(http, server, {"messages": [from_crm, from_app]})

    assert (status, answer["messages"], answer["replies"], answer["skipped"]) == (200, 0, 2, 0)
    assert await all_dialogs(server) == []  # no dialog before them: they answer nothing, store nothing
    assert await server.store.pending_alerts() == 0
    assert seen == []  # replies, not skips


async def test_statuses_are_acknowledged_counted_and_stored_nowhere(
    start_server: Any, http: aiohttp.ClientSession
) -> None:
    server = await start_server(**settings())
    seen = skips(server)
    statuses = [
        {
            "messageId": "be3dc577-60c4-4fc8-83a5-8c358e0bfe15",
            "timestamp": "2025-02-05T06:01:07.499Z",
            "status": "delivered",
        },
        {
            "messageId": "be3dc577-60c4-4fc8-83a5-8c358e0bfe16",
            "timestamp": "2025-02-05T06:01:08.000Z",
            "status": "error",
            "error": {"error": "BAD_CONTACT", "description": "Account with this chatId does not exist"},
        },
    ]

    alone, _ = await post(http, server, {"statuses": statuses})
    together, answer = await post(http, server, {"messages": [message("Привет")], "statuses": statuses[:1]})

    assert (alone, together, answer["messages"], answer["statuses"]) == (200, 200, 1, 1)
    assert [d.first_message for d in await all_dialogs(server)] == ["Привет"]
    assert seen == [("wazzup", "status")] * 3


async def test_wrong_or_missing_key_is_refused_and_nothing_stored(
    start_server: Any, http: aiohttp.ClientSession
) -> None:
    server = await start_server(**settings())
    payload = {"messages": [message("Привет")]}

    for authorization in ("Bearer wrong-key", f"Basic {KEY}", f"Bearer {KEY}x", "Bearer ", ""):
        status, answer = await post(http, server, payload, authorization=authorization)
        assert status == 403, authorization
        assert "crmKey" in answer["error"]
    assert await all_dialogs(server) == []

    status, _ = await post(http, server, payload, authorization="", query="?crmKey=wrong")
    assert status == 403
    status, _ = await post(http, server, payload, authorization="", query=f"?crmKey={KEY}")  # a plain API-key set-up
    assert status == 200
    assert len(await all_dialogs(server)) == 1


async def test_without_a_configured_key_everything_is_refused(start_server: Any, http: aiohttp.ClientSession) -> None:
    for unset in ({}, {"wazzup_crm_key": "  "}):
        server = await start_server(**{"wazzup_channels": CHANNELS, **unset})

        for payload in ({"test": True}, {"messages": [message("Привет")]}):
            status, answer = await post(http, server, payload)
            assert status == 403
            assert "CHATTRACK_WAZZUP_CRM_KEY" in answer["error"]
        assert await all_dialogs(server) == []


async def test_one_unreadable_message_does_not_refuse_the_batch(start_server: Any, http: aiohttp.ClientSession) -> None:
    server = await start_server(**settings())
    seen = skips(server)
    batch = [
        message("Первое", "00000000-0000-4000-8000-000000000001", chatId="79161110001"),
        {"messageId": 42, "chatType": "whatsapp"},  # no channel, no chat, a number for an id
        "not a message",
        message("Третье", "00000000-0000-4000-8000-000000000003", chatId="79161110003", dateTime="yesterday"),
        message("Четвёртое", "00000000-0000-4000-8000-000000000004", chatId="79161110004"),
    ]

    status, answer = await post(http, server, {"messages": batch})

    assert (status, answer["messages"], answer["skipped"]) == (200, 2, 3)
    assert sorted(d.first_message for d in await all_dialogs(server)) == ["Первое", "Четвёртое"]
    assert seen == [("wazzup", "unreadable")] * 3


async def test_a_retry_changes_nothing(start_server: Any, http: aiohttp.ClientSession) -> None:
    server = await start_server(**settings(telegram_owner_ids="1001"))
    delivery = {"messages": [message("Хочу записаться"), message("на субботу", "6a2087e8-e0f4-4f1b-b968-000000000002")]}

    first = await post(http, server, delivery)
    retries = await asyncio.gather(*(post(http, server, delivery) for _ in range(3)))

    assert first == (200, {"messages": 2, "new_dialogs": 1, "updated": 0, "replies": 0, "skipped": 0, "statuses": 0})
    assert all(answer["messages"] == 0 for _, answer in retries)
    [dialog] = await all_dialogs(server)
    assert dialog.message_count == 2
    assert await server.store.pending_alerts() == 1


async def test_groups_other_messengers_and_non_content_are_counted_not_stored(
    start_server: Any, http: aiohttp.ClientSession
) -> None:
    server = await start_server(**settings())
    seen = skips(server)
    batch = [
        message(
            "Всем привет", "10000000-0000-4000-8000-000000000001", chatType="whatsgroup", chatId="79161234567-1600"
        ),
        message("Привет из Instagram", "10000000-0000-4000-8000-000000000002", chatType="instagram", chatId="wztest"),
        message(None, "10000000-0000-4000-8000-000000000003", type="missing_call"),
        message(None, "10000000-0000-4000-8000-000000000004", type="unsupported"),
    ]

    status, answer = await post(http, server, {"messages": batch})

    assert (status, answer["skipped"]) == (200, 4)
    assert await all_dialogs(server) == []
    assert [kind for _, kind in seen] == ["group", "messenger", "not_content", "not_content"]


async def test_media_with_and_without_caption_is_a_lead(start_server: Any, http: aiohttp.ClientSession) -> None:
    server = await start_server(**settings())
    sticker = message(None, "20000000-0000-4000-8000-000000000001", type="image", chatId="79161110001")
    sticker["contentUri"] = "https://store.wazzup24.com/e511599?filename=f9eb.was"
    photo = message("Такое платье есть?", "20000000-0000-4000-8000-000000000002", type="image", chatId="79161110002")

    status, answer = await post(http, server, {"messages": [sticker, photo]})

    assert (status, answer["new_dialogs"]) == (200, 2)
    first = {d.contact_id: d.first_message for d in await all_dialogs(server)}
    assert first == {"+79161110001": "", "+79161110002": "Такое платье есть?"}


async def test_an_unmapped_channel_keeps_its_id_as_the_business_number(
    start_server: Any, http: aiohttp.ClientSession
) -> None:
    server = await start_server(wazzup_crm_key=KEY)

    status, _ = await post(http, server, {"messages": [message("Привет")]})

    assert status == 200
    [dialog] = await all_dialogs(server)
    assert (dialog.business_number, dialog.contact_name) == (WHATSAPP_CHANNEL, "Анна")


async def test_other_subscriptions_are_acknowledged(start_server: Any, http: aiohttp.ClientSession) -> None:
    server = await start_server(**settings())
    seen = skips(server)
    deliveries = [
        {
            "createContact": {
                "responsibleUserId": "1",
                "name": "Анна",
                "contactData": [{"chatType": "whatsapp", "chatId": "79161234567"}],
                "source": "auto",
            }
        },
        {"channelsUpdates": [{"channelId": WHATSAPP_CHANNEL, "state": "active", "timestamp": 1603977171000}]},
        {
            "templateStatus": {
                "templateGuid": "8d255e5d-aefd-44dc-8131-c3ad6c3ab28c",
                "name": "Test",
                "status": "approved",
            }
        },
    ]

    for delivery in deliveries:
        status, _ = await post(http, server, delivery)
        assert status == 200
    assert await all_dialogs(server) == []
    assert seen == [("wazzup", "event")] * 3


async def test_malformed_requests_get_4xx_with_a_reason(start_server: Any, http: aiohttp.ClientSession) -> None:
    server = await start_server(**settings())

    for body in (b"{not json", b"[1, 2]", json.dumps({"messages": {"messageId": "x"}}).encode()):
        status, answer = await post(http, server, body)
        assert status == 400, body
        assert answer["error"].startswith("not a Wazzup webhook")
    async with http.post(
        server.url + "/webhooks/wazzup", data=b"test=true", headers={"Authorization": f"Bearer {KEY}"}
    ) as response:
        assert response.status == 415


async def test_an_edit_replaces_the_stored_text_and_may_bring_the_code(
    start_server: Any, http: aiohttp.ClientSession
) -> None:
    server = await start_server(**settings(telegram_owner_ids="1001"))
    code = new_code()
    await collect_view(http, server, code, "https://studio.example/?utm_source=vk&utm_medium=social")
    original = message("Хочу записатся")
    await post(http, server, {"messages": [original]})
    edited = message(
        format_prefill("Хочу записаться", code, "код"),
        isEdited=True,
        oldInfo={"oldText": "Хочу записатся", "oldAuthorId": None, "oldAuthorName": None},
    )

    status, answer = await post(http, server, {"messages": [edited]})

    assert (status, answer["updated"], answer["messages"], answer["new_dialogs"]) == (200, 1, 0, 0)
    [dialog] = await all_dialogs(server)
    assert [m.text for m in await server.store.dialog_messages(dialog.id)] == ["Хочу записаться"]
    assert (dialog.first_message, dialog.message_count) == ("Хочу записаться", 1)
    assert (dialog.status, dialog.code, dialog.attribution.source) == (AttributionStatus.EXACT, code, "vk")
    assert await server.store.pending_alerts() == 1  # the edit sends no second alert


async def test_an_edit_of_a_message_never_received_is_stored_as_the_message(
    start_server: Any, http: aiohttp.ClientSession
) -> None:
    server = await start_server(**settings())
    edited = message("Во сколько вы открываетесь?", isEdited=True, oldInfo={"oldText": "Во сколько?"})

    status, answer = await post(http, server, {"messages": [edited]})

    assert (status, answer["new_dialogs"]) == (200, 1)
    [dialog] = await all_dialogs(server)
    assert dialog.first_message == "Во сколько вы открываетесь?"


async def test_a_deletion_marks_the_message_deleted(start_server: Any, http: aiohttp.ClientSession) -> None:
    server = await start_server(**settings(telegram_owner_ids="1001"))
    seen = skips(server)
    first, second = message("Привет"), message("Мой номер 8 916 000 00 00", "6a2087e8-e0f4-4f1b-b968-000000000002")
    await post(http, server, {"messages": [first, second]})
    deletion = message("", second["messageId"], isDeleted=True, oldInfo={"oldText": second["text"]})
    never_stored = message("", "6a2087e8-e0f4-4f1b-b968-000000000009", isDeleted=True, oldInfo={"oldText": "?"})

    status, answer = await post(http, server, {"messages": [deletion, never_stored]})
    again, _ = await post(http, server, {"messages": [second]})  # a late retry of the original

    assert (status, answer["updated"], answer["skipped"], again) == (200, 1, 1, 200)
    [dialog] = await all_dialogs(server)
    stored = await server.store.dialog_messages(dialog.id)
    assert [m.deleted for m in stored] == [False, True]
    assert stored[0].text == "Привет"
    assert dialog.message_count == 2
    assert await server.store.pending_alerts() == 1
    assert seen == [("wazzup", "deletion")]


def test_the_start_up_report_names_what_wazzup_still_needs(make_settings: Any) -> None:
    from webhooks.cli import startup_banner

    blank = startup_banner(make_settings(wazzup_crm_key=" "), "127.0.0.1", 8080)
    unmapped = startup_banner(make_settings(wazzup_crm_key=KEY), "127.0.0.1", 8080)
    ready = startup_banner(make_settings(**settings()), "127.0.0.1", 8080)

    assert "CHATTRACK_WAZZUP_CRM_KEY: set but empty" in blank
    assert "Wazzup webhooks are refused (403)" in blank
    assert "CHATTRACK_WAZZUP_CHANNELS" in unmapped
    assert "WAZZUP" not in ready


def test_a_channel_map_that_is_not_json_or_names_no_number_stops_start_up_naming_the_setting(
    make_settings: Any, monkeypatch: Any
) -> None:
    from tracking.settings import SettingsError, load_settings

    monkeypatch.setenv("CHATTRACK_WAZZUP_CHANNELS", "{b96a353b: +79991234567}")  # not JSON
    with pytest.raises(SettingsError, match=r"CHATTRACK_WAZZUP_CHANNELS: .*JSON object"):
        load_settings()
    monkeypatch.setenv("CHATTRACK_WAZZUP_CHANNELS", json.dumps({WHATSAPP_CHANNEL: "наш салон"}))
    with pytest.raises(SettingsError, match=r"CHATTRACK_WAZZUP_CHANNELS: channel .*neither a phone number"):
        load_settings()
    monkeypatch.setenv("CHATTRACK_WAZZUP_CHANNELS", CHANNELS)
    assert load_settings().wazzup_channels == {WHATSAPP_CHANNEL: "+79991234567", TELEGRAM_CHANNEL: "@studio_shop"}


# The business's replies (first response time) ---------------------------------------------------------------


def iso(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def echo(
    text: str | None, at: datetime, message_id: str = "61e5a375-1760-452f-ad73-5318844ffc4f", **fields: Any
) -> dict:
    """The business's own message as the webhooks page describes it: isEcho true ("if outgoing"), a status of
    an outgoing message, authorName / authorId when a manager wrote it, sentFromApp when from Wazzup's app."""
    return message(text, message_id, isEcho=True, dateTime=iso(at), status="sent", **fields)


async def open_dialog(http: aiohttp.ClientSession, server: Any, at: datetime, **fields: Any) -> Any:
    """The customer's message at `at`: their dialog, not answered yet."""
    sent = message("Здравствуйте! Сколько стоит?", f"in-{at.timestamp()}", dateTime=iso(at), **fields)
    status, answer = await post(http, server, {"messages": [sent]})
    assert (status, answer["new_dialogs"]) == (200, 1)
    [dialog] = [d for d in await all_dialogs(server) if d.started_at == at]
    assert dialog.answered_at is None
    return dialog


def a_while_ago(seconds: int) -> datetime:
    return (datetime.now(UTC) - timedelta(seconds=seconds)).replace(microsecond=0)


async def test_an_echo_by_a_manager_answers_the_dialog_at_its_time_by_name(
    start_server: Any, http: aiohttp.ClientSession
) -> None:
    server = await start_server(**settings())
    seen = skips(server)
    opened = a_while_ago(600)
    await open_dialog(http, server, opened)

    from_app = echo("Записал вас на 12:00", opened + timedelta(seconds=80), authorName="Иван", authorId="1")
    status, answer = await post(http, server, {"messages": [{**from_app, "sentFromApp": True}]})

    assert (status, answer["messages"], answer["replies"], answer["skipped"]) == (200, 0, 1, 0)
    [dialog] = await all_dialogs(server)
    assert (dialog.answered_at, dialog.answered_by) == (opened + timedelta(seconds=80), "Иван")
    assert dialog.message_count == 1
    assert seen == []


async def test_the_earliest_echo_is_kept(start_server: Any, http: aiohttp.ClientSession) -> None:
    server = await start_server(**settings())
    opened = a_while_ago(900)
    await open_dialog(http, server, opened)
    later = echo("Адрес: Тверская, 1", opened + timedelta(seconds=300), "e0629e11-0f67-4567-92a9-2237e91ec1b9")
    earlier = echo("Здравствуйте!", opened + timedelta(seconds=30), authorName="Мария")

    for sent in (later, earlier, later):
        assert (await post(http, server, {"messages": [sent]}))[0] == 200

    [dialog] = await all_dialogs(server)
    assert (dialog.answered_at, dialog.answered_by) == (opened + timedelta(seconds=30), "Мария")


async def test_failed_edited_deleted_and_non_content_echoes_answer_nothing(
    start_server: Any, http: aiohttp.ClientSession
) -> None:
    server = await start_server(**settings())
    seen = skips(server)
    opened = a_while_ago(600)
    await open_dialog(http, server, opened)
    at = opened + timedelta(seconds=20)
    not_replies = [
        {**echo("не ушло", at, "e1"), "status": "error", "error": {"error": "BAD_CONTACT"}},
        echo("исправлено", at, "e2", isEdited=True),
        echo(None, at, "e3", isDeleted=True),
        echo(None, at, "e4", type="missing_call"),
    ]

    status, answer = await post(http, server, {"messages": not_replies})

    assert (status, answer["replies"], answer["skipped"]) == (200, 0, 4)
    [dialog] = await all_dialogs(server)
    assert dialog.answered_at is None
    assert seen == [("wazzup", "echo")] * 4


async def test_a_reply_before_the_dialog_or_on_another_channel_or_chat_answers_nothing(
    start_server: Any, http: aiohttp.ClientSession
) -> None:
    server = await start_server(**settings())
    opened = a_while_ago(600)
    before = echo("Напоминаем о записи", opened - timedelta(seconds=60), "e1")
    assert (await post(http, server, {"messages": [before]}))[1]["replies"] == 1
    assert await all_dialogs(server) == []
    await open_dialog(http, server, opened)
    at = opened + timedelta(seconds=20)
    elsewhere = [
        echo("другой номер", at, "e2", channelId=TELEGRAM_CHANNEL, chatType="whatsapp"),
        echo("другой клиент", at, "e3", chatId="79035550011"),
        echo("в группе", at, "e4", chatType="whatsgroup"),
    ]

    assert (await post(http, server, {"messages": elsewhere}))[0] == 200

    [dialog] = await all_dialogs(server)
    assert dialog.answered_at is None


async def test_a_telegram_echo_answers_the_telegram_dialog(start_server: Any, http: aiohttp.ClientSession) -> None:
    server = await start_server(**settings())
    opened = a_while_ago(600)
    telegram = {"channelId": TELEGRAM_CHANNEL, "chatType": "telegram", "chatId": "5123456789"}
    await open_dialog(http, server, opened, **telegram, contact={"name": "Анна", "username": "anna_k"})

    status, answer = await post(
        http, server, {"messages": [echo("Добрый день!", opened + timedelta(seconds=9), **telegram)]}
    )

    assert (status, answer["replies"]) == (200, 1)
    [dialog] = await all_dialogs(server)
    assert (dialog.contact_id, dialog.business_number) == ("tg:5123456789", "@studio_shop")
    assert dialog.answered_at == opened + timedelta(seconds=9)
