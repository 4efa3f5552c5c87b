"""The team's side of a dialog: who took the lead, and whether (and how fast) the business answered."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

from tracking.models import AnswerState, Dialog
from tracking.store.base import ReplySource, ResponseRow

ReplyWindows = Mapping[tuple[str, str], datetime]  # (provider, business number) → replies reported since


def reply_windows(sources: Iterable[ReplySource]) -> dict[tuple[str, str], datetime]:
    return {(s.provider, s.business_number): s.since for s in sources}


def answer_state(dialog: Dialog | ResponseRow, windows: ReplyWindows) -> AnswerState:
    """Answered when a reply is known; unanswered only when its provider reported replies on this number
    from before the dialog opened (else a missing reply may just be one the provider does not tell of)."""
    if dialog.answered_at is not None:
        return AnswerState.ANSWERED
    since = windows.get((dialog.provider, dialog.business_number))
    return AnswerState.UNANSWERED if since is not None and since <= dialog.started_at else AnswerState.UNKNOWN


def response_seconds(dialog: Dialog | ResponseRow) -> float | None:
    """Seconds from the customer's first message to the business's first reply; None when not answered."""
    if dialog.answered_at is None:
        return None
    return max((dialog.answered_at - dialog.started_at).total_seconds(), 0.0)
