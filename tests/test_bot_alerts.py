"""The lead alert's text and buttons, and the bot running inside the server against the fake Bot API."""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import pytest
from aiohttp import web

from bot.alerts import CardCallback, TagCallback, alert_keyboard, render_alert
from bot.runtime import BOT_RUNTIME, WEBHOOK_PATH, BotRuntime, setup_bot, webhook_secret
from tests.conftest import RunningServer, twilio_form
from tests.fakes.telegram_api import ApiCall, FakeTelegramAPI, html_to_text
from tests.seed import seed_dialog
from tests.test_outbox import OWNER, TOKEN, queue_lead
from tracking.codes import new_code
from tracking.models import Attribution, AttributionStatus, Channel, Click, Dialog, Messenger, PageView
from tracking.periods import buckets_for
from tracking.settings import Settings
from tracking.store.sqlite import SQLiteStore
from webhooks.app import TRACKER

STARTED = datetime(2026, 11, 27, 9, 30, tzinfo=UTC)
STRANGER = 999


def make_dialog(**fields: Any) -> Dialog:
    values: dict[str, Any] = {
        "id": "d" * 32,
        "provider": "twilio",
        "messenger": Messenger.WHATSAPP,
        "business_number": "+79991234567",
        "contact_id": "+79161234567",
        "contact_phone": "+79161234567",
        "contact_name": "Анна",
        "started_at": STARTED,
        "last_message_at": STARTED,
        "is_repeat": False,
        "buckets": buckets_for(STARTED, ZoneInfo("UTC")),
        "code": "K7Q2M",
        "status": AttributionStatus.EXACT,
        "attribution": Attribution(
            channel=Channel.PAID_SEARCH,
            source="yandex",
            medium="cpc",
            campaign="winter_sale",
            content="banner_3",
            term="диван купить",
            # Page keys, as dialogs store them (tracking/pages.py): percent-encoded, no tracking parameters.
            contact_page="shop.example/catalog/%D0%B4%D0%B8%D0%B2%D0%B0%D0%BD%D1%8B?id=7",
            landing_page="shop.example",
            region="Москва",
            os="Android 14",
            screen="412x915",
        ),
        "first_message": "Здравствуйте, сколько стоит доставка?",
    }
    values.update(fields)
    return Dialog(**values)


# rendering ------------------------------------------------------------------------------------


def test_alert_shows_who_where_from_and_how_attributed() -> None:
    shown = html_to_text(render_alert(make_dialog(), "ru", ZoneInfo("Europe/Moscow")))
    for expected in (
        "Новая заявка · WhatsApp",
        "Анна · +7 916 123-45-67",  # as people write phones
        "на номер +7 999 123-45-67",
        "Здравствуйте, сколько стоит доставка?",
        "Платный поиск",
        "Яндекс · оплата за клик",
        "Кампания: winter_sale",
        "Объявление: banner_3",
        "Ключевое слово: диван купить",
        "Написали со страницы: shop.example/catalog/диваны?id=7",  # decoded, as people read it
        "Вход на сайт: shop.example",
        "Регион: Москва",
        "Android 14 · 412x915",
        "Источник точный: код K7Q2M",
        "27 ноя 2026, 12:30",  # Moscow time, as the card writes it
    ):
        assert expected in shown, expected


def test_every_outside_value_is_escaped() -> None:
    hostile = make_dialog(
        contact_name="<b>Boss</b> & Co",
        first_message='<a href="https://evil.example">win</a> 2 < 3 & 5 > 4',
        attribution=Attribution(
            channel=Channel.OTHER_CAMPAIGN,
            source="<script>",
            campaign="sale&<x>",
            term='"quoted"',
            region="<Moscow>",
            landing_page="https://shop.example/<tag>",
        ),
    )
    html = render_alert(hostile, "en")
    assert "<script>" not in html and '<a href="https://evil' not in html
    shown = html_to_text(html)  # Telegram would accept it, and shows the values as typed
    for value in ("<b>Boss</b> & Co", "2 < 3 & 5 > 4", "Source: <script>", "Campaign: sale&<x>", '"quoted"'):
        assert value in shown, value


