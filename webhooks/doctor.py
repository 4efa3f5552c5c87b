"""`chattrack doctor`: what can be checked from this machine, each problem printed with its fix.

Settings, the store, the bot token (getMe), the bot's webhook registration, and whether CHATTRACK_PUBLIC_URL
reaches this very server: the doctor stores the digest of a random one-time token in the store, then fetches
`<public_url>/doctor/<token>`; only a server sharing this store can take the token back and answer 200.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import aiohttp
from aiohttp import web

from tracking.periods import utc_now
from tracking.settings import ENV_PREFIX, Settings, SettingsError, load_settings
from tracking.store import Store, StoreUnavailable, open_store
from tracking.strings import secret_digest

if TYPE_CHECKING:
    from webhooks.cli import Missing

PROBE_PATH = "/doctor/"
PROBE_PREFIX = "doctor:"  # mark key: doctor:<sha256 hex of the token> → {"at": ISO time}
PROBE_TTL = timedelta(minutes=5)
PROBE_SKEW = timedelta(minutes=1)  # a server on another machine sharing MongoDB may run a little behind
TOKEN = re.compile(r"[A-Za-z0-9_-]{16,64}")  # secrets.token_urlsafe(32) is 43 of these
TIMEOUT = 10  # seconds for each call out: Telegram, the public address
MAX_REDIRECTS = 3
RECENT_ERROR = timedelta(hours=1)  # Telegram keeps its last webhook error; older than this, it has passed
AGAIN = "then run chattrack doctor again"
OWNER_IDS = ENV_PREFIX + "TELEGRAM_OWNER_IDS"


@dataclass(frozen=True)
class Check:
    ok: bool
    what: str
    fix: str = ""

    @property
    def line(self) -> str:
        return f"✓ {self.what}" if self.ok else f"✗ {self.what} — fix: {self.fix}"


def passed(what: str) -> Check:
    return Check(True, what)


def failed(what: str, fix: str) -> Check:
    return Check(False, what, fix)


# settings ------------------------------------------------------------------------------------------------


def is_local(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def public_url_check(settings: Settings) -> Check | None:
    url = settings.public_url
    if url is None:
        return None  # in the "not configured" list
    if url.startswith("https://"):
        return passed(f"CHATTRACK_PUBLIC_URL: {url}")
    if is_local(urlsplit(url).hostname or ""):
        # A test on this machine: nothing outside can call it anyway, so plain http is no problem of its own.
        return passed(f"CHATTRACK_PUBLIC_URL: {url} (plain http, fine on this machine only: providers need https)")
    return failed(
        f"CHATTRACK_PUBLIC_URL: {url} is plain http: Telegram and Meta refuse webhooks without https",
        "put chattrack behind a proxy with a certificate (Caddy, or nginx with Let's Encrypt) and set "
        "CHATTRACK_PUBLIC_URL=https://…",
    )


def missing_check(missing: Missing, settings: Settings) -> Check:
    """One line of start-up's "Not configured yet" list (webhooks/cli.not_configured) as a failed check."""
    from webhooks.cli import WEBHOOKS

    name = missing.setting
    if name is None:  # no provider's secret is set
        secrets_ = ", ".join(hook.setting for hook in WEBHOOKS)
        return failed(
            f"not configured: {str(missing).replace(' (listed above)', '')}",
            f"set the secret of the provider you use ({secrets_}; docs/providers.md)",
        )
    if name in settings.blank_secrets:
        return failed(f"not configured: {missing}", f"give {name} a value, or remove it")
    return failed(f"not configured: {missing}", f"set {name} in the environment or .env (docs/configuration.md)")


def settings_checks(settings: Settings, owner: dict[str, Any] | None = None) -> list[Check]:
    """`owner`: the stored claim of the bot (bot/owners.py), which stands for CHATTRACK_TELEGRAM_OWNER_IDS."""
    from webhooks.cli import not_configured

    checks = [passed("settings: every value is valid")]
    url = public_url_check(settings)
    if url is not None:
        checks.append(url)
    for item in not_configured(settings):
        if owner is not None and item.setting == OWNER_IDS:
            name = f"@{owner['username']}" if owner.get("username") else str(owner.get("name") or owner.get("user_id"))
            checks.append(passed(f"owner: {name}, who claimed the bot (no {OWNER_IDS} needed)"))
        else:
            checks.append(missing_check(item, settings))
    return checks


