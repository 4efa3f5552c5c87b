"""Several server processes on one port: `chattrack serve --workers N` (CHATTRACK_WORKERS).

One Python process handles requests on one core (the GIL). To use more, the parent binds the port once
and forks N workers that all accept on that socket; each runs the whole app with its own connection to
the store. What must happen once runs in the primary worker only (retention, the daily summary,
Telegram polling, see `create_app(primary=...)`); what must not happen twice is already guarded in the
store: one dialog per message id, leased lead alerts, leased daily summaries. SQLite in WAL mode lets the
workers write one file: each commits its own batch under `BEGIN IMMEDIATE`, and a worker that finds the
file locked waits on its writer thread, not its event loop.

The parent only supervises: it forwards SIGINT/SIGTERM once to every worker (they run in their own
process group, so a terminal's Ctrl+C does not reach them twice and cut their graceful shutdown short),
starts a new worker when one dies, and stops everything when a worker dies during its start-up (a
configuration or store error would otherwise restart forever).
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import multiprocessing.connection
import os
import shutil
import signal
import socket
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from multiprocessing.process import BaseProcess
from types import FrameType
from typing import cast

from aiohttp import web

from tracking.settings import Settings
from tracking.store import Store, StoreUnavailable
from webhooks.cli import with_store

log = logging.getLogger("chattrack.workers")


def use_shared_metrics(directory: str) -> None:
    """Prometheus' multi-process mode: each worker writes its counters to a file in `directory` and a
    scrape adds them up (webhooks/metrics.py). Must be set before any metric is created."""
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = directory
    from prometheus_client import values

    values.ValueClass = values.get_value_class()  # the class is chosen when the module is imported


async def _nothing(store: Store) -> int:
    return 0


def serve_workers(
    settings: Settings,
    host: str,
    port: int,
    count: int,
    loop_factory: Callable[[], asyncio.AbstractEventLoop],
) -> int:
    # Open and close the store once before forking: schema and migrations run in one process, and a store
    # that is away stops the start with one clear message instead of N crashing workers.
    try:
        with_store(settings, _nothing)
    except StoreUnavailable as exc:
        log.error("store unavailable: %s", exc)
        return 1
    metrics_dir = tempfile.mkdtemp(prefix="chattrack-metrics-")
    use_shared_metrics(metrics_dir)
    listener = socket.create_server((host, port), backlog=1024)
    alive_read, alive_write = os.pipe()  # see run_worker: how a worker notices the parent's death
    context = multiprocessing.get_context("fork")  # workers inherit the bound socket and the settings
    workers: dict[int, BaseProcess] = {}
    started: dict[int, float] = {}
    stopping, exit_code = False, 0

    def spawn(index: int) -> None:
        process = context.Process(
            target=run_worker,
            args=(settings, listener, index, (alive_read, alive_write), loop_factory),
            name=f"chattrack-worker-{index}",
        )
        process.start()
        workers[index], started[index] = process, time.monotonic()

    def stop(signum: int, frame: FrameType | None = None) -> None:
        nonlocal stopping
        if stopping:
            return
        stopping = True
        for process in workers.values():
            if process.pid is not None and process.is_alive():
                os.kill(process.pid, signal.SIGTERM)

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        for index in range(count):
            spawn(index)
        log.info("%d workers serving http://%s:%d", count, host, port)
        while workers:
            by_sentinel = {process.sentinel: index for index, process in workers.items()}
            for sentinel in multiprocessing.connection.wait(list(by_sentinel)):
                index = by_sentinel[cast(int, sentinel)]
                process = workers.pop(index)
                process.join()
                _forget_metrics(process)
                if stopping:
                    continue
                if time.monotonic() - started[index] < settings.worker_startup_grace_seconds:
                    log.error("worker %d exited with %s during start-up; stopping", index, process.exitcode)
                    exit_code = 1
                    stop(signal.SIGTERM)
                else:
                    log.warning("worker %d exited with %s; starting another", index, process.exitcode)
                    spawn(index)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        listener.close()
        os.close(alive_read)
        os.close(alive_write)
        shutil.rmtree(metrics_dir, ignore_errors=True)
    return exit_code


def _forget_metrics(process: BaseProcess) -> None:
    if process.pid is not None:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(process.pid)  # drops its live gauges; its counters still count


def run_worker(
    settings: Settings,
    listener: socket.socket,
    index: int,
    parent_pipe: tuple[int, int],
    loop_factory: Callable[[], asyncio.AbstractEventLoop],
) -> None:
    os.setpgid(0, 0)  # the parent alone receives the terminal's signals, and forwards them once
    alive, parent_end = parent_pipe
    os.close(parent_end)  # else this worker would keep the pipe open itself
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_DFL)  # the parent's handlers came along with fork
    from webhooks.app import create_app

    app = create_app(settings, primary=index == 0)

    async def follow_parent(app: web.Application) -> AsyncIterator[None]:
        # If the parent is killed outright, nobody would stop this worker. The parent holds the write end
        # of a pipe it never writes to: the read end turning readable means end-of-file, the parent is gone.
        loop = asyncio.get_running_loop()

        def parent_gone() -> None:
            loop.remove_reader(alive)
            log.warning("worker %d: its supervisor is gone; shutting down", index)
            os.kill(os.getpid(), signal.SIGTERM)

        loop.add_reader(alive, parent_gone)
        yield
        loop.remove_reader(alive)

    app.cleanup_ctx.append(follow_parent)
    from webhooks.serving import run_app

    run_app(app, sock=listener, loop=loop_factory())
