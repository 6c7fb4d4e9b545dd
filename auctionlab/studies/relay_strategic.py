"""Strategic studies on the relay market (issue 7): manipulation, tournaments, equilibria.

Three run kinds, each a pure function of ``(params, SeedSequence)``:

``relay-manipulation``
    One random instance per run (network, values U(0, Vmax] on useful pairs, costs
    U(cost_range]). On that same instance every requested mechanism is cleared with
    truthful reports (efficiency, profit, deficit) and a sample of ``agents`` buyers and
    ``agents`` sellers (the same agents for every mechanism: common random numbers)
    each search for a best response, every other report truthful. The gain of the best
    response over truth is the agent's *maximum manipulation gain*.

``relay-tournament``
    Per mechanism, one repetition of the round robin of a
    :class:`~auctionlab.tournament.Tournament` (:func:`relay_tournament`): for every pair
    (a, b) of ``strategies`` (a = b included), a Mesa
    :class:`~auctionlab.models.relay.RelayMarket` in which each role is split between a and
    b (the same seats in every match), for ``rounds`` rounds on a new network and new types
    each round (learners learn across them). The rows are the tournament's interactions
    (player, opponent, role, the player's agents' mean utility per round, their number);
    the same seed gives every mechanism the same instances, and ``Tournament(...).play()``
    on the run's seed gives the same numbers.

``relay-equilibrium``
    ``part = "game"``: a role game over buyer shading levels × seller inflation levels
    (everyone in a role plays the role's θ; a role's payoff is its members' mean
    utility), one payoff sample per instance and profile, plus *unilateral* deviation
    payoffs (one sampled agent switches θ while everyone else plays the profile), which
    is the Nash notion of the n-agent game. ``part = "learning"``: Hedge or EXP3
    learners in the Mesa model for ``rounds`` auctions; mean θ per role over time.

The deviation set of the best response (:func:`best_response`) is the grid of
:class:`~auctionlab.strategies.relay.BestResponse` — the truth, θ·truth for θ in
0, 0.05, …, 3, truth + δ for ten shifts, and every other agent's report c as well as
c ± 1e-7 and 0 — applied to *the one number the mechanism reads*:

- TASC, trade reduction, k-DA: a buyer's bid on its phase-1 relay (no other bid is
  read) and a seller's ask. Utilities are piecewise constant (TASC, trade reduction)
  or piecewise linear (k-DA) in that number with breakpoints only at other agents'
  reports, so this grid is an *exact* best response (up to gaps < 1e-7 between reports).
- VCG: sellers as above (ask grid + others' asks); buyers report vectors: θ·values,
  values + δ, "bid only on my top 1/2/3 relays", and the bid on its most valued relay
  scaled by 0, 0.5, …, 2. Not exhaustive, but VCG is truthful, so any gain found is a bug.
- McAfee applied to relays (``mcafee``, the registered reduction documented in
  :func:`~auctionlab.mechanisms.relay.mechanisms.mcafee_mechanism`: a buyer's single bid is
  its highest bid on a useful relay, winners are paired by rank whatever the network):
  the grid on that scalar. Here McAfee is neither IR nor truthful — a buyer can be
  paired with a relay it does not value.
- ``mcafee_homogeneous``: where McAfee *does* apply. The instance is made homogeneous —
  buyer i values every relay at v_i = its highest value on a useful relay, and every
  relay can serve every buyer — and McAfee runs on one bid per buyer (its highest bid on
  any relay). Efficiency there is measured in that homogeneous market (capacity is
  meaningless and left NaN).

Agents whose report a mechanism never reads (a source or relay without a phase-1
partner under TASC, trade reduction, k-DA) have gain 0 by construction and are not
searched. A deviation is *profitable* when its gain exceeds ``tol`` (1e-9).

Mechanisms are objects (:mod:`auctionlab.mechanisms.relay.mechanisms`) and every study reads
what it needs from them: whether a mechanism clears on the phase-1 assignment (one variant
per algorithm), whether it is built for a homogeneous market, which number it reads from
a buyer and at which levels that number matters. Any registered mechanism can be studied;
its parameters are spelled ``<mechanism>_<field>`` in a spec (``kda_k``).

Every auction is cleared by the Mesa :class:`~auctionlab.models.relay.RelayMarket`:
a study builds the model on its instance (a given network and types) and steps it, or asks
it for counterfactuals in batches (:meth:`~auctionlab.models.relay.RelayMarket.profile_utilities`
for whole report profiles; a round's ``utilities_if`` for one agent's K reports, one
vectorised mechanism call). Gains, frequencies and welfare yardsticks come from the one
measurement module, :mod:`auctionlab.strategies.measure`. This module holds no mechanism
logic: it draws instances, samples agents and shapes tables. Parameters are typed
(:class:`ManipulationParams`, :class:`TournamentParams`, :class:`EquilibriumParams`).
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from auctionlab._validate import (
    check_bool,
    check_choice,
    check_cost_range,
    check_float,
    check_float_list,
    check_int,
    check_names,
    check_positive_float,
)
from auctionlab.errors import ConfigError, InternalError
from auctionlab.experiments.kinds import RunKind, RunOutput
from auctionlab.experiments.params import Params
from auctionlab.mechanisms.relay.assignment import ASSIGNMENT_ALGORITHMS
from auctionlab.mechanisms.relay.mechanisms import (
    MECHANISMS,
    RelayMechanism,
    check_mechanism_parameters,
    resolve_mechanism,
)
from auctionlab.mechanisms.relay.network import MODES, RelayNetwork, random_network
from auctionlab.mechanisms.relay.tasc import assign
from auctionlab.mechanisms.relay.valuations import uniform_valuations
from auctionlab.strategies.base import Strategy
from auctionlab.strategies.learning import DEFAULT_THETAS, ThetaLearner
from auctionlab.strategies.measure import (
    best_response,
    best_response_gains,
    efficient_surplus,
    efficient_surplus_homogeneous,
    gain_summary,
    realised_welfare,
)
from auctionlab.strategies.registry import strategy_from_spec
from auctionlab.strategies.relay import DEFAULT_BR_SHIFTS, DEFAULT_BR_THETAS
from auctionlab.studies.relay_market import (
    check_name,
    mechanism_kwargs,
    with_mechanism_parameters,
)

__all__ = [
    "RELAY_EQUILIBRIUM_KIND",
    "RELAY_MANIPULATION_KIND",
    "RELAY_TOURNAMENT_KIND",
    "EquilibriumParams",
    "ManipulationParams",
    "TournamentParams",
    "best_response",
    "draw_instance",
    "homogeneous_values",
    "instance_market",
    "paper_scale_manipulation_spec",
    "study_mechanism",
    "study_sigma",
    "variant_name",
    "mechanism_settings",
    "variants",
]

MAX_NODES = 1000
TOL = 1e-9


def study_mechanism(name: str, p: Mapping[str, Any]) -> RelayMechanism:
    """The mechanism object a study runs for ``name``, its parameters read from ``p`` as
    ``<mechanism>_<field>`` keys (``kda_k``; also those of user classes registered later)."""
    return resolve_mechanism(name, **p)


def homogeneous_values(values: np.ndarray, useful: np.ndarray) -> np.ndarray:
    """Each buyer values every relay at its highest value on a useful relay (0 if none)."""
    v = np.where(useful, values, 0.0).max(axis=1)
    return np.repeat(v[:, None], values.shape[1], axis=1)


def draw_instance(gen: np.random.Generator, p: Mapping[str, Any]) -> tuple[RelayNetwork, np.ndarray, np.ndarray]:
    """A random network and the paper's private types, drawn from ``gen`` in a fixed order."""
    net = random_network(int(p["n"]), int(p["m"]), rng=gen, mode=p.get("mode", "DF"), area=float(p.get("area", 1000.0)))
    values, costs = uniform_valuations(net, rng=gen, vmax=float(p["vmax"]), cost_range=tuple(p["cost_range"]))
    return net, values, costs


