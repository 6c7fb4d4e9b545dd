"""The step-5 tie rule of TASC as written: the field, its three code paths, the golden
seller instance under both rules, and how the rule meets specs and trade reduction."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from auctionlab.errors import ConfigError
from auctionlab.experiments.catalog import catalog_spec
from auctionlab.mechanisms.relay.mechanisms import (
    TASC,
    RelayMechanism,
    TradeReduction,
    check_mechanism_parameters,
    mechanism_parameters,
    resolve_mechanism,
)
from auctionlab.mechanisms.relay.network import RelayNetwork
from auctionlab.mechanisms.relay.tasc import TIE_RULES, clear, tasc

from .brute import literal_algorithm2

SIGMA = np.array([-1, 2, 1, 3, 0])
ASKS = np.array([1.1, 0.1, 1.9, 0.7])


def seller_bids() -> np.ndarray:
    bids = np.zeros((5, 4))
    bids[[1, 2, 3, 4], [2, 1, 3, 0]] = [3.1, 3.0, 2.6, 1.7]
    return bids


def seller_gain(ask: float, tie: str) -> float:
    """Relay r1's gain (true cost 0.1) from asking ``ask`` instead of the truth."""
    bids = seller_bids()
    lie = ASKS.copy()
    lie[1] = ask
    truthful = clear(bids, ASKS, SIGMA, tie=tie).utilities(bids, ASKS)[1][1]
    return float(clear(bids, lie, SIGMA, tie=tie).utilities(bids, ASKS)[1][1] - truthful)


# ------------------------------------------------------------------ golden: the seller instance
@pytest.mark.parametrize("tie", TIE_RULES)
@pytest.mark.parametrize("ask", [1.75, 1.8, 1.85, 1.9])
def test_seller_gain_at_strict_counts_is_the_same_under_both_rules(ask, tie):
    assert seller_gain(ask, tie) == pytest.approx(0.8)
    out = clear(seller_bids(), np.where(np.arange(4) == 1, ask, ASKS), SIGMA, tie=tie)
    assert out.boundary_candidates == ((3, 1), (3, 2)) and out.boundary == (3, 2)
    assert out.seller_price == pytest.approx(1.9)


def test_seller_gain_at_tied_counts_depends_on_the_rule():
    # At 1.7 (equal to b4's bid) both candidate winner sets have one pair: the rule decides.
    assert seller_gain(1.7, "second") == pytest.approx(0.8)  # (s_{i_k}, r_{j_beta}) = (b3, r2): r1 wins at 1.9
    assert seller_gain(1.7, "first") == pytest.approx(-1.0)  # (s_{i_alpha}, r_{j_k}) = (b4, r1): r1 is the boundary
    bids, lie = seller_bids(), ASKS.copy()
    lie[1] = 1.7
    first, second = clear(bids, lie, SIGMA, tie="first"), clear(bids, lie, SIGMA, tie="second")
    assert first.boundary_candidates == second.boundary_candidates == ((4, 1), (3, 2))
    assert first.boundary == (4, 1) and first.seller_price == pytest.approx(1.7)
    assert np.flatnonzero(first.seller_wins).tolist() == [3]
    assert second.boundary == (3, 2) and np.flatnonzero(second.seller_wins).tolist() == [1]
    # the truthful outcome has strict counts: r1 earns 1.0 under both rules
    for tie in TIE_RULES:
        assert clear(bids, ASKS, SIGMA, tie=tie).utilities(bids, ASKS)[1][1] == pytest.approx(1.0)


@pytest.mark.parametrize("tie", TIE_RULES)
def test_the_mechanism_object_and_its_batch_give_the_golden_numbers(tie):
    net = RelayNetwork.from_capacities(np.zeros(5), np.ones((5, 4)))
    res = TASC(tie).responses(net, seller_bids(), ASKS, SIGMA, "seller", 1, np.array([0.1, 1.7, 1.8]))
    expect = {"second": [1.0, 1.8, 1.8], "first": [1.0, 0.0, 1.8]}[tie]
    np.testing.assert_allclose(res.seller_utilities(0.1), expect)


# ------------------------------------------------------------------ the three paths agree
@st.composite
def tie_instances(draw):
    """A small market on a coarse value grid (equal counts in step 5 are common) with a
    random one-to-one partial assignment."""
    n, m = draw(st.integers(2, 7)), draw(st.integers(2, 7))
    gen = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    step = draw(st.sampled_from([0.5, 1.0]))
    bids = gen.integers(0, 5, (n, m)) * step
    asks = gen.integers(0, 4, m) * step
    sigma = np.full(n, -1, dtype=np.intp)
    relays = gen.permutation(m)
    for i in range(min(n, m)):
        if gen.random() < 0.85:
            sigma[i] = relays[i]
    return bids.astype(float), asks.astype(float), gen.permutation(sigma)