@pytest.mark.parametrize(
    ("status", "code", "ru", "en"),
    [
        (AttributionStatus.EXACT, "K7Q2M", "Источник точный: код K7Q2M", "Exact code K7Q2M"),
        (AttributionStatus.UNKNOWN_CODE, "ZZZZZ", "Неизвестный код ZZZZZ", "Unknown code ZZZZZ"),
        (AttributionStatus.AD_REFERRAL, None, "из рекламы с кнопкой WhatsApp", "Ad: the provider sent"),
        (AttributionStatus.PROBABLE, None, "Вероятно, с сайта", "Probable"),
        (AttributionStatus.NONE, None, "Источник неизвестен", "Not attributed"),
    ],
)
def test_alert_says_how_the_dialog_was_attributed(
    status: AttributionStatus, code: str | None, ru: str, en: str
) -> None:
    dialog = make_dialog(status=status, code=code)
    assert ru in html_to_text(render_alert(dialog, "ru"))
    assert en in html_to_text(render_alert(dialog, "en"))


def test_repeat_customer_without_name_or_text_and_a_long_message() -> None:
    repeat = html_to_text(render_alert(make_dialog(is_repeat=True, contact_name=None, first_message=""), "ru"))
    assert "Повторное обращение" in repeat and "Без имени" in repeat and "(без текста)" in repeat
    assert "Returning customer" in html_to_text(render_alert(make_dialog(is_repeat=True), "en"))
    long = render_alert(make_dialog(first_message="а" * 5000, attribution=Attribution(term="к" * 500)), "ru")
    assert len(html_to_text(long)) < 1500


def test_keyboard_offers_tags_and_the_card() -> None:
    dialog = make_dialog(tags=["sale"])
    rows = alert_keyboard(dialog, "ru").inline_keyboard
    assert [b.text for b in rows[0]] == ["Целевой", "✅ Продажа", "Спам"]
    assert [b.callback_data for b in rows[0]] == [f"tag:{dialog.id}:{t}" for t in ("qualified", "sale", "spam")]
    assert rows[1][0].callback_data == f"card:{dialog.id}"
    assert TagCallback.unpack(f"tag:{dialog.id}:spam") == TagCallback(dialog_id=dialog.id, tag="spam")
    assert CardCallback.unpack(f"card:{dialog.id}").dialog_id == dialog.id


# the bot in the server ----------------------------------------------------------------------------

_ids = itertools.count(1)


def user(user_id: int, lang: str, name: str = "Иван") -> dict[str, Any]:
    return {"id": user_id, "is_bot": False, "first_name": name, "language_code": lang}


def start_update(user_id: int, lang: str, name: str = "Иван", command: str = "/start") -> dict[str, Any]:
    return {
        "update_id": next(_ids),
        "message": {
            "message_id": next(_ids),
            "date": int(time.time()),
            "chat": {"id": user_id, "type": "private", "first_name": name},
            "from": user(user_id, lang, name),
            "text": command,
            "entities": [{"type": "bot_command", "offset": 0, "length": len(command)}],
        },
    }


def to_chat(chat_id: int) -> Callable[[ApiCall], bool]:
    return lambda call: call.ok and call.params.get("chat_id") == chat_id


def lead_alert_to(chat_id: int) -> Callable[[ApiCall], bool]:
    """A lead alert (it carries the card button), not one of the installation's notices (tracking/install.py)."""
    return lambda call: to_chat(chat_id)(call) and "card:" in str(call.params.get("reply_markup"))


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegramAPI]:
    async with FakeTelegramAPI() as api:
        yield api


@pytest.fixture
async def run_bot(
    store: SQLiteStore, fake: FakeTelegramAPI, make_settings: Callable[..., Settings]
) -> AsyncIterator[Callable[..., Any]]:
    """Start an aiohttp app with only the bot in it (a real socket), configured against the fake API."""
    runners: list[web.AppRunner] = []

    async def run(**overrides: Any) -> tuple[BotRuntime, str]:
        values: dict[str, Any] = {
            "telegram_bot_token": TOKEN,
            "telegram_owner_ids": str(OWNER),
            "telegram_api_url": fake.url,
        }
        settings = make_settings(**{**values, **overrides})
        app = web.Application()
        runtime = setup_bot(app, settings, store)
        runner = web.AppRunner(app, shutdown_timeout=1)
        await runner.setup()
        runners.append(runner)
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        host, port = runner.addresses[0][:2]
        assert app[BOT_RUNTIME] is runtime
        return runtime, f"http://{host}:{port}"

    yield run
    for runner in runners:
        await runner.cleanup()


