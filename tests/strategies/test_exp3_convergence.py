"""EXP3 (bandit feedback) converges to the known answer: truth-telling under VCG.

The setting, chosen so that the answer is known exactly: the bilateral relay market (one
source, one relay that is always useful) under VCG, values and costs uniform on [0, 1]
and redrawn every round, the seller truthful and the buyer an EXP3
:class:`~auctionlab.strategies.affine.AffineLearner` over four affine bids a·v + b,
(a, b) in {1/2, 1} × {−1/4, 0}. Against a truthful seller the buyer wins iff its bid
≥ c and pays c, so bidding x instead of v loses E[(v − x)²]/2 per round (x ≤ v): the
arms are a stochastic bandit whose best arm is the truth (dominant, so it is the best
fixed arm for every sequence of costs), with gaps 0.026 for (1, −1/4), 0.042 for (1/2, 0)
and 0.054 for (1/2, −1/4), against a truthful utility of 1/6.

EXP3 with γ = 0.3 and K = 4 keeps γ/K = 0.075 on every arm (exploration), so the most it
can put on the truth is 1 − γ + γ/K = 0.775. Its weights move by γ/K · (reward / p) per
play, so the truth separates from an arm with gap Δ after about 1/(0.075 · Δ) rounds
(≈ 500 for the closest arm) plus the noise of the importance-weighted estimates, which
scale with √T: measured over seeds 0–5, after 2000 rounds the truth is the most probable
arm in 5 of 6 runs with mass 0.30–0.77 and the worst arm is at its floor in all 6; after
6000 rounds the truth carries 0.773–0.775 in all 6 and every other arm sits at its
floor (0.075–0.077). The tolerances below are those measured figures with a margin.
"""

from __future__ import annotations

import numpy as np
import pytest

from auctionlab.mechanisms.relay.network import RelayNetwork
from auctionlab.models.relay import RelayMarket
from auctionlab.strategies.affine import AffineLearner

BILATERAL = RelayNetwork.from_capacities([0.0], [[1.0]])
GAMMA, K = 0.3, 4
FLOOR = GAMMA / K  # EXP3's exploration mass on every arm
CEILING = 1 - GAMMA + GAMMA / K


def run(rounds: int, seed: int) -> AffineLearner:
    learner = AffineLearner("exp3", [0.5, 1.0], [-0.25, 0.0], gamma=GAMMA, reward_range=(0.0, 1.0))
    model = RelayMarket(
        network=BILATERAL,
        mechanism="vcg",
        vmax=1.0,
        cost_range=(0.0, 1.0),
        population={"buyer": learner, "seller": "truthful"},
        collect_agents=False,
        rng=seed,
    )
    for _ in range(rounds):
        model.step()
    s = model.buyers[0].strategy
    assert isinstance(s, AffineLearner) and not s.flag("needs_oracle")  # bandit feedback only
    return s


def arm(s: AffineLearner, a: float, b: float) -> int:
    return int(np.flatnonzero((s.actions == (a, b)).all(axis=1))[0])


def test_exp3_moves_to_the_truth_under_vcg():
    """2000 rounds, seeds 0 and 1 (a few seconds each): the truth is the most probable arm,
    with at least 0.4 of the mass (uniform: 0.25), and the worst arm (gap 0.054) is at its
    exploration floor."""
    truth = []
    for seed in (0, 1):
        s = run(2000, seed)
        p = s.probabilities
        assert s.mode == (1.0, 0.0), (seed, p)
        assert p[arm(s, 1.0, 0.0)] >= 0.4, (seed, p)
        assert p[arm(s, 0.5, -0.25)] <= FLOOR + 0.005, (seed, p)
        truth.append(p[arm(s, 1.0, 0.0)])
    assert np.mean(truth) >= 0.5


@pytest.mark.slow
def test_exp3_long_runs_put_all_it_can_on_the_truth():
    """6000 rounds, seeds 0–5: the truth carries within 0.01 of EXP3's ceiling 0.775 and
    every other arm stays within 0.01 of its floor 0.075, in every run."""
    for seed in range(6):
        s = run(6000, seed)
        p = s.probabilities
        k = arm(s, 1.0, 0.0)
        assert p[k] >= CEILING - 0.01, (seed, p)
        assert np.all(np.delete(p, k) <= FLOOR + 0.01), (seed, p)
