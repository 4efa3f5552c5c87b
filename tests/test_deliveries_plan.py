"""Which conversions and events a change of a dialog plans (tracking/deliveries.py): pure decisions."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from tracking import deliveries
from tracking.models import (
    EVENT_OUT,
    GA4,
    METRICA,
    Attribution,
    Dialog,
    EventType,
    Goal,
    Messenger,
    Sale,
    TimeBuckets,
    Visit,
)
from tracking.settings import Settings

NOW = datetime.fromisoformat("2026-12-06T12:00:00+00:00")
STARTED = NOW - timedelta(minutes=3)
ALL_ON: dict[str, Any] = {
    "metrica_counter_id": "12345678",
    "metrica_token": "y0_token",
    "ga4_measurement_id": "G-ABC123XYZ",
    "ga4_api_secret": "secret",
    "events_url": "https://crm.example/hook",
    "events_secret": "s3cret",
}


def settings(**overrides: Any) -> Settings:
    return Settings(**overrides)


def dialog(*, ym: str | None = "1700000000123456789", ga: str | None = "123.456", yclid: str | None = None) -> Dialog:
    visit = Visit(
        code="7K3M9QE",
        visitor_id="v1",
        first_seen=STARTED - timedelta(minutes=5),
        last_seen=STARTED,
        attribution=Attribution(yclid=yclid),
        ga_client_id=ga,
        ym_client_id=ym,
    )
    return Dialog(
        id="d1",
        provider="twilio",
        messenger=Messenger.WHATSAPP,
        business_number="+79991234567",
        contact_id="+79161112233",
        started_at=STARTED,
        last_message_at=STARTED,
        is_repeat=False,
        buckets=TimeBuckets(day="2026-12-06", week="2026-W49", month="2026-12", quarter="2026-Q4"),
        attribution=Attribution(yclid=yclid),
        visit=visit,
    )


def test_nothing_is_planned_when_nothing_is_configured() -> None:
    d = dialog()
    off = settings()
    assert deliveries.for_new_dialog(d, off, NOW) == []
    assert deliveries.for_tags(d, ["qualified"], off, NOW) == []
    assert deliveries.for_sale(d, Sale(id="s1", currency="RUB", at=NOW), off, NOW) == []
    assert deliveries.for_taken(d, off, NOW) == []


def test_a_new_lead_converts_in_each_system_that_can_link_it_and_makes_one_event() -> None:
    items = deliveries.for_new_dialog(dialog(), settings(**ALL_ON), NOW)
    assert [(i.kind, i.goal, i.event) for i in items] == [
        (METRICA, Goal.LEAD, None),
        (GA4, Goal.LEAD, None),
        (EVENT_OUT, None, EventType.DIALOG_CREATED),
    ]
    assert all(i.dialog_id == "d1" and i.next_attempt_at == NOW for i in items)
    # The lead happened when the customer wrote, not when it was planned.
    assert items[0].happened_at == STARTED
    # Once per dialog: ids the store can refuse a second time.
    assert [i.id for i in items] == ["metrica:lead:d1", "ga4:lead:d1", "event:dialog.created:d1"]


def test_only_the_systems_whose_ids_the_visit_carries_get_a_conversion() -> None:
    on = settings(**ALL_ON)
    no_ids = deliveries.for_new_dialog(dialog(ym=None, ga=None), on, NOW)
    assert [i.kind for i in no_ids] == [EVENT_OUT]
    by_yclid = deliveries.for_new_dialog(dialog(ym=None, ga=None, yclid="9876543210"), on, NOW)
    assert [i.kind for i in by_yclid] == [METRICA, EVENT_OUT]
    without_visit = dialog().model_copy(update={"visit": None})
    assert [i.kind for i in deliveries.for_new_dialog(without_visit, on, NOW)] == [EVENT_OUT]


def test_qualified_converts_once_and_every_tag_change_is_an_event() -> None:
    on = settings(**ALL_ON)
    d = dialog()
    added = deliveries.for_tags(d, ["qualified"], on, NOW)
    assert [(i.kind, i.goal) for i in added] == [(METRICA, Goal.QUALIFIED), (GA4, Goal.QUALIFIED), (EVENT_OUT, None)]
    assert added[0].id == "metrica:qualified:d1" and added[0].happened_at == NOW
    assert added[2].data == {"added": ["qualified"], "removed": [], "tags": ["qualified"]}
    removed = deliveries.for_tags(d.model_copy(update={"tags": ["qualified"]}), [], on, NOW)
    assert [i.kind for i in removed] == [EVENT_OUT] and removed[0].data["removed"] == ["qualified"]
    assert deliveries.for_tags(d.model_copy(update={"tags": ["spam"]}), ["spam"], on, NOW) == []
    # «Продажа» is told by sale.recorded (for_sale), not a second event; removing it is a tag event.
    assert deliveries.for_tags(d, ["sale"], on, NOW) == []
    unsold = deliveries.for_tags(d.model_copy(update={"tags": ["sale"]}), [], on, NOW)
    assert [i.data["removed"] for i in unsold] == [["sale"]]
    # Two tag events are two events: they must not share an id.
    again = deliveries.for_tags(d, ["spam"], on, NOW)
    assert again[0].id != deliveries.for_tags(d, ["spam"], on, NOW)[0].id


def test_a_sale_waits_for_its_amount_and_converts_once_per_sale() -> None:
    on = settings(**ALL_ON)
    sale = Sale(id="s1", amount=Decimal("12000"), currency="RUB", at=NOW)
    items = deliveries.for_sale(dialog(), sale, on, NOW)
    assert [(i.kind, i.goal, i.event) for i in items] == [
        (METRICA, Goal.SALE, None),
        (GA4, Goal.SALE, None),
        (EVENT_OUT, None, EventType.SALE_RECORDED),
    ]
    assert {i.sale_id for i in items} == {"s1"}
    assert all(i.next_attempt_at == NOW for i in items)  # the amount is known: at once
    assert [i.id for i in items] == ["metrica:sale:d1:s1", "ga4:sale:d1:s1", "event:sale.recorded:s1"]
    unnamed = deliveries.for_sale(dialog(), sale.model_copy(update={"amount": None}), on, NOW)
    assert all(i.next_attempt_at == NOW + deliveries.SALE_GRACE for i in unnamed)  # waits for the amount


def test_taking_a_lead_is_an_event_naming_the_taker() -> None:
    taken = dialog().model_copy(update={"taken_by": 42, "taken_by_name": "Мария"})
    (item,) = deliveries.for_taken(taken, settings(**ALL_ON), NOW)
    assert item.event is EventType.DIALOG_TAKEN and item.data == {"taken_by": 42, "taken_by_name": "Мария"}
