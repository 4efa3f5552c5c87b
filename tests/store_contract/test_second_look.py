"""What a second look needs of every adapter (Tracker.second_look): the number's unattributed dialogs of a
period, and attributing one of them later, its report counts moved along, only while it has no code."""

from __future__ import annotations

from datetime import timedelta

from tests.store_contract import NUMBER, OTHER_NUMBER, message, new_dialog
from tracking.models import Attribution, AttributionStatus, Channel
from tracking.periods import utc_now
from tracking.store.base import CodeAttribution, CountQuery, Store

T0 = utc_now().replace(microsecond=0) - timedelta(hours=1)
FOUND = CodeAttribution(
    code="7K3M9QX",
    status=AttributionStatus.PROBABLE,
    status_reason="probable 97%: keeps 100% of the link's text; written 45 s after the click",
    attribution=Attribution(channel=Channel.PAID_SEARCH, source="yandex", campaign="spring"),
)


async def counts(store: Store) -> dict[tuple[str | None, str | None], int]:
    rows = await store.count_dialogs(
        CountQuery(start=T0 - timedelta(days=1), end=T0 + timedelta(days=1), group_by=["status", "source"])
    )
    return {(r.key.get("status"), r.key.get("source")): r.dialogs for r in rows}


async def test_the_numbers_unattributed_dialogs_of_a_period(store: Store) -> None:
    plain = new_dialog(message(T0, contact="+79160000001"))
    exact = new_dialog(message(T0 + timedelta(minutes=1), contact="+79160000002"), code="AAAA111",
                       status=AttributionStatus.EXACT)  # fmt: skip
    elsewhere = new_dialog(message(T0 + timedelta(minutes=2), contact="+79160000003", number=OTHER_NUMBER))
    later = new_dialog(message(T0 + timedelta(minutes=40), contact="+79160000004"))
    for new in (plain, exact, elsewhere, later):
        await store.add_message(new)
    found = await store.unattributed_dialogs(NUMBER, T0, T0 + timedelta(minutes=30))
    assert [d.id for d in found] == [plain.draft.id]
    assert await store.unattributed_dialogs(NUMBER, T0 + timedelta(seconds=1), T0 + timedelta(minutes=30)) == []


async def test_a_later_attribution_moves_the_counts_and_never_replaces_a_code(store: Store) -> None:
    new = new_dialog(message(T0))
    await store.add_message(new)
    assert await counts(store) == {("none", None): 1}
    changed = await store.attribute_dialog(new.draft.id, FOUND)
    assert changed is not None and (changed.code, changed.status) == ("7K3M9QX", AttributionStatus.PROBABLE)
    assert changed.attribution.campaign == "spring" and changed.status_reason == FOUND.status_reason
    stored = await store.get_dialog(new.draft.id)
    assert stored is not None and stored.code == "7K3M9QX" and stored.attribution.source == "yandex"
    assert await counts(store) == {("probable", "yandex"): 1}
    again = FOUND.model_copy(update={"code": "BBBB222"})
    assert await store.attribute_dialog(new.draft.id, again) is None  # attributed once
    stored = await store.get_dialog(new.draft.id)
    assert stored is not None and stored.code == "7K3M9QX"
    assert await store.attribute_dialog("f" * 32, FOUND) is None
