"""ICE strategy studies: how much a deviating proxy gains, and which proxies win tournaments.

Two run kinds, each one generated exchange per run (``random_exchange`` with bounds of
relative width ``bound_width`` around hidden true values). Every ICE run on it is an
:class:`~auctionlab.models.exchange.ExchangeMarket` played to its close from the same
initial bounds, through the one counterfactual runner
(:class:`~auctionlab.models.exchange.ExchangeCounterfactual`, which caches the runs of
deterministic proxy profiles by instance and profile):

``ice-manipulation``
    Everyone bids with the ``reference`` proxy (``straightforward``) — the *baseline* run.
    Then ``deviators`` bidders, drawn from the run's seed among the bidders that trade in
    the baseline (``deviator_pool = "traders"``; all bidders when none trade or with
    ``"all"``), each in turn replace their proxy by every entry of ``deviations`` while the
    others keep the reference — one ICE run per (deviator, deviation). A deviator that does
    not trade under the reference bidding can seldom gain by shading, so drawing among
    traders measures where manipulation can matter; say so when quoting the numbers.
    ``control = true`` also reruns the reference proxy as a deviation: its gain must be
    exactly 0 (a determinism check worth its cost).

    Payments under every registered payment rule come from the *same* run: the proxies
    never see payments (feedback is bounds, prices, provisional trade and the activity
    rule), so the bidding is identical under every ``payment_rule`` and only the final
    payments at v̲ differ (``ICEResult.payments_by_rule``; a test checks this equals
    running with ``payment_rule="vcg"``).

    ``runs``: one row per (deviator, deviation) with, for every payment rule ``r``
    (``threshold``, ``fractional``, ``reverse``, ``large``, ``small``, ``no_discount``,
    ``vcg``, ...), the deviator's utility ``utility_r``, its baseline utility
    ``baseline_utility_r``, the gain ``gain_r``, its payment ``payment_r``, and the budget
    surplus ``surplus_r`` / ``baseline_surplus_r``; the efficiency loss, rounds and how
    each run closed (``closed_by``, ``baseline_closed_by``: runs that stop at
    ``max_rounds`` are flagged by the report). ``agents``: every bidder in every run
    (baseline included, ``deviation = "baseline"``).

``ice-tournament``
    Focal-versus-background profiles: a focal bidder (drawn from the seed among the
    traders of the all-reference run, as above) plays strategy a while every other
    bidder plays b, for every ordered pair (a, b) of ``strategies`` — k² ICE runs on the
    same instance (common random numbers), the diagonal being homogeneous populations.
    The mean focal utility over instances is the empirical payoff matrix A[a, b]: the
    payoff of a lone a-proxy in a b-population, i.e. the fitness the one-population
    replicator dynamics use (``f = A x``, fitness linear in the shares). ``runs``: one row
    per (a, b) with the focal utility under the run's payment rule (``focal_utility``) and
    under every rule (``focal_utility_r``), the background's mean utility, efficiency,
    rounds and how the run closed.

Engine parameters as in :mod:`.ice_runs` (``cutoff_eff``, ``cutoff_thresh``, ``max_rounds``,
``max_queries``, ``rp_tol``, ``price_eps``, ``payment_rule``, ``track_alpha_thresh``,
``solver``); no table here records αthresh, so ``track_alpha_thresh`` defaults to "needed"
(same outcomes, fewer solves).

Both draw everything from the run's SeedSequence: the instance from the run's own stream
(or, with ``common_instances``, from the replication index as in :mod:`.ice_runs`), the
choice of deviators / focal bidder from a child of it.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from auctionlab._validate import check_bool, check_choice, check_positive_int
from auctionlab.errors import ConfigError, InternalError
from auctionlab.experiments.kinds import RunKind, RunOutput
from auctionlab.mechanisms.exchange.payment_rules import PAYMENT_RULES
from auctionlab.strategies.base import Strategy
from auctionlab.studies.ice_runs import (
    InstanceParams,
    exchange_strategy,
    generate_instance,
    proxy_table,
)

#: the deviations measured by default (short name -> strategy spec, plain data)
DEFAULT_DEVIATIONS: dict[str, Any] = {
    "misreport-0.1": {"strategy": "misreport", "params": {"strength": 0.1}},
    "misreport-0.25": {"strategy": "misreport", "params": {"strength": 0.25}},
    "misreport-0.5": {"strategy": "misreport", "params": {"strength": 0.5}},
    "lazy": "lazy",
    "late_revealer": "late_revealer",
    "stubborn": "stubborn",
}
#: the tournament's default proxies
DEFAULT_TOURNAMENT: dict[str, Any] = {
    "straightforward": "straightforward",
    "misreport-0.25": {"strategy": "misreport", "params": {"strength": 0.25}},
    "lazy": "lazy",
    "late_revealer": "late_revealer",
    "stubborn": "stubborn",
}
CONTROL = "control"
BASELINE = "baseline"
RULES = tuple(PAYMENT_RULES)  # the payment rules every table reports (registered when this module loads)


# ---------------------------------------------------------------------- typed parameters
@dataclasses.dataclass(frozen=True)
class _StudyInstance(InstanceParams):
    n_bidders: int = 5
    n_goods: int = 3
    nodes: int = 8
    max_units: int = 2
    max_rounds: int = 20
    reference: Any = "straightforward"

    def check(self) -> None:
        super().check()
        exchange_strategy(self.reference, "reference")


@dataclasses.dataclass(frozen=True)
class ManipulationParams(_StudyInstance):
    """``ice-manipulation``: the instance, the exchange's options, the reference proxy and the deviations."""

    deviations: Any = dataclasses.field(default_factory=lambda: dict(DEFAULT_DEVIATIONS))
    deviators: int = 2
    deviator_pool: str = "traders"
    control: bool = True

    def check(self) -> None:
        super().check()
        proxy_table(self.deviations, "deviations")
        check_positive_int(self.deviators, "deviators", maximum=200)
        check_choice(self.deviator_pool, "deviator_pool", ("traders", "all"))
        check_bool(self.control, "control")


