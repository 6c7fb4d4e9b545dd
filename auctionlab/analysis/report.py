"""HTML report from stored results (no re-simulation).

``build_report(path)`` accepts one experiment directory (it holds ``manifest.json``) or a
directory of them (as ``auctionlab reproduce`` writes). It writes ``report.html`` there,
figures as PNG and SVG under ``figures/`` (PNG also embedded in the HTML, so the file
stands alone), and every table behind a figure as CSV under ``tables/``.
"""

from __future__ import annotations

import base64
import datetime as _dt
import html
import math
from pathlib import Path

import numpy as np
import pandas as pd

from auctionlab.errors import ConfigError
from auctionlab.experiments.store import MANIFEST, ResultStore, package_versions

CSS = """
body { font-family: system-ui, -apple-system, Segoe UI, sans-serif; max-width: 1200px; margin: 2em auto;
       padding: 0 1em; color: #222; line-height: 1.45; }
h1 { border-bottom: 2px solid #444; } h2 { margin-top: 2.2em; border-bottom: 1px solid #bbb; }
table { border-collapse: collapse; font-size: 0.85em; margin: 0.6em 0 1.2em; }
th, td { border: 1px solid #ccc; padding: 3px 7px; text-align: right; }
th { background: #f2f2f2; } td:first-child, th:first-child { text-align: left; }
.settings td { text-align: left; } img { max-width: 100%; } figcaption { font-size: 0.9em; color: #444; }
.agrees { color: #1a7f37; font-weight: 600; } .disagrees { color: #b3261e; font-weight: 600; }
.insufficient-data, .n-a { color: #555; font-style: italic; }
.partly { color: #9a6700; font-weight: 600; } details { margin: 0.5em 0 1em; } .small { font-size: 0.85em; color: #555; }
"""


def experiment_dirs(path: str | Path) -> list[Path]:
    """The experiment directories under ``path`` (itself, or its subdirectories with a manifest)."""
    path = Path(path)
    if (path / MANIFEST).is_file():
        return [path]
    if not path.is_dir():
        raise ConfigError(f"{path} is not a directory")
    found = sorted(p for p in path.iterdir() if (p / MANIFEST).is_file())
    if not found:
        raise ConfigError(f"no stored experiments in {path} (no {MANIFEST} in it or its subdirectories)")
    return found


def _order(dirs: list[Path]) -> list[Path]:
    from auctionlab.experiments.catalog import REPRODUCE

    rank = {n: i for i, n in enumerate(REPRODUCE)}
    return sorted(dirs, key=lambda p: (rank.get(p.name, len(rank)), p.name))


def _css(verdict: str) -> str:
    return verdict.replace(" ", "-").replace("/", "-")


def _n_text(claim) -> str:
    return "" if claim.n is None else f" <span class='small'>(n = {claim.n})</span>"


def _fmt_cell(x) -> str:
    if isinstance(x, (bool, np.bool_)):
        return "yes" if x else "no"
    if isinstance(x, (float, np.floating)):
        if not math.isfinite(x):
            return "–"
        if x == int(x) and abs(x) < 1e6:
            return str(int(x))
        return f"{x:.4g}" if 1e-3 <= abs(x) < 1e5 else f"{x:.3e}"
    return html.escape(str(x))


def table_html(df: pd.DataFrame, max_rows: int = 60) -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in df.columns)
    body = []
    for row in df.head(max_rows).itertuples(index=False):
        body.append("<tr>" + "".join(f"<td>{_fmt_cell(v)}</td>" for v in row) + "</tr>")
    more = f"<p class='small'>… {len(df) - max_rows} more rows in the CSV.</p>" if len(df) > max_rows else ""
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>{more}"


