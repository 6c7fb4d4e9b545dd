"""TBBL trees: helpers, value() by hand, validation messages, plain-data round trips."""

import copy
import json
import math

import numpy as np
import pytest

from auctionlab.errors import BidTreeError, ConfigError, InvalidInputError, RevisionError, ShapeError
from auctionlab.mechanisms.exchange import AND, IC, OR, XOR, BidTree, Exchange, leaf, random_exchange, value


# --------------------------------------------------------------------------- helpers
def test_helpers_build_plain_data():
    assert leaf({"A": 1, "B": -1}, 3) == {"value": 3, "trade": {"A": 1, "B": -1}}
    assert leaf({"A": 1}, (2, 5)) == {"value": [2, 5], "trade": {"A": 1}}
    a, b, c = leaf({"A": 1}), leaf({"B": 1}), leaf({"C": 1})
    assert AND(a, b) == {"value": 0, "ic": [2, 2], "children": [a, b]}
    assert OR(a, b, c, value=1.5)["ic"] == [1, 3]
    assert XOR([a, b, c])["ic"] == [1, 1]
    assert IC(2, 3, a, b, c, value=[0, 1]) == {"value": [0, 1], "ic": [2, 3], "children": [a, b, c]}


def test_compiled_arrays_are_preorder():
    t = BidTree.from_dict(AND(XOR(leaf({"A": 1}, 3), leaf({"B": 1}, 4)), leaf({"C": -1}, -1), value=2))
    assert t.goods == ("A", "B", "C")
    assert t.paths == ("root", "root/0", "root/0/0", "root/0/1", "root/1")
    assert t.parent.tolist() == [-1, 0, 1, 1, 0]
    assert t.is_leaf.tolist() == [False, False, True, True, True]
    assert t.ic_x.tolist() == [2, 1, 0, 0, 0] and t.ic_y.tolist() == [2, 1, 0, 0, 0]
    assert t.end.tolist() == [5, 4, 3, 4, 5]
    assert t.trade.tolist() == [[0, 0, 0], [0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, -1]]
    assert t.lower.tolist() == [2, 0, 3, 4, -1]
    assert t.node_id("root/0/1") == 3
    assert t.children(0).tolist() == [1, 4]
    with pytest.raises(ValueError):
        t.lower[0] = 1.0  # read-only: copies share structure safely


# --------------------------------------------------------------------------- value()
AB = AND(leaf({"A": 1}, 10), leaf({"B": 1}, 10))


