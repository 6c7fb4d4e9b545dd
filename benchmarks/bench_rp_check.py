"""How often the paper's revealed-preference test and the definition of RP disagree in real runs.

Proposition 1's test is sufficient, not necessary: a bidder can satisfy the definition
(some trade is a best response for every valuation consistent with its bounds) and still
fail the test. This script runs ICE with the paper's test (the default) on generated
exchanges and, at every failed check, also checks the definition exactly
(:func:`~auctionlab.mechanisms.exchange.activity.definition_holds`). It prints, per strategy
profile, the failed checks, how many of them met the definition (revisions the rule asked
for although the bidder satisfied it), the penalties, and how many penalties hit a bidder
whose last check met the definition (penalties imposed on bidders who satisfied the rule).

    python benchmarks/bench_rp_check.py [--instances 15] [--bidders 5] [--goods 3] [--max-rounds 10]
"""

from __future__ import annotations

import argparse
import time

from auctionlab.mechanisms.exchange import random_exchange
from auctionlab.mechanisms.exchange.activity import definition_holds
from auctionlab.mechanisms.exchange.ice import IterativeExchange
from auctionlab.mechanisms.exchange.patterns import PatternTable
from auctionlab.strategies import make_strategy
from auctionlab.strategies.exchange import bind


class CountingExchange(IterativeExchange):
    """The paper's test decides; the definition is checked on the side at every failure."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.counts = dict(checks=0, failed=0, failed_meeting_definition=0, penalties=0, wrongful_penalties=0)
        self._last_definition: dict[int, bool] = {}

    def submit(self, bidder, lower, upper):
        res = super().submit(bidder, lower, upper)
        if res is None:
            return res
        i = self._index(bidder)
        self.counts["checks"] += 1
        if res.passed:
            self._last_definition.pop(i, None)
        else:
            self.counts["failed"] += 1
            lo, hi = self.bounds(i)  # the value unit is 1 on generated instances
            model = self.bidder_models[i]
            holds = isinstance(model, PatternTable) and definition_holds(model, self.prices, lo, hi, tol=self.rp_tol)
            self.counts["failed_meeting_definition"] += holds
            self._last_definition[i] = holds
        return res

    def close_round(self):
        rec = super().close_round()
        for i, b in enumerate(rec.bidders):
            if b.penalized:
                self.counts["penalties"] += 1
                self.counts["wrongful_penalties"] += self._last_definition.get(i, False)
        self._last_definition = {}
        return rec


PROFILES = {
    "straightforward": lambda n: ["straightforward"] * n,
    "eager": lambda n: ["eager"] * n,
    "mixed (stubborn, lazy-penalty, rest straightforward)": lambda n: (
        [("stubborn", {}), ("lazy", {"fallback": "penalty"})] + ["straightforward"] * (n - 2)
    ),
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--instances", type=int, default=15)
    ap.add_argument("--bidders", type=int, default=5)
    ap.add_argument("--goods", type=int, default=3)
    ap.add_argument("--nodes", type=int, default=8)
    ap.add_argument("--max-units", type=int, default=2)
    ap.add_argument("--max-rounds", type=int, default=10)
    args = ap.parse_args()
    t0 = time.perf_counter()
    for label, profile in PROFILES.items():
        total = dict(checks=0, failed=0, failed_meeting_definition=0, penalties=0, wrongful_penalties=0)
        for seed in range(args.instances):
            pair = random_exchange(
                args.bidders, args.goods, rng=seed, nodes=args.nodes, max_units=args.max_units, bound_width=0.5
            )
            ex, truth = pair.bounded, pair.truth
            off = truth.node_offset
            proxies = {}
            for i, (b, spec) in enumerate(zip(ex.names, profile(ex.n_bidders))):
                name, params = (spec, {}) if isinstance(spec, str) else spec
                proxies[b] = bind(make_strategy(name, **params), truth.lower[off[i] : off[i + 1]], index=i, bidder=b)
            ice = CountingExchange(ex, truth=truth, max_rounds=args.max_rounds)
            ice.run(proxies)
            for k, v in ice.counts.items():
                total[k] += v
        f, fd, pen, wp = (total[k] for k in ("failed", "failed_meeting_definition", "penalties", "wrongful_penalties"))
        print(
            f"{label}: {total['checks']} checks, {f} failed, {fd} of them met the definition "
            f"({fd / max(f, 1):.1%}); {pen} penalties, {wp} on bidders who met the definition ({wp / max(pen, 1):.1%})",
            flush=True,
        )
    print(
        f"{args.instances} instances {args.bidders}x{args.goods} (nodes {args.nodes}, max_units {args.max_units}), "
        f"max_rounds {args.max_rounds}: {time.perf_counter() - t0:.0f} s"
    )


if __name__ == "__main__":
    main()
