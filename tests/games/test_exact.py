"""Exact two-player solvers: known games, random games against nashpy, uniqueness queries."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from auctionlab.errors import ConfigError, SolverError
from auctionlab.games import (
    SOLVERS,
    EmpiricalGame,
    all_equilibria,
    is_unique,
    lemke_howson,
    solve,
    support_enumeration,
)


def bimatrix(a, b, labels=None) -> EmpiricalGame:
    return EmpiricalGame.from_tensor(np.stack([np.asarray(a, float), np.asarray(b, float)]), strategies=labels)


def random_game(seed: int, shape=(4, 4)) -> EmpiricalGame:
    gen = np.random.default_rng(seed)
    return EmpiricalGame.from_tensor(gen.normal(size=(2, *shape)))


BOS = bimatrix([[2, 0], [0, 1]], [[1, 0], [0, 2]])  # battle of the sexes


def as_pairs(eqs):
    return sorted((tuple(np.round(x, 8)), tuple(np.round(y, 8))) for x, y in eqs)


def test_registered_and_exact_on_known_games():
    assert {"support_enumeration", "lemke_howson"} <= set(SOLVERS)
    pennies = bimatrix([[1, -1], [-1, 1]], [[-1, 1], [1, -1]])
    for name in ("support_enumeration", "lemke_howson"):
        res = solve(pennies, name)
        assert res.converged and res.status == "exact" and res.solver == name
        assert np.allclose(res.mixture[0], [0.5, 0.5]) and np.allclose(res.mixture[1], [0.5, 0.5])
        assert res.regret <= 1e-12
    assert is_unique(pennies)


def test_battle_of_the_sexes_has_three_equilibria():
    eqs = as_pairs(all_equilibria(BOS))
    assert eqs == as_pairs(
        [
            ([0, 1], [0, 1]),
            ([1, 0], [1, 0]),
            ([2 / 3, 1 / 3], [1 / 3, 2 / 3]),
        ]
    )
    assert not is_unique(BOS)
    # support enumeration lists the pure ones first; Lemke-Howson from each label ends at one of the three
    assert solve(BOS, "support_enumeration").mixture[0].max() == 1.0
    reached = {tuple(np.round(lemke_howson(BOS, initial_dropped_label=k).mixture[0], 8)) for k in range(4)}
    assert reached <= {tuple(np.round(x, 8)) for x, _ in eqs}
    with pytest.raises(SolverError, match="found 3"):
        support_enumeration(BOS, index=3)


def test_prisoners_dilemma_and_rps_are_unique():
    row = np.array([[3.0, 0.0], [5.0, 1.0]])
    pd_ = bimatrix(row, row.T)
    assert as_pairs(all_equilibria(pd_)) == [((0.0, 1.0), (0.0, 1.0))]
    rps = np.array([[0.0, -1.0, 1.0], [1.0, 0.0, -1.0], [-1.0, 1.0, 0.0]])
    g = bimatrix(rps, -rps)
    ((x, y),) = all_equilibria(g)
    assert np.allclose(x, 1 / 3) and np.allclose(y, 1 / 3)


@pytest.mark.parametrize("seed", range(15))
def test_random_games_exact_regret(seed):
    g = random_game(seed, shape=(4, 5))
    eqs = all_equilibria(g)
    assert len(eqs) % 2 == 1  # a nondegenerate game has an odd number of equilibria
    for mix in eqs:
        assert g.mixture_regret(mix) <= 1e-10
    for k in range(9):
        assert lemke_howson(g, initial_dropped_label=k).regret <= 1e-10


def test_exact_solvers_are_two_player_only_and_check_labels():
    three = EmpiricalGame.from_tensor(np.zeros((3, 2, 2, 2)))
    with pytest.raises(ConfigError, match="two-player"):
        solve(three, "lemke_howson")
    with pytest.raises(ConfigError, match="two-player"):
        all_equilibria(three)
    with pytest.raises(ConfigError, match="initial_dropped_label"):
        lemke_howson(BOS, initial_dropped_label=4)


@pytest.mark.parametrize("seed", range(10))
def test_against_nashpy(seed):
    nash = pytest.importorskip("nashpy")
    g = random_game(100 + seed)
    a, b = g.payoff_tensor()
    ref = nash.Game(a, b)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # nashpy warns when it finds an even number
        theirs = as_pairs(ref.support_enumeration())
    ours = as_pairs(all_equilibria(g))
    # nashpy's tolerances can drop an equilibrium (seed 2: it finds 2 of the 3); never the reverse
    assert set(theirs) <= set(ours) and len(ours) % 2 == 1
    if len(theirs) % 2 == 1:
        assert ours == theirs
    for k in range(8):
        ours = lemke_howson(g, initial_dropped_label=k).mixture
        x, y = ref.lemke_howson(initial_dropped_label=k)
        assert np.allclose(ours[0], x, atol=1e-9) and np.allclose(ours[1], y, atol=1e-9)


def test_degenerate_games_are_not_called_unique_and_lemke_howson_terminates():
    ties = bimatrix(np.ones((2, 2)), np.ones((2, 2)))  # every mixture is an equilibrium
    assert len(all_equilibria(ties)) == 4 and not is_unique(ties)
    # von Stengel's degenerate example: the row player's middle row has two best responses
    a = [[3, 3], [2, 5], [0, 6]]
    b = [[3, 2], [2, 6], [3, 1]]
    g = bimatrix(a, b)
    eqs = all_equilibria(g)
    assert not is_unique(g) and all(g.mixture_regret(m) <= 1e-10 for m in eqs)
    assert ((1.0, 0.0, 0.0), (1.0, 0.0)) in as_pairs(eqs)
    for k in range(5):
        assert lemke_howson(g, initial_dropped_label=k).regret <= 1e-10
