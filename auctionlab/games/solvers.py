"""Equilibrium solvers: one signature, one registry; exact two-player methods and queries.

Every solver is ``solver(game, *, rng=None, **params) -> EquilibriumResult`` and lives in
:data:`SOLVERS`: ``replicator_dynamics``, ``regret_matching`` and ``fictitious_play`` (from
:mod:`auctionlab.games.dynamics`), then the exact two-player solvers defined here,
``support_enumeration`` and ``lemke_howson`` (the :func:`lemke_howson` function) —
registered last by :func:`register_exact_solvers`, so code that walks the registry with one
random stream sees the dynamics first, as it always has. :func:`pure_equilibria` lists every pure
ε-equilibrium of any game; :func:`all_equilibria` / :func:`is_unique` answer "which
equilibria are there?" for two-player games by support enumeration.

Exact methods assume a *nondegenerate* game (no mixed strategy with support size k has
more than k pure best responses), which random and simulated payoffs almost always are.
In a degenerate game equilibria can form continua: support enumeration then returns the
vertices it finds, so :func:`is_unique` answers False rather than a wrong True.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import pandas as pd

from auctionlab.errors import ConfigError, SolverError
from auctionlab.games._checks import check, count, nonneg
from auctionlab.games.game import EmpiricalGame, Mixture, Profile, as_game
from auctionlab.games.regret import mixture_regrets, pure_regret_tensor
from auctionlab.registry import Registry
from auctionlab.report.stats import RngLike

__all__ = [
    "SOLVERS",
    "EquilibriumResult",
    "Solver",
    "all_equilibria",
    "is_unique",
    "lemke_howson",
    "pure_equilibria",
    "register_exact_solvers",
    "solve",
    "support_enumeration",
]

#: exact solvers treat a relative payoff difference below this as a tie
_EXACT_TOL = 1e-9


# =========================================================================== result and registry
@dataclass(frozen=True)
class EquilibriumResult:
    """What every solver returns: the mixture it settles on, that mixture's regret, and how it got there.

    ``trace`` (when recorded) is tidy: ``iteration, player, strategy, probability, regret``.
    ``converged`` is True when the solver met its stopping rule (regret ≤ ``tol``, or an exact
    method); ``status`` says why it stopped: ``"converged"``, ``"exact"``, ``"max_iter"``
    (iteration limit reached first) or ``"stalled"`` (a rest point that is not an equilibrium).
    A dynamics run that did not converge says so here; :meth:`require_converged` turns that
    into an error for callers that need an equilibrium.
    """

    mixture: Mixture
    regret: float
    iterations: int
    trace: pd.DataFrame | None = None
    converged: bool = False
    solver: str = ""
    status: str = ""

    def __repr__(self) -> str:
        mix = "; ".join(np.array2string(x, precision=4, suppress_small=True) for x in self.mixture)
        return (
            f"EquilibriumResult(solver={self.solver!r}, regret={self.regret:.3g}, iterations={self.iterations}, "
            f"converged={self.converged}, status={self.status!r}, mixture=[{mix}])"
        )

    def require_converged(self) -> EquilibriumResult:
        """``self`` if the solver converged; otherwise a :class:`~auctionlab.errors.SolverError` saying why not."""
        if not self.converged:
            raise SolverError(
                f"{self.solver or 'the solver'} did not converge ({self.status or 'no status'}): regret "
                f"{self.regret:.3g} after {self.iterations} iterations; raise max_iter, loosen tol or use an "
                "exact solver (support_enumeration, lemke_howson) for two-player games"
            )
        return self


class Solver(Protocol):
    def __call__(self, game: EmpiricalGame, *, rng: RngLike = None, **params: Any) -> EquilibriumResult: ...


SOLVERS: Registry[Callable[..., EquilibriumResult]] = Registry("equilibrium solver")


def solve(
    game: EmpiricalGame | Any,
    solver: str | Callable[..., EquilibriumResult] = "replicator_dynamics",
    *,
    rng: RngLike = None,
    **params: Any,
) -> EquilibriumResult:
    """Run a solver by registered name (or a callable with the solver signature)."""
    return SOLVERS.resolve(solver)(as_game(game), rng=rng, **params)


# =========================================================================== pure profiles
def pure_equilibria(game: EmpiricalGame | Any, eps: float = 0.0) -> list[Profile]:
    """All pure profiles whose regret is at most ``eps`` (exact enumeration; complete games only)."""
    g = as_game(game)
    eps = nonneg(eps, "eps")
    u = g.payoff_tensor()
    reg = pure_regret_tensor(u)
    slack = 1e-12 * max(1.0, float(np.abs(u).max()))  # exact ties must count as equilibria
    return [g.profile_labels(tuple(i)) for i in np.argwhere(reg <= eps + slack)]


# =========================================================================== two-player exact
def _bimatrix(game: EmpiricalGame, what: str) -> tuple[np.ndarray, np.ndarray]:
    check(
        game.n_players == 2,
        ConfigError,
        f"{what} is exact for two-player games only; this game has {game.n_players} players "
        "(use pure_equilibria or a dynamics solver)",
    )
    u = game.payoff_tensor()
    return u[0], u[1]


def _tol(a: np.ndarray, b: np.ndarray) -> float:
    return _EXACT_TOL * max(1.0, float(np.abs(a).max()), float(np.abs(b).max()))


def _indifferent(m: np.ndarray) -> np.ndarray | None:
    """The distribution z on m's columns that makes every row of ``m`` pay the same, or None."""
    k = m.shape[0]
    lhs = np.zeros((k + 1, k + 1))
    lhs[:k, :k] = m
    lhs[:k, k] = -1.0
    lhs[k, :k] = 1.0
    rhs = np.zeros(k + 1)
    rhs[k] = 1.0
    try:
        sol = np.linalg.solve(lhs, rhs)
    except np.linalg.LinAlgError:
        return None
    return sol[:k] if np.all(np.isfinite(sol)) else None


