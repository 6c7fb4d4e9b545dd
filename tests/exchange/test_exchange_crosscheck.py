"""WD, VCG and Threshold payments against exhaustive enumeration on tiny random exchanges."""

import math
import random

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from auctionlab.mechanisms.exchange import WDProgram, compute_payments, threshold_c, value

from .brute import bidder_tables, brute_optimum, brute_value, random_tiny_exchange, sat_table, threshold_c_bisect

N_INSTANCES = 480
TOL = 1e-7


def _values_for(seed: int):
    return ["lower", "upper", 0.25, 0.5][seed % 4]


@pytest.mark.parametrize("chunk", range(8))
def test_wd_and_payments_match_enumeration(chunk):
    checked_trade = 0
    for seed in range(chunk, N_INSTANCES, 8):
        bounds = seed % 3 != 0
        ex = random_tiny_exchange(seed, bounds=bounds)
        values = _values_for(seed) if bounds else "lower"
        tables = bidder_tables(ex, values)
        v_star = brute_optimum(ex, tables)
        v_minus = [brute_optimum(ex, tables, exclude=i) for i in range(ex.n_bidders)]
        model = WDProgram(ex)
        res = {
            rule: compute_payments(ex, rule, values, model=model, skip_idle=(seed % 2 == 0))
            for rule in ("vcg", "threshold")
        }
        alloc = res["vcg"].allocation
        assert alloc.value == pytest.approx(v_star, abs=TOL), f"seed {seed}"

        # The reported trade is feasible, balanced, and each bidder's share is what enumeration says.
        lam = alloc.trade_matrix
        assert np.all(lam + ex.endowments >= 0), seed
        assert np.all(lam.sum(axis=0) == 0), seed
        true_share = []
        for i, b in enumerate(ex.bidders):
            assert alloc.trades[b.name] == dict(zip(ex.goods, map(int, lam[i])))
            vi = tables[i].get(tuple(int(q) for q in lam[i]), -math.inf)
            assert alloc.bidder_values[b.name] == pytest.approx(vi, abs=TOL), (seed, b.name)
            true_share.append(vi)
        assert math.fsum(true_share) == pytest.approx(v_star, abs=TOL)
        checked_trade += bool(np.any(lam))

        vcg = [v_star - vm for vm in v_minus]
        c = threshold_c_bisect(vcg, v_star)
        for i, b in enumerate(ex.bidders):
            assert res["vcg"].vcg_discounts[b.name] == pytest.approx(vcg[i], abs=1e-6), (seed, b.name)
            assert res["vcg"].payments[b.name] == pytest.approx(true_share[i] - vcg[i], abs=1e-6), (seed, b.name)
            thr = max(0.0, vcg[i] - c)
            assert res["threshold"].discounts[b.name] == pytest.approx(thr, abs=1e-6), (seed, b.name)
            # the model is history-independent, so both rules see the same efficient trade
            assert res["threshold"].allocation.trades == alloc.trades
            assert res["threshold"].payments[b.name] == pytest.approx(true_share[i] - thr, abs=1e-6), (seed, b.name)
            # individually rational and (below) budget balanced, on every instance
            assert res["threshold"].payments[b.name] <= alloc.bidder_values[b.name] + 1e-9
        assert res["threshold"].budget_surplus >= -1e-9, seed
        assert sum(res["threshold"].discounts.values()) <= v_star + 1e-9
        assert res["threshold"].threshold_c == pytest.approx(c, abs=1e-9)
    assert checked_trade >= 5  # the sample must actually exercise trade


@pytest.mark.parametrize("seed", range(40))
def test_value_function_matches_enumeration(seed):
    ex = random_tiny_exchange(1000 + seed, bounds=True)
    r = random.Random(seed)
    for i, b in enumerate(ex.bidders):
        for values in ("lower", "upper", 0.5):
            node_values = b.tree.values(values)
            table = sat_table(b.tree, node_values)
            for _ in range(4):
                lam = np.array([r.randint(-2, 2) for _ in ex.goods])
                expected = brute_value(table, lam)
                got = value(b, dict(zip(ex.goods, map(int, lam))), values)
                if expected == -math.inf:
                    assert got == -math.inf
                else:
                    assert got == pytest.approx(expected, abs=TOL)


@given(st.lists(st.floats(0, 100, allow_nan=False), min_size=1, max_size=8), st.floats(0, 200))
def test_threshold_c_is_exact_water_level(vcg, budget):
    c = threshold_c(np.array(vcg), budget)
    assert c >= 0
    assert sum(max(0.0, d - c) for d in vcg) <= budget + 1e-9
    assert c == pytest.approx(threshold_c_bisect(vcg, budget), abs=1e-7)
