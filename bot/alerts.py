"""The lead alert: what the owner sees in Telegram when a customer opens a dialog, and its buttons.

Everything that came from outside (names, messages, URLs, UTM values) is shown on one line where it is a
one-line field (`tracking.strings.one_line`), HTML-escaped, and cut to a budget of escaped characters, so
the alert stays readable on a phone and under Telegram's 4096 characters whatever the store holds.
`plain_alert` is the form without markup the outbox falls back to when Telegram refuses the alert.
"""

from __future__ import annotations

import asyncio
import html
import logging
import re
import weakref
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import UTC, tzinfo
from zoneinfo import ZoneInfo

from aiogram import Bot, F, Router
from aiogram.exceptions import AiogramError, TelegramBadRequest, TelegramRetryAfter
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, LinkPreviewOptions, Message

from bot.access import MEMBERS, HasRole, member_name
from bot.sales import SaleCallback, SaleQuestions
from bot.texts import channel_name, language, plain_text, text
from reports.card import dialog_card, sales_line
from reports.i18n import (
    DEVICES,
    Lang,
    medium_label,
    messenger_label,
    moment_label,
    normalise_lang,
    phone_label,
    region_label,
    source_label,
    tag_name,
)
from reports.render import TELEGRAM_LIMIT, clip, render_card, split_message, telegram_length
from tracking.contacts import telegram_user
from tracking.deliveries import SALE_TAG
from tracking.demo import is_demo
from tracking.models import AttributionStatus, Dialog, Messenger
from tracking.pages import page_label
from tracking.service import Tracker
from tracking.store.base import Store
from tracking.strings import cut, message_text, one_line

log = logging.getLogger("chattrack.bot.alerts")

TAGS = ("qualified", "sale", "spam")
# Budgets in escaped characters (what Telegram measures): together well under 4096 whatever the values.
MAX_MESSAGE = 800  # the customer's first message
MAX_NAME = 120
MAX_URL = 100  # a page, a source, a campaign...
MAX_SHORT = 60  # a region, a device, a business number, a code
_PHONE = re.compile(r"^\+\d{5,15}$")
_PLACEHOLDERS = frozenset({"", "(direct)", "(none)", "(not set)"})  # tracking/channels.py: GA4's placeholders


class TagCallback(CallbackData, prefix="tag"):
    """`tag:<dialog_id>:<tag>` — toggles a tag on the dialog."""

    dialog_id: str
    tag: str


class CardCallback(CallbackData, prefix="card"):
    """`card:<dialog_id>` — shows the dialog's card."""

    dialog_id: str


class TakeCallback(CallbackData, prefix="take"):
    """`take:<dialog_id>` — «Беру»: the presser takes the lead, when nobody did yet (bot/team.py)."""

    dialog_id: str


class PassCallback(CallbackData, prefix="pass"):
    """`pass:<dialog_id>` — an owner asks whom to hand a taken lead to (bot/team.py)."""

    dialog_id: str


class DemoCallback(CallbackData, prefix="demo"):
    """`demo:erase` — erase every demo lead (bot/demo.py)."""

    action: str


class GiveCallback(CallbackData, prefix="give"):
    """`give:<dialog_id>:<user_id>` — an owner hands the lead to this team member."""

    dialog_id: str
    user_id: int


def shown(value: object, budget: int = MAX_URL) -> str:
    """A one-line field as the alert shows it: on one line, cut to `budget` characters once escaped."""
    return clip(one_line(value), budget)


def short_url(url: str) -> str:
    """The page as people read it (`salon.ru/услуги`): decoded, no scheme; UTM tags have lines of their own."""
    return clip(one_line(page_label(url)), MAX_URL)


def contact_phone(dialog: Dialog) -> str | None:
    """The customer's phone as +E.164, when known."""
    phone = dialog.contact_phone or (dialog.contact_id if dialog.contact_id.startswith("+") else None)
    phone = one_line(phone)
    if not phone:
        return None
    return phone if phone.startswith("+") else "+" + phone


