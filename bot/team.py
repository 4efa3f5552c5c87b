"""The team: who gets lead alerts, taking a lead («Беру»), an owner handing it to someone, muting alerts.

Alerts go to the team at delivery time (`team_targets`): the team group when an owner sent `/team` in one
(in its forum topic when sent in a topic), else every owner and staff member who has not muted them
(`/alerts`). Reports stay in private chats. In the group only owners and invited staff can press the
buttons; anyone else gets the fallback's polite refusal (bot/access.py).

«Беру» takes the lead for the presser when nobody holds it (`Tracker.take_dialog`, which queues the
`dialog.taken` event; of two people pressing at once exactly one wins); every copy of the alert is then
edited to say who took it and when, and the button goes (bot/alerts.py, AlertCopies). An owner hands a
taken lead to someone else with «🔁 Передать».
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from aiogram import Bot, F, Router
from aiogram.exceptions import AiogramError
from aiogram.filters import Command, CommandObject
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message

from bot.access import GROUP_CHATS, MEMBERS, HasRole, Role, member_name
from bot.alerts import (
    AlertCopies,
    GiveCallback,
    PassCallback,
    TakeCallback,
    card_keyboard,
    edit_pressed_keyboard,
    packed,
)
from bot.texts import language, plain_text, text
from tracking.models import Dialog
from tracking.service import Tracker
from tracking.store.base import Store, TeamChat
from tracking.strings import one_line

log = logging.getLogger("chattrack.bot.team")

Clock = Callable[[], datetime]
NAME_SHOWN = 64  # a taker's name as the alert shows it


@dataclass(frozen=True)
class Target:
    """A chat that gets lead alerts; `thread_id`: the forum topic of a team group."""

    chat_id: int
    thread_id: int | None = None


async def team_targets(store: Store, owner_ids: Iterable[int]) -> list[Target]:
    """The team now: its group when one is set, else each owner and staff member who has not muted alerts."""
    team = await store.team_chat()
    if team is not None:
        return [Target(team.chat_id, team.thread_id)]
    return [Target(user_id) for user_id in await team_members(store, owner_ids)]


async def team_members(store: Store, owner_ids: Iterable[int]) -> list[int]:
    """Every owner and staff member who has not muted alerts, owners first, each once."""
    muted = await store.muted_users()
    staff = [member.user_id for member in await store.list_staff()]
    return [user_id for user_id in dict.fromkeys([*owner_ids, *staff]) if user_id not in muted]


class AlertsCallback(CallbackData, prefix="alerts"):
    """`alerts:on`, `alerts:off` (one's own alerts), `alerts:private` (an owner: alerts leave the group)."""

    action: str


def _off_keyboard(lang: str) -> InlineKeyboardMarkup:
    data = AlertsCallback(action="private").pack()
    button = InlineKeyboardButton(text=text(lang, "alerts_button_private"), callback_data=data)
    return InlineKeyboardMarkup(inline_keyboard=[[button]])


async def alerts_status(store: Store, user_id: int, role: Role, lang: str) -> tuple[str, InlineKeyboardMarkup]:
    """What /alerts says: where alerts go and whether this person's are on, with the buttons to change it."""
    muted = user_id in await store.muted_users()
    team = await store.team_chat()
    lines = [text(lang, "alerts_off" if muted else "alerts_on")]
    if team is not None:
        lines = [text(lang, "alerts_in_group", title=one_line(team.title, 64) or str(team.chat_id))]
    mark = {"on": "✅ " if not muted else "", "off": "✅ " if muted else ""}
    rows = [
        [
            InlineKeyboardButton(
                text=mark[action] + text(lang, f"alerts_button_{action}"),
                callback_data=AlertsCallback(action=action).pack(),
            )
            for action in ("on", "off")
        ]
    ]
    if team is not None and role is Role.OWNER:
        rows.extend(_off_keyboard(lang).inline_keyboard)
    return "\n".join(lines), InlineKeyboardMarkup(inline_keyboard=rows)


def team_router(store: Store, copies: AlertCopies, *, clock: Clock, tracker: Tracker) -> Router:
    """/team in a group (owners), /alerts in a private chat (members), and the alert's «Беру», «Передать»
    buttons. Answers follow the presser's language; alerts stay in the bot's (`copies.lang`). Takes go
    through `tracker`, so each new taker makes one `dialog.taken` event."""
    router = Router(name="team")
    members = HasRole(MEMBERS)

    @router.message(Command("team"), F.chat.type.in_(GROUP_CHATS))
    async def team(message: Message, command: CommandObject, role: Role) -> None:
        user = message.from_user
        if user is None or role is Role.STRANGER:  # a stranger in the group: not a word
            return
        lang = language(user.language_code)
        if role is not Role.OWNER:
            await message.answer(text(lang, "team_owners_only"))
            return
        from bot.commands import OFF_WORDS  # /team выкл as /summary выкл; here: bot.commands imports the outbox

        if (command.args or "").strip().lower() in OFF_WORDS:
            await store.set_team_chat(None)
            log.info("owner %s sent lead alerts back to private chats", user.id)
            await message.answer(text(lang, "team_off"))
            return
        thread = message.message_thread_id if message.is_topic_message else None
        chat = TeamChat(
            chat_id=message.chat.id,
            thread_id=thread,
            title=one_line(message.chat.title, 128),
            set_by=user.id,
            set_at=clock(),
        )
        await store.set_team_chat(chat)
        log.info("owner %s sends lead alerts to group %s (topic %s)", user.id, chat.chat_id, thread)
        await message.answer(text(lang, "team_set_topic" if thread else "team_set"), reply_markup=_off_keyboard(lang))

    @router.message(Command("alerts"), F.chat.type == "private", members)
    async def alerts(message: Message, role: Role) -> None:
        user = message.from_user
        assert user is not None  # the role filter matched a sender
        lang = language(user.language_code)
        answer, keyboard = await alerts_status(store, user.id, role, lang)
        await message.answer(answer, reply_markup=keyboard)

    @router.callback_query(AlertsCallback.filter(F.action.in_({"on", "off"})), members)
    async def mute(query: CallbackQuery, callback_data: AlertsCallback, role: Role) -> None:
        lang = language(query.from_user.language_code)
        muted = callback_data.action == "off"
        await store.set_alerts_muted(query.from_user.id, muted)
        await query.answer(text(lang, "alerts_turned_off" if muted else "alerts_turned_on"))
        if isinstance(query.message, Message):
            answer, keyboard = await alerts_status(store, query.from_user.id, role, lang)
            await _edit_quietly(query.message, answer, keyboard)

    @router.callback_query(AlertsCallback.filter(F.action == "private"), members)
    async def private(query: CallbackQuery, role: Role) -> None:
        lang = language(query.from_user.language_code)
        if role is not Role.OWNER:
            await query.answer(plain_text(lang, "team_owners_only"), show_alert=True)
            return
        await store.set_team_chat(None)
        log.info("owner %s sent lead alerts back to private chats", query.from_user.id)
        await query.answer(plain_text(lang, "alerts_turned_on"))
        if isinstance(query.message, Message):
            if query.message.chat.type == "private":
                answer, keyboard = await alerts_status(store, query.from_user.id, role, lang)
                await _edit_quietly(query.message, answer, keyboard)
            else:
                await _edit_quietly(query.message, text(lang, "team_off"), None)

    @router.callback_query(TakeCallback.filter(), members)
    async def take(query: CallbackQuery, callback_data: TakeCallback, bot: Bot) -> None:
        user = query.from_user
        lang = language(user.language_code)
        dialog = await tracker.take_dialog(callback_data.dialog_id, user.id, member_name(user, NAME_SHOWN), clock())
        if dialog is None:
            await query.answer(text(lang, "dialog_missing"))
            return
        if dialog.taken_by == user.id:
            log.info("dialog %s taken by team member %s", dialog.id, user.id)
            await query.answer(plain_text(lang, "take_yours"))
        else:  # a colleague was first
            await query.answer(plain_text(lang, "take_already", name=_taker(dialog)), show_alert=True)
        await _refresh(query, dialog, bot)

    @router.callback_query(PassCallback.filter(), members)
    async def ask_whom(query: CallbackQuery, callback_data: PassCallback, role: Role, bot: Bot) -> None:
        user = query.from_user
        lang = language(user.language_code)
        if role is not Role.OWNER:
            await query.answer(plain_text(lang, "reassign_owners_only"), show_alert=True)
            return
        dialog = await store.get_dialog(callback_data.dialog_id)
        if dialog is None:
            await query.answer(text(lang, "dialog_missing"))
            return
        await query.answer()
        choices = [(user.id, text(lang, "reassign_me"))]
        choices += [(m.user_id, one_line(m.name, NAME_SHOWN)) for m in await store.list_staff() if m.user_id != user.id]
        buttons = [
            InlineKeyboardButton(text=label, callback_data=data)
            for user_id, label in choices
            if (data := packed(GiveCallback, dialog_id=dialog.id, user_id=user_id)) is not None
        ]
        keyboard = InlineKeyboardMarkup(inline_keyboard=[buttons[i : i + 2] for i in range(0, len(buttons), 2)])
        if isinstance(query.message, Message):  # in the chat (and topic) of the alert pressed
            await query.message.reply(text(lang, "reassign_ask"), reply_markup=keyboard)
        else:
            await bot.send_message(user.id, text(lang, "reassign_ask"), reply_markup=keyboard)

    @router.callback_query(GiveCallback.filter(), members)
    async def give(query: CallbackQuery, callback_data: GiveCallback, role: Role, bot: Bot) -> None:
        user = query.from_user
        lang = language(user.language_code)
        if role is not Role.OWNER:
            await query.answer(plain_text(lang, "reassign_owners_only"), show_alert=True)
            return
        to = callback_data.user_id
        if to == user.id:
            name = member_name(user, NAME_SHOWN)
        elif (member := await store.get_staff(to)) is not None:
            name = one_line(member.name, NAME_SHOWN)
        else:  # removed from the staff since the question was asked
            await query.answer(text(lang, "staff_missing"), show_alert=True)
            return
        dialog = await tracker.take_dialog(callback_data.dialog_id, to, name, clock(), replace=True)
        if dialog is None:
            await query.answer(text(lang, "dialog_missing"))
            return
        log.info("owner %s handed dialog %s to team member %s", user.id, dialog.id, to)
        await query.answer(plain_text(lang, "reassign_done", name=name))
        if isinstance(query.message, Message):
            await _edit_quietly(query.message, text(lang, "reassign_done", name=name), None)
        await copies.refresh(bot, dialog.id)
        if to != user.id:
            try:  # the new taker hears of it even when alerts go to a group they may not watch
                await bot.send_message(
                    to, text(copies.lang, "reassigned_to_you", dialog_id=dialog.id), reply_markup=card_keyboard(dialog)
                )
            except AiogramError as exc:
                log.info("team member %s not told of the lead handed to them: %s", to, exc)

    async def _refresh(query: CallbackQuery, dialog: Dialog, bot: Bot) -> None:
        edited = await copies.refresh(bot, dialog.id)
        pressed = query.message
        if isinstance(pressed, Message) and (pressed.chat.id, pressed.message_id) not in edited:
            await edit_pressed_keyboard(query, dialog, copies.tags)  # a card's buttons

    return router


def _taker(dialog: Dialog) -> str:
    return one_line(dialog.taken_by_name, NAME_SHOWN) or str(dialog.taken_by)


async def _edit_quietly(message: Message, body: str, keyboard: InlineKeyboardMarkup | None) -> None:
    """Edit a message of the bot; "not modified" (a double press) and a message too old to edit are fine."""
    try:
        await message.edit_text(body, reply_markup=keyboard)
    except AiogramError as exc:
        log.info("message %s in chat %s not edited: %s", message.message_id, message.chat.id, exc)


__all__ = ["AlertsCallback", "Target", "alerts_status", "team_members", "team_router", "team_targets"]
