r"""Exchange (ICE) proxy strategies: how a bidder narrows its TBBL node bounds.

**Type and report.** An exchange bidder's private type is its true node values: one float
per node of its bid tree, in the tree's node order (an exact tree with the same
structure as the reported one). Each time the exchange queries the bidder's proxy, the
strategy reports new node bounds ``(lower, upper)``. The query's context arrives as
``obs.info["feedback"]``: the exchange's ``Feedback`` (duck-typed here — ``round``,
``final``, ``lower``, ``upper``, ``prices``, ``trade``, ``satisfied``, ``rp``, ``queries``,
``max_queries``, ``scale``, ``must_revise``); ``rp``, when present, is the last revealed-preference check of this
round, with ``passed`` and Lemma 2's node sets ``raise_lower`` = sat(L*) \ sat(U*) and
``lower_upper`` = sat(U*) \ sat(L*) (local node ids).

**The exchange's rules, which every strategy here respects.** Bounds only narrow (the
exchange rejects a falling lower or rising upper bound); at the first query of a round
``rp`` is None (no check yet); returning the bounds unchanged after a failed check means
"I give up this round" and the exchange applies the penalty of the activity rule (upper bounds fall to
max(node price, lower)) when the round closes.

**Targets.** A strategy that tracks a truth never moves a bound past it, and when a
penalty has already pushed an upper bound below the truth it tracks the truth *clipped
into the current bounds* (``np.clip(truth, lower, upper)``) — the closest value it may
still report.

**Layering.** This module never imports the exchange. The engine only needs an object
with ``revise(feedback) -> (lower, upper)``: :func:`bind` (or :class:`StrategyProxy`)
attaches a strategy to one bidder's truth for use with ``IterativeExchange.bid`` /
``run_ice`` outside Mesa, and the Mesa agent (:class:`auctionlab.agents.exchange.ExchangeBidder`)
does the same inside the market model. :class:`StraightforwardProxy` and
:class:`EagerProxy` are the bound straightforward and eager strategies.

Strategies: :class:`Straightforward` (the paper's bidder: truthful, reveals only what the
activity rule requires), :class:`Eager` (an extension: reveals ρ of every gap each
round), :class:`Lazy`, :class:`Stubborn`, and the wrappers :class:`Misreport` (any
truth-tracking base around a lie) and :class:`LateRevealer` (its base until the
last-and-final round, then the truth).
"""

from __future__ import annotations

from typing import Any, ClassVar, Protocol

import numpy as np

from auctionlab.errors import ConfigError, InternalError, InvalidInputError
from auctionlab.strategies._checks import check_finite
from auctionlab.strategies.base import Observation, Strategy, Wrapper

__all__ = [
    "Eager",
    "EagerProxy",
    "ExchangeStrategy",
    "ExchangeWrapper",
    "LateRevealer",
    "Lazy",
    "Misreport",
    "Straightforward",
    "StraightforwardProxy",
    "StrategyProxy",
    "Stubborn",
    "bind",
    "check_truth",
    "clip_target",
    "exchange_observation",
    "feedback_scale",
    "narrow",
]

Bounds = tuple[np.ndarray, np.ndarray]


class RPLike(Protocol):
    # read-only members, so that frozen dataclasses satisfy the protocol
    @property
    def passed(self) -> bool: ...
    @property
    def raise_lower(self) -> np.ndarray: ...
    @property
    def lower_upper(self) -> np.ndarray: ...


class FeedbackLike(Protocol):
    """What the exchange's ``Feedback`` offers (see :mod:`auctionlab.mechanisms.exchange.proxies`)."""

    @property
    def round(self) -> int: ...
    @property
    def final(self) -> bool: ...
    @property
    def lower(self) -> np.ndarray: ...
    @property
    def upper(self) -> np.ndarray: ...
    @property
    def satisfied(self) -> np.ndarray | None: ...
    @property
    def rp(self) -> RPLike | None: ...
    @property
    def queries(self) -> int: ...

    @property
    def must_revise(self) -> bool: ...


