"""Report commands driven through aiogram's long polling against the fake Bot API, on a real SQLite file.

The helpers here (the fake with getBusinessConnection, `Person`, `run_bot`, `add_staff`) serve the other
bot test files too.
"""

from __future__ import annotations

import itertools
import re
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiohttp import web

from bot.access import OWNER_MENU
from bot.alerts import card_messages
from bot.runtime import BotRuntime, setup_bot
from reports.render import TELEGRAM_LIMIT
from tests.fakes.telegram_api import ApiCall, BadRequest, FakeTelegramAPI, html_to_text
from tests.seed import seed_dialog, utc
from tracking.models import AttributionStatus, Channel, Messenger
from tracking.service import Tracker
from tracking.settings import Settings
from tracking.store.base import Invite, Store
from tracking.store.sqlite import SQLiteStore

TOKEN = "123456:TEST-token"
OWNER, STAFF, STRANGER = 111, 501, 999
BOT_USERNAME = "chattrack_test_bot"
NOW = utc("2026-11-26 09:00")  # Thursday 12:00 in Moscow; ISO week 48 is Mon 23 – Sun 29 November
A, B, C = "+79160000001", "+79160000002", "+79160000003"

_ids = itertools.count(1000)


class BotAPI(FakeTelegramAPI):
    """The fake Bot API, plus getBusinessConnection for connections the test registers."""

    def __init__(self) -> None:
        super().__init__(username=BOT_USERNAME)
        self.business_connections: dict[str, dict[str, Any]] = {}

    async def _answer(self, method: str, params: dict[str, Any], files: dict[str, bytes], token: str) -> Any:
        if method == "getbusinessconnection":
            connection = self.business_connections.get(str(params["business_connection_id"]))
            if connection is None:
                raise BadRequest("business connection not found")
            return connection
        return await super()._answer(method, params, files, token)


