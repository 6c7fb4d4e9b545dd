"""ICE studies at toy size: convergence, manipulation and tournament kinds, and their report sections.

Everything runs on exchanges of at most 4 bidders × 3 goods with small trees (about 30 ICE
runs, ~25 s on one core); the same code runs the catalog at its default size.
"""

from __future__ import annotations

import re
import tomllib

import numpy as np
import pandas as pd
import pytest

from auctionlab.errors import ConfigError
from auctionlab.experiments.catalog import CATALOG, catalog_spec
from auctionlab.experiments.kinds import RUN_KINDS
from auctionlab.experiments.runner import replay, run_experiment
from auctionlab.experiments.spec import parse_spec
from auctionlab.experiments.store import ResultStore, read_table
from auctionlab.mechanisms.exchange.ice import run_ice
from auctionlab.report.html import build_report
from auctionlab.strategies.exchange import Misreport, Straightforward, bind
from auctionlab.studies.ice_strategic import ManipulationParams, _Instance, exchange_tournament
from auctionlab.studies.tournament_exchange import section as tour

TINY = {"n_bidders": 4, "n_goods": 3, "nodes": 6, "max_units": 1}
TINY_GRID = {"n_bidders": [4], "n_goods": [3]}
MANIP_DEVS = {"misreport-0.25": {"strategy": "misreport", "params": {"strength": 0.25}}, "stubborn": "stubborn"}
TOURNEY = {
    "straightforward": "straightforward",
    "misreport-0.25": {"strategy": "misreport", "params": {"strength": 0.25}},
}


# the catalog compares the paper's bidder with "eager"; these tests use two bidder kinds that exist everywhere
BIDDERS = ["straightforward", "stubborn"]


def tiny_convergence():
    data = tomllib.loads(CATALOG["ice-convergence"].read_text())  # the catalog spec, with other bidder kinds
    grids = [
        {**TINY_GRID, "cutoff_eff": [0.95], "cutoff_thresh": [0.6, 0.9], "step": [0.5]},
        {**TINY_GRID, "cutoff_eff": [0.95], "cutoff_thresh": [0.9], "step": [0.25, 1.0]},
    ]
    return parse_spec(
        {
            **data,
            "replications": 2,
            "grids": grids,
            "params": {**data["params"], "nodes": 6, "max_units": 1, "max_rounds": 8, "bidders": BIDDERS},
        }
    )


def tiny_manipulation():
    spec = catalog_spec("ice-manipulation")
    return spec.with_(
        replications=2, params={**spec.params, **TINY, "deviators": 1, "max_rounds": 6, "deviations": MANIP_DEVS}
    )


def tiny_tournament():
    spec = catalog_spec("tournament-exchange")
    return spec.with_(replications=2, params={**spec.params, **TINY, "max_rounds": 6, "strategies": TOURNEY})


@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    root = tmp_path_factory.mktemp("ice-studies")
    run_experiment(tiny_convergence(), root / "ice-convergence")
    run_experiment(tiny_manipulation(), root / "ice-manipulation")
    run_experiment(tiny_tournament(), root / "tournament-exchange")
    return root


def no_time(df: pd.DataFrame) -> pd.DataFrame:
    return df.drop(columns=[c for c in df.columns if c.startswith("time_")]).reset_index(drop=True)


