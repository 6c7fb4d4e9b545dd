"""The Moran process: fixation against the closed forms, neutral drift, trajectories, mutation, errors."""

from __future__ import annotations

import math

import numpy as np
import pytest

from auctionlab.errors import ConfigError, InvalidInputError
from auctionlab.tournament import (
    Moran,
    Tournament,
    exact_fixation_probability,
    fixation_probability,
)


def constant_fitness(r: float) -> np.ndarray:
    """Payoffs that give the invader (row 0) fitness r times the resident's whatever the mix
    (fitness = exp(payoff) at intensity 1)."""
    return np.array([[math.log(r), math.log(r)], [0.0, 0.0]])


def rho_constant(r: float, n: int) -> float:
    return (1 - 1 / r) / (1 - 1 / r**n)


# Tolerance: a fixation estimate from R independent runs is Binomial(R, ρ) / R, sd
# sqrt(ρ(1 − ρ)/R). With R = 4000 that sd is at most 0.0079; we allow 4 sd (a two-sided
# miss has probability 6e-5 for an unlucky seed — and the seeds are fixed, so the test is
# deterministic) and also require the analytic value inside the estimate's 99.99% Wilson interval.
REPEATS = 4000


@pytest.mark.parametrize(("r", "n"), [(1.5, 10), (2.0, 6), (0.8, 8)])
def test_fixation_matches_the_constant_fitness_formula(r, n):
    est = fixation_probability(constant_fitness(r), 0, 1, size=n, repeats=REPEATS, rng=7, level=0.9999)
    want = rho_constant(r, n)
    sd = math.sqrt(want * (1 - want) / REPEATS)
    assert abs(est.probability - want) <= 4 * sd
    assert est.ci_low <= want <= est.ci_high
    assert est.exact == pytest.approx(want, rel=1e-12)
    assert est.repeats == REPEATS and est.fixations == round(est.probability * REPEATS)


def test_neutral_fixation_is_one_over_n():
    a = np.array([[0.3, 0.3], [0.3, 0.3]])
    for n in (5, 12):
        est = fixation_probability(a, 0, 1, size=n, repeats=REPEATS, rng=1, level=0.9999)
        sd = math.sqrt((1 / n) * (1 - 1 / n) / REPEATS)
        assert abs(est.probability - 1 / n) <= 4 * sd and est.neutral == 1 / n
        assert exact_fixation_probability(a, 0, 1, size=n) == pytest.approx(1 / n)
    # zero selection intensity is drift whatever the payoffs
    assert exact_fixation_probability(constant_fitness(3.0), 0, 1, size=7, intensity=0.0) == pytest.approx(1 / 7)


def test_frequency_dependent_exact_agrees_with_simulation():
    # a coordination game: the invader does well only once common
    a = np.array([[2.0, 0.0], [0.0, 1.0]])
    exact = exact_fixation_probability(a, 0, 1, size=8, intensity=1.5)
    est = fixation_probability(a, 0, 1, size=8, repeats=REPEATS, intensity=1.5, rng=3, level=0.9999)
    assert est.ci_low <= exact <= est.ci_high
    assert exact < 1 / 8  # selection opposes the lone invader


def test_play_runs_to_fixation_and_is_reproducible():
    a = constant_fitness(4.0)
    m = Moran(a, [5, 5], rng=2)
    res = m.play()
    assert res.fixation in ("0", "1") or res.fixation in (0, 1)
    assert res.counts.sum(axis=1).tolist() == [10] * (res.steps + 1)  # N is constant
    assert np.all(np.abs(np.diff(res.counts, axis=0)).sum(axis=1) <= 2)  # one birth, one death per step
    assert res.counts[-1].max() == 10
    again = Moran(a, [5, 5], rng=2).play()
    assert np.array_equal(again.counts, res.counts)
    # a strong advantage fixes the favoured strategy from an even start in most runs
    wins = sum(Moran(a, [5, 5], rng=s).play().fixation == res.names[0] for s in range(40))
    assert wins >= 35
    f = res.frame()
    assert set(f.columns) >= {"step", "strategy", "share"} and len(f) == 2 * (res.steps + 1)


def test_mutation_keeps_both_strategies_alive():
    a = np.zeros((2, 2))
    res = Moran(a, {"1": 10}, names=["0", "1"], mutation=0.2, rng=4).play(max_steps=400)
    assert res.fixation is None and res.steps == 400
    assert res.counts[:, 0].max() > 0  # mutants of the absent strategy appear
    with pytest.raises(ConfigError, match="max_steps"):
        Moran(a, [1, 1], mutation=0.1).play()


def test_moran_over_a_tournament_result_set():
    results = Tournament(
        {"truthful": "truthful", "shade": {"strategy": "scale", "params": {"theta": 0.5}}},
        "trade_reduction",
        roles=("buyer",),
        repetitions=2,
        turns=2,
        rng=3,
        n=6,
        m=6,
    ).play()
    est = fixation_probability(results, "shade", "truthful", size=10, repeats=500, intensity=5.0, rng=0)
    assert est.invader == "shade" and est.resident == "truthful"
    assert est.exact == pytest.approx(exact_fixation_probability(results.payoff_matrix, 1, 0, size=10, intensity=5.0))
    m = Moran(results, size=7, rng=0)
    assert m.population.tolist() == [4, 3] and m.names == ["truthful", "shade"]


def test_bad_input_is_named():
    a = constant_fitness(2.0)
    with pytest.raises(InvalidInputError, match="different"):
        fixation_probability(a, 0, 0, size=5)
    with pytest.raises(InvalidInputError, match="not among"):
        fixation_probability(a, "x", 0, size=5, names=["a", "b"])
    with pytest.raises(ConfigError, match="size"):
        fixation_probability(a, 0, 1, size=1)
    with pytest.raises(ConfigError, match="size="):
        Moran(a)
    with pytest.raises(InvalidInputError, match="sum to"):
        Moran(a, [2, 2], size=5)
    with pytest.raises(ConfigError, match="intensity"):
        Moran(a, [1, 1], intensity=-1.0)