def _support_equilibria(a: np.ndarray, b: np.ndarray) -> tuple[list[tuple[np.ndarray, np.ndarray]], int]:
    """Every equilibrium with equal-size supports (all of them in a nondegenerate game), and the
    number of support pairs tried."""
    rows, cols = a.shape
    tol = _tol(a, b)
    found: list[tuple[np.ndarray, np.ndarray]] = []
    tried = 0
    for k in range(1, min(rows, cols) + 1):
        for sup_x in itertools.combinations(range(rows), k):
            for sup_y in itertools.combinations(range(cols), k):
                tried += 1
                yj = _indifferent(a[np.ix_(sup_x, sup_y)])
                xi = _indifferent(b[np.ix_(sup_x, sup_y)].T)
                if yj is None or xi is None or yj.min() < -tol or xi.min() < -tol:
                    continue
                x, y = np.zeros(rows), np.zeros(cols)
                x[list(sup_x)] = np.maximum(xi, 0.0)
                y[list(sup_y)] = np.maximum(yj, 0.0)
                x, y = x / x.sum(), y / y.sum()
                ay, xb = a @ y, x @ b
                if ay.max() <= ay @ x + tol and xb.max() <= xb @ y + tol and not _seen(found, x, y):
                    found.append((x, y))
    return found, tried


def _seen(found: list[tuple[np.ndarray, np.ndarray]], x: np.ndarray, y: np.ndarray) -> bool:
    """Whether (x, y) is already listed (a degenerate game can reach one point from several supports)."""
    return any(np.allclose(x, fx, rtol=0, atol=1e-7) and np.allclose(y, fy, rtol=0, atol=1e-7) for fx, fy in found)


def _result(game: EmpiricalGame, mix: Mixture, iterations: int, solver: str) -> EquilibriumResult:
    regret = float(mixture_regrets(game.payoff_tensor(), mix).max())
    return EquilibriumResult(mix, regret, iterations, None, True, solver, "exact")


def support_enumeration(
    game: EmpiricalGame, *, rng: RngLike = None, index: int = 0, start: Any = None
) -> EquilibriumResult:
    """The ``index``-th equilibrium found by support enumeration (two players; exact).

    Supports are tried by size, then in lexicographic order, so ``index=0`` is an equilibrium
    with the smallest support (a pure one when there is one). ``iterations`` counts support
    pairs tried. :func:`all_equilibria` returns the whole list. ``rng`` and ``start`` are
    accepted so that every registered solver takes the dynamics' common keywords; an exact
    method has no starting point and ignores them.
    """
    game = as_game(game)
    index = count(index, "index", 0)
    a, b = _bimatrix(game, "support_enumeration")
    found, tried = _support_equilibria(a, b)
    if index >= len(found):
        raise SolverError(f"support enumeration found {len(found)} equilibria; index {index} does not exist")
    x, y = found[index]
    return _result(game, [x, y], tried, "support_enumeration")


