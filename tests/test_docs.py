"""The documentation runs: doctest blocks of docs/**/*.md, the how-tos' Python blocks, the
README's Python examples, and the site build with warnings as errors."""

from __future__ import annotations

import doctest
import importlib
import os
import re
import runpy
import shutil
import subprocess
import sys
import types
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
FENCE = re.compile(
    r"^(?P<indent>[ \t]*)```(?P<lang>[\w+-]*)[^\n]*\n(?P<body>.*?)^(?P=indent)```[ \t]*$", re.MULTILINE | re.DOTALL
)
FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def fenced_blocks(path: Path) -> list[tuple[str, str, int]]:
    """(language, body, line number of the body) of every fenced block of a Markdown file."""
    text = path.read_text(encoding="utf-8")
    out = []
    for m in FENCE.finditer(text):
        indent = len(m.group("indent"))
        body = "\n".join(line[indent:] for line in m.group("body").splitlines())
        out.append((m.group("lang"), body, text.count("\n", 0, m.start("body")) + 1))
    return out


def is_doctest(body: str) -> bool:
    return body.lstrip().startswith(">>>")


def pages() -> list[Path]:
    return sorted(DOCS.rglob("*.md"))


def doctest_pages() -> list[Path]:
    return [p for p in pages() if any(is_doctest(b) for _, b, _ in fenced_blocks(p))]


def script_pages() -> list[Path]:
    return [p for p in pages() if any(lang == "python" and not is_doctest(b) for lang, b, _ in fenced_blocks(p))]


def _id(p: Path) -> str:
    return str(p.relative_to(ROOT))


def _relay_mechanisms():
    """The relay mechanisms' registry, wherever the relay mechanisms' package lives."""
    for name in ("auctionlab.mechanisms.relay", "auctionlab.mechanisms.relay"):
        try:
            return importlib.import_module(name).MECHANISMS
        except ImportError:
            continue
    raise ImportError("no relay mechanisms package found")


@pytest.fixture
def in_tmp(tmp_path, monkeypatch):
    """Run in a scratch folder, with auctionlab's registries restored afterwards."""
    from auctionlab.experiments import RUN_KINDS
    from auctionlab.strategies import STRATEGIES
    from auctionlab.studies import STUDIES

    registries = [RUN_KINDS, _relay_mechanisms(), STRATEGIES, STUDIES]
    saved = [dict(r.items()) for r in registries]
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    yield tmp_path
    for r, s in zip(registries, saved):
        dict.clear(r)
        dict.update(r, s)


@pytest.mark.parametrize("page", doctest_pages(), ids=_id)
def test_doctest_blocks(page, in_tmp):
    """Every ``>>>`` block of a page, in order, in one namespace, output checked."""
    blocks = [(b, line) for _, b, line in fenced_blocks(page) if is_doctest(b)]
    parser = doctest.DocTestParser()
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    globs: dict = {"__name__": "__docs__"}
    for body, line in blocks:
        test = parser.get_doctest(body + "\n", globs, f"{page.name}:{line}", str(page), line)
        runner.run(test, clear_globs=False)
        globs = test.globs  # the parser copies the namespace: carry it to the next block
    res = runner.summarize(verbose=False)
    assert res.failed == 0, f"{res.failed} of {res.attempted} examples of {_id(page)} failed (see stdout)"
    assert res.attempted > 0


@pytest.mark.parametrize("page", script_pages(), ids=_id)
def test_python_blocks(page, in_tmp):
    """A page's ``python`` blocks run in order in one fresh namespace."""
    # a real module, so that dataclasses (and pickling) defined on the page find their module
    name = "_docs_" + re.sub(r"\W", "_", str(page.relative_to(DOCS).with_suffix("")))
    module = types.ModuleType(name)
    module.__file__ = str(page)
    sys.modules[name] = module
    try:
        for lang, body, line in fenced_blocks(page):
            if lang == "python" and not is_doctest(body):
                exec(compile("\n" * (line - 1) + body, str(page), "exec"), module.__dict__)
    finally:
        del sys.modules[name]


def readme_blocks() -> list[tuple[str, int]]:
    return [(b, line) for lang, b, line in fenced_blocks(ROOT / "README.md") if lang == "python"]


@pytest.mark.parametrize("block", readme_blocks(), ids=lambda b: f"README.md:{b[1]}")
def test_readme_examples(block, in_tmp):
    """Each README example runs as a script of its own in a scratch folder."""
    body, line = block
    script = in_tmp / f"readme_{line}.py"
    script.write_text("\n" * (line - 1) + body, encoding="utf-8")
    runpy.run_path(str(script), run_name="__main__")


def toml_specs() -> list[tuple[Path, str, int]]:
    return [
        (p, b, line)
        for p in [*pages(), ROOT / "README.md"]
        for lang, b, line in fenced_blocks(p)
        if lang == "toml" and "model" in b
    ]


@pytest.mark.parametrize("block", toml_specs(), ids=lambda b: f"{_id(b[0])}:{b[2]}")
def test_toml_specs_are_valid(block):
    """A spec shown in the docs parses, and its run kind accepts its parameters and metrics."""
    import tomllib

    from auctionlab.experiments import parse_spec

    _, body, _ = block
    spec = parse_spec(tomllib.loads(body))
    assert spec.name


def _mkdocs() -> str | None:
    exe = Path(sys.executable).with_name("mkdocs")
    return str(exe) if exe.exists() else shutil.which("mkdocs")


def test_site_builds(tmp_path):
    """``mkdocs build --strict`` (warnings are errors) into a scratch folder."""
    pytest.importorskip("mkdocs")
    pytest.importorskip("mkdocstrings")
    exe = _mkdocs()
    if exe is None:
        pytest.skip("mkdocs is not installed")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "MPLBACKEND": "Agg"}
    proc = subprocess.run(
        [exe, "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (tmp_path / "site" / "index.html").is_file()
    assert (tmp_path / "site" / "tutorial" / "index.html").is_file()
