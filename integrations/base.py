"""The contract between the delivery outbox (integrations/outbox.py) and each system it delivers to.

A `Sender` gets a batch of due items of its kind, each with the dialog (and sale) as stored now, and says
for each how it went: done (sent, refused for good, too late to link, nothing to send), or to be retried
(429, 5xx, a timeout) after a delay. It never raises for what the remote system answers; the outbox treats
an exception as "retry the whole batch with backoff".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Protocol

from tracking.models import DeliveryOutcome, Dialog, OutboxItem, Sale
from tracking.periods import utc_now


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One item to deliver, with what it speaks of as stored at sending time."""

    item: OutboxItem
    dialog: Dialog
    sale: Sale | None = None  # a sale's conversion or event: the sale now (its amount may have changed)


@dataclass(frozen=True, slots=True)
class Delivered:
    """How one item went. `outcome` None: retry it, after `retry_after` seconds when the system said (429's
    Retry-After, Direct's retryIn), else with the outbox's backoff. `note` is the reason in plain words, kept
    with the item and shown in the card («GA4: ошибка — неверный api_secret») and the log."""

    outcome: DeliveryOutcome | None
    note: str | None = None
    retry_after: float | None = None


class Sender(Protocol):
    kind: str  # METRICA, GA4 or EVENT_OUT: the outbox items it takes
    batch_size: int  # at most this many items per send()

    async def send(self, batch: Sequence[Outgoing]) -> list[Delivered]:
        """One result per item, in order."""
        ...


# Notes every sender writes for the same answer (the card reads them: reports/i18n.delivery_reason).


def retry_note(status: int) -> str:
    """A retried answer's note: 429 is a quota, anything else its status."""
    return "quota" if status == 429 else f"http_error: {status}"


def failure_note(exc: BaseException) -> str:
    """A timeout, or a connection that failed."""
    return "timeout" if isinstance(exc, TimeoutError) else f"connection_error: {type(exc).__name__}"


def retry_after(value: str | None) -> float | None:
    """An answer's Retry-After in seconds: a number of seconds or an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, (parsedate_to_datetime(value) - utc_now()).total_seconds())
    except (TypeError, ValueError):
        return None