# ---------------------------------------------------------------------- the one narrowing rule
def narrow(
    lower: np.ndarray,
    upper: np.ndarray,
    target: np.ndarray,
    nodes: Any,
    step: float,
    *,
    which: str = "both",
    snap: float = 1e-6,
    full: bool = False,
    scale: float = 1.0,
) -> Bounds:
    """New bounds that close a fraction ``step`` of the gap to ``target`` on ``nodes``.

    ``which`` is ``"both"``, ``"lower"`` or ``"upper"``. A new value within
    ``snap·(scale + |target|)`` of the target snaps onto it (so geometric narrowing ends in
    finitely many queries); ``scale`` is the unit of the values (the exchange's
    ``Feedback.scale``: 1 at ordinary magnitudes), so snapping is the same at any unit.
    ``full=True`` moves straight to the target. ``target`` must lie within the bounds
    (callers clip), so bounds only narrow. Returns copies.
    """
    lo, hi = np.array(lower, dtype=float), np.array(upper, dtype=float)
    idx = np.asarray(nodes, dtype=np.intp)
    if idx.size == 0:
        return lo, hi
    t = target[idx]
    arrs = {"both": (lo, hi), "lower": (lo,), "upper": (hi,)}[which]
    for arr in arrs:
        new = t if full else arr[idx] + step * (t - arr[idx])
        close = np.abs(new - t) <= snap * (scale + np.abs(t))
        arr[idx] = np.where(close, t, new)
    return lo, hi


def feedback_scale(fb: Any) -> float:
    """The unit of the exchange's values (``Feedback.scale``; 1 when the feedback has none)."""
    return float(getattr(fb, "scale", 1.0))


def _failed_check(fb: FeedbackLike) -> RPLike:
    """The failed activity check of feedback that asks for a revision."""
    if fb.rp is None:
        raise InternalError("the feedback asks for a revision but carries no activity-check result")
    return fb.rp


def clip_target(truth: np.ndarray, fb: FeedbackLike) -> np.ndarray:
    """The truth clipped into the current bounds: what a truth-tracking bidder may still report."""
    return np.clip(truth, fb.lower, fb.upper)


def exchange_observation(feedback: FeedbackLike, index: int, bidder: str | None = None) -> Observation:
    """The observation an exchange strategy receives at one query (shared by proxies and agents)."""
    info: dict[str, Any] = {"feedback": feedback}
    if bidder is not None:
        info["bidder"] = bidder
    return Observation(round=int(feedback.round), role="bidder", index=int(index), info=info)


def _check_step(step: Any, who: str) -> float:
    v = check_finite(step, "step", who)
    if not 0.0 < v <= 1.0:
        raise ConfigError(f"{who}: step must be in (0, 1], got {step!r}")
    return v


def _check_count(x: Any, name: str, who: str, *, lo: int) -> int:
    if isinstance(x, bool) or not isinstance(x, (int, np.integer)) or x < lo:
        raise ConfigError(f"{who}: {name} must be an integer >= {lo}, got {x!r}")
    return int(x)


def _check_choice(x: Any, name: str, choices: tuple[str, ...], who: str) -> str:
    if x not in choices:
        raise ConfigError(f"{who}: {name} must be one of {choices}, got {x!r}")
    return x


# ---------------------------------------------------------------------- base classes
class ExchangeStrategy(Strategy):
    """Base of exchange proxy strategies: implement :meth:`decide`.

    :meth:`report` unpacks ``obs.info["feedback"]``, checks that the true type has one
    value per node of the bidder's tree, and returns ``decide(truth, feedback)``.
    """

    name: ClassVar[str] = "exchange_strategy"
    classifier: ClassVar[dict[str, Any]] = {**Strategy.classifier, "role": "bidder"}
    stationary: ClassVar[bool] = False
    """Whether every answer depends only on the truth and the feedback — not on the round
    number (beyond round 0 or later), on earlier queries, on what it learned or on chance.
    The exchange stops a run whose state repeats only when every proxy is stationary
    (``IterativeExchange(stop_on_stall=...)``); a subclass of a stationary strategy that
    reads the round or keeps state must set it to False."""

    def report(self, true_type: Any, obs: Observation) -> Bounds:
        fb = obs.info.get("feedback") if obs.info is not None else None
        if fb is None:
            raise ConfigError(f"{self.name}: an exchange strategy needs obs.info['feedback'] (the exchange's Feedback)")
        truth = np.asarray(true_type, dtype=float)
        if truth.shape != np.shape(fb.lower):
            raise InvalidInputError(
                f"{self.name}: the true type has {truth.size} node values, the bid tree {np.size(fb.lower)} nodes"
            )
        return self.decide(truth, fb)

    def decide(self, truth: np.ndarray, fb: FeedbackLike) -> Bounds:
        """New ``(lower, upper)`` given the true node values and the feedback."""
        raise NotImplementedError


