"""Charts: valid PNGs of a sensible size, Russian labels drawn with a font that has Cyrillic."""

from __future__ import annotations

import io
import logging
import struct
import warnings
import zlib
from datetime import date

import numpy
import pytest
from matplotlib import font_manager
from matplotlib.colors import to_hex
from matplotlib.container import BarContainer
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from PIL import Image

from bot.commands import chart_bucket
from reports.charts import (
    CHANNEL_COLOURS,
    FONT,
    OTHER_COLOUR,
    SPARE_COLOURS,
    channel_colour,
    chart_period,
    dynamics_figure,
    dynamics_png,
    series_colours,
)
from reports.counts import Dynamics, Series, bucket_keys
from reports.i18n import CHANNELS, bucket_label
from reports.periods import Period, Unit
from reports.render import render_dynamics
from tests.seed import MOSCOW, utc
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


def fortnight(series: list[Series], by: str = "channel") -> Dynamics:
    days = [date(2026, 11, d) for d in range(14, 28)]
    period = Period(days[0], days[-1], MOSCOW, Unit.SPAN)
    totals = [sum(column) for column in zip(*(s.points for s in series), strict=True)] if series else [0] * 14
    return Dynamics(period, Bucket.DAY, by, [d.isoformat() for d in days], series, totals)


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


# One colour per channel, weeks by their dates, long periods by month, "today" among the days before it.


def report_of(period: Period, bucket: Bucket, series: list[Series], by: str = "channel") -> Dynamics:
    keys = bucket_keys(period, bucket)
    totals = [sum(column) for column in zip(*(s.points for s in series), strict=True)] if series else [0] * len(keys)
    return Dynamics(period, bucket, by, keys, series, totals)


def bars(figure: Figure, series: int = 0) -> list[Rectangle]:
    """The bars of one stacked series (bottom first), as drawn."""
    container = figure.axes[0].containers[series]
    assert isinstance(container, BarContainer)
    return list(container.patches)


def bar_colours(figure: Figure) -> list[str]:
    """The colour of each stacked series, bottom first, as drawn."""
    return [to_hex(bars(figure, i)[0].get_facecolor()) for i in range(len(figure.axes[0].containers))]


def legend_colours(figure: Figure) -> dict[str, str]:
    legend = figure.axes[0].get_legend()
    assert legend is not None
    pairs = zip(legend.texts, legend.get_patches(), strict=True)
    return {text.get_text(): to_hex(patch.get_facecolor()) for text, patch in pairs}


def tick_labels(figure: Figure) -> list[str]:
    return [label.get_text() for label in figure.axes[0].get_xticklabels()]


def png_colours(data: bytes) -> set[str]:
    """Every colour of the picture's pixels, as "#rrggbb"."""
    with Image.open(io.BytesIO(data)) as image:
        pixels = numpy.asarray(image.convert("RGB")).reshape(-1, 3).astype(numpy.uint32)
    packed = numpy.unique(pixels[:, 0] << 16 | pixels[:, 1] << 8 | pixels[:, 2])
    return {f"#{int(value):06x}" for value in packed}


def test_a_channel_keeps_its_colour_whatever_its_rank() -> None:
    """Paid search first in one chart and third in another is the same blue in both (it was by rank)."""
    first = fortnight([Series("paid_search", [5] * 14), Series("organic_search", [3] * 14), Series("maps", [1] * 14)])
    third = fortnight([Series("maps", [6] * 14), Series("organic_search", [4] * 14), Series("paid_search", [2] * 14)])
    a, b = dynamics_figure(first, "ru"), dynamics_figure(third, "ru")
    assert bar_colours(a) == [CHANNEL_COLOURS[c].lower() for c in ("paid_search", "organic_search", "maps")]
    assert bar_colours(b) == [CHANNEL_COLOURS[c].lower() for c in ("maps", "organic_search", "paid_search")]
    assert legend_colours(a) == legend_colours(b)
    assert legend_colours(a)["Карты и справочники"] == CHANNEL_COLOURS["maps"].lower()


