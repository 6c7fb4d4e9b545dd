"""Baselines TASC is compared against (the paper's §4), sharing :class:`RelayOutcome`.

- :func:`vcg_double_auction`: efficient and truthful, but runs a deficit.
- :func:`mcafee`: truthful, IR and budget balanced for homogeneous goods only.
- :func:`k_double_auction`: TASC's assignment with per-pair k-prices — a natural,
  non-truthful contrast.
- :func:`pure_assignment`: every candidate pair trades, no prices — the efficiency reference.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment

from auctionlab._validate import as_real_array, check_nonnegative_finite, is_real_number
from auctionlab.errors import ConfigError, InvalidReportError, ShapeError
from auctionlab.mechanisms.relay.assignment import max_weight_matching
from auctionlab.mechanisms.relay.network import RelayNetwork
from auctionlab.mechanisms.relay.outcome import AgentOutcomes, RelayOutcome
from auctionlab.mechanisms.relay.tasc import assign, check_reports, check_sigma


def matching_value(w: np.ndarray) -> float:
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

    The paper's Fig. 3: asks (2, 3), buyer 1 bids (5, 10), buyer 2 bids (4, 7): buyer 1 gets
    relay 2 and buyer 2 relay 1; buyers pay (5, 2), sellers receive (4, 9): a deficit of 6.

    >>> out = vcg_double_auction(np.array([[5.0, 10.0], [4.0, 7.0]]), np.array([2.0, 3.0]))
    >>> out.sigma.tolist(), out.buyer_payments.tolist(), out.seller_payments.tolist(), out.profit
    ([1, 0], [5.0, 2.0], [4.0, 9.0], -6.0)
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
    with np.errstate(over="ignore", invalid="ignore"):  # overflow is checked on the results
        w_star = _finite_welfare(float(w[buyers, sellers].sum()), bids, asks)
        buyer_pay = [bids[i, j] - (w_star - matching_value(np.delete(w, i, axis=0))) for i, j in zip(buyers, sellers)]
        seller_pay = [asks[j] + (w_star - matching_value(np.delete(w, j, axis=1))) for j in sellers]
    _finite_payments(buyer_pay, seller_pay, bids, asks)
    return RelayOutcome.from_trades(sigma, m, buyers, buyer_pay, seller_pay, "vcg", k=int(buyers.size))


def _finite_welfare(w: float, bids: np.ndarray, asks: np.ndarray) -> float:
    """``w`` (a sum of surpluses), or a named error when the sum overflowed."""
    if not np.isfinite(w):
        raise InvalidReportError(
            f"VCG welfare overflows to {w} (largest bid {float(bids.max())!r}, largest ask {float(asks.max())!r}): "
            "reports this large cannot be priced in floating point"
        )
    return w


def _finite_payments(buyer_pay, seller_pay, bids: np.ndarray, asks: np.ndarray) -> None:
    """A named error when a Clarke payment overflowed (it would be inf or NaN otherwise)."""
    for who, pay in (("buyer", buyer_pay), ("seller", seller_pay)):
        p = np.asarray(pay, dtype=np.float64)
        if p.size and not np.isfinite(p).all():
            raise InvalidReportError(
                f"VCG {who} payment overflows to {float(p[~np.isfinite(p)][0])} (largest bid "
                f"{float(bids.max())!r}, largest ask {float(asks.max())!r}): reports this large cannot be priced"
            )


def vcg_responses(
    bids: np.ndarray, asks: np.ndarray, useful: np.ndarray, role: str, index: int, reports, cache: dict | None = None
) -> AgentOutcomes:
    """The VCG double auction for K counterfactual reports of one agent, every other report
    fixed: one assignment problem per report, since the Clarke pivot W*_{−i} does not
    depend on i's own report (it is computed once, and kept in ``cache`` when given).

    ``reports``: (K, m) bid vectors of buyer ``index`` or (K,) asks of seller ``index``.
    Equal to :func:`vcg_double_auction` report by report. Inputs are taken as checked.
    """
    surplus = bids - asks[None, :]
    w0 = np.where((surplus > 0) & useful, surplus, 0.0)
    key = (role, int(index))
    if cache is not None and key in cache:
        w_minus = cache[key]
    else:
        with np.errstate(over="ignore"):
            w_minus = _finite_welfare(
                matching_value(np.delete(w0, index, axis=0 if role == "buyer" else 1)), bids, asks
            )
        if cache is not None:
            cache[key] = w_minus
    R = np.asarray(reports, dtype=np.float64)
    K = R.shape[0]
    wins = np.zeros(K, dtype=bool)
    pay = np.zeros(K)
    relay = np.full(K, -1, dtype=np.intp)
    for t in range(K):
        w = w0.copy()
        if role == "buyer":
            s_i = R[t] - asks
            ok = (s_i > 0) & useful[index]
            w[index] = np.where(ok, s_i, 0.0)
            allowed = w > 0
            allowed[index] = ok
        else:
            s_j = bids[:, index] - R[t]
            ok = (s_j > 0) & useful[:, index]
            w[:, index] = np.where(ok, s_j, 0.0)
            allowed = w > 0
            allowed[:, index] = ok
        sigma = max_weight_matching(w, allowed)
        j = int(sigma[index]) if role == "buyer" else (int(index) if (sigma == index).any() else -1)
        if j < 0:
            continue
        buyers = np.flatnonzero(sigma >= 0)
        with np.errstate(over="ignore"):
            w_star = _finite_welfare(float(w[buyers, sigma[buyers]].sum()), bids, asks)
        wins[t], relay[t] = True, j
        pay[t] = R[t][j] - (w_star - w_minus) if role == "buyer" else R[t] + (w_star - w_minus)
    _finite_payments(pay, [], bids, asks)
    return AgentOutcomes(wins, pay, relay)


def kda_responses(
    bids: np.ndarray, asks: np.ndarray, sigma: np.ndarray, k: float, role: str, index: int, reports
) -> AgentOutcomes:
    """The k-double auction for K counterfactual reports (the number it reads: a buyer's
    bid on its assigned relay, a seller's ask) of one agent, in closed form: only the
    agent's own pair is affected. Inputs are taken as checked."""
    x = np.asarray(reports, dtype=np.float64).ravel()
    if role == "buyer":
        j = int(sigma[index])
        if j < 0:
            return AgentOutcomes.none(x.size)
        a = asks[j]
        wins = x >= a
        return AgentOutcomes(wins, np.where(wins, _k_price(x, a, k), 0.0), np.where(wins, j, -1))
    hit = np.flatnonzero(sigma == index)
    if hit.size == 0:
        return AgentOutcomes.none(x.size)
    b = bids[int(hit[0]), index]
    wins = b >= x
    return AgentOutcomes(wins, np.where(wins, _k_price(b, x, k), 0.0), np.where(wins, int(index), -1))


def _mcafee_rows(Bs: np.ndarray, As: np.ndarray) -> tuple[np.ndarray, ...]:
    """McAfee on K profiles at once (K = 1 for a single auction): ``Bs`` (K, n) bids, ``As``
    (K, m) asks. Returns the sort orders ``ob``, ``oa``, ``k`` and ``trades`` (K,), and the
    prices ``pb``, ``ps`` (K,) (meaningless where nobody trades)."""
    n, m = Bs.shape[1], As.shape[1]
    rows = np.arange(Bs.shape[0])
    ob = np.argsort(-Bs, axis=1, kind="stable")
    oa = np.argsort(As, axis=1, kind="stable")
    bs, as_ = Bs[rows[:, None], ob], As[rows[:, None], oa]
    L = min(n, m)
    k = np.count_nonzero(bs[:, :L] >= as_[:, :L], axis=1)
    kk = np.minimum(k, L - 1)
    with np.errstate(invalid="ignore"):
        t = np.where(k < L, (bs[rows, kk] + as_[rows, kk]) / 2, np.inf)
    km1 = np.maximum(k - 1, 0)
    bk, ak = bs[rows, km1], as_[rows, km1]
    full = (ak <= t) & (t <= bk)
    trades = np.where(k == 0, 0, np.where(full, k, k - 1))
    return ob, oa, k, trades, np.where(full, t, bk), np.where(full, t, ak)


def mcafee(bids, asks) -> RelayOutcome:
    """McAfee's double auction for homogeneous goods: one bid per buyer (n,), one ask per seller (m,).

    k = largest index with B_(k) ≥ A_(k); t = (B_(k+1) + A_(k+1)) / 2. If A_(k) ≤ t ≤ B_(k)
    the first k pairs trade at t; otherwise the first k−1 pairs trade, buyers paying B_(k)
    and sellers receiving A_(k). Where the (k+1)-th bid or ask does not exist, the second
    branch applies. Goods are homogeneous, so ``sigma`` pairs the i-th winning buyer with
    the i-th winning seller in sorted order. Ties are broken by index.
    """
    b = as_real_array(bids, "bids", (None,))
    a = as_real_array(asks, "asks", (None,))
    if b.size < 1 or a.size < 1:
        raise ShapeError(f"need at least one bid and one ask, got {b.size} and {a.size}")
    check_nonnegative_finite(b, "bids")
    check_nonnegative_finite(a, "asks")
    n, m = b.size, a.size
    ob, oa, k, trades, pb, ps = (x[0] for x in _mcafee_rows(b[None, :], a[None, :]))
    k, trades = int(k), int(trades)
    sigma = np.full(n, -1, dtype=np.intp)
    if k == 0:
        return RelayOutcome.no_trade(n, m, sigma, "mcafee", k)
    boundary = None if trades == k else (int(ob[k - 1]), int(oa[k - 1]))
    sigma[ob[:trades]] = oa[:trades]
    return RelayOutcome.from_trades(
        sigma,
        m,
        ob[:trades],
        pb,
        ps,
        "mcafee",
        profit=trades * (pb - ps),
        k=k,
        boundary=boundary,
        buyer_price=float(pb),
        seller_price=float(ps),
    )


def mcafee_responses(bids: np.ndarray, asks: np.ndarray, role: str, index: int, reports) -> AgentOutcomes:
    """McAfee for K counterfactual reports of one agent (a buyer's single bid or a seller's
    ask, ``reports`` (K,)), every other bid in ``bids`` (n,) and ask in ``asks`` (m,) fixed:
    :func:`mcafee` row by row in one pass. Inputs are taken as checked."""
    x = np.asarray(reports, dtype=np.float64).ravel()
    K = x.size
    Bs = np.repeat(np.asarray(bids, dtype=np.float64)[None, :], K, axis=0)
    As = np.repeat(np.asarray(asks, dtype=np.float64)[None, :], K, axis=0)
    (Bs if role == "buyer" else As)[:, index] = x
    ob, oa, _, trades, pb, ps = _mcafee_rows(Bs, As)
    pos = np.argmax((ob if role == "buyer" else oa) == index, axis=1)
    wins = pos < trades
    if role == "buyer":
        relay = oa[np.arange(K), np.minimum(pos, As.shape[1] - 1)]
        return AgentOutcomes(wins, np.where(wins, pb, 0.0), np.where(wins, relay, -1))
    return AgentOutcomes(wins, np.where(wins, ps, 0.0), np.where(wins, index, -1))


def _k_price(b, a, k: float):
    """The k-double auction's price of a pair with bid ``b`` and ask ``a``: A + k(B − A)."""
    return a + k * (b - a)


def k_double_auction(bids, asks, sigma, k: float = 0.5) -> RelayOutcome:
    """Every assigned pair with B_i^{σ(i)} ≥ A_{σ(i)} trades at A + k(B − A).

    Budget balanced (profit 0) and IR, but not truthful: buyers gain by shading, sellers
    by inflating — the contrast against which TASC's truthfulness is measured.
    """
    if not (is_real_number(k) and 0.0 <= k <= 1.0):  # not a bool, not complex, not NaN
        raise ConfigError(f"k must be a number in [0, 1], got {k!r}")
    bids, asks = check_reports(bids, asks)
    n, m = bids.shape
    sigma = check_sigma(sigma, n, m)
    cand = np.flatnonzero(sigma >= 0)
    b = bids[cand, sigma[cand]]
    a = asks[sigma[cand]]
    ok = b >= a
    price = _k_price(b, a, k)[ok]
    return RelayOutcome.from_trades(sigma, m, cand[ok], price, price, "kda", profit=0.0, k=int(ok.sum()))


def pure_assignment(network: RelayNetwork, algorithm="mwm") -> RelayOutcome:
    """The assignment alone, with no auction: every candidate pair is relayed, nobody pays.

    This is the efficiency reference of the paper's Fig. 10: TASC's degradation is measured
    against it.
    """
    sigma = assign(network, algorithm)
    buyers = np.flatnonzero(sigma >= 0)
    return RelayOutcome.from_trades(sigma, network.m, buyers, 0.0, 0.0, "pure", k=int(buyers.size))
