"""Repeated exchanges: episodes of ICE runs, what a bidder learns from, and learning proxies."""

import numpy as np
import pandas as pd
import pytest

from auctionlab.errors import ConfigError, StateError
from auctionlab.models.exchange import EPISODE_COLUMNS, ExchangeCounterfactual, ExchangeMarket
from auctionlab.strategies import LateRevealer, Misreport, Straightforward, Stubborn
from auctionlab.strategies.base import Observation
from auctionlab.strategies.exchange_learning import LearningProxy, deviation_family
from auctionlab.strategies.registry import make_strategy

from .examples import fig1

SMALL = {"n_bidders": 3, "n_goods": 2, "nodes": 6, "max_rounds": 5}
OWN_FIELDS = {"episode", "bidder", "trade", "payment", "utility", "traded", "closed_by", "rounds"}

# A tiny fixed instance where one arm clearly dominates for the buyer: Fig. 1's AND(+A, +B)
# buyer (true 10 + 10) and AND(−A, −B) seller (true −5 − 5), with wide initial bounds
# (buyer [0, 20], seller [−20, 0] per leaf) and a short exchange (4 rounds, then the
# last-and-final round). Against the paper's bidder as seller, shading node values to 0.8
# earns the buyer 7.0625, every other arm at most 1.25 (the utilities are asserted below).
WIDE = {
    "exchange": fig1((0, 20), (-20, 0)),
    "truth": fig1((10, 10), (-5, -5)),
    "cutoff_eff": 0.9,
    "cutoff_thresh": 0.9,
    "max_rounds": 4,
}
ARMS = [Straightforward(), Misreport(0.2), Misreport(0.5), LateRevealer(), Stubborn()]
BEST = 1


class Spy(Straightforward):
    """The paper's bidder, keeping every end-of-episode observation it is given."""

    name = "spy"

    def __init__(self) -> None:
        super().__init__()
        self.seen = []

    def update(self, obs, utility):
        self.seen.append((obs, utility))


def count_runs(monkeypatch):
    """Count every counterfactual exchange run (each is a market built by the runner)."""
    calls = []
    original = ExchangeCounterfactual.market_for

    def counted(self, profile, **kw):
        calls.append(tuple(s.label for s in profile))
        return original(self, profile, **kw)

    monkeypatch.setattr(ExchangeCounterfactual, "market_for", counted)
    return calls


def episodes(seed, population=None, k=3):
    m = ExchangeMarket(**SMALL, population=population, rng=seed)
    res = m.run_episodes(k)
    return m, res


# ---------------------------------------------------------------------- episodes
def test_episodes_are_reproducible_for_a_seed_and_fresh_instances_differ():
    pop = LearningProxy(learner="exp3", reward_range=(-5.0, 15.0))
    a, ra = episodes(7, pop)
    b, rb = episodes(7, pop)
    c, _ = episodes(8, pop)
    ea, eb = a.episodes_frame(), b.episodes_frame()
    assert list(ea.columns) == list(EPISODE_COLUMNS) and len(ea) == 3 * 3
    assert ea["episode"].tolist() == [0, 0, 0, 1, 1, 1, 2, 2, 2]
    pd.testing.assert_frame_equal(ea, eb)
    pd.testing.assert_frame_equal(
        a.datacollector.get_model_vars_dataframe(), b.datacollector.get_model_vars_dataframe()
    )
    pd.testing.assert_frame_equal(
        a.datacollector.get_agent_vars_dataframe(), b.datacollector.get_agent_vars_dataframe()
    )
    assert [x.payments for x in ra] == [y.payments for y in rb]
    assert [s.strategy.played for s in a.bidders] == [s.strategy.played for s in b.bidders]
    assert not c.episodes_frame().equals(ea)
    # every episode's rows agree with its outcome; the round table holds every round of every episode
    for e, res in enumerate(ra):
        rows = ea[ea.episode == e].set_index("bidder")
        assert rows.utility.to_dict() == pytest.approx(res.utilities)
        assert rows.payment.to_dict() == pytest.approx(res.payments)
        assert (rows.rounds == res.rounds).all() and (rows.closed_by == res.closed_by).all()
        traded = {b: bool(np.any(res.allocation.trade_matrix[i] != 0)) for i, b in enumerate(a.names)}
        assert rows.traded.to_dict() == traded
    assert len(a.datacollector.get_model_vars_dataframe()) == 1 + sum(r.rounds for r in ra)
    # fresh instances: the last episode's instance is not the one the model was built with
    assert a.truth.to_dict() != ExchangeMarket(**SMALL, rng=7).truth.to_dict()
    assert a.episode == 2 and not a.running


