"""Traffic channel of a visit: from its landing page's UTM tags and click ids, else its referrer.

The rules follow GA4's default channel grouping (the public reference; Plausible ports it too),
folded into our smaller set of channels:

- GA4 "Paid Video" and "Paid Shopping" have no channel of ours: a paid medium from a video or
  social site is paid social, from a search engine paid search; "Organic Video" is organic social.
- GA4 "Paid Other", "Audio", "Mobile Push" and "Unassigned" become other_campaign.
- GA4 "SMS" and anything from a messenger (t.me, wa.me, vk.me, Viber…) is messenger: for a
  chat-tracking product the link sitting in a chat is the fact worth reporting.
- Click ids GA4 does not know: `yclid` (Yandex Direct) is paid search like `gclid`; either one
  decides the channel only when the UTM tags do not (UTM tags are what the advertiser wrote).
- `fbclid` alone is organic social: Meta appends it to every outbound link from Facebook and
  Instagram, shared posts included, so it proves the click came from Meta but not that it was paid.
  Paid Meta campaigns carry UTM tags (utm_medium=paid/cpc) and are paid social through those.
- Maps and directories (Yandex Maps and Business, 2GIS, Google Maps, Apple Maps, Zoon, Yell, Avito,
  Profi.ru, Flamp, Otzovik, Yandex Uslugi, Tripadvisor) are a channel of their own, `maps`, whatever the
  medium: GA4 has none (it calls them referrals or organic search), but for a salon or a clinic the card
  on the map is a source the owner runs. They are known by host, by path where the host is a search
  engine's (yandex.ru/maps/…, yandex.ru/profile/…, google.com/maps/…, g.co/kgs/…), by their Android
  apps (android-app://ru.yandex.yandexmaps, ru.dublgis.dgismobile, com.google.android.apps.maps) and by
  the utm_source values owners write in a card's link (2gis, yandex_maps, google_maps, gmb…), which are
  stored under one name each. 2GIS opens sites through link.2gis.ru. Yandex Maps sends only its origin
  (https://yandex.ru/) from browsers that cut a cross-site referrer to it: such a visit stays organic
  search from Yandex, as nothing tells them apart.
- `ysclid` (Yandex appends it to links opened from its search results) alone is organic search
  from Yandex, when the referrer says nothing more specific.

Referrer → source uses Snowplow's referer-parser data, extended with hosts it does not know
(ya.ru, yandex.<any country>, mail.ru/Yandex webmail, Dzen, vk.ru, ok.ru, t.me, wa.me, …) and
with Android app referrers (android-app://org.telegram.messenger).

Source and medium are lower-cased: they are grouping keys, and 'Google' and 'google' are one
source. Campaign, content and term are kept as written. Untagged visits get GA4's media: organic,
social, referral, email, cpc (click ids, ad redirectors), display, plus messenger for chats;
"(direct)" / "(none)" for a direct visit; "(not set)" where tags leave one out.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import parse_qsl, urlsplit

from referer_parser import Referer

from tracking.models import Attribution, Channel

_MAX_URL = 2048  # longer landing pages and referrers are cut (this also bounds query parsing)
_MAX_VALUE = 500  # one UTM value; Yandex Direct templates can make long campaign names


class _Kind(StrEnum):
    """What a known site, app or source name is."""

    SEARCH = "search"
    SOCIAL = "social"
    EMAIL = "email"
    MESSENGER = "messenger"
    MAPS = "maps"  # maps and directories of businesses
    SEARCH_ADS = "search_ads"  # ad click redirectors of search engines
    DISPLAY_ADS = "display_ads"  # ad networks serving banners


@dataclass(frozen=True, slots=True)
class _Known:
    kind: _Kind
    name: str  # the source name reports show: "google", "vk", "telegram"


@dataclass(frozen=True, slots=True)
class _Origin:
    """Where a visit came from, before it becomes an Attribution."""

    channel: Channel
    source: str
    medium: str
    term: str | None = None


_CHANNEL_OF_KIND = {
    _Kind.SEARCH: (Channel.ORGANIC_SEARCH, "organic"),
    _Kind.SOCIAL: (Channel.ORGANIC_SOCIAL, "social"),
    _Kind.EMAIL: (Channel.EMAIL, "email"),
    _Kind.MESSENGER: (Channel.MESSENGER, "messenger"),
    _Kind.MAPS: (Channel.MAPS, "referral"),
    _Kind.SEARCH_ADS: (Channel.PAID_SEARCH, "cpc"),
    _Kind.DISPLAY_ADS: (Channel.DISPLAY, "display"),
}


def _known(kind: _Kind, name: str, *hosts: str) -> dict[str, _Known]:
    return dict.fromkeys(hosts, _Known(kind, name))


# Hosts referer-parser does not know or gets wrong, matched on the host and each parent domain.
_HOSTS: dict[str, _Known] = {
    **_known(_Kind.SEARCH, "yandex", "ya.ru"),
    **_known(_Kind.SEARCH, "brave", "search.brave.com"),
    **_known(_Kind.SEARCH, "startpage", "startpage.com"),
    **_known(_Kind.SEARCH, "qwant", "qwant.com"),
    **_known(_Kind.SOCIAL, "vk", "vk.com", "vk.ru", "vkontakte.ru", "vkvideo.ru"),
    **_known(_Kind.SOCIAL, "ok", "ok.ru", "odnoklassniki.ru"),
    **_known(_Kind.SOCIAL, "dzen", "dzen.ru"),
    **_known(_Kind.SOCIAL, "tiktok", "tiktok.com"),
    **_known(_Kind.SOCIAL, "twitter", "x.com", "twitter.com", "t.co"),
    **_known(_Kind.SOCIAL, "threads", "threads.net", "threads.com"),
    **_known(_Kind.SOCIAL, "rutube", "rutube.ru"),
    **_known(_Kind.SOCIAL, "pikabu", "pikabu.ru"),
    **_known(_Kind.SOCIAL, "discord", "discord.com"),
    **_known(_Kind.EMAIL, "mail.ru mail", "e.mail.ru", "touch.mail.ru"),
    **_known(_Kind.EMAIL, "rambler mail", "mail.rambler.ru"),
    **_known(_Kind.EMAIL, "outlook", "outlook.live.com", "outlook.office.com", "outlook.office365.com"),
    **_known(_Kind.MESSENGER, "telegram", "t.me", "telegram.me", "telegram.org", "telegram.dog"),
    **_known(_Kind.MESSENGER, "whatsapp", "wa.me", "whatsapp.com"),
    **_known(_Kind.MESSENGER, "vk", "vk.me"),
    **_known(_Kind.MESSENGER, "viber", "viber.com", "viber.click"),
    **_known(_Kind.MESSENGER, "facebook messenger", "messenger.com", "m.me"),
    **_known(
        _Kind.MAPS,
        "2gis",
        *(f"2gis.{tld}" for tld in ("ru", "com", "kz", "kg", "uz", "by", "ae", "am", "az", "ge", "cy", "com.cy", "cz")),
    ),
    **_known(_Kind.MAPS, "google maps", "maps.app.goo.gl"),
    **_known(_Kind.MAPS, "apple maps", "maps.apple.com", "maps.apple"),
    **_known(_Kind.MAPS, "zoon", "zoon.ru", "zoon.kz", "zoon.by", "zoon.com"),
    **_known(_Kind.MAPS, "yell", "yell.ru"),
    **_known(_Kind.MAPS, "avito", "avito.ru"),
    **_known(_Kind.MAPS, "profi.ru", "profi.ru"),
    **_known(_Kind.MAPS, "flamp", "flamp.ru"),
    **_known(_Kind.MAPS, "otzovik", "otzovik.com"),
    **_known(
        _Kind.MAPS,
        "tripadvisor",
        *(f"tripadvisor.{tld}" for tld in ("com", "ru", "co.uk", "de", "fr", "it", "es", "com.tr", "ca", "com.au")),
    ),
    **_known(_Kind.SEARCH_ADS, "google", "googleadservices.com"),
    **_known(_Kind.DISPLAY_ADS, "google", "googlesyndication.com", "doubleclick.net"),
}

# yandex.ru, yandex.kz, yandex.com.tr… and their services.
_YANDEX = re.compile(
    r"(?:(?P<sub>[a-z0-9.-]+)\.)?yandex\.(?:ru|com|by|kz|uz|ua|az|kg|tj|tm|md|ee|lt|lv|fr|"
    r"com\.tr|com\.am|com\.ge|co\.il)"
)
_YANDEX_SERVICES = {
    "mail": _Known(_Kind.EMAIL, "yandex mail"),
    "zen": _Known(_Kind.SOCIAL, "dzen"),
    "yabs": _Known(_Kind.SEARCH_ADS, "yandex"),  # Yandex Direct's click redirector
    "an": _Known(_Kind.DISPLAY_ADS, "yandex"),  # Yandex Advertising Network
    "maps": _Known(_Kind.MAPS, "yandex maps"),
    "sprav": _Known(_Kind.MAPS, "yandex maps"),  # Yandex Business (formerly Spravochnik)
    "business": _Known(_Kind.MAPS, "yandex maps"),
    "uslugi": _Known(_Kind.MAPS, "yandex uslugi"),
}
# yandex.ru/<first segment>/…: Yandex serves these from its main host.
_YANDEX_PATHS = {
    "maps": _Known(_Kind.MAPS, "yandex maps"),
    "web-maps": _Known(_Kind.MAPS, "yandex maps"),
    "harita": _Known(_Kind.MAPS, "yandex maps"),  # yandex.com.tr/harita
    "profile": _Known(_Kind.MAPS, "yandex maps"),  # a business's Yandex profile page
    "sprav": _Known(_Kind.MAPS, "yandex maps"),
    "uslugi": _Known(_Kind.MAPS, "yandex uslugi"),
}
# google.com, www.google.ru, maps.google.de, google.com.tr…
_GOOGLE = re.compile(r"(?:(?P<sub>[a-z0-9-]+)\.)?google\.(?:[a-z]{2,3}|com?\.[a-z]{2})")
_GOOGLE_MAPS = _Known(_Kind.MAPS, "google maps")

# android-app://<package>: what Chrome on Android sends when an app opened the link.
_APPS: dict[str, _Known] = {
    **_known(_Kind.EMAIL, "gmail", "com.google.android.gm"),
    **_known(_Kind.EMAIL, "yandex mail", "ru.yandex.mail"),
    **_known(_Kind.EMAIL, "mail.ru mail", "ru.mail.mailapp", "ru.mail"),
    **_known(_Kind.EMAIL, "outlook", "com.microsoft.office.outlook"),
    **_known(_Kind.SEARCH, "google", "com.google.android.googlequicksearchbox"),
    **_known(_Kind.SEARCH, "yandex", "ru.yandex.searchplugin"),
    **_known(
        _Kind.MESSENGER,
        "telegram",
        "org.telegram.messenger",
        "org.telegram.messenger.web",
        "org.telegram.plus",
        "org.thunderdog.challegram",
    ),
    **_known(_Kind.MESSENGER, "whatsapp", "com.whatsapp", "com.whatsapp.w4b"),
    **_known(_Kind.MESSENGER, "viber", "com.viber.voip"),
    **_known(_Kind.MESSENGER, "vk", "com.vk.im"),
    **_known(_Kind.MESSENGER, "facebook messenger", "com.facebook.orca"),
    **_known(_Kind.SOCIAL, "vk", "com.vkontakte.android"),
    **_known(_Kind.SOCIAL, "ok", "ru.ok.android"),
    **_known(_Kind.SOCIAL, "facebook", "com.facebook.katana", "com.facebook.lite"),
    **_known(_Kind.SOCIAL, "instagram", "com.instagram.android"),
    **_known(_Kind.SOCIAL, "tiktok", "com.zhiliaoapp.musically", "com.ss.android.ugc.trill"),
    **_known(_Kind.SOCIAL, "twitter", "com.twitter.android"),
    **_known(_Kind.SOCIAL, "linkedin", "com.linkedin.android"),
    **_known(_Kind.SOCIAL, "youtube", "com.google.android.youtube"),
    **_known(_Kind.SOCIAL, "pinterest", "com.pinterest"),
    **_known(_Kind.SOCIAL, "reddit", "com.reddit.frontpage"),
    **_known(_Kind.SOCIAL, "dzen", "ru.zen.android"),
    **_known(
        _Kind.MAPS,
        "yandex maps",
        "ru.yandex.yandexmaps",
        "ru.yandex.yandexmaps.beta",
        "ru.yandex.yandexmaps.rustore",
        "ru.yandex.yandexnavi",  # Navigator shows the same business cards
    ),
    **_known(_Kind.MAPS, "2gis", "ru.dublgis.dgismobile"),
    **_known(_Kind.MAPS, "google maps", "com.google.android.apps.maps", "com.google.android.apps.mapslite"),
    **_known(_Kind.MAPS, "avito", "com.avito.android"),
    **_known(_Kind.MAPS, "tripadvisor", "com.tripadvisor.tripadvisor"),
}

# utm_source values owners write into a map card's link, and the one name each is stored under.
_MAPS_SOURCES: dict[str, str] = {
    **dict.fromkeys(
        ("yandex_maps", "yandexmaps", "yandex-maps", "yandex.maps", "maps.yandex", "yamaps", "ya_maps", "ymaps",
         "yandex_map", "yandex_business", "yandexbusiness", "yandex_sprav", "sprav", "yandex maps"),
        "yandex maps",
    ),
    **dict.fromkeys(("2gis", "2гис", "dublgis", "2gis.ru"), "2gis"),
    **dict.fromkeys(
        ("google_maps", "googlemaps", "google-maps", "gmaps", "maps.google", "gmb", "google_my_business",
         "googlemybusiness", "google_business", "gbp", "google_business_profile", "google maps"),
        "google maps",
    ),
    **dict.fromkeys(("apple_maps", "applemaps", "apple maps"), "apple maps"),
    **dict.fromkeys(("yandex_uslugi", "yandexuslugi", "uslugi", "yandex uslugi"), "yandex uslugi"),
    **dict.fromkeys(("profi", "profi.ru", "profiru", "profi_ru"), "profi.ru"),
    **{name: name for name in ("zoon", "yell", "avito", "flamp", "otzovik", "tripadvisor")},
}  # fmt: skip

# utm_source values (not hosts) and what they are. Curated rather than taken from referer-parser's
# names, some of which are common words ("Meta" there is a German search engine, not Facebook).
_SOURCE_NAMES: dict[str, _Kind] = {
    **dict.fromkeys(
        (
            "google", "yandex", "ya", "bing", "yahoo", "duckduckgo", "baidu", "ecosia", "brave",
            "naver", "seznam", "rambler", "startpage", "qwant", "sogou", "adwords", "googleads",
            "google_ads", "google-ads", "yandex_direct", "yandexdirect", "yandex.direct", "ydirect",
        ),
        _Kind.SEARCH,
    ),
    **dict.fromkeys(
        (
            "facebook", "fb", "instagram", "ig", "meta", "vk", "vkontakte", "vk_ads", "vkads",
            "mytarget", "ok", "odnoklassniki", "twitter", "x", "linkedin", "pinterest", "reddit",
            "tiktok", "threads", "dzen", "zen", "youtube", "rutube", "vimeo", "twitch", "snapchat",
            "quora", "pikabu", "tumblr", "discord", "livejournal",
        ),
        _Kind.SOCIAL,
    ),
    **dict.fromkeys(
        ("telegram", "tg", "whatsapp", "wa", "viber", "messenger", "signal", "wechat", "icq"),
        _Kind.MESSENGER,
    ),
}  # fmt: skip

# referer-parser's display names → our source names.
_NAME_ALIASES = {"vkontakte": "vk", "odnoklassniki": "ok", "outlook.com": "outlook"}

# GA4's medium and source lists.
_PAID_MEDIUM = re.compile(r".*cp.*|ppc|retargeting|paid.*")
_DISPLAY_MEDIA = frozenset({"display", "banner", "expandable", "interstitial", "cpm"})
_SOCIAL_MEDIA = frozenset({"social", "social-network", "social-media", "sm", "social network", "social media"})
_EMAIL_WORDS = frozenset({"email", "e-mail", "e_mail", "e mail", "newsletter"})
_REFERRAL_MEDIA = frozenset({"referral", "app", "link"})
_MESSENGER_MEDIA = frozenset({"messenger", "messengers", "im", "sms"})

_UNFILLED_TEMPLATE = re.compile(r"\{+[^{}]*\}+|\[[^\[\]]*\]|%[a-z_]+%", re.IGNORECASE)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

DIRECT_SOURCE, NO_MEDIUM, NOT_SET = "(direct)", "(none)", "(not set)"


def _text(value: object, limit: int) -> str | None:
    """A clean, bounded string: no control characters, no lone surrogates (they break stores)."""
    if not isinstance(value, str):
        return None
    value = value[:limit]
    if not value.isascii():  # fast path: ASCII has no lone surrogates (most URLs and UTM values are ASCII)
        value = value.encode("utf-8", "replace").decode("utf-8")
    if not value.isprintable():  # every control character is unprintable
        value = _CONTROL.sub("", value)
    value = value.strip()
    return value or None


def _query(url: str) -> dict[str, str]:
    """First non-empty value of each parameter, keys lower-cased; UTM tags in a '#…' count too."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return {}
    pairs = parse_qsl(parts.query, errors="replace")
    if "=" in parts.fragment:  # single-page sites sometimes tag the fragment
        pairs += parse_qsl(parts.fragment.lstrip("!/?"), errors="replace")
    params: dict[str, str] = {}
    for key, raw in pairs:
        value = _text(raw, _MAX_VALUE)
        if value and not _UNFILLED_TEMPLATE.fullmatch(value):
            params.setdefault(key.strip().lower(), value)
    return params


