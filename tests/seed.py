"""Seeding dialogs for report tests: through `Store.add_message`, exactly as ingest writes them.

Each seeded dialog gets its own tracking code unless told otherwise, so two dialogs of one contact are
two dialogs (a message without a new code within the dialog gap would join the open one instead).
"""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from tracking.codes import new_code
from tracking.models import (
    Attribution,
    AttributionStatus,
    Channel,
    Dialog,
    InboundMessage,
    IngestOutcome,
    Messenger,
    Visit,
)
from tracking.periods import buckets_for
from tracking.store.base import NewDialog, Store

MOSCOW = ZoneInfo("Europe/Moscow")
BUSINESS = "+79991234567"
_serial = itertools.count(1)


def utc(text: str) -> datetime:
    """ "2026-11-27 10:00" read as UTC."""
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo("UTC"))


async def seed_dialog(
    store: Store,
    at: datetime,
    *,
    zone: ZoneInfo = MOSCOW,
    contact: str | None = None,
    name: str | None = None,
    business_number: str = BUSINESS,
    messenger: Messenger = Messenger.WHATSAPP,
    channel: Channel | str = Channel.DIRECT,
    status: AttributionStatus = AttributionStatus.EXACT,
    status_reason: str | None = None,
    code: str | None = "new",
    tags: list[str] | None = None,
    text: str = "Здравствуйте!",
    visit: Visit | None = None,
    **attribution: str | None,
) -> Dialog:
    """One new dialog started at `at` (UTC-aware). `contact` repeats make repeat dialogs."""
    serial = next(_serial)
    contact_id = contact or f"+7926{serial:07d}"  # never one of the tests' named +7916… contacts
    dialog_code = new_code() if code == "new" else code
    message = InboundMessage(
        provider="test",
        message_id=f"seed-{serial}",
        messenger=messenger,
        business_number=business_number,
        contact_id=contact_id,
        contact_phone=contact_id if contact_id.startswith("+") else None,
        contact_name=name,
        text=text,
        received_at=at,
    )
    draft = Dialog(
        id=f"{serial:032x}",
        provider="test",
        messenger=messenger,
        business_number=business_number,
        contact_id=contact_id,
        contact_phone=message.contact_phone,
        contact_name=name,
        started_at=at,
        last_message_at=at,
        is_repeat=False,
        buckets=buckets_for(at, zone),
        code=dialog_code,
        status=status,
        status_reason=status_reason,
        attribution=Attribution(channel=Channel(channel), **attribution),
        visit=visit,
        first_message=text,
    )
    result = await store.add_message(
        NewDialog(message=message, draft=draft, dialog_gap=timedelta(hours=72), alert_chats=[])
    )
    assert result.outcome is IngestOutcome.NEW_DIALOG, "seeded messages must open dialogs"
    if tags:
        tagged = await store.set_tags(result.dialog.id, tags)
        assert tagged is not None
        return tagged
    return result.dialog
