"""An exchange instance: goods, bidders with endowments and TBBL trees.

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

Files: reading and writing JSON never recurse (a deeply nested file gives a clear
:class:`~auctionlab.errors.BidTreeError` from validation, not a ``RecursionError``), and
:meth:`Exchange.save` is atomic: the new text goes to a temporary file in the same
directory, is flushed to disk and then renamed over the target, so a save that fails
leaves an existing file exactly as it was.
"""

from __future__ import annotations

import json
import json.decoder
import math
import os
import re
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, cast

import numpy as np

from auctionlab.errors import BidTreeError, InternalError, InvalidInputError, RevisionError, ShapeError
from auctionlab.mechanisms.exchange.tbbl import (
    BidTree,
    FlatTrees,
    ValuesArg,
    _parse_tree,
    _Problems,
    _readonly,
    _real_array,
    check_units,
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


# --------------------------------------------------------------------------- JSON without recursion
_WS = re.compile(r"[ \t\n\r]*")
_NUMBER = re.compile(r"(-?(?:0|[1-9]\d*))(\.\d+)?([eE][-+]?\d+)?")
_LITERALS = (
    ("null", None),
    ("true", True),
    ("false", False),
    ("NaN", math.nan),
    ("Infinity", math.inf),
    ("-Infinity", -math.inf),
)
_END = object()


def _loads_iterative(s: str, pairs_hook: Any) -> Any:
    """``json.loads(s, object_pairs_hook=pairs_hook)`` with an explicit stack (any depth)."""
    scan: Callable[[str, int], tuple[str, int]] = json.decoder.scanstring  # type: ignore[attr-defined]  # not in the stubs
    ws = cast(Callable[[str, int], re.Match[str]], _WS.match)  # never None: the pattern matches ""
    err = json.JSONDecodeError

    def key_at(i: int) -> tuple[str, int]:
        if not s.startswith('"', i):
            raise err("Expecting property name enclosed in double quotes", s, i)
        key, i = scan(s, i + 1)
        i = ws(s, i).end()
        if not s.startswith(":", i):
            raise err("Expecting ':' delimiter", s, i)
        return key, ws(s, i + 1).end()

    stack: list[list[Any]] = []  # [is_object, items, pending key]
    i = ws(s, 0).end()
    while True:
        c = s[i : i + 1]
        if c == "{":
            i = ws(s, i + 1).end()
            if s.startswith("}", i):
                val, i = pairs_hook([]), i + 1
            else:
                key, i = key_at(i)
                stack.append([True, [], key])
                continue
        elif c == "[":
            i = ws(s, i + 1).end()
            if s.startswith("]", i):
                val, i = [], i + 1
            else:
                stack.append([False, [], None])
                continue
        elif c == '"':
            val, i = scan(s, i + 1)
        else:
            for word, lit in _LITERALS:
                if s.startswith(word, i):
                    val, i = lit, i + len(word)
                    break
            else:
                m = _NUMBER.match(s, i)
                if m is None:
                    raise err("Expecting value", s, i)
                integer, frac, exp = m.groups()
                val = float(integer + (frac or "") + (exp or "")) if frac or exp else int(integer)
                i = m.end()
        while True:  # attach the value; close every container it completes
            if not stack:
                i = ws(s, i).end()
                if i != len(s):
                    raise err("Extra data", s, i)
                return val
            top = stack[-1]
            top[1].append((top[2], val) if top[0] else val)
            i = ws(s, i).end()
            c = s[i : i + 1]
            if c == ",":
                i = ws(s, i + 1).end()
                if top[0]:
                    top[2], i = key_at(i)
                break
            if c == ("}" if top[0] else "]"):
                stack.pop()
                val, i = (pairs_hook(top[1]) if top[0] else top[1]), i + 1
                continue
            raise err("Expecting ',' delimiter", s, i)


def _read_json(text: str, where: str) -> Any:
    """Parse JSON text (duplicate keys kept for validation); errors become BidTreeError."""
    try:
        try:
            return json.loads(text, object_pairs_hook=_pairs_hook)
        except RecursionError:  # deeper than the C parser goes: same grammar, explicit stack
            return _loads_iterative(text, _pairs_hook)
    except json.JSONDecodeError as e:
        raise BidTreeError(f"{where}invalid JSON: {e}") from None
    except ValueError as e:  # e.g. an integer with more digits than Python converts
        raise BidTreeError(f"{where}invalid JSON: {e}") from None


def _json_key(k: Any) -> str:
    if isinstance(k, str):
        return k
    if k is True or k is False or k is None:
        return json.dumps(k)
    if isinstance(k, (int, float)) and not isinstance(k, bool):
        return _json_scalar(k)
    raise BidTreeError(f"cannot write a key of type {type(k).__name__} as JSON: {k!r}")


def _json_scalar(x: Any) -> str:
    if isinstance(x, str):
        return json.encoder.encode_basestring_ascii(x)
    if x is None:
        return "null"
    if x is True:
        return "true"
    if x is False:
        return "false"
    if isinstance(x, int):
        return int.__repr__(x)
    if isinstance(x, float):
        if not math.isfinite(x):
            raise BidTreeError(f"cannot write the non-finite number {x!r} as JSON")
        return float.__repr__(x)
    raise BidTreeError(f"cannot write a value of type {type(x).__name__} as JSON: {x!r}")


def dumps_json(obj: Any, indent: int | None = None, separators: tuple[str, str] | None = None) -> str:
    """``json.dumps(obj, allow_nan=False, indent=..., separators=...)`` without recursion
    (same text), so a deep tree or ``meta`` never hits the recursion limit; a cycle is an error."""
    if separators is None:
        separators = (", ", ": ") if indent is None else (",", ": ")
    item_sep, key_sep = separators
    parts: list[str] = []
    stack: list[list[Any]] = []  # [iterator, is_dict, id, first]
    active: set[int] = set()
    value = obj
    while True:
        if isinstance(value, (dict, list, tuple)):
            is_dict = isinstance(value, dict)
            if not value:
                parts.append("{}" if is_dict else "[]")
            else:
                if id(value) in active:
                    raise BidTreeError("cannot write JSON: the data contains a cycle (a container inside itself)")
                active.add(id(value))
                parts.append("{" if is_dict else "[")
                stack.append(
                    [iter(value.items()) if isinstance(value, dict) else iter(value), is_dict, id(value), True]
                )
        else:
            parts.append(_json_scalar(value))
        while stack:
            top = stack[-1]
            nxt: Any = next(top[0], _END)
            level = len(stack)
            if nxt is _END:
                stack.pop()
                active.discard(top[2])
                close = "}" if top[1] else "]"
                parts.append(close if indent is None else "\n" + " " * (indent * (level - 1)) + close)
                continue
            if not top[3]:
                parts.append(item_sep)
            top[3] = False
            if indent is not None:
                parts.append("\n" + " " * (indent * level))
            if top[1]:
                k, value = nxt
                parts.append(_json_scalar(_json_key(k)) + key_sep)
            else:
                value = nxt
            break
        else:
            return "".join(parts)


def _check_meta(meta: Any, probs: _Problems) -> None:
    """``meta`` must be plain JSON data (string keys, finite numbers, no cycles)."""
    trail: list[tuple[int, Any]] = []  # (parent entry, key): a path is rebuilt only for a message

    def where(entry: int) -> str:
        keys = []
        while entry >= 0:
            entry, k = trail[entry]
            keys.append(f"[{k}]" if isinstance(k, int) else f".{k}")
        return "meta" + "".join(reversed(keys[:-1])) if keys else "meta"

    stack: list[tuple[Any, int, bool]] = [(meta, 0, False)]
    trail.append((-1, None))
    active: set[int] = set()
    while stack:
        x, entry, leaving = stack.pop()
        if leaving:
            active.discard(id(x))
            continue
        if isinstance(x, (Mapping, list, tuple)):
            if id(x) in active:
                probs.add("exchange", f"{where(entry)} contains itself (a cycle)")
                return
            active.add(id(x))
            stack.append((x, entry, True))
            items = x.items() if isinstance(x, Mapping) else enumerate(x)
            for k, v in items:
                if isinstance(x, Mapping) and not isinstance(k, str):
                    probs.add("exchange", f"{where(entry)} has a non-string key {k!r}")
                    return
                trail.append((entry, k))
                stack.append((v, len(trail) - 1, False))
        elif isinstance(x, float) and not math.isfinite(x):
            probs.add("exchange", f"{where(entry)} = {x!r} is not finite")
            return
        elif not (x is None or isinstance(x, (str, bool, int, float))):
            probs.add(
                "exchange",
                f"{where(entry)} must be plain data (numbers, strings, lists, objects), got {type(x).__name__}",
            )
            return


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
        elif meta is not None:
            _check_meta(meta, probs)
        raw = data.get("bidders")
        entries: list[tuple[Any, Any, Any, bool]] = []  # name (checked below), endowment, tree, has_endowment
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
        bidders = []
        for name, x0, written, recs in parsed:
            if x0 is None:  # an unreadable endowment is a reported problem
                raise InternalError(f"bidder {name!r} has no endowment after a parse without problems")
            bidders.append(Bidder(name, _readonly(x0), BidTree._compile(recs, goods), written))
        return cls(goods=goods, bidders=tuple(bidders), meta=meta, form=form)

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
            if not isinstance(g, str) or g not in gi:
                probs.add(where, f"endowment names unknown good {g!r}")
                ok = False
                continue
            try:
                qi = check_units(q, f"endowment of {g!r}")
            except BidTreeError as exc:
                probs.add(where, str(exc))
                ok = False
                continue
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
        """JSON text (``indent`` / ``separators`` as for :func:`json.dumps`); never recursive."""
        unknown = sorted(set(kwargs) - {"indent", "separators"})
        if unknown:
            raise InvalidInputError(f"to_json takes only indent and separators, got {', '.join(unknown)}")
        return dumps_json(self.to_dict(), **kwargs)

    @classmethod
    def from_json(cls, text: str | bytes) -> Exchange:
        """Validate an exchange from JSON text (``str``, or UTF-8 ``bytes``)."""
        if isinstance(text, (bytes, bytearray)):
            text = _decode_utf8(bytes(text), "JSON text")
        if not isinstance(text, str):
            raise BidTreeError(f"from_json needs JSON text (a str), got {type(text).__name__}")
        return cls.from_dict(_read_json(text, ""))

    def save(self, path: str | os.PathLike) -> None:
        """Write JSON (floats round-trip exactly through ``repr``), atomically: the text is
        complete before anything is written, goes to a temporary file beside ``path``, is
        flushed to disk and renamed over ``path``. On any failure ``path`` is untouched."""
        try:
            target = os.fspath(path)
        except TypeError:
            raise BidTreeError(f"save needs a file path, got {type(path).__name__}") from None
        data = (dumps_json(self.to_dict(), indent=1) + "\n").encode("utf-8")
        directory = os.path.dirname(os.path.abspath(target))
        if os.path.isdir(target):
            raise BidTreeError(f"{target}: is a directory, not a file")
        try:
            fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{os.path.basename(target)}.", suffix=".tmp")
        except OSError as exc:
            raise BidTreeError(f"{target}: cannot write: {exc.strerror or exc}") from None
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
                try:
                    mode = os.stat(target).st_mode & 0o7777
                except FileNotFoundError:
                    mode = 0o666 & ~_umask()
                os.fchmod(f.fileno(), mode)
            os.replace(tmp, target)
        except BaseException as exc:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            if isinstance(exc, OSError):
                raise BidTreeError(f"{target}: cannot write: {exc.strerror or exc}") from None
            raise

    @classmethod
    def load(cls, path: str | os.PathLike) -> Exchange:
        """Read and validate a JSON file; duplicate keys (e.g. bidder names) are errors."""
        try:
            name = os.fspath(path)
        except TypeError:
            raise BidTreeError(f"load needs a file path, got {type(path).__name__}") from None
        try:
            with open(name, "rb") as f:
                raw = f.read()
        except OSError as exc:
            raise BidTreeError(f"{name}: cannot read: {exc.strerror or exc}") from None
        text = _decode_utf8(raw, name)
        return cls.from_dict(_read_json(text, f"{name}: "))

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
        bound that rises raises :class:`~auctionlab.errors.RevisionError` (bounds may only narrow).
        """
        lo_new = self._global_bounds(lower, self.lower, "lower")
        hi_new = self._global_bounds(upper, self.upper, "upper")
        if narrowing:
            for arr, old, cmp, word in (
                (lo_new, self.lower, np.less, "lower"),
                (hi_new, self.upper, np.greater, "upper"),
            ):
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
                a = _real_array(arr, f"bidder {name!r}: {word} bounds")
                n_i = int(off[i + 1] - off[i])
                if a.shape != (n_i,):
                    raise ShapeError(f"bidder {name!r}: {word} bounds have shape {a.shape}, expected ({n_i},)")
                out[off[i] : off[i + 1]] = a
            return out
        a = _real_array(spec, f"{word} bounds")
        if a.shape != current.shape:
            raise ShapeError(f"{word} bounds have shape {a.shape}, expected {current.shape}")
        return a

    def __repr__(self) -> str:
        return f"Exchange(goods={len(self.goods)}, bidders={len(self.bidders)}, nodes={self.n_nodes})"


def _decode_utf8(raw: bytes, where: str) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise BidTreeError(f"{where}: not UTF-8 text (byte {e.start}: {e.reason})") from None


def _umask() -> int:
    """The process umask (read without changing it for longer than two calls)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def check_same_bidders(a: Exchange, b: Exchange, what: str = "exchange") -> None:
    """Raise unless ``b`` has the same goods and bidder names (in order) as ``a``."""
    if a.goods != b.goods or a.names != b.names:
        raise InvalidInputError(f"{what} must have the same goods and bidders as the reported exchange")
