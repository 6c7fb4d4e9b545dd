"""Reports are built from stored tables alone: figures (PNG + SVG), tables, verdicts."""

from __future__ import annotations

import re

import pytest

from auctionlab.errors import ConfigError
from auctionlab.experiments.catalog import catalog_spec
from auctionlab.experiments.runner import run_experiment
from auctionlab.experiments.spec import parse_spec
from auctionlab.report.html import build_report
from auctionlab.report.metrics import group_mean_ci, trend


def tiny(name: str, **params):
    spec = catalog_spec(name)
    return spec.with_(replications=3, params={**spec.params, **params})


@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    """The four TASC catalog experiments at toy size (same code as paper scale)."""
    root = tmp_path_factory.mktemp("results")
    run_experiment(tiny("tasc-truthfulness", n=15, m=15, bid_points=9, ask_points=9), root / "tasc-truthfulness")
    for name in ("tasc-profit", "tasc-efficiency", "tasc-runtime"):
        spec = tiny(name, n=20)
        grids = tuple({k: (v if k != "m" else (10, 20, 30)) for k, v in g.items()} for g in spec.grids)
        run_experiment(spec.with_(grids=grids), root / name)
    return root


def test_report_from_stored_results(stored, monkeypatch):
    from auctionlab.experiments import runner

    def no_simulation(*a, **k):
        raise AssertionError("the report must not simulate")

    monkeypatch.setattr(runner, "execute_chunk", no_simulation)
    path = build_report(stored)
    html = path.read_text()
    assert path == stored / "report.html"
    for name in ("tasc-truthfulness", "tasc-profit", "tasc-efficiency", "tasc-runtime"):
        assert (stored / "figures" / name / f"{name}.png").stat().st_size > 1000
        assert (stored / "figures" / name / f"{name}.svg").read_text().lstrip().startswith("<?xml")
        assert f"id='{name}'" in html
    assert html.count("data:image/png;base64,") == 4
    for words in (
        "Fig. 8",
        "Fig. 9",
        "Fig. 10",
        "Fig. 11",
        "Profit is small",
        "degradation decreases as Vmax grows",
        "levels off once m",
        "Summary of the checked statements",
        "Verdict legend",
        "href='#tasc-profit'",
    ):
        assert words in html
    verdicts = re.findall(r"<td class='(agrees|partly|disagrees|insufficient-data|n-a)'>", html)
    assert len(verdicts) >= 8
    # three replications per point: the statistical verdicts say so instead of judging
    assert "insufficient data" in html
    assert list((stored / "tables" / "tasc-profit").glob("*.csv"))


def test_single_experiment_directory_and_generic_section(tmp_path):
    spec = parse_spec(
        {
            "name": "custom",
            "model": "tasc",
            "replications": 4,
            "params": {"n": 10, "algorithms": ["mm"]},
            "grid": {"m": [5, 10]},
            "metrics": ["profit", "trades"],
        }
    )
    run_experiment(spec, tmp_path / "custom")
    path = build_report(tmp_path / "custom")
    html = path.read_text()
    assert (
        "Mean and 95% CI of every metric" in html
        and (tmp_path / "custom" / "figures" / "custom" / "custom.png").exists()
    )
    with pytest.raises(ConfigError, match="no stored experiments"):
        build_report(tmp_path / "custom" / "runs")


def test_mean_ci_and_trend():
    import numpy as np
    import pandas as pd

    df = pd.DataFrame({"g": [0, 0, 0, 1, 1, 1], "x": [1.0, 2.0, 3.0, 5.0, 5.0, 5.0]})
    s = group_mean_ci(df, ["g"], "x")
    assert s["mean"].tolist() == [2.0, 5.0] and s["n"].tolist() == [3, 3]
    assert s["half_width"].iloc[0] == pytest.approx(4.302652729911275 * 1 / np.sqrt(3))
    assert s["half_width"].iloc[1] == 0
    t = trend([1, 2, 3, 4], [2, 4, 6, 8.5])
    assert t.increasing and not t.decreasing and t.slope == pytest.approx(2.15)


