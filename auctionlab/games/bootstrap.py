"""Bootstrap distributions of regret: independent and paired resampling of a game's runs.

*Independent*: each profile's runs are resampled on their own (players' payoffs of one run
stay together). Right when every profile was simulated on its own random instances.

*Paired*: when the game was built from common instances — run k of every profile was
played on the same instance k (same network, same private types) — one set of instance
indices is drawn per bootstrap replicate and used for every profile. The instance effect
then cancels in every deviation gain, as it does in the estimate, and the interval is
usually much narrower. A game says its samples are paired with ``EmpiricalGame(...,
paired=True)``; every profile involved must then hold the same number of runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from auctionlab.errors import InvalidInputError
from auctionlab.games._checks import check
from auctionlab.games.regret import Mixture, mixture_regrets
from auctionlab.report.stats import resample_means

if TYPE_CHECKING:
    from auctionlab.games.game import EmpiricalGame

__all__ = ["mixture_regret_boot", "pure_regret_boot"]

#: resampled tensors are built in chunks of at most this many elements
_CHUNK = 1 << 22

Index = tuple[int, ...]


def _pure_from_means(game: EmpiricalGame, idx: Index, boot: dict[Index, np.ndarray], n_boot: int) -> np.ndarray:
    """Regret of a pure profile on each bootstrap replicate, from replicate means per profile."""
    regret = np.zeros(n_boot)
    for i, k in enumerate(game.n_strategies):
        base = boot[idx][:, i]
        for s in range(k):
            if s != idx[i]:
                dev = (*idx[:i], s, *idx[i + 1 :])
                np.maximum(regret, boot[dev][:, i] - base, out=regret)
    return regret


def _instance_count(game: EmpiricalGame, profiles: list[Index]) -> int:
    """The common number of runs of ``profiles`` in a paired game (an error if they differ)."""
    counts = {p: int(game._counts[p]) for p in profiles}
    m = counts[profiles[0]]
    odd = [p for p, c in counts.items() if c != m]
    check(
        not odd,
        InvalidInputError,
        f"a paired bootstrap needs the same number of runs (instances) at every profile; "
        f"{game.profile_labels(profiles[0])!r} has {m} but "
        + ", ".join(f"{game.profile_labels(p)!r} has {counts[p]}" for p in odd[:3]),
    )
    return m


def _paired_means(game: EmpiricalGame, profiles: list[Index], rows: np.ndarray) -> dict[Index, np.ndarray]:
    """Replicate means ``(B, n_players)`` of each profile, all with the same instance rows ``(B, m)``."""
    return {p: game._samples_at(p)[rows].mean(axis=1) for p in profiles}


def pure_regret_boot(
    game: EmpiricalGame, idx: Index, n_boot: int, gen: np.random.Generator, *, paired: bool = False
) -> np.ndarray:
    """``n_boot`` bootstrap replicates of a pure profile's regret (only its deviation neighbourhood)."""
    profiles = game._deviation_profiles(idx)
    if not paired:
        boot = {p: resample_means(game._samples_at(p), n_boot=n_boot, rng=gen) for p in profiles}
        return _pure_from_means(game, idx, boot, n_boot)
    m = _instance_count(game, profiles)
    out = np.empty(n_boot)
    chunk = max(1, _CHUNK // (m * game.n_players * len(profiles)))
    for start in range(0, n_boot, chunk):
        b = min(n_boot, start + chunk) - start
        rows = gen.integers(0, m, size=(b, m))
        out[start : start + b] = _pure_from_means(game, idx, _paired_means(game, profiles, rows), b)
    return out


def mixture_regret_boot(
    game: EmpiricalGame, mix: Mixture, n_boot: int, gen: np.random.Generator, *, paired: bool = False
) -> np.ndarray:
    """``n_boot`` bootstrap replicates of a mixture's regret (needs the whole table)."""
    game.payoff_tensor()  # raises if incomplete
    profiles = list(np.ndindex(*game.n_strategies))
    m = _instance_count(game, profiles) if paired else 0
    per_rep = game._sums.size * max(1, m)
    chunk = max(1, _CHUNK // per_rep)
    out = np.empty(n_boot)
    for start in range(0, n_boot, chunk):
        b = min(n_boot, start + chunk) - start
        tensor = np.empty((b, *game._sums.shape))
        if paired:
            means = _paired_means(game, profiles, gen.integers(0, m, size=(b, m)))
            for p in profiles:
                tensor[(slice(None), slice(None), *p)] = means[p]
        else:
            for p in profiles:
                tensor[(slice(None), slice(None), *p)] = resample_means(game._samples_at(p), n_boot=b, rng=gen)
        out[start : start + b] = mixture_regrets(tensor, mix).max(axis=0)
    return out