# ---------------------------------------------------------------------- convergence
def test_convergence_columns_and_closing(stored):
    runs, rounds = read_table(stored / "ice-convergence"), read_table(stored / "ice-convergence", "rounds")
    assert len(runs) == tiny_convergence().n_runs * len(BIDDERS) == 16  # every instance once per bidder kind
    assert sorted(set(runs["proxy"])) == sorted(BIDDERS) and set(rounds["proxy"]) == set(BIDDERS)
    for col in (
        "rounds",
        "closed_by",
        "efficiency",
        "payment_rms_vs_truth",
        "payment_max_vs_truth",
        "truthful_payment_rms",
        "rounds_to_alpha_thresh",
        "cutoff_eff",
        "cutoff_thresh",
        "step",
        "rp_failures",
        "last_rp_failure_round",
    ):
        assert col in runs.columns, col
    for col in ("round", "alpha_eff", "alpha_thresh", "pp", "po", "efficiency"):
        assert col in rounds.columns, col
    assert runs["closed_by"].isin(["cutoffs", "no_optimistic_trade", "max_rounds", "stalled"]).all()
    stopped = runs["closed_by"] == "max_rounds"
    assert (runs.loc[stopped, "rounds"] == 8 + 1).all()  # max_rounds = 8, then the last-and-final round
    stalled = runs["closed_by"] == "stalled"  # bidders who stop revealing: their state repeats, they stop early
    assert stalled.any() and runs.loc[stalled, "proxy"].isin(["straightforward", "stubborn"]).all()
    assert (runs.loc[stalled, "rounds"] <= 8 + 1).all()
    assert (runs["last_rp_failure_round"] < runs["rounds"]).all()
    closed = runs[runs["closed_by"] == "cutoffs"]
    assert (closed["rounds_to_alpha_thresh"] <= closed["rounds"]).all()
    assert (runs["payment_max_vs_truth"] >= runs["payment_rms_vs_truth"] - 1e-12).all()
    assert (runs["budget_surplus"] >= -1e-6).all()
    # common instances and paired bidder kinds: the same replication is the same exchange everywhere
    g = runs[runs["step"] == 0.5].groupby("replication")["truthful_value"].nunique()
    assert (g == 1).all()


def test_convergence_replay_is_identical(stored):
    stored_runs = read_table(stored / "ice-convergence")
    stored_rounds = read_table(stored / "ice-convergence", "rounds")
    rid = int(stored_runs["run_id"].iloc[-1])
    again = replay(stored / "ice-convergence", rid)
    assert len(again["runs"]) == len(BIDDERS)
    pd.testing.assert_frame_equal(
        no_time(again["runs"]), no_time(stored_runs[stored_runs["run_id"] == rid][again["runs"].columns])
    )
    mine = stored_rounds[stored_rounds["run_id"] == rid][again["rounds"].columns]
    pd.testing.assert_frame_equal(no_time(again["rounds"]), no_time(mine))


# ---------------------------------------------------------------------- manipulation
def test_manipulation_columns_control_and_budgets(stored):
    runs = read_table(stored / "ice-manipulation")
    agents = read_table(stored / "ice-manipulation", "agents")
    spec = tiny_manipulation()
    assert set(runs["deviation"]) == {"control", *MANIP_DEVS}
    assert len(runs) == spec.replications * (len(MANIP_DEVS) + 1)  # one deviator per instance
    from auctionlab.mechanisms.exchange.payment_rules import PAYMENT_RULES

    for col in (
        "efficiency_loss",
        "rounds",
        "baseline_rounds",
        "bidder",
        "role",
        "strategy",
        "closed_by",
        "baseline_closed_by",
    ):
        assert col in runs.columns, col
    for rule in PAYMENT_RULES:  # every registered rule, from the same runs
        for pre in ("gain_", "utility_", "baseline_utility_", "payment_", "surplus_", "baseline_surplus_"):
            assert pre + rule in runs.columns, pre + rule
        assert np.allclose(runs[f"gain_{rule}"], runs[f"utility_{rule}"] - runs[f"baseline_utility_{rule}"])
    # the same final trade under every rule: utilities differ by the payments only
    assert np.allclose(runs["utility_threshold"] + runs["payment_threshold"], runs["utility_vcg"] + runs["payment_vcg"])
    assert set(runs.loc[runs["deviation"] == "stubborn", "strategy"]) == {"stubborn"}
    ctrl = runs[runs["deviation"] == "control"]
    assert (ctrl["gain_threshold"] == 0).all() and (ctrl["gain_vcg"] == 0).all()  # exactly, not approximately
    assert (ctrl["efficiency_loss"] == 0).all() and (ctrl["rounds"] == ctrl["baseline_rounds"]).all()
    # the deviator is a trader of the baseline
    assert (runs["baseline_units_traded"] > 0).all()
    # budgets: Threshold balanced, VCG in deficit whenever anything trades
    base = runs.drop_duplicates("run_id")
    traded = base[base["baseline_traded_units"] > 0]
    assert len(traded) > 0
    assert (traded["baseline_surplus_threshold"] >= -1e-6).all()
    assert (traded["baseline_surplus_vcg"] < -1e-6).all()
    # gain = utility − baseline utility, and the agents table carries every bidder of every run
    assert np.allclose(runs["gain_threshold"], runs["utility_threshold"] - runs["baseline_utility_threshold"])
    assert len(agents) == spec.replications * (1 + len(MANIP_DEVS)) * TINY["n_bidders"]


