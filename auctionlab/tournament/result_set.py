"""A tournament's results: tidy interactions, payoff matrix, scores, ranking, summary.

``interactions`` has one row per repetition, player, opponent and role: ``payoff`` is the
mean utility per seat and step of the player's seats in that match, ``seats`` how many
seats it held. Everything else is computed from it:

- :attr:`payoffs` ``(k, k, repetitions)``: player i against j, roles pooled (seat-weighted);
  :attr:`payoff_matrix` its mean over repetitions, :attr:`payoff_stddevs` its sd.
- :attr:`scores` ``(k, repetitions)``: a strategy's mean payoff against the *other*
  strategies; :attr:`ranked_names` orders strategies by mean score (ties keep the
  tournament's order), and :meth:`summarise` tabulates the mean with a t interval.
- tidy frames for plots: :meth:`score_frame` (boxplots), :meth:`payoff_frame` (heatmap).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from auctionlab._validate import check_choice, check_float
from auctionlab.errors import InvalidInputError

__all__ = ["ResultSet"]


class ResultSet:
    """Results of :meth:`Tournament.play` (see the module docstring); ``plot`` draws them."""

    def __init__(
        self,
        players: Sequence[str],
        interactions: pd.DataFrame,
        *,
        repetitions: int,
        meta: dict[str, Any] | None = None,
    ) -> None:
        self.players = list(players)
        self.num_players = len(self.players)
        self.repetitions = int(repetitions)
        self.interactions = interactions
        self.meta = dict(meta or {})
        k, r = self.num_players, self.repetitions
        pos = {p: n for n, p in enumerate(self.players)}
        df = interactions.assign(weighted=interactions["payoff"] * interactions["seats"])
        g = df.groupby(["player", "opponent", "repetition"], sort=False)[["weighted", "seats"]].sum()
        pay = np.full((k, k, r), np.nan)
        for (a, b, rep), row in g.iterrows():
            pay[pos[a], pos[b], int(rep)] = row["weighted"] / row["seats"]
        self.payoffs = pay
        self.payoff_matrix = pay.mean(axis=2)
        self.payoff_stddevs = pay.std(axis=2, ddof=1) if r > 1 else np.full((k, k), np.nan)
        others = ~np.eye(k, dtype=bool)
        self.scores = np.stack([pay[i][others[i]].mean(axis=0) for i in range(k)])
        mean = self.scores.mean(axis=1)
        self.ranking = sorted(range(k), key=lambda i: (-mean[i], i))
        self.ranked_names = [self.players[i] for i in self.ranking]
        from auctionlab.tournament.plot import Plot

        self.plot = Plot(self)

    @classmethod
    def from_rows(
        cls,
        rows: Any,
        *,
        players: Sequence[str] | None = None,
        repetition: str = "repetition",
        value: str = "payoff",
        meta: dict[str, Any] | None = None,
    ) -> ResultSet:
        """A result set from stored interaction rows (a list of dicts or a frame with ``player``,
        ``opponent``, ``role``, ``seats`` and the ``value`` and ``repetition`` columns — e.g. a
        run kind's ``runs`` table, ``repetition="run_id"``). Repetitions are renumbered 0..R-1 in
        order of first appearance; ``value`` picks the payoff column (``"payoff_vcg"``);
        ``players`` fixes the order (default: order of first appearance)."""
        frame = pd.DataFrame(rows)
        if frame.empty:
            raise InvalidInputError("no interaction rows to build a result set from")
        need = ["player", "opponent", "role", "seats", value, repetition]
        missing = [c for c in need if c not in frame.columns]
        if missing:
            raise InvalidInputError(f"interaction rows need columns {need}; missing {missing}")
        codes, uniques = pd.factorize(frame[repetition], sort=False)
        cols = ["player", "opponent", "role", "seats"] + [c for c in ("seating",) if c in frame.columns]
        inter = frame[cols].assign(repetition=codes, payoff=frame[value].to_numpy(dtype=np.float64))
        names = list(players) if players is not None else list(dict.fromkeys([*frame["player"], *frame["opponent"]]))
        unknown = sorted(set(frame["player"]) - set(names))
        if unknown:
            raise InvalidInputError(f"rows name players {unknown} not among {names}")
        return cls(names, inter, repetitions=len(uniques), meta=meta)

    # ------------------------------------------------------------------ tables
    def summarise(self, *, level: float = 0.95) -> pd.DataFrame:
        """One row per strategy in rank order: ``rank, strategy, mean, ci_low, ci_high, median, sd, repetitions``.

        ``mean`` is the mean score (payoff against the other strategies) over repetitions, with
        a Student-t interval at ``level`` (NaN bounds with one repetition).
        """
        level = check_float(level, "level", minimum=0.0, maximum=1.0, open_min=True, open_max=True)
        r = self.repetitions
        rows = []
        for rank, i in enumerate(self.ranking, start=1):
            s = self.scores[i]
            m = float(s.mean())
            sd = float(s.std(ddof=1)) if r > 1 else math.nan
            half = float(stats.t.ppf((1 + level) / 2, r - 1)) * sd / math.sqrt(r) if r > 1 else math.nan
            rows.append(
                {
                    "rank": rank,
                    "strategy": self.players[i],
                    "mean": m,
                    "ci_low": m - half,
                    "ci_high": m + half,
                    "median": float(np.median(s)),
                    "sd": sd,
                    "repetitions": r,
                }
            )
        return pd.DataFrame(rows)

    def score_frame(self) -> pd.DataFrame:
        """Tidy ``strategy, repetition, score`` in rank order (the boxplot's data)."""
        return pd.DataFrame(
            [
                {"strategy": self.players[i], "repetition": rep, "score": float(self.scores[i, rep])}
                for i in self.ranking
                for rep in range(self.repetitions)
            ]
        )

    def payoff_frame(self, *, role: str | None = None) -> pd.DataFrame:
        """Tidy ``player, opponent, payoff, sd`` in rank order (the heatmap's data); ``role``
        restricts to one role's seats instead of pooling them."""
        if role is None:
            mat, sd = self.payoff_matrix, self.payoff_stddevs
        else:
            check_choice(role, "role", tuple(self.interactions["role"].unique()))
            sub = self.interactions[self.interactions["role"] == role]
            t = sub.groupby(["player", "opponent"])["payoff"].agg(["mean", "std"])
            pos = {p: n for n, p in enumerate(self.players)}
            mat = np.full((self.num_players,) * 2, np.nan)
            sd = mat.copy()
            for (a, b), row in t.iterrows():
                mat[pos[a], pos[b]], sd[pos[a], pos[b]] = row["mean"], row["std"]
        return pd.DataFrame(
            [
                {
                    "player": self.players[i],
                    "opponent": self.players[j],
                    "payoff": float(mat[i, j]),
                    "sd": float(sd[i, j]),
                }
                for i in self.ranking
                for j in self.ranking
            ]
        )

    def payoff_game(self):
        """The symmetric two-player game of the payoff matrix, as an :class:`~auctionlab.games.EmpiricalGame`
        (every strategy on both sides, one sample per repetition of each match)."""
        from auctionlab.games import EmpiricalGame

        g = EmpiricalGame([self.players, self.players], players=["row", "column"], paired=True)
        for i in range(self.num_players):
            for j in range(self.num_players):
                g.add((self.players[i], self.players[j]), np.column_stack([self.payoffs[i, j], self.payoffs[j, i]]))
        return g

    def __repr__(self) -> str:
        return (
            f"ResultSet({self.num_players} strategies x {self.repetitions} repetitions; "
            f"ranked: {', '.join(self.ranked_names)})"
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ResultSet):
            return NotImplemented
        return self.players == other.players and self.interactions.equals(other.interactions)

    __hash__ = None  # type: ignore[assignment]
