import numpy as np
import pytest

from auctionlab.errors import ConfigError
from auctionlab.models.relay import RelayMarket
from auctionlab.strategies import EXP3, FictitiousPlay, Hedge, Observation

GRID = [0.5, 0.7, 1.0, 1.3]


def seller_obs(oracle=None):
    return Observation(0, "seller", 0, oracle)


def peaked(at):
    """Scripted oracle for a seller with cost 1: utility peaks when the ask is ``at``."""
    return lambda ask: -((ask - at) ** 2)


def test_fictitious_play_starts_truthful_and_best_responds_to_the_running_mean():
    fp = FictitiousPlay(thetas=GRID)
    assert fp.report(1.0, seller_obs()) == 1.0  # no history: ties go to θ = 1
    fp.update(seller_obs(peaked(0.7)), 0.0)
    assert fp.report(1.0, seller_obs()) == pytest.approx(0.7)
    fp.update(seller_obs(peaked(1.3)), 0.0)  # sums: 0.5:-0.64 0.7:-0.36 1.0:-0.18 1.3:-0.36
    assert fp.theta == pytest.approx(0.7)  # theta is the last θ *played*
    assert fp.report(1.0, seller_obs()) == pytest.approx(1.0)
    np.testing.assert_allclose(fp.score, [-0.64 - 0.04, -0.36, -0.09 - 0.09, -0.36 - 0.0])
    np.testing.assert_array_equal(fp.probabilities, [0, 0, 1, 0])


def test_hedge_weights_are_exponential_in_cumulative_counterfactual_utility():
    h = Hedge(thetas=GRID, eta=2.0, rng=0)
    h.report(1.0, seller_obs())
    h.update(seller_obs(peaked(0.7)), 0.0)
    h.report(1.0, seller_obs())
    h.update(seller_obs(peaked(0.7)), 0.0)
    u = -((np.array(GRID) - 0.7) ** 2) * 2
    want = np.exp(2.0 * u - (2.0 * u).max())
    np.testing.assert_allclose(h.probabilities, want / want.sum())
    assert h.mean_theta == pytest.approx(float(want / want.sum() @ np.array(GRID)))
    h.report(1.0, seller_obs())
    with pytest.raises(ConfigError, match="oracle"):  # full information needs the oracle
        h.update(seller_obs(None), 0.0)


def test_exp3_uses_only_the_realised_utility():
    e = EXP3(thetas=GRID, gamma=0.2, reward_range=(0.0, 2.0), rng=0)
    with pytest.raises(ConfigError, match="before report"):
        e.update(seller_obs(), 1.0)
    p0 = e.probabilities.copy()
    np.testing.assert_allclose(p0, 0.25)
    e.report(1.0, seller_obs())
    k = int(np.flatnonzero(np.isclose(GRID, e.theta))[0])
    e.update(seller_obs(), 1.5)  # no oracle needed: bandit feedback
    want = np.zeros(4)
    want[k] = 0.2 * (0.75 / 0.25) / 4
    np.testing.assert_allclose(e.score, want)
    assert e.probabilities[k] > 0.25


def test_learners_reject_bad_parameters():
    with pytest.raises(ConfigError):
        EXP3(gamma=0.0)
    with pytest.raises(ConfigError):
        EXP3(reward_range=(1.0, 1.0))
    with pytest.raises(ConfigError):
        Hedge(eta=-1)
    with pytest.raises(ConfigError):
        FictitiousPlay(thetas=[0.5, float("nan")])


# ------------------------------------------------------------------ learning in the market
GRID_LOW = np.round(np.arange(0.3, 1.31, 0.1), 2).tolist()  # starts at mean θ = 0.8


def mean_theta_after(mechanism, learner, params, rounds):
    model = RelayMarket(
        n=10,
        m=15,
        mechanism=mechanism,
        rng=3,
        population={"buyer": {"strategy": learner, "params": {"thetas": GRID_LOW, **params}}},
    )
    # buyers without a relay (static channel) get no feedback; average over the others
    active = [a for a in model.buyers if a.assigned >= 0]
    assert len(active) >= 5
    start = np.mean([a.strategy.mean_theta for a in active])
    for _ in range(rounds):
        model.step()
    return start, float(np.mean([a.strategy.mean_theta for a in active]))


def test_hedge_buyers_drift_to_truthful_under_trade_reduction_and_shade_under_kda():
    start, tr = mean_theta_after("trade_reduction", "hedge", {"eta": 1.0}, 150)
    assert start == pytest.approx(0.8)
    assert abs(tr - 1.0) <= 0.08
    _, kda = mean_theta_after("kda", "hedge", {"eta": 1.0}, 150)
    assert kda < 0.6


def test_fictitious_play_buyers_stay_truthful_under_trade_reduction_and_shade_under_kda():
    _, tr = mean_theta_after("trade_reduction", "fictitious_play", {}, 60)
    assert tr == pytest.approx(1.0, abs=0.02)
    _, kda = mean_theta_after("kda", "fictitious_play", {}, 60)
    assert kda < 0.7


def test_exp3_buyers_move_the_same_ways_with_bandit_feedback():
    start, tr = mean_theta_after("trade_reduction", "exp3", {"gamma": 0.2, "reward_range": (-1.0, 2.0)}, 1200)
    _, kda = mean_theta_after("kda", "exp3", {"gamma": 0.2, "reward_range": (-1.0, 2.0)}, 1200)
    assert tr > start + 0.05
    assert kda < start - 0.05
    assert tr - kda > 0.2
