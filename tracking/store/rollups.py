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

Day rows are kept only for the days before the *rolled-up day* (meta 'dialog_counts_days'): the running
day has hour rows only, so a new dialog writes 11 rows, not 22 (each row written is a page or two of the
WAL at the commit). The first dialog of a later UTC day rolls the days before it up from their hour rows,
once, in its transaction. A report reads days before that mark from day rows and later ones from hours.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from tracking.store.base import ATTRIBUTION_FIELDS, CountQuery

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
    "content": ("channel", "content"),
    "term": ("channel", "term"),
    "region": ("region",),
    "contact_page": ("contact_page",),
    "landing_page": ("landing_page",),
}
# (span, characters of a stored started_at that name its slot): the UTC day and the UTC hour.
DAY, HOUR = ("d", 10), ("h", 13)
BUCKETS = ("day", "week", "month", "quarter")
READY = "ready"  # meta 'dialog_counts': the rows are complete; anything else says they are not (yet)
ROLLED = "dialog_counts_days"  # meta: the first UTC day without day rows (days before it have them)
_ROLLED_SQL = f"(SELECT value FROM meta WHERE key = '{ROLLED}')"

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


def _rows(columns: Sequence[Any], tags: Iterable[str], sign: int, rolled: str) -> list[tuple[Any, ...]]:
    """Its hour rows, and its day rows when its day is before `rolled`."""
    started_at = columns[0]
    spans = (DAY, HOUR) if started_at[:10] < rolled else (HOUR,)
    rows = []
    for shape, key, *rest, repeat in _entries(columns, tags):
        for span, width in spans:
            rows.append((span, shape, started_at[:width], key, *rest, sign, sign * repeat))
    return rows


def rolled_day(db: sqlite3.Connection) -> str:
    """The first UTC day ('YYYY-MM-DD') without day rows; '' before the first dialog."""
    row = db.execute(f"SELECT value FROM meta WHERE key = '{ROLLED}'").fetchone()
    return "" if row is None else str(row[0])


def _set_rolled(db: sqlite3.Connection, day: str) -> None:
    sql = f"INSERT INTO meta (key, value) VALUES ('{ROLLED}', ?) ON CONFLICT (key) DO UPDATE SET value = ?"
    db.execute(sql, (day, day))


def roll_up_to(db: sqlite3.Connection, day: str) -> str:
    """Give every day before `day` its day rows (summed from its hours), once; returns the rolled-up day."""
    rolled = rolled_day(db)
    if day <= rolled:
        return rolled
    _set_rolled(db, day)
    days = db.execute(
        "SELECT DISTINCT substr(slot, 1, 10) FROM dialog_counts WHERE span = 'h' AND shape = 'all' "
        "AND slot >= ? AND slot < ?",
        (rolled, day),
    ).fetchall()
    for (each,) in days:
        rebuild_day(db, each)
    return day


def add_new(db: sqlite3.Connection, columns: Sequence[Any], tags: Iterable[str]) -> None:
    """Count a dialog just inserted, from the COUNTED values it was inserted with."""
    db.executemany(UPSERT, _rows(columns, tags, 1, roll_up_to(db, columns[0][:10])))


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
    rolled = rolled_day(db)
    for columns, tags in _counted(db, ids):
        db.executemany(UPSERT, _rows(columns, tags, 1, rolled))


def remove(db: sqlite3.Connection, ids: Sequence[str]) -> None:
    """Stop counting these dialogs as they are stored now (before a change or an erasure, in its transaction)."""
    rolled = rolled_day(db)
    for columns, tags in _counted(db, ids):
        rows = _rows(columns, tags, -1, rolled)
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
    """At open, in the schema's transaction: a file without the rows' state (or without its rolled-up day,
    kept since day rows became the past days' only) is ready when it holds no dialog yet, else stale (made by
    an older version: `rebuild` fills the rows)."""
    db.executescript(SCHEMA)
    known = db.execute(f"SELECT COUNT(*) FROM meta WHERE key IN ('dialog_counts', '{ROLLED}')").fetchone()[0]
    if known < 2:
        if db.execute("SELECT 1 FROM dialogs LIMIT 1").fetchone() is None:
            _set_state(db, READY)
        else:
            mark_stale(db)
        db.execute(f"INSERT OR IGNORE INTO meta (key, value) VALUES ('{ROLLED}', '')")


# rebuild ----------------------------------------------------------------------------------------------


def state(db: sqlite3.Connection) -> str | None:
    row = db.execute("SELECT value FROM meta WHERE key = 'dialog_counts'").fetchone()
    return None if row is None else str(row[0])


def hours_to_rebuild(db: sqlite3.Connection) -> list[str]:
    """Every UTC hour that holds a dialog or a row (a row with no dialog left must go)."""
    hours = {row[0] for row in db.execute("SELECT DISTINCT substr(started_at, 1, 13) FROM dialogs")}
    hours |= {row[0] for row in db.execute("SELECT DISTINCT slot FROM dialog_counts WHERE span = 'h'")}
    return sorted(hours)


