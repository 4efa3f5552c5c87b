"""Shared fixtures: settings on a temp SQLite file, and the real server on a free port."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from twilio.request_validator import RequestValidator

from tracking.settings import Settings, load_settings
from tracking.store import Store
from tracking.store.sqlite import SQLiteStore
from webhooks.app import STORE, create_app
from webhooks.serving import GuardedRunner

TWILIO_TOKEN = "test-twilio-auth-token"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(autouse=True)
def _no_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Tests configure through arguments, never through the developer's environment or .env."""
    import os

    for name in list(os.environ):
        if name.startswith("CHATTRACK_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def make_settings(tmp_path: Path) -> Callable[..., Settings]:
    def make(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "database_url": f"sqlite:///{tmp_path / 'chattrack.db'}",
            "tracked_numbers": "+7 999 123-45-67",
            "twilio_auth_token": TWILIO_TOKEN,
            "timezone": "Europe/Moscow",
        }
        values.update(overrides)
        return load_settings(**values)

    return make


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SQLiteStore]:
    """A store on a temp SQLite file, opened (test files and folders may override it, e.g. for both stores)."""
    store = SQLiteStore(tmp_path / "chattrack.db")
    await store.open()
    yield store
    await store.close()


@dataclass
class RunningServer:
    url: str
    app: web.Application
    settings: Settings

    @property
    def store(self) -> Store:
        return self.app[STORE]

    def twilio_signature(self, path: str, form: dict[str, str]) -> str:
        base = self.settings.public_url or self.url
        return str(RequestValidator(TWILIO_TOKEN).compute_signature(base + path, form))

    async def post_twilio(
        self, session: aiohttp.ClientSession, form: dict[str, str], signature: str | None = None
    ) -> aiohttp.ClientResponse:
        sig = self.twilio_signature("/webhooks/twilio", form) if signature is None else signature
        async with session.post(
            self.url + "/webhooks/twilio", data=form, headers={"X-Twilio-Signature": sig}
        ) as response:
            await response.read()
            return response


@asynccontextmanager
async def serving(settings: Settings) -> AsyncIterator[RunningServer]:
    """The whole server on `settings.port`, as `chattrack serve` runs it (slow clients meet the connection
    guard), stopped on leaving."""
    app = create_app(settings)
    runner = GuardedRunner(app)
    await runner.setup()
    try:
        await web.TCPSite(runner, "127.0.0.1", settings.port).start()
        yield RunningServer(url=f"http://127.0.0.1:{settings.port}", app=app, settings=settings)
    finally:
        await runner.cleanup()


@pytest.fixture
async def start_server(make_settings: Callable[..., Settings]) -> AsyncIterator[Callable[..., Any]]:
    """Starts the server on a free port; `public_url="self"` makes CHATTRACK_PUBLIC_URL its own address (as
    behind a proxy). Every server started stops after the test."""
    async with AsyncExitStack() as servers:

        async def start(**overrides: Any) -> RunningServer:
            port = free_port()
            if overrides.get("public_url") == "self":
                overrides["public_url"] = f"http://127.0.0.1:{port}"
            return await servers.enter_async_context(serving(make_settings(port=port, **overrides)))

        yield start


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


def twilio_form(body: str, sid: str = "SM0000000000000000000000000000001", **extra: str) -> dict[str, str]:
    """A WhatsApp message exactly as Twilio posts it."""
    form = {
        "SmsMessageSid": sid,
        "NumMedia": "0",
        "ProfileName": "Анна",
        "MessageType": "text",
        "SmsSid": sid,
        "WaId": "79161234567",
        "SmsStatus": "received",
        "Body": body,
        "To": "whatsapp:+79991234567",
        "NumSegments": "1",
        "ReferralNumMedia": "0",
        "MessageSid": sid,
        "AccountSid": "AC00000000000000000000000000000000",
        "From": "whatsapp:+79161234567",
        "ApiVersion": "2010-04-01",
    }
    form.update(extra)
    return form
