"""Owning the bot without numeric ids: start-up prints a one-time link (and its QR code) while nobody owns the
bot; its first opener owns it and gets the alerts that waited; /owner hands the bot to a staff member with
confirmation; CHATTRACK_TELEGRAM_OWNER_IDS, when set, wins over all of it."""

from __future__ import annotations

import asyncio
import hashlib
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.owners import OWNER_MARK, Owners
from bot.ownership import CLAIM_MARK, Claim, claim, hand_over
from bot.runtime import BotRuntime
from bot.texts import text
from tests import test_bot_commands as bot_tests
from tests.fakes.telegram_api import ApiCall
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
    shown,
)
from tests.test_bot_staff import REFUSAL_RU
from tests.test_outbox import queue_lead
from tracking.store.base import StaffMember
from tracking.store.sqlite import SQLiteStore

api, run_bot = bot_tests.api, bot_tests.run_bot  # the shared fixtures (the store is conftest's)

CLAIM_LINK = re.compile(rf"https://t\.me/{BOT_USERNAME}\?start=(own_[A-Za-z0-9_-]+)")
IRINA, PETR = 701, 702
FORGED = "own_" + "A" * 32


async def ownerless(run_bot: RunBot, **overrides: Any) -> BotRuntime:
    """The bot with a token and no owner configured; returns once start-up offered (or skipped) the link."""
    runtime: BotRuntime = await run_bot(clock=lambda: NOW, telegram_owner_ids="", **overrides)
    async with asyncio.timeout(5):
        await runtime.claim_offered.wait()
    return runtime


def payload_of(runtime: BotRuntime) -> str:
    assert runtime.claim_link is not None
    match = CLAIM_LINK.fullmatch(runtime.claim_link)
    assert match is not None, runtime.claim_link
    return match.group(1)


def menu_of(api: BotAPI, chat_id: int) -> list[str]:
    """The commands of the last default-language menu set for this chat."""
    calls = api.calls_to(
        "setMyCommands", lambda c: c.ok and c.params["scope"]["chat_id"] == chat_id and "language_code" not in c.params
    )
    assert calls, f"no menu for {chat_id}"
    return [command["command"] for command in calls[-1].params["commands"]]


async def test_a_token_alone_prints_a_link_whose_first_opener_owns_the_bot_and_gets_the_waiting_alerts(
    run_bot: RunBot, api: BotAPI, store: SQLiteStore, capsys: pytest.CaptureFixture[str]
) -> None:
    waiting = await queue_lead(store, at=NOW - timedelta(minutes=5), chats=[0], contact_name="Анна")
    runtime = await ownerless(run_bot)
    printed = capsys.readouterr().out
    payload = payload_of(runtime)
    irina = Person(api, IRINA, "ru", "Ирина", username="irina_k")
    assert await store.pending_alerts() == 1  # nobody to send it to: it waits, due

    irina.says(f"/start {payload}")
    welcome = await irina.reads()
    alert = await irina.gets()
    owner_menu = menu_of(api, IRINA)
    irina.says("/start")
    greeting = await irina.reads()

    assert f"https://t.me/{BOT_USERNAME}?start={payload}" in printed  # the link
    assert "▄" in printed and "█" in printed  # and its QR code
    assert len(payload) <= 64
    assert await store.marks(CLAIM_MARK) == {}  # the link works once: its mark is gone
    assert welcome.startswith("Теперь вы владелец бота, Ирина!")
    assert "Ссылка, по которой вы пришли, больше не действует" in welcome
    assert "С чего начать" in welcome and "\n1. " in welcome  # the owner's next steps
    assert waiting.id in str(alert.params)  # the alert that waited for an owner reached her at once
    assert await store.pending_alerts() == 0
    assert {"owner", "invite", "staff"} <= set(owner_menu)
    assert greeting.startswith("Здравствуйте, Ирина!")
    mark = await store.get_mark(OWNER_MARK)
    assert mark is not None and (mark["user_id"], mark["name"], mark["username"]) == (IRINA, "Ирина", "irina_k")


