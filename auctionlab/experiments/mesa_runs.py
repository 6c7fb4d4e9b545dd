"""The ``relay-market`` run kind: the Mesa :class:`RelayMarket` for a number of steps.

Use it for what needs agents — strategic or learning populations, repeated auctions —
where per-step Mesa bookkeeping is the point. Tables: ``rounds`` = one row per step
(the model reporters), ``agents`` = one row per agent and step, ``runs`` = one row with
the model reporters averaged over the steps (plus the last step's value of each).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from auctionlab.errors import ConfigError
from auctionlab.experiments.kinds import RunKind, RunOutput, cost_range, positive_float, positive_int

MODEL_KEYS = ("n", "m", "algorithm", "mechanism", "vmax", "cost_range", "channel", "valuation", "types",
              "population", "kda_k", "collect_agents")
MESA_DEFAULTS: dict[str, Any] = {
    "n": 100, "m": 150, "algorithm": "mwm", "mechanism": "tasc", "vmax": 4.0, "cost_range": [0.0, 1.0],
    "channel": "static", "valuation": "uniform", "types": None, "population": None, "kda_k": 0.5,
    "collect_agents": True, "steps": 10,
}


def _model_reporters() -> tuple[str, ...]:
    from auctionlab.market.relay.model import MODEL_REPORTERS

    return tuple(MODEL_REPORTERS)


def check_mesa(p: dict[str, Any]) -> None:
    """Every check RelayMarket itself makes, without building a network."""
    from auctionlab.market.relay.assignment import ASSIGNMENT_ALGORITHMS
    from auctionlab.market.relay.mechanisms import resolve_mechanism
    from auctionlab.market.relay.model import CHANNELS, TYPE_MODES, VALUATIONS, parse_population

    n = positive_int(p, "n", maximum=5000)
    m = positive_int(p, "m", maximum=5000)
    positive_int(p, "steps", maximum=10_000_000)
    positive_float(p, "vmax")
    cost_range(p)
    for key, allowed in (("channel", CHANNELS), ("valuation", VALUATIONS)):
        if p[key] not in allowed:
            raise ConfigError(f"{key} must be one of {allowed}, got {p[key]!r}")
    if p["types"] is not None and p["types"] not in TYPE_MODES:
        raise ConfigError(f"types must be one of {TYPE_MODES}, got {p['types']!r}")
    if not isinstance(p["algorithm"], str):
        raise ConfigError(f"algorithm must be a name, got {p['algorithm']!r}")
    ASSIGNMENT_ALGORITHMS.resolve(p["algorithm"])
    if not isinstance(p["mechanism"], str):
        raise ConfigError(f"mechanism must be a name, got {p['mechanism']!r}")
    resolve_mechanism(p["mechanism"], kda_k=p["kda_k"])
    parse_population(p["population"], n, m)
    if not isinstance(p["collect_agents"], bool):
        raise ConfigError(f"collect_agents must be true or false, got {p['collect_agents']!r}")


def run_relay_market(p: dict[str, Any], seed: np.random.SeedSequence) -> RunOutput:
    """``RelayMarket(**params, rng=Generator(seed))`` stepped ``steps`` times."""
    from auctionlab.market.relay.model import RelayMarket

    kw = {k: p[k] for k in MODEL_KEYS if p.get(k) is not None or k == "population"}
    kw["cost_range"] = tuple(kw["cost_range"])
    model = RelayMarket(**kw, rng=np.random.default_rng(seed))
    for _ in range(int(p["steps"])):
        model.step()
    rounds = model.datacollector.get_model_vars_dataframe().reset_index(drop=True)
    rounds.insert(0, "step", np.arange(1, len(rounds) + 1))
    row: dict[str, Any] = {"steps": int(p["steps"])}
    for c in _model_reporters():
        col = rounds[c].astype(float)
        row[f"mean_{c}"] = float(col.mean())
        row[f"last_{c}"] = float(col.iloc[-1])
    agents = None
    if p["collect_agents"]:
        agents = model.datacollector.get_agent_vars_dataframe().reset_index()
        agents = agents.rename(columns={"Step": "step", "AgentID": "agent_id"})
    return RunOutput(runs=[row], agents=agents, rounds=rounds)


RELAY_MARKET_KIND = RunKind(
    name="relay-market", fn=run_relay_market, defaults=MESA_DEFAULTS, checker=check_mesa,
    metrics=("steps",) + tuple(f"{a}_{c}" for c in (
        "total_capacity", "trades", "min_capacity", "capacity_ratio", "trades_ratio", "min_capacity_ratio",
        "profit", "budget_balanced", "welfare", "buyer_price", "seller_price") for a in ("mean", "last")),
    chunk=2,
    description="the Mesa RelayMarket (strategic / learning populations) stepped for some rounds",
)