# the store -------------------------------------------------------------------------------------------------


def store_address(database_url: str) -> str:
    """Where the store is, without credentials or options."""
    if database_url.startswith("sqlite:///"):
        return database_url.removeprefix("sqlite:///")
    parts = urlsplit(database_url)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}{parts.path}"


def store_fix(settings: Settings) -> str:
    where = store_address(settings.database_url)
    if settings.database_url.startswith("sqlite:///"):
        return (
            f"the folder of {where} must exist (or be possible to create) and be writable by this user, "
            "with free disk space; or set CHATTRACK_DATABASE_URL=sqlite:///a/writable/path/chattrack.db"
        )
    return f"is MongoDB running, and does {where} reach it? check CHATTRACK_DATABASE_URL (host, port, user, password)"


async def open_checked(settings: Settings) -> tuple[Check, Store | None]:
    """The store opened, answering and taking writes (what GET /healthz checks), or why not."""
    where = store_address(settings.database_url)
    try:
        store = open_store(settings.database_url, settings.visit_retention_days)
    except ValueError as exc:
        return failed(f"store: {where}: {exc}", store_fix(settings)), None
    try:
        await store.open()
    except (StoreUnavailable, ValueError, OSError) as exc:
        await store.close()
        return failed(f"store: {where} does not open: {exc}", store_fix(settings)), None
    if not await store.ping():
        await store.close()
        return failed(f"store: {where} opened but does not answer", store_fix(settings)), None
    failing = await store.check_writes(utc_now())
    if failing is not None:
        await store.close()
        return failed(f"store: {where} answers, but {failing}", store_fix(settings)), None
    return passed(f"store: {where} opens, answers and takes writes"), store


# the bot -----------------------------------------------------------------------------------------------------


async def bot_checks(settings: Settings) -> list[Check]:
    """getMe with the token, then the webhook registration (getWebhookInfo); nothing without a token (the
    "not configured" list says so)."""
    from aiogram.exceptions import TelegramAPIError, TelegramNetworkError, TelegramUnauthorizedError

    from bot.runtime import create_bot

    try:
        bot = create_bot(settings)
    except SettingsError as exc:
        return [failed(str(exc), f"set CHATTRACK_TELEGRAM_BOT_TOKEN to the token @BotFather gave, {AGAIN}")]
    if bot is None:
        return []
    telegram = settings.telegram_api_url or "api.telegram.org"
    try:
        try:
            me = await bot.get_me(request_timeout=TIMEOUT)
        except TelegramUnauthorizedError:
            return [
                failed(
                    "bot token: Telegram does not know it (401 Unauthorized)",
                    "the token is wrong: copy it from @BotFather (/mybots → your bot → API Token) into "
                    "CHATTRACK_TELEGRAM_BOT_TOKEN",
                )
            ]
        except TelegramNetworkError as exc:
            return [
                failed(
                    f"bot token: Telegram ({telegram}) cannot be reached: {exc}",
                    "check this machine's internet access (and CHATTRACK_TELEGRAM_API_URL, when set)",
                )
            ]
        except TelegramAPIError as exc:
            return [failed(f"bot token: Telegram refused getMe: {exc}", f"check the token with @BotFather, {AGAIN}")]
        checks = [passed(f"bot token: the bot @{me.username}")]
        try:
            info = await bot.get_webhook_info(request_timeout=TIMEOUT)
        except (TelegramAPIError, TelegramNetworkError) as exc:
            checks.append(failed(f"webhook: Telegram did not answer getWebhookInfo: {exc}", AGAIN))
            return checks
        return checks + webhook_checks(settings, info.url, info.last_error_message, info.last_error_date)
    finally:
        await bot.session.close()


