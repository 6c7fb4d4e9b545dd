import itertools

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from auctionlab.errors import ConfigError, InvalidReportError, ShapeError
from auctionlab.mechanisms.relay.baselines import k_double_auction, mcafee, pure_assignment, vcg_double_auction
from auctionlab.mechanisms.relay.network import random_network
from auctionlab.mechanisms.relay.outcome import efficiency
from auctionlab.mechanisms.relay.tasc import tasc
from auctionlab.mechanisms.relay.valuations import uniform_valuations

from .brute import all_matchings


def test_vcg_fig3_deficit_of_six():
    out = vcg_double_auction([[5.0, 10.0], [4.0, 7.0]], [2.0, 3.0])
    assert out.sigma.tolist() == [1, 0]
    assert out.buyer_payments.tolist() == [5.0, 2.0]
    assert out.seller_payments.tolist() == [4.0, 9.0]
    assert out.profit == -6.0


def brute_vcg_welfare(bids, asks, drop_buyer=None, drop_seller=None):
    n, m = bids.shape
    w = bids - asks[None, :]
    allowed = w > 0
    if drop_buyer is not None:
        allowed[drop_buyer] = False
    if drop_seller is not None:
        allowed[:, drop_seller] = False
    return max(sum(w[i, j] for i, j in enumerate(s) if j >= 0) for s in all_matchings(allowed))


@given(st.integers(0, 2**32 - 1), st.integers(1, 4), st.integers(1, 4))
def test_vcg_against_brute_force(seed, n, m):
    gen = np.random.default_rng(seed)
    bids = np.round(gen.uniform(0, 4, (n, m)), 1)
    asks = np.round(gen.uniform(0, 2, m), 1)
    out = vcg_double_auction(bids, asks)
    w_star = brute_vcg_welfare(bids, asks)
    sig = out.sigma
    assert sum(bids[i, j] - asks[j] for i, j in enumerate(sig) if j >= 0) == pytest.approx(w_star)
    for i in range(n):
        if sig[i] >= 0:
            want = bids[i, sig[i]] - (w_star - brute_vcg_welfare(bids, asks, drop_buyer=i))
            assert out.buyer_payments[i] == pytest.approx(want)
            assert out.buyer_payments[i] <= bids[i, sig[i]] + 1e-9  # IR
        else:
            assert out.buyer_payments[i] == 0
    for j in np.flatnonzero(out.seller_wins):
        want = asks[j] + (w_star - brute_vcg_welfare(bids, asks, drop_seller=j))
        assert out.seller_payments[j] == pytest.approx(want)
        assert out.seller_payments[j] >= asks[j] - 1e-9
    assert out.profit <= 1e-9  # VCG never runs a surplus in the bilateral matching market


def test_vcg_respects_useful_mask():
    bids = np.array([[5.0, 10.0], [4.0, 7.0]])
    out = vcg_double_auction(bids, [2.0, 3.0], useful=np.array([[True, False], [True, True]]))
    assert out.sigma.tolist() == [0, 1]
    with pytest.raises(ShapeError, match="useful must have shape"):
        vcg_double_auction(bids, [2.0, 3.0], useful=np.ones(2, bool))


def test_mcafee_price_branch():
    out = mcafee([10.0, 8.0, 6.0, 2.0], [1.0, 3.0, 5.0, 9.0])
    assert out.k == 3 and out.n_trades == 3
    assert out.buyer_price == out.seller_price == 5.5
    assert np.flatnonzero(out.buyer_wins).tolist() == [0, 1, 2]
    assert np.flatnonzero(out.seller_wins).tolist() == [0, 1, 2]
    assert out.profit == 0.0


def test_mcafee_trade_reduction_branch():
    out = mcafee([10.0, 8.0, 6.0, 5.0], [1.0, 3.0, 5.0, 9.0])  # t = 7 > B_(3) = 6
    assert out.k == 3 and out.n_trades == 2
    assert out.buyer_price == 6.0 and out.seller_price == 5.0 and out.profit == 2.0
    assert out.boundary == (2, 2)
    assert np.flatnonzero(out.buyer_wins).tolist() == [0, 1]


