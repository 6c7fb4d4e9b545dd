import pickle

import numpy as np
import pandas as pd
import pytest

from auctionlab.errors import ConfigError, InvalidReportError, ShapeError, StateError, UnknownNameError
from auctionlab.mechanisms.relay.baselines import k_double_auction, mcafee, pure_assignment, vcg_double_auction
from auctionlab.mechanisms.relay.mechanisms import MECHANISMS, RelayRound
from auctionlab.mechanisms.relay.network import RelayNetwork
from auctionlab.mechanisms.relay.outcome import RelayOutcome, efficiency
from auctionlab.mechanisms.relay.tasc import assign, tasc
from auctionlab.models.relay import MODEL_REPORTERS, RelayMarket, parse_population
from auctionlab.strategies import Strategy

from ..strategies.instances import BUYER_CASE, SELLER_CASE, pinned_instance

MIXED = {
    "buyer": [
        {"strategy": "truthful", "share": 0.4},
        {"strategy": "noise", "params": {"sigma": 0.2}, "share": 0.2},
        {"strategy": "hedge", "share": 0.2},
        {"strategy": "best_response", "params": {"thetas": [0.5, 0.9, 1.1]}, "share": 0.2},
    ],
    "seller": [{"strategy": "exp3", "share": 0.5}, {"strategy": "scale", "params": {"theta": 1.2}, "share": 0.5}],
}


def run(steps=5, **kw):
    model = RelayMarket(**{"n": 10, "m": 12, "rng": 42, **kw})
    for _ in range(steps):
        model.step()
    return model


def frames(model):
    dc = model.datacollector
    return dc.get_model_vars_dataframe(), dc.get_agent_vars_dataframe()


# ------------------------------------------------------------------ determinism and pickling
def test_same_rng_identical_dataframes_different_rng_different():
    a, b = run(population=MIXED), run(population=MIXED)
    for x, y in zip(frames(a), frames(b)):
        pd.testing.assert_frame_equal(x, y)
    c = run(population=MIXED, rng=43)
    assert not frames(a)[1]["utility"].equals(frames(c)[1]["utility"])
    assert list(frames(a)[0].columns) == list(MODEL_REPORTERS)
    assert len(frames(a)[0]) == 6 and len(frames(a)[1]) == 6 * 22  # step 0 and five steps


def test_same_numbers_as_the_array_backed_model_for_the_same_seeds():
    """Welfare per step and the agents' total utility as recorded before agents owned their state."""
    plain, mixed = run(), run(population=MIXED)
    vcg = run(population=MIXED, mechanism="vcg", channel="redraw")
    for model, welfare, total in (
        (plain, [4.185183022994, 4.135610257306, 0.0, 2.537756558007, 2.408867152793], 9.593356378584824),
        (mixed, [4.185183022994, 3.307493357574, 0.267710597375, 2.537756558007, 5.326024597946], 11.94011578274815),
        (vcg, [14.007469292807, 16.888989092952, 15.980886850171, 16.699330357723, 19.584598849037], 112.2878692398001),
    ):
        mv, av = frames(model)
        np.testing.assert_allclose(mv["welfare"].iloc[1:], welfare, rtol=0, atol=1e-11)
        assert av["utility"].sum() == pytest.approx(total, abs=1e-12)


def test_step_zero_is_collected_and_steps_are_the_models_own_count():
    model = RelayMarket(n=4, m=5, rng=3)
    mv, av = frames(model)
    assert len(mv) == 1 and mv.isna().all(axis=None)  # the instance, no round yet
    assert av.index.get_level_values("Step").unique().tolist() == [0]
    seller = av.xs(0, level="Step").query("role == 'seller'")
    np.testing.assert_allclose(seller["value"], model.costs)  # types are dealt at construction
    assert not seller["won"].any() and seller["utility"].isna().all()  # nothing realised yet
    for _ in range(3):
        model.step()
    assert model.step_count == 3
    mv, av = frames(model)
    assert len(mv) == 4
    assert av.index.get_level_values("Step").unique().tolist() == [0, 1, 2, 3]
    # the round an agent observes is the model's own counter
    model = RelayMarket(n=3, m=4, rng=9, population={"seller": [Spy(), "truthful", "truthful", "truthful"]})
    model.step()
    model.step()
    assert [s[0] for s in model.sellers[0].strategy.seen] == [1, 2]


