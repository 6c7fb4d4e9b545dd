import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from auctionlab.errors import ConfigError, InvalidAssignmentError, InvalidReportError, ShapeError, UnknownNameError
from auctionlab.mechanisms.relay.network import RelayNetwork, random_network
from auctionlab.mechanisms.relay.tasc import clear, tasc, trade_reduction
from auctionlab.mechanisms.relay.valuations import uniform_valuations

from .brute import literal_algorithm2

# ------------------------------------------------------------------ the paper's worked example (§5.3)
# 5 buyers s1..s5 (rows), 7 sellers r1..r7 (columns); the capacity matrix is the bid matrix.
# Every row's maximum sits in a different column, so MWM's assignment is unique:
# s1->r1, s2->r7, s3->r5, s4->r4, s5->r6.
A5_BIDS = np.array(
    [
        #  r1  r2  r3  r4  r5  r6  r7
        [12.0, 3, 0, 5, 0, 2, 0],  # s1
        [0.0, 2, 4, 0, 1, 0, 8],  # s2
        [2.0, 0, 0, 3, 6, 0, 1],  # s3
        [4.0, 0, 2, 11, 0, 3, 0],  # s4
        [0.0, 1, 0, 0, 2, 10, 3],  # s5
    ]
)
A5_ASKS = np.array([3.0, 1, 6, 5, 4, 2, 7])  # r1..r7


def test_spec_a5_worked_example():
    net = RelayNetwork.from_capacities(np.zeros(5), A5_BIDS)
    out = tasc(net, A5_BIDS, A5_ASKS, algorithm="mwm")
    s = lambda i: i - 1  # noqa: E731  paper's 1-based names -> indices
    assert out.sigma.tolist() == [s(1), s(7), s(5), s(4), s(6)]
    buyers, sellers = out.ranking
    assert buyers.tolist() == [s(1), s(4), s(5), s(2), s(3)]
    assert sellers.tolist() == [s(6), s(1), s(5), s(4), s(7)]
    assert out.k == 4
    assert out.boundary_candidates == ((s(3), s(4)), (s(2), s(7)))
    assert out.boundary == (s(2), s(7))
    assert np.flatnonzero(out.buyer_wins).tolist() == [s(1), s(4), s(5)]
    assert np.flatnonzero(out.seller_wins).tolist() == [s(1), s(4), s(6)]
    assert out.buyer_price == 8 and out.seller_price == 7 and out.profit == 3
    assert out.buyer_payments.tolist() == [8, 0, 0, 8, 8]
    assert out.seller_payments.tolist() == [7, 0, 0, 7, 0, 7, 0]
    ub, us = out.utilities(A5_BIDS, A5_ASKS)
    assert ub.tolist() == [4, 0, 0, 3, 2] and us.tolist() == [4, 0, 0, 2, 0, 5, 0]


# ------------------------------------------------------------------ Algorithm 2 as written is manipulable
def _bids(sigma, own, n=5, m=5):
    b = np.zeros((n, m))
    on = np.flatnonzero(sigma >= 0)
    b[on, sigma[on]] = own
    return b


BUYER_SIGMA = np.array([3, 4, 0, 1, 2])
BUYER_OWN = [2.9, 3.3, 0.2, 3.3, 0.6]
BUYER_ASKS = np.array([0.5, 1.2, 1.9, 0.1, 2.9])
SELLER_SIGMA = np.array([-1, 2, 1, 3, 0])
SELLER_OWN = [3.1, 3.0, 2.6, 1.7]
SELLER_ASKS = np.array([1.1, 0.1, 1.9, 0.7])


def test_spec_a4_prime_buyer_gains_under_tasc_only():
    truth = _bids(BUYER_SIGMA, BUYER_OWN)
    lie = truth.copy()
    lie[0, 3] = 0.6
    honest = clear(truth, BUYER_ASKS, BUYER_SIGMA)
    assert honest.boundary[0] == 0 and not honest.buyer_wins[0]
    assert honest.utilities(truth, BUYER_ASKS)[0][0] == 0
    dev = clear(lie, BUYER_ASKS, BUYER_SIGMA)
    assert dev.buyer_wins[0] and dev.buyer_payments[0] == pytest.approx(0.6)
    assert dev.utilities(truth, BUYER_ASKS)[0][0] == pytest.approx(2.3)
    tr_truth = trade_reduction(truth, BUYER_ASKS, BUYER_SIGMA).utilities(truth, BUYER_ASKS)[0][0]
    tr_lie = trade_reduction(lie, BUYER_ASKS, BUYER_SIGMA).utilities(truth, BUYER_ASKS)[0][0]
    assert tr_lie <= tr_truth + 1e-12


