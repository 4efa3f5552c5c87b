"""One card layout (reports/card_rows.py): the bot's Telegram card and the dashboard's card show the same rows,
in the same order, with the same labels and words; the dashboard adds only its own extras."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from dashboard.card_view import card_view
from reports.card import DialogCard
from reports.card_rows import ATTRIBUTION_ROWS, CARD_ROWS, card_head, card_rows
from reports.i18n import Lang
from reports.render import render_card
from tests.fakes.telegram_api import html_to_text
from tests.seed import MOSCOW
from tracking.models import Attribution, AttributionStatus, Channel, Dialog, Messenger, Sale, TimeBuckets, Visit

NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def full_dialog() -> Dialog:
    """A dialog with every card field known (some needing words: medium, region, browser, device, tags)."""
    started = NOW - timedelta(hours=1)
    a = Attribution(
        channel=Channel.PAID_SEARCH,
        source="yandex",
        medium="cpc",
        campaign="Весна & <скидки>",
        content="баннер",
        term="купить диван",
        gclid="g1",
        yclid="y1",
        referrer="https://ya.ru/search?q=x",
        landing_page="https://shop.example/sale?utm_source=yandex",
        contact_page="https://shop.example/contacts",
        region="Москва, RU",
        os="Android",
        browser="Chrome Mobile",
        device="mobile",
        screen="412x915",
        language="ru-RU",
    )
    seen = started - timedelta(minutes=5)
    visit = Visit(code="7K3M9QX", visitor_id="v1", first_seen=seen, last_seen=seen, pages_seen=4, attribution=a)
    return Dialog(
        id="0" * 31 + "1",
        provider="twilio",
        messenger=Messenger.WHATSAPP,
        business_number="+79991234567",
        contact_id="+79161112233",
        contact_phone="+79161112233",
        contact_name="Анна",
        started_at=started,
        last_message_at=started + timedelta(minutes=20),
        is_repeat=True,
        buckets=TimeBuckets(day="2026-11-20", week="2026-W47", month="2026-11", quarter="2026-Q4"),
        code="7K3M9QX",
        status=AttributionStatus.EXACT,
        attribution=a,
        visit=visit,
        first_message="Здравствуйте",
        message_count=3,
        tags=["qualified", "опт"],
        taken_by=5,
        taken_by_name="Мария",
        taken_at=started + timedelta(minutes=2),
        answered_at=started + timedelta(minutes=4),
        answered_by="Мария",
        sales=[Sale(id="s1", amount=Decimal("12000"), currency="RUB", at=started, by=5, by_name="Мария")],
    )


@pytest.mark.parametrize("lang", ["ru", "en"])
def test_every_row_is_known_and_in_the_layouts_order(lang: Lang) -> None:
    rows = card_rows(DialogCard(full_dialog(), [], MOSCOW), lang)
    assert [row.key for row in rows] == list(CARD_ROWS)
    assert all(row.label and row.value for row in rows)


@pytest.mark.parametrize("lang", ["ru", "en"])
def test_the_bot_and_the_dashboard_show_the_same_rows_in_the_same_order(lang: Lang) -> None:
    card = DialogCard(full_dialog(), [], MOSCOW)
    rows = card_rows(card, lang)
    bot_lines = html_to_text(render_card(card, lang)).split("\n")
    start = next(i for i, line in enumerate(bot_lines) if line.startswith(rows[0].label + ": "))
    shown = [line.removeprefix("💰 ") for line in bot_lines[start : start + len(rows)]]
    assert shown == [f"{row.label}: {row.value}" for row in rows]  # the bot: every row, in order, nothing between

    view = card_view(card, lang, NOW)
    assert view.attribution == [row for row in rows if row.key in ATTRIBUTION_ROWS]
    assert [row.key for row in view.about] == [
        "message_count",
        "last_message",  # the dashboard's extras: the last message after the count, the ids at the end
        "taken_by",
        "answer_state",
        "id",  # the contact id is the phone here: not said twice
    ]
    assert [row for row in view.about if row.key in CARD_ROWS] == [
        row for row in rows if row.key in ("message_count", "taken_by", "answer_state")
    ]
    (sales,) = [row for row in rows if row.key == "sales"]
    (tags,) = [row for row in rows if row.key == "tags"]
    assert view.sales_total == f"{sales.label}: {sales.value}"
    assert ", ".join(view.tags) == tags.value


def test_the_head_reads_the_same_on_both() -> None:
    dialog = full_dialog().model_copy(update={"status_reason": "click-to-WhatsApp ad", "alert_withheld": True})
    card = DialogCard(dialog, [], MOSCOW)
    head, view = card_head(card, "ru"), card_view(card, "ru", NOW)
    text = html_to_text(render_card(card, "ru"))
    assert head.reason and head.withheld and head.code == "7K3M9QX"
    assert f"👤 {head.name} · {head.phone}" in text and f"💬 {head.messenger}" in text
    assert f"🕐 {head.started} · {head.customer}" in text and f"🔕 {head.withheld}" in text
    assert f": {head.status} {head.code} ({head.reason})" in text  # the bot says the code between the two
    assert (view.name, view.phone, view.messenger, view.started, view.customer, view.withheld, view.code) == (
        head.name,
        head.phone,
        head.messenger,
        head.started,
        head.customer,
        head.withheld,
        head.code,
    )
    assert view.status == f"{head.status} ({head.reason})"


def test_unknown_fields_are_left_out_of_both() -> None:
    bare = full_dialog().model_copy(
        update={"attribution": Attribution(), "visit": None, "tags": [], "sales": [], "taken_at": None}
    )
    card = DialogCard(bare, [], MOSCOW)
    keys = [row.key for row in card_rows(card, "en")]
    assert keys == ["channel", "message_count", "answer_state"]
    view = card_view(card, "en", NOW)
    assert [row.key for row in view.attribution] == ["channel"] and view.sales_total is None and view.tags == []
    text = html_to_text(render_card(card, "en"))
    assert "Source:" not in text and "Tags:" not in text and "Taken by:" not in text