def _who(dialog: Dialog, lang: str) -> str:
    name = html.escape(shown(dialog.contact_name, MAX_NAME) or text(lang, "no_name"))
    phone = contact_phone(dialog)
    tg_user = telegram_user(dialog.contact_id)  # dialogs through the bot or Telegram Business
    if phone is None and tg_user is not None:
        # A mention link: one tap opens the customer's profile (and the chat, when their privacy allows).
        return f'👤 <a href="tg://user?id={tg_user}"><b>{name}</b></a>'
    if phone is None:
        return f"👤 <b>{name}</b>"
    if dialog.messenger is Messenger.WHATSAPP and _PHONE.match(phone):
        # One tap on the phone opens the chat with the customer.
        link = html.escape(f"https://wa.me/{phone.lstrip('+')}", quote=True)
        return f'👤 <b>{name}</b> · <a href="{link}">{html.escape(phone_label(phone))}</a>'
    return f"👤 <b>{name}</b> · {html.escape(clip(phone_label(phone), MAX_SHORT))}"


def _status(dialog: Dialog, lang: str) -> str:
    code = shown(dialog.code, MAX_SHORT) or "—"
    key = {
        AttributionStatus.EXACT: "status_exact",
        AttributionStatus.UNKNOWN_CODE: "status_unknown_code",
        AttributionStatus.AD_REFERRAL: "status_ad_referral",
        AttributionStatus.PROBABLE: "status_probable",
        AttributionStatus.NONE: "status_none",
    }[dialog.status]
    return text(lang, key, code=code)


def _origin(source: str | None, medium: str | None, lang: Lang) -> str:
    """ "yandex · оплата за клик": the source and its medium in the owner's words. GA4's placeholders of a direct
    visit or a missing tag are left out: the channel line above already says "Прямые заходы"."""
    parts = [
        source_label(lang, one_line(source)) if one_line(source) not in _PLACEHOLDERS else "",
        medium_label(lang, one_line(medium)) if one_line(medium) not in _PLACEHOLDERS else "",
    ]
    return " · ".join(part for part in parts if part)


async def retire_alert(bot: Bot, chat_id: int, message_id: int, words: str) -> bool:
    """One copy of a lead alert whose dialog was erased becomes `words`, without buttons. False when Telegram
    refused (too old to edit, deleted, the chat gone): the erasure stands all the same."""
    try:
        await bot.edit_message_text(
            words, chat_id=chat_id, message_id=message_id, reply_markup=InlineKeyboardMarkup(inline_keyboard=[])
        )
    except AiogramError as exc:
        log.info("an erased dialog's alert %s in chat %s not edited: %s", message_id, chat_id, exc)
        return False
    return True


