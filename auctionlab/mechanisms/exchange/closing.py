"""ICE closing rule (paper §5.5): αeff, αthresh and termination.

PP is the lower-bound value of the efficient trade at lower values; PO the lower-bound
value of the efficient trade at upper values. PP ≥ PO and PP ≥ 0; αeff = PP / (2PP − PO)
tends to 1 as the optimistic trade converges to the pessimistic one. αthresh compares the
Threshold payments at the upper and at the lower values, scaled by PP per active bidder.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

from auctionlab.errors import ConfigError

TOL = 1e-9


def gamma_eff(pp: float, po: float) -> float:
    """γeff = 1 + (PP − PO)/PP, defined for PP > 0 (inf otherwise)."""
    return math.inf if pp <= TOL else 1.0 + max(pp - po, 0.0) / pp


def alpha_eff(pp: float, po: float) -> float:
    """αeff = 0 when PP = 0, else 1/γeff (eq. 28)."""
    return 0.0 if pp <= TOL else 1.0 / gamma_eff(pp, po)


def payment_gap(upper: Mapping[str, float], lower: Mapping[str, float], active: Iterable[str]) -> float:
    """Root-mean-square difference of Threshold payments over the ``active`` bidders
    (those that trade in the pessimistic trade λ*_l); the reading of ‖·‖ that the paper's Example 9 fixes."""
    names = list(active)
    if not names:
        return 0.0
    return math.sqrt(sum((upper[b] - lower[b]) ** 2 for b in names) / len(names))


def gamma_thresh(pp: float, gap: float, n_active: int) -> float:
    """γthresh = 1 + gap / (PP / N_active), defined for PP > 0 (eq. 30)."""
    if pp <= TOL:
        return math.inf
    return 1.0 + gap / (pp / max(n_active, 1))


def alpha_thresh(pp: float, gap: float, n_active: int) -> float:
    """αthresh = 0 when PP = 0, else 1/γthresh (eq. 31)."""
    return 0.0 if pp <= TOL else 1.0 / gamma_thresh(pp, gap, n_active)


TRACK_ALPHA_THRESH = ("needed", "always")
"""When ICE computes αthresh: only where the closing rule can use it, or every round."""


def check_track_alpha_thresh(value: str) -> str:
    if value not in TRACK_ALPHA_THRESH:
        raise ConfigError(
            f"track_alpha_thresh must be one of {', '.join(map(repr, TRACK_ALPHA_THRESH))}, got {value!r}"
        )
    return value


def check_cutoff(value: float, name: str) -> float:
    """A CUTOFF must lie in (0, 1]."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{name} must be a number in (0, 1], got {value!r}") from None
    if not (0.0 < v <= 1.0):
        raise ConfigError(f"{name} must be in (0, 1], got {value!r}")
    return v


def alpha_thresh_matters(a_eff: float, cutoff_eff: float, optimistic_trade: bool) -> bool:
    """Whether :func:`should_close` can depend on αthresh: only once αeff has reached its
    cutoff, and only when there is an optimistic trade (without one the rule fires anyway).
    Otherwise the 2(n + 1) solves of the Threshold payments at both bounds can be skipped."""
    return bool(optimistic_trade) and a_eff >= cutoff_eff - TOL


def should_close(
    a_eff: float, a_thresh: float, cutoff_eff: float, cutoff_thresh: float, optimistic_trade: bool
) -> bool:
    """Definition 5: go to the last-and-final round when both α reach their cutoffs, or
    when there is no trade at the optimistic (upper) values. ``a_thresh`` is read only
    when :func:`alpha_thresh_matters` (it may be NaN, not computed, otherwise)."""
    return (
        alpha_thresh_matters(a_eff, cutoff_eff, optimistic_trade) and a_thresh >= cutoff_thresh - TOL
    ) or not optimistic_trade
