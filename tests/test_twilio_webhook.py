"""POST /webhooks/twilio against the real server on a free port and a real SQLite file."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest
from twilio.request_validator import RequestValidator

from tests.conftest import TWILIO_TOKEN, twilio_form
from tracking.codes import format_prefill, new_code
from tracking.models import AttributionStatus, Channel
from webhooks.metrics import METRICS

VISITOR = "visitor-0001"


async def collect_view(http: aiohttp.ClientSession, server: Any, code: str, url: str, referrer: str = "") -> dict:
    payload = {"t": "view", "c": code, "v": VISITOR, "u": url, "r": referrer, "s": "390x844", "l": "ru-RU"}
    async with http.post(server.url + "/collect", json=payload) as response:
        assert response.status == 200, await response.text()
        return dict(await response.json())


async def test_message_with_code_is_attributed_to_the_visit(start_server: Any, http: aiohttp.ClientSession) -> None:
    server = await start_server()
    code = new_code()
    landing = "https://studio.example/kids?utm_source=yandex&utm_medium=cpc&utm_campaign=kids_nov&yclid=42"
    assert (await collect_view(http, server, code, landing))["code"] == code
    text = format_prefill("Сколько стоит детская съёмка?", code, "код")

    response = await server.post_twilio(http, twilio_form(text))

    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/xml")
    [dialog] = await server.store.find_dialogs(contact_id="+79161234567")
    assert dialog.status is AttributionStatus.EXACT
    assert dialog.code == code
    assert dialog.first_message == "Сколько стоит детская съёмка?"
    assert dialog.attribution.campaign == "kids_nov"
    assert dialog.attribution.channel is Channel.PAID_SEARCH
    assert dialog.attribution.landing_page == "studio.example/kids"  # by host and path; the tags have fields
    assert dialog.visit is not None and dialog.visit.attribution.landing_page == landing
    assert dialog.contact_name == "Анна"
    assert dialog.business_number == "+79991234567"
    assert dialog.is_repeat is False


async def test_a_new_code_opens_a_repeat_dialog(start_server: Any, http: aiohttp.ClientSession) -> None:
    server = await start_server()
    await server.post_twilio(http, twilio_form("Здравствуйте", sid="SM1"))
    await server.post_twilio(http, twilio_form("Ещё вопрос", sid="SM2"))  # same dialog
    code = new_code()
    await collect_view(http, server, code, "https://studio.example/?utm_source=vk&utm_medium=social")
    await server.post_twilio(http, twilio_form(format_prefill("Снова я", code, "код"), sid="SM3"))

    newest, first = await server.store.find_dialogs(contact_id="+79161234567")
    assert (first.is_repeat, first.message_count) == (False, 2)
    assert (newest.is_repeat, newest.code, newest.attribution.source) == (True, code, "vk")


async def test_unknown_code_is_recorded_never_guessed(start_server: Any, http: aiohttp.ClientSession) -> None:
    server = await start_server()
    code = new_code()  # well-formed, never issued
    await server.post_twilio(http, twilio_form(format_prefill("Hello", code, "ref")))
    [dialog] = await server.store.find_dialogs(contact_id="+79161234567")
    assert dialog.status is AttributionStatus.UNKNOWN_CODE
    assert dialog.code == code
    assert dialog.attribution.channel is Channel.UNATTRIBUTED
    assert dialog.first_message == "Hello"


async def test_forged_signature_is_refused_and_nothing_stored(start_server: Any, http: aiohttp.ClientSession) -> None:
    server = await start_server()
    form = twilio_form("Hi")
    signature = server.twilio_signature("/webhooks/twilio", form)
    form["Body"] = "Hi, tampered"

    forged = await server.post_twilio(http, form, signature=signature)
    unsigned = await server.post_twilio(http, form, signature="")

    assert forged.status == 403
    assert unsigned.status == 403
    assert await server.store.find_dialogs(contact_id="+79161234567") == []
    assert await server.store.pending_alerts() == 0


async def test_three_simultaneous_retries_make_one_dialog_and_one_alert(
    start_server: Any, http: aiohttp.ClientSession
) -> None:
    server = await start_server(telegram_owner_ids="1001")
    form = twilio_form("Хочу записаться", sid="SMretry")

    responses = await asyncio.gather(*(server.post_twilio(http, form) for _ in range(3)))

    assert [r.status for r in responses] == [200, 200, 200]
    assert len(await server.store.find_dialogs(contact_id="+79161234567")) == 1
    assert await server.store.pending_alerts() == 1


async def test_malformed_requests_get_4xx_with_a_reason(start_server: Any, http: aiohttp.ClientSession) -> None:
    server = await start_server()
    url = server.url + "/webhooks/twilio"
    cases: list[tuple[dict[str, Any], int]] = [
        ({"data": "not a form", "headers": {"Content-Type": "text/plain"}}, 415),
        ({"json": {"Body": "hi"}}, 415),
        ({"data": b"Body=%ff%fe&MessageSid=x", "headers": {"Content-Type": "application/x-www-form-urlencoded"}}, 403),
        ({"data": b"x" * 300_000, "headers": {"Content-Type": "application/x-www-form-urlencoded"}}, 413),
    ]
    for kwargs, status in cases:
        async with http.post(url, **kwargs) as response:
            assert response.status == status, (kwargs, await response.text())
            assert "error" in await response.json()
    # Signed but incomplete: a valid signature over a form that is not a message.
    form = {"Body": "hi", "From": "whatsapp:+79161234567"}
    response = await server.post_twilio(http, form)
    assert response.status == 400
    form = twilio_form("hi", To="whatsapp:not-a-number")
    response = await server.post_twilio(http, form)
    assert response.status == 400
    assert await server.store.find_dialogs(contact_id="+79161234567") == []


async def test_without_a_token_twilio_is_refused_with_the_setting_named(
    start_server: Any, http: aiohttp.ClientSession
) -> None:
    server = await start_server(twilio_auth_token=None)
    response = await server.post_twilio(http, twilio_form("hi"))
    assert response.status == 403
    async with http.post(server.url + "/webhooks/twilio", data=twilio_form("hi")) as resp:
        assert "CHATTRACK_TWILIO_AUTH_TOKEN" in (await resp.json())["error"]


async def test_signature_is_checked_against_the_public_url(start_server: Any, http: aiohttp.ClientSession) -> None:
    server = await start_server(public_url="https://track.example.com")
    form = twilio_form("hi")
    # Signed for the public URL (what Twilio calls), though the request reaches us on loopback.
    assert (await server.post_twilio(http, form)).status == 200
    local = signature_for(server.url + "/webhooks/twilio", form)
    assert (await server.post_twilio(http, twilio_form("hi", sid="SM9"), signature=local)).status == 403


def signature_for(url: str, form: dict[str, str]) -> str:
    return str(RequestValidator(TWILIO_TOKEN).compute_signature(url, form))


async def test_health_says_the_store_is_reachable(start_server: Any, http: aiohttp.ClientSession) -> None:
    server = await start_server()
    async with http.get(server.url + "/healthz") as response:
        assert response.status == 200
        body = await response.json()
    assert body["store"] == "ok"
    await server.store.close()
    async with http.get(server.url + "/healthz") as response:
        assert response.status == 503
        assert (await response.json())["store"] == "unavailable"


def status_callback(status: str, **extra: str) -> dict[str, str]:
    """A status callback of a WhatsApp message the business sent, in the fields Twilio's "Track the
    Message Status of Outbound Messages" guide shows (From is the business, To the customer)."""
    form = {
        "ChannelPrefix": "whatsapp",
        "ApiVersion": "2010-04-01",
        "MessageStatus": status,
        "SmsSid": "SM0000000000000000000000000000777",
        "SmsStatus": status,
        "ChannelInstallSid": "XE00000000000000000000000000000000",
        "To": "whatsapp:+79161234567",
        "From": "whatsapp:+79991234567",
        "MessageSid": "SM0000000000000000000000000000777",
        "StructuredMessage": "false",
        "AccountSid": "AC00000000000000000000000000000000",
        "ChannelToAddress": "+7916123XXXX",
    }
    form.update(extra)
    return form


