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
    Per mechanism: (1) a *league*: the Mesa :class:`~auctionlab.market.relay.model.RelayMarket`
    with every agent given a strategy drawn uniformly from the strategy set, stepped for
    ``league_rounds`` random markets (a new network and new types every step), so that
    learners learn; mean utility per strategy and role is the leaderboard. (2) a *payoff
    matrix* for replicator dynamics: on fresh instances, everyone plays background
    strategy b and sampled focal agents switch to each strategy a (common random
    numbers), giving A[a, b] per role. Learners enter the matrix frozen: they play θ drawn
    from the mixed strategy their type of learner held, pooled over agents, at the end
    of the league.

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
  :func:`~auctionlab.market.relay.mechanisms.mcafee_mechanism`: a buyer's single bid is
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

Mechanisms are objects (:mod:`auctionlab.market.relay.mechanisms`) and every study reads
what it needs from them: whether a mechanism clears on the phase-1 assignment (one variant
per algorithm), whether it is built for a homogeneous market, which number it reads from
a buyer (:class:`~auctionlab.market.relay.mechanisms.ScalarMechanism`) and at which levels
that number matters. Any registered mechanism can be studied. Counterfactuals go through
:meth:`~auctionlab.market.relay.mechanisms.RelayRound.utilities_if`: one call of the
mechanism's vectorised ``responses`` per batch of one agent's reports.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from auctionlab.errors import ConfigError
from auctionlab.experiments.kinds import (
    RunKind,
    RunOutput,
    choice,
    cost_range,
    names_in,
    positive_float,
    positive_int,
)
from auctionlab.market.relay.assignment import ASSIGNMENT_ALGORITHMS
from auctionlab.market.relay.baselines import _matching_value
from auctionlab.market.relay.mechanisms import (
    KDA,
    MECHANISMS,
    RelayMechanism,
    RelayRound,
    ScalarMechanism,
    resolve_mechanism,
)
from auctionlab.market.relay.network import MODES, RelayNetwork, random_network
from auctionlab.market.relay.tasc import assign
from auctionlab.market.relay.valuations import uniform_valuations
from auctionlab.strategies.base import Observation, Strategy
from auctionlab.strategies.learning import DEFAULT_THETAS
from auctionlab.strategies.registry import strategy_from_spec
from auctionlab.strategies.relay import (
    DEFAULT_BR_SHIFTS,
    DEFAULT_BR_THETAS,
    KIND_NAMES,
    scalar_grid,
    vector_grid,
)

MAX_NODES = 1000
TOL = 1e-9


def study_mechanism(name: str, p: Mapping[str, Any]) -> RelayMechanism:
    """The mechanism object a study runs for ``name``, its parameters (``kda_k``, ...) read from ``p``."""
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


# ====================================================================== best responses
def best_response(rnd: RelayRound, role: str, index: int, truth: Any, *,
                  thetas: Sequence[float] = DEFAULT_BR_THETAS, shifts: Sequence[float] = DEFAULT_BR_SHIFTS,
                  tol: float = 1e-12) -> dict[str, Any]:
    """The best report of one agent over the deviation set (module docstring), others fixed.

    On the one number a :class:`ScalarMechanism` reads (a seller's ask; a buyer's bid on
    its assigned relay, or its single McAfee bid) the grid is
    :func:`~auctionlab.strategies.relay.scalar_grid` with the mechanism's ``levels``;
    buyers of a mechanism that reads whole vectors search
    :func:`~auctionlab.strategies.relay.vector_grid`. One ``utilities_if`` call per search.

    Returns ``truthful_utility``, ``best_utility``, ``gain`` (≥ 0: the truth comes first and
    wins ties up to ``tol``), ``report`` (the best report: a vector for buyers, a float for
    sellers), ``scalar`` (the number the mechanism reads, NaN for whole-vector buyers),
    ``kind`` and ``param`` (which deviation family and its parameter).
    """
    mech, net = rnd.mechanism, rnd.network
    scalar_buyer = isinstance(mech, ScalarMechanism)
    if role == "buyer":
        v = np.asarray(truth, dtype=np.float64)
        if scalar_buyer:
            t = float(mech.buyer_scalar(net, rnd.sigma, index, v[None, :])[0])
            levels = mech.levels(net, rnd.bids, rnd.asks, rnd.sigma, role)
            reps, kinds, param = scalar_grid(t, thetas, shifts, levels, positive_only=True)
            utils = rnd.utilities_if(role, index, reps, scalar=True)
        else:
            reps, kinds, param = vector_grid(v, thetas, shifts)
            utils = rnd.utilities_if(role, index, reps)
    else:
        levels = mech.levels(net, rnd.bids, rnd.asks, rnd.sigma, role)
        reps, kinds, param = scalar_grid(float(truth), thetas, shifts, levels)
        utils = rnd.utilities_if(role, index, reps)
    best = int(np.argmax(utils))
    if utils[best] <= utils[0] + tol:
        best = 0
    rep = reps[best]
    if role == "buyer" and scalar_buyer:
        scalar = float(rep)
        rep = mech.buyer_report(net, rnd.sigma, index, truth, scalar)
    else:
        scalar = float(rep) if role == "seller" else math.nan
    return {
        "truthful_utility": float(utils[0]), "best_utility": float(utils[best]),
        "gain": float(utils[best] - utils[0]), "report": rep, "scalar": scalar,
        "kind": KIND_NAMES[int(kinds[best])], "param": float(param[best]),
    }