def study_sigma(mech: RelayMechanism, net: RelayNetwork, algorithm: str) -> np.ndarray:
    """The phase-1 assignment a mechanism clears on (all −1 for one that makes its own)."""
    return assign(net, algorithm) if mech.uses_assignment else np.full(net.n, -1, dtype=np.intp)


def instance_market(
    net: RelayNetwork,
    values: np.ndarray,
    costs: np.ndarray,
    mech: RelayMechanism,
    algorithm: str,
    population: Mapping[str, Any] | None = None,
) -> Any:
    """The Mesa market on one given instance (types fixed, no agent table). It draws only its
    agents' strategy seeds, from its own Generator, so the study's stream is untouched."""
    from auctionlab.models.relay import RelayMarket

    return RelayMarket(
        network=net,
        values=values,
        costs=costs,
        mechanism=mech,
        algorithm=algorithm if algorithm != "-" else "mwm",
        population=population,
        collect_agents=False,
        rng=0,
    )


# ====================================================================== parameters
def _check_instance(p: Any) -> None:
    check_int(p.n, "n", minimum=1, maximum=MAX_NODES)
    check_int(p.m, "m", minimum=1, maximum=MAX_NODES)
    check_positive_float(p.vmax, "vmax")
    check_cost_range(p.cost_range)


