"""Enumerated one-bidder models (patterns.py) against the one-bidder MIP.

Three measurements, all in this one run:

1. ``counts``: the distribution of valid-pattern counts per tree on generated instances
   at the ICE benchmark sizes (8×4, 20×8, 50×16), and how many trees exceed the limit;
2. ``speed``: per-solve time of R-WD (``best``), an RP check and node prices, MIP vs
   patterns, on the same trees and prices (same-run ratio);
3. ``identity``: ICE end to end with straightforward proxies (ρ = 0.5, bound width 0.5,
   cutoffs 0.95/0.9), once with the MIP bidder models and once with
   :func:`one_bidder_model`, comparing rounds, final trades, payments (1e-6), per-round
   provisional trades, RP outcomes, bounds and prices (within the pricing ε).

Run: .venv/bin/python benchmarks/bench_patterns.py [--parts counts,speed,identity] [--seeds 1-7]
"""

from __future__ import annotations

import argparse
import functools
import random
import time

import numpy as np

from auctionlab.mechanisms.exchange import ice as ice_module
from auctionlab.mechanisms.exchange import random_exchange
from auctionlab.mechanisms.exchange.activity import node_prices, revealed_preference
from auctionlab.mechanisms.exchange.bidder import BidderProgram
from auctionlab.mechanisms.exchange.ice import IterativeExchange
from auctionlab.mechanisms.exchange.patterns import DEFAULT_LIMIT, PatternTable, fits, one_bidder_model, pattern_counts
from auctionlab.strategies.exchange import StraightforwardProxy

SIZES = [(8, 4), (20, 8), (50, 16)]
SMALL = [(5, 3), (6, 3), (8, 4)]


def counts(seeds: range) -> None:
    print(f"== pattern counts per tree (empty pattern included; limit {DEFAULT_LIMIT})")
    for n, m in SIZES:
        tot = []
        for seed in seeds:
            ex = random_exchange(n, m, rng=seed, bound_width=0.5).bounded
            tot += [1 + pattern_counts(b.tree)[0] for b in ex.bidders]
        t = np.array(tot)
        q = np.percentile(t, [10, 25, 50, 75, 90, 99]).astype(int).tolist()
        print(
            f"{n:>3}x{m:<2}: {len(t)} trees; p10/25/50/75/90/99 {q}, max {t.max()}; "
            f"> 256: {(t > 256).mean():.1%}, > {DEFAULT_LIMIT}: {(t > DEFAULT_LIMIT).mean():.1%}"
        )


def speed(seed: int, reps: int = 20) -> None:
    print("== per-solve time, MIP vs patterns (20x8, every bidder, random prices)")
    ex = random_exchange(20, 8, rng=seed, bound_width=0.5).bounded
    r = random.Random(seed)
    total = ex.endowments.sum(axis=0)
    times = {k: [0.0, 0.0] for k in ("best", "rp", "node_prices", "node_prices, model built once")}
    for i, b in enumerate(ex.bidders):
        if not fits(pattern_counts(b.tree), DEFAULT_LIMIT):
            continue
        bm, pm = BidderProgram.for_bidder(ex, i), PatternTable.for_bidder(ex, i)
        x0 = ex.endowments[i]
        prices = [np.array([r.uniform(0, 25) for _ in range(ex.n_goods)]) for _ in range(reps)]
        for slot, model in enumerate((bm, pm)):
            t0 = time.perf_counter()
            for p in prices:
                model.best(b.tree.lower, p)
            times["best"][slot] += time.perf_counter() - t0
            t0 = time.perf_counter()
            for p in prices:
                revealed_preference(model, p, b.tree.lower, b.tree.upper)
            times["rp"][slot] += time.perf_counter() - t0
        for slot, limit in enumerate((0, DEFAULT_LIMIT)):
            t0 = time.perf_counter()
            for p in prices:
                node_prices(b.tree, x0, total - x0, p, limit=limit)
            times["node_prices"][slot] += time.perf_counter() - t0
        t0 = time.perf_counter()
        for p in prices:
            pm.node_prices(p)
        times["node_prices, model built once"][1] += time.perf_counter() - t0
        times["node_prices, model built once"][0] = times["node_prices"][0]
    for k, (mip, pat) in times.items():
        print(f"  {k:<30} MIP {mip:7.3f} s, patterns {pat:7.3f} s: {mip / pat:6.1f}x")


