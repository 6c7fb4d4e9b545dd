"""Relay-market run kinds for the TASC paper's experiments (SPEC A7).

These call the mechanisms directly — :func:`~auctionlab.market.relay.network.random_network`,
:func:`~auctionlab.market.relay.tasc.assign` and the phase-2 rules — not the Mesa model:
a paper-scale sweep is ~50 000 independent single-shot auctions, and the Mesa layer's
per-step bookkeeping (agents, data collection) would cost more than the auctions. Each run
is one random network; every requested assignment algorithm, phase-2 rule and Vmax level
is evaluated on that same network (common random numbers: differences between
algorithms are not blurred by different instances).

Vmax levels share one uniform draw: values = Vmax · u with u ~ U(0, 1] on useful pairs,
which is exactly uniform on (0, Vmax] for each level (SPEC A7), and makes the
degradation-vs-Vmax curve (Fig. 10(b)) a within-instance comparison.
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np
import pandas as pd

from auctionlab.experiments.kinds import (
    RunKind,
    RunOutput,
    choice,
    cost_range,
    float_levels,
    names_in,
    positive_float,
    positive_int,
)
from auctionlab.errors import ConfigError
from auctionlab.market.relay.assignment import ASSIGNMENT_ALGORITHMS
from auctionlab.market.relay.network import MODES, random_network
from auctionlab.market.relay.tasc import PHASE2_RULES, assign

MAX_NODES = 5000  # n or m beyond this would need > 200 MB per capacity matrix

# The efficiency measure each assignment algorithm optimises (SPEC A7, Fig. 10).
OBJECTIVE = {"mwm": "capacity", "mm": "trades", "ora": "min_capacity"}

TASC_DEFAULTS: dict[str, Any] = {
    "n": 100, "m": 100, "mode": "DF", "area": 1000.0,
    "algorithms": ["mwm", "ora", "mm"], "rules": ["tasc"],
    "vmax": 4.0, "cost_range": [0.0, 1.0],
}

TASC_METRICS = (
    "candidates", "k", "trades", "buyer_price", "seller_price", "profit", "zero_profit",
    "total_capacity", "pure_total_capacity", "min_capacity", "pure_min_capacity", "pure_trades",
    "degradation_capacity", "degradation_trades", "degradation_min_capacity", "degradation_gain",
    "degradation", "welfare",
    "time_network_ms", "time_assign_ms", "time_clear_ms", "time_tasc_ms",
)


def _check_common(p: dict[str, Any]) -> None:
    positive_int(p, "n", maximum=MAX_NODES)
    positive_int(p, "m", maximum=MAX_NODES)
    choice(p, "mode", MODES)
    positive_float(p, "area")
    names_in(p, "algorithms", ASSIGNMENT_ALGORITHMS, "assignment algorithm")
    names_in(p, "rules", PHASE2_RULES, "phase-2 rule")
    cost_range(p)


def check_tasc(p: dict[str, Any]) -> None:
    _check_common(p)
    float_levels(p, "vmax")


def _ratio_loss(auction: float, pure: float) -> float:
    """1 − auction / pure: the fraction of the pure assignment's efficiency the auction loses."""
    return 1.0 - auction / pure if pure > 0 else math.nan