def mechanism_settings(p: Any) -> list[dict[str, Any]]:
    """The mechanism-parameter settings relay-manipulation evaluates on every instance: the
    ``<mechanism>_<field>`` values of ``p``, where a value given as a list is swept
    (``tasc_tie = ["second", "first"]``: TASC as written under both tie rules, on the same
    instances and agents). One setting per combination of the swept values, in key order;
    the first setting takes every list's first value."""
    kw = mechanism_kwargs(p)
    swept = {k: list(v) for k, v in kw.items() if isinstance(v, (list, tuple))}
    for k, v in swept.items():
        if not v or len(set(map(repr, v))) != len(v):
            raise ConfigError(f"{k} must be a value or a non-empty list of distinct values, got {v!r}")
    fixed = {k: v for k, v in kw.items() if k not in swept}
    return [{**fixed, **dict(zip(swept, combo))} for combo in itertools.product(*swept.values())]


def _check_mechanisms(
    p: Any, names: Sequence[str], where: str | None = None, sweep: bool = False
) -> list[RelayMechanism]:
    """Build every named mechanism with its parameters from ``p`` (bad parameters raise
    here, each ``<mechanism>_<field>`` whatever mechanism runs; with ``sweep``, lists of
    values are accepted, see :func:`mechanism_settings`). With ``where``, a mechanism
    built for a homogeneous market is refused (that study draws network values)."""
    settings = mechanism_settings(p) if sweep else [mechanism_kwargs(p)]
    out = []
    for kw in settings:
        check_mechanism_parameters(kw)
        out += [study_mechanism(name, kw) for name in names]
    for mech in out:
        if where is not None and mech.homogeneous:
            raise ConfigError(f"{mech.name} needs homogeneous values; {where} draws network values")
    return out


def _check_algorithm(value: Any) -> None:
    ASSIGNMENT_ALGORITHMS.resolve(check_name(value, "algorithm"))


def _grid(value: Any, name: str, default: Sequence[float], minimum: float | None) -> tuple[float, ...]:
    """A deviation grid from a spec (None = the best response's default)."""
    return tuple(default) if value is None else tuple(check_float_list(value, name, minimum=minimum))


# ====================================================================== relay-manipulation
@dataclass(frozen=True)
class _ManipulationParams(Params):
    """Parameters of ``relay-manipulation``: the instance (``n``, ``m``, ``vmax``, ``cost_range``,
    ``mode``, ``area``); which variants (``algorithms`` × mechanisms that clear on phase 1, plus
    the others once); ``agents`` buyers and as many sellers sampled per instance (0 = all);
    ``tol`` for "profitable"; the best response's θ grid and shifts (None = its defaults)."""

    n: int = 20
    m: int = 20
    vmax: float = 4.0
    cost_range: Any = field(default_factory=lambda: [0.0, 1.0])
    mode: str = "DF"
    area: float = 1000.0
    algorithms: Any = field(default_factory=lambda: ["mwm", "mm", "ora"])
    mechanisms: Any = field(default_factory=lambda: list(MECHANISMS))
    agents: int = 8
    tol: float = TOL
    thetas: Any = None
    shifts: Any = None

    def check(self) -> None:
        _check_instance(self)
        check_choice(self.mode, "mode", MODES)
        check_positive_float(self.area, "area")
        check_names(self.algorithms, "algorithms", ASSIGNMENT_ALGORITHMS, "assignment algorithm")
        _check_mechanisms(self, check_names(self.mechanisms, "mechanisms", MECHANISMS, "study mechanism"), sweep=True)
        check_int(self.agents, "agents", minimum=0)
        check_float(self.tol, "tol", minimum=0.0, maximum=1.0, open_max=True)
        _grid(self.thetas, "thetas", DEFAULT_BR_THETAS, 0.0)
        _grid(self.shifts, "shifts", DEFAULT_BR_SHIFTS, None)


ManipulationParams = with_mechanism_parameters(_ManipulationParams, "ManipulationParams")
MANIP_DEFAULTS: dict[str, Any] = ManipulationParams.defaults()
MANIP_METRICS = (
    "candidates",
    "trades",
    "total_capacity",
    "capacity_gain_share",
    "welfare",
    "welfare_share",
    "profit",
    "deficit",
    "budget_balanced",
    "ir_violations",
    "buyers_sampled",
    "buyers_profitable",
    "buyer_share_profitable",
    "buyer_mean_gain",
    "buyer_max_gain",
    "sellers_sampled",
    "sellers_profitable",
    "seller_share_profitable",
    "seller_mean_gain",
    "seller_max_gain",
    "any_profitable",
    "time_ms",
)


def _sample(gen: np.random.Generator, size: int, k: int) -> np.ndarray:
    """``k`` distinct indices out of ``size`` (all of them, in order, when k == 0 or k ≥ size)."""
    if k == 0 or k >= size:
        return np.arange(size)
    return np.sort(gen.choice(size, size=k, replace=False))


