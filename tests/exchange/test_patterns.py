"""Enumerated one-bidder problems against brute force and against the one-bidder MIP."""

import math
import random

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from auctionlab.errors import ConfigError
from auctionlab.mechanisms.exchange import AND, IC, OR, XOR, Exchange, leaf, random_exchange
from auctionlab.mechanisms.exchange.activity import node_prices, revealed_preference
from auctionlab.mechanisms.exchange.bidder import BidderProgram
from auctionlab.mechanisms.exchange.patterns import (
    PatternTable,
    model_kind,
    one_bidder_model,
    pattern_counts,
    subtree_patterns,
    tree_patterns,
)
from auctionlab.mechanisms.exchange.tbbl import BidTree

from .brute import random_tiny_exchange, random_tree, sat_table
from .test_activity_closing import with_seller

TOL = 1e-9


def small_tree(seed: int, max_nodes: int = 12) -> tuple[BidTree, np.ndarray]:
    """A random tree over goods A–C and the endowment its sell leaves were drawn for."""
    r = random.Random(seed)
    goods = ["A", "B", "C"]
    owned = {g: r.randint(1, 2) for g in goods if r.random() < 0.5}
    tree = BidTree.from_dict(random_tree(r, goods, owned, max_nodes, bounds=True), goods)
    return tree, np.array([owned.get(g, 0) for g in goods], dtype=np.int64)


def random_prices(r: random.Random, m: int, negative: bool = False) -> np.ndarray:
    lo = -3 if negative else 0
    return np.array([r.choice([0.0, 1.0, 2.5, r.uniform(lo, 8), r.uniform(0, 8)]) for _ in range(m)])


def mip_objective(pm, v, p, sat, trade) -> float:
    """Σ v·sat − p·λ at the λ the MIP picks for that sat: the minimal trade where p > 0,
    the box's upper bound where p < 0 (where the reported surplus, at the minimal trade,
    would depend on which optimum was chosen)."""
    return math.fsum(v[sat]) - math.fsum(p * np.where(p < 0, pm.lam_ub, trade))


def models(ex: Exchange, i: int) -> tuple[PatternTable, BidderProgram]:
    return PatternTable.for_bidder(ex, i), BidderProgram.for_bidder(ex, i)


# --------------------------------------------------------------------------- enumeration
@given(st.integers(0, 10**6))
def test_patterns_are_exactly_the_valid_sat_vectors(seed):
    tree, _ = small_tree(seed)
    n = tree.n_nodes
    code = 2.0 ** np.arange(n)  # a node-value vector whose total identifies the sat vector
    _, brute_codes = sat_table(tree, code)
    S, need = tree_patterns(tree)
    assert sorted(S @ code) == sorted(brute_codes)  # same set, no duplicates
    assert np.array_equal(need, S.astype(np.int64) @ tree.trade)
    assert not S[-1].any()  # the empty pattern, last in canonical order
    counts = pattern_counts(tree)
    assert len(S) == 1 + counts[0]
    for k, (Sk, Nk) in enumerate(subtree_patterns(tree)):
        assert len(Sk) == len(Nk) == counts[k] and Sk[:, 0].all()
        assert Sk.shape[1] == tree.end[k] - k


def test_counts_of_the_operators():
    a, b, c = leaf({"A": 1}), leaf({"B": 1}), leaf({"C": 1})
    cases = {
        "and": (AND(a, b, c), 2),
        "or": (OR(a, b, c), 8),
        "xor": (XOR(a, b, c), 4),
        "ic23": (IC(2, 3, a, b, c), 1 + 3 + 1),
        "ic03": (IC(0, 2, a, b, c), 1 + 1 + 3 + 3),
        "nested": (AND(XOR(a, b), OR(b, c)), 1 + 2 * 3),
    }
    for name, (spec, expected) in cases.items():
        tree = BidTree.from_dict(spec)
        assert 1 + pattern_counts(tree)[0] == expected == len(tree_patterns(tree)[0]), name


def test_limit_detected_without_building():
    tree = BidTree.from_dict(OR(*(leaf({"A": 1}) for _ in range(20))))  # 2^20 patterns
    assert pattern_counts(tree)[0] == 2**20 - 1
    assert tree_patterns(tree) is None
    per_node = subtree_patterns(tree, 4096)
    assert per_node[0] is None and all(p is not None for p in per_node[1:])  # the leaves fit


