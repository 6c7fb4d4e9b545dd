"""ICE revealed-preference activity rule (paper §5.3–5.4).

A bid tree satisfies RP at prices p when some feasible trade is a best response for every
valuation consistent with the bounds. Proposition 1 tests it with three variants of the
winner-determination MIP restricted to the bidder
(:class:`~auctionlab.mechanisms.exchange.bidder.BidderProgram`, or the same problems over the
tree's enumerated patterns, :class:`~auctionlab.mechanisms.exchange.patterns.PatternTable`;
every other bidder only defines feasibility):

- RP1: π*_l = max v̲_i(λ) − p·λ;
- RP2: among trades reaching π*_l, maximise the uncertainty v̄_i − v̲_i (one sat vector
  for both bounds) → candidate L*;
- RP3: π*_u = max ṽ_i(λ) − p·λ with ṽ = v̲ on sat(L*) and v̄ elsewhere (24) → witness U*.

RP holds iff π*_l ≥ π*_u (up to ``tol``). When it fails, Lemma 2 names the nodes to
revise: raise a lower bound in sat(L*) \\ sat(U*) or lower an upper bound in
sat(U*) \\ sat(L*). Those moves need not be the only ones that pass: raising a lower
bound on sat(U*) \\ sat(L*) can make U* the candidate, which is how a bidder whose truth
strictly prefers U* passes (see :class:`~auctionlab.strategies.exchange.Straightforward`).

Tolerances. Every comparison allows ``tol`` relative to the larger of the surpluses
compared and the exchange's value unit ``scale`` (1 at ordinary magnitudes), never an
absolute amount, so the verdict is the same at any unit of value. The RP2 candidate is
re-checked against the RP2 threshold with its value recomputed exactly from the tree
(a solver may return a sat vector that meets the row only within its own feasibility
tolerance); one that does not is replaced by RP1's optimum. The default ``tol`` (1e-6)
is ten times the exchange's default price-LP relaxation ε (1e-7), so a bidder whose
surpluses tie at prices that ε made tight is not failed, or passed, by the relaxation
alone.

Proposition 1 is sufficient, not necessary, for the definition: it asks one *sat
vector* to beat everything, while the definition asks a *trade* to be a best response
for every consistent valuation, and a trade's value is the best of all the sat vectors
it supports. Buyer XOR(+A [0,10], +A [3,4]) at p_A = 1 satisfies the definition (buying
A is worth max(w1, w2) ≥ 3 > 1 whatever the values) yet fails the test (π*_l = 2,
π*_u = 9). :func:`definition_holds` checks the definition exactly (an extension; the
exchange uses it with ``rp="definition"``). A bidder that does not pass is penalised at the close of the round:
each upper bound becomes min(v̄_β, max(price_β, v̲_β)), with price_β the minimum price,
at the provisional prices, of a feasible trade that satisfies the subtree rooted at β.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linprog

from auctionlab.errors import ConfigError, InternalError
from auctionlab.mechanisms.exchange.bidder import BidderProgram, subtree_forest
from auctionlab.mechanisms.exchange.patterns import (
    DEFAULT_LIMIT,
    PatternTable,
    SubtreePrices,
    check_limit,
    subtree_patterns,
)
from auctionlab.mechanisms.exchange.tbbl import BidTree

TOL = 1e-6
"""Default RP tolerance, relative (see the module docstring): ten times the price LP's default ε."""


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
    paper_passed: bool | None = None  # Proposition 1's verdict (None: same as ``passed``)
    definition: bool | None = None  # the exact check of the definition, when it was made

    @property
    def paper_verdict(self) -> bool:
        """Proposition 1's verdict (``passed`` unless the exact check overruled it)."""
        return self.passed if self.paper_passed is None else self.paper_passed

    def scaled(self, factor: float) -> RPResult:
        """The same result with the surpluses in units ``factor`` times larger."""
        if factor == 1.0:
            return self
        return dataclasses.replace(self, pi_lower=self.pi_lower * factor, pi_upper=self.pi_upper * factor)


def slack(tol: float, scale: float, *values: float) -> float:
    """The allowance of a comparison: ``tol`` relative to the largest magnitude compared
    and the value unit ``scale``."""
    return tol * max(scale, *(abs(v) for v in values))


def revealed_preference(
    model: BidderProgram | PatternTable,
    prices: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    *,
    tol: float = TOL,
    scale: float = 1.0,
) -> RPResult:
    """Proposition 1 at ``prices`` for a bidder with node bounds ``lower``/``upper``."""
    p = np.asarray(prices, dtype=float)
    lo, hi = np.asarray(lower, dtype=float), np.asarray(upper, dtype=float)
    pi_l, trade_1, sat_1 = model.best(lo, p)  # RP1
    threshold = pi_l - slack(tol, scale, pi_l)
    sat_l = sat_1
    rp2 = model.best_among(hi - lo, lo, p, threshold)  # RP2
    if rp2 is not None:  # (None only through numerics: keep RP1's candidate)
        trade_2, sat_2 = rp2
        # the candidate's surplus recomputed exactly from the tree: a sat vector that meets
        # the row only within the solver's feasibility tolerance is not a candidate
        if math.fsum(lo[sat_2]) - math.fsum(p * trade_2) >= threshold:
            sat_l = sat_2
    trade_l = np.maximum((sat_l[:, None] * model.trade).sum(axis=0), -model.x0)
    pi_l = max(pi_l, math.fsum(lo[sat_l]) - math.fsum(p * trade_l))
    pi_u, trade_u, sat_u = model.best(np.where(sat_l, lo, hi), p)  # RP3 at ṽ (24)
    passed = pi_l >= pi_u - slack(tol, scale, pi_l, pi_u)
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


