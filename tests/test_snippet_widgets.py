# ruff: noqa: F811  (pytest fixtures imported from tests.browser and tests.test_snippet_browser are parameters here)
"""The snippet against the patterns real sites use to open chats (issue 16), one test page per pattern.

Each test asserts what the visitor would get: the URL a click opens carries exactly one valid code at
the end of the link's text, links to others stay as they were, the click reaches /collect, and the
console shows nothing.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

from playwright.async_api import CDPSession, Page

from tests.browser import browser, collect_errors, page  # noqa: F401
from tests.test_snippet_browser import CHAT_URL, NUMBER, Tracker, chats, check_marked, code_of, marked, tracker  # noqa: F401
from tracking.codes import format_prefill, is_valid_code

CODE_GROUP = re.compile(r"\((?:ref|код) ([0-9A-Z]{7})\)")


def one_code(text: str, code: str) -> None:
    """``text`` carries exactly one code, ``code``, at its end."""
    assert CODE_GROUP.findall(text) == [code], text
    assert text.endswith(f" {code})") and is_valid_code(code)


async def exceptions_in_snippet(page: Page) -> list[str]:
    """A list that fills with every exception thrown inside t.js or tx.js, caught ones included (the debugger
    pauses on each; the snippet's guard would otherwise hide them)."""
    thrown: list[str] = []
    resumes: list[asyncio.Future[Any]] = []  # kept referenced until done
    cdp: CDPSession = await page.context.new_cdp_session(page)

    scripts: dict[str, str] = {}  # script id -> url

    def parsed(event: dict[str, Any]) -> None:
        scripts[event["scriptId"]] = event["url"]

    def paused(event: dict[str, Any]) -> None:
        where = event["callFrames"][0]["location"]["scriptId"] if event.get("callFrames") else ""
        if scripts.get(where, "").endswith(("/t.js", "/tx.js")):
            thrown.append(str(event.get("data", {}).get("description", event.get("reason"))))
        resumes.append(asyncio.ensure_future(cdp.send("Debugger.resume")))

    cdp.on("Debugger.scriptParsed", parsed)
    cdp.on("Debugger.paused", paused)
    await cdp.send("Debugger.enable")
    await cdp.send("Debugger.setPauseOnExceptions", {"state": "all"})
    return thrown


# -- 9: clicks on what is not a link


async def test_no_exception_on_any_click(tracker: Tracker, page: Page) -> None:
    errors = collect_errors(page)
    opened = await chats(page)
    await page.goto(tracker.url("clicks"))
    href = await marked(page, "#wa")
    await marked(page, "#tg")  # a form only tx.js knows: it is in, its click listeners too
    code = await code_of(page)
    await tracker.wait_for(lambda p: p["t"] == "view")
    thrown = await exceptions_in_snippet(page)
    for target in ("#title", "#home", "#text", "#bold", "#buy", "#label", "#check", "#rect", "#nothing", "body"):
        await page.click(target, position={"x": 1, "y": 1}, no_wait_after=True)
    assert await page.get_attribute("#nothing", "data-clicks") == "1"  # the page's own handlers still run
    async with page.expect_popup() as popup:
        await page.click("#wa")
    await (await popup.value).wait_for_load_state()
    check_marked(opened[0], "https://wa.me/79991234567", "Is the sofa in stock?", code)
    assert opened == [href]
    click = await tracker.wait_for(lambda p: p["t"] == "click")
    assert (click["h"], click["c"]) == (NUMBER, code)
    assert thrown == []
    assert errors == []
    assert [p["t"] for p in tracker.received] == ["view", "click"]  # the other clicks report nothing


# -- 8: a code written with another marker


async def test_a_code_from_another_marker_is_replaced(tracker: Tracker, page: Page) -> None:
    errors = collect_errors(page)
    opened = await chats(page)
    await page.goto(tracker.url("markers"))
    ref = await marked(page, "#ref")
    code = await code_of(page)
    check_marked(ref, "https://wa.me/79991234567", "Hello", code, marker="код")
    two = await marked(page, "#two")
    check_marked(two, "https://api.whatsapp.com/send", "Здравствуйте", code, marker="код", phone=NUMBER)
    check_marked(await marked(page, "#tg"), "https://t.me/furniture_shop", "", code, marker="код")
    for link in (ref, two):
        one_code(parse_text(link), code)
    assert await page.get_attribute("#other", "href") == "https://wa.me/74950000000?text=Hello%20(ref%207K3M9QE)"

    async with page.expect_popup() as popup:
        await page.click("#ref")
    await (await popup.value).wait_for_load_state()
    assert opened == [ref]
    one_code(parse_text(opened[0]), code)
    click = await tracker.wait_for(lambda p: p["t"] == "click")
    assert (click["h"], click["c"]) == (NUMBER, code)
    assert errors == []


def parse_text(url: str) -> str:
    return parse_qs(urlsplit(url).query)["text"][0]


# -- 7: national number forms


async def test_national_number_forms_are_matched_and_corrected(tracker: Tracker, page: Page) -> None:
    errors = collect_errors(page)
    opened = await chats(page)
    await page.goto(tracker.url("national"))
    tilda = await marked(page, "#tilda")
    code = await code_of(page)
    # the tracked number, written back in the international form WhatsApp needs
    check_marked(tilda, "https://wa.me/79991234567", "", code, marker="код")
    check_marked(await marked(page, "#api"), "https://api.whatsapp.com/send", "Нужен ремонт", code, "код", phone=NUMBER)
    check_marked(await marked(page, "#spaced"), "https://wa.me/79991234567", "Здравствуйте", code, marker="код")
    assert await page.get_attribute("#other", "href") == "https://wa.me/89160001122"  # not ours: as it was

    async with page.expect_popup() as popup:
        await page.click("#tilda")
    await (await popup.value).wait_for_load_state()
    await tracker.wait_for(lambda p: p["t"] == "click")
    async with page.expect_popup() as popup:
        await page.click("#fab")  # window.open with the number as typed in the widget's settings
    await (await popup.value).wait_for_load_state()
    assert opened[0] == tilda
    check_marked(opened[1], "https://api.whatsapp.com/send", "Хочу вызвать замерщика", code, "код", phone=NUMBER)
    for url in opened:
        one_code(parse_text(url), code)
    click = await tracker.wait_for(lambda p: p["t"] == "click")
    assert (click["h"], click["c"]) == (NUMBER, code)
    assert errors == []


# -- 6: Telegram's other link forms


async def test_telegram_aliases_app_links_and_phone_links(tracker: Tracker, page: Page) -> None:
    errors = collect_errors(page)
    opened = await chats(page)
    await page.goto(tracker.url("tgforms"))
    me = await marked(page, "#me")
    code = await code_of(page)
    check_marked(me, "https://telegram.me/Furniture_Shop", "", code)
    check_marked(await marked(page, "#dog"), "https://telegram.dog/furniture_shop", "I have a question", code)
    check_marked(await marked(page, "#resolve"), "tg://resolve", "Hello from the site", code, domain="furniture_shop")
    # a phone number instead of a username: compared with the tracked WhatsApp numbers
    check_marked(await marked(page, "#phone"), "https://t.me/+79991234567", "", code)
    check_marked(await marked(page, "#resolve-phone"), "tg://resolve", "", code, phone=NUMBER)
    # chattrack's own (tracked) bot gets the code as its start parameter; another bot keeps its payload
    assert await marked(page, "#bot") == f"tg://resolve?domain=shop_bot&start={code}"
    untouched = {
        "#other-bot": "https://t.me/payments_bot?start=order_42",
        "#channel": "https://telegram.me/shop_news",
        "#invite": "https://t.me/+AbCdEf12345",
        "#other-phone": "https://t.me/+74950000000",
    }
    for selector, href in untouched.items():
        assert await page.get_attribute(selector, "href") == href

    async with page.expect_popup() as popup:
        await page.click("#dog")
    await (await popup.value).wait_for_load_state()
    click = await tracker.wait_for(lambda p: p["t"] == "click")
    assert (click["h"], click["c"]) == ("furniture_shop", code)
    async with page.expect_popup() as popup:
        await page.click("#phone")
    await (await popup.value).wait_for_load_state()
    await tracker.wait_for(lambda p: p["t"] == "click" and p["h"] == NUMBER)
    await page.clock.install()
    await page.clock.fast_forward(2000)  # a click on the same target within a second counts once
    async with page.expect_popup() as popup:
        await page.click("#launcher")
    await (await popup.value).wait_for_load_state()
    assert opened[:2] == [await page.get_attribute("#dog", "href"), await page.get_attribute("#phone", "href")]
    check_marked(opened[2], "https://telegram.me/furniture_shop", "Hi! I need advice", code)
    for url in opened:
        one_code(parse_text(url), code)
    await tracker.wait_for(lambda p: len(tracker.clicks()) == 3)
    assert errors == []


# -- 5: Android intent links


def intent_parts(url: str) -> tuple[str, list[str]]:
    """An intent URL's chat part (before the #) and its #Intent;...;end items."""
    chat, _, intent = url.partition("#")
    assert intent.startswith("Intent;") and intent.endswith(";end"), url
    return chat, intent.split(";")[1:-1]


async def record_link_clicks(page: Page) -> None:
    """The page keeps the URL each link click would open (and opens nothing: no Android here)."""
    await page.evaluate(
        """() => { window.clickedUrls = [];
            addEventListener('click', e => {
                const a = e.target.closest('[href],[data-href]');
                window.clickedUrls.push(a.getAttribute('href') || a.getAttribute('data-href'));
                e.preventDefault();
            }); }"""
    )


async def test_android_intent_links(tracker: Tracker, page: Page) -> None:
    errors = collect_errors(page)
    await page.goto(tracker.url("intents"))
    whatsapp = await marked(page, "#whatsapp")
    code = await code_of(page)
    chat, intent = intent_parts(whatsapp)
    check_marked(chat, "intent://send/", "I want to order", code, phone=NUMBER)
    fallback = f"https://wa.me/79991234567?text=I%20want%20to%20order%20%28ref%20{code}%29"
    assert intent == ["scheme=whatsapp", "package=com.whatsapp", "S.browser_fallback_url=" + quote(fallback, safe="")]

    # smsto takes no text: turned into the whatsapp-scheme form, with the phone and the text
    chat, intent = intent_parts(await marked(page, "#smsto"))
    check_marked(chat, "intent://send/", "", code, phone=NUMBER)
    assert intent == ["scheme=whatsapp", "package=com.whatsapp"]
    chat, intent = intent_parts(await marked(page, "#business", "data-href"))
    check_marked(chat, "intent://send/", "", code, phone="+7 999 123-45-67")
    assert intent == ["scheme=whatsapp", "package=com.whatsapp.w4b"]
    other = "intent://send/74950000000#Intent;scheme=smsto;package=com.whatsapp;action=android.intent.action.SENDTO;end"
    assert await page.get_attribute("#other", "href") == other
    maps = "intent://maps.google.com/maps?q=pizza#Intent;scheme=https;package=com.google.android.apps.maps;end"
    assert await page.get_attribute("#maps", "href") == maps

    await record_link_clicks(page)
    await page.click("#smsto")
    await page.click("#other")
    clicked = await page.evaluate("window.clickedUrls")
    assert clicked == [await page.get_attribute("#smsto", "href"), other]
    one_code(parse_text(intent_parts(clicked[0])[0]), code)
    click = await tracker.wait_for(lambda p: p["t"] == "click")
    assert (click["h"], click["c"], click["p"]) == (NUMBER, code, clicked[0])
    assert len(tracker.clicks()) == 1
    assert errors == []


# -- 4: forms that open a chat


def form_url(url: str) -> dict[str, str]:
    """A submitted GET form's parameters (form encoding: "+" is a space)."""
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query, keep_blank_values=True).items()}