def test_a_fixed_instance_repeats_and_the_first_episode_is_the_single_run():
    single = ExchangeMarket(**WIDE, rng=0)
    res = single.run_to_close()
    m = ExchangeMarket(**WIDE, rng=0)
    out = m.run_episodes(3, fresh=False)
    # straightforward bidders on the same instance: every episode is the single run again
    for r in out:
        assert r.payments == res.payments and r.utilities == res.utilities and r.rounds == res.rounds
    mv = m.datacollector.get_model_vars_dataframe()
    pd.testing.assert_frame_equal(mv.iloc[: res.rounds + 1], single.datacollector.get_model_vars_dataframe())
    # a run already closed by hand counts as the first episode
    single.run_episodes(1, fresh=False)
    assert single.episodes_frame().episode.tolist() == [0, 0] and single.episode == 0


def test_run_episodes_checks_its_arguments():
    m = ExchangeMarket(**WIDE, rng=0)
    with pytest.raises(ConfigError, match="fresh=False"):
        m.run_episodes(1)  # a given instance cannot be redrawn
    with pytest.raises(ConfigError, match="k must be an integer"):
        m.run_episodes(1.5, fresh=False)
    with pytest.raises(ConfigError, match="fresh"):
        m.run_episodes(1, fresh="yes")
    assert m.run_episodes(0, fresh=False) == [] and m.episodes_frame().empty
    with pytest.raises(StateError):
        m.bidders[0].end_episode(episode=0)  # nothing closed yet


def test_update_receives_only_the_bidders_own_outcome():
    m = ExchangeMarket(**SMALL, population=[Spy(), Spy(), Spy()], rng=3)
    out = m.run_episodes(2)
    spies = [a.strategy for a in m.bidders]
    for i, spy in enumerate(spies):
        assert len(spy.seen) == 2
        for e, (obs, u) in enumerate(spy.seen):
            res = out[e]
            name = m.names[i]
            assert set(obs.info) == OWN_FIELDS
            assert obs.oracle is None  # the paper's bidder declares no oracle
            assert (obs.round, obs.role, obs.index) == (e, "bidder", i)
            info = obs.info
            assert info["episode"] == e and info["bidder"] == name
            np.testing.assert_array_equal(info["trade"], res.allocation.trade_matrix[i])
            assert info["trade"].shape == (SMALL["n_goods"],) and not info["trade"].flags.writeable
            assert info["payment"] == pytest.approx(res.payments[name])
            assert info["utility"] == pytest.approx(res.utilities[name]) == pytest.approx(u)
            assert info["traded"] == bool(np.any(res.allocation.trade_matrix[i] != 0))
            assert info["closed_by"] == res.closed_by and info["rounds"] == res.rounds
            # nothing names another bidder: no other bidder's values, payments or trades
            assert not any(isinstance(v, dict) for v in info.values())
            assert not ({str(v) for v in info.values()} & (set(m.names) - {name}))
    with pytest.raises(TypeError):
        spies[0].seen[0][0].info["utility"] = 0.0  # read-only


# ---------------------------------------------------------------------- learning proxies
def arm_utilities():
    cf = ExchangeCounterfactual(
        WIDE["exchange"], WIDE["truth"], params={k: WIDE[k] for k in ("cutoff_eff", "cutoff_thresh", "max_rounds")}
    )
    return np.array([cf.utility_with("bidder", 0, a) for a in ARMS])


def test_the_constructed_instance_has_one_dominant_arm():
    u = arm_utilities()
    np.testing.assert_allclose(u, [1.25, 7.0625, 0.0, 1.25, 0.0], atol=1e-6)
    assert int(np.argmax(u)) == BEST and u[BEST] - np.delete(u, BEST).max() > 5.8


