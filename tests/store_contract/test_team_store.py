"""The team's records (issue 18): taking leads, the business's first replies, reply sources, messages the
bot sent in team chats, the team chat, mutes, the rows of the team reports, and what ingest adds for them
(the first words of a dialog opened without any, the take reminder)."""

from __future__ import annotations

import asyncio
import functools
import sqlite3
from contextlib import closing
from datetime import timedelta
from pathlib import Path

import pytest

from tests.mongo_plans import find_plan
from tests.store_contract import CONTACT, FAR_FUTURE, MakeStore, at, message, new_dialog
from tracking.models import TAKE_REMINDER, AttributionStatus, Channel, Dialog
from tracking.periods import utc_now
from tracking.store.base import CountQuery, Invite, ReplySource, Store, TeamChat
from tracking.store.mongo import MongoStore, bot_message, count_pipeline
from tracking.store.sqlite import BOT_MESSAGE_SQL, SQLiteStore, response_sql

T0 = at("2026-03-01 10:00")
LEASE = timedelta(minutes=1)
SET_DATE = "a date written by $set comes back as a string without its time zone"
NULL_COUNT = "count_documents({field: None}) misses documents whose field is null"
MIN_DATE = "a date written by $min comes back as a string without its time zone"
OR_BESIDE = "a find() with a top-level $or beside other conditions ignores those conditions"
OR_PLAN = "nx-27017 plans a collection scan for any $or"
ADD_TO_SET = "$addToSet on a field an existing document lacks leaves the document unchanged"


async def opened(store: Store, contact: str = CONTACT, *, minutes: int = 0, **kwargs: object) -> Dialog:
    new = new_dialog(message(T0 + timedelta(minutes=minutes), contact=contact), **kwargs)  # type: ignore[arg-type]
    return (await store.add_message(new)).dialog


# taking a lead ------------------------------------------------------------------------------------


async def test_of_many_pressing_take_at_once_exactly_one_becomes_the_taker(make_store: MakeStore) -> None:
    one, two = await make_store(), await make_store()
    dialog = await opened(one)

    results = await asyncio.gather(
        *((one, two)[i % 2].take_dialog(dialog.id, 500 + i, f"user {i}", T0 + timedelta(minutes=1)) for i in range(10))
    )

    takers = {(d.taken_by, d.taken_by_name) for d in results if d is not None}
    assert len(takers) == 1 and len(results) == 10  # every caller reads the same winner
    ((winner, name),) = takers
    assert winner is not None and name == f"user {winner - 500}"
    stored = await two.get_dialog(dialog.id)
    assert stored is not None and (stored.taken_by, stored.taken_by_name) == (winner, name)


@pytest.mark.emulator_xfail(SET_DATE)
async def test_a_taken_lead_keeps_its_first_taker_and_time(store: Store) -> None:
    dialog = await opened(store)

    first = await store.take_dialog(dialog.id, 501, "Мария", T0 + timedelta(minutes=2))
    second = await store.take_dialog(dialog.id, 502, "Олег", T0 + timedelta(minutes=3))

    expected = (501, "Мария", T0 + timedelta(minutes=2))
    assert first is not None and (first.taken_by, first.taken_by_name, first.taken_at) == expected
    assert second is not None and (second.taken_by, second.taken_by_name, second.taken_at) == expected
    stored = await store.get_dialog(dialog.id)
    assert stored is not None and (stored.taken_by, stored.taken_by_name, stored.taken_at) == expected
    assert stored.model_copy(update={"taken_by": None, "taken_by_name": None, "taken_at": None}) == dialog


async def test_an_owner_reassigns_a_taken_lead_with_replace(store: Store) -> None:
    dialog = await opened(store)
    await store.take_dialog(dialog.id, 501, "Мария", T0)

    moved = await store.take_dialog(dialog.id, 502, "Олег", T0 + timedelta(minutes=5), replace=True)

    assert moved is not None and (moved.taken_by, moved.taken_by_name) == (502, "Олег")
    stored = await store.get_dialog(dialog.id)
    assert stored is not None and (stored.taken_by, stored.taken_by_name) == (502, "Олег")