def test_batch_run_sees_agent_rows_with_their_step_labels():
    import mesa

    rows = mesa.batch_run(
        RelayMarket,
        parameters={"n": 4, "m": 5, "rng": [11], "mechanism": ["tasc", "kda"]},
        iterations=1,
        max_steps=3,
        number_processes=1,
        data_collection_period=1,
        display_progress=False,
    )
    df = pd.DataFrame(rows)
    assert {"AgentID", "role", "utility", "report", "welfare"} <= set(df.columns)
    for mech, part in df.groupby("mechanism"):
        model = RelayMarket(n=4, m=5, rng=11, mechanism=mech)
        for _ in range(4):  # batch_run steps while steps <= max_steps
            model.step()
        mv, av = frames(model)
        assert sorted(part["Step"].unique()) == [0, 1, 2, 3]
        assert len(part) == 4 * 9  # every agent at every step batch_run reports
        for step, rows_ in part.groupby("Step"):
            want = av.xs(step, level="Step")
            got = rows_.set_index("AgentID")[want.columns]
            pd.testing.assert_frame_equal(got.sort_index(), want.sort_index(), check_names=False, check_dtype=False)
            np.testing.assert_array_equal(rows_["welfare"].unique(), mv["welfare"].iloc[step : step + 1].to_numpy())


def test_a_generator_works_as_rng_too():
    gen_a, gen_b = np.random.default_rng(7), np.random.default_rng(7)
    for x, y in zip(frames(run(rng=gen_a, population=MIXED)), frames(run(rng=gen_b, population=MIXED))):
        pd.testing.assert_frame_equal(x, y)


@pytest.mark.parametrize("channel", ["static", "redraw"])
def test_pickled_model_continues_identically(channel):
    model = run(steps=3, population=MIXED, channel=channel, mechanism="kda")
    copy = pickle.loads(pickle.dumps(model))
    for _ in range(3):
        model.step()
        copy.step()
    for x, y in zip(frames(model), frames(copy)):
        pd.testing.assert_frame_equal(x, y)
    assert copy.step_count == 6


# ------------------------------------------------------------------ the phases against direct calls
@pytest.mark.parametrize("algorithm", ["mwm", "mm", "ora"])
@pytest.mark.parametrize("mechanism", ["tasc", "trade_reduction", "vcg", "mcafee", "kda"])
def test_truthful_step_equals_the_mechanism_called_directly(mechanism, algorithm):
    model = run(steps=2, mechanism=mechanism, algorithm=algorithm, kda_k=0.3, n=8, m=9)
    net, v, c = model.network, model.values, model.costs
    np.testing.assert_array_equal(model.bids, v)
    np.testing.assert_array_equal(model.asks, c)
    sigma = assign(net, algorithm)
    np.testing.assert_array_equal(model.sigma, sigma)
    want = {
        "tasc": lambda: tasc(net, v, c, algorithm),
        "trade_reduction": lambda: tasc(net, v, c, algorithm, rule="trade_reduction"),
        "vcg": lambda: vcg_double_auction(v, c, useful=net.useful),
        "mcafee": lambda: mcafee(np.where(net.useful, v, 0).max(axis=1), c),
        "kda": lambda: k_double_auction(v, c, sigma, k=0.3),
    }[mechanism]()
    out = model.outcome
    np.testing.assert_array_equal(out.buyer_wins, want.buyer_wins)
    np.testing.assert_array_equal(out.seller_wins, want.seller_wins)
    np.testing.assert_allclose(out.buyer_payments, want.buyer_payments)
    np.testing.assert_allclose(out.seller_payments, want.seller_payments)
    # model reporters against efficiency() and the pure assignment
    row = model.datacollector.get_model_vars_dataframe().iloc[-1]
    eff, ref = efficiency(net, out), efficiency(net, pure_assignment(net, algorithm))
    assert row.total_capacity == pytest.approx(eff["total_capacity"])
    assert row.trades == eff["trades"] and row.min_capacity == pytest.approx(eff["min_capacity"])
    assert row.capacity_ratio == pytest.approx(eff["total_capacity"] / ref["total_capacity"])
    if ref["trades"]:
        assert row.trades_ratio == pytest.approx(eff["trades"] / ref["trades"])
    assert row.min_capacity_ratio == pytest.approx(eff["min_capacity"] / ref["min_capacity"])
    assert row.profit == pytest.approx(out.profit)
    ub, us = out.utilities(v, c)
    assert row.welfare == pytest.approx(ub.sum() + us.sum() + out.profit)
    if mechanism in ("tasc", "trade_reduction", "kda", "mcafee"):
        assert row.budget_balanced


