"""Timing runs: the ``tasc`` kind's in-process repeats, and the runner computing such runs
one at a time in its own process, never through the executor it was given."""

from __future__ import annotations

import concurrent.futures as cf
import json

import numpy as np
import pytest

from auctionlab.errors import ConfigError
from auctionlab.experiments.kinds import RUN_KINDS
from auctionlab.experiments.runner import RunFailedError, chunks_for, interleaved, run_experiment
from auctionlab.experiments.spec import parse_spec
from auctionlab.experiments.store import read_table
from auctionlab.studies.tasc_runs import run_tasc


class RefusingExecutor(cf.Executor):
    """An executor that must not be used: any submission fails."""

    def __init__(self) -> None:
        self.submitted = 0

    def submit(self, fn, /, *args, **kwargs):
        self.submitted += 1
        raise RuntimeError("this executor must not be used")


def _spec(**params):
    return parse_spec(
        {
            "name": "timing",
            "model": "tasc",
            "params": {"n": 8, "m": 8, "algorithms": ["mwm", "mm"], **params},
            "replications": 3,
            "master_seed": 1,
            "chunk": 1,
        }
    )


def test_repeated_timings_are_medians_with_quartiles():
    out = run_tasc({"n": 10, "m": 10, "timing_repeats": 7}, np.random.SeedSequence(3))
    for row in out.runs:
        assert row["time_repeats"] == 7
        assert row["time_tasc_q25_ms"] <= row["time_tasc_ms"] <= row["time_tasc_q75_ms"]
        assert row["time_assign_ms"] > 0 and row["time_clear_ms"] > 0
    plain = run_tasc({"n": 10, "m": 10}, np.random.SeedSequence(3))
    # single timings keep the columns they always had; everything but the times is the same
    assert not any("time_repeats" in r or "time_tasc_q25_ms" in r for r in plain.runs)
    strip = lambda rows: [{k: v for k, v in r.items() if not k.startswith("time_")} for r in rows]  # noqa: E731
    assert strip(plain.runs) == strip(out.runs)


def test_timing_runs_are_declared_by_the_kind():
    kind = RUN_KINDS["tasc"]
    assert (
        kind.is_timing({"timing_repeats": 3}) and not kind.is_timing({}) and not kind.is_timing({"timing_repeats": 0})
    )
    assert not RUN_KINDS["tasc-truthfulness"].is_timing({})
    with pytest.raises(ConfigError, match="timing_repeats"):
        _spec(timing_repeats=-1)


def test_runner_computes_timing_runs_here_one_at_a_time(tmp_path):
    ex = RefusingExecutor()
    summary = run_experiment(_spec(timing_repeats=2), tmp_path / "t", executor=ex)
    assert ex.submitted == 0 and summary.computed == 3
    runs = read_table(tmp_path / "t", "runs")
    assert len(runs) == 6 and set(runs["time_repeats"]) == {2}
    manifest = json.loads((tmp_path / "t" / "manifest.json").read_text())
    assert manifest["sessions"][-1]["executor"] == "SerialExecutor (timing runs)"
    # the same executor is used (and here fails) for an ordinary sweep
    with pytest.raises(RunFailedError, match="must not be used"):
        run_experiment(_spec(), tmp_path / "u", executor=RefusingExecutor())


def test_timing_chunks_go_round_robin_over_grid_points():
    spec = parse_spec(
        {
            "name": "grid",
            "model": "tasc",
            "params": {"n": 6, "timing_repeats": 1},
            "grid": {"m": [6, 8, 10]},
            "replications": 2,
        }
    )
    chunks = chunks_for(spec, list(range(spec.n_runs)), 1)
    assert [c[0].point for c in chunks] == [0, 0, 1, 1, 2, 2]
    assert [c[0].point for c in interleaved(chunks)] == [0, 1, 2, 0, 1, 2]
    assert sorted(t.run_id for c in interleaved(chunks) for t in c) == list(range(6))