def test_a_channel_alone_is_drawn_in_its_own_colour_in_the_png() -> None:
    """Read from the pixels: each chart of one channel holds that channel's colour and not the other's."""
    paid = dynamics_png(fortnight([Series("paid_search", [4] * 14)]), "en")
    organic = dynamics_png(fortnight([Series("organic_search", [4] * 14)]), "en")
    blue, green = CHANNEL_COLOURS["paid_search"].lower(), CHANNEL_COLOURS["organic_search"].lower()
    assert blue in png_colours(paid) and green not in png_colours(paid)
    assert green in png_colours(organic) and blue not in png_colours(organic)


def test_fixed_colours_are_distinct_and_cover_every_channel() -> None:
    assert set(CHANNELS["ru"]) <= set(CHANNEL_COLOURS)
    assert len(set(CHANNEL_COLOURS.values())) == len(CHANNEL_COLOURS)
    assert OTHER_COLOUR not in CHANNEL_COLOURS.values()


def test_an_unknown_channel_gets_a_stable_spare_colour_and_other_is_grey() -> None:
    colour = channel_colour("tiktok_shop")
    assert colour == channel_colour("tiktok_shop") and colour in SPARE_COLOURS
    assert colour not in CHANNEL_COLOURS.values()
    report = fortnight(
        [Series("tiktok_shop", [2] * 14), Series("direct", [1] * 14), Series(None, [1] * 14, other=True)]
    )
    assert series_colours(report) == [colour, CHANNEL_COLOURS["direct"], OTHER_COLOUR]


def test_values_of_other_fields_never_share_a_colour_in_one_chart() -> None:
    """Campaign colours come from their names; two names that hash alike still get two colours."""
    names = [f"campaign {i}" for i in range(12)]
    report = fortnight([Series(name, [1] * 14) for name in names], by="campaign")
    colours = series_colours(report)
    assert len(set(colours)) == len(names)
    again = fortnight([Series(name, [1] * 14) for name in reversed(names[:1])], by="campaign")
    assert series_colours(again)[0] == colours[0]


@pytest.mark.parametrize(
    ("lang", "key", "label"),
    [
        ("ru", "2026-W45", "2–8 ноя"),
        ("en", "2025-W45", "Nov 3–9"),
        ("ru", "2025-W44", "27 окт – 2 ноя"),
        ("en", "2025-W44", "Oct 27 – Nov 2"),
        ("ru", "2026-W53", "28 дек – 3 янв"),
    ],
)
def test_weeks_are_labelled_by_their_days(lang: str, key: str, label: str) -> None:
    assert bucket_label(lang, Bucket.WEEK, key) == label  # type: ignore[arg-type]


def test_a_week_label_is_cut_to_the_period() -> None:
    running = Period(date(2026, 11, 25), date(2026, 11, 29), MOSCOW, Unit.SPAN, until=utc("2026-11-27 11:00"))
    assert bucket_label("ru", Bucket.WEEK, "2026-W48", running) == "25–27 ноя"
    assert bucket_label("en", Bucket.WEEK, "2026-W48", running) == "Nov 25–27"


def test_a_quarter_by_week_is_labelled_by_dates() -> None:
    quarter = Period(date(2026, 7, 1), date(2026, 9, 30), MOSCOW, Unit.QUARTER)
    report = report_of(quarter, Bucket.WEEK, [Series("direct", [3] * 14)])
    labels = tick_labels(dynamics_figure(report, "ru"))
    assert labels[0] == "1–5 июл" and "27 июл – 2 авг" in labels and labels[-1] == "28–30 сен"
    assert not [label for label in labels if "нед" in label or "W" in label]


def test_a_year_by_week_is_labelled_by_month() -> None:
    year = Period(date(2025, 1, 1), date(2025, 12, 31), MOSCOW, Unit.YEAR)
    report = report_of(year, Bucket.WEEK, [Series("direct", [2] * 53)])
    figure = dynamics_figure(report, "ru")
    assert len(bars(figure)) == 53  # still a bar a week
    assert tick_labels(figure) == [
        "янв\n2025",
        "фев",
        "мар",
        "апр",
        "май",
        "июн",
        "июл",
        "авг",
        "сен",
        "окт",
        "ноя",
        "дек",
    ]
    assert len(figure.axes[0].get_xticks(minor=True)) == 11  # a tick between months


