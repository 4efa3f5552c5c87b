"""A local Yandex Direct Reports service (API v5) for tests: real HTTP on a free port.

    POST /json/v5/reports   Authorization: Bearer <token>; JSON {"params": ReportDefinition}

It checks what Direct documents: the token (error 53), the agency's Client-Login (54 when the login is not
one of its clients), the required ReportDefinition fields (8000 with a detail naming the field), DateFrom and
DateTo for CUSTOM_DATE, Format TSV, IncludeVAT YES or NO. A report is known by its ReportName: `offline`
answers for a name (201 "queued", then 202 "being built", each with retryIn and reportsInQueue) come before
its 200, so a client that changed the name while asking again would never get it. The report is TSV: a title
line (unless skipReportHeader: true), the column names (unless skipColumnHeader: true), the rows, and
"Total rows: N" (unless skipReportSummary: true); money in micros unless returnMoneyInMicros: false, "--" for
an empty field. `fail_next` answers the next request with a documented error.
"""

from __future__ import annotations

import json
from collections import deque
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from aiohttp import web

from tests.fakes import serve_app

REQUIRED = ("SelectionCriteria", "FieldNames", "ReportName", "ReportType", "DateRangeType", "Format", "IncludeVAT")
VAT = Decimal("1.2")  # Direct's costs without VAT are the costs with VAT (20%) divided by this


@dataclass
class Row:
    """One statistics row: Cost in the currency, with VAT."""

    date: str
    campaign_id: str
    campaign_name: str
    ad_id: str | None
    cost: Decimal

    def value(self, name: str, *, micros: bool, vat: bool) -> str:
        if name == "Cost":
            cost = self.cost if vat else (self.cost / VAT)
            if micros:
                return str(int((cost * 1_000_000).to_integral_value(ROUND_HALF_UP)))
            return str(cost.quantize(Decimal("0.01"), ROUND_HALF_UP))
        values = {
            "Date": self.date,
            "CampaignId": self.campaign_id,
            "CampaignName": self.campaign_name,
            "AdId": self.ad_id or "--",
        }
        return values.get(name, "--")


@dataclass
class Request:
    headers: dict[str, str]
    body: dict[str, Any]
    status: int


@dataclass
class FakeDirectAPI:
    token: str = "direct-token"
    agency_clients: set[str] | None = None  # an agency's token: Client-Login must name one of these
    rows: list[Row] = field(default_factory=list)
    offline: list[int] = field(default_factory=list)  # answers before the 200 of each new report: 201, 202...
    retry_in: str = "0"
    requests: list[Request] = field(default_factory=list)
    _pending: dict[str, deque[int]] = field(default_factory=dict)
    _failures: deque[tuple[int, int, str, str]] = field(default_factory=deque)
    _runner: web.AppRunner | None = None
    url: str = ""

    async def __aenter__(self) -> FakeDirectAPI:
        app = web.Application()
        app.router.add_post("/json/v5/reports", self._reports)
        self._runner, self.url = await serve_app(app)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def fail_next(self, status: int, code: int, message: str, detail: str = "") -> None:
        self._failures.append((status, code, message, detail))

    def _error(self, status: int, code: int, message: str, detail: str) -> web.Response:
        body = {"error": {"request_id": "8695244274068608439", "error_code": code, "error_string": message,
                          "error_detail": detail}}  # fmt: skip
        return web.json_response(body, status=status, headers={"RequestId": "8695244274068608439"})

    async def _reports(self, request: web.Request) -> web.Response:
        headers = dict(request.headers)
        try:
            body = json.loads(await request.read())
        except ValueError:
            body = None
        response = self._answer(request, body)
        self.requests.append(Request(headers=headers, body=body or {}, status=response.status))
        return response

    def _answer(self, request: web.Request, body: Any) -> web.Response:
        if self._failures:
            return self._error(*self._failures.popleft())
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return self._error(400, 53, "Ошибка авторизации", "Указан недействительный OAuth-токен")
        login = request.headers.get("Client-Login")
        if self.agency_clients is not None and login not in self.agency_clients:
            return self._error(400, 54, "Нет прав", "Указанный логин не является клиентом агентства")
        if not isinstance(body, dict) or not isinstance(body.get("params"), dict):
            return self._error(400, 8000, "Неверный запрос", "Тело запроса должно содержать объект params")
        params = body["params"]
        for name in REQUIRED:
            if name not in params:
                return self._error(400, 8000, "Неверный запрос", f"Не указан обязательный параметр {name}")
        criteria = params["SelectionCriteria"]
        if params["DateRangeType"] == "CUSTOM_DATE" and not ("DateFrom" in criteria and "DateTo" in criteria):
            return self._error(400, 4001, "Неверно задан параметр", "Для CUSTOM_DATE нужны DateFrom и DateTo")
        if params["Format"] != "TSV" or params["IncludeVAT"] not in ("YES", "NO"):
            return self._error(400, 4000, "Неверно задан параметр", "Format или IncludeVAT")
        name = params["ReportName"]
        pending = self._pending.setdefault(name, deque(self.offline))
        if pending:
            status = pending.popleft()
            return web.Response(status=status, headers={"retryIn": self.retry_in, "reportsInQueue": "1"})
        return web.Response(text=self._tsv(request, params), content_type="text/tab-separated-values", charset="utf-8")

    def _tsv(self, request: web.Request, params: dict[str, Any]) -> str:
        criteria = params["SelectionCriteria"]
        fields: list[str] = params["FieldNames"]
        micros = request.headers.get("returnMoneyInMicros", "true") != "false"
        vat = params["IncludeVAT"] == "YES"
        rows = [r for r in self.rows if criteria["DateFrom"] <= r.date <= criteria["DateTo"]]
        lines: list[str] = []
        if request.headers.get("skipReportHeader") != "true":
            lines.append(f'"{params["ReportName"]} ({criteria["DateFrom"]} - {criteria["DateTo"]})"')
        if request.headers.get("skipColumnHeader") != "true":
            lines.append("\t".join(fields))
        lines += ["\t".join(row.value(f, micros=micros, vat=vat) for f in fields) for row in rows]
        if request.headers.get("skipReportSummary") != "true":
            lines.append(f"Total rows: {len(rows)}")
        return "\n".join(lines) + "\n"