# ====================================================================== checks
def _check_instance(p: Mapping[str, Any]) -> None:
    positive_int(p, "n", maximum=MAX_NODES)
    positive_int(p, "m", maximum=MAX_NODES)
    positive_float(p, "vmax")
    cost_range(p)
    if "mode" in p:
        choice(p, "mode", MODES)
    if "area" in p:
        positive_float(p, "area")


def _check_mechanisms(p: Mapping[str, Any], names: Sequence[str], where: str | None = None) -> list[RelayMechanism]:
    """Build every named mechanism with its parameters from ``p`` (bad parameters raise
    here); ``kda_k`` is checked even when k-DA is not run. With ``where``, a mechanism built
    for a homogeneous market is refused (that study draws network values)."""
    KDA(p["kda_k"])
    out = [study_mechanism(name, p) for name in names]
    for mech in out:
        if where is not None and mech.homogeneous:
            raise ConfigError(f"{mech.name} needs homogeneous values; {where} draws network values")
    return out


def _grid_or_default(p: Mapping[str, Any], key: str, default: Sequence[float], lo: float | None) -> tuple[float, ...]:
    v = p.get(key)
    if v is None:
        return tuple(default)
    if isinstance(v, (str, bytes)) or not isinstance(v, Sequence) or not v:
        raise ConfigError(f"{key} must be a non-empty list of numbers (or omitted for the default), got {v!r}")
    out = []
    for x in v:
        if isinstance(x, bool) or not isinstance(x, (int, float)) or not math.isfinite(x) or (lo is not None and x < lo):
            raise ConfigError(f"{key} must hold finite numbers{f' >= {lo}' if lo is not None else ''}, got {v!r}")
        out.append(float(x))
    return tuple(out)


def _nonneg_int(p: Mapping[str, Any], key: str) -> int:
    v = p[key]
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 0:
        raise ConfigError(f"{key} must be a non-negative integer, got {v!r}")
    return int(v)


# ====================================================================== relay-manipulation
# Parameters: instance (n, m, vmax, cost_range, mode, area); which variants (algorithms ×
# phase-1 mechanisms, plus VCG / McAfee); kda_k; ``agents`` buyers and as many sellers sampled per
# instance (0 = all of them); ``tol`` for "profitable"; the best response's θ grid and shifts
# (None = BestResponse's defaults).
MANIP_DEFAULTS: dict[str, Any] = {
    "n": 20, "m": 20, "vmax": 4.0, "cost_range": [0.0, 1.0], "mode": "DF", "area": 1000.0,
    "algorithms": ["mwm", "mm", "ora"], "mechanisms": list(MECHANISMS), "kda_k": 0.5,
    "agents": 8, "tol": TOL, "thetas": None, "shifts": None,
}
MANIP_METRICS = (
    "candidates", "trades", "total_capacity", "capacity_gain_share", "welfare", "welfare_share",
    "profit", "deficit", "budget_balanced", "ir_violations",
    "buyers_sampled", "buyers_profitable", "buyer_share_profitable", "buyer_mean_gain", "buyer_max_gain",
    "sellers_sampled", "sellers_profitable", "seller_share_profitable", "seller_mean_gain", "seller_max_gain",
    "any_profitable", "time_ms",
)


def check_manipulation(p: dict[str, Any]) -> None:
    _check_instance(p)
    names_in(p, "algorithms", ASSIGNMENT_ALGORITHMS, "assignment algorithm")
    _check_mechanisms(p, names_in(p, "mechanisms", MECHANISMS, "study mechanism"))
    _nonneg_int(p, "agents")
    tol = p["tol"]
    if isinstance(tol, bool) or not isinstance(tol, (int, float)) or not 0 <= tol < 1:
        raise ConfigError(f"tol must be a number in [0, 1), got {tol!r}")
    _grid_or_default(p, "thetas", DEFAULT_BR_THETAS, 0.0)
    _grid_or_default(p, "shifts", DEFAULT_BR_SHIFTS, None)


