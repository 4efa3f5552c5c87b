"""User-Agent → OS, browser and device type, on real UA strings."""

from __future__ import annotations

import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tracking.useragent import DeviceInfo, describe

IPHONE_SAFARI = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.4.1 Mobile/15E148 Safari/604.1"
)
ANDROID_CHROME = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.6367.82 Mobile Safari/537.36"
)
# Chrome's reduced UA: model "K", Android version frozen at 10
ANDROID_CHROME_REDUCED = (
    "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36"
)
ANDROID_TABLET_REDUCED = (
    "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"
)
GALAXY_TAB = (
    "Mozilla/5.0 (Linux; Android 13; SM-X200) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"
)
FIREFOX_ANDROID_TABLET = "Mozilla/5.0 (Android 13; Tablet; rv:125.0) Gecko/125.0 Firefox/125.0"
YANDEX_WINDOWS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 "
    "YaBrowser/24.4.0.0 Safari/537.36"
)
YANDEX_ANDROID = (
    "Mozilla/5.0 (Linux; arm_64; Android 13; SM-A525F) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/122.0.6261.128 YaBrowser/24.4.2.60.00 SA/3 Mobile Safari/537.36"
)
YANDEX_IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.0 YaBrowser/24.4.5.491.10 SA/3 Mobile/15E148 Safari/604.1"
)
EDGE_WINDOWS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 "
    "Safari/537.36 Edg/124.0.2478.51"
)
CHROME_WINDOWS_7 = (
    "Mozilla/5.0 (Windows NT 6.1; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/109.0.0.0 Safari/537.36"
)
MACOS_SAFARI = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.4.1 Safari/605.1.15"
)
FIREFOX_UBUNTU = "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0"
CHROMEBOOK = (
    "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"
)
IPAD_SAFARI = (
    "Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/16.6 Mobile/15E148 Safari/604.1"
)
IPAD_CHROME = (
    "Mozilla/5.0 (iPad; CPU OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "CriOS/124.0.6367.88 Mobile/15E148 Safari/604.1"
)
KINDLE_FIRE = (
    "Mozilla/5.0 (Linux; Android 11; KFTRWI) AppleWebKit/537.36 (KHTML, like Gecko) Silk/124.3.1 "
    "like Chrome/124.0.6367.179 Safari/537.36"
)
GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
GOOGLEBOT_SMARTPHONE = (
    "Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.6367.82 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
)
YANDEXBOT = "Mozilla/5.0 (compatible; YandexBot/3.0; +http://yandex.com/bots)"
BINGBOT = (
    "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm) "
    "Chrome/116.0.1938.76 Safari/537.36"
)
TELEGRAM_LINK_PREVIEW = "TelegramBot (like TwitterBot)"
WHATSAPP_LINK_PREVIEW = "WhatsApp/2.23.20.0"
# Telegram's in-app browser on iOS is a bare WKWebView: no "Safari", no "Version".
TELEGRAM_IOS_IN_APP = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148"
)
TELEGRAM_ANDROID_IN_APP = (
    "Mozilla/5.0 (Linux; Android 14; SM-S918B Build/UP1A.231005.007; wv) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Version/4.0 Chrome/124.0.6367.82 Mobile Safari/537.36 Telegram-Android/10.12.0 "
    "(Samsung SM-S918B; Android 14; SDK 34; HIGH)"
)
INSTAGRAM_ANDROID = (
    "Mozilla/5.0 (Linux; Android 13; 2201117TG Build/TKQ1.221114.001; wv) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Version/4.0 Chrome/120.0.6099.210 Mobile Safari/537.36 Instagram 315.0.0.29.109 Android "
    "(33/13; 440dpi; 1080x2190; Xiaomi; 2201117TG; spes; qcom; ru_RU; 553488478)"
)
FACEBOOK_IOS = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 "
    "[FBAN/FBIOS;FBAV/459.0.0.41.110;FBBV/588440218;FBDV/iPhone15,2;FBMD/iPhone;FBSN/iOS;FBSV/17.4;FBSS/3;FBID/phone]"
)
SAMSUNG_INTERNET = (
    "Mozilla/5.0 (Linux; Android 14; SAMSUNG SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) "
    "SamsungBrowser/24.0 Chrome/117.0.0.0 Mobile Safari/537.36"
)
CHROME_IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "CriOS/124.0.6367.88 Mobile/15E148 Safari/604.1"
)
HEADLESS_CHROME = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/124.0.0.0 Safari/537.36"
)
IE11_WINDOWS_7 = (  # "Tablet PC 2.0" is a .NET token of Windows desktops, not a tablet
    "Mozilla/5.0 (Windows NT 6.1; WOW64; Trident/7.0; SLCC2; .NET CLR 2.0.50727; Media Center PC 6.0; "
    "Tablet PC 2.0; rv:11.0) like Gecko"
)
CUBOT_PHONE = (  # a phone brand with "bot" inside its name is still a phone
    "Mozilla/5.0 (Linux; Android 10; CUBOT X30) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Mobile Safari/537.36"
)


