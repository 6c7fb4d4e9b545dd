"""Report sections of the TASC paper's §6 (Figs. 8–11), under their former names.

Each study keeps its own section in :mod:`auctionlab.studies` (``tasc_truthfulness``,
``tasc_profit``, ``tasc_efficiency``, ``tasc_runtime``: ``dataset`` -> ``figures`` ->
``claims``, and ``build``); this module re-exports the builders.
"""

from __future__ import annotations

from auctionlab.studies.tasc_efficiency.section import build as efficiency_section
from auctionlab.studies.tasc_profit.section import build as profit_section
from auctionlab.studies.tasc_runtime.section import build as runtime_section
from auctionlab.studies.tasc_truthfulness.section import build as truthfulness_section

__all__ = ["efficiency_section", "profit_section", "runtime_section", "truthfulness_section"]