@dataclasses.dataclass(frozen=True)
class TournamentParams(_StudyInstance):
    """``ice-tournament``: the instance, the exchange's options and the proxies that meet."""

    n_bidders: int = 4
    nodes: int = 6
    max_units: int = 1
    max_rounds: int = 15
    strategies: Any = dataclasses.field(default_factory=lambda: dict(DEFAULT_TOURNAMENT))
    focal_pool: str = "traders"

    def check(self) -> None:
        super().check()
        if len(proxy_table(self.strategies, "strategies")) < 2:
            raise ConfigError("strategies needs at least two entries for a tournament")
        check_choice(self.focal_pool, "focal_pool", ("traders", "all"))


def _per_rule(*prefixes: str) -> tuple[str, ...]:
    return tuple(f"{pre}_{r}" for pre in prefixes for r in RULES)


MANIPULATION_METRICS = (
    "deviation",
    "strategy",
    "label",
    "bidder",
    "role",
    *_per_rule("utility", "baseline_utility", "gain", "payment", "surplus", "baseline_surplus"),
    "units_traded",
    "baseline_units_traded",
    "efficiency",
    "baseline_efficiency",
    "efficiency_loss",
    "rounds",
    "baseline_rounds",
    "closed_by",
    "baseline_closed_by",
    "baseline_traded_units",
    "n_traders",
    "time_s",
)
TOURNAMENT_METRICS = (
    "focal_strategy",
    "background",
    "focal",
    "focal_role",
    "focal_utility",
    *_per_rule("focal_utility"),
    "background_utility",
    "total_utility",
    "efficiency",
    "rounds",
    "closed_by",
    "budget_surplus",
    "focal_units_traded",
    "traded_units",
    "time_s",
)