def render_alert(dialog: Dialog, lang: str = "ru", zone: tzinfo | None = None) -> str:
    """The lead alert as Telegram HTML, at most Telegram's 4096 characters whatever the dialog holds."""
    a = dialog.attribution
    messenger = messenger_label(dialog)
    first = clip(message_text(dialog.first_message), MAX_MESSAGE) or text(lang, "no_text")
    number = shown(phone_label(one_line(dialog.business_number)), MAX_SHORT)
    lines = [
        text(lang, "lead_repeat" if dialog.is_repeat else "lead_new", messenger=messenger),
        _who(dialog, lang),
        text(lang, "to_number" if dialog.messenger is Messenger.WHATSAPP else "to_account", number=number),
        f"💬 <i>{html.escape(first)}</i>",
        "",
        text(lang, "channel", channel=channel_name(lang, a.channel.value)),
    ]
    source = _origin(a.source, a.medium, normalise_lang(lang))
    if source:
        lines.append(text(lang, "source", source=clip(source, MAX_URL)))
    for key, value in (("campaign", a.campaign), ("content", a.content), ("term", a.term)):
        if one_line(value):
            lines.append(text(lang, key, value=shown(value)))
    if one_line(a.contact_page):
        lines.append(text(lang, "contact_page", value=short_url(a.contact_page or "")))
    if one_line(a.landing_page) and a.landing_page != a.contact_page:
        lines.append(text(lang, "landing_page", value=short_url(a.landing_page or "")))
    if one_line(a.region):
        lines.append(
            text(lang, "region", value=shown(region_label(normalise_lang(lang), one_line(a.region)), MAX_SHORT))
        )
    kind = DEVICES[normalise_lang(lang)].get(one_line(a.device))
    device = " · ".join(v for v in (kind.capitalize() if kind else "", one_line(a.os), one_line(a.screen)) if v)
    if device:
        icon = "📱" if one_line(a.device) in ("mobile", "tablet") else "💻"
        lines.append(text(lang, "device", icon=icon, value=clip(device, MAX_SHORT)))
    lines.append(_status(dialog, lang))
    lines.append(text(lang, "started", value=moment_label(normalise_lang(lang), dialog.started_at, zone or UTC)))
    if (sales := sales_line(dialog, normalise_lang(lang))) is not None:
        lines.append(html.escape(sales))
    if dialog.taken_by is not None:
        lines.append(taken_line(dialog, lang, zone or UTC))
    if is_demo(dialog):  # a trial lead from GET /demo: said first, so nobody takes it for a customer
        lines.insert(0, text(lang, "demo_alert_mark"))
    alert = "\n".join(lines)
    # The budgets above keep it far below the limit; should a template ever grow past it, cut, never fail.
    return alert if telegram_length(alert) <= TELEGRAM_LIMIT else split_message(alert)[0]


def taken_line(dialog: Dialog, lang: str, zone: tzinfo) -> str:
    """«✋ Взял(а) Мария, 14:05»: who took the lead and when (the day too when not the day the lead came)."""
    at = dialog.taken_at or dialog.started_at
    local = at.astimezone(zone)
    same_day = local.date() == dialog.started_at.astimezone(zone).date()
    when = f"{local:%H:%M}" if same_day else moment_label(normalise_lang(lang), at, zone)
    name = shown(dialog.taken_by_name, MAX_NAME) or str(dialog.taken_by)
    return text(lang, "taken", name=name, time=when)


def plain_alert(dialog: Dialog, lang: str = "ru") -> str:
    """The lead alert without markup, for when Telegram refused the full one: that a lead came, who (short),
    and how to open the card. Nothing in it can break a parser or pass Telegram's limit."""
    phone = contact_phone(dialog)
    who = (phone_label(phone) if phone else None) or one_line(dialog.contact_name) or text(lang, "no_name")
    plain = plain_text(
        lang,
        "lead_plain_repeat" if dialog.is_repeat else "lead_plain_new",
        messenger=messenger_label(dialog),
        contact=cut(one_line(who), 64),
        dialog_id=cut(one_line(dialog.id), 64),
    )
    return f"{plain_text(lang, 'demo_mark')}: {plain}" if is_demo(dialog) else plain


def tag_label(lang: str, tag: str) -> str:
    """A built-in tag's name in `lang`; an owner-defined tag as the owner wrote it (button text is plain)."""
    return tag_name(normalise_lang(lang), tag) if tag in TAGS else one_line(tag, 64)


