"""Operations: Prometheus metrics, the collect rate limit, CORS, start-up errors naming the setting."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import Any

import aiohttp

from tests.conftest import twilio_form
from tracking.codes import new_code
from webhooks.collect import CollectLimiter


async def test_metrics_count_ingest_outcomes_and_outbox(start_server: Any, http: aiohttp.ClientSession) -> None:
    server = await start_server(metrics_access="public")
    form = twilio_form("Здравствуйте")
    for _ in range(2):
        await server.post_twilio(http, form)
    async with http.get(server.url + "/metrics") as response:
        assert response.status == 200
        text = await response.text()
    assert 'chattrack_ingest_total{outcome="new_dialog",provider="twilio"} 1.0' in text
    assert 'chattrack_ingest_total{outcome="duplicate",provider="twilio"} 1.0' in text
    assert 'chattrack_dialogs_total{status="none"} 1.0' in text
    assert "chattrack_outbox_pending 1.0" in text
    assert 'chattrack_http_requests_total{route="/webhooks/twilio",status="200"} 2.0' in text


async def test_collect_is_rate_limited_per_address(start_server: Any, http: aiohttp.ClientSession) -> None:
    server = await start_server(collect_rate_per_minute=3)
    payload = {"t": "view", "c": new_code(), "v": "visitor-0001", "u": "https://s.example/"}
    statuses = []
    for _ in range(5):
        async with http.post(server.url + "/collect", json=payload) as response:
            statuses.append(response.status)
    assert statuses == [200, 200, 200, 429, 429]


class Clock:
    def __init__(self) -> None:
        self.now = 60.0 * 16_667 + 20  # 20 s into a minute

    def __call__(self) -> float:
        return self.now


def test_the_limit_slides_instead_of_resetting_on_the_minute() -> None:
    clock = Clock()
    limiter = CollectLimiter(10, clock=clock)
    assert [limiter.allow("10.0.0.1") for _ in range(11)] == [True] * 10 + [False]
    assert limiter.allow("10.0.0.2")  # another address has its own count

    clock.now += 55  # 15 s into the next minute: the last minute still weighs 45/60 → 7.5 of 10 used
    assert [limiter.allow("10.0.0.1") for _ in range(4)] == [True, True, True, False]
    clock.now += 120  # two minutes on: neither earlier minute counts any more
    assert sum(limiter.allow("10.0.0.1") for _ in range(12)) == 10


def test_the_limiter_remembers_a_bounded_number_of_addresses() -> None:
    clock = Clock()
    limiter = CollectLimiter(5, max_addresses=1000, clock=clock)
    for n in range(50_000):
        limiter.allow(f"10.{n // 65536}.{n // 256 % 256}.{n % 256}")
    assert limiter.remembered <= 1000
    clock.now += 60
    limiter.allow("10.9.9.9")
    assert limiter.remembered <= 1001  # last minute's counts, and this one's first
    clock.now += 120
    limiter.allow("10.9.9.9")
    assert limiter.remembered == 1  # counts older than the window are gone


async def test_collect_cors_is_limited_to_site_origins(start_server: Any, http: aiohttp.ClientSession) -> None:
    server = await start_server(site_origins="https://studio.example")
    payload = {"t": "view", "c": new_code(), "v": "visitor-0001", "u": "https://studio.example/"}
    ok_headers = {"Origin": "https://studio.example"}
    async with http.post(server.url + "/collect", json=payload, headers=ok_headers) as response:
        assert response.status == 200
        assert response.headers["Access-Control-Allow-Origin"] == "https://studio.example"
    async with http.post(server.url + "/collect", json=payload, headers={"Origin": "https://evil.example"}) as resp:
        assert resp.status == 403
        assert "CHATTRACK_SITE_ORIGINS" in (await resp.json())["error"]


async def test_collect_rejects_garbage_with_reasons(start_server: Any, http: aiohttp.ClientSession) -> None:
    server = await start_server()
    good = {"t": "view", "c": new_code(), "v": "visitor-0001", "u": "https://s.example/"}
    cases: list[tuple[bytes, int, str]] = [
        (b"not json", 400, ""),
        (b"\xff\xfe\x00", 400, ""),
        (b"[1, 2]", 400, ""),
        (b'{"t": "view"}', 400, "c"),
        (str({**good, "c": "AAAAAAA"}).replace("'", '"').encode(), 400, "c"),
        (str({**good, "t": "click"}).replace("'", '"').encode(), 400, "h"),
        (b"{" * 5000, 413, ""),
    ]
    for body, status, field in cases:
        async with http.post(server.url + "/collect", data=body, headers={"Content-Type": "text/plain"}) as response:
            assert response.status == status, (body[:40], await response.text())
            reason = (await response.json())["error"]
            assert reason.startswith(field)


async def test_wrong_setting_stops_startup_naming_the_variable(tmp_path: Path) -> None:
    env = {**os.environ, "CHATTRACK_TIMEZONE": "Mars/Olympus", "CHATTRACK_DATABASE_URL": f"sqlite:///{tmp_path}/x.db"}
    root = Path(__file__).parent.parent
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "webhooks.cli", "serve", env=env, cwd=root, stderr=asyncio.subprocess.PIPE
    )
    _, err = await process.communicate()
    assert process.returncode == 2
    assert "CHATTRACK_TIMEZONE" in err.decode()
    env = {**env, "CHATTRACK_TIMEZONE": "UTC", "CHATTRACK_TRACKED_NUMBERS": "+7 999 123-45-67, hello"}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "webhooks.cli", "serve", env=env, cwd=root, stderr=asyncio.subprocess.PIPE
    )
    _, err = await process.communicate()
    assert process.returncode == 2
    assert "CHATTRACK_TRACKED_NUMBERS" in err.decode() and "hello" in err.decode()
