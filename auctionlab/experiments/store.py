"""The result store: tidy Parquet tables written as shards, plus a JSON manifest.

Layout of an experiment directory::

    manifest.json             spec, its digest, master seed, package versions, status of every run,
                              one entry per session (executor, versions, the MIP solvers used)
    runs/shard-*.parquet      one row per run and variant (id columns + metrics)
    agents/shard-*.parquet    per-agent records (optional)
    rounds/shard-*.parquet    per-round records (optional)
    .lock                     who is writing (pid, host) while a sweep runs
    quarantine/<table>/...    shards found damaged or foreign, moved aside (never read)

Crash safety: every file is written under a unique temporary name (``.<name>.<pid>.<random>.tmp``),
flushed to disk and moved into place with ``os.replace`` (atomic on POSIX). A shard's
``agents`` and ``rounds`` files are renamed first and its ``runs`` file last, so the
``runs`` shard is the commit record: a run is finished if and only if it appears in a
valid ``runs`` shard. A writer deletes leftover temporary files and ``agents``/``rounds``
shards whose ``runs`` shard never landed, so a sweep killed at any instant resumes with
nothing lost, nothing duplicated and nothing recomputed that had been stored. The
manifest is a summary rewritten after every shard; the shards win if the two disagree.

Integrity: every shard carries, in its Parquet metadata, the digest of the experiment
that wrote it, its table, its run ids, its row count and a SHA-256 checksum of its rows.
Every read checks them. A shard that is truncated, empty, altered, written by another
experiment or that repeats runs stored elsewhere is named in a :class:`StoreError` when
results are read; when the experiment is resumed it is moved to ``quarantine/`` (never
adopted) and its runs are computed again.

One writer per directory: :meth:`ResultStore.for_spec` takes an exclusive lock
(``.lock``, an OS file lock that dies with its process); a second writer gets a
:class:`~auctionlab.errors.StateError` naming the holder's pid and host. A lock left by a
process that no longer exists is taken over.

Reading results never imports code: a spec whose ``model`` is ``"module:function"`` is
read without importing that module (see :func:`auctionlab.experiments.spec.parse_spec`).
Every manifest field is checked before use (the name must be a plain identifier, so a
manifest cannot make readers write outside their directories).
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import platform
import re
import secrets
import socket
from collections.abc import Iterable, Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd

from auctionlab.errors import AuctionlabError, ConfigError, StateError
from auctionlab.experiments.spec import ExperimentSpec, check_name, parse_spec

TABLES = ("runs", "agents", "rounds")
MANIFEST = "manifest.json"
LOCK = ".lock"
QUARANTINE = "quarantine"
FORMAT = "auctionlab-experiment/2"
LEGACY_FORMATS = ("auctionlab-experiment/1",)  # shards without integrity records (read as they are)
SHARD_KEY = b"auctionlab.shard"
VERSIONED = (
    "auctionlab",
    "numpy",
    "scipy",
    "pandas",
    "pyarrow",
    "Mesa",
    "highspy",
    "pyscipopt",
    "gurobipy",
    "cplex",
    "matplotlib",
    "dask",
    "distributed",
)
_SHARD_NAME = re.compile(r"^shard-(\d{8})-(\d{8})-([0-9a-f]{10})\.parquet$")
_DIGEST = re.compile(r"^[0-9a-f]{16}$")


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
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


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


_RANGES = re.compile(r"^(\d+(-\d+)?(,\d+(-\d+)?)*)?$")


def parse_ranges(text: str, limit: int | None = None) -> list[int]:
    """The run ids of :func:`ranges` text; ValueError for anything else (or more than ``limit`` ids)."""
    from auctionlab.experiments.spec import MAX_RUNS

    limit = MAX_RUNS if limit is None else limit
    if not isinstance(text, str) or not _RANGES.match(text):
        raise ValueError(f"not a list of run-id ranges: {text!r}")
    out: list[int] = []
    for part in filter(None, text.split(",")):
        a, _, b = part.partition("-")
        lo, hi = int(a), int(b or a)
        if hi < lo or len(out) + hi - lo + 1 > limit:
            raise ValueError(f"bad run-id range {part!r} (or more than {limit} ids)")
        out.extend(range(lo, hi + 1))
    return out


def _tmp_name(path: Path) -> Path:
    """A temporary name beside ``path`` that no other writer (or session) can pick."""
    return path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = _tmp_name(path)
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _rows_checksum(table: Any) -> str:
    """SHA-256 of a table's rows as decoded from Parquet (columns, types, values, pandas
    metadata; not the shard record itself)."""
    import pyarrow as pa

    md = {k: v for k, v in (table.schema.metadata or {}).items() if k != SHARD_KEY}
    t = table.replace_schema_metadata(md).combine_chunks()
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, t.schema) as w:
        w.write_table(t)
    return hashlib.sha256(sink.getvalue()).hexdigest()


def _write_parquet(df: pd.DataFrame, path: Path, record: dict[str, Any]) -> Path:
    """Write ``df`` with its shard record to a unique temporary file beside ``path``, flushed
    to disk; return the temporary path (renamed by the caller, in commit order)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(df, preserve_index=False)
    buf = pa.BufferOutputStream()
    pq.write_table(table, buf)  # the checksum is of the rows as a reader decodes them
    record = {
        **record,
        "rows": table.num_rows,
        "checksum": _rows_checksum(pq.read_table(pa.BufferReader(buf.getvalue()))),
    }
    table = table.replace_schema_metadata(
        {**(table.schema.metadata or {}), SHARD_KEY: json.dumps(record, sort_keys=True).encode()}
    )
    tmp = _tmp_name(path)
    try:
        with open(tmp, "wb") as f:
            pq.write_table(table, f)
            f.flush()
            os.fsync(f.fileno())
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp


