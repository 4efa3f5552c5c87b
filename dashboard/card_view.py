"""The dialog card and the list's rows as the page shows them: the bot's card (reports/render.render_card)
field by field, with the same labels and the same words (reports/i18n), as values for a template to escape.

Fields we do not know are left out, as in the bot. The page adds what a chat message leaves out for room: the
dialog's code, when the last message came, the contact's id where it is not the phone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from reports.card import DialogCard, delivery_lines, sales_line, time_on_site
from reports.i18n import (
    BROWSERS,
    DEVICES,
    Lang,
    duration,
    field_label,
    medium_label,
    messenger_label,
    moment_label,
    money,
    phone_label,
    reason_label,
    region_label,
    response_time,
    source_label,
    tag_name,
    value_label,
    word,
)
from tracking.models import AnswerState, Dialog, Sale
from tracking.pages import page_label
from tracking.reasons import ReasonKind, parse_reason
from tracking.strings import one_line
from tracking.team import answer_state, response_seconds

NAME_WIDTH = 100  # a contact's or a taker's name as shown (as the bot's card)
# A medium that says nothing the source line has not (as the bot's card): direct's "(none)", GA4's "(not set)".
_SAID = frozenset({"", "(none)", "(not set)"})


@dataclass(frozen=True)
class Row:
    label: str
    value: str


@dataclass(frozen=True)
class SaleView:
    id: str
    amount: str  # «12 000 ₽» or «сумма не указана»
    raw: str  # the amount as an input shows it (empty while not known)
    when: str
    by: str


@dataclass(frozen=True)
class HistoryItem:
    id: str
    when: str
    channel: str
    source: str  # «yandex · Весна» or ""


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
    attribution: list[Row]
    tags: list[str]  # the dialog's tags in words
    sales_total: str | None  # «Продажи: 12 000 ₽ + 3 000 ₽ = 15 000 ₽»
    sales: list[SaleView]
    about: list[Row]  # messages, the taker, the answer, the last message, the ids
    taken_by: int | None
    taker: str | None  # «Мария, 3 ноя 2026, 12:03»
    deliveries: list[str]
    first_message: str
    history: list[HistoryItem] = field(default_factory=list)


def _row(lang: Lang, name: str, value: object) -> Row | None:
    shown = one_line(value)
    return Row(field_label(lang, name), shown) if shown else None


def _rows(*rows: Row | None) -> list[Row]:
    return [row for row in rows if row is not None]


def browser_label(lang: Lang, browser: str) -> str:
    """ua-parser's family without "Mobile" (the device line says it), and its Russian name where it has one."""
    name = " ".join(part for part in browser.split() if part != "Mobile")
    return BROWSERS[lang].get(name, name)


def status_label(lang: Lang, dialog: Dialog) -> str:
    """How the dialog was attributed, and why when the reason says more than the status."""
    status = word(lang, f"status_{dialog.status.value}")
    reason = parse_reason(dialog.status_reason)
    said = reason_label(lang, one_line(dialog.status_reason, 200))
    if said and (reason is None or reason.kind is not ReasonKind.CODE_UNKNOWN):  # that one the status says
        status += f" ({said})"
    return status


def attribution_rows(lang: Lang, dialog: Dialog) -> list[Row]:
    a = dialog.attribution
    click_ids = ", ".join(
        f"{k}={one_line(v, 80)}" for k, v in (("gclid", a.gclid), ("yclid", a.yclid), ("fbclid", a.fbclid)) if v
    )
    on_site = time_on_site(dialog)
    visit = dialog.visit
    return _rows(
        Row(field_label(lang, "channel"), value_label(lang, "channel", a.channel.value)),
        _row(lang, "source", source_label(lang, one_line(a.source)) if one_line(a.source) else None),
        _row(lang, "medium", medium_label(lang, one_line(a.medium)) if one_line(a.medium) not in _SAID else None),
        _row(lang, "campaign", a.campaign),
        _row(lang, "content", a.content),
        _row(lang, "term", a.term),
        _row(lang, "click_ids", click_ids),
        _row(lang, "referrer", page_label(a.referrer)),
        _row(lang, "landing_page", page_label(a.landing_page)),
        _row(lang, "contact_page", page_label(a.contact_page)),
        _row(lang, "pages_seen", visit.pages_seen if visit is not None and on_site is not None else None),
        _row(lang, "time_on_site", duration(lang, on_site) if visit is not None and on_site is not None else None),
        _row(lang, "region", region_label(lang, one_line(a.region)) if one_line(a.region) else None),
        _row(lang, "os", a.os),
        _row(lang, "browser", browser_label(lang, one_line(a.browser))),
        _row(lang, "device", DEVICES[lang].get(one_line(a.device), a.device)),
        _row(lang, "screen", a.screen),
        _row(lang, "language", a.language),
    )


