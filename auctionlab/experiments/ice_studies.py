"""ICE strategy studies: how much a deviating proxy gains, and which proxies win tournaments.

Two run kinds, each one generated exchange per run (``random_exchange`` with bounds of
relative width ``bound_width`` around hidden true values), every ICE run on it started
from the same initial bounds:

``ice-manipulation``
    Everyone bids with the ``reference`` proxy (straightforward) — the *baseline* run.
    Then ``deviators`` bidders, drawn from the run's seed among the bidders that trade in
    the baseline (``deviator_pool = "traders"``; all bidders when none trade or with
    ``"all"``), each in turn replace their proxy by every entry of ``deviations`` while the
    others keep the reference — one ICE run per (deviator, deviation). A deviator that does
    not trade under straightforward bidding can seldom gain by shading, so drawing among
    traders measures where manipulation can matter; say so when quoting the numbers.
    ``control = true`` also reruns the reference proxy as a deviation: its gain must be
    exactly 0 (a determinism check worth its cost).

    Payments under both rules come from the *same* run: the proxies never see payments
    (feedback is bounds, prices, provisional trade and the activity rule), so the bidding
    is identical under ``payment_rule="threshold"`` and ``"vcg"``, and only the final
    payments at v̲ differ. The run uses Threshold payments; the VCG payments of the same
    final trade come from the VCG discounts the final Threshold payments are computed from
    (``ICEResult.payments_by_rule``). ``tests/experiments/test_ice_studies.py`` checks this
    equals running with ``payment_rule="vcg"``.

    ``runs``: one row per (deviator, deviation) with the deviator's utility and gain over
    its baseline utility under each rule, the efficiency loss, rounds, and both rules'
    budget surplus in the deviation run and in the baseline. ``agents``: every bidder in
    every run (baseline included, ``deviation = "baseline"``).

``ice-tournament``
    Focal-versus-background profiles: a focal bidder (drawn from the seed among the
    traders of the all-straightforward run, as above) plays strategy a while every other
    bidder plays b, for every ordered pair (a, b) of ``strategies`` — k² ICE runs on the
    same instance (common random numbers), the diagonal being homogeneous populations.
    The mean focal utility over instances is the empirical payoff matrix A[a, b]: the
    payoff of a lone a-proxy in a b-population, i.e. the fitness the one-population
    replicator dynamics use (``f = A x``, fitness linear in the shares). ``runs``: one row
    per (a, b) with the focal utility, the background's mean utility, efficiency, rounds.

Engine parameters as in :mod:`.ice_runs` (``cutoff_eff``, ``cutoff_thresh``, ``max_rounds``,
``max_queries``, ``rp_tol``, ``price_eps``, ``track_alpha_thresh``, ``solver``); no table here records
αthresh, so ``track_alpha_thresh`` defaults to "needed" (same outcomes, fewer solves).

Both draw everything from the run's SeedSequence: the instance from the run's own stream
(or, with ``common_instances``, from the replication index as in :mod:`.ice_runs`), the
choice of deviators / focal bidder from a child of it.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from auctionlab.errors import ConfigError
from auctionlab.experiments.ice_runs import ENGINE_DEFAULTS, check_instance_params, engine_params, instance_rng
from auctionlab.experiments.kinds import RunKind, RunOutput, choice, positive_int
from auctionlab.strategies.base import Strategy
from auctionlab.strategies.exchange import ExchangeStrategy
from auctionlab.strategies.registry import strategy_from_spec

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

_INSTANCE_DEFAULTS: dict[str, Any] = {
    "n_bidders": 5, "n_goods": 3, "nodes": 8, "max_units": 2, "bound_width": 0.5,
    **ENGINE_DEFAULTS, "max_rounds": 20, "common_instances": False,
}
MANIPULATION_DEFAULTS: dict[str, Any] = {
    **_INSTANCE_DEFAULTS, "reference": "straightforward", "deviations": DEFAULT_DEVIATIONS,
    "deviators": 2, "deviator_pool": "traders", "control": True,
}
TOURNAMENT_DEFAULTS: dict[str, Any] = {
    **_INSTANCE_DEFAULTS, "n_bidders": 4, "nodes": 6, "max_units": 1, "max_rounds": 15,
    "strategies": DEFAULT_TOURNAMENT, "reference": "straightforward", "focal_pool": "traders",
}
MANIPULATION_METRICS = (
    "deviation", "label", "bidder", "role", "utility_threshold", "utility_vcg", "baseline_utility_threshold",
    "baseline_utility_vcg", "gain_threshold", "gain_vcg", "payment_threshold", "payment_vcg", "units_traded",
    "baseline_units_traded", "efficiency", "baseline_efficiency", "efficiency_loss", "rounds", "baseline_rounds",
    "closed_by", "baseline_closed_by", "surplus_threshold", "surplus_vcg", "baseline_surplus_threshold",
    "baseline_surplus_vcg", "baseline_traded_units", "n_traders", "time_s",
)
TOURNAMENT_METRICS = (
    "focal_strategy", "background", "focal", "focal_role", "focal_utility", "background_utility",
    "total_utility", "efficiency", "rounds", "closed_by", "budget_surplus", "focal_units_traded", "time_s",
)


# ---------------------------------------------------------------------- parameter checks
def _exchange_strategy(spec: Any, where: str) -> Strategy:
    """A strategy from its spec, which must be an exchange proxy strategy."""
    s = strategy_from_spec(spec)
    if not isinstance(s, ExchangeStrategy):
        raise ConfigError(f"{where}: {s.label!r} is not an exchange strategy (straightforward, misreport, lazy, "
                          "stubborn, late_revealer or another ExchangeStrategy)")
    return s


def _strategy_table(p: Mapping[str, Any], key: str) -> dict[str, Strategy]:
    """``{name: spec}`` -> ``{name: ExchangeStrategy}`` (ConfigError naming the entry at fault)."""
    table = p[key]
    if not isinstance(table, Mapping) or not table:
        raise ConfigError(f"{key} must be a non-empty table name -> strategy spec, got {table!r}")
    out = {}
    for name, spec in table.items():
        if not isinstance(name, str) or not name or name in (CONTROL, BASELINE):
            raise ConfigError(f"{key}: {name!r} is not a usable name ({CONTROL!r} and {BASELINE!r} are reserved)")
        out[name] = _exchange_strategy(spec, f"{key}.{name}")
    return out


def check_manipulation(p: dict[str, Any]) -> None:
    check_instance_params(p)
    _exchange_strategy(p["reference"], "reference")
    _strategy_table(p, "deviations")
    positive_int(p, "deviators", maximum=200)
    choice(p, "deviator_pool", ("traders", "all"))
    if not isinstance(p["control"], bool):
        raise ConfigError(f"control must be true or false, got {p['control']!r}")


def check_tournament(p: dict[str, Any]) -> None:
    check_instance_params(p)
    _exchange_strategy(p["reference"], "reference")
    if len(_strategy_table(p, "strategies")) < 2:
        raise ConfigError("strategies needs at least two entries for a tournament")
    choice(p, "focal_pool", ("traders", "all"))


# ---------------------------------------------------------------------- shared machinery
class _Instance:
    """One generated exchange and the ICE runs played on it (deterministic profiles cached)."""

    def __init__(self, p: Mapping[str, Any], seed: np.random.SeedSequence) -> None:
        from auctionlab.market.exchange.generators import random_exchange

        pair = random_exchange(int(p["n_bidders"]), int(p["n_goods"]), rng=instance_rng(dict(p), seed),
                               nodes=int(p["nodes"]), max_units=int(p["max_units"]),
                               bound_width=float(p["bound_width"]))
        self.exchange, self.truth = pair.bounded, pair.truth
        self.names = self.exchange.names
        self.roles = dict((self.exchange.meta or {}).get("roles", {}))
        self.params = engine_params(p)
        self._cache: dict[tuple, dict[str, Any]] = {}

    def play(self, profile: Sequence[Strategy]) -> dict[str, Any]:
        """Run ICE with one strategy per bidder; Threshold and VCG outcomes of that run."""
        from auctionlab.market.exchange.ice import IterativeExchange
        from auctionlab.strategies.exchange import bind

        key = tuple((type(s).__module__, type(s).__qualname__, s.label) for s in profile)
        cacheable = not any(s.flag("stochastic") or s.flag("learning") for s in profile)
        if cacheable and key in self._cache:
            return self._cache[key]
        proxies = {b: bind(s.clone(), self.truth.bidders[k].tree.lower, index=k, bidder=b)
                   for k, (b, s) in enumerate(zip(self.names, profile))}
        t0 = time.perf_counter()
        ice = IterativeExchange(self.exchange, truth=self.truth, payment_rule="threshold", **self.params)
        res = ice.run(proxies)
        # VCG payments of the same final trade: the bidding does not depend on the payment rule
        pay_thr = {b: float(res.payments[b]) for b in self.names}
        pay_vcg = {b: float(res.payments_by_rule["vcg"][b]) for b in self.names}
        util_thr = {b: float(res.utilities[b]) for b in self.names}
        util_vcg = {b: util_thr[b] + pay_thr[b] - pay_vcg[b] for b in self.names}  # same trade, other payment
        trade = np.asarray(res.allocation.trade_matrix)
        out = {
            "result": res, "pay_thr": pay_thr, "pay_vcg": pay_vcg, "util_thr": util_thr, "util_vcg": util_vcg,
            "units": {b: int(np.abs(trade[i]).sum()) for i, b in enumerate(self.names)},
            "efficiency": float(res.efficiency) if res.efficiency is not None else math.nan,
            "rounds": int(res.rounds), "closed_by": res.closed_by,
            "surplus_thr": math.fsum(pay_thr.values()), "surplus_vcg": math.fsum(pay_vcg.values()),
            "time_s": time.perf_counter() - t0,
        }
        if cacheable:
            self._cache[key] = out
        return out

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
        return [{**extra, "bidder": b, "role": self.roles.get(b, ""), "utility_threshold": out["util_thr"][b],
                 "utility_vcg": out["util_vcg"][b], "payment_threshold": out["pay_thr"][b],
                 "payment_vcg": out["pay_vcg"][b], "units_traded": out["units"][b]} for b in self.names]


def _choice_rng(seed: np.random.SeedSequence) -> np.random.Generator:
    """A stream for choosing deviators / the focal bidder, independent of the instance's."""
    return np.random.default_rng(np.random.SeedSequence(seed.entropy, spawn_key=(*seed.spawn_key, 1)))


