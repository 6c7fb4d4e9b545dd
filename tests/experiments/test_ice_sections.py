"""The exchange studies' report sections on hand-made frames: dataset shaping and the verdicts,
including "insufficient data" below 30 instances and the max_rounds exclusions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from auctionlab.mechanisms.exchange.payment_rules import PAYMENT_RULES
from auctionlab.studies.ice_convergence import section as conv
from auctionlab.studies.ice_manipulation import section as manip
from auctionlab.studies.tournament_common import moran_table
from auctionlab.studies.tournament_exchange import section as tour


def by_statement(claims, words):
    (c,) = [c for c in claims if words in c.statement]
    return c


# ---------------------------------------------------------------------- convergence
def convergence_runs(n: int, stall_every: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """n instances, each played by the paper's bidder and by eager; every stall_every-th
    paper's-bidder run stops at max_rounds (10 rounds) with αthresh stuck at 0.5."""
    runs, rounds = [], []
    for i in range(n):
        for proxy in ("straightforward", "eager"):
            stalled = proxy == "straightforward" and stall_every and i % stall_every == 0
            r = 11 if stalled else 4
            runs.append(
                {
                    "run_id": i,
                    "replication": i,
                    "proxy": proxy,
                    "n_bidders": 5,
                    "n_goods": 3,
                    "rounds": r,
                    "closed_by": "max_rounds" if stalled else "cutoffs",
                    "efficiency": 0.9 if stalled else 1.0,
                    "budget_surplus": 1.0,
                    "final_alpha_eff": 1.0,
                    "final_alpha_thresh": 0.5 if stalled else 0.95,
                    "payment_rms_vs_truth": 0.05,
                    "truthful_payment_rms": 1.0,
                }
            )
            for t in range(r):
                rounds.append(
                    {
                        "run_id": i,
                        "proxy": proxy,
                        "round": t,
                        "alpha_eff": 1.0,
                        "alpha_thresh": 0.5 if stalled else min(1.0, 0.3 * (t + 1)),
                        "efficiency": 1.0,
                        "rp_failures": 1 if t == 0 else 0,
                    }
                )
    return pd.DataFrame(runs), pd.DataFrame(rounds)


def test_stalled_runs_count_with_the_runs_stopped_at_max_rounds():
    """A run the exchange stopped as stalled would have run to max_rounds with the same outcome:
    the section counts it there, and its stall signature is read from its repeating round."""
    runs, rounds = convergence_runs(40, stall_every=4)
    stopped = runs["closed_by"] == "max_rounds"
    runs.loc[stopped, "closed_by"] = "stalled"
    runs.loc[stopped, "rounds"] = 3  # two rounds, the second repeating the first, then the last-and-final one
    rounds = rounds[
        ~rounds["run_id"].isin(runs.loc[stopped, "run_id"])
        | (rounds["proxy"] != "straightforward")
        | (rounds["round"] < 3)
    ]
    rounds.loc[rounds["proxy"] == "straightforward", "rp_failures"] = 0
    f = conv.frames_from(runs, rounds, params={"cutoff_thresh": 0.9})
    s = f["summary"].set_index("proxy")
    assert s.loc["straightforward", "hit_max_rounds"] == 10 and s.loc["straightforward", "closed_by_cutoffs"] == 30
    assert (
        s.loc["straightforward", "stalled_quiet"] == 10 and s.loc["straightforward", "stalled_alpha_thresh_move"] == 0.0
    )
    claim = by_statement(conv.claims(f), "With the paper's bidder")
    assert claim.verdict == "partly" and claim.n == 40 and claim.headline == 2
    assert "10 stopped at max_rounds or stalled" in claim.evidence