def user(user_id: int, lang: str | None = "ru", name: str = "Иван", username: str | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": name}
    if lang is not None:
        data["language_code"] = lang
    if username is not None:
        data["username"] = username
    return data


def to_chat(chat_id: int) -> Callable[[ApiCall], bool]:
    return lambda call: call.ok and call.params.get("chat_id") == chat_id


def shown(call: ApiCall, key: str = "text") -> str:
    """What the person sees: the message (or caption) as Telegram renders its HTML."""
    return html_to_text(str(call.params[key]))


@dataclass
class Person:
    """Someone talking to the bot in their private chat."""

    api: BotAPI
    id: int
    lang: str | None = "ru"
    name: str = "Иван"
    username: str | None = None
    _seen: dict[str, int] = field(default_factory=dict)

    @property
    def user(self) -> dict[str, Any]:
        return user(self.id, self.lang, self.name, self.username)

    def says(self, text: str, update_id: int | None = None, message_id: int | None = None) -> dict[str, Any]:
        message: dict[str, Any] = {
            "message_id": message_id or next(_ids),
            "date": int(time.time()),
            "chat": {"id": self.id, "type": "private", "first_name": self.name},
            "from": self.user,
            "text": text,
        }
        if text.startswith("/"):
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
        update = {"update_id": update_id or next(_ids), "message": message}
        self.api.push_update(update)
        return update

    def presses(self, data: str, message: dict[str, Any]) -> None:
        self.api.push_update(
            {
                "update_id": next(_ids),
                "callback_query": {
                    "id": f"cq{next(_ids)}",
                    "from": self.user,
                    "chat_instance": "42",
                    "data": data,
                    "message": message,
                },
            }
        )

    async def gets(self, method: str = "sendMessage") -> ApiCall:
        """The next call of `method` to this person's chat (counting what this test already read)."""
        self._seen[method] = self._seen.get(method, 0) + 1
        return await self.api.wait_for(method, to_chat(self.id), count=self._seen[method])

    async def reads(self, method: str = "sendMessage") -> str:
        return shown(await self.gets(method))


async def confirm(person: Person, asked: ApiCall, button: int = 0) -> str:
    """Press «Да, удалить» (0) or «Отмена» (1) under a question; what the question's message then says."""
    api = person.api
    message_id = asked.result["message_id"]
    edited = len(api.calls_to("editMessageText", lambda c: c.ok and c.params.get("message_id") == message_id))
    person.presses(asked.params["reply_markup"]["inline_keyboard"][0][button]["callback_data"], asked.result)
    edit = await api.wait_for(
        "editMessageText", lambda c: c.ok and c.params.get("message_id") == message_id, count=edited + 1
    )
    return shown(edit)


async def add_staff(store: Store, user_id: int = STAFF, name: str = "Мария", at: datetime = NOW) -> None:
    token = f"seeded-{user_id}-{next(_ids)}"
    await store.create_invite(Invite(token=token, created_by=OWNER, created_at=at, expires_at=at + timedelta(days=7)))
    assert await store.redeem_invite(token, user_id, name, None, at) is not None


@pytest.fixture
async def api() -> AsyncIterator[BotAPI]:
    fake = BotAPI()
    await fake.start()
    yield fake
    await fake.stop()


RunBot = Callable[..., Any]


@pytest.fixture
async def run_bot(store: SQLiteStore, api: BotAPI, make_settings: Callable[..., Settings]) -> AsyncIterator[RunBot]:
    """An aiohttp app with only the bot in it, long-polling the fake API. Depends on `api`, so it stops first."""
    runners: list[web.AppRunner] = []

    async def run(clock: Callable[[], datetime] | None = None, **overrides: Any) -> BotRuntime:
        values: dict[str, Any] = {
            "telegram_bot_token": TOKEN,
            "telegram_owner_ids": str(OWNER),
            "telegram_api_url": api.url,
            **overrides,
        }
        settings = make_settings(**values)
        app = web.Application()
        options: dict[str, Any] = {"tracker": Tracker(store, settings)}
        if clock is not None:
            options["clock"] = clock
        runtime = setup_bot(app, settings, store, **options)
        runner = web.AppRunner(app, shutdown_timeout=1)
        await runner.setup()
        runners.append(runner)
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        return runtime

    yield run
    for runner in runners:
        await runner.cleanup()


async def seed_week(store: Store) -> None:
    """Dialogs around ISO week 48 of 2026 (Moscow); comments give the local time."""
    await seed_dialog(store, utc("2026-11-10 12:00"), channel=Channel.EMAIL, source="newsletter")  # Nov 10
    await seed_dialog(store, utc("2026-11-16 10:00"), contact=A, channel=Channel.PAID_SEARCH)  # last week
    await seed_dialog(store, utc("2026-11-22 20:30"), channel=Channel.DIRECT)  # Sun 23:30: last week
    await seed_dialog(
        store, utc("2026-11-22 21:30"), contact=B, channel=Channel.ORGANIC_SEARCH, source="google", code="7K3M9QE"
    )  # Mon 00:30: this week
    await seed_dialog(
        store, utc("2026-11-24 08:00"), contact=A, name="Анна", channel=Channel.PAID_SEARCH, source="yandex"
    )  # a repeat
    await seed_dialog(store, utc("2026-11-26 08:30"), contact=C, channel=Channel.PAID_SEARCH, source="yandex")
    await seed_dialog(store, utc("2026-11-26 10:00"), channel=Channel.REFERRAL)  # after "now": not yet


# /stats ------------------------------------------------------------------------------------------


async def test_a_staff_member_asks_stats_week_and_gets_the_right_numbers(
    run_bot: RunBot, api: BotAPI, store: SQLiteStore
) -> None:
    await seed_week(store)
    await add_staff(store)
    await run_bot(clock=lambda: NOW)
    maria = Person(api, STAFF, "en", "Maria")

    maria.says("/stats week")
    answer = await maria.reads()

    assert answer.startswith("Summary · Nov 23–26, 2026 (so far)")
    assert "Dialogs: 3\nNew: 2 (67%)\nRepeat: 1 (33%)" in answer
    assert "1. Paid search — 2 (67%) · new 1" in answer
    assert "2. Organic search — 1 (33%) · new 1" in answer
    assert "Total: 3" in answer


async def test_stats_in_russian_for_a_date_range_and_a_named_period(
    run_bot: RunBot, api: BotAPI, store: SQLiteStore
) -> None:
    await seed_week(store)
    await run_bot(clock=lambda: NOW)
    owner = Person(api, OWNER, "ru", "Ирина")

    owner.says("/stats 2026-11-01..2026-11-15")
    november = await owner.reads()
    owner.says("/stats прошлая неделя")
    last_week = await owner.reads()
    owner.says("/stats")  # today so far
    today = await owner.reads()

    assert november.startswith("Сводка · 1–15 ноя 2026")
    assert "Диалоги: 1\n" in november and "1. Рассылки — 1" in november
    assert "Диалоги: 2\n" in last_week and "16–22 ноя 2026" in last_week
    assert "Диалоги: 1\n" in today and "26 ноя 2026 (пока)" in today


async def test_a_period_the_bot_does_not_know_is_explained(run_bot: RunBot, api: BotAPI) -> None:
    await run_bot(clock=lambda: NOW)
    owner = Person(api, OWNER, "en")

    owner.says("/stats fortnight")

    answer = await owner.reads()
    assert answer.startswith("I don't know the period “fortnight”.")
    assert "2026-11-01..2026-11-15" in answer


# other reports -----------------------------------------------------------------------------------


async def test_channels_pages_and_compare(run_bot: RunBot, api: BotAPI, store: SQLiteStore) -> None:
    await seed_dialog(store, utc("2026-11-24 08:00"), channel=Channel.PAID_SEARCH, source="yandex",
                      campaign="winter", contact_page="https://shop.example/price")  # fmt: skip
    await seed_dialog(store, utc("2026-11-25 08:00"), channel=Channel.PAID_SEARCH, source="google",
                      campaign="winter", contact_page="https://shop.example/price",
                      landing_page="https://shop.example/sale")  # fmt: skip
    await seed_dialog(store, utc("2026-11-17 08:00"), channel=Channel.DIRECT)  # last week
    await run_bot(clock=lambda: NOW)
    owner = Person(api, OWNER, "en")

    owner.says("/channels week")
    channels = await owner.reads()
    owner.says("/channels campaign week")
    campaigns = await owner.reads()
    owner.says("/pages week")
    contact_pages = await owner.reads()
    owner.says("/pages landing week")
    landing = await owner.reads()
    owner.says("/compare week")
    comparison = await owner.reads()

    assert channels.startswith("Channels · Nov 23–26, 2026 (so far)") and "1. Paid search — 2 (100%)" in channels
    assert campaigns.startswith("Drill-down: Campaign") and "1. winter — 2 (100%)" in campaigns
    assert contact_pages.startswith("Pages of contact") and "1. shop.example/price — 2" in contact_pages
    assert "1. shop.example/sale — 1 (50%)" in landing and "2. (not set) — 1 (50%)" in landing
    assert "A: Nov 23–26, 2026 (so far)" in comparison and "B: Nov 16–19, 2026" in comparison
    assert "Dialogs: 2 vs 1 — +1 (+100%)" in comparison


async def test_report_sends_a_png_chart_with_a_caption_then_the_totals(
    run_bot: RunBot, api: BotAPI, store: SQLiteStore
) -> None:
    await seed_week(store)
    await run_bot(clock=lambda: NOW)
    owner = Person(api, OWNER, "ru")

    owner.says("/report week")
    photo = await owner.gets("sendPhoto")
    details = await owner.reads()

    png = photo.params["photo"]
    assert isinstance(png, bytes) and png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 10_000
    caption = shown(photo, "caption")
    assert caption.startswith("Сводка · 23–26 ноя 2026 (пока)") and "Диалоги: 3" in caption
    assert details.startswith("Каналы") and "1. Платный поиск — 2" in details


async def test_report_over_an_empty_period_sends_no_chart(run_bot: RunBot, api: BotAPI) -> None:
    await run_bot(clock=lambda: NOW)
    owner = Person(api, OWNER, "en")

    owner.says("/report 2025-01")

    assert await owner.reads() == "Summary · Jan 1–31, 2025\nDialogs: 0"
    assert api.calls_to("sendPhoto") == []


# dialogs -----------------------------------------------------------------------------------------


async def test_dialog_by_code_shows_the_full_card(run_bot: RunBot, api: BotAPI, store: SQLiteStore) -> None:
    await seed_week(store)
    await run_bot(clock=lambda: NOW)
    owner = Person(api, OWNER, "ru")

    owner.says("/dialog 7k3m9qe")  # any case, as people type it
    card = await owner.gets()

    text = shown(card)
    assert text.startswith("Карточка диалога")
    assert "Канал: Поиск без рекламы" in text and "Источник: Google" in text
    assert "Откуда клиент: точно, по коду из ссылки 7K3M9QE" in text
    assert "+7 916 000-00-02" in text
    buttons = card.params["reply_markup"]["inline_keyboard"]
    assert [b["text"] for b in buttons[0]] == ["Целевой", "Продажа", "Спам"]
    # No "card" button under the card itself; «Беру» while nobody took the lead (bot/team.py).
    assert [[b["text"] for b in row] for row in buttons[1:]] == [["✋ Беру"]]


async def test_dialog_by_phone_lists_the_contacts_dialogs_to_open(
    run_bot: RunBot, api: BotAPI, store: SQLiteStore
) -> None:
    await seed_week(store)
    await run_bot(clock=lambda: NOW)
    owner = Person(api, OWNER, "en")

    owner.says("/dialog 8 916 000-00-01")  # contact A, written the Russian way
    listing = await owner.gets()
    first = listing.params["reply_markup"]["inline_keyboard"][0][0]
    owner.presses(first["callback_data"], listing.result)
    card = await owner.reads()
    owner.says("/dialog 0000000")
    missing = await owner.reads()
    owner.says("/dialog")
    usage = await owner.reads()

    assert shown(listing).startswith("2 dialogs found. Open one:")
    assert "1. Nov 24, 11:00 — Анна 🔁 — Paid search · Yandex" in shown(listing)
    assert card.startswith("Dialog card") and "repeat customer" in card and "Earlier dialogs (1):" in card
    assert missing == "Dialog not found"
    assert usage.startswith("Give a code or a phone")


async def test_recent_pages_through_dialogs_newest_first(run_bot: RunBot, api: BotAPI, store: SQLiteStore) -> None:
    for i in range(10):
        await seed_dialog(store, utc("2026-11-20 08:00") + timedelta(hours=i), name=f"Клиент {i}")
    await run_bot(clock=lambda: NOW)
    owner = Person(api, OWNER, "en")

    owner.says("/recent")
    first = await owner.gets()
    rows = first.params["reply_markup"]["inline_keyboard"]
    owner.presses(rows[-1][-1]["callback_data"], first.result)
    edit = await api.wait_for("editMessageText", lambda c: c.ok)

    page1, page2 = shown(first), html_to_text(edit.params["text"])
    assert page1.splitlines()[0] == "Latest dialogs"
    assert [line.split(" — ")[1] for line in page1.splitlines()[1:]] == [f"Клиент {i}" for i in range(9, 1, -1)]
    assert [b["text"] for b in rows[0]] == ["1", "2", "3", "4", "5"] and rows[-1][-1]["text"] == "Older ▶"
    assert [line.split(" — ")[1] for line in page2.splitlines()[1:]] == ["Клиент 1", "Клиент 0"]
    nav = edit.params["reply_markup"]["inline_keyboard"][-1]
    assert [b["text"] for b in nav] == ["◀ Newer"]
    assert edit.params["reply_markup"]["inline_keyboard"][0][0]["text"] == "1"


def names_on(page: str) -> list[str]:
    return [line.split(" — ")[1].removesuffix(" 🔁") for line in page.splitlines()[1:] if re.match(r"\d+\. ", line)]


async def turn(person: Person, page: ApiCall | dict[str, Any], label: str) -> dict[str, Any]:
    """Press the navigation button `label` under a /recent page; the page it becomes (as the fake keeps it)."""
    message = page.result if isinstance(page, ApiCall) else page
    buttons = [b for row in message["reply_markup"]["inline_keyboard"] for b in row if b["text"] == label]
    assert buttons, f"no {label!r} button"
    edits = len(person.api.calls_to("editMessageText", lambda c: c.ok))
    person.presses(buttons[0]["callback_data"], message)
    edit = await person.api.wait_for("editMessageText", lambda c: c.ok, count=edits + 1)
    result: dict[str, Any] = edit.result
    return result


async def test_recent_reaches_every_dialog_past_the_old_200_and_comes_back(
    run_bot: RunBot, api: BotAPI, store: SQLiteStore
) -> None:
    for i in range(212):  # more than the 25 pages of 8 /recent used to stop at
        await seed_dialog(store, utc("2026-11-01 00:00") + timedelta(hours=i), name=f"Клиент {i}")
    await run_bot(clock=lambda: NOW)
    owner = Person(api, OWNER, "ru")

    owner.says("/recent")
    first = await owner.gets()
    seen = names_on(shown(first))
    page: dict[str, Any] = first.result
    for _ in range(26):
        page = await turn(owner, page, "Старше ▶")
        seen += names_on(html_to_text(page["text"]))
    labels = [b["text"] for b in page["reply_markup"]["inline_keyboard"][-1]]
    back = await turn(owner, page, "◀ Новее")

    assert seen == [f"Клиент {i}" for i in range(211, -1, -1)]  # every one, once, newest first
    assert labels == ["◀ Новее"]  # the oldest page: nothing older
    assert names_on(html_to_text(back["text"])) == [f"Клиент {i}" for i in range(11, 3, -1)]


async def test_recent_jumps_to_a_date(run_bot: RunBot, api: BotAPI, store: SQLiteStore) -> None:
    for i in range(72):  # three days, one an hour, from midnight of 1 November in Moscow
        await seed_dialog(store, utc("2026-10-31 21:00") + timedelta(hours=i), name=f"Клиент {i}")
    await run_bot(clock=lambda: NOW)
    owner = Person(api, OWNER, "ru")

    owner.says("/recent 2026-11-02")
    jumped = await owner.gets()
    newer = await turn(owner, jumped, "◀ Новее")

    assert shown(jumped).splitlines()[0] == "Диалоги по 2 ноя 2026"
    assert names_on(shown(jumped)) == [f"Клиент {i}" for i in range(47, 39, -1)]  # 2 Nov, 23:00 down
    assert names_on(html_to_text(newer["text"])) == [f"Клиент {i}" for i in range(55, 47, -1)]  # 3 Nov


async def test_recent_finds_by_name_in_any_case_by_phone_in_any_format_and_by_code(
    run_bot: RunBot, api: BotAPI, store: SQLiteStore
) -> None:
    for i in range(30):
        await seed_dialog(store, utc("2026-11-01 08:00") + timedelta(hours=i), name=f"Клиент {i}")
    for i in range(10):
        await seed_dialog(store, utc("2026-11-01 08:30") + timedelta(hours=i), name=f"Анна Петрова {i}")
    await seed_dialog(store, utc("2026-11-03 09:00"), contact=A, name="Ольга", code="7K3M9QE")
    await seed_dialog(store, utc("2026-11-04 09:00"), contact=A, name="Ольга")
    await add_staff(store)
    await run_bot(clock=lambda: NOW)
    owner, maria = Person(api, OWNER, "ru"), Person(api, STAFF, "en")

    owner.says("/recent аННа")
    names = await owner.gets()
    more = await turn(owner, names, "Старше ▶")
    owner.says("/recent 8 (916) 000-00-01")
    phone = await owner.reads()
    maria.says("/recent 7k3m9qe")
    code = await maria.reads()
    owner.says("/recent Зинаида")
    nothing = await owner.reads()

    assert shown(names).splitlines()[0] == "Поиск: аННа"
    assert names_on(shown(names)) == [f"Анна Петрова {i}" for i in range(9, 1, -1)]
    assert names_on(html_to_text(more["text"])) == ["Анна Петрова 1", "Анна Петрова 0"]
    assert names_on(phone) == ["Ольга", "Ольга"]
    assert code.splitlines()[0] == "Search: 7k3m9qe" and names_on(code) == ["Ольга"]
    assert nothing.startswith("Ничего не нашлось: Зинаида.") and "/recent 15.11" in nothing


async def test_a_name_search_goes_on_past_the_scan_with_a_button(
    run_bot: RunBot, api: BotAPI, store: SQLiteStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    await seed_dialog(store, utc("2026-11-01 08:00"), name="Анна")
    for i in range(12):
        await seed_dialog(store, utc("2026-11-02 08:00") + timedelta(hours=i), name=f"Клиент {i}")
    monkeypatch.setattr("bot.recent.NAME_SCAN", 5)  # one page looks through five names
    await run_bot(clock=lambda: NOW)
    owner = Person(api, OWNER, "ru")

    owner.says("/recent анна")
    first = await owner.gets()
    pages = [await turn(owner, first, "Искать дальше ▶")]
    pages.append(await turn(owner, pages[-1], "Искать дальше ▶"))

    assert names_on(shown(first)) == [] and "Искать дальше" in shown(first)
    assert names_on(html_to_text(pages[-1]["text"])) == ["Анна"]


async def test_the_alerts_card_button_opens_the_full_card(run_bot: RunBot, api: BotAPI, store: SQLiteStore) -> None:
    dialog = await seed_dialog(
        store,
        utc("2026-11-26 08:00"),
        name="Анна",
        channel=Channel.PAID_SEARCH,
        source="yandex",
        status=AttributionStatus.EXACT,
        text="Сколько стоит диван <угловой> & доставка?",
    )
    await run_bot(clock=lambda: NOW)
    staff = Person(api, OWNER, "en")
    alert_like = {"message_id": 1, "date": 0, "chat": {"id": OWNER, "type": "private"}, "text": "lead"}

    staff.presses(f"card:{dialog.id}", alert_like)
    card = await staff.reads()

    assert card.startswith("Dialog card")
    assert "Сколько стоит диван <угловой> & доставка?" in card  # escaped on the way, shown as typed
    assert "Paid search" in card


# /summary, /help, the menu -----------------------------------------------------------------------


async def test_summary_time_is_chosen_shown_and_turned_off(run_bot: RunBot, api: BotAPI, store: SQLiteStore) -> None:
    await run_bot(clock=lambda: NOW, summary_time="21:00")  # later than NOW: no summary is due yet
    owner = Person(api, OWNER, "ru")

    owner.says("/summary")
    default = await owner.reads()
    owner.says("/summary 8.30")
    chosen = await owner.reads()
    owner.says("/summary 25:00")
    wrong = await owner.reads()
    choices = await store.summary_choices()
    owner.says("/summary off")
    off = await owner.reads()

    assert default.startswith("Сводка приходит в 21:00 (МСК)")
    assert chosen == "Ежедневная сводка за вчера будет приходить в 08:30 (МСК). Ближайшая — 27 ноя, 08:30."
    assert wrong.startswith("Не понял время «25:00»")
    assert [(c.user_id, c.at, c.lang, c.chosen_at) for c in choices] == [(OWNER, "08:30", "ru", NOW)]
    assert off.startswith("Ежедневная сводка отключена")
    assert [c.at for c in await store.summary_choices()] == [None]


async def test_help_and_the_menu_differ_for_owners_and_staff(run_bot: RunBot, api: BotAPI, store: SQLiteStore) -> None:
    await add_staff(store)
    await run_bot(clock=lambda: NOW)
    owner, maria = Person(api, OWNER, "en"), Person(api, STAFF, "ru", "Мария")

    owner.says("/help")
    owner_help = await owner.reads()
    maria.says("/help")
    staff_help = await maria.reads()
    await api.wait_for("setMyCommands", lambda c: c.ok, count=4)

    assert "/invite" in owner_help and "/stats week" in owner_help
    assert "/invite" not in staff_help and "/stats неделя" in staff_help
    menus = {
        (c.params["scope"]["chat_id"], c.params.get("language_code")): [x["command"] for x in c.params["commands"]]
        for c in api.calls_to("setMyCommands")
    }
    assert all(c.params["scope"]["type"] == "chat" for c in api.calls_to("setMyCommands"))
    assert menus[(OWNER, "ru")] == menus[(OWNER, None)] and menus[(STAFF, "ru")] == menus[(STAFF, None)]
    assert menus[(OWNER, None)][-len(OWNER_MENU) :] == list(OWNER_MENU)  # "invite", "staff", "forget"…
    assert "stats" in menus[(STAFF, None)] and "invite" not in menus[(STAFF, None)]
    descriptions = {
        c.params.get("language_code"): c.params["commands"][0]["description"] for c in api.calls_to("setMyCommands")
    }
    assert descriptions == {"ru": "Сводка за период: /stats неделя", None: "Totals for a period: /stats week"}


async def test_a_card_longer_than_one_message_arrives_in_valid_parts(
    run_bot: RunBot, api: BotAPI, store: SQLiteStore
) -> None:
    long = {name: name + ":" + "х" * 300 for name in (
        "source", "medium", "campaign", "content", "term", "referrer", "landing_page", "contact_page",
        "region", "os", "browser", "device", "screen", "language",
    )}  # fmt: skip
    dialog = await seed_dialog(store, utc("2026-11-24 08:00"), code="7K3M9QE", text="<b>" * 400, **long)  # type: ignore[arg-type]
    expected = await card_messages(store, dialog, "ru", ZoneInfo("Europe/Moscow"))
    assert expected is not None and len(expected) == 2  # the case this test is about
    await run_bot(clock=lambda: NOW)
    owner = Person(api, OWNER, "ru")

    owner.says("/dialog 7K3M9QE")
    parts = [await owner.gets(), await owner.gets()]

    assert [p.params["text"] for p in parts] == expected
    assert all(len(shown(p)) <= TELEGRAM_LIMIT for p in parts)  # the fake refuses longer ones anyway
    assert "reply_markup" not in parts[0].params and "inline_keyboard" in parts[1].params["reply_markup"]
    assert "&lt;b&gt;" in parts[0].params["text"] + parts[1].params["text"]


async def test_a_removed_or_unknown_command_gets_the_help_hint_for_members(run_bot: RunBot, api: BotAPI) -> None:
    await run_bot(clock=lambda: NOW)
    owner = Person(api, OWNER, "en")

    owner.says("/frobnicate")
    owner.says("hello")

    assert await owner.reads() == "I don't know that command. The list: /help"
    assert await owner.reads() == "I don't know that command. The list: /help"


# /forget -----------------------------------------------------------------------------------------


async def test_an_owner_erases_a_contact_named_as_alerts_and_cards_show_it(
    run_bot: RunBot, api: BotAPI, store: SQLiteStore
) -> None:
    await seed_week(store)

    async def telegram_customer(contact: str, name: str) -> None:
        await seed_dialog(store, NOW, contact=contact, name=name, messenger=Messenger.TELEGRAM, business_number="@shop")

    await telegram_customer("tg:777", "Ольга (@Olga_Flowers)")
    await telegram_customer("tg:778", "Пётр")
    await telegram_customer("tg:779", "Мария (@maria_k)")
    await run_bot(clock=lambda: NOW)
    owner = Person(api, OWNER, "ru")

    answers = []
    named = (
        "@olga_flowers",
        "778",
        "tg:779",
        "8 (916) 000-00-01",
        "+7 916 000 00 03",
        "@nobody_here",
        "<Оля & Co>",
        "",
    )
    for index, who in enumerate(named):
        owner.says(f"/forget {who}".strip())
        asked = await owner.gets()
        answers.append(await confirm(owner, asked) if index < 5 else shown(asked))

    assert answers[:5] == [
        "Удалено всё о пользователе Telegram 777: диалогов — 1, с сообщениями, уведомлениями и визитами.",
        "Удалено всё о пользователе Telegram 778: диалогов — 1, с сообщениями, уведомлениями и визитами.",
        "Удалено всё о пользователе Telegram 779: диалогов — 1, с сообщениями, уведомлениями и визитами.",
        "Удалено всё о +7 916 000-00-01: диалогов — 2, с сообщениями, уведомлениями и визитами.",
        "Удалено всё о +7 916 000-00-03: диалогов — 1, с сообщениями, уведомлениями и визитами.",
    ]
    assert answers[5] == "О @nobody_here ничего не сохранено."
    assert answers[6] == "О <Оля & Co> ничего не сохранено."  # shown as typed: escaped once, not twice
    assert answers[7].startswith("Напишите телефон контакта")
    for contact in ("tg:777", "tg:778", "tg:779", A, C):
        assert await store.find_dialogs(contact_id=contact) == []
    assert len(await store.find_dialogs(contact_id=B)) == 1  # nobody else


# first steps -------------------------------------------------------------------------------------


async def test_start_tells_an_owner_the_steps_not_taken_and_staff_none(
    run_bot: RunBot, api: BotAPI, store: SQLiteStore
) -> None:
    await add_staff(store)
    # The demo off: its step (tests/test_demo.py) would come first
    await run_bot(clock=lambda: NOW, greenapi_webhook_token="green-secret", twilio_auth_token=None, demo="off")
    owner, maria = Person(api, OWNER, "ru", "Ирина"), Person(api, STAFF, "en", "Maria")

    owner.says("/start")
    steps = await owner.reads()
    maria.says("/start")
    staff = await maria.reads()
    owner.says("/recent")
    empty = await owner.reads()
    owner.says("/stats неделя")
    no_dialogs = await owner.reads()
    maria.says("/channels week")
    staff_report = await maria.reads()

    assert steps.startswith("Здравствуйте, Ирина!")
    assert "С чего начать\n\n1. Укажите адрес сервера в интернете в настройке CHATTRACK_PUBLIC_URL" in steps
    assert "2. Подключите WhatsApp: в личном кабинете сервиса, через который он работает, укажите адрес" in steps
    assert "сообщений:\nGreen-API: /webhooks/greenapi\n\n3." in steps
    assert "3. Включите ежедневную сводку: /summary 09:00" in steps
    assert "Twilio" not in steps  # only the provider in use
    assert staff == "Hello, Maria! Lead reports are at your service: /help"
    assert empty.startswith("Диалогов пока нет.\n\nС чего начать")
    assert "Диалоги: 0" in no_dialogs and "С чего начать" in no_dialogs  # an empty report teaches the owner
    assert "1. " not in staff_report and "Green-API" not in staff_report  # staff cannot take those steps


async def test_the_steps_give_the_tag_and_go_once_each_is_done(store: SQLiteStore) -> None:
    from bot.onboarding import Onboarding
    from tracking.models import PageView
    from tracking.store.base import SummaryChoice

    public = "https://leads.example.com"
    onboarding = Onboarding(store, public, (), None)

    first = html_to_text(await onboarding.steps(OWNER, "en"))
    await store.record_page_view(PageView(code="7K3M9QE", visitor_id="v1", url="https://shop.example/", at=NOW))
    second = html_to_text(await onboarding.steps(OWNER, "en"))
    await seed_dialog(store, NOW)
    await store.set_summary_choice(SummaryChoice(user_id=OWNER, at="09:00", chosen_at=NOW))

    assert f'<script async src="{public}/t.js"></script>' in first
    assert f"Green-API: CHATTRACK_GREENAPI_WEBHOOK_TOKEN, {public}/webhooks/greenapi" in first
    assert f"any other platform: CHATTRACK_GENERIC_WEBHOOK_SECRET, {public}/webhooks/generic" in first
    assert "/t.js" not in second and "1. Connect WhatsApp" in second and "2. Turn on the daily summary" in second
    assert await onboarding.steps(OWNER, "en") == ""
