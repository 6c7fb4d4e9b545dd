"""The ``learning`` run kind: one seed of learning bidders in one market, through the Mesa models.

``market = "relay"``: the :class:`~auctionlab.models.relay.RelayMarket` with ``pairs``
independent source–relay pairs (source i can use relay i only, and the relay always beats
the direct link; ``pairs = 1`` is the bilateral market), values and costs uniform on
[0, 1] and redrawn every round. Every buyer and every seller is an
:class:`~auctionlab.strategies.affine.AffineLearner` over the grid ``a_grid × b_grid`` of
affine bid functions ``a · type + b`` (the default grid, step 1/12, holds the truth and
the Chatterjee–Samuelson bid functions of the k = 1/2 double auction), learning with
``rule`` (Hedge: full information through the model's counterfactual oracle; EXP3: its
own utility only) for ``episodes`` rounds of ``mechanism``.

``market = "exchange"``: the :class:`~auctionlab.models.exchange.ExchangeMarket` on a
generated exchange (``n_bidders`` × ``n_goods``, a fresh instance every episode) under
``payment_rule``, every bidder a :class:`~auctionlab.strategies.exchange_learning.LearningProxy`
over the deviation family (the paper's bidder, shading by every strength in ``shading``,
lazy, late revealer, stubborn) with ``rule`` (EXP3 by default; Hedge reruns every other
arm for every bidder after every episode, K − 1 ICE runs each); one episode is one ICE
run to its close (:meth:`~auctionlab.models.exchange.ExchangeMarket.run_episodes`).

Tables. ``rounds``: the learned parameters at ``checkpoints`` evenly spaced episodes, long
form (``episode``, ``role``, ``agent``, ``param``, ``value``): relay ``a`` and ``b`` (the
most probable bid function of each agent) and ``mean_a`` / ``mean_b`` (under its mixed
strategy); exchange the mass on each arm (``param`` = the arm's name) per bidder; and, as
``role = "market"``, the efficiency and the budget of the episodes since the last checkpoint.
``runs``: one row per run with the final learned parameters, the final utility loss ε and
how it was measured (``eps_method``), and the efficiency and budget of the market the
learners produce over the last ``window`` share of the episodes:

- relay ``eps_buyer`` / ``eps_seller``: the largest gain any agent of the role has from a
  grid best response at the learned profile (every agent bidding its most probable bid
  function; candidates on a grid twice as fine as the learners'), measured on
  ``eval_draws`` fresh rounds of the same ``RelayMarket`` with common random types (every
  candidate's utility from the round's own counterfactual, one vectorised call per agent
  and round);
- exchange ``eps`` (largest over bidders) and ``eps_mean``: the utility lost per episode
  over all episodes against the best fixed arm in hindsight (``mean_utility``, the bidders'
  mean utility per episode, gives its scale) — exact with Hedge (its
  counterfactual utilities come from the one counterfactual runner and its cache),
  an importance-weighted bandit estimate with EXP3 (what the bidder itself can know; no
  counterfactual runs are made for it);
- ``efficiency``: realised over efficient surplus, summed over the window (relay; and
  ``truthful_efficiency``, the same rounds cleared on truthful reports), mean of the
  episodes' final efficiency (exchange); ``budget``: the mechanism's surplus per episode
  (relay profit, exchange Σ payments), ``deficit_share`` the share of episodes with a deficit.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Sequence
from typing import Any, cast

import numpy as np

from auctionlab._validate import check_choice, check_float, check_float_list, check_int, check_positive_int
from auctionlab.errors import ConfigError
from auctionlab.experiments.kinds import RunKind, RunOutput
from auctionlab.experiments.params import Params
from auctionlab.strategies.affine import DEFAULT_A_GRID, DEFAULT_B_GRID
from auctionlab.studies.relay_market import check_name, mechanism_kwargs, with_mechanism_parameters

MARKETS = ("relay", "exchange")
RULES = ("hedge", "exp3")
TRUTH = (1.0, 0.0)
DEFICIT_TOL = 1e-9
#: the reward range an EXP3 learner rescales to [0, 1] when none is given, per market
REWARD_RANGE = {"relay": (-1.0, 1.0), "exchange": (-5.0, 25.0)}


def _grid(values: Sequence[float]) -> list[float]:
    return list(values)


@dataclasses.dataclass(frozen=True)
class _LearningParams(Params):
    """Parameters of the ``learning`` run kind (module docstring)."""

    market: str = "relay"
    rule: str = "hedge"
    episodes: int = 400
    checkpoints: int = 8
    window: float = 0.25
    eta: float = 20.0
    gamma: float = 0.1
    reward_range: Any = None
    # relay market
    mechanism: str = "kda"
    pairs: int = 1
    a_grid: Any = dataclasses.field(default_factory=lambda: _grid(DEFAULT_A_GRID))
    b_grid: Any = dataclasses.field(default_factory=lambda: _grid(DEFAULT_B_GRID))
    eval_draws: int = 300
    br_refine: int = 1
    # exchange
    payment_rule: str = "threshold"
    n_bidders: int = 3
    n_goods: int = 2
    nodes: int = 5
    max_units: int = 2
    bound_width: float = 0.5
    max_rounds: int = 8
    shading: Any = dataclasses.field(default_factory=lambda: [0.1, 0.2, 0.3])
    solver: str = "highs"

    def check(self) -> None:
        from auctionlab.mechanisms.exchange.payment_rules import PAYMENT_RULES
        from auctionlab.mechanisms.relay.mechanisms import MECHANISMS, check_mechanism_parameters
        from auctionlab.studies.ice_runs import check_solver

        check_choice(self.market, "market", MARKETS)
        check_choice(self.rule, "rule", RULES)
        check_int(self.episodes, "episodes", minimum=1, maximum=1_000_000)
        check_int(self.checkpoints, "checkpoints", minimum=1, maximum=1000)
        if self.checkpoints > self.episodes:
            raise ConfigError(f"checkpoints ({self.checkpoints}) must not exceed episodes ({self.episodes})")
        check_float(self.window, "window", minimum=0.0, maximum=1.0, open_min=True)
        check_float(self.eta, "eta", minimum=0.0, open_min=True)
        check_float(self.gamma, "gamma", minimum=0.0, maximum=1.0, open_min=True)
        if self.reward_range is not None:
            lo_hi = check_float_list(self.reward_range, "reward_range")
            if len(lo_hi) != 2 or not lo_hi[0] < lo_hi[1]:
                raise ConfigError(f"reward_range must be [lo, hi] with lo < hi, got {self.reward_range!r}")
        check_name(self.mechanism, "mechanism")
        check_choice(self.mechanism, "mechanism", tuple(MECHANISMS))
        check_mechanism_parameters(mechanism_kwargs(self))
        check_int(self.pairs, "pairs", minimum=1, maximum=200)
        check_float_list(self.a_grid, "a_grid", minimum=0.0, distinct=True)
        check_float_list(self.b_grid, "b_grid", distinct=True)
        check_int(self.eval_draws, "eval_draws", minimum=0, maximum=1_000_000)
        check_int(self.br_refine, "br_refine", minimum=1, maximum=8)
        check_choice(self.payment_rule, "payment_rule", tuple(PAYMENT_RULES))
        if check_positive_int(self.n_bidders, "n_bidders", maximum=100) < 2:
            raise ConfigError(f"n_bidders must be at least 2 (a buyer and a seller), got {self.n_bidders}")
        check_positive_int(self.n_goods, "n_goods", maximum=50)
        check_int(self.nodes, "nodes", minimum=3, maximum=1000)
        check_positive_int(self.max_units, "max_units", maximum=1000)
        check_float(self.bound_width, "bound_width", minimum=0.0, maximum=10.0, open_max=True)
        check_positive_int(self.max_rounds, "max_rounds", maximum=10_000)
        check_float_list(self.shading, "shading", minimum=0.0, distinct=True)
        if any(s >= 1.0 for s in self.shading):
            raise ConfigError(f"shading strengths must be below 1, got {self.shading!r}")
        check_solver(self.solver)

    def rewards(self) -> tuple[float, float]:
        rr = self.reward_range if self.reward_range is not None else REWARD_RANGE[self.market]
        return float(rr[0]), float(rr[1])


LearningParams = with_mechanism_parameters(_LearningParams, "LearningParams")


def checkpoint_episodes(episodes: int, checkpoints: int) -> list[int]:
    """``checkpoints`` episode counts evenly spaced up to ``episodes`` (the last is ``episodes``)."""
    return sorted({int(round(episodes * (k + 1) / checkpoints)) for k in range(checkpoints)})


def window_size(episodes: int, window: float) -> int:
    """The final episodes the run's summary is measured over (at least one)."""
    return max(1, int(round(episodes * window)))


