"""The dashboard's dialog list and card over HTTP: the list (newest first, the page's period and filters,
paged), the search (phone, code, name), the card's fields as the bot labels them, and each change (tags, sale
amounts, the taker) with its refusals; a tag changed on the page edits the lead alert in Telegram."""

from __future__ import annotations

import html
import os
import re
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

import aiohttp
import pytest
from playwright.async_api import Browser

from bot.runtime import BOT_RUNTIME
from dashboard.dialogs import PAGE_SIZE
from dashboard.texts import TEXTS
from tests.browser import browser, collect_errors  # noqa: F401
from tests.conftest import RunningServer
from tests.dashboard_helpers import OWNER_ID, csrf_of, session_cookie
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.seed import seed_dialog
from tests.test_outbox import OWNER, queue_lead
from tests.test_outbox import TOKEN as BOT_TOKEN
from tracking.models import Attribution, AttributionStatus, Channel, Sale, Visit
from tracking.store.base import StaffMember

STAFF, OTHER_STAFF = 2002, 2003
NOW = datetime.now(UTC)
SCREENSHOTS = os.environ.get("CHATTRACK_SCREENSHOTS")  # read at import: the tests' fixture clears CHATTRACK_*


@pytest.fixture
async def server(start_server: Callable[..., Any]) -> RunningServer:
    running: RunningServer = await start_server(telegram_owner_ids=str(OWNER_ID))
    for user_id, name in ((STAFF, "Мария"), (OTHER_STAFF, "Пётр")):
        await running.store.add_staff(StaffMember(user_id=user_id, name=name, added_at=NOW, added_by=OWNER_ID))
    return running


@pytest.fixture
async def owner(server: RunningServer) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(base_url=server.url, cookies=await session_cookie(server)) as client:
        yield client


async def client_of(server: RunningServer, user_id: int, lang: Any = "ru") -> aiohttp.ClientSession:
    return aiohttp.ClientSession(base_url=server.url, cookies=await session_cookie(server, user_id, lang=lang))


async def page(client: aiohttp.ClientSession, url: str, status: int = 200) -> str:
    async with client.get(url) as response:
        body = await response.text()
        assert response.status == status, body
        return body


def listed(body: str) -> list[str]:
    return re.findall(r'data-dialog="([0-9a-f]{32})"', body)


def more_link(body: str) -> str | None:
    found = re.search(r'class="d-more" href="([^"]+)"', body)
    return html.unescape(found.group(1)) if found else None


