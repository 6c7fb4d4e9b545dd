"""ICE revealed-preference activity rule (SPEC B7, paper §5.3–5.4).

A bid tree satisfies RP at prices p when some feasible trade is a best response for every
valuation consistent with the bounds. Proposition 1 tests it with three variants of the
winner-determination MIP restricted to the bidder
(:class:`~auctionlab.market.exchange.bidder.BidderModel`, or the same problems over the
tree's enumerated patterns, :class:`~auctionlab.market.exchange.patterns.PatternModel`;
every other bidder only defines feasibility):

- RP1: π*_l = max v̲_i(λ) − p·λ;
- RP2: among trades reaching π*_l, maximise the uncertainty v̄_i − v̲_i (one sat vector
  for both bounds) → candidate L*;
- RP3: π*_u = max ṽ_i(λ) − p·λ with ṽ = v̲ on sat(L*) and v̄ elsewhere (24) → witness U*.

RP holds iff π*_l ≥ π*_u (up to ``tol``). When it fails, Lemma 2 names the nodes to
revise: raise a lower bound in sat(L*) \\ sat(U*) or lower an upper bound in
sat(U*) \\ sat(L*). A bidder that does not pass is penalised at the close of the round:
each upper bound becomes min(v̄_β, max(price_β, v̲_β)), with price_β the minimum price,
at the provisional prices, of a feasible trade that satisfies the subtree rooted at β.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from auctionlab.market.exchange.bidder import BidderModel, subtree_forest
from auctionlab.market.exchange.patterns import (
    DEFAULT_LIMIT,
    PatternModel,
    SubtreePrices,
    check_limit,
    subtree_patterns,
)
from auctionlab.market.exchange.tbbl import BidTree

TOL = 1e-6


@dataclass(frozen=True, eq=False)
class RPResult:
    """Outcome of one revealed-preference check for one bidder."""

    passed: bool
    pi_lower: float  # π*_l (RP1)
    pi_upper: float  # π*_u (RP3)
    lower_trade: np.ndarray  # L*_i (m,)
    witness_trade: np.ndarray  # U*_i (m,)
    sat_lower: np.ndarray  # sat(L*) over the bidder's nodes
    sat_witness: np.ndarray  # sat(U*)
    raise_lower: np.ndarray  # node ids: sat(L*) \ sat(U*)
    lower_upper: np.ndarray  # node ids: sat(U*) \ sat(L*)


def revealed_preference(
    model: BidderModel | PatternModel, prices: np.ndarray, lower: np.ndarray, upper: np.ndarray, *, tol: float = TOL
) -> RPResult:
    """Proposition 1 at ``prices`` for a bidder with node bounds ``lower``/``upper``."""
    p = np.asarray(prices, dtype=float)
    lo, hi = np.asarray(lower, dtype=float), np.asarray(upper, dtype=float)
    pi_l, _, sat_l = model.best(lo, p)  # RP1
    rp2 = model.best_among(hi - lo, lo, p, pi_l - tol * max(1.0, abs(pi_l)))  # RP2
    if rp2 is not None:  # (None only through numerics: keep RP1's candidate)
        sat_l = rp2[1]
    trade_l = np.maximum((sat_l[:, None] * model.trade).sum(axis=0), -model.x0)
    pi_l = max(pi_l, math.fsum(lo[sat_l]) - math.fsum(p * trade_l))
    pi_u, trade_u, sat_u = model.best(np.where(sat_l, lo, hi), p)  # RP3 at ṽ (24)
    passed = pi_l >= pi_u - tol * max(1.0, abs(pi_u))
    return RPResult(
        passed=bool(passed),
        pi_lower=float(pi_l),
        pi_upper=float(pi_u),
        lower_trade=trade_l,
        witness_trade=trade_u,
        sat_lower=sat_l,
        sat_witness=sat_u,
        raise_lower=np.flatnonzero(sat_l & ~sat_u),
        lower_upper=np.flatnonzero(sat_u & ~sat_l),
    )


class NodePrices:
    """price_β for every node of one bidder's tree, built once and asked at many prices.

    price_β is the minimum total price of a feasible trade satisfying the subtree rooted at
    β (paper §5.3, footnote 8), +inf if none exists. Only the subtree's own constraints
    count (ancestors and siblings are ignored); the trade may buy at most ``avail`` (what
    the others own) and sell at most ``x0``. Subtrees with at most ``limit`` satisfaction
    patterns are answered by enumerating them (:mod:`~auctionlab.market.exchange.patterns`),
    the others by a one-bidder MIP on the subtree, built on first use (same values);
    ``limit=0`` uses the MIP everywhere.
    """

    def __init__(self, tree: BidTree, x0: np.ndarray, avail: np.ndarray, *, limit: int = DEFAULT_LIMIT) -> None:
        self.tree, self.x0, self.avail = tree, x0, avail
        self._enumerated = SubtreePrices(tree, x0, avail, subtree_patterns(tree, check_limit(limit)))
        self._mips: dict[int, BidderModel] = {}

    def __call__(self, prices: np.ndarray) -> np.ndarray:
        out = self._enumerated(prices)
        for k in map(int, np.flatnonzero(np.isnan(out))):  # subtrees above the limit
            if k not in self._mips:
                self._mips[k] = BidderModel(subtree_forest(self.tree, k), self.x0, self.avail)
            out[k] = self._mips[k].min_price(prices)
        return out


def node_prices(
    tree: BidTree, x0: np.ndarray, avail: np.ndarray, prices: np.ndarray, *, limit: int = DEFAULT_LIMIT
) -> np.ndarray:
    """price_β for every node at ``prices`` (see :class:`NodePrices`, which keeps what it
    builds for later prices)."""
    return NodePrices(tree, x0, avail, limit=limit)(prices)