def _located(url: str | None) -> tuple[str, str] | None:
    """(scheme, host) of a URL, or None when it has no host or is malformed."""
    if not url:
        return None
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        return None
    if not host or not host.rstrip("."):
        return None
    return parts.scheme.lower(), host.rstrip(".")


def _hostname(url: str | None) -> str | None:
    located = _located(url)
    return located[1] if located else None


def _site_host(site: object) -> str | None:
    """The configured site as a host, whether written 'shop.ru', 'Shop.ru.' or 'https://shop.ru/'."""
    text = _text(site, 255)
    if text is None:
        return None
    return _hostname(text if "//" in text else "//" + text)


def _bare(host: str) -> str:
    return host.removeprefix("www.")


def _is_own(host: str, own_hosts: frozenset[str]) -> bool:
    bare = _bare(host)
    return any(bare == own or bare.endswith("." + own) for own in own_hosts)


def _known_host(host: str) -> _Known | None:
    """Our own table first (it corrects referer-parser), on the host and each parent domain."""
    yandex = _YANDEX.fullmatch(host)
    if yandex:
        labels = (yandex.group("sub") or "").split(".")
        return _YANDEX_SERVICES.get(labels[-1], _Known(_Kind.SEARCH, "yandex"))
    candidate = host
    while True:
        if candidate in _HOSTS:
            return _HOSTS[candidate]
        if "." not in candidate:
            return None
        candidate = candidate.split(".", 1)[1]


