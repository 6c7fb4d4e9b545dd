"""Tournaments between strategies in the relay market or the exchange, in Axelrod's shape.

>>> from auctionlab.tournament import Tournament
>>> t = Tournament(["truthful", {"strategy": "scale", "params": {"theta": 0.8}}],
...                "trade_reduction", repetitions=2, turns=2, rng=0, n=6, m=6)
>>> results = t.play()
>>> results.ranked_names[0]
'truthful'

- :class:`Tournament` → :meth:`~Tournament.play` → :class:`ResultSet` (``ranked_names``,
  ``summarise()``, ``payoff_matrix``, ``plot.boxplot()`` / ``plot.payoff()``);
- :class:`Ecosystem` — replicator population dynamics over a result set's payoff matrix;
- :class:`Moran` — a finite-population Moran process over it, and
  :func:`fixation_probability` of one invader (estimated by repeats, with its interval);
- :func:`filtered_strategies` — registered strategy names by classifier.
"""

from auctionlab.tournament.classifier import (
    CLASSIFIER_KEYS,
    classify,
    filtered_strategies,
    strategy_parameters,
)
from auctionlab.tournament.ecosystem import Ecosystem
from auctionlab.tournament.moran import (
    FixationEstimate,
    Moran,
    MoranResult,
    exact_fixation_probability,
    fixation_probability,
)
from auctionlab.tournament.plot import Plot, draw_boxplot, draw_payoff
from auctionlab.tournament.result_set import ResultSet
from auctionlab.tournament.tournament import MARKETS, Tournament

__all__ = [
    "CLASSIFIER_KEYS",
    "MARKETS",
    "Ecosystem",
    "FixationEstimate",
    "Moran",
    "MoranResult",
    "Plot",
    "ResultSet",
    "Tournament",
    "classify",
    "draw_boxplot",
    "draw_payoff",
    "exact_fixation_probability",
    "filtered_strategies",
    "fixation_probability",
    "strategy_parameters",
]
