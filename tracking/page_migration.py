"""Dialogs stored before the page and channel rules they are reported by: keyed again once.

Reports group on the page keys stored with each dialog (tracking/pages.py) and on its channel. Dialogs
stored by an older version have whole URLs there (one row per Direct click), and visits from Yandex Maps or
2GIS were organic search or referrals. Each dialog keeps the visit it was attributed from, with the landing
page and referrer as the browser sent them, so both can be worked out again: pages become keys, and a
dialog whose visit the rules now put in maps and directories moves there (nothing else about its
attribution changes; a dialog without a visit keeps its channel, its pages are keyed as stored).

Runs once per rules fingerprint (the rules' version and CHATTRACK_PAGE_PARAMS), recorded in the store's
meta: at start-up, in the background, in short batches, so webhooks are not kept waiting. Safe to run
again and while the server runs: a dialog already keyed is left as it is.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import sqlite3
from dataclasses import dataclass
from datetime import datetime

import pymongo
from pymongo import UpdateOne

from tracking.channels import classify
from tracking.models import Attribution, AttributionStatus, Channel, Dialog, Visit
from tracking.pages import page_key, rules_fingerprint
from tracking.store import rollups
from tracking.store.base import Store
from tracking.store.mongo import MongoStore
from tracking.store.sqlite import SQLiteStore

BATCH = 1000
META_KEY = "page_rules"  # the fingerprint stored dialogs were keyed under
log = logging.getLogger("chattrack.tracking")


@dataclass(frozen=True, slots=True)
class Rekeyed:
    """The stored fields a dialog's migration changes."""

    channel: Channel
    source: str | None
    medium: str | None
    landing_page: str | None
    contact_page: str | None


def rekeyed(attribution: Attribution, visit: Visit | None, status: AttributionStatus, keep: frozenset[str]) -> Rekeyed:
    """A stored dialog's channel, source, medium and page keys under today's rules (a pure decision)."""
    landing, contact = attribution.landing_page, attribution.contact_page
    channel, source, medium = attribution.channel, attribution.source, attribution.medium
    if visit is None:
        return Rekeyed(channel, source, medium, page_key(landing, keep), page_key(contact, keep))
    kept = visit.attribution  # the URLs as sent: a key may have dropped a parameter that is kept now
    if landing is not None:
        landing = kept.landing_page or landing
    if contact is not None:
        contact = kept.contact_page or visit.current_page or contact
    if status in (AttributionStatus.EXACT, AttributionStatus.PROBABLE):
        now = classify(kept.landing_page or "", kept.referrer or attribution.referrer)
        if now.channel is Channel.MAPS:
            channel, source, medium = now.channel, now.source, now.medium
    return Rekeyed(channel, source, medium, page_key(landing, keep), page_key(contact, keep))


def _fields(new: Rekeyed) -> dict[str, object]:
    return {
        "channel": new.channel,
        "source": new.source,
        "medium": new.medium,
        "landing_page": new.landing_page,
        "contact_page": new.contact_page,
    }


def _stored(attribution: Attribution) -> Rekeyed:
    a = attribution
    return Rekeyed(a.channel, a.source, a.medium, a.landing_page, a.contact_page)


async def migrate_pages(store: Store, keep: frozenset[str]) -> int | None:
    """Key every stored dialog's pages (and move map visits) under these rules; the number of dialogs
    changed, or None when the store had been keyed under them already."""
    fingerprint = rules_fingerprint(keep)
    if isinstance(store, SQLiteStore):
        return await _migrate_sqlite(store, keep, fingerprint)
    if isinstance(store, MongoStore):
        return await _migrate_mongo(store, keep, fingerprint)
    raise TypeError(f"cannot migrate pages on {type(store).__name__}")


async def keep_pages_current(store: Store, keep: frozenset[str]) -> None:
    """migrate_pages for the server's start-up: logs what it did; a failure is logged and retried at
    the next start, never raised (reports stay right for new dialogs meanwhile)."""
    try:
        changed = await migrate_pages(store, keep)
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        log.warning("pages: stored dialogs not keyed yet (%s); tried again at the next start", exc)
        return
    if changed is not None:
        log.info("pages: %d stored dialog(s) keyed by host and path under the current rules", changed)


# SQLite ---------------------------------------------------------------------------------------------


