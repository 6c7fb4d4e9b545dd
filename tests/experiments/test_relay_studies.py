"""Relay strategic studies (issue 7): fast counterfactuals, the three run kinds, their report sections.

Everything runs at toy size; the paper-scale manipulation study is marked slow.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from auctionlab.analysis.games import SOLVERS, solve
from auctionlab.analysis.relay_studies import role_game, tournament_matrices, unilateral_regret
from auctionlab.analysis.report import build_report
from auctionlab.errors import ConfigError
from auctionlab.experiments.catalog import catalog_spec
from auctionlab.experiments.kinds import RUN_KINDS
from auctionlab.experiments.relay_studies import (
    MANIP_METRICS,
    PHASE1_MECHANISMS,
    STUDY_MECHANISMS,
    FastRound,
    _mechanism_fn,
    best_response,
    draw_instance,
    homogeneous_values,
    paper_scale_manipulation_spec,
)
from auctionlab.experiments.runner import run_experiment
from auctionlab.experiments.spec import parse_spec
from auctionlab.market.relay.mechanisms import RelayRound
from auctionlab.market.relay.network import RelayNetwork
from auctionlab.market.relay.tasc import assign
from auctionlab.strategies.measure import manipulation_gain
from auctionlab.strategies.relay import BestResponse

TOL = 1e-9


def _instance(seed: int, n: int, m: int, coarse: bool = False):
    gen = np.random.default_rng(seed)
    net, values, costs = draw_instance(gen, {"n": n, "m": m, "vmax": 4.0, "cost_range": [0.0, 1.0]})
    if coarse:  # ties between reports: the index tie rules must match the reference exactly
        values, costs = np.ceil(values * 2) / 2 * net.useful, np.ceil(costs * 4) / 4
    return gen, net, values, costs


# ---------------------------------------------------------------------- FastRound == RelayRound
@pytest.mark.parametrize("seed", range(6))
def test_fast_round_equals_relay_round_report_by_report(seed):
    gen, net, values, costs = _instance(seed, *[(6, 6), (7, 4), (4, 8)][seed % 3], coarse=seed % 2 == 1)
    n, m = net.n, net.m
    bids = values * gen.uniform(0.6, 1.2, size=values.shape)
    asks = costs * gen.uniform(0.8, 1.4, size=costs.shape)
    if seed % 2:
        bids, asks = np.round(bids * 2) / 2, np.round(asks * 4) / 4
    for mech in STUDY_MECHANISMS:
        vals = homogeneous_values(values, net.useful) if mech == "mcafee_homogeneous" else values
        sigma = assign(net, "mwm") if mech in PHASE1_MECHANISMS else np.full(n, -1)
        rnd = RelayRound(net, vals, costs, bids, asks, sigma, _mechanism_fn(mech, 0.3))
        fr = FastRound(net, vals, costs, bids, asks, sigma, mech, 0.3)
        levels = np.unique(np.concatenate([bids.ravel(), asks, [0.0]]))
        for i in range(n):
            reps = np.vstack([vals[i] * t for t in gen.uniform(0, 2, size=8)]
                             + [np.where(vals[i] > 0, x, 0.0) for x in levels[:: max(1, levels.size // 12)]])
            ref = [rnd.utility_if("buyer", i, r) for r in reps]
            assert fr.buyer(i, reps).tolist() == ref, (mech, "buyer", i)
        for j in range(m):
            xs = np.concatenate([costs[j] * gen.uniform(0, 3, size=8), levels[:: max(1, levels.size // 12)]])
            ref = [rnd.utility_if("seller", j, x) for x in xs]
            assert fr.seller(j, xs).tolist() == ref, (mech, "seller", j)


@pytest.mark.parametrize("mech", ["tasc", "trade_reduction", "kda"])
def test_best_response_matches_the_best_response_strategy(mech):
    """Same grid, same answer: the study's vectorised search finds exactly BestResponse's gain."""
    _, net, values, costs = _instance(11, 8, 8)
    sigma = assign(net, "mm")
    rnd = RelayRound(net, values, costs, values, costs, sigma, _mechanism_fn(mech, 0.5))
    fr = FastRound(net, values, costs, values, costs, sigma, mech, 0.5)
    ref = manipulation_gain(rnd, None, {"br": BestResponse()}).set_index(["role", "index"])["gain"]
    for role, size in (("buyer", 8), ("seller", 8)):
        for idx in range(size):
            truth = values[idx] if role == "buyer" else float(costs[idx])
            got = best_response(fr, role, idx, truth)["gain"] if fr.relevant(role, idx) else 0.0
            assert got == pytest.approx(ref[(role, idx)], abs=1e-12), (role, idx)


def _a4_network(n: int, m: int, sigma) -> RelayNetwork:
    relayed = np.full((n, m), 1.0)
    on = np.flatnonzero(np.asarray(sigma) >= 0)
    relayed[on, np.asarray(sigma)[on]] = 3.0
    return RelayNetwork.from_capacities(np.full(n, 2.0), relayed)


def test_best_response_finds_the_spec_a4_prime_flaw_and_nothing_under_trade_reduction():
    sigma = np.array([3, 4, 0, 1, 2])
    values = np.zeros((5, 5))
    values[np.arange(5), sigma] = [2.9, 3.3, 0.2, 3.3, 0.6]
    asks = np.array([0.5, 1.2, 1.9, 0.1, 2.9])
    net = _a4_network(5, 5, sigma)
    br = best_response(FastRound(net, values, asks, values, asks, sigma, "tasc"), "buyer", 0, values[0])
    assert br["truthful_utility"] == 0 and br["gain"] == pytest.approx(2.3)  # bid 0.6 (or just below 2.9) wins
    tr = FastRound(net, values, asks, values, asks, sigma, "trade_reduction")
    assert best_response(tr, "buyer", 0, values[0])["gain"] == 0

    sigma = np.array([-1, 2, 1, 3, 0])
    values = np.zeros((5, 4))
    values[[1, 2, 3, 4], [2, 1, 3, 0]] = [3.1, 3.0, 2.6, 1.7]
    costs = np.array([1.1, 0.1, 1.9, 0.7])
    net = _a4_network(5, 4, sigma)
    br = best_response(FastRound(net, values, costs, values, costs, sigma, "tasc"), "seller", 1, 0.1)
    assert br["truthful_utility"] == pytest.approx(1.0) and br["gain"] >= 0.8 - 1e-9
    tr = FastRound(net, values, costs, values, costs, sigma, "trade_reduction")
    assert best_response(tr, "seller", 1, 0.1)["gain"] == 0


# ---------------------------------------------------------------------- the run kinds
def test_manipulation_kind_columns_and_real_numbers():
    kind = RUN_KINDS["relay-manipulation"]
    runs, agents = [], []
    for r in range(4):
        out = kind({"n": 8, "m": 8, "agents": 0}, np.random.SeedSequence(7, spawn_key=(r,)))
        runs += out.runs
        agents.append(out.agents)
    runs, agents = pd.DataFrame(runs), pd.concat(agents, ignore_index=True)
    assert set(MANIP_METRICS) <= set(runs.columns)
    assert len(runs) == 4 * 12 and set(runs["mechanism"]) == set(STUDY_MECHANISMS)
    assert {"variant", "role", "index", "max_gain", "profitable", "truthful_utility", "best_kind"} <= set(agents)
    # the fast truthful utility equals the reference mechanism's realised utility
    assert np.allclose(agents["truthful_utility"], agents["realised_utility"], atol=1e-12)
    gain = agents.groupby("mechanism")["max_gain"].max()
    for mech in ("trade_reduction", "vcg", "mcafee_homogeneous"):
        assert gain[mech] <= TOL, mech
    assert gain["kda"] > 0.1 and (agents["max_gain"] >= 0).all()
    # k-DA: every agent who trades can gain (bid down to the ask / ask up to the bid)
    kda = agents[(agents["mechanism"] == "kda") & agents["trades_truthfully"]]
    assert len(kda) and kda["profitable"].all()
    assert (runs.loc[runs["mechanism"] == "vcg", "profit"] < 0).any()
    assert (runs.loc[runs["mechanism"] != "vcg", "profit"] >= -1e-9).all()
    pot = runs[runs["algorithm"] != "-"].pivot_table(index=["algorithm"], columns="mechanism", values="trades",
                                                     aggfunc="sum")
    assert len(pot) == 3 and (pot["tasc"] >= pot["trade_reduction"]).all()


def _tiny_tournament_params(**kw):
    return {"n": 8, "m": 8, "league_rounds": 15, "matrix_instances": 2, "matrix_agents": 8,
            "mechanisms": ["kda", "trade_reduction"], **kw}


def test_tournament_kind_leaderboard_and_matrix():
    out = RUN_KINDS["relay-tournament"](_tiny_tournament_params(), np.random.SeedSequence(2024))
    runs = pd.DataFrame(out.runs)
    assert {"mechanism", "part", "role", "strategy", "background", "mean_utility", "observations"} <= set(runs)
    league = runs[runs["part"] == "league"].set_index(["mechanism", "role", "strategy"])["mean_utility"]
    assert league.notna().all()  # balanced seats: every strategy plays in every role
    for role in ("buyer", "seller"):
        assert league[("kda", role, "best_response")] >= league[("kda", role, "truthful")]
    mats = tournament_matrices(runs.assign(run_id=0))
    for role in ("buyer", "seller"):
        A = mats["kda"][role]
        assert (A.loc["best_response"] >= A.loc["truthful"] - 1e-12).all()  # paired: BR includes the truth
        assert (A.loc["best_response"] > A.loc["truthful"] + 1e-6).any()
        T = mats["trade_reduction"][role]
        assert (T["truthful"] <= T.loc["truthful", "truthful"] + TOL).all()  # nobody beats truth against truth
    assert {"mechanism", "step", "role", "strategy", "mean_theta"} <= set(out.rounds.columns)


def test_equilibrium_game_solvers_and_unilateral_regret():
    params = {"n": 8, "m": 8, "instances": 6, "deviators": 2, "buyer_thetas": [0.5, 0.75, 1.0],
              "seller_thetas": [1.0, 1.5, 2.0]}
    frames = {}
    for mech in ("kda", "trade_reduction"):
        out = RUN_KINDS["relay-equilibrium"]({**params, "mechanism": mech}, np.random.SeedSequence(99))
        runs = pd.DataFrame(out.runs).assign(run_id=0)
        assert {"instance", "theta_buyer", "theta_seller", "buyer_payoff", "seller_payoff"} <= set(runs)
        assert len(runs) == 6 * 9
        frames[mech] = (runs, out.agents.assign(run_id=0))
    g = role_game(frames["kda"][0], params["buyer_thetas"], params["seller_thetas"])
    scale = float(np.ptp(g.payoff_tensor()))
    for name in SOLVERS:
        res = solve(g, name, rng=0)
        assert res.regret <= 1e-3 * scale, name
        assert g.mixture_regret(res.mixture) == pytest.approx(res.regret, abs=1e-9)
    gen = np.random.default_rng(0)
    uni = {m: unilateral_regret(frames[m][1], gen, n_boot=100).set_index(["theta_buyer", "theta_seller"])
           for m in frames}
    assert uni["trade_reduction"].loc[(1.0, 1.0), "regret"] <= TOL
    assert uni["kda"].loc[(1.0, 1.0), "regret"] > 0.01


def test_equilibrium_learning_part():
    out = RUN_KINDS["relay-equilibrium"]({"part": "learning", "n": 4, "m": 4, "rounds": 6, "mechanism": "kda"},
                                         np.random.SeedSequence(1))
    assert len(out.runs) == 1 and 0.5 <= out.runs[0]["final_theta_buyer"] <= 1.5
    assert {"step", "theta_buyer", "theta_seller", "played_theta_buyer", "utility_seller"} <= set(out.rounds)
    assert out.rounds["step"].tolist() == list(range(1, 7))


@pytest.mark.parametrize("bad, match", [
    ({"model": "relay-manipulation", "params": {"mechanisms": ["nope"]}}, "unknown study mechanism"),
    ({"model": "relay-manipulation", "params": {"agents": -1}}, "non-negative"),
    ({"model": "relay-tournament", "params": {"mechanisms": ["mcafee_homogeneous"]}}, "homogeneous"),
    ({"model": "relay-tournament", "params": {"strategies": {"x": {"buyer": "truthful"}}}}, "buyer.*seller"),
    ({"model": "relay-equilibrium", "params": {"buyer_thetas": [0.5, 0.8]}}, "1.0"),
    ({"model": "relay-equilibrium", "params": {"learner": "sgd"}}, "learner"),
])
def test_bad_specs_fail_before_running(bad, match):
    with pytest.raises(ConfigError, match=match):
        parse_spec({"name": "x", **bad})


def test_catalog_and_paper_scale_specs_validate():
    for name in ("relay-manipulation", "tournament", "equilibrium"):
        spec = catalog_spec(name)
        assert spec.n_runs > 0 and spec.analysis_name == name
    spec = parse_spec(paper_scale_manipulation_spec())
    assert spec.analysis_name == "relay-manipulation" and spec.params["agents"] == 10


# ---------------------------------------------------------------------- stored runs, report, reproducibility
def _tiny_specs():
    m = catalog_spec("relay-manipulation")
    m = m.with_(replications=3, params={**m.params, "agents": 3},
                grids=({"n": (6, 8), "m": (6, 8), "vmax": (4.0,)}, {"n": (6,), "m": (6,), "vmax": (2.0,)}))
    t = catalog_spec("tournament")
    t = t.with_(replications=2, params={**t.params, **_tiny_tournament_params(league_rounds=5),
                                        "mechanisms": ["kda", "tasc", "trade_reduction"]})
    e = catalog_spec("equilibrium")
    grids = tuple({k: (v if k != "rounds" else (8,)) for k, v in g.items()} for g in e.grids)
    e = e.with_(replications=2, grids=grids, params={**e.params, "n": 5, "m": 5, "instances": 3, "deviators": 2,
                                                     "buyer_thetas": [0.6, 1.0], "seller_thetas": [1.0, 1.5]})
    return [m, t, e]


@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    root = tmp_path_factory.mktemp("relay-studies")
    for spec in _tiny_specs():
        run_experiment(spec, root / spec.name)
    return root


def test_report_sections_from_stored_runs(stored, monkeypatch):
    import auctionlab.experiments.runner as runner

    def no_simulation(*a, **k):
        raise AssertionError("the report must not simulate")

    monkeypatch.setattr(runner, "execute_chunk", no_simulation)
    html = build_report(stored).read_text()
    for fig in ("relay-manipulation-frequency", "relay-manipulation-efficiency", "tournament-leaderboard",
                "tournament-replicator", "equilibrium-regret", "equilibrium-learning"):
        assert (stored / "figures" / f"{fig}.png").stat().st_size > 1000
        assert (stored / "figures" / f"{fig}.svg").exists()
    for words in ("Trade reduction (SPEC A4′): no agent gains", "VCG double auction runs a deficit",
                  "k-double auction: profitable deviations are common", "price of truthfulness",
                  "Leaderboard", "Replicator dynamics", "each find an approximate equilibrium"):
        assert words in html, words
    import re

    verdicts = re.findall(r"<td class='(holds|fails|partly)'>", html)
    assert len(verdicts) >= 15
    # the claims that hold by theorem hold on the stored runs
    for statement in ("Trade reduction (SPEC A4′): no agent gains by deviating",
                      "VCG double auction: no agent gains by deviating",
                      "TASC, trade reduction, k-DA and McAfee never run a deficit",
                      "Trade reduction trades the same or fewer pairs"):
        i = html.index(statement)
        assert html[i:i + 400].count("class='holds'") >= 1, statement


def test_same_seed_same_tables(stored, tmp_path):
    from auctionlab.experiments.store import ResultStore

    for spec in _tiny_specs()[:2]:
        run_experiment(spec, tmp_path / spec.name)
        a, b = ResultStore.open(stored / spec.name), ResultStore.open(tmp_path / spec.name)
        for table in ("runs", "agents", "rounds"):
            x, y = a.table(table), b.table(table)
            drop = [c for c in x.columns if c.startswith("time_")]
            pd.testing.assert_frame_equal(x.drop(columns=drop), y.drop(columns=drop))


@pytest.mark.slow
def test_manipulation_at_paper_scale(tmp_path):
    spec = parse_spec(paper_scale_manipulation_spec()).with_(replications=2)
    run_experiment(spec, tmp_path / "paper")
    from auctionlab.experiments.store import ResultStore

    agents = ResultStore.open(tmp_path / "paper").table("agents")
    gain = agents.groupby("mechanism")["max_gain"].max()
    assert gain["trade_reduction"] <= TOL and gain["vcg"] <= TOL and gain["kda"] > 0
