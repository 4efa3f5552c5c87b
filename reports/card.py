"""The dialog card: every field we know about one dialog, and the contact's earlier dialogs.

`card_record` is the one flat list of card fields (machine values) that the CSV export, the JSON API and
the Telegram card all read, so the three never disagree about what a dialog is.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from reports.i18n import WORDS, Lang, delivery_reason, moment_label, money, word
from tracking.codes import normalise_code
from tracking.models import DELIVERY_KINDS, DeliveryOutcome, Dialog, OutboxItem
from tracking.pages import page_label
from tracking.phones import normalise_phone
from tracking.store.base import Store
from tracking.strings import one_line
from tracking.team import ReplyWindows, reply_windows

HISTORY_LIMIT = 10
DELIVERIES_SHOWN = 10  # the card's latest conversions and events (the API lists them all)
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
    "sale_amount",  # last: the columns before it keep their places in the exports
)

CardValue = str | int | Decimal | None  # Decimal: money (sale_amount)
MAX_SALES_SHOWN = 5  # more sales read as their count and total


@dataclass(frozen=True)
class DialogCard:
    dialog: Dialog
    history: list[Dialog]  # the contact's earlier dialogs, newest first
    zone: ZoneInfo
    # (provider, number) → since when its replies are reported: tells "unanswered" from "unknown"
    windows: ReplyWindows = field(default_factory=dict)
    deliveries: list[OutboxItem] = field(default_factory=list)  # conversions and events, oldest first

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
        "sale_amount": sale_amount(dialog),
    }
    assert tuple(record) == CARD_FIELDS
    return record


def sale_amount(dialog: Dialog) -> Decimal | None:
    """What the dialog's sales brought (Dialog.revenue); None while no sale has a known amount."""
    return dialog.revenue if any(sale.amount is not None for sale in dialog.sales) else None


def sales_line(dialog: Dialog, lang: Lang) -> str | None:
    """«💰 Продажа: 12 000 ₽», «💰 Продажи: 12 000 ₽ + 3 000 ₽ = 15 000 ₽», «💰 Продажа: сумма не указана»
    (plain text: callers escape); None without sales."""
    parts = sales_parts(dialog, lang)
    return None if parts is None else f"💰 {parts[0]}: {parts[1]}"


def sales_parts(dialog: Dialog, lang: Lang) -> tuple[str, str] | None:
    """The sales line's label and amounts: («Продажи», «12 000 ₽ + 3 000 ₽ = 15 000 ₽»), («Продажи (7)»,
    «84 000 ₽»); None without sales. The total only when the sales share one currency."""
    sales = dialog.sales
    if not sales:
        return None
    label = word(lang, "sale_line_one" if len(sales) == 1 else "sale_line_many")
    currencies = {sale.currency for sale in sales}
    known = [sale.amount for sale in sales if sale.amount is not None]
    total = money(sum(known, Decimal(0)), sales[0].currency, lang) if known and len(currencies) == 1 else None
    if len(sales) > MAX_SALES_SHOWN and total is not None:
        return f"{label} ({len(sales)})", total
    parts = [word(lang, "sale_no_amount") if s.amount is None else money(s.amount, s.currency, lang) for s in sales]
    if len(sales) > MAX_SALES_SHOWN:  # several currencies: the last ones
        parts = ["…", *parts[-MAX_SALES_SHOWN:]]
    amounts = " + ".join(parts)
    return label, (amounts + f" = {total}" if len(sales) > 1 and total is not None else amounts)


async def dialog_card(
    store: Store, dialog: str | Dialog, zone: ZoneInfo, history_limit: int = HISTORY_LIMIT
) -> DialogCard | None:
    """The card of a dialog (by id, or one already loaded); None when there is no such dialog."""
    found = await store.get_dialog(dialog) if isinstance(dialog, str) else dialog
    if found is None:
        return None
    earlier, sources, deliveries = await asyncio.gather(
        store.find_dialogs(contact_id=found.contact_id, limit=history_limit + 1),
        store.reply_sources(),
        store.dialog_deliveries(found.id),
    )
    history = [d for d in earlier if d.id != found.id and d.started_at <= found.started_at][:history_limit]
    return DialogCard(found, history, zone, reply_windows(sources), deliveries)