async def test_polling_greets_owners_in_their_language_and_turns_strangers_away(
    run_bot: Callable[..., Any], fake: FakeTelegramAPI
) -> None:
    await run_bot()
    # (a stranger's /start is a customer writing to the bot: tests/test_bot_relay.py)
    fake.push_update(start_update(STRANGER, "en", "Mallory", command="/stats"))
    refusal = await fake.wait_for("sendMessage", to_chat(STRANGER))
    fake.push_update(start_update(OWNER, "ru", "Ирина"))
    greeting = await fake.wait_for("sendMessage", to_chat(OWNER))
    fake.push_update(start_update(OWNER, "en", "Irina"))
    english = await fake.wait_for("sendMessage", to_chat(OWNER), count=2)

    assert greeting.params["text"].startswith("Здравствуйте, Ирина!")
    assert english.params["text"].startswith("Hello, Irina!")
    assert refusal.params["text"] == "Hello! This is a company's internal bot; it only works for its staff."
    assert len(fake.sent_messages(STRANGER)) == 1  # a refusal and nothing else
    methods = [c.method for c in fake.calls]
    assert methods.index("deleteWebhook") < methods.index("getUpdates")  # an old webhook would block polling


async def test_tag_buttons_tag_the_dialog_for_owners_only(
    run_bot: Callable[..., Any], fake: FakeTelegramAPI, store: SQLiteStore
) -> None:
    dialog = await queue_lead(store, at=datetime.now(UTC))
    await run_bot()
    alert = await fake.wait_for("sendMessage", to_chat(OWNER))  # the queued alert goes out at start
    message = alert.result
    assert message["reply_markup"]["inline_keyboard"][0][1]["callback_data"] == f"tag:{dialog.id}:sale"

    def press(user_id: int, data: str) -> None:
        fake.push_update(
            {
                "callback_query": {
                    "id": f"cq{next(_ids)}",
                    "from": user(user_id, "ru"),
                    "chat_instance": "42",
                    "data": data,
                    "message": message,
                }
            }
        )

    press(STRANGER, f"tag:{dialog.id}:spam")
    refused = await fake.wait_for("answerCallbackQuery")
    assert refused.params["show_alert"] is True
    press(OWNER, f"tag:{dialog.id}:sale")
    answer = await fake.wait_for("answerCallbackQuery", count=2)
    # Every copy of the alert is re-rendered from the stored dialog: its text and its buttons.
    edit = await fake.wait_for("editMessageText", lambda c: c.ok)

    assert answer.params["text"] == "Продажа записана. Ответьте на вопрос суммой"  # bot/sales.py asks it
    assert edit.params["reply_markup"]["inline_keyboard"][0][1]["text"] == "✅ Продажа"
    assert (edit.params["chat_id"], edit.params["message_id"]) == (OWNER, message["message_id"])
    assert edit.params["text"] == alert.params["text"] + "\n💰 Продажа: сумма не указана"
    stored = await store.get_dialog(dialog.id)
    assert stored is not None and stored.tags == ["sale"]


async def test_owner_defined_tags_are_buttons_too(
    run_bot: Callable[..., Any], fake: FakeTelegramAPI, store: SQLiteStore
) -> None:
    dialog = await queue_lead(store, at=datetime.now(UTC))
    await run_bot(lead_tags="VIP,перезвонить")
    alert = await fake.wait_for("sendMessage", to_chat(OWNER))
    message = alert.result
    rows = message["reply_markup"]["inline_keyboard"]
    assert [b["text"] for b in rows[0] + rows[1]] == ["Целевой", "Продажа", "Спам", "VIP", "перезвонить"]
    fake.push_update(
        {
            "callback_query": {
                "id": f"cq{next(_ids)}",
                "from": user(OWNER, "ru"),
                "chat_instance": "42",
                "data": f"tag:{dialog.id}:перезвонить",
                "message": message,
            }
        }
    )
    answer = await fake.wait_for("answerCallbackQuery")
    edit = await fake.wait_for("editMessageText", lambda c: c.ok)

    assert answer.params["text"] == "Тег «перезвонить» поставлен"
    assert edit.params["reply_markup"]["inline_keyboard"][1][1]["text"] == "✅ перезвонить"
    assert edit.params["reply_markup"]["inline_keyboard"][2][0]["callback_data"] == f"card:{dialog.id}"
    stored = await store.get_dialog(dialog.id)
    assert stored is not None and stored.tags == ["перезвонить"]


