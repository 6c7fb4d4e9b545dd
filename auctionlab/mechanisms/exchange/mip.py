"""Winner determination: one MIP over trades and node satisfaction (the paper's §4.2).

Variables (built once per exchange, CSC arrays passed in bulk to a MIP backend, HiGHS by
default; see :mod:`~auctionlab.mechanisms.exchange.backends`):

* ``λ_ij`` continuous (integer with ``integer_lambda=True``), bidder i's change in units of
  good j, bounds ``[-x0_ij, Σ_{k≠i} x0_kj]`` (1). Only pairs (i, j) where i's tree names j
  or i owns j get a column: any other λ_ij can only be a receipt the bidder cannot use,
  which free disposal makes moot.
* ``sat_iβ`` binary, one per node of every tree.

Rows: free disposal ``Σ_i λ_ij ≤ 0`` per good (2); per bidder and good its leaves name,
``Σ_β q_βj·sat_β − λ_ij ≤ 0`` (4); per internal node the IC rows (5), written in a
tighter but equivalent form (each child implies its parent; AND nodes as equalities;
aggregated ``x·sat ≤ Σ children ≤ y·sat`` rows only where they add something).

While a bidder's tree is *active*, its λ bounds are tightened to what its leaves can use
(``λ_ij ∈ [max(-x0_ij, Σ_β min(q_βj, 0)), min(Σ_{k≠i} x0_kj, Σ_β max(q_βj, 0))]``): the lower
bound is implied by (4), the upper one only drops receipts the tree cannot value, so
optima and values are unchanged. Relaxing a tree restores the bounds of (1).

Why λ may be continuous
    Fix any binary sat. What is left on λ splits by good: integer bounds
    ``l_ij ≤ λ_ij ≤ u_ij`` (endowments, leaf sums, or a trade fixed by ``fix_trades``),
    the rows (4), which say ``λ_ij ≥ need_ij = Σ_β q_βj·sat_β`` (an integer), and the one
    row ``Σ_i λ_ij ≤ 0``. So λ ranges over ``P(sat) = {max(l, need) ≤ λ ≤ u, Σ_i λ_ij ≤ 0
    for every j}``. Its constraint matrix (the identity and one row of ones per good over
    that good's own columns) is an interval matrix, hence totally unimodular, and every
    right-hand side is an integer: P(sat) is a bounded polytope with integral vertices.
    For any linear cost c on λ, max over P(sat) of c·λ is therefore attained at an
    integer point, and P(sat) is non-empty exactly when it holds an integer point. The
    model's value is the max over sat of ``v·sat + max_{P(sat)} c·λ`` whether λ is
    integer or not: both models have the same optimal value, and the sat part of every
    optimum of the continuous model is the sat part of an optimum of the integer one.
    In WD, c = 0 and ``λ_ij = max(l_ij, need_ij)`` is such an integer completion, which
    :func:`canonical_trades` turns into a balanced trade; in R-WD(i), c = −p on λ_i with
    p ≥ 0 and the other trees relaxed (lower bounds −x0), so i's best λ_i is the smallest,
    ``max(need_i, −x0_i)``, again integral. Trades are always decoded from sat this way;
    the continuous λ values themselves (free to be fractional wherever the cost ties,
    e.g. in disposal) are never read as a trade. Because need and the bounds are
    integers, a sat vector whose λ is feasible within the solver's tolerance (≪ 1/n) is
    exactly feasible. ``exclude``, ``relax_tree``, ``fix_trades`` and ``require_node``
    only change bounds, so the argument holds for them too. A row appended with λ
    entries (``add_row``/``add_surplus_row``) breaks the interval structure; while such a
    row is in the model the λ columns are made integer again (and continuous once the
    row is gone). Rows over sat columns alone change nothing above.

:class:`WDProgram` keeps the backend's model and edits only costs, bounds and appended rows
between solves (see its docstring for the API the iterative exchange builds on).
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, overload

import numpy as np
import scipy.sparse as sp

from auctionlab.errors import InvalidInputError, ShapeError, SolverError
from auctionlab.mechanisms.exchange.backends import HIGHS_OPTIONS, MIPBackend, MIPProblem, make_backend
from auctionlab.mechanisms.exchange.instance import Exchange
from auctionlab.mechanisms.exchange.tbbl import BidTree, FlatTrees, ValuesArg, resolve_values

INF = math.inf

DEFAULT_OPTIONS: dict[str, Any] = HIGHS_OPTIONS
"""HiGHS options of the default backend: deterministic (one thread, fixed seed), optimal."""

LAM_TOL = 1e-3
"""How far below what its satisfied leaves need a solver's λ may sit. Solvers accept a
binary at 1 − 1e-5 and rows violated by 1e-6, so λ can legitimately be short of the
(integer) need by about ``q·1e-5``; a real mismatch between sat and λ is far larger."""

BidderRef = int | str


# --------------------------------------------------------------------------- tree rows
@dataclass(frozen=True)
class _TreeBlock:
    """Rows (4) and (5) of a forest, in node-column space, grouped by bidder.

    ``rows``/``nodes``/``coefs`` are COO entries (row ids already sorted by bidder);
    rows ``0 .. n_rows`` have bounds ``lb``/``ub``; ``r4_row``/``r4_bidder``/``r4_good``
    identify the (4) rows, which still need their ``−λ_ij`` entry (or an upper bound λ_ij).
    """

    n_rows: int
    rows: np.ndarray
    nodes: np.ndarray
    coefs: np.ndarray
    lb: np.ndarray
    ub: np.ndarray
    row_ptr: np.ndarray  # bidder i's rows: row_ptr[i] : row_ptr[i+1]
    r4_row: np.ndarray
    r4_bidder: np.ndarray
    r4_good: np.ndarray


def _tree_block(flat: FlatTrees) -> _TreeBlock:
    m, N = flat.n_goods, flat.n_nodes
    rows: list[np.ndarray] = []
    nodes: list[np.ndarray] = []
    coefs: list[np.ndarray] = []
    r_lb: list[np.ndarray] = []
    r_ub: list[np.ndarray] = []
    r_bid: list[np.ndarray] = []
    nrow = 0

    def add_rows(count: int, lb: np.ndarray, bidder: np.ndarray) -> np.ndarray:
        nonlocal nrow
        ids = np.arange(nrow, nrow + count, dtype=np.int64)
        r_lb.append(np.asarray(lb, dtype=float))
        r_ub.append(np.zeros(count))
        r_bid.append(bidder)
        nrow += count
        return ids

    def entries(r: np.ndarray, n: np.ndarray, c: np.ndarray) -> None:
        rows.append(r)
        nodes.append(n)
        coefs.append(np.asarray(c, dtype=float))

    # (4): one row per (bidder, good) its leaves name.
    g, j = np.nonzero(flat.trade)
    b = flat.node_bidder[g]
    ukey, inv = np.unique(b * m + j, return_inverse=True)
    r4 = add_rows(len(ukey), np.full(len(ukey), -INF), ukey // m)
    entries(r4[inv], g, flat.trade[g, j])

    # (5): interval-choose.
    internal = ~flat.is_leaf
    k, x, y = flat.n_children, flat.ic_x, flat.ic_y
    is_and = internal & (x == y) & (y == k)
    has_up = internal & (y < k)
    eq_agg = has_up & (x == y)
    low_agg = internal & (x > 0) & ~is_and & ~eq_agg
    per_child = internal & ~(has_up & (y <= 1))
    c = np.flatnonzero(flat.parent >= 0)
    p = flat.parent[c]

    sel = per_child[p]  # sat_c ≤ sat_p (== for AND nodes)
    cc, pp = c[sel], p[sel]
    rid = add_rows(len(cc), np.where(is_and[pp], 0.0, -INF), flat.node_bidder[cc])
    entries(rid, cc, np.ones(len(cc)))
    entries(rid, pp, -np.ones(len(cc)))

    rid_of = np.full(N, -1, dtype=np.int64)
    P = np.flatnonzero(low_agg)  # x·sat_p − Σ sat_c ≤ 0
    rid_of[P] = add_rows(len(P), np.full(len(P), -INF), flat.node_bidder[P])
    entries(rid_of[P], P, x[P])
    s = low_agg[p]
    entries(rid_of[p[s]], c[s], -np.ones(int(s.sum())))

    P = np.flatnonzero(has_up)  # Σ sat_c − y·sat_p ≤ 0  (== 0 when x == y)
    rid_of[P] = add_rows(len(P), np.where(eq_agg[P], 0.0, -INF), flat.node_bidder[P])
    entries(rid_of[P], P, -y[P])
    s = has_up[p]
    entries(rid_of[p[s]], c[s], np.ones(int(s.sum())))

    R = np.concatenate(rows)
    Nn = np.concatenate(nodes)
    C = np.concatenate(coefs)
    keep = C != 0.0
    bid = np.concatenate(r_bid)
    perm = np.argsort(bid, kind="stable")  # group each bidder's rows together
    new_id = np.empty(nrow, dtype=np.int64)
    new_id[perm] = np.arange(nrow)
    row_ptr = np.zeros(flat.n_bidders + 1, dtype=np.int64)
    np.cumsum(np.bincount(bid, minlength=flat.n_bidders), out=row_ptr[1:])
    return _TreeBlock(
        n_rows=nrow,
        rows=new_id[R[keep]],
        nodes=Nn[keep],
        coefs=C[keep],
        lb=np.concatenate(r_lb)[perm],
        ub=np.concatenate(r_ub)[perm],
        row_ptr=row_ptr,
        r4_row=new_id[r4],
        r4_bidder=ukey // m,
        r4_good=ukey % m,
    )


# --------------------------------------------------------------------------- results
@dataclass(frozen=True, eq=False)
class MIPSolution:
    """A solved model: sat columns (rounded), raw λ values and the solver's statistics.

    ``lam`` holds the solver's λ values as floats (0 where a pair has no column). They are
    continuous unless the model was built with ``integer_lambda=True`` and are *not* a
    trade; trades come from ``sat`` (:func:`allocation_from_solution` for winner
    determination, which makes the trade canonical).
    """

    objective: float  # the solver's objective (max sense)
    lam: np.ndarray  # (n_bidders, n_goods) float, raw solver values
    sat: np.ndarray  # (n_nodes,) bool, global node ids
    node_offset: np.ndarray
    run_time: float  # solver run time of this solve, seconds
    mip_gap: float
    node_count: int

    def sat_of(self, bidder: int) -> np.ndarray:
        return self.sat[self.node_offset[bidder] : self.node_offset[bidder + 1]]

    def value_of(self, node_values: np.ndarray, bidder: int | None = None) -> float:
        """Σ v_β·sat_β recomputed exactly (fsum) for one bidder or all."""
        if bidder is None:
            return math.fsum(node_values[self.sat])
        s = slice(int(self.node_offset[bidder]), int(self.node_offset[bidder + 1]))
        return math.fsum(node_values[s][self.sat[s]])


@dataclass(frozen=True, eq=False)
class Allocation:
    """An efficient trade: ``value`` (recomputed exactly from sat and node values),
    ``trades[bidder][good]`` (every bidder, every good, ints), ``satisfied[bidder]``
    (bool per node, preorder) and each bidder's reported value ``bidder_values``."""

    value: float
    trades: dict[str, dict[str, int]]
    satisfied: dict[str, np.ndarray]
    bidder_values: dict[str, float]
    trade_matrix: np.ndarray
    solution: MIPSolution | None = field(default=None, repr=False)

    @property
    def traders(self) -> list[str]:
        """Bidders whose trade is not empty, in bidder order."""
        return [b for b, t in self.trades.items() if any(t.values())]


