"""Command line smoke tests: list, run, report, reproduce (tiny), errors as one line with exit 2."""

from __future__ import annotations

import json

import pytest

from auctionlab.experiments.catalog import CATALOG
from auctionlab.experiments.cli import main

SPEC = """
name = "cli-small"
model = "tasc"
replications = 2
master_seed = 3
[params]
n = 10
algorithms = ["mwm", "ora"]
[grid]
m = [6, 9]
"""


def test_list(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    for name in CATALOG:
        assert name in out
    assert "2200 runs" in out  # tasc-runtime: 11 values of m x 200 timed instances
    assert main(["list", "--kinds"]) == 0
    out = capsys.readouterr().out
    assert "tasc-truthfulness" in out and "relay-market" in out and "params:" in out


def test_run_then_report(tmp_path, capsys):
    spec = tmp_path / "s.toml"
    spec.write_text(SPEC)
    out = tmp_path / "res"
    assert main(["run", str(spec), "--out", str(out), "--no-progress"]) == 0
    assert "4/4 runs stored" in capsys.readouterr().out
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "complete" and manifest["master_seed"] == 3 and "numpy" in manifest["versions"]
    assert main(["run", str(spec), "--out", str(out), "--workers", "2"]) == 0  # resume: nothing to do
    assert "0 computed now, 4 resumed" in capsys.readouterr().out
    assert main(["report", str(out)]) == 0
    assert "report.html" in capsys.readouterr().out and (out / "report.html").exists()


def test_run_catalog_name_with_overrides(tmp_path, capsys):
    out = tmp_path / "t"
    assert main(["run", "tasc-truthfulness", "--out", str(out), "--replications", "1", "--seed", "9"]) == 0
    assert "1/1 runs stored" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv, words",
    [
        (["run", "no-such-thing"], "neither a spec file nor a catalog experiment"),
        (["run", "tasc-profit", "--workers", "0"], "--workers must be at least 1"),
        (["report", "/nonexistent/dir"], "is not a directory"),
        (["reproduce", "--only", "fig99"], "unknown experiment"),
        (["run", "tasc-profit", "--chunk", "0"], "--chunk must be at least 1, got 0"),
        (["run", "tasc-profit", "--scheduler", "notaurl"], "--scheduler must be an address like tcp://host:8786"),
        (["run", "tasc-profit", "--seed", "-1"], "--seed must be at least 0"),
        (["demo", "--seed", "-1"], "--seed must be at least 0, got -1"),
        (["demo", "--vmax", "nan"], "--vmax must be a finite number"),
    ],
)
def test_errors_are_one_line_with_exit_code_2(argv, words, capsys, tmp_path):
    assert main(argv + (["--out", str(tmp_path / "o")] if argv[0] == "run" else [])) == 2
    err = capsys.readouterr().err
    assert err.startswith("auctionlab: error: ") and words in err and err.count("\n") == 1


def test_bad_spec_file_is_reported_before_any_work(tmp_path, capsys):
    spec = tmp_path / "bad.toml"
    spec.write_text(SPEC.replace('"ora"', '"oracle"'))
    assert main(["run", str(spec), "--out", str(tmp_path / "o")]) == 2
    assert "unknown assignment algorithm 'oracle'" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_reproduce_tiny(tmp_path, capsys):
    """The main job's code path end to end at one replication per point."""
    assert main(["reproduce", "--out", str(tmp_path), "--replications", "1", "--workers", "1"]) == 0
    cap = capsys.readouterr()
    out = cap.out
    assert "report:" in out and (tmp_path / "report.html").exists()
    assert f"report: {(tmp_path / 'report.html').resolve()}" in out
    html = (tmp_path / "report.html").read_text()
    assert "ICE convergence" in html and "Fig. 11" in html
    # it ends with the three headline claims, each with its verdict and n, in rank order
    tail = out[out.index("findings that matter most") :].splitlines()
    heads = [line for line in tail if line.startswith(("  1. ", "  2. ", "  3. "))]
    assert [h[:5] for h in heads] == ["  1. ", "  2. ", "  3. "]
    assert "[relay-manipulation] TASC as written" in heads[0] and "[ice-convergence]" in heads[1]
    assert "[ice-manipulation]" in heads[2] and all(", n = " in h for h in heads)
    # the report's progress: one line per section, with an ETA until the last
    err = cap.err
    assert "report: building" in err and ", ETA " in err


def test_demo_still_works(capsys):
    assert main(["demo", "--n", "20", "--m", "30"]) == 0
    assert "mwm/tasc" in capsys.readouterr().out


def test_out_that_is_a_file_is_refused_and_left_alone(tmp_path, capsys):
    f = tmp_path / "results.txt"
    f.write_text("keep\n")
    assert main(["run", "tasc-profit", "--out", str(f)]) == 2
    assert "is a file, not a directory" in capsys.readouterr().err and f.read_text() == "keep\n"
