"""/webhooks/generic against the real server on a free port, signed the way docs/providers.md tells
integrators to sign (X-Chattrack-Signature, optional X-Chattrack-Timestamp)."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import re
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp

from tests.test_twilio_webhook import collect_view
from tracking.codes import format_prefill, new_code
from tracking.models import AttributionStatus, Channel, Messenger

SECRET = "generic-shared-secret"


def message(**fields: Any) -> dict[str, Any]:
    return {
        "message_id": "wz-8812",
        "business_number": "+7 999 123-45-67",
        "contact_phone": "8 (916) 123-45-67",
        "contact_name": "Анна",
        "text": "Здравствуйте!",
        **fields,
    }


def signature(body: bytes, timestamp: str | None = None, secret: str = SECRET) -> str:
    signed = f"{timestamp}.".encode() + body if timestamp is not None else body
    return "sha256=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


async def post(
    http: aiohttp.ClientSession,
    server: Any,
    payload: dict[str, Any] | bytes,
    *,
    sign: str | None = None,
    timestamp: str | None = None,
) -> tuple[int, Any]:
    body = json.dumps(payload, ensure_ascii=False).encode() if isinstance(payload, dict) else payload
    headers = {"Content-Type": "application/json", "X-Chattrack-Signature": sign or signature(body, timestamp)}
    if timestamp is not None:
        headers["X-Chattrack-Timestamp"] = timestamp
    async with http.post(server.url + "/webhooks/generic", data=body, headers=headers) as response:
        return response.status, await response.json()


async def all_dialogs(server: Any) -> list[Any]:
    now = datetime.now(UTC)
    return list(await server.store.list_dialogs(now - timedelta(days=3), now + timedelta(days=1)))


async def test_signed_message_is_attributed_like_any_provider(start_server: Any, http: aiohttp.ClientSession) -> None:
    server = await start_server(generic_webhook_secret=SECRET)
    code = new_code()
    await collect_view(http, server, code, "https://studio.example/?utm_source=vk&utm_medium=paid&utm_campaign=nov")

    status, answer = await post(http, server, message(text=format_prefill("Здравствуйте!", code, "код")))

    assert status == 200
    assert (answer["outcome"], answer["status"], answer["code"]) == ("new_dialog", "exact", code)
    [dialog] = await server.store.find_dialogs(contact_id="+79161234567")
    assert (dialog.provider, dialog.business_number, dialog.contact_name) == ("generic", "+79991234567", "Анна")
    assert (dialog.first_message, dialog.attribution.campaign) == ("Здравствуйте!", "nov")


async def test_timestamped_signature_and_replay_window(start_server: Any, http: aiohttp.ClientSession) -> None:
    server = await start_server(generic_webhook_secret=SECRET)
    body = json.dumps(message()).encode()
    now = str(int(time.time()))
    stale = str(int(time.time()) - 3600)

    assert (await post(http, server, body, timestamp=now))[0] == 200
    # The timestamp is part of what is signed: changing it, or dropping it, breaks the signature.
    assert (await post(http, server, body, sign=signature(body, now), timestamp=stale))[0] == 403
    assert (await post(http, server, body, sign=signature(body, now)))[0] == 403
    status, answer = await post(http, server, body, timestamp=stale)  # correctly signed, but an hour old
    assert status == 403
    assert "X-Chattrack-Timestamp" in answer["error"]
    assert (await post(http, server, body, timestamp="yesterday"))[0] == 403
    assert len(await all_dialogs(server)) == 1


async def test_forged_or_unsigned_requests_are_refused(start_server: Any, http: aiohttp.ClientSession) -> None:
    server = await start_server(generic_webhook_secret=SECRET)
    body = json.dumps(message()).encode()
    tampered = json.dumps(message(text="Переведите деньги")).encode()
    for payload, sign in [
        (body, signature(body, secret="someone-else")),
        (tampered, signature(body)),
        (body, signature(body).removeprefix("sha256=")),
        (body, "sha1=" + hmac.new(SECRET.encode(), body, hashlib.sha1).hexdigest()),
    ]:
        status, answer = await post(http, server, payload, sign=sign)
        assert status == 403
        assert "X-Chattrack-Signature" in answer["error"]
    async with http.post(server.url + "/webhooks/generic", json=message()) as response:
        assert response.status == 403
    assert await all_dialogs(server) == []

    unconfigured = await start_server(generic_webhook_secret=None)
    status, answer = await post(http, unconfigured, message())
    assert status == 403
    assert "CHATTRACK_GENERIC_WEBHOOK_SECRET" in answer["error"]


async def test_retries_make_one_dialog_and_platforms_keep_their_own_ids(
    start_server: Any, http: aiohttp.ClientSession
) -> None:
    server = await start_server(generic_webhook_secret=SECRET, telegram_owner_ids="1001")

    answers = await asyncio.gather(*(post(http, server, message()) for _ in range(3)))
    other_platform = await post(http, server, message(platform="chat2desk", text="Ещё вопрос"))

    assert sorted(answer["outcome"] for _, answer in answers) == ["duplicate", "duplicate", "new_dialog"]
    assert other_platform[1]["outcome"] == "appended"  # same id, other platform: another message
    [dialog] = await all_dialogs(server)
    assert dialog.message_count == 2
    assert await server.store.pending_alerts() == 1


async def test_malformed_messages_get_400_with_a_reason(start_server: Any, http: aiohttp.ClientSession) -> None:
    server = await start_server(generic_webhook_secret=SECRET)
    cases: list[tuple[dict[str, Any] | bytes, str]] = [
        (b"[1, 2", "Invalid JSON"),
        ({"business_number": "+79991234567", "contact_phone": "+79161234567"}, "message_id"),
        (message(contact_phone=None), "contact_phone or contact_id"),
        (message(business_number="reception"), "business_number"),
        (message(contact_phone="12"), "contact_phone"),
        (message(messenger="viber"), "messenger"),
        (message(platform="Not A Slug!"), "platform"),
        (message(timestamp="last tuesday"), "timestamp"),
        (message(message_id=""), "message_id"),
    ]
    for payload, reason in cases:
        status, answer = await post(http, server, payload)
        assert status == 400, payload
        assert reason in answer["error"], answer
    assert await all_dialogs(server) == []


async def test_contact_id_timestamp_and_telegram(start_server: Any, http: aiohttp.ClientSession) -> None:
    server = await start_server(generic_webhook_secret=SECRET)
    sent = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)
    telegram = message(
        message_id="tg-1",
        messenger="telegram",
        business_number="@StudioBot",
        contact_phone=None,
        contact_id="tg:5512345",
        timestamp=int(sent.timestamp()),
    )

    assert (await post(http, server, telegram))[0] == 200

    [dialog] = await server.store.find_dialogs(contact_id="tg:5512345")
    assert (dialog.messenger, dialog.business_number, dialog.contact_phone) == (Messenger.TELEGRAM, "@studiobot", None)
    assert dialog.started_at == sent


async def test_ad_referral_becomes_the_attribution(start_server: Any, http: aiohttp.ClientSession) -> None:
    server = await start_server(generic_webhook_secret=SECRET)
    referral = {"source_url": "https://fb.me/2ZulEu42P", "source_id": "23851234567890123", "source_type": "ad"}

    status, answer = await post(http, server, message(referral=referral))

    assert (status, answer["status"]) == (200, "ad_referral")
    [dialog] = await all_dialogs(server)
    assert dialog.status is AttributionStatus.AD_REFERRAL
    assert (dialog.attribution.channel, dialog.attribution.source) == (Channel.PAID_SOCIAL, "facebook")
    assert dialog.attribution.campaign == "23851234567890123"  # no headline: the ad id names the campaign


def documented_snippet(language: str) -> str:
    """The example of docs/providers.md in this language: what integrators will copy."""
    page = (Path(__file__).parent.parent / "docs" / "providers.md").read_text()
    section = page.split("\n## Generic JSON webhook\n", 1)[1].split("\n## ", 1)[0]
    [snippet] = re.findall(rf"```{language}\n(.*?)```", section, flags=re.DOTALL)
    return str(snippet)


async def test_the_documented_python_example_is_accepted(start_server: Any, http: aiohttp.ClientSession) -> None:
    server = await start_server(generic_webhook_secret=SECRET)
    code = documented_snippet("python")
    code = code.replace("<CHATTRACK_GENERIC_WEBHOOK_SECRET>", SECRET).replace("https://track.example.com", server.url)

    await asyncio.to_thread(exec, code, {})

    [dialog] = await server.store.find_dialogs(contact_id="+79161234567")
    assert (dialog.provider, dialog.first_message) == ("generic", "Здравствуйте!")


async def test_the_documented_shell_example_is_accepted(start_server: Any, http: aiohttp.ClientSession) -> None:
    server = await start_server(generic_webhook_secret=SECRET)
    script = documented_snippet("sh").replace("https://track.example.com", server.url)
    shell = await asyncio.create_subprocess_exec(
        "sh", "-ec", script, env={"SECRET": SECRET, "PATH": "/usr/bin:/bin"}, stdout=asyncio.subprocess.PIPE
    )
    output, _ = await shell.communicate()

    assert shell.returncode == 0
    assert json.loads(output)["outcome"] == "new_dialog"
    [dialog] = await server.store.find_dialogs(contact_id="+79161234567")
    assert dialog.first_message == "Hi"


# The business's replies: "direction": "outgoing" ------------------------------------------------------------


def a_while_ago(seconds: int) -> datetime:
    return (datetime.now(UTC) - timedelta(seconds=seconds)).replace(microsecond=0)


async def test_an_outgoing_message_answers_the_customers_dialog(start_server: Any, http: aiohttp.ClientSession) -> None:
    server = await start_server(generic_webhook_secret=SECRET)
    opened = a_while_ago(600)
    incoming = message(timestamp=opened.isoformat(), platform="chat2desk")
    status, answer = await post(http, server, incoming)
    assert (status, answer["outcome"]) == (200, "new_dialog")
    replied = opened + timedelta(seconds=70)
    reply = message(
        message_id="c2d-out-1",
        contact_phone="+79161234567",
        text="Здравствуйте! Чем помочь?",
        timestamp=int(replied.timestamp()),
        platform="chat2desk",
        direction="outgoing",
        author_name="Мария",
    )

    status, answer = await post(http, server, reply)

    assert (status, answer) == (200, {"outcome": "reply", "dialog": answer["dialog"]})
    [dialog] = await all_dialogs(server)
    assert answer["dialog"] == dialog.id
    assert (dialog.answered_at, dialog.answered_by, dialog.message_count) == (replied, "Мария", 1)


async def test_an_outgoing_message_with_no_dialog_before_it_or_elsewhere_answers_nothing(
    start_server: Any, http: aiohttp.ClientSession
) -> None:
    server = await start_server(generic_webhook_secret=SECRET, tracked_numbers="")
    opened = a_while_ago(600)
    first = message(message_id="out-0", direction="outgoing", timestamp=(opened - timedelta(seconds=60)).isoformat())
    assert await post(http, server, first) == (200, {"outcome": "reply", "dialog": None})
    assert await all_dialogs(server) == []
    assert (await post(http, server, message(timestamp=opened.isoformat())))[0] == 200
    at = (opened + timedelta(seconds=30)).isoformat()
    elsewhere = [
        message(message_id="out-1", direction="outgoing", timestamp=at, business_number="+7 999 000-00-01"),
        message(message_id="out-2", direction="outgoing", timestamp=at, contact_phone="+79035550011"),
    ]
    for reply in elsewhere:
        assert await post(http, server, reply) == (200, {"outcome": "reply", "dialog": None})

    [dialog] = await all_dialogs(server)
    assert dialog.answered_at is None


async def test_a_bad_direction_or_an_outgoing_message_naming_nobody_gets_400(
    start_server: Any, http: aiohttp.ClientSession
) -> None:
    server = await start_server(generic_webhook_secret=SECRET)
    cases = [
        (message(direction="sideways"), "direction"),
        (message(direction="outgoing", contact_phone=None), "contact_phone or contact_id"),
        (message(direction="outgoing", business_number="nope"), "business_number"),
    ]
    for payload, reason in cases:
        status, answer = await post(http, server, payload)
        assert status == 400, payload
        assert reason in answer["error"], answer
    assert await all_dialogs(server) == []