def test_vcg_runs_a_deficit_tasc_does_not():
    vcg = run(steps=6, mechanism="vcg", n=12, m=15).datacollector.get_model_vars_dataframe().iloc[1:]
    tasc_ = run(steps=6, mechanism="tasc", n=12, m=15).datacollector.get_model_vars_dataframe().iloc[1:]
    assert (vcg.profit < -1e-9).any() and not vcg.budget_balanced.all()
    assert (tasc_.profit >= -1e-12).all() and tasc_.budget_balanced.all()
    assert (tasc_.capacity_ratio <= 1 + 1e-12).all()


def test_static_channel_reuses_the_network_and_redraw_replaces_it():
    model = RelayMarket(n=6, m=8, rng=1)
    net, sigma, values = model.network, model.sigma, model.values
    model.step()
    assert model.network is net and model.values is values  # step 1 uses the constructor's draws
    model.step()
    assert model.network is net and model.sigma is sigma
    assert not np.array_equal(model.values, values)  # types redrawn by default
    fixed = RelayMarket(n=6, m=8, rng=1, types="fixed")
    v0 = fixed.values
    fixed.step()
    fixed.step()
    assert fixed.values is v0
    redraw = RelayMarket(n=6, m=8, rng=1, channel="redraw")
    redraw.step()
    redraw.step()
    assert redraw.network is not net
    np.testing.assert_array_equal(redraw.sigma, assign(redraw.network, "mwm"))
    assert (redraw.values[~redraw.network.useful] == 0).all()


def test_capacity_valuation_is_proportional_to_gain_per_buyer():
    model = RelayMarket(n=8, m=10, rng=3, valuation="capacity", vmax=2.0)
    g = model.network.gain
    for i in range(8):
        if g[i].max() > 0:
            np.testing.assert_allclose(model.values[i], 2.0 * g[i] / g[i].max())
        else:
            assert (model.values[i] == 0).all()
    assert ((model.costs > 0) & (model.costs <= 1)).all()


def test_given_instance_and_spec_a4_prime_best_responders():
    net, values, costs = pinned_instance(**BUYER_CASE)
    pop = {"buyer": ["best_response"] + ["truthful"] * 4}
    for mechanism, utility in (("tasc", 2.3), ("trade_reduction", 0.0)):
        model = RelayMarket(network=net, values=values, costs=costs, mechanism=mechanism, population=pop, rng=0)
        model.step()
        assert model.types == "fixed"
        assert model.buyers[0].utility == pytest.approx(utility)
        assert model.buyers[0].strategy.last_gain == pytest.approx(utility)
    net, values, costs = pinned_instance(**SELLER_CASE)
    model = RelayMarket(
        network=net,
        values=values,
        costs=costs,
        rng=0,
        population={"seller": ["truthful", "best_response", "truthful", "truthful"]},
    )
    model.step()
    assert model.sellers[1].utility == pytest.approx(1.8)
    assert model.sellers[1].strategy.last_gain == pytest.approx(0.8)


