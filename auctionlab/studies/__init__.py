"""Studies: each one unit that declares what a run computes, its parameters, its metrics,
its catalog spec and its report section — registered in one explicit list.

A :class:`Study` ties together

- ``kind``: the :class:`~auctionlab.experiments.kinds.RunKind` (run function, typed
  parameters with defaults and validation, metric columns);
- ``spec``: the catalog spec (a TOML file a user can copy: ``auctionlab show NAME``);
- ``section``: the report section builder, ``"module:function"`` (imported only when a
  report is built, so running a study never imports plotting code) or a callable;
- ``reproduce_cap``: the replications ``auctionlab reproduce`` caps it at (``None`` = the
  spec's own), and its place in :data:`STUDIES` is its place in the report. Each cap is
  the sample the study's verdicts need (every claim needs ``MIN_N`` = 30 samples, counted
  per grid point or per instance with trade, as the claim says), not more: TASC's profit,
  efficiency and run-time studies at 300 instances per point (their verdicts are those of
  the paper's 1000), ICE convergence at 30 instances (the claims count instances with
  trade), relay manipulation at 5 instances per point (its claims pool the points: 60
  instances, thousands of agents), the relay tournament at 8 leagues (its claims need 30;
  its spec has 20, so they read "insufficient data" at any size it offers), the equilibrium
  study at 2 runs (50 game instances; its learning claims count runs and read
  "insufficient data"), the exchange's manipulation and tournament studies at 2 and 1
  (their verdicts need baselines of the paper's bidder that do not stall, which more
  replications do not bring: they read "insufficient data" at any affordable size).

A report section is chosen by the spec's ``analysis`` key if it has one, else by its run
kind (the study marked ``default_for_kind``), so a user's own spec of a known kind gets the
full section. A user adds a study from their own package with :func:`register_study`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from auctionlab.errors import ConfigError, UnknownNameError
from auctionlab.experiments.kinds import RUN_KINDS, RunKind
from auctionlab.registry import Registry

CATALOG_DIR = Path(__file__).resolve().parent.parent / "experiments" / "catalog"


@dataclass(frozen=True, eq=False)
class Study:
    """One study: run kind, catalog spec, report section, place in ``auctionlab reproduce``."""

    name: str
    kind: RunKind
    section: str | Callable[..., Any] | None = None
    spec: Path | None = None
    reproduce_cap: int | None = None
    reproduce: bool = True
    default_for_kind: bool = True
    needs: tuple[str, ...] = ()  # metric columns its section reads (a spec keeping fewer gets the generic one)

    def section_builder(self) -> Callable[..., Any] | None:
        """The section builder, imported on first use."""
        if self.section is None or callable(self.section):
            return self.section
        mod, _, attr = self.section.partition(":")
        try:
            return getattr(importlib.import_module(mod), attr)
        except (ImportError, AttributeError) as exc:
            raise ConfigError(f"study {self.name!r}: section {self.section!r} cannot be imported: {exc}") from None


STUDIES: Registry[Study] = Registry("study")


def register_study(study: Study, *, overwrite: bool = False) -> Study:
    """Register a study (and its run kind) — for studies in users' own packages too."""
    if not isinstance(study, Study):
        raise ConfigError(f"register_study needs a Study, got {type(study).__name__}")
    if not isinstance(study.name, str) or not study.name:
        raise ConfigError(f"a study's name must be a non-empty string, got {study.name!r}")
    if dict.__contains__(STUDIES, study.name) and not overwrite:
        raise ConfigError(f"study {study.name!r} is already registered (pass overwrite=True)")
    if study.spec is not None and not Path(study.spec).is_file():
        raise ConfigError(f"study {study.name!r}: spec {study.spec} is not a file")
    known = dict.get(RUN_KINDS, study.kind.name)
    if known is not None and known is not study.kind and not overwrite:
        raise ConfigError(f"study {study.name!r}: run kind {study.kind.name!r} is already registered")
    if known is None or overwrite:
        dict.__setitem__(RUN_KINDS, study.kind.name, study.kind)
    dict.__setitem__(STUDIES, study.name, study)
    return study


