"""Pluggable MIP solvers for the exchange's optimisation models.

Winner determination (:class:`~auctionlab.mechanisms.exchange.mip.WDProgram`), the one-bidder
models of the activity rule (:class:`~auctionlab.mechanisms.exchange.bidder.BidderProgram`) and
tree valuations (:func:`~auctionlab.mechanisms.exchange.mip.tree_value`) talk to a solver only
through :class:`MIPBackend`: build once from CSC arrays (:class:`MIPProblem`, always
*maximise*), edit costs, column bounds, integrality and row bounds in bulk, append rows,
drop the rows from some index on, optionally pass a MIP start, and :meth:`~MIPBackend.solve`
to a :class:`SolveResult`.

Every solve is deterministic and depends on the current model only, never on earlier
solves: one thread, a fixed seed, relative gap 0 and absolute gap 1e-9 (so "optimal"
means optimal), and no basis, incumbent or start carried over. HiGHS edits its model in
place and clears its solver state before each run; SCIP, Gurobi and CPLEX get a fresh
native model built from the current arrays for every solve, the one way to be sure that
no incumbent, start or learnt data of an earlier solve carries over in all three.
No solver writes to stdout or stderr.

Backends are looked up by name in :data:`BACKENDS` (``"highs"``, the default and the one
the test suite needs; ``"scip"``, ``"gurobi"``, ``"cplex"``, installed with
``pip install "auctionlab[solvers]"``). A solver's Python package is imported only when
its backend is used. The PyPI builds of gurobipy and cplex carry size-limited licences
(about 2000 and 1000 variables/constraints); a larger model fails with a
:class:`~auctionlab.errors.SolverError` saying so.
"""

from __future__ import annotations

import abc
import contextlib
import ctypes
import importlib
import math
import os
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from types import ModuleType
from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp

from auctionlab.errors import ConfigError, ShapeError, SolverError
from auctionlab.registry import Registry

INF = math.inf
MIP_REL_GAP = 0.0
MIP_ABS_GAP = 1e-9
SEED = 0

HIGHS_OPTIONS: dict[str, Any] = {
    "output_flag": False,
    "threads": 1,
    "random_seed": SEED,
    "mip_rel_gap": MIP_REL_GAP,
    "mip_abs_gap": MIP_ABS_GAP,
    "mip_allow_restart": False,
}
"""HiGHS options: silent, deterministic (one thread, fixed seed) and solved to optimality.

Restarts are off: on the exchange's models with continuous λ a restart after root
presolve costs more than it saves (``benchmarks/bench_exchange_wd.py`` measures it) and
the optima found are the same."""

SOLVERS_EXTRA = 'pip install "auctionlab[solvers]"'


# --------------------------------------------------------------------------- data
def _vec(x: Any, n: int, what: str, dtype: type = float) -> np.ndarray:
    a = np.array(np.broadcast_to(np.asarray(x, dtype=dtype), (n,)) if np.ndim(x) == 0 else np.asarray(x, dtype=dtype))
    if a.shape != (n,):
        raise ShapeError(f"{what} has shape {a.shape}, expected ({n},)")
    return a


