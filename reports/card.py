"""The dialog card: every field we know about one dialog, and the contact's earlier dialogs.

`card_record` is the one flat list of card fields (machine values) that the CSV export, the JSON API and
the Telegram card all read, so the three never disagree about what a dialog is.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from tracking.codes import normalise_code
from tracking.models import Dialog
from tracking.pages import page_label
from tracking.phones import normalise_phone
from tracking.store.base import Store
from tracking.strings import one_line
from tracking.team import ReplyWindows, reply_windows

HISTORY_LIMIT = 10
_DIALOG_ID = re.compile(r"^[0-9a-f]{32}$")

# The card's fields, in the order a person reads them. Keys are the CSV header and the JSON names.
CARD_FIELDS = (
    "id",
    "started",
    "contact_name",
    "contact_phone",
    "contact_id",
    "messenger",
    "business_number",
    "customer",
    "channel",
    "source",
    "medium",
    "campaign",
    "content",
    "term",
    "gclid",
    "yclid",
    "fbclid",
    "referrer",
    "landing_page",
    "contact_page",
    "pages_seen",
    "time_on_site_seconds",
    "region",
    "os",
    "browser",
    "device",
    "screen",
    "language",
    "tags",
    "status",
    "status_reason",
    "code",
    "first_message",
    "message_count",
    "last_message",
    "started_at_utc",
)

CardValue = str | int | None


@dataclass(frozen=True)
class DialogCard:
    dialog: Dialog
    history: list[Dialog]  # the contact's earlier dialogs, newest first
    zone: ZoneInfo
    # (provider, number) → since when its replies are reported: tells "unanswered" from "unknown"
    windows: ReplyWindows = field(default_factory=dict)

    @property
    def record(self) -> dict[str, CardValue]:
        return card_record(self.dialog, self.zone)


def local_time(moment: datetime, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M")


def time_on_site(dialog: Dialog) -> timedelta | None:
    """From the visit's first page view to the customer's first message (None without a visit)."""
    if dialog.visit is None:
        return None
    return max(dialog.started_at - dialog.visit.first_seen, timedelta(0))


def _one_line(value: str | None) -> str | None:
    return None if value is None else one_line(value)


def card_record(dialog: Dialog, zone: ZoneInfo) -> dict[str, CardValue]:
    """The card's fields; one-line fields (names, pages, UTM values, tags) on one line, as everywhere shown."""
    a = dialog.attribution
    on_site = time_on_site(dialog)
    record: dict[str, CardValue] = {
        "id": dialog.id,
        "started": local_time(dialog.started_at, zone),
        "contact_name": _one_line(dialog.contact_name),
        "contact_phone": _one_line(dialog.contact_phone),
        "contact_id": dialog.contact_id,
        "messenger": dialog.messenger.value,
        "business_number": _one_line(dialog.business_number),
        "customer": "repeat" if dialog.is_repeat else "new",
        "channel": a.channel.value,
        "source": _one_line(a.source),
        "medium": _one_line(a.medium),
        "campaign": _one_line(a.campaign),
        "content": _one_line(a.content),
        "term": _one_line(a.term),
        "gclid": _one_line(a.gclid),
        "yclid": _one_line(a.yclid),
        "fbclid": _one_line(a.fbclid),
        "referrer": _one_line(a.referrer),
        "landing_page": _one_line(page_label(a.landing_page)),  # decoded, host and path: as people read it
        "contact_page": _one_line(page_label(a.contact_page)),
        "pages_seen": dialog.visit.pages_seen if dialog.visit else None,
        "time_on_site_seconds": int(on_site.total_seconds()) if on_site is not None else None,
        "region": _one_line(a.region),
        "os": _one_line(a.os),
        "browser": _one_line(a.browser),
        "device": _one_line(a.device),
        "screen": _one_line(a.screen),
        "language": _one_line(a.language),
        "tags": ", ".join(one_line(tag) for tag in dialog.tags),
        "status": dialog.status.value,
        "status_reason": _one_line(dialog.status_reason),
        "code": dialog.code,
        "first_message": dialog.first_message,
        "message_count": dialog.message_count,
        "last_message": local_time(dialog.last_message_at, zone),
        "started_at_utc": dialog.started_at.isoformat(),
    }
    assert tuple(record) == CARD_FIELDS
    return record


async def dialog_card(
    store: Store, dialog: str | Dialog, zone: ZoneInfo, history_limit: int = HISTORY_LIMIT
) -> DialogCard | None:
    """The card of a dialog (by id, or one already loaded); None when there is no such dialog."""
    found = await store.get_dialog(dialog) if isinstance(dialog, str) else dialog
    if found is None:
        return None
    earlier, sources = await asyncio.gather(
        store.find_dialogs(contact_id=found.contact_id, limit=history_limit + 1), store.reply_sources()
    )
    history = [d for d in earlier if d.id != found.id and d.started_at <= found.started_at][:history_limit]
    return DialogCard(found, history, zone, reply_windows(sources))


async def find_dialogs(store: Store, query: str, default_region: str = "RU", limit: int = 20) -> list[Dialog]:
    """Dialogs a person means by `query`: a tracking code, a phone number, a contact id or a dialog id."""
    text = query.strip()
    if not text or len(text) > 64:
        return []
    if _DIALOG_ID.match(text):
        found = await store.get_dialog(text)
        if found is not None:
            return [found]
    code = normalise_code(text)
    if code is not None:
        by_code = await store.find_dialogs(code=code, limit=limit)
        if by_code:
            return by_code
    phone = normalise_phone(text, default_region)
    if phone is not None:
        by_phone = await store.find_dialogs(contact_id=phone, limit=limit)
        if by_phone:
            return by_phone
    return await store.find_dialogs(contact_id=text.lstrip("@"), limit=limit)
