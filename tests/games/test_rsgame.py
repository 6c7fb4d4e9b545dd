"""Count-based role-symmetric game: hand-worked deviation gains and regrets, and a cross-check
against the normal-form game where every role has one player."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from auctionlab.errors import ConfigError, InvalidInputError, ShapeError
from auctionlab.games import EmpiricalGame, RoleSymmetricGame


def symmetric_pd() -> RoleSymmetricGame:
    # two players, one role; payoff of A/B at count profiles (#A, #B)
    g = RoleSymmetricGame({"all": ["A", "B"]}, {"all": 2})
    g.add([2, 0], [3.0, np.nan]).add([1, 1], [0.0, 5.0]).add([0, 2], [np.nan, 1.0])
    return g


def market_game() -> RoleSymmetricGame:
    # buyers (2 players): lo / hi; seller (1 player): x / y. h = number of hi buyers.
    def payoff(p):
        _lo, hi, _x, y = p
        return [1 + hi + 2 * y, 2 + y - hi, hi, 3 - hi]

    return RoleSymmetricGame.from_function(
        {"buyer": ["lo", "hi"], "seller": ["x", "y"]}, {"buyer": 2, "seller": 1}, payoff
    )


def test_profiles_and_sizes():
    g = market_game()
    assert g.all_profiles().tolist() == [
        [2, 0, 1, 0],
        [2, 0, 0, 1],
        [1, 1, 1, 0],
        [1, 1, 0, 1],
        [0, 2, 1, 0],
        [0, 2, 0, 1],
    ]
    assert g.num_strats == 4 and g.num_devs == 8 and g.is_complete
    assert g.profile({"buyer": {"lo": 1, "hi": 1}, "seller": {"x": 1}}).tolist() == [1, 1, 1, 0]


def test_pure_deviation_gains_by_hand():
    g = symmetric_pd()
    # (from, to) order: A->A, A->B, B->A, B->B
    assert g.deviation_gains([2, 0]).tolist() == [0.0, 2.0, 0.0, 0.0]  # an A-player to B: 5 - 3
    assert g.deviation_gains([1, 1]).tolist() == [0.0, 1.0, -2.0, 0.0]  # A->B: 1 - 0; B->A: 3 - 5
    assert g.deviation_gains([0, 2]).tolist() == [0.0, 0.0, -1.0, 0.0]  # B->A: 0 - 1
    assert [g.regret(p) for p in g.all_profiles()] == [2.0, 1.0, 0.0]
    assert g.pure_equilibria().tolist() == [[0, 2]]
    m = market_game()
    # at (lo, hi | x): lo->hi reaches (0, 2 | x) where hi pays 0 (vs 2); hi->lo reaches (2, 0 | x): 1 vs 1;
    # the seller x->y reaches (1, 1 | y) where y pays 2 (vs 1); y is unplayed: 0
    assert m.deviation_gains([1, 1, 1, 0]).tolist() == [0.0, -2.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0]
    assert m.regret([1, 1, 1, 0]) == 1.0


def test_mixture_deviation_payoffs_by_hand():
    g = symmetric_pd()
    # the other player is A with probability p: A earns 3p, B earns 5p + (1 - p)
    for p in (0.0, 0.25, 0.5, 1.0):
        assert g.deviation_payoffs([p, 1 - p]) == pytest.approx([3 * p, 1 + 4 * p])
    assert g.mixture_deviation_gains([0.5, 0.5]) == pytest.approx([-0.75, 0.75])
    assert g.mixture_regret([0.5, 0.5]) == pytest.approx(0.75)
    assert g.mixture_regret([0.0, 1.0]) == pytest.approx(0.0)
    m = market_game()
    x = {"buyer": [0.5, 0.5], "seller": [0.25, 0.75]}
    # buyer to lo: 1 + E[h of the other buyer] + 2 P(y) = 1 + 0.5 + 1.5; to hi: 2 + 0.75 - (1 + 0.5);
    # seller to x: E[h] = 1; to y: 3 - 1
    assert m.deviation_payoffs(x) == pytest.approx([3.0, 1.25, 1.0, 2.0])
    assert m.expected_payoffs(x) == pytest.approx([2.125, 1.75])
    assert m.mixture_deviation_gains(x) == pytest.approx([0.875, -0.875, -0.75, 0.25])
    assert m.mixture_regret(x) == pytest.approx(0.875)


@pytest.mark.parametrize("seed", range(5))
def test_one_player_per_role_is_the_normal_form_game(seed):
    u = np.random.default_rng(seed).normal(size=(2, 3, 2))
    ef = EmpiricalGame.from_tensor(u)

    def payoff(p):
        a, b = int(np.argmax(p[:3])), int(np.argmax(p[3:]))
        out = np.zeros(5)
        out[a], out[3 + b] = u[0, a, b], u[1, a, b]
        return out

    rs = RoleSymmetricGame.from_function({"row": [0, 1, 2], "col": [0, 1]}, {"row": 1, "col": 1}, payoff)
    for a, b in itertools.product(range(3), range(2)):
        prof = np.zeros(5, dtype=int)
        prof[a] = prof[3 + b] = 1
        assert rs.regret(prof) == pytest.approx(ef.regret((a, b)))
    mix = [
        np.random.default_rng(seed + 10).dirichlet(np.ones(3)),
        np.random.default_rng(seed + 20).dirichlet(np.ones(2)),
    ]
    assert rs.mixture_regret(np.concatenate(mix)) == pytest.approx(ef.mixture_regret(mix))
    assert rs.expected_payoffs(np.concatenate(mix)) == pytest.approx(ef.expected_payoffs(mix))


def test_bad_input():
    g = symmetric_pd()
    with pytest.raises(InvalidInputError, match="players per role"):
        g.profile([1, 0])
    with pytest.raises(ShapeError):
        g.profile([1, 0, 1])
    with pytest.raises(ConfigError, match="unknown strategy"):
        g.profile({"all": {"C": 2}})
    with pytest.raises(InvalidInputError, match="sums to"):
        g.mixture([0.5, 0.6])
    incomplete = RoleSymmetricGame({"all": ["A", "B"]}, {"all": 2}).add([2, 0], [1.0, 0.0])
    with pytest.raises(InvalidInputError, match="no payoff samples"):
        incomplete.regret([2, 0])
    with pytest.raises(InvalidInputError, match="needs every profile"):
        incomplete.mixture_regret([0.5, 0.5])
    with pytest.raises(ConfigError, match="duplicate"):
        RoleSymmetricGame({"all": ["A", "A"]}, {"all": 2})