def shard_name(ids: list[int]) -> str:
    token = hashlib.sha1(",".join(map(str, ids)).encode()).hexdigest()[:10]
    return f"shard-{ids[0]:08d}-{ids[-1]:08d}-{token}.parquet"


def read_shard(path: Path, table: str, digest: str, legacy: bool = False) -> tuple[pd.DataFrame | None, str]:
    """A shard's rows after checking its record: ``(frame, "")``, or ``(None, reason)``
    when it is unreadable, damaged or foreign."""
    import pyarrow.parquet as pq

    m = _SHARD_NAME.match(path.name)
    if m is None:
        return None, "its file name is not a shard name"
    try:
        t = pq.read_table(path)
    except Exception as exc:  # noqa: BLE001 - any decoding failure means a damaged file
        return None, f"unreadable ({type(exc).__name__}: {' '.join(str(exc).split())[:200]})"
    raw = (t.schema.metadata or {}).get(SHARD_KEY)
    try:
        df = t.to_pandas()
    except Exception as exc:  # noqa: BLE001
        return None, f"unreadable ({type(exc).__name__}: {' '.join(str(exc).split())[:200]})"
    if "run_id" not in df.columns:
        return None, "it has no run_id column"
    if raw is None:
        if legacy:
            return df, ""
        return None, "it carries no shard record (damaged, or not written by this experiment store)"
    try:
        rec = json.loads(raw)
        ids = parse_ranges(rec["run_ids"])
        ok = (
            isinstance(rec, dict)
            and isinstance(rec.get("digest"), str)
            and rec.get("table") == table
            and isinstance(rec.get("rows"), int)
            and isinstance(rec.get("checksum"), str)
        )
    except (ValueError, KeyError, TypeError, AttributeError):
        ok = False
    if not ok:
        return None, "its shard record is damaged"
    if rec["digest"] != digest:
        return None, f"it belongs to another experiment (digest {rec['digest']}, this experiment has {digest})"
    if not ids or shard_name(ids) != path.name:
        return None, "its run ids do not match its file name"
    if rec["rows"] != t.num_rows or _rows_checksum(t) != rec["checksum"]:
        return None, "its rows do not match their checksum (the file was altered or damaged)"
    got = set(int(x) for x in df["run_id"].unique())
    if (table == "runs" and got != set(ids)) or not got <= set(ids):
        return None, "its rows hold other runs than its record says"
    return df, ""


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except (OverflowError, ValueError, OSError):
        return False
    return True


