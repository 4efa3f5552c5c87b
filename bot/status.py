"""/status for owners: each part of the installation on its own line, ✅ or ⚠️ (the snippet per site, each
provider, Telegram, the store, the outbox), from tracking/install.py's `gather`, which GET /healthz shows in
JSON too. Also the notices' sender: the installation's tell-once notices go to the owners through the bot.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Literal
from zoneinfo import ZoneInfo

from aiogram import Bot, F, Router
from aiogram.filters import Command
from aiogram.types import Message

from bot.access import HasRole, Role
from bot.texts import language, text
from reports.i18n import Lang, moment_label
from tracking.install import GENERIC_LABEL, ProviderState, Status, TelegramState, gather
from tracking.settings import Settings
from tracking.store.base import Store
from tracking.strings import one_line

if TYPE_CHECKING:
    from bot.runtime import BotRuntime

log = logging.getLogger("chattrack.bot.status")

TELEGRAM_TIMEOUT = 5  # seconds getWebhookInfo may take: /status and /healthz wait for it


# the notices ----------------------------------------------------------------------------------------


class OwnerNotices:
    """tracking.install.Notifier: sends a notice to every owner, through the bot of `runtime()` (looked up at
    each notice: the bot is wired after the installation)."""

    def __init__(self, runtime: Callable[[], BotRuntime | None], lang: Lang, zone: ZoneInfo) -> None:
        self.runtime = runtime
        self.lang = lang
        self.zone = zone

    async def reach(self) -> bool | None:
        runtime = self.runtime()
        if runtime is None or runtime.bot is None:
            return None
        await runtime.owners.refresh()
        return bool(runtime.owners)

    async def send(self, key: str, values: dict[str, str | datetime]) -> bool:
        runtime = self.runtime()
        if runtime is None or runtime.bot is None:
            return False
        words = {
            name: moment_label(self.lang, value, self.zone) if isinstance(value, datetime) else value
            for name, value in values.items()
        }
        if "provider" in words:
            words["provider"] = provider_words(self.lang, words["provider"])
        sent = False
        for owner in list(runtime.owners):
            try:
                await runtime.bot.send_message(owner, text(self.lang, key, **words))
                sent = True
            except Exception as exc:  # blocked, Telegram away: another owner may still get it
                log.warning("notice %s not sent to owner %s: %s", key, owner, exc)
        return sent


def provider_words(lang: Lang, label: str) -> str:
    """A provider as the owner names it: the generic webhook is «другая платформа»."""
    return text(lang, "provider_generic") if label == GENERIC_LABEL else label


# Telegram's side ------------------------------------------------------------------------------------


async def telegram_state(bot: Bot | None, settings: Settings) -> TelegramState:
    """Where Telegram sends updates and its last error (getWebhookInfo), or long polling said plainly."""
    from bot.runtime import WEBHOOK_PATH  # bot.runtime includes this module's router

    if bot is None:
        return TelegramState(mode="off")
    expected = settings.public_url + WEBHOOK_PATH if settings.public_url else None
    mode: Literal["polling", "webhook"] = "webhook" if expected else "polling"
    try:
        info = await bot.get_webhook_info(request_timeout=TELEGRAM_TIMEOUT)
    except Exception as exc:  # Telegram away, a refused token
        return TelegramState(mode=mode, expected_url=expected, unreachable=one_line(str(exc), 200))
    return TelegramState(
        mode=mode,
        url=info.url or None,
        expected_url=expected,
        pending=info.pending_update_count,
        last_error=one_line(info.last_error_message, 300) if info.last_error_message else None,
        last_error_at=info.last_error_date,
    )


# the text -------------------------------------------------------------------------------------------


def _mark(ok: bool) -> str:
    return "✅" if ok else "⚠️"


def refusal_words(lang: Lang, provider: ProviderState) -> str:
    """Why the provider's request was refused, and the fix, in the owner's words."""
    reason = provider.last_refusal
    setting = provider.setting or ""
    if reason == "signature" and provider.name == "twilio":  # Twilio signs the URL it posts to
        return text(lang, "refusal_signature_url")
    if reason in ("unset", "signature", "key") and setting:
        return text(lang, f"refusal_{reason}", setting=setting)
    if reason in ("stale", "verify"):
        return text(lang, f"refusal_{reason}")
    return text(lang, "refusal_other")


def render_status(lang: Lang, status: Status, zone: ZoneInfo) -> str:
    def at(moment: datetime) -> str:
        return moment_label(lang, moment, zone)

    lines = [text(lang, "status_title")]
    for site in status.sites:
        if site.last_view_at is not None:
            lines.append(text(lang, "status_site", mark="✅", host=site.host, at=at(site.last_view_at)))
    if not any(site.last_view_at for site in status.sites):
        lines.append(text(lang, "status_no_site"))
    if status.more_sites:
        lines.append(text(lang, "status_more_sites", n=status.more_sites))
    for provider in status.providers:
        last, name = provider.last_message_at, provider_words(lang, provider.label)
        if last is None:
            lines.append(text(lang, "status_provider_none", provider=name))
        elif provider.silent:
            lines.append(text(lang, "status_provider_silent", provider=name, at=at(last)))
        else:
            mark = _mark(provider.ok)
            lines.append(text(lang, "status_provider", mark=mark, provider=name, at=at(last)))
        if provider.last_refusal_at is not None:
            mark = _mark(not provider.refused_since_message)
            why = refusal_words(lang, provider)
            # `why` is a catalogue text (markup of our own): filled in after the escaping of the rest
            line = text(lang, "status_refusal", mark=mark, at=at(provider.last_refusal_at), why="\0")
            lines.append(line.replace("\0", why))
    telegram = status.telegram
    if telegram is not None and telegram.mode != "off":
        lines.append(_telegram_line(lang, telegram, at))
    store = status.store
    key = "status_store_ok" if store.ok else "status_store_writes" if store.reachable else "status_store_down"
    lines.append(text(lang, key))
    if status.pending_alerts is not None:
        if status.pending_alerts:
            lines.append(text(lang, "status_outbox_pending", n=status.pending_alerts))
        else:
            lines.append(text(lang, "status_outbox_empty"))
    return "\n".join(lines)


def _telegram_line(lang: Lang, telegram: TelegramState, at: Callable[[datetime], str]) -> str:
    if telegram.unreachable is not None:
        return text(lang, "status_telegram_unreachable", error=telegram.unreachable)
    if telegram.mode == "polling":
        return text(lang, "status_telegram_polling")
    if telegram.url != telegram.expected_url:
        return text(lang, "status_telegram_elsewhere", url=telegram.url or "—", expected=telegram.expected_url)
    pending = telegram.pending or 0
    if telegram.last_error is not None:
        when = at(telegram.last_error_at) if telegram.last_error_at is not None else "—"
        return text(
            lang, "status_telegram_error", url=telegram.url, pending=pending, at=when, error=telegram.last_error
        )
    return text(lang, "status_telegram_webhook", url=telegram.url, pending=pending)


# the command ----------------------------------------------------------------------------------------


def status_router(store: Store, settings: Settings, *, clock: Callable[[], datetime]) -> Router:
    """/status (owners, private chat: it names the server's addresses)."""
    router = Router(name="status")

    @router.message(Command("status"), HasRole({Role.OWNER}), F.chat.type == "private")
    async def status(message: Message, bot: Bot) -> None:
        lang = language(message.from_user.language_code if message.from_user else None)
        found = await gather(store, settings, clock(), lambda: telegram_state(bot, settings))
        await message.answer(render_status(lang, found, settings.zone))

    return router
