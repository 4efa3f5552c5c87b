"""PNG charts with matplotlib's Agg renderer (no display, no pyplot state).

DejaVu Sans ships with matplotlib and has Cyrillic, so Russian labels render as letters, not boxes.
Rendering takes ~100–200 ms of CPU: call `dynamics_png` through `asyncio.to_thread` from async code.

What a chart promises the owner:
- a channel has one colour in every chart (`CHANNEL_COLOURS`), whatever its rank; a channel not listed
  there, and a value of another field (a campaign, a source), gets one from its name's hash; "other" is grey;
- weeks read as their days ("3–9 ноя"), and many days or weeks (more than three months of them) are
  labelled by month under the bars;
- the last bar of a period still running is hatched and says "so far";
- a one-day period is drawn as that day (`focus`) shaded among the days before it (`chart_period`).
"""

from __future__ import annotations

import io
import threading
import zlib
from collections.abc import Sequence
from dataclasses import replace
from datetime import date, timedelta

import matplotlib
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, MaxNLocator

from reports.counts import Dynamics
from reports.i18n import MONTHS, MONTHS_NOMINATIVE_RU, Lang, bucket_label, number, period_label, value_label, word
from reports.periods import Period, Unit
from tracking.periods import bucket_start
from tracking.store.base import Bucket
from tracking.strings import one_line

FONT = "DejaVu Sans"
# One colour per channel, everywhere. Okabe–Ito (safe for every common colour blindness) for the channels a
# business meets most, Paul Tol's muted palette for the rarer ones; no two of one family are alike.
CHANNEL_COLOURS: dict[str, str] = {
    "paid_search": "#0072B2",  # blue
    "organic_search": "#009E73",  # bluish green
    "paid_social": "#D55E00",  # vermilion
    "organic_social": "#CC79A7",  # reddish purple
    "maps": "#F0E442",  # yellow: Yandex Maps, 2GIS, Google Maps and other directories
    "referral": "#56B4E9",  # sky blue
    "direct": "#E69F00",  # orange
    "messenger": "#332288",  # indigo
    "unattributed": "#882255",  # wine
    "email": "#CC6677",  # rose
    "display": "#999933",  # olive
    "affiliate": "#44AA99",  # teal
    "other_campaign": "#DDCC77",  # sand
}
# For a channel not listed above (picked by its name's hash): Paul Tol's light palette, none of the above.
SPARE_COLOURS = ("#77AADD", "#EE8866", "#FFAABB", "#99DDFF", "#44BB99", "#BBCC33", "#AA4499", "#117733")
# For values of other fields (campaigns, sources…): every colour but the greys.
VALUE_COLOURS = (*dict.fromkeys(CHANNEL_COLOURS.values()), *SPARE_COLOURS)
OTHER_COLOUR = "#B0B0B0"  # the lumped "other" series
NOT_SET_COLOUR = "#6E6E6E"  # "(not set)": a campaign or source that was not given
FOCUS_SHADE = "#000000"
CONTEXT_DAYS = 14  # a one-day period is drawn with the days before it, up to this many bars in all
MAX_TICKS = 16
DENSE_BARS = 120
# Beyond two months of days or four of weeks, the bars are labelled by month; beyond four months of days,
# the days are added up into a bar per month (365 stacked bars a pixel or two wide read as noise).
MONTH_AXIS_DAYS, MONTH_AXIS_WEEKS, MONTH_DAYS = 62, 18, 122
# rcParams are process-global; one chart at a time keeps concurrent threads from mixing settings.
_RENDER = threading.Lock()


def chart_period(period: Period) -> Period:
    """The days a chart of `period` draws: a single day comes with the days before it (one bar alone says
    nothing; the store counts by day, not by hour), anything longer is itself."""
    if period.days > 1:
        return period
    return Period(period.first - timedelta(days=CONTEXT_DAYS - 1), period.last, period.zone, Unit.SPAN, period.until)


def channel_colour(channel: str) -> str:
    """A channel's colour: its own, or for one not listed a spare picked by its name (the same every time)."""
    return CHANNEL_COLOURS.get(channel) or SPARE_COLOURS[_hash(channel) % len(SPARE_COLOURS)]


def series_colours(report: Dynamics) -> list[str]:
    """The colour of each series: fixed for channels, from the value's hash otherwise. A hashed colour
    already taken in this chart moves to the next free one, so two series never look alike."""
    fixed = [
        OTHER_COLOUR
        if series.other
        else NOT_SET_COLOUR
        if not series.value
        else CHANNEL_COLOURS.get(series.value)
        if report.by == "channel"
        else None
        for series in report.series
    ]
    taken = {colour for colour in fixed if colour}
    colours = []
    for series, colour in zip(report.series, fixed, strict=True):
        if colour is None:
            palette = SPARE_COLOURS if report.by == "channel" else VALUE_COLOURS
            colour = _free(palette, _hash(series.value or ""), taken)
            taken.add(colour)
        colours.append(colour)
    return colours