def test_oracle_users_best_respond_to_a_truthful_placeholder_not_to_each_other():
    net, values, costs = pinned_instance(**BUYER_CASE)
    model = RelayMarket(network=net, values=values, costs=costs, rng=0, population={"buyer": ["best_response"] * 5})
    model.step()
    # b0 computed its deviation against truthful others, exactly as when it deviates alone
    assert model.buyers[0].strategy.last_gain == pytest.approx(2.3)


def test_oracle_is_the_counterfactual_utility_with_others_fixed():
    half = [{"strategy": "scale", "params": {"theta": 0.7}, "share": 0.5}, {"strategy": "truthful", "share": 0.5}]
    model = run(steps=3, n=20, m=25, population={"buyer": half})
    ub, us = model.outcome.utilities(model.values, model.costs)
    for a in model.buyers:
        assert model.utility_if(a, a.report_vector) == pytest.approx(ub[a.index])
    for a in model.sellers:
        assert model.utility_if(a, a.report) == pytest.approx(us[a.index])
    # and it really reruns the mechanism: buyer with a trade, bidding 0, loses it
    winners = [a for a in model.buyers if a.won]
    assert winners
    assert model.utility_if(winners[0], np.zeros(model.m)) == 0.0
    with pytest.raises(ShapeError):
        model.utility_if(winners[0], np.zeros(3))
    with pytest.raises(InvalidReportError):
        model.utility_if(model.sellers[0], -1.0)


class Spy(Strategy):
    """Truthful; records what the market tells it after each round."""

    name = "spy"
    classifier = {**Strategy.classifier, "learning": True, "needs_oracle": True}

    def __init__(self):
        self.seen = []

    def report(self, true_type, obs):
        return true_type

    def update(self, obs, utility):
        u0 = obs.oracle(0.0) if obs.oracle is not None else None
        self.seen.append((obs.round, obs.role, obs.index, u0, dict(obs.info), utility))


class BanditSpy(Spy):
    name = "bandit_spy"
    classifier = {**Spy.classifier, "needs_oracle": False}


def test_learners_receive_public_outcome_and_the_oracle_only_if_declared():
    model = RelayMarket(n=3, m=4, rng=9, population={"seller": [Spy(), BanditSpy(), "truthful", "truthful"]})
    model.step()
    ((rnd, role, idx, u_zero_ask, info, utility),) = model.sellers[0].strategy.seen
    assert (rnd, role, idx) == (1, "seller", 0)
    assert u_zero_ask == model.utility_if(model.sellers[0], 0.0)
    assert set(info) >= {"partner", "won", "payment", "buyer_price", "seller_price", "candidates"}
    assert utility == model.sellers[0].utility
    assert info["won"] == model.sellers[0].won
    ((_, _, idx, u_zero_ask, info, utility),) = model.sellers[1].strategy.seen
    assert idx == 1 and u_zero_ask is None and "candidates" not in info
    assert utility == model.sellers[1].utility


# ------------------------------------------------------------------ population
def test_population_shares_by_largest_remainder_in_order():
    pop = parse_population(
        {
            "buyer": [
                {"strategy": "scale", "share": 1 / 3},
                {"strategy": "shift", "share": 1 / 3},
                {"strategy": "noise", "share": 1 / 3},
            ]
        },
        10,
        4,
    )
    assert [s.name for s in pop["buyer"]] == ["scale"] * 4 + ["shift"] * 3 + ["noise"] * 3
    assert [s.name for s in pop["seller"]] == ["truthful"] * 4
    pop = parse_population({"seller": ["scale", {"strategy": "shift", "params": {"delta": 0.1}}, "truthful"]}, 2, 3)
    assert [s.label for s in pop["seller"]] == ["scale(theta=0.9)", "shift(delta=0.1)", "truthful"]
    pop = parse_population({"buyer": {"strategy": "scale", "params": {"theta": 0.5}, "share": 1.0}}, 3, 1)
    assert [s.theta for s in pop["buyer"]] == [0.5] * 3


