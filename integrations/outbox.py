"""Delivery of conversions and events from the persisted outbox to other systems, in batches, with retries.

Every `interval` seconds (CHATTRACK_CONVERSIONS_INTERVAL_SECONDS; at once on `kick`) each sender gets the
due items of its kind, at most its `batch_size` at a time, leased with `Store.claim_alerts(kinds=(kind,))`:
several copies of the server share one outbox and each item goes out once; a copy that dies mid-batch
loses its lease and another copy takes the items over when it runs out. A batch sent whose outcome could
not be stored (the store went away right then) is sent again after the lease: delivery is at least once.

Each item is sent with its dialog (and sale) as stored at sending time. A dialog erased since the item was
queued makes it SKIPPED, as does a sale removed since. The sender says how each item went (integrations/
base.py): done (sent, refused with the reason, too late to link, nothing to send) is kept with the item and
shown in the dialog's card; "retry" waits `retry_after` seconds when the system said so (429's Retry-After),
else an exponential backoff from `retry_base`, capped at `retry_max`. A sender that raises (a bug, a network
error it did not expect) has its whole batch retried the same way: nothing is dropped.

Stopping finishes the batch in flight (so its outcome is stored), gives back the lease of what was claimed
and not sent, and ends the loop: a restart loses nothing and sends nothing twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

import aiohttp

from integrations.base import Delivered, Outgoing, Sender
from tracking.models import DeliveryOutcome, OutboxItem
from tracking.passes import PassLoop
from tracking.periods import utc_now
from tracking.settings import Settings
from tracking.store.base import Store

log = logging.getLogger("chattrack.integrations.outbox")

Clock = Callable[[], datetime]
# Called with (kind, outcome) for each item handled: an outcome's value, or "retry".
Observer = Callable[[str, str], None]
RETRY = "retry"
# A batch's send waits at most a minute or so for the remote system (each sender's timeout): the lease
# outlasts several, so no other copy takes over a batch whose send is still in flight.
LEASE = timedelta(minutes=10)
RETRY_BASE = 60.0  # seconds before the first retry; doubles each attempt
RETRY_MAX = 6 * 3600.0  # a system down for a day is asked four times a day, not every minute


def backoff(attempts: int, base: float = RETRY_BASE, cap: float = RETRY_MAX) -> float:
    """Seconds to wait after attempt number `attempts` (1-based) failed: base, 2×base, 4×base… up to cap."""
    return float(min(base * 2 ** max(attempts - 1, 0), cap))


def senders(settings: Settings, http: aiohttp.ClientSession) -> list[Sender]:
    """The senders for what is configured. Each system's adapter adds itself here."""
    from integrations.events import EventsSender
    from integrations.ga4 import GA4Sender
    from integrations.metrica import MetricaSender

    found: list[Sender] = []
    if settings.metrica_enabled:
        found.append(MetricaSender(settings, http))
    if settings.ga4_enabled:
        found.append(GA4Sender(settings, http))
    if settings.events_enabled:
        found.append(EventsSender(settings, http))
    return found


