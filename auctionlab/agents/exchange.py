"""The Mesa agent of the combinatorial exchange: a bidder with a true TBBL valuation and a proxy strategy.

An :class:`ExchangeBidder` is thin: its private type is its true node values (one per
node of its bid tree), its decision is its strategy's, and it keeps books. It *is* the
proxy the ICE engine calls — :meth:`ExchangeBidder.revise` turns the engine's feedback
into an observation and asks the strategy — so the market model simply lets the engine
query each agent (``IterativeExchange.bid(name, agent)``).

The agent owns its books. After each round the market calls :meth:`ExchangeBidder.observe`,
and the agent reads what a bidder may know from the model's round record
(``model.record``): its own row (the RP checks made, whether the round ended in a penalty,
its bounds and provisional trade) and the provisional prices; after the last-and-final
round, its own payment in the outcome (``model.result``). From these it keeps: how many
checks failed (the engine stops querying at the first passed check, so every check but
the round's last failed); the bound width; the provisional utility (true value of the
provisional trade minus its price at the provisional linear prices) and, at the end, its
payment and realised utility. The DataCollector reads the attributes listed in
:data:`AGENT_REPORTERS`.

In repeated exchanges (``ExchangeMarket.run_episodes``) :meth:`ExchangeBidder.end_episode`
builds the end-of-episode observation from the outcome — this bidder's own trade,
payment and utility, and how the run closed — and hands it to the strategy's
``update()``; :meth:`ExchangeBidder.new_episode` starts the books again on the next
instance while the strategy keeps what it has learned.
"""

from __future__ import annotations

import math
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, ClassVar

import mesa
import numpy as np

from auctionlab.errors import ConfigError, InternalError, StateError
from auctionlab.mechanisms.exchange.tbbl import value
from auctionlab.strategies.base import Observation, Strategy
from auctionlab.strategies.exchange import (
    ExchangeStrategy,
    check_truth,
    exchange_observation,
)

if TYPE_CHECKING:  # pragma: no cover
    from auctionlab.mechanisms.exchange.proxies import Feedback

AGENT_REPORTERS = (
    "bidder",
    "index",
    "strategy_name",
    "strategy_label",
    "rp_checked",
    "rp_passed",
    "queries",
    "penalized",
    "rp_checks",
    "rp_failures",
    "penalties",
    "width",
    "provisional_utility",
    "payment",
    "utility",
)


