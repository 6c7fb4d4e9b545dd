"""Bootstrap and normal confidence intervals: coverage, reproducibility, groups, bad input."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from auctionlab.errors import ConfigError, InvalidInputError, ShapeError
from auctionlab.report.stats import (
    bootstrap_ci,
    bootstrap_distribution,
    bootstrap_table,
    gain_ci,
    mean_ci,
    resample_means,
)


def test_bootstrap_ci_on_seeded_normal_sample_matches_theory():
    x = np.random.default_rng(7).normal(1.0, 2.0, size=400)
    est, lo, hi = bootstrap_ci(x, rng=1)
    assert est == pytest.approx(x.mean())
    # percentile bootstrap of a mean ~ normal interval 2 * 1.96 * sd / sqrt(n)
    expected = 2 * 1.959964 * x.std(ddof=1) / math.sqrt(x.size)
    assert hi - lo == pytest.approx(expected, rel=0.1)
    assert lo == pytest.approx(est - expected / 2, abs=0.03) and hi == pytest.approx(est + expected / 2, abs=0.03)


def test_bootstrap_ci_coverage_is_near_nominal():
    gen = np.random.default_rng(2024)
    hits = 0
    reps = 200
    for _ in range(reps):
        x = gen.normal(3.0, 1.0, size=60)
        _, lo, hi = bootstrap_ci(x, level=0.9, n_boot=400, rng=gen)
        hits += lo <= 3.0 <= hi
    # nominal 0.9; binomial sd over 200 reps is ~0.021, percentile bootstrap slightly undercovers
    assert 0.82 <= hits / reps <= 0.97


def test_bootstrap_is_reproducible_and_uses_no_global_state():
    x = np.arange(30.0)
    np.random.seed(0)
    a = bootstrap_ci(x, rng=5)
    np.random.seed(99)
    b = bootstrap_ci(x, rng=np.random.default_rng(5))
    assert a == b
    assert bootstrap_ci(x, rng=6) != a
    state = np.random.get_state()[1].copy()
    bootstrap_ci(x, rng=None)
    assert np.array_equal(np.random.get_state()[1], state)


def test_other_statistics_with_and_without_axis_support():
    x = np.random.default_rng(3).exponential(size=101)
    est, lo, hi = bootstrap_ci(x, np.median, rng=0, n_boot=500)
    assert est == pytest.approx(np.median(x)) and lo <= est <= hi
    p90 = lambda v: float(np.percentile(v, 90))  # no axis argument: row-by-row fallback
    est, lo, hi = bootstrap_ci(x, p90, rng=0, n_boot=300)
    assert est == pytest.approx(np.percentile(x, 90)) and lo <= hi
    assert bootstrap_distribution(x, n_boot=123, rng=0).shape == (123,)


def test_single_observation_gives_degenerate_intervals():
    assert bootstrap_ci([2.5], rng=0) == (2.5, 2.5, 2.5)
    m, lo, hi = mean_ci([2.5])
    assert m == 2.5 and math.isnan(lo) and math.isnan(hi)


def test_mean_ci_is_the_normal_interval_and_agrees_with_bootstrap():
    x = np.random.default_rng(11).normal(0.0, 1.0, size=2000)
    m, lo, hi = mean_ci(x, level=0.95)
    half = 1.959964 * x.std(ddof=1) / math.sqrt(x.size)
    assert (m, lo, hi) == pytest.approx((x.mean(), x.mean() - half, x.mean() + half))
    _, blo, bhi = bootstrap_ci(x, rng=0)
    assert blo == pytest.approx(lo, abs=0.01) and bhi == pytest.approx(hi, abs=0.01)


def test_gain_ci_paired_is_tighter_under_common_random_numbers():
    gen = np.random.default_rng(4)
    common = gen.normal(0.0, 5.0, size=100)  # seed-level noise shared by both arms
    control = common + gen.normal(0.0, 0.1, size=100)
    treatment = common + 0.3 + gen.normal(0.0, 0.1, size=100)
    g, lo, hi = gain_ci(treatment, control, paired=True, rng=0)
    assert g == pytest.approx(treatment.mean() - control.mean())
    assert lo > 0.2 and hi < 0.4
    g2, lo2, hi2 = gain_ci(treatment, control, paired=False, rng=0)
    assert g2 == pytest.approx(g)
    assert hi2 - lo2 > 10 * (hi - lo)
    with pytest.raises(ShapeError):
        gain_ci(treatment, control[:-1], paired=True)


def test_resample_means_keeps_rows_together():
    x = np.column_stack([np.arange(50.0), -np.arange(50.0)])
    boot = resample_means(x, n_boot=300, rng=0)
    assert boot.shape == (300, 2)
    assert np.allclose(boot[:, 0], -boot[:, 1])
    assert np.all((boot[:, 0] >= 0) & (boot[:, 0] <= 49))
    assert boot[:, 0].std() == pytest.approx(np.arange(50.0).std() / math.sqrt(50), rel=0.15)
    assert np.array_equal(resample_means(x[:1], n_boot=4, rng=0), np.repeat(x[:1], 4, axis=0))


def test_bootstrap_table_groups():
    gen = np.random.default_rng(0)
    df = pd.DataFrame(
        {
            "mech": np.repeat(["tasc", "vcg"], 60),
            "theta": np.tile(np.repeat([0.8, 1.0], 30), 2),
        }
    )
    df["gain"] = gen.normal(0.0, 1.0, size=len(df)) + np.where(df["mech"] == "vcg", 5.0, 0.0)
    out = bootstrap_table(df, "gain", ["mech", "theta"], rng=1, n_boot=500)
    assert list(out.columns) == ["mech", "theta", "estimate", "lo", "hi", "n"]
    assert len(out) == 4 and (out["n"] == 30).all()
    assert list(zip(out["mech"], out["theta"])) == [("tasc", 0.8), ("tasc", 1.0), ("vcg", 0.8), ("vcg", 1.0)]
    means = df.groupby(["mech", "theta"])["gain"].mean().to_numpy()
    assert np.allclose(out["estimate"], means)
    assert ((out["lo"] < out["estimate"]) & (out["estimate"] < out["hi"])).all()
    assert out.equals(bootstrap_table(df, "gain", ["mech", "theta"], rng=1, n_boot=500))
    # a single key, the normal method, and no grouping at all
    one = bootstrap_table(df, "gain", "mech", method="normal")
    assert list(one["mech"]) == ["tasc", "vcg"] and (one["n"] == 60).all()
    whole = bootstrap_table(df, "gain", rng=0, n_boot=200)
    assert len(whole) == 1 and whole["n"].iloc[0] == 120


@pytest.mark.parametrize(
    "bad, error",
    [
        ([], InvalidInputError),
        ([1.0, np.nan, 2.0], InvalidInputError),
        ([1.0, np.inf], InvalidInputError),
        (np.ones((3, 2)), ShapeError),
        (["a", "b"], InvalidInputError),
    ],
)
def test_bad_samples_raise(bad, error):
    with pytest.raises(error):
        bootstrap_ci(bad, rng=0)
    with pytest.raises(error):
        mean_ci(bad)


def test_bad_parameters_raise():
    x = np.arange(5.0)
    for level in (0.0, 1.0, 1.5, "high"):
        with pytest.raises(ConfigError):
            bootstrap_ci(x, level=level, rng=0)
    for n_boot in (0, -3, 2.5, True):
        with pytest.raises(ConfigError):
            bootstrap_ci(x, n_boot=n_boot, rng=0)
    with pytest.raises(ConfigError, match="one number"):
        bootstrap_ci(x, lambda v, axis=None: np.ones(3), rng=0)
    with pytest.raises(ShapeError):
        resample_means(x, rng=0)


def test_bootstrap_table_bad_input():
    df = pd.DataFrame({"g": ["a", "a", "b"], "v": [1.0, np.nan, 2.0]})
    with pytest.raises(InvalidInputError, match="group 'a'"):
        bootstrap_table(df, "v", "g", rng=0)
    with pytest.raises(ConfigError, match="not in the DataFrame"):
        bootstrap_table(df, "value", "g")
    with pytest.raises(ConfigError):
        bootstrap_table(df, "v", "g", method="magic")
    with pytest.raises(ConfigError):
        bootstrap_table(df, "v", "g", np.median, method="normal")
