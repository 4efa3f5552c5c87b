"""Counts of dialogs per UTC day and per UTC hour, kept beside the dialogs (SQLite), for the reports.

A grouped report over a busy month used to read and sort a million rows (0.5–2 s). Here every dialog adds
one to a row per *shape* (a few fields reports group or filter by together) in its UTC day and in its UTC
hour. A report reads whole days from the day rows, the hours at the edges of its period from the hour
rows, and counts only the dialogs of the part-hours at its very edges (at most two) from the dialogs
themselves: the answer is exactly the raw count. A query no shape serves is counted raw.

Each row also keeps the dialog's local buckets, status and whole tag set, so any bucket, status filter,
`include_probable` and tag filter or exclusion are answered from the rows. The rows follow every change
in the same transaction as the change (`add` / `remove` around it); `rebuild` recomputes them from the
dialogs, an hour at a time, while the server runs.

The rows are *deferred*: a new dialog writes none. The watermark W (meta 'dialog_counts_upto', a stored
started_at, or a UTC hour 'YYYY-MM-DDTHH' in files of older versions, which sorts before every started_at
of that hour) says the hour rows hold exactly the dialogs started before W; a report counts the dialogs
started from W on from the dialogs themselves, and W's own hour from its (partial) rows plus those. W is
compared as text only, so both forms need no migration. `roll_up_step`, run by the store every minute in
short writes of its own, moves W over at most PIECE dialogs at a time (ending where started_at changes, so
dialogs of one instant are never split) up to the last whole hour, adding their rows (tags included); then
it sums each whole UTC day before W into day rows, DAY_PIECE hour rows of one shape per step. Days before
the *rolled-up day* (meta 'dialog_counts_days') have complete day rows; a report reads them from day rows,
later days before W from hour rows. A change to a dialog started before W (tags, an edit that attributes
it, forget, the time-zone recompute, a new dialog whose provider's time is in the past) moves its rows in
its own transaction, reading W there (several processes share the file), and the day row too unless the
step is summing that day's shape and has not reached its hour row yet; one from W on changes nothing.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from tracking.store.base import ATTRIBUTION_FIELDS, CUSTOMER, TAKEN_BY, CountQuery, is_repeat_of, taker_of

# Fields a shape may hold: the dialog's columns of the same names, and "tag" (one row per tag).
DIMENSIONS = (*ATTRIBUTION_FIELDS, "business_number", "messenger", "tag")
# Smallest first: a query reads the first shape that holds every field it groups or filters by.
SHAPES: dict[str, tuple[str, ...]] = {
    "all": (),
    "number": ("business_number", "messenger"),
    "device": ("os", "browser", "device"),
    "tag": ("tag",),
    "channel": ("channel", "source", "medium"),
    "campaign": ("channel", "campaign"),
    # the money reports' leads: spend joins them by source and campaign, and each campaign has its channel
    "source_campaign": ("channel", "source", "campaign"),
    "content": ("channel", "content"),
    "term": ("channel", "term"),
    "region": ("region",),
    "contact_page": ("contact_page",),
    "landing_page": ("landing_page",),
}
# meta: the shapes the rows were counted for (SHAPES_MARK). A file whose rows are of other shapes (a shape added
# since) is rebuilt at open, as an older version's is: reports count raw till then.
SHAPES_KEY = "dialog_counts_shapes"
SHAPES_MARK = ";".join(f"{shape}={','.join(fields)}" for shape, fields in SHAPES.items())
# (span, characters of a stored started_at that name its slot): the UTC day and the UTC hour.
DAY, HOUR = ("d", 10), ("h", 13)
BUCKETS = ("day", "week", "month", "quarter")
READY = "ready"  # meta 'dialog_counts': the rows are complete; anything else says they are not (yet)
ROLLED = "dialog_counts_days"  # meta: the first UTC day without complete day rows (days before it have them)
ROLLING = "dialog_counts_day_shapes"  # meta: how many shapes (ROLL_ORDER) of the rolled-up day are summed
# meta: how far the next shape's sum has gone, its last hour row's slot (13 characters) and key; '' not begun
CURSOR = "dialog_counts_day_cursor"
# meta: W, a stored started_at (or a UTC hour 'YYYY-MM-DDTHH', which sorts before every started_at of that
# hour): the hour rows hold exactly the dialogs started before it, as text compares
WATERMARK = "dialog_counts_upto"
# At most this many dialogs per roll-up step, and hour rows per day-summing step: each a write ingest waits
# behind. On a burst hour (docs/performance.md) a dialog costs ~75 µs (its ~11 upserts), an hour row ~13 µs:
# ~20 ms a step. Tests make them small.
PIECE = 250
DAY_PIECE = 1500
_ROLLED_SQL = f"(SELECT value FROM meta WHERE key = '{ROLLED}')"
_WATERMARK_SQL = f"(SELECT value FROM meta WHERE key = '{WATERMARK}')"
# 'all' last: while a day is being summed its 'all' rows (any change leaves some) keep it found.
ROLL_ORDER = [*(shape for shape in SHAPES if shape != "all"), "all"]

SCHEMA = f"""
CREATE TABLE IF NOT EXISTS dialog_counts (
    span TEXT NOT NULL, shape TEXT NOT NULL, slot TEXT NOT NULL, k TEXT NOT NULL,
    day TEXT NOT NULL, week TEXT NOT NULL, month TEXT NOT NULL, quarter TEXT NOT NULL,
    status TEXT NOT NULL, tags TEXT NOT NULL, {", ".join(f"{name} TEXT" for name in DIMENSIONS)},
    dialogs INTEGER NOT NULL, repeat INTEGER NOT NULL,
    PRIMARY KEY (span, shape, slot, k)) WITHOUT ROWID;
