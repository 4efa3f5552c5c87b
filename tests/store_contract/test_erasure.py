"""What privacy asks of every store: an erased message stays erased, and an expired visit takes its
address and browser string out of the dialogs that copied it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.store_contract import CONTACT, MakeStore, message, new_dialog, page_view, queued_alerts
from tracking.models import Attribution, Channel, IngestOutcome, Messenger, Visit
from tracking.store.base import NewDialog, Store

RECENT = datetime.now(UTC).replace(microsecond=0) - timedelta(days=3)


async def test_a_retry_of_an_erased_message_is_stored_nowhere(store: Store, make_store: MakeStore) -> None:
    first = message(RECENT, message_id="SM-erased-1")
    await store.add_message(new_dialog(first))
    assert await store.forget_contact(CONTACT) == 1

    # The provider retries, or someone replays the signed request: same provider, same message id.
    replay = await store.add_message(new_dialog(first))
    another_copy = await make_store()  # another copy of the server on the same database knows it too
    replay_there = await another_copy.add_message(new_dialog(first))

    assert replay.outcome is IngestOutcome.ERASED and replay_there.outcome is IngestOutcome.ERASED
    assert await store.find_dialogs(contact_id=CONTACT) == []
    assert await queued_alerts(store) == []
    # Only that message: the same id from another provider, and the contact's new messages, are stored.
    elsewhere = await store.add_message(new_dialog(message(RECENT, message_id="SM-erased-1", provider="meta")))
    new = await store.add_message(new_dialog(message(RECENT + timedelta(minutes=1))))
    assert elsewhere.outcome is IngestOutcome.NEW_DIALOG
    assert new.outcome is IngestOutcome.APPENDED and new.dialog.id == elsewhere.dialog.id


def visit_with_device(code: str, last_seen: datetime) -> Visit:
    """The visit as a dialog copies it when it opens: attributed, with the browser's address and string."""
    return Visit(
        code=code,
        visitor_id="browser-1",
        first_seen=last_seen,
        last_seen=last_seen,
        attribution=Attribution(
            channel=Channel.PAID_SEARCH, region="Moscow", os="Android", browser="Chrome", device="mobile",
            screen="412x915",
        ),
        user_agent="Mozilla/5.0 (Linux; Android 14) Chrome/131.0",
        ip="203.0.113.7",
    )  # fmt: skip


async def test_an_expired_visit_leaves_the_dialog_its_derived_fields_only(store: Store) -> None:
    old, fresh = RECENT - timedelta(days=100), RECENT
    for code, seen in (("OLD00000", old), ("NEW00000", fresh)):
        await store.record_page_view(page_view(code, "browser-1", "https://shop.example/", seen))
    expired = new_dialog(message(old), code="OLD00000")
    expired.draft.visit = visit_with_device("OLD00000", old)
    kept = new_dialog(message(fresh, contact="+79160000000"), code="NEW00000")
    kept.draft.visit = visit_with_device("NEW00000", fresh)
    for new in (expired, kept):
        await store.add_message(new)

    assert await store.delete_visits_before(RECENT - timedelta(days=90)) == 1

    dialog = await store.get_dialog(expired.draft.id)
    assert dialog is not None and dialog.visit is not None
    assert (dialog.visit.ip, dialog.visit.user_agent) == (None, None)
    # What was derived from them stays, for reports: region, OS, browser, device, screen.
    assert dialog.visit.attribution == expired.draft.visit.attribution
    assert dialog.attribution == expired.draft.attribution
    assert dialog.visit.model_copy(update={"ip": "203.0.113.7", "user_agent": expired.draft.visit.user_agent}) == (
        expired.draft.visit
    )
    untouched = await store.get_dialog(kept.draft.id)
    assert untouched == kept.draft  # its visit is still kept: so is its copy


async def test_telegram_customers_are_found_by_their_username_in_any_case(store: Store) -> None:
    def from_telegram(user: str, name: str | None, minutes: int) -> NewDialog:
        msg = message(RECENT + timedelta(minutes=minutes), contact=user, provider="telegram")
        msg.contact_phone, msg.contact_name, msg.messenger = None, name, Messenger.TELEGRAM
        return new_dialog(msg, code=f"CODE{minutes:04d}")

    for new in (
        from_telegram("tg:777", "Ольга (@Olga_Flowers)", 0),
        from_telegram("tg:777", "Ольга (@Olga_Flowers)", 1),  # two dialogs, one contact
        from_telegram("tg:778", "Пётр (@olga_flowers_2)", 2),  # a longer username
        from_telegram("tg:779", "Мария", 3),  # no username
        from_telegram("tg:780", "OlgaXflowers (@someone)", 4),  # '_' is no wildcard
    ):
        await store.add_message(new)
    await store.add_message(new_dialog(message(RECENT)))  # a WhatsApp customer

    assert await store.telegram_contacts("olga_flowers") == ["tg:777"]
    assert await store.telegram_contacts("OLGA_FLOWERS") == ["tg:777"]
    assert await store.telegram_contacts("olga_flowers_2") == ["tg:778"]
    assert await store.telegram_contacts("olga%flowers") == []
    assert await store.telegram_contacts("olga") == []
