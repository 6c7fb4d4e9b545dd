"""Every bad input to the bid language, the specs and the CLI ends in an auctionlab error,
with the caller's data and files unchanged; good inputs generated alongside still work."""

from __future__ import annotations

import copy
import json
import math
import os

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from auctionlab.errors import AuctionlabError, BidTreeError, ConfigError
from auctionlab.mechanisms.exchange import AND, BidTree, Exchange, leaf
from auctionlab.mechanisms.exchange.instance import _loads_iterative, _pairs_hook, dumps_json
from auctionlab.mechanisms.exchange.tbbl import MAX_TREE_DEPTH
from tests.fuzz.cases import _snapshot, all_cases, base_exchange, classify, spec_base

FAST = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)


# ------------------------------------------------------------------ the catalogue, case by case
def test_every_catalogued_bad_input_gets_a_clear_error(tmp_path):
    not_clear = []
    n = 0
    for family, label, thunk in all_cases(tmp_path):
        kind, msg = classify(thunk)
        n += 1
        if kind != "clear":
            not_clear.append(f"{family} / {label}: {kind} {msg}")
    assert n > 250 and not not_clear, "\n".join(not_clear)


# ------------------------------------------------------------------ random mutations
nasty = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.complex_numbers(allow_nan=True),
    st.text(max_size=4),
    st.binary(max_size=3),
    st.lists(st.integers(-3, 3), max_size=3),
    st.dictionaries(st.text(max_size=2), st.integers(-2, 2), max_size=2),
    st.sampled_from(
        [1e20, -1e20, 2**63, 1e300, 10**400, [2, 1], [0, math.nan], np.float64("nan"), np.int64(-1), np.complex128(1)]
    ),
)


def _paths(x, prefix=()):
    """Every (container, key) position in plain data."""
    if isinstance(x, dict):
        for k, v in x.items():
            yield prefix + (k,)
            yield from _paths(v, prefix + (k,))
    elif isinstance(x, list):
        for i, v in enumerate(x):
            yield prefix + (i,)
            yield from _paths(v, prefix + (i,))


def _get(d, path):
    for k in path:
        d = d[k]
    return d


@FAST
@given(data=st.data())
def test_mutated_exchanges_are_valid_or_rejected_clearly(data, tmp_path):
    d = base_exchange()
    path = data.draw(st.sampled_from(list(_paths(d))))
    new = data.draw(nasty)
    parent = _get(d, path[:-1])
    parent[path[-1]] = new
    before = _snapshot(d)
    try:
        ex = Exchange.from_dict(d)
    except BidTreeError as exc:
        assert str(exc)
        assert _snapshot(d) == before
        return
    # accepted: then it must be a faithful, saveable exchange
    assert _snapshot(d) == before
    assert Exchange.from_dict(ex.to_dict()).to_dict() == ex.to_dict()
    p = tmp_path / "ok.json"
    ex.save(p)
    assert Exchange.load(p).to_dict() == ex.to_dict()
    assert np.all(np.isfinite(ex.lower)) and np.all(np.abs(ex.upper) <= 1e12)


@FAST
@given(
    edits=st.lists(
        st.tuples(st.integers(0, 10**6), st.sampled_from(list('{}[]",:0-1eE.nN \x00\xff')), st.booleans()),
        min_size=1,
        max_size=4,
    )
)
def test_mutated_json_text_is_valid_or_rejected_clearly(edits):
    text = list(Exchange.from_dict(base_exchange()).to_json())
    for pos, ch, insert in edits:
        i = pos % (len(text) + 1)
        if insert or i == len(text):
            text.insert(i, ch)
        else:
            text[i] = ch
    s = "".join(text)
    try:
        ex = Exchange.from_json(s)
    except BidTreeError:
        return
    assert Exchange.from_json(ex.to_json()).to_dict() == ex.to_dict()


@FAST
@given(raw=st.binary(max_size=64))
def test_random_bytes_as_an_exchange_file(raw, tmp_path):
    p = tmp_path / "x.json"
    p.write_bytes(raw)
    with pytest.raises(BidTreeError):
        Exchange.load(p)
    assert p.read_bytes() == raw


plain = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**80), 2**80)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=5),
    lambda kids: st.lists(kids, max_size=3) | st.dictionaries(st.text(max_size=3), kids, max_size=3),
    max_leaves=20,
)


@FAST
@given(obj=plain, indent=st.sampled_from([None, 1, 2]))
def test_json_writer_and_reader_match_the_standard_library(obj, indent):
    text = json.dumps(obj, indent=indent)
    assert dumps_json(obj, indent=indent) == text
    assert _loads_iterative(text, _pairs_hook) == json.loads(text)


