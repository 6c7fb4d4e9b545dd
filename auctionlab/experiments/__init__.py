"""Experiments: declarative specs -> seeded runs -> any Executor -> Parquet store (resumable).

``run_experiment(spec, out, executor=None)`` runs or resumes; ``read_table(out, "runs")``
reads results back; ``replay(out, run_id)`` recomputes one run alone. Specs come from
``load_spec`` (TOML / YAML / JSON / .py / catalog name) or ``parse_spec`` (a mapping).
The catalog (``auctionlab.experiments.catalog``) holds the TASC paper's §6 experiments.
"""

from auctionlab.experiments.kinds import RUN_KINDS, RunKind, RunOutput
from auctionlab.experiments.runner import RunFailedError, RunSummary, SerialExecutor, replay, run_experiment
from auctionlab.experiments.spec import ExperimentSpec, load_spec, parse_spec
from auctionlab.experiments.store import ResultStore, StoreError, read_table

__all__ = [
    "RUN_KINDS",
    "ExperimentSpec",
    "ResultStore",
    "RunFailedError",
    "RunKind",
    "RunOutput",
    "RunSummary",
    "SerialExecutor",
    "StoreError",
    "load_spec",
    "parse_spec",
    "read_table",
    "replay",
    "run_experiment",
]
