"""A replicator ecosystem over a tournament's payoff matrix (no market is re-simulated).

Shares ``x`` of a large population evolve by the discrete replicator map
``x_a ← x_a · f_a / (x · f)`` with fitness ``f = A x − min(A) + floor`` (``A`` the payoff
matrix, shifted so that every fitness is positive; the shift changes the speed, not the rest
points). A strictly dominant strategy takes over; the shares of a tie stay where they are.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from auctionlab._validate import check_float, check_int
from auctionlab.errors import ConfigError, InvalidInputError, ShapeError
from auctionlab.games import trajectory_frame

__all__ = ["Ecosystem", "payoff_matrix_of"]


def payoff_matrix_of(results: Any, names: Sequence[str] | None = None) -> tuple[np.ndarray, list[str]]:
    """The checked square payoff matrix of a result set (or of a matrix) and its strategy names
    (``names``, else the result set's ``players``, else 0..k-1)."""
    matrix = getattr(results, "payoff_matrix", results)
    try:
        a = np.array(matrix, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"payoff matrix must be numeric: {exc}") from None
    if a.ndim != 2 or a.shape[0] != a.shape[1] or a.shape[0] == 0:
        raise ShapeError(f"payoff matrix must be square (k, k), got {a.shape}")
    if not np.all(np.isfinite(a)):
        raise InvalidInputError("payoff matrix has NaN/inf entries")
    k = a.shape[0]
    labels = list(names if names is not None else getattr(results, "players", range(k)))
    if len(labels) != k:
        raise ShapeError(f"got {len(labels)} names for a {k} x {k} payoff matrix")
    return a, labels


class Ecosystem:
    """Population shares over time from a :class:`~auctionlab.tournament.ResultSet` (or a square payoff matrix).

    ``population`` is the initial shares (normalised; default uniform). :meth:`reproduce`
    appends turns to :attr:`population_sizes` (one share vector per turn, row 0 the start).
    """

    def __init__(
        self,
        results: Any,
        population: Sequence[float] | None = None,
        *,
        floor: float = 1e-9,
        names: Sequence[str] | None = None,
    ) -> None:
        a, self.names = payoff_matrix_of(results, names)
        k = a.shape[0]
        if population is None:
            x = np.full(k, 1.0 / k)
        else:
            x = np.array(population, dtype=np.float64)
            if x.shape != (k,) or not np.all(np.isfinite(x)) or x.min() < 0 or x.sum() <= 0:
                raise InvalidInputError(f"population must be {k} non-negative numbers, not all 0; got {population!r}")
            x = x / x.sum()
        self.payoff_matrix = a
        self.floor = check_float(floor, "floor", minimum=0.0, open_min=True)
        self.population_sizes: list[np.ndarray] = [x]

    def reproduce(self, turns: int) -> Ecosystem:
        """Run ``turns`` replicator updates; returns ``self``."""
        turns = check_int(turns, "turns", minimum=0)
        a, shift = self.payoff_matrix, float(self.payoff_matrix.min()) - self.floor
        x = self.population_sizes[-1]
        for _ in range(turns):
            fit = a @ x - shift
            total = float(x @ fit)
            if not total > 0:  # pragma: no cover - fit > 0 by construction
                raise ConfigError("ecosystem fitness must be positive")
            x = x * fit / total
            self.population_sizes.append(x)
        return self

    @property
    def shares(self) -> np.ndarray:
        """Shares per turn, shape ``(turns + 1, k)``."""
        return np.vstack(self.population_sizes)

    def frame(self) -> pd.DataFrame:
        """Tidy ``step, time, strategy, share`` table (for a stack or line plot)."""
        return trajectory_frame(self.shares, self.names)
