"""Telegram customers through the whole server: bot deep links with a visit code, and Telegram Business chats.

Updates arrive by long polling from the fake Bot API; where a test must know that an update was handled
and deliberately ignored, it is fed straight to the running dispatcher (`feed_raw_update` returns when the
handlers are done), still answering through the fake API.
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from bot.runtime import BOT_RUNTIME, BotRuntime
from tests import test_bot_commands as bot_tests
from tests.conftest import RunningServer
from tests.test_bot_commands import BOT_USERNAME, OWNER, TOKEN, BotAPI, Person, shown, to_chat, user
from tracking.codes import new_code
from tracking.models import (
    AttributionStatus,
    Channel,
    Dialog,
    InboundMessage,
    IngestResult,
    Messenger,
    PageView,
    Visit,
)
from tracking.pages import DEFAULT_PAGE_PARAMS, page_key
from tracking.store.base import BusinessAccount
from webhooks.app import STORE, TRACKER
from webhooks.metrics import METRICS

api = bot_tests.api  # the shared fixture

CUSTOMER = 4242
CONNECTION = "bc-flowers"
_ids = itertools.count(50_000)


class Ingested:
    """Every message the server's Tracker stored; `wait(n)` returns once n were stored (no sleeping)."""

    def __init__(self) -> None:
        self.results: list[IngestResult] = []
        self._tick = asyncio.Event()

    def __call__(self, message: InboundMessage, result: IngestResult) -> None:
        self.results.append(result)
        self._tick.set()
        self._tick = asyncio.Event()

    async def wait(self, count: int) -> IngestResult:
        async with asyncio.timeout(5):
            while len(self.results) < count:
                await self._tick.wait()
        return self.results[count - 1]


@pytest.fixture
def serve(api: BotAPI, start_server: Callable[..., Any]) -> Callable[..., Any]:
    """The whole server with the bot long-polling the fake API (`api` first: it must outlive the server)."""

    async def start(**overrides: Any) -> tuple[RunningServer, Ingested]:
        values = {"telegram_bot_token": TOKEN, "telegram_owner_ids": str(OWNER), "telegram_api_url": api.url}
        server: RunningServer = await start_server(**{**values, **overrides})
        ingested = Ingested()
        server.app[TRACKER].observers.append(ingested)
        return server, ingested

    return start


async def visit(server: RunningServer, code: str | None = None) -> Visit:
    """A visit from a Yandex ad, as the snippet reports it."""
    view = PageView(
        code=code or new_code(),
        visitor_id="visitor-1",
        url="https://flowers.example/roses?utm_source=yandex&utm_medium=cpc&utm_campaign=march8&utm_term=розы",
        referrer="https://yandex.ru/",
        screen="390x844",
        language="ru-RU",
        user_agent="Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148",
        at=datetime.now(UTC),
    )
    stored = await server.app[TRACKER].store.get_visit(await server.app[TRACKER].record_view(view))
    assert stored is not None
    return stored


def business_update(sender: dict[str, Any], text: str, *, chat_id: int = CUSTOMER, **extra: Any) -> dict[str, Any]:
    return {
        "update_id": next(_ids),
        "business_message": {
            "message_id": next(_ids),
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private", "first_name": "Ольга"},
            "from": sender,
            "business_connection_id": extra.pop("connection", CONNECTION),
            "text": text,
            **extra,
        },
    }


def connection_update(owner: dict[str, Any], *, connection: str = CONNECTION, enabled: bool = True) -> dict[str, Any]:
    return {
        "update_id": next(_ids),
        "business_connection": {
            "id": connection,
            "user": owner,
            "user_chat_id": owner["id"],
            "date": int(time.time()),
            "is_enabled": enabled,
            "rights": {"can_reply": True},
        },
    }


def lead_alert_to(chat: int) -> Callable[[Any], bool]:
    return lambda call: to_chat(chat)(call) and "Новая заявка" in call.params["text"]


def feeder(server: RunningServer) -> Callable[[dict[str, Any]], Awaitable[Any]]:
    """Hands an update to the server's bot as long polling would (the webhook's own path is tested apart)."""
    runtime: BotRuntime = server.app[BOT_RUNTIME]
    assert runtime.dispatcher is not None and runtime.bot is not None
    return functools.partial(runtime.dispatcher.feed_raw_update, runtime.bot)


