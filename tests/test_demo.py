"""The demo (GET /demo, POST /demo/send) over a real server and a real SQLite file: a demo lead made through
the same ingest as the webhooks, marked, left out of every report, count and export, erased with one
command or button; the page off when it should be; outsiders' posts refused, a flood capped."""

from __future__ import annotations

import io
import json
import time
from collections.abc import AsyncIterator
from itertools import count
from typing import Any

import aiohttp
import openpyxl
import pytest

from tests.conftest import RunningServer, twilio_form
from tests.fakes.telegram_api import FakeTelegramAPI
from tracking.codes import format_prefill, new_code
from tracking.demo import DEMO, FIRST_MESSAGE, MAX_STORED, demo_count
from tracking.models import AttributionStatus
from tracking.periods import utc_now
from webhooks.demo import COOKIE, DEMO_NUMBER, LIMITER, SWITCH, TOKEN_HEADER, UTM

OWNER = 1001
TOKEN = "a-demo-token-of-the-page-0001"
_ids = count(1)


@pytest.fixture
async def telegram() -> AsyncIterator[FakeTelegramAPI]:
    async with FakeTelegramAPI() as fake:
        yield fake


def with_bot(telegram: FakeTelegramAPI, **overrides: Any) -> dict[str, Any]:
    return {
        "telegram_bot_token": "123456:TEST-token",
        "telegram_owner_ids": str(OWNER),
        "telegram_api_url": telegram.url,
        **overrides,
    }


async def demo_visit(http: aiohttp.ClientSession, server: RunningServer, path: str = "/demo", query: str = UTM) -> str:
    """A page view of the demo page (or another) as the snippet posts it; returns the visit's code."""
    code = new_code()
    payload = {"t": "view", "c": code, "v": f"visitor-{next(_ids):04d}", "u": f"{server.url}{path}?{query}"}
    async with http.post(server.url + "/collect", data=json.dumps(payload)) as response:
        assert response.status == 200
    return code


def page_headers(server: RunningServer, token: str = TOKEN) -> dict[str, str]:
    """What the demo page's own fetch sends."""
    return {
        "Content-Type": "application/json",
        "Origin": server.url,
        "Sec-Fetch-Site": "same-origin",
        TOKEN_HEADER: token,
        "Cookie": f"{COOKIE}={token}",
    }


async def send(
    http: aiohttp.ClientSession,
    server: RunningServer,
    body: object,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, Any]]:
    data = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
    async with http.post(server.url + "/demo/send", data=data, headers=headers or page_headers(server)) as response:
        return response.status, await response.json()


def prefill(code: str) -> str:
    return format_prefill("Здравствуйте! Хочу записаться на семейную фотосессию", code, "код")


async def test_the_page_redirects_to_its_campaign_and_loads_the_snippet(
    start_server: Any, http: aiohttp.ClientSession
) -> None:
    server = await start_server(tracked_numbers="")
    async with http.get(server.url + "/demo", allow_redirects=False) as response:
        assert response.status == 302
        assert response.headers["Location"] == f"/demo?{UTM}"
    async with http.get(server.url + f"/demo?{UTM}") as response:
        assert response.status == 200
        page = await response.text()
        assert COOKIE in response.cookies
        assert response.cookies[COOKIE]["samesite"] == "Strict"
        assert "nonce-" in response.headers["Content-Security-Policy"]
    assert f"https://wa.me/{DEMO_NUMBER}?text=" in page
    assert 'src="demo/t.js"' in page  # no number tracked: the snippet that knows the demo number
    assert "Светлый кадр" in page and "Отправить как клиент" in page
    async with http.get(server.url + "/demo/t.js") as response:
        assert response.status == 200
        assert DEMO_NUMBER in await response.text()
    async with http.get(server.url + "/t.js") as response:
        assert DEMO_NUMBER not in await response.text()  # real sites' script is unchanged


