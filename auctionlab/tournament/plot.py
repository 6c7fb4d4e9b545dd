"""Tournament plots: data from the result set's tidy frames, drawing apart.

``result.plot.boxplot()`` draws :meth:`ResultSet.score_frame`, ``result.plot.payoff()``
draws :meth:`ResultSet.payoff_frame`; the drawing functions :func:`draw_boxplot` and
:func:`draw_payoff` take any frame of that shape, so a stored or filtered table plots the
same way. Each returns the matplotlib ``Axes`` (a new ``Figure`` when ``ax`` is None; no
pyplot state is touched).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from auctionlab.errors import ConfigError

if TYPE_CHECKING:
    from auctionlab.tournament.result_set import ResultSet

__all__ = ["Plot", "draw_boxplot", "draw_payoff"]


def _axes(ax: Any):
    if ax is not None:
        return ax
    from matplotlib.figure import Figure

    return Figure(figsize=(7, 4.5), layout="constrained").add_subplot()


def _need(frame: pd.DataFrame, cols: tuple[str, ...], what: str) -> None:
    missing = [c for c in cols if c not in frame.columns]
    if missing:
        raise ConfigError(f"{what} needs columns {list(cols)}; missing {missing}")


def draw_boxplot(frame: pd.DataFrame, ax: Any = None, *, title: str | None = None):
    """Boxes of ``score`` per ``strategy`` (in the frame's order of first appearance)."""
    _need(frame, ("strategy", "score"), "draw_boxplot")
    ax = _axes(ax)
    order = list(dict.fromkeys(frame["strategy"]))
    data = [frame.loc[frame["strategy"] == s, "score"].to_numpy() for s in order]
    ax.boxplot(data, tick_labels=order)
    ax.set_ylabel("mean payoff per seat and step")
    ax.tick_params(axis="x", labelrotation=30)
    ax.set_title(title or "Scores over repetitions")
    return ax


def draw_payoff(frame: pd.DataFrame, ax: Any = None, *, title: str | None = None):
    """Heatmap of ``payoff`` with ``player`` rows and ``opponent`` columns, values written in."""
    _need(frame, ("player", "opponent", "payoff"), "draw_payoff")
    ax = _axes(ax)
    rows = list(dict.fromkeys(frame["player"]))
    cols = list(dict.fromkeys(frame["opponent"]))
    mat = frame.pivot(index="player", columns="opponent", values="payoff").loc[rows, cols].to_numpy()
    im = ax.imshow(mat, cmap="viridis")
    ax.set_xticks(range(len(cols)), cols, rotation=30, ha="right")
    ax.set_yticks(range(len(rows)), rows)
    ax.set_xlabel("opponent")
    ax.set_ylabel("player")
    for (i, j), v in np.ndenumerate(mat):
        ax.text(j, i, f"{v:.3g}", ha="center", va="center", color="w" if v < np.nanmean(mat) else "k", fontsize=8)
    ax.figure.colorbar(im, ax=ax, label="mean payoff")
    ax.set_title(title or "Payoff of player against opponent")
    return ax


class Plot:
    """``result.plot``: the result set's standard plots."""

    def __init__(self, result_set: ResultSet) -> None:
        self.result_set = result_set

    def boxplot(self, ax: Any = None, **kw: Any):
        return draw_boxplot(self.result_set.score_frame(), ax, **kw)

    def payoff(self, ax: Any = None, *, role: str | None = None, **kw: Any):
        return draw_payoff(self.result_set.payoff_frame(role=role), ax, **kw)