def variants(p: Mapping[str, Any]) -> list[tuple[RelayMechanism, str]]:
    """(mechanism, algorithm) pairs evaluated on each instance: one per assignment algorithm
    for a mechanism that clears on phase 1, algorithm "-" for one that does not; a mechanism
    once per distinct object its swept parameters give (:func:`mechanism_settings`)."""
    out: list[tuple[RelayMechanism, str]] = []
    settings = mechanism_settings(p)
    for name in p["mechanisms"]:
        for mech in dict.fromkeys(study_mechanism(name, {**p, **kw}) for kw in settings):
            out += [(mech, alg) for alg in p["algorithms"]] if mech.uses_assignment else [(mech, "-")]
    return out


def variant_name(mech: RelayMechanism, algorithm: str, first: RelayMechanism | None = None) -> str:
    """``"tasc/mwm"``; a mechanism whose parameters differ from ``first`` (the same mechanism
    in the first setting of a sweep) adds them: ``"tasc/mwm [tie=first]"``."""
    base = mech.name if algorithm == "-" else f"{mech.name}/{algorithm}"
    if first is None or first == mech:
        return base
    ref = first.params
    diff = ", ".join(f"{k}={v}" for k, v in mech.params.items() if ref.get(k) != v)
    return f"{base} [{diff}]" if diff else base


def run_manipulation(p: dict[str, Any], seed: np.random.SeedSequence) -> RunOutput:
    """One instance; per mechanism variant: truthful efficiency / profit / deficit and the
    maximum manipulation gain of the sampled buyers and sellers (others truthful)."""
    gen = np.random.default_rng(seed)
    net, values, costs = draw_instance(gen, p)
    n, m = net.n, net.m
    buyers = _sample(gen, n, int(p["agents"]))
    sellers = _sample(gen, m, int(p["agents"]))
    thetas = _grid(p["thetas"], "thetas", DEFAULT_BR_THETAS, 0.0)
    shifts = _grid(p["shifts"], "shifts", DEFAULT_BR_SHIFTS, None)
    tol = float(p["tol"])
    direct_total = float(net.direct.sum())
    sigmas = {alg: assign(net, alg) for alg in p["algorithms"]}
    sig_mwm = sigmas.get("mwm")
    if sig_mwm is None:
        sig_mwm = assign(net, "mwm")
    pure_gain = float(net.capacities(sig_mwm).sum()) - direct_total
    w_opt = efficient_surplus(values, costs, net.useful)
    todo = variants(p)
    first: dict[str, RelayMechanism] = {}
    for mech, _ in todo:
        first.setdefault(mech.name, mech)
    vh = homogeneous_values(values, net.useful) if any(mech.homogeneous for mech, _ in todo) else None
    w_opt_h = efficient_surplus_homogeneous(vh[:, 0], costs) if vh is not None else math.nan
    players = [("buyer", int(i)) for i in buyers] + [("seller", int(j)) for j in sellers]
    rows: list[dict[str, Any]] = []
    agent_rows: list[dict[str, Any]] = []
    for mech, alg in todo:
        t0 = time.perf_counter()
        sigma = sigmas[alg] if alg != "-" else np.full(n, -1, dtype=np.intp)
        homog = mech.homogeneous
        vals = vh if homog else values
        if vals is None:
            raise InternalError(f"no homogeneous values for the homogeneous mechanism {mech.name!r}")
        market = instance_market(net, vals, costs, mech, alg)  # every agent truthful
        market.step()
        rnd = market.counterfactual_round()
        out = rnd.outcome
        ub, us = market.utilities("buyer"), market.utilities("seller")
        welfare = realised_welfare(out, vals, costs)
        total_cap = math.nan if homog else float(net.capacities(out.traded).sum())
        variant = variant_name(mech, alg, first[mech.name])
        found = best_response_gains(
            rnd, players, truthful_utility={"buyer": ub, "seller": us}, thetas=thetas, shifts=shifts
        )
        gains: dict[str, list[float]] = {"buyer": [], "seller": []}
        for br in found:
            role, idx = br["role"], br["index"]
            if role == "buyer":
                j = int(out.sigma[idx]) if out.buyer_wins[idx] else int(sigma[idx])
                truthful_report = float(vals[idx, j]) if j >= 0 else float(vals[idx].max())
                trades = bool(out.buyer_wins[idx])
                u_true = float(ub[idx])
            else:
                truthful_report = float(costs[idx])
                trades = bool(out.seller_wins[idx])
                u_true = float(us[idx])
            gains[role].append(br["gain"])
            agent_rows.append(
                {
                    "variant": variant,
                    "mechanism": mech.name,
                    "algorithm": alg,
                    "role": role,
                    "index": idx,
                    "relevant": br["relevant"],
                    "trades_truthfully": trades,
                    "truthful_report": truthful_report,
                    "truthful_utility": br["truthful_utility"],
                    "realised_utility": u_true,
                    "best_utility": br["best_utility"],
                    "max_gain": br["gain"],
                    "profitable": bool(br["gain"] > tol),
                    "best_report": br["scalar"],
                    "best_kind": br["kind"],
                    "best_param": br["param"],
                }
            )
        gb, gs = np.array(gains["buyer"]), np.array(gains["seller"])
        w_ref = w_opt_h if homog else w_opt
        row = {
            "n": n,
            "m": m,
            "vmax": float(p["vmax"]),
            "variant": variant,
            "mechanism": mech.name,
            "algorithm": alg,
            "candidates": int((sigma >= 0).sum()) if mech.uses_assignment else -1,
            "trades": int(out.n_trades),
            "total_capacity": total_cap,
            "capacity_gain_share": (total_cap - direct_total) / pure_gain if pure_gain > 0 and not homog else math.nan,
            "welfare": welfare,
            "welfare_share": welfare / w_ref if w_ref > 0 else math.nan,
            "profit": float(out.profit),
            "deficit": float(max(0.0, -out.profit)),
            "budget_balanced": bool(out.profit >= -1e-9),
            "ir_violations": int((ub < -1e-9).sum() + (us < -1e-9).sum()),
        }
        row.update(gain_summary(gb, "buyer", tol))
        row.update(gain_summary(gs, "seller", tol))
        row["any_profitable"] = bool((gb > tol).any() or (gs > tol).any())
        row["time_ms"] = (time.perf_counter() - t0) * 1e3
        rows.append(row)
    return RunOutput(runs=rows, agents=pd.DataFrame(agent_rows))


