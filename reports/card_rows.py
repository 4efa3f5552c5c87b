"""The dialog card's layout: which fields it shows, in which order, with which labels and which words.

One definition that both cards draw: the bot's Telegram card (reports/render.render_card) and the dashboard's
(dashboard/card_view.py), so the two never drift apart. Values are plain text on one line, not escaped: each
card escapes them for its own markup (and the bot shortens long ones to fit a message). Rows of fields we do
not know are left out, not shown empty.
"""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo

from reports.card import DialogCard, sales_parts, time_on_site
from reports.i18n import (
    BROWSERS,
    DEVICES,
    Lang,
    duration,
    field_label,
    medium_label,
    messenger_label,
    moment_label,
    phone_label,
    reason_label,
    region_label,
    response_time,
    source_label,
    tag_name,
    value_label,
    word,
)
from tracking.models import AnswerState, Dialog
from tracking.pages import page_label
from tracking.reasons import ReasonKind, parse_reason
from tracking.strings import one_line
from tracking.team import answer_state, response_seconds

VALUE_WIDTH = 80  # a phone, a code, a click id or a tag as shown
NAME_WIDTH = 100  # a contact's or a team member's name as shown; providers do not bound it

# Where the customer came from, in the order a person reads it.
ATTRIBUTION_ROWS = (
    "channel",
    "source",
    "medium",
    "campaign",
    "content",
    "term",
    "click_ids",
    "referrer",
    "landing_page",
    "contact_page",
    "pages_seen",
    "time_on_site",
    "region",
    "os",
    "browser",
    "device",
    "screen",
    "language",
)
# Every row under the card's head: the attribution, then what became of the lead.
CARD_ROWS = (*ATTRIBUTION_ROWS, "tags", "sales", "message_count", "taken_by", "answer_state")

# A medium that says nothing the source line has not: a direct visit's "(none)", a missing tag's "(not set)".
_SAID = frozenset({"", "(none)", "(not set)"})


@dataclass(frozen=True)
class CardRow:
    key: str  # a CARD_ROWS name (the dashboard adds a few of its own)
    label: str  # reports/i18n.field_label of the key; the sales row's own «Продажи (7)»
    value: str


@dataclass(frozen=True)
class CardHead:
    """Who wrote, to which number, when, and how the dialog was attributed."""

    name: str  # "" when not known
    phone: str  # «+7 916 111-22-33», "" when not known
    messenger: str  # «WhatsApp → +7 999 123-45-67»
    started: str
    customer: str  # «новый клиент» / «повторный клиент»
    withheld: str | None  # why no alert went out, when none did
    status: str  # «точно, по коду из ссылки»
    code: str  # the dialog's tracking code, "" without one
    reason: str | None  # why, when the reason says more than the status


@dataclass(frozen=True)
class HistoryLine:
    """One of the contact's earlier dialogs: when, the channel, its source and campaign («yandex · Весна»)."""

    id: str
    when: str
    channel: str
    source: str  # "" when the channel says it all


def card_head(card: DialogCard, lang: Lang) -> CardHead:
    d = card.dialog
    reason = parse_reason(d.status_reason)
    said = reason_label(lang, one_line(d.status_reason, 200))
    shown = said and (reason is None or reason.kind is not ReasonKind.CODE_UNKNOWN)  # that one the status says
    return CardHead(
        name=one_line(d.contact_name, NAME_WIDTH),
        phone=phone_label(one_line(d.contact_phone, VALUE_WIDTH)),
        messenger=f"{messenger_label(d)} → {phone_label(one_line(d.business_number, VALUE_WIDTH))}",
        started=moment_label(lang, d.started_at, card.zone),
        customer=word(lang, "customer_repeat" if d.is_repeat else "customer_new"),
        withheld=word(lang, "alert_withheld") if d.alert_withheld else None,
        status=word(lang, f"status_{d.status.value}"),
        code=one_line(d.code, VALUE_WIDTH),
        reason=said if shown else None,
    )