async def test_get_forms_to_whatsapp_carry_the_code(tracker: Tracker, page: Page) -> None:
    errors = collect_errors(page)
    opened = await chats(page)
    await page.goto(tracker.url("forms"))
    await page.wait_for_function("window.chattrack && chattrack.code()")
    code = await code_of(page)
    await tracker.wait_for(lambda p: p["t"] == "view")
    await page.fill("#order-text", "12 red roses, Saturday")
    async with page.expect_popup() as popup:
        await page.click("#order-send")
    await (await popup.value).wait_for_load_state()
    assert opened[0].startswith("https://api.whatsapp.com/send?")
    assert form_url(opened[0]) == {"phone": NUMBER, "text": format_prefill("12 red roses, Saturday", code, "ref")}
    one_code(form_url(opened[0])["text"], code)
    click = await tracker.wait_for(lambda p: p["t"] == "click")
    assert (click["h"], click["c"]) == (NUMBER, code)
    assert form_url(click["p"]) == form_url(opened[0])  # the text the form carried: what the customer sends

    await page.clock.install()
    await page.clock.fast_forward(2000)  # a click on the same target within a second counts once
    async with page.expect_popup() as popup:
        await page.click("#callback-send")  # no text field: one is added
    await (await popup.value).wait_for_load_state()
    assert form_url(opened[1]) == {"phone": "+7 (999) 123-45-67", "type": "phone_number", "text": f"(ref {code})"}
    await tracker.wait_for(lambda p: len(tracker.clicks()) == 2)

    async with page.expect_popup() as popup:
        await page.click("#partner-send")
    await (await popup.value).wait_for_load_state()
    assert form_url(opened[2]) == {"phone": "74950000000", "text": "Wholesale"}  # not ours: as it was
    async with page.expect_navigation():
        await page.click("#search-send")
    assert page.url == tracker.url("forms") + "?q=roses"
    assert len(opened) == 3
    assert len(tracker.clicks()) == 2
    assert errors == []


