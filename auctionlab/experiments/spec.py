"""Declarative experiment specs: what to run, over which grid, how often, with which seed.

A spec comes from TOML (``tomllib``), YAML (``yaml.safe_load``: no Python objects), a
Python mapping, or a ``.py`` file defining ``SPEC``. Keys:

``name``          directory-safe identifier of the experiment (results go to ``<out>/<name>``)
``model``         the run kind: a registered name (``auctionlab list --kinds``), or
                  ``"package.module:function"``, or (from Python) a callable / RunKind
``params``        fixed parameters passed to every run
``grid``          a mapping ``key -> [values]`` swept as a cartesian product (key order), or
``grids``         a list of such mappings whose points are concatenated (e.g. Fig. 10(a) and
                  10(b) in one experiment). A grid value may itself be a list (one point whose
                  parameter is a list).
``replications``  runs per grid point
``master_seed``   integer in [0, 2**63): the root ``numpy.random.SeedSequence``
``metrics``       optional subset of the kind's metric columns to keep in the ``runs`` table
``chunk``         optional number of runs per task (a scheduling knob: results never depend on it)
``description``   free text; ``analysis``: name of the report section (defaults to ``name``)

Seeds: run (point p, replication r) uses ``SeedSequence(master_seed).spawn(P)[p].spawn(R)[r]``,
i.e. ``SeedSequence(master_seed, spawn_key=(p, r))``. Entropy and spawn key are stored in
every record, so any run can be replayed alone and no result depends on how many workers
ran the sweep or in what order.

Everything is checked by :func:`validate` before any work starts; a bad spec raises
:class:`~auctionlab.errors.ConfigError` naming the key at fault. Sizes are bounded
(at most :data:`MAX_POINTS` grid points and :data:`MAX_RUNS` runs; the grid's size is
computed from the lengths of its value lists, never by enumerating it), and JSON or YAML
files that repeat a key are rejected (TOML rejects them itself).

Code named by a spec: a ``"module:function"`` model is imported when the spec is
validated. :func:`parse_spec` with ``import_model=False`` skips that import (and the
checks that need the run kind); results directories are read that way, so reading results
never runs code named inside them.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from auctionlab.errors import ConfigError

TOP_KEYS = (
    "name",
    "model",
    "params",
    "grid",
    "grids",
    "replications",
    "master_seed",
    "metrics",
    "chunk",
    "description",
    "analysis",
)
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
MAX_SEED = 2**63
MAX_NAME = 100
"""Longest experiment name (it becomes a directory and file name)."""
MAX_POINTS = 100_000
"""Most grid points one spec may have (every point is checked before any work starts)."""
MAX_RUNS = 1_000_000
"""Most runs (points x replications) one spec may have."""


@dataclass(frozen=True)
class RunTask:
    """One run as shipped to a worker: everything needed to compute it alone."""

    run_id: int
    point: int
    replication: int
    params: dict[str, Any]
    entropy: int
    spawn_key: tuple[int, ...]

    @property
    def seed(self) -> np.random.SeedSequence:
        return np.random.SeedSequence(self.entropy, spawn_key=self.spawn_key)


@dataclass(frozen=True)
class ExperimentSpec:
    """A validated experiment description (build it with :func:`parse_spec` or :func:`load_spec`)."""

    name: str
    model: Any
    params: dict[str, Any] = field(default_factory=dict)
    grids: tuple[dict[str, tuple[Any, ...]], ...] = ({},)
    replications: int = 1
    master_seed: int = 0
    metrics: tuple[str, ...] | None = None
    chunk: int | None = None
    description: str = ""
    analysis: str | None = None

    # ------------------------------------------------------------------ derived
    def points(self) -> list[dict[str, Any]]:
        """Grid points in order: each grid's cartesian product (keys in order), grids concatenated."""
        out: list[dict[str, Any]] = []
        for g in self.grids:
            keys = list(g)
            for combo in itertools.product(*(g[k] for k in keys)):
                out.append(dict(zip(keys, combo)))
        return out

    def point_params(self) -> list[dict[str, Any]]:
        """Full parameters of every point: ``params`` updated with the point's grid values."""
        return [{**self.params, **p} for p in self.points()]

    def sweep_of_points(self) -> list[int]:
        """For every point, the index of the grid (in ``grids``) it comes from."""
        out: list[int] = []
        for gi, g in enumerate(self.grids):
            out.extend([gi] * math.prod(len(v) for v in g.values()))
        return out

    @property
    def grid_keys(self) -> list[str]:
        """Every grid key, in order of first appearance."""
        keys: list[str] = []
        for g in self.grids:
            keys.extend(k for k in g if k not in keys)
        return keys

    @property
    def n_points(self) -> int:
        """Number of grid points, from the lengths of the value lists (nothing enumerated)."""
        return grid_size(self.grids)

    @property
    def n_runs(self) -> int:
        return self.n_points * self.replications

    def seed(self, point: int, replication: int) -> np.random.SeedSequence:
        """The SeedSequence of one run (== ``SeedSequence(master).spawn(P)[point].spawn(R)[replication]``)."""
        return np.random.SeedSequence(self.master_seed, spawn_key=(point, replication))

    def tasks(self, run_ids: Sequence[int] | None = None) -> list[RunTask]:
        """Run tasks for the given run ids (all runs by default), in run-id order."""
        pts = self.point_params()
        R = self.replications
        ids = range(self.n_runs) if run_ids is None else sorted(run_ids)
        out = []
        for rid in ids:
            p, r = divmod(int(rid), R)
            out.append(RunTask(int(rid), p, r, pts[p], self.master_seed, (p, r)))
        return out

    def with_(self, **changes: Any) -> ExperimentSpec:
        """A copy with some fields changed (re-validated), e.g. ``spec.with_(replications=5)``."""
        return validate(replace(self, **changes))

    # ------------------------------------------------------------------ serialisation
    def to_dict(self) -> dict[str, Any]:
        """A JSON-able canonical form (callables become ``"module:qualname"``)."""
        d: dict[str, Any] = {
            "name": self.name,
            "model": model_ref(self.model),
            "params": _jsonable(self.params),
            "grids": [{k: _jsonable(list(v)) for k, v in g.items()} for g in self.grids],
            "replications": self.replications,
            "master_seed": self.master_seed,
            "metrics": None if self.metrics is None else list(self.metrics),
            "chunk": self.chunk,
            "description": self.description,
            "analysis": self.analysis,
        }
        return d

    @property
    def digest(self) -> str:
        """Hash of everything that determines the results (not description, chunk or analysis)."""
        d = self.to_dict()
        for k in ("description", "chunk", "analysis"):
            d.pop(k)
        return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()[:16]

    @property
    def analysis_name(self) -> str:
        return self.analysis or self.name


