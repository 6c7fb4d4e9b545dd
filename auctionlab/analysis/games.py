"""Empirical games — the former one-module home of :mod:`auctionlab.games`, kept as a re-export.

Every public name it had is importable from here unchanged; new code imports from
:mod:`auctionlab.games` (which also has the exact two-player solvers, the paired bootstrap
and the count-based role-symmetric game).
"""

from auctionlab.games import (
    SOLVERS,
    EmpiricalGame,
    EquilibriumResult,
    Mixture,
    Profile,
    Solver,
    fictitious_play,
    pure_equilibria,
    regret_matching,
    replicator_dynamics,
    replicator_trajectory,
    solve,
    trajectory_frame,
)

__all__ = [
    "SOLVERS",
    "EmpiricalGame",
    "EquilibriumResult",
    "Mixture",
    "Profile",
    "Solver",
    "fictitious_play",
    "pure_equilibria",
    "regret_matching",
    "replicator_dynamics",
    "replicator_trajectory",
    "solve",
    "trajectory_frame",
]