def _known_by_path(host: str, url: str) -> _Known | None:
    """Maps served from a search engine's own host, told apart by the path: yandex.ru/maps/…,
    google.com/maps/…, maps.google.*, g.co/kgs/… (Google Business Profile links), goo.gl/maps/…."""
    try:
        segments = urlsplit(url).path.lower().split("/")
    except ValueError:
        return None
    first = segments[1] if len(segments) > 1 else ""
    yandex = _YANDEX.fullmatch(host)
    if yandex:
        return _YANDEX_PATHS.get(first) if yandex.group("sub") in (None, "www", "m") else None
    google = _GOOGLE.fullmatch(host)
    if google:
        sub = google.group("sub")
        return _GOOGLE_MAPS if sub == "maps" or (sub in (None, "www", "m") and first == "maps") else None
    if (host == "g.co" and first == "kgs") or (host == "goo.gl" and first == "maps"):
        return _GOOGLE_MAPS
    return None


def _parser_name(name: str) -> str:
    name = name.lower().replace("!", "").strip()
    return _NAME_ALIASES.get(name, name)


def _from_referer_parser(url: str) -> tuple[_Known, str | None] | None:
    """referer-parser's verdict on an http(s) URL: the site and the search term it carries."""
    try:
        parsed = Referer(url)
    except ValueError:
        return None
    kinds = {"search": _Kind.SEARCH, "social": _Kind.SOCIAL, "email": _Kind.EMAIL}
    if parsed.medium not in kinds or not parsed.referer:
        return None
    term = _text(parsed.search_term, _MAX_VALUE)
    return _Known(kinds[parsed.medium], _parser_name(parsed.referer)), term