async def came_by_deep_link(server: RunningServer, api: BotAPI) -> tuple[Visit, Person]:
    """Ольга, who opened the bot by the deep link of a visit and was greeted."""
    seen = await visit(server)
    olga = Person(api, CUSTOMER, "ru", "Ольга")
    olga.says(f"/start {seen.code}")
    await olga.reads()
    return seen, olga


async def dialogs_of(server: RunningServer, user_id: int) -> list[Dialog]:
    return await server.app[STORE].find_dialogs(contact_id=f"tg:{user_id}")


# deep links ----------------------------------------------------------------------------------------


async def test_a_deep_link_start_opens_a_dialog_attributed_exactly_to_the_visit(
    serve: Callable[..., Any], api: BotAPI
) -> None:
    server, ingested = await serve()
    seen = await visit(server)
    olga = Person(api, CUSTOMER, "ru", "Ольга", username="olga_k")

    olga.says(f"/start {seen.code}")
    welcome = await olga.reads()
    alert = await api.wait_for("sendMessage", lead_alert_to(OWNER))
    olga.says("Сколько стоят 25 роз с доставкой?")
    appended = await ingested.wait(2)
    await api.wait_for("forwardMessage", to_chat(OWNER))  # the question, on to the team

    [dialog] = await dialogs_of(server, CUSTOMER)
    assert dialog.status is AttributionStatus.EXACT and dialog.code == seen.code
    assert dialog.provider == "telegram" and dialog.messenger is Messenger.TELEGRAM
    assert dialog.business_number == "@" + BOT_USERNAME
    assert dialog.contact_name == "Ольга (@olga_k)" and dialog.contact_phone is None
    assert dialog.visit is not None and dialog.visit.code == seen.code
    assert dialog.attribution.channel is Channel.PAID_SEARCH
    assert (dialog.attribution.source, dialog.attribution.campaign, dialog.attribution.term) == (
        "yandex",
        "march8",
        "розы",
    )
    assert dialog.attribution.contact_page == page_key(seen.current_page, frozenset(DEFAULT_PAGE_PARAMS))
    assert dialog.first_message == "Сколько стоят 25 роз с доставкой?"  # the /start carried the code alone
    assert welcome.startswith("Здравствуйте! Спасибо за обращение.")
    text = shown(alert)
    for expected in ("Новая заявка · Telegram", "Ольга (@olga_k)", f"в чат @{BOT_USERNAME}", f"код {seen.code}"):
        assert expected in text, expected
    assert "march8" in text and "Платный поиск" in text
    assert f'href="tg://user?id={CUSTOMER}"' in alert.params["text"]
    assert appended.outcome.value == "appended" and appended.dialog.message_count == 2
    assert len(api.sent_messages(CUSTOMER)) == 1  # the greeting only, once


async def test_a_repeated_start_update_is_one_dialog_with_one_greeting(serve: Callable[..., Any], api: BotAPI) -> None:
    server, _ = await serve()
    seen = await visit(server)
    feed = feeder(server)
    start = Person(api, CUSTOMER, "en", "Olga").says(f"/start {seen.code}", update_id=next(_ids), message_id=77)
    await api.wait_for("sendMessage", to_chat(CUSTOMER))
    await api.wait_for("sendMessage", lead_alert_to(OWNER))

    retry = {**start, "update_id": next(_ids)}  # the same message, delivered again
    await feed(retry)

    assert len(await dialogs_of(server, CUSTOMER)) == 1
    assert len(api.sent_messages(CUSTOMER)) == 1
    assert len(api.calls_to("sendMessage", lead_alert_to(OWNER))) == 1


async def test_an_unknown_code_still_opens_a_dialog_and_says_so(serve: Callable[..., Any], api: BotAPI) -> None:
    server, _ = await serve()
    never_issued = new_code()
    Person(api, CUSTOMER, "ru", "Ольга").says(f"/start {never_issued}")

    alert = await api.wait_for("sendMessage", lead_alert_to(OWNER))

    [dialog] = await dialogs_of(server, CUSTOMER)
    assert dialog.status is AttributionStatus.UNKNOWN_CODE and dialog.code == never_issued
    assert f"Неизвестный код {never_issued}" in shown(alert)


