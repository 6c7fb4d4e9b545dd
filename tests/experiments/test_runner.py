"""The runner and the store: identical tables whatever the executor, replay of one run,
and resuming an interrupted sweep with nothing lost, duplicated or recomputed."""

from __future__ import annotations

import concurrent.futures as cf
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from auctionlab.errors import ConfigError
from auctionlab.experiments.catalog import catalog_spec
from auctionlab.experiments.runner import RunFailedError, SerialExecutor, replay, run_experiment
from auctionlab.experiments.spec import parse_spec
from auctionlab.experiments.store import ResultStore, StoreError, parse_ranges

ROOT = Path(__file__).resolve().parents[2]
HELPER = "tests.experiments.helpers:counting_run"


def small_specs():
    """Every built-in kind but ICE (slow per run; it has its own test), at toy size."""
    return [
        catalog_spec("tasc-profit").with_(
            replications=3, chunk=2, params={**catalog_spec("tasc-profit").params, "n": 12}, grids=({"m": (8, 14)},)
        ),
        parse_spec(
            {
                "name": "eff",
                "model": "tasc",
                "replications": 2,
                "chunk": 3,
                "params": {"n": 10},
                "grids": [{"m": [6, 12], "vmax": [4.0]}, {"m": [10], "vmax": [[1.0, 3.0]]}],
            }
        ),
        catalog_spec("tasc-truthfulness").with_(
            replications=2,
            chunk=1,
            params={**catalog_spec("tasc-truthfulness").params, "n": 12, "m": 12, "bid_points": 5, "ask_points": 5},
        ),
        parse_spec(
            {
                "name": "mesa",
                "model": "relay-market",
                "replications": 2,
                "params": {
                    "n": 5,
                    "m": 6,
                    "steps": 3,
                    "population": {
                        "buyer": [
                            {"strategy": "scale", "params": {"theta": 0.8}, "share": 0.4},
                            {"strategy": "truthful", "share": 0.6},
                        ]
                    },
                },
                "grid": {"mechanism": ["tasc", "trade_reduction"]},
            }
        ),
    ]


def tables(out: Path) -> dict[str, pd.DataFrame]:
    """Stored tables without the wall-clock columns (time_*), which are measurements."""
    store = ResultStore.open(out)
    res = {}
    for t in ("runs", "agents", "rounds"):
        df = store.table(t)
        res[t] = df[[c for c in df.columns if not c.startswith("time_")]]
    return res


def assert_same(a: dict[str, pd.DataFrame], b: dict[str, pd.DataFrame]) -> None:
    for t in a:
        pd.testing.assert_frame_equal(a[t], b[t], check_exact=True)