def run_tasc(p: dict[str, Any], seed: np.random.SeedSequence) -> RunOutput:
    """One network; for each algorithm × Vmax level × rule: profit, prices, trades and the
    efficiency of TASC against the pure assignment (total capacity, trades, min capacity)."""
    gen = np.random.default_rng(seed)
    n, m = int(p["n"]), int(p["m"])
    lo, hi = cost_range(p)
    t0 = time.perf_counter()
    net = random_network(n, m, rng=gen, mode=p["mode"], area=float(p["area"]))
    t_net = (time.perf_counter() - t0) * 1e3
    u = 1.0 - gen.random((n, m))  # U(0, 1]
    costs = hi - (hi - lo) * gen.random(m)  # U(lo, hi]
    useful = net.useful
    direct_total = float(net.direct.sum())
    rows: list[dict[str, Any]] = []
    for alg in names_in(p, "algorithms", ASSIGNMENT_ALGORITHMS, "assignment algorithm"):
        t0 = time.perf_counter()
        sigma = assign(net, alg)
        t_assign = (time.perf_counter() - t0) * 1e3
        on = sigma >= 0
        pure = net.capacities(sigma)
        pure_total, pure_min, pure_trades = float(pure.sum()), float(pure.min()), float(on.sum())
        pure_gain = pure_total - direct_total
        for vmax in float_levels(p, "vmax"):
            values = np.where(useful, vmax * u, 0.0)
            for rule in p["rules"]:
                t0 = time.perf_counter()
                out = PHASE2_RULES[rule](values, costs, sigma)
                t_clear = (time.perf_counter() - t0) * 1e3
                cap = net.capacities(out.traded)
                total, cmin, trades = float(cap.sum()), float(cap.min()), float(out.n_trades)
                win = np.flatnonzero(out.buyer_wins)
                welfare = float(values[win, sigma[win]].sum() - costs[sigma[win]].sum())
                deg = {
                    "capacity": _ratio_loss(total, pure_total),
                    "trades": _ratio_loss(trades, pure_trades),
                    "min_capacity": _ratio_loss(cmin, pure_min),
                }
                rows.append({
                    "n": n, "m": m, "algorithm": alg, "rule": rule, "vmax": vmax,
                    "candidates": int(on.sum()), "k": int(out.k), "trades": int(out.n_trades),
                    "buyer_price": math.nan if out.buyer_price is None else float(out.buyer_price),
                    "seller_price": math.nan if out.seller_price is None else float(out.seller_price),
                    "profit": float(out.profit), "zero_profit": bool(out.profit == 0.0),
                    "total_capacity": total, "pure_total_capacity": pure_total,
                    "min_capacity": cmin, "pure_min_capacity": pure_min, "pure_trades": pure_trades,
                    "degradation_capacity": deg["capacity"], "degradation_trades": deg["trades"],
                    "degradation_min_capacity": deg["min_capacity"],
                    "degradation_gain": _ratio_loss(total - direct_total, pure_gain),
                    "degradation": deg[OBJECTIVE.get(alg, "capacity")],
                    "welfare": welfare,
                    "time_network_ms": t_net, "time_assign_ms": t_assign, "time_clear_ms": t_clear,
                    "time_tasc_ms": t_assign + t_clear,
                })
    return RunOutput(runs=rows)


# ---------------------------------------------------------------------- Fig. 8
TRUTH_DEFAULTS: dict[str, Any] = {
    "n": 100, "m": 100, "mode": "DF", "area": 1000.0,
    "algorithms": ["mwm", "ora", "mm"], "rules": ["tasc", "trade_reduction"],
    "vmax": 4.0, "cost_range": [0.0, 1.0],
    "buyer_values": [1.0, 3.0], "seller_costs": [0.3, 0.7],
    "bid_points": 41, "ask_points": 41,
}

TRUTH_METRICS = ("agent", "partner", "truthful_utility", "best_utility", "best_report", "gain",
                 "peaks_at_truth", "n_better")


def check_truthfulness(p: dict[str, Any]) -> None:
    _check_common(p)
    vmax = positive_float(p, "vmax")
    lo, hi = cost_range(p)
    for v in float_levels(p, "buyer_values"):
        if v > vmax:
            raise ConfigError(f"buyer value {v} is above vmax = {vmax}: the bid sweep covers [0, vmax]")
    for c in float_levels(p, "seller_costs"):
        if c > hi:
            raise ConfigError(f"seller cost {c} is above the cost range's top {hi}: the ask sweep covers [0, {hi}]")
    for key in ("bid_points", "ask_points"):
        if positive_int(p, key, maximum=10_000) < 2:
            raise ConfigError(f"{key} must be at least 2")


