"""Report section of the relay tournament: leaderboard, payoff matrix, replicator and Moran dynamics.

The runs store a :class:`~auctionlab.tournament.Tournament`'s interaction rows (one
repetition per run and mechanism). ``dataset(store)`` turns them back into one
:class:`~auctionlab.tournament.ResultSet` per mechanism — what ``Tournament(...).play()``
returns on the same seeds — and derives every frame from it: the leaderboard
(``summarise()``, t intervals over runs), the payoff matrix, replicator dynamics
(:class:`~auctionlab.tournament.Ecosystem`) and Moran fixation probabilities of each
strategy invading a truthful population. ``figures(frames, figdir)`` draws them with the
tournament's plot functions; ``claims(frames)`` checks the statements; ``build(store,
figdir)`` composes the section.

A match splits each role between its two strategies, so A[a, b] is the mean utility of the
a-agents in a market that is half a, half b. The claims: "best response ≥ truthful under
k-DA" on the tournament score, paired by run; "truthful is not beaten" (mechanisms declared
truthful): no strategy's score exceeds truthful's with a paired 95% interval above 0 — half the
market deviating together, which dominant-strategy truthfulness does not rule out;
replicator claims compare the final share with the initial 1/k (n = runs).

The truthful strategy and the best response are found among the strategy *objects* the
spec builds (a label whose buyer and seller strategies are both :class:`Truthful`, both
:class:`BestResponse`), never by their labels.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from auctionlab.errors import ConfigError, InvalidInputError
from auctionlab.mechanisms.relay.mechanisms import KDA
from auctionlab.report.plots import new_figure, save
from auctionlab.report.sections import (
    Claim,
    Figure,
    Section,
    analysis_rng,
    ci_text,
    empty_section,
    judge,
    settings_of,
)
from auctionlab.report.stats import mean_ci
from auctionlab.strategies import (
    BestResponse,
    Strategy,
    Truthful,
    strategy_from_spec,
)
from auctionlab.studies.relay_common import (
    ANALYSIS_STREAM,
    ROLES,
    TOL,
    has,
    mech_label,
    mech_name,
    mech_order,
    meta,
    one_row,
    panel,
    strategy_color,
)
from auctionlab.studies.tournament_common import moran_caption, moran_table, result_set
from auctionlab.tournament import Ecosystem, ResultSet
from auctionlab.tournament.plot import draw_boxplot, draw_payoff

REPLICATOR_TURNS = 200
TITLE = "Tournament of relay strategies: leaderboard, payoff matrix, replicator and Moran dynamics"


# ---------------------------------------------------------------------- the strategy objects
def tournament_strategies(params: Mapping[str, Any]) -> dict[str, dict[str, Strategy]]:
    """Label -> role -> strategy object, built from a tournament's (full) parameters the way
    the run builds them (a single spec serves both roles)."""
    spec = params.get("strategies")
    if not isinstance(spec, Mapping) or not spec:
        raise ConfigError(f"strategies must be a table label -> {{buyer = spec, seller = spec}}, got {spec!r}")
    out: dict[str, dict[str, Strategy]] = {}
    for label, roles in spec.items():
        if isinstance(roles, (str, Strategy)) or (isinstance(roles, Mapping) and "strategy" in roles):
            roles = {"buyer": roles, "seller": roles}
        if not isinstance(roles, Mapping) or set(roles) != set(ROLES):
            raise ConfigError(f"strategies.{label} must give a 'buyer' and a 'seller' spec, got {roles!r}")
        out[str(label)] = {role: strategy_from_spec(roles[role]) for role in ROLES}
    return out


def strategies_frame(protos: Mapping[str, Mapping[str, Strategy]]) -> pd.DataFrame:
    """One row per (label, role): the strategy object and its registered name."""
    rows = [
        {"label": lab, "role": role, "strategy": s, "kind": s.name}
        for lab, roles in protos.items()
        for role, s in roles.items()
    ]
    return pd.DataFrame(rows, columns=["label", "role", "strategy", "kind"])


def label_of(strategies: pd.DataFrame, cls: type[Strategy]) -> str | None:
    """The first label whose buyer and seller strategies are both instances of ``cls``."""
    if strategies is None or strategies.empty:
        return None
    for lab, g in strategies.groupby("label", sort=False):
        if set(g["role"]) == set(ROLES) and all(isinstance(s, cls) for s in g["strategy"]):
            return str(lab)
    return None


def tournament_roles(store) -> tuple[str | None, str | None]:
    """The labels of the truthful strategy and of the best response in a stored tournament,
    found from the strategy objects its spec builds (None: not in it, or not buildable here)."""
    frame = _strategies_of(store)
    return label_of(frame, Truthful), label_of(frame, BestResponse)


def _strategies_of(store) -> pd.DataFrame:
    from auctionlab.studies import STUDIES

    try:
        params = STUDIES["tournament"].kind.full_params(store.spec.params)
        return strategies_frame(tournament_strategies(params))
    except (ConfigError, KeyError):  # strategies this version cannot build: no claims that need the roles
        return strategies_frame({})


# ---------------------------------------------------------------------- data shaping
def results_by_mechanism(runs: pd.DataFrame, players: list[str] | None = None) -> dict[str, ResultSet]:
    """One :class:`ResultSet` per mechanism (run order) from the stored rows."""
    out = {}
    for mech, d in runs.groupby("mechanism", sort=False):
        try:
            out[str(mech)] = result_set(d, players, meta={"mechanism": str(mech)})
        except InvalidInputError:  # no run with every match stored yet
            continue
    return out


def _replicator(rs: ResultSet, mech: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    eco = Ecosystem(rs).reproduce(REPLICATOR_TURNS)
    traj = eco.frame().assign(mechanism=mech)
    k = rs.num_players
    final = eco.shares[-1]
    finals = pd.DataFrame(
        {
            "mechanism": mech,
            "strategy": rs.players,
            "initial_share": 1.0 / k,
            "final_share": final,
            "runs": rs.repetitions,
        }
    )
    return traj, finals


def _score_gap(rs: ResultSet, a: str, b: str) -> tuple[float, float, float, int]:
    """Paired (by run) mean of score[a] − score[b] with its 95% normal interval, and n."""
    d = rs.scores[rs.players.index(a)] - rs.scores[rs.players.index(b)]
    m, lo, hi = mean_ci(d)
    return m, lo, hi, int(d.size)


def dataset(store) -> dict[str, Any]:
    """Frames behind the section (empty dict when nothing is stored): ``results`` (mechanism ->
    ResultSet), ``mechanisms`` (run order), ``strategies`` (label, role, strategy object),
    ``leaderboard`` (``summarise()`` per mechanism), ``matrix`` (long payoff frames),
    ``replicator`` (trajectories), ``finals``, ``moran`` and ``meta``."""
    runs = store.table("runs")
    if runs.empty or "player" not in runs:
        return {}
    strategies = _strategies_of(store)
    labels = list(dict.fromkeys(strategies["label"])) if not strategies.empty else None
    if labels is not None and not set(runs["player"]) <= set(labels):
        labels = None
    results = results_by_mechanism(runs, labels)
    if not results:
        return {}
    T = label_of(strategies, Truthful)
    gen = analysis_rng(store, ANALYSIS_STREAM)
    boards, mats, trajs, finals, morans = [], [], [], [], []
    for mech, rs in results.items():
        boards.append(rs.summarise().assign(mechanism=mech))
        mats.append(rs.payoff_frame().assign(mechanism=mech))
        traj, fin = _replicator(rs, mech)
        trajs.append(traj)
        finals.append(fin)
        if T is not None:
            morans.append(moran_table(rs, T, gen).assign(mechanism=mech))
    first = ["mechanism"]
    cat = lambda xs: pd.concat(xs, ignore_index=True) if xs else pd.DataFrame()  # noqa: E731
    reorder = lambda d: d[first + [c for c in d.columns if c not in first]] if not d.empty else d  # noqa: E731
    return {
        "meta": one_row(name=store.name, runs=int(runs["run_id"].nunique())),
        "results": results,
        "mechanisms": pd.DataFrame({"mechanism": mech_order(list(results))}),
        "strategies": strategies,
        "leaderboard": reorder(cat(boards)),
        "matrix": reorder(cat(mats)),
        "replicator": cat(trajs),
        "finals": cat(finals),
        "moran": reorder(cat(morans)),
    }


# ---------------------------------------------------------------------- figures
def _per_mechanism_figure(frames, figdir: Path, name: str, suffix: str, draw, caption: str, height: float):
    mechs = list(frames["mechanisms"]["mechanism"])
    fig, axes = new_figure(1, len(mechs), width=4.6, height=height)
    for c, mech in enumerate(mechs):
        draw(frames["results"][mech], axes[0][c], f"({panel(c)}) {mech_label(mech)}")
    png, svg = save(fig, figdir, f"{name}-{suffix}")
    return Figure(f"{name}-{suffix}", caption, png, svg)


def _draw_replicator(frames):
    def draw(rs: ResultSet, ax, title: str) -> None:
        d = frames["replicator"]
        d = d[d["mechanism"] == rs.meta["mechanism"]]
        for i, (lab, g) in enumerate(d.groupby("strategy", sort=False)):
            ax.plot(g["step"], g["share"], color=strategy_color(i), label=lab)
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("replicator turn")
        ax.set_ylabel("population share")
        if ax.get_subplotspec().colspan.start == 0:
            ax.legend(fontsize=7)

    return draw


def figures(frames: dict[str, Any], figdir: Path) -> list[Figure]:
    """Score boxplots, payoff matrices and replicator dynamics, one panel per mechanism (PNG and SVG)."""
    if not frames:
        return []
    name = str(meta(frames, "name", "tournament"))
    runs = meta(frames, "runs")
    return [
        _per_mechanism_figure(
            frames,
            figdir,
            name,
            "leaderboard",
            lambda rs, ax, t: draw_boxplot(rs.score_frame(), ax, title=t),
            f"Tournament scores over {runs} runs (one box per strategy, in rank order): a strategy's mean utility "
            "per agent and round against the other strategies, each match splitting buyers and sellers between "
            "its two strategies.",
            3.6,
        ),
        _per_mechanism_figure(
            frames,
            figdir,
            name,
            "payoff",
            lambda rs, ax, t: draw_payoff(rs.payoff_frame(), ax, title=t),
            f"Payoff matrix A[a, b] over {runs} runs: mean utility per round of the agents playing the row in a "
            "market split between the row and the column strategy (rank order).",
            4.2,
        ),
        _per_mechanism_figure(
            frames,
            figdir,
            name,
            "replicator",
            _draw_replicator(frames),
            f"Replicator dynamics (the tournament's Ecosystem, {REPLICATOR_TURNS} turns) on each mechanism's payoff "
            "matrix, from equal shares.",
            3.4,
        ),
    ]


# ---------------------------------------------------------------------- claims
def _kda_claim(frames, T: str | None, BR: str | None) -> list[Claim]:
    rs = frames["results"].get(mech_name(KDA))
    if rs is None or T is None or BR is None or not {T, BR} <= set(rs.players):
        return []
    m, lo, hi, n = _score_gap(rs, BR, T)
    return [
        Claim(
            "Under the k-double auction the best response scores at least as much as truthful reporting",
            judge(m >= 0, n),
            f"score of the best response minus truthful's, paired by run: {ci_text(m, lo, hi)}.",
            n=n,
        )
    ]


def _truthful_claims(frames, T: str | None) -> list[Claim]:
    out: list[Claim] = []
    if T is None:
        return out
    for mech, rs in frames["results"].items():
        if not has(mech, "truthful") or T not in rs.players:
            continue
        gaps = {a: _score_gap(rs, a, T) for a in rs.players if a != T}
        beaten = [a for a, g in gaps.items() if g[1] > TOL]
        n = min(g[3] for g in gaps.values())
        out.append(
            Claim(
                f"Under {mech_label(mech)} no strategy beats truthful reporting in the tournament (no score above "
                "truthful's with a paired 95% interval above 0; a match is half the market deviating together, "
                "which truthfulness, a unilateral property, does not rule out)",
                judge(not beaten, n),
                "score minus truthful's: "
                + "; ".join(f"{a} {ci_text(g[0], g[1], g[2])}" for a, g in gaps.items())
                + (f". Beaten by: {', '.join(beaten)}" if beaten else "")
                + ".",
                n=n,
            )
        )
    return out


def _replicator_claims(frames, T: str | None, BR: str | None) -> list[Claim]:
    fin = frames["finals"]
    if fin.empty or T is None or T not in set(fin["strategy"]):
        return []
    mechs = list(frames["mechanisms"]["mechanism"])
    kda = mech_name(KDA)
    out = []
    for mech in [kda] * (kda in mechs) + [m for m in mechs if has(m, "truthful")]:
        f = fin[fin["mechanism"] == mech].set_index("strategy")
        if f.empty:
            continue
        share, init = float(f.loc[T, "final_share"]), float(f.loc[T, "initial_share"])
        winner = str(f["final_share"].idxmax())
        n = int(f["runs"].iloc[0])
        tail = f"truthful share {init:.3f} → {share:.3f}; largest final share: {winner} ({float(f['final_share'].max()):.3f})."
        if mech == kda:
            out.append(
                Claim(
                    "Under the k-double auction truthful reporting does not survive replicator dynamics (its share "
                    "falls below the initial 1/k)",
                    judge(share < init, n),
                    tail,
                    n=n,
                )
            )
        else:
            out.append(
                Claim(
                    f"Under {mech_label(mech)} truthful reporting is not driven out by replicator dynamics",
                    judge(share >= init, n),
                    tail,
                    n=n,
                )
            )
    return out


def claims(frames: dict[str, Any]) -> list[Claim]:
    """The statements, checked; strategies chosen by their objects (:class:`Truthful`,
    :class:`BestResponse`), mechanisms by their objects and declared properties."""
    if not frames:
        return []
    T, BR = label_of(frames["strategies"], Truthful), label_of(frames["strategies"], BestResponse)
    return [*_kda_claim(frames, T, BR), *_truthful_claims(frames, T), *_replicator_claims(frames, T, BR)]


# ---------------------------------------------------------------------- the section
def build(store, figdir: Path) -> Section:
    sec = Section(store.name, TITLE, store.spec.description, settings_of(store))
    frames = dataset(store)
    if not frames:
        return empty_section(sec)
    sec.tables.append(
        (
            "Leaderboard (the result set's summarise()): score = mean utility per agent and round against the "
            "other strategies, 95% t interval over runs",
            frames["leaderboard"],
        )
    )
    sec.figures.extend(figures(frames, figdir))
    for mech, rs in frames["results"].items():
        A = pd.DataFrame(rs.payoff_matrix, index=rs.players, columns=rs.players)
        t = A.loc[rs.ranked_names, rs.ranked_names].reset_index(names="player \\ opponent")
        sec.tables.append(
            (
                f"Payoff matrix A, {mech_label(mech)}: mean utility per round of the row's agents in a market split "
                "between the row and the column strategy",
                t,
            )
        )
    if not frames["finals"].empty:
        sec.tables.append(("Replicator dynamics: final population shares from equal shares", frames["finals"]))
    T = label_of(frames["strategies"], Truthful)
    if not frames["moran"].empty and T is not None:
        sec.tables.append((moran_caption(T), frames["moran"]))
    elif T is None:
        sec.notes.append("No truthful strategy in the tournament: no Moran fixation table.")
    sec.claims.extend(claims(frames))
    return sec