@pytest.mark.parametrize(
    "tree, trade, expected",
    [
        (AB, {"A": 1, "B": 1}, 20.0),
        (AB, {"A": 1}, 0.0),  # AND: all or nothing
        (AB, {"A": 2, "B": 3}, 20.0),  # extra units do not hurt (4)
        (OR(leaf({"A": 1}, 3), leaf({"B": 1}, 4), leaf({"C": 1}, 5)), {"A": 1, "C": 1}, 8.0),
        (OR(leaf({"A": 1}, 3), leaf({"B": 1}, 4)), {}, 0.0),
        (XOR(leaf({"A": 1}, 3), leaf({"B": 1}, 4), value=1), {"A": 1, "B": 1}, 5.0),
        (XOR(leaf({"A": 1}, 3), leaf({"B": 1}, 4), value=1), {"A": 1}, 4.0),
        (IC(2, 3, *(leaf({g: 1}, v) for g, v in zip("ABCD", (2, 3, 4, 5))), value=-1), dict.fromkeys("ABCD", 1), 11.0),
        (IC(2, 3, *(leaf({g: 1}, v) for g, v in zip("ABCD", (2, 3, 4, 5))), value=-1), {"A": 1, "D": 1}, 6.0),
        (IC(2, 3, *(leaf({g: 1}, v) for g, v in zip("ABCD", (2, 3, 4, 5))), value=-1), {"A": 1}, 0.0),
        # a negative root that outweighs its children: better not to satisfy it at all
        (IC(1, 2, leaf({"A": 1}, 1), leaf({"B": 1}, 1), value=-5), {"A": 1, "B": 1}, 0.0),
        (IC(1, 2, leaf({"A": 1}, 4), leaf({"B": 1}, 4), value=-5), {"A": 1, "B": 1}, 3.0),
        # sellers: selling forces the leaves (and the AND) to be satisfied
        (AND(leaf({"A": -1}, -5), leaf({"B": -1}, -5)), {"A": -1, "B": -1}, -10.0),
        (AND(leaf({"A": -1}, -5), leaf({"B": -1}, -5)), {"A": -1}, -10.0),
        (AND(leaf({"A": -1}, -5), leaf({"B": -1}, -5)), {}, 0.0),
        (AND(leaf({"A": -1}, -5), leaf({"B": -1}, -5)), {"A": -2}, -math.inf),  # cannot cover 2 units
        (OR(leaf({"A": -1}, -2), leaf({"A": -1}, -3)), {"A": -2}, -5.0),
        (leaf({"A": 1}, 3), {"A": 1, "Z": 1}, 3.0),  # an unknown good can be received...
        (leaf({"A": 1}, 3), {"A": 1, "Z": -1}, -math.inf),  # ...but never sold
        # a swap leaf: sell A, buy B
        (leaf({"A": -1, "B": 1}, 4), {"A": -1, "B": 1}, 4.0),
        (leaf({"A": -1, "B": 1}, 4), {"B": 1}, 4.0),
        (leaf({"A": -1, "B": 1}, 4), {"A": -1}, -math.inf),
        (AND(XOR(leaf({"A": 1}, 3), leaf({"B": 1}, 4)), leaf({"C": -1}, -1), value=2), {"A": 1, "B": 1, "C": -1}, 5.0),
        # a negative child forced by its parent's IC lower bound
        (IC(2, 2, leaf({"A": 1}, 9), leaf({"B": -1}, -4), leaf({"C": 1}, -1)), {"A": 1, "B": -1, "C": 1}, 5.0),
    ],
)
def test_value_hand_computed(tree, trade, expected):
    assert value(tree, trade) == expected


def test_value_bounds_and_alpha():
    t = BidTree.from_dict(AND(leaf({"A": 1}, [2, 6]), leaf({"B": 1}, 1), value=[0, 4]))
    trade = {"A": 1, "B": 1}
    assert value(t, trade, "lower") == 3.0
    assert value(t, trade, "upper") == 11.0
    assert value(t, trade, 0.25) == pytest.approx(0.25 * 3 + 0.75 * 11)
    assert value(t, np.array([1, 1])) == 3.0  # a vector over t.goods
    with pytest.raises(ConfigError):
        value(t, trade, "middle")
    with pytest.raises(ConfigError):
        value(t, trade, 1.5)
    with pytest.raises(BidTreeError):
        value(t, {"A": 0.5})


def test_value_accepts_bidders():
    ex = Exchange.from_dict({"goods": ["A"], "bidders": {"s": {"endowment": {"A": 1}, "tree": leaf({"A": -1}, -2)}}})
    assert value(ex.bidder("s"), {"A": -1}) == -2.0


# --------------------------------------------------------------------------- validation
def _base():
    return {
        "goods": ["A", "B"],
        "bidders": {
            "b1": {"endowment": {"A": 1}, "tree": OR(leaf({"A": -1}, -3), AND(leaf({"B": 1}, 2), leaf({"A": 1}, 1)))},
            "b2": {"tree": AND(leaf({"A": 1}, 5), leaf({"B": 1}, 5))},
        },
    }


def _mutate(fn):
    d = _base()
    fn(d)
    return d


