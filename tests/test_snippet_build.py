"""The served script: size budget, configuration injection and escaping, configuration validation."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
from pydantic import ValidationError

import snippet
from snippet import SIZE_BUDGET, SnippetConfig, config_literal, gzipped_size, preset_pattern, render_snippet

SOURCE = Path(snippet.__file__).with_name("t.js").read_text(encoding="utf-8")
# What most sites configure: a sales and a support number, a Telegram account.
TYPICAL = SnippetConfig(numbers=["+7 999 123-45-67", "74951234567"], telegram=["@Shop_Bot"])


def gzip_cli(data: bytes) -> int:
    """Bytes after `gzip -9`, the command the budget is stated in."""
    return len(subprocess.run(["gzip", "-9", "-c"], input=data, capture_output=True, check=True).stdout)


def literal_to_json(literal: str) -> object:
    """The config literal (keys unquoted) read back; fine for values without "{x:" or ",x:" inside."""
    return json.loads(re.sub(r"([{,])([a-z]):", r'\1"\2":', literal))


def test_typical_script_fits_the_size_budget() -> None:
    assert SIZE_BUDGET == 2000
    size = gzipped_size(TYPICAL)
    assert size <= SIZE_BUDGET
    assert gzip_cli(render_snippet(TYPICAL)) <= SIZE_BUDGET
    assert abs(gzip_cli(render_snippet(TYPICAL)) - size) <= 8  # the same figure, give or take the header


def test_the_script_alone_leaves_room_for_configuration() -> None:
    # an empty configuration: what the code costs; a number costs ~8 bytes, a preset its phrase
    assert gzipped_size(SnippetConfig()) <= SIZE_BUDGET - 60


def test_minified_once_and_cached() -> None:
    snippet._minified.cache_clear()
    first = render_snippet(TYPICAL)
    assert render_snippet(SnippetConfig(numbers=["79990000000"])) != first
    assert render_snippet(TYPICAL) == first
    assert snippet._minified.cache_info().misses == 1
    assert len(first) < len(SOURCE.encode()) / 2  # comments and layout are gone


def test_configuration_replaces_the_placeholder() -> None:
    script = render_snippet(TYPICAL).decode("utf-8")
    assert "CHATTRACK_CONFIG" not in script
    # n: each number's national form at its index in k (0: none that reads as no other number)
    assert '{k:["79991234567","74951234567","shop_bot"],n:["89991234567",0],p:[]}' in script
    assert script.startswith("(function(w,d){")
    assert "'код'" in script  # served as UTF-8


def test_optional_keys_only_when_set() -> None:
    literal = config_literal(SnippetConfig(numbers=["79991234567"], marker="id", consent_required=True))
    assert literal_to_json(literal) == {"k": ["79991234567"], "n": ["89991234567"], "p": [], "m": "id", "c": True}
    assert literal_to_json(config_literal(SnippetConfig(numbers=["74951234567"]))) == {"k": ["74951234567"], "p": []}


def test_nothing_in_the_configuration_can_close_a_script_tag() -> None:
    phrase = "Hi</script><script>alert(1)</script><!-- \u2028\u2029 end"
    config = SnippetConfig(numbers=["79991234567"], presets=[("/", phrase)])
    script = render_snippet(config)
    assert b"</" not in script
    assert b"<!--" not in script
    assert "\u2028".encode() not in script and "\u2029".encode() not in script
    assert literal_to_json(config_literal(config)) == {
        "k": ["79991234567"],
        "n": ["89991234567"],
        "p": [["^/$", phrase]],
    }


def test_source_uses_nothing_a_strict_csp_forbids() -> None:
    for forbidden in ("eval(", "Function(", "innerHTML", "document.write", "setTimeout('", "onclick ="):
        assert forbidden not in SOURCE
    # the only global it writes
    assert re.findall(r"\bw\.(\w+)\s*=", SOURCE) == ["open", "chattrack"]


def test_numbers_are_kept_as_international_digits() -> None:
    config = SnippetConfig(numbers=["+7 (999) 123-45-67", "7.999.765.43.21", "4915112345678"])
    assert config.numbers == ["79991234567", "79997654321", "4915112345678"]


@pytest.mark.parametrize("bad", ["", "12345", "+7 999 ABC", "8" * 16])
def test_a_number_that_is_not_one_is_refused(bad: str) -> None:
    with pytest.raises(ValidationError, match="not an international phone number"):
        SnippetConfig(numbers=[bad])


def test_telegram_usernames_lowercase_without_at() -> None:
    assert SnippetConfig(telegram=["@Shop_Bot", "furniture_shop"]).telegram == ["shop_bot", "furniture_shop"]
    for bad in ["@1shop", "ab", "shop-bot", "https://t.me/shop_bot"]:
        with pytest.raises(ValidationError, match="not a Telegram username"):
            SnippetConfig(telegram=[bad])


def test_marker_is_a_word() -> None:
    assert SnippetConfig(marker="код").marker == "код"
    for bad in ["", "re f", "(x)", "a.b", "x" * 17]:
        with pytest.raises(ValidationError, match="marker"):
            SnippetConfig(marker=bad)


@pytest.mark.parametrize(
    ("pattern", "matches", "misses"),
    [
        ("/catalog/*", ["/catalog/sofa", "/catalog/"], ["/catalog/sofa/red", "/catalog", "/x/catalog/sofa"]),
        ("/blog/**", ["/blog/a", "/blog/a/b/c"], ["/blog", "/news/blog/a"]),
        ("/item-?", ["/item-1"], ["/item-10", "/item-"]),
        ("/price(s)+list", ["/price(s)+list"], ["/pricesslist"]),  # only * and ? are wild
        ("re:^/(en|ru)/pricing", ["/en/pricing", "/ru/pricing/b2b"], ["/de/pricing"]),
        ("^/sale", ["/sale", "/sale/tv"], ["/old/sale"]),
    ],
)
def test_preset_patterns(pattern: str, matches: list[str], misses: list[str]) -> None:
    regex = re.compile(preset_pattern(pattern))
    assert [path for path in matches if regex.search(path)] == matches
    assert [path for path in misses if regex.search(path)] == []


def test_a_broken_preset_is_refused() -> None:
    with pytest.raises(ValidationError, match="preset pattern"):
        SnippetConfig(presets=[("re:(unclosed", "Hi")])
    with pytest.raises(ValidationError, match="preset phrase"):
        SnippetConfig(presets=[("/x", "   ")])