def test_manipulation_same_seed_same_tables():
    kind = RUN_KINDS["ice-manipulation"]
    p = {
        **TINY,
        "n_bidders": 3,
        "deviators": 1,
        "max_rounds": 5,
        "control": False,
        "deviations": {"misreport-0.5": MANIP_DEVS["misreport-0.25"]},
    }
    seed = np.random.SeedSequence(11, spawn_key=(0, 3))
    a, b = kind(p, seed), kind(p, np.random.SeedSequence(11, spawn_key=(0, 3)))
    pd.testing.assert_frame_equal(no_time(pd.DataFrame(a.runs)), no_time(pd.DataFrame(b.runs)))
    pd.testing.assert_frame_equal(a.agents, b.agents)


def test_vcg_from_the_same_run_equals_running_with_vcg():
    """The proxies never see payments: recomputing VCG at the final bounds equals payment_rule='vcg'."""
    params = {
        **TINY,
        "cutoff_eff": 0.95,
        "cutoff_thresh": 0.9,
        "max_rounds": 8,
        "bound_width": 0.5,
        "common_instances": False,
    }
    inst = _Instance(ManipulationParams.from_mapping(params), np.random.SeedSequence(5))
    prof = [Straightforward()] * 4
    prof[1] = Misreport(0.25)
    out = inst.play(prof)
    proxies = {b: bind(s.clone(), inst.truth.bidders[k].tree.lower) for k, (b, s) in enumerate(zip(inst.names, prof))}
    res = run_ice(inst.exchange, proxies, truth=inst.truth, **{**inst.params, "payment_rule": "vcg"})
    assert res.rounds == out["rounds"]
    for b in inst.names:
        assert res.payments[b] == pytest.approx(out["pay"]["vcg"][b], abs=1e-9)
        assert res.utilities[b] == pytest.approx(out["util"]["vcg"][b], abs=1e-9)


def test_manipulation_parameters_are_checked():
    with pytest.raises(ConfigError, match="reserved"):
        parse_spec({"name": "x", "model": "ice-manipulation", "params": {"deviations": {"control": "lazy"}}})
    with pytest.raises(ConfigError, match="not an exchange strategy"):
        parse_spec({"name": "x", "model": "ice-manipulation", "params": {"deviations": {"s": "truthful"}}})
    with pytest.raises(ConfigError, match="deviator_pool"):
        parse_spec({"name": "x", "model": "ice-manipulation", "params": {"deviator_pool": "losers"}})
    with pytest.raises(ConfigError, match="at least two"):
        parse_spec({"name": "x", "model": "ice-tournament", "params": {"strategies": {"s": "straightforward"}}})


