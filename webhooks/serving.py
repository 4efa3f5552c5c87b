"""Serving the app on a socket, with a guard against slow and greedy clients in front of aiohttp.

aiohttp bounds neither the time a client may take to send a request's headers or body, nor how many
connections one address may hold: 1,100 connections trickling partial headers kept /healthz unreachable
for 80–90 s (a process under systemd may open 1,024 files). The guard closes a connection whose headers
take longer than `header_timeout_seconds` (counted from the connection's first byte, or from its opening),
or whose body takes longer than `body_timeout_seconds` once the headers are in; and it refuses an address's
connections past `connections_per_address`. An idle keep-alive connection is aiohttp's own business
(closed after 75 s). Behind a reverse proxy every connection comes from the proxy, so the per-address cap
is off there and the proxy's own limits apply (docs/security.md).

`run_app` is aiohttp's `web.run_app` (same signals, same graceful shutdown) with this guard in place:
aiohttp has no hook for a protocol of our own, so the runner wraps each connection's protocol in a thin
one that watches the bytes arrive and hands them on unchanged.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import resource
import socket
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from typing import Any, cast

from aiohttp import web
from aiohttp.web_protocol import RequestHandler

from tracking.settings import Settings
from webhooks.rare_log import RareWarnings

log = logging.getLogger("chattrack.http")

IDLE = math.inf  # between requests (aiohttp's keep-alive timeout applies), or while a handler runs


class GuardedConnection(asyncio.Protocol):
    """One client connection: aiohttp's protocol inside, a deadline for the request being received."""

    __slots__ = ("address", "deadline", "guard", "handler", "transport", "waiting_for")

    def __init__(self, handler: RequestHandler, guard: ConnectionGuard) -> None:
        self.handler = handler
        self.guard = guard
        self.transport: asyncio.Transport | None = None
        self.address: str | None = None
        # When what is now arriving (a request's headers, or its body) must be in; IDLE when nothing is.
        self.deadline = IDLE
        self.waiting_for = "headers"

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        if not self.guard.admit(self):
            self.transport.abort()
            return
        self.deadline = self.guard.clock() + self.guard.header_timeout  # a connection is opened to send one
        self.handler.connection_made(transport)

    def data_received(self, data: bytes) -> None:
        if self.deadline == IDLE and self.waiting_for == "headers":  # the next request on a kept-alive one
            self.deadline = self.guard.clock() + self.guard.header_timeout
        self.handler.data_received(data)

    def eof_received(self) -> None:
        self.handler.eof_received()

    def connection_lost(self, exc: BaseException | None) -> None:
        if self.guard.release(self):
            self.handler.connection_lost(exc)

    def pause_writing(self) -> None:
        self.handler.pause_writing()

    def resume_writing(self) -> None:
        self.handler.resume_writing()