async def test_webhook_mode_registers_the_webhook_and_checks_its_secret(
    run_bot: Callable[..., Any], fake: FakeTelegramAPI, make_settings: Callable[..., Settings]
) -> None:
    runtime, url = await run_bot(public_url="https://leads.example.com")
    registered = await fake.wait_for("setWebhook")
    secret = webhook_secret(make_settings(telegram_bot_token=TOKEN))
    assert registered.params["url"] == "https://leads.example.com" + WEBHOOK_PATH
    assert registered.params["secret_token"] == secret == runtime.secret
    assert TOKEN not in str(secret) and secret != webhook_secret(make_settings(telegram_bot_token="1:other"))
    assert set(registered.params["allowed_updates"]) >= {"message", "callback_query"}

    async with aiohttp.ClientSession() as http:
        update = start_update(OWNER, "ru", "Ирина")
        headers = {"X-Telegram-Bot-Api-Secret-Token": "wrong"}
        async with http.post(url + WEBHOOK_PATH, json=update, headers=headers) as forged:
            assert forged.status == 401
        headers = {"X-Telegram-Bot-Api-Secret-Token": str(secret)}
        async with http.post(url + WEBHOOK_PATH, json=update, headers=headers) as genuine:
            assert genuine.status == 200
    greeting = await fake.wait_for("sendMessage", to_chat(OWNER))
    assert greeting.params["text"].startswith("Здравствуйте, Ирина!")
    assert len(fake.sent_messages()) == 1  # the forged update did nothing
    assert fake.calls_to("getUpdates") == []


async def test_configured_webhook_secret_is_used_as_is(run_bot: Callable[..., Any], fake: FakeTelegramAPI) -> None:
    await run_bot(public_url="https://leads.example.com/", telegram_webhook_secret="s3cret_from-env")
    registered = await fake.wait_for("setWebhook")
    assert registered.params["secret_token"] == "s3cret_from-env"
    assert registered.params["url"] == "https://leads.example.com/telegram/webhook"


async def test_without_a_token_only_the_outbox_runs(
    run_bot: Callable[..., Any], fake: FakeTelegramAPI, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="chattrack.bot")
    runtime, url = await run_bot(telegram_bot_token=None)
    assert runtime.bot is None and runtime.alerts.bot is None
    runtime.kick()  # the webhook's call after a new dialog must be harmless
    assert "CHATTRACK_TELEGRAM_BOT_TOKEN" in caplog.text
    async with aiohttp.ClientSession() as http, http.post(url + WEBHOOK_PATH, json={}) as response:
        assert response.status == 404
    assert fake.calls == []


async def test_whatsapp_message_reaches_the_owner_through_the_whole_server(
    fake: FakeTelegramAPI, start_server: Callable[..., Any], http: aiohttp.ClientSession
) -> None:
    # `fake` first: fixtures tear down in reverse, so the server stops polling before the API goes away.
    server: RunningServer = await start_server(
        telegram_bot_token=TOKEN, telegram_owner_ids=f"{OWNER},222", telegram_api_url=fake.url
    )
    response = await server.post_twilio(http, twilio_form("Здравствуйте! Хочу <диван> & доставку"))
    assert response.status == 200
    alerts = [await fake.wait_for("sendMessage", lead_alert_to(chat), timeout=1) for chat in (OWNER, 222)]

    for alert in alerts:
        assert alert.params["parse_mode"] == "HTML"
        assert "Хочу &lt;диван&gt; &amp; доставку" in alert.params["text"]
        assert "+7 916 123-45-67" in alert.params["text"]
        assert alert.params["reply_markup"]["inline_keyboard"][1][0]["callback_data"].startswith("card:")
    await server.app[BOT_RUNTIME].alerts.stop()  # lets the pass in flight mark them sent
    assert await server.store.pending_alerts() == 0


