"""The seeded instance generator."""

import numpy as np
import pytest

from auctionlab.errors import ConfigError
from auctionlab.mechanisms.exchange import Exchange, random_exchange, solve_wd


def _depth(tree) -> int:
    d = np.zeros(tree.n_nodes, dtype=int)
    for k in range(1, tree.n_nodes):
        d[k] = d[tree.parent[k]] + 1
    return int(d.max())


def test_seeded_and_reproducible():
    a = random_exchange(8, 5, rng=42)
    b = random_exchange(8, 5, rng=np.random.default_rng(42))
    assert a.to_dict()["bidders"] == b.to_dict()["bidders"]
    assert a.meta["seed"] == 42 and b.meta["seed"] is None
    assert random_exchange(8, 5, rng=43).to_dict() != a.to_dict()


def test_roles_trees_and_endowments():
    ex = random_exchange(60, 12, rng=7)
    roles = ex.meta["roles"]
    assert {"buyer", "seller", "trader"} <= set(roles.values())
    ops = set()
    for b in ex.bidders:
        t = b.tree
        assert 2 <= _depth(t) <= 3
        assert not t.is_leaf[0]
        leaves = t.leaves
        q = t.trade[leaves]
        v = t.lower[leaves]
        role = roles[b.name]
        if role == "buyer":
            assert np.all(q >= 0) and np.all(v > 0)
            assert not b.endowment.any()
        elif role == "seller":
            assert np.all(q <= 0) and np.all(v < 0)
        else:
            assert b.endowment.any()
        if role != "buyer":
            assert np.all(t.lower[~t.is_leaf] <= 0)  # no free value behind sell leaves
        assert np.all(-q.min(axis=0, initial=0) <= b.endowment)  # every sell leaf is coverable
        for k in np.flatnonzero(~t.is_leaf):
            x, y, c = t.ic_x[k], t.ic_y[k], t.n_children[k]
            ops.add("AND" if x == y == c else "OR" if (x, y) == (1, c) else "XOR" if (x, y) == (1, 1) else "IC")
    assert ops == {"AND", "OR", "XOR", "IC"}
    traders = [b for b in ex.bidders if roles[b.name] == "trader"]
    swaps = sum(int(np.any((t.trade < 0).any(axis=1) & (t.trade > 0).any(axis=1))) for t in (b.tree for b in traders))
    assert swaps > 0
    sizes = [b.tree.n_nodes for b in ex.bidders]
    assert 8 <= np.mean(sizes) <= 20


def test_trade_is_usually_efficient():
    values = [solve_wd(random_exchange(10, 8, rng=s)).value for s in range(10)]
    assert sum(v > 0 for v in values) >= 8


def test_bounds_around_truth():
    bounded, truth = random_exchange(20, 8, rng=5, bound_width=0.4)
    assert bounded.same_structure(truth)
    assert truth.is_exact and not bounded.is_exact
    assert np.all(bounded.lower <= truth.lower) and np.all(truth.upper <= bounded.upper)
    zero = truth.lower == 0
    assert np.all(bounded.lower[zero] == 0) and np.all(bounded.upper[zero] == 0)
    assert np.all(bounded.upper[~zero] > bounded.lower[~zero] - 1e-12)
    assert np.mean(bounded.upper > bounded.lower) > 0.5
    # cents: what is written is what is read
    assert np.allclose(np.round(bounded.lower * 100), bounded.lower * 100)


def test_large_instance_and_errors():
    ex = random_exchange(100, 50, rng=0)
    assert ex.n_bidders == 100 and ex.n_goods == 50
    assert Exchange.from_dict(ex.to_dict()).to_dict() == ex.to_dict()
    with pytest.raises(ConfigError):
        random_exchange(0, 3, rng=0)
    with pytest.raises(ConfigError):
        random_exchange(3, 3, rng=0, roles=(0, 0, 0))
    with pytest.raises(ConfigError):
        random_exchange(3, 3, rng=0, bound_width=-1)