"""
ROW_COLUMNS = ("span", "shape", "slot", "k", *BUCKETS, "status", "tags", *DIMENSIONS, "dialogs", "repeat")
UPSERT = (
    f"INSERT INTO dialog_counts ({', '.join(ROW_COLUMNS)}) VALUES ({', '.join('?' * len(ROW_COLUMNS))}) "
    "ON CONFLICT (span, shape, slot, k) DO UPDATE SET "
    "dialogs = dialogs + excluded.dialogs, repeat = repeat + excluded.repeat"
)
# What a dialog contributes, as its columns (the truth the raw count reads) and its tags.
COUNTED = ("started_at", "is_repeat", "status", *BUCKETS, *(name for name in DIMENSIONS if name != "tag"))
_DIMENSION_INDEX = {name: i for i, name in enumerate(DIMENSIONS)}
_TAG = _DIMENSION_INDEX["tag"]
# Every shape, so that a statement on one slot of every shape finds its rows by the primary key.
_ALL_SHAPES = ", ".join(f"'{shape}'" for shape in SHAPES)
_SHAPE_INDEXES = [(shape, [_DIMENSION_INDEX[name] for name in fields]) for shape, fields in SHAPES.items()]


def _key(values: Iterable[str | None]) -> str:
    """An injective text of the values (None apart from every text): the row's key within its slot."""
    return "".join("\x00" if value is None else f"{len(value)}:{value}" for value in values)


def _entries(columns: Sequence[Any], tags: Iterable[str]) -> list[tuple[Any, ...]]:
    """The rows (without span and slot) one dialog adds to, from its COUNTED columns and its tags."""
    _, repeat, status, *rest = columns
    buckets, values = rest[:4], rest[4:]
    tag_list = sorted(set(tags))
    tag_set = json.dumps(tag_list, ensure_ascii=False, separators=(",", ":")) if tag_list else "[]"
    common = _key([*buckets, status, tag_set])
    repeat = int(repeat)
    out = []
    for shape, indexes in _SHAPE_INDEXES:
        if shape == "tag":
            for tag in tag_list:
                dims: list[Any] = [None] * len(DIMENSIONS)
                dims[_TAG] = tag
                out.append((shape, common + _key([tag]), *buckets, status, tag_set, *dims, repeat))
            continue
        dims = [None] * len(DIMENSIONS)
        for i in indexes:
            dims[i] = values[i]
        out.append((shape, common + _key([values[i] for i in indexes]), *buckets, status, tag_set, *dims, repeat))
    return out


Summing = tuple[str, str, str]  # the rolled-up day, the shape being summed, the (slot + key) summed so far


def _summing(db: sqlite3.Connection) -> Summing:
    done = int(_meta(db, ROLLING) or 0)
    return rolled_day(db), ROLL_ORDER[done] if done < len(ROLL_ORDER) else "", _meta(db, CURSOR)


