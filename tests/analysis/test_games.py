"""Empirical games: known games with known answers, bootstrap regret intervals, bad input."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from auctionlab.errors import (
    ConfigError,
    InvalidInputError,
    ShapeError,
    UnknownNameError,
)
from auctionlab.games import (
    SOLVERS,
    EmpiricalGame,
    EquilibriumResult,
    pure_equilibria,
    replicator_trajectory,
    solve,
    trajectory_frame,
)


# ----------------------------------------------------------------------------- known games
def prisoners_dilemma() -> EmpiricalGame:
    # row payoffs: (C,C)=3, (C,D)=0, (D,C)=5, (D,D)=1 ; symmetric
    row = np.array([[3.0, 0.0], [5.0, 1.0]])
    return EmpiricalGame.from_tensor(np.stack([row, row.T]), strategies=[["C", "D"], ["C", "D"]])


def matching_pennies() -> EmpiricalGame:
    row = np.array([[1.0, -1.0], [-1.0, 1.0]])
    return EmpiricalGame.from_tensor(np.stack([row, -row]), strategies=[["H", "T"], ["H", "T"]])


def rock_paper_scissors() -> EmpiricalGame:
    row = np.array([[0.0, -1.0, 1.0], [1.0, 0.0, -1.0], [-1.0, 1.0, 0.0]])
    return EmpiricalGame.from_tensor(np.stack([row, row.T]), strategies=[["R", "P", "S"]] * 2)


OFF_START_2 = [[0.9, 0.1], [0.2, 0.8]]
OFF_START_3 = [[0.6, 0.3, 0.1], [0.1, 0.1, 0.8]]


# ----------------------------------------------------------------------------- prisoner's dilemma
def test_prisoners_dilemma_unique_pure_equilibrium_and_regrets():
    g = prisoners_dilemma()
    assert pure_equilibria(g) == [("D", "D")]
    assert g.regret(("D", "D")) == 0.0
    assert g.regret(("C", "C")) == 2.0  # 5 - 3 by defecting
    assert g.regret(("C", "D")) == 1.0  # the sucker gains 1 - 0
    gains = g.deviation_gains(("C", "C"))
    assert [list(x) for x in gains] == [[0.0, 2.0], [0.0, 2.0]]
    assert np.array_equal(g.pure_regrets(), [[2.0, 1.0], [1.0, 0.0]])
    assert pure_equilibria(g, eps=1.0) == [("C", "D"), ("D", "C"), ("D", "D")]


@pytest.mark.parametrize("name", sorted(SOLVERS))
@pytest.mark.parametrize("start", ["uniform", "random", [[0.99, 0.01], [0.7, 0.3]]])
def test_every_solver_finds_mutual_defection(name, start):
    g = prisoners_dilemma()
    res = SOLVERS[name](g, rng=3, start=start)
    assert isinstance(res, EquilibriumResult) and res.solver == name
    assert res.converged
    assert res.regret < 1e-6
    assert g.mixture_regret(res.mixture) == pytest.approx(res.regret, abs=1e-12)
    for x in res.mixture:
        assert x[1] > 1 - 1e-6 and x.sum() == pytest.approx(1.0)


def test_replicator_floor_lets_extinct_strategies_return():
    g = prisoners_dilemma()
    stuck = solve(g, "replicator_dynamics", start=g.pure_mixture(("C", "C")), floor=0.0)
    assert not stuck.converged and stuck.iterations == 0 and stuck.regret == 2.0  # a rest point
    escaped = solve(g, "replicator_dynamics", start=g.pure_mixture(("C", "C")))  # default floor 1e-12
    assert escaped.converged and escaped.regret < 1e-6 and escaped.mixture[0][1] > 1 - 1e-6
    with pytest.raises(ConfigError, match="floor"):
        solve(g, "replicator_dynamics", floor=0.5)


# ----------------------------------------------------------------------------- matching pennies
def test_matching_pennies_regrets():
    g = matching_pennies()
    assert pure_equilibria(g) == []
    assert g.mixture_regret(g.uniform_mixture()) == 0.0
    for profile in itertools.product("HT", repeat=2):
        assert g.regret(profile) == 2.0
        assert g.mixture_regret(g.pure_mixture(profile)) == 2.0
    # one player mixing uniformly makes the other indifferent, not the mixer
    assert g.mixture_regret([[1.0, 0.0], [0.5, 0.5]]) == 1.0
    assert np.allclose(g.expected_payoffs(g.uniform_mixture()), [0.0, 0.0])


@pytest.mark.parametrize("name", ["regret_matching", "fictitious_play"])
@pytest.mark.parametrize("weighting", ["linear", "uniform"])
def test_matching_pennies_average_strategies_converge(name, weighting):
    g = matching_pennies()
    res = solve(g, name, start=OFF_START_2, max_iter=5000, weighting=weighting)
    for x in res.mixture:
        assert np.abs(x - 0.5).max() < 0.02
    assert res.regret < 0.05
    assert res.iterations == 5000 and not res.converged  # 1e-7 is out of reach in 5000 steps


def test_regret_matching_plus_converges_faster_on_matching_pennies():
    g = matching_pennies()
    plain = solve(g, "regret_matching", start=OFF_START_2, max_iter=3000)
    plus = solve(g, "regret_matching", start=OFF_START_2, max_iter=3000, plus=True)
    assert plus.regret < plain.regret and plus.regret < 0.02


def test_replicator_does_not_converge_on_matching_pennies():
    res = solve(matching_pennies(), "replicator_dynamics", start=OFF_START_2, max_iter=2000)
    assert not res.converged and res.regret > 0.5  # cycles outwards: a documented limitation


# ----------------------------------------------------------------------------- rock paper scissors
def test_rock_paper_scissors_regrets():
    g = rock_paper_scissors()
    assert pure_equilibria(g) == []
    assert g.mixture_regret(g.uniform_mixture()) == 0.0
    # a tie can be improved by 1 (win instead of draw), a loss by 2 (win instead of loss)
    expected = np.where(np.eye(3, dtype=bool), 1.0, 2.0)
    assert np.array_equal(g.pure_regrets(), expected)
    for a, b in itertools.product("RPS", repeat=2):
        assert g.regret((a, b)) == (1.0 if a == b else 2.0)
    # rock against a uniform opponent: the opponent gains 1 by playing paper
    assert g.mixture_regret([[1, 0, 0], [1 / 3, 1 / 3, 1 / 3]]) == pytest.approx(1.0)


@pytest.mark.parametrize("name", ["regret_matching", "fictitious_play"])
def test_rock_paper_scissors_average_strategies_converge(name):
    res = solve(rock_paper_scissors(), name, start=OFF_START_3, max_iter=5000)
    for x in res.mixture:
        assert np.abs(x - 1 / 3).max() < 0.02
    assert res.regret < 0.05


# ----------------------------------------------------------------------------- a noisy 2-role game
BUYER = [0.8, 0.9, 1.0]  # shading levels
SELLER = [1.0, 1.1]  # inflation levels
TRUE = np.array(
    [
        [[1.0, 0.5], [1.4, 0.6], [1.2, 1.1]],  # buyer payoff
        [[0.3, 0.9], [0.8, 0.2], [0.5, 0.4]],  # seller payoff
    ]
)


def noisy_role_game(seed: int, runs: int = 40) -> EmpiricalGame:
    """Each profile gets ``runs`` simulated runs (payoff = truth + N(0, 1)), added in two batches."""
    gen = np.random.default_rng(seed)
    g = EmpiricalGame({"buyer": BUYER, "seller": SELLER})
    for idx in np.ndindex(3, 2):
        for _ in range(2):
            g.add(g.profile_labels(idx), TRUE[(slice(None), *idx)] + gen.normal(0.0, 1.0, size=(runs // 2, 2)))
    return g


def true_role_game() -> EmpiricalGame:
    return EmpiricalGame.from_tensor(TRUE, strategies=[BUYER, SELLER], players=["buyer", "seller"])


def test_role_game_bookkeeping():
    g = noisy_role_game(0)
    assert g.players == g.roles == ("buyer", "seller")
    assert g.n_strategies == (3, 2)
    assert np.array_equal(g.counts(), np.full((3, 2), 40))
    assert g.samples((0.9, 1.1)).shape == (40, 2)
    u = g.payoff_tensor()
    assert u.shape == (2, 3, 2)
    assert np.abs(u - TRUE).max() < 4 / np.sqrt(40)  # means within 4 standard errors
    assert np.allclose(g.mean_payoffs((1.0, 1.0)), u[:, 2, 0])
    df = g.to_frame()
    assert list(df.columns) == ["profile", "buyer", "seller", "player", "strategy", "payoff", "n", "sd"]
    assert len(df) == 12 and (df["n"] == 40).all()
    row = df[(df["profile"] == (0.8, 1.1)) & (df["player"] == "seller")].iloc[0]
    assert row["strategy"] == 1.1 and row["buyer"] == 0.8
    assert row["payoff"] == pytest.approx(g.samples((0.8, 1.1))[:, 1].mean())
    assert row["sd"] == pytest.approx(g.samples((0.8, 1.1))[:, 1].std(ddof=1))
    assert 0.6 < df["sd"].mean() < 1.4


def test_role_game_true_answers():
    t = true_role_game()
    assert pure_equilibria(t) == [(0.9, 1.0)]
    assert t.regret((0.8, 1.0)) == pytest.approx(0.6)  # seller 0.3 -> 0.9
    assert t.regret((1.0, 1.1)) == pytest.approx(0.1)  # seller 0.4 -> 0.5
    for name in SOLVERS:
        res = solve(t, name)
        assert res.regret < 1e-6
        assert np.allclose(res.mixture[0], [0, 1, 0], atol=1e-6) and np.allclose(res.mixture[1], [1, 0], atol=1e-6)


@pytest.mark.parametrize("profile", [(0.8, 1.0), (1.0, 1.1)])
def test_regret_ci_covers_true_regret(profile):
    truth = true_role_game().regret(profile)
    est, lo, hi = noisy_role_game(1).regret_ci(profile, n_boot=1000, rng=1)
    assert lo <= truth <= hi
    assert lo <= est <= hi and hi - lo < 1.5
    hits = sum(
        lo <= truth <= hi
        for lo, hi in (noisy_role_game(s).regret_ci(profile, n_boot=400, rng=s)[1:] for s in range(60))
    )
    assert hits / 60 >= 0.85  # nominal 0.95


def test_regret_ci_on_a_mixture():
    mix = [np.array([0.2, 0.3, 0.5]), np.array([0.6, 0.4])]
    truth = true_role_game().mixture_regret(mix)
    assert truth == pytest.approx(0.096)
    g = noisy_role_game(2)
    est, lo, hi = g.regret_ci(mix, n_boot=800, rng=0)
    assert est == pytest.approx(g.mixture_regret(mix))
    assert lo <= truth <= hi
    assert g.regret_ci({"buyer": mix[0], "seller": mix[1]}, n_boot=800, rng=0) == (est, lo, hi)
    hits = sum(
        lo <= truth <= hi for lo, hi in (noisy_role_game(s).regret_ci(mix, n_boot=300, rng=s)[1:] for s in range(40))
    )
    assert hits / 40 >= 0.75  # regret is a max: the percentile interval under-covers somewhat


def test_regret_ci_is_reproducible_and_known_games_have_zero_width():
    g = noisy_role_game(3)
    assert g.regret_ci((0.8, 1.0), rng=5) == g.regret_ci((0.8, 1.0), rng=np.random.default_rng(5))
    assert prisoners_dilemma().regret_ci(("C", "C"), rng=0) == (2.0, 2.0, 2.0)


def test_from_frame_matches_incremental_adds():
    gen = np.random.default_rng(9)
    rows = []
    for b, s in itertools.product(BUYER, SELLER):
        for _ in range(5):
            rows.append({"theta_b": b, "theta_s": s, "u_b": gen.normal(), "u_s": gen.normal()})
    df = pd.DataFrame(rows)
    g = EmpiricalGame.from_frame(df, {"buyer": "theta_b", "seller": "theta_s"}, {"buyer": "u_b", "seller": "u_s"})
    assert g.strategies == (tuple(BUYER), tuple(SELLER))
    h = EmpiricalGame({"buyer": BUYER, "seller": SELLER})
    for r in rows:
        h.add((r["theta_b"], r["theta_s"]), [r["u_b"], r["u_s"]])
    assert np.allclose(g.payoff_tensor(), h.payoff_tensor())
    assert np.array_equal(g.counts(), h.counts())


def test_incomplete_game_pure_regret_needs_only_the_neighbourhood():
    g = EmpiricalGame([["a", "b", "c"], ["x", "y"]])
    g.add(("a", "x"), [1.0, 1.0]).add(("b", "x"), [2.0, 0.0]).add(("c", "x"), [0.0, 0.0])
    g.add(("a", "y"), [0.0, 3.0])
    assert not g.is_complete
    assert g.missing_profiles() == [("b", "y"), ("c", "y")]
    assert g.regret(("a", "x")) == 2.0
    assert g.regret((0, 0)) == 2.0  # positions allowed for non-numeric labels
    with pytest.raises(InvalidInputError, match="no samples"):
        g.regret(("b", "x"))
    with pytest.raises(InvalidInputError, match="incomplete"):
        g.payoff_tensor()
    with pytest.raises(InvalidInputError, match="incomplete"):
        solve(g, "fictitious_play")
    assert np.isnan(g.payoff_tensor(allow_missing=True)[:, 1, 1]).all()


# ----------------------------------------------------------------------------- n-player consistency
@st.composite
def payoff_tensors(draw):
    n = draw(st.integers(1, 3))
    ks = draw(st.lists(st.integers(1, 3), min_size=n, max_size=n))
    return draw(arrays(np.float64, (n, *ks), elements=st.integers(-5, 5).map(float)))


@settings(max_examples=60)
@given(payoff_tensors(), st.data())
def test_pure_and_mixed_regret_agree_on_random_games(u, data):
    g = EmpiricalGame.from_tensor(u)
    reg = g.pure_regrets()
    for idx in np.ndindex(*g.n_strategies):
        assert g.regret(idx) == reg[idx]
        assert g.mixture_regret(g.pure_mixture(idx)) == pytest.approx(reg[idx])
    assert set(pure_equilibria(g)) == {tuple(map(int, i)) for i in np.argwhere(reg == 0)}
    # expected payoffs against brute-force enumeration of the product mixture
    mix = [np.asarray(data.draw(arrays(np.float64, k, elements=st.floats(0.01, 1.0)))) for k in g.n_strategies]
    mix = [x / x.sum() for x in mix]
    brute = np.zeros(u.shape[0])
    for idx in np.ndindex(*g.n_strategies):
        prob = np.prod([x[k] for x, k in zip(mix, idx)])
        brute += prob * u[(slice(None), *idx)]
    assert np.allclose(g.expected_payoffs(mix), brute)
    assert g.mixture_regret(mix) >= -1e-12


def test_three_player_game_solvers():
    # each player gains 1 by matching the majority of the others: coordination on "a" or "b"
    u = np.zeros((3, 2, 2, 2))
    for idx in np.ndindex(2, 2, 2):
        for i in range(3):
            u[(i, *idx)] = sum(idx[j] == idx[i] for j in range(3) if j != i)
    g = EmpiricalGame.from_tensor(u, strategies=[["a", "b"]] * 3)
    assert pure_equilibria(g) == [("a", "a", "a"), ("b", "b", "b")]
    res = solve(g, "fictitious_play", start=[[0.6, 0.4], [0.7, 0.3], [0.5, 0.5]])
    assert res.converged and np.allclose([x[0] for x in res.mixture], 1.0, atol=1e-6)
    res = solve(g, "replicator_dynamics", start=[[0.3, 0.7]] * 3)
    assert res.converged and np.allclose([x[1] for x in res.mixture], 1.0, atol=1e-6)


# ----------------------------------------------------------------------------- registry and traces
def test_solver_registry_and_traces():
    assert {"replicator_dynamics", "regret_matching", "fictitious_play"} <= set(SOLVERS)
    with pytest.raises(UnknownNameError, match="available"):
        solve(prisoners_dilemma(), "lemke_hawson")
    with pytest.raises(ConfigError):
        SOLVERS["nope"]
    res = solve(prisoners_dilemma(), "fictitious_play", trace_every=50)
    assert list(res.trace.columns) == ["iteration", "player", "strategy", "probability", "regret"]
    last = res.trace[res.trace["iteration"] == res.iterations]
    assert len(last) == 4 and last["regret"].iloc[0] == res.regret
    per_iter = res.trace.groupby(["iteration", "player"])["probability"].sum()
    assert np.allclose(per_iter, 1.0)
    assert res.trace["regret"].is_monotonic_decreasing
    assert solve(prisoners_dilemma(), "regret_matching", trace_every=0).trace is None
    # a raw tensor is accepted wherever a game is, and a callable can stand in for a name
    assert solve(np.stack([np.eye(2), np.eye(2)]), lambda game, rng=None: "custom") == "custom"
    assert pure_equilibria(np.stack([np.eye(2), np.eye(2)])) == [(0, 0), (1, 1)]


def test_mixture_frame():
    g = rock_paper_scissors()
    df = g.mixture_frame(g.uniform_mixture())
    assert list(df.columns) == ["player", "strategy", "probability"] and len(df) == 6
    assert np.allclose(df["probability"], 1 / 3)


# ----------------------------------------------------------------------------- one-population replicator
HAWK_DOVE = np.array([[-1.0, 2.0], [0.0, 1.0]])  # V=2, C=4: H vs H (V-C)/2, H vs D V, D vs D V/2


@pytest.mark.parametrize("hawks", [0.05, 0.5, 0.9])
def test_replicator_trajectory_converges_to_hawk_dove_ess(hawks):
    traj = replicator_trajectory(HAWK_DOVE, [hawks, 1 - hawks], steps=600, dt=0.1)
    assert traj.shape == (601, 2)
    assert np.allclose(traj.sum(axis=1), 1.0) and (traj >= 0).all()
    assert traj[0, 0] == hawks
    assert traj[-1, 0] == pytest.approx(0.5, abs=1e-6)
    # monotone approach from either side (continuous-time dynamics never overshoot in 1-D)
    d = np.diff(np.abs(traj[:, 0] - 0.5))
    assert (d <= 1e-15).all()
    df = trajectory_frame(traj, ["hawk", "dove"], dt=0.1)
    assert list(df.columns) == ["step", "time", "strategy", "share"] and len(df) == 1202
    assert df["time"].iloc[-1] == pytest.approx(60.0)


def test_replicator_trajectory_keeps_extinct_strategies_extinct():
    traj = replicator_trajectory(HAWK_DOVE, [0.0, 1.0], steps=50, dt=0.1)
    assert (traj[:, 0] == 0).all()


def test_replicator_trajectory_bad_input():
    with pytest.raises(ShapeError):
        replicator_trajectory(np.ones((2, 3)), [0.5, 0.5], steps=3, dt=0.1)
    with pytest.raises(ShapeError):
        replicator_trajectory(HAWK_DOVE, [0.2, 0.3, 0.5], steps=3, dt=0.1)
    with pytest.raises(InvalidInputError, match="sum to 1"):
        replicator_trajectory(HAWK_DOVE, [0.2, 0.3], steps=3, dt=0.1)
    with pytest.raises(InvalidInputError):
        replicator_trajectory([[np.nan, 1.0], [0.0, 1.0]], [0.5, 0.5], steps=3, dt=0.1)
    with pytest.raises(ConfigError, match="too large"):
        replicator_trajectory(HAWK_DOVE * 100, [0.9, 0.1], steps=10, dt=1.0)
    with pytest.raises(ConfigError):
        replicator_trajectory(HAWK_DOVE, [0.5, 0.5], steps=-1, dt=0.1)


# ----------------------------------------------------------------------------- bad input
def test_bad_game_construction():
    with pytest.raises(ConfigError, match="duplicate"):
        EmpiricalGame([["a", "a"], ["x"]])
    with pytest.raises(ConfigError):
        EmpiricalGame([[], ["x"]])
    with pytest.raises(ConfigError):
        EmpiricalGame([])
    with pytest.raises(ShapeError):
        EmpiricalGame([["a"], ["x"]], players=["only_one"])
    with pytest.raises(ConfigError, match="reserved"):
        EmpiricalGame({"player": ["a"], "other": ["x"]})
    with pytest.raises(ConfigError, match="unique"):
        EmpiricalGame([["a"], ["x"]], players=["p", "p"])
    with pytest.raises(ShapeError):
        EmpiricalGame.from_tensor(np.zeros((3, 2, 2)))  # 3 players need a 3-D strategy grid
    with pytest.raises(ShapeError):
        EmpiricalGame.from_tensor(np.zeros((2, 2, 2)), strategies=[["a", "b", "c"], ["x", "y"]])
    with pytest.raises(InvalidInputError):
        EmpiricalGame.from_tensor(np.array([[[np.nan, 0.0], [0.0, 0.0]], [[0.0, 0.0], [0.0, 0.0]]]))


def test_bad_samples_and_profiles():
    g = EmpiricalGame({"buyer": BUYER, "seller": SELLER})
    with pytest.raises(ShapeError, match=r"\(2,\) or \(m, 2\)"):
        g.add((0.8, 1.0), [1.0, 2.0, 3.0])
    with pytest.raises(ShapeError):
        g.add((0.8, 1.0), np.zeros((2, 2, 2)))
    with pytest.raises(InvalidInputError, match="finite"):
        g.add((0.8, 1.0), [[1.0, 2.0], [np.nan, 0.0]])
    with pytest.raises(InvalidInputError, match="no payoff samples"):
        g.add((0.8, 1.0), np.zeros((0, 2)))
    with pytest.raises(ConfigError, match="unknown strategy 0.85"):
        g.add((0.85, 1.0), [1.0, 2.0])
    with pytest.raises(ConfigError, match="unknown strategy"):
        g.add((0, 1), [1.0, 2.0])  # numeric labels never fall back to positions
    with pytest.raises(ShapeError):
        g.add((0.8,), [1.0, 2.0])
    assert g.counts().sum() == 0  # nothing half-added by a failing call


def test_bad_mixtures_and_solver_parameters():
    g = matching_pennies()
    with pytest.raises(InvalidInputError, match="sums to"):
        g.mixture_regret([[0.5, 0.6], [0.5, 0.5]])
    with pytest.raises(InvalidInputError, match="non-negative"):
        g.mixture_regret([[1.5, -0.5], [0.5, 0.5]])
    with pytest.raises(ShapeError):
        g.mixture_regret([[1 / 3, 1 / 3, 1 / 3], [0.5, 0.5]])
    with pytest.raises(ShapeError):
        g.mixture_regret([[0.5, 0.5]])
    with pytest.raises(InvalidInputError, match="sums to"):
        solve(g, "regret_matching", start=[[0.5, 0.4], [0.5, 0.5]])
    with pytest.raises(InvalidInputError, match="sums to"):
        g.regret_ci([[0.5, 0.6], [0.5, 0.5]], rng=0)
    with pytest.raises(ConfigError):
        solve(g, "replicator_dynamics", step=1.5)
    with pytest.raises(ConfigError):
        solve(g, "fictitious_play", weighting="exponential")
    with pytest.raises(ConfigError):
        solve(g, "regret_matching", max_iter=0)
    with pytest.raises(ConfigError):
        solve(g, "regret_matching", start="centre")
    with pytest.raises(ConfigError):
        pure_equilibria(g, eps=-1.0)
    with pytest.raises(ConfigError):
        g.regret_ci(("H", "H"), level=2.0)
