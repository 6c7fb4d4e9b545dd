"""Paired bootstrap: narrower than the independent one on common instances, nominal coverage."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from auctionlab.errors import ConfigError, InvalidInputError
from auctionlab.games import EmpiricalGame

# a 2 x 2 role game whose profile (0, 0) has regret exactly 1 (player 0 gains 1 by moving to 1;
# every other deviation loses at least 1), so its regret is one clean difference of means
MU = np.array(
    [
        [[2.0, 0.0], [3.0, 0.0]],  # player 0
        [[2.0, 1.0], [0.0, 1.0]],  # player 1
    ]
)
TRUE_REGRET = 1.0


def paired_game(
    gen: np.random.Generator, m: int, *, instance_sd: float = 5.0, noise_sd: float = 0.5, paired: bool = True
) -> EmpiricalGame:
    """Every profile played on the same m instances: a shared instance effect per player plus noise."""
    common = gen.normal(0.0, instance_sd, size=(m, 2))
    g = EmpiricalGame([[0, 1], [0, 1]], paired=paired)
    for prof in itertools.product(range(2), range(2)):
        g.add(prof, MU[(slice(None), *prof)] + common + gen.normal(0.0, noise_sd, size=(m, 2)))
    return g


def test_paired_is_default_and_much_narrower_on_common_instances():
    g = paired_game(np.random.default_rng(7), 40)
    assert g.paired
    est, lo, hi = g.regret_ci((0, 0), rng=1)
    est_i, lo_i, hi_i = g.regret_ci((0, 0), rng=1, paired=False)
    assert est == est_i and abs(est - TRUE_REGRET) < 0.5
    assert lo <= TRUE_REGRET <= hi
    assert (hi - lo) * 5 < hi_i - lo_i  # instance sd 5 vs noise sd 0.5: the independent interval is far wider
    # the mixture interval too (whole table resampled with shared instances)
    mix = [[0.5, 0.5], [0.5, 0.5]]
    _, mlo, mhi = g.regret_ci(mix, rng=2, n_boot=400)
    _, ilo, ihi = g.regret_ci(mix, rng=2, n_boot=400, paired=False)
    assert (mhi - mlo) * 3 < ihi - ilo


def test_paired_coverage_is_nominal_on_a_synthetic_model():
    gen = np.random.default_rng(2026)
    reps, hits = 200, 0
    for _ in range(reps):
        g = paired_game(gen, 30)
        _, lo, hi = g.regret_ci((0, 0), level=0.9, n_boot=400, rng=gen)
        hits += lo <= TRUE_REGRET <= hi
    rate = hits / reps
    assert 0.84 <= rate <= 0.96, rate  # 90 % nominal; binomial sd at 200 replications is 0.021


def test_paired_needs_equal_run_counts():
    g = EmpiricalGame([[0, 1], [0, 1]], paired=True)
    for prof in itertools.product(range(2), range(2)):
        g.add(prof, np.ones((3, 2)))
    g.add((1, 1), [1.0, 1.0])
    with pytest.raises(InvalidInputError, match="same number of runs"):
        g.regret_ci((0, 1), rng=0)
    assert g.regret_ci((0, 1), rng=0, paired=False)[0] == 0.0


def test_from_frame_with_instance_column_orders_runs_by_instance():
    gen = np.random.default_rng(3)
    rows = []
    for k in range(12):
        c = gen.normal(0, 5, size=2)
        for a, b in itertools.product(range(2), range(2)):
            u = MU[:, a, b] + c
            rows.append({"instance": k, "a": a, "b": b, "ua": u[0], "ub": u[1]})
    df = pd.DataFrame(rows)
    shuffled = df.sample(frac=1.0, random_state=0)
    g1 = EmpiricalGame.from_frame(df, ["a", "b"], ["ua", "ub"], instance_column="instance")
    g2 = EmpiricalGame.from_frame(shuffled, ["a", "b"], ["ua", "ub"], instance_column="instance")
    assert g1.paired and g2.paired
    assert g1.regret_ci((0, 0), rng=4) == g2.regret_ci((0, 0), rng=4)
    # no idiosyncratic noise: the instance effect cancels exactly in every paired replicate
    est, lo, hi = g1.regret_ci((0, 0), rng=4)
    assert est == pytest.approx(1.0) and lo == pytest.approx(1.0) and hi == pytest.approx(1.0)
    with pytest.raises(InvalidInputError, match="same instances"):
        EmpiricalGame.from_frame(
            df[~((df.instance == 0) & (df.a == 0) & (df.b == 0))], ["a", "b"], ["ua", "ub"], instance_column="instance"
        )
    with pytest.raises(ConfigError, match="paired=True"):
        EmpiricalGame([[0, 1], [0, 1]]).add_frame(df, ["a", "b"], ["ua", "ub"], instance_column="instance")
