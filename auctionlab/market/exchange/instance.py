"""An exchange instance: goods, bidders with endowments and TBBL trees (SPEC B1-B2).

Plain-data format::

    {"goods": ["A", "B"],
     "bidders": {"seller": {"endowment": {"A": 1, "B": 1}, "tree": {...}},
                 "buyer":  {"tree": {...}}},
     "meta": {...}}            # optional, free-form, kept verbatim

``bidders`` may also be a list of ``{"name": ..., "endowment": ..., "tree": ...}`` (the
only way a duplicate name can be written in Python; JSON files are checked for duplicate
keys on load). Validation is all-or-nothing: :meth:`Exchange.from_dict` either returns a
complete exchange or raises one :class:`~auctionlab.errors.BidTreeError` listing every
problem, each naming the bidder and node path (``bidder 'b3' node root/1/0: ...``).

An :class:`Exchange` is immutable. The iterative exchange revises bounds with
:meth:`Exchange.with_bounds`, which shares all structure (trees, endowments, the flat
forest the MIP is built from) and only swaps the ``lower``/``upper`` arrays.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

from auctionlab.errors import BidTreeError, InvalidInputError, RevisionError, ShapeError
from auctionlab.market.exchange.tbbl import (
    BidTree,
    FlatTrees,
    ValuesArg,
    _parse_tree,
    _Problems,
    _readonly,
    as_int,
    duplicate_keys,
    resolve_values,
)

_TOP_KEYS = frozenset({"goods", "bidders", "meta"})
_BIDDER_KEYS = frozenset({"endowment", "tree"})
_BIDDER_LIST_KEYS = frozenset({"name", "endowment", "tree"})


@dataclass(frozen=True, eq=False)
class Bidder:
    """A bidder: name, endowment x0_i (units per good) and bid tree."""

    name: str
    endowment: np.ndarray
    tree: BidTree
    endowment_items: tuple[tuple[str, int], ...] | None = None  # as written, for to_dict

    def with_bounds(self, lower: np.ndarray | None = None, upper: np.ndarray | None = None) -> Bidder:
        return Bidder(self.name, self.endowment, self.tree.with_bounds(lower, upper), self.endowment_items)


class _DupDict(dict):
    """A JSON object that had repeated keys; validation reports them in context."""

    duplicates: list[str]


def _pairs_hook(pairs: list[tuple[str, Any]]) -> dict:
    d = _DupDict()
    dups: list[str] = []
    for k, v in pairs:
        if k in d:
            dups.append(k)
        d[k] = v
    if dups:
        d.duplicates = dups
        return d
    return dict(pairs)


@dataclass(frozen=True, eq=False)
class Exchange:
    """Goods, bidders (in order) and optional free-form ``meta``. Build with :meth:`from_dict`."""

    goods: tuple[str, ...]
    bidders: tuple[Bidder, ...]
    meta: Mapping[str, Any] | None = None
    form: str = "dict"  # how ``bidders`` was written ("dict" or "list")
    _flat: FlatTrees | None = field(default=None, repr=False)

    # ---- construction and validation
    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Exchange:
        """Validate and compile plain data (see module docstring); all-or-nothing."""
        probs = _Problems()
        if not isinstance(data, Mapping):
            raise BidTreeError(f"an exchange must be an object, got {type(data).__name__}")
        for k in duplicate_keys(data):
            probs.add("exchange", f"duplicate key {k!r}")
        unknown = sorted(str(k) for k in data if k not in _TOP_KEYS)
        if unknown:
            probs.add("exchange", f"unknown key(s) {', '.join(map(repr, unknown))}; allowed: {sorted(_TOP_KEYS)}")
        goods = cls._parse_goods(data.get("goods"), probs)
        gi = {g: j for j, g in enumerate(goods)} if goods is not None else None
        meta = data.get("meta")
        if meta is not None and not isinstance(meta, Mapping):
            probs.add("exchange", "'meta' must be an object")
        raw = data.get("bidders")
        entries: list[tuple[str, Any, Any, bool]] = []  # name, endowment, tree, has_endowment
        form = "dict"
        if isinstance(raw, Mapping):
            for k in duplicate_keys(raw):
                probs.add(f"bidder {k!r}", "duplicate bidder name")
            for name, spec in raw.items():
                where = f"bidder {name!r}"
                if not isinstance(spec, Mapping):
                    probs.add(where, f"a bidder must be an object, got {type(spec).__name__}")
                    continue
                cls._check_bidder_keys(spec, _BIDDER_KEYS, where, probs)
                entries.append((name, spec.get("endowment"), spec.get("tree"), "endowment" in spec))
        elif isinstance(raw, (list, tuple)):
            form = "list"
            for pos, spec in enumerate(raw):
                if not isinstance(spec, Mapping):
                    probs.add(f"bidder #{pos}", f"a bidder must be an object, got {type(spec).__name__}")
                    continue
                name = spec.get("name")
                where = f"bidder {name!r}" if isinstance(name, str) else f"bidder #{pos}"
                cls._check_bidder_keys(spec, _BIDDER_LIST_KEYS, where, probs)
                entries.append((name, spec.get("endowment"), spec.get("tree"), "endowment" in spec))
        else:
            probs.add("exchange", "'bidders' must be an object name -> bidder or a list of bidders")
        if not entries and isinstance(raw, (Mapping, list, tuple)):
            probs.add("exchange", "the exchange has no bidders")
        seen: set[str] = set()
        parsed = []
        for pos, (name, endow, tree, has_endow) in enumerate(entries):
            if not isinstance(name, str) or not name:
                probs.add(f"bidder #{pos}", f"a bidder name must be a non-empty string, got {name!r}")
                continue
            where = f"bidder {name!r}"
            if name in seen:
                probs.add(where, "duplicate bidder name")
                continue
            seen.add(name)
            if gi is None:
                continue  # goods unusable: tree problems would only repeat that
            x0, items = cls._parse_endowment(endow if has_endow else {}, gi, where, probs)
            recs = _parse_tree(tree, where, gi, probs)
            if x0 is not None:
                for r in recs:
                    for g, q in r.trade or ():
                        if q < 0 and -q > x0[gi[g]]:
                            probs.add(
                                f"{where} node {r.path}",
                                f"sells {-q} unit(s) of {g!r} but the endowment holds only {x0[gi[g]]}",
                            )
            parsed.append((name, x0, items if has_endow else None, recs))
        probs.raise_if_any("exchange")
        assert goods is not None
        bidders = tuple(
            Bidder(name, _readonly(x0), BidTree._compile(recs, goods), items) for name, x0, items, recs in parsed
        )
        return cls(goods=goods, bidders=bidders, meta=meta, form=form)

    @staticmethod
    def _check_bidder_keys(spec: Mapping, allowed: frozenset, where: str, probs: _Problems) -> None:
        for k in duplicate_keys(spec):
            probs.add(where, f"duplicate key {k!r}")
        unknown = sorted(str(k) for k in spec if k not in allowed)
        if unknown:
            probs.add(where, f"unknown key(s) {', '.join(map(repr, unknown))}; allowed: {sorted(allowed)}")
        if "tree" not in spec:
            probs.add(where, "missing 'tree'")

    @staticmethod
    def _parse_goods(goods: Any, probs: _Problems) -> tuple[str, ...] | None:
        if not isinstance(goods, (list, tuple)) or not goods:
            probs.add("exchange", f"'goods' must be a non-empty list of names, got {goods!r}")
            return None
        ok = True
        for g in goods:
            if not isinstance(g, str) or not g:
                probs.add("exchange", f"good names must be non-empty strings, got {g!r}")
                ok = False
        dups = sorted({g for g in goods if isinstance(g, str) and goods.count(g) > 1})
        if dups:
            probs.add("exchange", f"duplicate good(s) {', '.join(map(repr, dups))}")
            ok = False
        return tuple(goods) if ok else None

    @staticmethod
    def _parse_endowment(
        endow: Any, gi: Mapping[str, int], where: str, probs: _Problems
    ) -> tuple[np.ndarray | None, tuple[tuple[str, int], ...]]:
        x0 = np.zeros(len(gi), dtype=np.int64)
        if not isinstance(endow, Mapping):
            probs.add(where, f"'endowment' must be an object good -> units, got {type(endow).__name__}")
            return None, ()
        for k in duplicate_keys(endow):
            probs.add(where, f"duplicate good {k!r} in endowment")
        ok = True
        items = []
        for g, q in endow.items():
            if g not in gi:
                probs.add(where, f"endowment names unknown good {g!r}")
                ok = False
                continue
            qi = as_int(q)
            if qi is None or qi < 0:
                probs.add(where, f"endowment of {g!r} must be a non-negative integer, got {q!r}")
                ok = False
                continue
            x0[gi[g]] = qi
            items.append((g, qi))
        return (x0 if ok else None), tuple(items)

    # ---- plain data and files
    def to_dict(self, form: str | None = None) -> dict:
        """Plain data; ``from_dict(to_dict())`` reproduces this exchange exactly."""
        form = form or self.form
        if form not in ("dict", "list"):
            raise InvalidInputError(f"form must be 'dict' or 'list', got {form!r}")
        specs = []
        for b in self.bidders:
            spec: dict[str, Any] = {}
            if b.endowment_items is not None:
                spec["endowment"] = dict(b.endowment_items)
            spec["tree"] = b.tree.to_dict()
            specs.append(spec)
        out: dict[str, Any] = {"goods": list(self.goods)}
        if form == "dict":
            out["bidders"] = {b.name: s for b, s in zip(self.bidders, specs)}
        else:
            out["bidders"] = [{"name": b.name, **s} for b, s in zip(self.bidders, specs)]
        if self.meta is not None:
            out["meta"] = self.meta
        return out

    def to_json(self, **kwargs: Any) -> str:
        return json.dumps(self.to_dict(), allow_nan=False, **kwargs)

    @classmethod
    def from_json(cls, text: str) -> Exchange:
        try:
            data = json.loads(text, object_pairs_hook=_pairs_hook)
        except json.JSONDecodeError as e:
            raise BidTreeError(f"invalid JSON: {e}") from None
        return cls.from_dict(data)

    def save(self, path: str | os.PathLike) -> None:
        """Write JSON (floats round-trip exactly through ``repr``)."""
        with open(path, "w", encoding="utf-8") as f:
            json.dump(self.to_dict(), f, allow_nan=False, indent=1)
            f.write("\n")

    @classmethod
    def load(cls, path: str | os.PathLike) -> Exchange:
        """Read and validate a JSON file; duplicate keys (e.g. bidder names) are errors."""
        with open(path, encoding="utf-8") as f:
            text = f.read()
        try:
            data = json.loads(text, object_pairs_hook=_pairs_hook)
        except json.JSONDecodeError as e:
            raise BidTreeError(f"{os.fspath(path)}: invalid JSON: {e}") from None
        return cls.from_dict(data)

    # ---- structure
    @property
    def n_bidders(self) -> int:
        return len(self.bidders)

    @property
    def n_goods(self) -> int:
        return len(self.goods)

    @cached_property
    def names(self) -> tuple[str, ...]:
        return tuple(b.name for b in self.bidders)

    @cached_property
    def _index(self) -> dict[str, int]:
        return {b.name: i for i, b in enumerate(self.bidders)}

    def index(self, name: str) -> int:
        try:
            return self._index[name]
        except KeyError:
            raise InvalidInputError(f"no bidder named {name!r}") from None

    def bidder(self, name: str) -> Bidder:
        return self.bidders[self.index(name)]

    @cached_property
    def endowments(self) -> np.ndarray:
        """x0 as an (n_bidders, n_goods) integer matrix."""
        return _readonly(np.stack([b.endowment for b in self.bidders]).reshape(self.n_bidders, self.n_goods))

    @property
    def flat(self) -> FlatTrees:
        """All trees concatenated (global node ids), shared by every ``with_bounds`` copy."""
        if self._flat is None:
            object.__setattr__(self, "_flat", FlatTrees.from_trees([b.tree for b in self.bidders], self.n_goods))
        return self._flat  # type: ignore[return-value]

    @property
    def node_offset(self) -> np.ndarray:
        """Bidder i's nodes are global ids ``node_offset[i] : node_offset[i+1]``."""
        return self.flat.node_offset

    @property
    def n_nodes(self) -> int:
        return self.flat.n_nodes

    def node_id(self, name: str, path: str) -> int:
        """Global node id of bidder ``name``'s node at ``path``."""
        i = self.index(name)
        return int(self.node_offset[i]) + self.bidders[i].tree.node_id(path)

    @cached_property
    def lower(self) -> np.ndarray:
        """Lower node values of all bidders, concatenated (global node ids)."""
        return _readonly(np.concatenate([b.tree.lower for b in self.bidders]))

    @cached_property
    def upper(self) -> np.ndarray:
        return _readonly(np.concatenate([b.tree.upper for b in self.bidders]))

    def node_values(self, values: ValuesArg = "lower") -> np.ndarray:
        """All node values for ``values`` = "lower" | "upper" | α (α·lower + (1−α)·upper)."""
        return resolve_values(values, self.lower, self.upper)

    @property
    def is_exact(self) -> bool:
        return bool(np.array_equal(self.lower, self.upper))

    def same_structure(self, other: Exchange) -> bool:
        """Same goods, bidders, endowments and tree structure (bounds may differ)."""
        if self is other:
            return True
        return (
            self.goods == other.goods
            and self.names == other.names
            and np.array_equal(self.endowments, other.endowments)
            and all(a.tree.same_structure(b.tree) for a, b in zip(self.bidders, other.bidders))
        )

    # ---- bounds revision
    def with_bounds(
        self,
        lower: np.ndarray | Mapping[str, np.ndarray] | None = None,
        upper: np.ndarray | Mapping[str, np.ndarray] | None = None,
        *,
        narrowing: bool = False,
    ) -> Exchange:
        """A copy with new node bounds and the same structure.

        ``lower``/``upper`` are global arrays (length ``n_nodes``) or ``{name: array}``
        for some bidders. With ``narrowing=True`` a lower bound that falls or an upper
        bound that rises raises :class:`~auctionlab.errors.RevisionError` (SPEC B5).
        """
        lo_new = self._global_bounds(lower, self.lower, "lower")
        hi_new = self._global_bounds(upper, self.upper, "upper")
        if narrowing:
            for arr, old, cmp, word in ((lo_new, self.lower, np.less, "lower"), (hi_new, self.upper, np.greater, "upper")):
                bad = np.flatnonzero(cmp(arr, old))
                if bad.size:
                    g = int(bad[0])
                    i = int(np.searchsorted(self.node_offset, g, side="right") - 1)
                    path = self.bidders[i].tree.paths[g - int(self.node_offset[i])]
                    verb = "falls" if word == "lower" else "rises"
                    raise RevisionError(
                        f"bidder {self.bidders[i].name!r} node {path}: {word} bound {verb} from {float(old[g])} to {float(arr[g])}"
                    )
        new_bidders = []
        off = self.node_offset
        for i, b in enumerate(self.bidders):
            s = slice(int(off[i]), int(off[i + 1]))
            same_lo = lo_new is self.lower or np.array_equal(lo_new[s], b.tree.lower)
            same_hi = hi_new is self.upper or np.array_equal(hi_new[s], b.tree.upper)
            if same_lo and same_hi:
                new_bidders.append(b)
                continue
            try:
                new_bidders.append(b.with_bounds(None if same_lo else lo_new[s], None if same_hi else hi_new[s]))
            except BidTreeError as e:
                raise BidTreeError(f"bidder {b.name!r} {e}") from None
        return Exchange(self.goods, tuple(new_bidders), self.meta, self.form, self._flat)

    def _global_bounds(self, spec: Any, current: np.ndarray, word: str) -> np.ndarray:
        if spec is None:
            return current
        if isinstance(spec, Mapping):
            out = np.array(current, dtype=float)
            off = self.node_offset
            for name, arr in spec.items():
                i = self.index(name)
                a = np.asarray(arr, dtype=float)
                n_i = int(off[i + 1] - off[i])
                if a.shape != (n_i,):
                    raise ShapeError(f"bidder {name!r}: {word} bounds have shape {a.shape}, expected ({n_i},)")
                out[off[i] : off[i + 1]] = a
            return out
        a = np.asarray(spec, dtype=float)
        if a.shape != current.shape:
            raise ShapeError(f"{word} bounds have shape {a.shape}, expected {current.shape}")
        return a

    def __repr__(self) -> str:
        return f"Exchange(goods={len(self.goods)}, bidders={len(self.bidders)}, nodes={self.n_nodes})"


def check_same_bidders(a: Exchange, b: Exchange, what: str = "exchange") -> None:
    """Raise unless ``b`` has the same goods and bidder names (in order) as ``a``."""
    if a.goods != b.goods or a.names != b.names:
        raise InvalidInputError(f"{what} must have the same goods and bidders as the reported exchange")

