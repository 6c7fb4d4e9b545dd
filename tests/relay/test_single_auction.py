"""The single-auction phase 2 (written for one profile with few array operations) against
the literal algorithm and against the K-profile path the counterfactual batches use."""

from __future__ import annotations

import numpy as np
import pytest

from auctionlab.mechanisms.relay.tasc import clear, phase2_responses, trade_reduction

from .brute import literal_algorithm2


def tie_heavy(seed: int):
    """A small instance with coarse reports (many ties) and a random partial assignment."""
    gen = np.random.default_rng(seed)
    n, m = int(gen.integers(1, 9)), int(gen.integers(1, 9))
    coarse = seed % 2 == 0
    bids = gen.integers(0, 5, (n, m)) / 2 if coarse else gen.uniform(0, 4, (n, m))
    asks = gen.integers(0, 4, m) / 2 if coarse else gen.uniform(0, 2, m)
    sigma = np.full(n, -1, dtype=np.intp)
    relays = gen.permutation(m)
    take = gen.random(n) < 0.85
    for i in range(min(n, m)):
        if take[i]:
            sigma[i] = relays[i]
    return bids, asks, gen.permutation(sigma) if seed % 3 == 0 else sigma


@pytest.mark.parametrize(
    "rule, fn, tie",
    [
        ("tasc", clear, "second"),
        ("tasc", lambda b, a, s: clear(b, a, s, tie="first"), "first"),
        ("trade_reduction", trade_reduction, "second"),
    ],
)
def test_phase2_matches_literal_algorithm_and_batch_path(rule, fn, tie):
    for seed in range(400):
        bids, asks, sigma = tie_heavy(seed)
        out = fn(bids, asks, sigma)
        ref = literal_algorithm2(
            bids.tolist(), asks.tolist(), sigma.tolist(), reduction=rule == "trade_reduction", tie=tie
        )
        if ref is None:
            assert out.n_trades == 0 and out.profit == 0 and out.boundary is None
        else:
            buyers, sellers, pb, ps = ref
            assert np.flatnonzero(out.buyer_wins).tolist() == buyers, seed
            assert np.flatnonzero(out.seller_wins).tolist() == sellers, seed
            assert out.buyer_price == pb and out.seller_price == ps
            assert out.buyer_payments[buyers].tolist() == [pb] * len(buyers)
            assert out.seller_payments[sellers].tolist() == [ps] * len(sellers)
            assert out.buyer_payments.sum() == pb * len(buyers) and out.profit == len(buyers) * (pb - ps)
            # the ranking: buyers by own-relay bid (ties: index), sellers by ask (ties: index)
            cand = np.flatnonzero(sigma >= 0)
            S = sorted(cand.tolist(), key=lambda i: (-bids[i, sigma[i]], i))
            R = sorted(sigma[cand].tolist(), key=lambda j: (asks[j], j))
            assert out.ranking[0].tolist() == S and out.ranking[1].tolist() == R
            b, s = out.boundary
            assert not out.buyer_wins[b] and not out.seller_wins[s]
        # every agent's outcome as the K-profile path computes it, reporting what it reported
        for i in np.flatnonzero(sigma >= 0):
            res = phase2_responses(bids, asks, sigma, rule, "buyer", int(i), [bids[i, sigma[i]]], tie)
            assert bool(res.wins[0]) == bool(out.buyer_wins[i]) and res.payment[0] == out.buyer_payments[i]
            j = int(sigma[i])
            res = phase2_responses(bids, asks, sigma, rule, "seller", j, [asks[j]], tie)
            assert bool(res.wins[0]) == bool(out.seller_wins[j]) and res.payment[0] == out.seller_payments[j]


def test_outcome_arrays_are_fresh_and_inputs_untouched():
    bids, asks, sigma = tie_heavy(4)
    b0, a0, s0 = bids.copy(), asks.copy(), sigma.copy()
    out = clear(bids, asks, sigma)
    assert np.array_equal(bids, b0) and np.array_equal(asks, a0) and np.array_equal(sigma, s0)
    assert out.sigma is not sigma and not np.shares_memory(out.sigma, sigma)
    sigma[:] = -1  # the outcome keeps its own assignment
    assert np.array_equal(out.sigma, s0)


def test_negative_zero_reports_are_accepted_as_zero():
    bids, asks, sigma = tie_heavy(2)
    nz_bids, nz_asks = np.where(bids == 0, -0.0, bids), np.where(asks == 0, -0.0, asks)
    assert np.signbit(nz_bids).any() or np.signbit(nz_asks).any()
    a, b = clear(bids, asks, sigma), clear(nz_bids, nz_asks, sigma)
    for f in ("buyer_wins", "seller_wins", "buyer_payments", "seller_payments"):
        assert np.array_equal(getattr(a, f), getattr(b, f))


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf, -1e-300, -5.0])
def test_one_reduction_check_still_catches_every_bad_value(bad):
    bids, asks, sigma = tie_heavy(6)
    with pytest.raises(ValueError, match=r"bids\[\(0, 0\)\] = "):
        clear(np.where(np.arange(bids.size).reshape(bids.shape) == 0, bad, bids), asks, sigma)
    with pytest.raises(ValueError, match=r"asks\[0\] = "):
        clear(bids, np.where(np.arange(asks.size) == 0, bad, asks), sigma)
