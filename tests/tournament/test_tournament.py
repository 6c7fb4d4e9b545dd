"""Tournaments: reproducible, ranked consistently, truthful mechanisms favour truth, ecosystems."""

from __future__ import annotations

import numpy as np
import pytest

from auctionlab.errors import ConfigError, UnknownNameError
from auctionlab.tournament import Ecosystem, ResultSet, Tournament, filtered_strategies

SHADE = {"strategy": "scale", "params": {"theta": 0.8}}
SMALL = {"n": 8, "m": 8, "turns": 3}


@pytest.fixture(scope="module")
def three_way() -> ResultSet:
    strategies = {"truthful": "truthful", "shade": SHADE, "shift": {"strategy": "shift", "params": {"delta": -0.3}}}
    return Tournament(strategies, "kda", repetitions=4, rng=11, **SMALL).play()


def test_fixed_seed_reproduces(three_way):
    strategies = {"truthful": "truthful", "shade": SHADE, "shift": {"strategy": "shift", "params": {"delta": -0.3}}}
    again = Tournament(strategies, "kda", repetitions=4, rng=11, **SMALL).play()
    assert again == three_way
    assert np.array_equal(again.payoffs, three_way.payoffs)
    other = Tournament(strategies, "kda", repetitions=4, rng=12, **SMALL).play()
    assert not np.array_equal(other.payoffs, three_way.payoffs)


def test_ranked_names_agree_with_summarise(three_way):
    s = three_way.summarise()
    assert list(s["strategy"]) == three_way.ranked_names
    assert list(s["rank"]) == [1, 2, 3]
    assert s["mean"].is_monotonic_decreasing
    assert np.all(s["ci_low"] <= s["mean"]) and np.all(s["mean"] <= s["ci_high"])
    # the mean score is the mean payoff against the other two strategies
    for i, name in enumerate(three_way.players):
        others = [j for j in range(3) if j != i]
        assert s.set_index("strategy").loc[name, "mean"] == pytest.approx(three_way.payoff_matrix[i, others].mean())


def test_payoff_matrix_shape_and_symmetry_facts(three_way):
    r = three_way
    assert r.payoff_matrix.shape == (3, 3) and r.payoffs.shape == (3, 3, 4)
    assert np.all(np.isfinite(r.payoff_matrix))
    inter = r.interactions
    # per repetition: 3 self-matches x 2 roles; 3 pairings x 2 seatings x 2 sides x 2 roles
    assert len(inter) == 4 * (3 * 2 + 3 * 2 * 2 * 2)
    # a pairing splits the 8 seats of each role 4 / 4 and swaps the halves in its mirror match
    seats = inter.groupby(["repetition", "seating", "player", "opponent", "role"])["seats"].sum()
    for (_, _, a, b, _), v in seats.items():
        assert v == (8 if a == b else 4)
    # identical strategies under two labels play identical markets: equal payoffs against anyone
    twin = Tournament(
        {"truthful": "truthful", "scale1": {"strategy": "scale", "params": {"theta": 1.0}}, "shade": SHADE},
        "kda",
        repetitions=2,
        rng=5,
        **SMALL,
    ).play()
    m = twin.payoff_matrix
    assert m[0, 2] == pytest.approx(m[1, 2]) and m[2, 0] == pytest.approx(m[2, 1])
    assert m[0, 0] == pytest.approx(m[1, 1])
    # ... and with the halves swapped, each label held every seat once: the all-truthful payoff
    assert m[0, 1] == pytest.approx(m[0, 0]) and m[1, 0] == pytest.approx(m[0, 0])


@pytest.mark.parametrize("mechanism", ["trade_reduction", "vcg"])
@pytest.mark.parametrize("roles", [("buyer", "seller"), ("buyer",)])
def test_truthful_mechanism_ranks_truth_not_below_shading(mechanism, roles):
    r = Tournament(
        {"truthful": "truthful", "shade": SHADE}, mechanism, roles=roles, repetitions=6, rng=3, **SMALL
    ).play()
    s = r.summarise().set_index("strategy")
    assert s.loc["truthful", "ci_high"] >= s.loc["shade", "mean"]
    assert s.loc["truthful", "mean"] >= s.loc["shade", "ci_low"]


@pytest.mark.parametrize("mechanism", ["trade_reduction", "vcg"])
def test_invasion_format_pays_a_lone_shader_no_more_than_truth(mechanism):
    # In match (a, b) one focal seat per role plays a, the others b, on the same instance as
    # every other match of the repetition: against truthful others, the focal seats' payoff
    # when shading is a unilateral deviation from the all-truthful market of the same
    # seats, which a truthful mechanism never rewards — repetition by repetition.
    hard = {"strategy": "scale", "params": {"theta": 0.3}}
    t = Tournament({"truthful": "truthful", "shade": hard}, mechanism, format="invasion", repetitions=5, rng=3, **SMALL)
    r = t.play()
    assert len(r.interactions) == 5 * 4 * 2  # 4 ordered pairs x 2 roles, one row each
    assert set(r.interactions["seats"]) == {1}
    assert np.all(r.payoffs[1, 0] <= r.payoffs[0, 0] + 1e-9)
    assert np.any(r.payoffs[1, 0] < r.payoffs[0, 0] - 1e-6)  # and shading does cost something
    # repetition r is play_repetition on seeds[r]
    again = t.play_repetition(t.seeds[2], 2)
    assert again == r.interactions[r.interactions["repetition"] == 2].to_dict("records")


