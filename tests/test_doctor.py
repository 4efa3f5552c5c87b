"""`chattrack doctor` on a good configuration and on broken ones, and the server's one-time probe endpoint."""

from __future__ import annotations

import asyncio
import functools
import os
import secrets
import ssl
import sys
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from tests.conftest import TWILIO_TOKEN, RunningServer, free_port
from tests.fakes import serve_app
from tests.fakes.telegram_api import FakeTelegramAPI
from tracking.periods import utc_now
from tracking.settings import Settings, load_settings
from tracking.store.sqlite import SQLiteStore
from tracking.strings import secret_digest
from webhooks import doctor
from webhooks.doctor import Check, diagnose, report

BOT_TOKEN = "123456:TEST-doctor-token"
OWNER = 111
REPO = Path(__file__).resolve().parents[1]

# A throwaway self-signed certificate for 127.0.0.1 (openssl req -x509 -newkey ec, 100 years): no client trusts it.
SELF_SIGNED_CERT = """-----BEGIN CERTIFICATE-----
MIIBjzCCATagAwIBAgIUf1xIqV/cNSYkeHPCkFjbIfwV/scwCgYIKoZIzj0EAwIw
FDESMBAGA1UEAwwJMTI3LjAuMC4xMCAXDTI2MTIwNjE4MzQwNloYDzIxMjYxMTEy
MTgzNDA2WjAUMRIwEAYDVQQDDAkxMjcuMC4wLjEwWTATBgcqhkjOPQIBBggqhkjO
PQMBBwNCAASxNRpSlpqDePA4mWlwHNo5nouHzn+0I6hZSn2MJFY60YJ2x2hVYhve
PMEwy49K7GGhJU/mgQMGS/KusvkxQzwHo2QwYjAdBgNVHQ4EFgQUYz0vHIoRvIZL
ooLBLAILYO7+EiEwHwYDVR0jBBgwFoAUYz0vHIoRvIZLooLBLAILYO7+EiEwDwYD
VR0TAQH/BAUwAwEB/zAPBgNVHREECDAGhwR/AAABMAoGCCqGSM49BAMCA0cAMEQC
IHiIw/ZqNk7bF+G3VIxBiORY/G+516NFJwk8y7sKVl42AiAJK15WXeU8yg9udO2Y
vQMA7utEtD8vJnBvElc1aMiTcg==
-----END CERTIFICATE-----
"""
SELF_SIGNED_KEY = """-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg5XRh+MmgEwQXZyzx
gk6j2MbaB6799BuVTD+6UffJcXKhRANCAASxNRpSlpqDePA4mWlwHNo5nouHzn+0
I6hZSn2MJFY60YJ2x2hVYhvePMEwy49K7GGhJU/mgQMGS/KusvkxQzwH
-----END PRIVATE KEY-----
"""


@pytest.fixture
async def telegram() -> AsyncIterator[FakeTelegramAPI]:
    async with FakeTelegramAPI() as fake:
        yield fake


@pytest.fixture
def serve_itself(start_server: Callable[..., Any]) -> Callable[..., Any]:
    """The real server on a free port whose CHATTRACK_PUBLIC_URL is its own address (as behind a proxy)."""
    return functools.partial(start_server, public_url="self")


def bot_settings(fake: FakeTelegramAPI) -> dict[str, Any]:
    return {"telegram_bot_token": BOT_TOKEN, "telegram_api_url": fake.url, "telegram_owner_ids": str(OWNER)}


async def good_server(serve_itself: Callable[..., Any], telegram: FakeTelegramAPI) -> RunningServer:
    server: RunningServer = await serve_itself(**bot_settings(telegram))
    await telegram.wait_for("setWebhook")  # the server registered its webhook at start-up
    return server


def failing(checks: list[Check]) -> list[Check]:
    return [check for check in checks if not check.ok]