def _rows(columns: Sequence[Any], tags: Iterable[str], sign: int, upto: str, summing: Summing) -> list[tuple[Any, ...]]:
    """Its hour rows when it started before the watermark `upto`, and its day rows when its whole day is,
    but for a day row the roll-up step is summing and has not reached yet (it will add the hour row)."""
    started_at = columns[0]
    if started_at >= upto:
        return []
    hour, day = started_at[:13], started_at[:10]
    rolled, current, cursor = summing
    whole_day = day < upto[:10]
    rows = []
    for shape, key, *rest, repeat in _entries(columns, tags):
        rows.append(("h", shape, hour, key, *rest, sign, sign * repeat))
        if whole_day and not (day == rolled and shape == current and hour + key > cursor):
            rows.append(("d", shape, day, key, *rest, sign, sign * repeat))
    return rows


def _meta(db: sqlite3.Connection, key: str) -> str:
    row = db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return "" if row is None else str(row[0])


def _set_meta(db: sqlite3.Connection, key: str, value: str) -> None:
    db.execute(
        "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = ?", (key, value, value)
    )


def rolled_day(db: sqlite3.Connection) -> str:
    """The first UTC day ('YYYY-MM-DD') without complete day rows; '' before the first roll-up."""
    return _meta(db, ROLLED)


def watermark(db: sqlite3.Connection) -> str:
    """W: the UTC hour ('YYYY-MM-DDTHH') before which the hour rows hold every dialog; '' before any."""
    return _meta(db, WATERMARK)


def add_new(db: sqlite3.Connection, columns: Sequence[Any], tags: Iterable[str]) -> None:
    """Count a dialog just inserted, from the COUNTED values it was inserted with: nothing to write unless it
    started before W (a provider's time in the past), as the roll-up step counts it when W passes it."""
    upto = watermark(db)
    if columns[0] < upto:
        db.executemany(UPSERT, _rows(columns, tags, 1, upto, _summing(db)))


def _counted(db: sqlite3.Connection, ids: Sequence[str]) -> list[tuple[Sequence[Any], list[str]]]:
    found: list[tuple[Sequence[Any], list[str]]] = []
    for start in range(0, len(ids), 500):
        part = list(ids[start : start + 500])
        marks = ", ".join("?" * len(part))
        tags: dict[str, list[str]] = {}
        for dialog_id, tag in db.execute(f"SELECT dialog_id, tag FROM dialog_tags WHERE dialog_id IN ({marks})", part):
            tags.setdefault(dialog_id, []).append(tag)
        sql = f"SELECT id, {', '.join(COUNTED)} FROM dialogs WHERE id IN ({marks})"
        found += [(tuple(row)[1:], tags.get(row[0], [])) for row in db.execute(sql, part)]
    return found


def add(db: sqlite3.Connection, ids: Sequence[str]) -> None:
    """Count these dialogs as they are stored now (after a change, in its transaction)."""
    upto, summing = watermark(db), _summing(db)
    for columns, tags in _counted(db, ids):
        db.executemany(UPSERT, _rows(columns, tags, 1, upto, summing))


def remove(db: sqlite3.Connection, ids: Sequence[str]) -> None:
    """Stop counting these dialogs as they are stored now (before a change or an erasure, in its transaction)."""
    upto, summing = watermark(db), _summing(db)
    for columns, tags in _counted(db, ids):
        rows = _rows(columns, tags, -1, upto, summing)
        db.executemany(UPSERT, rows)
        db.executemany(
            "DELETE FROM dialog_counts WHERE span = ? AND shape = ? AND slot = ? AND k = ? AND dialogs = 0",
            [row[:4] for row in rows],
        )


def is_ready(db: sqlite3.Connection) -> bool:
    row = db.execute("SELECT value FROM meta WHERE key = 'dialog_counts'").fetchone()
    return row is not None and row[0] == READY


def _set_state(db: sqlite3.Connection, value: str) -> None:
    sql = "INSERT INTO meta (key, value) VALUES ('dialog_counts', ?) ON CONFLICT (key) DO UPDATE SET value = ?"
    db.execute(sql, (value, value))


def mark_stale(db: sqlite3.Connection) -> None:
    """Call in the transaction of a migration that rewrites dialogs' columns without `add`/`remove`: reports
    count raw until `rebuild` finishes (SQLiteStore.open starts it)."""
    _set_state(db, f"stale {uuid.uuid4().hex}")


