"""The ``relay-market`` run kind: the Mesa :class:`RelayMarket` for a number of steps.

Use it for what needs agents — strategic or learning populations, repeated auctions —
where per-step Mesa bookkeeping is the point. Tables: ``rounds`` = one row per step
(the model reporters), ``agents`` = one row per agent and step, ``runs`` = one row with
the model reporters averaged over the steps (plus the last step's value of each). The
model's step-0 record (the instance before any round) is not stored.

Parameters are :class:`RelayMarketParams`; they are checked by
:meth:`RelayMarket.validate <auctionlab.models.relay.RelayMarket.validate>` (the
model's own check) plus what a spec adds: names rather than callables, and ``steps``.
Mechanism parameters are spelled ``<mechanism>_<field>`` (``kda_k``), one field per
parameter of every registered mechanism class.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from auctionlab._validate import check_bool, check_int
from auctionlab.errors import ConfigError
from auctionlab.experiments.kinds import RunKind, RunOutput
from auctionlab.experiments.params import Params
from auctionlab.mechanisms.relay.mechanisms import mechanism_parameters
from auctionlab.models.reporters import MODEL_REPORTERS

MODEL_KEYS = (
    "n",
    "m",
    "algorithm",
    "mechanism",
    "vmax",
    "cost_range",
    "channel",
    "valuation",
    "types",
    "population",
    "collect_agents",
)


def with_mechanism_parameters(base: type[Params], name: str) -> type[Params]:
    """``base`` plus one field per ``<mechanism>_<field>`` parameter of the registered
    mechanism classes, its default the class's own (``kda_k = 0.5``)."""
    fields = [
        (key, Any, field(default=default))
        for key, (_, _, default) in mechanism_parameters().items()
        if key not in base.names()
    ]
    cls = dataclasses.make_dataclass(name, fields, bases=(base,), frozen=True)
    cls.__module__ = base.__module__
    cls.__doc__ = base.__doc__
    return cls


def mechanism_kwargs(p: Any) -> dict[str, Any]:
    """The ``<mechanism>_<field>`` parameters of a Params instance or a parameter mapping."""
    get = p.get if isinstance(p, Mapping) else (lambda k, d=None: getattr(p, k, d))
    return {k: get(k) for k in mechanism_parameters() if get(k) is not None}


def check_name(value: Any, name: str) -> str:
    if not isinstance(value, str):
        raise ConfigError(f"{name} must be a name, got {value!r}")
    return value


@dataclass(frozen=True)
class _RelayMarketParams(Params):
    """Parameters of the ``relay-market`` run kind (see :class:`RelayMarket` for each)."""

    n: int = 100
    m: int = 150
    algorithm: str = "mwm"
    mechanism: str = "tasc"
    vmax: float = 4.0
    cost_range: Any = field(default_factory=lambda: [0.0, 1.0])
    channel: str = "static"
    valuation: str = "uniform"
    types: str | None = None
    population: Any = None
    collect_agents: bool = True
    steps: int = 10

    def model_kwargs(self) -> dict[str, Any]:
        kw = {k: getattr(self, k) for k in MODEL_KEYS}
        kw["cost_range"] = tuple(kw["cost_range"]) if isinstance(kw["cost_range"], (list, tuple)) else kw["cost_range"]
        return {**kw, **mechanism_kwargs(self)}

    def check(self) -> None:
        from auctionlab.models.relay import RelayMarket

        check_bool(self.collect_agents, "collect_agents")
        check_name(self.algorithm, "algorithm")
        check_name(self.mechanism, "mechanism")
        check_int(self.steps, "steps", minimum=1, maximum=10_000_000)
        RelayMarket.validate(**self.model_kwargs())


RelayMarketParams = with_mechanism_parameters(_RelayMarketParams, "RelayMarketParams")


def run_relay_market(p: dict[str, Any], seed: np.random.SeedSequence) -> RunOutput:
    """``RelayMarket(**params, rng=Generator(seed))`` stepped ``steps`` times."""
    from auctionlab.models.relay import RelayMarket

    params = RelayMarketParams.from_mapping(p)
    kw = params.model_kwargs()  # type: ignore[attr-defined]
    if kw["collect_agents"]:
        kw["collect_agents"] = "columns"  # the same rows as Mesa's agent reporters, written as whole columns
    model = RelayMarket(**kw, rng=np.random.default_rng(seed))
    steps = int(params.steps)  # type: ignore[attr-defined]
    for _ in range(steps):
        model.step()
    rounds = model.datacollector.get_model_vars_dataframe().iloc[1:].reset_index(drop=True).infer_objects()  # no step 0
    rounds.insert(0, "step", np.arange(1, len(rounds) + 1))
    row: dict[str, Any] = {"steps": steps}
    for c in MODEL_REPORTERS:
        col = rounds[c].astype(float)
        row[f"mean_{c}"] = float(col.mean())
        row[f"last_{c}"] = float(col.iloc[-1])
    agents = None
    if params.collect_agents:  # type: ignore[attr-defined]
        agents = model.agent_frame().drop(index=0, level="Step").reset_index()
        agents = agents.rename(columns={"Step": "step", "AgentID": "agent_id"})
    return RunOutput(runs=[row], agents=agents, rounds=rounds)


RELAY_MARKET_KIND = RunKind(
    name="relay-market",
    fn=run_relay_market,
    params=RelayMarketParams,
    metrics=("steps",) + tuple(f"{a}_{c}" for c in MODEL_REPORTERS for a in ("mean", "last")),
    chunk=2,
    description="the Mesa RelayMarket (strategic / learning populations) stepped for some rounds",
)