def webhook_checks(
    settings: Settings, url: str, last_error: str | None, last_error_at: datetime | None, now: datetime | None = None
) -> list[Check]:
    from bot.runtime import WEBHOOK_PATH

    if settings.public_url is None:
        if url:
            return [
                failed(
                    f"webhook: the bot's webhook is set to {url}: it blocks long polling (getUpdates answers 409)",
                    "chattrack removes it at start-up, so another server set it again: stop that one or give it "
                    "its own bot, or set CHATTRACK_PUBLIC_URL to this server's address",
                )
            ]
        return [passed("webhook: none, so the bot takes its updates by long polling (no CHATTRACK_PUBLIC_URL)")]
    expected = settings.public_url + WEBHOOK_PATH
    if not url:
        return [
            failed(
                f"webhook: not registered (expected {expected})", "the server has not registered it yet: is it running?"
            )
        ]
    if url != expected:
        return [
            failed(
                f"webhook: another server took the bot's webhook: {url} (expected {expected})",
                "two servers share this bot token: stop the other one or give it its own bot, then restart chattrack",
            )
        ]
    checks = [passed(f"webhook: registered at {url}")]
    if last_error and last_error_at is not None:
        when = last_error_at.strftime("%Y-%m-%d %H:%M UTC")
        if (now or utc_now()) - last_error_at < RECENT_ERROR:
            checks.append(
                failed(
                    f"webhook: Telegram's last delivery failed at {when}: {last_error}",
                    f"Telegram must reach {url} from the internet with a valid certificate: "
                    "see the public address check below",
                )
            )
        else:
            checks.append(passed(f"webhook: no recent error (the last one, at {when}: {last_error})"))
    return checks


# the public address ------------------------------------------------------------------------------------------


def fresh(mark: dict[str, Any], now: datetime) -> bool:
    try:
        at = datetime.fromisoformat(str(mark["at"]))
        return -PROBE_SKEW < now - at < PROBE_TTL
    except (KeyError, ValueError, TypeError):
        return False


async def sweep_probes(store: Store, now: datetime) -> None:
    """Tokens of earlier runs left behind (a run cut short): deleted once expired."""
    for key, mark in (await store.marks(PROBE_PREFIX)).items():
        if not fresh(mark, now):
            await store.take_mark(key)


OTHER_SERVER = "the address leads to another server or another chattrack with a different database"
OTHER_FIX = (
    "point the address (DNS, the proxy) at this server, and run chattrack doctor with the server's own "
    "CHATTRACK_DATABASE_URL, on its machine"
)
NOT_RUNNING = "is chattrack running? does the proxy forward to it?"


async def reachability_check(settings: Settings, store: Store) -> Check:
    assert settings.public_url is not None
    now = utc_now()
    token = secrets.token_urlsafe(32)
    key = PROBE_PREFIX + secret_digest(token)
    try:
        await sweep_probes(store, now)
        await store.put_mark(key, {"at": now.isoformat()})
    except StoreUnavailable as exc:
        return failed(f"CHATTRACK_PUBLIC_URL ({settings.public_url}): not checked: {exc}", store_fix(settings))
    try:
        return await probe(settings.public_url, token)
    finally:
        with contextlib.suppress(StoreUnavailable):
            await store.take_mark(key)  # already gone when the server took it


