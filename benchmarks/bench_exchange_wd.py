"""Winner determination and Threshold payments on generated exchanges: where time goes.

1. The λ reformulation: solver time per WD solve (lower and upper values of the ICE
   bench's instances, ``random_exchange(n, m, rng=seed, bound_width=0.5)``) for the
   integer-λ model with HiGHS restarts (the model before the reformulation), continuous
   λ with restarts, and continuous λ without restarts (the default now); medians over
   seeds, the same-run ratio before/after per solve, and how many solves found the same
   allocation.
2. The same WD solves under every installed MIP backend (continuous λ), with the ratio
   to HiGHS in the same run; backends that are not installed, or whose licence is too
   small for a model, are reported as skipped.
3. The model build time (numpy arrays + passing the model), the solver's own run time,
   result extraction (solution read-out, canonical trade, exact value) and the ratio
   (build + extraction) / solver.
4. The cost of Threshold payments, which reuse the one built model for the n + 1 WD
   solves (idle bidders are skipped exactly; ``--no-skip`` forces all n + 1).

Times are wall seconds of one run on this machine; ratios come from the same run. An
empty size list (``--sizes`` with no value) skips that section.

    python benchmarks/bench_exchange_wd.py [--lambda-sizes 20x8 40x20] [--lambda-seeds 5]
        [--backends highs scip gurobi cplex] [--sizes 10 40 100] [--pay-sizes 10 40] [--seeds 3]
"""

from __future__ import annotations

import argparse
import statistics
import time

from auctionlab.errors import SolverError
from auctionlab.mechanisms.exchange import WDProgram, compute_payments, random_exchange
from auctionlab.mechanisms.exchange.backends import BACKENDS, available_backends, solver_info

LAMBDA_CONFIGS = {
    "integer λ, restarts (before)": dict(integer_lambda=True, options={"mip_allow_restart": True}),
    "continuous λ, restarts": dict(options={"mip_allow_restart": True}),
    "continuous λ (after)": {},
}


def _size(text: str) -> tuple[int, int]:
    n, m = text.lower().split("x")
    return int(n), int(m)


def _instances(n: int, m: int, seeds: list[int]):
    for s in seeds:
        ex = random_exchange(n, m, rng=s, bound_width=0.5).bounded
        for values in ("lower", "upper"):
            yield ex, values


def bench_lambda(n: int, m: int, seeds: list[int]) -> None:
    times: dict[str, list[float]] = {k: [] for k in LAMBDA_CONFIGS}
    same_value = {k: 0 for k in LAMBDA_CONFIGS}
    same_alloc = {k: 0 for k in LAMBDA_CONFIGS}
    solves = 0
    for ex, values in _instances(n, m, seeds):
        solves += 1
        ref = None
        for name, kw in LAMBDA_CONFIGS.items():
            alloc = WDProgram(ex, **kw).solve_wd(values)
            times[name].append(alloc.solution.run_time)
            ref = ref or alloc
            same_value[name] += abs(alloc.value - ref.value) <= 1e-9 * max(1.0, abs(ref.value))
            same_alloc[name] += alloc.trades == ref.trades
    before = times[next(iter(LAMBDA_CONFIGS))]
    print(f"{n} bidders × {m} goods, {solves} WD solves (seeds {seeds}, lower and upper values)")
    print(
        f"  {'model':<30} {'median ms':>10} {'total s':>8} {'median before/this':>19} {'total before/this':>18} "
        f"{'same value':>11} {'same trade':>11}"
    )
    for name, t in times.items():
        ratio = statistics.median(b / x for b, x in zip(before, t))
        print(
            f"  {name:<30} {statistics.median(t) * 1e3:>10.1f} {sum(t):>8.2f} {ratio:>19.2f} {sum(before) / sum(t):>18.2f} "
            f"{same_value[name]:>5}/{solves:<5} {same_alloc[name]:>5}/{solves:<5}"
        )


def bench_backends(n: int, m: int, seeds: list[int], names: list[str]) -> None:
    installed = set(available_backends())
    print(f"{n} bidders × {m} goods, WD per backend (continuous λ), seeds {seeds}, lower and upper values")
    highs: list[float] = []
    for name in names:
        if name not in BACKENDS:
            print(f"  {name:<8} skipped: not a registered backend ({', '.join(BACKENDS)})")
            continue
        if name not in installed:
            print(f"  {name:<8} skipped: {BACKENDS[name].package} is not installed")
            continue
        t: list[float] = []
        values_ok = 0
        try:
            for ex, values in _instances(n, m, seeds):
                alloc = WDProgram(ex, solver=name).solve_wd(values)
                t.append(alloc.solution.run_time)
                ref = WDProgram(ex).solve_wd(values).value if name != "highs" else alloc.value
                values_ok += abs(alloc.value - ref) <= 1e-9 * max(1.0, abs(ref))
        except SolverError as exc:
            print(f"  {name:<8} skipped: {str(exc)[:110]}")
            continue
        if name == "highs":
            highs = t
        version = solver_info(name)["version"]
        vs = f"{statistics.median(x / h for x, h in zip(t, highs)):>8.2f}" if len(highs) == len(t) else f"{'-':>8}"
        print(
            f"  {name:<8} {version:<10} median {statistics.median(t) * 1e3:>9.1f} ms  total {sum(t):>7.2f} s  "
            f"median this/HiGHS {vs}  same value as HiGHS {values_ok}/{len(t)}"
        )


