"""Learning rules that adapt a shading level θ over repeated rounds.

Every learner plays ``θ · base_report`` with θ from a finite grid ``thetas`` (default
0.5, 0.6, …, 1.5: shading below 1, inflating above), and differs in what feedback it uses:

- :class:`Hedge` — full information: after each round it asks the oracle what every θ on
  the grid would have earned against that round's other reports (and its own type that
  round), and plays θ with probability ∝ exp(η · cumulative counterfactual utility).
- :class:`EXP3` — bandit feedback: only its own realised utility, importance-weighted
  (Auer et al. 2002), rewards rescaled from ``reward_range`` to [0, 1] and clipped.
- :class:`FictitiousPlay` — deterministic best response to the empirical distribution of
  past rounds. A round's "opponent play" is the profile of the other agents' reports
  (together with my own type that round); the oracle tells me what each θ earns against
  it, and the best response to the uniform mixture of all past profiles is the θ with the
  largest *mean* counterfactual utility so far. Ties go to the θ closest to 1 (truthful),
  then to the smaller θ. (This is fictitious play in the game whose action is θ; it needs
  the oracle, not a model of how the mechanism sets prices, so it works unchanged for any
  mechanism.)

All learners expose ``theta`` (the last θ played, NaN before the first round),
``probabilities`` (the current mixed strategy over ``thetas``) and ``mean_theta``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from auctionlab.errors import ConfigError
from auctionlab.strategies._checks import check_finite, check_grid, is_vector
from auctionlab.strategies.base import Observation, Strategy, Wrapper

DEFAULT_THETAS = tuple(np.round(np.linspace(0.5, 1.5, 11), 6).tolist())


class ThetaLearner(Wrapper):
    """Shared machinery: a θ grid over a base strategy's report, and per-round bookkeeping."""

    deviation = "learned_scale"
    classifier = {**Strategy.classifier, "learning": True}

    def __init__(self, thetas: Sequence[float] = DEFAULT_THETAS, base: Strategy | None = None) -> None:
        self.thetas = check_grid(thetas, "thetas", self.name, lo=0.0)
        super().__init__(base)
        self._reset_learner()

    def is_identity(self) -> bool:
        return bool(np.all(self.thetas == 1.0))

    # ------------------------------------------------------------------ state
    def _reset_learner(self) -> None:
        self.score = np.zeros(self.thetas.size)  # learner-specific cumulative statistic
        self.rounds = 0
        self._k = -1
        self._base_report: Any = None

    def _reset(self) -> None:
        self._reset_learner()
        super()._reset()

    @property
    def theta(self) -> float:
        return float(self.thetas[self._k]) if self._k >= 0 else math.nan

    @property
    def probabilities(self) -> np.ndarray:
        raise NotImplementedError

    @property
    def mean_theta(self) -> float:
        return float(self.probabilities @ self.thetas)

    # ------------------------------------------------------------------ decision
    def choose(self) -> int:
        p = self.probabilities
        return int(self.rng.choice(p.size, p=p))

    def report(self, true_type: Any, obs: Observation) -> Any:
        base = self.base.report(true_type, obs)
        self._base_report = base
        self._k = self.choose()
        th = self.thetas[self._k]
        return base * th if is_vector(base) else float(base) * th

    def counterfactuals(self, obs: Observation) -> np.ndarray:
        """Utility of every θ on the grid this round, through the oracle."""
        oracle = obs.require_oracle(self.name)
        if self._base_report is None:
            raise ConfigError(f"{self.name}: update() called before report()")
        b = self._base_report
        vec = is_vector(b)
        return np.array([oracle(b * th if vec else float(b) * th) for th in self.thetas])

    def update(self, obs: Observation, utility: float) -> None:
        self.learn(obs, float(utility))
        self.rounds += 1
        self.base.update(obs, utility)

    def learn(self, obs: Observation, utility: float) -> None:
        raise NotImplementedError


def _softmax(x: np.ndarray) -> np.ndarray:
    z = np.exp(x - x.max())
    return z / z.sum()


class Hedge(ThetaLearner):
    """Exponential weights with full information (counterfactual utilities from the oracle)."""

    name = "hedge"
    classifier = {**ThetaLearner.classifier, "stochastic": True, "needs_oracle": True}

    def __init__(
        self, thetas: Sequence[float] = DEFAULT_THETAS, eta: float = 0.5, base: Strategy | None = None, rng: Any = None
    ) -> None:
        self.eta = check_finite(eta, "eta", "hedge", lo=0.0)
        super().__init__(thetas, base)
        if rng is not None:
            self.seed(rng)

    @property
    def probabilities(self) -> np.ndarray:
        return _softmax(self.eta * self.score)

    def learn(self, obs: Observation, utility: float) -> None:
        self.score += self.counterfactuals(obs)