def pair_network(pairs: int):
    """``pairs`` independent source–relay pairs: source i can use relay i only (the relay
    always beats the direct link, which has capacity 0)."""
    from auctionlab.mechanisms.relay.network import RelayNetwork

    return RelayNetwork.from_capacities(np.zeros(pairs), np.eye(pairs))


def br_grid(a_grid: Sequence[float], b_grid: Sequence[float], refine: int = 1) -> np.ndarray:
    """The best-response candidates: the learners' grid with every gap split into ``refine``
    equal parts (``refine = 1``: the learners' own grid; it is always contained)."""

    def finer(values: Sequence[float]) -> np.ndarray:
        v = np.sort(np.asarray(values, dtype=np.float64))
        if v.size < 2 or refine == 1:
            return v
        steps = [lo + (hi - lo) * np.arange(refine) / refine for lo, hi in zip(v[:-1], v[1:])]
        return np.unique(np.concatenate([*steps, v[-1:]]))

    a, b = finer(a_grid), finer(b_grid)
    return np.array([(x, y) for x in a for y in b], dtype=np.float64)


# ---------------------------------------------------------------------- the relay market
def _relay_model(p: Any, population: dict[str, Any], rng: Any):
    from auctionlab.models.relay import RelayMarket

    return RelayMarket(
        network=pair_network(p.pairs),
        mechanism=p.mechanism,
        vmax=1.0,
        cost_range=(0.0, 1.0),
        population=population,
        collect_agents=False,
        rng=rng,
        **mechanism_kwargs(p),
    )


