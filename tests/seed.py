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

A, B, C, F = "+79160000001", "+79160000002", "+79160000003", "+79160000006"
# Pages as dialogs store them: keys, host and path without tracking parameters (tracking/pages.py).
PRICE, CONTACTS = "shop.example/price", "shop.example/contacts"
HOME, SALE = "shop.example", "shop.example/sale"


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


async def seed_report_fixture(store: Store) -> dict[str, str]:
    """Twelve dialogs around the edges that matter; the comments give the Moscow time."""
    ids = {}
    plan = [
        ("d10", "2026-09-30 20:59", {"channel": "email", "source": "newsletter"}),  # Sep 30 23:59 → Q3
        ("d11", "2026-09-30 21:00", {}),  # Oct 1 00:00 → Q4
        ("d1", "2026-11-26 20:59", {"contact": A, "channel": "paid_search", "source": "google", "medium": "cpc",
                                    "campaign": "black friday", "landing_page": SALE, "contact_page": PRICE,
                                    "tags": ["qualified"]}),  # Nov 26 23:59
        ("d2", "2026-11-26 21:30", {"contact": B, "channel": "organic_search", "source": "yandex",
                                    "medium": "organic", "landing_page": HOME, "contact_page": PRICE}),  # Nov 27 00:30
        ("d3", "2026-11-27 10:00", {"contact": A, "channel": "paid_search", "source": "yandex", "medium": "cpc",
                                    "campaign": "brand", "landing_page": HOME, "contact_page": CONTACTS,
                                    "tags": ["qualified", "sale"]}),  # Nov 27 13:00, repeat
        ("d4", "2026-11-27 12:00", {"contact": C, "contact_page": PRICE, "tags": ["sale"]}),  # Nov 27 15:00
        ("d5", "2026-11-29 20:30", {"channel": "referral", "source": "vc.ru", "medium": "referral",
                                    "contact_page": CONTACTS}),  # Sun Nov 29 23:30, W48
        ("d6", "2026-11-29 21:30", {"channel": "paid_social", "source": "facebook", "medium": "paid",
                                    "campaign": "retarget", "contact_page": PRICE,
                                    "status": AttributionStatus.PROBABLE}),  # Mon Nov 30 00:30, W49
        ("d7", "2026-11-30 21:00", {"contact": B, "channel": "paid_search", "source": "google", "medium": "cpc",
                                    "campaign": "black friday"}),  # Dec 1 00:00, repeat
        ("d8", "2026-12-31 21:30", {"contact": F}),  # Jan 1 2027 00:30: 2026-W53, 2027-01, 2027-Q1
        ("d12", "2027-01-03 20:59", {}),  # Sun Jan 3 23:59: still 2026-W53
        ("d9", "2027-01-03 21:30", {"contact": F, "channel": "organic_search", "source": "google"}),  # 2027-W01
    ]  # fmt: skip
    for name, at, options in plan:
        dialog = await seed_dialog(store, utc(at), **options)  # type: ignore[arg-type]
        ids[name] = dialog.id
    return ids
