"""Owning the bot without numeric ids: the one-time claim link, and handing the bot over.

When a bot token is set and nobody owns the bot (no CHATTRACK_TELEGRAM_OWNER_IDS, no stored owner), the
primary process makes a one-time secret at start-up (`new_claim`) and prints the link
`https://t.me/<bot>?start=own_<secret>` with its QR code (`claim_block`). Only the secret's digest is stored
(the mark `owner_claim:<sha256>`, replacing older ones), as invites are (bot/access.py). The first person who
opens the link owns the bot (`claim`): the claim mark is taken exactly once and the mark `owner` added
exactly once, so of two people racing (two links of two copies of the server, or one link twice) one wins.

An owner who claimed the bot hands it to a staff member with /owner (`hand_over`), confirmed with a button
only they can press (bot/confirm.py). The new owner leaves the staff list; the old one joins it first, so
they never lose access, even if the server stops halfway. Owners set by the setting are the setting's:
neither the link nor /owner changes them.
"""

from __future__ import annotations

import io
import logging
import re
import secrets
from collections.abc import Callable
from datetime import datetime
from enum import StrEnum
from typing import Any

import segno
from aiogram import Bot, F, Router
from aiogram.exceptions import AiogramError
from aiogram.filters import Command, CommandObject, CommandStart
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message

from bot.access import HasRole, Role, Steps, digest, member_name, set_menu
from bot.confirm import Confirmations, Refusal
from bot.owners import OWNER_MARK, Owners
from bot.texts import language, text
from tracking.models import NAME_LIMIT
from tracking.store.base import StaffMember, Store
from tracking.strings import one_line

log = logging.getLogger("chattrack.bot.ownership")

CLAIM_PREFIX = "own_"
CLAIM_PAYLOAD = re.compile(r"own_[A-Za-z0-9_-]{16,60}")  # start parameters: A–Z a–z 0–9 _ -, up to 64
CLAIM_MARK = "owner_claim:"  # + the secret's sha256: {"at": ISO time}
HANDOVER_KIND = "ownerto"  # the handover's confirmation buttons (bot/confirm.py)

Clock = Callable[[], datetime]


# the claim ----------------------------------------------------------------------------------------------


async def new_claim(store: Store, owners: Owners, now: datetime) -> str | None:
    """A fresh one-time secret while nobody owns the bot (older links die with their marks); None when owned."""
    await owners.refresh(force=True)
    if owners or owners.configured:
        return None
    secret = secrets.token_urlsafe(24)  # 32 characters of A–Z a–z 0–9 _ -
    for key in await store.marks(CLAIM_MARK):
        await store.take_mark(key)
    await store.put_mark(CLAIM_MARK + digest(secret), {"at": now.isoformat()})
    return secret


def claim_link(username: str, secret: str) -> str:
    return f"https://t.me/{username}?start={CLAIM_PREFIX}{secret}"


def claim_block(link: str) -> str:
    """What start-up prints: the link, and its QR code drawn with text blocks for a phone's camera."""
    qr = io.StringIO()
    segno.make(link).terminal(out=qr, compact=True)
    return "\n".join(
        [
            "",
            "Nobody owns the Telegram bot yet. Open this link in Telegram (or scan the code with your phone);",
            "the first person to open it becomes the owner, and the link then stops working:",
            f"  {link}",
            qr.getvalue().rstrip("\n"),
            "",
        ]
    )


class Claim(StrEnum):
    """How a claim went; each value is the text key of its answer."""

    OWNED = "claim_owned"
    ALREADY = "claim_already"  # the owner opened the link again
    TAKEN = "claim_taken"  # someone else owns the bot
    USED = "claim_used"  # no such claim (used, replaced by a restart, forged)
    CONFIGURED = "claim_configured"  # the setting names the owners


async def claim(store: Store, owners: Owners, secret: str, user: dict[str, Any], now: datetime) -> Claim:
    """`user`: {"user_id", "name", "username"} of the person who opened the link."""
    if owners.configured:
        return Claim.CONFIGURED
    await owners.refresh(force=True)
    if user["user_id"] in owners:
        return Claim.ALREADY
    if await store.take_mark(CLAIM_MARK + digest(secret)) is None:  # exactly one opener gets past this
        return Claim.TAKEN if owners else Claim.USED
    mark = {**user, "at": now.isoformat()}
    if not await store.add_mark(OWNER_MARK, mark):  # another copy's link won a moment before
        await owners.refresh(force=True)
        return Claim.ALREADY if user["user_id"] in owners else Claim.TAKEN
    owners.seen(mark)
    await _leave_staff(store, user["user_id"])  # an owner is not also listed as staff
    return Claim.OWNED


