"""The project's one validation module: input checks used by every public entry point.

Checks are cheap on the happy path (one or two reductions) and only do the detailed
diagnosis when something is wrong, so that the error message can name the bad entry.
Exact types: booleans are not numbers, non-integers are not indices, complex and
strings are rejected where a number is expected.

>>> check_int(3, "n", minimum=1)
3
>>> check_int(True, "n")
Traceback (most recent call last):
...
auctionlab.errors.ConfigError: n must be an integer, got True
>>> check_float(0.5, "rho", minimum=0.0, maximum=1.0)
0.5
>>> check_choice("mwm", "algorithm", ("mwm", "mm", "ora"))
'mwm'
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from auctionlab.errors import ConfigError, InvalidReportError, ShapeError, UnknownNameError


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


def check_nonnegative_finite(arr: np.ndarray, name: str, error: type[Exception] = InvalidReportError) -> None:
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
    raise error(f"{name}[{where}] = {float(arr[idx])}: values must be finite and non-negative")


def is_real_number(value: Any) -> bool:
    """True for int / float / NumPy real scalars; False for bools, complex, strings, arrays."""
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))


def check_int(
    value: Any,
    name: str,
    *,
    minimum: int | None = None,
    maximum: int | None = None,
    error: type[Exception] = ConfigError,
) -> int:
    """``value`` as an ``int``: Python or NumPy integers only (not bools, not 2.0), within the bounds."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise error(f"{name} must be an integer, got {value!r}")
    v = int(value)
    if minimum is not None and v < minimum:
        raise error(f"{name} must be at least {minimum}, got {v}")
    if maximum is not None and v > maximum:
        raise error(f"{name} = {v} is too large (at most {maximum})")
    return v


