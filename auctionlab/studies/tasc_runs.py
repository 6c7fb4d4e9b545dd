"""Relay-market run kinds for the TASC paper's experiments (Figs. 8–11).

These call the mechanisms directly — :func:`~auctionlab.mechanisms.relay.network.random_network`,
:func:`~auctionlab.mechanisms.relay.tasc.assign` and the phase-2 mechanism objects of
:mod:`auctionlab.mechanisms.relay.mechanisms` — not the Mesa model: a paper-scale sweep is
~50 000 independent single-shot auctions, and the Mesa layer's per-step bookkeeping
(agents, data collection) would cost more than the auctions. Each run is one random
network; every requested assignment algorithm, phase-2 mechanism and Vmax level is
evaluated on that same network (common random numbers: differences between algorithms
are not blurred by different instances).

The phase-2 ``rules`` a spec names are registered mechanisms that clear the phase-1
pairs (``tasc`` = Algorithm 2 as written, ``trade_reduction``, ``kda``); a run resolves
each name to its mechanism object once and stores the object's ``name`` in the ``rule``
column (labels, colours and properties are read from the object by the report).

Vmax levels share one uniform draw: values = Vmax · u with u ~ U(0, 1] on useful pairs,
which is exactly uniform on (0, Vmax] for each level, and makes the degradation-vs-Vmax
curve (Fig. 10(b)) a within-instance comparison.

``value_grid`` (default 0 = continuous) puts every bid and ask on a grid of that step,
rounding each draw *up* to the next grid point (so values stay in (0, Vmax] and asks in
(lo, hi]): with continuous draws the boundary buyer's bid equals the boundary seller's
ask with probability 0, on a 0.01 grid it happens often — the reading under which the
paper's "profit is mostly 0 because P^b = P^s" can hold.

Running time (Fig. 11): with ``timing_repeats`` = r > 0 every assignment and every clearing
of a run is repeated r times in the run's process, one after the other, and the run stores
the median of the r times (``time_assign_ms``, ``time_clear_ms``, ``time_tasc_ms`` = the
median of assignment + clearing per repeat) with the quartiles of ``time_tasc_ms``
(``time_tasc_q25_ms``, ``time_tasc_q75_ms``) and ``time_repeats`` = r. Such runs are
*timing runs* of the kind (:attr:`~auctionlab.experiments.kinds.RunKind.timing`): the
runner executes them one at a time with no worker beside them. ``timing_repeats`` = 0
(the default) times each stage once, as part of an ordinary sweep.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from functools import partial
from typing import Any, cast

import numpy as np
import pandas as pd

from auctionlab._validate import (
    check_choice,
    check_float,
    check_int,
    check_names,
    check_positive_float,
    check_positive_int,
)
from auctionlab.errors import ConfigError, InternalError
from auctionlab.experiments.kinds import RunKind, RunOutput
from auctionlab.experiments.params import Params
from auctionlab.mechanisms.relay.assignment import ASSIGNMENT_ALGORITHMS
from auctionlab.mechanisms.relay.mechanisms import (
    MECHANISMS,
    PhaseOneMechanism,
    RelayMechanism,
    check_mechanism_parameters,
    resolve_mechanism,
)
from auctionlab.mechanisms.relay.network import MODES, random_network
from auctionlab.mechanisms.relay.tasc import assign
from auctionlab.studies.relay_market import mechanism_kwargs, with_mechanism_parameters

MAX_NODES = 5000  # n or m beyond this would need > 200 MB per capacity matrix

# The efficiency measure each assignment algorithm optimises (Fig. 10).
OBJECTIVE = {"mwm": "capacity", "mm": "trades", "ora": "min_capacity"}


def phase2_rule_names() -> list[str]:
    """The registered mechanisms a ``rules`` list may name: those that clear the phase-1 pairs."""
    return [name for name, cls in MECHANISMS.items() if isinstance(cls, type) and issubclass(cls, PhaseOneMechanism)]


def phase2_mechanisms(rules, params: Any = None) -> list[PhaseOneMechanism]:
    """The mechanism objects of a (checked) ``rules`` list, in its order, built with the
    ``<mechanism>_<field>`` parameters of ``params`` (``tasc_tie``)."""
    kw = {} if params is None else mechanism_kwargs(params)
    out: list[PhaseOneMechanism] = []
    for r in [rules] if isinstance(rules, str) else rules:
        mech: RelayMechanism = resolve_mechanism(r, **kw)
        if not isinstance(mech, PhaseOneMechanism):  # the names were checked against phase2_rule_names()
            raise InternalError(f"phase-2 rule {r!r} resolved to {type(mech).__name__}, not a phase-1 mechanism")
        out.append(mech)
    return out


def _levels(value: Any, name: str) -> list[float]:
    """A positive number or a non-empty list of them (a sweep of levels evaluated per run)."""
    levels = value if isinstance(value, (list, tuple)) else [value]
    if not levels:
        raise ConfigError(f"{name} must be a positive number or a non-empty list of them")
    for x in levels:
        try:
            check_float(x, name, minimum=0.0, open_min=True)
        except ConfigError:
            raise ConfigError(f"{name} must be positive finite number(s), got {value!r}") from None
    return [float(x) for x in levels]


def _cost_range(value: Any) -> tuple[float, float]:
    try:
        lo, hi = (float(c) for c in value)
    except (TypeError, ValueError):
        raise ConfigError(f"cost_range must be [lo, hi], got {value!r}") from None
    if not (math.isfinite(lo) and math.isfinite(hi) and 0.0 <= lo < hi):
        raise ConfigError(f"cost_range must be [lo, hi] with 0 <= lo < hi, got {value!r}")
    return lo, hi


def on_grid(x: np.ndarray, step: float) -> np.ndarray:
    """``x`` rounded up to the next multiple of ``step`` (``step`` = 0: unchanged).

    The same expression for bids and asks, so equal grid points are equal floats.

    >>> on_grid(np.array([0.001, 0.01, 0.0101, 1.0]), 0.01).tolist()
    [0.01, 0.01, 0.02, 1.0]
    """
    if step == 0.0:
        return x
    return np.maximum(np.ceil(x / step - 1e-9), 1.0) * step


@dataclass(frozen=True)
class RelayInstanceParams(Params):
    """The random instance every TASC run draws: n sources, m relays, channel mode and area,
    the assignment algorithms and phase-2 mechanisms evaluated on it (with their parameters
    spelled ``<mechanism>_<field>``, e.g. ``tasc_tie``), bids U(0, Vmax] on useful pairs,
    asks U(lo, hi], optionally on a value grid."""

    n: int = 100
    m: int = 100
    mode: str = "DF"
    area: float = 1000.0
    algorithms: list = field(default_factory=lambda: ["mwm", "ora", "mm"])
    rules: list = field(default_factory=lambda: ["tasc"])
    vmax: Any = 4.0
    cost_range: list = field(default_factory=lambda: [0.0, 1.0])
    value_grid: float = 0.0

    def check(self) -> None:
        check_positive_int(self.n, "n", maximum=MAX_NODES)
        check_positive_int(self.m, "m", maximum=MAX_NODES)
        check_choice(self.mode, "mode", MODES)
        check_positive_float(self.area, "area")
        check_names(self.algorithms, "algorithms", ASSIGNMENT_ALGORITHMS, "assignment algorithm")
        check_names(self.rules, "rules", phase2_rule_names(), "phase-2 rule")
        check_mechanism_parameters(mechanism_kwargs(self))
        _levels(self.vmax, "vmax")
        _cost_range(self.cost_range)
        check_float(self.value_grid, "value_grid", minimum=0.0, maximum=1.0)

    @property
    def vmax_levels(self) -> list[float]:
        return _levels(self.vmax, "vmax")

    @property
    def costs_lo_hi(self) -> tuple[float, float]:
        return _cost_range(self.cost_range)


MAX_REPEATS = 1000


@dataclass(frozen=True)
class _TascParams(RelayInstanceParams):
    """Parameters of the ``tasc`` run kind (Figs. 9–11); ``timing_repeats`` > 0 makes a run a
    timing run (each stage repeated that many times in-process, medians kept)."""

    timing_repeats: int = 0

    def check(self) -> None:
        super().check()
        check_int(self.timing_repeats, "timing_repeats", minimum=0, maximum=MAX_REPEATS)


@dataclass(frozen=True)
class _TruthfulnessParams(RelayInstanceParams):
    """Parameters of the ``tasc-truthfulness`` run kind (Fig. 8): one Vmax, the true values
    given to the swept buyer and seller, and the number of points of each sweep."""

    rules: list = field(default_factory=lambda: ["tasc", "trade_reduction"])
    buyer_values: Any = field(default_factory=lambda: [1.0, 3.0])
    seller_costs: Any = field(default_factory=lambda: [0.3, 0.7])
    bid_points: int = 41
    ask_points: int = 41

    def check(self) -> None:
        super().check()
        vmax = check_positive_float(self.vmax, "vmax")
        _, hi = self.costs_lo_hi
        for v in _levels(self.buyer_values, "buyer_values"):
            if v > vmax:
                raise ConfigError(f"buyer value {v} is above vmax = {vmax}: the bid sweep covers [0, vmax]")
        for c in _levels(self.seller_costs, "seller_costs"):
            if c > hi:
                raise ConfigError(f"seller cost {c} is above the cost range's top {hi}: the ask sweep covers [0, {hi}]")
        for key in ("bid_points", "ask_points"):
            if check_positive_int(getattr(self, key), key, maximum=10_000) < 2:
                raise ConfigError(f"{key} must be at least 2")


# The mechanisms' parameters (``tasc_tie``, ...) join both schemas, their defaults the classes' own.
TascParams = with_mechanism_parameters(_TascParams, "TascParams")
TruthfulnessParams = with_mechanism_parameters(_TruthfulnessParams, "TruthfulnessParams")

TASC_METRICS = (
    "candidates",
    "k",
    "trades",
    "buyer_price",
    "seller_price",
    "profit",
    "zero_profit",
    "total_capacity",
    "pure_total_capacity",
    "min_capacity",
    "pure_min_capacity",
    "pure_trades",
    "degradation_capacity",
    "degradation_trades",
    "degradation_min_capacity",
    "degradation_gain",
    "degradation",
    "welfare",
    "min_capacity_winners",
    "degradation_min_capacity_winners",
    "time_network_ms",
    "time_assign_ms",
    "time_clear_ms",
    "time_tasc_ms",
    "time_tasc_q25_ms",
    "time_tasc_q75_ms",
    "time_repeats",
)


def _timed(fn, repeats: int) -> tuple[Any, np.ndarray]:
    """``fn()`` and its wall-clock times in ms: called once (``repeats`` = 0) or ``repeats``
    times in a row, the first call's result returned (the calls are deterministic)."""
    times = np.empty(max(repeats, 1))
    out = None
    for i in range(times.size):
        t0 = time.perf_counter()
        res = fn()
        times[i] = (time.perf_counter() - t0) * 1e3
        out = res if out is None else out
    return out, times


