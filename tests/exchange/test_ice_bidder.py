"""The paper's straightforward bidder, the eager extension, the activity rule's exactness
and scale-freeness, and the exchange's input checks."""

import json
import math
from pathlib import Path

import numpy as np
import pytest

from auctionlab.errors import ConfigError, InvalidInputError, RevisionError, StateError
from auctionlab.mechanisms.exchange import OR, XOR, Exchange, leaf, random_exchange
from auctionlab.mechanisms.exchange.activity import definition_holds, revealed_preference
from auctionlab.mechanisms.exchange.bidder import BidderProgram
from auctionlab.mechanisms.exchange.ice import IterativeExchange, value_unit
from auctionlab.mechanisms.exchange.patterns import PatternTable
from auctionlab.mechanisms.exchange.proxies import Feedback, Proxy
from auctionlab.strategies import Lazy, Straightforward, make_strategy
from auctionlab.strategies.exchange import Eager, bind

DATA = Path(__file__).parent / "data" / "eager_today.json"


def with_seller(buyer_tree, goods=("A", "B")):
    return Exchange.from_dict(
        {
            "goods": list(goods),
            "bidders": {
                "seller": {"endowment": {g: 1 for g in goods}, "tree": OR(*[leaf({g: -1}, 0) for g in goods])},
                "buyer": {"tree": buyer_tree},
            },
        }
    )


def buyer_bounds(ex):
    off = ex.node_offset
    i = ex.index("buyer")
    return ex.lower[off[i] : off[i + 1]].copy(), ex.upper[off[i] : off[i + 1]].copy()


def query_loop(strategy, model, truth, lo, hi, prices, max_queries=50):
    """One round of the exchange's query loop for one bidder at fixed prices: revise, check,
    re-query until the check passes, the strategy stops revising or the limit is reached."""
    truth = np.asarray(truth, dtype=float)
    res, q = None, 0
    while True:
        fb = Feedback(
            round=1,
            final=False,
            lower=lo,
            upper=hi,
            prices=prices,
            trade=None,
            satisfied=None,
            rp=res,
            queries=q,
            max_queries=max_queries,
        )
        new_lo, new_hi = strategy.decide(truth, fb)
        if res is not None and np.array_equal(new_lo, lo) and np.array_equal(new_hi, hi):
            return res, lo, hi, q  # gives up
        lo, hi = np.asarray(new_lo, float), np.asarray(new_hi, float)
        res = revealed_preference(model, prices, lo, hi)
        q += 1
        if res.passed or q >= max_queries:
            return res, lo, hi, q


MODELS = {"mip": BidderProgram.for_bidder, "patterns": PatternTable.for_bidder}


# ---------------------------------------------------------------------- Lemma 2 is not enough
@pytest.mark.parametrize("kind", sorted(MODELS))
def test_lemma2_moves_fail_where_raising_the_witness_lower_bound_passes(kind):
    # XOR(+A = 5, +B in [0, 10]), prices 3 each, true value of B = 9
    ex = with_seller(XOR(leaf({"A": 1}, 5), leaf({"B": 1}, [0, 10])))
    model = MODELS[kind](ex, ex.index("buyer"))
    p = np.array([3.0, 3.0])
    lo, hi = buyer_bounds(ex)  # [0, 5, 0], [0, 5, 10]
    first = revealed_preference(model, p, lo, hi)
    assert not first.passed and (first.pi_lower, first.pi_upper) == (2.0, 7.0)
    # Lemma 2 names: raise the lower bound of +A (exact already) or lower the upper bound of +B
    assert first.raise_lower.tolist() == [1] and first.lower_upper.tolist() == [2]
    lowered = revealed_preference(model, p, lo, np.array([0.0, 5.0, 9.0]))
    assert not lowered.passed and (lowered.pi_lower, lowered.pi_upper) == (2.0, 6.0)
    raised = revealed_preference(model, p, np.array([0.0, 5.0, 5.0]), hi)
    assert raised.passed and raised.lower_trade.tolist() == [0, 1]

    truth = np.array([0.0, 5.0, 9.0])
    # the paper's bidder finds a passing move and keeps its truth inside its bounds
    res, new_lo, new_hi, q = query_loop(Straightforward(0.5), model, truth, lo, hi, p)
    assert res.passed and q <= 4
    assert np.all(new_lo <= truth) and np.all(truth <= new_hi)
    # Lemma 2's moves alone (lazy, never falling back) stop at the truth still failing
    res, new_lo, new_hi, _ = query_loop(Lazy(0.5, patience=50, fallback="penalty"), model, truth, lo, hi, p)
    assert not res.passed and new_hi.tolist() == [0.0, 5.0, 9.0] and new_lo.tolist() == lo.tolist()