def check_positive_int(value: Any, name: str, *, maximum: int | None = None) -> int:
    """A positive integer (``>= 1``)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ConfigError(f"{name} must be a positive integer, got {value!r}")
    return check_int(value, name, maximum=maximum)


def check_float(
    value: Any,
    name: str,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    open_min: bool = False,
    open_max: bool = False,
    finite: bool = True,
    error: type[Exception] = ConfigError,
) -> float:
    """``value`` as a finite ``float`` (reals only: no bools, complex or strings) within the bounds;
    ``open_min`` / ``open_max`` exclude the bound itself."""
    if not is_real_number(value):
        raise error(f"{name} must be a real number, got {value!r}")
    v = float(value)
    if np.isnan(v) or (finite and not np.isfinite(v)):
        raise error(f"{name} must be a finite number, got {value!r}")
    if minimum is not None and (v < minimum or (open_min and v == minimum)):
        raise error(f"{name} must be {'>' if open_min else '>='} {minimum}, got {value!r}")
    if maximum is not None and (v > maximum or (open_max and v == maximum)):
        raise error(f"{name} must be {'<' if open_max else '<='} {maximum}, got {value!r}")
    return v


def check_positive_float(value: Any, name: str) -> float:
    """A positive finite real number."""
    if not is_real_number(value) or not np.isfinite(float(value)) or float(value) <= 0:
        raise ConfigError(f"{name} must be a positive finite number, got {value!r}")
    return float(value)


def check_bool(value: Any, name: str) -> bool:
    """A real boolean (``True`` / ``False`` or a NumPy bool); ``'no'`` or ``0`` are rejected."""
    if not isinstance(value, (bool, np.bool_)):
        raise ConfigError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def check_choice(value: Any, name: str, allowed: Iterable[Any]) -> Any:
    """One of ``allowed`` (compared by equality; unhashable values are rejected by name)."""
    allowed = tuple(allowed)
    if not isinstance(value, (str, int, float, type(None))) or value not in allowed:
        raise ConfigError(f"{name} must be one of {', '.join(map(repr, allowed))}, got {value!r}")
    return value


def check_names(value: Any, name: str, allowed: Iterable[str], what: str) -> list[str]:
    """A non-empty list of distinct registered names (a single string counts as a list of one)."""
    allowed = set(allowed)
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, (list, tuple)) or not items:
        raise ConfigError(f"{name} must be a non-empty list of {what} names, got {value!r}")
    for x in items:
        if not isinstance(x, str) or x not in allowed:
            raise UnknownNameError(f"unknown {what} {x!r} in {name}; available: {', '.join(sorted(allowed))}")
    if len(set(items)) != len(items):
        raise ConfigError(f"{name} lists a name twice: {value!r}")
    return list(items)


def check_rng(rng: Any, name: str = "rng") -> np.random.Generator:
    """A NumPy Generator from ``None``, a non-negative int seed, a SeedSequence or a Generator."""
    if rng is None or isinstance(rng, (np.random.SeedSequence, np.random.BitGenerator)):
        return np.random.default_rng(rng)
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, (bool, np.bool_)) or not isinstance(rng, (int, np.integer)):
        raise ConfigError(
            f"{name} must be None, a non-negative integer seed, a SeedSequence or a numpy Generator, got {rng!r}"
        )
    if rng < 0:
        raise ConfigError(f"{name} seed must be non-negative, got {rng}")
    return np.random.default_rng(int(rng))


# relay-single ---------------------------------------------------------------------------
# Exact-type arrays and numbers for the relay API (complex, booleans and strings are not
# prices; huge integers and overflowing arithmetic end in a named error, not OverflowError).
_ARRAY_KINDS = {
    "b": "booleans",
    "c": "complex numbers",
    "U": "strings",
    "S": "bytes",
    "M": "datetimes",
    "m": "timedeltas",
    "V": "structured values",
    "O": "objects",
}


def as_real_array(
    x: Any, name: str, shape: tuple[int | None, ...], error: type[Exception] = InvalidReportError
) -> np.ndarray:
    """:func:`as_float_array` with exact types: an array of real numbers only. Booleans,
    complex numbers (whose imaginary part a float conversion would drop), strings and
    other objects are rejected, naming the first such entry, instead of being converted.

    >>> as_real_array([1, 2.5], "asks", (None,))
    array([1. , 2.5])
    >>> as_real_array([1, 2j], "asks", (None,))
    Traceback (most recent call last):
    ...
    auctionlab.errors.InvalidReportError: asks must be real numbers (numeric), got complex numbers: asks[1] = 2j (dtype complex128)
    """
    if type(x) is not np.ndarray or x.dtype.kind not in "iuf":
        try:
            arr = np.asarray(x)
        except (TypeError, ValueError, OverflowError) as exc:
            raise error(f"{name} must be numeric: {exc}") from None
        kind = arr.dtype.kind
        if kind == "O":  # mixed Python objects (or huge integers): each must be a real number
            for i, v in enumerate(arr.ravel().tolist()):
                if not is_real_number(v) or (isinstance(v, int) and not -(2**1023) < v < 2**1023):
                    pos = np.unravel_index(i, arr.shape)
                    where: object = pos[0] if len(pos) == 1 else tuple(int(w) for w in pos)
                    r = repr(v) if len(repr(v)) <= 40 else repr(v)[:20] + "..."
                    raise error(f"{name}[{where}] = {r} is not a real number of float range")
        elif kind not in "iuf":
            flat = arr.ravel()
            i = int(np.flatnonzero(flat.imag != 0)[0]) if kind == "c" and np.any(flat.imag != 0) else 0
            pos = np.unravel_index(i, arr.shape) if arr.ndim else ()
            where = pos[0] if len(pos) == 1 else tuple(int(w) for w in pos)
            first = f"{name}[{where}] = {flat[i].item()!r}" if arr.size else "no entries"
            raise error(
                f"{name} must be real numbers (numeric), got {_ARRAY_KINDS.get(kind, kind)}: "
                f"{first} (dtype {arr.dtype})"
            )
        x = arr
    return as_float_array(x, name, shape)


def check_real(
    value: Any,
    name: str,
    *,
    minimum: float | None = None,
    open_min: bool = False,
    maximum: float | None = None,
    error: type[Exception] = ConfigError,
) -> float:
    """:func:`check_float` that also names integers too large for a float (``10**400``)
    instead of raising ``OverflowError``."""
    if isinstance(value, int) and not isinstance(value, bool) and not -(2**1023) < value < 2**1023:
        digits = str(abs(value))
        raise error(
            f"{name} = {'-' if value < 0 else ''}{digits[:12]}... ({len(digits)} digits) is too large for a float"
        )
    return check_float(value, name, minimum=minimum, maximum=maximum, open_min=open_min, error=error)


def check_range_pair(value: Any, name: str, *, minimum: float = 0.0) -> tuple[float, float]:
    """A pair ``(lo, hi)`` of finite real numbers with ``minimum <= lo < hi``."""
    if not isinstance(value, (tuple, list)) or len(value) != 2 or not all(is_real_number(v) for v in value):
        raise ConfigError(f"{name} must be a pair (lo, hi) of real numbers, got {value!r}")
    lo, hi = (check_real(v, name) for v in value)
    if not minimum <= lo < hi:
        raise ConfigError(f"{name} must be (lo, hi) with {minimum:g} <= lo < hi, got {value!r}")
    return lo, hi


def check_size(value: Any, name: str, limit: int) -> int:
    """A positive integer count (sources, relays, ...) of at most ``limit``."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ConfigError(f"{name} must be a positive integer, got {value!r}")
    if value > limit:
        raise ConfigError(f"{name} = {value} is above the size limit of {limit}")
    return int(value)


