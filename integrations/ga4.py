"""Conversions to Google Analytics 4 through the Measurement Protocol (web stream).

Each GA4 outbox item becomes one of GA4's recommended lead events for the visitor's `_ga` client id:
`generate_lead` (a new lead), `qualify_lead` (tagged qualified), `close_convert_lead` (a sale, with its
amount as read now). A request carries the events of one client id (at most 25, GA4's limit):

    POST {ga4_api_url}/mp/collect?measurement_id=G-…&api_secret=…
    {"client_id": "123.456", "timestamp_micros": 1764000000000000,
     "events": [{"name": "close_convert_lead",
                 "params": {"currency": "RUB", "value": 12000, "engagement_time_msec": 1}}]}

GA4's collect endpoint answers 2xx to everything, a malformed event included, so every request first goes
to the validation server ({ga4_api_url}/debug/mp/collect: the same request, nothing recorded). An event it
names in `validationMessages` is refused with GA4's own description, the others go on to /mp/collect. The
validation server is sent no `validation_behavior`, as production requests are not: it then refuses exactly
what collect would drop. Neither endpoint checks the api_secret: a wrong one is accepted and silently
dropped, so a delivery can say "sent" while GA4 recorded nothing (docs/conversions.md says how to check).

Times: GA4 takes an event's own time (`timestamp_micros`) only a little into the past. For events meant for
the ad platforms Google asks for no older than two business days, stricter than the general 72 hours, so an
event older than BACKDATE_LIMIT goes without one and GA4 dates it on arrival. Ad platforms take events up to
63 days after the visitor's last session: a conversion after that is too late to link (TOO_LATE).

The snippet keeps the `_ga` client id, not the `_ga_<container>` session cookie, so events carry no
session_id: GA4 counts them for the user (key events, Google Ads), not inside the original session.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import aiohttp

from integrations.base import Delivered, Outgoing, failure_note, retry_after, retry_note
from tracking.amounts import amount_number
from tracking.models import GA4, DeliveryOutcome, Goal
from tracking.periods import utc_now
from tracking.settings import Settings

log = logging.getLogger("chattrack.ga4")

EVENT_NAMES = {Goal.LEAD: "generate_lead", Goal.QUALIFIED: "qualify_lead", Goal.SALE: "close_convert_lead"}
MAX_EVENTS = 25  # GA4: events per request
BACKDATE_LIMIT = timedelta(hours=48)  # "two business days" for ad-platform events (72 h in general)
EXPORT_WINDOW = timedelta(days=63)  # events reach the ad platforms up to 63 days after the last session
ENGAGEMENT_MSEC = 1  # GA4 shows MP events in user activity only with some engagement time; ours is none
TIMEOUT = 10.0  # seconds for one request
NOTE_LIMIT = 300  # characters of a reason kept with the item
# The `_ga` cookie ("GA1.1.1234567890.1764000000") or what the snippet keeps of it ("1234567890.1764000000").
_CLIENT_ID = re.compile(r"(?:GA\d+\.[\d-]+\.)?(\d+\.\d+)")
_EVENT_INDEX = re.compile(r"events\[(\d+)\]|index: \[(\d+)\]")


def ga_client_id(raw: str | None) -> str | None:
    """The client id GA's tag uses: the `_ga` cookie's last two fields, or None for anything else."""
    found = _CLIENT_ID.fullmatch(raw.strip()) if raw else None
    return found.group(1) if found else None


@dataclass(frozen=True, slots=True)
class _Event:
    index: int  # in the batch
    client_id: str
    timestamp_micros: int | None
    body: dict[str, Any]


class GA4Sender:
    """The outbox's Sender for GA4 items (integrations/base.py)."""

    kind = GA4
    batch_size = 100

    def __init__(
        self,
        settings: Settings,
        http: aiohttp.ClientSession,
        *,
        clock: Callable[[], datetime] = utc_now,
        timeout: float = TIMEOUT,
    ) -> None:
        if settings.ga4_measurement_id is None or settings.ga4_api_secret is None:
            raise ValueError("GA4 needs CHATTRACK_GA4_MEASUREMENT_ID and CHATTRACK_GA4_API_SECRET")
        self.settings = settings
        self.http = http
        self.clock = clock
        self.timeout = timeout
        secret = settings.ga4_api_secret.get_secret_value()
        self.query = {"measurement_id": settings.ga4_measurement_id, "api_secret": secret}
        self.collect_url = f"{settings.ga4_api_url}/mp/collect"
        self.debug_url = f"{settings.ga4_api_url}/debug/mp/collect"

    async def send(self, batch: Sequence[Outgoing]) -> list[Delivered]:
        now = self.clock()
        results: list[Delivered | None] = [None] * len(batch)
        requests: dict[tuple[str, int | None], list[_Event]] = {}
        for index, outgoing in enumerate(batch):
            planned = self.event(outgoing, index, now)
            if isinstance(planned, Delivered):
                results[index] = planned
            else:
                requests.setdefault((planned.client_id, planned.timestamp_micros), []).append(planned)
        chunks = [
            (client_id, micros, events[start : start + MAX_EVENTS])
            for (client_id, micros), events in requests.items()
            for start in range(0, len(events), MAX_EVENTS)
        ]
        later: Delivered | None = None  # GA4 asked us to wait (or was away): the rest waits with it
        for client_id, micros, chunk in chunks:
            if later is not None:
                done = {event.index: later for event in chunk}
            else:
                done = await self._request(client_id, micros, chunk)
            for index, delivered in done.items():
                results[index] = delivered
                later = later or (delivered if delivered.outcome is None else None)
        return [result or Delivered(None, "not sent") for result in results]

    def event(self, outgoing: Outgoing, index: int, now: datetime) -> _Event | Delivered:
        """The event an item sends, or how it ends without one."""
        item, dialog = outgoing.item, outgoing.dialog
        visit = dialog.visit
        client_id = ga_client_id(visit.ga_client_id) if visit is not None else None
        if visit is None or client_id is None:
            return Delivered(DeliveryOutcome.SKIPPED, "no_client_id")
        if item.goal is None:
            return Delivered(DeliveryOutcome.SKIPPED, "no_goal")
        if now - visit.last_seen > EXPORT_WINDOW:
            return Delivered(DeliveryOutcome.TOO_LATE, f"visit_too_old: {EXPORT_WINDOW.days}")
        params: dict[str, Any] = {"currency": self.settings.currency}
        if item.goal is Goal.SALE:
            sale = outgoing.sale
            if sale is None:
                return Delivered(DeliveryOutcome.SKIPPED, "sale_removed")
            params["currency"] = sale.currency
            if sale.amount is not None:
                params["value"] = amount_number(sale.amount)
        elif item.goal is Goal.LEAD:
            params["lead_source"] = dialog.messenger.value
        params["engagement_time_msec"] = ENGAGEMENT_MSEC
        happened = item.happened_at or item.created_at
        micros = int(happened.timestamp() * 1_000_000) if timedelta(0) <= now - happened <= BACKDATE_LIMIT else None
        return _Event(index, client_id, micros, {"name": EVENT_NAMES[item.goal], "params": params})

    async def _request(self, client_id: str, micros: int | None, events: list[_Event]) -> dict[int, Delivered]:
        """Validate, then send, one request's events: how each went, by its index in the batch."""
        body: dict[str, Any] = {"client_id": client_id}
        if micros is not None:
            body["timestamp_micros"] = micros
        checked = await self._post(self.debug_url, {**body, "events": [e.body for e in events]}, answer=True)
        if isinstance(checked, Delivered):
            return {event.index: checked for event in events}
        refused = _refusals(checked, len(events))
        results = {events[i].index: Delivered(DeliveryOutcome.REFUSED, note) for i, note in refused.items()}
        valid = [event for i, event in enumerate(events) if i not in refused]
        if valid:
            sent = await self._post(self.collect_url, {**body, "events": [e.body for e in valid]})
            done = sent if isinstance(sent, Delivered) else Delivered(DeliveryOutcome.SENT)
            results.update({event.index: done for event in valid})
        return results

    async def _post(self, endpoint: str, body: dict[str, Any], *, answer: bool = False) -> Delivered | Any:
        """On 2xx the answer's JSON when `answer` (the validation server's), else None; otherwise how the
        items end: retried (408, 429, 5xx, timeouts, no connection) or refused (another 4xx)."""
        try:
            timeout = aiohttp.ClientTimeout(total=self.timeout)
            async with self.http.post(endpoint, params=self.query, json=body, timeout=timeout) as response:
                text = await response.text(errors="replace")
                if 200 <= response.status < 300:
                    return json.loads(text) if answer else None
                if response.status in (408, 429) or response.status >= 500:
                    log.warning("GA4 %s answered %s: retried later", endpoint, response.status)
                    wait = retry_after(response.headers.get("Retry-After"))
                    return Delivered(None, retry_note(response.status), wait)
                log.warning("GA4 %s refused the events: %s %s", endpoint, response.status, text[:200])
                return Delivered(DeliveryOutcome.REFUSED, _clip(f"rejected: HTTP {response.status}: {text.strip()}"))
        except (TimeoutError, aiohttp.ClientError) as exc:
            log.warning("GA4 %s unreachable (%s): retried later", endpoint, type(exc).__name__)
            return Delivered(None, failure_note(exc))
        except ValueError:  # the validation server answered something else than JSON: try again later
            return Delivered(None, "http_error: not JSON")


