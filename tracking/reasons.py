"""Why a dialog got its attribution status: a reason kind and its values, never words for a person.

`Dialog.status_reason` stores a reason as a stable English line (what the API and older stores hold:
"code 7K3M9QX is unknown or expired"). `parse_reason` reads every such line, old or new, back into a
kind and its values, so the bot and the reports say it in the reader's language (reports/i18n.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum


class ReasonKind(StrEnum):
    CODE_UNKNOWN = "code_unknown"  # the message's code names no visit we keep
    CODE_UNKNOWN_AD = "code_unknown_ad"  # so, but the customer came from a click-to-WhatsApp ad
    AD = "ad"  # no code: a click-to-WhatsApp ad's data came with the message
    ONLY_CLICK = "only_click"  # no code: the only recent click on a link to the number (before 2026-12)
    SCORED = "scored"  # no code: the recent click the message's own evidence points to (tracking/fallback.py)


@dataclass(frozen=True)
class Reason:
    kind: ReasonKind
    code: str | None = None
    minutes: int | None = None
    # SCORED: how sure (percent), and what pointed to the visit
    confidence: int | None = None
    kept: int | None = None  # percent of the link's text the message keeps
    seconds: int | None = None  # from the click to the message
    same_browser: bool = False  # this browser wrote from this phone before
    code_part: bool = False  # the message keeps part of the code

    def __str__(self) -> str:
        """The stored form (English, stable: API clients and older stores read it)."""
        if self.kind is ReasonKind.CODE_UNKNOWN:
            return f"code {self.code} is unknown or expired"
        if self.kind is ReasonKind.CODE_UNKNOWN_AD:
            return f"code {self.code} is unknown or expired; click-to-WhatsApp ad"
        if self.kind is ReasonKind.AD:
            return "click-to-WhatsApp ad"
        if self.kind is ReasonKind.SCORED:
            signals = [f"written {self.seconds} s after the click"] if self.seconds is not None else []
            if self.kept is not None:
                signals.insert(0, f"keeps {self.kept}% of the link's text")
            if self.same_browser:
                signals.append(_SAME_BROWSER)
            if self.code_part:
                signals.append(_CODE_PART)
            return f"probable {self.confidence}%: " + "; ".join(signals)
        return f"the only click on a link to this number in the last {self.minutes} min"


_SAME_BROWSER = "the same browser wrote from this contact before"
_CODE_PART = "keeps part of the code"
_SCORED = re.compile(
    r"probable (?P<confidence>\d{1,3})%: (?:keeps (?P<kept>\d{1,3})% of the link's text(?:; |$))?"
    r"(?:written (?P<seconds>\d{1,7}) s after the click(?:; |$))?"
    rf"(?P<same_browser>{_SAME_BROWSER}(?:; |$))?(?P<code_part>{_CODE_PART})?"
)

_STORED = (
    (re.compile(r"code (?P<code>\S+) is unknown or expired; click-to-WhatsApp ad"), ReasonKind.CODE_UNKNOWN_AD),
    (re.compile(r"code (?P<code>\S+) is unknown or expired"), ReasonKind.CODE_UNKNOWN),
    (re.compile(r"click-to-WhatsApp ad"), ReasonKind.AD),
    (
        re.compile(r"the only click on a link to this number in the last (?P<minutes>\d{1,6}) min"),
        ReasonKind.ONLY_CLICK,
    ),
)


def parse_reason(stored: str | None) -> Reason | None:
    """The reason a stored line says; None for none, or for a line no version of chattrack wrote."""
    if not stored:
        return None
    line = stored.strip()
    scored = _SCORED.fullmatch(line)
    if scored is not None:
        confidence, kept, seconds = (
            None if v is None else int(v) for v in scored.group("confidence", "kept", "seconds")
        )
        return Reason(
            ReasonKind.SCORED,
            confidence=confidence,
            kept=kept,
            seconds=seconds,
            same_browser=scored["same_browser"] is not None,
            code_part=scored["code_part"] is not None,
        )
    for pattern, kind in _STORED:
        match = pattern.fullmatch(line)
        if match is not None:
            values = match.groupdict()
            minutes = values.get("minutes")
            return Reason(kind, code=values.get("code"), minutes=int(minutes) if minutes else None)
    return None
