import math

import numpy as np
import pandas as pd
import pytest

from auctionlab.agents.relay import RelayAgent, SourceAgent
from auctionlab.models.relay import AGENT_REPORTERS, RelayMarket
from auctionlab.strategies import Observation, Scale

POP = {
    "buyer": [{"strategy": "scale", "params": {"theta": 0.8}, "share": 0.5}, {"strategy": "truthful", "share": 0.5}],
    "seller": [{"strategy": "noise", "params": {"sigma": 0.2}, "share": 0.25}, {"strategy": "truthful", "share": 0.75}],
}


@pytest.fixture(scope="module")
def model():
    mk = RelayMarket(n=12, m=16, population=POP, rng=5)
    for _ in range(4):
        mk.step()
    return mk


def test_agents_are_registered_by_type_with_their_strategies(model):
    assert len(model.agents) == 28
    assert len(model.agents_by_type[SourceAgent]) == 12 and len(model.agents_by_type[RelayAgent]) == 16
    assert [a.index for a in model.buyers] == list(range(12))
    assert [a.strategy_name for a in model.buyers] == ["scale"] * 6 + ["truthful"] * 6
    assert [a.strategy_name for a in model.sellers] == ["noise"] * 4 + ["truthful"] * 12
    assert model.buyers[0].strategy_label == "scale(theta=0.8)"
    assert len({id(a.strategy) for a in model.agents}) == 28  # one strategy instance per agent
    assert {a.role for a in model.buyers} == {"buyer"} and {a.role for a in model.sellers} == {"seller"}


def test_agents_own_the_round_state_the_market_cleared(model):
    out = model.outcome
    ub, us = out.utilities(model.values, model.costs)
    for a in model.buyers:
        np.testing.assert_array_equal(a.values, model.values[a.index])
        np.testing.assert_array_equal(a.report_vector, model.bids[a.index])
        assert a.assigned == model.sigma[a.index]
        assert a.utility == pytest.approx(ub[a.index]) and a.won == bool(out.buyer_wins[a.index])
        j = out.sigma[a.index]
        if j >= 0:
            assert a.report == model.bids[a.index, j] and a.value == model.values[a.index, j]
        else:
            assert math.isnan(a.report) and math.isnan(a.value)
        if a.strategy_name == "scale":
            np.testing.assert_allclose(a.report_vector, 0.8 * a.values)
    for a in model.sellers:
        assert a.cost == model.costs[a.index] == a.true_type == a.value
        assert a.report == model.asks[a.index]
        assert a.utility == pytest.approx(us[a.index])
        if a.strategy_name == "truthful":
            assert a.report == a.cost


def test_utility_history_keeps_every_step(model):
    hb = model.utility_history("buyer")
    assert hb.shape == (4, 12)
    a = model.buyers[3]
    np.testing.assert_array_equal(a.utility_history, hb[:, 3])
    assert a.utility_history[-1] == a.utility
    assert a.total_utility == pytest.approx(hb[:, 3].sum())
    assert model.sellers[0].utility_history.shape == (4,)


def test_decide_delegates_to_the_strategy():
    mk = RelayMarket(n=3, m=4, rng=1, population={"buyer": Scale(0.5)})
    a = mk.buyers[0]
    np.testing.assert_allclose(a.decide(Observation(1, "buyer", 0)), 0.5 * a.values)
    assert mk.sellers[2].decide(Observation(1, "seller", 2)) == mk.costs[2]


def test_bulk_agent_table_matches_per_agent_attributes(model):
    df = model.datacollector.get_agent_vars_dataframe()
    assert list(df.columns) == list(AGENT_REPORTERS)
    assert df.index.names == ["Step", "AgentID"]
    assert len(df) == 5 * 28  # step 0 and four steps
    last = df.xs(model.step_count, level="Step")
    for a in model.agents:
        row = last.loc[a.unique_id]
        for name in AGENT_REPORTERS:
            want, got = getattr(a, name), row[name]
            if isinstance(want, float) and math.isnan(want):
                assert math.isnan(got)
            else:
                assert got == want, (a, name)


def test_the_step_0_row_says_nothing_happened_yet(model):
    first = model.datacollector.get_agent_vars_dataframe().xs(0, level="Step")
    assert len(first) == 28
    assert first[["report", "utility"]].isna().all().all()
    assert not first["won"].any()
    assert first.query("role == 'buyer'")["value"].isna().all()  # paired with no relay yet
    assert first.query("role == 'seller'")["value"].between(0, 1).all()  # the costs dealt at construction
    later = model.datacollector.get_agent_vars_dataframe().xs(1, level="Step")
    assert later["utility"].notna().all()  # realised from the first round on (0 for a loser)


def test_the_collector_is_mesas_own_and_pickles():
    import pickle

    import mesa

    mk = RelayMarket(n=3, m=3, rng=2)
    assert type(mk.datacollector) is mesa.DataCollector
    mk.step()
    copy = pickle.loads(pickle.dumps(mk))
    copy.step()
    mk.step()
    pd.testing.assert_frame_equal(
        copy.datacollector.get_agent_vars_dataframe(), mk.datacollector.get_agent_vars_dataframe()
    )


def test_agent_set_tools_work_on_the_agents(model):
    won = model.sources.select(lambda a: a.won)
    assert len(won) == int(model.outcome.buyer_wins.sum())
    assert model.relays.agg("utility", sum) == pytest.approx(model.seller_utility.sum())
    assert model.sources.get("index") == list(range(12))


def test_agents_record_their_own_history():
    mk = RelayMarket(n=3, m=4, rng=1)
    a = mk.buyers[0]
    assert a.history == [] and a.total_utility == 0.0
    mk.step()
    a.settle(0.5, 1.0, 0.25, True)  # the market's call, made by hand
    assert (a.report, a.value, a.utility, a.won) == (0.5, 1.0, 0.25, True)
    assert a.history[-1] == 0.25 and len(a.history) == 2