async def test_the_link_works_once_and_forged_or_cut_ones_never(
    run_bot: RunBot, api: BotAPI, store: SQLiteStore
) -> None:
    runtime = await ownerless(run_bot)
    payload = payload_of(runtime)
    irina, petr = Person(api, IRINA, "ru", "Ирина"), Person(api, PETR, "en", "Petr")
    mallory = Person(api, STRANGER, "ru", "Мэллори")

    mallory.says(f"/start {FORGED}")  # the right form, a guessed secret
    forged = await mallory.reads()
    mallory.says(f"/start {payload[:12]}")  # a cut link
    cut = await mallory.reads()
    irina.says(f"/start {payload}")
    await irina.reads()
    petr.says(f"/start {payload}")  # the link, forwarded further
    second = await petr.reads()
    irina.says(f"/start {payload}")  # opened again by its owner
    again = await irina.reads()
    petr.says("/stats")
    petr_stats = await petr.reads()

    assert (
        forged
        == cut
        == (
            "Эта ссылка уже не действует. Пока у бота нет владельца, новая ссылка появляется при каждом "
            "запуске сервера."
        )
    )
    assert second == "This bot has an owner already. To get access, ask them for an invite."
    assert again == "Вы уже владелец этого бота. Отчёты и настройки: /help"
    assert petr_stats == "Hello! This is a company's internal bot; it only works for its staff."
    mark = await store.get_mark(OWNER_MARK)
    assert mark is not None and mark["user_id"] == IRINA


async def test_each_start_replaces_the_link_until_someone_owns_the_bot_then_prints_none(
    run_bot: RunBot, api: BotAPI, store: SQLiteStore, capsys: pytest.CaptureFixture[str]
) -> None:
    before = await ownerless(run_bot)
    first = payload_of(before)
    stored = await store.marks(CLAIM_MARK)
    await before.close()  # a restart
    restarted = await ownerless(run_bot)
    second = payload_of(restarted)
    irina = Person(api, IRINA, "ru", "Ирина")
    irina.says(f"/start {first}")  # the older link died with the restart
    old = await irina.reads()
    irina.says(f"/start {second}")
    owned = await irina.reads()
    capsys.readouterr()
    await restarted.close()
    third = await ownerless(run_bot)  # restarted once owned

    # Only the secret's digest is stored: reading the database gives no one a working link.
    assert list(stored) == [CLAIM_MARK + hashlib.sha256(first.removeprefix("own_").encode()).hexdigest()]
    assert first != second
    assert old.startswith("Эта ссылка уже не действует")
    assert owned.startswith("Теперь вы владелец бота")
    assert third.claim_link is None and "t.me" not in capsys.readouterr().out
    assert list(third.owners) == [IRINA]


async def test_configured_owners_win_over_the_link_and_the_stored_owner(
    run_bot: RunBot, api: BotAPI, store: SQLiteStore, capsys: pytest.CaptureFixture[str]
) -> None:
    await store.put_mark(OWNER_MARK, {"user_id": IRINA, "name": "Ирина", "username": None, "at": NOW.isoformat()})
    await store.put_mark(CLAIM_MARK + hashlib.sha256(b"A" * 32).hexdigest(), {"at": NOW.isoformat()})
    runtime: BotRuntime = await run_bot(clock=lambda: NOW)  # CHATTRACK_TELEGRAM_OWNER_IDS=111
    async with asyncio.timeout(5):
        await runtime.claim_offered.wait()
    owner, irina = Person(api, OWNER, "ru", "Олег"), Person(api, IRINA, "ru", "Ирина")

    irina.says("/invite")  # the stored owner is not an owner while the setting names them
    refused = await irina.reads()
    irina.says(f"/start {FORGED}")  # even a link whose claim is stored
    link = await irina.reads()
    owner.says("/owner")
    handover = await owner.reads()

    assert runtime.claim_link is None and "t.me" not in capsys.readouterr().out
    assert list(runtime.owners) == [OWNER]
    assert refused == REFUSAL_RU
    assert link == (
        "Владельцы этого бота заданы в настройке CHATTRACK_TELEGRAM_OWNER_IDS, ссылка не нужна. "
        f"Если вы владелец, добавьте туда ваш номер пользователя Telegram (это не телефон): {IRINA}"
    )
    assert len(await store.marks(CLAIM_MARK)) == 1  # not spent
    assert handover == (
        "Владельцы бота заданы в настройке CHATTRACK_TELEGRAM_OWNER_IDS: передать бот отсюда нельзя. "
        "Измените настройку и перезапустите сервер."
    )


