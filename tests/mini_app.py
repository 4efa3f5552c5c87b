"""A Mini App's launch, as Telegram makes it: initData signed as core.telegram.org/bots/webapps documents it
("Validating data received via the Mini App"), and the address a Telegram client opens the Mini App at."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from typing import Any
from urllib.parse import quote, urlencode

BOT_TOKEN = "123456:TEST-token"
THEME = {"bg_color": "#17212b", "text_color": "#f5f5f5", "hint_color": "#708499", "button_color": "#5288c1"}


def telegram_user(user_id: int, name: str = "Анна", lang: str | None = "ru") -> dict[str, Any]:
    user: dict[str, Any] = {"id": user_id, "first_name": name, "last_name": "", "allows_write_to_pm": True}
    if lang is not None:
        user["language_code"] = lang
    return user


def sign(fields: dict[str, str], token: str = BOT_TOKEN) -> str:
    """`fields` with their `hash`: the hex HMAC-SHA256 of the data-check-string (every field but the hash,
    sorted by name, `key=value` joined by line feeds) under the key HMAC-SHA256("WebAppData", bot token)."""
    check = "\n".join(f"{key}={value}" for key, value in sorted(fields.items()))
    secret = hmac.new(b"WebAppData", token.encode(), hashlib.sha256).digest()
    return hmac.new(secret, check.encode(), hashlib.sha256).hexdigest()


def init_data(
    person: dict[str, Any], auth_date: int, token: str = BOT_TOKEN, edits: dict[str, str] | None = None
) -> str:
    """The raw initData string (Telegram.WebApp.initData) a client hands a Mini App opened from the menu button.

    `edits` are made after signing (a forger's)."""
    fields = {
        "user": json.dumps(person, ensure_ascii=False, separators=(",", ":")),
        "chat_instance": "-3788475317572404878",
        "chat_type": "sender",
        "auth_date": str(auth_date),
        # Telegram adds an Ed25519 signature for third parties; the bot's own check signs it like any field.
        "signature": secrets.token_urlsafe(64),
    }
    fields["hash"] = sign(fields, token)
    fields.update(edits or {})
    return urlencode(fields, quote_via=quote)


def launch_fragment(data: str, theme: dict[str, str] | None = None) -> str:
    """The fragment Telegram appends to the Mini App's URL: its launch parameters."""
    params = {
        "tgWebAppData": data,
        "tgWebAppVersion": "8.0",
        "tgWebAppPlatform": "android",
        "tgWebAppThemeParams": json.dumps(theme or THEME, separators=(",", ":")),
    }
    return "#" + urlencode(params, quote_via=quote)
