"""The payment-rule family: closed forms against their convex programs, and the family's laws."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from auctionlab.errors import InvalidInputError
from auctionlab.mechanisms.exchange.payment_rules import (
    PAYMENT_RULES,
    convex_discounts,
    register_convex_rule,
    reverse,
    threshold,
    threshold_c,
)

BUDGET_BALANCED = [name for name, rule in PAYMENT_RULES.items() if rule.budget_balanced]


@st.composite
def discounts_and_surplus(draw, distinct: bool = False):
    """VCG discounts with zeros and ties (or all distinct) and a surplus below, near or above Σ."""
    n = draw(st.integers(1, 8))
    if distinct:
        d = np.array(draw(st.lists(st.integers(1, 400), min_size=n, max_size=n, unique=True)), float) / 4
    else:
        d = np.array(draw(st.lists(st.sampled_from([0.0, 0.5, 1.0, 2.5, 3.0, 7.25, 10.0]), min_size=n, max_size=n)))
    share = draw(st.sampled_from([0.0, 0.1, 0.37, 0.5, 0.9, 1.0, 1.5]))
    return d, float(share * d.sum())


def test_registry_holds_the_family():
    assert set(PAYMENT_RULES) >= {"threshold", "fractional", "reverse", "large", "small", "no_discount", "vcg"}
    assert not PAYMENT_RULES["vcg"].budget_balanced
    assert PAYMENT_RULES["vcg"].program is None


def test_paper_example_threshold():
    # Four-buyer example: VCG discounts (9, 2, 0, 1, 0), V* = 9 -> C = 1, discounts (8, 1, 0, 0, 0)
    d = [9.0, 2.0, 0.0, 1.0, 0.0]
    assert threshold_c(d, 9.0) == 1.0
    np.testing.assert_array_equal(threshold(d, 9.0), [8.0, 1.0, 0.0, 0.0, 0.0])


def test_hand_computed_values():
    d = np.array([9.0, 2.0, 0.0, 1.0, 0.0])
    r = {name: PAYMENT_RULES[name](d, 6.0) for name in PAYMENT_RULES}
    np.testing.assert_allclose(r["threshold"], [6.0, 0.0, 0.0, 0.0, 0.0])
    np.testing.assert_allclose(r["fractional"], [4.5, 1.0, 0.0, 0.5, 0.0])
    np.testing.assert_allclose(r["reverse"], [3.0, 2.0, 0.0, 1.0, 0.0])
    np.testing.assert_allclose(r["large"], [6.0, 0.0, 0.0, 0.0, 0.0])
    np.testing.assert_allclose(r["small"], [3.0, 2.0, 0.0, 1.0, 0.0])
    np.testing.assert_allclose(r["no_discount"], 0.0)
    np.testing.assert_allclose(r["vcg"], d)


def test_ties_broken_by_bidder_order():
    np.testing.assert_array_equal(PAYMENT_RULES["large"]([2.0, 2.0, 2.0], 3.0), [2.0, 1.0, 0.0])
    np.testing.assert_array_equal(PAYMENT_RULES["small"]([2.0, 2.0, 2.0], 3.0), [2.0, 1.0, 0.0])


@settings(max_examples=120, deadline=None, derandomize=True)
@given(discounts_and_surplus())
def test_family_laws(case):
    d, budget = case
    for name in BUDGET_BALANCED:
        rule = PAYMENT_RULES[name]
        delta = rule(d, budget)
        assert delta.shape == d.shape
        assert np.all(delta >= 0) and np.all(delta <= d), name
        assert math.fsum(delta) <= budget + 1e-9, name
        if rule.uses_budget:  # the whole surplus is handed out when VCG would exceed it
            assert math.fsum(delta) == pytest.approx(min(budget, math.fsum(d)), abs=1e-9), name
    if d.sum() <= budget:  # VCG itself is budget balanced then, and every distance rule returns it
        for name in ("threshold", "fractional", "reverse", "large", "small"):
            np.testing.assert_allclose(PAYMENT_RULES[name](d, budget), d)


@settings(max_examples=40, deadline=None, derandomize=True)
@given(discounts_and_surplus())
def test_closed_forms_solve_their_programs(case):
    d, budget = case
    for name in ("threshold", "fractional", "reverse", "no_discount"):
        rule = PAYMENT_RULES[name]
        np.testing.assert_allclose(rule(d, budget), rule.program(d, budget), atol=1e-7, err_msg=name)


@settings(max_examples=40, deadline=None, derandomize=True)
@given(discounts_and_surplus(distinct=True))
def test_greedy_rules_solve_their_programs(case):
    # with distinct discounts the linear programs of Large and Small have unique optima
    d, budget = case
    for name in ("large", "small"):
        rule = PAYMENT_RULES[name]
        np.testing.assert_allclose(rule(d, budget), rule.program(d, budget), atol=1e-7, err_msg=name)


@settings(max_examples=40, deadline=None, derandomize=True)
@given(discounts_and_surplus())
def test_threshold_is_also_the_l2_projection(case):
    import cvxpy as cp

    d, budget = case
    l2 = convex_discounts(d, budget, lambda delta, v: cp.sum_squares(v - delta))
    np.testing.assert_allclose(threshold(d, budget), l2, atol=1e-7)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(discounts_and_surplus())
def test_reverse_caps_at_one_level(case):
    d, budget = case
    delta = reverse(d, budget)
    below = delta < d - 1e-12  # bidders capped: all at one level, at least every uncapped discount
    if below.any():
        level = delta[below]
        assert np.ptp(level) <= 1e-12
        assert np.all(d[~below] <= level[0] + 1e-12)


def test_mapping_in_mapping_out():
    out = PAYMENT_RULES["fractional"]({"b": 4.0, "a": 2.0}, 3.0)
    assert list(out) == ["b", "a"]
    assert out == pytest.approx({"b": 2.0, "a": 1.0})


@pytest.mark.parametrize(
    "bad_d, bad_b",
    [
        ([1.0, -0.5], 1.0),
        ([1.0, math.nan], 1.0),
        ([[1.0]], 1.0),
        (["x"], 1.0),
        ([1.0 + 1j], 1.0),
        ([1.0], -1.0),
        ([1.0], math.inf),
        ([1.0], True),
        ([1.0], "3"),
    ],
)
def test_bad_input_is_named(bad_d, bad_b):
    for name in PAYMENT_RULES:
        with pytest.raises(InvalidInputError):
            PAYMENT_RULES[name](bad_d, bad_b)


def test_user_rule_from_a_cvxpy_objective():
    import cvxpy as cp

    rule = register_convex_rule("test-l1.5", lambda delta, d: cp.norm(d - delta, 1.5), label="L1.5")
    try:
        assert PAYMENT_RULES["test-l1.5"] is rule
        d = np.array([6.0, 3.0, 1.0])
        delta = rule(d, 4.0)
        assert math.fsum(delta) == pytest.approx(4.0, abs=1e-7)
        assert np.all(delta >= -1e-9) and np.all(delta <= d + 1e-9)
        # between Threshold (L-inf / L2) and the greedy extremes: the largest discount gets the most
        assert delta[0] > delta[1] > delta[2] - 1e-9
    finally:
        del PAYMENT_RULES["test-l1.5"]


# --------------------------------------------------------------------------- in the exchange
def test_every_rule_in_the_one_shot_exchange():
    from auctionlab.mechanisms.exchange import compute_payments

    from .examples import example2

    ex = example2()  # VCG discounts (9, 2, 0, 1, 0), V* = 9
    for name, rule in PAYMENT_RULES.items():
        res = compute_payments(ex, name)
        expected = rule([9.0, 2.0, 0.0, 1.0, 0.0], 9.0)
        assert list(res.discounts.values()) == pytest.approx(list(expected), abs=1e-9), name
        if rule.budget_balanced:
            assert res.budget_surplus >= -1e-9, name
    assert compute_payments(ex, "threshold").payments == pytest.approx(
        {"seller": -8, "buyer1": 5, "buyer2": 0, "buyer3": 3, "buyer4": 0}
    )


def test_ice_reports_every_rule_and_runs_under_any():
    from auctionlab.mechanisms.exchange import compute_payments
    from auctionlab.mechanisms.exchange.ice import run_ice

    from .examples import example2
    from .test_ice import keep_all

    ex = example2()
    res = run_ice(ex, keep_all(ex), cutoff_eff=1.0, cutoff_thresh=1.0)
    assert set(res.payments_by_rule) == set(PAYMENT_RULES)
    for name in PAYMENT_RULES:
        assert res.payments_by_rule[name] == pytest.approx(compute_payments(ex, name).payments), name
    frac = run_ice(ex, keep_all(ex), cutoff_eff=1.0, cutoff_thresh=1.0, payment_rule="fractional")
    assert frac.payments == pytest.approx(res.payments_by_rule["fractional"])
