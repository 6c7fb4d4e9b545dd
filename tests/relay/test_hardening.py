"""Bad input to the relay API: the project's error type, a message naming the value, and the
caller's objects left as they were."""

from __future__ import annotations

import copy
import dataclasses

import numpy as np
import pytest

from auctionlab.errors import (
    ConfigError,
    InvalidAssignmentError,
    InvalidInputError,
    InvalidReportError,
    NetworkError,
    ShapeError,
)
from auctionlab.mechanisms.relay.baselines import k_double_auction, mcafee, vcg_double_auction
from auctionlab.mechanisms.relay.mechanisms import KDA, VCG, McAfee, RelayRound, check_seller_report
from auctionlab.mechanisms.relay.network import MAX_PAIRS, RelayNetwork, random_network
from auctionlab.mechanisms.relay.outcome import RelayOutcome, efficiency
from auctionlab.mechanisms.relay.tasc import assign, clear, tasc, trade_reduction
from auctionlab.mechanisms.relay.valuations import capacity_valuations, uniform_valuations
from auctionlab.strategies.relay import DropRelays


def snapshot(*objs):
    return [copy.deepcopy(o) for o in objs]


def same(a, b) -> bool:
    if isinstance(a, np.ndarray):
        return isinstance(b, np.ndarray) and a.dtype == b.dtype and np.array_equal(a, b, equal_nan=a.dtype.kind in "fc")
    if dataclasses.is_dataclass(a) and not isinstance(a, type):
        return type(a) is type(b) and all(same(getattr(a, f.name), getattr(b, f.name)) for f in dataclasses.fields(a))
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return a == b or (a != a and b != b)


def raises_unchanged(err, words, fn, *args, **kwargs):
    """``fn(*args, **kwargs)`` raises ``err`` with ``words`` in its message and changes no argument."""
    before = snapshot(args, kwargs)
    with pytest.raises(err, match=words) as info:
        fn(*args, **kwargs)
    assert isinstance(info.value, InvalidInputError)
    assert same(before[0], args) and all(same(before[1][k], kwargs[k]) for k in kwargs)
    return info.value


@pytest.fixture(scope="module")
def inst():
    net = random_network(6, 8, rng=3)
    v, c = uniform_valuations(net, rng=4)
    v.flags.writeable = c.flags.writeable = True
    return net, v, c


# ------------------------------------------------------------------ seeds and sizes
@pytest.mark.parametrize(
    "rng, words",
    [
        ("abc", "rng .*'abc'"),
        (1.5, "rng .*1.5"),
        (-1, "rng seed .*-1"),
        (True, "rng .*True"),
        ([1, 2], r"rng .*\[1, 2\]"),
    ],
)
@pytest.mark.parametrize("who", ["random_network", "uniform_valuations", "capacity_valuations"])
def test_bad_rng_is_named(rng, words, who):
    if who == "random_network":
        raises_unchanged(ConfigError, words, random_network, 4, 5, rng=rng)
    else:
        net = random_network(4, 5, rng=0)
        fn = uniform_valuations if who == "uniform_valuations" else capacity_valuations
        raises_unchanged(ConfigError, words, fn, net, rng=rng)


def test_seeds_and_generators_still_accepted():
    a = random_network(5, 6, rng=np.int64(7))
    b = random_network(5, 6, rng=np.random.default_rng(7))
    c = random_network(5, 6, rng=np.random.SeedSequence(7))
    assert np.array_equal(a.relayed, b.relayed) and np.array_equal(a.relayed, c.relayed)


@pytest.mark.parametrize("n, m", [(10**6, 10**6), (MAX_PAIRS + 1, 1), (2**63, 2)])
def test_network_size_limit_is_in_the_message(n, m):
    raises_unchanged(ConfigError, f"size limit of {MAX_PAIRS}", random_network, n, m, rng=0)