BAD_CONFIGS = [
    (dict(n=-1), ConfigError, "n must be a positive integer"),
    (dict(m=0), ConfigError, "m must be"),
    (dict(n=2.5), ConfigError, "n must be"),
    (dict(mechanism="nope"), UnknownNameError, "unknown mechanism 'nope'"),
    (dict(algorithm="nope"), UnknownNameError, "unknown assignment algorithm"),
    (dict(population={"buyer": "nope"}), UnknownNameError, "unknown strategy 'nope'"),
    (dict(population={"buyer": {"strategy": "scale", "params": {"theta": -1}}}), ConfigError, "theta"),
    (dict(population={"buyer": {"strategy": "scale", "params": {"zeta": 1}}}), ConfigError, "unknown parameter"),
    (
        dict(population={"buyer": [{"strategy": "scale", "share": 0.5}, {"strategy": "truthful", "share": 0.4}]}),
        ConfigError,
        "sum to 1",
    ),
    (dict(population={"buyer": [{"strategy": "scale", "share": 0.5}, "truthful"]}), ConfigError, "every entry"),
    (dict(population={"buyer": [{"strategy": "scale", "share": float("nan")}]}), ConfigError, "share"),
    (dict(population={"buyer": ["truthful"] * 3}), ConfigError, "exactly 4 entries"),
    (dict(population={"seller": "drop_relays"}), ConfigError, "buyers only"),
    (dict(population={"sources": "truthful"}), ConfigError, "population roles"),
    (dict(population=["truthful"]), ConfigError, "mapping"),
    (dict(channel="wifi"), ConfigError, "channel"),
    (dict(valuation="normal"), ConfigError, "valuation"),
    (dict(types="sometimes"), ConfigError, "types"),
    (dict(kda_k=1.5), ConfigError, "kda_k"),
    (dict(kda_kk=0.5), ConfigError, "unknown mechanism parameter"),
    (dict(collect_agents="yes"), ConfigError, "collect_agents"),
    (dict(vmax=0), ConfigError, "vmax"),
    (dict(cost_range=(1.0, 0.5)), ConfigError, "cost_range"),
    (dict(values=np.ones((4, 5))), ConfigError, "both values and costs"),
    (dict(values=np.ones((4, 5)), costs=np.ones(5), types="redraw"), ConfigError, "types='fixed'"),
    (dict(values=-np.ones((4, 5)), costs=np.ones(5)), ConfigError, "values"),
    (dict(mechanism=3), ConfigError, "mechanism"),
]


@pytest.mark.parametrize("kw, err, words", BAD_CONFIGS)
def test_bad_configs_raise_before_any_state_changes(kw, err, words):
    gen = np.random.default_rng(0)
    before = gen.bit_generator.state
    with pytest.raises(err, match=words):
        RelayMarket(**{"n": 4, "m": 5, "rng": gen, **kw})
    assert gen.bit_generator.state == before  # nothing was drawn: validation came first


def test_network_conflicts():
    net, values, costs = pinned_instance(**BUYER_CASE)
    with pytest.raises(ConfigError, match="does not match"):
        RelayMarket(network=net, n=7)
    with pytest.raises(ConfigError, match="channel='static'"):
        RelayMarket(network=net, channel="redraw")
    with pytest.raises(ConfigError):
        RelayMarket(network="not a network")


class BadBuyer(Strategy):
    name = "bad_buyer"

    def __init__(self, report=float("nan")):
        self.value = report

    def report(self, true_type, obs):
        return np.full_like(true_type, self.value) if self.value is not None else np.zeros(2)


def test_invalid_reports_name_the_agent_and_strategy():
    model = RelayMarket(n=3, m=4, rng=0, population={"buyer": ["truthful", BadBuyer(), "truthful"]})
    with pytest.raises(InvalidReportError, match=r"buyer 1 \(bad_buyer"):
        model.step()
    model = RelayMarket(n=3, m=4, rng=0, population={"buyer": ["truthful", "truthful", BadBuyer(None)]})
    with pytest.raises(ShapeError, match="buyer 2"):
        model.step()


# ------------------------------------------------------------------ user mechanisms and algorithms
def everyone_trades_free(network, bids, asks, sigma):
    """A user mechanism: the pure assignment (all candidate pairs trade, nobody pays)."""
    n, m = bids.shape
    wins = sigma >= 0
    sw = np.zeros(m, dtype=bool)
    sw[sigma[wins]] = True
    return RelayOutcome(wins, sw, sigma, np.zeros(n), np.zeros(m), 0.0, "free")


