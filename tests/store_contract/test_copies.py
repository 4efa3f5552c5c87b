"""Several copies of the server on one database: two stores (two connections) racing on one contact."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from tests.store_contract import CONTACT, MakeStore, at, message, new_dialog, queued_alerts
from tracking.models import IngestOutcome

T0 = at("2026-03-01 10:00")


async def test_two_copies_hammering_one_contact_open_one_dialog(make_store: MakeStore) -> None:
    one, two = await make_store(), await make_store()
    news = [new_dialog(message(T0 + timedelta(seconds=i)), chats=[1, 2]) for i in range(20)]

    results = await asyncio.gather(*(store.add_message(new) for store, new in zip([one, two] * 10, news, strict=True)))

    assert sorted(r.outcome.value for r in results) == ["appended"] * 19 + ["new_dialog"]
    dialogs = await two.find_dialogs(contact_id=CONTACT)
    assert len(dialogs) == 1
    assert dialogs[0].message_count == 20 and dialogs[0].is_repeat is False
    assert await queued_alerts(one) == [(1, dialogs[0].id), (2, dialogs[0].id)]


async def test_two_copies_receiving_the_same_retries_store_the_message_once(make_store: MakeStore) -> None:
    one, two = await make_store(), await make_store()
    deliveries = [new_dialog(message(T0, message_id="SM-RETRIED"), chats=[1]) for _ in range(10)]

    results = await asyncio.gather(*(s.add_message(d) for s, d in zip([one, two] * 5, deliveries, strict=True)))

    assert [r.outcome for r in results].count(IngestOutcome.NEW_DIALOG) == 1
    assert all(r.outcome in (IngestOutcome.NEW_DIALOG, IngestOutcome.DUPLICATE) for r in results)
    (dialog_id,) = {r.dialog.id for r in results}
    dialog = await one.get_dialog(dialog_id)
    assert dialog is not None and dialog.message_count == 1
    assert await queued_alerts(two) == [(1, dialog_id)]


async def test_one_contact_writing_two_numbers_at_once_is_new_once(make_store: MakeStore) -> None:
    one, two = await make_store(), await make_store()
    to_first = new_dialog(message(T0, number="+79990000001"))
    to_second = new_dialog(message(T0, number="+79990000002"))

    results = await asyncio.gather(one.add_message(to_first), two.add_message(to_second))

    assert all(r.outcome is IngestOutcome.NEW_DIALOG for r in results)
    assert sorted(r.dialog.is_repeat for r in results) == [False, True]


async def test_two_copies_flooded_by_one_contact_send_three_alerts_in_all(make_store: MakeStore) -> None:
    from tracking.limits import ALERTS_PER_CONTACT

    one, two = await make_store(), await make_store()
    # Each message carries a fresh code, so each opens a dialog of its own; all arrive at once.
    news = [new_dialog(message(T0 + timedelta(seconds=i)), code=f"K7Q2M{i:02d}", chats=[1]) for i in range(8)]

    results = await asyncio.gather(*(store.add_message(new) for store, new in zip([one, two] * 4, news, strict=True)))

    assert [r.outcome for r in results] == [IngestOutcome.NEW_DIALOG] * 8
    assert sum(not r.dialog.alert_withheld for r in results) == ALERTS_PER_CONTACT
    assert len(await queued_alerts(one)) == ALERTS_PER_CONTACT
