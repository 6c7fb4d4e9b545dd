"""The combinatorial exchange as a Mesa model: one ``step()`` is one ICE round.

This is the only module of :mod:`auctionlab.market.exchange` that imports Mesa, agents or
strategies; the engine (:mod:`~auctionlab.market.exchange.ice`) stays a plain state
machine and is driven from here.

Phases of a step (SPEC B5):

1. *bid* — every :class:`~auctionlab.agents.exchange.ExchangeBidder`, in bidder order,
   is queried by the engine (``IterativeExchange.bid(name, agent)``): the agent is the
   proxy, its strategy decides, the engine checks revealed preference and re-queries on
   failure;
2. *close* — ``IterativeExchange.close_round()``: penalties, PP, PO, αeff, αthresh, the
   provisional trade and prices, the closing rule; after the last-and-final round the
   final trade WD(v̲) and Threshold payments at v̲;
3. *settle* — the round's numbers are copied to model attributes, each agent records
   its checks, penalty, bound width and provisional utility (final payment and utility
   after the last round); ``running`` becomes False once the exchange has closed.

Then the DataCollector records. Model reporters (:data:`MODEL_REPORTERS`, plus one
``price_<good>`` column per good, NaN in the last-and-final round): the engine's round
record (``pp``, ``po``, ``alpha_eff``, ``alpha_thresh``, ...), ``efficiency`` of the
provisional trade against the truth, ``rp_failures`` / ``penalized`` / ``queries`` summed
over bidders, and, from the final round on, ``closed_by``, ``final_efficiency`` and
``budget_surplus``. Agent reporters: :data:`auctionlab.agents.exchange.AGENT_REPORTERS`.
No timings are recorded, so the same ``rng`` gives identical DataFrames.

Randomness comes only from ``self.rng``: the instance's seed (when generated), then one
seed per agent for its strategy's own Generator.

Counterfactuals: :meth:`ExchangeMarket.counterfactual_round` returns an
:class:`ExchangeCounterfactual`, which reruns the whole exchange from its initial bounds
with one bidder's strategy replaced — the protocol
:func:`auctionlab.strategies.measure.manipulation_gain` uses.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import mesa
import numpy as np

from auctionlab._validate import check_positive_int
from auctionlab.agents.exchange import AGENT_REPORTERS, ExchangeBidder
from auctionlab.errors import ConfigError
from auctionlab.market.collect import ColumnDataCollector
from auctionlab.market.exchange.closing import check_cutoff, check_track_alpha_thresh
from auctionlab.market.exchange.generators import BoundedPair, random_exchange
from auctionlab.market.exchange.ice import (
    ICEResult,
    IterativeExchange,
    RoundRecord,
    run_ice,
)
from auctionlab.market.exchange.instance import Exchange
from auctionlab.market.exchange.tbbl import value
from auctionlab.strategies.base import Strategy
from auctionlab.strategies.exchange import ExchangeStrategy, Straightforward, bind
from auctionlab.strategies.population import population_list
from auctionlab.strategies.registry import strategy_from_spec

MODEL_REPORTERS = (
    "round", "final", "pp", "po", "gamma_eff", "alpha_eff", "gamma_thresh", "alpha_thresh", "payment_gap",
    "n_active", "optimistic_trade", "provisional_value", "efficiency", "closing",
    "rp_failures", "penalized", "queries", "closed_by", "final_efficiency", "budget_surplus",
)
_RECORD_FIELDS = (
    "round", "final", "pp", "po", "gamma_eff", "alpha_eff", "gamma_thresh", "alpha_thresh", "payment_gap",
    "n_active", "optimistic_trade", "provisional_value", "closing",
)
ROLE = "bidder"

PopulationSpec = Any


# ---------------------------------------------------------------------- population
def _bidder_strategy(spec: Any, where: str) -> Strategy:
    s = strategy_from_spec(spec)
    if not isinstance(s, ExchangeStrategy):
        raise ConfigError(
            f"{where}: strategy {s.label!r} is not an exchange strategy (role {s.flag('role')!r}); "
            "exchange bidders need one of straightforward, misreport, lazy, stubborn, late_revealer "
            "or another ExchangeStrategy"
        )
    return s


def parse_population(population: PopulationSpec | None, names: Sequence[str]) -> list[Strategy]:
    """One strategy per bidder (in ``names`` order) from a population spec.

    - None: everyone :class:`~auctionlab.strategies.exchange.Straightforward` (default parameters);
    - a single spec, a list of ``{"strategy", "params", "share"}`` entries with shares
      summing to 1, or a list of exactly ``len(names)`` specs — see
      :mod:`auctionlab.strategies.population`;
    - a mapping bidder name -> spec: those bidders get those strategies, the others
      straightforward (unknown names are errors);
    - ``{"bidder": spec}``: the relay market's per-role form, with the one role of the exchange.
    """
    n = len(names)
    if population is None:
        return [Straightforward() for _ in range(n)]
    if isinstance(population, Mapping) and "strategy" not in population and "share" not in population:
        keys = set(population)
        if keys == {ROLE} and ROLE not in names:
            return parse_population(population[ROLE], names)
        unknown = sorted(map(str, keys - set(names)))
        if unknown:
            raise ConfigError(
                f"population: no bidders named {unknown} (bidders: {list(names)}); a single spec needs a "
                "'strategy' key"
            )
        return [
            _bidder_strategy(population[b], f"population[{b!r}]") if b in population else Straightforward()
            for b in names
        ]
    return population_list(population, n, "population", _bidder_strategy)


# ---------------------------------------------------------------------- the model
class ExchangeMarket(mesa.Model):
    """ICE with Mesa bidders, one round per step (see the module docstring).

    Keyword-only parameters:

    - ``exchange``: the instance with its initial bounds (an
      :class:`~auctionlab.market.exchange.instance.Exchange` or a ``BoundedPair``), and
      ``truth``: the bidders' true values (an exact exchange with the same structure;
      may be omitted when ``exchange`` is exact or a ``BoundedPair``).
    - or, without ``exchange``, a random instance from
      :func:`~auctionlab.market.exchange.generators.random_exchange`: ``n_bidders``,
      ``n_goods``, ``bound_width`` (relative width of the initial bounds around the
      truth), ``nodes``, ``depth``, ``max_units``, ``roles``; its seed is drawn from ``rng``.
    - ICE: ``cutoff_eff``, ``cutoff_thresh`` (CUTOFFs in (0, 1]), ``max_rounds``, ``max_queries``,
      ``track_alpha_thresh`` (default "always": the ``alpha_thresh`` reporter has a value
      every round; "needed" skips the solves where the closing rule cannot use it, NaN there).
    - ``population``: the bidders' strategies, see :func:`parse_population`; default all straightforward.
    - ``collect_agents``: record the agent table (default True).
    - ``rng``: seed or ``numpy.random.Generator`` (never ``seed=``).

    Every parameter is checked before any state is created; bad ones raise
    :class:`~auctionlab.errors.ConfigError` (``UnknownNameError`` for unknown strategy names).
    """

    def __init__(
        self,
        *,
        exchange: Exchange | BoundedPair | None = None,
        truth: Exchange | None = None,
        n_bidders: int = 4,
        n_goods: int = 3,
        bound_width: float = 0.5,
        nodes: int = 10,
        depth: tuple[int, int] = (2, 3),
        max_units: int = 3,
        roles: tuple[float, float, float] = (0.4, 0.3, 0.3),
        cutoff_eff: float = 0.95,
        cutoff_thresh: float = 0.9,
        max_rounds: int = 30,
        max_queries: int = 50,
        track_alpha_thresh: str = "always",
        population: PopulationSpec | None = None,
        collect_agents: bool = True,
        rng: Any = None,
    ) -> None:
        # ---------------- validate everything first: no state before this block passes
        generated = exchange is None
        if not generated:
            exchange, truth = _check_instance(exchange, truth)
            names = exchange.names
        else:
            if truth is not None:
                raise ConfigError("truth= needs exchange= (a generated instance brings its own truth)")
            n_bidders = check_positive_int(n_bidders, "n_bidders")
            n_goods = check_positive_int(n_goods, "n_goods")
            try:
                bw = float(bound_width)
            except (TypeError, ValueError):
                bw = math.nan
            if not (math.isfinite(bw) and bw >= 0.0):
                raise ConfigError(f"bound_width must be a finite non-negative number, got {bound_width!r}")
            bound_width = bw
            names = tuple(f"b{i}" for i in range(n_bidders))  # random_exchange's naming
        params = {
            "cutoff_eff": check_cutoff(cutoff_eff, "cutoff_eff"),
            "cutoff_thresh": check_cutoff(cutoff_thresh, "cutoff_thresh"),
            "max_rounds": check_positive_int(max_rounds, "max_rounds"),
            "max_queries": check_positive_int(max_queries, "max_queries"),
            "track_alpha_thresh": check_track_alpha_thresh(track_alpha_thresh),
        }
        strategies = parse_population(population, names)

        super().__init__(rng=rng)
        if generated:
            seed = int(self.rng.integers(0, 2**63))
            pair = random_exchange(n_bidders, n_goods, rng=seed, nodes=nodes, depth=depth, max_units=max_units,
                                   roles=roles, bound_width=bound_width)
            exchange, truth = pair.bounded, pair.truth
            if exchange.names != names:  # pragma: no cover - guards the naming assumption above
                raise ConfigError(f"generated bidder names {exchange.names} differ from {names}")
        self.initial_exchange: Exchange = exchange
        self.truth: Exchange = truth
        self.params = params
        self.goods = exchange.goods
        self.ice = IterativeExchange(exchange, truth=truth, **params)

        seeds = self.rng.integers(0, 2**63, size=len(names))
        self.bidders: list[ExchangeBidder] = []
        for i, (name, s) in enumerate(zip(names, strategies)):
            s.seed(np.random.default_rng(int(seeds[i])))
            self.bidders.append(ExchangeBidder(self, name, truth.bidder(name).tree.lower, s, index=i))

        # ---------------- per-round results (filled by step)
        self.record: RoundRecord | None = None
        self.result: ICEResult | None = None
        for name in MODEL_REPORTERS:
            setattr(self, name, math.nan)
        self.closed_by = None
        self._price_columns = _price_columns(self.goods)
        for col in self._price_columns:
            setattr(self, col, math.nan)
        reporters = {k: k for k in (*MODEL_REPORTERS, *self._price_columns)}
        self.datacollector = ColumnDataCollector(
            model_reporters=reporters,
            agent_reporters={k: k for k in AGENT_REPORTERS} if collect_agents else None,
        )

    # ------------------------------------------------------------------ views
    @property
    def exchange(self) -> Exchange:
        """The exchange with the bidders' current bounds."""
        return self.ice.exchange

    @property
    def names(self) -> tuple[str, ...]:
        return self.initial_exchange.names

    @property
    def history(self) -> list[RoundRecord]:
        return self.ice.history

    @property
    def done(self) -> bool:
        return self.ice.done

    # ------------------------------------------------------------------ the step
    def step(self) -> None:
        if self.ice.done:
            raise ConfigError(f"the exchange closed after round {self.ice.history[-1].round}; nothing to step")
        for a in self.bidders:
            self.ice.bid(a.bidder, a)
        rec = self.ice.close_round()
        self._settle(rec)
        self.datacollector.collect(self)

    def _settle(self, rec: RoundRecord) -> None:
        self.record = rec
        for k in _RECORD_FIELDS:
            setattr(self, k, getattr(rec, k))
        self.efficiency = math.nan if rec.efficiency is None else float(rec.efficiency)
        self.rp_failures = sum(b.rp is not None and not b.rp.passed for b in rec.bidders)
        self.penalized = sum(b.penalized for b in rec.bidders)
        self.queries = sum(b.queries for b in rec.bidders)
        for j, col in enumerate(self._price_columns):
            setattr(self, col, math.nan if rec.prices is None else float(rec.prices[j]))
        res = None
        if self.ice.done:
            res = self.result = self.ice.result()
            self.running = False
            self.closed_by = res.closed_by
            self.final_efficiency = math.nan if res.efficiency is None else float(res.efficiency)
            self.budget_surplus = float(res.budget_surplus)
        for i, (a, b) in enumerate(zip(self.bidders, rec.bidders)):
            if res is not None:
                u = float(res.utilities[a.bidder])
                pay, prov = float(res.payments[a.bidder]), u
            else:
                u = pay = None
                prov = self.true_value(i, b.trade) - float(rec.prices @ b.trade)
            a.record_round(
                rp_passed=None if b.rp is None else bool(b.rp.passed), queries=b.queries, penalized=b.penalized,
                width=float(np.sum(b.upper - b.lower)), provisional_utility=prov, payment=pay, utility=u,
            )

    def true_value(self, bidder: int | str, trade: np.ndarray) -> float:
        """A bidder's true value of its trade (eq. (6) on its true tree)."""
        i = self.initial_exchange.index(bidder) if isinstance(bidder, str) else int(bidder)
        return float(value(self.truth.bidders[i].tree, np.asarray(trade), "lower"))

    # ------------------------------------------------------------------ counterfactuals
    def counterfactual_round(self, *, reference: Strategy | None = None, others: str = "fixed") -> ExchangeCounterfactual:
        """Whole-run counterfactuals on this model's instance (see :class:`ExchangeCounterfactual`);
        every bidder's strategy is a fresh clone of its own, so the model is never touched."""
        return ExchangeCounterfactual(
            self.initial_exchange, self.truth, [a.strategy.clone() for a in self.bidders],
            params=self.params, reference=reference, others=others, round=self.steps,
        )

    def utility_with(self, agent: ExchangeBidder | int, strategy: Strategy) -> float:
        """``agent``'s final utility had it bid with ``strategy`` from the start, others unchanged."""
        i = agent.index if isinstance(agent, ExchangeBidder) else int(agent)
        return self.counterfactual_round().utility_with(ROLE, i, strategy)