def test_spec_a4_prime_seller_gains_under_tasc_only():
    bids = _bids(SELLER_SIGMA, SELLER_OWN, n=5, m=4)
    honest = clear(bids, SELLER_ASKS, SELLER_SIGMA)
    assert honest.utilities(bids, SELLER_ASKS)[1][1] == pytest.approx(1.0)
    lie = SELLER_ASKS.copy()
    lie[1] = 1.7
    assert clear(bids, lie, SELLER_SIGMA).utilities(bids, SELLER_ASKS)[1][1] == pytest.approx(1.8)
    tr = lambda asks: trade_reduction(bids, asks, SELLER_SIGMA).utilities(bids, SELLER_ASKS)[1][1]  # noqa: E731
    assert tr(lie) <= tr(SELLER_ASKS) + 1e-12


# ------------------------------------------------------------------ random instances
@st.composite
def instances(draw, max_n=6, max_m=6):
    n = draw(st.integers(1, max_n))
    m = draw(st.integers(1, max_m))
    seed = draw(st.integers(0, 2**32 - 1))
    gen = np.random.default_rng(seed)
    net = random_network(n, m, rng=gen, area=draw(st.sampled_from([200.0, 400.0, 1000.0])))
    # coarse values create the ties that break careless implementations
    coarse = draw(st.booleans())
    values, costs = uniform_valuations(net, rng=gen, vmax=4.0)
    if coarse:
        values, costs = np.ceil(values * 2) / 2 * net.useful, np.ceil(costs * 4) / 4
    return net, values, costs


def deviations(truth: np.ndarray, others: np.ndarray):
    """A rich set of misreports of one vector: scale, shift, zero, single components set to
    critical values (everybody else's reports and their neighbours)."""
    crit = np.unique(np.concatenate([others.ravel(), truth.ravel(), [0.0]]))
    crit = np.unique(np.concatenate([crit, crit + 1e-7, np.maximum(crit - 1e-7, 0), crit * 1.5 + 0.3]))
    yield truth * 0.0
    for th in (0.25, 0.5, 0.9, 0.999, 1.001, 1.1, 2.0, 10.0):
        yield truth * th
    for d in (-0.5, -0.1, 0.1, 0.5, 2.0):
        yield np.maximum(truth + d, 0.0)
    for c in range(truth.size):
        for v in crit:
            dev = truth.copy()
            dev.flat[c] = v
            yield dev


@pytest.mark.parametrize("rule", ["tasc", "trade_reduction"])
@pytest.mark.parametrize("algorithm", ["mwm", "mm", "ora"])
@given(inst=instances(max_n=8, max_m=8))
def test_individual_rationality_and_budget_balance(inst, rule, algorithm):
    net, values, costs = inst
    out = tasc(net, values, costs, algorithm, rule=rule)
    ub, us = out.utilities(values, costs)
    assert (ub >= -1e-12).all() and (us >= -1e-12).all()
    assert out.profit == pytest.approx(out.buyer_payments.sum() - out.seller_payments.sum())
    assert out.profit >= -1e-12
    # winners trade with their own assigned relay and only with each other
    assert set(out.sigma[out.buyer_wins].tolist()) == set(np.flatnonzero(out.seller_wins).tolist())
    if out.boundary is not None:
        b, s = out.boundary
        assert not out.buyer_wins[b] and not out.seller_wins[s]


@pytest.mark.parametrize("rule", ["tasc", "trade_reduction"])
@given(inst=instances(max_n=10, max_m=10))
def test_matches_literal_reimplementation(inst, rule):
    net, values, costs = inst
    out = tasc(net, values, costs, "mwm", rule=rule)
    ref = literal_algorithm2(values, costs, out.sigma, reduction=rule == "trade_reduction")
    if ref is None:
        assert out.n_trades == 0 and out.profit == 0
    else:
        buyers, sellers, pb, ps = ref
        assert np.flatnonzero(out.buyer_wins).tolist() == buyers
        assert np.flatnonzero(out.seller_wins).tolist() == sellers
        if buyers:
            assert out.buyer_price == pb and out.seller_price == ps


@pytest.mark.parametrize("algorithm", ["mwm", "mm", "ora"])
@given(inst=instances(max_n=5, max_m=5))
def test_trade_reduction_is_truthful(inst, algorithm):
    net, values, costs = inst
    base = tasc(net, values, costs, algorithm, rule="trade_reduction")
    ub, us = base.utilities(values, costs)
    for i in range(net.n):
        for dev in deviations(values[i], np.concatenate([values.ravel(), costs])):
            bids = values.copy()
            bids[i] = dev
            got = tasc(net, bids, costs, algorithm, rule="trade_reduction").utilities(values, costs)[0][i]
            assert got <= ub[i] + 1e-9, (i, dev)
    for j in range(net.m):
        for dev in deviations(costs[j : j + 1], np.concatenate([values.ravel(), costs])):
            asks = costs.copy()
            asks[j] = dev[0]
            got = tasc(net, values, asks, algorithm, rule="trade_reduction").utilities(values, costs)[1][j]
            assert got <= us[j] + 1e-9, (j, dev)


