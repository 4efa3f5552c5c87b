"""Every sample payload in tests/payloads/<provider>/*.json (format: tests/payloads/README.md) through the real
endpoint of a real server on a free port, with a fresh SQLite file, signed or authenticated as that provider
does: each answer has the status the file expects (never a 5xx), then the store holds exactly the dialogs
it lists."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.runtime import WEBHOOK_PATH
from tests.conftest import RunningServer
from tests.test_bot_commands import TOKEN as TELEGRAM_TOKEN
from tests.test_bot_commands import BotAPI
from tests.test_twilio_webhook import collect_view
from tracking.codes import DEFAULT_MARKERS, extract_code, new_code
from tracking.models import Dialog
from tracking.settings import ENV_PREFIX, Settings

PAYLOADS = Path(__file__).parent / "payloads"
FILES = sorted(PAYLOADS.glob("*/*.json"))

META_APP_SECRET = "payloads-meta-app-secret"
GREENAPI_TOKEN = "payloads-greenapi-webhook-token"
GENERIC_SECRET = "payloads-generic-secret"
TELEGRAM_SECRET = "payloads-telegram-webhook-secret"
WAZZUP_CRM_KEY = "payloads-wazzup-crm-key"

ENDPOINTS = {
    "twilio": "/webhooks/twilio",
    "meta": "/webhooks/meta",
    "greenapi": "/webhooks/greenapi",
    "generic": "/webhooks/generic",
    "wazzup": "/webhooks/wazzup",
    "telegram": WEBHOOK_PATH,
}


@dataclass
class Sample:
    provider: str
    source: str
    requests: list[dict[str, Any]]
    dialogs: list[dict[str, Any]]
    settings: dict[str, str]

    @classmethod
    def load(cls, path: Path) -> Sample:
        data = json.loads(path.read_text(encoding="utf-8"))
        assert isinstance(data.get("source"), str) and data["source"].strip(), "every file names its source"
        assert data.get("requests"), "every file posts at least one request"
        return cls(
            provider=path.parent.name,
            source=data["source"],
            requests=data["requests"],
            dialogs=data["expect"]["dialogs"],
            settings=data.get("settings", {}),
        )


def substitute(value: Any, code: str, now: int) -> Any:
    """`{code}`, `{now}` and `{now_iso}` inside strings; a string that is exactly `{now_int}` becomes a number."""
    if isinstance(value, dict):
        return {key: substitute(item, code, now) for key, item in value.items()}
    if isinstance(value, list):
        return [substitute(item, code, now) for item in value]
    if isinstance(value, str):
        if value == "{now_int}":
            return now
        iso = datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        return value.replace("{code}", code).replace("{now_iso}", iso).replace("{now}", str(now))
    return value


def server_settings(sample: Sample, api_url: str | None) -> dict[str, Any]:
    """Every provider's secret, nothing tracked-number-wise (all numbers kept), then the file's own settings."""
    values: dict[str, Any] = {
        "tracked_numbers": "",
        "twilio_auth_token": "test-twilio-auth-token",  # conftest's TWILIO_TOKEN: RunningServer signs with it
        "meta_app_secret": META_APP_SECRET,
        "meta_verify_token": "payloads-verify-token",
        "greenapi_webhook_token": GREENAPI_TOKEN,
        "generic_webhook_secret": GENERIC_SECRET,
    }
    if "wazzup_crm_key" in Settings.model_fields:
        values["wazzup_crm_key"] = WAZZUP_CRM_KEY
    if api_url is not None:  # the bot, in webhook mode, against the fake Bot API
        values |= {
            "telegram_bot_token": TELEGRAM_TOKEN,
            "telegram_api_url": api_url,
            "telegram_webhook_secret": TELEGRAM_SECRET,
            "public_url": "https://track.example.com",
        }
    for name, value in sample.settings.items():
        assert name.startswith(ENV_PREFIX), f"settings are named as in the environment: {name}"
        values[name.removeprefix(ENV_PREFIX).lower()] = value
    return values


def signed(provider: str, server: RunningServer, request: dict[str, Any]) -> dict[str, Any]:
    """aiohttp keyword arguments posting `request` as the provider posts it."""
    if "form" in request:
        form = {str(key): str(value) for key, value in request["form"].items()}
        assert provider == "twilio", "only Twilio posts forms"
        return {"data": form, "headers": {"X-Twilio-Signature": server.twilio_signature(ENDPOINTS[provider], form)}}
    # Meta escapes non-ASCII (\u0410…) and signs those bytes; the others send UTF-8.
    body = json.dumps(request["json"], ensure_ascii=provider == "meta").encode()
    headers = {"Content-Type": "application/json"}
    if provider == "meta":
        headers["X-Hub-Signature-256"] = (
            "sha256=" + hmac.new(META_APP_SECRET.encode(), body, hashlib.sha256).hexdigest()
        )
    elif provider == "greenapi":
        headers["Authorization"] = f"Bearer {GREENAPI_TOKEN}"
    elif provider == "wazzup":
        headers["Authorization"] = f"Bearer {WAZZUP_CRM_KEY}"
    elif provider == "telegram":
        headers["X-Telegram-Bot-Api-Secret-Token"] = TELEGRAM_SECRET
    elif provider == "generic":
        stamp = str(int(time.time()))
        digest = hmac.new(GENERIC_SECRET.encode(), stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
        headers |= {"X-Chattrack-Timestamp": stamp, "X-Chattrack-Signature": "sha256=" + digest}
    else:
        raise AssertionError(f"no signing rule for provider folder {provider!r}")
    return {"data": body, "headers": headers}


async def all_dialogs(server: RunningServer) -> list[Dialog]:
    """Every stored dialog, oldest first (samples keep the providers' own, possibly old, timestamps)."""
    found = await server.store.list_dialogs(datetime(2000, 1, 1, tzinfo=UTC), datetime.now(UTC) + timedelta(days=2))
    return sorted(found, key=lambda dialog: (dialog.started_at, dialog.contact_id))


async def stored_texts(server: RunningServer, dialog: Dialog) -> list[str | None]:
    """The texts of a dialog's messages, oldest first, with the code stripped as the Tracker strips it (the store
    keeps what the customer wrote), a deleted one as None."""
    messages = await server.store.dialog_messages(dialog.id)
    return [None if message.deleted else extract_code(message.text, DEFAULT_MARKERS).text for message in messages]


async def check_dialog(server: RunningServer, dialog: Dialog, expected: dict[str, Any], code: str) -> None:
    for key, want in expected.items():
        if key == "messages":
            assert await stored_texts(server, dialog) == want, f"messages of {dialog.contact_id}"
            continue
        got = getattr(dialog, key)
        got = got.value if hasattr(got, "value") else got
        want = substitute(want, code, 0) if key == "code" else want
        assert got == want, f"{key} of dialog {dialog.contact_id}: {got!r} != {want!r}"


@pytest.fixture
async def bot_api() -> AsyncIterator[BotAPI]:
    fake = BotAPI()
    await fake.start()
    yield fake
    await fake.stop()


@pytest.mark.parametrize("path", FILES, ids=[f"{path.parent.name}/{path.stem}" for path in FILES])
async def test_sample_payload(
    path: Path, bot_api: BotAPI, start_server: Callable[..., Any], http: aiohttp.ClientSession
) -> None:
    # bot_api before start_server: the fake Bot API must outlive the server (the bot stops through it).
    sample = Sample.load(path)
    assert sample.provider in ENDPOINTS, f"unknown provider folder {sample.provider!r}"
    api_url = bot_api.url if sample.provider == "telegram" else None
    server: RunningServer = await start_server(**server_settings(sample, api_url))
    code = new_code()
    await collect_view(http, server, code, "https://shop.example/?utm_source=google&utm_medium=cpc&utm_campaign=sample")

    for number, item in enumerate(sample.requests, 1):
        prepared = substitute(item, code, int(time.time()))
        async with http.post(
            server.url + ENDPOINTS[sample.provider], **signed(sample.provider, server, prepared)
        ) as answer:
            body = await answer.text()
            assert answer.status < 500, f"request {number}: {answer.status} {body}"
            assert answer.status == item.get("status", 200), f"request {number}: {answer.status} {body}"

    dialogs = await all_dialogs(server)
    summary = [(d.contact_id, d.business_number, d.first_message) for d in dialogs]
    assert len(dialogs) == len(sample.dialogs), f"stored dialogs: {summary}"
    for dialog, expected in zip(dialogs, sample.dialogs, strict=True):
        await check_dialog(server, dialog, expected, code)
