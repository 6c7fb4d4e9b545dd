"""The relay market as a Mesa model: one ``step()`` is one double auction.

Phases of a step:

0. *new round* — from the second step on, redraw the network (``channel="redraw"``,
   then phase 1 reruns) and/or the private types (``types="redraw"``). The state for
   step 1 is drawn by the constructor, so a fresh model can be inspected before it runs.
1. *report* — every agent's strategy reports. Agents whose strategy is deterministic
   truthful are batched (their rows are the types, one NumPy copy). Strategies that need
   an oracle (``classifier["needs_oracle"]``) are asked last, simultaneously: each sees
   the profile of everyone else's reports in which the other oracle users report
   truthfully (a unilateral best response to that profile; independent of agent order).
2. *clear* — the mechanism runs on the phase-1 assignment (computed once per network:
   it never reads reports, so it is reused across steps on a static channel and across
   counterfactuals within a step).
3. *settle* — utilities under the true types; learners (``classifier["learning"]``)
   are updated with their realised utility and the public outcome in ``obs.info``
   (``won``, ``payment``, ``buyer_price``, ``seller_price``), plus the round's oracle and
   candidate levels when their classifier says ``needs_oracle`` (a bandit learner such
   as EXP3 gets no oracle: the information each rule uses is enforced, not trusted).

Then the DataCollector records. Model reporters (per step): ``total_capacity``,
``trades``, ``min_capacity``, their ratios to the pure assignment with the same
algorithm (``capacity_ratio``, ``trades_ratio``, ``min_capacity_ratio``; NaN when the
pure assignment's value is 0), ``profit`` (auctioneer's surplus), ``budget_balanced``
(profit ≥ −1e-9), ``welfare`` (true values of trades − true costs), ``buyer_price`` and
``seller_price`` (uniform prices; NaN for rules without one). Agent reporters: see
:mod:`auctionlab.agents.relay`.

Randomness comes only from ``self.rng`` (Mesa's NumPy Generator, built from ``rng=``):
the network, then one seed per agent for its strategy's own Generator, then per step the
types. Same ``rng`` → identical DataFrames.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import mesa
import numpy as np

from auctionlab._validate import as_float_array, check_nonnegative_finite, check_positive_float, check_positive_int
from auctionlab.agents.relay import RelayAgent, RelayMarketAgent, SourceAgent
from auctionlab.errors import ConfigError, InvalidReportError, ShapeError
from auctionlab.market.collect import ColumnDataCollector
from auctionlab.market.relay.assignment import ASSIGNMENT_ALGORITHMS
from auctionlab.market.relay.mechanisms import KDA, RelayRound, check_seller_report, resolve_mechanism
from auctionlab.market.relay.network import RelayNetwork, random_network
from auctionlab.market.relay.outcome import RelayOutcome
from auctionlab.market.relay.tasc import assign
from auctionlab.market.relay.valuations import capacity_valuations, uniform_valuations
from auctionlab.strategies.base import Observation, Strategy, Truthful
from auctionlab.strategies.population import population_list
from auctionlab.strategies.registry import strategy_from_spec

CHANNELS = ("static", "redraw")
VALUATIONS = ("uniform", "capacity")
TYPE_MODES = ("redraw", "fixed")
ROLES = ("buyer", "seller")

MODEL_REPORTERS = (
    "total_capacity", "trades", "min_capacity", "capacity_ratio", "trades_ratio", "min_capacity_ratio",
    "profit", "budget_balanced", "welfare", "buyer_price", "seller_price",
)
AGENT_REPORTERS = ("role", "index", "strategy_name", "strategy_label", "report", "value", "utility", "won")

PopulationSpec = Mapping[str, Any]


# ---------------------------------------------------------------------- population
def _role_strategy(spec: Any, role: str, where: str) -> Strategy:
    s = strategy_from_spec(spec)
    r = s.flag("role")
    if r not in ("any", role):
        raise ConfigError(f"{where}: strategy {s.label!r} is for {r}s only, not {role}s")
    return s


def parse_population(population: PopulationSpec | None, n: int, m: int) -> dict[str, list[Strategy]]:
    """One Strategy instance per agent and role from a population spec.

    ``population`` maps ``"buyer"`` / ``"seller"`` (a missing role is all truthful) to
    - a single spec (name, ``{"strategy", "params"}`` mapping or Strategy): everyone;
    - a list of ``{"strategy": name, "params": {...}, "share": f}`` with shares summing to
      1: counts by largest remainder, assigned in list order (agents 0.. get the first
      entry, and so on — agents are exchangeable, their types being i.i.d.);
    - a list of exactly n (resp. m) specs without shares: one per agent.
    """
    sizes = {"buyer": n, "seller": m}
    out = {role: [Truthful() for _ in range(size)] for role, size in sizes.items()}
    if population is None:
        return out
    if not isinstance(population, Mapping):
        raise ConfigError(f"population must be a mapping role -> spec, got {type(population).__name__}")
    unknown = set(population) - set(ROLES)
    if unknown:
        raise ConfigError(f"population roles must be among {ROLES}, got {sorted(map(str, unknown))}")
    for role, spec in population.items():
        if spec is not None:
            out[role] = population_list(
                spec, sizes[role], f"population[{role!r}]", lambda e, w, role=role: _role_strategy(e, role, w)
            )
    return out


def _batchable(s: Strategy) -> bool:
    """Deterministic, stateless truthful strategies report their type: batch them."""
    c = s.classifier
    return bool(c["truthful"] and not (c["stochastic"] or c["learning"] or c["needs_oracle"]))


# ---------------------------------------------------------------------- the model
class RelayMarket(mesa.Model):
    """Sources buy relay service from relays, one double auction per step (see module docstring).

    Keyword-only parameters:

    - ``n``, ``m``: sources and relays (default 100 and 150; taken from ``network`` if given).
    - ``algorithm``: phase-1 assignment, a name in ``ASSIGNMENT_ALGORITHMS`` or a callable
      ``(direct, relayed) -> sigma``.
    - ``mechanism``: a name registered in ``MECHANISMS`` (``"tasc"``, ``"trade_reduction"``,
      ``"kda"`` — the k-double auction with ``k = kda_k`` —, ``"vcg"``, ``"mcafee"``, ...), a
      :class:`~auctionlab.market.relay.mechanisms.RelayMechanism` such as ``KDA(k=0.3)``, or a
      callable ``(network, bids (n, m), asks (m,), sigma (n,)) -> RelayOutcome``.
    - ``vmax``, ``cost_range``: value and cost scales of the private types.
    - ``channel``: ``"static"`` (one network for the whole run) or ``"redraw"`` (a new
      random network, hence a new assignment, every step).
    - ``valuation``: ``"uniform"`` (the paper's: values uniform on (0, vmax] on useful
      pairs, costs uniform on ``cost_range``) or ``"capacity"`` (values proportional to
      capacity gain, per-buyer normalised so the best relay is worth vmax — see
      :func:`~auctionlab.market.relay.valuations.capacity_valuations`; costs uniform).
    - ``types``: ``"redraw"`` (new private types every step: repeated auctions with i.i.d.
      types — the default) or ``"fixed"`` (drawn once; with ``channel="redraw"`` they are
      redrawn with each new network anyway, since values live on its useful pairs).
      Default ``"fixed"`` when ``values``/``costs`` are given. With
      ``valuation="capacity"`` values are a function of the network, so redrawing types
      redraws only the costs.
    - ``population``: strategies per role, see :func:`parse_population`; default all truthful.
    - ``network``, ``values``, ``costs``: a given instance instead of random draws.
    - ``collect_agents``: record the agent table (default True).
    - ``rng``: seed or ``numpy.random.Generator`` (never ``seed=``).

    Every parameter is checked before any state is created; bad ones raise
    :class:`~auctionlab.errors.ConfigError` (``UnknownNameError`` for unknown names).
    A model pickles as long as user callables are module-level functions.
    """

    def __init__(
        self,
        *,
        n: int | None = None,
        m: int | None = None,
        algorithm: str | Callable = "mwm",
        mechanism: Any = "tasc",
        vmax: float = 4.0,
        cost_range: tuple[float, float] = (0.0, 1.0),
        channel: str = "static",
        valuation: str = "uniform",
        types: str | None = None,
        population: PopulationSpec | None = None,
        kda_k: float = 0.5,
        network: RelayNetwork | None = None,
        values: Any = None,
        costs: Any = None,
        collect_agents: bool = True,
        rng: Any = None,
    ) -> None:
        # ---------------- validate everything first: no state before this block passes
        if network is not None:
            if not isinstance(network, RelayNetwork):
                raise ConfigError(f"network must be a RelayNetwork, got {type(network).__name__}")
            for name, given, actual in (("n", n, network.n), ("m", m, network.m)):
                if given is not None and check_positive_int(given, name) != actual:
                    raise ConfigError(f"{name}={given} does not match the given network ({name}={actual})")
            n, m = network.n, network.m
        n = check_positive_int(100 if n is None else n, "n")
        m = check_positive_int(150 if m is None else m, "m")
        if channel not in CHANNELS:
            raise ConfigError(f"channel must be one of {CHANNELS}, got {channel!r}")
        if network is not None and channel != "static":
            raise ConfigError("a given network needs channel='static'")
        if valuation not in VALUATIONS:
            raise ConfigError(f"valuation must be one of {VALUATIONS}, got {valuation!r}")
        if (values is None) != (costs is None):
            raise ConfigError("give both values and costs, or neither")
        fixed_instance = values is not None
        if types is None:
            types = "fixed" if fixed_instance else "redraw"
        if types not in TYPE_MODES:
            raise ConfigError(f"types must be one of {TYPE_MODES}, got {types!r}")
        if fixed_instance:
            if types != "fixed":
                raise ConfigError("given values/costs need types='fixed'")
            values = as_float_array(values, "values", (n, m)).copy()
            costs = as_float_array(costs, "costs", (m,)).copy()
            check_nonnegative_finite(values, "values", ConfigError)
            check_nonnegative_finite(costs, "costs", ConfigError)
        vmax = check_positive_float(vmax, "vmax")
        try:
            lo, hi = (float(c) for c in cost_range)
        except (TypeError, ValueError):
            raise ConfigError(f"cost_range must be (lo, hi), got {cost_range!r}") from None
        if not (math.isfinite(lo) and math.isfinite(hi) and 0.0 <= lo < hi):
            raise ConfigError(f"cost_range must be (lo, hi) with 0 <= lo < hi, got {cost_range!r}")
        if not (isinstance(algorithm, str) or callable(algorithm)):
            raise ConfigError(f"algorithm must be a name or a callable, got {type(algorithm).__name__}")
        ASSIGNMENT_ALGORITHMS.resolve(algorithm)  # unknown names raise here
        KDA(kda_k)  # kda_k is checked whatever the mechanism (the rule lives in KDA)
        mech = resolve_mechanism(mechanism, kda_k=kda_k)
        strategies = parse_population(population, n, m)

        super().__init__(rng=rng)
        self.n, self.m = n, m
        self.algorithm = algorithm
        self.mechanism = mechanism
        self._mechanism = mech
        self.vmax, self.cost_range = vmax, (lo, hi)
        self.channel, self.valuation, self.types = channel, valuation, types
        self.kda_k = float(kda_k)

        # ---------------- round-1 state: network and assignment, strategy seeds, types
        self.network = network if network is not None else random_network(n, m, rng=self.rng)
        self._set_assignment()
        seeds = self.rng.integers(0, 2**63, size=n + m)
        self.buyers: list[SourceAgent] = []
        self.sellers: list[RelayAgent] = []
        for i, s in enumerate(strategies["buyer"]):
            s.seed(np.random.default_rng(int(seeds[i])))
            self.buyers.append(SourceAgent(self, i, s))
        for j, s in enumerate(strategies["seller"]):
            s.seed(np.random.default_rng(int(seeds[n + j])))
            self.sellers.append(RelayAgent(self, j, s))
        self._classify_agents()
        if fixed_instance:
            self.values, self.costs = values, costs
        else:
            self._draw_types()
        self._fresh = True

        # ---------------- per-round results (filled by step)
        self.bids = self.values.copy()
        self.asks = self.costs.copy()
        self.round: RelayRound | None = None
        self.outcome: RelayOutcome = RelayOutcome.no_trade(n, m, self.sigma, "none")
        self.buyer_utility = np.zeros(n)
        self.seller_utility = np.zeros(m)
        self._history: dict[str, list[np.ndarray]] = {"buyer": [], "seller": []}
        for name in MODEL_REPORTERS:
            setattr(self, name, math.nan)
        self._agent_ids = np.array([a.unique_id for a in self.agents])
        self.datacollector = ColumnDataCollector(
            model_reporters={k: k for k in MODEL_REPORTERS},
            agent_reporters={k: k for k in AGENT_REPORTERS} if collect_agents else None,
        )

    # ------------------------------------------------------------------ setup helpers
    def _set_assignment(self) -> None:
        self.sigma = assign(self.network, self.algorithm)
        self._partner = np.full(self.m, -1, dtype=np.intp)
        on = np.flatnonzero(self.sigma >= 0)
        self._partner[self.sigma[on]] = on
        ref = self.network.capacities(self.sigma)
        self._reference = (float(ref.sum()), float(on.size), float(ref.min()))

    def _draw_types(self) -> None:
        draw = uniform_valuations if self.valuation == "uniform" else capacity_valuations
        self.values, self.costs = draw(self.network, rng=self.rng, vmax=self.vmax, cost_range=self.cost_range)

    def _classify_agents(self) -> None:
        """Split agents by how they are asked: batched truthful / plain / oracle; learners."""
        def split(agents):
            plain = [a for a in agents if not _batchable(a.strategy) and not a.strategy.flag("needs_oracle")]
            oracle = [a for a in agents if a.strategy.flag("needs_oracle")]
            learners = [a for a in agents if a.strategy.flag("learning")]
            return plain, oracle, learners

        self._plain = {"buyer": None, "seller": None}
        self._oracle_users = {"buyer": None, "seller": None}
        self._learners = {"buyer": None, "seller": None}
        for role, agents in (("buyer", self.buyers), ("seller", self.sellers)):
            self._plain[role], self._oracle_users[role], self._learners[role] = split(agents)
        self._all_batched = not any(self._plain.values()) and not any(self._oracle_users.values())

    # ------------------------------------------------------------------ the step
    def step(self) -> None:
        self._new_round()
        self._report_phase()
        self._clear_phase()
        self._settle_phase()
        self.datacollector.collect(self)

    def _new_round(self) -> None:
        if self._fresh:  # the constructor prepared round 1
            self._fresh = False
            return
        if self.channel == "redraw":
            self.network = random_network(self.n, self.m, rng=self.rng)
            self._set_assignment()
            if self.types == "fixed":  # values depend on the network's useful pairs
                self._draw_types()
        if self.types == "redraw":
            self._draw_types()

    def _observation(self, agent: RelayMarketAgent, rnd: RelayRound | None = None) -> Observation:
        if agent.role == "buyer":
            info: dict[str, Any] = {"assigned": int(self.sigma[agent.index])}
        else:
            info = {"partner": int(self._partner[agent.index])}
        if rnd is None:
            return Observation(self.steps, agent.role, agent.index, None, info)
        info["candidates"] = rnd.candidates
        return Observation(self.steps, agent.role, agent.index, rnd.oracle(agent.role, agent.index), info)

    def _report_phase(self) -> None:
        bids = self.values.copy()
        asks = self.costs.copy()
        if not self._all_batched:
            for a in self._plain["buyer"]:
                bids[a.index] = self._buyer_report(a, a.decide(self._observation(a)))
            for a in self._plain["seller"]:
                asks[a.index] = self._seller_report(a, a.decide(self._observation(a)))
            users = self._oracle_users["buyer"] + self._oracle_users["seller"]
            if users:
                base = RelayRound(self.network, self.values, self.costs, bids.copy(), asks.copy(),
                                  self.sigma, self._mechanism, self.steps)
                reports = [(a, a.decide(self._observation(a, base))) for a in users]
                for a, rep in reports:
                    if a.role == "buyer":
                        bids[a.index] = self._buyer_report(a, rep)
                    else:
                        asks[a.index] = self._seller_report(a, rep)
            self._check_reports(bids, asks)
        self.bids, self.asks = bids, asks

    def _buyer_report(self, agent: RelayMarketAgent, rep: Any) -> np.ndarray:
        arr = np.asarray(rep, dtype=np.float64)
        if arr.shape != (self.m,):
            raise ShapeError(
                f"buyer {agent.index} ({agent.strategy.label}) reported shape {arr.shape}, expected ({self.m},)"
            )
        return arr

    def _seller_report(self, agent: RelayMarketAgent, rep: Any) -> float:
        try:
            v = float(rep)
        except (TypeError, ValueError):
            v = math.nan
        if v >= 0.0 and v < math.inf:
            return v
        return check_seller_report(rep, f"ask of seller {agent.index} ({agent.strategy.label})")  # raises

    def _check_reports(self, bids: np.ndarray, asks: np.ndarray) -> None:
        if bids.min() >= 0.0 and bids.max() < np.inf:  # NaN fails both comparisons
            return
        i = int(np.flatnonzero(~(np.isfinite(bids) & (bids >= 0)).all(axis=1))[0])
        raise InvalidReportError(
            f"buyer {i} ({self.buyers[i].strategy.label}) reported an invalid bid vector "
            f"(NaN, infinite or negative): {bids[i]}"
        )

    def _clear_phase(self) -> None:
        self.round = RelayRound(self.network, self.values, self.costs, self.bids, self.asks,
                                self.sigma, self._mechanism, self.steps)
        self.outcome = self.round.outcome

    def _settle_phase(self) -> None:
        out, values, costs = self.outcome, self.values, self.costs
        ub = np.zeros(self.n)
        win = np.flatnonzero(out.buyer_wins)
        ub[win] = values[win, out.sigma[win]] - out.buyer_payments[win]
        us = np.where(out.seller_wins, out.seller_payments - costs, 0.0)
        self.buyer_utility, self.seller_utility = ub, us
        self._history["buyer"].append(ub)
        self._history["seller"].append(us)
        self._record_metrics(out, ub, us)
        for role, wins, pay, util in (
            ("buyer", out.buyer_wins, out.buyer_payments, ub),
            ("seller", out.seller_wins, out.seller_payments, us),
        ):
            for a in self._learners[role]:  # the oracle only for strategies that declare they need one
                obs = self._observation(a, self.round if a.strategy.flag("needs_oracle") else None)
                obs.info.update(
                    won=bool(wins[a.index]), payment=float(pay[a.index]),
                    buyer_price=self.buyer_price, seller_price=self.seller_price,
                )
                a.learn(obs, float(util[a.index]))

    def _record_metrics(self, out: RelayOutcome, ub: np.ndarray, us: np.ndarray) -> None:
        cap = self.network.capacities(out.traded)
        ref_total, ref_trades, ref_min = self._reference
        self.total_capacity = float(cap.sum())
        self.trades = float(out.n_trades)
        self.min_capacity = float(cap.min())
        self.capacity_ratio = self.total_capacity / ref_total if ref_total > 0 else math.nan
        self.trades_ratio = self.trades / ref_trades if ref_trades > 0 else math.nan
        self.min_capacity_ratio = self.min_capacity / ref_min if ref_min > 0 else math.nan
        self.profit = float(out.profit)
        self.budget_balanced = bool(self.profit >= -1e-9)
        self.welfare = float(ub.sum() + us.sum() + out.profit)
        self.buyer_price = math.nan if out.buyer_price is None else float(out.buyer_price)
        self.seller_price = math.nan if out.seller_price is None else float(out.seller_price)

    # ------------------------------------------------------------------ views for agents / collector
    def utilities(self, role: str) -> np.ndarray:
        return self.buyer_utility if role == "buyer" else self.seller_utility

    def wins(self, role: str) -> np.ndarray:
        return self.outcome.buyer_wins if role == "buyer" else self.outcome.seller_wins

    def utility_history(self, role: str) -> np.ndarray:
        """(steps, n) buyer or (steps, m) seller utilities, oldest step first."""
        h = self._history[role]
        size = self.n if role == "buyer" else self.m
        return np.vstack(h) if h else np.zeros((0, size))

    def agent_column(self, name: str) -> np.ndarray | None:
        """An agent attribute for all agents at once, in ``self.agents`` order (buyers, then
        sellers), for :class:`~auctionlab.market.collect.ColumnDataCollector`."""
        if len(self.agents) != self.n + self.m:  # agents were added or removed: no bulk path
            return None
        if name == "unique_id":
            return self._agent_ids
        if name in ("role", "strategy_name", "strategy_label"):
            cache = self.__dict__.setdefault("_static_columns", {})
            if name not in cache:
                cache[name] = np.array([getattr(a, name) for a in self.agents], dtype=object)
            return cache[name]
        if name == "index":
            return np.concatenate([np.arange(self.n), np.arange(self.m)])
        out = self.outcome
        if name in ("report", "value"):
            src = self.bids if name == "report" else self.values
            j = out.sigma
            b = np.full(self.n, np.nan)
            on = np.flatnonzero(j >= 0)
            b[on] = src[on, j[on]]
            return np.concatenate([b, self.asks if name == "report" else self.costs])
        if name == "utility":
            return np.concatenate([self.buyer_utility, self.seller_utility])
        if name == "won":
            return np.concatenate([out.buyer_wins, out.seller_wins])
        return None

    # ------------------------------------------------------------------ counterfactuals
    def counterfactual_round(self) -> RelayRound:
        """The last completed round (reports frozen) for counterfactual questions."""
        if self.round is None:
            raise ConfigError("no round has been played yet: call step() first")
        return self.round

    def utility_if(self, agent: RelayMarketAgent, report: Any) -> float:
        """``agent``'s utility in the last round had it reported ``report``, others fixed."""
        return self.counterfactual_round().utility_if(agent.role, agent.index, report)
