"""From chat to money over real sockets: a visit in headless Chromium carrying Metrica's and GA4's client ids
and a yclid → a WhatsApp lead through Twilio's webhook → tagged qualified and sold for 12 000 in the bot →
one upload row per goal at the Metrica double, three GA4 events, three signed events at the CRM double →
the owner sends a spend file to the bot → the campaign's ROMI in /channels' money view and in the API."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest
from playwright.async_api import Page

from tests.browser import browser, page  # noqa: F401
from tests.conftest import twilio_form
from tests.fakes.events_receiver import EventsReceiver
from tests.fakes.ga4_api import FakeGA4
from tests.fakes.metrica_api import FakeMetricaAPI
from tests.test_bot_commands import BotAPI, Person, shown, to_chat
from tests.test_cost_files import sends_document
from tests.test_end_to_end import open_whatsapp_link, record_collects, serve_site
from tracking.models import DELIVERY_KINDS, DeliveryOutcome, Goal
from tracking.periods import utc_now

OWNER = 1001
API_TOKEN = "test-api-token"
YM_UID = "1700000000123456789"
GA_COOKIE = "GA1.1.987654321.1764000000"
YCLID = "9876543210123456"
# Direct's UTM template: utm_campaign={campaign_id}, utm_content={ad_id}
LANDING = f"/kids?utm_source=yandex&utm_medium=cpc&utm_campaign=12345&utm_content=901&yclid={YCLID}"


@pytest.fixture
async def telegram() -> AsyncIterator[BotAPI]:
    api = BotAPI()
    await api.start()
    yield api
    await api.stop()


async def visit_and_click(page: Page, site_url: str) -> str:  # noqa: F811
    """The customer's visit with both analytics cookies set by the site's tags; the chat link's text."""
    await page.context.add_cookies(
        [
            {"name": "_ym_uid", "value": YM_UID, "domain": "shop.test", "path": "/"},
            {"name": "_ga", "value": GA_COOKIE, "domain": "shop.test", "path": "/"},
        ]
    )
    collected = await record_collects(page)
    await page.goto(site_url + LANDING)
    await asyncio.wait_for(collected["view"].wait(), 10)
    opened = await open_whatsapp_link(page, "#tracked")
    await asyncio.wait_for(collected["click"].wait(), 10)
    return parse_qs(urlsplit(opened).query)["text"][0]


