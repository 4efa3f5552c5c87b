"""Every rendering of stored data is total: whatever the store holds (a click page "http://[", a 5,000
character name, control characters, bidi overrides, None where text is expected), the lead alert, its
buttons, its plain fallback, the dialog card, a /recent line and the reports render without raising,
stay within Telegram's 4096 characters after escaping, and show one-line fields on one line."""

from __future__ import annotations

import asyncio
import re
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bot.alerts import alert_keyboard, card_messages, plain_alert, render_alert
from bot.commands import recent_line
from reports.card import DialogCard, card_record
from reports.charts import dynamics_png
from reports.counts import Dynamics, Series, dynamics, ranking
from reports.export import dialogs_csv_bytes
from reports.periods import parse_period
from reports.render import (
    TELEGRAM_LIMIT,
    render_card,
    render_dynamics,
    render_ranking,
    split_message,
    telegram_length,
)
from tests.fakes.telegram_api import html_to_text
from tests.seed import MOSCOW, seed_dialog, utc
from tests.test_bot_alerts import make_dialog
from tracking.codes import new_code
from tracking.models import (
    Attribution,
    AttributionStatus,
    Channel,
    Click,
    Dialog,
    InboundMessage,
    Messenger,
    PageView,
    Visit,
)
from tracking.service import Tracker
from tracking.settings import load_settings
from tracking.store.base import Bucket
from tracking.store.sqlite import SQLiteStore
from tracking.strings import message_text, one_line

# What must never reach a one-line field as shown: line breaks, controls, bidi, zero-width, BOM.
FORGING = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200b-\u200f\u202a-\u202e\u2060\u2066-\u2069\u2028\u2029\ufeff]")
HOSTILE = (
    "http://[",
    "Анна\n🆕 Новый лид · WhatsApp\n📞 на номер +70000000000",
    "\u202eanna\u202c",
    "a\u200bb\u200dc\u2060d\ufeffe\u2066f\u2069\u200eg\u200fh\u061c",
    "&<>\"'" * 40,
    "\ud800lone surrogate",
    "$\\frac{1}{0}$",
    "",
)
# Any character at all, lone surrogates included, and the hostile pieces above; up to ~6,000 characters.
anything = st.text(st.characters(exclude_categories=()), max_size=40)
piece = st.one_of(st.sampled_from(HOSTILE), anything, st.builds(lambda s, n: s * n, anything, st.integers(1, 300)))
field = st.lists(piece, max_size=4).map("".join)
maybe = st.none() | field


def hostile_dialog(values: dict[str, Any]) -> Dialog:
    attribution = Attribution(channel=values["channel"], **values["attribution"])
    visit = None
    if values["with_visit"]:
        visit = Visit(
            code="K7Q2M3X",
            visitor_id=values["name"] or "v",
            first_seen=values["at"] - timedelta(minutes=5),
            last_seen=values["at"],
            attribution=attribution,
            current_page=values["attribution"]["contact_page"],
        )
    return make_dialog(
        contact_name=values["name"],
        contact_phone=values["phone"],
        contact_id=values["contact_id"],
        business_number=values["number"],
        messenger=values["messenger"],
        code=values["code"],
        status=values["status"],
        status_reason=values["reason"],
        first_message=values["message"],
        tags=values["tags"],
        attribution=attribution,
        visit=visit,
        started_at=values["at"],
        last_message_at=values["at"],
    )


# Every text field of a visit's attribution: any of them may carry what a visitor wrote.
ATTRIBUTION_TEXT = [name for name, field in Attribution.model_fields.items() if field.annotation == str | None]

dialogs = st.fixed_dictionaries(
    {
        "name": maybe,
        "phone": maybe,
        "contact_id": field | st.sampled_from(["tg:" + "9" * 5000, "tg:²", "tg:777", "+79161234567"]),
        "number": field,
        "messenger": st.sampled_from(Messenger),
        "code": maybe,
        "status": st.sampled_from(AttributionStatus),
        "reason": maybe,
        "message": field,
        "tags": st.lists(field, max_size=4),
        "channel": st.sampled_from(Channel),
        "attribution": st.fixed_dictionaries({name: maybe for name in ATTRIBUTION_TEXT}),
        "with_visit": st.booleans(),
        "at": st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.just(UTC)),
    }
).map(hostile_dialog)


