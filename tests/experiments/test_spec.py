"""Experiment specs: parsing from TOML / YAML / Python, seeds, and errors before any work."""

from __future__ import annotations

import numpy as np
import pytest

from auctionlab.errors import ConfigError, UnknownNameError
from auctionlab.experiments.catalog import CATALOG, REPRODUCE, catalog_spec
from auctionlab.experiments.kinds import RUN_KINDS
from auctionlab.experiments.spec import ExperimentSpec, load_spec, parse_spec

TOML = """
name = "small"
model = "tasc"
replications = 3
master_seed = 7
metrics = ["profit", "trades"]

[params]
n = 10
algorithms = ["mwm", "mm"]

[grid]
m = [8, 12]
vmax = [2.0, 4.0]
"""

YAML = """
name: small
model: tasc
replications: 3
master_seed: 7
metrics: [profit, trades]
params:
  n: 10
  algorithms: [mwm, mm]
grid:
  m: [8, 12]
  vmax: [2.0, 4.0]
"""


def test_toml_yaml_and_python_give_the_same_spec(tmp_path):
    (tmp_path / "s.toml").write_text(TOML)
    (tmp_path / "s.yaml").write_text(YAML)
    (tmp_path / "s.py").write_text(
        "SPEC = dict(name='small', model='tasc', replications=3, master_seed=7, metrics=['profit', 'trades'],\n"
        "            params={'n': 10, 'algorithms': ['mwm', 'mm']}, grid={'m': [8, 12], 'vmax': [2.0, 4.0]})\n"
    )
    specs = [load_spec(tmp_path / f"s.{ext}") for ext in ("toml", "yaml", "py")]
    assert len({s.digest for s in specs}) == 1
    s = specs[0]
    assert s.n_points == 4 and s.n_runs == 12
    assert s.points() == [{"m": 8, "vmax": 2.0}, {"m": 8, "vmax": 4.0}, {"m": 12, "vmax": 2.0}, {"m": 12, "vmax": 4.0}]
    assert s.point_params()[3] == {"n": 10, "algorithms": ["mwm", "mm"], "m": 12, "vmax": 4.0}
    # the digest ignores description / chunk / analysis but not what determines results
    assert s.with_(description="x", chunk=5).digest == s.digest
    assert s.with_(master_seed=8).digest != s.digest


def test_several_grids_concatenate():
    s = parse_spec(
        {"name": "g", "model": "tasc", "params": {"n": 5}, "grids": [{"m": [4, 6]}, {"m": [5], "vmax": [[1.0, 2.0]]}]}
    )
    assert s.points() == [{"m": 4}, {"m": 6}, {"m": 5, "vmax": [1.0, 2.0]}]
    assert s.sweep_of_points() == [0, 0, 1]
    assert s.grid_keys == ["m", "vmax"]


def test_seeds_are_the_spawned_children_and_replayable():
    s = parse_spec(
        {
            "name": "x",
            "model": "tasc",
            "replications": 4,
            "master_seed": 123,
            "params": {"n": 5},
            "grid": {"m": [4, 5, 6]},
        }
    )
    root = np.random.SeedSequence(123)
    children = [c.spawn(s.replications) for c in root.spawn(s.n_points)]
    for p in range(s.n_points):
        for r in range(s.replications):
            assert (s.seed(p, r).generate_state(4) == children[p][r].generate_state(4)).all()
    tasks = s.tasks()
    assert [t.run_id for t in tasks] == list(range(12))
    t = tasks[7]
    assert (t.point, t.replication, t.spawn_key, t.entropy) == (1, 3, (1, 3), 123)
    assert (t.seed.generate_state(2) == children[1][3].generate_state(2)).all()


@pytest.mark.parametrize(
    "data, words",
    [
        ({"name": "a", "model": "tasc", "replicates": 3}, "unknown spec key"),
        ({"name": "a", "model": "nope"}, "unknown experiment model 'nope'"),
        ({"name": "a", "model": "no.such.module:fn"}, "cannot be imported"),
        ({"name": "a b", "model": "tasc"}, "name must be"),
        ({"model": "tasc"}, "needs a 'name'"),
        ({"name": "a", "model": "tasc", "replications": 0}, "replications must be a positive integer"),
        ({"name": "a", "model": "tasc", "master_seed": -1}, "master_seed"),
        ({"name": "a", "model": "tasc", "params": {"n_sources": 5}}, r"unknown parameter\(s\) \['n_sources'\]"),
        (
            {"name": "a", "model": "tasc", "params": {"algorithms": ["mwm", "hungarian"]}},
            "unknown assignment algorithm 'hungarian'",
        ),
        ({"name": "a", "model": "tasc", "params": {"rules": ["vickrey"]}}, "unknown phase-2 rule 'vickrey'"),
        ({"name": "a", "model": "tasc", "params": {"n": 0}}, "n must be a positive integer"),
        ({"name": "a", "model": "tasc", "grid": {"m": [10, 0]}}, r"grid point 1 \{'m': 0\}: m must be"),
        ({"name": "a", "model": "tasc", "grid": {"m": [10**6]}}, "too large"),
        ({"name": "a", "model": "tasc", "grid": {"m": []}}, "is empty"),
        ({"name": "a", "model": "tasc", "params": {"m": 5}, "grid": {"m": [4]}}, "both a fixed param and a grid key"),
        ({"name": "a", "model": "tasc", "metrics": ["profit", "utility"]}, r"unknown metric\(s\) \['utility'\]"),
        ({"name": "a", "model": "tasc", "params": {"vmax": -1}}, "vmax must be positive"),
        ({"name": "a", "model": "tasc", "params": {"cost_range": [1, 0]}}, "cost_range"),
        ({"name": "a", "model": "tasc-truthfulness", "params": {"buyer_values": [5.0]}}, "above vmax"),
        ({"name": "a", "model": "relay-market", "params": {"mechanism": "english"}}, "unknown mechanism 'english'"),
        (
            {"name": "a", "model": "relay-market", "params": {"population": {"buyer": "liar"}}},
            "unknown strategy 'liar'",
        ),
        ({"name": "a", "model": "ice", "params": {"n_bidders": 1}}, "n_bidders must be at least 2"),
        ({"name": "a", "model": "ice", "params": {"step": 0}}, "step must be a number in"),
        ({"name": "a", "model": "tasc", "grid": [1, 2]}, "grid must be a table"),
    ],
)
def test_bad_specs_fail_before_any_work(data, words):
    with pytest.raises(ConfigError, match=words):
        parse_spec(data)


