"""Revealed-preference activity rule and closing rule golden tests."""

import numpy as np
import pytest

from auctionlab.mechanisms.exchange import AND, OR, XOR, Exchange, leaf, solve_wd, threshold_payments
from auctionlab.mechanisms.exchange.activity import revealed_preference
from auctionlab.mechanisms.exchange.bidder import BidderProgram
from auctionlab.mechanisms.exchange.closing import (
    alpha_eff,
    alpha_thresh,
    gamma_thresh,
    payment_gap,
    should_close,
)
from auctionlab.mechanisms.exchange.mip import WDProgram, tree_value
from auctionlab.mechanisms.exchange.patterns import PatternTable

from .examples import fig1


def with_seller(buyer_tree):
    return Exchange.from_dict(
        {
            "goods": ["A", "B"],
            "bidders": {
                "seller": {"endowment": {"A": 1, "B": 1}, "tree": OR(leaf({"A": -1}, 0), leaf({"B": -1}, 0))},
                "buyer": {"tree": buyer_tree},
            },
        }
    )


@pytest.fixture(params=["mip", "patterns"])
def rp(request):
    """The activity rule's check on one bidder, with its one-bidder problems answered by
    the MIP or by enumerating its satisfaction patterns (the same answers)."""
    build = BidderProgram.for_bidder if request.param == "mip" else PatternTable.for_bidder

    def check(ex, bidder, prices):
        i = ex.index(bidder)
        off = ex.node_offset
        return revealed_preference(
            build(ex, i), np.array(prices, float), ex.lower[off[i] : off[i + 1]], ex.upper[off[i] : off[i + 1]]
        )

    return check


def test_example7_rp_holds(rp):
    ex = with_seller(XOR(leaf({"A": 1}, 5), leaf({"B": 1}, [5, 10])))
    res = rp(ex, "buyer", [3, 3])
    assert res.passed
    assert res.lower_trade.tolist() == [0, 1]  # RP2 prefers the uncertain +B
    assert res.pi_lower == pytest.approx(2) and res.pi_upper == pytest.approx(2)


def test_example8_rp_holds_but_naive_witness_fails(rp):
    ex = with_seller(XOR(leaf({"A": 1}, 1), leaf({"B": 1}, 0), value=[5, 10]))
    res = rp(ex, "buyer", [3, 3])
    assert res.passed
    assert res.lower_trade.tolist() == [1, 0] and res.pi_lower == pytest.approx(3)
    assert res.witness_trade.tolist() == [1, 0] and res.pi_upper == pytest.approx(3)
    # naive: v̄ instead of ṽ in RP3 -> some trade beats π*_l = 3 and RP wrongly fails
    # (buy B is worth 10 - 3 = 7 at the upper values, as the paper says; buy A even 11 - 3).
    model = WDProgram(ex)
    naive, _, _ = model.solve_rwd(1, np.array([3.0, 3.0]), values="upper")
    assert naive > res.pi_lower + 1
    off = ex.node_offset
    assert tree_value(ex.bidder("buyer").tree, np.array([0, 1]), ex.upper[off[1] : off[2]]) - 3 == 7


def test_rp_fails_with_lemma2_feedback(rp):
    # +A in [2, 10], +B exact 6, XOR; prices 3 each: lower prefers B (3 > -1),
    # but A could be worth up to 10 (surplus 7): RP fails; raise A's lower or lower A's upper.
    ex = with_seller(XOR(leaf({"A": 1}, [2, 10]), leaf({"B": 1}, 6)))
    res = rp(ex, "buyer", [3, 3])
    assert not res.passed
    assert res.pi_lower == pytest.approx(3) and res.pi_upper == pytest.approx(7)
    tree = ex.bidder("buyer").tree
    assert [tree.paths[k] for k in res.raise_lower] == ["root/1"]
    assert [tree.paths[k] for k in res.lower_upper] == ["root/0"]
    # narrowing A's upper bound to 6 makes the bidder pass (ties are weak preference)
    ex2 = ex.with_bounds(upper={"buyer": np.array([0.0, 6.0, 6.0])}, narrowing=True)
    assert rp(ex2, "buyer", [3, 3]).passed


def closing_numbers(ex):
    lo, up = solve_wd(ex, "lower"), solve_wd(ex, "upper")
    pp = lo.value
    po = sum(tree_value(b.tree, up.trade_matrix[i], b.tree.lower) for i, b in enumerate(ex.bidders))
    active = lo.traders
    gap = payment_gap(threshold_payments(ex, "upper"), threshold_payments(ex, "lower"), active)
    return pp, po, alpha_eff(pp, po), alpha_thresh(pp, gap, len(active)), gamma_thresh(pp, gap, len(active))