def one_line_fields(dialog: Dialog) -> list[str]:
    a = dialog.attribution
    values = [dialog.contact_name, dialog.contact_phone, dialog.business_number, dialog.status_reason, *dialog.tags]
    values += [getattr(a, name) for name in ATTRIBUTION_TEXT]
    return [one_line(v) for v in values if one_line(v)]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(dialog=dialogs, lang=st.sampled_from(["ru", "en"]))
def test_every_dialog_renders_within_telegrams_limit(dialog: Dialog, lang: str) -> None:
    alert = render_alert(dialog, lang, MOSCOW)
    assert telegram_length(alert) <= TELEGRAM_LIMIT  # the markup as sent, not only the text shown
    shown = html_to_text(alert)  # Telegram accepts it: every tag closed, every & < > escaped
    lines = shown.split("\n")
    message_lines = 1 + message_text(dialog.first_message).count("\n")
    # Nothing from outside adds a line: the customer's message is the only multi-line part.
    assert len(lines) <= 16 + message_lines
    one_line_parts = lines[:3] + lines[3 + message_lines :]
    assert not any(FORGING.search(line) for line in one_line_parts)

    keyboard = alert_keyboard(dialog, lang, tags=("qualified", "sale", "spam", *dialog.tags))
    for row in keyboard.inline_keyboard:
        for button in row:
            assert button.callback_data is not None and len(button.callback_data.encode()) <= 64
            assert not FORGING.search(button.text)

    plain = plain_alert(dialog, lang)
    assert 0 < telegram_length(plain) <= 1024 and not FORGING.search(plain.replace("\n", " "))
    assert dialog.id in plain

    card = render_card(DialogCard(dialog, [dialog, dialog], MOSCOW), "ru" if lang == "ru" else "en")
    for part in split_message(card):
        assert telegram_length(part) <= TELEGRAM_LIMIT
        html_to_text(part)
    record = card_record(dialog, MOSCOW)
    for name in ("contact_name", "contact_phone", "source", "campaign", "landing_page", "contact_page", "tags"):
        assert not FORGING.search(str(record[name] or "")), name

    line = recent_line(8, dialog, "ru" if lang == "ru" else "en", MOSCOW)
    assert telegram_length(line) <= 400 and "\n" not in html_to_text(line)


def test_a_malformed_page_address_renders_as_it_was_stored() -> None:
    dialog = make_dialog(attribution=Attribution(contact_page="http://[", landing_page="https://[::1/x"))
    shown = html_to_text(render_alert(dialog, "ru"))
    assert "Написали со страницы: http://[" in shown and "Вход на сайт: https://[::1/x" in shown


def test_a_telegram_id_too_long_for_a_number_is_no_mention_link() -> None:
    alert = render_alert(make_dialog(contact_id="tg:" + "9" * 5000, contact_phone=None), "ru")
    assert "tg://user" not in alert and "Анна" in html_to_text(alert)


def test_lines_cannot_be_forged_by_a_name_or_a_campaign() -> None:
    plain = make_dialog()
    forged = make_dialog(
        contact_name="Анна\n🆕 Новый лид · WhatsApp\u2028📞 на номер +70000000000\u202e",
        attribution=plain.attribution.model_copy(
            update={
                "campaign": "winter\r\nsale\u200b",
                "source": "yan\u2066dex",
                "contact_page": "https://shop.example/\n",
            }
        ),
        tags=["VIP\nпродажа"],
    )
    expected = html_to_text(render_alert(plain, "ru")).split("\n")
    got = html_to_text(render_alert(forged, "ru")).split("\n")
    assert len(got) == len(expected)
    assert got[1] == "👤 Анна 🆕 Новый лид · WhatsApp 📞 на номер +70000000000 · +7 916 123-45-67"
    assert "🎯 Кампания: winter sale" in got and "🌐 Источник: Яндекс · оплата за клик" in got
    card = html_to_text(render_card(DialogCard(forged, [], MOSCOW), "ru"))
    assert "Кампания: winter sale" in card.split("\n") and not FORGING.search(card.replace("\n", " "))
    assert "VIP продажа" in card


async def test_reports_show_stored_values_on_one_line(store: SQLiteStore) -> None:
    at = utc("2026-11-27 10:00")
    await seed_dialog(store, at, campaign="spring\n1. fake row — 999\u202e", contact_page="http://[")
    await seed_dialog(store, at + timedelta(minutes=1), campaign="x" * 5000)
    period = parse_period("2026-11-27", MOSCOW, datetime(2026, 11, 28, tzinfo=ZoneInfo("UTC")))
    for by in ("campaign", "contact_page"):
        text = render_ranking(await ranking(store, period, by), "ru")
        shown = html_to_text(text)
        assert len(shown.split("\n")) == 4, shown  # title, two rows, the total: no forged row
        assert not FORGING.search(shown.replace("\n", " "))
        assert telegram_length(text) < 1000