def text_of(body: str) -> str:
    """The page's words without markup, spaces squeezed (for asserting what a person reads)."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", body)).split())


async def post(
    client: aiohttp.ClientSession, url: str, form: dict[str, Any] | list[tuple[str, str]], **options: Any
) -> tuple[int, str, str | None]:
    async with client.post(url, data=form, allow_redirects=False, **options) as response:
        return response.status, await response.text(), response.headers.get("Location")


async def card_and_csrf(client: aiohttp.ClientSession, dialog_id: str) -> tuple[str, str]:
    body = await page(client, f"/dashboard/dialogs/{dialog_id}")
    return body, csrf_of(body)


# the list -----------------------------------------------------------------------------------------------


async def test_list_is_newest_first_within_the_period_and_filters(
    server: RunningServer, owner: aiohttp.ClientSession
) -> None:
    store = server.store
    old = await seed_dialog(store, NOW - timedelta(days=40), name="Давний")
    paid = await seed_dialog(store, NOW - timedelta(hours=3), channel=Channel.PAID_SEARCH, source="yandex")
    spam = await seed_dialog(store, NOW - timedelta(hours=2), tags=["spam"])
    direct = await seed_dialog(store, NOW - timedelta(hours=1), name="Анна")

    body = await page(owner, "/dashboard/dialogs")  # the page's default period: 30 days
    assert listed(body) == [direct.id, paid.id]  # newest first; spam and the old one left out
    assert "Анна" in body and "Давний" not in body
    assert more_link(body) is None

    body = await page(owner, "/dashboard/dialogs?period=90d&spam=include")
    assert listed(body) == [direct.id, spam.id, paid.id, old.id]

    body = await page(owner, "/dashboard/dialogs?channel=paid_search")
    assert listed(body) == [paid.id]
    words = text_of(body)
    assert "Канал: Платный поиск" in words and "Платный поиск · Яндекс" in words
    removal = re.search(r'<a href="([^"]+)" aria-label="Убрать фильтр «Канал»"', body)
    assert removal is not None and "channel=" not in removal.group(1)
    card_link = f"/dashboard/dialogs/{paid.id}?channel=paid_search"
    assert f'href="{card_link}"' in body  # a card keeps the page's choices for the way back

    body = await page(owner, "/dashboard/dialogs?tag=spam")  # the tag asked for is never left out
    assert listed(body) == [spam.id]
    assert "За этот период заявок нет" in await page(owner, "/dashboard/dialogs?period=today&channel=email")


async def test_list_pages_with_more_and_refuses_a_bad_cursor(
    server: RunningServer, owner: aiohttp.ClientSession
) -> None:
    seeded = [await seed_dialog(server.store, NOW - timedelta(minutes=10 + i)) for i in range(PAGE_SIZE + 5)]
    seeded += [await seed_dialog(server.store, NOW - timedelta(minutes=500 + i), tags=["spam"]) for i in range(3)]

    first = await page(owner, "/dashboard/dialogs?period=7d")
    assert listed(first) == [d.id for d in seeded[:PAGE_SIZE]]
    more = more_link(first)
    assert more is not None and "period=7d" in more

    second = await page(owner, more)
    assert listed(second) == [d.id for d in seeded[PAGE_SIZE : PAGE_SIZE + 5]]  # the spam ones left out
    assert more_link(second) is None

    async with owner.get("/dashboard/dialogs?cursor=%%%") as response:
        assert response.status == 400
        assert "cursor" in await response.text()
    async with owner.get("/dashboard/dialogs?period=someday") as response:
        assert response.status == 400  # the page's period is checked as the API checks it
    async with owner.get("/dashboard/dialogs?nonsense=1") as response:
        assert response.status == 400 and "nonsense" in await response.text()


async def test_search_by_phone_code_and_name_looks_through_every_dialog(
    server: RunningServer, owner: aiohttp.ClientSession
) -> None:
    store = server.store
    earlier = await seed_dialog(store, NOW - timedelta(days=100), contact="+79161234567", name="Анна Петрова")
    later = await seed_dialog(store, NOW - timedelta(hours=1), contact="+79161234567", name="Анна Петрова")
    other = await seed_dialog(store, NOW - timedelta(hours=2), name="Борис", contact="+79160000099")

    body = await page(owner, "/dashboard/dialogs?q=8+(916)+123-45-67")  # as people write it
    assert listed(body) == [later.id, earlier.id]  # whatever the period
    assert "+7 916 123-45-67" in body and "Поиск идёт по всем заявкам" in text_of(body)

    assert other.code is not None
    body = await page(owner, f"/dashboard/dialogs?q={other.code.lower()}")
    assert listed(body) == [other.id]

    body = await page(owner, "/dashboard/dialogs?q=петров")  # a part of a name, any case
    assert listed(body) == [later.id, earlier.id]

    body = await page(owner, "/dashboard/dialogs?q=Зинаида")
    assert listed(body) == [] and "По запросу «Зинаида» ничего не найдено" in text_of(body)
    async with owner.get("/dashboard/dialogs", params={"q": "я" * 65}) as response:
        assert response.status == 400


async def test_name_search_pages_too(server: RunningServer, owner: aiohttp.ClientSession) -> None:
    found = [
        await seed_dialog(server.store, NOW - timedelta(minutes=i), name=f"Ольга {i}") for i in range(PAGE_SIZE + 2)
    ]
    await seed_dialog(server.store, NOW, name="Кирилл")
    first = await page(owner, "/dashboard/dialogs?q=ольга")
    assert listed(first) == [d.id for d in found[:PAGE_SIZE]]
    more = more_link(first)
    assert more is not None and "q=" in more
    second = await page(owner, more)
    assert listed(second) == [d.id for d in found[PAGE_SIZE:]]


async def test_the_lists_filters_read_as_the_reports_page_says_them(
    server: RunningServer, owner: aiohttp.ClientSession
) -> None:
    """Each filter's chip in words, the same words as on the reports page: an attribution status, a taker."""
    query = f"?period=30d&status=exact&taken_by={STAFF}&customer=repeat"
    listed_chips = text_of(await page(owner, "/dashboard/dialogs" + query))
    reports_chips = text_of(await page(owner, "/dashboard" + query))
    for words in ("точно, по коду из ссылки", "Мария", "повторный"):
        assert words in listed_chips and words in reports_chips, words
    assert "exact" not in listed_chips and "exact" not in reports_chips


