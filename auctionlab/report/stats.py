"""Confidence intervals for simulation output: percentile bootstrap and normal approximation.

Every regret, gain or rate the studies report carries an interval, so these helpers are
built to be cheap enough to call per table row:

- :func:`bootstrap_ci` — percentile bootstrap of any statistic of a 1-D sample. Resamples are
  drawn as one index matrix and the statistic is applied along ``axis=1`` (chunked so memory
  stays bounded), not in a Python loop.
- :func:`mean_ci` — normal-approximation interval for a mean: no resampling, for large tables.
- :func:`gain_ci` — interval for a difference of means (paired by seed or independent), the
  shape of "how much does deviating gain".
- :func:`bootstrap_table` — one interval per ``groupby`` group of a tidy DataFrame.
- :func:`resample_means` — bootstrap replicates of column means of a 2-D sample; the building
  block of :meth:`auctionlab.games.EmpiricalGame.regret_ci`.

Randomness always comes from ``np.random.default_rng(rng)``: pass an int, a ``SeedSequence``
or a ``Generator`` for reproducible intervals. ``rng=None`` draws fresh OS entropy (never the
global NumPy state).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Sequence
from statistics import NormalDist
from typing import Any

import numpy as np
import pandas as pd

from auctionlab.errors import ConfigError, InvalidInputError, ShapeError

RngLike = int | np.integer | np.random.SeedSequence | np.random.Generator | None
Statistic = Callable[..., Any]

#: resample matrices are built in chunks of at most this many elements (~32 MB of float64)
_CHUNK_ELEMENTS = 1 << 22

__all__ = [
    "RngLike",
    "bootstrap_ci",
    "bootstrap_distribution",
    "bootstrap_table",
    "gain_ci",
    "mean_ci",
    "proportion_ci",
    "resample_means",
]


# --------------------------------------------------------------------------- checks
def _sample_1d(samples: Any, name: str = "samples") -> np.ndarray:
    """A non-empty, finite 1-D float sample; errors say which entry is bad."""
    try:
        x = np.asarray(samples, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"{name} must be numeric: {exc}") from None
    if x.ndim != 1:
        raise ShapeError(f"{name} must be one-dimensional, got shape {x.shape}")
    if x.size == 0:
        raise InvalidInputError(f"{name} is empty: a confidence interval needs at least one value")
    _check_finite(x, name)
    return x


def _check_finite(x: np.ndarray, name: str) -> None:
    if not np.all(np.isfinite(x)):
        bad = tuple(int(i) for i in np.argwhere(~np.isfinite(x))[0])
        where = bad[0] if len(bad) == 1 else bad
        raise InvalidInputError(f"{name}[{where}] = {float(x[bad])}: values must be finite (no NaN/inf)")


def _check_level(level: Any) -> float:
    try:
        v = float(level)
    except (TypeError, ValueError):
        raise ConfigError(f"level must be a number in (0, 1), got {level!r}") from None
    if not 0.0 < v < 1.0:
        raise ConfigError(f"level must be in (0, 1) (e.g. 0.95), got {level!r}")
    return v


def _check_n_boot(n_boot: Any) -> int:
    if isinstance(n_boot, bool) or not isinstance(n_boot, (int, np.integer)) or n_boot < 1:
        raise ConfigError(f"n_boot must be a positive integer, got {n_boot!r}")
    return int(n_boot)


# --------------------------------------------------------------------------- bootstrap core
def _apply_statistic(statistic: Statistic, resamples: np.ndarray) -> np.ndarray:
    """``statistic`` of each row; uses ``axis=1`` when the statistic supports it (NumPy style)."""
    try:
        out = np.asarray(statistic(resamples, axis=1), dtype=np.float64)
    except TypeError:
        out = np.apply_along_axis(statistic, 1, resamples).astype(np.float64)
    if out.shape != (resamples.shape[0],):
        raise ConfigError(
            f"statistic must return one number per sample (accepting axis=1 or a 1-D array); "
            f"got shape {out.shape} for {resamples.shape[0]} resamples"
        )
    return out


def bootstrap_distribution(
    samples: Any, statistic: Statistic = np.mean, *, n_boot: int = 2000, rng: RngLike = None
) -> np.ndarray:
    """``n_boot`` bootstrap replicates of ``statistic(samples)`` (resampling with replacement)."""
    x = _sample_1d(samples)
    n_boot = _check_n_boot(n_boot)
    gen = np.random.default_rng(rng)
    n = x.size
    chunk = max(1, _CHUNK_ELEMENTS // n)
    out = np.empty(n_boot)
    for start in range(0, n_boot, chunk):
        stop = min(n_boot, start + chunk)
        idx = gen.integers(0, n, size=(stop - start, n))
        out[start:stop] = _apply_statistic(statistic, x[idx])
    return out


def _percentile_interval(boot: np.ndarray, level: float, what: str) -> tuple[float, float]:
    if not np.all(np.isfinite(boot)):
        raise InvalidInputError(f"{what} returned non-finite values on some bootstrap resamples")
    lo, hi = np.quantile(boot, [(1.0 - level) / 2.0, (1.0 + level) / 2.0])
    return float(lo), float(hi)


def bootstrap_ci(
    samples: Any,
    statistic: Statistic = np.mean,
    *,
    level: float = 0.95,
    n_boot: int = 2000,
    rng: RngLike = None,
) -> tuple[float, float, float]:
    """``(estimate, lo, hi)``: ``statistic`` of the sample and its percentile-bootstrap interval.

    ``statistic`` should accept ``axis=`` (``np.mean``, ``np.median``, ...) so all resamples are
    evaluated in one call; other callables are applied row by row. A single observation
    gives a zero-width interval — the bootstrap cannot see variability that was not sampled.
    """
    level = _check_level(level)
    x = _sample_1d(samples)
    est = np.asarray(statistic(x), dtype=np.float64)
    if est.size != 1:
        raise ConfigError(f"statistic must return one number for a sample, got shape {est.shape}")
    estimate = float(est.reshape(()))
    boot = bootstrap_distribution(x, statistic, n_boot=n_boot, rng=rng)
    lo, hi = _percentile_interval(boot, level, "statistic")
    return estimate, lo, hi


def mean_ci(samples: Any, *, level: float = 0.95) -> tuple[float, float, float]:
    """``(mean, lo, hi)`` with the normal approximation ``mean ± z·sd/√n``.

    No resampling, so it is cheap for large tables; prefer :func:`bootstrap_ci` for small or
    skewed samples. With one observation the bounds are NaN (no spread to estimate).
    """
    level = _check_level(level)
    x = _sample_1d(samples)
    m = float(x.mean())
    if x.size < 2:
        return m, math.nan, math.nan
    half = NormalDist().inv_cdf((1.0 + level) / 2.0) * float(x.std(ddof=1)) / math.sqrt(x.size)
    return m, m - half, m + half


def proportion_ci(successes: int, n: int, *, level: float = 0.95) -> tuple[float, float, float]:
    """``(share, lo, hi)``: the Wilson score interval for ``successes`` out of ``n`` Bernoulli trials
    (well-behaved at shares of 0 and 1, unlike ``p ± z·sd``); all NaN when ``n == 0``."""
    level = _check_level(level)
    if n == 0:
        return math.nan, math.nan, math.nan
    if not 0 <= successes <= n:
        raise InvalidInputError(f"successes must lie in [0, n = {n}], got {successes}")
    p = successes / n
    z = NormalDist().inv_cdf((1.0 + level) / 2.0)
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return p, max(0.0, centre - half), min(1.0, centre + half)


def gain_ci(
    treatment: Any,
    control: Any,
    *,
    paired: bool = False,
    level: float = 0.95,
    n_boot: int = 2000,
    rng: RngLike = None,
) -> tuple[float, float, float]:
    """``(gain, lo, hi)`` for ``mean(treatment) - mean(control)``, e.g. utility of a deviation minus truthful.

    ``paired=True`` when the two samples share seeds run by run (common random numbers): the
    run-wise differences are bootstrapped, which is usually much tighter. Otherwise the two
    samples are resampled independently.
    """
    level = _check_level(level)
    a = _sample_1d(treatment, "treatment")
    b = _sample_1d(control, "control")
    if paired:
        if a.size != b.size:
            raise ShapeError(f"paired samples must have equal length, got {a.size} and {b.size}")
        return bootstrap_ci(a - b, np.mean, level=level, n_boot=n_boot, rng=rng)
    n_boot = _check_n_boot(n_boot)
    gen = np.random.default_rng(rng)
    boot = (
        resample_means(a[:, None], n_boot=n_boot, rng=gen)[:, 0]
        - resample_means(b[:, None], n_boot=n_boot, rng=gen)[:, 0]
    )
    lo, hi = _percentile_interval(boot, level, "gain")
    return float(a.mean() - b.mean()), lo, hi


def resample_means(samples: Any, *, n_boot: int = 2000, rng: RngLike = None) -> np.ndarray:
    """Bootstrap replicates of the column means of an ``(m, d)`` sample: shape ``(n_boot, d)``.

    Rows are resampled together (a row is one simulation run reporting ``d`` payoffs), which
    keeps the correlation between columns of the same run.
    """
    try:
        x = np.asarray(samples, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"samples must be numeric: {exc}") from None
    if x.ndim != 2:
        raise ShapeError(f"samples must have shape (m, d), got {x.shape}")
    if x.shape[0] == 0:
        raise InvalidInputError("samples is empty: cannot resample zero rows")
    _check_finite(x, "samples")
    n_boot = _check_n_boot(n_boot)
    gen = np.random.default_rng(rng)
    m, d = x.shape
    if m == 1:
        return np.repeat(x, n_boot, axis=0)
    out = np.empty((n_boot, d))
    chunk = max(1, _CHUNK_ELEMENTS // (m * d))
    for start in range(0, n_boot, chunk):
        stop = min(n_boot, start + chunk)
        idx = gen.integers(0, m, size=(stop - start, m))
        out[start:stop] = x[idx].mean(axis=1)
    return out


# --------------------------------------------------------------------------- tables
def bootstrap_table(
    df: pd.DataFrame,
    value: str,
    by: Hashable | Sequence[Hashable] | None = None,
    statistic: Statistic = np.mean,
    *,
    level: float = 0.95,
    n_boot: int = 2000,
    rng: RngLike = None,
    method: str = "bootstrap",
) -> pd.DataFrame:
    """One row per group of ``df.groupby(by)``: the group keys, ``estimate``, ``lo``, ``hi``, ``n``.

    ``method="bootstrap"`` (any statistic) or ``"normal"`` (:func:`mean_ci`; mean only). Groups
    are visited in sorted key order and share one generator, so a seed reproduces the whole
    table. NaN in ``value`` is an error naming the group (silently dropping runs would bias
    the estimate); NaN group keys are kept as their own group.
    """
    if not isinstance(df, pd.DataFrame):
        raise InvalidInputError(f"df must be a pandas DataFrame, got {type(df).__name__}")
    keys: list[Hashable] = (
        [] if by is None else ([by] if isinstance(by, (str, tuple)) or not isinstance(by, Sequence) else list(by))
    )
    missing = [c for c in [value, *keys] if c not in df.columns]
    if missing:
        raise ConfigError(f"columns {missing} not in the DataFrame; available: {list(df.columns)}")
    if method not in ("bootstrap", "normal"):
        raise ConfigError(f"method must be 'bootstrap' or 'normal', got {method!r}")
    if method == "normal" and statistic is not np.mean:
        raise ConfigError("method='normal' gives intervals for the mean only; use method='bootstrap'")
    level = _check_level(level)
    n_boot = _check_n_boot(n_boot)
    gen = np.random.default_rng(rng)

    def one(values: pd.Series, label: Any) -> dict[str, float]:
        x = values.to_numpy(dtype=np.float64)
        if x.size and not np.all(np.isfinite(x)):
            raise InvalidInputError(f"{value!r} has NaN/inf values in group {label!r}")
        if method == "normal":
            est, lo, hi = mean_ci(x, level=level)
        else:
            est, lo, hi = bootstrap_ci(x, statistic, level=level, n_boot=n_boot, rng=gen)
        return {"estimate": est, "lo": lo, "hi": hi, "n": int(x.size)}

    if not keys:
        return pd.DataFrame([one(df[value], "(all rows)")])
    rows: list[dict[Any, Any]] = []  # group keys (any hashable) and the estimate's columns
    for key, group in df.groupby(keys, sort=True, dropna=False, observed=True):
        key_t = key if isinstance(key, tuple) else (key,)
        rows.append({**dict(zip(keys, key_t)), **one(group[value], key_t[0] if len(keys) == 1 else key_t)})
    out = pd.DataFrame(rows, columns=[*keys, "estimate", "lo", "hi", "n"])
    out["n"] = out["n"].astype(np.int64)
    return out
