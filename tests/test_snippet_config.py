"""What the server tells the snippet beyond t.js: national number forms, and tx.js (the second file)."""

from __future__ import annotations

from pathlib import Path

import pytest

import snippet
from snippet import national_digits, render_extension


@pytest.mark.parametrize(
    ("number", "national"),
    [
        ("79991234567", "89991234567"),  # Russia: trunk prefix 8
        ("77011234567", "87011234567"),  # Kazakhstan
        ("4915112345678", "015112345678"),  # Germany: trunk prefix 0
        ("442079460000", "02079460000"),
        ("380501234567", "0501234567"),  # Ukraine
    ],
)
def test_national_forms_are_the_number_written_in_its_country(number: str, national: str) -> None:
    assert national_digits(number) == national


def test_a_national_form_that_is_another_valid_number_is_left_out() -> None:
    # Moscow's 8 495 ... reads as a valid Vietnamese number (+84 95...): a link to it may be theirs
    assert national_digits("74951234567") is None
    assert national_digits("999") is None  # not a number at all


def test_the_extension_is_a_module_without_configuration() -> None:
    body = render_extension().decode("utf-8")
    assert body.startswith("export default(")
    assert "CHATTRACK_CONFIG" not in body
    for forbidden in ("eval(", "Function(", "innerHTML", "document.write"):
        assert forbidden not in body
    source = Path(snippet.__file__).with_name("tx.js").read_text(encoding="utf-8")
    assert len(body) < len(source.encode()) / 1.5  # comments and layout are gone
