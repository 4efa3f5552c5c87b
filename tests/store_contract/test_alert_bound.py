"""The per-contact bound on lead alerts, on every adapter: dialogs past three an hour are stored quietly."""

from __future__ import annotations

from datetime import timedelta

from tests.store_contract import at, queued_alerts
from tracking.codes import new_code
from tracking.limits import ALERTS_PER_CONTACT
from tracking.models import InboundMessage
from tracking.service import Tracker
from tracking.settings import load_settings
from tracking.store.base import Store

T0 = at("2026-03-01 10:00")


def whatsapp(minutes: float, contact: str = "+79161234567") -> InboundMessage:
    """A message from `contact` carrying a fresh well-formed code: each one opens a dialog of its own."""
    return InboundMessage(
        provider="twilio",
        message_id=f"SM{contact}{minutes}",
        business_number="+79991234567",
        contact_id=contact,
        contact_phone=contact,
        text=f"Здравствуйте (код {new_code()})",
        received_at=T0 + timedelta(minutes=minutes),
    )


async def test_a_contact_opening_dialog_after_dialog_rings_the_owner_three_times_an_hour(store: Store) -> None:
    tracker = Tracker(store, load_settings(telegram_owner_ids="111", tracked_numbers="+79991234567"))

    results = [await tracker.ingest(whatsapp(m)) for m in (0, 10, 20, 30, 40)]
    other = await tracker.ingest(whatsapp(45, contact="+79160000000"))
    after_a_quiet_hour = await tracker.ingest(whatsapp(40 + 61))

    assert [r.outcome.value for r in results] == ["new_dialog"] * 5  # every dialog is stored
    quiet = [r.dialog.alert_withheld for r in (*results, other, after_a_quiet_hour)]
    assert quiet == [False, False, False, True, True, False, False]
    stored = await store.get_dialog(results[3].dialog.id)
    assert stored is not None and stored.alert_withheld
    alerted = [r.dialog.id for r in (*results[:ALERTS_PER_CONTACT], other, after_a_quiet_hour)]
    # 0: the team, chosen when the alert is delivered
    assert await queued_alerts(store) == sorted((0, dialog_id) for dialog_id in alerted)