async def test_taking_or_answering_a_missing_dialog_gives_none(store: Store) -> None:
    assert await store.take_dialog("no-such-dialog", 501, "Мария", T0) is None
    assert await store.take_dialog("no-such-dialog", 501, "Мария", T0, replace=True) is None
    assert await store.record_reply("no-such-dialog", T0) is None


# the business's replies ----------------------------------------------------------------------------


async def test_the_first_reply_answers_the_dialog_and_later_ones_change_nothing(store: Store) -> None:
    dialog = await opened(store)

    first = await store.record_reply(dialog.id, T0 + timedelta(minutes=4), "Мария")
    later = await store.record_reply(dialog.id, T0 + timedelta(minutes=9), "Олег")

    assert first is not None and first.answered_at is not None and first.answered_by == "Мария"
    assert later is not None and later.answered_by == "Мария"
    stored = await store.get_dialog(dialog.id)
    assert stored is not None and stored.answered_by == "Мария" and stored.taken_by is None


@pytest.mark.emulator_xfail(SET_DATE)
async def test_the_earliest_reply_wins_whatever_order_reports_come_in(make_store: MakeStore) -> None:
    one, two = await make_store(), await make_store()
    dialog = await opened(one)
    await one.record_reply(dialog.id, T0 + timedelta(minutes=9), "Олег")

    replies = [(T0 + timedelta(minutes=m), f"m{m}") for m in (7, 3, 8, 5, 3, 6)]
    await asyncio.gather(*((one, two)[i % 2].record_reply(dialog.id, t, by) for i, (t, by) in enumerate(replies)))
    late = await two.record_reply(dialog.id, T0 + timedelta(minutes=4), None)

    assert late is not None and (late.answered_at, late.answered_by) == (T0 + timedelta(minutes=3), "m3")
    stored = await one.get_dialog(dialog.id)
    assert stored is not None and (stored.answered_at, stored.answered_by) == (T0 + timedelta(minutes=3), "m3")


async def test_each_source_reporting_replies_is_listed_once(make_store: MakeStore) -> None:
    one, two = await make_store(), await make_store()
    assert await one.reply_sources() == []

    await one.reply_seen("greenapi", "+79991234567", T0)
    await one.reply_seen("greenapi", "+79991234567", T0 + timedelta(minutes=20))  # later: no write
    await two.reply_seen("meta", "+79991234567", T0 + timedelta(hours=1))
    await two.reply_seen("meta", "+79990000000", T0 + timedelta(hours=2))

    listed = sorted((s.provider, s.business_number) for s in await two.reply_sources())
    assert listed == [("greenapi", "+79991234567"), ("meta", "+79990000000"), ("meta", "+79991234567")]


@pytest.mark.emulator_xfail(MIN_DATE)
async def test_a_source_reporting_replies_keeps_its_earliest_report(make_store: MakeStore) -> None:
    one, two = await make_store(), await make_store()

    await one.reply_seen("greenapi", "+79991234567", T0 + timedelta(minutes=10))
    await one.reply_seen("greenapi", "+79991234567", T0 + timedelta(minutes=20))  # later: changes nothing
    await two.reply_seen("greenapi", "+79991234567", T0 + timedelta(minutes=5))  # earlier, by another copy
    await one.reply_seen("greenapi", "+79991234567", T0 + timedelta(minutes=7))  # earlier than one saw
    await two.reply_seen("meta", "+79991234567", T0 + timedelta(hours=1))

    expected = [
        ReplySource(provider="greenapi", business_number="+79991234567", since=T0 + timedelta(minutes=5)),
        ReplySource(provider="meta", business_number="+79991234567", since=T0 + timedelta(hours=1)),
    ]
    assert sorted(await one.reply_sources(), key=lambda s: s.provider) == expected
    assert sorted(await two.reply_sources(), key=lambda s: s.provider) == expected


# messages the bot sent in team chats -------------------------------------------------------------