class ExchangeBidder(mesa.Agent):
    """A bidder ``name`` with true values ``truth`` bidding through ``strategy``.

    ``truth`` is the bidder's true bid tree (an exact :class:`~auctionlab.mechanisms.exchange.tbbl.BidTree`,
    which lets the agent value its own trades) or just its true node values.
    ``index`` is the bidder's position in the exchange (default: looked up by name in
    ``model.exchange``).
    """

    role: ClassVar[str] = "bidder"

    def __init__(
        self, model: mesa.Model, name: str, truth: Any, strategy: Strategy, *, index: int | None = None
    ) -> None:
        if not isinstance(strategy, ExchangeStrategy):
            raise ConfigError(
                f"bidder {name!r}: an exchange bidder needs an exchange strategy (role 'bidder'), "
                f"got {getattr(strategy, 'label', strategy)!r}"
            )
        tree = truth if hasattr(truth, "n_nodes") and hasattr(truth, "lower") else None
        truth = check_truth(tree.lower if tree is not None else truth)
        if index is None:
            ex = getattr(model, "exchange", None)
            if ex is None:
                raise ConfigError(f"bidder {name!r}: give index= when the model has no exchange")
            index = ex.index(name)
        super().__init__(model)
        self.bidder = str(name)
        self.index = int(index)
        self.truth = truth
        self.tree = tree  # the true bid tree, when given: values of trades
        self.strategy = strategy
        self.strategy_name = strategy.name
        self.strategy_label = strategy.label
        self._reset_books()

    def _reset_books(self) -> None:
        # last round
        self.rp_checked = False
        self.rp_passed: bool | None = None
        self.queries = 0
        self.penalized = False
        self.width = math.nan
        self.provisional_utility = math.nan
        # cumulative
        self.rp_checks = 0
        self.rp_failures = 0
        self.penalties = 0
        self.utility_history: list[float] = []
        # the end
        self.payment = math.nan
        self.utility = math.nan

    @property
    def true_type(self) -> np.ndarray:
        return self.truth

    # ------------------------------------------------------------------ episodes
    def new_episode(self, truth: Any) -> None:
        """Start a new episode with true values ``truth`` (a tree or node values, as in the
        constructor): the books start again, the strategy — and whatever it has learned — stays."""
        tree = truth if hasattr(truth, "n_nodes") and hasattr(truth, "lower") else None
        self.truth = check_truth(tree.lower if tree is not None else truth)
        self.tree = tree
        self._reset_books()

    def end_episode(self, *, episode: int, oracle: Any = None) -> Observation:
        """The exchange has closed: tell the strategy what this bidder may know of the
        episode and return that observation.

        ``obs.info`` holds only this bidder's own outcome and the public end of the run:
        ``episode``, ``bidder``, ``trade`` (its own row of the final trade, read-only),
        ``payment``, ``utility`` (true value of its trade minus its payment), ``traded``,
        ``closed_by`` and ``rounds``. ``oracle`` (given by the market to strategies that
        declare ``needs_oracle``) maps a strategy to this bidder's utility had it played the
        episode with it, every other bidder unchanged. The strategy's ``update(obs, utility)``
        is called with the realised utility.
        """
        res = getattr(self.model, "result", None)
        if res is None:
            raise StateError(f"bidder {self.bidder!r}: the episode has not closed; nothing to learn from")
        trade = np.array(res.allocation.trade_matrix[self.index], dtype=float)
        trade.flags.writeable = False
        payment = float(res.payments[self.bidder])
        if res.utilities is not None:
            utility = float(res.utilities[self.bidder])
        else:
            utility = self.true_value(trade) - payment
        info = MappingProxyType(
            {
                "episode": int(episode),
                "bidder": self.bidder,
                "trade": trade,
                "payment": payment,
                "utility": utility,
                "traded": bool(np.any(trade != 0)),
                "closed_by": str(res.closed_by),
                "rounds": int(res.rounds),
            }
        )
        obs = Observation(round=int(episode), role=self.role, index=self.index, oracle=oracle, info=info)
        self.strategy.update(obs, utility)
        return obs

    # ------------------------------------------------------------------ the decision
    @property
    def stationary(self) -> bool:
        """The strategy's ``stationary`` flag: whether the exchange may stop a run whose state repeats."""
        return bool(getattr(self.strategy, "stationary", False))

    def revise(self, feedback: Feedback) -> tuple[np.ndarray, np.ndarray]:
        """New bounds for the engine: the strategy's answer to this query."""
        return self.strategy.report(self.truth, exchange_observation(feedback, self.index, self.bidder))

    # ------------------------------------------------------------------ books
    def true_value(self, trade: np.ndarray) -> float:
        """The bidder's true value of a trade (needs the true tree)."""
        if self.tree is None:
            raise StateError(f"bidder {self.bidder!r} was given node values, not its tree: it cannot value trades")
        return float(value(self.tree, np.asarray(trade), "lower"))

    def observe(self) -> None:
        """Read this bidder's part of the round the model just closed and enter it in the books."""
        rec = getattr(self.model, "record", None)
        if rec is None:
            raise StateError(f"bidder {self.bidder!r}: the model has no closed round to observe")
        mine = rec.bidders[self.index]
        if mine.bidder != self.bidder:
            raise InternalError(f"round record row {self.index} is {mine.bidder!r}, not {self.bidder!r}")
        res = getattr(self.model, "result", None)
        payment = utility = None
        if res is not None:
            payment = float(res.payments[self.bidder])
            if res.utilities is not None:  # the engine's value of the final trade at the truth
                utility = float(res.utilities[self.bidder])
            else:
                utility = self.true_value(res.allocation.trade_matrix[self.index]) - payment
            provisional = utility
        else:
            provisional = self.true_value(mine.trade) - float(rec.prices @ mine.trade)
        self.record_round(
            rp_passed=None if mine.rp is None else bool(mine.rp.passed),
            queries=mine.queries,
            penalized=mine.penalized,
            width=float(np.sum(mine.upper - mine.lower)),
            provisional_utility=provisional,
            payment=payment,
            utility=utility,
        )

    def record_round(
        self,
        *,
        rp_passed: bool | None,
        queries: int,
        penalized: bool,
        width: float,
        provisional_utility: float,
        payment: float | None = None,
        utility: float | None = None,
    ) -> None:
        """Enter one round's outcome (called by the market after the round closes)."""
        self.rp_checked = rp_passed is not None
        self.rp_passed = rp_passed
        self.queries = int(queries)
        self.penalized = bool(penalized)
        self.rp_checks += self.queries
        self.rp_failures += self.queries - (1 if rp_passed else 0)
        self.penalties += int(self.penalized)
        self.width = float(width)
        self.provisional_utility = float(provisional_utility)
        self.utility_history.append(self.provisional_utility)
        if payment is not None:
            self.payment = float(payment)
        if utility is not None:
            self.utility = float(utility)