# the handover -------------------------------------------------------------------------------------------


async def hand_over(store: Store, owners: Owners, old: dict[str, Any], new: StaffMember, now: datetime) -> bool:
    """Make the staff member `new` the owner in place of `old` (who stays as staff). False when `old` does not
    own the bot (any more) or the setting names the owners: nothing changes then."""
    if owners.configured:
        return False
    current = await store.get_mark(OWNER_MARK)
    if current is None or current.get("user_id") != old["user_id"]:
        owners.seen(current)
        return False
    # First the old owner joins the staff: stopped halfway, they keep their access rather than lose it.
    if await store.get_staff(old["user_id"]) is None:
        seat = StaffMember(
            user_id=old["user_id"], name=old["name"], username=old.get("username"), added_at=now, added_by=new.user_id
        )
        await store.add_staff(seat)
    taken = await store.take_mark(OWNER_MARK)  # exactly once: of two handovers pressed at once, one goes
    if taken is None or taken.get("user_id") != old["user_id"]:
        if taken is not None:
            await store.add_mark(OWNER_MARK, taken)  # not ours to give: back as it was
        await owners.refresh(force=True)
        return False
    mark = {"user_id": new.user_id, "name": new.name, "username": new.username, "at": now.isoformat()}
    if not await store.add_mark(OWNER_MARK, mark):
        await owners.refresh(force=True)
        return False
    owners.seen(mark)
    await _leave_staff(store, new.user_id)
    return True


async def _leave_staff(store: Store, user_id: int) -> None:
    """Off the staff list, keeping their summary time and mute (removal drops them with the member)."""
    if await store.get_staff(user_id) is None:
        return
    choice = next((c for c in await store.summary_choices() if c.user_id == user_id), None)
    muted = user_id in await store.muted_users()
    await store.remove_staff(user_id)
    if choice is not None:
        await store.set_summary_choice(choice)
    if muted:
        await store.set_alerts_muted(user_id, True)


def owner_name(mark: dict[str, Any] | None) -> str:
    if mark is None:
        return "?"
    name = one_line(str(mark.get("name") or mark.get("user_id")), NAME_LIMIT)
    username = mark.get("username")
    return name + (f" (@{username})" if isinstance(username, str) and username else "")


class OwnerCallback(CallbackData, prefix="owner"):
    """`owner:to:<user_id>` — the owner asks to hand the bot to a staff member (confirmed by HANDOVER_KIND)."""

    action: str
    user_id: int


# the router ---------------------------------------------------------------------------------------------


