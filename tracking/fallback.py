"""Fallback matching: a first message without a code, joined to the recent click that most likely sent it.

A customer who deletes the code still leaves evidence: the rest of the link's prefilled text, the time
since their click, a phone of their visit's country, a browser that wrote from this phone before, a bit
of the code. Each recent click on a link to the number is weighed (a likelihood against "someone
else"), and the best visit is named only when it holds at least `fallback_confidence` of the whole
weight, "none of them" included — and only on evidence the message itself carries: timing alone never
names a visit. A wrong attribution is worse than none: it sends the owner's budget the wrong way.

The model and its figures are in docs/attribution.md; bench/bench_fallback.py measures it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from importlib import resources
from statistics import NormalDist

import phonenumbers

from tracking.codes import marked_fragment
from tracking.demo import DEMO
from tracking.geo import region_country
from tracking.models import AttributionStatus, Click, Visit
from tracking.prefill import TextMatch, compare
from tracking.reasons import Reason, ReasonKind
from tracking.store.base import Bucket, CountQuery, Store

# Click to message, in log seconds: the messenger opens, the customer deletes the code, maybe edits, sends.
# Median a minute; one in twenty takes over 8 minutes (of those who do not come back much later, below).
DELAY = NormalDist(mu=math.log(60), sigma=1.3)
# Some come back to the chat much later (the phone rang, they compared prices): a tenth spread evenly over
# half an hour, so a click 20 minutes back is never ruled out by the curve alone. Without it, a customer who
# took long was given, with confidence, to a visit that clicked the same text a moment before they wrote.
LATE = 0.1
LATE_SPAN = 1800.0
# Clocks disagree: a provider's timestamp may be a little earlier than our record of the click.
SKEW = timedelta(seconds=60)
# The share of clicks that end in a message without its code (most clicks end in no message at all).
PER_CLICK = 0.1
# Code-less first messages a number gets, assumed at least (per second): a new install has no history.
MIN_RATE = 1 / 3600
HISTORY = timedelta(days=7)  # the number's rate of code-less first messages is measured over this
RATE_AGE = timedelta(minutes=10)  # and measured again after this much (message) time

SAME_BROWSER = 500.0  # this browser wrote from this phone before: the same person, but for a shared computer
OTHER_BROWSER = 0.5  # this phone wrote before, from other browsers only
OTHER_COUNTRY = 0.1  # the phone's country is not the visit's
TEXT_GONE = 0.3  # the link's text is gone: who deletes the code rarely rewrites the rest too
PER_WORD = 6.0  # each telling word of the link's text the message keeps
VERBATIM = 8.0  # the message holds the link's text exactly as written
MAX_RATIO = 1e4


@dataclass(frozen=True)
class Candidate:
    """One visit that clicked a link to the number, and how strongly the message points to it."""

    visit: Visit  # as stored: not yet attributed (Tracker.attributed)
    weight: float
    seconds: int  # from its click to the message
    kept: int | None  # percent of the link's text the message keeps, when that text points to it
    same_browser: bool = False
    code_part: bool = False

    @property
    def named(self) -> bool:
        """Whether the message itself points to this visit (timing alone never names one)."""
        return self.kept is not None or self.same_browser or self.code_part


@dataclass(frozen=True)
class ProbableMatch:
    visit: Visit  # as stored: not yet attributed (Tracker.attributed)
    reason: str
    confidence: float

    @property
    def code(self) -> str:
        return self.visit.code


def delay_density(seconds: float) -> float:
    """How likely a message comes this many seconds after its click (per second)."""
    seconds = max(seconds, 1.0)
    return (1 - LATE) * DELAY.pdf(math.log(seconds)) / seconds + LATE / LATE_SPAN


def text_ratio(match: TextMatch) -> float:
    """How much likelier this text is from the click's visitor than from anyone else."""
    if match.telling_total == 0:
        return 1.0  # the link had no text of its own: what the customer wrote tells nothing either way
    if match.evidence:
        # Each telling word kept is a word someone who never clicked would rarely have chosen; the text as
        # the link wrote it (its punctuation, its emoji) is rarer still.
        ratio = PER_WORD**match.telling_kept * match.kept**2 * (VERBATIM if match.verbatim else 1.0)
        return min(ratio, MAX_RATIO)
    return 1.0 if match.telling_kept else TEXT_GONE


def fragment_ratio(fragment: str | None, code: str) -> float:
    """A cut-short or mistyped code against a visit's code: 32 to one per symbol that agrees."""
    if fragment is None or len(fragment) < 3:
        return 1.0
    if code.startswith(fragment[: len(code)]) and len(fragment) <= len(code):
        return min(32.0 ** (len(fragment) - 1), MAX_RATIO)
    if len(fragment) >= len(code) - 1 and _one_edit(fragment, code):
        return MAX_RATIO
    return 1.0


def _one_edit(a: str, b: str) -> bool:
    """Whether `a` is `b` with one symbol changed, dropped or added."""
    if a == b:
        return True
    if len(a) == len(b):
        return sum(x != y for x, y in zip(a, b, strict=True)) == 1
    short, long = sorted((a, b), key=len)
    return len(long) - len(short) == 1 and any(long[:i] + long[i + 1 :] == short for i in range(len(long)))