# --------------------------------------------------------------------------- feasible set
@pytest.mark.parametrize("seed", range(60))
def test_feasible_patterns_are_those_the_mip_box_allows(seed):
    """need ≤ avail ⇔ some λ in [max(−x0, sell), min(avail, buy)] has λ ≥ need (rows (4))."""
    ex = random_tiny_exchange(seed, bounds=True)
    for i, b in enumerate(ex.bidders):
        pm, bm = models(ex, i)
        S, need = tree_patterns(b.tree)
        box = np.all(np.maximum(need, bm.lam_lb) <= bm.lam_ub, axis=1)
        assert sorted(map(bytes, S[box])) == sorted(map(bytes, pm.S))
        assert np.array_equal(pm.T, np.maximum(pm.S.astype(np.int64) @ b.tree.trade, -ex.endowments[i]))
        # the MIP agrees, pattern by pattern: each is feasible with its sat fixed
        code = 2.0 ** np.arange(b.tree.n_nodes)
        for s in S[:8]:
            target = np.where(s, 1.0, -1.0) * code  # only this sat vector reaches the maximum
            surplus, _, sat = bm.best(target, np.zeros(ex.n_goods))
            feasible = any(np.array_equal(s, q) for q in pm.S)
            assert np.array_equal(sat, s) == feasible, (seed, i, s)


# --------------------------------------------------------------------------- optimal values
@given(st.integers(0, 10**6))
@settings(max_examples=60)
def test_values_match_the_mip(seed):
    r = random.Random(seed)
    ex = random_tiny_exchange(seed, bounds=True)
    i = r.randrange(ex.n_bidders)
    tree = ex.bidders[i].tree
    pm, bm = models(ex, i)
    x0, avail = ex.endowments[i], ex.endowments.sum(axis=0) - ex.endowments[i]
    for _ in range(3):
        p = random_prices(r, ex.n_goods, negative=r.random() < 0.2)
        v = tree.values(r.choice(["lower", "upper", 0.3]))
        got, trade, sat = pm.best(v, p)
        _, trade_b, sat_b = bm.best(v, p)
        assert mip_objective(pm, v, p, sat, trade) == pytest.approx(mip_objective(pm, v, p, sat_b, trade_b), abs=TOL)
        assert got == math.fsum(v[sat]) - math.fsum(p * trade)
        assert np.array_equal(trade, np.maximum(sat.astype(np.int64) @ tree.trade, -x0))
        # RP2's shape: maximise another objective among patterns reaching a level
        obj = tree.upper - tree.lower
        for at_least in (got - r.uniform(0, 3), got + 1.0):
            a, c = pm.best_among(obj, v, p, at_least), bm.best_among(obj, v, p, at_least)
            assert (a is None) == (c is None)
            if a is not None:
                assert obj[a[1]].sum() == pytest.approx(obj[c[1]].sum(), abs=TOL)
                assert v[a[1]].sum() - p @ np.where(p < 0, pm.lam_ub, a[0]) >= at_least - 1e-9
        assert pm.min_price(p) == pytest.approx(bm.min_price(p), abs=TOL)
        want_nodes = node_prices(tree, x0, avail, p, limit=0)  # one MIP per subtree
        assert pm.node_prices(p) == pytest.approx(want_nodes, abs=TOL)
        assert node_prices(tree, x0, avail, p) == pytest.approx(want_nodes, abs=TOL)


def test_values_match_the_mip_on_generated_trees():
    pair = random_exchange(6, 4, rng=3, bound_width=0.5)
    ex = pair.bounded
    r = random.Random(3)
    for i, b in enumerate(ex.bidders):
        pm, bm = models(ex, i)
        assert model_kind(pm) == "patterns" and pm.n_patterns >= 2
        x0, avail = ex.endowments[i], ex.endowments.sum(axis=0) - ex.endowments[i]
        for _ in range(4):
            p = random_prices(r, ex.n_goods) * 3
            for values in ("lower", "upper", 0.5):
                vals = b.tree.values(values)
                assert pm.best(vals, p)[0] == pytest.approx(bm.best(vals, p)[0], abs=TOL)
            lo, hi = b.tree.lower, b.tree.upper
            a, c = revealed_preference(pm, p, lo, hi), revealed_preference(bm, p, lo, hi)
            assert a.passed == c.passed
            assert (a.pi_lower, a.pi_upper) == pytest.approx((c.pi_lower, c.pi_upper), abs=1e-7)
            assert pm.node_prices(p) == pytest.approx(node_prices(b.tree, x0, avail, p, limit=0), abs=TOL)


