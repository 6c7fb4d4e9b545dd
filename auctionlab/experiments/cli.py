"""Command line: ``auctionlab list | run | report | reproduce | demo | strategies | show``.

- ``auctionlab list`` — the experiment catalog (and ``--kinds``: the run kinds and their parameters);
- ``auctionlab run SPEC|NAME [--out DIR] [--workers N] [--scheduler ADDR] [--solver NAME]`` — run
  or resume one experiment (a spec file or a catalog name) into ``DIR`` (default
  ``results/<name>``); ``--solver`` sets the ICE runs' MIP backend;
- ``auctionlab report DIR`` — figures, tables and ``report.html`` from stored results only;
- ``auctionlab reproduce`` — the TASC paper's §6 and the strategic studies, each at the sample
  its verdicts need (the studies' ``reproduce_cap``), then the report (``results/report.html``),
  ending with the report's path and its three headline findings;
- ``auctionlab demo`` — TASC with every assignment algorithm on one random network.
- ``auctionlab strategies`` — every registered strategy with its parameters and classifier;
- ``auctionlab show NAME`` — a catalog spec's TOML (or a strategy's spec entry) to copy.

Errors raised on purpose by auctionlab (bad spec, unknown name, damaged results directory,
failed run) print as one line ``auctionlab: error: ...`` with exit code 2.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

DEFAULT_RESULTS = Path("results")


def demo(n: int = 100, m: int = 150, seed: int = 0, vmax: float = 4.0, out=None) -> None:
    """Run TASC (as written and trade reduction) with every assignment algorithm on one
    random network and compare with the pure assignment and the VCG double auction."""
    out = sys.stdout if out is None else out
    from auctionlab.mechanisms.relay import (
        ASSIGNMENT_ALGORITHMS,
        efficiency,
        pure_assignment,
        random_network,
        uniform_valuations,
        vcg_double_auction,
    )
    from auctionlab.mechanisms.relay.tasc import tasc

    gen = np.random.default_rng(seed)
    net = random_network(n, m, rng=gen)
    values, costs = uniform_valuations(net, rng=gen, vmax=vmax)
    print(
        f"Relay market: n={n} sources, m={m} relays, DF, seed={seed}, Vmax={vmax}; "
        f"{int(net.useful.sum())} useful source-relay pairs",
        file=out,
    )
    header = (
        f"{'mechanism':<22}{'cands':>6}{'trades':>7}{'P^b':>8}{'P^s':>8}{'profit':>9}"
        f"{'capacity Mb/s':>15}{'vs pure':>9}{'min cap Mb/s':>14}{'vs pure':>9}"
    )
    print(header, file=out)
    for alg in ASSIGNMENT_ALGORITHMS:
        ref = efficiency(net, pure_assignment(net, alg))
        for rule in ("tasc", "trade_reduction"):
            o = tasc(net, values, costs, alg, rule=rule)
            e = efficiency(net, o)
            pb = "-" if o.buyer_price is None else f"{o.buyer_price:.3f}"
            ps = "-" if o.seller_price is None else f"{o.seller_price:.3f}"
            print(
                f"{alg + '/' + rule:<22}{int((o.sigma >= 0).sum()):>6}{o.n_trades:>7}{pb:>8}{ps:>8}"
                f"{o.profit:>9.3f}{e['total_capacity'] / 1e6:>15.2f}"
                f"{e['total_capacity'] / ref['total_capacity']:>9.4f}"
                f"{e['min_capacity'] / 1e6:>14.3f}{e['min_capacity'] / ref['min_capacity']:>9.4f}",
                file=out,
            )
            if rule == "tasc" and o.boundary is not None:
                winners = np.flatnonzero(o.buyer_wins)
                print(
                    f"{'':<4}winners (source->relay): "
                    + ", ".join(f"{i}->{o.sigma[i]}" for i in winners[:12])
                    + (" ..." if winners.size > 12 else "")
                    + f"; boundary pair {o.boundary}",
                    file=out,
                )
    v = vcg_double_auction(values, costs, useful=net.useful)
    e = efficiency(net, v)
    print(
        f"{'vcg (no assignment)':<22}{'-':>6}{v.n_trades:>7}{'-':>8}{'-':>8}{v.profit:>9.3f}"
        f"{e['total_capacity'] / 1e6:>15.2f}{'':>9}{e['min_capacity'] / 1e6:>14.3f}",
        file=out,
    )


# ---------------------------------------------------------------------- executors
@contextlib.contextmanager
def make_executor(workers: int | None, scheduler: str | None) -> Iterator:
    """None (serial), a local process pool, or a Dask executor; cleaned up on exit.

    ``scheduler``: ``"local"`` starts a Dask ``LocalCluster`` on this machine (``workers``
    processes, one thread each); ``"tcp://host:port"`` connects to a running scheduler.
    """
    from auctionlab.errors import ConfigError

    if workers is not None and workers < 1:
        raise ConfigError(f"--workers must be at least 1, got {workers}")
    if scheduler:
        try:
            from distributed import Client, LocalCluster
        except ImportError:
            raise ConfigError("--scheduler needs dask[distributed]: pip install 'dask[distributed]'") from None
        with contextlib.ExitStack() as stack:
            if scheduler == "local":
                cluster = stack.enter_context(
                    LocalCluster(
                        n_workers=workers or os.cpu_count() or 1,
                        threads_per_worker=1,
                        processes=True,
                        host="127.0.0.1",
                        dashboard_address=None,
                    )
                )
                client = stack.enter_context(Client(cluster))
            else:
                try:
                    client = stack.enter_context(Client(scheduler, timeout=20))
                except (OSError, TimeoutError) as exc:
                    raise ConfigError(f"cannot reach the Dask scheduler at {scheduler}: {exc}") from None
            yield client.get_executor()
        return
    if workers is None or workers == 1:
        yield None
        return
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(max_workers=workers) as ex:
        yield ex


def with_solver(spec, name: str):
    """``spec`` with its runs' MIP backend set to ``name`` (``--solver``).

    Only kinds with a ``solver`` parameter (the ICE kinds) take it; a spec that sweeps
    ``solver`` over a grid is left to its file. Choosing the kind's default when the spec
    names no solver leaves the spec — and its digest, hence its results directory — as is.
    """
    from auctionlab.errors import ConfigError
    from auctionlab.experiments.kinds import resolve_kind

    kind = resolve_kind(spec.model)
    if not kind.defaults or "solver" not in kind.defaults:
        raise ConfigError(f"--solver: model {kind.name!r} has no solver parameter (only the ICE run kinds do)")
    if "solver" in spec.grid_keys:
        raise ConfigError("--solver: this spec sweeps 'solver' over its grid; edit the spec instead")
    if spec.params.get("solver", kind.defaults["solver"]) == name:
        return spec
    return spec.with_(params={**spec.params, "solver": name})


# ---------------------------------------------------------------------- argument checks
def check_args(args) -> None:
    """Check the parsed arguments before any work starts (ConfigError naming the option)."""
    from auctionlab._validate import check_address, check_dir_path, check_float, check_int

    def opt(name: str):
        return getattr(args, name, None)

    if args.command == "demo":
        check_int(args.n, "--n", minimum=1, maximum=2000)  # a demonstration: one network, printed
        check_int(args.m, "--m", minimum=1, maximum=2000)
        check_int(args.seed, "--seed", minimum=0)
        check_float(args.vmax, "--vmax", minimum=0.0, open_min=True)
    for name, flag in (("workers", "--workers"), ("replications", "--replications"), ("chunk", "--chunk")):
        if opt(name) is not None:
            check_int(opt(name), flag, minimum=1, maximum=10**6)
    if args.command == "viz":
        check_int(args.port, "--port", minimum=1, maximum=65535)
    if args.command == "run" and opt("seed") is not None:
        check_int(args.seed, "--seed", minimum=0, maximum=2**63 - 1)
    if opt("scheduler") is not None:
        check_address(args.scheduler, "--scheduler")
    if args.command in ("run", "reproduce") and opt("out") is not None:
        check_dir_path(args.out, "--out")


# ---------------------------------------------------------------------- commands
def cmd_list(args) -> None:
    from auctionlab.experiments.catalog import CATALOG, catalog_spec
    from auctionlab.experiments.kinds import RUN_KINDS

    if args.kinds:
        for name in sorted(RUN_KINDS):
            k = RUN_KINDS[name]
            print(f"{name}: {k.description}")
            if k.defaults:
                print("    params: " + ", ".join(f"{p}={v!r}" for p, v in k.defaults.items()))
            if k.metrics:
                print("    metrics: " + ", ".join(k.metrics))
        return
    width = max(map(len, CATALOG))
    for name in CATALOG:
        s = catalog_spec(name)
        print(f"{name:<{width}}  {s.n_runs:>6} runs  {s.description}")


def cmd_run(args) -> None:
    from auctionlab.experiments.runner import run_experiment
    from auctionlab.experiments.spec import load_spec

    spec = load_spec(args.spec)
    changes = {k: v for k, v in (("replications", args.replications), ("master_seed", args.seed)) if v is not None}
    if changes:
        spec = spec.with_(**changes)
    if args.solver is not None:
        spec = with_solver(spec, args.solver)
    out = Path(args.out) if args.out else DEFAULT_RESULTS / spec.name
    with make_executor(args.workers, args.scheduler) as ex:
        summary = run_experiment(spec, out, executor=ex, progress=args.progress, chunk=args.chunk)
    print(summary)


def cmd_report(args) -> None:
    from auctionlab.report.html import build_report

    t0 = time.perf_counter()
    path = build_report(args.dir, args.out, log=lambda line: print(line, file=sys.stderr, flush=True))
    print(f"report: {path} ({time.perf_counter() - t0:.1f} s)")


def cmd_reproduce(args) -> None:
    from auctionlab.errors import ConfigError
    from auctionlab.experiments.catalog import REPRODUCE, REPRODUCE_CAPS, catalog_spec
    from auctionlab.experiments.runner import run_experiment
    from auctionlab.report.html import build_report, experiment_dirs, plain
    from auctionlab.report.sections import collecting_sections, headlines

    names = args.only or list(REPRODUCE)
    bad = [n for n in names if n not in REPRODUCE]
    if bad:
        raise ConfigError(f"unknown experiment(s) {bad}; reproduce runs: {', '.join(REPRODUCE)}")
    specs = [catalog_spec(n) for n in names]  # every spec is checked before any work starts
    caps = [
        min(c for c in (REPRODUCE_CAPS[s.name], args.replications) if c is not None)
        if REPRODUCE_CAPS[s.name] is not None or args.replications is not None
        else None
        for s in specs
    ]
    specs = [s if c is None else s.with_(replications=min(s.replications, c)) for s, c in zip(specs, caps)]
    out = Path(args.out)
    workers = args.workers if args.workers is not None else (os.cpu_count() or 1)
    # Plain progress lines (readable in a pipe or a log): one before and one after each
    # experiment with the elapsed time; inside one, where the runner shows no bar (stderr
    # not a terminal), its runs done, elapsed time and ETA every 10 s; one per report
    # section with an ETA for the report. --no-progress silences them.
    say = (lambda line: None) if args.progress is False else (lambda line: print(line, file=sys.stderr, flush=True))
    total_runs = sum(s.n_runs for s in specs)
    t0 = time.perf_counter()
    with make_executor(workers, args.scheduler) as ex:
        done_runs = 0
        for i, spec in enumerate(specs):
            say(
                f"[{i + 1}/{len(specs)}] {spec.name}: {spec.n_runs} run{'s' if spec.n_runs != 1 else ''} ... "
                f"({time.perf_counter() - t0:.0f} s elapsed)"
            )
            t1 = time.perf_counter()
            summary = run_experiment(spec, out / spec.name, executor=ex, progress=args.progress, log=say)
            print(summary, flush=True)
            done_runs += spec.n_runs
            elapsed = time.perf_counter() - t0
            say(
                f"[{i + 1}/{len(specs)}] {spec.name} done in {time.perf_counter() - t1:.1f} s; {elapsed:.0f} s "
                f"elapsed, {done_runs} of {total_runs} runs"
            )
    t_run = time.perf_counter() - t0
    n_sections = len(experiment_dirs(out))
    say(f"report: building {n_sections} section{'s' if n_sections != 1 else ''} ... ({t_run:.0f} s elapsed)")
    done_sections = 0

    def say_section(line: str) -> None:
        nonlocal done_sections
        done_sections += 1
        spent = time.perf_counter() - t0 - t_run
        left = max(n_sections - done_sections, 0)
        say(f"{line}, ETA {spent / done_sections * left:.0f} s" if left else line)

    with collecting_sections() as sections:
        path = build_report(
            out,
            title="auctionlab: reproducing the TASC paper (§6), and strategic studies of TASC and ICE",
            log=say_section,
        )
    total = time.perf_counter() - t0
    print(f"report: {path.resolve()}  (simulations {t_run:.1f} s, report {total - t_run:.1f} s, total {total:.1f} s)")
    top = headlines(sections)
    if top:
        what = "The finding that matters most" if len(top) == 1 else f"The {len(top)} findings that matter most"
        print(f"{what} (verdict and the n it rests on; details in the report):")
        for k, (sec, claim) in enumerate(top, 1):
            n = "" if claim.n is None else f", n = {claim.n}"
            print(f"  {k}. [{sec.name}] {plain(claim.statement)}: {claim.verdict}{n}.")
            print(f"     {_shorten(plain(claim.evidence), 300)}")


def _shorten(text: str, width: int) -> str:
    """One line of at most ``width`` characters (cut at a word, with an ellipsis)."""
    line = " ".join(str(text).split())
    if len(line) <= width:
        return line
    return line[: width - 1].rsplit(" ", 1)[0] + " …"


# ---------------------------------------------------------------------- strategy catalog: strategies, show
def _toml_value(v) -> str:
    """A TOML literal for a strategy default (numbers, strings, booleans, lists)."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float, np.integer, np.floating)):
        return repr(float(v)) if isinstance(v, (float, np.floating)) else str(int(v))
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, (list, tuple, np.ndarray)):
        return "[" + ", ".join(_toml_value(x) for x in list(v)) + "]"
    return '"' + str(v) + '"'


