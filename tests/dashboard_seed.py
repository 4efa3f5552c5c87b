"""A believable small business for the dashboard's browser tests and screenshots: about two months of dialogs
from a dozen channels, sources and campaigns, repeat customers, tags, sales, takers, replies and ad spend,
all written through the store as ingest and the bot write them (tests/seed.py)."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from tests.seed import seed_dialog
from tracking.models import AttributionStatus, Cost, Sale
from tracking.store.base import StaffMember, Store

STAFF = ((2001, "Мария"), (2002, "Олег"))

# channel, source, medium, campaigns (with their keywords), weight
TRAFFIC: tuple[tuple[str, str, str | None, dict[str, tuple[str, ...]], int], ...] = (
    ("paid_search", "yandex", "cpc", {"kitchens-moscow": ("кухни на заказ", "кухня недорого"),
                                      "brand": ("мебель вектор",)}, 30),
    ("paid_search", "google", "cpc", {"kitchens-moscow": ("custom kitchen",)}, 8),
    ("organic_search", "yandex", "organic", {}, 16),
    ("organic_search", "google", "organic", {}, 6),
    ("paid_social", "vk", "paid", {"retarget": (), "lookalike": ()}, 12),
    ("maps", "yandex_maps", "referral", {}, 9),
    ("referral", "2gis.ru", "referral", {}, 4),
    ("messenger", "telegram", "social", {}, 3),
    ("direct", "", None, {}, 10),
)  # fmt: skip
LANDINGS = ("shop.example", "shop.example/kitchens", "shop.example/sale", "shop.example/wardrobes")
CONTACT_PAGES = ("shop.example/kitchens", "shop.example/price", "shop.example/contacts", "shop.example",
                 "shop.example/kitchens/modern-white-oak-with-island", "shop.example/wardrobes")  # fmt: skip
ADS = ("ad-photo-1", "ad-video-2", "ad-text-3")


@dataclass(frozen=True, slots=True)
class Seeded:
    dialogs: int
    first: datetime


async def seed_business(store: Store, now: datetime, days: int = 60, per_day: float = 4.0, seed: int = 20) -> Seeded:
    """Dialogs over the `days` before `now` (more on weekdays, growing a little), with everything the
    widgets show. Deterministic for one `seed` and `now`."""
    rng = random.Random(seed)
    for user_id, name in STAFF:
        await store.add_staff(
            StaffMember(user_id=user_id, name=name, added_by=1001, added_at=now - timedelta(days=days + 30))
        )
    weights = [row[-1] for row in TRAFFIC]
    customers: list[str] = []
    count = 0
    first = now
    for back in range(days, -1, -1):
        day = now - timedelta(days=back)
        busy = per_day * (0.6 if day.weekday() >= 5 else 1.0) * (0.8 + 0.4 * (days - back) / days)
        for _ in range(_poisson(rng, busy)):
            at = day.replace(hour=6, minute=0, second=0, microsecond=0) + timedelta(minutes=rng.randint(0, 14 * 60))
            if at >= now:
                continue
            channel, source, medium, campaigns, _ = rng.choices(TRAFFIC, weights)[0]
            attribution: dict[str, str | None] = {"landing_page": rng.choice(LANDINGS),
                                                  "contact_page": rng.choice(CONTACT_PAGES)}  # fmt: skip
            if source:
                attribution["source"] = source
            if medium:
                attribution["medium"] = medium
            if campaigns:
                campaign = rng.choice(sorted(campaigns))
                attribution["campaign"] = campaign
                attribution["content"] = rng.choice(ADS)
                if campaigns[campaign]:
                    attribution["term"] = rng.choice(campaigns[campaign])
            contact = rng.choice(customers) if customers and rng.random() < 0.2 else None
            tags = [tag for tag, share in (("qualified", 0.45), ("spam", 0.04)) if rng.random() < share]
            status = AttributionStatus.PROBABLE if rng.random() < 0.12 else AttributionStatus.EXACT
            if channel == "direct":
                status = AttributionStatus.NONE
            dialog = await seed_dialog(store, at, contact=contact, channel=channel, status=status, tags=tags,
                                       name=rng.choice(("Ирина", "Сергей", None, "Алексей", "Ольга")),
                                       **attribution)  # type: ignore[arg-type]  # fmt: skip
            customers.append(dialog.contact_id)
            count += 1
            first = min(first, at)
            if "qualified" in tags and rng.random() < 0.35:
                amount = Decimal(rng.randrange(40_000, 320_000, 500))
                sale = Sale(id=f"sale-{dialog.id}", amount=amount, currency="RUB", at=at + timedelta(days=2))
                await store.add_sale(dialog.id, sale)
            if rng.random() < 0.8:
                user_id, name = rng.choice(((1001, "Анна"), *STAFF))
                await store.take_dialog(dialog.id, user_id, name, at + timedelta(minutes=rng.randint(1, 30)))
                reply = at + timedelta(minutes=rng.choice((2, 4, 7, 12, 25, 45, 90, 240)))
                if reply < now:
                    await store.record_reply(dialog.id, reply, name)
    await store.reply_seen("test", "+79991234567", first - timedelta(days=1))
    costs = [
        Cost(day=(now - timedelta(days=back)).date(), source=source, campaign=campaign,
             amount=Decimal(rng.randrange(1_500, 6_000, 50)), currency="RUB", origin="file")
        for back in range(days + 1)
        for source, campaign in (("yandex", "kitchens-moscow"), ("yandex", "brand"), ("vk", "retarget"))
    ]  # fmt: skip
    await store.save_costs(costs)
    return Seeded(dialogs=count, first=first)


def _poisson(rng: random.Random, mean: float) -> int:
    """A day's count of dialogs around `mean` (Knuth's method; means here are small)."""
    limit, k, p = pow(2.718281828459045, -mean), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1
