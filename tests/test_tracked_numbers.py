"""Messages to WhatsApp numbers we do not track (a sandbox number, a second line) are answered 200 and
stored nowhere, counted in chattrack_events_skipped{kind="untracked_number"}, unless
CHATTRACK_TRACKED_NUMBERS is empty. The filter is in Tracker.ingest: every provider goes through it."""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest

from tests.test_contact_ids import GENERIC_SECRET, secrets, via_generic, via_greenapi, via_meta, via_twilio
from tracking.models import InboundMessage, IngestOutcome, Messenger
from tracking.service import Tracker
from tracking.settings import load_settings
from tracking.store.sqlite import SQLiteStore
from webhooks.metrics import METRICS

TRACKED = "+79991234567"  # conftest's CHATTRACK_TRACKED_NUMBERS
SANDBOX = "+14155238886"  # Twilio's WhatsApp sandbox number
CUSTOMER = "79161234567"

Send = Callable[..., Awaitable[int]]
PROVIDERS: list[tuple[str, Send]] = [
    ("twilio", via_twilio),
    ("meta", via_meta),
    ("greenapi", via_greenapi),
    ("generic", via_generic),
]


def skipped(server: Any, provider: str, kind: str = "untracked_number") -> float:
    value = server.app[METRICS].registry.get_sample_value(
        "chattrack_events_skipped_total", {"provider": provider, "kind": kind}
    )
    return float(value or 0)


@pytest.mark.parametrize(("provider", "send"), PROVIDERS, ids=[name for name, _ in PROVIDERS])
async def test_a_message_to_an_untracked_number_is_answered_and_stored_nowhere(
    start_server: Any, http: aiohttp.ClientSession, provider: str, send: Send
) -> None:
    server = await start_server(telegram_owner_ids="1001", **secrets())

    assert await send(http, server, CUSTOMER, "SMsandbox", business=SANDBOX) == 200
    assert await send(http, server, CUSTOMER, "SMsandbox", business=SANDBOX) == 200  # a retry: the same

    assert await server.store.find_dialogs(contact_id="+" + CUSTOMER) == []
    assert await server.store.pending_alerts() == 0
    assert skipped(server, provider) == 2

    assert await send(http, server, CUSTOMER, "SMtracked", business=TRACKED) == 200
    [dialog] = await server.store.find_dialogs(contact_id="+" + CUSTOMER)
    assert (dialog.business_number, dialog.message_count) == (TRACKED, 1)
    assert skipped(server, provider) == 2


@pytest.mark.parametrize(("provider", "send"), PROVIDERS, ids=[name for name, _ in PROVIDERS])
async def test_without_tracked_numbers_every_number_is_kept(
    start_server: Any, http: aiohttp.ClientSession, provider: str, send: Send
) -> None:
    server = await start_server(tracked_numbers="", **secrets())

    assert await send(http, server, CUSTOMER, "SMsandbox", business=SANDBOX) == 200

    [dialog] = await server.store.find_dialogs(contact_id="+" + CUSTOMER)
    assert dialog.business_number == SANDBOX
    assert skipped(server, provider) == 0


async def test_the_generic_webhook_says_the_message_was_not_tracked(
    start_server: Any, http: aiohttp.ClientSession
) -> None:
    server = await start_server(**secrets())
    body = json.dumps({"message_id": "g1", "business_number": SANDBOX, "contact_phone": CUSTOMER}).encode()
    signature = "sha256=" + hmac.new(GENERIC_SECRET.encode(), body, hashlib.sha256).hexdigest()
    headers = {"Content-Type": "application/json", "X-Chattrack-Signature": signature}
    async with http.post(server.url + "/webhooks/generic", data=body, headers=headers) as response:
        assert (response.status, await response.json()) == (200, {"outcome": "untracked"})


async def test_telegram_business_usernames_are_not_filtered_by_tracked_numbers(
    start_server: Any, http: aiohttp.ClientSession
) -> None:
    server = await start_server(**secrets())
    body = json.dumps(
        {"message_id": "t1", "business_number": "@Shop_Bot", "messenger": "telegram", "contact_id": "tg:777"}
    ).encode()
    signature = "sha256=" + hmac.new(GENERIC_SECRET.encode(), body, hashlib.sha256).hexdigest()
    headers = {"Content-Type": "application/json", "X-Chattrack-Signature": signature}
    async with http.post(server.url + "/webhooks/generic", data=body, headers=headers) as response:
        assert response.status == 200
        assert (await response.json())["outcome"] == "new_dialog"
    [dialog] = await server.store.find_dialogs(contact_id="tg:777")
    assert dialog.business_number == "@shop_bot"


def message(business_number: str, messenger: Messenger = Messenger.WHATSAPP) -> InboundMessage:
    return InboundMessage(
        provider="wazzup",
        message_id=uuid.uuid4().hex,
        messenger=messenger,
        business_number=business_number,
        contact_id="+79161234567",
        contact_phone="+79161234567",
        text="Здравствуйте",
        received_at=datetime.now(UTC),
    )


async def test_tracker_filters_only_numbers_it_can_compare(store: SQLiteStore) -> None:
    """A channel id standing for a number (an unmapped Wazzup channel) cannot be told untracked: kept."""
    tracker = Tracker(store, load_settings(tracked_numbers=TRACKED))
    counted: list[tuple[str, str]] = []
    tracker.skip_observers.append(lambda provider, kind: counted.append((provider, kind)))

    untracked = await tracker.ingest(message(SANDBOX))
    channel = await tracker.ingest(message("2ad7e1b5-7d1c-4a8b-9a50-6f0a2f1c9e11"))

    assert untracked.outcome is IngestOutcome.UNTRACKED
    assert untracked.dialog.business_number == SANDBOX  # the draft, as ERASED gives it
    assert channel.outcome is IngestOutcome.NEW_DIALOG
    [stored] = await store.find_dialogs(contact_id="+79161234567")
    assert stored.id == channel.dialog.id
    assert counted == [("wazzup", "untracked_number")]