async def test_a_dialogs_alert_copies_are_listed_oldest_first(store: Store) -> None:
    dialog = await opened(store)
    other = await opened(store, "+79160000002")

    await store.alert_message_sent(dialog.id, 222, 7)
    await store.alert_message_sent(other.id, 111, 4)
    await store.alert_message_sent(dialog.id, 111, 5)
    await store.alert_message_sent(dialog.id, 222, 7)  # a repeated record is one
    await store.alert_message_sent(dialog.id, -1001234567890, 3)

    assert await store.dialog_alert_messages(dialog.id) == [(222, 7), (111, 5), (-1001234567890, 3)]
    assert await store.dialog_alert_messages(other.id) == [(111, 4)]
    assert await store.dialog_alert_messages("no-such-dialog") == []


async def test_relayed_messages_and_alerts_lead_back_to_their_dialog_until_forgotten(store: Store) -> None:
    group = -1001234567890
    relayed = await opened(store)
    alerted = await opened(store, "+79160000002")
    await store.relay_message_sent(relayed.id, group, 11)
    await store.relay_message_sent(relayed.id, group, 12)
    await store.relay_message_sent(relayed.id, group, 11)  # recorded twice: one record
    await store.alert_message_sent(alerted.id, group, 10)
    await store.alert_message_sent(alerted.id, 111, 11)  # a relayed message's id, in an owner's private chat

    found = [await store.dialog_by_bot_message(group, m) for m in (10, 11, 12, 13)]
    assert found == [alerted.id, relayed.id, relayed.id, None]
    assert await store.dialog_by_bot_message(111, 11) == alerted.id
    assert await store.dialog_by_bot_message(111, 12) is None  # a relayed message's id in another chat
    assert await store.dialog_alert_messages(relayed.id) == []  # relays are no alerts
    assert await store.relay_messages(CONTACT) == [(group, 11), (group, 12)]  # /forget deletes them from the chat
    assert await store.relay_messages("+79160000002") == []  # an alert is no relayed message

    assert await store.forget_contact(CONTACT) == 1

    assert await store.relay_messages(CONTACT) == []
    assert [await store.dialog_by_bot_message(group, m) for m in (10, 11, 12)] == [alerted.id, None, None]
    assert await store.forget_contact("+79160000002") == 1
    assert await store.dialog_by_bot_message(group, 10) is None
    assert await store.dialog_by_bot_message(111, 11) is None


@pytest.mark.emulator_xfail(ADD_TO_SET)
async def test_a_dialogs_alerts_and_relays_lead_back_to_it_and_only_alerts_are_its_copies(store: Store) -> None:
    group = -1001234567890
    dialog = await opened(store)
    await store.alert_message_sent(dialog.id, group, 10)  # the alert first, then the customer's messages
    await store.relay_message_sent(dialog.id, group, 11)
    await store.alert_message_sent(dialog.id, 111, 12)
    await store.relay_message_sent(dialog.id, 111, 13)

    found = [await store.dialog_by_bot_message(chat, m) for chat, m in ((group, 10), (group, 11), (111, 12), (111, 13))]
    assert found == [dialog.id] * 4
    assert await store.dialog_alert_messages(dialog.id) == [(group, 10), (111, 12)]
    assert await store.forget_contact(CONTACT) == 1
    assert await store.dialog_by_bot_message(group, 11) is None


@pytest.mark.emulator_xfail(ADD_TO_SET)
async def test_alerts_recorded_before_the_upgrade_are_still_a_dialogs_copies(
    adapter: str, make_store: MakeStore, tmp_path: Path
) -> None:
    if adapter == "sqlite":  # a file from before: alert_messages has no seq
        with closing(sqlite3.connect(tmp_path / "chattrack.db")) as old, old:  # the file make_store opens
            old.execute(
                "CREATE TABLE alert_messages (dialog_id TEXT NOT NULL, chat_id INTEGER NOT NULL, "
                "message_id INTEGER NOT NULL, PRIMARY KEY (dialog_id, chat_id, message_id)) WITHOUT ROWID"
            )
            old.execute("INSERT INTO alert_messages VALUES ('D1', 333, 5), ('D1', 111, 9)")
        store = await make_store()
    else:
        store = await make_store()
        assert isinstance(store, MongoStore)
        await store.db.alert_messages.insert_one({"_id": "D1", "messages": [[333, 5], [111, 9]]})

    await store.alert_message_sent("D1", 222, 1)
    await store.alert_message_sent("D1", 111, 9)  # recorded before: still one

    copies = await store.dialog_alert_messages("D1")
    assert sorted(copies[:2]) == [(111, 9), (333, 5)] and copies[2:] == [(222, 1)]  # the old ones first
    assert await store.dialog_by_bot_message(222, 1) == "D1"


