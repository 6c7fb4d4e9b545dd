"""Run kinds: what one run of an experiment computes.

A run kind is a function ``fn(params, seed) -> RunOutput`` plus the parameter names it
accepts (with defaults), a checker that rejects bad values before any work starts, and the
metric columns it can produce. ``seed`` is the run's ``numpy.random.SeedSequence``; the
function must draw all its randomness from it (no global NumPy state), so a run is a pure
function of (params, seed) and can be replayed alone.

Built-in kinds (see ``auctionlab list --kinds``):

- ``tasc``: one random relay network per run, every assignment algorithm × phase-2 rule ×
  Vmax level on it (:mod:`.relay_runs`); the paper's Fig. 9–11.
- ``tasc-truthfulness``: one network per run, utility of a random buyer and seller as a
  function of its own report (Fig. 8).
- ``relay-market``: the Mesa :class:`~auctionlab.models.relay.RelayMarket` for some
  steps (strategic populations, learning).
- ``ice``: one generated exchange run through ICE with straightforward proxies.

Users add their own with ``RUN_KINDS.register("name", RunKind(...))`` or point a spec's
``model`` at ``"package.module:function"`` (a plain function is wrapped with no parameter
checks and any metrics). A name registered at run time exists only in processes that ran
the registration (forked local workers do; Dask workers and spawned processes do not), so
for clusters prefer ``"package.module:function"`` or register in a module's import.
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from auctionlab.errors import ConfigError, UnknownNameError
from auctionlab.experiments.params import Params
from auctionlab.registry import Registry


@dataclass
class RunOutput:
    """What one run produced: rows of the ``runs`` table (one per variant evaluated on the
    run's instance) and optional ``agents`` / ``rounds`` tables. The runner adds the id
    columns (run_id, point, replication, seed, grid values)."""

    runs: list[dict[str, Any]]
    agents: pd.DataFrame | None = None
    rounds: pd.DataFrame | None = None


@dataclass(frozen=True, eq=False)
class RunKind:
    """A run function with its parameter schema and metric columns.

    ``params`` (a :class:`~auctionlab.experiments.params.Params` dataclass) is the schema,
    defaults and validation in one; when it is given, ``defaults`` is derived from it and
    every run's parameters are checked by constructing it. ``defaults`` + ``checker`` is the
    older, untyped form (still accepted for users' kinds).
    """

    name: str
    fn: Callable[[dict[str, Any], np.random.SeedSequence], RunOutput]
    defaults: Mapping[str, Any] | None = None  # None = accept any parameters
    checker: Callable[[dict[str, Any]], None] | None = None
    metrics: tuple[str, ...] | None = None  # None = any columns
    id_columns: tuple[str, ...] = ()  # always kept in the runs table
    description: str = ""
    chunk: int = 10  # default runs per task
    extra: dict[str, Any] = field(default_factory=dict)
    params: type[Params] | None = None
    timing: Callable[[Mapping[str, Any]], bool] | None = None
    """Which runs measure running time: a predicate on a run's full parameters (None = none
    do). A spec with a timing run is executed by the runner one run at a time in its own
    process, with no worker computing beside it, whatever executor it was given: times
    taken while other runs share the cores measure the load, not the algorithm."""

    def __post_init__(self) -> None:
        if self.params is not None:
            if self.defaults is not None:
                raise ConfigError(f"run kind {self.name!r}: give params or defaults, not both")
            object.__setattr__(self, "defaults", self.params.defaults())

    def full_params(self, params: Mapping[str, Any]) -> dict[str, Any]:
        return dict(params) if self.defaults is None else {**self.defaults, **params}

    def is_timing(self, params: Mapping[str, Any]) -> bool:
        """Whether the run with these parameters measures running time (see ``timing``)."""
        return self.timing is not None and bool(self.timing(self.full_params(params)))

    def check(self, params: Mapping[str, Any]) -> None:
        """Reject unknown parameter names and bad values (raises ConfigError)."""
        if self.defaults is not None:
            unknown = sorted(set(params) - set(self.defaults))
            if unknown:
                raise ConfigError(
                    f"unknown parameter(s) {unknown} for model {self.name!r}; accepted: {', '.join(self.defaults)}"
                )
        if self.params is not None:
            self.params.from_mapping(self.full_params(params), where=f" for {self.name!r}")
        if self.checker is not None:
            self.checker(self.full_params(params))

    def __call__(self, params: Mapping[str, Any], seed: np.random.SeedSequence) -> RunOutput:
        out = self.fn(self.full_params(params), seed)
        if isinstance(out, Mapping):  # a plain function may return one row
            out = RunOutput(runs=[dict(out)])
        if not isinstance(out, RunOutput):
            raise ConfigError(f"model {self.name!r} must return a RunOutput or a mapping, got {type(out).__name__}")
        return out


def _load_builtin_studies() -> None:
    # The built-in kinds are declared by the studies (auctionlab.studies, one layer up), in
    # one explicit list there; reading RUN_KINDS loads them once.
    import auctionlab.studies  # noqa: F401


RUN_KINDS: Registry[RunKind] = Registry("run kind", loader=_load_builtin_studies)


def resolve_kind(model: Any) -> RunKind:
    """A RunKind from a registered name, ``"module:function"``, a RunKind or a callable."""
    if isinstance(model, RunKind):
        return model
    if isinstance(model, str):
        if model in RUN_KINDS:
            return RUN_KINDS[model]
        if ":" in model:
            mod, _, attr = model.partition(":")
            try:
                obj: Any = importlib.import_module(mod)
                for part in attr.split("."):
                    obj = getattr(obj, part)
            except (ImportError, AttributeError) as exc:
                raise ConfigError(f"model {model!r} cannot be imported: {exc}") from None
            return resolve_kind(obj) if isinstance(obj, RunKind) else _wrap(obj, model)
        raise UnknownNameError(
            f"unknown experiment model {model!r}; available: {', '.join(sorted(RUN_KINDS))} "
            "(or 'package.module:function')"
        )
    if callable(model):
        mod, qual = getattr(model, "__module__", "?"), getattr(model, "__qualname__", repr(model))
        return _wrap(model, f"{mod}:{qual}")
    raise ConfigError(f"model must be a name, 'module:function' or a callable, got {type(model).__name__}")


def _wrap(fn: Any, name: str) -> RunKind:
    if not callable(fn):
        raise ConfigError(f"model {name!r} is not callable")
    return RunKind(name=name, fn=fn, description=(getattr(fn, "__doc__", "") or "").strip().split("\n")[0])


# ---------------------------------------------------------------------- value checks for kinds
def positive_int(p: Mapping[str, Any], key: str, *, maximum: int | None = None) -> int:
    v = p[key]
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
        raise ConfigError(f"{key} must be a positive integer, got {v!r}")
    if maximum is not None and v > maximum:
        raise ConfigError(f"{key} = {v} is too large (at most {maximum})")
    return int(v)


def positive_float(p: Mapping[str, Any], key: str) -> float:
    v = p[key]
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v <= 0:
        raise ConfigError(f"{key} must be a positive finite number, got {v!r}")
    return float(v)


def unit_float(p: Mapping[str, Any], key: str, *, open_low: bool = True) -> float:
    v = p[key]
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not (0.0 < v <= 1.0 if open_low else 0.0 <= v <= 1.0):
        raise ConfigError(f"{key} must be a number in {'(0' if open_low else '[0'}, 1], got {v!r}")
    return float(v)


def names_in(p: Mapping[str, Any], key: str, allowed: Mapping[str, Any] | Sequence[str], what: str) -> list[str]:
    v = p[key]
    if isinstance(v, str):
        v = [v]
    if not isinstance(v, Sequence) or not v:
        raise ConfigError(f"{key} must be a non-empty list of {what} names, got {v!r}")
    bad = [x for x in v if not isinstance(x, str) or x not in allowed]
    if bad:
        raise UnknownNameError(f"unknown {what} {bad[0]!r} in {key}; available: {', '.join(sorted(allowed))}")
    if len(set(v)) != len(v):
        raise ConfigError(f"{key} lists a name twice: {v!r}")
    return list(v)


def float_levels(p: Mapping[str, Any], key: str) -> list[float]:
    v = p[key]
    levels = v if isinstance(v, Sequence) and not isinstance(v, str) else [v]
    if not levels:
        raise ConfigError(f"{key} must be a positive number or a non-empty list of them")
    out = []
    for x in levels:
        if isinstance(x, bool) or not isinstance(x, (int, float)) or not math.isfinite(x) or x <= 0:
            raise ConfigError(f"{key} must be positive finite number(s), got {v!r}")
        out.append(float(x))
    return out


def cost_range(p: Mapping[str, Any], key: str = "cost_range") -> tuple[float, float]:
    v = p[key]
    try:
        lo, hi = (float(c) for c in v)
    except (TypeError, ValueError):
        raise ConfigError(f"{key} must be [lo, hi], got {v!r}") from None
    if not (math.isfinite(lo) and math.isfinite(hi) and 0.0 <= lo < hi):
        raise ConfigError(f"{key} must be [lo, hi] with 0 <= lo < hi, got {v!r}")
    return lo, hi


def choice(p: Mapping[str, Any], key: str, allowed: Sequence[str]) -> str:
    v = p[key]
    if v not in allowed:
        raise ConfigError(f"{key} must be one of {', '.join(map(repr, allowed))}, got {v!r}")
    return v
