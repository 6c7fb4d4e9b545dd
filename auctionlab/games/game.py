"""The empirical game: a normal-form game whose payoffs are per-profile simulation samples.

Players are either the players of an n-player asymmetric game or the *roles* of a role
game (e.g. ``buyer`` choosing a shading level and ``seller`` an inflation level, with
everyone in a role playing the role's strategy and the role's payoff being its members'
mean utility). Means, counts, dense tensors and a tidy frame come from the same samples.

A profile names one strategy per player by its *label* (``("D", "D")``, ``(0.9, 1.1)``).
For a player whose labels are all non-numeric, integer positions are accepted too (labels
win when they could be confused, which is why numeric labels never fall back to positions).
A mixture is one probability vector per player, in the player's strategy order.

``paired=True`` says the samples come from common instances: run k of every profile was
played on the same instance k. :meth:`EmpiricalGame.regret_ci` then resamples instances,
not runs per profile (see :mod:`auctionlab.games.bootstrap`).
"""

from __future__ import annotations

import numbers
from collections.abc import Hashable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from auctionlab._validate import check_bool
from auctionlab.errors import ConfigError, InvalidInputError, ShapeError
from auctionlab.games.bootstrap import mixture_regret_boot, pure_regret_boot
from auctionlab.games.regret import (
    Mixture,
    deviation_values,
    mixture_regrets,
    pure_regret_tensor,
)
from auctionlab.report.stats import RngLike, _check_level, _check_n_boot

Profile = tuple[Hashable, ...]

