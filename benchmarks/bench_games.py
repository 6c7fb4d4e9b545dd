"""Exact two-player solvers against the dynamics on random 4 x 4 games, as same-run ratios.

For each of ``--games`` random 4 x 4 games (normal payoffs, seeded): how many solvers reach
regret <= 1e-4, and the median time per game of each solver, reported as a ratio to
support enumeration (every solver timed on the same games in the same run, interleaved).
Run: .venv/bin/python benchmarks/bench_games.py [--games 30]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from auctionlab.games import EmpiricalGame, all_equilibria, solve

SOLVER_NAMES = (
    "support_enumeration",
    "lemke_howson_exact",
    "replicator_dynamics",
    "regret_matching",
    "fictitious_play",
)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--games", type=int, default=30)
    ap.add_argument("--size", type=int, default=4)
    args = ap.parse_args()
    times = {s: [] for s in SOLVER_NAMES}
    ok = dict.fromkeys(SOLVER_NAMES, 0)
    unique = 0
    for seed in range(args.games):
        g = EmpiricalGame.from_tensor(np.random.default_rng(seed).normal(size=(2, args.size, args.size)))
        unique += len(all_equilibria(g)) == 1
        for name in SOLVER_NAMES:
            t = time.perf_counter()
            res = solve(g, name, rng=seed)
            times[name].append(time.perf_counter() - t)
            ok[name] += res.regret <= 1e-4
    base = float(np.median(times["support_enumeration"]))
    print(f"{args.games} random {args.size}x{args.size} games; {unique} have a unique equilibrium")
    print(f"{'solver':<22}{'regret<=1e-4':>14}{'median s':>12}{'vs support enum':>17}")
    for name in SOLVER_NAMES:
        med = float(np.median(times[name]))
        print(f"{name:<22}{ok[name]:>8}/{args.games:<5}{med:>12.4g}{med / base:>17.3g}")


if __name__ == "__main__":
    main()
