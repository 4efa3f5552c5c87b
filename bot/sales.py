"""A sale's amount in the bot: asked right after «Продажа» is tapped, changed or added to from the card.

The question («Сумма продажи? Ответьте числом, например 12 000») goes to the presser's private chat with a
ForceReply, so their client opens the reply at once and the amount is not shown to the whole team group.
Pressed in a group by someone the bot cannot write to privately (they never started it), it is asked in the
group instead, naming them, with a *selective* ForceReply (Telegram opens the reply for the users the text
mentions only).

Which sale an answer is for travels in the question itself, not in memory: the lead's line of the question
is a link (`text_link` entity) whose address carries the dialog's and the sale's ids, and Telegram hands the
question back, entities included, as `reply_to_message` of the answer. A restart, another server copy or
an answer a day later still finds its sale; an answer to a sale removed meanwhile is told so.
"""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError
from aiogram.filters import Filter
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, ForceReply, Message, User
from aiogram.utils.formatting import Text, TextLink, TextMention

from bot.access import MEMBERS, HasRole, member_name, reply_to_bot
from bot.texts import language, plain_text, text
from reports.card import sales_line
from reports.i18n import normalise_lang, phone_label
from tracking.amounts import AmountError, parse_amount
from tracking.models import Dialog, Sale
from tracking.service import Tracker
from tracking.store.base import Store
from tracking.strings import one_line

log = logging.getLogger("chattrack.bot.sales")

AMOUNT_EXAMPLE = "12 000"
# The address of the question's lead line: opens the chat with the bot; `d` and `s` name the dialog and sale.
_LINK = re.compile(r"^https://t\.me/[A-Za-z0-9_]+\?d=([0-9a-zA-Z_-]{1,64})&s=([0-9a-zA-Z_-]{1,64})$")

Redraw = Callable[[Bot, str], Awaitable[object]]


class SaleCallback(CallbackData, prefix="sale"):
    """`sale:<action>:<dialog_id>` — the card's «✏️ Сумма» (`amount`: the latest sale's) and «➕ Ещё продажа»
    (`more`: a repeat purchase)."""

    action: str
    dialog_id: str


def question_link(username: str, dialog_id: str, sale_id: str) -> str:
    return f"https://t.me/{username}?d={dialog_id}&s={sale_id}"


def asked_sale(question: Message) -> tuple[str, str] | None:
    """The (dialog id, sale id) a question of ours carries; None for any other message."""
    for entity in question.entities or ():
        if entity.type == "text_link" and entity.url and (match := _LINK.match(entity.url)):
            return match.group(1), match.group(2)
    return None


def lead_label(dialog: Dialog) -> str:
    """Whose sale: «Анна · +7 916 111-22-33» (plain text)."""
    name = one_line(dialog.contact_name, 60)
    phone = dialog.contact_phone or (dialog.contact_id if dialog.contact_id.startswith("+") else None)
    parts = [name, phone_label(one_line(phone)) if phone else ""]
    return " · ".join(part for part in parts if part) or one_line(dialog.code) or dialog.id[:8]