# ====================================================================== relay-tournament
# The tournament's best responders search a coarser θ grid than BestResponse's default (the
# candidate levels, which make the search exact for TASC / trade reduction / k-DA, are kept):
# they are asked every round through the Mesa model's oracle, one mechanism call per report.
LEAGUE_BR_THETAS = (0.0, 0.5, 0.75, 0.9, 1.1, 1.25, 1.5, 2.0)
DEFAULT_TOURNAMENT_STRATEGIES: dict[str, dict[str, Any]] = {
    "truthful": {"buyer": "truthful", "seller": "truthful"},
    "scale10": {
        "buyer": {"strategy": "scale", "params": {"theta": 0.9}},
        "seller": {"strategy": "scale", "params": {"theta": 1.1}},
    },
    "scale25": {
        "buyer": {"strategy": "scale", "params": {"theta": 0.75}},
        "seller": {"strategy": "scale", "params": {"theta": 1.25}},
    },
    "shift": {
        "buyer": {"strategy": "shift", "params": {"delta": -0.2}},
        "seller": {"strategy": "shift", "params": {"delta": 0.1}},
    },
    "noise": {
        "buyer": {"strategy": "noise", "params": {"sigma": 0.2}},
        "seller": {"strategy": "noise", "params": {"sigma": 0.2}},
    },
    "best_response": {
        "buyer": {"strategy": "best_response", "params": {"thetas": list(LEAGUE_BR_THETAS)}},
        "seller": {"strategy": "best_response", "params": {"thetas": list(LEAGUE_BR_THETAS)}},
    },
    "hedge": {"buyer": "hedge", "seller": "hedge"},
    "exp3": {"buyer": "exp3", "seller": "exp3"},
}


def _tournament_strategies(p: Any) -> dict[str, dict[str, Strategy]]:
    """Label -> role -> Strategy prototype (built, hence validated)."""
    spec = p["strategies"] if isinstance(p, Mapping) else p.strategies
    if not isinstance(spec, Mapping) or not spec:
        raise ConfigError(f"strategies must be a table label -> {{buyer = spec, seller = spec}}, got {spec!r}")
    out: dict[str, dict[str, Strategy]] = {}
    for label, roles in spec.items():
        if isinstance(roles, (str, Strategy)) or (isinstance(roles, Mapping) and "strategy" in roles):
            roles = {"buyer": roles, "seller": roles}
        if not isinstance(roles, Mapping) or set(roles) != {"buyer", "seller"}:
            raise ConfigError(f"strategies.{label} must give a 'buyer' and a 'seller' spec, got {roles!r}")
        out[str(label)] = {}
        for role in ("buyer", "seller"):
            try:
                s = strategy_from_spec(roles[role])
            except ConfigError as exc:
                raise ConfigError(f"strategies.{label}.{role}: {exc}") from None
            r = s.flag("role")
            if r not in ("any", role):
                raise ConfigError(f"strategies.{label}.{role}: {s.label!r} is for {r}s only")
            out[str(label)][role] = s
    return out


