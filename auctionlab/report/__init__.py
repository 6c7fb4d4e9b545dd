"""The report: read stored tables back into pandas and never re-simulate.

- :mod:`.stats` — bootstrap / normal confidence intervals; :mod:`.metrics` — grouped means
  with t intervals, trends; :mod:`.plots` — bands, PNG + SVG;
- :mod:`.sections` — a section per stored experiment (each study's own section lives with the
  study in :mod:`auctionlab.studies`), claims with their verdicts and sample sizes;
- :mod:`.html` — ``build_report(path)`` writes ``report.html``.
"""

from auctionlab.report.html import build_report

__all__ = ["build_report"]
