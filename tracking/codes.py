"""Tracking codes: the short code a visit carries into the customer's first message.

A code is 6 payload characters of Crockford base32 plus 1 Luhn mod N check character (N = 32),
e.g. ``7K3M9QX``. The snippet appends it to the prefilled text of click-to-chat links as
``"<text> (<marker> <CODE>)"``; when the message comes back we find the code, however the customer
or their keyboard mangled it, and strip it so the dialog shows what the customer wrote.

The browser snippet writes codes by the same rules (alphabet, check character, digit/letter mix,
prefill format); keep the two in step.
"""

from __future__ import annotations

import re
import secrets
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32: no I, L, O, U
PAYLOAD_LENGTH = 6
CODE_LENGTH = PAYLOAD_LENGTH + 1
MIN_DIGITS = 2  # in the payload: so a code never reads as a word...
MIN_LETTERS = 2  # ...nor as a number (order, phone, price)

DEFAULT_MARKERS: tuple[str, ...] = ("код", "ref")  # Cyrillic-language sites, all others
RUSSIAN_MARKER, LATIN_MARKER = DEFAULT_MARKERS

_VALUE = {symbol: value for value, symbol in enumerate(ALPHABET)}

# What a customer's phone may put in place of a code symbol, mapped to the symbol.
# Crockford decoding: case-insensitive, O -> 0, I and L -> 1 (U stays invalid).
# Cyrillic look-alikes: a Russian keyboard layout types these for the Latin letters (and З for 3).
_LOOK_ALIKES = {
    "O": "0", "I": "1", "L": "1",
    "А": "A", "В": "B", "С": "C", "Е": "E", "Н": "H", "К": "K", "М": "M", "О": "0",
    "Р": "P", "Т": "T", "Х": "X", "У": "Y", "З": "3", "Ѕ": "S", "І": "1", "Ј": "J",
    "Ԛ": "Q", "Ԝ": "W",
}  # fmt: skip
_TO_CANONICAL = str.maketrans(
    {**{c.lower(): c for c in ALPHABET if c.isalpha()}, **_LOOK_ALIKES}
    | {k.lower(): v for k, v in _LOOK_ALIKES.items()}
)

# A candidate is a whole word of exactly 7 word characters, not glued by URL, e-mail, path,
# hyphen or decimal punctuation to other word characters ("example.com/7K3M9QX", "SU-1234567").
_JOINERS = r"[./@#&=+%\\~-]"
_FREE_TOKEN = re.compile(rf"(?<!\w)(?<!\w{_JOINERS})\w{{{CODE_LENGTH}}}(?!\w)(?!{_JOINERS}\w)")
# Between a marker and its code the customer may leave spaces or put ":", "#", "№", "=", "-".
_MARKER_GAP = r"(?:\s*[:#№=.\-–—]+\s*|\s+)"
_OPENING = "([{«"
_CLOSING = ")]}»"
_TIGHT_BEFORE = ",.!?;:…)]}»\"'"  # punctuation that hugs the word before it, no space


def check_character(payload: str, alphabet: str = ALPHABET) -> str:
    """The Luhn mod N check character of ``payload`` (Wikipedia's "Luhn mod N algorithm").

    From the rightmost character leftwards the factor alternates 2, 1, 2…; each addend
    ``factor * value`` is folded to ``addend // N + addend % N``; the check value makes the sum
    divisible by N. It catches every single-character substitution and most adjacent swaps.
    """
    n = len(alphabet)
    total = 0
    factor = 2
    for symbol in reversed(payload):
        addend = factor * alphabet.index(symbol)
        total += addend // n + addend % n
        factor = 3 - factor
    return alphabet[(n - total % n) % n]


