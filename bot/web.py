"""The dashboard from the bot: /web answers a member with a one-time link to sign in in a browser
(`<base>/dashboard/login?token=…`, 10 minutes, once: dashboard/sessions.py); over https the chat's menu button
«Отчёты» opens the dashboard inside Telegram as a Mini App, which signs in from the initData Telegram hands
it (dashboard/auth.py). The button is set per member's chat by bot/access.py (`set_menu`)."""

from __future__ import annotations

import logging

from aiogram import Bot, F, Router
from aiogram.filters import Command
from aiogram.types import LinkPreviewOptions, Message

from bot.access import MEMBERS, HasRole, member_name, set_app_button
from bot.outbox import Clock
from bot.texts import language, text
from dashboard.sessions import Person, new_login
from tracking.settings import Settings, base_url
from tracking.store.base import Store

log = logging.getLogger("chattrack.bot.web")

DASHBOARD_PATH = "/dashboard"


def mini_app_url(settings: Settings) -> str | None:
    """The dashboard as a Mini App: only over https, the only scheme Telegram opens Mini Apps from."""
    if settings.public_url is None or not settings.public_url.startswith("https://"):
        return None
    return settings.public_url + DASHBOARD_PATH


def web_router(store: Store, settings: Settings, *, clock: Clock) -> Router:
    """/web for owners and staff in their private chat (in a group the link would be everyone's:
    bot/access.py `private_only` answers there)."""
    router = Router(name="web")
    router.message.filter(HasRole(MEMBERS), F.chat.type == "private")
    app_url = mini_app_url(settings)

    @router.message(Command("web"))
    async def web(message: Message, bot: Bot) -> None:
        user = message.from_user
        assert user is not None  # the role filter matched a sender
        lang = language(user.language_code)
        secret = await new_login(store, Person(user_id=user.id, name=member_name(user, 64), lang=lang), clock())
        link = f"{base_url(settings)}{DASHBOARD_PATH}/login?token={secret}"
        answer = text(lang, "web_link", link=link)
        if app_url is not None:
            answer += text(lang, "web_app_hint", button=text(lang, "web_button"))
            await set_app_button(bot, user.id, app_url, lang)  # a member since start-up gets it now
        # No preview: Telegram's previewer would fetch the page (it spends nothing, but there is nothing to show).
        await message.answer(answer, link_preview_options=LinkPreviewOptions(is_disabled=True))
        log.info("dashboard link sent to %s", user.id)

    return router


__all__ = ["mini_app_url", "web_router"]