def one_failing(checks: list[Check], words: str) -> Check:
    found = [check for check in failing(checks) if words in check.what]
    assert len(found) == 1, report(checks)
    return found[0]


# a good configuration ---------------------------------------------------------------------------------------


async def test_good_configuration_passes_every_check(
    serve_itself: Callable[..., Any], telegram: FakeTelegramAPI
) -> None:
    server = await good_server(serve_itself, telegram)

    checks = await diagnose(lambda: server.settings)

    assert not failing(checks), report(checks)
    text = report(checks)
    assert f"webhook: registered at {server.url}/telegram/webhook" in text
    assert "bot token: the bot @chattrack_test_bot" in text
    assert f"CHATTRACK_PUBLIC_URL ({server.url}) reaches this very server" in text
    assert "plain http, fine on this machine only" in text  # http is told, not failed, on 127.0.0.1
    assert "store: " in text and "opens, answers and takes writes" in text
    assert await server.store.marks("doctor:") == {}  # the one-time token was taken back


def doctor_env(settings: Settings, fake: FakeTelegramAPI, **extra: str) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if not name.startswith("CHATTRACK_")}
    env["PYTHONPATH"] = str(REPO)
    env |= {
        "CHATTRACK_DATABASE_URL": settings.database_url,
        "CHATTRACK_TRACKED_NUMBERS": "+7 999 123-45-67",
        "CHATTRACK_TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
        "CHATTRACK_TIMEZONE": "Europe/Moscow",
        "CHATTRACK_PUBLIC_URL": settings.public_url or "",
        "CHATTRACK_TELEGRAM_BOT_TOKEN": BOT_TOKEN,
        "CHATTRACK_TELEGRAM_API_URL": fake.url,
        "CHATTRACK_TELEGRAM_OWNER_IDS": str(OWNER),
    }
    return env | extra


