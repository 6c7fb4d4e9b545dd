"""Mesa agents of the relay market: sources (buyers) and relays (sellers).

An agent owns its state. Its private type is dealt to it by the market when types are
drawn (a buyer's value vector over the relays, a seller's cost); it decides its report
through its strategy (:meth:`RelayMarketAgent.decide`); after clearing, the market tells
it what it got (:meth:`RelayMarketAgent.settle`), and it keeps its own utility history.
The market assembles the book (bid matrix, ask vector) from the agents' reports, because
a mechanism clears a whole book at once, but it never recomputes an agent's attributes.

Attributes read by the DataCollector (plain attributes, scalars): ``role``, ``index``,
``strategy_name``, ``strategy_label``, ``report``, ``value``, ``utility``, ``won``. For a
buyer, ``report`` and ``value`` are its bid and true value on the relay the mechanism
paired it with (``outcome.sigma`` — the phase-1 relay for TASC, trade reduction and k-DA,
the VCG or McAfee pairing otherwise), NaN when it was paired with none; the full vectors
are ``report_vector`` and ``values``. For a seller they are its ask and cost. Before the
first round (the step-0 row) ``report`` and ``utility`` are NaN and ``won`` is False:
nothing has been reported or realised yet (a seller's ``value``, its cost, is dealt at
construction; a buyer's is NaN until it is paired).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, ClassVar

import mesa
import numpy as np

from auctionlab.strategies.base import Observation, Strategy

if TYPE_CHECKING:  # pragma: no cover
    from auctionlab.models.relay import RelayMarket


class RelayMarketAgent(mesa.Agent):
    """Common part of buyers and sellers: place in the market, strategy, round state, history."""

    role: ClassVar[str] = "any"
    model: RelayMarket

    def __init__(self, model: RelayMarket, index: int, strategy: Strategy) -> None:
        super().__init__(model)
        self.index = int(index)
        self.strategy = strategy
        self.strategy_name = strategy.name
        self.strategy_label = strategy.label
        self.report: float = math.nan
        self.value: float = math.nan
        self.utility: float = math.nan  # realised in the latest round; NaN before the first
        self.won: bool = False
        self.history: list[float] = []  # realised utility per step, oldest first

    @property
    def true_type(self) -> Any:
        raise NotImplementedError

    def decide(self, obs: Observation) -> Any:
        """The report for this round: the strategy's decision on the private type."""
        return self.strategy.report(self.true_type, obs)

    def learn(self, obs: Observation, utility: float) -> None:
        self.strategy.update(obs, utility)

    def settle(self, report: float, value: float, utility: float, won: bool) -> None:
        """Record this round's result (the market calls it once per agent and step)."""
        self.report, self.value, self.utility, self.won = report, value, utility, won
        self.history.append(utility)

    @property
    def utility_history(self) -> np.ndarray:
        """Realised utility in every step so far (oldest first)."""
        return np.array(self.history, dtype=np.float64)

    @property
    def total_utility(self) -> float:
        return float(math.fsum(self.history))


class SourceAgent(RelayMarketAgent):
    """A source–destination pair buying relay service. Private type: values over relays (m,)."""

    role = "buyer"

    def __init__(self, model: RelayMarket, index: int, strategy: Strategy) -> None:
        super().__init__(model, index, strategy)
        self.values: np.ndarray = np.zeros(0)  # dealt by the market
        self.report_vector: np.ndarray = self.values
        self.assigned: int = -1  # phase-1 relay of this source (−1 = none), public

    @property
    def true_type(self) -> np.ndarray:
        return self.values


class RelayAgent(RelayMarketAgent):
    """A relay selling its service. Private type: its cost (a float)."""

    role = "seller"

    def __init__(self, model: RelayMarket, index: int, strategy: Strategy) -> None:
        super().__init__(model, index, strategy)
        self.cost: float = math.nan  # dealt by the market
        self.partner: int = -1  # the buyer phase 1 assigned this relay to (−1 = none), public

    @property
    def true_type(self) -> float:
        return self.cost
