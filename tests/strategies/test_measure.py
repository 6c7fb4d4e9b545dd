import numpy as np
import pandas as pd
import pytest

from auctionlab.errors import ConfigError, StateError
from auctionlab.mechanisms.relay.mechanisms import RelayRound
from auctionlab.mechanisms.relay.network import RelayNetwork, random_network
from auctionlab.mechanisms.relay.valuations import uniform_valuations
from auctionlab.models.relay import RelayMarket
from auctionlab.strategies import BestResponse, DropRelays, Scale, Truthful
from auctionlab.strategies.measure import COLUMNS, manipulation_gain, max_gain

from .instances import BUYER_CASE, SELLER_CASE, pinned_instance


def a4_round(case, mechanism):
    net, values, costs = pinned_instance(**case)
    return RelayRound.from_instance(net, values, costs, mechanism=mechanism)


@pytest.mark.parametrize("mechanism, gain", [("tasc", 2.3), ("trade_reduction", 0.0)])
def test_spec_a4_prime_buyer_gain(mechanism, gain):
    df = manipulation_gain(a4_round(BUYER_CASE, mechanism), ("buyer", 0), [BestResponse()])
    assert list(df.columns) == COLUMNS and len(df) == 1
    row = df.iloc[0]
    assert row["agent"] == "buyer:0" and row["role"] == "buyer" and row["index"] == 0
    assert row["truthful_utility"] == 0.0
    assert row["gain"] == pytest.approx(gain)
    assert row["deviating_utility"] == pytest.approx(gain)


@pytest.mark.parametrize("mechanism, utility", [("tasc", 1.8), ("trade_reduction", 1.0)])
def test_spec_a4_prime_seller_gain(mechanism, utility):
    df = manipulation_gain(a4_round(SELLER_CASE, mechanism), [("seller", 1)], {"br": BestResponse()})
    row = df.iloc[0]
    assert row["deviation"] == "br"
    assert row["truthful_utility"] == pytest.approx(1.0)
    assert row["deviating_utility"] == pytest.approx(utility)
    assert row["gain"] == pytest.approx(utility - 1.0)


def test_tidy_table_and_max_gain_for_every_player():
    rnd = a4_round(BUYER_CASE, "tasc")
    devs = [Scale(0.5), Scale(1.5), DropRelays(keep_top=0), BestResponse()]
    df = manipulation_gain(rnd, deviations=devs)
    # 5 buyers × 4 deviations + 5 sellers × 3 (drop_relays is buyer-only, skipped for sellers)
    assert len(df) == 5 * 4 + 5 * 3
    assert set(df.loc[df.role == "seller", "deviation"]) == {"scale(theta=0.5)", "scale(theta=1.5)", df.label.iloc[-1]}
    np.testing.assert_allclose(df.gain, df.deviating_utility - df.truthful_utility)
    best = max_gain(df)
    assert len(best) == 10
    assert (best.max_gain >= -1e-12).all()  # BestResponse includes the truth
    b0 = best[(best.role == "buyer") & (best["index"] == 0)].iloc[0]
    assert b0.max_gain == pytest.approx(2.3)
    zero = best[best.max_gain <= 1e-12]
    assert zero.best_deviation.isna().all()


def test_bad_sources_and_players():
    rnd = a4_round(BUYER_CASE, "tasc")
    with pytest.raises(ConfigError):
        manipulation_gain(object())
    with pytest.raises(ConfigError, match="no player"):
        manipulation_gain(rnd, ("buyer", 9), [Truthful()])
    with pytest.raises(StateError, match="step"):  # no round played yet: a state error, not bad input
        manipulation_gain(RelayMarket(n=3, m=3, rng=0))


# ------------------------------------------------------------------ random small instances
def geometric_round(seed, mechanism):
    """Paper-style geometry (few useful pairs at this size); odd seeds use coarse values."""
    gen = np.random.default_rng(seed)
    n, m = int(gen.integers(2, 6)), int(gen.integers(2, 6))
    net = random_network(n, m, rng=gen, area=300.0)
    values, costs = uniform_valuations(net, rng=gen)
    if seed % 2:  # coarse reports create the ties that break careless implementations
        values, costs = np.ceil(values * 2) / 2 * net.useful, np.ceil(costs * 4) / 4
    return RelayRound.from_instance(net, values, costs, mechanism=mechanism)


def dense_round(seed, mechanism):
    """Many candidate pairs: a random maximum matching gets capacity 2, 40% of the other
    pairs capacity 1 (so MWM returns exactly that matching and VCG has alternatives);
    values and costs on a 0.1 grid (ties)."""
    gen = np.random.default_rng(seed)
    n, m = int(gen.integers(3, 7)), int(gen.integers(3, 7))
    size = min(n, m)
    rows, cols = gen.permutation(n)[:size], gen.permutation(m)[:size]
    relayed = np.where(gen.random((n, m)) < 0.4, 1.0, 0.0)
    relayed[rows, cols] = 2.0
    net = RelayNetwork.from_capacities(np.zeros(n), relayed)
    values = np.where(net.useful, np.round(gen.uniform(0.1, 4.0, (n, m)), 1), 0.0)
    costs = np.round(gen.uniform(0.1, 3.0, m), 1)
    rnd = RelayRound.from_instance(net, values, costs, mechanism=mechanism)
    assert sorted(zip(np.flatnonzero(rnd.sigma >= 0), rnd.sigma[rnd.sigma >= 0])) == sorted(zip(rows, cols))
    return rnd


