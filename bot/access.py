"""Who may use the bot: owners (CHATTRACK_TELEGRAM_OWNER_IDS, else the person who claimed the bot with the
one-time link printed at start-up: bot/owners.py, bot/ownership.py), staff (invited by an owner), everyone
else (refused).

`RoleMiddleware` works out the sender's role once per update and hands it to filters and handlers as
`role`; each router then says who it serves with `router.message.filter(MEMBERS)` and the like. Strangers
reach only the final fallback router, which answers them with a polite refusal and nothing else.

Invites are one-time deep links `t.me/<bot>?start=inv_<secret>`. Only a digest of the secret is stored, so
reading the database does not let anyone in; redeeming is atomic in the store (exactly once, before expiry).
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from aiogram import BaseMiddleware, Bot, F, Router
from aiogram.exceptions import AiogramError
from aiogram.filters import Command, CommandObject, CommandStart, Filter
from aiogram.filters.callback_data import CallbackData
from aiogram.types import (
    BotCommand,
    BotCommandScopeChat,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    MenuButtonDefault,
    MenuButtonWebApp,
    Message,
    TelegramObject,
    Update,
    User,
    WebAppInfo,
)
from aiogram.utils.deep_linking import create_start_link

from bot.confirm import Confirmations, Refusal
from bot.owners import Owners, as_owners
from bot.texts import TEXTS, language, text
from dashboard.sessions import SESSION_PREFIX
from reports.i18n import day_label
from tracking.models import NAME_LIMIT
from tracking.store.base import Invite, StaffMember, Store
from tracking.strings import one_line
from tracking.strings import secret_digest as digest

log = logging.getLogger("chattrack.bot.access")

INVITE_PREFIX = "inv_"
INVITE_LIFETIME = timedelta(days=7)
INVITE_PAYLOAD = r"^inv_[A-Za-z0-9_-]{16,60}$"  # start parameters allow A–Z a–z 0–9 _ -, up to 64
REMOVE_KIND = "staffrm"  # the removal's confirmation buttons (bot/confirm.py)


Clock = Callable[[], datetime]


class Role(StrEnum):
    OWNER = "owner"
    STAFF = "staff"
    STRANGER = "stranger"


MEMBERS = frozenset({Role.OWNER, Role.STAFF})
GROUP_CHATS = frozenset({"group", "supergroup"})


class RoleMiddleware(BaseMiddleware):
    """Outer update middleware: puts the sender's `role` into the handler data (a store read at most, and the
    owner's mark when this copy's reading of it is older than its ttl: a claim in another copy is seen)."""

    def __init__(self, store: Store, owner_ids: Owners | Iterable[int]) -> None:
        self.store = store
        self.owners = as_owners(owner_ids)

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        data["role"] = await self.role_of(event, data.get("event_from_user"))
        return await handler(event, data)

    async def role_of(self, event: TelegramObject, user: User | None) -> Role:
        if user is None:
            return Role.STRANGER
        await self.owners.refresh()
        if user.id in self.owners:
            return Role.OWNER
        # Customers writing to a Business account are never staff here: spare the store a read per message.
        if isinstance(event, Update) and event.message is None and event.callback_query is None:
            return Role.STRANGER
        return Role.STAFF if await self.store.get_staff(user.id) is not None else Role.STRANGER


class HasRole(Filter):
    """Passes when the sender's role (from RoleMiddleware) is one of `roles`."""

    def __init__(self, roles: Iterable[Role]) -> None:
        self.roles = frozenset(roles)

    async def __call__(self, event: TelegramObject, role: Role = Role.STRANGER) -> bool:
        return role in self.roles


class StaffCallback(CallbackData, prefix="staff"):
    """`staff:rm:<user_id>` — an owner asks to remove a staff member (confirmed by REMOVE_KIND buttons)."""

    action: str
    user_id: int


# the menu -----------------------------------------------------------------------------------------

# The commands of each menu; their descriptions are the texts "menu_<command>" of bot/texts.py.
MEMBER_MENU = (
    "stats",
    "channels",
    "pages",
    "team",
    "compare",
    "report",
    "dialog",
    "recent",
    "summary",
    "alerts",
    "web",
    "help",
)
OWNER_MENU = ("invite", "staff", "forget", "owner", "status", "demo")
MEMBER_COMMANDS: dict[str, tuple[tuple[str, str], ...]] = {
    lang: tuple((name, TEXTS[lang][f"menu_{name}"]) for name in MEMBER_MENU) for lang in ("ru", "en")
}
OWNER_COMMANDS: dict[str, tuple[tuple[str, str], ...]] = {
    lang: tuple((name, TEXTS[lang][f"menu_{name}"]) for name in OWNER_MENU) for lang in ("ru", "en")
}


