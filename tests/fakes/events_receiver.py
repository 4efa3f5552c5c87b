"""A local receiver of chattrack's signed events (a CRM, an n8n webhook) for tests: real HTTP on a free port.

It does what docs/conversions.md asks of a receiver: checks X-Chattrack-Signature over "<timestamp>." + the
raw body with the shared secret (compare_digest), refuses a timestamp more than 5 minutes from its clock
(401 either way), and keeps each event id once (a redelivery is answered 200 and not kept again).
`fail_next(status=…, retry_after=…, body=…)` or "unreachable" injects failures; `hold_next()` keeps the
next request unanswered until the receiver stops (a timeout for a client with a short one).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from collections import deque
from dataclasses import dataclass
from typing import Any, Literal

from aiohttp import web

from tests.fakes import serve_app

PATH = "/hooks/chattrack"
MAX_SKEW = 300


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    status: int


@dataclass
class Failure:
    status: int | Literal["unreachable"]
    retry_after: str | None
    body: str


class EventsReceiver:
    def __init__(self, secret: str = "test-events-secret") -> None:
        self.secret = secret
        self.received: list[Received] = []  # every request, as it came
        self.events: dict[str, dict[str, Any]] = {}  # kept events by id, first delivery only
        self._failures: deque[Failure] = deque()
        self._holds: deque[asyncio.Event] = deque()
        self._released = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.url = ""
        self._changed = asyncio.Condition()

    async def __aenter__(self) -> EventsReceiver:
        app = web.Application()
        app.router.add_post(PATH, self._handle)
        self._runner, base = await serve_app(app, access_log=None, shutdown_timeout=1)
        self.url = base + PATH
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._released.set()
        if self._runner is not None:
            await self._runner.cleanup()

    def fail_next(
        self, n: int = 1, *, status: int | Literal["unreachable"] = 500, retry_after: str | None = None, body: str = ""
    ) -> None:
        self._failures.extend(Failure(status, retry_after, body) for _ in range(n))

    def hold_next(self) -> asyncio.Event:
        """The next request waits unanswered until the receiver stops; the event is set when it arrived."""
        arrived = asyncio.Event()
        self._holds.append(arrived)
        return arrived

    async def wait_for_events(self, count: int, within: float = 5.0) -> list[dict[str, Any]]:
        """The events kept, in arrival order, once at least `count` have been."""
        async with asyncio.timeout(within), self._changed:
            await self._changed.wait_for(lambda: len(self.events) >= count)
        return list(self.events.values())

    def verified(self, timestamp: str, body: bytes, header: str) -> bool:
        """A receiver's check, written from the docs (not from chattrack's code)."""
        try:
            fresh = abs(time.time() - int(timestamp)) <= MAX_SKEW
        except ValueError:
            return False
        expected = hmac.new(self.secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
        return fresh and hmac.compare_digest(f"sha256={expected}", header)

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        headers = dict(request.headers)
        if self._holds:
            self._holds.popleft().set()
            await self._released.wait()
        if self._failures:
            failure = self._failures.popleft()
            if failure.status == "unreachable":
                self.received.append(Received(headers, body, 0))
                assert request.transport is not None
                request.transport.abort()
                raise asyncio.CancelledError
            self.received.append(Received(headers, body, failure.status))
            extra = {"Retry-After": failure.retry_after} if failure.retry_after else {}
            return web.Response(status=failure.status, text=failure.body, headers=extra)
        timestamp = request.headers.get("X-Chattrack-Timestamp", "")
        if not self.verified(timestamp, body, request.headers.get("X-Chattrack-Signature", "")):
            self.received.append(Received(headers, body, 401))
            return web.json_response({"error": "bad signature"}, status=401)
        event = json.loads(body)
        self.events.setdefault(event["id"], event)
        self.received.append(Received(headers, body, 200))
        async with self._changed:
            self._changed.notify_all()
        return web.json_response({"ok": True})
