"""One bidder's problems by enumerating its tree's valid satisfaction patterns.

R-WD(i), RP1–RP3 and node prices optimise over one bidder's sat vector with every other
bidder only defining feasibility (see :mod:`~auctionlab.mechanisms.exchange.bidder`). A
generated tree has few valid sat vectors (a few dozen is typical), so listing them once
and answering every query with a matrix product and an argmax is far cheaper than a MIP
solve — and gives the same optimal values.

Semantics (exactly those of the MIP rows (4)–(5)): a sat vector is valid when every
internal node β has IC_x·sat_β ≤ Σ_children sat ≤ IC_y·sat_β (so a satisfied child forces
its parent); its leaves need ``need = Σ_β q_β·sat_β``; the bidder's box is
λ ∈ [max(−x0, sell), min(avail, buy)] (``sell``/``buy``: the sums of the tree's negative /
positive quantities) and (4) asks λ ≥ need. Since sell ≤ need ≤ buy and −x0 ≤ 0 ≤ avail,
such a λ exists iff need ≤ avail, and the cheapest one at non-negative prices is
``trade = max(need, −x0)``. At a negative price p_j the MIP receives as much as the box
allows (λ_j = min(avail_j, buy_j)), the same for every pattern: the argmax over patterns
uses p⁺, and :meth:`PatternTable.min_price` charges the negative part at the upper bound,
like the MIP does.

Enumeration is bottom-up over the preorder arrays. Per node, the patterns of its subtree
with the node satisfied are the combinations of x..y of its children, each child with
one of its own patterns; their number is an elementary symmetric polynomial of the
children's counts, so :func:`pattern_counts` detects a tree above the limit before
anything is built, and :func:`one_bidder_model` falls back on the MIP there.

Ties. Optimal patterns are often not unique and the choice among them is visible: RP2's
candidate L* and RP3's witness U* name the nodes a proxy revises, and R-WD's trade is
stored as a price constraint. Scores within ``TIE_TOL`` (relative; the MIP's absolute gap
at unit scale) are ties, broken by a fixed canonical order: most satisfied nodes first,
then the earliest node in preorder where two patterns differ, satisfied first (see
:func:`canonical_order`). Measured on ICE runs over generated instances, about 1 % of the
RP problems and 12 % of the R-WD problems have tied optima. When the tied patterns share
one trade (a zero-value node that may or may not be satisfied: all but one tied RP problem,
a sixth of the tied R-WD ones), HiGHS returned the pattern with the most satisfied
nodes each time, which this order reproduces. When tied patterns trade differently (at
prices the price LP made exactly tight), HiGHS follows no rule we could find (the
most-satisfied pattern about 60 % of the time); there the stored constraint can differ
and the price LP may settle on other prices within its ε. Over 62 whole runs (5–8
bidders) rounds, provisional and final trades, RP outcomes and payments were identical;
prices agreed within the pricing ε (1e-6), and in about half of the runs some round's
prices differed by 1e-8 to 1e-6. Breaking ties toward the fewest satisfied nodes
instead moved one run's prices in 20 by 2e-4 and its payments by 5e-5.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from auctionlab.errors import ConfigError
from auctionlab.mechanisms.exchange.bidder import BidderProgram
from auctionlab.mechanisms.exchange.tbbl import BidTree

DEFAULT_LIMIT = 4096
"""Largest number of patterns enumerated per tree (and per subtree); above it the MIP is used."""

TIE_TOL = 1e-9
"""Scores within TIE_TOL·max(1, |best|) of the best are ties (the MIP's 1e-9 absolute gap)."""


# --------------------------------------------------------------------------- counting
def _children(tree: BidTree) -> list[list[int]]:
    kids: list[list[int]] = [[] for _ in range(tree.n_nodes)]
    for c in range(1, tree.n_nodes):  # preorder: children in increasing id order
        kids[int(tree.parent[c])].append(c)
    return kids


def pattern_counts(tree: BidTree) -> list[int]:
    """c_β for every node: the number of valid sat vectors of the subtree rooted at β (its
    constraints only) with β satisfied. The whole tree has ``1 + c_root`` (the empty one).

    c_leaf = 1; for an internal node, Σ_{s=x..y} e_s(c_children) with e_s the elementary
    symmetric polynomials (choose s children, one pattern each). Exact Python integers.
    """
    kids = _children(tree)
    counts = [1] * tree.n_nodes
    for k in range(tree.n_nodes - 1, -1, -1):
        if tree.is_leaf[k]:
            continue
        x, y = int(tree.ic_x[k]), int(tree.ic_y[k])
        e = [1] + [0] * y
        for c in kids[k]:
            for s in range(y, 0, -1):
                e[s] += e[s - 1] * counts[c]
        counts[k] = sum(e[x : y + 1])
    return counts


def fits(counts: list[int], limit: int) -> bool:
    """Whether every subtree, and the whole tree with its empty pattern, has ≤ ``limit`` patterns."""
    return limit > 0 and 1 + counts[0] <= limit and max(counts) <= limit


def check_limit(limit: Any) -> int:
    """``limit`` as an int; ConfigError unless it is a non-negative integer."""
    if isinstance(limit, bool) or not isinstance(limit, (int, np.integer)) or limit < 0:
        raise ConfigError(f"limit must be a non-negative integer, got {limit!r}")
    return int(limit)


# --------------------------------------------------------------------------- enumeration
def subtree_patterns(
    tree: BidTree, limit: int = DEFAULT_LIMIT, counts: list[int] | None = None
) -> list[tuple[np.ndarray, np.ndarray] | None]:
    """Per node β with c_β ≤ ``limit``: ``(sat, need)`` — every valid sat vector of β's
    subtree with β satisfied, as a bool matrix (c_β, end_β − β) over the subtree's nodes in
    preorder, and its leaves' need (c_β, m) int64. None for the nodes above the limit.

    A node within the limit has all the children it can use within it (each child's
    patterns extend to at least one of its parent's), so the recursion never needs a
    missing child.
    """
    counts = pattern_counts(tree) if counts is None else counts
    n, m = tree.n_nodes, len(tree.goods)
    kids = _children(tree)
    end = tree.end
    out: list[tuple[np.ndarray, np.ndarray] | None] = [None] * n
    for k in range(n - 1, -1, -1):
        if counts[k] > limit:
            continue
        width = int(end[k]) - k
        if tree.is_leaf[k]:
            out[k] = (np.ones((1, 1), dtype=bool), tree.trade[k][None, :].astype(np.int64))
            continue
        x, y = int(tree.ic_x[k]), int(tree.ic_y[k])
        # states[s]: partial combinations choosing s of the children seen so far; a state
        # that can no longer reach x (too few children left) or already exceeds y is dropped
        states = {0: (np.zeros((1, width), dtype=bool), np.zeros((1, m), dtype=np.int64))}
        left = len(kids[k])
        for c in kids[k]:
            left -= 1
            lo, hi = c - k, int(end[c]) - k
            new: dict[int, list[tuple[np.ndarray, np.ndarray]]] = {}
            for s, (S, N) in states.items():
                if s + left >= x:  # child c unsatisfied
                    new.setdefault(s, []).append((S, N))
                if s < y and s + 1 + left >= x:  # child c satisfied, with each of its patterns
                    Sc, Nc = out[c]  # type: ignore[misc]
                    r, q = len(S), len(Sc)
                    S2 = np.repeat(S, q, axis=0)
                    S2[:, lo:hi] = np.tile(Sc, (r, 1))
                    new.setdefault(s + 1, []).append((S2, np.repeat(N, q, axis=0) + np.tile(Nc, (r, 1))))
            states = {s: (np.concatenate([a for a, _ in v]), np.concatenate([b for _, b in v])) for s, v in new.items()}
        S = np.concatenate([v[0] for v in states.values()])
        N = np.concatenate([v[1] for v in states.values()])
        S[:, 0] = True
        out[k] = (S, N)
    return out


def canonical_order(S: np.ndarray) -> np.ndarray:
    """Row order of the sat matrix ``S`` used to break ties: most satisfied nodes first,
    then lexicographic in preorder with satisfied before unsatisfied (the earliest node
    where two patterns differ decides: the one satisfying it comes first)."""
    keys = [~S[:, j] for j in range(S.shape[1] - 1, -1, -1)]
    return np.lexsort([*keys, -S.sum(axis=1)])


def tree_patterns(tree: BidTree, limit: int = DEFAULT_LIMIT) -> tuple[np.ndarray, np.ndarray] | None:
    """Every valid sat vector of the whole tree, the empty one (last) included, in canonical
    order: ``(S (K, n) bool, need (K, m) int64)``; None when the tree is above ``limit``.
    Feasibility against endowments is not applied here."""
    limit = check_limit(limit)
    counts = pattern_counts(tree)
    if not fits(counts, limit):
        return None
    S, N = subtree_patterns(tree, limit, counts)[0]  # type: ignore[misc]
    S = np.concatenate([np.zeros((1, tree.n_nodes), dtype=bool), S])
    N = np.concatenate([np.zeros((1, len(tree.goods)), dtype=np.int64), N])
    order = canonical_order(S)
    return S[order], N[order]


# --------------------------------------------------------------------------- node prices
class SubtreePrices:
    """Node prices from enumerated subtree patterns: price_β = min p·λ over the feasible
    trades satisfying the subtree rooted at β with only that subtree's constraints (the
    trade buys at most ``avail`` and sells at most ``x0``); +inf when none is feasible.

    ``per_node`` comes from :func:`subtree_patterns`; nodes it leaves out (above the
    limit) are not ``covered`` and get NaN.
    """

    def __init__(
        self, tree: BidTree, x0: np.ndarray, avail: np.ndarray, per_node: list[tuple[np.ndarray, np.ndarray] | None]
    ) -> None:
        n, m = tree.n_nodes, len(tree.goods)
        x0, avail = np.asarray(x0, dtype=np.int64), np.asarray(avail, dtype=np.int64)
        self.n = n
        self.covered = np.array([pn is not None for pn in per_node], dtype=bool)
        # at a negative price the MIP receives what the subtree's box allows: min(avail, buy)
        self._ub = np.zeros((n, m))
        trades, owner = [np.zeros((0, m), dtype=np.int64)], [np.zeros(0, dtype=np.int64)]
        for k, pn in enumerate(per_node):
            sub = tree.trade[k : int(tree.end[k])]
            self._ub[k] = np.minimum(avail, np.maximum(sub, 0).sum(axis=0))
            if pn is None:
                continue
            Sk, Nk = pn
            ok = np.all(Nk <= avail, axis=1)
            trades.append(np.maximum(Nk[ok][canonical_order(Sk[ok])], -x0))
            owner.append(np.full(int(ok.sum()), k, dtype=np.int64))
        self._T = np.concatenate(trades)
        self._Tf = self._T.astype(float)
        self._owner = np.concatenate(owner)
        self._feasible = np.bincount(self._owner, minlength=n) > 0

    def __call__(self, prices: np.ndarray) -> np.ndarray:
        p = np.asarray(prices, dtype=float)
        # where p < 0 every pattern of a node pays the same (λ at the box's upper bound):
        # only the positive part ranks them
        cost = self._Tf @ np.maximum(p, 0.0)
        order = np.lexsort((cost, self._owner))  # per node, cheapest first (stable: canonical)
        first = np.searchsorted(self._owner[order], np.arange(self.n))
        out = np.where(self.covered, math.inf, math.nan)
        for k in np.flatnonzero(self._feasible):
            lam = np.where(p < 0, self._ub[k], self._T[order[first[k]]])
            out[k] = math.fsum(p * lam)
        return out


# --------------------------------------------------------------------------- the model
def _first_best(score: np.ndarray) -> int:
    """Index of the first row within TIE_TOL of the maximum (rows are in canonical order)."""
    best = float(score.max())
    return int(np.argmax(score >= best - TIE_TOL * max(1.0, abs(best))))


class PatternTable:
    """The interface of :class:`~auctionlab.mechanisms.exchange.bidder.BidderProgram` (``best``,
    ``best_among``, ``min_price``) answered over the enumerated feasible patterns, plus
    :meth:`node_prices` for every node at once.

    ``S`` (K, n) bool and ``T`` (K, m) int64 hold the feasible patterns (need ≤ avail) and
    their minimal trades max(need, −x0), in canonical order (the empty pattern comes last).
    Values are recomputed exactly as the MIP model reports them (``math.fsum``).
    """

    kind = "patterns"

    def __init__(self, tree: BidTree, x0: np.ndarray, avail: np.ndarray, *, limit: int = DEFAULT_LIMIT) -> None:
        limit = check_limit(limit)
        counts = pattern_counts(tree)
        if not fits(counts, limit):
            raise ConfigError(
                f"bid tree has {1 + counts[0]} satisfaction patterns (largest subtree {max(counts)}), "
                f"above the enumeration limit {limit}"
            )
        self.m, self.n = len(tree.goods), tree.n_nodes
        self.trade = tree.trade
        self.x0 = np.asarray(x0, dtype=np.int64)
        self.avail = np.asarray(avail, dtype=np.int64)
        sell = np.minimum(tree.trade, 0).sum(axis=0)
        buy = np.maximum(tree.trade, 0).sum(axis=0)
        self.lam_lb = np.maximum(-self.x0, sell).astype(float)
        self.lam_ub = np.minimum(self.avail, buy).astype(float)
        per_node = subtree_patterns(tree, limit, counts)

        S, N = per_node[0]  # type: ignore[misc]
        S = np.concatenate([np.zeros((1, self.n), dtype=bool), S])
        N = np.concatenate([np.zeros((1, self.m), dtype=np.int64), N])
        ok = np.all(N <= self.avail, axis=1)
        S, N = S[ok], N[ok]
        order = canonical_order(S)
        self.S = S[order]
        self.T = np.maximum(N[order], -self.x0)
        self._Sf = self.S.astype(float)
        self._Tf = self.T.astype(float)
        self.n_patterns = len(self.S)

        self._node_prices = SubtreePrices(tree, self.x0, self.avail, per_node)

        self.solves = 0
        self.highs_time = 0.0  # no solver: kept so time accounting over bidder models works

    @classmethod
    def for_bidder(cls, exchange, i: int, *, limit: int = DEFAULT_LIMIT) -> PatternTable:
        x0 = exchange.endowments[i]
        return cls(exchange.bidders[i].tree, x0, exchange.endowments.sum(axis=0) - x0, limit=limit)

    # ---- helpers
    def _cost(self, p: np.ndarray) -> np.ndarray:
        """min p·λ over the λ supporting each pattern (what the MIP's −p·λ term attains)."""
        return self._Tf @ np.maximum(p, 0.0) + float(np.minimum(p, 0.0) @ self.lam_ub)

    # ---- BidderProgram's interface
    def best(self, node_values: np.ndarray, prices: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        """max v(λ) − p·λ: (surplus recomputed exactly, trade, sat)."""
        v = np.asarray(node_values, dtype=float)
        p = np.asarray(prices, dtype=float)
        self.solves += 1
        k = _first_best(self._Sf @ v - self._cost(p))
        sat, trade = self.S[k].copy(), self.T[k].copy()
        return math.fsum(v[sat]) - math.fsum(p * trade), trade, sat

    def best_among(
        self, objective: np.ndarray, row_values: np.ndarray, prices: np.ndarray, at_least: float
    ) -> tuple[np.ndarray, np.ndarray] | None:
        """max Σ objective·sat subject to Σ row_values·sat − p·λ ≥ at_least (RP2); None if infeasible."""
        p = np.asarray(prices, dtype=float)
        self.solves += 1
        lhs = self._Sf @ np.asarray(row_values, dtype=float) - self._cost(p)
        ok = lhs >= at_least - TIE_TOL * max(1.0, abs(float(at_least)))
        if not ok.any():
            return None
        score = np.where(ok, self._Sf @ np.asarray(objective, dtype=float), -math.inf)
        k = _first_best(score)
        return self.T[k].copy(), self.S[k].copy()

    def min_price(self, prices: np.ndarray) -> float:
        """min p·λ with the root satisfied; +inf if impossible."""
        p = np.asarray(prices, dtype=float)
        self.solves += 1
        rooted = self.S[:, 0]
        if not rooted.any():
            return math.inf
        k = _first_best(np.where(rooted, -self._cost(p), -math.inf))
        return math.fsum(p * np.where(p < 0, self.lam_ub, self.T[k]))

    def node_prices(self, prices: np.ndarray) -> np.ndarray:
        """price_β for every node: min p·λ over feasible trades satisfying β's subtree
        (its own constraints only), +inf where none exists."""
        self.solves += 1
        return self._node_prices(prices)


def one_bidder_model(exchange, i: int, *, limit: int = DEFAULT_LIMIT, **mip_kwargs) -> PatternTable | BidderProgram:
    """Bidder ``i``'s one-bidder model: enumerated patterns when its tree has at most
    ``limit`` of them (every subtree too), else the MIP
    (:meth:`BidderProgram.for_bidder`, which gets ``mip_kwargs``). ``limit=0``: always the MIP."""
    limit = check_limit(limit)
    if limit > 0 and fits(pattern_counts(exchange.bidders[i].tree), limit):
        return PatternTable.for_bidder(exchange, i, limit=limit)
    return BidderProgram.for_bidder(exchange, i, **mip_kwargs)


def model_kind(model: Any) -> str:
    """``"patterns"`` for an enumerated model, ``"mip"`` for a MIP one."""
    return getattr(model, "kind", "mip")


# The former name (deprecated; removed in the next release): "model" now means a Mesa model only.
PatternModel = PatternTable
