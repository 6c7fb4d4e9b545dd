"""Report sections of the relay strategic studies, under their former import path.

The sections live with their studies — :mod:`auctionlab.studies.relay_manipulation.section`,
:mod:`auctionlab.studies.tournament.section`, :mod:`auctionlab.studies.equilibrium.section` —
each split into ``dataset`` (tidy frames), ``figures``, ``claims`` and ``build``; the
palette, labels and order they share are in :mod:`auctionlab.studies.relay_common`. This
module re-exports their public names so that existing scripts and notebooks keep working.
"""

from __future__ import annotations

from auctionlab.studies.equilibrium.section import (
    NEAR_TRUTH,
    SOLVER_TOL,
    role_game,
    unilateral_regret,
)
from auctionlab.studies.equilibrium.section import build as equilibrium_section
from auctionlab.studies.relay_common import (
    ALG_STYLE,
    ANALYSIS_STREAM,
    N_BOOT,
    PALETTE,
    TOL,
    mech_color,
    mech_label,
    mech_order,
    mechanism_of,
    variant_order,
)
from auctionlab.studies.relay_common import has as _has
from auctionlab.studies.relay_common import variant_color as _vcolor
from auctionlab.studies.relay_common import variant_label as _vlabel
from auctionlab.studies.relay_manipulation.section import (
    COMMON,
    RARE,
    per_instance_gains,
    price_of_truthfulness,
)
from auctionlab.studies.relay_manipulation.section import build as manipulation_section
from auctionlab.studies.tournament.section import (
    REPLICATOR_BOOT,
    REPLICATOR_DT,
    REPLICATOR_STEPS,
    replicator,
    tournament_matrices,
    tournament_roles,
)
from auctionlab.studies.tournament.section import build as tournament_section

__all__ = [
    "ALG_STYLE",
    "ANALYSIS_STREAM",
    "COMMON",
    "NEAR_TRUTH",
    "N_BOOT",
    "PALETTE",
    "RARE",
    "REPLICATOR_BOOT",
    "REPLICATOR_DT",
    "REPLICATOR_STEPS",
    "SOLVER_TOL",
    "TOL",
    "_has",
    "_vcolor",
    "_vlabel",
    "equilibrium_section",
    "manipulation_section",
    "mech_color",
    "mech_label",
    "mech_order",
    "mechanism_of",
    "per_instance_gains",
    "price_of_truthfulness",
    "replicator",
    "role_game",
    "tournament_matrices",
    "tournament_roles",
    "tournament_section",
    "unilateral_regret",
    "variant_order",
]
