"""A click's prefilled text (issue 21): read from the marked chat URL the snippet reports (`p`), without
the code, and kept with the click; a `p` that is not one never costs the click."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import quote

import aiohttp
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.test_collect_edge import post
from tracking.clicks import PREFILL_LIMIT, SNIPPET_CUT, code_markers, prefill_of
from tracking.codes import format_prefill, new_code
from tracking.periods import utc_now

CODE = "7K3M9QE"


def marked(base: str, text: str, marker: str = "ref", **params: str) -> str:
    """A chat URL as the snippet marks it: other parameters first, the text with the code, spaces as %20."""
    query = [f"{name}={quote(value, safe='')}" for name, value in params.items()]
    query.append("text=" + quote(format_prefill(text, CODE, marker), safe=""))
    return base + "?" + "&".join(query)


# -- the URL's text ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "text"),
    [
        # percent-encoded Cyrillic under «код», as on a Russian page (tests/test_end_to_end.py's link)
        (
            "https://wa.me/79991234567?text=%D0%A1%D0%BA%D0%BE%D0%BB%D1%8C%D0%BA%D0%BE%20%D1%81%D1%82%D0%BE%D0%B8"
            "%D1%82%3F%20%28%D0%BA%D0%BE%D0%B4%207K3M9QE%29",
            "Сколько стоит?",
        ),
        # api.whatsapp.com as sites write it by hand: "+" is a space there
        (
            "https://api.whatsapp.com/send?phone=79991234567&text=I+need+an+appointment+(ref+7K3M9QE)",
            "I need an appointment",
        ),
        (
            marked("https://api.whatsapp.com/send/", "Price list?", phone="+79991234567", type="phone_number"),
            "Price list?",
        ),
        (marked("https://web.whatsapp.com/send", "From the desktop", phone="79991234567"), "From the desktop"),
        (marked("whatsapp://send", "From the app", phone="79991234567"), "From the app"),
        (marked("https://wa.me/79991234567", "Хочу букет 💐 на субботу", "код"), "Хочу букет 💐 на субботу"),
        (marked("https://t.me/furniture_shop", "I want the sofa"), "I want the sofa"),
        (marked("https://telegram.me/Furniture_Shop", "Есть ли диван?", "код"), "Есть ли диван?"),
        (marked("https://t.me/+79991234567", "Hello"), "Hello"),
        (marked("tg://resolve", "Hello from the site", domain="furniture_shop"), "Hello from the site"),
        # an Android intent: the text is the chat's query, before #Intent;...
        (
            marked("intent://send/", "I want to order", phone="79991234567")
            + "#Intent;scheme=whatsapp;package=com.whatsapp;S.browser_fallback_url="
            + quote(marked("https://wa.me/79991234567", "I want to order"), safe="")
            + ";end",
            "I want to order",
        ),
        # the code group elsewhere than at the end, written by the site's own text: still taken out
        ("https://wa.me/79991234567?text=%28ref%207K3M9QE%29%20Hi%20there", "Hi there"),
        # lines and invisible characters: one line, words apart
        ("https://wa.me/79991234567?text=Line%20one%0A%0A%E2%80%AELine%09two%20(ref%207K3M9QE)", "Line one Line two"),
    ],
)
def test_the_text_a_link_prefilled_without_its_code(url: str, text: str) -> None:
    assert prefill_of(url) == text


def test_a_code_under_the_configured_marker_is_taken_out_too() -> None:
    url = marked("https://wa.me/79991234567", "Need a quote", "id")
    assert prefill_of(url, code_markers("id")) == "Need a quote"
    assert code_markers("id") == ("id", "код", "ref") and code_markers(None) == ("код", "ref")


@pytest.mark.parametrize(
    "url",
    [
        "https://wa.me/79991234567?text=%28ref%207K3M9QE%29",  # the code alone: the link had no text
        "https://wa.me/79991234567?text=",
        "https://wa.me/79991234567",
        "https://t.me/shop_bot?start=7K3M9QE",  # a bot deep link: the code is the start parameter, no text
        "tg://resolve?domain=shop_bot&start=7K3M9QE",
        "https://example.com/?text=Hello",  # not a chat link
        "https://wa.me.evil.example/?text=Hello",
        "https://t.me@evil.example/?text=Hello",
        "whatsapp://call?text=Hello",
        "javascript:alert(1)//wa.me?text=Hi",
        "http://[",  # malformed: urllib.parse refuses it
        "http://[::1/?text=Hi",
        "",
        "wa.me/79991234567?text=Hi",
    ],
)
def test_no_text_for_what_is_not_a_chat_links_own_text(url: str) -> None:
    assert prefill_of(url) is None


def test_a_url_the_snippet_cut_keeps_the_head_of_its_text() -> None:
    """The snippet reports at most 800 characters: a long Cyrillic text is cut mid-escape, its code lost."""
    for shift in range(6):  # the cut lands on each character of a six-character escape ("%D0%BA")
        text = "!" * shift + "Здравствуйте! Подскажите, " + "сколько стоит детская фотосессия в студии " * 5
        kept = prefill_of(marked("https://wa.me/79991234567", text, "код")[:SNIPPET_CUT])
        assert kept is not None and text.startswith(kept) and len(kept) > 100, (shift, kept)
        assert "\ufffd" not in kept and "(" not in kept and "%" not in kept
    # cut inside the code group: what is left of it goes too
    url = marked("https://wa.me/79991234567", "a" * 770, "код")
    group = url.index("%20%28")
    assert group >= SNIPPET_CUT
    for cut in range(group, len(url) + 1):
        assert prefill_of(url[:cut]) == "a" * PREFILL_LIMIT, url[cut - 12 : cut]


def test_the_text_is_bounded() -> None:
    url = "https://wa.me/79991234567?text=" + "word%20" * 400
    kept = prefill_of(url)
    assert kept is not None and len(kept) <= PREFILL_LIMIT and kept.startswith("word word")


@given(st.text(max_size=300))
def test_any_text_after_a_chat_url_reads_without_raising(tail: str) -> None:
    for base in ("https://wa.me/79991234567?text=", "intent://send/?text=", "https://t.me/x?", "http://", ""):
        kept = prefill_of(base + tail)
        assert kept is None or (0 < len(kept) <= PREFILL_LIMIT and kept == kept.strip())


# -- POST /collect ----------------------------------------------------------------------------------

VISITOR = "visitor-0001"
PAGE = "https://studio.example/kids"
NUMBER = "+79991234567"


async def clicked(http: aiohttp.ClientSession, server: Any, **fields: Any) -> list[Any]:
    """A visit's page view, then its click with `fields`: the clicks stored on the number."""
    code = new_code()
    view = {"t": "view", "c": code, "v": VISITOR, "u": PAGE}
    assert (await post(http, server, view))[0] == 200
    status, body = await post(http, server, {**view, "t": "click", "h": "79991234567", **fields})
    assert (status, body) == (200, {"code": code})
    now = utc_now()
    return [c for c in await server.store.recent_clicks(NUMBER, now - timedelta(minutes=1), now) if c.code == code]


