"""The ICE run kinds' engine parameters, and the one-level-of-parallelism rule: runs in
runner workers never parallelise their own payments."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from auctionlab.errors import ConfigError
from auctionlab.experiments.kinds import RUN_KINDS
from auctionlab.experiments.runner import SerialExecutor, execute_chunk
from auctionlab.experiments.spec import parse_spec
from auctionlab.mechanisms.exchange.ice import IterativeExchange

TINY = {"n_bidders": 4, "n_goods": 3, "nodes": 6, "max_units": 1, "max_rounds": 5}
ICE_KINDS = {
    "ice": {},
    "ice-manipulation": {"deviators": 1, "control": False, "deviations": {"stubborn": "stubborn"}},
    "ice-tournament": {"strategies": {"straightforward": "straightforward", "stubborn": "stubborn"}},
}


def test_engine_parameters_are_spec_parameters():
    for name in ICE_KINDS:
        defaults = RUN_KINDS[name].defaults
        for key in (
            "cutoff_eff",
            "cutoff_thresh",
            "max_rounds",
            "max_queries",
            "rp_tol",
            "price_eps",
            "track_alpha_thresh",
        ):
            assert key in defaults, (name, key)
    # the convergence kind records αthresh trajectories; the strategy studies do not
    assert RUN_KINDS["ice"].defaults["track_alpha_thresh"] == "always"
    assert RUN_KINDS["ice-manipulation"].defaults["track_alpha_thresh"] == "needed"
    assert RUN_KINDS["ice-tournament"].defaults["track_alpha_thresh"] == "needed"
    for key, bad, words in (
        ("track_alpha_thresh", "sometimes", "track_alpha_thresh must be one of 'needed', 'always'"),
        ("max_queries", 0, "max_queries must be a positive integer"),
        ("rp_tol", -1.0, r"rp_tol must be >= 0.0"),
        ("rp_tol", 1.0, r"rp_tol must be < 1.0"),
        ("price_eps", "small", "price_eps must be a real number"),
        ("payment_rule", "pay-as-bid", "payment_rule must be one of"),
    ):
        with pytest.raises(ConfigError, match=words):
            parse_spec({"name": "x", "model": "ice", "params": {key: bad}})
    for key in ("executor", "workers"):  # no way to ask a run for its own pool
        with pytest.raises(ConfigError, match="unknown parameter"):
            parse_spec({"name": "x", "model": "ice", "params": {key: 2}})


def run_kind(name, **params):
    spec = parse_spec({"name": "t", "model": name, "params": {**TINY, **ICE_KINDS[name], **params}})
    res = execute_chunk(name, spec.tasks([0]), None, [])
    assert not res.failed, res.failed
    return res.tables


def test_needed_and_always_give_the_same_runs():
    # the eager bidder (an extension), for which these numbers were derived: its bounds shrink
    # every round, so αthresh reaches its cutoff; αeff reaches its cutoff in round 2
    inst = {"n_bidders": 5, "nodes": 8, "max_units": 2, "max_rounds": 8, "bidders": ["eager"]}
    a, b = (run_kind("ice", track_alpha_thresh=mode, **inst) for mode in ("always", "needed"))
    assert a["runs"]["proxy"].tolist() == b["runs"]["proxy"].tolist() == ["eager"]
    ra, rb = a["runs"].iloc[0], b["runs"].iloc[0]
    for col in (
        "rounds",
        "closed_by",
        "efficiency",
        "budget_surplus",
        "final_alpha_eff",
        "total_utility",
        "traded_units",
        "payment_rms_vs_truth",
        "rounds_to_alpha_eff",
    ):
        assert ra[col] == rb[col] or (pd.isna(ra[col]) and pd.isna(rb[col])), col
    assert not math.isnan(ra["final_alpha_thresh"]) and math.isnan(rb["final_alpha_thresh"])
    # the first round with αthresh at its cutoff is unknown when earlier rounds did not compute it
    assert ra["rounds_to_alpha_thresh"] == 4 and math.isnan(rb["rounds_to_alpha_thresh"])
    fa, fb = a["rounds"], b["rounds"]
    assert fa["alpha_thresh_computed"].all()
    assert fb["alpha_thresh_computed"].tolist() == [False, False, True, True, True, False]
    computed = fb["alpha_thresh_computed"].to_numpy()
    np.testing.assert_array_equal(fa["alpha_thresh"][computed], fb["alpha_thresh"][computed])
    assert fb["alpha_thresh"][~computed].isna().all()
    np.testing.assert_array_equal(fa["alpha_eff"], fb["alpha_eff"])
    sa = fa.filter(like="solves_vcg").to_numpy().sum()
    sb = fb.filter(like="solves_vcg").to_numpy().sum()
    assert sb < sa
    vcg = run_kind("ice", payment_rule="vcg", track_alpha_thresh="needed", **inst)["runs"].iloc[0]
    assert vcg["rounds"] == ra["rounds"] and vcg["budget_surplus"] <= ra["budget_surplus"] + 1e-9


@pytest.mark.parametrize("name", list(ICE_KINDS))
def test_runs_in_runner_workers_never_parallelise_their_payments(name, monkeypatch):
    """One level of parallelism: inside a runner task every IterativeExchange is serial."""
    seen = []
    init = IterativeExchange.__init__

    def spy(self, *args, **kwargs):
        seen.append((kwargs.get("executor"), kwargs.get("workers")))
        init(self, *args, **kwargs)

    monkeypatch.setattr(IterativeExchange, "__init__", spy)
    spec = parse_spec({"name": "t", "model": name, "params": {**TINY, **ICE_KINDS[name]}})
    fut = SerialExecutor().submit(execute_chunk, name, spec.tasks([0]), None, [])
    assert not fut.result().failed
    assert seen and all(s == (None, None) for s in seen)


# ---------------------------------------------------------------------- the MIP solver
ICE_SPEC = """
name = "ice-solver"
model = "ice"
replications = 1
master_seed = 4
[params]
n_bidders = 3
n_goods = 2
nodes = 4
max_units = 1
max_rounds = 3
"""


def test_solver_is_a_spec_parameter_and_a_command_line_override(tmp_path, capsys):
    import json

    from auctionlab.experiments.cli import main, with_solver
    from auctionlab.mechanisms.exchange.backends import solver_info

    with pytest.raises(ConfigError, match="no-such-solver"):
        parse_spec({"name": "x", "model": "ice", "params": {"solver": "no-such-solver"}})
    spec = tmp_path / "s.toml"
    spec.write_text(ICE_SPEC)
    out = tmp_path / "res"
    assert main(["run", str(spec), "--out", str(out), "--no-progress", "--solver", "highs"]) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert "solver" not in manifest["spec"]["params"]  # the default: same spec, same digest
    assert manifest["sessions"][-1]["solvers"] == [solver_info("highs")]
    assert manifest["sessions"][-1]["solvers"][0]["version"]
    base = parse_spec(json.loads((out / "manifest.json").read_text())["spec"])
    assert with_solver(base, "highs") is base
    from auctionlab.mechanisms.exchange.backends import available_backends

    if "scip" in available_backends():
        assert with_solver(base, "scip").params["solver"] == "scip" and with_solver(base, "scip").digest != base.digest
    else:  # a known backend whose package is missing is named, with how to install it
        with pytest.raises(ConfigError, match="pyscipopt"):
            with_solver(base, "scip")
    capsys.readouterr()
    assert main(["run", "tasc-profit", "--out", str(tmp_path / "t"), "--solver", "highs"]) == 2
    assert "has no solver parameter" in capsys.readouterr().err


def test_ice_kind_takes_every_registered_payment_rule():
    from auctionlab.mechanisms.exchange.payment_rules import PAYMENT_RULES

    for rule in PAYMENT_RULES:
        assert (
            parse_spec({"name": "x", "model": "ice", "params": {"payment_rule": rule}}).params["payment_rule"] == rule
        )
    with pytest.raises(ConfigError, match="payment_rule"):
        parse_spec({"name": "x", "model": "ice", "params": {"payment_rule": "pay-as-bid"}})
