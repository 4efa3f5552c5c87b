"""Local-time buckets (day, ISO week, month, quarter) in the business's time zone."""

from __future__ import annotations

import functools
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from tracking.models import TimeBuckets


def buckets_for(moment: datetime, zone: ZoneInfo) -> TimeBuckets:
    """The buckets of `moment`'s local day (a copy: callers may keep and change it)."""
    return _day_buckets(moment.astimezone(zone).date()).model_copy()


@functools.lru_cache(maxsize=1024)
def _day_buckets(local: date) -> TimeBuckets:
    # Cached by day: every message of a day gets the same keys, and strftime + validation cost ~20 µs.
    iso = local.isocalendar()
    return TimeBuckets(
        day=local.strftime("%Y-%m-%d"),
        week=f"{iso.year}-W{iso.week:02d}",
        month=local.strftime("%Y-%m"),
        quarter=f"{local.year}-Q{(local.month - 1) // 3 + 1}",
    )


def utc_now() -> datetime:
    return datetime.now(UTC)
