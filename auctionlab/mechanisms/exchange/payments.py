"""VCG and Threshold payments, and the one-shot (sealed-bid) exchange (the paper's §4.3).

* VCG discount ``Δvcg_i = V* − V_{−i}``; payment ``p_i = v̂_i(λ*_i) − Δ_i``.
* Threshold (Def. 2): ``Δ_i = max(0, Δvcg_i − C)`` with the smallest ``C ≥ 0`` such that
  ``Σ Δ_i ≤ V*`` — the canonical (lexicographic min-max) solution, computed exactly by
  sorting (``C = max(0, max_k (Σ_{top k} Δvcg − V*)/k)``), never by bisection.

All n + 1 solves reuse one :class:`~auctionlab.mechanisms.exchange.mip.WDProgram`; with an
executor the n V_{−i} solves run in a few chunks on models the workers build once per
exchange structure and keep (:func:`values_without`). A bidder
whose efficient trade only receives goods (λ*_i ≥ 0) and who contributes v̂_i(λ*_i) ≤ 0
provably has Δvcg_i = 0 (λ* minus its part stays feasible without it, so
V_{−i} ≥ V* − v̂_i ≥ V*), so its solve is skipped; ``skip_idle=False`` forces it.
"""

from __future__ import annotations

import hashlib
import math
import os
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any

import numpy as np

from auctionlab.errors import ConfigError, InvalidInputError, SolverError, UnknownNameError
from auctionlab.mechanisms.exchange.instance import Exchange, check_same_bidders
from auctionlab.mechanisms.exchange.mip import Allocation, WDProgram, _model_for
from auctionlab.mechanisms.exchange.payment_rules import PAYMENT_RULES, threshold_c
from auctionlab.mechanisms.exchange.tbbl import BidTree, ValuesArg, value


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


def threshold_discounts(vcg: Mapping[str, float] | np.ndarray, budget: float) -> Any:
    """Threshold discounts Δ_i = max(0, Δvcg_i − C) for VCG discounts and budget V*
    (``PAYMENT_RULES["threshold"]``; a mapping in gives a mapping out)."""
    return PAYMENT_RULES["threshold"](vcg, budget)


# --------------------------------------------------------------------------- V_{−i} solves
def structure_digest(exchange: Exchange) -> str:
    """A hash of what a :class:`WDProgram` is built from: goods, bidders, endowments and the
    trees' shape and trades — not the bounds, which a built model takes by ``rebind``."""
    h = hashlib.sha256()
    h.update(repr((exchange.goods, exchange.names)).encode())
    h.update(np.ascontiguousarray(exchange.endowments, dtype=np.int64).tobytes())
    for b in exchange.bidders:
        t = b.tree
        h.update(repr(t.paths).encode())
        for a in (t.parent, t.is_leaf, t.ic_x, t.ic_y, t.trade):
            arr = np.ascontiguousarray(a)
            h.update(repr((arr.dtype.str, arr.shape)).encode())
            h.update(arr.tobytes())
    return h.hexdigest()


def executor_workers(executor: Executor | None) -> int | None:
    """How many tasks ``executor`` runs at once, when it says so: a Dask executor's total
    worker threads, else the pool's ``_max_workers`` (a best-effort read of a private
    attribute of ``concurrent.futures`` pools); None when unknown."""
    client = getattr(executor, "_client", None)
    if client is not None:
        try:
            return int(sum(client.nthreads().values())) or None
        except Exception:  # noqa: BLE001 - a hint only
            return None
    n = getattr(executor, "_max_workers", None)
    return int(n) if isinstance(n, int) and n > 0 else None


def _cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def chunk_count(executor: Executor | None, workers: int | None = None) -> int:
    """Chunks to split a batch of V_{−i} solves into: ``workers`` when given, else what the
    executor reports (:func:`executor_workers`), else twice this machine's cores."""
    if workers is not None:
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
            raise ConfigError(f"workers must be a positive integer, got {workers!r}")
        return workers
    return executor_workers(executor) or 2 * _cpu_count()


#: the models built in this process for executor tasks, per thread (a model is not
#: thread-safe), most recently used last; a worker keeps a few exchanges' models
_WORKER_MODELS = threading.local()
_WORKER_CACHE_SIZE = 4


