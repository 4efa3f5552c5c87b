"""Dialogs of a period page by page, and as CSV (UTF-8 with a BOM, so Excel reads Cyrillic right).

`Store.list_dialogs` takes no offset, so paging goes by start time: the cursor is the start time of the
last dialog returned and the ids already returned at that very instant, which survives ties.
"""

from __future__ import annotations

import base64
import binascii
import csv
import io
import json
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Literal
from zoneinfo import ZoneInfo

from reports.card import CARD_FIELDS, CardValue, card_record
from reports.counts import ReportError
from reports.i18n import Lang, field_label
from reports.periods import Period
from tracking.models import Dialog
from tracking.store.base import Store

PAGE_SIZE = 500
MAX_PAGE = 1000
BOM = "\ufeff"
DELIMITERS: dict[str, str] = {"comma": ",", "semicolon": ";", "tab": "\t"}
Delimiter = Literal["comma", "semicolon", "tab"]


def encode_cursor(at: datetime, ids: list[str]) -> str:
    raw = json.dumps({"t": at.isoformat(), "ids": ids}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, list[str]]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = json.loads(raw)
        at = datetime.fromisoformat(data["t"])
        ids = data["ids"]
        if at.tzinfo is None or not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            raise ValueError("bad cursor fields")
    except (binascii.Error, ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
        raise ReportError("bad cursor: pass back the `next` value of the previous page unchanged") from exc
    return at, ids


async def page_dialogs(
    store: Store, period: Period, limit: int = PAGE_SIZE, cursor: str | None = None
) -> tuple[list[Dialog], str | None]:
    """Up to `limit` dialogs of the period, oldest first, and the cursor of the next page (None at the end)."""
    if not 1 <= limit <= MAX_PAGE:
        raise ReportError(f"limit must be 1 to {MAX_PAGE}")
    start, seen = period.start, list[str]()
    if cursor is not None:
        start, seen = decode_cursor(cursor)
        start = max(start, period.start)
    fetched = await store.list_dialogs(start, period.end, limit=limit + len(seen))
    skip = set(seen)
    page = [d for d in fetched if d.id not in skip][:limit]
    if len(fetched) < limit + len(seen) or not page:
        return page, None
    last = page[-1].started_at
    tied = [d.id for d in page if d.started_at == last]
    if last == start:
        tied = seen + tied  # still inside one instant: remember every id returned at it
    return page, encode_cursor(last, tied)


async def iter_dialogs(store: Store, period: Period, page_size: int = PAGE_SIZE) -> AsyncIterator[Dialog]:
    cursor: str | None = None
    while True:
        page, cursor = await page_dialogs(store, period, page_size, cursor)
        for dialog in page:
            yield dialog
        if cursor is None:
            return


# What makes a spreadsheet read a cell as a formula (OWASP's CSV injection list, plus the full-width forms
# that some spreadsheets also take for = + - @).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def spreadsheet_cell(value: CardValue) -> CardValue:
    """A card value made safe to open in a spreadsheet: text that starts like a formula gets a leading quote
    (OWASP's rule), so names, messages and UTM tags anyone can set are shown, never run. That includes
    phones (+7916…), which a spreadsheet would otherwise also turn into a number. Numbers we computed
    (counts, seconds) are ints here and stay numbers."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def csv_header(lang: Lang | None) -> list[str]:
    """Field keys (stable, for machines) or, with a language, the card's labels (for people)."""
    return list(CARD_FIELDS) if lang is None else [field_label(lang, name) for name in CARD_FIELDS]


async def dialogs_csv(
    store: Store,
    period: Period,
    zone: ZoneInfo,
    *,
    lang: Lang | None = None,
    delimiter: Delimiter = "comma",
    page_size: int = PAGE_SIZE,
) -> AsyncIterator[bytes]:
    """The CSV in chunks (one per page of dialogs), the first starting with the BOM and the header."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=DELIMITERS[delimiter], lineterminator="\r\n")
    buffer.write(BOM)
    writer.writerow(csv_header(lang))
    rows = 0
    async for dialog in iter_dialogs(store, period, page_size):
        record = card_record(dialog, zone)
        writer.writerow([spreadsheet_cell(v) for v in record.values()])
        rows += 1
        if rows % page_size == 0:
            yield _drain(buffer)
    yield _drain(buffer)


def _drain(buffer: io.StringIO) -> bytes:
    data = buffer.getvalue().encode("utf-8")
    buffer.seek(0)
    buffer.truncate()
    return data


async def dialogs_csv_bytes(store: Store, period: Period, zone: ZoneInfo, **options: object) -> bytes:
    """The whole CSV at once (for a Telegram document)."""
    return b"".join([chunk async for chunk in dialogs_csv(store, period, zone, **options)])  # type: ignore[arg-type]
