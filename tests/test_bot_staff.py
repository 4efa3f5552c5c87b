"""Access: owners invite staff with one-time deep links, list and remove them; strangers get a refusal only."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta

from bot.access import INVITE_LIFETIME
from tests import test_bot_commands as bot_tests
from tests.fakes.telegram_api import ApiCall
from tests.seed import seed_dialog, utc
from tests.test_bot_commands import (
    BOT_USERNAME,
    NOW,
    OWNER,
    STAFF,
    STRANGER,
    BotAPI,
    Person,
    RunBot,
    add_staff,
    confirm,
    seed_week,
    shown,
    to_chat,
)
from tests.test_outbox import FakeClock
from tracking.store.sqlite import SQLiteStore

api, run_bot = bot_tests.api, bot_tests.run_bot  # the shared fixtures (the store is conftest's)


def _as_sent(edit: ApiCall) -> ApiCall:
    """An edit that turned a message into a question, as `confirm` takes a question: the message as it is now."""
    return ApiCall("sendMessage", edit.params, result=edit.result)


REFUSAL_RU = "Здравствуйте! Это служебный бот компании, он работает только для её сотрудников."
REFUSAL_EN = "Hello! This is a company's internal bot; it only works for its staff."
INVITE_LINK = re.compile(rf"https://t\.me/{BOT_USERNAME}\?start=(inv_[A-Za-z0-9_-]+)")


async def invite_link(owner: Person) -> str:
    owner.says("/invite")
    answer = await owner.reads()
    match = INVITE_LINK.search(answer)
    assert match is not None, answer
    return match.group(1)


async def test_an_invite_link_admits_one_person_once(run_bot: RunBot, api: BotAPI, store: SQLiteStore) -> None:
    clock = FakeClock(NOW)
    await seed_week(store)
    await run_bot(clock=clock)
    owner = Person(api, OWNER, "ru", "Ирина")
    maria = Person(api, STAFF, "ru", "Мария", username="maria_s")
    mallory = Person(api, STRANGER, "en", "Mallory")

    payload = await invite_link(owner)
    maria.says(f"/start {payload}")
    welcome = await maria.reads()
    notice = await owner.reads()
    mallory.says(f"/start {payload}")  # the link was forwarded further
    refused = await mallory.reads()
    maria.says("/stats week")
    stats = await maria.reads()
    mallory.says("/stats week")
    mallory_stats = await mallory.reads()

    assert len(payload) <= 64 and payload.startswith("inv_")
    assert welcome.startswith("Добро пожаловать, Мария!")
    assert notice == "Мария (@maria_s) присоединяется к боту по вашему приглашению. Список сотрудников: /staff"
    assert refused == "This invite is not valid: it was used already or it expired. Please ask for a new one."
    assert "Диалоги: 3" in stats
    assert mallory_stats == REFUSAL_EN
    staff = await store.list_staff()
    assert [(m.user_id, m.name, m.username, m.added_by, m.added_at) for m in staff] == [
        (STAFF, "Мария", "maria_s", OWNER, NOW)
    ]
    # The database keeps a digest: reading it does not give anyone a working link.
    secret = payload.removeprefix("inv_")
    raw = await store.read(lambda db: db.execute("SELECT token FROM invites").fetchall())
    assert [r["token"] for r in raw] == [hashlib.sha256(secret.encode()).hexdigest()]
    menus = api.calls_to("setMyCommands", lambda c: c.params["scope"]["chat_id"] == STAFF)
    assert len(menus) == 2  # the new member's menu, in Russian and by default


async def test_an_expired_invite_admits_no_one(run_bot: RunBot, api: BotAPI, store: SQLiteStore) -> None:
    clock = FakeClock(NOW)
    await run_bot(clock=clock)
    owner, maria = Person(api, OWNER, "en"), Person(api, STAFF, "ru", "Мария")

    owner.says("/invite")
    answer = await owner.reads()
    payload = INVITE_LINK.search(answer)
    clock.now = NOW + INVITE_LIFETIME
    assert payload is not None
    maria.says(f"/start {payload.group(1)}")

    assert await maria.reads() == "Это приглашение недействительно: оно уже использовано или устарело. Попросите новое."
    assert "valid until Dec 3, 2026, 12:00" in answer  # Moscow time, a week on
    assert await store.list_staff() == []


async def test_an_owner_or_a_member_opening_an_invite_leaves_it_for_its_recipient(
    run_bot: RunBot, api: BotAPI, store: SQLiteStore
) -> None:
    await add_staff(store, STAFF)
    await run_bot(clock=lambda: NOW)
    owner, maria, petr = Person(api, OWNER, "en"), Person(api, STAFF, "en"), Person(api, 502, "ru", "Пётр")

    payload = await invite_link(owner)
    owner.says(f"/start {payload}")
    maria.says(f"/start {payload}")
    owner_answer, maria_answer = await owner.reads(), await maria.reads()
    petr.says(f"/start {payload}")

    assert owner_answer == "You are an owner: no invite needed. Reports: /help"
    assert maria_answer == "You have access already. Reports: /help"
    assert (await petr.reads()).startswith("Добро пожаловать, Пётр!")
    assert [m.user_id for m in await store.list_staff()] == [STAFF, 502]


async def test_owners_list_and_remove_staff_and_access_ends_at_once(
    run_bot: RunBot, api: BotAPI, store: SQLiteStore
) -> None:
    await add_staff(store, STAFF, "Мария", NOW - timedelta(days=3))
    await add_staff(store, 502, "Пётр", NOW)
    await run_bot(clock=lambda: NOW)
    owner, maria = Person(api, OWNER, "ru"), Person(api, STAFF, "en", "Мария")

    owner.says("/staff")
    listing = await owner.gets()
    buttons = listing.params["reply_markup"]["inline_keyboard"]
    owner.presses(buttons[0][0]["callback_data"], listing.result)
    question = await api.wait_for("editMessageText", lambda c: c.ok)
    still = [m.user_id for m in await store.list_staff()]
    edit_text = await confirm(owner, _as_sent(question))
    answer = await api.wait_for("answerCallbackQuery", lambda c: "text" in c.params)
    maria.says("/stats")

    assert shown(listing) == "Сотрудники (2)\n1. Мария — с 23 ноя 2026\n2. Пётр — с 26 ноя 2026"
    assert [row[0]["text"] for row in buttons] == ["✖ Мария", "✖ Пётр"]
    assert shown(question).startswith("Закрыть доступ к отчётам: Мария?")
    assert [b["text"] for b in question.params["reply_markup"]["inline_keyboard"][0]] == ["Да, удалить", "Отмена"]
    assert still == [STAFF, 502]  # nothing removed before the button
    assert answer.params["text"] == "Мария: доступ закрыт"
    assert edit_text == "Сотрудники (1)\n1. Пётр — с 26 ноя 2026"
    assert await maria.reads() == REFUSAL_EN
    assert [m.user_id for m in await store.list_staff()] == [502]
    cleared = api.calls_to("deleteMyCommands", lambda c: c.params["scope"]["chat_id"] == STAFF)
    assert len(cleared) == 2


async def test_a_staff_name_cannot_forge_lines_in_the_staff_list(
    run_bot: RunBot, api: BotAPI, store: SQLiteStore
) -> None:
    await add_staff(store, STAFF, "Мария\n2. Владелец — с 1 янв 2020\u202e", NOW)
    await run_bot(clock=lambda: NOW)
    owner = Person(api, OWNER, "ru")

    owner.says("/staff")
    listing = await owner.gets()

    assert shown(listing) == "Сотрудники (1)\n1. Мария 2. Владелец — с 1 янв 2020 — с 26 ноя 2026"
    assert listing.params["reply_markup"]["inline_keyboard"][0][0]["text"].count("\n") == 0


async def test_staff_cannot_invite_or_manage_staff(run_bot: RunBot, api: BotAPI, store: SQLiteStore) -> None:
    await add_staff(store, STAFF)
    await run_bot(clock=lambda: NOW)
    maria = Person(api, STAFF, "en")
    fake_listing = {"message_id": 1, "date": 0, "chat": {"id": STAFF, "type": "private"}, "text": "x"}

    maria.says("/invite")
    maria.says("/staff")
    maria.presses(f"staff:rm:{STAFF}", fake_listing)
    first, second = await maria.reads(), await maria.reads()
    pressed = await api.wait_for("answerCallbackQuery")

    assert first == second == "I don't know that command. The list: /help"
    assert "text" not in pressed.params  # a stale or forged button: nothing happens
    assert [m.user_id for m in await store.list_staff()] == [STAFF]
    raw = await store.read(lambda db: db.execute("SELECT COUNT(*) AS n FROM invites").fetchone())
    assert raw is not None and raw["n"] == 1  # only the seeded one


async def test_a_stranger_gets_a_refusal_and_nothing_else(run_bot: RunBot, api: BotAPI, store: SQLiteStore) -> None:
    dialog = await seed_dialog(store, utc("2026-11-26 08:00"), name="Анна", code="7K3M9QE")
    await run_bot(clock=lambda: NOW)
    mallory = Person(api, STRANGER, "ru", "Mallory")
    alert_like = {"message_id": 1, "date": 0, "chat": {"id": STRANGER, "type": "private"}, "text": "x"}
    # (a stranger's plain words are a customer writing to the bot: tests/test_bot_relay.py)
    asks = ["/stats week", "/dialog 7K3M9QE", "/recent", "/report", "/summary 09:00", "/invite", "/staff"]

    for ask in asks:
        mallory.says(ask)
    mallory.presses(f"card:{dialog.id}", alert_like)
    mallory.presses(f"tag:{dialog.id}:spam", alert_like)
    mallory.presses("recent:1", alert_like)
    replies = [await mallory.reads() for _ in asks]
    await api.wait_for("answerCallbackQuery", count=3)

    assert replies == [REFUSAL_RU] * len(asks)
    answers = api.calls_to("answerCallbackQuery")
    assert [(a.params["text"], a.params["show_alert"]) for a in answers] == [
        ("Эта кнопка только для сотрудников компании", True)
    ] * 3
    # Nothing else reached the stranger: no photo, no card, no edit; no data changed.
    assert [c.method for c in api.calls if c.params.get("chat_id") == STRANGER] == ["sendMessage"] * len(asks)
    assert api.calls_to("editMessageText") == [] and api.calls_to("editMessageReplyMarkup") == []
    stored = await store.get_dialog(dialog.id)
    assert stored is not None and stored.tags == []
    assert await store.summary_choices() == [] and await store.list_staff() == []
    assert not any(to_chat(OWNER)(c) for c in api.calls)


async def test_an_owner_erases_a_contact_and_staff_cannot(run_bot: RunBot, api: BotAPI, store: SQLiteStore) -> None:
    await seed_week(store)
    await run_bot(clock=FakeClock(NOW))
    owner = Person(api, OWNER, "en", "Irina")
    maria = Person(api, STAFF, "ru", "Мария")
    await add_staff(store)

    maria.says(f"/forget {bot_tests.A}")
    refused = await maria.reads()
    assert len(await store.find_dialogs(contact_id=bot_tests.A)) == 2
    owner.says("/forget")
    usage = await owner.reads()
    owner.says(f"/forget {bot_tests.A}")
    done = await confirm(owner, await owner.gets())

    assert bot_tests.A not in refused  # no erasing, no details
    assert usage.startswith("Give the contact's phone")
    assert done == "Erased everything about +7 916 000-00-01: 2 dialog(s), with messages, alerts and visits."
    assert await store.find_dialogs(contact_id=bot_tests.A) == []
    assert len(await store.find_dialogs(contact_id=bot_tests.C)) == 1


OWNER_TWO = 112


async def test_forget_asks_first_refuses_other_and_late_presses_and_edits_the_alerts(
    run_bot: RunBot, api: BotAPI, store: SQLiteStore
) -> None:
    await seed_week(store)
    clock = FakeClock(NOW)
    runtime = await run_bot(clock=clock, telegram_owner_ids=f"{OWNER},{OWNER_TWO}")
    owner, other = Person(api, OWNER, "ru", "Ирина"), Person(api, OWNER_TWO, "en", "Oleg")
    assert runtime.bot is not None
    (first, *_) = await store.find_dialogs(contact_id=bot_tests.A)
    alert = await runtime.bot.send_message(OWNER, "🆕 Новый лид · +7 916 000-00-01")
    await store.alert_message_sent(first.id, OWNER, alert.message_id)
    await store.alert_message_sent(first.id, OWNER_TWO, 424242)  # deleted since: its edit fails
    owner._seen["sendMessage"] = 1  # the alert: the owner's next message is the question

    owner.says(f"/forget {bot_tests.A}")
    asked = await owner.gets()
    question = shown(asked)
    buttons = [b["text"] for b in asked.params["reply_markup"]["inline_keyboard"][0]]
    other.presses(asked.params["reply_markup"]["inline_keyboard"][0][0]["callback_data"], asked.result)
    foreign = await api.wait_for("answerCallbackQuery", lambda c: "text" in c.params)
    after_foreign = len(await store.find_dialogs(contact_id=bot_tests.A))
    cancelled = await confirm(owner, asked, button=1)
    after_cancel = len(await store.find_dialogs(contact_id=bot_tests.A))
    owner.says(f"/forget {bot_tests.A}")
    late = await owner.gets()
    clock.advance(16 * 60)
    owner.presses(late.params["reply_markup"]["inline_keyboard"][0][0]["callback_data"], late.result)
    expired = await api.wait_for("answerCallbackQuery", lambda c: "text" in c.params, count=2)
    after_late = len(await store.find_dialogs(contact_id=bot_tests.A))
    owner.says(f"/forget {bot_tests.A}")
    done = await confirm(owner, await owner.gets())
    erased_alert = await api.wait_for(
        "editMessageText", lambda c: c.ok and c.params.get("message_id") == alert.message_id
    )

    assert question == (
        "Удалить всё о +7 916 000-00-01: диалогов — 2, с сообщениями, уведомлениями и визитами? Это нельзя отменить."
    )
    assert buttons == ["Да, удалить", "Отмена"]
    assert foreign.params["text"] == "This button is not yours: only the person who asked can press it."
    assert after_foreign == 2 and after_cancel == 2 and after_late == 2  # nothing erased before a valid «yes»
    assert cancelled == "Ничего не удалено."
    assert expired.params["text"].startswith("Эта кнопка больше не действует")
    assert done == "Удалено всё о +7 916 000-00-01: диалогов — 2, с сообщениями, уведомлениями и визитами."
    assert await store.find_dialogs(contact_id=bot_tests.A) == []
    assert shown(erased_alert) == "Контакт удалён по запросу"
    assert erased_alert.params.get("reply_markup", {}).get("inline_keyboard", []) == []
    assert await store.alert_messages(bot_tests.A) == []


async def test_removing_staff_in_english_refuses_another_owners_press(
    run_bot: RunBot, api: BotAPI, store: SQLiteStore
) -> None:
    await add_staff(store, STAFF, "Maria", NOW)
    await run_bot(clock=lambda: NOW, telegram_owner_ids=f"{OWNER},{OWNER_TWO}")
    owner, other = Person(api, OWNER, "en"), Person(api, OWNER_TWO, "ru")

    owner.says("/staff")
    listing = await owner.gets()
    owner.presses(listing.params["reply_markup"]["inline_keyboard"][0][0]["callback_data"], listing.result)
    question = await api.wait_for("editMessageText", lambda c: c.ok)
    yes = question.params["reply_markup"]["inline_keyboard"][0][0]
    other.presses(yes["callback_data"], question.result)
    refused = await api.wait_for("answerCallbackQuery", lambda c: "text" in c.params)
    kept = [m.user_id for m in await store.list_staff()]
    back = await confirm(owner, _as_sent(question), button=1)

    assert shown(question) == "Close access to the reports for Maria? Only a new invite gives it back."
    assert yes["text"] == "Yes, erase"
    assert refused.params["text"] == "Эта кнопка не для вас: нажать её может только тот, кто спрашивал."
    assert kept == [STAFF]
    assert back == "Staff (1)\n1. Maria — since Nov 26, 2026"
    assert [m.user_id for m in await store.list_staff()] == [STAFF]