def _run(n: int, m: int, seed: int, patterns: bool):
    # the MIP run also takes its penalties' node prices from the MIP (one model per subtree)
    ice_module.node_prices = node_prices if patterns else functools.partial(node_prices, limit=0)
    pair = random_exchange(n, m, rng=seed, bound_width=0.5)
    ice = IterativeExchange(pair.bounded, truth=pair.truth, cutoff_eff=0.95, cutoff_thresh=0.9, max_rounds=50)
    if patterns:  # what an ICE option would do: build the enumerated models instead
        ice.bidder_models = [one_bidder_model(ice.exchange, i) for i in range(ice.exchange.n_bidders)]
    proxies = {b: StraightforwardProxy(pair.truth.bidder(b).tree.lower, 0.5) for b in pair.bounded.names}
    t0 = time.perf_counter()
    res = ice.run(proxies)
    return res, time.perf_counter() - t0, ice.price_eps


def _differences(a, b, eps: float) -> list[str]:
    out = []
    if a.rounds != b.rounds:
        out.append(f"rounds {a.rounds} vs {b.rounds}")
    if not np.array_equal(a.allocation.trade_matrix, b.allocation.trade_matrix):
        out.append("final trade")
    gap = max(abs(a.payments[k] - b.payments[k]) for k in a.payments)
    if gap > 1e-6:
        out.append(f"payments (max {gap:.2g})")
    for ra, rb in zip(a.history, b.history):
        if not np.array_equal(ra.trade, rb.trade):
            out.append(f"provisional trade in round {ra.round}")
        if any(
            (x.rp is None) != (y.rp is None)
            or (x.rp is not None and x.rp.passed != y.rp.passed)
            or x.queries != y.queries
            or np.abs(x.lower - y.lower).max() > 1e-6
            or np.abs(x.upper - y.upper).max() > 1e-6
            for x, y in zip(ra.bidders, rb.bidders)
        ):
            out.append(f"bidding in round {ra.round}")
        if ra.prices is not None:
            d = float(np.abs(ra.prices - rb.prices).max())
            if d > eps * (1 + 1e-6):
                out.append(f"prices in round {ra.round} (max {d:.2g})")
            elif d > 1e-9:
                out.append(f"[prices in round {ra.round} within ε: {d:.3g}]")
    return out


def identity(seeds: range) -> None:
    print("== whole ICE runs, MIP vs patterns")
    differ = 0
    wall = [0.0, 0.0]
    cases = [(n, m, s) for n, m in SMALL for s in seeds]
    for n, m, s in cases:
        a, ta, eps = _run(n, m, s, False)
        b, tb, _ = _run(n, m, s, True)
        wall[0] += ta
        wall[1] += tb
        d = _differences(a, b, eps)
        differ += any(not x.startswith("[") for x in d)
        print(f"  {n}x{m} seed {s:>2}: {a.rounds} rounds, {ta:5.1f} s vs {tb:5.1f} s  {'; '.join(d) or 'identical'}")
    print(
        f"  {differ}/{len(cases)} runs differ beyond the pricing ε; wall {wall[0]:.1f} s vs {wall[1]:.1f} s "
        f"= {wall[0] / wall[1]:.2f}x"
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--parts", default="counts,speed,identity")
    ap.add_argument("--seeds", default="1-7", help="seed range a-b (inclusive)")
    args = ap.parse_args()
    lo, hi = (int(x) for x in args.seeds.split("-"))
    seeds = range(lo, hi + 1)
    parts = args.parts.split(",")
    if "counts" in parts:
        counts(seeds)
    if "speed" in parts:
        speed(lo)
    if "identity" in parts:
        identity(seeds)


if __name__ == "__main__":
    main()