def test_hedge_puts_its_weight_on_the_dominant_arm_through_cached_counterfactuals(monkeypatch):
    u = arm_utilities()
    runs = count_runs(monkeypatch)
    eta, n = 0.2, 4
    m = ExchangeMarket(**WIDE, population={"buyer": LearningProxy(ARMS, learner="hedge", eta=eta)}, rng=11)
    m.run_episodes(n, fresh=False)
    learner = m.bidders[0].strategy
    # full information on a fixed instance against a fixed seller: every episode Hedge is told
    # the same utility vector u, so after n episodes p = softmax(η·n·u) exactly. With the gap
    # above (> 5.8) that puts at least 1 / (1 + 4·exp(−0.2·4·5.8)) ≈ 0.96 on the dominant arm;
    # we assert the exact vector (to rounding) and a 0.95 floor.
    z = np.exp(eta * n * (u - u.max()))
    np.testing.assert_allclose(learner.probabilities, z / z.sum(), rtol=1e-9, atol=1e-12)
    assert learner.probabilities[BEST] >= 0.95
    # K − 1 oracle answers per episode (the played arm comes from the episode itself), and the
    # runner's cache means each arm is rerun at most once over all episodes
    assert m.counterfactual_calls == n * (len(ARMS) - 1)
    assert 0 < len(runs) <= len(ARMS) and len(set(runs)) == len(runs)
    # the played arm's realised utility is what a rerun of it gives
    rows = m.episodes_frame().query("bidder == 'buyer'")
    for k, util in zip(learner.played, rows.utility):
        assert util == pytest.approx(u[k])
    assert rows.strategy.tolist() == [ARMS[k].label for k in learner.played]


def test_exp3_learns_from_its_own_utility_without_counterfactuals(monkeypatch):
    runs = count_runs(monkeypatch)
    proxy = LearningProxy(ARMS, learner="exp3", gamma=0.2, reward_range=(0.0, 8.0))
    assert not proxy.flag("needs_oracle") and proxy.flag("learning") and proxy.flag("stochastic")
    m = ExchangeMarket(**WIDE, population={"buyer": proxy, "seller": LearningProxy(learner="exp3")}, rng=5)
    m.run_episodes(6, fresh=False)
    assert runs == [] and m.counterfactual_calls == 0
    learner = m.bidders[0].strategy
    assert len(learner.played) == 6 and learner.episodes == 6
    # bandit feedback: only arms it played have moved off the prior
    assert set(np.flatnonzero(learner.learner.score)) <= set(learner.played)
    p = learner.probabilities
    assert p.shape == (len(ARMS),) and p.sum() == pytest.approx(1.0) and p.min() >= 0.2 / len(ARMS) - 1e-12


def test_learning_proxy_registry_clone_and_checks():
    p = make_strategy(
        "learning_proxy",
        learner="hedge",
        arms=["straightforward", {"strategy": "misreport", "params": {"strength": 0.3}}],
    )
    assert p.flag("needs_oracle") and p.arm_labels[1] == "misreport(strength=0.3, sides=both)"
    assert p.label.startswith("learning_proxy(")
    q = p.clone()
    assert q.arm_labels == p.arm_labels and q is not p and q.arms[0] is not p.arms[0]
    assert [a.label for a in deviation_family()] == [a.label for a in LearningProxy().arms]
    assert len(deviation_family((0.1,), timing=False, stubborn=False)) == 2
    with pytest.raises(ConfigError, match="learner"):
        LearningProxy(learner="ucb")
    with pytest.raises(ConfigError, match="not an exchange strategy"):
        LearningProxy(["truthful"])
    with pytest.raises(ConfigError, match="non-empty"):
        LearningProxy([])
    with pytest.raises(ConfigError, match="learns itself"):
        LearningProxy([LearningProxy()])
    with pytest.raises(StateError):
        p.played_strategy()
    # Hedge without an oracle is refused by the shared learner
    m = ExchangeMarket(**WIDE, population={"buyer": LearningProxy(ARMS, learner="hedge")}, rng=0)
    m.run_to_close()
    proxy = m.bidders[0].strategy
    with pytest.raises(ConfigError, match="oracle"):
        proxy.update(Observation(0, "bidder", 0), 0.0)


def test_a_model_pickled_between_episodes_continues_identically():
    import pickle

    pop = {"buyer": LearningProxy(ARMS, learner="exp3", reward_range=(0.0, 8.0))}
    m = ExchangeMarket(**WIDE, population=pop, rng=2)
    m.run_episodes(2, fresh=False)
    twin = pickle.loads(pickle.dumps(m))
    a, b = m.run_episodes(3, fresh=False), twin.run_episodes(3, fresh=False)
    assert [r.payments for r in a] == [r.payments for r in b]
    pd.testing.assert_frame_equal(m.episodes_frame(), twin.episodes_frame())
    np.testing.assert_array_equal(m.bidders[0].strategy.probabilities, twin.bidders[0].strategy.probabilities)
