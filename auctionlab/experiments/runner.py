"""Execute an experiment spec through any ``concurrent.futures.Executor`` into a result store.

- serial (default): :class:`SerialExecutor`, in this process;
- local processes: ``concurrent.futures.ProcessPoolExecutor`` (``--workers N``);
- Dask: ``distributed.Client(address).get_executor()`` or a ``LocalCluster`` (``--scheduler``).

Runs are grouped into chunks (tasks) of ``spec.chunk`` runs (default: the run kind's);
each chunk is computed by :func:`execute_chunk` on a worker and returned to this process,
which writes it as one shard. Workers need no shared filesystem. Every run draws only
from its own SeedSequence, so the stored tables are identical whatever the executor, the
number of workers, the chunk size or the completion order — except the columns whose name
starts with ``time_``, which are wall-clock measurements.

Timing runs: a run kind may declare that some of its runs measure running time
(:attr:`RunKind.timing <auctionlab.experiments.kinds.RunKind.timing>`, e.g. the ``tasc``
kind with ``timing_repeats`` > 0). A spec with such a run is executed one run at a time in
this process, never through the given executor (whose workers stay idle meanwhile: the
runner computes one experiment at a time), so no worker of this sweep shares the cores
with a timed auction; their chunks are taken round-robin over the grid points
(:func:`interleaved`), so that a change in the machine's load falls on every point alike.
The manifest's session records the executor as ``SerialExecutor (timing runs)``.

One level of parallelism: the runner owns it. A run is computed serially inside whatever
worker runs its chunk — the ICE run kinds build their exchanges with ``executor=None``, so
the payments' V_{−i} solves never start a pool inside a pool and N workers mean N solvers
at once, not N times a pool's. To spread a single large ICE run over several cores, give
``IterativeExchange(executor=...)`` a pool directly, outside the runner.

Resuming: :func:`run_experiment` on a directory that already holds the same experiment
computes only the runs not yet stored; shards found damaged or written by another
experiment are moved to ``quarantine/`` and their runs computed again (the summary says
which). One writer per directory: a second :func:`run_experiment` on a directory in use
raises :class:`~auctionlab.errors.StateError` naming the writer's pid and host. A failing run stops the sweep (after storing
every chunk that finished) with :class:`RunFailedError`; rerun the same command to resume.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import itertools
import os
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from auctionlab._validate import check_bool, check_int
from auctionlab.errors import AuctionlabError, ConfigError
from auctionlab.experiments.kinds import RunKind, resolve_kind
from auctionlab.experiments.spec import ExperimentSpec, RunTask, is_code_ref, load_spec, model_ref, parse_spec
from auctionlab.experiments.store import ResultStore, now, package_versions

ID_COLUMNS = ("run_id", "point", "replication", "seed_entropy", "seed_spawn_key")


class RunFailedError(AuctionlabError, RuntimeError):
    """A run raised, or a worker died; finished runs are stored and a rerun resumes."""


class SerialExecutor(cf.Executor):
    """Runs each task when it is submitted, in the calling thread (the default executor)."""

    def __init__(self) -> None:
        self._shutdown = False
        self._lock = threading.Lock()

    def submit(self, fn: Callable, /, *args: Any, **kwargs: Any) -> cf.Future:
        with self._lock:
            if self._shutdown:
                raise RuntimeError("cannot submit after shutdown")
        f: cf.Future = cf.Future()
        f.set_running_or_notify_cancel()
        try:
            f.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # noqa: BLE001 - delivered through the future
            if isinstance(exc, KeyboardInterrupt):
                raise
            f.set_exception(exc)
        return f

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self._shutdown = True


# ---------------------------------------------------------------------- worker side
@dataclass
class ChunkResult:
    run_ids: list[int]
    tables: dict[str, pd.DataFrame | None]
    seconds: float  # worker-side compute time of the chunk
    failed: dict[int, str] = field(default_factory=dict)


def _json_cell(v: Any) -> Any:
    """Grid values become table cells: lists/tables as compact JSON text."""
    if isinstance(v, (list, tuple, dict)):
        import json

        return json.dumps(v, separators=(",", ":"))
    return v


def _run_rows(
    kind: RunKind, task: RunTask, metrics: Sequence[str] | None, grid_keys: Sequence[str]
) -> tuple[list[dict[str, Any]], dict[str, pd.DataFrame]]:
    """One run: its ``runs`` rows (plain dicts, id columns first) and its other tables.
    Rows stay dicts until a whole chunk is assembled: per-run DataFrames would cost more
    than a relay auction."""
    out = kind(task.params, task.seed)
    ids = {
        "run_id": task.run_id,
        "point": task.point,
        "replication": task.replication,
        "seed_entropy": task.entropy,
        "seed_spawn_key": ",".join(map(str, task.spawn_key)),
    }
    rows: list[dict[str, Any]] = []
    for r in out.runs or [{}]:
        if metrics is not None:
            r = {k: v for k, v in r.items() if k in kind.id_columns or k in metrics}
        grid = {k: _json_cell(task.params.get(k)) for k in grid_keys if k not in r}
        rows.append({**ids, **grid, **r})
    other: dict[str, pd.DataFrame] = {}
    for name in ("agents", "rounds"):
        df = getattr(out, name)
        if df is not None and len(df):
            df = df.reset_index(drop=True)
            df = df.drop(columns=[c for c in ("run_id", "point", "replication") if c in df.columns])
            df.insert(0, "replication", task.replication)
            df.insert(0, "point", task.point)
            df.insert(0, "run_id", task.run_id)
            other[name] = df
    return rows, other


def run_one(
    kind: RunKind, task: RunTask, metrics: Sequence[str] | None = None, grid_keys: Sequence[str] = ()
) -> dict[str, pd.DataFrame | None]:
    """Compute one run and return its tables with the id columns in front."""
    rows, other = _run_rows(kind, task, metrics, grid_keys)
    return {"runs": pd.DataFrame(rows), "agents": other.get("agents"), "rounds": other.get("rounds")}


def execute_chunk(
    model: Any, tasks: list[RunTask], metrics: Sequence[str] | None, grid_keys: Sequence[str]
) -> ChunkResult:
    """Compute a chunk of runs on a worker (module-level, so every executor can ship it).
    Stops at the first failing run: runs before it are returned, the failure is reported."""
    t0 = time.perf_counter()
    kind = resolve_kind(model)
    rows: list[dict[str, Any]] = []
    parts: dict[str, list[pd.DataFrame]] = {"agents": [], "rounds": []}
    ok: list[int] = []
    failed: dict[int, str] = {}
    for task in tasks:
        try:
            r, other = _run_rows(kind, task, metrics, grid_keys)
        except Exception as exc:  # reported to the parent, which stops the sweep
            tb = traceback.format_exception_only(type(exc), exc)[-1].strip()
            failed[task.run_id] = f"{tb} (point {task.point}, replication {task.replication})"
            break
        ok.append(task.run_id)
        rows.extend(r)
        for k, df in other.items():
            parts[k].append(df)
    tables: dict[str, pd.DataFrame | None] = {"runs": pd.DataFrame(rows) if rows else None}
    tables.update({k: (pd.concat(v, ignore_index=True) if v else None) for k, v in parts.items()})
    return ChunkResult(ok, tables, time.perf_counter() - t0, failed)


# ---------------------------------------------------------------------- parent side
@dataclass
class RunSummary:
    """What one call of :func:`run_experiment` did."""

    out: Path
    name: str
    total: int
    already_done: int
    computed: int
    wall: float
    compute_seconds: float  # sum of worker-side chunk times
    storage_seconds: float  # shard writes + manifest updates in this process
    executor: str
    quarantined: list[str] = field(default_factory=list)  # "table/shard: reason" moved aside and recomputed

    @property
    def complete(self) -> bool:
        return self.already_done + self.computed == self.total

    def __str__(self) -> str:
        q = (
            f"; {len(self.quarantined)} damaged or foreign shard file(s) moved to quarantine/ and recomputed"
            if self.quarantined
            else ""
        )
        return (
            f"{self.name}: {self.already_done + self.computed}/{self.total} runs stored "
            f"({self.computed} computed now, {self.already_done} resumed) in {self.wall:.1f} s "
            f"with {self.executor} -> {self.out}{q}"
        )


def chunks_for(spec: ExperimentSpec, pending: Sequence[int], size: int) -> list[list[RunTask]]:
    """Pending runs grouped by grid point into chunks of at most ``size`` (run-id order)."""
    out: list[list[RunTask]] = []
    cur: list[RunTask] = []
    for t in spec.tasks(pending):
        if cur and (len(cur) >= size or t.point != cur[-1].point):
            out.append(cur)
            cur = []
        cur.append(t)
    if cur:
        out.append(cur)
    return out


def interleaved(chunks: list[list[RunTask]]) -> list[list[RunTask]]:
    """Chunks taken round-robin over the grid points (the first chunk of every point, then
    the second, ...): the order timing runs are computed in, so that a drift of the
    machine's load during the sweep falls on every grid point alike."""
    by_point: dict[int, list[list[RunTask]]] = {}
    for c in chunks:
        by_point.setdefault(c[0].point, []).append(c)
    rounds = itertools.zip_longest(*by_point.values())
    return [c for r in rounds for c in r if c is not None]


