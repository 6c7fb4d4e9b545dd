import math

import numpy as np
import pytest

from auctionlab.errors import ConfigError, InvalidInputError, NetworkError, ShapeError
from auctionlab.mechanisms.relay.network import RelayNetwork, random_network


def line_network(mode):
    # source (0,0), destination (400,0), relays at (200,0) and (0,300)
    return RelayNetwork.from_positions([[0, 0]], [[400, 0]], [[200, 0], [0, 300]], mode=mode)


def test_hand_computed_capacities_df():
    net = line_network("DF")
    # SNR = P d^-4 / N0: 400 m -> 0.390625, 200 m -> 6.25, 300 m -> 1e10/8.1e9, 500 m -> 0.16
    assert net.direct[0] == pytest.approx(22e6 * math.log2(1.390625))
    assert net.direct[0] == pytest.approx(10.4659e6, rel=1e-4)
    assert net.relayed[0, 0] == pytest.approx(11e6 * min(math.log2(7.25), math.log2(1 + 0.390625 + 6.25)))
    assert net.relayed[0, 0] == pytest.approx(31.4359e6, rel=1e-4)
    far_sr, far_rd = 1e10 / 8.1e9, 0.16
    assert net.relayed[0, 1] == pytest.approx(11e6 * min(math.log2(1 + far_sr), math.log2(1 + 0.390625 + far_rd)))
    assert net.useful.tolist() == [[True, False]]
    assert net.gain[0, 1] == 0.0 and net.gain[0, 0] == pytest.approx(net.relayed[0, 0] - net.direct[0])


def test_hand_computed_capacities_af():
    net = line_network("AF")
    assert net.relayed[0, 0] == pytest.approx(11e6 * math.log2(1 + 0.390625 + 6.25 * 6.25 / (6.25 + 6.25 + 1)))
    assert net.direct[0] == pytest.approx(22e6 * math.log2(1.390625))


def test_parameters_enter_the_formula():
    net = RelayNetwork.from_positions([[0, 0]], [[10, 0]], [[5, 0]], bandwidth=1.0, power=2.0, path_loss=2.0, noise=1.0)
    assert net.direct[0] == pytest.approx(math.log2(1 + 2.0 / 100))
    assert net.relayed[0, 0] == pytest.approx(0.5 * min(math.log2(1 + 2 / 25), math.log2(1 + 2 / 100 + 2 / 25)))


def test_random_network_shapes_seed_and_geometry():
    a = random_network(30, 45, rng=7)
    b = random_network(30, 45, rng=np.random.default_rng(7))
    c = random_network(30, 45, rng=8)
    assert a.direct.shape == (30,) and a.relayed.shape == (30, 45) and a.useful.shape == (30, 45)
    assert np.array_equal(a.relayed, b.relayed) and not np.array_equal(a.relayed, c.relayed)
    for pts in (a.sources, a.destinations, a.relays):
        assert pts.min() >= 0 and pts.max() <= 1000
    assert np.array_equal(a.useful, a.relayed > a.direct[:, None])
    # recomputing from the stored positions gives the same capacities
    again = RelayNetwork.from_positions(a.sources, a.destinations, a.relays)
    assert np.allclose(again.relayed, a.relayed) and np.allclose(again.direct, a.direct)
    # DF relaying is never worth more than half the source-relay link
    assert a.mode == "DF" and 0 < a.useful.mean() < 1


def test_capacities_of_an_assignment():
    net = RelayNetwork.from_capacities([1.0, 2.0], [[3.0, 0.5], [1.0, 4.0]])
    assert net.capacities(np.array([-1, 1])).tolist() == [1.0, 4.0]
    assert net.capacities(np.array([0, -1])).tolist() == [3.0, 2.0]
    assert net.useful.tolist() == [[True, False], [False, True]]


def test_arrays_are_read_only():
    net = random_network(3, 4, rng=0)
    with pytest.raises(ValueError):
        net.relayed[0, 0] = 1.0


@pytest.mark.parametrize(
    "kwargs, err, words",
    [
        (dict(n=0, m=3), ConfigError, "n must be a positive integer"),
        (dict(n=3, m=-1), ConfigError, "m must be a positive integer"),
        (dict(n=2.5, m=3), ConfigError, "n must be"),
        (dict(n=3, m=3, mode="XF"), ConfigError, "mode"),
        (dict(n=3, m=3, area=float("nan")), ConfigError, "area"),
        (dict(n=3, m=3, noise=-1.0), ConfigError, "noise"),
    ],
)
def test_random_network_bad_config(kwargs, err, words):
    with pytest.raises(err, match=words):
        random_network(rng=0, **kwargs)


def test_from_capacities_bad_input():
    with pytest.raises(NetworkError, match=r"relayed\[\(0, 1\)\] = nan: values must be finite"):
        RelayNetwork.from_capacities([1.0], [[2.0, np.nan]])
    with pytest.raises(NetworkError, match=r"direct\[0\] = -1.0"):
        RelayNetwork.from_capacities([-1.0], [[2.0]])
    with pytest.raises(ShapeError, match="relayed must have shape"):
        RelayNetwork.from_capacities([1.0, 2.0], [[2.0, 3.0]])
    with pytest.raises(InvalidInputError):
        RelayNetwork.from_capacities([1.0], [["x"]])


def test_coincident_nodes_rejected():
    with pytest.raises(NetworkError, match="source-relay distance is zero"):
        RelayNetwork.from_positions([[0, 0]], [[1, 0]], [[0, 0]])