def canonical_trades(exchange: Exchange, sat: np.ndarray, lam: np.ndarray | None = None) -> np.ndarray:
    """The canonical trade for satisfied nodes ``sat`` (all trees active).

    Each bidder gets exactly what its satisfied leaves need, ``max(Σ q·sat, −x0)``; units
    sold but not bought (free disposal) go back to their sellers in bidder order,
    so every good balances exactly. Values are unchanged: (4) still holds for ``sat``.
    ``lam``, the solver's own λ values (continuous or not), is only checked to cover the
    satisfied leaves within :data:`LAM_TOL`; the trade never depends on it.
    Raises :class:`SolverError` if ``sat`` is not valid or the trade is infeasible.
    """
    flat = exchange.flat
    _check_sat(flat, sat)
    need = np.add.reduceat(sat[:, None] * flat.trade, flat.node_offset[:-1], axis=0)
    x0 = exchange.endowments
    lam_min = np.maximum(need, -x0)
    if lam is not None and np.any(lam < lam_min - LAM_TOL):
        raise SolverError("solver trade does not cover its satisfied leaves (constraint 4)")
    excess = -lam_min.sum(axis=0)
    if np.any(excess < 0):
        raise SolverError("satisfied leaves demand more units than are sold (constraint 2)")
    sold = np.clip(-lam_min, 0, None)
    before = np.cumsum(sold, axis=0) - sold
    give = np.minimum(sold, np.clip(excess[None, :] - before, 0, None))
    return lam_min + give