# ---------------------------------------------------------------------- ice-manipulation
def run_manipulation(p: dict[str, Any], seed: np.random.SeedSequence) -> RunOutput:
    """Baseline (everyone straightforward), then each deviator × deviation, others straightforward."""
    inst = _Instance(p, seed)
    reference = _exchange_strategy(p["reference"], "reference")
    deviations = list(_strategy_table(p, "deviations").items())
    if p["control"]:
        deviations.insert(0, (CONTROL, reference.clone()))
    n = len(inst.names)
    base = inst.play([reference] * n)
    deviators = inst.pick(base, p["deviator_pool"], int(p["deviators"]), _choice_rng(seed))
    rows: list[dict[str, Any]] = []
    agents = inst.agent_rows(base, deviation=BASELINE, label=reference.label, deviator="")
    n_traders = sum(u > 0 for u in base["units"].values())
    for i in deviators:
        b = inst.names[i]
        for name, dev in deviations:
            prof = [reference] * n
            prof[i] = dev
            # the control is the reference itself: run it again (not from the cache) to check determinism
            out = inst.play(prof) if name != CONTROL else _fresh(inst, prof)
            rows.append({
                "deviation": name, "label": dev.label, "bidder": b, "role": inst.roles.get(b, ""),
                "utility_threshold": out["util_thr"][b], "utility_vcg": out["util_vcg"][b],
                "baseline_utility_threshold": base["util_thr"][b], "baseline_utility_vcg": base["util_vcg"][b],
                "gain_threshold": out["util_thr"][b] - base["util_thr"][b],
                "gain_vcg": out["util_vcg"][b] - base["util_vcg"][b],
                "payment_threshold": out["pay_thr"][b], "payment_vcg": out["pay_vcg"][b],
                "units_traded": out["units"][b], "baseline_units_traded": base["units"][b],
                "efficiency": out["efficiency"], "baseline_efficiency": base["efficiency"],
                "efficiency_loss": base["efficiency"] - out["efficiency"],
                "rounds": out["rounds"], "baseline_rounds": base["rounds"],
                "closed_by": out["closed_by"], "baseline_closed_by": base["closed_by"],
                "surplus_threshold": out["surplus_thr"], "surplus_vcg": out["surplus_vcg"],
                "baseline_surplus_threshold": base["surplus_thr"], "baseline_surplus_vcg": base["surplus_vcg"],
                "baseline_traded_units": int(sum(base["units"].values())), "n_traders": int(n_traders),
                "time_s": out["time_s"],
            })
            if name != CONTROL:
                agents += inst.agent_rows(out, deviation=name, label=dev.label, deviator=b)
    return RunOutput(runs=rows, agents=pd.DataFrame(agents))