def grid_size(grids: Sequence[Mapping[str, Sequence[Any]]]) -> int:
    """Points of ``grids``: the sum over grids of the product of their value-list lengths."""
    return sum(math.prod(len(v) for v in g.values()) for g in grids)


def is_code_ref(model: Any) -> bool:
    """True when ``model`` names code outside the registered run kinds (``"module:function"``)."""
    from auctionlab.experiments.kinds import RUN_KINDS

    return isinstance(model, str) and model not in RUN_KINDS and ":" in model


def model_ref(model: Any) -> str:
    """A stable textual reference to a run kind: its registered name or ``module:qualname``."""
    if isinstance(model, str):
        return model
    name = getattr(model, "name", None)
    from auctionlab.experiments.kinds import RUN_KINDS, RunKind

    if isinstance(model, RunKind) and isinstance(name, str) and RUN_KINDS.get(name) is model:
        return name
    fn = model.fn if isinstance(model, RunKind) else model
    mod, qual = getattr(fn, "__module__", None), getattr(fn, "__qualname__", None)
    if not mod or not qual or "<" in qual:
        raise ConfigError(
            f"model {model!r} must be a registered name or a module-level function (so that workers can import it)"
        )
    return f"{mod}:{qual}"


def _jsonable(x: Any) -> Any:
    if isinstance(x, Mapping):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, np.generic):
        return x.item()
    if x is None or isinstance(x, (str, int, float, bool)):
        return x
    raise ConfigError(
        f"spec values must be plain data (numbers, strings, lists, tables), got {type(x).__name__}: {x!r}"
    )


def _check_plain(x: Any, where: str) -> None:
    try:
        _jsonable(x)
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc}") from None
    if isinstance(x, float) and not math.isfinite(x):
        raise ConfigError(f"{where}: non-finite number {x!r}")


