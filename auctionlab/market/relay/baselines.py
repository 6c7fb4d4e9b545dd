"""Baselines TASC is compared against (SPEC A6), sharing :class:`RelayOutcome`.

- :func:`vcg_double_auction`: efficient and truthful, but runs a deficit.
- :func:`mcafee`: truthful, IR and budget balanced for homogeneous goods only.
- :func:`k_double_auction`: TASC's assignment with per-pair k-prices — a natural,
  non-truthful contrast.
- :func:`pure_assignment`: every candidate pair trades, no prices — the efficiency reference.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment

from auctionlab._validate import as_float_array, check_nonnegative_finite
from auctionlab.errors import ConfigError, ShapeError
from auctionlab.market.relay.assignment import max_weight_matching
from auctionlab.market.relay.network import RelayNetwork
from auctionlab.market.relay.outcome import RelayOutcome
from auctionlab.market.relay.tasc import assign, check_reports, check_sigma


def _matching_value(w: np.ndarray) -> float:
    """Optimum of the maximum-weight matching on the non-negative weights ``w``."""
    if w.size == 0:
        return 0.0
    r, c = linear_sum_assignment(w, maximize=True)
    return float(w[r, c].sum())


def vcg_double_auction(bids, asks, useful=None) -> RelayOutcome:
    """VCG double auction: maximum-weight matching on B_i^j − A_j > 0 (restricted to
    ``useful`` pairs when given), Clarke pivot payments.

    P^b_i = B_i^{φ(i)} − (W* − W*_{−s_i}),  P^s_j = A_j + (W* − W*_{−r_j}).
    Truthful and IR, not budget balanced: ``profit`` is usually negative.
    """
    bids, asks = check_reports(bids, asks)
    n, m = bids.shape
    surplus = bids - asks[None, :]
    allowed = surplus > 0
    if useful is not None:
        useful = np.asarray(useful, dtype=bool)
        if useful.shape != (n, m):
            raise ShapeError(f"useful must have shape {(n, m)}, got {useful.shape}")
        allowed &= useful
    w = np.where(allowed, surplus, 0.0)
    sigma = max_weight_matching(surplus, allowed)
    buyers = np.flatnonzero(sigma >= 0)
    sellers = sigma[buyers]
    w_star = float(w[buyers, sellers].sum())
    buyer_pay = [bids[i, j] - (w_star - _matching_value(np.delete(w, i, axis=0))) for i, j in zip(buyers, sellers)]
    seller_pay = [asks[j] + (w_star - _matching_value(np.delete(w, j, axis=1))) for j in sellers]
    return RelayOutcome.from_trades(sigma, m, buyers, buyer_pay, seller_pay, "vcg", k=int(buyers.size))


def mcafee(bids, asks) -> RelayOutcome:
    """McAfee's double auction for homogeneous goods: one bid per buyer (n,), one ask per seller (m,).

    k = largest index with B_(k) ≥ A_(k); t = (B_(k+1) + A_(k+1)) / 2. If A_(k) ≤ t ≤ B_(k)
    the first k pairs trade at t; otherwise the first k−1 pairs trade, buyers paying B_(k)
    and sellers receiving A_(k). Where the (k+1)-th bid or ask does not exist, the second
    branch applies. Goods are homogeneous, so ``sigma`` pairs the i-th winning buyer with
    the i-th winning seller in sorted order. Ties are broken by index.
    """
    b = as_float_array(bids, "bids", (None,))
    a = as_float_array(asks, "asks", (None,))
    if b.size < 1 or a.size < 1:
        raise ShapeError(f"need at least one bid and one ask, got {b.size} and {a.size}")
    check_nonnegative_finite(b, "bids")
    check_nonnegative_finite(a, "asks")
    n, m = b.size, a.size
    ob = np.argsort(-b, kind="stable")
    oa = np.argsort(a, kind="stable")
    L = min(n, m)
    bs, as_ = b[ob], a[oa]
    k = int(np.count_nonzero(bs[:L] >= as_[:L]))
    sigma = np.full(n, -1, dtype=np.intp)
    if k == 0:
        return RelayOutcome.no_trade(n, m, sigma, "mcafee", k)
    t = (bs[k] + as_[k]) / 2 if k < L else np.inf
    if as_[k - 1] <= t <= bs[k - 1]:
        trades, pb, ps, boundary = k, t, t, None
    else:
        trades, pb, ps = k - 1, float(bs[k - 1]), float(as_[k - 1])
        boundary = (int(ob[k - 1]), int(oa[k - 1]))
    sigma[ob[:trades]] = oa[:trades]
    return RelayOutcome.from_trades(
        sigma, m, ob[:trades], pb, ps, "mcafee", profit=trades * (pb - ps),
        k=k, boundary=boundary, buyer_price=float(pb), seller_price=float(ps),
    )


def k_double_auction(bids, asks, sigma, k: float = 0.5) -> RelayOutcome:
    """Every assigned pair with B_i^{σ(i)} ≥ A_{σ(i)} trades at A + k(B − A).

    Budget balanced (profit 0) and IR, but not truthful: buyers gain by shading, sellers
    by inflating — the contrast against which TASC's truthfulness is measured.
    """
    if not (isinstance(k, (int, float)) and 0.0 <= k <= 1.0):
        raise ConfigError(f"k must be a number in [0, 1], got {k!r}")
    bids, asks = check_reports(bids, asks)
    n, m = bids.shape
    sigma = check_sigma(sigma, n, m)
    cand = np.flatnonzero(sigma >= 0)
    b = bids[cand, sigma[cand]]
    a = asks[sigma[cand]]
    ok = b >= a
    price = (a + k * (b - a))[ok]
    return RelayOutcome.from_trades(sigma, m, cand[ok], price, price, "kda", profit=0.0, k=int(ok.sum()))


def pure_assignment(network: RelayNetwork, algorithm="mwm") -> RelayOutcome:
    """The assignment alone, with no auction: every candidate pair is relayed, nobody pays.

    This is the efficiency reference of SPEC A7 (Fig. 10): TASC's degradation is measured
    against it.
    """
    sigma = assign(network, algorithm)
    buyers = np.flatnonzero(sigma >= 0)
    return RelayOutcome.from_trades(sigma, network.m, buyers, 0.0, 0.0, "pure", k=int(buyers.size))
