"""The dashboard's frame: who gets the page, and its static files served compressed and cached."""

from __future__ import annotations

import gzip
from typing import Any

import aiohttp

from dashboard.keys import STATIC
from tests.dashboard_helpers import OWNER_ID, csrf_of, session_cookie


async def test_page_wants_a_session_of_a_member(start_server: Any, http: aiohttp.ClientSession) -> None:
    server = await start_server(telegram_owner_ids=str(OWNER_ID))
    async with http.get(server.url + "/dashboard") as response:
        assert response.status == 401
        assert "text/html" in response.headers["Content-Type"]
    async with http.get(server.url + "/dashboard", cookies={"chattrack_session": "x" * 40}) as response:
        assert response.status == 401  # an unknown session
    async with http.get(server.url + "/dashboard", cookies=await session_cookie(server)) as response:
        assert response.status == 200
        assert csrf_of(await response.text())
        assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    async with http.get(server.url + "/dashboard", cookies=await session_cookie(server, 777)) as response:
        assert response.status == 403  # signed in, but neither owner nor staff


async def test_static_files_gzipped_versioned_and_cached(start_server: Any, http: aiohttp.ClientSession) -> None:
    server = await start_server()
    async with http.get(server.url + "/dashboard", cookies=await session_cookie(server)) as response:
        assert response.status == 403  # no owner configured: nobody's member
    url = server.app[STATIC].url("chart.umd.min.js")
    async with http.get(server.url + url, headers={"Accept-Encoding": "gzip"}, auto_decompress=False) as response:
        assert response.status == 200
        assert response.headers["Content-Encoding"] == "gzip"
        assert "immutable" in response.headers["Cache-Control"]
        body = gzip.decompress(await response.read())
        assert body.startswith(b"/*!\n * Chart.js v4")
        etag = response.headers["ETag"]
    async with http.get(server.url + url, headers={"If-None-Match": etag}) as response:
        assert response.status == 304
    async with http.get(server.url + "/dashboard/static/nothing.js") as response:
        assert response.status == 404
