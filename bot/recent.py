"""/recent: every dialog, newest first, eight to a page, with buttons both ways; a search; a date to jump to.

`/recent` pages through all dialogs; `/recent 15.11` (any period the reports take: «15 ноября», «вчера»)
starts at the end of that period; `/recent +7 916 123-45-67`, `/recent 7K3M9QX` (a phone in any format, a
code, a contact id) lists that contact's or code's dialogs; anything else is a name, found as a substring in
any case (`/recent анна`).

Pages are keyset-based (Store.browse_dialogs): a button carries the dialog it continues from, so the millionth
dialog is as near as the first and nothing shifts when new dialogs arrive. A name has no index: one page looks
through at most NAME_SCAN dialogs, and when that ends the search before the page is full, a «Искать дальше»
button continues from where it stopped. Button data: `recent:<o|n>:<dialog id, base64>:<search>` (older /
newer), 64 bytes at most, so the search is cut to SEARCH_BYTES.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from bot.texts import text
from reports.card import find_dialogs
from reports.i18n import Lang, day_label
from reports.periods import Period, PeriodError, parse_period
from tracking.models import Dialog
from tracking.store.base import NAME_SCAN, DialogBrowse, DialogPosition, Store

RECENT_PAGE = 8
EXACT_LIMIT = 500  # one contact's or one code's dialogs: far more than anyone has
SEARCH_BYTES = 64 - len("recent:o::") - 22  # what is left of a button's 64 bytes for the search

Line = Callable[[int, Dialog, Lang], str]  # a dialog's line: its number on the page, the dialog, the language
Buttons = Callable[[list[Dialog], int], list[list[InlineKeyboardButton]]]


class RecentCallback(CallbackData, prefix="recent"):
    """`recent:<way>:<from>:<search>` — the page older (o) or newer (n) than dialog `from` (its id, base64)."""

    way: str
    at: str
    search: str = ""


def short_id(dialog_id: str) -> str:
    """A dialog id (32 hex digits) in 22 characters, for a button's 64 bytes."""
    try:
        return base64.urlsafe_b64encode(bytes.fromhex(dialog_id)).decode().rstrip("=")
    except ValueError:
        return dialog_id


def long_id(short: str) -> str:
    try:
        return base64.urlsafe_b64decode(short + "=" * (-len(short) % 4)).hex()
    except (binascii.Error, ValueError):
        return short


def fitted(search: str) -> str:
    """The search as a button can carry it: on one line, without ':', cut to SEARCH_BYTES of UTF-8."""
    words = " ".join(search.replace(":", " ").split())
    while len(words.encode()) > SEARCH_BYTES:
        words = words[:-1]
    return words.strip()


def position(dialog: Dialog) -> DialogPosition:
    return DialogPosition(started_at=dialog.started_at, dialog_id=dialog.id)


@dataclass(frozen=True)
class Page:
    body: str
    keyboard: InlineKeyboardMarkup | None
    empty: bool = False  # no dialog at all is stored