def definition_holds(
    model: PatternTable,
    prices: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    *,
    tol: float = TOL,
    scale: float = 1.0,
) -> bool:
    """Whether some feasible trade is a best response at ``prices`` for *every* valuation
    consistent with the bounds — the definition of revealed preference, checked exactly
    over the tree's enumerated patterns (an extension; Proposition 1 is the paper's test).

    A trade λ (one of the patterns' minimal trades) supports every pattern whose trade is
    at most λ, and is worth the best of them. λ is a best response for every valuation
    when, for each alternative pattern s′ at its own cheapest trade,
    min over v in the bounds of max over λ's patterns s of (s − s′)·v ≥ p·λ − p·λ′
    (up to the tolerance). Each such min-max is settled by bounds where possible
    (max-min below, the value at the bounds' corners above) and by a small LP otherwise.
    """
    if not isinstance(model, PatternTable):
        raise ConfigError("the exact revealed-preference check needs an enumerated bid tree (a pattern model)")
    p = np.asarray(prices, dtype=float)
    lo, hi = np.asarray(lower, dtype=float), np.asarray(upper, dtype=float)
    S = model._Sf  # (K, n)
    T = model.T  # (K, m)
    cost = model._cost(p)  # (K,)
    val_lo, val_hi = S @ lo, S @ hi
    best_lo = float(np.max(val_lo - cost))
    best_hi = float(np.max(val_hi - cost))
    # candidate trades: distinct minimal trades, first occurrence in canonical order
    _, first = np.unique(T, axis=0, return_index=True)
    for k in sorted(map(int, first)):
        lam = T[k]
        supp = np.flatnonzero(np.all(T <= lam, axis=1))  # patterns λ supports
        c_lam = float(cost[k])
        # necessary: a best response at the lower and at the upper values
        if float(np.max(val_lo[supp])) - c_lam < best_lo - slack(tol, scale, best_lo):
            continue
        if float(np.max(val_hi[supp])) - c_lam < best_hi - slack(tol, scale, best_hi):
            continue
        if _beats_every_alternative(S, supp, cost, c_lam, lo, hi, tol, scale):
            return True
    return False


def _beats_every_alternative(S, supp, cost, c_lam, lo, hi, tol, scale) -> bool:
    Ssup = S[supp]  # (k, n)
    for j in range(S.shape[0]):
        need = c_lam - float(cost[j])
        D = Ssup - S[j]  # (k, n): (s − s′)
        # lower bound on min_v max_s D·v: max_s min_v D·v (each row at its worst corner)
        row_min = np.where(D > 0, D * lo, D * hi).sum(axis=1)
        allow = slack(tol, scale, need, float(np.max(np.abs(row_min))) if row_min.size else 0.0)
        if float(row_min.max()) >= need - allow:
            continue
        if len(supp) == 1:
            return False  # the bound is exact for a single pattern
        # upper bound: the max at the corner each row's worst case shares most often
        for v in (lo, hi):
            if float((D @ v).max()) < need - allow:
                return False
        # min t s.t. D·v − t ≤ 0, lo ≤ v ≤ hi
        n = S.shape[1]
        c = np.zeros(n + 1)
        c[-1] = 1.0
        A = np.hstack([D, -np.ones((D.shape[0], 1))])
        res = linprog(
            c, A_ub=A, b_ub=np.zeros(D.shape[0]), bounds=[*zip(lo.tolist(), hi.tolist()), (None, None)], method="highs"
        )
        if res.status != 0:
            raise InternalError(f"the exact revealed-preference LP was not solved: {res.message}")
        # re-evaluate at the LP's v exactly: the min-max is at most this value
        v = np.clip(res.x[:n], lo, hi)
        if float((D @ v).max()) < need - allow:
            return False
    return True


class NodePrices:
    """price_β for every node of one bidder's tree, built once and asked at many prices.

    price_β is the minimum total price of a feasible trade satisfying the subtree rooted at
    β (paper §5.3, footnote 8), +inf if none exists. Only the subtree's own constraints
    count (ancestors and siblings are ignored); the trade may buy at most ``avail`` (what
    the others own) and sell at most ``x0``. Subtrees with at most ``limit`` satisfaction
    patterns are answered by enumerating them (:mod:`~auctionlab.mechanisms.exchange.patterns`),
    the others by a one-bidder MIP on the subtree, built on first use (same values);
    ``limit=0`` uses the MIP everywhere.
    """

    def __init__(self, tree: BidTree, x0: np.ndarray, avail: np.ndarray, *, limit: int = DEFAULT_LIMIT) -> None:
        self.tree, self.x0, self.avail = tree, x0, avail
        self._enumerated = SubtreePrices(tree, x0, avail, subtree_patterns(tree, check_limit(limit)))
        self._mips: dict[int, BidderProgram] = {}

    def __call__(self, prices: np.ndarray) -> np.ndarray:
        out = self._enumerated(prices)
        for k in map(int, np.flatnonzero(np.isnan(out))):  # subtrees above the limit
            if k not in self._mips:
                self._mips[k] = BidderProgram(subtree_forest(self.tree, k), self.x0, self.avail)
            out[k] = self._mips[k].min_price(prices)
        return out


def node_prices(
    tree: BidTree, x0: np.ndarray, avail: np.ndarray, prices: np.ndarray, *, limit: int = DEFAULT_LIMIT
) -> np.ndarray:
    """price_β for every node at ``prices`` (see :class:`NodePrices`, which keeps what it
    builds for later prices)."""
    return NodePrices(tree, x0, avail, limit=limit)(prices)