def menu(role: Role, lang: str) -> list[BotCommand]:
    pairs = MEMBER_COMMANDS[lang] + (OWNER_COMMANDS[lang] if role is Role.OWNER else ())
    return [BotCommand(command=name, description=description) for name, description in pairs]


async def set_menu(bot: Bot, chat_id: int, role: Role, app_url: str | None = None, lang: str = "ru") -> bool:
    """The command menu of one member's private chat, in Russian and (by default) English; with `app_url`
    (the dashboard over https: bot/web.py `mini_app_url`) also the menu button «Отчёты» that opens it.

    Per chat rather than for everyone, so customers who greet the bot never see report commands.
    False when Telegram refused (the person never opened the bot yet); their /start sets it again.
    """
    scope = BotCommandScopeChat(chat_id=chat_id)
    try:
        await bot.set_my_commands(menu(role, "ru"), scope=scope, language_code="ru")
        await bot.set_my_commands(menu(role, "en"), scope=scope)
    except AiogramError as exc:
        log.info("menu for chat %s not set: %s", chat_id, exc)
        return False
    if app_url is not None:
        await set_app_button(bot, chat_id, app_url, lang)
    return True


async def set_app_button(bot: Bot, chat_id: int, app_url: str, lang: str) -> None:
    """The chat's menu button opens the dashboard as a Mini App (Telegram then hands it signed initData).
    One button per chat, in one language: the person's when known, else the bot's."""
    button = MenuButtonWebApp(text=text(lang, "web_button"), web_app=WebAppInfo(url=app_url))
    try:
        await bot.set_chat_menu_button(chat_id=chat_id, menu_button=button)
    except AiogramError as exc:
        log.info("menu button for chat %s not set: %s", chat_id, exc)


async def clear_menu(bot: Bot, chat_id: int) -> None:
    """A removed member's chat: no report commands, Telegram's default menu button."""
    scope = BotCommandScopeChat(chat_id=chat_id)
    try:
        await bot.delete_my_commands(scope=scope, language_code="ru")
        await bot.delete_my_commands(scope=scope)
        await bot.set_chat_menu_button(chat_id=chat_id, menu_button=MenuButtonDefault())
    except AiogramError as exc:
        log.info("menu for chat %s not cleared: %s", chat_id, exc)


async def set_menus(
    bot: Bot, store: Store, owner_ids: Owners | Iterable[int], app_url: str | None = None, lang: str = "ru"
) -> None:
    """At start-up: every owner's (the stored one read again) and staff member's menu, and with `app_url` the
    dashboard's menu button (in the bot's language `lang`: start-up knows nobody's own)."""
    owners = as_owners(owner_ids)
    await owners.refresh(force=True)
    for owner in owners:
        await set_menu(bot, owner, Role.OWNER, app_url, lang)
    for member in await store.list_staff():
        await set_menu(bot, member.user_id, Role.STAFF, app_url, lang)


async def end_dashboard_sessions(store: Store, user_id: int) -> None:
    """A removed member's dashboard sessions (dashboard/sessions.py): the dashboard already refuses them by
    role on every request; ending them means an invite later does not bring an old session back."""
    for key, value in (await store.marks(SESSION_PREFIX)).items():
        if value.get("user_id") == user_id:
            await store.take_mark(key)


# routers ------------------------------------------------------------------------------------------


def member_name(user: User, limit: int = NAME_LIMIT) -> str:
    """A person's name as the bot keeps or shows it (staff, takers, replies): one line, bounded — a Telegram
    name is anyone's to write (tracking/strings.py)."""
    return one_line(user.full_name, limit) or (f"@{user.username}" if user.username else str(user.id))


