"""Customers' edits of messages already stored: what an edit changes, decided without a store.

An edit replaces the text of its message. A dialog is attributed once, so only a dialog that has no code
yet looks for one in the edited text: a customer who sent the prefilled message without its code and
pasted the code in by an edit is attributed as if it had been there. An attributed dialog keeps its
attribution whatever the edit says (its own code is still stripped, as it was from the original).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from tracking.codes import extract_code
from tracking.models import AttributionStatus, Dialog, Visit
from tracking.reasons import Reason, ReasonKind
from tracking.store.base import CodeAttribution


@dataclass(frozen=True)
class Edit:
    text: str  # what is stored as the message's text
    code: str | None  # a code the edit brings to a dialog that had none


def read_edit(dialog: Dialog, text: str, markers: Iterable[str]) -> Edit:
    """The text to store for an edit of a message of `dialog`, and the code that attributes the dialog."""
    extraction = extract_code(text, markers)
    if dialog.code is None and extraction.code is not None:
        return Edit(text=extraction.text, code=extraction.code)
    if dialog.code is not None and extraction.code == dialog.code:
        return Edit(text=extraction.text, code=None)  # the code it had: stripped, nothing new
    return Edit(text=text, code=None)


def attribution_by_code(code: str, visit: Visit | None, dialog: Dialog) -> CodeAttribution:
    """What `code` gives a dialog that had none, as `Tracker.ingest` decides for a first message: the
    visit's attribution when the code is known (exact); else the ad the dialog came from, if any; else an
    unknown code. `visit` is the code's visit, attributed, or None."""
    if visit is not None:
        attribution = visit.attribution.model_copy()
        attribution.contact_page = attribution.contact_page or visit.current_page
        return CodeAttribution(code=code, status=AttributionStatus.EXACT, attribution=attribution, visit=visit)
    if dialog.status is AttributionStatus.AD_REFERRAL:  # the ad still tells where the customer came from
        return CodeAttribution(
            code=code,
            status=AttributionStatus.AD_REFERRAL,
            status_reason=str(Reason(ReasonKind.CODE_UNKNOWN_AD, code=code)),
            attribution=dialog.attribution,
        )
    return CodeAttribution(
        code=code,
        status=AttributionStatus.UNKNOWN_CODE,
        status_reason=str(Reason(ReasonKind.CODE_UNKNOWN, code=code)),
        attribution=dialog.attribution,
    )