async def test_a_lead_becomes_a_sale_every_system_hears_of_it_and_the_campaign_shows_its_romi(
    start_server: Any,
    http: aiohttp.ClientSession,
    telegram: BotAPI,
    page: Page,  # noqa: F811
) -> None:
    async with FakeMetricaAPI() as metrica, FakeGA4() as ga4, EventsReceiver() as crm:
        server = await start_server(
            telegram_bot_token="123456:TEST-token",
            telegram_owner_ids=str(OWNER),
            telegram_api_url=telegram.url,
            metrica_counter_id=metrica.counter,
            metrica_token=metrica.token,
            metrica_api_url=metrica.url,
            ga4_measurement_id=ga4.measurement_id,
            ga4_api_secret=ga4.api_secret,
            ga4_api_url=ga4.url,
            events_url=crm.url,
            events_secret=crm.secret,
            conversions_interval_seconds=0.2,
            api_token=API_TOKEN,
        )
        site, site_url = await serve_site(server.url)
        try:
            text = await visit_and_click(page, site_url)
        finally:
            await site.cleanup()
        response = await server.post_twilio(http, twilio_form(text, sid="SMmoney000000000000000000000000001"))
        assert response.status == 200

        owner = Person(telegram, OWNER, "ru", "Ирина")
        alert = await owner.gets()
        [dialog] = await server.store.find_dialogs(contact_id="+79161234567")
        assert dialog.visit is not None
        assert (dialog.visit.ym_client_id, dialog.attribution.yclid) == (YM_UID, YCLID)
        assert dialog.visit.ga_client_id is not None and dialog.visit.ga_client_id.endswith("987654321.1764000000")

        owner.presses(f"tag:{dialog.id}:qualified", alert.result)
        await telegram.wait_for("answerCallbackQuery")
        owner.presses(f"tag:{dialog.id}:sale", alert.result)
        question = await telegram.wait_for(
            "sendMessage", lambda c: to_chat(OWNER)(c) and "force_reply" in (c.params.get("reply_markup") or {})
        )
        reply_to = question.result
        telegram.push_update(
            {
                "message": {
                    "message_id": 777_001,
                    "date": int(utc_now().timestamp()),
                    "chat": {"id": OWNER, "type": "private", "first_name": "Ирина"},
                    "from": owner.user,
                    "text": "12 000",
                    "reply_to_message": reply_to,
                }
            }
        )
        await telegram.wait_for("sendMessage", lambda c: to_chat(OWNER)(c) and "Записал" in c.params["text"])

        rows = await metrica.wait_for_rows(3)
        recorded = await ga4.wait_for_recorded(3)
        events = await crm.wait_for_events(3)

    # Metrica: one row per goal, by the visit's ClientId, the sale with its price.
    assert sorted(row["Target"] for row in rows) == ["chattrack_lead", "chattrack_qualified", "chattrack_sale"]
    assert {row.get("ClientId") for row in rows} == {YM_UID}
    sale_row = next(row for row in rows if row["Target"] == "chattrack_sale")
    assert (float(sale_row["Price"]), sale_row["Currency"]) == (12000.0, "RUB")
    # GA4: the three recommended lead events for the site tag's own client id.
    assert [e["name"] for e in recorded] == ["generate_lead", "qualify_lead", "close_convert_lead"]
    assert {e["client_id"] for e in recorded} == {"987654321.1764000000"}
    assert recorded[2]["params"]["value"] == 12000 and recorded[2]["params"]["currency"] == "RUB"
    # The CRM: three signed events (the receiver checked each signature), the sale with its amount.
    assert [e["type"] for e in events] == ["dialog.created", "dialog.tagged", "sale.recorded"]
    assert events[1]["data"]["added"] == ["qualified"]
    assert float(events[2]["sale"]["amount"]) == 12000.0
    # Each went once, and the store says so for the card.
    done = await server.store.dialog_deliveries(dialog.id)
    assert sorted((d.kind, d.goal or d.event) for d in done) == sorted(
        [(k, g) for k in DELIVERY_KINDS[:2] for g in Goal] + [("event", e["type"]) for e in events]
    )
    assert {d.outcome for d in done} == {DeliveryOutcome.SENT}

    # Spend: the owner sends the day's Direct cost as a file; the campaign's ROMI is (12 000 − 3 000) / 3 000.
    today = datetime.now(server.settings.zone).strftime("%d.%m.%Y")
    sends_document(owner, telegram, f"Дата;Источник;Кампания;Расход\n{today};yandex;12345;3 000\n".encode(), "x.csv")
    await telegram.wait_for("sendMessage", lambda c: to_chat(OWNER)(c) and "Расходы загружены" in c.params["text"])
    owner.says("/channels сегодня")
    counts = await telegram.wait_for("sendMessage", lambda c: to_chat(OWNER)(c) and "Каналы" in c.params["text"])
    money_button = counts.params["reply_markup"]["inline_keyboard"][0][0]
    owner.presses(money_button["callback_data"], counts.result)
    money_view = shown(
        await telegram.wait_for("editMessageText", lambda c: to_chat(OWNER)(c) and "💰 Каналы" in c.params["text"])
    )
    assert "Платный поиск — расход 3\u00a0000\u00a0₽" in money_view
    assert "продаж 1 · выручка 12\u00a0000\u00a0₽" in money_view
    assert "окупаемость +300\u00a0%" in money_view

    async with http.get(
        f"{server.url}/api/reports/drilldown",
        params={"period": "today", "by": "campaign"},
        headers={"Authorization": f"Bearer {API_TOKEN}"},
    ) as answer:
        assert answer.status == 200, await answer.text()
        body = await answer.json()
    [campaign] = [row for row in body["rows"] if row["value"] == "12345"]
    assert (campaign["spend"], campaign["revenue"], campaign["romi"]) == (3000.0, 12000.0, 3.0)