def test_section_chosen_by_run_kind_for_a_users_spec(tmp_path):
    """A user's own spec of a known kind (any name, no ``analysis`` key) gets that kind's study section."""
    from auctionlab.studies import STUDIES, study_for

    spec = parse_spec(
        {
            "name": "my-profit-copy",
            "model": "tasc",
            "replications": 3,
            "params": {"n": 8, "algorithms": ["mm"]},
            "grid": {"m": [6]},
        }
    )
    assert study_for(spec) is STUDIES["tasc-profit"]
    run_experiment(spec, tmp_path / "mine")
    html = build_report(tmp_path / "mine").read_text()
    assert "Mean and 95% CI of every metric" not in html and "zero" in html.lower()
    # an explicit analysis key wins over the kind
    assert study_for(parse_spec({**spec.to_dict(), "analysis": "tasc-runtime"})) is STUDIES["tasc-runtime"]


def test_report_navigation_legend_markup_and_progress(stored):
    from auctionlab.report.html import rich
    from auctionlab.report.sections import VERDICTS

    lines: list[str] = []
    html = build_report(stored, stored / "nav.html", log=lines.append).read_text()
    assert [ln.split(" (")[0] for ln in lines] == [
        f"report: [{i}/4] {n}"
        for i, n in enumerate(("tasc-truthfulness", "tasc-profit", "tasc-efficiency", "tasc-runtime"), 1)
    ]
    assert "<nav class='toc'>" in html and html.count("<li><a href='#") >= 6
    for name in ("tasc-truthfulness", "tasc-profit", "tasc-efficiency", "tasc-runtime", "legend", "summary"):
        assert f"href='#{name}'" in html and f"id='{name}'" in html
    for word in VERDICTS:
        assert f"<td class='{word.replace(' ', '-').replace('/', '-')}'>{word}</td>" in html
    # headings carry the sample size and say the run is reduced (3 of the catalog's replications)
    assert "(n = 3 per point, 3 runs; reduced run: 3 of the study&#x27;s 100 replications)" in html
    # no raw markup: P^b and s_{i_k} are rendered
    assert (
        "P^b" not in html
        and "P<sup>b</sup>" in html
        and "_{" not in html.split("<style>")[1].split("</body>")[0].replace("fig8_curves", "")
    )
    assert rich("the *gain*") == "the <em>gain</em>"
    # every table but the short legend sits in a scrolling box
    assert re.findall(r"<table[^>]*>", html.replace("<div class='scroll'><table", "")) == ["<table class='legend'>"]


def test_reproduce_prints_plain_progress_lines(tmp_path, capsys):
    from auctionlab.experiments.cli import main

    assert (
        main(
            [
                "reproduce",
                "--only",
                "tasc-truthfulness",
                "--replications",
                "1",
                "--workers",
                "1",
                "--out",
                str(tmp_path),
            ]
        )
        == 0
    )
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith("[1/1] tasc-truthfulness: 1 run ...")
    assert any(ln.startswith("[1/1] tasc-truthfulness done in ") for ln in err)
    assert any(ln.startswith("report: [1/1] tasc-truthfulness") for ln in err)


def test_users_spec_of_a_known_kind_gets_its_own_title_and_its_metrics(tmp_path):
    """A user's TASC sweep under another name with a metric subset: the profit study's section,
    titled with the spec's name (not the paper's figure), and every metric the spec keeps tabled."""
    from tests.experiments.helpers import tiny_report_specs

    (user,) = [s for s in tiny_report_specs() if s.name == "my-profit-sweep"]
    run_experiment(user, tmp_path / "mine")
    html = build_report(tmp_path).read_text()
    assert "reproduction report" not in html and "<h1>auctionlab: report on stored experiments</h1>" in html
    assert "my-profit-sweep: auctioneer's profit vs m (your spec, analysed like the tasc-profit study)" in html
    assert "Fig. 9 —" not in html
    assert "checked on this spec's own runs" in html
    table = html.split("Mean and 95% CI of the metrics this spec keeps, per grid point</h3>")[1].split("</table>")[0]
    rows = re.findall(r"<tr><td>(\w+)</td>", table)
    assert sorted(set(rows)) == ["profit", "trades", "zero_profit"]
    assert len(rows) == 3 * 2 * 2  # metrics x m values x algorithms (the one rule is a fixed column)
    # a catalog study at fewer replications is still the catalog's run (it keeps the paper's titles)
    from auctionlab.report.sections import catalog_run

    assert catalog_run(catalog_spec("tasc-runtime").with_(replications=2))
    assert not catalog_run(user) and not catalog_run(tiny("tasc-runtime", n=20))


