"""What a click's chat link put into the customer's messenger: its prefilled text without the code.

The snippet reports each click with the marked chat URL it opened (snippet/t.js, `p`). When a customer
deletes the code, what is left of that text is the evidence that names the click (tracking/fallback.py).
Only the link forms the snippet marks are read; anything else is no text (None), never an error.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import parse_qs, urlsplit

from tracking.codes import DEFAULT_MARKERS, extract_code
from tracking.strings import one_line

PREFILL_LIMIT = 500  # characters kept: a preset phrase is at most 200; the head of a longer text tells enough
SNIPPET_CUT = 800  # the snippet cuts the URL it reports at this many characters (t.js, U)

# Hosts (http and https) and app schemes whose `text` parameter WhatsApp or Telegram puts in the input
# field: wa.me/<number>, api.whatsapp.com/send, web.whatsapp.com/send, t.me/<username> (and its aliases,
# t.me/+<number> too), whatsapp://send, tg://resolve, and Android's intent://send/ (its #Intent;... part
# is the fragment, the query before it is the chat's).
_WEB_HOSTS = frozenset({"wa.me", "api.whatsapp.com", "web.whatsapp.com", "t.me", "telegram.me", "telegram.dog"})
_APP_LINKS = frozenset({("whatsapp", "send"), ("tg", "resolve"), ("intent", "send")})
# The tail of a URL cut in the middle of a percent escape ("%D0%B", "%").
_BROKEN_ESCAPE = re.compile(r"%[0-9A-Fa-f]?$")
# The tail of a text cut inside its code group: "... (код 7K3" or "... (ref".
_OPEN_GROUP = re.compile(r"\s*[(\[{«][^)\]}»]*$")


def code_markers(configured: str | None) -> tuple[str, ...]:
    """The words a code may follow: the site's own marker (CHATTRACK_CODE_MARKER) and the defaults."""
    return (configured, *DEFAULT_MARKERS) if configured else DEFAULT_MARKERS


def prefill_of(url: str, markers: Iterable[str] = DEFAULT_MARKERS) -> str | None:
    """The text a marked chat URL prefills, without its code group, on one line, at most PREFILL_LIMIT
    characters; None for a URL that is not a chat link, a bot deep link (start=: no text), or no text."""
    try:
        parts = urlsplit(url)
        web = parts.scheme in ("http", "https") and (parts.hostname or "") in _WEB_HOSTS
    except ValueError:  # a malformed host or port
        return None
    if not web and (parts.scheme, parts.netloc) not in _APP_LINKS:
        return None
    query = parts.query
    cut = len(url) >= SNIPPET_CUT and not parts.fragment  # the snippet may have cut it: the end is unsure
    if cut:
        query = _BROKEN_ESCAPE.sub("", query)
    params = parse_qs(query, keep_blank_values=True)  # form decoding: api.whatsapp.com's "+" is a space
    if "start" in params or "text" not in params:
        return None
    text = params["text"][0]
    if cut:  # a multi-byte character cut in half decodes to U+FFFD; a code group cut short is no text
        text = _OPEN_GROUP.sub("", text.rstrip("\ufffd"))
    kept = " ".join(one_line(extract_code(text, markers).text).split())
    return kept[:PREFILL_LIMIT].rstrip() or None