def build_report(path: str | Path, out: str | Path | None = None, *, title: str | None = None) -> Path:
    """Write the HTML report for the results under ``path``; return the HTML file's path."""
    from auctionlab.analysis.sections import build_section

    root = Path(path)
    dirs = _order(experiment_dirs(root))
    html_path = Path(out) if out is not None else root / "report.html"
    base = html_path.parent
    figdir, tabdir = base / "figures", base / "tables"
    tabdir.mkdir(parents=True, exist_ok=True)
    sections = [build_section(ResultStore.open(d), figdir) for d in dirs]

    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title or 'auctionlab report')}"
             f"</title><style>{CSS}</style></head><body>"]
    parts.append(f"<h1>{html.escape(title or 'auctionlab: reproduction report')}</h1>")
    parts.append(f"<p class='small'>Generated {_dt.datetime.now(_dt.timezone.utc).isoformat(timespec='seconds')} from "
                 f"stored results in <code>{html.escape(str(root))}</code> (nothing was re-simulated). Versions: "
                 + html.escape(", ".join(f"{k} {v}" for k, v in package_versions().items())) + ".</p>")
    verdicts = [(s, c) for s in sections for c in s.claims]
    if verdicts:
        parts.append("<h2>Summary of the paper's qualitative results</h2><table><thead><tr><th>experiment</th>"
                     "<th>statement</th><th>this reproduction</th></tr></thead><tbody>")
        for s, c in verdicts:
            parts.append(f"<tr><td><a href='#{html.escape(s.name)}'>{html.escape(s.name)}</a></td>"
                         f"<td style='text-align:left'>{html.escape(c.statement)}</td>"
                         f"<td class='{_css(c.verdict)}'>{html.escape(c.verdict)}{_n_text(c)}</td></tr>")
        parts.append("</tbody></table>")
    for s in sections:
        parts.append(f"<h2 id='{html.escape(s.name)}'>{html.escape(s.title)}</h2>")
        if s.description:
            parts.append(f"<p>{html.escape(s.description)}</p>")
        parts.append("<table class='settings'><tbody>" + "".join(
            f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(str(v))}</td></tr>" for k, v in s.settings.items())
            + "</tbody></table>")
        for f in s.figures:
            data = base64.b64encode(f.png.read_bytes()).decode()
            svg_rel = f.svg.relative_to(base).as_posix() if f.svg.is_relative_to(base) else f.svg.as_posix()
            parts.append(f"<figure><img alt='{html.escape(f.name)}' src='data:image/png;base64,{data}'>"
                         f"<figcaption>{html.escape(f.caption)} <a href='{html.escape(svg_rel)}'>SVG</a></figcaption>"
                         "</figure>")
        if s.claims:
            parts.append("<h3>The paper's statements, checked</h3><table><thead><tr><th>statement</th>"
                         "<th>verdict</th><th>numbers</th></tr></thead><tbody>")
            for c in s.claims:
                parts.append(f"<tr><td style='text-align:left'>{html.escape(c.statement)}</td>"
                             f"<td class='{_css(c.verdict)}'>{html.escape(c.verdict)}{_n_text(c)}</td>"
                             f"<td style='text-align:left'>{html.escape(c.evidence)}</td></tr>")
            parts.append("</tbody></table>")
        for i, (caption, df) in enumerate(s.tables):
            csv = tabdir / f"{s.name}-{i + 1}.csv"
            df.to_csv(csv, index=False)
            parts.append(f"<h3>{html.escape(caption)}</h3>{table_html(df)}"
                         f"<p class='small'><a href='{csv.relative_to(base).as_posix()}'>CSV</a></p>")
        for name, df in s.data:
            csv = tabdir / f"{name}.csv"
            df.to_csv(csv, index=False)
            parts.append(f"<details><summary>Numbers behind the figure: {html.escape(name)} ({len(df)} rows, "
                         f"<a href='{csv.relative_to(base).as_posix()}'>CSV</a>)</summary>{table_html(df, 400)}</details>")
        for note in s.notes:
            parts.append(f"<p class='small'>{html.escape(note)}</p>")
    parts.append("</body></html>")
    html_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = html_path.with_name(html_path.name + ".tmp")
    tmp.write_text("\n".join(parts), encoding="utf-8")
    tmp.replace(html_path)
    return html_path