def _sample(gen: np.random.Generator, size: int, k: int) -> np.ndarray:
    """``k`` distinct indices out of ``size`` (all of them, in order, when k == 0 or k ≥ size)."""
    if k == 0 or k >= size:
        return np.arange(size)
    return np.sort(gen.choice(size, size=k, replace=False))


def variants(p: Mapping[str, Any]) -> list[tuple[RelayMechanism, str]]:
    """(mechanism, algorithm) pairs evaluated on each instance: one per assignment algorithm
    for a mechanism that clears on phase 1, algorithm "-" for one that does not."""
    out = []
    for name in p["mechanisms"]:
        mech = study_mechanism(name, p)
        out += [(mech, alg) for alg in p["algorithms"]] if mech.uses_assignment else [(mech, "-")]
    return out


def variant_name(mech: RelayMechanism, algorithm: str) -> str:
    return mech.name if algorithm == "-" else f"{mech.name}/{algorithm}"


def run_manipulation(p: dict[str, Any], seed: np.random.SeedSequence) -> RunOutput:
    """One instance; per mechanism variant: truthful efficiency / profit / deficit and the
    maximum manipulation gain of the sampled buyers and sellers (others truthful)."""
    gen = np.random.default_rng(seed)
    net, values, costs = draw_instance(gen, p)
    n, m = net.n, net.m
    buyers = _sample(gen, n, int(p["agents"]))
    sellers = _sample(gen, m, int(p["agents"]))
    thetas = _grid_or_default(p, "thetas", DEFAULT_BR_THETAS, 0.0)
    shifts = _grid_or_default(p, "shifts", DEFAULT_BR_SHIFTS, None)
    tol = float(p["tol"])
    direct_total = float(net.direct.sum())
    sigmas = {alg: assign(net, alg) for alg in p["algorithms"]}
    sig_mwm = sigmas.get("mwm")
    if sig_mwm is None:
        sig_mwm = assign(net, "mwm")
    pure_gain = float(net.capacities(sig_mwm).sum()) - direct_total
    true_surplus = np.where(net.useful & (values > costs[None, :]), values - costs[None, :], 0.0)
    w_opt = _matching_value(true_surplus)
    todo = variants(p)
    vh = homogeneous_values(values, net.useful) if any(mech.homogeneous for mech, _ in todo) else None
    if vh is not None:  # the efficient surplus of the homogeneous market: greedy by rank
        bs = np.sort(vh[:, 0])[::-1]
        as_ = np.sort(costs)
        L = min(n, m)
        w_opt_h = float(np.maximum(bs[:L] - as_[:L], 0.0).sum())
    rows: list[dict[str, Any]] = []
    agent_rows: list[dict[str, Any]] = []
    for mech, alg in todo:
        t0 = time.perf_counter()
        sigma = sigmas[alg] if alg != "-" else np.full(n, -1, dtype=np.intp)
        homog = mech.homogeneous
        vals = vh if homog else values
        rnd = RelayRound(net, vals, costs, vals, costs, sigma, mech)
        out = rnd.outcome
        ub, us = out.utilities(vals, costs)
        win = np.flatnonzero(out.buyer_wins)
        welfare = float(vals[win, out.sigma[win]].sum() - costs[out.sigma[win]].sum())
        total_cap = math.nan if homog else float(net.capacities(out.traded).sum())
        variant = variant_name(mech, alg)
        gains = {"buyer": [], "seller": []}
        for role, idxs in (("buyer", buyers), ("seller", sellers)):
            for idx in idxs:
                idx = int(idx)
                truth = vals[idx] if role == "buyer" else float(costs[idx])
                relevant = mech.reads(sigma, role, idx)
                u_true = float(ub[idx] if role == "buyer" else us[idx])
                if relevant:
                    br = best_response(rnd, role, idx, truth, thetas=thetas, shifts=shifts)
                else:
                    br = {"truthful_utility": u_true, "best_utility": u_true, "gain": 0.0, "scalar": math.nan,
                          "kind": "truth", "param": 1.0}
                if role == "buyer":
                    j = int(out.sigma[idx]) if out.buyer_wins[idx] else int(sigma[idx])
                    truthful_report = float(vals[idx, j]) if j >= 0 else float(vals[idx].max())
                    trades = bool(out.buyer_wins[idx])
                else:
                    truthful_report = float(costs[idx])
                    trades = bool(out.seller_wins[idx])
                gains[role].append(br["gain"])
                agent_rows.append({
                    "variant": variant, "mechanism": mech.name, "algorithm": alg,
                    "role": role, "index": idx, "relevant": relevant, "trades_truthfully": trades,
                    "truthful_report": truthful_report, "truthful_utility": br["truthful_utility"],
                    "realised_utility": u_true, "best_utility": br["best_utility"], "max_gain": br["gain"],
                    "profitable": bool(br["gain"] > tol), "best_report": br["scalar"], "best_kind": br["kind"],
                    "best_param": br["param"],
                })
        gb, gs = np.array(gains["buyer"]), np.array(gains["seller"])
        row = {
            "n": n, "m": m, "vmax": float(p["vmax"]),
            "variant": variant, "mechanism": mech.name, "algorithm": alg,
            "candidates": int((sigma >= 0).sum()) if mech.uses_assignment else -1,
            "trades": int(out.n_trades), "total_capacity": total_cap,
            "capacity_gain_share": (total_cap - direct_total) / pure_gain if pure_gain > 0 and not homog else math.nan,
            "welfare": welfare,
            "welfare_share": welfare / (w_opt_h if homog else w_opt) if (w_opt_h if homog else w_opt) > 0 else math.nan,
            "profit": float(out.profit), "deficit": float(max(0.0, -out.profit)),
            "budget_balanced": bool(out.profit >= -1e-9),
            "ir_violations": int((ub < -1e-9).sum() + (us < -1e-9).sum()),
        }
        for role, g in (("buyer", gb), ("seller", gs)):
            row[f"{role}s_sampled"] = int(g.size)
            row[f"{role}s_profitable"] = int((g > tol).sum())
            row[f"{role}_share_profitable"] = float((g > tol).mean()) if g.size else math.nan
            row[f"{role}_mean_gain"] = float(g.mean()) if g.size else math.nan
            row[f"{role}_max_gain"] = float(g.max()) if g.size else math.nan
        row["any_profitable"] = bool((gb > tol).any() or (gs > tol).any())
        row["time_ms"] = (time.perf_counter() - t0) * 1e3
        rows.append(row)
    return RunOutput(runs=rows, agents=pd.DataFrame(agent_rows))


