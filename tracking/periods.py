"""Local-time buckets (day, ISO week, month, quarter) in the business's time zone."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from tracking.models import TimeBuckets


def buckets_for(moment: datetime, zone: ZoneInfo) -> TimeBuckets:
    local = moment.astimezone(zone)
    iso = local.isocalendar()
    return TimeBuckets(
        day=local.strftime("%Y-%m-%d"),
        week=f"{iso.year}-W{iso.week:02d}",
        month=local.strftime("%Y-%m"),
        quarter=f"{local.year}-Q{(local.month - 1) // 3 + 1}",
    )


def utc_now() -> datetime:
    return datetime.now(UTC)
