"""The result store under damage, foreign files, tampered manifests, two writers and SIGKILL:
a bad shard is named in a StoreError and recomputed on resume; no row is ever lost,
duplicated or changed; reading results never imports code they name."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from auctionlab.errors import StateError
from auctionlab.experiments.runner import replay, run_experiment
from auctionlab.experiments.spec import parse_spec
from auctionlab.experiments.store import LOCK, QUARANTINE, ResultStore, StoreError, read_table

ROOT = Path(__file__).resolve().parents[2]
SLOW_RUN = "tests.fuzz.helpers:slow_run"
STORE = settings(
    max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)


def spec_dict(reps: int = 10, chunk: int = 2, sleep: float = 0.0, seed: int = 3, name: str = "st") -> dict:
    return {
        "name": name,
        "model": SLOW_RUN,
        "replications": reps,
        "chunk": chunk,
        "master_seed": seed,
        "params": {"sleep": sleep},
    }


def spec(**kw):
    return parse_spec(spec_dict(**kw))


def frames(out: Path) -> dict[str, pd.DataFrame]:
    return {t: read_table(out, t) for t in ("runs", "agents")}


def compare(ref: dict[str, pd.DataFrame], got: dict[str, pd.DataFrame]) -> dict[str, int]:
    """Rows lost, duplicated and changed in ``got`` against ``ref`` (runs and agents tables)."""
    res = {"lost": 0, "duplicated": 0, "changed": 0}
    keys = {"runs": ["run_id", "variant"], "agents": ["run_id", "agent"]}
    for t, k in keys.items():
        a, b = ref[t], got[t]
        res["duplicated"] += int(b.duplicated(k).sum())
        m = a.merge(b.drop_duplicates(k), on=k, how="left", suffixes=("", "_got"), indicator=True)
        res["lost"] += int((m["_merge"] == "left_only").sum())
        both = m[m["_merge"] == "both"]
        for c in a.columns:
            if c not in k:
                res["changed"] += int((both[c] != both[c + "_got"]).sum())
    return res


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    """A finished experiment (10 runs in 5 shards, runs and agents tables) and its tables."""
    out = tmp_path_factory.mktemp("clean") / "exp"
    run_experiment(spec(), out)
    return out, frames(out)


# ------------------------------------------------------------------ damaged and foreign shards
def _damage(path: Path, how: str, where: float, foreign: Path | None) -> None:
    raw = path.read_bytes()
    if how == "truncate":
        path.write_bytes(raw[: int(where * (len(raw) - 1))])
    elif how == "empty":
        path.write_bytes(b"")
    elif how == "flip":
        i = int(where * (len(raw) * 8 - 1))
        b = bytearray(raw)
        b[i // 8] ^= 1 << (i % 8)
        path.write_bytes(bytes(b))
    elif how == "foreign":
        assert foreign is not None
        shutil.copyfile(foreign / path.parent.name / path.name, path)
    elif how == "garbage":
        path.write_bytes(os.urandom(max(1, int(where * 2000))))


@pytest.fixture(scope="module")
def foreign(tmp_path_factory):
    """The same runs and layout from another experiment (another seed: another digest)."""
    out = tmp_path_factory.mktemp("foreign") / "exp"
    run_experiment(spec(seed=99), out)
    return out


@STORE
@given(
    how=st.sampled_from(["truncate", "empty", "flip", "flip", "flip", "foreign", "garbage"]),
    table=st.sampled_from(["runs", "agents"]),
    which=st.integers(0, 4),
    where=st.floats(0, 1),
)
def test_a_damaged_or_foreign_shard_is_named_then_recomputed(
    clean, foreign, tmp_path_factory, how, table, which, where
):
    src, ref = clean
    out = tmp_path_factory.mktemp("dmg") / "exp"
    shutil.copytree(src, out)
    shard = sorted((out / table).glob("shard-*.parquet"))[which]
    _damage(shard, how, where, foreign)
    try:
        got = frames(out)
    except StoreError as exc:
        assert shard.name in str(exc) and "\n" not in str(exc)
    else:  # a flip in bytes no reader decodes (e.g. statistics): the rows are exactly the same
        assert how == "flip" and compare(ref, got) == {"lost": 0, "duplicated": 0, "changed": 0}
        return
    summary = run_experiment(spec(), out)  # resume is not blocked: the shard set is moved aside
    assert summary.quarantined and summary.complete
    assert summary.computed == 2  # exactly the two runs of the damaged shard
    assert compare(ref, frames(out)) == {"lost": 0, "duplicated": 0, "changed": 0}
    assert any((out / QUARANTINE / table).iterdir())
    assert ResultStore.open(out).manifest["quarantined"]


def test_overlapping_and_duplicate_shards_are_never_read_twice(clean, tmp_path):
    src, ref = clean
    out = tmp_path / "exp"
    shutil.copytree(src, out)
    other = tmp_path / "other"
    run_experiment(spec(chunk=3), other)  # same experiment, other chunking: shards overlap ours
    extra = sorted((other / "runs").glob("shard-*.parquet"))[0]
    shutil.copyfile(extra, out / "runs" / extra.name)
    with pytest.raises(StoreError, match="repeats run"):
        read_table(out)
    summary = run_experiment(spec(), out)
    assert summary.computed == 0 and summary.quarantined
    assert compare(ref, frames(out)) == {"lost": 0, "duplicated": 0, "changed": 0}
    # a shard copied under another shard's name
    names = sorted((out / "runs").glob("shard-*.parquet"))
    shutil.copyfile(names[0], names[1])
    with pytest.raises(StoreError, match="do not match its file name"):
        read_table(out)


def test_deleting_the_manifest_never_lets_another_spec_adopt_old_rows(clean, tmp_path):
    src, ref = clean
    out = tmp_path / "exp"
    shutil.copytree(src, out)
    (out / "manifest.json").unlink()
    other = spec(seed=42)
    summary = run_experiment(other, out)
    assert summary.already_done == 0 and summary.computed == other.n_runs
    clean_other = tmp_path / "clean-other"
    run_experiment(other, clean_other)
    assert compare(frames(clean_other), frames(out)) == {"lost": 0, "duplicated": 0, "changed": 0}
    assert len(read_table(out)) == len(read_table(clean_other))
    # the same spec after a deleted manifest adopts its own (verified) rows
    again = tmp_path / "again"
    shutil.copytree(src, again)
    (again / "manifest.json").unlink()
    assert run_experiment(spec(), again).computed == 0
    assert compare(ref, frames(again)) == {"lost": 0, "duplicated": 0, "changed": 0}


@pytest.mark.parametrize(
    "field, bad",
    [
        ("name", "../../x"),
        ("name", "/etc/x"),
        ("name", 5),
        ("name", ""),
        ("name", "a" * 300),
        ("digest", "zz"),
        ("n_runs", "ten"),
        ("n_runs", -1),
        ("n_runs", 2**70),
        ("format", "other/9"),
        ("spec", None),
        ("spec", []),
        ("sessions", "x"),
        (None, "not json"),
        (None, [1, 2]),
        ("spec.name", "../x"),
        ("spec.replications", 2**62),
    ],
)
def test_tampered_manifests_are_refused_before_use(clean, tmp_path, field, bad):
    src, _ = clean
    out = tmp_path / "a" / "b" / "exp"
    shutil.copytree(src, out)
    path = out / "manifest.json"
    m = json.loads(path.read_text())
    if field is None:
        path.write_text(bad if isinstance(bad, str) else json.dumps(bad))
    elif "." in field:
        m["spec"][field.split(".")[1]] = bad
        path.write_text(json.dumps(m))
    else:
        m[field] = bad
        path.write_text(json.dumps(m))
    before = sorted(str(p) for p in tmp_path.rglob("*"))
    for read in (lambda: ResultStore.open(out), lambda: read_table(out), lambda: run_experiment(spec(), out)):
        with pytest.raises(StoreError):
            read()
    assert sorted(str(p) for p in tmp_path.rglob("*")) == before  # nothing written anywhere


def test_reading_results_never_imports_the_code_they_name(tmp_path):
    out, mark = tmp_path / "exp", tmp_path / "imported"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    run_experiment({"name": "trap", "model": "tests.fuzz.trap_module:run"}, out)  # the writer imports it
    read = (
        "import sys\nfrom auctionlab.experiments.store import ResultStore, read_table\n"
        "from auctionlab.experiments.runner import replay\nfrom auctionlab.errors import ConfigError\n"
        f"s = ResultStore.open({str(out)!r}); print(s.spec.model, len(read_table({str(out)!r})))\n"
        f"try:\n    replay({str(out)!r}, 0)\nexcept ConfigError as e:\n    print('refused:', e)\n"
        "assert 'tests.fuzz.trap_module' not in sys.modules\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", read],
        cwd=ROOT,
        env={**env, "AUCTIONLAB_TRAP_MARK": str(mark)},
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    assert "tests.fuzz.trap_module:run 1" in proc.stdout and "import_model=True" in proc.stdout
    assert not mark.exists()
    assert replay(out, 0, import_model=True)["runs"]["x"].tolist() == [1.0]  # when asked, it runs


# ------------------------------------------------------------------ two writers
def test_a_second_writer_gets_a_one_line_error_naming_the_holder(tmp_path):
    out = tmp_path / "exp"
    holder = ResultStore.for_spec(out, spec())
    try:
        with pytest.raises(StateError) as exc:
            run_experiment(spec(chunk=3), out)
        msg = str(exc.value)
        assert f"pid {os.getpid()} on {socket.gethostname()}" in msg and "\n" not in msg
    finally:
        holder.close()
    assert run_experiment(spec(chunk=3), out).complete


def _sweep_code(out: Path, d: dict, workers: int = 1) -> str:
    ex = f"cf.ProcessPoolExecutor({workers})" if workers > 1 else "None"
    return (
        "import concurrent.futures as cf, json, sys\n"
        "from auctionlab.experiments.runner import run_experiment\nfrom auctionlab.errors import StateError\n"
        f"ex = {ex}\n"
        "try:\n"
        f"    run_experiment(json.loads({json.dumps(json.dumps(d))}), {str(out)!r}, executor=ex)\n"
        "except StateError as e:\n    print('STATE:', e, file=sys.stderr); sys.exit(7)\n"
        "finally:\n    ex and ex.shutdown(cancel_futures=True)\n"
    )


def test_two_writer_processes_on_one_directory(tmp_path):
    out = tmp_path / "exp"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _sweep_code(out, spec_dict(reps=12, chunk=c, sleep=0.05))],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for c in (2, 5)
    ]
    results = [(p.wait(timeout=120), p.stderr.read()) for p in procs]
    codes = sorted(c for c, _ in results)
    assert codes in ([0, 0], [0, 7]), results  # the second either waited its turn or was refused
    for c, err in results:
        if c == 7:
            line = [ln for ln in err.splitlines() if ln.startswith("STATE:")][0]
            assert "is being written by pid" in line and socket.gethostname() in line
    ref = tmp_path / "ref"
    run_experiment(spec(reps=12, sleep=0.05), ref)
    run_experiment(spec(reps=12, sleep=0.05), out)  # resume whatever is missing
    assert compare(frames(ref), frames(out)) == {"lost": 0, "duplicated": 0, "changed": 0}


def test_a_stale_lock_of_a_dead_writer_is_taken_over(tmp_path):
    out = tmp_path / "exp"
    run_experiment(spec(reps=2), out)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (out / LOCK).write_text(json.dumps({"pid": dead.pid, "host": socket.gethostname(), "since": "earlier"}))
    assert run_experiment(spec(reps=2), out).complete
    # the dead writer's pool workers may still hold the OS lock on the old lock file
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import fcntl, os, sys, time\n"
            f"fd = os.open({str(out / LOCK)!r}, os.O_RDWR)\nfcntl.flock(fd, fcntl.LOCK_EX)\n"
            f"os.pwrite(fd, {json.dumps({'pid': dead.pid, 'host': socket.gethostname()}).encode()!r}, 0)\n"
            "print('locked', flush=True)\ntime.sleep(60)\n",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        with ResultStore.for_spec(out, spec(reps=2)) as store:
            assert store.writable
    finally:
        holder.kill()
        holder.wait()


# ------------------------------------------------------------------ SIGKILL at random moments
def kill_resume(tmp_path: Path, kills: int, workers: int, seed: int) -> dict[str, int]:
    """Run a sweep in a subprocess, SIGKILL it at a random moment ``kills`` times (resuming
    each time), finish in this process; rows lost / duplicated / changed vs a clean sweep."""
    rng = random.Random(seed)
    d = spec_dict(reps=30, chunk=2, sleep=0.03, seed=seed)
    out = tmp_path / f"killed-{workers}"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for _ in range(kills):
        p = subprocess.Popen(
            [sys.executable, "-c", _sweep_code(out, d, workers)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        time.sleep(rng.uniform(0.6, 3.0))
        if rng.random() < 0.5:
            os.killpg(p.pid, signal.SIGKILL)  # the writer and its workers
            p.wait()
        else:
            p.kill()  # the writer alone: its pool workers may linger holding the old lock
            p.wait()
            time.sleep(0.05)
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    run_experiment(parse_spec(d), out)
    ref = tmp_path / f"ref-{workers}"
    run_experiment(parse_spec({**d, "chunk": 7}), ref)
    res = compare(frames(ref), frames(out))
    res["kills"] = kills
    print(f"kill/resume workers={workers}: {res}")
    return res


def test_sigkill_at_random_moments_then_resume(tmp_path):
    res = kill_resume(tmp_path, kills=3, workers=1, seed=11)
    assert (res["lost"], res["duplicated"], res["changed"]) == (0, 0, 0)


@pytest.mark.slow
@pytest.mark.parametrize("workers, kills, seed", [(1, 20, 5), (2, 12, 6)])
def test_sigkill_many_times_serial_and_with_workers(tmp_path, workers, kills, seed):
    res = kill_resume(tmp_path, kills=kills, workers=workers, seed=seed)
    assert (res["lost"], res["duplicated"], res["changed"]) == (0, 0, 0)
