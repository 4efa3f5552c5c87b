"""The lead alert: what the owner sees in Telegram when a customer opens a dialog, and its buttons.

Everything that came from outside (names, messages, URLs, UTM values) is HTML-escaped, and the long parts
are shortened so the alert stays readable on a phone and under Telegram's 4096 characters.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import UTC
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from aiogram import F, Router
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message

from bot.access import MEMBERS, HasRole
from bot.texts import TEXTS, channel_name, language, text
from reports.card import dialog_card
from reports.i18n import messenger_label, normalise_lang
from reports.render import render_card, split_message
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


def telegram_user_id(dialog: Dialog) -> int | None:
    """The customer's Telegram user id, for dialogs that came through the bot or Telegram Business."""
    prefix, _, number = dialog.contact_id.partition(":")
    return int(number) if prefix == "tg" and number.isdigit() else None


def _who(dialog: Dialog, lang: str) -> str:
    name = html.escape(dialog.contact_name or text(lang, "no_name"))
    phone = contact_phone(dialog)
    tg_user = telegram_user_id(dialog)
    if phone is None and tg_user is not None:
        # A mention link: one tap opens the customer's profile (and the chat, when their privacy allows).
        return f'👤 <a href="tg://user?id={tg_user}"><b>{name}</b></a>'
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
    messenger = messenger_label(dialog)
    first = shorten(dialog.first_message.strip(), MAX_MESSAGE) or text(lang, "no_text")
    lines = [
        text(lang, "lead_repeat" if dialog.is_repeat else "lead_new", messenger=messenger),
        _who(dialog, lang),
        text(
            lang, "to_number" if dialog.messenger is Messenger.WHATSAPP else "to_account", number=dialog.business_number
        ),
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


def tag_label(lang: str, tag: str) -> str:
    """A built-in tag's name in `lang`; an owner-defined tag as the owner wrote it."""
    return text(lang, f"tag_{tag}") if tag in TAGS else html.escape(tag)


def alert_keyboard(
    dialog: Dialog, lang: str = "ru", *, card_button: bool = True, tags: Sequence[str] = TAGS
) -> InlineKeyboardMarkup:
    """Tag buttons, three a row (a ✅ marks the dialog's tags), and the card button (not under the card)."""
    buttons = [
        InlineKeyboardButton(
            text=("✅ " if tag in dialog.tags else "") + tag_label(lang, tag),
            callback_data=TagCallback(dialog_id=dialog.id, tag=tag).pack(),
        )
        for tag in tags
    ]
    rows = [buttons[i : i + 3] for i in range(0, len(buttons), 3)]
    if not card_button:
        return InlineKeyboardMarkup(inline_keyboard=rows)
    card = InlineKeyboardButton(text=text(lang, "card"), callback_data=CardCallback(dialog_id=dialog.id).pack())
    return InlineKeyboardMarkup(inline_keyboard=[*rows, [card]])


async def card_messages(store: Store, dialog: Dialog | str, lang: str, zone: ZoneInfo) -> list[str] | None:
    """The dialog's full card as Telegram messages (split at Telegram's limit); None when it is gone."""
    card = await dialog_card(store, dialog, zone)
    if card is None:
        return None
    return split_message(render_card(card, normalise_lang(lang)))


async def send_card(
    message: Message, store: Store, dialog: Dialog | str, lang: str, zone: ZoneInfo, tags: Sequence[str] = TAGS
) -> bool:
    """Answer with the card, its tag buttons under the last part; False when there is no such dialog."""
    parts = await card_messages(store, dialog, lang, zone)
    found = dialog if isinstance(dialog, Dialog) else await store.get_dialog(dialog)
    if parts is None or found is None:
        return False
    for part in parts[:-1]:
        await message.answer(part)
    await message.answer(parts[-1], reply_markup=alert_keyboard(found, lang, card_button=False, tags=tags))
    return True


def alerts_router(store: Store, zone: ZoneInfo | None = None, tags: Sequence[str] = TAGS) -> Router:
    """Buttons of the alert, for owners and staff (strangers fall through to the fallback's refusal).

    Answers follow the presser's language; the alert itself stays in the bot's configured one."""
    router = Router(name="alerts")
    router.callback_query.filter(HasRole(MEMBERS))
    card_zone = zone or ZoneInfo("UTC")

    @router.callback_query(TagCallback.filter(F.tag.in_(set(tags))))
    async def toggle_tag(query: CallbackQuery, callback_data: TagCallback) -> None:
        lang = language(query.from_user.language_code)
        dialog = await store.get_dialog(callback_data.dialog_id)
        if dialog is None:
            await query.answer(text(lang, "dialog_missing"))
            return
        tag = callback_data.tag
        removing = tag in dialog.tags
        chosen = [t for t in dialog.tags if t != tag] if removing else [*dialog.tags, tag]
        dialog = await store.set_tags(dialog.id, chosen) or dialog
        label = tag_label(lang, tag)
        await query.answer(text(lang, "tag_removed" if removing else "tag_set", tag=label))
        if isinstance(query.message, Message):  # older than 48 h: Telegram no longer lets us edit it
            markup = query.message.reply_markup
            # The buttons keep the language they were sent in: read it off the first tag button.
            shown = markup.inline_keyboard[0][0].text if markup and markup.inline_keyboard else ""
            keyboard_lang = "en" if shown.removeprefix("✅ ") == TEXTS["en"]["tag_qualified"] else "ru"
            has_card = markup is not None and any(
                CardCallback.__prefix__ in (b.callback_data or "") for row in markup.inline_keyboard for b in row
            )
            await query.message.edit_reply_markup(
                reply_markup=alert_keyboard(dialog, keyboard_lang, card_button=has_card, tags=tags)
            )

    @router.callback_query(CardCallback.filter())
    async def card(query: CallbackQuery, callback_data: CardCallback) -> None:
        lang = language(query.from_user.language_code)
        if not isinstance(query.message, Message):
            await query.answer()
            return
        await query.answer()
        if not await send_card(query.message, store, callback_data.dialog_id, lang, card_zone, tags):
            await query.message.answer(text(lang, "dialog_missing"))

    return router
