"""Click-to-WhatsApp ad data → Attribution: the mapping itself, and Twilio's Referral* fields end to end."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from tests.conftest import twilio_form
from tests.test_twilio_webhook import collect_view
from tracking.codes import format_prefill, new_code
from tracking.models import AttributionStatus, Channel
from webhooks.referral import AdReferral, ad_attribution, from_twilio


def test_an_ad_is_paid_social_with_the_headline_as_campaign() -> None:
    attribution = ad_attribution(
        AdReferral(
            source_url="https://fb.me/3cr4Wqqkv",
            source_id="120208585447520590",
            source_type="ad",
            headline="Скидка 20%",
            ctwa_clid="ARAkLkA8rmlFeiCk",
        )
    )
    assert attribution is not None
    assert attribution.model_dump(exclude_none=True) == {
        "channel": Channel.PAID_SOCIAL,
        "source": "facebook",
        "medium": "ctwa",
        "campaign": "Скидка 20%",
        "content": "120208585447520590",
        "ctwa_clid": "ARAkLkA8rmlFeiCk",
        "referrer": "https://fb.me/3cr4Wqqkv",
    }


@pytest.mark.parametrize(
    ("url", "source"),
    [
        ("https://www.facebook.com/ads/123", "facebook"),
        ("https://m.facebook.com/story.php?id=1", "facebook"),
        ("https://fb.me/abc", "facebook"),
        ("https://www.instagram.com/p/C8xYz/", "instagram"),
        ("https://instagram.com/reel/1", "instagram"),
        ("https://ad.example/landing", "meta"),
        ("not a url at all", "meta"),
        ("https://[::1", "meta"),  # urlsplit raises on this one
        (None, "meta"),
        ("https://notfacebook.com/x", "meta"),
    ],
)
def test_the_source_comes_from_the_ad_url(url: str | None, source: str) -> None:
    attribution = ad_attribution(AdReferral(source_url=url, source_id="1"))
    assert attribution is not None
    assert attribution.source == source


def test_without_a_headline_the_ad_id_names_the_campaign_and_posts_are_organic() -> None:
    attribution = ad_attribution(AdReferral(source_id="555", source_type="post"))
    assert attribution is not None
    assert (attribution.campaign, attribution.content, attribution.channel) == ("555", "555", Channel.ORGANIC_SOCIAL)


def test_no_ad_data_is_no_attribution() -> None:
    assert ad_attribution(None) is None
    assert ad_attribution(AdReferral()) is None
    assert ad_attribution(AdReferral(source_type="ad", body="text only", media_type="image")) is None
    assert ad_attribution(AdReferral(source_url="  ", source_id="")) is None


def test_values_are_trimmed_clipped_and_numbers_accepted() -> None:
    referral = AdReferral.model_validate({"source_id": 120208585447520590, "headline": "  " + "x" * 2000 + "  "})
    assert referral.source_id == "120208585447520590"
    assert referral.headline == "x" * 500


def test_twilio_referral_fields() -> None:
    form = {
        "ReferralSourceUrl": "https://www.instagram.com/p/C8xYz/",
        "ReferralSourceId": "120210123456789",
        "ReferralSourceType": "ad",
        "ReferralHeadline": "Йога",
        "ReferralCtwaClid": "ARAk",
        "ReferralNumMedia": "0",
    }
    attribution = from_twilio(form)
    assert attribution is not None
    assert (attribution.source, attribution.campaign, attribution.ctwa_clid) == ("instagram", "Йога", "ARAk")
    assert from_twilio({"Body": "hi", "ReferralNumMedia": "0"}) is None


async def test_twilio_message_from_an_ad_gets_the_ad_attribution(
    start_server: Any, http: aiohttp.ClientSession
) -> None:
    server = await start_server()
    form = twilio_form(
        "Здравствуйте! Хочу узнать цену",
        ReferralSourceUrl="https://fb.me/3cr4Wqqkv",
        ReferralSourceId="120208585447520590",
        ReferralSourceType="ad",
        ReferralHeadline="Детская фотосессия",
        ReferralBody="Запишитесь",
        ReferralCtwaClid="ARAkLkA8rmlFeiCktEJQ",
    )

    response = await server.post_twilio(http, form)

    assert response.status == 200
    [dialog] = await server.store.find_dialogs(contact_id="+79161234567")
    assert dialog.status is AttributionStatus.AD_REFERRAL
    attribution = dialog.attribution
    assert (attribution.channel, attribution.source, attribution.medium) == (Channel.PAID_SOCIAL, "facebook", "ctwa")
    assert (attribution.campaign, attribution.content) == ("Детская фотосессия", "120208585447520590")
    assert attribution.ctwa_clid == "ARAkLkA8rmlFeiCktEJQ"


async def test_a_code_in_the_message_wins_over_the_ad(start_server: Any, http: aiohttp.ClientSession) -> None:
    """The visit knows more (page, region, device); the ad is for customers who never visited the site."""
    server = await start_server()
    code = new_code()
    await collect_view(http, server, code, "https://studio.example/?utm_source=yandex&utm_medium=cpc")
    form = twilio_form(format_prefill("Hi", code, "ref"), ReferralSourceId="1202", ReferralSourceType="ad")
    assert (await server.post_twilio(http, form)).status == 200
    [dialog] = await server.store.find_dialogs(contact_id="+79161234567")
    assert (dialog.status, dialog.code) == (AttributionStatus.EXACT, code)
    assert (dialog.attribution.source, dialog.attribution.channel) == ("yandex", Channel.PAID_SEARCH)
