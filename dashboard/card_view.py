"""The dialog card and the list's rows as the page shows them, values for a template to escape.

The card's rows are the bot's (reports/card_rows.py: the same fields, order, labels and words); the page
groups them into its sections and adds what a chat message leaves out for room: when the last message came,
the contact's id where it is not the phone, the dialog's id.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from reports.card import DialogCard, delivery_lines, sales_line
from reports.card_rows import (
    ATTRIBUTION_ROWS,
    NAME_WIDTH,
    CardRow,
    HistoryLine,
    card_head,
    card_rows,
    history_line,
    tag_words,
    taken_by_label,
)
from reports.i18n import Lang, field_label, messenger_label, moment_label, money, phone_label, word
from tracking.models import Dialog, Sale
from tracking.strings import one_line

# The "about" section: these rows of the card, with the page's own extras after the row they follow.
ABOUT_ROWS = ("message_count", "taken_by", "answer_state")


@dataclass(frozen=True)
class SaleView:
    id: str
    amount: str  # «12 000 ₽» or «сумма не указана»
    raw: str  # the amount as an input shows it (empty while not known)
    when: str
    by: str


@dataclass(frozen=True)
class CardView:
    id: str
    name: str
    phone: str
    messenger: str  # «WhatsApp → +7 999 123-45-67»
    started: str
    customer: str
    withheld: str | None  # why no alert went out, when none did
    status: str  # «точно, по коду из ссылки (…)»
    code: str
    attribution: list[CardRow]
    tags: list[str]  # the dialog's tags in words
    sales_total: str | None  # «Продажи: 12 000 ₽ + 3 000 ₽ = 15 000 ₽»
    sales: list[SaleView]
    about: list[CardRow]  # messages, the taker, the answer, the last message, the ids
    taken_by: int | None
    taker: str | None  # «Мария, 3 ноя 2026, 12:03»
    deliveries: list[str]
    first_message: str
    history: list[HistoryLine] = field(default_factory=list)


def _extra(lang: Lang, key: str, value: object) -> list[CardRow]:
    """A row only the page shows, left out when not known (as the card's own rows)."""
    shown = one_line(value)
    return [CardRow(key, field_label(lang, key), shown)] if shown else []


def about_rows(card: DialogCard, lang: Lang, rows: list[CardRow]) -> list[CardRow]:
    """The card's rows on the lead, the last message's time after the count, then the contact's and dialog's ids."""
    d = card.dialog
    about: list[CardRow] = []
    for row in rows:
        if row.key in ABOUT_ROWS:
            about.append(row)
        if row.key == "message_count":
            about += _extra(lang, "last_message", moment_label(lang, d.last_message_at, card.zone))
    return [
        *about,
        *_extra(lang, "contact_id", d.contact_id if d.contact_id != d.contact_phone else None),
        *_extra(lang, "id", d.id),
    ]


def amount_text(amount: Decimal, lang: Lang) -> str:
    """An amount as a person types it into the field: «12000», «12000,50» (Russian), «12000.50»."""
    if amount == amount.to_integral_value():
        return str(int(amount))
    text = f"{amount:.2f}"
    return text.replace(".", ",") if lang == "ru" else text


def sale_view(lang: Lang, sale: Sale, zone: ZoneInfo) -> SaleView:
    return SaleView(
        id=sale.id,
        amount=word(lang, "sale_no_amount") if sale.amount is None else money(sale.amount, sale.currency, lang),
        raw="" if sale.amount is None else amount_text(sale.amount, lang),
        when=moment_label(lang, sale.at, zone),
        by=one_line(sale.by_name, NAME_WIDTH),
    )


def card_view(card: DialogCard, lang: Lang, now: datetime | None = None) -> CardView:
    d, zone = card.dialog, card.zone
    head, rows = card_head(card, lang), card_rows(card, lang)
    sales = [row for row in rows if row.key == "sales"]
    return CardView(
        id=d.id,
        name=head.name,
        phone=head.phone,
        messenger=head.messenger,
        started=head.started,
        customer=head.customer,
        withheld=head.withheld,
        status=head.status + (f" ({head.reason})" if head.reason else ""),
        code=head.code,
        attribution=[row for row in rows if row.key in ATTRIBUTION_ROWS],
        tags=tag_words(lang, d),
        sales_total=f"{sales[0].label}: {sales[0].value}" if sales else None,
        sales=[sale_view(lang, sale, zone) for sale in d.sales],
        about=about_rows(card, lang, rows),
        taken_by=d.taken_by,
        taker=taken_by_label(lang, d, zone),
        deliveries=delivery_lines(card.deliveries, lang, zone, now),
        first_message=d.first_message,
        history=[history_line(lang, earlier, zone) for earlier in card.history],
    )


@dataclass(frozen=True)
class ListRow:
    """A dialog in the list: when, who, where from, its tags, who took it and what it sold."""

    id: str
    when: str
    name: str
    phone: str
    messenger: str
    channel: str
    source: str
    customer: str
    tags: list[str]
    taker: str
    sales: str | None


def list_row(lang: Lang, dialog: Dialog, zone: ZoneInfo) -> ListRow:
    earlier = history_line(lang, dialog, zone)
    total = sales_line(dialog, lang)
    return ListRow(
        id=dialog.id,
        when=earlier.when,
        name=one_line(dialog.contact_name, NAME_WIDTH),
        phone=phone_label(one_line(dialog.contact_phone, 80)),
        messenger=messenger_label(dialog),
        channel=earlier.channel,
        source=earlier.source,
        customer=word(lang, "customer_repeat" if dialog.is_repeat else "customer_new"),
        tags=tag_words(lang, dialog),
        taker=one_line(dialog.taken_by_name, NAME_WIDTH),
        sales=total.removeprefix("💰 ") if total else None,
    )