BAD = [
    (
        "unknown good",
        lambda d: d["bidders"]["b2"]["tree"]["children"][1]["trade"].update({"Z": 1}),
        "bidder 'b2' node root/1",
        "unknown good 'Z'",
    ),
    (
        "ic beyond children",
        lambda d: d["bidders"]["b1"]["tree"]["children"][1].update(ic=[1, 3]),
        "bidder 'b1' node root/1",
        "only 2 children",
    ),
    ("ic x > y", lambda d: d["bidders"]["b1"]["tree"].update(ic=[2, 1]), "bidder 'b1' node root", "x > y"),
    ("ic negative", lambda d: d["bidders"]["b1"]["tree"].update(ic=[-1, 1]), "bidder 'b1' node root", "negative"),
    (
        "ic not ints",
        lambda d: d["bidders"]["b1"]["tree"].update(ic=[1.5, 2]),
        "bidder 'b1' node root",
        "pair [x, y] of integers",
    ),
    (
        "lower > upper",
        lambda d: d["bidders"]["b1"]["tree"]["children"][1]["children"][0].update(value=[5, 3]),
        "bidder 'b1' node root/1/0",
        "lower value 5.0 > upper value 3.0",
    ),
    ("nan", lambda d: d["bidders"]["b2"]["tree"].update(value=float("nan")), "bidder 'b2' node root", "not finite"),
    (
        "inf bound",
        lambda d: d["bidders"]["b2"]["tree"]["children"][0].update(value=[0, float("inf")]),
        "bidder 'b2' node root/0",
        "not finite",
    ),
    (
        "bool value",
        lambda d: d["bidders"]["b2"]["tree"].update(value=True),
        "bidder 'b2' node root",
        "value must be a number",
    ),
    (
        "sell beyond endowment",
        lambda d: d["bidders"]["b1"]["tree"]["children"][0]["trade"].update(A=-2),
        "bidder 'b1' node root/0",
        "sells 2 unit(s) of 'A' but the endowment holds only 1",
    ),
    (
        "sell without endowment",
        lambda d: d["bidders"]["b2"]["tree"]["children"][1]["trade"].update(B=-1),
        "bidder 'b2' node root/1",
        "endowment holds only 0",
    ),
    ("empty tree", lambda d: d["bidders"]["b2"].update(tree={}), "bidder 'b2'", "empty tree"),
    ("null tree", lambda d: d["bidders"]["b2"].update(tree=None), "bidder 'b2'", "empty tree"),
    ("missing tree", lambda d: d["bidders"]["b2"].pop("tree"), "bidder 'b2'", "missing 'tree'"),
    (
        "no children",
        lambda d: d["bidders"]["b2"].update(tree={"ic": [0, 0], "children": []}),
        "bidder 'b2' node root",
        "no children",
    ),
    ("missing ic", lambda d: d["bidders"]["b2"]["tree"].pop("ic"), "bidder 'b2' node root", "needs 'ic'"),
    (
        "leaf and children",
        lambda d: d["bidders"]["b2"]["tree"].update(trade={"A": 1}),
        "bidder 'b2' node root",
        "not both",
    ),
    (
        "fractional quantity",
        lambda d: d["bidders"]["b2"]["tree"]["children"][0]["trade"].update(A=1.5),
        "bidder 'b2' node root/0",
        "must be an integer",
    ),
    (
        "string quantity",
        lambda d: d["bidders"]["b2"]["tree"]["children"][0]["trade"].update(A="1"),
        "bidder 'b2' node root/0",
        "must be an integer",
    ),
    (
        "bool quantity",
        lambda d: d["bidders"]["b2"]["tree"]["children"][0]["trade"].update(A=True),
        "bidder 'b2' node root/0",
        "must be an integer",
    ),
    (
        "unknown node key",
        lambda d: d["bidders"]["b2"]["tree"]["children"][0].update(colour="red"),
        "bidder 'b2' node root/0",
        "unknown key(s) 'colour'",
    ),
    ("unknown bidder key", lambda d: d["bidders"]["b2"].update(budget=3), "bidder 'b2'", "unknown key(s) 'budget'"),
    ("unknown top key", lambda d: d.update(prices={}), "exchange", "unknown key(s) 'prices'"),
    (
        "negative endowment",
        lambda d: d["bidders"]["b1"]["endowment"].update(B=-1),
        "bidder 'b1'",
        "non-negative integer",
    ),
    (
        "endowment unknown good",
        lambda d: d["bidders"]["b1"]["endowment"].update(Z=1),
        "bidder 'b1'",
        "unknown good 'Z'",
    ),
    (
        "fractional endowment",
        lambda d: d["bidders"]["b1"]["endowment"].update(B=0.5),
        "bidder 'b1'",
        "non-negative integer",
    ),
    ("duplicate goods", lambda d: d.update(goods=["A", "B", "A"]), "exchange", "duplicate good(s) 'A'"),
    ("no goods", lambda d: d.update(goods=[]), "exchange", "'goods' must be a non-empty list"),
    ("no bidders", lambda d: d.update(bidders={}), "exchange", "no bidders"),
    (
        "node not object",
        lambda d: d["bidders"]["b2"]["tree"]["children"].append(3),
        "bidder 'b2' node root/2",
        "must be an object",
    ),
]


