"""TBBL: the tree-based bidding language of ICE (the paper's §4.1).

A bid is a tree. Leaves carry a bundle trade ``q`` (units per good: positive = buy,
negative = sell); internal nodes carry an interval-choose operator IC(x, y); every node
carries a value that is exact or a ``[lower, upper]`` pair (default 0).

Plain-data format (files and the Python API)::

    leaf:     {"value": v | [lo, hi], "trade": {"A": 1, "B": -1}}
    internal: {"value": v | [lo, hi], "ic": [x, y], "children": [...]}

``AND``/``OR``/``XOR``/``IC``/``leaf`` build such dicts. :class:`BidTree` is the compiled
form: preorder node ids, parent index, IC arrays, a leaf-trade matrix and ``lower`` /
``upper`` float arrays. Structure and bounds are separate so that the iterative exchange
revises bounds per node id (:meth:`BidTree.with_bounds`) without rebuilding anything,
and node values for any α are ``α·lower + (1−α)·upper`` in one vectorised expression.

Semantics (eq. 4-6), kept literally:

* ``sat`` is valid for a trade λ iff ``Σ_leaves q_β·sat_β ≤ λ`` for every good (4) and
  ``x·sat_β ≤ Σ_children sat ≤ y·sat_β`` at every internal node (5).
* ``v(λ) = max over valid sat of Σ v_β·sat_β`` (6); −inf when no valid sat exists.

Quantities are integers (an integral float such as ``1.0`` is accepted and stored as 1).

Size limits, so that a malformed or hostile tree fails with a message instead of
exhausting memory: at most :data:`MAX_TREE_NODES` nodes and :data:`MAX_TREE_DEPTH` levels
per tree, quantities of at most :data:`MAX_UNITS` units, node values of magnitude at most
:data:`MAX_NODE_VALUE` (larger values are beyond what the MIP solver's tolerances can
resolve). A tree that contains itself (a cycle) is rejected.
The canonical plain form (what ``to_dict`` writes) uses lists for ``ic`` and intervals;
a value omitted on input stays omitted.

(4) makes every valuation monotone in λ (receiving more, or selling less, never hurts):
a sell leaf may be satisfied without selling, and a good the tree never mentions can be
received (disposed of) but never sold.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from numbers import Integral, Real
from typing import Any, SupportsInt, cast

import numpy as np

from auctionlab.errors import BidTreeError, ConfigError, ShapeError

ValueSpec = float | int | Sequence[float]
"""A node value in plain data: a number (exact) or a ``[lower, upper]`` pair."""

ValuesArg = str | float | int | np.ndarray
"""Which node values to use: ``"lower"``, ``"upper"``, an α in [0, 1] or an explicit array."""

Children = dict | list[dict] | tuple[dict, ...]
"""The children of a node built in code: node dicts, or one list (tuple) of them."""

_LEAF_KEYS = frozenset({"value", "trade"})
_INTERNAL_KEYS = frozenset({"value", "ic", "children"})

MAX_TREE_NODES = 100_000
"""Most nodes one bid tree may have."""
MAX_TREE_DEPTH = 256
"""Deepest nesting of one bid tree (the root is level 0)."""
MAX_UNITS = 10**9
"""Largest number of units of a good one leaf may trade (or an endowment may hold)."""
MAX_NODE_VALUE = 1e12
"""Largest magnitude of a node value (or bound): beyond it the solver cannot tell values apart."""

# How a node's value was written, so that ``to_dict`` reproduces the input exactly.
FORM_OMITTED, FORM_SCALAR, FORM_PAIR = 0, 1, 2


# --------------------------------------------------------------------------- builders
def _value_data(value: ValueSpec) -> Any:
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_plain_number(v) for v in value]
    return _plain_number(value)


def _plain_number(x: Any) -> Any:
    if isinstance(x, (bool, np.bool_)):
        return x  # left for validation to reject
    if isinstance(x, Integral):
        return int(x)
    if isinstance(x, Real):
        return float(x)
    return x


def _children_list(children: tuple) -> list:
    if len(children) == 1 and isinstance(children[0], (list, tuple)):
        return list(children[0])
    return list(children)


def leaf(trade: Mapping[str, int], value: ValueSpec = 0) -> dict:
    """A leaf node trading ``trade`` (good -> units; negative = sell) with ``value``."""
    return {"value": _value_data(value), "trade": {str(g): _plain_number(q) for g, q in trade.items()}}


def IC(x: int, y: int, *children: Children, value: ValueSpec = 0) -> dict:
    """An interval-choose node: when satisfied, between ``x`` and ``y`` children are."""
    return {"value": _value_data(value), "ic": [x, y], "children": _children_list(children)}


def AND(*children: Children, value: ValueSpec = 0) -> dict:
    """IC(k, k): all children or none."""
    kids = _children_list(children)
    return IC(len(kids), len(kids), kids, value=value)


def OR(*children: Children, value: ValueSpec = 0) -> dict:
    """IC(1, k): any non-empty subset of the children."""
    kids = _children_list(children)
    return IC(1, len(kids), kids, value=value)


def XOR(*children: Children, value: ValueSpec = 0) -> dict:
    """IC(1, 1): exactly one child."""
    kids = _children_list(children)
    return IC(1, 1, kids, value=value)


# --------------------------------------------------------------------------- validation
_SHOWN = 25  # problems spelled out in a message (all of them are in ``err.errors``)


class _Problems:
    """Collects validation messages so one load reports every problem at once."""

    def __init__(self) -> None:
        self.messages: list[str] = []

    def add(self, where: str, msg: str) -> None:
        self.messages.append(f"{where}: {msg}" if where else msg)

    def raise_if_any(self, what: str) -> None:
        if not self.messages:
            return
        if len(self.messages) == 1:
            text = self.messages[0]
        else:
            shown = self.messages[:_SHOWN]
            more = f"\n  ... and {len(self.messages) - _SHOWN} more" if len(self.messages) > _SHOWN else ""
            text = f"{len(self.messages)} problems in {what}:\n  - " + "\n  - ".join(shown) + more
        err = BidTreeError(text)
        err.errors = list(self.messages)  # type: ignore[attr-defined]
        raise err


def duplicate_keys(obj: Any) -> list[str]:
    """Keys that appeared more than once in a JSON object (see ``load``), else []."""
    return list(getattr(obj, "duplicates", ()))


def is_number(x: Any) -> bool:
    return isinstance(x, Real) and not isinstance(x, (bool, np.bool_))


def as_int(x: Any) -> int | None:
    """``x`` as an int if it is an integer number (an integral float counts), else None."""
    if isinstance(x, (bool, np.bool_)):
        return None
    if isinstance(x, Integral):
        return int(x)
    if isinstance(x, Real) and math.isfinite(float(x)) and float(x).is_integer():
        return int(cast(SupportsInt, x))  # every concrete Real has __int__; the stubs' Real does not
    return None


def _as_float(x: Any) -> float:
    """A real number as a float (an int too large for a float becomes inf)."""
    try:
        return float(x)
    except OverflowError:
        return math.inf if x > 0 else -math.inf


def check_units(q: Any, what: str) -> int | None:
    """``q`` as an int if it is an integer number of at most :data:`MAX_UNITS` in magnitude;
    otherwise None, or raise BidTreeError naming ``what`` when it is too large."""
    if isinstance(q, Real) and not isinstance(q, (bool, np.bool_)) and abs(_as_float(q)) > MAX_UNITS:
        raise BidTreeError(f"{what} = {q!r} is too large (at most {MAX_UNITS} units)")
    return as_int(q)


def _parse_value(node: Mapping, where: str, probs: _Problems) -> tuple[float, float, int]:
    if "value" not in node:
        return 0.0, 0.0, FORM_OMITTED
    v = node["value"]
    if is_number(v):
        f = _as_float(v)
        if not math.isfinite(f):
            probs.add(where, f"value {v!r} is not finite")
            return 0.0, 0.0, FORM_SCALAR
        if abs(f) > MAX_NODE_VALUE:
            probs.add(where, f"value {v!r} is too large in magnitude (at most {MAX_NODE_VALUE:g})")
            return 0.0, 0.0, FORM_SCALAR
        return f, f, FORM_SCALAR
    if isinstance(v, (list, tuple)) and len(v) == 2 and all(is_number(b) for b in v):
        lo, hi = _as_float(v[0]), _as_float(v[1])
        if not (math.isfinite(lo) and math.isfinite(hi)):
            probs.add(where, f"value bounds {list(v)!r} are not finite")
        elif max(abs(lo), abs(hi)) > MAX_NODE_VALUE:
            probs.add(where, f"value bounds {list(v)!r} are too large in magnitude (at most {MAX_NODE_VALUE:g})")
            return 0.0, 0.0, FORM_PAIR
        elif lo > hi:
            probs.add(where, f"lower value {lo!r} > upper value {hi!r}")
        return lo, hi, FORM_PAIR
    probs.add(where, f"value must be a number or a [lower, upper] pair, got {v!r}")
    return 0.0, 0.0, FORM_SCALAR


@dataclass
class _Rec:
    """One parsed node (preorder), before compilation into arrays."""

    path: str
    parent: int
    lower: float
    upper: float
    form: int
    ic: tuple[int, int] | None = None
    n_children: int = 0
    trade: tuple[tuple[str, int], ...] | None = None


def _parse_tree(tree: Any, where: str, goods_index: Mapping[str, int] | None, probs: _Problems) -> list[_Rec]:
    """Preorder records of ``tree``; problems go to ``probs`` (prefixed by ``where``).

    Iterative, so deep trees do not hit the recursion limit. With ``goods_index`` None
    any good name is accepted (a standalone tree defines its own goods).
    """
    prefix = f"{where} " if where else ""
    if tree is None or (isinstance(tree, Mapping) and len(tree) == 0):
        probs.add(where, "empty tree")
        return []
    recs: list[_Rec] = []
    # Depth-first with explicit exit markers: ``active`` holds the nodes whose subtree is
    # being read, so a node met again inside its own subtree is a cycle, not a repeat.
    stack: list[tuple[Any, str, int, int]] = [(tree, "root", -1, 0)]
    active: dict[int, str] = {}
    while stack:
        node, path, parent, depth = stack.pop()
        if node is _EXIT:
            del active[parent]
            continue
        loc = f"{prefix}node {path}"
        if len(recs) >= MAX_TREE_NODES:
            probs.add(where, f"the tree has more than {MAX_TREE_NODES} nodes (the limit per tree)")
            break
        if depth > MAX_TREE_DEPTH:
            short = path if len(path) <= 40 else path[:40] + "..."
            probs.add(f"{prefix}node {short}", f"the tree is nested deeper than {MAX_TREE_DEPTH} levels (the limit)")
            break
        if id(node) in active:
            probs.add(loc, f"the tree contains a cycle: this node is its own ancestor {active[id(node)]}")
            break
        idx = len(recs)
        if not isinstance(node, Mapping):
            probs.add(loc, f"a node must be an object, got {type(node).__name__}")
            recs.append(_Rec(path, parent, 0.0, 0.0, FORM_OMITTED))
            continue
        for key in duplicate_keys(node):
            probs.add(loc, f"duplicate key {key!r}")
        lo, hi, form = _parse_value(node, loc, probs)
        rec = _Rec(path, parent, lo, hi, form)
        recs.append(rec)
        has_trade, has_children = "trade" in node, "children" in node
        if has_trade and has_children:
            probs.add(loc, "a node has either 'trade' (leaf) or 'children' (internal), not both")
            continue
        if not has_trade and not has_children:
            probs.add(loc, "a node needs 'trade' (leaf) or 'children' and 'ic' (internal node)")
            continue
        allowed = _LEAF_KEYS if has_trade else _INTERNAL_KEYS
        unknown = sorted(str(k) for k in node if k not in allowed)
        if unknown:
            probs.add(loc, f"unknown key(s) {', '.join(map(repr, unknown))}; allowed: {sorted(allowed)}")
        if has_trade:
            trade = node["trade"]
            if not isinstance(trade, Mapping):
                probs.add(loc, f"'trade' must be an object good -> units, got {type(trade).__name__}")
                continue
            for key in duplicate_keys(trade):
                probs.add(loc, f"duplicate good {key!r} in trade")
            items: list[tuple[str, int]] = []
            for g, q in trade.items():
                if not isinstance(g, str):
                    probs.add(loc, f"good names must be strings, got {g!r}")
                    continue
                if goods_index is not None and g not in goods_index:
                    probs.add(loc, f"unknown good {g!r} (goods: {', '.join(goods_index)})")
                    continue
                try:
                    qi = check_units(q, f"quantity of {g!r}")
                except BidTreeError as exc:
                    probs.add(loc, str(exc))
                    continue
                if qi is None:
                    probs.add(loc, f"quantity of {g!r} must be an integer, got {q!r}")
                    continue
                items.append((g, qi))
            rec.trade = tuple(items)
            continue
        children = node["children"]
        if not isinstance(children, (list, tuple)):
            probs.add(loc, f"'children' must be a list, got {type(children).__name__}")
            continue
        if len(children) == 0:
            probs.add(loc, "internal node has no children")
            continue
        k = len(children)
        rec.n_children = k
        if "ic" not in node:
            probs.add(loc, "internal node needs 'ic': [x, y]")
        else:
            ic = node["ic"]
            x, y = (as_int(ic[0]), as_int(ic[1])) if isinstance(ic, (list, tuple)) and len(ic) == 2 else (None, None)
            if x is None or y is None or any(isinstance(v, bool) for v in ic):
                probs.add(loc, f"'ic' must be a pair [x, y] of integers, got {ic!r}")
            else:
                if x < 0 or y < 0:
                    probs.add(loc, f"IC({x}, {y}) has a negative bound")
                elif x > y:
                    probs.add(loc, f"IC({x}, {y}) has x > y")
                elif y > k:
                    probs.add(loc, f"IC({x}, {y}) but the node has only {k} children")
                else:
                    rec.ic = (x, y)
        active[id(node)] = path
        stack.append((_EXIT, "", id(node), depth))
        for c in range(k - 1, -1, -1):
            stack.append((children[c], f"{path}/{c}", idx, depth + 1))
    return recs


_EXIT = object()  # stack marker: the subtree of the node whose id follows is done


# --------------------------------------------------------------------------- compiled tree
def _real_array(x: Any, what: str) -> np.ndarray:
    """``x`` as a new float array; complex, strings and objects are rejected (not cast)."""
    try:
        a = np.array(x)
    except (TypeError, ValueError) as exc:
        raise BidTreeError(f"{what} must be an array of real numbers: {exc}") from None
    if a.dtype != np.float64:
        if a.dtype.kind not in "iuf":
            raise BidTreeError(f"{what} must be real numbers, got an array of {a.dtype}")
        a = a.astype(float)
    return a


def _readonly(a: np.ndarray) -> np.ndarray:
    a.flags.writeable = False
    return a


def resolve_values(values: ValuesArg, lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
    """Node values for ``values`` = "lower" | "upper" | α | explicit array (checked)."""
    if isinstance(values, str):
        if values == "lower":
            return lower
        if values == "upper":
            return upper
        raise ConfigError(f"values must be 'lower', 'upper', an alpha in [0, 1] or an array, got {values!r}")
    if isinstance(values, np.ndarray):
        if values.shape != lower.shape:
            raise ShapeError(f"node values have shape {values.shape}, expected {lower.shape}")
        if values.dtype.kind not in "iuf":
            raise ConfigError(f"node values must be a real array, got dtype {values.dtype}")
        if not np.all(np.isfinite(values)):
            raise ConfigError("node values must be finite")
        if values.size and np.max(np.abs(values)) > MAX_NODE_VALUE:
            k = int(np.argmax(np.abs(values)))
            raise ConfigError(
                f"node value [{k}] = {float(values[k])!r} is too large in magnitude (at most {MAX_NODE_VALUE:g})"
            )
        return values.astype(float, copy=False)
    if is_number(values):
        a = float(values)
        if not (0.0 <= a <= 1.0):
            raise ConfigError(f"alpha must lie in [0, 1], got {values!r}")
        if a == 1.0:
            return lower
        if a == 0.0:
            return upper
        return a * lower + (1.0 - a) * upper
    raise ConfigError(f"values must be 'lower', 'upper', an alpha in [0, 1] or an array, got {values!r}")


def _out_number(x: float) -> int | float:
    """Integral floats are written as ints: readable files, equal values."""
    return int(x) if float(x).is_integer() and abs(x) < 2**53 else float(x)


@dataclass(frozen=True, eq=False)
class BidTree:
    """A compiled bid tree: flat preorder arrays plus per-node ``lower``/``upper`` values.

    Node ``k``'s subtree is the preorder range ``[k, end[k])``; leaves have ``ic`` 0 and a
    row of ``trade`` (indexed by ``goods``); internal nodes have a zero ``trade`` row.
    Arrays are read-only and shared between copies made by :meth:`with_bounds`.
    """

    goods: tuple[str, ...]
    paths: tuple[str, ...]
    parent: np.ndarray
    is_leaf: np.ndarray
    ic_x: np.ndarray
    ic_y: np.ndarray
    n_children: np.ndarray
    end: np.ndarray
    trade: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    value_form: np.ndarray
    trade_items: tuple[tuple[tuple[str, int], ...] | None, ...]

    # ---- construction
    @classmethod
    def from_dict(cls, node: Mapping, goods: Sequence[str] | None = None) -> BidTree:
        """Validate and compile a plain-data tree (goods default to those its leaves name)."""
        probs = _Problems()
        gi = None if goods is None else {g: j for j, g in enumerate(goods)}
        recs = _parse_tree(node, "", gi, probs)
        probs.raise_if_any("bid tree")
        if goods is None:
            seen: dict[str, None] = {}
            for r in recs:
                for g, _ in r.trade or ():
                    seen.setdefault(g, None)
            goods = tuple(seen)
        return cls._compile(recs, tuple(goods))

    @classmethod
    def _compile(cls, recs: list[_Rec], goods: tuple[str, ...]) -> BidTree:
        n, m = len(recs), len(goods)
        gi = {g: j for j, g in enumerate(goods)}
        parent = np.fromiter((r.parent for r in recs), dtype=np.int64, count=n)
        is_leaf = np.fromiter((r.trade is not None for r in recs), dtype=bool, count=n)
        ic_x = np.fromiter((r.ic[0] if r.ic else 0 for r in recs), dtype=np.int64, count=n)
        ic_y = np.fromiter((r.ic[1] if r.ic else 0 for r in recs), dtype=np.int64, count=n)
        nch = np.fromiter((r.n_children for r in recs), dtype=np.int64, count=n)
        lower = np.fromiter((r.lower for r in recs), dtype=float, count=n)
        upper = np.fromiter((r.upper for r in recs), dtype=float, count=n)
        form = np.fromiter((r.form for r in recs), dtype=np.int8, count=n)
        trade = np.zeros((n, m), dtype=np.int64)
        for k, r in enumerate(recs):
            for g, q in r.trade or ():
                trade[k, gi[g]] += q
        size = np.ones(n, dtype=np.int64)
        for k in range(n - 1, 0, -1):  # preorder: children come after parents
            size[parent[k]] += size[k]
        end = np.arange(n, dtype=np.int64) + size
        return cls(
            goods=goods,
            paths=tuple(r.path for r in recs),
            parent=_readonly(parent),
            is_leaf=_readonly(is_leaf),
            ic_x=_readonly(ic_x),
            ic_y=_readonly(ic_y),
            n_children=_readonly(nch),
            end=_readonly(end),
            trade=_readonly(trade),
            lower=_readonly(lower),
            upper=_readonly(upper),
            value_form=_readonly(form),
            trade_items=tuple(r.trade for r in recs),
        )

    # ---- queries
    @property
    def n_nodes(self) -> int:
        return len(self.paths)

    @cached_property
    def leaves(self) -> np.ndarray:
        return _readonly(np.flatnonzero(self.is_leaf))

    @cached_property
    def _path_index(self) -> dict[str, int]:
        return {p: k for k, p in enumerate(self.paths)}

    def node_id(self, path: str) -> int:
        """Preorder id of the node at ``path`` (e.g. ``"root/1/0"``)."""
        try:
            return self._path_index[path]
        except KeyError:
            raise BidTreeError(f"no node {path!r} in the tree") from None

    def children(self, k: int) -> np.ndarray:
        return np.flatnonzero(self.parent == k)

    def values(self, values: ValuesArg = "lower") -> np.ndarray:
        """Node values: ``"lower"``, ``"upper"`` or α·lower + (1−α)·upper."""
        return resolve_values(values, self.lower, self.upper)

    @property
    def is_exact(self) -> bool:
        return bool(np.array_equal(self.lower, self.upper))

    def same_structure(self, other: BidTree) -> bool:
        """Same nodes, operators and trades (bounds may differ)."""
        if self is other:
            return True
        return (
            self.goods == other.goods
            and self.paths == other.paths
            and np.array_equal(self.parent, other.parent)
            and np.array_equal(self.is_leaf, other.is_leaf)
            and np.array_equal(self.ic_x, other.ic_x)
            and np.array_equal(self.ic_y, other.ic_y)
            and np.array_equal(self.trade, other.trade)
        )

    # ---- bounds revision
    def with_bounds(self, lower: np.ndarray | None = None, upper: np.ndarray | None = None) -> BidTree:
        """A copy with new node bounds; the structure arrays are shared, not copied."""
        lo = self.lower if lower is None else _real_array(lower, "lower bounds")
        hi = self.upper if upper is None else _real_array(upper, "upper bounds")
        for name, a in (("lower", lo), ("upper", hi)):
            if a.shape != (self.n_nodes,):
                raise ShapeError(f"{name} bounds have shape {a.shape}, expected ({self.n_nodes},)")
            if not np.all(np.isfinite(a)):
                bad = int(np.flatnonzero(~np.isfinite(a))[0])
                raise BidTreeError(f"node {self.paths[bad]}: {name} bound {float(a[bad])} is not finite")
            if a.size and np.max(np.abs(a)) > MAX_NODE_VALUE:
                bad = int(np.argmax(np.abs(a)))
                raise BidTreeError(
                    f"node {self.paths[bad]}: {name} bound {float(a[bad])!r} is too large in "
                    f"magnitude (at most {MAX_NODE_VALUE:g})"
                )
        bad_nodes = np.flatnonzero(lo > hi)
        if bad_nodes.size:
            k = int(bad_nodes[0])
            raise BidTreeError(f"node {self.paths[k]}: lower value {float(lo[k])} > upper value {float(hi[k])}")
        if lo is not self.lower:
            lo = _readonly(lo)
        if hi is not self.upper:
            hi = _readonly(hi)
        return dataclasses.replace(self, lower=lo, upper=hi)

    # ---- plain data
    def to_dict(self) -> dict:
        """The plain-data tree; reproduces the input of :meth:`from_dict` exactly."""
        n = self.n_nodes
        out: list[dict] = [None] * n  # type: ignore[list-item]
        for k in range(n):
            d: dict[str, Any] = {}
            lo, hi, form = self.lower[k], self.upper[k], self.value_form[k]
            if lo != hi or form == FORM_PAIR:
                d["value"] = [_out_number(lo), _out_number(hi)]
            elif form == FORM_SCALAR or lo != 0.0:
                d["value"] = _out_number(lo)
            if self.is_leaf[k]:
                d["trade"] = dict(self.trade_items[k] or ())
            else:
                d["ic"] = [int(self.ic_x[k]), int(self.ic_y[k])]
                d["children"] = []
            out[k] = d
            p = self.parent[k]
            if p >= 0:
                out[p]["children"].append(d)
        return out[0]


# --------------------------------------------------------------------------- flat forest
@dataclass(frozen=True, eq=False)
class FlatTrees:
    """Several bidders' trees concatenated: global node ids ``node_offset[i] + k``.

    This is what the MIP builder consumes; everything is vectorised over all nodes.
    """

    n_goods: int
    node_offset: np.ndarray
    node_bidder: np.ndarray
    parent: np.ndarray  # global ids, -1 for roots
    is_leaf: np.ndarray
    ic_x: np.ndarray
    ic_y: np.ndarray
    n_children: np.ndarray
    trade: np.ndarray  # (N, m)

    @property
    def n_bidders(self) -> int:
        return len(self.node_offset) - 1

    @property
    def n_nodes(self) -> int:
        return int(self.node_offset[-1])

    @classmethod
    def from_trees(cls, trees: Sequence[BidTree], n_goods: int) -> FlatTrees:
        sizes = np.array([t.n_nodes for t in trees], dtype=np.int64)
        off = np.zeros(len(trees) + 1, dtype=np.int64)
        np.cumsum(sizes, out=off[1:])
        if trees:
            parent = np.concatenate([np.where(t.parent >= 0, t.parent + o, -1) for t, o in zip(trees, off)])
            cat = lambda name: np.concatenate([getattr(t, name) for t in trees])  # noqa: E731
            trade = np.concatenate([t.trade for t in trees]).reshape(-1, n_goods)
            is_leaf, ic_x, ic_y, nch = cat("is_leaf"), cat("ic_x"), cat("ic_y"), cat("n_children")
        else:
            parent = np.zeros(0, np.int64)
            is_leaf = np.zeros(0, bool)
            ic_x = ic_y = nch = np.zeros(0, np.int64)
            trade = np.zeros((0, n_goods), np.int64)
        return cls(
            n_goods=n_goods,
            node_offset=_readonly(off),
            node_bidder=_readonly(np.repeat(np.arange(len(trees), dtype=np.int64), sizes)),
            parent=_readonly(parent),
            is_leaf=_readonly(is_leaf),
            ic_x=_readonly(ic_x),
            ic_y=_readonly(ic_y),
            n_children=_readonly(nch),
            trade=_readonly(trade),
        )


# --------------------------------------------------------------------------- value
def _trade_vector(trade: Any, goods: tuple[str, ...]) -> np.ndarray | None:
    """λ over ``goods``; None if it sells a good the tree cannot sell (value −inf)."""
    if isinstance(trade, Mapping):
        lam = np.zeros(len(goods), dtype=np.int64)
        gi = {g: j for j, g in enumerate(goods)}
        for g, q in trade.items():
            qi = check_units(q, f"trade quantity of {g!r}")
            if qi is None:
                raise BidTreeError(f"trade quantity of {g!r} must be an integer, got {q!r}")
            if g in gi:
                lam[gi[g]] = qi
            elif qi < 0:
                return None  # (4) with no leaf on g: λ_g ≥ 0
        return lam
    arr = np.asarray(trade)
    if arr.shape != (len(goods),):
        raise ShapeError(f"trade vector has shape {arr.shape}, expected ({len(goods)},)")
    if arr.dtype.kind not in "iuf":
        raise BidTreeError(f"trade quantities must be integers, got an array of {arr.dtype}")
    if not np.all(np.isfinite(arr)) or not np.all(arr == np.round(arr)):
        raise BidTreeError("trade quantities must be integers")
    if arr.size and np.max(np.abs(arr)) > MAX_UNITS:
        raise BidTreeError(f"trade quantities must be at most {MAX_UNITS} units in magnitude")
    return arr.astype(np.int64)


def value(tree: Any, trade: Mapping[str, int] | np.ndarray, values: ValuesArg = "lower") -> float:
    """One bidder's value for a trade, eq. (6): max over valid sat of Σ v_β·sat_β.

    ``tree`` is a :class:`BidTree`, a bidder (anything with a ``.tree``) or a plain-data
    tree; ``trade`` maps goods to units (or is a vector over ``tree.goods``). Returns
    ``-inf`` when no valid sat exists (the trade is not acceptable to the bidder).
    Solved as a small MIP over the satisfaction variables, never by enumeration.
    """
    if isinstance(tree, Mapping):
        tree = BidTree.from_dict(tree)
    elif not isinstance(tree, BidTree) and isinstance(getattr(tree, "tree", None), BidTree):
        tree = tree.tree
    if not isinstance(tree, BidTree):
        raise BidTreeError(f"value() needs a BidTree, a bidder or a plain-data tree, got {type(tree).__name__}")
    lam = _trade_vector(trade, tree.goods)
    if lam is None:
        return -math.inf
    from auctionlab.mechanisms.exchange.mip import tree_value  # local: mip imports this module

    return tree_value(tree, lam, tree.values(values))
