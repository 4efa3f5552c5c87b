"""Report counts kept beside the dialogs on MongoDB: the rows of tracking/store/rollups.py, without transactions.

The same rows as SQLite's (a shape, its key, the local buckets, status and tag set, per UTC day and UTC
hour), one document each in `dialog_counts`, `_id` "<span>|<shape>|<slot>|<digest of the key>", so a
period's rows of a shape are one `_id` range. A standalone MongoDB has no transaction over the dialog and
its rows, so every change goes:

1. mark its hours (`count_marks`: one document per change and hour) and bump each hour's counter
   (`count_hours`);
2. write the dialog;
3. `$inc` its rows by what it contributes now minus what it contributed before (day and hour);
4. bump the counters and remove its marks.

A marked hour is counted from the dialogs by every report, and its day read hour by hour, so a report
is exact even while a change is half done or after a crash left its marks. The repair (at start-up and
every `repair_interval`) recomputes the hours of marks older than `stale` from their dialogs and their
day from its hours, and removes the marks only when no hour of that day changed meanwhile (counters).
A change whose mark a repair removed while it was still running marks its hours again, so a change
slower than `stale` is at worst counted wrong until the next repair, never for good.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from enum import Enum
from typing import Any

from pymongo import DeleteOne, InsertOne, UpdateOne
from pymongo.asynchronous.database import AsyncDatabase

from tracking.store import rollups
from tracking.store.base import ATTRIBUTION_FIELDS, CUSTOMER, CUSTOMERS, CountQuery, is_repeat_of

Doc = dict[str, Any]
STATE = "dialog_counts"  # meta: "ready" once the rows are complete; "stale …" while they are being marked
READY = rollups.READY
# What a dialog document's contribution is computed from.
COUNTED_PROJECTION = {
    "started_at": 1,
    "is_repeat": 1,
    "status": 1,
    "buckets": 1,
    "attribution": 1,
    "business_number": 1,
    "messenger": 1,
    "tags": 1,
}
RAW_IN_PYTHON = timedelta(hours=6)  # raw parts up to this long are counted here; longer ones by aggregation
HOUR = timedelta(hours=1)


def _plain(value: Any) -> Any:
    return value.value if isinstance(value, Enum) else value


def hour_of(moment: datetime) -> str:
    return "h|" + rollups.slot(moment, rollups.HOUR)


def _day_hours(day: str) -> tuple[str, str]:
    """The range of hour keys of a day ('d|YYYY-MM-DD'): 'T' < 'U'."""
    return "h|" + day[2:], "h|" + day[2:] + "U"


def _row_id(span: str, shape: str, slot: str, key: str) -> str:
    return f"{span}|{shape}|{slot}|{hashlib.blake2b(key.encode(), digest_size=16).hexdigest()}"


Rows = dict[str, list[Any]]  # row id -> [its fields, dialogs, repeat]


def contribution(doc: Mapping[str, Any], sign: int = 1, *, spans: Iterable[tuple[str, int]] | None = None) -> Rows:
    """The rows a dialog document adds to (sign 1) or takes from (-1), by rollups' shapes and keys."""
    buckets = doc.get("buckets") or {}
    attribution = doc.get("attribution") or {}
    columns = (
        None,
        bool(doc.get("is_repeat")),
        _plain(doc.get("status")),
        *(buckets.get(name) for name in rollups.BUCKETS),
        *(_plain(attribution.get(name)) for name in ATTRIBUTION_FIELDS),
        doc.get("business_number"),
        _plain(doc.get("messenger")),
    )
    tags = sorted({str(tag) for tag in doc.get("tags") or []})
    out: Rows = {}
    for shape, key, *rest, repeat in rollups._entries(columns, tags):
        day, week, month, quarter, status, _tag_set, *dims = rest
        fields: Doc = {"shape": shape, "day": day, "week": week, "month": month, "quarter": quarter}
        fields.update(status=status, tags=tags)
        fields.update({name: value for name, value in zip(rollups.DIMENSIONS, dims, strict=True) if value is not None})
        for span in spans or (rollups.DAY, rollups.HOUR):
            row_id = _row_id(span[0], shape, rollups.slot(doc["started_at"], span), key)
            out[row_id] = [fields, sign, sign * int(repeat)]
    return out


