"""The ICE engine's cost controls: αthresh only where the closing rule needs it, solve
counts per round, and the payments' V_{−i} solves in parallel (identical results)."""

import math
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pytest

from auctionlab.errors import ConfigError, InvalidInputError
from auctionlab.mechanisms.exchange import random_exchange
from auctionlab.mechanisms.exchange.closing import alpha_thresh_matters
from auctionlab.mechanisms.exchange.ice import SOLVE_KINDS, IterativeExchange, rounds_frame, run_ice
from auctionlab.mechanisms.exchange.mip import WDProgram
from auctionlab.mechanisms.exchange.payments import (
    _WORKER_MODELS,
    _solve_chunk,
    _worker_model,
    chunk_count,
    compute_payments,
    payments_batch,
    structure_digest,
    values_without,
    vcg_discount_array,
)
from auctionlab.mechanisms.exchange.proxies import Proxy
from auctionlab.strategies.exchange import EagerProxy

from .examples import example2, fig1

WD_KINDS = ("wd", "fixed", "vcg_lower", "vcg_upper", "vcg_alpha")


def straightforward(ex, truth, step=0.5):
    """Eager proxies (ρ of every gap each round): runs that converge in a few rounds."""
    return {b: EagerProxy(truth.bidder(b).tree.lower, step) for b in ex.names}


def generated(n, m, seed):
    pair = random_exchange(n, m, rng=seed, bound_width=0.5)
    return pair.bounded, pair.truth


def assert_same_outcome(a, b):
    """Everything ICE decides is identical; αthresh equal wherever both runs computed it."""
    assert (a.rounds, a.closed_by) == (b.rounds, b.closed_by)
    np.testing.assert_array_equal(a.allocation.trade_matrix, b.allocation.trade_matrix)
    assert a.payments == b.payments and a.utilities == b.utilities and a.efficiency == b.efficiency
    both = 0
    for x, y in zip(a.history, b.history, strict=True):
        assert (x.round, x.final, x.closing, x.optimistic_trade) == (y.round, y.final, y.closing, y.optimistic_trade)
        assert (x.pp, x.po, x.alpha_eff, x.provisional_value) == (y.pp, y.po, y.alpha_eff, y.provisional_value)
        np.testing.assert_array_equal(x.trade, y.trade)
        assert (x.prices is None) == (y.prices is None)
        if x.prices is not None:
            np.testing.assert_array_equal(x.prices, y.prices)
        for bx, by in zip(x.bidders, y.bidders, strict=True):
            np.testing.assert_array_equal(bx.lower, by.lower)
            np.testing.assert_array_equal(bx.upper, by.upper)
            assert bx.penalized == by.penalized and bx.queries == by.queries
        if x.alpha_thresh_computed and y.alpha_thresh_computed:
            assert (x.alpha_thresh, x.gamma_thresh, x.payment_gap) == (y.alpha_thresh, y.gamma_thresh, y.payment_gap)
            both += 1
    return both


def wd_solves(res):
    return [sum(r.solve_counts[k] for k in WD_KINDS) for r in res.history]


CASES = [
    ("fig1", lambda: (fig1(), fig1((10, 10), (-5, -5))), dict(cutoff_eff=0.9, cutoff_thresh=0.9)),
    (
        "fig1-no-trade-at-lower",
        lambda: (fig1((2, 15), (-6, -2)), fig1((10, 10), (-5, -5))),
        dict(cutoff_eff=0.9, cutoff_thresh=0.9),
    ),
    ("example2", lambda: (example2(), example2()), dict(cutoff_eff=1.0, cutoff_thresh=1.0)),
    ("5x3 seed 0", lambda: generated(5, 3, 0), {}),
    ("6x3 seed 1", lambda: generated(6, 3, 1), {}),
    ("8x4 seed 2", lambda: generated(8, 4, 2), {}),
    ("7x4 seed 11", lambda: generated(7, 4, 11), {}),
]


@pytest.mark.parametrize("name, make, params", CASES, ids=[c[0] for c in CASES])
def test_alpha_thresh_only_when_needed_changes_no_outcome(name, make, params):
    ex, truth = make()
    runs = {
        mode: run_ice(ex, straightforward(ex, truth), truth=truth, max_rounds=30, track_alpha_thresh=mode, **params)
        for mode in ("needed", "always")
    }
    needed, always = runs["needed"], runs["always"]
    compared = assert_same_outcome(needed, always)
    assert compared >= 1
    assert all(r.alpha_thresh_computed for r in always.history)
    for r in needed.history:
        expected = (not r.final) and alpha_thresh_matters(
            r.alpha_eff, 0.95 if "cutoff_eff" not in params else params["cutoff_eff"], r.optimistic_trade
        )
        assert r.alpha_thresh_computed == expected
        if not expected:
            assert math.isnan(r.alpha_thresh) and math.isnan(r.gamma_thresh) and math.isnan(r.payment_gap)
            assert r.solve_counts["vcg_upper"] == 0 or (not r.final and r.alpha_eff == 0.0)
        if r.final:
            assert r.solve_counts["vcg_upper"] == 0  # the final payments need the lower bounds only
    # never more solves in a round, and fewer over the run (at least the final round's upper ones)
    a, b = wd_solves(needed), wd_solves(always)
    assert all(x <= y for x, y in zip(a, b)) and sum(a) < sum(b)


