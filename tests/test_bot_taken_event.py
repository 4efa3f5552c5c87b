"""«Беру» and an owner's hand-over in the bot queue `dialog.taken` for CHATTRACK_EVENTS_URL (through
Tracker.take_dialog): once per new taker, never for a second press or a colleague who came too late."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from bot.outbox import AlertDispatcher
from bot.runtime import BotRuntime
from tests import test_bot_commands as bot_tests
from tests.test_bot_commands import NOW, OWNER, STAFF, BotAPI, Person, RunBot, add_staff, to_chat
from tests.test_bot_team import MOSCOW, PETR, answer_to, press
from tests.test_outbox import FakeClock
from tracking.models import Dialog, EventType, InboundMessage, OutboxItem
from tracking.service import Tracker
from tracking.settings import Settings
from tracking.store.sqlite import SQLiteStore

api, run_bot = bot_tests.api, bot_tests.run_bot  # the shared fixtures (the store is conftest's)
EVENTS = {"events_url": "https://crm.example/hooks/chattrack", "events_secret": "test-events-secret"}


async def taken_events(store: SQLiteStore, dialog: Dialog) -> list[OutboxItem]:
    return [d for d in await store.dialog_deliveries(dialog.id) if d.event is EventType.DIALOG_TAKEN]


async def lead_alerted(
    run_bot: RunBot, api: BotAPI, store: SQLiteStore, make_settings: Callable[..., Settings]
) -> tuple[Dialog, dict[int, dict[str, object]]]:
    """A lead from the Tracker with events on, its alert sent to the owner and two staff members."""
    await add_staff(store, STAFF, "Мария")
    await add_staff(store, PETR, "Пётр")
    clock = FakeClock(NOW)
    runtime: BotRuntime = await run_bot(clock=clock, **EVENTS)
    await runtime.alerts.stop()
    assert runtime.bot is not None
    tracker = Tracker(store, make_settings(**EVENTS))
    message = InboundMessage(
        provider="twilio",
        message_id=uuid.uuid4().hex,
        business_number="+79991234567",
        contact_id="+79161112233",
        contact_phone="+79161112233",
        text="Здравствуйте!",
        received_at=clock(),
    )
    dialog = (await tracker.ingest(message)).dialog
    await AlertDispatcher(store, runtime.bot, owner_ids=[OWNER], zone=MOSCOW, clock=clock).run_once()
    copies = {
        chat: next(c for c in api.sent_messages(chat) if f"take:{dialog.id}" in str(c.params.get("reply_markup")))
        for chat in (OWNER, STAFF, PETR)
    }
    return dialog, {chat: call.result for chat, call in copies.items()}


async def test_take_queues_one_dialog_taken_however_often_it_is_pressed(
    run_bot: RunBot, api: BotAPI, store: SQLiteStore, make_settings: Callable[..., Settings]
) -> None:
    dialog, copies = await lead_alerted(run_bot, api, store, make_settings)
    maria, petr = Person(api, STAFF, "ru", "Мария"), Person(api, PETR, "ru", "Пётр")
    assert await taken_events(store, dialog) == []

    await answer_to(api, press(api, maria.user, f"take:{dialog.id}", copies[STAFF]))
    await answer_to(api, press(api, maria.user, f"take:{dialog.id}", copies[STAFF]))  # her second press
    too_late = await answer_to(api, press(api, petr.user, f"take:{dialog.id}", copies[PETR]))

    assert too_late.params["text"] == "Заявку уже взял(а) Мария"
    [event] = await taken_events(store, dialog)
    assert event.data == {"taken_by": STAFF, "taken_by_name": "Мария"}
    assert event.outcome is None  # waiting for the delivery outbox


async def test_an_owner_handing_the_lead_over_queues_dialog_taken_for_the_new_taker(
    run_bot: RunBot, api: BotAPI, store: SQLiteStore, make_settings: Callable[..., Settings]
) -> None:
    dialog, copies = await lead_alerted(run_bot, api, store, make_settings)
    owner, maria = Person(api, OWNER, "ru", "Ирина"), Person(api, STAFF, "ru", "Мария")
    await answer_to(api, press(api, maria.user, f"take:{dialog.id}", copies[STAFF]))
    await api.wait_for("editMessageText", to_chat(OWNER))

    await answer_to(api, press(api, owner.user, f"pass:{dialog.id}", copies[OWNER]))
    question = await api.wait_for("sendMessage", lambda c: to_chat(OWNER)(c) and "Кому" in c.params["text"])
    choices = question.params["reply_markup"]["inline_keyboard"]
    to_petr = next(b["callback_data"] for row in choices for b in row if b["text"] == "Пётр")
    await answer_to(api, press(api, owner.user, to_petr, question.result))

    events = await taken_events(store, dialog)
    assert sorted((e.data["taken_by"], e.data["taken_by_name"]) for e in events) == [
        (STAFF, "Мария"),
        (PETR, "Пётр"),
    ]
