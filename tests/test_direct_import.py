"""Yandex Direct's spend through the Reports service (integrations/direct.py) against a local double that speaks
the documented protocol (tests/fakes/direct_api.py): the 201/202 queue and retryIn, the TSV in micros, the
documented errors, and the schedule (the recent days, the 90 days once)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import pytest

from integrations.direct import BACKFILL_JOB, DirectClient, DirectError, DirectImport, parse_report
from tests.fakes.direct_api import FakeDirectAPI, Row
from tracking.settings import Settings
from tracking.store.sqlite import SQLiteStore
from webhooks.background import DIRECT_IMPORT

MOSCOW = ZoneInfo("Europe/Moscow")
NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)  # 12:00 in Moscow: today is 2 Nov
LEASE = timedelta(minutes=5)


@pytest.fixture
async def direct() -> AsyncIterator[FakeDirectAPI]:
    async with FakeDirectAPI() as fake:
        fake.rows = [
            Row("2026-11-01", "17", "Кухни — поиск", "900", Decimal("1234.56")),
            Row("2026-11-01", "17", "Кухни — поиск", "901", Decimal("0.01")),
            Row("2026-11-02", "18", "Шкафы — РСЯ", None, Decimal("500")),  # a Campaign Wizard one: no AdId
            Row("2026-08-10", "18", "Шкафы — РСЯ", None, Decimal("70")),  # in the 90 days only
        ]
        yield fake


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as http:
        yield http


class Waits(list[float]):
    async def __call__(self, seconds: float) -> None:  # no sleeping: the delay asked for is recorded
        self.append(seconds)


def client(session: aiohttp.ClientSession, fake: FakeDirectAPI, waits: Waits, **options: Any) -> DirectClient:
    return DirectClient(session, fake.url, fake.token, "RUB", wait=waits, **options)


async def test_a_queued_report_is_asked_again_by_the_same_name_until_it_comes_in_micros(
    direct: FakeDirectAPI, session: aiohttp.ClientSession
) -> None:
    direct.offline, direct.retry_in = [201, 202, 202], "7"
    waits = Waits()

    costs = await client(session, direct, waits).costs(date(2026, 11, 1), date(2026, 11, 2))

    assert [r.status for r in direct.requests] == [201, 202, 202, 200]
    assert waits == [7.0, 7.0, 7.0]
    names = {r.body["params"]["ReportName"] for r in direct.requests}
    assert len(names) == 1  # the same report asked for again, not a new one each time
    assert sorted((c.day.isoformat(), c.campaign_id, c.ad_id, c.amount) for c in costs) == [
        ("2026-11-01", "17", "900", Decimal("1234.56")),
        ("2026-11-01", "17", "901", Decimal("0.01")),
        ("2026-11-02", "18", None, Decimal("500")),
    ]
    assert {(c.source, c.origin, c.currency) for c in costs} == {("yandex", "direct", "RUB")}
    assert {c.campaign for c in costs} == {"Кухни — поиск", "Шкафы — РСЯ"}


async def test_the_request_speaks_the_documented_headers_and_definition(
    direct: FakeDirectAPI, session: aiohttp.ClientSession
) -> None:
    direct.agency_clients = {"kitchen-client"}

    await client(session, direct, Waits(), client_login="kitchen-client").costs(date(2026, 11, 1), date(2026, 11, 2))

    (request,) = direct.requests
    assert request.headers["Authorization"] == "Bearer direct-token"
    assert request.headers["Accept-Language"] == "ru"
    assert request.headers["Client-Login"] == "kitchen-client"
    assert request.headers["skipReportHeader"] == "true" and request.headers["skipReportSummary"] == "true"
    assert request.headers["returnMoneyInMicros"] == "true"
    params = request.body["params"]
    assert params["SelectionCriteria"] == {"DateFrom": "2026-11-01", "DateTo": "2026-11-02"}
    assert params["FieldNames"] == ["Date", "CampaignId", "CampaignName", "AdId", "Cost"]
    assert (params["ReportType"], params["DateRangeType"], params["Format"], params["IncludeVAT"]) == (
        "CUSTOM_REPORT",
        "CUSTOM_DATE",
        "TSV",
        "YES",
    )


async def test_another_period_or_vat_choice_is_another_report_name(
    direct: FakeDirectAPI, session: aiohttp.ClientSession
) -> None:
    waits = Waits()
    await client(session, direct, waits).costs(date(2026, 11, 1), date(2026, 11, 2))
    await client(session, direct, waits).costs(date(2026, 11, 1), date(2026, 11, 1))
    await client(session, direct, waits, include_vat=False).costs(date(2026, 11, 1), date(2026, 11, 2))

    assert len({r.body["params"]["ReportName"] for r in direct.requests}) == 3


async def test_costs_without_vat_when_the_setting_says_so(
    direct: FakeDirectAPI, session: aiohttp.ClientSession
) -> None:
    costs = await client(session, direct, Waits(), include_vat=False).costs(date(2026, 11, 2), date(2026, 11, 2))

    assert direct.requests[0].body["params"]["IncludeVAT"] == "NO"
    assert [c.amount for c in costs] == [Decimal("416.666667")]  # 500 without VAT, exact to the micro


async def test_a_long_retry_in_is_capped(direct: FakeDirectAPI, session: aiohttp.ClientSession) -> None:
    direct.offline, direct.retry_in = [201], "3600"
    waits = Waits()

    await client(session, direct, waits, retry_in_cap=60).costs(date(2026, 11, 1), date(2026, 11, 1))

    assert waits == [60.0]


async def test_a_report_that_never_comes_gives_up_for_this_run(
    direct: FakeDirectAPI, session: aiohttp.ClientSession
) -> None:
    direct.offline, direct.retry_in = [201] + [202] * 50, "60"

    with pytest.raises(DirectError, match="строит отчёт дольше"):
        await client(session, direct, Waits(), wait_limit=300).costs(date(2026, 11, 1), date(2026, 11, 1))

    assert len(direct.requests) == 6  # 5 waits of 60 s, then no more


@pytest.mark.parametrize(
    ("status", "code", "refused", "words"),
    [
        (400, 53, True, "токен недействителен"),
        (400, 513, True, "не подключён к Директу"),
        (400, 58, True, "заявку"),
        (400, 8000, False, "Директ ответил 400, код 8000"),
        (500, 1000, False, "Директ ответил 500, код 1000: Сервер временно недоступен"),
    ],
)
async def test_documented_errors_become_plain_reasons(
    direct: FakeDirectAPI, session: aiohttp.ClientSession, status: int, code: int, refused: bool, words: str
) -> None:
    direct.fail_next(status, code, "Сервер временно недоступен" if code == 1000 else "Ошибка", "подробности")

    with pytest.raises(DirectError) as caught:
        await client(session, direct, Waits()).costs(date(2026, 11, 1), date(2026, 11, 1))

    assert caught.value.refused is refused
    assert words in caught.value.reason


async def test_a_wrong_token_and_a_foreign_client_login_are_refused_by_the_double_as_by_direct(
    direct: FakeDirectAPI, session: aiohttp.ClientSession
) -> None:
    with pytest.raises(DirectError) as bad_token:
        await DirectClient(session, direct.url, "expired", "RUB", wait=Waits()).costs(
            date(2026, 11, 1), date(2026, 11, 1)
        )
    direct.agency_clients = {"kitchen-client"}
    with pytest.raises(DirectError) as foreign:
        await client(session, direct, Waits(), client_login="someone-else").costs(date(2026, 11, 1), date(2026, 11, 1))

    assert bad_token.value.refused and "код 53" in bad_token.value.reason
    assert foreign.value.refused and "нет прав" in foreign.value.reason


def test_the_report_parser_reads_a_header_first_and_refuses_a_broken_row() -> None:
    tsv = "Date\tCampaignId\tCampaignName\tAdId\tCost\n2026-11-01\t17\tКухни\t--\t1500000\n"
    (cost,) = parse_report(tsv, "RUB")
    assert (cost.ad_id, cost.amount) == (None, Decimal("1.5"))

    with pytest.raises(DirectError, match="строка 2"):
        parse_report("Date\tCampaignId\tCampaignName\tAdId\tCost\n2026-11-01\t17\tКухни\n", "RUB")
    with pytest.raises(DirectError, match="нет столбцов Cost"):
        parse_report("Date\tCampaignId\tCampaignName\tAdId\n", "RUB")


# the schedule -------------------------------------------------------------------------------------------


def importer(
    store: SQLiteStore, session: aiohttp.ClientSession, fake: FakeDirectAPI, told: list[str], **options: Any
) -> DirectImport:
    async def tell(reason: str) -> None:
        told.append(reason)

    return DirectImport(
        store=store,
        client=client(session, fake, Waits()),
        zone=MOSCOW,
        every=3 * 3600,
        tell_owners=tell,
        **({"clock": lambda: NOW} | options),
    )


async def test_the_first_run_imports_90_days_once_then_yesterday_and_today_in_the_business_zone(
    direct: FakeDirectAPI, session: aiohttp.ClientSession, store: SQLiteStore
) -> None:
    told: list[str] = []

    assert await importer(store, session, direct, told).run_once()
    assert await importer(store, session, direct, told).run_once()  # a restart: no second backfill

    periods = [
        (r.body["params"]["SelectionCriteria"]["DateFrom"], r.body["params"]["SelectionCriteria"]["DateTo"])
        for r in direct.requests
    ]
    assert periods == [("2026-08-04", "2026-11-02"), ("2026-11-01", "2026-11-02"), ("2026-11-01", "2026-11-02")]
    rows = await store.cost_rows(date(2026, 8, 1), date(2026, 12, 1))
    assert [(c.day.isoformat(), c.ad_id, c.amount) for c in rows] == [
        ("2026-08-10", None, Decimal("70")),
        ("2026-11-01", "900", Decimal("1234.56")),
        ("2026-11-01", "901", Decimal("0.01")),
        ("2026-11-02", None, Decimal("500")),
    ]  # imported three times, stored once
    assert not await store.claim_job(BACKFILL_JOB, NOW, LEASE)
    assert told == []


async def test_today_is_the_business_day_not_utc(
    direct: FakeDirectAPI, session: aiohttp.ClientSession, store: SQLiteStore
) -> None:
    late = datetime(2026, 11, 1, 22, 30, tzinfo=UTC)  # 01:30 on 2 Nov in Moscow
    run = importer(store, session, direct, [], clock=lambda: late)

    await run.recent()

    criteria = direct.requests[-1].body["params"]["SelectionCriteria"]
    assert criteria == {"DateFrom": "2026-11-01", "DateTo": "2026-11-02"}


async def test_a_refused_token_is_told_once_and_retried_at_each_run_until_it_works(
    direct: FakeDirectAPI, session: aiohttp.ClientSession, store: SQLiteStore
) -> None:
    told: list[str] = []
    run = importer(store, session, direct, told)
    for _ in range(3):
        direct.fail_next(400, 53, "Ошибка авторизации", "Указан недействительный OAuth-токен")

    results = [await run.run_once() for _ in range(4)]

    assert results == [False, False, False, True]
    assert len(told) == 1 and "токен недействителен" in told[0]
    assert run.last_error is None
    assert len(await store.cost_rows(date(2026, 8, 1), date(2026, 12, 1))) == 4  # the backfill, once it worked


async def test_a_failed_run_stores_nothing_and_leaves_the_backfill_owed(
    direct: FakeDirectAPI, session: aiohttp.ClientSession, store: SQLiteStore
) -> None:
    direct.fail_next(500, 1000, "Сервер временно недоступен", "")
    run = importer(store, session, direct, [])

    assert not await run.run_once()

    assert run.last_error is not None and "код 1000" in run.last_error
    assert await store.cost_rows(date(2026, 8, 1), date(2026, 12, 1)) == []
    assert await store.claim_job(BACKFILL_JOB, NOW, LEASE) is False  # leased, not done ...
    later = datetime(2026, 11, 2, 11, 0, tzinfo=UTC)
    assert await store.claim_job(BACKFILL_JOB, later, LEASE)  # ... so a later run takes it


# the server ------------------------------------------------------------------------------------------------


async def test_the_server_imports_in_the_background_on_the_primary_process(
    direct: FakeDirectAPI, start_server: Callable[..., Any], tmp_path: Path
) -> None:
    server = await start_server(direct_token=direct.token, direct_api_url=direct.url)

    await asyncio.wait_for(server.app[DIRECT_IMPORT].ran.wait(), 5)  # the 90 days, then the recent days

    assert isinstance(server.settings, Settings) and server.settings.direct_enabled
    assert all(r.status == 200 for r in direct.requests)
    rows = await server.store.cost_rows(date(2000, 1, 1), date(2100, 1, 1))
    assert {c.origin for c in rows} == {"direct"} and rows


async def test_without_a_token_nothing_is_asked(direct: FakeDirectAPI, start_server: Callable[..., Any]) -> None:
    server = await start_server(direct_api_url=direct.url)

    assert await server.store.ping()
    assert direct.requests == []
    assert not server.settings.direct_enabled
