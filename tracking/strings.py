"""Outside strings made safe to keep and to show.

Names, UTM values, page addresses and ids come from customers, providers and anyone who can call
`/collect`; none of them is bounded at the source. `one_line` is the one rule for a field shown on one
line (alerts, cards, reports): a newline, a bidi override or a zero-width character in a contact's name
must not forge an extra line of an alert or turn the text around. `bounded` and `bounded_id` cap what
is kept at ingest; `message_text` cleans a customer's multi-line message for showing.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

ELLIPSIS = "…"

# Characters that are never shown as themselves: controls (Cc), format characters (Cf: bidi embeddings,
# overrides and isolates, LRM/RLM/ALM, zero-width space/joiners, word joiner, BOM, tag characters), lone
# surrogates (Cs: not even encodable as UTF-8) and the Unicode line and paragraph separators (Zl, Zp).
_HIDDEN = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
_BREAKS = frozenset("\n\r\t\v\f\x1c\x1d\x1e\x85\u2028\u2029")  # become a space, so words stay apart
# In a multi-line text only what reorders or hides text goes; line breaks stay, and joiners too (emoji).
_SPACES = re.compile(" {2,}")
_MULTI_LINE_HIDDEN = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff\ud800-\udfff]"
)


def cut(value: str, limit: int) -> str:
    """`value` in at most `limit` characters, an ellipsis marking a cut."""
    if len(value) <= limit:
        return value
    return value[: max(limit - 1, 0)] + ELLIPSIS if limit > 0 else ""


def one_line(value: object, limit: int | None = None) -> str:
    """A one-line field as it may be shown: line breaks and tabs become spaces; control, bidi, zero-width
    and other invisible format characters are dropped; the ends are trimmed; cut to `limit` characters.
    None is the empty string."""
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    if not text.isprintable():  # rare: printable text (most of it) takes no per-character pass
        kept = "".join(" " if char in _BREAKS else char for char in text if char in _BREAKS or not _hidden(char))
        text = _SPACES.sub(" ", kept)  # "a\r\nb" reads "a b"; no-break spaces stay
    text = text.strip()
    return text if limit is None else cut(text, limit)


def _hidden(char: str) -> bool:
    return unicodedata.category(char) in _HIDDEN


def message_text(value: str | None, limit: int | None = None) -> str:
    """A customer's message as it may be shown: its lines kept, controls, bidi marks and lone surrogates
    dropped, cut to `limit` characters."""
    text = _MULTI_LINE_HIDDEN.sub("", value or "").replace("\r\n", "\n").replace("\r", "\n").strip()
    return text if limit is None else cut(text, limit)


def bounded(value: str, limit: int) -> str:
    """Kept as it came (lone surrogates aside, which no store can encode), at most `limit` characters."""
    if not value.isprintable():
        value = "".join(char for char in value if not "\ud800" <= char <= "\udfff")
    return cut(value, limit)


def secret_digest(secret: str) -> str:
    """What is stored of a one-time secret (an invite, the bot's claim link, the doctor's probe): its SHA-256,
    so reading the store does not give the secret away."""
    return hashlib.sha256(secret.encode()).hexdigest()


def bounded_id(value: str, limit: int) -> str:
    """An id kept in at most `limit` characters and still telling different ids apart: a longer one keeps
    its head and a digest of the whole (the same id always gives the same result, so retries still match)."""
    value = bounded(value, len(value))
    if len(value) <= limit:
        return value
    digest = hashlib.sha256(value.encode()).hexdigest()[:32]
    return value[: limit - len(digest) - 1] + "~" + digest
