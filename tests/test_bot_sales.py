"""«Продажа» in the bot, through the local Bot API double: the amount asked and answered, every alert copy
redrawn with it, a wrong answer asked again, a repeat purchase from the card, untagging, a press in the team
group, and an answer that outlives a restart (the question carries its sale)."""

from __future__ import annotations

import itertools
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from aiogram.types import Message
from aiohttp import web

from bot.runtime import BotRuntime, setup_bot
from bot.sales import asked_sale
from tests.fakes.telegram_api import ApiCall, FakeTelegramAPI
from tests.test_bot_alerts import to_chat, user
from tests.test_outbox import OTHER_OWNER, OWNER, TOKEN, queue_lead
from tracking.models import Dialog
from tracking.settings import Settings
from tracking.store.sqlite import SQLiteStore

GROUP = -100500


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegramAPI]:
    async with FakeTelegramAPI() as api:
        yield api


@pytest.fixture
async def run_bot(
    store: SQLiteStore, fake: FakeTelegramAPI, make_settings: Callable[..., Settings]
) -> AsyncIterator[Callable[..., Any]]:
    """The bot alone in an aiohttp app on a real socket, long-polling the fake Bot API."""
    runners: list[web.AppRunner] = []

    async def run(owners: str = str(OWNER)) -> BotRuntime:
        settings = make_settings(telegram_bot_token=TOKEN, telegram_owner_ids=owners, telegram_api_url=fake.url)
        app = web.Application()
        runtime = setup_bot(app, settings, store)
        runner = web.AppRunner(app, shutdown_timeout=1)
        await runner.setup()
        runners.append(runner)
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        return runtime

    yield run
    for runner in runners:
        await runner.cleanup()


_ids = itertools.count(10_000)
OWNERS = f"{OWNER},{OTHER_OWNER}"


def press(fake: FakeTelegramAPI, user_id: int, data: str, message: dict[str, Any]) -> None:
    fake.push_update(
        {
            "callback_query": {
                "id": f"cq{next(_ids)}",
                "from": user(user_id, "ru", "Мария"),
                "chat_instance": "42",
                "data": data,
                "message": message,
            }
        }
    )


def say(fake: FakeTelegramAPI, user_id: int, words: str, *, chat_id: int | None = None, to: dict[str, Any]) -> None:
    """`user_id` answers the message `to` (a reply) with `words`."""
    chat = chat_id or user_id
    private = {"id": chat, "type": "private", "first_name": "Мария"}
    chat_obj = private if chat > 0 else {"id": chat, "type": "supergroup", "title": "Team"}
    fake.push_update(
        {
            "message": {
                "message_id": next(_ids),
                "date": int(time.time()),
                "chat": chat_obj,
                "from": user(user_id, "ru", "Мария"),
                "text": words,
                "reply_to_message": to,
            }
        }
    )


def question_to(chat_id: int) -> Callable[[ApiCall], bool]:
    def asks(c: ApiCall) -> bool:
        return c.ok and c.params.get("chat_id") == chat_id and "force_reply" in (c.params.get("reply_markup") or {})

    return asks


def edits_showing(words: str) -> Callable[[ApiCall], bool]:
    return lambda c: c.ok and words in str(c.params.get("text", ""))


async def stored(store: SQLiteStore, dialog: Dialog) -> Dialog:
    found = await store.get_dialog(dialog.id)
    assert found is not None
    return found


