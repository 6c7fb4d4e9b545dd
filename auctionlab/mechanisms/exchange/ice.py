"""ICE: the iterative combinatorial exchange as an explicit round-based state machine
(paper §5).

Each round t:

1. bidders submit revised bounds (:meth:`IterativeExchange.submit`, through proxies);
   from round 1 on, each submission is checked by the revealed-preference rule at the
   previous round's prices p^{t−1}; a bidder may revise and re-query; a bidder whose last
   check failed is penalised when the round closes;
2. :meth:`IterativeExchange.close_round` computes PP, PO, αeff, αthresh (every round, or
   only where the closing rule can depend on it: ``track_alpha_thresh``), the
   α-valuation, the provisional trade λ^t = WD(v^α), provisional prices p^t
   (ACC → FAIR → BAL) and the closing rule; when it fires, the next round is the
   last-and-final one;
3. after the last-and-final round the trade is WD(v̲) and payments are Threshold
   payments at v̲.

A run closes by the closing rule (``closed_by`` "cutoffs" or "no_optimistic_trade"), at
``max_rounds`` ("max_rounds"), or, with ``stop_on_stall``, as soon as it has stalled
("stalled"): when the state a round leaves — every bidder's bounds, the provisional
prices, trade and satisfied nodes, the price LP's trade pool — is exactly the state the
previous round left, and every proxy of the round declared itself stationary (its answer
depends only on the feedback, not on the round number, on earlier queries or on chance).
Nothing else the next round computes depends on the round number (the activity rule,
the penalty, winner determination, the payments and the price LP are functions of that
state, and every solve starts from a cleared solver state), so every later round would
repeat it: the closing rule would never fire, and the run to ``max_rounds`` would end
with the same last-and-final round. A stalled run goes to that round at once; its trade,
payments, prices and αeff are those of the run to ``max_rounds``; only ``rounds`` (the
rounds actually run, the last-and-final one included) is smaller.

One :class:`~auctionlab.mechanisms.exchange.mip.WDProgram` is built for the whole run and
re-bound to each round's bounds; the price LP's trade pool Λ_i persists across rounds.
The history is data (:attr:`IterativeExchange.history`), convertible to pandas.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Mapping
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from auctionlab._validate import check_bool, check_choice, check_float, check_int
from auctionlab.errors import ConfigError, InternalError, InvalidInputError, RevisionError, StateError
from auctionlab.mechanisms.exchange.activity import TOL, NodePrices, RPResult, definition_holds, revealed_preference
from auctionlab.mechanisms.exchange.backends import get_backend
from auctionlab.mechanisms.exchange.closing import (
    alpha_eff,
    alpha_thresh,
    alpha_thresh_matters,
    check_cutoff,
    check_track_alpha_thresh,
    gamma_eff,
    gamma_thresh,
    payment_gap,
    should_close,
)
from auctionlab.mechanisms.exchange.instance import Exchange
from auctionlab.mechanisms.exchange.mip import Allocation, MIPSolution, WDProgram
from auctionlab.mechanisms.exchange.patterns import DEFAULT_LIMIT, PatternTable, check_limit, one_bidder_model
from auctionlab.mechanisms.exchange.payment_rules import PAYMENT_RULES
from auctionlab.mechanisms.exchange.payments import PaymentResult, check_rule, chunk_count, payments_batch
from auctionlab.mechanisms.exchange.pricing import PriceResult, TradePool, linear_prices
from auctionlab.mechanisms.exchange.proxies import Feedback, Proxy
from auctionlab.mechanisms.exchange.tbbl import ValuesArg

RP_CHECKS = ("paper", "definition")
"""How the activity rule decides: Proposition 1's test (the paper's), or, where that test
fails, the exact check of the definition (an extension)."""

PRICE_EPS = 1e-7
"""Default relaxation ε of the price LP's fixed constraints, in the value unit: a tenth of
the default RP tolerance, so the activity rule's verdicts do not hinge on the relaxation."""


CLOSED_BY = ("cutoffs", "no_optimistic_trade", "max_rounds", "stalled")
"""How a run closed: by the cutoffs, with no trade at the upper values (both the closing
rule), at ``max_rounds``, or because it stalled (its state repeated: see the module docstring)."""

SOLVE_KINDS = ("wd", "fixed", "vcg_lower", "vcg_upper", "vcg_alpha", "truth", "rp", "penalty", "rwd", "lp")
"""Solve counts in a round record: winner determination on the whole exchange at the
lower, upper and α values (``wd``), PO's fixed-trade solve (``fixed``), the V_{−i} solves
at the lower / upper bounds and at v^α (``vcg_*``), the truth model's (``truth``), the
bidder models' in the activity rule (``rp``: RP1–RP3 checks; ``penalty``: node prices)
and in pricing (``rwd``: R-WD(i) of constraint generation), and the price LPs (``lp``)."""


@dataclass(frozen=True, eq=False)
class BidderRound:
    """One bidder in one round."""

    bidder: str
    lower: np.ndarray
    upper: np.ndarray
    rp: RPResult | None
    queries: int
    penalized: bool
    trade: np.ndarray  # provisional trade λ^t_i
    accuracy_error: float
    fairness_error: float


@dataclass(frozen=True, eq=False)
class RoundRecord:
    """Everything the exchange computed in one round."""

    round: int
    final: bool
    pp: float
    po: float
    gamma_eff: float
    alpha_eff: float
    gamma_thresh: float
    alpha_thresh: float
    payment_gap: float
    n_active: int
    optimistic_trade: bool
    provisional_value: float  # v^α value of λ^t
    trade: np.ndarray  # λ^t (n, m)
    prices: np.ndarray | None  # p^t (None in the last-and-final round)
    closing: bool  # the closing rule fired this round
    bidders: tuple[BidderRound, ...]
    efficiency: float | None  # true value of λ^t / efficient true value, when truth is known
    timing: dict[str, float]
    price_stats: dict[str, int] = field(default_factory=dict)
    alpha_thresh_computed: bool = True  # False: αthresh, γthresh, payment_gap are NaN (not needed)
    solve_counts: dict[str, int] = field(default_factory=dict)  # solves this round, by kind (SOLVE_KINDS)