def delta(before: Iterable[Mapping[str, Any]], after: Iterable[Mapping[str, Any]]) -> Rows:
    """What the rows change by when dialogs stored as `before` are stored as `after` (zeros dropped)."""
    total: Rows = {}
    for docs, sign in ((before, -1), (after, 1)):
        for doc in docs:
            for row_id, (fields, n, r) in contribution(doc, sign).items():
                kept = total.setdefault(row_id, [fields, 0, 0])
                kept[1] += n
                kept[2] += r
    return {row_id: row for row_id, row in total.items() if row[1] or row[2]}


async def apply(db: AsyncDatabase[Doc], rows: Rows) -> None:
    """$inc the rows (inserting new ones with their fields); rows brought to no dialog go."""
    if not rows:
        return
    updates = [
        UpdateOne({"_id": row_id}, {"$inc": {"dialogs": n, "repeat": r}, "$setOnInsert": fields}, upsert=True)
        for row_id, (fields, n, r) in rows.items()
    ]
    await db.dialog_counts.bulk_write(updates, ordered=False)
    emptied = [row_id for row_id, (_, n, _) in rows.items() if n < 0]
    if emptied:
        await db.dialog_counts.delete_many({"_id": {"$in": emptied}, "dialogs": 0})


# marks --------------------------------------------------------------------------------------------


async def mark(db: AsyncDatabase[Doc], hours: Iterable[str], *, at: float | None = None) -> str:
    """Mark the hours as changing (at=0: as needing the repair, with no change running); the mark's token."""
    token = uuid.uuid4().hex
    hours = sorted(set(hours))
    if not hours:
        return token
    moment = time.time() if at is None else at
    await db.count_marks.insert_many([{"_id": f"{token}|{h}", "token": token, "hour": h, "at": moment} for h in hours])
    await _bump(db, hours)
    return token


async def _bump(db: AsyncDatabase[Doc], hours: list[str]) -> None:
    await db.count_hours.bulk_write(
        [UpdateOne({"_id": h}, {"$inc": {"changes": 1}}, upsert=True) for h in hours], ordered=False
    )


async def unmark(db: AsyncDatabase[Doc], token: str, hours: Iterable[str]) -> None:
    """The change is counted: bump the counters (a repair running now starts again), remove the marks.
    A mark a repair removed meanwhile took this change for abandoned: mark the hours for the next repair."""
    hours = sorted(set(hours))
    if not hours:
        return
    await _bump(db, hours)
    removed = await db.count_marks.delete_many({"_id": {"$in": [f"{token}|{h}" for h in hours]}})
    if removed.deleted_count < len(hours):
        await mark(db, hours, at=0)


async def dirty_hours(db: AsyncDatabase[Doc], start: datetime, end: datetime) -> set[str]:
    """The marked hours (as rollups slots) that meet [start, end)."""
    low, high = hour_of(start), hour_of(end - timedelta(microseconds=1)) + "~"
    found = db.count_marks.find({"hour": {"$gte": low, "$lt": high}}, {"hour": 1})
    return {doc["hour"][2:] async for doc in found}


# reading ------------------------------------------------------------------------------------------

Range = tuple[datetime, datetime]
Totals = dict[tuple[tuple[Any, ...], str | None], list[int]]


def split(query: CountQuery, dirty: set[str]) -> tuple[list[tuple[str, str, str]], list[Range]]:
    """rollups.plan, with every day that holds a marked hour read by its hours and every marked hour counted
    raw: ([(span, from slot, to slot)], raw ranges), runs of neighbours joined."""
    days, hours, raw = rollups.plan(query.start, query.end)
    units: list[tuple[str, datetime]] = []  # ("d" | "h" | "raw", start)
    for start, end in days:
        moment = start
        while moment < end:
            day_dirty = any(rollups.slot(moment + HOUR * i, rollups.HOUR) in dirty for i in range(24))
            if day_dirty:
                hours.append((moment, moment + timedelta(days=1)))
            else:
                units.append(("d", moment))
            moment += timedelta(days=1)
    for start, end in hours:
        moment = start
        while moment < end:
            units.append(("raw" if rollups.slot(moment, rollups.HOUR) in dirty else "h", moment))
            moment += HOUR
    units.sort(key=lambda unit: unit[1])
    reads: list[tuple[str, str, str]] = []
    raws: list[Range] = list(raw)
    for kind, start in units:
        step = timedelta(days=1) if kind == "d" else HOUR
        if kind == "raw":
            raws.append((start, start + step))
            continue
        span = rollups.DAY if kind == "d" else rollups.HOUR
        first, after = rollups.slot(start, span), rollups.slot(start + step, span)
        if reads and reads[-1][0] == span[0] and reads[-1][2] == first:
            reads[-1] = (span[0], reads[-1][1], after)
        else:
            reads.append((span[0], first, after))
    raws.sort()
    joined: list[Range] = []
    for start, end in raws:
        if joined and joined[-1][1] == start:
            joined[-1] = (joined[-1][0], end)
        else:
            joined.append((start, end))
    return reads, joined