def _executor_name(ex: cf.Executor) -> str:
    n = getattr(ex, "_max_workers", None)
    return type(ex).__name__ + (f"({n})" if n else "")


def _window(ex: cf.Executor) -> int:
    """How many chunks to keep in flight: enough to feed every worker, bounded for memory."""
    if isinstance(ex, SerialExecutor):
        return 1
    n = getattr(ex, "_max_workers", None)
    client = getattr(ex, "_client", None)
    if client is not None:
        try:
            n = sum(client.nthreads().values())
        except Exception:  # noqa: BLE001 - a best-effort hint only
            n = None
    return max(4, 3 * int(n or os.cpu_count() or 2))


def solvers_of(spec: ExperimentSpec, kind: RunKind) -> list[dict[str, str]]:
    """``{"solver", "version"}`` of every MIP backend the spec's runs use (kinds with a
    ``solver`` parameter; empty for the others), for the session's manifest entry."""
    if not kind.defaults or "solver" not in kind.defaults:
        return []
    from auctionlab.mechanisms.exchange.backends import solver_info

    names = sorted({str(p.get("solver", kind.defaults["solver"])) for p in spec.point_params()})
    return [solver_info(n) for n in names]


def run_experiment(
    spec: ExperimentSpec | str | Path | dict,
    out: str | Path,
    *,
    executor: cf.Executor | None = None,
    progress: bool | None = None,
    chunk: int | None = None,
    log: Callable[[str], None] | None = None,
    log_every: float = 10.0,
) -> RunSummary:
    """Run (or resume) ``spec`` into the directory ``out`` and return a summary.

    ``progress``: None = a tqdm bar only when stderr is a terminal; True/False force it.
    ``chunk`` overrides the runs per task (scheduling only; results never depend on it).
    ``log``: where there is no bar (stderr not a terminal, ``progress`` None), a plain line
    with the runs done, the elapsed time and an ETA goes to ``log`` at most every
    ``log_every`` seconds (readable in a pipe or a log file).
    """
    spec = load_spec(spec)
    kind = resolve_kind(spec.model)
    if chunk is not None:
        check_int(chunk, "chunk", minimum=1)
    if progress is not None:
        check_bool(progress, "progress")
    if log is not None and not callable(log):
        raise ConfigError(f"log must be a callable taking a line of text, got {type(log).__name__}")
    if isinstance(log_every, bool) or not isinstance(log_every, (int, float)) or not log_every > 0:
        raise ConfigError(f"log_every must be a positive number of seconds, got {log_every!r}")
    if executor is not None and not isinstance(executor, cf.Executor):
        raise ConfigError(f"executor must be a concurrent.futures.Executor, got {type(executor).__name__}")
    if not isinstance(out, (str, os.PathLike)):
        raise ConfigError(f"out must be a directory path, got {type(out).__name__}")
    size = chunk or spec.chunk or kind.chunk
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise ConfigError(f"chunk must be a positive integer, got {size!r}")
    model_ref(spec.model)  # fails early (ConfigError) for lambdas and other objects workers could not import
    store = ResultStore.for_spec(out, spec)
    try:
        ticker = _Ticker(
            spec.name, spec.n_runs, log if progress is None and not sys.stderr.isatty() else None, log_every
        )
        return _run_store(spec, kind, store, Path(out), executor, progress, size, ticker)
    finally:
        store.close()


