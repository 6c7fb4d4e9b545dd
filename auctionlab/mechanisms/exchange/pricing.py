"""ICE price feedback (the paper's §5.2): linear item prices by ACC → FAIR → BAL.

One LP per pricing call, built once and re-solved: stages differ only in which
"≤ t" cap rows are active and in column bounds, and constraint generation only adds rows.

Columns: prices p_j ≥ 0 (m), accuracy errors e_i ≥ 0 (n), fairness errors f_i ≥ 0 (n),
and the stage objective t (minimised in every stage).
Rows:
- accuracy, one per stored trade λ ∈ Λ_i:  p·(λ^t_i − λ) − e_i ≤ v^α_i(λ^t_i) − v^α_i(λ)   (11)
- fairness, one per bidder:               p·λ^t_i − f_i ≤ v^α_i(λ^t_i) − Δvcg,i(v^α)     (15)
- caps: e_i − t ≤ 0 (ACC), f_i − t ≤ 0 (FAIR), p_j − t ≤ 0 (BAL), active for unfixed items.

Lexicographic refinement (Remark 1): after each solve, items whose cap row has a non-zero
dual are fixed (their error cannot fall below t* in any optimal solution, by complementary
slackness); their column gets the upper bound t* + ε (the paper's ε relaxation) and the
next solve minimises the maximum over the rest. Should the LP still turn infeasible — a
trade generated in a later stage violating its accuracy row by about ε, or the ε-thin set
of optimal prices lost to round-off (seen on generated instances) — every stage is redone
on the grown pool with ten times the relaxation, at most three times
(:attr:`PriceResult.restarts` counts them); runs that never hit this are unaffected. Constraint generation: after every solve,
R-WD(i) at the new prices finds bidder i's best trade λ̂_i; it is added to Λ_i whenever
v^α_i(λ̂_i) − p·λ̂_i ≥ v^α_i(λ^t_i) − p·λ^t_i + e_i − tol — conservative, since adding a
constraint that is not violated is harmless. Λ_i persists across stages and rounds
(:class:`TradePool`); stored trades are valued through the sat vector that witnessed them
(a valid lower bound on v^α_i, so every stored row is a valid cut at any valuation).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import SupportsIndex

import highspy
import numpy as np

from auctionlab.errors import SolverError
from auctionlab.mechanisms.exchange.backends import new_highs

INF = highspy.kHighsInf

BestResponse = Callable[[int, np.ndarray], tuple[np.ndarray, np.ndarray, float]]
"""R-WD(i): ``(bidder index, prices) -> (trade (m,), sat vector, v^α_i value of that sat)``."""


class TradePool:
    """Λ_i for every bidder: trades with the sat vectors that witnessed them."""

    def __init__(self, n_goods: int, node_counts: list[int]) -> None:
        self.n_goods = n_goods
        self.trades: list[list[np.ndarray]] = [[np.zeros(n_goods, dtype=np.int64)] for _ in node_counts]
        self.sats: list[list[np.ndarray]] = [[np.zeros(k, dtype=bool)] for k in node_counts]
        self._keys: list[set[bytes]] = [
            {self._key(t, s)} for t, s in zip((x[0] for x in self.trades), (x[0] for x in self.sats))
        ]

    @staticmethod
    def _key(trade: np.ndarray, sat: np.ndarray) -> bytes:
        return np.asarray(trade, dtype=np.int64).tobytes() + np.asarray(sat, dtype=bool).tobytes()

    def add(self, i: int, trade: np.ndarray, sat: np.ndarray) -> bool:
        """Store (trade, sat) for bidder i; False when it is already there."""
        key = self._key(trade, sat)
        if key in self._keys[i]:
            return False
        self._keys[i].add(key)
        self.trades[i].append(np.asarray(trade, dtype=np.int64).copy())
        self.sats[i].append(np.asarray(sat, dtype=bool).copy())
        return True

    def size(self) -> int:
        return sum(len(t) for t in self.trades)


@dataclass
class PriceResult:
    """Provisional prices and the errors each stage settled on."""

    prices: np.ndarray
    accuracy: np.ndarray  # δ*_i per bidder
    fairness: np.ndarray  # π*_i per bidder
    max_price: np.ndarray  # Y*_j per good (BAL)
    lp_solves: int = 0
    rwd_solves: int = 0
    constraints: int = 0
    highs_time: float = 0.0  # seconds inside HiGHS for the price LPs
    restarts: int = 0  # passes redone because a later stage's trade made the LP infeasible


class _StagesInconsistent(SolverError):
    """The price LP became infeasible: a trade generated in a later stage cut off what an
    earlier stage's fixings (within their ε) still allowed."""


