"""Report section of the relay tournament: leaderboard, payoff matrix and replicator dynamics.

``dataset(store)`` shapes the stored ``runs`` and ``rounds`` tables into tidy frames (every
bootstrap is drawn here); ``figures(frames, figdir)`` draws them; ``claims(frames)`` checks
the statements; ``build(store, figdir)`` composes the section.

Leaderboard = mean utility per agent and round in the league, CI over runs. The tests:
"best response ≥ truthful under k-DA": point estimates in both roles (n = league runs);
"nobody beats truthful against a truthful population" (mechanisms declared truthful): in
the payoff matrix (paired by construction) max_a A[a, truthful] − A[truthful, truthful] ≤
``TOL`` in both roles (n = focal observations against the truthful background, smaller
role); replicator claims compare the final share with the initial 1/k (n = runs).
Replicator dynamics run on A / max|A| (a positive rescaling only changes time), with bands
from bootstrap resamples of the runs.

The truthful strategy and the best response are found among the strategy *objects* the
spec builds (a label whose buyer and seller strategies are both :class:`Truthful`, both
:class:`BestResponse`), never by their labels.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from auctionlab.errors import ConfigError
from auctionlab.games import replicator_trajectory
from auctionlab.mechanisms.relay.mechanisms import KDA
from auctionlab.report.metrics import fmt
from auctionlab.report.plots import band, new_figure, save
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
from auctionlab.strategies import (
    BestResponse,
    Hedge,
    Strategy,
    Truthful,
    strategy_from_spec,
)
from auctionlab.studies.relay_common import (
    ANALYSIS_STREAM,
    ROLES,
    TOL,
    boot,
    has,
    judge_all,
    mech_color,
    mech_label,
    mech_name,
    mech_order,
    meta,
    one_row,
    panel,
    strategy_color,
)

REPLICATOR_STEPS, REPLICATOR_DT, REPLICATOR_BOOT = 1000, 0.2, 30
TITLE = "Tournament of relay strategies: leaderboard and replicator dynamics"


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
def tournament_matrices(runs: pd.DataFrame) -> dict[str, dict[str, pd.DataFrame]]:
    """Per mechanism: role -> A (rows focal a, columns background b), observation-weighted
    over runs, and ``mixed`` = (n·A_buyer + m·A_seller) / (n + m)."""
    mx = runs[runs["part"] == "matrix"]
    out: dict[str, dict[str, pd.DataFrame]] = {}
    for mech, d in mx.groupby("mechanism", sort=False):
        d = d.assign(w=d["mean_utility"] * d["observations"])
        res = {}
        for role, g in d.groupby("role"):
            s = g.groupby(["strategy", "background"])[["w", "observations"]].sum()
            res[role] = (s["w"] / s["observations"]).unstack("background")
        labels = list(dict.fromkeys(d["strategy"]))
        res = {role: A.reindex(index=labels, columns=labels) for role, A in res.items()}
        n, m = float(d["n"].iloc[0]), float(d["m"].iloc[0])
        if "buyer" in res and "seller" in res:
            res["mixed"] = (n * res["buyer"] + m * res["seller"]) / (n + m)
        out[str(mech)] = res
    return out


def replicator(A: np.ndarray, steps: int = REPLICATOR_STEPS, dt: float = REPLICATOR_DT) -> np.ndarray:
    """Shares over time from uniform, on A / max|A| (a positive rescaling changes only time)."""
    scale = float(np.abs(A).max()) or 1.0
    k = A.shape[0]
    return replicator_trajectory(A / scale, np.full(k, 1.0 / k), steps=steps, dt=dt)


def _mixed_matrix_by_run(mx: pd.DataFrame, labels: list[str]) -> tuple[list, np.ndarray]:
    """Per run: the role-weighted matrix (runs, k, k) (for bootstrap bands)."""
    out, ids = [], []
    for rid, d in mx.groupby("run_id"):
        n, m = float(d["n"].iloc[0]), float(d["m"].iloc[0])
        mats = {}
        for role, g in d.groupby("role"):
            mats[role] = (
                g.pivot(index="strategy", columns="background", values="mean_utility")
                .reindex(index=labels, columns=labels)
                .to_numpy()
            )
        if set(mats) == set(ROLES):
            out.append((n * mats["buyer"] + m * mats["seller"]) / (n + m))
            ids.append(rid)
    return ids, np.array(out)


def _matrix_long(mats: dict[str, dict[str, pd.DataFrame]], mx: pd.DataFrame) -> pd.DataFrame:
    """The payoff matrices as one tidy frame: mechanism, role (buyer, seller, mixed),
    strategy (focal), background, mean_utility, observations (summed over runs)."""
    obs = mx.groupby(["mechanism", "role", "strategy", "background"])["observations"].sum()
    rows = []
    for mech, res in mats.items():
        for role, A in res.items():
            for a in A.index:
                for b in A.columns:
                    o = (
                        sum(int(obs.get((mech, r, a, b), 0)) for r in ROLES)
                        if role == "mixed"
                        else int(obs.get((mech, role, a, b), 0))
                    )
                    rows.append(
                        {
                            "mechanism": mech,
                            "role": role,
                            "strategy": a,
                            "background": b,
                            "mean_utility": float(A.loc[a, b]),
                            "observations": o,
                        }
                    )
    return pd.DataFrame(rows, columns=["mechanism", "role", "strategy", "background", "mean_utility", "observations"])


def matrix(frames: Mapping[str, pd.DataFrame], mech, role: str) -> pd.DataFrame:
    """A[a, b] of one mechanism (object or name) and role from the tidy ``matrix`` frame,
    rows and columns in the spec's order (empty when absent)."""
    mf = frames.get("matrix")
    if mf is None or mf.empty:
        return pd.DataFrame()
    d = mf[(mf["mechanism"] == mech_name(mech)) & (mf["role"] == role)]
    if d.empty:
        return pd.DataFrame()
    labels = list(dict.fromkeys(d["strategy"]))
    A = d.pivot(index="strategy", columns="background", values="mean_utility").reindex(index=labels, columns=labels)
    A.columns.name = "background"
    return A