def _run_store(
    spec: ExperimentSpec,
    kind: RunKind,
    store: ResultStore,
    out: Path,
    executor: cf.Executor | None,
    progress: bool | None,
    size: int,
    ticker: _Ticker | None = None,
) -> RunSummary:
    done = store.done_runs()
    if ticker is not None:
        ticker.start(len(done))
    pending = sorted(set(range(spec.n_runs)) - done)
    timing = kind.timing is not None and any(kind.is_timing(p) for p in spec.point_params())
    # timing runs never go to the given executor: one at a time, in this process
    ex: cf.Executor = executor if executor is not None and not timing else SerialExecutor()
    own = ex is not executor
    ref = spec.model  # a name, "module:function", or an importable callable / RunKind (pickled by reference)
    grid_keys = spec.grid_keys
    session = {
        "started": now(),
        "executor": _executor_name(ex) + (" (timing runs)" if timing else ""),
        "versions": package_versions(),
        "resumed_with": len(done),
    }
    if store.quarantined:
        session["quarantined"] = len(store.quarantined)
    solvers = solvers_of(spec, kind)
    if solvers:
        session["solvers"] = solvers
    store.manifest.setdefault("sessions", []).append(session)
    store.update_status()

    t_start = time.perf_counter()
    storage = 0.0
    compute = 0.0
    computed = 0
    failed: dict[int, str] = {}
    error: BaseException | None = None
    bar = _progress_bar(spec, len(done), progress)
    chunks = chunks_for(spec, pending, size)
    todo = iter(interleaved(chunks) if timing else chunks)
    inflight: set[cf.Future] = set()
    window = _window(ex)

    def handle(fut: cf.Future) -> None:
        nonlocal storage, compute, computed, error
        try:
            res: ChunkResult = fut.result()
        except cf.CancelledError:
            return
        except BaseException as exc:  # noqa: BLE001 - a worker died or the task could not run
            if error is None:
                error = exc
            return
        t0 = time.perf_counter()
        if res.run_ids:
            store.write_shard(res.run_ids, res.tables)
        failed.update(res.failed)
        store.update_status(failed)
        storage += time.perf_counter() - t0
        compute += res.seconds
        computed += len(res.run_ids)
        bar.update(len(res.run_ids))
        if ticker is not None:
            ticker.update(len(res.run_ids))
        if res.failed and error is None:
            rid, msg = next(iter(res.failed.items()))
            error = RunFailedError(f"run {rid} of {spec.name!r} failed: {msg}")

    try:
        while True:
            while error is None and len(inflight) < window:
                tasks = next(todo, None)
                if tasks is None:
                    break
                try:
                    fut = ex.submit(execute_chunk, ref, tasks, spec.metrics, grid_keys)
                except Exception as exc:  # noqa: BLE001 - e.g. a broken process pool
                    error = exc
                    break
                inflight.add(fut)
                if fut.done():  # serial executor: store before computing the next chunk
                    inflight.discard(fut)
                    handle(fut)
            if not inflight:
                break
            finished, inflight = cf.wait(inflight, return_when=cf.FIRST_COMPLETED)
            for fut in finished:
                handle(fut)
            if error is not None:  # stop feeding; keep what is still running
                for fut in inflight:
                    fut.cancel()
    except KeyboardInterrupt:
        with _deferred_interrupts():  # a second Ctrl-C must not cut the bookkeeping short
            session["interrupted"] = True
            for fut in inflight:
                fut.cancel()
            for fut in list(inflight):
                if fut.done() and not fut.cancelled():
                    handle(fut)  # store what finished while we were told to stop
        raise
    finally:
        with _deferred_interrupts():
            bar.close()
            if own:
                ex.shutdown()
            wall = time.perf_counter() - t_start
            computed = len(store.done_runs()) - len(done)  # from the shards: exact even if interrupted
            session.update(finished=now(), computed=computed, wall_s=round(wall, 3))
            store.update_status(failed)
    summary = RunSummary(
        Path(out),
        spec.name,
        spec.n_runs,
        len(done),
        computed,
        wall,
        compute,
        storage,
        _executor_name(ex),
        list(store.quarantined),
    )
    if error is not None:
        stored = len(store.done_runs())
        msg = error if isinstance(error, RunFailedError) else f"a worker failed: {type(error).__name__}: {error}"
        raise RunFailedError(
            f"{msg}; {stored} of {spec.n_runs} runs are stored in {out} — rerun the same command to resume"
        ) from (None if isinstance(error, RunFailedError) else error)
    return summary


