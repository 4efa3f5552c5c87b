"""Visits, their codes and clicks, and retention — the same on every store."""

from __future__ import annotations

import asyncio
import sqlite3
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.store_contract import NUMBER, MakeStore, classified_visit, page_view
from tracking.limits import NewVisitBudget
from tracking.models import Click, PageView, opened_visit
from tracking.store.base import CLICKS_KEPT_PER_VISIT, CodeTaken, Store, VisitBudgetSpent
from tracking.store.mongo import MongoStore, visit_document
from tracking.store.sqlite import SQLiteStore, ts

# Recent enough that MongoDB's TTL index (90 days) keeps these visits; whole seconds (BSON keeps ms).
T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(days=20)


async def test_first_page_view_opens_the_visit_with_everything_it_tells(store: Store) -> None:
    view = PageView(
        code="ABCD1234",
        visitor_id="visitor-1",
        url="https://shop.example/?utm_source=yandex&utm_medium=cpc",
        referrer="https://yandex.ru/",
        screen="390x844",
        language="ru-RU",
        timezone="Europe/Moscow",
        user_agent="Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X)",
        ip="203.0.113.7",
        ga_client_id="GA1.1.123.456",
        ym_client_id="1700000000123",
        region="Moscow, RU",
        at=T0,
    )

    assert await store.record_page_view(view) == "ABCD1234"

    visit = await store.get_visit("ABCD1234")
    assert visit == opened_visit(view)
    assert visit.attribution.landing_page == view.url and visit.attribution.region == "Moscow, RU"
    assert await store.get_visit("NOPE0000") is None


async def test_later_page_views_merge_into_the_visit(store: Store) -> None:
    first = page_view("ABCD1234", "visitor-1", "https://shop.example/", T0)
    await store.record_page_view(first)
    second = page_view("ABCD1234", "visitor-1", "https://shop.example/prices", T0 + timedelta(minutes=3))

    assert await store.record_page_view(second) == "ABCD1234"

    merged = await store.get_visit("ABCD1234")
    assert merged is not None and merged.pages_seen == 2
    assert merged.current_page == "https://shop.example/prices"
    assert merged.first_seen == T0
    assert merged.attribution.landing_page == "https://shop.example/"  # the first view fixed attribution


@pytest.mark.emulator_xfail("$max with a date leaves the field unchanged")
async def test_page_views_move_last_seen_forward_only(store: Store) -> None:
    first = page_view("ABCD1234", "visitor-1", "https://shop.example/", T0)
    await store.record_page_view(first)
    later = page_view("ABCD1234", "visitor-1", "https://shop.example/b", T0 + timedelta(minutes=5))
    await store.record_page_view(later)
    late_arrival = page_view("ABCD1234", "visitor-1", "https://shop.example/a", T0 + timedelta(minutes=1))

    await store.record_page_view(late_arrival)

    visit = await store.get_visit("ABCD1234")
    assert visit is not None and visit.last_seen == T0 + timedelta(minutes=5)
    assert visit.pages_seen == 3


async def test_a_code_held_by_another_visitor_is_taken(store: Store) -> None:
    mine = page_view("ABCD1234", "visitor-1", "https://shop.example/", T0)
    await store.record_page_view(mine)
    theirs = page_view("ABCD1234", "visitor-2", "https://shop.example/other", T0 + timedelta(minutes=1))

    with pytest.raises(CodeTaken):
        await store.record_page_view(theirs)

    visit = await store.get_visit("ABCD1234")
    assert visit is not None and visit.visitor_id == "visitor-1" and visit.pages_seen == 1


async def test_the_store_keeps_working_after_a_taken_code(store: Store) -> None:
    mine = page_view("ABCD1234", "visitor-1", "https://shop.example/", T0)
    await store.record_page_view(mine)
    theirs = page_view("ABCD1234", "visitor-2", "https://shop.example/", T0)
    with pytest.raises(CodeTaken):
        await store.record_page_view(theirs)

    other = page_view("EFGH5678", "visitor-2", "https://shop.example/", T0)
    await store.record_page_view(other)

    assert await store.get_visit("EFGH5678") is not None