def _replicator_frames(mats, mx: pd.DataFrame, gen) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    traj_rows, finals, notes = [], [], []
    for mech, res in mats.items():
        if "mixed" not in res:
            continue
        A = res["mixed"].to_numpy()
        labs = list(res["mixed"].index)
        if not np.all(np.isfinite(A)):
            notes.append(f"{mech}: the payoff matrix has empty cells; replicator dynamics skipped.")
            continue
        traj = replicator(A)
        ids, per_run = _mixed_matrix_by_run(mx[mx["mechanism"] == mech], labs)
        boots = []
        if len(ids) > 1 and np.all(np.isfinite(per_run)):
            for _ in range(REPLICATOR_BOOT):
                pick = gen.integers(0, len(ids), size=len(ids))
                boots.append(replicator(per_run[pick].mean(axis=0)))
        t = np.arange(traj.shape[0]) * REPLICATOR_DT
        for i, lab in enumerate(labs):
            b = np.array([x[:, i] for x in boots]) if boots else None
            traj_rows.append(
                pd.DataFrame(
                    {
                        "mechanism": mech,
                        "strategy": lab,
                        "time": t,
                        "share": traj[:, i],
                        "lo": np.quantile(b, 0.025, axis=0) if b is not None else np.nan,
                        "hi": np.quantile(b, 0.975, axis=0) if b is not None else np.nan,
                    }
                )
            )
            finals.append(
                {
                    "mechanism": mech,
                    "strategy": lab,
                    "initial_share": 1.0 / len(labs),
                    "final_share": float(traj[-1, i]),
                    "final_lo": float(np.quantile([x[-1, i] for x in boots], 0.025)) if boots else np.nan,
                    "final_hi": float(np.quantile([x[-1, i] for x in boots], 0.975)) if boots else np.nan,
                    "runs": len(ids),
                }
            )
    cols = ["mechanism", "strategy", "time", "share", "lo", "hi"]
    traj = pd.concat(traj_rows, ignore_index=True) if traj_rows else pd.DataFrame(columns=cols)
    return traj, pd.DataFrame(finals), notes


