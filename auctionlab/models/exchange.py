"""The combinatorial exchange as a Mesa model: one ``step()`` is one ICE round.

This is the only module of :mod:`auctionlab.mechanisms.exchange` that imports Mesa, agents or
strategies; the engine (:mod:`~auctionlab.mechanisms.exchange.ice`) stays a plain state
machine and is driven from here. The studies run their exchanges through this model
(:mod:`auctionlab.studies.ice_runs`, :mod:`auctionlab.studies.ice_strategic`).

Phases of a step:

1. *bid* — every :class:`~auctionlab.agents.exchange.ExchangeBidder`, in bidder order,
   is queried by the engine (``IterativeExchange.bid(name, agent)``): the agent is the
   proxy, its strategy decides, the engine checks revealed preference and re-queries on
   failure;
2. *close* — ``IterativeExchange.close_round()``: penalties, PP, PO, αeff, αthresh, the
   provisional trade and prices, the closing rule; after the last-and-final round the
   final trade WD(v̲) and the payments at v̲;
3. *observe* — the model exposes the round's record (:attr:`ExchangeMarket.record`) and,
   once the exchange has closed, its outcome (:attr:`ExchangeMarket.result`); each agent
   reads its own part of them (its checks, penalty, bounds and provisional trade; its
   final payment) and keeps its own books; ``running`` becomes False once the exchange
   has closed.

Then the DataCollector (Mesa's own, public API only) records. It also records once when
the model is built (step 0: the initial bounds, nothing computed yet, so the round
columns are NaN there). Model reporters (:data:`MODEL_REPORTERS`, plus one
``price_<good>`` column per good, NaN in the last-and-final round) are functions of the
model's record: the engine's round numbers (``pp``, ``po``, ``alpha_eff``,
``alpha_thresh``, ...), ``efficiency`` of the provisional trade against the truth,
``rp_failures`` / ``penalized`` / ``queries`` summed over bidders, and, from the final
round on, ``closed_by``, ``final_efficiency`` and ``budget_surplus``. Agent reporters:
:data:`auctionlab.agents.exchange.AGENT_REPORTERS`, read from the agents' own
attributes. No timings are recorded, so the same ``rng`` gives identical DataFrames.

Randomness comes only from ``self.rng``: the instance's seed (when generated), then one
seed per agent for its strategy's own Generator.

Episodes: :meth:`ExchangeMarket.run_episodes` repeats the exchange — one episode is one
ICE run to its close, on a fresh instance from the generator or on the same instance
again — and at the end of each calls every strategy's ``update()`` with what its bidder
may know (its own trade, payment and true utility; the full-information oracle for
strategies that declare ``needs_oracle``). One row per bidder and episode goes into the
DataCollector's ``episodes`` table (:data:`EPISODE_COLUMNS`); the round tables of a
single run are unchanged, and later episodes append their rounds to them.

Counterfactuals: :class:`ExchangeCounterfactual` is the one way the package reruns an
exchange with other proxies — from its initial bounds, every run an
:class:`ExchangeMarket` played to its close, deterministic profiles cached by instance and
proxy profile. :meth:`ExchangeMarket.counterfactual_round` returns one on the model's
instance (the protocol :func:`auctionlab.strategies.measure.manipulation_gain` uses); the
exchange studies use it for their baselines, deviations and tournaments.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence
from functools import partial
from typing import Any

import mesa
import numpy as np

from auctionlab._validate import check_bool, check_float, check_int, check_positive_int, check_seed
from auctionlab.agents.exchange import AGENT_REPORTERS, ExchangeBidder
from auctionlab.errors import ConfigError, InternalError, StateError
from auctionlab.mechanisms.exchange.activity import TOL
from auctionlab.mechanisms.exchange.backends import get_backend
from auctionlab.mechanisms.exchange.closing import check_cutoff, check_track_alpha_thresh
from auctionlab.mechanisms.exchange.generators import BoundedPair, random_exchange
from auctionlab.mechanisms.exchange.ice import PRICE_EPS, ICEResult, IterativeExchange, RoundRecord
from auctionlab.mechanisms.exchange.instance import Exchange
from auctionlab.mechanisms.exchange.payments import check_rule
from auctionlab.mechanisms.exchange.tbbl import value
from auctionlab.strategies.base import Strategy
from auctionlab.strategies.exchange import ExchangeStrategy, Straightforward
from auctionlab.strategies.population import population_list
from auctionlab.strategies.registry import strategy_from_spec

MODEL_REPORTERS = (
    "round",
    "final",
    "pp",
    "po",
    "gamma_eff",
    "alpha_eff",
    "gamma_thresh",
    "alpha_thresh",
    "payment_gap",
    "n_active",
    "optimistic_trade",
    "provisional_value",
    "efficiency",
    "closing",
    "rp_failures",
    "penalized",
    "queries",
    "closed_by",
    "final_efficiency",
    "budget_surplus",
)
ROLE = "bidder"
#: the columns of the episodes table (one row per bidder and episode, see :meth:`ExchangeMarket.run_episodes`)
EPISODE_COLUMNS = ("episode", "bidder", "strategy", "utility", "payment", "traded", "closed_by", "rounds")
EPISODES = "episodes"

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
                f"population: no bidders named {unknown} (bidders: {list(names)}); a single spec needs a 'strategy' key"
            )
        return [
            _bidder_strategy(population[b], f"population[{b!r}]") if b in population else Straightforward()
            for b in names
        ]
    return population_list(population, n, "population", _bidder_strategy)


# ---------------------------------------------------------------------- reporters
def _record_field(model: ExchangeMarket, name: str) -> Any:
    rec = model.record
    if rec is None:
        return None if name == "final" else math.nan
    return getattr(rec, name)


def _round_efficiency(model: ExchangeMarket) -> float:
    rec = model.record
    return math.nan if rec is None or rec.efficiency is None else float(rec.efficiency)


def _round_rp_failures(model: ExchangeMarket) -> float:
    rec = model.record
    return math.nan if rec is None else sum(b.rp is not None and not b.rp.passed for b in rec.bidders)


def _round_penalized(model: ExchangeMarket) -> float:
    rec = model.record
    return math.nan if rec is None else sum(b.penalized for b in rec.bidders)


def _round_queries(model: ExchangeMarket) -> float:
    rec = model.record
    return math.nan if rec is None else sum(b.queries for b in rec.bidders)


def _closed_by(model: ExchangeMarket) -> str | None:
    return None if model.result is None else model.result.closed_by


def _final_efficiency(model: ExchangeMarket) -> float:
    res = model.result
    return math.nan if res is None or res.efficiency is None else float(res.efficiency)


def _budget_surplus(model: ExchangeMarket) -> float:
    return math.nan if model.result is None else float(model.result.budget_surplus)


def _price(model: ExchangeMarket, j: int) -> float:
    rec = model.record
    return math.nan if rec is None or rec.prices is None else float(rec.prices[j])


def _agent_attribute(agent: Any, name: str) -> Any:
    return getattr(agent, name, None)


_DERIVED = {
    "efficiency": _round_efficiency,
    "rp_failures": _round_rp_failures,
    "penalized": _round_penalized,
    "queries": _round_queries,
    "closed_by": _closed_by,
    "final_efficiency": _final_efficiency,
    "budget_surplus": _budget_surplus,
}


def model_reporters(goods: Sequence[str]) -> dict[str, Any]:
    """The model reporters: module-level functions of the model (partials, so they pickle)."""
    out: dict[str, Any] = {}
    for name in MODEL_REPORTERS:
        out[name] = _DERIVED[name] if name in _DERIVED else partial(_record_field, name=name)
    for j, col in enumerate(_price_columns(goods)):
        out[col] = partial(_price, j=j)
    return out


def agent_reporters(names: Sequence[str] = AGENT_REPORTERS) -> dict[str, Any]:
    """Agent reporters reading the agents' own attributes (partials, so they pickle)."""
    return {k: partial(_agent_attribute, name=k) for k in names}