@pytest.mark.emulator_xfail(OR_PLAN)
async def test_a_reply_in_a_team_chat_finds_its_dialog_through_indexes(adapter: str, store: Store) -> None:
    for n in range(4):  # a planner of an empty table or collection plans nothing
        dialog = await opened(store, f"+7916000000{n}")
        await store.alert_message_sent(dialog.id, -1001234567890, 10 + n)
        await store.relay_message_sent(dialog.id, -1001234567890, 20 + n)

    if isinstance(store, SQLiteStore):
        plan = await store.read(lambda db: db.execute("EXPLAIN QUERY PLAN " + BOT_MESSAGE_SQL, (1, 2, 1, 2)).fetchall())
        steps = sorted(row[3] for row in plan if row[3].startswith(("SEARCH", "SCAN")))
        assert steps == [
            "SEARCH alert_messages USING COVERING INDEX alert_messages_message (chat_id=? AND message_id=?)",
            "SEARCH relay_messages USING PRIMARY KEY (chat_id=? AND message_id=?)",
        ]
    else:
        assert isinstance(store, MongoStore)
        steps = await find_plan(store.db.alert_messages, bot_message(-1001234567890, 21))
        assert sorted(steps, key=repr) == [
            ("IXSCAN", ("relayed.chat", "relayed.message")),
            ("IXSCAN", ("sent.chat", "sent.message")),
        ]


# the team chat and mutes ---------------------------------------------------------------------------


async def test_the_team_chat_is_set_replaced_and_cleared(make_store: MakeStore) -> None:
    one, two = await make_store(), await make_store()
    assert await one.team_chat() is None
    group = TeamChat(chat_id=-1001234567890, thread_id=42, title="Продажи", set_by=111, set_at=T0)
    plain = TeamChat(chat_id=-1009876543210, title="Магазин", set_by=222, set_at=T0 + timedelta(days=1))

    await one.set_team_chat(group)
    seen = await two.team_chat()
    await two.set_team_chat(plain)
    replaced = await one.team_chat()
    await one.set_team_chat(None)

    assert (seen, replaced) == (group, plain)
    assert await two.team_chat() is None
    await one.set_team_chat(None)  # clearing again changes nothing
    assert await one.team_chat() is None


async def test_alerts_are_muted_and_unmuted_per_person_and_a_removed_member_forgets_theirs(store: Store) -> None:
    assert await store.muted_users() == set()
    await store.create_invite(Invite(token="t", created_by=111, created_at=T0, expires_at=T0 + timedelta(days=7)))
    await store.redeem_invite("t", 501, "Мария", None, T0)

    await store.set_alerts_muted(501, True)
    await store.set_alerts_muted(111, True)
    await store.set_alerts_muted(111, True)  # muting twice is once
    await store.set_alerts_muted(502, True)
    await store.set_alerts_muted(502, False)
    await store.set_alerts_muted(503, False)  # unmuting one who never muted changes nothing
    assert await store.muted_users() == {111, 501}

    assert await store.remove_staff(501) is True
    assert await store.muted_users() == {111}


# the team reports' rows ----------------------------------------------------------------------------