def test_no_trade_at_lower_bounds_reuses_the_upper_profile_once():
    """αeff = 0 (PP = 0): v^α is the upper profile; with αthresh not needed its VCG
    discounts are computed once (n V_{−i} solves at the upper bounds, λ*_u not re-solved)."""
    ex, truth = fig1((2, 15), (-6, -2)), fig1((10, 10), (-5, -5))
    r0 = {
        mode: IterativeExchange(ex, truth=truth, track_alpha_thresh=mode, cutoff_eff=0.9).step(
            straightforward(ex, truth)
        )
        for mode in ("needed", "always")
    }
    n, a = r0["needed"], r0["always"]
    assert n.alpha_eff == a.alpha_eff == 0.0 and n.optimistic_trade
    assert not n.alpha_thresh_computed and a.alpha_thresh == 0.0
    assert n.solve_counts["wd"] == a.solve_counts["wd"] == 2  # λ*_l and λ*_u only: WD(v^α) = λ*_u
    assert n.solve_counts["vcg_upper"] == a.solve_counts["vcg_upper"] == 2  # both bidders trade at the upper values
    assert n.solve_counts["vcg_lower"] == a.solve_counts["vcg_lower"] == 0  # nobody trades: every solve skipped
    np.testing.assert_array_equal(n.prices, a.prices)
    np.testing.assert_array_equal(n.trade, a.trade)


def test_solve_counts_per_round():
    ex, truth = generated(6, 3, 1)
    res = run_ice(ex, straightforward(ex, truth), truth=truth, max_rounds=30, track_alpha_thresh="always")
    frame = rounds_frame(res.history)
    assert frame["alpha_thresh_computed"].all()
    n = ex.n_bidders
    for r, (_, row) in zip(res.history, frame.iterrows()):
        c = r.solve_counts
        assert set(c) == set(SOLVE_KINDS)
        assert all(row[f"solves_{k}"] == c[k] for k in SOLVE_KINDS)
        assert c["fixed"] == 1 and c["truth"] == 1
        assert c["rp"] == 3 * sum(b.queries for b in r.bidders)  # RP1, RP2, RP3 per check
        assert 0 < c["vcg_lower"] <= n and 0 <= c["vcg_upper"] <= n
        if r.final:
            assert c["wd"] == 2 and c["vcg_alpha"] == c["rwd"] == c["lp"] == 0
        else:
            assert c["rwd"] == r.price_stats["rwd_solves"] and c["lp"] == r.price_stats["lp_solves"] > 0
            interior = 0.0 < r.alpha_eff < 1.0
            assert c["wd"] == 2 + interior and (c["vcg_alpha"] > 0) == interior


def test_bad_engine_parameters():
    with pytest.raises(ConfigError, match=r"track_alpha_thresh must be one of 'needed', 'always', got 'some'"):
        IterativeExchange(fig1(), track_alpha_thresh="some")
    with pytest.raises(ConfigError, match="workers must be a positive integer, got 0"):
        IterativeExchange(fig1(), workers=0)


# ---------------------------------------------------------------------- parallel payments
def test_structure_digest_ignores_bounds_only():
    ex, truth = generated(6, 3, 1)
    other, _ = generated(6, 3, 2)
    assert structure_digest(ex) == structure_digest(truth) != structure_digest(other)


def test_chunked_solves_on_a_kept_model_equal_the_serial_ones():
    """The worker-side path run in this process: chunks solved on one cached model, reused
    across bounds and after another exchange's model, give the serial values exactly."""
    ex, truth = generated(6, 3, 1)
    other, _ = generated(5, 3, 0)
    model = WDProgram(ex)
    jobs = [(ex.node_values("lower"), range(ex.n_bidders)), (ex.node_values(0.3), [1, 4])]
    serial = values_without(ex, jobs, model=model)
    d = structure_digest(ex)
    kept = _worker_model(ex, d, {})
    assert _worker_model(truth, d, {}) is kept  # the same structure: the same model
    pairs = [(0, i) for i in range(ex.n_bidders)] + [(1, 1), (1, 4)]
    vals = [np.asarray(v) for v, _ in jobs]
    assert _solve_chunk(ex, d, {}, vals, pairs) == serial[0] + serial[1]
    _solve_chunk(other, structure_digest(other), {}, [other.node_values("upper")], [(0, 0), (0, 2)])
    t = truth.node_values("lower")
    assert _solve_chunk(truth, d, {}, [t], [(0, 2), (0, 3)]) == values_without(truth, [(t, [2, 3])], model=model)[0]
    assert _worker_model(ex, d, {}) is kept


