"""/webhooks/greenapi against the real server on a free port: notifications in the shapes of Green-API's
docs (green-api.com/en/docs/api/receiving/notifications-format/), authorised as Green-API sends them
(`Authorization: Bearer <webhookUrlToken>`)."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp

from tracking.models import AttributionStatus, Channel
from webhooks.metrics import METRICS

TOKEN = "dscnsdiuafkascndjhsalbcvatsvcbasn23rfregvfdg54tds"
CUSTOMER = "79001234568@c.us"


def notification(
    message_data: dict[str, Any], id_message: str = "F7AEC1B7086ECDC7E6E45923F5EDB825", **sender: Any
) -> dict:
    return {
        "typeWebhook": "incomingMessageReceived",
        "instanceData": {"idInstance": 1101000001, "wid": "79991234567@c.us", "typeInstance": "whatsapp"},
        "timestamp": int(time.time()),
        "idMessage": id_message,
        "senderData": {
            "chatId": CUSTOMER,
            "chatName": "Анна",
            "sender": CUSTOMER,
            "senderName": "Анна",
            "senderContactName": "",
            **sender,
        },
        "messageData": message_data,
    }


def text(body: str, id_message: str = "F7AEC1B7086ECDC7E6E45923F5EDB825", **sender: Any) -> dict[str, Any]:
    return notification({"typeMessage": "textMessage", "textMessageData": {"textMessage": body}}, id_message, **sender)


TEXT_DATA = {"typeMessage": "textMessage", "textMessageData": {"textMessage": "Здравствуйте, чем помочь?"}}


def outgoing(
    kind: str, message_data: dict[str, Any], at: int, id_message: str = "BAE5F4886F6F2D06", **instance: Any
) -> dict[str, Any]:
    """The business's own message, as Green-API's OutgoingMessage / OutgoingAPIMessage pages show it: the chat
    is the customer's, the sender the business (green-api.com/en/docs/api/receiving/notifications-format/
    outgoing-message/)."""
    return {
        "typeWebhook": kind,
        "instanceData": {"idInstance": 1101000001, "wid": "79991234567@c.us", "typeInstance": "whatsapp", **instance},
        "timestamp": at,
        "idMessage": id_message,
        "senderData": {
            "chatId": CUSTOMER,
            "chatName": "Анна",
            "sender": "79991234567@c.us",
            "senderName": "Магазин",
            "senderContactName": "",
        },
        "messageData": message_data,
    }


def status_of(status: str, at: int, id_message: str = "BAE58A0B8E6A2A8C", chat: str = CUSTOMER) -> dict[str, Any]:
    """outgoingMessageStatus as Green-API's OutgoingMessageStatus page shows it."""
    return {
        "typeWebhook": "outgoingMessageStatus",
        "chatId": chat,
        "instanceData": {"idInstance": 1101000001, "wid": "79991234567@c.us", "typeInstance": "whatsapp"},
        "timestamp": at,
        "idMessage": id_message,
        "status": status,
        "sendByApi": True,
    }


async def post(
    http: aiohttp.ClientSession, server: Any, payload: dict[str, Any] | bytes, authorization: str | None = None
) -> tuple[int, Any]:
    data = json.dumps(payload).encode() if isinstance(payload, dict) else payload
    headers = {"Content-Type": "application/json; charset=utf-8"}
    headers["Authorization"] = f"Bearer {TOKEN}" if authorization is None else authorization
    async with http.post(server.url + "/webhooks/greenapi", data=data, headers=headers) as response:
        return response.status, await response.json()


async def all_dialogs(server: Any) -> list[Any]:
    now = datetime.now(UTC)
    return list(await server.store.list_dialogs(now - timedelta(days=2), now + timedelta(days=1)))


async def test_text_message_opens_a_dialog(start_server: Any, http: aiohttp.ClientSession) -> None:
    server = await start_server(greenapi_webhook_token=TOKEN)

    status, answer = await post(http, server, text("Здравствуйте! Сколько стоит съёмка?"))

    assert (status, answer["outcome"]) == (200, "new_dialog")
    [dialog] = await server.store.find_dialogs(contact_id="+79001234568")
    assert (dialog.provider, dialog.business_number, dialog.contact_name) == ("greenapi", "+79991234567", "Анна")
    assert dialog.first_message == "Здравствуйте! Сколько стоит съёмка?"
    assert dialog.status is AttributionStatus.NONE


