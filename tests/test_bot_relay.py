"""Customers who write to the bot, end to end through the local Bot API: with a deep-link code or without
one they are a dialog, greeted once; their messages reach the taker, the team group or the team; a team
member's reply (text, photo, sticker) reaches them through the bot, the member's name shown only when the
owner wants it, and answers the dialog."""

from __future__ import annotations

import functools
import itertools
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from bot.runtime import BotRuntime
from tests import test_bot_commands as bot_tests
from tests.fakes.telegram_api import ApiCall
from tests.test_bot_commands import OWNER, STAFF, STRANGER, BotAPI, Person, RunBot, add_staff, shown, to_chat
from tracking.codes import new_code
from tracking.models import AttributionStatus, Dialog, InboundMessage, Messenger, PageView, Visit
from tracking.service import Tracker
from tracking.settings import Settings
from tracking.store.base import TeamChat
from tracking.store.sqlite import SQLiteStore

api, run_bot = bot_tests.api, bot_tests.run_bot  # the shared fixtures (the store is conftest's)

CUSTOMER = 4242
GROUP, TOPIC = -1001234567890, 7
GREETING = "Здравствуйте! Спасибо за обращение. Напишите, пожалуйста, ваш вопрос — мы скоро ответим."
PHOTO = [
    {"file_id": "AgACAgIAAxkBAAIC-small", "file_unique_id": "AQADs1", "width": 320, "height": 240},
    {"file_id": "AgACAgIAAxkBAAIC-large", "file_unique_id": "AQADs2", "width": 1280, "height": 960},
]
STICKER = {
    "file_id": "CAACAgIAAxkBAAIC-sticker",
    "file_unique_id": "AgADst",
    "type": "regular",
    "width": 512,
    "height": 512,
    "is_animated": False,
    "is_video": False,
}
TEAM_GROUP = {"id": GROUP, "type": "supergroup", "title": "Заявки", "is_forum": True}
_ids = itertools.count(70_000)


def private(person: Person) -> dict[str, Any]:
    return {"id": person.id, "type": "private", "first_name": person.name}


def update_of(person: Person, chat: dict[str, Any] | None = None, **content: Any) -> dict[str, Any]:
    """A message of `person` with `content` (a text, a photo, a reply_to_message…), as Telegram delivers it."""
    message = {"message_id": next(_ids), "date": int(time.time()), "chat": chat or private(person), "from": person.user}
    if chat is not None and chat.get("is_forum"):
        message |= {"message_thread_id": TOPIC, "is_topic_message": True}
    text = str(content.get("text", ""))
    if text.startswith("/"):
        message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
    return {"update_id": next(_ids), "message": message | content}


def sends(person: Person, chat: dict[str, Any] | None = None, **content: Any) -> dict[str, Any]:
    """`person` sends it through long polling."""
    update = update_of(person, chat, **content)
    person.api.push_update(update)
    return update


def replies(person: Person, to: ApiCall, chat: dict[str, Any] | None = None, **content: Any) -> dict[str, Any]:
    """A reply to a message the bot sent (`to`: the call that sent it; its result is the message)."""
    return sends(person, chat, reply_to_message=to.result, **content)


def lead_alert_to(chat: int) -> Callable[[ApiCall], bool]:
    return lambda call: to_chat(chat)(call) and "Новая заявка" in call.params["text"]


def edit_of(sent: ApiCall) -> Callable[[ApiCall], bool]:
    chat, message_id = sent.params["chat_id"], sent.result["message_id"]
    return lambda call: call.ok and call.params.get("chat_id") == chat and call.params.get("message_id") == message_id


async def told(api: BotAPI, chat: int, count: int = 1) -> str:
    """The `count`-th answer the bot gave in `chat` as a reply to someone's message (how it confirms a relay)."""
    return shown(
        await api.wait_for("sendMessage", lambda c: to_chat(chat)(c) and "reply_parameters" in c.params, count=count)
    )


def copied(api: BotAPI, call: ApiCall) -> dict[str, Any]:
    """The message a copyMessage call made in the customer's chat, as the customer sees it."""
    return api.messages[(call.params["chat_id"], call.result["message_id"])]