def taker_label(lang: Lang, dialog: Dialog, zone: ZoneInfo) -> str | None:
    """«Мария, 3 ноя 2026, 12:03» once somebody took the lead."""
    if dialog.taken_at is None:
        return None
    who = one_line(dialog.taken_by_name, NAME_WIDTH) or "—"
    return f"{who}, {moment_label(lang, dialog.taken_at, zone)}"


def answer_label(lang: Lang, card: DialogCard) -> str:
    d = card.dialog
    state = answer_state(d, card.windows)
    if state is not AnswerState.ANSWERED:
        return word(lang, f"answer_{state.value}")
    answer = word(lang, "answer_after").format(time=response_time(lang, response_seconds(d)))
    if one_line(d.answered_by):
        answer += f" ({one_line(d.answered_by, NAME_WIDTH)})"
    return answer


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
    phone = phone_label(one_line(d.contact_phone, 80))
    about = _rows(
        _row(lang, "message_count", d.message_count),
        _row(lang, "last_message", moment_label(lang, d.last_message_at, zone)),
        _row(lang, "taken_by", taker_label(lang, d, zone)),
        _row(lang, "answer_state", answer_label(lang, card)),
        _row(lang, "contact_id", d.contact_id if d.contact_id != d.contact_phone else None),
        _row(lang, "id", d.id),
    )
    total = sales_line(d, lang)
    return CardView(
        id=d.id,
        name=one_line(d.contact_name, NAME_WIDTH),
        phone=phone,
        messenger=f"{messenger_label(d)} → {phone_label(one_line(d.business_number, 80))}",
        started=moment_label(lang, d.started_at, zone),
        customer=word(lang, "customer_repeat" if d.is_repeat else "customer_new"),
        withheld=word(lang, "alert_withheld") if d.alert_withheld else None,
        status=status_label(lang, d),
        code=one_line(d.code, 80),
        attribution=attribution_rows(lang, d),
        tags=[tag_name(lang, one_line(tag, 80)) for tag in d.tags],
        sales_total=total.removeprefix("💰 ") if total else None,
        sales=[sale_view(lang, sale, zone) for sale in d.sales],
        about=about,
        taken_by=d.taken_by,
        taker=taker_label(lang, d, zone),
        deliveries=delivery_lines(card.deliveries, lang, zone, now),
        first_message=d.first_message,
        history=[history_item(lang, earlier, zone) for earlier in card.history],
    )


def history_item(lang: Lang, earlier: Dialog, zone: ZoneInfo) -> HistoryItem:
    """One earlier dialog of the contact, as the bot's card lists it: when, the channel, source and campaign."""
    a = earlier.attribution
    shown = one_line(a.source) not in _SAID | {"(direct)"}  # the channel says «Прямые заходы»
    source_name = source_label(lang, one_line(a.source)) if shown else ""
    return HistoryItem(
        id=earlier.id,
        when=moment_label(lang, earlier.started_at, zone),
        channel=value_label(lang, "channel", a.channel.value),
        source=" · ".join(one_line(v, 40) for v in (source_name, a.campaign) if one_line(v)),
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
    earlier = history_item(lang, dialog, zone)
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
        tags=[tag_name(lang, one_line(tag, 80)) for tag in dialog.tags],
        taker=one_line(dialog.taken_by_name, NAME_WIDTH),
        sales=total.removeprefix("💰 ") if total else None,
    )