@dataclass(frozen=True, eq=False)
class MIPProblem:
    """A maximisation MIP in column-wise (CSC) form.

    ``integrality[j]`` is True for an integer column (binaries are integers with bounds
    [0, 1]); bounds may be ±inf. Column j's entries are
    ``indices[indptr[j]:indptr[j+1]]`` (rows) and ``data[...]`` (coefficients).
    """

    cost: np.ndarray
    col_lb: np.ndarray
    col_ub: np.ndarray
    integrality: np.ndarray
    indptr: np.ndarray
    indices: np.ndarray
    data: np.ndarray
    row_lb: np.ndarray
    row_ub: np.ndarray

    def __post_init__(self) -> None:
        n, m = len(self.cost), len(self.row_lb)
        for name in ("col_lb", "col_ub", "integrality"):
            if np.shape(getattr(self, name)) != (n,):
                raise ShapeError(f"{name} has shape {np.shape(getattr(self, name))}, expected ({n},)")
        if np.shape(self.row_ub) != (m,):
            raise ShapeError(f"row_ub has shape {np.shape(self.row_ub)}, expected ({m},)")
        if (
            np.shape(self.indptr) != (n + 1,)
            or len(self.indices) != len(self.data)
            or self.indptr[-1] != len(self.data)
        ):
            raise ShapeError("indptr/indices/data do not describe a CSC matrix with one column per cost entry")
        if len(self.indices) and (self.indices.min() < 0 or self.indices.max() >= m):
            raise ShapeError(f"a matrix entry refers to a row outside 0..{m - 1}")

    @classmethod
    def from_matrix(
        cls,
        A: sp.spmatrix | sp.sparray,
        cost: np.ndarray,
        col_lb: np.ndarray,
        col_ub: np.ndarray,
        integrality: np.ndarray,
        row_lb: np.ndarray,
        row_ub: np.ndarray,
    ) -> MIPProblem:
        """From any scipy sparse matrix (converted to CSC with sorted indices)."""
        A = sp.csc_matrix(A)
        A.sort_indices()
        n = A.shape[1]
        return cls(
            cost=_vec(cost, n, "cost"),
            col_lb=_vec(col_lb, n, "col_lb"),
            col_ub=_vec(col_ub, n, "col_ub"),
            integrality=_vec(integrality, n, "integrality", bool),
            indptr=A.indptr.astype(np.int64),
            indices=A.indices.astype(np.int64),
            data=A.data.astype(float),
            row_lb=_vec(row_lb, A.shape[0], "row_lb"),
            row_ub=_vec(row_ub, A.shape[0], "row_ub"),
        )

    @property
    def n_cols(self) -> int:
        return len(self.cost)

    @property
    def n_rows(self) -> int:
        return len(self.row_lb)

    def csc(self) -> sp.csc_matrix:
        return sp.csc_matrix((self.data, self.indices, self.indptr), shape=(self.n_rows, self.n_cols))


@dataclass(frozen=True, eq=False)
class SolveResult:
    """One solve: ``status`` is ``"optimal"``, ``"infeasible"`` or the solver's own status
    text; ``objective`` (max sense) and ``x`` (column values) are meaningful only when
    optimal (``nan`` / empty otherwise). ``run_time`` is wall time around the solver call,
    in seconds; ``solver_status`` is the solver's own wording of the outcome."""

    status: str
    objective: float
    x: np.ndarray
    run_time: float
    mip_gap: float
    node_count: int
    solver_status: str

    @property
    def optimal(self) -> bool:
        return self.status == "optimal"

    @property
    def infeasible(self) -> bool:
        return self.status == "infeasible"


def _not_solved(status: str, run_time: float, solver_status: str) -> SolveResult:
    return SolveResult(status, math.nan, np.empty(0), run_time, math.nan, 0, solver_status)


