"""The ``ice`` run kind: one generated exchange through ICE with straightforward proxies.

Each run draws an instance with :func:`~auctionlab.market.exchange.generators.random_exchange`
(bounds of relative width ``bound_width`` around hidden true values), gives every bidder a
straightforward proxy with step ρ, and runs the exchange to its close. Tables: ``rounds``
= :func:`~auctionlab.market.exchange.ice.rounds_frame` (αeff, αthresh, efficiency of the
provisional trade, prices, timings per round); ``agents`` = one row per bidder with its
final trade size, payment, true utility and the payment it would make in the truthful
one-shot exchange; ``runs`` = one row per run, including how far the final Threshold
payments sit from the truthful one-shot Threshold payments (``threshold_payments`` at the
true values): their root-mean-square and largest absolute difference over all bidders.

Engine parameters (every ICE run kind): ``cutoff_eff``, ``cutoff_thresh``, ``max_rounds``,
``max_queries``, ``rp_tol``, ``price_eps``, ``track_alpha_thresh`` and ``solver`` (a MIP
backend name, ``auctionlab run --solver`` overrides it) go to
:class:`~auctionlab.market.exchange.ice.IterativeExchange`. This kind records the αthresh
trajectory, so it defaults to ``track_alpha_thresh = "always"``: ``rounds_to_alpha_thresh``
needs αthresh in every round up to the first that reaches the cutoff, and
``final_alpha_thresh`` is the last-and-final round's, which "needed" never computes. With
"needed" (faster, same outcome) the rounds table has NaN where αthresh was not computed,
``final_alpha_thresh`` is NaN, and ``rounds_to_alpha_thresh`` is NaN unless every round
before the first hit was computed. ``payment_rule`` chooses the final payments
(any registered payment rule: "threshold", "vcg", "fractional", ...). The payments' V_{−i} solves run serially: the runner owns the
parallelism (several runs at once), never the run itself.

``common_instances = true`` draws the instance from the replication index alone
(``SeedSequence(entropy, spawn_key=(COMMON_STREAM, replication))``), so every grid point
of a sweep runs on the same instances and differences between points (cutoffs, ρ) are
paired comparisons (common random numbers). Points with different sizes still get
different instances, since the generator's output depends on the size.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from auctionlab.errors import ConfigError
from auctionlab.experiments.kinds import RunKind, RunOutput, choice, positive_int, unit_float
from auctionlab.strategies.exchange import StraightforwardProxy

#: IterativeExchange's parameters that every ICE run kind accepts (defaults as the engine's)
ENGINE_DEFAULTS: dict[str, Any] = {
    "cutoff_eff": 0.95, "cutoff_thresh": 0.9, "max_rounds": 30, "max_queries": 50, "rp_tol": 1e-6,
    "price_eps": 1e-6, "track_alpha_thresh": "needed", "solver": "highs",
}
ICE_DEFAULTS: dict[str, Any] = {
    "n_bidders": 6, "n_goods": 3, "nodes": 15, "max_units": 3, "bound_width": 0.5,
    "step": 0.5, "reveal": "all", "final": "rp", **ENGINE_DEFAULTS, "track_alpha_thresh": "always",
    "payment_rule": "threshold", "common_instances": False,
}
ICE_METRICS = ("rounds", "closed_by", "efficiency", "budget_surplus", "final_alpha_eff", "final_alpha_thresh",
               "rounds_to_alpha_eff", "rounds_to_alpha_thresh", "rounds_to_efficient", "total_utility",
               "traded_units", "payment_rms_vs_truth", "payment_max_vs_truth", "truthful_payment_rms",
               "truthful_value", "time_total_s")
#: first spawn-key entry of common instances: far above any grid point index
COMMON_STREAM = 4_000_000_000


def instance_rng(p: dict[str, Any], seed: np.random.SeedSequence) -> np.random.Generator:
    """The generator an instance is drawn from: the run's own stream, or with
    ``common_instances`` one shared by every grid point with the same replication index."""
    if p.get("common_instances"):
        rep = seed.spawn_key[-1] if seed.spawn_key else 0
        return np.random.default_rng(np.random.SeedSequence(seed.entropy, spawn_key=(COMMON_STREAM, rep)))
    return np.random.default_rng(seed)


def payment_distance(payments: dict[str, float], reference: dict[str, float]) -> tuple[float, float]:
    """(root-mean-square, largest absolute) difference of two payment vectors over all bidders."""
    d = np.array([float(payments.get(b, 0.0)) - float(reference[b]) for b in reference])
    if d.size == 0:
        return 0.0, 0.0
    return float(np.sqrt(np.mean(d * d))), float(np.max(np.abs(d)))


def engine_params(p: Mapping[str, Any]) -> dict[str, Any]:
    """The keyword arguments of :class:`~auctionlab.market.exchange.ice.IterativeExchange`
    from a run's parameters (missing ones at :data:`ENGINE_DEFAULTS`; no executor: see the
    module docstring)."""
    p = {**ENGINE_DEFAULTS, **p}
    return {
        "cutoff_eff": float(p["cutoff_eff"]), "cutoff_thresh": float(p["cutoff_thresh"]),
        "max_rounds": int(p["max_rounds"]), "max_queries": int(p["max_queries"]),
        "rp_tol": float(p["rp_tol"]), "price_eps": float(p["price_eps"]),
        "track_alpha_thresh": p["track_alpha_thresh"], "solver": p["solver"],
    }


def _tolerance(p: Mapping[str, Any], key: str) -> None:
    v = p[key]
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or not 0 <= v < 1:
        raise ConfigError(f"{key} must be a number in [0, 1), got {v!r}")


def check_solver(name: Any) -> str:
    """A MIP backend name that is registered and installed (ConfigError naming it otherwise)."""
    from auctionlab.market.exchange.backends import get_backend

    if not isinstance(name, str):
        raise ConfigError(f"solver must be the name of a MIP backend, got {name!r}")
    get_backend(name)
    return name


def check_instance_params(p: Mapping[str, Any]) -> None:
    """The generated-instance and engine parameters shared by every ICE run kind."""
    from auctionlab.market.exchange.closing import TRACK_ALPHA_THRESH

    n = positive_int(p, "n_bidders", maximum=500)
    if n < 2:
        raise ConfigError(f"n_bidders must be at least 2 (a buyer and a seller), got {n}")
    positive_int(p, "n_goods", maximum=200)
    if positive_int(p, "nodes", maximum=1000) < 3:
        raise ConfigError("nodes must be at least 3")
    positive_int(p, "max_units", maximum=1000)
    positive_int(p, "max_rounds", maximum=10_000)
    w = p["bound_width"]
    if isinstance(w, bool) or not isinstance(w, (int, float)) or not 0 <= w < 10:
        raise ConfigError(f"bound_width must be a number in [0, 10), got {w!r}")
    unit_float(p, "cutoff_eff")
    unit_float(p, "cutoff_thresh")
    positive_int(p, "max_queries", maximum=10_000)
    _tolerance(p, "rp_tol")
    _tolerance(p, "price_eps")
    choice(p, "track_alpha_thresh", TRACK_ALPHA_THRESH)
    check_solver(p["solver"])
    if not isinstance(p["common_instances"], bool):
        raise ConfigError(f"common_instances must be true or false, got {p['common_instances']!r}")


def check_ice(p: dict[str, Any]) -> None:
    check_instance_params(p)
    unit_float(p, "step")
    choice(p, "reveal", ("rp", "provisional", "all"))
    choice(p, "final", ("rp", "truth"))
    from auctionlab.market.exchange.payment_rules import PAYMENT_RULES

    choice(p, "payment_rule", tuple(PAYMENT_RULES))


def run_ice_instance(p: dict[str, Any], seed: np.random.SeedSequence) -> RunOutput:
    """Generate one bounded exchange and run ICE to the close with straightforward proxies."""
    from auctionlab.market.exchange.generators import random_exchange
    from auctionlab.market.exchange.ice import rounds_frame, run_ice
    from auctionlab.market.exchange.payments import compute_payments

    gen = instance_rng(p, seed)
    pair = random_exchange(int(p["n_bidders"]), int(p["n_goods"]), rng=gen, nodes=int(p["nodes"]),
                           max_units=int(p["max_units"]), bound_width=float(p["bound_width"]))
    ex, truth = pair.bounded, pair.truth
    proxies = {b: StraightforwardProxy(truth.bidder(b).tree.lower, float(p["step"]), reveal=p["reveal"], final=p["final"])
               for b in ex.names}
    t0 = time.perf_counter()
    res = run_ice(ex, proxies, truth=truth, payment_rule=p["payment_rule"], **engine_params(p))
    wall = time.perf_counter() - t0
    truthful = compute_payments(truth, "threshold", "lower", solver=p["solver"])  # the one-shot exchange at the truth
    rms, worst = payment_distance(res.payments, truthful.payments)
    rounds = rounds_frame(res.history, tuple(ex.goods))
    ae, at = rounds["alpha_eff"].to_numpy(), rounds["alpha_thresh"].to_numpy(dtype=float)
    computed = rounds["alpha_thresh_computed"].to_numpy(dtype=bool)

    def first_round(values: np.ndarray, cutoff: float, known: np.ndarray | None = None) -> float:
        """The first round whose value reaches ``cutoff`` (NaN if none, or if some round
        before it has no value: the first hit is then unknown)."""
        hit = np.flatnonzero(values >= cutoff - 1e-12)
        if not hit.size or (known is not None and not known[: hit[0]].all()):
            return float("nan")
        return float(rounds["round"].iloc[hit[0]])

    trade = np.asarray(res.allocation.trade_matrix)
    utilities = res.utilities or {}
    roles = (ex.meta or {}).get("roles", {})
    agents = pd.DataFrame({
        "bidder": list(ex.names),
        "role": [roles.get(b, "") for b in ex.names],
        "payment": [float(res.payments.get(b, 0.0)) for b in ex.names],
        "utility": [float(utilities.get(b, np.nan)) for b in ex.names],
        "units_traded": [int(np.abs(trade[i]).sum()) for i in range(len(ex.names))],
        "truthful_payment": [float(truthful.payments[b]) for b in ex.names],
    })
    row = {
        "n_bidders": int(p["n_bidders"]), "n_goods": int(p["n_goods"]),
        "rounds": int(res.rounds), "closed_by": res.closed_by,
        "efficiency": float(res.efficiency) if res.efficiency is not None else float("nan"),
        "budget_surplus": float(res.budget_surplus),
        "final_alpha_eff": float(ae[-1]), "final_alpha_thresh": float(at[-1]),
        "rounds_to_alpha_eff": first_round(ae, float(p["cutoff_eff"])),
        "rounds_to_alpha_thresh": first_round(at, float(p["cutoff_thresh"]), computed),
        "rounds_to_efficient": first_round(rounds["efficiency"].astype(float).to_numpy(), 1.0 - 1e-9),
        "total_utility": float(np.nansum(agents["utility"])),
        "traded_units": int(agents["units_traded"].sum()),
        "payment_rms_vs_truth": rms, "payment_max_vs_truth": worst,
        "truthful_payment_rms": float(np.sqrt(np.mean(np.square(list(truthful.payments.values()))))),
        "truthful_value": float(truthful.allocation.value),
        "time_total_s": wall,
    }
    return RunOutput(runs=[row], agents=agents, rounds=rounds)


ICE_KIND = RunKind(
    name="ice", fn=run_ice_instance, defaults=ICE_DEFAULTS, checker=check_ice, metrics=ICE_METRICS,
    id_columns=("n_bidders", "n_goods"), chunk=1,
    description="ICE convergence on generated exchanges with straightforward proxies",
)
