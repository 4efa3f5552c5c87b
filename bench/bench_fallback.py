"""How many code-less first messages the fallback matcher recovers, and how many it gives to the wrong visit.

Runs the scenarios of bench/fallback_sim.py (docs/fallback-simulation.md: the assumptions) through the
Tracker, and judges today's matcher beside the rule before issue #21 on the same traffic in the same run.

    python bench/bench_fallback.py [--seed 1] [--hours 10] [--quick] [--markdown] [--only NAME ...]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from fallback_sim import Corpus, Result, Scenario, by_name, grid, run

HEADER = (
    "scenario",
    "clicks/h",
    "text",
    "delay",
    "sites × hours",
    "code-less (clickers + never)",
    "new: recovered",
    "new: wrong",
    "old: recovered",
    "old: wrong",
)


def _wrong(share: float, count: int) -> str:
    return f"{share:.1%} ({count})"


def row(result: Result) -> tuple[str, ...]:
    s, new, old = result.scenario, result.new, result.old
    return (
        s.name,
        f"{s.clicks_per_hour:g}",
        s.text_label(),
        s.delay.label(),
        f"{result.sites} × {result.hours:.0f}",
        f"{new.codeless} ({new.clickers} + {new.never_clicked})",
        f"{new.recovered_share:.0%}",
        _wrong(new.wrong_share, new.wrong),
        f"{old.recovered_share:.0%}",
        _wrong(old.wrong_share, old.wrong),
    )


def breakdown(result: Result, examples: int) -> str:
    """Per kind of code-less message: how many, how many the new and the old matcher got right and wrong; then
    a few of the new matcher's wrong matches."""
    lines = []
    for how, (n, right, wrong) in sorted(result.new.by_how.items()):
        _, old_right, old_wrong = result.old.by_how[how]
        counts = f"new {right:>4} right {wrong:>3} wrong   old {old_right:>4} {old_wrong:>3}"
        lines.append(f"    {how:<30} {n:>4}   {counts}")
    for example in result.wrong_examples[:examples]:
        lines.append(f"    wrong: {example}")
    return "\n".join(lines)


def markdown(rows: list[tuple[str, ...]]) -> str:
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def plain(rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(r[i]) for r in [HEADER, *rows]) for i in range(len(HEADER))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)) for r in [HEADER, *rows])


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--hours", type=float, default=10.0, help="simulated hours per scenario, at least")
    parser.add_argument(
        "--min-clicks", type=int, default=1500, help="more hours for low traffic, until the sites had this many clicks"
    )
    parser.add_argument("--sites", type=int, default=5, help="sites per scenario, each with its own texts")
    parser.add_argument("--quick", action="store_true", help="3 hours and 300 clicks at least: a smoke run")
    parser.add_argument("--confidence", type=float, help="CHATTRACK_FALLBACK_CONFIDENCE for the new matcher")
    parser.add_argument("--markdown", action="store_true", help="print the table as Markdown (for the docs)")
    parser.add_argument("--only", nargs="+", metavar="NAME", help="run only these scenarios (by name)")
    parser.add_argument(
        "--explain",
        type=int,
        default=0,
        metavar="N",
        help="per scenario: right and wrong by kind of message, N wrong matches",
    )
    args = parser.parse_args()
    hours, min_clicks = (3.0, 300) if args.quick else (args.hours, args.min_clicks)
    scenarios: list[Scenario] = by_name(args.only) if args.only else grid()
    corpus = Corpus.load()
    began = time.perf_counter()
    rows = []
    for scenario in scenarios:
        result = await run(
            scenario,
            seed=args.seed,
            hours=hours,
            min_clicks=min_clicks,
            sites=args.sites,
            confidence=args.confidence,
            corpus=corpus,
        )
        rows.append(row(result))
        print(f"  {scenario.name}: {result.new.recovered_share:.0%} recovered ({result.later} on a second look), "
              f"{result.new.wrong} wrong",
              file=sys.stderr, flush=True)  # fmt: skip
        if args.explain:
            print(breakdown(result, args.explain), file=sys.stderr)
        if result.lost_exact:
            print(f"    {result.lost_exact} messages with their code were not attributed exactly", file=sys.stderr)
    took = time.perf_counter() - began
    print(markdown(rows) if args.markdown else plain(rows))
    print(
        f"\nseed {args.seed}, {args.sites} sites of at least {hours:g} h and {min_clicks} clicks in all per scenario; "
        f"new = Tracker.ingest today, old = one click in the last 10 min; {took:.0f} s",
        file=sys.stderr,
    )


if __name__ == "__main__":
    asyncio.run(main())
