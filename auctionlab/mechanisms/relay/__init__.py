"""Relay market: wireless network model, relay assignment, TASC and baseline double auctions.

Mechanisms are objects (:mod:`auctionlab.mechanisms.relay.mechanisms`): ``TASC()``,
``TradeReduction()``, ``KDA(k=0.5)``, ``VCG()``, ``McAfee()``, ``McAfeeHomogeneous()``, each
registered by name in ``MECHANISMS``.

The TASC entry point lives in its module: ``from auctionlab.mechanisms.relay.tasc import tasc``
(it is not re-exported here, so that ``auctionlab.mechanisms.relay.tasc`` stays the module).
The Mesa model, :mod:`auctionlab.models.relay`, is not imported here either: the
mechanisms stay importable without Mesa.
"""

from auctionlab.mechanisms.relay.assignment import ASSIGNMENT_ALGORITHMS, mm, mwm, ora
from auctionlab.mechanisms.relay.baselines import k_double_auction, mcafee, pure_assignment, vcg_double_auction
from auctionlab.mechanisms.relay.mechanisms import (
    KDA,
    MECHANISMS,
    TASC,
    VCG,
    McAfee,
    McAfeeHomogeneous,
    RelayMechanism,
    RelayRound,
    TradeReduction,
    resolve_mechanism,
)
from auctionlab.mechanisms.relay.network import RelayNetwork, random_network
from auctionlab.mechanisms.relay.outcome import RelayOutcome, efficiency
from auctionlab.mechanisms.relay.tasc import assign, clear, trade_reduction
from auctionlab.mechanisms.relay.valuations import capacity_valuations, uniform_valuations

__all__ = [
    "ASSIGNMENT_ALGORITHMS",
    "KDA",
    "MECHANISMS",
    "TASC",
    "VCG",
    "McAfee",
    "McAfeeHomogeneous",
    "RelayMechanism",
    "RelayNetwork",
    "RelayOutcome",
    "RelayRound",
    "TradeReduction",
    "assign",
    "capacity_valuations",
    "clear",
    "efficiency",
    "k_double_auction",
    "mcafee",
    "mm",
    "mwm",
    "ora",
    "pure_assignment",
    "random_network",
    "resolve_mechanism",
    "trade_reduction",
    "uniform_valuations",
    "vcg_double_auction",
]
