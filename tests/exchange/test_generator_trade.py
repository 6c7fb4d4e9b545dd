"""The generator's instances trade, and no tree is worth anything at the empty trade."""

import numpy as np
import pytest

from auctionlab.errors import ConfigError
from auctionlab.mechanisms.exchange import random_exchange, solve_wd
from auctionlab.mechanisms.exchange.mip import tree_value


def empty_trade_values(ex):
    return [tree_value(b.tree, np.zeros(len(ex.goods), dtype=np.int64), b.tree.lower) for b in ex.bidders]


@pytest.mark.parametrize("n, m, kw", [(5, 3, {}), (4, 3, {"nodes": 6, "max_units": 1})])
def test_at_most_five_percent_of_instances_have_no_efficient_trade(n, m, kw):
    seeds = range(200)
    no_trade = sum(not solve_wd(random_exchange(n, m, rng=s, **kw), "lower").traders for s in seeds)
    print(f"{n}x{m} {kw}: {no_trade} of {len(seeds)} instances without an efficient trade")
    assert no_trade <= 0.05 * len(seeds)
    # without the redraw, small trees often leave no trade at all (about a quarter here)
    if kw:
        raw = sum(
            not solve_wd(random_exchange(n, m, rng=s, require_trade=False, **kw), "lower").traders for s in range(40)
        )
        assert raw >= 4


def test_instances_that_trade_at_the_first_draw_are_unchanged_by_the_redraw():
    for s in range(40):
        a = random_exchange(4, 3, rng=s, nodes=6, max_units=1, bound_width=0.5)
        if "draw" in a.truth.meta:
            assert solve_wd(a.truth, "lower").traders and a.truth.meta["draw"] > 1
            continue
        b = random_exchange(4, 3, rng=s, nodes=6, max_units=1, bound_width=0.5, require_trade=False)
        assert np.array_equal(a.bounded.lower, b.bounded.lower) and np.array_equal(a.truth.upper, b.truth.upper)


def test_no_tree_is_worth_anything_at_the_empty_trade_unless_asked():
    worth = []
    for s in range(80):
        ex = random_exchange(5, 3, rng=s)
        assert max(empty_trade_values(ex)) == 0.0
        free = random_exchange(5, 3, rng=s, free_value=True, require_trade=False)
        worth.append(max(empty_trade_values(free)))
    assert max(worth) > 0  # the option brings them back (IC(0, y) nodes with a bonus)
    with pytest.raises(ConfigError, match="free_value"):
        random_exchange(3, 2, rng=0, free_value="yes")
    with pytest.raises(ConfigError, match="require_trade"):
        random_exchange(3, 2, rng=0, require_trade=1)