async def test_a_start_with_any_other_payload_is_a_customer_without_a_source(
    serve: Callable[..., Any], api: BotAPI
) -> None:
    server, _ = await serve()
    mallory = Person(api, 31337, "en", "Mallory")

    mallory.says("/start hello-there")
    greeting = await mallory.reads()
    alert = await api.wait_for("sendMessage", lead_alert_to(OWNER))
    mallory.says("/start inv_forgedforgedforgedforged")
    invalid = await mallory.reads()

    assert greeting == "Hello! Thank you for getting in touch. Please write your question, we will answer soon."
    assert invalid.startswith("This invite is not valid")
    [dialog] = await dialogs_of(server, 31337)
    assert (dialog.status, dialog.code, dialog.first_message) == (AttributionStatus.NONE, None, "")
    assert "Источник неизвестен" in shown(alert)


# Telegram Business ---------------------------------------------------------------------------------


async def test_a_customers_business_message_is_attributed_by_the_code_in_its_text(
    serve: Callable[..., Any], api: BotAPI
) -> None:
    server, ingested = await serve()
    owner = user(OWNER, "ru", "Ирина", "Flower_Shop")
    olga = user(CUSTOMER, "ru", "Ольга")
    seen = await visit(server)

    api.push_update(connection_update(owner))
    confirmation = await api.wait_for("sendMessage", to_chat(OWNER))
    api.push_update(business_update(olga, f"Здравствуйте! Хочу букет из 25 роз (код {seen.code})"))
    alert = await api.wait_for("sendMessage", lead_alert_to(OWNER))

    assert shown(confirmation).startswith("Бот подключён к Telegram Business аккаунта @Flower_Shop")
    stored = await server.app[STORE].get_business_account(CONNECTION)
    assert stored == BusinessAccount(
        connection_id=CONNECTION, user_id=OWNER, username="Flower_Shop", name="Ирина", enabled=True
    )
    [dialog] = await dialogs_of(server, CUSTOMER)
    assert dialog.provider == "telegram_business" and dialog.messenger is Messenger.TELEGRAM
    assert dialog.business_number == "@flower_shop"  # as the snippet names t.me/<username> click targets
    assert dialog.status is AttributionStatus.EXACT and dialog.code == seen.code
    assert dialog.attribution.campaign == "march8"
    assert dialog.first_message == "Здравствуйте! Хочу букет из 25 роз"  # the code is stripped
    text = shown(alert)
    assert "Новая заявка · Telegram Business" in text and "в чат @flower_shop" in text
    assert f"Источник точный: код {seen.code}" in text
    assert len(ingested.results) == 1
    assert api.sent_messages(CUSTOMER) == []  # the bot never speaks in the owner's chats


async def test_the_owners_own_messages_are_no_leads_and_the_first_after_the_customers_answers(
    serve: Callable[..., Any], api: BotAPI
) -> None:
    server, ingested = await serve()
    feed = feeder(server)
    owner = user(OWNER, "ru", "Ирина", "flower_shop")
    olga = user(CUSTOMER, "ru", "Ольга")

    await feed(connection_update(owner))
    await feed(business_update(owner, "Здравствуйте, Ольга! Чем помочь? (код 7K3M9QE)"))  # before any dialog
    helper_bot = {"id": 900, "is_bot": True, "first_name": "Helper", "username": "helper_bot"}
    await feed(business_update(owner, "Автоответ", sender_business_bot=helper_bot))
    before = await dialogs_of(server, CUSTOMER), await dialogs_of(server, OWNER)
    await feed(business_update(olga, "Добрый день, есть пионы?"))
    await feed(business_update(owner, "Автоответ: скоро ответим", sender_business_bot=helper_bot))
    unanswered = await dialogs_of(server, CUSTOMER)
    answer = business_update(owner, "Есть, 300 ₽ за штуку")
    await feed(answer)
    await feed(business_update(olga, "Беру 15"))
    await feed(business_update(owner, "Отлично, оформляю"))  # a later reply: the first one stays

    assert before == ([], [])
    assert unanswered[0].answered_at is None  # another bot's auto-reply is no one's answer
    [dialog] = await dialogs_of(server, CUSTOMER)
    assert dialog.message_count == 2 and dialog.first_message == "Добрый день, есть пионы?"
    assert dialog.status is AttributionStatus.NONE
    assert dialog.answered_at == datetime.fromtimestamp(answer["business_message"]["date"], UTC)
    assert dialog.answered_by == "Ирина"
    assert [r.outcome.value for r in ingested.results] == ["new_dialog", "appended"]
    [source] = await server.app[STORE].reply_sources()  # its dialogs can be told unanswered from now on
    assert (source.provider, source.business_number) == ("telegram_business", "@flower_shop")


