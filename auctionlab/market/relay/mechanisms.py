"""Every relay mechanism behind one signature, and one auction round with counterfactuals.

A *relay mechanism* is a function ``(network, bids, asks, sigma) -> RelayOutcome`` where
``bids`` is (n, m), ``asks`` (m,) and ``sigma`` (n,) the bid-independent phase-1
assignment (−1 = unassigned). Mechanisms that do not use ``sigma`` (VCG, McAfee) ignore it.
``MECHANISMS`` maps names to such functions; users register their own with
``MECHANISMS.register("name", fn)`` (a module-level function or a ``functools.partial``
of one, so that models holding it still pickle).

:class:`RelayRound` freezes one round — instance, reports, assignment, mechanism — and
answers "what would agent x get had it reported r, everyone else fixed?" by rerunning the
mechanism with the same phase-1 assignment (valid because phase 1 never reads reports).
It is what the Mesa model hands its agents as an oracle and what the manipulation
measurements run on; it imports no Mesa and no strategy.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from auctionlab._validate import as_float_array, check_nonnegative_finite
from auctionlab.errors import ConfigError, InvalidReportError
from auctionlab.market.relay.baselines import k_double_auction, mcafee, vcg_double_auction
from auctionlab.market.relay.network import RelayNetwork
from auctionlab.market.relay.outcome import RelayOutcome
from auctionlab.market.relay.tasc import assign, check_reports, check_sigma, clear, trade_reduction
from auctionlab.registry import Registry

RelayMechanism = Callable[[RelayNetwork, np.ndarray, np.ndarray, np.ndarray], RelayOutcome]


def tasc_mechanism(network: RelayNetwork, bids, asks, sigma) -> RelayOutcome:
    """TASC phase 2 exactly as written (SPEC A4) on the given assignment."""
    return clear(bids, asks, sigma)


def trade_reduction_mechanism(network: RelayNetwork, bids, asks, sigma) -> RelayOutcome:
    """The truthful trade-reduction variant (SPEC A4′) on the given assignment."""
    return trade_reduction(bids, asks, sigma)


def vcg_mechanism(network: RelayNetwork, bids, asks, sigma) -> RelayOutcome:
    """VCG double auction on the useful pairs; ignores ``sigma`` (it computes its own matching)."""
    return vcg_double_auction(bids, asks, useful=network.useful)


def kda_mechanism(network: RelayNetwork, bids, asks, sigma, k: float = 0.5) -> RelayOutcome:
    """k-double auction on the phase-1 pairs: each pair with B ≥ A trades at A + k(B − A)."""
    return k_double_auction(bids, asks, sigma, k=k)


def mcafee_mechanism(network: RelayNetwork, bids, asks, sigma) -> RelayOutcome:
    """McAfee's homogeneous-goods double auction applied to relays (ignores ``sigma``).

    Reduction: buyer i's single bid is its highest bid over the relays useful to it (0 when
    none is), i.e. it bids for "a relay"; every seller's ask is used as is. Winners are
    paired as McAfee pairs them — the t-th highest winning bidder with the t-th lowest
    winning ask — *whatever* the network. So McAfee is the textbook truthful, IR, budget
    balanced mechanism only in a homogeneous setting (every relay useful to every buyer and
    valued equally by it). In a heterogeneous network a buyer can be paired with a relay it
    values less than its bid or not at all (utility < 0, capacity below direct): that is
    the failure SPEC A6 names, kept visible on purpose rather than patched.
    """
    bids = np.asarray(bids, dtype=np.float64)
    scalar = np.where(network.useful, bids, 0.0).max(axis=1)
    return mcafee(scalar, asks)


MECHANISMS: Registry[RelayMechanism] = Registry(
    "mechanism",
    {
        "tasc": tasc_mechanism,
        "trade_reduction": trade_reduction_mechanism,
        "vcg": vcg_mechanism,
        "mcafee": mcafee_mechanism,
        "kda": kda_mechanism,
    },
)


def resolve_mechanism(spec: str | Callable, *, kda_k: float = 0.5) -> RelayMechanism:
    """A mechanism by name (binding ``kda_k`` for "kda") or a user callable passed through."""
    if isinstance(spec, str) and spec == "kda":
        if isinstance(kda_k, bool) or not isinstance(kda_k, (int, float)) or not 0.0 <= float(kda_k) <= 1.0:
            raise ConfigError(f"kda_k must be a number in [0, 1], got {kda_k!r}")
        return functools.partial(kda_mechanism, k=float(kda_k))
    if not (isinstance(spec, str) or callable(spec)):
        raise ConfigError(f"mechanism must be a name or a callable, got {type(spec).__name__}")
    return MECHANISMS.resolve(spec)


# ---------------------------------------------------------------------- one round
def buyer_utility(outcome: RelayOutcome, values: np.ndarray, i: int) -> float:
    if not outcome.buyer_wins[i]:
        return 0.0
    return float(values[i, outcome.sigma[i]] - outcome.buyer_payments[i])


def seller_utility(outcome: RelayOutcome, costs: np.ndarray, j: int) -> float:
    if not outcome.seller_wins[j]:
        return 0.0
    return float(outcome.seller_payments[j] - costs[j])


def check_buyer_report(report: Any, m: int, who: str = "bid") -> np.ndarray:
    arr = as_float_array(report, who, (m,))
    check_nonnegative_finite(arr, who)
    return arr


def check_seller_report(report: Any, who: str = "ask") -> float:
    try:
        v = float(report)
    except (TypeError, ValueError):
        raise InvalidReportError(f"{who} must be a number, got {report!r}") from None
    if not (v >= 0.0 and v < np.inf):
        raise InvalidReportError(f"{who} = {report!r}: must be finite and non-negative")
    return v


@dataclass(eq=False)
class RelayRound:
    """One relay auction with its reports frozen, able to answer counterfactuals.

    Buyers are players ``("buyer", i)``, sellers ``("seller", j)``. Arrays are not copied;
    treat them as read-only. ``outcome`` is computed on first use.
    """

    network: RelayNetwork
    values: np.ndarray
    costs: np.ndarray
    bids: np.ndarray
    asks: np.ndarray
    sigma: np.ndarray
    mechanism: RelayMechanism
    round: int = 0
    _outcome: RelayOutcome | None = field(default=None, repr=False)
    _candidates: np.ndarray | None = field(default=None, repr=False)

    @classmethod
    def from_instance(
        cls,
        network: RelayNetwork,
        values,
        costs,
        *,
        bids=None,
        asks=None,
        mechanism: str | Callable = "tasc",
        algorithm: str | Callable = "mwm",
        sigma=None,
        kda_k: float = 0.5,
        round: int = 0,
    ) -> "RelayRound":
        """A round from an instance; reports default to the truth, ``sigma`` to phase 1 with ``algorithm``."""
        if not isinstance(network, RelayNetwork):
            raise ConfigError(f"network must be a RelayNetwork, got {type(network).__name__}")
        n, m = network.n, network.m
        values = as_float_array(values, "values", (n, m))
        costs = as_float_array(costs, "costs", (m,))
        check_reports(values, costs)
        bids = values if bids is None else as_float_array(bids, "bids", (n, m))
        asks = costs if asks is None else as_float_array(asks, "asks", (m,))
        check_reports(bids, asks)
        sigma = assign(network, algorithm) if sigma is None else check_sigma(sigma, n, m)
        return cls(network, values, costs, bids, asks, sigma, resolve_mechanism(mechanism, kda_k=kda_k), round)

    # ------------------------------------------------------------------ protocol
    @property
    def n(self) -> int:
        return self.network.n

    @property
    def m(self) -> int:
        return self.network.m

    @property
    def outcome(self) -> RelayOutcome:
        if self._outcome is None:
            self._outcome = self.mechanism(self.network, self.bids, self.asks, self.sigma)
        return self._outcome

    def players(self) -> list[tuple[str, int]]:
        return [("buyer", i) for i in range(self.n)] + [("seller", j) for j in range(self.m)]

    def _check_player(self, role: str, index: int) -> int:
        size = {"buyer": self.n, "seller": self.m}.get(role)
        if size is None:
            raise ConfigError(f"role must be 'buyer' or 'seller', got {role!r}")
        if isinstance(index, bool) or not isinstance(index, (int, np.integer)) or not 0 <= index < size:
            raise ConfigError(f"{role} index must be in 0..{size - 1}, got {index!r}")
        return int(index)

    def true_type(self, role: str, index: int) -> Any:
        i = self._check_player(role, index)
        if role == "buyer":
            v = self.values[i].view()
            v.flags.writeable = False
            return v
        return float(self.costs[i])

    def report_of(self, role: str, index: int) -> Any:
        i = self._check_player(role, index)
        return self.bids[i].copy() if role == "buyer" else float(self.asks[i])

    def utility(self, role: str, index: int) -> float:
        """Realised utility of a player in this round."""
        i = self._check_player(role, index)
        if role == "buyer":
            return buyer_utility(self.outcome, self.values, i)
        return seller_utility(self.outcome, self.costs, i)

    def utility_if(self, role: str, index: int, report: Any) -> float:
        """The player's true utility had it reported ``report``, every other report fixed."""
        i = self._check_player(role, index)
        if role == "buyer":
            row = check_buyer_report(report, self.m, f"report of buyer {i}")
            bids = self.bids.copy()
            bids[i] = row
            out = self.mechanism(self.network, bids, self.asks, self.sigma)
            return buyer_utility(out, self.values, i)
        ask = check_seller_report(report, f"report of seller {i}")
        asks = self.asks.copy()
        asks[i] = ask
        out = self.mechanism(self.network, self.bids, asks, self.sigma)
        return seller_utility(out, self.costs, i)

    def oracle(self, role: str, index: int) -> Callable[[Any], float]:
        """``utility_if`` bound to one player: the oracle a strategy receives."""
        return functools.partial(self.utility_if, role, self._check_player(role, index))

    @property
    def candidates(self) -> np.ndarray:
        """Report levels where the outcome can change: the phase-1 pairs' bids on their own
        relays and every ask (sorted, unique). Offered to omniscient strategies only."""
        if self._candidates is None:
            on = np.flatnonzero(self.sigma >= 0)
            self._candidates = np.unique(np.concatenate([self.bids[on, self.sigma[on]], self.asks]))
        return self._candidates

    def info(self, role: str, index: int, *, omniscient: bool = False) -> dict[str, Any]:
        """Public information for one player: a buyer's ``assigned`` relay / a seller's
        ``partner`` buyer from phase 1 (−1 = none), plus ``candidates`` when ``omniscient``."""
        i = self._check_player(role, index)
        if role == "buyer":
            out: dict[str, Any] = {"assigned": int(self.sigma[i])}
        else:
            hit = np.flatnonzero(self.sigma == i)
            out = {"partner": int(hit[0]) if hit.size else -1}
        if omniscient:
            out["candidates"] = self.candidates
        return out
