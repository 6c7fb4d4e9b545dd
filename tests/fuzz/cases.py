"""Catalogues of bad inputs, by family, for the hardened entry points (bid language, specs, CLI).

Each case is ``(family, label, thunk)``; calling the thunk feeds one bad input to one entry
point. :func:`classify` runs a case: ``"clear"`` (an auctionlab error), ``"raw"`` (any other
exception: a crash) or ``"silent"`` (no error: the bad input was accepted). The fuzz tests
assert every case is clear; ``python -m tests.fuzz.census`` prints the counts by family.
"""

from __future__ import annotations

import copy
import json
import math
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from auctionlab.errors import AuctionlabError
from auctionlab.mechanisms.exchange import AND, XOR, BidTree, Exchange, leaf, value

Case = tuple[str, str, Callable[[], Any]]


def base_exchange() -> dict:
    return {
        "goods": ["A", "B"],
        "bidders": {
            "seller": {"endowment": {"A": 1, "B": 1}, "tree": AND(leaf({"A": -1}, -5), leaf({"B": -1}, -5))},
            "buyer": {"tree": XOR(leaf({"A": 1}, 10), AND(leaf({"A": 1}, 4), leaf({"B": 1}, [8, 9])))},
        },
        "meta": {"source": "fuzz"},
    }


BAD_VALUES = [
    None,
    "1",
    "x",
    [],
    [1],
    [1, 2, 3],
    [2, 1],
    {},
    True,
    False,
    complex(1, 2),
    math.nan,
    math.inf,
    -math.inf,
    1e20,
    -1e20,
    2**63,
    10**400,
    [0, 1e300],
    [math.nan, 1],
    [True, 2],
    np.complex128(1),
    np.float64("nan"),
    b"1",
    ["1", "2"],
    np.bool_(True),
]
BAD_QUANTITIES = [
    None,
    "1",
    1.5,
    True,
    complex(1, 0),
    math.nan,
    math.inf,
    2**63,
    -(2**63),
    1e300,
    10**400,
    [1],
    {},
    np.float64(1.5),
    np.complex64(1),
    b"1",
    -1e300,
    2**64 - 1,
]
BAD_IC = [
    None,
    [1],
    [1, 2, 3],
    ["1", "2"],
    [True, 1],
    [-1, 1],
    [2, 1],
    [1, 5],
    [1.5, 2],
    "12",
    [math.nan, 1],
    [2**63, 2**64],
    {},
    [None, 1],
    [complex(1), 1],
]
BAD_ENDOWMENTS = [-1, 1.5, 2**63, 1e300, complex(1, 0), "1", None, math.nan, math.inf, [1], True, -(2**63)]


def _set(path: tuple, new: Any) -> Callable[[dict], None]:
    def mutate(d: dict) -> None:
        obj = d
        for k in path[:-1]:
            obj = obj[k]
        obj[path[-1]] = new

    return mutate


def _deep(depth: int) -> dict:
    node = leaf({"A": 1}, 1)
    for _ in range(depth):
        node = AND(node)
    return node


def _dag(levels: int) -> dict:
    node = leaf({"A": 1}, 1)
    for _ in range(levels):
        node = AND(node, node)  # the same child twice: 2**levels nodes once expanded
    return node


def _cycle_self() -> dict:
    t = AND(leaf({"A": 1}, 1), leaf({"B": 1}, 1))
    t["children"].append(t)
    return t


def _cycle_deep() -> dict:
    t = AND(AND(AND(leaf({"A": 1}, 1))))
    t["children"][0]["children"][0]["children"].append(t)
    return t


def _wide(n: int) -> dict:
    return {"value": 0, "ic": [0, n], "children": [leaf({"A": 1}, 1)] * n}