# ====================================================================== relay-tournament
# The league's best responders search a coarser θ grid than BestResponse's default (the
# candidate levels, which make the search exact for TASC / trade reduction / k-DA, are kept):
# the league asks them every round through the Mesa model's oracle, one mechanism call per report.
LEAGUE_BR_THETAS = (0.0, 0.5, 0.75, 0.9, 1.1, 1.25, 1.5, 2.0)
DEFAULT_TOURNAMENT_STRATEGIES: dict[str, dict[str, Any]] = {
    "truthful": {"buyer": "truthful", "seller": "truthful"},
    "scale10": {"buyer": {"strategy": "scale", "params": {"theta": 0.9}},
                "seller": {"strategy": "scale", "params": {"theta": 1.1}}},
    "scale25": {"buyer": {"strategy": "scale", "params": {"theta": 0.75}},
                "seller": {"strategy": "scale", "params": {"theta": 1.25}}},
    "shift": {"buyer": {"strategy": "shift", "params": {"delta": -0.2}},
              "seller": {"strategy": "shift", "params": {"delta": 0.1}}},
    "noise": {"buyer": {"strategy": "noise", "params": {"sigma": 0.2}},
              "seller": {"strategy": "noise", "params": {"sigma": 0.2}}},
    "best_response": {"buyer": {"strategy": "best_response", "params": {"thetas": list(LEAGUE_BR_THETAS)}},
                      "seller": {"strategy": "best_response", "params": {"thetas": list(LEAGUE_BR_THETAS)}}},
    "hedge": {"buyer": "hedge", "seller": "hedge"},
    "exp3": {"buyer": "exp3", "seller": "exp3"},
}
# Parameters: instance size and types; the phase-1 ``algorithm``; ``mechanisms``; ``strategies``
# (label -> {buyer = spec, seller = spec}); ``league_rounds`` Mesa steps of the league;
# ``matrix_instances`` fresh instances and ``matrix_agents`` focal agents per role for A[a, b].
TOURNAMENT_DEFAULTS: dict[str, Any] = {
    "n": 16, "m": 16, "vmax": 4.0, "cost_range": [0.0, 1.0],
    "algorithm": "mwm", "mechanisms": ["kda", "tasc", "trade_reduction"], "kda_k": 0.5,
    "strategies": DEFAULT_TOURNAMENT_STRATEGIES, "league_rounds": 40, "matrix_instances": 3, "matrix_agents": 4,
}
TOURNAMENT_METRICS = ("part", "role", "strategy", "background", "mean_utility", "observations")


def _tournament_strategies(p: Mapping[str, Any]) -> dict[str, dict[str, Strategy]]:
    """Label -> role -> Strategy prototype (built, hence validated)."""
    spec = p["strategies"]
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