def setup(db: sqlite3.Connection) -> None:
    """At open, in the schema's transaction: a file without the rows' state or their watermark (an older
    version's) is ready when it holds no dialog yet, else stale (`rebuild` fills the rows and sets W); so is
    one whose rows were counted for other SHAPES (a shape added since has no rows for its dialogs)."""
    db.executescript(SCHEMA)
    known = db.execute(
        f"SELECT COUNT(*) FROM meta WHERE key IN ('dialog_counts', '{ROLLED}', '{WATERMARK}')"
    ).fetchone()[0]
    has_dialogs = db.execute("SELECT 1 FROM dialogs LIMIT 1").fetchone() is not None
    if known < 3:
        if has_dialogs:
            mark_stale(db)
        else:
            _set_state(db, READY)
        for key in (ROLLED, WATERMARK):
            db.execute("INSERT OR IGNORE INTO meta (key, value) VALUES (?, '')", (key,))
    elif _meta(db, SHAPES_KEY) != SHAPES_MARK and has_dialogs and is_ready(db):
        mark_stale(db)  # (a stale file's rebuild counts every shape already)
    _set_meta(db, SHAPES_KEY, SHAPES_MARK)


# rolling up -------------------------------------------------------------------------------------------


def _next(slot_text: str, span: tuple[str, int]) -> str:
    """The slot after this one: the next UTC hour or day."""
    step = timedelta(hours=1) if span == HOUR else timedelta(days=1)
    moment = datetime.strptime(slot_text, "%Y-%m-%dT%H" if span == HOUR else "%Y-%m-%d").replace(tzinfo=UTC)
    return slot(moment + step, span)


_REST = [name for name in ROW_COLUMNS if name not in ("span", "shape", "slot", "k", "dialogs", "repeat")]


def _roll_day_shape(db: sqlite3.Connection, day: str, shapes: Sequence[str]) -> None:
    """Replace the day rows of these shapes by the sums of the day's hour rows."""
    marks = ", ".join(f"'{shape}'" for shape in shapes)
    db.execute(f"DELETE FROM dialog_counts WHERE span = 'd' AND shape IN ({marks}) AND slot = ?", (day,))
    db.execute(
        f"INSERT INTO dialog_counts ({', '.join(ROW_COLUMNS)}) "
        f"SELECT 'd', shape, ?, k, {', '.join(_REST)}, SUM(dialogs), SUM(repeat) FROM dialog_counts "
        f"WHERE span = 'h' AND shape IN ({marks}) AND slot >= ? AND slot < ? "
        "GROUP BY shape, k HAVING SUM(dialogs) <> 0",
        (day, day, day + "U"),  # hour slots are 'YYYY-MM-DDTHH': 'T' < 'U'
    )


def _roll_day_piece(db: sqlite3.Connection, day: str) -> None:
    """Add the next DAY_PIECE hour rows (in key order) of the shape being summed to the day's rows; the first
    piece of a shape drops its day rows. A change meanwhile writes a day row only for an hour row the sum has
    passed (`_rows`), so each dialog is in the day's sum once."""
    done = int(_meta(db, ROLLING) or 0)
    shape, cursor = ROLL_ORDER[done], _meta(db, CURSOR)
    if not cursor:
        db.execute("DELETE FROM dialog_counts WHERE span = 'd' AND shape = ? AND slot = ?", (shape, day))
    after = (cursor[:13], cursor[13:]) if cursor else (day, "")
    found = db.execute(
        f"SELECT slot, k, {', '.join(_REST)}, dialogs, repeat FROM dialog_counts "
        "WHERE span = 'h' AND shape = ? AND (slot, k) > (?, ?) AND slot < ? ORDER BY slot, k LIMIT ?",
        (shape, *after, day + "U", DAY_PIECE),
    ).fetchall()
    db.executemany(UPSERT, [("d", shape, day, *row[1:]) for row in found])
    if len(found) == DAY_PIECE:
        _set_meta(db, CURSOR, found[-1][0] + found[-1][1])
        return
    _set_meta(db, CURSOR, "")
    if done + 1 < len(ROLL_ORDER):
        _set_meta(db, ROLLING, str(done + 1))
    else:
        _set_meta(db, ROLLED, _next(day, DAY))
        _set_meta(db, ROLLING, "0")


def _first_day_with_rows(db: sqlite3.Connection, start: str, end: str) -> str | None:
    """The first day in [start, end) with hour or day rows (every change leaves an 'all' row; by the key)."""
    found = [
        db.execute(
            "SELECT MIN(slot) FROM dialog_counts WHERE span = ? AND shape = 'all' AND slot >= ? AND slot < ?",
            (span, start, end),
        ).fetchone()[0]
        for span in ("h", "d")
    ]
    days = [value[:10] for value in found if value is not None]
    return min(days) if days else None