def _learner_curves(rounds: pd.DataFrame, strategies: pd.DataFrame) -> pd.DataFrame:
    """Per mechanism, role and learner label: mean expected θ per round with a normal 95% CI
    over runs, and the learner's registered name (``kind``)."""
    cols = ["mechanism", "role", "strategy", "kind", "step", "mean", "ci_low", "ci_high"]
    if rounds.empty or "mean_theta" not in rounds:
        return pd.DataFrame(columns=cols)
    kinds = {} if strategies.empty else {(r.label, r.role): r.kind for r in strategies.itertuples(index=False)}
    out = []
    for role in ROLES:
        d = rounds[rounds["role"] == role]
        for (mech, strat), g in d.groupby(["mechanism", "strategy"], sort=False):
            s = g.groupby("step")["mean_theta"].agg(["mean", "std", "count"]).reset_index()
            half = 1.96 * s["std"].fillna(0) / np.sqrt(s["count"].clip(lower=1))
            out.append(
                s.assign(
                    ci_low=s["mean"] - half,
                    ci_high=s["mean"] + half,
                    mechanism=mech,
                    role=role,
                    strategy=strat,
                    kind=kinds.get((strat, role), strat),
                )
            )
    return pd.concat(out, ignore_index=True)[cols] if out else pd.DataFrame(columns=cols)


def dataset(store) -> dict[str, pd.DataFrame]:
    """Tidy frames behind the section (empty dict when nothing is stored): ``mechanisms``
    (run order), ``strategies`` (label, role, strategy object), ``leaderboard``, ``matrix``
    (long), ``replicator`` (trajectories with bands), ``finals``, ``learners``, ``notes``
    and ``meta``."""
    runs, rounds = store.table("runs"), store.table("rounds")
    if runs.empty:
        return {}
    gen = analysis_rng(store, ANALYSIS_STREAM)
    strategies = _strategies_of(store)
    league = runs[runs["part"] == "league"]
    lb = boot(league, "mean_utility", ["mechanism", "role", "strategy"], gen)
    lb["rank"] = lb.groupby(["mechanism", "role"])["estimate"].rank(ascending=False, method="min").astype(int)
    lb = lb.sort_values(["mechanism", "role", "rank"]).reset_index(drop=True)
    lb = lb.rename(columns={"estimate": "mean_utility", "n": "runs"})
    mats = tournament_matrices(runs)
    mx = runs[runs["part"] == "matrix"]
    traj, finals, notes = _replicator_frames(mats, mx, gen)
    return {
        "meta": one_row(name=store.name, runs=int(runs["run_id"].nunique())),
        "mechanisms": pd.DataFrame({"mechanism": mech_order(runs["mechanism"].unique())}),
        "league_strategies": pd.DataFrame({"strategy": list(dict.fromkeys(league["strategy"]))}),
        "strategies": strategies,
        "leaderboard": lb,
        "matrix": _matrix_long(mats, mx),
        "replicator": traj,
        "finals": finals,
        "learners": _learner_curves(rounds, strategies),
        "notes": pd.DataFrame({"note": notes}, dtype=object),
    }


# ---------------------------------------------------------------------- figures
def _leaderboard_figure(frames, figdir: Path, name: str) -> Figure:
    mechs = list(frames["mechanisms"]["mechanism"])
    labels = list(frames["league_strategies"]["strategy"])
    lb = frames["leaderboard"]
    fig, axes = new_figure(2, len(mechs), width=4.2, height=3.2)
    for c, mech in enumerate(mechs):
        for r, role in enumerate(ROLES):
            ax = axes[r][c]
            d = lb[(lb["mechanism"] == mech) & (lb["role"] == role)].set_index("strategy").reindex(labels)
            xs = np.arange(len(labels))
            ax.bar(
                xs,
                d["mean_utility"],
                yerr=[d["mean_utility"] - d["lo"], d["hi"] - d["mean_utility"]],
                color=[strategy_color(i) for i in range(len(labels))],
                capsize=2,
            )
            ax.set_xticks(xs, labels, rotation=60, ha="right", fontsize=7)
            ax.set_title(f"({panel(r * len(mechs) + c)}) {mech_label(mech)}, {role}s", fontsize=9)
            ax.set_ylabel("mean utility per round")
    png, svg = save(fig, figdir, f"{name}-leaderboard")
    return Figure(
        f"{name}-leaderboard",
        (
            f"League leaderboard over {meta(frames, 'runs')} runs: mean utility per agent and round with 95% bootstrap CI "
            "over runs. Strategies are compared on different agents (random types), so small differences are noise."
        ),
        png,
        svg,
    )