async def test_concurrent_first_views_of_one_visit_make_one_visit(store: Store) -> None:
    views = [page_view("ABCD1234", "visitor-1", f"https://shop.example/{i}", T0) for i in range(10)]

    await asyncio.gather(*(store.record_page_view(v) for v in views))

    visit = await store.get_visit("ABCD1234")
    assert visit is not None and visit.pages_seen == 10


async def test_a_burst_of_page_views_from_many_visitors(store: Store) -> None:
    """Many visitors at once, each with two pages, and one stranger holding a taken code: every visit is
    opened once and merged, the stranger alone is refused."""
    codes = [f"CODE{n:04d}" for n in range(60)]
    first = [page_view(code, f"visitor-{n}", "https://shop.example/", T0) for n, code in enumerate(codes)]
    second = [
        page_view(code, f"visitor-{n}", f"https://shop.example/p{n}", T0 + timedelta(minutes=1))
        for n, code in enumerate(codes)
    ]
    stranger = page_view(codes[7], "visitor-x", "https://shop.example/", T0 + timedelta(seconds=1))

    async def at_once(views: list[PageView]) -> list[str | BaseException]:
        return await asyncio.gather(*(store.record_page_view(v) for v in views), return_exceptions=True)

    landed = await at_once(first)
    # Everyone's second page, and the stranger's first view with a code already held.
    later = await at_once([*second[:30], stranger, *second[30:]])

    assert landed == codes and later[:30] + later[31:] == codes
    assert isinstance(later[30], CodeTaken)
    for n, code in enumerate(codes):
        visit = await store.get_visit(code)
        assert visit is not None and visit.visitor_id == f"visitor-{n}"
        assert (visit.pages_seen, visit.current_page) == (2, f"https://shop.example/p{n}")


async def test_a_click_sets_the_page_of_contact(store: Store) -> None:
    view = page_view("ABCD1234", "visitor-1", "https://shop.example/?utm_source=google", T0)
    await store.record_page_view(view)

    clicked = Click(code="ABCD1234", page="https://shop.example/contacts", target=NUMBER, at=T0)
    assert await store.record_click(clicked, "visitor-1") is True

    visit = await store.get_visit("ABCD1234")
    assert visit is not None and visit.attribution.contact_page == "https://shop.example/contacts"
    assert visit.attribution.landing_page == view.url  # the rest of what the first view told is kept


@pytest.mark.emulator_xfail("$max with a date leaves the field unchanged")
async def test_a_click_counts_as_activity_of_the_visit(store: Store) -> None:
    view = page_view("ABCD1234", "visitor-1", "https://shop.example/", T0)
    await store.record_page_view(view)

    await store.record_click(
        Click(code="ABCD1234", page="https://shop.example/", target=NUMBER, at=T0 + timedelta(1)), "visitor-1"
    )

    visit = await store.get_visit("ABCD1234")
    assert visit is not None and visit.last_seen == T0 + timedelta(days=1)


async def test_a_click_from_another_browser_changes_nothing_and_is_kept_nowhere(store: Store) -> None:
    """Whoever learns a visit's code (it is in the chat message) cannot move its page of contact."""
    await store.record_page_view(page_view("ABCD1234", "visitor-1", "https://shop.example/", T0))
    forged = Click(code="ABCD1234", page="https://evil.example/", target=NUMBER, at=T0 + timedelta(minutes=1))

    assert await store.record_click(forged, "visitor-2") is False

    visit = await store.get_visit("ABCD1234")
    assert visit is not None and visit.attribution.contact_page is None and visit.last_seen == T0
    assert await store.recent_clicks(NUMBER, T0 - timedelta(days=1), T0 + timedelta(days=1)) == []
    own = Click(code="ABCD1234", page="https://shop.example/price", target=NUMBER, at=T0 + timedelta(minutes=2))
    assert await store.record_click(own, "visitor-1") is True
    assert await store.recent_clicks(NUMBER, T0, T0 + timedelta(days=1)) == [own]