async def test_extended_text_image_caption_and_buttons_are_read(start_server: Any, http: aiohttp.ClientSession) -> None:
    server = await start_server(greenapi_webhook_token=TOKEN)
    shapes = {
        "79001110001": {
            "typeMessage": "extendedTextMessage",
            "extendedTextMessageData": {
                "text": "Вот это платье https://shop.example/p/1",
                "description": "",
                "title": "Платье",
                "jpegThumbnail": "",
                "forwardingScore": 0,
                "isForwarded": False,
            },
        },
        "79001110002": {
            "typeMessage": "imageMessage",
            "fileMessageData": {
                "downloadUrl": "https://sw-media.example/1101000001/a.jpg",
                "caption": "Такую хочу",
                "fileName": "a.jpg",
                "jpegThumbnail": "",
                "mimeType": "image/jpeg",
            },
        },
        "79001110003": {
            "typeMessage": "buttonsResponseMessage",
            "buttonsResponseMessage": {"stanzaId": "BAE5", "selectedButtonId": "1", "selectedButtonText": "Записаться"},
        },
        "79001110004": {
            "typeMessage": "quotedMessage",
            "extendedTextMessageData": {"text": "А в субботу?", "stanzaId": "0EA5", "participant": "79991234567@c.us"},
            "quotedMessage": {"stanzaId": "0EA5", "participant": "79991234567@c.us", "typeMessage": "textMessage"},
        },
    }
    for number, message_data in shapes.items():
        chat = f"{number}@c.us"
        status, _ = await post(http, server, notification(message_data, f"ID{number}", chatId=chat, sender=chat))
        assert status == 200

    first = {d.contact_phone: d.first_message for d in await all_dialogs(server)}
    assert first == {
        "+79001110001": "Вот это платье https://shop.example/p/1",
        "+79001110002": "Такую хочу",
        "+79001110003": "Записаться",
        "+79001110004": "А в субботу?",
    }


async def test_what_a_customer_sends_opens_a_dialog_with_its_readable_text(
    start_server: Any, http: aiohttp.ClientSession
) -> None:
    """Decided by inclusion: every type Green-API's incoming-message pages list as a customer's own opens a
    dialog, with the text a person would read in it (shapes from those pages)."""
    server = await start_server(greenapi_webhook_token=TOKEN)
    voice = {"downloadUrl": "https://sw-media.example/1101000001/v.oga", "caption": "", "mimeType": "audio/ogg"}
    card = {"displayName": "Иван Петров", "vcard": "BEGIN:VCARD\nVERSION:3.0\nFN:Иван Петров\nEND:VCARD"}
    shapes = {
        "79001120001": {"typeMessage": "audioMessage", "fileMessageData": voice},
        "79001120002": {
            "typeMessage": "stickerMessage",
            "fileMessageData": {"downloadUrl": "https://sw-media.example/s.webp", "caption": "", "isAnimated": False},
        },
        "79001120003": {
            "typeMessage": "locationMessage",
            "locationMessageData": {
                "nameLocation": "Цветочный рынок",
                "address": "Москва, Рижская пл., 1",
                "latitude": 55.79,
                "longitude": 37.63,
            },
        },
        "79001120004": {"typeMessage": "contactsArrayMessage", "messageData": {"contacts": [card, card]}},
        "79001120005": {
            "typeMessage": "pollMessage",
            "pollMessageData": {
                "name": "Какие цветы доставите к 8 марта?",
                "options": [{"optionName": "Розы"}, {"optionName": "Тюльпаны"}],
                "multipleAnswers": False,
            },
        },
        "79001120006": {
            "typeMessage": "templateButtonsReplyMessage",
            "templateButtonReplyMessage": {
                "stanzaId": "BAE5",
                "selectedIndex": 1,
                "selectedId": "1",
                "selectedDisplayText": "Заказать",
            },
        },
    }
    for number, message_data in shapes.items():
        chat = f"{number}@c.us"
        status, answer = await post(http, server, notification(message_data, f"ID{number}", chatId=chat, sender=chat))
        assert (status, answer["outcome"]) == (200, "new_dialog"), message_data["typeMessage"]

    first = {d.contact_phone: d.first_message for d in await all_dialogs(server)}
    assert first == {
        "+79001120001": "",  # a voice note: a message, with nothing to read
        "+79001120002": "",
        "+79001120003": "Цветочный рынок, Москва, Рижская пл., 1",
        "+79001120004": "",  # contact cards: a third person's name is not what the customer said
        "+79001120005": "Какие цветы доставите к 8 марта?",
        "+79001120006": "Заказать",
    }


