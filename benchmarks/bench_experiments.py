"""Experiment-layer speed: the four TASC experiments of the paper (Figs. 8-11) at paper scale.

Goal (issue 6): all four in <= 60 s wall with 2 local worker processes on a 2-core machine.
Prints the serial and parallel wall times, their ratio, and where the serial time goes:
network generation, relay assignment, clearing (phase 2), storage (Parquet shards +
manifest, in the parent process) and the rest (value draws, metrics, rows, scheduling).
The specs are the catalog's with every metric column kept, so the stage timings are stored.

Run: .venv/bin/python benchmarks/bench_experiments.py [--workers 2] [--skip-serial]
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import tempfile
import time
from pathlib import Path

from auctionlab.experiments.catalog import catalog_spec
from auctionlab.experiments.runner import RunSummary, run_experiment
from auctionlab.experiments.store import ResultStore

NAMES = ("tasc-truthfulness", "tasc-profit", "tasc-efficiency", "tasc-runtime")


def run_all(root: Path, executor) -> tuple[float, list[RunSummary]]:
    t0 = time.perf_counter()
    out = []
    for name in NAMES:
        spec = catalog_spec(name).with_(metrics=None)
        out.append(run_experiment(spec, root / name, executor=executor, progress=False))
    return time.perf_counter() - t0, out


def stages(root: Path, summaries: list[RunSummary]) -> dict[str, float]:
    """Seconds per stage, summed over the stored per-run timings of the relay experiments."""
    net = assign = clear = 0.0
    for name in NAMES[1:]:
        runs = ResultStore.open(root / name).table("runs")
        net += runs.drop_duplicates("run_id")["time_network_ms"].sum() / 1e3
        assign += runs.drop_duplicates(["run_id", "algorithm"])["time_assign_ms"].sum() / 1e3
        clear += runs["time_clear_ms"].sum() / 1e3
    compute = sum(s.compute_seconds for s in summaries)
    return {
        "network": net,
        "assignment": assign,
        "clearing": clear,
        "storage": sum(s.storage_seconds for s in summaries),
        "rest of the runs (draws, metrics, rows; Fig. 8 sweeps)": compute - net - assign - clear,
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--skip-serial", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        n_runs = sum(catalog_spec(n).n_runs for n in NAMES)
        print(f"four TASC experiments at paper scale: {n_runs} runs (n = 100, m = 50..150, 1000 instances per point)")
        serial = None
        if not args.skip_serial:
            serial, ss = run_all(tmp / "serial", None)
            print(f"serial:                {serial:6.1f} s wall")
            for s in ss:
                print(f"    {s.name:<18} {s.wall:6.1f} s   ({s.total} runs)")
            st = stages(tmp / "serial", ss)
            print("    per stage (serial, summed inside the runs):")
            for k, v in st.items():
                print(f"        {k:<52} {v:6.2f} s  {v / serial:6.1%}")
        with cf.ProcessPoolExecutor(args.workers) as ex:
            par, ps = run_all(tmp / "parallel", ex)
        print(f"{args.workers} worker processes:  {par:6.1f} s wall  (goal <= 60 s)")
        for s in ps:
            print(f"    {s.name:<18} {s.wall:6.1f} s   (storage in the parent {s.storage_seconds:.2f} s)")
        if serial is not None:
            print(f"serial / parallel ratio: {serial / par:.2f} (ideal {args.workers})")


if __name__ == "__main__":
    main()
