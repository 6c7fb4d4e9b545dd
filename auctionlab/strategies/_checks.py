"""Parameter checks shared by the strategy modules (ConfigError with the strategy's name)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from auctionlab.errors import ConfigError


def check_finite(x: Any, name: str, who: str, *, lo: float | None = None) -> float:
    try:
        v = float(x)
    except (TypeError, ValueError):
        raise ConfigError(f"{who}: {name} must be a number, got {x!r}") from None
    if not math.isfinite(v):
        raise ConfigError(f"{who}: {name} must be finite, got {x!r}")
    if lo is not None and v < lo:
        raise ConfigError(f"{who}: {name} must be >= {lo}, got {x!r}")
    return v


def check_grid(values: Any, name: str, who: str, *, lo: float | None = None) -> np.ndarray:
    try:
        arr = np.asarray(values, dtype=np.float64).ravel()
    except (TypeError, ValueError):
        raise ConfigError(f"{who}: {name} must be a sequence of numbers, got {values!r}") from None
    if arr.size == 0:
        raise ConfigError(f"{who}: {name} must not be empty")
    if not np.all(np.isfinite(arr)) or (lo is not None and np.any(arr < lo)):
        raise ConfigError(f"{who}: {name} must be finite{f' and >= {lo}' if lo is not None else ''}, got {values!r}")
    return arr


def is_vector(x: Any) -> bool:
    return isinstance(x, np.ndarray) and x.ndim == 1