def _timing_columns(t_assign: np.ndarray, t_clear: np.ndarray, repeats: int) -> dict[str, Any]:
    """The time columns of one row: single timings, or medians (and the quartiles of the
    auction's time) over ``repeats`` in-process repeats."""
    if repeats == 0:
        return {
            "time_assign_ms": float(t_assign[0]),
            "time_clear_ms": float(t_clear[0]),
            "time_tasc_ms": float(t_assign[0] + t_clear[0]),
        }
    total = t_assign + t_clear
    q25, med, q75 = (float(x) for x in np.quantile(total, [0.25, 0.5, 0.75]))
    return {
        "time_assign_ms": float(np.median(t_assign)),
        "time_clear_ms": float(np.median(t_clear)),
        "time_tasc_ms": med,
        "time_tasc_q25_ms": q25,
        "time_tasc_q75_ms": q75,
        "time_repeats": repeats,
    }


def is_timing_run(params: Any) -> bool:
    """A ``tasc`` run that measures running time (``timing_repeats`` > 0): the runner
    computes such runs one at a time."""
    return int(params.get("timing_repeats", 0) or 0) > 0


def _ratio_loss(auction: float, pure: float) -> float:
    """1 − auction / pure: the fraction of the pure assignment's efficiency the auction loses."""
    return 1.0 - auction / pure if pure > 0 else math.nan