# ---------------------------------------------------------------------- parsing
def parse_spec(data: Mapping[str, Any] | ExperimentSpec, *, import_model: bool = True) -> ExperimentSpec:
    """An :class:`ExperimentSpec` from a mapping (as read from TOML/YAML), validated.

    ``import_model=False``: a ``"module:function"`` model is not imported (nor are the
    parameters checked against it); used when reading results directories."""
    if isinstance(data, ExperimentSpec):
        return validate(data, import_model=import_model)
    if not isinstance(data, Mapping):
        raise ConfigError(f"an experiment spec must be a table/mapping, got {type(data).__name__}")
    unknown = sorted(set(map(str, data)) - set(TOP_KEYS))
    if unknown:
        raise ConfigError(f"unknown spec key(s) {unknown}; allowed: {', '.join(TOP_KEYS)}")
    for key in ("name", "model"):
        if key not in data:
            raise ConfigError(f"spec needs a {key!r}")
    if "grid" in data and "grids" in data:
        raise ConfigError("give either 'grid' (one table) or 'grids' (a list of tables), not both")
    if "grids" in data:
        grids = data["grids"]
        if not isinstance(grids, Sequence) or isinstance(grids, (str, bytes)) or not grids:
            raise ConfigError("'grids' must be a non-empty list of tables")
    else:
        grids = [data.get("grid") or {}]
    parsed_grids = []
    for gi, g in enumerate(grids):
        where = "grid" if "grids" not in data else f"grids[{gi}]"
        if not isinstance(g, Mapping):
            raise ConfigError(f"{where} must be a table key -> list of values, got {type(g).__name__}")
        pg = {}
        for k, vals in g.items():
            if not isinstance(k, str):
                raise ConfigError(f"{where} keys must be parameter names (strings), got {k!r}")
            if not isinstance(vals, Sequence) or isinstance(vals, (str, bytes)):
                raise ConfigError(f"{where}.{k} must be a list of values, got {vals!r}")
            if len(vals) == 0:
                raise ConfigError(f"{where}.{k} is empty: a grid key needs at least one value")
            pg[str(k)] = tuple(vals)
        parsed_grids.append(pg)
    if grid_size(parsed_grids) > MAX_POINTS:
        raise ConfigError(f"the grid has {grid_size(parsed_grids)} points; at most {MAX_POINTS} are allowed")
    params = data.get("params")
    params = {} if params is None else params
    if not isinstance(params, Mapping):
        raise ConfigError(f"'params' must be a table, got {type(params).__name__}")
    bad_keys = [k for k in params if not isinstance(k, str)]
    if bad_keys:
        raise ConfigError(f"'params' keys must be parameter names (strings), got {bad_keys[0]!r}")
    metrics = data.get("metrics")
    if metrics is not None:
        if isinstance(metrics, str) or not isinstance(metrics, Sequence):
            raise ConfigError(f"'metrics' must be a list of column names, got {metrics!r}")
        metrics = tuple(metrics)
    spec = ExperimentSpec(
        name=data["name"],
        model=data["model"],
        params=dict(params),
        grids=tuple(parsed_grids),
        replications=data.get("replications", 1),
        master_seed=data.get("master_seed", 0),
        metrics=metrics,
        chunk=data.get("chunk"),
        description="" if data.get("description") is None else data["description"],
        analysis=data.get("analysis"),
    )
    return validate(spec, import_model=import_model)


def load_spec(source: str | Path | Mapping[str, Any] | ExperimentSpec) -> ExperimentSpec:
    """A spec from a file (``.toml``, ``.yaml``/``.yml``, ``.json``, ``.py`` defining ``SPEC``),
    a catalog name, a mapping, or an ExperimentSpec."""
    if isinstance(source, (ExperimentSpec, Mapping)):
        return parse_spec(source)
    if not isinstance(source, (str, Path)) or not str(source):
        raise ConfigError(f"a spec is a file path, a catalog name, a mapping or an ExperimentSpec, got {source!r}")
    path = Path(source)
    if not path.is_file():
        from auctionlab.experiments.catalog import CATALOG, catalog_spec

        if isinstance(source, str) and source in CATALOG:
            return catalog_spec(source)
        raise ConfigError(
            f"{str(source)!r} is neither a spec file nor a catalog experiment; catalog: {', '.join(CATALOG)}"
        )
    suffix = path.suffix.lower()
    try:
        if suffix == ".toml":
            import tomllib

            with path.open("rb") as f:
                data = tomllib.load(f)
        elif suffix in (".yaml", ".yml"):
            import yaml

            with path.open(encoding="utf-8") as f:
                data = yaml.load(f, Loader=_unique_key_loader())  # noqa: S506 - a SafeLoader subclass
        elif suffix == ".json":
            data = json.loads(path.read_text(encoding="utf-8"), object_pairs_hook=_unique_pairs)
        elif suffix == ".py":
            import runpy

            ns = runpy.run_path(str(path))
            if "SPEC" not in ns:
                raise ConfigError(f"{path}: a Python spec file must define SPEC")
            data = ns["SPEC"]
        else:
            raise ConfigError(f"{path}: unknown spec format {suffix!r} (use .toml, .yaml, .json or .py)")
    except ConfigError:
        raise
    except Exception as exc:  # syntax errors of any of the formats
        raise ConfigError(f"{path}: cannot parse spec: {exc}") from None
    try:
        return parse_spec(data)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None


def _unique_pairs(pairs: list[tuple[str, Any]]) -> dict:
    """JSON object hook: a repeated key is an error (instead of the last one winning)."""
    out: dict[str, Any] = {}
    for k, v in pairs:
        if k in out:
            raise ConfigError(f"duplicate key {k!r} in a JSON object")
        out[k] = v
    return out


