"""Aliases: a provider's user id (Meta's BSUID) linked to the contact it was first seen with, so the
customer stays one contact when the provider stops sending the phone; erased with that contact."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from tests.store_contract import CONTACT, MakeStore, message, new_dialog
from tracking.contacts import contacts_meant
from tracking.store.base import Store

USER_ID = "US.13491208655302741918"
RECENT = datetime.now(UTC).replace(microsecond=0) - timedelta(days=3)


async def test_a_user_id_names_the_contact_it_was_first_linked_to(store: Store, make_store: MakeStore) -> None:
    assert await store.aliased_contact(USER_ID) is None

    assert await store.link_alias(USER_ID, CONTACT) == CONTACT
    assert await store.link_alias(USER_ID, CONTACT) == CONTACT  # every message carrying both links again

    # The first link wins: a user id never moves to another contact, on any copy of the server.
    assert await store.link_alias(USER_ID, "+79160000000") == CONTACT
    another_copy = await make_store()
    assert await another_copy.aliased_contact(USER_ID) == CONTACT
    assert await store.aliased_contact("US.99999999999999999999") is None


async def test_concurrent_first_links_agree_on_one_contact(store: Store, make_store: MakeStore) -> None:
    other = await make_store()
    phones = [f"+7916000000{i}" for i in range(6)]
    linked = await asyncio.gather(
        *(copy.link_alias(USER_ID, phone) for copy, phone in zip([store, other] * 3, phones, strict=True))
    )

    assert len(set(linked)) == 1 and linked[0] in phones
    assert await store.aliased_contact(USER_ID) == linked[0]


async def test_forgetting_a_contact_erases_its_aliases(store: Store) -> None:
    await store.add_message(new_dialog(message(RECENT)))
    await store.link_alias(USER_ID, CONTACT)
    await store.link_alias("US.22222222222222222222", CONTACT)
    await store.link_alias("US.33333333333333333333", "+79160000000")  # someone else's

    assert await store.forget_contact(CONTACT) == 1

    assert await store.aliased_contact(USER_ID) is None
    assert await store.aliased_contact("US.22222222222222222222") is None
    assert await store.aliased_contact("US.33333333333333333333") == "+79160000000"
    # Erased, the user id is free: if the person writes again, it links afresh.
    assert await store.link_alias(USER_ID, "+79161111111") == "+79161111111"


async def test_forgetting_a_contact_known_by_its_user_id_erases_its_link_too(store: Store) -> None:
    """A customer first stored under their user id (before any message brought their phone): erasing that
    contact takes the user id's link to the phone with it."""
    await store.add_message(new_dialog(message(RECENT, contact=USER_ID, provider="meta")))
    await store.link_alias(USER_ID, CONTACT)

    assert await store.forget_contact(USER_ID) == 1

    assert await store.aliased_contact(USER_ID) is None


async def test_an_owner_naming_a_user_id_means_every_contact_it_stands_for(store: Store) -> None:
    """The user id's own contact (its messages before any brought the phone) and the phone it was linked to
    are one person: an erase takes both. A phone names only itself."""
    await store.add_message(new_dialog(message(RECENT, contact=USER_ID, provider="meta")))
    await store.add_message(new_dialog(message(RECENT + timedelta(minutes=5))))
    await store.link_alias(USER_ID, CONTACT)

    assert await contacts_meant(store, USER_ID, "RU") == [USER_ID, CONTACT]
    assert await contacts_meant(store, "8 916 123-45-67", "RU") == [CONTACT]
    assert await contacts_meant(store, "US.99999999999999999999", "RU") == []
