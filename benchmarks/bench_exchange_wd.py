"""Winner determination and Threshold payments on generated exchanges: where time goes.

Prints, for each size, the model build time (numpy arrays + HiGHS passModel), HiGHS's
own run time, result extraction (solution read-out, rounding, canonical trade, exact
value) and the ratio (build + extraction) / HiGHS. Then the cost of Threshold payments,
which reuse the one built model for the n + 1 WD solves (idle bidders are skipped
exactly; ``--no-skip`` forces all n + 1). Timings are of one run on this machine.

    python benchmarks/bench_exchange_wd.py [--sizes 10 40 100] [--pay-sizes 10 40] [--seeds 3]
"""

from __future__ import annotations

import argparse
import statistics
import time

from auctionlab.market.exchange import WDModel, compute_payments, random_exchange


def bench_wd(n: int, goods: int, seeds: list[int]) -> dict[str, float]:
    rows = []
    for s in seeds:
        ex = random_exchange(n, goods, rng=s, nodes=15)
        model = WDModel(ex)
        alloc = model.solve_wd()
        sol = alloc.solution
        rows.append((model.build_time, sol.run_time, model.last_extract_time, ex.n_nodes, model.n_cols,
                     model.n_rows, sol.node_count, alloc.value, len(alloc.traders)))
    cols = list(zip(*rows))
    med = {k: statistics.median(v) for k, v in zip(
        ("build", "highs", "extract", "nodes", "cols", "rows", "bnb", "value", "traders"), cols)}
    med["ratio"] = statistics.median((b + e) / h for b, h, e, *_ in rows)
    med["total"] = statistics.median(b + h + e for b, h, e, *_ in rows)
    return med


def bench_payments(n: int, goods: int, seed: int, skip: bool) -> dict[str, float]:
    ex = random_exchange(n, goods, rng=seed, nodes=15)
    t0 = time.perf_counter()
    model = WDModel(ex)
    build = time.perf_counter() - t0
    t1 = time.perf_counter()
    res = compute_payments(ex, "threshold", model=model, skip_idle=skip)
    wall = time.perf_counter() - t1
    return {"build": build, "wall": wall, "solves": res.n_solves, "per_bidder": wall / n,
            "per_solve": wall / res.n_solves, "surplus": res.budget_surplus, "c": res.threshold_c or 0.0}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[10, 40, 100])
    ap.add_argument("--pay-sizes", type=int, nargs="+", default=[10, 40])
    ap.add_argument("--goods", type=int, default=20)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--pay-seed", type=int, default=1)
    ap.add_argument("--no-skip", action="store_true", help="solve V_-i for every bidder")
    args = ap.parse_args()
    seeds = list(range(args.seeds))

    print(f"WD, {args.goods} goods, ~15 nodes per tree, median over seeds {seeds} (times in ms)")
    print(f"{'bidders':>7} {'nodes':>6} {'cols':>6} {'rows':>6} {'B&B':>5} {'build':>8} {'HiGHS':>9} "
          f"{'extract':>8} {'total':>9} {'(b+e)/HiGHS':>12} {'traders':>8}")
    for n in args.sizes:
        r = bench_wd(n, args.goods, seeds)
        print(f"{n:>7} {r['nodes']:>6.0f} {r['cols']:>6.0f} {r['rows']:>6.0f} {r['bnb']:>5.0f} "
              f"{r['build'] * 1e3:>8.2f} {r['highs'] * 1e3:>9.1f} {r['extract'] * 1e3:>8.2f} "
              f"{r['total'] * 1e3:>9.1f} {r['ratio']:>11.2%} {r['traders']:>8.0f}")
        if n == 40:
            print(f"{'':>7} goal at 40 bidders: (build + extract) <= 50% of HiGHS -> {'met' if r['ratio'] <= 0.5 else 'NOT met'}")

    print(f"\nThreshold payments (n + 1 WD solves on one model{'' if args.no_skip else ', idle bidders skipped'}), seed {args.pay_seed}")
    print(f"{'bidders':>7} {'build ms':>9} {'solves':>7} {'wall s':>8} {'per bidder ms':>14} {'per solve ms':>13} {'C':>8}")
    for n in args.pay_sizes:
        r = bench_payments(n, args.goods, args.pay_seed, not args.no_skip)
        print(f"{n:>7} {r['build'] * 1e3:>9.2f} {r['solves']:>7.0f} {r['wall']:>8.2f} "
              f"{r['per_bidder'] * 1e3:>14.1f} {r['per_solve'] * 1e3:>13.1f} {r['c']:>8.2f}")


if __name__ == "__main__":
    main()
