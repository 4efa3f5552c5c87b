"""Signed JSON events to CHATTRACK_EVENTS_URL: a CRM, n8n, Make, Albato, your own service.

One POST per event, its kind in `type` (dialog.created, dialog.tagged, dialog.taken, sale.recorded) and its
outbox id in `id` (a redelivery carries the same id: receivers keep the first). The body is signed exactly as
/webhooks/generic checks what it receives, with CHATTRACK_EVENTS_SECRET:

    X-Chattrack-Timestamp: 1764000000
    X-Chattrack-Signature: sha256=<hex HMAC-SHA256(secret, "1764000000." + body)>

2xx: sent. 408, 429 (after its Retry-After), 5xx, a timeout or no connection: tried again later. Any other
answer (a 4xx, a redirect) is given up, with the status and the start of the receiver's answer kept.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import aiohttp

from integrations.base import Delivered, Outgoing, failure_note, retry_after, retry_note
from tracking.amounts import amount_number
from tracking.models import EVENT_OUT, DeliveryOutcome, Dialog, EventType, Sale
from tracking.periods import utc_now
from tracking.settings import Settings

log = logging.getLogger("chattrack.events")

TIMESTAMP = "X-Chattrack-Timestamp"
SIGNATURE = "X-Chattrack-Signature"
TIMEOUT = 10.0  # seconds for one POST
EXCERPT = 200  # characters of a refusing receiver's answer kept with the item
RETRIED = frozenset({408, 429})


def signature(secret: str, body: bytes, timestamp: int) -> str:
    """The X-Chattrack-Signature of `body` sent at `timestamp` (Unix seconds), as /webhooks/generic checks it."""
    signed = f"{timestamp}.".encode() + body
    return "sha256=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def _time(moment: datetime | None) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment is not None else None


def _sale(sale: Sale) -> dict[str, Any]:
    return {
        "id": sale.id,
        "amount": amount_number(sale.amount) if sale.amount is not None else None,
        "currency": sale.currency,
        "at": _time(sale.at),
        "by_name": sale.by_name,
    }


def dialog_json(dialog: Dialog) -> dict[str, Any]:
    """The dialog as events carry it: who wrote, where they came from, and what the team made of it."""
    return {
        "id": dialog.id,
        "started_at": _time(dialog.started_at),
        "contact": {"id": dialog.contact_id, "phone": dialog.contact_phone, "name": dialog.contact_name},
        "messenger": dialog.messenger.value,
        "business_number": dialog.business_number,
        "status": dialog.status.value,
        "is_repeat": dialog.is_repeat,
        "tags": list(dialog.tags),
        "taken_by_name": dialog.taken_by_name,
        "sales": [_sale(sale) for sale in dialog.sales],
        "revenue": amount_number(dialog.revenue),
        "attribution": dialog.attribution.model_dump(mode="json"),
        "code": dialog.code,
    }


def event_json(outgoing: Outgoing) -> dict[str, Any]:
    item = outgoing.item
    event: dict[str, Any] = {
        "type": item.event.value if item.event is not None else None,
        "id": item.id,
        "occurred_at": _time(item.happened_at or item.created_at),
        "dialog": dialog_json(outgoing.dialog),
    }
    if outgoing.sale is not None:
        event["sale"] = _sale(outgoing.sale)
    if item.data:
        event["data"] = item.data
    return event


class EventsSender:
    """The outbox's Sender for EVENT_OUT items (integrations/base.py)."""

    kind = EVENT_OUT
    batch_size = 20

    def __init__(
        self,
        settings: Settings,
        http: aiohttp.ClientSession,
        *,
        clock: Callable[[], datetime] = utc_now,
        timeout: float = TIMEOUT,
    ) -> None:
        if settings.events_url is None or settings.events_secret is None:
            raise ValueError("events need CHATTRACK_EVENTS_URL and CHATTRACK_EVENTS_SECRET")
        self.http = http
        self.url = settings.events_url
        self.secret = settings.events_secret.get_secret_value()
        self.clock = clock
        self.timeout = timeout

    async def send(self, batch: Sequence[Outgoing]) -> list[Delivered]:
        results: list[Delivered] = []
        later: Delivered | None = None  # the receiver asked us to wait (or is away): the rest waits with it
        for outgoing in batch:
            if later is not None:
                results.append(later)
                continue
            result = await self._one(outgoing)
            later = result if result.outcome is None else None
            results.append(result)
        return results

    async def _one(self, outgoing: Outgoing) -> Delivered:
        if outgoing.item.event is None:
            return Delivered(DeliveryOutcome.SKIPPED, "no_event")
        if outgoing.item.event is EventType.SALE_RECORDED and outgoing.sale is None:
            return Delivered(DeliveryOutcome.SKIPPED, "sale_removed")
        body = json.dumps(event_json(outgoing), ensure_ascii=False, separators=(",", ":")).encode()
        timestamp = int(self.clock().timestamp())
        headers = {
            "Content-Type": "application/json",
            TIMESTAMP: str(timestamp),
            SIGNATURE: signature(self.secret, body, timestamp),
        }
        try:
            timeout = aiohttp.ClientTimeout(total=self.timeout)
            post = self.http.post(self.url, data=body, headers=headers, allow_redirects=False, timeout=timeout)
            async with post as response:
                status = response.status
                if 200 <= status < 300:
                    return Delivered(DeliveryOutcome.SENT)
                answer = " ".join((await response.text(errors="replace"))[:EXCERPT].split())
                if status in RETRIED or status >= 500:
                    log.warning("events receiver answered %s to %s: retried later", status, outgoing.item.id)
                    return Delivered(None, retry_note(status), retry_after(response.headers.get("Retry-After")))
        except (TimeoutError, aiohttp.ClientError) as exc:
            log.warning("events receiver unreachable (%s): %s retried later", type(exc).__name__, outgoing.item.id)
            return Delivered(None, failure_note(exc))
        log.warning("events receiver refused %s: %s %s", outgoing.item.id, status, answer)
        where = f" (moved to {response.headers.get('Location')})" if 300 <= status < 400 else ""
        return Delivered(DeliveryOutcome.REFUSED, f"rejected: HTTP {status}{where}" + (f": {answer}" if answer else ""))


__all__ = ["SIGNATURE", "TIMESTAMP", "EventsSender", "dialog_json", "event_json", "signature"]
