"""ICE, the iterative combinatorial exchange: TBBL bid trees, winner
determination as one MIP, VCG / Threshold payments and random instances.

>>> from auctionlab.mechanisms.exchange import AND, Exchange, leaf, solve_wd, vcg_payments
>>> ex = Exchange.from_dict({
...     "goods": ["A", "B"],
...     "bidders": {
...         "seller": {"endowment": {"A": 1, "B": 1},
...                    "tree": AND(leaf({"A": -1}, -5), leaf({"B": -1}, -5))},
...         "buyer": {"tree": AND(leaf({"A": 1}, 10), leaf({"B": 1}, 10))}}})
>>> solve_wd(ex).value
10.0
>>> vcg_payments(ex)
{'seller': -20.0, 'buyer': 10.0}
"""

from auctionlab.mechanisms.exchange.generators import BoundedPair, random_exchange
from auctionlab.mechanisms.exchange.instance import Bidder, Exchange
from auctionlab.mechanisms.exchange.mip import (
    Allocation,
    MIPSolution,
    WDModel,  # noqa: E402,F401  (deprecated alias of WDProgram)
    WDProgram,
    allocation_from_solution,
    canonical_trades,
    solve_wd,
)
from auctionlab.mechanisms.exchange.payments import (
    ExchangeOutcome,
    PaymentResult,
    compute_payments,
    one_shot,
    threshold_c,
    threshold_discounts,
    threshold_payments,
    vcg_discounts,
    vcg_payments,
)
from auctionlab.mechanisms.exchange.tbbl import AND, IC, OR, XOR, BidTree, leaf, value

__all__ = [
    "AND",
    "IC",
    "OR",
    "XOR",
    "Allocation",
    "BidTree",
    "Bidder",
    "BoundedPair",
    "Exchange",
    "ExchangeOutcome",
    "MIPSolution",
    "PaymentResult",
    "WDProgram",
    "allocation_from_solution",
    "canonical_trades",
    "compute_payments",
    "leaf",
    "one_shot",
    "random_exchange",
    "solve_wd",
    "threshold_c",
    "threshold_discounts",
    "threshold_payments",
    "value",
    "vcg_discounts",
    "vcg_payments",
]