def tally(query: CountQuery, rows: Iterable[Mapping[str, Any]], totals: Totals) -> None:
    """Add rows (kept rows, or a dialog's row of the shape with dialogs 1) into report groups, as
    rollups' SQL does: probable matches hidden unless included, tag filter and exclusion on the tag set, a
    row split into its new (dialogs − repeat) and repeat customers when grouped or filtered by customer."""
    hide = not query.include_probable
    bucket = query.bucket.value if query.bucket is not None else None
    without = set(query.without_tags)
    customers: tuple[str, ...] = ()  # () the row whole; else its customers to count
    if CUSTOMER in query.filters:
        customers = ("repeat",) if is_repeat_of(query.filters[CUSTOMER]) else ("new",)
    elif CUSTOMER in query.group_by:
        customers = CUSTOMERS

    def column(row: Mapping[str, Any], name: str) -> Any:
        if hide and name in ATTRIBUTION_FIELDS and row.get("status") == "probable":
            return "unattributed" if name == "channel" else None
        return row.get(name)

    for row in rows:
        if without and without.intersection(row.get("tags") or ()):
            continue
        matched = True
        for name, wanted in query.filters.items():
            if name == CUSTOMER:
                continue  # the row's customers below
            if name == "tag" and "tag" not in query.group_by:
                matched = wanted in (row.get("tags") or ())
            else:
                matched = column(row, name) == wanted
            if not matched:
                break
        if not matched:
            continue
        dialogs, repeat = int(row["dialogs"]), int(row["repeat"])
        counts = {"new": (dialogs - repeat, 0), "repeat": (repeat, repeat)}
        for customer in customers or (None,):
            n, r = counts[customer] if customer is not None else (dialogs, repeat)
            fields = tuple(customer if name == CUSTOMER else column(row, name) for name in query.group_by)
            total = totals.setdefault((fields, row.get(bucket) if bucket else None), [0, 0])
            total[0] += n
            total[1] += r


async def read_rows(db: AsyncDatabase[Doc], shape: str, reads: list[tuple[str, str, str]]) -> list[Doc]:
    found: list[Doc] = []
    for span, first, after in reads:
        ids = {"$gte": f"{span}|{shape}|{first}|", "$lt": f"{span}|{shape}|{after}|"}
        found += await db.dialog_counts.find({"_id": ids}, {"_id": 0, "shape": 0}).to_list()
    return found


async def raw_rows(db: AsyncDatabase[Doc], shape: str, start: datetime, end: datetime) -> list[Doc]:
    """The dialogs of [start, end) as rows of the shape (dialogs 1 each; a tag row per tag)."""
    rows: list[Doc] = []
    async for doc in db.dialogs.find({"started_at": {"$gte": start, "$lt": end}}, COUNTED_PROJECTION):
        for row_id, (fields, n, r) in contribution(doc, spans=[rollups.HOUR]).items():
            if fields["shape"] == shape:
                rows.append({**fields, "dialogs": n, "repeat": r, "_id": row_id})
    return rows


# repair -------------------------------------------------------------------------------------------


async def _counters(db: AsyncDatabase[Doc], day: str) -> dict[str, int]:
    low, high = _day_hours(day)
    return {d["_id"]: int(d.get("changes", 0)) async for d in db.count_hours.find({"_id": {"$gte": low, "$lt": high}})}


async def recount_hour(db: AsyncDatabase[Doc], hour: str) -> None:
    """Set an hour's rows to a recount of its dialogs (by $inc of the difference)."""
    start = datetime.fromisoformat(hour[2:] + ":00+00:00")
    target: Rows = {}
    async for doc in db.dialogs.find({"started_at": {"$gte": start, "$lt": start + HOUR}}, COUNTED_PROJECTION):
        for row_id, (fields, n, r) in contribution(doc, spans=[rollups.HOUR]).items():
            kept = target.setdefault(row_id, [fields, 0, 0])
            kept[1] += n
            kept[2] += r
    await _set_rows(db, f"h|{hour[2:]}", target)