async def test_the_owners_replies_on_a_strangers_or_disabled_connection_answer_nothing(
    serve: Callable[..., Any], api: BotAPI
) -> None:
    server, _ = await serve()
    feed = feeder(server)
    owner, olga = user(OWNER, "ru", "Ирина", "flower_shop"), user(CUSTOMER, "ru", "Ольга")
    mallory = user(31337, "en", "Mallory", "mallory_shop")
    await feed(connection_update(owner))
    await feed(business_update(olga, "Добрый день"))
    await feed(connection_update(mallory, connection="bc-mallory"))

    await feed(business_update(mallory, "Я отвечу за них", connection="bc-mallory"))
    await feed(connection_update(owner, enabled=False))
    await feed(business_update(owner, "Ответ после отключения"))

    [dialog] = await dialogs_of(server, CUSTOMER)
    assert dialog.answered_at is None
    assert await server.app[STORE].reply_sources() == []


async def test_a_strangers_business_account_brings_no_leads(serve: Callable[..., Any], api: BotAPI) -> None:
    server, ingested = await serve(telegram_usernames="other_shop")
    feed = feeder(server)
    stranger = user(31337, "en", "Mallory", "mallory_shop")
    api.business_connections["bc-mallory"] = connection_update(stranger, connection="bc-mallory")["business_connection"]

    await feed(connection_update(stranger, connection="bc-mallory"))
    await feed(business_update(user(CUSTOMER, "ru", "Ольга"), "Здравствуйте", connection="bc-mallory"))

    assert await server.app[STORE].get_business_account("bc-mallory") is None
    assert ingested.results == [] and await dialogs_of(server, CUSTOMER) == []
    assert api.sent_messages() == []  # not even a confirmation to the stranger


async def test_a_connection_made_while_the_server_was_away_is_looked_up(serve: Callable[..., Any], api: BotAPI) -> None:
    server, _ = await serve(telegram_usernames="@Second_Shop")
    partner = user(7070, "ru", "Пётр", "second_shop")  # not an owner, but a tracked username
    api.business_connections["bc-late"] = connection_update(partner, connection="bc-late")["business_connection"]
    seen = await visit(server)

    api.push_update(business_update(user(CUSTOMER, "ru", "Ольга"), f"Привет! код {seen.code}", connection="bc-late"))
    alert = await api.wait_for("sendMessage", lead_alert_to(OWNER))

    assert api.calls_to("getBusinessConnection")[0].params["business_connection_id"] == "bc-late"
    [dialog] = await dialogs_of(server, CUSTOMER)
    assert dialog.business_number == "@second_shop" and dialog.status is AttributionStatus.EXACT
    assert "в чат @second_shop" in shown(alert)
    remembered = await server.app[STORE].get_business_account("bc-late")
    assert remembered is not None and remembered.user_id == 7070


async def test_webhook_mode_asks_telegram_for_business_updates(serve: Callable[..., Any], api: BotAPI) -> None:
    await serve(public_url="https://leads.example.com")

    registered = await api.wait_for("setWebhook")

    assert {
        "message",
        "edited_message",
        "callback_query",
        "business_connection",
        "business_message",
        "edited_business_message",
        "deleted_business_messages",
    } <= set(registered.params["allowed_updates"])


async def test_customers_telegram_ids_stay_out_of_the_info_log(
    serve: Callable[..., Any], api: BotAPI, caplog: pytest.LogCaptureFixture
) -> None:
    """A Telegram user id is personal data like a phone: what is logged at INFO and above names neither."""
    caplog.set_level(logging.INFO)
    customer = 731_904_265
    server, ingested = await serve()
    seen = await visit(server)
    olga = Person(api, customer, "ru", "Ольга", username="olga_k")
    api.push_update(connection_update(user(OWNER, "ru", "Ирина", "Flower_Shop")))
    await api.wait_for("sendMessage", to_chat(OWNER))

    olga.says(f"/start {seen.code}")
    await olga.reads()
    olga.says("Сколько стоят 25 роз?")
    await ingested.wait(2)
    api.push_update(business_update(user(customer, "ru", "Ольга"), "Здравствуйте!", chat_id=customer))
    await ingested.wait(3)
    await api.wait_for("sendMessage", lead_alert_to(OWNER))

    logged = [r.getMessage() for r in caplog.records if r.levelno >= logging.INFO]
    assert any("dialog" in line for line in logged)  # the messages were logged, without who sent them
    assert [line for line in logged if str(customer) in line] == []