def test_positions_size_limit():
    pts = np.zeros((MAX_PAIRS // 10 + 1, 2))
    raises_unchanged(
        ConfigError, f"size limit of {MAX_PAIRS}", RelayNetwork.from_positions, pts, pts + 1, np.ones((11, 2)) * 5
    )


# ------------------------------------------------------------------ networks
@pytest.mark.parametrize(
    "kwargs, words",
    [
        (dict(noise=1e-320), r"noise=1e-320.*infinite capacities"),
        (dict(power=1e308), r"power=1e\+308.*infinite capacities"),
        (dict(bandwidth=1e308, noise=1e-20), r"bandwidth=1e\+308.*not finite"),
        (dict(area=1e300), "distances overflow"),
        (dict(area=10**400), r"area = 10000.*\(401 digits\) is too large"),
        (dict(power=2**1100), "power = .* too large"),
        (dict(noise=1j), r"noise must be a real number, got 1j"),
        (dict(mode=["DF"]), r"mode must be one of .*\['DF'\]"),
    ],
)
def test_network_parameters_that_overflow(kwargs, words):
    err = NetworkError if "infinite" in words or "finite" in words or "overflow" in words else ConfigError
    raises_unchanged(err, words, random_network, 5, 5, rng=0, **kwargs)


@pytest.mark.parametrize(
    "kwargs, err, words",
    [
        (dict(direct=[1.0, 2.0], relayed=np.ones((3, 3))), ShapeError, r"relayed must have shape \(2, any\)"),
        (dict(direct="x", relayed=[[1.0]]), NetworkError, "direct must be real numbers.*'x'"),
        (dict(direct=[np.nan], relayed=[[1.0]]), NetworkError, r"direct\[0\] = nan"),
        (dict(direct=[1.0], relayed=[[-2.0]]), NetworkError, r"relayed\[\(0, 0\)\] = -2.0"),
        (dict(direct=[1j], relayed=[[1.0]]), NetworkError, r"direct\[0\] = 1j"),
        (dict(direct=np.ones(2), relayed=np.ones((2, 0))), NetworkError, "m >= 1"),
        (dict(direct=[1.0], relayed=[[2.0]], sources=[[0, 0, 0]]), ShapeError, r"sources must have shape \(1, 2\)"),
        (dict(direct=[1.0], relayed=[[2.0]], mode=3), ConfigError, "mode must be a string, got 3"),
    ],
)
def test_network_built_directly_is_checked(kwargs, err, words):
    raises_unchanged(err, words, RelayNetwork, **kwargs)


def test_network_built_directly_leaves_callers_arrays_alone():
    d, r = np.array([1.0, 2.0]), np.array([[3.0, 0.5], [1.0, 4.0]])
    net = RelayNetwork(direct=d, relayed=r)
    assert d.flags.writeable and r.flags.writeable and net.direct is not d
    d[0] = 99.0  # the network has its own copy
    assert net.direct[0] == 1.0 and not net.direct.flags.writeable
    assert net.useful.tolist() == [[True, False], [False, True]]


# ------------------------------------------------------------------ valuations
@pytest.mark.parametrize(
    "cost_range, words",
    [
        ("ab", "cost_range must be a pair .*'ab'"),
        (None, "cost_range .*None"),
        ((0, 1, 2), r"cost_range .*\(0, 1, 2\)"),
        ((1, 0), r"lo < hi, got \(1, 0\)"),
        ((0, np.nan), "cost_range must be a finite number, got nan"),
        ((0, 10**400), r"\(401 digits\)"),
        ((True, 2), r"\(True, 2\)"),
        ((0, 1j), r"\(0, 1j\)"),
    ],
)
@pytest.mark.parametrize("fn", [uniform_valuations, capacity_valuations])
def test_bad_cost_range(fn, cost_range, words):
    net = random_network(3, 4, rng=0)
    raises_unchanged(ConfigError, words, fn, net, rng=0, cost_range=cost_range)


@pytest.mark.parametrize(
    "vmax, words",
    [(10**400, "vmax = .*too large"), (True, "vmax .*True"), (1j, "vmax .*1j"), (-1.0, "vmax must be > 0")],
)
def test_bad_vmax(vmax, words):
    raises_unchanged(ConfigError, words, uniform_valuations, random_network(3, 4, rng=0), rng=0, vmax=vmax)


# ------------------------------------------------------------------ reports
@pytest.mark.parametrize("fn", [clear, trade_reduction])
def test_complex_and_string_bids_rejected_by_phase2(fn, inst):
    net, v, c = inst
    sigma = assign(net)
    raises_unchanged(
        InvalidReportError,
        r"bids must be real numbers.*complex.*bids\[\(0, 1\)\] = \(1\+2j\)",
        fn,
        np.where(np.arange(8) == 1, 1 + 2j, v + 0j),
        c,
        sigma,
    )
    raises_unchanged(
        InvalidReportError, r"asks must be real numbers.*strings: asks\[0\] = '0\.", fn, v, c.astype(str), sigma
    )
    raises_unchanged(InvalidReportError, r"bids must be real numbers.*booleans", fn, v > 1, c, sigma)
    raises_unchanged(
        InvalidReportError,
        r"bids\[\(0, 0\)\] = 10000.* not a real number",
        fn,
        [[10**400] + [0] * 7] + v[1:].tolist(),
        c,
        sigma,
    )


def test_complex_bids_rejected_by_tasc_and_mechanisms(inst):
    net, v, c = inst
    raises_unchanged(InvalidReportError, "complex numbers", tasc, net, v + 1j, c)
    sigma = assign(net)
    for mech in (KDA(), VCG(), McAfee()):
        raises_unchanged(InvalidReportError, "complex numbers", mech, net, v, c + 1j, sigma)
    raises_unchanged(InvalidReportError, "complex numbers", RelayRound.from_instance, net, v, c, bids=v + 1j)
    with pytest.raises(InvalidReportError, match=r"ask must be a number, got np.complex128\(1\+2j\)"):
        check_seller_report(np.complex128(1 + 2j), "ask")
    with pytest.raises(InvalidReportError, match="ask must be a number, got '0.5'"):
        check_seller_report("0.5", "ask")


def test_unhashable_algorithm_and_rule(inst):
    net, v, c = inst
    raises_unchanged(ConfigError, r"algorithm must be .* got \['mwm'\]", tasc, net, v, c, ["mwm"])
    raises_unchanged(ConfigError, r"unknown rule \['tasc'\]", tasc, net, v, c, rule=["tasc"])
    raises_unchanged(ConfigError, r"algorithm must be .* got \{'a': 1\}", assign, net, {"a": 1})


def test_mcafee_wrong_shape_and_string_bids(inst):
    net, v, c = inst
    mech, sigma = McAfee(), assign(net)
    raises_unchanged(ShapeError, r"bids must have shape \(6, 8\), got \(5, 8\)", mech, net, v[:5], c, sigma)
    raises_unchanged(ShapeError, r"asks must have shape \(8,\), got \(7,\)", mech, net, v, c[:7], sigma)
    raises_unchanged(InvalidReportError, "bids must be .*strings", mech, net, v.astype(str), c, sigma)
    raises_unchanged(InvalidReportError, "bids must be .*strings", mcafee, ["1.0", "2.0"], [0.5])
    raises_unchanged(InvalidReportError, r"asks\[1\] = 2j", mcafee, [1.0, 2.0], [0.5, 2j])


@pytest.mark.parametrize("k", [True, False, np.bool_(True), 1j, float("nan"), "0.5", 1.5])
def test_kda_k_must_be_a_real_number(k, inst):
    net, v, c = inst
    raises_unchanged(ConfigError, "k must be a number in", k_double_auction, v, c, assign(net), k=k)
    with pytest.raises(ConfigError, match="kda_k must be a number in"):
        KDA(k=k)


def test_vcg_overflow_is_named_not_nan():
    bids = np.array([[1.7e308, 1.7e308], [1.7e308, 1.7e308]])
    asks = np.zeros(2)
    raises_unchanged(
        InvalidReportError, r"VCG welfare overflows to inf \(largest bid 1.7e\+308", vcg_double_auction, bids, asks
    )
    net = RelayNetwork.from_capacities([1.0, 1.0], [[2.0, 2.0], [2.0, 2.0]])
    with pytest.raises(InvalidReportError, match="overflows"):
        VCG().responses(net, bids, asks, np.array([0, 1]), "buyer", 0, bids[:1])
    # large but representable reports still clear, with finite payments
    out = vcg_double_auction(bids / 4, asks)
    assert np.isfinite(out.buyer_payments).all() and np.isfinite(out.seller_payments).all()


def test_huge_and_unsigned_sigma_named(inst):
    net, v, c = inst
    raises_unchanged(
        InvalidAssignmentError,
        r"sigma\[1\] = 18446744073709551615 points outside",
        clear,
        v,
        c,
        np.array([0, 2**64 - 1, 2, 3, 4, 5], dtype=np.uint64),
    )
    raises_unchanged(InvalidAssignmentError, "integer", clear, v, c, np.array([True, False] * 3))


# ------------------------------------------------------------------ outcomes and strategies
def test_efficiency_with_another_networks_outcome(inst):
    net, v, c = inst
    other = random_network(4, 8, rng=9)
    out = tasc(other, *uniform_valuations(other, rng=1))
    raises_unchanged(
        ShapeError, "outcome is for n=4 sources and m=8 relays, but the network has n=6", efficiency, net, out
    )
    raises_unchanged(ConfigError, "outcome must be a RelayOutcome, got dict", efficiency, net, {})
    raises_unchanged(ConfigError, "network must be a RelayNetwork, got str", efficiency, "net", out)


@pytest.mark.parametrize("relays", [[1.5], [True], ["a"], [2**64 - 1], [[0.0, 2.5]]])
def test_drop_relays_needs_integer_indices(relays):
    raises_unchanged(
        ConfigError,
        r"relays must be integer indices, got "
        + repr(relays).replace("[", r"\[").replace("]", r"\]").replace(".", r"\."),
        DropRelays,
        relays=relays,
    )


def test_drop_relays_accepts_integers():
    assert DropRelays(relays=[3, 1, 3]).relays.tolist() == [1, 3]
    assert DropRelays(relays=np.array([2], dtype=np.uint8)).relays.tolist() == [2]


def test_fast_outcome_has_every_field(inst):
    net = random_network(30, 40, rng=1)
    out = tasc(net, *uniform_valuations(net, rng=2))
    assert out.k >= 2  # the instance trades, so the fast constructor was used
    assert set(vars(out)) == {f.name for f in dataclasses.fields(RelayOutcome)}
