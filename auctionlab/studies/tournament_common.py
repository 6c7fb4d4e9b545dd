"""What the two tournament sections (relay, exchange) share: result sets from stored rows and Moran fixation.

Both run kinds store a :class:`~auctionlab.tournament.Tournament`'s interaction rows, one
repetition per run; :func:`result_set` turns the stored ``runs`` table back into the
:class:`~auctionlab.tournament.ResultSet` that ``Tournament(...).play()`` returns, so the
report's rankings, payoff matrices and plots are the API's own. :func:`moran_table` runs
:func:`~auctionlab.tournament.fixation_probability` for every strategy invading a resident one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from auctionlab.tournament import ResultSet, fixation_probability

#: Moran process of the report: population size, runs per estimate, and the selection
#: intensity as a multiple of 1 / (max A − min A) (the widest payoff gap is a fitness ratio of e)
MORAN_SIZE, MORAN_REPEATS, MORAN_SELECTION = 10, 1000, 1.0
MORAN_COLUMNS = [
    "invader",
    "resident",
    "N",
    "intensity",
    "repeats",
    "fixations",
    "fixation",
    "ci_low",
    "ci_high",
    "exact",
    "neutral",
    "verdict",
]


def result_set(
    runs: pd.DataFrame,
    players: Sequence[str] | None = None,
    value: str = "payoff",
    meta: dict[str, Any] | None = None,
) -> ResultSet:
    """The result set of stored tournament rows, one repetition per run (``run_id``), keeping
    only the runs in which every (player, opponent) cell is stored."""
    cells = runs.groupby("run_id")[["player", "opponent"]].apply(lambda d: len(set(zip(d["player"], d["opponent"]))))
    names = list(players) if players is not None else list(dict.fromkeys([*runs["player"], *runs["opponent"]]))
    keep = cells.index[cells.to_numpy() >= len(names) ** 2]  # both formats store every (player, opponent) cell
    return ResultSet.from_rows(
        runs[runs["run_id"].isin(keep)], players=names, repetition="run_id", value=value, meta=meta
    )


def moran_intensity(results: ResultSet) -> float:
    """The report's selection intensity for ``results``: MORAN_SELECTION / (max A − min A)."""
    spread = float(np.ptp(results.payoff_matrix))
    return MORAN_SELECTION / spread if spread > 0 else 0.0


def moran_table(results: ResultSet, resident: str, rng: Any, *, size: int = MORAN_SIZE) -> pd.DataFrame:
    """One row per other strategy: the estimated probability that one invader takes over a
    population of ``size − 1`` ``resident``s (Wilson 95% interval, n = repeats), the closed
    form, the neutral 1/N and whether selection favours or opposes the invader."""
    if resident not in results.players or not np.all(np.isfinite(results.payoff_matrix)):
        return pd.DataFrame(columns=MORAN_COLUMNS)
    w = moran_intensity(results)
    gen = np.random.default_rng(rng)
    rows = []
    for inv in results.players:
        if inv == resident:
            continue
        est = fixation_probability(results, inv, resident, size=size, repeats=MORAN_REPEATS, intensity=w, rng=gen)
        verdict = (
            "favoured" if est.ci_low > est.neutral else "opposed" if est.ci_high < est.neutral else "neutral within CI"
        )
        rows.append(
            {
                "invader": inv,
                "resident": resident,
                "N": size,
                "intensity": w,
                "repeats": est.repeats,
                "fixations": est.fixations,
                "fixation": est.probability,
                "ci_low": est.ci_low,
                "ci_high": est.ci_high,
                "exact": est.exact,
                "neutral": est.neutral,
                "verdict": verdict,
            }
        )
    return pd.DataFrame(rows, columns=MORAN_COLUMNS)


def moran_caption(resident: str, size: int = MORAN_SIZE) -> str:
    return (
        f"Moran process on the payoff matrix: probability that one invader takes over a population of "
        f"{size - 1} {resident} agents (fitness exp(w·payoff against the rest), w = {MORAN_SELECTION:g} / "
        f"(max A − min A)); estimate over n = {MORAN_REPEATS} runs with its Wilson 95% interval, the closed form, "
        f"and the neutral 1/N = {1 / size:.3f}"
    )
