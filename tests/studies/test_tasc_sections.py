"""The TASC study sections on hand-made frames: dataset -> figures -> claims, each step alone."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from auctionlab.report.sections import VERDICTS
from auctionlab.studies.tasc_efficiency import section as eff
from auctionlab.studies.tasc_profit import section as profit
from auctionlab.studies.tasc_runtime import section as runtime
from auctionlab.studies.tasc_truthfulness import section as truth


def _by(claims, start):
    return [c for c in claims if c.statement.startswith(start)]


# ---------------------------------------------------------------------- Fig. 9
def profit_runs(per: int = 40) -> pd.DataFrame:
    """Continuous reading: never zero profit, profit 0.9 → 0.3 with m; grid reading: zero
    profit in 3 of every 4 instances."""
    rows = []
    for step in (0.0, 0.01):
        for m in (50, 100, 150):
            for r in range(per):
                for alg in ("mwm", "ora", "mm"):
                    if step:
                        zero = r % 4 != 0
                        p = 0.0 if zero else 1.2
                    else:
                        p = 0.9 - 0.006 * (m - 50) + 0.01 * ((r % 5) - 2)
                    rows.append(
                        {
                            "n": 100,
                            "m": m,
                            "algorithm": alg,
                            "rule": "tasc",
                            "value_grid": step,
                            "profit": p,
                            "zero_profit": p == 0.0,
                            "trades": 0 if p == 0 and r % 8 == 1 else 5,
                        }
                    )
    return pd.DataFrame(rows)


def test_profit_claims_name_the_reading_and_carry_n():
    frames = profit.frames_from_runs(profit_runs())
    claims = profit.claims(frames)
    assert all(c.verdict in VERDICTS for c in claims)
    mostly = _by(claims, "Profit is 0 in most instances")
    cont = next(c for c in mostly if "continuous values" in c.statement)
    grid = next(c for c in mostly if "0.01 grid" in c.statement)
    assert cont.verdict == "disagrees" and grid.verdict == "agrees"
    assert cont.n == grid.n == 3 * 40  # instances (per algorithm) behind the share
    assert "75% at m = 50" in grid.evidence and "mean profit 0.3 / 0.3 / 0.3" in grid.evidence
    small = next(c for c in _by(claims, "Profit is small") if "continuous" in c.statement)
    assert small.verdict == "agrees" and small.n == 40
    falls = next(c for c in _by(claims, "Profit decreases") if "continuous" in c.statement)
    assert falls.verdict == "agrees"
    summary = _by(claims, "Which reading")[0]
    assert summary.verdict == "n/a" and "values on a 0.01 grid: 'mostly 0' agrees" in summary.evidence


def test_profit_small_samples_read_insufficient_data(tmp_path):
    frames = profit.frames_from_runs(profit_runs(per=4))
    claims = profit.claims(frames)
    assert {c.verdict for c in claims if c.n is not None} == {"insufficient data"}
    figs = profit.figures(frames, tmp_path)
    assert len(figs) == 1 and figs[0].png.stat().st_size > 1000
    assert [t for t, _ in profit.tables(frames)][-1].startswith("Share of instances with profit exactly 0")


def test_profit_frames_fill_a_missing_value_grid_column():
    runs = profit_runs(per=2)
    runs = runs[runs["value_grid"] == 0].drop(columns="value_grid")
    frames = profit.frames_from_runs(runs)
    assert set(frames["runs"]["value_grid"]) == {0.0}
    assert not _by(profit.claims(frames), "Which reading")


# ---------------------------------------------------------------------- Fig. 10
def eff_runs(per: int = 40) -> pd.DataFrame:
    rows = []
    for m in (50, 100, 150):
        for r in range(per):
            for alg in ("mwm", "ora", "mm"):
                wiggle = 0.01 * ((r % 3) - 1)
                rows.append(
                    {
                        "n": 100,
                        "m": m,
                        "algorithm": alg,
                        "rule": "tasc",
                        "vmax": 4.0,
                        "sweep": 0,
                        # total capacity loss grows with m (+67 %), relay-gain loss flat
                        "degradation_capacity": 0.06 + 0.0004 * (m - 50) + wiggle,
                        "degradation_gain": 0.33 + wiggle,
                        "degradation_trades": 0.3 + wiggle,
                        # all sources: the minimum drops in 3 of 4 instances; winners: never
                        "degradation_min_capacity": 0.2 if r % 4 else 0.0,
                        "degradation_min_capacity_winners": -0.1 if r % 2 else np.nan,
                    }
                )
    df = pd.DataFrame(rows)
    df["degradation"] = np.select(
        [df["algorithm"] == "mwm", df["algorithm"] == "mm"],
        [df["degradation_capacity"], df["degradation_trades"]],
        df["degradation_min_capacity"],
    )
    return df


def test_efficiency_readings_side_by_side(tmp_path):
    frames = eff.frames_from_runs(eff_runs())
    claims = eff.claims(frames)
    total = _by(claims, "(a) For both MWM and MM")[0]
    gain = _by(claims, "(a) For MWM the degradation")[0]
    assert "total capacity" in total.statement and total.verdict == "partly"  # MM flat, MWM not
    assert "relay gain" in gain.statement and gain.verdict == "agrees" and gain.n == 40
    ora = {c.statement.rsplit("[reading: ", 1)[1].rstrip("]"): c for c in _by(claims, "With ORA")}
    assert ora["minimum over all sources"].verdict == "disagrees" and ora["minimum over all sources"].n == 120
    assert "25.0% of instances (30 of 120)" in ora["minimum over all sources"].evidence
    # winners only: instances with no winner left out (n = 60), none lowers the minimum
    assert ora["minimum over the winners"].verdict == "agrees" and ora["minimum over the winners"].n == 60
    assert set(frames["readings"]["reading"]) == {
        "total capacity",
        "relay gain",
        "minimum over all sources",
        "minimum over the winners",
    }
    figs = eff.figures(frames, tmp_path)
    assert figs and "relay gain" in figs[0].caption
    assert any("Every reading side by side" in t for t, _ in eff.tables(frames))


# ---------------------------------------------------------------------- Fig. 11
def time_runs(per: int = 40) -> pd.DataFrame:
    """MM's typical time grows to m = n then stays flat; outliers (a shared core) grow
    with m so the *means* keep rising. MWM and ORA grow."""
    rows = []
    for m in range(50, 151, 10):
        for r in range(per):
            for alg, base in (("mwm", 0.02 * m), ("ora", 0.01 * m), ("mm", 0.01 * min(m, 100))):
                t = base * (1 + 0.01 * (r % 5))
                if r == 0:
                    t *= m  # one descheduled auction per point
                rows.append(
                    {
                        "n": 100,
                        "m": m,
                        "algorithm": alg,
                        "rule": "tasc",
                        "time_tasc_ms": t,
                        "time_assign_ms": 0.9 * t,
                        "time_clear_ms": 0.1 * t,
                        "time_network_ms": 1.0,
                    }
                )
    return pd.DataFrame(rows)


def test_runtime_verdicts_rest_on_medians(tmp_path):
    frames = runtime.frames_from_runs(time_runs())
    t = frames["time"]
    mm = t[t["algorithm"] == "mm"].set_index("m")
    assert mm.loc[150, "median"] == pytest.approx(mm.loc[100, "median"])  # flat
    assert mm.loc[150, "mean"] > 1.3 * mm.loc[100, "mean"]  # the mean is not
    claims = runtime.claims(frames)
    # stored without repeats: single timings, named as such in every verdict
    assert all("[reading: medians of single timings]" in c.statement for c in claims)
    assert all("single wall-clock timings" in c.evidence and "n = 40 instances" in c.evidence for c in claims)
    assert _by(claims, "For MM")[0].verdict == "agrees" and _by(claims, "For MM")[0].n == 40
    assert _by(claims, "For MWM and ORA")[0].verdict == "agrees"
    assert runtime.figures(frames, tmp_path)[0].png.exists()
    assert "median [quartiles]" in runtime.tables(frames)[0][0]


def test_runtime_verdicts_name_serial_medians_when_the_runs_repeated_each_timing():
    runs = time_runs().assign(time_repeats=5)
    frames = runtime.frames_from_runs(runs)
    claims = runtime.claims(frames)
    assert len(claims) == 2
    assert all("[reading: serial medians of 5 repeats]" in c.statement for c in claims)
    assert all("median of 5 in-process repeats" in c.evidence for c in claims)
    assert "serial medians" in runtime.tables(frames)[0][0]
    # a mix of repeated and single timings is read as single timings
    mixed = pd.concat([runs, time_runs().assign(time_repeats=np.nan)], ignore_index=True)
    assert runtime.repeats_of(mixed) == 0


# ---------------------------------------------------------------------- Fig. 8
def truth_tables():
    rows, curves = [], []
    for run in range(40):
        for rule in ("tasc", "trade_reduction"):
            for role in ("buyer", "seller"):
                bad = rule == "tasc" and role == "seller" and run % 4 == 0
                rows.append(
                    {
                        "run_id": run,
                        "n": 100,
                        "m": 50,
                        "algorithm": "mwm",
                        "rule": rule,
                        "role": role,
                        "true_value": 1.0,
                        "agent": 0,
                        "partner": 0,
                        "candidates": 40,
                        "truthful_utility": 0.5,
                        "best_utility": 0.9 if bad else 0.5,
                        "best_report": 1.0,
                        "gain": 0.4 if bad else 0.0,
                        "peaks_at_truth": not bad,
                        "n_better": int(bad),
                    }
                )
                for rep in (0.5, 1.0, 1.5):
                    curves.append(
                        {
                            "algorithm": "mwm",
                            "rule": rule,
                            "role": role,
                            "true_value": 1.0,
                            "agent": 0,
                            "report": rep,
                            "utility": 0.5 if rep == 1.0 else 0.2,
                            "truthful": rep == 1.0,
                        }
                    )
    return pd.DataFrame(rows), pd.DataFrame(curves)


def test_manipulation_frequency_states_both_denominators(tmp_path):
    frames = truth.frames_from_tables(*truth_tables())
    f = frames["frequency"].set_index(["rule", "role"])
    # sellers: 10 of 40 candidates manipulable; candidates are 40 of m = 50 sellers
    assert f.loc[("tasc", "seller"), "share_of_candidates"] == pytest.approx(0.25)
    assert f.loc[("tasc", "seller"), "share_of_all_agents"] == pytest.approx(0.25 * 40 / 50)
    assert f.loc[("tasc", "buyer"), "manipulable"] == 0
    assert f.loc[("tasc", "all"), "cases"] == 80 and f.loc[("tasc", "all"), "share_of_candidates"] == pytest.approx(
        0.125
    )
    claims = truth.claims(frames)
    tasc = claims[0]
    assert tasc.verdict == "partly" and tasc.n == 80  # mean curves still peak at the truth
    assert "12.5% of candidate agents" in tasc.evidence and "of all agents" in tasc.evidence
    assert "(s_{i_k}, r_{j_β})" in tasc.evidence  # the tie rule is named
    assert claims[1].verdict == "agrees"
    assert truth.figures(frames, tmp_path)[0].png.exists()
    assert "tie rule" in truth.tables(frames)[1][0]
