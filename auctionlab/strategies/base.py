"""Strategy base classes: pure decision objects, private type + observation -> report.

Axelrod's habits: one strategy is one small class with a ``name``, a
``classifier`` dict and ONE decision method, :meth:`Strategy.report`; ``clone()`` builds a
fresh instance from the saved init arguments and ``reset()`` returns an instance to its
initial internal state (learned weights *and* random stream). Deviations are
:class:`Wrapper` subclasses around a base strategy, so ``Scale(0.8, base=Noise(0.1))`` and
friends come for free.

Layering: this package never imports a mechanism. A strategy that needs counterfactuals
(best response, full-information learning) gets them from the market through
``Observation.oracle`` — ``utility_if(report) -> float`` for the current round, every
other agent's report held fixed. What the oracle and ``Observation.info`` contain is the
explicit statement of what an agent may know.

The types and reports are market-specific and opaque here: in the relay market a buyer's
type/report is a value vector over relays, shape (m,), and a seller's is a float; an
exchange bidder's will be a bid tree. Nothing in this module depends on which.
"""

from __future__ import annotations

import copy
import inspect
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, ClassVar

import numpy as np

from auctionlab.errors import ConfigError

_EMPTY: Mapping[str, Any] = MappingProxyType({})

Oracle = Callable[[Any], float]


@dataclass(slots=True)
class Observation:
    """What an agent sees when it reports (and, after clearing, when it learns). Read-only
    by convention (not frozen: one is built per agent per round, and frozen costs 4x).

    ``round`` is the model step, ``role``/``index`` the agent's place in the market.
    ``oracle`` (when the market grants one) maps a report to this agent's utility with
    every other report fixed. ``info`` holds market-specific public information; the
    relay market sets ``assigned`` (the relay phase 1 assigns to a buyer — it is
    bid-independent, hence public), ``candidates`` (report levels at which the outcome can
    change, offered to omniscient strategies) and, after clearing, ``won``/``payment``/
    ``buyer_price``/``seller_price``.
    """

    round: int
    role: str
    index: int
    oracle: Oracle | None = None
    info: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)

    @property
    def assigned(self) -> int:
        """The relay assigned to this buyer by phase 1 (−1 when none or not a relay buyer)."""
        return int(self.info.get("assigned", -1))

    def require_oracle(self, who: str) -> Oracle:
        if self.oracle is None:
            raise ConfigError(f"strategy {who!r} needs an oracle (utility_if) but the market gave none")
        return self.oracle


_SIGNATURES: dict[type, inspect.Signature] = {}


def _init_signature(cls: type) -> inspect.Signature:
    """``inspect.signature(cls.__init__)``, computed once per class (labels are read per agent)."""
    sig = _SIGNATURES.get(cls)
    if sig is None:
        sig = _SIGNATURES[cls] = inspect.signature(cls.__init__)  # type: ignore[misc]
    return sig


def _clone_value(v: Any) -> Any:
    """Strategies inside init arguments are cloned, everything else deep-copied."""
    if isinstance(v, Strategy):
        return v.clone()
    if isinstance(v, np.random.Generator):  # a fresh stream is set by clone() below
        return None
    return copy.deepcopy(v)