# edits and deletions -------------------------------------------------------------------------------


def edited(update: dict[str, Any], text: str, kind: str = "business_message") -> dict[str, Any]:
    """The update Telegram sends when the message of `update` is edited: the same message id, new text."""
    message = {**update[kind], "text": text, "edit_date": int(time.time())}
    return {"update_id": next(_ids), f"edited_{kind}": message}


def deleted(*updates: dict[str, Any]) -> dict[str, Any]:
    first = updates[0]["business_message"]
    return {
        "update_id": next(_ids),
        "deleted_business_messages": {
            "business_connection_id": first["business_connection_id"],
            "chat": first["chat"],
            "message_ids": [u["business_message"]["message_id"] for u in updates],
        },
    }


async def texts(server: RunningServer, dialog_id: str) -> list[str | None]:
    """The dialog's messages, oldest first: text, or None when deleted."""
    return [None if m.deleted else m.text for m in await server.app[STORE].dialog_messages(dialog_id)]


async def test_a_customers_business_edit_replaces_the_text_and_can_bring_the_code(
    serve: Callable[..., Any], api: BotAPI
) -> None:
    server, ingested = await serve()
    feed = feeder(server)
    owner, olga = user(OWNER, "ru", "Ирина", "Flower_Shop"), user(CUSTOMER, "ru", "Ольга")
    seen = await visit(server)
    await feed(connection_update(owner))
    first = business_update(olga, "Здравствуйте! Хочу букет")
    reply = business_update(owner, "Здравствуйте! Какой?")
    await feed(first)
    await feed(reply)

    await feed(edited(first, f"Здравствуйте! Хочу букет из 25 роз (код {seen.code})"))
    await feed(edited(reply, "Переписано владельцем (код 7K3M9QE)"))  # never stored: nothing

    [dialog] = await dialogs_of(server, CUSTOMER)
    assert (dialog.status, dialog.code, dialog.attribution.campaign) == (AttributionStatus.EXACT, seen.code, "march8")
    assert (dialog.first_message, dialog.message_count) == ("Здравствуйте! Хочу букет из 25 роз", 1)
    assert await texts(server, dialog.id) == ["Здравствуйте! Хочу букет из 25 роз"]
    assert [r.outcome.value for r in ingested.results] == ["new_dialog"]  # an edit is no new message
    assert await dialogs_of(server, OWNER) == []


async def test_deleted_business_messages_are_marked_deleted(serve: Callable[..., Any], api: BotAPI) -> None:
    server, ingested = await serve()
    feed = feeder(server)
    owner, olga = user(OWNER, "ru", "Ирина", "flower_shop"), user(CUSTOMER, "ru", "Ольга")
    await feed(connection_update(owner))
    first, second = business_update(olga, "Добрый день"), business_update(olga, "Ой, не туда")
    await feed(first)
    await feed(second)

    await feed(deleted(second, business_update(owner, "не сохранено")))
    await feed({**first, "update_id": next(_ids)})  # a redelivered message stays a duplicate
    await feed({**second, "update_id": next(_ids)})

    [dialog] = await dialogs_of(server, CUSTOMER)
    assert await texts(server, dialog.id) == ["Добрый день", None]
    assert dialog.message_count == 2
    assert [r.outcome.value for r in ingested.results] == ["new_dialog", "appended", "duplicate", "duplicate"]


async def test_a_customers_edit_in_the_chat_with_the_bot_replaces_the_text(
    serve: Callable[..., Any], api: BotAPI
) -> None:
    server, ingested = await serve()
    feed = feeder(server)
    seen, olga = await came_by_deep_link(server, api)
    question = olga.says("Сколко стоят розы?")
    await ingested.wait(2)

    await feed(edited(question, "Сколько стоят розы?", kind="message"))

    [dialog] = await dialogs_of(server, CUSTOMER)
    assert await texts(server, dialog.id) == ["", "Сколько стоят розы?"]
    assert (dialog.code, dialog.message_count) == (seen.code, 2)


