"""A local GA4 Measurement Protocol server for tests: /mp/collect and its validation server /debug/mp/collect.

As Google documents them: collect answers 204 to every request, a malformed one and a wrong api_secret
included (it then records nothing: `fake.recorded` holds only what GA4 would keep); the validation server
answers 200 with `{"validationMessages": [{fieldPath, description, validationCode}]}` (empty when valid)
and checks neither the measurement id nor the api_secret. The rules checked are the documented limits and
codes (25 events a request, names of letters, digits and _ starting with a letter and 40 characters at most,
reserved names, 25 parameters, values of 100 characters, a client_id, a three-letter currency, a number for
value, timestamp_micros at most 72 hours back). The descriptions follow the examples Google and client
libraries publish ("Measurement requires a client_id.", "Event at index: [0] has invalid name [...]").

`fail_next(path, status=429|5xx|"unreachable", retry_after=)` injects failures; `hold_next(path)` keeps a
request unanswered until released (a timeout for a client with a short one). GA4 judges timestamp_micros by
its own clock: `clock` (Unix seconds, default the real time) lets a test on a fake clock share it.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from aiohttp import web

from tests.fakes import serve_app

COLLECT = "/mp/collect"
DEBUG = "/debug/mp/collect"
NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,39}")
RESERVED_EVENTS = {
    "ad_activeview", "ad_click", "ad_exposure", "ad_query", "ad_reward", "adunit_exposure", "app_clear_data",
    "app_exception", "app_install", "app_remove", "app_store_refund", "app_update", "app_upgrade",
    "dynamic_link_app_open", "dynamic_link_app_update", "dynamic_link_first_open", "error", "firebase_campaign",
    "firebase_in_app_message_action", "first_open", "first_visit", "in_app_purchase", "notification_dismiss",
    "notification_foreground", "notification_open", "notification_receive", "notification_send", "os_update",
    "session_start", "user_engagement",
}  # fmt: skip
RESERVED_PREFIXES = ("_", "firebase_", "ga_", "google_", "gtag.")
MAX_EVENTS = 25
MAX_PARAMS = 25
MAX_VALUE_LENGTH = 100
MAX_BODY = 130_000
BACKDATE = 72 * 3600 * 1_000_000  # microseconds


@dataclass
class Request:
    path: str
    query: dict[str, str]
    body: Any  # the JSON, or the raw text when it was not JSON
    messages: list[dict[str, str]]


@dataclass
class Failure:
    status: int | Literal["unreachable"]
    retry_after: int | None


@dataclass
class Hold:
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    released: asyncio.Event = field(default_factory=asyncio.Event)


class FakeGA4:
    def __init__(
        self,
        *,
        measurement_id: str = "G-TEST1234",
        api_secret: str = "test-api-secret",
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.clock = clock
        self.measurement_id = measurement_id
        self.api_secret = api_secret
        self.requests: list[Request] = []
        self.recorded: list[dict[str, Any]] = []  # events GA4 keeps: {"client_id", "timestamp_micros", **event}
        self._failures: dict[str, deque[Failure]] = {}
        self._holds: dict[str, deque[Hold]] = {}
        self._runner: web.AppRunner | None = None
        self.url = ""
        self._changed = asyncio.Condition()

    async def __aenter__(self) -> FakeGA4:
        app = web.Application()
        app.router.add_post(COLLECT, self._handle)
        app.router.add_post(DEBUG, self._handle)
        self._runner, self.url = await serve_app(app, access_log=None, shutdown_timeout=1)
        return self

    async def __aexit__(self, *exc: object) -> None:
        for holds in self._holds.values():
            for hold in holds:
                hold.released.set()
        if self._runner is not None:
            await self._runner.cleanup()

    # test helpers -------------------------------------------------------------------------------

    def fail_next(
        self, path: str, n: int = 1, *, status: int | Literal["unreachable"] = 429, retry_after: int | None = None
    ) -> None:
        self._failures.setdefault(path, deque()).extend(Failure(status, retry_after) for _ in range(n))

    def hold_next(self, path: str) -> Hold:
        hold = Hold()
        self._holds.setdefault(path, deque()).append(hold)
        return hold

    async def wait_for_recorded(self, count: int, within: float = 5.0) -> list[dict[str, Any]]:
        """Every event recorded, once at least `count` have been (a test waits for a background dispatcher)."""
        async with asyncio.timeout(within), self._changed:
            await self._changed.wait_for(lambda: len(self.recorded) >= count)
        return self.recorded

    def to(self, path: str) -> list[Request]:
        return [r for r in self.requests if r.path == path]

    # the API ------------------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        raw = await request.read()
        holds = self._holds.get(path)
        if holds:
            hold = holds.popleft()
            hold.arrived.set()
            await hold.released.wait()
        failures = self._failures.get(path)
        if failures:
            failure = failures.popleft()
            self.requests.append(Request(path, dict(request.query), raw.decode(errors="replace"), []))
            if failure.status == "unreachable":
                assert request.transport is not None
                request.transport.abort()
                raise asyncio.CancelledError
            headers = {"Retry-After": str(failure.retry_after)} if failure.retry_after is not None else {}
            return web.Response(status=failure.status, text="<html>Error</html>", headers=headers)
        try:
            body: Any = json.loads(raw)
        except ValueError:
            body = raw.decode(errors="replace")
        messages = validate(body, len(raw), self.clock())
        self.requests.append(Request(path, dict(request.query), body, messages))
        if path == DEBUG:
            return web.json_response({"validationMessages": messages})
        keys_match = request.query.get("measurement_id") == self.measurement_id and (
            request.query.get("api_secret") == self.api_secret
        )
        if keys_match and not messages:
            for event in body["events"]:
                self.recorded.append(
                    {"client_id": body["client_id"], "timestamp_micros": body.get("timestamp_micros"), **event}
                )
            async with self._changed:
                self._changed.notify_all()
        return web.Response(status=204)


def _message(path: str, description: str, code: str) -> dict[str, str]:
    return {"fieldPath": path, "description": description, "validationCode": code}


def validate(body: Any, size: int, now: float) -> list[dict[str, str]]:
    """The validation server's messages for a request body (JSON already parsed, or text)."""
    if size > MAX_BODY:
        return [_message("", "Post body must be smaller than 130kB.", "VALUE_OUT_OF_BOUNDS")]
    if not isinstance(body, dict):
        return [_message("", "Unable to parse Measurement Protocol JSON payload.", "VALUE_INVALID")]
    messages = []
    if not body.get("client_id") and not body.get("app_instance_id"):
        messages.append(_message("client_id", "Measurement requires a client_id.", "VALUE_REQUIRED"))
    micros = body.get("timestamp_micros")
    if micros is not None:
        now_micros = int(now * 1_000_000)
        if not isinstance(micros, int) or micros > now_micros + 60_000_000 or micros < now_micros - BACKDATE:
            text = f"Measurement timestamp_micros has timestamp [{micros}] that is more than 72 hours in the past."
            messages.append(_message("timestamp_micros", text, "VALUE_INVALID"))
    events = body.get("events")
    if not isinstance(events, list) or not events:
        messages.append(_message("events", "Measurement requires at least one event.", "VALUE_REQUIRED"))
        return messages
    if len(events) > MAX_EVENTS:
        messages.append(_message("events", "Measurement can have at most 25 events.", "EXCEEDED_MAX_ENTITIES"))
    for index, event in enumerate(events):
        messages.extend(_event_messages(index, event))
    return messages


