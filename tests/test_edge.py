"""The HTTP edge against an outsider and a careless operator: compressed bodies, empty secrets, forged
X-Forwarded-For, who may read /metrics (issue #14)."""

from __future__ import annotations

import asyncio
import functools
import hashlib
import hmac
import json
import time
import zlib
from typing import Any

import aiohttp
import pytest
from pydantic import SecretStr

from tests.conftest import twilio_form
from tests.test_generic_webhook import message as generic_message
from tests.test_meta_webhook import change as meta_change
from tests.test_meta_webhook import delivery, raw, text_message
from tracking.codes import new_code
from tracking.settings import Settings, load_settings, secret_settings
from webhooks.cli import startup_banner


@functools.cache
def gzip_bomb(inflated_mb: int = 256) -> bytes:
    """`inflated_mb` MB of zeros, gzipped: ~1 KB on the wire per inflated MB."""
    deflate = zlib.compressobj(9, zlib.DEFLATED, 31)
    zeros = bytes(1 << 20)
    return b"".join(deflate.compress(zeros) for _ in range(inflated_mb)) + deflate.flush()


async def healthz_seconds(http: aiohttp.ClientSession, url: str) -> float:
    started = time.perf_counter()
    async with http.get(url + "/healthz") as response:
        assert response.status == 200
    return time.perf_counter() - started


async def test_compressed_bodies_are_refused_unread_and_healthz_stays_fast(
    start_server: Any, http: aiohttp.ClientSession
) -> None:
    server = await start_server()
    bomb = gzip_bomb()
    paths = ["/collect", "/webhooks/twilio", "/webhooks/meta", "/no/such/path"] * 2  # 8 bombs, as in the attack

    async def post(path: str, encoding: str = "gzip") -> tuple[int, dict[str, Any]]:
        headers = {"Content-Encoding": encoding, "Content-Type": "application/json"}
        async with http.post(server.url + path, data=bomb, headers=headers) as response:
            return response.status, await response.json()

    bombs = [asyncio.create_task(post(path)) for path in paths]
    probes = [await healthz_seconds(http, server.url) for _ in range(5)]
    answers = await asyncio.gather(*bombs)
    # Inflated on the loop, 8 bombs held /healthz for 10–14 s; refused unread, it stays in milliseconds.
    assert max(probes) < 1.0, probes
    assert [status for status, _ in answers] == [415] * len(paths)
    assert all("Content-Encoding" in body["error"] for _, body in answers)
    for encoding in ["deflate", "br", "GZIP", "identity, gzip"]:
        status, _ = await post("/collect", encoding)
        assert status == 415, encoding


async def test_identity_encoding_is_still_accepted(start_server: Any, http: aiohttp.ClientSession) -> None:
    server = await start_server()
    form = twilio_form("Здравствуйте")
    headers = {"X-Twilio-Signature": server.twilio_signature("/webhooks/twilio", form), "Content-Encoding": "identity"}
    async with http.post(server.url + "/webhooks/twilio", data=form, headers=headers) as response:
        assert response.status == 200
    assert len(await server.store.find_dialogs(contact_id="+79161234567")) == 1


# --- empty secrets -------------------------------------------------------------------------------------


def test_every_secret_setting_follows_the_blank_rule() -> None:
    # The rule finds secrets by type: a new SecretStr setting is covered without being listed anywhere.
    names = set(secret_settings())
    assert {"twilio_auth_token", "meta_app_secret", "meta_verify_token", "generic_webhook_secret"} <= names
    assert {"telegram_webhook_secret", "telegram_bot_token", "greenapi_webhook_token", "api_token"} <= names
    for name in names:
        for blank in ["", "   ", "\t\n"]:
            settings = load_settings(**{name: blank})
            assert getattr(settings, name) is None, name
            assert settings.blank_secrets == [f"CHATTRACK_{name.upper()}"]
        kept = load_settings(**{name: "k3y", **PARTNERS.get(name, {})})
        assert isinstance(getattr(kept, name), SecretStr) and kept.blank_secrets == []


# Secrets that work only with another setting (a half-set pair stops start-up, tests/test_integrations_settings).
PARTNERS = {
    "metrica_token": {"metrica_counter_id": "12345678"},
    "ga4_api_secret": {"ga4_measurement_id": "G-ABC1234"},
    "events_secret": {"events_url": "https://crm.example/hook"},
}