def relay_epsilon(
    p: Any, profile: dict[str, list[tuple[float, float]]], seed: np.random.SeedSequence
) -> dict[str, float]:
    """Per role, the largest gain of any agent from a grid best response at ``profile``
    (role -> one (a, b) per agent), on ``eval_draws`` fresh rounds with common random types."""
    from auctionlab.strategies.affine import Affine, affine_report

    if p.eval_draws == 0:
        return {"buyer": math.nan, "seller": math.nan}
    grid = br_grid(p.a_grid, p.b_grid, p.br_refine)
    model = _relay_model(
        p, {role: [Affine(a, b) for a, b in ab] for role, ab in profile.items()}, np.random.default_rng(seed)
    )
    agents = model.buyers + model.sellers
    gains = np.zeros((len(agents), len(grid)))
    own = np.zeros(len(agents))
    for _ in range(p.eval_draws):
        model.step()
        for k, agent in enumerate(agents):
            true = model.values[agent.index] if agent.role == "buyer" else float(model.costs[agent.index])
            reports = np.array([affine_report(true, a, b) for a, b in grid])
            gains[k] += model.utilities_if(agent, reports)
            own[k] += agent.utility
    eps = np.maximum(gains.max(axis=1) - own, 0.0) / p.eval_draws
    roles = np.array([a.role for a in agents])
    return {role: float(eps[roles == role].max()) for role in ("buyer", "seller")}


def run_relay(p: Any, seed: np.random.SeedSequence) -> RunOutput:
    from auctionlab.strategies.affine import AffineLearner
    from auctionlab.strategies.measure import efficient_surplus

    learn_seed, eval_seed = seed.spawn(2)
    learner = AffineLearner(p.rule, p.a_grid, p.b_grid, eta=p.eta, gamma=p.gamma, reward_range=p.rewards())
    model = _relay_model(p, {"buyer": learner, "seller": learner}, np.random.default_rng(learn_seed))
    agents = model.buyers + model.sellers
    useful = model.network.useful
    stops = set(checkpoint_episodes(p.episodes, p.checkpoints))
    welfare, best, truthful, budget = (np.zeros(p.episodes) for _ in range(4))
    rows: list[dict[str, Any]] = []
    last = 0
    t0 = time.perf_counter()
    for t in range(p.episodes):
        model.step()
        welfare[t], budget[t] = model.welfare, model.profit
        best[t] = efficient_surplus(model.values, model.costs, useful)
        ((res, ub, us),) = model.profile_utilities([(model.values, model.costs)])
        truthful[t] = float(ub.sum() + us.sum() + res.profit)  # true surplus of the truthful clearing
        if t + 1 in stops:
            for agent in agents:
                s = agent.strategy
                a, b = s.mode
                for name, v in (("a", a), ("b", b), ("mean_a", s.mean_a), ("mean_b", s.mean_b)):
                    rows.append({"episode": t + 1, "role": agent.role, "agent": agent.index, "param": name, "value": v})
            rows += _market_rows(t + 1, welfare[last : t + 1], best[last : t + 1], budget[last : t + 1])
            last = t + 1
    learn_s = time.perf_counter() - t0
    w = slice(p.episodes - window_size(p.episodes, p.window), p.episodes)
    profile = {role: [a.strategy.mode for a in agents if a.role == role] for role in ("buyer", "seller")}
    eps = relay_epsilon(p, profile, eval_seed)
    row: dict[str, Any] = {
        "market": "relay",
        "setting": p.mechanism,
        "rule": p.rule,
        "episodes": p.episodes,
        "pairs": p.pairs,
    }
    for role in ("buyer", "seller"):
        ab = np.array(profile[role])
        row[f"{role}_a"], row[f"{role}_b"] = float(ab[:, 0].mean()), float(ab[:, 1].mean())
        row[f"{role}_truthful_share"] = float(np.mean([tuple(x) == TRUTH for x in ab.tolist()]))
        row[f"eps_{role}"] = eps[role]
    row["eps_method"] = (
        f"grid best response, {len(br_grid(p.a_grid, p.b_grid, p.br_refine))} candidates, {p.eval_draws} draws"
    )
    row.update(_summary(welfare[w], best[w], budget[w]))
    row["truthful_efficiency"] = _ratio(truthful[w].sum(), best[w].sum())
    row["time_learning_s"] = learn_s
    row["time_total_s"] = time.perf_counter() - t0
    import pandas as pd

    return RunOutput(runs=[row], rounds=pd.DataFrame(rows))


