"""The team through the local Bot API: an owner and two staff members, a group with topics.

Leads come in through the Tracker (one outbox item for "the team"), the outbox is driven pass by pass
(`run_once`) on a fake clock, and people press the buttons of the copies they were sent.
"""

from __future__ import annotations

import itertools
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from aiogram import Bot

from bot.outbox import AlertDispatcher
from bot.runtime import BotRuntime
from tests import test_bot_commands as bot_tests
from tests.fakes.telegram_api import ApiCall
from tests.test_bot_commands import NOW, OWNER, STAFF, STRANGER, BotAPI, Person, RunBot, add_staff, shown, to_chat
from tests.test_outbox import FakeClock
from tracking.models import Dialog, InboundMessage
from tracking.service import Tracker
from tracking.settings import Settings
from tracking.store.base import TeamChat
from tracking.store.sqlite import SQLiteStore

api, run_bot = bot_tests.api, bot_tests.run_bot  # the shared fixtures (the store is conftest's)

PETR = 502
GROUP, TOPIC = -1001234567890, 7
MOSCOW = ZoneInfo("Europe/Moscow")
MINUTE = 60
_ids = itertools.count(50_000)


@dataclass
class Team:
    """The bot running with an owner and two staff members; the outbox driven by the test."""

    api: BotAPI
    store: SQLiteStore
    clock: FakeClock
    tracker: Tracker
    outbox: AlertDispatcher
    owner: Person
    maria: Person
    petr: Person

    async def lead(self, contact: str = "+79161112233", name: str = "Анна") -> Dialog:
        message = InboundMessage(
            provider="twilio",
            message_id=uuid.uuid4().hex,
            business_number="+79991234567",
            contact_id=contact,
            contact_phone=contact,
            contact_name=name,
            text="Здравствуйте, есть запись на завтра?",
            received_at=self.clock(),
        )
        return (await self.tracker.ingest(message)).dialog

    def alerts(self, chat_id: int, dialog: Dialog) -> list[ApiCall]:
        """The alert copies (reminders too) sent to a chat about a dialog, oldest first."""
        return [c for c in self.api.sent_messages(chat_id) if f"take:{dialog.id}" in str(c.params.get("reply_markup"))]

    def now_shows(self, call: ApiCall) -> dict[str, Any]:
        """A message the bot sent, as it is now (after edits)."""
        return self.api.messages[(call.params["chat_id"], call.result["message_id"])]


async def start_team(run_bot: RunBot, api: BotAPI, store: SQLiteStore, make_settings: Callable[..., Settings]) -> Team:
    await add_staff(store, STAFF, "Мария")
    await add_staff(store, PETR, "Пётр")
    clock = FakeClock(NOW)
    runtime: BotRuntime = await run_bot(clock=clock)
    await runtime.alerts.stop()  # the test sends the outbox pass by pass on its own clock
    assert runtime.bot is not None
    outbox = AlertDispatcher(store, runtime.bot, owner_ids=[OWNER], zone=MOSCOW, clock=clock)
    return Team(
        api,
        store,
        clock,
        Tracker(store, make_settings()),
        outbox,
        Person(api, OWNER, "ru", "Ирина"),
        Person(api, STAFF, "ru", "Мария"),
        Person(api, PETR, "ru", "Пётр"),
    )


def press(api: BotAPI, who: dict[str, Any], data: str, message: dict[str, Any]) -> str:
    """A button press; returns the callback query's id (its answer carries it)."""
    query_id = f"cq{next(_ids)}"
    api.push_update(
        {"callback_query": {"id": query_id, "from": who, "chat_instance": "7", "data": data, "message": message}}
    )
    return query_id


async def answer_to(api: BotAPI, query_id: str) -> ApiCall:
    return await api.wait_for("answerCallbackQuery", lambda c: c.params.get("callback_query_id") == query_id)


def in_group(api: BotAPI, who: dict[str, Any], text: str, thread: int | None = TOPIC) -> None:
    """A command sent in the team group (in its topic unless thread is None), as Telegram delivers it."""
    message: dict[str, Any] = {
        "message_id": next(_ids),
        "date": int(time.time()),
        "chat": {"id": GROUP, "type": "supergroup", "title": "Салон: заявки", "is_forum": True},
        "from": who,
        "text": text,
        "entities": [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}],
    }
    if thread is not None:
        message |= {"message_thread_id": thread, "is_topic_message": True}
    api.push_update({"update_id": next(_ids), "message": message})


