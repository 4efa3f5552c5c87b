"""Phone numbers: everything becomes E.164 ('+79991234567') before it is compared or stored.

Providers and people write numbers in many shapes: '+7 (999) 123-45-67', '89991234567' (Russian
trunk prefix), 'whatsapp:+14155238886' (Twilio), '79991234567' (Meta's WaId: digits, no '+').
libphonenumber knows every country's rules; we only decide how to treat bare digits.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat

from tracking.models import TELEGRAM_USERNAME

DEFAULT_REGION = "RU"

# Provider address prefixes in front of the number ('whatsapp:+1...', 'tel:+7...').
_SCHEME = re.compile(r"^\s*(?:whatsapp|tel|sms|viber|wa):", re.IGNORECASE)
# A WhatsApp account's chat id: Green-API's '79991234567@c.us', WhatsApp Web's '…@s.whatsapp.net'.
# ('…@lid' is a hidden-number id, not a phone: kept whole.)
_CHAT_SUFFIX = re.compile(r"@(?:c\.us|s\.whatsapp\.net)$", re.IGNORECASE)
_BARE_DIGITS = re.compile(r"[0-9]+")
_WRITTEN_NUMBER = re.compile(r"\+?[0-9][0-9 ()\-.]*")
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
        fixed = _whatsapp_form(number)
        if fixed is None:
            return None
        number = fixed
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)


def _whatsapp_form(number: phonenumbers.PhoneNumber) -> phonenumbers.PhoneNumber | None:
    """The valid number an invalid one stands for in WhatsApp's own forms, else None.

    Mexico: mobiles were dialled from abroad as +52 1 + 10 digits until 2019, and WhatsApp still names
    them so ('5215512345678'); E.164 is +52 + the 10 digits. Brazil: mobiles got a ninth digit (a leading
    9) in 2012-2016, but WhatsApp ids of accounts registered before keep 55 + area code + the 8 old digits.
    Only numbers libphonenumber rejects are rewritten, so no valid number ever changes. (Argentine
    mobiles arrive as 549 + area code + number, which is already their E.164 form.)"""
    national = str(number.national_number)
    if number.country_code == 52 and len(national) == 11 and national.startswith("1"):
        candidate = national[1:]
    elif number.country_code == 55 and len(national) == 10:
        candidate = national[:2] + "9" + national[2:]
    else:
        return None
    fixed = phonenumbers.PhoneNumber(country_code=number.country_code, national_number=int(candidate))
    kinds = (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE)
    return fixed if phonenumbers.is_valid_number(fixed) and phonenumbers.number_type(fixed) in kinds else None


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


def parse_channel_addresses(channels: Mapping[str, str], default_region: str = DEFAULT_REGION) -> dict[str, str]:
    """A messenger platform's channels (Wazzup's channel ids) each with the address it runs, from settings:
    a phone number in any common format becomes E.164, a Telegram account is '@username' in lower case.
    Raises PhoneError naming the first channel whose address is neither."""
    addresses: dict[str, str] = {}
    for channel, written in channels.items():
        address = written.strip() if isinstance(written, str) else ""
        if address.startswith("@") and TELEGRAM_USERNAME.fullmatch(address[1:]):
            addresses[channel] = address.lower()
        elif (number := normalise_phone(address, default_region)) is not None:
            addresses[channel] = number
        else:
            raise PhoneError(
                f"channel {channel!r}: {written!r} is neither a phone number (like +79991234567) nor a Telegram "
                "@username"
            )
    return addresses


def whatsapp_contact(raw: str, default_region: str = DEFAULT_REGION) -> tuple[str, str | None]:
    """(contact id, phone) of a WhatsApp sender as any provider names it: 'whatsapp:+5215512345678'
    (Twilio), '5215512345678' (Meta), '5215512345678@c.us' (Green-API) all give
    ('+525512345678', '+525512345678'), so one person is one contact whichever provider carried the message.

    The phone is the E.164 number or None. Without one, the contact id is the sender's digits as
    '+<digits>' when they look like a number (6-15 digits: test and new numbers libphonenumber does not
    know yet), else the id itself. A contact id never keeps a channel prefix or a chat suffix."""
    text = _SCHEME.sub("", raw if isinstance(raw, str) else "").strip()
    text = _CHAT_SUFFIX.sub("", text).strip()
    phone = normalise_phone(text, default_region)
    if phone is not None:
        return phone, phone
    return _unknown_number(text) or text, None


def whatsapp_number(raw: str, default_region: str = DEFAULT_REGION) -> str | None:
    """The business's WhatsApp number as a provider names it ('+1 555-0100', '79001234567@c.us'), in E.164.
    A number libphonenumber does not know (Meta's +1 555 test numbers, a new range) is still the number the
    customer wrote to: kept as '+<digits>'. None for what is no number."""
    text = _CHAT_SUFFIX.sub("", _SCHEME.sub("", raw if isinstance(raw, str) else "").strip()).strip()
    return normalise_phone(text, default_region) or _unknown_number(text)


def _unknown_number(text: str) -> str | None:
    """'+<digits>' of a written number libphonenumber does not know, when it has 6–15 digits."""
    number = _NON_DIGITS.sub("", text)
    return "+" + number if _WRITTEN_NUMBER.fullmatch(text) and 6 <= len(number) <= 15 else None


def digits(e164: str) -> str:
    """The number's digits without '+', as wa.me links want them: '+79991234567' → '79991234567'."""
    return _NON_DIGITS.sub("", e164)
