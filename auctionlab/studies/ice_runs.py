"""The ``ice`` run kind: one generated exchange through ICE, once per bidder kind.

Each run draws an instance with :func:`~auctionlab.mechanisms.exchange.generators.random_exchange`
(bounds of relative width ``bound_width`` around hidden true values) and plays it to its
close in the Mesa :class:`~auctionlab.models.exchange.ExchangeMarket` once for every
entry of ``bidders`` (every bidder of the exchange bidding through that proxy), all from
the same initial bounds: the bidder kinds are compared on the same instances. ``bidders``
is a list of strategy registry names (``["straightforward", "eager"]``) or a table
``label -> strategy spec``; ``step`` (ρ), ``reveal`` and ``final``, when set, are given to
every bidder kind whose strategy takes them (unset: the strategy's own default).

Tables (every row carries ``proxy``, the bidder kind's label): ``rounds`` =
:func:`~auctionlab.mechanisms.exchange.ice.rounds_frame` (αeff, αthresh, efficiency of the
provisional trade, prices, timings per round); ``agents`` = one row per bidder with its
final trade size, payment, true utility and the payment it would make in the truthful
one-shot exchange; ``runs`` = one row per (run, bidder kind), including how far the final
payments sit from the truthful one-shot payments under the same rule (its root-mean-square
and largest absolute difference over all bidders), how the run closed (``closed_by``:
"cutoffs", "no_optimistic_trade", "max_rounds" or "stalled": its state repeated, so it
closed with the outcome of the run to ``max_rounds``; ``rounds`` counts the rounds run)
and the last round in which a bidder
failed the activity rule (``last_rp_failure_round``, -1 for none).

Engine parameters (every ICE run kind, :class:`EngineParams`): ``cutoff_eff``,
``cutoff_thresh``, ``max_rounds``, ``max_queries``, ``rp_tol``, ``price_eps``,
``payment_rule`` (any registered payment rule), ``track_alpha_thresh``, ``solver`` (a
MIP backend name, ``auctionlab run --solver`` overrides it) and ``stop_on_stall`` go to
the exchange. This kind
records the αthresh trajectory, so it defaults to ``track_alpha_thresh = "always"``:
``rounds_to_alpha_thresh`` needs αthresh in every round up to the first that reaches the
cutoff, and ``final_alpha_thresh`` is the last-and-final round's, which "needed" never
computes. With "needed" (faster, same outcome) the rounds table has NaN where αthresh was
not computed, ``final_alpha_thresh`` is NaN, and ``rounds_to_alpha_thresh`` is NaN unless
every round before the first hit was computed. The payments' V_{−i} solves run serially:
the runner owns the parallelism (several runs at once), never the run itself.

``common_instances = true`` draws the instance from the replication index alone
(``SeedSequence(entropy, spawn_key=(COMMON_STREAM, replication))``), so every grid point
of a sweep runs on the same instances and differences between points (cutoffs, ρ) are
paired comparisons (common random numbers). Points with different sizes still get
different instances, since the generator's output depends on the size.
"""

from __future__ import annotations

import dataclasses
import inspect
import time
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from auctionlab._validate import (
    check_bool,
    check_choice,
    check_float,
    check_int,
    check_positive_int,
    is_real_number,
)
from auctionlab.errors import ConfigError
from auctionlab.experiments.kinds import RunKind, RunOutput
from auctionlab.experiments.params import Params
from auctionlab.mechanisms.exchange.activity import TOL
from auctionlab.mechanisms.exchange.ice import PRICE_EPS

#: first spawn-key entry of common instances: far above any grid point index
COMMON_STREAM = 4_000_000_000
_ENGINE = (
    "cutoff_eff",
    "cutoff_thresh",
    "max_rounds",
    "max_queries",
    "rp_tol",
    "price_eps",
    "payment_rule",
    "track_alpha_thresh",
    "solver",
    "stop_on_stall",
)