def alert_keyboard(
    dialog: Dialog,
    lang: str = "ru",
    *,
    card_button: bool = True,
    tags: Sequence[str] = TAGS,
    reassign: bool = False,
    sale_buttons: bool = False,
) -> InlineKeyboardMarkup:
    """Tag buttons, three a row (a ✅ marks the dialog's tags), the card button (not under the card), then
    «✋ Беру» while nobody took the lead; once taken, «🔁 Передать» beside the card where `reassign` (a copy
    an owner reads: their private chat or the team group). A button whose data Telegram would refuse (over
    64 bytes, a separator in it) is left out. A demo lead has «🧹 Стереть демо» instead of tags, sale and take."""
    if is_demo(dialog):
        return demo_keyboard(dialog, lang, card_button=card_button)
    buttons = [
        InlineKeyboardButton(text=("✅ " if tag in dialog.tags else "") + tag_label(lang, tag), callback_data=data)
        for tag in tags
        if (data := packed(TagCallback, dialog_id=dialog.id, tag=tag)) is not None
    ]
    rows = [buttons[i : i + 3] for i in range(0, len(buttons), 3)]
    if sale_buttons and dialog.sales:  # the card: the amount changed, a repeat purchase added
        sale_row = [
            InlineKeyboardButton(text=text(lang, key), callback_data=data)
            for key, action in (("sale_amount_button", "amount"), ("sale_more_button", "more"))
            if (data := packed(SaleCallback, action=action, dialog_id=dialog.id)) is not None
        ]
        rows.append(sale_row)
    card = packed(CardCallback, dialog_id=dialog.id) if card_button else None
    last = [InlineKeyboardButton(text=text(lang, "card"), callback_data=card)] if card is not None else []
    if dialog.taken_by is not None and reassign and (handing := packed(PassCallback, dialog_id=dialog.id)):
        last.append(InlineKeyboardButton(text=text(lang, "reassign"), callback_data=handing))
    if last:
        rows.append(last)
    if dialog.taken_by is None and (take := packed(TakeCallback, dialog_id=dialog.id)) is not None:
        rows.append([InlineKeyboardButton(text=text(lang, "take"), callback_data=take)])
    return InlineKeyboardMarkup(inline_keyboard=rows)


def demo_keyboard(dialog: Dialog, lang: str = "ru", *, card_button: bool = True) -> InlineKeyboardMarkup:
    """Under a demo lead: the button that erases every demo lead, and the card's."""
    rows = [
        [InlineKeyboardButton(text=text(lang, "demo_erase_button"), callback_data=DemoCallback(action="erase").pack())]
    ]
    if card_button and (card := packed(CardCallback, dialog_id=dialog.id)) is not None:
        rows.append([InlineKeyboardButton(text=text(lang, "card"), callback_data=card)])
    return InlineKeyboardMarkup(inline_keyboard=rows)


def card_keyboard(dialog: Dialog, lang: str = "ru") -> InlineKeyboardMarkup | None:
    """The card button alone (under the plain alert), when the dialog's id fits in its data."""
    if is_demo(dialog):
        return demo_keyboard(dialog, lang)
    card = packed(CardCallback, dialog_id=dialog.id)
    if card is None:
        return None
    return InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(text=text(lang, "card"), callback_data=card)]])


def packed(kind: type[CallbackData], **values: object) -> str | None:
    """A button's data, or None when Telegram would refuse it."""
    try:
        data = kind(**values).pack()
    except ValueError:  # a separator in a value, or more than Telegram's 64 bytes
        return None
    return data if len(data.encode()) <= 64 else None


async def card_messages(store: Store, dialog: Dialog | str, lang: str, zone: ZoneInfo) -> list[str] | None:
    """The dialog's full card as Telegram messages (split at Telegram's limit); None when it is gone."""
    card = await dialog_card(store, dialog, zone)
    if card is None:
        return None
    rendered = render_card(card, normalise_lang(lang))
    if is_demo(card.dialog):
        rendered = text(lang, "demo_alert_mark") + "\n" + rendered
    return split_message(rendered)


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
    keyboard = alert_keyboard(found, lang, card_button=False, tags=tags, sale_buttons=True)
    await message.answer(parts[-1], reply_markup=keyboard)
    return True


# every copy of an alert, one state ------------------------------------------------------------------

EDIT_PARALLEL = 3  # copies edited at once: well under Telegram's ~30 messages a second, and a group's 20 a minute
EDIT_WAIT_MAX = 5.0  # a 429 asking for longer leaves that copy as it is (the next change edits it again)


