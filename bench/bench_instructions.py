"""CPU instructions per POST /collect, chattrack against the bare aiohttp handler, counted by callgrind.

Requests per second on a shared machine swing by 2x between runs (bench/bench_http.py); the number of
instructions a server executes for the same requests does not. This runs each server (one process,
the same traffic as bench_http: fresh visits, 3 pages each) under `valgrind --tool=callgrind`, warms
it up, counts only while N requests are served (32 at a time, an aiohttp client), and prints
instructions per request, their ratio, and how they split by library. Kernel time (socket and WAL
writes) is not counted: the wall-clock ratio is lower than this one.

    .venv/bin/python -m bench.bench_instructions            # ~2 minutes
    .venv/bin/python -m bench.bench_instructions --requests 3000

Needs valgrind (Debian package `valgrind`; installed with apt-get when missing and run as root).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402

from bench.bench_http import Request, chattrack_env, free_port, page_views  # noqa: E402

CONNECTIONS = 32


async def send(url: str, requests: list[Request]) -> int:
    """Post every request, CONNECTIONS at a time; returns how many were not answered 200."""
    failed = 0
    pending = iter(requests)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=CONNECTIONS)) as session:

        async def one_connection() -> None:
            nonlocal failed
            for request in pending:
                async with session.post(url + "/collect", data=request.body, headers=request.headers) as answer:
                    await answer.read()
                    failed += answer.status != 200

        await asyncio.gather(*(one_connection() for _ in range(CONNECTIONS)))
    return failed


def by_library(profile: Path) -> collections.Counter[str]:
    """Instructions executed in each shared object (self cost), from a callgrind output file."""
    names: dict[str, str] = {}
    costs: collections.Counter[str] = collections.Counter()
    current, after_call = "?", False
    for line in profile.read_text(errors="replace").splitlines():
        if found := re.match(r"^(c?ob)=\((\d+)\)(?: (.*))?$", line):
            kind, index, name = found.groups()
            if name:
                names[index] = Path(name).name
            if kind == "ob":
                current = names.get(index, index)
        elif line.startswith("calls="):
            after_call = True  # the next cost line is the call's inclusive cost: not this object's own
        elif line[:1].isdigit() or line[:1] in "+-*":
            if after_call:
                after_call = False
            elif len(parts := line.split()) >= 2:
                costs[current] += int(parts[1])
    return costs


def measure(kind: str, requests: list[Request], warm_up: int, workdir: Path) -> collections.Counter[str]:
    workdir.mkdir(parents=True)
    port = free_port()
    profile = workdir / "callgrind.out"
    valgrind = ["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={profile}"]
    if kind == "bare":
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        server = ["-m", "bench.bench_http", "bare-server", "--port", str(port), "--workers", "1"]
    else:
        env = chattrack_env(workdir, port)
        server = ["-m", "webhooks.cli", "serve", "--port", str(port), "--workers", "1"]
    with (workdir / "server.log").open("wb") as log:
        process = subprocess.Popen([*valgrind, sys.executable, *server], env=env, cwd=workdir, stdout=log, stderr=log)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 300  # the interpreter starts ~50x slower under valgrind
        while True:
            try:
                urllib.request.urlopen(url + "/healthz", timeout=2).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"{kind} did not start: see {workdir / 'server.log'}") from None
                time.sleep(0.5)
        if asyncio.run(send(url, requests[:warm_up])):
            raise SystemExit(f"{kind}: warm-up requests failed")
        subprocess.run(["callgrind_control", "-i", "on", str(process.pid)], check=True, capture_output=True)
        failed = asyncio.run(send(url, requests[warm_up:]))
        subprocess.run(["callgrind_control", "-i", "off", str(process.pid)], check=True, capture_output=True)
        if failed:
            raise SystemExit(f"{kind}: {failed} requests not answered 200")
    finally:
        process.terminate()
        process.wait()
    return by_library(profile)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=1500, help="requests counted per server")
    parser.add_argument("--warm-up", type=int, default=600, help="requests served before counting")
    args = parser.parse_args()
    if shutil.which("valgrind") is None and os.geteuid() == 0:
        subprocess.run(["apt-get", "install", "-y", "-q", "valgrind"], check=False, capture_output=True)
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed (Debian: apt-get install valgrind)")
    requests, _ = page_views((args.warm_up + args.requests) // 3 + 1)
    requests = requests[: args.warm_up + args.requests]
    print(f"POST /collect under callgrind: {args.requests:,} requests counted per server, {CONNECTIONS} at a time")
    with tempfile.TemporaryDirectory(prefix="chattrack-instructions-") as work:
        counted = {kind: measure(kind, requests, args.warm_up, Path(work) / kind) for kind in ("bare", "chattrack")}
    per_request = {kind: sum(costs.values()) / args.requests for kind, costs in counted.items()}
    for kind, costs in counted.items():
        top = ", ".join(
            f"{name.split('.')[0]} {cost / args.requests / 1000:,.0f}k" for name, cost in costs.most_common(5)
        )
        print(f"  {kind:10} {per_request[kind]:10,.0f} instructions/request  ({top})")
    ratio = per_request["bare"] / per_request["chattrack"]
    print(f"  chattrack executes {1 / ratio:.2f}x the bare handler's instructions: {ratio:.0%} of bare by this count")


if __name__ == "__main__":
    main()