def test_node_prices_mixing_patterns_and_mip():
    """Subtrees above the limit go to the MIP, the rest are enumerated: same prices."""
    big = OR(*(leaf({"A": 1}, 3) for _ in range(5)), leaf({"B": -1}, -1))  # 63 patterns
    tree = BidTree.from_dict(AND(big, XOR(leaf({"A": 2}, 5), leaf({"B": 1}, 4))), ["A", "B"])
    x0, avail = np.array([0, 1]), np.array([4, 1])
    p = np.array([2.0, 3.5])
    counts = pattern_counts(tree)
    mixed = node_prices(tree, x0, avail, p, limit=16)
    assert max(counts) > 16 and min(counts) <= 16
    assert mixed == pytest.approx(node_prices(tree, x0, avail, p, limit=0), abs=TOL)
    assert mixed == pytest.approx(node_prices(tree, x0, avail, p), abs=TOL)
    assert mixed[0] == 0.0  # sell B in the OR and buy it in the XOR: nothing changes hands
    assert mixed[1] == mixed[7] == -3.5  # the OR alone: its cheapest child, sell B
    assert mixed[9] == 4.0 and mixed[10] == 3.5  # +2A, +B
    with pytest.raises(ConfigError, match="limit"):
        node_prices(tree, x0, avail, p, limit=-1)


# --------------------------------------------------------------------------- the factory
def test_one_bidder_model_falls_back_above_the_limit():
    ex = random_tiny_exchange(7, bounds=True)
    tree = ex.bidders[0].tree
    total = 1 + pattern_counts(tree)[0]
    assert isinstance(one_bidder_model(ex, 0), PatternTable)
    assert isinstance(one_bidder_model(ex, 0, limit=max(total, max(pattern_counts(tree)))), PatternTable)
    for limit in (0, 1):
        m = one_bidder_model(ex, 0, limit=limit)
        assert isinstance(m, BidderProgram) and model_kind(m) == "mip"
    big = Exchange.from_dict(
        {
            "goods": ["A"],
            "bidders": {
                "s": {"endowment": {"A": 3}, "tree": leaf({"A": -1})},
                "b": {"tree": OR(*(leaf({"A": 1}, 2) for _ in range(13)))},  # 8192 patterns
            },
        }
    )
    assert isinstance(one_bidder_model(big, 1), BidderProgram)
    assert isinstance(one_bidder_model(big, 1, limit=8192), PatternTable)
    with pytest.raises(ConfigError, match="limit"):
        one_bidder_model(ex, 0, limit=-3)
    with pytest.raises(ConfigError, match="enumeration limit"):
        PatternTable.for_bidder(big, 1)


def test_counters_for_time_accounting():
    ex = with_seller(XOR(leaf({"A": 1}, 5), leaf({"B": 1}, [5, 10])))
    pm = one_bidder_model(ex, 1)
    assert pm.highs_time == 0.0 and pm.solves == 0
    revealed_preference(pm, np.array([3.0, 3.0]), ex.bidders[1].tree.lower, ex.bidders[1].tree.upper)
    assert pm.solves == 3 and pm.highs_time == 0.0


# --------------------------------------------------------------------------- ties
def test_ties_prefer_more_satisfied_nodes_then_earlier_ones():
    """The canonical tie-break: most satisfied nodes first, then the earliest in preorder."""
    ex = with_seller(XOR(leaf({"A": 1}, 5), leaf({"B": 1}, 5)))
    pm = one_bidder_model(ex, 1)
    vals = ex.bidders[1].tree.lower
    surplus, trade, sat = pm.best(vals, np.array([3.0, 3.0]))  # +A and +B both earn 2
    assert surplus == 2.0 and trade.tolist() == [1, 0] and sat.tolist() == [True, True, False]
    # an exact zero-value internal node: satisfying it or not is a tie, satisfied wins
    ex2 = with_seller(IC(0, 1, leaf({"A": 1}, 2)))
    surplus, trade, sat = one_bidder_model(ex2, 1).best(ex2.bidders[1].tree.lower, np.array([5.0, 5.0]))
    assert surplus == 0.0 and trade.tolist() == [0, 0] and sat.tolist() == [True, False]


def test_near_ties_within_tolerance():
    ex = with_seller(XOR(leaf({"A": 1}, 5), leaf({"B": 1}, 5 + 1e-12)))
    pm = one_bidder_model(ex, 1)
    _, trade, _ = pm.best(ex.bidders[1].tree.lower, np.array([3.0, 3.0]))
    assert trade.tolist() == [1, 0]  # 1e-12 better is a tie: the canonical choice stays
    ex3 = with_seller(XOR(leaf({"A": 1}, 5), leaf({"B": 1}, 5 + 1e-6)))
    _, trade, _ = one_bidder_model(ex3, 1).best(ex3.bidders[1].tree.lower, np.array([3.0, 3.0]))
    assert trade.tolist() == [0, 1]