class _PriceLP:
    def __init__(self, provisional, prov_values, vcg_discounts, node_values, pool, best_response, eps, tol) -> None:
        self.lt = np.asarray(provisional, dtype=np.float64)  # (n, m)
        self.n, self.m = self.lt.shape
        self.V = np.asarray(prov_values, dtype=np.float64)
        self.nodes = node_values
        self.pool = pool
        self.best_response = best_response
        self.eps, self.tol = eps, tol
        self.lp_solves = self.rwd_solves = 0
        self.highs_time = 0.0
        self._cache: dict[tuple[int, bytes], tuple[np.ndarray, np.ndarray, float]] = {}
        n, m = self.n, self.m
        self.P = np.arange(m)
        self.E = m + np.arange(n)
        self.F = m + n + np.arange(n)
        self.T = m + 2 * n
        h = new_highs()  # no banner on stdout
        h.setOptionValue("output_flag", False)
        h.setOptionValue("threads", 1)
        ncol = m + 2 * n + 1
        h.addVars(ncol, np.zeros(ncol), np.full(ncol, INF))
        cost = np.zeros(ncol)
        cost[self.T] = 1.0
        h.changeColsCost(ncol, np.arange(ncol, dtype=np.int32), cost)
        self.h = h
        # cap rows: e_i − t, f_i − t, p_j − t (all ≤ 0 when active, ≤ +inf when not)
        self.cap_e = self._add_rows([[(self.E[i], 1.0), (self.T, -1.0)] for i in range(n)], INF)
        self.cap_f = self._add_rows([[(self.F[i], 1.0), (self.T, -1.0)] for i in range(n)], INF)
        self.cap_p = self._add_rows([[(self.P[j], 1.0), (self.T, -1.0)] for j in range(m)], INF)
        # fairness rows: p·λ^t_i − f_i ≤ V_i − Δ_i
        disc = np.asarray(vcg_discounts, dtype=np.float64)
        self._add_rows(
            [[*((j, self.lt[i, j]) for j in np.flatnonzero(self.lt[i])), (self.F[i], -1.0)] for i in range(n)],
            self.V - disc,
        )
        for i in range(n):
            for trade, sat in zip(pool.trades[i], pool.sats[i]):
                self._add_accuracy(i, trade, sat)

    # ---------------------------------------------------------------- model edits
    def _add_rows(self, rows: Sequence[Sequence[tuple[SupportsIndex, float]]], upper) -> np.ndarray:
        first = self.h.getNumRow()
        k = len(rows)
        if k == 0:
            return np.zeros(0, dtype=np.int64)
        starts: list[int] = []
        idx: list[int] = []
        val: list[float] = []
        for r in rows:
            starts.append(len(idx))
            for c, v in r:
                if v != 0.0:
                    idx.append(int(c))
                    val.append(float(v))
        ub = np.broadcast_to(np.asarray(upper, dtype=np.float64), (k,)).copy()
        self.h.addRows(
            k,
            np.full(k, -INF),
            ub,
            len(idx),
            np.asarray(starts, dtype=np.int32),
            np.asarray(idx, dtype=np.int32),
            np.asarray(val, dtype=np.float64),
        )
        return np.arange(first, first + k)

    def _add_accuracy(self, i: int, trade: np.ndarray, sat: np.ndarray) -> None:
        coef = self.lt[i] - trade
        value = float(self.nodes[i][sat].sum())
        row = [*((j, coef[j]) for j in np.flatnonzero(coef)), (self.E[i], -1.0)]
        self._add_rows([row], self.V[i] - value)

    def _set_caps(self, rows: np.ndarray, active: np.ndarray) -> None:
        for r, a in zip(rows, active):
            self.h.changeRowBounds(int(r), -INF, 0.0 if a else INF)

    # ---------------------------------------------------------------- solving
    def _run(self) -> tuple[np.ndarray, np.ndarray]:
        t0 = time.perf_counter()
        self.h.run()
        self.highs_time += time.perf_counter() - t0
        self.lp_solves += 1
        status = self.h.getModelStatus()
        if status == highspy.HighsModelStatus.kInfeasible:
            raise _StagesInconsistent(self.h.modelStatusToString(status))
        if status != highspy.HighsModelStatus.kOptimal:
            raise SolverError(f"price LP not solved: {self.h.modelStatusToString(status)}")
        sol = self.h.getSolution()
        return np.asarray(sol.col_value), np.asarray(sol.row_dual)

    def _response(self, i: int, p: np.ndarray):
        key = (i, p.tobytes())
        if key not in self._cache:
            self.rwd_solves += 1
            self._cache[key] = self.best_response(i, p)
        return self._cache[key]

    def generate(self, x: np.ndarray) -> bool:
        """R-WD(i) at the prices of ``x`` for every bidder; add violated trades. Any added?"""
        p = np.maximum(x[self.P], 0.0)
        added = False
        for i in range(self.n):
            trade, sat, value = self._response(i, p)
            lhs = value - p @ trade
            rhs = self.V[i] - p @ self.lt[i] + x[self.E[i]]
            if lhs >= rhs - self.tol and self.pool.add(i, trade, sat):
                self._add_accuracy(i, trade, sat)
                added = True
        return added

    def solve_cg(self) -> tuple[np.ndarray, np.ndarray]:
        """Solve, then add violated R-WD(i) trades until none is violated."""
        while True:
            x, duals = self._run()
            if not self.generate(x):
                return x, duals

    def lexicographic(self, caps: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """Minimise the max of ``cols`` lexicographically; returns each item's fixed level.

        The refinement runs on the current pool Λ; constraint generation checks the
        stage's final prices, and if it adds trades the stage is redone on the larger
        pool (fixings made on too small a pool may be wrong). Since Λ persists across
        rounds, later rounds rarely need a redo: far fewer R-WD solves than checking after
        every refinement step.
        """
        while True:
            level, x = self._refine(caps, cols)
            if not self.generate(x):
                return level
            for c in cols:  # a stage's columns are unbounded until the stage fixes them
                self.h.changeColBounds(int(c), 0.0, INF)

    def _refine(self, caps: np.ndarray, cols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        k = len(caps)
        level = np.zeros(k)
        unfixed = np.ones(k, dtype=bool)
        x = None
        while unfixed.any():
            self._set_caps(caps, unfixed)
            x, duals = self._run()
            t = max(float(x[self.T]), 0.0)
            if t <= self.tol:
                newly = unfixed.copy()
                t = 0.0
            else:
                newly = unfixed & (np.abs(duals[caps]) > 1e-9)
                if not newly.any():  # degenerate duals: fall back on tight caps
                    newly = unfixed & (x[cols] >= t - self.tol)
                if not newly.any():
                    newly = unfixed.copy()
            level[newly] = t
            for c in cols[newly]:
                self.h.changeColBounds(int(c), 0.0, t + self.eps)
            unfixed &= ~newly
            self._set_caps(caps, np.zeros(k, dtype=bool))
        x, _ = self._run()  # the solution with every item fixed (what generation checks)
        return level, x


_MAX_RESTARTS = 3
"""How often the stages are redone on a grown pool before the price LP gives up."""


def linear_prices(
    *,
    provisional: np.ndarray,
    prov_values: np.ndarray,
    vcg_discounts: np.ndarray,
    node_values: list[np.ndarray],
    pool: TradePool,
    best_response: BestResponse,
    eps: float = 1e-6,
    tol: float = 1e-7,
) -> PriceResult:
    """Provisional prices for trade ``provisional`` (n, m) at the α-valuation.

    ``prov_values[i]`` = v^α_i(λ^t_i); ``vcg_discounts[i]`` = Δvcg,i at v^α;
    ``node_values[i]`` = bidder i's node values at v^α (to value stored sat vectors);
    ``best_response`` solves R-WD(i) at given prices.
    """
    lp_solves = rwd_solves = 0
    highs_time = 0.0
    for attempt in range(_MAX_RESTARTS + 1):
        relax = eps * 10.0**attempt
        lp = _PriceLP(provisional, prov_values, vcg_discounts, node_values, pool, best_response, relax, tol)
        try:
            acc = lp.lexicographic(lp.cap_e, lp.E)
            fair = lp.lexicographic(lp.cap_f, lp.F)
            bal = lp.lexicographic(lp.cap_p, lp.P)
            x, _ = lp._run()
            break
        except _StagesInconsistent as exc:
            # The levels fixed by an earlier stage or refinement step (each within ε) left
            # no room for a later one: a trade generated later violated its accuracy row by
            # about ε, or the ε-thin set of optimal prices was lost to round-off. Redo every
            # stage on the pool as it is now, with ten times the relaxation.
            if attempt == _MAX_RESTARTS:
                raise SolverError(
                    f"price LP infeasible after {attempt + 1} passes over ACC, FAIR, BAL ({exc})"
                ) from None
        finally:
            lp_solves += lp.lp_solves
            rwd_solves += lp.rwd_solves
            highs_time += lp.highs_time
    return PriceResult(
        prices=np.maximum(x[lp.P], 0.0),
        accuracy=acc,
        fairness=fair,
        max_price=bal,
        lp_solves=lp_solves,
        rwd_solves=rwd_solves,
        constraints=pool.size(),
        highs_time=highs_time,
        restarts=attempt,
    )
