"""SQLite stores moments as text: ISO 8601 in UTC with microseconds, formatted by a per-second cache."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from tracking.store.sqlite import parse_ts, ts

moments = st.datetimes(
    min_value=datetime(1971, 1, 2), max_value=datetime(9998, 12, 30), timezones=st.just(UTC)
) | st.datetimes(min_value=datetime(1971, 1, 2), max_value=datetime(9998, 12, 30)).map(
    lambda naive: naive.replace(tzinfo=timezone(timedelta(hours=3)))
)


@given(moments, moments)
def test_ts_is_isoformat_in_utc_and_sorts_in_time_order(a: datetime, b: datetime) -> None:
    assert ts(a) == a.astimezone(UTC).isoformat(timespec="microseconds")
    assert ts(b) == b.astimezone(UTC).isoformat(timespec="microseconds")  # after another second was cached
    assert parse_ts(ts(a)) == a
    assert (ts(a) < ts(b)) == (a < b)


def test_moments_of_one_second_share_the_cached_part_but_keep_their_microseconds() -> None:
    second = datetime(2026, 11, 28, 19, 30, 28, tzinfo=UTC)
    assert ts(second) == "2026-11-28T19:30:28.000000+00:00"
    assert ts(second.replace(microsecond=543019)) == "2026-11-28T19:30:28.543019+00:00"
    assert ts(second + timedelta(seconds=1)) == "2026-11-28T19:30:29.000000+00:00"
