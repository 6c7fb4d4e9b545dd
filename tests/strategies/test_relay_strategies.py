import numpy as np
import pytest

from auctionlab.errors import ConfigError
from auctionlab.mechanisms.relay.tasc import clear, trade_reduction
from auctionlab.strategies import (
    BestResponse,
    DropRelays,
    Noise,
    Observation,
    OthersOnly,
    OwnRelayOnly,
    Scale,
    Shift,
    make_strategy,
)

from .instances import BUYER_CASE, SELLER_CASE, pinned_instance

V = np.array([2.0, 0.0, 1.0, 3.0])
BUYER = Observation(0, "buyer", 0, info={"assigned": 2})
SELLER = Observation(0, "seller", 0)


def test_scale_shades_and_inflates_both_roles():
    np.testing.assert_allclose(Scale(0.5).report(V, BUYER), [1.0, 0.0, 0.5, 1.5])
    assert Scale(1.5).report(0.4, SELLER) == pytest.approx(0.6)
    assert isinstance(Scale(1.5).report(0.4, SELLER), float)


def test_shift_clips_at_zero_and_leaves_zero_entries():
    np.testing.assert_allclose(Shift(-1.5).report(V, BUYER), [0.5, 0.0, 0.0, 1.5])
    np.testing.assert_allclose(Shift(0.5).report(V, BUYER), [2.5, 0.0, 1.5, 3.5])
    assert Shift(-1.0).report(0.4, SELLER) == 0.0
    assert Shift(0.25).report(0.5, SELLER) == 0.75


def test_noise_modes_are_non_negative_and_documented():
    gen = np.random.default_rng(11)
    z = gen.standard_normal(4)
    mult = Noise(0.3, rng=11).report(V, BUYER)
    np.testing.assert_allclose(mult, V * np.exp(0.3 * z))
    add = Noise(5.0, mode="additive", rng=11).report(V, BUYER)
    np.testing.assert_allclose(add, np.where(V > 0, np.maximum(V + 5.0 * z, 0.0), 0.0))
    many = [Noise(3.0, mode="additive", rng=s).report(0.2, SELLER) for s in range(50)]
    assert min(many) == 0.0 and max(many) > 0.2  # clipped, not shifted
    with pytest.raises(ConfigError):
        Noise(0.1, mode="both")


def test_drop_relays_modes():
    np.testing.assert_allclose(DropRelays(relays=[0, 3, 99]).report(V, BUYER), [0.0, 0.0, 1.0, 0.0])
    np.testing.assert_allclose(DropRelays(keep_top=2).report(V, BUYER), [2.0, 0.0, 0.0, 3.0])
    np.testing.assert_allclose(DropRelays(keep_top=0).report(V, BUYER), np.zeros(4))
    r = DropRelays(fraction=2 / 3, rng=0).report(V, BUYER)  # 2 of the 3 positive entries
    assert np.count_nonzero(r) == 1 and r[1] == 0.0 and set(r[r > 0]) <= {1.0, 2.0, 3.0}
    with pytest.raises(ConfigError):
        DropRelays(relays=[1], keep_top=1)
    with pytest.raises(ConfigError):
        DropRelays(fraction=1.5)
    with pytest.raises(ConfigError, match="buyers only"):
        DropRelays(keep_top=1).report(0.5, SELLER)


def test_own_relay_only_and_others_only_split_the_vector():
    np.testing.assert_allclose(OwnRelayOnly(base=Scale(0.5)).report(V, BUYER), [2.0, 0.0, 0.5, 3.0])
    np.testing.assert_allclose(OthersOnly(base=Scale(0.5)).report(V, BUYER), [1.0, 0.0, 1.0, 1.5])
    unassigned = Observation(0, "buyer", 0, info={"assigned": -1})
    np.testing.assert_allclose(OwnRelayOnly(base=Scale(0.5)).report(V, unassigned), V)
    np.testing.assert_allclose(OthersOnly(base=Scale(0.5)).report(V, unassigned), V * 0.5)


