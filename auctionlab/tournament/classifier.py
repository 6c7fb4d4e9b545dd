"""The strategy registry by classifier: ``filtered_strategies(**classifier)`` and a catalog table.

Every registered strategy class carries a ``classifier`` dict (``truthful``, ``deviation``,
``stochastic``, ``learning``, ``needs_oracle``, ``role``). The catalog reads the classifier
of each strategy's default-parameter instance (a wrapper's instance flags combine its own
with its base's) and adds two derived keys: ``deterministic`` (not stochastic) and
``market`` (``"exchange"`` for ICE proxies, ``"relay"`` otherwise).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from auctionlab.errors import ConfigError
from auctionlab.strategies.base import Strategy
from auctionlab.strategies.exchange import ExchangeStrategy
from auctionlab.strategies.registry import STRATEGIES

__all__ = ["CLASSIFIER_KEYS", "classify", "filtered_strategies", "strategy_parameters"]

CLASSIFIER_KEYS = (*Strategy.classifier, "deterministic", "market")


def classify(name: str) -> dict[str, Any]:
    """The classifier of registered strategy ``name`` (default parameters), with the derived keys."""
    cls = STRATEGIES[name]
    try:
        flags = dict(cls().classifier)
    except Exception:  # noqa: BLE001 - a user class without defaults: its class-level dict
        flags = dict(cls.classifier)
    out = {k: flags.get(k, v) for k, v in Strategy.classifier.items()}
    out["deterministic"] = not out["stochastic"]
    out["market"] = "exchange" if issubclass(cls, ExchangeStrategy) else "relay"
    return out


def strategy_parameters(name: str) -> dict[str, Any]:
    """The constructor parameters of registered strategy ``name`` with their defaults
    (``inspect.Parameter.empty`` for required ones); ``rng`` is left out."""
    cls = STRATEGIES[name]
    if cls.__init__ is object.__init__:
        return {}
    params = inspect.signature(cls.__init__).parameters
    return {
        k: p.default
        for k, p in params.items()
        if k not in ("self", "rng") and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    }


def _matches(value: Any, want: Any) -> bool:
    if callable(want):
        return bool(want(value))
    if isinstance(want, (list, tuple, set, frozenset)):
        return value in want
    return value == want


def filtered_strategies(**classifier: Any) -> list[str]:
    """Registered strategy names whose classifier matches every keyword, in registry order.

    A keyword's value is matched by equality, by membership for a list/tuple/set
    (``role=("buyer", "any")``) or by calling it when callable (``deviation=lambda d: d is not None``).
    ``filtered_strategies(truthful=True, market="relay")`` → ``["truthful"]``.
    """
    unknown = sorted(set(classifier) - set(CLASSIFIER_KEYS))
    if unknown:
        raise ConfigError(f"unknown classifier key(s) {unknown}; known: {', '.join(CLASSIFIER_KEYS)}")
    out = []
    for name in STRATEGIES:
        flags = classify(name)
        if all(_matches(flags[k], v) for k, v in classifier.items()):
            out.append(name)
    return out


Predicate = Callable[[Any], bool]