def _refusals(answer: Any, count: int) -> dict[int, str]:
    """Which of a request's events the validation server refused, and why in its words. A message that
    names no event (client_id, the whole body) refuses every event of the request."""
    messages = answer.get("validationMessages", []) if isinstance(answer, dict) else []
    refused: dict[int, list[str]] = {}
    for message in messages if isinstance(messages, list) else []:
        if not isinstance(message, dict):
            continue
        path, description = str(message.get("fieldPath") or ""), str(message.get("description") or "")
        code = str(message.get("validationCode") or "")
        reason = (description or path or "invalid") + (f" ({code})" if code else "")  # GA4's words
        found = _EVENT_INDEX.search(path) or _EVENT_INDEX.search(description)
        index = int(found.group(1) or found.group(2)) if found else None
        targets = [index] if index is not None and 0 <= index < count else range(count)
        for target in targets:
            refused.setdefault(target, []).append(reason)
    return {index: _clip("rejected: " + "; ".join(reasons)) for index, reasons in refused.items()}


def _clip(note: str) -> str:
    note = " ".join(note.split())
    return note if len(note) <= NOTE_LIMIT else note[: NOTE_LIMIT - 1] + "…"


__all__ = ["EVENT_NAMES", "GA4Sender", "ga_client_id"]
