"""Relay-market speed, as ratios measured in one run (machines here are noisy).

Goals (issue 2): whole tasc(..., "mwm") <= 1.25 x MWM alone (median over >= 100 networks,
n=100, m=150, DF); phase 2 alone for l=100 candidate pairs <= 50 us median; ORA <= 3 x MWM.
Also printed: one batch of K = 200 counterfactual reports of one agent through a mechanism's
``responses`` against 200 single auctions (the speed-up the studies and oracles get).
Run: .venv/bin/python benchmarks/bench_relay.py [--networks 200]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from auctionlab.market.relay.assignment import mm, mwm, ora
from auctionlab.market.relay.mechanisms import KDA, TASC, McAfee, RelayMechanism
from auctionlab.market.relay.network import random_network
from auctionlab.market.relay.tasc import clear, tasc, trade_reduction
from auctionlab.market.relay.valuations import uniform_valuations


def best_of(fn, reps: int = 5) -> float:
    """Minimum wall time of ``reps`` calls (the least-disturbed measurement)."""
    out = np.inf
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        out = min(out, time.perf_counter() - t)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--networks", type=int, default=200)
    args = ap.parse_args()
    gen = np.random.default_rng(2026)
    r_tasc, r_ora, r_mm, t_mwm = [], [], [], []
    for _ in range(args.networks):
        net = random_network(100, 150, rng=gen)
        v, c = uniform_valuations(net, rng=gen)
        d, r = net.direct, net.relayed
        a = best_of(lambda: mwm(d, r))
        b = best_of(lambda: tasc(net, v, c, "mwm"))
        o = best_of(lambda: ora(d, r))
        k = best_of(lambda: mm(d, r))
        t_mwm.append(a)
        r_tasc.append(b / a)
        r_ora.append(o / a)
        r_mm.append(k / a)

    # scarce relays (m < n): ORA's fast path fails and its threshold search runs
    r_scarce = []
    for _ in range(max(20, args.networks // 5)):
        net = random_network(100, 50, rng=gen)
        d, r = net.direct, net.relayed
        r_scarce.append(best_of(lambda: ora(d, r)) / best_of(lambda: mwm(d, r)))

    # phase 2 alone: l = 100 candidate pairs (every buyer assigned a distinct relay)
    p2 = []
    for _ in range(200):
        bids = gen.uniform(0, 4, (100, 150))
        asks = gen.uniform(0, 1, 150)
        sigma = gen.permutation(150)[:100]
        for fn in (clear, trade_reduction):
            p2.append(best_of(lambda: fn(bids, asks, sigma), reps=20))

    # counterfactuals: K reports of one buyer, batch vs one auction per report
    batch = {}
    for _ in range(20):
        net = random_network(100, 150, rng=gen)
        v, c = uniform_valuations(net, rng=gen)
        sigma = mwm(net.direct, net.relayed)
        i = int(np.flatnonzero(sigma >= 0)[0])
        reps = np.vstack([v[i] * t for t in np.linspace(0, 2, 200)])
        for mech in (TASC(), KDA(), McAfee()):
            fast = best_of(lambda: mech.responses(net, v, c, sigma, "buyer", i, reps), reps=3)
            slow = best_of(lambda: RelayMechanism.responses(mech, net, v, c, sigma, "buyer", i, reps), reps=1)
            batch.setdefault(mech.label, []).append(slow / fast)

    med = np.median
    print(f"networks: {args.networks} (n=100, m=150, DF); MWM alone median {med(t_mwm) * 1e6:.0f} us")
    print(f"tasc(mwm) / MWM alone      median ratio {med(r_tasc):.3f}  (goal <= 1.25)")
    print(f"ORA / MWM                  median ratio {med(r_ora):.3f}  (goal <= 3)")
    print(f"ORA / MWM, n=100 m=50      median ratio {med(r_scarce):.3f}  (threshold search; no goal set)")
    print(f"MM / MWM                   median ratio {med(r_mm):.3f}")
    print(f"phase 2 alone, l=100       median {med(p2) * 1e6:.1f} us  (goal <= 50 us)")
    for label, r in batch.items():
        print(f"{label:26s} 200 single auctions / one batch of 200: median {med(r):.1f}x")


if __name__ == "__main__":
    main()
