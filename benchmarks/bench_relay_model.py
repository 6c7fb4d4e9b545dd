"""RelayMarket.step() against the raw mechanism call it wraps, as ratios measured in one run.
The first case is the issue's; the others show what changes the ratio.

Goal (issue 5): step / raw <= 1.2 with n=100, m=150, all truthful, static channel, same
mechanism, DataCollector (model and agent tables) included.

"Raw" is ``tasc(network, bids, asks, "mwm")`` — phases 1 and 2 — on the step's own
inputs. A static-channel step reuses the phase-1 assignment (it never reads reports), so
it calls phase 2 only; the second ratio compares with that call, ``clear(bids, asks,
sigma)``, to show the wrapper's own overhead honestly. Each timing is the median of
``--steps`` calls; timings are interleaved so machine noise hits both sides alike.
Run: .venv/bin/python benchmarks/bench_relay_model.py [--steps 400]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from auctionlab.market.relay.model import RelayMarket
from auctionlab.market.relay.tasc import clear, tasc, trade_reduction


def timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def measure(steps: int, *, types: str, mechanism: str = "tasc", population=None,
            channel: str = "static") -> tuple[float, float, float]:
    model = RelayMarket(n=100, m=150, mechanism=mechanism, channel=channel, types=types,
                        population=population, rng=2026)
    phase2 = clear if mechanism == "tasc" else trade_reduction
    for _ in range(20):  # warm-up (first collect validates reporters)
        model.step()
    t_step, t_raw, t_p2 = [], [], []
    for _ in range(steps):
        t_step.append(timed(model.step))
        net, b, a, s = model.network, model.bids, model.asks, model.sigma
        t_raw.append(timed(lambda: tasc(net, b, a, "mwm", rule=mechanism)))
        t_p2.append(timed(lambda: phase2(b, a, s)))
    med = np.median
    return med(t_step), med(t_raw), med(t_p2)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=400)
    args = ap.parse_args()
    print(f"n=100, m=150, median of {args.steps} steps (DataCollector included)")
    cases = [
        ("tasc, all truthful, types redrawn each step", dict(types="redraw")),
        ("tasc, all truthful, fixed types", dict(types="fixed")),
        ("trade_reduction, all truthful, types redrawn", dict(types="redraw", mechanism="trade_reduction")),
        ("tasc, 50% scale(0.9) buyers+sellers, types redrawn",
         dict(types="redraw", population={
             "buyer": [{"strategy": "scale", "params": {"theta": 0.9}, "share": 0.5},
                       {"strategy": "truthful", "share": 0.5}],
             "seller": [{"strategy": "scale", "params": {"theta": 1.1}, "share": 0.5},
                        {"strategy": "truthful", "share": 0.5}]})),
        ("tasc, all truthful, REDRAWN channel (step also draws a network: no goal)",
         dict(types="redraw", channel="redraw")),
    ]
    for name, kw in cases:
        step, raw, p2 = measure(args.steps, **kw)
        print(f"{name}:")
        print(f"  step {step * 1e6:7.1f} us | raw tasc (phase 1+2) {raw * 1e6:7.1f} us"
              f" | phase 2 alone {p2 * 1e6:6.1f} us")
        print(f"  step / raw mechanism call   {step / raw:6.3f}  (goal <= 1.2)")
        print(f"  step / phase-2 call it makes {step / p2:6.3f}  (wrapper overhead; no goal)")


if __name__ == "__main__":
    main()
