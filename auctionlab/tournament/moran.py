"""A Moran process over a tournament's payoff matrix: a finite population, one birth and one death per step.

A population of ``N`` individuals, ``n_i`` of them playing strategy ``i``. An individual of
strategy ``i`` meets the ``N - 1`` others, so its payoff is the payoff matrix ``A`` (a
:class:`~auctionlab.tournament.ResultSet`'s or any square matrix) against the rest of the
population mix::

    π_i = (Σ_j A[i, j] n_j − A[i, i]) / (N − 1)

and its fitness is ``f_i = exp(w · π_i)`` (``w`` = ``intensity``, the strength of selection in
units of 1/payoff: fitness stays positive whatever the sign of the payoffs, ``w = 0`` is neutral
drift, and a payoff gap ``d`` between two strategies is a fitness ratio ``e^{w d}``). Each step
one individual is chosen to reproduce with probability proportional to ``n_i f_i``, its
offspring plays the parent's strategy (or, with probability ``mutation``, one of the other
strategies uniformly), and one individual chosen uniformly among the ``N`` dies and is
replaced by the offspring.

- :class:`Moran` → :meth:`~Moran.play` → :class:`MoranResult` (counts per step, the strategy
  that fixed, if any);
- :func:`fixation_probability`: the share of ``repeats`` runs in which one invader of
  strategy a, among ``N − 1`` residents of b, takes over — with its Wilson interval and n;
- :func:`exact_fixation_probability`: the same probability in closed form,
  ``1 / (1 + Σ_{k=1}^{N−1} Π_{j=1}^{k} f_b(j) / f_a(j))`` (``j`` invaders). With constant
  relative fitness ``r = f_a / f_b`` it is ``(1 − 1/r) / (1 − 1/r^N)``, and ``1/N`` when neutral.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from auctionlab._validate import check_float, check_int, check_rng
from auctionlab.errors import ConfigError, InvalidInputError
from auctionlab.games import trajectory_frame
from auctionlab.report.stats import proportion_ci
from auctionlab.tournament.ecosystem import payoff_matrix_of

__all__ = ["FixationEstimate", "Moran", "MoranResult", "exact_fixation_probability", "fixation_probability"]


def _index(names: list[str], who: Any, what: str) -> int:
    if isinstance(who, str):
        if who not in names:
            raise InvalidInputError(f"{what} {who!r} is not among the strategies {names}")
        return names.index(who)
    return check_int(who, what, minimum=0, maximum=len(names) - 1)


def _check_intensity(intensity: Any) -> float:
    return check_float(intensity, "intensity", minimum=0.0)


def _check_size(size: Any) -> int:
    return check_int(size, "size", minimum=2, maximum=10_000_000)


@dataclass(frozen=True)
class MoranResult:
    """One Moran run: ``counts`` (steps + 1, k) — row 0 the start — and the strategy that fixed
    (``None`` when the run ended at ``max_steps`` with several strategies alive, or with mutation)."""

    names: list[str]
    counts: np.ndarray
    fixation: str | None

    @property
    def steps(self) -> int:
        return int(self.counts.shape[0] - 1)

    @property
    def shares(self) -> np.ndarray:
        return self.counts / self.counts[0].sum()

    def frame(self) -> pd.DataFrame:
        """Tidy ``step, time, strategy, share`` table, like :meth:`Ecosystem.frame`."""
        return trajectory_frame(self.shares, self.names)


class Moran:
    """The Moran process over a result set's payoff matrix (see the module docstring).

    ``population``: the initial count of each strategy (a sequence in the matrix's order or a
    mapping name -> count; the counts sum to ``N >= 2``); or give ``size=N`` alone for counts as
    equal as they can be. ``mutation`` is the probability that an offspring switches strategy;
    ``rng`` seeds the run (same ``rng`` → same trajectory).
    """

    def __init__(
        self,
        results: Any,
        population: Sequence[int] | Mapping[str, int] | None = None,
        *,
        size: int | None = None,
        intensity: float = 1.0,
        mutation: float = 0.0,
        names: Sequence[str] | None = None,
        rng: Any = None,
    ) -> None:
        self.payoff_matrix, self.names = payoff_matrix_of(results, names)
        k = len(self.names)
        if population is None:
            if size is None:
                raise ConfigError("give the initial population (counts per strategy) or its size=")
            n = _check_size(size)
            counts = np.full(k, n // k, dtype=np.int64)
            counts[: n % k] += 1
        else:
            if isinstance(population, Mapping):
                unknown = sorted(set(map(str, population)) - set(self.names))
                if unknown:
                    raise InvalidInputError(f"population names {unknown} are not among the strategies {self.names}")
                population = [population.get(s, 0) for s in self.names]
            if len(population) != k:
                raise InvalidInputError(f"population must give {k} counts, got {len(population)}")
            counts = np.array([check_int(c, f"population[{i}]", minimum=0) for i, c in enumerate(population)])
            if size is not None and int(counts.sum()) != _check_size(size):
                raise InvalidInputError(f"the population counts sum to {int(counts.sum())}, not size = {size}")
            _check_size(int(counts.sum()))
        self.population = counts.astype(np.int64)
        self.size = int(self.population.sum())
        self.intensity = _check_intensity(intensity)
        self.mutation = check_float(mutation, "mutation", minimum=0.0, maximum=1.0)
        if self.mutation > 0 and k < 2:
            raise ConfigError("mutation needs at least two strategies")
        self.rng = check_rng(rng)

    def fitness(self, counts: np.ndarray) -> np.ndarray:
        """``exp(w · π)`` of every strategy against the mix ``counts`` (relative: scaled so the largest is 1)."""
        a = self.payoff_matrix
        pi = (a @ counts - np.diag(a)) / (self.size - 1)
        z = self.intensity * pi
        return np.exp(z - z.max())

    def play(self, max_steps: int | None = None) -> MoranResult:
        """Run until one strategy holds the whole population (no mutation) or for ``max_steps``
        steps (required with mutation, where nothing fixes for good)."""
        if max_steps is None:
            if self.mutation > 0:
                raise ConfigError("with mutation nothing fixes for good: give max_steps")
            max_steps = 1000 * self.size * self.size
        max_steps = check_int(max_steps, "max_steps", minimum=0)
        gen, k, N = self.rng, len(self.names), self.size
        n = self.population.copy()
        out = [n.copy()]
        for _ in range(max_steps):
            if self.mutation == 0 and int(n.max()) == N:
                break
            w = n * self.fitness(n)
            parent = int(gen.choice(k, p=w / w.sum()))
            child = parent
            if self.mutation > 0 and gen.random() < self.mutation:
                child = int(gen.choice([i for i in range(k) if i != parent]))
            dead = int(gen.choice(k, p=n / N))
            n[dead] -= 1
            n[child] += 1
            out.append(n.copy())
        fixed = self.names[int(n.argmax())] if self.mutation == 0 and int(n.max()) == N else None
        return MoranResult(list(self.names), np.vstack(out), fixed)


def _pair_fitness(a: np.ndarray, i: int, j: int, size: int, intensity: float) -> tuple[np.ndarray, np.ndarray]:
    """Fitness of the invader ``i`` and the resident ``j`` with 1..N-1 invaders (only i and j present)."""
    inv = np.arange(1, size, dtype=np.float64)
    res = size - inv
    pi_i = (a[i, i] * (inv - 1) + a[i, j] * res) / (size - 1)
    pi_j = (a[j, i] * inv + a[j, j] * (res - 1)) / (size - 1)
    return intensity * pi_i, intensity * pi_j


def exact_fixation_probability(
    results: Any, invader: Any, resident: Any, *, size: int, intensity: float = 1.0, names: Sequence[str] | None = None
) -> float:
    """The probability that one ``invader`` among ``size - 1`` ``resident``s takes over (no mutation), in closed form."""
    a, labels = payoff_matrix_of(results, names)
    i, j = _index(labels, invader, "invader"), _index(labels, resident, "resident")
    if i == j:
        raise InvalidInputError("invader and resident must be different strategies")
    size, intensity = _check_size(size), _check_intensity(intensity)
    zi, zj = _pair_fitness(a, i, j, size, intensity)
    log_terms = np.cumsum(zj - zi)  # log Π_{j<=k} f_b / f_a, k = 1..N-1
    top = max(0.0, float(log_terms.max()))
    return float(np.exp(-top) / (np.exp(-top) + np.exp(log_terms - top).sum()))


@dataclass(frozen=True)
class FixationEstimate:
    """``fixations`` of ``repeats`` runs fixed the invader: ``probability`` with its Wilson interval;
    ``neutral`` is 1/N, the probability under drift; ``exact`` the closed form."""

    invader: str
    resident: str
    size: int
    intensity: float
    repeats: int
    fixations: int
    probability: float
    ci_low: float
    ci_high: float
    exact: float

    @property
    def neutral(self) -> float:
        return 1.0 / self.size


def fixation_probability(
    results: Any,
    invader: Any,
    resident: Any,
    *,
    size: int,
    repeats: int = 1000,
    intensity: float = 1.0,
    level: float = 0.95,
    names: Sequence[str] | None = None,
    rng: Any = None,
) -> FixationEstimate:
    """Estimate by ``repeats`` Moran runs the probability that one ``invader`` (name or index)
    among ``size - 1`` ``resident``s takes over the population (no mutation).

    Only the steps that change the counts are drawn (the jump chain, an increase with
    probability ``f_a / (f_a + f_b)``), which leaves the fixation probability exact and costs
    O(N²) draws per run rather than the idle steps in between; all runs advance together.
    """
    a, labels = payoff_matrix_of(results, names)
    i, j = _index(labels, invader, "invader"), _index(labels, resident, "resident")
    if i == j:
        raise InvalidInputError("invader and resident must be different strategies")
    size, intensity = _check_size(size), _check_intensity(intensity)
    repeats = check_int(repeats, "repeats", minimum=1, maximum=10_000_000)
    gen = check_rng(rng)
    zi, zj = _pair_fitness(a, i, j, size, intensity)
    up = 1.0 / (1.0 + np.exp(zj - zi))  # P(next change adds an invader | k invaders), index k - 1
    state = np.ones(repeats, dtype=np.int64)
    alive = np.ones(repeats, dtype=bool)
    while alive.any():
        idx = np.flatnonzero(alive)
        s = state[idx]
        state[idx] = s + np.where(gen.random(idx.size) < up[s - 1], 1, -1)
        alive[idx] = (state[idx] > 0) & (state[idx] < size)
    fixations = int((state == size).sum())
    p, lo, hi = proportion_ci(fixations, repeats, level=level)
    return FixationEstimate(
        invader=labels[i],
        resident=labels[j],
        size=size,
        intensity=intensity,
        repeats=repeats,
        fixations=fixations,
        probability=p,
        ci_low=lo,
        ci_high=hi,
        exact=exact_fixation_probability(a, i, j, size=size, intensity=intensity),
    )
