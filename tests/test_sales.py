"""A sale's amount as owners type it (tracking/amounts.py): what is read, what is refused, and that every
amount the reports write (reports/i18n.money) reads back as itself."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reports.i18n import money
from tracking.amounts import MAX_AMOUNT, AmountError, AmountProblem, parse_amount


@pytest.mark.parametrize(
    ("typed", "value", "currency"),
    [
        ("12 000", "12000", "RUB"),
        ("12000", "12000", "RUB"),
        ("12\u00a0000", "12000", "RUB"),
        ("12\u202f000", "12000", "RUB"),
        ("12 000,50", "12000.50", "RUB"),
        ("12000.5", "12000.50", "RUB"),
        ("12к", "12000", "RUB"),
        ("12 к", "12000", "RUB"),
        ("12K", "12000", "RUB"),
        ("1.5к", "1500", "RUB"),
        ("12,5к", "12500", "RUB"),
        ("12 тыс", "12000", "RUB"),
        ("12 тыс.", "12000", "RUB"),
        ("12 тыс. руб.", "12000", "RUB"),
        ("1,2 млн", "1200000", "RUB"),
        ("12000 руб", "12000", "RUB"),
        ("12 000 ₽", "12000", "RUB"),
        ("12000р", "12000", "RUB"),
        ("12000 р.", "12000", "RUB"),
        ("$120", "120", "USD"),
        ("$12к", "12000", "USD"),
        ("120 usd", "120", "USD"),
        ("120 USD", "120", "USD"),
        ("€95", "95", "EUR"),
        ("95 евро", "95", "EUR"),
        ("12,000", "12000", "RUB"),  # a point or comma before three digits groups thousands
        ("1.200.000", "1200000", "RUB"),
        ("12,000.50", "12000.50", "RUB"),
        ("12.000,50", "12000.50", "RUB"),
        ("0", "0", "RUB"),
        ("  7 500  ", "7500", "RUB"),
    ],
)
def test_amounts_as_owners_type_them(typed: str, value: str, currency: str) -> None:
    amount = parse_amount(typed, "rub")
    assert (amount.value, amount.currency) == (Decimal(value), currency)


def test_without_a_sign_the_business_currency() -> None:
    assert parse_amount("120", "KZT").currency == "KZT"
    assert parse_amount("120 ₽", "KZT").currency == "RUB"


@pytest.mark.parametrize(
    ("typed", "problem"),
    [
        ("", AmountProblem.EMPTY),
        ("   ", AmountProblem.EMPTY),
        ("двенадцать", AmountProblem.NOT_A_NUMBER),
        ("twelve", AmountProblem.NOT_A_NUMBER),
        ("12 штук", AmountProblem.NOT_A_NUMBER),
        ("12-15", AmountProblem.NOT_A_NUMBER),
        ("12 34", AmountProblem.NOT_A_NUMBER),
        ("1e5", AmountProblem.NOT_A_NUMBER),
        ("1,2,3", AmountProblem.NOT_A_NUMBER),
        ("12к к", AmountProblem.NOT_A_NUMBER),
        ("$", AmountProblem.NOT_A_NUMBER),
        ("12.", AmountProblem.NOT_A_NUMBER),
        ("-500", AmountProblem.NEGATIVE),
        ("−500", AmountProblem.NEGATIVE),
        ("$-5", AmountProblem.NEGATIVE),
        ("99999999999", AmountProblem.TOO_LARGE),
        ("20 млн млн", AmountProblem.NOT_A_NUMBER),
        ("100000 млн", AmountProblem.TOO_LARGE),
        ("1" + "0" * 30, AmountProblem.TOO_LARGE),  # past Decimal's 28 digits: refused, not a crash
        ("1" + "0" * 30 + ",5", AmountProblem.TOO_LARGE),
        ("9" * 40 + "к", AmountProblem.TOO_LARGE),
        ("12,3456", AmountProblem.TOO_PRECISE),
        ("12 000,505", AmountProblem.TOO_PRECISE),
        ("1,234567к", AmountProblem.TOO_PRECISE),
    ],
)
def test_what_is_not_an_amount_is_refused_with_its_reason(typed: str, problem: AmountProblem) -> None:
    with pytest.raises(AmountError) as caught:
        parse_amount(typed, "RUB")
    assert caught.value.reason is problem
    assert str(caught.value)  # a reason the API can answer with


amounts = st.decimals(min_value=0, max_value=MAX_AMOUNT, places=2, allow_nan=False, allow_infinity=False)
currencies = st.sampled_from(["RUB", "USD", "EUR", "GBP", "KZT", "UAH", "BYN", "TRY", "INR", "CNY"])


@given(amounts, currencies, st.sampled_from(["ru", "en"]))
def test_every_amount_the_reports_write_reads_back(value: Decimal, currency: str, lang: str) -> None:
    written = money(value, currency, "ru" if lang == "ru" else "en")
    amount = parse_amount(written, "RUB")
    assert (amount.value, amount.currency) == (value, currency)


@given(st.integers(min_value=0, max_value=int(MAX_AMOUNT)), st.sampled_from([" ", "\u00a0", "", ","]))
def test_whole_amounts_with_any_grouping_read_back(value: int, separator: str) -> None:
    typed = f"{value:,}".replace(",", separator)
    assert parse_amount(typed, "RUB").value == value


@given(st.integers(min_value=1, max_value=9999), st.integers(min_value=0, max_value=9))
def test_thousands_with_a_fraction(whole: int, tenth: int) -> None:
    assert parse_amount(f"{whole},{tenth}к", "RUB").value == Decimal(f"{whole}.{tenth}") * 1000
