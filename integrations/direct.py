"""Yandex Direct's ad spend, per campaign, ad and day, from the Reports service (API v5).

One request: POST {CHATTRACK_DIRECT_API_URL}/json/v5/reports with a ReportDefinition (JSON) and the token
as `Authorization: Bearer`. Direct answers 200 with the report (TSV), or 201/202 while it builds the report
offline: the same request (same ReportName) is sent again after the `retryIn` seconds it suggests. Errors
come as JSON {"error": {error_code, error_string, error_detail}} with 400/500 (and 502 on a timeout).

Money comes in micros (the amount times 1,000,000, an integer): read into Decimal exactly. Days are
Direct's own (the account's time zone). The import runs on the primary process only: yesterday and today
every CHATTRACK_DIRECT_IMPORT_HOURS, and the last 90 days once (a job key, so once across restarts).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

import aiohttp

from tracking.models import Cost
from tracking.periods import utc_now
from tracking.settings import Settings
from tracking.store.base import Store

log = logging.getLogger("chattrack.direct")

REPORTS_PATH = "/json/v5/reports"
FIELDS = ("Date", "CampaignId", "CampaignName", "AdId", "Cost")
SOURCE = "yandex"  # what Direct's links name in utm_source
ORIGIN = "direct"
MICROS = Decimal(1_000_000)
NO_VALUE = "--"  # Direct's mark of a field without a value (AdId of a Campaign Wizard campaign)
RETRY_IN_CAP = 60.0  # seconds: never wait longer than this between two asks, whatever retryIn says
RETRY_IN_DEFAULT = 10.0  # when a 201/202 carries no (readable) retryIn
WAIT_LIMIT = 15 * 60.0  # seconds of waiting for one report before giving up until the next run
BACKFILL_DAYS = 90
BACKFILL_JOB = "direct:backfill:90d"
BACKFILL_LEASE = timedelta(hours=1)
REQUEST_TIMEOUT = 120.0
# Error codes that mean the token or the account will not work until someone changes something.
REFUSED_CODES = {
    53: "токен недействителен (отозван или истёк): выпустите новый",
    54: "нет прав: у этого токена нет доступа к кабинету (для агентства проверьте логин клиента)",
    58: "приложение не получило доступ к API Директа: подайте заявку и дождитесь её одобрения",
    513: "этот логин не подключён к Директу",
    8800: "кабинет не найден: проверьте логин клиента",
}


class DirectError(Exception):
    """Direct said no, or could not be reached. `reason` is in plain words (logged, told to owners);
    `refused`: the token or access is wrong (no use retrying until someone fixes it)."""

    def __init__(self, reason: str, *, refused: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.refused = refused


def report_definition(start: date, end: date, *, include_vat: bool) -> dict[str, Any]:
    """Cost per campaign, ad and day for [start, end] (both included, as Direct counts). The name is unique per
    definition: Direct keeps building (and answers 201/202 for) the report of that name, and a name asked
    again with other parameters would be an error."""
    params: dict[str, Any] = {
        "SelectionCriteria": {"DateFrom": start.isoformat(), "DateTo": end.isoformat()},
        "FieldNames": list(FIELDS),
        "ReportType": "CUSTOM_REPORT",
        "DateRangeType": "CUSTOM_DATE",
        "Format": "TSV",
        "IncludeVAT": "YES" if include_vat else "NO",
    }
    digest = hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()[:12]
    params["ReportName"] = f"chattrack {start.isoformat()} {end.isoformat()} {digest}"
    return {"params": params}


def parse_report(tsv: str, currency: str) -> list[Cost]:
    """The report's rows (the column header first: the request asks for no title and no total line)."""
    lines = [line for line in tsv.splitlines() if line.strip()]
    if not lines:
        return []
    header = lines[0].split("\t")
    missing = [name for name in FIELDS if name not in header]
    if missing:
        raise DirectError(f"в отчёте Директа нет столбцов {', '.join(missing)}")
    at = {name: header.index(name) for name in FIELDS}
    costs: list[Cost] = []
    for number, line in enumerate(lines[1:], start=2):
        cells = line.split("\t")
        if len(cells) != len(header):
            raise DirectError(f"строка {number} отчёта Директа: {len(cells)} столбцов вместо {len(header)}")
        value = {name: cells[index].strip() for name, index in at.items()}
        try:
            day = date.fromisoformat(value["Date"])
            micros = Decimal(value["Cost"]) if value["Cost"] != NO_VALUE else Decimal(0)
        except (ValueError, InvalidOperation) as exc:
            raise DirectError(f"строка {number} отчёта Директа не читается: {line[:200]!r}") from exc
        campaign_id = value["CampaignId"] if value["CampaignId"] != NO_VALUE else None
        ad_id = value["AdId"] if value["AdId"] != NO_VALUE else None
        costs.append(
            Cost(
                day=day,
                source=SOURCE,
                campaign=value["CampaignName"] if value["CampaignName"] != NO_VALUE else campaign_id or "",
                campaign_id=campaign_id,
                ad_id=ad_id,
                amount=micros / MICROS,
                currency=currency,
                origin=ORIGIN,
            )
        )
    return costs


def error_reason(status: int, body: bytes) -> DirectError:
    """Direct's JSON error as plain words, or the HTTP status when the body says nothing readable."""
    try:
        error = json.loads(body)["error"]
        code = int(error.get("error_code", 0))
        said = " ".join(str(error.get(k) or "") for k in ("error_string", "error_detail")).strip()
    except (ValueError, KeyError, TypeError, AttributeError):
        return DirectError(f"Директ ответил {status}")
    if code in REFUSED_CODES:
        return DirectError(f"{REFUSED_CODES[code]} (код {code}: {said})", refused=True)
    return DirectError(f"Директ ответил {status}, код {code}: {said}")