async def test_a_tap_on_an_interactive_reply_button_is_the_customers_message(
    start_server: Any, http: aiohttp.ClientSession
) -> None:
    """`interactiveButtonsResponse` (a reply button of sendInteractiveButtonsReply, as Green-API's reference shows it
    with `selectedDisplayText`; some instances send the `selectedButtonText` of simple buttons) is what the customer
    chose: it joins the dialog with the button's text, it is not an unknown type stored nowhere."""
    server = await start_server(greenapi_webhook_token=TOKEN)
    taps = {
        "79001140001": {
            "stanzaId": "BAE5FB1FDA0E58E8",
            "selectedIndex": 1,
            "selectedId": "2",
            "selectedDisplayText": "Да",
        },
        "79001140002": {"stanzaId": "3EB0", "selectedButtonId": "2", "selectedButtonText": "Записаться"},
    }
    for number, tap in taps.items():
        chat = f"{number}@c.us"
        data = {"typeMessage": "interactiveButtonsResponse", "interactiveButtonsResponse": tap}
        status, answer = await post(http, server, notification(data, f"ID{number}", chatId=chat, sender=chat))
        assert (status, answer.get("outcome")) == (200, "new_dialog"), answer

    first = {d.contact_phone: d.first_message for d in await all_dialogs(server)}
    assert first == {"+79001140001": "Да", "+79001140002": "Записаться"}


async def test_other_message_types_are_counted_and_stored_nowhere(
    start_server: Any, http: aiohttp.ClientSession
) -> None:
    """Not by excluding the types met so far: a group invitation, a business tool's buttons and a type Green-API
    adds tomorrow open no dialog; each is counted by a fixed kind, never by the type's own name."""
    server = await start_server(greenapi_webhook_token=TOKEN)
    invite = {
        "typeMessage": "groupInviteMessage",
        "groupInviteMessageData": {"groupJid": "120363@g.us", "inviteCode": "X", "groupName": "Скидки", "caption": ""},
    }
    buttons = {
        "typeMessage": "interactiveButtons",
        "interactiveButtons": {"contentText": "Выберите", "buttons": [{"type": "reply", "buttonText": "Да"}]},
    }
    unknown = {"typeMessage": "eventMessage", "eventMessageData": {"name": "Встреча"}}
    answers = []
    for number, message_data in (("79001130001", invite), ("79001130002", buttons), ("79001130003", unknown)):
        chat = f"{number}@c.us"
        answers.append(await post(http, server, notification(message_data, f"ID{number}", chatId=chat, sender=chat)))

    assert answers == [
        (200, {"ignored": "groupInviteMessage"}),
        (200, {"ignored": "interactiveButtons"}),
        (200, {"ignored": "eventMessage"}),
    ]
    assert await all_dialogs(server) == []
    registry = server.app[METRICS].registry
    counts = {
        kind: registry.get_sample_value("chattrack_events_skipped_total", {"provider": "greenapi", "kind": kind})
        for kind in ("not_content", "other", "eventMessage")
    }
    assert counts == {"not_content": 2.0, "other": 1.0, "eventMessage": None}


async def test_wrong_or_missing_token_is_refused_and_nothing_stored(
    start_server: Any, http: aiohttp.ClientSession
) -> None:
    server = await start_server(greenapi_webhook_token=TOKEN)
    for authorization in ("", "Bearer ", "Bearer wrong-token", TOKEN[:-1], f"Bearer {TOKEN}x"):
        status, answer = await post(http, server, text("Привет"), authorization=authorization)
        assert status == 403, authorization
        assert "Authorization" in answer["error"]
    assert await all_dialogs(server) == []

    unconfigured = await start_server(greenapi_webhook_token=None)
    status, answer = await post(http, unconfigured, text("Привет"))
    assert status == 403
    assert "CHATTRACK_GREENAPI_WEBHOOK_TOKEN" in answer["error"]


