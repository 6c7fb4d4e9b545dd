"""The readings of the TASC paper that its text leaves open, on golden instances."""

from __future__ import annotations

import numpy as np
import pytest

from auctionlab.errors import ConfigError
from auctionlab.mechanisms.relay.mechanisms import TASC, TradeReduction
from auctionlab.studies.tasc_runs import TascParams, on_grid, run_tasc

# TASC's manipulable seller: sigma = (b0 unassigned, b1->r2, b2->r1, b3->r3, b4->r0), bids on
# own relays (b1..b4) = (3.1, 3.0, 2.6, 1.7), asks (r0..r3) = (1.1, 0.1, 1.9, 0.7); relay r1 deviates.
SIGMA = np.array([-1, 2, 1, 3, 0])
BIDS = np.zeros((5, 4))
BIDS[[1, 2, 3, 4], [2, 1, 3, 0]] = [3.1, 3.0, 2.6, 1.7]
ASKS = np.array([1.1, 0.1, 1.9, 0.7])
COST = 0.1


def _outcome(ask, mech=None):
    mech = TASC() if mech is None else mech
    a = ASKS.copy()
    a[1] = ask
    return mech(None, BIDS, a, SIGMA)


def _counts(out):
    """|Σ(S_{x−1}, R_{y−1})| of the two candidate boundary pairs step 5 compares (by hand)."""
    S, R = list(out.ranking[0]), list(out.ranking[1])
    res = []
    for b, r in out.boundary_candidates:
        sellers = set(R[: R.index(r)])
        res.append(sum(1 for i in S[: S.index(b)] if SIGMA[i] in sellers))
    return res


def _utility(out):
    return float(out.seller_payments[1]) - COST if out.seller_wins[1] else 0.0


def test_truthful_seller_earns_one():
    out = _outcome(COST)
    assert out.seller_wins[1] and _utility(out) == pytest.approx(1.0)


@pytest.mark.parametrize("ask", [1.75, 1.8, 1.85, 1.9])
def test_any_ask_in_the_interval_gains_point_eight_with_a_strict_count(ask):
    out = _outcome(ask)
    assert _counts(out) == [0, 1]  # strict: no tie rule involved
    assert _utility(out) == pytest.approx(1.8) and _utility(out) - 1.0 == pytest.approx(0.8)


def test_at_ask_1_7_the_counts_tie_and_the_gain_depends_on_the_tie_rule():
    out = _outcome(1.7)
    assert _counts(out) == [1, 1]
    # the implemented rule takes the second pair (s_{i_k}, r_{j_β}) on a tie: r1 wins at 1.9
    assert out.boundary == out.boundary_candidates[1] and _utility(out) == pytest.approx(1.8)
    # the other rule would take the first pair, whose seller is r1 itself: it would not trade
    assert out.boundary_candidates[0][1] == 1


def test_trade_reduction_gives_the_seller_nothing_to_gain():
    truthful = _utility(_outcome(COST, TradeReduction()))
    assert max(_utility(_outcome(a, TradeReduction())) for a in np.linspace(0, 3, 61)) <= truthful + 1e-12


def test_sweep_responses_equal_single_auctions():
    asks = np.linspace(0.0, 2.0, 41)
    res = TASC().scalar_responses(None, BIDS, ASKS, SIGMA, "seller", 1, asks)
    for a, w, p in zip(asks, res.wins, res.payment):
        out = _outcome(a)
        assert bool(out.seller_wins[1]) == bool(w) and float(out.seller_payments[1]) == p


def test_value_grid_draws_ties_and_keeps_the_range():
    x = np.array([1e-6, 0.005, 0.01, 0.011, 3.999, 4.0])
    assert on_grid(x, 0.01).tolist() == pytest.approx([0.01, 0.01, 0.01, 0.02, 4.0, 4.0])
    assert on_grid(x, 0.0) is x
    rows = run_tasc(
        {"n": 30, "m": 30, "value_grid": 0.01, "algorithms": ["mwm"], "rules": ["tasc"]}, np.random.SeedSequence(5)
    ).runs
    cont = run_tasc({"n": 30, "m": 30, "algorithms": ["mwm"], "rules": ["tasc"]}, np.random.SeedSequence(5)).runs
    assert rows[0]["candidates"] == cont[0]["candidates"]  # same network, values on the grid
    for key in ("buyer_price", "seller_price"):
        v = rows[0][key]
        assert np.isnan(v) or abs(v * 100 - round(v * 100)) < 1e-9
    with pytest.raises(ConfigError, match="value_grid"):
        TascParams(value_grid=-0.1)


def test_winners_minimum_never_below_the_assignments():
    for s in range(5):
        for row in run_tasc(
            {"n": 40, "m": 40, "algorithms": ["ora"], "rules": ["tasc", "trade_reduction"]}, np.random.SeedSequence(s)
        ).runs:
            d = row["degradation_min_capacity_winners"]
            assert np.isnan(d) or d <= 1e-12
            assert row["min_capacity_winners"] >= row["pure_min_capacity"] - 1e-9 or np.isnan(d)


def test_rules_resolve_to_mechanism_objects():
    rows = run_tasc(
        {"n": 20, "m": 20, "algorithms": ["mm"], "rules": ["trade_reduction", "kda"]}, np.random.SeedSequence(1)
    ).runs
    assert [r["rule"] for r in rows] == ["trade_reduction", "kda"]
    with pytest.raises(ConfigError, match="phase-2 rule"):
        TascParams(rules=["vcg"])
