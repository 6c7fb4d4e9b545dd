"""The relay studies' report sections on hand-made frames: dataset shaping, each claim's
verdict on data built to agree and built to disagree, "insufficient data" on tiny samples,
figures written as PNG and SVG, and the one palette / label set read from the mechanism objects."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from auctionlab.mechanisms.relay.mechanisms import (
    KDA,
    TASC,
    VCG,
    TradeReduction,
)
from auctionlab.report.sections import VERDICTS
from auctionlab.strategies import BestResponse, Scale, Truthful
from auctionlab.studies import STUDIES
from auctionlab.studies import relay_common as C
from auctionlab.studies.equilibrium import section as E
from auctionlab.studies.relay_manipulation import section as M
from auctionlab.studies.tournament import section as T


class FakeStore:
    """What a section reads from a ResultStore: name, spec, manifest, tables."""

    def __init__(self, name: str, tables: dict[str, pd.DataFrame], params: dict | None = None):
        self.name = name
        self._tables = tables
        self.spec = SimpleNamespace(
            master_seed=7, params=params or {}, description="hand-made", grids=(), replications=1
        )
        self.manifest = {"spec": {"model": "hand-made"}, "n_runs": 1}

    def table(self, name: str) -> pd.DataFrame:
        return self._tables.get(name, pd.DataFrame())

    def done_runs(self):
        return [0]


def by_statement(claims, words: str):
    hits = [c for c in claims if words in c.statement]
    assert len(hits) == 1, (words, [c.statement for c in claims])
    return hits[0]


# ====================================================================== shared helpers
def test_one_palette_and_labels_read_from_the_mechanism_objects():
    assert (
        C.mech_label(TradeReduction)
        == C.mech_label("trade_reduction")
        == C.mech_label(TradeReduction())
        == TradeReduction.label
    )
    assert C.mech_color(KDA(k=0.3)) == C.mech_color("kda") == KDA.color
    assert C.mech_label("not_registered") == "not_registered" and C.mech_color("not_registered") in C.PALETTE
    assert C.has(VCG, "truthful") and not C.has("tasc", "truthful") and C.has(TASC(), "budget_balanced")
    assert C.variant_label("kda/mm") == "k-DA / MM" and C.variant_color("kda/mwm") == KDA.color
    assert C.variant_order(["vcg", "kda/mwm", "tasc/mm", "kda/ora"]) == ["vcg", "kda/mwm", "kda/ora", "tasc/mm"]
    frame = pd.DataFrame({"mechanism": ["kda", "vcg", "kda"], "x": [1, 2, 3]})
    assert C.rows_of(frame, KDA)["x"].tolist() == C.rows_of(frame, KDA(k=0.2))["x"].tolist() == [1, 3]
    assert C.role_color("buyer") == C.PALETTE[0] and C.strategy_color(11) == C.PALETTE[1]


def test_verdicts_for_claims_about_every_sample():
    assert C.judge_all(True, 40) == "agrees" and C.judge_all(True, 5) == "insufficient data"
    assert C.judge_all(False, 5) == "disagrees"  # one counter-example is conclusive
    assert C.judge_any(True, 2) == "agrees" and C.judge_any(False, 5) == "insufficient data"
    assert C.judge_any(False, 40) == "disagrees"


# ====================================================================== manipulation
VARIANTS = [
    ("tasc", "mwm"),
    ("trade_reduction", "mwm"),
    ("kda", "mwm"),
    ("vcg", "-"),
    ("mcafee", "-"),
    ("mcafee_homogeneous", "-"),
]


def manipulation_tables(n_inst: int, agree: bool, k: int = 2) -> dict[str, pd.DataFrame]:
    """``n_inst`` instances (two grid points), ``k`` sampled agents per role and variant.
    ``agree``: the data every manipulation claim should agree with; else the opposite."""
    runs, agents = [], []
    for r in range(n_inst):
        n = 6 if r % 2 else 8
        for mech, alg in VARIANTS:
            variant = mech if alg == "-" else f"{mech}/{alg}"
            profit = {"vcg": -1.0 if agree else 0.5}.get(mech, 0.25)
            if not agree and mech == "kda" and r == 0:
                profit = -1.0  # a budget-balanced mechanism running a deficit
            trades = 3 if mech == "tasc" else 2
            if not agree and mech == "trade_reduction" and r == 0:
                trades = 4  # trade reduction trading more than TASC
            runs.append(
                {
                    "run_id": r,
                    "n": n,
                    "m": n,
                    "vmax": 4.0,
                    "variant": variant,
                    "mechanism": mech,
                    "algorithm": alg,
                    "trades": trades,
                    "welfare_share": 0.9 if mech != "mcafee" else 0.5,
                    "capacity_gain_share": 0.8,
                    "profit": profit,
                    "deficit": max(0.0, -profit),
                    "ir_violations": int(agree and mech == "mcafee"),
                    "time_ms": 1.0,
                }
            )
            for role in ("buyer", "seller"):
                for i in range(k):
                    gain = 0.0
                    if mech == "kda" and (agree or i == 1):
                        gain = 0.4  # agree: every trader gains; disagree: half of them
                    if mech == "tasc" and r == 0 and role == "buyer" and i == 0:
                        gain = 0.3  # one TASC agent in all
                    if mech == "tasc" and not agree and i == 0:
                        gain = 0.3  # disagree: half of TASC's agents
                    if mech == "trade_reduction" and not agree and r == 0 and i == 0:
                        gain = 0.5  # a "truthful" mechanism with a profitable deviation
                    agents.append(
                        {
                            "run_id": r,
                            "variant": variant,
                            "mechanism": mech,
                            "algorithm": alg,
                            "role": role,
                            "index": i,
                            "relevant": True,
                            "trades_truthfully": True,
                            "max_gain": gain,
                            "profitable": gain > 1e-9,
                        }
                    )
    return {"runs": pd.DataFrame(runs), "agents": pd.DataFrame(agents)}


def test_manipulation_dataset_shapes_the_stored_tables():
    tables = manipulation_tables(4, agree=True)
    frames = M.dataset(FakeStore("manip", tables))
    assert frames["variants"]["variant"].tolist() == [
        "tasc/mwm",
        "trade_reduction/mwm",
        "kda/mwm",
        "vcg",
        "mcafee",
        "mcafee_homogeneous",
    ]
    inst = frames["instances"].set_index(["run_id", "variant", "role"])
    assert len(inst) == 4 * 6 * 2
    assert inst.loc[(0, "tasc/mwm", "buyer"), "share_profitable"] == 0.5  # 1 of 2 sampled buyers
    assert inst.loc[(1, "tasc/mwm", "buyer"), "share_profitable"] == 0.0
    assert inst.loc[(0, "kda/mwm", "seller"), "max_gain"] == pytest.approx(0.4)
    s = frames["summary"].set_index(["variant", "role"])
    assert s.loc[("tasc/mwm", "buyer"), "share_profitable"] == pytest.approx(0.125)  # mean over 4 instances
    assert s.loc[("tasc/mwm", "buyer"), "profitable"] == 1 and s.loc[("tasc/mwm", "buyer"), "agents"] == 8
    assert s.loc[("tasc/mwm", "buyer"), "instances_with_a_gain"] == pytest.approx(0.25)
    e = frames["efficiency"].set_index("variant")
    assert e.loc["vcg", "deficit_share"] == 1.0 and e.loc["vcg", "profit"] == pytest.approx(-1.0)
    assert e.loc["vcg", "profit_lo"] == e.loc["vcg", "profit_hi"] == pytest.approx(-1.0)
    pot = frames["price"]
    assert len(pot) == 4 and (pot["delta_trades"] == 1.0).all() and (pot["differs"] == 1.0).all()
    assert frames["price_summary"]["min_delta_trades"].tolist() == [1.0]
    assert set(frames["grid"]["n"]) == {6, 8} and {"buyer", "seller"} <= set(frames["grid"].columns)
    # the grid cut: n = m along the diagonal, the bands for mechanisms not declared truthful only
    assert frames["grid_slices"]["x"].tolist() == ["n"]
    assert set(frames["grid_bands"]["variant"]) == {"tasc/mwm", "kda/mwm", "mcafee"}


def test_manipulation_claims_agree_on_data_built_to_agree():
    claims = M.claims(M.dataset(FakeStore("manip", manipulation_tables(40, agree=True))))
    # TASC as written is judged once per denominator (all sampled agents, candidates)
    assert len(claims) == 10 and all(c.n is not None and c.n > 0 for c in claims)
    assert {c.verdict for c in claims} == {"agrees"}, [(c.statement, c.verdict) for c in claims]
    tr = by_statement(claims, "Trade reduction: no agent gains")
    assert tr.n == 40 * 2 * 2 and "for MWM" in tr.statement
    assert by_statement(claims, "k-double auction: profitable deviations are common").n == 80  # traders per role
    assert by_statement(claims, "VCG double auction runs a deficit").n == 40
    bb = by_statement(claims, "never run a deficit")
    assert bb.statement.startswith("TASC, trade reduction, k-DA, McAfee (max-bid reduction) and McAfee (homogeneous)")
    assert bb.n == 40 * 5


def test_manipulation_claims_disagree_on_data_built_to_disagree():
    claims = M.claims(M.dataset(FakeStore("manip", manipulation_tables(40, agree=False))))
    verdict = {c.statement.split(" (")[0]: c.verdict for c in claims}
    assert verdict["Trade reduction: no agent gains by deviating, for MWM"] == "disagrees"
    assert verdict["VCG: no agent gains by deviating"] == "agrees"
    assert verdict["TASC as written: profitable deviations exist but are rare"] == "partly"  # 50% of agents
    assert verdict["k-double auction: profitable deviations are common"] == "disagrees"  # exactly half
    assert verdict["VCG double auction runs a deficit"] == "disagrees"
    assert by_statement(claims, "never run a deficit").verdict == "disagrees"
    assert by_statement(claims, "neither IR nor truthful").verdict == "disagrees"
    assert verdict["Trade reduction trades the same or fewer pairs than TASC as written"] == "disagrees"


def test_manipulation_claims_on_a_tiny_sample_read_insufficient_data():
    claims = M.claims(M.dataset(FakeStore("manip", manipulation_tables(2, agree=True, k=1))))
    assert all(c.verdict in VERDICTS for c in claims)
    for words in (
        "Trade reduction: no agent gains",
        "rare (some agent gains; < 10%) [reading: tie rule 'second' = (s_{i_k}, r_{j_β}) on equal counts; share of all",
        "rare (some agent gains; < 10%) [reading: tie rule 'second' = (s_{i_k}, r_{j_β}) on equal counts; share of cand",
        "common",
        "runs a deficit",
        "never run a deficit",
        "trades the same or fewer",
    ):
        c = by_statement(claims, words)
        assert c.verdict == "insufficient data" and c.n < 30, words
    # an instance of the failure is conclusive however small the sample
    assert by_statement(claims, "neither IR nor truthful").verdict == "agrees"
    bad = M.claims(M.dataset(FakeStore("manip", manipulation_tables(2, agree=False, k=1))))
    assert by_statement(bad, "Trade reduction: no agent gains").verdict == "disagrees"


def test_manipulation_figures_and_section(tmp_path):
    sec = M.build(FakeStore("manip", manipulation_tables(4, agree=True)), tmp_path)  # figures() inside
    assert [f.name for f in sec.figures] == ["manip-frequency", "manip-gains", "manip-grid", "manip-efficiency"]
    for f in sec.figures:
        assert f.png == tmp_path / f"{f.name}.png" and f.png.stat().st_size > 1000
        assert f.svg.read_text().lstrip().startswith("<?xml")
    assert len(sec.tables) == 4 and len(sec.claims) == 10 and all(c.n is not None for c in sec.claims)
    assert any("by step-5 tie rule and denominator" in t for t, _ in sec.tables)
    assert M.build(FakeStore("empty", {}), tmp_path).notes == ["No runs are stored yet."]


# ====================================================================== tournament
# Labels that are not the strategies' names: the claims must find them by class.
STRATEGIES = {
    "honest": {"buyer": "truthful", "seller": "truthful"},
    "oracle": {"buyer": "best_response", "seller": "best_response"},
    "shade": {
        "buyer": {"strategy": "scale", "params": {"theta": 0.8}},
        "seller": {"strategy": "scale", "params": {"theta": 1.2}},
    },
}
LABELS = list(STRATEGIES)


def tournament_tables(n_runs: int, agree: bool) -> dict[str, pd.DataFrame]:
    """Stored tournament rows (every pair, both sides of a match) under k-DA and trade
    reduction. ``agree``: under k-DA the best response earns 2 against anyone and the rest 1;
    under trade reduction honest does. Otherwise the reverse (honest on top under k-DA,
    shade under trade reduction)."""
    rows = []
    for r in range(n_runs):
        jitter = 0.01 * (r % 3)
        for mech in ("kda", "trade_reduction"):
            if mech == "kda":
                top = "oracle" if agree else "honest"
            else:
                top = "honest" if agree else "shade"
            for i, a in enumerate(LABELS):
                for b in LABELS[i:]:
                    for role in ("buyer", "seller"):
                        for who, other in ((a, b), (b, a)) if a != b else ((a, a),):
                            rows.append(
                                {
                                    "run_id": r,
                                    "mechanism": mech,
                                    "seating": 0,
                                    "player": who,
                                    "opponent": other,
                                    "role": role,
                                    "payoff": (2.0 if who == top else 1.0) + jitter * (who == "shade"),
                                    "seats": 2 if a != b else 4,
                                    "n": 4,
                                    "m": 4,
                                }
                            )
    return {"runs": pd.DataFrame(rows)}


def test_tournament_strategies_are_found_by_class_not_label():
    frame = T.strategies_frame(T.tournament_strategies({"strategies": STRATEGIES}))
    assert T.label_of(frame, Truthful) == "honest" and T.label_of(frame, BestResponse) == "oracle"
    assert T.label_of(frame, Scale) == "shade"
    params = STUDIES["tournament"].kind.full_params({})
    default = T.strategies_frame(T.tournament_strategies(params))
    assert T.label_of(default, Truthful) == "truthful" and T.label_of(default, BestResponse) == "best_response"


def test_tournament_dataset_shapes_the_stored_tables():
    frames = T.dataset(FakeStore("tour", tournament_tables(3, agree=True), {"strategies": STRATEGIES}))
    assert frames["mechanisms"]["mechanism"].tolist() == ["kda", "trade_reduction"]
    rs = frames["results"]["kda"]
    assert rs.players == LABELS and rs.repetitions == 3
    assert rs.ranked_names == ["oracle", "shade", "honest"]  # shade's jitter lifts it above honest
    lb = frames["leaderboard"].set_index(["mechanism", "strategy"])
    assert lb.loc[("kda", "oracle"), "mean"] == pytest.approx(2.0) and lb.loc[("kda", "oracle"), "rank"] == 1
    assert lb.loc[("kda", "shade"), "mean"] == pytest.approx(1.01) and lb.loc[("kda", "shade"), "repetitions"] == 3
    assert list(frames["leaderboard"].columns[:3]) == ["mechanism", "rank", "strategy"]
    mf = frames["matrix"].set_index(["mechanism", "player", "opponent"])
    assert mf.loc[("kda", "oracle", "honest"), "payoff"] == pytest.approx(2.0)
    assert mf.loc[("trade_reduction", "honest", "shade"), "payoff"] == pytest.approx(2.0)
    fin = frames["finals"].set_index(["mechanism", "strategy"])
    assert fin.loc[("kda", "oracle"), "final_share"] > 0.9 and fin.loc[("kda", "honest"), "initial_share"] == 1 / 3
    assert fin.loc[("trade_reduction", "honest"), "final_share"] > 0.9 and (fin["runs"] == 3).all()
    assert len(frames["replicator"]) == 2 * 3 * (T.REPLICATOR_TURNS + 1)
    moran = frames["moran"].set_index(["mechanism", "invader"])
    assert set(moran["resident"]) == {"honest"} and (moran["repeats"] == 1000).all()
    # the best response (payoff 2 against 1) invades a truthful k-DA population; under trade reduction it cannot
    assert moran.loc[("kda", "oracle"), "verdict"] == "favoured" and moran.loc[("kda", "oracle"), "exact"] > 0.1
    assert moran.loc[("trade_reduction", "oracle"), "verdict"] == "opposed"


def test_tournament_claims_agree_and_disagree():
    agree = T.claims(T.dataset(FakeStore("tour", tournament_tables(30, agree=True), {"strategies": STRATEGIES})))
    assert [c.verdict for c in agree] == ["agrees"] * 4, [(c.statement, c.verdict) for c in agree]
    assert [c.n for c in agree] == [30, 30, 30, 30]
    assert "oracle" in by_statement(agree, "does not survive").evidence
    bad = T.claims(T.dataset(FakeStore("tour", tournament_tables(30, agree=False), {"strategies": STRATEGIES})))
    assert [c.verdict for c in bad] == ["disagrees"] * 4, [(c.statement, c.verdict) for c in bad]
    assert "Beaten by: shade" in by_statement(bad, "no strategy beats truthful").evidence


def test_tournament_claims_on_a_tiny_sample_read_insufficient_data():
    claims = T.claims(T.dataset(FakeStore("tour", tournament_tables(2, agree=True), {"strategies": STRATEGIES})))
    assert len(claims) == 4 and {c.verdict for c in claims} == {"insufficient data"}
    assert [c.n for c in claims] == [2, 2, 2, 2]
    # no truthful strategy in the spec: no claim that needs one
    odd = {"shade": STRATEGIES["shade"], "oracle": STRATEGIES["oracle"]}
    tables = tournament_tables(2, agree=True)
    tables["runs"] = tables["runs"][(tables["runs"]["player"] != "honest") & (tables["runs"]["opponent"] != "honest")]
    assert T.claims(T.dataset(FakeStore("tour", tables, {"strategies": odd}))) == []


def test_tournament_figures(tmp_path):
    frames = T.dataset(FakeStore("tour", tournament_tables(3, agree=True), {"strategies": STRATEGIES}))
    figs = T.figures(frames, tmp_path)
    assert [f.name for f in figs] == ["tour-leaderboard", "tour-payoff", "tour-replicator"]
    for f in figs:
        assert f.png.stat().st_size > 1000 and f.svg.is_file()


# ====================================================================== equilibrium
def equilibrium_tables(n_inst: int) -> dict[str, pd.DataFrame]:
    """A 2 x 2 role game per mechanism: under trade reduction θ = 1 is dominant for both
    roles; under k-DA buyers shade (0.5) and sellers inflate (1.5). Unilateral deviations
    from (1, 1): nobody gains under trade reduction; k-DA buyers gain 0.3 by bidding 0.5."""
    runs, agents = [], []
    for i in range(n_inst):
        for mech in ("trade_reduction", "kda"):
            for tb in (0.5, 1.0):
                for ts in (1.0, 1.5):
                    if mech == "trade_reduction":
                        bp, sp = tb, 2.0 - ts
                    else:
                        bp, sp = 1.0 - tb, ts
                    runs.append(
                        {
                            "run_id": 0,
                            "part": "game",
                            "mechanism": mech,
                            "instance": i,
                            "theta_buyer": tb,
                            "theta_seller": ts,
                            "buyer_payoff": bp + 0.01 * (i % 2),
                            "seller_payoff": sp,
                            "learner": None,
                        }
                    )
                    for role, dev in (("buyer", 0.5 if tb == 1.0 else 1.0), ("seller", 1.5 if ts == 1.0 else 1.0)):
                        gain = (0.3 + 0.01 * (i % 3)) if (mech == "kda" and role == "buyer" and dev == 0.5) else -0.2
                        agents.append(
                            {
                                "run_id": 0,
                                "mechanism": mech,
                                "instance": i,
                                "theta_buyer": tb,
                                "theta_seller": ts,
                                "role": role,
                                "deviation": dev,
                                "gain": gain,
                            }
                        )
    for r in range(3):
        runs.append(
            {
                "run_id": 100 + r,
                "part": "learning",
                "mechanism": "kda",
                "learner": "hedge",
                "final_theta_buyer": 0.7,
                "final_theta_seller": 1.3,
                "mean_utility_buyer": 0.1,
                "mean_utility_seller": 0.1,
                "mean_trades": 2.0,
                "mean_welfare": 1.0,
            }
        )
    rounds = pd.DataFrame(
        [
            {
                "run_id": 100 + r,
                "mechanism": "kda",
                "learner": "hedge",
                "step": s,
                "theta_buyer": 1.0 - 0.1 * s,
                "theta_seller": 1.0 + 0.1 * s,
            }
            for r in range(3)
            for s in (1, 2, 3)
        ]
    )
    return {"runs": pd.DataFrame(runs), "agents": pd.DataFrame(agents), "rounds": rounds}


def test_equilibrium_dataset_figures_and_section(tmp_path):
    frames = E.dataset(FakeStore("eq", equilibrium_tables(6)))
    truth = frames["truth"].set_index("mechanism")
    assert truth.loc["trade_reduction", "role_game_regret"] == pytest.approx(0.0)
    assert truth.loc["trade_reduction", "unilateral_regret"] == 0.0
    assert truth.loc["kda", "unilateral_regret"] == pytest.approx(0.31) and truth.loc["kda", "unilateral_lo"] > 0.29
    assert truth.loc["kda", "best_unilateral"] == "buyer → 0.5" and (truth["units"] == 6).all()
    assert (truth["instances"] == 6).all()
    eq = frames["equilibria"]
    pure = eq[eq["kind"] == "role game (pure)"].set_index("mechanism")
    assert (pure.loc["trade_reduction", "theta_buyer"], pure.loc["trade_reduction", "theta_seller"]) == (1.0, 1.0)
    assert (pure.loc["kda", "theta_buyer"], pure.loc["kda", "theta_seller"]) == (0.5, 1.5)
    sv = frames["solvers"]
    assert len(sv) == 2 * 3 and (sv["regret_share_of_range"] < E.SOLVER_TOL).all()
    heat = frames["regret"]
    assert set(heat["kind"]) == {"role game", "unilateral"} and len(heat) == 2 * 2 * 4
    lt = frames["learning"].set_index(["mechanism", "learner"])
    assert lt.loc[("kda", "hedge"), "final_theta_buyer"] == pytest.approx(0.7) and lt["runs"].tolist() == [3]
    sec = E.build(FakeStore("eq", equilibrium_tables(6)), tmp_path)  # figures() inside
    assert [f.name for f in sec.figures] == ["eq-regret", "eq-learning"]
    for f in sec.figures:
        assert f.png.stat().st_size > 1000 and f.svg.is_file()
    assert [name for name, _ in sec.data] == [
        "equilibrium_role_game_trade_reduction",
        "equilibrium_unilateral_trade_reduction",
        "equilibrium_role_game_kda",
        "equilibrium_unilateral_kda",
    ]


def _eq_frames(*, unilateral: dict, solver_share: list[float], learning: list[tuple], n: int) -> dict:
    truth = pd.DataFrame(
        [
            {
                "mechanism": m,
                "role_game_regret": 0.0,
                "role_game_lo": 0.0,
                "role_game_hi": 0.0,
                "instances": n,
                "unilateral_regret": r,
                "unilateral_lo": lo,
                "unilateral_hi": r + 0.1,
                "best_unilateral": "buyer → 0.5" if r > 0 else "none",
                "units": n,
            }
            for m, (r, lo) in unilateral.items()
        ]
    )
    solvers = pd.DataFrame(
        [
            {"mechanism": "kda", "solver": f"s{i}", "regret_share_of_range": s, "instances": n}
            for i, s in enumerate(solver_share)
        ]
    )
    lt = pd.DataFrame(
        [
            {
                "mechanism": m,
                "learner": "hedge",
                "runs": n,
                "final_theta_buyer": b,
                "final_theta_buyer_ci": "[.]",
                "final_theta_seller": s,
                "final_theta_seller_ci": "[.]",
            }
            for m, b, s in learning
        ]
    )
    return {"truth": truth, "solvers": solvers, "learning": lt}


def test_equilibrium_claims_agree_disagree_and_insufficient():
    good = _eq_frames(
        unilateral={"trade_reduction": (0.0, 0.0), "kda": (0.3, 0.2), "tasc": (0.0, 0.0)},
        solver_share=[0.001, 0.002, 0.0],
        learning=[("kda", 0.7, 1.3), ("trade_reduction", 1.0, 1.05)],
        n=40,
    )
    claims = E.claims(good)
    assert [c.verdict for c in claims] == ["agrees"] * 6, [(c.statement, c.verdict) for c in claims]
    assert all(c.n == 40 for c in claims)
    assert claims[0].statement.startswith("Trade reduction: truthful reporting is an equilibrium")
    bad = _eq_frames(
        unilateral={"trade_reduction": (0.2, 0.1), "kda": (0.3, 0.0), "tasc": (0.1, 0.05)},
        solver_share=[0.5, 0.002, 0.0],
        learning=[("kda", 1.0, 1.0), ("trade_reduction", 0.7, 1.3)],
        n=40,
    )
    assert [c.verdict for c in E.claims(bad)] == [
        "disagrees",
        "disagrees",
        "disagrees",
        "partly",
        "disagrees",
        "disagrees",
    ]
    tiny = E.claims(
        {**good, **{k: v.assign(**{c: 3 for c in ("instances", "units", "runs") if c in v}) for k, v in good.items()}}
    )
    assert {c.verdict for c in tiny} == {"insufficient data"} and {c.n for c in tiny} == {3}
    # a truthful mechanism with a profitable unilateral deviation is contradicted on any sample
    tiny_bad = E.claims({**bad, "truth": bad["truth"].assign(units=3)})
    assert tiny_bad[0].verdict == "disagrees" and tiny_bad[0].n == 3


def test_the_studies_point_at_the_split_sections():
    from auctionlab.studies import relay_common

    assert STUDIES["relay-manipulation"].section_builder() is M.build
    assert STUDIES["tournament"].section_builder() is T.build
    assert STUDIES["equilibrium"].section_builder() is E.build
    assert np.isclose(relay_common.TOL, 1e-9)
