"""The report rollups' roll-up steps on a burst: how long each write (which ingest waits behind) takes.

Run from the repository root on a database `bench/bench_reports.py --db PATH` seeded, e.g.
``--dialogs 1000000 --days 1`` (a burst: ~42,000 dialogs in its busiest hour). A copy of it gets W put
`--lag-hours` before the end (the day's dialogs not rolled up yet), then `SQLiteStore.roll_up` runs step by
step through the store's group commit, each step timed. ``--rollups FILE`` runs another version of
tracking/store/rollups.py's steps (e.g. ``git show REV:tracking/store/rollups.py > old.py``) on the same copy.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import importlib.util
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.bench_reports import END, lag
from tracking.store import rollups
from tracking.store.sqlite import SQLiteStore


def load(path: Path | None) -> ModuleType:
    if path is None:
        return rollups
    spec = importlib.util.spec_from_file_location("rollups_under_test", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


async def steps(path: Path, module: ModuleType) -> dict[str, list[float]]:
    """Each step's time, apart by kind: moving W (counting dialogs) or summing day rows."""
    store = SQLiteStore(path, roll_up_every=None)
    await store.open()
    target = rollups.slot(END, rollups.HOUR)
    took: dict[str, list[float]] = {"W": [], "day": []}
    try:
        upto = await store.read(rollups.watermark)
        while True:
            started = time.perf_counter()
            more = await store.runner.write(functools.partial(module.roll_up_step, target=target))
            seconds = time.perf_counter() - started
            if not more:
                return took
            moved = await store.read(rollups.watermark)
            took["W" if moved != upto else "day"].append(seconds)
            upto = moved
    finally:
        await store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, required=True, help="a database bench_reports.py seeded (copied)")
    parser.add_argument("--lag-hours", type=int, default=24)
    parser.add_argument("--rollups", type=Path, help="another version of tracking/store/rollups.py")
    parser.add_argument("--piece", type=int, help="dialogs per step (rollups.PIECE)")
    parser.add_argument("--day-piece", type=int, help="hour rows per day-summing step (rollups.DAY_PIECE)")
    args = parser.parse_args()
    module = load(args.rollups)
    setattr(module, "PIECE", args.piece or getattr(module, "PIECE", 0))  # noqa: B010 (an older version has none)
    setattr(module, "DAY_PIECE", args.day_piece or getattr(module, "DAY_PIECE", 0))  # noqa: B010
    with tempfile.TemporaryDirectory(dir=args.db.parent) as tmp:
        path = Path(tmp) / "steps.db"
        shutil.copyfile(args.db, path)
        lag(path, args.lag_hours)
        took = asyncio.run(steps(path, module))
    print(f"PIECE {getattr(module, 'PIECE')}, DAY_PIECE {getattr(module, 'DAY_PIECE')}")  # noqa: B009
    for kind, seconds in took.items():
        if not seconds:
            continue
        longest = ", ".join(f"{t * 1000:.0f}" for t in sorted(seconds)[-5:])
        print(
            f"{'moving W' if kind == 'W' else 'summing days'}: {len(seconds)} steps, {sum(seconds):.2f} s in all; "
            f"median {statistics.median(seconds) * 1000:.1f} ms, longest {longest} ms"
        )


if __name__ == "__main__":
    main()