def test_unknown_names_are_unknown_name_errors():
    with pytest.raises(UnknownNameError):
        parse_spec({"name": "a", "model": "tasc", "params": {"algorithms": ["zzz"]}})


def test_bad_files(tmp_path):
    (tmp_path / "bad.toml").write_text("name = [")
    with pytest.raises(ConfigError, match="cannot parse spec"):
        load_spec(tmp_path / "bad.toml")
    (tmp_path / "x.yaml").write_text("!!python/object/apply:os.system ['echo hi']\n")
    with pytest.raises(ConfigError, match="cannot parse spec"):  # safe loading: no Python objects
        load_spec(tmp_path / "x.yaml")
    (tmp_path / "s.ini").write_text("")
    with pytest.raises(ConfigError, match="unknown spec format"):
        load_spec(tmp_path / "s.ini")
    with pytest.raises(ConfigError, match="neither a spec file nor a catalog experiment"):
        load_spec("no-such-experiment")
    (tmp_path / "bad.toml").write_text('name = "a"\nmodel = "tasc"\n[params]\nn = "ten"\n')
    with pytest.raises(ConfigError, match=r"bad.toml: params: n must be a positive integer"):
        load_spec(tmp_path / "bad.toml")


def test_callables_must_be_importable():
    with pytest.raises(ConfigError, match="module-level"):
        from auctionlab.experiments.spec import model_ref

        model_ref(lambda p, s: {})


def test_catalog_is_at_paper_scale():
    assert set(REPRODUCE) <= set(CATALOG)
    profit = catalog_spec("tasc-profit")
    assert profit.params["n"] == 100 and profit.replications == 1000
    assert [p["m"] for p in profit.points() if not p.get("value_grid")] == list(range(50, 151, 10))
    assert [p["m"] for p in profit.points() if p.get("value_grid") == 0.01] == [50, 100, 150]
    eff = catalog_spec("tasc-efficiency")
    assert eff.n_points == 12 and eff.points()[-1]["vmax"][0] == 1.0
    truth = catalog_spec("tasc-truthfulness")
    assert truth.params["n"] == truth.params["m"] == 100
    assert set(truth.params["algorithms"]) == {"mwm", "ora", "mm"}
    # Fig. 11 is timed serially (median of 5 in-process repeats per instance, one run at a
    # time), on 200 instances per m: every m of the paper's sweep, fewer instances
    runtime = catalog_spec("tasc-runtime")
    assert runtime.n_runs == 11 * 200 and runtime.params["timing_repeats"] == 5
    assert all(RUN_KINDS["tasc"].is_timing(p) for p in runtime.point_params())
    ice = catalog_spec("ice-convergence")
    assert {"cutoff_eff", "cutoff_thresh", "step", "n_bidders", "n_goods"} <= set(ice.grid_keys)
    assert ice.params["common_instances"] and max(p["n_bidders"] for p in ice.points()) <= 8
    assert isinstance(profit, ExperimentSpec)


def test_size_limits_are_checked_without_enumerating_the_grid():
    from auctionlab.experiments.spec import MAX_POINTS, MAX_RUNS

    grid = {f"k{i}": list(range(100)) for i in range(4)}  # 10**8 points: enumerating them would run out of memory
    with pytest.raises(ConfigError, match=f"100000000 points; at most {MAX_POINTS}"):
        parse_spec({"name": "big", "model": "tasc", "grid": grid})
    with pytest.raises(ConfigError, match=f"at most {MAX_RUNS}"):
        parse_spec({"name": "reps", "model": "tasc", "replications": 2**62})
    with pytest.raises(ConfigError, match="description must be a string, got \\[\\]"):
        parse_spec({"name": "d", "model": "tasc", "description": []})
    with pytest.raises(ConfigError, match="name must be an identifier"):
        parse_spec({"name": "../../x", "model": "tasc"})


@pytest.mark.parametrize(
    "fname, text, key",
    [
        ("dup.json", '{"name": "a", "model": "tasc", "params": {"n": 5, "n": 6}}', "'n'"),
        ("dup.yaml", "name: a\nmodel: tasc\nname: b\n", "'name'"),
    ],
)
def test_duplicate_keys_in_spec_files_are_errors(tmp_path, fname, text, key):
    p = tmp_path / fname
    p.write_text(text)
    with pytest.raises(ConfigError, match=f"duplicate key {key}"):
        load_spec(p)


def test_results_specs_can_be_read_without_importing_the_model():
    d = {"name": "x", "model": "no_such_module_anywhere:run", "params": {"a": 1}}
    with pytest.raises(ConfigError, match="cannot be imported"):
        parse_spec(d)
    spec = parse_spec(d, import_model=False)
    assert spec.model == "no_such_module_anywhere:run" and spec.n_runs == 1