# ---------------------------------------------------------------------- shared machinery
class _Instance:
    """One generated exchange and the ICE runs played on it, through the one counterfactual runner."""

    def __init__(self, p: InstanceParams, seed: np.random.SeedSequence) -> None:
        from auctionlab.models.exchange import ExchangeCounterfactual

        pair = generate_instance(p, seed)
        self.exchange, self.truth = pair.bounded, pair.truth
        self.names = self.exchange.names
        self.roles = dict((self.exchange.meta or {}).get("roles", {}))
        self.params = p.engine()
        self.runner = ExchangeCounterfactual(self.exchange, self.truth, params=self.params)

    def play(self, profile: Sequence[Strategy], *, fresh: bool = False) -> dict[str, Any]:
        """Run ICE with one strategy per bidder; every payment rule's outcome of that run."""
        t0 = time.perf_counter()
        res = self.runner.play(profile, fresh=fresh)
        elapsed = time.perf_counter() - t0
        if res.utilities is None:  # pragma: no cover - every run is given the truth
            raise InternalError("a run with the truth reported no utilities")
        own = res.payments  # under the run's payment rule; the bidding does not depend on it
        value = {b: float(res.utilities[b]) + float(own[b]) for b in self.names}  # true value of the final trade
        pay = {r: {b: float(res.payments_by_rule[r][b]) for b in self.names} for r in RULES}
        util = {r: {b: value[b] - pay[r][b] for b in self.names} for r in RULES}
        util[self.params["payment_rule"]] = {b: float(res.utilities[b]) for b in self.names}
        trade = np.asarray(res.allocation.trade_matrix)
        return {
            "result": res,
            "pay": pay,
            "util": util,
            "units": {b: int(np.abs(trade[i]).sum()) for i, b in enumerate(self.names)},
            "efficiency": float(res.efficiency) if res.efficiency is not None else math.nan,
            "rounds": int(res.rounds),
            "closed_by": res.closed_by,
            "surplus": {r: math.fsum(pay[r].values()) for r in RULES},
            "time_s": elapsed,
        }

    def pick(self, outcome: dict[str, Any], pool: str, count: int, gen: np.random.Generator) -> list[int]:
        """``count`` bidder indices (sorted) drawn without replacement from the traders of
        ``outcome`` (or from everyone when ``pool == "all"`` or nobody trades)."""
        idx = list(range(len(self.names)))
        if pool == "traders":
            traders = [i for i in idx if outcome["units"][self.names[i]] > 0]
            idx = traders or idx
        k = min(count, len(idx))
        return sorted(int(i) for i in gen.choice(idx, size=k, replace=False))

    def agent_rows(self, out: dict[str, Any], **extra: Any) -> list[dict[str, Any]]:
        rows = []
        for b in self.names:
            row = {**extra, "bidder": b, "role": self.roles.get(b, "")}
            row.update({f"utility_{r}": out["util"][r][b] for r in RULES})
            row.update({f"payment_{r}": out["pay"][r][b] for r in RULES})
            row["units_traded"] = out["units"][b]
            rows.append(row)
        return rows


def _choice_rng(seed: np.random.SeedSequence) -> np.random.Generator:
    """A stream for choosing deviators / the focal bidder, independent of the instance's."""
    return np.random.default_rng(np.random.SeedSequence(seed.entropy, spawn_key=(*seed.spawn_key, 1)))


