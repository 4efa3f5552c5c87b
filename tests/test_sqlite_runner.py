"""The group-committing writer under the SQLite store: one commit per burst, a failing write undone alone."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from tracking.store import sqlite_runner
from tracking.store.base import StoreUnavailable
from tracking.store.sqlite_runner import CHECKPOINT_EVERY, MAX_BATCH, SQLiteRunner, wal_path


def make_table(db: sqlite3.Connection) -> None:
    db.execute("CREATE TABLE IF NOT EXISTS items (n INTEGER PRIMARY KEY)")


@pytest.fixture
async def runner(tmp_path: Path) -> SQLiteRunner:
    runner = SQLiteRunner(tmp_path / "runner.db")
    await runner.open(make_table)
    return runner


def insert(n: int) -> Callable[[sqlite3.Connection], int]:
    def work(db: sqlite3.Connection) -> int:
        db.execute("INSERT INTO items (n) VALUES (?)", (n,))
        return n

    return work


def stored(path: Path) -> list[int]:
    with sqlite3.connect(path) as db:
        return [n for (n,) in db.execute("SELECT n FROM items ORDER BY n")]


async def test_a_burst_of_writes_shares_few_commits(runner: SQLiteRunner) -> None:
    before = runner.commits

    results = await asyncio.gather(*(runner.write(insert(n)) for n in range(600)))

    assert results == list(range(600))
    assert stored(runner.path) == list(range(600))
    commits = runner.commits - before
    # The first write commits alone; the 599 that queued meanwhile go in batches of at most MAX_BATCH.
    assert 1 < commits <= 1 + -(-599 // MAX_BATCH)
    await runner.close()


async def test_a_failing_write_is_undone_alone_and_the_rest_commit(runner: SQLiteRunner) -> None:
    def half_then_fail(db: sqlite3.Connection) -> None:
        db.execute("INSERT INTO items (n) VALUES (100)")
        raise ValueError("refused after a partial write")

    outcomes = await asyncio.gather(
        runner.write(insert(1)), runner.write(half_then_fail), runner.write(insert(2)), return_exceptions=True
    )

    assert outcomes[0] == 1 and outcomes[2] == 2
    assert isinstance(outcomes[1], ValueError)
    assert stored(runner.path) == [1, 2]  # nothing of the refused write, everything of the others
    await runner.close()


async def test_a_refused_write_alone_in_its_batch_leaves_nothing(runner: SQLiteRunner) -> None:
    def half_then_fail(db: sqlite3.Connection) -> None:
        db.execute("INSERT INTO items (n) VALUES (100)")
        raise ValueError("refused after a partial write")

    with pytest.raises(ValueError):
        await runner.write(half_then_fail)

    assert await runner.write(insert(1)) == 1
    assert stored(runner.path) == [1]
    await runner.close()


async def test_a_database_failure_fails_the_whole_batch_and_keeps_nothing(runner: SQLiteRunner) -> None:
    def broken(db: sqlite3.Connection) -> None:
        db.execute("INSERT INTO no_such_table VALUES (1)")  # OperationalError: the database refused

    outcomes = await asyncio.gather(
        runner.write(insert(1)), runner.write(insert(2)), runner.write(broken), return_exceptions=True
    )

    # The first write may have committed on its own before the others queued; the batch with the
    # failure keeps nothing and every write in it hears StoreUnavailable (so webhooks answer 503).
    assert isinstance(outcomes[2], StoreUnavailable)
    committed = [n for n, outcome in zip((1, 2), outcomes[:2], strict=True) if outcome == n]
    assert stored(runner.path) == committed
    assert all(isinstance(o, StoreUnavailable) for o in outcomes[len(committed) : 2])
    assert await runner.write(insert(3)) == 3  # and the writer goes on
    await runner.close()


async def test_close_commits_what_is_queued_and_refuses_what_comes_after(runner: SQLiteRunner) -> None:
    queued = [asyncio.ensure_future(runner.write(insert(n))) for n in range(50)]
    await asyncio.sleep(0)  # let them queue (no waiting on time: one loop turn)

    await runner.close()

    assert [await q for q in queued] == list(range(50))
    assert stored(runner.path) == list(range(50))
    with pytest.raises(StoreUnavailable):
        await runner.write(insert(99))
    with pytest.raises(StoreUnavailable):
        await runner.read(lambda db: db.execute("SELECT 1").fetchone())


async def test_reads_see_every_answered_write_and_reopen_works(runner: SQLiteRunner) -> None:
    for n in range(5):
        await runner.write(insert(n))
        count = await runner.read(lambda db: db.execute("SELECT COUNT(*) FROM items").fetchone()[0])
        assert count == n + 1
    await runner.close()

    await runner.open(make_table)

    assert await runner.read(lambda db: db.execute("SELECT COUNT(*) FROM items").fetchone()[0]) == 5
    await runner.close()


async def test_a_write_lock_held_by_another_process_is_waited_for_off_the_event_loop(runner: SQLiteRunner) -> None:
    other = sqlite3.connect(runner.path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another copy (or `chattrack forget`) is writing
    other.execute("INSERT INTO items (n) VALUES (7)")
    writing = asyncio.ensure_future(runner.write(insert(8)))

    # The write waits for the lock, and the event loop keeps serving meanwhile (the timeout can only fire
    # on a loop that runs); lookups still see the last commit.
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(asyncio.shield(writing), 0.3)
    assert runner.lookup(lambda db: db.execute("SELECT COUNT(*) FROM items").fetchone()[0]) == 0

    other.execute("COMMIT")
    other.close()
    assert await writing == 8
    assert stored(runner.path) == [7, 8]
    await runner.close()


async def test_the_wal_is_checkpointed_off_the_commit_path(runner: SQLiteRunner) -> None:
    for n in range(CHECKPOINT_EVERY + 1):
        await runner.write(insert(n))
    await runner.close()  # waits for the checkpoint in flight, then truncates the WAL

    assert runner.checkpoints == 1 and runner.commits == CHECKPOINT_EVERY + 1
    wal = wal_path(runner.path)
    assert not wal.exists() or wal.stat().st_size == 0
    assert len(stored(runner.path)) == CHECKPOINT_EVERY + 1


async def test_commits_wait_for_a_checkpoint_that_takes_long_instead_of_growing_the_wal(tmp_path: Path) -> None:
    # A loaded disk can take seconds over a checkpoint's fsync while commits go on, each adding a frame: the
    # WAL grew by thousands of frames behind one slow checkpoint. Past catch_up_frames commits they wait.
    runner = SQLiteRunner(tmp_path / "runner.db", catch_up_frames=CHECKPOINT_EVERY)
    await runner.open(make_table)
    slow_disk = threading.Event()
    runner._writer.submit(slow_disk.wait)  # the writer thread, where checkpoints run, is held up
    try:
        for n in range(2 * CHECKPOINT_EVERY):  # one commit each: the checkpoint starts at the 200th
            await runner.write(insert(n))
        one_more = asyncio.create_task(runner.write(insert(-1)))
        for _ in range(50):  # turns of the loop: a commit that may go on is done in one or two
            await asyncio.sleep(0)

        assert not one_more.done()  # 200 commits behind a checkpoint still running: it waits
    finally:
        slow_disk.set()  # else the held writer thread would keep the test process from ending
    assert await one_more == -1
    assert len(stored(runner.path)) == 2 * CHECKPOINT_EVERY + 1
    await runner.close()


async def test_a_steady_stream_of_commits_keeps_the_wal_small(tmp_path: Path) -> None:
    # Writes one after another, as under a steady load: there is always a commit to make when a checkpoint
    # runs. Each commit adds about one page to the WAL; once it holds catch_up_frames, the WAL must start
    # over instead of growing for as long as the load lasts.
    runner = SQLiteRunner(tmp_path / "runner.db", catch_up_frames=CHECKPOINT_EVERY)
    await runner.open(make_table)
    wal = wal_path(runner.path)
    page = runner.lookup(lambda db: db.execute("PRAGMA page_size").fetchone()[0])
    largest = 0
    for n in range(10 * CHECKPOINT_EVERY):
        await runner.write(insert(n))
        largest = max(largest, wal.stat().st_size)

    assert largest < 4 * CHECKPOINT_EVERY * (page + 24)  # a frame: a page and its 24-byte header
    assert runner.checkpoints >= 10
    assert len(stored(runner.path)) == 10 * CHECKPOINT_EVERY
    await runner.close()


async def checkpoint_settled(runner: SQLiteRunner) -> None:
    """Wait for the checkpoint the last commit may have started (and one it chained) to finish."""
    while (running := runner._checkpointing) is not None:
        await asyncio.wait((running,))


async def test_every_connection_zeroes_what_is_deleted(runner: SQLiteRunner) -> None:
    await runner.read(lambda db: db.execute("SELECT 1").fetchone())
    connections = [runner._writer_db, runner._lookup_db, runner._loop_writer_db, *runner._reader_dbs]

    assert len(connections) == 4
    assert all(db is not None and db.execute("PRAGMA secure_delete").fetchone()[0] == 1 for db in connections)
    await runner.close()


async def test_emptying_the_wal_cuts_it_to_nothing_while_commits_go_on(runner: SQLiteRunner) -> None:
    for n in range(20):
        await runner.write(insert(n))
    wal = wal_path(runner.path)
    assert wal.stat().st_size > 0

    during = [asyncio.ensure_future(runner.write(insert(100 + n))) for n in range(20)]
    emptied = await runner.empty_wal()

    assert emptied is True
    assert wal.stat().st_size == 0  # the writes queued behind the checkpoint have not run yet
    assert [await w for w in during] == [100 + n for n in range(20)]
    assert len(stored(runner.path)) == 40
    await runner.close()


async def test_a_reader_of_another_process_delays_the_truncation_to_a_later_checkpoint(
    runner: SQLiteRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_runner, "ERASE_WAIT", 0.2)
    for n in range(10):
        await runner.write(insert(n))
    report = sqlite3.connect(runner.path, isolation_level=None)
    report.execute("BEGIN")
    assert report.execute("SELECT COUNT(*) FROM items").fetchone()[0] == 10  # a long report holds the WAL
    await runner.write(insert(10))

    assert await runner.empty_wal() is False  # gave up after ERASE_WAIT
    assert await runner.write(insert(11)) == 11  # commits go on
    wal = wal_path(runner.path)
    assert wal.stat().st_size > 0

    report.execute("COMMIT")
    report.close()
    due = CHECKPOINT_EVERY - runner._since_checkpoint  # commits until the next periodic checkpoint
    for n in range(due):  # which truncates instead of copying
        await runner.write(insert(100 + n))
    await checkpoint_settled(runner)

    assert wal.stat().st_size == 0
    assert len(stored(runner.path)) == 12 + due
    await runner.close()