def roll_up_step(db: sqlite3.Connection, target: str) -> bool:
    """One short piece of the roll-up, in one write: up to DAY_PIECE hour rows of one shape of a whole day
    before W added to its day rows, else W moved past up to PIECE more dialogs (before `target`, a UTC hour
    slot), which are counted as they are now. False when there was nothing to do.

    A piece ends where started_at changes, so W stays a plain started_at and every comparison with it is
    one of text (the started_at index; an hour-boundary W of an older file is one too). It holds at most
    PIECE dialogs, unless more than PIECE share one started_at (to the microsecond): then all of those."""
    upto, rolled = watermark(db), rolled_day(db)
    if rolled < upto[:10]:
        day = _first_day_with_rows(db, rolled, upto[:10])
        if day is None:
            _set_meta(db, ROLLED, upto[:10])
            _set_meta(db, ROLLING, "0")
            _set_meta(db, CURSOR, "")
        else:
            if day != rolled:
                _set_meta(db, ROLLED, day)
                _set_meta(db, ROLLING, "0")
                _set_meta(db, CURSOR, "")
            _roll_day_piece(db, day)
            return True
    if upto >= target:
        return False
    first = db.execute(
        "SELECT MIN(started_at) FROM dialogs WHERE started_at >= ? AND started_at < ?", (upto, target)
    ).fetchone()[0]
    if first is None:
        _set_meta(db, WATERMARK, target)
        return True
    found = db.execute(  # the first dialog after the piece
        "SELECT started_at FROM dialogs WHERE started_at >= ? AND started_at < ? ORDER BY started_at LIMIT 1 OFFSET ?",
        (first, target, PIECE),
    ).fetchone()
    end = target if found is None else found[0]
    if end == first:  # more than PIECE dialogs at one instant: all of them
        after = db.execute(
            "SELECT MIN(started_at) FROM dialogs WHERE started_at > ? AND started_at < ?", (first, target)
        ).fetchone()[0]
        end = target if after is None else after
    db.executemany(UPSERT, _hour_totals(db, first, end).values())
    _set_meta(db, WATERMARK, end)
    return True


# rebuild ----------------------------------------------------------------------------------------------


def state(db: sqlite3.Connection) -> str | None:
    row = db.execute("SELECT value FROM meta WHERE key = 'dialog_counts'").fetchone()
    return None if row is None else str(row[0])


def begin_rebuild(db: sqlite3.Connection, target: str) -> None:
    """Move W to `target` (never back) and every day before it to be rebuilt; drop rows from W on. Any
    change from here on moves the rows of its dialog, and the rebuild replaces each hour and day after."""
    upto = max(watermark(db), target)
    _set_meta(db, WATERMARK, upto)
    _set_meta(db, ROLLED, upto[:10])
    _set_meta(db, ROLLING, "0")
    _set_meta(db, CURSOR, "")
    db.execute(f"DELETE FROM dialog_counts WHERE span = 'h' AND shape IN ({_ALL_SHAPES}) AND slot >= ?", (upto,))
    db.execute(f"DELETE FROM dialog_counts WHERE span = 'd' AND shape IN ({_ALL_SHAPES}) AND slot >= ?", (upto[:10],))


def hours_to_rebuild(db: sqlite3.Connection) -> list[str]:
    """Every UTC hour before W that holds a dialog or a row (a row with no dialog left must go)."""
    upto = watermark(db)
    hours = {row[0] for row in db.execute("SELECT DISTINCT substr(started_at, 1, 13) FROM dialogs")}
    hours |= {row[0] for row in db.execute("SELECT DISTINCT slot FROM dialog_counts WHERE span = 'h'")}
    return sorted(hour for hour in hours if hour < upto)


def _hour_totals(db: sqlite3.Connection, start: str, end: str) -> dict[tuple[str, str, str], list[Any]]:
    """The hour rows of the dialogs started in [start, end), counted from them (tags included)."""
    tags: dict[str, list[str]] = {}
    for dialog_id, tag in db.execute(
        "SELECT t.dialog_id, t.tag FROM dialogs d JOIN dialog_tags t ON t.dialog_id = d.id "
        "WHERE d.started_at >= ? AND d.started_at < ?",
        (start, end),
    ):
        tags.setdefault(dialog_id, []).append(tag)
    totals: dict[tuple[str, str, str], list[Any]] = {}
    sql = f"SELECT id, {', '.join(COUNTED)} FROM dialogs WHERE started_at >= ? AND started_at < ?"
    for row in db.execute(sql, (start, end)):
        hour = row[1][:13]
        for shape, key, *rest, repeat in _entries(tuple(row)[1:], tags.get(row[0], ())):
            total = totals.get((hour, shape, key))
            if total is None:
                totals[(hour, shape, key)] = ["h", shape, hour, key, *rest, 1, repeat]
            else:
                total[-2] += 1
                total[-1] += repeat
    return totals


