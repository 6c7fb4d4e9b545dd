"""Report sections of the exchange studies — kept here for existing imports.

Each study's section lives with the study: :mod:`auctionlab.studies.ice_convergence.section`,
:mod:`auctionlab.studies.ice_manipulation.section` and
:mod:`auctionlab.studies.tournament_exchange.section` (each ``dataset`` → ``figures`` →
``claims``, composed by ``build``).
"""

from __future__ import annotations

from auctionlab.studies.ice_convergence.section import build as convergence_section
from auctionlab.studies.ice_manipulation.section import build as manipulation_section
from auctionlab.studies.tournament_exchange.section import (
    build as tournament_section,
)
from auctionlab.studies.tournament_exchange.section import (
    payoff_samples,
    replicator_from_samples,
)

__all__ = ["convergence_section", "manipulation_section", "payoff_samples", "replicator_from_samples",
           "tournament_section"]
