import numpy as np
import pytest

from auctionlab.errors import ConfigError
from auctionlab.mechanisms.relay.network import random_network
from auctionlab.mechanisms.relay.valuations import uniform_valuations


def test_paper_valuation_model():
    net = random_network(50, 70, rng=1)
    v, c = uniform_valuations(net, rng=2, vmax=4.0)
    assert v.shape == (50, 70) and c.shape == (70,)
    assert (v[~net.useful] == 0).all()
    assert (v[net.useful] > 0).all() and (v <= 4.0).all()
    assert (c > 0).all() and (c <= 1.0).all()
    assert abs(v[net.useful].mean() - 2.0) < 0.15 and abs(c.mean() - 0.5) < 0.1
    v2, c2 = uniform_valuations(net, rng=2, vmax=4.0)
    assert np.array_equal(v, v2) and np.array_equal(c, c2)


@pytest.mark.parametrize(
    "kw", [dict(vmax=0), dict(vmax=float("inf")), dict(cost_range=(1.0, 0.5)), dict(cost_range=(-1.0, 1.0))]
)
def test_bad_parameters(kw):
    with pytest.raises(ConfigError):
        uniform_valuations(random_network(2, 2, rng=0), rng=0, **kw)