@dataclass(frozen=True)
class _TournamentParams(Params):
    """Parameters of ``relay-tournament``: instance size and types; the phase-1 ``algorithm``;
    ``mechanisms``; ``strategies`` (label -> {buyer = spec, seller = spec}); per match,
    ``rounds`` Mesa rounds (a new network and new types each round); ``mirror`` plays every
    match a second time with the halves swapped."""

    n: int = 16
    m: int = 16
    vmax: float = 4.0
    cost_range: Any = field(default_factory=lambda: [0.0, 1.0])
    algorithm: str = "mwm"
    mechanisms: Any = field(default_factory=lambda: ["kda", "tasc", "trade_reduction"])
    strategies: Any = field(default_factory=lambda: DEFAULT_TOURNAMENT_STRATEGIES)
    rounds: int = 1
    mirror: bool = False

    def check(self) -> None:
        _check_instance(self)
        _check_algorithm(self.algorithm)
        _check_mechanisms(
            self, check_names(self.mechanisms, "mechanisms", MECHANISMS, "study mechanism"), "the tournament"
        )
        _tournament_strategies(self)
        check_int(self.rounds, "rounds", minimum=1, maximum=100_000)
        check_bool(self.mirror, "mirror")


TournamentParams = with_mechanism_parameters(_TournamentParams, "TournamentParams")
TOURNAMENT_DEFAULTS: dict[str, Any] = TournamentParams.defaults()
TOURNAMENT_METRICS = ("seating", "player", "opponent", "role", "payoff", "seats")


def _as_learner(s: Strategy) -> ThetaLearner:
    """``s`` (a learning strategy) as the θ-learner whose mixture the study reads."""
    if not isinstance(s, ThetaLearner):
        raise ConfigError(f"strategy {s.name!r} learns but is not a θ-learner, whose mixture this study reads")
    return s


def relay_tournament(p: Mapping[str, Any], mechanism: str, *, repetitions: int = 1, rng: Any = 0):
    """The :class:`~auctionlab.tournament.Tournament` a ``relay-tournament`` run plays for one
    mechanism: its round robin (each role split between the two strategies of a match) with
    ``rounds`` Mesa rounds per match on redrawn networks and types."""
    from auctionlab.tournament import Tournament

    return Tournament(
        _tournament_strategies(p),
        study_mechanism(mechanism, p),
        market="relay",
        turns=int(p["rounds"]),
        mirror=bool(p["mirror"]),
        repetitions=repetitions,
        rng=rng,
        n=int(p["n"]),
        m=int(p["m"]),
        vmax=float(p["vmax"]),
        cost_range=tuple(p["cost_range"]),
        algorithm=p["algorithm"],
        channel="redraw",
        types="redraw",
    )


def run_tournament(p: dict[str, Any], seed: np.random.SeedSequence) -> RunOutput:
    """Per mechanism, one repetition of :func:`relay_tournament` on the run's seed (the same
    instances under every mechanism): the tournament's interaction rows."""
    rows: list[dict[str, Any]] = []
    for mech_name in p["mechanisms"]:
        for row in relay_tournament(p, mech_name).play_repetition(seed):
            del row["repetition"]  # the run's replication is the repetition
            rows.append({"mechanism": mech_name, **row, "n": int(p["n"]), "m": int(p["m"])})
    return RunOutput(runs=rows)


# ====================================================================== relay-equilibrium
@dataclass(frozen=True)
class _EquilibriumParams(Params):
    """Parameters of ``relay-equilibrium``: ``part`` ("game" or "learning"); instance size and
    types; ``algorithm``; ``mechanism``; game: ``buyer_thetas`` × ``seller_thetas`` (both
    containing 1), ``instances`` per run, ``deviators`` sampled per role for unilateral
    deviations (0 = none); learning: ``learner`` (hedge, exp3, fictitious_play) over
    ``learner_thetas`` with ``eta`` / ``gamma``, ``rounds`` Mesa steps, ``channel``
    ("static": one network, new types every round; "redraw")."""

    part: str = "game"
    n: int = 12
    m: int = 12
    vmax: float = 4.0
    cost_range: Any = field(default_factory=lambda: [0.0, 1.0])
    algorithm: str = "mwm"
    mechanism: str = "kda"
    buyer_thetas: Any = field(default_factory=lambda: [0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0])
    seller_thetas: Any = field(default_factory=lambda: [1.0, 1.25, 1.5, 1.75, 2.0, 2.5, 3.0])
    instances: int = 10
    deviators: int = 3
    learner: str = "hedge"
    rounds: int = 200
    learner_thetas: Any = field(default_factory=lambda: list(DEFAULT_THETAS))
    eta: float = 0.5
    gamma: float = 0.1
    channel: str = "static"

    def check(self) -> None:
        _check_instance(self)
        check_choice(self.part, "part", ("game", "learning"))
        _check_algorithm(self.algorithm)
        check_names([check_name(self.mechanism, "mechanism")], "mechanism", MECHANISMS, "study mechanism")
        _check_mechanisms(self, [self.mechanism], "the equilibrium study")
        for key in ("buyer_thetas", "seller_thetas", "learner_thetas"):
            check_float_list(getattr(self, key), key, minimum=0.0, distinct=True)
        if 1.0 not in self.buyer_thetas or 1.0 not in self.seller_thetas:
            raise ConfigError("buyer_thetas and seller_thetas must contain 1.0 (truthful)")
        check_int(self.instances, "instances", minimum=1, maximum=100_000)
        check_int(self.deviators, "deviators", minimum=0)
        check_choice(self.learner, "learner", ("hedge", "exp3", "fictitious_play"))
        check_int(self.rounds, "rounds", minimum=1, maximum=10_000_000)
        check_positive_float(self.eta, "eta")
        check_float(self.gamma, "gamma", minimum=0.0, maximum=1.0, open_min=True)
        check_choice(self.channel, "channel", ("static", "redraw"))


