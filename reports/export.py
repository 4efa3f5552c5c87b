"""Dialogs of a period page by page, and as CSV (UTF-8 with a BOM, so Excel reads Cyrillic right).

`Store.list_dialogs` takes no offset, so paging goes by start time: the cursor is the start time of the
last dialog returned and the ids already returned at that very instant, which survives ties.

Two forms of a row: the machine record (`card_record`: keys, codes, ISO times) and the people's record
(`people_record`: channel, status, tags and new/repeat in words of the language, local times as
datetimes), which the spreadsheet exports (CSV for Excel, .xlsx) write. Both exports add the team's columns
(`team_record`: who took the lead, when, the first reply, the minutes it took, the answer state).
"""

from __future__ import annotations

import base64
import binascii
import csv
import io
import json
from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Literal
from zoneinfo import ZoneInfo

from reports.card import CARD_FIELDS, CardValue, card_record, local_time
from reports.counts import ReportError
from reports.i18n import (
    Lang,
    field_label,
    messenger_label,
    phone_label,
    reason_label,
    tag_name,
    value_label,
    word,
)
from reports.periods import Period
from tracking.demo import is_demo
from tracking.models import AnswerState, Dialog
from tracking.store.base import ATTRIBUTION_FIELDS, CUSTOMER, NOT_TAKEN, TAKEN_BY, Store, customer_key
from tracking.strings import one_line
from tracking.team import ReplyWindows, answer_state, reply_windows, response_seconds

PAGE_SIZE = 500
MAX_PAGE = 1000
FILTER_ROUNDS = 5  # pages of the store one filtered page of dialogs reads at most
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
    store: Store, period: Period, limit: int = PAGE_SIZE, cursor: str | None = None, keep: DialogFilter | None = None
) -> tuple[list[Dialog], str | None]:
    """Up to `limit` dialogs of the period, oldest first, and the cursor of the next page (None at the end).

    With `keep`, only the dialogs it keeps (spam left out, a tag...): the store cannot filter the list, so
    the page is filled from a few pages of the store; after FILTER_ROUNDS it may be short (even empty)
    while `next` still leads on."""
    if not 1 <= limit <= MAX_PAGE:
        raise ReportError(f"limit must be 1 to {MAX_PAGE}")
    keep = keep or EVERY_DIALOG  # which still leaves demo leads out
    kept: list[Dialog] = []
    for _ in range(FILTER_ROUNDS):
        page, cursor = await _page(store, period, limit - len(kept), cursor)
        kept += [dialog for dialog in page if keep.keeps(dialog)]
        if cursor is None or len(kept) == limit:
            break
    return kept, cursor


async def _page(store: Store, period: Period, limit: int, cursor: str | None) -> tuple[list[Dialog], str | None]:
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


@dataclass(frozen=True)
class DialogFilter:
    """Which dialogs an export lists, as the reports count them: field = value (a "tag" value is any one of
    the dialog's tags), leaving out dialogs that carry any tag of `without_tags`, and demo leads always."""

    fields: Mapping[str, str] = field(default_factory=dict)
    without_tags: tuple[str, ...] = ()

    def keeps(self, dialog: Dialog) -> bool:
        if is_demo(dialog):
            return False
        if self.without_tags and not set(self.without_tags).isdisjoint(dialog.tags):
            return False
        return all(_field_value(dialog, name, value) == value for name, value in self.fields.items())


def _field_value(dialog: Dialog, name: str, wanted: str) -> str | None:
    if name == "tag":
        return wanted if wanted in dialog.tags else None
    if name in ATTRIBUTION_FIELDS:
        value = getattr(dialog.attribution, name)
        return None if value is None else str(value)
    if name in ("messenger", "status"):
        return str(getattr(dialog, name).value)
    if name == "business_number":
        return dialog.business_number
    if name == TAKEN_BY:  # "none": nobody took it
        return NOT_TAKEN if dialog.taken_by is None else str(dialog.taken_by)
    if name == CUSTOMER:  # "new" or "repeat"
        return customer_key(dialog.is_repeat)
    raise ReportError(f"cannot filter dialogs by {name!r}")


EVERY_DIALOG = DialogFilter()


async def iter_dialogs(
    store: Store, period: Period, page_size: int = PAGE_SIZE, keep: DialogFilter = EVERY_DIALOG
) -> AsyncGenerator[Dialog, None]:
    cursor: str | None = None
    while True:
        page, cursor = await page_dialogs(store, period, page_size, cursor)
        for dialog in page:
            if keep.keeps(dialog):
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


# The team's columns after the card's (reports/team.py): who took the lead, the first reply, the answer state.
TEAM_FIELDS = ("taken_by", "taken_at", "answered_at", "first_response_minutes", "answer_state")
EXPORT_FIELDS = (*CARD_FIELDS, *TEAM_FIELDS)


def csv_header(lang: Lang | None) -> list[str]:
    """Field keys (stable, for machines) or, with a language, the card's labels (for people)."""
    return list(EXPORT_FIELDS) if lang is None else [field_label(lang, name) for name in EXPORT_FIELDS]


# A people's cell: text, a number, or a local date and time (naive: spreadsheets have no time zones).
Cell = str | int | float | Decimal | datetime | None  # Decimal: money, written exactly


