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
    One repetition of a :class:`~auctionlab.tournament.Tournament` in the invasion format
    (:func:`exchange_tournament`): a focal bidder (drawn from the run's seed, the same in every
    match) plays strategy a while every other bidder plays b, for every ordered pair (a, b)
    of ``strategies`` — k² ICE runs (:class:`~auctionlab.models.exchange.ExchangeMarket`) on
    the same instance (common random numbers), the diagonal being homogeneous populations.
    The mean focal utility over instances is the empirical payoff matrix A[a, b]: the payoff
    of a lone a-proxy in a b-population, i.e. the fitness the replicator and Moran dynamics
    use. ``runs``: the tournament's rows — player a, opponent b, the focal utility under the
    run's payment rule (``payoff``) and under every rule (``payoff_r``), the focal bidder's
    traded units, and the run's efficiency, rounds, closing reason and traded units.
    ``reference`` names the proxy the report takes as the resident population.

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
from auctionlab.errors import ConfigError
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

    def check(self) -> None:
        super().check()
        if len(proxy_table(self.strategies, "strategies")) < 2:
            raise ConfigError("strategies needs at least two entries for a tournament")
        if self.common_instances:
            raise ConfigError(
                "the tournament draws its instance from the run's seed; common_instances is not supported"
            )


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
    "player",
    "opponent",
    "role",
    "payoff",
    "seats",
    *_per_rule("payoff"),
    "units_traded",
    "efficiency",
    "rounds",
    "closed_by",
    "traded_units",
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
        from auctionlab.models.exchange import utilities_by_rule

        t0 = time.perf_counter()
        res = self.runner.play(profile, fresh=fresh)
        elapsed = time.perf_counter() - t0
        util = utilities_by_rule(res, self.names, self.params["payment_rule"])
        pay = {r: {b: float(res.payments_by_rule[r][b]) for b in self.names} for r in RULES}
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
def exchange_tournament(params: dict[str, Any], *, repetitions: int = 1, rng: Any = 0):
    """The :class:`~auctionlab.tournament.Tournament` an ``ice-tournament`` run plays: the
    invasion format on the exchange (one focal bidder plays a, the others b), with the run's
    instance sizes and the exchange's options."""
    from auctionlab.tournament import Tournament

    p = TournamentParams.from_mapping(params)
    return Tournament(
        proxy_table(p.strategies, "strategies"),
        "ice",
        market="exchange",
        format="invasion",
        focal=1,
        repetitions=repetitions,
        rng=rng,
        n_bidders=p.n_bidders,
        n_goods=p.n_goods,
        nodes=p.nodes,
        max_units=p.max_units,
        bound_width=p.bound_width,
        **p.engine(),
    )


def run_tournament(params: dict[str, Any], seed: np.random.SeedSequence) -> RunOutput:
    """One repetition of :func:`exchange_tournament` on the run's seed: every ordered pair (a, b),
    a focal bidder playing a and everyone else b, on one instance."""
    rows = []
    for row in exchange_tournament(params).play_repetition(seed):
        del row["repetition"], row["seating"]  # the run is the repetition; one seating
        rows.append(row)
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
    id_columns=("player", "opponent"),
    chunk=1,
    description="ICE: focal proxy vs background population on random exchanges (empirical payoff matrix)",
)