def _price_columns(goods: Sequence[str]) -> tuple[str, ...]:
    return tuple(f"price_{g}" for g in goods)


def _check_instance(exchange: Any, truth: Any) -> tuple[Exchange, Exchange]:
    if isinstance(exchange, BoundedPair):
        if truth is not None:
            raise ConfigError("give either a BoundedPair or exchange= and truth=, not both")
        exchange, truth = exchange.bounded, exchange.truth
    if not isinstance(exchange, Exchange):
        raise ConfigError(f"exchange must be an Exchange or a BoundedPair, got {type(exchange).__name__}")
    if truth is None:
        if not exchange.is_exact:
            raise ConfigError("the exchange has bounds: give truth= (the bidders' exact values)")
        truth = exchange
    if not isinstance(truth, Exchange) or not exchange.same_structure(truth):
        raise ConfigError("truth must be an Exchange with the same goods, bidders, endowments and tree structure")
    if not truth.is_exact:
        raise ConfigError("truth must be exact (lower == upper on every node)")
    return exchange, truth


# ---------------------------------------------------------------------- counterfactual runs
class ExchangeCounterfactual:
    """ICE rerun from the initial bounds with one bidder's strategy replaced.

    The exchange's counterpart of the relay market's counterfactual round, at the level
    the exchange is played: a deviation is a whole proxy policy, so a counterfactual is a
    whole run. Players are ``("bidder", i)``. ``utility_with(role, i, strategy)`` is
    bidder i's final utility (true value of the final trade minus its Threshold payment)
    when it bids with ``strategy`` and every other bidder with its own strategy
    (``others="fixed"``, default) or with ``reference`` (``others="reference"``).
    ``reference`` (default :class:`~auctionlab.strategies.exchange.Straightforward`) is the
    benchmark the measurement compares deviations with. Every run uses fresh clones;
    runs of deterministic profiles are cached. ``round`` is the model step at which the
    counterfactual was taken (informational: the whole exchange is rerun regardless).
    """

    market = "exchange"
    OTHERS = ("fixed", "reference")

    def __init__(
        self,
        exchange: Exchange,
        truth: Exchange,
        strategies: Sequence[Strategy],
        *,
        params: Mapping[str, Any] | None = None,
        reference: Strategy | None = None,
        others: str = "fixed",
        round: int = 0,
    ) -> None:
        exchange, truth = _check_instance(exchange, truth)
        if len(strategies) != exchange.n_bidders:
            raise ConfigError(f"need one strategy per bidder ({exchange.n_bidders}), got {len(strategies)}")
        self.reference = _bidder_strategy(reference if reference is not None else Straightforward(), "reference")
        self.strategies = [_bidder_strategy(s, f"strategies[{k}]") for k, s in enumerate(strategies)]
        if others not in self.OTHERS:
            raise ConfigError(f"others must be one of {self.OTHERS}, got {others!r}")
        self.exchange, self.truth, self.others = exchange, truth, others
        self.params = dict(params or {})
        self.round = int(round)
        self._cache: dict[tuple, ICEResult] = {}

    def players(self) -> list[tuple[str, int]]:
        return [(ROLE, i) for i in range(self.exchange.n_bidders)]

    def _check_player(self, role: str, index: Any) -> int:
        if role != ROLE:
            raise ConfigError(f"role must be {ROLE!r} in the exchange, got {role!r}")
        n = self.exchange.n_bidders
        if isinstance(index, bool) or not isinstance(index, (int, np.integer)) or not 0 <= index < n:
            raise ConfigError(f"bidder index must be in 0..{n - 1}, got {index!r}")
        return int(index)

    def true_type(self, role: str, index: int) -> np.ndarray:
        i = self._check_player(role, index)
        t = np.array(self.truth.bidders[i].tree.lower, dtype=float)
        t.flags.writeable = False
        return t

    def info(self, role: str, index: int, *, omniscient: bool = False) -> dict[str, Any]:
        return {"bidder": self.exchange.names[self._check_player(role, index)]}

    def profile(self, role: str, index: int, strategy: Strategy) -> list[Strategy]:
        """Everyone's strategy in the run where bidder ``index`` plays ``strategy``."""
        i = self._check_player(role, index)
        base = self.strategies if self.others == "fixed" else [self.reference] * len(self.strategies)
        out = list(base)
        out[i] = _bidder_strategy(strategy, f"strategy of bidder {i}")
        return out

    def run_with(self, role: str, index: int, strategy: Strategy) -> ICEResult:
        """The whole exchange with bidder ``index`` playing ``strategy``."""
        prof = self.profile(role, index, strategy)
        key = None
        if not any(s.flag("stochastic") or s.flag("learning") for s in prof):
            key = tuple((type(s).__module__, type(s).__qualname__, s.label) for s in prof)
            if key in self._cache:
                return self._cache[key]
        names = self.exchange.names
        proxies = {
            b: bind(s.clone(), self.truth.bidders[k].tree.lower, index=k, bidder=b)
            for k, (b, s) in enumerate(zip(names, prof))
        }
        res = run_ice(self.exchange, proxies, truth=self.truth, **self.params)
        if key is not None:
            self._cache[key] = res
        return res

    def utility_with(self, role: str, index: int, strategy: Strategy) -> float:
        i = self._check_player(role, index)
        res = self.run_with(role, i, strategy)
        return float(res.utilities[self.exchange.names[i]])

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_cache"] = {}  # results pickle, but they are only a cache
        return state


__all__ = ["MODEL_REPORTERS", "ExchangeCounterfactual", "ExchangeMarket", "parse_population"]
