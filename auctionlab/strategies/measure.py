"""How much can one agent gain by deviating, everyone else's behaviour held fixed?

Two kinds of counterfactual source, both reached only through a protocol (this module
never imports a mechanism):

- a *counterfactual round* (one-shot markets): any object with ``round`` (int),
  ``players() -> [(role, index), ...]``, ``true_type(role, index)``,
  ``utility_if(role, index, report) -> float``, ``oracle(role, index) -> (report -> float)``
  and ``info(role, index, omniscient=...) -> dict``. The relay market's
  :class:`~auctionlab.market.relay.mechanisms.RelayRound` is one; a deviation is asked
  once for a report, which is then evaluated with every other report fixed.
- a *counterfactual run* (iterative markets): ``round``, ``reference`` (the benchmark
  strategy), ``players()`` and ``utility_with(role, index, strategy) -> float`` — the
  player's final utility when it plays ``strategy`` throughout and everyone else keeps
  theirs. The exchange market's
  :class:`~auctionlab.market.exchange.model.ExchangeCounterfactual` is one: a deviation
  in ICE is a whole proxy policy, so each row reruns the exchange.

A market model offers its source through ``counterfactual_round()``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np
import pandas as pd

from auctionlab.errors import ConfigError
from auctionlab.strategies.base import Observation, Strategy
from auctionlab.strategies.exchange import LateRevealer, Lazy, Misreport, Stubborn
from auctionlab.strategies.registry import strategy_from_spec
from auctionlab.strategies.relay import BestResponse, Scale, Shift


@runtime_checkable
class CounterfactualRound(Protocol):
    round: int

    def players(self) -> list[tuple[str, int]]: ...
    def true_type(self, role: str, index: int) -> Any: ...
    def utility_if(self, role: str, index: int, report: Any) -> float: ...
    def oracle(self, role: str, index: int) -> Any: ...
    def info(self, role: str, index: int, *, omniscient: bool = False) -> dict[str, Any]: ...


@runtime_checkable
class CounterfactualRun(Protocol):
    round: int
    reference: Strategy

    def players(self) -> list[tuple[str, int]]: ...
    def utility_with(self, role: str, index: int, strategy: Strategy) -> float: ...


COLUMNS = [
    "round", "agent", "role", "index", "deviation", "label", "params",
    "truthful_utility", "deviating_utility", "gain",
]


def default_deviations() -> dict[str, Strategy]:
    """A small standard set: shading/inflating by scale and shift, and the best response."""
    devs: dict[str, Strategy] = {}
    for th in (0.5, 0.8, 0.9, 0.95, 1.05, 1.1, 1.25, 1.5, 2.0):
        s = Scale(th)
        devs[s.label] = s
    for d in (-0.2, -0.05, 0.05, 0.2):
        s = Shift(d)
        devs[s.label] = s
    devs["best_response"] = BestResponse()
    return devs


def default_exchange_deviations() -> dict[str, Strategy]:
    """The exchange's standard set: misreports of three strengths, lazy (both fallbacks),
    stubborn, and late revealers that answer lazily or not at all."""
    devs: dict[str, Strategy] = {}
    for s in (Misreport(0.1), Misreport(0.25), Misreport(0.5), Lazy(), Lazy(fallback="penalty"), Stubborn(),
              LateRevealer(), LateRevealer(Stubborn())):
        devs[s.label] = s
    return devs


def _as_round(source: Any) -> CounterfactualRound | CounterfactualRun:
    if hasattr(source, "counterfactual_round"):
        return source.counterfactual_round()
    if isinstance(source, (CounterfactualRun, CounterfactualRound)):
        return source
    raise ConfigError(
        f"manipulation_gain needs a market model or a counterfactual round, got {type(source).__name__}"
    )


def _players(rnd: CounterfactualRound, agent: Any) -> list[tuple[str, int]]:
    allp = rnd.players()
    if agent is None:
        return allp
    if hasattr(agent, "role") and hasattr(agent, "index"):
        agents = [agent]
    elif isinstance(agent, tuple) and len(agent) == 2 and isinstance(agent[0], str):
        agents = [agent]
    elif isinstance(agent, Iterable):
        agents = list(agent)
    else:
        raise ConfigError(f"agent must be an agent, a (role, index) pair or a list of them, got {agent!r}")
    out = []
    known = set(allp)
    for a in agents:
        key = (a.role, int(a.index)) if hasattr(a, "role") else (a[0], int(a[1]))
        if key not in known:
            raise ConfigError(f"no player {key} in this round")
        out.append(key)
    return out


def _deviations(deviations: Any) -> list[tuple[str, Strategy]]:
    if deviations is None:
        deviations = default_deviations()
    if isinstance(deviations, (Strategy, str)):
        deviations = [deviations]
    if isinstance(deviations, Mapping) and not ({"strategy"} <= set(deviations)):
        return [(str(k), strategy_from_spec(v)) for k, v in deviations.items()]
    if isinstance(deviations, Mapping):
        deviations = [deviations]
    out = []
    for d in deviations:
        s = strategy_from_spec(d)
        out.append((s.label, s))
    return out


def _role_ok(strategy: Strategy, role: str) -> bool:
    r = strategy.flag("role")
    return r == "any" or r == role


def manipulation_gain(
    source: Any,
    agent: Any = None,
    deviations: Mapping[str, Any] | Sequence[Any] | Strategy | None = None,
) -> pd.DataFrame:
    """Utility under truthful reporting vs under each deviation, every other report fixed.

    ``source``: a market model (its last completed round) or a counterfactual round.
    ``agent``: an agent (with ``role``/``index``), a ``(role, index)`` pair, a list of
    those, or None for every player. ``deviations``: strategies, specs, or a mapping
    name -> strategy/spec (default :func:`default_deviations`). Each deviation is cloned
    per player (fresh state; stochastic ones replay the same stream) and asked once with
    the full-information observation (oracle and candidate levels). Deviations restricted
    to another role (e.g. buyer-only ones for sellers) are skipped.

    With a counterfactual *run* (the exchange), each deviation replaces the player's
    strategy for the whole run (others keep theirs) and ``truthful_utility`` is the
    utility under the run's ``reference`` strategy (straightforward by default); the
    default deviations are :func:`default_exchange_deviations`. Each row costs one run.

    Returns a tidy DataFrame, one row per (player, deviation), columns :data:`COLUMNS`;
    ``gain = deviating_utility − truthful_utility``.
    """
    rnd = _as_round(source)
    players = _players(rnd, agent)
    if isinstance(rnd, CounterfactualRun):
        return _run_gains(rnd, players, _deviations(default_exchange_deviations() if deviations is None else deviations))
    devs = _deviations(deviations)
    rows: list[tuple] = []
    for role, idx in players:
        truth = rnd.true_type(role, idx)
        u_truth = float(rnd.utility_if(role, idx, truth))
        obs = Observation(
            round=int(rnd.round), role=role, index=idx,
            oracle=rnd.oracle(role, idx), info=rnd.info(role, idx, omniscient=True),
        )
        for name, dev in devs:
            if not _role_ok(dev, role):
                continue
            s = dev.clone()
            rep = s.report(truth, obs)
            u = float(rnd.utility_if(role, idx, rep))
            params = ", ".join(f"{k}={v}" for k, v in s.params.items())
            rows.append((int(rnd.round), f"{role}:{idx}", role, idx, name, s.label, params, u_truth, u, u - u_truth))
    df = pd.DataFrame.from_records(rows, columns=COLUMNS)
    return df.astype({"index": np.int64, "round": np.int64}) if len(df) else df


def _run_gains(rnd: CounterfactualRun, players: list[tuple[str, int]], devs: list[tuple[str, Strategy]]) -> pd.DataFrame:
    rows: list[tuple] = []
    for role, idx in players:
        u_ref = float(rnd.utility_with(role, idx, rnd.reference.clone()))
        for name, dev in devs:
            if not _role_ok(dev, role):
                continue
            s = dev.clone()
            u = float(rnd.utility_with(role, idx, s))
            params = ", ".join(f"{k}={v}" for k, v in s.params.items())
            rows.append((int(rnd.round), f"{role}:{idx}", role, idx, name, s.label, params, u_ref, u, u - u_ref))
    df = pd.DataFrame.from_records(rows, columns=COLUMNS)
    return df.astype({"index": np.int64, "round": np.int64}) if len(df) else df


def max_gain(gains: pd.DataFrame, tol: float = 1e-12) -> pd.DataFrame:
    """Per player: the largest gain over the deviations measured and which one achieved it
    (first in table order on ties; None when no deviation gains more than ``tol``).
    Negative only if every measured deviation hurts — include the best response (which
    includes truthful) to make it ≥ 0."""
    if gains.empty:
        return pd.DataFrame(columns=["round", "agent", "role", "index", "max_gain", "best_deviation"])
    idx = gains.groupby(["round", "role", "index"], sort=True)["gain"].idxmax()
    best = gains.loc[idx, ["round", "agent", "role", "index", "gain", "label"]]
    best = best.rename(columns={"gain": "max_gain", "label": "best_deviation"}).reset_index(drop=True)
    best["best_deviation"] = best["best_deviation"].astype(object).where(best["max_gain"] > tol, None)
    return best