def tree_mutations() -> Iterator[tuple[str, Callable[[dict], None]]]:
    """(label, mutation of a base exchange's plain data) giving one bad bid tree each."""
    b = ("bidders", "buyer", "tree")
    for v in BAD_VALUES:
        yield f"value {v!r}", _set(b + ("children", 0, "value"), v)
    for q in BAD_QUANTITIES:
        yield f"quantity {q!r}", _set(b + ("children", 0, "trade", "A"), q)
    for ic in BAD_IC:
        yield f"ic {ic!r}", _set(b + ("ic",), ic)
    for node in ([], "leaf", None, 1, 1.5):
        yield f"node {node!r}", _set(b + ("children", 1), node)
    yield "trade and children", _set(b + ("children", 0, "children"), [])
    yield "neither trade nor children", _set(b + ("children", 0), {"value": 1})
    yield "unknown key", _set(b + ("children", 0, "colour"), "red")
    yield "children not a list", _set(b + ("children",), "ab")
    yield "empty children", _set(b + ("children",), [])
    yield "trade not a mapping", _set(b + ("children", 0, "trade"), [["A", 1]])
    yield "good name not a string", _set(b + ("children", 0, "trade"), {1: 1})
    yield "unknown good", _set(b + ("children", 0, "trade"), {"Z": 1})
    yield "sells more than endowed", _set(("bidders", "seller", "tree", "children", 0, "trade", "A"), -2)
    yield "cycle (self)", _set(b, _cycle_self())
    yield "cycle (3 levels up)", _set(b, _cycle_deep())
    yield "depth 300", _set(b, _deep(300))
    yield "depth 2000", _set(b, _deep(2000))
    yield "100001 nodes", _set(b, _wide(100_001))
    yield "2**40 nodes through shared children", _set(b, _dag(40))
    yield "empty tree", _set(b, {})
    yield "tree None", _set(b, None)
    for e in BAD_ENDOWMENTS:
        yield f"endowment {e!r}", _set(("bidders", "seller", "endowment", "A"), e)
    yield "endowment unknown good", _set(("bidders", "seller", "endowment", "Z"), 1)
    yield "endowment key not a string", _set(("bidders", "seller", "endowment", 3), 1)
    yield "endowment not a mapping", _set(("bidders", "seller", "endowment"), [1, 1])


def exchange_mutations() -> Iterator[tuple[str, Callable[[dict], None]]]:
    for g in (None, [], "AB", [1], ["A", "A"], [""], {"A": 1}, [None]):
        yield f"goods {g!r}", _set(("goods",), g)
    for bidders in (
        None,
        [],
        {},
        "buyer",
        5,
        [{"tree": leaf({"A": 1}, 1)}],
        [{"name": "", "tree": leaf({"A": 1})}],
        [{"name": "x", "tree": leaf({"A": 1})}, {"name": "x", "tree": leaf({"A": 1})}],
    ):
        yield f"bidders {bidders!r}"[:60], _set(("bidders",), bidders)
    yield "bidder not a mapping", _set(("bidders", "buyer"), [1])
    yield "bidder missing tree", _set(("bidders", "buyer"), {"endowment": {}})
    yield "bidder unknown key", _set(("bidders", "buyer", "budget"), 5)
    cyc: dict = {}
    cyc["self"] = cyc
    for meta in (
        [1],
        "x",
        cyc,
        {"x": math.nan},
        {"x": object()},
        {1: "x"},
        {"x": {1, 2}},
        {"x": complex(1)},
        {"x": np.int64(1)},
        {"x": b"1"},
    ):
        yield f"meta {type(meta).__name__} {str(meta)[:30]}", _set(("meta",), meta)
    yield "unknown top key", _set(("auction",), "x")


def _unchanged(fn: Callable[[dict], Any], mutate: Callable[[dict], None]) -> Callable[[], Any]:
    def thunk() -> Any:
        d = base_exchange()
        mutate(d)
        before = _snapshot(d)
        try:
            return fn(d)
        finally:
            if _snapshot(d) != before:
                raise AssertionError("the input was modified")

    return thunk