class EXP3(ThetaLearner):
    """EXP3 with bandit feedback: only the realised utility of the θ actually played.

    p = (1 − γ)·w/Σw + γ/K; reward x = clip((u − lo)/(hi − lo), 0, 1) with
    (lo, hi) = ``reward_range``; log w_k += γ·(x / p_k)/K for the played arm k.
    """

    name = "exp3"
    classifier = {**ThetaLearner.classifier, "stochastic": True}

    def __init__(
        self,
        thetas: Sequence[float] = DEFAULT_THETAS,
        gamma: float = 0.1,
        reward_range: tuple[float, float] = (-2.0, 4.0),
        base: Strategy | None = None,
        rng: Any = None,
    ) -> None:
        self.gamma = check_finite(gamma, "gamma", "exp3", lo=0.0)
        if not 0.0 < self.gamma <= 1.0:
            raise ConfigError(f"exp3: gamma must be in (0, 1], got {gamma!r}")
        try:
            lo, hi = (float(v) for v in reward_range)
        except (TypeError, ValueError):
            raise ConfigError(f"exp3: reward_range must be (lo, hi), got {reward_range!r}") from None
        if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
            raise ConfigError(f"exp3: reward_range must be finite with lo < hi, got {reward_range!r}")
        self.reward_range = (lo, hi)
        super().__init__(thetas, base)
        if rng is not None:
            self.seed(rng)

    @property
    def probabilities(self) -> np.ndarray:
        k = self.thetas.size
        return (1.0 - self.gamma) * _softmax(self.score) + self.gamma / k

    def learn(self, obs: Observation, utility: float) -> None:
        if self._k < 0:
            raise ConfigError("exp3: update() called before report()")
        lo, hi = self.reward_range
        x = min(max((utility - lo) / (hi - lo), 0.0), 1.0)
        p = self.probabilities[self._k]
        self.score[self._k] += self.gamma * (x / p) / self.thetas.size


class FictitiousPlay(ThetaLearner):
    """Best response to the empirical distribution of past rounds (see the module docstring)."""

    name = "fictitious_play"
    classifier = {**ThetaLearner.classifier, "needs_oracle": True}

    def __init__(self, thetas: Sequence[float] = DEFAULT_THETAS, base: Strategy | None = None) -> None:
        super().__init__(thetas, base)
        # preference order for ties: closest to truthful first, then smaller θ
        self._tie_order = np.lexsort((self.thetas, np.abs(self.thetas - 1.0)))

    def choose(self) -> int:
        s = self.score[self._tie_order]
        return int(self._tie_order[int(np.argmax(s >= s.max() - 1e-12))])

    @property
    def probabilities(self) -> np.ndarray:
        p = np.zeros(self.thetas.size)
        p[self.choose()] = 1.0
        return p

    def learn(self, obs: Observation, utility: float) -> None:
        # running sum; argmax of the sum = argmax of the empirical mean
        self.score += self.counterfactuals(obs)


# ---------------------------------------------------------------------- (learn-relay) finite action sets
# A generic hook for learners over any finite set of K actions (an affine bid-function
# grid, a set of deviation profiles): the θ learners above are run unchanged on *codes*
# θ_k = 1 + rank_k, rank 0 being the most preferred action. Fictitious play's tie rule
# (closest to θ = 1 first, then smaller θ) then breaks ties by that preference, and the
# oracle the learner calls maps a code back to its action.
LEARNING_RULES: dict[str, type[ThetaLearner]] = {"hedge": Hedge, "exp3": EXP3, "fictitious_play": FictitiousPlay}


def action_codes(preference: Sequence[int]) -> np.ndarray:
    """The codes θ_k = 1 + rank_k of K actions, ``preference`` listing action indices from
    the most preferred to the least (a permutation of 0..K−1)."""
    order = np.asarray(preference, dtype=np.int64).ravel()
    if order.size == 0 or not np.array_equal(np.sort(order), np.arange(order.size)):
        raise ConfigError(f"preference must be a permutation of 0..K-1, got {preference!r}")
    codes = np.empty(order.size)
    codes[order] = 1.0 + np.arange(order.size)
    return codes


def action_learner(rule: str, preference: Sequence[int], **params: Any) -> ThetaLearner:
    """One of :data:`LEARNING_RULES` over K abstract actions (see :func:`action_codes`);
    ``params`` are the rule's own (``eta``, ``gamma``, ``reward_range``). Its ``thetas``,
    ``probabilities`` and ``score`` are in action order. Drive it with
    ``learner.report(1.0, obs)`` (the code of the action played) and ``learner.update(obs,
    u)`` where ``obs.oracle`` maps a code to that action's utility."""
    if rule not in LEARNING_RULES:
        raise ConfigError(f"unknown learning rule {rule!r}; available: {', '.join(LEARNING_RULES)}")
    return LEARNING_RULES[rule](thetas=action_codes(preference).tolist(), **params)


def share_stream(learner: Strategy, gen: np.random.Generator) -> None:
    """Make ``learner`` draw from ``gen`` (its owner's stream), so that seeding, cloning and
    resetting the owner covers the learner's randomness too."""
    learner._rng = gen