async def visit(settings: Settings, store: SQLiteStore) -> Visit:
    view = PageView(
        code=new_code(),
        visitor_id="visitor-1",
        url="https://flowers.example/roses?utm_source=yandex&utm_medium=cpc&utm_campaign=march8",
        referrer="https://yandex.ru/",
        at=datetime.now(UTC),
    )
    stored = await store.get_visit(await Tracker(store, settings).record_view(view))
    assert stored is not None
    return stored


async def the_dialog(store: SQLiteStore, user_id: int = CUSTOMER) -> Dialog:
    [dialog] = await store.find_dialogs(contact_id=f"tg:{user_id}")
    return dialog


def feeder(runtime: BotRuntime) -> Callable[[dict[str, Any]], Awaitable[Any]]:
    """Hands an update to the bot and returns once it was handled: for what must have no effect."""
    assert runtime.dispatcher is not None and runtime.bot is not None
    return functools.partial(runtime.dispatcher.feed_raw_update, runtime.bot)


async def opened(api: BotAPI, olga: Person, start: str = "/start") -> ApiCall:
    """Ольга opens the bot and is greeted; the lead alert her dialog sent to the owner."""
    olga.says(start)
    assert await olga.reads() == GREETING
    return await api.wait_for("sendMessage", lead_alert_to(OWNER))


# customers are dialogs -----------------------------------------------------------------------------


async def test_a_deep_link_customers_question_becomes_the_first_message_and_every_alert_shows_it(
    run_bot: RunBot, api: BotAPI, store: SQLiteStore, make_settings: Callable[..., Settings]
) -> None:
    await add_staff(store)
    await run_bot()
    seen = await visit(make_settings(), store)
    olga = Person(api, CUSTOMER, "ru", "Ольга", username="olga_k")
    question = "Сколько стоят 25 роз с доставкой?"

    alert = await opened(api, olga, f"/start {seen.code}")
    olga.says(question)
    redrawn = await api.wait_for("editMessageText", edit_of(alert))
    to_owner = await api.wait_for("forwardMessage", to_chat(OWNER))
    to_staff = await api.wait_for("forwardMessage", to_chat(STAFF))

    dialog = await the_dialog(store)
    assert (dialog.status, dialog.code, dialog.attribution.campaign) == (AttributionStatus.EXACT, seen.code, "march8")
    assert (dialog.first_message, dialog.message_count) == (question, 2)
    assert "(без текста)" in shown(alert) and question not in shown(alert)
    assert question in shown(redrawn) and "(без текста)" not in shown(redrawn)
    assert f"код {seen.code}" in shown(redrawn)
    assert redrawn.params["reply_markup"]["inline_keyboard"]  # the buttons stay under the redrawn alert
    # Nobody took the lead and there is no team group: the question reaches every owner and staff member.
    for relayed in (to_owner, to_staff):
        assert (relayed.params["from_chat_id"], relayed.result["text"]) == (CUSTOMER, question)
        assert relayed.result["forward_origin"]["sender_user"]["id"] == CUSTOMER  # the header names her
    # Recorded before the next chat's copy left (the staff's may still be on its way to the store).
    assert await store.dialog_by_bot_message(OWNER, to_owner.result["message_id"]) == dialog.id
    assert len(api.sent_messages(CUSTOMER)) == 1  # the greeting, once


async def test_a_customer_without_a_code_is_a_dialog_with_no_source_greeted_once(
    run_bot: RunBot, api: BotAPI, store: SQLiteStore
) -> None:
    runtime = await run_bot()
    olga = Person(api, CUSTOMER, "ru", "Ольга")

    alert = await opened(api, olga)  # a plain /start: how Telegram opens a bot found by its name
    olga.says("Здравствуйте! Есть запись на завтра?")
    redrawn = await api.wait_for("editMessageText", edit_of(alert))
    olga.says("После 18:00")
    await api.wait_for("forwardMessage", to_chat(OWNER), count=2)
    await feeder(runtime)(update_of(olga, text="/start"))  # /start again: no new greeting

    dialog = await the_dialog(store)
    assert (dialog.status, dialog.code) == (AttributionStatus.NONE, None)
    assert dialog.first_message == "Здравствуйте! Есть запись на завтра?"
    assert "Источник неизвестен" in shown(alert) and "Есть запись на завтра?" in shown(redrawn)
    assert [shown(call) for call in api.sent_messages(CUSTOMER)] == [GREETING]


