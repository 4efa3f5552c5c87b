"""The tracking snippet: `snippet/t.js`, minified once, with the site's configuration injected.

The server serves `render_snippet(config)` at `GET /t.js`. The script's size budget is
`SIZE_BUDGET` bytes gzipped (checked by tests/test_snippet_build.py). What does not fit is
`snippet/tx.js`, served as `render_extension()` at `GET /tx.js` (t.js loads it after the page view).
"""

from __future__ import annotations

import gzip
import json
import re
from functools import cache
from importlib.resources import files

import phonenumbers
import rjsmin
from pydantic import BaseModel, Field, field_validator

from tracking.phones import normalise_phone

__all__ = [
    "SIZE_BUDGET",
    "SnippetConfig",
    "config_literal",
    "gzipped_size",
    "national_digits",
    "preset_pattern",
    "render_extension",
    "render_snippet",
]

SIZE_BUDGET = 2000  # bytes, gzip -9 of the served script
PLACEHOLDER = "CHATTRACK_CONFIG"
REGEX_PREFIX = "re:"


class SnippetConfig(BaseModel):
    """What the served script knows about the site: the links it marks and how."""

    # Tracked WhatsApp numbers as international digits ("79991234567"); "+7 (999) 123-45-67" is accepted.
    numbers: list[str] = Field(default_factory=list)
    # Tracked Telegram usernames, without @, compared lowercase.
    telegram: list[str] = Field(default_factory=list)
    # The word before the code in "(код 7K3M9QX)"; None: "код" on ru/uk/be/kk pages, else "ref".
    marker: str | None = None
    # (page path pattern, phrase) used as the prefilled text when a link has none. A pattern is a
    # glob ("/catalog/*", "**" crosses "/") or a JavaScript regex when written "re:..." or "^...".
    presets: list[tuple[str, str]] = Field(default_factory=list)
    # Nothing is stored in the browser until the site calls chattrack.consent().
    consent_required: bool = False

    @field_validator("numbers")
    @classmethod
    def _numbers(cls, value: list[str]) -> list[str]:
        out = []
        for raw in value:
            digits = re.sub(r"[\s+()\-.]", "", raw)
            if not re.fullmatch(r"\d{7,15}", digits):
                raise ValueError(f"{raw!r} is not an international phone number (digits with country code)")
            out.append(digits)
        return out

    @field_validator("telegram")
    @classmethod
    def _telegram(cls, value: list[str]) -> list[str]:
        out = []
        for raw in value:
            name = raw.strip().lstrip("@").lower()
            if not re.fullmatch(r"[a-z][a-z0-9_]{3,31}", name):
                raise ValueError(f"{raw!r} is not a Telegram username")
            out.append(name)
        return out

    @field_validator("marker")
    @classmethod
    def _marker(cls, value: str | None) -> str | None:
        # Word characters only: the script puts the marker into a regular expression as is.
        if value is not None and not re.fullmatch(r"[^\W_]{1,16}", value):
            raise ValueError(f"marker {value!r} must be 1-16 letters or digits")
        return value

    @field_validator("presets")
    @classmethod
    def _presets(cls, value: list[tuple[str, str]]) -> list[tuple[str, str]]:
        for pattern, phrase in value:
            try:
                re.compile(preset_pattern(pattern))
            except re.error as exc:
                raise ValueError(f"preset pattern {pattern!r}: {exc}") from exc
            if not phrase.strip() or len(phrase) > 200:
                raise ValueError(f"preset phrase for {pattern!r} must be 1-200 characters")
        return [(pattern, phrase.strip()) for pattern, phrase in value]


def preset_pattern(pattern: str) -> str:
    """The regular expression source (valid in JavaScript and Python) a preset pattern tests the path with."""
    if pattern.startswith(REGEX_PREFIX):
        return pattern[len(REGEX_PREFIX) :]
    if pattern.startswith("^"):
        return pattern
    parts = re.split(r"(\*\*|\*|\?)", pattern)
    wild = {"**": ".*", "*": "[^/]*", "?": "[^/]"}
    return "^" + "".join(wild.get(part) or re.escape(part) for part in parts) + "$"


@cache
def _minified() -> str:
    source = files(__name__).joinpath("t.js").read_text(encoding="utf-8")
    minified: str = rjsmin.jsmin(source)
    if minified.count(PLACEHOLDER) != 1:
        raise RuntimeError(f"snippet/t.js must contain {PLACEHOLDER} exactly once")
    return minified


@cache
def render_extension() -> bytes:
    """tx.js, served at `GET /tx.js` next to /t.js (same caching, and CORS: t.js loads it with import()).

    t.js imports it on every page, after the page view (a national number in a widget's settings or a
    `location.href = …` in its code leaves nothing to detect beforehand); it carries no configuration."""
    source = files(__name__).joinpath("tx.js").read_text(encoding="utf-8")
    return str(rjsmin.jsmin(source)).encode("utf-8")


def config_literal(config: SnippetConfig) -> str:
    """The configuration as the JavaScript object literal that replaces the placeholder in t.js.

    Keys unquoted and defaults left out (the script reads a missing key as false), every byte counts.
    No "<" (so no "</script>") and no U+2028/2029: safe even if someone inlines the script in HTML.
    """
    national = [national_digits(number) for number in config.numbers]
    fields = {
        "k": config.numbers + config.telegram,  # digits and usernames never collide
        # each number's national form ("89991234567"), at its index in k; 0 where it has none
        "n": [form or 0 for form in national] if any(national) else None,
        "p": [[preset_pattern(pattern), phrase] for pattern, phrase in config.presets],
        "m": config.marker,
        "c": config.consent_required,
    }
    text = "{" + ",".join(f"{key}:{_json(value)}" for key, value in fields.items() if value or key in "kp") + "}"
    return text.replace("<", "\\u003c").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def national_digits(number: str) -> str | None:
    """The digits of `number` (international digits) as written in its own country with the trunk
    prefix ("79991234567" -> "89991234567"), when those differ and read as no other number.

    A link to `wa.me/89991234567` opens no chat (WhatsApp takes international digits only); the snippet
    recognises the national form as the tracked number, as the server does for its own region, and
    corrects the link. A national form that is itself a valid international number is left out: that
    link may be someone else's.
    """
    try:
        parsed = phonenumbers.parse("+" + number)
    except phonenumbers.NumberParseException:
        return None
    region = phonenumbers.region_code_for_number(parsed)
    digits = re.sub(r"\D", "", phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL))
    if not region or digits in ("", number) or normalise_phone(digits, region) != "+" + number:
        return None
    return digits


def _json(value: object) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def render_snippet(config: SnippetConfig) -> bytes:
    """The script served at /t.js for this configuration (UTF-8)."""
    return _minified().replace(PLACEHOLDER, config_literal(config)).encode("utf-8")


def gzipped_size(config: SnippetConfig) -> int:
    """Bytes of the served script after gzip -9: the figure the size budget is about."""
    return len(gzip.compress(render_snippet(config), compresslevel=9, mtime=0))