async def test_sale_asks_the_amount_and_every_alert_copy_shows_it(
    run_bot: Callable[..., Any], fake: FakeTelegramAPI, store: SQLiteStore
) -> None:
    dialog = await queue_lead(store, at=datetime.now(UTC), chats=(0,))  # the team: both owners
    await run_bot(OWNERS)
    alert = await fake.wait_for("sendMessage", to_chat(OWNER))
    await fake.wait_for("sendMessage", to_chat(OTHER_OWNER))

    press(fake, OWNER, f"tag:{dialog.id}:sale", alert.result)
    answer = await fake.wait_for("answerCallbackQuery")
    question = await fake.wait_for("sendMessage", question_to(OWNER))
    unpriced = await fake.wait_for("editMessageText", edits_showing("💰 Продажа: сумма не указана"), count=2)

    assert answer.params["text"] == "Продажа записана. Ответьте на вопрос суммой"
    assert question.params["text"].endswith("Сумма продажи? Ответьте числом, например 12 000")
    assert question.params["reply_markup"]["force_reply"] is True
    sale = (await stored(store, dialog)).sales[0]
    assert sale.amount is None and sale.by == OWNER and sale.by_name == "Мария"
    assert asked_sale_of(question) == (dialog.id, sale.id)
    assert unpriced.params["reply_markup"]["inline_keyboard"][0][1]["text"] == "✅ Продажа"

    say(fake, OWNER, "12к", to=question.result)
    saved = await fake.wait_for("sendMessage", lambda c: c.ok and "Записал" in c.params["text"])
    priced = edits_showing("12\u00a0000\u00a0₽")
    edited = [
        await fake.wait_for("editMessageText", lambda c, chat=chat: priced(c) and to_chat(chat)(c))  # type: ignore[misc]
        for chat in (OWNER, OTHER_OWNER)
    ]

    assert saved.params["text"] == "Записал. 💰 Продажа: 12\u00a0000\u00a0₽"
    assert all("💰 Продажа: 12\u00a0000\u00a0₽" in e.params["text"] for e in edited)
    assert (await stored(store, dialog)).sales[0].amount == Decimal(12000)


def asked_sale_of(question: ApiCall) -> tuple[str, str] | None:
    return asked_sale(Message.model_validate(question.result))


async def test_a_wrong_amount_is_explained_and_asked_again(
    run_bot: Callable[..., Any], fake: FakeTelegramAPI, store: SQLiteStore
) -> None:
    dialog = await queue_lead(store, at=datetime.now(UTC))
    await run_bot()
    alert = await fake.wait_for("sendMessage", to_chat(OWNER))
    press(fake, OWNER, f"tag:{dialog.id}:sale", alert.result)
    question = await fake.wait_for("sendMessage", question_to(OWNER))

    say(fake, OWNER, "двенадцать", to=question.result)
    again = await fake.wait_for("sendMessage", question_to(OWNER), count=2)
    say(fake, OWNER, "-500", to=question.result)  # the first question still answers
    negative = await fake.wait_for("sendMessage", question_to(OWNER), count=3)

    assert "Не похоже на сумму" in again.params["text"]
    assert "отрицательной" in negative.params["text"]
    assert asked_sale_of(again) == asked_sale_of(question)  # the new question is for the same sale
    assert (await stored(store, dialog)).sales[0].amount is None

    say(fake, OWNER, "12 000,50 ₽", to=again.result)
    await fake.wait_for("sendMessage", lambda c: c.ok and "Записал" in c.params["text"])
    assert (await stored(store, dialog)).sales[0].amount == Decimal("12000.50")