async def test_the_list_holds_the_dialogs_the_reports_count(start_server: Callable[..., Any]) -> None:
    """Every number of the page links to the list with its filters: the list holds exactly what the API
    counts for the same choices (probable matches hidden or not, tags left out, demo leads never)."""
    server: RunningServer = await start_server(telegram_owner_ids=str(OWNER_ID), api_token="t0ken")
    store = server.store
    await seed_dialog(store, NOW - timedelta(hours=1), channel=Channel.PAID_SEARCH, source="yandex")
    await seed_dialog(
        store, NOW - timedelta(hours=2), channel=Channel.PAID_SEARCH, source="yandex", status=AttributionStatus.PROBABLE
    )
    await seed_dialog(store, NOW - timedelta(hours=3), channel=Channel.PAID_SEARCH, tags=["spam"])
    await seed_dialog(store, NOW - timedelta(hours=4), tags=["qualified"])
    await seed_dialog(store, NOW - timedelta(hours=5), contact_page="shop.example/price")
    choices = [
        {},
        {"channel": "paid_search"},
        {"channel": "paid_search", "probable": "false"},
        {"channel": "unattributed", "probable": "false"},
        {"source": "yandex", "spam": "include"},
        {"tag": "qualified"},
        {"tag": "spam"},
        {"contact_page": "https://shop.example/price?utm_source=x"},  # a page as the browser sent it
    ]
    async with await client_of(server, OWNER_ID) as owner, aiohttp.ClientSession(base_url=server.url) as api:
        for choice in choices:
            params = {"period": "7d", **choice}
            async with api.get("/api/reports/summary", params=params, headers={"Authorization": "Bearer t0ken"}) as r:
                counted = (await r.json())["dialogs"]
            async with owner.get("/dashboard/dialogs", params=params) as response:
                assert response.status == 200
                assert len(listed(await response.text())) == counted, choice
    assert counted == 1  # the last choice found its dialog: the comparison is not of empty lists


def test_the_russian_words_hold_no_english() -> None:
    for key, words in TEXTS["ru"].items():
        if key.startswith("d_"):
            assert not re.search(r"[A-Za-z]", re.sub(r"\{\w+\}", "", words)), key


# the card -----------------------------------------------------------------------------------------------


async def test_card_shows_every_field_as_the_bot_labels_it(server: RunningServer) -> None:
    store = server.store
    seen = NOW - timedelta(hours=1, minutes=5)
    visit = Visit(code="ABC", visitor_id="v1", first_seen=seen, last_seen=seen, pages_seen=4, attribution=Attribution())
    earlier = await seed_dialog(store, NOW - timedelta(days=3), contact="+79161112233", source="google")
    dialog = await seed_dialog(
        store,
        NOW - timedelta(hours=1),
        contact="+79161112233",
        name="Анна <b>",
        channel=Channel.PAID_SEARCH,
        source="yandex",
        medium="cpc",
        campaign="Весна",
        term="купить диван",
        landing_page="shop.example/sale",
        region="Москва, RU",
        tags=["qualified", "опт"],
        text="Здравствуйте, сколько стоит диван?",
        visit=visit,
    )
    async with await client_of(server, OWNER_ID) as owner:
        body = await page(owner, f"/dashboard/dialogs/{dialog.id}")
    words = text_of(body)
    assert "Анна &lt;b&gt;" in body  # a customer's name is text, never markup
    for shown in (
        "+7 916 111-22-33",
        "WhatsApp → +7 999 123-45-67",
        "повторный клиент",
        "Откуда клиент",
        "Канал Платный поиск",
        "Источник Яндекс",
        "Тип перехода оплата за клик",
        "Кампания Весна",
        "Ключевое слово купить диван",
        "Страница входа shop.example/sale",
        "Просмотрено страниц 4",
        "Время на сайте 5 мин",
        "Регион Москва, Россия",
        "Целевой",
        "опт",
        "Сообщений 1",
        "Первое сообщение Здравствуйте, сколько стоит диван?",
        "Прошлые обращения (1)",
        "Заявку пока никто не взял",
    ):
        assert shown in words, shown
    assert dialog.code is not None and f"<code>{dialog.code}</code>" in body
    assert f'href="/dashboard/dialogs/{earlier.id}"' in body  # the contact's earlier dialog opens its card
    assert re.search(r'<input type="checkbox" name="tag" value="qualified" checked>', body)
    assert re.search(r'<input type="checkbox" name="tag" value="spam">', body)

    async with await client_of(server, STAFF, "en") as staff:
        english = text_of(await page(staff, f"/dashboard/dialogs/{dialog.id}"))
        assert "Channel Paid search" in english and "Earlier dialogs (1)" in english
        assert "Reassign" not in english  # handing a lead over is for owners
        missing = await page(staff, "/dashboard/dialogs/" + "f" * 32, status=404)
        assert "There is no such lead" in missing
    async with aiohttp.ClientSession(base_url=server.url) as nobody:
        await page(nobody, f"/dashboard/dialogs/{dialog.id}", status=401)
    async with await client_of(server, 777) as stranger:
        await page(stranger, f"/dashboard/dialogs/{dialog.id}", status=403)