def _draw(p: RelayInstanceParams, gen: np.random.Generator):
    """The network, the uniform draw u ~ U(0, 1] behind the values, and the costs (on the grid)."""
    n, m = int(p.n), int(p.m)
    lo, hi = p.costs_lo_hi
    t0 = time.perf_counter()
    net = random_network(n, m, rng=gen, mode=p.mode, area=float(p.area))
    t_net = (time.perf_counter() - t0) * 1e3
    u = 1.0 - gen.random((n, m))  # U(0, 1]
    costs = hi - (hi - lo) * gen.random(m)  # U(lo, hi]
    step = float(p.value_grid)
    if step:
        costs = np.minimum(on_grid(costs, step), hi)
    return net, u, costs, t_net


def _values(net, u: np.ndarray, vmax: float, step: float) -> np.ndarray:
    v = vmax * u
    if step:
        v = np.minimum(on_grid(v, step), vmax)
    return np.where(net.useful, v, 0.0)


def run_tasc(params: dict[str, Any], seed: np.random.SeedSequence) -> RunOutput:
    """One network; for each algorithm × Vmax level × phase-2 mechanism: profit, prices,
    trades and the efficiency of the auction against the pure assignment (total capacity,
    trades, minimum capacity over all sources and over the winners, relay gain)."""
    p = cast(_TascParams, TascParams.from_mapping(params))
    gen = np.random.default_rng(seed)
    n, m = int(p.n), int(p.m)
    net, u, costs, t_net = _draw(p, gen)
    step = float(p.value_grid)
    direct_total = float(net.direct.sum())
    mechanisms = phase2_mechanisms(p.rules, p)
    repeats = int(p.timing_repeats)
    rows: list[dict[str, Any]] = []
    for alg in check_names(p.algorithms, "algorithms", ASSIGNMENT_ALGORITHMS, "assignment algorithm"):
        sigma, t_assign = _timed(partial(assign, net, alg), repeats)
        on = sigma >= 0
        pure = net.capacities(sigma)
        pure_total, pure_min, pure_trades = float(pure.sum()), float(pure.min()), float(on.sum())
        pure_gain = pure_total - direct_total
        for vmax in p.vmax_levels:
            values = _values(net, u, vmax, step)
            for mech in mechanisms:
                out, t_clear = _timed(partial(mech, net, values, costs, sigma), repeats)
                cap = net.capacities(out.traded)
                total, cmin, trades = float(cap.sum()), float(cap.min()), float(out.n_trades)
                win = np.flatnonzero(out.buyer_wins)
                welfare = float(values[win, sigma[win]].sum() - costs[sigma[win]].sum())
                # The minimum over the sources that win (their relayed capacity): the reading
                # "minimum capacity among participating buyers" of ORA's objective.
                cmin_win = float(cap[win].min()) if win.size else math.nan
                deg = {
                    "capacity": _ratio_loss(total, pure_total),
                    "trades": _ratio_loss(trades, pure_trades),
                    "min_capacity": _ratio_loss(cmin, pure_min),
                }
                rows.append(
                    {
                        "n": n,
                        "m": m,
                        "algorithm": alg,
                        "rule": mech.name,
                        "vmax": vmax,
                        "candidates": int(on.sum()),
                        "k": int(out.k),
                        "trades": int(out.n_trades),
                        "buyer_price": math.nan if out.buyer_price is None else float(out.buyer_price),
                        "seller_price": math.nan if out.seller_price is None else float(out.seller_price),
                        "profit": float(out.profit),
                        "zero_profit": bool(out.profit == 0.0),
                        "total_capacity": total,
                        "pure_total_capacity": pure_total,
                        "min_capacity": cmin,
                        "pure_min_capacity": pure_min,
                        "pure_trades": pure_trades,
                        "degradation_capacity": deg["capacity"],
                        "degradation_trades": deg["trades"],
                        "degradation_min_capacity": deg["min_capacity"],
                        "degradation_gain": _ratio_loss(total - direct_total, pure_gain),
                        "degradation": deg[OBJECTIVE.get(alg, "capacity")],
                        "welfare": welfare,
                        "min_capacity_winners": cmin_win,
                        "degradation_min_capacity_winners": (_ratio_loss(cmin_win, pure_min) if win.size else math.nan),
                        "time_network_ms": t_net,
                        **_timing_columns(t_assign, t_clear, repeats),
                    }
                )
    return RunOutput(runs=rows)