@pytest.mark.parametrize(
    ("user_agent", "expected"),
    [
        (IPHONE_SAFARI, DeviceInfo("iOS 17.4", "Safari 17", "mobile")),
        (ANDROID_CHROME, DeviceInfo("Android 14", "Chrome 124", "mobile")),
        (ANDROID_CHROME_REDUCED, DeviceInfo("Android 10", "Chrome 124", "mobile")),
        (ANDROID_TABLET_REDUCED, DeviceInfo("Android 10", "Chrome 124", "tablet")),
        (GALAXY_TAB, DeviceInfo("Android 13", "Chrome 120", "tablet")),
        (FIREFOX_ANDROID_TABLET, DeviceInfo("Android 13", "Firefox 125", "tablet")),
        (YANDEX_WINDOWS, DeviceInfo("Windows 10", "Yandex Browser 24", "desktop")),
        (YANDEX_ANDROID, DeviceInfo("Android 13", "Yandex Browser 24", "mobile")),
        (YANDEX_IPHONE, DeviceInfo("iOS 17.4", "Yandex Browser 24", "mobile")),
        (EDGE_WINDOWS, DeviceInfo("Windows 10", "Edge 124", "desktop")),
        (CHROME_WINDOWS_7, DeviceInfo("Windows 7", "Chrome 109", "desktop")),
        (MACOS_SAFARI, DeviceInfo("macOS", "Safari 17", "desktop")),
        (FIREFOX_UBUNTU, DeviceInfo("Ubuntu", "Firefox 125", "desktop")),
        (CHROMEBOOK, DeviceInfo("ChromeOS", "Chrome 124", "desktop")),
        (IPAD_SAFARI, DeviceInfo("iOS 16.6", "Safari 16", "tablet")),
        (IPAD_CHROME, DeviceInfo("iOS 17.4", "Chrome 124", "tablet")),
        (KINDLE_FIRE, DeviceInfo("Android 11", "Amazon Silk 124", "tablet")),
        (TELEGRAM_IOS_IN_APP, DeviceInfo("iOS 17.4", "iOS WebView", "mobile")),
        (TELEGRAM_ANDROID_IN_APP, DeviceInfo("Android 14", "Telegram 10", "mobile")),
        (INSTAGRAM_ANDROID, DeviceInfo("Android 13", "Instagram 315", "mobile")),
        (FACEBOOK_IOS, DeviceInfo("iOS 17.4", "Facebook 459", "mobile")),
        (SAMSUNG_INTERNET, DeviceInfo("Android 14", "Samsung Internet 24", "mobile")),
        (CHROME_IPHONE, DeviceInfo("iOS 17.4", "Chrome 124", "mobile")),
        (CUBOT_PHONE, DeviceInfo("Android 10", "Chrome 120", "mobile")),
        (IE11_WINDOWS_7, DeviceInfo("Windows 7", "IE 11", "desktop")),
    ],
)
def test_describe_real_browsers(user_agent: str, expected: DeviceInfo) -> None:
    assert describe(user_agent) == expected


@pytest.mark.parametrize(
    "user_agent",
    [
        GOOGLEBOT,
        GOOGLEBOT_SMARTPHONE,
        YANDEXBOT,
        BINGBOT,
        TELEGRAM_LINK_PREVIEW,
        WHATSAPP_LINK_PREVIEW,
        HEADLESS_CHROME,
        "curl/8.5.0",
        "Wget/1.21.4",
        "python-requests/2.31.0",
        "Python/3.11 aiohttp/3.14.0",
        "Go-http-client/2.0",
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 "
        "Chrome-Lighthouse",
    ],
)
def test_describe_bots(user_agent: str) -> None:
    assert describe(user_agent).device == "bot"


def test_googlebot_names_itself() -> None:
    assert describe(GOOGLEBOT) == DeviceInfo(None, "Googlebot 2", "bot")


@pytest.mark.parametrize("user_agent", [None, "", "   ", "-", "garbage", "x" * 100_000, "\x00\x01\x02"])
def test_describe_unknown_is_empty(user_agent: str | None) -> None:
    assert describe(user_agent) == DeviceInfo(None, None, None)


def test_describe_non_string_is_empty() -> None:
    assert describe(12345) == DeviceInfo()  # type: ignore[arg-type]


@given(st.text(max_size=400))
def test_describe_never_raises(user_agent: str) -> None:
    info = describe(user_agent)
    assert info.device in (None, "mobile", "tablet", "desktop", "bot")


def test_describe_is_fast_on_repeated_agents() -> None:
    agents = [IPHONE_SAFARI, ANDROID_CHROME, YANDEX_WINDOWS, EDGE_WINDOWS, MACOS_SAFARI, IPAD_SAFARI] * 2000
    describe(IPHONE_SAFARI)  # load the rules outside the measurement
    started = time.perf_counter()
    for agent in agents:
        describe(agent)
    elapsed = time.perf_counter() - started
    # cached: far under a microsecond-scale budget even on a slow CI machine (12,000 calls < 0.5 s)
    assert elapsed < 0.5, f"{len(agents)} cached calls took {elapsed:.3f}s"