def _as_sent(edit: ApiCall) -> ApiCall:
    """An edit that turned a message into a question, as `confirm` takes a question."""
    return ApiCall("sendMessage", edit.params, result=edit.result)


async def test_the_owner_hands_the_bot_to_a_staff_member_with_a_confirmation_only_they_can_press(
    run_bot: RunBot, api: BotAPI, store: SQLiteStore
) -> None:
    await store.put_mark(OWNER_MARK, {"user_id": IRINA, "name": "Ирина", "username": "irina_k", "at": NOW.isoformat()})
    await add_staff(store, STAFF, "Мария")
    await ownerless(run_bot)
    irina, maria = Person(api, IRINA, "ru", "Ирина", username="irina_k"), Person(api, STAFF, "ru", "Мария")

    irina.says("/owner")
    listing = await irina.gets()
    button = listing.params["reply_markup"]["inline_keyboard"][0][0]
    irina.presses(button["callback_data"], listing.result)
    question = await api.wait_for("editMessageText", lambda c: c.ok)
    keyboard = question.params["reply_markup"]["inline_keyboard"][0]
    maria.presses(keyboard[0]["callback_data"], question.result)  # not her button
    foreign = await api.wait_for("answerCallbackQuery", lambda c: "text" in c.params)
    unchanged = await store.get_mark(OWNER_MARK)
    kept = await confirm(irina, _as_sent(question), button=1)  # «Отмена»
    irina.presses(button["callback_data"], listing.result)
    asked_again = await api.wait_for("editMessageText", lambda c: c.ok, count=3)
    done = await confirm(irina, _as_sent(asked_again))
    told = await maria.reads()
    maria.says("/invite")
    invite = await maria.reads()
    irina.says("/alerts")
    alerts = await irina.reads()

    assert shown(listing).startswith("Владелец бота: Ирина (@irina_k)")
    assert button["text"] == "Передать: Мария"
    assert shown(question).startswith("Сделать владельцем бота: Мария?")
    assert [b["text"] for b in keyboard] == ["Да, передать", "Отмена"]
    assert foreign.params["text"] == "Эта кнопка не для вас: нажать её может только тот, кто спрашивал."
    assert unchanged is not None and unchanged["user_id"] == IRINA
    assert kept == "Бот остаётся за вами."
    assert done == "Готово: владелец бота теперь Мария. Вы остаётесь сотрудником: отчёты и заявки по-прежнему у вас."
    assert told.startswith("Ирина (@irina_k) передаёт вам бот: теперь вы его владелец.")
    assert "t.me/" in invite  # Maria owns the bot: she invites
    assert alerts not in (REFUSAL_RU, text("ru", "unknown_command"))  # Irina kept her access, as staff
    mark = await store.get_mark(OWNER_MARK)
    assert mark is not None and mark["user_id"] == STAFF
    assert [(m.user_id, m.name, m.username, m.added_by) for m in await store.list_staff()] == [
        (IRINA, "Ирина", "irina_k", STAFF)
    ]
    assert "owner" in menu_of(api, STAFF)
    assert "invite" not in (irina_menu := menu_of(api, IRINA)) and "stats" in irina_menu


async def test_an_owner_with_no_staff_is_told_to_invite_the_person_first(
    run_bot: RunBot, api: BotAPI, store: SQLiteStore
) -> None:
    await store.put_mark(OWNER_MARK, {"user_id": IRINA, "name": "Ирина", "username": None, "at": NOW.isoformat()})
    await ownerless(run_bot)
    irina = Person(api, IRINA, "en", "Irina")

    irina.says("/owner")
    answer = await irina.gets()

    assert shown(answer) == (
        "The bot's owner: Ирина\n\nThe bot can only be handed over to a staff member. Invite the person first: "
        "/invite — once they open the invite, come back here: /owner"
    )
    assert "reply_markup" not in answer.params