def _scalar_path(mech, net, bids, asks, sigma, role, index, report):
    """One auction with the agent's report replaced (the single-auction path)."""
    b, a = bids.copy(), asks.copy()
    if role == "buyer":
        b[index] = report
    else:
        a[index] = report
    out = mech(net, b, a, sigma)
    if role == "buyer":
        return bool(out.buyer_wins[index]), float(out.buyer_payments[index])
    return bool(out.seller_wins[index]), float(out.seller_payments[index])


@given(inst=tie_instances())
def test_responses_batch_and_scalar_paths_agree_under_both_tie_rules(inst):
    bids, asks, sigma = inst
    n, m = bids.shape
    net = RelayNetwork.from_capacities(np.zeros(n), np.ones((n, m)))
    levels = np.unique(np.concatenate([bids.ravel(), asks, [0.0, 4.5]]))
    for tie in TIE_RULES:
        mech = TASC(tie)
        out = mech(net, bids, asks, sigma)
        ref = literal_algorithm2(bids.tolist(), asks.tolist(), sigma.tolist(), tie=tie)
        assert np.flatnonzero(out.buyer_wins).tolist() == ([] if ref is None else ref[0])
        for i in np.flatnonzero(sigma >= 0):
            i, j = int(i), int(sigma[i])
            vectors = np.repeat(bids[i][None, :], levels.size, axis=0)
            vectors[:, j] = levels
            full = mech.responses(net, bids, asks, sigma, "buyer", i, vectors)
            batch = mech.scalar_responses(net, bids, asks, sigma, "buyer", i, levels)
            for r, vec in enumerate(vectors):
                want = _scalar_path(mech, net, bids, asks, sigma, "buyer", i, vec)
                assert (bool(full.wins[r]), float(full.payment[r])) == want, (tie, "buyer", i, vec)
                assert (bool(batch.wins[r]), float(batch.payment[r])) == want, (tie, "buyer", i, vec)
            full = mech.responses(net, bids, asks, sigma, "seller", j, levels)
            batch = mech.scalar_responses(net, bids, asks, sigma, "seller", j, levels)
            for r, a in enumerate(levels):
                want = _scalar_path(mech, net, bids, asks, sigma, "seller", j, a)
                assert (bool(full.wins[r]), float(full.payment[r])) == want, (tie, "seller", j, a)
                assert (bool(batch.wins[r]), float(batch.payment[r])) == want, (tie, "seller", j, a)


def test_the_rules_differ_somewhere_on_coarse_instances():
    """The property test above would pass if both rules were one: they are not."""
    gen = np.random.default_rng(5)
    differ = 0
    for _ in range(300):
        n = m = 5
        sigma = gen.permutation(m).astype(np.intp)
        bids = np.zeros((n, m))
        bids[np.arange(n), sigma] = gen.integers(0, 5, n) * 0.5
        asks = gen.integers(0, 4, m) * 0.5
        a, b = clear(bids, asks, sigma, tie="first"), clear(bids, asks, sigma, tie="second")
        differ += a.boundary != b.boundary
    assert 10 <= differ <= 200


# ------------------------------------------------------------------ the field, specs, trade reduction
def test_tie_field_defaults_validation_and_spec_key():
    assert TASC() == TASC("second") and TASC().tie == "second" and TASC("first") != TASC()
    assert resolve_mechanism("tasc", tasc_tie="first") == TASC("first")
    assert mechanism_parameters()["tasc_tie"] == (TASC, "tie", "second")
    assert check_mechanism_parameters({"tasc_tie": "first"}) == {"tasc_tie": "first"}
    for bad in ("third", "", None, 1, ["first"]):
        with pytest.raises(ConfigError, match=r"tasc_tie must be one of 'second', 'first'"):
            TASC(bad)
    with pytest.raises(ConfigError, match=r"tie must be one of 'second', 'first', got 'alpha'"):
        clear(seller_bids(), ASKS, SIGMA, tie="alpha")


def test_trade_reduction_has_no_tie_rule():
    assert not any(k.startswith("trade_reduction_") for k in mechanism_parameters())
    assert not issubclass(TradeReduction, TASC) and issubclass(TradeReduction, RelayMechanism)
    assert TradeReduction().params == {}
    with pytest.raises(TypeError):
        TradeReduction(tie="first")  # type: ignore[call-arg]
    with pytest.raises(ConfigError, match=r"unknown mechanism parameter\(s\) \['trade_reduction_tie'\]"):
        check_mechanism_parameters({"trade_reduction_tie": "first"})
    net = RelayNetwork.from_capacities(np.zeros(5), seller_bids() + 1.0)
    with pytest.raises(ConfigError, match="no meaning under trade reduction"):
        tasc(net, seller_bids(), ASKS, rule="trade_reduction", tie="first")


def test_default_field_leaves_catalog_digests_unchanged():
    # Spec digests hash the spec as written; a mechanism field with its default adds nothing.
    # These are the digests of the catalog entries before the tie rule existed.
    for name, digest in (("tasc-profit", "cd8e468fdd613b19"), ("tasc-efficiency", "03c2cfd0711719d2")):
        assert catalog_spec(name).digest == digest