@dataclass
class SaleQuestions:
    """Asks for a sale's amount and reads the answers."""

    store: Store
    tracker: Tracker
    redraw: Redraw  # every copy of the dialog's alert (bot/alerts.py AlertCopies.refresh)

    def _question(self, username: str, dialog: Dialog, sale: Sale, lang: str, presser: User | None) -> Text:
        link = TextLink(f"💰 {lead_label(dialog)}", url=question_link(username, dialog.id, sale.id))
        if presser is None:
            return Text(link, "\n", plain_text(lang, "sale_question"))
        before, after = plain_text(lang, "sale_question_for", name="\x00").split("\x00")
        return Text(link, "\n", before, TextMention(member_name(presser), user=presser), after)

    async def ask(self, bot: Bot, query: CallbackQuery, dialog: Dialog, sale: Sale) -> str:
        """Ask the presser for `sale`'s amount; the text key of what to tell them in the button's answer."""
        presser = query.from_user
        lang = language(presser.language_code)
        username = (await bot.me()).username or "telegram"
        pressed = query.message if isinstance(query.message, Message) else None
        placeholder = ForceReply(force_reply=True, input_field_placeholder=AMOUNT_EXAMPLE)
        if pressed is None or pressed.chat.type != "private":
            question = self._question(username, dialog, sale, lang, None)
            try:
                await bot.send_message(presser.id, reply_markup=placeholder, **question.as_kwargs())
                return "sale_asked_private"
            except (TelegramForbiddenError, TelegramBadRequest) as exc:  # never started the bot, or blocked it
                log.info("dialog %s: the sale amount not asked privately (%s); asked in the group", dialog.id, exc)
            if pressed is None:
                return "sale_asked_here"
        question = self._question(username, dialog, sale, lang, presser if pressed.chat.type != "private" else None)
        selective = ForceReply(force_reply=True, selective=True, input_field_placeholder=AMOUNT_EXAMPLE)
        await bot.send_message(
            pressed.chat.id,
            message_thread_id=pressed.message_thread_id if pressed.is_topic_message else None,
            reply_markup=selective if pressed.chat.type != "private" else placeholder,
            **question.as_kwargs(),
        )
        return "sale_asked_here"

    async def answer(self, bot: Bot, message: Message, dialog_id: str, sale_id: str) -> None:
        """A member's answer to a question: the sale's amount, or why it is not one (asked again)."""
        member = message.from_user
        lang = language(member.language_code if member else None)
        try:
            amount = parse_amount(message.text or "", self.tracker.settings.currency)
        except AmountError as exc:
            await self._again(bot, message, dialog_id, sale_id, text(lang, f"amount_{exc.reason.value}"))
            return
        dialog = await self.tracker.change_sale(dialog_id, sale_id, amount.value, amount.currency)
        if dialog is None:
            await message.reply(text(lang, "sale_gone"))
            return
        line = sales_line(dialog, normalise_lang(lang)) or ""
        await message.reply(text(lang, "sale_saved", line=line))
        await self.redraw(bot, dialog_id)

    async def _again(self, bot: Bot, message: Message, dialog_id: str, sale_id: str, reason: str) -> None:
        """Why the answer is not an amount, as a new question for the same sale (the old one still answers)."""
        dialog = await self.store.get_dialog(dialog_id)
        sale = next((s for s in dialog.sales if s.id == sale_id), None) if dialog else None
        if dialog is None or sale is None:
            lang = language(message.from_user.language_code if message.from_user else None)
            await message.reply(text(lang, "sale_gone"))
            return
        username = (await bot.me()).username or "telegram"
        link = TextLink(f"💰 {lead_label(dialog)}", url=question_link(username, dialog.id, sale.id))
        selective = message.chat.type != "private"
        await message.reply(
            reply_markup=ForceReply(force_reply=True, selective=selective, input_field_placeholder=AMOUNT_EXAMPLE),
            **Text(link, "\n", html.unescape(reason)).as_kwargs(),
        )

    # the card's buttons ------------------------------------------------------------------------------

    async def pressed(self, bot: Bot, query: CallbackQuery, dialog_id: str, action: str) -> Dialog | None:
        """«✏️ Сумма»: ask again for the latest sale's amount (a sale is recorded when there is none);
        «➕ Ещё продажа»: one more sale, its amount asked. The dialog as stored after; None when it is gone."""
        presser = query.from_user
        dialog = await self.store.get_dialog(dialog_id)
        if dialog is None:
            return None
        if action == "amount" and dialog.sales:
            sale = dialog.sales[-1]
        else:
            added = await self.tracker.add_sale(dialog_id, None, by=presser.id, by_name=member_name(presser))
            if added is None or not added.sales:
                return None
            dialog, sale = added, added.sales[-1]
        told = await self.ask(bot, query, dialog, sale)
        await query.answer(text(language(presser.language_code), told))
        await self.redraw(bot, dialog_id)
        return dialog


class AnswerToQuestion(Filter):
    """A reply to one of the bot's amount questions: passes `dialog_id` and `sale_id`."""

    async def __call__(self, message: Message, bot: Bot) -> bool | dict[str, Any]:
        question = reply_to_bot(message, bot)
        if question is None:
            return False
        found = asked_sale(question)
        return False if found is None else {"dialog_id": found[0], "sale_id": found[1]}


def sales_router(questions: SaleQuestions) -> Router:
    """Members' answers to the amount questions: before the relay, which would take a reply for the customer."""
    router = Router(name="sales")

    @router.message(HasRole(MEMBERS), F.reply_to_message, AnswerToQuestion())
    async def amount_answer(message: Message, bot: Bot, dialog_id: str, sale_id: str) -> None:
        await questions.answer(bot, message, dialog_id, sale_id)

    return router


__all__ = ["AnswerToQuestion", "SaleCallback", "SaleQuestions", "asked_sale", "sales_router"]