def dynamics_png(report: Dynamics, lang: Lang, title: str | None = None, focus: Period | None = None) -> bytes:
    """Stacked bars of dialogs per bucket, one colour per channel (or other `by` value), totals on top.

    `focus`: the period the owner asked about when the chart shows more (see `chart_period`): its bars are
    shaded and the title names it."""
    with _RENDER, matplotlib.rc_context({"font.family": FONT, "font.size": 10}):
        figure = _figure(report, lang, title, focus)
        out = io.BytesIO()
        figure.savefig(out, format="png", pil_kwargs={"compress_level": 3})  # 6 costs twice the time for ~10 %
        return out.getvalue()


def dynamics_figure(report: Dynamics, lang: Lang, title: str | None = None, focus: Period | None = None) -> Figure:
    """The figure `dynamics_png` draws, for tests that read its bars and labels."""
    with _RENDER, matplotlib.rc_context({"font.family": FONT, "font.size": 10}):
        figure = _figure(report, lang, title, focus)
        figure.canvas.draw()
        return figure


def _figure(report: Dynamics, lang: Lang, title: str | None, focus: Period | None) -> Figure:
    # Fixed margins (room for the legend on the right): a layout engine would double the render time.
    figure = Figure(figsize=(10, 5.6), dpi=110)
    figure.subplots_adjust(left=0.07, right=0.77, bottom=0.17, top=0.91)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    heading = title or word(lang, "chart_dialogs")
    shown = focus or report.period
    axes.set_title(f"{heading} · {period_label(lang, shown)}", loc="left", fontsize=12)
    if focus is not None and report.period.first < focus.first:
        axes.set_title(word(lang, "chart_context"), loc="right", fontsize=9, color="#666666")
    if report.bucket is Bucket.DAY and len(report.buckets) > MONTH_DAYS:
        report = _by_month(report)
        axes.set_title(word(lang, "chart_days_by_month"), loc="right", fontsize=9, color="#666666")
    positions = list(range(len(report.buckets)))
    running = report.period.running and bool(positions)
    bottom = [0] * len(positions)
    # Bars a pixel or two wide touch: gaps that narrow alias into stripes of white.
    width = 1.0 if len(positions) > DENSE_BARS else 0.8
    handles = []
    for series, colour in zip(report.series, series_colours(report), strict=True):
        label = word(lang, "other") if series.other else value_label(lang, report.by, series.value)
        bars = axes.bar(positions, series.points, bottom=bottom, color=colour, width=width, linewidth=0)
        if running:  # the period's last bucket is not over: hatched, so it does not read as a slump
            bars.patches[-1].set_hatch("////")
            bars.patches[-1].set_edgecolor("white")
        handles.append(Patch(facecolor=colour, label=_clip(label)))
        bottom = [b + p for b, p in zip(bottom, series.points, strict=True)]
    focused = _focused(report, focus)
    for x in focused:
        axes.axvspan(x - 0.5, x + 0.5, color=FOCUS_SHADE, alpha=0.07, linewidth=0, zorder=0)
    # Totals over the bars while they fit side by side (~6 px a digit at 8 pt, the axes ~770 px wide).
    with_totals = len(positions) * (6 * len(str(max(report.totals, default=0))) + 6) <= 770
    if with_totals:
        for x, total in zip(positions, report.totals, strict=True):
            if total:
                axes.annotate(number(lang, total), (x, total), ha="center", va="bottom", fontsize=8, xytext=(0, 2),
                              textcoords="offset points", fontweight="bold" if x in focused else "normal")  # fmt: skip
    if running:
        last = positions[-1]
        axes.annotate(word(lang, "so_far"), (last, report.totals[-1]), ha="center", va="bottom", fontsize=8,
                      xytext=(0, 13 if with_totals else 2), textcoords="offset points", color="#555555",
                      style="italic")  # fmt: skip
    if _month_axis(report):
        _label_months(axes, report, lang)
    else:
        _label_buckets(axes, report, lang, focused)
    axes.set_xlim(-0.6, len(positions) - 0.4)
    axes.set_ylabel(word(lang, "dialogs"))
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes.yaxis.set_major_formatter(FuncFormatter(lambda value, _: number(lang, round(value))))
    axes.spines[["top", "right"]].set_visible(False)
    axes.grid(axis="y", alpha=0.3)
    axes.set_axisbelow(True)
    if not any(report.totals):
        axes.text(0.5, 0.5, word(lang, "no_dialogs"), transform=axes.transAxes, ha="center", va="center")
        axes.set_ylim(0, 1)
    else:
        axes.set_ylim(0, max(report.totals) * 1.15 + 0.5)  # room for the totals above the tallest bar
        axes.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    return figure


