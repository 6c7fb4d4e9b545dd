"""What the three exchange studies' report sections share: sample-size rules, the
reduced-run heading, payment-rule objects, bootstrap helpers and a heat-map annotator."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from auctionlab.report.metrics import fmt
from auctionlab.report.stats import bootstrap_ci, gain_ci

N_BOOT = 2000
ANALYSIS_STREAM = 1_000_003  # spawn key of the report's bootstrap generator (apart from any run's)
TOL = 1e-6
MAX_ROUNDS = "max_rounds"
STALLED = "stalled"
NOT_CLOSED = (MAX_ROUNDS, STALLED)  # stopped without the closing rule: at max_rounds, or stalled on the way there
CLOSED_BY_RULE = ("cutoffs", "no_optimistic_trade")
STALL_NOTE = (
    "Runs whose state repeated exactly (bounds, prices, provisional trade) while every bidder was stationary "
    "stop at once as stalled: every later round would have repeated it, so they end with the outcome of the "
    "run to max_rounds and are counted here with the runs stopped at max_rounds (their rounds count only the "
    "rounds run)."
)
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f")


def stopped(closed_by: Any) -> Any:
    """Per run, whether it stopped without the closing rule (:data:`NOT_CLOSED`): a boolean Series."""
    return closed_by.isin(NOT_CLOSED)


def rules_in(columns: Sequence[str], prefix: str) -> list[Any]:
    """The registered payment rules (objects) that have a ``prefix<name>`` column, in registry order."""
    from auctionlab.mechanisms.exchange.payment_rules import PAYMENT_RULES

    return [r for name, r in PAYMENT_RULES.items() if f"{prefix}{name}" in columns]


def rule(name: str) -> Any:
    from auctionlab.mechanisms.exchange.payment_rules import PAYMENT_RULES

    return PAYMENT_RULES[name]


def ci(sample: Any, gen: np.random.Generator) -> tuple[float, float, float]:
    """Mean and 95% percentile-bootstrap CI (NaNs for an empty sample)."""
    x = np.asarray(sample, dtype=float)
    x = x[np.isfinite(x)]
    if x.size == 0:
        return math.nan, math.nan, math.nan
    return bootstrap_ci(x, n_boot=N_BOOT, rng=gen)


def paired_ci(a: Any, b: Any, gen: np.random.Generator) -> tuple[float, float, float]:
    """Mean of a − b and its paired 95% bootstrap CI (NaNs for an empty sample)."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.size == 0:
        return math.nan, math.nan, math.nan
    return gain_ci(a, b, paired=True, n_boot=N_BOOT, rng=gen)


def share_ci(flags: Any, gen: np.random.Generator) -> tuple[float, float, float]:
    return ci(np.asarray(flags, dtype=float), gen)


def ci_str(est: float, lo: float, hi: float) -> str:
    return "n/a" if math.isnan(est) else f"{fmt(est)} [{fmt(lo)}, {fmt(hi)}]"


def reduced_heading(store: Any) -> str:
    """`` — reduced run (r of R replications)`` when the stored experiment has fewer
    replications than its catalog spec (as ``auctionlab reproduce`` runs it), else ``""``."""
    import tomllib

    from auctionlab.studies import study_for

    try:
        study = study_for(store.spec)
        if study is None or study.spec is None:
            return ""
        full = int(tomllib.loads(study.spec.read_text()).get("replications", 0))
    except (OSError, ValueError, TypeError, tomllib.TOMLDecodeError):  # nothing to compare with
        return ""
    r = store.spec.replications
    return f" — reduced run ({r} of {full} replications)" if r < full else ""


def annotate(ax: Any, values: np.ndarray, fontsize: float = 7) -> None:
    """Write each cell's value on a heat map, white on the dark half of viridis."""
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return
    lo, hi = float(finite.min()), float(finite.max())
    for i in range(values.shape[0]):
        for j in range(values.shape[1]):
            v = float(values[i, j])
            dark = hi > lo and (v - lo) < 0.5 * (hi - lo)
            ax.text(j, i, fmt(v, 3), ha="center", va="center", fontsize=fontsize, color="white" if dark else "black")