# ---------------------------------------------------------------------- ice-manipulation
def run_manipulation(params: dict[str, Any], seed: np.random.SeedSequence) -> RunOutput:
    """Baseline (everyone the reference proxy), then each deviator × deviation, others the reference."""
    p = ManipulationParams.from_mapping(params)
    inst = _Instance(p, seed)
    reference = exchange_strategy(p.reference, "reference")
    deviations = list(proxy_table(p.deviations, "deviations").items())
    if p.control:
        deviations.insert(0, (CONTROL, reference.clone()))
    n = len(inst.names)
    base = inst.play([reference] * n)
    deviators = inst.pick(base, p.deviator_pool, p.deviators, _choice_rng(seed))
    rows: list[dict[str, Any]] = []
    agents = inst.agent_rows(base, deviation=BASELINE, label=reference.label, deviator="")
    n_traders = sum(u > 0 for u in base["units"].values())
    for i in deviators:
        b = inst.names[i]
        for name, dev in deviations:
            prof = [reference] * n
            prof[i] = dev
            # the control is the reference itself: run it again (not from the cache) to check determinism
            out = inst.play(prof, fresh=name == CONTROL)
            row: dict[str, Any] = {
                "deviation": name,
                "strategy": dev.name,
                "label": dev.label,
                "bidder": b,
                "role": inst.roles.get(b, ""),
            }
            for r in RULES:
                row[f"utility_{r}"] = out["util"][r][b]
                row[f"baseline_utility_{r}"] = base["util"][r][b]
                row[f"gain_{r}"] = out["util"][r][b] - base["util"][r][b]
                row[f"payment_{r}"] = out["pay"][r][b]
                row[f"surplus_{r}"] = out["surplus"][r]
                row[f"baseline_surplus_{r}"] = base["surplus"][r]
            row.update(
                {
                    "units_traded": out["units"][b],
                    "baseline_units_traded": base["units"][b],
                    "efficiency": out["efficiency"],
                    "baseline_efficiency": base["efficiency"],
                    "efficiency_loss": base["efficiency"] - out["efficiency"],
                    "rounds": out["rounds"],
                    "baseline_rounds": base["rounds"],
                    "closed_by": out["closed_by"],
                    "baseline_closed_by": base["closed_by"],
                    "baseline_traded_units": int(sum(base["units"].values())),
                    "n_traders": int(n_traders),
                    "time_s": out["time_s"],
                }
            )
            rows.append(row)
            if name != CONTROL:
                agents += inst.agent_rows(out, deviation=name, label=dev.label, deviator=b)
    return RunOutput(runs=rows, agents=pd.DataFrame(agents))


# ---------------------------------------------------------------------- ice-tournament
def run_tournament(params: dict[str, Any], seed: np.random.SeedSequence) -> RunOutput:
    """Every ordered pair (a, b): a focal bidder plays a, everyone else b, on one instance."""
    p = TournamentParams.from_mapping(params)
    inst = _Instance(p, seed)
    strategies = proxy_table(p.strategies, "strategies")
    reference = exchange_strategy(p.reference, "reference")
    n = len(inst.names)
    (focal,) = inst.pick(inst.play([reference] * n), p.focal_pool, 1, _choice_rng(seed))
    fb = inst.names[focal]
    own = p.payment_rule
    rows = []
    for a, sa in strategies.items():
        for b, sb in strategies.items():
            prof = [sb] * n
            prof[focal] = sa
            out = inst.play(prof)
            others = [out["util"][own][x] for x in inst.names if x != fb]
            rows.append(
                {
                    "focal_strategy": a,
                    "background": b,
                    "focal": fb,
                    "focal_role": inst.roles.get(fb, ""),
                    "focal_utility": out["util"][own][fb],
                    **{f"focal_utility_{r}": out["util"][r][fb] for r in RULES},
                    "background_utility": float(np.mean(others)),
                    "total_utility": math.fsum(out["util"][own].values()),
                    "efficiency": out["efficiency"],
                    "rounds": out["rounds"],
                    "closed_by": out["closed_by"],
                    "budget_surplus": out["surplus"][own],
                    "focal_units_traded": out["units"][fb],
                    "traded_units": int(sum(out["units"].values())),
                    "time_s": out["time_s"],
                }
            )
    return RunOutput(runs=rows)


ICE_MANIPULATION_KIND = RunKind(
    name="ice-manipulation",
    fn=run_manipulation,
    params=ManipulationParams,
    metrics=MANIPULATION_METRICS,
    id_columns=("deviation", "bidder"),
    chunk=1,
    description="ICE: utility gain of deviating proxies over the reference proxy under every payment rule",
)
ICE_TOURNAMENT_KIND = RunKind(
    name="ice-tournament",
    fn=run_tournament,
    params=TournamentParams,
    metrics=TOURNAMENT_METRICS,
    id_columns=("focal_strategy", "background"),
    chunk=1,
    description="ICE: focal proxy vs background population on random exchanges (empirical payoff matrix)",
)