async def test_retries_make_one_dialog(start_server: Any, http: aiohttp.ClientSession) -> None:
    server = await start_server(greenapi_webhook_token=TOKEN, telegram_owner_ids="1001")
    payload = text("Хочу записаться", "3AE2864C77312000000")

    answers = await asyncio.gather(*(post(http, server, payload) for _ in range(3)))

    assert sorted(answer["outcome"] for _, answer in answers) == ["duplicate", "duplicate", "new_dialog"]
    [dialog] = await all_dialogs(server)
    assert dialog.message_count == 1
    assert await server.store.pending_alerts() == 1


async def test_other_notifications_are_acknowledged_and_ignored(start_server: Any, http: aiohttp.ClientSession) -> None:
    server = await start_server(greenapi_webhook_token=TOKEN)
    instance = {"idInstance": 1101000001, "wid": "79991234567@c.us", "typeInstance": "whatsapp"}
    ignored = [
        status_of("failed", int(time.time())),
        {
            "typeWebhook": "stateInstanceChanged",
            "instanceData": instance,
            "timestamp": 1,
            "stateInstance": "authorized",
        },
        outgoing("outgoingMessageReceived", {"typeMessage": "reactionMessage"}, int(time.time())),
        {"typeWebhook": "incomingCall", "instanceData": instance, "timestamp": 1, "from": CUSTOMER, "status": "offer"},
        {"typeWebhook": "quotaExceeded", "instanceData": instance, "timestamp": 1, "quotaData": {"method": "x"}},
        text("в группе", "G1", chatId="120363043968066561@g.us"),
        notification({"typeMessage": "reactionMessage", "extendedTextMessageData": {"text": "👍"}}, "R1"),
    ]
    telegram = text("из Telegram", "T1")
    telegram["instanceData"]["typeInstance"] = "telegram"
    ignored.append(telegram)

    reasons = []
    for payload in ignored:
        status, answer = await post(http, server, payload)
        assert status == 200, payload
        reasons.append(answer["ignored"])

    assert reasons == [
        "status failed",
        "stateInstanceChanged",
        "reactionMessage",
        "incomingCall",
        "quotaExceeded",
        "group chat",
        "reactionMessage",
        "telegram instance",
    ]
    assert await all_dialogs(server) == []


async def test_malformed_notifications_get_4xx_with_a_reason(start_server: Any, http: aiohttp.ClientSession) -> None:
    server = await start_server(greenapi_webhook_token=TOKEN)
    no_id = text("hi")
    del no_id["idMessage"]
    bad_wid = text("hi")
    bad_wid["instanceData"]["wid"] = "not-a-number@c.us"
    cases: list[tuple[dict[str, Any] | bytes, str]] = [
        (b"{oops", "Invalid JSON"),
        ({"instanceData": {}}, "typeWebhook"),
        (no_id, "idMessage"),
        ({**text("hi"), "messageData": {}}, "typeMessage"),
        (bad_wid, "wid"),
    ]
    for payload, reason in cases:
        status, answer = await post(http, server, payload)
        assert status == 400, payload
        assert reason in answer["error"], answer
    async with http.post(
        server.url + "/webhooks/greenapi", data="x=1", headers={"Authorization": f"Bearer {TOKEN}"}
    ) as response:
        assert response.status == 415
    assert await all_dialogs(server) == []


async def test_click_to_whatsapp_ad_becomes_the_attribution(start_server: Any, http: aiohttp.ClientSession) -> None:
    server = await start_server(greenapi_webhook_token=TOKEN)
    ad = {
        "typeMessage": "extendedTextMessage",
        "extendedTextMessageData": {
            "text": "Здравствуйте! Можно узнать подробнее об этом?",
            "description": "Скидка на первое занятие",
            "title": "Йога для начинающих",
            "previewType": "NONE",
            "containsAutoReply": False,
            "mediaType": "IMAGE",
            "showAdAttribution": True,
            "sourceId": "120208585447520590",
            "sourceType": "ad",
            "sourceUrl": "https://fb.me/3cr4Wqqkv",
            "thumbnailUrl": "https://scontent.example/t.jpg",
        },
    }

    status, _ = await post(http, server, notification(ad, "AD1"))

    assert status == 200
    [dialog] = await all_dialogs(server)
    assert dialog.status is AttributionStatus.AD_REFERRAL
    attribution = dialog.attribution
    assert (attribution.channel, attribution.source, attribution.medium) == (Channel.PAID_SOCIAL, "facebook", "ctwa")
    assert (attribution.campaign, attribution.content) == ("Йога для начинающих", "120208585447520590")