def _strategy_doc(cls) -> str:
    return " ".join((cls.__doc__ or "").strip().split("\n\n")[0].split())


def cmd_strategies(args) -> None:
    import inspect

    from auctionlab.strategies.registry import STRATEGIES
    from auctionlab.tournament import classify, strategy_parameters

    for name, cls in STRATEGIES.items():
        flags = classify(name)
        params = ", ".join(
            f"{k}={'(required)' if v is inspect.Parameter.empty else repr(v)}"
            for k, v in strategy_parameters(name).items()
        )
        print(f"{name} ({flags['market']}, role {flags['role']}): {_strategy_doc(cls)}")
        print(f"    params: {params or '(none)'}")
        print("    classifier: " + ", ".join(f"{k}={v!r}" for k, v in flags.items()))


def cmd_show(args) -> None:
    import inspect

    from auctionlab.errors import UnknownNameError
    from auctionlab.experiments.catalog import CATALOG
    from auctionlab.strategies.registry import STRATEGIES
    from auctionlab.tournament import classify, strategy_parameters

    if args.name in CATALOG:
        print(CATALOG[args.name].read_text(), end="")
        return
    if args.name not in STRATEGIES:
        raise UnknownNameError(
            f"unknown catalog experiment or strategy {args.name!r}; experiments: "
            f"{', '.join(CATALOG)}; strategies: {', '.join(STRATEGIES)}"
        )
    params = {
        k: v for k, v in strategy_parameters(args.name).items() if v is not inspect.Parameter.empty and v is not None
    }
    flags = classify(args.name)
    print(f"# {args.name}: {_strategy_doc(STRATEGIES[args.name])}")
    print("# classifier: " + ", ".join(f"{k}={v!r}" for k, v in flags.items()))
    inline = ", ".join(f"{k} = {_toml_value(v)}" for k, v in params.items())
    print(f'{{ strategy = "{args.name}"' + (f", params = {{ {inline} }}" if inline else "") + " }")


