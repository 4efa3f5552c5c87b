"""Which deliveries to other systems a change of a dialog makes: pure decisions, queued by the use-cases.

A new lead, a qualified lead and a sale are conversions for Yandex Metrica (when the visit carries its
client id or a yclid) and GA4 (when it carries the `_ga` client id); every change is also an event for
CHATTRACK_EVENTS_URL. Each is one outbox item (tracking/models.OutboxItem with a DELIVERY_KINDS kind),
sent by integrations/ in batches. Items that must happen once per dialog (or per sale) have ids made from
the dialog's (and the sale's) id, so a tag pressed twice, or removed and set again, converts once; the
store keeps the first item of an id.

What a delivery sends is read when it is sent (the dialog as stored then, the sale's amount then). A sale
recorded without its amount (tapped «Продажа»: the bot asks for it) waits up to SALE_GRACE for it; naming
the amount brings its waiting deliveries forward (Store.update_sale).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from tracking.models import EVENT_OUT, GA4, METRICA, Dialog, EventType, Goal, OutboxItem, Sale
from tracking.settings import Settings

QUALIFIED_TAG = "qualified"
SALE_TAG = "sale"
SALE_GRACE = timedelta(minutes=5)  # a sale's conversions and event wait this long for its amount


def sale_due(sale: Sale, now: datetime) -> datetime:
    """When a sale's deliveries go: at once with its amount, else after SALE_GRACE (or when it is named)."""
    return now if sale.amount is not None else now + SALE_GRACE


def _item(
    item_id: str,
    kind: str,
    dialog: Dialog,
    now: datetime,
    *,
    due: datetime | None = None,
    goal: Goal | None = None,
    event: EventType | None = None,
    sale_id: str | None = None,
    happened_at: datetime | None = None,
    data: dict[str, Any] | None = None,
) -> OutboxItem:
    return OutboxItem(
        id=item_id,
        dialog_id=dialog.id,
        kind=kind,
        next_attempt_at=due or now,
        created_at=now,
        goal=goal,
        event=event,
        sale_id=sale_id,
        happened_at=happened_at or now,
        data=data or {},
    )


def _conversions(
    dialog: Dialog, goal: Goal, settings: Settings, now: datetime, *, sale: Sale | None = None
) -> list[OutboxItem]:
    """Metrica and GA4 items for one conversion, for the systems configured that can link it to the visit."""
    visit = dialog.visit
    if visit is None:  # no visit, no client id: nothing the ad systems could link
        return []
    suffix = f"{goal.value}:{dialog.id}" + (f":{sale.id}" if sale is not None else "")
    due = sale_due(sale, now) if sale is not None else now
    happened = sale.at if sale is not None else (dialog.started_at if goal is Goal.LEAD else now)
    linkable = (
        (METRICA, settings.metrica_enabled and bool(visit.ym_client_id or dialog.attribution.yclid)),
        (GA4, settings.ga4_enabled and bool(visit.ga_client_id)),
    )
    sale_id = sale.id if sale is not None else None
    return [
        _item(f"{kind}:{suffix}", kind, dialog, now, due=due, goal=goal, happened_at=happened, sale_id=sale_id)
        for kind, can_link in linkable
        if can_link
    ]


def _event(
    dialog: Dialog,
    event: EventType,
    settings: Settings,
    now: datetime,
    *,
    once: str | None = None,
    due: datetime | None = None,
    sale_id: str | None = None,
    data: dict[str, Any] | None = None,
) -> list[OutboxItem]:
    if not settings.events_enabled:
        return []
    item_id = f"{EVENT_OUT}:{event.value}:{once or uuid.uuid4().hex}"
    return [_item(item_id, EVENT_OUT, dialog, now, due=due, event=event, sale_id=sale_id, data=data)]


def for_new_dialog(dialog: Dialog, settings: Settings, now: datetime) -> list[OutboxItem]:
    """A new lead: Metrica's and GA4's lead conversion, and `dialog.created`."""
    return [
        *_conversions(dialog, Goal.LEAD, settings, now),
        *_event(dialog, EventType.DIALOG_CREATED, settings, now, once=dialog.id),
    ]


def for_tags(dialog: Dialog, tags: Sequence[str], settings: Settings, now: datetime) -> list[OutboxItem]:
    """The dialog's tags become `tags`: a qualified lead's conversions when "qualified" is added, and
    `dialog.tagged` with what was added and removed (nothing when nothing changed). A sale's deliveries come
    with the sale (for_sale): "sale" added alone makes no `dialog.tagged`, its `sale.recorded` tells it."""
    # An added "sale" is told by its own event, sale.recorded (Tracker.set_tags records the sale).
    added = [tag for tag in tags if tag not in dialog.tags and tag != SALE_TAG]
    removed = [tag for tag in dialog.tags if tag not in tags]
    if not added and not removed:
        return []
    items = _conversions(dialog, Goal.QUALIFIED, settings, now) if QUALIFIED_TAG in added else []
    data = {"added": added, "removed": removed, "tags": list(tags)}
    return [*items, *_event(dialog, EventType.DIALOG_TAGGED, settings, now, data=data)]


def for_sale(dialog: Dialog, sale: Sale, settings: Settings, now: datetime) -> list[OutboxItem]:
    """One more sale: Metrica's and GA4's sale conversion and `sale.recorded` (the amount is read when they
    are sent; without one yet they wait, see sale_due)."""
    return [
        *_conversions(dialog, Goal.SALE, settings, now, sale=sale),
        *_event(
            dialog,
            EventType.SALE_RECORDED,
            settings,
            now,
            once=sale.id,
            due=sale_due(sale, now),
            sale_id=sale.id,
        ),
    ]


def for_taken(dialog: Dialog, settings: Settings, now: datetime) -> list[OutboxItem]:
    """Someone took the lead (or an owner handed it over): `dialog.taken`."""
    data = {"taken_by": dialog.taken_by, "taken_by_name": dialog.taken_by_name}
    return _event(dialog, EventType.DIALOG_TAKEN, settings, now, data=data)
