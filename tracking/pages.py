"""Pages as reports group them: host and path, without the tracking parameters ad systems append.

Every click from Yandex Direct carries its own `yclid` (and Google's its own `gclid`), so grouping landing
pages by the whole URL gave each click a row of its own. A page is stored as its *key*: host (without
`www.`) and path, plus only the query parameters that name content (`?id=42`, `?product=…`, WordPress's
`?p=` and `?page_id=`: CHATTRACK_PAGE_PARAMS), sorted; no scheme, no fragment, no trailing slash.
Everything else (UTM tags, click ids, session ids, parameters nobody listed) is dropped: a list of what to
keep stays short and right where a list of what to drop never ends (Metrica's, Roistat's, CRMs' own…).

The URL itself is put in canonical form by url-normalize (percent-encoding, IDNA host, default port, dot
segments), so `/услуги` and `/%D1%83%D1%81…` are one page. Keys are made when a dialog is stored; the
visit keeps the URL as the browser sent it. `page_label` is how a key is shown: decoded, for people.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from urllib.parse import unquote, urlsplit

from url_normalize import url_humanize, url_normalize

from tracking.models import Attribution

# Parameters that name content on common site engines: generic ids, WordPress (p, page_id, cat),
# WooCommerce (product), OpenCart (route, product_id), 1C-Bitrix (ELEMENT_ID, SECTION_ID).
DEFAULT_PAGE_PARAMS = (
    "id",
    "p",
    "page_id",
    "post",
    "cat",
    "category",
    "category_id",
    "product",
    "product_id",
    "item",
    "item_id",
    "article",
    "service",
    "route",
    "element_id",
    "section_id",
)

# Click ids and tags no list of kept parameters may name (UTM tags too: any utm_*).
TRACKING_PARAMS = frozenset(
    {"gclid", "gbraid", "wbraid", "dclid", "yclid", "ysclid", "fbclid", "msclkid", "ttclid", "twclid", "vkclid",
     "_openstat", "from", "etext", "roistat", "_ga", "_gl", "ref", "mc_cid", "mc_eid", "igshid"}
)  # fmt: skip

# Bump when the rules of a key change: stored dialogs are then keyed again once (tracking/recompute.py).
RULES_VERSION = 1

_MAX_KEY = 2048


def rules_fingerprint(keep: Iterable[str]) -> str:
    """What keys depend on: the rules' version and the parameters kept. Stored dialogs were keyed under
    the fingerprint their store records; another one means they are keyed again."""
    return f"{RULES_VERSION}:{','.join(sorted({name.lower() for name in keep}))}"


def page_key(url: str | None, keep: frozenset[str]) -> str | None:
    """The key of a page URL (`salon.ru/uslugi?id=42`); a key gives itself back. `keep`: lower-case names
    of the parameters that name content. Something that is not a web address is kept as it came."""
    text = (url or "").strip()
    if not text:
        return None
    return _key(text[:_MAX_KEY], keep)


def _key(text: str, keep: frozenset[str]) -> str:
    scheme = text.split("://", 1)[0].lower() if "://" in text else ""
    if scheme not in ("", "http", "https"):
        return text
    try:
        parts = urlsplit(text if scheme else "https://" + text)
        if not parts.hostname:
            return text
    except ValueError:  # "http://[": shown as the browser sent it
        return text
    # The tracking parameters are dropped before url-normalize (~50 µs a URL): what is left repeats from
    # click to click (only the yclid differed), so its canonical form is mostly found in the cache.
    kept = sorted(pair for pair in parts.query.split("&") if _name(pair) in keep)
    query = "?" + "&".join(kept) if kept else ""
    return _canonical(f"{parts.scheme}://{parts.netloc}{parts.path}{query}") or text


@functools.lru_cache(maxsize=8192)
def _canonical(url: str) -> str | None:
    try:
        canonical = url_normalize(url)
    except (ValueError, UnicodeError):  # a host IDNA refuses
        return None
    if not canonical:
        return None
    rest = canonical.split("://", 1)[-1].removeprefix("www.")
    path, mark, query = rest.partition("?")
    path = path.rstrip("/")
    if mark:
        path = path if "/" in path else path + "/"  # salon.ru/?p=12
    return path + mark + query


def _tracking(name: str) -> bool:
    return name.startswith("utm_") or name in TRACKING_PARAMS


def _name(pair: str) -> str:
    return unquote(pair.partition("=")[0]).strip().lower()


@functools.lru_cache(maxsize=4096)
def page_label(page: str | None) -> str:
    """A page as people read it: host and path, percent-encoding decoded (`salon.ru/услуги`), no scheme.
    Takes a key or any URL; what cannot be decoded safely stays as it is."""
    text = (page or "").strip()
    if not text:
        return ""
    scheme = text.split("://", 1)[0].lower() if "://" in text else ""
    if scheme not in ("", "http", "https"):
        return text
    base, mark, query = text.partition("?")
    if mark:  # a URL stored before keys (or sent by an API client): its click ids and UTM tags are noise here
        kept = [pair for pair in query.split("&") if not _tracking(_name(pair))]
        text = base + ("?" + "&".join(kept) if kept else "")
    try:
        url = text if scheme else "https://" + text
        shown = url_humanize(url) if urlsplit(url).hostname else None
    except (ValueError, UnicodeError):
        return text
    if not shown:
        return text
    shown = shown.split("://", 1)[-1]
    return shown if "?" in shown else shown.rstrip("/") or shown


def paged(attribution: Attribution, keep: frozenset[str]) -> Attribution:
    """The attribution with its landing page and page of contact as keys (what a dialog stores)."""
    landing, contact = page_key(attribution.landing_page, keep), page_key(attribution.contact_page, keep)
    if (landing, contact) == (attribution.landing_page, attribution.contact_page):
        return attribution
    return attribution.model_copy(update={"landing_page": landing, "contact_page": contact})


__all__ = [
    "DEFAULT_PAGE_PARAMS",
    "RULES_VERSION",
    "TRACKING_PARAMS",
    "page_key",
    "page_label",
    "paged",
    "rules_fingerprint",
]
