r"""The Vickrey-based payment-rule family of the exchange (Parkes, Kalagnanam and Eso, 2001).

Every rule here turns the bidders' VCG discounts ``Δvcg`` and the surplus ``V*`` (the
reported value of the efficient trade, which is what the exchange has to hand out) into
discounts ``Δ``; bidder i then pays ``v̂_i(λ*_i) − Δ_i``. VCG itself (``Δ = Δvcg``) is
truthful in the one-shot exchange but runs a deficit whenever ``Σ Δvcg > V*``. A
*budget-balanced* rule keeps

* ``0 ≤ Δ_i ≤ Δvcg_i`` (no bidder gets more than its VCG discount, none pays extra), and
* ``Σ Δ_i ≤ V*`` (the exchange never runs a deficit), with equality whenever
  ``Σ Δvcg ≥ V*`` (the whole surplus is handed out) — except ``no_discount``, which keeps it.

Within that set the rules pick the discounts closest to VCG under different distances.
Each is stated twice: as a closed form (what runs) and as the convex program it solves
(:attr:`PaymentRule.program`, written with cvxpy; the specification and the extension point,
and what the tests check the closed forms against). Ties between bidders with equal VCG
discounts are broken by bidder order.

====================  ============================================  ======================================
rule                  closed form                                    convex program
====================  ============================================  ======================================
``threshold``         ``Δ_i = max(0, Δvcg_i − C)``, smallest C ≥ 0   lexicographic min of max_i (Δvcg_i − Δ_i)
                      with ``Σ Δ ≤ V*``                               (the same Δ minimises the L2 distance)
``fractional``        ``Δ_i = μ·Δvcg_i``, ``μ = min(1, V*/Σ Δvcg)``   min Σ_i (Δvcg_i − Δ_i)² / Δvcg_i
                                                                      (relative L2 distance)
``reverse``           ``Δ_i = min(Δvcg_i, C)``, largest C with        min Σ_i Δ_i² with the budget used
                      ``Σ Δ ≤ V*``                                    (the most even split of V*)
``large``             surplus to the largest discounts first          L1-optimal (any split that uses the
                                                                      budget is); max Σ Δvcg_i·Δ_i among them
``small``             surplus to the smallest discounts first         L1-optimal; min Σ Δvcg_i·Δ_i among them
``no_discount``       ``Δ = 0``                                       min Σ Δ_i (no budget equality)
``vcg``               ``Δ = Δvcg`` (not budget balanced)              —
====================  ============================================  ======================================

Threshold is the exchange's rule: among budget-balanced rules it minimises the largest
distance to VCG, i.e. the largest ex-post incentive any one bidder has to manipulate.

A new rule is one call: :func:`register_convex_rule` takes a cvxpy objective (and optional
extra constraints) and registers a rule solved by cvxpy within the family's constraints::

    import cvxpy as cp
    register_convex_rule("l1.5", lambda d, vcg: cp.norm(vcg - d, 1.5), label="L1.5 distance")

>>> threshold([9.0, 2.0, 0.0, 1.0, 0.0], 9.0)  # the paper's four-buyer example: C = 1
array([8., 1., 0., 0., 0.])
>>> fractional([9.0, 2.0, 0.0, 1.0, 0.0], 6.0)
array([4.5, 1. , 0. , 0.5, 0. ])
>>> reverse([9.0, 2.0, 0.0, 1.0, 0.0], 6.0)
array([3., 2., 0., 1., 0.])
>>> large([9.0, 2.0, 0.0, 1.0, 0.0], 10.0), small([9.0, 2.0, 0.0, 1.0, 0.0], 10.0)
(array([9., 1., 0., 0., 0.]), array([7., 2., 0., 1., 0.]))
>>> rule = PAYMENT_RULES["threshold"]
>>> rule({"seller": 9.0, "buyer": 2.0}, 8.0)
{'seller': 7.5, 'buyer': 0.5}
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from auctionlab.errors import ConfigError, InvalidInputError, SolverError
from auctionlab.registry import Registry

__all__ = [
    "PAYMENT_RULES",
    "PaymentRule",
    "check_discount_inputs",
    "convex_discounts",
    "fractional",
    "large",
    "no_discount",
    "register_convex_rule",
    "reverse",
    "small",
    "threshold",
    "threshold_c",
    "vcg",
]

ClosedForm = Callable[[np.ndarray, float], np.ndarray]
Objective = Callable[[Any, np.ndarray], Any]  # (cvxpy Variable Δ, Δvcg) -> expression to minimise


# --------------------------------------------------------------------------- inputs
def check_discount_inputs(vcg_discounts: Any, surplus: Any) -> tuple[np.ndarray, float]:
    """VCG discounts as a 1-d float array of finite non-negative numbers and the surplus V*
    as a finite non-negative float; :class:`InvalidInputError` naming the bad value otherwise."""
    if isinstance(surplus, bool) or not isinstance(surplus, (int, float, np.integer, np.floating)):
        raise InvalidInputError(f"the surplus V* must be a number, got {surplus!r}")
    budget = float(surplus)
    if not math.isfinite(budget) or budget < 0:
        raise InvalidInputError(f"the surplus V* must be finite and non-negative, got {surplus!r}")
    try:
        d = np.asarray(vcg_discounts)
    except Exception as exc:  # ragged input and the like
        raise InvalidInputError(f"VCG discounts must be a 1-d array of numbers: {exc}") from None
    if d.ndim != 1 or d.dtype.kind not in "iuf":
        raise InvalidInputError(
            f"VCG discounts must be a 1-d array of real numbers, got dtype {d.dtype} and shape {d.shape}"
        )
    d = d.astype(float)
    bad = ~np.isfinite(d) | (d < 0)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InvalidInputError(f"VCG discount {i} must be finite and non-negative, got {d[i]!r}")
    return d, budget


# --------------------------------------------------------------------------- closed forms
def threshold_c(vcg_discounts: Any, surplus: float) -> float:
    """Smallest C ≥ 0 with Σ max(0, Δvcg_i − C) ≤ V*, exactly, by sorting.

    With d sorted non-increasing, C* = max(0, max_k (d_1 + … + d_k − V*)/k). Why: at C*,
    d_1 + … + d_k − k·C* ≤ Σ max(0, d_i − C*) ≤ V* for every k, so no term exceeds C*; and
    for k = #{d_i > C*} the middle inequality is an equality.

    >>> threshold_c([9.0, 2.0, 0.0, 1.0, 0.0], 9.0)
    1.0
    """
    d, budget = check_discount_inputs(vcg_discounts, surplus)
    d = np.sort(d)[::-1]
    if d.size == 0 or math.fsum(d) <= budget:
        return 0.0
    k = np.arange(1, d.size + 1)
    return max(0.0, float(np.max((np.cumsum(d) - budget) / k)))


def threshold(vcg_discounts: Any, surplus: float) -> np.ndarray:
    """Threshold: Δ_i = max(0, Δvcg_i − C) with the smallest C that meets the budget."""
    d, budget = check_discount_inputs(vcg_discounts, surplus)
    return np.maximum(0.0, d - threshold_c(d, budget))


def fractional(vcg_discounts: Any, surplus: float) -> np.ndarray:
    """Fractional: every VCG discount scaled by μ = min(1, V* / Σ Δvcg)."""
    d, budget = check_discount_inputs(vcg_discounts, surplus)
    total = math.fsum(d)
    return d.copy() if total <= budget else d * (budget / total)


def reverse(vcg_discounts: Any, surplus: float) -> np.ndarray:
    """Reverse: Δ_i = min(Δvcg_i, C) with the largest C that meets the budget.

    Water-filling from below: with d sorted non-decreasing, the first k bidders get their
    whole discount and the rest share what is left equally, C = (V* − d_1 − … − d_k)/(n − k)
    for the k with d_k ≤ C ≤ d_{k+1}.
    """
    d, budget = check_discount_inputs(vcg_discounts, surplus)
    if math.fsum(d) <= budget:
        return d.copy()
    s = np.sort(d)
    n = s.size
    before = np.concatenate([[0.0], np.cumsum(s)[:-1]])  # Σ of the k smallest, k = 0..n−1
    level = (budget - before) / (n - np.arange(n))  # C if the k smallest are paid in full
    k = int(np.flatnonzero(level <= s)[0])  # the first k whose own discount caps the level
    return np.minimum(d, level[k])


def _greedy(d: np.ndarray, budget: float, order: np.ndarray) -> np.ndarray:
    """Hand out the budget to the discounts in ``order``, each up to its VCG discount."""
    if math.fsum(d) <= budget:
        return d.copy()
    out = np.zeros_like(d)
    given = np.cumsum(d[order]) - d[order]
    out[order] = np.clip(budget - given, 0.0, d[order])
    return out


def large(vcg_discounts: Any, surplus: float) -> np.ndarray:
    """Large: the surplus goes to the largest VCG discounts first (ties by bidder order)."""
    d, budget = check_discount_inputs(vcg_discounts, surplus)
    return _greedy(d, budget, np.argsort(-d, kind="stable"))


def small(vcg_discounts: Any, surplus: float) -> np.ndarray:
    """Small: the surplus goes to the smallest VCG discounts first (ties by bidder order)."""
    d, budget = check_discount_inputs(vcg_discounts, surplus)
    return _greedy(d, budget, np.argsort(d, kind="stable"))


def no_discount(vcg_discounts: Any, surplus: float) -> np.ndarray:
    """No discount: every bidder pays its reported value (the exchange keeps the surplus)."""
    d, _ = check_discount_inputs(vcg_discounts, surplus)
    return np.zeros_like(d)


def vcg(vcg_discounts: Any, surplus: float) -> np.ndarray:
    """VCG: Δ = Δvcg (truthful in the one-shot exchange, not budget balanced)."""
    d, _ = check_discount_inputs(vcg_discounts, surplus)
    return d.copy()


# --------------------------------------------------------------------------- convex programs
def _cvxpy():
    try:
        import cvxpy as cp
    except ImportError:  # pragma: no cover - cvxpy is a dependency
        raise ConfigError("payment-rule programs need cvxpy (pip install cvxpy)") from None
    return cp


def _family_constraints(cp, delta, d: np.ndarray, budget: float, use_budget: bool) -> list:
    cons = [delta >= 0, delta <= d]
    if use_budget:  # the whole surplus is handed out when VCG would exceed it
        cons.append(cp.sum(delta) == min(budget, math.fsum(d)))
    else:
        cons.append(cp.sum(delta) <= budget)
    return cons


def _solve(cp, problem, what: str, lp: bool) -> None:
    try:
        if lp:
            # one thread: HiGHS keeps one task scheduler per process, and a different thread
            # count here would make every later HiGHS run in the process fail
            problem.solve(solver=cp.HIGHS, threads=1)
        else:
            problem.solve(solver=cp.CLARABEL, tol_gap_abs=1e-10, tol_gap_rel=1e-10, tol_feas=1e-10, max_iter=400)
    except cp.error.SolverError as exc:
        raise SolverError(f"the convex program of payment rule {what!r} failed: {exc}") from None
    if problem.status not in ("optimal", "optimal_inaccurate"):
        raise SolverError(f"the convex program of payment rule {what!r} ended with status {problem.status}")


def convex_discounts(
    vcg_discounts: Any,
    surplus: float,
    objective: Objective,
    *,
    constraints: Callable[[Any, np.ndarray], Sequence[Any]] | None = None,
    use_budget: bool = True,
    linear: bool = False,
    name: str = "custom",
) -> np.ndarray:
    """Discounts minimising ``objective(Δ, Δvcg)`` over the budget-balanced family.

    Constraints: ``0 ≤ Δ ≤ Δvcg`` and, with ``use_budget`` (the default), ``Σ Δ = min(V*, Σ Δvcg)``;
    without it only ``Σ Δ ≤ V*``. ``constraints(Δ, Δvcg)`` adds more. ``linear`` says the
    objective is linear (solved by HiGHS to a vertex); otherwise Clarabel runs with tight
    tolerances. The result is clipped into ``[0, Δvcg]`` to remove solver round-off.
    """
    cp = _cvxpy()
    d, budget = check_discount_inputs(vcg_discounts, surplus)
    if d.size == 0:
        return d.copy()
    delta = cp.Variable(d.size)
    cons = _family_constraints(cp, delta, d, budget, use_budget)
    if constraints is not None:
        cons += list(constraints(delta, d))
    problem = cp.Problem(cp.Minimize(objective(delta, d)), cons)
    _solve(cp, problem, name, linear)
    return np.clip(np.asarray(delta.value, dtype=float), 0.0, d)


def lexicographic_threshold(vcg_discounts: Any, surplus: float, *, tol: float = 1e-9) -> np.ndarray:
    """Threshold's program: minimise max_i (Δvcg_i − Δ_i), then lexicographically the rest.

    Each stage is an LP: minimise t subject to the family's constraints, ``Δvcg_i − Δ_i ≤ t``
    for the bidders not yet fixed and ``Δvcg_i − Δ_i ≤ level_i`` for those fixed earlier.
    Bidders whose cap row has a non-zero dual cannot do better than t (complementary
    slackness) and are fixed at t; repeat until every bidder is fixed.
    """
    cp = _cvxpy()
    d, budget = check_discount_inputs(vcg_discounts, surplus)
    n = d.size
    if n == 0:
        return d.copy()
    level = np.full(n, np.nan)
    while np.isnan(level).any():
        free = np.flatnonzero(np.isnan(level))
        fixed = np.flatnonzero(~np.isnan(level))
        delta, t = cp.Variable(n), cp.Variable()
        cons = _family_constraints(cp, delta, d, budget, True)
        caps = d[free] - delta[free] <= t
        cons.append(caps)
        if fixed.size:
            cons.append(d[fixed] - delta[fixed] <= level[fixed] + tol)
        problem = cp.Problem(cp.Minimize(t), cons)
        _solve(cp, problem, "threshold", True)
        t_star = max(float(t.value), 0.0)
        dual = np.atleast_1d(np.asarray(caps.dual_value, dtype=float))
        newly = np.abs(dual) > 1e-9
        if not newly.any():  # degenerate duals: fix the tight caps
            newly = d[free] - np.asarray(delta.value)[free] >= t_star - 1e-7
        if t_star <= tol or not newly.any():
            newly = np.ones(free.size, dtype=bool)
        level[free[newly]] = t_star
    return np.clip(d - level, 0.0, d)


def _rel_l2(delta, d):
    cp = _cvxpy()
    w = np.where(d > 0, 1.0 / np.where(d > 0, d, 1.0), 0.0)
    return cp.sum(cp.multiply(w, cp.square(d - delta)))


def _program(objective: Objective, *, name: str, linear: bool = False, use_budget: bool = True):
    def program(vcg_discounts: Any, surplus: float) -> np.ndarray:
        return convex_discounts(vcg_discounts, surplus, objective, use_budget=use_budget, linear=linear, name=name)

    return program


# --------------------------------------------------------------------------- the registry
@dataclass(frozen=True)
class PaymentRule:
    """One payment rule: ``rule(vcg_discounts, surplus) -> discounts``.

    ``discounts`` is the function that runs (closed form, or the convex program for rules
    registered by :func:`register_convex_rule`); ``program`` the convex program it is
    specified by (None for VCG). Call the rule with an array (array out) or a mapping
    bidder -> VCG discount (mapping out, same keys and order).
    """

    name: str
    label: str
    discounts: ClosedForm
    program: ClosedForm | None
    budget_balanced: bool
    uses_budget: bool = True  # Σ Δ = min(V*, Σ Δvcg)
    description: str = ""

    def __call__(self, vcg_discounts: Mapping[str, float] | Any, surplus: float) -> Any:
        if isinstance(vcg_discounts, Mapping):
            names = list(vcg_discounts)
            out = self.discounts(np.array([vcg_discounts[n] for n in names], dtype=float), surplus)
            return dict(zip(names, map(float, out)))
        return self.discounts(vcg_discounts, surplus)


PAYMENT_RULES: Registry[PaymentRule] = Registry("payment rule")
"""Every payment rule by name; ``payment_rule=`` in the exchange, ICE and specs takes any of them."""

for _rule in (
    PaymentRule(
        "threshold",
        "Threshold",
        threshold,
        lexicographic_threshold,
        True,
        description="smallest largest distance to VCG (the exchange's rule)",
    ),
    PaymentRule(
        "fractional",
        "Fractional",
        fractional,
        _program(_rel_l2, name="fractional"),
        True,
        description="VCG discounts scaled by one factor",
    ),
    PaymentRule(
        "reverse",
        "Reverse",
        reverse,
        _program(lambda delta, d: _cvxpy().sum_squares(delta), name="reverse"),
        True,
        description="discounts capped at one level: the most even split of the surplus",
    ),
    PaymentRule(
        "large",
        "Large",
        large,
        _program(lambda delta, d: -(d @ delta), name="large", linear=True),
        True,
        description="surplus to the largest VCG discounts first",
    ),
    PaymentRule(
        "small",
        "Small",
        small,
        _program(lambda delta, d: d @ delta, name="small", linear=True),
        True,
        description="surplus to the smallest VCG discounts first",
    ),
    PaymentRule(
        "no_discount",
        "No discount",
        no_discount,
        _program(lambda delta, d: _cvxpy().sum(delta), name="no_discount", linear=True, use_budget=False),
        True,
        uses_budget=False,
        description="every bidder pays its reported value",
    ),
    PaymentRule(
        "vcg",
        "VCG",
        vcg,
        None,
        False,
        uses_budget=False,
        description="VCG discounts: truthful in the one-shot exchange, runs a deficit",
    ),
):
    PAYMENT_RULES.register(_rule.name, _rule)


def register_convex_rule(
    name: str,
    objective: Objective,
    *,
    label: str | None = None,
    constraints: Callable[[Any, np.ndarray], Sequence[Any]] | None = None,
    linear: bool = False,
    overwrite: bool = False,
) -> PaymentRule:
    """Register a budget-balanced rule given by a cvxpy objective ``objective(Δ, Δvcg)``.

    The rule minimises the objective over ``0 ≤ Δ ≤ Δvcg``, ``Σ Δ = min(V*, Σ Δvcg)`` (plus
    ``constraints``), solved by cvxpy at every call; it is then usable by name wherever a
    payment rule is (one-shot exchange, ICE, specs).
    """
    if not callable(objective):
        raise ConfigError(f"payment rule {name!r}: objective must be callable (Δ, Δvcg) -> cvxpy expression")

    def run(vcg_discounts: Any, surplus: float) -> np.ndarray:
        return convex_discounts(vcg_discounts, surplus, objective, constraints=constraints, linear=linear, name=name)

    rule = PaymentRule(name, label or name, run, run, True, description="user-registered convex program")
    PAYMENT_RULES.register(name, rule, overwrite=overwrite)
    return rule