def _state(dialog: Dialog) -> tuple[object, ...]:
    """What the alert shows that can change after it was sent."""
    sales = tuple((sale.id, sale.amount, sale.currency) for sale in dialog.sales)
    return (dialog.taken_by, dialog.taken_by_name, dialog.taken_at, tuple(dialog.tags), sales)


@dataclass
class AlertCopies:
    """Every copy of a lead alert the bot sent (`Store.dialog_alert_messages`: each member's chat, the team
    group, the reminders) shows the dialog as stored: after a tag, a take or a hand-over each copy is
    re-rendered from the store, so no stale button under one copy can undo a colleague's change.

    Refreshes of one dialog run one at a time in this process, each reading the dialog anew, so the last
    edit shows the last state; a change another server copy made meanwhile is seen on re-reading and
    edited in a second pass. Copies are edited EDIT_PARALLEL at a time, never all at once."""

    store: Store
    lang: str = "ru"  # the language alerts are sent in (the bot's configured one)
    zone: tzinfo = UTC
    tags: Sequence[str] = TAGS
    owner_ids: Collection[int] = frozenset()  # the runtime's shared Owners (bot/owners.py): read live
    _locks: weakref.WeakValueDictionary[str, asyncio.Lock] = field(default_factory=weakref.WeakValueDictionary)

    def keyboard(self, dialog: Dialog, chat_id: int) -> InlineKeyboardMarkup:
        """The buttons of the copy in `chat_id`: «Передать» where an owner reads it (their chat, a group)."""
        return alert_keyboard(dialog, self.lang, tags=self.tags, reassign=chat_id < 0 or chat_id in self.owner_ids)

    async def refresh(self, bot: Bot, dialog_id: str) -> list[tuple[int, int]]:
        """Edit every copy to show the dialog as stored now; returns the copies (chat id, message id)."""
        lock = self._locks.setdefault(dialog_id, asyncio.Lock())
        copies: list[tuple[int, int]] = []
        async with lock:
            dialog = await self.store.get_dialog(dialog_id)
            for _ in range(2):  # a second pass only when the dialog changed while the first one ran
                if dialog is None:
                    return copies
                copies = await self.store.dialog_alert_messages(dialog_id)
                await self._edit_all(bot, dialog, copies)
                again = await self.store.get_dialog(dialog_id)
                if again is None or _state(again) == _state(dialog):
                    break
                dialog = again
        return copies

    async def _edit_all(self, bot: Bot, dialog: Dialog, copies: Sequence[tuple[int, int]]) -> None:
        try:
            body = render_alert(dialog, self.lang, self.zone)
        except Exception:  # a bug: the copies stay as they are, the press itself still counts
            log.exception("the alert of dialog %s could not be rendered; its copies are not edited", dialog.id)
            return
        gate = asyncio.Semaphore(EDIT_PARALLEL)

        async def edit(chat_id: int, message_id: int) -> None:
            async with gate:
                await self._edit(bot, body, self.keyboard(dialog, chat_id), chat_id, message_id)

        await asyncio.gather(*(edit(chat_id, message_id) for chat_id, message_id in copies))

    async def _edit(self, bot: Bot, body: str, keyboard: InlineKeyboardMarkup, chat_id: int, message_id: int) -> bool:
        for attempt in (1, 2):
            try:
                await bot.edit_message_text(
                    body,
                    chat_id=chat_id,
                    message_id=message_id,
                    parse_mode="HTML",
                    reply_markup=keyboard,
                    link_preview_options=LinkPreviewOptions(is_disabled=True),
                )
                return True
            except TelegramRetryAfter as exc:
                if attempt == 2 or exc.retry_after > EDIT_WAIT_MAX:
                    log.info("alert copy %s in chat %s not edited: %s", message_id, chat_id, exc)
                    return False
                await asyncio.sleep(exc.retry_after)
            except TelegramBadRequest as exc:
                if "not modified" in exc.message:  # a colleague's press edited it to this already
                    return True
                # Deleted, too old to edit, sent plain: it stays as it is.
                log.info("alert copy %s in chat %s not edited: %s", message_id, chat_id, exc)
                return False
            except AiogramError as exc:  # the bot blocked, removed from the group, Telegram away
                log.info("alert copy %s in chat %s not edited: %s", message_id, chat_id, exc)
                return False
        return False


