"""Who an owner means when they name a customer (to erase them): as an alert or a card shows them.

A phone in any common format ('8 (916) 123-45-67', '+7 916 123 45 67'), a Telegram customer by the
contact id a card shows ('tg:777'), the bare user id ('777') or the @username their name carries
('@olga_flowers'), or a provider's own contact id as stored, or a user id linked to a phone (Meta's BSUID).
"""

from __future__ import annotations

import re

from tracking.phones import normalise_phone
from tracking.store.base import Store

MAX_NAMING = 64  # longer than any phone, id or username
TELEGRAM_PREFIX = "tg:"  # Telegram customers' contact ids (bot/customers.py)
_TELEGRAM_ID = re.compile(r"(?:tg:)?([0-9]{1,20})", re.IGNORECASE)


def telegram_user(contact_id: str) -> int | None:
    """The Telegram user id of a Telegram customer's contact id; None for other contacts."""
    number = contact_id.removeprefix(TELEGRAM_PREFIX)
    # ASCII digits of a plausible length only: int() refuses "²" and numbers of thousands of digits.
    plausible = number.isascii() and number.isdigit() and len(number) <= 20
    return int(number) if contact_id.startswith(TELEGRAM_PREFIX) and plausible else None


async def contacts_meant(store: Store, naming: str, default_region: str) -> list[str]:
    """The stored contact ids `naming` names; [] when nobody stored answers to it.

    A bare number may be a phone written without '+' or a Telegram user id: the phone is tried first
    (it is what owners type), so one erase never takes two people. A username names every Telegram
    customer whose stored name carries it (it may have passed from one account to another)."""
    naming = naming.strip()
    if not naming or len(naming) > MAX_NAMING:
        return []
    if naming.startswith("@"):
        named = await store.telegram_contacts(naming[1:])
        if named:
            return named
    explicit = naming.lower().startswith(TELEGRAM_PREFIX)  # libphonenumber would read "tg:916…" as a phone
    candidates = [None if explicit else normalise_phone(naming, default_region)]
    if (telegram := _TELEGRAM_ID.fullmatch(naming)) is not None:
        candidates.append(TELEGRAM_PREFIX + telegram[1])
    candidates.append(naming)  # a provider's own id, as stored
    named = []
    for contact_id in dict.fromkeys(c for c in candidates if c):
        if await store.find_dialogs(contact_id=contact_id, limit=1):
            named.append(contact_id)
            break
    # A provider's user id (Meta's `US.1349…`) also names the phone it was linked to: the same person.
    linked = await store.aliased_contact(naming)
    if linked is not None and linked not in named:
        named.append(linked)
    return named


__all__ = ["contacts_meant", "telegram_user"]