def test_example9_fig1_bounds():
    ex = fig1()
    assert threshold_payments(ex, "upper") == pytest.approx({"buyer": 17, "seller": -17})
    assert threshold_payments(ex, "lower") == pytest.approx({"buyer": 14, "seller": -14})
    pp, po, a_eff, a_thr, g_thr = closing_numbers(ex)
    assert (pp, po) == pytest.approx((4, 4))
    assert a_eff == 1.0
    assert g_thr == pytest.approx(5 / 2) and a_thr == pytest.approx(2 / 5)
    assert not should_close(a_eff, a_thr, 0.9, 0.5, optimistic_trade=True)
    assert should_close(a_eff, a_thr, 0.9, 0.4, optimistic_trade=True)


def test_example9_seller_wide_bounds_no_pessimistic_trade():
    ex = Exchange.from_dict(
        {
            "goods": ["A", "B"],
            "bidders": {
                "buyer": {"tree": AND(leaf({"A": 1}, [8, 15]), leaf({"B": 1}, [8, 15]))},
                "seller": {
                    "endowment": {"A": 1, "B": 1},
                    "tree": AND(leaf({"A": -1}, 0), leaf({"B": -1}, 0), value=[-20, -4]),
                },
            },
        }
    )
    pp, po, a_eff, a_thr, _ = closing_numbers(ex)
    assert pp == 0 and po == pytest.approx(-4)
    assert a_eff == 0.0 and a_thr == 0.0


def test_example9_converged_payments():
    ex = Exchange.from_dict(
        {
            "goods": ["A", "B"],
            "bidders": {
                "buyer": {"tree": AND(leaf({"A": 1}, 0), leaf({"B": 1}, 0), value=[18, 24])},
                "seller": {
                    "endowment": {"A": 1, "B": 1},
                    "tree": AND(leaf({"A": -1}, 0), leaf({"B": -1}, 0), value=[-12, -6]),
                },
            },
        }
    )
    assert threshold_payments(ex, "upper") == pytest.approx({"buyer": 15, "seller": -15})
    assert threshold_payments(ex, "lower") == pytest.approx({"buyer": 15, "seller": -15})
    _, _, _, a_thr, _ = closing_numbers(ex)
    assert a_thr == 1.0


def test_no_optimistic_trade_closes():
    assert should_close(0.0, 0.0, 1.0, 1.0, optimistic_trade=False)
    assert alpha_eff(0.0, -3.0) == 0.0 and alpha_eff(10.0, 5.0) == pytest.approx(10 / 15)


def test_node_prices_cover_only_the_subtree():
    from auctionlab.mechanisms.exchange.activity import node_prices

    ex = Exchange.from_dict(
        {
            "goods": ["A", "B", "C"],
            "bidders": {
                "seller": {
                    "endowment": {"A": 2, "B": 1, "C": 1},
                    "tree": OR(leaf({"A": -1}, 0), leaf({"B": -1}, 0), leaf({"C": -1}, 0)),
                },
                "buyer": {
                    "endowment": {"C": 1},
                    "tree": AND(
                        XOR(leaf({"A": 1}, 3), leaf({"A": 2, "B": 1}, 5), leaf({"A": 3}, 9)), leaf({"C": -1}, -1)
                    ),
                },
            },
        }
    )
    p = np.array([2.0, 3.0, 4.0])
    tree = ex.bidder("buyer").tree
    x0 = ex.endowments[1]
    prices = node_prices(tree, x0, ex.endowments.sum(axis=0) - x0, p)
    got = dict(zip(tree.paths, prices))
    assert got["root/0/0"] == 2.0  # +A
    assert got["root/0/1"] == 7.0  # +2A +B
    assert got["root/0"] == 2.0  # XOR: the cheaper child
    assert got["root/1"] == -4.0  # selling C earns its price
    assert got["root"] == -2.0  # +A and sell C
    assert got["root/0/2"] == np.inf  # 3 units of A do not exist: never satisfiable


def test_rp2_candidate_is_rechecked_exactly_against_the_threshold():
    """A solver that returns an RP2 sat vector meeting the row only within its own
    tolerance does not get to name the candidate: RP1's optimum stays L*."""
    ex = with_seller(XOR(leaf({"A": 1}, 5), leaf({"B": 1}, [4.99, 10])))
    good = PatternTable.for_bidder(ex, ex.index("buyer"))

    class Noisy:
        trade, x0 = good.trade, good.x0

        def best(self, v, p):
            return good.best(v, p)

        def best_among(self, objective, row_values, prices, at_least):
            # claims +B (surplus 1.99) reaches the threshold of +A's 2
            sat = np.array([True, False, True])
            return np.array([0, 1]), sat

    lo, hi = ex.lower[3:], ex.upper[3:]
    p = np.array([3.0, 3.0])
    honest = revealed_preference(good, p, lo, hi)
    noisy = revealed_preference(Noisy(), p, lo, hi)
    assert honest.lower_trade.tolist() == [1, 0] and noisy.lower_trade.tolist() == [1, 0]
    assert (noisy.passed, noisy.pi_lower, noisy.pi_upper) == (honest.passed, honest.pi_lower, honest.pi_upper)