_U8 = np.dtype(np.uint64)
_FINITE_BITS = 0x7FF0000000000000  # bit pattern of +inf: every finite non-negative float64 is below it


def all_nonnegative_finite(arr: np.ndarray) -> bool:
    """Whether a non-empty native float64 array holds finite, non-negative values only, in ONE
    reduction: read as unsigned integers, a finite non-negative double is below the pattern of
    +inf, while negatives (sign bit), infinities and NaNs are not. ``-0.0`` reads as negative
    here: a False is a cue for the detailed check (:func:`check_nonnegative_finite`), not an error.

    >>> all_nonnegative_finite(np.array([0.0, 1.5, 1e308])), all_nonnegative_finite(np.array([1.0, np.nan]))
    (True, False)
    """
    return bool(np.maximum.reduce(arr.view(_U8), axis=None) < _FINITE_BITS)


# hardening ------------------------------------------------------------------------------
def check_address(value: Any, name: str, *, keywords: Iterable[str] = ("local",)) -> str:
    """A server address ``scheme://host[:port]`` (tcp, tls, ws, wss, ucx, inproc), ``host:port``, or one
    of ``keywords``.

    >>> check_address("tcp://127.0.0.1:8786", "--scheduler")
    'tcp://127.0.0.1:8786'
    """
    import re

    keywords = tuple(keywords)
    if isinstance(value, str) and value in keywords:
        return value
    m = (
        re.fullmatch(r"(?:(tcp|tls|ws|wss|ucx|inproc)://)?(\[[0-9a-fA-F:]+\]|[A-Za-z0-9._-]+)(?::(\d{1,5}))?/?", value)
        if isinstance(value, str)
        else None
    )
    if (
        m is None
        or (m.group(1) is None and m.group(3) is None)  # a bare host needs its port
        or (m.group(3) is not None and not 0 < int(m.group(3)) < 65536)
    ):
        extra = f", or {' / '.join(map(repr, keywords))}" if keywords else ""
        raise ConfigError(f"{name} must be an address like tcp://host:8786{extra}, got {value!r}")
    return value


def check_dir_path(value: Any, name: str) -> str:
    """A path that is a directory or does not exist yet (not a file)."""
    import os

    if not isinstance(value, (str, os.PathLike)) or not os.fspath(value):
        raise ConfigError(f"{name} must be a directory path, got {value!r}")
    if os.path.exists(value) and not os.path.isdir(value):
        raise ConfigError(f"{name} {os.fspath(value)!r} is a file, not a directory")
    return os.fspath(value)


# ---------------------------------------------------------------------- relay-path: ranges and number lists
def check_cost_range(value: Any, name: str = "cost_range") -> tuple[float, float]:
    """A pair ``(lo, hi)`` of finite reals with ``0 <= lo < hi``.

    >>> check_cost_range([0, 1.5])
    (0.0, 1.5)
    """
    try:
        lo, hi = (float(c) for c in value)
    except (TypeError, ValueError):
        raise ConfigError(f"{name} must be (lo, hi), got {value!r}") from None
    if not (np.isfinite(lo) and np.isfinite(hi) and 0.0 <= lo < hi):
        raise ConfigError(f"{name} must be (lo, hi) with 0 <= lo < hi, got {value!r}")
    return lo, hi


def check_float_list(value: Any, name: str, *, minimum: float | None = None, distinct: bool = False) -> list[float]:
    """A non-empty list of finite reals (each ``>= minimum``; no repeats when ``distinct``).

    >>> check_float_list([1, 0.5], "thetas", minimum=0.0)
    [1.0, 0.5]
    """
    if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)) or not value:
        raise ConfigError(f"{name} must be a non-empty list of numbers, got {value!r}")
    out = []
    for x in value:
        if not is_real_number(x) or not np.isfinite(float(x)) or (minimum is not None and x < minimum):
            bound = f" >= {minimum}" if minimum is not None else ""
            raise ConfigError(f"{name} must hold finite numbers{bound}, got {value!r}")
        out.append(float(x))
    if distinct and len(set(out)) != len(out):
        raise ConfigError(f"{name} lists a level twice: {out}")
    return out


# lead ------------------------------------------------------------------------------------
def check_seed(rng: Any, name: str = "rng") -> Any:
    """``rng`` unchanged when it is None, a non-negative integer, a SeedSequence or a Generator
    (what Mesa models accept as ``rng=``); a ConfigError naming it otherwise.

    >>> check_seed(7)
    7
    >>> check_seed("abc")
    Traceback (most recent call last):
    ...
    auctionlab.errors.ConfigError: rng must be None, a non-negative integer seed, a SeedSequence or a numpy Generator, got 'abc'
    """
    check_rng(rng, name)
    return rng
