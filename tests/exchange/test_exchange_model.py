"""The WDProgram API the iterative exchange builds on: objectives, bounds, rows, scopes."""

import numpy as np
import pytest

from auctionlab.errors import InvalidInputError, ShapeError, SolverError
from auctionlab.mechanisms.exchange import AND, OR, XOR, Exchange, WDProgram, leaf, random_exchange, solve_wd

from .test_exchange_golden import ex2, fig1

P_EX5 = np.array([10 / 3, 10 / 3, 5 / 3, 5 / 3])  # the ACC prices of Ex.2


def test_layout():
    ex = ex2()
    m = WDProgram(ex)
    goods, cols = m.lam_cols("buyer1")
    assert [ex.goods[j] for j in goods] == ["A", "B"]  # only goods the tree names or the bidder owns
    assert m.lam_col("buyer1", "C") == -1
    assert m.lam_col("seller", "D") >= 0
    assert len(m.sat_cols("buyer2")) == 3
    assert m.sat_col("buyer2", "root/1") == m.sat_cols("buyer2")[2]
    assert len(m.tree_rows("seller")) > 0
    with pytest.raises(InvalidInputError):
        m.bidder_index(7)
    with pytest.raises(InvalidInputError):
        m.bidder_index("nobody")


def test_exclude_gives_v_minus_i_and_scope_restores():
    ex = ex2()
    m = WDProgram(ex)
    base = m.solve_wd()
    n_rows = m.n_rows
    with m.scope():
        m.exclude("buyer1")
        assert m.solve().value_of(ex.lower) == 7.0
        m.add_row([m.sat_col("buyer3", "root")], [1.0], 0.0, 0.0)
        assert m.n_rows == n_rows + 1
        assert m.solve().value_of(ex.lower) == 6.0  # buyer2 takes A, buyer4 one of C/D
    assert m.n_rows == n_rows
    again = m.solve_wd()
    assert again.trades == base.trades and again.value == 9.0
    m.exclude("seller")
    assert m.solve().value_of(ex.lower) == 0.0
    m.reset()
    assert m.solve_wd().value == 9.0


def test_rwd_at_ex5_prices():
    ex = ex2()
    m = WDProgram(ex)
    surplus = {n: m.solve_rwd(n, P_EX5)[0] for n in ex.names}
    assert surplus["seller"] == pytest.approx(10.0)  # sells everything: others absorb it
    assert surplus["buyer1"] == pytest.approx(0.0)  # 6 − 20/3 < 0: no trade
    assert surplus["buyer2"] == pytest.approx(2 / 3)
    assert surplus["buyer3"] == pytest.approx(0.0)
    assert surplus["buyer4"] == pytest.approx(1 / 3)
    s, trade, sat = m.solve_rwd("seller", P_EX5)
    assert trade.tolist() == [-1, -1, -1, -1]
    s, trade, sat = m.solve_rwd("buyer4", P_EX5)
    assert trade.tolist() in ([0, 0, 1, 0], [0, 0, 0, 1]) and sat[0]
    # the model is back to plain WD afterwards
    assert m.solve_wd().value == 9.0


def _rp_exchange(tree) -> Exchange:
    return Exchange.from_dict(
        {
            "goods": ["A", "B"],
            "bidders": {
                "seller": {"endowment": {"A": 1, "B": 1}, "tree": OR(leaf({"A": -1}), leaf({"B": -1}))},
                "bidder": {"tree": tree},
            },
        }
    )


def _rp(ex: Exchange, prices: np.ndarray) -> tuple[float, float, float, np.ndarray]:
    """RP1-RP3 through the WDProgram API: (π*_l, π*_u, π at v̄ buying B, sat(L*))."""
    m = WDProgram(ex)
    i = ex.index("bidder")
    t = ex.bidders[i].tree
    pi_l, _, _ = m.solve_rwd(i, prices, "lower")  # RP1
    with m.scope():  # RP2: max uncertainty among trades reaching π*_l
        m.only_feasibility(i)
        unc = np.zeros(ex.n_nodes)
        s = slice(int(ex.node_offset[i]), int(ex.node_offset[i + 1]))
        unc[s] = t.upper - t.lower
        m.set_node_values(unc)
        m.clear_prices()
        m.add_surplus_row(i, t.lower, prices, lb=pi_l - 1e-9)
        l_sat = m.solve().sat_of(i)
    tilde = np.where(l_sat, t.lower, t.upper)  # (24)
    vals = ex.lower.copy()
    vals[s] = tilde
    pi_u, _, _ = m.solve_rwd(i, prices, vals)  # RP3
    with m.scope():
        m.require_node(i, "root/1")  # buy B
        naive, _, _ = m.solve_rwd(i, prices, "upper")
    return pi_l, pi_u, naive, l_sat