# -- 2: shadow DOM


async def marked_deep(page: Page, path: list[str]) -> str:
    """The href of the element at ``path`` (host selectors, then the element's) once it carries the code."""
    handle = await page.wait_for_function(
        """(path) => {
            let root = document;
            for (const selector of path.slice(0, -1)) root = root.querySelector(selector)?.shadowRoot;
            const href = root?.querySelector(path[path.length - 1])?.getAttribute('href');
            const code = window.chattrack && chattrack.code();
            return code && href && href.includes(code) && href;
        }""",
        arg=path,
        timeout=10_000,
    )
    return str(await handle.json_value())


async def test_links_in_open_shadow_roots(tracker: Tracker, page: Page) -> None:
    errors = collect_errors(page)
    opened = await chats(page)
    await page.goto(tracker.url("shadow"))
    wa = await marked_deep(page, ["#launcher", "#wa"])
    code = await code_of(page)
    check_marked(wa, "https://wa.me/79991234567", "I'd like an appointment", code)
    tg = await marked_deep(page, ["#launcher", "tg-button", "#tg"])  # a shadow root in a shadow root
    check_marked(tg, "https://t.me/furniture_shop", "", code)
    await page.evaluate("renderLate()")  # rendered later into a shadow root attached before: observed
    late = await marked_deep(page, ["#late-host", "#late"])
    check_marked(late, "https://api.whatsapp.com/send", "Price of an implant", code, phone=NUMBER)
    await page.evaluate("attachLater()")  # attached after the snippet: its attachShadow is watched
    attached = await marked_deep(page, ["#attach-host", "#attached"])
    check_marked(attached, "https://wa.me/79991234567", "Second opinion", code)
    other = await page.evaluate("document.querySelector('#launcher').shadowRoot.querySelector('#other').href")
    assert other == "https://wa.me/74950000000"

    async with page.expect_popup() as popup:
        await page.click("#wa-label")  # a click inside the shadow root: the page sees only the host
    await (await popup.value).wait_for_load_state()
    click = await tracker.wait_for(lambda p: p["t"] == "click")
    assert (click["h"], click["c"]) == (NUMBER, code)
    async with page.expect_popup() as popup:
        await page.click("#tg")
    await (await popup.value).wait_for_load_state()
    assert opened == [wa, tg]
    await tracker.wait_for(lambda p: p["t"] == "click" and p["h"] == "furniture_shop")
    assert errors == []