def _origin(known: _Known, term: str | None = None) -> _Origin:
    channel, medium = _CHANNEL_OF_KIND[known.kind]
    return _Origin(channel, known.name, medium, term)


@functools.lru_cache(maxsize=4096)
def _from_referrer(referrer: str | None, own_hosts: frozenset[str]) -> _Origin | None:
    """The referrer's origin, or None for no referrer, a self-referral or a malformed one.

    Cached: most visits come from a few referrers (search engines send their bare origin), and
    referer-parser's lookup is the costliest step of classifying a visit."""
    located = _located(referrer)
    if located is None or referrer is None:
        return None
    scheme, host = located
    if scheme == "android-app":
        app = _APPS.get(host)
        return _origin(app) if app else _Origin(Channel.REFERRAL, host, "referral")
    if scheme not in ("http", "https") or _is_own(host, own_hosts):
        return None
    known = _known_by_path(host, referrer) or _known_host(host)
    if known is not None:
        return _origin(known)
    parsed = _from_referer_parser(referrer)
    if parsed is not None:
        return _origin(*parsed)
    return _Origin(Channel.REFERRAL, _bare(host), "referral")


def _source_kind(source: str) -> _Kind | None:
    """What a utm_source names: a bare name ('google', 'vk') or a host ('t.me', 'l.facebook.com')."""
    if source in _SOURCE_NAMES:
        return _SOURCE_NAMES[source]
    if source in _MAPS_SOURCES:
        return _Kind.MAPS
    if "." not in source or " " in source:
        return None
    host = _hostname(source if "://" in source else "https://" + source)
    if host is None:
        return None
    known = _known_by_path(host, "https://" + source) or _known_host(host)
    if known is None:
        parsed = _from_referer_parser("https://" + host)
        known = parsed[0] if parsed else None
    return known.kind if known else None