def check_tournament(p: dict[str, Any]) -> None:
    _check_instance(p)
    if not isinstance(p["algorithm"], str):
        raise ConfigError(f"algorithm must be a name, got {p['algorithm']!r}")
    ASSIGNMENT_ALGORITHMS.resolve(p["algorithm"])
    _check_mechanisms(p, names_in(p, "mechanisms", MECHANISMS, "study mechanism"), "the tournament")
    _tournament_strategies(p)
    positive_int(p, "league_rounds", maximum=100_000)
    _nonneg_int(p, "matrix_instances")
    positive_int(p, "matrix_agents", maximum=MAX_NODES)


def _is_learner(s: Strategy) -> bool:
    return bool(s.flag("learning"))


def _is_best_response(s: Strategy) -> bool:
    return s.flag("deviation") == "best_response"


def _learned_thetas(model, labels: dict[str, np.ndarray], protos: dict[str, dict[str, Strategy]]) -> dict:
    """Per (label, role): (thetas, mean probabilities over that learner's agents) at the end."""
    out = {}
    for role, agents in (("buyer", model.buyers), ("seller", model.sellers)):
        lab = labels[role]
        for label, roles in protos.items():
            if not _is_learner(roles[role]):
                continue
            idx = np.flatnonzero(lab == label)
            if idx.size == 0:  # nobody played it: the learner's initial mixture
                s = roles[role].clone()
                out[(label, role)] = (np.asarray(s.thetas), np.asarray(s.probabilities))
                continue
            probs = np.mean([agents[i].strategy.probabilities for i in idx], axis=0)
            out[(label, role)] = (np.asarray(agents[idx[0]].strategy.thetas), probs)
    return out


def _profile_reports(rnd_truth: RelayRound, gen: np.random.Generator, label: str, protos, learned, values, costs,
                     sigma, partner) -> tuple[np.ndarray, np.ndarray]:
    """Everyone's reports when everyone plays ``label`` (best response: to the truthful profile)."""
    n, m = values.shape
    bids, asks = values.copy(), costs.copy()
    for role, size in (("buyer", n), ("seller", m)):
        s = protos[label][role]
        for idx in range(size):
            rep = _one_report(rnd_truth, gen, s, label, role, idx, values, costs, sigma, partner, learned)
            if role == "buyer":
                bids[idx] = rep
            else:
                asks[idx] = rep
    return bids, asks


def _one_report(rnd: RelayRound, gen: np.random.Generator, s: Strategy, label: str, role: str, idx: int,
                values, costs, sigma, partner, learned) -> Any:
    """One agent's report under strategy ``s`` against the profile frozen in ``rnd``."""
    truth = values[idx] if role == "buyer" else float(costs[idx])
    if _is_best_response(s):
        if not rnd.mechanism.reads(sigma, role, idx):
            return truth
        return best_response(rnd, role, idx, truth, thetas=s.thetas, shifts=s.shifts)["report"]
    if _is_learner(s):
        thetas, probs = learned[(label, role)]
        th = float(thetas[gen.choice(thetas.size, p=probs / probs.sum())])
        return truth * th
    st = s.clone()
    st.seed(np.random.default_rng(int(gen.integers(0, 2**63))))
    info = {"assigned": int(sigma[idx])} if role == "buyer" else {"partner": int(partner[idx])}
    return st.report(truth, Observation(0, role, idx, None, info))


def _balanced_labels(gen: np.random.Generator, labels: list[str], size: int) -> np.ndarray:
    """Strategy labels for ``size`` seats: every label equally often (the remainder drawn
    without replacement), in random seat order — so no strategy is missing from a role."""
    k = len(labels)
    reps, extra = divmod(size, k)
    pool = list(labels) * reps + [labels[i] for i in np.sort(gen.choice(k, size=extra, replace=False))]
    return np.array(pool, dtype=object)[gen.permutation(size)]