class DeliveryDispatcher(PassLoop):
    def __init__(
        self,
        store: Store,
        senders: Sequence[Sender],
        *,
        interval: float = 300.0,
        lease: timedelta = LEASE,
        retry_base: float = RETRY_BASE,
        retry_max: float = RETRY_MAX,
        clock: Clock = utc_now,
        observers: Sequence[Observer] = (),
    ) -> None:
        super().__init__("deliveries", log)
        self.store = store
        self.senders = list(senders)
        self.interval = interval
        self.lease = lease
        self.retry_base = retry_base
        self.retry_max = retry_max
        self.clock = clock
        self.observers = list(observers)

    # lifecycle ----------------------------------------------------------------------------------

    @property
    def kinds(self) -> tuple[str, ...]:
        return tuple(sender.kind for sender in self.senders)

    def seconds_to_next_pass(self) -> float:
        return self.interval

    async def stop(self, grace: float = 30.0) -> None:
        """Finish the batch in flight (so its outcome is kept), give back the rest of the lease, end the loop."""
        await super().stop(grace)

    # one pass -----------------------------------------------------------------------------------

    async def run_once(self) -> int:
        """Send every due item of every sender's kind, batch by batch; returns how many were done (any outcome)."""
        done = 0
        for sender in self.senders:
            while not self._stopping:
                items = await self.store.claim_alerts(
                    self.clock(), self.lease, limit=sender.batch_size, kinds=(sender.kind,)
                )
                if not items:
                    break
                done += await self._deliver(sender, items)
                if len(items) < sender.batch_size:
                    break
        return done

    async def _deliver(self, sender: Sender, items: Sequence[OutboxItem]) -> int:
        if self._stopping:  # claimed as the stop came: give them back for the next copy or start
            for item in items:
                await self.store.alert_failed(item.id, self.clock(), item.last_error or "")
            return 0
        done = 0
        batch: list[Outgoing] = []
        for item in items:
            outgoing, why = await self._outgoing(item)
            if outgoing is None:
                await self._finish(item, DeliveryOutcome.SKIPPED, why)
                done += 1
            else:
                batch.append(outgoing)
        if not batch:
            return done
        try:
            results = await sender.send(batch)
            if len(results) != len(batch):
                raise RuntimeError(f"{len(results)} results for {len(batch)} items")
        except Exception as exc:  # the whole batch again later: a sender's bug or surprise loses nothing
            log.warning(
                "%s: a batch of %d failed (%s: %s); retrying later", sender.kind, len(batch), type(exc).__name__, exc
            )
            results = [Delivered(None, f"error: {type(exc).__name__}: {exc}")] * len(batch)
        for outgoing, result in zip(batch, results, strict=True):
            if result.outcome is None:
                await self._retry(outgoing.item, result)
            else:
                await self._finish(outgoing.item, result.outcome, result.note)
                done += 1
        return done

    async def _outgoing(self, item: OutboxItem) -> tuple[Outgoing | None, str | None]:
        """The item with its dialog and sale as stored now; None and why when there is nothing to send it for."""
        dialog = await self.store.get_dialog(item.dialog_id)
        if dialog is None:  # deliveries are written with their dialog, so only an erasure gets here
            return None, "dialog_erased"
        sale = None
        if item.sale_id is not None:
            sale = next((s for s in dialog.sales if s.id == item.sale_id), None)
            if sale is None:
                return None, "sale_removed"
        return Outgoing(item, dialog, sale), None

    async def _finish(self, item: OutboxItem, outcome: DeliveryOutcome, note: str | None) -> None:
        await self.store.delivery_done(item.id, self.clock(), outcome, note)
        level = logging.INFO if outcome in (DeliveryOutcome.SENT, DeliveryOutcome.SKIPPED) else logging.WARNING
        log.log(
            level,
            "%s %s (dialog %s): %s%s",
            item.kind,
            item.id,
            item.dialog_id,
            outcome.value,
            f" ({note})" if note else "",
        )
        self._observe(item.kind, outcome.value)

    async def _retry(self, item: OutboxItem, result: Delivered) -> None:
        if result.retry_after is not None:
            delay = max(float(result.retry_after), 1.0)  # the system's own figure, even above the cap
        else:
            delay = backoff(item.attempts, self.retry_base, self.retry_max)
        note = result.note or ""
        await self.store.alert_failed(item.id, self.clock() + timedelta(seconds=delay), note)
        log.info(
            "%s %s (dialog %s, attempt %d): %s; retry in %.0f s",
            item.kind,
            item.id,
            item.dialog_id,
            item.attempts,
            note,
            delay,
        )
        self._observe(item.kind, RETRY)

    def _observe(self, kind: str, outcome: str) -> None:
        for observer in self.observers:
            try:
                observer(kind, outcome)
            except Exception:  # a metrics hiccup must not hold deliveries
                log.exception("delivery observer failed")