def _snapshot(x: Any) -> str:
    """A cycle- and depth-safe fingerprint of plain data (ids of containers on a cycle)."""
    out: list[str] = []
    stack: list[Any] = [x]
    seen: set[int] = set()
    keep: list[Any] = []  # keeps every visited container alive, so ids stay unique
    while stack:
        y = stack.pop()
        if isinstance(y, (dict, list, tuple)):
            if id(y) in seen:
                out.append(f"@{id(y)}")
                continue
            seen.add(id(y))
            keep.append(y)
            out.append(f"{type(y).__name__}{len(y)}")
            if isinstance(y, dict):
                for k, v in y.items():
                    stack.extend((v, k))
            else:
                stack.extend(y)
        else:
            out.append(repr(y))
    return "|".join(out)


def bidtree_cases() -> Iterator[Case]:
    for label, mut in tree_mutations():
        yield "bid trees", label, _unchanged(Exchange.from_dict, mut)
    for label, mut in exchange_mutations():
        yield "exchange structure", label, _unchanged(Exchange.from_dict, mut)
    yield "bid trees", "standalone cycle", lambda: BidTree.from_dict(_cycle_self())
    yield "bid trees", "standalone depth 2000", lambda: BidTree.from_dict(_deep(2000))


def _ex() -> Exchange:
    return Exchange.from_dict(base_exchange())


def _bounds(lower: Any = None, upper: Any = None) -> Callable[[], Any]:
    def thunk() -> Any:
        ex = _ex()
        lo, hi = ex.lower.copy(), ex.upper.copy()
        try:
            return ex.with_bounds(lower, upper)
        finally:
            assert np.array_equal(ex.lower, lo) and np.array_equal(ex.upper, hi)

    return thunk


def _value(trade: Any, values: Any = "lower") -> Callable[[], Any]:
    return lambda: value(base_exchange()["bidders"]["buyer"]["tree"], trade, values)