def test_serial_process_pool_and_dask_give_identical_tables(tmp_path):
    distributed = pytest.importorskip("distributed")
    specs = small_specs()
    serial = {}
    for s in specs:
        run_experiment(s, tmp_path / "serial" / s.name)
        serial[s.name] = tables(tmp_path / "serial" / s.name)
        assert len(serial[s.name]["runs"]["run_id"].unique()) == s.n_runs
    with cf.ProcessPoolExecutor(2) as ex:
        for s in specs:
            run_experiment(s, tmp_path / "pool" / s.name, executor=ex, chunk=1)  # other chunking, same tables
            assert_same(serial[s.name], tables(tmp_path / "pool" / s.name))
    with (
        distributed.LocalCluster(
            n_workers=1, threads_per_worker=2, processes=False, protocol="tcp", host="127.0.0.1", dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        ex = client.get_executor()
        for s in specs:
            run_experiment(s, tmp_path / "dask" / s.name, executor=ex)
            assert_same(serial[s.name], tables(tmp_path / "dask" / s.name))
    mesa = serial["mesa"]
    assert not mesa["agents"].empty and not mesa["rounds"].empty
    assert set(mesa["runs"]["mechanism"]) == {"tasc", "trade_reduction"}


def test_replay_one_run_alone(tmp_path):
    s = small_specs()[2]  # truthfulness: runs and agents tables
    out = tmp_path / "t"
    run_experiment(s, out)
    stored = tables(out)
    for rid in (0, s.n_runs - 1):
        again = replay(out, rid)  # from the manifest alone
        for t in ("runs", "agents"):
            mine = stored[t][stored[t]["run_id"] == rid].reset_index(drop=True)
            pd.testing.assert_frame_equal(mine, again[t].reset_index(drop=True), check_exact=True)
    row = stored["runs"].iloc[0]
    assert (row["seed_entropy"], row["seed_spawn_key"]) == (s.master_seed, "0,0")
    with pytest.raises(ConfigError, match="run_id must be in"):
        replay(s, s.n_runs)


def counting_spec(log: Path, reps: int = 12, chunk: int = 2):
    return parse_spec(
        {
            "name": "count",
            "model": HELPER,
            "replications": reps,
            "master_seed": 5,
            "chunk": chunk,
            "params": {"log": str(log)},
        }
    )


def logged(log: Path) -> list[str]:
    return log.read_text().splitlines() if log.exists() else []


def test_resume_after_the_process_dies_mid_sweep(tmp_path):
    log, out = tmp_path / "calls.log", tmp_path / "out"
    spec = counting_spec(log)
    code = (
        f"from tests.experiments.test_runner import counting_spec; from pathlib import Path\n"
        f"from auctionlab.experiments.runner import run_experiment\n"
        f"run_experiment(counting_spec(Path({str(log)!r})), Path({str(out)!r}))\n"
    )
    env = {**os.environ, "AUCTIONLAB_TEST_EXIT_AT": "5", "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True)
    assert proc.returncode == 3, proc.stderr  # killed inside the 6th run
    store = ResultStore.open(out)
    stored = store.done_runs()
    assert stored == {0, 1, 2, 3}  # chunks of 2: run 4 was computed but its chunk never landed
    assert store.manifest["status"] == "incomplete" and parse_ranges(store.manifest["runs"]["done"]) == [0, 1, 2, 3]
    first = store.table("runs")
    shards_before = sorted(p.name for p in (out / "runs").iterdir())
    n_first = len(logged(log))

    summary = run_experiment(spec, out)  # resume in this process
    again = logged(log)[n_first:]
    keys = {f"0,{r}" for r in range(12)}
    assert set(again) == keys - {f"0,{r}" for r in stored} and len(again) == len(set(again)) == 8
    assert (summary.already_done, summary.computed) == (4, 8)
    final = ResultStore.open(out)
    runs = final.table("runs")
    assert sorted(runs["run_id"].unique()) == list(range(12)) and len(runs) == 24  # two variants per run
    assert not runs.duplicated(["run_id", "variant"]).any()
    assert final.table("agents").groupby("run_id").size().eq(3).all()
    pd.testing.assert_frame_equal(runs[runs["run_id"] < 4].reset_index(drop=True), first)  # kept, not redone
    assert set(shards_before) <= {p.name for p in (out / "runs").iterdir()}
    assert final.manifest["status"] == "complete" and len(final.manifest["sessions"]) == 2
    # same tables as a sweep that was never interrupted
    clean = tmp_path / "clean"
    run_experiment(counting_spec(log, chunk=5), clean)
    assert_same(tables(clean), tables(out))
    # nothing left to do on a complete directory
    n = len(logged(log))
    assert run_experiment(spec, out).computed == 0 and len(logged(log)) == n


def test_worker_death_in_a_process_pool_then_resume(tmp_path, monkeypatch):
    log, out = tmp_path / "calls.log", tmp_path / "out"
    spec = counting_spec(log, reps=16, chunk=2)
    monkeypatch.setenv("AUCTIONLAB_TEST_EXIT_KEY", "0,9")  # inherited by the forked workers
    with cf.ProcessPoolExecutor(2) as ex, pytest.raises(RunFailedError, match="rerun the same command to resume"):
        run_experiment(spec, out, executor=ex)
    monkeypatch.delenv("AUCTIONLAB_TEST_EXIT_KEY")
    stored = ResultStore.open(out).done_runs()
    assert 9 not in stored and 8 not in stored  # run 9's chunk (8, 9) never landed
    n_first = len(logged(log))
    run_experiment(spec, out)
    again = logged(log)[n_first:]
    assert sorted(again) == sorted(f"0,{r}" for r in range(16) if r not in stored)
    runs = ResultStore.open(out).table("runs")
    assert sorted(runs["run_id"].unique()) == list(range(16)) and not runs.duplicated(["run_id", "variant"]).any()


def test_a_failing_run_stops_the_sweep_and_is_recorded(tmp_path, monkeypatch):
    log, out = tmp_path / "calls.log", tmp_path / "out"
    spec = counting_spec(log, reps=6, chunk=2)
    monkeypatch.setenv("AUCTIONLAB_TEST_RAISE_KEY", "0,3")
    with pytest.raises(RunFailedError, match=r"run 3 of 'count' failed: ValueError: planned failure in run 0,3"):
        run_experiment(spec, out)
    m = ResultStore.open(out).manifest
    assert parse_ranges(m["runs"]["done"]) == [0, 1, 2] and "planned failure" in m["runs"]["failed"]["3"]
    monkeypatch.delenv("AUCTIONLAB_TEST_RAISE_KEY")
    summary = run_experiment(spec, out)
    assert summary.computed == 3 and ResultStore.open(out).manifest["runs"]["failed"] == {}


def test_store_refuses_another_experiment_and_cleans_debris(tmp_path):
    log, out = tmp_path / "calls.log", tmp_path / "out"
    run_experiment(counting_spec(log, reps=4), out)
    with pytest.raises(StoreError, match="different experiment"):
        run_experiment(counting_spec(log, reps=5), out)
    # debris of a crash in the middle of a shard write: a tmp file and an uncommitted agents shard
    (out / "runs" / "shard-x.parquet.tmp").write_bytes(b"partial")
    orphan = out / "agents" / "shard-00000099-00000099-abc.parquet"
    orphan.write_bytes(b"not committed")
    store = ResultStore.open(out)
    assert not orphan.exists() and not (out / "runs" / "shard-x.parquet.tmp").exists()
    assert store.done_runs() == {0, 1, 2, 3}
    with pytest.raises(StoreError, match="not an experiment directory"):
        ResultStore.open(tmp_path)
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "file.txt").write_text("x")
    with pytest.raises(StoreError, match="is not an experiment directory"):
        run_experiment(counting_spec(log), tmp_path / "junk")


def test_serial_executor_is_an_executor():
    ex = SerialExecutor()
    assert isinstance(ex, cf.Executor)
    assert ex.submit(pow, 2, 5).result() == 32
    f = ex.submit(int, "x")
    assert isinstance(f.exception(), ValueError)
    ex.shutdown()
    with pytest.raises(RuntimeError):
        ex.submit(pow, 2, 2)


def test_ice_kind_runs_and_stores_rounds(tmp_path):
    spec = catalog_spec("ice-convergence").with_(
        replications=1, grids=({},), params={**catalog_spec("ice-convergence").params, "n_bidders": 4, "n_goods": 2}
    )
    run_experiment(spec, tmp_path / "ice")
    t = tables(tmp_path / "ice")
    # one row per bidder kind on the same instance: the paper's bidder and the eager extension
    runs = t["runs"].set_index("proxy")
    assert len(t["runs"]) == 2 and sorted(runs.index) == ["eager", "straightforward"]
    assert (t["runs"]["run_id"] == t["runs"]["run_id"].iloc[0]).all()
    # the eager bidder's bounds shrink every round and it closes by the cutoffs; the paper's
    # bidder reveals only what the activity rule requires: its state repeats, so the run is
    # stopped as stalled (the outcome of running to max_rounds = 30, in fewer rounds)
    assert runs.loc["eager", "closed_by"] == "cutoffs" and runs.loc["eager", "rounds"] == 5
    assert runs.loc["straightforward", "closed_by"] == "stalled"
    assert runs.loc["straightforward", "rounds"] < 31
    for table in ("rounds", "agents"):
        assert "proxy" in t[table].columns
    assert t["rounds"].groupby("proxy").size().to_dict() == runs["rounds"].to_dict()
    assert t["agents"].groupby("proxy").size().to_dict() == {"eager": 4, "straightforward": 4}


def test_run_experiment_checks_its_arguments(tmp_path):
    log = tmp_path / "calls.log"
    for bad in (0, -1, True, 1.5):
        with pytest.raises(ConfigError, match="chunk"):
            run_experiment(counting_spec(log), tmp_path / "o", chunk=bad)
    with pytest.raises(ConfigError, match="progress must be True or False"):
        run_experiment(counting_spec(log), tmp_path / "o", progress="no")
    (tmp_path / "file").write_text("x")
    with pytest.raises(StoreError, match="is a file"):
        run_experiment(counting_spec(log), tmp_path / "file")
    assert not (tmp_path / "o").exists() and not log.exists()


def test_a_damaged_shard_is_named_then_recomputed(tmp_path):
    log, out = tmp_path / "calls.log", tmp_path / "out"
    run_experiment(counting_spec(log, reps=6), out)
    before = ResultStore.open(out).table("runs")
    shard = sorted((out / "runs").glob("shard-*.parquet"))[1]
    shard.write_bytes(shard.read_bytes()[:100])  # truncated
    with pytest.raises(StoreError, match=shard.name):
        ResultStore.open(out).table("runs")
    n = len(logged(log))
    summary = run_experiment(counting_spec(log, reps=6), out)
    assert summary.computed == 2 and len(logged(log)) == n + 2 and len(summary.quarantined) >= 1
    pd.testing.assert_frame_equal(ResultStore.open(out).table("runs"), before)


def test_plain_progress_lines_with_elapsed_and_eta_where_there_is_no_bar(tmp_path):
    spec = small_specs()[0]  # 2 points x 3 replications, 2 runs per task
    lines: list[str] = []
    run_experiment(spec, tmp_path / "a", log=lines.append, log_every=1e-9)
    assert 1 <= len(lines) < spec.n_runs  # one per finished task but the last (stderr is not a terminal here)
    first = lines[0].split()
    assert first[:2] == ["tasc-profit:", f"2/{spec.n_runs}"] and "elapsed," in first and first[-3] == "ETA"
    quiet: list[str] = []
    run_experiment(spec, tmp_path / "b", log=quiet.append)  # at most one line per 10 s: none for a quick run
    assert quiet == []
    with pytest.raises(ConfigError, match="log_every"):
        run_experiment(spec, tmp_path / "c", log=print, log_every=0)
