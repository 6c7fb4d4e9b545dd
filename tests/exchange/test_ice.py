"""The iterative exchange: golden rounds from the paper, revision rules, convergence."""

import numpy as np
import pytest

from auctionlab.errors import ConfigError, RevisionError
from auctionlab.mechanisms.exchange import OR, XOR, Exchange, leaf, random_exchange
from auctionlab.mechanisms.exchange.ice import IterativeExchange, bidders_frame, rounds_frame, run_ice
from auctionlab.mechanisms.exchange.proxies import Proxy
from auctionlab.strategies.exchange import EagerProxy, LateRevealer, Misreport, StraightforwardProxy, Stubborn, bind
from auctionlab.strategies.exchange_learning import LearningProxy

from .examples import example2, fig1


def keep_all(ex):
    return {b: Proxy() for b in ex.names}


def test_example2_exact_bids_prices_then_threshold_outcome():
    ex = example2()
    ice = IterativeExchange(ex, cutoff_eff=1.0, cutoff_thresh=1.0)
    r0 = ice.step(keep_all(ex))
    assert r0.alpha_eff == 1.0 and r0.alpha_thresh == 1.0 and r0.closing
    assert r0.prices == pytest.approx([10 / 3, 10 / 3, 5 / 3, 5 / 3], abs=1e-5)
    acc = {b.bidder: b.accuracy_error for b in r0.bidders}
    assert acc == pytest.approx(
        {"seller": 0, "buyer1": 2 / 3, "buyer2": 2 / 3, "buyer3": 1 / 3, "buyer4": 1 / 3}, abs=1e-5
    )
    assert ice.final and not ice.done
    last = ice.step(keep_all(ex))
    assert last.final and ice.done
    res = ice.result()
    assert res.allocation.value == pytest.approx(9)
    assert res.allocation.trades["buyer1"] == {"A": 1, "B": 1, "C": 0, "D": 0}
    assert res.allocation.trades["buyer3"] == {"A": 0, "B": 0, "C": 1, "D": 1}
    assert res.payments == pytest.approx({"seller": -8, "buyer1": 5, "buyer2": 0, "buyer3": 3, "buyer4": 0})
    assert res.closed_by == "cutoffs" and res.rounds == 2


def test_example1_fig1_round_zero():
    ex = fig1()
    ice = IterativeExchange(ex, cutoff_eff=1.0, cutoff_thresh=0.5)
    r0 = ice.step(keep_all(ex))
    assert (r0.pp, r0.po, r0.alpha_eff) == pytest.approx((4, 4, 1))
    assert r0.alpha_thresh == pytest.approx(2 / 5) and r0.gamma_thresh == pytest.approx(5 / 2)
    assert r0.prices == pytest.approx([7, 7], abs=1e-5)  # ACC 12..16, FAIR 14, BAL 7 / 7
    assert {b.bidder: b.fairness_error for b in r0.bidders} == pytest.approx({"buyer": 2, "seller": 2}, abs=1e-5)
    assert not r0.closing  # αthresh 0.4 < 0.5


def test_eager_proxies_close_example1():
    ex, truth = fig1(), fig1((10, 10), (-5, -5))
    proxies = {b: EagerProxy(truth.bidder(b).tree.lower, 0.5) for b in ex.names}
    res = run_ice(ex, proxies, cutoff_eff=0.9, cutoff_thresh=0.9, truth=truth)
    alphas = [r.alpha_thresh for r in res.history]
    assert alphas[:4] == pytest.approx([0.4, 0.7, 0.85, 0.925])  # the gap halves each round
    assert res.closed_by == "cutoffs" and res.efficiency == 1.0
    assert res.payments["buyer"] + res.payments["seller"] == pytest.approx(0)
    assert res.utilities["buyer"] >= 0 and res.utilities["seller"] >= 0