async def probe(public_url: str, token: str) -> Check:
    url = public_url + PROBE_PATH + token
    host = urlsplit(public_url).netloc
    what = f"CHATTRACK_PUBLIC_URL ({public_url})"
    timeout = aiohttp.ClientTimeout(total=TIMEOUT)
    try:
        async with (
            aiohttp.ClientSession(timeout=timeout) as session,
            session.get(url, max_redirects=MAX_REDIRECTS) as response,
        ):
            body: Any = None
            if response.status == 200 and response.content_type == "application/json":
                try:
                    body = await response.json()
                except (ValueError, aiohttp.ClientError):
                    body = None
            status, final, redirected = response.status, str(response.url), bool(response.history)
    except aiohttp.ClientConnectorCertificateError as exc:
        return failed(
            f"{what}: the TLS certificate of {host} is not accepted: {exc.certificate_error}",
            f"give {host} a valid certificate (the proxy's Let's Encrypt setup), not a self-signed or expired one",
        )
    except aiohttp.ClientSSLError as exc:
        return failed(f"{what}: TLS with {host} fails: {exc}", f"check the proxy's https setup for {host}")
    except aiohttp.ClientConnectorDNSError:
        return failed(
            f"{what}: the name {urlsplit(public_url).hostname} does not resolve",
            "point the domain's DNS at this server, or correct CHATTRACK_PUBLIC_URL",
        )
    except aiohttp.ClientConnectorError as exc:
        why = "connection refused" if isinstance(exc.os_error, ConnectionRefusedError) else str(exc.os_error)
        return failed(f"{what}: nothing answers at {host} ({why})", NOT_RUNNING)
    except aiohttp.TooManyRedirects:
        return failed(
            f"{what}: redirects more than {MAX_REDIRECTS} times",
            "set CHATTRACK_PUBLIC_URL to the final address: Telegram and providers follow no redirects",
        )
    except TimeoutError:
        return failed(f"{what}: no answer from {host} within {TIMEOUT} s", f"{NOT_RUNNING} is a firewall in the way?")
    except aiohttp.ClientError as exc:
        return failed(f"{what}: the request failed: {type(exc).__name__}: {exc}", NOT_RUNNING)
    ours = isinstance(body, dict) and body.get("chattrack") == "doctor" and body.get("probe") == secret_digest(token)
    if ours and redirected:
        return failed(
            f"{what} reaches this server, but through a redirect to {final.removesuffix(PROBE_PATH + token)}",
            "set CHATTRACK_PUBLIC_URL to the address it redirects to: Telegram and providers follow no redirects",
        )
    if ours:
        return passed(f"{what} reaches this very server (a one-time token went out and came back)")
    if status in (502, 503, 504):
        return failed(f"{what}: answered {status}", NOT_RUNNING)
    return failed(f"{what}: {OTHER_SERVER} (it answered HTTP {status})", OTHER_FIX)


async def owner_claim(store: Store) -> dict[str, Any] | None:
    from bot.owners import OWNER_MARK

    try:
        return await store.get_mark(OWNER_MARK)
    except StoreUnavailable:
        return None


# the command -----------------------------------------------------------------------------------------------------


async def diagnose(load: Callable[[], Settings] = load_settings) -> list[Check]:
    try:
        settings = load()
    except SettingsError as exc:
        return [failed(f"settings: {exc}", f"correct it in the environment or .env (docs/configuration.md), {AGAIN}")]
    opened, store = await open_checked(settings)
    try:
        owner = await owner_claim(store) if store is not None else None
        checks = [*settings_checks(settings, owner), opened]
        checks += await bot_checks(settings)
        if settings.public_url is not None:
            if store is None:
                checks.append(
                    failed(f"CHATTRACK_PUBLIC_URL ({settings.public_url}): not checked", "the store must open first")
                )
            else:
                checks.append(await reachability_check(settings, store))
    finally:
        if store is not None:
            await store.close()
    return checks


def report(checks: list[Check]) -> str:
    failing = sum(not check.ok for check in checks)
    summary = "everything checked is fine" if not failing else f"{failing} of {len(checks)} checks failed"
    return "\n".join(["chattrack doctor", *(check.line for check in checks), summary])


def run(load: Callable[[], Settings] = load_settings) -> int:
    """The command: 0 when every check passes, 1 when any fails."""
    checks = asyncio.run(diagnose(load))
    print(report(checks), flush=True)
    return 0 if all(check.ok for check in checks) else 1


# the server's side: the one-time probe -------------------------------------------------------------------------


def not_found() -> web.Response:
    return web.json_response({"error": "unknown, used or expired token"}, status=404)


async def take_probe(request: web.Request) -> web.Response:
    """200 only for a token the doctor stored in this server's store in the last 5 minutes, and only once.
    An outsider can at most delete such a mark (knowing its token); unknown tokens write nothing."""
    from webhooks.app import STORE

    token = request.match_info["token"]
    if TOKEN.fullmatch(token) is None:
        return not_found()
    store = request.app[STORE]
    digest = secret_digest(token)
    if await store.get_mark(PROBE_PREFIX + digest) is None:  # a read: guesses cost no write
        return not_found()
    mark = await store.take_mark(PROBE_PREFIX + digest)
    if mark is None or not fresh(mark, utc_now()):
        return not_found()
    return web.json_response({"chattrack": "doctor", "probe": digest})


def setup(app: web.Application) -> None:
    app.router.add_get(PROBE_PATH + "{token}", take_probe)
