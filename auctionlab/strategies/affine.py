"""Affine bid functions and a learner over a grid of them.

:class:`Affine` reports ``a · x + b`` for the base report x (default: the true type), so a
buyer bids ``a · v + b`` and a seller asks ``a · c + b``; reports are clipped at 0, and a
buyer's zero entries (relays it does not value) stay zero. ``Affine(1, 0)`` is truthful.
The family contains the linear equilibrium of the bilateral k-double auction (for k = 1/2
and types uniform on [0, 1]: buyer 2/3·v + 1/12, seller 2/3·c + 1/4).

:class:`AffineLearner` learns ``(a, b)`` on the grid ``a_grid × b_grid`` with one of the
relay market's learning rules (Hedge, EXP3, fictitious play; see
:mod:`auctionlab.strategies.learning`), run unchanged over the grid's actions. Each round
it plays one action on its type; with full information (Hedge, fictitious play) it then
asks the oracle what *every* action would have earned on that round's type against the
others' reports (one batched oracle call), with bandit feedback (EXP3) it sees its realised
utility only. Ties go to the action closest to truthful (a = 1, b = 0).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from auctionlab.errors import ConfigError
from auctionlab.strategies._checks import check_finite, check_grid, is_vector
from auctionlab.strategies.base import Observation, Strategy, Wrapper
from auctionlab.strategies.learning import LEARNING_RULES, action_learner, share_stream

__all__ = ["Affine", "AffineLearner", "affine_report", "register"]

DEFAULT_A_GRID = tuple(np.round(np.linspace(0.5, 1.5, 13), 6).tolist())  # step 1/12
DEFAULT_B_GRID = tuple(np.round(np.linspace(-0.25, 0.25, 7), 6).tolist())  # step 1/12


def affine_report(report: Any, a: float, b: float) -> Any:
    """``max(a · x + b, 0)``; for a bid vector only its positive entries move."""
    if is_vector(report):
        return np.where(report > 0, np.maximum(a * report + b, 0.0), report)
    return max(a * float(report) + b, 0.0)


class Affine(Wrapper):
    """Report ``a · x + b`` (clipped at 0) for the base report x: a buyer's bid a·v + b on
    the relays it values, a seller's ask a·c + b. ``a = 1, b = 0`` is truthful; the
    default is a deviation, the linear equilibrium bid of a k = 1/2 double auction buyer
    with uniform types (2/3·v + 1/12)."""

    name = "affine"
    deviation = "affine"

    def __init__(self, a: float = 2 / 3, b: float = 1 / 12, base: Strategy | None = None) -> None:
        self.a = check_finite(a, "a", self.name, lo=0.0)
        self.b = check_finite(b, "b", self.name)
        super().__init__(base)

    def is_identity(self) -> bool:
        return self.a == 1.0 and self.b == 0.0

    def transform(self, report: Any, true_type: Any, obs: Observation) -> Any:
        return affine_report(report, self.a, self.b)


class AffineLearner(Wrapper):
    """Learn an affine bid function ``(a, b)`` on a grid with a learning rule (module docstring).

    ``rule``: ``"hedge"`` (``eta``), ``"exp3"`` (``gamma``, ``reward_range``) or
    ``"fictitious_play"``. Exposes ``actions`` (K, 2) — the grid's (a, b) pairs, a-major —,
    ``probabilities`` (K,), ``a``/``b`` (last played; NaN before the first round),
    ``mean_a``/``mean_b`` (under ``probabilities``), ``mode`` (the most probable pair) and
    ``played`` (indices of the actions played so far).
    """

    name = "affine_learner"
    deviation = "learned_affine"
    classifier = {**Strategy.classifier, "learning": True}

    def __init__(
        self,
        rule: str = "hedge",
        a_grid: Sequence[float] = DEFAULT_A_GRID,
        b_grid: Sequence[float] = DEFAULT_B_GRID,
        eta: float = 0.5,
        gamma: float = 0.1,
        reward_range: tuple[float, float] = (-2.0, 4.0),
        base: Strategy | None = None,
        rng: Any = None,
    ) -> None:
        if rule not in LEARNING_RULES:
            raise ConfigError(f"{self.name}: rule must be one of {tuple(LEARNING_RULES)}, got {rule!r}")
        a = check_grid(a_grid, "a_grid", self.name, lo=0.0)
        b = check_grid(b_grid, "b_grid", self.name)
        self.rule = rule
        self.actions = np.array([(x, y) for x in a for y in b], dtype=np.float64)
        self.actions.flags.writeable = False
        # preference for ties: closest to truthful (a, b) = (1, 0) first, then by index
        dist = np.hypot(self.actions[:, 0] - 1.0, self.actions[:, 1])
        preference = np.lexsort((np.arange(dist.size), np.round(dist, 12)))
        params: dict[str, Any] = {}
        if rule == "hedge":
            params = {"eta": eta}
        elif rule == "exp3":
            params = {"gamma": gamma, "reward_range": reward_range}
        self.learner = action_learner(rule, preference.tolist(), **params)
        self._code_index = {float(c): k for k, c in enumerate(self.learner.thetas)}
        super().__init__(base)
        self.classifier["stochastic"] = bool(self.learner.flag("stochastic") or self.base.flag("stochastic"))
        self.classifier["needs_oracle"] = bool(self.learner.flag("needs_oracle") or self.base.flag("needs_oracle"))
        self._reset_state()
        if rng is not None:
            self.seed(rng)

    def is_identity(self) -> bool:
        return bool(np.all(self.actions == (1.0, 0.0)))

    # ------------------------------------------------------------------ state
    def _reset_state(self) -> None:
        self._k = -1
        self._base_report: Any = None
        self.played: list[int] = []

    def _reset(self) -> None:
        self.learner.reset()
        self._reset_state()
        super()._reset()

    @property
    def probabilities(self) -> np.ndarray:
        return self.learner.probabilities

    @property
    def a(self) -> float:
        return float(self.actions[self._k, 0]) if self._k >= 0 else math.nan

    @property
    def b(self) -> float:
        return float(self.actions[self._k, 1]) if self._k >= 0 else math.nan

    @property
    def mean_a(self) -> float:
        return float(self.probabilities @ self.actions[:, 0])

    @property
    def mean_b(self) -> float:
        return float(self.probabilities @ self.actions[:, 1])

    @property
    def mode(self) -> tuple[float, float]:
        """The most probable (a, b); among equally probable ones the closest to truthful."""
        p = self.probabilities
        top = np.flatnonzero(p >= p.max() * (1.0 - 1e-12))
        k = int(top[np.argmin(self.learner.thetas[top])])  # the smallest code is the most preferred
        return float(self.actions[k, 0]), float(self.actions[k, 1])

    def played_mean(self, last: int | None = None) -> tuple[float, float]:
        """The mean (a, b) over the last ``last`` rounds played (all when None)."""
        if not self.played:
            return math.nan, math.nan
        idx = np.asarray(self.played[-last:] if last else self.played)
        a, b = self.actions[idx].mean(axis=0)
        return float(a), float(b)

    # ------------------------------------------------------------------ decision and learning
    def report(self, true_type: Any, obs: Observation) -> Any:
        base = self.base.report(true_type, obs)
        self._base_report = base
        share_stream(self.learner, self.rng)
        self._k = self._code_index[float(self.learner.report(1.0, obs))]
        self.played.append(self._k)
        a, b = self.actions[self._k]
        return affine_report(base, float(a), float(b))

    def counterfactuals(self, obs: Observation) -> np.ndarray:
        """Utility of every action on the grid this round (one batched oracle call when the
        oracle offers ``many``)."""
        oracle = obs.require_oracle(self.name)
        if self._base_report is None:
            raise ConfigError(f"{self.name}: update() called before report()")
        reports = [affine_report(self._base_report, float(a), float(b)) for a, b in self.actions]
        many = getattr(oracle, "many", None)
        if many is not None:
            return np.asarray(many(reports), dtype=np.float64)
        return np.array([oracle(r) for r in reports], dtype=np.float64)

    def update(self, obs: Observation, utility: float) -> None:
        if self._k < 0:
            raise ConfigError(f"{self.name}: update() called before report()")
        coded = None
        if self.learner.flag("needs_oracle"):
            utils = self.counterfactuals(obs)
            index = self._code_index
            coded = lambda code: float(utils[index[float(code)]])  # noqa: E731
        share_stream(self.learner, self.rng)
        self.learner.update(Observation(obs.round, obs.role, obs.index, coded, obs.info), utility)
        self.base.update(obs, utility)


def register(registry: Any) -> None:
    """Add :class:`Affine` and :class:`AffineLearner` to a strategy registry under their names."""
    for cls in (Affine, AffineLearner):
        registry.register(cls.name, cls)
