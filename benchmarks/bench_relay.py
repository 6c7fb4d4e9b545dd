"""Relay-market speed, as ratios measured in one run (machines here are noisy).

Headline (the user's calls, as README shows them, measured from outside): every repetition
builds a fresh network and fresh valuations with the public constructors (not timed; nothing
is cached on the network or checked in advance), then times ONE call of each of
``assign(net, "mwm")`` (the MWM assignment as a user calls it), ``tasc(net, values, costs,
"mwm")`` (the whole auction) and ``clear(values, costs, sigma)`` (phase 2 alone, on MWM's
assignment), in an order rotated per repetition. Each call sees data it has never seen —
no repeated calls on warm inputs, no minimum-of-k. Medians over the repetitions.
Goals: median tasc / median MWM <= 1.25 (n=100, m=150, DF, full bid matrix) and
median clear <= 50 us. The spread (25th-75th percentile) and the load average are printed
too: on a loaded machine every call pays more for cold caches, so quote ratios from one run
and say how loaded the machine was.

Also printed: ORA and MM against MWM (best of 5 per network), phase 2 on l=100 synthetic
candidate pairs, and one batch of K = 200 counterfactual reports of one agent through a
mechanism's ``responses`` against 200 single auctions (the speed-up studies and oracles get).
Run: .venv/bin/python benchmarks/bench_relay.py [--networks 300]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # measure the tree this script sits in

from auctionlab.mechanisms.relay.assignment import mm, mwm, ora
from auctionlab.mechanisms.relay.mechanisms import KDA, TASC, McAfee, RelayMechanism
from auctionlab.mechanisms.relay.network import random_network
from auctionlab.mechanisms.relay.tasc import assign, clear, tasc, trade_reduction
from auctionlab.mechanisms.relay.valuations import uniform_valuations


def best_of(fn, reps: int = 5) -> float:
    """Minimum wall time of ``reps`` calls (the least-disturbed measurement)."""
    out = np.inf
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        out = min(out, time.perf_counter() - t)
    return out


def user_calls(networks: int, gen: np.random.Generator) -> dict[str, list[float]]:
    """One timed call per fresh instance for each of the user's three calls."""
    calls = {
        "assign": lambda net, v, c, s: assign(net, "mwm"),
        "tasc": lambda net, v, c, s: tasc(net, v, c, "mwm"),
        "clear": lambda net, v, c, s: clear(v, c, s),
    }
    names = list(calls)
    times: dict[str, list[float]] = {k: [] for k in names}
    for rep in range(networks):
        for name in names[rep % 3 :] + names[: rep % 3]:  # rotate the order: no call always goes first
            net = random_network(100, 150, rng=gen)
            values, costs = uniform_valuations(net, rng=gen)
            sigma = assign(net, "mwm") if name == "clear" else None  # clear's input, untimed
            t = time.perf_counter()
            calls[name](net, values, costs, sigma)
            times[name].append(time.perf_counter() - t)
    return times


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--networks", type=int, default=300)
    args = ap.parse_args()
    gen = np.random.default_rng(2026)
    med = np.median

    load_before = os.getloadavg()[0]
    user = user_calls(args.networks, gen)
    load_after = os.getloadavg()[0]

    r_ora, r_mm = [], []
    for _ in range(max(20, args.networks // 5)):
        net = random_network(100, 150, rng=gen)
        d, r = net.direct, net.relayed
        a = best_of(lambda: mwm(d, r))
        r_ora.append(best_of(lambda: ora(d, r)) / a)
        r_mm.append(best_of(lambda: mm(d, r)) / a)

    # scarce relays (m < n): ORA's fast path fails and its threshold search runs
    r_scarce = []
    for _ in range(max(20, args.networks // 10)):
        net = random_network(100, 50, rng=gen)
        d, r = net.direct, net.relayed
        r_scarce.append(best_of(lambda: ora(d, r)) / best_of(lambda: mwm(d, r)))

    # phase 2 alone: l = 100 candidate pairs (every buyer assigned a distinct relay), warm
    p2 = []
    for _ in range(100):
        bids = gen.uniform(0, 4, (100, 150))
        asks = gen.uniform(0, 1, 150)
        sigma = gen.permutation(150)[:100]
        for fn in (clear, trade_reduction):
            p2.append(best_of(lambda: fn(bids, asks, sigma), reps=20))

    # counterfactuals: K reports of one buyer, batch vs one auction per report
    batch, t_batch = {}, {}
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
            t_batch.setdefault(mech.label, []).append(fast)

    t_mwm, t_tasc, t_clear = (med(user[k]) for k in ("assign", "tasc", "clear"))
    q = {k: np.percentile(v, [25, 75]) * 1e6 for k, v in user.items()}
    print(
        f"user's calls, {args.networks} fresh networks each (n=100, m=150, DF, full bid matrix), medians "
        f"[25th-75th percentile]; load average {load_before:.2f} before, {load_after:.2f} after:"
    )
    print(f"  assign(net, 'mwm')         {t_mwm * 1e6:7.0f} us   [{q['assign'][0]:.0f}-{q['assign'][1]:.0f}]")
    print(
        f"  tasc(net, v, c, 'mwm')     {t_tasc * 1e6:7.0f} us   [{q['tasc'][0]:.0f}-{q['tasc'][1]:.0f}]   "
        f"ratio to assign {t_tasc / t_mwm:.3f}  (goal <= 1.25)"
    )
    print(
        f"  clear(v, c, sigma)         {t_clear * 1e6:7.1f} us   [{q['clear'][0]:.0f}-{q['clear'][1]:.0f}]   "
        f"(goal <= 50 us)"
    )
    print(f"  tasc - assign (medians)    {(t_tasc - t_mwm) * 1e6:7.1f} us")
    print(f"ORA / MWM                  median ratio {med(r_ora):.3f}  (goal <= 3)")
    print(f"ORA / MWM, n=100 m=50      median ratio {med(r_scarce):.3f}  (threshold search; no goal set)")
    print(f"MM / MWM                   median ratio {med(r_mm):.3f}")
    print(f"phase 2, l=100, warm inputs, best of 20: median {med(p2) * 1e6:.1f} us")
    for label, r in batch.items():
        print(
            f"{label:26s} one batch of 200: median {med(t_batch[label]) * 1e3:.2f} ms; "
            f"200 single auctions / batch: median {med(r):.1f}x"
        )


if __name__ == "__main__":
    main()