def _fresh(inst: _Instance, profile: list[Strategy]) -> dict[str, Any]:
    saved, inst._cache = inst._cache, {}
    try:
        return inst.play(profile)
    finally:
        inst._cache = saved


# ---------------------------------------------------------------------- ice-tournament
def run_tournament(p: dict[str, Any], seed: np.random.SeedSequence) -> RunOutput:
    """Every ordered pair (a, b): a focal bidder plays a, everyone else b, on one instance."""
    inst = _Instance(p, seed)
    strategies = _strategy_table(p, "strategies")
    reference = _exchange_strategy(p["reference"], "reference")
    n = len(inst.names)
    (focal,) = inst.pick(inst.play([reference] * n), p["focal_pool"], 1, _choice_rng(seed))
    fb = inst.names[focal]
    rows = []
    for a, sa in strategies.items():
        for b, sb in strategies.items():
            prof = [sb] * n
            prof[focal] = sa
            out = inst.play(prof)
            others = [out["util_thr"][x] for x in inst.names if x != fb]
            rows.append({
                "focal_strategy": a, "background": b, "focal": fb, "focal_role": inst.roles.get(fb, ""),
                "focal_utility": out["util_thr"][fb], "background_utility": float(np.mean(others)),
                "total_utility": math.fsum(out["util_thr"].values()), "efficiency": out["efficiency"],
                "rounds": out["rounds"], "closed_by": out["closed_by"], "budget_surplus": out["surplus_thr"],
                "focal_units_traded": out["units"][fb], "time_s": out["time_s"],
            })
    return RunOutput(runs=rows)


ICE_MANIPULATION_KIND = RunKind(
    name="ice-manipulation", fn=run_manipulation, defaults=MANIPULATION_DEFAULTS, checker=check_manipulation,
    metrics=MANIPULATION_METRICS, id_columns=("deviation", "bidder"), chunk=1,
    description="ICE: utility gain of deviating proxies over straightforward, Threshold vs VCG payments",
)
ICE_TOURNAMENT_KIND = RunKind(
    name="ice-tournament", fn=run_tournament, defaults=TOURNAMENT_DEFAULTS, checker=check_tournament,
    metrics=TOURNAMENT_METRICS, id_columns=("focal_strategy", "background"), chunk=1,
    description="ICE: focal proxy vs background population on random exchanges (empirical payoff matrix)",
)