def _check_sat(flat: FlatTrees, sat: np.ndarray) -> None:
    nonroot = flat.parent >= 0
    cnt = np.bincount(flat.parent[nonroot & sat], minlength=flat.n_nodes)
    internal = ~flat.is_leaf
    s = sat.astype(np.int64)
    bad = internal & ((cnt < flat.ic_x * s) | (cnt > flat.ic_y * s))
    bad |= nonroot & sat & ~sat[np.where(nonroot, flat.parent, 0)]
    if np.any(bad):
        raise SolverError(
            f"solver returned satisfaction variables violating (5) at global node {int(np.flatnonzero(bad)[0])}"
        )


def allocation_from_solution(exchange: Exchange, sol: MIPSolution, node_values: np.ndarray) -> Allocation:
    """Winner-determination result from a solve where every tree was active."""
    lam = canonical_trades(exchange, sol.sat, sol.lam)
    goods, off = exchange.goods, exchange.node_offset
    trades = {b.name: dict(zip(goods, map(int, lam[i]))) for i, b in enumerate(exchange.bidders)}
    satisfied = {b.name: sol.sat[off[i] : off[i + 1]].copy() for i, b in enumerate(exchange.bidders)}
    bvals = {b.name: sol.value_of(node_values, i) for i, b in enumerate(exchange.bidders)}
    return Allocation(
        value=sol.value_of(node_values),
        trades=trades,
        satisfied=satisfied,
        bidder_values=bvals,
        trade_matrix=lam,
        solution=sol,
    )


