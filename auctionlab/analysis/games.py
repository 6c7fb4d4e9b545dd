"""Empirical games: payoff tables estimated from simulation, their regret, and equilibrium solvers.

The studies ask "is truthful bidding an equilibrium?" and "which mix of strategies is stable?"
of games nobody can write down: payoffs come from simulating each strategy profile many
times. Following OpenSpiel / gameanalysis:

- :class:`EmpiricalGame` is a normal-form game whose payoff table holds *per-profile
  samples* (one row of payoffs per simulation run), added incrementally. Players are either
  the players of an n-player asymmetric game or the *roles* of a role game (e.g. ``buyer``
  choosing a shading level and ``seller`` an inflation level, with everyone in a role
  playing the role's strategy and the role's payoff being its members' mean utility).
  Means, counts, dense tensors and a tidy frame come from the same samples.
- Regret is the largest gain from a unilateral deviation (pure: :meth:`~EmpiricalGame.regret`;
  mixed: :meth:`~EmpiricalGame.mixture_regret`), and :meth:`~EmpiricalGame.regret_ci` puts a
  bootstrap interval on it by resampling each profile's runs.
- Solvers share one signature ``solver(game, *, rng=None, **params) -> EquilibriumResult``
  and live in the :data:`SOLVERS` registry: ``replicator_dynamics``, ``regret_matching``,
  ``fictitious_play``. :func:`pure_equilibria` lists all pure ε-equilibria exactly.
- :func:`replicator_trajectory` evolves strategy *shares in one population* for tournament
  "population over time" plots.

A profile names one strategy per player by its *label* (``("D", "D")``, ``(0.9, 1.1)``).
For a player whose labels are all non-numeric, integer positions are accepted too (labels
win when they could be confused, which is why numeric labels never fall back to positions).
A mixture is one probability vector per player, in the player's strategy order.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import pandas as pd

from auctionlab.analysis.stats import (
    RngLike,
    _check_level,
    _check_n_boot,
    resample_means,
)
from auctionlab.errors import ConfigError, InvalidInputError, ShapeError
from auctionlab.registry import Registry

Profile = tuple[Hashable, ...]
Mixture = list[np.ndarray]

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

#: column names of :meth:`EmpiricalGame.to_frame`; player names may not collide with them
_RESERVED = frozenset({"profile", "player", "strategy", "payoff", "n", "sd"})
#: a mixture must sum to 1 within this tolerance
_MIX_ATOL = 1e-6


def _is_number(x: Any) -> bool:
    return isinstance(x, (numbers.Number, np.number))


# =========================================================================== the game
class EmpiricalGame:
    """A normal-form game estimated from per-profile payoff samples.

    ``strategies`` is one label list per player (``[["C", "D"], ["C", "D"]]``) or a mapping
    ``{player_or_role: labels}`` (``{"buyer": [0.8, 0.9, 1.0], "seller": [1.0, 1.2]}``).
    Samples are added with :meth:`add`; nothing is required to be complete until a method
    needs the whole table (solvers, :meth:`mixture_regret`, :meth:`payoff_tensor`).
    """

    def __init__(
        self,
        strategies: Sequence[Sequence[Hashable]] | Mapping[str, Sequence[Hashable]],
        players: Sequence[str] | None = None,
    ) -> None:
        if isinstance(strategies, Mapping):
            if players is not None:
                raise ConfigError("give player names either as the mapping's keys or as players=, not both")
            players = list(strategies.keys())
            strategies = list(strategies.values())
        if isinstance(strategies, (str, bytes)) or not isinstance(strategies, Sequence) or len(strategies) == 0:
            raise ConfigError(f"strategies must be a non-empty list of per-player label lists, got {strategies!r}")
        strats: list[tuple[Hashable, ...]] = []
        for i, s in enumerate(strategies):
            if isinstance(s, (str, bytes)) or not isinstance(s, (Sequence, np.ndarray)) or len(s) == 0:
                raise ConfigError(f"strategies[{i}] must be a non-empty list of labels, got {s!r}")
            labels = tuple(x.item() if isinstance(x, np.generic) else x for x in s)
            try:
                if len(set(labels)) != len(labels):
                    raise ConfigError(f"strategies[{i}] has duplicate labels: {list(labels)}")
            except TypeError:
                raise ConfigError(f"strategies[{i}] labels must be hashable, got {list(labels)!r}") from None
            strats.append(labels)
        n = len(strats)
        if players is None:
            players = [f"player{i}" for i in range(n)]
        players = list(players)
        if len(players) != n:
            raise ShapeError(f"got {len(players)} player names for {n} strategy lists")
        for p in players:
            if not isinstance(p, str) or not p:
                raise ConfigError(f"player names must be non-empty strings, got {p!r}")
            if p in _RESERVED:
                raise ConfigError(f"player name {p!r} is reserved (column of to_frame()); reserved: {sorted(_RESERVED)}")
        if len(set(players)) != n:
            raise ConfigError(f"player names must be unique, got {players}")

        self._players: tuple[str, ...] = tuple(players)
        self._strategies: tuple[tuple[Hashable, ...], ...] = tuple(strats)
        self._lookup = [{lab: k for k, lab in enumerate(s)} for s in strats]
        self._positions_ok = [not any(_is_number(lab) for lab in s) for s in strats]
        shape = tuple(len(s) for s in strats)
        self._counts = np.zeros(shape, dtype=np.int64)
        self._sums = np.zeros((n, *shape))
        self._samples: dict[tuple[int, ...], list[np.ndarray]] = {}

    # ------------------------------------------------------------------ description
    @property
    def players(self) -> tuple[str, ...]:
        """Player (or role) names."""
        return self._players

    roles = players

    @property
    def strategies(self) -> tuple[tuple[Hashable, ...], ...]:
        """Strategy labels, one tuple per player."""
        return self._strategies

    @property
    def n_players(self) -> int:
        return len(self._players)

    @property
    def n_strategies(self) -> tuple[int, ...]:
        return self._counts.shape

    def __repr__(self) -> str:
        sizes = " x ".join(f"{p}:{k}" for p, k in zip(self._players, self.n_strategies))
        done = int((self._counts > 0).sum())
        return f"EmpiricalGame({sizes}; {done}/{self._counts.size} profiles sampled, {int(self._counts.sum())} samples)"

    # ------------------------------------------------------------------ profiles
    def profile_index(self, profile: Sequence[Hashable]) -> tuple[int, ...]:
        """Positions of a profile's strategies (labels, or positions for non-numeric label sets)."""
        if isinstance(profile, (str, bytes)) or not isinstance(profile, (Sequence, np.ndarray)):
            raise InvalidInputError(f"a profile is one strategy per player, got {profile!r}")
        if len(profile) != self.n_players:
            raise ShapeError(
                f"profile {tuple(profile)!r} has {len(profile)} entries; the game has {self.n_players} players {self._players}"
            )
        idx = []
        for i, s in enumerate(profile):
            s = s.item() if isinstance(s, np.generic) else s
            try:
                k = self._lookup[i].get(s)
            except TypeError:
                k = None
            if k is None and self._positions_ok[i] and isinstance(s, int) and not isinstance(s, bool):
                k = s if 0 <= s < len(self._strategies[i]) else None
            if k is None:
                raise ConfigError(
                    f"unknown strategy {s!r} for player {self._players[i]!r}; available: {list(self._strategies[i])}"
                )
            idx.append(k)
        return tuple(idx)

    def profile_labels(self, index: Sequence[int]) -> Profile:
        """The labels of a profile given by positions."""
        return tuple(self._strategies[i][int(k)] for i, k in enumerate(index))

    def profiles(self) -> Iterator[Profile]:
        """Every pure profile, in C order of the payoff tensor."""
        for idx in np.ndindex(*self.n_strategies):
            yield self.profile_labels(idx)

    # ------------------------------------------------------------------ data in
    def add(self, profile: Sequence[Hashable], payoffs: Any) -> EmpiricalGame:
        """Record payoffs observed at ``profile``: shape ``(n_players,)`` for one run or ``(m, n_players)``."""
        idx = self.profile_index(profile)
        try:
            p = np.array(payoffs, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise InvalidInputError(f"payoffs for profile {tuple(profile)!r} must be numeric: {exc}") from None
        if p.ndim == 1:
            p = p[None, :]
        n = self.n_players
        if p.ndim != 2 or p.shape[1] != n:
            raise ShapeError(
                f"payoffs for profile {tuple(profile)!r} must have shape ({n},) or (m, {n}), got {np.shape(payoffs)}"
            )
        if p.shape[0] == 0:
            raise InvalidInputError(f"no payoff samples given for profile {tuple(profile)!r}")
        if not np.all(np.isfinite(p)):
            row, col = (int(v) for v in np.argwhere(~np.isfinite(p))[0])
            raise InvalidInputError(
                f"payoff of player {self._players[col]!r} at profile {tuple(profile)!r} (sample {row}) "
                f"is {p[row, col]}: payoffs must be finite"
            )
        self._counts[idx] += p.shape[0]
        self._sums[(slice(None), *idx)] += p.sum(axis=0)
        self._samples.setdefault(idx, []).append(p)
        return self

    def add_frame(
        self,
        df: pd.DataFrame,
        strategy_columns: Sequence[str] | Mapping[str, str],
        payoff_columns: Sequence[str] | Mapping[str, str],
    ) -> EmpiricalGame:
        """Add every row of a tidy run table: one column per player for its strategy and one for its payoff.

        Mappings are keyed by player name; sequences are in player order.
        """
        scols = self._columns_by_player(strategy_columns, "strategy_columns")
        pcols = self._columns_by_player(payoff_columns, "payoff_columns")
        missing = [c for c in [*scols, *pcols] if c not in df.columns]
        if missing:
            raise ConfigError(f"columns {missing} not in the DataFrame; available: {list(df.columns)}")
        for key, group in df.groupby(scols, sort=False, dropna=False):
            self.add(key if isinstance(key, tuple) else (key,), group[pcols].to_numpy(dtype=np.float64))
        return self

    def _columns_by_player(self, cols: Sequence[str] | Mapping[str, str], what: str) -> list[str]:
        if isinstance(cols, Mapping):
            if set(cols) != set(self._players):
                raise ConfigError(f"{what} must have one entry per player {list(self._players)}, got keys {list(cols)}")
            return [cols[p] for p in self._players]
        cols = [cols] if isinstance(cols, str) else list(cols)
        if len(cols) != self.n_players:
            raise ShapeError(f"{what} needs {self.n_players} columns (one per player), got {cols}")
        return cols

    @classmethod
    def from_frame(
        cls,
        df: pd.DataFrame,
        strategy_columns: Sequence[str] | Mapping[str, str],
        payoff_columns: Sequence[str] | Mapping[str, str],
        *,
        strategies: Sequence[Sequence[Hashable]] | None = None,
        players: Sequence[str] | None = None,
    ) -> EmpiricalGame:
        """A game from a tidy run table; strategy labels default to each column's sorted distinct values."""
        if isinstance(strategy_columns, Mapping):
            if players is not None:
                raise ConfigError("give player names either as the mapping's keys or as players=, not both")
            players = list(strategy_columns)
            scols = list(strategy_columns.values())
        else:
            scols = [strategy_columns] if isinstance(strategy_columns, str) else list(strategy_columns)
            players = list(players) if players is not None else list(scols)
        if strategies is None:
            missing = [c for c in scols if c not in df.columns]
            if missing:
                raise ConfigError(f"columns {missing} not in the DataFrame; available: {list(df.columns)}")
            strategies = []
            for c in scols:
                values = list(pd.unique(df[c]))
                try:
                    values = sorted(values)
                except TypeError:  # mixed types: keep order of appearance
                    pass
                strategies.append(values)
        game = cls(strategies, players)
        return game.add_frame(df, scols, payoff_columns)

    @classmethod
    def from_tensor(
        cls,
        tensor: Any,
        strategies: Sequence[Sequence[Hashable]] | None = None,
        players: Sequence[str] | None = None,
    ) -> EmpiricalGame:
        """A game with known payoffs ``tensor[i, s_0, ..., s_{n-1}]`` (one sample per profile).

        Labels default to positions ``0..k-1``, so profiles can be written as index tuples.
        """
        try:
            u = np.array(tensor, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise InvalidInputError(f"payoff tensor must be numeric: {exc}") from None
        if u.ndim < 2 or u.shape[0] != u.ndim - 1:
            raise ShapeError(
                f"payoff tensor must have shape (n_players, k_0, ..., k_(n-1)) with n_players = ndim - 1, got {u.shape}"
            )
        if not np.all(np.isfinite(u)):
            bad = tuple(int(v) for v in np.argwhere(~np.isfinite(u))[0])
            raise InvalidInputError(f"payoff tensor{list(bad)} = {u[bad]}: payoffs must be finite")
        if strategies is None:
            strategies = [list(range(k)) for k in u.shape[1:]]
        game = cls(strategies, players)
        if game.n_strategies != u.shape[1:]:
            raise ShapeError(f"strategies give a {game.n_strategies} game but the tensor is {u.shape[1:]}")
        game._counts[...] = 1
        game._sums[...] = u
        moved = np.moveaxis(u, 0, -1)  # (*K, n)
        for idx in np.ndindex(*u.shape[1:]):
            game._samples[idx] = [moved[idx][None, :].copy()]
        return game

    # ------------------------------------------------------------------ data out
    def counts(self) -> np.ndarray:
        """Number of samples per profile, shape ``n_strategies``."""
        return self._counts.copy()

    def samples(self, profile: Sequence[Hashable]) -> np.ndarray:
        """All payoff samples of a profile, shape ``(m, n_players)`` (``m`` may be 0)."""
        return self._samples_at(self.profile_index(profile))

    def _samples_at(self, idx: tuple[int, ...]) -> np.ndarray:
        chunks = self._samples.get(idx)
        if not chunks:
            return np.empty((0, self.n_players))
        if len(chunks) > 1:
            self._samples[idx] = chunks = [np.concatenate(chunks, axis=0)]
        return chunks[0]

    def mean_payoffs(self, profile: Sequence[Hashable]) -> np.ndarray:
        """Mean payoff of each player at ``profile``."""
        idx = self.profile_index(profile)
        self._require_sampled([idx], "mean_payoffs")
        return self._sums[(slice(None), *idx)] / self._counts[idx]

    def missing_profiles(self) -> list[Profile]:
        """Profiles without any sample."""
        return [self.profile_labels(tuple(i)) for i in np.argwhere(self._counts == 0)]

    @property
    def is_complete(self) -> bool:
        return bool(np.all(self._counts > 0))

    def _require_sampled(self, idxs: Sequence[tuple[int, ...]], what: str) -> None:
        absent = [i for i in idxs if self._counts[i] == 0]
        if absent:
            shown = ", ".join(repr(self.profile_labels(i)) for i in absent[:5])
            more = f" (and {len(absent) - 5} more)" if len(absent) > 5 else ""
            raise InvalidInputError(f"{what} needs profiles that have no samples: {shown}{more}")

    def payoff_tensor(self, *, allow_missing: bool = False) -> np.ndarray:
        """Mean payoffs as a dense array of shape ``(n_players, *n_strategies)``.

        Unsampled profiles are an error unless ``allow_missing=True`` (then they are NaN).
        """
        if not allow_missing and not self.is_complete:
            missing = self.missing_profiles()
            shown = ", ".join(repr(p) for p in missing[:5])
            raise InvalidInputError(
                f"game is incomplete: {len(missing)} of {self._counts.size} profiles have no samples "
                f"(e.g. {shown}); add them or pass allow_missing=True"
            )
        out = np.full(self._sums.shape, np.nan)
        np.divide(self._sums, self._counts, out=out, where=self._counts > 0)
        return out

    def to_frame(self) -> pd.DataFrame:
        """Tidy table: one row per sampled profile and player.

        Columns: ``profile`` (label tuple), one column per player with its strategy, ``player``,
        ``strategy`` (that player's), ``payoff`` (mean), ``n`` (samples), ``sd`` (sample sd, NaN if n < 2).
        """
        rows = []
        for idx in sorted(self._samples):
            s = self._samples_at(idx)
            m = s.shape[0]
            mean = s.mean(axis=0)
            sd = s.std(axis=0, ddof=1) if m > 1 else np.full(self.n_players, np.nan)
            labels = self.profile_labels(idx)
            for i, p in enumerate(self._players):
                rows.append(
                    {"profile": labels, **dict(zip(self._players, labels)), "player": p,
                     "strategy": labels[i], "payoff": float(mean[i]), "n": m, "sd": float(sd[i])}
                )
        cols = ["profile", *self._players, "player", "strategy", "payoff", "n", "sd"]
        out = pd.DataFrame(rows, columns=cols)
        out["n"] = out["n"].astype(np.int64)
        return out

    # ------------------------------------------------------------------ mixtures
    def uniform_mixture(self) -> Mixture:
        return [np.full(k, 1.0 / k) for k in self.n_strategies]

    def pure_mixture(self, profile: Sequence[Hashable]) -> Mixture:
        """The degenerate mixture that plays ``profile`` for sure."""
        idx = self.profile_index(profile)
        out = [np.zeros(k) for k in self.n_strategies]
        for x, k in zip(out, idx):
            x[k] = 1.0
        return out

    def as_mixture(self, mixture: Any) -> Mixture:
        """Validate a mixture (list of per-player probability vectors, or ``{player: vector}``)."""
        if isinstance(mixture, Mapping):
            if set(mixture) != set(self._players):
                raise ConfigError(f"a mixture mapping needs one entry per player {list(self._players)}, got {list(mixture)}")
            mixture = [mixture[p] for p in self._players]
        if isinstance(mixture, (str, bytes)) or not isinstance(mixture, (Sequence, np.ndarray)):
            raise InvalidInputError(f"a mixture is one probability vector per player, got {mixture!r}")
        if len(mixture) != self.n_players:
            raise ShapeError(f"mixture has {len(mixture)} vectors; the game has {self.n_players} players")
        out = []
        for i, (x, k) in enumerate(zip(mixture, self.n_strategies)):
            try:
                v = np.array(x, dtype=np.float64)
            except (TypeError, ValueError) as exc:
                raise InvalidInputError(f"mixture of player {self._players[i]!r} must be numeric: {exc}") from None
            if v.shape != (k,):
                raise ShapeError(f"mixture of player {self._players[i]!r} must have shape ({k},), got {v.shape}")
            if not np.all(np.isfinite(v)) or np.any(v < 0):
                raise InvalidInputError(f"mixture of player {self._players[i]!r} must be finite and non-negative, got {v}")
            total = float(v.sum())
            if abs(total - 1.0) > _MIX_ATOL:
                raise InvalidInputError(f"mixture of player {self._players[i]!r} sums to {total:.6g}, not 1: {v}")
            out.append(v / total)
        return out

    def mixture_frame(self, mixture: Any) -> pd.DataFrame:
        """Tidy ``player, strategy, probability`` table of a mixture (for reports and plots)."""
        mix = self.as_mixture(mixture)
        return pd.DataFrame(
            [
                {"player": p, "strategy": lab, "probability": float(x[k])}
                for p, labels, x in zip(self._players, self._strategies, mix)
                for k, lab in enumerate(labels)
            ]
        )

    # ------------------------------------------------------------------ regret
    def _neighbourhood(self, idx: tuple[int, ...]) -> list[tuple]:
        """For each player, the fancy index of all its unilateral deviations from ``idx``."""
        out = []
        for i, k in enumerate(self.n_strategies):
            dev: list[Any] = list(idx)
            dev[i] = np.arange(k)
            out.append(tuple(dev))
        return out

    def deviation_gains(self, profile: Sequence[Hashable]) -> list[np.ndarray]:
        """Per player, the mean gain of switching to each of its strategies (0 for the one played).

        Only the profile and its unilateral deviations need samples.
        """
        idx = self.profile_index(profile)
        self._require_sampled(self._deviation_profiles(idx), f"deviation gains at {tuple(profile)!r}")
        gains = []
        for i, dev in enumerate(self._neighbourhood(idx)):
            vals = self._sums[(i, *dev)] / self._counts[dev]
            gains.append(vals - vals[idx[i]])
        return gains

    def _deviation_profiles(self, idx: tuple[int, ...]) -> list[tuple[int, ...]]:
        out = [idx]
        for i, k in enumerate(self.n_strategies):
            out += [(*idx[:i], s, *idx[i + 1:]) for s in range(k) if s != idx[i]]
        return out

    def regret(self, profile: Sequence[Hashable]) -> float:
        """Largest gain any player gets by deviating unilaterally from a pure profile (≥ 0)."""
        return float(max(g.max() for g in self.deviation_gains(profile)))

    def expected_payoffs(self, mixture: Any) -> np.ndarray:
        """Each player's expected payoff under the product mixture."""
        mix = self.as_mixture(mixture)
        vals = _pure_values(self.payoff_tensor(), mix)
        return np.array([v @ x for v, x in zip(vals, mix)])

    def mixture_regret(self, mixture: Any) -> float:
        """Largest gain any player gets by switching from its mixture to a pure strategy."""
        mix = self.as_mixture(mixture)
        return float(_mixture_regrets(self.payoff_tensor(), mix).max())

    def pure_regrets(self) -> np.ndarray:
        """Regret of every pure profile at once, shape ``n_strategies`` (needs a complete game)."""
        return _pure_regret_tensor(self.payoff_tensor())

    def regret_ci(
        self,
        profile_or_mixture: Any,
        *,
        level: float = 0.95,
        n_boot: int = 1000,
        rng: RngLike = None,
    ) -> tuple[float, float, float]:
        """``(regret, lo, hi)``: regret of the mean game and its percentile-bootstrap interval.

        Each profile's runs are resampled with replacement (players' payoffs of one run stay
        together) and the regret is recomputed on every bootstrap game. A pure profile only
        resamples its deviation neighbourhood; a mixture needs the whole table. Regret is a
        maximum and bounded below by 0, so near 0 the interval is biased upwards — read a
        small ``lo`` as "consistent with equilibrium", not as a precise gain.
        """
        level = _check_level(level)
        n_boot = _check_n_boot(n_boot)
        gen = np.random.default_rng(rng)
        if _looks_like_mixture(profile_or_mixture):
            mix = self.as_mixture(profile_or_mixture)
            estimate = self.mixture_regret(mix)
            boot = self._boot_mixture_regret(mix, n_boot, gen)
        else:
            idx = self.profile_index(profile_or_mixture)
            estimate = self.regret(profile_or_mixture)
            boot = self._boot_pure_regret(idx, n_boot, gen)
        lo, hi = np.quantile(boot, [(1.0 - level) / 2.0, (1.0 + level) / 2.0])
        return estimate, float(lo), float(hi)

    def _boot_pure_regret(self, idx: tuple[int, ...], n_boot: int, gen: np.random.Generator) -> np.ndarray:
        boot = {p: resample_means(self._samples_at(p), n_boot=n_boot, rng=gen) for p in self._deviation_profiles(idx)}
        regret = np.zeros(n_boot)
        for i, k in enumerate(self.n_strategies):
            base = boot[idx][:, i]
            for s in range(k):
                if s != idx[i]:
                    dev = (*idx[:i], s, *idx[i + 1:])
                    np.maximum(regret, boot[dev][:, i] - base, out=regret)
        return regret

    def _boot_mixture_regret(self, mix: Mixture, n_boot: int, gen: np.random.Generator) -> np.ndarray:
        self.payoff_tensor()  # raises if incomplete
        per_rep = self._sums.size
        chunk = max(1, (1 << 22) // per_rep)
        out = np.empty(n_boot)
        for start in range(0, n_boot, chunk):
            b = min(n_boot, start + chunk) - start
            tensor = np.empty((b, *self._sums.shape))
            for idx in np.ndindex(*self.n_strategies):
                tensor[(slice(None), slice(None), *idx)] = resample_means(self._samples_at(idx), n_boot=b, rng=gen)
            out[start:start + b] = _mixture_regrets(tensor, mix).max(axis=0)
        return out


def _looks_like_mixture(x: Any) -> bool:
    """A mixture has vector entries; a pure profile has scalar labels."""
    if isinstance(x, Mapping):
        return True
    if isinstance(x, (str, bytes)) or not isinstance(x, (Sequence, np.ndarray)):
        return False
    if isinstance(x, np.ndarray):
        return x.dtype == object or x.ndim >= 2
    return any(not isinstance(e, (str, bytes)) and np.ndim(e) >= 1 for e in x)


# =========================================================================== vectorised kernels
def _pure_values(tensor: np.ndarray, mix: Mixture) -> list[np.ndarray]:
    """``v[i][..., s]``: player i's expected payoff of pure s against the others' mixtures.

    ``tensor`` is ``(n, *K)`` or batched ``(B, n, *K)``; the result keeps the batch axis.
    """
    n = len(mix)
    lead = tensor.ndim - 1 - n
    if n == 2:  # the common case, as two matrix products
        u0 = tensor[..., 0, :, :]
        u1 = tensor[..., 1, :, :]
        return [u0 @ mix[1], np.swapaxes(u1, -1, -2) @ mix[0]]
    out = []
    for i in range(n):
        t = np.take(tensor, i, axis=lead)
        for j in reversed(range(n)):
            if j != i:
                t = np.tensordot(t, mix[j], axes=([lead + j], [0]))
        out.append(t)
    return out


def _mixture_regrets(tensor: np.ndarray, mix: Mixture) -> np.ndarray:
    """Per-player regret of a mixture, shape ``(n,)`` or ``(n, B)`` for a batched tensor."""
    vals = _pure_values(tensor, mix)
    return np.stack([v.max(axis=-1) - v @ x for v, x in zip(vals, mix)])


def _pure_regret_tensor(tensor: np.ndarray) -> np.ndarray:
    reg = np.zeros(tensor.shape[1:])
    for i in range(tensor.shape[0]):
        np.maximum(reg, tensor[i].max(axis=i, keepdims=True) - tensor[i], out=reg)
    return reg


def pure_equilibria(game: EmpiricalGame | Any, eps: float = 0.0) -> list[Profile]:
    """All pure profiles whose regret is at most ``eps`` (exact enumeration; complete games only)."""
    g = _as_game(game)
    eps = _check_nonneg(eps, "eps")
    u = g.payoff_tensor()
    reg = _pure_regret_tensor(u)
    slack = 1e-12 * max(1.0, float(np.abs(u).max()))  # exact ties must count as equilibria
    return [g.profile_labels(tuple(i)) for i in np.argwhere(reg <= eps + slack)]


# =========================================================================== solvers
@dataclass(frozen=True)
class EquilibriumResult:
    """What every solver returns: the mixture it settles on, that mixture's regret, and how it got there.

    ``trace`` (when recorded) is tidy: ``iteration, player, strategy, probability, regret``.
    """

    mixture: Mixture
    regret: float
    iterations: int
    trace: pd.DataFrame | None = None
    converged: bool = False
    solver: str = ""

    def __repr__(self) -> str:
        mix = "; ".join(np.array2string(x, precision=4, suppress_small=True) for x in self.mixture)
        return (
            f"EquilibriumResult(solver={self.solver!r}, regret={self.regret:.3g}, iterations={self.iterations}, "
            f"converged={self.converged}, mixture=[{mix}])"
        )


class Solver(Protocol):
    def __call__(self, game: EmpiricalGame, *, rng: RngLike = None, **params: Any) -> EquilibriumResult: ...


SOLVERS: Registry[Callable[..., EquilibriumResult]] = Registry("equilibrium solver")


def solve(game: EmpiricalGame | Any, solver: str | Callable[..., EquilibriumResult] = "replicator_dynamics", *,
          rng: RngLike = None, **params: Any) -> EquilibriumResult:
    """Run a solver by registered name (or a callable with the solver signature)."""
    return SOLVERS.resolve(solver)(_as_game(game), rng=rng, **params)


def _as_game(game: Any) -> EmpiricalGame:
    if isinstance(game, EmpiricalGame):
        return game
    if isinstance(game, (np.ndarray, list, tuple)):
        return EmpiricalGame.from_tensor(game)
    raise InvalidInputError(f"expected an EmpiricalGame or a payoff tensor, got {type(game).__name__}")


def _check_nonneg(x: Any, name: str) -> float:
    try:
        v = float(x)
    except (TypeError, ValueError):
        raise ConfigError(f"{name} must be a non-negative number, got {x!r}") from None
    if not math.isfinite(v) or v < 0:
        raise ConfigError(f"{name} must be a finite non-negative number, got {x!r}")
    return v


def _check_int(x: Any, name: str, lo: int) -> int:
    if isinstance(x, bool) or not isinstance(x, (int, np.integer)) or x < lo:
        raise ConfigError(f"{name} must be an integer >= {lo}, got {x!r}")
    return int(x)


def _start_mixture(game: EmpiricalGame, start: Any, rng: RngLike) -> Mixture:
    if isinstance(start, str):
        if start == "uniform":
            return game.uniform_mixture()
        if start == "random":
            gen = np.random.default_rng(rng)
            return [gen.dirichlet(np.ones(k)) for k in game.n_strategies]
        raise ConfigError(f"start must be 'uniform', 'random' or a mixture, got {start!r}")
    return game.as_mixture(start)


def _check_weighting(weighting: str) -> None:
    if weighting not in ("uniform", "linear"):
        raise ConfigError(f"weighting must be 'uniform' or 'linear', got {weighting!r}")


@dataclass
class _Trace:
    game: EmpiricalGame
    every: int
    iterations: list[int] = field(default_factory=list)
    regrets: list[float] = field(default_factory=list)
    mixtures: list[np.ndarray] = field(default_factory=list)

    def record(self, it: int, mix: Mixture, regret: float, *, force: bool = False) -> None:
        if self.every and (force or it % self.every == 0) and (not self.iterations or self.iterations[-1] != it):
            self.iterations.append(it)
            self.regrets.append(float(regret))
            self.mixtures.append(np.concatenate(mix))

    def frame(self) -> pd.DataFrame | None:
        if not self.every:
            return None
        g = self.game
        width = sum(g.n_strategies)
        reps = len(self.iterations)
        players = np.repeat(np.array(g.players, dtype=object), g.n_strategies)
        labels = np.array([lab for s in g.strategies for lab in s] + [None], dtype=object)[:-1]
        return pd.DataFrame(
            {
                "iteration": np.repeat(np.array(self.iterations, dtype=np.int64), width),
                "player": np.tile(players, reps),
                "strategy": np.tile(labels, reps),
                "probability": np.concatenate(self.mixtures) if reps else np.empty(0),
                "regret": np.repeat(np.array(self.regrets), width),
            }
        )


@SOLVERS.register("replicator_dynamics")
def replicator_dynamics(
    game: EmpiricalGame,
    *,
    rng: RngLike = None,
    start: Any = "uniform",
    step: float = 0.2,
    tol: float = 1e-8,
    max_iter: int = 100_000,
    floor: float = 1e-12,
    trace_every: int = 10,
) -> EquilibriumResult:
    """Discrete-time replicator dynamics, one population per player (role), updated together.

    ``x_s ← x_s · (1 + step · (f_s − f̄) / range_i)`` where ``range_i`` is the spread of player
    i's payoffs, so ``step`` is dimensionless and shares stay positive for ``step ≤ 1``.
    Stops when the current mixture's regret is ≤ ``tol``, when the state stops moving (a
    non-equilibrium rest point such as a pure profile) or after ``max_iter`` updates. Every
    share is kept ≥ ``floor`` (projected replicator dynamics), so a strategy driven out
    early can return instead of underflowing to exactly 0 and freezing the dynamics on a
    non-equilibrium face; ``floor=0`` gives the textbook map. The last iterate is returned;
    where the dynamics cycle (matching pennies, many random games) it does not converge —
    check ``converged``/``regret`` and try regret matching or fictitious play.
    """
    game = _as_game(game)
    step = _check_nonneg(step, "step")
    if not 0.0 < step <= 1.0:
        raise ConfigError(f"step must be in (0, 1], got {step!r}")
    tol = _check_nonneg(tol, "tol")
    max_iter = _check_int(max_iter, "max_iter", 0)
    floor = _check_nonneg(floor, "floor")
    if floor * max(game.n_strategies) >= 1.0:
        raise ConfigError(f"floor must be below 1/k = {1 / max(game.n_strategies):.3g}, got {floor!r}")
    trace = _Trace(game, _check_int(trace_every, "trace_every", 0))
    u = game.payoff_tensor()
    x = _start_mixture(game, start, rng)
    scale = [float(np.ptp(u[i])) or 1.0 for i in range(game.n_players)]
    it, converged = 0, False
    while True:
        vals = _pure_values(u, x)
        fbar = [v @ xi for v, xi in zip(vals, x)]
        regret = max(float(v.max() - f) for v, f in zip(vals, fbar))
        trace.record(it, x, regret)
        if regret <= tol:
            converged = True
            break
        if it >= max_iter:
            break
        new = [xi * (1.0 + step * (v - f) / s) for xi, v, f, s in zip(x, vals, fbar, scale)]
        new = [xi / xi.sum() for xi in new]
        if floor > 0:
            new = [np.maximum(xi, floor) for xi in new]
            new = [xi / xi.sum() for xi in new]
        if all(np.array_equal(a, b) for a, b in zip(new, x)):
            break  # rest point that is not an equilibrium: the dynamics cannot leave it
        x = new
        it += 1
    trace.record(it, x, regret, force=True)
    return EquilibriumResult(x, regret, it, trace.frame(), converged, "replicator_dynamics")


@SOLVERS.register("regret_matching")
def regret_matching(
    game: EmpiricalGame,
    *,
    rng: RngLike = None,
    start: Any = "uniform",
    tol: float = 1e-7,
    max_iter: int = 20_000,
    weighting: str = "linear",
    plus: bool = False,
    check_every: int = 10,
    trace_every: int = 10,
) -> EquilibriumResult:
    """Regret matching (Hart & Mas-Colell), full-information form; returns the *average* strategy.

    Each iteration every player plays the mixture proportional to its positive cumulative
    regrets against the others' current mixtures (uniform when none is positive). The
    average strategy is an approximate Nash equilibrium in two-player zero-sum games (and
    in dominance-solvable ones); elsewhere it tends to coarse correlated equilibria, so
    check the returned ``regret``. ``weighting="linear"`` weights iteration t by t in both
    regrets and average (Linear CFR), which forgets the uninformed start far faster than
    ``"uniform"`` (textbook) averaging; ``plus=True`` floors regrets at 0 (RM+).
    """
    game = _as_game(game)
    tol = _check_nonneg(tol, "tol")
    max_iter = _check_int(max_iter, "max_iter", 1)
    check_every = _check_int(check_every, "check_every", 1)
    _check_weighting(weighting)
    trace = _Trace(game, _check_int(trace_every, "trace_every", 0))
    u = game.payoff_tensor()
    x = _start_mixture(game, start, rng)
    cum = [np.zeros(k) for k in game.n_strategies]
    avg = [np.zeros(k) for k in game.n_strategies]
    wsum, converged, regret = 0.0, False, math.inf
    mean = x
    for t in range(1, max_iter + 1):
        vals = _pure_values(u, x)
        w = float(t) if weighting == "linear" else 1.0
        for i, (v, xi) in enumerate(zip(vals, x)):
            cum[i] += w * (v - v @ xi)
            if plus:
                np.maximum(cum[i], 0.0, out=cum[i])
            avg[i] += w * xi
        wsum += w
        if t % check_every == 0 or t == max_iter:
            mean = [a / wsum for a in avg]
            regret = float(_mixture_regrets(u, mean).max())
            trace.record(t, mean, regret)
            if regret <= tol:
                converged = True
                break
        x = [_positive_part_normalised(r) for r in cum]
    trace.record(t, mean, regret, force=True)
    return EquilibriumResult(mean, regret, t, trace.frame(), converged, "regret_matching")


def _positive_part_normalised(r: np.ndarray) -> np.ndarray:
    pos = np.maximum(r, 0.0)
    total = pos.sum()
    return pos / total if total > 0 else np.full(r.size, 1.0 / r.size)


@SOLVERS.register("fictitious_play")
def fictitious_play(
    game: EmpiricalGame,
    *,
    rng: RngLike = None,
    start: Any = "uniform",
    tol: float = 1e-7,
    max_iter: int = 20_000,
    weighting: str = "linear",
    trace_every: int = 10,
) -> EquilibriumResult:
    """Simultaneous fictitious play: everyone best-responds to the others' empirical frequencies.

    The ``start`` mixture counts as the first observation; ties go to the first strategy.
    Returns the empirical (average) strategy, which converges to Nash in two-player
    zero-sum, potential and dominance-solvable games. ``weighting="linear"`` weights the
    t-th play by t (a generalised weakened fictitious play, same limit points), so the
    uninformed start fades as 1/t² instead of 1/t.
    """
    game = _as_game(game)
    tol = _check_nonneg(tol, "tol")
    max_iter = _check_int(max_iter, "max_iter", 0)
    _check_weighting(weighting)
    trace = _Trace(game, _check_int(trace_every, "trace_every", 0))
    u = game.payoff_tensor()
    x = [xi.copy() for xi in _start_mixture(game, start, rng)]
    it, converged = 0, False
    while True:
        vals = _pure_values(u, x)
        regret = max(float(v.max() - v @ xi) for v, xi in zip(vals, x))
        trace.record(it, x, regret)
        if regret <= tol:
            converged = True
            break
        if it >= max_iter:
            break
        alpha = 2.0 / (it + 3) if weighting == "linear" else 1.0 / (it + 2)
        for xi, v in zip(x, vals):
            xi *= 1.0 - alpha
            xi[int(np.argmax(v))] += alpha
        it += 1
    trace.record(it, x, regret, force=True)
    return EquilibriumResult(x, regret, it, trace.frame(), converged, "fictitious_play")


# =========================================================================== one-population replicator
def replicator_trajectory(payoff_matrix: Any, shares0: Any, steps: int = 1000, dt: float = 0.1) -> np.ndarray:
    """Shares of each strategy in one population over time: array ``(steps + 1, k)``, row 0 = ``shares0``.

    ``payoff_matrix[a, b]`` is the payoff of strategy a against b (e.g. a tournament's mean
    pairwise scores). Euler steps of ``ẋ_a = x_a (f_a − x·f)`` with ``f = A x``; a ``dt`` so
    large that a share would turn negative is an error rather than silently clipped.
    """
    try:
        a = np.array(payoff_matrix, dtype=np.float64)
        x = np.array(shares0, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"payoff_matrix and shares0 must be numeric: {exc}") from None
    if a.ndim != 2 or a.shape[0] != a.shape[1] or a.shape[0] == 0:
        raise ShapeError(f"payoff_matrix must be square (k, k), got {a.shape}")
    if x.shape != (a.shape[0],):
        raise ShapeError(f"shares0 must have shape ({a.shape[0]},), got {x.shape}")
    if not np.all(np.isfinite(a)):
        raise InvalidInputError("payoff_matrix has NaN/inf entries")
    if not np.all(np.isfinite(x)) or np.any(x < 0) or abs(float(x.sum()) - 1.0) > _MIX_ATOL:
        raise InvalidInputError(f"shares0 must be non-negative and sum to 1, got {x}")
    steps = _check_int(steps, "steps", 0)
    dt = _check_nonneg(dt, "dt")
    if dt == 0:
        raise ConfigError("dt must be positive")
    x = x / x.sum()
    out = np.empty((steps + 1, x.size))
    out[0] = x
    for t in range(1, steps + 1):
        f = a @ x
        x = x + dt * x * (f - x @ f)
        if x.min() < -1e-12:
            raise ConfigError(f"dt={dt} is too large for these payoffs: a share turned negative at step {t}; reduce dt")
        x = np.maximum(x, 0.0)
        x /= x.sum()
        out[t] = x
    return out


def trajectory_frame(trajectory: Any, strategies: Sequence[Hashable] | None = None, dt: float = 1.0) -> pd.DataFrame:
    """Tidy ``step, time, strategy, share`` table of a :func:`replicator_trajectory` (for plotting)."""
    traj = np.asarray(trajectory, dtype=np.float64)
    if traj.ndim != 2:
        raise ShapeError(f"trajectory must have shape (steps + 1, k), got {traj.shape}")
    n, k = traj.shape
    labels = list(range(k)) if strategies is None else list(strategies)
    if len(labels) != k:
        raise ShapeError(f"got {len(labels)} strategy labels for {k} columns")
    steps = np.repeat(np.arange(n), k)
    return pd.DataFrame(
        {
            "step": steps,
            "time": steps * float(dt),
            "strategy": np.tile(np.array(labels + [None], dtype=object)[:-1], n),
            "share": traj.ravel(),
        }
    )