async def test_the_message_time_is_when_the_customer_wrote(start_server: Any, http: aiohttp.ClientSession) -> None:
    server = await start_server(greenapi_webhook_token=TOKEN)
    payload = text("hi")
    payload["timestamp"] = int(time.time()) - 600  # Green-API retried for ten minutes
    assert (await post(http, server, payload))[0] == 200
    [dialog] = await all_dialogs(server)
    assert dialog.started_at == datetime.fromtimestamp(payload["timestamp"], UTC)


async def test_an_instance_whose_wid_is_no_valid_phone_keeps_its_digits(
    start_server: Any, http: aiohttp.ClientSession
) -> None:
    """A 400 here would make Green-API retry every message for 24 hours: the number the customer wrote to
    is kept as its digits, as Meta's test numbers are."""
    server = await start_server(greenapi_webhook_token=TOKEN, tracked_numbers="")
    for wid, id_message in (("15550001234@c.us", "A1"), ("76001234567@c.us", "A2")):
        message = text("Здравствуйте", id_message=id_message)
        message["instanceData"]["wid"] = wid

        status, answer = await post(http, server, message)

        assert (status, answer["outcome"]) == (200, "new_dialog")
    business = sorted(dialog.business_number for dialog in await all_dialogs(server))
    assert business == ["+15550001234", "+76001234567"]


async def test_whatsapp_forms_of_a_sender_make_one_e164_contact(start_server: Any, http: aiohttp.ClientSession) -> None:
    server = await start_server(greenapi_webhook_token=TOKEN)
    senders = {
        "5215512345678@c.us": "+525512345678",  # Mexican mobile, WhatsApp's 521 form
        "551187654321@c.us": "+5511987654321",  # Brazilian mobile registered before the ninth digit
        "15550001234@c.us": "+15550001234",  # no valid phone: its digits, never the @c.us suffix
    }
    for turn, (chat_id, _) in enumerate(senders.items()):
        status, _answer = await post(http, server, text("Hola", id_message=f"B{turn}", chatId=chat_id, sender=chat_id))
        assert status == 200
    for contact_id in senders.values():
        [dialog] = await server.store.find_dialogs(contact_id=contact_id)
        assert dialog.contact_phone == (None if contact_id == "+15550001234" else contact_id)


def change(kind: str, data: dict[str, Any], id_message: str) -> dict[str, Any]:
    """An editedMessage / deletedMessage notification, as Green-API's incoming-message pages show them."""
    return notification({"typeMessage": kind, f"{kind}Data": data}, id_message)


async def test_an_edit_replaces_the_text_and_a_deletion_marks_the_message(
    start_server: Any, http: aiohttp.ClientSession
) -> None:
    server = await start_server(greenapi_webhook_token=TOKEN, telegram_owner_ids="1001")
    await post(http, server, text("Сколько стоит доставка в Химкт?", id_message="M1"))
    await post(http, server, text("И в Москву?", id_message="M2"))

    edit = change("editedMessage", {"textMessage": "Сколько стоит доставка в Химки?", "stanzaId": "M1"}, "E1")
    assert await post(http, server, edit) == (200, {"edited": True})
    assert await post(http, server, change("deletedMessage", {"stanzaId": "M2"}, "D1")) == (200, {"deleted": True})

    [dialog] = await server.store.find_dialogs(contact_id="+79001234568")
    messages = await server.store.dialog_messages(dialog.id)
    assert [(m.text, m.deleted) for m in messages] == [
        ("Сколько стоит доставка в Химки?", False),
        ("И в Москву?", True),
    ]
    assert dialog.message_count == 2
    assert await server.store.pending_alerts() == 1  # the first message's alert only