def access_router(
    store: Store,
    *,
    zone: ZoneInfo,
    clock: Clock,
    confirmations: Confirmations,
    lang: str = "ru",
    app_url: str | None = None,
) -> Router:
    """/start inv_… (anyone), /invite and /staff with its remove buttons (owners only), each removal
    confirmed with a button only the owner who pressed ✖ can press (bot/confirm.py).

    `lang` is for messages to an owner who is not the one talking (the bot's configured language);
    `app_url`: the dashboard's menu button for a new member (bot/web.py)."""
    router = Router(name="access")
    owners_only = HasRole({Role.OWNER})

    @router.message(CommandStart(deep_link=True, magic=F.args.regexp(INVITE_PAYLOAD)), F.chat.type == "private")
    async def redeem(message: Message, command: CommandObject, role: Role, bot: Bot) -> None:
        user = message.from_user
        assert user is not None  # private chats always have a sender
        reply = language(user.language_code)
        if role is not Role.STRANGER:  # keep the invite for the person it was meant for
            await message.answer(text(reply, "invite_owner" if role is Role.OWNER else "invite_already"))
            return
        secret = (command.args or "").removeprefix(INVITE_PREFIX)
        member = await store.redeem_invite(digest(secret), user.id, member_name(user), user.username, clock())
        if member is None:
            await message.answer(text(reply, "invite_invalid"))
            return
        log.info("staff member %s joined with an invite of owner %s", user.id, member.added_by)
        await message.answer(text(reply, "invite_welcome", name=user.first_name))
        await set_menu(bot, user.id, Role.STAFF, app_url, reply)
        try:  # the owner learns who used their link: a forwarded link may reach the wrong person
            await bot.send_message(member.added_by, text(lang, "invite_joined", name=_describe(member)))
        except AiogramError as exc:
            log.info("could not tell owner %s about the new staff member: %s", member.added_by, exc)

    @router.message(Command("invite"), owners_only, F.chat.type == "private")  # a link posted in a group: anyone's
    async def invite(message: Message, bot: Bot) -> None:
        user = message.from_user
        assert user is not None
        lang = language(user.language_code)
        secret = secrets.token_urlsafe(24)  # 32 characters of A–Z a–z 0–9 _ -
        now = clock()
        expires = now + INVITE_LIFETIME
        await store.create_invite(Invite(token=digest(secret), created_by=user.id, created_at=now, expires_at=expires))
        link = await create_start_link(bot, INVITE_PREFIX + secret)
        local = expires.astimezone(zone)
        until = f"{day_label(lang, local.date())}, {local:%H:%M}"
        await message.answer(text(lang, "invite_link", link=link, until=until))

    @router.message(Command("staff"), owners_only, F.chat.type == "private")
    async def staff(message: Message) -> None:
        lang = language(message.from_user.language_code if message.from_user else None)
        answer, keyboard = await _staff_list(store, lang, zone)
        await message.answer(answer, reply_markup=keyboard)

    @router.callback_query(StaffCallback.filter(F.action == "rm"), owners_only)
    async def ask_remove(query: CallbackQuery, callback_data: StaffCallback) -> None:
        """The ✖ under a name asks first: removing cannot be undone (the person needs a new invite)."""
        lang = language(query.from_user.language_code)
        member = await store.get_staff(callback_data.user_id)
        await query.answer(text(lang, "staff_missing") if member is None else None)
        if not isinstance(query.message, Message):
            return
        if member is None:
            answer, keyboard = await _staff_list(store, lang, zone)
            await query.message.edit_text(answer, reply_markup=keyboard)
            return
        keyboard = confirmations.keyboard(lang, REMOVE_KIND, query.from_user.id, str(member.user_id))
        await query.message.edit_text(text(lang, "staff_confirm", name=_describe(member)), reply_markup=keyboard)

    @router.callback_query(F.data.startswith(REMOVE_KIND + ":"), owners_only)
    async def remove(query: CallbackQuery, bot: Bot) -> None:
        lang = language(query.from_user.language_code)
        verdict = confirmations.read(query.data or "", query.from_user.id)
        if isinstance(verdict, Refusal):  # another's button, a forged one, or too late: nothing happens
            await query.answer(text(lang, verdict.value), show_alert=True)
            return
        if not verdict.yes or not verdict.payload.isdigit():
            await query.answer()
        else:
            user_id = int(verdict.payload)
            member = await store.get_staff(user_id)
            removed = await store.remove_staff(user_id)
            if not removed or member is None:
                await query.answer(text(lang, "staff_missing"))
            else:
                log.info("owner %s removed staff member %s", query.from_user.id, member.user_id)
                await query.answer(text(lang, "staff_removed", name=_name(member)))
                await clear_menu(bot, member.user_id)
                await end_dashboard_sessions(store, member.user_id)
        if isinstance(query.message, Message):  # the list again, as it is now
            answer, keyboard = await _staff_list(store, lang, zone)
            await query.message.edit_text(answer, reply_markup=keyboard)

    return router


def _describe(member: StaffMember) -> str:
    return _name(member) + (f" (@{member.username})" if member.username else "")


def _name(member: StaffMember) -> str:
    """A member's name as shown: on one line, whatever an older version stored."""
    return one_line(member.name, NAME_LIMIT)