# -- 1: navigation by assignment (the Navigation API's navigate event)


async def test_navigation_by_assignment_is_marked(tracker: Tracker, page: Page) -> None:
    errors = collect_errors(page)
    opened = await chats(page)

    async def load() -> None:
        await page.goto(tracker.url("assign"))
        await marked(page, "#ready")  # tx.js is in

    await load()
    code = await code_of(page)
    async with page.expect_request(CHAT_URL):
        await page.click("#web")  # window.location = ...
    check_marked(opened[0], "https://web.whatsapp.com/send", "Hello! I need a diagnosis", code, phone=NUMBER)
    click = await tracker.wait_for(lambda p: p["t"] == "click")
    assert (click["h"], click["c"], click["u"], click["p"]) == (NUMBER, code, tracker.url("assign"), opened[0])

    await load()
    async with page.expect_request(CHAT_URL):
        await page.click("#lead-send")  # location.href = ... in a submit handler
    check_marked(opened[1], "https://wa.me/79991234567", "Quote for Anna", code)

    await load()
    async with page.expect_request(CHAT_URL):
        await page.click("#inner")  # location.assign() from a button in a shadow root
    check_marked(opened[2], "https://api.whatsapp.com/send", "", code, phone=NUMBER)

    await load()
    async with page.expect_request(CHAT_URL):
        await page.click("#partner")  # not ours: left alone
    assert opened[3] == "https://wa.me/74950000000?text=Hello"
    assert len(opened) == 4  # each navigation went out once, marked (no unmarked one first, no loop)
    for url in opened[:3]:
        one_code(parse_text(url), code)
    await tracker.wait_for(lambda p: len(tracker.clicks()) == 3)
    assert {p["c"] for p in tracker.received} == {code}
    assert errors == []


