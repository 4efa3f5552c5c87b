"""/forget <phone> (owners only): erase a contact's dialogs, messages, alerts and visits, as the CLI does."""

from __future__ import annotations

import logging

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message

from bot.access import HasRole, Role
from bot.texts import language, text
from tracking.phones import normalise_phone
from tracking.store.base import Store

log = logging.getLogger("chattrack.bot")


def privacy_router(store: Store, *, default_region: str) -> Router:
    router = Router(name="privacy")

    @router.message(Command("forget"), HasRole({Role.OWNER}))
    async def forget(message: Message, command: CommandObject) -> None:
        lang = language(message.from_user.language_code if message.from_user else None)
        phone = normalise_phone(command.args or "", default_region)
        if phone is None:
            await message.answer(text(lang, "forget_usage"))
            return
        erased = await store.forget_contact(phone)
        log.info("owner erased %d dialog(s) of a contact", erased)  # the phone stays out of the log
        await message.answer(text(lang, "forget_done", phone=phone, count=erased))

    return router
