"""A count-based role-symmetric game: profiles are counts of players per role and strategy.

In a role-symmetric game every player of a role has the same strategies and payoffs that
depend only on *how many* players of each role play each strategy — the relay market's
buyers and sellers are such roles. A profile is one integer vector over all strategies
(role by role, in declaration order) whose entries of role r sum to the role's player
count; a payoff vector gives, per strategy, the payoff of one player playing it (entries of
strategies nobody plays are ignored).

Definitions (the conventions of empirical game-theoretic analysis):

- the *deviation gains* of a pure profile are one entry per (role, from-strategy s,
  to-strategy t) — ``k_r²`` per role, ordered by role, then s, then t: the payoff one
  s-player gets by switching to t (the profile with one s-player moved to t) minus its
  payoff at the profile; 0 when nobody plays s or when s = t. The *regret* is their maximum.
- the *deviation payoffs* of a mixture (one distribution per role) give, per strategy s of
  role r, the expected payoff of one r-player playing s while the other ``n_r − 1`` players
  of its role and every player of the other roles draw from the mixture; the *mixture
  deviation gains* subtract the role's expected payoff; their maximum is the mixture regret.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from auctionlab._validate import check_int
from auctionlab.errors import ConfigError, InvalidInputError, ShapeError
from auctionlab.games._checks import check

__all__ = ["RoleSymmetricGame"]

_MIX_ATOL = 1e-6


def _compositions(total: int, parts: int) -> Iterator[tuple[int, ...]]:
    """Every way to write ``total`` as ``parts`` non-negative integers, lexicographically descending."""
    if parts == 1:
        yield (total,)
        return
    for first in range(total, -1, -1):
        for rest in _compositions(total - first, parts - 1):
            yield (first, *rest)


class RoleSymmetricGame:
    """A role-symmetric game on count profiles with payoffs from samples (see the module docstring).

    ``strategies`` maps role -> strategy labels; ``players`` maps role -> number of players
    (or is a sequence in role order). Payoffs are added with :meth:`add` (means of the
    samples are used) or all at once with :meth:`from_function`.
    """

    def __init__(
        self, strategies: Mapping[str, Sequence[Hashable]], players: Mapping[str, int] | Sequence[int]
    ) -> None:
        check(
            isinstance(strategies, Mapping) and len(strategies) > 0,
            ConfigError,
            f"strategies must be a non-empty mapping role -> strategy labels, got {strategies!r}",
        )
        roles = list(strategies)
        for r in roles:
            check(isinstance(r, str) and r, ConfigError, f"role names must be non-empty strings, got {r!r}")
        if isinstance(players, Mapping):
            check(
                set(players) == set(roles),
                ConfigError,
                f"players must give a count for every role {roles}, got {list(players)}",
            )
            counts = [players[r] for r in roles]
        else:
            counts = list(players)
            check(len(counts) == len(roles), ShapeError, f"got {len(counts)} player counts for {len(roles)} roles")
        self._roles = tuple(roles)
        self._players = np.array([check_int(c, f"players[{r!r}]", minimum=1) for r, c in zip(roles, counts)])
        strats = []
        for r in roles:
            labels = strategies[r]
            check(
                not isinstance(labels, (str, bytes)) and isinstance(labels, Sequence) and len(labels) > 0,
                ConfigError,
                f"strategies[{r!r}] must be a non-empty list of labels, got {labels!r}",
            )
            check(
                len(set(labels)) == len(labels), ConfigError, f"strategies[{r!r}] has duplicate labels: {list(labels)}"
            )
            strats.append(tuple(labels))
        self._strategies = tuple(strats)
        self._k = np.array([len(s) for s in strats])
        self._starts = np.concatenate([[0], np.cumsum(self._k)[:-1]])
        self._role_of = np.repeat(np.arange(len(roles)), self._k)
        self._profiles = np.array(
            [
                sum(p, ())
                for p in itertools.product(*(_compositions(int(n), int(k)) for n, k in zip(self._players, self._k)))
            ],
            dtype=np.int64,
        )
        self._row = {tuple(p): i for i, p in enumerate(self._profiles)}
        self._sums = np.zeros(self._profiles.shape)
        self._n = np.zeros(len(self._profiles), dtype=np.int64)

    # ------------------------------------------------------------------ description
    @property
    def roles(self) -> tuple[str, ...]:
        return self._roles

    @property
    def strategies(self) -> tuple[tuple[Hashable, ...], ...]:
        return self._strategies

    @property
    def num_role_players(self) -> np.ndarray:
        return self._players.copy()

    @property
    def num_role_strats(self) -> np.ndarray:
        return self._k.copy()

    @property
    def num_strats(self) -> int:
        return int(self._k.sum())

    @property
    def num_devs(self) -> int:
        """Length of a deviation-gain vector: ``Σ_r k_r²``."""
        return int((self._k**2).sum())

    def all_profiles(self) -> np.ndarray:
        """Every count profile, shape ``(num_profiles, num_strats)``."""
        return self._profiles.copy()

    def __repr__(self) -> str:
        roles = ", ".join(f"{r}: {n} x {list(s)}" for r, n, s in zip(self._roles, self._players, self._strategies))
        return f"RoleSymmetricGame({roles}; {int((self._n > 0).sum())}/{len(self._n)} profiles with payoffs)"

    # ------------------------------------------------------------------ profiles
    def profile(self, profile: Any) -> np.ndarray:
        """A validated count vector from a vector or ``{role: {strategy: count}}``."""
        if isinstance(profile, Mapping):
            vec = np.zeros(self.num_strats, dtype=np.int64)
            check(
                set(profile) <= set(self._roles),
                ConfigError,
                f"profile roles must be among {list(self._roles)}, got {list(profile)}",
            )
            for ri, r in enumerate(self._roles):
                for s, c in dict(profile.get(r, {})).items():
                    check(
                        s in self._strategies[ri],
                        ConfigError,
                        f"unknown strategy {s!r} of role {r!r}; available: {list(self._strategies[ri])}",
                    )
                    vec[self._starts[ri] + self._strategies[ri].index(s)] = check_int(c, f"count of {r}/{s}", minimum=0)
        else:
            try:
                raw = np.asarray(profile)
            except (TypeError, ValueError):
                raise InvalidInputError(f"a profile is a count vector or a role mapping, got {profile!r}") from None
            check(
                raw.shape == (self.num_strats,),
                ShapeError,
                f"a profile has one count per strategy ({self.num_strats}), got shape {raw.shape}",
            )
            check(
                np.issubdtype(raw.dtype, np.integer) and raw.min() >= 0,
                InvalidInputError,
                f"profile counts must be non-negative integers, got {raw.tolist()}",
            )
            vec = raw.astype(np.int64)
        sums = np.add.reduceat(vec, self._starts)
        check(
            np.array_equal(sums, self._players),
            InvalidInputError,
            f"profile {vec.tolist()} has {sums.tolist()} players per role; the game has {self._players.tolist()}",
        )
        return vec

    def _index(self, vec: np.ndarray) -> int:
        return self._row[tuple(int(c) for c in vec)]

    # ------------------------------------------------------------------ payoffs
    def add(self, profile: Any, payoffs: Any) -> RoleSymmetricGame:
        """Record payoff samples at a profile: shape ``(num_strats,)`` or ``(m, num_strats)``."""
        vec = self.profile(profile)
        try:
            p = np.array(payoffs, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise InvalidInputError(f"payoffs must be numeric: {exc}") from None
        p = p[None, :] if p.ndim == 1 else p
        check(
            p.ndim == 2 and p.shape[1] == self.num_strats and p.shape[0] > 0,
            ShapeError,
            f"payoffs must have shape ({self.num_strats},) or (m, {self.num_strats}), got {np.shape(payoffs)}",
        )
        played = vec > 0
        check(
            np.all(np.isfinite(p[:, played])),
            InvalidInputError,
            f"payoffs of the strategies played at {vec.tolist()} must be finite",
        )
        i = self._index(vec)
        self._sums[i] += np.where(played, p, 0.0).sum(axis=0)
        self._n[i] += p.shape[0]
        return self

    @classmethod
    def from_function(
        cls,
        strategies: Mapping[str, Sequence[Hashable]],
        players: Mapping[str, int] | Sequence[int],
        payoff: Callable[[np.ndarray], Any],
    ) -> RoleSymmetricGame:
        """A complete game whose payoffs at each count profile are ``payoff(profile)``."""
        game = cls(strategies, players)
        for vec in game._profiles:
            game.add(vec, payoff(vec.copy()))
        return game

    @property
    def is_complete(self) -> bool:
        return bool(np.all(self._n > 0))

    def get_payoffs(self, profile: Any) -> np.ndarray:
        """Mean payoff per strategy at a profile (0 for strategies nobody plays)."""
        i = self._index(self.profile(profile))
        check(self._n[i] > 0, InvalidInputError, f"profile {self._profiles[i].tolist()} has no payoff samples")
        return self._sums[i] / self._n[i]

    # ------------------------------------------------------------------ pure regret
    def _deviations(self) -> Iterator[tuple[int, int]]:
        """(from, to) strategy indices in deviation-vector order."""
        for r in range(len(self._roles)):
            idx = range(self._starts[r], self._starts[r] + self._k[r])
            yield from itertools.product(idx, idx)

    def deviation_gains(self, profile: Any) -> np.ndarray:
        """Pure deviation gains, one per (role, from, to) in that order (see the module docstring)."""
        vec = self.profile(profile)
        pays = self.get_payoffs(vec)
        out = np.zeros(self.num_devs)
        for d, (s, t) in enumerate(self._deviations()):
            if vec[s] == 0 or s == t:
                continue
            dev = vec.copy()
            dev[s] -= 1
            dev[t] += 1
            out[d] = self.get_payoffs(dev)[t] - pays[s]
        return out

    def regret(self, profile: Any) -> float:
        """Largest gain of one player switching strategy at a pure profile (≥ 0)."""
        return float(self.deviation_gains(profile).max())

    def pure_equilibria(self, eps: float = 0.0) -> np.ndarray:
        """Every profile (rows) whose regret is at most ``eps`` (complete games only)."""
        self._require_complete("pure_equilibria")
        keep = [p for p in self._profiles if self.regret(p) <= eps + 1e-12]
        return np.array(keep, dtype=np.int64).reshape(-1, self.num_strats)

    # ------------------------------------------------------------------ mixtures
    def mixture(self, mixture: Any) -> np.ndarray:
        """A validated mixture: one vector over all strategies, summing to 1 within each role."""
        if isinstance(mixture, Mapping):
            check(
                set(mixture) == set(self._roles),
                ConfigError,
                f"a mixture mapping needs one entry per role {list(self._roles)}, got {list(mixture)}",
            )
            mixture = np.concatenate([np.asarray(mixture[r], dtype=np.float64) for r in self._roles])
        try:
            x = np.array(mixture, dtype=np.float64).ravel()
        except (TypeError, ValueError) as exc:
            raise InvalidInputError(f"a mixture must be numeric: {exc}") from None
        check(
            x.shape == (self.num_strats,),
            ShapeError,
            f"a mixture has one probability per strategy ({self.num_strats}), got {x.size}",
        )
        check(np.all(np.isfinite(x)) and x.min() >= 0, InvalidInputError, f"mixture must be non-negative, got {x}")
        sums = np.add.reduceat(x, self._starts)
        check(
            np.all(np.abs(sums - 1.0) <= _MIX_ATOL),
            InvalidInputError,
            f"mixture sums to {sums.tolist()} per role, not 1",
        )
        return x / sums[self._role_of]

    def uniform_mixture(self) -> np.ndarray:
        return 1.0 / self._k[self._role_of]

    def _require_complete(self, what: str) -> None:
        missing = int((self._n == 0).sum())
        check(missing == 0, InvalidInputError, f"{what} needs every profile; {missing} have no payoff samples")

    def _prob_others(self, counts: np.ndarray, x: np.ndarray) -> float:
        """Probability that the players drawing from ``x`` form ``counts`` (role sizes from ``counts``)."""
        prob = 1.0
        for r in range(len(self._roles)):
            c = counts[self._starts[r] : self._starts[r] + self._k[r]]
            q = x[self._starts[r] : self._starts[r] + self._k[r]]
            coef = math.factorial(int(c.sum()))
            for ci in c:
                coef //= math.factorial(int(ci))
            prob *= coef * float(np.prod(q**c))
        return prob

    def deviation_payoffs(self, mixture: Any) -> np.ndarray:
        """Per strategy: one player's expected payoff playing it while everyone else draws from the mixture."""
        self._require_complete("deviation_payoffs")
        x = self.mixture(mixture)
        means = self._sums / self._n[:, None]
        out = np.zeros(self.num_strats)
        for p, u in zip(self._profiles, means):
            for s in np.flatnonzero(p):
                others = p.copy()
                others[s] -= 1
                out[s] += self._prob_others(others, x) * u[s]
        return out

    def expected_payoffs(self, mixture: Any) -> np.ndarray:
        """Each role's expected payoff under the mixture, shape ``(num_roles,)``."""
        x = self.mixture(mixture)
        return np.add.reduceat(x * self.deviation_payoffs(x), self._starts)

    def mixture_deviation_gains(self, mixture: Any) -> np.ndarray:
        """Per strategy: its deviation payoff minus its role's expected payoff."""
        x = self.mixture(mixture)
        dev = self.deviation_payoffs(x)
        return dev - np.add.reduceat(x * dev, self._starts)[self._role_of]

    def mixture_regret(self, mixture: Any) -> float:
        """Largest gain of one player switching from the mixture to a pure strategy."""
        return float(self.mixture_deviation_gains(mixture).max())
