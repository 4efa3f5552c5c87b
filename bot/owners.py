"""Who owns the bot: CHATTRACK_TELEGRAM_OWNER_IDS when set (it wins), else the person who claimed the bot
with the one-time link printed at start-up (the store's mark OWNER_MARK).

One `Owners` object is shared by every part of the bot (roles, alerts, summaries, notices), so a claim or a
handover is seen everywhere at once in this copy of the server; other copies read the mark again when
`refresh` finds it older than `ttl` seconds (one indexed read; the role middleware calls it per update).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from tracking.store.base import Store

OWNER_MARK = "owner"  # {"user_id": int, "name": str, "username": str | None, "at": ISO time}
REFRESH_SECONDS = 5.0


class Owners:
    def __init__(
        self,
        configured: Iterable[int],
        store: Store | None = None,
        *,
        ttl: float = REFRESH_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._configured = tuple(dict.fromkeys(configured))
        self.store = store
        self.ttl = ttl
        self.clock = clock
        self._claimed: int | None = None
        self._read_at: float | None = None

    @property
    def configured(self) -> bool:
        """True when the setting names the owners: nobody can claim or hand the bot over from Telegram."""
        return bool(self._configured)

    @property
    def ids(self) -> tuple[int, ...]:
        if self._configured:
            return self._configured
        return () if self._claimed is None else (self._claimed,)

    def __iter__(self) -> Iterator[int]:
        return iter(self.ids)

    def __contains__(self, user_id: object) -> bool:
        return user_id in self.ids

    def __len__(self) -> int:
        return len(self.ids)

    def __bool__(self) -> bool:
        return bool(self.ids)

    async def refresh(self, *, force: bool = False) -> None:
        """Read the stored owner again when the last read is older than `ttl` (or `force`)."""
        if self._configured or self.store is None:
            return
        now = self.clock()
        if not force and self._read_at is not None and now - self._read_at < self.ttl:
            return
        self.seen(await self.store.get_mark(OWNER_MARK))
        self._read_at = now

    def seen(self, mark: dict[str, Any] | None) -> None:
        """The owner mark as this copy just read or wrote it."""
        user_id = None if mark is None else mark.get("user_id")
        self._claimed = user_id if isinstance(user_id, int) and not isinstance(user_id, bool) else None


def as_owners(owners: Owners | Iterable[int]) -> Owners:
    """The shared view itself, or a fixed one for a list of ids (tools and tests that name the owners)."""
    return owners if isinstance(owners, Owners) else Owners(owners)


__all__ = ["OWNER_MARK", "Owners", "as_owners"]