def test_blank_secrets_from_the_environment_and_the_start_up_report(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHATTRACK_META_APP_SECRET", "")
    monkeypatch.setenv("CHATTRACK_TWILIO_AUTH_TOKEN", " ")
    settings = load_settings()
    assert settings.meta_app_secret is None and settings.twilio_auth_token is None
    banner = startup_banner(settings, "127.0.0.1", 8080)
    assert "CHATTRACK_META_APP_SECRET: set but empty, so it counts as not set: Meta webhooks are refused" in banner
    assert "CHATTRACK_TWILIO_AUTH_TOKEN: set but empty" in banner
    assert banner.count("CHATTRACK_TWILIO_AUTH_TOKEN") == 1  # said once, as empty, not also as missing


async def test_empty_secrets_refuse_what_they_would_check(start_server: Any, http: aiohttp.ClientSession) -> None:
    server = await start_server(
        twilio_auth_token="", meta_app_secret=" ", meta_verify_token="", generic_webhook_secret="", api_token=""
    )
    # Twilio, signed with the empty key.
    form = twilio_form("Здравствуйте")
    from twilio.request_validator import RequestValidator

    signature = RequestValidator("").compute_signature(server.url + "/webhooks/twilio", form)
    async with http.post(server.url + "/webhooks/twilio", data=form, headers={"X-Twilio-Signature": signature}) as r:
        assert r.status == 403 and "CHATTRACK_TWILIO_AUTH_TOKEN" in (await r.json())["error"]
    # Meta, signed with the empty key, and its handshake with the empty verify token.
    body = raw(delivery(meta_change([text_message("Здравствуйте")])))
    meta_sig = "sha256=" + hmac.new(b"", body, hashlib.sha256).hexdigest()
    headers = {"X-Hub-Signature-256": meta_sig, "Content-Type": "application/json"}
    async with http.post(server.url + "/webhooks/meta", data=body, headers=headers) as r:
        assert r.status == 403 and "CHATTRACK_META_APP_SECRET" in (await r.json())["error"]
    query = {"hub.mode": "subscribe", "hub.verify_token": "", "hub.challenge": "1158201444"}
    async with http.get(server.url + "/webhooks/meta", params=query) as r:
        assert r.status == 403 and "CHATTRACK_META_VERIFY_TOKEN" in (await r.json())["error"]
    # The generic webhook, signed with the empty key.
    generic = json.dumps(generic_message()).encode()
    generic_sig = "sha256=" + hmac.new(b"", generic, hashlib.sha256).hexdigest()
    headers = {"X-Chattrack-Signature": generic_sig, "Content-Type": "application/json"}
    async with http.post(server.url + "/webhooks/generic", data=generic, headers=headers) as r:
        assert r.status == 403 and "CHATTRACK_GENERIC_WEBHOOK_SECRET" in (await r.json())["error"]
    # The API, with an empty bearer token.
    async with http.get(server.url + "/api/dialogs", headers={"Authorization": "Bearer "}) as r:
        assert r.status == 403 and "CHATTRACK_API_TOKEN" in (await r.json())["error"]
    assert await server.store.find_dialogs(contact_id="+79161234567") == []


# --- X-Forwarded-For -----------------------------------------------------------------------------------


def view(visitor: str) -> bytes:
    return json.dumps({"t": "view", "c": new_code(), "v": visitor, "u": "https://shop.example/"}).encode()


async def test_forwarded_for_takes_what_the_proxy_saw_not_what_the_client_claims(
    start_server: Any, http: aiohttp.ClientSession
) -> None:
    server = await start_server(trust_forwarded_for=True, collect_rate_per_minute=5)
    statuses = []
    for n in range(12):
        # The client invents a new address each time; the proxy appends the one it saw.
        headers = {"X-Forwarded-For": f"10.0.{n}.1, 198.51.100.7"}
        async with http.post(server.url + "/collect", data=view(f"visitor-{n:04d}"), headers=headers) as r:
            statuses.append(r.status)
    assert statuses == [200] * 5 + [429] * 7
    # The same address, written by a proxy that folded the client's header onto two lines.
    async with http.post(
        server.url + "/collect",
        data=view("visitor-next"),
        headers=[("X-Forwarded-For", "203.0.113.9"), ("X-Forwarded-For", "198.51.100.7")],
    ) as r:
        assert r.status == 429


async def test_forwarded_for_behind_two_proxies(start_server: Any, http: aiohttp.ClientSession) -> None:
    server = await start_server(trust_forwarded_for=True, forwarded_proxies=2, collect_rate_per_minute=3)
    statuses = []
    for n in range(6):
        headers = {"X-Forwarded-For": f"10.9.{n}.1, 198.51.100.7, 172.16.0.2"}  # claim, client, CDN edge
        async with http.post(server.url + "/collect", data=view(f"visitor-{n:04d}"), headers=headers) as r:
            statuses.append(r.status)
    assert statuses == [200] * 3 + [429] * 3
    # Another client behind the same edge has its own budget.
    headers = {"X-Forwarded-For": "198.51.100.8, 172.16.0.2"}
    async with http.post(server.url + "/collect", data=view("visitor-other"), headers=headers) as r:
        assert r.status == 200


# --- /metrics ------------------------------------------------------------------------------------------


async def test_metrics_need_the_api_token_by_default(start_server: Any, http: aiohttp.ClientSession) -> None:
    server = await start_server(api_token="metrics-reader-token")
    async with http.get(server.url + "/metrics") as r:
        assert r.status == 401
    async with http.get(server.url + "/metrics", headers={"Authorization": "Bearer wrong"}) as r:
        assert r.status == 401
    async with http.get(server.url + "/metrics", headers={"Authorization": "Bearer metrics-reader-token"}) as r:
        assert r.status == 200 and "chattrack_http_requests_total" in await r.text()


async def test_metrics_access_setting(start_server: Any, http: aiohttp.ClientSession) -> None:
    closed = await start_server()  # no token configured: refused, and told what to set
    async with http.get(closed.url + "/metrics") as r:
        reason = (await r.json())["error"]
        assert r.status == 403 and "CHATTRACK_API_TOKEN" in reason and "CHATTRACK_METRICS_ACCESS" in reason
    public = await start_server(metrics_access="public")
    async with http.get(public.url + "/metrics") as r:
        assert r.status == 200 and "chattrack_dialogs" in await r.text()
    off = await start_server(metrics_access="off", api_token="t0ken")
    async with http.get(off.url + "/metrics", headers={"Authorization": "Bearer t0ken"}) as r:
        assert r.status == 404


def test_metrics_access_is_checked_at_start_up() -> None:
    from tracking.settings import SettingsError

    with pytest.raises(SettingsError, match="CHATTRACK_METRICS_ACCESS"):
        load_settings(metrics_access="everyone")
    assert isinstance(load_settings(), Settings)


# --- slow and greedy clients ---------------------------------------------------------------------------


async def connect(server: Any, source: str = "127.0.0.1") -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    host, port = server.url.removeprefix("http://").split(":")
    return await asyncio.open_connection(host, int(port), local_addr=(source, 0))


async def closed_by_server(reader: asyncio.StreamReader, within: float = 10.0) -> bool:
    """True once the server closes the connection (end of file or a reset); False if it stays open."""
    try:
        while await asyncio.wait_for(reader.read(4096), within):
            pass
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False
    return True


async def test_headers_and_bodies_that_trickle_are_cut_off(start_server: Any, http: aiohttp.ClientSession) -> None:
    server = await start_server(header_timeout_seconds=0.4, body_timeout_seconds=0.4, metrics_access="public")
    silent = await connect(server)
    partial = await connect(server)
    partial[1].write(b"POST /collect HTTP/1.1\r\nHost: track.example\r\nX-Slow: 1")
    body = await connect(server)
    body[1].write(b"POST /collect HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\n")
    body[1].write(b'Content-Length: 1000\r\n\r\n{"t": "view", ')  # the handler waits to read the rest
    started = time.perf_counter()
    assert await closed_by_server(silent[0]) and await closed_by_server(partial[0]) and await closed_by_server(body[0])
    assert 0.4 <= time.perf_counter() - started < 5  # cut at the timeout, not at aiohttp's 75 s keep-alive
    async with http.get(server.url + "/metrics") as r:
        text = await r.text()
    assert 'chattrack_connections_closed_total{reason="slow_headers"} 2.0' in text
    assert 'chattrack_connections_closed_total{reason="slow_body"} 1.0' in text
    # A request sent whole, at an ordinary pace, is answered.
    async with http.get(server.url + "/healthz") as r:
        assert r.status == 200


async def test_an_address_holding_too_many_connections_cannot_lock_others_out(
    start_server: Any, http: aiohttp.ClientSession
) -> None:
    server = await start_server(connections_per_address=20, header_timeout_seconds=30)
    attacker = "127.0.0.2"
    held = [await connect(server, attacker) for _ in range(20)]
    for _, writer in held:
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")  # headers that never end
    extra = [await connect(server, attacker) for _ in range(10)]
    assert all([await closed_by_server(reader) for reader, _ in extra])  # refused at once
    assert [await healthz_seconds(http, server.url) < 1.0 for _ in range(3)] == [True] * 3  # others still served
    assert not await closed_by_server(held[0][0], within=0.05)  # the first 20 are kept (until their timeout)
    for _, writer in held:
        writer.close()
    for reader, _ in held:
        await closed_by_server(reader)
    again, _ = await connect(server, attacker)  # its count went down with the connections it closed
    _.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert (await again.read()).startswith(b"HTTP/1.1 200")


async def test_many_slow_clients_are_cut_while_health_checks_pass(
    start_server: Any, http: aiohttp.ClientSession
) -> None:
    server = await start_server(connections_per_address=100, header_timeout_seconds=1.0)
    clients = [await connect(server, f"127.0.0.{3 + n % 3}") for n in range(330)]  # 30 over the caps
    for _, writer in clients:
        writer.write(b"GET / HTTP/1.1\r\nHost: x\r\nX-A: ")
    probes = [await healthz_seconds(http, server.url) for _ in range(5)]
    assert max(probes) < 1.0, probes
    closed = [await closed_by_server(reader) for reader, _ in clients]
    assert all(closed)
    for _, writer in clients:
        writer.close()


class FakeTransport(asyncio.Transport):
    def __init__(self, peer: str) -> None:
        super().__init__()
        self.peer, self.aborted = peer, False

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return (self.peer, 40000) if name == "peername" else default

    def abort(self) -> None:
        self.aborted = True


class FakeHandler:
    """Stands in for aiohttp's protocol: takes what the guard passes on."""

    def __init__(self) -> None:
        self.received = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        pass

    def data_received(self, data: bytes) -> None:
        self.received += data

    def connection_lost(self, exc: BaseException | None) -> None:
        pass


def test_a_kept_alive_connection_waits_idle_without_a_header_deadline() -> None:
    from webhooks.serving import ConnectionGuard, GuardedConnection

    now = [100.0]
    guard = ConnectionGuard(header_timeout=10, body_timeout=30, per_address=0, clock=lambda: now[0])
    transport = FakeTransport("192.0.2.1")
    connection = GuardedConnection(FakeHandler(), guard)  # type: ignore[arg-type]
    connection.connection_made(transport)
    connection.data_received(b"GET /healthz HTTP/1.1\r\n\r\n")

    class Body:
        def is_eof(self) -> bool:
            return True  # it came with the headers

    class Request:  # what the middleware hands the guard
        def __init__(self) -> None:
            self.transport = transport
            self.content = Body()

    request = Request()
    started = guard.request_started(request)  # type: ignore[arg-type]
    assert started is connection
    now[0] += 60  # a slow handler: no deadline while it runs
    assert guard.sweep() == 0
    guard.request_finished(started)
    now[0] += 3600  # idle for an hour: aiohttp's keep-alive timeout decides, not the header deadline
    assert guard.sweep() == 0 and not transport.aborted
    connection.data_received(b"GET /he")  # the next request starts
    now[0] += 10.5
    assert guard.sweep() == 1 and transport.aborted
    assert guard.closed == {"slow_headers": 1}


def test_the_open_file_limit_is_raised_to_the_hard_limit() -> None:
    import resource

    from webhooks.serving import raise_open_file_limit

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(1024, hard), hard))
    try:
        assert raise_open_file_limit() == (hard if hard != resource.RLIM_INFINITY else max(1024, 1 << 20))
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