def test_the_papers_bidder_passes_before_the_query_limit():
    """With a tight limit it goes straight to the truth on the named nodes early enough."""
    ex = with_seller(XOR(leaf({"A": 1}, 5), leaf({"B": 1}, [0, 10])))
    model = PatternTable.for_bidder(ex, ex.index("buyer"))
    lo, hi = buyer_bounds(ex)
    truth = np.array([0.0, 5.0, 9.0])
    for limit in (2, 3):
        res, new_lo, new_hi, q = query_loop(
            Straightforward(0.05), model, truth, lo, hi, np.array([3.0, 3.0]), max_queries=limit
        )
        assert res.passed and q <= limit
        assert np.all(new_lo <= truth) and np.all(truth <= new_hi)


# ---------------------------------------------------------------------- Proposition 1 vs the definition
def test_proposition1_is_sufficient_not_necessary():
    ex = with_seller(XOR(leaf({"A": 1}, [0, 10]), leaf({"A": 1}, [3, 4])), goods=("A",))
    model = PatternTable.for_bidder(ex, ex.index("buyer"))
    lo, hi = buyer_bounds(ex)
    p = np.array([1.0])
    res = revealed_preference(model, p, lo, hi)
    assert not res.passed and (res.pi_lower, res.pi_upper) == (2.0, 9.0)
    assert definition_holds(model, p, lo, hi)  # buying A is worth max(w1, w2) >= 3 > 1
    # above 3 the low-valued consistent valuation (w1 = 0, w2 = 3) prefers not to buy
    assert not definition_holds(model, np.array([3.5]), lo, hi)
    assert definition_holds(model, np.array([2.999]), lo, hi)
    # whenever the paper's test passes, so does the definition
    for price in np.linspace(0, 12, 49):
        if revealed_preference(model, np.array([price]), lo, hi).passed:
            assert definition_holds(model, np.array([price]), lo, hi)


def test_definition_option_in_the_exchange():
    ex = with_seller(XOR(leaf({"A": 1}, [0, 10]), leaf({"A": 1}, [3, 4])), goods=("A",))
    verdicts = {}
    for rp in ("paper", "definition"):
        ice = IterativeExchange(ex, rp=rp)
        ice.step({b: Proxy() for b in ex.names})
        ice.prices = np.array([1.0])  # the golden prices, set by hand for the check
        lo, hi = ice.bounds("buyer")
        verdicts[rp] = ice.submit("buyer", lo, hi)
    assert not verdicts["paper"].passed and verdicts["paper"].definition is None
    d = verdicts["definition"]
    assert d.passed and d.paper_passed is False and d.definition is True and not d.paper_verdict
    with pytest.raises(ConfigError, match="rp must be one of"):
        IterativeExchange(ex, rp="exact")
    with pytest.raises(ConfigError, match="enumerable"):
        IterativeExchange(ex, rp="definition", pattern_limit=0)


# ---------------------------------------------------------------------- eager = today's default
def test_eager_reproduces_the_previous_default_bidder():
    """Stored outputs of the previous default (``Straightforward(reveal="all")``) on nine
    generated instances (the instances are stored too): same rounds, trades, payments,
    final bounds and RP verdicts, exactly."""
    for case in json.loads(DATA.read_text()):
        ex, truth = Exchange.from_dict(case["exchange"]), Exchange.from_dict(case["truth"])
        off = truth.node_offset
        proxies = {
            b: bind(make_strategy("eager", step=0.5), truth.lower[off[i] : off[i + 1]], index=i, bidder=b)
            for i, b in enumerate(ex.names)
        }
        res = IterativeExchange(ex, truth=truth, max_rounds=30).run(proxies)
        assert (res.rounds, res.closed_by) == (case["rounds"], case["closed_by"]), case["case"]
        assert res.allocation.trade_matrix.tolist() == case["trade"]
        assert res.payments == case["payments"]
        assert [b.lower.tolist() for b in res.history[-1].bidders] == case["lower"]
        assert [b.upper.tolist() for b in res.history[-1].bidders] == case["upper"]
        assert [[None if b.rp is None else bool(b.rp.passed) for b in r.bidders] for r in res.history] == case["rp"]
        assert [[bool(b.penalized) for b in r.bidders] for r in res.history] == case["penalized"]