async def test_response_rows_take_the_filters_of_count_dialogs(store: Store) -> None:
    def contact(i: int) -> str:
        return f"+7916000{i:04d}"

    plan: list[tuple[int, dict[str, object]]] = [
        (-1, {}),  # before the period
        (0, {"channel": Channel.PAID_SEARCH, "source": "google"}),  # the period's first instant
        (10, {"channel": Channel.ORGANIC_SEARCH, "tags": ["lead"]}),
        (20, {"channel": Channel.PAID_SEARCH, "tags": ["spam"]}),
        (30, {"channel": Channel.PAID_SEARCH, "status": AttributionStatus.PROBABLE}),
        (40, {"number": "+79997654321"}),
        (60, {}),  # the period's end: left out
    ]
    ids = []
    for i, (minutes, fields) in enumerate(plan):
        number = str(fields.pop("number", "+79991234567"))
        msg = message(T0 + timedelta(minutes=minutes), contact=contact(i), number=number)
        ids.append((await store.add_message(new_dialog(msg, **fields))).dialog.id)  # type: ignore[arg-type]
    await store.take_dialog(ids[2], 501, "Мария", T0 + timedelta(minutes=11))
    await store.record_reply(ids[2], T0 + timedelta(minutes=12), "Мария")
    hour = CountQuery(start=T0, end=T0 + timedelta(hours=1))

    def ask(**update: object) -> CountQuery:
        return hour.model_copy(update=update)

    every = await store.response_rows(hour)
    assert [r.dialog_id for r in every] == ids[1:6]  # oldest first, [start, end)
    assert [r.channel for r in every] == ["paid_search", "organic_search", "paid_search", "paid_search", "unattributed"]
    taken = every[1]
    assert (taken.provider, taken.business_number, taken.contact_id, taken.contact_name) == (
        "twilio",
        "+79991234567",
        contact(2),
        "Анна",
    )
    assert (taken.taken_by, taken.taken_by_name, taken.answered_by, taken.tags) == (501, "Мария", "Мария", ["lead"])
    assert (
        taken.taken_at is not None and taken.answered_at is not None and taken.started_at == T0 + timedelta(minutes=10)
    )
    assert (every[0].taken_by, every[0].answered_at, every[0].tags) == (None, None, [])

    async def found(query: CountQuery, limit: int = 200_000) -> list[str]:
        return [r.dialog_id for r in await store.response_rows(query, limit)]

    assert await found(ask(without_tags=["spam"])) == [ids[1], ids[2], ids[4], ids[5]]
    assert await found(ask(filters={"tag": "lead"})) == [ids[2]]
    assert await found(ask(filters={"channel": "paid_search"})) == [ids[1], ids[3], ids[4]]
    assert await found(ask(filters={"channel": "paid_search"}, without_tags=["spam"])) == [ids[1], ids[4]]
    assert await found(ask(filters={"business_number": "+79997654321"})) == [ids[5]]
    assert await found(ask(filters={"source": "google", "channel": "paid_search"})) == [ids[1]]
    # Probable matches left out: their attribution is hidden, as in count_dialogs.
    assert await found(ask(filters={"channel": "paid_search"}, include_probable=False)) == [ids[1], ids[3]]
    assert [r.channel for r in await store.response_rows(ask(include_probable=False))][3] == "unattributed"
    assert await found(ask(start=T0 - timedelta(minutes=1), end=T0 + timedelta(minutes=10))) == ids[:2]
    assert await found(hour, limit=2) == ids[1:3]
    assert await found(ask(start=T0 + timedelta(days=1), end=T0 + timedelta(days=2))) == []
    with pytest.raises(ValueError):
        await store.response_rows(ask(filters={"contact_id": CONTACT}))


@pytest.mark.emulator_xfail(OR_BESIDE)
async def test_response_rows_without_probable_matches_count_them_unattributed(store: Store) -> None:
    plan = [
        (-1, AttributionStatus.PROBABLE, Channel.PAID_SEARCH),  # before the period
        (0, AttributionStatus.PROBABLE, Channel.PAID_SEARCH),
        (10, AttributionStatus.EXACT, Channel.PAID_SEARCH),
        (20, AttributionStatus.NONE, Channel.UNATTRIBUTED),
        (60, AttributionStatus.NONE, Channel.UNATTRIBUTED),  # the period's end
    ]
    ids = []
    for i, (minutes, status, channel) in enumerate(plan):
        msg = message(T0 + timedelta(minutes=minutes), contact=f"+7916000{i:04d}")
        ids.append((await store.add_message(new_dialog(msg, status=status, channel=channel))).dialog.id)
    query = CountQuery(
        start=T0, end=T0 + timedelta(hours=1), filters={"channel": "unattributed"}, include_probable=False
    )

    rows = await store.response_rows(query)

    assert [(r.dialog_id, r.channel) for r in rows] == [(ids[1], "unattributed"), (ids[3], "unattributed")]


