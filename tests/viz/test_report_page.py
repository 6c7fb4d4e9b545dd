"""The report in a real browser: every image loads, no cell reads NaN, nothing is wider than
the main column, no markup is left raw — on a report covering several kinds of section.

Skipped where selenium or a Chromium with ChromeDriver is missing."""

import pytest

pytest.importorskip("selenium")

from auctionlab.experiments.runner import run_experiment  # noqa: E402
from auctionlab.report.check import check_report, missing_links, page_problems  # noqa: E402
from auctionlab.report.html import build_report  # noqa: E402
from auctionlab.viz.browser import find_browser  # noqa: E402
from tests.experiments.helpers import tiny_report_specs  # noqa: E402

needs_browser = pytest.mark.skipif(find_browser() is None, reason="no Chromium with ChromeDriver installed")


def test_problems_found_in_what_the_browser_returns():
    layout = [["overflow", "the page is 1500 px wide in a 1280 px window"]]
    cells = ["1.5", "nan", "NaN", "—", "None", "<NA>", "inf", "2", "0.5 ± nan", "information"]
    text = "profit P^b is *big* here; s_{i} and time_tasc_ms and 2*3*4 and SPEC §3"
    got = page_problems(layout, cells, text)
    assert got[0] == "overflow: the page is 1500 px wide in a 1280 px window"
    assert "cell: 1 table cell(s) read 'nan'" in got and "cell: 1 table cell(s) read 'NaN'" in got
    assert "cell: 1 table cell(s) read '<NA>'" in got and "cell: 1 table cell(s) read 'inf'" in got
    assert "markup: emphasis markup left raw in the text: *big*" in got
    assert "markup: superscript markup left raw in the text: P^b" in got
    assert "markup: subscript markup left raw in the text: s_{" in got
    assert "markup: the word SPEC left raw in the text: SPEC" in got
    assert "cell: 1 table cell(s) read '0.5 ± nan'" in got
    assert len(got) == 11
    assert page_problems([], ["1", "—", "n/a", "none", "infinite"], "P<sup>b</sup> time_tasc_ms 2*3") == []


@needs_browser
def test_report_renders_without_problems(tmp_path):
    for spec in tiny_report_specs():
        run_experiment(spec, tmp_path / spec.name)
    path = build_report(tmp_path)
    assert missing_links(path) == []
    assert check_report(path) == []
    # the checker does see a broken page: an image that does not load, a NaN cell, a wide block
    broken = path.with_name("broken.html")
    broken.write_text(
        path.read_text().replace(
            "</body>",
            "<img src='figures/none.png' alt='gone'><table><tr><td>nan</td></tr></table>"
            "<pre>" + "x" * 400 + "</pre></body>",
        )
    )
    got = check_report(broken)
    assert "link: figures/none.png points at no file" in got
    assert "image: image not loaded: gone" in got
    assert "cell: 1 table cell(s) read 'nan'" in got
    assert any(p.startswith("overflow: the page is ") for p in got)
    assert any(p.startswith("overflow: <pre> reaches ") for p in got)