# two copies of the server -------------------------------------------------------------------------------


def person(user_id: int) -> dict[str, Any]:
    return {"user_id": user_id, "name": f"P{user_id}", "username": None}


async def test_two_copies_racing_to_claim_leave_one_owner(store: SQLiteStore, tmp_path: Path) -> None:
    replica = SQLiteStore(tmp_path / "chattrack.db")  # a second copy of the server on the same file
    await replica.open()
    try:
        for round_ in range(10):
            for key in (await store.marks(CLAIM_MARK)) | {OWNER_MARK: {}}:
                await store.take_mark(key)
            first, second = f"first-secret-{round_:02d}-xxxxxxxx", f"second-secret-{round_:02d}-xxxxxxx"
            for secret in (first, second):
                await store.put_mark(CLAIM_MARK + hashlib.sha256(secret.encode()).hexdigest(), {"at": "now"})
            here, there = Owners((), store), Owners((), replica)
            outcomes = await asyncio.gather(
                claim(store, here, first, person(IRINA), NOW),  # each copy's link, opened at once
                claim(replica, there, second, person(PETR), NOW),
                claim(replica, Owners((), replica), first, person(STRANGER), NOW),  # and one link twice
            )
            mark = await store.get_mark(OWNER_MARK)
            assert outcomes.count(Claim.OWNED) == 1, outcomes
            assert mark is not None and mark["user_id"] == [IRINA, PETR, STRANGER][outcomes.index(Claim.OWNED)]
            assert set(outcomes) - {Claim.OWNED} <= {Claim.TAKEN, Claim.USED}
    finally:
        await replica.close()


async def test_two_handovers_pressed_at_once_leave_one_new_owner(store: SQLiteStore, tmp_path: Path) -> None:
    replica = SQLiteStore(tmp_path / "chattrack.db")
    await replica.open()
    try:
        await store.put_mark(OWNER_MARK, {**person(IRINA), "at": NOW.isoformat()})
        await add_staff(store, STAFF, "Мария")
        await add_staff(store, PETR, "Пётр")
        maria, petr = await store.get_staff(STAFF), await store.get_staff(PETR)
        assert isinstance(maria, StaffMember) and isinstance(petr, StaffMember)

        results = await asyncio.gather(
            hand_over(store, Owners((), store), person(IRINA), maria, NOW),
            hand_over(replica, Owners((), replica), person(IRINA), petr, NOW),
        )

        mark = await store.get_mark(OWNER_MARK)
        assert sorted(results) == [False, True]
        winner = STAFF if results[0] else PETR
        assert mark is not None and mark["user_id"] == winner
        assert sorted(m.user_id for m in await store.list_staff()) == sorted({IRINA, STAFF, PETR} - {winner})
    finally:
        await replica.close()


async def test_a_configured_owner_cannot_be_claimed_or_handed_over(store: SQLiteStore) -> None:
    owners = Owners([OWNER], store)
    await store.put_mark(CLAIM_MARK + hashlib.sha256(b"s" * 32).hexdigest(), {"at": "now"})
    await add_staff(store, STAFF, "Мария")
    maria = await store.get_staff(STAFF)
    assert maria is not None

    assert await claim(store, owners, "s" * 32, person(IRINA), NOW) is Claim.CONFIGURED
    assert await hand_over(store, owners, person(OWNER), maria, NOW) is False
    assert await store.get_mark(OWNER_MARK) is None and list(owners) == [OWNER]


async def test_telegram_unreachable_at_start_up_delays_the_link_not_the_server(
    run_bot: RunBot, api: BotAPI, store: SQLiteStore, capsys: pytest.CaptureFixture[str]
) -> None:
    api.fail_next("getMe", status="unreachable")  # webhook mode: only the link's getMe asks Telegram's name
    runtime = await ownerless(run_bot, public_url="https://leads.example.com")

    assert [call.status for call in api.calls_to("getMe")][-1] == 200
    assert len(api.calls_to("getMe")) == 2  # tried again
    assert runtime.claim_link is not None and runtime.claim_link in capsys.readouterr().out
    assert len(await store.marks(CLAIM_MARK)) == 1
