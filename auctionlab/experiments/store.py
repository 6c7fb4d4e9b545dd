"""The result store: tidy Parquet tables written as shards, plus a JSON manifest.

Layout of an experiment directory::

    manifest.json             spec, its digest, master seed, package versions, status of every run,
                              one entry per session (executor, versions, the MIP solvers used)
    runs/shard-*.parquet      one row per run and variant (id columns + metrics)
    agents/shard-*.parquet    per-agent records (optional)
    rounds/shard-*.parquet    per-round records (optional)

Crash safety: every file is written to ``*.tmp`` and moved into place with ``os.replace``
(atomic on POSIX). A shard's ``agents`` and ``rounds`` files are renamed first and its
``runs`` file last, so the ``runs`` shard is the commit record: a run is finished if and
only if it appears in a ``runs`` shard. Opening a store deletes leftover ``*.tmp`` files
and ``agents``/``rounds`` shards whose ``runs`` shard never landed, so a sweep killed at
any instant resumes with nothing lost, nothing duplicated and nothing recomputed that had
been stored. The manifest is a summary rewritten after every shard; the shards win if
the two ever disagree.

One writer per directory at a time (no lock is taken).
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import platform
from collections.abc import Iterable, Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd

from auctionlab.errors import AuctionlabError, ConfigError
from auctionlab.experiments.spec import ExperimentSpec, parse_spec

TABLES = ("runs", "agents", "rounds")
MANIFEST = "manifest.json"
FORMAT = "auctionlab-experiment/1"
VERSIONED = ("auctionlab", "numpy", "scipy", "pandas", "pyarrow", "Mesa", "highspy", "pyscipopt", "gurobipy",
             "cplex", "matplotlib", "dask", "distributed")


class StoreError(AuctionlabError):
    """A results directory is damaged or belongs to a different experiment."""


def package_versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in VERSIONED:
        try:
            out[name.lower()] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return out


def now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def ranges(ids: Iterable[int]) -> str:
    """Compact text for a set of run ids: ``"0-99,120,200-249"`` ("" when empty)."""
    s = sorted(set(int(i) for i in ids))
    parts, i = [], 0
    while i < len(s):
        j = i
        while j + 1 < len(s) and s[j + 1] == s[j] + 1:
            j += 1
        parts.append(str(s[i]) if i == j else f"{s[i]}-{s[j]}")
        i = j + 1
    return ",".join(parts)


def parse_ranges(text: str) -> list[int]:
    out: list[int] = []
    for part in filter(None, text.split(",")):
        a, _, b = part.partition("-")
        out.extend(range(int(a), int(b or a) + 1))
    return out


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _write_parquet(df: pd.DataFrame, path: Path) -> Path:
    """Write to ``path.tmp``; return the tmp path (renamed by the caller, in commit order)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    tmp = path.with_name(path.name + ".tmp")
    pq.write_table(pa.Table.from_pandas(df, preserve_index=False), tmp)
    return tmp