def _pivot(tab: np.ndarray, basis: list[int], col: int, lex_cols: list[int]) -> int:
    """One complementary pivot: ``col`` enters, the lexicographic min-ratio row leaves; the leaving label."""
    rows = np.flatnonzero(tab[:, col] > 1e-12)
    if rows.size == 0:  # pragma: no cover - impossible on the bounded polytopes of a positive game
        raise SolverError("Lemke-Howson: unbounded pivot column (internal error)")
    for key in [tab.shape[1] - 1, *lex_cols]:  # rhs first, then the initial basis (lexicographic rule)
        ratios = tab[rows, key] / tab[rows, col]
        best = ratios.min()
        rows = rows[ratios <= best + 1e-12 * max(1.0, abs(best))]
        if rows.size == 1:
            break
    r = int(rows[0])
    tab[r] /= tab[r, col]
    others = np.arange(tab.shape[0]) != r
    tab[others] -= np.outer(tab[others, col], tab[r])
    leaving, basis[r] = basis[r], col
    return leaving


def _lemke_howson(a: np.ndarray, b: np.ndarray, dropped: int, max_pivots: int) -> tuple[np.ndarray, np.ndarray, int]:
    """Lemke-Howson by complementary pivoting on the two best-response polytopes.

    Labels 0..rows-1 are the row player's strategies, rows..rows+cols-1 the column player's.
    ``q``: ``r + A y = 1`` (columns by label: slacks r, then y); ``p``: ``Bᵀ x + s = 1``
    (x, then slacks s). Payoffs are shifted positive first, which changes no equilibrium.
    """
    rows, cols = a.shape
    a = a - a.min() + 1.0
    b = b - b.min() + 1.0
    q = np.hstack([np.eye(rows), a, np.ones((rows, 1))])
    p = np.hstack([b.T, np.eye(cols), np.ones((cols, 1))])
    q_basis, p_basis = list(range(rows)), list(range(rows, rows + cols))
    q_lex, p_lex = list(range(rows)), list(range(rows, rows + cols))
    entering, pivots = dropped, 0
    in_p = dropped < rows  # a row strategy's label is non-basic in p first
    while True:
        if pivots >= max_pivots:
            raise SolverError(f"Lemke-Howson did not finish within max_pivots={max_pivots}; the game may be degenerate")
        leaving = _pivot(p, p_basis, entering, p_lex) if in_p else _pivot(q, q_basis, entering, q_lex)
        pivots += 1
        if leaving == dropped:
            break
        entering, in_p = leaving, not in_p
    x, y = np.zeros(rows), np.zeros(cols)
    for r, lab in enumerate(p_basis):
        if lab < rows:
            x[lab] = p[r, -1]
    for r, lab in enumerate(q_basis):
        if lab >= rows:
            y[lab - rows] = q[r, -1]
    return x / x.sum(), y / y.sum(), pivots


def lemke_howson(
    game: EmpiricalGame,
    *,
    rng: RngLike = None,
    initial_dropped_label: int = 0,
    max_pivots: int = 10_000,
    start: Any = None,
) -> EquilibriumResult:
    """One equilibrium of a two-player game by the Lemke-Howson algorithm (exact, pivots in floats).

    ``initial_dropped_label`` is a strategy index in ``0 .. k0 + k1 - 1`` (the row player's
    strategies first); different labels may reach different equilibria. ``iterations``
    counts pivots. The path is followed with the lexicographic ratio rule, so it terminates
    in degenerate games as well. ``rng`` and ``start`` are ignored (see :func:`support_enumeration`).
    """
    game = as_game(game)
    a, b = _bimatrix(game, "lemke_howson")
    labels = a.shape[0] + a.shape[1]
    label = count(initial_dropped_label, "initial_dropped_label", 0)
    check(label < labels, ConfigError, f"initial_dropped_label must be below {labels} (k0 + k1), got {label}")
    x, y, pivots = _lemke_howson(a, b, label, count(max_pivots, "max_pivots", 1))
    return _result(game, [x, y], pivots, "lemke_howson")


# =========================================================================== queries
def all_equilibria(game: EmpiricalGame | Any) -> list[Mixture]:
    """Every Nash equilibrium of a two-player game (support enumeration), smallest supports first.

    Complete for nondegenerate games; in a degenerate game the vertices of equilibrium
    components that it finds (see the module docstring). Pure equilibria appear as
    degenerate mixtures. Cost grows as the number of equal-size support pairs, fine for up
    to about 10 strategies each.
    """
    g = as_game(game)
    a, b = _bimatrix(g, "all_equilibria")
    return [[x, y] for x, y in _support_equilibria(a, b)[0]]


def is_unique(game: EmpiricalGame | Any) -> bool:
    """Whether a two-player game has exactly one Nash equilibrium (see :func:`all_equilibria`)."""
    return len(all_equilibria(game)) == 1


def register_exact_solvers() -> None:
    """Add the exact two-player solvers to :data:`SOLVERS` (once, after the dynamics)."""
    for name, fn in (("support_enumeration", support_enumeration), ("lemke_howson", lemke_howson)):
        if name not in SOLVERS:
            SOLVERS.register(name, fn)
