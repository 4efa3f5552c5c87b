"""Every outside string is bounded once, at ingest, whichever provider brought it: a profile name on one line
of at most 256 characters, a message of at most 4096, ids of at most 256 that still tell ids apart, an ad's
referral fields on one line; lone surrogates (which no store can encode) never reach the store."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import aiohttp

from tests.test_meta_webhook import all_dialogs, change, contact, delivery, meta_settings, post_meta, text_message
from tracking.models import ID_LIMIT, NAME_LIMIT, TEXT_LIMIT, Attribution, InboundMessage

NOW = datetime(2026, 11, 27, 9, 30, tzinfo=UTC)


def inbound(**fields: Any) -> InboundMessage:
    values: dict[str, Any] = {
        "provider": "twilio",
        "message_id": "SM1",
        "business_number": "+79991234567",
        "contact_id": "+79161234567",
        "received_at": NOW,
    }
    return InboundMessage(**{**values, **fields})


def test_long_ids_are_cut_but_stay_distinct_and_stable() -> None:
    one, other = "wamid." + "A" * 5000, "wamid." + "A" * 4999 + "B"
    cut_one, cut_other = inbound(message_id=one).message_id, inbound(message_id=other).message_id
    assert len(cut_one) == len(cut_other) == ID_LIMIT
    assert cut_one != cut_other  # two messages stay two messages
    assert inbound(message_id=one).message_id == cut_one  # a retry of the same one is still known
    assert inbound(message_id="SM123").message_id == "SM123"  # ordinary ids are kept as they are


def test_names_text_and_referrals_are_bounded() -> None:
    message = inbound(
        contact_name="Анна\n\u202eИванова\u200b" + "я" * 5000,
        text="a" * 10_000 + "\ud800",
        ad_referral=Attribution(campaign="Скидка\r\n-20%", landing_page="https://x.example/" + "p" * 5000),
    )
    assert message.contact_name is not None and message.contact_name.startswith("Анна Иванова")
    assert len(message.contact_name) == NAME_LIMIT
    assert len(message.text) == TEXT_LIMIT and "\ud800" not in message.text
    assert message.ad_referral is not None and message.ad_referral.campaign == "Скидка -20%"
    assert len(message.ad_referral.landing_page or "") <= 2048
    assert inbound(contact_name="\u200b\u202e").contact_name is None  # nothing visible is no name


async def test_a_meta_delivery_of_hostile_strings_is_stored_bounded_once(
    start_server: Any, http: aiohttp.ClientSession
) -> None:
    server = await start_server(**meta_settings())
    wamid = "wamid." + "Q" * 250  # the edge refuses longer ones
    referral = {"source_type": "ad", "source_id": "1" * 3000, "headline": "Ad\n" * 2000, "source_url": "http://["}
    message = text_message("Здравствуйте!\n" + "ж" * 5000, wamid=wamid, referral=referral)
    payload = delivery(change([message], contacts=[contact(name="\u202eАнна\u2066\n" * 600)]))

    first, _ = await post_meta(http, server, payload)
    retry, _ = await post_meta(http, server, payload)  # Meta retries with the same wamid

    assert (first, retry) == (200, 200)
    [dialog] = await all_dialogs(server)
    assert dialog.contact_name is not None and len(dialog.contact_name) <= NAME_LIMIT
    assert dialog.contact_name.startswith("Анна Анна") and not {"\n", "\u202e", "\u2066"} & set(dialog.contact_name)
    assert dialog.first_message.startswith("Здравствуйте!\n") and len(dialog.first_message) <= TEXT_LIMIT
    assert dialog.attribution.campaign is not None and "\n" not in dialog.attribution.campaign
    assert dialog.message_count == 1
