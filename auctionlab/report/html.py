"""HTML report from stored results (no re-simulation).

``build_report(path)`` accepts one experiment directory (it holds ``manifest.json``) or a
directory of them (as ``auctionlab reproduce`` writes). It writes ``report.html`` there,
figures as PNG and SVG under ``figures/FOLDER/`` (PNG also embedded in the HTML, so the file
stands alone), and every table behind a figure as CSV under ``tables/FOLDER/``, FOLDER being
the experiment's results folder under ``path`` (two experiments of the same name in different
folders keep their own files). The page's title says "reproduction report" only when every
experiment is a catalog study as the catalog defines it; a user's own spec drawn with a
study's section is titled with its own name.

The page opens with a table of contents (one anchor per section), the legend of the
verdict words, and a summary of every checked statement; each section is headed with
the sample size it rests on (and says so when it was run at reduced size). Wide tables
scroll inside their own box; light math markup in statements (``P^b``, ``s_{i_k}``,
``*word*``) is rendered as HTML.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as _dt
import html
import math
import re
import time
from collections.abc import Callable
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
.scroll { max-width: 100%; overflow-x: auto; } .scroll table { margin: 0.3em 0 0.6em; }
nav.toc { background: #f7f7f7; border: 1px solid #ddd; padding: 0.4em 1.2em; margin: 1em 0; }
nav.toc ol { margin: 0.3em 0; padding-left: 1.4em; } nav.toc li { margin: 0.15em 0; }
.legend td { text-align: left; } .heading-n { font-size: 0.6em; font-weight: normal; color: #555; }
td.text { text-align: left; } table.claims th, table.legend th { text-align: left; }
"""

_EM = re.compile(r"\*([^*\s][^*]*?)\*")
_SUP = re.compile(r"(?<=[A-Za-z0-9)])\^\{?([A-Za-z0-9′]+)\}?")
_SUB_BRACED = re.compile(r"\b([A-Za-z])_\{([^{}]*)\}")
_SUB = re.compile(r"\b([A-Za-z])_([A-Za-z0-9αβ]{1,2})\b")


def rich(text: str) -> str:
    """Plain text with light math markup as HTML: ``*gain*`` -> emphasis, ``P^b`` ->
    P<sup>b</sup>, ``s_{i_k}`` / ``r_j`` -> subscripts; everything else escaped.

    >>> rich("loss of *relay gain*, P^b = P^s, pair (s_{i_k}, r_{j_β}) & more, time_tasc_ms")
    'loss of <em>relay gain</em>, P<sup>b</sup> = P<sup>s</sup>, pair (s<sub>i<sub>k</sub></sub>, r<sub>j<sub>β</sub></sub>) &amp; more, time_tasc_ms'
    """
    out = html.escape(str(text), quote=False)
    out = _EM.sub(r"<em>\1</em>", out)
    out = _SUP.sub(r"<sup>\1</sup>", out)
    out = _SUB_BRACED.sub(lambda mt: mt.group(1) + "<sub>" + _SUB.sub(r"\1<sub>\2</sub>", mt.group(2)) + "</sub>", out)
    return _SUB.sub(r"\1<sub>\2</sub>", out)


def plain(text: str) -> str:
    """The same light markup as terminal text: emphasis dropped, braces of subscripts dropped.

    >>> plain("*relay gain*, pair (s_{i_k}, r_{j_β}), P^b")
    'relay gain, pair (s_ik, r_jβ), P^b'
    """
    out = _EM.sub(r"\1", str(text))
    return _SUB_BRACED.sub(lambda mt: mt.group(1) + "_" + mt.group(2).replace("_", ""), out)


def anchor(name: str) -> str:
    """An HTML id for a section name."""
    return re.sub(r"[^A-Za-z0-9_-]+", "-", str(name)).strip("-") or "section"


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


MISSING = "—"  # a cell with no number (NaN, None, <NA>): nothing to estimate there (see the table's note)
_MISSING_TITLE = "no value: nothing to estimate here (e.g. no samples, or a single one for a CI)"


def _fmt_cell(x) -> str:
    if x is None or x is pd.NA or x is pd.NaT:
        return MISSING
    if isinstance(x, (bool, np.bool_)):
        return "yes" if x else "no"
    if isinstance(x, (float, np.floating)):
        v = float(x)
        if math.isnan(v):
            return MISSING
        if not math.isfinite(v):
            return "∞" if v > 0 else "−∞"
        if v == int(v) and abs(v) < 1e6:
            return str(int(v))
        return f"{x:.4g}" if 1e-3 <= abs(v) < 1e5 else f"{x:.3e}"
    return rich(str(x))  # text cells carry the same light markup as statements (e.g. a tie rule's pair)


