"""Conversions to Yandex Metrica: the management API's offline conversions upload.

    POST {metrica_api_url}/management/v1/counter/{counterId}/offline_conversions/upload
         ?client_id_type=CLIENT_ID|YCLID&comment=chattrack
    Authorization: OAuth <token>
    multipart/form-data, part "file": a UTF-8 CSV, column names in the first line

One file per batch and kind of identifier: `ClientId` (the visit's Metrica client id, from the `_ym_uid`
cookie the snippet reads) or, without one, `Yclid` (the click id Direct adds to the ad's link); then
`Target` (the JavaScript-event goal's identifier: CHATTRACK_METRICA_GOAL_LEAD / _QUALIFIED / _SALE),
`DateTime` (Unix seconds, UTC; never in the future: Metrica refuses the file) and, for a sale whose amount
is known, `Price` (a dot before the kopecks) and `Currency` (ISO 4217).

Metrica links an uploaded conversion to a visit of the last 21 days only: a conversion of a visit last seen
earlier is TOO_LATE and never sent. Its answers: 200 `{"uploading": {"id", "status", ...}}`; errors as
`{"errors": [{"error_type", "message"}], "code", "message"}`. 401 and 403 (a wrong token, no access to the
counter) refuse the batch with the reason; a 400 refuses it with Metrica's message, after the batch is split
to find the rows Metrica refuses (one wrong value refuses the whole file); "upload not available yet" (the
counter's offline conversions were just turned on), 429, 5xx, timeouts and network errors are retried.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

import aiohttp

from integrations.base import Delivered, Outgoing, retry_after, retry_note
from tracking.models import METRICA, DeliveryOutcome, Goal
from tracking.periods import utc_now
from tracking.settings import Settings
from tracking.strings import one_line

log = logging.getLogger("chattrack.integrations.metrica")

LINK_WINDOW = timedelta(days=21)  # Metrica adds conversions to visits of the last 21 days
TIMEOUT = 60.0  # seconds for one upload
BATCH = 500  # conversions per file: small files, well under Metrica's 1 GB
COMMENT = "chattrack"
# Metrica's ids are numbers (it refuses the whole file for one that is not)
_NUMBER = re.compile(r"^[0-9]{1,40}$")
# "Загрузить данные сейчас невозможно. Загрузка станет доступна …": the counter's offline conversions were
# turned on lately; the file is fine, only early.
_NOT_YET = "Загрузить данные сейчас невозможно"


@dataclass(frozen=True, slots=True)
class Row:
    index: int  # the item's place in the batch
    identifier: str
    target: str
    at: int
    price: str | None = None
    currency: str | None = None


# identifier column → client_id_type
ID_TYPES = {"ClientId": "CLIENT_ID", "Yclid": "YCLID"}


class MetricaSender:
    kind = METRICA
    batch_size = BATCH

    def __init__(
        self,
        settings: Settings,
        http: aiohttp.ClientSession,
        *,
        clock: Callable[[], datetime] = utc_now,
        timeout: float = TIMEOUT,
    ) -> None:
        if settings.metrica_counter_id is None or settings.metrica_token is None:
            raise ValueError("Metrica needs CHATTRACK_METRICA_COUNTER_ID and CHATTRACK_METRICA_TOKEN")
        self.url = (
            f"{settings.metrica_api_url}/management/v1/counter/{settings.metrica_counter_id}/offline_conversions/upload"
        )
        self.token = settings.metrica_token.get_secret_value()
        self.goals = {
            Goal.LEAD: settings.metrica_goal_lead,
            Goal.QUALIFIED: settings.metrica_goal_qualified,
            Goal.SALE: settings.metrica_goal_sale,
        }
        self.http = http
        self.clock = clock
        self.timeout = timeout

    async def send(self, batch: Sequence[Outgoing]) -> list[Delivered]:
        results: list[Delivered | None] = [None] * len(batch)
        files: dict[str, list[Row]] = {}
        now = self.clock()
        for index, outgoing in enumerate(batch):
            decided = self._row(index, outgoing, now)
            if isinstance(decided, Delivered):
                results[index] = decided
            else:
                column, row = decided
                files.setdefault(column, []).append(row)
        for column, rows in files.items():
            for row, result in zip(rows, await self._upload(column, rows), strict=True):
                results[row.index] = result
        return [result or Delivered(None, "not sent") for result in results]

    def _row(self, index: int, outgoing: Outgoing, now: datetime) -> tuple[str, Row] | Delivered:
        """The item's row and its identifier column, or how it ends without being sent."""
        item, dialog, sale = outgoing.item, outgoing.dialog, outgoing.sale
        visit = dialog.visit
        if item.goal is None:
            return Delivered(DeliveryOutcome.SKIPPED, "no_goal")
        if visit is None:
            return Delivered(DeliveryOutcome.SKIPPED, "no_client_id")
        if visit.last_seen < now - LINK_WINDOW:
            return Delivered(DeliveryOutcome.TOO_LATE, f"visit_too_old: {LINK_WINDOW.days}")
        ids = (("ClientId", visit.ym_client_id), ("Yclid", dialog.attribution.yclid))
        found = [(column, value.strip()) for column, value in ids if value and value.strip()]
        usable = [(column, value) for column, value in found if _NUMBER.match(value)]
        if not usable:
            return Delivered(DeliveryOutcome.SKIPPED, "bad_client_id" if found else "no_client_id")
        column, identifier = usable[0]
        happened = min(item.happened_at or item.created_at, now)  # a time in the future refuses the file
        price = currency = None
        if item.goal is Goal.SALE and sale is not None and sale.amount is not None:
            price = f"{sale.amount.quantize(Decimal('0.01')):f}"
            currency = sale.currency
        row = Row(index, identifier, self.goals[item.goal], int(happened.timestamp()), price, currency)
        return column, row

    async def _upload(self, column: str, rows: list[Row]) -> list[Delivered]:
        """Upload the rows as one file; a file Metrica refuses (400) is split to find the rows it refuses."""
        result = await self._post(column, rows)
        if result.outcome is not DeliveryOutcome.REFUSED or len(rows) == 1 or not result.note:
            return [result] * len(rows)
        if not result.note.startswith("rejected"):  # the token or the counter: every row alike
            return [result] * len(rows)
        half = len(rows) // 2
        return [*await self._upload(column, rows[:half]), *await self._upload(column, rows[half:])]

    async def _post(self, column: str, rows: Sequence[Row]) -> Delivered:
        form = aiohttp.FormData()
        form.add_field("file", csv_file(column, rows), filename="conversions.csv", content_type="text/csv")
        params = {"client_id_type": ID_TYPES[column], "comment": COMMENT}
        headers = {"Authorization": f"OAuth {self.token}"}
        try:
            async with self.http.post(
                self.url,
                params=params,
                data=form,
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=self.timeout),
            ) as response:
                body = await response.read()
                status = response.status
                retry_header = response.headers.get("Retry-After")
        except TimeoutError:
            return Delivered(None, "timeout")
        except aiohttp.ClientError as exc:
            return Delivered(None, f"connection_error: {one_line(str(exc), 200) or type(exc).__name__}")
        answer = _json(body)
        if status == 200:
            uploading = answer.get("uploading") if isinstance(answer, dict) else None
            upload_id = uploading.get("id") if isinstance(uploading, dict) else None
            log.info("Metrica: %d conversion(s) uploaded (%s, uploading %s)", len(rows), column, upload_id)
            return Delivered(DeliveryOutcome.SENT, f"uploading {upload_id}" if upload_id is not None else None)
        message, error_type = _error(answer)
        log.warning("Metrica refused an upload of %d row(s): HTTP %d %s %s", len(rows), status, error_type, message)
        if status == 429 or status >= 500:
            return Delivered(None, retry_note(status), retry_after(retry_header) if status == 429 else None)
        if status == 401 or error_type == "invalid_token":
            return Delivered(DeliveryOutcome.REFUSED, "invalid_token")
        if status == 403:
            return Delivered(DeliveryOutcome.REFUSED, "no_access")
        if status == 400 and message.startswith(_NOT_YET):
            return Delivered(None, f"not_yet_open: {message}", 3600.0)
        return Delivered(DeliveryOutcome.REFUSED, f"rejected: {message or f'HTTP {status}'}")


def csv_file(column: str, rows: Sequence[Row]) -> bytes:
    """The upload's CSV: the identifier column, Target, DateTime, and Price and Currency when a row has a price."""
    priced = any(row.price is not None for row in rows)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([column, "Target", "DateTime", *(("Price", "Currency") if priced else ())])
    for row in rows:
        values = [row.identifier, row.target, str(row.at)]
        if priced:
            values += [row.price or "", row.currency or ""]
        writer.writerow(values)
    return out.getvalue().encode()


def _json(body: bytes) -> object:
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None


def _error(answer: object) -> tuple[str, str | None]:
    """Metrica's reason and error type from `{"errors": [{"error_type", "message"}], "code", "message"}`."""
    if not isinstance(answer, dict):
        return "", None
    errors = answer.get("errors")
    first = errors[0] if isinstance(errors, list) and errors and isinstance(errors[0], dict) else {}
    message = first.get("message") or answer.get("message") or ""
    error_type = first.get("error_type")
    return one_line(str(message), 300), str(error_type) if error_type else None