# ---------------------------------------------------------------------- tournament
def test_tournament_profiles(stored):
    runs = read_table(stored / "tournament-exchange")
    k = len(TOURNEY)
    assert len(runs) == tiny_tournament().replications * k * k
    assert set(zip(runs["player"], runs["opponent"])) == {(a, b) for a in TOURNEY for b in TOURNEY}
    for col in (
        "payoff",
        "seats",
        "efficiency",
        "rounds",
        "closed_by",
        "payoff_threshold",
        "payoff_fractional",
        "payoff_vcg",
        "units_traded",
        "traded_units",
    ):
        assert col in runs.columns, col
    assert np.allclose(runs["payoff"], runs["payoff_threshold"])
    assert (runs["seats"] == 1).all()  # one focal bidder per instance


def test_tournament_rows_are_the_tournament_apis(stored):
    # every stored run is one repetition of the Tournament the kind plays, on the run's seed
    runs = read_table(stored / "tournament-exchange")
    spec = tiny_tournament()
    t = exchange_tournament(RUN_KINDS["ice-tournament"].full_params(spec.params))
    cols = ["player", "opponent", "payoff", "payoff_vcg", "rounds", "closed_by"]
    for _, d in runs.groupby("run_id"):
        seed = np.random.SeedSequence(
            int(d["seed_entropy"].iloc[0]), spawn_key=tuple(int(x) for x in str(d["seed_spawn_key"].iloc[0]).split(","))
        )
        again = pd.DataFrame(t.play_repetition(seed))[cols]
        pd.testing.assert_frame_equal(d[cols].reset_index(drop=True), again, check_dtype=False)
    # and the report's result set is built from those rows
    frames = tour.dataset(ResultStore.open(stored / "tournament-exchange"))
    assert frames["results"].players == list(TOURNEY)
    assert frames["results"].repetitions == spec.replications


# ---------------------------------------------------------------------- report
def test_report_sections_from_tiny_stored_runs(stored, monkeypatch):
    from auctionlab.experiments import runner

    def no_simulation(*a, **k):
        raise AssertionError("the report must not simulate")

    monkeypatch.setattr(runner, "execute_chunk", no_simulation)
    html = build_report(stored).read_text()
    for folder, fig in (  # figures are kept per results folder
        ("ice-convergence", "ice-convergence-alpha"),
        ("ice-convergence", "ice-convergence-cutoffs"),
        ("ice-convergence", "ice-convergence-efficiency"),
        ("ice-manipulation", "ice-manipulation"),
        ("tournament-exchange", "tournament-exchange"),
    ):
        assert (stored / "figures" / folder / f"{fig}.png").stat().st_size > 1000, fig
        assert (stored / "figures" / folder / f"{fig}.svg").exists()
    for words in (
        "rounds to close grow with CUTOFF_thresh",
        "closes by its rule (cutoffs) within max_rounds",
        "The reference proxy against itself gains exactly 0",
        "payments never run a deficit",
        "Among budget-balanced payment rules Threshold leaves the smallest gain from shading",
        "VCG payments run a deficit",
        "best response to itself",
        "replicator dynamics settle",
        "Finding: with the paper",
        "relative preferences",
        "Finding: in the all-straightforward baseline",
        "(see the ice-convergence section)",
        "reduced run (2 of 40 replications)",
    ):
        assert words in html, words
    verdicts = re.findall(r"<td class='(agrees|partly|disagrees|insufficient-data|n-a)'>", html)
    assert len(verdicts) >= 12
    # two instances per cell: every statistical verdict is "insufficient data", with its n
    assert "insufficient data <span class='small'>(n = " in html
    assert re.search(
        r"Threshold leaves the smallest gain from shading[^<]*</td>\s*<td class='insufficient-data'>", html
    )
    # no run of the tiny sweep closes by the rule at CUTOFF_thresh = 0.9: the trend claim stays, with n = 0
    assert re.search(
        r"straightforward: rounds to close grow with CUTOFF_thresh</td>\s*<td class='insufficient-data'>"
        r"insufficient data <span class='small'>\(n = 0\)",
        html,
    )
    # the control is a fact of the code, whatever the sample
    assert re.search(r"gains exactly 0 \(.*?\)</td>\s*<td class='agrees'>", html)
