"""A dialog's conversions and events on its card, in the owner's words (and in the API's card)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import pytest

from reports.card import delivery_line, delivery_lines, delivery_record, dialog_card
from reports.i18n import Lang
from reports.render import render_card
from tests.fakes.telegram_api import html_to_text
from tests.seed import seed_dialog
from tests.test_owner_language import latin_words
from tracking.models import EVENT_OUT, GA4, METRICA, DeliveryOutcome, EventType, Goal, OutboxItem

MOSCOW = ZoneInfo("Europe/Moscow")
NOW = datetime(2026, 11, 27, 9, 3, tzinfo=UTC)  # 12:03 in Moscow
TOKEN = "test-api-token"


def item(
    kind: str = METRICA,
    *,
    goal: Goal | None = Goal.LEAD,
    event: EventType | None = None,
    outcome: DeliveryOutcome | None = None,
    note: str | None = None,
    sent_at: datetime | None = None,
    due: datetime = NOW,
) -> OutboxItem:
    return OutboxItem(
        id=f"{kind}:x",
        dialog_id="d" * 32,
        kind=kind,
        next_attempt_at=due,
        created_at=NOW,
        goal=goal,
        event=event,
        outcome=outcome,
        last_error=note,
        sent_at=sent_at,
    )


CASES: list[tuple[OutboxItem, str, str]] = [
    (
        item(outcome=DeliveryOutcome.SENT, sent_at=NOW),
        "Метрика: цель «Заявка» отправлена 12:03",
        "Metrica: goal “Lead” sent 12:03",
    ),
    (
        item(outcome=DeliveryOutcome.SENT, sent_at=NOW - timedelta(days=2), goal=Goal.SALE),
        "Метрика: цель «Продажа» отправлена 25 ноя 2026, 12:03",
        "Metrica: goal “Sale” sent Nov 25, 2026, 12:03",
    ),
    (
        item(GA4, outcome=DeliveryOutcome.REFUSED, note="invalid_token"),
        "GA4: цель «Заявка» — ошибка: неверный токен",
        "GA4: goal “Lead” — error: wrong token",
    ),
    (
        item(outcome=DeliveryOutcome.REFUSED, note="rejected: Отсутствует обязательная колонка Target"),
        "Метрика: цель «Заявка» — ошибка: Отсутствует обязательная колонка Target",
        "Metrica: goal “Lead” — error: Отсутствует обязательная колонка Target",  # the system's own words
    ),
    (
        item(outcome=DeliveryOutcome.TOO_LATE, note="visit_too_old: 21", goal=Goal.QUALIFIED),
        "Метрика: цель «Целевая заявка» — не отправлено: визит старше 21 дня",
        "Metrica: goal “Qualified lead” — not sent: visit older than 21 days",
    ),
    (
        item(outcome=DeliveryOutcome.SKIPPED, note="sale_removed", goal=Goal.SALE),
        "Метрика: цель «Продажа» — не отправлено: продажа отменена",
        "Metrica: goal “Sale” — not sent: sale removed",
    ),
    (
        item(due=NOW + timedelta(minutes=7)),
        "Метрика: цель «Заявка» — отправится 12:10",
        "Metrica: goal “Lead” — goes 12:10",
    ),
    (
        item(due=NOW + timedelta(minutes=7), note="http_error: 503"),
        "Метрика: цель «Заявка» — отправится 12:10 (прошлая попытка: сервис ответил ошибкой 503)",
        "Metrica: goal “Lead” — goes 12:10 (last attempt: the service answered with error 503)",
    ),
    (
        item(EVENT_OUT, goal=None, event=EventType.DIALOG_TAKEN, outcome=DeliveryOutcome.SENT, sent_at=NOW),
        "Вебхук: событие «взят в работу» отправлено 12:03",
        "Webhook: event “taken” sent 12:03",
    ),
]


@pytest.mark.parametrize(("stored", "ru", "en"), CASES)
def test_each_state_reads_in_the_owners_words(stored: OutboxItem, ru: str, en: str) -> None:
    assert delivery_line(stored, "ru", MOSCOW, NOW) == ru
    assert delivery_line(stored, "en", MOSCOW, NOW) == en
    if "Отсутствует" not in ru:  # Metrica's own message is quoted as it came
        assert latin_words(ru) == []


@pytest.mark.parametrize(
    ("note", "lang", "expected"),
    [
        ("visit_too_old: 63", "ru", "визит старше 63 дней"),
        ("visit_too_old: 1", "en", "visit older than 1 day"),
        ("no_access", "ru", "у токена нет доступа к счётчику"),
        ("quota", "ru", "превышен лимит запросов"),
        ("connection_error: ClientConnectorError", "ru", "нет связи с сервисом"),  # the class name is for logs
        ("http_error: not JSON", "ru", "сервис ответил ошибкой"),
        ("error: RuntimeError: boom", "ru", "внутренняя ошибка, подробности в журнале сервера"),
        ("something new", "en", "something new"),  # a note the card has no words for reads as it is
    ],
)
def test_reasons(note: str, lang: Lang, expected: str) -> None:
    stored = item(outcome=DeliveryOutcome.REFUSED, note=note)
    assert delivery_line(stored, lang, MOSCOW, NOW).endswith(expected)


async def test_the_card_lists_the_dialogs_deliveries_and_the_api_card_has_them(
    start_server: Callable[..., Any], http: aiohttp.ClientSession
) -> None:
    server = await start_server(api_token=TOKEN)
    store = server.store
    dialog = await seed_dialog(store, NOW - timedelta(minutes=5))
    lead = item()
    lead = lead.model_copy(update={"id": f"{METRICA}:lead:{dialog.id}", "dialog_id": dialog.id})
    taken = item(EVENT_OUT, goal=None, event=EventType.DIALOG_TAKEN, due=NOW + timedelta(minutes=7))
    taken = taken.model_copy(
        update={"id": f"{EVENT_OUT}:taken:{dialog.id}", "dialog_id": dialog.id, "created_at": NOW + timedelta(1)}
    )
    assert await store.queue_deliveries([lead, taken]) == 2
    await store.delivery_done(lead.id, NOW, DeliveryOutcome.REFUSED, "invalid_token")

    card = await dialog_card(store, dialog.id, MOSCOW)
    assert card is not None
    text = html_to_text(render_card(card, "ru"))
    assert "Передача в другие системы" in text
    assert "Метрика: цель «Заявка» — ошибка: неверный токен" in text
    assert "Вебхук: событие «взят в работу» — отправится" in text

    async with http.get(
        f"{server.url}/api/dialogs/{dialog.id}", headers={"Authorization": f"Bearer {TOKEN}"}
    ) as response:
        assert response.status == 200
        body = await response.json()
    assert [(d["kind"], d["status"], d["note"]) for d in body["deliveries"]] == [
        (METRICA, "refused", "invalid_token"),
        (EVENT_OUT, "waiting", None),
    ]
    assert body["deliveries"][0]["text"] == "Метрика: цель «Заявка» — ошибка: неверный токен"
    assert body["deliveries"][0]["done_at"] == NOW.isoformat()
    assert body["deliveries"][1]["next_attempt_at"] == (NOW + timedelta(minutes=7)).isoformat()


def test_a_record_is_machine_values_and_the_line() -> None:
    record = delivery_record(item(outcome=DeliveryOutcome.SENT, sent_at=NOW), "en", MOSCOW)
    assert record["status"] == "sent" and record["goal"] == "lead" and record["next_attempt_at"] is None
    assert str(record["text"]).startswith("Metrica: goal “Lead” sent")


def test_the_cards_block_puts_what_reached_each_system_on_one_line_and_each_problem_on_its_own() -> None:
    later = NOW + timedelta(minutes=7)
    items = [
        item(EVENT_OUT, goal=None, event=EventType.DIALOG_CREATED, outcome=DeliveryOutcome.SENT, sent_at=NOW),
        item(GA4, outcome=DeliveryOutcome.SENT, sent_at=NOW),
        item(METRICA, outcome=DeliveryOutcome.SENT, sent_at=NOW),
        item(METRICA, goal=Goal.SALE, outcome=DeliveryOutcome.SENT, sent_at=later),
        item(GA4, goal=Goal.SALE, outcome=DeliveryOutcome.REFUSED, sent_at=later, note="http_error: 403"),
    ]

    assert delivery_lines(items, "ru", MOSCOW, NOW) == [
        "Метрика: отправлено — «Заявка» 12:03, «Продажа» 12:10",
        "GA4: отправлено — «Заявка» 12:03",
        "Вебхук: отправлено — «новый диалог» 12:03",
        "GA4: цель «Продажа» — ошибка: сервис ответил ошибкой 403",
    ]
    assert delivery_lines(items, "en", MOSCOW, NOW)[0] == "Metrica: sent — “Lead” 12:03, “Sale” 12:10"