def rebuild_hour(db: sqlite3.Connection, hour: str) -> None:
    """Replace an hour's rows with a recount of its dialogs before W (one short write: the server keeps
    serving)."""
    end = min(hour + ";", watermark(db))  # every started_at of the hour: 'YYYY-MM-DDTHH:…', and ';' follows ':'
    totals = _hour_totals(db, hour, end)
    db.execute(f"DELETE FROM dialog_counts WHERE span = 'h' AND shape IN ({_ALL_SHAPES}) AND slot = ?", (hour,))
    db.executemany(UPSERT, totals.values())


def rebuild_day(db: sqlite3.Connection, day: str) -> None:
    """Replace a day's rows by the sum of its hours' rows (which every change keeps along with them); a day
    from the rolled-up day on has none (the roll-up step sums it)."""
    rolled = rolled_day(db)
    if day < rolled:
        _roll_day_shape(db, day, list(SHAPES))
        return
    done = int(_meta(db, ROLLING) or 0) if day == rolled else 0  # the step is summing it: keep what it did
    marks = ", ".join(f"'{shape}'" for shape in ROLL_ORDER[done:])
    db.execute(f"DELETE FROM dialog_counts WHERE span = 'd' AND shape IN ({marks}) AND slot = ?", (day,))


def days_to_rebuild(db: sqlite3.Connection) -> list[str]:
    days = {row[0] for row in db.execute("SELECT DISTINCT substr(slot, 1, 10) FROM dialog_counts WHERE span = 'h'")}
    days |= {row[0] for row in db.execute("SELECT DISTINCT slot FROM dialog_counts WHERE span = 'd'")}
    return sorted(days)


def finish_rebuild(db: sqlite3.Connection, began: str | None) -> bool:
    """Mark the rows complete, unless the dialogs were marked stale again since the rebuild began."""
    if state(db) != began:
        return False
    _set_state(db, READY)
    return True


# reading ----------------------------------------------------------------------------------------------


def shape_for(query: CountQuery) -> str | None:
    """The smallest shape that can answer the query, or None (count raw): no shape holds taken_by (who took a
    lead changes long after the dialog opened, and a report by taker is rare). Every row keeps its status, tag
    set and its dialogs' repeat count, so any shape answers status, tags and customer (new = dialogs − repeat)."""
    needed = {*query.group_by, *query.filters} - {"status", "tag", CUSTOMER}
    if "tag" in query.group_by:
        return "tag" if not needed else None
    return next((shape for shape, fields in SHAPES.items() if shape != "tag" and needed <= set(fields)), None)


def _floor(moment: datetime, unit: timedelta) -> datetime:
    moment = moment.astimezone(UTC)
    if unit == timedelta(hours=1):
        return moment.replace(minute=0, second=0, microsecond=0)
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


def _ceil(moment: datetime, unit: timedelta) -> datetime:
    floor = _floor(moment, unit)
    return floor if floor == moment else floor + unit


Range = tuple[datetime, datetime]


def plan(start: datetime, end: datetime) -> tuple[list[Range], list[Range], list[Range]]:
    """Split [start, end) into whole UTC days, whole UTC hours around them, and the part-hours at the
    edges that only the dialogs can count: (days, hours, raw), each a list of [from, to) ranges."""
    hour, day = timedelta(hours=1), timedelta(days=1)
    first_hour, last_hour = _ceil(start, hour), _floor(end, hour)
    if first_hour >= last_hour:
        return [], [], [(start, end)]
    raw = [r for r in ((start, first_hour), (last_hour, end)) if r[0] < r[1]]
    first_day, last_day = _ceil(first_hour, day), _floor(last_hour, day)
    if first_day >= last_day:
        return [], [(first_hour, last_hour)], raw
    hours = [r for r in ((first_hour, first_day), (last_day, last_hour)) if r[0] < r[1]]
    return [(first_day, last_day)], hours, raw