def test_mcafee_missing_next_pair_and_ties():
    out = mcafee([3.0, 3.0], [1.0, 1.0])  # k = 2 = min(n, m): no (k+1)-th pair
    assert out.n_trades == 1 and out.buyer_price == 3.0 and out.seller_price == 1.0
    assert out.buyer_wins.tolist() == [True, False]  # tie broken by index
    out = mcafee([0.5], [1.0])
    assert out.n_trades == 0 and out.k == 0


@given(st.integers(0, 2**32 - 1), st.integers(1, 5), st.integers(1, 5))
def test_mcafee_truthful_ir_bb(seed, n, m):
    gen = np.random.default_rng(seed)
    vals = np.round(gen.uniform(0, 4, n), 1)
    costs = np.round(gen.uniform(0, 4, m), 1)
    values = np.repeat(vals[:, None], m, axis=1)  # homogeneous: every relay worth the same

    def util(b, a):
        out = mcafee(b, a)
        ub = np.where(out.buyer_wins, vals - out.buyer_payments, 0.0)
        us = np.where(out.seller_wins, out.seller_payments - costs, 0.0)
        return out, ub, us

    out, ub, us = util(vals, costs)
    assert (ub >= -1e-12).all() and (us >= -1e-12).all() and out.profit >= -1e-12
    assert np.allclose(out.utilities(values, costs)[0], ub)
    grid = np.unique(np.concatenate([vals, costs, vals + 0.05, costs - 0.05, [0.0, 4.5]]).clip(0))
    for i, v in itertools.product(range(n), grid):
        b = vals.copy()
        b[i] = v
        assert util(b, costs)[1][i] <= ub[i] + 1e-9
    for j, v in itertools.product(range(m), grid):
        a = costs.copy()
        a[j] = v
        assert util(vals, a)[2][j] <= us[j] + 1e-9


def test_k_double_auction_prices_and_manipulability():
    sigma = np.array([0, 1, -1])
    bids = np.array([[4.0, 0], [0, 1.0], [0, 0]])
    asks = np.array([2.0, 3.0])
    out = k_double_auction(bids, asks, sigma, k=0.5)
    assert out.buyer_wins.tolist() == [True, False, False]
    assert out.buyer_payments[0] == 3.0 and out.seller_payments[0] == 3.0 and out.profit == 0
    shaded = bids.copy()
    shaded[0, 0] = 2.5
    gain = k_double_auction(shaded, asks, sigma).utilities(bids, asks)[0][0] - out.utilities(bids, asks)[0][0]
    assert gain == pytest.approx(0.75)
    assert k_double_auction(bids, asks, sigma, k=1.0).buyer_payments[0] == 4.0
    with pytest.raises(ConfigError, match="k must be a number in"):
        k_double_auction(bids, asks, sigma, k=1.5)


def test_pure_assignment_dominates_auctions_in_efficiency():
    net = random_network(40, 60, rng=11)
    v, c = uniform_valuations(net, rng=12)
    for alg, key in (("mwm", "total_capacity"), ("mm", "trades"), ("ora", "min_capacity")):
        ref = efficiency(net, pure_assignment(net, alg))
        for rule in ("tasc", "trade_reduction"):
            got = efficiency(net, tasc(net, v, c, alg, rule=rule))
            assert got[key] <= ref[key] + 1e-6
        assert pure_assignment(net, alg).n_trades == (pure_assignment(net, alg).sigma >= 0).sum()


def test_trade_reduction_trades_no_more_than_tasc():
    for seed in range(50):
        net = random_network(30, 30, rng=seed)
        v, c = uniform_valuations(net, rng=seed + 1000)
        assert tasc(net, v, c, rule="trade_reduction").n_trades <= tasc(net, v, c).n_trades


def test_baselines_bad_input():
    with pytest.raises(InvalidReportError, match=r"bids\[\(0, 1\)\] = -1.0"):
        vcg_double_auction([[1.0, -1.0]], [0.5, 0.5])
    with pytest.raises(InvalidReportError, match=r"asks\[0\] = nan"):
        mcafee([1.0], [np.nan])
    with pytest.raises(ShapeError, match="at least one bid"):
        mcafee([], [1.0])
    with pytest.raises(ShapeError, match=r"bids must have shape \(any,\)"):
        mcafee([[1.0]], [1.0])