def test_the_papers_bidder_stalls_on_example1():
    """Both bidders pass RP at every round without narrowing (the trade is clear at any
    consistent values), so αthresh stays at 0.4 and the run ends at max_rounds: the
    activity rule constrains relative preferences, the Threshold payments need absolute
    values."""
    ex, truth = fig1(), fig1((10, 10), (-5, -5))
    proxies = {b: StraightforwardProxy(truth.bidder(b).tree.lower, 0.5) for b in ex.names}
    res = run_ice(
        ex,
        proxies,
        cutoff_eff=0.9,
        cutoff_thresh=0.9,
        max_rounds=6,
        truth=truth,
        track_alpha_thresh="always",
        stop_on_stall=False,
    )
    assert [r.alpha_thresh for r in res.history[:-1]] == pytest.approx([0.4] * 6)
    assert res.closed_by == "max_rounds" and res.rounds == 7 and res.efficiency == 1.0
    assert all(b.rp is None or b.rp.passed for r in res.history for b in r.bidders)
    assert [b.lower.tolist() for b in res.history[-1].bidders] == [b.tree.lower.tolist() for b in ex.bidders]


def test_revisions_are_validated_and_leave_state_untouched():
    ex = fig1()
    ice = IterativeExchange(ex)
    lo, hi = ice.bounds("buyer")
    before = ice.exchange
    with pytest.raises(RevisionError, match=r"bidder 'buyer' node root/0: lower bound falls from 8.0 to 7.0"):
        ice.submit("buyer", lo - np.array([0, 1, 0]), hi)
    with pytest.raises(RevisionError, match="upper bound rises"):
        ice.submit("buyer", lo, hi + 1)
    with pytest.raises(RevisionError, match="shape"):
        ice.submit("buyer", lo[:2], hi[:2])
    with pytest.raises(RevisionError, match="lower value 14.0 > upper value 9.0"):
        ice.submit("buyer", np.array([0, 14, 8.0]), np.array([0, 9, 15.0]))
    with pytest.raises(RevisionError, match="not finite"):
        ice.submit("buyer", np.array([0, np.nan, 8.0]), hi)
    assert ice.exchange is before
    ice.submit("buyer", lo + np.array([0, 1, 1]), hi - np.array([0, 1, 0]))
    assert ice.bounds("buyer")[0].tolist() == [0, 9, 9]


def test_bad_configuration():
    ex = fig1()
    for kw, words in (
        (dict(cutoff_eff=0.0), "cutoff_eff"),
        (dict(cutoff_thresh=1.5), "cutoff_thresh"),
        (dict(max_rounds=0), "max_rounds"),
        (dict(truth=example2()), "same structure"),
    ):
        with pytest.raises((ConfigError, Exception), match=words):
            IterativeExchange(ex, **kw)
    with pytest.raises(ConfigError, match="step"):
        StraightforwardProxy(np.zeros(3), step=0)
    with pytest.raises(ConfigError, match="no proxy for bidders"):
        run_ice(ex, {"buyer": Proxy()})


@pytest.mark.parametrize("n, m, seed", [(5, 3, 0), (6, 3, 1), (8, 4, 2)])
def test_convergence_with_eager_proxies(n, m, seed):
    pair = random_exchange(n, m, rng=seed, bound_width=0.5)
    ex, truth = pair.bounded, pair.truth
    proxies = {b: EagerProxy(truth.bidder(b).tree.lower, 0.5) for b in ex.names}
    res = run_ice(ex, proxies, cutoff_eff=0.95, cutoff_thresh=0.9, max_rounds=30, truth=truth)
    assert res.closed_by in ("cutoffs", "no_optimistic_trade")
    assert res.efficiency >= 0.99
    assert res.budget_surplus >= -1e-6
    frame = rounds_frame(res.history)
    assert len(frame) == res.rounds and frame["alpha_eff"].between(0, 1).all()
    assert frame["alpha_thresh"].iloc[-2] >= 0.9 - 1e-9 or res.closed_by == "no_optimistic_trade"
    # bounds never widen across rounds
    b = bidders_frame(res.history)
    widths = b.pivot(index="round", columns="bidder", values="width_total")
    assert (widths.diff().dropna() <= 1e-9).all().all()
    for r0, r1 in zip(res.history, res.history[1:]):
        for a, c in zip(r0.bidders, r1.bidders):
            assert (c.lower >= a.lower - 1e-12).all() and (c.upper <= a.upper + 1e-12).all()