def _worker_model(exchange: Exchange, digest: str, model_kwargs: Mapping[str, Any]) -> WDProgram:
    """The model for ``exchange``'s structure built earlier in this thread, or a new one.

    Reusing it across rounds is safe because every solve starts from a cleared solver state
    (the answer depends on the model's data only) and each chunk runs inside a scope."""
    cache: OrderedDict | None = getattr(_WORKER_MODELS, "cache", None)
    if cache is None:
        cache = _WORKER_MODELS.cache = OrderedDict()
    key = (digest, tuple(sorted((str(k), repr(v)) for k, v in model_kwargs.items())))
    model = cache.pop(key, None)
    if model is None or not model.exchange.same_structure(exchange):
        model = WDProgram(exchange, **model_kwargs)
    cache[key] = model
    while len(cache) > _WORKER_CACHE_SIZE:
        cache.popitem(last=False)
    return model


def _without_on(model: WDProgram, node_values: np.ndarray, i: int) -> float:
    """V_{−i} at ``node_values`` on ``model`` (left as it was found)."""
    with model.scope():
        model.set_node_values(node_values)
        model.exclude(i)
        sol = model.solve()
    assert sol is not None
    return sol.value_of(node_values)


def _solve_chunk(
    exchange: Exchange,
    digest: str,
    model_kwargs: Mapping[str, Any],
    node_values: Sequence[np.ndarray],
    pairs: Sequence[tuple[int, int]],
) -> list[float]:
    """Executor task: V_{−i} for each (profile j, bidder i) of ``pairs`` on one model of
    this worker, ``node_values[j]`` being profile j's node values."""
    model = _worker_model(exchange, digest, model_kwargs)
    with model.scope():
        model.rebind(exchange)
        return [_without_on(model, node_values[j], i) for j, i in pairs]


def values_without(
    exchange: Exchange,
    jobs: Sequence[tuple[np.ndarray, Sequence[int]]],
    *,
    model: WDProgram,
    executor: Executor | None = None,
    workers: int | None = None,
    model_kwargs: Mapping[str, Any] | None = None,
) -> list[list[float]]:
    """V_{−i} for every (node values, bidders to exclude) job: one list per job.

    Serially every solve runs on ``model``. With an ``executor`` all the jobs' solves are
    dealt round-robin into :func:`chunk_count` chunks, one task per chunk; a task solves its
    exclusions one after the other on a single model, which the worker builds once per
    exchange structure (``WDProgram(exchange, **model_kwargs)``) and keeps for later batches.
    The exchange is pickled once per chunk, not once per solve. Values are identical to
    the serial ones: the same model data gives the same solve.
    """
    tasks = [(j, int(i)) for j, (_, todo) in enumerate(jobs) for i in todo]
    out: list[list[float]] = [[] for _ in jobs]
    if not tasks:
        return out
    vals = [np.asarray(v, dtype=float) for v, _ in jobs]
    if executor is None:
        with model.scope():
            results = [_without_on(model, vals[j], i) for j, i in tasks]
    else:
        k = min(len(tasks), chunk_count(executor, workers))
        chunks = [tasks[c::k] for c in range(k)]
        digest = structure_digest(exchange)
        kwargs = dict(model_kwargs or {})
        futures = [executor.submit(_solve_chunk, exchange, digest, kwargs, vals, chunk) for chunk in chunks]
        per_chunk = [f.result() for f in futures]
        by_task = {t: v for chunk, res in zip(chunks, per_chunk) for t, v in zip(chunk, res)}
        results = [by_task[t] for t in tasks]
    for (j, _), v in zip(tasks, results):
        out[j].append(v)
    return out


def model_kwargs_of(model: WDProgram) -> dict[str, Any]:
    """What a worker needs to build a model that solves like ``model``: its solver and
    whether λ is integer (solver options are not carried over)."""
    return {"solver": model.solver, "integer_lambda": model.integer_lambda}


