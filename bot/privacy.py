"""/forget <contact> (owners only): erase a contact's dialogs, messages, alerts and visits, as the CLI does.

The contact is named as alerts and cards show it: a phone in any format, or a Telegram customer (tg:777,
777, @username); see tracking/contacts.py. Nothing is erased before the owner who asked presses «Да,
удалить» under the question (bot/confirm.py: a signed button, only theirs, for a quarter of an hour).
Then the lead alerts the bot sent about the contact are edited to say the contact was erased, so the chats
no longer show it; an alert Telegram no longer lets us edit (too old, deleted) is left as it is.
"""

from __future__ import annotations

import logging

from aiogram import Bot, F, Router
from aiogram.exceptions import AiogramError
from aiogram.filters import Command, CommandObject
from aiogram.types import CallbackQuery, Message

from bot.access import HasRole, Role
from bot.alerts import retire_alert
from bot.confirm import Confirmations, Refusal
from bot.texts import language, plain_text, text
from reports.i18n import phone_label
from tracking.contacts import contacts_meant, telegram_user
from tracking.store.base import Store

log = logging.getLogger("chattrack.bot")

KIND = "forget"  # the confirmation buttons' callback data start with "forget:"
DIALOGS_COUNTED = 1000  # the question says how many dialogs go; a contact with more is erased all the same


def privacy_router(store: Store, *, default_region: str, confirmations: Confirmations, lang: str = "ru") -> Router:
    """`lang`: the language alerts are sent in (their erased form says so in the same one)."""
    router = Router(name="privacy")
    owners_only = HasRole({Role.OWNER})

    def shown(lang: str, contacts: list[str], naming: str) -> str:
        if len(contacts) != 1:
            return naming
        user = telegram_user(contacts[0])
        return phone_label(contacts[0]) if user is None else plain_text(lang, "forget_telegram_user", id=user)

    @router.message(Command("forget"), owners_only, F.chat.type == "private")
    async def forget(message: Message, command: CommandObject) -> None:
        asker = message.from_user
        assert asker is not None  # the role filter matched a sender
        lang = language(asker.language_code)
        naming = (command.args or "").strip()
        if not naming:
            await message.answer(text(lang, "forget_usage"))
            return
        contacts = await contacts_meant(store, naming, default_region)
        if not contacts:
            await message.answer(text(lang, "forget_nothing", who=naming[:64]))
            return
        count = sum([len(await store.find_dialogs(contact_id=c, limit=DIALOGS_COUNTED)) for c in contacts])
        # One contact travels as its id; several (a username several accounts carried) as the naming.
        keyboard = confirmations.keyboard(lang, KIND, asker.id, contacts[0] if len(contacts) == 1 else naming)
        if keyboard is None:
            await message.answer(text(lang, "forget_too_long"))
            return
        question = text(lang, "forget_confirm", who=shown(lang, contacts, naming), count=count)
        await message.answer(question, reply_markup=keyboard)

    @router.callback_query(F.data.startswith(KIND + ":"), owners_only)
    async def pressed(query: CallbackQuery, bot: Bot) -> None:
        asker_lang = language(query.from_user.language_code)
        verdict = confirmations.read(query.data or "", query.from_user.id)
        if isinstance(verdict, Refusal):  # another's button, a forged one, or too late: nothing happens
            await query.answer(text(asker_lang, verdict.value), show_alert=True)
            return
        if not verdict.yes:
            await query.answer()
            if isinstance(query.message, Message):
                await query.message.edit_text(text(asker_lang, "forget_cancelled"))
            return
        await query.answer()
        contacts = await contacts_meant(store, verdict.payload, default_region)
        lines = []
        for contact in contacts:
            alerts = await store.alert_messages(contact)  # before the erasure takes them too
            relayed = await store.relay_messages(contact)
            erased = await store.forget_contact(contact)
            gone = text(lang, "forget_alert_erased")
            edited = sum([await retire_alert(bot, chat_id, message_id, gone) for chat_id, message_id in alerts])
            deleted = sum([await delete_relayed(bot, chat_id, message_id) for chat_id, message_id in relayed])
            # who stays out of the log
            log.info(
                "owner erased %d dialog(s) of a contact; %d of %d alert(s) edited, %d of %d relayed message(s) deleted",
                erased,
                edited,
                len(alerts),
                deleted,
                len(relayed),
            )
            lines.append(text(asker_lang, "forget_done", phone=shown(asker_lang, [contact], contact), count=erased))
        answer = "\n".join(lines) or text(asker_lang, "forget_nothing", who=shown(asker_lang, [], verdict.payload))
        if isinstance(query.message, Message):
            await query.message.edit_text(answer)
        else:
            await bot.send_message(query.from_user.id, answer)

    async def delete_relayed(bot: Bot, chat_id: int, message_id: int) -> bool:
        """A customer's own words forwarded to a team chat: a forward cannot be edited, so it is deleted."""
        try:
            await bot.delete_message(chat_id, message_id)
        except AiogramError as exc:  # older than Telegram lets a bot delete (48 h), or gone: the erasure stands
            log.info("an erased contact's relayed message %s in chat %s not deleted: %s", message_id, chat_id, exc)
            return False
        return True

    return router