def replied(server: Any, provider: str, outcome: str) -> float:
    value = server.app[METRICS].registry.get_sample_value(
        "chattrack_replies_total", {"provider": provider, "outcome": outcome}
    )
    return float(value or 0)


def skipped(server: Any, provider: str, kind: str) -> float:
    value = server.app[METRICS].registry.get_sample_value(
        "chattrack_events_skipped_total", {"provider": provider, "kind": kind}
    )
    return float(value or 0)


@pytest.mark.parametrize(
    ("form", "reply"),
    [
        (status_callback("queued"), False),
        (status_callback("sent"), True),
        (status_callback("delivered"), True),
        (status_callback("read", EventType="READ"), True),
        (status_callback("failed", ErrorCode="63016"), False),
        (status_callback("undelivered", ErrorCode="63024"), False),
        ({k: v for k, v in status_callback("delivered").items() if k != "MessageStatus"}, True),  # SmsStatus alone
    ],
    ids=["queued", "sent", "delivered", "read", "failed", "undelivered", "sms-status-only"],
)
async def test_a_status_callback_is_acknowledged_and_opens_no_dialog(
    start_server: Any, http: aiohttp.ClientSession, form: dict[str, str], reply: bool
) -> None:
    server = await start_server(telegram_owner_ids="1001")

    response = await server.post_twilio(http, form)

    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/xml")
    for contact in ("+79161234567", "+79991234567"):  # neither the customer nor the business swapped in
        assert await server.store.find_dialogs(contact_id=contact) == []
    assert await server.store.pending_alerts() == 0
    # A status of a message that left is the business's reply (here to nobody's dialog); the rest are skipped.
    assert skipped(server, "twilio", "status") == (0 if reply else 1)
    sources = [(s.provider, s.business_number) for s in await server.store.reply_sources()]
    assert sources == ([("twilio", "+79991234567")] if reply else [])