def first_response_minutes(dialog: Dialog) -> float | None:
    """Minutes from the customer's first message to the business's first reply, to a tenth; None unanswered."""
    seconds = response_seconds(dialog)
    return None if seconds is None else round(seconds / 60, 1)


def team_record(dialog: Dialog, windows: ReplyWindows, zone: ZoneInfo, lang: Lang | None = None) -> dict[str, Cell]:
    """The team's columns of a dialog: for machines (lang None) local times as text and the state's code; for
    people (`lang`) local datetimes and the state in words."""

    def at(moment: datetime | None) -> Cell:
        if moment is None:
            return None
        return local_time(moment, zone) if lang is None else moment.astimezone(zone).replace(tzinfo=None, microsecond=0)

    state: AnswerState = answer_state(dialog, windows)
    return {
        "taken_by": one_line(dialog.taken_by_name) if dialog.taken_by_name else None,
        "taken_at": at(dialog.taken_at),
        "answered_at": at(dialog.answered_at),
        "first_response_minutes": first_response_minutes(dialog),
        "answer_state": state.value if lang is None else word(lang, f"answer_{state.value}"),
    }


# How a date reads in a CSV cell: what Excel of that language takes for a date when it opens the file.
CSV_DATES: dict[Lang, str] = {"ru": "%d.%m.%Y %H:%M", "en": "%Y-%m-%d %H:%M"}
DATE_FIELDS = ("started", "last_message", "started_at_utc")


def people_record(dialog: Dialog, zone: ZoneInfo, lang: Lang) -> dict[str, Cell]:
    """The card's fields as an owner reads them: words of `lang` for codes (channel, medium, status, tags,
    new or repeat), phones as people write them, dates as local datetimes. Keys and order of `card_record`."""
    record: dict[str, Cell] = dict(card_record(dialog, zone))
    a = dialog.attribution

    def local(moment: datetime) -> datetime:
        return moment.astimezone(zone).replace(tzinfo=None, microsecond=0)

    def said(by: str, value: str | None) -> str | None:
        return value_label(lang, by, one_line(value)) if value else None

    record.update(
        started=local(dialog.started_at),
        contact_phone=phone_label(dialog.contact_phone) if dialog.contact_phone else None,
        messenger=messenger_label(dialog),
        business_number=phone_label(dialog.business_number) if dialog.business_number else None,
        customer=word(lang, "export_repeat" if dialog.is_repeat else "export_new"),
        channel=value_label(lang, "channel", a.channel.value),
        source=said("source", a.source),
        medium=said("medium", a.medium),
        region=said("region", a.region),
        device=said("device", a.device),
        tags=", ".join(tag_name(lang, one_line(tag)) for tag in dialog.tags),
        status=word(lang, f"status_{dialog.status.value}"),
        status_reason=reason_label(lang, dialog.status_reason),
        last_message=local(dialog.last_message_at),
        started_at_utc=dialog.started_at.astimezone(UTC).replace(tzinfo=None, microsecond=0),
    )
    return record


def csv_cell(value: Cell, lang: Lang) -> CardValue:
    """A people's cell as CSV text: dates in the language's form, a fraction with the language's decimal
    mark (Russian Excel reads "1.5" as a date), everything formula-safe."""
    if isinstance(value, datetime):
        return value.strftime(CSV_DATES[lang])
    if isinstance(value, float):
        return f"{value:g}".replace(".", ",") if lang == "ru" else f"{value:g}"
    if isinstance(value, Decimal):
        return f"{value:f}".replace(".", ",") if lang == "ru" else f"{value:f}"
    return spreadsheet_cell(value)


def machine_cell(value: Cell) -> CardValue:
    """A machine record's cell: numbers with a point, everything formula-safe."""
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, Decimal):
        return f"{value:f}"
    if isinstance(value, datetime):
        return value.isoformat()
    return spreadsheet_cell(value)


async def dialogs_csv(
    store: Store,
    period: Period,
    zone: ZoneInfo,
    *,
    lang: Lang | None = None,
    delimiter: Delimiter = "comma",
    people: bool = False,
    keep: DialogFilter = EVERY_DIALOG,
    page_size: int = PAGE_SIZE,
) -> AsyncIterator[bytes]:
    """The CSV in chunks (one per page of dialogs), the first starting with the BOM and the header.
    `people`: values in words of `lang` (Russian without one) and local dates, as Excel shows them;
    otherwise the machine record (codes, ISO times) under keys or, with `lang`, translated headers."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=DELIMITERS[delimiter], lineterminator="\r\n")
    buffer.write(BOM)
    words: Lang = lang or "ru"
    writer.writerow(csv_header(words if people else lang))
    rows = 0
    windows = reply_windows(await store.reply_sources())
    async for dialog in iter_dialogs(store, period, page_size, keep):
        if people:
            record = {**people_record(dialog, zone, words), **team_record(dialog, windows, zone, words)}
            writer.writerow([csv_cell(v, words) for v in record.values()])
        else:
            cells = [*card_record(dialog, zone).values(), *team_record(dialog, windows, zone).values()]
            writer.writerow([machine_cell(v) for v in cells])
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