def _ratio(num: float, den: float) -> float:
    return float(num / den) if den > 1e-12 else math.nan


def _summary(welfare: np.ndarray, best: np.ndarray, budget: np.ndarray) -> dict[str, float]:
    return {
        "efficiency": _ratio(float(welfare.sum()), float(best.sum())),
        "budget": float(np.mean(budget)),
        "deficit_share": float(np.mean(budget < -DEFICIT_TOL)),
    }


def _market_rows(episode: int, welfare: np.ndarray, best: np.ndarray, budget: np.ndarray) -> list[dict[str, Any]]:
    s = _summary(welfare, best, budget)
    return [
        {"episode": episode, "role": "market", "agent": -1, "param": k, "value": s[k]} for k in ("efficiency", "budget")
    ]


# ---------------------------------------------------------------------- the exchange
def arm_name(arm: Any) -> str:
    """A short name of an exchange arm: its registry name, with the strength of a misreport."""
    strength = getattr(arm, "strength", None)
    return f"{arm.name} {float(strength):g}" if strength is not None else str(arm.name)


def exchange_regret(
    played: np.ndarray, rewards: np.ndarray, probabilities: np.ndarray, scores: np.ndarray | None
) -> np.ndarray:
    """Per bidder, utility per episode lost against the best fixed arm in hindsight over the
    window: from the counterfactual totals ``scores`` (bidders × arms, Hedge) when given, else
    the importance-weighted bandit estimate from the arms ``played`` (episodes × bidders),
    their ``rewards`` and the ``probabilities`` they were drawn with (episodes × bidders × arms)."""
    t = played.shape[0]
    if scores is not None:
        best = scores.max(axis=1)
    else:
        k = probabilities.shape[2]
        onehot = np.eye(k)[played]  # episodes × bidders × arms
        est = (onehot * rewards[:, :, None] / np.maximum(probabilities, 1e-12)).sum(axis=0)
        best = est.max(axis=1)
    return np.maximum(best - rewards.sum(axis=0), 0.0) / t


