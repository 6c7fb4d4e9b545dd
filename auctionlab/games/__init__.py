"""Empirical games: payoff tables estimated from simulation, their regret, and equilibrium solvers.

The studies ask "is truthful bidding an equilibrium?" and "which mix of strategies is stable?"
of games nobody can write down: payoffs come from simulating each strategy profile many
times. The package, module by module:

- :mod:`.game` — :class:`EmpiricalGame`, a normal-form game whose payoff table holds
  *per-profile samples* (players, or the roles of a role game), with regret and deviation
  gains; ``paired=True`` when the samples come from common instances.
- :mod:`.rsgame` — :class:`RoleSymmetricGame`, the count-based role-symmetric game:
  profiles are counts per role and strategy, with pure and mixture regret and deviation gains.
- :mod:`.regret` — the vectorised regret kernels on payoff tensors.
- :mod:`.bootstrap` — bootstrap distributions of regret, independent or paired.
- :mod:`.solvers` — :data:`SOLVERS` and :func:`solve`, the exact two-player solvers
  (``support_enumeration``, ``lemke_howson``), :func:`pure_equilibria`,
  :func:`all_equilibria` and :func:`is_unique`.
- :mod:`.dynamics` — ``replicator_dynamics``, ``regret_matching``, ``fictitious_play``
  (each reports whether it converged) and one-population :func:`replicator_trajectory`.
"""

from auctionlab.games.dynamics import (
    fictitious_play,
    regret_matching,
    replicator_dynamics,
    replicator_trajectory,
    trajectory_frame,
)
from auctionlab.games.game import EmpiricalGame, Mixture, Profile, as_game
from auctionlab.games.rsgame import RoleSymmetricGame
from auctionlab.games.solvers import (
    SOLVERS,
    EquilibriumResult,
    Solver,
    all_equilibria,
    is_unique,
    lemke_howson,
    pure_equilibria,
    register_exact_solvers,
    solve,
    support_enumeration,
)

register_exact_solvers()  # after the dynamics, which registered on import

__all__ = [
    "SOLVERS",
    "EmpiricalGame",
    "EquilibriumResult",
    "Mixture",
    "Profile",
    "RoleSymmetricGame",
    "Solver",
    "all_equilibria",
    "as_game",
    "fictitious_play",
    "is_unique",
    "lemke_howson",
    "pure_equilibria",
    "regret_matching",
    "replicator_dynamics",
    "replicator_trajectory",
    "solve",
    "support_enumeration",
    "trajectory_frame",
]