def test_eager_is_straightforward_revealing_all():
    assert make_strategy("eager").label == Eager().label
    assert Straightforward().reveal == "rp" and Eager().reveal == "all"


# ---------------------------------------------------------------------- the paper's bidder on real runs
@pytest.mark.parametrize("seed", [0, 3, 8])
def test_the_papers_bidder_never_lets_its_truth_leave_its_bounds(seed):
    pair = random_exchange(4, 3, rng=seed, bound_width=0.5)
    ex, truth = pair.bounded, pair.truth
    off = truth.node_offset
    true = {b: truth.lower[off[i] : off[i + 1]] for i, b in enumerate(ex.names)}
    proxies = {b: bind(Straightforward(), true[b], index=i, bidder=b) for i, b in enumerate(ex.names)}
    res = IterativeExchange(ex, truth=truth, max_rounds=8).run(proxies)
    for r in res.history:
        for b in r.bidders:
            assert not b.penalized
            assert np.all(b.lower <= true[b.bidder]) and np.all(true[b.bidder] <= b.upper)
            assert b.rp is None or b.rp.passed
    assert res.efficiency is not None and res.efficiency >= 0.0


# ---------------------------------------------------------------------- scale-free verdicts
def scaled(ex, f):
    return ex.with_bounds(ex.lower * f, ex.upper * f)


@pytest.mark.parametrize("strategy", ["eager", "straightforward"])
def test_every_value_times_a_constant_gives_the_same_run(strategy):
    pair = random_exchange(4, 3, rng=1, bound_width=0.5)
    runs = {}
    for f in (1.0, 1e-9, 1e6):
        ex, truth = scaled(pair.bounded, f), scaled(pair.truth, f)
        off = truth.node_offset
        proxies = {
            b: bind(make_strategy(strategy), truth.lower[off[i] : off[i + 1]], index=i, bidder=b)
            for i, b in enumerate(ex.names)
        }
        ice = IterativeExchange(ex, truth=truth, max_rounds=6)
        assert ice.unit == {1.0: 1.0, 1e-9: 1e-9, 1e6: 1e6}[f]
        runs[f] = ice.run(proxies)
    base = runs[1.0]
    for f in (1e-9, 1e6):
        r = runs[f]
        assert (r.rounds, r.closed_by) == (base.rounds, base.closed_by)
        assert np.array_equal(r.allocation.trade_matrix, base.allocation.trade_matrix)
        assert [[b.rp is None or b.rp.passed for b in x.bidders] for x in r.history] == [
            [b.rp is None or b.rp.passed for b in x.bidders] for x in base.history
        ]
        assert [x.trade.tolist() for x in r.history] == [x.trade.tolist() for x in base.history]
        for b, v in base.payments.items():
            assert r.payments[b] == pytest.approx(v * f, rel=1e-9, abs=1e-9 * f)
        assert r.history[-1].bidders[0].lower == pytest.approx(base.history[-1].bidders[0].lower * f, rel=1e-9)
        assert r.efficiency == pytest.approx(base.efficiency)


def test_value_unit():
    ex = with_seller(XOR(leaf({"A": 1}, 5), leaf({"B": 1}, [0, 10])))
    assert value_unit(ex) == 1.0
    assert value_unit(scaled(ex, 1e-9)) == 1e-9 and value_unit(scaled(ex, 1e6)) == 1e6
    assert value_unit(scaled(ex, 0.0)) == 1.0


