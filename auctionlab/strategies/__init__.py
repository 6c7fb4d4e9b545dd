"""Strategies: pure decision objects, private type + observation -> report (no mechanism imports).

``from auctionlab.strategies import make_strategy, STRATEGIES`` for configs;
the classes live in :mod:`.base`, :mod:`.relay` and :mod:`.learning`.
"""

from auctionlab.strategies.base import Observation, Strategy, Truthful, Wrapper
from auctionlab.strategies.learning import EXP3, FictitiousPlay, Hedge
from auctionlab.strategies.registry import STRATEGIES, make_strategy, strategy_from_spec
from auctionlab.strategies.relay import BestResponse, DropRelays, Noise, OthersOnly, OwnRelayOnly, Scale, Shift

__all__ = [
    "EXP3", "BestResponse", "DropRelays", "FictitiousPlay", "Hedge", "Noise", "Observation", "OthersOnly",
    "OwnRelayOnly", "STRATEGIES", "Scale", "Shift", "Strategy", "Truthful", "Wrapper", "make_strategy",
    "strategy_from_spec",
]
