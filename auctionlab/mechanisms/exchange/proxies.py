"""The exchange's proxy interface: what a proxy is told and what it answers.

A proxy knows only its bidder's bid tree (and, for the bidder's own reasons, the truth).
Each query it receives :class:`Feedback` — the provisional trade and prices of the last
round, the result of the last revealed-preference check and the nodes Lemma 2 names —
and returns new ``(lower, upper)`` node bounds. Returning the bounds unchanged after a
failed check means "I give up this round": the exchange then applies the penalty.

The engine is duck-typed: anything with ``revise(feedback) -> (lower, upper)`` is a proxy.
:class:`Proxy` is the trivial one (keeps its bounds). How bidders *decide* — the
straightforward proxy the mechanism's analysis assumes and the strategic variants
(misreporting, lazy, stubborn, late revealers) — lives in the strategy library,
:mod:`auctionlab.strategies.exchange` (``StraightforwardProxy``, ``bind``), which this
package never imports (layering: mechanisms do not import strategies).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from auctionlab.mechanisms.exchange.activity import RPResult


@dataclass(frozen=True, eq=False)
class Feedback:
    """What the exchange tells one bidder's proxy at one query."""

    round: int
    final: bool  # this round is the last-and-final round
    lower: np.ndarray  # the bidder's current bounds
    upper: np.ndarray
    prices: np.ndarray | None  # provisional prices of the previous round (None in round 0)
    trade: np.ndarray | None  # this bidder's provisional trade of the previous round
    satisfied: np.ndarray | None  # nodes satisfied in that provisional trade (bool per node)
    rp: RPResult | None = None  # the last RP check this round (None before the first)
    queries: int = 0  # RP checks already made this round
    max_queries: int | None = None  # the checks allowed per round (None: no limit known)
    scale: float = 1.0  # the unit of the values (1 at ordinary magnitudes): for scale-free tolerances

    @property
    def must_revise(self) -> bool:
        return self.rp is not None and not self.rp.passed


class Proxy:
    """The minimal proxy: keeps its bounds as they are (never narrows). Any object with
    ``revise(feedback)`` may be used instead."""

    name = "Proxy"
    classifier: dict = {"truthful": False, "deviation": None, "stochastic": False, "learning": False}
    stationary = True
    """Its answer depends only on the feedback (not on the round number, earlier queries
    or chance): the exchange may stop a run whose state repeats. A proxy without this
    attribute, or with it False, never lets a run stop before ``max_rounds`` that way."""

    def revise(self, feedback: Feedback) -> tuple[np.ndarray, np.ndarray]:
        return feedback.lower, feedback.upper
