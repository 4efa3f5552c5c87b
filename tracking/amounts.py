"""A sale's amount as an owner types it: «12 000», «12к», «1,2 млн», «12 000 ₽», «$120», «120 usd», «€95».

`parse_amount` reads one amount and the currency it names (a sign or a word), else the business currency;
what is not an amount is refused with a reason (`AmountError.reason`) the bot and the API put in words.
It reads back every amount `reports.i18n.money` writes, in Russian and English.

Separators: spaces of any kind and «'» group thousands; a comma or a point is the decimal mark, but one
followed by exactly three digits groups thousands («12,000», «12.000» are twelve thousand: nobody writes a
price to three decimals), as do repeated ones («1.200.000») and the first of two different ones
(«12,000.50», «12.000,50»).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import StrEnum

MAX_AMOUNT = Decimal(10) ** 10  # ten billion: more is a typo (a phone number, a date), not a sale
_CENT = Decimal("0.01")


class AmountProblem(StrEnum):
    """Why a text is not an amount."""

    EMPTY = "empty"
    NOT_A_NUMBER = "not_a_number"  # «двенадцать», «12 штук», «12-15»
    NEGATIVE = "negative"
    TOO_LARGE = "too_large"  # above MAX_AMOUNT
    TOO_PRECISE = "too_precise"  # more than two decimal places


_REASONS = {
    AmountProblem.EMPTY: "no amount given",
    AmountProblem.NOT_A_NUMBER: "not an amount: write a number, e.g. 12000, 12 000,50, 12k or $120",
    AmountProblem.NEGATIVE: "an amount cannot be negative",
    AmountProblem.TOO_LARGE: f"the amount is more than {MAX_AMOUNT:,} — a typo?",
    AmountProblem.TOO_PRECISE: "an amount has at most two decimal places",
}


class AmountError(ValueError):
    def __init__(self, reason: AmountProblem) -> None:
        super().__init__(_REASONS[reason])
        self.reason = reason


@dataclass(frozen=True)
class Amount:
    value: Decimal  # >= 0, at most two decimal places
    currency: str  # ISO 4217, upper case


# Signs and words naming a currency (lower case). A three-letter Latin word is taken as an ISO code.
CURRENCY_SIGNS = {"$": "USD", "€": "EUR", "£": "GBP", "₽": "RUB", "₸": "KZT", "₴": "UAH", "₺": "TRY", "₹": "INR"}
_WORDS = {
    "RUB": ("р", "руб", "рубль", "рубля", "рублей", "rub", "rur"),
    "USD": ("долл", "доллар", "доллара", "долларов", "бакс", "бакса", "баксов"),
    "EUR": ("евро",),
    "KZT": ("тенге", "тг"),
    "BYN": ("br", "бел"),
}
CURRENCY_WORDS = {word: code for code, words in _WORDS.items() for word in words}
# Multipliers: «12к», «12 тыс», «1,2 млн».
_THOUSAND = ("к", "k", "тыс", "тысяч", "тысячи", "тысяча", "т")
_MILLION = ("м", "млн", "миллион", "миллиона", "миллионов", "m", "mln")
MULTIPLIERS = {**{w: Decimal(1000) for w in _THOUSAND}, **{w: Decimal(1_000_000) for w in _MILLION}}

_SPACES = re.compile(r"[\s\u00a0\u202f\u2009\u2007']+")
_MINUS = re.compile(r"^[-\u2212\u2013\u2014]")
_NUMBER = re.compile(r"^\d[\d.,]*$")
_TAIL = re.compile(r"^(\d[\d.,]*)(\D.*)?$")


def parse_amount(text: str, default_currency: str) -> Amount:
    """The amount `text` says and its currency (`default_currency` unless a sign or a word names one)."""
    s = text.strip().lower()
    if not s:
        raise AmountError(AmountProblem.EMPTY)
    if _MINUS.match(s):
        raise AmountError(AmountProblem.NEGATIVE)
    currency: str | None = None
    # A sign before the number («$120», «₽ 500») or after it («500₽», «500 ₽»).
    if s[0] in CURRENCY_SIGNS:
        currency, s = CURRENCY_SIGNS[s[0]], s[1:].strip()
        if _MINUS.match(s):
            raise AmountError(AmountProblem.NEGATIVE)
    # Split off the words after the number: «12 000 руб», «12к», «1,2 млн», «120 usd», «12 тыс. руб.».
    s = _SPACES.sub(" ", s).strip()
    number, spaced, words = _split(s)
    multiplier: Decimal | None = None
    for position, word in enumerate(word.rstrip(".") for word in words):
        if word in MULTIPLIERS and position == 0:  # «12к», «12 тыс. руб.», «$12к»
            multiplier = MULTIPLIERS[word]
        elif currency is None and (code := _currency(word)) is not None:
            currency = code
        else:
            raise AmountError(AmountProblem.NOT_A_NUMBER)
    value = _number(number, spaced=spaced, decimals_free=multiplier is not None) * (multiplier or 1)
    return Amount(checked_amount(value), currency or default_currency.upper())


def amount_number(amount: Decimal) -> int | float:
    """An amount as a JSON number: whole amounts as integers; with two decimals at most a float prints back
    exactly as written."""
    return int(amount) if amount == amount.to_integral_value() else float(amount)


def checked_amount(value: Decimal) -> Decimal:
    """An amount within bounds, however it was read (typed text, a JSON number): not negative, at most
    MAX_AMOUNT, at most two decimals; a whole amount comes back without decimals. The size is checked first:
    a number of 30 digits cannot even be rounded to kopecks (Decimal's precision is 28 digits)."""
    if value < 0:
        raise AmountError(AmountProblem.NEGATIVE)
    if value > MAX_AMOUNT:
        raise AmountError(AmountProblem.TOO_LARGE)
    if value != value.quantize(_CENT):
        raise AmountError(AmountProblem.TOO_PRECISE)
    return Decimal(int(value)) if value == value.to_integral_value() else value.quantize(_CENT)


def _currency(word: str) -> str | None:
    if word in CURRENCY_SIGNS:
        return CURRENCY_SIGNS[word]
    if word in CURRENCY_WORDS:
        return CURRENCY_WORDS[word]
    return word.upper() if re.fullmatch(r"[a-z]{3}", word) else None


def _split(s: str) -> tuple[str, bool, list[str]]:
    """The number (its group spaces removed), whether spaces grouped it, and the words after it, each sign
    or word on its own."""
    digits: list[str] = []
    rest = s
    while rest:
        match = _TAIL.match(rest)
        if match is None:
            break
        digits.append(match.group(1))
        tail = match.group(2) or ""
        if not tail.startswith(" ") or not tail[1:2].isdigit():
            rest = tail
            break
        rest = tail[1:]  # a space between digit groups: «12 000»
    else:
        rest = ""
    if not digits:
        raise AmountError(AmountProblem.NOT_A_NUMBER)
    if len(digits) > 1 and not all(re.fullmatch(r"\d{3}([.,]\d*)?", group) for group in digits[1:]):
        raise AmountError(AmountProblem.NOT_A_NUMBER)  # «12 34», «1 2»: not groups of thousands
    words: list[str] = []
    for token in rest.split():
        # «12000р», «500₽», «12к»: a sign glued to a word («к₽») is two words
        words += [part for part in re.split(r"([$€£₽₸₴₺₹])", token) if part]
    return "".join(digits), len(digits) > 1, words


def _number(text: str, *, spaced: bool, decimals_free: bool) -> Decimal:
    """Digits with «,» and «.»: which one is the decimal mark (see the module's docstring). After groups
    of spaces («12 000,505») or with a multiplier («1.555к») a single mark is the decimal one."""
    if not _NUMBER.match(text) or text[-1] in ".,":
        raise AmountError(AmountProblem.NOT_A_NUMBER)
    marks = [c for c in text if c in ".,"]
    whole, fraction = text, ""
    if marks:
        last = max(text.rfind("."), text.rfind(","))
        after = text[last + 1 :]
        first_kind = marks[0]
        groups_only = len(set(marks)) == 1 and (
            len(marks) > 1 or (len(after) == 3 and not decimals_free and not spaced)
        )
        if groups_only:
            whole = text
        else:
            if len(set(marks)) == 2 and marks.count(text[last]) > 1:
                raise AmountError(AmountProblem.NOT_A_NUMBER)  # «1.2,3,4»
            whole, fraction = text[:last], after
            if any(c != first_kind for c in whole if c in ".,"):
                raise AmountError(AmountProblem.NOT_A_NUMBER)
        groups = re.split(r"[.,]", whole)
        if len(groups) > 1 and not all(len(group) == 3 for group in groups[1:]):
            raise AmountError(AmountProblem.NOT_A_NUMBER)  # «1,2,3»: not groups of thousands
        whole = "".join(groups)
    try:
        value = Decimal(f"{whole}.{fraction}" if fraction else whole)
    except InvalidOperation as exc:  # pragma: no cover - the patterns above admit digits only
        raise AmountError(AmountProblem.NOT_A_NUMBER) from exc
    if not decimals_free and len(fraction) > 2:
        raise AmountError(AmountProblem.TOO_PRECISE)
    return value
