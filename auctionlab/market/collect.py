"""A Mesa DataCollector that reads agent reporters as whole columns and pickles.

Two problems with ``mesa.DataCollector`` for market models, solved here without changing
its interface (``collect``, ``get_model_vars_dataframe``, ``get_agent_vars_dataframe``):

- It calls every agent reporter on every agent, every step: per-agent Python work that
  dominates a step once there are a few hundred agents. A model that keeps agent state in
  arrays can instead provide ``agent_column(name) -> sequence | None``: the values of the
  attribute ``name`` for all agents, in ``model.agents`` order (``None`` = not available,
  fall back to per-agent calls). ``agent_column("unique_id")`` supplies the ids.
- Attribute-name agent reporters become local closures in Mesa 3.3, which cannot be
  pickled; here they are stored as small module-level callables.

Model reporters are handled by Mesa unchanged (attribute names or module-level functions).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from mesa.datacollection import DataCollector


class AttributeReporter:
    """Picklable ``getattr(agent, name, None)``."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __call__(self, agent: Any) -> Any:
        return getattr(agent, self.name, None)

    def __getstate__(self):
        return self.name

    def __setstate__(self, state):
        self.name = state


class ParamReporter:
    """Picklable ``func(agent, *params)`` for Mesa's ``[func, [params]]`` reporter form."""

    def __init__(self, func, params) -> None:
        self.func = func
        self.params = tuple(params)

    def __call__(self, agent: Any) -> Any:
        return self.func(agent, *self.params)


class ColumnDataCollector(DataCollector):
    """``mesa.DataCollector`` with column-wise agent records (see the module docstring)."""

    def __init__(self, model_reporters=None, agent_reporters=None, agenttype_reporters=None, tables=None):
        self._agent_columns: dict[int, tuple[np.ndarray, list[Any]]] = {}
        super().__init__(model_reporters, agent_reporters, agenttype_reporters, tables)

    def _new_agent_reporter(self, name, reporter):
        if isinstance(reporter, str):
            reporter = AttributeReporter(reporter)
        elif isinstance(reporter, list):
            reporter = ParamReporter(reporter[0], reporter[1])
        self.agent_reporters[name] = reporter

    def collect(self, model) -> None:
        reporters, self.agent_reporters = self.agent_reporters, {}
        try:
            super().collect(model)
        finally:
            self.agent_reporters = reporters
        if reporters:
            self._agent_columns[model.steps] = self._columns(model, reporters)

    @staticmethod
    def _columns(model, reporters) -> tuple[np.ndarray, list[Any]]:
        bulk = getattr(model, "agent_column", None)
        agents = None

        def per_agent(fn):
            nonlocal agents
            if agents is None:
                agents = list(model.agents)
            return [fn(a) for a in agents]

        ids = bulk("unique_id") if bulk else None
        ids = np.asarray(per_agent(AttributeReporter("unique_id")) if ids is None else ids)
        cols = []
        for rep in reporters.values():
            col = bulk(rep.name) if bulk is not None and isinstance(rep, AttributeReporter) else None
            cols.append(per_agent(rep) if col is None else col)
        return ids, cols

    def get_agent_vars_dataframe(self) -> pd.DataFrame:
        """One row per (Step, AgentID), one column per agent reporter — as Mesa's."""
        if not self.agent_reporters:
            raise UserWarning(
                "No agent reporters have been defined in the DataCollector, returning empty DataFrame."
            )
        names = list(self.agent_reporters)
        steps = sorted(self._agent_columns)
        if not steps:
            empty = pd.DataFrame(columns=["Step", "AgentID", *names])
            return empty.set_index(["Step", "AgentID"])
        data: dict[str, Any] = {
            "Step": np.concatenate([np.full(len(self._agent_columns[s][0]), s) for s in steps]),
            "AgentID": np.concatenate([self._agent_columns[s][0] for s in steps]),
        }
        for k, name in enumerate(names):
            parts = [self._agent_columns[s][1][k] for s in steps]
            if all(isinstance(p, np.ndarray) for p in parts):
                data[name] = np.concatenate(parts)
            else:
                data[name] = [x for p in parts for x in (p.tolist() if isinstance(p, np.ndarray) else p)]
        return pd.DataFrame(data).set_index(["Step", "AgentID"])