class DirectoryLock:
    """An exclusive lock on a results directory (``.lock``).

    An OS file lock (``flock``) on the lock file, which the kernel drops when its process
    dies, plus the holder's pid and host written inside for the error message. A lock
    whose file names a process of this host that no longer exists (its pool workers may
    still hold the file lock) is taken over by replacing the file.
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.path = self.root / LOCK
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def _holder(self) -> dict[str, Any]:
        try:
            info = json.loads(self.path.read_text(encoding="utf-8"))
            return info if isinstance(info, dict) else {}
        except (OSError, ValueError):
            return {}

    def _stale(self, info: dict[str, Any]) -> bool:
        pid = info.get("pid")
        return (
            info.get("host") == socket.gethostname()
            and isinstance(pid, int)
            and not isinstance(pid, bool)
            and pid != os.getpid()
            and not _process_alive(pid)
        )

    def acquire(self, blocking_error: bool = True) -> bool:
        """Take the lock; when another live writer holds it raise StateError (or return False)."""
        try:
            import fcntl
        except ImportError:  # no flock on this platform: the pid file alone
            fcntl = None  # type: ignore[assignment]
        for _ in range(5):
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                if fcntl is not None:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                elif os.fstat(fd).st_size and not self._stale(self._holder()):
                    raise BlockingIOError
            except (BlockingIOError, PermissionError):
                os.close(fd)
                info = self._holder()
                if self._stale(info):  # held only by the orphans of a dead writer
                    self._replace_stale(info)
                    continue
                if not blocking_error:
                    return False
                who = (
                    f"pid {info.get('pid')} on {info.get('host')}" if info.get("pid") is not None else "another process"
                )
                since = f" since {info['since']}" if isinstance(info.get("since"), str) else ""
                raise StateError(
                    f"{self.root} is being written by {who}{since}: one writer per results "
                    "directory; wait for it to finish, or stop it and rerun to resume"
                ) from None
            try:
                same = os.stat(self.path).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if not same:  # the file was replaced while we waited: lock the new one
                os.close(fd)
                continue
            info = {"pid": os.getpid(), "host": socket.gethostname(), "since": now()}
            os.ftruncate(fd, 0)
            os.pwrite(fd, (json.dumps(info) + "\n").encode(), 0)
            os.fsync(fd)
            self._fd = fd
            return True
        raise StateError(f"{self.root}: could not take the writer lock {self.path} (it keeps changing)")

    def _replace_stale(self, info: dict[str, Any]) -> None:
        aside = self.path.with_name(f"{LOCK}.stale.{os.getpid()}.{secrets.token_hex(4)}")
        try:
            os.replace(self.path, aside)
        except FileNotFoundError:
            return
        if self._holder() == {} and json.loads(aside.read_text(encoding="utf-8") or "{}") != info:
            os.replace(aside, self.path)  # it changed under us: put the live holder's file back
            return
        aside.unlink(missing_ok=True)

    def release(self) -> None:
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        try:
            os.ftruncate(fd, 0)
        except OSError:
            pass
        os.close(fd)  # closing drops the flock


def _manifest_problem(m: Any) -> str:
    """What is wrong with a manifest's fields ("" when nothing)."""
    from auctionlab.experiments.spec import MAX_RUNS

    if not isinstance(m, dict):
        return "it is not a JSON object"
    if m.get("format") != FORMAT and m.get("format") not in LEGACY_FORMATS:
        return f"unknown format {m.get('format')!r}"
    try:
        check_name(m.get("name"), "its name")
    except ConfigError as exc:
        return str(exc)
    if not isinstance(m.get("digest"), str) or not _DIGEST.match(m["digest"]):
        return f"its digest is not 16 hex digits: {m.get('digest')!r}"
    n = m.get("n_runs")
    if isinstance(n, bool) or not isinstance(n, int) or not 0 < n <= MAX_RUNS:
        return f"its n_runs is not a run count: {n!r}"
    if not isinstance(m.get("spec"), dict):
        return "it has no spec"
    if not isinstance(m.get("sessions", []), list):
        return "its sessions are not a list"
    return ""


