"""A visit is stored as its first page view told it; its attribution is classified when a message needs it."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from tracking.codes import format_prefill, new_code
from tracking.geo import RegionResolver
from tracking.models import AttributionStatus, Channel, InboundMessage, PageView
from tracking.service import Tracker
from tracking.settings import load_settings
from tracking.store.sqlite import SQLiteStore

NUMBER = "+79991234567"
T0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.4 Mobile/15E148 Safari/604.1"
)


async def test_the_first_view_is_stored_as_told_and_classified_when_the_message_comes(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "a.db")
    await store.open()
    settings = load_settings(database_url=f"sqlite:///{tmp_path / 'a.db'}")
    tracker = Tracker(store, settings, RegionResolver(trust_cdn_headers=True))
    code = new_code()
    landing = "https://studio.example/kids?utm_source=yandex&utm_medium=cpc&utm_campaign=kids_nov&yclid=7781"
    view = PageView(
        code=code, visitor_id="visitor-1", url=landing, referrer="https://yandex.ru/", screen="390x844",
        language="ru-RU", user_agent=IPHONE, ip="203.0.113.7", at=T0,
    )  # fmt: skip
    await tracker.record_view(view, {"CF-IPCountry": "RU", "CF-IPCity": "Kazan"})

    stored = await store.get_visit(code)
    assert stored is not None
    assert stored.attribution.channel is Channel.UNATTRIBUTED and stored.attribution.os is None  # not yet
    assert (stored.attribution.landing_page, stored.attribution.region) == (landing, "Kazan, RU")

    visit = await tracker.visit(code)
    assert visit is not None
    a = visit.attribution
    assert (a.channel, a.source, a.medium, a.campaign, a.yclid) == (
        Channel.PAID_SEARCH, "yandex", "cpc", "kids_nov", "7781",
    )  # fmt: skip
    assert (a.os, a.device, a.screen, a.language, a.region) == ("iOS 17.4", "mobile", "390x844", "ru-RU", "Kazan, RU")
    assert tracker.attributed(visit) == visit  # classifying a classified visit (an older version's) changes nothing

    text = format_prefill("Сколько стоит детская съёмка?", code, "код")
    message = InboundMessage(
        provider="test", message_id="m1", business_number=NUMBER, contact_id="+79160000001", text=text,
        received_at=T0,
    )  # fmt: skip
    result = await tracker.ingest(message)
    assert result.dialog.status is AttributionStatus.EXACT
    # The dialog keeps the page by host and path (tracking/pages.py); its visit keeps the URL as sent.
    page = "studio.example/kids"
    assert result.dialog.attribution == a.model_copy(update={"landing_page": page, "contact_page": page})
    assert result.dialog.visit is not None and result.dialog.visit.attribution.landing_page == landing
    assert result.dialog.visit is not None and result.dialog.visit.attribution.channel is Channel.PAID_SEARCH
    await store.close()
