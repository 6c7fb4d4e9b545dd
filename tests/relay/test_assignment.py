import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from auctionlab.errors import ConfigError, InvalidAssignmentError, NetworkError, ShapeError, UnknownNameError
from auctionlab.mechanisms.relay.assignment import ASSIGNMENT_ALGORITHMS, mm, mwm, ora
from auctionlab.mechanisms.relay.network import RelayNetwork, random_network
from auctionlab.mechanisms.relay.tasc import assign

from .brute import best, capacities


@st.composite
def tiny_capacities(draw):
    n = draw(st.integers(1, 4))
    m = draw(st.integers(1, 4))
    vals = st.integers(0, 6).map(float)  # small integers: many ties, the hard case
    direct = np.array(draw(st.lists(vals, min_size=n, max_size=n)))
    relayed = np.array(draw(st.lists(st.lists(vals, min_size=m, max_size=m), min_size=n, max_size=n)))
    return direct, relayed


def check_valid(sigma, direct, relayed):
    n, m = relayed.shape
    assert sigma.shape == (n,) and sigma.dtype.kind == "i"
    on = sigma[sigma >= 0]
    assert len(set(on.tolist())) == on.size and (on < m).all()
    assert all(relayed[i, j] > direct[i] for i, j in enumerate(sigma) if j >= 0)


@given(tiny_capacities())
def test_mwm_reaches_max_total_capacity(caps):
    direct, relayed = caps
    sigma = mwm(direct, relayed)
    check_valid(sigma, direct, relayed)
    assert capacities(direct, relayed, sigma).sum() == pytest.approx(best(direct, relayed, lambda c, s: c.sum()))


@given(tiny_capacities())
def test_mm_reaches_max_cardinality(caps):
    direct, relayed = caps
    sigma = mm(direct, relayed)
    check_valid(sigma, direct, relayed)
    assert (sigma >= 0).sum() == best(direct, relayed, lambda c, s: sum(j >= 0 for j in s))


@given(tiny_capacities())
def test_ora_reaches_max_min_then_max_total(caps):
    direct, relayed = caps
    sigma = ora(direct, relayed)
    check_valid(sigma, direct, relayed)
    got = capacities(direct, relayed, sigma)
    want = best(direct, relayed, lambda c, s: (c.min(), c.sum()))  # documented tie rule
    assert (got.min(), got.sum()) == pytest.approx(want)


@pytest.mark.parametrize("seed", range(30))
def test_algorithms_on_geometric_networks(seed):
    net = random_network(4, 4, rng=seed, area=300.0)
    d, r = net.direct, net.relayed
    s = mwm(d, r)
    assert net.capacities(s).sum() == pytest.approx(best(d, r, lambda c, _: c.sum()), rel=1e-12)
    s = mm(d, r)
    assert (s >= 0).sum() == best(d, r, lambda c, s_: sum(j >= 0 for j in s_))
    s = ora(d, r)
    assert net.capacities(s).min() == pytest.approx(best(d, r, lambda c, _: c.min()), rel=1e-12)


def test_paper_scale_orderings():
    net = random_network(100, 150, rng=3)
    s_mwm, s_mm, s_ora = (ASSIGNMENT_ALGORITHMS[a](net.direct, net.relayed) for a in ("mwm", "mm", "ora"))
    assert net.capacities(s_mwm).sum() >= net.capacities(s_ora).sum() - 1e-6
    assert net.capacities(s_mwm).sum() >= net.capacities(s_mm).sum() - 1e-6
    assert (s_mm >= 0).sum() >= max((s_mwm >= 0).sum(), (s_ora >= 0).sum())
    assert net.capacities(s_ora).min() >= max(net.capacities(s_mwm).min(), net.capacities(s_mm).min()) - 1e-6


def test_registry_unknown_and_user_algorithm():
    with pytest.raises(UnknownNameError, match="unknown assignment algorithm 'greedy'; available: mm, mwm, ora"):
        ASSIGNMENT_ALGORITHMS["greedy"]
    net = RelayNetwork.from_capacities([1.0, 1.0], [[2.0, 3.0], [5.0, 0.0]])
    with pytest.raises(UnknownNameError):
        assign(net, "greedy")

    def first_useful(direct, relayed):
        sigma = np.full(len(direct), -1)
        used = set()
        for i in range(len(direct)):
            for j in np.flatnonzero(relayed[i] > direct[i]):
                if j not in used:
                    sigma[i] = j
                    used.add(j)
                    break
        return sigma

    ASSIGNMENT_ALGORITHMS.register("greedy_test", first_useful)
    try:
        assert assign(net, "greedy_test").tolist() == [0, -1]
        with pytest.raises(ConfigError, match="already registered"):
            ASSIGNMENT_ALGORITHMS.register("greedy_test", first_useful)
    finally:
        del ASSIGNMENT_ALGORITHMS["greedy_test"]
    assert assign(net, first_useful).tolist() == [0, -1]  # a callable works directly
    with pytest.raises(InvalidAssignmentError, match="not useful"):
        assign(net, lambda d, r: np.array([-1, 1]))
    with pytest.raises(InvalidAssignmentError, match="not one-to-one"):
        assign(net, lambda d, r: np.array([0, 0]))


@pytest.mark.parametrize("alg", [mwm, mm, ora])
def test_bad_capacities(alg):
    with pytest.raises(NetworkError, match=r"relayed\[\(0, 0\)\] = nan"):
        alg([1.0], [[np.nan]])
    with pytest.raises(NetworkError, match=r"direct\[0\] = -2.0"):
        alg([-2.0], [[1.0]])
    with pytest.raises(ShapeError, match="relayed must have shape"):
        alg([1.0, 2.0], [[1.0]])
    with pytest.raises(NetworkError, match="need n >= 1"):
        alg([], np.zeros((0, 3)))