EquilibriumParams = with_mechanism_parameters(_EquilibriumParams, "EquilibriumParams")
EQUILIBRIUM_DEFAULTS: dict[str, Any] = EquilibriumParams.defaults()
EQUILIBRIUM_METRICS = (
    "instance",
    "theta_buyer",
    "theta_seller",
    "buyer_payoff",
    "seller_payoff",
    "trades",
    "welfare",
    "profit",
    "final_theta_buyer",
    "final_theta_seller",
    "final_played_theta_buyer",
    "final_played_theta_seller",
    "mean_utility_buyer",
    "mean_utility_seller",
    "mean_trades",
    "mean_welfare",
)


def _role_game(p: Mapping[str, Any], gen: np.random.Generator) -> RunOutput:
    """Role payoffs at every (θ_buyer, θ_seller) on ``instances`` instances, plus unilateral
    deviation payoffs of ``deviators`` sampled agents per role — all cleared by the Mesa
    market on the instance: the profiles in one batch, each agent's deviations in one call."""
    name = p["mechanism"]
    mech = study_mechanism(name, p)
    tb, ts = [float(x) for x in p["buyer_thetas"]], [float(x) for x in p["seller_thetas"]]
    profiles = [(thb, ths) for thb in tb for ths in ts]
    rows, dev_rows = [], []
    for inst in range(int(p["instances"])):
        net, values, costs = draw_instance(gen, p)
        n, m = net.n, net.m
        market = instance_market(net, values, costs, mech, p["algorithm"])
        d = int(p["deviators"])
        devs = (
            {"buyer": _sample(gen, n, d), "seller": _sample(gen, m, d)}
            if d
            else {"buyer": np.empty(0, dtype=int), "seller": np.empty(0, dtype=int)}
        )
        reports = [(values * thb, costs * ths) for thb, ths in profiles]
        cleared = market.profile_utilities(reports)
        for (thb, ths), (bids, asks), (out, ub, us) in zip(profiles, reports, cleared):
            rows.append(
                {
                    "mechanism": name,
                    "instance": inst,
                    "theta_buyer": thb,
                    "theta_seller": ths,
                    "buyer_payoff": float(ub.mean()),
                    "seller_payoff": float(us.mean()),
                    "trades": int(out.n_trades),
                    "profit": float(out.profit),
                    "welfare": realised_welfare(out, values, costs),
                }
            )
            if not (devs["buyer"].size or devs["seller"].size):
                continue
            rnd = market.counterfactual_round(bids, asks)
            for role, grid, base in (("buyer", tb, ub), ("seller", ts, us)):
                for idx in devs[role]:
                    idx = int(idx)
                    u = rnd.utilities_if(
                        role, idx, np.outer(grid, values[idx]) if role == "buyer" else np.asarray(grid) * costs[idx]
                    )
                    for th, ua in zip(grid, u):
                        dev_rows.append(
                            {
                                "mechanism": name,
                                "instance": inst,
                                "theta_buyer": thb,
                                "theta_seller": ths,
                                "role": role,
                                "agent": idx,
                                "deviation": th,
                                "utility": float(ua),
                                "profile_utility": float(base[idx]),
                            }
                        )
    agents = pd.DataFrame(dev_rows) if dev_rows else None
    if agents is not None:  # one row per (instance, profile, role, deviation): mean over the sampled agents
        agents = (
            agents.groupby(["mechanism", "instance", "theta_buyer", "theta_seller", "role", "deviation"], sort=True)
            .agg(utility=("utility", "mean"), profile_utility=("profile_utility", "mean"), agents=("agent", "size"))
            .reset_index()
        )
        agents["gain"] = agents["utility"] - agents["profile_utility"]
    return RunOutput(runs=rows, agents=agents)


