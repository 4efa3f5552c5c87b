"""A background task that works an outbox in passes: the lead alerts (bot/outbox.py) and the deliveries to
other systems (integrations/outbox.py) share it.

A pass runs now when kicked, else after `seconds_to_next_pass()`. A store outage or a bug in one pass is
logged and waits for the next pass: the items stay in the store. Stopping lets the pass in flight finish
(so what it sent is marked), then ends the loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from abc import ABC, abstractmethod

from tracking.store.base import StoreUnavailable


class PassLoop(ABC):
    def __init__(self, name: str, log: logging.Logger) -> None:
        self.name = name  # the task's name and the logs' subject: "lead alerts", "deliveries"
        self.log = log
        self._wake = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None

    @abstractmethod
    async def run_once(self) -> int:
        """One pass; returns how many items it handled."""

    def seconds_to_next_pass(self) -> float:
        """How long to wait for a kick after a pass."""
        return 30.0

    @property
    def stopping(self) -> bool:
        return self._stopping

    def kick(self) -> None:
        """Look at the outbox now instead of at the next pass."""
        self._wake.set()

    def start(self) -> None:
        self._stopping = False
        self._task = asyncio.get_running_loop().create_task(self._run(), name=self.name)

    async def stop(self, grace: float = 10.0) -> None:
        """Finish the pass in flight, end the loop; after `grace` seconds it is cancelled (its leased items
        go again when their lease runs out)."""
        self._stopping = True
        self._wake.set()
        task, self._task = self._task, None
        if task is None:
            return
        done, _ = await asyncio.wait({task}, timeout=grace)
        if not done:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        while not self._stopping:
            self._wake.clear()
            try:
                await self.run_once()
            except StoreUnavailable as exc:  # nothing is lost: the items wait in the store
                self.log.warning("%s wait: store unavailable (%s)", self.name, exc)
            except Exception:  # a bug must not end the loop
                self.log.exception("%s: a pass failed; retrying at the next pass", self.name)
            if self._stopping:
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.seconds_to_next_pass())