# Each symbol's folded Luhn addend at factor 1 and at factor 2, looked up instead of computed: a page
# view's code is checked once per visit, and the loop cost ~5 µs of that first view.
_ADDEND_1 = _VALUE
_ADDEND_2 = {symbol: 2 * value // len(ALPHABET) + 2 * value % len(ALPHABET) for symbol, value in _VALUE.items()}


def _check_passes(code: str) -> bool:
    """Validation half of Luhn mod N: factor starts at 1 over the whole code, sum % N == 0."""
    # From the right: factor 1 on the last symbol and every second one before it, 2 on the others.
    total = sum(map(_ADDEND_1.__getitem__, code[::-2])) + sum(map(_ADDEND_2.__getitem__, code[-2::-2]))
    return total % len(ALPHABET) == 0


def _mixed(payload: str) -> bool:
    digits = sum(map(str.isdigit, payload))
    return digits >= MIN_DIGITS and len(payload) - digits >= MIN_LETTERS


@lru_cache(maxsize=16384)
def is_valid_code(s: str) -> bool:
    """Whether ``s`` is a code in canonical form (upper case, no look-alikes): use for stored codes.
    Cached: a visit's code comes back with each of its page views (~5 µs saved each time)."""
    return len(s) == CODE_LENGTH and _VALUE.keys() >= set(s) and _mixed(s[:PAYLOAD_LENGTH]) and _check_passes(s)


def new_code() -> str:
    """A fresh random code; payloads without the digit/letter mix are drawn again."""
    while True:
        payload = "".join(secrets.choice(ALPHABET) for _ in range(PAYLOAD_LENGTH))
        if _mixed(payload):
            return payload + check_character(payload)


def _canonical(token: str) -> str:
    """Case and look-alikes folded to code symbols; other characters are left as they are."""
    return unicodedata.normalize("NFKC", token).translate(_TO_CANONICAL)


def normalise_code(s: str) -> str | None:
    """The canonical code written as ``s`` (any case, Cyrillic look-alikes, O/I/L), or None."""
    code = _canonical(s.strip())
    return code if is_valid_code(code) else None


def format_prefill(text: str, code: str, marker: str) -> str:
    """The prefilled message with the code appended: ``"Hi! (ref 7K3M9QX)"``, or ``"(ref 7K3M9QX)"``."""
    if not is_valid_code(code):
        raise ValueError(f"not a tracking code: {code!r}")
    if not marker.strip() or any(bracket in marker for bracket in _OPENING + _CLOSING):
        raise ValueError(f"a marker must be a non-empty word without brackets: {marker!r}")
    tag = f"({marker} {code})"
    text = text.rstrip()
    return f"{text} {tag}" if text else tag


@dataclass(frozen=True, slots=True)
class Extraction:
    """What a customer's message carried: the code (canonical) and the text they wrote."""

    code: str | None
    text: str
    marked: bool


@lru_cache(maxsize=32)
def _marked_pattern(markers: tuple[str, ...]) -> re.Pattern[str]:
    words = "|".join(re.escape(m) for m in sorted(markers, key=len, reverse=True))
    return re.compile(rf"(?<!\w)(?:{words}){_MARKER_GAP}(?P<token>\w+)", re.IGNORECASE)


def _looks_like_code(canonical: str) -> bool:
    """A marked token that may be a mistyped code: one symbol off, dropped or doubled at most."""
    return (
        CODE_LENGTH - 1 <= len(canonical) <= CODE_LENGTH + 1
        and all(symbol in _VALUE for symbol in canonical)
        and any(symbol.isdigit() for symbol in canonical)
        and any(symbol.isalpha() for symbol in canonical)
    )


def _widen(text: str, start: int, end: int, *, lone_brackets: bool) -> tuple[int, int]:
    """The span of a code grown over its "#"/"№" and the brackets around it, when present."""
    if text[start - 1 : start] in ("#", "№"):
        start -= 1
    before = len(text[:start].rstrip())
    after = len(text) - len(text[end:].lstrip())
    opened = before > 0 and text[before - 1] in _OPENING
    closed = after < len(text) and text[after] in _CLOSING
    if opened and (closed or lone_brackets):
        start = before - 1
    if closed and (opened or lone_brackets):
        end = after + 1
    return start, end


def _cut(text: str, start: int, end: int) -> str:
    """``text`` without ``[start:end]``, the whitespace around the hole tidied."""
    left = text[:start].rstrip()
    right = text[end:].lstrip()
    gap = text[len(left) : start] + text[end : len(text) - len(right)]
    if not left:
        return right.lstrip(",;:—–- ").strip()
    if not right or right[0] in _TIGHT_BEFORE:
        separator = ""
    elif "\n" in gap:
        separator = "\n"
    else:
        separator = " "
    return (left + separator + right).strip()


def extract_code(text: str, markers: Iterable[str] = DEFAULT_MARKERS) -> Extraction:
    """Find the tracking code in a customer's message and strip it (with its marker and brackets).

    A code after a marker ("ref", "код", a site's own) is trusted on its check character alone.
    Elsewhere a 7-character word counts only if it is also typed with at least two real digits,
    so words that happen to fold to valid codes (O -> 0, I -> 1) are never taken. A marked token
    that fails the check is a mistyped code: no guessing, no code, text kept. With several codes
    the last wins (the snippet appends); marked ones beat unmarked.
    """
    marked_valid: tuple[str, int, int] | None = None
    marked_invalid = False
    for match in _marked_pattern(tuple(markers)).finditer(text):
        canonical = _canonical(match["token"])
        if is_valid_code(canonical):
            marked_valid = (canonical, *_widen(text, match.start(), match.end(), lone_brackets=True))
        elif _looks_like_code(canonical):
            marked_invalid = True
    if marked_valid is not None:
        code, start, end = marked_valid
        return Extraction(code=code, text=_cut(text, start, end), marked=True)
    if marked_invalid:
        return Extraction(code=None, text=text.strip(), marked=True)

    for match in reversed(list(_FREE_TOKEN.finditer(text))):
        token = match.group()
        if sum("0" <= symbol <= "9" for symbol in unicodedata.normalize("NFKC", token)) < MIN_DIGITS:
            continue
        canonical = _canonical(token)
        if is_valid_code(canonical):
            start, end = _widen(text, match.start(), match.end(), lone_brackets=False)
            return Extraction(code=canonical, text=_cut(text, start, end), marked=False)
    return Extraction(code=None, text=text.strip(), marked=False)


def marked_fragment(text: str, markers: Iterable[str] = DEFAULT_MARKERS) -> str | None:
    """What is left of a code a customer cut short or mistyped («(код 7K3M», «ref 7K3M9QY»): the last
    marked token of 3–8 code symbols, canonical; None when there is none. No code by itself: it can
    only tell which of a few recent visits wrote (tracking/fallback.py)."""
    fragment = None
    for match in _marked_pattern(tuple(markers)).finditer(text):
        canonical = _canonical(match["token"])
        if 3 <= len(canonical) <= CODE_LENGTH + 1 and all(symbol in _VALUE for symbol in canonical):
            fragment = canonical
    return fragment