def _replicator_figure(frames, figdir: Path, name: str) -> Figure | None:
    mf = frames["matrix"]
    if mf.empty:
        return None
    mechs = list(dict.fromkeys(mf["mechanism"]))
    traj = frames["replicator"]
    fig, axes = new_figure(1, len(mechs), width=4.4, height=3.4)
    for c, mech in enumerate(mechs):
        d = traj[traj["mechanism"] == mech]
        if d.empty:
            continue
        ax = axes[0][c]
        for i, (lab, g) in enumerate(d.groupby("strategy", sort=False)):
            col = strategy_color(i)
            ax.plot(g["time"], g["share"], color=col, label=lab)
            if g["lo"].notna().all():
                ax.fill_between(g["time"], g["lo"], g["hi"], color=col, alpha=0.15, linewidth=0)
        ax.set_title(f"({panel(c)}) {mech_label(mech)}", fontsize=10)
        ax.set_xlabel("time (replicator units)")
        ax.set_ylabel("population share")
        if c == 0:
            ax.legend(fontsize=7)
    png, svg = save(fig, figdir, f"{name}-replicator")
    return Figure(
        f"{name}-replicator",
        (
            "Replicator dynamics on the empirical payoff matrix A[a, b] (mean utility of one agent playing a when "
            "everyone else plays b; buyers and sellers weighted by n and m), from equal shares; bands: 95% of "
            f"{REPLICATOR_BOOT} bootstrap resamples of the runs. Learners enter A with the mixed strategy they had "
            "learned by the end of the league."
        ),
        png,
        svg,
    )


def _learners_figure(frames, figdir: Path, name: str) -> Figure | None:
    lc = frames["learners"]
    if lc.empty:
        return None
    fig, axes = new_figure(1, 2, width=4.6, height=3.3)
    for ax, role in zip(axes[0], ROLES):
        d = lc[lc["role"] == role]
        for (mech, strat), s in d.groupby(["mechanism", "strategy"], sort=False):
            band(
                ax,
                s,
                "step",
                color=mech_color(mech),
                linestyle="-" if s["kind"].iloc[0] == Hedge.name else "--",
                name=f"{mech_label(mech)}, {strat}",
            )
        ax.axhline(1.0, color="grey", linewidth=0.8, linestyle=":")
        ax.set_title(f"({'ab'[role == 'seller']}) learners' expected θ, {role}s", fontsize=10)
        ax.set_xlabel("league round")
        ax.set_ylabel("mean θ (report / truth)")
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=6)
    png, svg = save(fig, figdir, f"{name}-learners")
    return Figure(
        f"{name}-learners",
        (
            "Learners in the league: mean expected θ (their mixed strategy's mean multiplier on the truth) over "
            "rounds; band = 95% CI over runs."
        ),
        png,
        svg,
    )


def figures(frames: dict[str, pd.DataFrame], figdir: Path) -> list[Figure]:
    """Leaderboard, replicator dynamics and the learners' θ over the league (PNG and SVG)."""
    if not frames:
        return []
    name = str(meta(frames, "name", "tournament"))
    out = [
        _leaderboard_figure(frames, figdir, name),
        _replicator_figure(frames, figdir, name),
        _learners_figure(frames, figdir, name),
    ]
    return [f for f in out if f is not None]


# ---------------------------------------------------------------------- claims
def _league_claim(frames, T: str | None, BR: str | None) -> list[Claim]:
    mechs = list(frames["mechanisms"]["mechanism"])
    if mech_name(KDA) not in mechs or T is None or BR is None:
        return []
    lb = frames["leaderboard"]
    d = lb[lb["mechanism"] == mech_name(KDA)].set_index(["role", "strategy"])
    need = {(role, s) for role in ROLES for s in (T, BR)}
    if not {("buyer", BR), ("buyer", T)} <= set(d.index):
        return []
    if not need <= set(d.index):
        return [
            Claim(
                "Under the k-double auction the best response earns at least as much as truthful reporting (league)",
                "insufficient data",
                "a role has no league agent playing one of the two.",
                n=0,
            )
        ]
    parts, ok = [], True
    for role in ROLES:
        br, tr = d.loc[(role, BR)], d.loc[(role, T)]
        ok &= bool(br["mean_utility"] >= tr["mean_utility"])
        parts.append(
            f"{role}s: best response {ci_text(br['mean_utility'], br['lo'], br['hi'])} vs truthful "
            f"{ci_text(tr['mean_utility'], tr['lo'], tr['hi'])}"
        )
    n = int(min(int(d.loc[k, "runs"]) for k in need))
    return [
        Claim(
            "Under the k-double auction the best response earns at least as much as truthful reporting (league)",
            judge(ok, n),
            "; ".join(parts) + ".",
            n=n,
        )
    ]


