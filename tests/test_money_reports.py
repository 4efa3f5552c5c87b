"""Money reports: joining ad spend to the leads it brought, the figures per channel, source, campaign and ad
(spend, leads, qualified, sales, revenue, cost per lead and per sale, ROMI), and how the owner reads them."""

from __future__ import annotations

from decimal import Decimal

import pytest

from reports.i18n import money


@pytest.mark.parametrize(
    ("amount", "currency", "lang", "text"),
    [
        (Decimal("12000"), "RUB", "ru", "12\u00a0000\u00a0₽"),
        (Decimal("12000.00"), "rub", "en", "12,000\u00a0₽"),
        (Decimal("120"), "USD", "ru", "$120"),
        (Decimal("95"), "EUR", "en", "€95"),
        (Decimal("12000"), "KZT", "ru", "12\u00a0000\u00a0₸"),
        (Decimal("1234.5"), "RUB", "ru", "1\u00a0234,50\u00a0₽"),
        (Decimal("1234.567"), "USD", "en", "$1,234.57"),
        (Decimal("0.005"), "RUB", "ru", "0,01\u00a0₽"),
        (Decimal("0"), "RUB", "ru", "0\u00a0₽"),
        (Decimal("-250"), "RUB", "ru", "−250\u00a0₽"),
        (Decimal("1200"), "CNY", "ru", "1\u00a0200\u00a0CNY"),
        (None, "RUB", "ru", "—"),
    ],
)
def test_money_reads_as_the_owner_writes_it(amount: Decimal | None, currency: str, lang: str, text: str) -> None:
    assert money(amount, currency, lang) == text  # type: ignore[arg-type]