def test_buyers_only_tournament_and_role_checks():
    r = Tournament(["truthful", "drop_relays"], "tasc", roles=("buyer",), repetitions=1, rng=0, **SMALL).play()
    assert set(r.interactions["role"]) == {"buyer"} and r.payoff_matrix.shape == (2, 2)
    with pytest.raises(ConfigError, match="buyers only"):
        Tournament(["truthful", "drop_relays"], "tasc", rng=0, **SMALL)
    with pytest.raises(ConfigError, match="at least two"):
        Tournament(["truthful"], "tasc", **SMALL)
    with pytest.raises(ConfigError, match="unique"):
        Tournament(["truthful", "truthful"], "tasc", **SMALL)
    with pytest.raises(ConfigError, match="set by the tournament"):
        Tournament(["truthful", SHADE], "tasc", population={}, **SMALL)
    with pytest.raises(UnknownNameError):
        Tournament(["truthful", SHADE], "no_such_mechanism", **SMALL)
    with pytest.raises(ConfigError, match="market"):
        Tournament(["truthful", SHADE], market="casino")


def test_exchange_tournament_runs_ice():
    r = Tournament(
        {"sf": "straightforward", "mis": "misreport"},
        market="exchange",
        repetitions=1,
        rng=1,
        n_bidders=4,
        n_goods=2,
        nodes=6,
    ).play()
    assert r.payoff_matrix.shape == (2, 2) and np.all(np.isfinite(r.payoff_matrix))
    assert set(r.interactions["role"]) == {"bidder"}
    with pytest.raises(ConfigError, match="not an exchange strategy"):
        Tournament(["straightforward", "truthful"], market="exchange", n_bidders=2, n_goods=1, nodes=4)
    with pytest.raises(ConfigError, match="ICE"):
        Tournament(["straightforward", "misreport"], "tasc", market="exchange")


def test_ecosystem_converges_to_the_dominant_strategy():
    pd_ = np.array([[3.0, 0.0], [5.0, 1.0]])  # defect (row 1) strictly dominates
    eco = Ecosystem(pd_, population=[0.9, 0.1], names=["C", "D"]).reproduce(300)
    assert eco.shares.shape == (301, 2)
    assert eco.shares[-1, 1] > 1 - 1e-6
    d = np.diff(eco.shares[:, 1])
    assert np.all(d >= 0) and np.all(d[:8] > 0)  # the dominant share grows until it has everything
    # by hand: f = A x = (2.7, 4.6), x . f = 2.89, so D's share 0.1 -> 0.46 / 2.89 after one turn
    assert eco.shares[1, 1] == pytest.approx(0.46 / 2.89)
    assert int(np.argmax(eco.shares[:, 1] > 0.99)) == 8
    frame = eco.frame()
    assert list(frame.columns) == ["step", "time", "strategy", "share"] and len(frame) == 602


def test_ecosystem_over_a_tournament(three_way):
    eco = Ecosystem(three_way).reproduce(200)
    assert eco.names == three_way.players
    assert np.allclose(eco.shares.sum(axis=1), 1.0)
    # under k-DA the payoff matrix decides; the best reply to the final mix is what the mix holds
    x = eco.shares[-1]
    fitness = three_way.payoff_matrix @ x
    assert fitness[np.argmax(x)] == pytest.approx(fitness.max(), abs=1e-6)


def test_plots_draw_the_tidy_frames(three_way):
    pytest.importorskip("matplotlib")
    ax = three_way.plot.boxplot()
    assert [t.get_text() for t in ax.get_xticklabels()] == three_way.ranked_names
    ax = three_way.plot.payoff()
    assert len(ax.texts) == 9
    assert ax.images[0].get_array().shape == (3, 3)
    ax = three_way.plot.payoff(role="seller")
    assert len(ax.texts) == 9


def test_payoff_game_is_paired_and_symmetric(three_way):
    g = three_way.payoff_game()
    assert g.paired and g.n_strategies == (3, 3)
    u = g.payoff_tensor()
    assert np.allclose(u[0], three_way.payoff_matrix) and np.allclose(u[1], three_way.payoff_matrix.T)


def test_filtered_strategies():
    assert filtered_strategies(truthful=True, market="relay") == ["truthful"]
    assert "straightforward" in filtered_strategies(truthful=True, market="exchange")
    buyers = filtered_strategies(role="buyer")
    assert set(buyers) == {"drop_relays", "own_relay_only", "others_only"}
    learners = filtered_strategies(learning=True, deterministic=True)
    assert learners == ["fictitious_play"]
    assert set(filtered_strategies(deviation=lambda d: d == "learned_scale")) == {"hedge", "exp3", "fictitious_play"}
    with pytest.raises(ConfigError, match="unknown classifier"):
        filtered_strategies(colour="red")


def test_package_docstring_example_runs():
    import doctest

    import auctionlab.tournament as pkg

    res = doctest.testmod(pkg)
    assert res.attempted == 4 and res.failed == 0