async def test_a_first_message_without_start_opens_the_dialog_its_alert_shows_it_unrelayed(
    run_bot: RunBot, api: BotAPI, store: SQLiteStore
) -> None:
    await run_bot()
    olga = Person(api, CUSTOMER, "en", "Olga")

    olga.says("Hi! Do you deliver on Sundays?")
    greeting = await olga.reads()
    alert = await api.wait_for("sendMessage", lead_alert_to(OWNER))
    olga.says("To Tverskaya street")
    relayed = await api.wait_for("forwardMessage", to_chat(OWNER))

    dialog = await the_dialog(store)
    assert (dialog.status, dialog.first_message, dialog.message_count) == (
        AttributionStatus.NONE,
        "Hi! Do you deliver on Sundays?",
        2,
    )
    assert greeting == "Hello! Thank you for getting in touch. Please write your question, we will answer soon."
    assert "Hi! Do you deliver on Sundays?" in shown(alert)
    # The alert carried the first message; only the next one is forwarded.
    assert [call.result["text"] for call in api.calls_to("forwardMessage")] == ["To Tverskaya street"]
    assert relayed.params["from_chat_id"] == CUSTOMER


async def test_a_customers_help_gets_the_greeting_and_an_invites_look_alike_is_invalid(
    run_bot: RunBot, api: BotAPI, store: SQLiteStore
) -> None:
    await run_bot(bot_greeting="Салон «Роза»: ответим <быстро> & вежливо")
    olga = Person(api, CUSTOMER, "ru", "Ольга")

    olga.says("/help")
    help_answer = await olga.gets()
    olga.says("/stats неделя")
    stats_answer = await olga.reads()
    olga.says("/start inv_cut")
    invite_answer = await olga.reads()

    # The owner's greeting, as written: no markup.
    assert help_answer.params["text"] == "Салон «Роза»: ответим <быстро> & вежливо"
    assert help_answer.params.get("parse_mode") in (None, "")
    assert stats_answer == "Здравствуйте! Это служебный бот компании, он работает только для её сотрудников."
    assert invite_answer.startswith("Это приглашение недействительно")
    assert await store.find_dialogs(contact_id=f"tg:{CUSTOMER}") == []  # commands open no dialog


# the team's replies ----------------------------------------------------------------------------------


async def test_the_takers_text_and_photo_reach_the_customer_unsigned_and_answer_the_dialog(
    run_bot: RunBot, api: BotAPI, store: SQLiteStore
) -> None:
    await add_staff(store)
    await run_bot()
    olga, maria = Person(api, CUSTOMER, "ru", "Ольга"), Person(api, STAFF, "ru", "Мария")
    await opened(api, olga)
    dialog = await the_dialog(store)
    taken = await store.take_dialog(dialog.id, STAFF, "Мария", datetime.now(UTC))
    assert taken is not None and taken.taken_by == STAFF

    sends(olga, photo=PHOTO, caption="Такой букет можно?")
    relayed = await api.wait_for("forwardMessage", to_chat(STAFF))
    answer = replies(
        maria, relayed, text="Да, 4 500 ₽ с доставкой", entities=[{"type": "bold", "offset": 3, "length": 7}]
    )
    text_copy = await api.wait_for("copyMessage", to_chat(CUSTOMER))
    text_confirmation = await told(api, STAFF)
    replies(maria, relayed, photo=PHOTO, caption="Вот такой соберём")
    photo_copy = await api.wait_for("copyMessage", to_chat(CUSTOMER), count=2)
    photo_confirmation = await told(api, STAFF, 2)

    assert relayed.result["photo"][-1]["file_id"] == PHOTO[-1]["file_id"]
    assert api.calls_to("forwardMessage", to_chat(OWNER)) == []  # the taker only
    assert copied(api, text_copy)["text"] == "Да, 4 500 ₽ с доставкой"
    assert copied(api, text_copy)["entities"] == [{"type": "bold", "offset": 3, "length": 7}]  # formatting kept
    assert copied(api, photo_copy)["photo"][-1]["file_id"] == PHOTO[-1]["file_id"]
    assert copied(api, photo_copy)["caption"] == "Вот такой соберём"
    assert "caption" not in photo_copy.params  # unsigned: the customer never learns who answered
    assert text_confirmation == photo_confirmation == "✅ Отправлено клиенту"
    stored = await store.get_dialog(dialog.id)
    assert stored is not None
    assert stored.answered_at == datetime.fromtimestamp(answer["message"]["date"], UTC)
    assert stored.answered_by == "Мария"
    assert api.sent_messages(CUSTOMER)[1:] == []  # the greeting only: the replies were copies


