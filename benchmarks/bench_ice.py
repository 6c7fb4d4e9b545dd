"""ICE speed: rounds to close and wall time with straightforward proxies (ρ = 0.5).

Goals (issue 4): the medium instance (20 bidders × 8 goods) closes in ≤ 30 s on a 2-core
machine, and time outside HiGHS is ≤ 50 % of the total. Per-round breakdown: winner
determination (PP/PO/provisional/efficiency), payments (Threshold at both bounds, VCG at
v^α), pricing (ACC/FAIR/BAL with constraint generation), activity rule (RP checks and
penalties). Everything is measured in this one run.

Run: .venv/bin/python benchmarks/bench_ice.py [--sizes small,medium,large] [--budget 600] [--workers 2]
"""

from __future__ import annotations

import argparse
import time
from concurrent.futures import ProcessPoolExecutor

from auctionlab.market.exchange import random_exchange
from auctionlab.market.exchange.ice import IterativeExchange, rounds_frame
from auctionlab.strategies.exchange import StraightforwardProxy

SIZES = {"small": (8, 4), "medium": (20, 8), "large": (50, 16)}


def run(n: int, m: int, seed: int, budget: float, executor=None) -> float:
    pair = random_exchange(n, m, rng=seed, bound_width=0.5)
    ex, truth = pair.bounded, pair.truth
    t0 = time.perf_counter()
    ice = IterativeExchange(ex, truth=truth, cutoff_eff=0.95, cutoff_thresh=0.9, max_rounds=50, executor=executor)
    build = time.perf_counter() - t0
    proxies = {b: StraightforwardProxy(truth.bidder(b).tree.lower, 0.5) for b in ex.names}
    while not ice.done and time.perf_counter() - t0 < budget:
        ice.step(proxies)
    wall = time.perf_counter() - t0
    f = rounds_frame(ice.history)
    parts = ["activity", "wd", "payments", "pricing"]
    tot = {p: f[f"time_{p}"].sum() for p in parts}
    highs = f["time_highs"].sum() if "time_highs" in f else float("nan")
    status = ice.result().closed_by if ice.done else f"NOT CLOSED within the {budget:.0f} s budget"
    eff = ice.result().efficiency if ice.done else float("nan")
    print(f"{n:>3} bidders x {m:>2} goods: {len(f)} rounds, {wall:7.1f} s wall (model build {build:.2f} s), "
          f"{status}, final efficiency {eff:.4f}")
    print("    per round (mean s): " + ", ".join(f"{p} {tot[p] / len(f):.3f}" for p in parts)
          + f"; HiGHS {highs / len(f):.3f}")
    print(f"    time outside HiGHS: {1 - highs / wall:.1%} of the wall time (goal <= 50 %; "
          f"with workers, HiGHS time is the main process's share only)")
    return wall


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="small,medium,large")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--budget", type=float, default=600.0, help="wall-time cap per size, seconds")
    ap.add_argument("--workers", type=int, default=0, help="also run with N worker processes for the payments")
    args = ap.parse_args()
    for name in args.sizes.split(","):
        n, m = SIZES[name]
        print(f"== {name}")
        serial = run(n, m, args.seed, args.budget)
        if args.workers:
            with ProcessPoolExecutor(args.workers) as pool:
                print(f"   with {args.workers} worker processes for the V_-i solves:")
                parallel = run(n, m, args.seed, args.budget, pool)
            print(f"    serial / parallel wall time: {serial / parallel:.2f}")


if __name__ == "__main__":
    main()