def test_deep_data_is_read_and_written_without_recursion(tmp_path):
    deep: list = []
    for _ in range(50_000):
        deep = [deep]
    text = dumps_json(deep)
    assert text == "[" * 50_001 + "]" * 50_001
    assert dumps_json(_loads_iterative(text, _pairs_hook)) == text
    # a tree at the depth limit round-trips through a file; one level more is refused by name
    node = leaf({"A": 1}, 1)
    for _ in range(MAX_TREE_DEPTH):
        node = AND(node)
    meta: list = []
    for _ in range(3000):  # indented JSON grows with depth squared: keep the file small
        meta = [meta]
    ex = Exchange.from_dict({"goods": ["A"], "bidders": {"b": {"tree": node}}, "meta": {"deep": meta}})
    ex.save(tmp_path / "deep.json")
    back = Exchange.load(tmp_path / "deep.json")
    assert back.to_dict()["bidders"]["b"]["tree"] == node and back.bidders[0].tree.n_nodes == MAX_TREE_DEPTH + 1
    with pytest.raises(BidTreeError, match=f"deeper than {MAX_TREE_DEPTH} levels"):
        BidTree.from_dict(AND(node))


# ------------------------------------------------------------------ atomic save
@FAST
@given(old=st.binary(max_size=200), stage=st.sampled_from(["write", "fsync", "fchmod", "replace"]))
def test_a_failing_save_never_touches_the_existing_file(old, stage, tmp_path, monkeypatch):
    target = tmp_path / "ex.json"
    target.write_bytes(old)
    ex = Exchange.from_dict(base_exchange())

    def boom(*a, **k):
        raise OSError(28, "No space left on device")

    with monkeypatch.context() as m:
        if stage == "write":
            m.setattr(os, "fdopen", lambda fd, mode: _FailingFile(fd))
        else:
            m.setattr(os, stage, boom)
        with pytest.raises(BidTreeError, match="cannot write"):
            ex.save(target)
    assert target.read_bytes() == old
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ex.json"]  # no temporary file left
    ex.save(target)
    assert Exchange.load(target).to_dict() == ex.to_dict()


class _FailingFile:
    def __init__(self, fd):
        self.fd = fd

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        os.close(self.fd)

    def write(self, data):
        raise OSError(28, "No space left on device")


def test_deep_tree_save_that_fails_keeps_the_old_file(tmp_path):
    target = tmp_path / "ex.json"
    Exchange.from_dict(base_exchange()).save(target)
    old = target.read_bytes()
    node = leaf({"A": 1}, 1)
    for _ in range(2000):
        node = AND(node)
    with pytest.raises(BidTreeError, match="deeper than"):
        Exchange.from_dict({"goods": ["A"], "bidders": {"b": {"tree": node}}}).save(target)
    assert target.read_bytes() == old


# ------------------------------------------------------------------ specs
@FAST
@given(data=st.data())
def test_mutated_specs_are_valid_or_rejected_clearly(data):
    from auctionlab.experiments.spec import parse_spec

    d = spec_base()
    path = data.draw(st.sampled_from(list(_paths(d))))
    _get(d, path[:-1])[path[-1]] = data.draw(nasty)
    before = copy.deepcopy(d)
    try:
        spec = parse_spec(d)
    except ConfigError:
        assert _snapshot(d) == _snapshot(before)
        return
    assert _snapshot(d) == _snapshot(before)
    assert parse_spec(spec.to_dict()).digest == spec.digest
    assert 1 <= spec.n_runs <= 10**6


@FAST
@given(sizes=st.lists(st.integers(1, 10**4), min_size=1, max_size=6), reps=st.integers(1, 2**64))
def test_grid_size_is_computed_not_enumerated(sizes, reps):
    from auctionlab.experiments.spec import MAX_POINTS, MAX_RUNS, parse_spec

    grid = {f"k{i}": list(range(s)) for i, s in enumerate(sizes)}
    points = math.prod(sizes)
    try:
        spec = parse_spec(
            {
                "name": "g",
                "model": "tests.experiments.helpers:counting_run",
                "grid": grid,
                "replications": reps,
                "params": {"log": "unused"},
            }
        )
    except ConfigError as exc:
        assert points > MAX_POINTS or points * reps > MAX_RUNS or reps > MAX_RUNS
        assert str(MAX_POINTS) in str(exc) or str(MAX_RUNS) in str(exc)
        return
    assert spec.n_points == points and spec.n_runs == points * reps <= MAX_RUNS


@FAST
@given(value=st.text(max_size=30))
def test_scheduler_addresses(value):
    from auctionlab._validate import check_address

    try:
        assert check_address(value, "--scheduler") == value
    except ConfigError as exc:
        assert "--scheduler" in str(exc)
        return
    assert value == "local" or "://" in value or ":" in value


def test_project_errors_are_auctionlab_errors():
    assert issubclass(BidTreeError, AuctionlabError) and issubclass(ConfigError, AuctionlabError)
