"""GA4 conversions (integrations/ga4.py) against the local Measurement Protocol double (tests/fakes/ga4_api.py):
the events and their parameters, the client id, the time rules, validation first, and what is retried."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import pytest

from integrations.base import Outgoing
from integrations.ga4 import GA4Sender, ga_client_id
from tests.fakes.ga4_api import COLLECT, DEBUG, FakeGA4
from tracking.models import (
    GA4,
    Attribution,
    DeliveryOutcome,
    Dialog,
    Goal,
    Messenger,
    OutboxItem,
    Sale,
    Visit,
)
from tracking.periods import buckets_for, utc_now
from tracking.settings import Settings

MOSCOW = ZoneInfo("Europe/Moscow")
NOW = utc_now()  # the double checks timestamps against the real clock


@pytest.fixture
async def ga4() -> AsyncIterator[FakeGA4]:
    async with FakeGA4() as fake:
        yield fake


@pytest.fixture
def sender(
    ga4: FakeGA4, make_settings: Callable[..., Settings], http: aiohttp.ClientSession
) -> Callable[..., GA4Sender]:
    def make(now: datetime = NOW, secret: str = "test-api-secret", **kw: Any) -> GA4Sender:
        settings = make_settings(
            ga4_measurement_id=ga4.measurement_id, ga4_api_secret=secret, ga4_api_url=ga4.url + "/"
        )
        return GA4Sender(settings, http, clock=lambda: now, **kw)

    return make


def dialog(ga: str | None = "GA1.1.123.456", *, seen: datetime = NOW, dialog_id: str = "d1") -> Dialog:
    visit = Visit(
        code="7K3M9QE",
        visitor_id="v1",
        first_seen=seen - timedelta(minutes=3),
        last_seen=seen,
        attribution=Attribution(),
        ga_client_id=ga,
    )
    return Dialog(
        id=dialog_id,
        provider="twilio",
        messenger=Messenger.WHATSAPP,
        business_number="+79991234567",
        contact_id="+79161112233",
        started_at=seen,
        last_message_at=seen,
        is_repeat=False,
        buckets=buckets_for(seen, MOSCOW),
        visit=visit,
    )


def outgoing(
    goal: Goal, *, at: datetime = NOW, of: Dialog | None = None, sale: Sale | None = None, item_id: str = ""
) -> Outgoing:
    of = of or dialog()
    item = OutboxItem(
        id=item_id or f"ga4:{goal.value}:{of.id}",
        dialog_id=of.id,
        kind=GA4,
        next_attempt_at=at,
        created_at=at,
        goal=goal,
        sale_id=sale.id if sale else None,
        happened_at=at,
    )
    return Outgoing(item=item, dialog=of, sale=sale)


def micros(moment: datetime) -> int:
    return int(moment.timestamp() * 1_000_000)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("GA1.1.123.456", "123.456"),
        ("GA1.2.1234567890.1764000000", "1234567890.1764000000"),
        ("GA1.3-2.1234567890.1764000000", "1234567890.1764000000"),
        ("1234567890.1764000000", "1234567890.1764000000"),
        (" 123.456 ", "123.456"),
        ("123", None),
        ("GA1.1.abc.def", None),
        ("", None),
        (None, None),
    ],
)
def test_client_id_is_the_ga_cookies_last_two_fields(raw: str | None, expected: str | None) -> None:
    assert ga_client_id(raw) == expected


async def test_lead_qualified_and_sale_are_validated_then_sent_as_recommended_lead_events(
    ga4: FakeGA4, sender: Callable[..., GA4Sender]
) -> None:
    sale = Sale(id="s1", amount=Decimal("12000.50"), currency="RUB", at=NOW - timedelta(minutes=5))
    batch = [
        outgoing(Goal.LEAD, at=NOW - timedelta(hours=1)),
        outgoing(Goal.QUALIFIED, at=NOW - timedelta(minutes=30)),
        outgoing(Goal.SALE, at=sale.at, sale=sale),
    ]

    results = await sender().send(batch)

    assert [r.outcome for r in results] == [DeliveryOutcome.SENT] * 3
    assert len(ga4.to(DEBUG)) == len(ga4.to(COLLECT)) == 3  # each validated before it is sent
    assert all(r.query == {"measurement_id": "G-TEST1234", "api_secret": "test-api-secret"} for r in ga4.requests)
    events = {e["name"]: e for e in ga4.recorded}
    assert list(events) == ["generate_lead", "qualify_lead", "close_convert_lead"]
    assert {e["client_id"] for e in ga4.recorded} == {"123.456"}
    assert events["generate_lead"]["params"] == {
        "currency": "RUB",
        "lead_source": "whatsapp",
        "engagement_time_msec": 1,
    }
    assert events["qualify_lead"]["params"] == {"currency": "RUB", "engagement_time_msec": 1}
    assert events["close_convert_lead"]["params"] == {"currency": "RUB", "value": 12000.5, "engagement_time_msec": 1}
    assert events["close_convert_lead"]["timestamp_micros"] == micros(sale.at)


async def test_a_sale_sends_its_amount_as_stored_at_sending_time_and_its_currency(
    ga4: FakeGA4, sender: Callable[..., GA4Sender]
) -> None:
    whole = Sale(id="s1", amount=Decimal("12000"), currency="USD", at=NOW)
    unknown = Sale(id="s2", amount=None, currency="RUB", at=NOW)

    results = await sender().send(
        [outgoing(Goal.SALE, sale=whole, item_id="a"), outgoing(Goal.SALE, sale=unknown, item_id="b")]
    )

    assert [r.outcome for r in results] == [DeliveryOutcome.SENT] * 2
    params = [e["params"] for e in ga4.recorded]
    assert params[0]["value"] == 12000 and isinstance(params[0]["value"], int) and params[0]["currency"] == "USD"
    assert "value" not in params[1] and params[1]["currency"] == "RUB"  # no amount named: no value


async def test_events_of_one_client_and_time_share_requests_of_at_most_25(
    ga4: FakeGA4, sender: Callable[..., GA4Sender]
) -> None:
    batch = [outgoing(Goal.QUALIFIED, item_id=f"q{n}", of=dialog(dialog_id=f"d{n}")) for n in range(30)]
    batch.append(outgoing(Goal.LEAD, of=dialog("GA1.1.999.888", dialog_id="other")))

    results = await sender().send(batch)

    assert all(r.outcome is DeliveryOutcome.SENT for r in results)
    sizes = sorted((r.body["client_id"], len(r.body["events"])) for r in ga4.to(COLLECT))
    assert sizes == [("123.456", 5), ("123.456", 25), ("999.888", 1)]
    assert len(ga4.recorded) == 31


async def test_timestamp_only_within_the_backdating_the_protocol_allows(
    ga4: FakeGA4, sender: Callable[..., GA4Sender]
) -> None:
    recent, old, future = NOW - timedelta(hours=47), NOW - timedelta(hours=50), NOW + timedelta(minutes=5)
    batch = [
        outgoing(Goal.LEAD, at=recent, of=dialog(dialog_id="a")),
        outgoing(Goal.LEAD, at=old, of=dialog(dialog_id="b")),
        outgoing(Goal.LEAD, at=future, of=dialog(dialog_id="c")),  # our clock behind the item's: no future time
    ]

    results = await sender().send(batch)

    assert [r.outcome for r in results] == [DeliveryOutcome.SENT] * 3
    stamps = sorted((r.body.get("timestamp_micros") or 0) for r in ga4.to(COLLECT))
    assert stamps == [0, micros(recent)]  # the old and the future one share a request without a time
    assert len(ga4.recorded) == 3


async def test_a_visit_older_than_63_days_is_too_late_and_nothing_is_sent(
    ga4: FakeGA4, sender: Callable[..., GA4Sender]
) -> None:
    stale = dialog(seen=NOW - timedelta(days=64))
    sale = Sale(id="s1", amount=Decimal(5000), currency="RUB", at=NOW)

    [result] = await sender().send([outgoing(Goal.SALE, sale=sale, of=stale)])

    assert result.outcome is DeliveryOutcome.TOO_LATE
    assert result.note == "visit_too_old: 63"
    assert ga4.requests == []


async def test_nothing_to_link_is_skipped(ga4: FakeGA4, sender: Callable[..., GA4Sender]) -> None:
    no_visit = dialog().model_copy(update={"visit": None})
    results = await sender().send(
        [
            outgoing(Goal.LEAD, of=dialog(None)),
            outgoing(Goal.LEAD, of=dialog("not-a-client-id")),
            outgoing(Goal.LEAD, of=no_visit),
            outgoing(Goal.SALE, sale=None),  # the sale was removed before its conversion left
        ]
    )

    assert [r.outcome for r in results] == [DeliveryOutcome.SKIPPED] * 4
    assert [r.note for r in results] == ["no_client_id"] * 3 + ["sale_removed"]
    assert ga4.requests == []


async def test_an_event_the_validation_server_refuses_is_refused_with_its_reason_and_the_rest_sent(
    ga4: FakeGA4, sender: Callable[..., GA4Sender]
) -> None:
    bad = Sale(id="s1", amount=Decimal(100), currency="руб", at=NOW)  # as an API caller might write it

    results = await sender().send([outgoing(Goal.LEAD), outgoing(Goal.SALE, sale=bad)])

    assert results[0].outcome is DeliveryOutcome.SENT
    assert results[1].outcome is DeliveryOutcome.REFUSED
    assert results[1].note is not None
    assert results[1].note.startswith("rejected: Event at index: [1] has invalid currency [руб]")
    assert results[1].note.endswith("(VALUE_INVALID)")
    assert [e["name"] for e in ga4.recorded] == ["generate_lead"]
    assert [len(r.body["events"]) for r in ga4.to(COLLECT)] == [1]


async def test_a_message_naming_no_event_refuses_the_whole_request(
    ga4: FakeGA4, sender: Callable[..., GA4Sender]
) -> None:
    # Our clock 80 hours behind the real one: an event we think an hour old is 81 hours old for GA4.
    behind = NOW - timedelta(hours=80)
    batch = [
        outgoing(Goal.LEAD, at=behind - timedelta(hours=1), of=dialog(seen=behind, dialog_id="a")),
        outgoing(Goal.QUALIFIED, at=behind - timedelta(hours=1), of=dialog(seen=behind, dialog_id="b")),
    ]

    results = await sender(now=behind).send(batch)

    assert [r.outcome for r in results] == [DeliveryOutcome.REFUSED] * 2
    assert all("timestamp_micros" in (r.note or "") for r in results)
    assert ga4.to(COLLECT) == []


@pytest.mark.parametrize(("path", "status"), [(DEBUG, 429), (DEBUG, 503), (COLLECT, 500), (COLLECT, 429)])
async def test_429_and_5xx_are_retried(ga4: FakeGA4, sender: Callable[..., GA4Sender], path: str, status: int) -> None:
    ga4.fail_next(path, status=status, retry_after=30 if status == 429 else None)

    [result] = await sender().send([outgoing(Goal.LEAD)])

    assert result.outcome is None
    assert result.retry_after == (30 if status == 429 else None)
    assert result.note == ("quota" if status == 429 else f"http_error: {status}")
    assert ga4.recorded == []


async def test_a_dropped_connection_and_a_timeout_are_retried(ga4: FakeGA4, sender: Callable[..., GA4Sender]) -> None:
    ga4.fail_next(DEBUG, status="unreachable")
    [dropped] = await sender().send([outgoing(Goal.LEAD)])
    ga4.hold_next(COLLECT)
    [slow] = await sender(timeout=0.3).send([outgoing(Goal.LEAD)])

    assert dropped.outcome is None and (dropped.note or "").startswith("connection_error: ")
    assert (slow.outcome, slow.note) == (None, "timeout")
    assert ga4.recorded == []


async def test_after_a_429_the_rest_of_the_batch_waits_without_asking_again(
    ga4: FakeGA4, sender: Callable[..., GA4Sender]
) -> None:
    ga4.fail_next(DEBUG, status=429, retry_after=60)
    batch = [outgoing(Goal.LEAD, of=dialog(f"GA1.1.{n}.1", dialog_id=f"d{n}")) for n in range(3)]

    results = await sender().send(batch)

    assert [(r.outcome, r.retry_after) for r in results] == [(None, 60)] * 3
    assert len(ga4.requests) == 1


async def test_another_4xx_refuses_with_the_status(ga4: FakeGA4, sender: Callable[..., GA4Sender]) -> None:
    ga4.fail_next(COLLECT, status=403)

    [result] = await sender().send([outgoing(Goal.LEAD)])

    assert result.outcome is DeliveryOutcome.REFUSED
    assert (result.note or "").startswith("rejected: HTTP 403")


async def test_a_wrong_api_secret_is_accepted_and_silently_dropped_by_ga4(
    ga4: FakeGA4, sender: Callable[..., GA4Sender]
) -> None:
    """What GA4 really does: neither endpoint checks the secret, collect answers 204 and records nothing.
    The delivery can only say it was sent (docs/conversions.md tells the owner how to check)."""
    [result] = await sender(secret="wrong-secret").send([outgoing(Goal.LEAD)])

    assert result.outcome is DeliveryOutcome.SENT
    assert [r.query["api_secret"] for r in ga4.requests] == ["wrong-secret"] * 2
    assert ga4.recorded == []
