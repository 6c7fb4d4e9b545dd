"""The ICE paper's worked examples (its own numbers)."""

import numpy as np
import pytest

from auctionlab.mechanisms.exchange import (
    AND,
    OR,
    XOR,
    Exchange,
    compute_payments,
    leaf,
    one_shot,
    solve_wd,
    threshold_payments,
    vcg_payments,
)

ABCD = ["A", "B", "C", "D"]


def ex1() -> Exchange:
    return Exchange.from_dict(
        {
            "goods": ["A", "B"],
            "bidders": {
                "seller": {"endowment": {"A": 1, "B": 1}, "tree": AND(leaf({"A": -1}, -5), leaf({"B": -1}, -5))},
                "buyer": {"tree": AND(leaf({"A": 1}, 10), leaf({"B": 1}, 10))},
            },
        }
    )


def ex2() -> Exchange:
    return Exchange.from_dict(
        {
            "goods": ABCD,
            "bidders": {
                "seller": {"endowment": dict.fromkeys(ABCD, 1), "tree": OR(*(leaf({g: -1}) for g in ABCD), value=0)},
                "buyer1": {"tree": AND(leaf({"A": 1}), leaf({"B": 1}), value=6)},
                "buyer2": {"tree": XOR(leaf({"A": 1}), leaf({"B": 1}), value=4)},
                "buyer3": {"tree": AND(leaf({"C": 1}), leaf({"D": 1}), value=3)},
                "buyer4": {"tree": XOR(leaf({"C": 1}), leaf({"D": 1}), value=2)},
            },
        }
    )


def ex3() -> Exchange:
    return Exchange.from_dict(
        {
            "goods": ABCD,
            "bidders": {
                "seller": {"endowment": dict.fromkeys(ABCD, 1), "tree": AND(*(leaf({g: -1}) for g in ABCD), value=-18)},
                "buyer1": {"tree": AND(leaf({"A": 1}), leaf({"B": 1}), value=11)},
                "buyer2": {"tree": AND(leaf({"C": 1}), leaf({"D": 1}), value=8)},
            },
        }
    )


def fig1(buyer=(8, 15), seller=(-6, -2)) -> Exchange:
    return Exchange.from_dict(
        {
            "goods": ["A", "B"],
            "bidders": {
                "buyer": {"tree": AND(leaf({"A": 1}, list(buyer)), leaf({"B": 1}, list(buyer)))},
                "seller": {
                    "endowment": {"A": 1, "B": 1},
                    "tree": AND(leaf({"A": -1}, list(seller)), leaf({"B": -1}, list(seller))),
                },
            },
        }
    )


def test_ex1_trade_and_vcg():
    alloc = solve_wd(ex1())
    assert alloc.value == 10.0
    assert alloc.trades == {"seller": {"A": -1, "B": -1}, "buyer": {"A": 1, "B": 1}}
    assert alloc.bidder_values == {"seller": -10.0, "buyer": 20.0}
    pay = vcg_payments(ex1())
    assert pay == {"seller": -20.0, "buyer": 10.0}
    assert sum(pay.values()) == -10.0  # the VCG deficit


def test_ex1_threshold_splits_the_surplus():
    res = compute_payments(ex1(), "threshold")
    assert res.vcg_discounts == {"seller": 10.0, "buyer": 10.0}
    assert res.discounts == {"seller": 5.0, "buyer": 5.0}
    assert res.payments == {"seller": -15.0, "buyer": 15.0}
    assert res.budget_surplus == 0.0


def test_ex2_efficient_trade():
    alloc = solve_wd(ex2())
    assert alloc.value == 9.0
    assert alloc.trades["seller"] == {"A": -1, "B": -1, "C": -1, "D": -1}
    assert alloc.trades["buyer1"] == {"A": 1, "B": 1, "C": 0, "D": 0}
    assert alloc.trades["buyer3"] == {"A": 0, "B": 0, "C": 1, "D": 1}
    assert alloc.trades["buyer2"] == dict.fromkeys(ABCD, 0)
    assert alloc.trades["buyer4"] == dict.fromkeys(ABCD, 0)
    assert alloc.traders == ["seller", "buyer1", "buyer3"]
    assert alloc.satisfied["buyer1"].tolist() == [True, True, True]
    assert not alloc.satisfied["buyer2"].any()


def test_ex4_vcg_and_threshold():
    ex = ex2()
    vcg = compute_payments(ex, "vcg", skip_idle=False)
    names = ["seller", "buyer1", "buyer2", "buyer3", "buyer4"]
    assert [vcg.vcg_discounts[n] for n in names] == [9, 2, 0, 1, 0]
    assert [vcg.payments[n] for n in names] == [-9, 4, 0, 2, 0]
    assert vcg.budget_surplus == -3.0
    assert vcg.n_solves == 6
    thr = compute_payments(ex, "threshold")
    assert [thr.discounts[n] for n in names] == [8, 1, 0, 0, 0]
    assert [thr.payments[n] for n in names] == [-8, 5, 0, 3, 0]
    assert thr.threshold_c == 1.0
    assert thr.budget_surplus == 0.0
    assert thr.n_solves == 4  # buyers 2 and 4 neither trade nor add value: no solve needed
    assert threshold_payments(ex) == thr.payments
    assert vcg_payments(ex) == vcg.payments


