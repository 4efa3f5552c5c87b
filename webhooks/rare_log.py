"""Warnings an outsider can set off at will (a flood of new visits, slow or greedy clients): each kind is
said at most once a minute, with how many went unsaid, so an attack cannot fill the log."""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable


class RareWarnings:
    EVERY = 60.0

    def __init__(self, logger: logging.Logger, clock: Callable[[], float] = time.monotonic) -> None:
        self.logger = logger
        self.clock = clock
        self._unsaid: Counter[str] = Counter()
        self._next: dict[str, float] = {}

    def warn(self, kind: str, message: str) -> None:
        """Log `message` unless a warning of this `kind` was logged less than a minute ago."""
        self._unsaid[kind] += 1
        now = self.clock()
        if now < self._next.get(kind, 0.0):
            return
        self.logger.warning(
            "%s (%d since the last such line; said at most once a minute, /metrics counts them all)",
            message,
            self._unsaid.pop(kind),
        )
        self._next[kind] = now + self.EVERY