class ExchangeWrapper(ExchangeStrategy, Wrapper):
    """A deviation around a base exchange strategy (default :class:`Straightforward`)."""

    classifier: ClassVar[dict[str, Any]] = {**Strategy.classifier, "role": "bidder"}
    base: ExchangeStrategy  # checked in __init__

    def __init__(self, base: Strategy | None = None) -> None:
        if base is None:
            base = self.default_base()
        if not isinstance(base, ExchangeStrategy):
            raise ConfigError(f"{self.name}: base must be an exchange strategy, got {type(base).__name__}")
        Wrapper.__init__(self, base)

    @staticmethod
    def default_base() -> ExchangeStrategy:
        return Straightforward()

    @property
    def stationary(self) -> bool:  # type: ignore[override]  # a deterministic wrapper is as stationary as its base
        return bool(getattr(self.base, "stationary", False))

    @property
    def params(self) -> dict[str, Any]:
        p = Strategy.params.fget(self)  # type: ignore[attr-defined]
        p.pop("base", None)
        if self.base.label != self.default_base().label:  # the default base is not worth printing
            p["base"] = self.base.label
        return p


# ---------------------------------------------------------------------- strategies
class Straightforward(ExchangeStrategy):
    r"""The paper's straightforward bidder: keeps its true value inside its bounds and
    reveals only what the activity rule requires.

    It never narrows on its own. When a revealed-preference check fails it moves toward
    the truth on the nodes the feedback names, sat(L*) Δ sat(U*), closing a fraction
    ``step`` (ρ ∈ (0, 1]) of the remaining gap on *both* bounds. Lemma 2 names only lower
    bounds on sat(L*) \ sat(U*) and upper bounds on sat(U*) \ sat(L*), and those moves
    need not be enough: with XOR(+A = 5, +B ∈ [0, 10]) at prices 3 each and a true value 9
    for B, lowering B's upper bound to 9 still fails (π*_l = 2 < π*_u = 6), while raising
    B's *lower* bound to 5 — which makes B the candidate — passes. Moving both bounds of
    the named nodes toward the truth covers both cases.

    A passing move that keeps the truth inside the bounds always exists (the truth on
    every named node), and this bidder always reaches one before the exchange's query
    limit: gaps below ``snap`` (relative to the exchange's value unit) snap to the truth,
    and after ``snap_after`` failed checks in one round — or as soon as the queries left
    (``Feedback.max_queries``) are no more than the nodes whose bounds still differ — the
    named nodes go straight to the truth. A check that fails names at least one such node
    (if every named node were exact, π*_u would be a lower-bound surplus, at most π*_l),
    so each such answer fixes at least one more node and the check passes in at most as
    many queries as there are nodes. It is therefore never penalised, and a penalty is
    the only thing that could push an upper bound below the truth. If one has anyway
    (a round given up by a wrapper, a lie tracked as the truth), it targets the truth
    clipped into its bounds.

    ``reveal`` (default ``"rp"``, the paper's bidder) adds revelation of its own at the
    first query of every round after round 0 — extensions, not the paper's bidder:

    - ``"provisional"``: close a fraction ρ of both gaps on the nodes its provisional
      trade satisfies (a provisional trader refines what it trades);
    - ``"all"``: close a fraction ρ of both gaps on every node (the :class:`Eager` bidder).

    With the paper's bidder the bounds of bidders who pass RP while losing never narrow,
    so the Threshold payments at the upper and lower bounds (αthresh) can stall short of
    the cutoff and the run end at ``max_rounds``: the activity rule constrains relative
    preferences, while the payments depend on absolute values. In the last-and-final round
    ``final="truth"`` reveals the true values (that round's trade and Threshold payments
    are computed at the lower bounds); ``final="rp"`` (default) keeps bidding as before, so
    the final trade measures what the iterative process itself achieved.
    """

    name = "straightforward"
    classifier = {**ExchangeStrategy.classifier, "truthful": True}
    stationary = True  # reads the round number only as round 0 or later
    REVEAL: ClassVar[tuple[str, ...]] = ("rp", "provisional", "all")
    FINAL: ClassVar[tuple[str, ...]] = ("rp", "truth")

    def __init__(
        self, step: float = 0.5, reveal: str = "rp", final: str = "rp", snap: float = 1e-6, snap_after: int = 20
    ) -> None:
        self.step = _check_step(step, self.name)
        self.reveal = _check_choice(reveal, "reveal", self.REVEAL, self.name)
        self.final = _check_choice(final, "final", self.FINAL, self.name)
        self.snap = check_finite(snap, "snap", self.name, lo=0.0)
        self.snap_after = _check_count(snap_after, "snap_after", self.name, lo=1)

    def full_now(self, fb: FeedbackLike) -> bool:
        """Whether this answer moves the named nodes straight to the truth: after
        ``snap_after`` failed checks this round, or when the queries left could not
        otherwise be enough to fix every node that is not exact yet."""
        if fb.queries >= self.snap_after:
            return True
        limit = getattr(fb, "max_queries", None)
        if limit is None:
            return False
        open_nodes = int(np.count_nonzero(np.asarray(fb.lower) != np.asarray(fb.upper)))
        return limit - fb.queries <= open_nodes

    def narrow(self, fb: FeedbackLike, target: np.ndarray, nodes: Any, which: str = "both") -> Bounds:
        """:func:`narrow` with this strategy's ρ and snapping (straight to the target when
        :meth:`full_now`)."""
        return narrow(
            fb.lower,
            fb.upper,
            target,
            nodes,
            self.step,
            which=which,
            snap=self.snap,
            full=self.full_now(fb),
            scale=feedback_scale(fb),
        )

    def named(self, fb: FeedbackLike) -> np.ndarray:
        """sat(L*) Δ sat(U*): every node Lemma 2 names, on either side."""
        rp = _failed_check(fb)
        return np.union1d(rp.raise_lower, rp.lower_upper)

    def decide(self, truth: np.ndarray, fb: FeedbackLike) -> Bounds:
        target = clip_target(truth, fb)
        if fb.final and self.final == "truth":
            return target, target.copy()
        if fb.must_revise:
            return self.narrow(fb, target, self.named(fb))
        if fb.queries == 0 and fb.round > 0:
            if self.reveal == "all":
                return self.narrow(fb, target, np.arange(truth.size))
            if self.reveal == "provisional" and fb.satisfied is not None:
                return self.narrow(fb, target, np.flatnonzero(fb.satisfied))
        return fb.lower, fb.upper


