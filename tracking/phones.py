"""Phone numbers: everything becomes E.164 ('+79991234567') before it is compared or stored.

Providers and people write numbers in many shapes: '+7 (999) 123-45-67', '89991234567' (Russian
trunk prefix), 'whatsapp:+14155238886' (Twilio), '79991234567' (Meta's WaId: digits, no '+').
libphonenumber knows every country's rules; we only decide how to treat bare digits.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat

DEFAULT_REGION = "RU"

# Provider address prefixes in front of the number ('whatsapp:+1...', 'tel:+7...').
_SCHEME = re.compile(r"^\s*(?:whatsapp|tel|sms|viber|wa):", re.IGNORECASE)
_BARE_DIGITS = re.compile(r"[0-9]+")
_NON_DIGITS = re.compile(r"[^0-9]")
# Settings list separators: numbers themselves contain spaces, so only these split entries.
_LIST_SEPARATORS = re.compile(r"[,;\n]")
_MAX_INPUT = 64  # far longer than any written phone number; cheap guard against junk


class PhoneError(ValueError):
    """A configured phone number that is not a valid number."""


def _parse_valid(text: str, region: str | None) -> str | None:
    try:
        number = phonenumbers.parse(text, region)
    except NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)


def normalise_phone(raw: str, default_region: str = DEFAULT_REGION) -> str | None:
    """E.164 form of `raw`, or None when it is not a valid phone number.

    Bare digits ('79991234567', as WhatsApp ids arrive) are tried as an international number
    first, then as a national one of `default_region` ('89991234567' → '+79991234567').
    """
    if not isinstance(raw, str) or len(raw) > _MAX_INPUT or not isinstance(default_region, str):
        return None
    return _normalise(raw, default_region)


@functools.lru_cache(maxsize=4096)  # a contact's messages come minutes apart; the business number always hits
def _normalise(raw: str, default_region: str) -> str | None:
    """Cached: every message names the business's number and a contact who usually writes several times,
    and libphonenumber's parse and validation cost ~40 µs a number."""
    text = _SCHEME.sub("", raw).strip()
    if not text:
        return None
    region = default_region.upper()
    if _BARE_DIGITS.fullmatch(text):
        return _parse_valid("+" + text, None) or _parse_valid(text, region)
    return _parse_valid(text, region)


def parse_tracked_numbers(raw: str | Iterable[str], default_region: str = DEFAULT_REGION) -> list[str]:
    """The business's tracked numbers from settings, in E.164, without duplicates, in order.

    `raw` is a list or one string separated by commas, semicolons or newlines. Raises PhoneError
    naming the first entry that is not a valid number.
    """
    entries = _LIST_SEPARATORS.split(raw) if isinstance(raw, str) else list(raw)
    numbers: list[str] = []
    for entry in entries:
        if not entry.strip():
            continue
        number = normalise_phone(entry, default_region)
        if number is None:
            raise PhoneError(
                f"{entry.strip()!r} is not a valid phone number (write it in international form, like +79991234567)"
            )
        if number not in numbers:
            numbers.append(number)
    return numbers


def digits(e164: str) -> str:
    """The number's digits without '+', as wa.me links want them: '+79991234567' → '79991234567'."""
    return _NON_DIGITS.sub("", e164)