def _unique_key_loader():
    """A yaml SafeLoader whose mappings reject repeated keys."""
    import yaml

    class UniqueKeyLoader(yaml.SafeLoader):
        pass

    def construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        loader.flatten_mapping(node)
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = loader.construct_object(key_node, deep=deep)
            try:
                dup = key in seen
            except TypeError:
                raise ConfigError(f"line {key_node.start_mark.line + 1}: a mapping key must be a plain value") from None
            if dup:
                raise ConfigError(f"line {key_node.start_mark.line + 1}: duplicate key {key!r}")
            seen.add(key)
        return yaml.SafeLoader.construct_mapping(loader, node, deep=deep)

    UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, construct_mapping)
    return UniqueKeyLoader


# ---------------------------------------------------------------------- validation
def check_name(name: Any, what: str = "name") -> str:
    """A directory-safe experiment name: letters, digits, '-', '_' or '.', not starting with
    '.', at most :data:`MAX_NAME` characters (so it can never climb out of a directory)."""
    if not isinstance(name, str) or not _NAME.match(name) or len(name) > MAX_NAME:
        raise ConfigError(
            f"{what} must be an identifier of letters, digits, '-', '_' or '.' (not starting with '.', "
            f"at most {MAX_NAME} characters), got {name!r}"
        )
    return name


def validate(spec: ExperimentSpec, *, import_model: bool = True) -> ExperimentSpec:
    """Check every field and every grid point against the run kind; return the spec.
    With ``import_model=False`` a ``"module:function"`` model is neither imported nor checked."""
    from auctionlab._validate import check_int
    from auctionlab.experiments.kinds import resolve_kind

    check_name(spec.name)
    kind = None if (not import_model and is_code_ref(spec.model)) else resolve_kind(spec.model)
    r = spec.replications
    if isinstance(r, bool) or not isinstance(r, (int, np.integer)) or r < 1:
        raise ConfigError(f"replications must be a positive integer, got {r!r}")
    check_int(r, "replications", maximum=MAX_RUNS)
    if not isinstance(spec.grids, tuple) or not all(isinstance(g, Mapping) for g in spec.grids):
        raise ConfigError("grids must be a tuple of tables key -> values")
    n_points = spec.n_points
    if n_points > MAX_POINTS:
        raise ConfigError(f"the grid has {n_points} points; at most {MAX_POINTS} are allowed")
    if n_points * int(r) > MAX_RUNS:
        raise ConfigError(
            f"{n_points} grid points x {int(r)} replications = {n_points * int(r)} runs; at most {MAX_RUNS} are allowed"
        )
    s = spec.master_seed
    if isinstance(s, bool) or not isinstance(s, (int, np.integer)) or not 0 <= s < MAX_SEED:
        raise ConfigError(f"master_seed must be an integer in [0, 2**63), got {s!r}")
    if spec.chunk is not None and (isinstance(spec.chunk, bool) or not isinstance(spec.chunk, int) or spec.chunk < 1):
        raise ConfigError(f"chunk must be a positive integer, got {spec.chunk!r}")
    if spec.chunk is not None:
        check_int(spec.chunk, "chunk", maximum=MAX_RUNS)
    if not isinstance(spec.description, str):
        raise ConfigError(f"description must be a string, got {spec.description!r}")
    if spec.analysis is not None and not isinstance(spec.analysis, str):
        raise ConfigError("analysis must be a string naming a report section")
    for k, v in spec.params.items():
        _check_plain(v, f"params.{k}")
    for g in spec.grids:
        for k, vals in g.items():
            if k in spec.params:
                raise ConfigError(f"{k!r} is both a fixed param and a grid key; keep it in one place")
            for v in vals:
                _check_plain(v, f"grid value {k}")
    if spec.metrics is not None:
        bad = [m for m in spec.metrics if not isinstance(m, str)]
        if bad:
            raise ConfigError(f"metrics must be column names (strings), got {bad}")
        if kind is not None and kind.metrics is not None:
            unknown = sorted(set(spec.metrics) - set(kind.metrics))
            if unknown:
                raise ConfigError(
                    f"unknown metric(s) {unknown} for model {kind.name!r}; available: {', '.join(kind.metrics)}"
                )
    if n_points == 0:
        raise ConfigError("the grid has no points")
    pts = spec.point_params() if kind is not None else []
    for i, p in enumerate(pts):
        assert kind is not None
        try:
            kind.check(p)
        except ConfigError as exc:
            where = f"grid point {i} {spec.points()[i]}" if spec.points()[i] else "params"
            raise type(exc)(f"{where}: {exc}") from None
    return replace(spec, replications=int(r), master_seed=int(s), params=dict(spec.params))
