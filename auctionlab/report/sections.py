"""Report sections: one per stored experiment, built from its tables alone.

A section builder is ``build(store, figdir) -> Section``. The builder of a stored experiment
is its study's (:func:`auctionlab.studies.study_for`: the spec's ``analysis`` key, else its
run kind), or one a user registered in :data:`SECTIONS` under the ``analysis`` name, falling
back to :func:`generic_section` (means with CIs of every metric per grid point).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from auctionlab.experiments.store import ResultStore
from auctionlab.registry import Registry
from auctionlab.report.metrics import fmt, group_mean_ci
from auctionlab.report.plots import band, new_figure, save

ID_COLUMNS = ("run_id", "point", "replication", "seed_entropy", "seed_spawn_key")


# The one verdict vocabulary of the report (its legend is printed with the claims).
VERDICTS: dict[str, str] = {
    "agrees": "the stored results support the statement",
    "partly": "supported in some settings or by some measures, not in others",
    "disagrees": "the stored results contradict the statement",
    "insufficient data": "too few samples (or none that trade) to judge; n is shown",
    "n/a": "nothing to judge here (the statement does not apply to these settings)",
}
_OLD_WORDS = {"holds": "agrees", "fails": "disagrees"}
MIN_N = 30  # samples below which a claim reads "insufficient data" unless the claim says otherwise


@dataclass(frozen=True)
class Claim:
    """A statement (the paper's, or a property the mechanism should have), this reproduction's
    verdict on it (one of :data:`VERDICTS`), the numbers behind it, and the sample size ``n``
    the verdict rests on (``None`` only for claims that are not statistical).

    ``headline``: a section marks the claim that carries one of the project's key findings
    with its rank (1 first); :func:`headlines` picks the top ones from a built report (as
    ``auctionlab reproduce`` prints them at its end). ``None``: not a headline."""

    statement: str
    verdict: str
    evidence: str
    n: int | None = None
    headline: int | None = None

    def __post_init__(self) -> None:
        verdict = _OLD_WORDS.get(self.verdict, self.verdict)
        if verdict not in VERDICTS:
            raise ValueError(f"unknown verdict {self.verdict!r}; one of {', '.join(VERDICTS)}")
        object.__setattr__(self, "verdict", verdict)


def judge(ok: bool, n: int | None, *, partly: bool = False, min_n: int = MIN_N) -> str:
    """The verdict word for a claim checked on ``n`` samples: "insufficient data" below ``min_n``.

    >>> judge(True, 40), judge(False, 40, partly=True), judge(True, 5), judge(False, 0)
    ('agrees', 'partly', 'insufficient data', 'insufficient data')
    """
    if n is not None and n < min_n:
        return "insufficient data"
    return "agrees" if ok else ("partly" if partly else "disagrees")


@dataclass(frozen=True)
class Figure:
    name: str
    caption: str
    png: Path
    svg: Path


@dataclass
class Section:
    name: str
    title: str
    description: str
    settings: dict[str, Any]
    figures: list[Figure] = field(default_factory=list)
    tables: list[tuple[str, pd.DataFrame]] = field(default_factory=list)
    claims: list[Claim] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    data: list[tuple[str, pd.DataFrame]] = field(default_factory=list)  # long tables (CSV only)


SectionBuilder = Callable[[ResultStore, Path], Section]
SECTIONS: Registry[SectionBuilder] = Registry("report section")

_COLLECTING: ContextVar[list[Section] | None] = ContextVar("auctionlab_sections_built", default=None)


@contextmanager
def collecting_sections() -> Iterator[list[Section]]:
    """Inside the block, every section :func:`build_section` builds is appended to the
    list it yields (e.g. to read the claims of a report as it is built)."""
    built: list[Section] = []
    token = _COLLECTING.set(built)
    try:
        yield built
    finally:
        _COLLECTING.reset(token)


def headlines(sections: list[Section], k: int = 3) -> list[tuple[Section, Claim]]:
    """The ``k`` claims marked ``headline`` with the smallest ranks (ties in report order)."""
    marked = [
        (c.headline, i, j, s, c)
        for i, s in enumerate(sections)
        for j, c in enumerate(s.claims)
        if c.headline is not None
    ]
    marked.sort(key=lambda t: (t[0], t[1], t[2]))
    return [(s, c) for _, _, _, s, c in marked[:k]]


def settings_of(store: ResultStore) -> dict[str, Any]:
    spec = store.spec
    m = store.manifest
    grids = "; ".join(", ".join(f"{k} = {list(v)}" for k, v in g.items()) for g in spec.grids if g) or "none"
    return {
        "model": m["spec"]["model"],
        "replications": spec.replications,
        "grid": grids,
        "runs stored": f"{len(store.done_runs())} of {m['n_runs']}",
        "master seed": spec.master_seed,
        "params": ", ".join(f"{k} = {v}" for k, v in spec.params.items()) or "defaults",
    }


def build_section(store: ResultStore, figdir: Path) -> Section:
    """The section for one experiment directory (its registered builder or the generic one)."""
    sec = _build_section(store, figdir)
    built = _COLLECTING.get()
    if built is not None:
        built.append(sec)
    return sec


def _build_section(store: ResultStore, figdir: Path) -> Section:
    from auctionlab.studies import study_for

    spec = store.spec
    if spec.analysis is not None and spec.analysis in SECTIONS:
        return SECTIONS[spec.analysis](store, figdir)
    study = study_for(spec)
    builder = study.section_builder() if study is not None else None
    if study is None or builder is None:
        return generic_section(store, figdir)
    missing = [c for c in study.needs if spec.metrics is not None and c not in spec.metrics]
    if missing:
        sec = generic_section(store, figdir)
        sec.notes.append(
            f"The {study.name} section needs the metric(s) {', '.join(missing)}, "
            "which this experiment does not keep; showing every stored metric instead."
        )
        return sec
    return builder(store, figdir)


def generic_section(store: ResultStore, figdir: Path) -> Section:
    """Mean ± 95% CI of every numeric metric per grid point (and per variant column), and
    the first few metrics plotted against the first numeric grid key."""
    spec = store.spec
    runs = store.table("runs")
    sec = Section(store.name, store.name, spec.description, settings_of(store))
    if runs.empty:
        sec.notes.append("No runs are stored yet.")
        return sec
    keys = [k for k in spec.grid_keys if k in runs.columns]
    variants = [
        c
        for c in runs.columns
        if c not in ID_COLUMNS
        and c not in keys
        and (runs[c].dtype == object or pd.api.types.is_string_dtype(runs[c]) or runs[c].dtype == bool)
        and runs[c].nunique() <= 12
    ]
    metrics = [
        c
        for c in runs.columns
        if c not in ID_COLUMNS and c not in keys and c not in variants and pd.api.types.is_numeric_dtype(runs[c])
    ]
    by = keys + variants
    rows = []
    for mname in metrics:
        s = group_mean_ci(runs.assign(_all="all") if not by else runs, by or ["_all"], mname)
        s.insert(0, "metric", mname)
        rows.append(s)
    if rows:
        table = pd.concat(rows, ignore_index=True)
        sec.tables.append(("Mean and 95% CI of every metric per grid point", table))
    xkey = next((k for k in keys if pd.api.types.is_numeric_dtype(runs[k]) and runs[k].nunique() > 1), None)
    if xkey is not None and metrics:
        shown = metrics[:4]
        fig, axes = new_figure(1, len(shown))
        for ax, mname in zip(axes[0], shown):
            group = [v for v in variants]
            parts = runs.groupby(group, sort=True) if group else [(("all",), runs)]
            for key, sub in parts:
                s = group_mean_ci(sub, [xkey], mname)
                band(ax, s, xkey, marker="o", name=", ".join(map(str, key if isinstance(key, tuple) else (key,))))
            ax.set_xlabel(xkey)
            ax.set_ylabel(mname)
            if group:
                ax.legend(fontsize=7)
        png, svg = save(fig, figdir, store.name)
        sec.figures.append(Figure(store.name, f"{', '.join(shown)} vs {xkey} (mean, 95% CI)", png, svg))
    return sec


def analysis_rng(store: ResultStore, stream: int) -> np.random.Generator:
    """The report's own generator for one section (bootstraps): seeded from the experiment's
    master seed on a spawn key ``stream`` that no run uses, so reports are reproducible."""
    return np.random.default_rng(np.random.SeedSequence(store.spec.master_seed, spawn_key=(stream,)))


def ci_text(est: float, lo: float, hi: float) -> str:
    """``estimate [lo, hi]`` for claim evidence."""
    return f"{fmt(est)} [{fmt(lo)}, {fmt(hi)}]"


def empty_section(sec: Section) -> Section:
    sec.notes.append("No runs are stored yet.")
    return sec


def claim_verdict(ok: bool, partly: bool = False) -> str:
    """The verdict word of a non-statistical claim (prefer :func:`judge`, which takes ``n``)."""
    return "agrees" if ok else ("partly" if partly else "disagrees")
