"""DataCollectors for the market models: plain ``mesa.DataCollector`` objects, public API only.

Mesa turns an attribute-name agent reporter into a local closure, which cannot be
pickled — and a market model must pickle (sweeps ship models to worker processes). The
reporters here are therefore given to Mesa as ready callables: ``operator.attrgetter``
for attribute names (picklable, and evaluated in C) and :class:`ParamReporter` for
Mesa's ``[function, [params]]`` form. Nothing of Mesa is overridden: ``collect``,
``get_model_vars_dataframe``, ``get_agent_vars_dataframe`` and ``mesa.batch_run`` work
exactly as documented by Mesa.

>>> dc = market_datacollector(("trades",), ("utility",))
>>> type(dc).__module__, sorted(dc.agent_reporters)
('mesa.datacollection', ['utility'])
"""

from __future__ import annotations

import operator
from collections.abc import Iterable, Mapping
from typing import Any

from mesa.datacollection import DataCollector


class ParamReporter:
    """Picklable ``func(agent, *params)`` for Mesa's ``[func, [params]]`` reporter form."""

    def __init__(self, func: Any, params: Iterable[Any]) -> None:
        self.func = func
        self.params = tuple(params)

    def __call__(self, agent: Any) -> Any:
        return self.func(agent, *self.params)


def agent_reporters(reporters: Mapping[str, Any] | Iterable[str] | None) -> dict[str, Any]:
    """Agent reporters as picklable callables: attribute names become ``attrgetter``s,
    ``[func, [params]]`` a :class:`ParamReporter`; callables are kept."""
    if reporters is None:
        return {}
    if not isinstance(reporters, Mapping):
        reporters = {name: name for name in reporters}
    out: dict[str, Any] = {}
    for name, rep in reporters.items():
        if isinstance(rep, str):
            rep = operator.attrgetter(rep)
        elif isinstance(rep, list):
            rep = ParamReporter(rep[0], rep[1])
        out[name] = rep
    return out


def market_datacollector(
    model_reporters: Mapping[str, Any] | Iterable[str] | None = None,
    agent_reporter_names: Mapping[str, Any] | Iterable[str] | None = None,
    tables: Mapping[str, Any] | None = None,
) -> DataCollector:
    """A ``mesa.DataCollector`` whose model reporters read model attributes (names given as
    a list, or Mesa's mapping) and whose agent reporters are :func:`agent_reporters`."""
    if model_reporters is not None and not isinstance(model_reporters, Mapping):
        model_reporters = {name: name for name in model_reporters}
    return DataCollector(
        model_reporters=dict(model_reporters or {}),
        agent_reporters=agent_reporters(agent_reporter_names) or None,
        tables=dict(tables) if tables else None,
    )


class ColumnDataCollector(DataCollector):
    """``mesa.DataCollector`` with picklable agent reporters (the exchange model's collector).

    Only the constructor's arguments are translated (:func:`agent_reporters`); everything
    else is Mesa's own."""

    def __init__(self, model_reporters=None, agent_reporters=None, agenttype_reporters=None, tables=None):
        super().__init__(model_reporters, _agent_reporters(agent_reporters) or None, agenttype_reporters, tables)


_agent_reporters = agent_reporters