# what is stored: by inclusion ------------------------------------------------------------------------

VENUE = {
    "location": {"latitude": 55.7936, "longitude": 37.6364},
    "venue": {
        "location": {"latitude": 55.7936, "longitude": 37.6364},
        "title": "Рижский рынок",
        "address": "Москва, проспект Мира, 94-96",
    },
}
VOICE = {
    "voice": {"file_id": "AwACAgIAAxkBAAIBq2Z", "file_unique_id": "AgADq2Z", "duration": 4, "mime_type": "audio/ogg"}
}
POLL = {
    "poll": {
        "id": "5231",
        "question": "Розы или пионы к пятнице?",
        "options": [
            {"persistent_id": "0", "text": "Розы", "voter_count": 0},
            {"persistent_id": "1", "text": "Пионы", "voter_count": 0},
        ],
        "total_voter_count": 0,
        "is_closed": False,
        "is_anonymous": False,
        "type": "regular",
        "allows_multiple_answers": False,
        "allows_revoting": True,
        "members_only": False,
    }
}


def business_content(sender: dict[str, Any], content: dict[str, Any]) -> dict[str, Any]:
    """A business message that is not a text: `content` holds its own fields (a venue, a voice note…)."""
    update = business_update(sender, "", **content)
    del update["business_message"]["text"]
    return update


def pinned(update: dict[str, Any], kind: str = "business_message") -> dict[str, Any]:
    """The service message Telegram sends when the customer pins the message of `update` in their chat."""
    message = update[kind]
    service = {key: message[key] for key in ("chat", "from", "business_connection_id") if key in message}
    service |= {"message_id": next(_ids), "date": int(time.time()), "pinned_message": message}
    return {"update_id": next(_ids), kind: service}


def skipped(server: RunningServer, provider: str, kind: str) -> float | None:
    registry = server.app[METRICS].registry
    return registry.get_sample_value("chattrack_events_skipped_total", {"provider": provider, "kind": kind})


async def test_a_business_chat_stores_what_the_customer_says_and_counts_service_messages(
    serve: Callable[..., Any], api: BotAPI
) -> None:
    """A venue, a voice note and a poll are what a customer says (with the text a person reads in them); the
    customer pinning a message, and a kind of message newer than aiogram, are counted and stored nowhere."""
    server, ingested = await serve()
    feed = feeder(server)
    olga = user(CUSTOMER, "ru", "Ольга")
    await feed(connection_update(user(OWNER, "ru", "Ирина", "flower_shop")))
    venue = business_content(olga, VENUE)

    for update in (venue, business_content(olga, VOICE), business_content(olga, POLL)):
        await feed(update)
    await feed(pinned(venue))
    await feed(business_content(olga, {"future_service_thing": {"stars": 5}}))

    [dialog] = await dialogs_of(server, CUSTOMER)
    assert await texts(server, dialog.id) == [
        "Рижский рынок, Москва, проспект Мира, 94-96",
        "",  # a voice note: a message, with nothing to read
        "Розы или пионы к пятнице?",
    ]
    assert [r.outcome.value for r in ingested.results] == ["new_dialog", "appended", "appended"]
    assert (skipped(server, "telegram_business", "not_content"), skipped(server, "telegram_business", "other")) == (
        1.0,
        1.0,
    )


async def test_a_known_customers_service_message_in_the_chat_with_the_bot_is_counted_not_stored(
    serve: Callable[..., Any], api: BotAPI
) -> None:
    server, ingested = await serve()
    feed = feeder(server)
    seen, olga = await came_by_deep_link(server, api)
    await ingested.wait(1)
    voice = {
        "update_id": next(_ids),
        "message": {
            "message_id": next(_ids),
            "date": int(time.time()),
            "chat": {"id": CUSTOMER, "type": "private", "first_name": "Ольга"},
            "from": olga.user,
            **VOICE,
        },
    }

    await feed(voice)
    await feed(pinned(voice, kind="message"))

    [dialog] = await dialogs_of(server, CUSTOMER)
    assert (dialog.code, dialog.message_count) == (seen.code, 2)
    assert [r.outcome.value for r in ingested.results] == ["new_dialog", "appended"]
    assert skipped(server, "telegram", "not_content") == 1.0
    assert len(api.sent_messages(CUSTOMER)) == 1  # the greeting only: no refusal for a pinned message