def test_convergence_dataset_flags_and_summary():
    runs, rounds = convergence_runs(40, stall_every=4)
    f = conv.frames_from(runs, rounds, params={"cutoff_thresh": 0.9})
    assert f["runs"]["hit_max_rounds"].sum() == 10 and f["main"] == "all runs"
    s = f["summary"].set_index("proxy")
    assert s.loc["straightforward", "hit_max_rounds"] == 10 and s.loc["eager", "hit_max_rounds"] == 0
    assert s.loc["straightforward", "share_max_rounds"] == pytest.approx(0.25)
    assert s.loc["straightforward", "share_max_rounds_lo"] < 0.25 < s.loc["straightforward", "share_max_rounds_hi"]
    # the stall's signature: no RP failure in the last rounds, αthresh flat
    assert s.loc["straightforward", "stalled_quiet"] == 10
    assert s.loc["straightforward", "stalled_alpha_thresh_move"] == 0.0
    assert s.loc["straightforward", "efficiency_closed"] == 1.0 and s.loc["straightforward", "efficiency"] < 1.0
    # rounds carried forward to the longest run of the cell
    r = f["rounds"]
    assert r.groupby(["run_id", "proxy"]).size().max() == 11


def test_convergence_claims_and_the_finding():
    runs, rounds = convergence_runs(40, stall_every=4)
    f = conv.frames_from(runs, rounds)
    claims = conv.claims(f)
    paper = by_statement(claims, "the paper's bidder (straightforward), ICE closes by its rule")
    assert paper.verdict == "partly" and paper.n == 40 and "10 stopped at max_rounds" in paper.evidence
    assert by_statement(claims, "the eager extension (eager), ICE closes").verdict == "agrees"
    # the efficiency verdict leaves the stalled runs out
    eff = by_statement(claims, "straightforward: the final trade is efficient")
    assert eff.verdict == "agrees" and eff.n == 30 and "10 runs that stopped at max_rounds left out" in eff.evidence
    assert by_statement(claims, "Threshold payments are budget balanced").verdict == "agrees"
    text = conv.finding(f)
    assert "10 of 40 runs with trade (25%)" in text and "relative preferences" in text and "absolute values" in text


def test_convergence_small_samples_are_insufficient_data():
    runs, rounds = convergence_runs(6, stall_every=2)
    claims = conv.claims(conv.frames_from(runs, rounds))
    for c in claims:
        if c.n is not None and c.n < 30 and "budget balanced" not in c.statement:
            assert c.verdict == "insufficient data", c
    assert by_statement(claims, "(straightforward), ICE closes").n == 6
    assert "too few to estimate the rate well (n = 6 < 30)" in conv.finding(conv.frames_from(runs, rounds))


# ---------------------------------------------------------------------- manipulation
def manipulation_runs(
    n: int, *, no_trade: int = 0, stuck: int = 0, threshold_gain: float = 0.1, other_gain: float = 0.3
) -> pd.DataFrame:
    """n instances, one deviator each, a control and a shading deviation; the first
    ``no_trade`` instances have no baseline trade, the next ``stuck`` stop at max_rounds."""
    rng = np.random.default_rng(0)
    rows = []
    for i in range(n):
        for dev, strategy in (
            ("control", "straightforward"),
            ("misreport-0.25", "misreport"),
            ("stubborn", "stubborn"),
        ):
            row = {
                "run_id": i,
                "deviation": dev,
                "strategy": strategy,
                "bidder": "b0",
                "baseline_traded_units": 0 if i < no_trade else 2,
                "closed_by": "max_rounds" if no_trade <= i < no_trade + stuck or dev == "stubborn" else "cutoffs",
                "baseline_closed_by": "cutoffs",
            }
            for r in PAYMENT_RULES:
                if dev == "control":
                    g = 0.0
                elif r == "threshold":
                    g = threshold_gain + 0.01 * rng.standard_normal()
                else:
                    g = other_gain + 0.01 * rng.standard_normal()
                row[f"gain_{r}"] = g
                row[f"baseline_surplus_{r}"] = -1.0 if r == "vcg" else 0.5
            rows.append(row)
    return pd.DataFrame(rows)


