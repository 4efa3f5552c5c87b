"""The lead alert: what the owner sees in Telegram when a customer opens a dialog, and its buttons.

Everything that came from outside (names, messages, URLs, UTM values) is HTML-escaped, and the long parts
are shortened so the alert stays readable on a phone and under Telegram's 4096 characters.
"""

from __future__ import annotations

import html
from datetime import UTC
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from aiogram import F, Router
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message

from bot.texts import channel_name, text
from tracking.models import AttributionStatus, Dialog, Messenger
from tracking.store.base import Store

TAGS = ("qualified", "sale", "spam")
MAX_MESSAGE = 600  # characters of the customer's first message shown in the alert
MAX_URL = 80


class TagCallback(CallbackData, prefix="tag"):
    """`tag:<dialog_id>:<tag>` — toggles a tag on the dialog."""

    dialog_id: str
    tag: str


class CardCallback(CallbackData, prefix="card"):
    """`card:<dialog_id>` — shows the dialog's card."""

    dialog_id: str


def shorten(value: str, limit: int) -> str:
    return value if len(value) <= limit else value[: limit - 1] + "…"


def short_url(url: str) -> str:
    """host/path: the query (UTM tags, click ids) is shown on its own lines, the scheme is noise on a phone."""
    parts = urlsplit(url)
    if not parts.netloc:
        return shorten(url, MAX_URL)
    return shorten(parts.netloc + (parts.path if parts.path != "/" else ""), MAX_URL)


def contact_phone(dialog: Dialog) -> str | None:
    """The customer's phone as +E.164, when known."""
    phone = dialog.contact_phone or (dialog.contact_id if dialog.contact_id.startswith("+") else None)
    if phone is None:
        return None
    return phone if phone.startswith("+") else "+" + phone


def _who(dialog: Dialog, lang: str) -> str:
    name = html.escape(dialog.contact_name or text(lang, "no_name"))
    phone = contact_phone(dialog)
    if phone is None:
        return f"👤 <b>{name}</b>"
    if dialog.messenger is Messenger.WHATSAPP:
        # One tap on the phone opens the chat with the customer.
        link = html.escape(f"https://wa.me/{phone.lstrip('+')}", quote=True)
        return f'👤 <b>{name}</b> · <a href="{link}">{html.escape(phone)}</a>'
    return f"👤 <b>{name}</b> · {html.escape(phone)}"


def _status(dialog: Dialog, lang: str) -> str:
    code = dialog.code or "—"
    key = {
        AttributionStatus.EXACT: "status_exact",
        AttributionStatus.UNKNOWN_CODE: "status_unknown_code",
        AttributionStatus.AD_REFERRAL: "status_ad_referral",
        AttributionStatus.PROBABLE: "status_probable",
        AttributionStatus.NONE: "status_none",
    }[dialog.status]
    return text(lang, key, code=code)


def render_alert(dialog: Dialog, lang: str = "ru", zone: ZoneInfo | None = None) -> str:
    """The lead alert as Telegram HTML."""
    a = dialog.attribution
    messenger = "WhatsApp" if dialog.messenger is Messenger.WHATSAPP else "Telegram"
    first = shorten(dialog.first_message.strip(), MAX_MESSAGE) or text(lang, "no_text")
    lines = [
        text(lang, "lead_repeat" if dialog.is_repeat else "lead_new", messenger=messenger),
        _who(dialog, lang),
        text(lang, "to_number", number=dialog.business_number),
        f"💬 <i>{html.escape(first)}</i>",
        "",
        text(lang, "channel", channel=channel_name(lang, a.channel.value)),
    ]
    source = " / ".join(v for v in (a.source, a.medium) if v)
    if source:
        lines.append(text(lang, "source", source=shorten(source, MAX_URL)))
    for key, value in (("campaign", a.campaign), ("content", a.content), ("term", a.term)):
        if value:
            lines.append(text(lang, key, value=shorten(value, MAX_URL)))
    if a.contact_page:
        lines.append(text(lang, "contact_page", value=short_url(a.contact_page)))
    if a.landing_page and a.landing_page != a.contact_page:
        lines.append(text(lang, "landing_page", value=short_url(a.landing_page)))
    if a.region:
        lines.append(text(lang, "region", value=a.region))
    device = " · ".join(v for v in (a.os, a.screen) if v)
    if device:
        lines.append(text(lang, "device", value=device))
    lines.append(_status(dialog, lang))
    started = dialog.started_at.astimezone(zone or UTC).strftime("%d.%m.%Y %H:%M")
    lines.append(text(lang, "started", value=started))
    return "\n".join(lines)


def alert_keyboard(dialog: Dialog, lang: str = "ru") -> InlineKeyboardMarkup:
    """Tag buttons (a ✅ marks the dialog's tags) and the card button."""
    tags = [
        InlineKeyboardButton(
            text=("✅ " if tag in dialog.tags else "") + text(lang, f"tag_{tag}"),
            callback_data=TagCallback(dialog_id=dialog.id, tag=tag).pack(),
        )
        for tag in TAGS
    ]
    card = InlineKeyboardButton(text=text(lang, "card"), callback_data=CardCallback(dialog_id=dialog.id).pack())
    return InlineKeyboardMarkup(inline_keyboard=[tags, [card]])


def alerts_router(store: Store, owner_ids: list[int], lang: str = "ru", zone: ZoneInfo | None = None) -> Router:
    """Buttons of the alert. Only owners may press them; others get a short refusal."""
    router = Router(name="alerts")
    owners = set(owner_ids)

    @router.callback_query(~F.from_user.id.in_(owners))
    async def not_owner(query: CallbackQuery) -> None:
        await query.answer(text(lang, "not_allowed"), show_alert=True)

    @router.callback_query(TagCallback.filter(F.tag.in_(TAGS)))
    async def toggle_tag(query: CallbackQuery, callback_data: TagCallback) -> None:
        dialog = await store.get_dialog(callback_data.dialog_id)
        if dialog is None:
            await query.answer(text(lang, "dialog_missing"))
            return
        tag = callback_data.tag
        removing = tag in dialog.tags
        tags = [t for t in dialog.tags if t != tag] if removing else [*dialog.tags, tag]
        dialog = await store.set_tags(dialog.id, tags) or dialog
        label = text(lang, f"tag_{tag}")
        await query.answer(text(lang, "tag_removed" if removing else "tag_set", tag=label))
        if isinstance(query.message, Message):  # older than 48 h: Telegram no longer lets us edit it
            await query.message.edit_reply_markup(reply_markup=alert_keyboard(dialog, lang))

    @router.callback_query(CardCallback.filter())
    async def card(query: CallbackQuery, callback_data: CardCallback) -> None:
        # The full card lands in a later step; until then it repeats the alert with the current tags.
        dialog = await store.get_dialog(callback_data.dialog_id)
        if dialog is None:
            await query.answer(text(lang, "dialog_missing"))
            return
        await query.answer()
        if isinstance(query.message, Message):
            await query.message.answer(render_alert(dialog, lang, zone), reply_markup=alert_keyboard(dialog, lang))

    return router
