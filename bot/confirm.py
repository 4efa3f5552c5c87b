"""«Да, удалить» / «Отмена» buttons for what cannot be undone (/forget, removing a staff member).

A button's callback data carries what it does, until when, and a signature over that and the id of the
person who was asked: only they can press it, and only for `LIFETIME`. Nothing is kept on the server, so
any copy of the server (webhook mode) can take the press, and a restart loses no pending question.
The signing key comes from the bot token (`confirmation_key`), like the webhook secret.

Data: `<kind>:<y|n>:<expiry, minutes since the epoch, base 36>:<signature>:<payload>`, at most 64 bytes
(Telegram's limit); the payload (a contact, a user id) goes last, as it may itself contain ':'.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from bot.texts import text

CALLBACK_LIMIT = 64  # bytes of callback_data Telegram accepts
LIFETIME = timedelta(minutes=15)
SIGNATURE_BYTES = 6  # 48 bits: a guess has to be pressed in Telegram, once per round trip

Clock = Callable[[], datetime]


class Refusal(StrEnum):
    EXPIRED = "confirm_expired"  # text keys of the polite answers
    FOREIGN = "confirm_foreign"


@dataclass(frozen=True)
class Answer:
    yes: bool
    payload: str


def confirmation_key(token: str | None) -> bytes:
    """The signing key: derived from the bot token, so every copy and every restart agree."""
    seed = (token or "").encode()
    return hmac.new(seed, b"chattrack confirmation buttons", hashlib.sha256).digest()


def _b36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        number, rest = divmod(number, 36)
        out = digits[rest] + out
        if not number:
            return out


class Confirmations:
    def __init__(self, key: bytes, clock: Clock, lifetime: timedelta = LIFETIME) -> None:
        self.key = key
        self.clock = clock
        self.lifetime = lifetime

    def _signature(self, kind: str, answer: str, expiry: str, payload: str, asker: int) -> str:
        message = "\0".join((kind, answer, expiry, payload, str(asker))).encode()
        digest = hmac.new(self.key, message, hashlib.sha256).digest()[:SIGNATURE_BYTES]
        return base64.urlsafe_b64encode(digest).decode()

    def data(self, kind: str, yes: bool, asker: int, payload: str) -> str | None:
        """The callback data of one button; None when the payload makes it longer than Telegram allows."""
        answer = "y" if yes else "n"
        expiry = _b36(int((self.clock() + self.lifetime).timestamp()) // 60)
        packed = f"{kind}:{answer}:{expiry}:{self._signature(kind, answer, expiry, payload, asker)}:{payload}"
        return packed if len(packed.encode()) <= CALLBACK_LIMIT else None

    def keyboard(self, lang: str, kind: str, asker: int, payload: str) -> InlineKeyboardMarkup | None:
        """«Да, удалить» and «Отмена» for `asker`; None when the payload does not fit in a button."""
        yes, no = self.data(kind, True, asker, payload), self.data(kind, False, asker, payload)
        if yes is None or no is None:
            return None
        buttons = [
            InlineKeyboardButton(text=text(lang, "confirm_yes"), callback_data=yes),
            InlineKeyboardButton(text=text(lang, "confirm_no"), callback_data=no),
        ]
        return InlineKeyboardMarkup(inline_keyboard=[buttons])

    def read(self, data: str, asker: int) -> Answer | Refusal:
        """What a press means, or why it is refused: pressed by someone else (or forged), or too late."""
        kind, answer, expiry, signature, payload = [*data.split(":", 4), "", "", "", ""][:5]
        expected = self._signature(kind, answer, expiry, payload, asker)
        if answer not in ("y", "n") or not hmac.compare_digest(signature, expected):
            return Refusal.FOREIGN
        try:
            until = int(expiry, 36) * 60
        except ValueError:
            return Refusal.FOREIGN
        if self.clock().timestamp() > until:
            return Refusal.EXPIRED
        return Answer(yes=answer == "y", payload=payload)


__all__ = ["Answer", "Confirmations", "Refusal", "confirmation_key"]