# ---------------------------------------------------------------------- typed parameters
@dataclasses.dataclass(frozen=True)
class EngineParams(Params):
    """The exchange's options, settable from a spec by every ICE run kind."""

    cutoff_eff: float = 0.95
    cutoff_thresh: float = 0.9
    max_rounds: int = 30
    max_queries: int = 50
    rp_tol: float = TOL
    price_eps: float = PRICE_EPS
    payment_rule: str = "threshold"
    track_alpha_thresh: str = "needed"
    solver: str = "highs"
    stop_on_stall: bool = True

    def check(self) -> None:
        from auctionlab.mechanisms.exchange.closing import TRACK_ALPHA_THRESH, check_cutoff
        from auctionlab.mechanisms.exchange.payment_rules import PAYMENT_RULES

        check_cutoff(self.cutoff_eff, "cutoff_eff")
        check_cutoff(self.cutoff_thresh, "cutoff_thresh")
        check_positive_int(self.max_rounds, "max_rounds", maximum=10_000)
        check_positive_int(self.max_queries, "max_queries", maximum=10_000)
        check_float(self.rp_tol, "rp_tol", minimum=0.0, maximum=1.0, open_max=True)
        check_float(self.price_eps, "price_eps", minimum=0.0, maximum=1.0, open_max=True)
        check_choice(self.payment_rule, "payment_rule", tuple(PAYMENT_RULES))
        check_choice(self.track_alpha_thresh, "track_alpha_thresh", TRACK_ALPHA_THRESH)
        check_solver(self.solver)
        check_bool(self.stop_on_stall, "stop_on_stall")

    def engine(self) -> dict[str, Any]:
        """The exchange's keyword arguments (for :class:`~auctionlab.models.exchange.ExchangeMarket`)."""
        return {k: getattr(self, k) for k in _ENGINE}


@dataclasses.dataclass(frozen=True)
class InstanceParams(EngineParams):
    """A generated instance (sizes, bound width, common instances) and the exchange's options."""

    n_bidders: int = 6
    n_goods: int = 3
    nodes: int = 15
    max_units: int = 3
    bound_width: float = 0.5
    common_instances: bool = False

    def check(self) -> None:
        super().check()
        if check_positive_int(self.n_bidders, "n_bidders", maximum=500) < 2:
            raise ConfigError(f"n_bidders must be at least 2 (a buyer and a seller), got {self.n_bidders}")
        check_positive_int(self.n_goods, "n_goods", maximum=200)
        check_int(self.nodes, "nodes", minimum=3, maximum=1000)
        check_positive_int(self.max_units, "max_units", maximum=1000)
        check_float(self.bound_width, "bound_width", minimum=0.0, maximum=10.0, open_max=True)
        check_bool(self.common_instances, "common_instances")


def _default_bidders() -> list[str]:
    return ["straightforward"]


@dataclasses.dataclass(frozen=True)
class IceParams(InstanceParams):
    """The ``ice`` kind: the instance, the exchange's options and the bidder kinds compared."""

    bidders: Any = dataclasses.field(default_factory=_default_bidders)
    step: float | None = None
    reveal: str | None = None
    final: str | None = None
    track_alpha_thresh: str = "always"

    def check(self) -> None:
        super().check()
        if self.step is not None and not (is_real_number(self.step) and 0.0 < float(self.step) <= 1.0):
            raise ConfigError(f"step must be a number in (0, 1], got {self.step!r}")
        if self.reveal is not None:
            check_choice(self.reveal, "reveal", ("rp", "provisional", "all"))
        if self.final is not None:
            check_choice(self.final, "final", ("rp", "truth"))
        proxy_table(self.bidders, "bidders", self.strategy_params())

    def strategy_params(self) -> dict[str, Any]:
        """``step``, ``reveal``, ``final`` where set: given to every bidder kind that takes them."""
        return {k: getattr(self, k) for k in ("step", "reveal", "final") if getattr(self, k) is not None}


# ---------------------------------------------------------------------- helpers shared by the ICE kinds
def check_solver(name: Any) -> str:
    """A MIP backend name that is registered and installed (ConfigError naming it otherwise)."""
    from auctionlab.mechanisms.exchange.backends import get_backend

    if not isinstance(name, str):
        raise ConfigError(f"solver must be the name of a MIP backend, got {name!r}")
    get_backend(name)
    return name