def slot(moment: datetime, span: tuple[str, int]) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H")[: span[1]]


def count_sql(query: CountQuery, shape: str | None, ts: Callable[[datetime], str]) -> tuple[str, list[Any]]:
    """The SQL of `count_dialogs`: with a shape, whole days and hours before W from the rows, and the
    part-hours at the edges and the hours from W on from the dialogs; without, every dialog of the period.
    One statement (one snapshot: W and the rows it covers agree). Columns g0…, bucket, n, r."""
    days: list[Range]
    hours: list[Range]
    if shape is None:
        days, hours, raw = [], [], [(query.start, query.end)]
    else:
        days, hours, raw = plan(query.start, query.end)
    parts: list[str] = []
    args: list[Any] = []
    for start, end in raw:
        sql, part_args = _part(query, "d", "d.started_at >= ? AND d.started_at < ?", [ts(start), ts(end)])
        parts.append(sql)
        args += part_args
    for start, end in days:  # whole days before the rolled-up day from their day rows
        where = f"c.span = 'd' AND c.shape = ? AND c.slot >= ? AND c.slot < MIN(?, {_ROLLED_SQL})"
        sql, part_args = _part(query, "c", where, [shape, slot(start, DAY), slot(end, DAY)])
        parts.append(sql)
        args += part_args
    for start, end in days:  # whole days from the rolled-up day on from their hour rows, before W
        where = (
            f"c.span = 'h' AND c.shape = ? AND c.slot >= MAX(?, {_ROLLED_SQL}) AND c.slot < MIN(?, {_WATERMARK_SQL})"
        )
        sql, part_args = _part(query, "c", where, [shape, slot(start, DAY), slot(end, DAY)])
        parts.append(sql)
        args += part_args
    for start, end in hours:  # whole hours at the edges, before W (W's own hour: its rows hold its part before W)
        where = f"c.span = 'h' AND c.shape = ? AND c.slot >= ? AND c.slot < MIN(?, {_WATERMARK_SQL})"
        sql, part_args = _part(query, "c", where, [shape, slot(start, HOUR), slot(end, HOUR)])
        parts.append(sql)
        args += part_args
    if days or hours:  # the dialogs from W on that the rows do not hold yet ('' < any time)
        first, last = min(r[0] for r in days + hours), max(r[1] for r in days + hours)
        where = f"d.started_at >= MAX(?, {_WATERMARK_SQL}) AND d.started_at < ?"
        sql, part_args = _part(query, "d", where, [ts(first), ts(last)])
        parts.append(sql)
        args += part_args
    groups = [f"g{i}" for i in range(len(query.group_by))] + (["bucket"] if query.bucket else [])
    if len(parts) == 1:
        return parts[0], args
    outer = [*groups, "SUM(n) AS n", "SUM(r) AS r"]
    sql = f"SELECT {', '.join(outer)} FROM ({' UNION ALL '.join(parts)})"
    return sql + (f" GROUP BY {', '.join(groups)}" if groups else ""), args


def taker_sql(alias: str) -> str:
    """Who took a dialog (its Telegram user id, NULL: nobody). A dialog of an older file whose team columns are
    not filled yet (provider NULL, sqlite.fill_team_columns) has it only in its document."""
    document = f"json_extract({alias}.data, '$.taken_by')"
    return f"CASE WHEN {alias}.provider IS NULL THEN {document} ELSE {alias}.taken_by END"


def taker_condition(alias: str, value: str) -> tuple[str, list[Any]]:
    """A taken_by filter (a user id, or base.NOT_TAKEN) as a condition on the dialogs `alias` and its arguments."""
    taker = taker_of(value)
    if taker is None:
        return f"{taker_sql(alias)} IS NULL", []
    return f"{taker_sql(alias)} = ?", [taker]


def customer_sql(alias: str) -> str:
    """Whether the dialogs `alias` are a new or a repeat customer's, as a customer value ("new", "repeat")."""
    return f"CASE WHEN {alias}.is_repeat THEN 'repeat' ELSE 'new' END"


def _customers(query: CountQuery) -> str:
    """The customers a row's counts split into when the query groups or filters by customer: a row holds
    `dialogs` and `repeat`, so its new are dialogs − repeat. The filter's value is checked (is_repeat_of), so
    it is written as a literal: one row to join, no argument ahead of the WHERE's."""
    if CUSTOMER in query.filters:
        wanted = "repeat" if is_repeat_of(query.filters[CUSTOMER]) else "new"
        return f"(SELECT '{wanted}' AS customer) k"
    return "(SELECT 'new' AS customer UNION ALL SELECT 'repeat') k"