def test_ex3_efficient_trade_and_threshold_thirds():
    ex = ex3()
    alloc = solve_wd(ex)
    assert alloc.value == 1.0
    assert alloc.trades == {
        "seller": {"A": -1, "B": -1, "C": -1, "D": -1},
        "buyer1": {"A": 1, "B": 1, "C": 0, "D": 0},
        "buyer2": {"A": 0, "B": 0, "C": 1, "D": 1},
    }
    res = compute_payments(ex, "threshold")
    # Removing anyone leaves no profitable trade (the seller's AND values selling any part
    # at -18), so every VCG discount is V* = 1; the budget V* = 1 caps their sum: C = 2/3.
    assert res.vcg_discounts == {"seller": 1.0, "buyer1": 1.0, "buyer2": 1.0}
    assert res.threshold_c == pytest.approx(2 / 3)
    for n in ("seller", "buyer1", "buyer2"):
        assert res.discounts[n] == pytest.approx(1 / 3)
    assert res.payments["seller"] == pytest.approx(-18 - 1 / 3)
    assert res.payments["buyer1"] == pytest.approx(11 - 1 / 3)
    assert res.payments["buyer2"] == pytest.approx(8 - 1 / 3)
    assert res.budget_surplus == pytest.approx(0.0, abs=1e-12)


def test_fig1_threshold_payments_at_bounds():
    ex = fig1()
    assert threshold_payments(ex, "lower") == {"buyer": 14.0, "seller": -14.0}
    assert threshold_payments(ex, "upper") == {"buyer": 17.0, "seller": -17.0}
    assert solve_wd(ex, "lower").value == 4.0  # PP
    assert solve_wd(ex, "upper").value == 26.0
    # α-valuation: α·lower + (1−α)·upper, node by node
    assert solve_wd(ex, 0.5).value == pytest.approx(15.0)


def test_ex9_variants():
    # seller bounds [-20, -4] on the root total: an optimistic trade but no pessimistic one
    ex = Exchange.from_dict(
        {
            "goods": ["A", "B"],
            "bidders": {
                "buyer": {"tree": AND(leaf({"A": 1}, [8, 15]), leaf({"B": 1}, [8, 15]))},
                "seller": {
                    "endowment": {"A": 1, "B": 1},
                    "tree": AND(leaf({"A": -1}), leaf({"B": -1}), value=[-20, -4]),
                },
            },
        }
    )
    assert solve_wd(ex, "lower").value == 0.0
    assert solve_wd(ex, "lower").traders == []
    up = solve_wd(ex, "upper")
    assert up.value == 26.0 and up.traders == ["buyer", "seller"]
    # PO: lower values at the optimistic trade = 16 - 20 = -4
    lower_at_up = sum(float(np.dot(ex.bidder(n).tree.lower, up.satisfied[n])) for n in ex.names)
    assert lower_at_up == -4.0
    # buyer +AB in [18, 24], seller -AB in [-12, -6]: threshold payments (15, -15) at both bounds
    ex2b = Exchange.from_dict(
        {
            "goods": ["A", "B"],
            "bidders": {
                "buyer": {"tree": leaf({"A": 1, "B": 1}, [18, 24])},
                "seller": {"endowment": {"A": 1, "B": 1}, "tree": leaf({"A": -1, "B": -1}, [-12, -6])},
            },
        }
    )
    assert threshold_payments(ex2b, "lower") == {"buyer": 15.0, "seller": -15.0}
    assert threshold_payments(ex2b, "upper") == {"buyer": 15.0, "seller": -15.0}


def test_one_shot_utilities_against_truth():
    reported = fig1()  # bounds; report the lower values
    truth = fig1(buyer=(12, 12), seller=(-3, -3))
    out = one_shot(reported, "threshold", true_values=truth)
    assert out.payments == {"buyer": 14.0, "seller": -14.0}
    assert out.true_values == {"buyer": 24.0, "seller": -6.0}
    assert out.utilities == {"buyer": 10.0, "seller": 8.0}
    assert out.budget_surplus == 0.0
    assert out.true_welfare == 18.0
    vcg = one_shot(ex1(), "vcg")
    assert vcg.utilities == {"seller": 10.0, "buyer": 10.0}  # = VCG discounts under truthful reports
    assert vcg.budget_surplus == -10.0
    with_trees = one_shot(reported, "threshold", true_values={n: truth.bidder(n).tree for n in truth.names})
    assert with_trees.utilities == out.utilities
