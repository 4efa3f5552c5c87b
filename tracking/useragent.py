"""OS, browser and device type of a visit, from its User-Agent header (ua-parser, uap-core rules).

What a User-Agent cannot tell, and so we do not claim:
- Windows 11 sends "Windows NT 10.0": both show as "Windows 10".
- macOS froze its UA version at 10.15.7, so macOS shows without a version.
- iPadOS Safari asks for desktop sites with a Mac UA: such iPads show as macOS desktops.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import ua_parser

_MAX_UA = 1024  # real UAs (even in-app ones) stay well under this; longer ones are cut first

# ua-parser's family names → the names people know.
_BROWSER_NAMES = {
    "Mobile Safari": "Safari",
    "Mobile Safari UI/WKWebView": "iOS WebView",  # in-app browsers on iOS (Telegram, VK…)
    "Chrome Mobile": "Chrome",
    "Chrome Mobile iOS": "Chrome",
    "Chrome Mobile WebView": "Android WebView",
    "Firefox Mobile": "Firefox",
    "Firefox iOS": "Firefox",
    "Opera Mobile": "Opera",
    "Edge Mobile": "Edge",
    "HeadlessChrome": "Headless Chrome",
    "MiuiBrowser": "MIUI Browser",
}
_OS_NAMES = {"Mac OS X": "macOS", "Chrome OS": "ChromeOS"}
_UNVERSIONED_OS = frozenset({"macOS", "ChromeOS"})  # frozen or meaningless UA versions
_DESKTOP_OS = frozenset(
    {"Windows", "macOS", "Linux", "Ubuntu", "ChromeOS", "Fedora", "Debian", "FreeBSD", "OpenBSD", "Mint"}
)
_TABLET_DEVICES = frozenset({"iPad", "Kindle"})
_TABLET_BRANDS = frozenset({"Generic_Android_Tablet"})
# Automation that ua-parser does not call a spider. Plain substring tests of the lower-cased UA:
# one regex alternation of these is several times slower than the whole ua-parser lookup.
_AUTOMATION_TOKENS = (
    "headless", "curl/", "wget/", "python-", "python/", "go-http-client", "java/", "scrapy", "phantomjs",
    "lighthouse", "puppeteer", "playwright", "selenium", "crawler", "spider",
)  # fmt: skip
_BOT_WORD = re.compile(r"\bbot\b")  # word-bounded so phones like "CUBOT X30" stay phones


def _is_automation(ua: str) -> bool:
    lowered = ua.lower()
    return any(token in lowered for token in _AUTOMATION_TOKENS) or _BOT_WORD.search(lowered) is not None


@dataclass(frozen=True, slots=True)
class DeviceInfo:
    os: str | None = None  # "iOS 17.4", "Android 14", "Windows 10", "macOS"
    browser: str | None = None  # "Chrome 124", "Safari 17", "Yandex Browser 24"
    device: str | None = None  # "mobile" | "tablet" | "desktop" | "bot" | None


def _versioned(name: str, major: str | None, minor: str | None = None) -> str:
    if not major:
        return name
    return f"{name} {major}.{minor}" if minor else f"{name} {major}"


def _device_type(ua: str, result: ua_parser.Result, os_name: str | None) -> str | None:
    device = result.device
    if (device is not None and device.family == "Spider") or _is_automation(ua):
        return "bot"
    if device is not None and (device.family in _TABLET_DEVICES or device.brand in _TABLET_BRANDS):
        return "tablet"
    if "iPad" in ua or "Tablet;" in ua:  # Firefox on Android tablets; not IE's "Tablet PC 2.0"
        return "tablet"
    if os_name == "Android":
        # Google's rule for Android: phones send "Mobile", tablets do not.
        return "mobile" if "Mobile" in ua else "tablet"
    if "Mobi" in ua or (device is not None and device.family in ("iPhone", "iPod")):
        return "mobile"
    if os_name in _DESKTOP_OS or "Windows NT" in ua or "Macintosh" in ua or "X11" in ua:
        return "desktop"
    return None


@lru_cache(maxsize=4096)
def _describe(ua: str) -> DeviceInfo:
    result = ua_parser.parse(ua)
    os_name = os_label = None
    if result.os is not None and result.os.family != "Other":
        os_name = _OS_NAMES.get(result.os.family, result.os.family)
        if os_name in _UNVERSIONED_OS:
            os_label = os_name
        elif os_name == "iOS":
            os_label = _versioned(os_name, result.os.major, result.os.minor)
        else:
            os_label = _versioned(os_name, result.os.major)
    browser = None
    if result.user_agent is not None and result.user_agent.family != "Other":
        family = result.user_agent.family
        browser = _versioned(_BROWSER_NAMES.get(family, family), result.user_agent.major)
    return DeviceInfo(os=os_label, browser=browser, device=_device_type(ua, result, os_name))


def describe(user_agent: str | None) -> DeviceInfo:
    """What the User-Agent says about the visitor's OS, browser and kind of device."""
    if not isinstance(user_agent, str):
        return DeviceInfo()
    ua = user_agent[:_MAX_UA].strip()
    if not ua:
        return DeviceInfo()
    return _describe(ua)