# --------------------------------------------------------------------------- interface
class MIPBackend(abc.ABC):
    """A MIP kept by one solver, edited in bulk and re-solved (always maximise).

    Column and row ids are positions (0-based); ``add_rows`` appends rows at the end and
    ``delete_rows_from(k)`` drops rows ``k ..`` again, so a caller can stack temporary
    rows. ``set_start(x)`` offers a full assignment as a starting incumbent for the *next*
    solve only (then forgotten, so later solves stay independent of it); every built-in
    backend uses it. ``options`` are solver-specific parameter names and values, applied
    on top of the deterministic defaults; a rejected one raises
    :class:`~auctionlab.errors.ConfigError`.
    """

    name: ClassVar[str]
    title: ClassVar[str]  # how the solver calls itself, for messages
    package: ClassVar[str]  # the pip package that provides the solver
    module_name: ClassVar[str]  # its import name
    supports_start: ClassVar[bool] = True
    version: str

    def __init__(
        self, problem: MIPProblem, *, options: Mapping[str, Any] | None = None, time_limit: float | None = None
    ) -> None:
        if time_limit is not None and not (time_limit > 0):
            raise ConfigError(f"time_limit must be positive seconds, got {time_limit!r}")
        self.options = dict(options or {})
        self.time_limit = None if time_limit is None else float(time_limit)
        self.version = self.solver_version()
        self.n_cols = problem.n_cols
        self.n_rows = problem.n_rows
        self._start: np.ndarray | None = None

    # ---- availability
    @classmethod
    def module(cls) -> ModuleType:
        """The solver's Python package; :class:`ConfigError` saying what to install if absent."""
        try:
            return importlib.import_module(cls.module_name)
        except ImportError as exc:
            raise ConfigError(
                f"MIP backend {cls.name!r} needs the {cls.package!r} package, which is not installed: "
                f"pip install {cls.package} (or {SOLVERS_EXTRA})"
            ) from exc

    @classmethod
    def available(cls) -> bool:
        try:
            cls.module()
        except ConfigError:
            return False
        return True

    @classmethod
    @abc.abstractmethod
    def solver_version(cls) -> str:
        """The solver library's own version string."""

    # ---- edits (index arrays + values; a scalar value applies to every index)
    @abc.abstractmethod
    def change_costs(self, cols: np.ndarray, values: np.ndarray | float) -> None: ...

    @abc.abstractmethod
    def change_col_bounds(self, cols: np.ndarray, lb: np.ndarray | float, ub: np.ndarray | float) -> None: ...

    @abc.abstractmethod
    def change_integrality(self, cols: np.ndarray, integer: np.ndarray | bool) -> None: ...

    @abc.abstractmethod
    def change_row_bounds(self, rows: np.ndarray, lb: np.ndarray | float, ub: np.ndarray | float) -> None: ...

    @abc.abstractmethod
    def add_rows(
        self, lb: np.ndarray, ub: np.ndarray, starts: np.ndarray, index: np.ndarray, value: np.ndarray
    ) -> None:
        """Append ``len(lb)`` rows; row r's entries are ``index/value[starts[r]:starts[r+1]]``
        (the last row runs to the end of ``index``)."""

    @abc.abstractmethod
    def delete_rows_from(self, k: int) -> None:
        """Drop rows ``k, k+1, ..`` (appended rows, typically)."""

    def set_start(self, x: np.ndarray | None) -> None:
        """A starting assignment of every column for the next solve (None clears it)."""
        self._start = None if x is None else _vec(x, self.n_cols, "start")

    @abc.abstractmethod
    def solve(self) -> SolveResult: ...

    # ---- shared argument handling
    def _cols(self, cols: Any) -> np.ndarray:
        c = np.asarray(cols, dtype=np.int64).reshape(-1)
        if c.size and (c.min() < 0 or c.max() >= self.n_cols):
            raise ShapeError(f"column ids must lie in 0..{self.n_cols - 1}")
        return c

    def _rows(self, rows: Any) -> np.ndarray:
        r = np.asarray(rows, dtype=np.int64).reshape(-1)
        if r.size and (r.min() < 0 or r.max() >= self.n_rows):
            raise ShapeError(f"row ids must lie in 0..{self.n_rows - 1}")
        return r

    def _new_rows(self, lb: Any, ub: Any, starts: Any, index: Any, value: Any) -> tuple[np.ndarray, ...]:
        lb = np.asarray(lb, dtype=float).reshape(-1)
        k = len(lb)
        ub = _vec(ub, k, "row upper bounds")
        starts = _vec(starts, k, "row starts", np.int64)
        index = np.asarray(index, dtype=np.int64).reshape(-1)
        value = _vec(value, len(index), "row values")
        if index.size and (index.min() < 0 or index.max() >= self.n_cols):
            raise ShapeError(f"row entries must refer to columns 0..{self.n_cols - 1}")
        if k and (starts[0] != 0 or np.any(np.diff(starts) < 0) or starts[-1] > len(index)):
            raise ShapeError("row starts must begin at 0 and be non-decreasing within the entries")
        return lb, ub, starts, index, value

    def _delete_from(self, k: int) -> int:
        k = int(k)
        if not 0 <= k <= self.n_rows:
            raise ShapeError(f"cannot delete rows from {k}: the model has {self.n_rows} rows")
        return k


# --------------------------------------------------------------------------- HiGHS
_highs_banner_done = False


@contextlib.contextmanager
def _stdout_silenced() -> Iterator[None]:
    """Point file descriptor 1 at /dev/null (C-level output included) for the block."""
    try:
        libc = ctypes.CDLL(None)
    except OSError:  # no C library handle (not a POSIX platform): flush what Python can
        libc = None
    sys.stdout.flush()
    if libc is not None:
        libc.fflush(None)
    try:
        saved = os.dup(1)
    except OSError:  # no stdout at all: nothing to protect
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        yield
    finally:
        if libc is not None:
            libc.fflush(None)  # the banner is in the C buffer: let it reach /dev/null
        os.dup2(saved, 1)
        os.close(saved)
        os.close(devnull)