async def edit_pressed_keyboard(query: CallbackQuery, dialog: Dialog, tags: Sequence[str]) -> None:
    """The buttons of the message pressed when it is not a copy of the alert (a card): its keyboard alone,
    in the language it was sent in, read off its first tag button."""
    if not isinstance(query.message, Message):  # Telegram no longer lets us edit it
        return
    markup = query.message.reply_markup
    shown = markup.inline_keyboard[0][0].text if markup and markup.inline_keyboard else ""
    keyboard_lang = "en" if shown.removeprefix("✅ ") == tag_name("en", "qualified") else "ru"
    has_card = markup is not None and any(
        CardCallback.__prefix__ in (b.callback_data or "") for row in markup.inline_keyboard for b in row
    )
    try:
        await query.message.edit_reply_markup(
            reply_markup=alert_keyboard(
                dialog, keyboard_lang, card_button=has_card, tags=tags, sale_buttons=not has_card
            )
        )
    except TelegramBadRequest as exc:  # not modified (a double press), too old
        log.info("pressed message %s not edited: %s", query.message.message_id, exc)


def alerts_router(
    store: Store,
    zone: ZoneInfo | None = None,
    tags: Sequence[str] = TAGS,
    copies: AlertCopies | None = None,
    *,
    tracker: Tracker,
    questions: SaleQuestions | None = None,
) -> Router:
    """Buttons of the alert, for owners and staff (strangers fall through to the fallback's refusal). Tags
    and sales change through `tracker`, so the deliveries they make are queued; «Продажа» asks the presser
    for the amount (`questions`).

    Answers follow the presser's language; the alert itself stays in the bot's configured one (`copies`)."""
    router = Router(name="alerts")
    router.callback_query.filter(HasRole(MEMBERS))
    card_zone = zone or ZoneInfo("UTC")
    alerts = copies or AlertCopies(store, zone=card_zone, tags=tags)
    sales = questions or SaleQuestions(store, tracker, alerts.refresh)

    @router.callback_query(TagCallback.filter(F.tag.in_(set(tags))))
    async def toggle_tag(query: CallbackQuery, callback_data: TagCallback, bot: Bot) -> None:
        lang = language(query.from_user.language_code)
        tag, presser = callback_data.tag, query.from_user
        dialog = await tracker.toggle_tag(callback_data.dialog_id, tag, by=presser.id, by_name=member_name(presser))
        if dialog is None:
            await query.answer(text(lang, "dialog_missing"))
            return
        removing = tag not in dialog.tags
        label = tag_label(lang, tag)
        unpriced = [sale for sale in dialog.sales if sale.amount is None]
        if tag == SALE_TAG and not removing and unpriced:  # the sale just recorded: its amount, please
            await query.answer(text(lang, await sales.ask(bot, query, dialog, unpriced[-1])))
        else:
            await query.answer(text(lang, "tag_removed" if removing else "tag_set", tag=label))
        edited = await alerts.refresh(bot, dialog.id)
        pressed = query.message
        if isinstance(pressed, Message) and (pressed.chat.id, pressed.message_id) not in edited:
            await edit_pressed_keyboard(query, dialog, tags)

    @router.callback_query(SaleCallback.filter(F.action.in_({"amount", "more"})))
    async def sale_button(query: CallbackQuery, callback_data: SaleCallback, bot: Bot) -> None:
        dialog = await sales.pressed(bot, query, callback_data.dialog_id, callback_data.action)
        if dialog is None:
            await query.answer(text(language(query.from_user.language_code), "dialog_missing"))
            return
        await edit_pressed_keyboard(query, dialog, tags)

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
