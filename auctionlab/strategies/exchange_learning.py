"""Learning exchange proxies: pick one deviation per episode, learn from the episode's outcome.

In the exchange a bidder's "action" for a whole episode (one ICE run to its close) is a
proxy strategy. :class:`LearningProxy` holds a finite set of *arms* — exchange proxies
with their parameters, e.g. :class:`~auctionlab.strategies.exchange.Misreport` at a grid
of strengths (shading: node values scaled by 1 − s), :class:`~auctionlab.strategies.exchange.Lazy`,
:class:`~auctionlab.strategies.exchange.LateRevealer` (reveal timing),
:class:`~auctionlab.strategies.exchange.Stubborn` and the paper's
:class:`~auctionlab.strategies.exchange.Straightforward` bidder — and before the first
query of an episode draws one arm from its learner; every query of that episode is
answered by that arm. At the end of the episode the market calls :meth:`LearningProxy.update`
with the bidder's own outcome (its trade, payment and realised utility) and the learner
updates.

The learners are the relay market's, shared, not copied
(:class:`~auctionlab.strategies.learning.Hedge`, :class:`~auctionlab.strategies.learning.EXP3`):
a learner's θ grid here is the grid of arm indices 0, 1, …, K − 1 over a truthful base,
so "the report θ·1" a learner makes is the index of the arm it plays, and its oracle maps
an index to that arm's utility.

- ``learner="exp3"`` — bandit feedback: only its own realised utility; it declares no
  oracle, so the market runs no counterfactual episode for it.
- ``learner="hedge"`` — full information: it declares ``needs_oracle`` and the market's
  oracle (``obs.oracle(strategy) -> utility``) answers what each other arm would have
  earned in the episode just played, every other bidder playing what it played — an
  exchange rerun through the package's one counterfactual runner (and its cache). The
  arm actually played is answered from the episode itself.

What a learner is told is the observation the market builds (``obs.info``: ``episode``,
``bidder``, ``trade``, ``payment``, ``utility``, ``traded``, ``closed_by``, ``rounds``) and,
for Hedge, the oracle: never another bidder's values.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np

from auctionlab.errors import ConfigError, StateError
from auctionlab.strategies.base import Observation, Strategy
from auctionlab.strategies.exchange import (
    ExchangeStrategy,
    FeedbackLike,
    LateRevealer,
    Lazy,
    Misreport,
    Straightforward,
    Stubborn,
)
from auctionlab.strategies.learning import EXP3, Hedge

__all__ = ["DEFAULT_SHADING", "LEARNERS", "LearningProxy", "deviation_family"]

#: Misreport strengths of the default family: node values shaded to 0.9, 0.8 and 0.7 of the truth.
DEFAULT_SHADING = (0.1, 0.2, 0.3)

LEARNERS: dict[str, type] = {"hedge": Hedge, "exp3": EXP3}


def deviation_family(
    shading: Sequence[float] = DEFAULT_SHADING, *, timing: bool = True, stubborn: bool = True
) -> list[ExchangeStrategy]:
    """The deviation family: the paper's bidder, :class:`Misreport` at every strength in
    ``shading`` (over the paper's bidder), and — with ``timing`` — :class:`Lazy` and
    :class:`LateRevealer`, with ``stubborn`` — :class:`Stubborn`."""
    arms: list[ExchangeStrategy] = [Straightforward()]
    arms += [Misreport(float(s)) for s in shading]
    if timing:
        arms += [Lazy(), LateRevealer()]
    if stubborn:
        arms.append(Stubborn())
    return arms


def _arm(spec: Any, k: int) -> ExchangeStrategy:
    from auctionlab.strategies.registry import strategy_from_spec  # the registry imports this module

    s = strategy_from_spec(spec)
    if not isinstance(s, ExchangeStrategy):
        raise ConfigError(f"learning_proxy: arm {k} ({s.label!r}) is not an exchange strategy")
    if s.flag("learning"):
        raise ConfigError(f"learning_proxy: arm {k} ({s.label!r}) learns itself; arms must be fixed proxies")
    return s


class LearningProxy(ExchangeStrategy):
    """One arm per episode, chosen by a shared relay-market learner (see the module docstring).

    ``arms``: exchange strategy specs or instances (default :func:`deviation_family`);
    ``learner``: ``"exp3"`` (bandit, default) or ``"hedge"`` (full information);
    ``eta`` (Hedge's rate), ``gamma`` and ``reward_range`` (EXP3's exploration and the
    utility range it rescales to [0, 1]; set it to the scale of the exchange's values);
    ``rng``: seed or Generator (the market seeds it otherwise).
    """

    name: ClassVar[str] = "learning_proxy"
    classifier: ClassVar[dict[str, Any]] = {
        **ExchangeStrategy.classifier,
        "deviation": "learned_arm",
        "stochastic": True,
        "learning": True,
    }

    def __init__(
        self,
        arms: Sequence[Any] | None = None,
        learner: str = "exp3",
        eta: float = 0.5,
        gamma: float = 0.1,
        reward_range: tuple[float, float] = (-10.0, 10.0),
        rng: Any = None,
    ) -> None:
        if learner not in LEARNERS:
            raise ConfigError(f"learning_proxy: learner must be one of {tuple(LEARNERS)}, got {learner!r}")
        specs = deviation_family() if arms is None else arms
        if isinstance(specs, (str, bytes)) or not isinstance(specs, Sequence) or len(specs) == 0:
            raise ConfigError(f"learning_proxy: arms must be a non-empty sequence of exchange strategies, got {arms!r}")
        self.arms: tuple[ExchangeStrategy, ...] = tuple(_arm(s, k) for k, s in enumerate(specs))
        self.learner_name = learner
        grid = tuple(float(k) for k in range(len(self.arms)))
        self.learner: Hedge | EXP3
        if learner == "hedge":
            self.learner = Hedge(grid, eta=eta)
        else:
            self.learner = EXP3(grid, gamma=gamma, reward_range=reward_range)
        self.classifier = {**type(self).classifier, "needs_oracle": learner == "hedge"}  # type: ignore[misc]
        self._reset_episodes()
        if rng is not None:
            self.seed(rng)

    # ------------------------------------------------------------------ state
    def _reset_episodes(self) -> None:
        self._k = -1  # the arm of the current episode (-1: none drawn yet)
        self._answered = False  # whether the current arm has answered a query
        self.episodes = 0
        self.played: list[int] = []  # arm index per finished episode
        self.rewards: list[float] = []  # realised utility per finished episode

    def _reset(self) -> None:
        self.learner.reset()
        for a in self.arms:
            a.reset()
        self._reset_episodes()

    # ------------------------------------------------------------------ randomness
    # The learner draws the arms, so it gets this proxy's random stream (a copy of its
    # state): seeding, reset and clone of the proxy then reproduce the learner's draws.
    def seed(self, rng: Any) -> None:
        super().seed(rng)
        self._sync_learner()

    def _set_rng_state(self, state: Mapping[str, Any]) -> None:
        super()._set_rng_state(state)
        self._sync_learner()

    def _sync_learner(self) -> None:
        if self._rng_state is not None:
            gen = np.random.default_rng()
            gen.bit_generator.state = copy.deepcopy(self._rng_state)
            self.learner.seed(gen)

    @property
    def children(self) -> tuple[Strategy, ...]:
        return self.arms

    @property
    def params(self) -> dict[str, Any]:
        p = super().params
        if "arms" in p:
            p["arms"] = [a.label for a in self.arms]
        return p

    # ------------------------------------------------------------------ views
    @property
    def arm_labels(self) -> list[str]:
        return [a.label for a in self.arms]

    @property
    def probabilities(self) -> np.ndarray:
        """The learner's current mixed strategy over the arms."""
        return self.learner.probabilities

    @property
    def arm(self) -> int:
        """The index of this episode's arm (-1 before it is drawn)."""
        return self._k

    @property
    def current(self) -> ExchangeStrategy | None:
        """This episode's arm (None before it is drawn)."""
        return self.arms[self._k] if self._k >= 0 else None

    def played_strategy(self) -> ExchangeStrategy:
        """A fresh copy of the arm this episode was played with: what this bidder 'did' in
        a counterfactual where only another bidder changes."""
        if self._k < 0:
            raise StateError("learning_proxy: no arm has been played this episode")
        arm = self.arms[self._k].clone()
        assert isinstance(arm, ExchangeStrategy)
        return arm

    # ------------------------------------------------------------------ decision
    def _draw(self) -> None:
        # the learner "reports" θ·1 with θ on the index grid: the index of its arm
        x = self.learner.report(1.0, Observation(round=self.episodes, role="bidder", index=-1))
        k = int(round(float(x)))
        if not 0 <= k < len(self.arms):  # pragma: no cover - the grid is the index range
            raise StateError(f"learning_proxy: learner chose arm {x!r} outside 0..{len(self.arms) - 1}")
        self._k = k
        self._answered = False
        self.arms[k].reset()

    def decide(self, truth: np.ndarray, fb: FeedbackLike) -> tuple[np.ndarray, np.ndarray]:
        # one arm per run: drawn at the run's first query (round 0, no check yet), or at
        # the first query after update() if a run starts otherwise
        if self._k < 0 or (self._answered and fb.round == 0 and fb.queries == 0):
            self._draw()
        self._answered = True
        return self.arms[self._k].decide(truth, fb)

    # ------------------------------------------------------------------ learning
    def update(self, obs: Observation, utility: float) -> None:
        """The episode is over: learn from its outcome and draw a new arm next episode."""
        if self._k < 0:
            raise StateError("learning_proxy: update() before any query of the episode")
        u = float(utility)
        if not math.isfinite(u):
            raise ConfigError(f"learning_proxy: utility must be finite, got {utility!r}")
        k = self._k
        oracle = obs.oracle

        def by_index(x: Any) -> float:
            j = int(round(float(x)))
            return u if j == k else float(oracle(self.arms[j]))  # type: ignore[misc]

        inner = Observation(
            round=obs.round,
            role=obs.role,
            index=obs.index,
            oracle=by_index if oracle is not None else None,
            info=obs.info,
        )
        self.learner.update(inner, u)
        self.played.append(k)
        self.rewards.append(u)
        self.episodes += 1
        self._k = -1
