"""The paper's straightforward bidder against the eager extension on generated exchanges.

Every bidder of a run uses the same strategy; for each instance both strategies play it.
Prints, per strategy, the share of runs that end at ``max_rounds`` (the stall), the mean
and median rounds, and the mean and minimum final efficiency (true value of the final
trade over the efficient true value).

    python benchmarks/bench_ice_bidders.py [--instances 40] [--bidders 8] [--goods 4]
"""

from __future__ import annotations

import argparse
import statistics
import time

from auctionlab.mechanisms.exchange import random_exchange
from auctionlab.mechanisms.exchange.ice import IterativeExchange
from auctionlab.strategies import make_strategy
from auctionlab.strategies.exchange import bind


def run(pair, strategy: str, max_rounds: int):
    ex, truth = pair.bounded, pair.truth
    off = truth.node_offset
    proxies = {
        b: bind(make_strategy(strategy), truth.lower[off[i] : off[i + 1]], index=i, bidder=b)
        for i, b in enumerate(ex.names)
    }
    return IterativeExchange(ex, truth=truth, max_rounds=max_rounds).run(proxies)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--instances", type=int, default=40)
    ap.add_argument("--bidders", type=int, default=8)
    ap.add_argument("--goods", type=int, default=4)
    ap.add_argument("--max-rounds", type=int, default=30)
    ap.add_argument("--seed0", type=int, default=0)
    args = ap.parse_args()
    rows = {"straightforward": [], "eager": []}
    t0 = time.perf_counter()
    for seed in range(args.seed0, args.seed0 + args.instances):
        pair = random_exchange(args.bidders, args.goods, rng=seed, bound_width=0.5)
        for name in rows:
            res = run(pair, name, args.max_rounds)
            penalties = sum(b.penalized for r in res.history for b in r.bidders)
            rows[name].append((res.rounds, res.closed_by, res.efficiency, penalties))
            print(
                f"seed {seed} {name:15s} rounds {res.rounds:3d} {res.closed_by:20s} "
                f"efficiency {res.efficiency:.4f} penalties {penalties}",
                flush=True,
            )
    print(
        f"\n{args.instances} instances {args.bidders}x{args.goods}, max_rounds {args.max_rounds} "
        f"({time.perf_counter() - t0:.0f} s)"
    )
    for name, rs in rows.items():
        stalled = sum(c == "max_rounds" for _, c, _, _ in rs)
        rounds = [r for r, _, _, _ in rs]
        eff = [e for _, _, e, _ in rs]
        print(
            f"{name:15s} stall {stalled}/{len(rs)} = {stalled / len(rs):.0%}; rounds mean {statistics.mean(rounds):.1f} "
            f"median {statistics.median(rounds):.0f}; efficiency mean {statistics.mean(eff):.4f} min {min(eff):.4f}; "
            f"penalties {sum(p for *_, p in rs)}"
        )


if __name__ == "__main__":
    main()
