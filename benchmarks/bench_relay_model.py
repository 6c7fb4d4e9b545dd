"""RelayMarket.step() against the raw mechanism call it wraps, as ratios measured in one run.
The first three cases are the goal's; the others show what changes the ratio.

Goal: step / raw <= 1.2 with n=100, m=150, static channel, types redrawn, same mechanism,
the model's DataCollector included, for an all-truthful AND a mixed population. "Mixed" is
measured twice: half the buyers shade and half the sellers inflate (``MIXED``), and a
spread of scale / shift / noise deviations (``DEVIATIONS``).

The goal applies to the configuration the studies run: ``collect_agents="columns"``
(Mesa's DataCollector with its model reporters, the agent rows written as whole columns
into its ``agents`` table: the same rows as Mesa's per-agent reporters; what
``auctionlab.studies.relay_market`` uses) — and to ``collect_agents=False``. Mesa's
per-agent reporters (``collect_agents=True``: one Python call per agent and column, what
``mesa.batch_run`` reads) are printed for reference: with 250 agents and 8 columns they
cost about as much as the mechanism itself, whatever the strategies do, so no goal.

Strategies are asked in groups: agents whose strategies share a batch key (same class and
parameters, no per-agent state) get one ``Strategy.report_many`` call per group.

"Raw" is ``tasc(network, bids, asks, "mwm")`` — phases 1 and 2 — on the step's own
inputs. A static-channel step reuses the phase-1 assignment (it never reads reports), so
it calls phase 2 only; the second ratio compares with that call, ``clear(bids, asks,
sigma)``, to show the wrapper's own overhead honestly. Each timing is the median of
``--steps`` calls; timings are interleaved so machine noise hits both sides alike.
Results depend on how loaded the machine is (Python-level agent work slows down more than
NumPy under load): quote same-run ratios and the load average.
Run from the repository root: PYTHONPATH=. .venv/bin/python benchmarks/bench_relay_model.py [--steps 400] [--only mixed]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from auctionlab.mechanisms.relay.tasc import clear, tasc, trade_reduction
from auctionlab.models.relay import RelayMarket

MIXED = {
    "buyer": [{"strategy": "scale", "params": {"theta": 0.9}, "share": 0.5}, {"strategy": "truthful", "share": 0.5}],
    "seller": [{"strategy": "scale", "params": {"theta": 1.1}, "share": 0.5}, {"strategy": "truthful", "share": 0.5}],
}

DEVIATIONS = {
    "buyer": [
        {"strategy": "scale", "params": {"theta": 0.9}, "share": 0.25},
        {"strategy": "shift", "params": {"delta": -0.2}, "share": 0.25},
        {"strategy": "noise", "params": {"sigma": 0.2}, "share": 0.25},
        {"strategy": "truthful", "share": 0.25},
    ],
    "seller": [
        {"strategy": "scale", "params": {"theta": 1.1}, "share": 0.25},
        {"strategy": "shift", "params": {"delta": 0.1}, "share": 0.25},
        {"strategy": "noise", "params": {"sigma": 0.2}, "share": 0.25},
        {"strategy": "truthful", "share": 0.25},
    ],
}


def timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def measure(
    steps: int,
    *,
    types: str,
    mechanism: str = "tasc",
    population=None,
    channel: str = "static",
    collect_agents: bool = True,
) -> tuple[float, float, float]:
    model = RelayMarket(
        n=100,
        m=150,
        mechanism=mechanism,
        channel=channel,
        types=types,
        population=population,
        collect_agents=collect_agents,
        rng=2026,
    )
    phase2 = clear if mechanism == "tasc" else trade_reduction
    for _ in range(20):  # warm-up (first collect validates reporters)
        model.step()
    t_step, t_raw, t_p2 = [], [], []
    for _ in range(steps):
        t_step.append(timed(model.step))
        net, b, a, s = model.network, model.bids, model.asks, model.sigma
        t_raw.append(timed(lambda net=net, b=b, a=a: tasc(net, b, a, "mwm", rule=mechanism)))
        t_p2.append(timed(lambda b=b, a=a, s=s: phase2(b, a, s)))
    med = np.median
    return med(t_step), med(t_raw), med(t_p2)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=400)
    ap.add_argument("--only", default="", help="run only the cases whose name contains this")
    args = ap.parse_args()
    print(f"n=100, m=150, median of {args.steps} steps (DataCollector included)")
    cases = [
        ("tasc, all truthful, types redrawn, agent table as columns", {"types": "redraw", "collect_agents": "columns"}),
        (
            "tasc, mixed, types redrawn, agent table as columns",
            {"types": "redraw", "population": MIXED, "collect_agents": "columns"},
        ),
        (
            "tasc, mixed scale/shift/noise, types redrawn, agent table as columns",
            {"types": "redraw", "population": DEVIATIONS, "collect_agents": "columns"},
        ),
        ("tasc, all truthful, types redrawn, Mesa agent reporters", {"types": "redraw"}),
        ("tasc, mixed, types redrawn, Mesa agent reporters", {"types": "redraw", "population": MIXED}),
        ("tasc, all truthful, types redrawn, agent table off", {"types": "redraw", "collect_agents": False}),
        (
            "tasc, mixed, types redrawn, agent table off",
            {"types": "redraw", "population": MIXED, "collect_agents": False},
        ),
        ("tasc, all truthful, fixed types, agent table as columns", {"types": "fixed", "collect_agents": "columns"}),
        (
            "trade_reduction, all truthful, types redrawn, agent table as columns",
            {"types": "redraw", "mechanism": "trade_reduction", "collect_agents": "columns"},
        ),
        (
            "tasc, all truthful, REDRAWN channel (step also draws a network: no goal)",
            {"types": "redraw", "channel": "redraw", "collect_agents": "columns"},
        ),
    ]
    for name, kw in cases:
        if args.only not in name:
            continue
        step, raw, p2 = measure(args.steps, **kw)
        print(f"{name}:")
        print(
            f"  step {step * 1e6:7.1f} us | raw tasc (phase 1+2) {raw * 1e6:7.1f} us | phase 2 alone {p2 * 1e6:6.1f} us"
        )
        goal = "(no goal)" if "Mesa agent reporters" in name or "REDRAWN" in name else "(goal <= 1.2)"
        print(f"  step / raw mechanism call   {step / raw:6.3f}  {goal}")
        print(f"  step / phase-2 call it makes {step / p2:6.3f}  (wrapper overhead; no goal)")


if __name__ == "__main__":
    main()