# ---------------------------------------------------------------------- Fig. 8
TRUTH_METRICS = (
    "agent",
    "partner",
    "candidates",
    "truthful_utility",
    "best_utility",
    "best_report",
    "gain",
    "peaks_at_truth",
    "n_better",
)


def run_truthfulness(params: dict[str, Any], seed: np.random.SeedSequence) -> RunOutput:
    """One network with the paper's random types; for each algorithm a random candidate
    buyer (one with an assigned relay) and a random candidate seller get each of the given
    true values, and sweep their own bid on the assigned relay (ask) over [0, vmax]
    ([0, cost top]) plus the true value itself, every other report truthful.

    The utilities of a sweep come from the mechanism's counterfactual ``scalar_responses``
    (one vectorised call per sweep, equal report by report to rerunning the auction).

    agents table: utility at every swept report. runs table: per (algorithm, rule, role,
    true value) the truthful utility, the best swept utility, whether truth is a best
    response on the sweep (``peaks_at_truth``) and the number of candidate pairs (the
    population the swept agent was drawn from)."""
    p = cast(_TruthfulnessParams, TruthfulnessParams.from_mapping(params))
    gen = np.random.default_rng(seed)
    n, m = int(p.n), int(p.m)
    lo, hi = p.costs_lo_hi
    vmax = float(p.vmax)
    step = float(p.value_grid)
    net = random_network(n, m, rng=gen, mode=p.mode, area=float(p.area))
    values = _values(net, 1.0 - gen.random((n, m)), vmax, step)
    costs = hi - (hi - lo) * gen.random(m)
    if step:
        costs = np.minimum(on_grid(costs, step), hi)
    bid_grid = np.linspace(0.0, vmax, int(p.bid_points))
    ask_grid = np.linspace(0.0, hi, int(p.ask_points))
    mechanisms = phase2_mechanisms(p.rules, p)
    rows: list[dict[str, Any]] = []
    sweeps: list[pd.DataFrame] = []
    for alg in check_names(p.algorithms, "algorithms", ASSIGNMENT_ALGORITHMS, "assignment algorithm"):
        sigma = assign(net, alg)
        cand = np.flatnonzero(sigma >= 0)
        if cand.size == 0:  # no useful pair at all: nothing to sweep
            continue
        buyer = int(gen.choice(cand))
        seller = int(sigma[int(gen.choice(cand))])
        partner_of_seller = int(np.flatnonzero(sigma == seller)[0])
        for role, agent, partner, truths, grid in (
            ("buyer", buyer, int(sigma[buyer]), _levels(p.buyer_values, "buyer_values"), bid_grid),
            ("seller", seller, partner_of_seller, _levels(p.seller_costs, "seller_costs"), ask_grid),
        ):
            for truth in truths:
                reports = np.union1d(grid, [truth])
                vals, cst = values, costs
                if role == "buyer":
                    vals = values.copy()
                    vals[agent, partner] = truth
                else:
                    cst = costs.copy()
                    cst[agent] = truth
                for mech in mechanisms:
                    res = mech.scalar_responses(net, vals, cst, sigma, role, agent, reports)
                    if role == "buyer":
                        util = np.where(res.wins, truth - res.payment, 0.0)
                    else:
                        util = np.where(res.wins, res.payment - truth, 0.0)
                    at_truth = int(np.flatnonzero(reports == truth)[0])
                    best = int(np.argmax(util))
                    u_true = float(util[at_truth])
                    rows.append(
                        {
                            "n": n,
                            "m": m,
                            "algorithm": alg,
                            "rule": mech.name,
                            "role": role,
                            "true_value": truth,
                            "agent": agent,
                            "partner": partner,
                            "candidates": int(cand.size),
                            "truthful_utility": u_true,
                            "best_utility": float(util[best]),
                            "best_report": float(reports[best]),
                            "gain": float(util[best]) - u_true,
                            "peaks_at_truth": bool(util[best] <= u_true + 1e-12),
                            "n_better": int(np.count_nonzero(util > u_true + 1e-12)),
                        }
                    )
                    sweeps.append(
                        pd.DataFrame(
                            {
                                "algorithm": alg,
                                "rule": mech.name,
                                "role": role,
                                "true_value": truth,
                                "agent": agent,
                                "report": reports,
                                "utility": util,
                                "truthful": reports == truth,
                            }
                        )
                    )
    agents = pd.concat(sweeps, ignore_index=True) if sweeps else None
    return RunOutput(runs=rows, agents=agents)


TASC_KIND = RunKind(
    name="tasc",
    fn=run_tasc,
    params=TascParams,
    metrics=TASC_METRICS,
    id_columns=("n", "m", "algorithm", "rule", "vmax"),
    chunk=100,
    timing=is_timing_run,
    description="TASC vs pure assignment on random DF networks (profit, efficiency, run time; Fig. 9-11)",
)
TASC_TRUTHFULNESS_KIND = RunKind(
    name="tasc-truthfulness",
    fn=run_truthfulness,
    params=TruthfulnessParams,
    metrics=TRUTH_METRICS,
    id_columns=("n", "m", "algorithm", "rule", "role", "true_value"),
    chunk=5,
    description="utility of a random buyer / seller vs its own report (Fig. 8)",
)

# The untyped defaults under their former names (derived from the dataclasses).
TASC_DEFAULTS: dict[str, Any] = TascParams.defaults()
TRUTH_DEFAULTS: dict[str, Any] = TruthfulnessParams.defaults()