def rebuild_hour(db: sqlite3.Connection, hour: str) -> None:
    """Replace an hour's rows with a recount of its dialogs (one short write: the server keeps serving)."""
    start, end = hour, hour + ";"  # every started_at of the hour: 'YYYY-MM-DDTHH:…', and ';' follows ':'
    tags: dict[str, list[str]] = {}
    for dialog_id, tag in db.execute(
        "SELECT t.dialog_id, t.tag FROM dialogs d JOIN dialog_tags t ON t.dialog_id = d.id "
        "WHERE d.started_at >= ? AND d.started_at < ?",
        (start, end),
    ):
        tags.setdefault(dialog_id, []).append(tag)
    totals: dict[tuple[str, str], list[Any]] = {}
    sql = f"SELECT id, {', '.join(COUNTED)} FROM dialogs WHERE started_at >= ? AND started_at < ?"
    for row in db.execute(sql, (start, end)):
        for shape, key, *rest, repeat in _entries(tuple(row)[1:], tags.get(row[0], ())):
            total = totals.get((shape, key))
            if total is None:
                totals[(shape, key)] = ["h", shape, hour, key, *rest, 1, repeat]
            else:
                total[-2] += 1
                total[-1] += repeat
    db.execute(f"DELETE FROM dialog_counts WHERE span = 'h' AND shape IN ({_ALL_SHAPES}) AND slot = ?", (hour,))
    db.executemany(UPSERT, totals.values())


def rebuild_day(db: sqlite3.Connection, day: str) -> None:
    """Replace a day's rows by the sum of its hours' rows (which every change keeps along with them); a day
    from the rolled-up day on has none. A rebuild moves that mark up to the newest day of hour rows."""
    newest = db.execute("SELECT MAX(slot) FROM dialog_counts WHERE span = 'h' AND shape = 'all'").fetchone()[0]
    if newest is not None and newest[:10] > rolled_day(db):
        _set_rolled(db, newest[:10])
    db.execute(f"DELETE FROM dialog_counts WHERE span = 'd' AND shape IN ({_ALL_SHAPES}) AND slot = ?", (day,))
    if day >= rolled_day(db):
        return
    rest = [name for name in ROW_COLUMNS if name not in ("span", "slot", "dialogs", "repeat")]
    db.execute(
        f"INSERT INTO dialog_counts ({', '.join(ROW_COLUMNS)}) "
        f"SELECT 'd', shape, ?, k, {', '.join(c for c in rest if c not in ('shape', 'k'))}, "
        f"SUM(dialogs), SUM(repeat) FROM dialog_counts WHERE span = 'h' AND shape IN ({_ALL_SHAPES}) "
        "AND slot >= ? AND slot < ? "
        "GROUP BY shape, k HAVING SUM(dialogs) <> 0",
        (day, day, day + "U"),  # hour slots are 'YYYY-MM-DDTHH': 'T' < 'U'
    )


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
    """The smallest shape that can answer the query, or None (count raw)."""
    needed = {*query.group_by, *query.filters} - {"status", "tag"}
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
    """The SQL of `count_dialogs`: with a shape, whole days and hours from the rows and the part-hours at
    the edges from the dialogs; without, every dialog of the period. Columns g0…, bucket, n, r."""
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
    for span, ranges in ((DAY, days), (HOUR, hours)):
        for start, end in ranges:
            where = "c.span = ? AND c.shape = ? AND c.slot >= ? AND c.slot < " + (
                f"MIN(?, {_ROLLED_SQL})" if span == DAY else "?"
            )
            sql, part_args = _part(query, "c", where, [span[0], shape, slot(start, span), slot(end, span)])
            parts.append(sql)
            args += part_args
    for start, end in days:  # whole days from the rolled-up day on have hour rows only
        where = f"c.span = 'h' AND c.shape = ? AND c.slot >= MAX(?, {_ROLLED_SQL}) AND c.slot < ?"
        sql, part_args = _part(query, "c", where, [shape, slot(start, DAY), slot(end, DAY)])
        parts.append(sql)
        args += part_args
    groups = [f"g{i}" for i in range(len(query.group_by))] + (["bucket"] if query.bucket else [])
    if len(parts) == 1:
        return parts[0], args
    outer = [*groups, "SUM(n) AS n", "SUM(r) AS r"]
    sql = f"SELECT {', '.join(outer)} FROM ({' UNION ALL '.join(parts)})"
    return sql + (f" GROUP BY {', '.join(groups)}" if groups else ""), args


def _part(query: CountQuery, alias: str, where_time: str, args: list[Any]) -> tuple[str, list[Any]]:
    """One SELECT of the union: `d` counts dialogs (joining their tags when grouping by them), `c` sums rows."""
    counts_rows = alias == "c"

    def column(name: str) -> str:
        if name == "tag":
            return "c.tag" if counts_rows else "t.tag"
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
        if name == "tag" and counts_rows and "tag" not in query.group_by:
            where.append("EXISTS (SELECT 1 FROM json_each(c.tags) x WHERE x.value = ?)")
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
    if counts_rows:
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
    "add",
    "add_new",
    "count_sql",
    "is_ready",
    "mark_stale",
    "plan",
    "rebuild_day",
    "rebuild_hour",
    "remove",
    "roll_up_to",
    "rolled_day",
    "setup",
    "shape_for",
    "slot",
]
