"""Run functions for the fuzz suite's store tests (module-level so subprocesses import them)."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from auctionlab.experiments.kinds import RunOutput


def slow_run(params: dict, seed: np.random.SeedSequence) -> RunOutput:
    """A few seeded draws after ``params['sleep']`` seconds: two runs rows and an agents table."""
    time.sleep(float(params.get("sleep", 0.0)))
    gen = np.random.default_rng(seed)
    x = gen.normal(size=3)
    rows = [{"variant": v, "value": float(x[v] * 10 + v), "label": f"v{v}"} for v in (0, 1)]
    return RunOutput(runs=rows, agents=pd.DataFrame({"agent": np.arange(3), "draw": x}))


def trap(params: dict, seed: np.random.SeedSequence) -> RunOutput:  # pragma: no cover - never imported
    raise AssertionError("unreachable")