def first_useful(direct, relayed):
    """A user assignment: each source takes its first useful free relay."""
    sigma = np.full(len(direct), -1)
    taken = set()
    for i in range(len(direct)):
        for j in np.flatnonzero(relayed[i] > direct[i]):
            if j not in taken:
                sigma[i] = j
                taken.add(j)
                break
    return sigma


def test_user_mechanism_and_algorithm_callables():
    model = run(steps=2, mechanism=everyone_trades_free, algorithm=first_useful)
    row = model.datacollector.get_model_vars_dataframe().iloc[-1]
    assert row.capacity_ratio == 1.0 and row.trades_ratio == 1.0 and row.profit == 0.0
    np.testing.assert_array_equal(model.sigma, first_useful(model.network.direct, model.network.relayed))
    copy = pickle.loads(pickle.dumps(model))
    copy.step()
    model.step()
    pd.testing.assert_frame_equal(frames(model)[1], frames(copy)[1])
    MECHANISMS.register("free_test", everyone_trades_free)
    try:
        assert run(steps=1, mechanism="free_test").trades_ratio == 1.0
    finally:
        del MECHANISMS["free_test"]


def test_relay_round_from_instance_and_counterfactuals():
    net, values, costs = pinned_instance(**SELLER_CASE)
    rnd = RelayRound.from_instance(net, values, costs, mechanism="tasc")
    assert rnd.players() == [("buyer", i) for i in range(5)] + [("seller", j) for j in range(4)]
    assert rnd.utility("seller", 1) == pytest.approx(1.0)
    assert rnd.utility_if("seller", 1, 1.7) == pytest.approx(1.8)
    assert rnd.oracle("seller", 1)(1.7) == pytest.approx(1.8)
    assert rnd.info("buyer", 0) == {"assigned": -1}
    assert rnd.info("seller", 1) == {"partner": 2}
    np.testing.assert_allclose(rnd.candidates, sorted({3.1, 3.0, 2.6, 1.7, 1.1, 0.1, 1.9, 0.7}))
    with pytest.raises(ConfigError):
        rnd.utility_if("auctioneer", 0, 1.0)
    with pytest.raises(ConfigError):
        rnd.utility_if("seller", 4, 1.0)
    with pytest.raises(InvalidReportError):
        rnd.utility_if("seller", 1, float("nan"))
    t = rnd.true_type("buyer", 1)
    with pytest.raises(ValueError):
        t[0] = 5.0  # read-only view of the private type


def test_collect_agents_off_and_network_given_as_capacities():
    model = RelayMarket(n=3, m=3, rng=0, collect_agents=False)
    model.step()
    assert model.datacollector.agent_reporters == {}
    assert len(model.datacollector.get_model_vars_dataframe()) == 2
    net = RelayNetwork.from_capacities([1.0, 1.0], [[2.0, 0.5], [0.5, 2.0]])
    model = RelayMarket(network=net, rng=0)
    assert (model.n, model.m) == (2, 2) and model.sigma.tolist() == [0, 1]


def test_agent_table_as_columns_has_the_same_rows_as_mesas_agent_reporters():
    a = run(population=MIXED, mechanism="kda")
    b = run(population=MIXED, mechanism="kda", collect_agents="columns")
    pd.testing.assert_frame_equal(a.agent_frame(), b.agent_frame())
    pd.testing.assert_frame_equal(frames(a)[0], b.datacollector.get_model_vars_dataframe())
    assert b.datacollector.agent_reporters == {} and len(b.agent_frame()) == 6 * 22
    copy = pickle.loads(pickle.dumps(b))
    copy.step()
    b.step()
    pd.testing.assert_frame_equal(copy.agent_frame(), b.agent_frame())