class ResultStore:
    """One experiment directory (see module docstring). Open with :meth:`for_spec` to run
    or resume, :meth:`open` to read."""

    def __init__(self, root: Path, manifest: dict[str, Any]) -> None:
        self.root = Path(root)
        self.manifest = manifest
        self._done: set[int] | None = None

    # ------------------------------------------------------------------ opening
    @classmethod
    def for_spec(cls, root: str | Path, spec: ExperimentSpec) -> "ResultStore":
        """Create the directory for ``spec``, or reopen it to resume when it holds the same
        experiment (same digest: model, params, grids, replications, seed, metrics)."""
        root = Path(root)
        path = root / MANIFEST
        if path.exists():
            store = cls.open(root)
            old = store.manifest.get("digest")
            if old != spec.digest:
                raise StoreError(
                    f"{root} holds results of a different experiment ({store.manifest.get('name')!r}, "
                    f"digest {old}; this spec has {spec.digest}): choose another --out directory or remove it"
                )
            store.manifest["spec"] = spec.to_dict()  # description/chunk/analysis may have changed
            return store
        if root.exists() and any(p for p in root.iterdir() if p.name not in TABLES):
            raise StoreError(f"{root} exists and is not an experiment directory (no {MANIFEST}); choose another --out")
        for t in TABLES:
            (root / t).mkdir(parents=True, exist_ok=True)
        manifest = {
            "format": FORMAT,
            "name": spec.name,
            "digest": spec.digest,
            "master_seed": spec.master_seed,
            "n_runs": spec.n_runs,
            "replications": spec.replications,
            "points": spec.points(),
            "spec": spec.to_dict(),
            "versions": package_versions(),
            "created": now(),
            "updated": now(),
            "status": "incomplete",
            "runs": {"done": "", "pending": ranges(range(spec.n_runs)), "failed": {}},
            "sessions": [],
        }
        store = cls(root, manifest)
        store.save_manifest()
        return store

    @classmethod
    def open(cls, root: str | Path) -> "ResultStore":
        """Open an existing experiment directory (cleans up debris of an interrupted write)."""
        root = Path(root)
        path = root / MANIFEST
        if not path.is_file():
            raise StoreError(f"{root} is not an experiment directory: no {MANIFEST}")
        try:
            manifest = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise StoreError(f"{path} is unreadable: {exc}") from None
        if manifest.get("format") != FORMAT:
            raise StoreError(f"{path}: unknown format {manifest.get('format')!r}")
        store = cls(root, manifest)
        store._clean()
        return store

    @property
    def spec(self) -> ExperimentSpec:
        return parse_spec(self.manifest["spec"])

    @property
    def name(self) -> str:
        return self.manifest["name"]

    # ------------------------------------------------------------------ shards
    def _shards(self, table: str) -> list[Path]:
        d = self.root / table
        return sorted(d.glob("shard-*.parquet")) if d.is_dir() else []

    def _clean(self) -> None:
        for t in TABLES:
            d = self.root / t
            if d.is_dir():
                for tmp in d.glob("*.tmp"):
                    tmp.unlink(missing_ok=True)
        committed = {p.name for p in self._shards("runs")}
        for t in ("agents", "rounds"):
            for p in self._shards(t):
                if p.name not in committed:
                    p.unlink(missing_ok=True)

    def done_runs(self) -> set[int]:
        """Run ids present in committed ``runs`` shards (the source of truth)."""
        if self._done is None:
            import pyarrow.parquet as pq

            seen: set[int] = set()
            for p in self._shards("runs"):
                ids = set(pq.read_table(p, columns=["run_id"]).column("run_id").to_pylist())
                dup = seen & ids
                if dup:
                    raise StoreError(
                        f"{p} repeats run(s) {ranges(dup)} already stored in another shard "
                        "(two writers on one directory?); remove one of the shards"
                    )
                seen |= ids
            self._done = seen
        return set(self._done)

    def write_shard(self, run_ids: Iterable[int], tables: Mapping[str, pd.DataFrame | None]) -> None:
        """Store the tables of a group of finished runs atomically (runs shard last)."""
        ids = sorted(int(i) for i in run_ids)
        if not ids:
            return
        runs = tables.get("runs")
        if runs is None or "run_id" not in runs:
            raise StoreError("a shard needs a runs table with a run_id column")
        if set(runs["run_id"].unique()) != set(ids):
            raise StoreError("the runs table of a shard must hold exactly the shard's run ids")
        done = self.done_runs()
        if done & set(ids):
            raise StoreError(f"runs {ranges(done & set(ids))} are already stored")
        token = hashlib.sha1(",".join(map(str, ids)).encode()).hexdigest()[:10]
        name = f"shard-{ids[0]:08d}-{ids[-1]:08d}-{token}.parquet"
        renames = []
        for t in ("agents", "rounds"):
            df = tables.get(t)
            if df is not None and len(df):
                (self.root / t).mkdir(exist_ok=True)
                renames.append((_write_parquet(df, self.root / t / name), self.root / t / name))
        (self.root / "runs").mkdir(exist_ok=True)
        renames.append((_write_parquet(runs, self.root / "runs" / name), self.root / "runs" / name))
        for tmp, final in renames:  # runs last: the commit
            os.replace(tmp, final)
        assert self._done is not None
        self._done |= set(ids)

    # ------------------------------------------------------------------ manifest
    def update_status(self, failed: Mapping[int, str] | None = None) -> None:
        done = self.done_runs()
        n = int(self.manifest["n_runs"])
        failed = {int(k): v for k, v in (failed or {}).items() if int(k) not in done}
        pending = set(range(n)) - done - set(failed)
        self.manifest["runs"] = {"done": ranges(done), "pending": ranges(pending),
                                 "failed": {str(k): v for k, v in sorted(failed.items())}}
        self.manifest["status"] = "complete" if len(done) == n else "incomplete"
        self.manifest["updated"] = now()
        self.save_manifest()

    def save_manifest(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        _write_atomic(self.root / MANIFEST, (json.dumps(self.manifest, indent=1, default=str) + "\n").encode())

    @property
    def complete(self) -> bool:
        return len(self.done_runs()) == int(self.manifest["n_runs"])

    # ------------------------------------------------------------------ reading
    def table(self, name: str, columns: list[str] | None = None) -> pd.DataFrame:
        """A whole table, rows in run order (and in each run's own order); empty if absent."""
        if name not in TABLES:
            raise ConfigError(f"unknown table {name!r}; tables: {', '.join(TABLES)}")
        import pyarrow.parquet as pq

        frames = [pq.read_table(p, columns=columns).to_pandas() for p in self._shards(name)]
        frames = [f for f in frames if len(f)]
        if not frames:
            return pd.DataFrame(columns=columns or [])
        df = pd.concat(frames, ignore_index=True)
        if "run_id" in df:
            df = df.sort_values("run_id", kind="stable")
        return df.reset_index(drop=True)


def read_table(root: str | Path, name: str = "runs") -> pd.DataFrame:
    """Convenience: one table of the experiment stored in ``root``."""
    return ResultStore.open(root).table(name)
