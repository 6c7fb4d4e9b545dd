"""The experiment catalog: the TASC paper's §6 at the paper's scale, and the strategic studies.

Specs are TOML files beside this module (copy one to start your own). ``REPRODUCE`` is
what ``auctionlab reproduce`` runs, in order, and ``REPRODUCE_CAPS`` the replications it caps
each at: every study at the sample its verdicts need, below its catalog size (run
``auctionlab run NAME`` for the full study). Both come from the studies' declarations.
"""

from __future__ import annotations

from pathlib import Path

from auctionlab.errors import UnknownNameError

HERE = Path(__file__).parent
CATALOG: dict[str, Path] = {p.stem: p for p in sorted(HERE.glob("*.toml"))}


def __getattr__(name: str):
    # What ``auctionlab reproduce`` runs and its caps are declared by the studies
    # (auctionlab.studies, one layer up); these names are kept for existing callers.
    if name in ("REPRODUCE", "REPRODUCE_CAPS"):
        from auctionlab.studies import reproduce_list

        caps = {s.name: s.reproduce_cap for s in reproduce_list()}
        return tuple(caps) if name == "REPRODUCE" else caps
    raise AttributeError(name)


def catalog_spec(name: str):
    """The ExperimentSpec of a catalog entry."""
    from auctionlab.experiments.spec import load_spec

    if name not in CATALOG:
        raise UnknownNameError(f"unknown catalog experiment {name!r}; available: {', '.join(CATALOG)}")
    return load_spec(CATALOG[name])
