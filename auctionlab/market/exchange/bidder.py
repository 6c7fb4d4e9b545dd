"""One bidder's restriction of the winner-determination MIP, built once and re-solved.

R-WD(i), RP1–RP3 and node prices optimise over one bidder's trade while every other
bidder "only defines feasibility" (SPEC B3). With the others' trees relaxed, constraints
(1)–(2) reduce to bounds on λ_i: at most the endowment can be sold and at most what the
others own can be bought. So these problems are exactly the WD MIP restricted to bidder
i's columns and rows — a model of a few dozen variables instead of the whole exchange,
which is what makes the hundreds of R-WD(i) solves of constraint generation affordable.

Columns: λ_ij (integer) then sat_iβ (binary); rows (4)–(5) of i's tree, taken from the
same row builder as the full model (:func:`~auctionlab.market.exchange.mip._tree_block`).
"""

from __future__ import annotations

import math
import time

import highspy
import numpy as np
import scipy.sparse as sp

from auctionlab.errors import SolverError
from auctionlab.market.exchange.mip import DEFAULT_OPTIONS, _tree_block
from auctionlab.market.exchange.tbbl import BidTree, FlatTrees

INF = highspy.kHighsInf


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


class BidderModel:
    """max Σ_β c_β·sat_β − p·λ over one bidder's (sub)tree, with λ in its feasible box.

    ``x0`` is the bidder's endowment and ``avail`` what the other bidders own. Goods the
    tree never sells cannot be sold ((4) with no satisfied sell leaf says λ_j ≥ 0); goods it
    never buys are never usefully received, so their upper bound is 0 (free disposal).
    """

    def __init__(self, forest: FlatTrees, x0: np.ndarray, avail: np.ndarray) -> None:
        m, n = forest.n_goods, forest.n_nodes
        self.m, self.n = m, n
        self.trade = forest.trade
        blk = _tree_block(forest)
        rows = np.concatenate([blk.rows, blk.r4_row])
        cols = np.concatenate([m + blk.nodes, blk.r4_good])
        vals = np.concatenate([blk.coefs, -np.ones(len(blk.r4_row))])
        A = sp.csc_matrix((vals, (rows, cols)), shape=(blk.n_rows, m + n))
        A.sort_indices()
        sell = np.minimum(forest.trade, 0).sum(axis=0)
        buy = np.maximum(forest.trade, 0).sum(axis=0)
        self.x0 = np.asarray(x0)
        self.lam_lb = np.maximum(-self.x0, sell).astype(float)
        self.lam_ub = np.minimum(np.asarray(avail), buy).astype(float)
        self.lb = np.concatenate([self.lam_lb, np.zeros(n)])
        self.ub = np.concatenate([self.lam_ub, np.ones(n)])
        h = highspy.Highs()
        for key, val in DEFAULT_OPTIONS.items():
            h.setOptionValue(key, val)
        status = h.passModel(
            m + n, blk.n_rows, int(A.nnz), 1, -1, 0.0,
            np.zeros(m + n), self.lb, self.ub, blk.lb, blk.ub,
            A.indptr.astype(np.int32), A.indices.astype(np.int32), A.data.astype(float),
            np.ones(m + n, dtype=np.int32),
        )
        if status == highspy.HighsStatus.kError:
            raise SolverError("HiGHS rejected a bidder model")
        self.h = h
        self.base_rows = blk.n_rows
        self.solves = 0
        self.highs_time = 0.0  # seconds inside HiGHS, cumulative

    @classmethod
    def for_bidder(cls, exchange, i: int) -> "BidderModel":
        x0 = exchange.endowments[i]
        return cls(subtree_forest(exchange.bidders[i].tree), x0, exchange.endowments.sum(axis=0) - x0)

    def _run(self, cost: np.ndarray, allow_infeasible: bool = False) -> np.ndarray | None:
        h = self.h
        h.changeColsCost(self.m + self.n, np.arange(self.m + self.n, dtype=np.int32), cost)
        h.clearSolver()  # no basis carried over: the optimum chosen among ties depends on the model only
        t0 = time.perf_counter()
        h.run()
        self.highs_time += time.perf_counter() - t0
        self.solves += 1
        status = h.getModelStatus()
        if status == highspy.HighsModelStatus.kInfeasible and allow_infeasible:
            return None
        if status != highspy.HighsModelStatus.kOptimal:
            raise SolverError(f"bidder model not solved: {h.modelStatusToString(status)}")
        return np.asarray(h.getSolution().col_value)

    def _decode(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(minimal trade supporting the sat vector, sat vector)."""
        sat = x[self.m :] > 0.5
        need = (sat[:, None] * self.trade).sum(axis=0)
        return np.maximum(need, -self.x0).astype(np.int64), sat

    def best(self, node_values: np.ndarray, prices: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        """max v(λ) − p·λ: (surplus recomputed exactly, trade, sat)."""
        p = np.asarray(prices, dtype=float)
        x = self._run(np.concatenate([-p, node_values]))
        trade, sat = self._decode(x)
        return math.fsum(node_values[sat]) - math.fsum(p * trade), trade, sat

    def best_among(
        self, objective: np.ndarray, row_values: np.ndarray, prices: np.ndarray, at_least: float
    ) -> tuple[np.ndarray, np.ndarray] | None:
        """max Σ objective·sat subject to Σ row_values·sat − p·λ ≥ at_least (RP2)."""
        p = np.asarray(prices, dtype=float)
        coefs = np.concatenate([-p, row_values])
        nz = np.flatnonzero(coefs)
        self.h.addRow(float(at_least), INF, len(nz), nz.astype(np.int32), coefs[nz])
        try:
            x = self._run(np.concatenate([np.zeros(self.m), objective]), allow_infeasible=True)
        finally:
            self.h.deleteRows(1, np.array([self.base_rows], dtype=np.int32))
        return None if x is None else self._decode(x)

    def min_price(self, prices: np.ndarray) -> float:
        """min p·λ with the root satisfied (a node price when built on a subtree); +inf if impossible."""
        p = np.asarray(prices, dtype=float)
        self.h.changeColBounds(self.m, 1.0, 1.0)
        try:
            x = self._run(np.concatenate([-p, np.zeros(self.n)]), allow_infeasible=True)
        finally:
            self.h.changeColBounds(self.m, 0.0, 1.0)
        if x is None:
            return math.inf
        return math.fsum(p * np.rint(x[: self.m]))