class Eager(Straightforward):
    r"""An extension, not the paper's bidder: reveals ρ of every gap each round.

    At the first query of every round after round 0 it closes a fraction ``step`` (ρ) of
    both gaps to the truth on *every* node, whatever the activity rule asks; when a check
    fails it answers like :class:`Straightforward` (both bounds of sat(L*) Δ sat(U*)
    toward the truth, straight to it after ``snap_after`` failed checks). Its bounds
    shrink geometrically, so αeff and αthresh converge and runs close by the cutoffs;
    rounds, the effect of ρ and payment accuracy measured with it describe this bidder,
    not the paper's. ``Eager()`` is ``Straightforward(reveal="all")``, the project's
    default bidder before the paper's bidder became the reference, and bids exactly as
    that one did.
    """

    name = "eager"

    def __init__(
        self, step: float = 0.5, reveal: str = "all", final: str = "rp", snap: float = 1e-6, snap_after: int = 20
    ) -> None:
        super().__init__(step, reveal=reveal, final=final, snap=snap, snap_after=snap_after)

    def full_now(self, fb: FeedbackLike) -> bool:
        """After ``snap_after`` failed checks this round (the query limit is not consulted,
        as before)."""
        return fb.queries >= self.snap_after


class Lazy(Straightforward):
    r"""Narrows only the minimum the feedback demands, and only when a check fails.

    No revelation of its own (``reveal="rp"``). On a failed check it moves exactly the
    bounds Lemma 2 names, each a fraction ρ toward the (clipped) truth: it raises the lower
    bounds on sat(L*) \ sat(U*) and lowers the upper bounds on sat(U*) \ sat(L*).

    Lemma 2's moves need not suffice for a bidder whose bounds must keep containing its
    truth: when the truth strictly prefers the witness U* to the candidate L*, those moves
    stop at the truth with the check still failing (π*_l < π*_u at exact values on the
    named nodes). Lazy then falls back — as soon as a lazy move changes nothing, or after
    ``patience`` lazy answers in one round (counted by the round's failed checks):

    - ``fallback="narrow"`` (default): the straightforward move — both bounds on
      sat(L*) Δ sat(U*) toward the truth (raising lower bounds on sat(U*) \ sat(L*) makes
      U* the candidate), with ``snap_after`` as in :class:`Straightforward`. The bidder
      stays consistent with its truth and, eventually, passes.
    - ``fallback="penalty"``: give up this round (bounds unchanged) and take the penalty.

    ``patience=0`` makes every answer a fallback answer (with ``"narrow"`` it answers as
    :class:`Straightforward` does, except that only ``snap_after``, not the query limit,
    sends the named nodes straight to the truth).
    """

    name = "lazy"
    classifier = {**ExchangeStrategy.classifier, "deviation": "lazy"}
    FALLBACK: ClassVar[tuple[str, ...]] = ("narrow", "penalty")

    def __init__(
        self,
        step: float = 0.5,
        patience: int = 5,
        fallback: str = "narrow",
        final: str = "rp",
        snap: float = 1e-6,
        snap_after: int = 20,
    ) -> None:
        super().__init__(step, reveal="rp", final=final, snap=snap, snap_after=snap_after)
        self.patience = _check_count(patience, "patience", self.name, lo=0)
        self.fallback = _check_choice(fallback, "fallback", self.FALLBACK, self.name)

    def full_now(self, fb: FeedbackLike) -> bool:
        """After ``snap_after`` failed checks this round (the query limit is not consulted)."""
        return fb.queries >= self.snap_after

    def decide(self, truth: np.ndarray, fb: FeedbackLike) -> Bounds:
        target = clip_target(truth, fb)
        if fb.final and self.final == "truth":
            return target, target.copy()
        if not fb.must_revise:
            return fb.lower, fb.upper
        if fb.queries <= self.patience:
            rp = _failed_check(fb)
            lo, hi = self.narrow(fb, target, rp.raise_lower, "lower")
            lo, hi = narrow(
                lo,
                hi,
                target,
                rp.lower_upper,
                self.step,
                which="upper",
                snap=self.snap,
                full=self.full_now(fb),
                scale=feedback_scale(fb),
            )
            if not (np.array_equal(lo, fb.lower) and np.array_equal(hi, fb.upper)):
                return lo, hi
        if self.fallback == "penalty":
            return fb.lower, fb.upper
        return self.narrow(fb, target, self.named(fb))


