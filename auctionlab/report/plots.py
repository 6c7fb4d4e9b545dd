"""Plot helpers: lines with confidence bands, saved as PNG and SVG (matplotlib, Agg canvas).

Figures are drawn from summary tables (:func:`auctionlab.report.metrics.group_mean_ci`), never
from simulations. They are plain ``matplotlib.figure.Figure`` objects rendered by the Agg
canvas, without pyplot: nothing touches the global backend (a notebook keeps its own), and
building reports is headless and thread-safe. Styles are fixed per algorithm / rule so every
figure reads the same way.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

COLORS = {"mwm": "#1f77b4", "ora": "#2ca02c", "mm": "#d62728"}
LABELS = {"mwm": "MWM", "ora": "ORA", "mm": "MM"}  # assignment algorithms; mechanisms label themselves
RULE_STYLE = {"tasc": "-", "trade_reduction": "--", "kda": ":"}
MARKERS = {"mwm": "o", "ora": "s", "mm": "^"}


def label(name: str) -> str:
    """The display label of an assignment algorithm or a registered relay mechanism (read
    from the mechanism object), else the name itself."""
    if name in LABELS:
        return LABELS[name]
    from auctionlab.mechanisms.relay.mechanisms import MECHANISMS

    entry = dict.get(MECHANISMS, name) if isinstance(name, str) else None
    return str(getattr(entry, "label", name)) if isinstance(entry, type) else str(name)


def _band(ax, s: pd.DataFrame, x: str, centre: str, lo: str, hi: str, color, linestyle, marker, name, alpha) -> None:
    (line,) = ax.plot(
        s[x], s[centre], linestyle=linestyle, marker=marker, markersize=3.5, color=color, label=name, linewidth=1.4
    )
    ax.fill_between(s[x], s[lo], s[hi], color=line.get_color(), alpha=alpha, linewidth=0)


def quantile_band(
    ax,
    summary: pd.DataFrame,
    x: str,
    *,
    color: str | None = None,
    linestyle: str = "-",
    marker: str | None = None,
    name: str = "",
    alpha: float = 0.2,
) -> None:
    """Median line with its inter-quartile band from a :func:`~auctionlab.report.metrics.group_quantiles` table."""
    _band(ax, summary.sort_values(x), x, "median", "q25", "q75", color, linestyle, marker, name, alpha)


def band(
    ax,
    summary: pd.DataFrame,
    x: str,
    *,
    color: str | None = None,
    linestyle: str = "-",
    marker: str | None = None,
    name: str = "",
    alpha: float = 0.2,
) -> None:
    """Mean line with its CI band from a :func:`group_mean_ci` table sorted by ``x``."""
    _band(ax, summary.sort_values(x), x, "mean", "ci_low", "ci_high", color, linestyle, marker, name, alpha)


def new_figure(nrows: int = 1, ncols: int = 1, *, width: float = 4.2, height: float = 3.2, **kw):
    fig = Figure(figsize=(width * ncols, height * nrows))
    FigureCanvasAgg(fig)
    axes = fig.subplots(nrows, ncols, squeeze=False, **kw)
    return fig, axes


def save(fig, directory: Path, name: str) -> tuple[Path, Path]:
    """Write ``name.png`` (150 dpi) and ``name.svg``, cropped to what is drawn (so no label
    that the layout pushed past the canvas, e.g. below a colour bar, is cut off)."""
    directory.mkdir(parents=True, exist_ok=True)
    png, svg = directory / f"{name}.png", directory / f"{name}.svg"
    fig.tight_layout()
    fig.savefig(png, dpi=150, bbox_inches="tight")
    fig.savefig(svg, bbox_inches="tight")
    return png, svg