@contextlib.contextmanager
def _deferred_interrupts():
    """Ignore SIGINT while the manifest is brought up to date (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


class _Ticker:
    """Plain progress lines (runs done, elapsed, ETA) at most every ``every`` seconds."""

    def __init__(self, name: str, total: int, log: Callable[[str], None] | None, every: float) -> None:
        self.name, self.total, self.log, self.every = name, total, log, float(every)
        self.initial = self.done = 0
        self.t0 = self.last = time.perf_counter()

    def start(self, initial: int) -> None:
        self.initial = self.done = initial
        self.t0 = self.last = time.perf_counter()

    def update(self, n: int) -> None:
        self.done += n
        now = time.perf_counter()
        if self.log is None or self.done >= self.total or now - self.last < self.every:
            return
        self.last = now
        elapsed = now - self.t0
        rate = (self.done - self.initial) / elapsed if elapsed > 0 else 0.0
        eta = f"ETA {(self.total - self.done) / rate:.0f} s" if rate > 0 else "ETA unknown"
        self.log(f"  {self.name}: {self.done}/{self.total} runs, {elapsed:.0f} s elapsed, {eta}")


def _progress_bar(spec: ExperimentSpec, initial: int, progress: bool | None):
    from tqdm.auto import tqdm

    disable = (not sys.stderr.isatty()) if progress is None else not progress
    return tqdm(
        total=spec.n_runs,
        initial=initial,
        desc=spec.name,
        unit="run",
        disable=disable,
        file=sys.stderr,
        dynamic_ncols=True,
        leave=False,
    )


def replay(
    source: ExperimentSpec | str | Path, run_id: int, *, import_model: bool = False
) -> dict[str, pd.DataFrame | None]:
    """Recompute one run alone — from a spec, or from a results directory's manifest —
    exactly as the sweep computed it (same tables, same seed).

    A results directory whose spec names its model as ``"module:function"`` (code outside
    auctionlab's registered run kinds) is only replayed with ``import_model=True``:
    reading a results folder never imports code it names unless asked to."""
    check_bool(import_model, "import_model")
    if isinstance(source, (str, Path)) and (Path(source) / "manifest.json").is_file():
        stored = ResultStore.open(source).spec
        if is_code_ref(stored.model) and not import_model:
            raise ConfigError(
                f"{source}: its spec names the model {stored.model!r}, code outside auctionlab; replaying it "
                "imports and runs that code — pass import_model=True if you trust this results folder"
            )
        spec = parse_spec(stored) if is_code_ref(stored.model) else stored
    else:
        spec = load_spec(source)
    if isinstance(run_id, bool) or not isinstance(run_id, (int, np.integer)) or not 0 <= run_id < spec.n_runs:
        raise ConfigError(f"run_id must be in 0..{spec.n_runs - 1}, got {run_id!r}")
    (task,) = spec.tasks([int(run_id)])
    return run_one(resolve_kind(spec.model), task, spec.metrics, spec.grid_keys)