def _label_buckets(axes: Axes, report: Dynamics, lang: Lang, focused: Sequence[int]) -> None:
    """A label per bar (every n-th when there are many), turned when they would not fit side by side."""
    n = len(report.buckets)
    step = max(1, -(-n // MAX_TICKS))
    positions = list(range(n - 1, -1, -step))[::-1]  # counted from the last bar: the latest is always named
    year = len({key[:4] for key in report.buckets}) > 1  # one year: the title says which
    labels = [bucket_label(lang, report.bucket, report.buckets[x], report.period, year=year) for x in positions]
    longest = max((len(label) for label in labels), default=0)
    turned = len(labels) * (longest + 2) * 7.5 > 0.7 * 1100  # ~7.5 px a character, the axes ~770 px wide
    axes.set_xticks(positions)
    texts = axes.set_xticklabels(labels, rotation=40 if turned else 0, ha="right" if turned else "center")
    if turned:
        for text in texts:
            text.set_rotation_mode("anchor")
    for x, text in zip(positions, texts, strict=True):
        if x in focused:
            text.set_fontweight("bold")


def _month_axis(report: Dynamics) -> bool:
    """More days or weeks than read one by one (a quarter by week still shows its weeks' dates)."""
    return (report.bucket is Bucket.DAY and len(report.buckets) > MONTH_AXIS_DAYS) or (
        report.bucket is Bucket.WEEK and len(report.buckets) > MONTH_AXIS_WEEKS
    )


def _label_months(axes: Axes, report: Dynamics, lang: Lang) -> None:
    """Days or weeks over many months: a tick between months, the month's name under its bars, the year
    under January and under the first month."""
    origin = bucket_start(report.bucket.value, report.buckets[0])
    days_per_bar = 7 if report.bucket is Bucket.WEEK else 1
    n = len(report.buckets)

    def x_of(day: date) -> float:  # where a day starts on the axis (bar i spans i-0.5 … i+0.5)
        return (day - origin).days / days_per_bar - 0.5

    # The axis spans the period's days (a first week may begin in the month before the period).
    left, right = (
        max(x_of(report.period.first), -0.5),
        min(x_of(report.period.last_covered) + 1 / days_per_bar, n - 0.5),
    )
    month = date(report.period.first.year, report.period.first.month, 1)
    spans: list[tuple[date, float, float]] = []
    while x_of(month) < right:
        following = date(month.year + month.month // 12, month.month % 12 + 1, 1)
        spans.append((month, max(x_of(month), left), min(x_of(following), right)))
        month = following
    every = next(step for step in (1, 2, 3, 6, 12) if len(spans) / step <= 15)
    full = max(hi - lo for _, lo, hi in spans)
    names = MONTHS_NOMINATIVE_RU if lang == "ru" else MONTHS["en"]
    ticks: list[float] = []
    labels: list[str] = []
    for start, lo, hi in spans:
        if (start.month - 1) % every or hi - lo < 0.5 * full:  # a sliver of a month has no room for its name
            continue
        ticks.append((lo + hi) / 2)
        first_shown = not labels
        labels.append(
            f"{names[start.month - 1]}\n{start.year}" if start.month == 1 or first_shown else names[start.month - 1]
        )
    axes.set_xticks(ticks, labels)
    axes.tick_params(axis="x", length=0)
    axes.set_xticks([lo for _, lo, _ in spans if lo > left], minor=True)
    axes.tick_params(axis="x", which="minor", length=14, color="#999999")


def _by_month(report: Dynamics) -> Dynamics:
    """A report by day as the same dialogs by month (a day lies in one month: the sums are exact)."""
    keys = list(dict.fromkeys(key[:7] for key in report.buckets))
    index = [keys.index(key[:7]) for key in report.buckets]

    def folded(points: Sequence[int]) -> list[int]:
        sums = [0] * len(keys)
        for i, n in zip(index, points, strict=True):
            sums[i] += n
        return sums

    series = [replace(s, points=folded(s.points)) for s in report.series]
    return replace(report, bucket=Bucket.MONTH, buckets=keys, series=series, totals=folded(report.totals))


def _focused(report: Dynamics, focus: Period | None) -> list[int]:
    if focus is None or report.bucket is not Bucket.DAY:
        return []
    return [i for i, key in enumerate(report.buckets) if focus.first <= date.fromisoformat(key) <= focus.last]


def _hash(text: str) -> int:
    return zlib.crc32(text.encode())  # not hash(): that changes with every start of the process


def _free(palette: Sequence[str], start: int, taken: set[str]) -> str:
    for i in range(len(palette)):
        colour = palette[(start + i) % len(palette)]
        if colour not in taken:
            return colour
    return palette[start % len(palette)]  # more series than colours: some repeat


def _clip(label: str, width: int = 28) -> str:
    """A legend label: one line, cut, and with `$` escaped (matplotlib reads `$…$` as a formula and refuses
    one it cannot parse, a campaign named `$\\x$` included)."""
    return one_line(label, width).replace("$", r"\$")


__all__ = [
    "CHANNEL_COLOURS",
    "OTHER_COLOUR",
    "channel_colour",
    "chart_period",
    "dynamics_figure",
    "dynamics_png",
    "series_colours",
]