def exchange_strategy(spec: Any, where: str, overrides: Mapping[str, Any] | None = None):
    """A strategy from its spec, which must be an exchange proxy strategy. ``overrides``
    (``step``, ``reveal``, ...) are given to a strategy named by a bare registry name when
    its constructor takes them."""
    from auctionlab.strategies.exchange import ExchangeStrategy
    from auctionlab.strategies.registry import STRATEGIES, strategy_from_spec

    if overrides and isinstance(spec, str) and spec in STRATEGIES:
        accepted = inspect.signature(STRATEGIES[spec]).parameters
        kw = {k: v for k, v in overrides.items() if k in accepted}
        if kw:
            spec = {"strategy": spec, "params": kw}
    s = strategy_from_spec(spec)
    if not isinstance(s, ExchangeStrategy):
        raise ConfigError(
            f"{where}: {s.label!r} is not an exchange strategy (straightforward, misreport, lazy, "
            "stubborn, late_revealer or another ExchangeStrategy)"
        )
    return s


RESERVED = ("control", "baseline")


def proxy_table(table: Any, key: str, overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A list of strategy registry names, or a table ``label -> strategy spec``, as
    ``{label: ExchangeStrategy}`` (ConfigError naming the entry at fault)."""
    if isinstance(table, str):
        table = [table]
    if isinstance(table, (list, tuple)):
        if not table or not all(isinstance(x, str) for x in table):
            raise ConfigError(
                f"{key} must be a non-empty list of strategy names or a table name -> spec, got {table!r}"
            )
        if len(set(table)) != len(table):
            raise ConfigError(f"{key} lists a name twice: {table!r}")
        table = {x: x for x in table}
    if not isinstance(table, Mapping) or not table:
        raise ConfigError(f"{key} must be a non-empty list of strategy names or a table name -> spec, got {table!r}")
    out = {}
    for name, spec in table.items():
        if not isinstance(name, str) or not name or name in RESERVED:
            raise ConfigError(
                f"{key}: {name!r} is not a usable name ({' and '.join(map(repr, RESERVED))} are reserved)"
            )
        out[name] = exchange_strategy(spec, f"{key}.{name}", overrides)
    return out


def instance_rng(p: Mapping[str, Any], seed: np.random.SeedSequence) -> np.random.Generator:
    """The generator an instance is drawn from: the run's own stream, or with
    ``common_instances`` one shared by every grid point with the same replication index."""
    if p.get("common_instances"):
        rep = seed.spawn_key[-1] if seed.spawn_key else 0
        return np.random.default_rng(np.random.SeedSequence(seed.entropy, spawn_key=(COMMON_STREAM, rep)))
    return np.random.default_rng(seed)


def generate_instance(p: InstanceParams, seed: np.random.SeedSequence):
    """The run's generated exchange (a ``BoundedPair``: initial bounds and truth)."""
    from auctionlab.mechanisms.exchange.generators import random_exchange

    return random_exchange(
        p.n_bidders,
        p.n_goods,
        rng=instance_rng(p.to_dict(), seed),
        nodes=p.nodes,
        max_units=p.max_units,
        bound_width=p.bound_width,
    )


def payment_distance(payments: dict[str, float], reference: dict[str, float]) -> tuple[float, float]:
    """(root-mean-square, largest absolute) difference of two payment vectors over all bidders."""
    d = np.array([float(payments.get(b, 0.0)) - float(reference[b]) for b in reference])
    if d.size == 0:
        return 0.0, 0.0
    return float(np.sqrt(np.mean(d * d))), float(np.max(np.abs(d)))


def engine_params(p: Mapping[str, Any]) -> dict[str, Any]:
    """The exchange's keyword arguments from a run's parameters (missing ones at the defaults
    of :class:`EngineParams`)."""
    fields = EngineParams.names()
    return EngineParams(**{k: v for k, v in p.items() if k in fields}).engine()


ICE_METRICS = (
    "proxy",
    "rounds",
    "closed_by",
    "efficiency",
    "budget_surplus",
    "final_alpha_eff",
    "final_alpha_thresh",
    "rounds_to_alpha_eff",
    "rounds_to_alpha_thresh",
    "rounds_to_efficient",
    "total_utility",
    "traded_units",
    "payment_rms_vs_truth",
    "payment_max_vs_truth",
    "truthful_payment_rms",
    "truthful_value",
    "rp_failures",
    "penalties",
    "last_rp_failure_round",
    "time_total_s",
)


# ---------------------------------------------------------------------- the run
def run_ice_instance(params: dict[str, Any], seed: np.random.SeedSequence) -> RunOutput:
    """Generate one bounded exchange and play it to the close once per bidder kind."""
    from auctionlab.mechanisms.exchange.payments import compute_payments
    from auctionlab.models.exchange import ExchangeCounterfactual

    p = IceParams.from_mapping(params)
    pair = generate_instance(p, seed)
    ex, truth = pair.bounded, pair.truth
    runner = ExchangeCounterfactual(ex, truth, params=p.engine())
    # the one-shot exchange at the truth, under the same payment rule
    truthful = compute_payments(truth, p.payment_rule, "lower", solver=p.solver)
    roles = (ex.meta or {}).get("roles", {})
    rows, agents, rounds = [], [], []
    for label, strategy in proxy_table(p.bidders, "bidders", p.strategy_params()).items():
        t0 = time.perf_counter()
        res = runner.play([strategy] * len(ex.names))
        wall = time.perf_counter() - t0
        row, ag, rf = _tables(res, p, ex, truthful, roles, wall)
        rows.append({"proxy": label, **row})
        agents.append(ag.assign(proxy=label))
        rounds.append(rf.assign(proxy=label))
    return RunOutput(
        runs=rows, agents=pd.concat(agents, ignore_index=True), rounds=pd.concat(rounds, ignore_index=True)
    )


def _tables(res, p: IceParams, ex, truthful, roles, wall: float):
    from auctionlab.mechanisms.exchange.ice import rounds_frame

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
    agents = pd.DataFrame(
        {
            "bidder": list(ex.names),
            "role": [roles.get(b, "") for b in ex.names],
            "payment": [float(res.payments.get(b, 0.0)) for b in ex.names],
            "utility": [float(utilities.get(b, np.nan)) for b in ex.names],
            "units_traded": [int(np.abs(trade[i]).sum()) for i in range(len(ex.names))],
            "truthful_payment": [float(truthful.payments[b]) for b in ex.names],
        }
    )
    failed = rounds["rp_failures"].to_numpy() > 0
    row = {
        "n_bidders": p.n_bidders,
        "n_goods": p.n_goods,
        "rounds": int(res.rounds),
        "closed_by": res.closed_by,
        "efficiency": float(res.efficiency) if res.efficiency is not None else float("nan"),
        "budget_surplus": float(res.budget_surplus),
        "final_alpha_eff": float(ae[-1]),
        "final_alpha_thresh": float(at[-1]),
        "rounds_to_alpha_eff": first_round(ae, p.cutoff_eff),
        "rounds_to_alpha_thresh": first_round(at, p.cutoff_thresh, computed),
        "rounds_to_efficient": first_round(rounds["efficiency"].astype(float).to_numpy(), 1.0 - 1e-9),
        "total_utility": float(np.nansum(agents["utility"])),
        "traded_units": int(agents["units_traded"].sum()),
        "payment_rms_vs_truth": rms,
        "payment_max_vs_truth": worst,
        "truthful_payment_rms": float(np.sqrt(np.mean(np.square(list(truthful.payments.values()))))),
        "truthful_value": float(truthful.allocation.value),
        "rp_failures": int(rounds["rp_failures"].sum()),
        "penalties": int(rounds["penalized"].sum()),
        "last_rp_failure_round": int(rounds["round"].to_numpy()[failed][-1]) if failed.any() else -1,
        "time_total_s": wall,
    }
    return row, agents, rounds


ICE_KIND = RunKind(
    name="ice",
    fn=run_ice_instance,
    params=IceParams,
    metrics=ICE_METRICS,
    id_columns=("n_bidders", "n_goods", "proxy"),
    chunk=1,
    description="ICE convergence on generated exchanges, one run per bidder kind on the same instance",
)
