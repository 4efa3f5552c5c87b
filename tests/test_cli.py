"""`chattrack recompute-buckets`: after the business's time zone changes, reports regroup correctly."""

from __future__ import annotations

import asyncio
import os
import socket
import sys
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp

from tests.conftest import twilio_form
from tracking.periods import buckets_for


async def recompute_buckets(env: dict[str, str]) -> tuple[int | None, bytes, bytes]:
    """Runs `chattrack recompute-buckets` as an owner would, with these settings: exit code, stdout, stderr."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "webhooks.cli",
        "recompute-buckets",
        env=env,
        cwd=Path(__file__).parent.parent,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    return process.returncode, out, err


async def test_recompute_buckets_after_a_time_zone_change(start_server: Any, http: aiohttp.ClientSession) -> None:
    server = await start_server(timezone="Pacific/Pago_Pago")  # UTC-11
    await server.post_twilio(http, twilio_form("Здравствуйте"))
    [before] = await server.store.find_dialogs(contact_id="+79161234567")
    kiritimati = ZoneInfo("Pacific/Kiritimati")  # UTC+14: always another local day than UTC-11
    assert before.buckets.day != buckets_for(before.started_at, kiritimati).day

    env = {
        **os.environ,
        "CHATTRACK_DATABASE_URL": server.settings.database_url,
        "CHATTRACK_TIMEZONE": "Pacific/Kiritimati",
    }
    returncode, out, _ = await recompute_buckets(env)

    assert returncode == 0, out
    assert "1 dialog(s) for Pacific/Kiritimati" in out.decode()
    [after] = await server.store.find_dialogs(contact_id="+79161234567")
    assert after.buckets == buckets_for(before.started_at, kiritimati)


async def test_recompute_buckets_says_which_setting_points_at_an_unreachable_store() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"mongodb://app:secret@127.0.0.1:{port}/chattrack?serverSelectionTimeoutMS=300&connectTimeoutMS=300"
    env = {**os.environ, "CHATTRACK_DATABASE_URL": url, "CHATTRACK_TIMEZONE": "Europe/Moscow"}
    returncode, out, err = await recompute_buckets(env)

    assert returncode == 1, (out, err)
    said = err.decode()
    assert "CHATTRACK_DATABASE_URL" in said and f"127.0.0.1:{port}/chattrack" in said
    assert "Traceback" not in said and "secret" not in said


def test_the_start_up_report_gives_each_configured_provider_its_webhook_url() -> None:
    from tracking.settings import load_settings
    from webhooks.cli import startup_banner

    public = "https://leads.example.com"
    nothing = startup_banner(load_settings(public_url=public), "127.0.0.1", 8080)
    chosen = startup_banner(
        load_settings(
            public_url=public, meta_app_secret="s", wazzup_crm_key="k", wazzup_channels='{"c": "+79991234567"}'
        ),
        "127.0.0.1",
        8080,
    )

    # Nothing configured: every provider with the setting that turns it on, none singled out.
    assert "No provider is configured yet" in nothing and "docs/providers.md" in nothing
    assert (
        f"Green-API (instance settings → webhookUrl): CHATTRACK_GREENAPI_WEBHOOK_TOKEN, {public}/webhooks/greenapi"
        in nothing
    )
    assert f"CHATTRACK_TWILIO_AUTH_TOKEN, {public}/webhooks/twilio" in nothing
    assert "your provider's secret (listed above)" in nothing
    assert f"Meta (WhatsApp → Configuration → Callback URL): {public}/webhooks/meta" in chosen
    assert f"{public}/webhooks/wazzup" in chosen
    assert "twilio" not in chosen.lower()  # not configured: not offered, and not named as missing
    assert "CHATTRACK_META_VERIFY_TOKEN: Meta cannot verify the callback URL" in chosen


def test_the_start_up_report_speaks_of_green_api_alone_when_it_is_in_use() -> None:
    from tracking.settings import load_settings
    from webhooks.cli import startup_banner

    public = "https://leads.example.com"
    green = startup_banner(load_settings(public_url=public, greenapi_webhook_token="t"), "127.0.0.1", 8080)
    blank = startup_banner(load_settings(public_url=public, greenapi_webhook_token=""), "127.0.0.1", 8080)

    assert f"Green-API (instance settings → webhookUrl): {public}/webhooks/greenapi" in green
    assert f"Green-API (instance settings → webhookUrl): {public}/webhooks/greenapi" in blank
    assert "twilio" not in green.lower() and "twilio" not in blank.lower()
    assert "CHATTRACK_GREENAPI_WEBHOOK_TOKEN: set but empty" in blank


def test_the_start_up_report_names_preset_phrases_too_vague_to_recover_a_deleted_code() -> None:
    from tracking.settings import load_settings
    from webhooks.cli import startup_banner

    presets = {"/nails/*": "Здравствуйте! Хочу записаться на маникюр", "/kids/*": "Сколько стоит детская фотосессия?"}
    said = startup_banner(load_settings(presets=presets), "127.0.0.1", 8080)
    assert "CHATTRACK_PRESETS: these phrases say too little" in said
    assert "/nails/*: «Здравствуйте! Хочу записаться на маникюр»" in said and "/kids/*" not in said
    assert "say too little" not in startup_banner(load_settings(), "127.0.0.1", 8080)
