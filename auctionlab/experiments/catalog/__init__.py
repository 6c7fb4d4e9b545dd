"""The experiment catalog: the TASC paper's §6 at the paper's scale, and the strategic studies.

Specs are TOML files beside this module (copy one to start your own). ``REPRODUCE`` is
what ``auctionlab reproduce`` runs, in order.
"""

from __future__ import annotations

from pathlib import Path

from auctionlab.errors import UnknownNameError

HERE = Path(__file__).parent
CATALOG: dict[str, Path] = {p.stem: p for p in sorted(HERE.glob("*.toml"))}
# What ``auctionlab reproduce`` runs, in order, with the replications it caps each at (None =
# the spec's own). The TASC paper runs at full scale; the strategic studies run at reduced
# replications so that the whole job fits in five minutes on two cores — run
# ``auctionlab run NAME`` for the full study (minutes to tens of minutes each).
REPRODUCE_CAPS: dict[str, int | None] = {
    "tasc-truthfulness": None,
    "tasc-profit": None,
    "tasc-efficiency": None,
    "tasc-runtime": None,
    "ice-convergence": 1,
    "relay-manipulation": 30,
    "tournament": 8,
    "equilibrium": 2,
    "ice-manipulation": 2,
    "tournament-exchange": 1,
}
REPRODUCE = tuple(REPRODUCE_CAPS)


def catalog_spec(name: str):
    """The ExperimentSpec of a catalog entry."""
    from auctionlab.experiments.spec import load_spec

    if name not in CATALOG:
        raise UnknownNameError(f"unknown catalog experiment {name!r}; available: {', '.join(CATALOG)}")
    return load_spec(CATALOG[name])