def new_highs() -> Any:
    """A ``highspy.Highs`` instance whose once-per-process banner never reaches stdout.

    HiGHS prints its copyright banner from the constructor of the first instance in a
    process, before any option can switch output off; that one construction runs with
    stdout pointed at /dev/null. Use this wherever the project needs a HiGHS object.
    """
    global _highs_banner_done
    highspy = HighsBackend.module()
    if _highs_banner_done:
        return highspy.Highs()
    with _stdout_silenced():
        h = highspy.Highs()
    _highs_banner_done = True
    return h


PRESOLVE_ENUMERATE_SOLUTIONS = 65536
"""HiGHS ``presolve_rule_off`` bit of the "enumerateSolutions" reduction (see HighsBackend.solve)."""


class HighsBackend(MIPBackend):
    """HiGHS through highspy: the model lives in one ``Highs`` object, edited in place;
    ``clearSolver()`` before each run drops basis and incumbent. ``options`` are HiGHS
    option names (``mip_rel_gap``, ``mip_allow_restart``, ...)."""

    name = "highs"
    title = "HiGHS"
    package = "highspy"
    module_name = "highspy"

    def __init__(
        self, problem: MIPProblem, *, options: Mapping[str, Any] | None = None, time_limit: float | None = None
    ) -> None:
        super().__init__(problem, options=options, time_limit=time_limit)
        hs = self.module()
        self._hs = hs
        h = new_highs()
        settings = {**HIGHS_OPTIONS, **self.options}
        if self.time_limit is not None:
            settings["time_limit"] = self.time_limit
        for k, val in settings.items():
            if h.setOptionValue(k, val) != hs.HighsStatus.kOk:
                raise ConfigError(f"HiGHS rejected option {k}={val!r}")
        status = h.passModel(
            problem.n_cols,
            problem.n_rows,
            len(problem.data),
            1,  # column-wise
            -1,  # maximise
            0.0,
            problem.cost.astype(float),
            problem.col_lb.astype(float),
            problem.col_ub.astype(float),
            problem.row_lb.astype(float),
            problem.row_ub.astype(float),
            problem.indptr.astype(np.int32),
            problem.indices.astype(np.int32),
            problem.data.astype(float),
            problem.integrality.astype(np.int32),
        )
        if status == hs.HighsStatus.kError:
            raise SolverError(f"HiGHS rejected the model ({problem.n_cols} columns, {problem.n_rows} rows)")
        self._h = h
        self._presolve_rule_off = int(h.getOptionValue("presolve_rule_off")[1])

    @classmethod
    def solver_version(cls) -> str:
        return str(new_highs().version())

    def change_costs(self, cols, values) -> None:
        c = self._cols(cols)
        if c.size:
            self._h.changeColsCost(len(c), c.astype(np.int32), _vec(values, len(c), "costs"))

    def change_col_bounds(self, cols, lb, ub) -> None:
        c = self._cols(cols)
        if c.size:
            self._h.changeColsBounds(
                len(c), c.astype(np.int32), _vec(lb, len(c), "lower bounds"), _vec(ub, len(c), "upper bounds")
            )

    def change_integrality(self, cols, integer) -> None:
        c = self._cols(cols)
        if c.size:
            self._h.changeColsIntegrality(
                len(c), c.astype(np.int32), _vec(integer, len(c), "integrality", bool).astype(np.uint8)
            )

    def change_row_bounds(self, rows, lb, ub) -> None:
        r = self._rows(rows)
        if r.size:
            self._h.changeRowsBounds(
                len(r), r.astype(np.int32), _vec(lb, len(r), "lower bounds"), _vec(ub, len(r), "upper bounds")
            )

    def add_rows(self, lb, ub, starts, index, value) -> None:
        lb, ub, starts, index, value = self._new_rows(lb, ub, starts, index, value)
        if len(lb):
            self._h.addRows(len(lb), lb, ub, len(index), starts.astype(np.int32), index.astype(np.int32), value)
            self.n_rows += len(lb)

    def delete_rows_from(self, k: int) -> None:
        k = self._delete_from(k)
        if k < self.n_rows:
            self._h.deleteRows(self.n_rows - k, np.arange(k, self.n_rows, dtype=np.int32))
            self.n_rows = k

    def solve(self) -> SolveResult:
        hs, h = self._hs, self._h
        h.clearSolver()  # no basis or solution carried over: results depend on the model only
        if self._start is not None:
            sol = hs.HighsSolution()
            sol.col_value = self._start.tolist()
            sol.value_valid = True
            h.setSolution(sol)
            self._start = None
        t0 = time.perf_counter()
        run_status = h.run()
        ms = h.getModelStatus()
        if ms in (hs.HighsModelStatus.kSolveError, hs.HighsModelStatus.kPostsolveError):
            # HiGHS 1.16's presolve reduction "enumerateSolutions" can postsolve to a point
            # that violates a row and report "Solve error" on a feasible, bounded model
            # (upstream ERGO-Code/HiGHS#3216, equality cliques). Solve that model once more
            # with the reduction switched off; models it does not hit are solved as before.
            h.clearSolver()
            h.setOptionValue("presolve_rule_off", PRESOLVE_ENUMERATE_SOLUTIONS)
            try:
                run_status = h.run()
            finally:
                h.setOptionValue("presolve_rule_off", int(self._presolve_rule_off))
            ms = h.getModelStatus()
        run_time = time.perf_counter() - t0
        text = h.modelStatusToString(ms)
        if ms == hs.HighsModelStatus.kInfeasible:
            return _not_solved("infeasible", run_time, text)
        if run_status == hs.HighsStatus.kError or ms != hs.HighsModelStatus.kOptimal:
            return _not_solved(text, run_time, f"{text} (run {run_status.name})")
        info = h.getInfo()
        return SolveResult(
            status="optimal",
            objective=float(info.objective_function_value),
            x=np.asarray(h.getSolution().col_value, dtype=float),
            run_time=run_time,
            mip_gap=float(info.mip_gap),
            node_count=int(info.mip_node_count),
            solver_status=text,
        )


