"""Installation checks the owner can see: signs that each part works, kept in the store's marks, and what
the owner is told once (the first page view of a site, the first marked click, each provider's first
message, a provider gone silent). `/status` in the bot and `GET /healthz` with the API token read the same
signs (`gather`).

Signs come from hot paths (/collect, webhooks, the Tracker's observers): they cost a dictionary look-up.
Each key is written to the store at most once a minute by this process, in the background; a tell-once
decision is made by `Store.add_mark` (one copy of the server wins) and remembered in memory after. A told
mark is added before the notice is sent and taken back when nobody got it (no owner yet, Telegram away),
so the next sign tries again, at most once a minute.

Outsiders can post any page URL to /collect: each process records at most NEW_HOSTS_PER_HOUR new sites
an hour, so nobody can flood the owner with «new site» notices. The demo (provider "demo") is no sign.

Marks (the contract with the other parts): `site:<host>` {first_view_at, last_view_at},
`provider:<name>` {last_message_at, last_refusal_at, last_refusal}, `first_message` {provider, at},
`told:<what>` (tell-once claims).
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal, Protocol
from urllib.parse import urlsplit

from tracking.demo import DEMO, FIRST_MESSAGE, is_demo_message
from tracking.models import InboundMessage, IngestResult
from tracking.periods import utc_now
from tracking.settings import ENV_PREFIX, Settings
from tracking.store.base import Store, StoreUnavailable

log = logging.getLogger("chattrack.install")

WRITE_EVERY = timedelta(minutes=1)  # a sign's key is written at most this often by one process
RETRY_EVERY = timedelta(minutes=1)  # a notice nobody got is tried again at the next sign after this
NEW_HOSTS_PER_HOUR = 5  # new sites one process records (and tells) an hour: outsiders can post any URL
MAX_HOSTS = 1000  # sites one process remembers
SILENCE_CHECK_SECONDS = 600.0  # the primary process looks for silent providers this often
# Customers writing to the bot itself: quiet days say nothing of the installation (Telegram's side is checked
# with getWebhookInfo), so no silence is told of them.
NEVER_SILENT = frozenset({DEMO, "telegram"})
SITE_PREFIX = "site:"
PROVIDER_PREFIX = "provider:"
SITES_SHOWN = 10  # /status lists the sites seen last; the rest are counted

# Why a provider's webhook refused a request, as stored; the owner reads it in words (bot/texts.py
# `refusal_<reason>`, with the provider's setting).
Refusal = Literal["unset", "signature", "key", "stale", "verify"]


GENERIC_LABEL = "generic webhook"  # the bot says it in the owner's words (bot/status.py provider_words)


@dataclass(frozen=True)
class Provider:
    label: str  # as people name it
    setting: str | None  # the secret that checks its requests


PROVIDERS: dict[str, Provider] = {
    "twilio": Provider("Twilio", "CHATTRACK_TWILIO_AUTH_TOKEN"),
    "meta": Provider("WhatsApp Cloud API", "CHATTRACK_META_APP_SECRET"),
    "greenapi": Provider("Green-API", "CHATTRACK_GREENAPI_WEBHOOK_TOKEN"),
    "wazzup": Provider("Wazzup", "CHATTRACK_WAZZUP_CRM_KEY"),
    "generic": Provider(GENERIC_LABEL, "CHATTRACK_GENERIC_WEBHOOK_SECRET"),
    "telegram": Provider("Telegram", None),
    "telegram_business": Provider("Telegram Business", None),
}


def provider_label(name: str) -> str:
    known = PROVIDERS.get(name)
    if known is not None:
        return known.label
    if name.startswith("generic:"):  # a platform posting to /webhooks/generic names itself
        return name.removeprefix("generic:")
    return name


def provider_setting(name: str) -> str | None:
    known = PROVIDERS.get(name.partition(":")[0])
    return known.setting if known is not None else None


def configured_providers(settings: Settings) -> list[str]:
    """The providers whose secret is set: their webhooks take messages."""
    fields = {name: p.setting.removeprefix(ENV_PREFIX).lower() for name, p in PROVIDERS.items() if p.setting}
    return [name for name, field in fields.items() if getattr(settings, field) is not None]


# A URL's host and port, read without urlsplit (the page URL was validated by /collect already).
_NETLOC = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://(?:[^@/?#]*@)?(\[[^\]/?#]*\]|[^:/?#]*)(:[0-9]*)?")
_HOST = re.compile(r"[\w.\-\[\]:]{1,253}")


def site_host(url: str) -> tuple[str, str] | None:
    """(the site's host as the owner names it: lower case, no `www.`, no port; the URL's host:port), or None."""
    found = _NETLOC.match(url)
    if found is None:
        return None
    host = found.group(1).lower().rstrip(".")
    netloc = host + (found.group(2) or "")
    host = host.removeprefix("www.")
    if not host or not _HOST.fullmatch(host):
        return None
    return host, netloc


def _netloc(url: str | None) -> str | None:
    if not url:
        return None
    try:
        return urlsplit(url).netloc.lower() or None
    except ValueError:
        return None


class Notifier(Protocol):
    """Sends notices to the owners (bot/status.py's OwnerNotices)."""

    async def reach(self) -> bool | None:
        """None: no bot (notices are only logged); False: nobody to tell yet; True: someone."""

    async def send(self, key: str, values: dict[str, str | datetime]) -> bool:
        """True when at least one owner got the notice `key` (bot/texts.py) filled with `values` (moments are
        written in the business's zone)."""


Clock = Callable[[], datetime]


class Installation:
    """One per process: the signs this process saw, and what it knows was told."""

    def __init__(self, store: Store, settings: Settings, *, clock: Clock = utc_now) -> None:
        self.store = store
        self.settings = settings
        self.clock = clock
        self.notifier: Notifier | None = None  # set once the bot is wired (webhooks/health.py)
        self._written: dict[str, datetime] = {}  # sign key → when this process last wrote it
        self._hosts: set[str] = set()  # sites whose mark exists (read at start or written here)
        self._hour = -1
        self._new_hosts = 0  # new sites recorded this hour
        self._told: set[str] = set()  # tell-once keys decided (told here, elsewhere, or only logged)
        self._retry: dict[str, datetime] = {}  # tell-once keys whose notice nobody got: not before then
        self._pending: set[str] = set()  # tell-once keys being decided now
        self._first_message = False  # the mark is known to exist
        self._tasks: set[asyncio.Task[None]] = set()
        origins = {site_host(origin) for origin in settings.site_origins}
        self._allowed = {found[0] for found in origins if found is not None}  # CHATTRACK_SITE_ORIGINS' hosts
        own = {_netloc(settings.public_url)}
        self._own = {netloc for netloc in own if netloc}

    # start and stop --------------------------------------------------------------------------------

    async def load(self) -> None:
        """The sites already known, so that they spend no new-site budget after a restart."""
        try:
            known = await self.store.marks(SITE_PREFIX)
        except StoreUnavailable as exc:
            log.warning("install: known sites not read: %s", exc)
            return
        self._hosts.update(key.removeprefix(SITE_PREFIX) for key in list(known)[:MAX_HOSTS])

    async def settled(self) -> None:
        """Every sign and notice under way has finished (tests; shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def close(self) -> None:
        await self.settled()

    # signs (synchronous: called from hot paths; the work goes to the background) -------------------

    def page_view(self, url: str, own_netloc: str | None = None, now: datetime | None = None) -> None:
        """A page view was recorded from this page URL; `own_netloc`: this server's host:port (its own
        pages, the demo's, are no site)."""
        found = site_host(url)
        if found is None:
            return
        host, netloc = found
        if netloc == own_netloc or netloc in self._own:
            return
        if self._allowed and host not in self._allowed:
            return
        now = now or self.clock()
        key = SITE_PREFIX + host
        if host not in self._hosts:
            if not self._new_host_allowed(now):
                return
            self._hosts.add(host)
            self._written[key] = now
            self._spawn(self._new_site(host, now))
            return
        if self._due(key, now):
            self._spawn(self._merge(key, {"last_view_at": now.isoformat()}))
        told = "told:site:" + host
        if self._should_tell(told, now):
            self._spawn(self._tell(told, "notice_site", {"host": host}))

    def click(self, now: datetime | None = None) -> None:
        """A marked click was recorded (its code is a visit's)."""
        if "told:click" in self._told:
            return
        now = now or self.clock()
        if self._should_tell("told:click", now):
            self._spawn(self._tell("told:click", "notice_click", {}))

    def message(self, message: InboundMessage, result: IngestResult) -> None:
        """The Tracker's observer: a provider's message was taken (whatever became of it: the provider works)."""
        provider = message.provider
        if is_demo_message(message):  # the demo page's leads: never a sign of anything
            return
        now = self.clock()
        key = PROVIDER_PREFIX + provider
        if self._due(key, now):
            self._spawn(self._merge(key, {"last_message_at": now.isoformat()}))
        if not self._first_message and self._due(FIRST_MESSAGE, now):
            self._spawn(self._first(provider, now))
        told = "told:provider:" + provider
        if self._should_tell(told, now):
            self._spawn(self._tell(told, "notice_provider", {"provider": provider_label(provider)}))

    def refused(self, provider: str, reason: Refusal) -> None:
        """A provider's webhook refused a request (a wrong signature or key, its secret unset)."""
        now = self.clock()
        if self._due("refusal:" + provider, now):
            fields = {"last_refusal_at": now.isoformat(), "last_refusal": reason}
            self._spawn(self._merge(PROVIDER_PREFIX + provider, fields))

    # the silence check (the primary process, every SILENCE_CHECK_SECONDS) --------------------------

    async def check_silence(self) -> None:
        """A provider that sent messages and then none for CHATTRACK_PROVIDER_SILENCE_HOURS: told once per
        silence (the claim names its last message)."""
        hours = self.settings.provider_silence_hours
        if not hours:
            return
        now = self.clock()
        for key, mark in (await self.store.marks(PROVIDER_PREFIX)).items():
            provider = key.removeprefix(PROVIDER_PREFIX)
            last = _moment(mark.get("last_message_at"))
            if provider in NEVER_SILENT or last is None or now - last < timedelta(hours=hours):
                continue
            told = f"told:silent:{provider}:{mark['last_message_at']}"
            if self._should_tell(told, now):
                values: dict[str, str | datetime] = {"provider": provider_label(provider), "since": last}
                await self._tell(told, "notice_silent", values)

    async def watch_silence(self, every: float = SILENCE_CHECK_SECONDS) -> None:
        while True:
            try:
                await self.check_silence()
            except Exception as exc:  # the store away: the next round tries again
                log.warning("install: silence check failed: %s", exc)
            await asyncio.sleep(every)

    # the work ----------------------------------------------------------------------------------------

    def _due(self, key: str, now: datetime) -> bool:
        last = self._written.get(key)
        if last is not None and now - last < WRITE_EVERY:
            return False
        self._written[key] = now
        return True

    def _new_host_allowed(self, now: datetime) -> bool:
        hour = int(now.timestamp() // 3600)
        if hour != self._hour:
            self._hour, self._new_hosts = hour, 0
        if self._new_hosts >= NEW_HOSTS_PER_HOUR or len(self._hosts) >= MAX_HOSTS:
            return False
        self._new_hosts += 1
        return True

    def _should_tell(self, key: str, now: datetime) -> bool:
        if key in self._told or key in self._pending:
            return False
        retry = self._retry.get(key)
        if retry is not None and now < retry:
            return False
        self._pending.add(key)
        return True

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _merge(self, key: str, fields: dict[str, Any]) -> None:
        try:
            await self.store.merge_mark(key, fields)
        except Exception as exc:  # a sign is a hint: the next one (a minute later) writes it
            log.warning("install: %s not written: %s", key, exc)

    async def _new_site(self, host: str, now: datetime) -> None:
        key = SITE_PREFIX + host
        at = now.isoformat()
        try:
            if not await self.store.add_mark(key, {"first_view_at": at, "last_view_at": at}):
                await self.store.merge_mark(key, {"last_view_at": at})
        except Exception as exc:
            log.warning("install: %s not written: %s", key, exc)
            self._hosts.discard(host)  # the next view tries again
            return
        told = "told:site:" + host
        if self._should_tell(told, now):
            await self._tell(told, "notice_site", {"host": host})

    async def _first(self, provider: str, now: datetime) -> None:
        try:
            await self.store.add_mark(FIRST_MESSAGE, {"provider": provider, "at": now.isoformat()})
            self._first_message = True  # added now or before: either way it exists
        except Exception as exc:
            log.warning("install: %s not written: %s", FIRST_MESSAGE, exc)

    async def _tell(self, key: str, text: str, values: dict[str, str | datetime]) -> None:
        """Tell the owners once (across copies); `key` is in _pending (see _should_tell)."""
        now = self.clock()
        try:
            notifier = self.notifier
            reach = None if notifier is None else await notifier.reach()
            if notifier is None or reach is None:  # no bot: said in the log, by each process once
                log.info("install: %s %s", text, values)
                self._told.add(key)
                return
            if not reach:  # nobody owns the bot yet: tell them once they do
                self._retry[key] = now + RETRY_EVERY
                return
            if not await self.store.add_mark(key, {"at": now.isoformat()}):
                self._told.add(key)  # another copy told them
                return
            if await notifier.send(text, values):
                self._told.add(key)
                return
            await self.store.take_mark(key)  # nobody got it: the next sign tries again
            self._retry[key] = now + RETRY_EVERY
        except Exception as exc:
            log.warning("install: notice %s not sent: %s", key, exc)
            self._retry[key] = now + RETRY_EVERY
        finally:
            self._pending.discard(key)


def _moment(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


# the status: what /status and /healthz show ---------------------------------------------------------


@dataclass(frozen=True)
class SiteState:
    host: str
    first_view_at: datetime | None
    last_view_at: datetime | None


@dataclass(frozen=True)
class ProviderState:
    name: str
    configured: bool
    last_message_at: datetime | None
    last_refusal_at: datetime | None
    last_refusal: str | None
    silent: bool  # messages came, then none for CHATTRACK_PROVIDER_SILENCE_HOURS

    @property
    def label(self) -> str:
        return provider_label(self.name)

    @property
    def setting(self) -> str | None:
        return provider_setting(self.name)

    @property
    def refused_since_message(self) -> bool:
        """The last thing it did was a refusal: whatever it sends now is refused."""
        if self.last_refusal_at is None:
            return False
        return self.last_message_at is None or self.last_refusal_at > self.last_message_at

    @property
    def ok(self) -> bool:
        return self.last_message_at is not None and not self.refused_since_message and not self.silent


@dataclass(frozen=True)
class TelegramState:
    mode: Literal["off", "polling", "webhook"]
    url: str | None = None  # where Telegram posts updates (getWebhookInfo)
    expected_url: str | None = None  # where it should
    pending: int | None = None
    last_error: str | None = None
    last_error_at: datetime | None = None
    unreachable: str | None = None  # getWebhookInfo failed: why

    @property
    def ok(self) -> bool:
        if self.mode == "off" or self.unreachable is not None:
            return False
        if self.mode == "polling":
            return True
        return self.url == self.expected_url and self.last_error is None


@dataclass(frozen=True)
class StoreState:
    reachable: bool
    writes_failing: str | None = None

    @property
    def ok(self) -> bool:
        return self.reachable and self.writes_failing is None


@dataclass
class Status:
    store: StoreState
    sites: list[SiteState] = field(default_factory=list)
    more_sites: int = 0
    providers: list[ProviderState] = field(default_factory=list)
    telegram: TelegramState | None = None
    pending_alerts: int | None = None

    def as_json(self) -> dict[str, Any]:
        def at(moment: datetime | None) -> str | None:
            return moment.isoformat() if moment is not None else None

        telegram = self.telegram
        return {
            "sites": [
                {"host": s.host, "first_view_at": at(s.first_view_at), "last_view_at": at(s.last_view_at)}
                for s in self.sites
            ],
            "more_sites": self.more_sites,
            "providers": [
                {
                    "name": p.name,
                    "configured": p.configured,
                    "ok": p.ok,
                    "last_message_at": at(p.last_message_at),
                    "silent": p.silent,
                    "last_refusal_at": at(p.last_refusal_at),
                    "last_refusal": p.last_refusal,
                }
                for p in self.providers
            ],
            "telegram": None
            if telegram is None
            else {
                "mode": telegram.mode,
                "ok": telegram.ok,
                "url": telegram.url,
                "expected_url": telegram.expected_url,
                "pending_updates": telegram.pending,
                "last_error": telegram.last_error,
                "last_error_at": at(telegram.last_error_at),
                "unreachable": telegram.unreachable,
            },
            "store": {
                "ok": self.store.ok,
                "reachable": self.store.reachable,
                "writes_failing": self.store.writes_failing,
            },
            "outbox": {"pending_alerts": self.pending_alerts},
        }


async def gather(
    store: Store,
    settings: Settings,
    now: datetime,
    telegram: Callable[[], Awaitable[TelegramState]] | None = None,
) -> Status:
    """Each part's state from the stored signs (one read per kind), the store's own checks and, when
    given, Telegram's (`telegram` asks it)."""
    reachable = await store.ping()
    status = Status(store=StoreState(reachable=reachable))
    if telegram is not None:
        status.telegram = await telegram()
    if not reachable:
        return status
    try:
        status.store = StoreState(reachable=True, writes_failing=await store.check_writes(now))
        sites = await store.marks(SITE_PREFIX)
        providers = await store.marks(PROVIDER_PREFIX)
        status.pending_alerts = await store.pending_alerts()
    except StoreUnavailable as exc:
        status.store = StoreState(reachable=False, writes_failing=str(exc))
        return status
    found = [
        SiteState(key.removeprefix(SITE_PREFIX), _moment(m.get("first_view_at")), _moment(m.get("last_view_at")))
        for key, m in sites.items()
    ]
    found.sort(key=lambda site: site.last_view_at or datetime.min.replace(tzinfo=now.tzinfo), reverse=True)
    status.sites, status.more_sites = found[:SITES_SHOWN], max(0, len(found) - SITES_SHOWN)
    names = dict.fromkeys(configured_providers(settings))
    names.update(dict.fromkeys(key.removeprefix(PROVIDER_PREFIX) for key in providers))
    names.pop(DEMO, None)
    silence = timedelta(hours=settings.provider_silence_hours) if settings.provider_silence_hours else None
    configured = set(configured_providers(settings))
    for name in names:
        mark = providers.get(PROVIDER_PREFIX + name, {})
        last = _moment(mark.get("last_message_at"))
        status.providers.append(
            ProviderState(
                name=name,
                configured=name.partition(":")[0] in configured or name.startswith("telegram"),
                last_message_at=last,
                last_refusal_at=_moment(mark.get("last_refusal_at")),
                last_refusal=mark.get("last_refusal") if isinstance(mark.get("last_refusal"), str) else None,
                silent=silence is not None and last is not None and now - last >= silence and name not in NEVER_SILENT,
            )
        )
    return status