def add_strategy_commands(sub) -> None:
    """The ``strategies`` and ``show`` subcommands (their handlers are set as ``args.handler``)."""
    p = sub.add_parser("strategies", help="every registered strategy with its parameters and classifier")
    p.set_defaults(handler=cmd_strategies)
    p = sub.add_parser("show", help="print a catalog spec (or a strategy's spec entry) to copy")
    p.add_argument(
        "name", help="a catalog experiment (see `auctionlab list`) or a strategy (see `auctionlab strategies`)"
    )
    p.set_defaults(handler=cmd_show)


def cmd_viz(args) -> None:
    """Serve the interactive page (needs the ``[viz]`` extra)."""
    import importlib.util
    import subprocess
    import sys

    from auctionlab.errors import ConfigError

    if importlib.util.find_spec("solara") is None:
        raise ConfigError("the interactive page needs the [viz] extra: pip install 'auctionlab[viz]'")
    cmd = [sys.executable, "-m", "solara", "run", "auctionlab.viz.app", "--host", args.host, "--port", str(args.port)]
    if args.no_open:
        cmd.append("--no-open")
    raise SystemExit(subprocess.call(cmd))


def add_viz_command(sub) -> None:
    p = sub.add_parser("viz", help="the interactive page: both markets in the browser (needs the [viz] extra)")
    p.add_argument("--host", default="127.0.0.1", help="address to serve on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8765, help="port (default 8765)")
    p.add_argument("--no-open", action="store_true", help="do not open a browser")
    p.set_defaults(handler=cmd_viz)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="auctionlab", description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("demo", help="TASC with every assignment algorithm on one random network")
    p.add_argument("--n", type=int, default=100)
    p.add_argument("--m", type=int, default=150)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--vmax", type=float, default=4.0)

    p = sub.add_parser("list", help="the experiment catalog")
    p.add_argument("--kinds", action="store_true", help="list run kinds (models) with their parameters instead")

    def execution(p, default_workers: str) -> None:
        p.add_argument("--workers", type=int, default=None, help=f"local worker processes (default {default_workers})")
        p.add_argument(
            "--scheduler", default=None, help="Dask scheduler address tcp://host:port, or 'local' for a LocalCluster"
        )
        p.add_argument("--replications", type=int, default=None, help="override the spec's replications")
        g = p.add_mutually_exclusive_group()
        g.add_argument("--progress", dest="progress", action="store_true", default=None, help="always show progress")
        g.add_argument("--no-progress", dest="progress", action="store_false", help="never show progress")

    p = sub.add_parser("run", help="run (or resume) one experiment: a spec file or a catalog name")
    p.add_argument("spec", help="a .toml/.yaml/.json/.py spec file or a catalog name (see `auctionlab list`)")
    p.add_argument("--out", default=None, help="results directory (default results/<name>)")
    execution(p, "1: serial")
    p.add_argument("--seed", type=int, default=None, help="override the spec's master seed")
    p.add_argument("--chunk", type=int, default=None, help="runs per task (scheduling only)")
    p.add_argument(
        "--solver", default=None, help="MIP backend of the ICE runs (e.g. highs, scip), overriding the spec's 'solver'"
    )

    p = sub.add_parser("report", help="figures and an HTML report from stored results (no re-simulation)")
    p.add_argument("dir", help="an experiment directory, or a directory of them")
    p.add_argument("--out", default=None, help="HTML file (default DIR/report.html)")

    p = sub.add_parser(
        "reproduce", help="the TASC paper's experiments and the strategic studies (TASC, ICE), then the report"
    )
    p.add_argument("--out", default=str(DEFAULT_RESULTS), help="results directory (default results)")
    execution(p, "all cores")
    p.add_argument("--only", nargs="+", default=None, help="run only these catalog experiments")

    add_strategy_commands(sub)
    add_viz_command(sub)
    args = parser.parse_args(argv)
    from auctionlab.errors import AuctionlabError

    try:
        check_args(args)
        if args.command == "demo":
            demo(args.n, args.m, args.seed, args.vmax)
        elif args.command == "list":
            cmd_list(args)
        elif args.command == "run":
            cmd_run(args)
        elif args.command == "report":
            cmd_report(args)
        elif args.command == "reproduce":
            cmd_reproduce(args)
        elif hasattr(args, "handler"):
            args.handler(args)
    except AuctionlabError as exc:
        msg = " ".join(str(exc).split())  # one line
        print(f"auctionlab: error: {msg}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("auctionlab: interrupted; finished runs are stored — rerun the same command to resume", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