def test_generic_section_drops_constant_columns_and_keeps_the_asked_metrics(tmp_path):
    spec = parse_spec(
        {
            "name": "sweep",
            "model": "tests.experiments.helpers:counting_run",
            "replications": 3,
            "params": {"log": str(tmp_path / "log.txt"), "scale": 2},
            "grid": {"size": [2, 3, 4]},
        }
    )
    run_experiment(spec, tmp_path / "sweep")
    html = build_report(tmp_path / "sweep").read_text()
    # 'scale' is a fixed parameter copied into every row: no panel, no table rows of its own
    assert "value vs size (mean, 95% CI)" in html and "scale vs" not in html and "<td>scale</td>" not in html
    assert html.count("<tr><td>value</td>") == 3  # one row per size


def test_figures_and_tables_are_kept_per_results_folder(tmp_path):
    """Two experiments of the same name in different folders keep their own figures and tables."""
    for folder, n in (("a", 6), ("b", 9)):
        spec = parse_spec(
            {
                "name": "same-name",
                "model": "tasc",
                "replications": 3,
                "params": {"n": n, "algorithms": ["mm"]},
                "grid": {"m": [5, 10]},
                "metrics": ["profit", "trades"],
            }
        )
        run_experiment(spec, tmp_path / folder)
    html = build_report(tmp_path).read_text()
    pngs = [tmp_path / "figures" / f / "same-name.png" for f in ("a", "b")]
    assert all(p.stat().st_size > 1000 for p in pngs) and pngs[0].read_bytes() != pngs[1].read_bytes()
    csvs = [sorted((tmp_path / "tables" / f).glob("*.csv")) for f in ("a", "b")]
    assert [p.name for p in csvs[0]] == [p.name for p in csvs[1]] != []
    assert csvs[0][0].read_text() != csvs[1][0].read_text()
    assert "id='a'" in html and "id='b'" in html and "href='figures/a/same-name.svg'" in html
    assert "href='tables/b/same-name-1.csv'" in html


def test_headline_claims_are_collected_while_a_report_builds_and_ranked(stored, tmp_path):
    from auctionlab.report.sections import Claim, Section, collecting_sections, headlines

    with collecting_sections() as built:
        build_report(stored, tmp_path / "r.html")
    assert sorted(s.name for s in built) == ["tasc-efficiency", "tasc-profit", "tasc-runtime", "tasc-truthfulness"]
    assert headlines(built) == []  # the TASC sections mark no headline
    with collecting_sections() as outside:
        pass
    assert outside == []  # nothing is collected after its block
    claim = {k: Claim(f"statement {k}", "agrees", "numbers", n=40, headline=k) for k in (1, 2, 3, 4)}
    plain = Claim("not a headline", "disagrees", "numbers", n=40)
    a = Section("a", "A", "", {}, claims=[plain, claim[3], claim[4]])
    b = Section("b", "B", "", {}, claims=[claim[2]])
    c = Section("c", "C", "", {}, claims=[claim[1], Claim("tie", "partly", "", n=35, headline=3)])
    top = headlines([a, b, c])
    assert [(s.name, cl.statement) for s, cl in top] == [
        ("c", "statement 1"),
        ("b", "statement 2"),
        ("a", "statement 3"),
    ]
    assert [cl.statement for _, cl in headlines([a, b, c], k=5)][3:] == ["tie", "statement 4"]