def run_exchange(p: Any, seed: np.random.SeedSequence) -> RunOutput:
    import pandas as pd

    from auctionlab.models.exchange import ExchangeMarket
    from auctionlab.strategies.exchange_learning import LearningProxy, deviation_family

    arms = deviation_family(p.shading)
    names = [arm_name(a) for a in arms]
    proxy = LearningProxy(arms=arms, learner=p.rule, eta=p.eta, gamma=p.gamma, reward_range=p.rewards())
    model = ExchangeMarket(
        n_bidders=p.n_bidders,
        n_goods=p.n_goods,
        nodes=p.nodes,
        max_units=p.max_units,
        bound_width=p.bound_width,
        max_rounds=p.max_rounds,
        payment_rule=p.payment_rule,
        solver=p.solver,
        track_alpha_thresh="needed",
        population=proxy,
        collect_agents=False,
        rng=np.random.default_rng(seed),
    )
    learners = [cast(LearningProxy, a.strategy) for a in model.bidders]
    stops = set(checkpoint_episodes(p.episodes, p.checkpoints))
    start = p.episodes - window_size(p.episodes, p.window)
    eff, budget, stalled = (np.full(p.episodes, math.nan) for _ in range(3))
    probs = np.zeros((p.episodes, len(learners), len(arms)))
    rows: list[dict[str, Any]] = []
    last = 0
    t0 = time.perf_counter()
    for t in range(p.episodes):
        probs[t] = [s.probabilities for s in learners]
        (res,) = model.run_episodes(1)
        eff[t] = math.nan if res.efficiency is None else float(res.efficiency)
        budget[t], stalled[t] = float(res.budget_surplus), float(res.closed_by == "max_rounds")
        if t + 1 in stops:
            for s, b in zip(learners, model.names):
                for name, mass in zip(names, s.probabilities):
                    rows.append({"episode": t + 1, "role": "bidder", "agent": b, "param": name, "value": float(mass)})
            rows += [
                {
                    "episode": t + 1,
                    "role": "market",
                    "agent": "",
                    "param": "efficiency",
                    "value": _nanmean(eff[last : t + 1]),
                },
                {
                    "episode": t + 1,
                    "role": "market",
                    "agent": "",
                    "param": "budget",
                    "value": float(np.mean(budget[last : t + 1])),
                },
            ]
            last = t + 1
    # ε over every episode (the bandit estimate needs every play it can get)
    played = np.array([s.played for s in learners]).T  # episodes × bidders
    rewards = np.array([s.rewards for s in learners]).T
    scores = np.array([s.learner.score for s in learners]) if p.rule == "hedge" else None
    regret = exchange_regret(played, rewards, probs, scores)
    final = np.array([s.probabilities for s in learners])
    modes = [names[int(np.argmax(q))] for q in final]
    modal = max(dict.fromkeys(modes), key=modes.count)
    shade = [k for k, a in enumerate(arms) if getattr(a, "strength", None) is not None]
    w = slice(start, p.episodes)
    row: dict[str, Any] = {
        "market": "exchange",
        "setting": p.payment_rule,
        "rule": p.rule,
        "episodes": p.episodes,
        "n_bidders": p.n_bidders,
        "n_goods": p.n_goods,
        "truthful_mass": float(final[:, 0].mean()),  # arm 0 is the paper's bidder
        "shading_mass": float(final[:, shade].sum(axis=1).mean()),
        "modal_arm": modal,
        "modal_share": modes.count(modal) / len(modes),
        "eps": float(regret.max()),
        "eps_mean": float(regret.mean()),
        "eps_method": (
            "counterfactual regret vs the best fixed arm over all episodes (Hedge)"
            if scores is not None
            else "bandit estimate: importance-weighted regret vs the best fixed arm over all episodes (EXP3)"
        ),
        "mean_utility": float(rewards.mean()),
        "efficiency": _nanmean(eff[w]),
        "budget": float(np.mean(budget[w])),
        "deficit_share": float(np.mean(budget[w] < -1e-6)),
        "max_rounds_share": float(np.mean(stalled[w])),
        "counterfactual_calls": int(model.counterfactual_calls),
        "time_learning_s": time.perf_counter() - t0,
    }
    row["time_total_s"] = row["time_learning_s"]
    return RunOutput(runs=[row], rounds=pd.DataFrame(rows))


def _nanmean(x: np.ndarray) -> float:
    x = x[np.isfinite(x)]
    return float(x.mean()) if x.size else math.nan


# ---------------------------------------------------------------------- the run kind
def run_learning(params: dict[str, Any], seed: np.random.SeedSequence) -> RunOutput:
    """One seed of learning in one market (module docstring)."""
    p = LearningParams.from_mapping(params)
    return run_relay(p, seed) if p.market == "relay" else run_exchange(p, seed)  # type: ignore[attr-defined]


LEARNING_METRICS = (
    "market",
    "setting",
    "rule",
    "episodes",
    "pairs",
    "n_bidders",
    "n_goods",
    "buyer_a",
    "buyer_b",
    "seller_a",
    "seller_b",
    "buyer_truthful_share",
    "seller_truthful_share",
    "eps_buyer",
    "eps_seller",
    "truthful_mass",
    "shading_mass",
    "modal_arm",
    "modal_share",
    "eps",
    "eps_mean",
    "eps_method",
    "mean_utility",
    "efficiency",
    "truthful_efficiency",
    "budget",
    "deficit_share",
    "max_rounds_share",
    "counterfactual_calls",
    "time_learning_s",
    "time_total_s",
)

LEARNING_KIND = RunKind(
    name="learning",
    fn=run_learning,
    params=LearningParams,
    metrics=LEARNING_METRICS,
    id_columns=("market", "setting", "rule"),
    chunk=1,
    description="learning bidders (affine bid functions in the relay market, deviation arms in the exchange)",
)