def test_revealed_preference_examples_7_and_8():
    p = np.array([3.0, 3.0])
    ex7 = _rp_exchange(XOR(leaf({"A": 1}, 5), leaf({"B": 1}, [5, 10])))
    pi_l, pi_u, _, l_sat = _rp(ex7, p)
    assert l_sat.tolist() == [True, False, True]  # L* = buy B, the uncertain one
    assert pi_l == pytest.approx(2.0) and pi_u == pytest.approx(2.0)  # RP holds
    ex8 = _rp_exchange(XOR(leaf({"A": 1}, 1), leaf({"B": 1}), value=[5, 10]))
    pi_l, pi_u, naive, l_sat = _rp(ex8, p)
    assert l_sat.tolist() == [True, True, False]  # L* = buy A
    assert pi_l == pytest.approx(3.0) and pi_u == pytest.approx(3.0)  # RP holds
    assert naive == pytest.approx(7.0)  # v̄ on the shared root would (wrongly) fail it: B at 7 > 3


def test_node_price_by_require_node():
    ex = ex2()
    m = WDProgram(ex)
    i = ex.index("buyer1")
    with m.scope():
        m.only_feasibility(i)
        m.set_node_values(np.zeros(ex.n_nodes))
        m.clear_prices()
        m.set_prices(i, P_EX5)
        m.require_node(i, "root")
        assert -m.solve().objective == pytest.approx(20 / 3)
    # a subtree nobody can supply
    lonely = Exchange.from_dict(
        {
            "goods": ["A", "Z"],
            "bidders": {
                "s": {"endowment": {"A": 1}, "tree": leaf({"A": -1}, -1)},
                "b": {"tree": AND(leaf({"A": 1}, 5), leaf({"Z": 1}, 5))},
            },
        }
    )
    m2 = WDProgram(lonely)
    with m2.scope():
        m2.require_node("b", "root")
        assert m2.solve(allow_infeasible=True) is None
        with pytest.raises(SolverError, match="Infeasible"):
            m2.solve()
    assert m2.solve_wd().value == 0.0


def test_fix_trades_gives_pessimistic_value_of_optimistic_trade():
    ex = Exchange.from_dict(
        {
            "goods": ["A", "B"],
            "bidders": {
                "buyer": {"tree": AND(leaf({"A": 1}, [8, 15]), leaf({"B": 1}, [8, 15]))},
                "seller": {
                    "endowment": {"A": 1, "B": 1},
                    "tree": AND(leaf({"A": -1}), leaf({"B": -1}), value=[-20, -4]),
                },
            },
        }
    )
    m = WDProgram(ex)
    up = m.solve_wd("upper")
    with m.scope():
        m.fix_trades(up.trade_matrix)
        po = m.solve("lower").value_of(ex.lower)
    assert po == -4.0
    assert m.solve_wd("lower").value == 0.0  # PP
    with pytest.raises(ShapeError):
        m.fix_trades(np.zeros((3, 2)))


def test_rebind_revised_bounds_without_rebuilding():
    ex = fig1()
    m = WDProgram(ex)
    assert m.solve_wd("lower").value == 4.0
    narrowed = ex.with_bounds(lower=np.array([0, 10, 10, 0, -3, -3.0]))
    assert solve_wd(narrowed, "lower", model=m).value == 14.0
    assert m.solve_wd("lower").value == 4.0  # solve_wd(model=...) leaves the model as it was
    m.rebind(narrowed)
    assert m.solve_wd("lower").value == 14.0
    other = random_exchange(3, 2, rng=0)
    with pytest.raises(InvalidInputError):
        m.rebind(other)
    with pytest.raises(InvalidInputError):
        solve_wd(other, model=m)


def test_deterministic_and_history_independent():
    ex = random_exchange(12, 6, rng=11)
    a = WDProgram(ex).solve_wd()
    m = WDProgram(ex)
    for i in range(3):
        with m.scope():
            m.exclude(i)
            m.solve()
    b = m.solve_wd()
    assert a.trades == b.trades and a.value == b.value
    assert all(np.array_equal(a.satisfied[n], b.satisfied[n]) for n in ex.names)


def test_input_errors():
    m = WDProgram(ex2())
    with pytest.raises(ShapeError):
        m.set_prices(0, [1.0, 2.0])
    with pytest.raises(InvalidInputError):
        m.set_prices(0, [1.0, np.nan, 0, 0])
    with pytest.raises(ShapeError):
        m.add_surplus_row(0, np.zeros(2))
    with pytest.raises(InvalidInputError):
        m.add_row([10_000], [1.0])
    with pytest.raises(InvalidInputError, match="cannot sell"):
        lam = np.zeros((5, 4), dtype=int)
        lam[1, 2] = -1
        m.fix_trades(lam)


def test_model_size_is_linear_in_the_trees():
    ex = random_exchange(60, 20, rng=4)
    m = WDProgram(ex)
    assert m.n_cols <= ex.n_bidders * ex.n_goods + ex.n_nodes  # λ per (bidder, good) + one sat per node
    leaf_goods = int(np.count_nonzero(ex.flat.trade))
    assert m.n_base_rows <= ex.n_goods + leaf_goods + 2 * ex.n_nodes  # (2), (4), (5)


def test_time_limit_raises_solver_error_with_status():
    ex = random_exchange(40, 20, rng=1)
    with pytest.raises(SolverError, match="Time limit reached"):
        WDProgram(ex, time_limit=0.02).solve_wd()