async def run_doctor(env: dict[str, str], cwd: Path) -> tuple[int, str]:
    """`chattrack doctor` as a user runs it, in its own process (the server goes on answering meanwhile)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "webhooks.cli", "doctor",
        env=env, cwd=cwd, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    out, _ = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode is not None
    return process.returncode, out.decode()


async def test_command_on_a_good_configuration_exits_0_with_every_line_passed(
    serve_itself: Callable[..., Any], telegram: FakeTelegramAPI, tmp_path: Path
) -> None:
    server = await good_server(serve_itself, telegram)

    code, out = await run_doctor(doctor_env(server.settings, telegram), tmp_path)

    assert code == 0, out
    lines = out.strip().splitlines()
    checks = [line for line in lines if line[:2] in ("✓ ", "✗ ")]
    assert len(checks) >= 5 and all(line.startswith("✓ ") for line in checks), out
    assert f"CHATTRACK_PUBLIC_URL ({server.url}) reaches this very server" in out
    assert lines[-1] == "everything checked is fine"


async def test_command_on_a_bad_setting_exits_1_naming_it(telegram: FakeTelegramAPI, tmp_path: Path) -> None:
    settings = load_settings(database_url=f"sqlite:///{tmp_path / 'chattrack.db'}")
    env = doctor_env(settings, telegram, CHATTRACK_PUBLIC_URL="ftp://example.com")

    code, out = await run_doctor(env, tmp_path)

    assert code == 1, out
    assert "✗ settings: CHATTRACK_PUBLIC_URL: " in out and "must start with https://" in out
    assert "— fix: correct it in the environment or .env" in out


# broken configurations --------------------------------------------------------------------------------------


async def test_wrong_token_unreachable_address_and_missing_setting_each_name_their_fix(
    make_settings: Callable[..., Settings], telegram: FakeTelegramAPI
) -> None:
    telegram.fail_next("getMe", status=401, description="Unauthorized")
    nowhere = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    settings = make_settings(public_url=nowhere, tracked_numbers="", **bot_settings(telegram))

    checks = await diagnose(lambda: settings)

    token = one_failing(checks, "bot token")
    assert "401" in token.what and "the token is wrong: copy it from @BotFather" in token.fix
    address = one_failing(checks, "CHATTRACK_PUBLIC_URL (")
    assert "nothing answers at 127.0.0.1:" in address.what and "connection refused" in address.what
    assert address.fix == "is chattrack running? does the proxy forward to it?"
    numbers = one_failing(checks, "CHATTRACK_TRACKED_NUMBERS")
    assert numbers.fix.startswith("set CHATTRACK_TRACKED_NUMBERS")
    assert not any("webhook" in check.what for check in checks)  # nothing to ask with a wrong token
    assert len(failing(checks)) == 3, report(checks)
    assert f"✗ {token.what} — fix: {token.fix}" in report(checks)


async def test_telegram_unreachable_is_said(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings(telegram_bot_token=BOT_TOKEN, telegram_api_url=f"http://127.0.0.1:{free_port()}")

    checks = await diagnose(lambda: settings)

    unreachable = one_failing(checks, "bot token")
    assert "cannot be reached" in unreachable.what and "internet access" in unreachable.fix


async def test_another_chattrack_with_its_own_database_answers_404(
    start_server: Callable[..., Any], make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    other = await start_server()  # a chattrack on tmp_path/chattrack.db
    settings = make_settings(public_url=other.url, database_url=f"sqlite:///{tmp_path / 'mine.db'}")

    checks = await diagnose(lambda: settings)

    address = one_failing(checks, "CHATTRACK_PUBLIC_URL (")
    assert "another server or another chattrack with a different database" in address.what
    assert "HTTP 404" in address.what and "CHATTRACK_DATABASE_URL" in address.fix
    mine = SQLiteStore(tmp_path / "mine.db")
    await mine.open()
    try:
        assert await mine.marks("doctor:") == {}  # the token not taken by the other server is deleted
    finally:
        await mine.close()


async def diagnose_behind(app: web.Application, make_settings: Callable[..., Settings]) -> list[Check]:
    """The doctor's checks with CHATTRACK_PUBLIC_URL leading to `app` (another server) on a free port."""
    runner, url = await serve_app(app)
    try:
        return await diagnose(lambda: make_settings(public_url=url))
    finally:
        await runner.cleanup()


async def test_a_server_that_is_not_chattrack_is_another_server(make_settings: Callable[..., Settings]) -> None:
    app = web.Application()

    async def welcome(request: web.Request) -> web.Response:
        return web.Response(text="<h1>Welcome to nginx!</h1>")

    app.router.add_get("/{tail:.*}", welcome)
    checks = await diagnose_behind(app, make_settings)

    address = one_failing(checks, "CHATTRACK_PUBLIC_URL (")
    assert "another server" in address.what and "HTTP 200" in address.what