def _part(query: CountQuery, alias: str, where_time: str, args: list[Any]) -> tuple[str, list[Any]]:
    """One SELECT of the union: `d` counts dialogs (joining their tags when grouping by them), `c` sums rows
    (each joined with the customers, new and repeat, when the query groups or filters by customer)."""
    counts_rows = alias == "c"
    by_customer = CUSTOMER in query.group_by or CUSTOMER in query.filters

    def column(name: str) -> str:
        if name == "tag":
            return "c.tag" if counts_rows else "t.tag"
        if name == CUSTOMER:
            return "k.customer" if counts_rows else customer_sql(alias)
        if name == TAKEN_BY:
            assert not counts_rows, "no shape holds taken_by"
            return taker_sql(alias)
        if not query.include_probable and name in ATTRIBUTION_FIELDS:
            hidden = "'unattributed'" if name == "channel" else "NULL"
            return f"CASE WHEN {alias}.status = 'probable' THEN {hidden} ELSE {alias}.{name} END"
        return f"{alias}.{name}"

    select = [f"{column(name)} AS g{i}" for i, name in enumerate(query.group_by)]
    if query.bucket is not None:
        select.append(f"{alias}.{query.bucket.value} AS bucket")
    groups = [f"g{i}" for i in range(len(query.group_by))] + (["bucket"] if query.bucket else [])
    where = [where_time]
    args = list(args)
    for name, value in query.filters.items():
        if name == "tag" and counts_rows and "tag" not in query.group_by:  # most rows carry no tag: '[]' has none
            where.append("c.tags <> '[]' AND EXISTS (SELECT 1 FROM json_each(c.tags) x WHERE x.value = ?)")
        elif name == TAKEN_BY:
            condition, taker = taker_condition(alias, value)
            where.append(condition)
            args.extend(taker)
            continue
        elif name == CUSTOMER:
            if not counts_rows:  # the rows' customer is the joined one, already the wanted one
                where.append(f"{alias}.is_repeat = ?")
                args.append(int(is_repeat_of(value)))
            continue
        else:
            where.append(f"{column(name)} = ?")
        args.append(value)
    if query.without_tags:
        marks = ", ".join("?" * len(query.without_tags))
        if counts_rows:  # most rows carry no tag: '[]' needs no look inside
            where.append(
                f"(c.tags = '[]' OR NOT EXISTS (SELECT 1 FROM json_each(c.tags) x WHERE x.value IN ({marks})))"
            )
        else:
            where.append(f"NOT EXISTS (SELECT 1 FROM dialog_tags x WHERE x.dialog_id = d.id AND x.tag IN ({marks}))")
        args.extend(query.without_tags)
    if counts_rows and by_customer:
        counted = [
            "SUM(CASE k.customer WHEN 'new' THEN c.dialogs - c.repeat ELSE c.repeat END) AS n",
            "SUM(CASE k.customer WHEN 'new' THEN 0 ELSE c.repeat END) AS r",
        ]
        source = f"dialog_counts c JOIN {_customers(query)}"
    elif counts_rows:
        counted, source = ["SUM(c.dialogs) AS n", "SUM(c.repeat) AS r"], "dialog_counts c"
    else:
        uses_tags = "tag" in query.group_by or "tag" in query.filters
        counted = ["COUNT(*) AS n", "SUM(d.is_repeat) AS r"]
        source = "dialogs d" + (" JOIN dialog_tags t ON t.dialog_id = d.id" if uses_tags else "")
    sql = f"SELECT {', '.join([*select, *counted])} FROM {source} WHERE {' AND '.join(where)}"
    return sql + (f" GROUP BY {', '.join(groups)}" if groups else ""), args


__all__ = [
    "DAY",
    "HOUR",
    "SCHEMA",
    "SHAPES",
    "SHAPES_KEY",
    "SHAPES_MARK",
    "add",
    "add_new",
    "begin_rebuild",
    "count_sql",
    "customer_sql",
    "is_ready",
    "mark_stale",
    "plan",
    "rebuild_day",
    "rebuild_hour",
    "remove",
    "roll_up_step",
    "rolled_day",
    "setup",
    "shape_for",
    "slot",
    "taker_condition",
    "taker_sql",
    "watermark",
]
