"""Conversions to Yandex Metrica through the local double of its offline conversions upload: the rows, the goals,
price and currency, which identifier, and what each documented error makes of a batch."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import aiohttp
import pytest

from integrations.base import Delivered, Outgoing
from integrations.metrica import LINK_WINDOW, MetricaSender, csv_file
from tests.fakes.metrica_api import FakeMetricaAPI
from tracking.models import (
    METRICA,
    Attribution,
    DeliveryOutcome,
    Dialog,
    Goal,
    Messenger,
    OutboxItem,
    Sale,
    TimeBuckets,
    Visit,
)
from tracking.settings import Settings

NOW = datetime(2026, 11, 27, 9, 30, tzinfo=UTC)  # in the past: Metrica refuses times still to come
YM_ID = "1700000000123456789"
YCLID = "7260387263495847423"


def outgoing(
    goal: Goal = Goal.LEAD,
    *,
    ym: str | None = YM_ID,
    yclid: str | None = None,
    last_seen: datetime = NOW - timedelta(minutes=10),
    happened: datetime = NOW - timedelta(minutes=3),
    sale: Sale | None = None,
    visit: bool = True,
    n: int = 1,
) -> Outgoing:
    visit_record = Visit(
        code="7K3M9QE",
        visitor_id="v1",
        first_seen=last_seen - timedelta(minutes=5),
        last_seen=last_seen,
        attribution=Attribution(yclid=yclid),
        ym_client_id=ym,
    )
    dialog = Dialog(
        id=f"{n:032x}",
        provider="twilio",
        messenger=Messenger.WHATSAPP,
        business_number="+79991234567",
        contact_id="+79161112233",
        started_at=happened,
        last_message_at=happened,
        is_repeat=False,
        buckets=TimeBuckets(day="2026-11-27", week="2026-W48", month="2026-11", quarter="2026-Q4"),
        attribution=Attribution(yclid=yclid),
        visit=visit_record if visit else None,
        sales=[sale] if sale else [],
    )
    item = OutboxItem(
        id=f"{METRICA}:{goal.value}:{dialog.id}",
        dialog_id=dialog.id,
        kind=METRICA,
        next_attempt_at=NOW,
        created_at=happened,
        goal=goal,
        sale_id=sale.id if sale else None,
        happened_at=happened,
    )
    return Outgoing(item, dialog, sale)


@pytest.fixture
async def api() -> AsyncIterator[FakeMetricaAPI]:
    async with FakeMetricaAPI() as fake:
        yield fake


@pytest.fixture
async def sender(api: FakeMetricaAPI) -> AsyncIterator[Callable[..., MetricaSender]]:
    async with aiohttp.ClientSession() as http:

        def make(**overrides: Any) -> MetricaSender:
            values: dict[str, Any] = {
                "metrica_counter_id": api.counter,
                "metrica_token": api.token,
                "metrica_api_url": api.url,
            }
            timeout = overrides.pop("timeout", 10.0)
            values.update(overrides)
            return MetricaSender(Settings(**values), http, clock=lambda: NOW, timeout=timeout)

        yield make


async def test_a_lead_is_one_row_under_the_lead_goal_with_the_visits_client_id(
    api: FakeMetricaAPI, sender: Callable[..., MetricaSender]
) -> None:
    one = outgoing(Goal.LEAD)
    assert await sender().send([one]) == [Delivered(DeliveryOutcome.SENT, "uploading 1")]
    [upload] = api.uploads
    assert upload.client_id_type == "CLIENT_ID"
    assert upload.comment == "chattrack"
    assert upload.header == ["ClientId", "Target", "DateTime"]  # no price: nothing sold
    happened = one.item.happened_at
    assert happened is not None
    assert upload.rows == [{"ClientId": YM_ID, "Target": "chattrack_lead", "DateTime": str(int(happened.timestamp()))}]


async def test_each_goal_uses_its_configured_identifier_and_a_batch_is_one_file(
    api: FakeMetricaAPI, sender: Callable[..., MetricaSender]
) -> None:
    batch = [outgoing(Goal.LEAD, n=1), outgoing(Goal.QUALIFIED, n=2), outgoing(Goal.SALE, n=3)]
    results = await sender(metrica_goal_qualified="hot_lead").send(batch)
    assert [r.outcome for r in results] == [DeliveryOutcome.SENT] * 3
    assert len(api.uploads) == 1
    assert [row["Target"] for row in api.rows] == ["chattrack_lead", "hot_lead", "chattrack_sale"]


async def test_a_sale_carries_its_amount_at_sending_time_and_the_currency(
    api: FakeMetricaAPI, sender: Callable[..., MetricaSender]
) -> None:
    priced = Sale(id="s1", amount=Decimal("12000"), currency="RUB", at=NOW - timedelta(minutes=1))
    unknown = Sale(id="s2", amount=None, currency="RUB", at=NOW - timedelta(minutes=1))
    cents = Sale(id="s3", amount=Decimal("1234.5"), currency="USD", at=NOW - timedelta(minutes=1))
    batch = [
        outgoing(Goal.SALE, sale=priced, n=1),
        outgoing(Goal.SALE, sale=unknown, n=2),
        outgoing(Goal.SALE, sale=cents, n=3),
    ]
    assert [r.outcome for r in await sender().send(batch)] == [DeliveryOutcome.SENT] * 3
    assert api.uploads[0].header == ["ClientId", "Target", "DateTime", "Price", "Currency"]
    assert [(row["Price"], row["Currency"]) for row in api.rows] == [("12000.00", "RUB"), ("", ""), ("1234.50", "USD")]


async def test_without_a_client_id_the_yclid_goes_in_its_own_file(
    api: FakeMetricaAPI, sender: Callable[..., MetricaSender]
) -> None:
    batch = [outgoing(ym=None, yclid=YCLID, n=1), outgoing(n=2), outgoing(ym=YM_ID, yclid=YCLID, n=3)]
    assert [r.outcome for r in await sender().send(batch)] == [DeliveryOutcome.SENT] * 3
    by_type = {upload.client_id_type: upload for upload in api.uploads}
    assert set(by_type) == {"CLIENT_ID", "YCLID"}
    assert by_type["YCLID"].rows[0]["Yclid"] == YCLID
    assert by_type["YCLID"].header[0] == "Yclid"
    assert [row["ClientId"] for row in by_type["CLIENT_ID"].rows] == [YM_ID, YM_ID]  # the client id first


async def test_nothing_to_link_it_with_is_skipped_without_a_request(
    api: FakeMetricaAPI, sender: Callable[..., MetricaSender]
) -> None:
    batch = [outgoing(ym=None, n=1), outgoing(visit=False, n=2), outgoing(ym="GA1.2.3", yclid="abc", n=3)]
    results = await sender().send(batch)
    assert [(r.outcome, r.note) for r in results] == [
        (DeliveryOutcome.SKIPPED, "no_client_id"),
        (DeliveryOutcome.SKIPPED, "no_client_id"),
        (DeliveryOutcome.SKIPPED, "bad_client_id"),  # Metrica would refuse the whole file for it
    ]
    assert api.requests == 0


async def test_a_visit_older_than_the_linking_window_is_too_late_and_never_sent(
    api: FakeMetricaAPI, sender: Callable[..., MetricaSender]
) -> None:
    old = outgoing(last_seen=NOW - LINK_WINDOW - timedelta(minutes=1), n=1)
    fresh = outgoing(last_seen=NOW - LINK_WINDOW + timedelta(minutes=1), n=2)
    results = await sender().send([old, fresh])
    assert results[0] == Delivered(DeliveryOutcome.TOO_LATE, "visit_too_old: 21")
    assert results[1].outcome is DeliveryOutcome.SENT
    assert [row["ClientId"] for row in api.rows] == [YM_ID]
    assert len(api.rows) == 1


async def test_a_time_in_the_future_is_sent_as_now(api: FakeMetricaAPI, sender: Callable[..., MetricaSender]) -> None:
    ahead = outgoing(happened=NOW + timedelta(hours=2))
    assert (await sender().send([ahead]))[0].outcome is DeliveryOutcome.SENT
    assert api.rows[0]["DateTime"] == str(int(NOW.timestamp()))


async def test_a_wrong_token_refuses_the_batch_in_plain_words(
    api: FakeMetricaAPI, sender: Callable[..., MetricaSender]
) -> None:
    results = await sender(metrica_token="wrong").send([outgoing(n=1), outgoing(n=2)])
    assert results == [Delivered(DeliveryOutcome.REFUSED, "invalid_token")] * 2
    assert api.uploads == []


async def test_a_counter_the_token_cannot_reach_is_refused_as_no_access(
    api: FakeMetricaAPI, sender: Callable[..., MetricaSender]
) -> None:
    results = await sender(metrica_counter_id="99999999").send([outgoing()])
    assert results == [Delivered(DeliveryOutcome.REFUSED, "no_access")]


async def test_a_bad_request_is_refused_with_metricas_message(
    api: FakeMetricaAPI, sender: Callable[..., MetricaSender]
) -> None:
    api.fail_next(400, "Отсутствует обязательная колонка Target")
    [result] = await sender().send([outgoing()])
    assert result == Delivered(DeliveryOutcome.REFUSED, "rejected: Отсутствует обязательная колонка Target")


async def test_a_refused_file_is_split_so_the_good_rows_still_go(
    api: FakeMetricaAPI, sender: Callable[..., MetricaSender]
) -> None:
    api.fail_next(400, "Некорректное значение в строке номер 3")  # the whole file, then the halves go through
    api.fail_next(400, "Некорректное значение в строке номер 2")  # the first half (two rows) refused again
    api.fail_next(400, "Некорректное значение в строке номер 2")  # … and its first row alone
    batch = [outgoing(n=i) for i in range(1, 5)]
    results = await sender().send(batch)
    assert [r.outcome for r in results] == [
        DeliveryOutcome.REFUSED,
        DeliveryOutcome.SENT,
        DeliveryOutcome.SENT,
        DeliveryOutcome.SENT,
    ]
    assert results[0].note == "rejected: Некорректное значение в строке номер 2"
    assert len(api.rows) == 3


@pytest.mark.parametrize(
    ("status", "retry_after", "note", "delay"),
    [
        (429, "120", "quota", 120.0),
        (429, None, "quota", None),
        (503, None, "http_error: 503", None),
        (500, None, "http_error: 500", None),
    ],
)
async def test_quota_and_server_errors_are_retried(
    api: FakeMetricaAPI,
    sender: Callable[..., MetricaSender],
    status: int,
    retry_after: str | None,
    note: str,
    delay: float | None,
) -> None:
    api.fail_next(status, "Превышена квота", retry_after=retry_after)
    assert await sender().send([outgoing()]) == [Delivered(None, note, delay)]
    assert api.uploads == []


async def test_an_upload_not_open_yet_waits_an_hour(api: FakeMetricaAPI, sender: Callable[..., MetricaSender]) -> None:
    api.fail_next(400, "Загрузить данные сейчас невозможно. Загрузка станет доступна 2026-11-28")
    [result] = await sender().send([outgoing()])
    assert result.outcome is None
    assert result.retry_after == 3600.0


async def test_a_timeout_is_retried(api: FakeMetricaAPI, sender: Callable[..., MetricaSender]) -> None:
    api.fail_next(200, hang=True)
    assert await sender(timeout=0.2).send([outgoing()]) == [Delivered(None, "timeout")]


async def test_an_unreachable_api_is_retried(sender: Callable[..., MetricaSender]) -> None:
    from tests.conftest import free_port

    [result] = await sender(metrica_api_url=f"http://127.0.0.1:{free_port()}").send([outgoing()])
    assert result.outcome is None
    assert result.note is not None and result.note.startswith("connection_error")


def test_the_csv_quotes_nothing_it_need_not_and_ends_lines_plainly() -> None:
    from integrations.metrica import Row

    body = csv_file("ClientId", [Row(0, YM_ID, "chattrack_sale", 1764235800, "99.90", "RUB")])
    assert body == f"ClientId,Target,DateTime,Price,Currency\n{YM_ID},chattrack_sale,1764235800,99.90,RUB\n".encode()