def run_tournament(p: dict[str, Any], seed: np.random.SeedSequence) -> RunOutput:
    """Per mechanism: a league in the Mesa model (leaderboard) and a payoff matrix on fresh
    instances (background b, focal a) for replicator dynamics."""
    from auctionlab.market.relay.model import RelayMarket

    protos = _tournament_strategies(p)
    labels_all = list(protos)
    n, m = int(p["n"]), int(p["m"])
    rows: list[dict[str, Any]] = []
    theta_rows: list[dict[str, Any]] = []
    mech_seeds = seed.spawn(len(p["mechanisms"]))
    for mech_name, mseed in zip(p["mechanisms"], mech_seeds):
        mech = study_mechanism(mech_name, p)
        league_seed, matrix_seed = mseed.spawn(2)
        gen = np.random.default_rng(league_seed)
        labels = {"buyer": _balanced_labels(gen, labels_all, n), "seller": _balanced_labels(gen, labels_all, m)}
        population = {role: [protos[lab][role] for lab in labels[role]] for role in ("buyer", "seller")}
        model = RelayMarket(n=n, m=m, algorithm=p["algorithm"], mechanism=mech, vmax=float(p["vmax"]),
                            cost_range=tuple(p["cost_range"]), channel="redraw", types="redraw",
                            population=population, collect_agents=False,
                            rng=np.random.default_rng(gen.integers(0, 2**63)))
        learners = [(role, i, a) for role, agents in (("buyer", model.buyers), ("seller", model.sellers))
                    for i, a in enumerate(agents) if _is_learner(a.strategy)]
        for step in range(1, int(p["league_rounds"]) + 1):
            model.step()
            acc: dict[tuple[str, str], list[float]] = {}
            for role, i, a in learners:
                acc.setdefault((role, labels[role][i]), []).append(a.strategy.mean_theta)
            for (role, lab), v in acc.items():
                theta_rows.append({"mechanism": mech_name, "step": step, "role": role, "strategy": lab,
                                   "mean_theta": float(np.mean(v))})
        for role in ("buyer", "seller"):
            hist = model.utility_history(role)  # (steps, agents)
            for lab in labels_all:
                idx = np.flatnonzero(labels[role] == lab)
                u = hist[:, idx]
                rows.append({"mechanism": mech_name, "part": "league", "role": role, "strategy": lab, "background": "",
                             "mean_utility": float(u.mean()) if u.size else math.nan, "observations": int(u.size)})
        learned = _learned_thetas(model, labels, protos)

        # ---------------- payoff matrix: everyone plays b, sampled focal agents try every a
        gen = np.random.default_rng(matrix_seed)
        sums = {(role, a, b): [0.0, 0] for role in ("buyer", "seller") for a in labels_all for b in labels_all}
        for _ in range(int(p["matrix_instances"])):
            net, values, costs = draw_instance(gen, p)
            sigma = assign(net, p["algorithm"])
            partner = np.full(m, -1, dtype=np.intp)
            on = np.flatnonzero(sigma >= 0)
            partner[sigma[on]] = on
            rnd_truth = RelayRound(net, values, costs, values, costs, sigma, mech)
            focal = {"buyer": _sample(gen, n, int(p["matrix_agents"])),
                     "seller": _sample(gen, m, int(p["matrix_agents"]))}
            for b in labels_all:
                bids, asks = _profile_reports(rnd_truth, gen, b, protos, learned, values, costs, sigma, partner)
                rnd = RelayRound(net, values, costs, bids, asks, sigma, mech)
                for role in ("buyer", "seller"):
                    for idx in focal[role]:
                        idx = int(idx)
                        reps = [_one_report(rnd, gen, protos[a][role], a, role, idx, values, costs, sigma, partner,
                                            learned) for a in labels_all]
                        u = rnd.utilities_if(role, idx, np.vstack(reps) if role == "buyer" else
                                             np.array(reps, dtype=np.float64))
                        for a, ua in zip(labels_all, u):
                            cell = sums[(role, a, b)]
                            cell[0] += float(ua)
                            cell[1] += 1
        for (role, a, b), (s, c) in sums.items():
            rows.append({"mechanism": mech_name, "part": "matrix", "role": role, "strategy": a, "background": b,
                         "mean_utility": s / c if c else math.nan, "observations": int(c)})
    for r in rows:
        r.update(n=n, m=m)
    rounds = pd.DataFrame(theta_rows) if theta_rows else None
    return RunOutput(runs=rows, rounds=rounds)


# ====================================================================== relay-equilibrium
# Parameters: ``part`` ("game" or "learning"); instance size and types; ``algorithm``;
# ``mechanism``; game: ``buyer_thetas`` × ``seller_thetas`` (both containing 1), ``instances`` per
# run, ``deviators`` sampled per role for unilateral deviations (0 = none); learning: ``learner``
# (hedge, exp3, fictitious_play) over ``learner_thetas`` with ``eta`` / ``gamma``, ``rounds``
# Mesa steps, ``channel`` ("static": one network, new types every round; "redraw").
EQUILIBRIUM_DEFAULTS: dict[str, Any] = {
    "part": "game", "n": 12, "m": 12, "vmax": 4.0, "cost_range": [0.0, 1.0],
    "algorithm": "mwm", "mechanism": "kda", "kda_k": 0.5,
    "buyer_thetas": [0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0], "seller_thetas": [1.0, 1.25, 1.5, 1.75, 2.0, 2.5, 3.0],
    "instances": 10, "deviators": 3,
    "learner": "hedge", "rounds": 200, "learner_thetas": list(DEFAULT_THETAS), "eta": 0.5, "gamma": 0.1,
    "channel": "static",
}
EQUILIBRIUM_METRICS = (
    "instance", "theta_buyer", "theta_seller", "buyer_payoff", "seller_payoff", "trades", "welfare", "profit",
    "final_theta_buyer", "final_theta_seller", "final_played_theta_buyer", "final_played_theta_seller",
    "mean_utility_buyer", "mean_utility_seller", "mean_trades", "mean_welfare",
)


