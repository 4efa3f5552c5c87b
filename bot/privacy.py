"""/forget <contact> (owners only): erase a contact's dialogs, messages, alerts and visits, as the CLI does.

The contact is named as alerts and cards show it: a phone in any format, or a Telegram customer (tg:777,
777, @username); see tracking/contacts.py.
"""

from __future__ import annotations

import logging

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message

from bot.access import HasRole, Role
from bot.texts import language, plain_text, text
from tracking.contacts import contacts_meant, telegram_user
from tracking.store.base import Store

log = logging.getLogger("chattrack.bot")


def privacy_router(store: Store, *, default_region: str) -> Router:
    router = Router(name="privacy")

    @router.message(Command("forget"), HasRole({Role.OWNER}))
    async def forget(message: Message, command: CommandObject) -> None:
        lang = language(message.from_user.language_code if message.from_user else None)
        naming = (command.args or "").strip()
        if not naming:
            await message.answer(text(lang, "forget_usage"))
            return
        contacts = await contacts_meant(store, naming, default_region)
        if not contacts:
            await message.answer(text(lang, "forget_nothing", who=naming[:64]))
            return
        for contact in contacts:
            erased = await store.forget_contact(contact)
            log.info("owner erased %d dialog(s) of a contact", erased)  # who stays out of the log
            user = telegram_user(contact)
            who = contact if user is None else plain_text(lang, "forget_telegram_user", id=user)
            await message.answer(text(lang, "forget_done", phone=who, count=erased))

    return router