async def test_a_repeat_sale_from_the_card_and_untagging(
    run_bot: Callable[..., Any], fake: FakeTelegramAPI, store: SQLiteStore
) -> None:
    dialog = await queue_lead(store, at=datetime.now(UTC))
    await run_bot()
    alert = await fake.wait_for("sendMessage", to_chat(OWNER))
    press(fake, OWNER, f"tag:{dialog.id}:sale", alert.result)
    first = await fake.wait_for("sendMessage", question_to(OWNER))
    say(fake, OWNER, "12 000", to=first.result)
    await fake.wait_for("sendMessage", lambda c: c.ok and "Записал" in c.params["text"])

    # /dialog <phone>: the card shows the sale and offers the sale buttons
    fake.push_update(
        {
            "message": {
                "message_id": next(_ids),
                "date": int(time.time()),
                "chat": {"id": OWNER, "type": "private", "first_name": "Мария"},
                "from": user(OWNER, "ru", "Мария"),
                "text": f"/dialog {dialog.contact_phone}",
                "entities": [{"type": "bot_command", "offset": 0, "length": 7}],
            }
        }
    )
    card = await fake.wait_for(
        "sendMessage",
        lambda c: c.ok and "inline_keyboard" in (c.params.get("reply_markup") or {}) and "Карточка" in c.params["text"],
    )
    assert "💰 Продажа: 12\u00a0000\u00a0₽" in card.params["text"]
    buttons = [b for row in card.params["reply_markup"]["inline_keyboard"] for b in row]
    assert [b["text"] for b in buttons if b["callback_data"].startswith("sale:")] == ["✏️ Сумма", "➕ Ещё продажа"]

    press(fake, OWNER, f"sale:more:{dialog.id}", card.result)
    second = await fake.wait_for("sendMessage", question_to(OWNER), count=2)
    say(fake, OWNER, "3 000", to=second.result)
    both = "💰 Продажи: 12\u00a0000\u00a0₽ + 3\u00a0000\u00a0₽ = 15\u00a0000\u00a0₽"
    await fake.wait_for("editMessageText", edits_showing(both))
    assert [s.amount for s in (await stored(store, dialog)).sales] == [Decimal(12000), Decimal(3000)]

    # ✏️ Сумма changes the latest sale
    press(fake, OWNER, f"sale:amount:{dialog.id}", card.result)
    third = await fake.wait_for("sendMessage", question_to(OWNER), count=3)
    say(fake, OWNER, "3,5к", to=third.result)
    await fake.wait_for("editMessageText", edits_showing("= 15\u00a0500\u00a0₽"))

    # untagging removes the sales; an answer to an old question is told so
    press(fake, OWNER, f"tag:{dialog.id}:sale", alert.result)
    cleared = await fake.wait_for("editMessageText", lambda c: c.ok and "💰" not in c.params.get("text", "💰"))
    assert "✅" not in cleared.params["reply_markup"]["inline_keyboard"][0][1]["text"]
    after = await stored(store, dialog)
    assert after.sales == [] and "sale" not in after.tags
    say(fake, OWNER, "5000", to=first.result)
    gone = await fake.wait_for("sendMessage", lambda c: c.ok and "Этой продажи уже нет" in c.params["text"])
    assert gone.params["chat_id"] == OWNER


async def test_in_the_group_the_amount_is_asked_privately_else_in_the_group(
    run_bot: Callable[..., Any], fake: FakeTelegramAPI, store: SQLiteStore
) -> None:
    dialog = await queue_lead(store, at=datetime.now(UTC))
    await run_bot()
    alert = await fake.wait_for("sendMessage", to_chat(OWNER))
    in_group = {**alert.result, "chat": {"id": GROUP, "type": "supergroup", "title": "Team"}}

    press(fake, OWNER, f"tag:{dialog.id}:sale", in_group)
    private = await fake.wait_for("sendMessage", question_to(OWNER))
    told = await fake.wait_for("answerCallbackQuery")
    assert told.params["text"] == "Продажа записана. Сумму спросил в личном чате"
    assert private.params["reply_markup"].get("selective") in (None, False)

    # a second sale pressed by an owner the bot cannot write to privately: asked in the group, naming them
    fake.fail_next("sendMessage", status=403, when=lambda c: c.params.get("chat_id") == OWNER)
    press(fake, OWNER, f"sale:more:{dialog.id}", in_group)
    public = await fake.wait_for("sendMessage", question_to(GROUP))
    assert public.params["reply_markup"]["selective"] is True
    assert "Мария, сумма продажи?" in public.params["text"]
    mention = [e for e in public.params["entities"] if e["type"] == "text_mention"]
    assert mention and mention[0]["user"]["id"] == OWNER

    say(fake, OWNER, "$120", chat_id=GROUP, to=public.result)
    saved = await fake.wait_for("sendMessage", lambda c: c.ok and "Записал" in c.params["text"])
    assert saved.params["chat_id"] == GROUP
    sales = (await stored(store, dialog)).sales
    assert (sales[-1].amount, sales[-1].currency) == (Decimal(120), "USD")


async def test_an_answer_after_a_restart_finds_its_sale(
    run_bot: Callable[..., Any], fake: FakeTelegramAPI, store: SQLiteStore
) -> None:
    dialog = await queue_lead(store, at=datetime.now(UTC))
    runtime = await run_bot()
    alert = await fake.wait_for("sendMessage", to_chat(OWNER))
    press(fake, OWNER, f"tag:{dialog.id}:sale", alert.result)
    question = await fake.wait_for("sendMessage", question_to(OWNER))
    await runtime.close()  # nothing of the question is kept in memory

    await run_bot()
    say(fake, OWNER, "7 500", to=question.result)
    await fake.wait_for("sendMessage", lambda c: c.ok and "Записал" in c.params["text"])
    assert (await stored(store, dialog)).sales[0].amount == Decimal(7500)