async def test_response_rows_read_the_period_through_an_index(adapter: str, store: Store) -> None:
    for n in range(4):
        await opened(store, f"+7916000000{n}", minutes=n, tags=["vip"] if n % 2 else [])
    queries = [
        CountQuery(start=T0, end=T0 + timedelta(days=31), without_tags=["spam"]),
        CountQuery(start=T0, end=T0 + timedelta(days=31), filters={"tag": "vip"}),
        CountQuery(start=T0, end=T0 + timedelta(days=31), filters={"channel": "direct"}, include_probable=False),
    ]
    for query in queries:
        if isinstance(store, SQLiteStore):
            sql, args = response_sql(query)
            explain = f"EXPLAIN QUERY PLAN {sql}"
            plan = await store.read(
                functools.partial(lambda db, q, a: db.execute(q, a).fetchall(), q=explain, a=(*args, 10))
            )
            dialogs = [row[3] for row in plan if " d " in f" {row[3]} "]
            assert dialogs and all(step.startswith("SEARCH d USING") for step in dialogs), dialogs
            assert not any("TEMP B-TREE" in row[3] for row in plan)  # in started_at order from the index
        else:
            assert isinstance(store, MongoStore)
            match = count_pipeline(query)[0]["$match"]
            steps = await find_plan(store.db.dialogs, match)
            assert steps and all(stage == "IXSCAN" for stage, _ in steps), (steps, match)


TEAM_COLUMNS = ("provider", "contact_name", "taken_by", "taken_by_name", "taken_at", "answered_at", "answered_by")


async def test_a_file_made_before_the_team_columns_gives_the_same_rows_before_and_after_they_are_filled(
    tmp_path: Path,
) -> None:
    path = tmp_path / "old.db"
    store = SQLiteStore(path)
    await store.open()
    ids = []
    for n in range(6):
        msg = message(T0 + timedelta(minutes=n), contact=f"+7916000000{n}", provider=("twilio", "greenapi")[n % 2])
        ids.append((await store.add_message(new_dialog(msg, channel=Channel.PAID_SEARCH))).dialog.id)
    await store.take_dialog(ids[1], 501, "Мария", T0 + timedelta(minutes=2, microseconds=123456))
    await store.record_reply(ids[1], T0 + timedelta(minutes=3), "Мария")
    await store.record_reply(ids[2], T0 + timedelta(minutes=9))
    await store.set_tags(ids[3], ["sale", "lead"])
    query = CountQuery(start=T0, end=T0 + timedelta(hours=1))
    expected = await store.response_rows(query)
    await store.close()
    assert [(r.taken_by, r.answered_by, r.tags) for r in expected[1:4]] == [
        (501, "Мария", []),
        (None, None, []),
        (None, None, ["lead", "sale"]),
    ]

    with closing(sqlite3.connect(path)) as db, db:  # as an older version left it: the document alone
        db.execute("DROP INDEX dialogs_unfilled")
        db.execute("DROP INDEX dialogs_team")
        for name in TEAM_COLUMNS:
            db.execute(f"ALTER TABLE dialogs DROP COLUMN {name}")

    reopened = SQLiteStore(path)
    await reopened.open()
    try:
        assert await reopened.response_rows(query) == expected  # read from the documents, or filled already
        await reopened.fill_team_columns()  # beside the fill open() started: both end once none is left
        unfilled = await reopened.read(lambda db: db.execute("SELECT count(*) FROM dialogs WHERE provider IS NULL"))
        assert unfilled.fetchone()[0] == 0
        assert await reopened.response_rows(query) == expected

        # A dialog not filled yet is taken: its columns follow its document at once.
        await reopened.write(lambda db: db.execute("UPDATE dialogs SET provider = NULL, taken_by = NULL"))
        assert await reopened.response_rows(query) == expected
        await reopened.take_dialog(ids[4], 502, "Олег", T0 + timedelta(minutes=5))
        taken = await reopened.read(
            lambda db: db.execute("SELECT provider, taken_by FROM dialogs WHERE id = ?", (ids[4],)).fetchone()
        )
        assert tuple(taken) == ("twilio", 502)
        rows = await reopened.response_rows(query)
        assert (rows[4].taken_by, rows[4].taken_by_name, rows[4].taken_at) == (502, "Олег", T0 + timedelta(minutes=5))
        assert rows[:4] + rows[5:] == expected[:4] + expected[5:]
    finally:
        await reopened.close()


