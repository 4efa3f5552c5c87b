"""Memory under a steady load: does the server's resident memory stay flat?

Run from the repository root:

    .venv/bin/python -m bench.bench_soak                  # 10 minutes at 200 requests/s
    .venv/bin/python -m bench.bench_soak --minutes 1      # quick look
    .venv/bin/python -m bench.bench_soak --no-bot         # lead alerts only logged (no Bot API configured)
    .venv/bin/python -m bench.bench_soak --jemalloc       # the server on jemalloc (Debian: libjemalloc2)

`chattrack serve` runs in its own process on a temp SQLite file; this process offers a steady,
open-loop load (request i is due at t0 + i/rate): page views from fresh visits (3 pages each, 5,000
client addresses) and, for a third of the visits, a contact writing twice on Twilio (signed, the first
message carrying the visit's code), so dialogs and lead alerts keep being created. The alerts go to a
local Bot API (tests/fakes/telegram_api.py) in this process, unless --no-bot.

Every 10 s the server's VmRSS is read from /proc/<pid>/status. Printed: the series, and the slope of
RSS over time (least squares) for the whole run and for its second half, once caches have warmed up.
The verdict "flat" means the second-half slope adds less than 1% of the RSS per 10 minutes.
"""

from __future__ import annotations

import argparse
import asyncio
import ctypes.util
import itertools
import json
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402
from twilio.request_validator import RequestValidator  # noqa: E402

from bench.bench_http import (  # noqa: E402
    BUSINESS,
    FOLLOW_UPS,
    LANDINGS,
    MESSAGES,
    PAGES,
    REFERRERS,
    TWILIO_TOKEN,
    USER_AGENTS,
    Request,
    Server,
    client_address,
    machine,
    percentiles,
    start_chattrack,
)
from tracking.codes import format_prefill, new_code  # noqa: E402
from tracking.store.sqlite_runner import wal_path  # noqa: E402

OWNER = 777


def traffic(url: str, seed: int = 7) -> Iterator[tuple[str, Request]]:
    """An endless stream of (path, request): blocks of 10 visits, 3 page views each, then 2 messages from
    each of 3 of those visitors (first with the visit's code)."""
    rng = random.Random(seed)
    validator = RequestValidator(TWILIO_TOKEN)
    contacts = itertools.count()
    while True:
        visits = []
        for _ in range(10):
            headers = {
                "Content-Type": "text/plain",
                "User-Agent": rng.choice(USER_AGENTS),
                "X-Forwarded-For": client_address(rng),
            }
            visits.append((new_code(), f"v{rng.getrandbits(64):016x}", headers, [rng.choice(LANDINGS), *PAGES[:2]]))
        for page in range(3):
            for code, visitor, headers, urls in visits:
                payload = {"t": "view", "c": code, "v": visitor, "u": urls[page], "s": "390x844", "l": "ru-RU"}
                payload["r"] = rng.choice(REFERRERS) if page == 0 else urls[page - 1]
                yield "/collect", Request(headers, json.dumps(payload).encode())
        for code, *_ in rng.sample(visits, 3):
            contact = next(contacts)
            phone = f"+79{contact % 10**9:09d}"
            texts = [format_prefill(rng.choice(MESSAGES), code, "код"), rng.choice(FOLLOW_UPS)]
            for turn, text in enumerate(texts):
                sid = f"SM{contact:016x}{turn:016x}"
                form = {"MessageSid": sid, "SmsMessageSid": sid, "AccountSid": "AC" + "0" * 32,
                        "From": "whatsapp:" + phone, "To": "whatsapp:" + BUSINESS, "Body": text,
                        "WaId": phone[1:], "ProfileName": "Анна", "NumMedia": "0"}  # fmt: skip
                signature = validator.compute_signature(url + "/webhooks/twilio", form)
                headers = {"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signature}
                yield "/webhooks/twilio", Request(headers, urlencode(form).encode())


@dataclass
class Sample:
    seconds: float
    rss_kib: int
    sent: int
    statuses: Counter[int]
    errors: int
    p50_ms: float
    p99_ms: float
    wal_kib: int


@dataclass
class Window:
    latencies: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    errors: int = 0


def wal_kib(server: Server) -> int:
    """The size of the SQLite write-ahead log: under a steady load it must start over, not grow."""
    if server.database is None:
        return 0
    try:
        return wal_path(server.database).stat().st_size // 1024
    except FileNotFoundError:
        return 0


async def soak(server: Server, minutes: float, rate: float, interval: float) -> list[Sample]:
    samples: list[Sample] = []
    window = Window()
    sent = 0
    stream = traffic(server.url)
    timeout = aiohttp.ClientTimeout(total=10)
    async with aiohttp.ClientSession(timeout=timeout, connector=aiohttp.TCPConnector(limit=200)) as session:

        async def send(path: str, request: Request, due: float) -> None:
            try:
                async with session.post(server.url + path, data=request.body, headers=request.headers) as response:
                    await response.read()
                    window.statuses[response.status] += 1
            except (aiohttp.ClientError, TimeoutError):
                window.errors += 1
                return
            window.latencies.append(time.perf_counter() - due)

        started = time.perf_counter()
        end = started + minutes * 60
        next_sample = started + interval
        tasks: set[asyncio.Task[None]] = set()
        samples.append(Sample(0.0, server.rss_kib(), 0, Counter(), 0, 0.0, 0.0, wal_kib(server)))
        print(
            f"{'t (s)':>6} {'RSS (MB)':>9} {'WAL (MB)':>9} {'sent':>8} {'p50 (ms)':>9} {'p99 (ms)':>9}  answers",
            flush=True,
        )
        for i in itertools.count():
            due = started + i / rate
            if due >= end:
                break
            while due >= next_sample:  # take a sample when its time comes, between two sends
                delay = next_sample - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                p50, p99, _ = percentiles(window.latencies)
                sample = Sample(
                    next_sample - started,
                    server.rss_kib(),
                    sent,
                    window.statuses,
                    window.errors,
                    p50,
                    p99,
                    wal_kib(server),
                )
                samples.append(sample)
                print(row(sample), flush=True)
                window = Window()
                next_sample += interval
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)  # pacing the offered load
            path, request = next(stream)
            task = asyncio.create_task(send(path, request, due))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            sent += 1
        await asyncio.gather(*tasks)
        p50, p99, _ = percentiles(window.latencies)
        elapsed = time.perf_counter() - started
        sample = Sample(elapsed, server.rss_kib(), sent, window.statuses, window.errors, p50, p99, wal_kib(server))
        samples.append(sample)
        print(row(sample), flush=True)
    return samples