# --------------------------------------------------------------------------- the model
@dataclass
class _Snapshot:
    lb: np.ndarray
    ub: np.ndarray
    cost: np.ndarray
    rlb: np.ndarray
    rub: np.ndarray
    n_rows: int
    source: Exchange


class WDProgram:
    """The winner-determination MIP of one exchange, built once and re-solved.

    Every ICE optimisation is this MIP with another objective, other bounds or extra
    rows (one model, many objectives). The sense is always *maximise*.

    Layout
        ``lam_col(i, j)``/``lam_cols(i)`` and ``sat_cols(i)``/``sat_col(i, k)`` give column
        ids (bidders by index or name; node ``k`` is a preorder id in i's tree).
        ``tree_rows(i)`` are bidder i's rows (4)-(5).

    Objective
        ``set_node_values(values, bidders=None)`` puts node values (``"lower"``,
        ``"upper"``, α, or a global array) on the sat columns (0 for bidders not listed);
        ``set_prices(i, p)`` adds ``−p·λ_i`` (R-WD(i): max v_i(λ_i) − p·λ_i);
        ``set_col_cost`` is the general form.

    Bounds
        ``exclude(i)`` fixes λ_i = 0, sat_i = 0 (V_{−i}); ``relax_tree(i)`` frees i's
        rows, fixes sat_i = 0 and gives λ_i the bounds of (1) so that i only defines
        feasibility; ``restore_tree(i)``/``include(i)`` undo; ``fix_trades``,
        ``require_node`` (satisfy the subtree rooted at a node), ``set_col_bounds``.

    Rows
        ``add_row(cols, coefs, lb, ub)`` appends a row; ``add_surplus_row(i, v, p, lb)``
        appends ``lb ≤ Σ v_β·sat_iβ − p·λ_i ≤ ub`` (RP2's "among trades reaching π*_l").

    State
        ``with model.scope(): ...`` undoes every change made inside it (bounds, costs,
        rows); ``reset()`` returns to the base model. Changes are pushed to the backend
        lazily and only where they differ, just before ``solve``.

    Solver
        ``solver`` names a backend of :data:`~auctionlab.mechanisms.exchange.backends.BACKENDS`
        (``"highs"`` by default); ``options`` are that solver's own parameters on top of
        the deterministic defaults. λ columns are continuous (exact, see the module
        docstring) unless ``integer_lambda``. ``highs_time`` (alias ``solver_time``) sums
        the solver's run time over all solves, whichever backend it is.

    ``rebind(exchange)`` switches the source of ``"lower"``/``"upper"``/α values to a
    revised exchange with the same structure (bounds changed, nothing rebuilt).
    """

    def __init__(
        self,
        exchange: Exchange,
        *,
        values: ValuesArg = "lower",
        solver: str = "highs",
        options: Mapping[str, Any] | None = None,
        time_limit: float | None = None,
        integer_lambda: bool = False,
    ) -> None:
        t0 = time.perf_counter()
        self.exchange = exchange
        self._source = exchange
        flat = exchange.flat
        n, m = exchange.n_bidders, exchange.n_goods
        self.n_bidders, self.n_goods, self.n_nodes = n, m, flat.n_nodes
        x0 = exchange.endowments.astype(float)
        pos = np.add.reduceat(np.maximum(flat.trade, 0), flat.node_offset[:-1], axis=0)
        neg = np.add.reduceat(np.minimum(flat.trade, 0), flat.node_offset[:-1], axis=0)
        support = (pos > 0) | (neg < 0) | (x0 > 0)
        lam_b, lam_g = np.nonzero(support)  # bidder-major
        n_lam = len(lam_b)
        lam_index = np.full((n, m), -1, dtype=np.int64)
        lam_index[lam_b, lam_g] = np.arange(n_lam)
        self._lam_b, self._lam_g, self._lam_index = lam_b, lam_g, lam_index
        self._lam_ptr = np.searchsorted(lam_b, np.arange(n + 1))
        total = x0.sum(axis=0)
        full_lb = -x0[lam_b, lam_g]
        full_ub = (total[None, :] - x0)[lam_b, lam_g]
        act_lb = np.maximum(full_lb, neg[lam_b, lam_g])
        act_ub = np.minimum(full_ub, pos[lam_b, lam_g])
        self._lam_full = (full_lb, full_ub)
        self._lam_active = (act_lb, act_ub)
        self._sat0 = n_lam
        self.n_cols = n_lam + flat.n_nodes
        self._node_offset = flat.node_offset

        blk = _tree_block(flat)
        self._row_ptr = blk.row_ptr + m
        self.n_base_rows = m + blk.n_rows
        # entries: disposal rows, tree rows (sat part), (4) rows' −λ entries
        r = np.concatenate([lam_g, m + blk.rows, m + blk.r4_row])
        c = np.concatenate([np.arange(n_lam), self._sat0 + blk.nodes, lam_index[blk.r4_bidder, blk.r4_good]])
        v = np.concatenate([np.ones(n_lam), blk.coefs, -np.ones(len(blk.r4_row))])
        A = sp.csc_matrix((v, (r, c)), shape=(self.n_base_rows, self.n_cols))
        A.sort_indices()

        self._lb = np.concatenate([act_lb, np.zeros(flat.n_nodes)])
        self._ub = np.concatenate([act_ub, np.ones(flat.n_nodes)])
        self._cost = np.zeros(self.n_cols)
        self._cost[self._sat0 :] = self._values(values)
        self._rlb = np.concatenate([np.full(m, -INF), blk.lb])
        self._rub = np.concatenate([np.zeros(m), blk.ub])
        self._base = self._snapshot()
        self._scopes: list[_Snapshot] = []

        self.integer_lambda = bool(integer_lambda)
        self._row_has_lam: list[bool] = []  # per appended row: does it have λ entries?
        integrality = np.concatenate([np.full(n_lam, self.integer_lambda), np.ones(flat.n_nodes, dtype=bool)])
        problem = MIPProblem.from_matrix(A, self._cost, self._lb, self._ub, integrality, self._rlb, self._rub)
        self.solver = solver
        self.backend: MIPBackend = make_backend(solver, problem, options=options, time_limit=time_limit)
        self._lam_integer = self.integer_lambda  # λ integrality as the backend has it
        self._pushed = self._snapshot()
        self.build_time = time.perf_counter() - t0
        self.last_extract_time = 0.0
        self.highs_time = 0.0  # seconds inside the solver over all solves (any backend; for benchmarks)

    @property
    def solver_time(self) -> float:
        """Seconds inside the solver over all solves (the same number as ``highs_time``)."""
        return self.highs_time

    # ---- layout
    def bidder_index(self, bidder: BidderRef) -> int:
        if isinstance(bidder, str):
            return self.exchange.index(bidder)
        i = int(bidder)
        if not 0 <= i < self.n_bidders:
            raise InvalidInputError(f"bidder index {bidder} out of range 0..{self.n_bidders - 1}")
        return i

    def lam_cols(self, bidder: BidderRef) -> tuple[np.ndarray, np.ndarray]:
        """(goods, columns) of bidder's λ columns; absent pairs are always 0."""
        i = self.bidder_index(bidder)
        s = slice(int(self._lam_ptr[i]), int(self._lam_ptr[i + 1]))
        return self._lam_g[s], np.arange(s.start, s.stop)

    def lam_col(self, bidder: BidderRef, good: int | str) -> int:
        """Column of λ_ij, or −1 when the pair has no column (λ_ij ≡ 0)."""
        j = self.exchange.goods.index(good) if isinstance(good, str) else int(good)
        return int(self._lam_index[self.bidder_index(bidder), j])

    def sat_cols(self, bidder: BidderRef) -> np.ndarray:
        i = self.bidder_index(bidder)
        return np.arange(self._sat0 + self._node_offset[i], self._sat0 + self._node_offset[i + 1])

    def sat_col(self, bidder: BidderRef, node: int | str) -> int:
        i = self.bidder_index(bidder)
        k = self.exchange.bidders[i].tree.node_id(node) if isinstance(node, str) else int(node)
        if not 0 <= k < self._node_offset[i + 1] - self._node_offset[i]:
            raise InvalidInputError(f"node {node} out of range for bidder {i}")
        return int(self._sat0 + self._node_offset[i] + k)

    def tree_rows(self, bidder: BidderRef) -> np.ndarray:
        i = self.bidder_index(bidder)
        return np.arange(self._row_ptr[i], self._row_ptr[i + 1])

    @property
    def n_rows(self) -> int:
        return len(self._rlb)

    # ---- value sources
    def rebind(self, exchange: Exchange) -> None:
        """Take ``"lower"``/``"upper"``/α values from ``exchange`` (same structure)."""
        if not self.exchange.same_structure(exchange):
            raise InvalidInputError("rebind needs an exchange with the same structure (only bounds may differ)")
        self._source = exchange

    def _values(self, values: ValuesArg) -> np.ndarray:
        return resolve_values(values, self._source.lower, self._source.upper)

    # ---- objective
    def set_node_values(self, values: ValuesArg, bidders: Sequence[BidderRef] | None = None) -> None:
        """Node values as sat costs; bidders not listed (when given) get 0."""
        vals = self._values(values)
        sat = self._cost[self._sat0 :]
        if bidders is None:
            sat[:] = vals
            return
        sat[:] = 0.0
        for b in bidders:
            i = self.bidder_index(b)
            s = slice(int(self._node_offset[i]), int(self._node_offset[i + 1]))
            sat[s] = vals[s]

    def set_prices(self, bidder: BidderRef, prices: Sequence[float] | np.ndarray) -> None:
        """Objective term ``−p·λ_i`` for linear prices p over all goods."""
        p = np.asarray(prices, dtype=float)
        if p.shape != (self.n_goods,):
            raise ShapeError(f"prices have shape {p.shape}, expected ({self.n_goods},)")
        if not np.all(np.isfinite(p)):
            raise InvalidInputError("prices must be finite")
        goods, cols = self.lam_cols(bidder)
        self._cost[cols] = -p[goods]

    def clear_prices(self) -> None:
        self._cost[: self._sat0] = 0.0

    def set_col_cost(self, cols: Sequence[int] | np.ndarray, cost: float | np.ndarray) -> None:
        self._cost[np.asarray(cols, dtype=np.int64)] = cost

    # ---- bounds
    def set_col_bounds(self, cols: Sequence[int] | np.ndarray, lb: float | np.ndarray, ub: float | np.ndarray) -> None:
        cols = np.asarray(cols, dtype=np.int64)
        self._lb[cols] = lb
        self._ub[cols] = ub

    def fix_columns(self, cols: Sequence[int] | np.ndarray, values: float | np.ndarray) -> None:
        self.set_col_bounds(cols, values, values)

    def exclude(self, bidder: BidderRef) -> None:
        """Remove a bidder's bids and endowment: λ_i = 0 and sat_i = 0 (for V_{−i})."""
        _, lc = self.lam_cols(bidder)
        sc = self.sat_cols(bidder)
        self._lb[lc] = self._ub[lc] = 0.0
        self._lb[sc] = self._ub[sc] = 0.0

    def include(self, bidder: BidderRef) -> None:
        """Undo :meth:`exclude` / :meth:`relax_tree`: the bidder's base bounds and rows."""
        self.restore_tree(bidder)

    def relax_tree(self, bidder: BidderRef) -> None:
        """The bidder only defines feasibility (1)-(2): rows free, sat = 0, λ full range."""
        i = self.bidder_index(bidder)
        rows = self.tree_rows(i)
        self._rlb[rows] = -INF
        self._rub[rows] = INF
        sc = self.sat_cols(i)
        self._lb[sc] = self._ub[sc] = 0.0
        _, lc = self.lam_cols(i)
        s = slice(int(self._lam_ptr[i]), int(self._lam_ptr[i + 1]))
        self._lb[lc] = self._lam_full[0][s]
        self._ub[lc] = self._lam_full[1][s]

    def restore_tree(self, bidder: BidderRef) -> None:
        i = self.bidder_index(bidder)
        rows = self.tree_rows(i)
        self._rlb[rows] = self._base.rlb[rows]
        self._rub[rows] = self._base.rub[rows]
        for cols in (self.sat_cols(i), self.lam_cols(i)[1]):
            self._lb[cols] = self._base.lb[cols]
            self._ub[cols] = self._base.ub[cols]

    def only_feasibility(self, keep: BidderRef) -> None:
        """Relax every tree but ``keep``'s (the R-WD(i) setting)."""
        k = self.bidder_index(keep)
        for i in range(self.n_bidders):
            if i != k:
                self.relax_tree(i)

    def fix_trades(self, lam: np.ndarray, bidders: Sequence[BidderRef] | None = None) -> None:
        """Fix λ_i to rows of ``lam`` (n_bidders × n_goods) for the given bidders (all)."""
        lam = np.asarray(lam)
        if lam.shape != (self.n_bidders, self.n_goods):
            raise ShapeError(f"trade matrix has shape {lam.shape}, expected {(self.n_bidders, self.n_goods)}")
        idx = range(self.n_bidders) if bidders is None else [self.bidder_index(b) for b in bidders]
        for i in idx:
            absent = self._lam_index[i] < 0
            if np.any(lam[i][absent] < 0):
                j = int(np.flatnonzero(absent & (lam[i] < 0))[0])
                raise InvalidInputError(
                    f"bidder {self.exchange.names[i]!r} cannot sell {self.exchange.goods[j]!r} (not in its tree or endowment)"
                )
            goods, cols = self.lam_cols(i)
            self._lb[cols] = self._ub[cols] = lam[i, goods]

    def require_node(self, bidder: BidderRef, node: int | str, satisfied: bool = True) -> None:
        """Force sat of a node to 1 (its subtree must be satisfied per IC) or 0."""
        col = self.sat_col(bidder, node)
        self._lb[col] = self._ub[col] = 1.0 if satisfied else 0.0

    # ---- rows
    def add_row(
        self, cols: Sequence[int] | np.ndarray, coefs: Sequence[float] | np.ndarray, lb: float = -INF, ub: float = INF
    ) -> int:
        """Append ``lb ≤ Σ coefs·x[cols] ≤ ub``; returns its row id (removed by scope/reset).

        While a row with λ entries is in the model, λ is integer (see the module docstring).
        """
        cols = np.asarray(cols, dtype=np.int32)
        coefs = np.asarray(coefs, dtype=float)
        if cols.shape != coefs.shape or cols.ndim != 1:
            raise ShapeError("cols and coefs must be 1-d arrays of the same length")
        if np.any(cols < 0) or np.any(cols >= self.n_cols):
            raise InvalidInputError("row refers to a column outside the model")
        self.backend.add_rows(np.array([lb], float), np.array([ub], float), np.array([0]), cols, coefs)
        self._row_has_lam.append(bool(np.any((cols < self._sat0) & (coefs != 0))))
        self._rlb = np.append(self._rlb, lb)
        self._rub = np.append(self._rub, ub)
        self._pushed.rlb = np.append(self._pushed.rlb, lb)
        self._pushed.rub = np.append(self._pushed.rub, ub)
        self._pushed.n_rows += 1
        return self.n_rows - 1

    def add_surplus_row(
        self,
        bidder: BidderRef,
        node_values: np.ndarray,
        prices: np.ndarray | None = None,
        lb: float = -INF,
        ub: float = INF,
    ) -> int:
        """Append ``lb ≤ Σ_β v_β·sat_iβ − p·λ_i ≤ ub`` (``node_values`` over i's nodes)."""
        i = self.bidder_index(bidder)
        v = np.asarray(node_values, dtype=float)
        n_i = int(self._node_offset[i + 1] - self._node_offset[i])
        if v.shape != (n_i,):
            raise ShapeError(f"node values have shape {v.shape}, expected ({n_i},)")
        cols, coefs = [self.sat_cols(i)], [v]
        if prices is not None:
            p = np.asarray(prices, dtype=float)
            if p.shape != (self.n_goods,):
                raise ShapeError(f"prices have shape {p.shape}, expected ({self.n_goods},)")
            goods, lc = self.lam_cols(i)
            cols.append(lc)
            coefs.append(-p[goods])
        c = np.concatenate(cols)
        k = np.concatenate(coefs)
        nz = k != 0
        return self.add_row(c[nz], k[nz], lb, ub)

    def set_row_bounds(self, rows: Sequence[int] | np.ndarray, lb: float | np.ndarray, ub: float | np.ndarray) -> None:
        rows = np.asarray(rows, dtype=np.int64)
        self._rlb[rows] = lb
        self._rub[rows] = ub

    # ---- state
    def _snapshot(self) -> _Snapshot:
        return _Snapshot(
            self._lb.copy(),
            self._ub.copy(),
            self._cost.copy(),
            self._rlb.copy(),
            self._rub.copy(),
            len(self._rlb),
            getattr(self, "_source", self.exchange),
        )

    def _restore(self, snap: _Snapshot) -> None:
        if self.n_rows > snap.n_rows:
            self.backend.delete_rows_from(snap.n_rows)
            del self._row_has_lam[snap.n_rows - self.n_base_rows :]
            self._pushed.rlb = self._pushed.rlb[: snap.n_rows]
            self._pushed.rub = self._pushed.rub[: snap.n_rows]
            self._pushed.n_rows = snap.n_rows
        self._lb, self._ub, self._cost = snap.lb.copy(), snap.ub.copy(), snap.cost.copy()
        self._rlb, self._rub = snap.rlb.copy(), snap.rub.copy()
        self._source = snap.source

    @contextlib.contextmanager
    def scope(self) -> Iterator[WDProgram]:
        """Every change made inside the ``with`` block is undone on exit."""
        snap = self._snapshot()
        self._scopes.append(snap)
        try:
            yield self
        finally:
            self._scopes.pop()
            self._restore(snap)

    def reset(self) -> None:
        """Back to the base model (objective at the construction values, no extra rows)."""
        if self._scopes:
            raise InvalidInputError("reset() inside model.scope(): leave the scope instead")
        self._restore(self._base)

    def _sync(self) -> None:
        b, p = self.backend, self._pushed
        for cur, old, push in (
            ((self._lb, self._ub), (p.lb, p.ub), b.change_col_bounds),
            ((self._rlb, self._rub), (p.rlb, p.rub), b.change_row_bounds),
        ):
            diff = np.flatnonzero((cur[0] != old[0]) | (cur[1] != old[1]))
            if diff.size:
                push(diff, cur[0][diff], cur[1][diff])
                old[0][diff] = cur[0][diff]
                old[1][diff] = cur[1][diff]
        diff = np.flatnonzero(self._cost != p.cost)
        if diff.size:
            b.change_costs(diff, self._cost[diff])
            p.cost[diff] = self._cost[diff]
        want = self.integer_lambda or any(self._row_has_lam)
        if want != self._lam_integer:
            b.change_integrality(np.arange(self._sat0), want)
            self._lam_integer = want

    # ---- solving
    @overload
    def solve(self, values: ValuesArg | None = None, *, allow_infeasible: Literal[False] = False) -> MIPSolution: ...
    @overload
    def solve(self, values: ValuesArg | None = None, *, allow_infeasible: bool) -> MIPSolution | None: ...
    def solve(self, values: ValuesArg | None = None, *, allow_infeasible: bool = False) -> MIPSolution | None:
        """Solve the current model (after ``set_node_values(values)`` if given).

        Returns None for an infeasible model when ``allow_infeasible``; any other
        non-optimal outcome raises :class:`SolverError` with the solver's status.
        """
        if values is not None:
            self.set_node_values(values)
        self._sync()
        res = self.backend.solve()
        self.highs_time += res.run_time
        t1 = time.perf_counter()
        if res.infeasible and allow_infeasible:
            self.last_extract_time = time.perf_counter() - t1
            return None
        if not res.optimal:
            raise SolverError(
                f"{self.backend.title} did not solve the winner-determination model: status {res.solver_status}"
            )
        col = res.x
        lam = np.zeros((self.n_bidders, self.n_goods))
        lam[self._lam_b, self._lam_g] = col[: self._sat0]
        sat = col[self._sat0 :] > 0.5
        sol = MIPSolution(
            objective=res.objective,
            lam=lam,
            sat=sat,
            node_offset=self._node_offset,
            run_time=res.run_time,
            mip_gap=res.mip_gap,
            node_count=res.node_count,
        )
        self.last_extract_time = time.perf_counter() - t1
        return sol

    def solve_wd(self, values: ValuesArg = "lower") -> Allocation:
        """Winner determination on the current model state (normally the base)."""
        sol = self.solve(values)
        assert sol is not None
        t1 = time.perf_counter()
        alloc = allocation_from_solution(self.exchange, sol, self._values(values))
        self.last_extract_time += time.perf_counter() - t1
        return alloc

    def solve_rwd(
        self, bidder: BidderRef, prices: np.ndarray, values: ValuesArg = "lower"
    ) -> tuple[float, np.ndarray, np.ndarray]:
        """R-WD(i): max v_i(λ_i) − p·λ_i over Feas(x0), others only defining feasibility.

        Returns (surplus recomputed exactly, bidder i's minimal trade, i's sat vector).
        The trade is the cheapest one supporting the sat (``max(Σ q·sat, −x0_i)``),
        decoded from sat, never from the (continuous) λ values.
        """
        i = self.bidder_index(bidder)
        p = np.asarray(prices, dtype=float)
        with self.scope():
            self.only_feasibility(i)
            self.set_node_values(values, bidders=[i])
            self.clear_prices()
            self.set_prices(i, p)
            sol = self.solve()
        assert sol is not None
        vals = self._values(values)
        tree = self.exchange.bidders[i].tree
        sat_i = sol.sat_of(i)
        need = (sat_i[:, None] * tree.trade).sum(axis=0)
        trade = np.maximum(need, -self.exchange.endowments[i])
        surplus = sol.value_of(vals, i) - math.fsum(p * trade)
        return surplus, trade, sat_i.copy()


