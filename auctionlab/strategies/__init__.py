"""Strategies: pure decision objects, private type + observation -> report (no mechanism imports).

``from auctionlab.strategies import make_strategy, STRATEGIES`` for configs;
the classes live in :mod:`.base`, :mod:`.relay`, :mod:`.learning` (relay market) and
:mod:`.exchange` (ICE proxies: ``Straightforward``, ``Misreport``, ``Lazy``, ``Stubborn``,
``LateRevealer``; ``bind`` / ``StraightforwardProxy`` for use outside Mesa).
"""

from auctionlab.strategies.base import Observation, Strategy, Truthful, Wrapper
from auctionlab.strategies.exchange import (
    ExchangeStrategy,
    LateRevealer,
    Lazy,
    Misreport,
    Straightforward,
    StraightforwardProxy,
    StrategyProxy,
    Stubborn,
    bind,
)
from auctionlab.strategies.learning import EXP3, FictitiousPlay, Hedge
from auctionlab.strategies.registry import STRATEGIES, make_strategy, strategy_from_spec
from auctionlab.strategies.relay import BestResponse, DropRelays, Noise, OthersOnly, OwnRelayOnly, Scale, Shift

__all__ = [
    "EXP3",
    "BestResponse",
    "DropRelays",
    "ExchangeStrategy",
    "FictitiousPlay",
    "Hedge",
    "LateRevealer",
    "Lazy",
    "Misreport",
    "Noise",
    "Observation",
    "OthersOnly",
    "OwnRelayOnly",
    "STRATEGIES",
    "Scale",
    "Shift",
    "Straightforward",
    "StraightforwardProxy",
    "Strategy",
    "StrategyProxy",
    "Stubborn",
    "Truthful",
    "Wrapper",
    "bind",
    "make_strategy",
    "strategy_from_spec",
]
