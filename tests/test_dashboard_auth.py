"""The dashboard's ways in over HTTP: a Mini App's initData, the bot's one-time link, signing out; and every
refusal (forged, expired, replayed, a stranger, a used link, a removed staff member, a cross-site change)."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import aiohttp
import pytest

from dashboard.sessions import Person, new_login
from dashboard.viewer import COOKIE
from tests.conftest import RunningServer
from tests.dashboard_helpers import OWNER_ID, csrf_of, session_cookie
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.mini_app import BOT_TOKEN, init_data, telegram_user
from tracking.periods import utc_now
from tracking.store.base import StaffMember

STAFF_ID, STRANGER_ID = 2002, 3003
JSON = {"Accept": "application/json"}


@pytest.fixture
async def telegram() -> AsyncIterator[FakeTelegramAPI]:
    async with FakeTelegramAPI() as fake:
        yield fake


@pytest.fixture
async def server(start_server: Any, telegram: FakeTelegramAPI) -> RunningServer:
    """The whole server with a bot (on the local Bot API): the bot's token is what initData is signed with."""
    running: RunningServer = await start_server(
        telegram_bot_token=BOT_TOKEN, telegram_owner_ids=str(OWNER_ID), telegram_api_url=telegram.url
    )
    return running


def staff_member() -> StaffMember:
    return StaffMember(user_id=STAFF_ID, name="Мария", added_at=utc_now(), added_by=OWNER_ID)


def now_ts() -> int:
    return int(time.time())


async def post_init_data(
    http: aiohttp.ClientSession, server: RunningServer, data: str, **headers: str
) -> tuple[int, dict[str, Any], aiohttp.ClientResponse]:
    async with http.post(server.url + "/dashboard/session", json={"initData": data}, headers=headers) as response:
        return response.status, await response.json(), response


async def dashboard_status(http: aiohttp.ClientSession, server: RunningServer, cookie: str) -> int:
    async with http.get(server.url + "/dashboard", cookies={COOKIE: cookie}) as response:
        return response.status


# inside Telegram: initData -------------------------------------------------------------------------


async def test_signed_init_data_of_an_owner_opens_a_session(server: RunningServer, http: aiohttp.ClientSession) -> None:
    data = init_data(telegram_user(OWNER_ID, "Анна", "en"), now_ts())

    status, body, response = await post_init_data(http, server, data)

    assert status == 200 and body == {"ok": True, "next": "/dashboard"}
    cookie = response.cookies[COOKIE]
    assert cookie["httponly"] and cookie["path"] == "/dashboard" and cookie["samesite"] == "Lax"
    assert not cookie["secure"]  # plain http in development: a Secure cookie would never come back
    async with http.get(server.url + "/dashboard", cookies={COOKIE: cookie.value}) as page:
        assert page.status == 200
        assert csrf_of(await page.text())
        assert '<html lang="en">' in await page.text()  # Telegram's language for the person


