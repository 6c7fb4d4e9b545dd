"""Summary statistics over stored run tables: means with confidence intervals and trends.

Everything here reads pandas tables (from :mod:`auctionlab.experiments.store`) and never
re-simulates. Confidence intervals are Student-t intervals of the mean over independent
instances (every run has its own seed, so instances are i.i.d.).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats


def group_mean_ci(df: pd.DataFrame, by: Sequence[str], value: str, level: float = 0.95) -> pd.DataFrame:
    """Per group: n, mean, sd, half-width and bounds of the ``level`` CI of the mean (NaN-skipping)."""
    g = df.groupby(list(by), sort=True, dropna=False)[value]
    out = g.agg(n="count", mean="mean", sd="std").reset_index()
    q = stats.t.ppf(0.5 + level / 2, np.maximum(out["n"] - 1, 1))
    half = np.where(out["n"] > 1, q * out["sd"] / np.sqrt(out["n"].clip(lower=1)), np.nan)
    out["half_width"] = half
    out["ci_low"] = out["mean"] - half
    out["ci_high"] = out["mean"] + half
    return out


def group_quantiles(df: pd.DataFrame, by: Sequence[str], value: str) -> pd.DataFrame:
    """Per group: n, median, quartiles, inter-quartile range and mean (the mean for comparison only)."""
    g = df.groupby(list(by), sort=True, dropna=False)[value]
    out = g.agg(n="count", median="median", mean="mean").reset_index()
    out["q25"] = g.quantile(0.25).to_numpy()
    out["q75"] = g.quantile(0.75).to_numpy()
    out["iqr"] = out["q75"] - out["q25"]
    return out


def pm(mean: float, half: float) -> str:
    """``mean ± half`` (just the mean when the half-width is not finite)."""
    return f"{fmt(mean)} ± {fmt(half, 2)}" if np.isfinite(half) else fmt(mean)


def pivot_ci(s: pd.DataFrame, index: str, columns: list[str], label=str) -> pd.DataFrame:
    """A readable 'mean ± half-width' table from :func:`group_mean_ci`: rows ``index``, one
    column per ``columns`` combination (a single column key is shown through ``label``)."""
    s = s.copy()
    s["cell"] = [pm(m, h) for m, h in zip(s["mean"], s["half_width"])]
    s["col"] = s[columns].astype(str).agg(" / ".join, axis=1) if len(columns) > 1 else s[columns[0]].map(label)
    return s.pivot(index=index, columns="col", values="cell").reset_index()


def ordered(values, preferred) -> list:
    """The distinct ``values`` in ``preferred`` order first, the rest as they come."""
    vals = list(dict.fromkeys(values))
    return [v for v in preferred if v in vals] + [v for v in vals if v not in preferred]


@dataclass(frozen=True)
class Trend:
    """Least-squares slope of y on x with its CI (over individual instances)."""

    slope: float
    ci_low: float
    ci_high: float
    intercept: float
    n: int

    @property
    def decreasing(self) -> bool:
        """Significantly negative (the whole CI below 0)."""
        return self.ci_high < 0

    @property
    def increasing(self) -> bool:
        return self.ci_low > 0


def trend(x: Sequence[float], y: Sequence[float], level: float = 0.95) -> Trend:
    """OLS slope of y on x with a t confidence interval (NaN pairs dropped)."""
    xa = np.asarray(x, dtype=float)
    ya = np.asarray(y, dtype=float)
    ok = np.isfinite(xa) & np.isfinite(ya)
    xa, ya = xa[ok], ya[ok]
    if xa.size < 2 or np.ptp(xa) == 0:
        return Trend(math.nan, math.nan, math.nan, math.nan, int(xa.size))
    r = stats.linregress(xa, ya)
    q = stats.t.ppf(0.5 + level / 2, xa.size - 2)
    return Trend(
        float(r.slope), float(r.slope - q * r.stderr), float(r.slope + q * r.stderr), float(r.intercept), int(xa.size)
    )


def fmt(x: float, digits: int = 4) -> str:
    """Compact number formatting for report text."""
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "n/a"
    if x == 0:
        return "0"
    if abs(x) >= 1e4 or abs(x) < 1e-3:
        return f"{x:.{digits - 1}e}"
    return f"{x:.{digits}g}"