def buttons(message: dict[str, Any]) -> list[str]:
    return [b["text"] for row in message.get("reply_markup", {}).get("inline_keyboard", []) for b in row]


# who gets the alert ------------------------------------------------------------------------------------


async def test_each_member_gets_one_alert_and_a_member_who_muted_alerts_gets_none(
    run_bot: RunBot, api: BotAPI, store: SQLiteStore, make_settings: Callable[..., Settings]
) -> None:
    team = await start_team(run_bot, api, store, make_settings)
    team.petr.says("/alerts")
    status = await team.petr.gets()
    off = status.params["reply_markup"]["inline_keyboard"][0][1]["callback_data"]
    muted_answer = await answer_to(api, press(api, team.petr.user, off, status.result))
    edited = await api.wait_for("editMessageText", to_chat(PETR))

    dialog = await team.lead()
    assert await team.outbox.run_once() == 1  # one outbox item for the whole team

    assert shown(status) == "🔔 Уведомления о новых заявках приходят вам в этот чат."
    assert [b["text"] for b in status.params["reply_markup"]["inline_keyboard"][0]] == [
        "✅ 🔔 Включить",
        "🔕 Выключить",
    ]
    assert muted_answer.params["text"] == "Уведомления выключены"
    assert shown(edited) == "🔕 Уведомления о новых заявках для вас выключены."
    assert await store.muted_users() == {PETR}
    assert [len(team.alerts(chat, dialog)) for chat in (OWNER, STAFF, PETR)] == [1, 1, 0]
    alert = team.alerts(STAFF, dialog)[0]
    assert "Новая заявка" in shown(alert) and buttons(alert.result)[-1] == "✋ Беру"
    copies = await store.dialog_alert_messages(dialog.id)
    assert sorted(chat for chat, _ in copies) == [OWNER, STAFF]
    # The menu offers /alerts to every member.
    menus = api.calls_to("setMyCommands", lambda c: c.params["scope"]["chat_id"] == STAFF)
    assert any("alerts" in [m["command"] for m in call.params["commands"]] for call in menus)


async def test_a_retry_after_a_restart_sends_the_alert_only_to_the_chats_still_missing_it(
    run_bot: RunBot, api: BotAPI, store: SQLiteStore, make_settings: Callable[..., Settings]
) -> None:
    team = await start_team(run_bot, api, store, make_settings)
    api.fail_next("sendMessage", status=500, when=lambda c: c.params.get("chat_id") == PETR)
    dialog = await team.lead()

    assert await team.outbox.run_once() == 0  # Пётр's send failed: the item waits
    team.clock.advance(MINUTE)
    bot = team.outbox.bot
    assert isinstance(bot, Bot)
    restarted = AlertDispatcher(store, bot, owner_ids=[OWNER], zone=MOSCOW, clock=team.clock)
    assert await restarted.run_once() == 1

    sends = [(c.params["chat_id"], c.status) for c in api.calls_to("sendMessage") if "Новая заявка" in c.params["text"]]
    assert sends == [(OWNER, 200), (STAFF, 200), (PETR, 500), (PETR, 200)]
    assert [len(team.alerts(chat, dialog)) for chat in (OWNER, STAFF, PETR)] == [1, 1, 1]


async def test_an_owner_who_never_started_the_bot_holds_no_one_else_and_a_member_who_blocked_it_is_left_out(
    run_bot: RunBot, api: BotAPI, store: SQLiteStore, make_settings: Callable[..., Settings]
) -> None:
    team = await start_team(run_bot, api, store, make_settings)
    api.fail_next("sendMessage", status=400, when=lambda c: c.params.get("chat_id") == OWNER)  # chat not found
    blocked = "Forbidden: bot was blocked by the user"
    api.fail_next("sendMessage", 2, status=403, description=blocked, when=lambda c: c.params.get("chat_id") == PETR)
    dialog = await team.lead()

    assert await team.outbox.run_once() == 0  # the owner's copy is still owed
    team.clock.advance(300)  # the owner starts the bot meanwhile
    assert await team.outbox.run_once() == 1

    sends = [(c.params["chat_id"], c.status) for c in api.calls_to("sendMessage") if "Новая заявка" in c.params["text"]]
    assert sends == [(OWNER, 400), (STAFF, 200), (PETR, 403), (OWNER, 200), (PETR, 403)]
    assert [len(team.alerts(chat, dialog)) for chat in (OWNER, STAFF, PETR)] == [1, 1, 0]
    team.clock.advance(300)  # still before the take reminder
    assert await team.outbox.run_once() == 0  # done: Пётр's block holds nothing
    assert len(api.calls_to("sendMessage")) == len(sends)


