"""Continuous λ is exact: the same optima as the integer model in every use of the MIP
(WD, V_-i, R-WD, fixed trades, the one-bidder models), trades decoded from sat."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from auctionlab.mechanisms.exchange import Exchange, WDProgram, leaf, random_exchange
from auctionlab.mechanisms.exchange.bidder import BidderProgram, subtree_forest
from auctionlab.mechanisms.exchange.mip import canonical_trades, tree_value

SIZES = [(5, 3, 0), (5, 3, 1), (8, 4, 2), (8, 4, 3), (12, 6, 4), (12, 6, 5), (20, 8, 6)]


def close(a: float, b: float) -> bool:
    return a == b or abs(a - b) <= 1e-9 * max(1.0, abs(a), abs(b))


def compare_wd(ex: Exchange, values) -> bool:
    """Same value, valid trades; same allocation when the optimum is unique. Returns uniqueness."""
    cont, integ = WDProgram(ex), WDProgram(ex, integer_lambda=True)
    a, b = cont.solve_wd(values), integ.solve_wd(values)
    assert close(a.value, b.value), (a.value, b.value)
    vals = ex.node_values(values)
    for alloc in (a, b):
        lam = alloc.trade_matrix
        assert np.all(lam + ex.endowments >= 0) and np.all(lam.sum(axis=0) == 0)
        assert np.array_equal(lam, canonical_trades(ex, alloc.solution.sat))
        for i, bd in enumerate(ex.bidders):
            v = tree_value(bd.tree, lam[i], vals[ex.node_offset[i] : ex.node_offset[i + 1]])
            assert v >= alloc.bidder_values[bd.name] - 1e-9
    with cont.scope():  # is the optimum unique? re-solve with a no-good cut on sat (no λ entries)
        cont.set_node_values(values)
        sat_cols = np.arange(cont.n_cols - cont.n_nodes, cont.n_cols)
        cont.add_row(sat_cols, np.where(a.solution.sat, -1.0, 1.0), lb=1.0 - a.solution.sat.sum())
        other = cont.solve(allow_infeasible=True)
    unique = other is None or other.value_of(vals) < a.value - 1e-6 * max(1.0, abs(a.value))
    if unique:
        assert a.trades == b.trades
        assert np.array_equal(a.solution.sat, b.solution.sat)
    return unique


@pytest.mark.parametrize("n,m,seed", SIZES)
def test_wd_same_optimum_and_allocation(n, m, seed):
    pair = random_exchange(n, m, rng=seed, bound_width=0.5)
    for ex, values in ((pair.bounded, "lower"), (pair.bounded, "upper"), (pair.truth, "lower"), (pair.bounded, 0.5)):
        compare_wd(ex, values)


def test_unique_optima_are_actually_compared():
    count = sum(compare_wd(random_exchange(n, m, rng=seed, bound_width=0.5).bounded, "upper") for n, m, seed in SIZES)
    assert count >= 3  # the allocation comparison is exercised, not only the values


@given(st.integers(0, 10**6))
@settings(max_examples=30)
def test_wd_same_optimum_hypothesis(seed):
    r = np.random.default_rng(seed)
    n, m = int(r.integers(2, 9)), int(r.integers(1, 5))
    ex = random_exchange(n, m, rng=seed, bound_width=float(r.uniform(0, 1))).bounded
    compare_wd(ex, ["lower", "upper", 0.5][seed % 3])


@pytest.mark.parametrize("n,m,seed", SIZES[:5])
def test_v_minus_i_rwd_and_fixed_trades(n, m, seed):
    ex = random_exchange(n, m, rng=seed, bound_width=0.5).bounded
    cont, integ = WDProgram(ex), WDProgram(ex, integer_lambda=True)
    p = np.random.default_rng(seed).uniform(0, 20, ex.n_goods)
    p[0] = 0.0  # a zero price: λ for that good is free to take any value in its range
    for i in range(ex.n_bidders):
        vals = []
        for model in (cont, integ):
            with model.scope():
                model.exclude(i)
                vals.append(model.solve("lower").value_of(ex.lower))
        assert close(*vals)
        (sa, ta, xa), (sb, tb, xb) = cont.solve_rwd(i, p), integ.solve_rwd(i, p)
        assert close(sa, sb)
        assert ta.dtype.kind == "i" and np.all(ta + ex.endowments[i] >= 0)
        # the decoded trade is the cheapest one supporting the sat
        need = (xa[:, None] * ex.bidders[i].tree.trade).sum(axis=0)
        assert np.array_equal(ta, np.maximum(need, -ex.endowments[i]))
    up = integ.solve_wd("upper")
    po = []
    for model in (cont, integ):  # PO: pessimistic value of the optimistic trade
        with model.scope():
            model.fix_trades(up.trade_matrix)
            po.append(model.solve("lower").value_of(ex.lower))
    assert close(*po)
    direct = math.fsum(tree_value(b.tree, up.trade_matrix[i], b.tree.lower) for i, b in enumerate(ex.bidders))
    assert close(po[0], direct)


@pytest.mark.parametrize("n,m,seed", SIZES[:5])
def test_bidder_models(n, m, seed):
    ex = random_exchange(n, m, rng=seed, bound_width=0.5).bounded
    r = np.random.default_rng(seed)
    finite = 0
    for i in range(ex.n_bidders):
        cont, integ = BidderProgram.for_bidder(ex, i), BidderProgram.for_bidder(ex, i, integer_lambda=True)
        lo = ex.lower[ex.node_offset[i] : ex.node_offset[i + 1]]
        hi = ex.upper[ex.node_offset[i] : ex.node_offset[i + 1]]
        for p in (r.uniform(0, 20, ex.n_goods), np.where(r.random(ex.n_goods) < 0.5, 0.0, 5.0)):
            (sa, ta, xa), (sb, tb, xb) = cont.best(lo, p), integ.best(lo, p)
            assert close(sa, sb)
            assert np.array_equal(ta, np.maximum((xa[:, None] * cont.trade).sum(axis=0), -cont.x0))
            ra = cont.best_among(hi - lo, lo, p, sa - 1e-9 * max(1.0, abs(sa)))
            rb = integ.best_among(hi - lo, lo, p, sb - 1e-9 * max(1.0, abs(sb)))
            assert ra is not None and rb is not None
            assert close(math.fsum((hi - lo)[ra[1]]), math.fsum((hi - lo)[rb[1]]))
            # the chosen sat reaches the bar at its decoded trade
            assert math.fsum(lo[ra[1]]) - math.fsum(p * ra[0]) >= sa - 1e-6 * max(1.0, abs(sa))
        # node prices (min p·λ with a subtree satisfied), also with negative price entries,
        # where the cheapest λ buys as much as the box allows
        tree, x0 = ex.bidders[i].tree, ex.endowments[i]
        avail = ex.endowments.sum(axis=0) - x0
        for p in (r.uniform(0, 20, ex.n_goods), r.uniform(-5, 10, ex.n_goods)):
            for k in range(tree.n_nodes):
                a = BidderProgram(subtree_forest(tree, k), x0, avail).min_price(p)
                b = BidderProgram(subtree_forest(tree, k), x0, avail, integer_lambda=True).min_price(p)
                assert close(a, b), (i, k, a, b)
                finite += math.isfinite(a)
    assert finite > 0


def test_rows_with_lambda_make_lambda_integer_while_present():
    # one seller of 3 units, one buyer; with both trees relaxed, max λ_buyer s.t. 2·λ_buyer ≤ 3
    ex = Exchange.from_dict(
        {
            "goods": ["A"],
            "bidders": {"s": {"endowment": {"A": 3}, "tree": leaf({"A": -1}, -1)}, "b": {"tree": leaf({"A": 1}, 5)}},
        }
    )
    m = WDProgram(ex)
    col = m.lam_col("b", "A")
    with m.scope():
        m.relax_tree("s")
        m.relax_tree("b")
        m.set_col_cost([col], 1.0)
        m.add_row([col], [2.0], ub=3.0)
        assert m.solve().objective == 1.0  # not 1.5: λ is integer while the row is there
        assert m.backend.solve().objective == 1.0
    assert m.solve_wd().value == 4.0
    with m.scope():  # continuous again once the row is gone: a fractional bound is reached
        m.relax_tree("s")
        m.relax_tree("b")
        m.set_col_cost([col], 1.0)
        m.set_col_bounds([col], 0.0, 1.5)
        assert m.solve().objective == 1.5