async def _set_rows(db: AsyncDatabase[Doc], prefix: str, target: Rows) -> None:
    """Bring the rows whose ids start with 'span|' … of one slot to `target`: prefix is 'h|slot' or 'd|slot'."""
    span, slot = prefix.split("|", 1)
    change: Rows = {row_id: [fields, n, r] for row_id, (fields, n, r) in target.items()}
    for shape in rollups.SHAPES:
        ids = {"$gte": f"{span}|{shape}|{slot}|", "$lt": f"{span}|{shape}|{slot}|~"}
        async for row in db.dialog_counts.find({"_id": ids}, {"dialogs": 1, "repeat": 1}):
            kept = change.setdefault(row["_id"], [{}, 0, 0])
            kept[1] -= int(row["dialogs"])
            kept[2] -= int(row["repeat"])
    writes: list[Any] = []
    for row_id, (fields, n, r) in change.items():
        if row_id not in target:
            writes.append(DeleteOne({"_id": row_id}))
        elif n or r:
            writes.append(
                UpdateOne({"_id": row_id}, {"$inc": {"dialogs": n, "repeat": r}, "$setOnInsert": fields}, upsert=True)
            )
    if writes:
        await db.dialog_counts.bulk_write(writes, ordered=False)


async def recount_day(db: AsyncDatabase[Doc], day: str) -> None:
    """Set a day's rows to the sum of its hours' rows."""
    target: Rows = {}
    for shape in rollups.SHAPES:
        ids = {"$gte": f"h|{shape}|{day[2:]}T", "$lt": f"h|{shape}|{day[2:]}U"}
        async for row in db.dialog_counts.find({"_id": ids}):
            _, shape_name, _, digest = row["_id"].split("|")
            row_id = f"d|{shape_name}|{day[2:]}|{digest}"
            fields = {k: v for k, v in row.items() if k not in ("_id", "dialogs", "repeat")}
            kept = target.setdefault(row_id, [fields, 0, 0])
            kept[1] += int(row["dialogs"])
            kept[2] += int(row["repeat"])
    await _set_rows(db, f"d|{day[2:]}", {k: v for k, v in target.items() if v[1]})


async def repair_day(db: AsyncDatabase[Doc], day: str, stale: float) -> bool:
    """Recount the marked hours of a day and the day; True when its marks could be removed."""
    low, high = _day_hours(day)
    await db.count_hours.update_many({"_id": {"$gte": low, "$lt": high}}, {"$inc": {"changes": 1}})
    before = await _counters(db, day)
    marks = await db.count_marks.find({"hour": {"$gte": low, "$lt": high}}).to_list()
    if not marks or any(m["at"] > time.time() - stale for m in marks):
        return not marks  # a change is running there now: next time
    for hour in sorted({m["hour"] for m in marks}):
        await recount_hour(db, hour)
    await recount_day(db, day)
    if await _counters(db, day) != before:  # a change or another repair met this one: leave the marks
        return False
    await db.count_marks.delete_many({"_id": {"$in": [m["_id"] for m in marks]}})
    return True


async def repair(db: AsyncDatabase[Doc], stale: float) -> bool:
    """Repair every day with marks older than `stale`; True when no mark is left."""
    days = {"d|" + h[2:12] for h in await db.count_marks.distinct("hour")}
    done = True
    for day in sorted(days):
        done = await repair_day(db, day, stale) and done
    return done and await db.count_marks.find_one({}, {"_id": 1}) is None


async def mark_everything(db: AsyncDatabase[Doc]) -> None:
    """Mark every hour that holds a dialog or a row for the repair (rows of a version that kept none)."""
    hours: set[str] = set()
    async for doc in db.dialogs.find({}, {"started_at": 1}):
        hours.add(hour_of(doc["started_at"]))
    async for row in db.dialog_counts.find({"_id": {"$gte": "h|", "$lt": "h|~"}}, {"_id": 1}):
        hours.add("h|" + row["_id"].split("|")[2])
    ordered = sorted(hours)
    for start in range(0, len(ordered), 1000):
        part = ordered[start : start + 1000]
        token = uuid.uuid4().hex
        await db.count_marks.bulk_write(
            [InsertOne({"_id": f"{token}|{h}", "token": token, "hour": h, "at": 0}) for h in part], ordered=False
        )
        await _bump(db, part)