def test_penalty_for_failing_the_activity_rule():
    """A bidder that fails RP and stops revising keeps trading, but its upper bounds fall
    to max(node price, lower bound) at the provisional prices"""
    from auctionlab.mechanisms.exchange.activity import node_prices

    ex = Exchange.from_dict(
        {
            "goods": ["A", "B"],
            "bidders": {
                "seller": {"endowment": {"A": 1, "B": 1}, "tree": OR(leaf({"A": -1}, -1), leaf({"B": -1}, -1))},
                "buyer": {"tree": XOR(leaf({"A": 1}, [2, 10]), leaf({"B": 1}, 6))},
                "rival": {"tree": leaf({"B": 1}, [3, 4])},
            },
        }
    )
    ice = IterativeExchange(ex, max_rounds=5)
    ice.step(keep_all(ex))
    p = ice.prices.copy()
    lo, hi = ice.bounds("buyer")
    r1 = ice.step(keep_all(ex))
    rec = {b.bidder: b for b in r1.bidders}
    assert rec["buyer"].rp is not None and not rec["buyer"].rp.passed
    assert rec["buyer"].penalized and rec["buyer"].queries == 1
    tree = ex.bidder("buyer").tree
    x0 = ex.endowments[1]
    price = node_prices(tree, x0, ex.endowments.sum(axis=0) - x0, p)
    assert rec["buyer"].upper == pytest.approx(np.minimum(hi, np.maximum(price, lo)))
    assert rec["buyer"].upper[1] < hi[1]  # the uncertain +A node was capped
    assert (rec["buyer"].lower == lo).all()


def test_vcg_payment_rule_for_comparison():
    ex = example2()
    res = run_ice(ex, keep_all(ex), cutoff_eff=1.0, cutoff_thresh=1.0, payment_rule="vcg")
    assert res.payments == pytest.approx({"seller": -9, "buyer1": 4, "buyer2": 0, "buyer3": 2, "buyer4": 0})
    assert res.budget_surplus == pytest.approx(-3)  # the VCG deficit of Ex. 2
    with pytest.raises(ConfigError, match="payment_rule"):
        IterativeExchange(ex, payment_rule="pay-as-bid")


def test_parallel_payments_give_identical_results():
    from concurrent.futures import ProcessPoolExecutor

    pair = random_exchange(5, 3, rng=3, bound_width=0.5)
    ex, truth = pair.bounded, pair.truth

    def run(executor):
        proxies = {b: EagerProxy(truth.bidder(b).tree.lower, 0.5) for b in ex.names}
        return run_ice(ex, proxies, cutoff_eff=0.95, cutoff_thresh=0.9, max_rounds=20, truth=truth, executor=executor)

    serial = run(None)
    with ProcessPoolExecutor(2) as pool:
        parallel = run(pool)
    assert parallel.payments == serial.payments and parallel.rounds == serial.rounds
    a, b = rounds_frame(serial.history), rounds_frame(parallel.history)
    cols = [c for c in a.columns if not c.startswith("time_")]
    assert a[cols].equals(b[cols])


# ---------------------------------------------------------------------- stall detection
def _same_outcome(a, b):
    """Final trade, payments under every rule, the last-and-final round's αeff / PP / PO,
    and the prices and trade of the last round before it: equal bit for bit."""
    assert np.array_equal(a.allocation.trade_matrix, b.allocation.trade_matrix)
    assert a.payments == b.payments and a.payments_by_rule == b.payments_by_rule
    assert a.utilities == b.utilities and a.efficiency == b.efficiency
    fa, fb = a.history[-1], b.history[-1]
    assert (fa.alpha_eff, fa.pp, fa.po) == (fb.alpha_eff, fb.pp, fb.po)
    assert np.array_equal(a.history[-2].prices, b.history[-2].prices)
    assert np.array_equal(a.history[-2].trade, b.history[-2].trade)


