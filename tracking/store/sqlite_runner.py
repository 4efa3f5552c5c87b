"""Running SQLite from asyncio: group commit, point lookups in place, scans on reader threads.

Every write of the store is a plain function of a `sqlite3.Connection`. Concurrent writes are queued and
all that are waiting run in ONE `BEGIN IMMEDIATE … COMMIT`, each inside its own savepoint: one commit
serves a whole burst of page views and messages instead of one per request, and a write that raises is
rolled back alone while the others still commit. A caller's await returns only after the commit, so an
answered request is stored. The commit runs right on the event loop's thread: a hop to a worker thread
and back (futex, self-pipe, epoll wake-up) cost more CPU than a small commit itself (~450 µs against
~150 µs a message at low rates). The loop never waits on a lock, though: its connection does not wait
when another process holds the write lock (busy_timeout 0); that batch goes to the writer thread, which
waits there. WAL checkpoints (an fsync) also run on the writer thread, never inside a commit on the loop.

Reads run on their own connections (WAL: they see the last commit and never wait for the writer): point
lookups by an index (a visit by its code, a contact's latest dialog) run at once on the event loop's
thread, since a thread hop costs more than the lookup; anything that may scan (reports) runs on a pool of
reader threads.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from tracking.store.base import StoreUnavailable

T = TypeVar("T")
Work = Callable[[sqlite3.Connection], Any]

MAX_BATCH = 256  # writes per transaction: bounds the wait of the first in a burst
READERS = 4
BUSY_TIMEOUT = 10.0  # seconds a connection waits for another process's lock
CHECKPOINT_EVERY = 200  # commits between WAL checkpoints (SQLite's own default is every ~1,000 pages)
CATCH_UP_FRAMES = 4096  # WAL frames (~16 MB of 4 KB pages) past which commits pause for a checkpoint to finish
ERASE_WAIT = 2.0  # seconds a TRUNCATE checkpoint after an erase waits for other processes' readers (commits wait too)


def connect(path: Path, *, busy_timeout: float = BUSY_TIMEOUT, autocheckpoint: bool = True) -> sqlite3.Connection:
    # isolation_level=None: we issue BEGIN/COMMIT ourselves. check_same_thread=False: a connection may be
    # opened on one thread and used on another, but never by two threads at once (see SQLiteRunner).
    db = sqlite3.connect(path, timeout=busy_timeout, isolation_level=None, check_same_thread=False)
    db.row_factory = sqlite3.Row
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute(f"PRAGMA busy_timeout={int(busy_timeout * 1000)}")
    # Deleted rows are overwritten with zeros, not left in free space (a forgotten contact's phone and words):
    # Debian builds SQLite with this on, other builds (macOS, python.org, Alpine) do not.
    db.execute("PRAGMA secure_delete=ON")
    if not autocheckpoint:
        db.execute("PRAGMA wal_autocheckpoint=0")
    return db


def wal_path(path: Path) -> Path:
    """The write-ahead log SQLite keeps beside the database file."""
    return path.with_name(path.name + "-wal")


class SQLiteRunner:
    def __init__(self, path: Path, catch_up_frames: int = CATCH_UP_FRAMES) -> None:
        self.path = path
        self.catch_up_frames = catch_up_frames
        self._writer_db: sqlite3.Connection | None = None
        # Made by open(): a store closed and opened again gets fresh threads (and so fresh reader connections).
        self._writer: ThreadPoolExecutor
        self._readers: ThreadPoolExecutor
        self._reader_dbs: list[sqlite3.Connection] = []
        self._lookup_db: sqlite3.Connection | None = None
        self._loop_writer_db: sqlite3.Connection | None = None
        self._checkpointing: asyncio.Future[Any] | None = None
        self._catching_up: asyncio.Future[Any] | None = None
        self._since_checkpoint = 0
        self._truncate_owed = False  # an erase's TRUNCATE found readers: the next checkpoint tries again
        self._local = threading.local()
        self._pending: list[tuple[Work, asyncio.Future[Any]]] = []
        self._draining: asyncio.Task[None] | None = None
        self._open = False
        self.commits = 0  # transactions committed, for tests and benchmarks (writes per commit)
        self.last_failure: tuple[float, str] | None = None  # (monotonic time, reason) of the last failed commit
        self.checkpoints = 0

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
        self._loop_writer_db = connect(self.path, busy_timeout=0, autocheckpoint=False)
        self._open = True

    async def close(self) -> None:
        """Refuse new work, commit what is queued, then close every connection."""
        if not self._open:
            return
        self._open = False
        if self._draining is not None:
            await asyncio.shield(self._draining)
        if self._checkpointing is not None:
            await asyncio.shield(self._checkpointing)
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, self._shutdown)

    def _shutdown(self) -> None:
        self._readers.shutdown(wait=True)
        self._writer.shutdown(wait=True)
        for db in self._reader_dbs:
            db.close()
        if self._writer_db is not None:
            try:
                self._writer_db.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # leave a tidy file behind
            except sqlite3.Error:
                pass  # another process reads or writes: its own close will do it
        for one in (self._writer_db, self._lookup_db, self._loop_writer_db):
            if one is not None:
                one.close()
        self._writer_db, self._lookup_db, self._loop_writer_db, self._reader_dbs = None, None, None, []

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
                if self._catching_up is not None:  # see _checkpoint_now_and_then
                    await asyncio.wait((self._catching_up,))
                batch, self._pending = self._pending[:MAX_BATCH], self._pending[MAX_BATCH:]
                works = [w for w, _ in batch]
                outcomes = self._commit(works, self._loop_writer_db, wait=False)
                if outcomes is None:  # another process holds the write lock: wait for it off the loop
                    try:
                        outcomes = await loop.run_in_executor(self._writer, self._commit, works, self._writer_db)
                    except BaseException as exc:  # the executor is gone (closed under us) or we are cancelled
                        outcomes = [(False, StoreUnavailable(f"SQLite writer stopped: {exc!r}")) for _ in batch]
                    assert outcomes is not None  # the writer thread waits instead of giving up
                for (_, done), (ok, value) in zip(batch, outcomes, strict=True):
                    if done.done():
                        continue  # the caller gave up waiting; its write still happened (or not) as reported
                    if ok:
                        done.set_result(value)
                    else:
                        done.set_exception(value)
                self._checkpoint_now_and_then(loop)
        finally:
            self._draining = None

    def _checkpoint_now_and_then(self, loop: asyncio.AbstractEventLoop) -> None:
        """Copy the WAL back into the database file on the writer thread, every CHECKPOINT_EVERY commits.
        PASSIVE: it never blocks a writer or a reader, it copies what it can, and commits go on meanwhile.

        The WAL starts over from its beginning only when a commit finds every frame copied, and under a
        steady load a commit always lands while a checkpoint runs (its fsyncs take 10 ms, at times
        700 ms): the WAL grew without end (190 MB after 54,000 page views, each write appending to file
        blocks the kernel must zero first, ~8% of the server's CPU). So once it holds CATCH_UP_FRAMES,
        the next checkpoint is FULL (it also holds off other processes' writers) and this process's
        commits wait for it: it has only the frames since the last one to copy."""
        self._since_checkpoint += 1
        if self._checkpointing is not None and self._catching_up is None:
            # A checkpoint still running (a loaded disk's fsync can take seconds) while commits go on: each
            # adds a frame or more, so past catch_up_frames of them commits wait for it, as for a catch-up.
            if self._since_checkpoint >= self.catch_up_frames:
                self._catching_up = self._checkpointing
            return
        if self._since_checkpoint < CHECKPOINT_EVERY or self._checkpointing is not None or not self._open:
            return
        self._since_checkpoint = 0
        self._start_checkpoint(loop, "TRUNCATE" if self._truncate_owed else "PASSIVE")

    async def empty_wal(self) -> bool:
        """After an erase: copy the whole WAL into the database file and cut the WAL to zero bytes
        (TRUNCATE), on the writer thread. The WAL keeps the old versions of every page a delete changed
        (a forgotten contact's phone, name and words) until it is overwritten, which may take thousands
        of commits. Commits of this process wait meanwhile, as for a catch-up (a few ms on a quiet file).

        It needs every reader to have finished with the WAL: idle connections do not hold it, a report
        running in another process does. After ERASE_WAIT this gives up and returns False; the WAL is
        then truncated by the next periodic checkpoint that finds no such reader (or on close)."""
        if not self._open:
            raise StoreUnavailable("store is not open")
        while self._checkpointing is not None:  # one checkpoint at a time on the writer thread
            await asyncio.wait((self._checkpointing,))
        if not self._open:
            return False
        self._truncate_owed = True
        running = self._start_checkpoint(asyncio.get_running_loop(), "TRUNCATE")
        await asyncio.wait((running,))
        return not running.cancelled() and running.exception() is None and running.result()[0] == 0

    def _start_checkpoint(self, loop: asyncio.AbstractEventLoop, mode: str) -> asyncio.Future[tuple[int, int]]:
        """Run a checkpoint on the writer thread; the future gives SQLite's busy flag and the WAL's frames."""

        def checkpoint() -> tuple[int, int]:
            if self._writer_db is None:
                return 1, 0
            db = self._writer_db
            if mode == "TRUNCATE":  # waits for readers, holding off writers: not for busy_timeout's 10 s
                db.execute(f"PRAGMA busy_timeout={int(ERASE_WAIT * 1000)}")
            try:
                busy, frames, _ = db.execute(f"PRAGMA wal_checkpoint({mode})").fetchone()
            finally:
                if mode == "TRUNCATE":
                    db.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT * 1000)}")
            self.checkpoints += 1
            return int(busy), int(frames)

        running = self._checkpointing = loop.run_in_executor(self._writer, checkpoint)
        if mode in ("FULL", "TRUNCATE"):
            self._catching_up = running

        def finished(future: asyncio.Future[tuple[int, int]]) -> None:
            self._checkpointing = self._catching_up = None
            if future.cancelled() or future.exception() is not None:
                return  # a failed checkpoint is simply retried CHECKPOINT_EVERY commits later
            busy, frames = future.result()
            if mode == "TRUNCATE" and not busy:
                self._truncate_owed = False
            if mode == "PASSIVE" and frames >= self.catch_up_frames and self._open:
                self._start_checkpoint(loop, "FULL")

        running.add_done_callback(finished)
        return running

    def _commit(
        self, batch: list[Work], db: sqlite3.Connection | None, wait: bool = True
    ) -> list[tuple[bool, Any]] | None:
        """Run a batch in one transaction. None when `wait` is False and another process holds the lock."""
        if db is None:
            return [(False, StoreUnavailable("store is not open")) for _ in batch]
        outcomes: list[tuple[bool, Any]] = []
        try:
            try:
                db.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:
                if not wait and exc.sqlite_errorcode == sqlite3.SQLITE_BUSY:
                    return None
                raise
            alone = len(batch) == 1  # the transaction itself is the savepoint (the common case at low rates)
            for work in batch:
                if not alone:
                    db.execute("SAVEPOINT write")
                try:
                    outcomes.append((True, work(db)))
                except sqlite3.OperationalError:
                    raise  # the database itself failed (locked, I/O, full): nothing of the batch stays
                except Exception as exc:  # this write's own refusal (a taken code, bad data): undo it alone
                    db.execute("ROLLBACK" if alone else "ROLLBACK TO write")
                    outcomes.append((False, exc))
                    if alone:
                        return outcomes
                if not alone:
                    db.execute("RELEASE write")
            db.execute("COMMIT")
            self.commits += 1
        except sqlite3.Error as exc:
            if db.in_transaction:
                try:
                    db.execute("ROLLBACK")
                except sqlite3.Error:
                    pass  # the connection is broken; the next BEGIN reports it again
            self.last_failure = (time.monotonic(), str(exc))  # for the health check: writes are failing
            return [(False, StoreUnavailable(f"SQLite: {exc}")) for _ in batch]
        return outcomes


__all__ = ["SQLiteRunner", "connect"]