@pytest.mark.parametrize("name, mutate, where, what", BAD, ids=[b[0] for b in BAD])
def test_validation_names_bidder_and_path(name, mutate, where, what):
    data = _mutate(mutate)
    before = copy.deepcopy(data)
    with pytest.raises(BidTreeError) as info:
        Exchange.from_dict(data)
    msg = str(info.value)
    assert f"{where}: " in msg or f"{where} " in msg, msg
    assert what in msg, msg
    assert isinstance(info.value, InvalidInputError)
    # all-or-nothing: the input is untouched and nothing was returned
    assert repr(data) == repr(before)


def test_validation_reports_every_problem_at_once():
    d = _base()
    d["bidders"]["b1"]["tree"]["children"][0]["trade"]["Z"] = 1
    d["bidders"]["b2"]["tree"]["children"][1]["value"] = [3, 1]
    with pytest.raises(BidTreeError) as info:
        Exchange.from_dict(d)
    assert len(info.value.errors) == 2
    assert "bidder 'b1' node root/0: unknown good 'Z'" in info.value.errors[0]
    assert "bidder 'b2' node root/1: lower value 3.0 > upper value 1.0" in info.value.errors[1]
    assert "2 problems" in str(info.value)


def test_duplicate_bidders_in_list_form_and_json():
    d = _base()
    as_list = [{"name": n, **spec} for n, spec in d["bidders"].items()]
    ok = Exchange.from_dict({"goods": d["goods"], "bidders": as_list})
    assert ok.names == ("b1", "b2") and ok.form == "list"
    as_list.append({"name": "b1", "tree": leaf({"A": 1}, 1)})
    with pytest.raises(BidTreeError, match="bidder 'b1': duplicate bidder name"):
        Exchange.from_dict({"goods": d["goods"], "bidders": as_list})
    with pytest.raises(BidTreeError, match="non-empty string"):
        Exchange.from_dict({"goods": d["goods"], "bidders": [{"name": "", "tree": leaf({"A": 1}, 1)}]})
    text = json.dumps(_base())
    dup = text.replace('"b2": {', '"b1": {', 1)
    with pytest.raises(BidTreeError, match="bidder 'b1': duplicate bidder name"):
        Exchange.from_json(dup)
    dup_good = json.dumps({"goods": ["A"], "bidders": {"x": {"tree": {"value": 1, "trade": {"A": 1}}}}}).replace(
        '{"A": 1}', '{"A": 1, "A": 2}'
    )
    with pytest.raises(BidTreeError, match="bidder 'x' node root: duplicate good 'A' in trade"):
        Exchange.from_json(dup_good)


def test_load_rejects_bad_files(tmp_path):
    p = tmp_path / "bad.json"
    p.write_text("{not json")
    with pytest.raises(BidTreeError, match="invalid JSON"):
        Exchange.load(p)
    d = _base()
    d["bidders"]["b2"]["tree"]["ic"] = [3, 3]
    p.write_text(json.dumps(d))
    with pytest.raises(BidTreeError, match="bidder 'b2' node root: IC\\(3, 3\\) but the node has only 2 children"):
        Exchange.load(p)


def test_standalone_tree_messages():
    with pytest.raises(BidTreeError, match="^node root/1: quantity of 'B'"):
        BidTree.from_dict(AND(leaf({"A": 1}), {"value": 0, "trade": {"B": 0.5}}))
    with pytest.raises(BidTreeError, match="unknown good 'C'"):
        BidTree.from_dict(leaf({"C": 1}), goods=["A", "B"])


