"""Fallback matching: a first message without a code, joined to a recent click on a link to that number.

Only an unambiguous match counts: exactly one visit clicked a link to this number within the window
and has not already produced a dialog. Anything else stays unattributed — a wrong attribution is worse
than none.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from tracking.reasons import Reason, ReasonKind
from tracking.store.base import Store


@dataclass(frozen=True)
class ProbableMatch:
    code: str
    reason: str


async def match_recent_click(
    store: Store, business_number: str, received_at: datetime, window: timedelta
) -> ProbableMatch | None:
    clicks = await store.recent_clicks(business_number, received_at - window, received_at)
    candidates = {click.code for click in clicks}
    for code in list(candidates):
        # A visit whose code already reached us exactly is accounted for; it cannot be this customer.
        if await store.find_dialogs(code=code, limit=1):
            candidates.discard(code)
    if len(candidates) != 1:
        return None
    (code,) = candidates
    minutes = round(window.total_seconds() / 60)
    return ProbableMatch(code=code, reason=str(Reason(ReasonKind.ONLY_CLICK, minutes=minutes)))