@pytest.mark.parametrize("f", [1e-9, 1e6])
def test_rp_verdicts_at_any_unit(f):
    # the golden instances of the activity rule, scaled: the same verdicts
    ex = with_seller(XOR(leaf({"A": 1}, 5), leaf({"B": 1}, [0, 10])))
    for bounds, passed in (((None, [0, 5, 9]), False), (([0, 5, 5], None), True)):
        lo, hi = buyer_bounds(ex)
        lo = lo if bounds[0] is None else np.array(bounds[0], float)
        hi = hi if bounds[1] is None else np.array(bounds[1], float)
        ice = IterativeExchange(scaled(ex, f))
        ice.step({b: Proxy() for b in ex.names})
        ice.prices = np.array([3.0, 3.0]) * f  # in the caller's units
        res = ice.submit("buyer", lo * f, hi * f)
        assert res.passed is passed
        assert res.pi_lower == pytest.approx(2.0 * f if not passed else 2.0 * f, rel=1e-12)


# ---------------------------------------------------------------------- input checks
def test_bidder_indices_and_bounds_are_checked():
    ex = with_seller(XOR(leaf({"A": 1}, 5), leaf({"B": 1}, [0, 10])))
    ice = IterativeExchange(ex)
    lo, hi = ice.bounds("buyer")
    for bad in (0.7, True, np.True_, None, 1.0):
        with pytest.raises(InvalidInputError, match=repr(bad) if bad is not None else "None"):
            ice.submit(bad, lo, hi)
    with pytest.raises(InvalidInputError, match="at most 1"):
        ice.submit(2, lo, hi)
    with pytest.raises(InvalidInputError, match="at least 0"):
        ice.bounds(-1)
    assert ice.bounds(np.int64(1))[0].tolist() == lo.tolist()
    for bad in ("0 5 0", ["a", "b", "c"], {"root": 0}, [[0, 5, 0]]):
        with pytest.raises(RevisionError, match="lower bounds"):
            ice.submit("buyer", bad, hi)
    with pytest.raises(RevisionError, match="upper bounds"):
        ice.submit("buyer", lo, "high")
    assert ice.bounds("buyer")[0].tolist() == lo.tolist()  # state untouched
    ice.submit("buyer", [0, 5, 1], list(hi))  # plain lists of numbers are bounds


@pytest.mark.parametrize(
    "kw, words",
    [
        (dict(rp_tol=math.nan), "rp_tol"),
        (dict(rp_tol=-1), "rp_tol"),
        (dict(rp_tol="x"), "rp_tol"),
        (dict(price_eps=-1), "price_eps"),
        (dict(price_eps=math.nan), "price_eps"),
        (dict(rp_tol=True), "rp_tol"),
        (dict(rp_tol=1e-8, price_eps=1e-6), "at least price_eps"),
    ],
)
def test_tolerances_are_checked(kw, words):
    ex = with_seller(XOR(leaf({"A": 1}, 5), leaf({"B": 1}, [0, 10])))
    with pytest.raises(ConfigError, match=words):
        IterativeExchange(ex, **kw)


class Answers:
    def __init__(self, out):
        self.out = out

    def revise(self, fb):
        return self.out


@pytest.mark.parametrize("out, words", [(None, "got None"), ((1, 2, 3), "3-tuple"), ("xy", "'xy'")])
def test_a_proxy_must_answer_a_pair(out, words):
    ex = with_seller(XOR(leaf({"A": 1}, 5), leaf({"B": 1}, [0, 10])))
    ice = IterativeExchange(ex)
    with pytest.raises(InvalidInputError, match=f"bidder 'seller' must return \\(lower, upper\\).*{words}"):
        ice.bid("seller", Answers(out))
    with pytest.raises(ConfigError, match="no revise"):
        ice.bid("seller", object())


def test_state_misuse_raises_state_error():
    ex = with_seller(XOR(leaf({"A": 1}, 5), leaf({"B": 1}, [0, 10])))
    ice = IterativeExchange(ex, max_rounds=1)
    with pytest.raises(StateError, match="not closed yet"):
        ice.result()
    ice.run({b: Proxy() for b in ex.names})
    lo, hi = ice.bounds("buyer")
    with pytest.raises(StateError, match="closed"):
        ice.submit("buyer", lo, hi)
    with pytest.raises(StateError, match="closed"):
        ice.close_round()
