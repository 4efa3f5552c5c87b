"""Signing in to the dashboard in tests that are not about signing in: a session opened straight in the store
(the ways in themselves are tested in test_dashboard_auth.py)."""

from __future__ import annotations

import re

import aiohttp

from dashboard.sessions import Person, open_session
from dashboard.viewer import COOKIE
from reports.i18n import Lang
from tests.conftest import RunningServer
from tracking.periods import utc_now

OWNER_ID = 1001  # start servers with telegram_owner_ids=str(OWNER_ID)


async def session_cookie(
    server: RunningServer, user_id: int = OWNER_ID, name: str = "Анна", lang: Lang = "ru"
) -> dict[str, str]:
    """The cookie of a fresh session for `user_id` (their role is whatever the server says it is)."""
    session = await open_session(server.store, Person(user_id=user_id, name=name, lang=lang), utc_now())
    return {COOKIE: session.id}


async def signed_in(server: RunningServer, user_id: int = OWNER_ID, lang: Lang = "ru") -> aiohttp.ClientSession:
    """An HTTP client holding a session cookie (close it after use)."""
    return aiohttp.ClientSession(base_url=server.url, cookies=await session_cookie(server, user_id, lang=lang))


def csrf_of(page: str) -> str:
    """The CSRF token a dashboard page carries in its <meta name="csrf-token">."""
    found = re.search(r'<meta name="csrf-token" content="([^"]+)">', page)
    assert found is not None, "the page carries no CSRF token"
    return found.group(1)
