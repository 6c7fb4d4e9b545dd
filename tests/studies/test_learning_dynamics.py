"""The learning-dynamics study: its run kind on a tiny spec end to end (through the runner
and the Mesa models), reproducibility by seed, its report section on hand-made frames
(verdicts that flip with the numbers, "insufficient data" below five runs), and its catalog
spec (it loads, every grid point passes the kind's checks, its place in the study list)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from auctionlab.errors import ConfigError
from auctionlab.experiments.catalog import catalog_spec
from auctionlab.experiments.kinds import RUN_KINDS
from auctionlab.experiments.runner import run_experiment
from auctionlab.experiments.store import ResultStore
from auctionlab.studies import STUDIES, reproduce_list
from auctionlab.studies import learning_runs as L
from auctionlab.studies.learning_dynamics import section as S

TINY_RELAY = {"market": "relay", "mechanism": "kda", "episodes": 21, "checkpoints": 3, "eval_draws": 10}
TINY_EXCHANGE = {"market": "exchange", "rule": "exp3", "episodes": 2, "checkpoints": 2, "max_rounds": 3, "nodes": 4}


def no_time(row: dict) -> dict:
    return {k: v for k, v in row.items() if not k.startswith("time_")}


# ---------------------------------------------------------------------- the run kind
def test_relay_run_rows_and_reproducibility():
    seed = np.random.SeedSequence(11)
    out = L.run_learning(TINY_RELAY, seed)
    (row,) = out.runs
    assert row["market"] == "relay" and row["setting"] == "kda" and row["episodes"] == 21
    assert set(L.LEARNING_METRICS) >= set(row)
    # the learned bid functions are grid points, the ε are gains (>= 0), efficiency a share
    assert row["buyer_a"] in L.DEFAULT_A_GRID and row["seller_b"] in L.DEFAULT_B_GRID
    assert row["eps_buyer"] >= 0.0 and row["eps_seller"] >= 0.0
    assert 0.0 <= row["efficiency"] <= 1.0 + 1e-9 and row["truthful_efficiency"] == pytest.approx(1.0)
    assert row["budget"] == pytest.approx(0.0, abs=1e-12)  # the k-DA pays the seller what the buyer pays
    r = out.rounds
    assert list(r.columns) == ["episode", "role", "agent", "param", "value"]
    assert sorted(r["episode"].unique()) == [7, 14, 21]
    assert set(r["param"]) == {"a", "b", "mean_a", "mean_b", "efficiency", "budget"}
    again = L.run_learning(TINY_RELAY, np.random.SeedSequence(11))
    assert no_time(again.runs[0]) == no_time(row)
    pd.testing.assert_frame_equal(again.rounds, r)
    other = L.run_learning(TINY_RELAY, np.random.SeedSequence(12))
    assert not other.rounds.equals(r)


def test_checkpoints_window_and_grid_helpers():
    assert L.checkpoint_episodes(400, 8) == [50, 100, 150, 200, 250, 300, 350, 400]
    assert L.checkpoint_episodes(5, 5) == [1, 2, 3, 4, 5]
    assert L.window_size(400, 0.25) == 100 and L.window_size(3, 0.1) == 1
    grid = L.br_grid([0.5, 1.0], [0.0, 0.5], refine=2)
    assert grid.shape == (9, 2) and [0.75, 0.25] in grid.tolist() and [1.0, 0.0] in grid.tolist()
    assert L.br_grid([0.5, 1.0], [0.0], 1).tolist() == [[0.5, 0.0], [1.0, 0.0]]
    # importance weighting: one bidder, two arms, arm 0 played twice at p = 0.5 with reward 1
    played = np.array([[0], [0]])
    rewards = np.array([[1.0], [1.0]])
    probs = np.full((2, 1, 2), 0.5)
    assert L.exchange_regret(played, rewards, probs, None).tolist() == [1.0]  # estimate 2 per episode vs 1
    assert L.exchange_regret(played, rewards, probs, np.array([[2.0, 3.0]])).tolist() == [0.5]


@pytest.mark.parametrize(
    "bad, words",
    [
        ({"market": "stock"}, "market"),
        ({"episodes": 3, "checkpoints": 4}, "checkpoints"),
        ({"mechanism": "nope"}, "mechanism"),
        ({"reward_range": [1.0, 0.0]}, "reward_range"),
        ({"shading": [1.5]}, "shading"),
        ({"payment_rule": "free"}, "payment_rule"),
        ({"speed": 2}, "unknown parameter"),
    ],
)
def test_bad_parameters_are_named(bad, words):
    with pytest.raises(ConfigError, match=words):
        RUN_KINDS["learning"].check(bad)


def test_tiny_spec_end_to_end_through_the_runner(tmp_path):
    spec = catalog_spec("learning-dynamics")
    tiny = spec.with_(
        replications=2,
        params={**spec.params, "eval_draws": 10, "checkpoints": 2},
        grids=(
            {"market": ["relay"], "mechanism": ["vcg"], "pairs": [1], "episodes": [10]},
            {
                "market": ["exchange"],
                **{k: [v] for k, v in TINY_EXCHANGE.items() if k not in ("market", "checkpoints")},
            },
        ),
    )
    run_experiment(tiny, tmp_path / "ld")
    store = ResultStore.open(tmp_path / "ld")
    runs = store.table("runs")
    assert len(runs) == 4 and sorted(runs["market"]) == ["exchange", "exchange", "relay", "relay"]
    ex = runs[runs["market"] == "exchange"]
    assert ex["eps_method"].str.startswith("bandit estimate").all()
    assert ((ex["truthful_mass"] > 0) & (ex["truthful_mass"] < 1)).all() and (ex["counterfactual_calls"] == 0).all()
    rounds = store.table("rounds")
    arms = set(rounds.loc[rounds["role"] == "bidder", "param"])
    assert {"straightforward", "misreport 0.1", "stubborn"} <= arms
    sec = S.build(store, tmp_path / "figs")
    assert {f.name for f in sec.figures} == {
        f"{store.name}-relay-trajectories",
        f"{store.name}-exchange-trajectories",
        f"{store.name}-outcomes",
    }
    assert all(f.png.is_file() and f.svg.is_file() for f in sec.figures)
    assert sec.claims and all(c.n == 2 for c in sec.claims)
    assert claim(sec.claims, "stay truthful").verdict == "insufficient data"  # two seeds are too few
    assert any("Finding (ICE, Threshold payments" in n for n in sec.notes)


# ---------------------------------------------------------------------- the section on hand-made frames
def relay_rows(setting: str, n: int, *, pairs: int = 1, **values) -> list[dict]:
    base = {
        "market": "relay",
        "setting": setting,
        "rule": "hedge",
        "episodes": 400,
        "pairs": pairs,
        "buyer_a": 2 / 3,
        "buyer_b": 1 / 12,
        "seller_a": 2 / 3,
        "seller_b": 1 / 4,
        "buyer_truthful_share": 0.0,
        "seller_truthful_share": 0.0,
        "eps_buyer": 0.002,
        "eps_seller": 0.001,
        "eps_method": "grid",
        "efficiency": 0.9,
        "truthful_efficiency": 1.0,
        "budget": 0.0,
        "deficit_share": 0.0,
    }
    return [{**base, **values} for _ in range(n)]


TRUTHFUL = {
    "buyer_a": 1.0,
    "buyer_b": 0.0,
    "seller_a": 1.0,
    "seller_b": 0.0,
    "buyer_truthful_share": 1.0,
    "seller_truthful_share": 1.0,
    "eps_buyer": 0.0,
    "eps_seller": 0.0,
}


def exchange_rows(setting: str, n: int, **values) -> list[dict]:
    base = {
        "market": "exchange",
        "setting": setting,
        "rule": "exp3",
        "episodes": 30,
        "truthful_mass": 0.2,
        "shading_mass": 0.4,
        "modal_arm": "misreport 0.1",
        "eps": 3.0,
        "eps_mean": 2.0,
        "eps_method": "bandit estimate",
        "mean_utility": 4.0,
        "efficiency": 0.8,
        "budget": 1.0,
        "deficit_share": 0.0,
        "max_rounds_share": 0.5,
    }
    return [{**base, **values} for _ in range(n)]


def frames(rows: list[dict]) -> dict:
    runs = pd.DataFrame(rows)
    runs.insert(0, "run_id", range(len(runs)))
    rounds = pd.DataFrame(
        [
            {"run_id": i, "episode": e, "role": "buyer", "agent": 0, "param": "a", "value": 1.0}
            for i in runs["run_id"]
            for e in (1, 2)
        ]
    )
    return S.frames_from(runs, rounds)


def claim(claims, words: str):
    hits = [c for c in claims if words in c.statement]
    assert len(hits) == 1, [c.statement for c in claims]
    return hits[0]


def test_cs_claim_agrees_at_the_equilibrium_and_flips_off_it():
    at_cs = claim(S.claims(frames(relay_rows("kda", 6))), "Chatterjee–Samuelson")
    assert (at_cs.verdict, at_cs.n) == ("agrees", 6)
    assert "not a claim of the TASC or ICE papers" in at_cs.statement
    # the truthful profile: the seller 1/4 from its CS ask (sup-distance), the buyer gains 0.028 > 0.01
    truthful = claim(S.claims(frames(relay_rows("kda", 6, **{**TRUTHFUL, "eps_buyer": 0.028}))), "Chatterjee")
    assert truthful.verdict == "disagrees"
    half = relay_rows("kda", 3) + relay_rows("kda", 3, eps_seller=0.05)
    assert claim(S.claims(frames(half)), "Chatterjee").verdict == "partly"
    assert claim(S.claims(frames(relay_rows("kda", 4))), "Chatterjee").verdict == "insufficient data"
    # on four pairs the known answer does not apply: no claim
    assert not [c for c in S.claims(frames(relay_rows("kda", 6, pairs=4))) if "Chatterjee" in c.statement]


@pytest.mark.parametrize("setting", ["vcg", "trade_reduction"])
def test_truthful_mechanisms_claim_flips_with_one_untruthful_run(setting):
    rows = relay_rows(setting, 6, **TRUTHFUL)
    c = claim(S.claims(frames(rows)), "learners stay truthful")
    assert (c.verdict, c.n) == ("agrees", 6)
    rows[2] = {**rows[2], "buyer_truthful_share": 0.75, "eps_buyer": 0.003}
    assert claim(S.claims(frames(rows)), "learners stay truthful").verdict == "disagrees"
    assert claim(S.claims(frames(relay_rows(setting, 2, **TRUTHFUL))), "stay truthful").verdict == "insufficient data"


def test_budget_claims_follow_the_mechanism_objects():
    vcg = claim(S.claims(frames(relay_rows("vcg", 6, **TRUTHFUL, budget=-0.1, deficit_share=0.4))), "deficit")
    assert "runs a deficit" in vcg.statement and vcg.verdict == "agrees"
    no_deficit = claim(S.claims(frames(relay_rows("vcg", 6, **TRUTHFUL))), "deficit")
    assert no_deficit.verdict == "disagrees"
    tasc = claim(S.claims(frames(relay_rows("tasc", 6, pairs=4))), "deficit")
    assert "never runs a deficit" in tasc.statement and tasc.verdict == "agrees"
    broken = relay_rows("tasc", 5, pairs=4) + relay_rows("tasc", 1, pairs=4, deficit_share=0.01)
    assert claim(S.claims(frames(broken)), "deficit").verdict == "disagrees"


def test_exchange_rules_give_findings_and_a_budget_claim_for_balanced_rules():
    rows = exchange_rows("threshold", 5) + exchange_rows("vcg", 5, budget=-2.0, deficit_share=0.3)
    f = frames(rows)
    cl = S.claims(f)
    c = claim(cl, "Threshold payments are budget balanced")
    assert (c.verdict, c.n) == ("agrees", 5)
    assert not [x for x in cl if "VCG payments" in x.statement]  # VCG payments are not budget balanced
    rows[0] = {**rows[0], "deficit_share": 0.1}
    assert claim(S.claims(frames(rows)), "Threshold payments").verdict == "disagrees"
    notes = S.findings(f)
    assert len(notes) == 2 and all("n = 5 runs" in n for n in notes)
    assert "mass on the paper's bidder 0.2" in notes[0] and "bandit estimate" in notes[0]
    small = S.findings(frames(exchange_rows("threshold", 2)))
    assert "few runs (n = 2 < 5)" in small[0]


def test_tasc_is_reported_as_a_finding_not_a_claim():
    f = frames(relay_rows("tasc", 6, pairs=4, buyer_a=11 / 12, buyer_truthful_share=0.25))
    assert not [c for c in S.claims(f) if "truthful" in c.statement]
    (note,) = S.findings(f)
    assert note.startswith("Finding (TASC, as written; n = 6 runs)") and "buyers 0.25" in note


def test_trajectories_average_agents_then_seeds():
    rounds = pd.DataFrame(
        [
            {"run_id": r, "episode": 5, "role": "buyer", "agent": k, "param": "a", "value": v}
            for r, vals in ((0, (1.0, 0.5)), (1, (0.5, 0.5)))
            for k, v in enumerate(vals)
        ]
    )
    runs = pd.DataFrame(relay_rows("kda", 2)).assign(run_id=[0, 1])
    t = S.trajectories(runs.assign(label="k-DA"), rounds)
    (row,) = t.to_dict("records")
    assert row["param"] == "buyer a" and row["n"] == 2 and row["mean"] == pytest.approx((0.75 + 0.5) / 2)


# ---------------------------------------------------------------------- the catalog spec and the study list
def test_catalog_spec_loads_and_every_point_passes_the_kind_checks():
    spec = catalog_spec("learning-dynamics")
    assert spec.model == "learning" and spec.replications >= S.MIN_RUNS
    kind = RUN_KINDS["learning"]
    points = spec.points()
    for point in points:
        kind.check({**spec.params, **point})
    relay = [p["mechanism"] for p in points if p["market"] == "relay"]
    assert relay == ["kda", "vcg", "trade_reduction", "tasc"]
    assert [p["payment_rule"] for p in points if p["market"] == "exchange"] == ["threshold", "vcg", "no_discount"]
    names = list(STUDIES)
    assert names.index("learning-dynamics") == names.index("tournament-exchange") + 1
    study = STUDIES["learning-dynamics"]
    assert study.kind is L.LEARNING_KIND and study not in reproduce_list()  # too slow for the main job


def test_empty_store_gives_a_note(tmp_path):
    store = SimpleNamespace(
        name="ld",
        spec=SimpleNamespace(
            params={}, description="", grids=(), replications=1, master_seed=1, analysis=None, model="learning"
        ),
        manifest={"spec": {"model": "learning"}, "n_runs": 0},
        table=lambda name: pd.DataFrame(),
        done_runs=lambda: [],
    )
    sec = S.build(store, tmp_path)
    assert sec.notes == ["No runs are stored yet."] and not sec.claims
