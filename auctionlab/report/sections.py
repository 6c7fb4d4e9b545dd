"""Report sections: one per stored experiment, built from its tables alone.

A section builder is ``build(store, figdir) -> Section``. The builder of a stored experiment
is its study's (:func:`auctionlab.studies.study_for`: the spec's ``analysis`` key, else its
run kind), or one a user registered in :data:`SECTIONS` under the ``analysis`` name, falling
back to :func:`generic_section` (means with CIs of every metric per grid point).
"""

from __future__ import annotations

import re
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
    grids = (
        "; ".join(", ".join(f"{k} = {list(v)}" for k, v in g.items()) for g in spec.grids if g)
        or "a single point (no grid)"
    )
    return {
        "model": m["spec"]["model"],
        "replications": spec.replications,
        "grid": grids,
        "runs stored": f"{len(store.done_runs())} of {m['n_runs']}",
        "master seed": spec.master_seed,
        "params": ", ".join(f"{k} = {v}" for k, v in spec.params.items()) or "defaults",
    }


def catalog_run(spec) -> bool:
    """True when ``spec`` is a catalog study as the catalog defines it (its replications may be
    fewer, as ``auctionlab reproduce`` caps them; its MIP backend may differ): its section may
    then speak of the study's own statements. Any other spec is a user's sweep."""
    from auctionlab.errors import AuctionlabError
    from auctionlab.experiments.catalog import CATALOG, catalog_spec

    if spec.name not in CATALOG:
        return False
    try:
        cat = catalog_spec(spec.name)
    except AuctionlabError:  # a damaged catalog entry must not stop the report
        return False

    def key(s) -> dict[str, Any]:
        d = s.to_dict()
        for k in ("replications", "description", "chunk", "analysis"):
            d.pop(k)
        d["params"] = {k: v for k, v in d["params"].items() if k != "solver"}
        return d

    return key(spec) == key(cat)


_FIG_PREFIX = re.compile(r"^Figs?\.\s[^—]*—\s*")


def users_title(title: str, spec, study_name: str) -> str:
    """A section title for a user's own spec drawn with a study's section: the spec's name and
    what is plotted, without the paper's figure number (it is not the paper's run).

    >>> users_title("Fig. 9 — auctioneer's profit vs m", type("S", (), {"name": "mine"})(), "tasc-profit")
    "mine: auctioneer's profit vs m (your spec, analysed like the tasc-profit study)"
    """
    what = _FIG_PREFIX.sub("", title).strip() or study_name
    return f"{spec.name}: {what} (your spec, analysed like the {study_name} study)"


def build_section(store: ResultStore, figdir: Path) -> Section:
    """The section for one experiment directory (its registered builder or the generic one).

    A user's own spec of a known kind gets that study's section under a title of its own (not
    the paper's figure), and every metric the spec asked for is tabled even when the study's
    section does not show it."""
    sec = _build_section(store, figdir)
    built = _COLLECTING.get()
    if built is not None:
        built.append(sec)
    return sec


def _build_section(store: ResultStore, figdir: Path) -> Section:
    """The section itself (:func:`build_section` records it for the headline findings)."""
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
    sec = builder(store, figdir)
    if not catalog_run(spec):
        sec.title = users_title(sec.title, spec, study.name)
        if sec.claims:
            sec.notes.insert(
                0,
                f"The statements checked are the {study.name} study's, checked on this spec's own runs "
                "(its grid and parameters, not the study's).",
            )
    if spec.metrics is not None:
        table = metric_table(store.table("runs"), spec, list(spec.metrics))
        if table is not None:
            sec.tables.append(("Mean and 95% CI of the metrics this spec keeps, per grid point", table))
    return sec


def _columns(runs: pd.DataFrame, spec) -> tuple[list[str], list[str], list[str]]:
    """Grid keys, variant columns (a few text values) and numeric metrics of a runs table;
    columns with one value throughout (parameters the spec fixed) are left out of all three."""
    varying = [c for c in runs.columns if c not in ID_COLUMNS and runs[c].nunique(dropna=False) > 1]
    keys = [k for k in spec.grid_keys if k in varying]
    variants = [
        c
        for c in varying
        if c not in keys
        and (runs[c].dtype == object or pd.api.types.is_string_dtype(runs[c]) or runs[c].dtype == bool)
        and runs[c].nunique() <= 12
    ]
    wanted = list(spec.metrics) if spec.metrics is not None else None
    metrics = [
        c
        for c in runs.columns
        if c not in ID_COLUMNS
        and c not in keys
        and c not in variants
        and pd.api.types.is_numeric_dtype(runs[c])
        and runs[c].dtype != bool
        and (c in varying or (wanted is not None and c in wanted))
    ]
    if wanted is not None:
        metrics = [c for c in wanted if c in metrics]
    return keys, variants, metrics


def metric_table(runs: pd.DataFrame, spec, metrics: list[str] | None = None) -> pd.DataFrame | None:
    """Mean and 95% CI of ``metrics`` (default: every varying numeric metric) per grid point and
    variant; None when there is nothing to show."""
    if runs.empty:
        return None
    keys, variants, found = _columns(runs, spec)
    metrics = found if metrics is None else [m for m in metrics if m in runs.columns and m not in keys + variants]
    by = keys + variants
    rows = []
    for mname in metrics:
        if not pd.api.types.is_numeric_dtype(runs[mname]):
            continue
        s = group_mean_ci(runs.assign(_all="all") if not by else runs, by or ["_all"], mname)
        s.insert(0, "metric", mname)
        rows.append(s)
    return pd.concat(rows, ignore_index=True) if rows else None


def generic_section(store: ResultStore, figdir: Path) -> Section:
    """Mean ± 95% CI of every numeric metric per grid point (and per variant column), and
    the metrics plotted against the first numeric grid key (three panels a row, at most nine).
    Only the metrics the spec keeps are shown when it names them; parameters the spec fixed
    (columns with one value throughout) get no panel or legend of their own."""
    spec = store.spec
    runs = store.table("runs")
    sec = Section(store.name, store.name, spec.description, settings_of(store))
    if runs.empty:
        sec.notes.append("No runs are stored yet.")
        return sec
    keys, variants, metrics = _columns(runs, spec)
    table = metric_table(runs, spec)
    if table is not None:
        sec.tables.append(("Mean and 95% CI of every metric per grid point", table))
    xkey = next((k for k in keys if pd.api.types.is_numeric_dtype(runs[k])), None)
    shown = [m for m in metrics if runs[m].nunique() > 1 or spec.metrics is not None][:9]
    if xkey is not None and shown:
        ncols = min(3, len(shown))
        nrows = -(-len(shown) // ncols)
        fig, axes = new_figure(nrows, ncols)
        flat = [ax for row in axes for ax in row]
        for ax, mname in zip(flat, shown):
            parts = runs.groupby(variants, sort=True) if variants else [(("all",), runs)]
            for key, sub in parts:
                s = group_mean_ci(sub, [xkey], mname)
                band(ax, s, xkey, marker="o", name=", ".join(map(str, key if isinstance(key, tuple) else (key,))))
            ax.set_xlabel(xkey)
            ax.set_ylabel(mname)
            if variants:
                ax.legend(fontsize=7)
        for ax in flat[len(shown) :]:
            ax.set_visible(False)
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