async def test_a_click_on_a_code_without_a_visit_is_kept_nowhere(store: Store) -> None:
    click = Click(code="NOPE0000", page="https://shop.example/", target=NUMBER, at=T0)

    assert await store.record_click(click, "visitor-1") is False

    assert await store.get_visit("NOPE0000") is None
    assert await store.recent_clicks(NUMBER, T0 - timedelta(days=1), T0 + timedelta(days=1)) == []


async def test_a_visit_keeps_a_bounded_number_of_clicks(store: Store) -> None:
    await store.record_page_view(page_view("ABCD1234", "visitor-1", "https://shop.example/", T0))
    clicks = [
        Click(code="ABCD1234", page=f"https://shop.example/{n}", target=NUMBER, at=T0 + timedelta(seconds=n))
        for n in range(CLICKS_KEPT_PER_VISIT + 5)
    ]

    for click in clicks:
        assert await store.record_click(click, "visitor-1") is True

    kept = await store.recent_clicks(NUMBER, T0, T0 + timedelta(days=1))
    assert kept == clicks[:CLICKS_KEPT_PER_VISIT]
    visit = await store.get_visit("ABCD1234")
    assert visit is not None and visit.attribution.contact_page == clicks[-1].page  # the last click still counts


async def test_new_visits_stop_at_the_budget_while_open_visits_take_more_views(store: Store) -> None:
    budget = NewVisitBudget(3, clock=lambda: 60.0 * 1000 + 1)
    codes = [f"CODE{n:04d}" for n in range(5)]
    first = [page_view(code, f"visitor-{n}", "https://shop.example/", T0) for n, code in enumerate(codes)]

    outcomes = await asyncio.gather(*(store.record_page_view(v, budget) for v in first), return_exceptions=True)

    # Which three of the concurrent views get the budget is not the contract (MongoDB's answers arrive in
    # any order); that three open, the other two are refused, and only the opened ones are stored, is.
    opened = [n for n, outcome in enumerate(outcomes) if outcome == codes[n]]
    refused = [n for n, outcome in enumerate(outcomes) if isinstance(outcome, VisitBudgetSpent)]
    assert len(opened) == 3 and len(refused) == 2 and sorted(opened + refused) == list(range(5))
    assert [n for n, code in enumerate(codes) if await store.get_visit(code) is not None] == opened
    n = opened[0]
    later = page_view(codes[n], f"visitor-{n}", "https://shop.example/price", T0 + timedelta(minutes=1))
    assert await store.record_page_view(later, budget) == codes[n]  # not a new visit: always merged
    visit = await store.get_visit(codes[n])
    assert visit is not None and visit.pages_seen == 2
    assert budget.refused == 2


async def test_a_visit_spends_one_unit_of_the_budget_however_many_views_it_takes(store: Store) -> None:
    """Concurrent first views of one visit open it once and later views open nothing: the budget's other
    units are left for new visits (MongoDB reserves a unit for every upsert and gives back a merged one's)."""
    budget = NewVisitBudget(11, clock=lambda: 60.0 * 1000 + 1)  # a unit for each view in flight
    views = [page_view("ABCD1234", "visitor-1", f"https://shop.example/{i}", T0) for i in range(10)]

    assert await asyncio.gather(*(store.record_page_view(v, budget) for v in views)) == ["ABCD1234"] * 10
    later = page_view("ABCD1234", "visitor-1", "https://shop.example/price", T0 + timedelta(minutes=1))
    assert await store.record_page_view(later, budget) == "ABCD1234"

    others = [page_view(f"CODE{n:04d}", f"visitor-{n}", "https://shop.example/", T0) for n in range(11)]
    assert [await store.record_page_view(v, budget) for v in others[:10]] == [v.code for v in others[:10]]
    with pytest.raises(VisitBudgetSpent):
        await store.record_page_view(others[10], budget)
    visit = await store.get_visit("ABCD1234")
    assert visit is not None and visit.pages_seen == 11 and budget.refused == 1


