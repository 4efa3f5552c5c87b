"""Running SQLite from asyncio: a group-committing writer thread and a small pool of reader threads.

Every write of the store is a plain function of a `sqlite3.Connection`. Concurrent writes are queued and
the writer thread runs all that are waiting in ONE `BEGIN IMMEDIATE … COMMIT`, each inside its own
savepoint: one commit (and one thread hop) serves a whole burst of page views and messages instead of one
per request, and a write that raises is rolled back alone while the others still commit. A caller's
await returns only after the commit, so an answered request is stored. Reads run on their own
connections (WAL: they see the last commit and never wait for the writer): point lookups by an index
(a visit by its code, a contact's latest dialog) run at once on the event loop's thread, since a thread
hop costs more than the lookup; anything that may scan (reports) runs on a pool of reader threads.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from tracking.store.base import StoreUnavailable

T = TypeVar("T")
Work = Callable[[sqlite3.Connection], Any]

MAX_BATCH = 256  # writes per transaction: bounds the wait of the first in a burst
READERS = 4


def connect(path: Path, *, busy_timeout: float = 10.0) -> sqlite3.Connection:
    # isolation_level=None: we issue BEGIN/COMMIT ourselves. check_same_thread=False: the connection is
    # opened on the event loop's thread and used only by the one worker thread that owns it.
    db = sqlite3.connect(path, timeout=busy_timeout, isolation_level=None, check_same_thread=False)
    db.row_factory = sqlite3.Row
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute(f"PRAGMA busy_timeout={int(busy_timeout * 1000)}")
    return db


class SQLiteRunner:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._writer_db: sqlite3.Connection | None = None
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="chattrack-sqlite-writer")
        self._readers = ThreadPoolExecutor(READERS, thread_name_prefix="chattrack-sqlite-reader")
        self._reader_dbs: list[sqlite3.Connection] = []
        self._lookup_db: sqlite3.Connection | None = None
        self._local = threading.local()
        self._pending: list[tuple[Work, asyncio.Future[Any]]] = []
        self._draining: asyncio.Task[None] | None = None
        self._open = False
        self.commits = 0  # transactions committed, for tests and benchmarks (writes per commit)

    @property
    def is_open(self) -> bool:
        return self._open

    async def open(self, setup: Callable[[sqlite3.Connection], None]) -> None:
        loop = asyncio.get_running_loop()
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="chattrack-sqlite-writer")
        self._readers = ThreadPoolExecutor(READERS, thread_name_prefix="chattrack-sqlite-reader")
        self._reader_dbs = []

        def open_writer() -> sqlite3.Connection:
            db = connect(self.path)
            setup(db)
            return db

        self._writer_db = await loop.run_in_executor(self._writer, open_writer)
        self._lookup_db = connect(self.path)
        self._open = True

    async def close(self) -> None:
        """Refuse new work, commit what is queued, then close every connection."""
        if not self._open:
            return
        self._open = False
        if self._draining is not None:
            await asyncio.shield(self._draining)
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, self._shutdown)

    def _shutdown(self) -> None:
        self._readers.shutdown(wait=True)
        self._writer.shutdown(wait=True)
        for db in self._reader_dbs:
            db.close()
        for one in (self._writer_db, self._lookup_db):
            if one is not None:
                one.close()
        self._writer_db, self._lookup_db, self._reader_dbs = None, None, []

    # reads --------------------------------------------------------------------------------------

    def lookup(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """Run a read that an index answers in microseconds, right here on the event loop's thread."""
        if not self._open or self._lookup_db is None:
            raise StoreUnavailable("store is not open")
        return work(self._lookup_db)

    async def read(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """Run a read that may scan, on a reader thread."""
        if not self._open:
            raise StoreUnavailable("store is not open")
        return await asyncio.get_running_loop().run_in_executor(self._readers, self._read, work)

    def _read(self, work: Callable[[sqlite3.Connection], T]) -> T:
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None:  # the first read on this thread (each open() starts new threads)
            db = self._local.db = connect(self.path)
            self._reader_dbs.append(db)
        return work(db)

    # writes -------------------------------------------------------------------------------------

    async def write(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """Run `work` inside the next group commit; returns (or raises) once that commit is done."""
        if not self._open:
            raise StoreUnavailable("store is not open")
        loop = asyncio.get_running_loop()
        done: asyncio.Future[T] = loop.create_future()
        self._pending.append((work, done))
        if self._draining is None:
            self._draining = loop.create_task(self._drain())
        return await done

    async def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while self._pending:
                batch, self._pending = self._pending[:MAX_BATCH], self._pending[MAX_BATCH:]
                try:
                    outcomes = await loop.run_in_executor(self._writer, self._commit, [w for w, _ in batch])
                except BaseException as exc:  # the executor is gone (closed under us) or we are cancelled
                    outcomes = [(False, StoreUnavailable(f"SQLite writer stopped: {exc!r}")) for _ in batch]
                for (_, done), (ok, value) in zip(batch, outcomes, strict=True):
                    if done.done():
                        continue  # the caller gave up waiting; its write still happened (or not) as reported
                    if ok:
                        done.set_result(value)
                    else:
                        done.set_exception(value)
        finally:
            self._draining = None

    def _commit(self, batch: list[Work]) -> list[tuple[bool, Any]]:
        db = self._writer_db
        if db is None:
            return [(False, StoreUnavailable("store is not open")) for _ in batch]
        outcomes: list[tuple[bool, Any]] = []
        try:
            db.execute("BEGIN IMMEDIATE")
            for work in batch:
                db.execute("SAVEPOINT write")
                try:
                    outcomes.append((True, work(db)))
                except sqlite3.OperationalError:
                    raise  # the database itself failed (locked, I/O, full): nothing of the batch stays
                except Exception as exc:  # this write's own refusal (a taken code, bad data): undo it alone
                    db.execute("ROLLBACK TO write")
                    outcomes.append((False, exc))
                db.execute("RELEASE write")
            db.execute("COMMIT")
            self.commits += 1
        except sqlite3.Error as exc:
            if db.in_transaction:
                try:
                    db.execute("ROLLBACK")
                except sqlite3.Error:
                    pass  # the connection is broken; the next BEGIN reports it again
            return [(False, StoreUnavailable(f"SQLite: {exc}")) for _ in batch]
        return outcomes


__all__ = ["SQLiteRunner", "connect"]