def test_a_year_by_day_is_added_up_by_month() -> None:
    year = Period(date(2025, 1, 1), date(2025, 12, 31), MOSCOW, Unit.YEAR)
    report = report_of(year, Bucket.DAY, [Series("paid_search", [1] * 365), Series("direct", [2] * 365)])
    figure = dynamics_figure(report, "en")
    assert [round(bar.get_height()) for bar in bars(figure)] == [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
    assert tick_labels(figure)[:3] == ["Jan", "Feb", "Mar"]
    assert "days added up by month" in [t.get_text() for t in figure.axes[0].texts] + [
        figure.axes[0].get_title(loc="right")
    ]


def test_the_running_bar_is_hatched_and_says_so_far() -> None:
    month = Period(date(2026, 11, 1), date(2026, 11, 30), MOSCOW, Unit.MONTH, until=utc("2026-11-27 11:00"))
    report = report_of(month, Bucket.DAY, [Series("direct", [1] * 27)])
    figure = dynamics_figure(report, "ru")
    drawn = bars(figure)
    assert drawn[-1].get_hatch() and not drawn[-2].get_hatch()
    assert "пока" in [text.get_text() for text in figure.axes[0].texts]
    assert tick_labels(figure)[-1] == "27 ноя"  # the latest bar is always named


def test_today_is_drawn_among_the_days_before_it() -> None:
    today = Period(date(2026, 11, 27), date(2026, 11, 27), MOSCOW, Unit.DAY, until=utc("2026-11-27 11:00"))
    window = chart_period(today)
    assert (window.first, window.last_covered, window.running) == (date(2026, 11, 14), date(2026, 11, 27), True)
    report = report_of(window, Bucket.DAY, [Series("direct", [3] * 13 + [1])])
    figure = dynamics_figure(report, "en", focus=today)
    axes = figure.axes[0]
    assert len(bars(figure)) == 14
    assert axes.get_title(loc="left").endswith("Nov 27, 2026 (so far)")
    assert axes.get_title(loc="right") == "against the days before it"
    bold = [t.get_text() for t in axes.get_xticklabels() if t.get_fontweight() == "bold"]
    assert bold == ["Nov 27"]
    yesterday = Period(date(2026, 11, 26), date(2026, 11, 26), MOSCOW, Unit.DAY)
    assert chart_period(yesterday).days == 14 and chart_period(window) == window


@pytest.mark.parametrize(
    ("first", "last", "bucket"),
    [
        ("2026-11-27", "2026-11-27", Bucket.DAY),
        ("2026-10-29", "2026-11-27", Bucket.DAY),  # 30 days
        ("2026-07-01", "2026-09-30", Bucket.WEEK),  # a quarter
        ("2026-01-01", "2026-12-31", Bucket.MONTH),  # a year
        ("2024-01-01", "2026-12-31", Bucket.QUARTER),  # three years
    ],
)
def test_the_automatic_bucket(first: str, last: str, bucket: Bucket) -> None:
    period = Period(date.fromisoformat(first), date.fromisoformat(last), MOSCOW, Unit.SPAN)
    assert chart_bucket(period) is bucket


def test_the_text_of_dynamics_names_weeks_by_their_days_too() -> None:
    month = Period(date(2026, 11, 1), date(2026, 11, 30), MOSCOW, Unit.MONTH, until=utc("2026-11-27 11:00"))
    report = report_of(month, Bucket.WEEK, [Series("direct", [1, 2, 3, 4, 5])])
    text = render_dynamics(report, "ru")
    assert "26 окт – 1 ноя" not in text and "1 ноя — <b>1</b>" in text  # the first week cut to the month
    assert "2–8 ноя — <b>2</b>" in text and "23–27 ноя — <b>5</b>" in text