def _payment_model(
    exchange: Exchange, model: WDProgram | None, model_kwargs: Mapping[str, Any] | None, solver: str | None
) -> tuple[WDProgram, dict[str, Any]]:
    """The model to solve on and the keyword arguments of the workers' models.

    ``model_kwargs`` build the model when none is given (``solver`` is a shorthand for
    ``{"solver": ...}``); the workers' models get them too, with the solving model's own
    solver and λ integrality (so that every V_{−i} is solved as the serial path would)."""
    kwargs = dict(model_kwargs or {})
    if solver is not None:
        if kwargs.get("solver", solver) != solver:
            raise InvalidInputError(f"solver={solver!r} contradicts model_kwargs solver {kwargs['solver']!r}")
        kwargs["solver"] = solver
    if model is None:
        if not isinstance(exchange, Exchange):
            raise InvalidInputError(f"expected an Exchange, got {type(exchange).__name__}")
        model = WDProgram(exchange, **kwargs)
    else:
        model = _model_for(exchange, model)
        if solver is not None and model.solver != solver:
            raise InvalidInputError(f"solver={solver!r} but the model given solves with {model.solver!r}")
    return model, {**kwargs, **model_kwargs_of(model)}  # the workers solve like the model itself


def vcg_discount_arrays(
    exchange: Exchange,
    profiles: Sequence[tuple[ValuesArg, Allocation | None]],
    *,
    model: WDProgram | None = None,
    skip_idle: bool = True,
    executor: Executor | None = None,
    workers: int | None = None,
    model_kwargs: Mapping[str, Any] | None = None,
    solver: str | None = None,
) -> list[tuple[Allocation, np.ndarray, int]]:
    """(λ*, Δvcg per bidder in order, solves made) for several value profiles at once.

    Each profile is ``(values, allocation)``: ``allocation`` is the efficient trade at
    ``values`` when the caller has already solved it on this model (its solve is then not
    repeated), else None. The efficient trades are solved first, then every profile's
    V_{−i} solves go out as one batch (:func:`values_without`), so an executor's workers
    stay busy across profiles.
    """
    model, model_kwargs = _payment_model(exchange, model, model_kwargs, solver)
    heads = []
    with model.scope():
        model.rebind(exchange)
        for values, alloc in profiles:
            solved = 0
            if alloc is None:
                alloc, solved = model.solve_wd(values), 1
            vals = model._values(values)
            todo = [
                i
                for i, b in enumerate(exchange.bidders)
                if not (skip_idle and np.all(alloc.trade_matrix[i] >= 0) and alloc.bidder_values[b.name] <= 0.0)
            ]
            heads.append((alloc, vals, todo, solved))
        v_minus = values_without(
            exchange,
            [(vals, todo) for _, vals, todo, _ in heads],
            model=model,
            executor=executor,
            workers=workers,
            model_kwargs=model_kwargs,
        )
    out = []
    for (alloc, _, todo, solved), vms in zip(heads, v_minus):
        v_star = alloc.value
        scale = 1.0 + abs(v_star)
        disc = np.zeros(exchange.n_bidders)
        for i, vm in zip(todo, vms):
            if vm > v_star + 1e-6 * scale:
                raise SolverError(
                    f"V_-{exchange.names[i]} = {vm} exceeds V* = {v_star}: the first solve was not optimal"
                )
            disc[i] = max(0.0, v_star - vm)
        out.append((alloc, disc, solved + len(todo)))
    return out


def vcg_discount_array(
    exchange: Exchange,
    values: ValuesArg = "lower",
    *,
    model: WDProgram | None = None,
    skip_idle: bool = True,
    executor: Executor | None = None,
    workers: int | None = None,
    allocation: Allocation | None = None,
    model_kwargs: Mapping[str, Any] | None = None,
    solver: str | None = None,
) -> tuple[Allocation, np.ndarray, int]:
    """(λ*, Δvcg per bidder in order, number of WD solves) with one reused model.

    With an ``executor`` (a ``ProcessPoolExecutor``, a Dask ``Client.get_executor()``, …)
    the V_{−i} solves run in parallel in chunks (:func:`values_without`; ``workers`` sets
    the number of chunks); results are identical to serial. ``allocation``: λ* at
    ``values``, when already solved on this model. ``model_kwargs`` (or ``solver``: a
    backend name) build the model when none is given, and the workers' models.
    """
    (res,) = vcg_discount_arrays(
        exchange,
        [(values, allocation)],
        model=model,
        skip_idle=skip_idle,
        executor=executor,
        workers=workers,
        model_kwargs=model_kwargs,
        solver=solver,
    )
    return res


