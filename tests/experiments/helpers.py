"""Run functions for the experiment tests (module-level so every executor can import them)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from auctionlab.experiments.kinds import RunOutput


def counting_run(params: dict, seed: np.random.SeedSequence) -> RunOutput:
    """Draw a few numbers; append this run's spawn key to ``params['log']`` (one line per call).

    Crash switches (read from the environment so that the spec, hence its digest, is the same
    for the crashing and the resuming session):
    ``AUCTIONLAB_TEST_EXIT_AT=k``  — ``os._exit(3)`` when k calls have already been logged;
    ``AUCTIONLAB_TEST_EXIT_KEY=p,r`` — ``os._exit(3)`` in the run with that spawn key;
    ``AUCTIONLAB_TEST_RAISE_KEY=p,r`` — raise ValueError in that run.
    """
    log = Path(params["log"])
    key = ",".join(map(str, seed.spawn_key))
    calls = len(log.read_text().splitlines()) if log.exists() else 0
    if os.environ.get("AUCTIONLAB_TEST_EXIT_AT") == str(calls) or os.environ.get("AUCTIONLAB_TEST_EXIT_KEY") == key:
        os._exit(3)
    if os.environ.get("AUCTIONLAB_TEST_RAISE_KEY") == key:
        raise ValueError(f"planned failure in run {key}")
    gen = np.random.default_rng(seed)
    x = gen.normal(size=int(params.get("size", 3)))
    with log.open("a") as f:
        f.write(key + "\n")
    rows = [
        {"variant": v, "value": float(x[i % x.size] * (1 + v)), "scale": params.get("scale", 1)}
        for i, v in enumerate((0, 1))
    ]
    import pandas as pd

    agents = pd.DataFrame({"agent": np.arange(x.size), "draw": x})
    return RunOutput(runs=rows, agents=agents)


# ---------------------------------------------------------------------- tiny versions of catalog studies
def tiny_catalog(name: str, replications: int = 2, grids=None, **params):
    """A catalog study at toy size: fewer replications, some parameters (and the grids) replaced."""
    from auctionlab.experiments.catalog import catalog_spec

    spec = catalog_spec(name)
    changes = {"replications": replications, "params": {**spec.params, **params}}
    if grids is not None:
        changes["grids"] = tuple(grids)
    return spec.with_(**changes)


def tiny_report_specs() -> list:
    """Small specs whose report covers several kinds of section: the TASC paper's truthfulness and
    profit figures, ICE convergence, the relay manipulation study, and a user's own TASC sweep
    (another name, a metric subset) that gets the profit study's section."""
    from auctionlab.experiments.spec import parse_spec

    user = parse_spec(
        {
            "name": "my-profit-sweep",
            "model": "tasc",
            "replications": 3,
            "params": {"n": 8, "algorithms": ["mm", "mwm"], "vmax": 4.0},
            "grid": {"m": [6, 10]},
            "metrics": ["profit", "zero_profit", "trades"],
        }
    )
    return [
        tiny_catalog("tasc-truthfulness", n=8, m=8, bid_points=5, ask_points=5),
        tiny_catalog("tasc-profit", grids=[{"m": (6, 10)}], n=8),
        tiny_catalog(
            "ice-convergence",
            grids=[{"n_bidders": (4,), "n_goods": (3,), "cutoff_eff": (0.95,), "cutoff_thresh": (0.9,)}],
            nodes=6,
            max_units=1,
            max_rounds=6,
        ),
        tiny_catalog("relay-manipulation", replications=3, grids=[{"n": (6,), "m": (6, 8), "vmax": (4.0,)}], agents=3),
        user,
    ]