def check_equilibrium(p: dict[str, Any]) -> None:
    _check_instance(p)
    choice(p, "part", ("game", "learning"))
    if not isinstance(p["algorithm"], str):
        raise ConfigError(f"algorithm must be a name, got {p['algorithm']!r}")
    ASSIGNMENT_ALGORITHMS.resolve(p["algorithm"])
    choice(p, "mechanism", list(MECHANISMS))
    _check_mechanisms(p, [p["mechanism"]], "the equilibrium study")
    for key in ("buyer_thetas", "seller_thetas", "learner_thetas"):
        g = _grid_or_default(p, key, (), 0.0)
        if len(set(g)) != len(g):
            raise ConfigError(f"{key} lists a level twice: {list(g)}")
    if 1.0 not in p["buyer_thetas"] or 1.0 not in p["seller_thetas"]:
        raise ConfigError("buyer_thetas and seller_thetas must contain 1.0 (truthful)")
    positive_int(p, "instances", maximum=100_000)
    _nonneg_int(p, "deviators")
    choice(p, "learner", ("hedge", "exp3", "fictitious_play"))
    positive_int(p, "rounds", maximum=10_000_000)
    positive_float(p, "eta")
    g = p["gamma"]
    if isinstance(g, bool) or not isinstance(g, (int, float)) or not 0 < g <= 1:
        raise ConfigError(f"gamma must be in (0, 1], got {g!r}")
    choice(p, "channel", ("static", "redraw"))


def _role_game(p: Mapping[str, Any], gen: np.random.Generator) -> RunOutput:
    """Role payoffs at every (θ_buyer, θ_seller) on ``instances`` instances, plus unilateral
    deviation payoffs of ``deviators`` sampled agents per role."""
    name = p["mechanism"]
    mech = study_mechanism(name, p)
    tb, ts = [float(x) for x in p["buyer_thetas"]], [float(x) for x in p["seller_thetas"]]
    rows, dev_rows = [], []
    for inst in range(int(p["instances"])):
        net, values, costs = draw_instance(gen, p)
        n, m = net.n, net.m
        sigma = study_sigma(mech, net, p["algorithm"])
        d = int(p["deviators"])
        devs = ({"buyer": _sample(gen, n, d), "seller": _sample(gen, m, d)} if d else
                {"buyer": np.empty(0, dtype=int), "seller": np.empty(0, dtype=int)})
        for thb in tb:
            for ths in ts:
                bids, asks = values * thb, costs * ths
                out = mech(net, bids, asks, sigma)
                ub, us = out.utilities(values, costs)
                win = np.flatnonzero(out.buyer_wins)
                rows.append({
                    "mechanism": name, "instance": inst, "theta_buyer": thb, "theta_seller": ths,
                    "buyer_payoff": float(ub.mean()), "seller_payoff": float(us.mean()),
                    "trades": int(out.n_trades), "profit": float(out.profit),
                    "welfare": float(values[win, out.sigma[win]].sum() - costs[out.sigma[win]].sum()),
                })
                if not (devs["buyer"].size or devs["seller"].size):
                    continue
                rnd = RelayRound(net, values, costs, bids, asks, sigma, mech)
                for role, grid, base in (("buyer", tb, ub), ("seller", ts, us)):
                    for idx in devs[role]:
                        idx = int(idx)
                        u = rnd.utilities_if(role, idx, np.outer(grid, values[idx]) if role == "buyer" else
                                             np.asarray(grid) * costs[idx])
                        for th, ua in zip(grid, u):
                            dev_rows.append({"mechanism": name, "instance": inst, "theta_buyer": thb,
                                             "theta_seller": ths, "role": role, "agent": idx, "deviation": th,
                                             "utility": float(ua), "profile_utility": float(base[idx])})
    agents = pd.DataFrame(dev_rows) if dev_rows else None
    if agents is not None:  # one row per (instance, profile, role, deviation): mean over the sampled agents
        agents = (agents.groupby(["mechanism", "instance", "theta_buyer", "theta_seller", "role", "deviation"],
                                 sort=True)
                  .agg(utility=("utility", "mean"), profile_utility=("profile_utility", "mean"),
                       agents=("agent", "size"))
                  .reset_index())
        agents["gain"] = agents["utility"] - agents["profile_utility"]
    return RunOutput(runs=rows, agents=agents)


