"""The experiment catalog: the TASC paper's §6 at the paper's scale, and a small ICE run.

Specs are TOML files beside this module (copy one to start your own). ``REPRODUCE`` is
what ``auctionlab reproduce`` runs, in order.
"""

from __future__ import annotations

from pathlib import Path

from auctionlab.errors import UnknownNameError

HERE = Path(__file__).parent
CATALOG: dict[str, Path] = {p.stem: p for p in sorted(HERE.glob("*.toml"))}
REPRODUCE = ("tasc-truthfulness", "tasc-profit", "tasc-efficiency", "tasc-runtime", "ice-convergence")


def catalog_spec(name: str):
    """The ExperimentSpec of a catalog entry."""
    from auctionlab.experiments.spec import load_spec

    if name not in CATALOG:
        raise UnknownNameError(f"unknown catalog experiment {name!r}; available: {', '.join(CATALOG)}")
    return load_spec(CATALOG[name])