async def _migrate_sqlite(store: SQLiteStore, keep: frozenset[str], fingerprint: str) -> int | None:
    def done(db: sqlite3.Connection) -> bool:
        row = db.execute("SELECT value FROM meta WHERE key = ?", (META_KEY,)).fetchone()
        return row is not None and row[0] == fingerprint

    if await store.read(done):
        return None
    changed, after = 0, ""
    Change = tuple[str, str, Rekeyed, str]  # id, the data read, what it becomes, the new data

    def read_batch(db: sqlite3.Connection) -> tuple[list[Change], str | None]:
        """Decided on a reader: the writer (and every webhook behind it) waits only for the updates."""
        rows = db.execute("SELECT id, data FROM dialogs WHERE id > ? ORDER BY id LIMIT ?", (after, BATCH)).fetchall()
        changes: list[Change] = []
        for row in rows:
            dialog = Dialog.model_validate_json(row["data"])
            new = rekeyed(dialog.attribution, dialog.visit, dialog.status, keep)
            if new != _stored(dialog.attribution):
                dialog.attribution = dialog.attribution.model_copy(update=_fields(new))
                changes.append((row["id"], row["data"], new, dialog.model_dump_json()))
        return changes, rows[-1]["id"] if rows else None

    def write_batch(db: sqlite3.Connection, changes: list[Change]) -> int:
        # The report rollups are recounted once at the end (rollups.add/remove per dialog cost ~1.4 ms each);
        # until then reports count raw, and a pass cut short leaves them stale for the next start to rebuild.
        rollups.mark_stale(db)
        rewritten = 0
        for dialog_id, was, new, data in changes:
            # Compare-and-set on the document: a dialog changed since it was read (an edit) is left as it is.
            rewritten += db.execute(
                "UPDATE dialogs SET channel = ?, source = ?, medium = ?, landing_page = ?, contact_page = ?, "
                "data = ? WHERE id = ? AND data = ?",
                (new.channel.value, new.source, new.medium, new.landing_page, new.contact_page, data, dialog_id, was),
            ).rowcount
        return rewritten

    def finish(db: sqlite3.Connection) -> None:
        db.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (META_KEY, fingerprint),
        )

    while True:
        changes, last = await store.read(read_batch)
        if last is None:
            await store.write(finish)
            if changed:
                await store.rebuild_counts()
            return changed
        if changes:
            changed += await store.write(functools.partial(write_batch, changes=changes))
        after = last


# MongoDB --------------------------------------------------------------------------------------------


async def _migrate_mongo(store: MongoStore, keep: frozenset[str], fingerprint: str) -> int | None:
    db = store.db
    meta = await db.meta.find_one({"_id": META_KEY})
    if meta is not None and meta.get("value") == fingerprint:
        return None
    changed = 0
    updates: list[UpdateOne] = []
    started: list[datetime] = []  # of the dialogs updated: their hours' report counts are recounted
    with pymongo.timeout(store.build_timeout):  # reads every dialog
        async for doc in db.dialogs.find({}, {"attribution": 1, "visit": 1, "status": 1, "started_at": 1}):
            attribution = Attribution.model_validate(doc.get("attribution") or {})
            visit = Visit.model_validate(doc["visit"]) if doc.get("visit") else None
            new = rekeyed(attribution, visit, AttributionStatus(doc["status"]), keep)
            stored = _stored(attribution)
            if new == stored:
                continue
            # Compare-and-set: a dialog attributed by an edit meanwhile keeps what the edit wrote.
            was = {f"attribution.{name}": value for name, value in _fields(stored).items()}
            was["attribution.channel"] = stored.channel.value
            now = {f"attribution.{name}": value for name, value in _fields(new).items()}
            now["attribution.channel"] = new.channel.value
            updates.append(UpdateOne({"_id": doc["_id"], **was}, {"$set": now}))
            started.append(doc["started_at"])
            if len(updates) >= BATCH:
                await store.mark_counts(started)
                changed += (await db.dialogs.bulk_write(updates, ordered=False)).modified_count
                updates, started = [], []
        if updates:
            await store.mark_counts(started)
            changed += (await db.dialogs.bulk_write(updates, ordered=False)).modified_count
        if changed:
            await store.repair_counts()
    await db.meta.update_one({"_id": META_KEY}, {"$set": {"value": fingerprint}}, upsert=True)
    return changed


__all__ = ["keep_pages_current", "migrate_pages", "rekeyed"]