# --------------------------------------------------------------------------- fresh-model solvers
class _FreshBackend(MIPBackend):
    """Keeps the model in arrays and hands the solver a freshly built model per solve.

    Subclasses implement :meth:`_solve_fresh` on the current arrays. Rows are stored as
    CSR; free rows (both bounds infinite) are left out of the native model.
    """

    def __init__(
        self, problem: MIPProblem, *, options: Mapping[str, Any] | None = None, time_limit: float | None = None
    ) -> None:
        super().__init__(problem, options=options, time_limit=time_limit)
        self._mod = self.module()
        self._cost = problem.cost.astype(float).copy()
        self._lb = problem.col_lb.astype(float).copy()
        self._ub = problem.col_ub.astype(float).copy()
        self._int = problem.integrality.astype(bool).copy()
        self._A = problem.csc().tocsr()
        self._A.sort_indices()
        self._rlb = problem.row_lb.astype(float).copy()
        self._rub = problem.row_ub.astype(float).copy()
        self._check_options()

    def _check_options(self) -> None:
        """Apply the options to a throwaway native model so a bad one fails at build time."""

    def change_costs(self, cols, values) -> None:
        c = self._cols(cols)
        self._cost[c] = _vec(values, len(c), "costs")

    def change_col_bounds(self, cols, lb, ub) -> None:
        c = self._cols(cols)
        self._lb[c] = _vec(lb, len(c), "lower bounds")
        self._ub[c] = _vec(ub, len(c), "upper bounds")

    def change_integrality(self, cols, integer) -> None:
        c = self._cols(cols)
        self._int[c] = _vec(integer, len(c), "integrality", bool)

    def change_row_bounds(self, rows, lb, ub) -> None:
        r = self._rows(rows)
        self._rlb[r] = _vec(lb, len(r), "lower bounds")
        self._rub[r] = _vec(ub, len(r), "upper bounds")

    def add_rows(self, lb, ub, starts, index, value) -> None:
        lb, ub, starts, index, value = self._new_rows(lb, ub, starts, index, value)
        if not len(lb):
            return
        new = sp.csr_matrix((value, index, np.append(starts, len(index))), shape=(len(lb), self.n_cols))
        new.sort_indices()
        self._A = sp.vstack([self._A, new], format="csr")
        self._rlb = np.concatenate([self._rlb, lb])
        self._rub = np.concatenate([self._rub, ub])
        self.n_rows += len(lb)

    def delete_rows_from(self, k: int) -> None:
        k = self._delete_from(k)
        if k < self.n_rows:
            self._A = self._A[:k]
            self._rlb, self._rub = self._rlb[:k], self._rub[:k]
            self.n_rows = k

    def _active_rows(self) -> np.ndarray:
        return np.flatnonzero(np.isfinite(self._rlb) | np.isfinite(self._rub))

    def solve(self) -> SolveResult:
        start, self._start = self._start, None
        return self._solve_fresh(start)

    @abc.abstractmethod
    def _solve_fresh(self, start: np.ndarray | None) -> SolveResult: ...

    def _bounded(self) -> bool:
        return bool(np.all(np.isfinite(self._lb)) and np.all(np.isfinite(self._ub)))