@pytest.mark.parametrize("mechanism, seeds", [("trade_reduction", range(25)), ("vcg", range(15))])
def test_no_best_response_gain_under_truthful_mechanisms(mechanism, seeds):
    worst = -np.inf
    for seed in seeds:
        for make in (geometric_round, dense_round):
            df = manipulation_gain(make(seed, mechanism), deviations=[BestResponse()])
            assert (df.gain >= 0).all()  # the grid includes the truth
            worst = max(worst, df.gain.max())
    assert worst <= 1e-9


def test_best_response_gains_exist_under_tasc():
    gains = [manipulation_gain(dense_round(s, "tasc"), deviations=[BestResponse()]).gain.max() for s in range(40)]
    assert sum(g > 1e-6 for g in gains) >= 8  # 15 of these 40 instances, in fact
    assert max(gains) >= 1.0


def test_most_trading_agents_gain_under_kda():
    trading = gaining = 0
    for seed in range(10):
        rnd = dense_round(seed, "kda")
        out = rnd.outcome
        df = manipulation_gain(rnd, deviations=[BestResponse()])
        for role, wins in (("buyer", out.buyer_wins), ("seller", out.seller_wins)):
            sub = df[df.role == role].set_index("index").gain
            for i in np.flatnonzero(wins):
                trading += 1
                gaining += sub[i] > 1e-6
    assert trading >= 20
    assert gaining / trading >= 0.8  # k-DA pays each pair between its bid and ask: shading pays


def test_through_a_model_with_agent_objects_and_default_deviations():
    model = RelayMarket(n=10, m=14, mechanism="kda", rng=4)
    model.step()
    df = manipulation_gain(model, model.buyers[:4] + model.sellers[:2])
    assert set(df.agent) == {"buyer:0", "buyer:1", "buyer:2", "buyer:3", "seller:0", "seller:1"}
    assert (df["round"] == 1).all() and len(df) == 6 * 14
    for _, rows in df.groupby("agent"):
        br = rows[rows.deviation == "best_response"].gain.iloc[0]
        assert br >= rows.gain.max() - 1e-12  # the BR grid contains every default deviation
        a = (
            model.buyers[rows["index"].iloc[0]]
            if rows.role.iloc[0] == "buyer"
            else model.sellers[rows["index"].iloc[0]]
        )
        assert rows.truthful_utility.iloc[0] == pytest.approx(a.utility)  # everyone is truthful here
    traders = [a for a in model.buyers[:4] + model.sellers[:2] if a.won]
    assert traders
    best = max_gain(df).set_index("agent")
    for a in traders:
        assert best.loc[f"{a.role}:{a.index}", "max_gain"] > 0


# ------------------------------------------------------------------ gains, frequencies and welfare yardsticks
def test_gain_summary_and_frequency_count_real_numbers():
    from auctionlab.strategies.measure import gain_summary, manipulation_frequency

    s = gain_summary([0.0, 0.5, 1e-12, 2.0], "buyer", 1e-9)
    assert s == {
        "buyers_sampled": 4,
        "buyers_profitable": 2,
        "buyer_share_profitable": 0.5,
        "buyer_mean_gain": pytest.approx(0.625),
        "buyer_max_gain": 2.0,
    }
    empty = gain_summary([], "seller", 1e-9)
    assert empty["sellers_sampled"] == 0 and np.isnan(empty["seller_max_gain"])
    table = pd.DataFrame({"role": ["buyer", "buyer", "seller"], "max_gain": [0.3, 0.0, 0.1]})
    freq = manipulation_frequency(table, 1e-9).set_index("role")
    assert freq.loc["buyer", "share"] == 0.5 and freq.loc["seller", "players"] == 1


def test_efficient_surplus_is_the_best_matching_by_brute_force():
    import itertools

    from auctionlab.strategies.measure import efficient_surplus, efficient_surplus_homogeneous, realised_welfare

    gen = np.random.default_rng(4)
    for _ in range(5):
        values = gen.uniform(0, 2, (4, 3)) * (gen.random((4, 3)) < 0.7)
        costs = gen.uniform(0, 1, 3)
        useful = values > 0
        best = 0.0
        for perm in itertools.permutations(range(4), 3):  # relay j served by buyer perm[j] (or nobody)
            best = max(best, sum(max(values[i, j] - costs[j], 0.0) for j, i in enumerate(perm) if useful[i, j]))
        assert efficient_surplus(values, costs, useful) == pytest.approx(best, abs=1e-12)
    assert efficient_surplus_homogeneous(np.array([3.0, 1.0, 2.0]), np.array([0.5, 2.5])) == pytest.approx(2.5 + 0.0)
    rnd = a4_round(BUYER_CASE, "tasc")
    out = rnd.outcome
    win = np.flatnonzero(out.buyer_wins)
    assert realised_welfare(out, rnd.values, rnd.costs) == pytest.approx(
        sum(rnd.values[i, out.sigma[i]] - rnd.costs[out.sigma[i]] for i in win)
    )


def test_best_response_gains_skip_agents_the_mechanism_never_reads():
    from auctionlab.strategies.measure import best_response_gains

    rnd = a4_round(BUYER_CASE, "tasc")
    ub, us = rnd.outcome.utilities(rnd.values, rnd.costs)
    rows = best_response_gains(rnd, rnd.players(), truthful_utility={"buyer": ub, "seller": us})
    by = {(r["role"], r["index"]): r for r in rows}
    assert by[("buyer", 0)]["gain"] == pytest.approx(2.3)  # the worked example's flaw
    for (role, idx), r in by.items():
        assert r["relevant"] == rnd.mechanism.reads(rnd.sigma, role, idx)
        if not r["relevant"]:
            assert r["gain"] == 0.0 and r["kind"] == "truth"
        assert r["gain"] >= 0
