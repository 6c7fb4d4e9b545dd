"""Strategies by name, so experiment configs never ``eval`` anything.

``make_strategy("scale", theta=0.8)`` or, nested, ``make_strategy("own_relay_only",
base={"strategy": "scale", "params": {"theta": 0.8}})``. Unknown names raise
:class:`~auctionlab.errors.UnknownNameError`; unknown or invalid parameters raise
:class:`~auctionlab.errors.ConfigError` naming the strategy and what it accepts.
Users add their own classes with ``STRATEGIES.register("name", cls)``.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any

from auctionlab.errors import ConfigError
from auctionlab.registry import Registry
from auctionlab.strategies.base import Strategy, Truthful
from auctionlab.strategies.exchange import Eager, LateRevealer, Lazy, Misreport, Straightforward, Stubborn
from auctionlab.strategies.exchange_learning import LearningProxy
from auctionlab.strategies.learning import EXP3, FictitiousPlay, Hedge
from auctionlab.strategies.relay import BestResponse, DropRelays, Noise, OthersOnly, OwnRelayOnly, Scale, Shift

STRATEGIES: Registry[type[Strategy]] = Registry(
    "strategy",
    {
        cls.name: cls
        for cls in (
            Truthful,
            Scale,
            Shift,
            Noise,
            DropRelays,
            OwnRelayOnly,
            OthersOnly,
            BestResponse,
            Hedge,
            EXP3,
            FictitiousPlay,
            Straightforward,
            Eager,
            Misreport,
            Lazy,
            Stubborn,
            LateRevealer,
            LearningProxy,
        )
    },
)

StrategySpec = str | Mapping[str, Any] | Strategy


def make_strategy(name: str, **params: Any) -> Strategy:
    """A new strategy instance from its registered name and keyword parameters.

    A ``base`` parameter may itself be a spec (name, ``{"strategy": ..., "params": ...}``
    mapping, or a Strategy instance, which is cloned).
    """
    if not isinstance(name, str):
        raise ConfigError(f"strategy name must be a string, got {name!r}")
    cls = STRATEGIES[name]
    if cls.__init__ is object.__init__:  # no __init__ of its own: no parameters
        sig = inspect.Signature([inspect.Parameter("self", inspect.Parameter.POSITIONAL_ONLY)])
    else:
        try:
            sig = inspect.signature(cls.__init__)
        except (TypeError, ValueError):  # builtins/odd callables: let the constructor decide
            sig = None
    if sig is not None and not any(p.kind is p.VAR_KEYWORD for p in sig.parameters.values()):
        accepted = [p for p in sig.parameters if p != "self"]
        unknown = sorted(set(params) - set(accepted))
        if unknown:
            raise ConfigError(f"strategy {name!r} got unknown parameter(s) {unknown}; accepted: {accepted or 'none'}")
    if "base" in params and params["base"] is not None:
        params = {**params, "base": strategy_from_spec(params["base"])}
    try:
        return cls(**params)
    except TypeError as exc:
        raise ConfigError(f"strategy {name!r}: {exc}") from None


def strategy_from_spec(spec: StrategySpec) -> Strategy:
    """A Strategy from a name, a ``{"strategy": name, "params": {...}}`` mapping, or an instance (cloned)."""
    if isinstance(spec, Strategy):
        return spec.clone()
    if isinstance(spec, str):
        return make_strategy(spec)
    if isinstance(spec, Mapping):
        extra = set(spec) - {"strategy", "params", "share"}
        if "strategy" not in spec or extra:
            raise ConfigError(
                f"a strategy spec needs a 'strategy' key and optionally 'params' (and 'share' in a "
                f"population); got keys {sorted(spec)}"
            )
        params = spec.get("params") or {}
        if not isinstance(params, Mapping):
            raise ConfigError(f"strategy params must be a mapping, got {type(params).__name__}")
        return make_strategy(spec["strategy"], **params)
    raise ConfigError(f"cannot build a strategy from {type(spec).__name__}: {spec!r}")


__import__("auctionlab.strategies.affine", fromlist=["register"]).register(STRATEGIES)  # affine, affine_learner