def _payment_result(exchange: Exchange, rule: str, alloc: Allocation, vcg: np.ndarray, solves: int) -> PaymentResult:
    names = exchange.names
    budget = max(alloc.value, 0.0)  # V* ≥ 0 (the empty trade is feasible); clip round-off
    disc = PAYMENT_RULES[rule](vcg, budget)
    c = threshold_c(vcg, budget) if rule == "threshold" else None
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


def check_rule(rule: Any) -> str:
    """A registered payment-rule name (:data:`PAYMENT_RULES`), or :class:`ConfigError` listing them."""
    if not isinstance(rule, str):
        raise ConfigError(f"payment_rule must be a name, one of {', '.join(PAYMENT_RULES)}; got {rule!r}")
    if rule not in PAYMENT_RULES:
        raise UnknownNameError(f"unknown payment_rule {rule!r}; available: {', '.join(sorted(PAYMENT_RULES))}")
    return rule


def payments_batch(
    exchange: Exchange,
    requests: Sequence[tuple[str, ValuesArg, Allocation | None]],
    *,
    model: WDProgram | None = None,
    skip_idle: bool = True,
    executor: Executor | None = None,
    workers: int | None = None,
    model_kwargs: Mapping[str, Any] | None = None,
    solver: str | None = None,
) -> list[PaymentResult]:
    """:func:`compute_payments` for several ``(rule, values, allocation)`` requests, their
    V_{−i} solves in one batch (see :func:`vcg_discount_arrays`)."""
    for rule, _, _ in requests:
        check_rule(rule)
    arrays = vcg_discount_arrays(
        exchange,
        [(v, a) for _, v, a in requests],
        model=model,
        skip_idle=skip_idle,
        executor=executor,
        workers=workers,
        model_kwargs=model_kwargs,
        solver=solver,
    )
    return [_payment_result(exchange, rule, *arr) for (rule, _, _), arr in zip(requests, arrays)]


def compute_payments(
    exchange: Exchange,
    rule: str = "threshold",
    values: ValuesArg = "lower",
    *,
    model: WDProgram | None = None,
    skip_idle: bool = True,
    executor: Executor | None = None,
    workers: int | None = None,
    allocation: Allocation | None = None,
    model_kwargs: Mapping[str, Any] | None = None,
    solver: str | None = None,
) -> PaymentResult:
    """Efficient trade and payments under ``rule``, any name of :data:`PAYMENT_RULES`
    ("threshold", the exchange's rule; "vcg"; the other budget-balanced rules).

    ``solver`` names the MIP backend of the model built here (default "highs"); a given
    ``model`` must use it. ``n_solves`` counts the solves made here (one fewer when
    ``allocation`` is given).

    The worked examples of the ICE paper. One seller of A and B valuing each at 5, one buyer
    valuing each at 10: VCG pays the seller 20 and charges the buyer 10 (a deficit of 10);
    Threshold splits the surplus, 5 each.

    >>> from auctionlab.mechanisms.exchange import AND, OR, XOR, Exchange, leaf
    >>> ex1 = Exchange.from_dict({"goods": ["A", "B"], "bidders": {
    ...     "seller": {"endowment": {"A": 1, "B": 1}, "tree": AND(leaf({"A": -1}, -5), leaf({"B": -1}, -5))},
    ...     "buyer": {"tree": AND(leaf({"A": 1}, 10), leaf({"B": 1}, 10))}}})
    >>> compute_payments(ex1, "vcg").payments
    {'seller': -20.0, 'buyer': 10.0}
    >>> res = compute_payments(ex1, "threshold")
    >>> res.discounts, res.payments, res.budget_surplus
    ({'seller': 5.0, 'buyer': 5.0}, {'seller': -15.0, 'buyer': 15.0}, 0.0)

    A seller of A, B, C, D (OR of single sales, value 0) and four buyers: AND(A, B) at 6,
    XOR(A, B) at 4, AND(C, D) at 3, XOR(C, D) at 2. The efficient trade gives AB to buyer 1 and
    CD to buyer 3 (value 9); the VCG discounts are (9, 2, 0, 1, 0) and run a deficit of 3; the
    Threshold discounts (8, 1, 0, 0, 0) with C = 1 balance the budget.

    >>> goods = ["A", "B", "C", "D"]
    >>> ex2 = Exchange.from_dict({"goods": goods, "bidders": {
    ...     "seller": {"endowment": dict.fromkeys(goods, 1), "tree": OR(*(leaf({g: -1}) for g in goods), value=0)},
    ...     "buyer1": {"tree": AND(leaf({"A": 1}), leaf({"B": 1}), value=6)},
    ...     "buyer2": {"tree": XOR(leaf({"A": 1}), leaf({"B": 1}), value=4)},
    ...     "buyer3": {"tree": AND(leaf({"C": 1}), leaf({"D": 1}), value=3)},
    ...     "buyer4": {"tree": XOR(leaf({"C": 1}), leaf({"D": 1}), value=2)}}})
    >>> vcg = compute_payments(ex2, "vcg", skip_idle=False)
    >>> vcg.allocation.value, list(vcg.vcg_discounts.values()), vcg.budget_surplus
    (9.0, [9.0, 2.0, 0.0, 1.0, 0.0], -3.0)
    >>> thr = compute_payments(ex2, "threshold")
    >>> list(thr.discounts.values()), list(thr.payments.values()), thr.threshold_c
    ([8.0, 1.0, 0.0, 0.0, 0.0], [-8.0, 5.0, 0.0, 3.0, 0.0], 1.0)

    A seller of all four goods as one AND at -18, buyer 1 AND(A, B) at 11, buyer 2 AND(C, D)
    at 8: value 1; removing anyone leaves no trade, so every VCG discount is 1 and Threshold
    gives each a third.

    >>> ex3 = Exchange.from_dict({"goods": goods, "bidders": {
    ...     "seller": {"endowment": dict.fromkeys(goods, 1), "tree": AND(*(leaf({g: -1}) for g in goods), value=-18)},
    ...     "buyer1": {"tree": AND(leaf({"A": 1}), leaf({"B": 1}), value=11)},
    ...     "buyer2": {"tree": AND(leaf({"C": 1}), leaf({"D": 1}), value=8)}}})
    >>> res = compute_payments(ex3, "threshold")
    >>> res.allocation.value, [round(d, 6) for d in res.discounts.values()]
    (1.0, [0.333333, 0.333333, 0.333333])
    """
    (res,) = payments_batch(
        exchange,
        [(rule, values, allocation)],
        model=model,
        skip_idle=skip_idle,
        executor=executor,
        workers=workers,
        model_kwargs=model_kwargs,
        solver=solver,
    )
    return res