class Stubborn(ExchangeStrategy):
    """Never narrows: keeps its initial bounds and takes the penalty whenever a check fails
    (so its upper bounds fall to the node prices, and nothing else changes them)."""

    name = "stubborn"
    classifier = {**ExchangeStrategy.classifier, "deviation": "stubborn"}
    stationary = True

    def decide(self, truth: np.ndarray, fb: FeedbackLike) -> Bounds:
        return fb.lower, fb.upper


class Misreport(ExchangeWrapper):
    """Bid as ``base`` would for a *transformed* true tree (default base: :class:`Straightforward`).

    The lie, node by node, with strength s ∈ [0, 1]:

    - v > 0 (a value for buying, or a bonus) becomes (1 − s)·v — buyers shade;
    - v < 0 (a cost of selling) becomes (1 + s)·v — sellers inflate their costs;
    - v = 0 stays 0.

    ``sides`` restricts it to ``"buy"`` (positive values only) or ``"sell"`` (negative values
    only); ``"both"`` (default) transforms both, which is what a trader (mixed signs) does
    and, for a pure buyer or seller, the same as its own side. Every node value moves
    toward less surplus, so the lie's value of any trade is at most the truth's: the
    misreporter claims to gain less from buying and to lose more from selling. The base
    strategy clips the lie into the current bounds like any truth it tracks: a lie outside
    the initial bounds is reported at the nearest bound, never outside it.
    """

    name = "misreport"
    deviation = "misreport"
    SIDES: ClassVar[tuple[str, ...]] = ("both", "buy", "sell")

    def __init__(self, strength: float = 0.2, sides: str = "both", base: Strategy | None = None) -> None:
        self.strength = check_finite(strength, "strength", self.name, lo=0.0)
        if self.strength > 1.0:
            raise ConfigError(f"{self.name}: strength must be in [0, 1], got {strength!r}")
        self.sides = _check_choice(sides, "sides", self.SIDES, self.name)
        super().__init__(base)

    def is_identity(self) -> bool:
        return self.strength == 0.0

    def lie(self, truth: np.ndarray) -> np.ndarray:
        """The transformed node values (a new array)."""
        v = np.asarray(truth, dtype=float)
        out = v.copy()
        s = self.strength
        if self.sides in ("both", "buy"):
            out = np.where(v > 0, (1.0 - s) * v, out)
        if self.sides in ("both", "sell"):
            out = np.where(v < 0, (1.0 + s) * v, out)
        return out

    def decide(self, truth: np.ndarray, fb: FeedbackLike) -> Bounds:
        return self.base.decide(self.lie(truth), fb)


