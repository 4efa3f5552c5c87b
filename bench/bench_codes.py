"""Extraction speed: messages per second through extract_code, against a bare regex search.

Run from the repository root: ``.venv/bin/python -m bench.bench_codes``.
The corpus is the test suite's ordinary messages plus as many messages carrying a code in the
shapes customers send (prefilled, lower case, Cyrillic look-alikes, marker dropped).
"""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.test_codes import ORDINARY_MESSAGES, cyrillic
from tracking.codes import extract_code, format_prefill, new_code

BARE = re.compile(r"\b[0-9A-Z]{7}\b")


def corpus() -> list[str]:
    with_codes = []
    for i, text in enumerate(ORDINARY_MESSAGES):
        code = new_code()
        shape = i % 4
        if shape == 0:
            with_codes.append(format_prefill(text, code, "код"))
        elif shape == 1:
            with_codes.append(format_prefill(text, code, "ref").lower())
        elif shape == 2:
            with_codes.append(f"{text} (код {cyrillic(code)})")
        else:
            with_codes.append(f"{text} {code} спасибо")
    return ORDINARY_MESSAGES + with_codes


def rate(work: Callable[[str], object], messages: list[str], seconds: float = 1.0) -> float:
    """Messages per second, best of three runs of about ``seconds`` each."""
    best = 0.0
    for _ in range(3):
        done = 0
        started = time.perf_counter()
        while (elapsed := time.perf_counter() - started) < seconds:
            for message in messages:
                work(message)
            done += len(messages)
        best = max(best, done / elapsed)
    return best


def main() -> None:
    messages = corpus()
    false_codes = sum(extract_code(m).code is not None for m in ORDINARY_MESSAGES)
    found = sum(extract_code(m).code is not None for m in messages[len(ORDINARY_MESSAGES) :])
    baseline = rate(BARE.search, messages)
    ours = rate(extract_code, messages)
    long_message = "Здравствуйте! " * 300 + format_prefill("", new_code(), "код")
    long_rate = rate(extract_code, [long_message], seconds=0.5)
    carrying = len(messages) - len(ORDINARY_MESSAGES)
    print(f"corpus: {len(ORDINARY_MESSAGES)} ordinary messages, {carrying} carrying a code")
    print(f"codes found: {found}/{carrying} carried, {false_codes} in ordinary messages")
    print(f"baseline re.search   {baseline:12,.0f} msg/s")
    print(f"extract_code         {ours:12,.0f} msg/s   ({ours / baseline:.2f}x the baseline)")
    print(f"extract_code, {len(long_message):,}-char message: {long_rate:,.0f} msg/s")


if __name__ == "__main__":
    main()