async def test_replies_are_signed_with_the_members_first_name_when_the_owner_wants_it(
    run_bot: RunBot, api: BotAPI, store: SQLiteStore
) -> None:
    await run_bot(reveal_staff_names="true")
    olga, irina = Person(api, CUSTOMER, "ru", "Ольга"), Person(api, OWNER, "ru", "Ирина <Шеф>")
    alert = await opened(api, olga)

    replies(irina, alert, text="Здравствуйте! Чем помочь?")  # a reply to the alert itself
    signed_text = await api.wait_for("sendMessage", to_chat(CUSTOMER), count=2)
    await told(api, OWNER)
    replies(irina, alert, photo=PHOTO, caption="Наши розы")
    signed_photo = await api.wait_for("copyMessage", to_chat(CUSTOMER))
    await told(api, OWNER, 2)
    replies(irina, alert, sticker=STICKER)
    name_first = await api.wait_for("sendMessage", to_chat(CUSTOMER), count=3)
    sticker = await api.wait_for("copyMessage", to_chat(CUSTOMER), count=2)
    await told(api, OWNER, 3)

    assert shown(signed_text) == "Ирина <Шеф>\nЗдравствуйте! Чем помочь?"
    assert shown(signed_photo, "caption") == "Ирина <Шеф>\nНаши розы"
    assert copied(api, signed_photo)["photo"][-1]["file_id"] == PHOTO[-1]["file_id"]
    assert shown(name_first) == "Ирина <Шеф>"  # a sticker takes no caption: the name comes just before it
    assert copied(api, sticker)["sticker"]["file_id"] == STICKER["file_id"]
    stored = await the_dialog(store)
    assert stored.answered_by == "Ирина <Шеф>"


async def test_the_team_group_gets_the_customers_messages_in_its_topic_and_replies_there(
    run_bot: RunBot, api: BotAPI, store: SQLiteStore
) -> None:
    await add_staff(store)
    await store.set_team_chat(
        TeamChat(chat_id=GROUP, thread_id=TOPIC, title="Заявки", set_by=OWNER, set_at=datetime.now(UTC))
    )
    runtime = await run_bot()
    olga = Person(api, CUSTOMER, "ru", "Ольга")
    maria, mallory = Person(api, STAFF, "ru", "Мария"), Person(api, STRANGER, "ru", "Mallory")
    olga.says("/start")
    await olga.reads()

    sends(olga, document={"file_id": "BQACAgIAAxkBAAIC-doc", "file_unique_id": "AgADd", "file_name": "план.pdf"})
    relayed = await api.wait_for("forwardMessage", to_chat(GROUP))
    await feeder(runtime)(replies(mallory, relayed, TEAM_GROUP, text="Я тоже тут"))  # not of the team
    replies(maria, relayed, TEAM_GROUP, text="Получили план, перезвоним")
    reply = await api.wait_for("copyMessage", to_chat(CUSTOMER))
    confirmation = await api.wait_for("sendMessage", lambda c: to_chat(GROUP)(c) and "reply_parameters" in c.params)

    assert relayed.params["message_thread_id"] == TOPIC
    assert relayed.result["document"]["file_name"] == "план.pdf"
    assert api.calls_to("forwardMessage", lambda c: c.params["chat_id"] in (OWNER, STAFF)) == []
    assert copied(api, reply)["text"] == "Получили план, перезвоним"
    assert len(api.calls_to("copyMessage")) == 1  # the stranger's reply went nowhere
    assert shown(confirmation) == "✅ Отправлено клиенту" and confirmation.params["message_thread_id"] == TOPIC
    assert (await the_dialog(store)).answered_by == "Мария"


