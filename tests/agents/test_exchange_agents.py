"""Exchange bidders: the agent is the engine's proxy; its books match the engine's history."""

import mesa
import numpy as np
import pytest

from auctionlab.agents.exchange import ExchangeBidder
from auctionlab.errors import ConfigError, InvalidInputError
from auctionlab.mechanisms.exchange import OR, XOR, Exchange, leaf
from auctionlab.mechanisms.exchange.activity import node_prices
from auctionlab.models.exchange import ExchangeMarket
from auctionlab.strategies import (
    LateRevealer,
    Lazy,
    Observation,
    Scale,
    Straightforward,
    Stubborn,
)

from ..strategies.instances import EXCHANGE_LOWER as LO
from ..strategies.instances import EXCHANGE_TRUTH as TRUTH
from ..strategies.instances import EXCHANGE_UPPER as HI
from ..strategies.instances import feedback, rp


def penalty_instance(a=(2, 10), r=(3, 4)):
    """The buyer's +A node is uncertain; kept wide, it fails RP in round 1 (cf. test_ice)."""
    return Exchange.from_dict(
        {
            "goods": ["A", "B"],
            "bidders": {
                "seller": {"endowment": {"A": 1, "B": 1}, "tree": OR(leaf({"A": -1}, -1), leaf({"B": -1}, -1))},
                "buyer": {"tree": XOR(leaf({"A": 1}, list(a)), leaf({"B": 1}, 6))},
                "rival": {"tree": leaf({"B": 1}, list(r))},
            },
        }
    )


def market(buyer, **kw):
    ex, truth = penalty_instance(), penalty_instance((7, 7), (3.5, 3.5))
    return ExchangeMarket(exchange=ex, truth=truth, population={"buyer": buyer}, max_rounds=6, rng=0, **kw)


def test_the_agent_is_a_proxy_that_asks_its_strategy():
    model = mesa.Model(rng=0)
    a = ExchangeBidder(model, "b", TRUTH, Lazy(0.5), index=3)
    fb = feedback(LO, HI, rp_result=rp(False, [1, 3], [2]), queries=1)
    want = Lazy(0.5).report(TRUTH, Observation(1, "bidder", 3, info={"feedback": fb}))
    got = a.revise(fb)
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(got[1], want[1])
    assert a.role == "bidder" and a.index == 3 and a.strategy_name == "lazy"
    assert not a.truth.flags.writeable and a.true_type is a.truth
    assert np.isnan(a.utility) and np.isnan(a.payment) and a.utility_history == []


def test_bookkeeping_counts_checks_failures_and_penalties():
    a = ExchangeBidder(mesa.Model(rng=0), "b", TRUTH, Straightforward(), index=0)
    a.record_round(rp_passed=None, queries=0, penalized=False, width=3.0, provisional_utility=1.0)
    a.record_round(rp_passed=True, queries=3, penalized=False, width=2.0, provisional_utility=2.0)
    a.record_round(
        rp_passed=False, queries=2, penalized=True, width=1.0, provisional_utility=0.5, payment=4.0, utility=0.5
    )
    assert (a.rp_checks, a.rp_failures, a.penalties) == (5, 4, 1)
    assert a.rp_checked and a.rp_passed is False and a.penalized and a.queries == 2
    assert a.utility_history == [1.0, 2.0, 0.5] and (a.payment, a.utility) == (4.0, 0.5)


def test_bad_agents():
    model = mesa.Model(rng=0)
    with pytest.raises(ConfigError, match="exchange strategy"):
        ExchangeBidder(model, "b", TRUTH, Scale(0.5), index=0)
    with pytest.raises(InvalidInputError, match="finite"):
        ExchangeBidder(model, "b", [0.0, np.inf], Straightforward(), index=0)
    with pytest.raises(ConfigError, match="index"):
        ExchangeBidder(model, "b", TRUTH, Straightforward())
    assert len(model.agents) == 0  # nothing was registered