async def test_alerts_go_to_the_groups_topic_and_only_members_can_press_there(
    run_bot: RunBot, api: BotAPI, store: SQLiteStore, make_settings: Callable[..., Settings]
) -> None:
    team = await start_team(run_bot, api, store, make_settings)
    api.forums[GROUP] = {TOPIC}
    in_group(api, team.maria.user, "/team@chattrack_test_bot")
    refused = await api.wait_for("sendMessage", to_chat(GROUP))
    in_group(api, team.owner.user, "/team@chattrack_test_bot")
    done = await api.wait_for("sendMessage", to_chat(GROUP), count=2)

    dialog = await team.lead()
    assert await team.outbox.run_once() == 1
    [alert] = team.alerts(GROUP, dialog)
    stranger = {"id": STRANGER, "is_bot": False, "first_name": "Прохожий", "language_code": "ru"}
    stranger_answer = await answer_to(api, press(api, stranger, f"take:{dialog.id}", alert.result))
    untouched = await store.get_dialog(dialog.id)
    team.clock.advance(3 * MINUTE)
    taken_answer = await answer_to(api, press(api, team.maria.user, f"take:{dialog.id}", alert.result))
    await api.wait_for("editMessageText", to_chat(GROUP))

    assert shown(refused) == "Направить уведомления в группу может только владелец."
    assert done.params["message_thread_id"] == TOPIC
    assert shown(done).startswith("👥 Готово: уведомления о новых заявках теперь приходят в эту тему.")
    assert await store.team_chat() == TeamChat(
        chat_id=GROUP, thread_id=TOPIC, title="Салон: заявки", set_by=OWNER, set_at=NOW
    )
    assert alert.params["message_thread_id"] == TOPIC and alert.result["is_topic_message"] is True
    assert [len(team.alerts(chat, dialog)) for chat in (OWNER, STAFF, PETR)] == [0, 0, 0]  # reports stay private
    assert stranger_answer.params == {
        "callback_query_id": stranger_answer.params["callback_query_id"],
        "text": "Эта кнопка только для сотрудников компании",
        "show_alert": True,
    }
    assert untouched is not None and untouched.taken_by is None
    assert taken_answer.params["text"] == "Заявка ваша"
    now = team.now_shows(alert)
    assert now["text"].endswith("✋ Взял(а) Мария, 12:03")
    assert "✋ Беру" not in buttons(now) and "🔁 Передать" in buttons(now)  # owners read the group

    # Back to private chats with the button under the confirmation.
    back = done.params["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    await answer_to(api, press(api, team.owner.user, back, done.result))
    second = await team.lead(contact="+79162223344", name="Борис")
    assert await team.outbox.run_once() == 1
    assert await store.team_chat() is None
    assert [len(team.alerts(chat, second)) for chat in (GROUP, OWNER, STAFF, PETR)] == [0, 1, 1, 1]


async def test_the_bot_removed_from_the_group_sends_alerts_to_private_chats_again(
    run_bot: RunBot, api: BotAPI, store: SQLiteStore, make_settings: Callable[..., Settings]
) -> None:
    team = await start_team(run_bot, api, store, make_settings)
    await store.set_team_chat(TeamChat(chat_id=GROUP, title="Салон: заявки", set_by=OWNER, set_at=NOW))
    kicked = "Forbidden: bot was kicked from the supergroup chat"
    api.fail_next("sendMessage", status=403, description=kicked, when=lambda c: c.params.get("chat_id") == GROUP)
    dialog = await team.lead()

    assert await team.outbox.run_once() == 1  # the group refused; the same pass sends it again, privately

    told = [shown(c) for c in api.sent_messages(OWNER) if "группу" in c.params["text"]]
    assert told == ["Бот больше не может писать в группу «Салон: заявки»: уведомления снова приходят в личные чаты."]
    assert await store.team_chat() is None
    assert [len(team.alerts(chat, dialog)) for chat in (OWNER, STAFF, PETR)] == [1, 1, 1]


async def test_an_upgraded_group_is_followed_and_a_deleted_topic_gets_alerts_in_the_general_chat(
    run_bot: RunBot, api: BotAPI, store: SQLiteStore, make_settings: Callable[..., Settings]
) -> None:
    team = await start_team(run_bot, api, store, make_settings)
    old_group, upgraded = -4001234567, GROUP
    await store.set_team_chat(TeamChat(chat_id=old_group, title="Салон", set_by=OWNER, set_at=NOW))
    api.fail_next(
        "sendMessage",
        status=400,
        description="Bad Request: group chat was upgraded to a supergroup chat",
        migrate_to_chat_id=upgraded,
    )
    first = await team.lead()
    assert await team.outbox.run_once() == 1
    moved = await store.team_chat()
    # The owner then set a topic that was deleted since: the group's general chat gets the alert.
    api.forums[GROUP] = set()
    await store.set_team_chat(TeamChat(chat_id=GROUP, thread_id=TOPIC, title="Салон", set_by=OWNER, set_at=NOW))
    second = await team.lead(contact="+79162223344", name="Борис")
    assert await team.outbox.run_once() == 1

    assert moved is not None and moved.chat_id == upgraded
    assert len(team.alerts(upgraded, first)) == 1 and team.alerts(old_group, first) == []
    [general] = team.alerts(GROUP, second)
    assert "message_thread_id" not in general.params and "is_topic_message" not in general.result
    refused = api.calls_to("sendMessage", lambda c: c.params.get("message_thread_id") == TOPIC)
    assert [c.status for c in refused] == [400]
    assert [len(team.alerts(chat, second)) for chat in (OWNER, STAFF, PETR)] == [0, 0, 0]


# «Беру», handing over, the reminder ----------------------------------------------------------------------


async def test_two_people_pressing_take_at_once_make_exactly_one_taker_and_every_copy_says_so(
    run_bot: RunBot, api: BotAPI, store: SQLiteStore, make_settings: Callable[..., Settings]
) -> None:
    team = await start_team(run_bot, api, store, make_settings)
    dialog = await team.lead()
    await team.outbox.run_once()
    copies = {chat: team.alerts(chat, dialog)[0] for chat in (OWNER, STAFF, PETR)}
    team.clock.advance(5 * MINUTE)

    # Both presses reach the bot in one batch of updates and are handled side by side.
    by_maria = press(api, team.maria.user, f"take:{dialog.id}", copies[STAFF].result)
    by_petr = press(api, team.petr.user, f"take:{dialog.id}", copies[PETR].result)
    answers = {STAFF: await answer_to(api, by_maria), PETR: await answer_to(api, by_petr)}
    for chat in copies:
        await api.wait_for("editMessageText", to_chat(chat))

    stored = await store.get_dialog(dialog.id)
    assert stored is not None and stored.taken_by in (STAFF, PETR)
    winner, loser = (STAFF, PETR) if stored.taken_by == STAFF else (PETR, STAFF)
    name = {STAFF: "Мария", PETR: "Пётр"}[winner]
    assert stored.taken_by_name == name and stored.taken_at == NOW + timedelta(minutes=5)
    assert answers[winner].params["text"] == "Заявка ваша"
    assert answers[loser].params["text"] == f"Заявку уже взял(а) {name}"
    assert answers[loser].params["show_alert"] is True
    for chat, copy in copies.items():
        now = team.now_shows(copy)
        assert now["text"].endswith(f"✋ Взял(а) {name}, 12:05"), chat
        assert "✋ Беру" not in buttons(now)
        # «Передать» only where an owner reads the copy.
        assert ("🔁 Передать" in buttons(now)) is (chat == OWNER)
    # The second refresh found every copy already right: "message is not modified", nothing else failed.
    assert all(c.status in (200, 400) for c in api.calls_to("editMessageText"))


async def test_an_owner_hands_a_taken_lead_to_another_member(
    run_bot: RunBot, api: BotAPI, store: SQLiteStore, make_settings: Callable[..., Settings]
) -> None:
    team = await start_team(run_bot, api, store, make_settings)
    dialog = await team.lead()
    await team.outbox.run_once()
    copies = {chat: team.alerts(chat, dialog)[0] for chat in (OWNER, STAFF, PETR)}
    await answer_to(api, press(api, team.maria.user, f"take:{dialog.id}", copies[STAFF].result))
    await api.wait_for("editMessageText", to_chat(OWNER))
    owners_copy = team.now_shows(copies[OWNER])

    staff_try = await answer_to(api, press(api, team.maria.user, f"pass:{dialog.id}", copies[STAFF].result))
    await answer_to(api, press(api, team.owner.user, f"pass:{dialog.id}", owners_copy))
    question = await api.wait_for("sendMessage", lambda c: to_chat(OWNER)(c) and "Кому" in c.params["text"])
    choices = question.params["reply_markup"]["inline_keyboard"]
    to_petr = next(b["callback_data"] for row in choices for b in row if b["text"] == "Пётр")
    team.clock.advance(10 * MINUTE)
    handed = await answer_to(api, press(api, team.owner.user, to_petr, question.result))
    told = await api.wait_for("sendMessage", lambda c: to_chat(PETR)(c) and "передали" in c.params["text"])
    await api.wait_for(
        "editMessageText", lambda c: c.ok and "Пётр" in c.params["text"] and c.params["chat_id"] == STAFF
    )

    assert staff_try.params["text"] == "Передать заявку может только владелец"
    assert [b["text"] for row in choices for b in row] == ["Мне", "Мария", "Пётр"]
    assert question.params["reply_parameters"]["message_id"] == copies[OWNER].result["message_id"]
    assert handed.params["text"] == "✋ Заявка передана: Пётр"
    assert team.now_shows(question)["text"] == "✋ Заявка передана: Пётр"
    assert shown(told) == f"👉 Вам передали заявку. Карточка: /dialog {dialog.id}"
    stored = await store.get_dialog(dialog.id)
    assert stored is not None and (stored.taken_by, stored.taken_by_name) == (PETR, "Пётр")
    for copy in copies.values():
        assert team.now_shows(copy)["text"].endswith("✋ Взял(а) Пётр, 12:10")


async def test_a_lead_nobody_took_is_reminded_once_and_a_taken_one_is_not(
    run_bot: RunBot, api: BotAPI, store: SQLiteStore, make_settings: Callable[..., Settings]
) -> None:
    team = await start_team(run_bot, api, store, make_settings)
    untaken = await team.lead()
    taken = await team.lead(contact="+79162223344", name="Борис")
    await team.outbox.run_once()
    alert = team.alerts(STAFF, taken)[0]
    await answer_to(api, press(api, team.maria.user, f"take:{taken.id}", alert.result))
    await api.wait_for("editMessageText", to_chat(PETR))

    team.clock.advance(14 * MINUTE)
    assert await team.outbox.run_once() == 0  # not yet
    team.clock.advance(1 * MINUTE)
    assert await team.outbox.run_once() == 1  # the untaken lead's reminder; the taken one's dropped
    team.clock.advance(60 * MINUTE)
    assert await team.outbox.run_once() == 0  # once only

    for chat in (OWNER, STAFF, PETR):
        first, reminder = team.alerts(chat, untaken)
        assert shown(reminder).startswith("⏰ Заявку никто не взял уже 15 мин\n\n🆕 Новая заявка")
        assert reminder.params["reply_parameters"]["message_id"] == first.result["message_id"]
        assert len(team.alerts(chat, taken)) == 1
    rows = await store.read(lambda db: db.execute("SELECT kind, sent_at FROM outbox ORDER BY kind").fetchall())
    assert [(r["kind"], r["sent_at"] is not None) for r in rows] == [("lead_alert", True)] * 2 + [
        ("take_reminder", True)
    ] * 2  # both reminders are done: one sent, one dropped


async def test_taking_after_the_reminder_edits_the_reminder_too(
    run_bot: RunBot, api: BotAPI, store: SQLiteStore, make_settings: Callable[..., Settings]
) -> None:
    team = await start_team(run_bot, api, store, make_settings)
    dialog = await team.lead()
    await team.outbox.run_once()
    team.clock.advance(15 * MINUTE)
    await team.outbox.run_once()
    first, reminder = team.alerts(STAFF, dialog)

    await answer_to(api, press(api, team.maria.user, f"take:{dialog.id}", reminder.result))
    for chat in (OWNER, STAFF, PETR):
        await api.wait_for("editMessageText", to_chat(chat), count=2)

    assert len(await store.dialog_alert_messages(dialog.id)) == 6  # an alert and a reminder in each chat
    for copy in (first, reminder):
        assert team.now_shows(copy)["text"].endswith("✋ Взял(а) Мария, 12:15")
        assert "✋ Беру" not in buttons(team.now_shows(copy))


# one state, every copy -----------------------------------------------------------------------------------


async def test_a_tag_set_under_one_copy_shows_under_every_copy(
    run_bot: RunBot, api: BotAPI, store: SQLiteStore, make_settings: Callable[..., Settings]
) -> None:
    team = await start_team(run_bot, api, store, make_settings)
    dialog = await team.lead()
    await team.outbox.run_once()
    copies = {chat: team.alerts(chat, dialog)[0] for chat in (OWNER, STAFF, PETR)}
    # Мария's copy is too old to edit: her press still counts, the others' copies still change.
    too_old = "Bad Request: message can't be edited"
    api.fail_next("editMessageText", status=400, description=too_old, when=lambda c: c.params["chat_id"] == STAFF)

    answer = await answer_to(api, press(api, team.owner.user, f"tag:{dialog.id}:sale", copies[OWNER].result))
    for chat in (OWNER, PETR):
        await api.wait_for("editMessageText", to_chat(chat))
    # Пётр then presses «Целевой» under his copy: the sale tag stays.
    await answer_to(api, press(api, team.petr.user, f"tag:{dialog.id}:qualified", team.now_shows(copies[PETR])))
    await api.wait_for("editMessageText", lambda c: c.ok and c.params["chat_id"] == OWNER, count=2)

    assert answer.params["text"] == "Продажа записана. Ответьте на вопрос суммой"  # bot/sales.py asks it
    stored = await store.get_dialog(dialog.id)
    assert stored is not None and sorted(stored.tags) == ["qualified", "sale"]
    for chat in (OWNER, PETR):
        assert buttons(team.now_shows(copies[chat]))[:3] == ["✅ Целевой", "✅ Продажа", "Спам"], chat
        now = team.now_shows(copies[chat])["text"]  # the alert's text is the same, with the sale's line
        assert now.replace("\n💰 Продажа: сумма не указана", "") == shown(copies[chat])
    marias = api.calls_to("editMessageText", lambda c: c.params["chat_id"] == STAFF)
    assert marias[0].status == 400  # refused once, and the press was answered all the same


async def test_copies_are_edited_a_few_at_a_time(
    run_bot: RunBot, api: BotAPI, store: SQLiteStore, make_settings: Callable[..., Settings]
) -> None:
    team = await start_team(run_bot, api, store, make_settings)
    for user_id in range(601, 605):
        await add_staff(store, user_id, f"Сотрудник {user_id}")
    dialog = await team.lead()
    await team.outbox.run_once()
    assert len(await store.dialog_alert_messages(dialog.id)) == 7
    holds = [api.hold_next("editMessageText") for _ in range(7)]

    press(api, team.owner.user, f"tag:{dialog.id}:spam", team.alerts(OWNER, dialog)[0].result)
    for hold in holds[:3]:
        await hold.arrived.wait()
    in_flight = len(api.calls_to("editMessageText"))
    for hold in holds:
        hold.release()
    await api.wait_for("editMessageText", lambda c: c.ok, count=7)

    assert in_flight == 3  # EDIT_PARALLEL: the fourth waits for one of the first three


async def test_commands_in_the_group_point_to_the_private_chat_and_show_nothing(
    run_bot: RunBot, api: BotAPI, store: SQLiteStore, make_settings: Callable[..., Settings]
) -> None:
    team = await start_team(run_bot, api, store, make_settings)
    invites = "SELECT COUNT(*) AS n FROM invites"
    seeded = await store.read(lambda db: db.execute(invites).fetchone()["n"])  # the staff's own
    stranger = {"id": STRANGER, "is_bot": False, "first_name": "Прохожий", "language_code": "ru"}
    in_group(api, stranger, "/stats")
    in_group(api, team.maria.user, "/stats@another_bot")  # another bot's command in the same group
    in_group(api, team.maria.user, "/stats неделя")
    in_group(api, team.owner.user, "/invite@chattrack_test_bot")
    await api.wait_for("sendMessage", to_chat(GROUP), count=2)
    answers = api.sent_messages(GROUP)

    pointer = "Отчёты и карточки клиентов — только в личном чате со мной, чтобы их не читали все в группе: "
    assert [shown(a) for a in answers] == [pointer + "напишите мне @chattrack_test_bot."] * 2
    assert all(a.params["reply_parameters"]["message_id"] for a in answers)  # each a reply to its command
    assert api.calls_to("sendPhoto") == []  # no chart, no report reached the group
    # no invite made: a link posted in a group would be anyone's
    assert await store.read(lambda db: db.execute(invites).fetchone()["n"]) == seeded