# ---------------------------------------------------------------------- the model
class ExchangeMarket(mesa.Model):
    """ICE with Mesa bidders, one round per step (see the module docstring).

    Keyword-only parameters:

    - ``exchange``: the instance with its initial bounds (an
      :class:`~auctionlab.mechanisms.exchange.instance.Exchange` or a ``BoundedPair``), and
      ``truth``: the bidders' true values (an exact exchange with the same structure;
      may be omitted when ``exchange`` is exact or a ``BoundedPair``).
    - or, without ``exchange``, a random instance from
      :func:`~auctionlab.mechanisms.exchange.generators.random_exchange`: ``n_bidders``,
      ``n_goods``, ``bound_width`` (relative width of the initial bounds around the
      truth), ``nodes``, ``depth``, ``max_units``, ``roles``; its seed is drawn from ``rng``.
    - ICE (see :class:`~auctionlab.mechanisms.exchange.ice.IterativeExchange`): ``cutoff_eff``,
      ``cutoff_thresh`` (CUTOFFs in (0, 1]), ``max_rounds``, ``max_queries``, ``rp_tol``,
      ``price_eps`` (both relative, at the engine's defaults), ``payment_rule`` (any registered payment rule), ``solver`` (a MIP
      backend) and ``track_alpha_thresh`` (default "always": the ``alpha_thresh`` reporter
      has a value every round; "needed" skips the solves where the closing rule cannot
      use it, NaN there) and ``stop_on_stall`` (default True: a run whose state repeats
      while every bidder's strategy is stationary closes at once, ``closed_by`` "stalled",
      with the outcome of the run to ``max_rounds``).
    - ``population``: the bidders' strategies, see :func:`parse_population`; default all straightforward.
    - ``collect_agents``: record the agent table (default True).
    - ``rng``: seed or ``numpy.random.Generator`` (never ``seed=``).

    Every parameter is checked before any state is created; bad ones raise
    :class:`~auctionlab.errors.ConfigError` (``UnknownNameError`` for unknown strategy names).
    """

    running: bool  # set by mesa.Model; declared so the type is known here

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
        rp_tol: float = TOL,
        price_eps: float = PRICE_EPS,
        payment_rule: str = "threshold",
        solver: str = "highs",
        track_alpha_thresh: str = "always",
        stop_on_stall: bool = True,
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
        params = engine_params(
            cutoff_eff=cutoff_eff,
            cutoff_thresh=cutoff_thresh,
            max_rounds=max_rounds,
            max_queries=max_queries,
            rp_tol=rp_tol,
            price_eps=price_eps,
            payment_rule=payment_rule,
            solver=solver,
            track_alpha_thresh=track_alpha_thresh,
            stop_on_stall=stop_on_stall,
        )
        strategies = parse_population(population, names)
        collect_agents = check_bool(collect_agents, "collect_agents")

        super().__init__(rng=check_seed(rng))
        self._generator: dict[str, Any] | None = None
        if generated:
            self._generator = {
                "n_bidders": n_bidders,
                "n_goods": n_goods,
                "nodes": nodes,
                "depth": depth,
                "max_units": max_units,
                "roles": roles,
                "bound_width": bound_width,
            }
            exchange, truth = self._generate()
            if exchange.names != names:  # pragma: no cover - guards the naming assumption above
                raise InternalError(f"generated bidder names {exchange.names} differ from {names}")
        if not isinstance(exchange, Exchange) or truth is None:  # pragma: no cover - both branches set them
            raise InternalError("the instance and its truth were not both set")
        self.initial_exchange: Exchange = exchange
        self.truth: Exchange = truth
        self.params = params
        self.goods = exchange.goods
        self.ice = IterativeExchange(exchange, truth=truth, **params)

        seeds = self.rng.integers(0, 2**63, size=len(names))
        self.bidders: list[ExchangeBidder] = []
        for i, (name, s) in enumerate(zip(names, strategies)):
            s.seed(np.random.default_rng(int(seeds[i])))
            self.bidders.append(ExchangeBidder(self, name, truth.bidder(name).tree, s, index=i))

        self._record: RoundRecord | None = None
        self._result: ICEResult | None = None
        self.episode = 0  # the current episode (the first run is episode 0)
        self._episode_ended = False
        self.counterfactual_calls = 0  # oracle answers given to full-information learners
        self._cf_cache: dict[tuple, ICEResult] = {}
        self.datacollector = mesa.DataCollector(
            model_reporters=model_reporters(self.goods),
            agent_reporters=agent_reporters() if collect_agents else None,
            tables={EPISODES: list(EPISODE_COLUMNS)},
        )
        self.datacollector.collect(self)  # step 0: the initial bounds

    # ------------------------------------------------------------------ views
    @property
    def record(self) -> RoundRecord | None:
        """The last closed round's record (None before the first round has closed)."""
        return self._record

    @property
    def result(self) -> ICEResult | None:
        """The exchange's outcome once it has closed (None before)."""
        return self._result

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
            raise StateError(f"the exchange closed after round {self.ice.history[-1].round}; nothing to step")
        for a in self.bidders:
            self.ice.bid(a.bidder, a)
        self._record = self.ice.close_round()
        if self.ice.done:
            self._result = self.ice.result()
            self.running = False
        for a in self.bidders:
            a.observe()
        self.datacollector.collect(self)

    def run_to_close(self) -> ICEResult:
        """Step until the exchange has closed; its outcome."""
        while not self.ice.done:
            self.step()
        assert self._result is not None
        return self._result

    # ------------------------------------------------------------------ episodes
    def _generate(self) -> tuple[Exchange, Exchange]:
        """A new instance from the generator, its seed drawn from ``self.rng``."""
        g = self._generator
        if g is None:  # pragma: no cover - callers check
            raise InternalError("no generator: the model was given its instance")
        seed = int(self.rng.integers(0, 2**63))
        pair = random_exchange(
            g["n_bidders"],
            g["n_goods"],
            rng=seed,
            nodes=g["nodes"],
            depth=g["depth"],
            max_units=g["max_units"],
            roles=g["roles"],
            bound_width=g["bound_width"],
        )
        if not isinstance(pair, BoundedPair):  # pragma: no cover - bound_width is always a number here
            raise InternalError(f"the generator gave a {type(pair).__name__}, not a BoundedPair")
        return pair.bounded, pair.truth

    def _new_episode(self, fresh: bool) -> None:
        """The next episode: a fresh instance (``fresh``) or the same one, a new ICE from its
        initial bounds, the agents' books cleared (their strategies keep what they learned)."""
        if fresh:
            exchange, truth = self._generate()
            if exchange.names != self.names or exchange.goods != self.goods:  # pragma: no cover
                raise InternalError("a generated episode changed the bidders or goods")
            self.initial_exchange, self.truth = exchange, truth
            self._cf_cache.clear()  # runs on the old instance are never asked for again
        self.ice = IterativeExchange(self.initial_exchange, truth=self.truth, **self.params)
        self._record = None
        self._result = None
        self.episode += 1
        self._episode_ended = False
        self.running = True
        for a in self.bidders:
            a.new_episode(self.truth.bidder(a.bidder).tree)

    def _played(self, strategy: Strategy) -> Strategy:
        played = getattr(strategy, "played_strategy", None)
        return played() if callable(played) else strategy.clone()

    def _episode_oracle(self, i: int, played: list[Strategy], runner: list) -> Any:
        """Bidder ``i``'s full-information oracle for the episode just closed:
        ``oracle(strategy) -> utility`` had it played the episode with ``strategy``, every
        other bidder with what it played (``played``) — a rerun through
        :class:`ExchangeCounterfactual` (built on first use, shared by the bidders, with the
        model's cache)."""

        def oracle(strategy: Strategy) -> float:
            if not runner:
                runner.append(
                    ExchangeCounterfactual(
                        self.initial_exchange,
                        self.truth,
                        played,
                        params=self.params,
                        cache=self._cf_cache,
                        round=len(self.ice.history),
                    )
                )
            self.counterfactual_calls += 1
            return runner[0].utility_with(ROLE, i, strategy)

        return oracle

    def _end_episode(self) -> None:
        res = self._result
        if res is None:  # pragma: no cover - callers run to the close first
            raise InternalError("an episode ended before the exchange closed")
        runner: list = []
        labels = [(getattr(a.strategy, "current", None) or a.strategy).label for a in self.bidders]
        # what everyone played, taken before any strategy learns (a learner forgets its arm)
        played = (
            [self._played(a.strategy) for a in self.bidders]
            if any(a.strategy.flag("needs_oracle") for a in self.bidders)
            else []
        )
        for a, label in zip(self.bidders, labels):
            oracle = self._episode_oracle(a.index, played, runner) if a.strategy.flag("needs_oracle") else None
            obs = a.end_episode(episode=self.episode, oracle=oracle)
            self.datacollector.add_table_row(
                EPISODES,
                {
                    "episode": self.episode,
                    "bidder": a.bidder,
                    "strategy": label,
                    "utility": obs.info["utility"],
                    "payment": obs.info["payment"],
                    "traded": obs.info["traded"],
                    "closed_by": res.closed_by,
                    "rounds": res.rounds,
                },
            )
        self._episode_ended = True

    def run_episodes(self, k: int, *, fresh: bool = True) -> list[ICEResult]:
        """Run ``k`` episodes, each one ICE run to its close; their outcomes.

        An episode starts from the initial bounds of a new instance drawn from the generator
        (``fresh=True``; its seed from ``self.rng``, so the whole sequence is a function of
        the model's ``rng``) or of the same instance again (``fresh=False``, the only choice
        when the model was given its instance). The first episode is the model's current
        run (finished if it has started); later ones begin where the last ended. At the end
        of each episode every bidder's strategy gets ``update(obs, utility)`` with what that
        bidder may know (see :meth:`~auctionlab.agents.exchange.ExchangeBidder.end_episode`),
        strategies that declare ``needs_oracle`` with a counterfactual oracle; one row per
        bidder goes into the DataCollector's ``episodes`` table (:data:`EPISODE_COLUMNS`;
        ``strategy`` is what the bidder played that episode, a learning proxy's arm).
        The round tables keep collecting every round of every episode.
        """
        k = check_int(k, "k", minimum=0)
        fresh = check_bool(fresh, "fresh")
        if fresh and self._generator is None:
            raise ConfigError(
                "fresh=True draws new instances from the generator, but this model was given its "
                "instance: use fresh=False"
            )
        out = []
        for _ in range(k):
            if self._episode_ended:
                self._new_episode(fresh)
            out.append(self.run_to_close())
            self._end_episode()
        return out

    def episodes_frame(self) -> Any:
        """The episodes table as a DataFrame (Mesa's ``get_table_dataframe``)."""
        return self.datacollector.get_table_dataframe(EPISODES)

    def true_value(self, bidder: int | str, trade: np.ndarray) -> float:
        """A bidder's true value of its trade (eq. (6) on its true tree)."""
        i = self.initial_exchange.index(bidder) if isinstance(bidder, str) else int(bidder)
        return float(value(self.truth.bidders[i].tree, np.asarray(trade), "lower"))

    # ------------------------------------------------------------------ counterfactuals
    def counterfactual_round(
        self, *, reference: Strategy | None = None, others: str = "fixed"
    ) -> ExchangeCounterfactual:
        """Whole-run counterfactuals on this model's instance (see :class:`ExchangeCounterfactual`);
        every bidder's strategy is a fresh clone of its own, so the model is never touched."""
        return ExchangeCounterfactual(
            self.initial_exchange,
            self.truth,
            [a.strategy.clone() for a in self.bidders],
            params=self.params,
            reference=reference,
            others=others,
            round=len(self.ice.history),
        )

    def utility_with(self, agent: ExchangeBidder | int, strategy: Strategy) -> float:
        """``agent``'s final utility had it bid with ``strategy`` from the start, others unchanged."""
        i = agent.index if isinstance(agent, ExchangeBidder) else int(agent)
        return self.counterfactual_round().utility_with(ROLE, i, strategy)


