"""Relay mechanisms as objects: one implementation for a single auction and for a batch of
counterfactual reports, the registry, resolution of names and parameters, RelayRound."""

from __future__ import annotations

import functools
import pickle

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from auctionlab.errors import ConfigError, UnknownNameError
from auctionlab.mechanisms.relay import mechanisms as M
from auctionlab.mechanisms.relay.baselines import k_double_auction
from auctionlab.mechanisms.relay.mechanisms import (
    KDA,
    MECHANISMS,
    TASC,
    VCG,
    FunctionMechanism,
    McAfee,
    McAfeeHomogeneous,
    RelayMechanism,
    RelayRound,
    ScalarMechanism,
    TradeReduction,
    resolve_mechanism,
)
from auctionlab.mechanisms.relay.network import RelayNetwork, random_network
from auctionlab.mechanisms.relay.outcome import RelayOutcome
from auctionlab.mechanisms.relay.tasc import assign, clear, trade_reduction
from auctionlab.mechanisms.relay.valuations import uniform_valuations

BUILTIN = [TASC(), TradeReduction(), KDA(0.3), KDA(1.0), VCG(), McAfee(), McAfeeHomogeneous()]


def _profile(seed: int, n: int, m: int, coarse: bool):
    """A random network, reports and phase-1 assignment; ``coarse`` rounds the reports so that
    ties between them (and with the deviations) are frequent: the index tie rules must agree."""
    gen = np.random.default_rng(seed)
    net = random_network(n, m, rng=gen, area=600.0)
    bids, asks = uniform_valuations(net, rng=gen)
    bids = bids * gen.uniform(0.6, 1.3, size=bids.shape)
    if coarse:
        bids, asks = np.round(bids * 2) / 2, np.round(asks * 4) / 4
    return gen, net, bids, asks, assign(net, "mwm")