class LateRevealer(ExchangeWrapper):
    """Stays wide until the last-and-final round, then reveals its truth.

    Before the final round it answers as ``base`` does — by default :class:`Lazy`, i.e.
    only what the activity rule demands, falling back to the straightforward move when
    Lemma 2's moves run out, so it avoids the penalty; with ``base=Stubborn()`` it answers
    nothing and takes every penalty. In the last-and-final round it reports its true
    values clipped into its bounds (lower = upper), which always passes the check (exact
    values do) — the final trade and Threshold payments are computed at those values.
    """

    name = "late_revealer"
    deviation = "late_revealer"

    def __init__(self, base: Strategy | None = None) -> None:
        super().__init__(base)

    @staticmethod
    def default_base() -> ExchangeStrategy:
        return Lazy()

    def decide(self, truth: np.ndarray, fb: FeedbackLike) -> Bounds:
        if fb.final:
            target = clip_target(truth, fb)
            return target, target.copy()
        return self.base.decide(truth, fb)


# ---------------------------------------------------------------------- binding to a bidder
class StrategyProxy:
    """An exchange strategy bound to one bidder's true node values: the object the engine
    calls (``revise(feedback) -> (lower, upper)``), for ``IterativeExchange.bid`` /
    ``run_ice`` outside Mesa. The strategy is used as given (not cloned)."""

    def __init__(self, strategy: Strategy, truth: Any, *, index: int = 0, bidder: str | None = None) -> None:
        if not isinstance(strategy, ExchangeStrategy):
            raise ConfigError(
                f"an exchange proxy needs an exchange strategy (role 'bidder'), got {getattr(strategy, 'label', strategy)!r}"
            )
        self.truth = check_truth(truth)
        self.strategy = strategy
        self.index = int(index)
        self.bidder = bidder

    @property
    def name(self) -> str:
        return self.strategy.name

    @property
    def classifier(self) -> dict[str, Any]:
        return self.strategy.classifier

    @property
    def stationary(self) -> bool:
        """The strategy's :attr:`ExchangeStrategy.stationary` (what stall detection reads)."""
        return bool(getattr(self.strategy, "stationary", False))

    def revise(self, feedback: FeedbackLike) -> Bounds:
        return self.strategy.report(self.truth, exchange_observation(feedback, self.index, self.bidder))

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.strategy.label}>"


def check_truth(truth: Any) -> np.ndarray:
    """True node values as a read-only 1-D float array (InvalidInputError if not finite)."""
    try:
        t = np.array(truth, dtype=float)
    except (TypeError, ValueError):
        raise InvalidInputError(f"true node values must be numbers, got {truth!r}") from None
    if t.ndim != 1:
        raise InvalidInputError(f"true node values must be a 1-D array (one per node), got shape {t.shape}")
    if not np.all(np.isfinite(t)):
        raise InvalidInputError("true node values must be finite")
    t.flags.writeable = False
    return t


def bind(strategy: Strategy, truth: Any, *, index: int = 0, bidder: str | None = None) -> StrategyProxy:
    """``strategy`` acting for a bidder whose true node values are ``truth``."""
    return StrategyProxy(strategy, truth, index=index, bidder=bidder)


class StraightforwardProxy(StrategyProxy):
    """The bound :class:`Straightforward` strategy (the paper's bidder):
    ``StraightforwardProxy(truth, step=ρ, reveal=..., final=..., snap=..., snap_after=...)``."""

    def __init__(
        self,
        truth: Any,
        step: float = 0.5,
        *,
        reveal: str = "rp",
        final: str = "rp",
        snap: float = 1e-6,
        snap_after: int = 20,
    ) -> None:
        super().__init__(Straightforward(step, reveal=reveal, final=final, snap=snap, snap_after=snap_after), truth)


class EagerProxy(StrategyProxy):
    """The bound :class:`Eager` strategy (an extension: reveals ρ of every gap each round):
    ``EagerProxy(truth, step=ρ, final=..., snap=..., snap_after=...)``."""

    def __init__(
        self, truth: Any, step: float = 0.5, *, final: str = "rp", snap: float = 1e-6, snap_after: int = 20
    ) -> None:
        super().__init__(Eager(step, final=final, snap=snap, snap_after=snap_after), truth)