# what ingest adds ----------------------------------------------------------------------------------


async def test_the_first_message_with_text_becomes_the_first_message_of_a_dialog_opened_without(
    store: Store,
) -> None:
    new = new_dialog(message(T0, text="/start"))
    new.draft.first_message = ""  # a bot deep link's /start is not what the customer said
    await store.add_message(new)

    photo = await store.add_message(new_dialog(message(T0 + timedelta(minutes=1), text="")))
    words = await store.add_message(new_dialog(message(T0 + timedelta(minutes=2), text="Хочу букет")))
    more = await store.add_message(new_dialog(message(T0 + timedelta(minutes=3), text="На завтра")))

    assert photo.dialog.first_message == ""
    assert (words.dialog.id, words.dialog.first_message) == (new.draft.id, "Хочу букет")
    assert more.dialog.first_message == "Хочу букет"
    stored = await store.get_dialog(new.draft.id)
    assert stored is not None and (stored.first_message, stored.message_count) == ("Хочу букет", 4)


async def test_a_dialog_with_words_keeps_its_first_message(store: Store) -> None:
    await store.add_message(new_dialog(message(T0, text="Здравствуйте")))

    joined = await store.add_message(new_dialog(message(T0 + timedelta(minutes=1), text="Хочу букет")))

    assert joined.dialog.first_message == "Здравствуйте"


async def test_a_new_lead_queues_its_take_reminder_for_the_team(store: Store) -> None:
    new = new_dialog(message(T0), chats=[0])
    new.reminder_after = timedelta(minutes=15)
    await store.add_message(new)
    await store.add_message(new_dialog(message(T0 + timedelta(minutes=1))))  # joins: no second reminder

    now = await store.claim_alerts(T0 + timedelta(minutes=14), LEASE)
    await store.alert_sent(now[0].id, T0 + timedelta(minutes=14))
    due = await store.claim_alerts(T0 + timedelta(minutes=15), LEASE)

    assert [(a.kind, a.chat_id, a.dialog_id) for a in now] == [("lead_alert", 0, new.draft.id)]
    assert [(a.kind, a.chat_id, a.dialog_id, a.next_attempt_at) for a in due] == [
        (TAKE_REMINDER, 0, new.draft.id, T0 + timedelta(minutes=15))
    ]


async def test_no_reminder_without_an_alert_or_a_reminder_time(store: Store) -> None:
    unreminded = new_dialog(message(T0, contact="+79160000001"), chats=[0])  # reminder_after None: off
    await store.add_message(unreminded)
    silent = new_dialog(message(T0, contact="+79160000002"), chats=[])  # no chat to alert
    silent.reminder_after = timedelta(minutes=15)
    await store.add_message(silent)
    flood = []  # a contact's fourth dialog within an hour: its alert is withheld, and so is its reminder
    for i in range(4):
        new = new_dialog(message(T0 + timedelta(minutes=i), contact="+79160000003"), code=f"CODE{i}", chats=[0])
        new.reminder_after = timedelta(minutes=15)
        flood.append((await store.add_message(new)).dialog)
    assert [d.alert_withheld for d in flood] == [False, False, False, True]

    items = await store.claim_alerts(FAR_FUTURE, LEASE, limit=100)

    reminders = sorted(a.dialog_id for a in items if a.kind == TAKE_REMINDER)
    assert reminders == sorted(d.id for d in flood[:3])
    assert sorted(a.dialog_id for a in items if a.kind != TAKE_REMINDER) == sorted(
        [unreminded.draft.id, *(d.id for d in flood[:3])]
    )


@pytest.mark.emulator_xfail(NULL_COUNT)
async def test_a_reminder_not_due_yet_is_no_pending_alert(store: Store) -> None:
    now = utc_now()
    new = new_dialog(message(now), chats=[0])
    new.reminder_after = timedelta(minutes=15)
    await store.add_message(new)
    (alert,) = await store.claim_alerts(now, LEASE)

    before = await store.pending_alerts()
    await store.alert_sent(alert.id, now)

    assert (before, await store.pending_alerts()) == (1, 0)