def _deviations(gen, mech, net, bids, asks, sigma, role, index, coarse):
    """Reports of one agent: scaled truth plus every level where the outcome can change (and
    ± a hair), so that boundaries are hit exactly."""
    lv = np.unique(np.concatenate([bids.ravel(), asks, [0.0]]))
    lv = np.concatenate([lv, lv + 1e-9])
    if role == "seller":
        xs = np.concatenate([asks[index] * gen.uniform(0, 3, size=6), lv[:: max(1, lv.size // 15)]])
        return np.round(xs * 4) / 4 if coarse else xs
    rows = [bids[index] * t for t in gen.uniform(0, 2, size=6)]
    rows += [np.where(net.useful[index], x, 0.0) for x in lv[:: max(1, lv.size // 15)]]
    if sigma[index] >= 0:  # sweep the assigned relay's bid alone too
        for x in lv[:: max(1, lv.size // 15)]:
            r = bids[index].copy()
            r[sigma[index]] = x
            rows.append(r)
    return np.vstack(rows)


def _same(a, b):
    np.testing.assert_array_equal(a.wins, b.wins)
    np.testing.assert_array_equal(a.payment, b.payment)
    np.testing.assert_array_equal(a.relay, b.relay)


# ---------------------------------------------------------------------- batch == single auction
@settings(max_examples=40)
@given(
    st.integers(0, 2**32 - 1), st.integers(1, 6), st.integers(1, 6), st.booleans(), st.sampled_from(range(len(BUILTIN)))
)
def test_batch_responses_equal_the_single_auction_report_by_report(seed, n, m, coarse, which):
    """The vectorised ``responses`` of every mechanism equals rerunning its single auction
    once per report (the base class's loop), exactly: wins, payments, relays."""
    mech = BUILTIN[which]
    gen, net, bids, asks, sigma = _profile(seed, n, m, coarse)
    if not mech.uses_assignment:
        sigma = np.full(n, -1, dtype=np.intp)
    for role, size in (("buyer", n), ("seller", m)):
        for idx in range(size):
            reps = _deviations(gen, mech, net, bids, asks, sigma, role, idx, coarse)
            got = mech.responses(net, bids, asks, sigma, role, idx, reps, {})
            ref = RelayMechanism.responses(mech, net, bids, asks, sigma, role, idx, reps)
            _same(got, ref)
            if isinstance(mech, ScalarMechanism) and role == "buyer":  # the number it reads, directly
                x = mech.buyer_scalar(net, sigma, idx, reps)
                _same(mech.scalar_responses(net, bids, asks, sigma, role, idx, x), ref)
                for t in range(0, len(reps), 7):  # and the vector that puts that number there
                    vec = mech.buyer_report(net, sigma, idx, bids[idx], float(x[t]))
                    assert mech.buyer_scalar(net, sigma, idx, vec[None, :])[0] == pytest.approx(x[t], rel=1e-15)
            if not mech.reads(sigma, role, idx):  # an agent the mechanism never reads never trades
                assert not got.wins.any()


@pytest.mark.parametrize("seed", range(4))
def test_relay_round_batch_equals_utility_if_and_the_outcome(seed):
    gen, net, bids, asks, sigma = _profile(seed, 6, 5, seed % 2 == 1)
    values, costs = bids * 1.1, asks * 0.9
    for mech in BUILTIN:
        rnd = RelayRound(net, values, costs, bids, asks, sigma, mech)
        ub, us = rnd.outcome.utilities(values, costs)
        for role, size, base in (("buyer", 6, ub), ("seller", 5, us)):
            for idx in range(size):
                reps = _deviations(gen, mech, net, bids, asks, sigma, role, idx, False)
                many = rnd.utilities_if(role, idx, reps)
                assert many.tolist() == [rnd.utility_if(role, idx, r) for r in reps]
                assert rnd.oracle(role, idx).many(list(reps)).tolist() == many.tolist()
                # the actual report reproduces the realised utility
                own = bids[idx] if role == "buyer" else asks[idx]
                assert rnd.utility_if(role, idx, own) == pytest.approx(base[idx], abs=1e-12)


def test_single_auction_entry_points_are_the_mechanism_objects():
    gen, net, bids, asks, sigma = _profile(5, 8, 9, False)
    for mech, ref in (
        (TASC(), clear(bids, asks, sigma)),
        (TradeReduction(), trade_reduction(bids, asks, sigma)),
        (KDA(0.25), k_double_auction(bids, asks, sigma, k=0.25)),
    ):
        out = mech(net, bids, asks, sigma)
        np.testing.assert_array_equal(out.buyer_payments, ref.buyer_payments)
        np.testing.assert_array_equal(out.seller_wins, ref.seller_wins)
        assert out.rule == ref.rule
    # the former function names still work
    assert M.tasc_mechanism(net, bids, asks, sigma).n_trades == clear(bids, asks, sigma).n_trades
    np.testing.assert_array_equal(
        M.kda_mechanism(net, bids, asks, sigma, k=0.25).buyer_payments,
        k_double_auction(bids, asks, sigma, k=0.25).buyer_payments,
    )


def test_spec_a4_prime_seller_gain_through_the_batch():
    """The seller deviation of the worked example in tasc.py's tests, answered by one batch call."""
    sigma = np.array([-1, 2, 1, 3, 0])
    bids = np.zeros((5, 4))
    bids[[1, 2, 3, 4], [2, 1, 3, 0]] = [3.1, 3.0, 2.6, 1.7]
    asks = np.array([1.1, 0.1, 1.9, 0.7])
    relayed = np.ones((5, 4))
    relayed[[1, 2, 3, 4], [2, 1, 3, 0]] = 3.0
    net = RelayNetwork.from_capacities(np.full(5, 2.0), relayed)
    res = TASC().responses(net, bids, asks, sigma, "seller", 1, np.array([0.1, 1.7]))
    assert res.wins.tolist() == [True, True]
    np.testing.assert_allclose(res.seller_utilities(0.1), [1.0, 1.8])
    tr = TradeReduction().responses(net, bids, asks, sigma, "seller", 1, np.array([0.1, 1.7]))
    assert tr.seller_utilities(0.1)[1] <= tr.seller_utilities(0.1)[0]


# ---------------------------------------------------------------------- objects, registry, resolution
def test_mechanisms_describe_themselves():
    props = {
        cls.name: (cls.truthful, cls.budget_balanced, cls.uses_assignment, cls.homogeneous)
        for cls in (TASC, TradeReduction, KDA, VCG, McAfee, McAfeeHomogeneous)
    }
    assert props == {
        "tasc": (False, True, True, False),
        "trade_reduction": (True, True, True, False),
        "kda": (False, True, True, False),
        "vcg": (True, False, False, False),
        "mcafee": (False, True, False, False),
        "mcafee_homogeneous": (True, True, False, True),
    }
    assert list(MECHANISMS) == ["tasc", "trade_reduction", "kda", "vcg", "mcafee", "mcafee_homogeneous"]
    labels = [cls.label for cls in MECHANISMS.values()]
    colors = [cls.color for cls in MECHANISMS.values()]
    assert len(set(labels)) == len(labels) and len(set(colors)) == len(colors)
    assert KDA(0.3) == KDA(k=0.3) != KDA(0.5) and KDA().params == {"k": 0.5}
    assert hash(KDA(0.3)) == hash(KDA(0.3)) and TASC() == TASC() and TASC() != TradeReduction()
    assert pickle.loads(pickle.dumps(KDA(0.3))) == KDA(0.3)


def test_resolve_names_parameters_objects_and_callables():
    assert resolve_mechanism("kda", kda_k=0.3) == KDA(0.3)
    assert resolve_mechanism("kda") == KDA(0.5)
    assert resolve_mechanism("tasc", kda_k=0.3, n=10) == TASC()  # other keys are not its parameters
    assert resolve_mechanism(KDA) == KDA() and resolve_mechanism(VCG()) == VCG()
    with pytest.raises(ConfigError, match="kda_k must be a number in \\[0, 1\\], got 1.5"):
        resolve_mechanism("kda", kda_k=1.5)
    with pytest.raises(ConfigError, match="kda_k"):
        KDA(True)
    with pytest.raises(UnknownNameError, match="unknown mechanism 'nope'"):
        resolve_mechanism("nope")
    with pytest.raises(ConfigError, match="name, a RelayMechanism or a callable"):
        resolve_mechanism(3.0)

    def free(network, bids, asks, sigma):
        on = np.flatnonzero(sigma >= 0)
        return RelayOutcome.from_trades(sigma, network.m, on, 0.0, 0.0, "free")

    wrapped = resolve_mechanism(free)
    assert isinstance(wrapped, FunctionMechanism) and wrapped.name == "free" and not wrapped.truthful
    MECHANISMS.register("free_test_fn", free)
    try:
        named = resolve_mechanism("free_test_fn")
        assert named.name == "free_test_fn" and named.fn is free
    finally:
        del MECHANISMS["free_test_fn"]
    part = resolve_mechanism(functools.partial(M.kda_mechanism, k=0.2))
    gen, net, bids, asks, sigma = _profile(1, 5, 5, False)
    np.testing.assert_array_equal(
        part(net, bids, asks, sigma).buyer_payments, KDA(0.2)(net, bids, asks, sigma).buyer_payments
    )


class _PostedPrice(M.PhaseOneMechanism):
    """A test mechanism: every phase-1 pair with B ≥ p ≥ A trades at the posted price p."""

    name = "posted_test"
    label = "posted price"
    truthful = True
    budget_balanced = True
    individually_rational = True

    def __call__(self, network, bids, asks, sigma):
        on = np.flatnonzero(sigma >= 0)
        ok = on[(bids[on, sigma[on]] >= 1.0) & (asks[sigma[on]] <= 1.0)]
        return RelayOutcome.from_trades(sigma, network.m, ok, 1.0, 1.0, self.name)

    def scalar_responses(self, network, bids, asks, sigma, role, index, x, cache=None):
        return RelayMechanism.responses(
            self,
            network,
            bids,
            asks,
            sigma,
            role,
            index,
            [self.buyer_report(network, sigma, index, bids[index], v) for v in x] if role == "buyer" else x,
        )


def test_a_user_mechanism_class_runs_in_the_mesa_model_and_round():
    from auctionlab.models.relay import RelayMarket

    MECHANISMS.register(_PostedPrice.name, _PostedPrice)
    try:
        model = RelayMarket(
            n=6, m=7, mechanism="posted_test", rng=3, population={"seller": {"strategy": "best_response"}}
        )
        model.step()
        out = model.outcome
        assert out.rule == "posted_test" and np.all(out.buyer_payments[out.buyer_wins] == 1.0)
        rnd = model.counterfactual_round()
        assert isinstance(rnd.mechanism, _PostedPrice)
        j = int(np.flatnonzero(model.sigma >= 0)[0])
        u = rnd.utilities_if("buyer", j, np.vstack([model.values[j] * t for t in (0.5, 1.0, 2.0)]))
        assert u.tolist() == [rnd.utility_if("buyer", j, model.values[j] * t) for t in (0.5, 1.0, 2.0)]
    finally:
        del MECHANISMS[_PostedPrice.name]