class ScipBackend(_FreshBackend):
    """SCIP through PySCIPOpt. ``options`` are SCIP parameter names (``"limits/gap"``)."""

    name = "scip"
    title = "SCIP"
    package = "pyscipopt"
    module_name = "pyscipopt"

    @classmethod
    def solver_version(cls) -> str:
        m = cls.module().Model()
        return f"{m.getMajorVersion()}.{m.getMinorVersion()}.{m.getTechVersion()}"

    def _model(self) -> Any:
        m = self._mod.Model()
        m.hideOutput()
        params: dict[str, Any] = {
            "limits/gap": MIP_REL_GAP,
            "limits/absgap": MIP_ABS_GAP,
            "randomization/randomseedshift": SEED,
            "lp/threads": 1,
            "parallel/maxnthreads": 1,
        }
        if self.time_limit is not None:
            params["limits/time"] = self.time_limit
        for k, v in {**params, **self.options}.items():
            try:
                m.setParam(k, v)
            except (KeyError, LookupError, TypeError, ValueError) as exc:
                raise ConfigError(f"SCIP rejected parameter {k}={v!r}: {exc}") from exc
        return m

    def _check_options(self) -> None:
        self._model()

    def _solve_fresh(self, start: np.ndarray | None) -> SolveResult:
        scip = self._mod
        m = self._model()
        x = [
            m.addVar(
                name=f"x{j}",
                vtype="I" if self._int[j] else "C",
                lb=None if self._lb[j] == -INF else float(self._lb[j]),
                ub=None if self._ub[j] == INF else float(self._ub[j]),
                obj=float(self._cost[j]),
            )
            for j in range(self.n_cols)
        ]
        m.setMaximize()
        A = self._A
        for r in self._active_rows():
            s, e = A.indptr[r], A.indptr[r + 1]
            expr = scip.quicksum(float(v) * x[j] for j, v in zip(A.indices[s:e], A.data[s:e])) if e > s else scip.Expr()
            lo, hi = self._rlb[r], self._rub[r]
            m.addCons(
                scip.scip.ExprCons(expr, lhs=None if lo == -INF else float(lo), rhs=None if hi == INF else float(hi))
            )
        if start is not None:
            sol = m.createSol()
            for j, v in enumerate(start):
                m.setSolVal(sol, x[j], float(v))
            m.addSol(sol, free=True)
        t0 = time.perf_counter()
        m.optimize()
        run_time = time.perf_counter() - t0
        text = str(m.getStatus())
        if text == "infeasible" or (text == "inforunbd" and self._bounded()):
            return _not_solved("infeasible", run_time, text)
        if text != "optimal":
            return _not_solved(text, run_time, text)
        sol = m.getBestSol()
        return SolveResult(
            status="optimal",
            objective=float(m.getSolObjVal(sol)),
            x=np.array([m.getSolVal(sol, v) for v in x], dtype=float),
            run_time=run_time,
            mip_gap=float(m.getGap()),
            node_count=int(m.getNNodes()),
            solver_status=text,
        )


_gurobi_env: Any = None