class Strategy:
    """Base class: override :meth:`report`; learners also override :meth:`update` and :meth:`_reset`.

    ``classifier`` keys: ``truthful`` (reports its type unchanged), ``deviation`` (name of
    the misreport family or None), ``stochastic`` (draws random numbers), ``learning``
    (changes with :meth:`update`), ``needs_oracle`` (calls ``obs.oracle``), ``role``
    (the market role it is written for — "buyer" or "seller" in the relay market, a
    market-specific name such as "bidder" elsewhere — or "any"). Instances may refine the
    class dict (a wrapper inherits flags from its base; ``Scale(1.0)`` is truthful).

    Randomness: a stochastic strategy draws only from ``self.rng``, a
    ``numpy.random.Generator`` given by ``rng=`` or :meth:`seed` (the market model seeds
    each strategy with its own Generator, seeded from a draw of ``model.rng``). An unseeded stochastic strategy
    uses ``default_rng(0)`` so that runs are always reproducible.
    """

    name: ClassVar[str] = "strategy"
    classifier: ClassVar[dict[str, Any]] = {
        "truthful": False,
        "deviation": None,
        "stochastic": False,
        "learning": False,
        "needs_oracle": False,
        "role": "any",
    }

    _init_args: tuple[Any, ...]
    _init_kwargs: dict[str, Any]
    _rng: np.random.Generator | None
    _rng_state: Mapping[str, Any] | None

    def __new__(cls, *args: Any, **kwargs: Any) -> Strategy:
        self = super().__new__(cls)
        self._init_args = args
        self._init_kwargs = dict(kwargs)
        self._rng = None
        self._rng_state = None
        return self

    # ------------------------------------------------------------------ the decision
    def report(self, true_type: Any, obs: Observation) -> Any:
        """The report this strategy submits given its private type. Must not mutate ``true_type``."""
        raise NotImplementedError

    def report_many(
        self, true_types: Any, observations: Sequence[Observation], members: Sequence[Strategy] | None = None
    ) -> Any:
        """The reports for ``k`` types at once: ``true_types`` is a (k, ...) array (or a
        sequence) of types, ``observations`` their k observations. Returns k reports
        (a list, or an array whose rows are the reports).

        ``members`` are the strategies of the k agents (one each; ``self`` among them or
        not) when they share this strategy's :meth:`batch_key`: each then draws from its
        own random stream, so the result is exactly
        ``[s.report(t, o) for s, t, o in zip(members, true_types, observations)]``.
        Without ``members``, every report is ``self``'s (k calls of :meth:`report` in order,
        drawing from ``self.rng``). This default is that loop; vectorised strategies
        override it with the same result.
        """
        if members is None:
            return [self.report(t, o) for t, o in zip(true_types, observations)]
        return [s.report(t, o) for s, t, o in zip(members, true_types, observations)]

    def batch_key(self) -> Hashable | None:
        """A key equal for strategies whose :meth:`report_many` may answer for one another
        (same class and parameters, no per-agent state but their random streams), or None
        (the default: asked one agent at a time). A class opts in by setting ``batch_exact
        = True`` in its own body (not inherited: a user subclass that changes the decision
        is never batched by its parent's rule) and implementing :meth:`_batch_params`.
        Learners and oracle users are never batched."""
        try:
            return self._batch_key
        except AttributeError:  # computed once: parameters do not change after construction
            pass
        key = None
        if type(self).__dict__.get("batch_exact", False) and not (self.flag("learning") or self.flag("needs_oracle")):
            key = self._batch_params()
        self._batch_key: Hashable | None = key
        return key

    def _batch_params(self) -> Hashable | None:
        """The parameters in the batch key (see :meth:`batch_key`)."""
        return None

    def update(self, obs: Observation, utility: float) -> None:
        """Learning hook, called after clearing with the realised ``utility``; no-op by default."""

    # ------------------------------------------------------------------ lifecycle
    def clone(self) -> Strategy:
        """A fresh instance from the saved init arguments (nested strategies cloned too),
        with the same initial random stream: it behaves as ``self`` does after :meth:`reset`."""
        new = type(self)(
            *(_clone_value(a) for a in self._init_args),
            **{k: _clone_value(v) for k, v in self._init_kwargs.items()},
        )
        if self._rng_state is not None:
            new._set_rng_state(self._rng_state)
        return new

    def reset(self) -> None:
        """Back to the initial internal state: learned state cleared, random stream rewound."""
        if self._rng_state is not None:
            self._set_rng_state(self._rng_state)
        self._reset()

    def _reset(self) -> None:
        """Subclass hook: clear learned or per-round state."""

    # ------------------------------------------------------------------ randomness
    @property
    def rng(self) -> np.random.Generator:
        if self._rng is None:  # never seeded: a fixed default stream (nested strategies untouched)
            self._set_rng_state(np.random.default_rng(0).bit_generator.state)
        return self._rng  # type: ignore[return-value]

    def seed(self, rng: Any) -> None:
        """Give this strategy (and any nested strategies) its own random stream.

        ``rng`` is a Generator (used as is, its current state becoming the "initial" one
        for :meth:`reset`) or anything ``numpy.random.default_rng`` accepts.
        """
        gen = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
        # Stochastic children are seeded from draws of this stream (not Generator.spawn,
        # whose result depends on how the parent was built), and the snapshot is taken
        # afterwards so a clone's own stream starts where the original's does.
        kids = [k for k in self.children if k.flag("stochastic")]
        if kids:
            for sub, s in zip(kids, gen.integers(0, 2**63, size=len(kids))):
                sub.seed(np.random.default_rng(int(s)))
        self._rng = gen
        self._rng_state = copy.deepcopy(gen.bit_generator.state)

    def _set_rng_state(self, state: Mapping[str, Any]) -> None:
        gen = np.random.default_rng()
        gen.bit_generator.state = copy.deepcopy(state)
        self._rng = gen
        self._rng_state = copy.deepcopy(state)

    @property
    def children(self) -> tuple[Strategy, ...]:
        """Nested strategies (a wrapper's base)."""
        return ()

    # ------------------------------------------------------------------ description
    @property
    def params(self) -> dict[str, Any]:
        """The init arguments with defaults filled in (``rng`` left out), nested strategies
        shown by their labels; sequence-valued defaults (long grids) appear only when given."""
        sig = _init_signature(type(self))
        try:
            bound = sig.bind(None, *self._init_args, **self._init_kwargs)
        except TypeError:
            return dict(self._init_kwargs)
        given = set(bound.arguments)
        bound.apply_defaults()
        out: dict[str, Any] = {}
        sig_params = sig.parameters
        for k, v in list(bound.arguments.items())[1:]:
            if sig_params[k].kind in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD):
                continue
            if k == "rng" or v is None or (k not in given and isinstance(v, (tuple, list, np.ndarray))):
                continue
            out[k] = v.label if isinstance(v, Strategy) else v
        return out

    @property
    def label(self) -> str:
        """A readable, deterministic description such as ``scale(theta=0.8)``."""
        parts = []
        for k, v in self.params.items():
            if isinstance(v, np.ndarray):
                v = np.round(v, 6).tolist()
            parts.append(f"{k}={v}")
        return f"{self.name}({', '.join(parts)})" if parts else self.name

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.label}>"

    def flag(self, key: str) -> Any:
        """A classifier entry, falling back to the base defaults for user classes that omit it."""
        c = self.classifier
        return c[key] if key in c else Strategy.classifier[key]


