"""The outcome of one relay double auction, shared by TASC and every baseline."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from auctionlab._validate import as_real_array
from auctionlab.errors import ConfigError, ShapeError
from auctionlab.mechanisms.relay.network import RelayNetwork


@dataclass(frozen=True, eq=False)
class RelayOutcome:
    """Who trades, with whom, and at what price.

    ``sigma`` is the assignment the mechanism worked from (phase 1 for TASC, the VCG
    matching for VCG); only pairs whose buyer wins actually trade (``traded``).
    Payments are zero for losers. ``profit`` = Σ buyer payments − Σ seller payments
    (the auctioneer's surplus; negative is a deficit). ``boundary`` is the
    (buyer, seller) pair that set uniform prices, when the rule has one, and ``k`` the
    number of candidate pairs with bid ≥ ask. For TASC, ``ranking`` holds the sorted
    candidate buyers S and sellers R, and ``boundary_candidates`` the two boundary pairs
    (s_{i_α}, r_{j_k}) and (s_{i_k}, r_{j_β}) step 5 chose between, for inspection.
    """

    buyer_wins: np.ndarray
    seller_wins: np.ndarray
    sigma: np.ndarray
    buyer_payments: np.ndarray
    seller_payments: np.ndarray
    profit: float
    rule: str
    k: int = 0
    boundary: tuple[int, int] | None = None
    buyer_price: float | None = None
    seller_price: float | None = None
    ranking: tuple[np.ndarray, np.ndarray] | None = None
    boundary_candidates: tuple[tuple[int, int], tuple[int, int]] | None = None

    @property
    def n(self) -> int:
        return self.buyer_wins.shape[0]

    @property
    def m(self) -> int:
        return self.seller_wins.shape[0]

    @property
    def traded(self) -> np.ndarray:
        """The relay each source actually uses after the auction (−1 = direct transmission)."""
        return np.where(self.buyer_wins, self.sigma, -1)

    @property
    def n_trades(self) -> int:
        return int(np.count_nonzero(self.buyer_wins))

    def utilities(self, values, costs) -> tuple[np.ndarray, np.ndarray]:
        """Buyer utilities (n,) and seller utilities (m,) under true ``values`` (n, m) and ``costs`` (m,)."""
        values = as_real_array(values, "values", (self.n, self.m))
        costs = as_real_array(costs, "costs", (self.m,))
        win = np.flatnonzero(self.buyer_wins)
        ub = np.zeros(self.n)
        ub[win] = values[win, self.sigma[win]] - self.buyer_payments[win]
        us = np.where(self.seller_wins, self.seller_payments - costs, 0.0)
        return ub, us

    @classmethod
    def _of(cls, **fields: Any) -> RelayOutcome:
        """An outcome from all of its fields, bypassing the generated ``__init__`` (thirteen
        frozen ``setattr`` calls cost more than the rest of a small auction's bookkeeping).
        For the mechanisms' hot paths only: every field must be given."""
        obj = object.__new__(cls)
        obj.__dict__.update(fields)
        return obj

    @classmethod
    def from_trades(
        cls, sigma: np.ndarray, m: int, buyers, buyer_pay, seller_pay, rule: str, profit: float | None = None, **extra
    ) -> RelayOutcome:
        """The outcome in which ``buyers`` trade with their relays ``sigma[buyers]`` at the
        given payments (scalars for uniform prices, or one entry per trade). ``profit``
        defaults to Σ buyer payments − Σ seller payments; pass it when it is known exactly."""
        buyers = np.asarray(buyers, dtype=np.intp)
        sellers = sigma[buyers]
        buyer_wins = np.zeros(sigma.shape[0], dtype=bool)
        buyer_wins[buyers] = True
        seller_wins = np.zeros(m, dtype=bool)
        seller_wins[sellers] = True
        bp = np.zeros(sigma.shape[0])
        bp[buyers] = buyer_pay
        sp = np.zeros(m)
        sp[sellers] = seller_pay
        return cls(
            buyer_wins=buyer_wins,
            seller_wins=seller_wins,
            sigma=sigma,
            buyer_payments=bp,
            seller_payments=sp,
            profit=float(bp.sum() - sp.sum()) if profit is None else float(profit),
            rule=rule,
            **extra,
        )

    @classmethod
    def no_trade(cls, n: int, m: int, sigma: np.ndarray, rule: str, k: int = 0) -> RelayOutcome:
        return cls(
            buyer_wins=np.zeros(n, dtype=bool),
            seller_wins=np.zeros(m, dtype=bool),
            sigma=sigma,
            buyer_payments=np.zeros(n),
            seller_payments=np.zeros(m),
            profit=0.0,
            rule=rule,
            k=k,
        )


@dataclass(frozen=True, eq=False)
class AgentOutcomes:
    """What one agent gets under each of K counterfactual reports, every other report fixed.

    ``wins`` (K,) whether it trades, ``payment`` (K,) what it pays (a buyer) or receives (a
    seller), 0 when it does not trade, ``relay`` (K,) the relay a buyer trades with (−1 when
    it does not; for a seller its own index when it trades). Utilities follow from the
    agent's true type alone (:meth:`buyer_utilities`, :meth:`seller_utilities`), so a
    mechanism reports this and never sees types.
    """

    wins: np.ndarray
    payment: np.ndarray
    relay: np.ndarray

    @classmethod
    def none(cls, k: int) -> AgentOutcomes:
        """K reports none of which trades (an agent whose report the mechanism never reads)."""
        return cls(np.zeros(k, dtype=bool), np.zeros(k), np.full(k, -1, dtype=np.intp))

    @classmethod
    def stack(cls, parts: list[AgentOutcomes]) -> AgentOutcomes:
        return cls(*(np.concatenate([getattr(p, f) for p in parts]) for f in ("wins", "payment", "relay")))

    def buyer_utilities(self, values: np.ndarray) -> np.ndarray:
        """Utilities of a buyer with true values ``values`` (m,): value of the relay won − payment."""
        return np.where(self.wins, values[np.maximum(self.relay, 0)] - self.payment, 0.0)

    def seller_utilities(self, cost: float) -> np.ndarray:
        """Utilities of a seller with true cost ``cost``: payment received − cost, 0 when it does not trade."""
        return np.where(self.wins, self.payment - cost, 0.0)


def efficiency(network: RelayNetwork, outcome: RelayOutcome) -> dict[str, float]:
    """System efficiency of an outcome: total capacity, number of relayed trades, min capacity.

    The outcome must come from an auction on a network of the same size (n sources, m relays)."""
    if not isinstance(network, RelayNetwork):
        raise ConfigError(f"network must be a RelayNetwork, got {type(network).__name__}")
    if not isinstance(outcome, RelayOutcome):
        raise ConfigError(f"outcome must be a RelayOutcome, got {type(outcome).__name__}")
    if (outcome.n, outcome.m) != (network.n, network.m):
        raise ShapeError(
            f"outcome is for n={outcome.n} sources and m={outcome.m} relays, but the network has "
            f"n={network.n} and m={network.m}: an outcome of another network"
        )
    cap = network.capacities(outcome.traded)
    return {
        "total_capacity": float(cap.sum()),
        "trades": float(outcome.n_trades),
        "min_capacity": float(cap.min()),
    }