#: the engine's parameters, with their defaults (the model's; the engine's own max_rounds is
#: larger). ``rp_tol`` and ``price_eps`` are the engine's own defaults, so a model and an
#: engine run with the same proxies solve the same price LPs.
ENGINE_DEFAULTS: dict[str, Any] = {
    "cutoff_eff": 0.95,
    "cutoff_thresh": 0.9,
    "max_rounds": 30,
    "max_queries": 50,
    "rp_tol": TOL,
    "price_eps": PRICE_EPS,
    "payment_rule": "threshold",
    "solver": "highs",
    "track_alpha_thresh": "always",
    "stop_on_stall": True,
}


def engine_params(**params: Any) -> dict[str, Any]:
    """The :class:`~auctionlab.mechanisms.exchange.ice.IterativeExchange` keyword arguments,
    checked (ConfigError naming the bad one; unknown names too), missing ones at
    :data:`ENGINE_DEFAULTS`."""
    unknown = sorted(set(params) - set(ENGINE_DEFAULTS))
    if unknown:
        raise ConfigError(f"unknown ICE parameter(s) {unknown}; accepted: {', '.join(ENGINE_DEFAULTS)}")
    p = {**ENGINE_DEFAULTS, **params}
    out = {
        "cutoff_eff": check_cutoff(p["cutoff_eff"], "cutoff_eff"),
        "cutoff_thresh": check_cutoff(p["cutoff_thresh"], "cutoff_thresh"),
        "max_rounds": check_positive_int(p["max_rounds"], "max_rounds"),
        "max_queries": check_positive_int(p["max_queries"], "max_queries"),
        "rp_tol": check_float(p["rp_tol"], "rp_tol", minimum=0.0, maximum=1.0, open_max=True),
        "price_eps": check_float(p["price_eps"], "price_eps", minimum=0.0, maximum=1.0, open_max=True),
        "payment_rule": check_rule(p["payment_rule"]),
        "solver": p["solver"],
        "track_alpha_thresh": check_track_alpha_thresh(p["track_alpha_thresh"]),
        "stop_on_stall": check_bool(p["stop_on_stall"], "stop_on_stall"),
    }
    if not isinstance(out["solver"], str):
        raise ConfigError(f"solver must be the name of a MIP backend, got {out['solver']!r}")
    get_backend(out["solver"])  # unknown or not installed: an error naming it
    return out


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
def profile_key(profile: Sequence[Strategy]) -> tuple | None:
    """A cache key for a profile of strategies: None when a run of it is not a pure
    function of the instance (a stochastic or learning strategy)."""
    if any(s.flag("stochastic") or s.flag("learning") for s in profile):
        return None
    return tuple((type(s).__module__, type(s).__qualname__, s.label) for s in profile)


