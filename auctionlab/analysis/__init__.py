"""Analysis: read stored tables back into pandas and never re-simulate.

- :mod:`.stats` — bootstrap / normal confidence intervals; :mod:`.games` — empirical games;
- :mod:`.metrics` — grouped means with t intervals, trends; :mod:`.plots` — bands, PNG + SVG;
- :mod:`.sections`, :mod:`.paper` — one report section per stored experiment (the TASC
  paper's figures and verdicts); :mod:`.report` — ``build_report(path)`` writes ``report.html``.
"""