async def test_the_status_of_the_businesss_message_answers_the_customers_dialog(
    start_server: Any, http: aiohttp.ClientSession
) -> None:
    server = await start_server()
    assert (await server.post_twilio(http, twilio_form("Здравствуйте"))).status == 200
    [opened] = await server.store.find_dialogs(contact_id="+79161234567")

    for status in ("queued", "failed"):  # not a reply: nothing answered yet
        assert (await server.post_twilio(http, status_callback(status))).status == 200
    [waiting] = await server.store.find_dialogs(contact_id="+79161234567")
    assert (await server.post_twilio(http, status_callback("sent"))).status == 200
    [answered] = await server.store.find_dialogs(contact_id="+79161234567")
    assert (await server.post_twilio(http, status_callback("delivered"))).status == 200
    [again] = await server.store.find_dialogs(contact_id="+79161234567")
    # another customer's reply and a callback naming no one
    other = status_callback("sent", To="whatsapp:+79160000000")
    assert (await server.post_twilio(http, other)).status == 200
    nobody = {k: v for k, v in status_callback("sent").items() if k != "To"}
    refused = await server.post_twilio(http, nobody)

    assert waiting.answered_at is None
    assert answered.answered_at is not None and opened.started_at <= answered.answered_at
    assert again.answered_at == answered.answered_at  # the first report is kept
    assert refused.status == 400 and "From and To" in await refused.text()
    replies = [replied(server, "twilio", outcome) for outcome in ("first", "later", "no_dialog")]
    assert replies == [1, 1, 1]  # sent answered, delivered came later, the other customer has no dialog


async def test_an_incoming_message_with_sms_status_received_is_stored(
    start_server: Any, http: aiohttp.ClientSession
) -> None:
    server = await start_server()
    form = twilio_form("Здравствуйте")
    assert form["SmsStatus"] == "received"

    response = await server.post_twilio(http, form)

    assert response.status == 200
    [dialog] = await server.store.find_dialogs(contact_id="+79161234567")
    assert (dialog.business_number, dialog.first_message) == ("+79991234567", "Здравствуйте")
    assert skipped(server, "twilio", "status") == 0


async def test_a_mexican_sender_in_whatsapps_521_form_is_one_e164_contact(
    start_server: Any, http: aiohttp.ClientSession
) -> None:
    server = await start_server()
    form = twilio_form("Hola", From="whatsapp:+5215512345678", WaId="5215512345678")

    assert (await server.post_twilio(http, form)).status == 200

    [dialog] = await server.store.find_dialogs(contact_id="+525512345678")
    assert dialog.contact_phone == "+525512345678"


async def test_a_sender_that_is_no_phone_keeps_no_channel_prefix(
    start_server: Any, http: aiohttp.ClientSession
) -> None:
    server = await start_server()
    form = twilio_form("Hi", From="whatsapp:+15550001234", WaId="15550001234")  # a test number: no valid phone

    assert (await server.post_twilio(http, form)).status == 200

    [dialog] = await server.store.find_dialogs(contact_id="+15550001234")
    assert dialog.contact_phone is None


async def test_a_shared_place_is_read_as_its_label_and_address(start_server: Any, http: aiohttp.ClientSession) -> None:
    """A WhatsApp location comes with an empty Body and Latitude, Longitude, Address and Label: the dialog reads the
    place's name and address, as Meta's locations are read; a bare pin (coordinates only) stays an empty message."""
    server = await start_server()
    place = {"MessageType": "location", "Latitude": "55.760186", "Longitude": "37.618711"}
    named = twilio_form(
        "", "SM0000000000000000000000000000101", **place, Label="Большой театр", Address="Театральная пл., 1"
    )
    pin = twilio_form(
        "", "SM0000000000000000000000000000102", **place, From="whatsapp:+79161234568", WaId="79161234568"
    )

    for form in (named, pin):
        assert (await server.post_twilio(http, form)).status == 200

    [named_dialog] = await server.store.find_dialogs(contact_id="+79161234567")
    [pin_dialog] = await server.store.find_dialogs(contact_id="+79161234568")
    assert (named_dialog.first_message, pin_dialog.first_message) == ("Большой театр, Театральная пл., 1", "")