class ConnectionGuard:
    """Every open connection of one server, with their deadlines, and the count per address."""

    def __init__(
        self,
        header_timeout: float,
        body_timeout: float,
        per_address: int,
        clock: Callable[[], float] | None = None,
        on_close: Callable[[str], None] | None = None,
    ) -> None:
        self.header_timeout = header_timeout
        self.body_timeout = body_timeout
        self.per_address = per_address  # 0: no cap
        self.clock = clock or time.monotonic
        self.open: dict[asyncio.BaseTransport, GuardedConnection] = {}
        self.by_address: Counter[str] = Counter()
        self.closed: Counter[str] = Counter()  # by reason
        self.on_close = on_close  # /metrics counts them
        self._warnings = RareWarnings(log)

    @classmethod
    def from_settings(cls, settings: Settings) -> ConnectionGuard:
        # Behind a proxy every connection has the proxy's address: a cap would count all visitors as one.
        per_address = 0 if settings.trust_forwarded_for else settings.connections_per_address
        return cls(settings.header_timeout_seconds, settings.body_timeout_seconds, per_address)

    # connections ------------------------------------------------------------------------------------

    def admit(self, connection: GuardedConnection) -> bool:
        transport = connection.transport
        assert transport is not None
        peer = transport.get_extra_info("peername")
        address = peer[0] if isinstance(peer, tuple) and peer else None
        if self.per_address and address is not None:
            if self.by_address[address] >= self.per_address:
                self._note("too_many_from_address", f"refusing connections from {address}: over the cap")
                return False
            self.by_address[address] += 1
            connection.address = address
        self.open[transport] = connection
        return True

    def release(self, connection: GuardedConnection) -> bool:
        """Forget a closed connection; False for one that was refused (aiohttp never saw it)."""
        if connection.transport is None or self.open.pop(connection.transport, None) is None:
            return False
        if connection.address is not None:
            self.by_address[connection.address] -= 1
            if self.by_address[connection.address] <= 0:
                del self.by_address[connection.address]
        return True

    # requests (called from the app's middleware) ----------------------------------------------------

    def request_started(self, request: web.BaseRequest) -> GuardedConnection | None:
        """The headers are in. The body, when one is still coming, has `body_timeout` to arrive. Returns the
        connection, for `request_finished`."""
        transport = request.transport
        connection = self.open.get(transport) if transport is not None else None
        if connection is None:
            return None
        payload = request.content
        if payload.is_eof():
            connection.deadline, connection.waiting_for = IDLE, "nothing"
            return connection
        connection.deadline, connection.waiting_for = self.clock() + self.body_timeout, "body"

        def body_received() -> None:
            if connection.waiting_for == "body":
                connection.deadline, connection.waiting_for = IDLE, "nothing"

        payload.on_eof(body_received)
        return connection

    @staticmethod
    def request_finished(connection: GuardedConnection | None) -> None:
        if connection is not None:
            connection.deadline, connection.waiting_for = IDLE, "headers"

    # the sweep --------------------------------------------------------------------------------------

    def sweep(self) -> int:
        """Close every connection past its deadline; returns how many."""
        now = self.clock()
        late = [c for c in self.open.values() if c.deadline < now]
        for connection in late:
            reason = f"slow_{connection.waiting_for}"
            self._note(reason, f"closing a connection from {connection.address or 'a client'}: {reason}")
            assert connection.transport is not None
            connection.transport.abort()
        return len(late)

    def _note(self, reason: str, line: str) -> None:
        self.closed[reason] += 1
        if self.on_close is not None:
            self.on_close(reason)
        self._warnings.warn(reason, line)

    async def run(self) -> None:
        interval = min(1.0, self.header_timeout / 4, self.body_timeout / 4)
        while True:
            await asyncio.sleep(interval)
            self.sweep()


GUARD = web.AppKey("connection_guard", ConnectionGuard)


async def sweep_connections(app: web.Application) -> AsyncIterator[None]:
    """cleanup_ctx: the guard's sweep runs on the app's loop."""
    task = asyncio.create_task(app[GUARD].run(), name="connection-guard")
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


class GuardedServer:
    """aiohttp's protocol factory, each connection wrapped; everything else is aiohttp's Server's."""

    def __init__(self, server: web.Server, guard: ConnectionGuard) -> None:
        self._server = server
        self._guard = guard

    def __call__(self) -> GuardedConnection:
        return GuardedConnection(self._server(), self._guard)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._server, name)


class GuardedRunner(web.AppRunner):
    """An AppRunner whose sites accept through the app's connection guard (when it has one)."""

    async def _make_server(self) -> web.Server:
        server = await super()._make_server()
        guard = self.app.get(GUARD)
        return server if guard is None else cast(web.Server, GuardedServer(server, guard))


def raise_open_file_limit() -> int:
    """Lift the soft limit on open files to the hard one (systemd's soft default is 1,024): every
    connection is a file, and a server out of them cannot even accept the health check."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        target = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 20)
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def run_app(
    app: web.Application,
    *,
    loop: asyncio.AbstractEventLoop,
    host: str | None = None,
    port: int | None = None,
    sock: socket.socket | None = None,
) -> None:
    """aiohttp's `web.run_app` for our one site: serve until SIGINT/SIGTERM, then shut down gracefully."""
    open_files = raise_open_file_limit()
    log.debug("open files allowed: %d", open_files)

    async def serve() -> None:
        runner = GuardedRunner(app, handle_signals=True, access_log=None, keepalive_timeout=75)
        await runner.setup()
        try:
            site = web.SockSite(runner, sock) if sock is not None else web.TCPSite(runner, host, port)
            await site.start()
            await asyncio.Event().wait()  # until a signal raises GracefulExit out of the loop
        finally:
            await runner.cleanup()

    main = loop.create_task(serve())
    try:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(main)
    except (web.GracefulExit, KeyboardInterrupt):
        pass
    finally:
        if not main.done():
            main.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                loop.run_until_complete(main)
        rest = asyncio.all_tasks(loop)
        for task in rest:
            task.cancel()
        loop.run_until_complete(asyncio.gather(*rest, return_exceptions=True))
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()
