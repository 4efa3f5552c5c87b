"""Pages grouped by host and path: tracking parameters dropped, those naming content kept, shown decoded."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest
from hypothesis import given
from hypothesis import strategies as st

from reports.counts import pages, ranking
from reports.periods import Period, Unit
from reports.render import render_ranking
from tests.conftest import twilio_form
from tests.store_contract import message, new_dialog
from tracking.codes import format_prefill, new_code
from tracking.models import Attribution, AttributionStatus, Channel, InboundMessage, PageView, Visit
from tracking.pages import DEFAULT_PAGE_PARAMS, page_key, page_label
from tracking.service import Tracker
from tracking.settings import SettingsError, load_settings
from tracking.store.sqlite import SQLiteStore
from webhooks.app import PAGE_KEYS

KEEP = frozenset(DEFAULT_PAGE_PARAMS)
AUTH = {"Authorization": "Bearer " + "t" * 32}
SERVICES = "/%D1%83%D1%81%D0%BB%D1%83%D0%B3%D0%B8"  # /услуги as browsers send it
DIRECT_CLICK = (
    "https://salon.example"
    + SERVICES
    + "?utm_source=yandex&utm_medium=cpc&utm_campaign=%D0%BD%D0%BE%D1%8F%D0%B1%D1%80%D1%8C"
    "&utm_content=16104711&utm_term=%D1%81%D1%82%D1%80%D0%B8%D0%B6%D0%BA%D0%B0&yclid=18780912364827418623"
)
MAPS = "https://yandex.ru/maps/org/salon/1234567890/"
GOOGLE_CLICK = "https://www.salon.example" + SERVICES + "/?gclid=Cj0KCQiA5rGuBhCnARIsAN11vgQ&gad_source=1"


@pytest.mark.parametrize(
    ("url", "key"),
    [
        (DIRECT_CLICK, "salon.example" + SERVICES),
        (GOOGLE_CLICK, "salon.example" + SERVICES),
        ("https://salon.example/услуги", "salon.example" + SERVICES),  # the same page, written decoded
        ("http://SALON.example:80/uslugi/#prices", "salon.example/uslugi"),  # scheme, case, port, fragment
        ("https://salon.example/", "salon.example"),
        ("https://salon.example/?utm_source=vk&fbclid=IwAR0x", "salon.example"),
        ("https://salon.example/catalog?id=42&utm_source=vk", "salon.example/catalog?id=42"),
        ("https://salon.example/catalog?product=shampoo&yclid=1&id=7", "salon.example/catalog?id=7&product=shampoo"),
        ("https://salon.example/?page_id=12&_openstat=x", "salon.example/?page_id=12"),
        ("https://salon.example/?p=12&ysclid=lq2x9ab", "salon.example/?p=12"),
        ("https://salon.example/index.php?ELEMENT_ID=5&clear_cache=Y", "salon.example/index.php?ELEMENT_ID=5"),
        ("https://salon.example/a/./b/../c", "salon.example/a/c"),
        ("https://xn--80aswg.xn--p1ai/", "xn--80aswg.xn--p1ai"),
        ("https://сайт.рф/", "xn--80aswg.xn--p1ai"),
        # not a web address: kept as it came
        ("file:///C:/site/index.html", "file:///C:/site/index.html"),
        ("http://[", "http://["),
        (" ", None),
        (None, None),
    ],
)
def test_page_keys(url: str | None, key: str | None) -> None:
    assert page_key(url, KEEP) == key


def test_the_kept_parameters_are_a_setting() -> None:
    assert page_key("https://salon.example/shop?tovar=5&id=1", frozenset({"tovar"})) == "salon.example/shop?tovar=5"
    assert page_key("https://salon.example/shop?tovar=5&id=1", frozenset()) == "salon.example/shop"


@given(st.text(max_size=80), st.sampled_from(["https://", "http://www.", ""]))
def test_a_key_keys_to_itself(tail: str, scheme: str) -> None:
    key = page_key(scheme + "salon.example/" + tail, KEEP)
    assert key is not None and page_key(key, KEEP) == key


@pytest.mark.parametrize(
    ("page", "shown"),
    [
        ("salon.example" + SERVICES, "salon.example/услуги"),
        ("salon.example" + SERVICES + "?id=42", "salon.example/услуги?id=42"),
        ("xn--80aswg.xn--p1ai/%D0%BE-%D0%BD%D0%B0%D1%81", "сайт.рф/о-нас"),
        ("https://salon.example" + SERVICES + "?utm_source=yandex&yclid=1&id=2", "salon.example/услуги?id=2"),
        ("salon.example", "salon.example"),
        ("salon.example/a%2Fb", "salon.example/a%2Fb"),  # an encoded slash is not a slash: left as it is
        ("salon.example/%FF", "salon.example/%FF"),  # not UTF-8: left as it is
        ("", ""),
        (None, ""),
    ],
)
def test_pages_are_shown_decoded_without_the_scheme(page: str | None, shown: str) -> None:
    assert page_label(page) == shown


def test_a_wrong_setting_stops_start_up_naming_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHATTRACK_PAGE_PARAMS", "id, utm_campaign")
    with pytest.raises(SettingsError, match=r"CHATTRACK_PAGE_PARAMS: .*utm_campaign is a tracking parameter"):
        load_settings()
    monkeypatch.setenv("CHATTRACK_PAGE_PARAMS", "id, page id")
    with pytest.raises(SettingsError, match=r"CHATTRACK_PAGE_PARAMS: .*'page id' is not a query parameter name"):
        load_settings()
    monkeypatch.setenv("CHATTRACK_PAGE_PARAMS", "ID, tovar,tovar")
    assert load_settings().page_params == ["id", "tovar"]
    monkeypatch.delenv("CHATTRACK_PAGE_PARAMS")
    assert load_settings().page_params == list(DEFAULT_PAGE_PARAMS)


async def _visit_and_write(http: aiohttp.ClientSession, server: Any, n: int, url: str, referrer: str) -> None:
    code = new_code()
    view = {"t": "view", "c": code, "v": f"visitor-{n}", "u": url, "r": referrer, "s": "390x844", "l": "ru-RU"}
    async with http.post(server.url + "/collect", json=view) as response:
        assert response.status == 200, await response.text()
    text = format_prefill("Сколько стоит стрижка?", code, "код")
    form = twilio_form(text, sid=f"SM{n:032d}", WaId=f"7916000000{n}", From=f"whatsapp:+7916000000{n}")
    assert (await server.post_twilio(http, form)).status == 200


async def test_clicks_of_every_ad_are_one_page_row(start_server: Any, http: aiohttp.ClientSession) -> None:
    """Through the real path (snippet's /collect, Twilio's webhook, the store, the report): a Direct click
    with UTM tags and yclid and a Google click with gclid land on one page, one row."""
    server = await start_server(api_token="t" * 32)
    await _visit_and_write(http, server, 1, DIRECT_CLICK, "https://yandex.ru/")
    await _visit_and_write(http, server, 2, GOOGLE_CLICK, "https://www.google.com/")
    await _visit_and_write(http, server, 3, "https://salon.example/catalog?id=42&utm_source=vk", "https://vk.com/")

    today = datetime.now(UTC).date()
    period = Period(today - timedelta(days=1), today + timedelta(days=1), server.settings.zone, Unit.SPAN)
    report = await pages(server.store, period, "landing")

    assert [(row.value, row.totals.dialogs) for row in report.rows] == [
        ("salon.example" + SERVICES, 2),
        ("salon.example/catalog?id=42", 1),
    ]
    assert "salon.example/услуги — <b>2</b>" in render_ranking(report, "ru")
    assert "salon.example/catalog?id=42 — <b>1</b>" in render_ranking(report, "en")
    contact = await pages(server.store, period, "contact")  # no click reported: the visit's page
    assert (contact.rows[0].value, contact.rows[0].totals.dialogs) == ("salon.example" + SERVICES, 2)
    [dialog] = await server.store.find_dialogs(contact_id="+79160000001")
    assert dialog.visit is not None and dialog.visit.attribution.landing_page == DIRECT_CLICK  # the URL as sent
    assert (dialog.attribution.campaign, dialog.attribution.yclid) == ("ноябрь", "18780912364827418623")

    # The API's page filter takes the page as a browser sent it, or as reports show it.
    for page in (GOOGLE_CLICK, "salon.example/услуги"):
        params = {"period": "today", "landing_page": page}
        async with http.get(server.url + "/api/reports/summary", params=params, headers=AUTH) as response:
            assert response.status == 200 and (await response.json())["dialogs"] == 2, page


async def test_the_server_keys_dialogs_an_older_version_stored(
    start_server: Any, make_settings: Any, http: aiohttp.ClientSession
) -> None:
    """A file of an older version (pages as whole URLs, a Yandex Maps visit as search) is migrated at start-up."""
    settings = make_settings()
    store = SQLiteStore(settings.database_url.removeprefix("sqlite:///"))
    await store.open()
    now = datetime.now(UTC)
    for n, (landing, referrer) in enumerate(
        [(DIRECT_CLICK, "https://yandex.ru/"), ("https://salon.example" + SERVICES, MAPS)], start=1
    ):
        visit = Tracker.attributed(
            Visit(
                code=f"CODE00{n}",
                visitor_id=f"v{n}",
                first_seen=now,
                last_seen=now,
                attribution=Attribution(landing_page=landing, referrer=referrer),
            )
        )
        old = visit.attribution.model_copy(update={"contact_page": landing})
        if referrer == MAPS:
            old.channel, old.source, old.medium = Channel.ORGANIC_SEARCH, "yandex", "organic"  # as it was
        new = new_dialog(message(now, contact=f"+7916000000{n}"), status=AttributionStatus.EXACT)
        new.draft.attribution, new.draft.visit = old, visit
        await store.add_message(new)
    await store.close()

    server = await start_server()
    await server.app[PAGE_KEYS]

    today = datetime.now(UTC).date()
    period = Period(today - timedelta(days=1), today + timedelta(days=1), server.settings.zone, Unit.SPAN)
    report = await pages(server.store, period, "landing")
    assert [(row.value, row.totals.dialogs) for row in report.rows] == [("salon.example" + SERVICES, 2)]
    by_channel = await ranking(server.store, period, "channel")
    assert sorted((row.value, row.totals.dialogs) for row in by_channel.rows) == [("maps", 1), ("paid_search", 1)]


async def test_a_code_brought_by_an_edit_stores_page_keys_too(store: SQLiteStore, make_settings: Any) -> None:
    tracker = Tracker(store, make_settings(fallback_window_minutes=0))
    code, now = new_code(), datetime.now(UTC)
    await tracker.record_view(PageView(code=code, visitor_id="v1", url=DIRECT_CLICK, at=now))
    sent = InboundMessage(
        provider="twilio", message_id="m1", business_number="+79991234567", contact_id="+79161234567",
        text="Здравствуйте", received_at=now,
    )  # fmt: skip
    assert (await tracker.ingest(sent)).dialog.attribution.landing_page is None  # no code yet

    assert await tracker.edit_message("twilio", "m1", format_prefill("Здравствуйте", code, "код"))

    [dialog] = await store.find_dialogs(contact_id="+79161234567")
    assert (dialog.code, dialog.attribution.landing_page) == (code, "salon.example" + SERVICES)
    assert dialog.attribution.contact_page == "salon.example" + SERVICES
