"""KPI charts as PNG bytes (matplotlib, Agg backend, no pyplot state).

Rendering is CPU work: call ``render_bar_chart`` through ``asyncio.to_thread``. One lock
serializes renders because matplotlib's rc settings are process-wide."""

from __future__ import annotations

import hashlib
import io
import logging
import math
import os
import tempfile
import threading
import time
import warnings
from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

from matplotlib import font_manager
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from bot.fonts import find_cjk_font
from bot.i18n import Translator
from storage.appeals import State
from storage.appeals.kpi import NodeKpis
from storage.appeals.policy import AppealPolicy

log = logging.getLogger(__name__)

_LOCK = threading.Lock()
FALLBACK_FAMILY = "DejaVu Sans"
MAX_LABEL = 16  # width of a label under its bar: Chinese characters count twice

# State buckets stacked in the chart, bottom to top.
BUCKETS: tuple[tuple[str, str, tuple[State, ...]], ...] = (
    ("resolved", "#2e7d32", (State.RESOLVED, State.RATED, State.CLOSED)),
    ("working", "#1976d2", (State.ACCEPTED, State.IN_PROGRESS, State.REOPENED)),
    ("pending", "#f9a825", (State.SUBMITTED,)),
    ("dropped", "#9e9e9e", (State.REJECTED, State.CANCELLED)),
)
LINE_COLOR = "#c62828"


@dataclass(frozen=True)
class Series:
    label: str
    color: str
    values: tuple[int, ...]


@dataclass(frozen=True)
class BarChart:
    """Stacked bars, one per label, and optionally a percentage line on a right axis."""

    title: str
    labels: tuple[str, ...]
    series: tuple[Series, ...]
    y_label: str
    line: tuple[float | None, ...] | None = None  # percentages 0..100
    line_label: str = ""
    empty_text: str = ""


@cache
def font_families() -> tuple[str, ...]:
    """A Chinese font registered with matplotlib when the system has one, then the
    bundled DejaVu Sans (Latin only: Chinese shows as boxes, but nothing crashes)."""
    try:
        path = find_cjk_font()
        if path:
            font_manager.fontManager.addfont(path)
            name = font_manager.FontProperties(fname=path).get_name()
            return (name, FALLBACK_FAMILY)
    except Exception:  # a broken font file must not stop the chart
        log.warning("could not load a Chinese font for charts", exc_info=True)
    return (FALLBACK_FAMILY,)


def _width(char: str) -> int:
    return 1 if ord(char) < 0x1100 else 2


def _short(label: str) -> str:
    if sum(_width(c) for c in label) <= MAX_LABEL:
        return label
    out, used = "", 0
    for char in label:
        if used + _width(char) > MAX_LABEL - 1:
            break
        out += char
        used += _width(char)
    return out + "…"


def render_bar_chart(chart: BarChart) -> bytes:
    with _LOCK, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # missing glyphs without a CJK font
        rc: Any = {"font.family": list(font_families()), "text.parse_math": False}
        with matplotlib.rc_context(rc):
            return _render(chart)