async def test_with_a_tracked_number_the_page_loads_the_real_snippet_and_links_to_that_number(
    start_server: Any, http: aiohttp.ClientSession
) -> None:
    server = await start_server(bot_language="en")
    async with http.get(server.url + f"/demo?{UTM}") as response:
        page = await response.text()
    assert "https://wa.me/79991234567?text=" in page and 'src="t.js"' in page
    assert "Bright Frame" in page and "Send as a customer" in page


async def test_a_demo_lead_is_attributed_stripped_tagged_and_alerted_marked(
    start_server: Any, http: aiohttp.ClientSession, telegram: FakeTelegramAPI
) -> None:
    server = await start_server(**with_bot(telegram))
    code = await demo_visit(http, server)
    status, answer = await send(http, server, {"text": prefill(code)})
    assert status == 200, answer
    assert answer["alert"] == "telegram" and answer["campaign"] == "demo"
    assert answer["first_message"] == "Здравствуйте! Хочу записаться на семейную фотосессию"

    dialog = await server.store.get_dialog(answer["dialog_id"])
    assert dialog is not None
    assert dialog.tags == [DEMO] and dialog.provider == DEMO and dialog.contact_id.startswith("demo:")
    assert dialog.status is AttributionStatus.EXACT and dialog.code == code
    assert dialog.business_number == "+79991234567"  # the first tracked number, as the page's link
    assert await server.store.dialog_deliveries(dialog.id) == []  # nothing goes to Metrica, GA4 or a CRM

    alert = await telegram.wait_for("sendMessage", lambda c: c.ok and c.params.get("chat_id") == OWNER)
    body = str(alert.params["text"])
    assert body.startswith("🧪 ")
    [said] = [line for line in body.splitlines() if line.startswith("💬")]
    assert said == "💬 <i>Здравствуйте! Хочу записаться на семейную фотосессию</i>"  # the code stripped
    assert "Кампания: demo" in body
    buttons = [b for row in alert.params["reply_markup"]["inline_keyboard"] for b in row]
    assert [b["text"] for b in buttons if b["callback_data"].startswith("demo:")] == ["🧹 Стереть демо"]
    assert not any(b["callback_data"].startswith(("tag:", "take:", "sale:")) for b in buttons)


async def test_a_fresh_contact_each_press(start_server: Any, http: aiohttp.ClientSession) -> None:
    server = await start_server()
    code = await demo_visit(http, server)
    first = await send(http, server, {"text": prefill(code)})
    second = await send(http, server, {"text": prefill(code)})
    assert first[0] == second[0] == 200
    one, two = [await server.store.get_dialog(answer["dialog_id"]) for _, answer in (first, second)]
    assert one is not None and two is not None
    assert one.contact_id != two.contact_id and not two.is_repeat
    assert await demo_count(server.store) == 2


async def test_without_a_bot_the_page_says_where_the_alert_is(start_server: Any, http: aiohttp.ClientSession) -> None:
    server = await start_server()
    status, answer = await send(http, server, {"text": prefill(await demo_visit(http, server))})
    assert (status, answer["alert"]) == (200, "log")


def test_the_start_up_banner_points_to_the_demo_while_it_may_be_on(make_settings: Any) -> None:
    from webhooks.cli import startup_banner

    banner = startup_banner(make_settings(), "0.0.0.0", 8080)
    assert "Try it: open http://127.0.0.1:8080/demo and press «Отправить как клиент»" in banner
    assert "CHATTRACK_DEMO=off" in banner
    public = startup_banner(make_settings(public_url="https://leads.example.com", demo="on"), "0.0.0.0", 8080)
    assert "open https://leads.example.com/demo" in public and "CHATTRACK_DEMO=off" not in public
    assert "/demo" not in startup_banner(make_settings(demo="off"), "0.0.0.0", 8080)


# protection ---------------------------------------------------------------------------------------------


async def test_off_is_a_404_with_its_reason(start_server: Any, http: aiohttp.ClientSession) -> None:
    server = await start_server(demo="off")
    async with http.get(server.url + f"/demo?{UTM}") as response:
        assert response.status == 404
        assert "CHATTRACK_DEMO=off" in (await response.json())["error"]
    status, answer = await send(http, server, {"text": "hi"})
    assert status == 404 and "off" in answer["error"]


