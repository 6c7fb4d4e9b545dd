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