async def test_sqlite_a_click_right_behind_the_first_view_finds_its_visit(tmp_path: Path) -> None:
    """SQLite commits page views in batches: a click that arrives while its visit's first view still waits
    for the batch (the snippet does not wait for the view's answer) goes into the same batch, after it."""
    store = SQLiteStore(tmp_path / "batched.db")
    await store.open()
    try:
        view = page_view("ABCD1234", "visitor-1", "https://shop.example/", T0)
        click = Click(code="ABCD1234", page="https://shop.example/price", target=NUMBER, at=T0)

        commits = store.runner.commits
        code, kept = await asyncio.gather(store.record_page_view(view), store.record_click(click, "visitor-1"))

        assert (code, kept) == ("ABCD1234", True)
        assert store.runner.commits == commits + 1  # one batch: the view, then the click
        visit = await store.get_visit("ABCD1234")
        assert visit is not None and visit.attribution.contact_page == click.page
    finally:
        await store.close()


async def test_recent_clicks_are_those_on_the_target_in_the_window_oldest_first(store: Store) -> None:
    def click(code: str, minutes: int, target: str = NUMBER) -> Click:
        return Click(code=code, page=f"https://shop.example/{code}", target=target, at=T0 + timedelta(minutes=minutes))

    clicks = [click("LATE0000", 11), click("EDGE0001", 10), click("MID00000", 5), click("EDGE0000", 0)]
    clicks += [click("EARLY000", -1), click("OTHER000", 5, target="+70000000000")]
    for c in clicks:
        await store.record_page_view(page_view(c.code, f"visitor-{c.code}", "https://shop.example/", c.at))
        await store.record_click(c, f"visitor-{c.code}")

    found = await store.recent_clicks(NUMBER, T0, T0 + timedelta(minutes=10))

    assert [c.code for c in found] == ["EDGE0000", "MID00000", "EDGE0001"]
    assert found[1] == click("MID00000", 5)


async def test_a_click_keeps_the_text_its_link_prefilled(store: Store) -> None:
    """The fallback matcher compares a code-less message with it (issue 21); a link without text has none."""
    await store.record_page_view(page_view("ABCD1234", "visitor-1", "https://shop.example/", T0))
    texted = Click(
        code="ABCD1234", page="https://shop.example/kids", target=NUMBER, at=T0, prefill="Сколько стоит съёмка? 📸"
    )
    bare = Click(code="ABCD1234", page="https://shop.example/", target=NUMBER, at=T0 + timedelta(seconds=5))

    assert await store.record_click(texted, "visitor-1") is True
    assert await store.record_click(bare, "visitor-1") is True

    found = await store.recent_clicks(NUMBER, T0, T0 + timedelta(minutes=1))
    assert [c.prefill for c in found] == ["Сколько стоит съёмка? 📸", None]
    assert found == [texted, bare]


async def test_clicks_stored_before_the_prefill_column_are_read_as_without_text(
    adapter: str, make_store: MakeStore, tmp_path: Path
) -> None:
    if adapter == "sqlite":  # a file from before issue 21: the clicks table has no prefill column
        with closing(sqlite3.connect(tmp_path / "chattrack.db")) as old, old:  # the file make_store opens
            old.execute("CREATE TABLE clicks (id INTEGER PRIMARY KEY, code TEXT NOT NULL, target TEXT NOT NULL,"
                        " page TEXT NOT NULL, at TEXT NOT NULL)")  # fmt: skip
            old.execute(
                "INSERT INTO clicks (code, target, page, at) VALUES (?, ?, ?, ?)",
                ("OLD00000", NUMBER, "https://shop.example/", ts(T0)),
            )
        store = await make_store()
    else:  # a document from before: no prefill field
        store = await make_store()
        assert isinstance(store, MongoStore)
        await store.db.clicks.insert_one(
            {"code": "OLD00000", "target": NUMBER, "page": "https://shop.example/", "at": T0}
        )
    await store.record_page_view(page_view("NEW00000", "visitor-1", "https://shop.example/", T0))
    new = Click(code="NEW00000", page="https://shop.example/", target=NUMBER, at=T0 + timedelta(1), prefill="Hi")
    assert await store.record_click(new, "visitor-1") is True
    again = await make_store()  # a second open of the upgraded file changes nothing

    found = await again.recent_clicks(NUMBER, T0, T0 + timedelta(days=2))

    before = Click(code="OLD00000", page="https://shop.example/", target=NUMBER, at=T0)
    assert found == [before, new]


