"""The business's replies in the sample payloads (tests/payloads/<provider>/reply_*.json): each file's requests,
a customer's message and then the provider's documented outgoing message, echo or statuses, through the real
endpoint of a real server, signed as that provider signs; then every dialog was answered at the time its file
names in `expect.answered_at` ("{now}": the payloads' own timestamp) or not at all (null)."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.test_payloads import (
    ENDPOINTS,
    PAYLOADS,
    Sample,
    all_dialogs,
    check_dialog,
    server_settings,
    signed,
    substitute,
)

FILES = sorted(PAYLOADS.glob("*/reply_*.json"))
# Each file's expect.answered_at, one per dialog: "{now}" (answered at the payloads' timestamp) or null.
ANSWERED: dict[Path, list[str | None]] = {
    path: json.loads(path.read_text(encoding="utf-8"))["expect"]["answered_at"] for path in FILES
}


def test_every_provider_that_reports_replies_has_samples() -> None:
    assert {path.parent.name for path in FILES} >= {"greenapi", "meta", "wazzup", "generic"}


@pytest.mark.parametrize("path", FILES, ids=[f"{path.parent.name}/{path.stem}" for path in FILES])
async def test_a_documented_reply_answers_the_dialog_at_its_time(
    path: Path, start_server: Any, http: aiohttp.ClientSession
) -> None:
    sample = Sample.load(path)
    answered = ANSWERED[path]
    server = await start_server(**server_settings(sample, None))
    now = int(time.time())  # one moment for every request: the reply's timestamp is the customer's too

    for number, item in enumerate(sample.requests, 1):
        prepared = substitute(item, "", now)
        async with http.post(
            server.url + ENDPOINTS[sample.provider], **signed(sample.provider, server, prepared)
        ) as answer:
            assert answer.status == item.get("status", 200), f"request {number}: {await answer.text()}"

    dialogs = await all_dialogs(server)
    assert len(dialogs) == len(sample.dialogs) == len(answered)
    for dialog, expected in zip(dialogs, sample.dialogs, strict=True):
        await check_dialog(server, dialog, expected, "")
    at = datetime.fromtimestamp(now, UTC)
    assert [d.answered_at for d in dialogs] == [None if want is None else at for want in answered]
    assert all(d.started_at <= at for d in dialogs)
