"""GET /t.js from the real server: content type, caching, the configuration it carries."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import aiohttp
import pytest

from tracking.settings import Settings, SettingsError
from webhooks.app import create_app


async def test_script_is_served_cacheable_with_the_configuration(
    start_server: Any, http: aiohttp.ClientSession
) -> None:
    server = await start_server(
        tracked_numbers="8 (999) 123-45-67",
        telegram_usernames="@Shop_Bot",
        presets={"/kids/*": "Сколько стоит детская съёмка?"},
        consent_required=True,
    )
    async with http.get(server.url + "/t.js") as response:
        assert response.status == 200
        assert response.headers["Content-Type"] == "application/javascript; charset=utf-8"
        assert "max-age" in response.headers["Cache-Control"]
        etag = response.headers["ETag"]
        body = await response.text()
    assert "79991234567" in body and "shop_bot" in body
    assert "Сколько стоит детская съёмка?" in body
    assert "eval(" not in body
    async with http.get(server.url + "/t.js", headers={"If-None-Match": etag}) as response:
        assert response.status == 304


async def test_the_second_file_is_served_cacheable_with_cors(start_server: Any, http: aiohttp.ClientSession) -> None:
    server = await start_server(tracked_numbers="8 (999) 123-45-67")
    async with http.get(server.url + "/t.js") as response:
        assert "89991234567" in await response.text()  # the number's national form, for tx.js
    async with http.get(server.url + "/tx.js") as response:
        assert response.status == 200
        assert response.headers["Content-Type"] == "application/javascript; charset=utf-8"
        assert response.headers["Access-Control-Allow-Origin"] == "*"  # t.js loads it with import()
        assert "max-age" in response.headers["Cache-Control"]
        etag = response.headers["ETag"]
        assert (await response.text()).startswith("export default(")
    async with http.get(server.url + "/tx.js", headers={"If-None-Match": etag}) as response:
        assert response.status == 304


def test_a_bad_preset_stops_start_up_naming_the_setting(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings(presets={"re:[unclosed": "Hello"})
    with pytest.raises(SettingsError, match="CHATTRACK_PRESETS"):
        create_app(settings)
