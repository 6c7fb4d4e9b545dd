"""Mesa agents of the relay market: sources (buyers) and relays (sellers).

An agent is thin: a private type, a strategy, and bookkeeping. For speed the market keeps
every agent's private type, report and utility in arrays (one row / entry per agent, so a
round clears with vectorised NumPy); an agent's attributes are views of its entry. The
agent's one decision, :meth:`RelayMarketAgent.decide`, asks its strategy for a report.

Attributes read by the DataCollector (scalars): ``role``, ``index``, ``strategy_name``,
``strategy_label``, ``report``, ``value``, ``utility``, ``won``. For a buyer, ``report``
and ``value`` are its bid and true value on the relay the mechanism paired it with
(``outcome.sigma`` — the phase-1 relay for TASC, trade reduction and k-DA, the VCG or
McAfee pairing otherwise), NaN when it was paired with none; the full vectors are
``report_vector`` and ``values``. For a seller they are its ask and cost.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, ClassVar

import mesa
import numpy as np

from auctionlab.strategies.base import Observation, Strategy

if TYPE_CHECKING:  # pragma: no cover
    from auctionlab.market.relay.model import RelayMarket


class RelayMarketAgent(mesa.Agent):
    """Common part of buyers and sellers: index into the market's arrays, strategy, history."""

    role: ClassVar[str] = "any"
    model: "RelayMarket"

    def __init__(self, model: "RelayMarket", index: int, strategy: Strategy) -> None:
        super().__init__(model)
        self.index = int(index)
        self.strategy = strategy
        self.strategy_name = strategy.name
        self.strategy_label = strategy.label

    @property
    def true_type(self) -> Any:
        raise NotImplementedError

    def decide(self, obs: Observation) -> Any:
        """The report for this round: the strategy's decision on the private type."""
        return self.strategy.report(self.true_type, obs)

    def learn(self, obs: Observation, utility: float) -> None:
        self.strategy.update(obs, utility)

    @property
    def utility(self) -> float:
        return float(self.model.utilities(self.role)[self.index])

    @property
    def won(self) -> bool:
        return bool(self.model.wins(self.role)[self.index])

    @property
    def utility_history(self) -> np.ndarray:
        """Realised utility in every step so far (oldest first)."""
        return self.model.utility_history(self.role)[:, self.index]

    @property
    def total_utility(self) -> float:
        return float(self.utility_history.sum())


class SourceAgent(RelayMarketAgent):
    """A source–destination pair buying relay service. Private type: values over relays (m,)."""

    role = "buyer"

    @property
    def values(self) -> np.ndarray:
        return self.model.values[self.index]

    true_type = values

    @property
    def report_vector(self) -> np.ndarray:
        return self.model.bids[self.index]

    @property
    def assigned(self) -> int:
        """Phase-1 relay of this source (−1 = none)."""
        return int(self.model.sigma[self.index])

    def _paired(self) -> int:
        return int(self.model.outcome.sigma[self.index])

    @property
    def report(self) -> float:
        j = self._paired()
        return float(self.model.bids[self.index, j]) if j >= 0 else math.nan

    @property
    def value(self) -> float:
        j = self._paired()
        return float(self.model.values[self.index, j]) if j >= 0 else math.nan


class RelayAgent(RelayMarketAgent):
    """A relay selling its service. Private type: its cost (a float)."""

    role = "seller"

    @property
    def cost(self) -> float:
        return float(self.model.costs[self.index])

    true_type = cost
    value = cost

    @property
    def report(self) -> float:
        return float(self.model.asks[self.index])
