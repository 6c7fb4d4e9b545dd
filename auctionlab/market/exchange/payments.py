"""VCG and Threshold payments, and the one-shot (sealed-bid) exchange (SPEC B4, §4.3).

* VCG discount ``Δvcg_i = V* − V_{−i}``; payment ``p_i = v̂_i(λ*_i) − Δ_i``.
* Threshold (Def. 2): ``Δ_i = max(0, Δvcg_i − C)`` with the smallest ``C ≥ 0`` such that
  ``Σ Δ_i ≤ V*`` — the canonical (lexicographic min-max) solution, computed exactly by
  sorting (``C = max(0, max_k (Σ_{top k} Δvcg − V*)/k)``), never by bisection.

All n + 1 solves reuse one :class:`~auctionlab.market.exchange.mip.WDModel`. A bidder
whose efficient trade only receives goods (λ*_i ≥ 0) and who contributes v̂_i(λ*_i) ≤ 0
provably has Δvcg_i = 0 (λ* minus its part stays feasible without it, so
V_{−i} ≥ V* − v̂_i ≥ V*), so its solve is skipped; ``skip_idle=False`` forces it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any

import numpy as np

from auctionlab.errors import ConfigError, InvalidInputError, SolverError
from auctionlab.market.exchange.instance import Exchange, check_same_bidders
from auctionlab.market.exchange.mip import Allocation, WDModel, _model_for
from auctionlab.market.exchange.tbbl import BidTree, ValuesArg, value

RULES = ("threshold", "vcg")


@dataclass(frozen=True, eq=False)
class PaymentResult:
    """Efficient trade, VCG discounts, the rule's discounts and payments (bidder order)."""

    rule: str
    allocation: Allocation
    vcg_discounts: dict[str, float]
    discounts: dict[str, float]
    payments: dict[str, float]
    threshold_c: float | None  # the Threshold rule's C (None for VCG)
    n_solves: int

    @property
    def value(self) -> float:
        """V*: the reported value of the efficient trade."""
        return self.allocation.value

    @property
    def budget_surplus(self) -> float:
        """Σ payments (≥ 0 means the exchange does not run a deficit)."""
        return math.fsum(self.payments.values())


def threshold_c(vcg: np.ndarray, budget: float) -> float:
    """Smallest C ≥ 0 with Σ max(0, vcg_i − C) ≤ budget, exactly, by sorting.

    With d sorted non-increasing, C* = max(0, max_k (d_1 + … + d_k − budget)/k). Why:
    at C*, d_1 + … + d_k − k·C* ≤ Σ max(0, d_i − C*) ≤ budget for every k, so no term
    exceeds C*; and for k = #{d_i > C*} the middle inequality is an equality.
    """
    d = np.sort(np.asarray(vcg, dtype=float))[::-1]
    if d.size == 0 or math.fsum(np.clip(d, 0, None)) <= budget:
        return 0.0
    k = np.arange(1, d.size + 1)
    return max(0.0, float(np.max((np.cumsum(d) - budget) / k)))


def threshold_discounts(vcg: Mapping[str, float] | np.ndarray, budget: float) -> Any:
    """Threshold discounts Δ_i = max(0, Δvcg_i − C) for VCG discounts and budget V*."""
    if isinstance(vcg, Mapping):
        names = list(vcg)
        d = threshold_discounts(np.array([vcg[n] for n in names], dtype=float), budget)
        return dict(zip(names, map(float, d)))
    d = np.asarray(vcg, dtype=float)
    if budget < 0 or not math.isfinite(budget):
        raise InvalidInputError(f"the budget V* must be finite and non-negative, got {budget!r}")
    return np.maximum(0.0, d - threshold_c(d, budget))


def _value_without(exchange: Exchange, node_values: np.ndarray, i: int) -> float:
    """V_{−i} on a model built in this process (used by executors; models don't pickle).

    Every solve clears HiGHS's state first, so a fresh model answers exactly as the
    caller's model would."""
    model = WDModel(exchange)
    model.set_node_values(node_values)
    model.exclude(i)
    sol = model.solve()
    assert sol is not None
    return sol.value_of(node_values)


def vcg_discount_array(
    exchange: Exchange,
    values: ValuesArg = "lower",
    *,
    model: WDModel | None = None,
    skip_idle: bool = True,
    executor: Executor | None = None,
) -> tuple[Allocation, np.ndarray, int]:
    """(λ*, Δvcg per bidder in order, number of WD solves) with one reused model.

    With an ``executor`` (e.g. a ``ProcessPoolExecutor``) the V_{−i} solves run in
    parallel, each on a model built in the worker; results are identical to serial.
    """
    model = _model_for(exchange, model)
    with model.scope():
        model.rebind(exchange)
        alloc = model.solve_wd(values)
        vals = model._values(values)
        v_star = alloc.value
        scale = 1.0 + abs(v_star)
        disc = np.zeros(exchange.n_bidders)
        todo = [
            i for i, b in enumerate(exchange.bidders)
            if not (skip_idle and np.all(alloc.trade_matrix[i] >= 0) and alloc.bidder_values[b.name] <= 0.0)
        ]
        if executor is None:
            v_minus = []
            for i in todo:
                with model.scope():
                    model.exclude(i)
                    sol = model.solve()
                assert sol is not None
                v_minus.append(sol.value_of(vals))
        else:
            v_minus = list(executor.map(_value_without, *zip(*[(exchange, vals, i) for i in todo]))) if todo else []
        for i, vm in zip(todo, v_minus):
            if vm > v_star + 1e-6 * scale:
                raise SolverError(
                    f"V_-{exchange.names[i]} = {vm} exceeds V* = {v_star}: the first solve was not optimal"
                )
            disc[i] = max(0.0, v_star - vm)
    return alloc, disc, 1 + len(todo)


