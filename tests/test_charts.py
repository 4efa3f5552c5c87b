"""Charts: valid PNGs of a sensible size, Russian labels drawn with a font that has Cyrillic."""

from __future__ import annotations

import logging
import struct
import warnings
import zlib
from datetime import date

import pytest
from matplotlib import font_manager

from reports.charts import FONT, dynamics_png
from reports.counts import Dynamics, Series
from reports.periods import Period, Unit
from tests.seed import MOSCOW
from tracking.store.base import Bucket

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == PNG_SIGNATURE
    length, kind = struct.unpack(">I4s", data[8:16])
    assert kind == b"IHDR" and length == 13
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def png_chunks_valid(data: bytes) -> bool:
    """Every chunk's CRC matches and the file ends with IEND: a decoder would accept it."""
    at = 8
    while at < len(data):
        (length,) = struct.unpack(">I", data[at : at + 4])
        kind, body = data[at + 4 : at + 8], data[at + 8 : at + 8 + length]
        (crc,) = struct.unpack(">I", data[at + 8 + length : at + 12 + length])
        if zlib.crc32(kind + body) != crc:
            return False
        at += 12 + length
        if kind == b"IEND":
            return at == len(data)
    return False


def fortnight(series: list[Series]) -> Dynamics:
    days = [date(2026, 11, d) for d in range(14, 28)]
    period = Period(days[0], days[-1], MOSCOW, Unit.SPAN)
    totals = [sum(column) for column in zip(*(s.points for s in series), strict=True)] if series else [0] * 14
    return Dynamics(period, Bucket.DAY, "channel", [d.isoformat() for d in days], series, totals)


SERIES = [
    Series("paid_search", [3, 4, 2, 5, 6, 1, 0, 4, 5, 3, 2, 6, 7, 3]),
    Series("organic_search", [1, 2, 2, 1, 0, 0, 1, 2, 3, 1, 2, 1, 0, 2]),
    Series("direct", [0, 1, 0, 0, 2, 1, 0, 0, 1, 0, 1, 0, 1, 1]),
    Series(None, [1, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0], other=True),
]


def test_the_font_has_cyrillic() -> None:
    path = font_manager.findfont(font_manager.FontProperties(family=FONT), fallback_to_default=False)
    assert "DejaVuSans" in path


@pytest.mark.parametrize("lang", ["ru", "en"])
def test_dynamics_chart_is_a_valid_png(lang: str, caplog: pytest.LogCaptureFixture) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "Glyph ... missing from font" is a UserWarning: fail on it
        with caplog.at_level(logging.WARNING, logger="matplotlib"):
            data = dynamics_png(fortnight(SERIES), lang)  # type: ignore[arg-type]
    assert not [r for r in caplog.records if "Glyph" in r.getMessage()]
    assert png_chunks_valid(data)
    width, height = png_size(data)
    assert (width, height) == (1100, 616)
    assert len(data) > 20_000  # bars, labels and a legend, not a blank canvas


def test_cyrillic_labels_change_the_picture() -> None:
    """Russian and English labels both render as text: the two images differ, neither is tofu-only."""
    ru, en = dynamics_png(fortnight(SERIES), "ru"), dynamics_png(fortnight(SERIES), "en")
    assert ru != en
    title_only = fortnight(SERIES)
    assert dynamics_png(title_only, "ru", title="Диалоги") != dynamics_png(title_only, "ru", title="Dialogs")


def test_empty_chart_still_renders() -> None:
    data = dynamics_png(fortnight([]), "ru")
    assert png_chunks_valid(data) and png_size(data) == (1100, 616)


def test_long_period_thins_the_ticks() -> None:
    days = 120
    series = [Series("direct", [i % 5 for i in range(days)])]
    first = date(2026, 1, 1)
    keys = [date.fromordinal(first.toordinal() + i).isoformat() for i in range(days)]
    period = Period(first, date.fromisoformat(keys[-1]), MOSCOW, Unit.SPAN)
    report = Dynamics(period, Bucket.DAY, "channel", keys, series, series[0].points)
    assert png_chunks_valid(dynamics_png(report, "en"))


def test_a_font_without_cyrillic_would_be_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    """The guard above is real: with a Latin-only font matplotlib warns of missing glyphs."""
    import reports.charts

    monkeypatch.setattr(reports.charts, "FONT", "cmss10")
    with pytest.warns(UserWarning, match="Glyph .* missing"):
        dynamics_png(fortnight(SERIES), "ru")
