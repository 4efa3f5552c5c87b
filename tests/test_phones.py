"""Phone normalisation: the shapes providers and people write numbers in, all to E.164."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tracking.phones import PhoneError, digits, normalise_phone, parse_tracked_numbers, whatsapp_contact


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("+7 (999) 123-45-67", "RU", "+79991234567"),
        ("+79991234567", "RU", "+79991234567"),
        ("89991234567", "RU", "+79991234567"),  # Russian trunk prefix 8
        ("8 (999) 123-45-67", "RU", "+79991234567"),
        ("9991234567", "RU", "+79991234567"),  # national significant number alone
        ("  +7 999 123 45 67  ", "RU", "+79991234567"),
        ("whatsapp:+14155238886", "RU", "+14155238886"),  # Twilio's address form
        ("WhatsApp:+14155238886", "RU", "+14155238886"),
        ("tel:+7-999-123-45-67", "RU", "+79991234567"),
        ("79991234567", "RU", "+79991234567"),  # WaId: digits, international, no '+'
        ("14155238886", "RU", "+14155238886"),  # WaId of a US number with an RU default
        ("447911123456", "RU", "+447911123456"),  # WaId of a UK mobile
        ("+44 20 7946 0958", "RU", "+442079460958"),
        ("+44 20 7946 0958", "US", "+442079460958"),
        ("(415) 523-8886", "US", "+14155238886"),
        ("4155238886", "US", "+14155238886"),  # '+4155238886' is no valid number: national
        ("8 (727) 250-12-34", "KZ", "+77272501234"),
        ("+7 999 123 45 67 ext. 5", "RU", "+79991234567"),  # E.164 has no extension
    ],
)
def test_normalise_phone_gives_e164(raw: str, region: str, expected: str) -> None:
    assert normalise_phone(raw, region) == expected


def test_default_region_is_russia() -> None:
    assert normalise_phone("8 999 123-45-67") == "+79991234567"


def test_region_in_any_case_and_unknown_regions() -> None:
    assert normalise_phone("8 999 123-45-67", "ru") == "+79991234567"
    assert normalise_phone("8 999 123-45-67", "ZZ") is None  # no such region: a national number means nothing
    assert normalise_phone("+7 999 123-45-67", "ZZ") == "+79991234567"  # an international one still does


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   ",
        "whatsapp:",
        "12345",  # too short anywhere
        "+7 999",
        "+1 000 000 0000",  # possible length, but no such number
        "+999 123 456 789",  # no such country code
        "hello",
        "not a number at all",
        "1" * 30,
        "+7" + "9" * 200,
        "x" * 100_000,
        "\x00\x01",
        "+7 (999) 123-45-67-89-00",
    ],
)
def test_normalise_phone_rejects_what_is_not_a_number(raw: str) -> None:
    assert normalise_phone(raw, "RU") is None


@given(st.text(max_size=80))
def test_normalise_phone_never_raises_and_is_idempotent(raw: str) -> None:
    number = normalise_phone(raw, "RU")
    if number is not None:
        assert number.startswith("+")
        assert number[1:].isascii() and number[1:].isdigit()
        assert normalise_phone(number, "RU") == number
        assert normalise_phone(digits(number), "RU") == number  # WaId round trip


def test_parse_tracked_numbers_from_a_settings_string() -> None:
    raw = "+7 (999) 123-45-67, whatsapp:+14155238886;\n 8 999 765-43-21 ,, "
    assert parse_tracked_numbers(raw, "RU") == ["+79991234567", "+14155238886", "+79997654321"]


def test_parse_tracked_numbers_from_a_list_drops_duplicates_in_order() -> None:
    raw = ["+14155238886", "+79991234567", "89991234567", "", "+1 415 523 8886"]
    assert parse_tracked_numbers(raw, "RU") == ["+14155238886", "+79991234567"]


def test_parse_tracked_numbers_of_nothing_is_empty() -> None:
    assert parse_tracked_numbers("", "RU") == []
    assert parse_tracked_numbers([], "RU") == []


@pytest.mark.parametrize(
    ("raw", "bad"),
    [
        ("+79991234567, 12345", "12345"),
        (["+79991234567", " call me "], "call me"),
        ("+7 999 123-45-67;+1 000 000 0000", "+1 000 000 0000"),
    ],
)
def test_parse_tracked_numbers_names_the_bad_entry(raw: str | list[str], bad: str) -> None:
    with pytest.raises(PhoneError) as caught:
        parse_tracked_numbers(raw, "RU")
    assert repr(bad) in str(caught.value)
    assert isinstance(caught.value, ValueError)


@pytest.mark.parametrize(
    ("e164", "expected"),
    [("+79991234567", "79991234567"), ("+14155238886", "14155238886"), ("+442079460958", "442079460958")],
)
def test_digits_for_wa_me_links(e164: str, expected: str) -> None:
    assert digits(e164) == expected


# One person, one contact id, whichever provider carried the message: Twilio, Meta, Green-API.
@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("whatsapp:+5215512345678", "+525512345678"),  # Twilio: Mexican mobile in WhatsApp's 521 form
        ("5215512345678", "+525512345678"),  # Meta's wa_id
        ("5215512345678@c.us", "+525512345678"),  # Green-API's chat id
        ("+52 1 55 1234 5678", "+525512345678"),  # as people wrote Mexican mobiles before 2019
        ("+525512345678", "+525512345678"),  # already E.164
        ("5491123456789", "+5491123456789"),  # Argentine mobile: 549 + area + number is its E.164 form
        ("whatsapp:+5491123456789", "+5491123456789"),
        ("5491123456789@c.us", "+5491123456789"),
        ("+54 11 15 2345-6789", "+5491123456789"),  # as Argentines write a mobile: area + 15 + number
        ("551187654321", "+5511987654321"),  # Brazilian mobile registered before the ninth digit
        ("whatsapp:+551187654321", "+5511987654321"),
        ("551187654321@c.us", "+5511987654321"),
        ("5511987654321", "+5511987654321"),  # Brazilian mobile with its ninth digit
        ("552133334444", "+552133334444"),  # Brazilian landline: 8 digits, unchanged
        ("whatsapp:+79991234567", "+79991234567"),
        ("79991234567@c.us", "+79991234567"),
        ("whatsapp:+14155238886", "+14155238886"),
        ("447911123456@c.us", "+447911123456"),
        ("4915112345678", "+4915112345678"),
    ],
)
def test_whatsapp_contact_is_e164_whichever_provider(raw: str, expected: str) -> None:
    assert whatsapp_contact(raw, "RU") == (expected, expected)


@pytest.mark.parametrize(
    ("raw", "contact_id"),
    [
        ("whatsapp:+15550001234", "+15550001234"),  # Meta's test numbers: digits, but no valid phone
        ("15550001234@c.us", "+15550001234"),
        ("tel:+1 555 000 1234", "+15550001234"),
        ("US.13491208655302741918", "US.13491208655302741918"),  # Meta's business-scoped user id
        ("whatsapp:abc", "abc"),  # never a channel prefix in a contact id
        ("12345", "12345"),  # too short to be a number
        ("1" * 16, "1" * 16),  # too long
    ],
)
def test_whatsapp_contact_without_a_phone(raw: str, contact_id: str) -> None:
    assert whatsapp_contact(raw, "RU") == (contact_id, None)


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("55 1234 5678", "MX", "+525512345678"),  # a Mexican mobile written nationally
        ("011 15 2345-6789", "AR", "+5491123456789"),  # an Argentine mobile written nationally
        ("(11) 8765-4321", "BR", "+5511987654321"),  # a Brazilian mobile written before the ninth digit
        ("(11) 3333-4444", "BR", "+551133334444"),  # a São Paulo landline: 8 digits, unchanged
    ],
)
def test_whatsapp_forms_written_nationally(raw: str, region: str, expected: str) -> None:
    assert normalise_phone(raw, region) == expected
