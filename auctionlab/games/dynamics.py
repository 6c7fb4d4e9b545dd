"""Learning dynamics as equilibrium solvers, and one-population replicator trajectories.

``replicator_dynamics``, ``regret_matching`` and ``fictitious_play`` share the solver
signature and register in :data:`~auctionlab.games.solvers.SOLVERS`. They approximate: each
stops at regret ≤ ``tol`` (``converged=True``, ``status="converged"``), at ``max_iter``
(``converged=False``, ``status="max_iter"``) or — replicator dynamics — at a rest point that
is not an equilibrium (``status="stalled"``). Non-convergence is always in the result, never
silent; :meth:`~auctionlab.games.solvers.EquilibriumResult.require_converged` raises on it.

:func:`replicator_trajectory` evolves strategy *shares in one population* for tournament
"population over time" plots; :func:`trajectory_frame` makes its tidy table.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from auctionlab.errors import ConfigError, InvalidInputError, ShapeError
from auctionlab.games._checks import count as _count
from auctionlab.games._checks import nonneg
from auctionlab.games.game import EmpiricalGame, Mixture, as_game
from auctionlab.games.regret import deviation_values, mixture_regrets
from auctionlab.games.solvers import SOLVERS, EquilibriumResult
from auctionlab.report.stats import RngLike

__all__ = ["fictitious_play", "regret_matching", "replicator_dynamics", "replicator_trajectory", "trajectory_frame"]

#: shares must sum to 1 within this tolerance
_MIX_ATOL = 1e-6


def _start_mixture(game: EmpiricalGame, start: Any, rng: RngLike) -> Mixture:
    if isinstance(start, str):
        if start == "uniform":
            return game.uniform_mixture()
        if start == "random":
            gen = np.random.default_rng(rng)
            return [gen.dirichlet(np.ones(k)) for k in game.n_strategies]
        raise ConfigError(f"start must be 'uniform', 'random' or a mixture, got {start!r}")
    return game.as_mixture(start)


def _check_weighting(weighting: str) -> None:
    if weighting not in ("uniform", "linear"):
        raise ConfigError(f"weighting must be 'uniform' or 'linear', got {weighting!r}")


@dataclass
class _Trace:
    game: EmpiricalGame
    every: int
    iterations: list[int] = field(default_factory=list)
    regrets: list[float] = field(default_factory=list)
    mixtures: list[np.ndarray] = field(default_factory=list)

    def record(self, it: int, mix: Mixture, regret: float, *, force: bool = False) -> None:
        if self.every and (force or it % self.every == 0) and (not self.iterations or self.iterations[-1] != it):
            self.iterations.append(it)
            self.regrets.append(float(regret))
            self.mixtures.append(np.concatenate(mix))

    def frame(self) -> pd.DataFrame | None:
        if not self.every:
            return None
        g = self.game
        width = sum(g.n_strategies)
        reps = len(self.iterations)
        players = np.repeat(np.array(g.players, dtype=object), g.n_strategies)
        labels = np.array([lab for s in g.strategies for lab in s] + [None], dtype=object)[:-1]
        return pd.DataFrame(
            {
                "iteration": np.repeat(np.array(self.iterations, dtype=np.int64), width),
                "player": np.tile(players, reps),
                "strategy": np.tile(labels, reps),
                "probability": np.concatenate(self.mixtures) if reps else np.empty(0),
                "regret": np.repeat(np.array(self.regrets), width),
            }
        )


@SOLVERS.register("replicator_dynamics")
def replicator_dynamics(
    game: EmpiricalGame,
    *,
    rng: RngLike = None,
    start: Any = "uniform",
    step: float = 0.2,
    tol: float = 1e-8,
    max_iter: int = 100_000,
    floor: float = 1e-12,
    trace_every: int = 10,
) -> EquilibriumResult:
    """Discrete-time replicator dynamics, one population per player (role), updated together.

    ``x_s ← x_s · (1 + step · (f_s − f̄) / range_i)`` where ``range_i`` is the spread of player
    i's payoffs, so ``step`` is dimensionless and shares stay positive for ``step ≤ 1``.
    Stops when the current mixture's regret is ≤ ``tol``, when the state stops moving (a
    non-equilibrium rest point such as a pure profile) or after ``max_iter`` updates. Every
    share is kept ≥ ``floor`` (projected replicator dynamics), so a strategy driven out
    early can return instead of underflowing to exactly 0 and freezing the dynamics on a
    non-equilibrium face; ``floor=0`` gives the textbook map. The last iterate is returned;
    where the dynamics cycle (matching pennies, many random games) it does not converge —
    check ``converged``/``regret`` and try regret matching or fictitious play.
    """
    game = as_game(game)
    step = nonneg(step, "step")
    if not 0.0 < step <= 1.0:
        raise ConfigError(f"step must be in (0, 1], got {step!r}")
    tol = nonneg(tol, "tol")
    max_iter = _count(max_iter, "max_iter", 0)
    floor = nonneg(floor, "floor")
    if floor * max(game.n_strategies) >= 1.0:
        raise ConfigError(f"floor must be below 1/k = {1 / max(game.n_strategies):.3g}, got {floor!r}")
    trace = _Trace(game, _count(trace_every, "trace_every", 0))
    u = game.payoff_tensor()
    x = _start_mixture(game, start, rng)
    scale = [float(np.ptp(u[i])) or 1.0 for i in range(game.n_players)]
    it, converged, status = 0, False, "max_iter"
    while True:
        vals = deviation_values(u, x)
        fbar = [v @ xi for v, xi in zip(vals, x)]
        regret = max(float(v.max() - f) for v, f in zip(vals, fbar))
        trace.record(it, x, regret)
        if regret <= tol:
            converged = True
            break
        if it >= max_iter:
            break
        new = [xi * (1.0 + step * (v - f) / s) for xi, v, f, s in zip(x, vals, fbar, scale)]
        new = [xi / xi.sum() for xi in new]
        if floor > 0:
            new = [np.maximum(xi, floor) for xi in new]
            new = [xi / xi.sum() for xi in new]
        if all(np.array_equal(a, b) for a, b in zip(new, x)):
            status = "stalled"
            break  # rest point that is not an equilibrium: the dynamics cannot leave it
        x = new
        it += 1
    trace.record(it, x, regret, force=True)
    status = "converged" if converged else status
    return EquilibriumResult(x, regret, it, trace.frame(), converged, "replicator_dynamics", status)


@SOLVERS.register("regret_matching")
def regret_matching(
    game: EmpiricalGame,
    *,
    rng: RngLike = None,
    start: Any = "uniform",
    tol: float = 1e-7,
    max_iter: int = 20_000,
    weighting: str = "linear",
    plus: bool = False,
    check_every: int = 10,
    trace_every: int = 10,
) -> EquilibriumResult:
    """Regret matching (Hart & Mas-Colell), full-information form; returns the *average* strategy.

    Each iteration every player plays the mixture proportional to its positive cumulative
    regrets against the others' current mixtures (uniform when none is positive). The
    average strategy is an approximate Nash equilibrium in two-player zero-sum games (and
    in dominance-solvable ones); elsewhere it tends to coarse correlated equilibria, so
    check the returned ``regret``. ``weighting="linear"`` weights iteration t by t in both
    regrets and average (Linear CFR), which forgets the uninformed start far faster than
    ``"uniform"`` (textbook) averaging; ``plus=True`` floors regrets at 0 (RM+).
    """
    game = as_game(game)
    tol = nonneg(tol, "tol")
    max_iter = _count(max_iter, "max_iter", 1)
    check_every = _count(check_every, "check_every", 1)
    _check_weighting(weighting)
    trace = _Trace(game, _count(trace_every, "trace_every", 0))
    u = game.payoff_tensor()
    x = _start_mixture(game, start, rng)
    cum = [np.zeros(k) for k in game.n_strategies]
    avg = [np.zeros(k) for k in game.n_strategies]
    wsum, converged, regret = 0.0, False, math.inf
    mean = x
    for t in range(1, max_iter + 1):
        vals = deviation_values(u, x)
        w = float(t) if weighting == "linear" else 1.0
        for i, (v, xi) in enumerate(zip(vals, x)):
            cum[i] += w * (v - v @ xi)
            if plus:
                np.maximum(cum[i], 0.0, out=cum[i])
            avg[i] += w * xi
        wsum += w
        if t % check_every == 0 or t == max_iter:
            mean = [a / wsum for a in avg]
            regret = float(mixture_regrets(u, mean).max())
            trace.record(t, mean, regret)
            if regret <= tol:
                converged = True
                break
        x = [_positive_part_normalised(r) for r in cum]
    trace.record(t, mean, regret, force=True)
    return EquilibriumResult(
        mean, regret, t, trace.frame(), converged, "regret_matching", "converged" if converged else "max_iter"
    )


def _positive_part_normalised(r: np.ndarray) -> np.ndarray:
    pos = np.maximum(r, 0.0)
    total = pos.sum()
    return pos / total if total > 0 else np.full(r.size, 1.0 / r.size)


@SOLVERS.register("fictitious_play")
def fictitious_play(
    game: EmpiricalGame,
    *,
    rng: RngLike = None,
    start: Any = "uniform",
    tol: float = 1e-7,
    max_iter: int = 20_000,
    weighting: str = "linear",
    trace_every: int = 10,
) -> EquilibriumResult:
    """Simultaneous fictitious play: everyone best-responds to the others' empirical frequencies.

    The ``start`` mixture counts as the first observation; ties go to the first strategy.
    Returns the empirical (average) strategy, which converges to Nash in two-player
    zero-sum, potential and dominance-solvable games. ``weighting="linear"`` weights the
    t-th play by t (a generalised weakened fictitious play, same limit points), so the
    uninformed start fades as 1/t² instead of 1/t.
    """
    game = as_game(game)
    tol = nonneg(tol, "tol")
    max_iter = _count(max_iter, "max_iter", 0)
    _check_weighting(weighting)
    trace = _Trace(game, _count(trace_every, "trace_every", 0))
    u = game.payoff_tensor()
    x = [xi.copy() for xi in _start_mixture(game, start, rng)]
    it, converged = 0, False
    while True:
        vals = deviation_values(u, x)
        regret = max(float(v.max() - v @ xi) for v, xi in zip(vals, x))
        trace.record(it, x, regret)
        if regret <= tol:
            converged = True
            break
        if it >= max_iter:
            break
        alpha = 2.0 / (it + 3) if weighting == "linear" else 1.0 / (it + 2)
        for xi, v in zip(x, vals):
            xi *= 1.0 - alpha
            xi[int(np.argmax(v))] += alpha
        it += 1
    trace.record(it, x, regret, force=True)
    return EquilibriumResult(
        x, regret, it, trace.frame(), converged, "fictitious_play", "converged" if converged else "max_iter"
    )


# =========================================================================== one-population replicator
def replicator_trajectory(payoff_matrix: Any, shares0: Any, steps: int = 1000, dt: float = 0.1) -> np.ndarray:
    """Shares of each strategy in one population over time: array ``(steps + 1, k)``, row 0 = ``shares0``.

    ``payoff_matrix[a, b]`` is the payoff of strategy a against b (e.g. a tournament's mean
    pairwise scores). Euler steps of ``ẋ_a = x_a (f_a − x·f)`` with ``f = A x``; a ``dt`` so
    large that a share would turn negative is an error rather than silently clipped.
    """
    try:
        a = np.array(payoff_matrix, dtype=np.float64)
        x = np.array(shares0, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"payoff_matrix and shares0 must be numeric: {exc}") from None
    if a.ndim != 2 or a.shape[0] != a.shape[1] or a.shape[0] == 0:
        raise ShapeError(f"payoff_matrix must be square (k, k), got {a.shape}")
    if x.shape != (a.shape[0],):
        raise ShapeError(f"shares0 must have shape ({a.shape[0]},), got {x.shape}")
    if not np.all(np.isfinite(a)):
        raise InvalidInputError("payoff_matrix has NaN/inf entries")
    if not np.all(np.isfinite(x)) or np.any(x < 0) or abs(float(x.sum()) - 1.0) > _MIX_ATOL:
        raise InvalidInputError(f"shares0 must be non-negative and sum to 1, got {x}")
    steps = _count(steps, "steps", 0)
    dt = nonneg(dt, "dt")
    if dt == 0:
        raise ConfigError("dt must be positive")
    x = x / x.sum()
    out = np.empty((steps + 1, x.size))
    out[0] = x
    for t in range(1, steps + 1):
        f = a @ x
        x = x + dt * x * (f - x @ f)
        if x.min() < -1e-12:
            raise ConfigError(f"dt={dt} is too large for these payoffs: a share turned negative at step {t}; reduce dt")
        x = np.maximum(x, 0.0)
        x /= x.sum()
        out[t] = x
    return out


def trajectory_frame(trajectory: Any, strategies: Sequence[Hashable] | None = None, dt: float = 1.0) -> pd.DataFrame:
    """Tidy ``step, time, strategy, share`` table of a :func:`replicator_trajectory` (for plotting)."""
    traj = np.asarray(trajectory, dtype=np.float64)
    if traj.ndim != 2:
        raise ShapeError(f"trajectory must have shape (steps + 1, k), got {traj.shape}")
    n, k = traj.shape
    labels = list(range(k)) if strategies is None else list(strategies)
    if len(labels) != k:
        raise ShapeError(f"got {len(labels)} strategy labels for {k} columns")
    steps = np.repeat(np.arange(n), k)
    return pd.DataFrame(
        {
            "step": steps,
            "time": steps * float(dt),
            "strategy": np.tile(np.array(labels + [None], dtype=object)[:-1], n),
            "share": traj.ravel(),
        }
    )
