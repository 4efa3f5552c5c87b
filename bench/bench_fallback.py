"""How many code-less first messages the fallback matcher recovers, and how many it gets wrong.

Simulated traffic on one tracked number: visitors arrive at random (Poisson), some click a marked link
and write 0–5 minutes later; a share deletes the code; others write without ever clicking (they saw
the number elsewhere). Printed per traffic level: recovered = code-less messages of clickers matched to
their own visit; wrong = code-less messages matched to someone else's visit.
Baseline: without fallback nothing is recovered and nothing is wrong.

    python bench/bench_fallback.py [--seed 1]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tracking.codes import format_prefill, new_code
from tracking.models import AttributionStatus, Click, InboundMessage, PageView
from tracking.service import Tracker
from tracking.settings import load_settings
from tracking.store.sqlite import SQLiteStore

NUMBER = "+79991234567"
START = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


async def simulate(
    per_hour: float, rng: random.Random, deleted_share: float, no_click_share: float
) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "sim.db"
        store = SQLiteStore(db)
        await store.open()
        tracker = Tracker(store, load_settings(database_url=f"sqlite:///{db}", fallback_window_minutes=10))
        events: list[tuple[datetime, int, str, object]] = []
        at, n = START, 0
        while at < START + timedelta(hours=10):
            at += timedelta(hours=rng.expovariate(per_hour))
            n += 1
            phone = f"+7916{n:07d}"
            if rng.random() < no_click_share:
                events.append((at, n, "message", (phone, "Здравствуйте", None)))
                continue
            code = new_code()
            events.append((at, n, "click", code))
            sent = at + timedelta(seconds=rng.uniform(5, 300))
            deleted = rng.random() < deleted_share
            text = "Здравствуйте" if deleted else format_prefill("Здравствуйте", code, "код")
            events.append((sent, n, "message", (phone, text, code if deleted else None)))
        events.sort(key=lambda e: e[0])
        outcome = {"codeless_clickers": 0, "recovered": 0, "wrong": 0, "no_click": 0, "no_click_matched": 0}
        for when, i, kind, data in events:
            if kind == "click":
                assert isinstance(data, str)
                url = f"https://site.example/?utm_campaign=c{i}"
                await tracker.record_view(PageView(code=data, visitor_id=f"visitor-{i:06d}", url=url, at=when))
                await tracker.record_click(Click(code=data, page=url, target=NUMBER, at=when), f"visitor-{i:06d}")
                continue
            phone, text, own_code = data  # type: ignore[misc]
            result = await tracker.ingest(
                InboundMessage(
                    provider="sim",
                    message_id=f"m{i}",
                    business_number=NUMBER,
                    contact_id=phone,
                    text=text,
                    received_at=when,
                )
            )
            probable = result.dialog.status is AttributionStatus.PROBABLE
            if own_code is not None:
                outcome["codeless_clickers"] += 1
                if probable and result.dialog.code == own_code:
                    outcome["recovered"] += 1
                elif probable:
                    outcome["wrong"] += 1
            elif result.dialog.status is not AttributionStatus.EXACT:
                outcome["no_click"] += 1
                if probable:
                    outcome["no_click_matched"] += 1
                    outcome["wrong"] += 1
        await store.close()
        codeless = outcome["codeless_clickers"] + outcome["no_click"]
        return {
            "codeless": codeless,
            "recovered_share": outcome["recovered"] / max(outcome["codeless_clickers"], 1),
            "wrong_share": outcome["wrong"] / max(codeless, 1),
        }


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--deleted", type=float, default=0.2, help="share of clickers who delete the code")
    parser.add_argument("--no-click", type=float, default=0.1, help="share of writers who never clicked")
    args = parser.parse_args()
    print("fallback matching, window 10 min, 10 h of traffic on one number")
    print(f"{'clicks/hour':>12} {'code-less msgs':>15} {'recovered':>10} {'wrong':>7}   baseline (no fallback)")
    for per_hour in (2, 6, 20, 60):
        r = await simulate(per_hour, random.Random(args.seed), args.deleted, args.no_click)
        print(
            f"{per_hour:>12} {r['codeless']:>15.0f} {r['recovered_share']:>9.0%} {r['wrong_share']:>7.1%}"
            "   recovered 0%, wrong 0%"
        )


if __name__ == "__main__":
    asyncio.run(main())
