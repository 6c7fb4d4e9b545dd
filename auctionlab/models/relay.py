"""The relay market as a Mesa model: one ``step()`` is one double auction.

Phases of a step:

0. *new round* — from the second step on, redraw the network (``channel="redraw"``,
   then phase 1 reruns) and/or the private types (``types="redraw"``). The state for
   step 1 is drawn by the constructor, so a fresh model can be inspected before it runs.
1. *report* — every agent's strategy reports. Agents whose strategy is deterministic
   truthful are batched (their rows are the types, one NumPy copy); agents whose
   strategies share a batch key (:meth:`~auctionlab.strategies.base.Strategy.batch_key`:
   same class and parameters, no per-agent state) are asked with one
   :meth:`~auctionlab.strategies.base.Strategy.report_many` call per group, each drawing
   from its own random stream (the same numbers as one call each); the rest (learners,
   strategies without a batch form) one at a time. Reports are written into the book,
   each buyer keeps its ``report_vector``, and the book is checked once. Strategies that need
   an oracle (``classifier["needs_oracle"]``) are asked last, simultaneously: each sees
   the profile of everyone else's reports in which the other oracle users report
   truthfully (a unilateral best response to that profile; independent of agent order).
2. *clear* — the mechanism runs on the phase-1 assignment (computed once per network:
   it never reads reports, so it is reused across steps on a static channel and across
   counterfactuals within a step).
3. *settle* — utilities under the true types; every agent records its result (report,
   value, utility, won, utility history: its own attributes, one pass per role); learners (``classifier["learning"]``)
   are updated with their realised utility and the public outcome in ``obs.info``
   (``won``, ``payment``, ``buyer_price``, ``seller_price``), plus the round's oracle and
   candidate levels when their classifier says ``needs_oracle`` (a bandit learner such
   as EXP3 gets no oracle: the information each rule uses is enforced, not trusted).

Then the DataCollector (a plain ``mesa.DataCollector``) records; it also records once at
construction, as step 0 (the instance before any round: NaN model values), so Mesa's step
labels and ``mesa.batch_run`` line up. Model reporters (per step): ``total_capacity``,
``trades``, ``min_capacity``, their ratios to the pure assignment with the same
algorithm (``capacity_ratio``, ``trades_ratio``, ``min_capacity_ratio``; NaN when the
pure assignment's value is 0), ``profit`` (auctioneer's surplus), ``budget_balanced``
(profit ≥ −1e-9), ``welfare`` (true values of trades − true costs), ``buyer_price`` and
``seller_price`` (uniform prices; NaN for rules without one). Agent reporters (the agents'
own attributes): see :mod:`auctionlab.agents.relay`; ``collect_agents="columns"`` writes the
same agent rows as whole columns into a DataCollector table instead.

Randomness comes only from ``self.rng`` (Mesa's NumPy Generator, built from ``rng=``):
the network, then one seed per agent for its strategy's own Generator, then per step the
types. Same ``rng`` → identical DataFrames.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from typing import Any

import mesa
import numpy as np
import pandas as pd

from auctionlab._validate import (
    as_float_array,
    check_bool,
    check_choice,
    check_nonnegative_finite,
    check_positive_float,
    check_positive_int,
    check_seed,
)
from auctionlab.agents.relay import RelayAgent, RelayMarketAgent, SourceAgent
from auctionlab.errors import (
    ConfigError,
    InvalidReportError,
    ShapeError,
    StateError,
)
from auctionlab.mechanisms.relay.assignment import ASSIGNMENT_ALGORITHMS
from auctionlab.mechanisms.relay.mechanisms import (
    KDA,
    RelayMechanism,
    RelayRound,
    check_mechanism_parameters,
    check_seller_report,
    resolve_mechanism,
)
from auctionlab.mechanisms.relay.network import RelayNetwork, random_network
from auctionlab.mechanisms.relay.outcome import RelayOutcome
from auctionlab.mechanisms.relay.tasc import assign
from auctionlab.mechanisms.relay.valuations import capacity_valuations, uniform_valuations
from auctionlab.models.collect import market_datacollector
from auctionlab.models.reporters import AGENT_REPORTERS, MODEL_REPORTERS
from auctionlab.strategies.base import Observation, Strategy, Truthful
from auctionlab.strategies.population import population_list
from auctionlab.strategies.registry import strategy_from_spec

CHANNELS = ("static", "redraw")
VALUATIONS = ("uniform", "capacity")
TYPE_MODES = ("redraw", "fixed")
ROLES = ("buyer", "seller")
MAX_AGENTS = 5000


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
    out: dict[str, list[Strategy]] = {role: [Truthful() for _ in range(size)] for role, size in sizes.items()}
    if population is None:
        return out
    if not isinstance(population, Mapping):
        raise ConfigError(f"population must be a mapping role -> spec, got {type(population).__name__}")
    unknown = set(population) - set(ROLES)
    if unknown:
        raise ConfigError(f"population roles must be among {ROLES}, got {sorted(map(str, unknown))}")
    for role, spec in population.items():
        if spec is not None:

            def build(e: Any, w: str, role: str = role) -> Strategy:
                return _role_strategy(e, role, w)

            out[role] = population_list(spec, sizes[role], f"population[{role!r}]", build)
    return out


def _batchable(s: Strategy) -> bool:
    """Deterministic, stateless truthful strategies report their type: batch them."""
    c = s.classifier
    return bool(c["truthful"] and not (c["stochastic"] or c["learning"] or c["needs_oracle"]))


def _decide(agent: RelayMarketAgent, true_type: Any, obs: Observation) -> Any:
    """An agent class with its own ``decide()`` is asked through it (a picklable call)."""
    return agent.decide(obs)


# ---------------------------------------------------------------------- the model
class RelayMarket(mesa.Model):
    """Sources buy relay service from relays, one double auction per step (see module docstring).

    Keyword-only parameters:

    - ``n``, ``m``: sources and relays (default 100 and 150; taken from ``network`` if given).
    - ``algorithm``: phase-1 assignment, a name in ``ASSIGNMENT_ALGORITHMS`` or a callable
      ``(direct, relayed) -> sigma``.
    - ``mechanism``: a name registered in ``MECHANISMS`` (``"tasc"``, ``"trade_reduction"``,
      ``"kda"``, ``"vcg"``, ``"mcafee"``, ...), a
      :class:`~auctionlab.mechanisms.relay.mechanisms.RelayMechanism` such as ``KDA(k=0.3)``, or a
      callable ``(network, bids (n, m), asks (m,), sigma (n,)) -> RelayOutcome``.
    - mechanism parameters as ``<mechanism>_<field>`` keywords (``kda_k=0.3`` is the k-DA's
      ``k``), read from the registered mechanism classes; each one given is checked
      whatever mechanism runs, and applies when a mechanism is given by name.
    - ``vmax``, ``cost_range``: value and cost scales of the private types.
    - ``channel``: ``"static"`` (one network for the whole run) or ``"redraw"`` (a new
      random network, hence a new assignment, every step).
    - ``valuation``: ``"uniform"`` (the paper's: values uniform on (0, vmax] on useful
      pairs, costs uniform on ``cost_range``) or ``"capacity"`` (values proportional to
      capacity gain, per-buyer normalised so the best relay is worth vmax — see
      :func:`~auctionlab.mechanisms.relay.valuations.capacity_valuations`; costs uniform).
    - ``types``: ``"redraw"`` (new private types every step: repeated auctions with i.i.d.
      types — the default) or ``"fixed"`` (drawn once; with ``channel="redraw"`` they are
      redrawn with each new network anyway, since values live on its useful pairs).
      Default ``"fixed"`` when ``values``/``costs`` are given. With
      ``valuation="capacity"`` values are a function of the network, so redrawing types
      redraws only the costs.
    - ``population``: strategies per role, see :func:`parse_population`; default all truthful.
    - ``network``, ``values``, ``costs``: a given instance instead of random draws.
    - ``collect_agents``: record the agent table: ``True`` (default) with Mesa's agent
      reporters, one call per agent and column (what ``mesa.batch_run`` reads); ``"columns"``
      as whole columns into the DataCollector's ``"agents"`` table (the fast path: the same
      rows, read with :meth:`agent_frame`); ``False``: model table only.
    - ``rng``: seed or ``numpy.random.Generator`` (never ``seed=``).

    Every parameter is checked (:meth:`validate`) before any state is created; bad ones
    raise :class:`~auctionlab.errors.ConfigError` (``UnknownNameError`` for unknown names).
    A model pickles as long as user callables are module-level functions.

    The DataCollector is a plain ``mesa.DataCollector`` reading the agents' and the model's
    attributes; it collects once at construction (step 0: the instance, no round yet) and
    after every step, so ``mesa.batch_run`` sees model and agent rows with their step labels.
    ``step_count`` is the model's own round counter (Mesa's ``steps`` is not read).
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
        network: RelayNetwork | None = None,
        values: Any = None,
        costs: Any = None,
        collect_agents: bool | str = True,
        rng: Any = None,
        **mechanism_params: Any,
    ) -> None:
        cfg = self.validate(
            n=n,
            m=m,
            algorithm=algorithm,
            mechanism=mechanism,
            vmax=vmax,
            cost_range=cost_range,
            channel=channel,
            valuation=valuation,
            types=types,
            population=population,
            network=network,
            values=values,
            costs=costs,
            collect_agents=collect_agents,
            **mechanism_params,
        )
        super().__init__(rng=check_seed(rng))
        n, m = cfg["n"], cfg["m"]
        self.n, self.m = n, m
        self.algorithm = algorithm
        self.mechanism = mechanism
        self._mechanism: RelayMechanism = cfg["mechanism_object"]
        self.mechanism_params: dict[str, Any] = cfg["mechanism_params"]
        self.vmax, self.cost_range = cfg["vmax"], cfg["cost_range"]
        self.channel, self.valuation, self.types = channel, valuation, cfg["types"]
        self.step_count = 0

        # ---------------- round-1 state: network and assignment, agents and strategy seeds, types
        self.network = network if network is not None else random_network(n, m, rng=self.rng)
        seeds = self.rng.integers(0, 2**63, size=n + m)
        for i, s in enumerate(cfg["strategies"]["buyer"]):
            s.seed(np.random.default_rng(int(seeds[i])))
            SourceAgent(self, i, s)
        for j, s in enumerate(cfg["strategies"]["seller"]):
            s.seed(np.random.default_rng(int(seeds[n + j])))
            RelayAgent(self, j, s)
        self.sources: mesa.agent.AgentSet = self.agents_by_type[SourceAgent]
        self.relays: mesa.agent.AgentSet = self.agents_by_type[RelayAgent]
        self.buyers: list[SourceAgent] = list(self.sources)
        self.sellers: list[RelayAgent] = list(self.relays)
        self._classify_agents()
        self._set_assignment()
        if cfg["values"] is not None:
            self._deal_types(cfg["values"], cfg["costs"])
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
        for name in MODEL_REPORTERS:
            setattr(self, name, math.nan)
        self._agent_table = collect_agents == "columns"
        self.datacollector = market_datacollector(
            MODEL_REPORTERS,
            AGENT_REPORTERS if collect_agents is True else (),
            tables={"agents": ["Step", "AgentID", *AGENT_REPORTERS]} if self._agent_table else None,
        )
        if self._agent_table:  # the columns that never change, in self.agents order (buyers, then sellers)
            agents = self.buyers + self.sellers
            self._static_columns = {
                name: [getattr(a, name) for a in agents]
                for name in ("unique_id", "role", "index", "strategy_name", "strategy_label")
            }
        self._round_columns = (  # step 0: nothing reported or realised yet (as the agents' own attributes)
            [math.nan] * n,
            [math.nan] * n,
            [math.nan] * n,
            [False] * n,
            [math.nan] * m,
            [math.nan] * m,
            [False] * m,
        )
        self._collect()  # step 0: the instance before any round

    # ------------------------------------------------------------------ validation
    @staticmethod
    def validate(
        *,
        n: int | None = None,
        m: int | None = None,
        algorithm: str | Callable = "mwm",
        mechanism: Any = "tasc",
        vmax: float = 4.0,
        cost_range: Any = (0.0, 1.0),
        channel: str = "static",
        valuation: str = "uniform",
        types: str | None = None,
        population: PopulationSpec | None = None,
        network: RelayNetwork | None = None,
        values: Any = None,
        costs: Any = None,
        collect_agents: bool | str = True,
        **mechanism_params: Any,
    ) -> dict[str, Any]:
        """Check a configuration without building anything random (the constructor's one
        check; spec validation calls it too). Returns the normalised values, the mechanism
        object and one Strategy per agent. Raises ConfigError / UnknownNameError."""
        if network is not None:
            if not isinstance(network, RelayNetwork):
                raise ConfigError(f"network must be a RelayNetwork, got {type(network).__name__}")
            for name, given, actual in (("n", n, network.n), ("m", m, network.m)):
                if given is not None and check_positive_int(given, name) != actual:
                    raise ConfigError(f"{name}={given} does not match the given network ({name}={actual})")
            n, m = network.n, network.m
        n = check_positive_int(100 if n is None else n, "n", maximum=MAX_AGENTS)
        m = check_positive_int(150 if m is None else m, "m", maximum=MAX_AGENTS)
        check_choice(channel, "channel", CHANNELS)
        if network is not None and channel != "static":
            raise ConfigError("a given network needs channel='static'")
        check_choice(valuation, "valuation", VALUATIONS)
        if (values is None) != (costs is None):
            raise ConfigError("give both values and costs, or neither")
        fixed_instance = values is not None
        if types is None:
            types = "fixed" if fixed_instance else "redraw"
        check_choice(types, "types", TYPE_MODES)
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
        mech_params = check_mechanism_parameters(mechanism_params)
        mech = resolve_mechanism(mechanism, **mech_params)
        if collect_agents != "columns":
            check_bool(collect_agents, "collect_agents")
        return {
            "n": n,
            "m": m,
            "types": types,
            "values": values,
            "costs": costs,
            "vmax": vmax,
            "cost_range": (lo, hi),
            "mechanism_object": mech,
            "mechanism_params": mech_params,
            "strategies": parse_population(population, n, m),
        }

    # ------------------------------------------------------------------ setup helpers
    def _set_assignment(self) -> None:
        self.sigma = assign(self.network, self.algorithm)
        self._partner = np.full(self.m, -1, dtype=np.intp)
        on = np.flatnonzero(self.sigma >= 0)
        self._partner[self.sigma[on]] = on
        ref = self.network.capacities(self.sigma)
        self._reference = (float(ref.sum()), float(on.size), float(ref.min()))
        for a, j in zip(self.buyers, self.sigma.tolist()):  # phase 1 is bid-independent: public
            a.assigned = j
        for a, i in zip(self.sellers, self._partner.tolist()):
            a.partner = i
        self._refresh_observations()

    def _draw_types(self) -> None:
        draw = uniform_valuations if self.valuation == "uniform" else capacity_valuations
        self._deal_types(*draw(self.network, rng=self.rng, vmax=self.vmax, cost_range=self.cost_range))

    def _deal_types(self, values: np.ndarray, costs: np.ndarray) -> None:
        """Hand every agent its private type (buyers get their row of ``values``)."""
        self.values, self.costs = values, costs
        for a, row in zip(self.buyers, values):
            a.values = a.report_vector = row
        for a, c in zip(self.sellers, costs.tolist()):
            a.cost = a.value = c

    def _classify_agents(self) -> None:
        """Split agents by how they are asked: batched truthful (their rows are the types) /
        plain (in groups of equal batch keys, one :meth:`Strategy.report_many` call per group,
        or one at a time) / oracle users; learners."""
        self._plain: dict[str, list[RelayMarketAgent]] = {}
        self._oracle_users: dict[str, list[RelayMarketAgent]] = {}
        self._learners: dict[str, list[RelayMarketAgent]] = {}
        for role, agents in (("buyer", self.sources), ("seller", self.relays)):
            self._plain[role] = list(
                agents.select(lambda a: not _batchable(a.strategy) and not a.strategy.flag("needs_oracle"))
            )
            self._oracle_users[role] = list(agents.select(lambda a: a.strategy.flag("needs_oracle")))
            self._learners[role] = list(agents.select(lambda a: a.strategy.flag("learning")))
        self._all_batched = not any(self._plain.values()) and not any(self._oracle_users.values())
        # groups: positions (into self._plain[role]) of agents whose strategies share a batch
        # key, asked with one report_many call; the others (learners, users' strategies,
        # agent classes with their own decide()) one at a time, in agent order.
        self._group_pos: dict[str, list[list[int]]] = {}
        self._single_pos: dict[str, list[int]] = {}
        for role, agents in self._plain.items():
            keyed: dict[Any, list[int]] = {}
            singles: list[int] = []
            for p, a in enumerate(agents):
                key = a.strategy.batch_key() if type(a) in (SourceAgent, RelayAgent) else None
                if key is None:
                    singles.append(p)
                else:
                    keyed.setdefault(key, []).append(p)
            self._group_pos[role] = list(keyed.values())
            self._single_pos[role] = singles
        self._plain_obs: dict[str, list[Observation]] = {"buyer": [], "seller": []}
        self._report_groups: dict[str, list[tuple]] = {"buyer": [], "seller": []}

    def _refresh_observations(self) -> None:
        """One Observation per plain agent and network (public information: the phase-1
        relay or partner); the report phase only advances its ``round``."""
        self._plain_obs = {role: [self._observation(a) for a in agents] for role, agents in self._plain.items()}
        # per role: (strategy to call or None for one at a time, member strategies (or their
        # report methods), agents, indices, rows of the types (a slice when contiguous), observations)
        self._report_groups = {}
        for role, agents in self._plain.items():
            obs = self._plain_obs[role]
            groups: list[tuple] = []
            for pos in self._group_pos[role]:
                ags = [agents[p] for p in pos]
                members = [a.strategy for a in ags]
                idx = np.array([a.index for a in ags], dtype=np.intp)
                # contiguous agents (a population share) read their types as a view, not a copy
                rows: Any = (
                    slice(int(idx[0]), int(idx[-1]) + 1) if np.array_equal(idx, np.arange(idx[0], idx[-1] + 1)) else idx
                )
                groups.append((members[0], members, ags, idx, rows, [obs[p] for p in pos]))
            pos = self._single_pos[role]
            if pos:
                ags = [agents[p] for p in pos]
                calls = [
                    a.strategy.report if type(a) in (SourceAgent, RelayAgent) else partial(_decide, a) for a in ags
                ]
                idx = np.array([a.index for a in ags], dtype=np.intp)
                groups.append((None, calls, ags, idx, idx, [obs[p] for p in pos]))
            self._report_groups[role] = groups

    # ------------------------------------------------------------------ the step
    def step(self) -> None:
        self.step_count += 1
        self._new_round()
        self._report_phase()
        self._clear_phase()
        self._settle_phase()
        self._collect()

    def _collect(self) -> None:
        self.datacollector.collect(self)
        if self._agent_table:  # whole columns into the DataCollector's "agents" table, as Mesa keeps tables
            table = self.datacollector.tables["agents"]
            rb, vb, ub, wb, asks, us, ws = self._round_columns
            static = self._static_columns
            table["Step"].extend([self.step_count] * (self.n + self.m))
            table["AgentID"].extend(static["unique_id"])
            for name in ("role", "index", "strategy_name", "strategy_label"):
                table[name].extend(static[name])
            table["report"].extend(rb + asks)
            table["value"].extend(vb + self.costs.tolist())
            table["utility"].extend(ub + us)
            table["won"].extend(wb + ws)

    def agent_frame(self) -> pd.DataFrame:
        """The agent table indexed by (Step, AgentID) — Mesa's ``get_agent_vars_dataframe``
        layout — whether it was collected per agent (``collect_agents=True``) or as columns."""
        if self._agent_table:
            return self.datacollector.get_table_dataframe("agents").set_index(["Step", "AgentID"])
        return self.datacollector.get_agent_vars_dataframe()

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
            info: dict[str, Any] = {"assigned": agent.assigned}  # type: ignore[attr-defined]
        else:
            info = {"partner": agent.partner}  # type: ignore[attr-defined]
        if rnd is None:
            return Observation(self.step_count, agent.role, agent.index, None, info)
        info["candidates"] = rnd.candidates
        return Observation(self.step_count, agent.role, agent.index, rnd.oracle(agent.role, agent.index), info)

    def _report_phase(self) -> None:
        bids, asks = self.values, self.costs
        if not self._all_batched:
            bids, asks = bids.copy(), asks.copy()
            step = self.step_count
            for role, groups in self._report_groups.items():
                if not groups:
                    continue
                for o in self._plain_obs[role]:
                    o.round = step
                buyer = role == "buyer"
                types_all = self.values if buyer else self.costs
                for leader, members, agents, _idx, rows, obs in groups:
                    if leader is not None:  # one batch call for the group, each member's own stream
                        reports = leader.report_many(types_all[rows], obs, members)
                    elif buyer:  # one at a time: what the agents' decide() does, without its call frame
                        reports = [r(a.values, o) for r, a, o in zip(members, agents, obs)]  # type: ignore[attr-defined]
                    else:
                        reports = [r(a.cost, o) for r, a, o in zip(members, agents, obs)]  # type: ignore[attr-defined]
                    if buyer:
                        self._put_buyer_reports(bids, agents, rows, reports)
                    else:
                        self._put_seller_reports(asks, agents, rows, reports)
            users = self._oracle_users["buyer"] + self._oracle_users["seller"]
            if users:
                base = RelayRound(
                    self.network, self.values, self.costs, bids.copy(), asks.copy(), self.sigma, self._mechanism, step
                )
                decided = [(a, a.decide(self._observation(a, base))) for a in users]
                for a, rep in decided:
                    if a.role == "buyer":
                        bids[a.index] = self._buyer_report(a, rep)
                        a.report_vector = bids[a.index]  # type: ignore[attr-defined]
                    else:
                        asks[a.index] = self._seller_report(a, rep)
            self._check_reports(bids, asks)  # once for the whole book (two reductions per role)
        self.bids, self.asks = bids, asks

    def _put_buyer_reports(self, bids: np.ndarray, agents: list[RelayMarketAgent], idx: Any, reports: Any) -> None:
        try:  # a batch's fresh array is used as is; a list of reports is stacked (a copy)
            arr = (
                np.asarray(reports, dtype=np.float64)
                if isinstance(reports, np.ndarray)
                else np.array(reports, dtype=np.float64)
            )
        except (TypeError, ValueError):
            arr = None
        if arr is None or arr.shape != (len(agents), self.m):
            rows = list(reports) if arr is None or arr.ndim < 1 or len(arr) != len(agents) else list(arr)
            for a, rep in zip(agents, rows):  # names the first offender
                self._buyer_report(a, rep)
            raise ShapeError(
                f"{len(agents)} buyers' reports came back with shape "
                f"{None if arr is None else arr.shape}, expected ({len(agents)}, {self.m})"
            )
        bids[idx] = arr
        for a, row in zip(agents, arr):
            a.report_vector = row  # type: ignore[attr-defined]

    def _put_seller_reports(self, asks: np.ndarray, agents: list[RelayMarketAgent], idx: Any, reports: Any) -> None:
        try:
            arr = np.array(reports, dtype=np.float64)
        except (TypeError, ValueError):
            arr = None
        if arr is None or arr.shape != (len(agents),):
            rows = list(reports) if arr is None or arr.ndim < 1 or len(arr) != len(agents) else list(arr)
            for a, rep in zip(agents, rows):  # names the first offender
                self._seller_report(a, rep)
            raise ShapeError(
                f"{len(agents)} sellers' asks came back with shape "
                f"{None if arr is None else arr.shape}, expected ({len(agents)},)"
            )
        asks[idx] = arr

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
        """Raise for the first invalid ask, then the first invalid bid vector, naming its agent."""
        if not (asks.min() >= 0.0 and asks.max() < np.inf):  # NaN fails both comparisons
            j = int(np.flatnonzero(~(np.isfinite(asks) & (asks >= 0)))[0])
            self._seller_report(self.sellers[j], float(asks[j]))  # raises
        if bids.min() >= 0.0 and bids.max() < np.inf:
            return
        i = int(np.flatnonzero(~(np.isfinite(bids) & (bids >= 0)).all(axis=1))[0])
        raise InvalidReportError(
            f"buyer {i} ({self.buyers[i].strategy.label}) reported an invalid bid vector "
            f"(NaN, infinite or negative): {bids[i]}"
        )

    def _clear_phase(self) -> None:
        self.round = RelayRound(
            self.network, self.values, self.costs, self.bids, self.asks, self.sigma, self._mechanism, self.step_count
        )
        self.outcome = self.round.outcome

    def _settle_phase(self) -> None:
        out, values, costs, bids = self.outcome, self.values, self.costs, self.bids
        n = self.n
        j = out.sigma
        paired = np.flatnonzero(j >= 0)
        rb = np.full(n, math.nan)
        vb = np.full(n, math.nan)
        rb[paired] = bids[paired, j[paired]]
        vb[paired] = values[paired, j[paired]]
        ub = np.zeros(n)
        win = np.flatnonzero(out.buyer_wins)
        ub[win] = values[win, j[win]] - out.buyer_payments[win]
        us = np.where(out.seller_wins, out.seller_payments - costs, 0.0)
        self.buyer_utility, self.seller_utility = ub, us
        self._record_metrics(out, ub, us)
        # each agent records its own result: one pass per role
        cols = (
            rb.tolist(),
            vb.tolist(),
            ub.tolist(),
            out.buyer_wins.tolist(),
            self.asks.tolist(),
            us.tolist(),
            out.seller_wins.tolist(),
        )
        for a, r, v, u, w in zip(self.buyers, *cols[:4]):
            a.report, a.value, a.utility, a.won = r, v, u, w
            a.history.append(u)
        for a, r, u, w in zip(self.sellers, *cols[4:]):
            a.report, a.utility, a.won = r, u, w
            a.history.append(u)
        self._round_columns = cols
        for role, pay in (("buyer", out.buyer_payments), ("seller", out.seller_payments)):
            for a in self._learners[role]:  # the oracle only for strategies that declare they need one
                obs = self._observation(a, self.round if a.strategy.flag("needs_oracle") else None)
                obs.info.update(  # type: ignore[attr-defined]  # _observation builds info as a dict
                    won=a.won,
                    payment=float(pay[a.index]),
                    buyer_price=self.buyer_price,
                    seller_price=self.seller_price,
                )
                a.learn(obs, a.utility)

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

    # ------------------------------------------------------------------ views
    @property
    def kda_k(self) -> float:
        """The k of the k-DA this model runs or would run by name (the KDA field's default otherwise)."""
        mech = self._mechanism
        if isinstance(mech, KDA):
            return mech.k
        return float(self.mechanism_params.get("kda_k", KDA().k))

    @property
    def mechanism_object(self) -> RelayMechanism:
        """The :class:`~auctionlab.mechanisms.relay.mechanisms.RelayMechanism` this model clears with."""
        return self._mechanism

    def utilities(self, role: str) -> np.ndarray:
        return self.buyer_utility if role == "buyer" else self.seller_utility

    def wins(self, role: str) -> np.ndarray:
        return self.outcome.buyer_wins if role == "buyer" else self.outcome.seller_wins

    def utility_history(self, role: str) -> np.ndarray:
        """(steps, n) buyer or (steps, m) seller utilities, oldest step first (from the agents)."""
        agents = self.buyers if role == "buyer" else self.sellers
        return np.array([a.history for a in agents], dtype=np.float64).reshape(len(agents), -1).T

    # ------------------------------------------------------------------ counterfactuals
    def counterfactual_round(self, bids: Any = None, asks: Any = None) -> RelayRound:
        """A frozen round for counterfactual questions: the last completed round (reports as
        played), or — given ``bids`` and/or ``asks`` — the current instance and assignment
        with that report profile (the others as last played)."""
        if bids is None and asks is None:
            if self.round is None:
                raise StateError("no round has been played yet: call step() first")
            return self.round
        b = self.bids if bids is None else as_float_array(bids, "bids", (self.n, self.m))
        a = self.asks if asks is None else as_float_array(asks, "asks", (self.m,))
        return RelayRound(self.network, self.values, self.costs, b, a, self.sigma, self._mechanism, self.step_count)

    def utility_if(self, agent: RelayMarketAgent, report: Any) -> float:
        """``agent``'s utility in the last round had it reported ``report``, others fixed."""
        return self.counterfactual_round().utility_if(agent.role, agent.index, report)

    def utilities_if(
        self, agent: RelayMarketAgent | tuple[str, int], reports: Any, *, scalar: bool = False
    ) -> np.ndarray:
        """An agent's utilities in the last round under K reports at once (one vectorised
        mechanism call: (K, m) bid vectors of a buyer, (K,) asks of a seller; ``scalar``:
        a buyer's reports as the one number the mechanism reads), others fixed."""
        role, index = (agent.role, agent.index) if isinstance(agent, RelayMarketAgent) else agent
        return self.counterfactual_round().utilities_if(role, index, reports, scalar=scalar)

    def profile_utilities(
        self, profiles: Sequence[tuple[np.ndarray, np.ndarray]]
    ) -> list[tuple[RelayOutcome, np.ndarray, np.ndarray]]:
        """Clear the current instance under many report profiles ``[(bids, asks), ...]``
        (everyone's reports changed at once) on the current assignment: per profile the
        outcome and the buyers' and sellers' true utilities."""
        out = []
        for bids, asks in profiles:
            res = self._mechanism(self.network, bids, asks, self.sigma)
            ub, us = res.utilities(self.values, self.costs)
            out.append((res, ub, us))
        return out