def _td(x) -> str:
    text = _fmt_cell(x)
    return f"<td title='{_MISSING_TITLE}'>{text}</td>" if text == MISSING else f"<td>{text}</td>"


def table_html(df: pd.DataFrame, max_rows: int = 60) -> str:
    """A table in a horizontally scrolling box (wide tables never overflow the page)."""
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in df.columns)
    body = []
    for row in df.head(max_rows).itertuples(index=False):
        body.append("<tr>" + "".join(_td(v) for v in row) + "</tr>")
    more = f"<p class='small'>… {len(df) - max_rows} more rows in the CSV.</p>" if len(df) > max_rows else ""
    if MISSING in "".join(body):
        more += f"<p class='small'>{MISSING} = {_MISSING_TITLE}.</p>"
    return (
        f"<div class='scroll'><table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table></div>{more}"
    )


def sample_size(store: ResultStore) -> str:
    """What a section's numbers rest on: replications per point and runs stored, and whether
    the experiment ran at fewer replications than its catalog spec (a reduced run)."""
    spec = store.spec
    done = len(store.done_runs())
    text = f"n = {spec.replications} per point, {done} run{'s' if done != 1 else ''}"
    from auctionlab.errors import AuctionlabError
    from auctionlab.experiments.catalog import CATALOG, catalog_spec

    full = None
    if spec.name in CATALOG:
        with contextlib.suppress(AuctionlabError):  # a damaged catalog entry must not stop the report
            full = catalog_spec(spec.name).replications
    if full is not None and spec.replications < full:
        text += f"; reduced run: {spec.replications} of the study's {full} replications"
    if done < store.manifest.get("n_runs", done):
        text += f"; incomplete: {done} of {store.manifest['n_runs']} runs stored"
    return text


def folder_key(root: Path, d: Path) -> str:
    """The results folder's path under the report's root (its own name when it is the root):
    figures and tables of that experiment live under ``figures/KEY`` and ``tables/KEY``."""
    rel = d.relative_to(root).as_posix() if d != root else ""
    return rel if rel not in ("", ".") else (d.resolve().name or "experiment")


def legend_html() -> str:
    from auctionlab.report.sections import VERDICTS

    rows = "".join(
        f"<tr><td class='{_css(v)}'>{html.escape(v)}</td><td>{html.escape(d)}</td></tr>" for v, d in VERDICTS.items()
    )
    return (
        f"<table class='legend'><thead><tr><th>verdict</th><th>meaning</th></tr></thead><tbody>{rows}</tbody></table>"
    )


