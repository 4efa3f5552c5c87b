"""The store contract: one suite that every `Store` adapter passes (tests/store_contract/conftest.py).

Builders here make messages and drafts the way `Tracker.ingest` does, so tests read as domain events.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from tracking.models import LEAD_ALERT, Attribution, AttributionStatus, Channel, Dialog, InboundMessage, PageView, Visit
from tracking.periods import buckets_for
from tracking.store.base import CountRow, NewDialog, Store

ZONE = ZoneInfo("Europe/Moscow")
NUMBER = "+79991234567"
OTHER_NUMBER = "+79997654321"
CONTACT = "+79161234567"
GAP = timedelta(hours=72)
MakeStore = Callable[[], Awaitable[Store]]  # opens one more store on the same database: another copy
FAR_FUTURE = datetime(2100, 1, 1, tzinfo=UTC)


def at(text: str) -> datetime:
    """'2026-03-01 10:00' in UTC."""
    return datetime.fromisoformat(text + "+00:00")


def message(
    received_at: datetime,
    *,
    message_id: str | None = None,
    contact: str = CONTACT,
    number: str = NUMBER,
    text: str = "Здравствуйте",
    provider: str = "twilio",
) -> InboundMessage:
    return InboundMessage(
        provider=provider,
        message_id=message_id or uuid.uuid4().hex,
        business_number=number,
        contact_id=contact,
        contact_phone=contact,
        contact_name="Анна",
        text=text,
        received_at=received_at,
    )


def new_dialog(
    msg: InboundMessage,
    *,
    code: str | None = None,
    status: AttributionStatus = AttributionStatus.NONE,
    channel: Channel = Channel.UNATTRIBUTED,
    source: str | None = None,
    campaign: str | None = None,
    tags: list[str] | None = None,
    chats: list[int] | None = None,
    gap: timedelta = GAP,
) -> NewDialog:
    """What `Tracker.ingest` hands the store for this message."""
    draft = Dialog(
        id=uuid.uuid4().hex,
        provider=msg.provider,
        messenger=msg.messenger,
        business_number=msg.business_number,
        contact_id=msg.contact_id,
        contact_phone=msg.contact_phone,
        contact_name=msg.contact_name,
        started_at=msg.received_at,
        last_message_at=msg.received_at,
        is_repeat=False,
        buckets=buckets_for(msg.received_at, ZONE),
        code=code,
        status=status,
        attribution=Attribution(channel=channel, source=source, campaign=campaign),
        first_message=msg.text,
        tags=tags or [],
    )
    return NewDialog(message=msg, draft=draft, dialog_gap=gap, alert_chats=[1] if chats is None else chats)


def page_view(code: str, visitor: str, url: str, when: datetime) -> PageView:
    return PageView(code=code, visitor_id=visitor, url=url, at=when)


def classified_visit(view: PageView) -> Visit:
    """A visit as versions before lazy attribution stored it: classified on its first page view."""
    return Visit(
        code=view.code,
        visitor_id=view.visitor_id,
        first_seen=view.at,
        last_seen=view.at,
        attribution=Attribution(channel=Channel.ORGANIC_SEARCH, source="google", landing_page=view.url),
        current_page=view.url,
    )


Row = tuple[tuple[tuple[str, str | None], ...], str | None, int, int, int]


def rows(counts: list[CountRow]) -> list[Row]:
    """Report rows in a canonical order (stores may return groups in any order)."""
    return sorted(
        ((tuple(sorted(r.key.items())), r.bucket, r.dialogs, r.new, r.repeat) for r in counts),
        key=lambda row: repr(row),
    )


def expect(*items: tuple[dict[str, str | None], str | None, int, int]) -> list[Row]:
    """Hand-computed rows: (key, bucket, new, repeat)."""
    return sorted(
        ((tuple(sorted(key.items())), bucket, new + repeat, new, repeat) for key, bucket, new, repeat in items),
        key=lambda row: repr(row),
    )


async def queued_alerts(store: Store) -> list[tuple[int, str]]:
    """(chat, dialog id) of every lead alert waiting in the outbox (take reminders left out); leases them, so
    call it last."""
    items = await store.claim_alerts(FAR_FUTURE, timedelta(minutes=1), limit=10_000)
    return sorted((item.chat_id, item.dialog_id) for item in items if item.kind == LEAD_ALERT)
