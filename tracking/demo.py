"""Demo leads: what `GET /demo` makes for a new owner to see a lead alert before any provider is connected.

A demo message comes through provider DEMO from a contact of its own (`demo:<random>`) and opens a dialog
tagged DEMO from the start. Such a dialog is shown marked in the bot, left out of every report, count and
export, queues no conversion, event or take reminder, and is erased with one command or button (bot/demo.py).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Literal

from tracking.models import Dialog, InboundMessage
from tracking.periods import utc_now
from tracking.settings import Settings, base_url
from tracking.store.base import CountQuery, Store

DEMO = "demo"  # the provider of demo messages, and the tag of their dialogs
CONTACT_PREFIX = "demo:"  # every demo contact's id: erasing never touches another contact
FIRST_MESSAGE = "first_message"  # the mark stored at the first real customer message (tracking/install.py)
# At most this many demo leads are kept until the owner erases them: someone who found the page cannot flood
# the owner's chat.
MAX_STORED = 20
_SINCE = datetime(2000, 1, 1, tzinfo=UTC)  # before any dialog


def is_demo(dialog: Dialog) -> bool:
    return DEMO in dialog.tags


def is_demo_message(message: InboundMessage) -> bool:
    return message.provider == DEMO


def new_contact() -> str:
    """A demo contact of its own for each press: every demo lead is a new one."""
    return CONTACT_PREFIX + secrets.token_hex(6)


def demo_url(settings: Settings, port: int | None = None, host: str | None = None) -> str:
    """Where the owner opens the demo page: under the public address, else this machine's own."""
    return base_url(settings, port=port, host=host) + "/demo"


def _query() -> CountQuery:
    return CountQuery(start=_SINCE, end=utc_now() + timedelta(days=1), filters={"tag": DEMO})


async def demo_count(store: Store) -> int:
    """Demo leads stored now (one grouped count)."""
    return sum(row.dialogs for row in await store.count_dialogs(_query()))


async def erase_demo(store: Store) -> tuple[int, list[tuple[int, int]]]:
    """Erase every demo lead with its messages, alerts and visit (Store.forget_contact of each demo contact).
    Returns how many dialogs were erased, and the Telegram messages (chat id, message id) of their alerts,
    read before the erasure took them, for the bot to edit."""
    rows = await store.response_rows(_query(), limit=10_000)
    contacts = [c for c in dict.fromkeys(row.contact_id for row in rows) if c.startswith(CONTACT_PREFIX)]
    erased, alerts = 0, []
    for contact in contacts:
        alerts += await store.alert_messages(contact)
        erased += await store.forget_contact(contact)
    return erased, alerts


class DemoSwitch:
    """Whether the demo is on: `on` and `off` as set; `auto` until the first real customer message (the mark
    FIRST_MESSAGE). Once off it stays off; "on" is asked again after `ttl` seconds, so a page view costs no
    read of the store most of the time."""

    def __init__(
        self,
        store: Store,
        mode: Literal["auto", "on", "off"],
        *,
        ttl: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.mode = mode
        self.ttl = ttl
        self.clock = clock
        self._off = mode == "off"
        self._on_until = -1.0

    async def on(self) -> bool:
        if self._off:
            return False
        if self.mode == "on":
            return True
        now = self.clock()
        if now < self._on_until:
            return True
        if await self.store.get_mark(FIRST_MESSAGE) is not None:
            self._off = True
            return False
        self._on_until = now + self.ttl
        return True

    @property
    def reason(self) -> str:
        """Why it is off, in plain words (for the 404)."""
        if self.mode == "off":
            return "the demo is off (CHATTRACK_DEMO=off)"
        return "the demo is off: a real customer message has arrived (CHATTRACK_DEMO=on keeps it)"


__all__ = [
    "CONTACT_PREFIX",
    "DEMO",
    "FIRST_MESSAGE",
    "MAX_STORED",
    "DemoSwitch",
    "demo_count",
    "demo_url",
    "erase_demo",
    "is_demo",
    "is_demo_message",
    "new_contact",
]