@cache
def _zone_countries() -> dict[str, str]:
    """IANA time zone → ISO country, from tzdata's zone.tab."""
    text = resources.files("tzdata").joinpath("zoneinfo", "zone.tab").read_text(encoding="utf-8")
    countries = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            country, _, zone, *_ = line.split("\t")
            countries[zone] = country
    # Renamed zones browsers still report.
    countries.update({"Europe/Kiev": "UA", "Asia/Calcutta": "IN", "Asia/Saigon": "VN", "Asia/Rangoon": "MM"})
    return countries


def visit_country(visit: Visit) -> str | None:
    """The visit's country: its region's ISO code («Москва, RU»), else its browser's time zone's."""
    return region_country(visit.attribution.region or "") or _zone_countries().get(visit.timezone or "")


def phone_country(phone: str | None) -> str | None:
    if not phone or not phone.startswith("+"):
        return None
    try:
        return phonenumbers.region_code_for_number(phonenumbers.parse(phone)) or None
    except phonenumbers.NumberParseException:
        return None


class FallbackMatcher:
    """Weighs the recent clicks on a number against a code-less first message."""

    def __init__(self, store: Store, window: timedelta, confidence: float, markers: Sequence[str]) -> None:
        self.store = store
        self.window = window
        self.confidence = confidence
        self.markers = tuple(markers)
        self._rates: dict[str, tuple[datetime, float]] = {}

    async def match(
        self, business_number: str, contact_id: str, contact_phone: str | None, text: str, at: datetime
    ) -> ProbableMatch | None:
        if self.window <= timedelta(0):
            return None
        clicks = await self.store.recent_clicks(business_number, at - self.window, at + SKEW)
        if not clicks:
            return None  # most messages: no click near, no more look-ups
        candidates = await self._weigh(_latest_per_visit(clicks), contact_id, contact_phone, text, at)
        if not candidates:
            return None
        none = await self._codeless_rate(business_number, at) / PER_CLICK
        best = max(candidates, key=lambda c: c.weight)
        confidence = best.weight / (sum(c.weight for c in candidates) + none)
        if confidence < self.confidence or not best.named:
            return None
        reason = Reason(
            ReasonKind.SCORED,
            confidence=min(math.floor(confidence * 100), 99),
            kept=best.kept,
            seconds=best.seconds,
            same_browser=best.same_browser,
            code_part=best.code_part,
        )
        return ProbableMatch(visit=best.visit, reason=str(reason), confidence=confidence)

    async def _weigh(
        self, clicks: Iterable[Click], contact_id: str, contact_phone: str | None, text: str, at: datetime
    ) -> list[Candidate]:
        browsers = await self._contact_browsers(contact_id)
        country = phone_country(contact_phone)
        fragment = marked_fragment(text, self.markers)
        candidates = []
        for click in clicks:
            if await self.store.find_dialogs(code=click.code, limit=1):
                continue  # this visit wrote already: it cannot be this customer too
            visit = await self.store.get_visit(click.code)
            if visit is None:
                continue  # expired with its visit
            seconds = max((at - click.at).total_seconds(), 0.0)
            weight = delay_density(seconds)
            match = compare(text, click.prefill)
            weight *= text_ratio(match)
            same_browser = visit.visitor_id in browsers
            if browsers:
                weight *= SAME_BROWSER if same_browser else OTHER_BROWSER
            if country is not None and (where := visit_country(visit)) is not None and where != country:
                weight *= OTHER_COUNTRY
            by_fragment = fragment_ratio(fragment, click.code)
            weight *= by_fragment
            candidates.append(
                Candidate(
                    visit=visit,
                    weight=weight,
                    seconds=round(seconds),
                    kept=round(match.kept * 100) if match.evidence else None,
                    same_browser=same_browser,
                    code_part=by_fragment > 1.0,
                )
            )
        return candidates

    async def _contact_browsers(self, contact_id: str) -> set[str]:
        """The browsers (visitor ids) of the visits this contact's earlier dialogs came from."""
        browsers = set()
        for dialog in await self.store.find_dialogs(contact_id=contact_id, limit=5):
            if dialog.code and dialog.status in (AttributionStatus.EXACT, AttributionStatus.PROBABLE):
                visit = await self.store.get_visit(dialog.code)
                if visit is not None:
                    browsers.add(visit.visitor_id)
        return browsers

    async def _codeless_rate(self, business_number: str, at: datetime) -> float:
        """Code-less first messages a second on this number, over the days it had dialogs lately."""
        measured = self._rates.get(business_number)
        if measured is not None and timedelta(0) <= at - measured[0] < RATE_AGE:
            return measured[1]
        rows = await self.store.count_dialogs(
            CountQuery(
                start=at - HISTORY,
                end=at,
                group_by=["status"],
                bucket=Bucket.DAY,
                filters={"business_number": business_number},
                without_tags=[DEMO],  # the owner's demo leads say nothing about the number's customers
            )
        )
        codeless = sum(r.dialogs for r in rows if r.key.get("status") in _CODELESS)
        days = len({r.bucket for r in rows}) or 1
        rate = max(codeless / (days * 86400), MIN_RATE)
        self._rates[business_number] = (at, rate)
        return rate


_CODELESS = {AttributionStatus.NONE.value, AttributionStatus.PROBABLE.value}


def _latest_per_visit(clicks: Iterable[Click]) -> list[Click]:
    """One click a visit, its latest: the one that opened the chat the customer wrote in."""
    latest: dict[str, Click] = {}
    for click in clicks:
        if click.code not in latest or click.at >= latest[click.code].at:
            latest[click.code] = click
    return list(latest.values())