# changes ------------------------------------------------------------------------------------------------


async def test_tags_change_through_the_form_and_refusals_change_nothing(
    server: RunningServer, owner: aiohttp.ClientSession
) -> None:
    dialog = await seed_dialog(server.store, NOW - timedelta(hours=1), tags=["опт"])
    url = f"/dashboard/dialogs/{dialog.id}/tags?period=7d"
    _, csrf = await card_and_csrf(owner, dialog.id)

    form = [("csrf", csrf), ("tag", "qualified"), ("tag", "опт"), ("new_tag", " постоянный ")]
    status, _, location = await post(owner, url, form)
    assert (status, location) == (303, f"/dashboard/dialogs/{dialog.id}?period=7d")  # back to the card
    stored = await server.store.get_dialog(dialog.id)
    assert stored is not None and stored.tags == ["qualified", "опт", "постоянный"]
    body = await page(owner, f"/dashboard/dialogs/{dialog.id}?period=7d")
    assert re.search(r'value="постоянный" checked', body)

    async def unchanged() -> None:
        again = await server.store.get_dialog(dialog.id)
        assert again is not None and again.tags == ["qualified", "опт", "постоянный"]

    status, _, _ = await post(owner, url, [("tag", "spam")])  # no CSRF token
    assert status == 403
    status, _, _ = await post(owner, url, [("csrf", "x" * 40), ("tag", "spam")])
    assert status == 403
    status, _, _ = await post(owner, url, [("csrf", csrf), ("tag", "spam")], headers={"Origin": "https://evil.example"})
    assert status == 403
    status, body, _ = await post(owner, url, [("csrf", csrf), ("new_tag", "я" * 65)])
    assert status == 422 and "Тег — от 1 до 64 знаков" in body
    await unchanged()
    async with await client_of(server, 777) as stranger:
        assert (await post(stranger, url, [("csrf", csrf), ("tag", "spam")]))[0] == 403
    async with aiohttp.ClientSession(base_url=server.url) as nobody:
        assert (await post(nobody, url, [("csrf", csrf), ("tag", "spam")]))[0] == 401
    await unchanged()

    status, body, _ = await post(owner, f"/dashboard/dialogs/{'e' * 32}/tags", [("csrf", csrf)])
    assert status == 404 and "Такой заявки нет" in body

    status, _, _ = await post(owner, url, [("csrf", csrf)])  # nothing checked: every tag removed
    assert status == 303
    cleared = await server.store.get_dialog(dialog.id)
    assert cleared is not None and cleared.tags == []


