"""The bot's own records: one-time invites, staff, daily summary choices, Telegram Business accounts."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from tests.store_contract import MakeStore, at
from tracking.store.base import BusinessAccount, Invite, StaffMember, Store, SummaryChoice

T0 = at("2026-11-27 10:00")
OWNER = 111


def invite(token: str = "digest-1", *, days: int = 7) -> Invite:
    return Invite(token=token, created_by=OWNER, created_at=T0, expires_at=T0 + timedelta(days=days))


async def test_an_invite_makes_its_user_staff_once(store: Store) -> None:
    await store.create_invite(invite())

    member = await store.redeem_invite("digest-1", 501, "Мария", "maria", T0 + timedelta(hours=1))
    again = await store.redeem_invite("digest-1", 502, "Mallory", None, T0 + timedelta(hours=2))

    joined = T0 + timedelta(hours=1)
    expected = StaffMember(user_id=501, name="Мария", username="maria", added_at=joined, added_by=OWNER)
    assert member == expected
    assert again is None
    assert await store.get_staff(501) == expected
    assert await store.get_staff(502) is None
    assert await store.list_staff() == [expected]


async def test_someone_is_made_staff_without_an_invite(store: Store) -> None:
    seat = StaffMember(user_id=501, name="Ирина", username="irina", added_at=T0, added_by=OWNER)
    await store.add_staff(seat)
    renamed = seat.model_copy(update={"name": "Ирина К.", "added_at": T0 + timedelta(days=1)})
    await store.add_staff(renamed)

    assert await store.get_staff(501) == renamed
    assert await store.list_staff() == [renamed]


async def test_unknown_and_expired_invites_add_no_one(store: Store) -> None:
    await store.create_invite(invite("short", days=1))

    assert await store.redeem_invite("no-such-digest", 501, "A", None, T0) is None
    assert await store.redeem_invite("short", 502, "B", None, T0 + timedelta(days=1)) is None  # expiry is exclusive
    assert await store.list_staff() == []


async def test_concurrent_redemptions_from_two_copies_admit_exactly_one(make_store: MakeStore) -> None:
    first, second = await make_store(), await make_store()
    await first.create_invite(invite())

    results = await asyncio.gather(
        *((first if i % 2 else second).redeem_invite("digest-1", 600 + i, f"user {i}", None, T0) for i in range(8))
    )

    admitted = [r for r in results if r is not None]
    assert len(admitted) == 1
    assert await first.list_staff() == admitted == await second.list_staff()


async def test_staff_are_listed_oldest_first_and_removed_with_their_summary_choice(store: Store) -> None:
    for i, user_id in enumerate((903, 901, 902)):
        await store.create_invite(invite(f"t{i}"))
        await store.redeem_invite(f"t{i}", user_id, f"n{user_id}", None, T0 + timedelta(minutes=i))
    await store.set_summary_choice(SummaryChoice(user_id=901, at="08:30", lang="en", chosen_at=T0))
    await store.set_summary_choice(SummaryChoice(user_id=OWNER, at="09:00", lang="ru", chosen_at=T0))

    assert [m.user_id for m in await store.list_staff()] == [903, 901, 902]
    assert await store.remove_staff(901) is True
    assert await store.remove_staff(901) is False

    assert [m.user_id for m in await store.list_staff()] == [903, 902]
    assert [c.user_id for c in await store.summary_choices()] == [OWNER]


async def test_re_invited_staff_keep_one_record(store: Store) -> None:
    await store.create_invite(invite("a"))
    await store.create_invite(invite("b"))
    await store.redeem_invite("a", 501, "Old name", None, T0)

    renewed = await store.redeem_invite("b", 501, "New name", "new", T0 + timedelta(days=1))

    assert renewed is not None and renewed.name == "New name"
    assert await store.list_staff() == [renewed]


async def test_a_summary_choice_is_replaced_not_added(store: Store) -> None:
    await store.set_summary_choice(SummaryChoice(user_id=OWNER, at="09:00", lang="ru", chosen_at=T0))
    later = SummaryChoice(user_id=OWNER, at=None, lang="en", chosen_at=T0 + timedelta(days=2))

    await store.set_summary_choice(later)

    assert await store.summary_choices() == [later]


async def test_business_accounts_are_kept_by_connection_id(store: Store) -> None:
    account = BusinessAccount(connection_id="bc-1", user_id=42, username="flower_shop", name="Цветы", enabled=True)
    await store.save_business_account(account)
    disabled = account.model_copy(update={"enabled": False})

    await store.save_business_account(disabled)

    assert await store.get_business_account("bc-1") == disabled
    assert await store.get_business_account("bc-2") is None