@pytest.mark.parametrize(
    "name, params",
    [
        ("scale", {"theta": -0.1}),
        ("scale", {"theta": float("inf")}),
        ("shift", {"delta": float("nan")}),
        ("noise", {"sigma": float("nan")}),
        ("noise", {"sigma": -1}),
        ("drop_relays", {"keep_top": -1}),
        ("best_response", {"thetas": []}),
        ("best_response", {"thetas": [0.5, -1]}),
        ("scale", {"theta": "x"}),
    ],
)
def test_bad_parameters_raise_config_errors(name, params):
    with pytest.raises(ConfigError):
        make_strategy(name, **params)


# ------------------------------------------------------------------ best response, scripted oracle
def test_best_response_plays_the_argmax_of_a_scripted_oracle():
    # utility peaks when the ask is 0.7 (a candidate level) — BR must find it exactly
    br = BestResponse()
    obs = Observation(0, "seller", 1, oracle=lambda a: 1.0 - abs(a - 0.7), info={"candidates": np.array([0.7])})
    assert br.report(0.2, obs) == pytest.approx(0.7)
    assert br.last_gain == pytest.approx(0.5)


def test_best_response_keeps_the_truth_without_strict_gain():
    br = BestResponse()
    obs = Observation(0, "buyer", 0, oracle=lambda r: 1.0, info={"assigned": 2})
    np.testing.assert_array_equal(br.report(V, obs), V)
    assert br.last_gain == 0.0
    with pytest.raises(ConfigError, match="oracle"):
        br.report(V, Observation(0, "buyer", 0))


def _mechanism_oracle(rule, values, costs, sigma, role, idx):
    """The oracle a market would hand out, written against the mechanism directly."""

    def utility_if(report):
        bids, asks = values.copy(), costs.copy()
        if role == "buyer":
            bids[idx] = report
        else:
            asks[idx] = report
        out = rule(bids, asks, sigma)
        ub, us = out.utilities(values, costs)
        return float(ub[idx] if role == "buyer" else us[idx])

    return utility_if


@pytest.mark.parametrize("rule, buyer_gain, seller_gain", [(clear, 2.3, 0.8), (trade_reduction, 0.0, 0.0)])
def test_best_response_finds_the_spec_a4_prime_gains(rule, buyer_gain, seller_gain):
    net, values, costs = pinned_instance(**BUYER_CASE)
    sigma = np.array(BUYER_CASE["sigma"])
    cands = np.unique(np.concatenate([values[np.arange(5), sigma], costs]))
    obs = Observation(
        0, "buyer", 0, _mechanism_oracle(rule, values, costs, sigma, "buyer", 0), {"assigned": 3, "candidates": cands}
    )
    br = BestResponse()
    rep = br.report(values[0], obs)
    assert br.last_gain == pytest.approx(buyer_gain)
    if buyer_gain:
        assert br.last_utility == pytest.approx(2.3)
        assert rep[3] < 2.9  # it shades the bid on its own relay

    net, values, costs = pinned_instance(**SELLER_CASE)
    sigma = np.array(SELLER_CASE["sigma"])
    on = sigma >= 0
    cands = np.unique(np.concatenate([values[np.flatnonzero(on), sigma[on]], costs]))
    obs = Observation(0, "seller", 1, _mechanism_oracle(rule, values, costs, sigma, "seller", 1), {"candidates": cands})
    br = BestResponse()
    rep = br.report(costs[1], obs)
    assert br.last_gain == pytest.approx(seller_gain)
    if seller_gain:  # truthful utility 1.0, deviating 1.8
        assert br.last_utility == pytest.approx(1.8)
        assert rep > costs[1]


# ------------------------------------------------------------------ batch reports
BATCH_CASES = [
    Scale(0.7),
    Scale(1.3, base=Shift(-0.2)),
    Shift(-0.5),
    Shift(0.3),
    Noise(0.4),
    Noise(0.5, mode="additive"),
    Noise(0.2, base=Noise(0.3)),
    DropRelays(keep_top=2),
    DropRelays(relays=[1, 4, 9]),
    DropRelays(fraction=0.5),
    OwnRelayOnly(),
    OthersOnly(Scale(0.5)),
    OwnRelayOnly(base=Noise(0.3)),
    Scale(0.8, base=OthersOnly(Shift(0.4))),
]