# --------------------------------------------------------------------------- entry points
def solve_wd(exchange: Exchange, values: ValuesArg = "lower", *, model: WDProgram | None = None) -> Allocation:
    """Efficient trade λ* at the given node values: ``Allocation``.

    ``values`` is ``"lower"``, ``"upper"`` or α (α·lower + (1−α)·upper node by node).
    The trade is canonical (:func:`canonical_trades`): every bidder gets exactly what its
    satisfied leaves need and disposed units go back to their sellers, so each good's
    units balance. Ties between optimal trades are broken by HiGHS, deterministically.
    Pass ``model`` to reuse a built :class:`WDProgram` (its exchange must have the same
    structure; bounds may differ).
    """
    model = _model_for(exchange, model)
    with model.scope():
        model.rebind(exchange)
        return model.solve_wd(values)


def _model_for(exchange: Exchange, model: WDProgram | None) -> WDProgram:
    if not isinstance(exchange, Exchange):
        raise InvalidInputError(f"expected an Exchange, got {type(exchange).__name__}")
    if model is None:
        return WDProgram(exchange)
    if not model.exchange.same_structure(exchange):
        raise InvalidInputError("the model was built for an exchange with a different structure")
    return model


def tree_value(tree: BidTree, lam: np.ndarray, node_values: np.ndarray, *, solver: str = "highs") -> float:
    """max over valid sat of Σ v·sat for one tree and a fixed trade λ (eq. 6); −inf if none."""
    if np.any(lam < np.minimum(tree.trade, 0).sum(axis=0)):
        return -math.inf  # even every sell leaf together cannot cover λ
    flat = FlatTrees.from_trees([tree], len(tree.goods))
    blk = _tree_block(flat)
    rub = blk.ub.copy()
    rub[blk.r4_row] = lam[blk.r4_good]
    n = tree.n_nodes
    A = sp.csc_matrix((blk.coefs, (blk.rows, blk.nodes)), shape=(blk.n_rows, n))
    problem = MIPProblem.from_matrix(
        A, np.asarray(node_values, dtype=float), np.zeros(n), np.ones(n), np.ones(n, dtype=bool), blk.lb, rub
    )
    backend = make_backend(solver, problem)
    res = backend.solve()
    if res.infeasible:
        return -math.inf
    if not res.optimal:
        raise SolverError(f"{backend.title} could not evaluate the tree: status {res.solver_status}")
    sat = res.x > 0.5
    return math.fsum(np.asarray(node_values, dtype=float)[sat])


# The former name (deprecated; removed in the next release): "model" now means a Mesa model only.
WDModel = WDProgram