# --------------------------------------------------------------------------- round trips
def test_round_trip_exact(tmp_path):
    d = {
        "goods": ["A", "B", "C"],
        "bidders": {
            "s": {
                "endowment": {"B": 2, "A": 1, "C": 0},
                "tree": OR(leaf({"A": -1}, -2.5), leaf({"B": -2}, [-7, -3]), value=0),
            },
            "t": {
                "endowment": {"C": 1},
                "tree": {
                    "ic": [1, 2],
                    "children": [{"trade": {"C": -1, "A": 1}}, {"value": 0.1 + 0.2, "trade": {"B": 1, "A": 0}}],
                },
            },
            "u": {"tree": {"value": [1, 1], "trade": {}}},
        },
        "meta": {"note": "kept verbatim", "n": [1, 2]},
    }
    ex = Exchange.from_dict(d)
    assert ex.to_dict() == d
    assert json.dumps(ex.to_dict()) == json.dumps(d)  # same key order and number forms
    p = tmp_path / "ex.json"
    ex.save(p)
    back = Exchange.load(p)
    assert back.to_dict() == d
    assert back.bidder("s").tree.to_dict()["children"][1]["value"] == [-7, -3]  # intervals stay pairs
    assert back.bidder("s").tree.to_dict()["children"][0]["value"] == -2.5  # exact stays scalar
    assert back.bidder("t").tree.to_dict()["children"][1]["value"] == 0.30000000000000004
    assert "value" not in back.bidder("t").tree.to_dict()  # omitted stays omitted
    lst = ex.to_dict(form="list")
    assert [b["name"] for b in lst["bidders"]] == ["s", "t", "u"]
    assert Exchange.from_dict(lst).to_dict() == lst
    assert Exchange.from_dict(lst).to_dict(form="dict") == d


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_generated_instances_round_trip(tmp_path, seed):
    pair = random_exchange(12, 6, rng=seed, bound_width=0.3)
    for ex in pair:
        p = tmp_path / "g.json"
        ex.save(p)
        back = Exchange.load(p)
        assert back.to_dict() == ex.to_dict()
        assert np.array_equal(back.lower, ex.lower) and np.array_equal(back.upper, ex.upper)
        assert np.array_equal(back.endowments, ex.endowments)
        assert back.same_structure(ex)


# --------------------------------------------------------------------------- bounds revision
def test_with_bounds_shares_structure_and_checks():
    ex = random_exchange(5, 4, rng=3, bound_width=0.5).bounded
    lo, hi = ex.lower.copy(), ex.upper.copy()
    mid = (lo + hi) / 2
    narrowed = ex.with_bounds(lower=mid, narrowing=True)
    assert np.array_equal(narrowed.lower, mid) and np.array_equal(narrowed.upper, hi)
    assert narrowed.flat is ex.flat  # nothing rebuilt
    assert all(a.tree.trade is b.tree.trade for a, b in zip(ex.bidders, narrowed.bidders))
    assert narrowed.same_structure(ex)
    assert np.array_equal(ex.lower, lo)  # original untouched
    np.testing.assert_allclose(narrowed.node_values(0.5), 0.5 * mid + 0.5 * hi)
    # per-bidder form
    name = ex.names[0]
    n0 = ex.bidders[0].tree.n_nodes
    one = ex.with_bounds(upper={name: ex.bidders[0].tree.lower})
    assert np.array_equal(one.bidders[0].tree.upper, ex.bidders[0].tree.lower)
    assert one.bidders[1] is ex.bidders[1]
    with pytest.raises(RevisionError, match=f"bidder '{name}' node root"):
        narrowed.with_bounds(lower=lo, narrowing=True)
    wide = ex.upper.copy()
    k = int(np.flatnonzero(ex.lower != ex.upper)[0])
    wide[k] += 1
    with pytest.raises(RevisionError, match="upper bound rises"):
        ex.with_bounds(upper=wide, narrowing=True)
    bad = ex.lower.copy()
    bad[k] = ex.upper[k] + 1
    with pytest.raises(BidTreeError, match="lower value .* > upper value"):
        ex.with_bounds(lower=bad)
    with pytest.raises(ShapeError):
        ex.with_bounds(lower=lo[:-1])
    with pytest.raises(ShapeError):
        ex.with_bounds(lower={name: np.zeros(n0 + 1)})
    # a revised exact node is written as a pair
    t = BidTree.from_dict(leaf({"A": 1}, 3))
    assert t.with_bounds(np.array([2.0]), np.array([4.0])).to_dict()["value"] == [2, 4]