def vcg_discounts(
    exchange: Exchange, values: ValuesArg = "lower", *, model: WDProgram | None = None
) -> dict[str, float]:
    """Δvcg_i = V* − V_{−i} per bidder."""
    _, d, _ = vcg_discount_array(exchange, values, model=model)
    return dict(zip(exchange.names, map(float, d)))


def vcg_payments(
    exchange: Exchange, values: ValuesArg = "lower", *, model: WDProgram | None = None
) -> dict[str, float]:
    """VCG payments p_i = v̂_i(λ*_i) − Δvcg_i (negative: the bidder is paid)."""
    return compute_payments(exchange, "vcg", values, model=model).payments


def threshold_payments(
    exchange: Exchange, values: ValuesArg = "lower", *, model: WDProgram | None = None
) -> dict[str, float]:
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
            raise InvalidInputError(
                f"true_values must name exactly the exchange's bidders (missing {missing}, unknown {extra})"
            )
        out = []
        for n in exchange.names:
            t = true_values[n]
            t = t.tree if hasattr(t, "tree") and isinstance(t.tree, BidTree) else t
            out.append(t if isinstance(t, BidTree) else BidTree.from_dict(t, exchange.goods))
        return out
    raise InvalidInputError(
        f"true_values must be an Exchange or a mapping bidder -> tree, got {type(true_values).__name__}"
    )


def one_shot(
    exchange: Exchange,
    rule: str = "threshold",
    true_values: Exchange | Mapping[str, Any] | None = None,
    *,
    values: ValuesArg = "lower",
    model: WDProgram | None = None,
    solver: str | None = None,
) -> ExchangeOutcome:
    """The one-shot exchange: WD on reports, payments under ``rule``, utilities.

    ``true_values`` (an :class:`Exchange` with the same goods and bidders, or
    ``{bidder: tree}``) values each bidder's trade by its true tree at that tree's
    lower values (exact trees have lower = upper); default: the reports themselves.
    ``solver``: the MIP backend of the payments' model (see :func:`compute_payments`).
    """
    res = compute_payments(exchange, rule, values, model=model, solver=solver)
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