def test_chunk_count():
    with ProcessPoolExecutor(3) as pool:
        assert chunk_count(pool) == 3 and chunk_count(pool, 5) == 5  # an explicit hint wins
    assert chunk_count(object()) >= 2  # unknown: twice the cores
    with pytest.raises(ConfigError, match="workers must be a positive integer"):
        chunk_count(object(), 0)


def test_payments_batch_equals_one_call_per_profile():
    ex, _ = generated(6, 3, 1)
    model = WDProgram(ex)
    low = model.solve_wd("lower")
    batch = payments_batch(ex, [("threshold", "lower", low), ("vcg", 0.4, None)], model=model)
    one = [compute_payments(ex, "threshold", "lower"), compute_payments(ex, "vcg", 0.4, model=model)]
    for x, y in zip(batch, one):
        assert x.payments == y.payments and x.vcg_discounts == y.vcg_discounts
        np.testing.assert_array_equal(x.allocation.trade_matrix, y.allocation.trade_matrix)
    assert batch[0].n_solves == one[0].n_solves - 1  # λ*_l was given
    _, disc, _ = vcg_discount_array(ex, 0.4, model=model)
    assert list(disc) == list(one[1].vcg_discounts.values())


def small_run(executor=None, mode="always"):
    ex, truth = generated(6, 3, 1)
    return run_ice(
        ex, straightforward(ex, truth), truth=truth, max_rounds=3, executor=executor, track_alpha_thresh=mode
    )


def test_process_pool_gives_identical_ice_results():
    serial = small_run()
    with ProcessPoolExecutor(2) as pool:
        parallel = small_run(pool)
        again = small_run(pool, "needed")  # later runs reuse the workers' models
    assert assert_same_outcome(serial, parallel) == serial.rounds
    assert_same_outcome(serial, again)
    for x, y in zip(serial.history, parallel.history):
        assert x.solve_counts == y.solve_counts


def test_dask_cluster_gives_identical_ice_results():
    distributed = pytest.importorskip("distributed")
    serial = small_run()
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        ex = client.get_executor()
        assert chunk_count(ex) == 2
        parallel = small_run(ex)
    assert assert_same_outcome(serial, parallel) == serial.rounds


def test_pickled_exchange_runs_serially():
    import pickle

    ex, truth = generated(5, 3, 0)
    with ProcessPoolExecutor(1) as pool:
        ice = IterativeExchange(ex, truth=truth, executor=pool, workers=1)
        copy = pickle.loads(pickle.dumps(ice))
    assert copy.executor is None and copy.workers == 1
    proxies = {b: Proxy() for b in ex.names}
    assert copy.step(proxies).solve_counts["wd"] >= 2


# ---------------------------------------------------------------------- the MIP solver
def test_unknown_solver_is_rejected_by_name():
    with pytest.raises(ConfigError, match="no-such-solver"):
        IterativeExchange(fig1(), solver="no-such-solver")
    with pytest.raises(InvalidInputError, match="solves with 'highs'"):
        compute_payments(fig1(), model=WDProgram(fig1()), solver="scip")


def test_workers_build_their_models_with_the_callers_solver():
    """The worker-side models solve like the caller's: same backend, same λ integrality."""
    pytest.importorskip("pyscipopt")
    from auctionlab.experiments.runner import SerialExecutor

    ex = example2()
    model = WDProgram(ex, solver="scip")
    vars(_WORKER_MODELS).pop("cache", None)  # this thread is the "worker" of a SerialExecutor
    res = compute_payments(ex, "threshold", "lower", model=model, executor=SerialExecutor(), workers=2)
    assert res.payments == pytest.approx({"seller": -8, "buyer1": 5, "buyer2": 0, "buyer3": 3, "buyer4": 0})
    (kept,) = _WORKER_MODELS.cache.values()
    assert kept is not model and kept.solver == "scip" and kept.integer_lambda == model.integer_lambda
    ice = run_ice(ex, {b: Proxy() for b in ex.names}, cutoff_eff=1.0, cutoff_thresh=1.0, solver="scip")
    assert ice.payments == pytest.approx(res.payments) and ice.rounds == 2
