"""PNG charts with matplotlib's Agg renderer (no display, no pyplot state).

DejaVu Sans ships with matplotlib and has Cyrillic, so Russian labels render as letters, not boxes.
Rendering takes ~100–200 ms of CPU: call `dynamics_png` through `asyncio.to_thread` from async code.
"""

from __future__ import annotations

import io
import threading

import matplotlib
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from reports.counts import Dynamics
from reports.i18n import Lang, bucket_label, period_label, value_label, word
from tracking.strings import one_line

FONT = "DejaVu Sans"
# Colour-blind-safe (Okabe–Ito), then grey for the lumped "other" series.
COLOURS = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000")
OTHER_COLOUR = "#B0B0B0"
MAX_TICKS = 16
# rcParams are process-global; one chart at a time keeps concurrent threads from mixing settings.
_RENDER = threading.Lock()


def dynamics_png(report: Dynamics, lang: Lang, title: str | None = None) -> bytes:
    """Stacked bars of dialogs per bucket, one colour per channel (or other `by` value), totals on top."""
    with _RENDER, matplotlib.rc_context({"font.family": FONT, "font.size": 10}):
        # Fixed margins (room for the legend on the right): a layout engine would double the render time.
        figure = Figure(figsize=(10, 5.6), dpi=110)
        figure.subplots_adjust(left=0.07, right=0.77, bottom=0.17, top=0.91)
        FigureCanvasAgg(figure)
        axes = figure.add_subplot()
        heading = title or word(lang, "chart_dialogs")
        axes.set_title(f"{heading} · {period_label(lang, report.period)}", loc="left", fontsize=12)
        positions = list(range(len(report.buckets)))
        bottom = [0] * len(positions)
        for i, series in enumerate(report.series):
            colour = OTHER_COLOUR if series.other else COLOURS[i % len(COLOURS)]
            label = word(lang, "other") if series.other else value_label(lang, report.by, series.value)
            axes.bar(positions, series.points, bottom=bottom, color=colour, label=_clip(label), width=0.8)
            bottom = [b + p for b, p in zip(bottom, series.points, strict=True)]
        if len(positions) <= 40:
            for x, total in zip(positions, report.totals, strict=True):
                if total:
                    axes.annotate(str(total), (x, total), ha="center", va="bottom", fontsize=8, xytext=(0, 2),
                                  textcoords="offset points")  # fmt: skip
        step = max(1, -(-len(positions) // MAX_TICKS))
        axes.set_xticks(positions[::step])
        axes.set_xticklabels(
            [bucket_label(lang, report.bucket, k) for k in report.buckets[::step]],
            rotation=45 if len(positions) > 8 else 0,
            ha="right" if len(positions) > 8 else "center",
        )
        axes.set_ylabel(word(lang, "dialogs"))
        axes.yaxis.set_major_locator(MaxNLocator(integer=True))
        axes.spines[["top", "right"]].set_visible(False)
        axes.grid(axis="y", alpha=0.3)
        axes.set_axisbelow(True)
        if not any(report.totals):
            axes.text(0.5, 0.5, word(lang, "no_dialogs"), transform=axes.transAxes, ha="center", va="center")
            axes.set_ylim(0, 1)
        else:
            axes.set_ylim(0, max(report.totals) * 1.1 + 0.5)  # room for the totals above the tallest bar
            axes.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
        out = io.BytesIO()
        figure.savefig(out, format="png", pil_kwargs={"compress_level": 3})  # 6 costs twice the time for ~10 %
        return out.getvalue()


def _clip(label: str, width: int = 28) -> str:
    """A legend label: one line, cut, and with `$` escaped (matplotlib reads `$…$` as a formula and refuses
    one it cannot parse, a campaign named `$\\x$` included)."""
    return one_line(label, width).replace("$", r"\$")
