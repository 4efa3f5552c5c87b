"""The daily summary in Telegram: who gets it when, how it is sent, and the APScheduler that runs it.

Each owner and staff member picks a local time in the business's zone with /summary (owners start with
CHATTRACK_SUMMARY_TIME when set). `reports.schedule.DailySummaryJob` does the once-only part: it leases
`summary:<chat>:<day>` in the store before sending and marks it done after, so a restart never sends one
twice, two copies of the server never both send it, and one a copy died sending goes out after the lease;
it looks at today's slot only, so a copy that was down at the chosen time sends the summary when it comes
back — the same day, never a stale one.

The scheduler runs the job every minute rather than one cron job per person: choices live in the store,
and a choice made through another copy of the server must be honoured here without telling this copy.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from datetime import UTC, datetime, time
from typing import Any

from aiogram import Bot
from aiogram.types import BufferedInputFile
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from bot.outbox import Clock
from bot.owners import Owners
from reports.daily import Summary
from reports.i18n import Lang, normalise_lang
from reports.render import split_message
from reports.schedule import RETRY_DELAYS, DailySummaryJob, Subscription
from tracking.periods import utc_now
from tracking.settings import Settings
from tracking.store.base import Store

log = logging.getLogger("chattrack.bot.summary")

JOB_ID = "daily-summary"
TICK_MINUTES = 1


def _local_time(value: str) -> time:
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))


class DailySummaries:
    def __init__(
        self,
        store: Store,
        bot: Bot,
        settings: Settings,
        *,
        clock: Clock = utc_now,
        retry_delays: Sequence[float] = RETRY_DELAYS,
        owners: Owners | None = None,
    ) -> None:
        self.store = store
        self.bot = bot
        # The runtime's shared view (a claimed owner gets the default time too); else the setting's ids.
        self.owners = owners if owners is not None else Owners(settings.telegram_owner_ids)
        self.zone = settings.zone
        self.default_time = settings.summary_time
        self.default_lang: Lang = settings.bot_language
        self.job = DailySummaryJob(
            store, self.send, self.subscriptions, self.zone, clock, catch_up_days=0, retry_delays=retry_delays,
            currency=settings.currency,
        )  # fmt: skip
        self.scheduler: AsyncIOScheduler | None = None
        self._running: set[asyncio.Task[Any]] = set()

    async def subscriptions(self) -> Sequence[Subscription]:
        """Owners and current staff with a summary time; a removed staff member's choice no longer counts."""
        choices = {choice.user_id: choice for choice in await self.store.summary_choices()}
        await self.owners.refresh()
        members = [*self.owners, *(member.user_id for member in await self.store.list_staff())]
        subscriptions = []
        for user_id in dict.fromkeys(members):
            choice = choices.get(user_id)
            if choice is None:
                if user_id in self.owners and self.default_time is not None:
                    at = _local_time(self.default_time)
                    subscriptions.append(Subscription(user_id, at, self.zone, self.default_lang))
            elif choice.at is not None:
                at = _local_time(choice.at)
                lang = normalise_lang(choice.lang)
                subscriptions.append(Subscription(user_id, at, self.zone, lang, since=choice.chosen_at))
        return subscriptions

    async def send(self, chat_id: int, summary: Summary) -> None:
        """The chart with the headline as its caption, then the tops; just the text when there is no chart."""
        if summary.png is None:
            for part in split_message(summary.text):
                await self.bot.send_message(chat_id, part)
            return
        photo = BufferedInputFile(summary.png, filename="summary.png")
        await self.bot.send_photo(chat_id, photo, caption=summary.caption)
        rest = summary.text.removeprefix(summary.caption) if summary.text.startswith(summary.caption) else summary.text
        for part in split_message(rest.strip("\n")) if rest.strip() else []:
            await self.bot.send_message(chat_id, part)

    async def run_due(self) -> list[str]:
        """One pass of the job (what the scheduler calls every minute); errors are logged, not raised.

        The pass runs in a task of its own, shielded: APScheduler's shutdown cancels the jobs it runs, and
        a summary cut off mid-send would be sent again by another copy; `stop` lets it finish instead.
        """
        task = asyncio.ensure_future(self._pass())
        self._running.add(task)
        task.add_done_callback(self._running.discard)
        return await asyncio.shield(task)

    async def _pass(self) -> list[str]:
        try:
            return await self.job.run_due()
        except Exception:
            log.exception("daily summary pass failed; the next minute tries again")
            return []

    def start(self) -> AsyncIOScheduler:
        """Start the scheduler on the running loop; the first pass runs at once (catching up a missed one)."""
        scheduler = AsyncIOScheduler(timezone=UTC)
        scheduler.add_job(
            self.run_due,
            IntervalTrigger(minutes=TICK_MINUTES, timezone=UTC),
            id=JOB_ID,
            replace_existing=True,
            max_instances=1,
            coalesce=True,
            misfire_grace_time=50,
            next_run_time=datetime.now(UTC),  # the scheduler's own clock, whatever the job's says
        )
        scheduler.start()
        self.scheduler = scheduler
        return scheduler

    async def stop(self, grace: float = 10.0) -> None:
        """Stop scheduling; let a pass in flight finish sending (or cancel it after `grace` seconds)."""
        if self.scheduler is not None:
            self.scheduler.shutdown(wait=False)
            self.scheduler = None
        running = set(self._running)
        if not running:
            return
        _, pending = await asyncio.wait(running, timeout=grace)
        for task in pending:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


__all__ = ["JOB_ID", "DailySummaries"]