def test_manipulation_dataset_marks_valid_instances():
    f = manip.frames_from(manipulation_runs(40, no_trade=5, stuck=3))
    g = f["gains"]
    assert set(g["rule"]) == set(PAYMENT_RULES)
    shading = g[(g["deviation"] == "misreport-0.25") & (g["rule"] == "threshold")]
    assert len(shading) == 40 and int(shading["valid"].sum()) == 32  # 5 without trade, 3 stopped at max_rounds
    t = f["table"].set_index(["deviation", "rule"])
    assert t.loc[("misreport-0.25", "threshold"), "n"] == 32
    assert t.loc[("misreport-0.25", "threshold"), "cases_max_rounds"] == 3
    assert t.loc[("misreport-0.25", "fractional"), "threshold_minus_rule"] == pytest.approx(-0.2, abs=0.02)
    assert t.loc[("stubborn", "threshold"), "n"] == 0  # every stubborn case stopped at max_rounds
    assert [r.name for r in f["rules"]] == list(PAYMENT_RULES)


def test_manipulation_claims_threshold_against_the_other_budget_balanced_rules():
    claims = manip.claims(manip.frames_from(manipulation_runs(40, no_trade=5)))
    paper = by_statement(claims, "Among budget-balanced payment rules Threshold leaves the smallest gain")
    assert paper.verdict == "agrees" and paper.n == 35
    assert "vcg" not in paper.evidence  # VCG is the reference, not a competitor
    assert by_statement(claims, "gains exactly 0").verdict == "agrees"
    assert by_statement(claims, "Threshold payments never run a deficit").verdict == "agrees"
    assert by_statement(claims, "VCG payments run a deficit").verdict == "agrees"
    assert by_statement(claims, "not ex-post truthful").verdict == "insufficient data"  # stubborn has n = 0
    slow = by_statement(claims, "stop at max_rounds more often")
    assert slow.verdict == "insufficient data" or slow.n == 40  # a claim about those runs keeps them
    # Threshold leaving *more* than the others disagrees
    worse = manip.claims(manip.frames_from(manipulation_runs(40, threshold_gain=0.5, other_gain=0.1)))
    assert by_statement(worse, "Threshold leaves the smallest gain").verdict == "disagrees"


def test_manipulation_without_trade_is_insufficient_data():
    claims = manip.claims(manip.frames_from(manipulation_runs(40, no_trade=40)))
    paper = by_statement(claims, "Threshold leaves the smallest gain")
    assert paper.verdict == "insufficient data" and paper.n == 0
    small = manip.claims(manip.frames_from(manipulation_runs(10)))
    assert by_statement(small, "Threshold leaves the smallest gain").verdict == "insufficient data"


# ---------------------------------------------------------------------- tournament
def tournament_runs(n: int, *, entrant_gain: float = -0.2, stuck: int = 0) -> pd.DataFrame:
    rows = []
    for i in range(n):
        for a in ("straightforward", "stubborn"):
            for b in ("straightforward", "stubborn"):
                u = (
                    1.0
                    + (entrant_gain if (a, b) == ("stubborn", "straightforward") else 0.0)
                    - 0.5 * (a == b == "stubborn")
                )
                rows.append(
                    {
                        "run_id": i,
                        "player": a,
                        "opponent": b,
                        "role": "bidder",
                        "seats": 1,
                        "payoff": u,
                        **{f"payoff_{r}": u + (0.3 if r != "threshold" and a != b else 0.0) for r in PAYMENT_RULES},
                        "efficiency": 1.0 if b == "straightforward" else 0.8,
                        "rounds": 5,
                        "closed_by": "max_rounds" if i < stuck and a == "stubborn" else "cutoffs",
                        "traded_units": 2,
                    }
                )
    return pd.DataFrame(rows)


def test_tournament_dataset_and_claims():
    f = tour.frames_from(tournament_runs(40, stuck=4), params={"reference": "straightforward"})
    assert f["ref"] == "straightforward" and f["u"].shape == (40, 2, 2)
    e = f["entry"]
    assert set(e["entrant"]) == {"stubborn"} and int(e[e["rule"] == "threshold"]["valid"].sum()) == 36
    claims = tour.claims(f)
    best = by_statement(claims, "best response to itself")
    assert best.verdict == "agrees" and best.n == 36
    bb = by_statement(claims, "Threshold leaves entrants the smallest gain")
    assert bb.verdict == "agrees" and bb.n == 36
    assert by_statement(claims, "trades most efficiently").verdict == "agrees"
    b = f["board"].set_index("strategy")
    assert b.loc["stubborn", "profiles_max_rounds"] == 8
    # the leaderboard is the result set's: score = payoff against the other proxy
    assert list(b.index) == f["results"].ranked_names == ["straightforward", "stubborn"]
    assert b.loc["straightforward", "mean"] == pytest.approx(1.0) and b.loc["stubborn", "mean"] == pytest.approx(0.8)
    assert b.loc["stubborn", "instances"] == 40 and b.loc["stubborn", "homogeneous"] == pytest.approx(0.5)
    # Moran: a stubborn entrant (payoff 0.8 against 1.0 among straightforward) is opposed by selection
    moran = moran_table(f["results"], "straightforward", 0)
    row = moran.set_index("invader").loc["stubborn"]
    assert row["repeats"] == 1000 and row["exact"] < 1 / 10 and row["verdict"] == "opposed"


