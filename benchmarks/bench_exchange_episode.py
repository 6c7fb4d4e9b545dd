"""One exchange episode as the studies run it: ``ExchangeMarket`` stepped to its close.

A generated exchange (8 bidders x 4 goods by default, bounds of relative width 0.5),
every bidder the paper's bidder (the ``straightforward`` registry name), cutoffs 0.95 /
0.9, ``max_rounds`` 30, αthresh every round (the convergence study's setting). Each
episode builds a fresh model on the same instance and runs it to its close; the script
prints the time per episode (median and spread over ``--episodes``), the rounds and how
the episode closed, and, on the same instance in the same process, the raw engine
(``run_ice`` with bound proxies) for the same episode: the ratio model / engine is what the
Mesa layer (agents, round record, DataCollector) costs.

Run: .venv/bin/python benchmarks/bench_exchange_episode.py [--n 8] [--m 4] [--episodes 3] [--bidder straightforward]
"""

from __future__ import annotations

import argparse
import statistics
import time

from auctionlab.mechanisms.exchange import random_exchange
from auctionlab.mechanisms.exchange.ice import run_ice
from auctionlab.models.exchange import ExchangeMarket
from auctionlab.strategies.exchange import bind
from auctionlab.strategies.registry import strategy_from_spec

PARAMS = {"cutoff_eff": 0.95, "cutoff_thresh": 0.9, "max_rounds": 30, "track_alpha_thresh": "always"}


def episode(pair, bidder: str):
    t0 = time.perf_counter()
    model = ExchangeMarket(exchange=pair, population=bidder, rng=0, **PARAMS)
    res = model.run_to_close()
    return time.perf_counter() - t0, res


def engine(pair, bidder: str):
    truth = pair.truth
    proxies = {
        b: bind(strategy_from_spec(bidder), truth.bidder(b).tree.lower, index=k, bidder=b)
        for k, b in enumerate(truth.names)
    }
    t0 = time.perf_counter()
    res = run_ice(pair.bounded, proxies, truth=truth, **PARAMS)
    return time.perf_counter() - t0, res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=8)
    ap.add_argument("--m", type=int, default=4)
    ap.add_argument("--episodes", type=int, default=3)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--bidder", default="straightforward")
    args = ap.parse_args()
    pair = random_exchange(args.n, args.m, rng=args.seed, bound_width=0.5)
    times, ratios = [], []
    for _ in range(args.episodes):
        t, res = episode(pair, args.bidder)
        te, ref = engine(pair, args.bidder)
        times.append(t)
        ratios.append(t / te)
        same = res.rounds == ref.rounds and res.payments == ref.payments
    print(
        f"exchange episode {args.n}x{args.m} ({args.bidder}): {res.rounds} rounds, closed by {res.closed_by}, "
        f"efficiency {res.efficiency:.4f}"
    )
    print(
        f"  time per episode: median {statistics.median(times):.2f} s (min {min(times):.2f}, max {max(times):.2f}) "
        f"over {len(times)} episodes, {statistics.median(times) / res.rounds * 1e3:.0f} ms per round"
    )
    print(
        f"  model / raw engine, same process, paired: median {statistics.median(ratios):.3f} "
        f"(identical outcome: {'yes' if same else 'no'})"
    )


if __name__ == "__main__":
    main()
