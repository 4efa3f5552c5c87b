"""A hand-computed report fixture: eight dialogs around time-zone, ISO-week and quarter edges.

Business time zone Europe/Moscow (UTC+3, no DST). Each expected row was worked out by hand from the
table below, not by calling the code under test.

| id | UTC start        | who | to | channel, source        | status   | tags     | repeat |
| D1 | 2026-03-01 10:00 | A   | N  | paid_search, google    | exact    | vip      | no     |
| D2 | 2026-03-01 23:30 | B   | N  | organic_search, yandex | exact    |          | no     |
| D3 | 2026-03-31 20:59 | C   | N  | paid_search, google    | probable | vip, b2b | no     |
| D4 | 2026-03-31 21:00 | A   | N  | paid_social, instagram | exact    | b2b      | yes    |
| D5 | 2026-12-31 21:30 | D   | N  | direct, -              | none     |          | no     |
| D6 | 2026-12-31 12:00 | E   | O  | paid_search, google    | probable |          | no     |
| D7 | 2027-01-04 06:00 | B   | N  | organic_search, yandex | exact    | vip      | yes    |
| D8 | 2024-12-30 10:00 | F   | N  | referral, example.org  | exact    |          | no     |

| id | local day  | ISO week | month   | quarter |
| D1 | 2026-03-01 | 2026-W09 | 2026-03 | 2026-Q1 |
| D2 | 2026-03-02 | 2026-W10 | 2026-03 | 2026-Q1 |
| D3 | 2026-03-31 | 2026-W14 | 2026-03 | 2026-Q1 |
| D4 | 2026-04-01 | 2026-W14 | 2026-04 | 2026-Q2 |
| D5 | 2027-01-01 | 2026-W53 | 2027-01 | 2027-Q1 |
| D6 | 2026-12-31 | 2026-W53 | 2026-12 | 2026-Q4 |
| D7 | 2027-01-04 | 2027-W01 | 2027-01 | 2027-Q1 |
| D8 | 2024-12-30 | 2025-W01 | 2024-12 | 2024-Q4 |

D2 is the next local day (and ISO week) although 1 March in UTC; D3/D4 straddle the Q1/Q2 edge one
minute apart in UTC; 2026 has an ISO week 53 that holds 1 January 2027; 30 December 2024 is in 2025-W01.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tests.store_contract import NUMBER, OTHER_NUMBER, Row, at, expect, message, new_dialog
from tracking.models import AttributionStatus, Channel, TimeBuckets
from tracking.store.base import Bucket, CountQuery, NewDialog

N, O2 = NUMBER, OTHER_NUMBER  # the tracked number, and another one
EXACT, PROBABLE, NONE = AttributionStatus.EXACT, AttributionStatus.PROBABLE, AttributionStatus.NONE
CONTACTS = {c: f"+7916000000{i}" for i, c in enumerate("ABCDEF")}


@dataclass(frozen=True)
class Seed:
    name: str
    started: str
    contact: str
    number: str
    channel: Channel
    source: str | None
    status: AttributionStatus
    tags: list[str]
    repeat: bool
    buckets: TimeBuckets


def _b(day: str, week: str, month: str, quarter: str) -> TimeBuckets:
    return TimeBuckets(day=day, week=week, month=month, quarter=quarter)


SEEDS = [
    Seed("D1", "2026-03-01 10:00", "A", N, Channel.PAID_SEARCH, "google", EXACT, ["vip"], False,
         _b("2026-03-01", "2026-W09", "2026-03", "2026-Q1")),
    Seed("D2", "2026-03-01 23:30", "B", N, Channel.ORGANIC_SEARCH, "yandex", EXACT, [], False,
         _b("2026-03-02", "2026-W10", "2026-03", "2026-Q1")),
    Seed("D3", "2026-03-31 20:59", "C", N, Channel.PAID_SEARCH, "google", PROBABLE, ["vip", "b2b"], False,
         _b("2026-03-31", "2026-W14", "2026-03", "2026-Q1")),
    Seed("D4", "2026-03-31 21:00", "A", N, Channel.PAID_SOCIAL, "instagram", EXACT, ["b2b"], True,
         _b("2026-04-01", "2026-W14", "2026-04", "2026-Q2")),
    Seed("D5", "2026-12-31 21:30", "D", N, Channel.DIRECT, None, NONE, [], False,
         _b("2027-01-01", "2026-W53", "2027-01", "2027-Q1")),
    Seed("D6", "2026-12-31 12:00", "E", O2, Channel.PAID_SEARCH, "google", PROBABLE, [], False,
         _b("2026-12-31", "2026-W53", "2026-12", "2026-Q4")),
    Seed("D7", "2027-01-04 06:00", "B", N, Channel.ORGANIC_SEARCH, "yandex", EXACT, ["vip"], True,
         _b("2027-01-04", "2027-W01", "2027-01", "2027-Q1")),
    Seed("D8", "2024-12-30 10:00", "F", N, Channel.REFERRAL, "example.org", EXACT, [], False,
         _b("2024-12-30", "2025-W01", "2024-12", "2024-Q4")),
]  # fmt: skip


def seed_messages() -> list[NewDialog]:
    """The eight first messages in order, plus one that joins D1 (messages are not dialogs)."""
    news = []
    for seed in SEEDS:
        msg = message(at(seed.started), contact=CONTACTS[seed.contact], number=seed.number)
        news.append(new_dialog(msg, status=seed.status, channel=seed.channel, source=seed.source, tags=seed.tags))
    joining = message(at("2026-03-01 11:00"), contact=CONTACTS["A"], number=N)
    news.insert(1, new_dialog(joining, channel=Channel.DIRECT))
    return news


WHOLE = {"start": at("2024-01-01 00:00"), "end": at("2028-01-01 00:00")}
MARCH_UTC = {"start": at("2026-03-01 00:00"), "end": at("2026-04-01 00:00")}


@dataclass(frozen=True)
class Case:
    name: str
    query: CountQuery
    rows: list[Row]
    grouped: bool = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "grouped", bool(self.query.group_by or self.query.bucket))


def q(period: dict[str, Any] = WHOLE, **fields: Any) -> CountQuery:
    return CountQuery(**{**period, **fields})


PS, OS, SOC = "paid_search", "organic_search", "paid_social"

CASES = [
    Case("total", q(), expect(({}, None, 6, 2))),
    Case("empty period", q(start=at("2025-06-01 00:00"), end=at("2025-07-01 00:00")), []),
    Case(
        "half-open period",
        q(start=at("2026-03-01 23:30"), end=at("2026-03-31 21:00")),  # D2 in, D4 out
        expect(({}, None, 2, 0)),
    ),
    Case("filter channel", q(filters={"channel": PS}), expect(({}, None, 3, 0))),
    Case("filter channel, no probable", q(filters={"channel": PS}, include_probable=False), expect(({}, None, 1, 0))),
    Case(
        "filter unattributed, no probable",
        q(filters={"channel": "unattributed"}, include_probable=False),
        expect(({}, None, 2, 0)),
    ),
    Case(
        "filter source, no probable", q(filters={"source": "google"}, include_probable=False), expect(({}, None, 1, 0))
    ),
    Case("filter tag", q(filters={"tag": "vip"}), expect(({}, None, 2, 1))),
    Case("without a tag", q(without_tags=["b2b"]), expect(({}, None, 5, 1))),
    Case("without two tags", q(without_tags=["b2b", "vip"]), expect(({}, None, 4, 0))),
    Case("filter tag, without another", q(filters={"tag": "vip"}, without_tags=["b2b"]), expect(({}, None, 1, 1))),
    Case("filter number and status", q(filters={"business_number": N, "status": "exact"}), expect(({}, None, 3, 2))),
    Case(
        "by channel",
        q(group_by=["channel"]),
        expect(
            ({"channel": PS}, None, 3, 0),
            ({"channel": OS}, None, 1, 1),
            ({"channel": SOC}, None, 0, 1),
            ({"channel": "direct"}, None, 1, 0),
            ({"channel": "referral"}, None, 1, 0),
        ),
    ),
    Case(
        "by channel, no probable",
        q(group_by=["channel"], include_probable=False),
        expect(
            ({"channel": PS}, None, 1, 0),
            ({"channel": "unattributed"}, None, 2, 0),
            ({"channel": OS}, None, 1, 1),
            ({"channel": SOC}, None, 0, 1),
            ({"channel": "direct"}, None, 1, 0),
            ({"channel": "referral"}, None, 1, 0),
        ),
    ),
    Case(
        "by channel and source, no probable",
        q(group_by=["channel", "source"], include_probable=False),
        expect(
            ({"channel": PS, "source": "google"}, None, 1, 0),
            ({"channel": "unattributed", "source": None}, None, 2, 0),
            ({"channel": OS, "source": "yandex"}, None, 1, 1),
            ({"channel": SOC, "source": "instagram"}, None, 0, 1),
            ({"channel": "direct", "source": None}, None, 1, 0),
            ({"channel": "referral", "source": "example.org"}, None, 1, 0),
        ),
    ),
    Case(
        "by source (nulls group together)",
        q(group_by=["source"]),
        expect(
            ({"source": "google"}, None, 3, 0),
            ({"source": "yandex"}, None, 1, 1),
            ({"source": "instagram"}, None, 0, 1),
            ({"source": None}, None, 1, 0),
            ({"source": "example.org"}, None, 1, 0),
        ),
    ),
    Case(
        "by status",
        q(group_by=["status"]),
        expect(
            ({"status": "exact"}, None, 3, 2), ({"status": "probable"}, None, 2, 0), ({"status": "none"}, None, 1, 0)
        ),
    ),
    Case("by messenger", q(group_by=["messenger"]), expect(({"messenger": "whatsapp"}, None, 6, 2))),
    Case("by tag", q(group_by=["tag"]), expect(({"tag": "vip"}, None, 2, 1), ({"tag": "b2b"}, None, 1, 1))),
    Case(
        "by channel, tag filter",
        q(group_by=["channel"], filters={"tag": "vip"}),
        expect(({"channel": PS}, None, 2, 0), ({"channel": OS}, None, 0, 1)),
    ),
    Case("by tag, without b2b", q(group_by=["tag"], without_tags=["b2b"]), expect(({"tag": "vip"}, None, 1, 1))),
    Case("by tag, tag filter", q(group_by=["tag"], filters={"tag": "b2b"}), expect(({"tag": "b2b"}, None, 1, 1))),
    Case(
        "by day over March in UTC",
        q(MARCH_UTC, bucket=Bucket.DAY),
        expect(
            ({}, "2026-03-01", 1, 0),
            ({}, "2026-03-02", 1, 0),
            ({}, "2026-03-31", 1, 0),
            ({}, "2026-04-01", 0, 1),
        ),
    ),
    Case(
        "by ISO week",
        q(bucket=Bucket.WEEK),
        expect(
            ({}, "2025-W01", 1, 0),
            ({}, "2026-W09", 1, 0),
            ({}, "2026-W10", 1, 0),
            ({}, "2026-W14", 1, 1),
            ({}, "2026-W53", 2, 0),
            ({}, "2027-W01", 0, 1),
        ),
    ),
    Case(
        "by month",
        q(bucket=Bucket.MONTH),
        expect(
            ({}, "2024-12", 1, 0),
            ({}, "2026-03", 3, 0),
            ({}, "2026-04", 0, 1),
            ({}, "2026-12", 1, 0),
            ({}, "2027-01", 1, 1),
        ),
    ),
    Case(
        "by quarter",
        q(bucket=Bucket.QUARTER),
        expect(
            ({}, "2024-Q4", 1, 0),
            ({}, "2026-Q1", 3, 0),
            ({}, "2026-Q2", 0, 1),
            ({}, "2026-Q4", 1, 0),
            ({}, "2027-Q1", 1, 1),
        ),
    ),
    Case(
        "by number and quarter",
        q(group_by=["business_number"], bucket=Bucket.QUARTER),
        expect(
            ({"business_number": N}, "2024-Q4", 1, 0),
            ({"business_number": N}, "2026-Q1", 3, 0),
            ({"business_number": N}, "2026-Q2", 0, 1),
            ({"business_number": N}, "2027-Q1", 1, 1),
            ({"business_number": O2}, "2026-Q4", 1, 0),
        ),
    ),
    Case(
        "by tag and month, no probable",
        q(group_by=["tag"], bucket=Bucket.MONTH, include_probable=False),
        expect(
            ({"tag": "vip"}, "2026-03", 2, 0),
            ({"tag": "vip"}, "2027-01", 0, 1),
            ({"tag": "b2b"}, "2026-03", 1, 0),
            ({"tag": "b2b"}, "2026-04", 0, 1),
        ),
    ),
    Case(
        "by channel and week in Q1 2027 local, filtered by number",
        q(
            start=at("2026-12-31 21:00"),  # 1 January 2027 00:00 in Moscow
            end=at("2027-03-31 21:00"),
            group_by=["channel"],
            bucket=Bucket.WEEK,
            filters={"business_number": N},
        ),
        expect(({"channel": "direct"}, "2026-W53", 1, 0), ({"channel": OS}, "2027-W01", 0, 1)),
    ),
]

__all__ = ["CASES", "CONTACTS", "SEEDS", "Case", "seed_messages"]
