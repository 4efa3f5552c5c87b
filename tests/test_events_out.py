"""Signed events to CHATTRACK_EVENTS_URL (integrations/events.py) against a local receiver that checks them as
docs/conversions.md tells receivers to: the JSON, the signature /webhooks/generic accepts, and retries."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import pytest

from integrations.base import Outgoing
from integrations.events import EventsSender, signature
from integrations.outbox import DeliveryDispatcher, senders
from tests.fakes.events_receiver import EventsReceiver
from tracking.models import (
    EVENT_OUT,
    Attribution,
    AttributionStatus,
    Channel,
    DeliveryOutcome,
    Dialog,
    EventType,
    InboundMessage,
    Messenger,
    OutboxItem,
    Sale,
    Visit,
)
from tracking.periods import buckets_for, utc_now
from tracking.service import Tracker
from tracking.settings import Settings
from tracking.store.base import NewDialog
from tracking.store.sqlite import SQLiteStore
from webhooks.generic import signature_matches, timestamp_is_fresh

SECRET = "test-events-secret"
STARTED = datetime(2026, 11, 27, 9, 30, tzinfo=UTC)


@pytest.fixture
async def receiver() -> AsyncIterator[EventsReceiver]:
    async with EventsReceiver(SECRET) as fake:
        yield fake


@pytest.fixture
def settings(receiver: EventsReceiver, make_settings: Callable[..., Settings]) -> Settings:
    return make_settings(events_url=receiver.url, events_secret=SECRET)


def lead(**fields: Any) -> Dialog:
    values: dict[str, Any] = {
        "id": "d1",
        "provider": "twilio",
        "messenger": Messenger.WHATSAPP,
        "business_number": "+79991234567",
        "contact_id": "+79161112233",
        "contact_phone": "+79161112233",
        "contact_name": "Анна",
        "started_at": STARTED,
        "last_message_at": STARTED,
        "is_repeat": False,
        "buckets": buckets_for(STARTED, ZoneInfo("Europe/Moscow")),
        "code": "7K3M9QE",
        "status": AttributionStatus.EXACT,
        "attribution": Attribution(
            channel=Channel.PAID_SEARCH,
            source="yandex",
            medium="cpc",
            campaign="winter_sale",
            content="ad42",
            term="купить диван",
            landing_page="https://shop.example/sofas?utm_source=yandex",
            contact_page="https://shop.example/sofas/12",
        ),
        "visit": Visit(
            code="7K3M9QE",
            visitor_id="v1",
            first_seen=STARTED,
            last_seen=STARTED,
            attribution=Attribution(),
            ga_client_id="123.456",
        ),
    }
    values.update(fields)
    return Dialog(**values)


def event(kind: EventType, of: Dialog, *, sale: Sale | None = None, **data: Any) -> Outgoing:
    item = OutboxItem(
        id=f"{EVENT_OUT}:{kind.value}:{uuid.uuid4().hex}",
        dialog_id=of.id,
        kind=EVENT_OUT,
        next_attempt_at=STARTED,
        created_at=STARTED,
        event=kind,
        sale_id=sale.id if sale else None,
        happened_at=STARTED,
        data=data,
    )
    return Outgoing(item=item, dialog=of, sale=sale)


async def test_dialog_created_carries_the_dialog_and_its_attribution_signed_as_the_generic_webhook_checks(
    http: aiohttp.ClientSession, receiver: EventsReceiver, settings: Settings
) -> None:
    out = event(EventType.DIALOG_CREATED, lead())

    [result] = await EventsSender(settings, http).send([out])

    assert result.outcome is DeliveryOutcome.SENT
    [request] = receiver.received
    timestamp = request.headers["X-Chattrack-Timestamp"]
    assert signature_matches(SECRET, request.body, request.headers["X-Chattrack-Signature"], timestamp)
    assert timestamp_is_fresh(timestamp, time.time())
    assert not signature_matches("another-secret", request.body, request.headers["X-Chattrack-Signature"], timestamp)
    assert request.headers["Content-Type"] == "application/json"
    sent = receiver.events[out.item.id]
    assert sent["type"] == "dialog.created"
    assert sent["id"] == out.item.id
    assert sent["occurred_at"] == "2026-11-27T09:30:00Z"
    dialog = sent["dialog"]
    assert dialog["id"] == "d1" and dialog["started_at"] == "2026-11-27T09:30:00Z"
    assert dialog["contact"] == {"id": "+79161112233", "phone": "+79161112233", "name": "Анна"}
    assert (dialog["messenger"], dialog["business_number"], dialog["status"]) == ("whatsapp", "+79991234567", "exact")
    assert dialog["code"] == "7K3M9QE" and dialog["tags"] == [] and dialog["sales"] == []
    attribution = dialog["attribution"]
    assert (attribution["channel"], attribution["source"], attribution["campaign"]) == (
        "paid_search",
        "yandex",
        "winter_sale",
    )
    assert attribution["term"] == "купить диван"
    assert attribution["contact_page"] == "https://shop.example/sofas/12"
    assert "sale" not in sent and "data" not in sent


def test_the_signature_is_the_one_the_generic_webhook_accepts() -> None:
    body = json.dumps({"type": "dialog.created", "id": "x"}).encode()

    header = signature(SECRET, body, 1764000000)

    assert header.startswith("sha256=") and len(header) == 7 + 64
    assert signature_matches(SECRET, body, header, "1764000000")
    assert not signature_matches(SECRET, body + b" ", header, "1764000000")
    assert not signature_matches(SECRET, body, header, "1764000001")


async def test_sale_recorded_carries_the_sale_as_it_is_when_sent(
    http: aiohttp.ClientSession, receiver: EventsReceiver, settings: Settings
) -> None:
    sale = Sale(id="s1", amount=Decimal("12000.50"), currency="RUB", at=STARTED, by=7, by_name="Мария")
    sold = lead(tags=["qualified", "sale"], sales=[sale], taken_by_name="Мария")

    [result] = await EventsSender(settings, http).send([event(EventType.SALE_RECORDED, sold, sale=sale)])

    assert result.outcome is DeliveryOutcome.SENT
    [sent] = receiver.events.values()
    expected = {"id": "s1", "amount": 12000.5, "currency": "RUB", "at": "2026-11-27T09:30:00Z", "by_name": "Мария"}
    assert sent["type"] == "sale.recorded" and sent["sale"] == expected
    assert sent["dialog"]["sales"] == [expected] and sent["dialog"]["revenue"] == 12000.5
    assert sent["dialog"]["tags"] == ["qualified", "sale"] and sent["dialog"]["taken_by_name"] == "Мария"


async def test_a_sale_removed_before_its_event_left_is_skipped(
    http: aiohttp.ClientSession, receiver: EventsReceiver, settings: Settings
) -> None:
    [result] = await EventsSender(settings, http).send([event(EventType.SALE_RECORDED, lead(), sale=None)])

    assert result.outcome is DeliveryOutcome.SKIPPED
    assert receiver.received == []


async def test_dialog_tagged_says_what_was_added_and_removed(
    http: aiohttp.ClientSession, receiver: EventsReceiver, settings: Settings
) -> None:
    out = event(EventType.DIALOG_TAGGED, lead(tags=["qualified"]), added=["qualified"], removed=["spam"])

    await EventsSender(settings, http).send([out])

    [sent] = receiver.events.values()
    assert sent["type"] == "dialog.tagged"
    assert sent["data"] == {"added": ["qualified"], "removed": ["spam"]}


async def test_a_take_queues_one_dialog_taken_that_the_outbox_delivers(
    http: aiohttp.ClientSession, receiver: EventsReceiver, settings: Settings, store: SQLiteStore
) -> None:
    draft = lead(id=uuid.uuid4().hex)
    message = InboundMessage(
        provider="twilio",
        message_id="SM1",
        business_number=draft.business_number,
        contact_id=draft.contact_id,
        contact_phone=draft.contact_phone,
        received_at=STARTED,
    )
    await store.add_message(NewDialog(message=message, draft=draft, dialog_gap=timedelta(hours=72), alert_chats=[]))
    tracker = Tracker(store, settings)

    await tracker.take_dialog(draft.id, 7, "Мария", utc_now())
    await tracker.take_dialog(draft.id, 7, "Мария", utc_now())  # the taker's second press: no event
    [taken] = [d for d in await store.dialog_deliveries(draft.id) if d.event is EventType.DIALOG_TAKEN]
    dispatcher = DeliveryDispatcher(store, senders(settings, http))
    assert EVENT_OUT in dispatcher.kinds

    assert await dispatcher.run_once() == 1

    [done] = [d for d in await store.dialog_deliveries(draft.id) if d.id == taken.id]
    assert done.outcome is DeliveryOutcome.SENT
    sent = receiver.events[taken.id]
    assert sent["type"] == "dialog.taken"
    assert sent["data"] == {"taken_by": 7, "taken_by_name": "Мария"}
    assert sent["dialog"]["taken_by_name"] == "Мария"


async def test_a_redelivery_carries_the_same_id_and_the_receiver_keeps_one(
    http: aiohttp.ClientSession, receiver: EventsReceiver, settings: Settings
) -> None:
    out = event(EventType.DIALOG_CREATED, lead())
    sender = EventsSender(settings, http)

    await sender.send([out])
    await sender.send([out])  # e.g. our answer was lost and the outbox sent it again

    assert [r.status for r in receiver.received] == [200, 200]
    assert list(receiver.events) == [out.item.id]


async def test_a_wrong_secret_is_refused_by_the_receiver_and_given_up_with_its_answer(
    http: aiohttp.ClientSession, receiver: EventsReceiver, make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings(events_url=receiver.url, events_secret="not-the-receivers")

    [result] = await EventsSender(settings, http).send([event(EventType.DIALOG_CREATED, lead())])

    assert result.outcome is DeliveryOutcome.REFUSED
    assert result.note == 'rejected: HTTP 401: {"error": "bad signature"}'
    assert receiver.events == {}


@pytest.mark.parametrize(("status", "body"), [(400, "unknown field: dialog"), (404, "<h1>Not Found</h1>"), (410, "")])
async def test_a_4xx_is_refused_with_the_status_and_an_excerpt(
    http: aiohttp.ClientSession, receiver: EventsReceiver, settings: Settings, status: int, body: str
) -> None:
    receiver.fail_next(status=status, body=body + "x" * 500)

    [result] = await EventsSender(settings, http).send([event(EventType.DIALOG_CREATED, lead())])

    assert result.outcome is DeliveryOutcome.REFUSED
    assert (result.note or "").startswith(f"rejected: HTTP {status}: {body}")
    assert len(result.note or "") < 230


async def test_a_redirect_is_not_followed_but_refused_with_where_it_points(
    http: aiohttp.ClientSession, receiver: EventsReceiver, settings: Settings
) -> None:
    receiver.fail_next(status=301, body="")
    [result] = await EventsSender(settings, http).send([event(EventType.DIALOG_CREATED, lead())])

    assert result.outcome is DeliveryOutcome.REFUSED
    assert (result.note or "").startswith("rejected: HTTP 301")
    assert len(receiver.received) == 1


@pytest.mark.parametrize(
    ("status", "retry_after", "expected"), [(408, None, None), (429, "30", 30.0), (500, None, None), (503, "7", 7.0)]
)
async def test_408_429_and_5xx_are_retried_after_the_receivers_retry_after(
    http: aiohttp.ClientSession,
    receiver: EventsReceiver,
    settings: Settings,
    status: int,
    retry_after: str | None,
    expected: float | None,
) -> None:
    receiver.fail_next(status=status, retry_after=retry_after)

    [result] = await EventsSender(settings, http).send([event(EventType.DIALOG_CREATED, lead())])

    assert result.outcome is None
    assert result.retry_after == expected
    assert result.note == ("quota" if status == 429 else f"http_error: {status}")


async def test_retry_after_as_an_http_date(
    http: aiohttp.ClientSession, receiver: EventsReceiver, settings: Settings
) -> None:
    when = (utc_now() + timedelta(seconds=120)).strftime("%a, %d %b %Y %H:%M:%S GMT")
    receiver.fail_next(status=429, retry_after=when)

    [result] = await EventsSender(settings, http).send([event(EventType.DIALOG_CREATED, lead())])

    assert result.outcome is None
    assert result.retry_after is not None and 100 < result.retry_after <= 120


async def test_no_connection_and_a_timeout_are_retried_and_the_rest_of_the_batch_waits(
    http: aiohttp.ClientSession, receiver: EventsReceiver, settings: Settings
) -> None:
    receiver.fail_next(status="unreachable")
    batch = [event(EventType.DIALOG_CREATED, lead(id=f"d{n}")) for n in range(3)]
    dropped = await EventsSender(settings, http).send(batch)
    receiver.hold_next()
    [slow] = await EventsSender(settings, http, timeout=0.3).send(batch[:1])

    assert [r.outcome for r in dropped] == [None] * 3
    assert (dropped[0].note or "").startswith("connection_error: ")
    assert len(receiver.received) == 1  # after the first failure the others were not tried
    assert (slow.outcome, slow.note) == (None, "timeout")