class Truthful(Strategy):
    """Report the private type unchanged — the benchmark every deviation is measured against."""

    name = "truthful"
    classifier = {**Strategy.classifier, "truthful": True}
    batch_exact = True

    def report(self, true_type: Any, obs: Observation) -> Any:
        return true_type

    def report_many(
        self, true_types: Any, observations: Sequence[Observation], members: Sequence[Strategy] | None = None
    ) -> Any:
        if type(self).report is not Truthful.report:  # a subclass that changes the decision
            return super().report_many(true_types, observations, members)
        return np.asarray(true_types, dtype=np.float64)  # the types themselves, as report() returns

    def _batch_params(self) -> Hashable:
        return (Truthful,)


def combine_roles(own: str, base: str, who: str) -> str:
    """The narrower of two role constraints; a buyer-only wrapper around a seller-only base is an error."""
    if own == "any":
        return base
    if base in ("any", own):
        return own
    raise ConfigError(f"{who}: a {own}-only deviation cannot wrap a {base}-only strategy")


class Wrapper(Strategy):
    """A deviation applied to the report of a ``base`` strategy (default :class:`Truthful`).

    Subclasses implement :meth:`transform` and :meth:`is_identity`; the instance
    classifier combines the wrapper's flags with its base's.
    """

    deviation: ClassVar[str | None] = None

    def __init__(self, base: Strategy | None = None) -> None:
        if base is None:
            base = Truthful()
        if not isinstance(base, Strategy):
            raise ConfigError(f"{self.name}: base must be a Strategy, got {type(base).__name__}")
        self.base = base
        cls = type(self).classifier
        identity = self.is_identity()
        self.classifier = {  # type: ignore[misc]  # a wrapper's classifier depends on its base
            "truthful": bool(base.flag("truthful") and identity),
            "deviation": base.flag("deviation") if identity else self.deviation,
            "stochastic": bool(cls["stochastic"] or base.flag("stochastic")),
            "learning": bool(cls["learning"] or base.flag("learning")),
            "needs_oracle": bool(cls["needs_oracle"] or base.flag("needs_oracle")),
            "role": combine_roles(cls["role"], base.flag("role"), self.name),
        }

    @property
    def children(self) -> tuple[Strategy, ...]:
        return (self.base,)

    def is_identity(self) -> bool:
        """Whether this wrapper leaves every report unchanged (e.g. ``Scale(1)``)."""
        return False

    def transform(self, report: Any, true_type: Any, obs: Observation) -> Any:
        raise NotImplementedError

    def report(self, true_type: Any, obs: Observation) -> Any:
        return self.transform(self.base.report(true_type, obs), true_type, obs)

    def transform_many(
        self,
        reports: np.ndarray,
        true_types: np.ndarray,
        observations: Sequence[Observation],
        members: Sequence[Strategy],
    ) -> Any:
        """:meth:`transform` on k base reports (rows of ``reports``) at once; ``members`` the
        k wrappers (for their random streams). Only called when :meth:`batch_key` is set."""
        raise NotImplementedError

    def report_many(
        self, true_types: Any, observations: Sequence[Observation], members: Sequence[Strategy] | None = None
    ) -> Any:
        if self.batch_key() is None:  # not exact as a batch: one report at a time
            return super().report_many(true_types, observations, members)
        types = np.asarray(true_types, dtype=np.float64)
        ms: Sequence[Strategy] = [self] * types.shape[0] if members is None else members
        # a deterministic base (same key: no per-agent state) answers for all; a stochastic
        # one needs each member's base for its stream
        bases = [s.base for s in ms] if members is not None and self.base.flag("stochastic") else None  # type: ignore[attr-defined]
        base_reports = np.asarray(self.base.report_many(types, observations, bases), dtype=np.float64)
        return self.transform_many(base_reports, types, observations, ms)

    def _batch_params(self) -> Hashable | None:
        base = self.base.batch_key()
        if base is None:
            return None
        return (type(self), self._own_batch_params(), base)

    def _own_batch_params(self) -> Hashable:
        """This wrapper's own parameters in its batch key."""
        return ()

    def update(self, obs: Observation, utility: float) -> None:
        self.base.update(obs, utility)

    def _reset(self) -> None:
        self.base.reset()

    @property
    def params(self) -> dict[str, Any]:
        p = super().params
        p.pop("base", None)
        if type(self.base) is not Truthful:  # the default base is not worth printing
            p["base"] = self.base.label
        return p