def test_counterfactual_profiles_through_the_model():
    model = run(steps=1, n=8, m=9, mechanism="kda")
    v, c = model.values, model.costs
    profiles = [(v * 0.5, c), (v, c * 1.5), (v, c)]
    got = model.profile_utilities(profiles)
    for (bids, asks), (out, ub, us) in zip(profiles, got):
        want = model.mechanism_object(model.network, bids, asks, model.sigma)
        np.testing.assert_array_equal(out.buyer_wins, want.buyer_wins)
        wub, wus = want.utilities(v, c)
        np.testing.assert_array_equal(ub, wub)
        np.testing.assert_array_equal(us, wus)
    np.testing.assert_array_equal(got[2][1], model.buyer_utility)  # the truthful profile is the round played
    rnd = model.counterfactual_round(v * 0.5, c)
    i = int(np.flatnonzero(model.sigma >= 0)[0])
    reps = np.outer([0.5, 1.0], v[i])
    np.testing.assert_allclose(
        rnd.utilities_if("buyer", i, reps), [rnd.utility_if("buyer", i, r) for r in reps], atol=1e-12
    )
    with pytest.raises(StateError):
        RelayMarket(n=3, m=3, rng=0).counterfactual_round()


# ------------------------------------------------------------------ batched reports
DEVIANTS = {
    "buyer": [
        {"strategy": "scale", "params": {"theta": 0.8}, "share": 0.2},
        {"strategy": "shift", "params": {"delta": -0.3}, "share": 0.1},
        {"strategy": "noise", "params": {"sigma": 0.3}, "share": 0.2},
        {"strategy": "drop_relays", "params": {"fraction": 0.5}, "share": 0.1},
        {"strategy": "own_relay_only", "share": 0.1},
        {"strategy": "others_only", "share": 0.1},
        {"strategy": "exp3", "share": 0.1},
        {"strategy": "truthful", "share": 0.1},
    ],
    "seller": [
        {"strategy": "scale", "params": {"theta": 1.2}, "share": 0.25},
        {"strategy": "noise", "params": {"sigma": 0.2, "mode": "additive"}, "share": 0.25},
        {"strategy": "shift", "params": {"delta": 0.1}, "share": 0.25},
        {"strategy": "hedge", "share": 0.25},
    ],
}


@pytest.mark.parametrize("kw", [{"collect_agents": True}, {"collect_agents": "columns", "channel": "redraw"}])
def test_batched_groups_give_the_tables_of_one_report_per_agent(monkeypatch, kw):
    """Grouping by batch key changes no number: the same tables (and report vectors) as
    asking every agent on its own, stochastic strategies included."""
    batched = run(steps=6, n=20, m=16, population=DEVIANTS, **kw)
    groups = {role: [g for g in batched._report_groups[role] if g[0] is not None] for role in ("buyer", "seller")}
    assert len(groups["buyer"]) == 6 and len(groups["seller"]) == 3  # learners are asked one at a time
    monkeypatch.setattr(Strategy, "batch_key", lambda self: None)
    single = run(steps=6, n=20, m=16, population=DEVIANTS, **kw)
    assert all(g[0] is None for role in ("buyer", "seller") for g in single._report_groups[role])
    pd.testing.assert_frame_equal(
        batched.datacollector.get_model_vars_dataframe(),
        single.datacollector.get_model_vars_dataframe(),
        check_exact=True,
    )
    pd.testing.assert_frame_equal(batched.agent_frame(), single.agent_frame(), check_exact=True)
    for a, b in zip(batched.buyers, single.buyers):
        np.testing.assert_array_equal(a.report_vector, b.report_vector)
        assert a.history == b.history


def test_a_batch_returning_bad_reports_names_the_offender():
    class Negative(Strategy):
        name = "negative"
        batch_exact = True

        def report(self, true_type, obs):
            return -true_type

        def _batch_params(self):
            return ("negative",)

        def report_many(self, true_types, observations, members=None):
            return -np.asarray(true_types)

    pop = {"buyer": ["truthful"] * 5 + [Negative() for _ in range(5)]}
    with pytest.raises(InvalidReportError, match=r"buyer 5 \(negative\)"):
        RelayMarket(n=10, m=12, rng=1, population=pop).step()