async def test_an_empty_webhook_secret_is_derived_from_the_token_and_still_checked(
    run_bot: Callable[..., Any], fake: FakeTelegramAPI, store: SQLiteStore
) -> None:
    # `CHATTRACK_TELEGRAM_WEBHOOK_SECRET=` once let a forged update run an owner's command unchecked.
    runtime, url = await run_bot(public_url="https://leads.example.com", telegram_webhook_secret=" ")
    registered = await fake.wait_for("setWebhook")
    assert registered.params["secret_token"] == runtime.secret and runtime.secret
    async with aiohttp.ClientSession() as http:
        update = start_update(OWNER, "ru", "Ирина")
        for headers in [{}, {"X-Telegram-Bot-Api-Secret-Token": ""}, {"X-Telegram-Bot-Api-Secret-Token": " "}]:
            async with http.post(url + WEBHOOK_PATH, json=update, headers=headers) as forged:
                assert forged.status == 401, headers
    assert fake.sent_messages() == []


async def test_a_five_thousand_character_name_gets_its_alert_and_recent_still_works(
    fake: FakeTelegramAPI, start_server: Callable[..., Any], http: aiohttp.ClientSession
) -> None:
    server: RunningServer = await start_server(
        telegram_bot_token=TOKEN, telegram_owner_ids=str(OWNER), telegram_api_url=fake.url
    )
    # Dialogs stored before names were bounded at ingest: /recent must bound them when it shows them.
    for minutes in range(8):
        await seed_dialog(server.store, datetime.now(UTC) - timedelta(minutes=10 + minutes), name="&" * 5000)
    name = ("Анна & <Co> " * 500)[:5000]
    response = await server.post_twilio(http, twilio_form("Здравствуйте!", ProfileName=name))
    assert response.status == 200

    alert = await fake.wait_for("sendMessage", lead_alert_to(OWNER), timeout=2)
    assert len(alert.params["text"]) <= 4096  # the markup as sent, escaping included
    assert "Анна &amp; &lt;Co&gt;" in alert.params["text"]
    [stored] = await server.store.find_dialogs(contact_id="+79161234567")
    assert stored.contact_name is not None and len(stored.contact_name) <= 256

    fake.push_update(
        {
            "message": {
                "message_id": next(_ids),
                "date": int(time.time()),
                "chat": {"id": OWNER, "type": "private", "first_name": "Ирина"},
                "from": user(OWNER, "ru", "Ирина"),
                "text": "/recent",
                "entities": [{"type": "bot_command", "offset": 0, "length": 7}],
            }
        }
    )
    recent = await fake.wait_for("sendMessage", lambda c: to_chat(OWNER)(c) and "Последние диалоги" in c.params["text"])
    assert len(recent.params["text"]) <= 4096
    assert html_to_text(recent.params["text"]).count("\n") == 8  # the title and eight dialogs, one line each
    assert {c.status for c in fake.calls_to("sendMessage")} == {200}  # the alert, the notice, the list


async def test_a_click_on_a_malformed_address_does_not_hold_back_the_lead_alert(
    fake: FakeTelegramAPI, start_server: Callable[..., Any], http: aiohttp.ClientSession
) -> None:
    server: RunningServer = await start_server(
        telegram_bot_token=TOKEN, telegram_owner_ids=str(OWNER), telegram_api_url=fake.url
    )
    now = datetime.now(UTC)
    view = PageView(code=new_code(), visitor_id="visitor-1", url="https://shop.example/?utm_campaign=sofa", at=now)
    code = await server.app[TRACKER].record_view(view)
    # Straight into the store, as /collect accepted it before it checked addresses.
    await server.store.record_click(Click(code=code, page="http://[", target="+79991234567", at=now), "visitor-1")

    response = await server.post_twilio(http, twilio_form(f"Здравствуйте! (код {code})"))
    assert response.status == 200

    alert = await fake.wait_for("sendMessage", lead_alert_to(OWNER), timeout=2)
    shown = html_to_text(alert.params["text"])
    assert "Написали со страницы: http://[" in shown and f"Источник точный: код {code}" in shown and "sofa" in shown
    assert alert.params["parse_mode"] == "HTML"  # the full alert, not the fallback