async def test_a_click_keeps_its_links_text_without_the_code(start_server: Any, http: aiohttp.ClientSession) -> None:
    server = await start_server(code_marker="id")
    p = marked("https://api.whatsapp.com/send", "Сколько стоит съёмка?", "id", phone="79991234567")
    [click] = await clicked(http, server, p=p)
    assert click.prefill == "Сколько стоит съёмка?"
    [older] = await clicked(http, server)  # an older snippet sends no p: a click without text
    assert older.prefill is None


@pytest.mark.parametrize(
    "p",
    [
        "https://example.com/?text=Hello",  # not a chat URL
        "http://[",  # malformed
        "not a url at all \x00\u202e",
        "https://wa.me/79991234567?text=" + "a" * 1100,  # longer than any the snippet sends
        "https://t.me/shop_bot?start=7K3M9QE",  # a bot deep link
        "",
        None,
        42,  # not a string
        ["https://wa.me/79991234567?text=Hi"],
        {"u": "https://wa.me/79991234567?text=Hi"},
    ],
)
async def test_a_click_with_a_bad_chat_url_is_kept_without_text(
    start_server: Any, http: aiohttp.ClientSession, p: object
) -> None:
    server = await start_server()
    [click] = await clicked(http, server, p=p)
    assert click.prefill is None and click.page == PAGE and click.target == NUMBER