def files_cases(tmp: Path) -> Iterator[Case]:
    n = _ex().n_nodes
    for text in (
        None,
        1,
        1.5,
        [],
        {},
        b"\xff\xfe{",
        "",
        "{",
        "[" * 5000 + "]" * 5000,
        "{" * 3000,
        "NaN",
        "null",
        '{"goods": ["A"], "goods": ["B"]}',
        '{"goods": ["A"], "bidders": {"a": {"tree": '
        + '{"value": 1, "ic": [1, 1], "children": [' * 400
        + '{"trade": {"A": 1}}'
        + "]}" * 400
        + "}}}",
        "1" * 5000,
        '{"goods": ["A"], "bidders": {"b": {"tree": {"trade": {"A": 1e999}}}}}',
        bytearray(b"{\x80}"),
    ):
        yield "JSON text", f"from_json {str(text)[:40]!r}", lambda t=text: Exchange.from_json(t)  # type: ignore[arg-type]

    def load(content: bytes | None, name: str = "ex.json") -> Callable[[], Any]:
        def thunk() -> Any:
            p = tmp / name
            if content is not None:
                p.write_bytes(content)
            return Exchange.load(p)

        return thunk

    good = _ex().to_json(indent=1).encode()
    for label, content in (
        ("non-UTF-8", b'{"goods": ["\xe9"]}'),
        ("latin-1 text", '{"goods": ["é"]}'.encode("latin-1")),
        ("empty", b""),
        ("truncated", good[: len(good) // 2]),
        ("UTF-16", good.decode().encode("utf-16")),
        ("binary", bytes(range(256))),
        ("missing", None),
    ):
        yield "exchange files", f"load {label}", load(content, f"{label}.json")
    yield "exchange files", "load a directory", lambda: Exchange.load(tmp)
    yield "exchange files", "load None", lambda: Exchange.load(None)  # type: ignore[arg-type]

    def save(target: Any) -> Callable[[], Any]:
        return lambda: _ex().save(target)

    yield "exchange files", "save into a missing directory", save(tmp / "no" / "such" / "x.json")
    yield "exchange files", "save onto a directory", save(tmp)
    yield "exchange files", "save None", save(None)
    yield "exchange files", "save 5", save(5)

    for label, lo, hi in (
        ("shape", np.zeros(n + 1), None),
        ("nan", np.full(n, math.nan), None),
        ("complex", np.zeros(n, complex), None),
        ("strings", ["a"] * n, None),
        ("lower > upper", np.full(n, 5.0), np.zeros(n)),
        ("1e20", np.full(n, 1e20), np.full(n, 1e20)),
        ("ragged", [[1], [1, 2]], None),
        ("unknown bidder", {"nobody": np.zeros(2)}, None),
        ("bools", np.ones(n, bool), None),
        ("inf", None, np.full(n, math.inf)),
        ("object", [object()] * n, None),
        ("2-D", np.zeros((n, 2)), None),
    ):
        yield "bounds revisions", label, _bounds(lo, hi)
    for label, trade, vals in (
        ("2**63 units", {"A": 2**63}, "lower"),
        ("1.5 units", {"A": 1.5}, "lower"),
        ("complex units", {"A": 1j}, "lower"),
        ("string units", {"A": "1"}, "lower"),
        ("1e300 units", {"A": 1e300}, "lower"),
        ("vector shape", np.zeros(5), "lower"),
        ("nan vector", np.array([math.nan, 0]), "lower"),
        ("string vector", np.array(["a", "b"]), "lower"),
        ("alpha 2", {"A": 1}, 2.0),
        ("alpha nan", {"A": 1}, math.nan),
        ("values 'mid'", {"A": 1}, "mid"),
        ("values True", {"A": 1}, True),
        ("values array 1e20", {"A": 1}, np.full(5, 1e20)),
    ):
        yield "value()", label, _value(trade, vals)


def spec_base() -> dict:
    return {
        "name": "fz",
        "model": "tasc",
        "replications": 2,
        "master_seed": 1,
        "params": {"n": 6},
        "grid": {"m": [4, 6]},
        "description": "fuzz",
    }


def spec_mutations() -> Iterator[tuple[str, Callable[[dict], None]]]:
    for r in (0, -1, 1.5, True, "3", 2**62, None, math.nan, 10**7):
        yield f"replications {r!r}", _set(("replications",), r)
    for s in (-1, 2**63, 1.5, "x", True, None, math.inf):
        yield f"master_seed {s!r}", _set(("master_seed",), s)
    for name in ("", "../../x", ".hidden", "a/b", "x" * 200, None, 1, "a b", "..", "/abs", "C:\\x", "\x00"):
        yield f"name {name!r}"[:50], _set(("name",), name)
    for d in ([], 1, {}, ["x"], b"x", 1.5):
        yield f"description {d!r}", _set(("description",), d)
    for c in (0, -1, 1.5, True, "2", 2**70):
        yield f"chunk {c!r}", _set(("chunk",), c)
    big = {f"k{i}": list(range(100)) for i in range(4)}
    for label, g in (
        ("10**8 points", big),
        ("empty values", {"m": []}),
        ("string values", {"m": "abc"}),
        ("scalar values", {"m": 5}),
        ("list grid", [1, 2]),
        ("int key", {1: [1]}),
        ("NaN value", {"m": [math.nan]}),
        ("object value", {"m": [object()]}),
        ("key in params", {"n": [5]}),
    ):
        yield f"grid {label}", _set(("grid",), g)
    for label, gs in (("empty", []), ("string", "x"), ("non-table", [{}, 5]), ("10**6 x 10**2", [big])):
        yield f"grids {label}", _set(("grids",), gs)
    for label, p in (
        ("list", []),
        ("string", "x"),
        ("int key", {1: 2}),
        ("nan", {"n": math.nan}),
        ("object", {"n": object()}),
        ("complex", {"n": 1j}),
        ("bad n", {"n": -3}),
        ("bool n", {"n": True}),
    ):
        yield f"params {label}", _set(("params",), p)
    for m in ("x", [1], ["nope"], 5):
        yield f"metrics {m!r}", _set(("metrics",), m)
    for model in ("nope", 5, "os.path:no_such", "no_such_module_xyz:f", None, ["tasc"]):
        yield f"model {model!r}", _set(("model",), model)
    yield "unknown key", _set(("colour",), "red")
    yield "missing name", lambda d: d.pop("name")
    yield "missing model", lambda d: d.pop("model")
    yield "grid and grids", _set(("grids",), [{"m": [4]}])


def spec_cases(tmp: Path) -> Iterator[Case]:
    from auctionlab.experiments.spec import load_spec, parse_spec

    for label, mut in spec_mutations():

        def thunk(mut: Callable[[dict], None] = mut) -> Any:
            d = spec_base()
            mut(d)
            before = _snapshot(d)
            try:
                return parse_spec(d)
            finally:
                assert _snapshot(d) == before, "the spec mapping was modified"

        yield "specs", label, thunk
    files = {
        "dup.json": b'{"name": "a", "model": "tasc", "name": "b"}',
        "dupnested.json": b'{"name": "a", "model": "tasc", "params": {"n": 5, "n": 6}}',
        "dup.yaml": b"name: a\nmodel: tasc\nname: b\n",
        "dupnested.yaml": b"name: a\nmodel: tasc\nparams:\n  n: 5\n  n: 6\n",
        "dup.toml": b'name = "a"\nmodel = "tasc"\nname = "b"\n',
        "latin1.json": '{"name": "é", "model": "tasc"}'.encode("latin-1"),
        "latin1.yaml": "name: é\nmodel: tasc\n".encode("latin-1"),
        "empty.json": b"",
        "empty.yaml": b"",
        "list.yaml": b"- 1\n- 2\n",
        "pyobj.yaml": b"name: !!python/object/apply:os.getcwd []\nmodel: tasc\n",
        "deep.json": b"[" * 100_000 + b"]" * 100_000,
        "x.ini": b"[spec]\nname=a\n",
        "bad.toml": b"name = \n",
        "desc.yaml": b"name: a\nmodel: tasc\ndescription: []\n",
        "reps.json": b'{"name": "a", "model": "tasc", "replications": 4611686018427387904}',
    }
    for fname, content in files.items():

        def thunk(fname: str = fname, content: bytes = content) -> Any:
            p = tmp / fname
            p.write_bytes(content)
            return load_spec(p)

        yield "spec files", fname, thunk
    yield "spec files", "missing file", lambda: load_spec(tmp / "missing.toml")
    yield "spec files", "None", lambda: load_spec(None)  # type: ignore[arg-type]


def cli_argvs(tmp: Path) -> Iterator[tuple[str, list[str]]]:
    afile = tmp / "a-file.txt"
    afile.write_text("keep me\n")
    for v in ("-1", "-5"):
        yield f"demo --seed {v}", ["demo", "--seed", v]
    for k, v in (
        ("--n", "0"),
        ("--m", "-2"),
        ("--n", "10000000"),
        ("--vmax", "nan"),
        ("--vmax", "-1"),
        ("--vmax", "inf"),
        ("--vmax", "0"),
    ):
        yield f"demo {k} {v}", ["demo", k, v]
    base = ["run", "tasc-profit", "--out", str(tmp / "never")]
    for k, v in (
        ("--chunk", "0"),
        ("--chunk", "-3"),
        ("--workers", "0"),
        ("--workers", "-1"),
        ("--replications", "0"),
        ("--replications", "4611686018427387904"),
        ("--seed", "-1"),
        ("--seed", "9223372036854775808"),
        ("--scheduler", "notaurl"),
        ("--scheduler", "tcp://"),
        ("--scheduler", "tcp://host:99999"),
        ("--scheduler", "http://x:1"),
        ("--scheduler", ""),
        ("--chunk", "1000000000"),
    ):
        yield f"run {k} {v!r}", base + [k, v]
    yield "run --out a file", ["run", "tasc-profit", "--out", str(afile)]
    yield "reproduce --out a file", ["reproduce", "--out", str(afile), "--only", "tasc-profit"]
    yield "run a missing spec", ["run", str(tmp / "missing.toml"), "--out", str(tmp / "never")]
    yield "run an unknown catalog name", ["run", "no-such-experiment", "--out", str(tmp / "never")]
    yield "report a missing directory", ["report", str(tmp / "never")]
    yield "reproduce --only unknown", ["reproduce", "--out", str(tmp / "never"), "--only", "nope"]


def cli_cases(tmp: Path) -> Iterator[Case]:
    import contextlib
    import io

    from auctionlab.experiments.cli import main

    class CliError(AuctionlabError):
        pass

    for label, argv in cli_argvs(tmp):

        def thunk(argv: list[str] = argv) -> Any:
            before = {p: p.read_bytes() for p in tmp.iterdir() if p.is_file()}
            err = io.StringIO()
            with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
                code = main(argv)
            after = {p: p.read_bytes() for p in tmp.iterdir() if p.is_file()}
            text = err.getvalue().strip()
            created = (tmp / "never").exists()
            if created:
                import shutil

                shutil.rmtree(tmp / "never")  # so that the next case starts clean
            if before != after or created:
                raise AssertionError(f"the command changed files (exit {code}: {text[-200:]})")
            if code == 2 and text.startswith("auctionlab: error: ") and "\n" not in text:
                raise CliError(text)  # a clear one-line error
            if code == 0:
                return code  # accepted
            raise AssertionError(f"exit {code}: {text[-300:]}")

        yield "CLI arguments", label, thunk


def all_cases(tmp: Path) -> Iterator[Case]:
    for sub, fn in (("files", files_cases), ("specs", spec_cases), ("cli", cli_cases)):
        d = tmp / sub
        d.mkdir(exist_ok=True)
        yield from fn(d)
    yield from bidtree_cases()


class _Hang(BaseException):  # not an Exception: code under test must not swallow it
    pass


def classify(thunk: Callable[[], Any], timeout: int = 0) -> tuple[str, str]:
    """("clear" | "raw" | "silent", message) for one case; with ``timeout`` (seconds, main
    thread only) a case still running by then counts as a raw crash (a hang)."""
    import signal

    def alarm(*_: Any) -> None:
        raise _Hang(f"still running after {timeout} s")

    old = signal.signal(signal.SIGALRM, alarm) if timeout else None
    if timeout:
        signal.alarm(timeout)
    try:
        thunk()
    except AuctionlabError as exc:
        return "clear", str(exc).split("\n")[0][:160]
    except (Exception, _Hang) as exc:  # noqa: BLE001 - a raw crash is what we count
        return "raw", f"{type(exc).__name__}: {str(exc)[:160]}"
    finally:
        if timeout:
            signal.signal(signal.SIGALRM, signal.SIG_IGN)
            signal.alarm(0)
            signal.signal(signal.SIGALRM, old)
    return "silent", ""


def census(tmp: str | Path | None = None, timeout: int = 0) -> dict[str, dict[str, int]]:
    """Counts of clear / raw / silent outcomes by family (and the non-clear cases)."""
    with tempfile.TemporaryDirectory() as td:
        root = Path(tmp or td)
        out: dict[str, dict[str, int]] = {}
        bad: list[str] = []
        for family, label, thunk in all_cases(root):
            kind, msg = classify(thunk, timeout)
            c = out.setdefault(family, {"tried": 0, "clear": 0, "raw": 0, "silent": 0})
            c["tried"] += 1
            c[kind] += 1
            if kind != "clear":
                bad.append(f"{family} / {label}: {kind} {msg}")
        out["_not_clear"] = bad  # type: ignore[assignment]
        return out


__all__ = ["all_cases", "base_exchange", "census", "classify", "spec_base", "copy", "json", "os"]
