"""ICE speed: the optimised exchange against the same run with every saving switched off.

For each size, one process runs the same generated exchange (straightforward proxies,
ρ = 0.5, cutoffs 0.95 / 0.9) twice:

* optimised — the defaults: λ as continuous columns in winner determination, one-bidder
  problems by enumerating satisfaction patterns, αthresh only when the closing rule needs it;
* baseline — ``integer_lambda=True``, ``pattern_limit=0`` (every one-bidder problem a MIP),
  ``track_alpha_thresh="always"``.

and prints ``ICE <size>: optimised/baseline = X (identical outcome: yes|no)``, where the
outcome is the number of rounds, how the exchange closed, the final trade and payments and
every round's provisional trade and prices (within the pricing ε). It then prints the
optimised run's solve counts per round by kind (``rp`` and ``rwd`` are one-bidder problems,
answered by enumeration in the optimised run and by MIPs in the baseline; ``lp`` the price
LPs) and its wall time. With ``--solver NAME`` the optimised run uses that backend (the
baseline stays on HiGHS, the default: a faster solver is one of the savings); with
``--workers N`` a third run gives the optimised run's V_-i solves N worker processes and is
compared with the baseline too. Goals on a 2-core machine: medium ≤ 0.5 with HiGHS, ≤ 0.1
with a commercial backend.

Run: .venv/bin/python benchmarks/bench_ice.py [--sizes small,medium] [--solver highs] [--workers 2]
"""

from __future__ import annotations

import argparse
import time
from concurrent.futures import ProcessPoolExecutor

import pandas as pd

from auctionlab.mechanisms.exchange import random_exchange
from auctionlab.mechanisms.exchange.ice import IterativeExchange, outcome_differences, rounds_frame
from auctionlab.strategies.exchange import StraightforwardProxy

SIZES = {"small": (8, 4), "medium": (20, 8), "large": (50, 16)}
BASELINE = {"integer_lambda": True, "pattern_limit": 0, "track_alpha_thresh": "always"}


def run(n: int, m: int, seed: int, budget: float, **params):
    pair = random_exchange(n, m, rng=seed, bound_width=0.5)
    ex, truth = pair.bounded, pair.truth
    t0, c0 = time.perf_counter(), time.process_time()
    ice = IterativeExchange(ex, truth=truth, cutoff_eff=0.95, cutoff_thresh=0.9, max_rounds=50, **params)
    proxies = {b: StraightforwardProxy(truth.bidder(b).tree.lower, 0.5) for b in ex.names}
    while not ice.done and time.perf_counter() - t0 < budget:
        ice.step(proxies)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    return ice, wall, cpu


def describe(label: str, ice: IterativeExchange, wall: float, cpu: float) -> None:
    status = ice.result().closed_by if ice.done else "NOT CLOSED within the budget"
    eff = f"{ice.result().efficiency:.4f}" if ice.done else "n/a"
    print(
        f"    {label:<9} {len(ice.history):>3} rounds, {wall:8.1f} s wall, {cpu:8.1f} s CPU (this process), "
        f"{status}, efficiency {eff}"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="small,medium")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--budget", type=float, default=900.0, help="wall-time cap per run, seconds")
    ap.add_argument("--solver", default="highs")
    ap.add_argument("--workers", type=int, default=0, help="also run the optimised exchange with N payment workers")
    args = ap.parse_args()
    for name in args.sizes.split(","):
        n, m = SIZES[name]
        print(f"== {name}: {n} bidders x {m} goods, seed {args.seed}, optimised on {args.solver}, baseline on highs")
        opt, w_opt, c_opt = run(n, m, args.seed, args.budget, solver=args.solver)
        describe("optimised", opt, w_opt, c_opt)
        base, w_base, c_base = run(n, m, args.seed, args.budget, solver="highs", **BASELINE)
        describe("baseline", base, w_base, c_base)
        diffs = outcome_differences(opt.result(), base.result()) if opt.done and base.done else ["a run did not close"]
        print(
            f"ICE {name}: optimised/baseline = {w_opt / w_base:.3f} wall, {c_opt / c_base:.3f} CPU "
            f"(identical outcome: {'yes' if not diffs else 'no'})"
        )
        for d in diffs[:10]:
            print(f"    differs: {d}")
        f = rounds_frame(opt.history)
        counts = [c for c in f.columns if c.startswith("solves_")]
        if counts:
            print("    solves per round (optimised):")
            print(f[["round", *counts]].to_string(index=False).replace("\n", "\n      ").join(["      ", ""]))
            g = rounds_frame(base.history)
            tot = pd.DataFrame({"optimised": f[counts].sum(), "baseline": g[counts].sum()})
            print("    solves in the whole run:\n      " + tot.to_string().replace("\n", "\n      "))
        if name == "medium":
            print(f"    medium run wall time (optimised): {w_opt:.1f} s")
        if args.workers:
            with ProcessPoolExecutor(args.workers) as pool:
                par, w_par, c_par = run(n, m, args.seed, args.budget, solver=args.solver, executor=pool)
            describe(f"{args.workers} workers", par, w_par, c_par)
            same = not outcome_differences(opt.result(), par.result(), exact=True)
            print(
                f"ICE {name}: parallel/serial = {w_par / w_opt:.3f} wall (identical outcome: {'yes' if same else 'no'})"
            )
            diffs = outcome_differences(par.result(), base.result()) if par.done and base.done else ["did not close"]
            print(
                f"ICE {name}: optimised with {args.workers} workers/baseline = {w_par / w_base:.3f} wall "
                f"(identical outcome: {'yes' if not diffs else 'no'})"
            )


if __name__ == "__main__":
    main()