@dataclass(frozen=True, eq=False)
class ICEResult:
    """The final outcome: trade WD(v̲), payments at v̲ under the run's payment rule, and
    the history. ``rounds`` counts the rounds run, the last-and-final one included: a
    run that ``closed_by`` "stalled" would have repeated its last round until
    ``max_rounds`` with this same outcome (see the module docstring). ``payments_by_rule`` holds the final trade's payments under every
    registered payment rule: the bidding never depends on the payment rule, so one run
    gives them all (the same numbers as a run with that ``payment_rule``)."""

    allocation: Allocation
    payments: dict[str, float]
    rounds: int  # rounds run, the last-and-final one included (a stalled run stops early)
    closed_by: str  # one of CLOSED_BY: "cutoffs", "no_optimistic_trade", "max_rounds" or "stalled"
    history: list[RoundRecord]
    utilities: dict[str, float] | None = None
    efficiency: float | None = None
    payments_by_rule: dict[str, dict[str, float]] = field(default_factory=dict)

    @property
    def budget_surplus(self) -> float:
        return math.fsum(self.payments.values())


class IterativeExchange:
    """The ICE state machine. ``exchange`` gives the bid-tree structure, endowments and the
    initial bounds; ``truth`` (optional, same structure, exact values) is used only to
    report efficiency and utilities — the mechanism never reads it. ``payment_rule``
    chooses the final payments at v̲: "threshold" (ICE's rule) or any other name of
    :data:`~auctionlab.mechanisms.exchange.payment_rules.PAYMENT_RULES` (for comparison).

    ``track_alpha_thresh``: "needed" (default) computes the Threshold payments at both
    bounds — 2n V_{−i} solves, the bulk of a round — only in rounds where the closing rule
    can depend on αthresh (αeff at its cutoff and an optimistic trade), and in the
    last-and-final round only at the lower bounds, which the final payments need; other
    rounds record αthresh, γthresh and the payment gap as NaN with
    ``alpha_thresh_computed = False``. Trades, prices, payments and the closing round are
    the same as with "always", which computes αthresh every round (for studies of its
    trajectory).

    ``solver`` names the MIP backend of every model (winner determination, payments,
    bidder problems; see :data:`~auctionlab.mechanisms.exchange.backends.BACKENDS`).
    ``pattern_limit``: a bidder's one-bidder problems (R-WD in the price feedback, the
    activity rule, node prices for penalties) are answered by enumerating its tree's valid
    satisfaction patterns when it has at most this many (a few dozen is typical), else by
    its one-bidder MIP; 0 uses the MIP always (see :mod:`~auctionlab.mechanisms.exchange.patterns`).
    ``integer_lambda=True`` makes the trade columns of winner determination integer again
    (they are continuous by default, which is exact: see :mod:`~auctionlab.mechanisms.exchange.mip`).
    Both exist to compare against the plain formulation; outcomes are the same.

    ``rp`` chooses the activity rule's test: ``"paper"`` (default) is Proposition 1's
    test, which is sufficient but not necessary for the definition of revealed preference;
    ``"definition"`` (an extension) accepts, where that test fails, a bidder that meets the
    definition exactly (:func:`~auctionlab.mechanisms.exchange.activity.definition_holds`; it
    needs every tree enumerable within ``pattern_limit``). The record keeps both verdicts
    (``RPResult.paper_passed``, ``RPResult.definition``). ``rp_tol`` is the RP tolerance
    and ``price_eps`` the price LP's relaxation ε, both relative; ``rp_tol`` may not be
    below ``price_eps`` (the defaults keep it ten times larger).

    Units. Values of any magnitude give the same trades, verdicts and rounds: the models
    work in the exchange's value unit (:func:`value_unit`: 1 at ordinary magnitudes, else
    the power of 1000 that brings the largest bound between 1e-3 and 1e6), and everything
    the caller sees — bounds, feedback (``Feedback.scale`` is the unit), prices, records,
    payments — is in the caller's units.

    ``executor`` (a ``ProcessPoolExecutor``, a Dask ``Client.get_executor()``, …) runs
    each round's V_{−i} solves in parallel, in ``workers`` chunks (default: what the
    executor reports, else twice the cores); results are identical to serial. Give it only
    to a run that is not itself one of several parallel runs (one level of parallelism).

    ``stop_on_stall`` (default True): go to the last-and-final round as soon as a round
    leaves exactly the state the previous round left, when every bidder of that round bid
    through :meth:`bid` with a proxy whose ``stationary`` attribute is true (``closed_by``
    "stalled"; see the module docstring). The outcome is the one of the run to
    ``max_rounds``; False runs to ``max_rounds`` anyway.
    """

    def __init__(
        self,
        exchange: Exchange,
        *,
        cutoff_eff: float = 0.95,
        cutoff_thresh: float = 0.9,
        max_rounds: int = 100,
        max_queries: int = 50,
        rp_tol: float = TOL,
        price_eps: float = PRICE_EPS,
        rp: str = "paper",
        truth: Exchange | None = None,
        payment_rule: str = "threshold",
        track_alpha_thresh: str = "needed",
        executor: Executor | None = None,
        workers: int | None = None,
        solver: str = "highs",
        pattern_limit: int = DEFAULT_LIMIT,
        integer_lambda: bool = False,
        stop_on_stall: bool = True,
    ) -> None:
        if not isinstance(exchange, Exchange):
            raise ConfigError(f"exchange must be an Exchange, got {type(exchange).__name__}")
        self.cutoff_eff = check_cutoff(cutoff_eff, "cutoff_eff")
        self.cutoff_thresh = check_cutoff(cutoff_thresh, "cutoff_thresh")
        for name, v in (("max_rounds", max_rounds), ("max_queries", max_queries)):
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ConfigError(f"{name} must be a positive integer, got {v!r}")
        if truth is not None:
            if not isinstance(truth, Exchange) or not exchange.same_structure(truth):
                raise InvalidInputError("truth must be an Exchange with the same structure as the exchange")
        self.max_rounds, self.max_queries = max_rounds, max_queries
        self.rp_tol = check_float(rp_tol, "rp_tol", minimum=0.0)
        self.price_eps = check_float(price_eps, "price_eps", minimum=0.0)
        if self.rp_tol < self.price_eps:
            raise ConfigError(
                f"rp_tol ({rp_tol!r}) must be at least price_eps ({price_eps!r}): otherwise the price LP's "
                "relaxation alone can decide the activity rule's verdict"
            )
        self.rp = check_choice(rp, "rp", RP_CHECKS)
        self.truth = truth  # in the caller's units
        self.payment_rule = check_rule(payment_rule)
        self.track_alpha_thresh = check_track_alpha_thresh(track_alpha_thresh)
        if workers is not None:
            chunk_count(executor, workers)  # validates the hint
        self.executor = executor  # runs the V_{−i} solves of the payments in parallel when given
        self.workers = workers
        get_backend(solver)  # an unknown or uninstalled solver fails here, naming it
        self.solver = solver
        self.pattern_limit = check_limit(pattern_limit)
        if not isinstance(integer_lambda, (bool, np.bool_)):
            raise ConfigError(f"integer_lambda must be True or False, got {integer_lambda!r}")
        self.integer_lambda = bool(integer_lambda)
        self.stop_on_stall = check_bool(stop_on_stall, "stop_on_stall")
        self.unit = value_unit(exchange)
        self._ex = _rescale(exchange, 1.0 / self.unit)  # current bounds, in the value unit
        self._truth_int = None if truth is None else _rescale(truth, 1.0 / self.unit)
        self._public: Exchange | None = exchange
        self._build_models()
        if self.rp == "definition":
            big = [exchange.names[i] for i, bm in enumerate(self.bidder_models) if not isinstance(bm, PatternTable)]
            if big:
                raise ConfigError(
                    f"rp='definition' needs every bid tree enumerable (at most pattern_limit={self.pattern_limit} "
                    f"patterns); too large: {big}"
                )
        self._true_optimum = self._truth_model.solve_wd("lower").value if self._truth_model is not None else None
        self.pool = TradePool(exchange.n_goods, [b.tree.n_nodes for b in exchange.bidders])
        self.round = 0
        self.final = False  # the current round is the last-and-final one
        self.done = False
        self.closed_by: str | None = None
        self._prices: np.ndarray | None = None  # provisional prices, in the value unit
        self.trade: np.ndarray | None = None
        self._satisfied: list[np.ndarray] | None = None
        self.history: list[RoundRecord] = []
        self._result: ICEResult | None = None
        self._left: tuple | None = None  # the state the last round left (stall detection)
        self._start_round()

    # ------------------------------------------------------------------ models and pickling
    def _build_models(self) -> None:
        """The MIP models, all with ``solver``: one WD model, one restricted model per
        bidder, one for the truth.

        They depend only on the exchange's structure (every solve starts from a cleared
        solver state), so they are rebuilt rather than pickled.
        """
        kw: dict[str, Any] = {"solver": self.solver, "integer_lambda": self.integer_lambda}
        self.model = WDProgram(self._ex, **kw)
        self.bidder_models = [
            one_bidder_model(self._ex, i, limit=self.pattern_limit, **kw) for i in range(self._ex.n_bidders)
        ]
        self._truth_model = WDProgram(self._truth_int, **kw) if self._truth_int is not None else None
        self._node_prices: list[NodePrices | None] = [None] * self._ex.n_bidders

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        for key in ("model", "bidder_models", "_truth_model", "_node_prices"):
            state.pop(key, None)
        state["executor"] = None  # executors do not pickle; the copy runs serially
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._build_models()

    # ------------------------------------------------------------------ bidding phase
    def _start_round(self) -> None:
        n = self._ex.n_bidders
        self._rp: list[RPResult | None] = [None] * n
        self._queries = [0] * n
        self._activity_time = 0.0
        self._activity_highs = 0.0  # HiGHS time of this round's RP checks (before close_round)
        self._rp_solves = 0
        self._stationary = [False] * n  # bid through bid() by a stationary proxy, nothing else submitted

    def bounds(self, bidder: str | int) -> tuple[np.ndarray, np.ndarray]:
        i = self._index(bidder)
        ex = self.exchange
        off = ex.node_offset
        return ex.lower[off[i] : off[i + 1]].copy(), ex.upper[off[i] : off[i + 1]].copy()

    def _bounds_int(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        """Bidder ``i``'s bounds in the value unit (what the models see)."""
        off = self._ex.node_offset
        return self._ex.lower[off[i] : off[i + 1]].copy(), self._ex.upper[off[i] : off[i + 1]].copy()

    @property
    def prices(self) -> np.ndarray | None:
        """The last round's provisional prices in the caller's units (None before round 1)."""
        return None if self._prices is None else self._prices * self.unit

    @prices.setter
    def prices(self, value) -> None:
        """Set the prices the next checks use (for tests and what-if checks), in the caller's units."""
        self._prices = None if value is None else np.asarray(value, dtype=float) / self.unit

    @property
    def exchange(self) -> Exchange:
        """The exchange with the current bounds, in the caller's units."""
        if self._public is None:
            self._public = _rescale(self._ex, self.unit)
        return self._public

    def _set_exchange(self, ex: Exchange) -> None:
        """New internal bounds (in the value unit)."""
        self._ex = ex
        self._public = ex if self.unit == 1.0 else None

    def feedback(self, bidder: str | int) -> Feedback:
        """What the bidder's proxy sees now (αeff is deliberately not part of it)."""
        i = self._index(bidder)
        lo, hi = self.bounds(i)
        rp = self._rp[i]
        return Feedback(
            round=self.round,
            final=self.final,
            lower=lo,
            upper=hi,
            prices=self.prices,
            trade=None if self.trade is None else self.trade[i].copy(),
            satisfied=None if self._satisfied is None else self._satisfied[i].copy(),
            rp=None if rp is None else rp.scaled(self.unit),
            queries=self._queries[i],
            max_queries=self.max_queries,
            scale=self.unit,
        )

    def submit(self, bidder: str | int, lower, upper) -> RPResult | None:
        """Revise one bidder's bounds and run the activity rule on them.

        Raises :class:`RevisionError` (state unchanged) when the revision changes the tree
        shape, lowers a lower bound, raises an upper bound or crosses lower > upper.
        Returns the RP result (None in round 0, where there is no check). A revision
        submitted here directly (not through :meth:`bid`) keeps this round from counting
        as a repeat for stall detection.
        """
        i = self._index(bidder)
        res = self._submit(i, lower, upper)
        self._stationary[i] = False
        return res

    def _submit(self, bidder: str | int, lower, upper) -> RPResult | None:
        if self.done:
            raise StateError("the exchange has closed; no more revisions")
        i = self._index(bidder)
        name = self._ex.names[i]
        lo_arr = _bounds_array(lower, name, "lower")
        hi_arr = _bounds_array(upper, name, "upper")
        try:
            public = self.exchange.with_bounds(lower={name: lo_arr}, upper={name: hi_arr}, narrowing=True)
        except RevisionError:
            raise
        except InvalidInputError as exc:  # shape / non-finite / lower > upper
            msg = str(exc)
            raise RevisionError(msg if name in msg else f"bidder {name!r}: {msg}") from None
        if self.unit == 1.0:
            self._set_exchange(public)
        else:
            old_lo, old_hi = self._bounds_int(i)
            pub_lo, pub_hi = self.bounds(i)
            # into the value unit; unchanged entries keep their exact internal value and
            # narrowed ones stay inside the old internal bounds despite rounding
            new_lo = np.where(lo_arr == pub_lo, old_lo, np.maximum(lo_arr / self.unit, old_lo))
            new_hi = np.where(hi_arr == pub_hi, old_hi, np.minimum(hi_arr / self.unit, old_hi))
            new_lo = np.minimum(new_lo, new_hi)
            self._ex = self._ex.with_bounds(lower={name: new_lo}, upper={name: new_hi}, narrowing=True)
            self._public = public
        if self.round == 0 or self._prices is None:
            return None
        t0 = time.perf_counter()
        lo, hi = self._bounds_int(i)
        bm = self.bidder_models[i]
        h0, s0 = bm.highs_time, bm.solves
        res = revealed_preference(bm, self._prices, lo, hi, tol=self.rp_tol)
        if self.rp == "definition" and not res.passed:
            if not isinstance(bm, PatternTable):  # the constructor refuses rp='definition' otherwise
                raise InternalError(f"rp='definition' without an enumerated model for bidder {self._ex.names[i]!r}")
            exact = definition_holds(bm, self._prices, lo, hi, tol=self.rp_tol)
            res = dataclasses.replace(res, passed=exact, paper_passed=False, definition=exact)
        self._activity_time += time.perf_counter() - t0
        self._activity_highs += bm.highs_time - h0
        self._rp_solves += bm.solves - s0
        self._rp[i] = res
        self._queries[i] += 1
        return res.scaled(self.unit)

    def bid(self, bidder: str | int, proxy: Proxy) -> RPResult | None:
        """Let ``proxy`` act for ``bidder`` this round: revise, check, re-query on failure
        until RP passes, the proxy stops revising, or ``max_queries`` checks were made."""
        i = self._index(bidder)
        if not callable(getattr(proxy, "revise", None)):
            raise ConfigError(f"the proxy of bidder {self._ex.names[i]!r} has no revise(feedback) method: {proxy!r}")
        fb = self.feedback(i)
        lo, hi = self._ask(i, proxy, fb)
        res = self._submit(i, lo, hi)
        while res is not None and not res.passed and self._queries[i] < self.max_queries:
            fb = self.feedback(i)
            lo, hi = self._ask(i, proxy, fb)
            if np.array_equal(lo, fb.lower) and np.array_equal(hi, fb.upper):
                break  # the proxy gives up: penalty at the close of the round
            res = self._submit(i, lo, hi)
        self._stationary[i] = bool(getattr(proxy, "stationary", False))
        return res

    def _ask(self, i: int, proxy: Proxy, fb: Feedback) -> tuple[np.ndarray, np.ndarray]:
        """The proxy's answer, checked to be a pair ``(lower, upper)``."""
        out = proxy.revise(fb)
        if not isinstance(out, (tuple, list)) or len(out) != 2:
            what = "None" if out is None else (f"a {len(out)}-tuple" if isinstance(out, tuple) else repr(out))
            raise InvalidInputError(
                f"the proxy of bidder {self._ex.names[i]!r} must return (lower, upper) from revise(), got {what}"
            )
        lo, hi = out
        return _bounds_array(lo, self._ex.names[i], "lower"), _bounds_array(hi, self._ex.names[i], "upper")

    # ------------------------------------------------------------------ closing a round
    def _penalize(self, i: int) -> None:
        """Failing RP: upper_β ← min(v̄_β, max(price_β, v̲_β)) at the provisional prices."""
        ex = self._ex
        lo, hi = self._bounds_int(i)
        node_prices = self._node_prices[i]
        if node_prices is None:  # built on the bidder's first penalty, kept for later ones
            x0 = ex.endowments[i]
            avail = ex.endowments.sum(axis=0) - x0
            node_prices = self._node_prices[i] = NodePrices(ex.bidders[i].tree, x0, avail, limit=self.pattern_limit)
        if self._prices is None:
            raise StateError("a failed activity check is penalized at the provisional prices, and there are none")
        price = node_prices(self._prices)
        new_hi = np.minimum(hi, np.maximum(price, lo))
        self._set_exchange(ex.with_bounds(upper={ex.names[i]: new_hi}, narrowing=True))

    def close_round(self) -> RoundRecord:
        """Close the bidding phase: penalties, closing quantities, provisional trade and
        prices, closing rule; or, after the last-and-final round, the final outcome."""
        if self.done:
            raise StateError("the exchange has already closed")
        timing = {"activity": self._activity_time, "wd": 0.0, "payments": 0.0, "pricing": 0.0}
        counts = dict.fromkeys(SOLVE_KINDS, 0)
        counts["rp"] = self._rp_solves
        highs_before = self._highs_time()
        ex = self._ex
        n = ex.n_bidders
        t0 = time.perf_counter()
        penalized = [r is not None and not r.passed for r in self._rp]
        for i in np.flatnonzero(penalized):
            self._penalize(int(i))
            counts["penalty"] += ex.bidders[int(i)].tree.n_nodes  # one node-price solve per node
        ex = self._ex
        timing["activity"] += time.perf_counter() - t0
        model = self.model
        model.rebind(ex)

        # the efficient trades at each bound profile, λ*_l (PP) and λ*_u (PO)
        t0 = time.perf_counter()
        low = model.solve_wd("lower")
        up = model.solve_wd("upper")
        pp = max(low.value, 0.0)
        with model.scope():
            model.fix_trades(up.trade_matrix)
            po = model.solve("lower").value_of(ex.lower)
        counts["wd"] += 2
        counts["fixed"] += 1
        optimistic = bool(np.any(up.trade_matrix != 0))
        timing["wd"] += time.perf_counter() - t0
        active = low.traders
        a_eff = alpha_eff(pp, po)

        # Payments, each at its profile's own efficient trade: Threshold at both bounds when
        # αthresh is computed (the lower ones alone in the last-and-final round, for the
        # final payments), and the VCG discounts at v^α for FAIR with the provisional trade
        # λ^t = WD(v^α). At αeff = 1 (or 0) v^α is the lower (upper) profile: its VCG
        # discounts are those of that profile's Threshold payments, or are computed once.
        track = self.track_alpha_thresh == "always" or (
            not self.final and alpha_thresh_matters(a_eff, self.cutoff_eff, optimistic)
        )
        requests: list[tuple[str, str, ValuesArg, Allocation | None, str]] = []  # key, rule, values, λ*, kind
        if track or self.final:
            requests.append(("thr_lo", "threshold", "lower", low, "vcg_lower"))
        if track:
            requests.append(("thr_up", "threshold", "upper", up, "vcg_upper"))
        if not self.final and not (track and a_eff in (0.0, 1.0)):
            if a_eff == 1.0:
                requests.append(("vcg", "vcg", "lower", low, "vcg_lower"))
            elif a_eff == 0.0:
                requests.append(("vcg", "vcg", "upper", up, "vcg_upper"))
            else:
                requests.append(("vcg", "vcg", a_eff, None, "vcg_alpha"))
        t0 = time.perf_counter()
        results = payments_batch(
            ex,
            [(rule, v, al) for _, rule, v, al, _ in requests],
            model=model,
            executor=self.executor,
            workers=self.workers,
        )
        timing["payments"] += time.perf_counter() - t0
        pay: dict[str, PaymentResult] = {}
        for (key, _, _, al, kind), r in zip(requests, results):
            pay[key] = r
            wd = 0 if al is not None else 1  # λ* at v^α is solved here
            counts["wd"] += wd
            counts[kind] += r.n_solves - wd
        if track:
            gap = payment_gap(pay["thr_up"].payments, pay["thr_lo"].payments, active)
            a_thr, g_thr = alpha_thresh(pp, gap, len(active)), gamma_thresh(pp, gap, len(active))
        else:
            gap = a_thr = g_thr = math.nan

        prices = None
        pres: PriceResult | None = None
        if self.final:
            alloc = low
        else:
            vcg = pay["vcg"] if "vcg" in pay else pay["thr_lo" if a_eff == 1.0 else "thr_up"]
            alloc = vcg.allocation
            t0 = time.perf_counter()
            pres = self._price_feedback(ex, a_eff, alloc, vcg.vcg_discounts)
            prices = pres.prices
            counts["rwd"], counts["lp"] = pres.rwd_solves, pres.lp_solves
            timing["pricing"] += time.perf_counter() - t0
        trade = alloc.trade_matrix

        eff = None
        true_sol = None
        if self._truth_model is not None:
            t0 = time.perf_counter()
            true_sol = self._true_solution(trade)
            counts["truth"] += 1
            _, truth, optimum = self._truth_parts()
            eff = true_sol.value_of(truth.lower) / optimum if optimum > TOL else 1.0
            timing["wd"] += time.perf_counter() - t0

        timing["highs"] = (
            self._highs_time() - highs_before + self._activity_highs + (pres.highs_time if pres is not None else 0.0)
        )
        closing = (not self.final) and should_close(a_eff, a_thr, self.cutoff_eff, self.cutoff_thresh, optimistic)
        acc = pres.accuracy if pres is not None else np.zeros(n)
        fair = pres.fairness if pres is not None else np.zeros(n)
        bidders = tuple(
            BidderRound(
                bidder=ex.names[i],
                lower=self._bounds_int(i)[0],
                upper=self._bounds_int(i)[1],
                rp=self._rp[i],
                queries=self._queries[i],
                penalized=bool(penalized[i]),
                trade=trade[i].copy(),
                accuracy_error=float(acc[i]),
                fairness_error=float(fair[i]),
            )
            for i in range(n)
        )
        record = RoundRecord(
            round=self.round,
            final=self.final,
            pp=float(pp),
            po=float(po),
            gamma_eff=gamma_eff(pp, po),
            alpha_eff=a_eff,
            gamma_thresh=g_thr,
            alpha_thresh=a_thr,
            payment_gap=gap,
            n_active=len(active),
            optimistic_trade=optimistic,
            provisional_value=float(alloc.value),
            trade=trade.copy(),
            prices=None if prices is None else prices.copy(),
            closing=closing,
            bidders=bidders,
            efficiency=eff,
            timing=timing,
            price_stats={}
            if pres is None
            else {
                "lp_solves": pres.lp_solves,
                "rwd_solves": pres.rwd_solves,
                "constraints": pres.constraints,
                "price_restarts": pres.restarts,
            },
            alpha_thresh_computed=track,
            solve_counts=counts,
        )
        self.history.append(_rescale_record(record, self.unit))

        if self.final:
            if "thr_lo" not in pay:
                raise InternalError("the last-and-final round computed no payments at the lower bounds")
            # final payments at v̲ under every registered rule (closed forms on one set of
            # VCG discounts): Threshold is the design, the others are for comparison
            vcg_lo = pay["thr_lo"].vcg_discounts
            budget = max(low.value, 0.0)
            by_rule = {}
            for rule_name, rule in PAYMENT_RULES.items():
                d = rule(vcg_lo, budget)
                by_rule[rule_name] = {b: low.bidder_values[b] - d[b] for b in ex.names}
            self._finish(low, by_rule, true_sol)
        else:
            self._prices, self.trade = prices, trade
            self._satisfied = [alloc.satisfied[b] for b in ex.names]
            left = self._state_left()
            stalled = (
                self.stop_on_stall
                and not closing
                and all(self._stationary)
                and self._left is not None
                and _same_state(left, self._left)
            )
            self._left = left
            if closing or stalled or self.round + 1 >= self.max_rounds:
                self.final = True
                if closing:
                    self.closed_by = "no_optimistic_trade" if not optimistic else "cutoffs"
                else:
                    self.closed_by = "stalled" if stalled else "max_rounds"
            self.round += 1
            self._start_round()
        return record

    def _state_left(self) -> tuple:
        """What the next round starts from: bounds, prices, provisional trade, satisfied
        nodes and the size of the trade pool (which only grows)."""
        if self._prices is None or self.trade is None or self._satisfied is None:
            raise InternalError("the state of a round is read before its prices and trade are set")
        return (
            self._ex.lower.copy(),
            self._ex.upper.copy(),
            self._prices.copy(),
            self.trade.copy(),
            [s.copy() for s in self._satisfied],
            self.pool.size(),
        )

    def _highs_time(self) -> float:
        """Seconds spent inside HiGHS so far by the WD and bidder models (not the price LPs)."""
        t = self.model.highs_time + sum(b.highs_time for b in self.bidder_models)
        return t + (self._truth_model.highs_time if self._truth_model is not None else 0.0)

    def _price_feedback(self, ex: Exchange, alpha, alloc: Allocation, discounts: Mapping[str, float]) -> PriceResult:
        off = ex.node_offset
        vals = ex.node_values(alpha)
        node_values = [vals[off[i] : off[i + 1]] for i in range(ex.n_bidders)]
        models = self.bidder_models

        def best_response(i: int, p: np.ndarray):
            surplus, trade, sat = models[i].best(node_values[i], p)
            return trade, sat, surplus + float(p @ trade)

        return linear_prices(
            provisional=alloc.trade_matrix,
            prov_values=np.array([alloc.bidder_values[b] for b in ex.names]),
            vcg_discounts=np.array([discounts[b] for b in ex.names]),
            node_values=node_values,
            pool=self.pool,
            best_response=best_response,
            eps=self.price_eps,
        )

    def _truth_parts(self) -> tuple[WDProgram, Exchange, float]:
        """The truth's model, the truth in the value unit and its optimum (a run given a truth)."""
        if self._truth_model is None or self._truth_int is None or self._true_optimum is None:
            raise InternalError("the truth is used in a run that was not given one")
        return self._truth_model, self._truth_int, self._true_optimum

    def _true_solution(self, trade: np.ndarray) -> MIPSolution:
        """The truth model solved with the trade fixed: the bidders' true values of it."""
        m, _, _ = self._truth_parts()
        with m.scope():
            m.fix_trades(trade)
            return m.solve("lower")

    def _finish(
        self, alloc: Allocation, by_rule: Mapping[str, Mapping[str, float]], true_sol: MIPSolution | None
    ) -> None:
        """The outcome; ``true_sol`` is :meth:`_true_solution` of the final trade (when the
        truth is known), from which the utilities and the efficiency are read."""
        self.done = True
        payments = by_rule[self.payment_rule]
        utilities = None
        eff = None
        if self._truth_int is not None:
            if true_sol is None:
                raise InternalError("a run given a truth finished without the truth's solution of the final trade")
            _, truth, optimum = self._truth_parts()
            lower = truth.lower
            utilities = {b.name: true_sol.value_of(lower, i) - payments[b.name] for i, b in enumerate(truth.bidders)}
            eff = true_sol.value_of(lower) / optimum if optimum > TOL else 1.0
        u = self.unit
        if u != 1.0:
            alloc = dataclasses.replace(
                alloc, value=alloc.value * u, bidder_values={b: v * u for b, v in alloc.bidder_values.items()}
            )
        self._result = ICEResult(
            allocation=alloc,
            payments={b: v * u for b, v in payments.items()},
            rounds=len(self.history),
            closed_by=self.closed_by or "cutoffs",
            history=self.history,
            utilities=None if utilities is None else {b: v * u for b, v in utilities.items()},
            efficiency=eff,
            payments_by_rule={rule: {b: v * u for b, v in p.items()} for rule, p in by_rule.items()},
        )

    def result(self) -> ICEResult:
        if self._result is None:
            raise StateError(f"the exchange has not closed yet (round {self.round}); run it to the end first")
        return self._result

    def _index(self, bidder: str | int) -> int:
        """A bidder's index from its name or its index (an exact integer: not 0.7, not True)."""
        if isinstance(bidder, str):
            return self._ex.index(bidder)
        n = self._ex.n_bidders
        if not isinstance(bidder, (int, np.integer)) or isinstance(bidder, (bool, np.bool_)):
            raise InvalidInputError(f"bidder must be a bidder name or an integer index, got {bidder!r}")
        return check_int(bidder, "bidder index", minimum=0, maximum=n - 1, error=InvalidInputError)

    # ------------------------------------------------------------------ running it
    def step(self, proxies: Mapping[str, Proxy]) -> RoundRecord:
        """One whole round: every bidder's proxy bids (in bidder order), then close."""
        for name in self._ex.names:
            self.bid(name, proxies[name])
        return self.close_round()

    def run(self, proxies: Mapping[str, Proxy]) -> ICEResult:
        missing = [b for b in self._ex.names if b not in proxies]
        if missing:
            raise ConfigError(f"no proxy for bidders {missing}")
        while not self.done:
            self.step(proxies)
        return self.result()


def _same_state(a: tuple, b: tuple) -> bool:
    """Two :meth:`IterativeExchange._state_left` states are exactly equal (floats bit for bit)."""
    lo_a, hi_a, p_a, t_a, sat_a, pool_a = a
    lo_b, hi_b, p_b, t_b, sat_b, pool_b = b
    return (
        pool_a == pool_b
        and np.array_equal(lo_a, lo_b)
        and np.array_equal(hi_a, hi_b)
        and np.array_equal(p_a, p_b)
        and np.array_equal(t_a, t_b)
        and len(sat_a) == len(sat_b)
        and all(np.array_equal(x, y) for x, y in zip(sat_a, sat_b))
    )


VALUE_BAND = (1e-3, 1e6)
"""Magnitudes of values treated as ordinary: the value unit is 1 when the largest bound lies here."""


def value_unit(exchange: Exchange) -> float:
    """The unit of an exchange's values: 1 when its largest bound (in magnitude) lies in
    :data:`VALUE_BAND`, else the power of 1000 that brings it there (``1e-9`` for values
    around 1e-8, ``1e6`` for values around 1e7). Every tolerance of the exchange that is
    not relative to a value is taken in this unit, so results are the same at any unit."""
    big = float(max(np.max(np.abs(exchange.lower), initial=0.0), np.max(np.abs(exchange.upper), initial=0.0)))
    if big == 0.0 or VALUE_BAND[0] <= big < VALUE_BAND[1]:
        return 1.0
    return 1000.0 ** math.floor(math.log10(big) / 3)


def _rescale(exchange: Exchange, factor: float) -> Exchange:
    """The exchange with every bound multiplied by ``factor`` (itself when the factor is 1)."""
    if factor == 1.0:
        return exchange
    return exchange.with_bounds(exchange.lower * factor, exchange.upper * factor)


def _rescale_record(r: RoundRecord, u: float) -> RoundRecord:
    """A round record computed in the value unit, in the caller's units (values × ``u``;
    ratios such as αeff and γ unchanged)."""
    if u == 1.0:
        return r
    bidders = tuple(
        dataclasses.replace(
            b,
            lower=b.lower * u,
            upper=b.upper * u,
            rp=None if b.rp is None else b.rp.scaled(u),
            accuracy_error=b.accuracy_error * u,
            fairness_error=b.fairness_error * u,
        )
        for b in r.bidders
    )
    return dataclasses.replace(
        r,
        pp=r.pp * u,
        po=r.po * u,
        payment_gap=r.payment_gap * u,
        provisional_value=r.provisional_value * u,
        prices=None if r.prices is None else r.prices * u,
        bidders=bidders,
    )


def _bounds_array(x, bidder: str, word: str) -> np.ndarray:
    """Submitted bounds as a float array: a sequence or array of numbers (not a string or
    a mapping); RevisionError naming the bidder and the value otherwise."""
    if isinstance(x, (str, bytes, Mapping)) or x is None:
        raise RevisionError(f"bidder {bidder!r}: {word} bounds must be an array of numbers, got {x!r}")
    try:
        arr = np.asarray(x, dtype=float)
    except (TypeError, ValueError):
        raise RevisionError(f"bidder {bidder!r}: {word} bounds must be an array of numbers, got {x!r}") from None
    if arr.ndim != 1:
        raise RevisionError(f"bidder {bidder!r}: {word} bounds must be one number per node (1-D), got {x!r}")
    return arr


def run_ice(exchange: Exchange, proxies: Mapping[str, Proxy], **params) -> ICEResult:
    """Run ICE to the end with the given proxies; ``params`` go to :class:`IterativeExchange`."""
    return IterativeExchange(exchange, **params).run(proxies)


def outcome_differences(
    a: ICEResult, b: ICEResult, *, price_tol: float = 1e-6, value_tol: float = 1e-6, exact: bool = False
) -> list[str]:
    """How two runs of the same exchange differ in outcome; an empty list when they agree.

    Compared: rounds, how the exchange closed, the final trade and payments, and for every
    round the provisional trade, the prices and αeff (αthresh where both runs computed it).
    Trades must be equal; prices may differ by ``price_tol`` (the pricing ε: optimal prices
    are not unique when one-bidder problems have tied optima), payments and closing
    quantities by ``value_tol``, each relative to 1 + |value|. ``exact=True`` asks for equal
    floats everywhere (as between serial and parallel payment solves).
    """
    out: list[str] = []

    def close(x: float, y: float, tol: float) -> bool:
        if exact:
            return x == y or (math.isnan(x) and math.isnan(y))
        return abs(x - y) <= tol * (1.0 + max(abs(x), abs(y)))

    if a.rounds != b.rounds:
        out.append(f"rounds {a.rounds} vs {b.rounds}")
    if a.closed_by != b.closed_by:
        out.append(f"closed by {a.closed_by} vs {b.closed_by}")
    if not np.array_equal(a.allocation.trade_matrix, b.allocation.trade_matrix):
        out.append("final trade")
    for name in a.payments.keys() | b.payments.keys():
        pa, pb = a.payments.get(name, math.nan), b.payments.get(name, math.nan)
        if not close(pa, pb, value_tol):
            out.append(f"payment of {name}: {pa!r} vs {pb!r}")
    for ra, rb in zip(a.history, b.history):
        t = ra.round
        if not np.array_equal(ra.trade, rb.trade):
            out.append(f"round {t}: provisional trade")
        if (ra.prices is None) != (rb.prices is None):
            out.append(f"round {t}: prices in one run only")
        elif ra.prices is not None and rb.prices is not None:
            worst = max((abs(x - y) / (1.0 + max(abs(x), abs(y))) for x, y in zip(ra.prices, rb.prices)), default=0.0)
            if (exact and not np.array_equal(ra.prices, rb.prices)) or worst > price_tol:
                out.append(f"round {t}: prices differ by up to {worst:.3g} (relative)")
        for key in ("pp", "po", "alpha_eff"):
            if not close(getattr(ra, key), getattr(rb, key), value_tol):
                out.append(f"round {t}: {key} {getattr(ra, key)!r} vs {getattr(rb, key)!r}")
        if (
            ra.alpha_thresh_computed
            and rb.alpha_thresh_computed
            and not close(ra.alpha_thresh, rb.alpha_thresh, value_tol)
        ):
            out.append(f"round {t}: alpha_thresh {ra.alpha_thresh!r} vs {rb.alpha_thresh!r}")
    return out


def rounds_frame(history: list[RoundRecord], goods: tuple[str, ...] | None = None):
    """One row per round: closing quantities (αthresh, γthresh, payment_gap NaN where
    ``alpha_thresh_computed`` is False), prices (one column per good), timings
    (``time_*``), price-LP statistics and solve counts by kind (``solves_*``, see
    :data:`SOLVE_KINDS`)."""
    import pandas as pd

    rows = []
    for r in history:
        row = {
            "round": r.round,
            "final": r.final,
            "pp": r.pp,
            "po": r.po,
            "gamma_eff": r.gamma_eff,
            "alpha_eff": r.alpha_eff,
            "gamma_thresh": r.gamma_thresh,
            "alpha_thresh": r.alpha_thresh,
            "payment_gap": r.payment_gap,
            "n_active": r.n_active,
            "optimistic_trade": r.optimistic_trade,
            "provisional_value": r.provisional_value,
            "closing": r.closing,
            "efficiency": r.efficiency,
            "penalized": sum(b.penalized for b in r.bidders),
            "rp_failures": sum(b.rp is not None and not b.rp.passed for b in r.bidders),
            "queries": sum(b.queries for b in r.bidders),
            "max_accuracy_error": max((b.accuracy_error for b in r.bidders), default=0.0),
            "max_fairness_error": max((b.fairness_error for b in r.bidders), default=0.0),
            "alpha_thresh_computed": r.alpha_thresh_computed,
        }
        if r.prices is not None:
            names = goods or tuple(f"g{j}" for j in range(len(r.prices)))
            row.update({f"price_{g}": float(p) for g, p in zip(names, r.prices)})
        row.update({f"time_{k}": v for k, v in r.timing.items()})
        row.update(r.price_stats)
        row.update({f"solves_{k}": r.solve_counts.get(k, 0) for k in SOLVE_KINDS})
        rows.append(row)
    return pd.DataFrame(rows)


def bidders_frame(history: list[RoundRecord]):
    """One row per (round, bidder): RP outcome, penalty, bound widths, provisional trade size."""
    import pandas as pd

    rows = []
    for r in history:
        for b in r.bidders:
            rows.append(
                {
                    "round": r.round,
                    "bidder": b.bidder,
                    "rp_checked": b.rp is not None,
                    "rp_passed": None if b.rp is None else b.rp.passed,
                    "pi_lower": None if b.rp is None else b.rp.pi_lower,
                    "pi_upper": None if b.rp is None else b.rp.pi_upper,
                    "queries": b.queries,
                    "penalized": b.penalized,
                    "width_total": float(np.sum(b.upper - b.lower)),
                    "units_traded": int(np.abs(b.trade).sum()),
                    "accuracy_error": b.accuracy_error,
                    "fairness_error": b.fairness_error,
                }
            )
    return pd.DataFrame(rows)