def card_rows(card: DialogCard, lang: Lang) -> list[CardRow]:
    """The card's rows in CARD_ROWS order, the unknown ones left out."""
    d, a = card.dialog, card.dialog.attribution
    clicks = (("gclid", a.gclid), ("yclid", a.yclid), ("fbclid", a.fbclid))
    click_ids = ", ".join(f"{k}={one_line(v, VALUE_WIDTH)}" for k, v in clicks if v)
    on_site = time_on_site(d)  # None without a visit
    values: dict[str, object] = {
        "channel": value_label(lang, "channel", a.channel.value),
        "source": source_label(lang, one_line(a.source)) if one_line(a.source) else None,
        "medium": medium_label(lang, one_line(a.medium)) if one_line(a.medium) not in _SAID else None,
        "campaign": a.campaign,
        "content": a.content,
        "term": a.term,
        "click_ids": click_ids,
        "referrer": page_label(a.referrer),  # decoded, without the query, like the pages
        "landing_page": page_label(a.landing_page),
        "contact_page": page_label(a.contact_page),
        "pages_seen": d.visit.pages_seen if d.visit is not None else None,
        "time_on_site": duration(lang, on_site) if on_site is not None else None,
        "region": region_label(lang, one_line(a.region)) if one_line(a.region) else None,
        "os": a.os,
        "browser": browser_label(lang, one_line(a.browser)),
        "device": DEVICES[lang].get(one_line(a.device), a.device),
        "screen": a.screen,
        "language": a.language,
        "tags": ", ".join(tag_words(lang, d)),
        "message_count": d.message_count,
        "taken_by": taken_by_label(lang, d, card.zone),
        "answer_state": answer_label(lang, card),
    }
    rows = []
    for key in CARD_ROWS:
        if key == "sales":  # its label says how many; the amounts are not one field's value
            if (sales := sales_parts(d, lang)) is not None:
                rows.append(CardRow(key, *sales))
        elif shown := one_line(values[key]):
            rows.append(CardRow(key, field_label(lang, key), shown))
    return rows


def tag_words(lang: Lang, dialog: Dialog) -> list[str]:
    return [tag_name(lang, one_line(tag, VALUE_WIDTH)) for tag in dialog.tags]


def browser_label(lang: Lang, browser: str) -> str:
    """ua-parser's family without "Mobile" (the device line says it), and its Russian name where it has one."""
    name = " ".join(part for part in browser.split() if part != "Mobile")
    return BROWSERS[lang].get(name, name)


def taken_by_label(lang: Lang, dialog: Dialog, zone: ZoneInfo) -> str | None:
    """«Мария, 3 ноя 2026, 12:03» once somebody took the lead."""
    if dialog.taken_at is None:
        return None
    who = one_line(dialog.taken_by_name, NAME_WIDTH) or "—"
    return f"{who}, {moment_label(lang, dialog.taken_at, zone)}"


def answer_label(lang: Lang, card: DialogCard) -> str:
    """Whether the business answered, how fast and who: «через 4 мин (Мария)», «нет ответа», «неизвестно»."""
    d = card.dialog
    state = answer_state(d, card.windows)
    if state is not AnswerState.ANSWERED:
        return word(lang, f"answer_{state.value}")
    answer = word(lang, "answer_after").format(time=response_time(lang, response_seconds(d)))
    if one_line(d.answered_by):
        answer += f" ({one_line(d.answered_by, NAME_WIDTH)})"
    return answer


def history_line(lang: Lang, earlier: Dialog, zone: ZoneInfo) -> HistoryLine:
    a = earlier.attribution
    shown = one_line(a.source) not in _SAID | {"(direct)"}  # the channel says «Прямые заходы»
    source_name = source_label(lang, one_line(a.source)) if shown else ""
    return HistoryLine(
        id=earlier.id,
        when=moment_label(lang, earlier.started_at, zone),
        channel=value_label(lang, "channel", a.channel.value),
        source=" · ".join(one_line(v, 40) for v in (source_name, a.campaign) if one_line(v)),
    )