def _matrix_claims(frames, T: str | None) -> list[Claim]:
    if T is None:
        return []
    out = []
    for mech in (m for m in frames["mechanisms"]["mechanism"] if has(m, "truthful")):
        mats = {role: matrix(frames, mech, role) for role in ROLES}
        if any(A.empty or T not in A.columns for A in mats.values()):
            continue
        mf = frames["matrix"]
        parts, ok, n = [], True, None
        for role in ROLES:
            col = mats[role][T]
            gain = float((col - col[T]).max())
            best = str((col - col[T]).idxmax())
            ok &= gain <= TOL
            parts.append(f"{role}s: largest gain over truthful {fmt(gain)} ({best})")
            cell = mf[
                (mf["mechanism"] == mech) & (mf["role"] == role) & (mf["strategy"] == T) & (mf["background"] == T)
            ]
            obs = int(cell["observations"].sum())
            n = obs if n is None else min(n, obs)
        out.append(
            Claim(
                f"Under {mech_label(mech)} no strategy beats truthful reporting against a truthful "
                "population (payoff matrix, paired)",
                judge_all(ok, n),
                "; ".join(parts) + ".",
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
        n = int(f["runs"].iloc[0]) if "runs" in f else None
        if mech == kda:
            out.append(
                Claim(
                    "Under the k-double auction truthful reporting does not survive replicator dynamics (its share "
                    "falls below the initial 1/k)",
                    judge(share < init, n),
                    f"truthful share {init:.3f} → {share:.3f}; largest final share: {winner} "
                    f"({float(f['final_share'].max()):.3f}).",
                    n=n,
                )
            )
        else:
            tb = share + (float(f.loc[BR, "final_share"]) if BR in f.index else 0.0)
            out.append(
                Claim(
                    f"Under {mech_label(mech)} truthful reporting (and the best response, which coincides with it) "
                    "is not driven out by replicator dynamics",
                    judge(share >= init, n),
                    f"truthful share {init:.3f} → {share:.3f}; truthful + best response {tb:.3f}; largest final "
                    f"share: {winner} ({float(f['final_share'].max()):.3f}).",
                    n=n,
                )
            )
    return out


def claims(frames: dict[str, pd.DataFrame]) -> list[Claim]:
    """The statements, checked; strategies chosen by their objects (:class:`Truthful`,
    :class:`BestResponse`), mechanisms by their objects and declared properties."""
    if not frames:
        return []
    T, BR = label_of(frames["strategies"], Truthful), label_of(frames["strategies"], BestResponse)
    return [*_league_claim(frames, T, BR), *_matrix_claims(frames, T), *_replicator_claims(frames, T, BR)]


# ---------------------------------------------------------------------- the section
def build(store, figdir: Path) -> Section:
    sec = Section(store.name, TITLE, store.spec.description, settings_of(store))
    frames = dataset(store)
    if not frames:
        return empty_section(sec)
    sec.tables.append(
        (
            (
                "Leaderboard: mean utility per agent and round in the league (every agent given a strategy "
                "uniformly at random, a new random market every round), 95% bootstrap CI over runs"
            ),
            frames["leaderboard"],
        )
    )
    sec.figures.extend(figures(frames, figdir))
    sec.notes.extend(frames["notes"]["note"])
    mf = frames["matrix"]
    for mech in dict.fromkeys(mf["mechanism"]):
        A = matrix(frames, mech, "mixed")
        if not A.empty:
            t = A.reset_index().rename(columns={"strategy": "focal \\ background"})
            t.columns.name = "background"
            sec.tables.append(
                (
                    (
                        f"Payoff matrix A (role-weighted), {mech_label(mech)}: mean utility of "
                        "a focal agent playing the row when everyone else plays the column"
                    ),
                    t,
                )
            )
    if not frames["finals"].empty:
        sec.tables.append(
            ("Replicator dynamics: final population shares (95% bootstrap interval over runs)", frames["finals"])
        )
    sec.claims.extend(claims(frames))
    return sec
