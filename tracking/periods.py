"""Local-time buckets (day, ISO week, month, quarter) in the business's time zone."""

from __future__ import annotations

import functools
from datetime import UTC, date, datetime, timedelta
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


def bucket_start(kind: str, key: str) -> date:
    """The first local day of a bucket key, the inverse of `buckets_for`: "2026-11-27", "2026-W48" (its
    Monday), "2026-11", "2026-Q4". `kind` is the bucket's name: day, week, month or quarter."""
    if kind == "day":
        return date.fromisoformat(key)
    if kind == "week":
        year, week = key.split("-W")
        return date.fromisocalendar(int(year), int(week), 1)
    if kind == "month":
        return date.fromisoformat(key + "-01")
    year, quarter = key.split("-Q")
    return date(int(year), 3 * int(quarter) - 2, 1)


def utc_now() -> datetime:
    return datetime.now(UTC)


def sent_at(moment: datetime | None, now: datetime, kept: timedelta) -> datetime:
    """When a customer sent a message, as its provider says (a retry hours later must not move the dialog):
    never in the future, and `now` when the provider says nothing or names a moment more than `kept` ago
    (it retries for no longer than that: such a moment is a clock far off). A moment without a zone is UTC."""
    if moment is None:
        return now
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return min(moment, now) if moment > now - kept else now


def unix_moment(seconds: int | str | None) -> datetime | None:
    """A provider's Unix time in seconds (a number, or digits in a string); None when it is none."""
    try:
        return datetime.fromtimestamp(int(seconds), UTC) if seconds else None
    except (ValueError, OverflowError, OSError):
        return None