class Recent:
    def __init__(self, store: Store, zone: ZoneInfo, region: str, line: Line, buttons: Buttons) -> None:
        self.store = store
        self.zone = zone
        self.region = region
        self.line = line
        self.buttons = buttons

    async def first(self, lang: Lang, args: str | None, now: datetime) -> Page:
        """The answer to `/recent <args>`."""
        typed = " ".join((args or "").split())
        if not typed:
            return await self._browse(lang, None, older=True, title=text(lang, "recent_latest"))
        search = fitted(typed)
        exact = await find_dialogs(self.store, typed, self.region, limit=EXACT_LIMIT)
        if exact:
            return self._exact(lang, exact, search, None, older=True)
        period = self._period(typed, now)
        if period is not None:
            last_day = (period.end - timedelta(microseconds=1)).astimezone(self.zone).date()
            title = text(lang, "recent_until", day=day_label(lang, last_day))
            return await self._browse(lang, DialogPosition(started_at=period.end), older=True, title=title)
        return await self._names(lang, search, None, older=True)

    async def turn(self, lang: Lang, data: RecentCallback) -> Page:
        """The page a button asks for."""
        older = data.way != "n"
        anchor = await self.store.get_dialog(long_id(data.at)) if data.at else None
        at = None if anchor is None else position(anchor)  # erased since: start again from the newest
        if not data.search:
            return await self._browse(lang, at, older=older, title=text(lang, "recent_page"))
        exact = await find_dialogs(self.store, data.search, self.region, limit=EXACT_LIMIT)
        if exact:
            return self._exact(lang, exact, data.search, at, older=older)
        return await self._names(lang, data.search, at, older=older)

    def _period(self, typed: str, now: datetime) -> Period | None:
        try:
            return parse_period(typed, self.zone, now)
        except PeriodError:
            return None

    # every dialog ---------------------------------------------------------------------------------

    async def _browse(self, lang: Lang, at: DialogPosition | None, *, older: bool, title: str) -> Page:
        if older:
            walk = await self.store.browse_dialogs(before=at, limit=RECENT_PAGE + 1)
        else:
            walk = await self.store.browse_dialogs(after=at, limit=RECENT_PAGE + 1)
        shown = walk.dialogs[:RECENT_PAGE]  # the nearest eight; the ninth only says there is more
        if not older:
            shown.reverse()
        if not shown and at is not None:  # nothing further that way: the newest page instead
            return await self._browse(lang, None, older=True, title=text(lang, "recent_latest"))
        if not shown:
            return Page(text(lang, "recent_none"), None, empty=True)
        beyond = len(walk.dialogs) > RECENT_PAGE
        has_older = beyond if older else at is not None
        if older:
            back = await self.store.browse_dialogs(after=position(shown[0]), limit=1)
            has_newer = bool(back.dialogs)
        else:
            has_newer = beyond
        older_at = short_id(shown[-1].id) if has_older else None
        newer_at = short_id(shown[0].id) if has_newer else None
        return self._page(lang, title, shown, "", older_at, newer_at)

    async def _walk(self, at: DialogPosition | None, older: bool, limit: int, name: str | None = None) -> DialogBrowse:
        """Up to `limit` dialogs from `at`, the page's way; newest first either way."""
        if older:
            return await self.store.browse_dialogs(before=at, name=name, limit=limit, scan=NAME_SCAN)
        walk = await self.store.browse_dialogs(after=at, name=name, limit=limit, scan=NAME_SCAN)
        walk.dialogs.reverse()
        return walk

    # a contact's or a code's dialogs --------------------------------------------------------------

    def _exact(self, lang: Lang, found: list[Dialog], search: str, at: DialogPosition | None, *, older: bool) -> Page:
        ordered = sorted(found, key=lambda d: (d.started_at, d.id), reverse=True)
        start, end = 0, RECENT_PAGE
        if at is not None:
            newer = sum(1 for d in ordered if (d.started_at, d.id) > (at.started_at, at.dialog_id))
            start = newer + (1 if newer < len(ordered) and ordered[newer].id == at.dialog_id else 0)
            start, end = (start, start + RECENT_PAGE) if older else (max(newer - RECENT_PAGE, 0), newer)
        shown = ordered[start:end]
        if not shown:
            start, shown = 0, ordered[:RECENT_PAGE]
        older_at = short_id(shown[-1].id) if start + len(shown) < len(ordered) else None
        newer_at = short_id(shown[0].id) if start > 0 else None
        return self._page(lang, text(lang, "recent_search", query=search), shown, search, older_at, newer_at)

    # a name ---------------------------------------------------------------------------------------

    async def _names(self, lang: Lang, search: str, at: DialogPosition | None, *, older: bool) -> Page:
        walk = await self._walk(at, older, RECENT_PAGE, name=search)
        shown, reached = walk.dialogs, walk.scanned_to
        if not shown and reached is None:
            if at is not None:  # the end of the list that way: the search's first page again
                return await self._names(lang, search, None, older=True)
            return Page(text(lang, "recent_not_found", query=search), None)
        # Onward (the way of the walk): where the scan stopped, else past a full page. Back: this page's edge.
        edge = shown[-1 if older else 0].id if len(shown) == RECENT_PAGE else None
        onward = short_id(reached.dialog_id) if reached is not None else (short_id(edge) if edge else None)
        back = None
        if at is not None:
            back = short_id((shown[0] if older else shown[-1]).id if shown else at.dialog_id)
        older_at, newer_at = (onward, back) if older else (back, onward)
        page = self._page(lang, text(lang, "recent_search", query=search), shown, search, older_at, newer_at)
        if reached is None or page.keyboard is None:
            return page
        if older:  # the older button goes on with the search rather than to a page of more results
            page.keyboard.inline_keyboard[-1][-1].text = text(lang, "recent_search_on")
        note = text(lang, "recent_scanned", count=f"{NAME_SCAN:,}".replace(",", " "))
        return Page(page.body + "\n\n" + note, page.keyboard)

    # the message ----------------------------------------------------------------------------------

    def _page(
        self, lang: Lang, title: str, shown: list[Dialog], search: str, older_at: str | None, newer_at: str | None
    ) -> Page:
        lines = [title, *(self.line(i, d, lang) for i, d in enumerate(shown, 1))]
        rows = self.buttons(shown, 1)
        navigation = []
        if newer_at is not None:
            data = RecentCallback(way="n", at=newer_at, search=search).pack()
            navigation.append(InlineKeyboardButton(text=text(lang, "newer"), callback_data=data))
        if older_at is not None:
            data = RecentCallback(way="o", at=older_at, search=search).pack()
            navigation.append(InlineKeyboardButton(text=text(lang, "older"), callback_data=data))
        if navigation:
            rows.append(navigation)
        return Page("\n".join(lines), InlineKeyboardMarkup(inline_keyboard=rows) if rows else None)


__all__ = ["RECENT_PAGE", "Recent", "RecentCallback"]