async def test_init_data_as_a_form_field_goes_to_the_dashboard(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    data = init_data(telegram_user(OWNER_ID), now_ts())
    async with http.post(server.url + "/dashboard/session", data={"initData": data}, allow_redirects=False) as response:
        assert response.status == 303
        assert response.headers["Location"] == "/dashboard"
        assert await dashboard_status(http, server, response.cookies[COOKIE].value) == 200


async def test_forged_init_data_is_refused(server: RunningServer, http: aiohttp.ClientSession) -> None:
    someone_else = json.dumps(telegram_user(OWNER_ID), separators=(",", ":"))
    forgeries = {
        "another user under a stranger's hash": init_data(
            telegram_user(STRANGER_ID), now_ts(), edits={"user": someone_else}
        ),
        "signed with another bot's token": init_data(telegram_user(OWNER_ID), now_ts(), token="654321:OTHER-token"),
        "a fresh date under an old hash": init_data(
            telegram_user(OWNER_ID), now_ts() - 90_000, edits={"auth_date": str(now_ts())}
        ),
        "no hash at all": "auth_date=1&user=" + someone_else,
        "not a query string": "{}",
    }
    for case, data in forgeries.items():
        status, body, response = await post_init_data(http, server, data)
        assert (status, body["reason"]) == (401, "forged"), case
        assert body["error"].startswith("Telegram не подтвердил данные для входа"), case
        assert COOKIE not in response.cookies, case


async def test_expired_init_data_is_refused_after_the_setting(
    start_server: Any, telegram: FakeTelegramAPI, http: aiohttp.ClientSession
) -> None:
    server = await start_server(
        telegram_bot_token=BOT_TOKEN,
        telegram_owner_ids=str(OWNER_ID),
        telegram_api_url=telegram.url,
        mini_app_max_age_hours=2,
    )
    old = init_data(telegram_user(OWNER_ID, lang="en"), now_ts() - 2 * 3600 - 60)
    fresh = init_data(telegram_user(OWNER_ID, lang="en"), now_ts() - 2 * 3600 + 60)

    expired_status, expired, _ = await post_init_data(http, server, old)
    fresh_status, _, _ = await post_init_data(http, server, fresh)

    assert (expired_status, expired["reason"]) == (401, "expired")
    assert expired["error"].startswith("The sign-in data is too old.")  # the person's own language
    assert fresh_status == 200


async def test_the_same_init_data_twice_is_a_replay(server: RunningServer, http: aiohttp.ClientSession) -> None:
    data = init_data(telegram_user(OWNER_ID), now_ts())

    first, _, _ = await post_init_data(http, server, data)
    again, body, response = await post_init_data(http, server, data)

    assert first == 200
    assert (again, body["reason"]) == (401, "replayed")
    assert body["error"].startswith("Эти данные для входа уже использованы.")
    assert COOKIE not in response.cookies


async def test_a_stranger_with_valid_init_data_gets_403_a_member_of_staff_gets_in(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    await server.store.add_staff(staff_member())

    stranger, body, response = await post_init_data(http, server, init_data(telegram_user(STRANGER_ID), now_ts()))
    staff, _, staff_response = await post_init_data(http, server, init_data(telegram_user(STAFF_ID), now_ts()))

    assert (stranger, body["reason"]) == (403, "stranger")
    assert body["error"] == "Отчёты открыты только владельцам и сотрудникам. Попросите владельца пригласить вас."
    assert COOKIE not in response.cookies
    assert staff == 200
    assert await dashboard_status(http, server, staff_response.cookies[COOKIE].value) == 200


async def test_a_refusal_is_a_page_in_words_unless_json_was_asked(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    data = init_data(telegram_user(STRANGER_ID), now_ts(), edits={"user": "{}"})
    headers = {"Accept": "text/html", "Accept-Language": "en-GB,en;q=0.9"}
    async with http.post(server.url + "/dashboard/session", data={"initData": data}, headers=headers) as response:
        page = await response.text()
        assert response.status == 401 and "text/html" in response.headers["Content-Type"]
        assert "Telegram did not confirm the sign-in data." in page and '<html lang="en">' in page
    async with http.post(server.url + "/dashboard/session", data={}, headers=JSON) as response:
        assert response.status == 400
        assert (await response.json())["error"] == "В запросе нет данных для входа из Telegram."
    async with http.post(
        server.url + "/dashboard/session", data="not json", headers={"Content-Type": "application/json"}
    ) as response:
        assert response.status == 400


async def test_init_data_from_a_page_of_another_site_is_refused(
    server: RunningServer, http: aiohttp.ClientSession
) -> None:
    data = init_data(telegram_user(OWNER_ID), now_ts())

    status, body, _ = await post_init_data(http, server, data, Origin="https://evil.test")
    ours, _, _ = await post_init_data(http, server, data, Origin=server.url)

    assert (status, body["reason"]) == (403, "csrf")
    assert ours == 200  # the refused attempt did not spend it


async def test_without_a_bot_no_init_data_is_accepted(start_server: Any, http: aiohttp.ClientSession) -> None:
    server = await start_server(telegram_owner_ids=str(OWNER_ID))
    status, body, _ = await post_init_data(http, server, init_data(telegram_user(OWNER_ID), now_ts()))
    assert (status, body["reason"]) == (401, "no_bot")


# in a browser: the one-time link -------------------------------------------------------------------


async def test_a_login_link_opens_one_session_once(start_server: Any, http: aiohttp.ClientSession) -> None:
    server = await start_server(telegram_owner_ids=str(OWNER_ID))
    token = await new_login(server.store, Person(OWNER_ID, "Анна", "ru"), utc_now())
    link = server.url + "/dashboard/login?token=" + token

    for _ in range(2):  # a link previewer's GET, then the person's: neither spends the link
        async with http.get(link) as response:
            page = await response.text()
            assert response.status == 200
            assert f'<input type="hidden" name="token" value="{token}">' in page
            assert 'action="/dashboard/login"' in page and "<button" in page
    async with http.post(server.url + "/dashboard/login", data={"token": token}, allow_redirects=False) as response:
        assert response.status == 303 and response.headers["Location"] == "/dashboard"
        cookie = response.cookies[COOKIE]
    async with http.post(server.url + "/dashboard/login", data={"token": token}) as again:
        words = await again.text()

    assert cookie["httponly"] and cookie["samesite"] == "Lax"
    assert await dashboard_status(http, server, cookie.value) == 200
    assert again.status == 401
    assert "Ссылка для входа уже использована или устарела" in words


async def test_an_expired_or_made_up_link_opens_nothing(start_server: Any, http: aiohttp.ClientSession) -> None:
    server = await start_server(telegram_owner_ids=str(OWNER_ID))
    old = await new_login(server.store, Person(OWNER_ID, "Анна", "ru"), utc_now() - timedelta(minutes=11))

    for token in (old, "x" * 32, ""):
        async with http.post(server.url + "/dashboard/login", data={"token": token}, headers=JSON) as response:
            assert response.status == 401
            assert (await response.json())["reason"] == "link_used"
            assert COOKIE not in response.cookies
    async with http.get(server.url + "/dashboard/login") as response:
        assert response.status == 401  # no token to submit


async def test_a_link_for_someone_removed_since_opens_nothing(start_server: Any, http: aiohttp.ClientSession) -> None:
    server = await start_server(telegram_owner_ids=str(OWNER_ID))
    await server.store.add_staff(staff_member())
    token = await new_login(server.store, Person(STAFF_ID, "Мария", "en"), utc_now())
    await server.store.remove_staff(STAFF_ID)

    async with http.post(server.url + "/dashboard/login", data={"token": token}) as response:
        assert response.status == 403
        assert "The reports are for the owners and the staff only." in await response.text()
        assert COOKIE not in response.cookies


async def test_over_https_the_cookie_is_secure(start_server: Any, http: aiohttp.ClientSession) -> None:
    server = await start_server(telegram_owner_ids=str(OWNER_ID), public_url="https://chattrack.example.com")
    token = await new_login(server.store, Person(OWNER_ID, "Анна", "ru"), utc_now())
    async with http.post(server.url + "/dashboard/login", data={"token": token}, allow_redirects=False) as response:
        cookie = response.cookies[COOKIE]
    # SameSite=None: Telegram's web client shows the Mini App in a frame of another site
    assert cookie["secure"] and cookie["httponly"] and cookie["samesite"] == "None"


async def test_a_link_posted_from_another_site_is_refused(start_server: Any, http: aiohttp.ClientSession) -> None:
    server = await start_server(telegram_owner_ids=str(OWNER_ID))
    token = await new_login(server.store, Person(OWNER_ID, "Анна", "ru"), utc_now())
    headers = {"Origin": "https://evil.test"}
    async with http.post(server.url + "/dashboard/login", data={"token": token}, headers=headers) as response:
        assert response.status == 403
    async with http.post(server.url + "/dashboard/login", data={"token": token}, allow_redirects=False) as response:
        assert response.status == 303  # still unspent


# sessions --------------------------------------------------------------------------------------------


async def test_removing_a_member_of_staff_ends_their_session(start_server: Any, http: aiohttp.ClientSession) -> None:
    server = await start_server(telegram_owner_ids=str(OWNER_ID))
    await server.store.add_staff(staff_member())
    cookies = await session_cookie(server, STAFF_ID, "Мария", "ru")

    async with http.get(server.url + "/dashboard", cookies=cookies) as before:
        assert before.status == 200
    await server.store.remove_staff(STAFF_ID)
    async with http.get(server.url + "/dashboard", cookies=cookies) as after:
        page = await after.text()

    assert after.status == 403
    assert "Отчёты открыты только владельцам и сотрудникам." in page
    assert "csrf-token" not in page  # nothing of the session's is shown


async def test_signing_out_wants_the_sessions_csrf_token(start_server: Any, http: aiohttp.ClientSession) -> None:
    server = await start_server(telegram_owner_ids=str(OWNER_ID))
    cookies = await session_cookie(server)
    async with http.get(server.url + "/dashboard", cookies=cookies) as response:
        csrf = csrf_of(await response.text())
    logout = server.url + "/dashboard/logout"

    async with http.post(logout, cookies=cookies, data={}, allow_redirects=False) as no_token:
        assert no_token.status == 403
        assert "Запрос пришёл не со страницы отчётов" in await no_token.text()
    cross_site = {"Origin": "https://evil.test"}
    async with http.post(logout, cookies=cookies, data={"csrf": csrf}, headers=cross_site) as foreign:
        assert foreign.status == 403
    assert await dashboard_status(http, server, cookies[COOKIE]) == 200  # still signed in
    async with http.post(logout, cookies=cookies, data={"csrf": csrf}, allow_redirects=False) as signed_out:
        assert signed_out.status == 303 and signed_out.headers["Location"] == "/dashboard"
        assert signed_out.cookies[COOKIE].value == ""  # the browser forgets it

    assert await dashboard_status(http, server, cookies[COOKIE]) == 401  # and the server too


async def test_signed_out_page_says_how_to_sign_in_in_the_browsers_language(
    start_server: Any, http: aiohttp.ClientSession
) -> None:
    server = await start_server(telegram_owner_ids=str(OWNER_ID))
    async with http.get(server.url + "/dashboard", headers={"Accept-Language": "en-US,en;q=0.8"}) as english:
        page = await english.text()
        assert english.status == 401
        assert "send /web to the bot" in page and 'data-reason="signed_out"' in page
        assert "/dashboard/static/signin.js?v=" in page
    async with http.get(server.url + "/dashboard", headers={"Accept-Language": "ru"}) as russian:
        assert "отправьте боту команду /web" in await russian.text()
    async with http.get(server.url + "/dashboard", headers=JSON) as asked_json:
        assert asked_json.status == 401
        assert (await asked_json.json())["reason"] == "signed_out"
