"""The names the market models report, in a module without Mesa.

:class:`~auctionlab.models.relay.RelayMarket` collects :data:`MODEL_REPORTERS` per step
and :data:`AGENT_REPORTERS` per agent; run kinds that name their stored columns after them
import the names from here, so registering a kind does not import Mesa.
"""

from __future__ import annotations

__all__ = ["AGENT_REPORTERS", "MODEL_REPORTERS"]

#: the relay market's per-step model reporters (attributes of the model)
MODEL_REPORTERS = (
    "total_capacity",
    "trades",
    "min_capacity",
    "capacity_ratio",
    "trades_ratio",
    "min_capacity_ratio",
    "profit",
    "budget_balanced",
    "welfare",
    "buyer_price",
    "seller_price",
)
#: the relay market's per-agent reporters (attributes of an agent)
AGENT_REPORTERS = ("role", "index", "strategy_name", "strategy_label", "report", "value", "utility", "won")