def instance_key(exchange: Exchange, truth: Exchange, params: Mapping[str, Any]) -> str:
    """A digest of an instance (initial bounds, truth) and the engine parameters."""
    h = hashlib.sha256()
    for part in (exchange.to_dict(), truth.to_dict(), sorted(params.items())):
        h.update(repr(part).encode())
    return h.hexdigest()


class ExchangeCounterfactual:
    """ICE rerun from the initial bounds with other proxies: the package's one ICE
    counterfactual runner.

    Every run is an :class:`ExchangeMarket` on the instance (``exchange`` with its initial
    bounds, ``truth``) with the engine ``params``, played to its close, with fresh clones
    of the strategies. :meth:`play` runs a whole profile (one strategy per bidder);
    runs of deterministic profiles are cached, keyed by the instance and the profile
    (``cache=`` shares one dict between runners). Players are ``("bidder", i)``.
    ``utility_with(role, i, strategy)`` is bidder i's final utility (true value of the
    final trade minus its payment under the run's payment rule) when it bids with
    ``strategy`` and every other bidder with its own strategy (``others="fixed"``,
    default) or with ``reference`` (``others="reference"``). ``reference`` (default
    :class:`~auctionlab.strategies.exchange.Straightforward`) is the benchmark the
    measurement compares deviations with. ``round`` is the number of rounds the model had
    closed when the counterfactual was taken (informational: the whole exchange is rerun
    regardless). ``rng`` seeds the runs' strategies (only stochastic ones use it).
    """

    market = "exchange"
    OTHERS = ("fixed", "reference")

    def __init__(
        self,
        exchange: Exchange,
        truth: Exchange,
        strategies: Sequence[Strategy] | None = None,
        *,
        params: Mapping[str, Any] | None = None,
        reference: Strategy | None = None,
        others: str = "fixed",
        round: int = 0,
        rng: Any = 0,
        cache: dict[tuple, ICEResult] | None = None,
    ) -> None:
        exchange, truth = _check_instance(exchange, truth)
        self.reference = _bidder_strategy(reference if reference is not None else Straightforward(), "reference")
        if strategies is None:
            strategies = [self.reference] * exchange.n_bidders
        if len(strategies) != exchange.n_bidders:
            raise ConfigError(f"need one strategy per bidder ({exchange.n_bidders}), got {len(strategies)}")
        self.strategies = [_bidder_strategy(s, f"strategies[{k}]") for k, s in enumerate(strategies)]
        if others not in self.OTHERS:
            raise ConfigError(f"others must be one of {self.OTHERS}, got {others!r}")
        self.exchange, self.truth, self.others = exchange, truth, others
        self.params = engine_params(**dict(params or {}))
        self.round = int(round)
        self.rng = rng
        self._cache: dict[tuple, ICEResult] = {} if cache is None else cache
        self._instance_key: str | None = None

    @property
    def names(self) -> tuple[str, ...]:
        return self.exchange.names

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

    def market_for(self, profile: Sequence[Strategy], *, collect_agents: bool = False) -> ExchangeMarket:
        """A fresh :class:`ExchangeMarket` on the instance with ``profile`` (one strategy per
        bidder, cloned), not yet stepped."""
        if len(profile) != self.exchange.n_bidders:
            raise ConfigError(f"need one strategy per bidder ({self.exchange.n_bidders}), got {len(profile)}")
        prof = [_bidder_strategy(s, f"profile[{k}]").clone() for k, s in enumerate(profile)]
        return ExchangeMarket(
            exchange=self.exchange,
            truth=self.truth,
            population=prof,
            collect_agents=collect_agents,
            rng=self.rng,
            **self.params,
        )

    def play(self, profile: Sequence[Strategy], *, fresh: bool = False) -> ICEResult:
        """The whole exchange with one strategy per bidder (from the cache for a
        deterministic profile already played, unless ``fresh``)."""
        key = profile_key(profile)
        if key is not None:
            if self._instance_key is None:
                self._instance_key = instance_key(self.exchange, self.truth, self.params)
            key = (self._instance_key, key)
            if not fresh and key in self._cache:
                return self._cache[key]
        res = self.market_for(profile).run_to_close()
        if key is not None:
            self._cache[key] = res
        return res

    def run_with(self, role: str, index: int, strategy: Strategy) -> ICEResult:
        """The whole exchange with bidder ``index`` playing ``strategy``."""
        return self.play(self.profile(role, index, strategy))

    def utility_with(self, role: str, index: int, strategy: Strategy) -> float:
        i = self._check_player(role, index)
        res = self.run_with(role, i, strategy)
        if res.utilities is None:  # pragma: no cover - every run is given the truth
            raise InternalError("a run with the truth reported no utilities")
        return float(res.utilities[self.exchange.names[i]])

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_cache"] = {}  # results pickle, but they are only a cache
        return state


def utilities_by_rule(res: ICEResult, names: Sequence[str], payment_rule: str) -> dict[str, dict[str, float]]:
    """Each bidder's utility under every registered payment rule, from one closed run: the true
    value of its final trade (utility + payment under the run's rule) less that rule's payment.
    The run's own rule keeps the run's utilities exactly."""
    if res.utilities is None:
        raise InternalError("a run with the truth reported no utilities")
    value = {b: float(res.utilities[b]) + float(res.payments[b]) for b in names}
    out = {r: {b: value[b] - float(pay[b]) for b in names} for r, pay in res.payments_by_rule.items()}
    out[payment_rule] = {b: float(res.utilities[b]) for b in names}
    return out


__all__ = [
    "ENGINE_DEFAULTS",
    "EPISODE_COLUMNS",
    "MODEL_REPORTERS",
    "ExchangeCounterfactual",
    "ExchangeMarket",
    "engine_params",
    "parse_population",
    "profile_key",
    "utilities_by_rule",
]