async def test_retention_drops_visits_and_clicks_last_seen_before_the_cutoff(store: Store) -> None:
    for i, code in enumerate(["OLD00000", "OLD00001", "NEW00000"]):
        view = page_view(code, f"visitor-{i}", "https://shop.example/", T0 + timedelta(days=10 * (code == "NEW00000")))
        await store.record_page_view(view)
    await store.record_click(Click(code="OLD00000", page="https://shop.example/", target=NUMBER, at=T0), "visitor-0")
    await store.record_click(Click(code="NEW00000", page="/", target=NUMBER, at=T0 + timedelta(days=10)), "visitor-2")
    cutoff = T0 + timedelta(days=1)

    assert await store.delete_visits_before(cutoff) == 2

    assert await store.get_visit("OLD00000") is None and await store.get_visit("OLD00001") is None
    assert await store.get_visit("NEW00000") is not None
    clicks = await store.recent_clicks(NUMBER, T0 - timedelta(days=1), T0 + timedelta(days=30))
    assert [c.code for c in clicks] == ["NEW00000"]
    assert await store.delete_visits_before(cutoff) == 0


async def test_visits_stored_before_the_page_columns_keep_their_pages(
    adapter: str, make_store: MakeStore, tmp_path: Path
) -> None:
    first = page_view("ABCD1234", "visitor-1", "https://shop.example/", T0)
    old_visit = classified_visit(first).model_copy(
        update={"pages_seen": 4, "current_page": "https://shop.example/kids"}
    )
    if adapter == "sqlite":  # a file from before the columns: later views' changes lived in the document only
        with closing(sqlite3.connect(tmp_path / "chattrack.db")) as old, old:  # the file make_store opens
            old.execute("CREATE TABLE visits (code TEXT PRIMARY KEY, visitor_id TEXT NOT NULL,"
                        " last_seen TEXT NOT NULL, data TEXT NOT NULL)")  # fmt: skip
            old.execute(
                "INSERT INTO visits VALUES (?, ?, ?, ?)",
                ("ABCD1234", "visitor-1", ts(T0), old_visit.model_dump_json()),
            )
        store = await make_store()
    else:  # MongoDB keeps the whole visit in one document: nothing to migrate, the same must hold
        store = await make_store()
        assert isinstance(store, MongoStore)
        await store.db.visits.insert_one(visit_document(old_visit))
    assert await store.get_visit("ABCD1234") == old_visit

    later = page_view("ABCD1234", "visitor-1", "https://shop.example/prices", T0 + timedelta(minutes=3))
    await store.record_page_view(later)
    again = await make_store()  # a second open of the upgraded file changes nothing

    merged = await again.get_visit("ABCD1234")
    assert merged is not None
    assert (merged.pages_seen, merged.current_page) == (5, "https://shop.example/prices")

    await again.record_click(
        Click(code="ABCD1234", page="https://shop.example/prices", target=NUMBER, at=T0), "visitor-1"
    )
    clicked = await again.get_visit("ABCD1234")
    assert clicked is not None and clicked.attribution.contact_page == "https://shop.example/prices"
    assert clicked.attribution.channel is old_visit.attribution.channel  # classified then, kept as it was