async def test_a_change_of_a_message_never_stored_stores_nothing(
    start_server: Any, http: aiohttp.ClientSession
) -> None:
    server = await start_server(greenapi_webhook_token=TOKEN)
    edit = change("editedMessage", {"textMessage": "Новый текст", "stanzaId": "UNKNOWN"}, "E2")

    assert await post(http, server, edit) == (200, {"edited": False})
    assert await post(http, server, change("deletedMessage", {"stanzaId": "UNKNOWN"}, "D2")) == (
        200,
        {"deleted": False},
    )
    status, answer = await post(http, server, change("editedMessage", {"textMessage": "x"}, "E3"))
    assert status == 400 and "stanzaId" in answer["error"]

    assert await all_dialogs(server) == []


async def test_ignored_notifications_are_counted_by_fixed_kinds(start_server: Any, http: aiohttp.ClientSession) -> None:
    server = await start_server(greenapi_webhook_token=TOKEN)
    group = text("hi", id_message="G1", chatId="120363043968066561@g.us")
    reaction = notification({"typeMessage": "reactionMessage", "extendedTextMessageData": {"text": "👍"}}, "R1")
    state = {"typeWebhook": "stateInstanceChanged", "instanceData": {"wid": "79991234567@c.us"}, "timestamp": 1}
    failed = status_of("noAccount", int(time.time()))
    replies = [outgoing("outgoingMessageReceived", TEXT_DATA, int(time.time())), status_of("sent", int(time.time()))]
    for payload in (group, reaction, state, failed, *replies):
        assert (await post(http, server, payload))[0] == 200

    registry = server.app[METRICS].registry
    counts = {
        kind: registry.get_sample_value("chattrack_events_skipped_total", {"provider": "greenapi", "kind": kind})
        for kind in ("group", "not_content", "not_incoming", "status")
    }
    assert counts == {"group": 1.0, "not_content": 1.0, "not_incoming": 1.0, "status": 1.0}  # replies: not skips
    assert await all_dialogs(server) == []


# The business's replies (first response time) ---------------------------------------------------------------


def moment(at: int) -> datetime:
    return datetime.fromtimestamp(at, UTC)


async def open_dialog(http: aiohttp.ClientSession, server: Any, at: int) -> Any:
    """The customer's message at `at`: their dialog, not answered yet."""
    payload = text("Здравствуйте! Сколько стоит съёмка?", id_message=f"IN{at}")
    payload["timestamp"] = at
    status, answer = await post(http, server, payload)
    assert (status, answer["outcome"]) == (200, "new_dialog")
    [dialog] = await all_dialogs(server)
    assert dialog.answered_at is None
    return dialog


async def test_a_message_from_the_phone_answers_the_dialog_at_its_time(
    start_server: Any, http: aiohttp.ClientSession
) -> None:
    server = await start_server(greenapi_webhook_token=TOKEN)
    opened = int(time.time()) - 600
    dialog = await open_dialog(http, server, opened)

    status, answer = await post(http, server, outgoing("outgoingMessageReceived", TEXT_DATA, opened + 95))

    assert (status, answer) == (200, {"answered": dialog.id})
    [answered] = await all_dialogs(server)
    assert (answered.answered_at, answered.answered_by) == (moment(opened + 95), None)
    assert answered.message_count == 1  # the business's message is no message of the customer's


async def test_the_earliest_reply_is_kept_and_statuses_of_a_counted_message_change_nothing(
    start_server: Any, http: aiohttp.ClientSession
) -> None:
    server = await start_server(greenapi_webhook_token=TOKEN)
    opened = int(time.time()) - 900
    await open_dialog(http, server, opened)
    api_text = {"typeMessage": "extendedTextMessage", "extendedTextMessageData": {"text": "Доставка 500 ₽"}}

    later = outgoing("outgoingAPIMessageReceived", api_text, opened + 300, "BAE5F4886F6F2D06")
    assert (await post(http, server, later))[0] == 200
    earlier = outgoing("outgoingMessageReceived", TEXT_DATA, opened + 40, "F7AEC1B7086ECDC7E6E45923F5EDB825")
    assert (await post(http, server, earlier))[0] == 200
    for step, kind in enumerate(("sent", "delivered", "read")):  # receipts of the later message
        assert (await post(http, server, status_of(kind, opened + 300 + step, "BAE5F4886F6F2D06")))[0] == 200

    [dialog] = await all_dialogs(server)
    assert dialog.answered_at == moment(opened + 40)