def _render(chart: BarChart) -> bytes:
    n = len(chart.labels)
    width = min(16.0, max(8.0, 0.6 * n + 2))
    fig = Figure(figsize=(width, 4.8), dpi=110)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    xs = list(range(n))
    bottoms = [0] * n
    handles: list[Any] = []
    for series in chart.series:
        bars = ax.bar(xs, series.values, bottom=bottoms, color=series.color, label=series.label)
        handles.append(bars)
        bottoms = [b + v for b, v in zip(bottoms, series.values, strict=True)]
    top = max(bottoms, default=0)
    for x, total in zip(xs, bottoms, strict=True):
        if total:
            ax.annotate(
                str(total),
                (x, total),
                ha="center",
                va="bottom",
                fontsize=9,
                xytext=(0, 2),
                textcoords="offset points",
            )
    ax.set_xticks(xs)
    ax.set_xticklabels(
        [_short(label) for label in chart.labels],
        rotation=30 if n > 6 else 0,
        ha="right" if n > 6 else "center",
    )
    ax.set_ylabel(chart.y_label)
    ax.set_ylim(0, max(1, math.ceil(top * 1.15)))
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_title(chart.title)
    ax.spines[["top", "right"]].set_visible(False)
    if top == 0 and chart.empty_text:
        ax.text(
            0.5,
            0.5,
            chart.empty_text,
            transform=ax.transAxes,
            ha="center",
            va="center",
            fontsize=13,
            color="#757575",
        )
    if chart.line is not None and any(v is not None for v in chart.line):
        ax2 = ax.twinx()
        ys = [math.nan if v is None else v for v in chart.line]
        (line,) = ax2.plot(xs, ys, "o", color=LINE_COLOR, label=chart.line_label, markersize=7)
        handles.append(line)
        ax2.set_ylim(0, 105)
        ax2.set_ylabel(chart.line_label)
        ax2.spines[["top"]].set_visible(False)
    if len(handles) > 1:
        ax.legend(
            handles=handles,
            loc="upper left",
            fontsize=8,
            ncols=min(5, len(handles)),
            frameon=False,
            bbox_to_anchor=(0, -0.12 if n <= 6 else -0.25),
        )
    fig.tight_layout()
    out = io.BytesIO()
    fig.savefig(out, format="png")
    return out.getvalue()


def kpi_chart(kpis: NodeKpis, t: Translator, policy: AppealPolicy) -> BarChart:
    """The month by child node: appeals stacked by state and the satisfaction rate; for
    a grid (no children), its appeals by category."""
    title = t("stats.chart.title", node=kpis.node.name, month=month_label(kpis, t))
    empty = t("stats.chart.empty")
    if not kpis.children:
        cats = list(kpis.node.by_category.items())
        return BarChart(
            title=title,
            labels=tuple(policy.category_name(code, t.language) for code, _ in cats),
            series=(Series(t("stats.chart.appeals"), "#1976d2", tuple(n for _, n in cats)),),
            y_label=t("stats.chart.appeals"),
            empty_text=empty,
        )
    series = tuple(
        Series(
            t(f"stats.chart.{key}"),
            color,
            tuple(sum(child.state_count(s) for s in states) for child in kpis.children),
        )
        for key, color, states in BUCKETS
    )
    line = tuple(
        None if child.satisfaction_rate is None else float(child.satisfaction_rate) * 100
        for child in kpis.children
    )
    return BarChart(
        title=title,
        labels=tuple(child.name for child in kpis.children),
        series=series,
        y_label=t("stats.chart.appeals"),
        line=line,
        line_label=t("stats.chart.satisfaction"),
        empty_text=empty,
    )


def month_label(kpis: NodeKpis, t: Translator) -> str:
    return t("stats.month", year=kpis.month.year, month=kpis.month.month)


# --- files for aiogram-dialog's media (it sends a path and remembers its file_id) ------

CHART_DIR = Path(tempfile.gettempdir()) / "gridbot-charts"
CHART_TTL = timedelta(days=1)
CHART_VERSION = "1"  # bump when the drawing changes so cached files are not reused


def chart_file(chart: BarChart, directory: Path | None = None) -> Path:
    """The chart as a PNG file named by its content: the same figures give the same
    file (drawn once, and Telegram's file id is reused), new figures a new file. Files
    older than a day are pruned."""
    directory = directory or CHART_DIR
    key = hashlib.sha256(f"{CHART_VERSION}{chart!r}".encode()).hexdigest()[:32]
    path = directory / f"{key}.png"
    if path.is_file():
        return path
    png = render_bar_chart(chart)
    directory.mkdir(parents=True, exist_ok=True)
    tmp = directory / f"{key}.{os.getpid()}.{threading.get_ident()}.tmp"
    tmp.write_bytes(png)
    os.replace(tmp, path)
    _prune(directory, keep=path)
    return path


def _prune(directory: Path, keep: Path) -> None:
    cutoff = time.time() - CHART_TTL.total_seconds()
    for old in directory.glob("*.png"):
        try:
            if old != keep and old.stat().st_mtime < cutoff:
                old.unlink()
        except OSError:
            pass  # another process pruned it first