def _buyer_batch(k=7, m=6, seed=3):
    gen = np.random.default_rng(seed)
    types = np.where(gen.random((k, m)) < 0.6, gen.uniform(0.1, 4.0, (k, m)), 0.0)
    obs = [Observation(1, "buyer", i, info={"assigned": int(a)}) for i, a in enumerate(gen.integers(-1, m, k))]
    return types, obs


@pytest.mark.parametrize("proto", BATCH_CASES, ids=lambda s: s.label)
def test_report_many_equals_one_report_per_agent_bit_for_bit(proto):
    """Each member draws from its own stream: the same numbers as k report() calls, in
    any order, for buyers and (where the strategy applies) sellers."""
    types, obs = _buyer_batch()
    assert proto.batch_key() is not None
    for seeds in ((5, 6, 7, 8, 9, 10, 11), (2,) * 7):
        loop = [proto.clone() for _ in seeds]
        batch = [proto.clone() for _ in seeds]
        for s, t, u in zip(seeds, loop, batch):
            t.seed(s)
            u.seed(s)
        for _ in range(3):  # streams advance alike round after round
            expect = np.array([s.report(t, o) for s, t, o in zip(loop, types, obs)])
            got = batch[0].report_many(types, obs, batch)
            assert isinstance(got, np.ndarray) and got.shape == types.shape
            np.testing.assert_array_equal(got, expect)
            assert all(t.batch_key() == batch[0].batch_key() for t in batch)
    if proto.flag("role") == "any":
        costs = np.array([0.1, 0.5, 0.0, 0.9])
        sobs = [Observation(1, "seller", j) for j in range(4)]
        loop = [proto.clone() for _ in range(4)]
        batch = [proto.clone() for _ in range(4)]
        for j, (t, u) in enumerate(zip(loop, batch)):
            t.seed(40 + j)
            u.seed(40 + j)
        expect = np.array([s.report(float(c), o) for s, c, o in zip(loop, costs, sobs)])
        np.testing.assert_array_equal(batch[0].report_many(costs, sobs, batch), expect)


def test_report_many_without_members_is_the_instances_own_reports_in_order():
    types, obs = _buyer_batch(k=4)
    a, b = Noise(0.3, rng=9), Noise(0.3, rng=9)
    np.testing.assert_array_equal(a.report_many(types, obs), [b.report(t, o) for t, o in zip(types, obs)])
    np.testing.assert_array_equal(
        Shift(-0.5).report_many(types, obs), [Shift(-0.5).report(t, o) for t, o in zip(types, obs)]
    )


def test_batch_keys_group_equal_parameters_only():
    assert Scale(0.8).batch_key() == Scale(0.8).batch_key() != Scale(0.9).batch_key()
    assert Scale(0.8).batch_key() != Shift(0.8).batch_key()
    assert Noise(0.1).batch_key() != Noise(0.1, mode="additive").batch_key()
    assert OwnRelayOnly().batch_key() != OthersOnly().batch_key()
    assert DropRelays(relays=[1, 2]).batch_key() == DropRelays(relays=[2, 1]).batch_key()
    assert BestResponse().batch_key() is None  # needs an oracle: never batched
    assert Scale(0.8, base=BestResponse()).batch_key() is None


def test_bad_batch_input_names_the_strategy():
    with pytest.raises(ConfigError, match="drop_relays applies to buyers only"):
        DropRelays(keep_top=1).report_many(np.array([0.1, 0.2]), [SELLER, SELLER])
    with pytest.raises(ConfigError, match="own_relay_only applies to buyers only"):
        OwnRelayOnly().report_many(np.array([0.1, 0.2]), [SELLER, SELLER])