class GurobiBackend(_FreshBackend):
    """Gurobi through gurobipy (one silent environment per process). ``options`` are
    Gurobi parameter names (``"MIPFocus"``). The PyPI licence is size-limited."""

    name = "gurobi"
    title = "Gurobi"
    package = "gurobipy"
    module_name = "gurobipy"

    @classmethod
    def solver_version(cls) -> str:
        return ".".join(map(str, cls.module().gurobi.version()))

    def _env(self) -> Any:
        global _gurobi_env
        if _gurobi_env is None:
            gp = self._mod
            env = gp.Env(empty=True)
            env.setParam("OutputFlag", 0)  # before start(): no licence banner either
            try:
                env.start()
            except gp.GurobiError as exc:
                raise SolverError(f"Gurobi could not start (licence?): {exc}") from exc
            _gurobi_env = env
        return _gurobi_env

    def _model(self) -> Any:
        gp = self._mod
        m = gp.Model(env=self._env())
        params: dict[str, Any] = {
            "Threads": 1,
            "Seed": SEED,
            "MIPGap": MIP_REL_GAP,
            "MIPGapAbs": MIP_ABS_GAP,
            "DualReductions": 0,
        }  # tell infeasible from unbounded
        if self.time_limit is not None:
            params["TimeLimit"] = self.time_limit
        for k, v in {**params, **self.options}.items():
            try:
                m.setParam(k, v)
            except (gp.GurobiError, TypeError, ValueError) as exc:
                raise ConfigError(f"Gurobi rejected parameter {k}={v!r}: {exc}") from exc
        return m

    def _check_options(self) -> None:
        self._model().dispose()

    def _solve_fresh(self, start: np.ndarray | None) -> SolveResult:
        gp = self._mod
        GRB = gp.GRB
        m = self._model()
        try:
            x = m.addMVar(
                self.n_cols,
                lb=self._lb,
                ub=self._ub,
                obj=self._cost,
                vtype=np.where(self._int, GRB.INTEGER, GRB.CONTINUOUS),
            )
            m.ModelSense = GRB.MAXIMIZE
            rows = self._active_rows()
            lo, hi = self._rlb[rows], self._rub[rows]
            eq = lo == hi
            le = np.isfinite(hi) & ~eq
            ge = np.isfinite(lo) & ~eq
            parts = [(rows[eq], "=", lo[eq]), (rows[le], "<", hi[le]), (rows[ge], ">", lo[ge])]
            sel = np.concatenate([p[0] for p in parts])
            if sel.size:
                sense = np.concatenate([np.full(len(p[0]), p[1]) for p in parts])
                rhs = np.concatenate([p[2] for p in parts])
                m.addMConstr(self._A[sel], x, sense, rhs)
            if start is not None:
                x.Start = start
            t0 = time.perf_counter()
            try:
                m.optimize()
            except gp.GurobiError as exc:
                if exc.errno == GRB.Error.SIZE_LIMIT_EXCEEDED:
                    raise SolverError(
                        f"Gurobi's size-limited licence cannot take this model ({self.n_cols} columns, {len(sel)} rows): {exc}"
                    ) from exc
                raise SolverError(f"Gurobi failed: {exc}") from exc
            run_time = time.perf_counter() - t0
            names = {getattr(GRB.Status, k): k for k in dir(GRB.Status) if k.isupper()}
            text = names.get(m.Status, str(m.Status))
            if m.Status == GRB.INFEASIBLE or (m.Status == GRB.INF_OR_UNBD and self._bounded()):
                return _not_solved("infeasible", run_time, text)
            if m.Status != GRB.OPTIMAL:
                return _not_solved(text, run_time, text)
            return SolveResult(
                status="optimal",
                objective=float(m.ObjVal),
                x=np.asarray(x.X, dtype=float),
                run_time=run_time,
                mip_gap=float(m.MIPGap) if m.IsMIP else 0.0,
                node_count=int(m.NodeCount) if m.IsMIP else 0,
                solver_status=text,
            )
        finally:
            m.dispose()