# --- health ----------------------------------------------------------------------------------------------


async def test_healthz_reports_writes_failing_on_a_full_disk(start_server: Any, http: aiohttp.ClientSession) -> None:
    server = await start_server()
    async with http.get(server.url + "/healthz") as r:
        assert r.status == 200 and (await r.json())["writes"] == "ok"
    # SQLite answers a database that may not grow as it answers a full disk: SQLITE_FULL.
    runner = server.store.runner
    for db in (runner._writer_db, runner._loop_writer_db):
        pages = db.execute("PRAGMA page_count").fetchone()[0]
        db.execute(f"PRAGMA max_page_count = {pages}")
    statuses = []
    for n in range(50):
        form = twilio_form("Здравствуйте! " + "много слов " * 300, sid=f"SM{n:032d}", WaId=f"7916{n:07d}")
        statuses.append((await server.post_twilio(http, form)).status)
        if statuses[-1] != 200:
            break
    assert statuses[-1] == 503  # the provider retries later: nothing accepted is lost
    async with http.get(server.url + "/healthz") as r:
        body = await r.json()
    assert r.status == 503 and body["writes"] == "failing" and body["store"] == "ok"
    assert "full" in body["reason"]


async def test_a_page_view_split_on_the_way_is_read_whole(start_server: Any) -> None:
    from webhooks.serving import GUARD

    server = await start_server()
    body = view("visitor-split")
    reader, writer = await connect(server)
    writer.write(b"POST /collect HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nConnection: close\r\n")
    writer.write(b"Content-Length: %d\r\n\r\n" % len(body) + body[:20])
    guard, started = server.app[GUARD], asyncio.Event()
    request_started = guard.request_started

    def noting(request: Any) -> Any:
        started.set()
        return request_started(request)

    guard.request_started = noting  # type: ignore[method-assign]
    await started.wait()  # the handler has the headers and the first part of the body
    writer.write(body[20:])
    answer = asyncio.create_task(reader.read())
    assert (await answer).startswith(b"HTTP/1.1 200"), answer.result()
    writer.close()