def study_for(spec: Any) -> Study | None:
    """The study whose section fits a spec: by its ``analysis`` key, else by its run kind."""
    if getattr(spec, "analysis", None):
        if spec.analysis not in STUDIES:
            raise UnknownNameError(f"unknown analysis {spec.analysis!r}; studies: {', '.join(STUDIES)}")
        return STUDIES[spec.analysis]
    kind = spec.model if isinstance(spec.model, str) else getattr(spec.model, "name", None)
    for study in STUDIES.values():
        if study.kind.name == kind and study.default_for_kind:
            return study
    return None


def reproduce_list() -> list[Study]:
    """What ``auctionlab reproduce`` runs, in report order."""
    return [s for s in STUDIES.values() if s.reproduce]


def _builtin() -> list[Study]:
    from auctionlab.studies import ice_runs, ice_strategic, learning_runs, relay_market, relay_strategic, tasc_runs

    cat = CATALOG_DIR
    return [
        Study(
            "tasc-truthfulness",
            tasc_runs.TASC_TRUTHFULNESS_KIND,
            "auctionlab.studies.tasc_truthfulness.section:build",
            cat / "tasc-truthfulness.toml",
        ),
        Study(
            "tasc-profit",
            tasc_runs.TASC_KIND,
            "auctionlab.studies.tasc_profit.section:build",
            cat / "tasc-profit.toml",
            reproduce_cap=300,
            needs=("profit", "zero_profit"),
        ),
        Study(
            "tasc-efficiency",
            tasc_runs.TASC_KIND,
            "auctionlab.studies.tasc_efficiency.section:build",
            cat / "tasc-efficiency.toml",
            reproduce_cap=300,
            default_for_kind=False,
        ),
        Study(
            "tasc-runtime",
            tasc_runs.TASC_KIND,
            "auctionlab.studies.tasc_runtime.section:build",
            cat / "tasc-runtime.toml",
            reproduce_cap=50,  # timing runs go one at a time (serial medians): 50 instances per m keep the slopes' CIs tight
            default_for_kind=False,
        ),
        Study(
            "ice-convergence",
            ice_runs.ICE_KIND,
            "auctionlab.studies.ice_convergence.section:build",
            cat / "ice-convergence.toml",
            reproduce_cap=30,
        ),
        Study(
            "relay-manipulation",
            relay_strategic.RELAY_MANIPULATION_KIND,
            "auctionlab.studies.relay_manipulation.section:build",
            cat / "relay-manipulation.toml",
            reproduce_cap=5,
        ),
        Study(
            "tournament",
            relay_strategic.RELAY_TOURNAMENT_KIND,
            "auctionlab.studies.tournament.section:build",
            cat / "tournament.toml",
            reproduce_cap=8,
        ),
        Study(
            "equilibrium",
            relay_strategic.RELAY_EQUILIBRIUM_KIND,
            "auctionlab.studies.equilibrium.section:build",
            cat / "equilibrium.toml",
            reproduce_cap=2,
        ),
        Study(
            "ice-manipulation",
            ice_strategic.ICE_MANIPULATION_KIND,
            "auctionlab.studies.ice_manipulation.section:build",
            cat / "ice-manipulation.toml",
            reproduce_cap=2,
        ),
        Study(
            "tournament-exchange",
            ice_strategic.ICE_TOURNAMENT_KIND,
            "auctionlab.studies.tournament_exchange.section:build",
            cat / "tournament-exchange.toml",
            reproduce_cap=1,
        ),
        Study(
            "learning-dynamics",
            learning_runs.LEARNING_KIND,
            "auctionlab.studies.learning_dynamics.section:build",
            cat / "learning-dynamics.toml",
            reproduce=False,
        ),
        Study("relay-market", relay_market.RELAY_MARKET_KIND, None, None, reproduce=False),
    ]


for _s in _builtin():
    register_study(_s)
del _s