def test_tasc_as_written_is_manipulable_on_random_instances():
    """The flaw is not confined to the two hand-made instances: a search finds gains."""
    gains = 0
    for seed in range(300):
        gen = np.random.default_rng(seed)
        n = m = 5
        sigma = gen.permutation(m)[:n]
        own = np.round(gen.uniform(0, 4, n), 1)
        asks = np.round(gen.uniform(0, 3, m), 1)
        bids = _bids(sigma, own)
        base = clear(bids, asks, sigma).utilities(bids, asks)[0]
        for i in range(n):
            for v in np.arange(0, 4.01, 0.1):
                lie = bids.copy()
                lie[i, sigma[i]] = v
                if clear(lie, asks, sigma).utilities(bids, asks)[0][i] > base[i] + 1e-9:
                    gains += 1
                    break
    assert gains > 0


def test_no_trade_when_k_below_two():
    bids = np.array([[5.0, 0], [0, 1.0]])
    out = clear(bids, [1.0, 3.0], np.array([0, 1]))
    assert out.k == 1 and out.n_trades == 0 and out.profit == 0 and out.boundary is None
    out = clear(bids, [1.0, 3.0], np.array([-1, -1]))
    assert out.k == 0 and out.n_trades == 0


# ------------------------------------------------------------------ bad input
GOOD_BIDS = np.array([[2.0, 1.0], [1.0, 3.0]])
GOOD_ASKS = np.array([0.5, 0.5])
GOOD_SIGMA = np.array([0, 1])


@pytest.mark.parametrize("fn", [clear, trade_reduction])
@pytest.mark.parametrize(
    "bids, asks, sigma, err, words",
    [
        ([[np.nan, 1.0], [1.0, 3.0]], GOOD_ASKS, GOOD_SIGMA, InvalidReportError, r"bids\[\(0, 0\)\] = nan"),
        ([[2.0, np.inf], [1.0, 3.0]], GOOD_ASKS, GOOD_SIGMA, InvalidReportError, r"bids\[\(0, 1\)\] = inf"),
        (GOOD_BIDS, [0.5, -1.0], GOOD_SIGMA, InvalidReportError, r"asks\[1\] = -1.0"),
        (GOOD_BIDS, [0.5, 0.5, 0.5], GOOD_SIGMA, ShapeError, r"asks must have shape \(2,\)"),
        ([2.0, 1.0], GOOD_ASKS, GOOD_SIGMA, ShapeError, "bids must have shape"),
        (GOOD_BIDS, GOOD_ASKS, [0, 0], InvalidAssignmentError, "relay 0 is assigned to buyers"),
        (GOOD_BIDS, GOOD_ASKS, [0, 2], InvalidAssignmentError, r"sigma\[1\] = 2 points outside"),
        (GOOD_BIDS, GOOD_ASKS, [0, -3], InvalidAssignmentError, r"sigma\[1\] = -3"),
        (GOOD_BIDS, GOOD_ASKS, [0.5, 1], InvalidAssignmentError, "integer"),
        (GOOD_BIDS, GOOD_ASKS, [0], ShapeError, r"sigma must have shape \(2,\)"),
        (np.zeros((0, 2)), GOOD_ASKS, [], ShapeError, "n, m >= 1"),
        ([["a", 1.0], [1.0, 3.0]], GOOD_ASKS, GOOD_SIGMA, InvalidReportError, "numeric"),
    ],
)
def test_bad_input(fn, bids, asks, sigma, err, words):
    before = np.array(GOOD_BIDS, copy=True)
    with pytest.raises(err, match=words):
        fn(bids, asks, sigma)
    assert np.array_equal(GOOD_BIDS, before)


def test_tasc_bad_config():
    net = random_network(3, 3, rng=0)
    v, c = uniform_valuations(net, rng=1)
    with pytest.raises(UnknownNameError, match="unknown assignment algorithm 'hungarian'"):
        tasc(net, v, c, "hungarian")
    with pytest.raises(ConfigError, match="unknown rule 'vickrey'"):
        tasc(net, v, c, rule="vickrey")
    with pytest.raises(ShapeError, match=r"bids must have shape \(3, 3\)"):
        tasc(net, v[:2], c)
    with pytest.raises(ConfigError, match="RelayNetwork"):
        tasc("net", v, c)


def test_inputs_are_not_modified_and_outcome_reproducible():
    net = random_network(20, 30, rng=5)
    v, c = uniform_valuations(net, rng=6)
    v0, c0 = v.copy(), c.copy()
    a, b = tasc(net, v, c), tasc(net, v, c)
    assert np.array_equal(v, v0) and np.array_equal(c, c0)
    for f in ("buyer_wins", "seller_wins", "sigma", "buyer_payments", "seller_payments"):
        assert np.array_equal(getattr(a, f), getattr(b, f))


@pytest.mark.parametrize("index", [10**10, -(10**10), 2**62])
def test_huge_sigma_index_is_named_without_allocating(index):
    bids, asks = np.ones((2, 3)), np.zeros(3)
    with pytest.raises(InvalidAssignmentError, match=r"sigma\[1\]"):
        clear(bids, asks, np.array([0, index]))
