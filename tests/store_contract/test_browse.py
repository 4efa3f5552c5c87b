"""Paging through every dialog (/recent), searching names, and what the bot needs for its first steps and
for editing the alerts of an erased contact."""

from __future__ import annotations

from datetime import timedelta

from tests.store_contract import MakeStore, at, message, new_dialog, page_view
from tracking.models import Dialog
from tracking.store.base import DialogPosition, Store

T0 = at("2026-11-01 10:00")


async def seed(store: Store, count: int, *, tie_every: int = 3, name: str = "Клиент {i}") -> list[Dialog]:
    """`count` dialogs of different contacts; every `tie_every` of them start at one instant."""
    dialogs = []
    for i in range(count):
        when = T0 + timedelta(minutes=i // tie_every)
        inbound = message(when, contact=f"+7916000{i:04d}").model_copy(update={"contact_name": name.format(i=i)})
        dialogs.append((await store.add_message(new_dialog(inbound))).dialog)
    return dialogs


def position(dialog: Dialog) -> DialogPosition:
    return DialogPosition(started_at=dialog.started_at, dialog_id=dialog.id)


def newest_first(dialogs: list[Dialog]) -> list[str]:
    return [d.id for d in sorted(dialogs, key=lambda d: (d.started_at, d.id), reverse=True)]


async def test_pages_reach_every_dialog_both_ways_through_ties(make_store: MakeStore) -> None:
    store = await make_store()
    dialogs = await seed(store, 23)  # ties of three at each minute; pages of 4 cut inside them

    older, page = [], await store.browse_dialogs(limit=4)
    while page.dialogs:
        older += [d.id for d in page.dialogs]
        page = await store.browse_dialogs(before=position(page.dialogs[-1]), limit=4)
    newer, page = [], await store.browse_dialogs(after=DialogPosition(started_at=T0), limit=4)
    while page.dialogs:
        newer += [d.id for d in page.dialogs]
        page = await store.browse_dialogs(after=position(page.dialogs[-1]), limit=4)

    assert older == newest_first(dialogs)
    assert newer == older[::-1]


async def test_a_date_jump_starts_just_before_that_instant(make_store: MakeStore) -> None:
    store = await make_store()
    dialogs = await seed(store, 9)  # minutes 0, 1, 2: three dialogs each

    page = await store.browse_dialogs(before=DialogPosition(started_at=T0 + timedelta(minutes=2)), limit=10)

    assert [d.id for d in page.dialogs] == newest_first(dialogs)[3:]
    assert page.scanned_to is None


async def test_a_name_search_finds_any_case_and_says_where_a_bounded_scan_stopped(make_store: MakeStore) -> None:
    store = await make_store()
    dialogs = await seed(store, 12, tie_every=1, name="Клиент {i}")
    for i in (2, 9):
        inbound = message(T0 + timedelta(minutes=i, seconds=30), contact=f"+7925000{i:04d}")
        inbound = inbound.model_copy(update={"contact_name": f"АННА Петрова {i}"})
        dialogs.append((await store.add_message(new_dialog(inbound))).dialog)

    everything = await store.browse_dialogs(name="анна", limit=5)
    first = await store.browse_dialogs(name="анна", limit=5, scan=3)  # the newest three: two clients, an Анна
    rest = await store.browse_dialogs(name="анна", limit=5, scan=3, before=first.scanned_to)
    last = await store.browse_dialogs(name="анна", limit=5, scan=100, before=rest.scanned_to)

    assert [d.contact_name for d in everything.dialogs] == ["АННА Петрова 9", "АННА Петрова 2"]
    assert everything.scanned_to is None
    assert [d.contact_name for d in first.dialogs] == ["АННА Петрова 9"] and first.scanned_to is not None
    assert rest.dialogs == [] and rest.scanned_to is not None  # three names read, none of them Анна
    assert [d.contact_name for d in last.dialogs] == ["АННА Петрова 2"] and last.scanned_to is None


async def test_a_name_search_pages_forward_too(make_store: MakeStore) -> None:
    store = await make_store()
    await seed(store, 6, tie_every=1, name="Ольга {i}")

    page = await store.browse_dialogs(name="ОЛЬГА", after=DialogPosition(started_at=T0), limit=4)

    assert [d.contact_name for d in page.dialogs] == ["Ольга 0", "Ольга 1", "Ольга 2", "Ольга 3"]


async def test_alert_messages_are_listed_by_contact_and_erased_with_it(make_store: MakeStore) -> None:
    store = await make_store()
    mine = (await store.add_message(new_dialog(message(T0, contact="+79160000001")))).dialog
    later = (await store.add_message(new_dialog(message(T0, contact="+79160000001"), code="7K3M9QE"))).dialog
    other = (await store.add_message(new_dialog(message(T0, contact="+79160000002")))).dialog

    await store.alert_message_sent(mine.id, 111, 5)
    await store.alert_message_sent(mine.id, 222, 7)
    await store.alert_message_sent(mine.id, 111, 5)  # a repeated record is one
    await store.alert_message_sent(later.id, 111, 9)
    await store.alert_message_sent(other.id, 111, 6)

    assert await store.alert_messages("+79160000001") == [(111, 5), (111, 9), (222, 7)]
    assert await store.alert_messages("+79169999999") == []
    assert await store.forget_contact("+79160000001") == 2
    assert await store.alert_messages("+79160000001") == []
    assert await store.alert_messages("+79160000002") == [(111, 6)]


async def test_any_visit_says_whether_the_snippet_was_seen(make_store: MakeStore) -> None:
    store = await make_store()
    before = await store.any_visit()
    await store.record_page_view(page_view("7K3M9QE", "v1", "https://shop.example/", T0))

    assert before is False
    assert await store.any_visit() is True
