"""A local Yandex Metrica management API for tests: the offline conversions upload, real HTTP on a free port.

    POST /management/v1/counter/{counterId}/offline_conversions/upload?client_id_type=…&comment=…
    Authorization: OAuth <token>; multipart/form-data with the CSV in the part "file"

It checks what Metrica checks and answers as Metrica documents: the token (403 invalid_token), the counter
(403 access_denied), the multipart part, the CSV (column names in the first line, case-insensitive; the
identifier column `client_id_type` names, Target and DateTime required; ids and DateTime numbers, DateTime
not in the future; Price a number with a dot; Currency three letters) with 400 and Metrica's own messages,
and `{"uploading": {...}}` on success. Each accepted file is kept (`uploads`: its rows as dicts);
`fail_next(status, …)` answers the next uploads with an error (429 with Retry-After, 5xx, 400…).
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import re
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from tests.fakes import serve_app

COLUMNS = {"CLIENT_ID": "ClientId", "YCLID": "Yclid", "USER_ID": "UserId"}
ERROR_TYPES = {400: "invalid_parameter", 401: "unauthorized", 403: "access_denied", 429: "quota_requests_by_uid"}
_NUMBER = re.compile(r"^[0-9]+$")
_PRICE = re.compile(r"^[0-9]+(\.[0-9]+)?$")


@dataclass
class Upload:
    counter: str
    client_id_type: str
    comment: str | None
    header: list[str]
    rows: list[dict[str, str]]


@dataclass
class _Failure:
    status: int
    message: str
    error_type: str
    retry_after: str | None = None
    hang: bool = False  # never answer: the client's timeout


@dataclass
class FakeMetricaAPI:
    token: str = "metrica-token"
    counter: str = "12345678"
    uploads: list[Upload] = field(default_factory=list)
    requests: int = 0  # every upload request, refused or not
    _failures: deque[_Failure] = field(default_factory=deque)
    _runner: web.AppRunner | None = None
    url: str = ""
    _closing: asyncio.Event = field(default_factory=asyncio.Event)
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition)

    async def __aenter__(self) -> FakeMetricaAPI:
        app = web.Application()
        app.router.add_post("/management/v1/counter/{counter}/offline_conversions/upload", self._upload)
        self._runner, self.url = await serve_app(app)
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._closing.set()
        if self._runner is not None:
            await self._runner.cleanup()

    def fail_next(
        self,
        status: int,
        message: str = "error",
        *,
        error_type: str | None = None,
        retry_after: str | None = None,
        times: int = 1,
        hang: bool = False,
    ) -> None:
        kind = error_type or ERROR_TYPES.get(status, "backend_error")
        for _ in range(times):
            self._failures.append(_Failure(status, message, kind, retry_after, hang))

    async def wait_for_rows(self, count: int, within: float = 5.0) -> list[dict[str, str]]:
        """Every row uploaded, once at least `count` have been (a test waits for a background dispatcher)."""
        async with asyncio.timeout(within):
            async with self._changed:
                await self._changed.wait_for(lambda: len(self.rows) >= count)
        return self.rows

    @property
    def rows(self) -> list[dict[str, str]]:
        return [row for upload in self.uploads for row in upload.rows]

    # the endpoint -------------------------------------------------------------------------------

    async def _upload(self, request: web.Request) -> web.Response:
        self.requests += 1
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        if scheme != "OAuth" or not given:
            return _error(401, "unauthorized", "Неавторизованный пользователь")
        if given != self.token:
            return _error(403, "invalid_token", "Invalid oauth_token")
        if request.match_info["counter"] != self.counter:
            return _error(403, "access_denied", "Access is denied")
        if self._failures:
            failure = self._failures.popleft()
            if failure.hang:  # until the client gives up and the double closes
                await self._closing.wait()
            response = _error(failure.status, failure.error_type, failure.message)
            if failure.retry_after is not None:
                response.headers["Retry-After"] = failure.retry_after
            return response
        id_type = request.query.get("client_id_type", "")
        if id_type not in COLUMNS:
            return _error(400, "invalid_parameter", f"Wrong parameter value client_id_type: {id_type}")
        if not (request.content_type or "").startswith("multipart/form-data"):
            return _error(400, "invalid_parameter", "Некорректный формат multipart запроса.")
        content = None
        async for part in await request.multipart():
            if getattr(part, "name", None) == "file":
                content = await part.read()  # type: ignore[union-attr]
        if content is None:
            return _error(400, "missing_parameter", "Не найден параметр запроса. file")
        text = content.decode("utf-8")
        if not text.strip():
            return _error(400, "invalid_parameter", "The file is empty")
        lines = list(csv.reader(io.StringIO(text)))
        header = [name.strip() for name in lines[0]]
        names = {name.lower(): i for i, name in enumerate(header)}
        for required in (COLUMNS[id_type], "Target", "DateTime"):
            if required.lower() not in names:
                return _error(400, "invalid_parameter", f"Отсутствует обязательная колонка {required}")
        rows: list[dict[str, str]] = []
        now = time.time()
        for number, values in enumerate(lines[1:], start=2):
            if not any(value.strip() for value in values):
                continue
            if len(values) != len(header):
                return _error(400, "invalid_parameter", f"Неверный формат данных, ошибка в строке номер {number}")
            row = {name: values[i].strip() for name, i in ((h, names[h.lower()]) for h in header)}
            problem = _check(row, COLUMNS[id_type], now)
            if problem is not None:
                return _error(400, "invalid_parameter", f"Некорректное значение {problem} в строке номер {number}")
            rows.append(row)
        upload = Upload(request.match_info["counter"], id_type, request.query.get("comment"), header, rows)
        self.uploads.append(upload)
        async with self._changed:
            self._changed.notify_all()
        return web.json_response(
            {
                "uploading": {
                    "id": len(self.uploads),
                    "source_quantity": len(rows),
                    "line_quantity": len(rows),
                    "client_id_type": id_type,
                    "status": "UPLOADED",
                    "comment": upload.comment,
                    "create_time": datetime.now(UTC).isoformat(timespec="seconds"),
                }
            }
        )


def _check(row: dict[str, str], id_column: str, now: float) -> str | None:
    """The column whose value Metrica refuses, with the value; None when the row is fine."""
    identifier = row.get(id_column, "")
    if id_column != "UserId" and not _NUMBER.match(identifier):
        return f"{identifier!r} в колонке {id_column}"
    if not row.get("Target"):
        return "'' в колонке Target"
    at = row.get("DateTime", "")
    try:
        seconds = float(at)
    except ValueError:
        return f"{at!r} в колонке DateTime"
    if seconds < 0 or seconds > now:
        return f"{at!r} в колонке DateTime"
    price = row.get("Price", "")
    if price and not _PRICE.match(price):
        return f"{price!r} в колонке Price"
    currency = row.get("Currency", "")
    if currency and not re.fullmatch(r"[A-Z]{3}", currency):
        return f"{currency!r} в колонке Currency"
    return None


def _error(status: int, error_type: str, message: str) -> web.Response:
    body: dict[str, Any] = {
        "errors": [{"error_type": error_type, "message": message}],
        "code": status,
        "message": message,
    }
    return web.Response(status=status, text=json.dumps(body, ensure_ascii=False), content_type="application/json")