def _learning(p: Mapping[str, Any], gen: np.random.Generator) -> RunOutput:
    """Hedge / EXP3 / fictitious-play learners in every seat of the Mesa model for ``rounds`` auctions."""
    from auctionlab.models.relay import RelayMarket

    thetas = list(p["learner_thetas"])
    params: dict[str, Any] = {"thetas": thetas}
    if p["learner"] == "hedge":
        params["eta"] = float(p["eta"])
    elif p["learner"] == "exp3":
        _, hi = check_cost_range(p["cost_range"])
        params["gamma"] = float(p["gamma"])
        params["reward_range"] = [-max(float(p["vmax"]), hi), max(float(p["vmax"]), hi)]
    spec = {"strategy": p["learner"], "params": params}
    model = RelayMarket(
        n=int(p["n"]),
        m=int(p["m"]),
        algorithm=p["algorithm"],
        mechanism=study_mechanism(p["mechanism"], p),
        vmax=float(p["vmax"]),
        cost_range=tuple(p["cost_range"]),
        channel=p["channel"],
        types="redraw",
        population={"buyer": spec, "seller": spec},
        collect_agents=False,
        rng=gen,
    )
    recs = []
    for step in range(1, int(p["rounds"]) + 1):
        model.step()
        rec: dict[str, Any] = {"mechanism": p["mechanism"], "learner": p["learner"], "step": step}
        for role, agents in (("buyer", model.buyers), ("seller", model.sellers)):
            learners = [_as_learner(a.strategy) for a in agents]
            rec[f"theta_{role}"] = float(np.mean([s.mean_theta for s in learners]))
            rec[f"played_theta_{role}"] = float(np.mean([s.theta for s in learners]))
            rec[f"utility_{role}"] = float(model.utilities(role).mean())
        rec.update(trades=float(model.trades), welfare=float(model.welfare), profit=float(model.profit))
        recs.append(rec)
    rounds = pd.DataFrame(recs)
    tail = rounds.tail(max(1, len(rounds) // 10))
    row = {
        "mechanism": p["mechanism"],
        "learner": p["learner"],
        "final_theta_buyer": float(tail["theta_buyer"].mean()),
        "final_theta_seller": float(tail["theta_seller"].mean()),
        "final_played_theta_buyer": float(tail["played_theta_buyer"].mean()),
        "final_played_theta_seller": float(tail["played_theta_seller"].mean()),
        "mean_utility_buyer": float(rounds["utility_buyer"].mean()),
        "mean_utility_seller": float(rounds["utility_seller"].mean()),
        "mean_trades": float(rounds["trades"].mean()),
        "mean_welfare": float(rounds["welfare"].mean()),
    }
    return RunOutput(runs=[row], rounds=rounds)


def run_equilibrium(p: dict[str, Any], seed: np.random.SeedSequence) -> RunOutput:
    """``part = "game"``: the shading × inflation role game (and unilateral deviations) on
    random instances; ``part = "learning"``: learners in the Mesa model."""
    gen = np.random.default_rng(seed)
    out = _role_game(p, gen) if p["part"] == "game" else _learning(p, gen)
    for r in out.runs:
        r["part"] = p["part"]
    return out


# ====================================================================== registration
RELAY_MANIPULATION_KIND = RunKind(
    name="relay-manipulation",
    fn=run_manipulation,
    params=ManipulationParams,
    metrics=MANIP_METRICS,
    id_columns=("n", "m", "vmax", "variant", "mechanism", "algorithm"),
    chunk=10,
    description="maximum manipulation gain (best response, others truthful) of sampled buyers and sellers under "
    "TASC, trade reduction, k-DA, VCG and McAfee on the same instances, with efficiency and profit",
)
RELAY_TOURNAMENT_KIND = RunKind(
    name="relay-tournament",
    fn=run_tournament,
    params=TournamentParams,
    metrics=TOURNAMENT_METRICS,
    id_columns=("n", "m", "mechanism"),
    chunk=1,
    description="relay strategies (truthful, scaling, shift, noise, best response, learners) invading one another "
    "in the Mesa relay market: a tournament's payoff matrix per mechanism",
)
RELAY_EQUILIBRIUM_KIND = RunKind(
    name="relay-equilibrium",
    fn=run_equilibrium,
    params=EquilibriumParams,
    metrics=EQUILIBRIUM_METRICS,
    id_columns=("mechanism", "part", "learner"),
    chunk=1,
    description="buyer shading x seller inflation role game (with unilateral deviations), or Hedge/EXP3 learners "
    "in the Mesa relay market",
)


def paper_scale_manipulation_spec() -> dict[str, Any]:
    """The manipulation study at the paper's scale (n = 100, m = 50..150): a spec mapping for
    ``auctionlab run`` (save as TOML/JSON) or :func:`~auctionlab.experiments.runner.run_experiment`.
    About half an hour on one core (VCG dominates); the catalog's ``relay-manipulation`` is the affordable default."""
    return {
        "name": "relay-manipulation-paper",
        "model": "relay-manipulation",
        "replications": 200,
        "master_seed": 20110707,
        "chunk": 5,
        "analysis": "relay-manipulation",
        "description": "relay-manipulation at the paper's scale: n = 100, m = 50..150, Vmax 1..8",
        "params": {"agents": 10},
        "grids": [{"n": [100], "m": [50, 100, 150], "vmax": [4.0]}, {"n": [100], "m": [100], "vmax": [1.0, 2.0, 8.0]}],
    }