# through the store: whatever a visit, a click and a message leave there renders everywhere -----------------

NASTY_URLS = (
    "http://[",
    "https://[::1/x",
    "http://a:99999/",
    "https://shop.example/?utm_source=%ff%fe&utm_campaign=\u202eelas\u202c&utm_term=a\nb",
    "javascript:alert(1)",
    "https://shop.example/" + "&" * 3000,
    "",
)
# What a store can hold: no lone surrogates (neither SQLite nor BSON encodes them; every edge's JSON parser
# refuses them, and ingest drops them).
storable = field.map(lambda s: "".join(c for c in s if not "\ud800" <= c <= "\udfff"))
url = st.one_of(st.sampled_from(NASTY_URLS), storable)


async def _through_the_store(directory: Path, visit: dict[str, str], name: str | None, page: str, lang: str) -> None:
    store = SQLiteStore(directory / "chattrack.db")
    await store.open()
    try:
        tracker = Tracker(store, load_settings(telegram_owner_ids="111", tracked_numbers="+79991234567"))
        now = datetime.now(UTC)
        code = await tracker.record_view(PageView(code=new_code(), visitor_id="v", at=now, **visit))
        assert await store.record_click(Click(code=code, page=page, target="+79991234567", at=now), "v")
        message = InboundMessage(
            provider="twilio",
            message_id="SM1",
            business_number="+79991234567",
            contact_id="+79161234567",
            contact_name=name,
            # The code leads: a text longer than a message may be is cut at its end, as a real one would be.
            text=f"(код {code}) {name or ''}",
            received_at=now,
        )
        dialog = (await tracker.ingest(message)).dialog
        assert dialog.code == code

        alert = render_alert(dialog, lang, MOSCOW)
        assert telegram_length(alert) <= TELEGRAM_LIMIT
        html_to_text(alert)
        alert_keyboard(dialog, lang)
        plain_alert(dialog, lang)
        card = await card_messages(store, dialog.id, lang, MOSCOW)
        assert card is not None
        for part in card:
            assert telegram_length(part) <= TELEGRAM_LIMIT
            html_to_text(part)
        period = parse_period("today", MOSCOW, now + timedelta(minutes=1))  # a running period ends at "now"
        for by in ("source", "medium", "campaign", "content", "term", "landing_page", "contact_page", "region"):
            html_to_text(render_ranking(await ranking(store, period, by), "ru" if lang == "ru" else "en"))
            html_to_text(render_dynamics(await dynamics(store, period, Bucket.DAY, by=by), "en"))
        dynamics_png(await dynamics(store, period, Bucket.DAY, by="campaign"), "ru")
        csv_text = (await dialogs_csv_bytes(store, period, MOSCOW)).decode("utf-8-sig")
        assert len(csv_text.splitlines()) >= 2
        line = recent_line(1, dialog, "ru", MOSCOW)
        assert "\n" not in html_to_text(line)
    finally:
        await store.close()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    visit=st.fixed_dictionaries(
        {"url": url},
        optional={
            "referrer": url,
            "screen": storable,
            "language": storable,
            "timezone": storable,
            "user_agent": storable,
        },
    ),
    name=maybe,
    page=url,
    lang=st.sampled_from(["ru", "en"]),
)
@example(visit={"url": "http://["}, name="0" * 4088, page="http://[", lang="ru")  # a name as long as a message
def test_hostile_visits_clicks_and_messages_render_in_every_view(
    visit: dict[str, str], name: str | None, page: str, lang: str
) -> None:
    with tempfile.TemporaryDirectory() as directory:
        asyncio.run(_through_the_store(Path(directory), visit, name, page, lang))


def test_a_chart_legend_shows_any_value_as_text() -> None:
    period = parse_period("2026-11-27", MOSCOW, datetime(2026, 11, 28, tzinfo=UTC))
    values = ["$\\undefinedcommand$", "a$b", "line\nbreak\u202e"]
    series = [Series(value=v, points=[i + 1]) for i, v in enumerate(values)]
    report = Dynamics(
        period=period, bucket=Bucket.DAY, by="campaign", buckets=["2026-11-27"], series=series, totals=[6]
    )
    assert dynamics_png(report, "ru").startswith(b"\x89PNG")