def test_stubborn_is_penalised_and_its_history_shows_it():
    m = market("stubborn")
    m.step()
    p0 = m.ice.prices.copy()
    lo, hi = m.ice.bounds("buyer")
    m.step()
    rec = {b.bidder: b for b in m.history[1].bidders}["buyer"]
    assert rec.rp is not None and not rec.rp.passed and rec.penalized and rec.queries == 1
    ex = m.initial_exchange
    x0 = ex.endowments[1]
    price = node_prices(ex.bidder("buyer").tree, x0, ex.endowments.sum(axis=0) - x0, p0)
    np.testing.assert_allclose(rec.upper, np.minimum(hi, np.maximum(price, lo)))  # the RP penalty
    assert rec.upper[1] == 2.0 < hi[1] and (rec.lower == lo).all()
    m.run_model()
    buyer = m.bidders[1]
    assert buyer.bidder == "buyer" and (buyer.penalties, buyer.rp_failures) == (1, 1)
    agents = m.datacollector.get_agent_vars_dataframe()
    rows = agents[agents.bidder == "buyer"]
    # step 0 (built, nothing bid yet), round 0, round 1 (the penalty), ...
    assert rows.penalized.tolist() == [False, False, True] + [False] * (len(rows) - 3)
    assert rows.penalties.iloc[-1] == 1 and rows.rp_failures.iloc[-1] == 1
    pen = m.datacollector.get_model_vars_dataframe().penalized.tolist()
    assert np.isnan(pen[0]) and pen[1:3] == [0, 1]
    assert buyer.utility_history[-1] == pytest.approx(m.result.utilities["buyer"]) == buyer.utility
    # a straightforward buyer is never penalised on the same instance, and does better
    s = market("straightforward")
    s.run_model()
    assert s.bidders[1].penalties == 0 and s.bidders[1].utility > buyer.utility


def test_lazy_with_the_penalty_fallback_gives_up_after_its_patience():
    m = market(Lazy(patience=2, fallback="penalty"))
    m.step()
    m.step()
    rec = m.history[1].bidders[1]
    assert rec.penalized and rec.queries == 3  # two lazy answers, then it gives up
    assert m.bidders[1].rp_failures == 3


def test_late_revealer_reveals_only_in_the_final_round():
    m = market(LateRevealer(Stubborn()))
    m.run_model()
    recs = [r.bidders[1] for r in m.history]
    lo0 = m.initial_exchange.bidder("buyer").tree.lower
    for r in recs[:-1]:
        np.testing.assert_array_equal(r.lower, lo0)  # never raised a lower bound before
    last = recs[-1]
    assert m.history[-1].final
    clipped = np.clip(m.truth.bidder("buyer").tree.lower, recs[-2].lower, recs[-2].upper)
    np.testing.assert_array_equal(last.lower, clipped)
    np.testing.assert_array_equal(last.upper, clipped)


def test_the_agent_reads_its_own_row_of_the_round_record():
    from auctionlab.errors import StateError

    m = market("straightforward")
    buyer = m.bidders[1]
    with pytest.raises(StateError, match="no closed round"):
        buyer.observe()  # nothing closed yet
    m.step()
    mine = m.record.bidders[1]
    assert mine.bidder == "buyer" == buyer.bidder
    assert buyer.width == pytest.approx(float(np.sum(mine.upper - mine.lower)))
    want = buyer.true_value(mine.trade) - float(m.record.prices @ mine.trade)
    assert buyer.provisional_utility == pytest.approx(want)
    assert buyer.true_value(mine.trade) == pytest.approx(m.true_value("buyer", mine.trade))
    m.run_model()
    assert buyer.payment == m.result.payments["buyer"] and buyer.utility == m.result.utilities["buyer"]
    values_only = ExchangeBidder(mesa.Model(rng=0), "b", TRUTH, Straightforward(), index=0)
    with pytest.raises(StateError, match="cannot value trades"):
        values_only.true_value(np.zeros(2))