class ResultStore:
    """One experiment directory (see module docstring). Open with :meth:`for_spec` to run
    or resume (takes the writer lock; :meth:`close` releases it), :meth:`open` to read."""

    def __init__(self, root: Path, manifest: dict[str, Any]) -> None:
        self.root = Path(root)
        self.manifest = manifest
        self._done: set[int] | None = None
        self._lock: DirectoryLock | None = None
        self.quarantined: list[str] = []  # shards moved aside by this writer (with the reason)
        self._verified: dict[Path, tuple[tuple[int, ...], pd.DataFrame | None, str]] = {}

    @property
    def legacy(self) -> bool:
        return self.manifest.get("format") in LEGACY_FORMATS

    @property
    def digest(self) -> str:
        return self.manifest["digest"]

    @property
    def writable(self) -> bool:
        return self._lock is not None and self._lock.held

    # ------------------------------------------------------------------ opening
    @classmethod
    def for_spec(cls, root: str | Path, spec: ExperimentSpec) -> ResultStore:
        """Create the directory for ``spec``, or reopen it to resume when it holds the same
        experiment (same digest: model, params, grids, replications, seed, metrics).
        Takes the directory's writer lock (StateError if another writer holds it); shards
        that are damaged or belong to another experiment are moved to ``quarantine/``."""
        root = Path(root)
        if root.exists() and not root.is_dir():
            raise StoreError(f"{root} exists and is a file, not a results directory; choose another --out")
        path = root / MANIFEST
        if not path.exists():
            allowed = set(TABLES) | {LOCK, QUARANTINE}
            if root.exists() and any(
                p
                for p in root.iterdir()
                if p.name not in allowed and not p.name.endswith(".tmp") and not p.name.startswith(LOCK)
            ):
                raise StoreError(
                    f"{root} exists and is not an experiment directory (no {MANIFEST}); choose another --out"
                )
        root.mkdir(parents=True, exist_ok=True)
        lock = DirectoryLock(root)
        lock.acquire()
        try:
            if path.exists():
                store = cls._read(root)
                old = store.manifest.get("digest")
                if old != spec.digest:
                    raise StoreError(
                        f"{root} holds results of a different experiment ({store.manifest.get('name')!r}, "
                        f"digest {old}; this spec has {spec.digest}): choose another --out directory or remove it"
                    )
                store.manifest["spec"] = spec.to_dict()  # description/chunk/analysis may have changed
            else:
                for t in TABLES:
                    (root / t).mkdir(parents=True, exist_ok=True)
                store = cls(
                    root,
                    {
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
                    },
                )
            store._lock = lock
            store._clean()
            store._repair()
            store.save_manifest()
            return store
        except BaseException:
            lock.release()
            raise

    def close(self) -> None:
        """Release the writer lock (idempotent)."""
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    def __enter__(self) -> ResultStore:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    @classmethod
    def _read(cls, root: Path) -> ResultStore:
        path = root / MANIFEST
        if not path.is_file():
            raise StoreError(f"{root} is not an experiment directory: no {MANIFEST}")
        try:
            manifest = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise StoreError(f"{path} is unreadable: {exc}") from None
        problem = _manifest_problem(manifest)
        if problem:
            raise StoreError(f"{path}: {problem}")
        store = cls(root, manifest)
        try:
            spec = store.spec
        except ConfigError as exc:
            raise StoreError(f"{path}: its spec is invalid: {exc}") from None
        if spec.name != manifest["name"] or spec.digest != manifest["digest"] or spec.n_runs != manifest["n_runs"]:
            raise StoreError(f"{path}: its name, digest or run count does not match its spec (edited by hand?)")
        return store

    @classmethod
    def open(cls, root: str | Path) -> ResultStore:
        """Open an existing experiment directory to read it. Never imports code named by
        its spec. When no writer is at work, debris of an interrupted write is cleaned up."""
        root = Path(root)
        store = cls._read(root)
        lock = DirectoryLock(root)
        try:
            got = lock.acquire(blocking_error=False)
        except OSError:  # a read-only directory: read as it is
            got = False
        if got:
            try:
                store._lock = lock
                store._clean()
            finally:
                store.close()
        return store

    @property
    def spec(self) -> ExperimentSpec:
        """The stored spec (a ``"module:function"`` model is not imported)."""
        return parse_spec(self.manifest["spec"], import_model=False)

    @property
    def name(self) -> str:
        return self.manifest["name"]

    # ------------------------------------------------------------------ shards
    def _shards(self, table: str) -> list[Path]:
        d = self.root / table
        return sorted(d.glob("shard-*.parquet")) if d.is_dir() else []

    def _clean(self) -> None:
        """Delete temporary files and uncommitted agents/rounds shards (writer only)."""
        if not self.writable:
            raise StateError(f"{self.root}: cleaning needs the writer lock")
        for d in [self.root] + [self.root / t for t in TABLES]:
            if d.is_dir():
                for tmp in d.glob("*.tmp"):
                    tmp.unlink(missing_ok=True)
        committed = {p.name for p in self._shards("runs")}
        for t in ("agents", "rounds"):
            for p in self._shards(t):
                if p.name not in committed:
                    p.unlink(missing_ok=True)

    def check_shards(
        self, tables: Iterable[str] = TABLES
    ) -> tuple[set[int], dict[str, pd.DataFrame | None], dict[str, str]]:
        """Verify every shard of ``tables`` (runs always): the run ids of the valid shard
        sets, the frames read per ``table/name``, and ``{table/name: reason}`` for the bad ones.

        A shard set (the runs, agents and rounds files of one name) is valid only if all its
        files are; a runs shard repeating runs of an earlier valid one is bad too."""
        tables = ["runs"] + [t for t in tables if t != "runs"]
        frames: dict[str, pd.DataFrame | None] = {}
        bad: dict[str, str] = {}
        for t in tables:
            for p in self._shards(t):
                df, why = self._read_verified(p, t)
                key = f"{t}/{p.name}"
                frames[key] = df
                if why:
                    bad[key] = why
        bad_names = {k.split("/", 1)[1] for k in bad}
        done: set[int] = set()
        owner: dict[int, str] = {}
        for p in self._shards("runs"):
            key = f"runs/{p.name}"
            if p.name in bad_names:
                continue
            ids = set(int(x) for x in frames[key]["run_id"].unique())  # type: ignore[index]
            n = int(self.manifest["n_runs"])
            if any(i < 0 or i >= n for i in ids):
                bad[key] = f"it holds run ids outside 0..{n - 1}"
                bad_names.add(p.name)
                continue
            dup = done & ids
            if dup:
                bad[key] = (
                    f"it repeats run(s) {ranges(dup)} already stored in "
                    f"{owner[min(dup)]} (two writers on one directory?)"
                )
                bad_names.add(p.name)
                continue
            for i in ids:
                owner[i] = key
            done |= ids
        for t in tables[1:]:  # an agents/rounds shard without a valid runs shard is not committed
            for p in self._shards(t):
                if p.name in bad_names and f"{t}/{p.name}" not in bad:
                    bad[f"{t}/{p.name}"] = f"its runs shard runs/{p.name} is damaged"
        for name in bad_names:
            for t in tables:
                if (self.root / t / name).exists() and f"{t}/{name}" not in bad:
                    bad[f"{t}/{name}"] = "it belongs to a damaged shard set"
        return done, frames, bad

    def _read_verified(self, p: Path, table: str) -> tuple[pd.DataFrame | None, str]:
        """:func:`read_shard`, remembered while the file is unchanged (same inode, size, mtime)."""
        try:
            st = p.stat()
        except FileNotFoundError:
            return None, "it disappeared while being read"
        stamp = (st.st_ino, st.st_size, st.st_mtime_ns)
        hit = self._verified.get(p)
        if hit is not None and hit[0] == stamp:
            return hit[1], hit[2]
        df, why = read_shard(p, table, self.digest, self.legacy)
        self._verified[p] = (stamp, df, why)
        return df, why

    def _repair(self) -> None:
        """Writer: move damaged or foreign shard sets to quarantine/ (their runs are recomputed)."""
        done, _, bad = self.check_shards()
        names = sorted({k.split("/", 1)[1] for k in bad})
        for name in names:
            for t in TABLES:
                src = self.root / t / name
                if src.exists():
                    dst = self.root / QUARANTINE / t / f"{name}.{secrets.token_hex(3)}"
                    dst.parent.mkdir(parents=True, exist_ok=True)
                    os.replace(src, dst)
        self.quarantined = [f"{k}: {v}" for k, v in sorted(bad.items())]
        if bad:
            self.manifest.setdefault("quarantined", []).extend(
                {"shard": k, "reason": v, "at": now()} for k, v in sorted(bad.items())
            )
        self._done = done

    def _raise_bad(self, bad: Mapping[str, str]) -> None:
        items = sorted(bad.items())
        shown = "; ".join(f"{self.root / k}: {v}" for k, v in items[:3])
        more = f" (and {len(items) - 3} more)" if len(items) > 3 else ""
        raise StoreError(
            f"damaged or foreign shard(s) in {self.root}: {shown}{more}; rerun the experiment "
            "into this directory to move them to quarantine/ and recompute their runs"
        )

    def done_runs(self) -> set[int]:
        """Run ids present in valid committed ``runs`` shards (the source of truth).
        Reading a directory with a damaged or foreign shard raises StoreError naming it."""
        if self._done is None:
            done, _, bad = self.check_shards(["runs"])
            if bad:
                self._raise_bad(bad)
            self._done = done
        return set(self._done)

    def write_shard(self, run_ids: Iterable[int], tables: Mapping[str, pd.DataFrame | None]) -> None:
        """Store the tables of a group of finished runs atomically (runs shard last)."""
        if not self.writable:
            raise StateError(f"{self.root}: writing a shard needs the writer lock (open with for_spec)")
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
        name = shard_name(ids)
        record = {"format": 1, "digest": self.digest, "run_ids": ranges(ids)}
        renames = []
        try:
            for t in ("agents", "rounds"):
                df = tables.get(t)
                if df is not None and len(df):
                    (self.root / t).mkdir(exist_ok=True)
                    renames.append(
                        (_write_parquet(df, self.root / t / name, {**record, "table": t}), self.root / t / name)
                    )
            (self.root / "runs").mkdir(exist_ok=True)
            renames.append(
                (
                    _write_parquet(runs, self.root / "runs" / name, {**record, "table": "runs"}),
                    self.root / "runs" / name,
                )
            )
        except BaseException:
            for tmp, _ in renames:
                tmp.unlink(missing_ok=True)
            raise
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
        self.manifest["runs"] = {
            "done": ranges(done),
            "pending": ranges(pending),
            "failed": {str(k): v for k, v in sorted(failed.items())},
        }
        self.manifest["status"] = "complete" if len(done) == n else "incomplete"
        self.manifest["updated"] = now()
        self.save_manifest()

    def save_manifest(self) -> None:
        if not self.writable:
            raise StateError(f"{self.root}: writing the manifest needs the writer lock (open with for_spec)")
        _write_atomic(self.root / MANIFEST, (json.dumps(self.manifest, indent=1, default=str) + "\n").encode())

    @property
    def complete(self) -> bool:
        return len(self.done_runs()) == int(self.manifest["n_runs"])

    # ------------------------------------------------------------------ reading
    def table(self, name: str, columns: list[str] | None = None) -> pd.DataFrame:
        """A whole table, rows in run order (and in each run's own order); empty if absent.

        Every shard read is verified (checksum, experiment digest, run ids; no run stored
        twice); a damaged or foreign one raises StoreError naming it."""
        if name not in TABLES:
            raise ConfigError(f"unknown table {name!r}; tables: {', '.join(TABLES)}")
        done, frames, bad = self.check_shards([name])
        if bad:
            self._raise_bad(bad)
        self._done = done
        frames_t = [
            frames[f"{name}/{p.name}"] for p in self._shards(name) if (self.root / "runs" / p.name).exists()
        ]  # agents/rounds without runs: not committed
        parts = [f.copy() for f in frames_t if f is not None and len(f)]  # callers may modify what they get
        if columns is not None:
            missing = [c for f in parts[:1] for c in columns if c not in f.columns]
            if missing:
                raise ConfigError(f"table {name!r} has no column(s) {missing}")
            parts = [f[columns] for f in parts]
        if not parts:
            return pd.DataFrame(columns=columns or [])
        df = pd.concat(parts, ignore_index=True)
        if "run_id" in df:
            df = df.sort_values("run_id", kind="stable")
        return df.reset_index(drop=True)


def read_table(root: str | Path, name: str = "runs") -> pd.DataFrame:
    """Convenience: one table of the experiment stored in ``root``, verified shard by shard
    (StoreError names a damaged or foreign shard). Reading never imports code named by the
    directory's spec."""
    return ResultStore.open(root).table(name)