# --------------------------------------------------------------------------- hostile input
def test_cycles_depth_and_size_limits():
    from auctionlab.mechanisms.exchange.tbbl import MAX_TREE_DEPTH, MAX_TREE_NODES

    t = AND(leaf({"A": 1}, 1), leaf({"B": 1}, 1))
    t["children"].append(t)
    with pytest.raises(
        BidTreeError, match="node root/2: the tree contains a cycle: this node is its own ancestor root"
    ):
        BidTree.from_dict(t)
    deep = leaf({"A": 1})
    for _ in range(2000):
        deep = AND(deep)
    with pytest.raises(BidTreeError, match=f"deeper than {MAX_TREE_DEPTH} levels"):
        BidTree.from_dict(deep)
    shared = leaf({"A": 1})
    for _ in range(40):
        shared = AND(shared, shared)  # 2**41 nodes once the shared children are expanded
    with pytest.raises(BidTreeError, match=f"more than {MAX_TREE_NODES} nodes"):
        BidTree.from_dict(shared)


@pytest.mark.parametrize(
    "where, bad, words",
    [
        ("quantity", 2**63, "quantity of 'A' = 9223372036854775808 is too large (at most 1000000000 units)"),
        ("quantity", 1e300, "too large (at most 1000000000 units)"),
        ("quantity", 1 + 0j, "must be an integer, got (1+0j)"),
        ("endowment", 2**63, "endowment of 'A' = 9223372036854775808 is too large"),
        ("endowment", 1e300, "endowment of 'A' = 1e+300 is too large"),
        ("value", 1e20, "bidder 'b' node root/0: value 1e+20 is too large in magnitude (at most 1e+12)"),
        ("value", 2 + 1j, "value must be a number or a [lower, upper] pair, got (2+1j)"),
    ],
)
def test_huge_and_complex_numbers_are_rejected_by_name(where, bad, words):
    tree = OR(leaf({"A": 1}, bad if where == "value" else 1), leaf({"A": bad if where == "quantity" else 1}, 1))
    d = {"goods": ["A"], "bidders": {"b": {"endowment": {"A": bad if where == "endowment" else 1}, "tree": tree}}}
    with pytest.raises(BidTreeError) as exc:
        Exchange.from_dict(d)
    assert words in str(exc.value)


def test_json_entry_points_reject_non_text(tmp_path):
    with pytest.raises(BidTreeError, match="from_json needs JSON text \\(a str\\), got NoneType"):
        Exchange.from_json(None)
    p = tmp_path / "latin1.json"
    p.write_bytes('{"goods": ["\u00e9"]}'.encode("latin-1"))
    with pytest.raises(BidTreeError, match="latin1.json: not UTF-8 text \\(byte 12"):
        Exchange.load(p)


def test_save_is_atomic(tmp_path):
    ex = Exchange.from_dict(_base())
    target = tmp_path / "ex.json"
    ex.save(target)
    old = target.read_bytes()
    assert old.decode() == json.dumps(ex.to_dict(), indent=1) + "\n"  # same text as the standard library's
    with pytest.raises(BidTreeError, match="is a directory"):
        ex.save(tmp_path)
    with pytest.raises(BidTreeError, match="cannot write"):
        ex.save(tmp_path / "missing" / "ex.json")
    assert target.read_bytes() == old and sorted(p.name for p in tmp_path.iterdir()) == ["ex.json"]
