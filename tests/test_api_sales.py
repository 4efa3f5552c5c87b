"""Sales through the JSON API: PATCH /api/dialogs/{id} (sale_amount, tags), POST .../sales, DELETE
.../sales/{sale_id}; every answer is the card; bad input a 400/422 with a reason, never a 500; the alert
copies in Telegram are redrawn after an API change."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import aiohttp
import openpyxl
import pytest

from bot.runtime import BOT_RUNTIME
from tests.conftest import RunningServer
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.seed import seed_dialog
from tests.test_outbox import OWNER, queue_lead
from tests.test_outbox import TOKEN as BOT_TOKEN

TOKEN = "s3cret-api-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
async def server(start_server: Callable[..., Any]) -> RunningServer:
    running: RunningServer = await start_server(api_token=TOKEN)
    return running


async def call(
    http: aiohttp.ClientSession, method: str, url: str, body: Any = None, *, raw: str | None = None
) -> tuple[int, Any]:
    data = raw if raw is not None else (None if body is None else json.dumps(body))
    headers = {**AUTH, "Content-Type": "application/json"}
    async with http.request(method, url, data=data, headers=headers) as response:
        return response.status, await response.json()


async def new_dialog(server: RunningServer) -> str:
    return (await seed_dialog(server.store, datetime.now(UTC))).id


async def test_patch_sets_the_amount_and_answers_with_the_card(server: RunningServer, http: Any) -> None:
    dialog_id = await new_dialog(server)
    url = f"{server.url}/api/dialogs/{dialog_id}"

    status, body = await call(http, "PATCH", url, {"sale_amount": 12000, "currency": "RUB"})
    assert status == 200
    assert body["card"]["sale_amount"] == 12000 and body["card"]["id"] == dialog_id
    [sale] = body["card"]["sales"]
    assert (sale["amount"], sale["currency"], sale["by_name"]) == (12000, "RUB", None)
    assert "sale" in body["dialog"]["tags"]  # a sale carries its tag
    assert body.keys() >= {"card", "team", "history", "dialog"}  # as GET answers

    # a second PATCH changes that sale, never adds one; fractions stay exact
    status, body = await call(http, "PATCH", url, {"sale_amount": 12000.5})
    assert status == 200 and body["card"]["sale_amount"] == 12000.5
    assert [s["id"] for s in body["card"]["sales"]] == [sale["id"]]
    stored = await server.store.get_dialog(dialog_id)
    assert stored is not None and stored.sales[0].amount == Decimal("12000.50")

    # as an owner writes it, and null: the amount is not known
    status, body = await call(http, "PATCH", url, {"sale_amount": "15 000 ₽"})
    assert status == 200 and body["card"]["sale_amount"] == 15000
    status, body = await call(http, "PATCH", url, {"sale_amount": None})
    assert status == 200 and body["card"]["sale_amount"] is None
    assert [s["amount"] for s in body["card"]["sales"]] == [None]

    status, got = await call(http, "GET", url)
    assert status == 200 and got["card"] == body["card"]


async def test_repeat_sales_and_their_removal(server: RunningServer, http: Any) -> None:
    dialog_id = await new_dialog(server)
    url = f"{server.url}/api/dialogs/{dialog_id}"
    await call(http, "PATCH", url, {"sale_amount": 12000})

    status, body = await call(http, "POST", url + "/sales", {"amount": 3000})
    assert status == 201
    assert body["card"]["sale_amount"] == 15000
    first, second = body["card"]["sales"]
    assert (first["amount"], second["amount"]) == (12000, 3000)

    # PATCH names the latest sale
    status, body = await call(http, "PATCH", url, {"sale_amount": 3500})
    assert [s["amount"] for s in body["card"]["sales"]] == [12000, 3500]

    status, body = await call(http, "DELETE", f"{url}/sales/{first['id']}")
    assert status == 200 and body["card"]["sale_amount"] == 3500 and "sale" in body["dialog"]["tags"]
    status, body = await call(http, "DELETE", f"{url}/sales/{second['id']}")
    assert status == 200 and body["card"]["sales"] == [] and body["card"]["sale_amount"] is None
    assert "sale" not in body["dialog"]["tags"]  # the last sale takes the tag with it
    status, body = await call(http, "DELETE", f"{url}/sales/{second['id']}")
    assert status == 404 and "sale" in body["error"]


async def test_tags_through_the_api_move_with_the_sales(server: RunningServer, http: Any) -> None:
    dialog_id = await new_dialog(server)
    url = f"{server.url}/api/dialogs/{dialog_id}"

    status, body = await call(http, "PATCH", url, {"tags": ["qualified", "sale"], "sale_amount": 9900})
    assert status == 200 and body["dialog"]["tags"] == ["qualified", "sale"]
    assert [s["amount"] for s in body["card"]["sales"]] == [9900]  # the tag's sale got the amount

    status, body = await call(http, "PATCH", url, {"tags": ["qualified"]})
    assert status == 200 and body["card"]["sales"] == [] and body["dialog"]["tags"] == ["qualified"]

    status, body = await call(http, "PATCH", url, {"sale_amount": None})
    assert status == 200 and body["card"]["sales"] == []  # no sale: "not known" changes nothing


@pytest.mark.parametrize(
    ("body", "status", "reason"),
    [
        ({"sale_amount": -5}, 422, "negative"),
        ({"sale_amount": 1e12}, 422, "more than"),
        ({"sale_amount": "1" + "0" * 30}, 422, "more than"),  # typed as text: past Decimal's precision
        ({"sale_amount": 1e40}, 422, "more than"),
        ({"sale_amount": 10.555}, 422, "two decimal"),
        ({"sale_amount": True}, 422, "number"),
        ({"sale_amount": [1]}, 422, "number"),
        ({"sale_amount": "двенадцать"}, 422, "not an amount"),
        ({"sale_amount": 5, "currency": "рубли"}, 422, "ISO 4217"),
        ({"tags": "sale"}, 422, "list"),
        ({"tags": ["x" * 65]}, 422, "characters"),
        ({"tags": ["qualified"], "sale_amount": 100}, 422, "sale"),
        ({"amount": 5}, 400, "unknown field"),
        ({}, 400, "nothing to change"),
        ({"currency": "USD"}, 400, "currency"),
        ([1, 2], 400, "JSON object"),
    ],
)
async def test_bad_bodies_are_refused_with_a_reason(
    server: RunningServer, http: Any, body: Any, status: int, reason: str
) -> None:
    dialog_id = await new_dialog(server)
    answer, got = await call(http, "PATCH", f"{server.url}/api/dialogs/{dialog_id}", body)
    assert (answer, reason in got["error"]) == (status, True), got
    stored = await server.store.get_dialog(dialog_id)
    assert stored is not None and stored.sales == [] and stored.tags == []  # nothing changed


@pytest.mark.parametrize("raw", ["{", "NaN", '{"sale_amount": NaN}', '{"sale_amount": Infinity}', "[" * 100_000])
async def test_malformed_json_is_a_400(server: RunningServer, http: Any, raw: str) -> None:
    dialog_id = await new_dialog(server)
    status, body = await call(http, "PATCH", f"{server.url}/api/dialogs/{dialog_id}", raw=raw)
    assert status == 400 and body["error"]


async def test_unknown_dialogs_and_no_token(server: RunningServer, http: Any) -> None:
    missing = f"{server.url}/api/dialogs/{'f' * 32}"
    assert (await call(http, "PATCH", missing, {"sale_amount": 1}))[0] == 404
    assert (await call(http, "POST", missing + "/sales", {"amount": 1}))[0] == 404
    assert (await call(http, "DELETE", missing + "/sales/abc"))[0] == 404
    assert (await call(http, "PATCH", f"{server.url}/api/dialogs/{'x' * 300}", {"sale_amount": 1}))[0] == 404
    dialog_id = await new_dialog(server)
    async with http.patch(f"{server.url}/api/dialogs/{dialog_id}", json={"sale_amount": 1}) as response:
        assert response.status == 401
    stored = await server.store.get_dialog(dialog_id)
    assert stored is not None and stored.sales == []


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegramAPI]:
    async with FakeTelegramAPI() as api:
        yield api


async def test_an_api_change_redraws_the_alert_in_telegram(
    fake: FakeTelegramAPI, start_server: Callable[..., Any], http: Any
) -> None:
    # `fake` first: fixtures tear down in reverse, so the server stops polling before the API goes away.
    server: RunningServer = await start_server(
        api_token=TOKEN, telegram_bot_token=BOT_TOKEN, telegram_owner_ids=str(OWNER), telegram_api_url=fake.url
    )
    dialog = await queue_lead(server.store, at=datetime.now(UTC))  # type: ignore[arg-type]
    server.app[BOT_RUNTIME].kick()  # as a webhook does after storing a new dialog
    await fake.wait_for("sendMessage", lambda c: c.ok and c.params.get("chat_id") == OWNER)

    status, _ = await call(http, "PATCH", f"{server.url}/api/dialogs/{dialog.id}", {"sale_amount": 12000})
    edit = await fake.wait_for("editMessageText", lambda c: c.ok and "12\u00a0000\u00a0₽" in c.params["text"])

    assert status == 200
    assert "💰 Продажа: 12\u00a0000\u00a0₽" in edit.params["text"]
    assert edit.params["reply_markup"]["inline_keyboard"][0][1]["text"] == "✅ Продажа"


async def test_the_exports_end_with_the_sales_amount(server: RunningServer, http: Any) -> None:
    dialog_id = await new_dialog(server)
    await call(http, "PATCH", f"{server.url}/api/dialogs/{dialog_id}", {"sale_amount": 12000.5})
    await call(http, "POST", f"{server.url}/api/dialogs/{dialog_id}/sales", {"amount": 3000})
    await new_dialog(server)  # no sale: an empty cell

    async with http.get(f"{server.url}/api/dialogs.csv", params={"period": "today"}, headers=AUTH) as response:
        people = list(csv.reader(io.StringIO((await response.text()).lstrip("\ufeff")), delimiter=";"))
    params = {"period": "today", "format": "machine"}
    async with http.get(f"{server.url}/api/dialogs.csv", params=params, headers=AUTH) as response:
        machine = list(csv.reader(io.StringIO((await response.text()).lstrip("\ufeff"))))
    async with http.get(f"{server.url}/api/dialogs.xlsx", params={"period": "today"}, headers=AUTH) as response:
        book = openpyxl.load_workbook(io.BytesIO(await response.read()))

    column = people[0].index("Сумма продаж")
    assert [row[column] for row in people[1:]] == ["15000,50", ""]
    assert [row[machine[0].index("sale_amount")] for row in machine[1:]] == ["15000.50", ""]
    sheet = list(book["Диалоги"].iter_rows(values_only=True))
    column = sheet[0].index("Сумма продаж")
    assert [row[column] for row in sheet[1:] if row[0]] == [15000.5, None]  # a number the spreadsheet sums
