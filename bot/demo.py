"""/demo and «🧹 Стереть демо»: the demo page's link for an owner, and erasing every demo lead.

The demo leads (tracking/demo.py) are erased with their messages, alerts and visits (Store.forget_contact
of each demo contact), and every copy of their alerts in Telegram is edited to say so. The button under a
demo alert erases them all too; anyone who got the alert may press it (a demo is nobody's customer).
"""

from __future__ import annotations

import logging

from aiogram import Bot, F, Router
from aiogram.exceptions import AiogramError
from aiogram.filters import Command
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message

from bot.access import MEMBERS, HasRole, Role
from bot.alerts import DemoCallback, retire_alert
from bot.texts import language, text
from tracking.demo import DemoSwitch, demo_count, erase_demo
from tracking.store.base import Store

log = logging.getLogger("chattrack.bot.demo")


def demo_router(store: Store, switch: DemoSwitch, url: str, *, lang: str = "ru") -> Router:
    """`url`: where the owner opens the demo page. `lang`: the alerts' language (their erased copies too)."""
    router = Router(name="demo")

    @router.message(Command("demo"), HasRole({Role.OWNER}), F.chat.type == "private")
    async def demo(message: Message) -> None:
        asker = language(message.from_user.language_code if message.from_user else None)
        lines = [text(asker, "demo_link", url=url) if await switch.on() else text(asker, "demo_off")]
        stored = await demo_count(store)
        keyboard = None
        if stored:
            lines.append(text(asker, "demo_count", count=stored))
            erase = DemoCallback(action="erase").pack()
            button = InlineKeyboardButton(text=text(asker, "demo_erase_all_button"), callback_data=erase)
            keyboard = InlineKeyboardMarkup(inline_keyboard=[[button]])
        await message.answer("\n\n".join(lines), reply_markup=keyboard)

    @router.callback_query(DemoCallback.filter(F.action == "erase"), HasRole(MEMBERS))
    async def erase(query: CallbackQuery, bot: Bot) -> None:
        asker = language(query.from_user.language_code)
        erased, alerts = await erase_demo(store)
        gone = text(lang, "demo_alert_erased")
        edited = sum([await retire_alert(bot, chat_id, message_id, gone) for chat_id, message_id in alerts])
        log.info("demo leads erased: %d dialog(s); %d of %d alert copies edited", erased, edited, len(alerts))
        answer = text(asker, "demo_erased", count=erased) if erased else text(asker, "demo_none")
        await query.answer(answer)
        pressed = query.message
        if isinstance(pressed, Message) and (pressed.chat.id, pressed.message_id) not in alerts:
            try:  # /demo's own message: it says what was done
                await pressed.edit_text(answer)
            except AiogramError as exc:
                log.info("the /demo message was not edited: %s", exc)

    return router


__all__ = ["demo_router"]
