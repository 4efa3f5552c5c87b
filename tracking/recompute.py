"""Re-derive the local-time buckets stored on every dialog, after the business's time zone changed.

Reports group on the day / ISO week / month / quarter keys written with each dialog
(`tracking.periods.buckets_for`), so a new time zone needs them rewritten once. Safe to run again
(it only rewrites dialogs whose keys differ) and while the server runs.
"""

from __future__ import annotations

import sqlite3
from zoneinfo import ZoneInfo

from tracking.models import Dialog
from tracking.periods import buckets_for
from tracking.store import rollups
from tracking.store.base import Store
from tracking.store.mongo import MongoStore
from tracking.store.sqlite import SQLiteStore, parse_ts

BATCH = 1000


async def recompute_buckets(store: Store, zone: ZoneInfo) -> int:
    """Rewrite the buckets of every dialog for `zone`; returns how many dialogs changed."""
    if isinstance(store, MongoStore):
        return await store.recompute_buckets(zone, batch=BATCH)
    if isinstance(store, SQLiteStore):
        return await _recompute_sqlite(store, zone)
    raise TypeError(f"cannot recompute buckets on {type(store).__name__}")


async def _recompute_sqlite(store: SQLiteStore, zone: ZoneInfo) -> int:
    changed, after = 0, ""

    def rewrite_batch(db: sqlite3.Connection) -> tuple[int, str | None]:
        rows = db.execute(
            "SELECT id, started_at, day, week, month, quarter, data FROM dialogs WHERE id > ? ORDER BY id LIMIT ?",
            (after, BATCH),
        ).fetchall()
        if not rows:
            return 0, None
        moved = []
        for row in rows:
            buckets = buckets_for(parse_ts(row["started_at"]), zone)
            if (row["day"], row["week"], row["month"], row["quarter"]) != tuple(buckets.model_dump().values()):
                moved.append((row, buckets))
        rollups.remove(db, [row["id"] for row, _ in moved])  # the report rollups move with them
        rewritten = 0
        for row, buckets in moved:
            dialog = Dialog.model_validate_json(row["data"])
            dialog.buckets = buckets
            db.execute(
                "UPDATE dialogs SET day = ?, week = ?, month = ?, quarter = ?, data = ? WHERE id = ?",
                (buckets.day, buckets.week, buckets.month, buckets.quarter, dialog.model_dump_json(), row["id"]),
            )
            rewritten += 1
        rollups.add(db, [row["id"] for row, _ in moved])
        return rewritten, rows[-1]["id"]

    while True:
        # One short write per batch, so webhooks are not kept waiting behind a long rewrite.
        rewritten, last = await store.write(rewrite_batch)
        if last is None:
            return changed
        changed, after = changed + rewritten, last


__all__ = ["recompute_buckets"]