def _event_messages(index: int, event: Any) -> list[dict[str, str]]:
    name = event.get("name") if isinstance(event, dict) else None
    if not isinstance(name, str) or not NAME.fullmatch(name):
        text = f"Event at index: [{index}] has invalid name [{name}]. Names must start with an alphabetic character."
        return [_message("events", text, "NAME_INVALID")]
    if name in RESERVED_EVENTS or name.startswith(RESERVED_PREFIXES):
        return [_message("events", f"Event at index: [{index}] has name [{name}] which is reserved.", "NAME_RESERVED")]
    params = event.get("params", {})
    if not isinstance(params, dict):
        return [_message(f"events[{index}].params", "Event params must be an object.", "VALUE_INVALID")]
    messages = []
    if len(params) > MAX_PARAMS:
        text = f"Event at index: [{index}] has more than 25 params."
        messages.append(_message(f"events[{index}].params", text, "EXCEEDED_MAX_ENTITIES"))
    for key, value in params.items():
        path = f"events[{index}].params.{key}"
        if not NAME.fullmatch(key) or key.startswith(RESERVED_PREFIXES):
            messages.append(_message(path, f"Event param [{key}] has invalid name.", "NAME_INVALID"))
        elif isinstance(value, str) and len(value) > MAX_VALUE_LENGTH:
            messages.append(_message(path, f"Event param [{key}] has a value longer than 100.", "VALUE_OUT_OF_BOUNDS"))
        elif not isinstance(value, str | int | float) or isinstance(value, bool):
            messages.append(_message(path, "Value is not a string or number.", "VALUE_INVALID"))
    currency = params.get("currency")
    if currency is not None and not (isinstance(currency, str) and re.fullmatch(r"[A-Z]{3}", currency)):
        text = f"Event at index: [{index}] has invalid currency [{currency}]: use a 3-letter ISO 4217 code."
        messages.append(_message(f"events[{index}].params.currency", text, "VALUE_INVALID"))
    value = params.get("value")
    if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
        messages.append(
            _message(f"events[{index}].params.value", "Event param [value] must be a number.", "VALUE_INVALID")
        )
    return messages