async def test_navigation_to_the_app_scheme_is_marked(tracker: Tracker, page: Page) -> None:
    errors = collect_errors(page)
    await page.goto(tracker.url("assign"))
    await marked(page, "#ready")
    code = await code_of(page)
    await page.click("#app")  # location.href = 'whatsapp://send?...': the app, no page to load
    handle = await page.wait_for_function("navigations.length >= 2 && navigations")
    first, second = await handle.json_value()
    assert first == "whatsapp://send?phone=79991234567&text=Hello!%20I%20need%20a%20diagnosis"  # cancelled
    check_marked(second, "whatsapp://send", "Hello! I need a diagnosis", code, phone=NUMBER)
    click = await tracker.wait_for(lambda p: p["t"] == "click")
    assert (click["h"], click["c"]) == (NUMBER, code)
    assert errors == []


# -- 3: same-origin frames


async def marked_in_frame(page: Page, frame_id: str, selector: str) -> str:
    """The href of ``selector`` inside the frame ``frame_id`` once it carries the visit's code."""
    handle = await page.wait_for_function(
        """([frameId, selector]) => {
            const doc = document.getElementById(frameId)?.contentDocument;
            const href = doc?.querySelector(selector)?.getAttribute('href');
            const code = window.chattrack && chattrack.code();
            return code && href && href.includes(code) && href;
        }""",
        arg=[frame_id, selector],
        timeout=10_000,
    )
    return str(await handle.json_value())


async def test_links_and_window_open_in_same_origin_frames(tracker: Tracker, page: Page) -> None:
    errors = collect_errors(page)
    opened = await chats(page)
    await page.goto(tracker.url("frames"))
    wa = await marked_in_frame(page, "embed", "#wa")
    code = await code_of(page)
    check_marked(wa, "https://wa.me/79991234567", "Question about delivery", code)
    check_marked(await marked_in_frame(page, "inline", "#tg"), "https://t.me/furniture_shop", "", code)
    await page.evaluate("addCrmButton()")  # a frame added later, written into at once
    crm = await marked_in_frame(page, "crm", "#crm-wa")
    check_marked(crm, "https://api.whatsapp.com/send", "", code, phone=NUMBER)
    embed = page.frame_locator("#embed")
    assert await embed.locator("#other").get_attribute("href") == "https://wa.me/74950000000"
    # another origin's frame is out of reach: its links stay as they were
    foreign = page.frame_locator("#foreign")
    assert await foreign.locator("#wa").get_attribute("href") == (
        "https://wa.me/79991234567?text=Question%20about%20delivery"
    )

    async with page.expect_popup() as popup:
        await embed.locator("#wa").click()
    await (await popup.value).wait_for_load_state()
    click = await tracker.wait_for(lambda p: p["t"] == "click")
    assert (click["h"], click["c"], click["u"]) == (NUMBER, code, tracker.url("frames"))  # the page's url
    await page.clock.install()
    await page.clock.fast_forward(2000)  # a click on the same target within a second counts once
    async with page.expect_popup() as popup:
        await embed.locator("#open").click()  # window.open inside the frame
    await (await popup.value).wait_for_load_state()
    assert opened[0] == wa
    check_marked(opened[1], "https://api.whatsapp.com/send", "From the embedded widget", code, phone=NUMBER)
    await tracker.wait_for(lambda p: len(tracker.clicks()) == 2)
    assert [c["p"] for c in tracker.clicks()] == opened  # the frame's window.open reports its url too

    # the frame reloads (another page of the widget): marked and hooked again
    await page.evaluate("document.getElementById('embed').src = '/pages/frame-widget.html?step=2'")
    await page.wait_for_function("document.getElementById('embed').contentWindow.location.search === '?step=2'")
    reloaded = await marked_in_frame(page, "embed", "#wa")
    check_marked(reloaded, "https://wa.me/79991234567", "Question about delivery", code)
    await page.clock.fast_forward(2000)
    async with page.expect_popup() as popup:
        await page.frame_locator("#embed").locator("#open").click()
    await (await popup.value).wait_for_load_state()
    check_marked(opened[2], "https://api.whatsapp.com/send", "From the embedded widget", code, phone=NUMBER)
    for url in opened:
        one_code(parse_text(url), code)
    await tracker.wait_for(lambda p: len(tracker.clicks()) == 3)
    assert errors == []
