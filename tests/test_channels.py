"""Channel classification: UTM tags, click ids and referrers, after GA4's default channel grouping."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reports.i18n import Lang, value_label
from tracking.channels import classify
from tracking.models import Attribution, Channel

SITE = "https://shop.example.ru/catalog/sofas"


def _channel(query: str, referrer: str | None = None) -> tuple[Channel, str | None, str | None]:
    got = classify(f"{SITE}?{query}" if query else SITE, referrer, site_host="shop.example.ru")
    return got.channel, got.source, got.medium


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        # paid search: a search engine as source with a paid medium (GA4: .*cp.*|ppc|retargeting|paid.*)
        ("utm_source=yandex&utm_medium=cpc", (Channel.PAID_SEARCH, "yandex", "cpc")),
        ("utm_source=google&utm_medium=cpc", (Channel.PAID_SEARCH, "google", "cpc")),
        ("utm_source=Google&utm_medium=CPC", (Channel.PAID_SEARCH, "google", "cpc")),
        ("utm_source=bing&utm_medium=ppc", (Channel.PAID_SEARCH, "bing", "ppc")),
        ("utm_source=google&utm_medium=paidsearch", (Channel.PAID_SEARCH, "google", "paidsearch")),
        ("utm_source=yandex_direct&utm_medium=cpc", (Channel.PAID_SEARCH, "yandex_direct", "cpc")),
        ("utm_source=google&utm_medium=retargeting", (Channel.PAID_SEARCH, "google", "retargeting")),
        ("utm_source=www.google.com&utm_medium=cpc", (Channel.PAID_SEARCH, "www.google.com", "cpc")),
        ("utm_source=google&utm_medium=cpm", (Channel.PAID_SEARCH, "google", "cpm")),  # GA4 order
        # paid social: a social network (or messenger) as source with a paid medium
        ("utm_source=vk&utm_medium=cpc", (Channel.PAID_SOCIAL, "vk", "cpc")),
        ("utm_source=facebook&utm_medium=paid_social", (Channel.PAID_SOCIAL, "facebook", "paid_social")),
        ("utm_source=fb&utm_medium=paid", (Channel.PAID_SOCIAL, "fb", "paid")),
        ("utm_source=ig&utm_medium=cpc", (Channel.PAID_SOCIAL, "ig", "cpc")),
        ("utm_source=meta&utm_medium=paid", (Channel.PAID_SOCIAL, "meta", "paid")),
        ("utm_source=mytarget&utm_medium=cpm", (Channel.PAID_SOCIAL, "mytarget", "cpm")),
        ("utm_source=l.instagram.com&utm_medium=cpc", (Channel.PAID_SOCIAL, "l.instagram.com", "cpc")),
        ("utm_source=telegram&utm_medium=cpc", (Channel.PAID_SOCIAL, "telegram", "cpc")),  # Telegram Ads
        ("utm_source=youtube&utm_medium=cpv", (Channel.PAID_SOCIAL, "youtube", "cpv")),
        # display
        ("utm_source=rsya&utm_medium=display", (Channel.DISPLAY, "rsya", "display")),
        ("utm_source=partner&utm_medium=banner", (Channel.DISPLAY, "partner", "banner")),
        ("utm_source=network&utm_medium=cpm", (Channel.DISPLAY, "network", "cpm")),
        ("utm_source=adfox&utm_medium=interstitial", (Channel.DISPLAY, "adfox", "interstitial")),
        # GA4 "Paid Other" (no channel of ours): other campaign
        ("utm_source=partner_site&utm_medium=cpc", (Channel.OTHER_CAMPAIGN, "partner_site", "cpc")),
        # organic social, organic video folded in
        ("utm_source=vk&utm_medium=post", (Channel.ORGANIC_SOCIAL, "vk", "post")),
        ("utm_source=blog&utm_medium=social", (Channel.ORGANIC_SOCIAL, "blog", "social")),
        ("utm_source=club&utm_medium=sm", (Channel.ORGANIC_SOCIAL, "club", "sm")),
        ("utm_source=channel&utm_medium=video", (Channel.ORGANIC_SOCIAL, "channel", "video")),
        ("utm_source=dzen", (Channel.ORGANIC_SOCIAL, "dzen", "(not set)")),
        # messenger
        ("utm_source=telegram&utm_medium=post", (Channel.MESSENGER, "telegram", "post")),
        ("utm_source=t.me&utm_medium=channel", (Channel.MESSENGER, "t.me", "channel")),
        ("utm_source=whatsapp", (Channel.MESSENGER, "whatsapp", "(not set)")),
        ("utm_source=promo&utm_medium=sms", (Channel.MESSENGER, "promo", "sms")),
        ("utm_source=sms&utm_medium=blast", (Channel.MESSENGER, "sms", "blast")),
        ("utm_source=bot&utm_medium=messenger", (Channel.MESSENGER, "bot", "messenger")),
        # organic search
        ("utm_source=google&utm_medium=organic", (Channel.ORGANIC_SEARCH, "google", "organic")),
        ("utm_source=catalog&utm_medium=organic", (Channel.ORGANIC_SEARCH, "catalog", "organic")),
        ("utm_source=yandex", (Channel.ORGANIC_SEARCH, "yandex", "(not set)")),
        # referral
        ("utm_source=partner&utm_medium=referral", (Channel.REFERRAL, "partner", "referral")),
        ("utm_source=partner&utm_medium=link", (Channel.REFERRAL, "partner", "link")),
        # email
        ("utm_source=newsletter&utm_medium=email", (Channel.EMAIL, "newsletter", "email")),
        ("utm_source=unisender&utm_medium=e-mail", (Channel.EMAIL, "unisender", "e-mail")),
        ("utm_source=email", (Channel.EMAIL, "email", "(not set)")),
        ("utm_source=newsletter", (Channel.EMAIL, "newsletter", "(not set)")),
        ("utm_source=crm&utm_medium=newsletter", (Channel.EMAIL, "crm", "newsletter")),
        ("utm_source=mail.google.com&utm_medium=letter", (Channel.EMAIL, "mail.google.com", "letter")),
        # affiliate
        ("utm_source=admitad&utm_medium=affiliate", (Channel.AFFILIATE, "admitad", "affiliate")),
        # tagged, but no rule says which channel
        ("utm_source=spring_sale", (Channel.OTHER_CAMPAIGN, "spring_sale", "(not set)")),
        ("utm_source=radio&utm_medium=audio", (Channel.OTHER_CAMPAIGN, "radio", "audio")),
        ("utm_medium=qr", (Channel.OTHER_CAMPAIGN, "(not set)", "qr")),
        ("utm_campaign=spring", (Channel.OTHER_CAMPAIGN, "(not set)", "(not set)")),
        # GA4's direct rule on explicit tags
        ("utm_source=(direct)&utm_medium=(none)", (Channel.DIRECT, "(direct)", "(none)")),
    ],
)
def test_utm_tags(query: str, expected: tuple[Channel, str, str]) -> None:
    assert _channel(query) == expected


@pytest.mark.parametrize(
    ("query", "referrer", "expected"),
    [
        ("gclid=Cj0KCQjw", None, (Channel.PAID_SEARCH, "google", "cpc")),
        ("gbraid=0AAAAA", None, (Channel.PAID_SEARCH, "google", "cpc")),
        ("wbraid=CkQKCQ", "https://www.google.com/", (Channel.PAID_SEARCH, "google", "cpc")),
        ("yclid=7283410293", None, (Channel.PAID_SEARCH, "yandex", "cpc")),
        ("yclid=7283410293", "https://ya.ru/", (Channel.PAID_SEARCH, "yandex", "cpc")),
        # UTM tags decide over click ids when they decide anything
        ("yclid=1&utm_source=yandex&utm_medium=display", None, (Channel.DISPLAY, "yandex", "display")),
        ("gclid=1&utm_source=newsletter&utm_medium=email", None, (Channel.EMAIL, "newsletter", "email")),
        # …and the click id decides when they do not
        ("yclid=1&utm_source=spring_sale", None, (Channel.PAID_SEARCH, "spring_sale", "cpc")),
        ("gclid=1&utm_medium=cpc", None, (Channel.PAID_SEARCH, "google", "cpc")),
        ("yclid=1&utm_source=rsya&utm_medium=cpc", None, (Channel.PAID_SEARCH, "rsya", "cpc")),
        # fbclid is on organic shares too: organic social, the network from the referrer
        ("fbclid=IwAR0abc", None, (Channel.ORGANIC_SOCIAL, "facebook", "social")),
        ("fbclid=IwAR0abc", "https://l.instagram.com/", (Channel.ORGANIC_SOCIAL, "instagram", "social")),
        ("fbclid=IwAR0abc", "https://lm.facebook.com/", (Channel.ORGANIC_SOCIAL, "facebook", "social")),
        ("fbclid=IwAR0abc&utm_source=facebook&utm_medium=paid", None, (Channel.PAID_SOCIAL, "facebook", "paid")),
        # ysclid: Yandex organic, when the referrer does not say more
        ("ysclid=lq2x9ab", None, (Channel.ORGANIC_SEARCH, "yandex", "organic")),
        ("ysclid=lq2x9ab", "https://yandex.ru/", (Channel.ORGANIC_SEARCH, "yandex", "organic")),
        ("ysclid=lq2x9ab", "https://vk.com/", (Channel.ORGANIC_SOCIAL, "vk", "social")),
        # utm_source missing: the click id or the referrer names the source
        ("utm_medium=cpc", "https://www.bing.com/", (Channel.PAID_SEARCH, "bing", "cpc")),
        ("utm_medium=social", "https://vk.com/", (Channel.ORGANIC_SOCIAL, "vk", "social")),
        # campaign only: the referrer still says where the visitor came from
        ("utm_campaign=spring", "https://www.google.com/", (Channel.ORGANIC_SEARCH, "google", "organic")),
    ],
)
def test_click_ids(query: str, referrer: str | None, expected: tuple[Channel, str, str]) -> None:
    assert _channel(query, referrer) == expected


@pytest.mark.parametrize(
    ("referrer", "expected"),
    [
        (None, (Channel.DIRECT, "(direct)", "(none)")),
        ("", (Channel.DIRECT, "(direct)", "(none)")),
        # search engines
        ("https://www.google.com/", (Channel.ORGANIC_SEARCH, "google", "organic")),
        ("https://www.google.ru/", (Channel.ORGANIC_SEARCH, "google", "organic")),
        ("https://google.com.tr/", (Channel.ORGANIC_SEARCH, "google", "organic")),
        ("https://yandex.ru/", (Channel.ORGANIC_SEARCH, "yandex", "organic")),
        ("https://yandex.ru/search/?text=диван&lr=213", (Channel.ORGANIC_SEARCH, "yandex", "organic")),
        ("https://ya.ru/", (Channel.ORGANIC_SEARCH, "yandex", "organic")),
        ("https://yandex.kz/", (Channel.ORGANIC_SEARCH, "yandex", "organic")),
        ("https://yandex.com.tr/", (Channel.ORGANIC_SEARCH, "yandex", "organic")),
        ("https://www.bing.com/", (Channel.ORGANIC_SEARCH, "bing", "organic")),
        ("https://duckduckgo.com/", (Channel.ORGANIC_SEARCH, "duckduckgo", "organic")),
        ("https://go.mail.ru/search?q=x", (Channel.ORGANIC_SEARCH, "mail.ru", "organic")),
        ("https://search.yahoo.com/", (Channel.ORGANIC_SEARCH, "yahoo", "organic")),
        ("https://search.brave.com/", (Channel.ORGANIC_SEARCH, "brave", "organic")),
        ("android-app://com.google.android.googlequicksearchbox/", (Channel.ORGANIC_SEARCH, "google", "organic")),
        ("android-app://ru.yandex.searchplugin", (Channel.ORGANIC_SEARCH, "yandex", "organic")),
        # social networks
        ("https://vk.com/", (Channel.ORGANIC_SOCIAL, "vk", "social")),
        ("https://m.vk.com/wall-1_2", (Channel.ORGANIC_SOCIAL, "vk", "social")),
        ("https://away.vk.com/away.php?to=x", (Channel.ORGANIC_SOCIAL, "vk", "social")),
        ("https://vk.ru/", (Channel.ORGANIC_SOCIAL, "vk", "social")),
        ("https://ok.ru/", (Channel.ORGANIC_SOCIAL, "ok", "social")),
        ("https://dzen.ru/a/xyz", (Channel.ORGANIC_SOCIAL, "dzen", "social")),
        ("https://zen.yandex.ru/", (Channel.ORGANIC_SOCIAL, "dzen", "social")),
        ("https://l.facebook.com/", (Channel.ORGANIC_SOCIAL, "facebook", "social")),
        ("https://www.instagram.com/", (Channel.ORGANIC_SOCIAL, "instagram", "social")),
        ("https://t.co/abc", (Channel.ORGANIC_SOCIAL, "twitter", "social")),
        ("https://x.com/", (Channel.ORGANIC_SOCIAL, "twitter", "social")),
        ("https://www.youtube.com/", (Channel.ORGANIC_SOCIAL, "youtube", "social")),
        ("https://www.tiktok.com/", (Channel.ORGANIC_SOCIAL, "tiktok", "social")),
        ("https://www.linkedin.com/", (Channel.ORGANIC_SOCIAL, "linkedin", "social")),
        ("android-app://com.vkontakte.android", (Channel.ORGANIC_SOCIAL, "vk", "social")),
        ("android-app://com.instagram.android/", (Channel.ORGANIC_SOCIAL, "instagram", "social")),
        # messengers
        ("https://t.me/", (Channel.MESSENGER, "telegram", "messenger")),
        ("https://web.telegram.org/", (Channel.MESSENGER, "telegram", "messenger")),
        ("https://wa.me/", (Channel.MESSENGER, "whatsapp", "messenger")),
        ("https://api.whatsapp.com/", (Channel.MESSENGER, "whatsapp", "messenger")),
        ("https://web.whatsapp.com/", (Channel.MESSENGER, "whatsapp", "messenger")),
        ("https://vk.me/", (Channel.MESSENGER, "vk", "messenger")),
        ("https://invite.viber.com/", (Channel.MESSENGER, "viber", "messenger")),
        ("android-app://org.telegram.messenger/", (Channel.MESSENGER, "telegram", "messenger")),
        ("android-app://org.thunderdog.challegram", (Channel.MESSENGER, "telegram", "messenger")),
        ("android-app://com.whatsapp/", (Channel.MESSENGER, "whatsapp", "messenger")),
        ("android-app://com.viber.voip", (Channel.MESSENGER, "viber", "messenger")),
        # webmail
        ("https://e.mail.ru/", (Channel.EMAIL, "mail.ru mail", "email")),
        ("https://mail.yandex.ru/", (Channel.EMAIL, "yandex mail", "email")),
        ("https://mail.yandex.kz/?uid=1", (Channel.EMAIL, "yandex mail", "email")),
        ("https://mail.google.com/", (Channel.EMAIL, "gmail", "email")),
        ("https://outlook.live.com/", (Channel.EMAIL, "outlook", "email")),
        ("android-app://com.google.android.gm", (Channel.EMAIL, "gmail", "email")),
        ("android-app://ru.mail.mailapp/", (Channel.EMAIL, "mail.ru mail", "email")),
        # ad redirectors
        ("https://www.googleadservices.com/", (Channel.PAID_SEARCH, "google", "cpc")),
        ("https://yabs.yandex.ru/count/x", (Channel.PAID_SEARCH, "yandex", "cpc")),
        ("https://an.yandex.ru/", (Channel.DISPLAY, "yandex", "display")),
        ("https://tpc.googlesyndication.com/", (Channel.DISPLAY, "google", "display")),
        # other sites
        ("https://www.partner-blog.ru/post/1", (Channel.REFERRAL, "partner-blog.ru", "referral")),
        ("https://support.google.com/", (Channel.REFERRAL, "support.google.com", "referral")),
        ("https://chatgpt.com/", (Channel.REFERRAL, "chatgpt.com", "referral")),
        ("android-app://com.example.reader/", (Channel.REFERRAL, "com.example.reader", "referral")),
        ("https://sofa-mall.ru:8443/x", (Channel.REFERRAL, "sofa-mall.ru", "referral")),
        # self-referrals are no referrals
        ("https://shop.example.ru/", (Channel.DIRECT, "(direct)", "(none)")),
        ("https://www.shop.example.ru/cart", (Channel.DIRECT, "(direct)", "(none)")),
        ("https://pay.shop.example.ru/", (Channel.DIRECT, "(direct)", "(none)")),
        # not a web referrer
        ("about:blank", (Channel.DIRECT, "(direct)", "(none)")),
        ("chrome://newtab/", (Channel.DIRECT, "(direct)", "(none)")),
        ("not a url", (Channel.DIRECT, "(direct)", "(none)")),
    ],
)
def test_referrers(referrer: str | None, expected: tuple[Channel, str, str]) -> None:
    assert _channel("", referrer) == expected


def test_site_host_defaults_to_the_landing_pages_host() -> None:
    got = classify("https://www.sofas.ru/?x=1", "https://sofas.ru/catalog")
    assert got.channel is Channel.DIRECT


def test_site_host_covers_other_pages_of_the_site() -> None:
    got = classify("https://landing.sofas.ru/", "https://sofas.ru/", site_host="sofas.ru")
    assert got.channel is Channel.DIRECT
    assert classify("https://landing.sofas.ru/", "https://sofas.ru/").channel is Channel.REFERRAL


@pytest.mark.parametrize("site", ["sofas.ru", "SOFAS.RU.", "www.sofas.ru", "https://sofas.ru/", "//sofas.ru"])
def test_site_host_in_any_written_form(site: str) -> None:
    got = classify("https://landing.example.com/", "https://m.sofas.ru/", site_host=site)
    assert got.channel is Channel.DIRECT


def test_full_attribution_from_a_yandex_direct_click() -> None:
    url = (
        "https://shop.example.ru/sofas?utm_source=yandex&utm_medium=cpc&utm_campaign=%D0%94%D0%B8%D0%B2%D0%B0%D0%BD%D1%8B"
        "&utm_content=ad_42&utm_term=%D0%BA%D1%83%D0%BF%D0%B8%D1%82%D1%8C+%D0%B4%D0%B8%D0%B2%D0%B0%D0%BD&yclid=7283410293"
    )
    assert classify(url, "https://yandex.ru/", site_host="shop.example.ru") == Attribution(
        channel=Channel.PAID_SEARCH,
        source="yandex",
        medium="cpc",
        campaign="Диваны",
        content="ad_42",
        term="купить диван",
        yclid="7283410293",
        referrer="https://yandex.ru/",
        landing_page=url,
    )


def test_full_attribution_from_a_google_ads_click() -> None:
    url = "https://shop.example.ru/?gclid=Cj0KCQjw_abc&fbclid=&utm_campaign=Brand+Sofas"
    got = classify(url, None)
    assert (got.channel, got.source, got.medium) == (Channel.PAID_SEARCH, "google", "cpc")
    assert (got.gclid, got.yclid, got.fbclid, got.campaign) == ("Cj0KCQjw_abc", None, None, "Brand Sofas")
    assert (got.referrer, got.landing_page) == (None, url)


def test_search_term_from_a_referrer_that_still_carries_it() -> None:
    got = classify(SITE, "https://www.bing.com/search?q=buy+a+sofa")
    assert (got.channel, got.term) == (Channel.ORGANIC_SEARCH, "buy a sofa")
    assert classify(SITE + "?utm_term=sofa", "https://www.bing.com/search?q=x").term == "sofa"


def test_utm_values_are_trimmed_and_unfilled_templates_dropped() -> None:
    got = classify(
        SITE + "?utm_source=%20Yandex%20&utm_medium=cpc&utm_term={keyword}&utm_content=[ad_id]&utm_campaign=",
        None,
    )
    assert (got.source, got.medium, got.term, got.content, got.campaign) == ("yandex", "cpc", None, None, None)


def test_first_non_empty_value_of_a_repeated_parameter_wins() -> None:
    got = classify(SITE + "?utm_source=&utm_source=vk&utm_source=ok&utm_medium=cpc", None)
    assert (got.channel, got.source) == (Channel.PAID_SOCIAL, "vk")


def test_parameter_names_are_case_insensitive() -> None:
    got = classify(SITE + "?UTM_SOURCE=google&Utm_Medium=cpc&GCLID=x", None)
    assert (got.channel, got.source, got.gclid) == (Channel.PAID_SEARCH, "google", "x")


def test_utm_tags_in_the_fragment_of_a_single_page_site() -> None:
    got = classify("https://shop.example.ru/#/?utm_source=vk&utm_medium=cpc", None)
    assert (got.channel, got.source) == (Channel.PAID_SOCIAL, "vk")


@pytest.mark.parametrize(
    ("page", "referrer"),
    [
        ("", None),
        ("not a url", "also not a url"),
        ("http://[::1", "http://[::1"),  # unbalanced IPv6 bracket: urlsplit raises on it
        ("https://shop.example.ru:99999/", "https://other.ru:99999/"),  # port out of range
        ("https://shop.example.ru/?%ZZ=%ZZ&utm_source=%FF%FE", "https://%zz/"),
        ("https://shop.example.ru/\x00\x01?utm_source=\x00", "\x00"),
        ("https://shop.example.ru/?utm_source=\ud800", "https://\udc00.ru/"),  # lone surrogates
        ("https://shop.example.ru/?" + "a=1&" * 100_000, "https://x.ru/" + "y" * 1_000_000),
        ("javascript:alert(1)", "data:text/html,hi"),
    ],
)
def test_garbage_is_direct_and_never_raises(page: str, referrer: str | None) -> None:
    got = classify(page, referrer, site_host="shop.example.ru")
    assert got.channel in (Channel.DIRECT, Channel.REFERRAL, Channel.OTHER_CAMPAIGN)
    for value in (got.source, got.medium, got.landing_page, got.referrer):
        if value is not None:
            assert len(value) <= 2048
            value.encode("utf-8")  # storable: no lone surrogates
            assert "\x00" not in value


def test_garbage_page_without_referrer_is_direct() -> None:
    got = classify("http://[::1", None)
    assert (got.channel, got.source, got.medium, got.campaign) == (Channel.DIRECT, "(direct)", "(none)", None)


def test_non_strings_are_treated_as_absent() -> None:
    got = classify(None, 42, site_host=object())  # type: ignore[arg-type]
    assert (got.channel, got.landing_page, got.referrer) == (Channel.DIRECT, None, None)


@settings(max_examples=300)
@given(page=st.text(max_size=300), referrer=st.none() | st.text(max_size=300), site=st.none() | st.text(max_size=50))
def test_classify_never_raises(page: str, referrer: str | None, site: str | None) -> None:
    got = classify(page, referrer, site_host=site)
    assert isinstance(got.channel, Channel)
    assert got.source and got.medium


@settings(max_examples=200)
@given(
    query=st.dictionaries(
        st.sampled_from(["utm_source", "utm_medium", "utm_campaign", "gclid", "yclid", "fbclid", "ysclid"]),
        st.text(alphabet=st.characters(codec="utf-8"), max_size=20),
    ),
    referrer=st.sampled_from([None, "https://yandex.ru/", "https://t.me/", "https://vk.com/", "android-app://x.y"]),
)
def test_classify_never_raises_on_any_tag_mix(query: dict[str, str], referrer: str | None) -> None:
    from urllib.parse import urlencode

    got = classify(SITE + "?" + urlencode(query), referrer)
    assert isinstance(got.channel, Channel)
    assert got.source and got.medium


MAPS = Channel.MAPS


@pytest.mark.parametrize(
    ("referrer", "source"),
    [
        # Yandex Maps and Yandex Business: own hosts, or a path of Yandex's main host
        ("https://yandex.ru/maps/org/salon_krasoty/1234567890/?ll=37.6%2C55.7&z=16", "yandex maps"),
        ("https://yandex.ru/maps/213/moscow/search/салон/", "yandex maps"),
        ("https://yandex.com/maps/org/1/", "yandex maps"),
        ("https://yandex.kz/maps/", "yandex maps"),
        ("https://yandex.com.tr/harita/", "yandex maps"),
        ("https://maps.yandex.ru/", "yandex maps"),
        ("https://yandex.ru/profile/1234567890", "yandex maps"),
        ("https://yandex.ru/sprav/", "yandex maps"),
        ("https://sprav.yandex.ru/", "yandex maps"),
        ("https://business.yandex.ru/", "yandex maps"),
        ("android-app://ru.yandex.yandexmaps/", "yandex maps"),
        ("android-app://ru.yandex.yandexnavi", "yandex maps"),
        ("https://uslugi.yandex.ru/profile/x", "yandex uslugi"),
        ("https://yandex.ru/uslugi/search?text=x", "yandex uslugi"),
        # 2GIS: it opens sites through its link.2gis.ru redirector
        ("https://link.2gis.ru/", "2gis"),
        ("http://link.2gis.ru/5A7F96E0/webapi/20130201/project41/57707?http://salon.example", "2gis"),
        ("https://2gis.ru/moscow/firm/70000001012345678", "2gis"),
        ("https://2gis.com/", "2gis"),
        ("https://2gis.kz/almaty", "2gis"),
        ("android-app://ru.dublgis.dgismobile/", "2gis"),
        # Google Maps and Business Profile links
        ("https://www.google.com/maps/place/Salon/@55.7,37.6,17z", "google maps"),
        ("https://www.google.ru/maps/", "google maps"),
        ("https://maps.google.com/", "google maps"),
        ("https://maps.google.de/", "google maps"),
        ("https://maps.app.goo.gl/AbCdEf", "google maps"),
        ("https://g.co/kgs/AbCdEf", "google maps"),
        ("https://goo.gl/maps/AbCdEf", "google maps"),
        ("android-app://com.google.android.apps.maps", "google maps"),
        # directories and boards
        ("https://maps.apple.com/?q=salon", "apple maps"),
        ("https://zoon.ru/msk/beauty/salon/", "zoon"),
        ("https://www.yell.ru/moscow/com/salon_123/", "yell"),
        ("https://www.avito.ru/moskva/predlozheniya_uslug/1", "avito"),
        ("android-app://com.avito.android", "avito"),
        ("https://profi.ru/profile/IvanovaAA/", "profi.ru"),
        ("https://moscow.flamp.ru/firm/salon-1", "flamp"),
        ("https://otzovik.com/reviews/salon/", "otzovik"),
        ("https://www.tripadvisor.ru/Restaurant_Review-x", "tripadvisor"),
    ],
)
def test_maps_and_directories_are_a_channel_of_their_own(referrer: str, source: str) -> None:
    assert _channel("", referrer) == (MAPS, source, "referral")


@pytest.mark.parametrize(
    "referrer",
    [
        "https://yandex.ru/",  # what a browser that cuts the referrer to its origin sends from Yandex Maps too
        "https://yandex.ru/search/?text=maps",
        "https://www.google.com/",
        "https://www.google.com/search?q=maps",
        "https://mail.yandex.ru/maps",  # a service's own host is that service, whatever its path
    ],
)
def test_search_engines_stay_search_without_a_maps_path(referrer: str) -> None:
    assert _channel("", referrer)[0] is not MAPS


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("utm_source=2gis&utm_medium=referral", (MAPS, "2gis", "referral")),
        ("utm_source=2GIS", (MAPS, "2gis", "(not set)")),
        ("utm_source=2gis.ru&utm_medium=organic", (MAPS, "2gis", "organic")),
        ("utm_source=2gis&utm_medium=cpc", (MAPS, "2gis", "cpc")),  # 2GIS's paid placement: still 2GIS
        ("utm_source=yandex_maps&utm_medium=organic", (MAPS, "yandex maps", "organic")),
        ("utm_source=yamaps", (MAPS, "yandex maps", "(not set)")),
        ("utm_source=maps.yandex.ru", (MAPS, "yandex maps", "(not set)")),
        ("utm_source=yandex.ru/maps&utm_medium=referral", (MAPS, "yandex maps", "referral")),
        ("utm_source=yandex_business&utm_medium=organic", (MAPS, "yandex maps", "organic")),
        ("utm_source=gmb&utm_medium=organic", (MAPS, "google maps", "organic")),
        ("utm_source=google_my_business", (MAPS, "google maps", "(not set)")),
        ("utm_source=zoon&utm_medium=referral", (MAPS, "zoon", "referral")),
        ("utm_source=avito&utm_medium=cpc", (MAPS, "avito", "cpc")),
        ("utm_source=profi", (MAPS, "profi.ru", "(not set)")),
        # Yandex Direct's ads on the map are Direct's: the tags say so
        ("utm_source=yandex&utm_medium=cpc&yclid=1", (Channel.PAID_SEARCH, "yandex", "cpc")),
    ],
)
def test_maps_by_utm_tags(query: str, expected: tuple[Channel, str, str]) -> None:
    assert _channel(query, "https://yandex.ru/maps/org/1/") == expected


def test_ysclid_from_yandex_maps_is_yandex_maps() -> None:
    assert _channel("ysclid=lq2x9ab", "https://yandex.ru/maps/org/1/") == (MAPS, "yandex maps", "referral")


@pytest.mark.parametrize(
    ("referrer", "ru", "en"),
    [
        ("https://yandex.ru/maps/org/1/", "Карты и справочники · Яндекс Карты", "Maps and directories · Yandex Maps"),
        (
            "android-app://ru.yandex.yandexmaps",
            "Карты и справочники · Яндекс Карты",
            "Maps and directories · Yandex Maps",
        ),
        ("https://link.2gis.ru/", "Карты и справочники · 2ГИС", "Maps and directories · 2GIS"),
        ("android-app://ru.dublgis.dgismobile", "Карты и справочники · 2ГИС", "Maps and directories · 2GIS"),
        ("https://g.co/kgs/x", "Карты и справочники · Google Карты", "Maps and directories · Google Maps"),
        ("https://www.avito.ru/", "Карты и справочники · Авито", "Maps and directories · Avito"),
        ("https://uslugi.yandex.ru/", "Карты и справочники · Яндекс Услуги", "Maps and directories · Yandex Services"),
    ],
)
def test_maps_read_in_both_languages(referrer: str, ru: str, en: str) -> None:
    got = classify(SITE, referrer)
    langs: tuple[tuple[Lang, str], ...] = (("ru", ru), ("en", en))
    for lang, expected in langs:
        shown = f"{value_label(lang, 'channel', got.channel.value)} · {value_label(lang, 'source', got.source)}"
        assert shown == expected