def delivery_line(item: OutboxItem, lang: Lang, zone: ZoneInfo, now: datetime | None = None) -> str:
    """One conversion or event in the owner's words (plain text: callers escape): «Метрика: цель «Заявка»
    отправлена 12:03», «GA4: цель «Заявка» — ошибка: …», «Метрика: цель «Заявка» — не отправлено: визит
    старше 21 дня», «Метрика: цель «Заявка» — отправится 12:10». Times of another day carry their date."""
    system = WORDS[lang].get(f"delivery_system_{item.kind}", item.kind)
    subject, name = ("goal" if item.goal is not None else "event"), _delivery_name(item, lang)
    what = word(lang, f"delivery_what_{subject}").format(goal=name, event=name)
    if item.outcome is DeliveryOutcome.SENT:
        when = _when(item.sent_at or item.next_attempt_at, lang, zone, now)
        return word(lang, f"delivery_sent_{subject}").format(system=system, goal=name, event=name, time=when)
    reason = delivery_reason(lang, item.last_error)
    if item.outcome is DeliveryOutcome.REFUSED:
        return word(lang, "delivery_refused").format(system=system, what=what, reason=reason)
    if item.outcome is not None:  # too late, skipped
        return word(lang, "delivery_not_sent").format(system=system, what=what, reason=reason)
    when = _when(item.next_attempt_at, lang, zone, now)
    key = "delivery_waiting_after" if item.last_error else "delivery_waiting"
    return word(lang, key).format(system=system, what=what, time=when, reason=reason)


def delivery_lines(items: Sequence[OutboxItem], lang: Lang, zone: ZoneInfo, now: datetime | None = None) -> list[str]:
    """The card's block: what reached each system on one line («Метрика: отправлено — «Заявка» 12:03,
    «Продажа» 12:10»), then each item waiting, refused or not sent on a line of its own (the latest
    DELIVERIES_SHOWN of those)."""
    order = {kind: index for index, kind in enumerate(DELIVERY_KINDS)}
    sent: dict[str, list[str]] = {}
    pending: list[str] = []
    for item in items:
        if item.outcome is not DeliveryOutcome.SENT:
            pending.append(delivery_line(item, lang, zone, now))
            continue
        name = _delivery_name(item, lang)
        when = _when(item.sent_at or item.next_attempt_at, lang, zone, now)
        sent.setdefault(item.kind, []).append(word(lang, "delivery_sent_item").format(name=name, time=when))
    lines = [
        word(lang, "delivery_sent_list").format(
            system=WORDS[lang].get(f"delivery_system_{kind}", kind), items=", ".join(names)
        )
        for kind, names in sorted(sent.items(), key=lambda pair: order.get(pair[0], len(order)))
    ]
    return lines + pending[-DELIVERIES_SHOWN:]


def _delivery_name(item: OutboxItem, lang: Lang) -> str:
    """What went out, in the owner's words: the goal («Заявка») or the event («новый диалог»)."""
    if item.goal is not None:
        return word(lang, f"delivery_goal_{item.goal.value}")
    event = item.event.value if item.event is not None else ""
    return WORDS[lang].get(f"delivery_event_{event}", event)


def _when(moment: datetime, lang: Lang, zone: ZoneInfo, now: datetime | None) -> str:
    """«12:03» today, «3 ноя 2026, 12:03» another day."""
    local = moment.astimezone(zone)
    today = (now or datetime.now(UTC)).astimezone(zone).date()
    return f"{local:%H:%M}" if local.date() == today else moment_label(lang, moment, zone)


def delivery_record(item: OutboxItem, lang: Lang, zone: ZoneInfo) -> dict[str, str | int | None]:
    """A delivery in the API's card: machine values, and the line the owner reads (`text`, in `lang`)."""
    return {
        "kind": item.kind,
        "goal": item.goal.value if item.goal is not None else None,
        "event": item.event.value if item.event is not None else None,
        "sale_id": item.sale_id,
        "status": item.outcome.value if item.outcome is not None else "waiting",
        "done_at": item.sent_at.isoformat() if item.sent_at is not None else None,
        "next_attempt_at": item.next_attempt_at.isoformat() if item.outcome is None else None,
        "attempts": item.attempts,
        "note": item.last_error,
        "text": delivery_line(item, lang, zone),
    }


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
