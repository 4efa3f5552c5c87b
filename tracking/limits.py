"""Bounds on what outsiders can make chattrack store or send.

The global budget of new visits: however many addresses post first page views, the store opens at most
so many visits a minute, so no flood fills the disk (later page views of open visits are never refused)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

# Lead alerts for one contact: anyone can open dialog after dialog (a fresh code in every `/start`, every
# message), and each would ring the owner. Past this many within the window the dialog is stored, marked,
# and sent no alert. The stores decide it in the step that opens the dialog, so concurrent copies count
# each other's dialogs.
ALERTS_PER_CONTACT = 3
ALERT_WINDOW = timedelta(hours=1)


def alert_withheld(
    earlier_starts: Iterable[datetime], at: datetime, limit: int = ALERTS_PER_CONTACT, window: timedelta = ALERT_WINDOW
) -> bool:
    """Whether a dialog a contact opens at `at` goes without a lead alert: `limit` of the contact's dialogs
    stored before it started within `window` of it. Quiet ones count too, so a flood stays quiet until it
    pauses for a whole window; so do ones dated after it (messages sent at once are stored in any order,
    and a late retry comes after newer ones), so about `limit` alerts reach the owner in any window."""
    return sum(1 for start in earlier_starts if abs(at - start) < window) >= limit


class NewVisitBudget:
    """At most `per_minute` new visits in any sliding minute, per server process.

    The same sliding-window counter as the per-address limit at /collect: this minute's count plus the last
    one's, weighted by the share of it the window still covers. Used on one thread at a time (SQLite
    commits one batch after another; MongoDB on the event loop). SQLite knows which views open a visit
    before it writes and asks `take()` for each. MongoDB learns it only from the upsert that opens or
    merges, so it `reserve()`s a unit before it and `give_back()`s it when the view merged; a later view
    thus holds a unit for its round trip, and with none left it is merged without one (`refuse()` only
    when it merged into nothing)."""

    WINDOW = 60.0

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute = per_minute
        self.clock = clock
        self.minute = -2
        self.current = 0
        self.previous = 0
        self.refused = 0  # views refused since start, for tests and the log line

    def take(self) -> bool:
        """True, and counted, when one more visit may open now; False (counted as refused) when not."""
        if self.reserve() is not None:
            return True
        self.refuse()
        return False

    def reserve(self) -> int | None:
        """Count one more visit when one may open now, and return the minute it was counted in (for
        `give_back`); None when none may, counting nothing."""
        into = self._roll()
        if self.current + self.previous * (1 - into / self.WINDOW) >= self.per_minute:
            return None
        self.current += 1
        return self.minute

    def give_back(self, minute: int) -> None:
        """Uncount a unit `reserve()` counted in `minute`, which opened no visit; past the window it is
        forgotten anyway."""
        self._roll()
        if minute == self.minute:
            self.current = max(0, self.current - 1)
        elif minute == self.minute - 1:
            self.previous = max(0, self.previous - 1)

    def refuse(self) -> None:
        """Count a view refused because it would have opened a visit past the budget."""
        self.refused += 1

    def _roll(self) -> float:
        """Move the window to the clock's minute; the seconds into it."""
        window, into = divmod(self.clock(), self.WINDOW)
        minute = int(window)
        if minute != self.minute:
            self.previous = self.current if minute == self.minute + 1 else 0
            self.current, self.minute = 0, minute
        return into