def _learning(p: Mapping[str, Any], gen: np.random.Generator) -> RunOutput:
    """Hedge / EXP3 / fictitious-play learners in every seat of the Mesa model for ``rounds`` auctions."""
    from auctionlab.market.relay.model import RelayMarket

    thetas = list(p["learner_thetas"])
    params: dict[str, Any] = {"thetas": thetas}
    if p["learner"] == "hedge":
        params["eta"] = float(p["eta"])
    elif p["learner"] == "exp3":
        _, hi = cost_range(p)
        params["gamma"] = float(p["gamma"])
        params["reward_range"] = [-max(float(p["vmax"]), hi), max(float(p["vmax"]), hi)]
    spec = {"strategy": p["learner"], "params": params}
    model = RelayMarket(n=int(p["n"]), m=int(p["m"]), algorithm=p["algorithm"],
                        mechanism=study_mechanism(p["mechanism"], p), vmax=float(p["vmax"]),
                        cost_range=tuple(p["cost_range"]), channel=p["channel"],
                        types="redraw", population={"buyer": spec, "seller": spec},
                        collect_agents=False, rng=gen)
    recs = []
    for step in range(1, int(p["rounds"]) + 1):
        model.step()
        rec: dict[str, Any] = {"mechanism": p["mechanism"], "learner": p["learner"], "step": step}
        for role, agents in (("buyer", model.buyers), ("seller", model.sellers)):
            rec[f"theta_{role}"] = float(np.mean([a.strategy.mean_theta for a in agents]))
            rec[f"played_theta_{role}"] = float(np.mean([a.strategy.theta for a in agents]))
            rec[f"utility_{role}"] = float(model.utilities(role).mean())
        rec.update(trades=float(model.trades), welfare=float(model.welfare), profit=float(model.profit))
        recs.append(rec)
    rounds = pd.DataFrame(recs)
    tail = rounds.tail(max(1, len(rounds) // 10))
    row = {
        "mechanism": p["mechanism"], "learner": p["learner"],
        "final_theta_buyer": float(tail["theta_buyer"].mean()), "final_theta_seller": float(tail["theta_seller"].mean()),
        "final_played_theta_buyer": float(tail["played_theta_buyer"].mean()),
        "final_played_theta_seller": float(tail["played_theta_seller"].mean()),
        "mean_utility_buyer": float(rounds["utility_buyer"].mean()),
        "mean_utility_seller": float(rounds["utility_seller"].mean()),
        "mean_trades": float(rounds["trades"].mean()), "mean_welfare": float(rounds["welfare"].mean()),
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
    name="relay-manipulation", fn=run_manipulation, defaults=MANIP_DEFAULTS, checker=check_manipulation,
    metrics=MANIP_METRICS, id_columns=("n", "m", "vmax", "variant", "mechanism", "algorithm"), chunk=10,
    description="maximum manipulation gain (best response, others truthful) of sampled buyers and sellers under "
                "TASC, trade reduction, k-DA, VCG and McAfee on the same instances, with efficiency and profit",
)
RELAY_TOURNAMENT_KIND = RunKind(
    name="relay-tournament", fn=run_tournament, defaults=TOURNAMENT_DEFAULTS, checker=check_tournament,
    metrics=TOURNAMENT_METRICS, id_columns=("n", "m", "mechanism"), chunk=1,
    description="relay strategies (truthful, scaling, shift, noise, best response, learners) in a Mesa league "
                "and a background x focal payoff matrix, per mechanism",
)
RELAY_EQUILIBRIUM_KIND = RunKind(
    name="relay-equilibrium", fn=run_equilibrium, defaults=EQUILIBRIUM_DEFAULTS, checker=check_equilibrium,
    metrics=EQUILIBRIUM_METRICS, id_columns=("mechanism", "part", "learner"), chunk=1,
    description="buyer shading x seller inflation role game (with unilateral deviations), or Hedge/EXP3 learners "
                "in the Mesa relay market",
)


def paper_scale_manipulation_spec() -> dict[str, Any]:
    """The manipulation study at the paper's scale (n = 100, m = 50..150): a spec mapping for
    ``auctionlab run`` (save as TOML/JSON) or :func:`~auctionlab.experiments.runner.run_experiment`.
    About half an hour on one core (VCG dominates); the catalog's ``relay-manipulation`` is the affordable default."""
    return {
        "name": "relay-manipulation-paper", "model": "relay-manipulation", "replications": 200,
        "master_seed": 20110707, "chunk": 5, "analysis": "relay-manipulation",
        "description": "relay-manipulation at the paper's scale: n = 100, m = 50..150, Vmax 1..8",
        "params": {"agents": 10},
        "grids": [{"n": [100], "m": [50, 100, 150], "vmax": [4.0]},
                  {"n": [100], "m": [100], "vmax": [1.0, 2.0, 8.0]}],
    }