def bench_wd(n: int, goods: int, seeds: list[int]) -> dict[str, float]:
    rows = []
    for s in seeds:
        ex = random_exchange(n, goods, rng=s, nodes=15)
        model = WDProgram(ex)
        alloc = model.solve_wd()
        sol = alloc.solution
        rows.append(
            (
                model.build_time,
                sol.run_time,
                model.last_extract_time,
                ex.n_nodes,
                model.n_cols,
                model.n_rows,
                sol.node_count,
                alloc.value,
                len(alloc.traders),
            )
        )
    cols = list(zip(*rows))
    med = {
        k: statistics.median(v)
        for k, v in zip(("build", "solver", "extract", "nodes", "cols", "rows", "bnb", "value", "traders"), cols)
    }
    med["ratio"] = statistics.median((b + e) / h for b, h, e, *_ in rows)
    med["total"] = statistics.median(b + h + e for b, h, e, *_ in rows)
    return med


def bench_payments(n: int, goods: int, seed: int, skip: bool) -> dict[str, float]:
    ex = random_exchange(n, goods, rng=seed, nodes=15)
    t0 = time.perf_counter()
    model = WDProgram(ex)
    build = time.perf_counter() - t0
    t1 = time.perf_counter()
    res = compute_payments(ex, "threshold", model=model, skip_idle=skip)
    wall = time.perf_counter() - t1
    return {
        "build": build,
        "wall": wall,
        "solves": res.n_solves,
        "per_bidder": wall / n,
        "per_solve": wall / res.n_solves,
        "surplus": res.budget_surplus,
        "c": res.threshold_c or 0.0,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument(
        "--lambda-sizes",
        type=_size,
        nargs="*",
        default=[(20, 8), (40, 20)],
        metavar="NxM",
        help="sections 1 and 2 (none: skip)",
    )
    ap.add_argument("--lambda-seeds", type=int, default=5)
    ap.add_argument("--backends", nargs="+", default=list(BACKENDS))
    ap.add_argument("--sizes", type=int, nargs="*", default=[10, 40, 100], help="section 3 (none: skip)")
    ap.add_argument("--pay-sizes", type=int, nargs="*", default=[10, 40], help="section 4 (none: skip)")
    ap.add_argument("--goods", type=int, default=20)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--pay-seed", type=int, default=1)
    ap.add_argument("--no-skip", action="store_true", help="solve V_-i for every bidder")
    args = ap.parse_args()
    seeds = list(range(args.seeds))
    lseeds = list(range(args.lambda_seeds))

    if args.lambda_sizes:
        print("1. λ as continuous variables: solver time per WD solve (HiGHS)")
        for n, m in args.lambda_sizes:
            bench_lambda(n, m, lseeds)
        print("\n2. MIP backends")
        for n, m in args.lambda_sizes:
            bench_backends(n, m, lseeds, args.backends)
    if args.sizes:
        wd_section(args.sizes, args.goods, seeds)
    if args.pay_sizes:
        payments_section(args.pay_sizes, args.goods, args.pay_seed, not args.no_skip)


def wd_section(sizes: list[int], goods: int, seeds: list[int]) -> None:
    print(f"\n3. WD, {goods} goods, ~15 nodes per tree, median over seeds {seeds} (times in ms)")
    print(
        f"{'bidders':>7} {'nodes':>6} {'cols':>6} {'rows':>6} {'B&B':>5} {'build':>8} {'solver':>9} "
        f"{'extract':>8} {'total':>9} {'(b+e)/solver':>13} {'traders':>8}"
    )
    for n in sizes:
        r = bench_wd(n, goods, seeds)
        print(
            f"{n:>7} {r['nodes']:>6.0f} {r['cols']:>6.0f} {r['rows']:>6.0f} {r['bnb']:>5.0f} "
            f"{r['build'] * 1e3:>8.2f} {r['solver'] * 1e3:>9.1f} {r['extract'] * 1e3:>8.2f} "
            f"{r['total'] * 1e3:>9.1f} {r['ratio']:>12.2%} {r['traders']:>8.0f}"
        )
        if n == 40:
            print(
                f"{'':>7} goal at 40 bidders: (build + extract) <= 50% of the solver -> {'met' if r['ratio'] <= 0.5 else 'NOT met'}"
            )


def payments_section(sizes: list[int], goods: int, seed: int, skip: bool) -> None:
    print(
        f"\n4. Threshold payments (n + 1 WD solves on one model{', idle bidders skipped' if skip else ''}), seed {seed}"
    )
    print(
        f"{'bidders':>7} {'build ms':>9} {'solves':>7} {'wall s':>8} {'per bidder ms':>14} {'per solve ms':>13} {'C':>8}"
    )
    for n in sizes:
        r = bench_payments(n, goods, seed, skip)
        print(
            f"{n:>7} {r['build'] * 1e3:>9.2f} {r['solves']:>7.0f} {r['wall']:>8.2f} "
            f"{r['per_bidder'] * 1e3:>14.1f} {r['per_solve'] * 1e3:>13.1f} {r['c']:>8.2f}"
        )


if __name__ == "__main__":
    main()
