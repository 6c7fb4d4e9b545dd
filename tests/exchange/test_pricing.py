"""Price feedback LPs against best responses enumerated by hand.

Each bidder's valuation here is an explicit list of (trade, value) options — an XOR of
bundles — so that R-WD(i) is a one-line maximisation, independent of the MIP.
"""

import itertools

import numpy as np
import pytest

from auctionlab.mechanisms.exchange.pricing import TradePool, linear_prices


def oracle(options):
    """best_response(i, p) over each bidder's explicit options; sat = one-hot option index."""

    def best(i, p):
        trades, values = options[i]
        k = int(np.argmax(values - trades @ p))  # ties: first option
        sat = np.zeros(len(values), dtype=bool)
        sat[k] = True
        return trades[k], sat, float(values[k])

    return best


def opts(pairs):
    trades = np.array([t for t, _ in pairs], dtype=np.int64)
    values = np.array([v for _, v in pairs], dtype=np.float64)
    return trades, values


def run(options, provisional, discounts):
    prov_values = []
    for (trades, values), lt in zip(options, provisional):
        k = next(i for i, t in enumerate(trades) if np.array_equal(t, lt))
        prov_values.append(values[k])
    pool = TradePool(len(provisional[0]), [len(v) for _, v in options])
    res = linear_prices(
        provisional=np.array(provisional),
        prov_values=np.array(prov_values),
        vcg_discounts=np.array(discounts, dtype=float),
        node_values=[v for _, v in options],
        pool=pool,
        best_response=oracle(options),
    )
    return res, pool


def example2():
    A, B, C, D = np.eye(4, dtype=int)
    seller = opts([(-(np.array(s, dtype=int)), 0.0) for s in itertools.product([0, 1], repeat=4)])
    b1 = opts([(0 * A, 0.0), (A + B, 6.0)])
    b2 = opts([(0 * A, 0.0), (A, 4.0), (B, 4.0)])
    b3 = opts([(0 * A, 0.0), (C + D, 3.0)])
    b4 = opts([(0 * A, 0.0), (C, 2.0), (D, 2.0)])
    provisional = [-(A + B + C + D), A + B, 0 * A, C + D, 0 * A]
    return [seller, b1, b2, b3, b4], provisional


def test_example2_accuracy_with_lexicographic_refinement():
    options, provisional = example2()
    res, pool = run(options, provisional, [9, 2, 0, 1, 0])
    assert res.prices == pytest.approx([10 / 3, 10 / 3, 5 / 3, 5 / 3], abs=1e-5)
    assert res.accuracy == pytest.approx([0, 2 / 3, 2 / 3, 1 / 3, 1 / 3], abs=1e-5)
    assert pool.size() > 5  # constraint generation added trades beyond the empty ones
    assert res.rwd_solves >= 5 and res.lp_solves >= 3


def test_example1_fig1_lower_bounds_fair_and_balance():
    A, B = np.eye(2, dtype=int)
    buyer = opts([(0 * A, 0.0), (A + B, 16.0)])
    seller = opts([(0 * A, 0.0), (-(A + B), -12.0)])
    res, _ = run([buyer, seller], [A + B, -(A + B)], [4, 4])
    assert res.accuracy == pytest.approx([0, 0], abs=1e-6)
    assert res.prices.sum() == pytest.approx(14, abs=1e-5)  # FAIR: threshold surplus 2 each
    assert res.fairness == pytest.approx([2, 2], abs=1e-5)
    assert res.prices == pytest.approx([7, 7], abs=1e-5)  # BAL


def test_accuracy_alone_allows_a_range_fair_picks_the_middle():
    """Ex. 6: without fairness any p(A)+p(B) in [12, 16] is accurate; discounts move FAIR's pick."""
    A, B = np.eye(2, dtype=int)
    buyer = opts([(0 * A, 0.0), (A + B, 16.0)])
    seller = opts([(0 * A, 0.0), (-(A + B), -12.0)])
    res, _ = run([buyer, seller], [A + B, -(A + B)], [4, 0])  # seller gets no discount
    assert 12 - 1e-6 <= res.prices.sum() <= 16 + 1e-6
    assert res.prices.sum() == pytest.approx(12, abs=1e-5)  # buyer's surplus 4 = its discount


def test_prices_support_competitive_equilibrium_when_one_exists():
    """A single good, two buyers (values 5 and 3), one seller (cost 1): any p in [3, 5]
    supports the efficient trade, so accuracy errors are 0 and the prices obey them."""
    one = np.ones(1, dtype=int)
    seller = opts([(0 * one, 0.0), (-one, -1.0)])
    b1 = opts([(0 * one, 0.0), (one, 5.0)])
    b2 = opts([(0 * one, 0.0), (one, 3.0)])
    res, _ = run([seller, b1, b2], [-one, one, 0 * one], [2, 2, 0])
    assert res.accuracy == pytest.approx([0, 0, 0], abs=1e-6)
    assert 3 - 1e-5 <= res.prices[0] <= 5 + 1e-5