async def test_sale_amounts_are_added_changed_and_removed(server: RunningServer) -> None:
    dialog = await seed_dialog(server.store, NOW - timedelta(hours=1))
    base = f"/dashboard/dialogs/{dialog.id}"
    async with await client_of(server, STAFF) as staff:
        _, csrf = await card_and_csrf(staff, dialog.id)

        status, _, location = await post(staff, base + "/sales", {"csrf": csrf, "amount": "12 000"})
        assert (status, location) == (303, base)
        stored = await server.store.get_dialog(dialog.id)
        assert stored is not None and "sale" in stored.tags  # a sale carries its tag
        [sale] = stored.sales
        assert (sale.amount, sale.currency, sale.by, sale.by_name) == (Decimal(12000), "RUB", STAFF, "Анна")
        body = await page(staff, base)
        assert "Продажа: 12\u00a0000\u00a0₽" in body and 'value="12000"' in body

        status, _, _ = await post(staff, f"{base}/sales/{sale.id}", {"csrf": csrf, "amount": "15,5к"})
        assert status == 303
        stored = await server.store.get_dialog(dialog.id)
        assert stored is not None and stored.sales[0].amount == Decimal(15500)

        for typed, reason in (
            ("двенадцать", "Не похоже на сумму"),
            ("-5", "не может быть отрицательной"),
            ("12,3456", "Не больше двух знаков после запятой"),
        ):
            status, body, _ = await post(staff, f"{base}/sales/{sale.id}", {"csrf": csrf, "amount": typed})
            assert status == 422 and reason in body, typed
        status, body, _ = await post(staff, base + "/sales", {"csrf": csrf, "amount": "1 000 000 000 000"})
        assert status == 422 and "Слишком большая сумма" in body
        stored = await server.store.get_dialog(dialog.id)
        assert stored is not None and [s.amount for s in stored.sales] == [Decimal(15500)]

        status, _, _ = await post(staff, f"{base}/sales/{sale.id}", {"csrf": csrf, "amount": ""})
        assert status == 303  # cleared: the amount is not known
        stored = await server.store.get_dialog(dialog.id)
        assert stored is not None and stored.sales[0].amount is None
        assert "сумма не указана" in await page(staff, base)

        status, body, _ = await post(staff, f"{base}/sales/nope/remove", {"csrf": csrf})
        assert status == 404 and "Этой продажи уже нет" in body
        status, _, _ = await post(staff, f"{base}/sales/{sale.id}/remove", {"csrf": csrf})
        assert status == 303
        stored = await server.store.get_dialog(dialog.id)
        assert stored is not None and stored.sales == [] and "sale" not in stored.tags  # the last takes the tag


async def test_taking_a_lead_and_an_owner_handing_it_over(server: RunningServer) -> None:
    dialog = await seed_dialog(server.store, NOW - timedelta(hours=1))
    base = f"/dashboard/dialogs/{dialog.id}"
    async with await client_of(server, STAFF) as maria, await client_of(server, OTHER_STAFF) as peter:
        _, maria_csrf = await card_and_csrf(maria, dialog.id)
        _, peter_csrf = await card_and_csrf(peter, dialog.id)
        assert (await post(maria, base + "/take", {"csrf": maria_csrf}))[0] == 303
        stored = await server.store.get_dialog(dialog.id)
        assert stored is not None and (stored.taken_by, stored.taken_by_name) == (STAFF, "Анна")
        assert "Кто взял: Анна" in text_of(await page(peter, base))

        status, body, _ = await post(peter, base + "/take", {"csrf": peter_csrf})
        assert status == 409 and "Заявку уже взял(а) Анна" in text_of(body)
        status, body, _ = await post(peter, base + "/give", {"csrf": peter_csrf, "to": str(OTHER_STAFF)})
        assert status == 403 and "только владелец" in body
        stored = await server.store.get_dialog(dialog.id)
        assert stored is not None and stored.taken_by == STAFF

    async with await client_of(server, OWNER_ID) as owner:
        body, csrf = await card_and_csrf(owner, dialog.id)
        assert f'<option value="{OTHER_STAFF}">Пётр</option>' in body
        assert (await post(owner, base + "/give", {"csrf": csrf, "to": str(OTHER_STAFF)}))[0] == 303
        stored = await server.store.get_dialog(dialog.id)
        assert stored is not None and (stored.taken_by, stored.taken_by_name) == (OTHER_STAFF, "Пётр")
        for to in ("999", "abc", "", "9" * 30, "-5"):
            status, body, _ = await post(owner, base + "/give", {"csrf": csrf, "to": to})
            assert status == 400 and "нет в списке" in body, to


# the alert in Telegram ------------------------------------------------------------------------------------


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegramAPI]:
    async with FakeTelegramAPI() as api:
        yield api


