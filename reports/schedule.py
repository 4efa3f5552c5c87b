"""The daily summary job: at each owner's chosen local time, send yesterday's summary exactly once.

Once-only across restarts and replicas comes from the store, the way lead alerts are leased: a copy
sends a summary only after `store.claim_job("summary:<chat_id>:<day>", now, SUMMARY_LEASE)` leased the
key to it, and calls `store.finish_job` once Telegram accepted it; a finished key is never claimed again.
A copy that dies (or gives up after its retries) before that leaves the lease to expire, and the next run
of any copy within the catch-up window claims and sends it. Catching up comes from looking back: every run
considers today's slot and the ones of the last `catch_up_days` days, so a summary due while the server
was down goes out when it is back. Call `run_due` often (every minute, see `schedule_every_minute`); it
does nothing until a slot is due.

The trade-off: a copy that dies after Telegram accepted a summary but before `finish_job` recorded it
sends nothing more, and another copy repeats that one summary once the lease expired.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from reports.daily import Summary, daily_summary
from reports.i18n import DEFAULT_LANG, Lang
from tracking.periods import utc_now
from tracking.store.base import Store

log = logging.getLogger("chattrack.reports.schedule")

RETRY_DELAYS = (5.0, 30.0, 120.0)  # seconds between attempts to send one claimed summary
# How long a claim keeps other copies off a summary: its retries (2.5 min of waits, plus four sends with
# aiogram's 60 s timeout) fit well inside, so a live holder is never taken over.
SUMMARY_LEASE = timedelta(minutes=10)


@dataclass(frozen=True)
class Subscription:
    """An owner's choice: where and when (local time in their zone) the daily summary goes."""

    chat_id: int
    at: time
    zone: ZoneInfo
    lang: Lang = DEFAULT_LANG
    since: datetime | None = None  # slots before this moment (when the time was chosen) are not caught up


Send = Callable[[int, Summary], Awaitable[None]]
Subscriptions = Callable[[], Awaitable[Sequence[Subscription]]]


def job_key(chat_id: int, day: date) -> str:
    return f"summary:{chat_id}:{day.isoformat()}"


class DailySummaryJob:
    def __init__(
        self,
        store: Store,
        send: Send,
        subscriptions: Subscriptions | Sequence[Subscription],
        report_zone: ZoneInfo,
        clock: Callable[[], datetime] = utc_now,
        *,
        catch_up_days: int = 1,
        retry_delays: Sequence[float] = RETRY_DELAYS,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
        lease: timedelta = SUMMARY_LEASE,
        currency: str = "RUB",
    ) -> None:
        if timedelta(seconds=sum(retry_delays)) >= lease:
            raise ValueError("the lease must outlast the retries, or another copy could send the summary too")
        self.store = store
        self.send = send
        self._subscriptions = subscriptions
        self.report_zone = report_zone  # the business's zone: the one dialogs' buckets are stored in
        self.clock = clock
        self.catch_up_days = catch_up_days
        self.retry_delays = tuple(retry_delays)
        self.sleep = sleep
        self.lease = lease
        self.currency = currency  # the business's: the summary's ad spend
        self._settled: set[str] = set()  # keys this copy sent: no need to ask again
        # Keys someone holds a lease on (another copy, or this one after giving up): not worth asking
        # before that lease may have expired. The store cannot say "done" from "leased", so keys another
        # copy sent are asked about again once a lease.
        self._leased_until: dict[str, datetime] = {}
        self._unfinished: set[str] = set()  # sent, but finish_job failed: finish it on the next run

    async def subscriptions(self) -> Sequence[Subscription]:
        if callable(self._subscriptions):
            return await self._subscriptions()
        return self._subscriptions

    def slots(self, subscription: Subscription, now: datetime) -> list[datetime]:
        """The subscription's send times that are due at `now` and still worth sending, oldest first."""
        today = now.astimezone(subscription.zone).date()
        due = []
        for back in range(self.catch_up_days, -1, -1):
            slot = datetime.combine(today - timedelta(days=back), subscription.at, tzinfo=subscription.zone)
            if slot <= now and (subscription.since is None or slot >= subscription.since):
                due.append(slot)
        return due

    def day_of(self, slot: datetime) -> date:
        """The business day a slot reports on: the day before the slot, in the business's zone."""
        return slot.astimezone(self.report_zone).date() - timedelta(days=1)

    async def run_due(self) -> list[str]:
        """Send every summary that is due and that no one sent yet; returns the keys this copy sent."""
        now = self.clock()
        for key in list(self._unfinished):
            await self._finish(key)
        sent, current = [], set()
        for subscription in await self.subscriptions():
            for slot in self.slots(subscription, now):
                day = self.day_of(slot)
                key = job_key(subscription.chat_id, day)
                current.add(key)
                if key in self._settled or now < self._leased_until.get(key, now):
                    continue
                claimed = await self.store.claim_job(key, now, self.lease)
                # Ours or another's (or done): no use asking again before a lease from now has passed.
                self._leased_until[key] = now + self.lease
                if not claimed:
                    continue
                if await self._deliver(subscription, day, now + self.lease):
                    self._settled.add(key)
                    sent.append(key)
                    await self._finish(key)
        # Forget slots that left the catch-up window.
        self._settled &= current
        self._leased_until = {key: until for key, until in self._leased_until.items() if key in current}
        return sent

    async def _finish(self, key: str) -> None:
        """Record a sent summary as done; when the store fails, the next run tries again (within the lease,
        nobody else sends it; past it, another copy may repeat it)."""
        try:
            await self.store.finish_job(key, self.clock())
            self._unfinished.discard(key)
        except Exception:
            log.exception("daily summary %s was sent but could not be recorded as done; retrying next run", key)
            self._unfinished.add(key)

    async def _deliver(self, subscription: Subscription, day: date, lease_until: datetime) -> bool:
        chat = subscription.chat_id
        for attempt, delay in enumerate((0.0, *self.retry_delays), 1):
            if delay:
                await self.sleep(delay)
            if self.clock() >= lease_until:  # another copy may have claimed it by now: sending could double it
                log.error("daily summary for chat %s, %s: lease expired before attempt %d", chat, day, attempt)
                return False
            try:
                summary = await daily_summary(
                    self.store, self.report_zone, day, subscription.lang, currency=self.currency
                )
                await self.send(chat, summary)
                return True
            except Exception:  # Telegram, network or store trouble: the lease is ours, so retrying is safe
                log.exception("daily summary for chat %s, %s: attempt %d failed", chat, day, attempt)
        # Left unfinished: the lease expires and a later run (of any copy) tries again.
        log.error(
            "daily summary for chat %s, %s: given up after %d attempts until the lease expires", chat, day, attempt
        )
        return False

    async def next_due(self) -> datetime | None:
        """The next moment a slot falls due (for a one-shot timer instead of polling)."""
        now = self.clock()
        upcoming = []
        for subscription in await self.subscriptions():
            today = now.astimezone(subscription.zone).date()
            for ahead in (0, 1):
                slot = datetime.combine(today + timedelta(days=ahead), subscription.at, tzinfo=subscription.zone)
                if slot > now:
                    upcoming.append(slot)
                    break
        return min(upcoming, default=None)


def schedule_every_minute(scheduler: Any, job: DailySummaryJob, job_id: str = "daily-summary") -> None:
    """Run `job.run_due` every minute on an APScheduler 3 `AsyncIOScheduler`, never two at once."""
    scheduler.add_job(
        job.run_due,
        "interval",
        minutes=1,
        id=job_id,
        replace_existing=True,
        max_instances=1,
        coalesce=True,
        next_run_time=job.clock(),
    )