def test_a_stalled_run_stops_early_with_the_outcome_of_the_run_to_max_rounds():
    """Example 1 with the paper's bidder: round 1 leaves exactly the state round 0 left
    (no check fails, no bound moves, prices 7 / 7 again), so every later round repeats it.
    The run goes to its last-and-final round at once, with the outcome of the run to max_rounds."""
    ex, truth = fig1(), fig1((10, 10), (-5, -5))
    proxies = {b: StraightforwardProxy(truth.bidder(b).tree.lower, 0.5) for b in ex.names}
    kw = dict(cutoff_eff=0.9, cutoff_thresh=0.9, max_rounds=6, truth=truth, track_alpha_thresh="always")
    stopped = run_ice(ex, proxies, **kw)
    full = run_ice(ex, proxies, stop_on_stall=False, **kw)
    assert stopped.closed_by == "stalled" and stopped.rounds == 3
    assert full.closed_by == "max_rounds" and full.rounds == 7
    _same_outcome(stopped, full)
    assert stopped.payments == pytest.approx({"buyer": 14.0, "seller": -14.0})
    # every round of the full run from round 1 on repeats round 1 (apart from the last-and-final one)
    for r in full.history[1:-1]:
        assert np.array_equal(r.prices, full.history[1].prices) and r.alpha_thresh == full.history[1].alpha_thresh
    assert [r.alpha_eff for r in stopped.history] == [r.alpha_eff for r in full.history[:2]] + [
        full.history[-1].alpha_eff
    ]


@pytest.mark.parametrize("seed", [5, 9])
def test_generated_stalls_have_the_outcome_of_the_run_to_max_rounds(seed):
    """Generated instances where the prices still move for a few rounds (the price LP's trade
    pool grows) before the state repeats: same trade, payments, prices and αeff as running on."""
    pair = random_exchange(4, 2, rng=seed, nodes=8, max_units=2, bound_width=0.5)
    ex, truth = pair.bounded, pair.truth
    proxies = {b: StraightforwardProxy(truth.bidder(b).tree.lower, 0.5) for b in ex.names}
    stopped = run_ice(ex, proxies, max_rounds=10, truth=truth)
    full = run_ice(ex, proxies, max_rounds=10, truth=truth, stop_on_stall=False)
    assert stopped.closed_by == "stalled" and full.closed_by == "max_rounds"
    assert stopped.rounds == 4 and full.rounds == 11
    _same_outcome(stopped, full)
    for ra, rb in zip(stopped.history[:-1], full.history):  # the rounds both ran are the same rounds
        assert np.array_equal(ra.prices, rb.prices) and np.array_equal(ra.trade, rb.trade)


class _Unmarked:
    """A proxy that keeps its bounds but does not declare itself stationary."""

    def revise(self, fb):
        return fb.lower, fb.upper


def test_no_stall_stop_without_stationary_proxies_or_with_direct_submissions():
    ex, truth = fig1(), fig1((10, 10), (-5, -5))
    kw = dict(cutoff_eff=0.9, cutoff_thresh=0.9, max_rounds=5)
    assert run_ice(ex, keep_all(ex), **kw).closed_by == "stalled"
    mixed = {"buyer": Proxy(), "seller": _Unmarked()}
    res = run_ice(ex, mixed, **kw)
    assert res.closed_by == "max_rounds" and res.rounds == 6
    ice = IterativeExchange(ex, **kw)
    while not ice.done:  # bounds submitted directly: the engine cannot know the caller repeats itself
        for b in ex.names:
            ice.submit(b, *ice.bounds(b))
        ice.close_round()
    assert ice.result().closed_by == "max_rounds"
    with pytest.raises(ConfigError, match="stop_on_stall"):
        IterativeExchange(ex, stop_on_stall="yes")


def test_which_strategies_are_stationary():
    truth = np.zeros(3)
    assert bind(Misreport(0.25), truth).stationary and bind(Stubborn(), truth).stationary
    assert LateRevealer().stationary and LateRevealer(base=Stubborn()).stationary
    assert not bind(LearningProxy(), truth).stationary