async def test_auto_is_off_once_a_real_message_came_and_on_keeps_it(
    start_server: Any, http: aiohttp.ClientSession
) -> None:
    server = await start_server()
    switch = server.app[SWITCH]
    now = [0.0]
    switch.clock = lambda: now[0]
    async with http.get(server.url + f"/demo?{UTM}") as response:
        assert response.status == 200
    await server.store.put_mark(FIRST_MESSAGE, {"provider": "twilio", "at": utc_now().isoformat()})
    async with http.get(server.url + f"/demo?{UTM}") as response:
        assert response.status == 200  # the answer is kept a few seconds: a page view reads no store
    now[0] += switch.ttl
    async with http.get(server.url + f"/demo?{UTM}") as response:
        assert response.status == 404
        assert "real customer message" in (await response.json())["error"]

    kept = await start_server(demo="on")
    async with http.get(kept.url + f"/demo?{UTM}") as response:
        assert response.status == 200


async def test_a_cross_site_post_is_refused(start_server: Any, http: aiohttp.ClientSession) -> None:
    server = await start_server()
    code = await demo_visit(http, server)
    body = {"text": prefill(code)}
    other_site = {**page_headers(server), "Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}
    assert (await send(http, server, body, other_site))[0] == 403
    no_fetch_site = {**page_headers(server), "Origin": "https://evil.example"}
    del no_fetch_site["Sec-Fetch-Site"]
    status, answer = await send(http, server, body, no_fetch_site)
    assert status == 403 and "origin" in answer["error"]
    no_token = {k: v for k, v in page_headers(server).items() if k != TOKEN_HEADER}
    status, answer = await send(http, server, body, no_token)
    assert status == 403 and "token" in answer["error"]
    wrong_token = {**page_headers(server), TOKEN_HEADER: "another-token-of-someone"}
    assert (await send(http, server, body, wrong_token))[0] == 403
    assert await demo_count(server.store) == 0


@pytest.mark.parametrize(
    ("body", "status", "why"),
    [
        (b"not json", 400, "json"),
        (b"[]", 400, "body"),
        (json.dumps({"text": ""}).encode(), 400, "text"),
        (json.dumps({"text": 5}).encode(), 400, "text"),
        (json.dumps({"text": "x" * 1001}).encode(), 400, "text"),
        (json.dumps({"text": "hi", "extra": 1}).encode(), 400, "extra"),
        (json.dumps({"text": "Хочу записаться"}).encode(), 422, "no visit code"),
        (b"{" + b" " * 5000 + b"}", 413, "bytes"),
    ],
)
async def test_a_malformed_body_is_a_4xx_with_its_reason(
    start_server: Any, http: aiohttp.ClientSession, body: bytes, status: int, why: str
) -> None:
    server = await start_server()
    got, answer = await send(http, server, body)
    assert got == status and why in answer["error"].lower()
    assert await demo_count(server.store) == 0


async def test_a_code_of_a_real_visit_or_an_unknown_one_makes_no_lead(
    start_server: Any, http: aiohttp.ClientSession
) -> None:
    server = await start_server()
    real = await demo_visit(http, server, path="/prices")  # a visit of another page
    for code in (real, new_code()):
        status, answer = await send(http, server, {"text": prefill(code)})
        assert status == 422 and "demo page" in answer["error"]
    assert await demo_count(server.store) == 0
    assert await server.store.get_visit(real) is not None  # and nothing erases it


async def test_a_flood_is_refused_per_address_and_by_the_cap(start_server: Any, http: aiohttp.ClientSession) -> None:
    server = await start_server()
    code = await demo_visit(http, server)
    statuses = [(await send(http, server, {"text": prefill(code)}))[0] for _ in range(8)]
    assert statuses[:5] == [200] * 5 and set(statuses[5:]) == {429}
    assert await demo_count(server.store) == 5

    server.app[LIMITER].per_minute = 1000  # another address each time, say
    statuses = [(await send(http, server, {"text": prefill(code)}))[0] for _ in range(MAX_STORED)]
    assert statuses.count(200) == MAX_STORED - 5 and statuses[-5:] == [429] * 5
    status, answer = await send(http, server, {"text": prefill(code)})
    assert status == 429 and "/demo" in answer["error"]
    assert await demo_count(server.store) == MAX_STORED


# left out of reports ----------------------------------------------------------------------------------


async def test_left_out_of_every_report_count_and_export_without_a_word(
    start_server: Any, http: aiohttp.ClientSession
) -> None:
    server = await start_server(api_token="api-token-for-tests-000000")
    await send(http, server, {"text": prefill(await demo_visit(http, server))})
    await send(http, server, {"text": prefill(await demo_visit(http, server))})
    real_code = await demo_visit(http, server, path="/prices", query="utm_source=yandex&utm_campaign=spring")
    response = await server.post_twilio(http, twilio_form(f"Сколько стоит? (код {real_code})"))
    assert response.status == 200
    auth = {"Authorization": "Bearer api-token-for-tests-000000"}
    today = "period=today"
    for path in ("summary?", "channels?", "drilldown?by=campaign&", "dynamics?", "team?", "summary?spam=include&"):
        async with http.get(f"{server.url}/api/reports/{path}{today}", headers=auth) as got:
            assert got.status == 200, path
            report = await got.json()
        assert "demo" not in json.dumps(report, ensure_ascii=False), (path, report)
        assert report.get("left_out", 0) == 0, (path, report)
    async with http.get(f"{server.url}/api/reports/summary?{today}&without_tag=", headers=auth) as got:
        summary = await got.json()
    assert summary["dialogs"] == 1, summary  # "leave nothing out" still leaves the demo out
    async with http.get(f"{server.url}/api/dialogs?{today}", headers=auth) as got:
        listed = await got.json()
    assert len(listed["dialogs"]) == 1 and "demo" not in json.dumps(listed, ensure_ascii=False)
    async with http.get(f"{server.url}/api/dialogs.csv?{today}", headers=auth) as got:
        csv = await got.text()
    assert len(csv.strip().splitlines()) == 2 and "Демо-клиент" not in csv
    async with http.get(f"{server.url}/api/dialogs.xlsx?{today}", headers=auth) as got:
        assert got.status == 200
        book = openpyxl.load_workbook(io.BytesIO(await got.read()), read_only=True)
    cells = [str(cell) for sheet in book.worksheets for row in sheet.iter_rows(values_only=True) for cell in row]
    assert "Демо-клиент" not in cells and "demo" not in cells and any("Анна" in cell for cell in cells)


async def test_the_owner_sees_no_demo_in_stats_and_erases_it_by_command(
    start_server: Any, http: aiohttp.ClientSession, telegram: FakeTelegramAPI
) -> None:
    server = await start_server(**with_bot(telegram))
    code = await demo_visit(http, server)
    _, answer = await send(http, server, {"text": prefill(code)})
    alert = await telegram.wait_for("sendMessage", lambda c: c.ok and c.params.get("chat_id") == OWNER)

    say(telegram, "/stats")
    stats = await telegram.wait_for("sendMessage", lambda c: c.ok and c.params.get("chat_id") == OWNER, count=2)
    assert "Диалоги: <b>0</b>" in stats.params["text"]  # left out, and no note says so
    assert "Демо-клиент" not in stats.params["text"] and "спам" not in stats.params["text"]

    say(telegram, "/demo")
    shown = await telegram.wait_for("sendMessage", lambda c: c.ok and "Пробных заявок сейчас: 1" in c.params["text"])
    assert f"{server.url}/demo" in shown.params["text"]
    [button] = [b for row in shown.params["reply_markup"]["inline_keyboard"] for b in row]
    assert button["text"] == "🧹 Стереть демо-заявки"
    press(telegram, button["callback_data"], shown.result)
    await telegram.wait_for(
        "editMessageText",
        lambda c: c.ok and c.params.get("message_id") == alert.result["message_id"] and "стёрт" in c.params["text"],
    )
    assert await server.store.get_dialog(answer["dialog_id"]) is None
    assert await server.store.get_visit(code) is None  # the demo visit went with it
    assert await demo_count(server.store) == 0


async def test_the_button_under_the_alert_erases_every_demo_lead(
    start_server: Any, http: aiohttp.ClientSession, telegram: FakeTelegramAPI
) -> None:
    server = await start_server(**with_bot(telegram))
    answers = [(await send(http, server, {"text": prefill(await demo_visit(http, server))}))[1] for _ in range(2)]
    alerts = [
        await telegram.wait_for("sendMessage", lambda c: c.ok and c.params.get("chat_id") == OWNER, count=n)
        for n in (1, 2)
    ]
    alert = alerts[-1]
    [erase] = [
        b
        for row in alert.params["reply_markup"]["inline_keyboard"]
        for b in row
        if b["callback_data"].startswith("demo:")
    ]
    press(telegram, erase["callback_data"], alert.result)
    await telegram.wait_for("editMessageText", lambda c: c.ok and "стёрт" in c.params["text"], count=2)
    for answer in answers:
        assert await server.store.get_dialog(answer["dialog_id"]) is None


async def test_start_points_to_the_demo_while_it_is_on_and_recent_marks_demo_leads(
    start_server: Any, http: aiohttp.ClientSession, telegram: FakeTelegramAPI
) -> None:
    server = await start_server(**with_bot(telegram))
    say(telegram, "/start")
    welcome = await telegram.wait_for("sendMessage", lambda c: c.ok and "С чего начать" in c.params["text"])
    assert f"1. Посмотрите, как выглядит заявка: откройте {server.url}/demo" in welcome.params["text"]
    assert "Подключите WhatsApp" in welcome.params["text"]

    await send(http, server, {"text": prefill(await demo_visit(http, server))})
    await telegram.wait_for("sendMessage", lambda c: c.ok and "Демо-клиент" in c.params["text"])
    say(telegram, "/start")
    again = await telegram.wait_for("sendMessage", lambda c: c.ok and "С чего начать" in c.params["text"], count=2)
    assert "Подключите WhatsApp" in again.params["text"]  # a demo lead is no customer's dialog
    say(telegram, "/recent")
    recent = await telegram.wait_for("sendMessage", lambda c: c.ok and "Демо-клиент" in c.params["text"], count=2)
    assert "1. 🧪 Демо · " in recent.params["text"]

    await server.store.put_mark(FIRST_MESSAGE, {"provider": "twilio", "at": utc_now().isoformat()})
    async with FakeTelegramAPI() as other:  # a server started after it (the same store): its own bot
        off = await start_server(**with_bot(other))
        say(other, "/start")
        later = await other.wait_for("sendMessage", lambda c: c.ok and "С чего начать" in c.params["text"])
        assert "/demo" not in later.params["text"]  # a real message came: the demo is not offered any more
        say(other, "/demo")
        said = await other.wait_for("sendMessage", lambda c: c.ok and "выключена" in c.params["text"])
        assert off.url not in said.params["text"]


def user(user_id: int = OWNER) -> dict[str, Any]:
    return {"id": user_id, "is_bot": False, "first_name": "Мария", "language_code": "ru"}


def say(fake: FakeTelegramAPI, words: str, user_id: int = OWNER) -> None:
    fake.push_update(
        {
            "message": {
                "message_id": 10_000 + next(_ids),
                "date": int(time.time()),
                "chat": {"id": user_id, "type": "private", "first_name": "Мария"},
                "from": user(user_id),
                "text": words,
                "entities": [{"type": "bot_command", "offset": 0, "length": len(words.split()[0])}],
            }
        }
    )


def press(fake: FakeTelegramAPI, data: str, message: dict[str, Any], user_id: int = OWNER) -> None:
    fake.push_update(
        {
            "callback_query": {
                "id": f"cq{next(_ids)}",
                "from": user(user_id),
                "chat_instance": "42",
                "data": data,
                "message": message,
            }
        }
    )
