"""Check a built report in a real (headless) browser.

:func:`check_report` opens ``report.html`` in headless Chromium at a normal desktop width and
returns the problems a reader would see, one line each:

- an image that did not load (``naturalWidth`` 0) or a link to a figure or CSV file that is missing;
- a table cell reading ``nan``, ``None``, ``inf``, ``<NA>`` or ``NaT`` instead of a number or a dash;
- anything wider than the main column: the page scrolls sideways, or an element's right edge
  lies beyond the column's without a scrolling box around it;
- markup left raw in the visible text (``*word*``, ``P^b``, ``s_{i}``) or the word ``SPEC``.

``python -m auctionlab.report.check [results/report.html]`` prints the problems and exits with
status 1 when there are any (``make check-report``). Needs selenium (the ``[viz]`` extra) and
a Chromium with its ChromeDriver.
"""

from __future__ import annotations

import re
import sys
import urllib.parse
from pathlib import Path

from auctionlab.errors import ConfigError

# what pandas, numpy and Python print for a missing or infinite number (the word "none" is text)
BAD_CELLS = frozenset(
    {
        "nan",
        "NaN",
        "NAN",
        "None",
        "inf",
        "-inf",
        "+inf",
        "Inf",
        "-Inf",
        "Infinity",
        "-Infinity",
        "<NA>",
        "NaT",
        "null",
        "undefined",
    }
)
# ... or inside a cell's text ("0.5 ± nan")
_BAD_TOKEN = re.compile(r"(?<![\w.<])(?:nan|NaN|inf|<NA>|NaT)(?![\w>])")
RAW_MARKUP = (
    (re.compile(r"(?<![\w*])\*[A-Za-z][^*\n]{0,40}?\*(?![\w*])"), "emphasis markup"),
    (re.compile(r"[A-Za-z0-9)]\^[{A-Za-z0-9]"), "superscript markup"),
    (re.compile(r"\b[A-Za-z]_\{"), "subscript markup"),
    (re.compile(r"\bSPEC\b"), "the word SPEC"),
)

_LOADED_JS = "return document.readyState === 'complete' && Array.from(document.images).every((i) => i.complete);"

# Runs in the page: every problem the layout shows, as [kind, detail] pairs.
_LAYOUT_JS = r"""
const out = [];
const de = document.documentElement;
if (de.scrollWidth > window.innerWidth + 1) {
  out.push(["overflow", "the page is " + de.scrollWidth + " px wide in a " + window.innerWidth + " px window"]);
}
for (const img of document.images) {
  if (!img.complete || img.naturalWidth === 0) {
    out.push(["image", "image not loaded: " + (img.alt || img.src.slice(0, 60))]);
  }
}
const body = document.body.getBoundingClientRect();
const clipped = (el) => {
  for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
    const ox = getComputedStyle(p).overflowX;
    if (ox === "auto" || ox === "scroll" || ox === "hidden") return true;
  }
  return false;
};
const seen = new Set();
for (const el of document.body.querySelectorAll("*")) {
  const r = el.getBoundingClientRect();
  // a block keeps the column's width while its content spills out: count the content's extent
  // too, unless the element scrolls or clips it itself
  const own = getComputedStyle(el).overflowX;
  const right = own === "visible" ? Math.max(r.right, r.left + el.scrollWidth) : r.right;
  if (r.width === 0 || right <= body.right + 1 || clipped(el)) continue;
  let p = el.parentElement, inside = false;
  for (; p; p = p.parentElement) if (seen.has(p)) { inside = true; break; }
  seen.add(el);
  if (inside) continue;
  const id = el.id ? "#" + el.id : "";
  out.push(["overflow", "<" + el.tagName.toLowerCase() + id + "> reaches " + Math.round(right) +
            " px, beyond the main column's right edge at " + Math.round(body.right) + " px: " +
            (el.innerText || el.alt || "").trim().slice(0, 60)]);
}
const cells = [];
for (const td of document.querySelectorAll("td, th")) cells.push(td.textContent.trim());
return [out, cells, document.body.innerText];
"""


def page_problems(layout: list, cells: list[str], text: str) -> list[str]:
    """The problems in what the browser returned (layout findings, cell texts, visible text)."""
    problems = [f"{kind}: {detail}" for kind, detail in layout]
    bad = sorted({c for c in cells if c in BAD_CELLS or _BAD_TOKEN.search(c)})
    for c in bad:
        problems.append(f"cell: {sum(x == c for x in cells)} table cell(s) read {c!r}")
    for pattern, what in RAW_MARKUP:
        found = sorted({m.group(0) for m in pattern.finditer(text)})
        if found:
            problems.append(f"markup: {what} left raw in the text: {', '.join(found[:5])}")
    return problems


def missing_links(html_path: Path) -> list[str]:
    """Relative links and image sources of the report that point at no file."""
    html = html_path.read_text(encoding="utf-8")
    out = []
    for ref in sorted(set(re.findall(r"(?:href|src)='([^']+)'", html))):
        if ref.startswith(("#", "data:", "http:", "https:", "mailto:")):
            continue
        target = html_path.parent / urllib.parse.unquote(ref)
        if not target.is_file():
            out.append(f"link: {ref} points at no file")
    return out


def check_report(path: str | Path, *, width: int = 1280, height: int = 900, timeout: float = 120.0) -> list[str]:
    """Open the report in headless Chromium ``width`` px wide; the problems it shows (empty: none)."""
    from auctionlab.viz.browser import open_browser, wait_for

    html_path = Path(path)
    if html_path.is_dir():
        html_path = html_path / "report.html"
    if not html_path.is_file():
        raise ConfigError(f"no report at {html_path} (build one with `auctionlab report DIR`)")
    problems = missing_links(html_path)
    driver = open_browser(width, height)
    try:
        driver.set_window_size(width, height)
        driver.get(html_path.resolve().as_uri())
        # a long page (megabytes of embedded figures) on a busy machine may still be parsing
        wait_for(driver, lambda d: d.execute_script(_LOADED_JS), timeout=timeout)
        layout, cells, text = driver.execute_script(_LAYOUT_JS)
    finally:
        driver.quit()
    return problems + page_problems(layout, cells, text)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    path = Path(args[0] if args else "results/report.html")
    problems = check_report(path)
    for p in problems:
        print(p)
    print(f"{path}: {len(problems)} problem{'s' if len(problems) != 1 else ''}")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
