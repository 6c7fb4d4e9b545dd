"""Command line: ``auctionlab demo`` (and, as the experiment layer grows, run/report/reproduce)."""

from __future__ import annotations

import argparse
import sys

import numpy as np


def demo(n: int = 100, m: int = 150, seed: int = 0, vmax: float = 4.0, out=sys.stdout) -> None:
    """Run TASC (as written and trade reduction) with every assignment algorithm on one
    random network and compare with the pure assignment and the VCG double auction."""
    from auctionlab.market.relay import (
        ASSIGNMENT_ALGORITHMS, efficiency, pure_assignment, random_network,
        uniform_valuations, vcg_double_auction,
    )
    from auctionlab.market.relay.tasc import tasc

    gen = np.random.default_rng(seed)
    net = random_network(n, m, rng=gen)
    values, costs = uniform_valuations(net, rng=gen, vmax=vmax)
    print(f"Relay market: n={n} sources, m={m} relays, DF, seed={seed}, Vmax={vmax}; "
          f"{int(net.useful.sum())} useful source-relay pairs", file=out)
    header = (f"{'mechanism':<22}{'cands':>6}{'trades':>7}{'P^b':>8}{'P^s':>8}{'profit':>9}"
              f"{'capacity Mb/s':>15}{'vs pure':>9}{'min cap Mb/s':>14}{'vs pure':>9}")
    print(header, file=out)
    for alg in ASSIGNMENT_ALGORITHMS:
        ref = efficiency(net, pure_assignment(net, alg))
        for rule in ("tasc", "trade_reduction"):
            o = tasc(net, values, costs, alg, rule=rule)
            e = efficiency(net, o)
            pb = "-" if o.buyer_price is None else f"{o.buyer_price:.3f}"
            ps = "-" if o.seller_price is None else f"{o.seller_price:.3f}"
            print(f"{alg + '/' + rule:<22}{int((o.sigma >= 0).sum()):>6}{o.n_trades:>7}{pb:>8}{ps:>8}"
                  f"{o.profit:>9.3f}{e['total_capacity'] / 1e6:>15.2f}"
                  f"{e['total_capacity'] / ref['total_capacity']:>9.4f}"
                  f"{e['min_capacity'] / 1e6:>14.3f}{e['min_capacity'] / ref['min_capacity']:>9.4f}", file=out)
            if rule == "tasc" and o.boundary is not None:
                winners = np.flatnonzero(o.buyer_wins)
                print(f"{'':<4}winners (source->relay): "
                      + ", ".join(f"{i}->{o.sigma[i]}" for i in winners[:12])
                      + (" ..." if winners.size > 12 else "")
                      + f"; boundary pair {o.boundary}", file=out)
    v = vcg_double_auction(values, costs, useful=net.useful)
    e = efficiency(net, v)
    print(f"{'vcg (no assignment)':<22}{'-':>6}{v.n_trades:>7}{'-':>8}{'-':>8}{v.profit:>9.3f}"
          f"{e['total_capacity'] / 1e6:>15.2f}{'':>9}{e['min_capacity'] / 1e6:>14.3f}", file=out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="auctionlab", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("demo", help="TASC with every assignment algorithm on one random network")
    p.add_argument("--n", type=int, default=100)
    p.add_argument("--m", type=int, default=150)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--vmax", type=float, default=4.0)
    args = parser.parse_args(argv)
    from auctionlab.errors import InvalidInputError

    try:
        if args.command == "demo":
            demo(args.n, args.m, args.seed, args.vmax)
    except InvalidInputError as exc:
        print(f"auctionlab: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
