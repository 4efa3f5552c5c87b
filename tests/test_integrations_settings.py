"""Settings of money and integrations: a wrong or half-set one stops start-up with a line naming it."""

from __future__ import annotations

import pytest

from tracking.settings import SettingsError, load_settings


@pytest.mark.parametrize(
    ("given", "named"),
    [
        ({"metrica_counter_id": "12345678"}, "CHATTRACK_METRICA_COUNTER_ID is set: set CHATTRACK_METRICA_TOKEN too"),
        ({"metrica_token": "y0_x"}, "CHATTRACK_METRICA_TOKEN is set: set CHATTRACK_METRICA_COUNTER_ID too"),
        ({"ga4_api_secret": "s"}, "CHATTRACK_GA4_API_SECRET is set: set CHATTRACK_GA4_MEASUREMENT_ID too"),
        ({"events_url": "https://crm.example/h"}, "CHATTRACK_EVENTS_URL is set: set CHATTRACK_EVENTS_SECRET too"),
        # An empty secret is unset (the blank rule), so the pair is half set.
        ({"events_url": "https://crm.example/h", "events_secret": " "}, "set CHATTRACK_EVENTS_SECRET too"),
    ],
)
def test_half_a_connection_stops_start_up_naming_both_settings(given: dict[str, str], named: str) -> None:
    with pytest.raises(SettingsError) as refused:
        load_settings(**given)
    assert named in str(refused.value)


@pytest.mark.parametrize(
    ("name", "value", "words"),
    [
        ("currency", "рубли", "CHATTRACK_CURRENCY: Value error, use a three-letter ISO 4217 code"),
        ("metrica_counter_id", "counter-1", "CHATTRACK_METRICA_COUNTER_ID"),
        ("ga4_measurement_id", "UA-12345-1", "CHATTRACK_GA4_MEASUREMENT_ID"),
        ("metrica_goal_sale", "продажа в чате", "CHATTRACK_METRICA_GOAL_SALE: Value error, a goal identifier"),
        ("direct_api_url", "api.direct.yandex.com", "CHATTRACK_DIRECT_API_URL: Value error, must be an address"),
        ("conversions_interval_seconds", "0", "CHATTRACK_CONVERSIONS_INTERVAL_SECONDS"),
    ],
)
def test_a_wrong_value_is_named(name: str, value: str, words: str) -> None:
    with pytest.raises(SettingsError) as refused:
        load_settings(**{name: value})
    assert str(refused.value).startswith(words)


def test_what_is_set_switches_each_system_on_and_base_urls_lose_their_slash() -> None:
    settings = load_settings(
        currency=" kzt ",
        metrica_counter_id="12345678",
        metrica_token="y0_x",
        ga4_measurement_id="G-ABC1234",
        ga4_api_secret="s",
        metrica_api_url="http://127.0.0.1:9000/",
    )
    assert settings.currency == "KZT"
    assert (settings.metrica_enabled, settings.ga4_enabled, settings.events_enabled, settings.direct_enabled) == (
        True,
        True,
        False,
        False,
    )
    assert settings.metrica_api_url == "http://127.0.0.1:9000"
    assert settings.direct_api_url == "https://api.direct.yandex.com"