async def _staff_list(store: Store, lang: str, zone: ZoneInfo) -> tuple[str, InlineKeyboardMarkup | None]:
    members = await store.list_staff()
    if not members:
        return text(lang, "staff_none"), None
    lines = [text(lang, "staff_title", count=len(members))]
    buttons = []
    for index, member in enumerate(members, 1):
        since = day_label("ru" if lang == "ru" else "en", member.added_at.astimezone(zone).date())
        username = f" (@{member.username})" if member.username else ""
        lines.append(text(lang, "staff_line", index=index, name=_name(member), username=username, since=since))
        buttons.append(
            [
                InlineKeyboardButton(
                    text=text(lang, "staff_remove", name=_name(member))[:64],
                    callback_data=StaffCallback(action="rm", user_id=member.user_id).pack(),
                )
            ]
        )
    return "\n".join(lines), InlineKeyboardMarkup(inline_keyboard=buttons)


Steps = Callable[[int, str], Awaitable[str]]  # an owner's next steps (bot/onboarding.py): user id, language


def start_router(steps: Steps | None = None, app_url: str | None = None) -> Router:
    """/start without an invite: members are greeted in their language, owners with the steps they have
    not taken yet; anyone else is politely refused. `app_url`: the dashboard's menu button (bot/web.py)."""
    router = Router(name="start")

    @router.message(CommandStart(), HasRole(MEMBERS))
    async def greet(message: Message, role: Role, bot: Bot) -> None:
        user = message.from_user
        assert user is not None  # the role filter matched a sender
        lang = language(user.language_code)
        key = "start_owner" if role is Role.OWNER else "start_staff"
        greeting = text(lang, key, name=user.first_name)
        todo = await steps(user.id, lang) if steps is not None and role is Role.OWNER else ""
        await message.answer(greeting + (f"\n\n{todo}" if todo else ""))
        if message.chat.type == "private":
            await set_menu(bot, user.id, role, app_url, lang)

    @router.message(CommandStart())
    async def refuse(message: Message) -> None:
        code = message.from_user.language_code if message.from_user else None
        await message.answer(text(language(code), "start_stranger"))

    return router


def fallback_router() -> Router:
    """Last in line: members who typed something unknown get the help hint, strangers a refusal."""
    router = Router(name="fallback")

    @router.message(F.chat.type.in_(GROUP_CHATS), HasRole(MEMBERS), F.text.startswith("/"))
    async def private_only(message: Message, bot: Bot) -> None:
        """Reports, the card, invites and erasure speak of customers and money: in a group everyone would
        read them, staff or not. Only commands meant for this bot (`/stats@thisbot` or bare) are answered."""
        command = (message.text or "").split(maxsplit=1)[0]
        me = await bot.me()
        if "@" in command and command.split("@", 1)[1].lower() != (me.username or "").lower():
            return
        code = message.from_user.language_code if message.from_user else None
        await message.reply(text(language(code), "private_only", bot=f"@{me.username}"))

    @router.message(F.chat.type == "private", HasRole(MEMBERS))
    async def unknown(message: Message) -> None:
        code = message.from_user.language_code if message.from_user else None
        await message.answer(text(language(code), "unknown_command"))

    @router.message(F.chat.type == "private")
    async def refuse(message: Message) -> None:
        code = message.from_user.language_code if message.from_user else None
        await message.answer(text(language(code), "start_stranger"))

    @router.callback_query()
    async def not_allowed(query: CallbackQuery, role: Role) -> None:
        # Members reach here only with a stale button (an old keyboard layout): say nothing is wrong.
        if role in MEMBERS:
            await query.answer()
            return
        await query.answer(text(language(query.from_user.language_code), "not_allowed"), show_alert=True)

    return router


__all__ = [
    "MEMBERS",
    "HasRole",
    "Role",
    "RoleMiddleware",
    "StaffCallback",
    "access_router",
    "clear_menu",
    "digest",
    "end_dashboard_sessions",
    "fallback_router",
    "menu",
    "set_app_button",
    "set_menu",
    "set_menus",
    "start_router",
]


def reply_to_bot(message: Message, bot: Bot) -> Message | None:
    """The bot's own message that `message` answers, when it is a reply to one and not a command (commands sent
    as replies stay commands): a relayed customer message, a lead alert, a sale's amount question."""
    replied = message.reply_to_message
    if replied is None or replied.from_user is None or replied.from_user.id != bot.id:
        return None
    return None if (message.text or "").startswith("/") else replied
