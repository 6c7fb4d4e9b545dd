"""Input checks shared by the mechanisms.

Checks are cheap on the happy path (one or two reductions) and only do the detailed
diagnosis when something is wrong, so that the error message can name the bad entry.
"""

from __future__ import annotations

import numpy as np

from auctionlab.errors import ConfigError, InvalidReportError, ShapeError


def as_float_array(x, name: str, shape: tuple[int | None, ...]) -> np.ndarray:
    """``x`` as a float64 array of the given shape (``None`` = any length)."""
    try:
        arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InvalidReportError(f"{name} must be numeric: {exc}") from None
    if arr.shape != shape and (  # the tuple comparison settles a fully given shape at once
        arr.ndim != len(shape) or any(s is not None and s != a for s, a in zip(shape, arr.shape))
    ):
        dims = ["any" if s is None else str(s) for s in shape]
        want = f"({dims[0]},)" if len(dims) == 1 else "(" + ", ".join(dims) + ")"
        raise ShapeError(f"{name} must have shape {want}, got {arr.shape}")
    return arr


def check_nonnegative_finite(
    arr: np.ndarray, name: str, error: type[Exception] = InvalidReportError
) -> None:
    """Raise ``error`` naming the first NaN, infinite or negative entry of ``arr``."""
    if arr.size == 0:
        return
    # The ufunc reductions skip the ndarray-method wrappers (a few microseconds per call on
    # the mechanisms' hot path); NaN propagates into both.
    if np.minimum.reduce(arr, axis=None) >= 0.0 and np.maximum.reduce(arr, axis=None) < np.inf:
        return
    bad = ~np.isfinite(arr) | (arr < 0)
    idx = tuple(int(i) for i in np.argwhere(bad)[0])
    where = idx[0] if len(idx) == 1 else idx
    raise error(
        f"{name}[{where}] = {float(arr[idx])}: values must be finite and non-negative"
    )


def check_positive_int(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ConfigError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def check_positive_float(value, name: str) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{name} must be a positive number, got {value!r}") from None
    if not np.isfinite(v) or v <= 0:
        raise ConfigError(f"{name} must be a positive finite number, got {value!r}")
    return v