def run_truthfulness(p: dict[str, Any], seed: np.random.SeedSequence) -> RunOutput:
    """One network with the paper's random types; for each algorithm a random candidate
    buyer (one with an assigned relay) and a random candidate seller get each of the given
    true values, and sweep their own bid on the assigned relay (ask) over [0, vmax]
    ([0, cost top]) plus the true value itself, every other report truthful.

    agents table: utility at every swept report. runs table: per (algorithm, rule, role,
    true value) the truthful utility, the best swept utility and whether truth is a best
    response on the sweep (``peaks_at_truth``)."""
    gen = np.random.default_rng(seed)
    n, m = int(p["n"]), int(p["m"])
    lo, hi = cost_range(p)
    vmax = float(p["vmax"])
    net = random_network(n, m, rng=gen, mode=p["mode"], area=float(p["area"]))
    values = np.where(net.useful, vmax * (1.0 - gen.random((n, m))), 0.0)
    costs = hi - (hi - lo) * gen.random(m)
    bid_grid = np.linspace(0.0, vmax, int(p["bid_points"]))
    ask_grid = np.linspace(0.0, hi, int(p["ask_points"]))
    rows: list[dict[str, Any]] = []
    sweeps: list[pd.DataFrame] = []
    for alg in names_in(p, "algorithms", ASSIGNMENT_ALGORITHMS, "assignment algorithm"):
        sigma = assign(net, alg)
        cand = np.flatnonzero(sigma >= 0)
        if cand.size == 0:  # no useful pair at all: nothing to sweep
            continue
        buyer = int(gen.choice(cand))
        seller = int(sigma[int(gen.choice(cand))])
        partner_of_seller = int(np.flatnonzero(sigma == seller)[0])
        for role, agent, partner, truths, grid in (
            ("buyer", buyer, int(sigma[buyer]), float_levels(p, "buyer_values"), bid_grid),
            ("seller", seller, partner_of_seller, float_levels(p, "seller_costs"), ask_grid),
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
                for rule in p["rules"]:
                    clear = PHASE2_RULES[rule]
                    util = np.empty(reports.size)
                    for k, r in enumerate(reports):
                        if role == "buyer":
                            bids = vals.copy()
                            bids[agent, partner] = r
                            out = clear(bids, cst, sigma)
                            util[k] = truth - out.buyer_payments[agent] if out.buyer_wins[agent] else 0.0
                        else:
                            asks = cst.copy()
                            asks[agent] = r
                            out = clear(vals, asks, sigma)
                            util[k] = out.seller_payments[agent] - truth if out.seller_wins[agent] else 0.0
                    at_truth = int(np.flatnonzero(reports == truth)[0])
                    best = int(np.argmax(util))
                    u_true = float(util[at_truth])
                    rows.append({
                        "n": n, "m": m, "algorithm": alg, "rule": rule, "role": role, "true_value": truth,
                        "agent": agent, "partner": partner, "truthful_utility": u_true,
                        "best_utility": float(util[best]), "best_report": float(reports[best]),
                        "gain": float(util[best]) - u_true, "peaks_at_truth": bool(util[best] <= u_true + 1e-12),
                        "n_better": int(np.count_nonzero(util > u_true + 1e-12)),
                    })
                    sweeps.append(pd.DataFrame({
                        "algorithm": alg, "rule": rule, "role": role, "true_value": truth, "agent": agent,
                        "report": reports, "utility": util, "truthful": reports == truth,
                    }))
    agents = pd.concat(sweeps, ignore_index=True) if sweeps else None
    return RunOutput(runs=rows, agents=agents)


TASC_KIND = RunKind(
    name="tasc", fn=run_tasc, defaults=TASC_DEFAULTS, checker=check_tasc, metrics=TASC_METRICS,
    id_columns=("n", "m", "algorithm", "rule", "vmax"), chunk=100,
    description="TASC vs pure assignment on random DF networks (profit, efficiency, run time; Fig. 9-11)",
)
TASC_TRUTHFULNESS_KIND = RunKind(
    name="tasc-truthfulness", fn=run_truthfulness, defaults=TRUTH_DEFAULTS, checker=check_truthfulness,
    metrics=TRUTH_METRICS, id_columns=("n", "m", "algorithm", "rule", "role", "true_value"), chunk=5,
    description="utility of a random buyer / seller vs its own bid / ask (Fig. 8)",
)
