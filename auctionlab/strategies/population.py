"""A population of strategies from a declarative spec, one instance per agent.

The spec forms (the relay market's ``population[role]`` and the exchange market's
``population`` use the same ones):

- a single spec (name, ``{"strategy": name, "params": {...}}`` mapping, or a Strategy):
  every agent gets a clone;
- a list of ``{"strategy": name, "params": {...}, "share": f}`` with shares summing to 1:
  counts by largest remainder, assigned in list order (agents 0.. get the first entry,
  and so on);
- a list of exactly ``size`` specs without shares: one per agent.

Every strategy is built (and so validated) before anything is returned: a bad entry
raises :class:`~auctionlab.errors.ConfigError` (``UnknownNameError`` for unknown names)
naming where it is.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from auctionlab.errors import ConfigError
from auctionlab.strategies.base import Strategy
from auctionlab.strategies.registry import strategy_from_spec

Build = Callable[[Any, str], Strategy]


def largest_remainder(shares: Sequence[float], size: int) -> list[int]:
    """Integer counts summing to ``size``, proportional to ``shares`` (ties: earlier entry)."""
    raw = [s * size for s in shares]
    counts = [math.floor(r) for r in raw]
    order = sorted(range(len(raw)), key=lambda k: (-(raw[k] - counts[k]), k))
    for k in order[: size - sum(counts)]:
        counts[k] += 1
    return counts


def population_list(spec: Any, size: int, where: str, build: Build | None = None) -> list[Strategy]:
    """``size`` strategy instances from one of the spec forms above.

    ``build(entry, where) -> Strategy`` makes (and may check, e.g. the role of) each
    distinct entry; default :func:`~auctionlab.strategies.registry.strategy_from_spec`.
    """
    make = build or (lambda e, _w: strategy_from_spec(e))
    if isinstance(spec, (str, Strategy)) or (isinstance(spec, Mapping) and "share" not in spec):
        proto = make(spec, where)
        return [proto.clone() for _ in range(size)]
    if isinstance(spec, Mapping):
        spec = [spec]
    if not isinstance(spec, Sequence):
        raise ConfigError(f"{where} must be a spec or a list of specs, got {type(spec).__name__}")
    entries = list(spec)
    with_share = [isinstance(e, Mapping) and "share" in e for e in entries]
    if entries and all(with_share):
        shares = []
        for k, e in enumerate(entries):
            try:
                f = float(e["share"])
            except (TypeError, ValueError):
                raise ConfigError(f"{where}[{k}]: share must be a number, got {e['share']!r}") from None
            if not (math.isfinite(f) and 0.0 <= f <= 1.0):
                raise ConfigError(f"{where}[{k}]: share must be in [0, 1], got {e['share']!r}")
            shares.append(f)
        if abs(sum(shares) - 1.0) > 1e-9:
            raise ConfigError(f"{where}: shares must sum to 1, got {sum(shares)!r}")
        protos = [make(e, f"{where}[{k}]") for k, e in enumerate(entries)]
        counts = largest_remainder(shares, size)
        return [p.clone() for p, c in zip(protos, counts) for _ in range(c)]
    if any(with_share):
        raise ConfigError(f"{where}: give a share for every entry or for none")
    if len(entries) != size:
        raise ConfigError(f"{where}: an explicit per-agent list needs exactly {size} entries, got {len(entries)}")
    return [make(e, f"{where}[{k}]") for k, e in enumerate(entries)]
