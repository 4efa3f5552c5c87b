"""Dialogs stored by older versions (whole URLs as pages, map visits as search or referrals) are keyed
again once, in both stores (tracking/page_migration.py)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from datetime import timedelta

from reports.counts import Totals
from tests.store_contract import at, message, new_dialog
from tracking.models import Attribution, AttributionStatus, Channel, Visit
from tracking.page_migration import migrate_pages
from tracking.pages import DEFAULT_PAGE_PARAMS
from tracking.service import Tracker
from tracking.store.base import CountQuery, Store

KEEP = frozenset(DEFAULT_PAGE_PARAMS)
T0 = at("2026-11-10 09:00")
START, END = at("2026-11-01 00:00"), at("2026-12-01 00:00")
SERVICES = "https://salon.example/%D1%83%D1%81%D0%BB%D1%83%D0%B3%D0%B8"
DIRECT = SERVICES + "?utm_source=yandex&utm_medium=cpc&utm_campaign=nov&yclid=18780912364827418623"
GOOGLE = SERVICES + "?gclid=Cj0KCQiA5rGuBhCnARIsAN11vgQ"


async def _old_dialog(store: Store, n: int, landing: str, referrer: str, old: Mapping[str, object]) -> None:
    """A dialog as a version before page keys and maps stored it: its visit's URLs, its old channel."""
    visit = Tracker.attributed(
        Visit(
            code=f"CODE00{n}",
            visitor_id=f"visitor-{n}",
            first_seen=T0,
            last_seen=T0,
            attribution=Attribution(landing_page=landing, referrer=referrer),
            current_page=landing,
        )
    )
    new = new_dialog(message(T0 + timedelta(minutes=n), contact=f"+7916000000{n}"))
    attribution = visit.attribution.model_copy(update={"contact_page": landing, **old})
    new.draft.code, new.draft.status, new.draft.visit = visit.code, AttributionStatus.EXACT, visit
    new.draft.attribution = attribution
    await store.add_message(new)


async def _seed(store: Store) -> None:
    await _old_dialog(store, 1, DIRECT, "https://yandex.ru/", {})
    await _old_dialog(store, 2, GOOGLE, "https://www.google.com/", {})
    maps = {"channel": Channel.ORGANIC_SEARCH, "source": "yandex", "medium": "organic"}  # what it was before
    await _old_dialog(store, 3, "https://salon.example/?ysclid=lq2x9ab", "https://yandex.ru/maps/org/salon/1/", maps)
    two_gis = {"channel": Channel.REFERRAL, "source": "ru.dublgis.dgismobile", "medium": "referral"}
    await _old_dialog(
        store, 4, "https://salon.example/?p=12&_openstat=x", "android-app://ru.dublgis.dgismobile", two_gis
    )
    ad = new_dialog(
        message(T0, contact="+79160000009"), status=AttributionStatus.AD_REFERRAL, channel=Channel.PAID_SOCIAL
    )
    await store.add_message(ad)


async def _count(store: Store, **filters: str) -> int:
    """Dialogs of the month with these values: what a report reads (columns, rollups, pipelines)."""
    return Totals.of(await store.count_dialogs(CountQuery(start=START, end=END, filters=filters))).dialogs


async def _stored(store: Store) -> Counter[tuple[str | None, str | None, str, str | None]]:
    """(landing page, page of contact, channel, source) of each stored dialog: what its card shows."""
    return Counter(
        (a.landing_page, a.contact_page, a.channel.value, a.source)
        for a in (d.attribution for d in await store.list_dialogs(START, END))
    )


SERVICES_KEY = "salon.example/%D1%83%D1%81%D0%BB%D1%83%D0%B3%D0%B8"


async def test_old_pages_are_keyed_and_map_visits_move_once(store: Store) -> None:
    await _seed(store)
    assert await _count(store, landing_page=SERVICES_KEY) == 0  # one page per click before

    assert await migrate_pages(store, KEEP) == 4  # the ad's dialog has no page and no visit: left as it is

    assert await _stored(store) == Counter(
        {
            (SERVICES_KEY, SERVICES_KEY, "paid_search", "yandex"): 1,
            (SERVICES_KEY, SERVICES_KEY, "paid_search", "google"): 1,
            ("salon.example", "salon.example", "maps", "yandex maps"): 1,
            ("salon.example/?p=12", "salon.example/?p=12", "maps", "2gis"): 1,
            (None, None, "paid_social", None): 1,
        }
    )
    assert await _count(store, landing_page=SERVICES_KEY) == await _count(store, contact_page=SERVICES_KEY) == 2
    assert await _count(store, channel="maps") == 2
    assert await _count(store, channel="maps", source="yandex maps", medium="referral") == 1
    assert await _count(store, channel="organic_search") == await _count(store, channel="referral") == 0
    by_contact = {d.contact_id: d for d in await store.list_dialogs(START, END)}
    moved = by_contact["+79160000003"]
    assert moved.visit is not None and moved.visit.attribution.landing_page == "https://salon.example/?ysclid=lq2x9ab"
    assert by_contact["+79160000001"].attribution.campaign == "nov"  # the rest of the attribution is kept

    assert await migrate_pages(store, KEEP) is None  # once per rules: the next start reads one row


async def test_another_list_of_kept_parameters_keys_them_again(store: Store) -> None:
    await _seed(store)
    await migrate_pages(store, KEEP)

    assert await migrate_pages(store, frozenset()) == 1  # ?p=12 no longer names a page
    assert await _count(store, landing_page="salon.example") == 2
    assert await migrate_pages(store, KEEP) == 1  # from the visit's URL as sent: ?p=12 comes back
    assert await _count(store, landing_page="salon.example/?p=12") == 1