async def test_a_redirect_to_this_server_is_a_problem(
    serve_itself: Callable[..., Any], make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    server: RunningServer = await serve_itself()

    async def redirect(request: web.Request) -> web.Response:
        raise web.HTTPFound(server.url + request.path)

    app = web.Application()
    app.router.add_get("/{tail:.*}", redirect)
    checks = await diagnose_behind(app, make_settings)

    address = one_failing(checks, "CHATTRACK_PUBLIC_URL (")
    assert f"through a redirect to {server.url}" in address.what
    assert "follow no redirects" in address.fix


async def test_a_certificate_nobody_trusts_is_a_tls_problem(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    (tmp_path / "cert.pem").write_text(SELF_SIGNED_CERT)
    (tmp_path / "key.pem").write_text(SELF_SIGNED_KEY)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    runner = web.AppRunner(web.Application())
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port, ssl_context=context).start()
    try:
        checks = await diagnose(lambda: make_settings(public_url=f"https://127.0.0.1:{port}"))
    finally:
        await runner.cleanup()

    address = one_failing(checks, "CHATTRACK_PUBLIC_URL (")
    assert f"the TLS certificate of 127.0.0.1:{port} is not accepted" in address.what
    assert "self-signed" in address.what and "a valid certificate" in address.fix


async def test_unwritable_sqlite_path_fails_the_store_and_the_address_check(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    (tmp_path / "a-file").write_text("not a folder")
    path = tmp_path / "a-file" / "chattrack.db"  # its folder cannot exist, even for root
    settings = make_settings(database_url=f"sqlite:///{path}", public_url="https://example.com")

    checks = await diagnose(lambda: settings)

    store = one_failing(checks, "store:")
    assert f"store: {path} does not open" in store.what
    assert f"the folder of {path} must exist" in store.fix and "writable by this user" in store.fix
    address = one_failing(checks, "CHATTRACK_PUBLIC_URL (")
    assert address.fix == "the store must open first"


async def test_unreachable_mongodb_is_named_without_its_credentials(make_settings: Callable[..., Settings]) -> None:
    port = free_port()
    url = f"mongodb://admin:s3cret-pass@127.0.0.1:{port}/chattrack?serverSelectionTimeoutMS=300"
    settings = make_settings(database_url=url)

    checks = await diagnose(lambda: settings)

    store = one_failing(checks, "store:")
    assert f"store: mongodb://127.0.0.1:{port}/chattrack does not open" in store.what
    assert "is MongoDB running" in store.fix
    assert "s3cret-pass" not in report(checks)


async def test_bad_setting_value_is_named_with_its_fix(make_settings: Callable[..., Settings]) -> None:
    checks = await diagnose(lambda: make_settings(port="eighty"))

    assert len(checks) == 1 and not checks[0].ok
    assert checks[0].what.startswith("settings: CHATTRACK_PORT: ")
    assert "docs/configuration.md" in checks[0].fix


def test_blank_secret_and_missing_provider_are_failures_with_fixes(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings(twilio_auth_token=None, api_token="")

    checks = doctor.settings_checks(settings)

    blank = one_failing(checks, "CHATTRACK_API_TOKEN")
    assert "set but empty" in blank.what and blank.fix == "give CHATTRACK_API_TOKEN a value, or remove it"
    provider = one_failing(checks, "your provider's secret")
    assert "listed above" not in provider.what and "CHATTRACK_TWILIO_AUTH_TOKEN" in provider.fix


async def test_an_owner_who_claimed_the_bot_stands_for_the_owner_ids(
    make_settings: Callable[..., Settings], telegram: FakeTelegramAPI, store: SQLiteStore
) -> None:
    settings = make_settings(telegram_bot_token=BOT_TOKEN, telegram_api_url=telegram.url)
    unclaimed = await diagnose(lambda: settings)
    await store.put_mark("owner", {"user_id": OWNER, "name": "Анна", "username": "anna", "at": utc_now().isoformat()})

    claimed = await diagnose(lambda: settings)

    assert "CHATTRACK_TELEGRAM_OWNER_IDS" in one_failing(unclaimed, "OWNER_IDS").fix
    assert [check.what.split(":")[1] for check in failing(claimed)] == [" CHATTRACK_PUBLIC_URL"], report(claimed)
    assert "✓ owner: @anna, who claimed the bot" in report(claimed)


@pytest.mark.parametrize(
    ("url", "ok"),
    [("https://leads.example.com", True), ("http://127.0.0.1:8080", True), ("http://leads.example.com", False)],
)
def test_public_url_wants_https_beyond_this_machine(make_settings: Callable[..., Settings], url: str, ok: bool) -> None:
    check = doctor.public_url_check(make_settings(public_url=url))

    assert check is not None and check.ok is ok
    if not ok:
        assert "plain http" in check.what and "https://" in check.fix


# the webhook registration -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("public", "registered", "said"),
    [
        (True, "", "the server has not registered it yet: is it running?"),
        (True, "https://other.example/telegram/webhook", "another server took the bot's webhook: https://other."),
        (False, "https://other.example/telegram/webhook", "it blocks long polling"),
    ],
)
async def test_webhook_registration_problems(
    make_settings: Callable[..., Settings], telegram: FakeTelegramAPI, public: bool, registered: str, said: str
) -> None:
    telegram.webhook_url = registered
    overrides = {"public_url": f"http://127.0.0.1:{free_port()}"} if public else {}
    settings = make_settings(**bot_settings(telegram), **overrides)

    checks = await doctor.bot_checks(settings)

    assert checks[0].ok  # getMe answered
    problem = [check for check in checks if not check.ok]
    assert len(problem) == 1 and said in problem[0].line


async def test_long_polling_without_a_webhook_passes(
    make_settings: Callable[..., Settings], telegram: FakeTelegramAPI
) -> None:
    checks = await doctor.bot_checks(make_settings(**bot_settings(telegram)))

    assert [check.ok for check in checks] == [True, True]
    assert "long polling" in checks[1].what


def test_telegrams_last_webhook_error_is_shown(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings(public_url="https://leads.example.com")
    url = "https://leads.example.com/telegram/webhook"
    now = utc_now()
    error = "Connection timed out"

    recent = doctor.webhook_checks(settings, url, error, now - timedelta(minutes=3), now)
    old = doctor.webhook_checks(settings, url, error, now - timedelta(days=2), now)

    assert [check.ok for check in recent] == [True, False]
    assert "last delivery failed" in recent[1].what and error in recent[1].what
    assert [check.ok for check in old] == [True, True] and error in old[1].what


# the probe endpoint -----------------------------------------------------------------------------------------


async def stored_token(server: RunningServer, age: timedelta = timedelta(0)) -> str:
    token = secrets.token_urlsafe(32)
    await server.store.put_mark(f"doctor:{secret_digest(token)}", {"at": (utc_now() - age).isoformat()})
    return token


async def test_probe_token_works_once(start_server: Callable[..., Any], http: aiohttp.ClientSession) -> None:
    server: RunningServer = await start_server()
    token = await stored_token(server)

    async with http.get(f"{server.url}/doctor/{token}") as first:
        assert first.status == 200
        assert await first.json() == {"chattrack": "doctor", "probe": secret_digest(token)}
    async with http.get(f"{server.url}/doctor/{token}") as again:
        assert again.status == 404
    assert await server.store.marks("doctor:") == {}


async def test_probe_refuses_unknown_expired_overlong_and_odd_tokens(
    start_server: Callable[..., Any], http: aiohttp.ClientSession
) -> None:
    server: RunningServer = await start_server()
    expired = await stored_token(server, age=timedelta(minutes=6))
    garbled = secrets.token_urlsafe(32)
    await server.store.put_mark(f"doctor:{secret_digest(garbled)}", {"at": "yesterday"})
    overlong = "a" * 65
    await server.store.put_mark(f"doctor:{secret_digest(overlong)}", {"at": utc_now().isoformat()})
    asked = [expired, garbled, overlong, secrets.token_urlsafe(32), "x" * 2_000, "short", "%00%FF..", "токен" * 4]

    for token in asked:
        async with http.get(f"{server.url}/doctor/{token}") as response:
            assert response.status == 404, token
            assert (await response.json())["error"] == "unknown, used or expired token"
    left = await server.store.marks("doctor:")
    assert list(left) == [f"doctor:{secret_digest(overlong)}"]  # a token too long is not even looked up


async def test_doctor_sweeps_its_expired_tokens(serve_itself: Callable[..., Any]) -> None:
    server: RunningServer = await serve_itself()
    await stored_token(server, age=timedelta(hours=1))  # left by a run cut short

    checks = await diagnose(lambda: server.settings)

    address = [check for check in checks if check.what.startswith("CHATTRACK_PUBLIC_URL (")]
    assert len(address) == 1 and address[0].ok, report(checks)
    assert await server.store.marks("doctor:") == {}
