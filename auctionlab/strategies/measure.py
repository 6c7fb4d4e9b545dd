"""How much can one agent gain by deviating, everyone else's behaviour held fixed?

Two kinds of counterfactual source, both reached only through a protocol (this module
never imports a mechanism):

- a *counterfactual round* (one-shot markets): any object with ``round`` (int),
  ``players() -> [(role, index), ...]``, ``true_type(role, index)``,
  ``utility_if(role, index, report) -> float``, ``oracle(role, index) -> (report -> float)``
  and ``info(role, index, omniscient=...) -> dict``. The relay market's
  :class:`~auctionlab.mechanisms.relay.mechanisms.RelayRound` is one; a deviation is asked
  once for a report, which is then evaluated with every other report fixed.
- a *counterfactual run* (iterative markets): ``round``, ``reference`` (the benchmark
  strategy), ``players()`` and ``utility_with(role, index, strategy) -> float`` — the
  player's final utility when it plays ``strategy`` throughout and everyone else keeps
  theirs. The exchange market's
  :class:`~auctionlab.models.exchange.ExchangeCounterfactual` is one: a deviation
  in ICE is a whole proxy policy, so each row reruns the exchange.

A market model offers its source through ``counterfactual_round()``.

The module is the one place manipulation is measured: :func:`manipulation_gain` (a set of
deviation strategies per player), :func:`best_response` (the exhaustive deviation grid of
one player on a relay round, one vectorised mechanism call), :func:`best_response_gains`
(that search for many players), :func:`gain_summary` (how often and how much a role gains)
and the welfare yardsticks the gains are read against (:func:`efficient_surplus`,
:func:`realised_welfare`). The relay studies measure through it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np
import pandas as pd

from auctionlab.errors import ConfigError
from auctionlab.strategies.base import Observation, Strategy
from auctionlab.strategies.exchange import LateRevealer, Lazy, Misreport, Stubborn
from auctionlab.strategies.registry import strategy_from_spec
from auctionlab.strategies.relay import (
    DEFAULT_BR_SHIFTS,
    DEFAULT_BR_THETAS,
    KIND_NAMES,
    BestResponse,
    Scale,
    Shift,
    scalar_grid,
    vector_grid,
)


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
    "round",
    "agent",
    "role",
    "index",
    "deviation",
    "label",
    "params",
    "truthful_utility",
    "deviating_utility",
    "gain",
]


def default_deviations() -> dict[str, Strategy]:
    """A small standard set: shading/inflating by scale and shift, and the best response."""
    devs: dict[str, Strategy] = {}
    for th in (0.5, 0.8, 0.9, 0.95, 1.05, 1.1, 1.25, 1.5, 2.0):
        s: Strategy = Scale(th)
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
    for s in (
        Misreport(0.1),
        Misreport(0.25),
        Misreport(0.5),
        Lazy(),
        Lazy(fallback="penalty"),
        Stubborn(),
        LateRevealer(),
        LateRevealer(Stubborn()),
    ):
        devs[s.label] = s
    return devs


def _as_round(source: Any) -> CounterfactualRound | CounterfactualRun:
    if hasattr(source, "counterfactual_round"):
        return source.counterfactual_round()
    if isinstance(source, (CounterfactualRun, CounterfactualRound)):
        return source
    raise ConfigError(f"manipulation_gain needs a market model or a counterfactual round, got {type(source).__name__}")


def _players(rnd: CounterfactualRound | CounterfactualRun, agent: Any) -> list[tuple[str, int]]:
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
        return _run_gains(
            rnd, players, _deviations(default_exchange_deviations() if deviations is None else deviations)
        )
    devs = _deviations(deviations)
    rows: list[tuple] = []
    for role, idx in players:
        truth = rnd.true_type(role, idx)
        u_truth = float(rnd.utility_if(role, idx, truth))
        obs = Observation(
            round=int(rnd.round),
            role=role,
            index=idx,
            oracle=rnd.oracle(role, idx),
            info=rnd.info(role, idx, omniscient=True),
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


def _run_gains(
    rnd: CounterfactualRun, players: list[tuple[str, int]], devs: list[tuple[str, Strategy]]
) -> pd.DataFrame:
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


# ====================================================================== best responses on a relay round
def best_response(
    rnd: Any,
    role: str,
    index: int,
    truth: Any,
    *,
    thetas: Sequence[float] = DEFAULT_BR_THETAS,
    shifts: Sequence[float] = DEFAULT_BR_SHIFTS,
    tol: float = 1e-12,
) -> dict[str, Any]:
    """The best report of one agent of a relay round over the deviation grid, others fixed.

    ``rnd`` is a :class:`~auctionlab.mechanisms.relay.mechanisms.RelayRound` (a market model's
    ``counterfactual_round()``); everything about the mechanism is read from
    ``rnd.mechanism``. When the mechanism reads one number from a buyer's bid vector (it
    has ``buyer_scalar``/``buyer_report`` returning numbers, a scalar mechanism) or the
    agent is a seller, the grid is :func:`~auctionlab.strategies.relay.scalar_grid` on that
    number with the mechanism's ``levels`` (other agents' reports: exact for mechanisms
    whose utilities change only there); buyers of a mechanism that reads whole vectors
    search :func:`~auctionlab.strategies.relay.vector_grid`. One ``utilities_if`` call.

    Returns ``truthful_utility``, ``best_utility``, ``gain`` (≥ 0: the truth comes first and
    wins ties up to ``tol``), ``report`` (the best report: a vector for buyers, a float for
    sellers), ``scalar`` (the number the mechanism reads, NaN for whole-vector buyers),
    ``kind`` and ``param`` (which deviation family and its parameter).
    """
    mech, net = rnd.mechanism, rnd.network
    if role == "buyer":
        v = np.asarray(truth, dtype=np.float64)
        read = mech.buyer_scalar(net, rnd.sigma, index, v[None, :])
        scalar_buyer = read is not None
        if scalar_buyer:
            t = float(read[0])
            levels = mech.levels(net, rnd.bids, rnd.asks, rnd.sigma, role)
            reps, kinds, param = scalar_grid(t, thetas, shifts, levels, positive_only=True)
            utils = rnd.utilities_if(role, index, reps, scalar=True)
        else:
            reps, kinds, param = vector_grid(v, thetas, shifts)
            utils = rnd.utilities_if(role, index, reps)
    else:
        scalar_buyer = False
        levels = mech.levels(net, rnd.bids, rnd.asks, rnd.sigma, role)
        reps, kinds, param = scalar_grid(float(truth), thetas, shifts, levels)
        utils = rnd.utilities_if(role, index, reps)
    best = int(np.argmax(utils))
    if utils[best] <= utils[0] + tol:
        best = 0
    rep = reps[best]
    if role == "buyer" and scalar_buyer:
        scalar = float(rep)
        rep = mech.buyer_report(net, rnd.sigma, index, truth, scalar)
    else:
        scalar = float(rep) if role == "seller" else math.nan
    return {
        "truthful_utility": float(utils[0]),
        "best_utility": float(utils[best]),
        "gain": float(utils[best] - utils[0]),
        "report": rep,
        "scalar": scalar,
        "kind": KIND_NAMES[int(kinds[best])],
        "param": float(param[best]),
    }


def best_response_gains(
    rnd: Any,
    players: Iterable[tuple[str, int]],
    *,
    truthful_utility: Mapping[str, Any],
    thetas: Sequence[float] = DEFAULT_BR_THETAS,
    shifts: Sequence[float] = DEFAULT_BR_SHIFTS,
) -> list[dict[str, Any]]:
    """:func:`best_response` for each ``(role, index)`` of a truthful relay round, in order.

    A player whose report the mechanism never reads (``mechanism.reads`` is False: it cannot
    trade) gains 0 by construction and is not searched; ``truthful_utility[role][index]`` is
    its realised utility. Each row adds ``role``, ``index`` and ``relevant``."""
    mech, sigma = rnd.mechanism, rnd.sigma
    rows = []
    for role, idx in players:
        idx = int(idx)
        truth = rnd.values[idx] if role == "buyer" else float(rnd.costs[idx])
        relevant = bool(mech.reads(sigma, role, idx))
        if relevant:
            br = best_response(rnd, role, idx, truth, thetas=thetas, shifts=shifts)
        else:
            u = float(truthful_utility[role][idx])
            br = {
                "truthful_utility": u,
                "best_utility": u,
                "gain": 0.0,
                "scalar": math.nan,
                "kind": "truth",
                "param": 1.0,
            }
        rows.append({"role": role, "index": idx, "relevant": relevant, **br})
    return rows


def gain_summary(gains: Sequence[float] | np.ndarray, role: str, tol: float) -> dict[str, Any]:
    """How often and how much one role gains: ``<role>s_sampled``, ``<role>s_profitable``
    (gain > ``tol``), ``<role>_share_profitable``, ``<role>_mean_gain``, ``<role>_max_gain``
    (NaN when nobody was sampled)."""
    g = np.asarray(gains, dtype=np.float64)
    return {
        f"{role}s_sampled": int(g.size),
        f"{role}s_profitable": int((g > tol).sum()),
        f"{role}_share_profitable": float((g > tol).mean()) if g.size else math.nan,
        f"{role}_mean_gain": float(g.mean()) if g.size else math.nan,
        f"{role}_max_gain": float(g.max()) if g.size else math.nan,
    }


def manipulation_frequency(gains: pd.DataFrame, tol: float, by: Sequence[str] = ("role",)) -> pd.DataFrame:
    """Share of players with a profitable deviation (gain > ``tol``) per group of a gains
    table (a ``gain`` or ``max_gain`` column), with the number of players."""
    col = "max_gain" if "max_gain" in gains.columns else "gain"
    g = gains.assign(profitable=gains[col] > tol)
    return (
        g.groupby(list(by), sort=True).agg(players=("profitable", "size"), share=("profitable", "mean")).reset_index()
    )


# ====================================================================== welfare yardsticks
def efficient_surplus(values: np.ndarray, costs: np.ndarray, useful: np.ndarray) -> float:
    """The largest total true surplus any matching of buyers to useful relays achieves:
    the maximum-weight matching on max(v_ij − c_j, 0) over useful pairs."""
    from auctionlab.mechanisms.relay.baselines import matching_value  # the VCG auction's own matching

    return matching_value(np.where(useful & (values > costs[None, :]), values - costs[None, :], 0.0))


def efficient_surplus_homogeneous(buyer_values: np.ndarray, costs: np.ndarray) -> float:
    """The efficient surplus of a homogeneous market (buyer i values any relay at v_i):
    the k highest values matched with the k lowest costs, for the best k."""
    bs = np.sort(np.asarray(buyer_values, dtype=np.float64))[::-1]
    as_ = np.sort(np.asarray(costs, dtype=np.float64))
    L = min(bs.size, as_.size)
    return float(np.maximum(bs[:L] - as_[:L], 0.0).sum())


def realised_welfare(outcome: Any, values: np.ndarray, costs: np.ndarray) -> float:
    """True values minus true costs of the pairs that trade in a relay outcome."""
    win = np.flatnonzero(outcome.buyer_wins)
    return float(values[win, outcome.sigma[win]].sum() - costs[outcome.sigma[win]].sum())