@dataclass
class DirectClient:
    """Asks Direct for a report and waits through its offline queue. `wait` is asyncio.sleep (tests pass one
    that returns at once)."""

    session: aiohttp.ClientSession
    base_url: str
    token: str
    currency: str
    client_login: str | None = None
    include_vat: bool = True
    wait: Callable[[float], Awaitable[object]] = asyncio.sleep
    retry_in_cap: float = RETRY_IN_CAP
    wait_limit: float = WAIT_LIMIT

    @classmethod
    def of(cls, session: aiohttp.ClientSession, settings: Settings, **options: Any) -> DirectClient:
        assert settings.direct_token is not None
        return cls(
            session=session,
            base_url=settings.direct_api_url,
            token=settings.direct_token.get_secret_value(),
            currency=settings.currency,
            client_login=settings.direct_client_login,
            include_vat=settings.direct_include_vat,
            **options,
        )

    def headers(self) -> dict[str, str]:
        headers = {
            "Authorization": f"Bearer {self.token}",
            "Accept-Language": "ru",
            "Content-Type": "application/json; charset=utf-8",
            "processingMode": "auto",
            "returnMoneyInMicros": "true",
            "skipReportHeader": "true",
            "skipReportSummary": "true",
        }
        if self.client_login:
            headers["Client-Login"] = self.client_login
        return headers

    async def costs(self, start: date, end: date) -> list[Cost]:
        """Spend per campaign, ad and day for [start, end] (both included)."""
        body = json.dumps(report_definition(start, end, include_vat=self.include_vat))
        waited = 0.0
        while True:
            try:
                async with self.session.post(
                    self.base_url + REPORTS_PATH,
                    data=body.encode(),
                    headers=self.headers(),
                    timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT),
                ) as response:
                    status, payload, retry_in = response.status, await response.read(), response.headers.get("retryIn")
            except (aiohttp.ClientError, TimeoutError) as exc:
                raise DirectError(f"Директ недоступен: {exc or type(exc).__name__}") from exc
            if status == 200:
                return parse_report(payload.decode("utf-8-sig"), self.currency)
            if status not in (201, 202):
                raise error_reason(status, payload)
            delay = _seconds(retry_in)
            if waited + delay > self.wait_limit:
                raise DirectError(f"Директ строит отчёт дольше {int(self.wait_limit // 60)} мин: спросим позже")
            waited += delay
            await self.wait(delay)


def _seconds(retry_in: str | None) -> float:
    try:
        return min(max(float(retry_in or RETRY_IN_DEFAULT), 0.0), RETRY_IN_CAP)
    except ValueError:
        return RETRY_IN_DEFAULT


@dataclass
class DirectImport:
    """What the primary process runs: the recent days every `every` seconds, the 90 days once."""

    store: Store
    client: DirectClient
    zone: Any  # ZoneInfo: days are the business's
    every: float
    tell_owners: Callable[[str], Awaitable[None]] | None = None
    clock: Callable[[], datetime] = utc_now
    told_refusal: bool = False
    backfill_owed: bool | None = None  # None: not asked yet (claim_job says)
    last_error: str | None = None
    ran: asyncio.Event = field(default_factory=asyncio.Event)  # set after each run (tests wait on it)

    async def import_days(self, start: date, end: date) -> int:
        costs = await self.client.costs(start, end)
        written = await self.store.save_costs(costs)
        log.info("direct: %d cost rows for %s..%s", written, start, end)
        return written

    async def recent(self) -> int:
        """Yesterday and today: today's spend grows during the day, yesterday's settles after midnight."""
        today = self.clock().astimezone(self.zone).date()
        return await self.import_days(today - timedelta(days=1), today)

    async def backfill(self) -> bool:
        """The last 90 days, once: False when done before (or another copy holds it). Once claimed it stays
        this importer's to finish: a failed try is tried again at the next run, without claiming again."""
        now = self.clock()
        if self.backfill_owed is None:
            self.backfill_owed = await self.store.claim_job(BACKFILL_JOB, now, BACKFILL_LEASE)
        if not self.backfill_owed:
            return False
        today = now.astimezone(self.zone).date()
        await self.import_days(today - timedelta(days=BACKFILL_DAYS), today)
        await self.store.finish_job(BACKFILL_JOB, self.clock())
        self.backfill_owed = False
        return True

    async def run_once(self) -> bool:
        """One run: the backfill when still owed, then the recent days. A failure is logged (and a refused
        token told to the owners once); the next run tries again. True when it went through."""
        try:
            return await self._run()
        finally:
            self.ran.set()

    async def _run(self) -> bool:
        try:
            await self.backfill()
            await self.recent()
        except DirectError as exc:
            self.last_error = exc.reason
            log.warning("direct: import failed: %s", exc.reason)
            if exc.refused and not self.told_refusal:
                self.told_refusal = True
                await self._tell(exc.reason)
            return False
        except Exception as exc:  # the store away, a bug: the next run tries again
            self.last_error = str(exc)
            log.warning("direct: import failed: %s", exc, exc_info=True)
            return False
        self.last_error, self.told_refusal = None, False
        return True

    async def _tell(self, reason: str) -> None:
        if self.tell_owners is None:
            return
        try:
            await self.tell_owners(reason)
        except Exception as exc:  # telling is a courtesy: the log has it anyway
            log.warning("direct: could not tell the owners: %s", exc)

    async def forever(self) -> None:
        while True:
            await self.run_once()
            await asyncio.sleep(self.every)