def ownership_router(
    store: Store,
    owners: Owners,
    *,
    confirmations: Confirmations,
    clock: Clock,
    steps: Steps | None = None,
    kick: Callable[[], None] = lambda: None,
    lang: str = "ru",
    app_url: str | None = None,
) -> Router:
    """/start own_… (anyone, private chats), /owner and its handover buttons (owners). `kick`: the outbox,
    so alerts that waited for an owner leave at once. `lang`: the bot's, for the new owner's notice.
    `app_url`: the dashboard as a Mini App (over https), for the menu button of whoever owns the bot now."""
    router = Router(name="ownership")
    bot_lang = lang
    owners_only = HasRole({Role.OWNER})

    @router.message(CommandStart(deep_link=True, magic=F.args.startswith(CLAIM_PREFIX)), F.chat.type == "private")
    async def claim_bot(message: Message, command: CommandObject, bot: Bot) -> None:
        user = message.from_user
        assert user is not None  # private chats always have a sender
        lang = language(user.language_code)
        if owners.configured:
            await message.answer(text(lang, Claim.CONFIGURED.value, user_id=user.id))
            return
        payload = command.args or ""
        if CLAIM_PAYLOAD.fullmatch(payload) is None:  # a cut or mangled link
            await message.answer(text(lang, Claim.USED.value))
            return
        person = {"user_id": user.id, "name": member_name(user), "username": user.username}
        outcome = await claim(store, owners, payload.removeprefix(CLAIM_PREFIX), person, clock())
        if outcome is not Claim.OWNED:
            await message.answer(text(lang, outcome.value))
            return
        log.info("telegram user %s claimed the bot with the start-up link: they own it now", user.id)
        todo = await steps(user.id, lang) if steps is not None else ""
        await message.answer(text(lang, "claim_owned", name=user.first_name) + (f"\n\n{todo}" if todo else ""))
        await set_menu(bot, user.id, Role.OWNER, app_url, lang)
        kick()  # alerts that waited for an owner

    @router.message(Command("owner"), owners_only, F.chat.type == "private")
    async def show_owner(message: Message) -> None:
        user = message.from_user
        assert user is not None
        lang = language(user.language_code)
        answer, keyboard = await _owner_view(lang, user.id)
        await message.answer(answer, reply_markup=keyboard)

    @router.callback_query(OwnerCallback.filter(F.action == "to"), owners_only)
    async def ask_hand_over(query: CallbackQuery, callback_data: OwnerCallback) -> None:
        lang = language(query.from_user.language_code)
        member = await store.get_staff(callback_data.user_id)
        if owners.configured or member is None:
            await query.answer(text(lang, "owner_configured" if owners.configured else "staff_missing"))
            return
        await query.answer()
        if not isinstance(query.message, Message):
            return
        asker, payload = query.from_user.id, str(member.user_id)
        yes = confirmations.data(HANDOVER_KIND, True, asker, payload)
        no = confirmations.data(HANDOVER_KIND, False, asker, payload)
        assert yes is not None and no is not None  # a user id always fits
        keyboard = InlineKeyboardMarkup(
            inline_keyboard=[
                [
                    InlineKeyboardButton(text=text(lang, "owner_confirm_yes"), callback_data=yes),
                    InlineKeyboardButton(text=text(lang, "confirm_no"), callback_data=no),
                ]
            ]
        )
        await query.message.edit_text(text(lang, "owner_confirm", name=_describe(member)), reply_markup=keyboard)

    # No role filter: a press by anyone but the owner who asked is refused by its signature, and said so.
    @router.callback_query(F.data.startswith(HANDOVER_KIND + ":"))
    async def confirm_hand_over(query: CallbackQuery, bot: Bot) -> None:
        lang = language(query.from_user.language_code)
        verdict = confirmations.read(query.data or "", query.from_user.id)
        if isinstance(verdict, Refusal):  # another's button, a forged one, or too late: nothing happens
            await query.answer(text(lang, verdict.value), show_alert=True)
            return
        message = query.message if isinstance(query.message, Message) else None
        if not verdict.yes or not verdict.payload.isdigit():
            await query.answer()
            if message is not None:
                await message.edit_text(text(lang, "owner_kept"))
            return
        member = await store.get_staff(int(verdict.payload))
        if member is None:
            await query.answer(text(lang, "staff_missing"), show_alert=True)
            return
        old = {"user_id": query.from_user.id, "name": member_name(query.from_user)}
        old["username"] = query.from_user.username
        if not await hand_over(store, owners, old, member, clock()):
            key = "owner_configured" if owners.configured else "owner_gone"
            await query.answer(text(lang, key), show_alert=True)
            return
        log.info("owner %s handed the bot over to %s", query.from_user.id, member.user_id)
        await query.answer()
        if message is not None:
            await message.edit_text(text(lang, "owner_handed", name=_describe(member)))
        await set_menu(bot, member.user_id, Role.OWNER, app_url, bot_lang)
        await set_menu(bot, query.from_user.id, Role.STAFF, app_url, lang)
        try:  # the new owner is not the one talking: the bot's language
            await bot.send_message(member.user_id, text(bot_lang, "owner_received", name=owner_name(old)))
        except AiogramError as exc:
            log.info("could not tell the new owner %s: %s", member.user_id, exc)

    async def _owner_view(lang: str, user_id: int) -> tuple[str, InlineKeyboardMarkup | None]:
        if owners.configured:
            return text(lang, "owner_configured"), None
        title = text(lang, "owner_title", name=owner_name(await store.get_mark(OWNER_MARK)))
        members = [member for member in await store.list_staff() if member.user_id != user_id]
        if not members:
            return f"{title}\n\n{text(lang, 'owner_no_staff')}", None
        buttons = [
            [
                InlineKeyboardButton(
                    text=text(lang, "owner_button", name=_name(member))[:64],
                    callback_data=OwnerCallback(action="to", user_id=member.user_id).pack(),
                )
            ]
            for member in members
        ]
        return f"{title}\n\n{text(lang, 'owner_choose')}", InlineKeyboardMarkup(inline_keyboard=buttons)

    return router


def _name(member: StaffMember) -> str:
    return one_line(member.name, NAME_LIMIT)


def _describe(member: StaffMember) -> str:
    return _name(member) + (f" (@{member.username})" if member.username else "")


__all__ = [
    "CLAIM_MARK",
    "CLAIM_PREFIX",
    "Claim",
    "OwnerCallback",
    "claim",
    "claim_block",
    "claim_link",
    "hand_over",
    "new_claim",
    "ownership_router",
]
