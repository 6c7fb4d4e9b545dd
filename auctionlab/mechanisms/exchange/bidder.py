"""One bidder's restriction of the winner-determination MIP, built once and re-solved.

R-WD(i), RP1–RP3 and node prices optimise over one bidder's trade while every other
bidder "only defines feasibility". With the others' trees relaxed, constraints
(1)–(2) reduce to bounds on λ_i: at most the endowment can be sold and at most what the
others own can be bought. So these problems are exactly the WD MIP restricted to bidder
i's columns and rows — a model of a few dozen variables instead of the whole exchange,
which is what makes the hundreds of R-WD(i) solves of constraint generation affordable.

Columns: λ_ij then sat_iβ (binary); rows (4)–(5) of i's tree, taken from the same row
builder as the full model (:func:`~auctionlab.mechanisms.exchange.mip._tree_block`), solved
by any MIP backend (:mod:`~auctionlab.mechanisms.exchange.backends`).

λ is continuous unless ``integer_lambda``, exactly as in the full model: for a fixed
binary sat, λ ranges over the box ``max(lb, need) ≤ λ ≤ ub`` with integer corners
(``need = Σ q·sat``), so a linear cost on λ (``best``, ``min_price``) is optimised at an
integer corner, and the one extra row of ``best_among`` (``Σ c·sat − p·λ ≥ at_least``,
no λ in its objective) is satisfiable for a sat exactly when it is at the corner that
maximises −p·λ. Every method decodes its trade from sat (``max(need, −x0)``, or the
corner for ``min_price``), never from the continuous λ values.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.sparse as sp

from auctionlab.errors import InternalError, SolverError
from auctionlab.mechanisms.exchange.backends import MIPProblem, make_backend
from auctionlab.mechanisms.exchange.mip import _tree_block
from auctionlab.mechanisms.exchange.tbbl import BidTree, FlatTrees

INF = math.inf


def subtree_forest(tree: BidTree, k: int = 0) -> FlatTrees:
    """The subtree rooted at node ``k`` (preorder range [k, end[k])) as a one-tree forest."""
    s = slice(k, int(tree.end[k]))
    parent = tree.parent[s] - k
    parent[0] = -1
    n = s.stop - s.start
    return FlatTrees(
        n_goods=len(tree.goods),
        node_offset=np.array([0, n], dtype=np.int64),
        node_bidder=np.zeros(n, dtype=np.int64),
        parent=parent,
        is_leaf=tree.is_leaf[s],
        ic_x=tree.ic_x[s],
        ic_y=tree.ic_y[s],
        n_children=tree.n_children[s],
        trade=tree.trade[s],
    )


class BidderProgram:
    """max Σ_β c_β·sat_β − p·λ over one bidder's (sub)tree, with λ in its feasible box.

    ``x0`` is the bidder's endowment and ``avail`` what the other bidders own. Goods the
    tree never sells cannot be sold ((4) with no satisfied sell leaf says λ_j ≥ 0); goods it
    never buys are never usefully received, so their upper bound is 0 (free disposal).
    """

    def __init__(
        self,
        forest: FlatTrees,
        x0: np.ndarray,
        avail: np.ndarray,
        *,
        solver: str = "highs",
        integer_lambda: bool = False,
    ) -> None:
        m, n = forest.n_goods, forest.n_nodes
        self.m, self.n = m, n
        self.trade = forest.trade
        blk = _tree_block(forest)
        rows = np.concatenate([blk.rows, blk.r4_row])
        cols = np.concatenate([m + blk.nodes, blk.r4_good])
        vals = np.concatenate([blk.coefs, -np.ones(len(blk.r4_row))])
        A = sp.csc_matrix((vals, (rows, cols)), shape=(blk.n_rows, m + n))
        sell = np.minimum(forest.trade, 0).sum(axis=0)
        buy = np.maximum(forest.trade, 0).sum(axis=0)
        self.x0 = np.asarray(x0)
        self.lam_lb = np.maximum(-self.x0, sell).astype(float)
        self.lam_ub = np.minimum(np.asarray(avail), buy).astype(float)
        self.lb = np.concatenate([self.lam_lb, np.zeros(n)])
        self.ub = np.concatenate([self.lam_ub, np.ones(n)])
        self.integer_lambda = bool(integer_lambda)
        integrality = np.concatenate([np.full(m, self.integer_lambda), np.ones(n, dtype=bool)])
        problem = MIPProblem.from_matrix(A, np.zeros(m + n), self.lb, self.ub, integrality, blk.lb, blk.ub)
        self.solver = solver
        self.backend = make_backend(solver, problem)
        self._all_cols = np.arange(m + n)
        self.base_rows = blk.n_rows
        self.solves = 0
        self.highs_time = 0.0  # seconds inside the solver, cumulative (any backend)

    @property
    def solver_time(self) -> float:
        """Seconds inside the solver over all solves (the same number as ``highs_time``)."""
        return self.highs_time

    @classmethod
    def for_bidder(cls, exchange, i: int, *, solver: str = "highs", integer_lambda: bool = False) -> BidderProgram:
        x0 = exchange.endowments[i]
        return cls(
            subtree_forest(exchange.bidders[i].tree),
            x0,
            exchange.endowments.sum(axis=0) - x0,
            solver=solver,
            integer_lambda=integer_lambda,
        )

    def _run(self, cost: np.ndarray, allow_infeasible: bool = False) -> np.ndarray | None:
        b = self.backend
        b.change_costs(self._all_cols, cost)
        res = b.solve()  # every backend solve starts afresh: the optimum chosen among ties depends on the model only
        self.highs_time += res.run_time
        self.solves += 1
        if res.infeasible and allow_infeasible:
            return None
        if not res.optimal:
            raise SolverError(f"bidder model not solved by {b.title}: {res.solver_status}")
        return res.x

    def _decode(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(minimal trade supporting the sat vector, sat vector)."""
        sat = x[self.m :] > 0.5
        need = (sat[:, None] * self.trade).sum(axis=0)
        return np.maximum(need, -self.x0).astype(np.int64), sat

    def best(self, node_values: np.ndarray, prices: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        """max v(λ) − p·λ: (surplus recomputed exactly, trade, sat)."""
        p = np.asarray(prices, dtype=float)
        x = self._run(np.concatenate([-p, node_values]))
        if x is None:  # without allow_infeasible an infeasible model raises in _run
            raise InternalError("bidder model returned no solution")
        trade, sat = self._decode(x)
        return math.fsum(node_values[sat]) - math.fsum(p * trade), trade, sat

    def best_among(
        self, objective: np.ndarray, row_values: np.ndarray, prices: np.ndarray, at_least: float
    ) -> tuple[np.ndarray, np.ndarray] | None:
        """max Σ objective·sat subject to Σ row_values·sat − p·λ ≥ at_least (RP2)."""
        p = np.asarray(prices, dtype=float)
        coefs = np.concatenate([-p, row_values])
        nz = np.flatnonzero(coefs)
        self.backend.add_rows(np.array([float(at_least)]), np.array([INF]), np.array([0]), nz, coefs[nz])
        try:
            x = self._run(np.concatenate([np.zeros(self.m), objective]), allow_infeasible=True)
        finally:
            self.backend.delete_rows_from(self.base_rows)
        return None if x is None else self._decode(x)

    def min_price(self, prices: np.ndarray) -> float:
        """min p·λ with the root satisfied (a node price when built on a subtree); +inf if impossible."""
        p = np.asarray(prices, dtype=float)
        root = np.array([self.m])
        self.backend.change_col_bounds(root, 1.0, 1.0)
        try:
            x = self._run(np.concatenate([-p, np.zeros(self.n)]), allow_infeasible=True)
        finally:
            self.backend.change_col_bounds(root, 0.0, 1.0)
        if x is None:
            return math.inf
        # the cheapest λ for this sat: as little as the leaves need where p ≥ 0, as much as
        # the box allows where p < 0 (an integer corner, whatever the solver's λ values)
        trade, _ = self._decode(x)
        return math.fsum(p * np.where(p < 0, self.lam_ub, trade))


# The former name (deprecated; removed in the next release): "model" now means a Mesa model only.
BidderModel = BidderProgram