def _tagged_channel(source: str, medium: str) -> Channel | None:
    """GA4's rules on source and medium, in GA4's order; None where GA4 says 'Paid Other'/'Unassigned'."""
    if source == DIRECT_SOURCE and medium in (NO_MEDIUM, NOT_SET):
        return Channel.DIRECT
    kind = _source_kind(source)
    if kind is _Kind.MAPS:  # a paid placement on a map is still the map's card (its medium says it was paid)
        return Channel.MAPS
    paid = bool(_PAID_MEDIUM.fullmatch(medium))
    if paid and kind in (_Kind.SEARCH, _Kind.SEARCH_ADS):
        return Channel.PAID_SEARCH
    if paid and kind in (_Kind.SOCIAL, _Kind.MESSENGER):
        return Channel.PAID_SOCIAL
    if medium in _DISPLAY_MEDIA or kind is _Kind.DISPLAY_ADS:
        return Channel.DISPLAY
    if paid:
        return None
    if kind is _Kind.MESSENGER or medium in _MESSENGER_MEDIA or source == "sms":
        return Channel.MESSENGER
    if kind is _Kind.SOCIAL or medium in _SOCIAL_MEDIA or "video" in medium:
        return Channel.ORGANIC_SOCIAL
    if kind is _Kind.SEARCH or medium == "organic":
        return Channel.ORGANIC_SEARCH
    if medium in _REFERRAL_MEDIA:
        return Channel.REFERRAL
    if source in _EMAIL_WORDS or medium in _EMAIL_WORDS or kind is _Kind.EMAIL:
        return Channel.EMAIL
    if medium == "affiliate":
        return Channel.AFFILIATE
    return None