def row(sample: Sample) -> str:
    answers = ", ".join(f"{status}: {n}" for status, n in sorted(sample.statuses.items()))
    if sample.errors:
        answers += f", errors: {sample.errors}"
    return (
        f"{sample.seconds:6.0f} {sample.rss_kib / 1024:9.1f} {sample.wal_kib / 1024:9.1f} {sample.sent:8,}"
        f" {sample.p50_ms:9.1f} {sample.p99_ms:9.1f}  {answers}"
    )


def slope_mb_per_min(samples: list[Sample]) -> float:
    if len(samples) < 2:
        return 0.0
    fit = statistics.linear_regression([s.seconds / 60 for s in samples], [s.rss_kib / 1024 for s in samples])
    return fit.slope


def server_env(args: argparse.Namespace) -> dict[str, str]:
    if not args.jemalloc:
        return {}
    found = ctypes.util.find_library("jemalloc")
    if found is None:
        raise SystemExit("--jemalloc: libjemalloc not found (Debian: apt-get install libjemalloc2)")
    return {"LD_PRELOAD": found}


async def with_bot(args: argparse.Namespace, workdir: Path) -> list[Sample]:
    from tests.fakes.telegram_api import FakeTelegramAPI

    async with FakeTelegramAPI() as telegram:
        env = {
            "CHATTRACK_TELEGRAM_BOT_TOKEN": "123456:BENCH-token",
            "CHATTRACK_TELEGRAM_OWNER_IDS": str(OWNER),
            "CHATTRACK_TELEGRAM_API_URL": telegram.url,
            **server_env(args),
        }
        server = await asyncio.to_thread(start_chattrack, workdir / "soak", **env)
        try:
            samples = await soak(server, args.minutes, args.rate, args.interval)
            sent = len(telegram.sent_messages(OWNER))
            print(f"lead alerts delivered to the Bot API: {sent:,}")
            return samples
        finally:
            await asyncio.to_thread(server.stop)


async def without_bot(args: argparse.Namespace, workdir: Path) -> list[Sample]:
    server = await asyncio.to_thread(start_chattrack, workdir / "soak", **server_env(args))
    try:
        return await soak(server, args.minutes, args.rate, args.interval)
    finally:
        await asyncio.to_thread(server.stop)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=10, help="length of the run (default 10)")
    parser.add_argument("--rate", type=float, default=200, help="requests per second offered (default 200)")
    parser.add_argument("--interval", type=float, default=10, help="seconds between RSS samples (default 10)")
    parser.add_argument("--no-bot", action="store_true", help="no Bot API: lead alerts are only logged")
    parser.add_argument("--jemalloc", action="store_true", help="run the server on jemalloc (LD_PRELOAD)")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (server log, database)")
    args = parser.parse_args(argv)
    print(machine())
    print(
        f"soak: {args.minutes:g} min at {args.rate:g} requests/s (5 page views : 1 Twilio message), "
        f"RSS every {args.interval:g} s, lead alerts {'only logged' if args.no_bot else 'sent to a local Bot API'}"
        + (", server on jemalloc" if args.jemalloc else "")
    )
    workdir = Path(tempfile.mkdtemp(prefix="chattrack-soak-"))
    try:
        samples = asyncio.run((without_bot if args.no_bot else with_bot)(args, workdir))
    finally:
        if args.keep:
            print(f"work directory kept: {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    warm = [s for s in samples if s.seconds >= samples[-1].seconds / 2]
    whole, second_half = slope_mb_per_min(samples[1:]), slope_mb_per_min(warm)
    final = samples[-1].rss_kib / 1024
    flat = second_half * 10 < 0.01 * final
    answered = sum((s.statuses for s in samples), Counter())
    errors = sum(s.errors for s in samples)
    print(f"answers: {dict(sorted(answered.items()))}" + (f", connection errors: {errors}" if errors else ""))
    print(
        f"RSS {samples[1].rss_kib / 1024:.1f} MB after {samples[1].seconds:.0f} s → {final:.1f} MB at the end; "
        f"slope {whole:+.3f} MB/min over the run, {second_half:+.3f} MB/min over its second half "
        f"→ {'flat' if flat else 'GROWING'} (flat: < 1% of RSS per 10 min)"
    )
    print(
        f"SQLite WAL: at most {max(s.wal_kib for s in samples) / 1024:.1f} MB,"
        f" {samples[-1].wal_kib / 1024:.1f} MB at the end"
    )


if __name__ == "__main__":
    main()