def build_report(
    path: str | Path,
    out: str | Path | None = None,
    *,
    title: str | None = None,
    log: Callable[[str], None] | None = None,
) -> Path:
    """Write the HTML report for the results under ``path``; return the HTML file's path.

    ``log`` receives one plain line per section as it is built (progress for long reports)."""
    from auctionlab.report.sections import build_section, catalog_run

    root = Path(path)
    dirs = _order(experiment_dirs(root))
    html_path = Path(out) if out is not None else root / "report.html"
    base = html_path.parent
    # Figures and tables are kept per results folder (its path under ``root``), so two
    # experiments of the same name in different folders never overwrite each other's files.
    keys = [folder_key(root, d) for d in dirs]
    t0 = time.perf_counter()
    sections, sizes, ours = [], [], []
    for i, (d, key) in enumerate(zip(dirs, keys)):
        t1 = time.perf_counter()
        store = ResultStore.open(d)
        sections.append(build_section(store, base / "figures" / key))
        sizes.append(sample_size(store))
        ours.append(catalog_run(store.spec))
        if log is not None:
            log(
                f"report: [{i + 1}/{len(dirs)}] {d.name} ({time.perf_counter() - t1:.1f} s, "
                f"{time.perf_counter() - t0:.1f} s so far)"
            )
    ids = [anchor(k) for k in keys]
    if title is None:
        title = (
            "auctionlab: the catalog studies (reproduction report)"
            if all(ours)
            else "auctionlab: report on stored experiments"
        )

    parts = [
        (
            f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}"
            f"</title><style>{CSS}</style></head><body>"
        )
    ]
    parts.append(f"<h1>{html.escape(title)}</h1>")
    parts.append(
        f"<p class='small'>Generated {_dt.datetime.now(_dt.UTC).isoformat(timespec='seconds')} from "
        f"stored results in <code>{html.escape(str(root))}</code> (nothing was re-simulated). Versions: "
        + html.escape(", ".join(f"{k} {v}" for k, v in package_versions().items()))
        + ".</p>"
    )
    verdicts = [(s, sid, c) for s, sid in zip(sections, ids) for c in s.claims]
    toc = ["<nav class='toc'><strong>Contents</strong><ol>"]
    if verdicts:
        toc.append("<li><a href='#summary'>Summary of the checked statements</a></li>")
    toc.append("<li><a href='#legend'>Verdict legend</a></li>")
    for s, sid, n in zip(sections, ids, sizes):
        toc.append(
            f"<li><a href='#{sid}'>{rich(s.title)}</a> <span class='small'>({html.escape(s.name)}; "
            f"{html.escape(n)}; {len(s.claims)} statement{'s' if len(s.claims) != 1 else ''})</span></li>"
        )
    toc.append("</ol></nav>")
    parts.append("".join(toc))
    parts.append(
        "<h2 id='legend'>Verdict legend</h2>"
        + legend_html()
        + "<p class='small'>n after a verdict is the number of samples it rests on.</p>"
    )
    if verdicts:
        parts.append(
            "<h2 id='summary'>Summary of the checked statements</h2><div class='scroll'><table class='claims'><thead><tr>"
            "<th>experiment</th><th>statement</th><th>verdict on the stored results</th></tr></thead><tbody>"
        )
        for s, sid, c in verdicts:
            parts.append(
                f"<tr><td><a href='#{sid}'>{html.escape(s.name)}</a></td>"
                f"<td class='text'>{rich(c.statement)}</td>"
                f"<td class='{_css(c.verdict)}'>{html.escape(c.verdict)}{_n_text(c)}</td></tr>"
            )
        parts.append("</tbody></table></div>")
    for s, sid, n, key in zip(sections, ids, sizes, keys):
        tabdir = base / "tables" / key
        tabdir.mkdir(parents=True, exist_ok=True)
        parts.append(f"<h2 id='{sid}'>{rich(s.title)} <span class='heading-n'>({html.escape(n)})</span></h2>")
        if s.description:
            parts.append(f"<p>{rich(s.description)}</p>")
        parts.append(
            "<div class='scroll'><table class='settings'><tbody>"
            + "".join(
                f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(str(v))}</td></tr>" for k, v in s.settings.items()
            )
            + "</tbody></table></div>"
        )
        for f in s.figures:
            data = base64.b64encode(f.png.read_bytes()).decode()
            svg_rel = f.svg.relative_to(base).as_posix() if f.svg.is_relative_to(base) else f.svg.as_posix()
            parts.append(
                f"<figure><img alt='{html.escape(f.name)}' src='data:image/png;base64,{data}'>"
                f"<figcaption>{rich(f.caption)} <a href='{html.escape(svg_rel)}'>SVG</a></figcaption>"
                "</figure>"
            )
        if s.claims:
            parts.append(
                "<h3>Statements checked</h3><div class='scroll'><table class='claims'><thead><tr><th>statement</th>"
                "<th>verdict</th><th>numbers</th></tr></thead><tbody>"
            )
            for c in s.claims:
                parts.append(
                    f"<tr><td class='text'>{rich(c.statement)}</td>"
                    f"<td class='{_css(c.verdict)}'>{html.escape(c.verdict)}{_n_text(c)}</td>"
                    f"<td class='text'>{rich(c.evidence)}</td></tr>"
                )
            parts.append("</tbody></table></div>")
        for k, (caption, df) in enumerate(s.tables):
            csv = tabdir / f"{s.name}-{k + 1}.csv"
            df.to_csv(csv, index=False)
            parts.append(
                f"<h3>{rich(caption)}</h3>{table_html(df)}"
                f"<p class='small'><a href='{csv.relative_to(base).as_posix()}'>CSV</a></p>"
            )
        for name, df in s.data:
            csv = tabdir / f"{name}.csv"
            df.to_csv(csv, index=False)
            parts.append(
                f"<details><summary>Numbers behind the figure: {html.escape(name)} ({len(df)} rows, "
                f"<a href='{csv.relative_to(base).as_posix()}'>CSV</a>)</summary>{table_html(df, 400)}</details>"
            )
        for note in s.notes:
            parts.append(f"<p class='small'>{rich(note)}</p>")
    parts.append("</body></html>")
    html_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = html_path.with_name(html_path.name + ".tmp")
    tmp.write_text("\n".join(parts), encoding="utf-8")
    tmp.replace(html_path)
    return html_path