class CplexBackend(_FreshBackend):
    """CPLEX through its ``cplex`` Python API. ``options`` are dotted parameter paths
    (``"mip.strategy.search"``). The PyPI Community Edition is size-limited."""

    name = "cplex"
    title = "CPLEX"
    package = "cplex"
    module_name = "cplex"

    @classmethod
    def solver_version(cls) -> str:
        c = cls.module().Cplex()
        try:
            return str(c.get_version())
        finally:
            c.end()

    def _model(self) -> Any:
        cpx = self._mod
        c = cpx.Cplex()
        for stream in (c.set_log_stream, c.set_results_stream, c.set_warning_stream, c.set_error_stream):
            stream(None)
        params: dict[str, Any] = {
            "threads": 1,
            "randomseed": SEED,
            "advance": 0,
            "mip.tolerances.mipgap": MIP_REL_GAP,
            "mip.tolerances.absmipgap": MIP_ABS_GAP,
        }
        if self.time_limit is not None:
            params["timelimit"] = self.time_limit
        for k, v in {**params, **self.options}.items():
            try:
                p = c.parameters
                for part in k.split("."):
                    p = getattr(p, part)
                p.set(v)
            except (AttributeError, TypeError, ValueError, cpx.exceptions.CplexError) as exc:
                c.end()
                raise ConfigError(f"CPLEX rejected parameter {k}={v!r}: {exc}") from exc
        return c

    def _check_options(self) -> None:
        self._model().end()

    def _solve_fresh(self, start: np.ndarray | None) -> SolveResult:
        cpx = self._mod
        big = cpx.infinity
        c = self._model()
        try:
            c.objective.set_sense(c.objective.sense.maximize)
            c.variables.add(
                obj=self._cost.tolist(),
                lb=np.clip(self._lb, -big, big).tolist(),
                ub=np.clip(self._ub, -big, big).tolist(),
                types="".join("I" if t else "C" for t in self._int),
            )
            rows = self._active_rows()
            if rows.size:
                lo, hi = self._rlb[rows], self._rub[rows]
                fl, fh = np.isfinite(lo), np.isfinite(hi)
                sense = np.where(lo == hi, "E", np.where(fl & fh, "R", np.where(fh, "L", "G")))
                rhs = np.where(fl, lo, hi)
                rng = np.where(sense == "R", hi - lo, 0.0)
                A = self._A
                expr = [
                    [A.indices[A.indptr[r] : A.indptr[r + 1]].tolist(), A.data[A.indptr[r] : A.indptr[r + 1]].tolist()]
                    for r in rows
                ]
                c.linear_constraints.add(
                    lin_expr=expr, senses="".join(sense), rhs=rhs.tolist(), range_values=rng.tolist()
                )
            if start is not None:
                c.MIP_starts.add([list(range(self.n_cols)), start.tolist()], c.MIP_starts.effort_level.auto)
            t0 = time.perf_counter()
            try:
                c.solve()
            except cpx.exceptions.CplexSolverError as exc:
                if exc.args[2] == cpx.exceptions.error_codes.CPXERR_RESTRICTED_VERSION:
                    raise SolverError(
                        f"CPLEX's size-limited Community Edition cannot take this model ({self.n_cols} columns, {len(rows)} rows): {exc}"
                    ) from exc
                raise SolverError(f"CPLEX failed: {exc}") from exc
            run_time = time.perf_counter() - t0
            s = c.solution
            code = s.get_status()
            text = s.get_status_string()
            st = s.status
            if code in (st.MIP_infeasible, st.infeasible) or (
                code in (st.MIP_infeasible_or_unbounded, st.infeasible_or_unbounded) and self._bounded()
            ):
                return _not_solved("infeasible", run_time, text)
            if code not in (st.MIP_optimal, st.optimal_tolerance, st.optimal):
                return _not_solved(text, run_time, text)
            mip = c.get_problem_type() != c.problem_type.LP
            return SolveResult(
                status="optimal",
                objective=float(s.get_objective_value()),
                x=np.asarray(s.get_values(), dtype=float),
                run_time=run_time,
                mip_gap=float(s.MIP.get_mip_relative_gap()) if mip else 0.0,
                node_count=int(s.progress.get_num_nodes_processed()) if mip else 0,
                solver_status=text,
            )
        finally:
            c.end()


# --------------------------------------------------------------------------- registry
BACKENDS: Registry[type[MIPBackend]] = Registry(
    "MIP backend",
    {"highs": HighsBackend, "scip": ScipBackend, "gurobi": GurobiBackend, "cplex": CplexBackend},
)
"""MIP backends by name; ``BACKENDS.register(name, cls)`` adds one (a :class:`MIPBackend` subclass)."""


def get_backend(name: str) -> type[MIPBackend]:
    """The backend class registered as ``name``, checked to be installed.

    An unknown name raises :class:`~auctionlab.errors.UnknownNameError` (a ConfigError)
    listing the registered ones; a known one whose package is missing raises
    :class:`~auctionlab.errors.ConfigError` naming the package to install.
    """
    if not isinstance(name, str):
        raise ConfigError(f"MIP backend must be given by name, got {name!r}")
    cls = BACKENDS[name]
    cls.module()
    return cls


def make_backend(
    name: str, problem: MIPProblem, *, options: Mapping[str, Any] | None = None, time_limit: float | None = None
) -> MIPBackend:
    """A backend ``name`` holding ``problem``, with solver-specific ``options``."""
    return get_backend(name)(problem, options=options, time_limit=time_limit)


def available_backends() -> list[str]:
    """Registered backends whose solver package is installed, in registry order."""
    return [n for n, cls in BACKENDS.items() if cls.available()]


def solver_info(name: str) -> dict[str, str]:
    """``{"solver": name, "version": ...}`` for run manifests."""
    return {"solver": name, "version": get_backend(name).solver_version()}
