"""The MongoDB the tests talk to: a real server from CHATTRACK_TEST_MONGODB_URL, else nx-27017.

nx-27017 is a MongoDB wire-protocol emulator over SQLite (see /work/shared/STACK.md for where it deviates
from MongoDB). It is started on a free port, awaited until it answers a ping, and stopped afterwards.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from pymongo import MongoClient
from pymongo.errors import PyMongoError

REAL_MONGODB_ENV = "CHATTRACK_TEST_MONGODB_URL"
START_TIMEOUT = 20.0


@dataclass(frozen=True)
class MongoServer:
    """Where a test MongoDB listens; `emulator` says whether its answers are MongoDB's own."""

    url: str  # without a database name: tests add their own
    emulator: bool

    def database_url(self, name: str) -> str:
        """The server's URL naming database `name` instead of any it named (options are kept)."""
        scheme, _, rest = self.url.partition("://")
        rest, _, query = rest.partition("?")
        hosts, _, named = rest.partition("/")
        if "@" in hosts and "authsource=" not in query.lower():
            # Credentials were checked against the named database (else admin): keep it so.
            query = "&".join(filter(None, [query, f"authSource={named or 'admin'}"]))
        return f"{scheme}://{hosts}/{name}" + (f"?{query}" if query else "")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def real_mongodb_url() -> str | None:
    return os.environ.get(REAL_MONGODB_ENV) or None


def _answers_ping(url: str) -> bool:
    client: MongoClient[dict[str, object]] = MongoClient(
        url, serverSelectionTimeoutMS=300, connectTimeoutMS=300, directConnection=True
    )
    try:
        client.admin.command("ping")
        return True
    except PyMongoError:
        return False
    finally:
        client.close()


@contextmanager
def emulator(workdir: Path) -> Iterator[MongoServer]:
    """Start nx-27017 in memory on a free port, wait until it answers, stop it afterwards."""
    port = free_port()
    exe = Path(sys.executable).with_name("nx-27017")
    log_file = workdir / "nx-27017.log"
    # Its stderr goes to a file, not a pipe: nothing reads a pipe while tests run, and once ~64 KB of the
    # emulator's warnings filled it, the emulator would block on its next write and every test hang.
    stderr_file = (workdir / "nx-27017.stderr").open("wb")
    process = subprocess.Popen(
        [
            str(exe),
            "--db",
            "memory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--pid-file",
            str(workdir / "nx-27017.pid"),
            "--log-file",
            str(log_file),
        ],
        stdout=subprocess.DEVNULL,
        stderr=stderr_file,
    )
    url = f"mongodb://127.0.0.1:{port}/?directConnection=true"
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not _answers_ping(url):
            if process.poll() is not None:
                err = (workdir / "nx-27017.stderr").read_bytes().decode(errors="replace")
                raise RuntimeError(f"nx-27017 exited with {process.returncode}: {err[-2000:]}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"nx-27017 did not answer on port {port} within {START_TIMEOUT}s")
        yield MongoServer(url=url, emulator=True)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        stderr_file.close()


@contextmanager
def mongo_server(workdir: Path, real_url: str | None) -> Iterator[MongoServer]:
    """The real MongoDB at `real_url` when given (see `real_mongodb_url`), else a fresh emulator."""
    if real_url is not None:
        yield MongoServer(url=real_url, emulator=False)
        return
    with emulator(workdir) as server:
        yield server