def _maps_source(source: str) -> str:
    """One name for each map or directory, however the owner wrote it in utm_source ('2gis.ru' → '2gis')."""
    if source in _MAPS_SOURCES:
        return _MAPS_SOURCES[source]
    host = _hostname(source if "://" in source else "https://" + source)
    known = (_known_by_path(host, "https://" + source) or _known_host(host)) if host else None
    return known.name if known is not None and known.kind is _Kind.MAPS else source


def _click_origin(params: Mapping[str, str], referred: _Origin | None) -> _Origin | None:
    """What the ad platforms' click ids say when no UTM tag does."""
    if any(key in params for key in ("gclid", "gbraid", "wbraid")):
        return _Origin(Channel.PAID_SEARCH, "google", "cpc")
    if "yclid" in params:
        return _Origin(Channel.PAID_SEARCH, "yandex", "cpc")
    if "fbclid" in params:
        if referred is not None and referred.channel is Channel.ORGANIC_SOCIAL:
            return referred  # Instagram or Facebook, as the referrer tells
        return _Origin(Channel.ORGANIC_SOCIAL, "facebook", "social")
    if "ysclid" in params and referred is None:
        return _Origin(Channel.ORGANIC_SEARCH, "yandex", "organic")
    return None


def classify(page_url: str, referrer: str | None, site_host: str | None = None) -> Attribution:
    """Attribution of a visit that landed on `page_url` from `referrer`.

    `site_host` is the business's own site: a referrer from it (or a subdomain) is no referral.
    Never raises: anything malformed counts as absent, and nothing at all is a direct visit.
    """
    page = _text(page_url, _MAX_URL)
    ref = _text(referrer, _MAX_URL)
    params = _query(page) if page else {}
    own_hosts = frozenset(_bare(host) for host in (_site_host(site_host), _hostname(page)) if host) - {""}

    referred = _from_referrer(ref, own_hosts)
    clicked = _click_origin(params, referred)
    utm_source = params.get("utm_source", "").lower() or None
    utm_medium = params.get("utm_medium", "").lower() or None

    if utm_source or utm_medium:
        fallback = clicked or referred
        source = utm_source or (fallback.source if fallback else NOT_SET)
        medium = utm_medium or (clicked.medium if clicked else NOT_SET)
        channel = _tagged_channel(source, medium) or (clicked.channel if clicked else None)
        if channel is Channel.MAPS:
            source = _maps_source(source)
        origin = _Origin(channel or Channel.OTHER_CAMPAIGN, source, medium)
    elif (found := clicked or referred) is not None:
        origin = found
    elif "utm_campaign" in params:  # a campaign tag alone still marks a campaign, not a typed-in visit
        origin = _Origin(Channel.OTHER_CAMPAIGN, NOT_SET, NOT_SET)
    else:
        origin = _Origin(Channel.DIRECT, DIRECT_SOURCE, NO_MEDIUM)

    return Attribution(
        channel=origin.channel,
        source=origin.source,
        medium=origin.medium,
        campaign=params.get("utm_campaign"),
        content=params.get("utm_content"),
        term=params.get("utm_term") or (origin.term if origin is referred else None),
        gclid=params.get("gclid"),
        yclid=params.get("yclid"),
        fbclid=params.get("fbclid"),
        referrer=ref,
        landing_page=page,
    )