async def test_a_tag_changed_on_the_page_edits_the_alert_in_telegram(
    fake: FakeTelegramAPI, start_server: Callable[..., Any]
) -> None:
    # `fake` first: fixtures tear down in reverse, so the server stops polling before the API goes away.
    server: RunningServer = await start_server(
        telegram_bot_token=BOT_TOKEN, telegram_owner_ids=str(OWNER), telegram_api_url=fake.url
    )
    dialog = await queue_lead(server.store, at=datetime.now(UTC))  # type: ignore[arg-type]
    server.app[BOT_RUNTIME].kick()  # as a webhook does after storing a new dialog
    await fake.wait_for("sendMessage", lambda c: c.ok and c.params.get("chat_id") == OWNER)

    async with await client_of(server, OWNER) as owner:
        _, csrf = await card_and_csrf(owner, dialog.id)
        status, _, _ = await post(owner, f"/dashboard/dialogs/{dialog.id}/tags", [("csrf", csrf), ("tag", "qualified")])
    assert status == 303
    edit = await fake.wait_for(
        "editMessageText", lambda c: c.ok and c.params["reply_markup"]["inline_keyboard"][0][0]["text"] == "✅ Целевой"
    )
    assert edit.params["chat_id"] == OWNER


# in a browser ---------------------------------------------------------------------------------------------


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    folder = Path(SCREENSHOTS or tmp_path / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.mark.parametrize("scheme", ["light", "dark"])
async def test_list_and_card_in_chromium_at_phone_width(
    server: RunningServer,
    browser: Browser,  # noqa: F811  (the fixture imported from tests.browser)
    shots: Path,
    scheme: Literal["light", "dark"],
) -> None:
    """Drawn with no error (the strict CSP lets nothing inline through), no sideways scroll at 360 px; a tag
    ticked and saved in the page lands in the store. Screenshots go to $CHATTRACK_SCREENSHOTS (else tmp)."""
    store = server.store
    await seed_dialog(store, NOW - timedelta(days=2), contact="+79161112233", source="google", name="Анна Петрова")
    dialog = await seed_dialog(
        store,
        NOW - timedelta(hours=1),
        contact="+79161112233",
        name="Анна Петрова",
        channel=Channel.PAID_SEARCH,
        source="yandex",
        medium="cpc",
        campaign="Весна — диваны и кресла со скидкой до конца месяца",
        landing_page="shop.example/catalog/divany/uglovye/bolshie-divany-so-skidkoj-do-kontsa-mesyatsa",
        tags=["qualified"],
        text="Здравствуйте! Сколько стоит угловой диван из каталога, и есть ли доставка за город?",
    )
    await server.store.add_sale(dialog.id, Sale(id="s1", amount=Decimal(12000), currency="RUB", at=NOW))
    for i in range(4):
        await seed_dialog(store, NOW - timedelta(hours=2 + i), name=f"Клиент {i}", tags=["опт"] if i % 2 else None)

    context = await browser.new_context(viewport={"width": 360, "height": 740}, color_scheme=scheme, locale="ru-RU")
    try:
        await context.add_cookies(
            [
                {"name": name, "value": value, "url": server.url}
                for name, value in (await session_cookie(server)).items()
            ]
        )
        tab = await context.new_page()
        errors = collect_errors(tab)
        await tab.goto(server.url + "/dashboard/dialogs")
        assert await tab.locator("li[data-dialog]").count() == 6
        assert await tab.evaluate("document.documentElement.scrollWidth") <= 360
        await tab.screenshot(path=str(shots / f"dialogs-list-360-{scheme}.png"), full_page=True)

        await tab.locator(f"li[data-dialog='{dialog.id}'] a").click()
        await tab.wait_for_url(f"**/dashboard/dialogs/{dialog.id}")
        assert await tab.evaluate("document.documentElement.scrollWidth") <= 360
        await tab.screenshot(path=str(shots / f"dialogs-card-360-{scheme}.png"), full_page=True)

        await tab.locator("input[name='tag'][value='spam']").check()
        async with tab.expect_navigation():
            await tab.locator("#tags button[type='submit']").click()
        assert await tab.locator("input[name='tag'][value='spam']").is_checked()
        assert errors == []
    finally:
        await context.close()
    stored = await store.get_dialog(dialog.id)
    assert stored is not None and stored.tags == ["qualified", "sale", "spam"]