def compute_payments(
    exchange: Exchange,
    rule: str = "threshold",
    values: ValuesArg = "lower",
    *,
    model: WDModel | None = None,
    skip_idle: bool = True,
    executor: Executor | None = None,
) -> PaymentResult:
    """Efficient trade and payments under ``rule`` ("threshold" or "vcg")."""
    if rule not in RULES:
        raise ConfigError(f"unknown payment rule {rule!r}; available: {', '.join(RULES)}")
    alloc, vcg, solves = vcg_discount_array(exchange, values, model=model, skip_idle=skip_idle, executor=executor)
    names = exchange.names
    if rule == "vcg":
        disc, c = vcg, None
    else:
        c = threshold_c(vcg, alloc.value)
        disc = np.maximum(0.0, vcg - c)
    pay = {n: alloc.bidder_values[n] - float(d) for n, d in zip(names, disc)}
    return PaymentResult(
        rule=rule,
        allocation=alloc,
        vcg_discounts=dict(zip(names, map(float, vcg))),
        discounts=dict(zip(names, map(float, disc))),
        payments=pay,
        threshold_c=c,
        n_solves=solves,
    )


def vcg_discounts(exchange: Exchange, values: ValuesArg = "lower", *, model: WDModel | None = None) -> dict[str, float]:
    """Δvcg_i = V* − V_{−i} per bidder."""
    _, d, _ = vcg_discount_array(exchange, values, model=model)
    return dict(zip(exchange.names, map(float, d)))


def vcg_payments(exchange: Exchange, values: ValuesArg = "lower", *, model: WDModel | None = None) -> dict[str, float]:
    """VCG payments p_i = v̂_i(λ*_i) − Δvcg_i (negative: the bidder is paid)."""
    return compute_payments(exchange, "vcg", values, model=model).payments


def threshold_payments(exchange: Exchange, values: ValuesArg = "lower", *, model: WDModel | None = None) -> dict[str, float]:
    """Threshold payments p_i = v̂_i(λ*_i) − Δ_i (budget balanced, individually rational)."""
    return compute_payments(exchange, "threshold", values, model=model).payments


# --------------------------------------------------------------------------- one shot
@dataclass(frozen=True, eq=False)
class ExchangeOutcome:
    """Result of the sealed-bid exchange, with utilities under a true valuation."""

    rule: str
    allocation: Allocation
    payments: dict[str, float]
    discounts: dict[str, float]
    vcg_discounts: dict[str, float]
    reported_values: dict[str, float]  # v̂_i(λ*_i)
    true_values: dict[str, float]  # v_i(λ*_i) under the truth (−inf: unacceptable)
    utilities: dict[str, float]  # true value − payment
    budget_surplus: float  # Σ payments

    @property
    def trades(self) -> dict[str, dict[str, int]]:
        return self.allocation.trades

    @property
    def true_welfare(self) -> float:
        return math.fsum(self.true_values.values())


def _true_trees(exchange: Exchange, true_values: Any) -> list[BidTree] | None:
    if true_values is None:
        return None
    if isinstance(true_values, Exchange):
        check_same_bidders(exchange, true_values, "true_values")
        return [b.tree for b in true_values.bidders]
    if isinstance(true_values, Mapping):
        missing = [n for n in exchange.names if n not in true_values]
        extra = [n for n in true_values if n not in exchange.names]
        if missing or extra:
            raise InvalidInputError(f"true_values must name exactly the exchange's bidders (missing {missing}, unknown {extra})")
        out = []
        for n in exchange.names:
            t = true_values[n]
            t = t.tree if hasattr(t, "tree") and isinstance(t.tree, BidTree) else t
            out.append(t if isinstance(t, BidTree) else BidTree.from_dict(t, exchange.goods))
        return out
    raise InvalidInputError(f"true_values must be an Exchange or a mapping bidder -> tree, got {type(true_values).__name__}")


def one_shot(
    exchange: Exchange,
    rule: str = "threshold",
    true_values: Exchange | Mapping[str, Any] | None = None,
    *,
    values: ValuesArg = "lower",
    model: WDModel | None = None,
) -> ExchangeOutcome:
    """The one-shot exchange: WD on reports, payments under ``rule``, utilities.

    ``true_values`` (an :class:`Exchange` with the same goods and bidders, or
    ``{bidder: tree}``) values each bidder's trade by its true tree at that tree's
    lower values (exact trees have lower = upper); default: the reports themselves.
    """
    res = compute_payments(exchange, rule, values, model=model)
    trees = _true_trees(exchange, true_values)
    if trees is None:
        truth = dict(res.allocation.bidder_values)
    else:
        truth = {}
        for i, (n, t) in enumerate(zip(exchange.names, trees)):
            lam = res.allocation.trade_matrix[i]
            if t.goods != exchange.goods:
                lam = {g: int(q) for g, q in zip(exchange.goods, lam)}
            truth[n] = value(t, lam, "lower")
    util = {n: truth[n] - res.payments[n] for n in exchange.names}
    return ExchangeOutcome(
        rule=rule,
        allocation=res.allocation,
        payments=res.payments,
        discounts=res.discounts,
        vcg_discounts=res.vcg_discounts,
        reported_values=dict(res.allocation.bidder_values),
        true_values=truth,
        utilities=util,
        budget_surplus=res.budget_surplus,
    )