__all__ = ["EmpiricalGame", "Mixture", "Profile", "as_game"]

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
        *,
        paired: bool = False,
    ) -> None:
        paired = check_bool(paired, "paired")
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
                raise ConfigError(
                    f"player name {p!r} is reserved (column of to_frame()); reserved: {sorted(_RESERVED)}"
                )
        if len(set(players)) != n:
            raise ConfigError(f"player names must be unique, got {players}")

        self._paired = paired
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
    def paired(self) -> bool:
        """Whether run k of every profile was played on the same instance k (common instances)."""
        return self._paired

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
        paired = ", paired" if self._paired else ""
        return (
            f"EmpiricalGame({sizes}; {done}/{self._counts.size} profiles sampled, "
            f"{int(self._counts.sum())} samples{paired})"
        )

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
        every_player: tuple[slice | int, ...] = (slice(None), *idx)
        self._sums[every_player] += p.sum(axis=0)
        self._samples.setdefault(idx, []).append(p)
        return self

    def add_frame(
        self,
        df: pd.DataFrame,
        strategy_columns: Sequence[str] | Mapping[str, str],
        payoff_columns: Sequence[str] | Mapping[str, str],
        *,
        instance_column: str | None = None,
    ) -> EmpiricalGame:
        """Add every row of a tidy run table: one column per player for its strategy and one for its payoff.

        Mappings are keyed by player name; sequences are in player order. ``instance_column``
        (paired games) names the common instance of each run: rows are added in its order,
        so run k of every profile is instance k, and every profile must list the same instances.
        """
        scols = self._columns_by_player(strategy_columns, "strategy_columns")
        pcols = self._columns_by_player(payoff_columns, "payoff_columns")
        extra = [] if instance_column is None else [instance_column]
        missing = [c for c in [*scols, *pcols, *extra] if c not in df.columns]
        if missing:
            raise ConfigError(f"columns {missing} not in the DataFrame; available: {list(df.columns)}")
        if instance_column is not None:
            if not self._paired:
                raise ConfigError("instance_column is for paired games: build the game with paired=True")
            df = df.sort_values(instance_column, kind="stable")
            seen = {key: tuple(g[instance_column]) for key, g in df.groupby(scols, sort=False, dropna=False)}
            ref = next(iter(seen.values()), ())
            odd = [key for key, ids in seen.items() if ids != ref]
            if odd:
                raise InvalidInputError(
                    f"paired runs need the same instances at every profile; profile {odd[0]!r} has "
                    f"{list(seen[odd[0]])[:5]}..., the first profile {list(ref)[:5]}..."
                )
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
        instance_column: str | None = None,
    ) -> EmpiricalGame:
        """A game from a tidy run table; strategy labels default to each column's sorted distinct values.

        With ``instance_column`` the runs are common instances: the game is ``paired`` and each
        profile's runs are stored in instance order (see :meth:`add_frame`).
        """
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
        game = cls(strategies, players, paired=instance_column is not None)
        return game.add_frame(df, scols, payoff_columns, instance_column=instance_column)

    @classmethod
    def from_tensor(
        cls,
        tensor: Any,
        strategies: Sequence[Sequence[Hashable]] | None = None,
        players: Sequence[str] | None = None,
        *,
        paired: bool = False,
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
        game = cls(strategies, players, paired=paired)
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
        every_player: tuple[slice | int, ...] = (slice(None), *idx)
        return self._sums[every_player] / self._counts[idx]

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
                    {
                        "profile": labels,
                        **dict(zip(self._players, labels)),
                        "player": p,
                        "strategy": labels[i],
                        "payoff": float(mean[i]),
                        "n": m,
                        "sd": float(sd[i]),
                    }
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
                raise ConfigError(
                    f"a mixture mapping needs one entry per player {list(self._players)}, got {list(mixture)}"
                )
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
                raise InvalidInputError(
                    f"mixture of player {self._players[i]!r} must be finite and non-negative, got {v}"
                )
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
            out += [(*idx[:i], s, *idx[i + 1 :]) for s in range(k) if s != idx[i]]
        return out

    def regret(self, profile: Sequence[Hashable]) -> float:
        """Largest gain any player gets by deviating unilaterally from a pure profile (≥ 0)."""
        return float(max(g.max() for g in self.deviation_gains(profile)))

    def expected_payoffs(self, mixture: Any) -> np.ndarray:
        """Each player's expected payoff under the product mixture."""
        mix = self.as_mixture(mixture)
        vals = deviation_values(self.payoff_tensor(), mix)
        return np.array([v @ x for v, x in zip(vals, mix)])

    def mixture_regret(self, mixture: Any) -> float:
        """Largest gain any player gets by switching from its mixture to a pure strategy."""
        mix = self.as_mixture(mixture)
        return float(mixture_regrets(self.payoff_tensor(), mix).max())

    def pure_regrets(self) -> np.ndarray:
        """Regret of every pure profile at once, shape ``n_strategies`` (needs a complete game)."""
        return pure_regret_tensor(self.payoff_tensor())

    def regret_ci(
        self,
        profile_or_mixture: Any,
        *,
        level: float = 0.95,
        n_boot: int = 1000,
        rng: RngLike = None,
        paired: bool | None = None,
    ) -> tuple[float, float, float]:
        """``(regret, lo, hi)``: regret of the mean game and its percentile-bootstrap interval.

        Each profile's runs are resampled with replacement (players' payoffs of one run stay
        together) and the regret is recomputed on every bootstrap game. A pure profile only
        resamples its deviation neighbourhood; a mixture needs the whole table. Regret is a
        maximum and bounded below by 0, so near 0 the interval is biased upwards — read a
        small ``lo`` as "consistent with equilibrium", not as a precise gain.

        ``paired`` (default: the game's :attr:`paired`) resamples common instances instead:
        one draw of instance indices per replicate, shared by every profile.
        """
        paired = self._paired if paired is None else check_bool(paired, "paired")
        level = _check_level(level)
        n_boot = _check_n_boot(n_boot)
        gen = np.random.default_rng(rng)
        if _looks_like_mixture(profile_or_mixture):
            mix = self.as_mixture(profile_or_mixture)
            estimate = self.mixture_regret(mix)
            boot = mixture_regret_boot(self, mix, n_boot, gen, paired=paired)
        else:
            idx = self.profile_index(profile_or_mixture)
            estimate = self.regret(profile_or_mixture)
            boot = pure_regret_boot(self, idx, n_boot, gen, paired=paired)
        lo, hi = np.quantile(boot, [(1.0 - level) / 2.0, (1.0 + level) / 2.0])
        return estimate, float(lo), float(hi)


def _looks_like_mixture(x: Any) -> bool:
    """A mixture has vector entries; a pure profile has scalar labels."""
    if isinstance(x, Mapping):
        return True
    if isinstance(x, (str, bytes)) or not isinstance(x, (Sequence, np.ndarray)):
        return False
    if isinstance(x, np.ndarray):
        return x.dtype == object or x.ndim >= 2
    return any(not isinstance(e, (str, bytes)) and np.ndim(e) >= 1 for e in x)


def as_game(game: Any) -> EmpiricalGame:
    """``game`` itself, or a known-payoff game from a payoff tensor (array or nested lists)."""
    if isinstance(game, EmpiricalGame):
        return game
    if isinstance(game, (np.ndarray, list, tuple)):
        return EmpiricalGame.from_tensor(game)
    raise InvalidInputError(f"expected an EmpiricalGame or a payoff tensor, got {type(game).__name__}")
