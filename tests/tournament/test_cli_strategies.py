"""``auctionlab strategies`` and ``auctionlab show NAME``."""

from __future__ import annotations

import tomllib

import pytest

from auctionlab.experiments.catalog import CATALOG
from auctionlab.experiments.cli import main
from auctionlab.strategies import STRATEGIES, make_strategy, strategy_from_spec


def test_strategies_lists_every_strategy_with_parameters_and_classifier(capsys):
    assert main(["strategies"]) == 0
    out = capsys.readouterr().out
    heads = [line.split(" ")[0] for line in out.splitlines() if not line.startswith(" ")]
    assert heads == list(STRATEGIES)
    assert "    params: theta=0.9, base=None" in out
    assert out.count("    classifier: truthful=") == len(STRATEGIES)
    assert "drop_relays (relay, role buyer)" in out and "straightforward (exchange, role bidder)" in out


@pytest.mark.parametrize("name", sorted(STRATEGIES))
def test_show_strategy_prints_a_spec_that_builds(capsys, name):
    assert main(["show", name]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(f"# {name}: ") and lines[1].startswith("# classifier: ")
    spec = tomllib.loads("x = " + lines[2])["x"]
    assert spec["strategy"] == name
    built, ref = strategy_from_spec(spec), make_strategy(name)
    assert type(built) is type(ref) and built.classifier == ref.classifier
    assert {k: built.params[k] for k in ref.params} == ref.params


def test_show_catalog_spec_prints_its_toml(capsys):
    assert main(["show", "tournament"]) == 0
    out = capsys.readouterr().out
    assert out == CATALOG["tournament"].read_text()
    assert tomllib.loads(out)["name"] == "tournament"


def test_show_unknown_name_is_one_line_error(capsys):
    assert main(["show", "no-such-thing"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("auctionlab: error: unknown catalog experiment or strategy 'no-such-thing'")
    assert len(err.strip().splitlines()) == 1