async def test_a_status_alone_answers_when_the_message_webhooks_are_off(
    start_server: Any, http: aiohttp.ClientSession
) -> None:
    server = await start_server(greenapi_webhook_token=TOKEN)
    opened = int(time.time()) - 600
    await open_dialog(http, server, opened)

    assert (await post(http, server, status_of("delivered", opened + 70)))[0] == 200

    [dialog] = await all_dialogs(server)
    assert dialog.answered_at == moment(opened + 70)


async def test_failed_statuses_reactions_and_edits_answer_nothing(
    start_server: Any, http: aiohttp.ClientSession
) -> None:
    server = await start_server(greenapi_webhook_token=TOKEN)
    opened = int(time.time()) - 600
    await open_dialog(http, server, opened)
    not_replies = [
        status_of("failed", opened + 10),
        status_of("noAccount", opened + 11),
        status_of("yellowCard", opened + 12),
        outgoing("outgoingMessageReceived", {"typeMessage": "reactionMessage"}, opened + 13),
        outgoing(
            "outgoingMessageReceived",
            {"typeMessage": "editedMessage", "editedMessageData": {"textMessage": "x", "stanzaId": "BAE5"}},
            opened + 14,
        ),
        outgoing("outgoingAPIMessageReceived", {"typeMessage": "deletedMessage"}, opened + 15),
    ]
    for payload in not_replies:
        status, answer = await post(http, server, payload)
        assert status == 200 and "ignored" in answer, answer

    [dialog] = await all_dialogs(server)
    assert dialog.answered_at is None


async def test_a_reply_before_any_dialog_stores_nothing(start_server: Any, http: aiohttp.ClientSession) -> None:
    server = await start_server(greenapi_webhook_token=TOKEN)
    now = int(time.time())

    status, answer = await post(http, server, outgoing("outgoingMessageReceived", TEXT_DATA, now - 900))
    assert (status, answer) == (200, {"answered": None})
    assert await all_dialogs(server) == []

    await open_dialog(http, server, now - 600)  # the customer writes after the business's message
    assert (await post(http, server, status_of("read", now - 700)))[0] == 200  # a receipt of that earlier one
    [dialog] = await all_dialogs(server)
    assert dialog.answered_at is None


async def test_a_reply_from_another_business_number_or_to_another_customer_answers_nothing(
    start_server: Any, http: aiohttp.ClientSession
) -> None:
    server = await start_server(greenapi_webhook_token=TOKEN, tracked_numbers="")
    opened = int(time.time()) - 600
    await open_dialog(http, server, opened)

    other_number = outgoing("outgoingMessageReceived", TEXT_DATA, opened + 30, wid="79990000001@c.us")
    assert await post(http, server, other_number) == (200, {"answered": None})
    other_customer = status_of("sent", opened + 40, chat="79005550000@c.us")
    assert await post(http, server, other_customer) == (200, {"answered": None})
    group = status_of("sent", opened + 50, chat="120363043968066561@g.us")
    assert (await post(http, server, group))[1] == {"ignored": "group chat"}

    [dialog] = await all_dialogs(server)
    assert dialog.answered_at is None


async def test_malformed_outgoing_notifications_get_400_with_a_reason(
    start_server: Any, http: aiohttp.ClientSession
) -> None:
    server = await start_server(greenapi_webhook_token=TOKEN)
    now = int(time.time())
    no_chat = status_of("sent", now)
    del no_chat["chatId"]
    no_sender = outgoing("outgoingMessageReceived", TEXT_DATA, now)
    del no_sender["senderData"]
    bad_wid = outgoing("outgoingAPIMessageReceived", TEXT_DATA, now, wid="not-a-number@c.us")
    for payload, reason in ((no_chat, "chatId"), (no_sender, "senderData"), (bad_wid, "wid")):
        status, answer = await post(http, server, payload)
        assert status == 400, payload
        assert reason in answer["error"], answer