async def test_muted_members_get_no_relayed_messages(run_bot: RunBot, api: BotAPI, store: SQLiteStore) -> None:
    await add_staff(store)
    await store.set_alerts_muted(OWNER, True)
    await run_bot()
    olga = Person(api, CUSTOMER, "ru", "Ольга")
    olga.says("/start")
    await olga.reads()

    olga.says("Здравствуйте!")
    await api.wait_for("forwardMessage", to_chat(STAFF))

    assert api.calls_to("forwardMessage", to_chat(OWNER)) == []


async def test_a_customer_who_blocked_the_bot_is_said_so_and_the_dialog_stays_unanswered(
    run_bot: RunBot, api: BotAPI, store: SQLiteStore
) -> None:
    await run_bot()
    olga, irina = Person(api, CUSTOMER, "ru", "Ольга"), Person(api, OWNER, "ru", "Ирина")
    alert = await opened(api, olga)
    api.fail_next("copyMessage", status=403)

    replies(irina, alert, text="Здравствуйте!")

    assert await told(api, OWNER) == "Клиент заблокировал бота: сообщение не доставлено."
    assert (await the_dialog(store)).answered_at is None


async def test_a_reply_to_a_whatsapp_leads_alert_is_explained_not_sent(
    run_bot: RunBot, api: BotAPI, store: SQLiteStore, make_settings: Callable[..., Settings]
) -> None:
    runtime = await run_bot()
    irina = Person(api, OWNER, "ru", "Ирина")
    message = InboundMessage(
        provider="twilio",
        message_id="SM-relay-1",
        messenger=Messenger.WHATSAPP,
        business_number="+79991234567",
        contact_id="+79161112233",
        text="Здравствуйте",
        received_at=datetime.now(UTC),
    )
    await Tracker(store, make_settings()).ingest(message)
    runtime.kick()
    alert = await api.wait_for("sendMessage", lead_alert_to(OWNER))

    replies(irina, alert, text="Здравствуйте!")

    assert await told(api, OWNER) == "Этот клиент писал не боту: ответьте ему там, где он написал."
    assert api.calls_to("copyMessage") == [] and api.calls_to("sendMessage", to_chat(79161112233)) == []


async def test_forgetting_the_customer_deletes_their_relayed_messages_from_the_team_chats(
    run_bot: RunBot, api: BotAPI, store: SQLiteStore
) -> None:
    await add_staff(store)
    await run_bot()
    olga, maria, irina = Person(api, CUSTOMER, "ru", "Ольга"), Person(api, STAFF, "ru", "Мария"), Person(api, OWNER)
    await opened(api, olga)
    await irina.gets()  # the lead alert
    dialog = await the_dialog(store)
    assert await store.take_dialog(dialog.id, STAFF, "Мария", datetime.now(UTC)) is not None
    sends(olga, text="Мой адрес: Тверская, 7")
    relayed = await api.wait_for("forwardMessage", to_chat(STAFF))
    # The relay records its copy right after Telegram's answer; recorded here too (idempotent), not raced.
    await store.relay_message_sent(dialog.id, STAFF, relayed.result["message_id"])
    assert await store.relay_messages(f"tg:{CUSTOMER}") == [(STAFF, relayed.result["message_id"])]

    irina.says(f"/forget tg:{CUSTOMER}")
    done = await bot_tests.confirm(irina, await irina.gets())
    deleted = await api.wait_for("deleteMessage", to_chat(STAFF))

    assert done.startswith("Удалено всё о пользователе Telegram 4242")
    assert deleted.params["message_id"] == relayed.result["message_id"]  # the customer's words leave the chat
    assert await store.relay_messages(f"tg:{CUSTOMER}") == []
    assert await store.dialog_by_bot_message(STAFF, relayed.result["message_id"]) is None
    assert maria.user["id"] == STAFF  # (Maria read it; it is gone from her chat)
