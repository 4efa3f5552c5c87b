"""Fallback matching on crafted timelines: one candidate, two candidates, outside the window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tracking.codes import new_code
from tracking.models import AttributionStatus, Click, InboundMessage, PageView
from tracking.service import Tracker
from tracking.settings import load_settings
from tracking.store.sqlite import SQLiteStore

NUMBER = "+79991234567"
T0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


@pytest.fixture
async def tracker(tmp_path: Path) -> Tracker:
    store = SQLiteStore(tmp_path / "f.db")
    await store.open()
    settings = load_settings(database_url=f"sqlite:///{tmp_path / 'f.db'}", fallback_window_minutes=10)
    return Tracker(store, settings)


async def visit_and_click(tracker: Tracker, visitor: str, at: datetime, campaign: str, target: str = NUMBER) -> str:
    code = new_code()
    url = f"https://site.example/price?utm_source=vk&utm_medium=cpc&utm_campaign={campaign}"
    await tracker.record_view(PageView(code=code, visitor_id=visitor, url=url, at=at))
    await tracker.record_click(Click(code=code, page=url, target=target, at=at + timedelta(seconds=5)), visitor)
    return code


def message(text: str, at: datetime, sender: str = "+79160000001", sid: str = "m1") -> InboundMessage:
    return InboundMessage(
        provider="test", message_id=sid, business_number=NUMBER, contact_id=sender, text=text, received_at=at
    )


async def test_one_click_in_the_window_is_a_probable_match(tracker: Tracker) -> None:
    code = await visit_and_click(tracker, "visitor-a1", T0, "spring")
    result = await tracker.ingest(message("Здравствуйте, сколько стоит?", T0 + timedelta(minutes=3)))
    assert result.dialog.status is AttributionStatus.PROBABLE
    assert result.dialog.code == code
    assert result.dialog.attribution.campaign == "spring"
    assert "10 min" in (result.dialog.status_reason or "")


async def test_two_candidates_stay_unattributed(tracker: Tracker) -> None:
    await visit_and_click(tracker, "visitor-a1", T0, "spring")
    await visit_and_click(tracker, "visitor-b2", T0 + timedelta(minutes=1), "autumn")
    result = await tracker.ingest(message("Добрый день", T0 + timedelta(minutes=3)))
    assert result.dialog.status is AttributionStatus.NONE
    assert result.dialog.attribution.campaign is None


async def test_a_click_outside_the_window_is_not_used(tracker: Tracker) -> None:
    await visit_and_click(tracker, "visitor-a1", T0, "spring")
    result = await tracker.ingest(message("Добрый день", T0 + timedelta(minutes=11)))
    assert result.dialog.status is AttributionStatus.NONE


async def test_a_click_to_another_number_is_not_used(tracker: Tracker) -> None:
    await visit_and_click(tracker, "visitor-a1", T0, "spring", target="+79990000000")
    result = await tracker.ingest(message("Добрый день", T0 + timedelta(minutes=2)))
    assert result.dialog.status is AttributionStatus.NONE


async def test_a_visit_already_attributed_exactly_is_not_a_candidate(tracker: Tracker) -> None:
    code = await visit_and_click(tracker, "visitor-a1", T0, "spring")
    exact = await tracker.ingest(message(f"Привет (код {code})", T0 + timedelta(minutes=1), sid="m0"))
    assert exact.dialog.status is AttributionStatus.EXACT
    other = await tracker.ingest(message("Привет", T0 + timedelta(minutes=2), sender="+79160000002", sid="m2"))
    assert other.dialog.status is AttributionStatus.NONE


async def test_later_messages_of_an_open_dialog_are_not_rematched(tracker: Tracker) -> None:
    first = await tracker.ingest(message("Привет", T0, sid="m0"))
    assert first.dialog.status is AttributionStatus.NONE
    await visit_and_click(tracker, "visitor-a1", T0 + timedelta(minutes=1), "spring")
    second = await tracker.ingest(message("Ещё вопрос", T0 + timedelta(minutes=2), sid="m1"))
    assert second.dialog.id == first.dialog.id
    assert second.dialog.status is AttributionStatus.NONE