def test_tournament_small_sample_is_insufficient_data():
    claims = tour.claims(tour.frames_from(tournament_runs(5, entrant_gain=0.3)))
    assert by_statement(claims, "best response to itself").verdict == "insufficient data"
    assert all(c.verdict == "insufficient data" for c in claims if c.n is not None and c.n < 30)


def test_manipulation_context_table_keeps_stalled_runs_but_no_verdict_uses_it():
    f = manip.frames_from(manipulation_runs(40, stuck=35))
    t, ta = (x.set_index(["deviation", "rule"]) for x in (f["table"], f["table_all"]))
    assert t.loc[("misreport-0.25", "threshold"), "n"] == 5 and ta.loc[("misreport-0.25", "threshold"), "n"] == 40
    paper = by_statement(manip.claims(f), "Threshold leaves the smallest gain")
    assert paper.verdict == "insufficient data" and paper.n == 5
    assert "context only (not the verdict)" in paper.evidence and "(n = 40)" in paper.evidence


def test_convergence_sweep_claim_reads_insufficient_data_when_every_run_stalls():
    # a CUTOFF_thresh sweep: at 0.6 the paper's bidder closes 4 of 4 runs, at 0.9 none (all stall)
    runs, rounds = [], []
    for cut, stalled in ((0.6, False), (0.9, True)):
        r, q = convergence_runs(4, stall_every=1 if stalled else 0)
        shift = 100 if stalled else 0
        r = r[r["proxy"] == "straightforward"].assign(cutoff_thresh=cut)
        r["run_id"] += shift
        q = q[q["proxy"] == "straightforward"].copy()
        q["run_id"] += shift
        runs.append(r)
        rounds.append(q)
    f = conv.frames_from(
        pd.concat(runs, ignore_index=True), pd.concat(rounds, ignore_index=True), params={"cutoff_thresh": 0.9}
    )
    c = by_statement(conv.claims(f), "straightforward: rounds to close grow with CUTOFF_thresh")
    assert c.verdict == "insufficient data" and c.n == 0  # not dropped: no closed run at 0.9
    assert "4 of 4 at 0.6, 0 of 4 at 0.9" in c.evidence and "max_rounds" in c.evidence


def test_stall_finding_states_the_rate_and_why():
    text = conv.stall_finding("straightforward", 19, 20, 1, "the gain verdicts")
    assert text.startswith("Finding: in the all-straightforward baseline 19 of 20 instances with trade (95%)")
    assert "at most 1 remain for the gain verdicts" in text and "insufficient data (n = …)" in text
    assert "reveals only what the activity rule requires" in text and "ice-convergence" in text
    assert "insufficient data" not in conv.stall_finding("straightforward", 5, 60, 55, "x")
    assert "stalls" in conv.stall_finding("eager", 1, 40, 39, "x")
    assert conv.stall_finding("straightforward", 0, 40, 40, "x") is None
    assert conv.stall_finding("straightforward", 0, 0, 0, "x") is None


def test_cell_labels_name_goods_in_words():
    """m is the relays' symbol (the TASC paper's); the exchange's goods and bidders are named in words."""
    assert conv.cell_label({"n_bidders": 5, "n_goods": 3, "step": 0.5}) == "bidders = 5, goods = 3, ρ = 0.5"
    assert "m =" not in conv.cell_label({"n_goods": 4})
