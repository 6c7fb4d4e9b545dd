"""Report section of the relay equilibrium study: empirical shading × inflation games and
learning in the Mesa relay market.

``dataset(store)`` shapes the stored ``runs``, ``agents`` and ``rounds`` tables into tidy
frames (role games, regrets, equilibria, solver results, learning summaries; every
bootstrap is drawn here); ``figures(frames, figdir)`` draws them; ``claims(frames)``
checks the statements; ``build(store, figdir)`` composes the section. The tests:

- "truthful is an equilibrium against unilateral deviations" (mechanisms declared
  truthful): the unilateral regret of (1, 1) is ≤ ``TOL``; n = (run, instance) units;
- "not an equilibrium" (k-DA): its bootstrap CI lies above 0; n = units;
- "solvers find an equilibrium": regret of the returned mixture below ``SOLVER_TOL`` = 1% of
  the role game's payoff range; n = instances per profile (smallest game);
- learners "shade / inflate" (k-DA): mean θ over the last 10% of rounds < 0.95 for buyers
  and > 1.05 for sellers; "stay near truthful" (truthful mechanisms): within
  ``NEAR_TRUTH`` = 0.1 of 1 for both roles; n = learning runs.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from auctionlab.games import SOLVERS, EmpiricalGame, pure_equilibria, solve
from auctionlab.mechanisms.relay.mechanisms import KDA, TASC
from auctionlab.report.metrics import fmt, group_mean_ci
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
from auctionlab.report.stats import resample_means
from auctionlab.strategies import Hedge
from auctionlab.studies.relay_common import (
    ANALYSIS_STREAM,
    N_BOOT,
    ROLES,
    TOL,
    boot,
    cap,
    has,
    judge_all,
    mech_color,
    mech_label,
    mech_name,
    meta,
    one_row,
    panel,
)

SOLVER_TOL = 0.01
# The learning dynamics the section runs on each role game (registry names in SOLVERS); the
# exact two-player solvers registered beside them are not part of this claim.
DYNAMICS = ("replicator_dynamics", "regret_matching", "fictitious_play")
NEAR_TRUTH = 0.10
TRUTH = (1.0, 1.0)
TITLE = "Empirical games and learning in the relay market: shading × inflation"
LEARNING_COLUMNS = (
    "final_theta_buyer",
    "final_theta_seller",
    "mean_utility_buyer",
    "mean_utility_seller",
    "mean_trades",
    "mean_welfare",
)


# ---------------------------------------------------------------------- data shaping
def role_game(game_runs: pd.DataFrame, buyer_thetas, seller_thetas) -> EmpiricalGame:
    """The role game of one mechanism: buyer θ × seller θ, one payoff sample per instance and profile."""
    g = EmpiricalGame({"buyer": [float(x) for x in buyer_thetas], "seller": [float(x) for x in seller_thetas]})
    return g.add_frame(
        game_runs.assign(
            theta_buyer=game_runs["theta_buyer"].astype(float), theta_seller=game_runs["theta_seller"].astype(float)
        ),
        ["theta_buyer", "theta_seller"],
        ["buyer_payoff", "seller_payoff"],
    )


def unilateral_regret(dev: pd.DataFrame, gen: np.random.Generator, n_boot: int = 500) -> pd.DataFrame:
    """Per profile: the largest mean gain of one agent switching θ (others at the profile),
    over roles and θ', with a bootstrap CI over (run, instance) units and the best deviation."""
    rows = []
    d = dev.assign(unit=dev["run_id"].astype(str) + ":" + dev["instance"].astype(str))
    for (tb, ts), g in d.groupby(["theta_buyer", "theta_seller"], sort=True):
        w = g.pivot_table(index="unit", columns=["role", "deviation"], values="gain", aggfunc="mean")
        w = w.dropna(axis=0, how="any")
        if w.empty:
            continue
        means = w.mean(axis=0)
        reg = max(0.0, float(means.max()))
        b = np.maximum(resample_means(w.to_numpy(), n_boot=n_boot, rng=gen).max(axis=1), 0.0)
        role, th = means.idxmax()
        rows.append(
            {
                "theta_buyer": float(tb),
                "theta_seller": float(ts),
                "regret": reg,
                "lo": float(np.quantile(b, 0.025)),
                "hi": float(np.quantile(b, 0.975)),
                "best_deviation": f"{role} → {fmt(float(th))}" if reg > 0 else "none",
                "units": len(w),
            }
        )
    return pd.DataFrame(rows)


def _thetas(d: pd.DataFrame) -> tuple[list[float], list[float]]:
    return sorted(d["theta_buyer"].astype(float).unique()), sorted(d["theta_seller"].astype(float).unique())


def _heat_rows(mech: str, kind: str, mat: np.ndarray, tb: list[float], ts: list[float]) -> pd.DataFrame:
    i, j = np.meshgrid(np.arange(len(tb)), np.arange(len(ts)), indexing="ij")
    return pd.DataFrame(
        {
            "mechanism": mech,
            "kind": kind,
            "theta_buyer": np.asarray(tb)[i.ravel()],
            "theta_seller": np.asarray(ts)[j.ravel()],
            "regret": mat.ravel(),
        }
    )


def _game_frames(game: pd.DataFrame, agents: pd.DataFrame, gen) -> dict[str, pd.DataFrame]:
    """Per mechanism of the game part, in run order: the role game, its regrets, equilibria,
    solver results, unilateral regrets and the regret of truthful reporting."""
    mechs = list(dict.fromkeys(game["mechanism"])) if len(game) else []
    solver_rows, truth_rows, eq_rows, notes = [], [], [], []
    games, unis, heats = [], [], []
    for mech in mechs:
        d = game[game["mechanism"] == mech]
        tb, ts = _thetas(d)
        g = role_game(d, tb, ts)
        if not g.is_complete:
            notes.append(f"{mech}: the role game is incomplete ({len(g.missing_profiles())} profiles missing).")
            continue
        reg = g.pure_regrets()
        u = g.payoff_tensor()
        scale = float(np.ptp(u)) or 1.0
        instances = int(np.min(g.counts()))
        uni = (
            unilateral_regret(agents[agents["mechanism"] == mech], gen)
            if not agents.empty and "gain" in agents
            else pd.DataFrame()
        )
        heats.append(_heat_rows(mech, "role game", reg, tb, ts))
        if not uni.empty:
            umat = (
                uni.pivot(index="theta_buyer", columns="theta_seller", values="regret")
                .reindex(index=tb, columns=ts)
                .to_numpy()
            )
            heats.append(_heat_rows(mech, "unilateral", umat, tb, ts))
        r, lo, hi = g.regret_ci(TRUTH, rng=gen, n_boot=N_BOOT)
        row = {"mechanism": mech, "role_game_regret": r, "role_game_lo": lo, "role_game_hi": hi, "instances": instances}
        if not uni.empty:
            ur = uni[(uni["theta_buyer"] == 1.0) & (uni["theta_seller"] == 1.0)]
            if len(ur):
                row.update(
                    unilateral_regret=float(ur["regret"].iloc[0]),
                    unilateral_lo=float(ur["lo"].iloc[0]),
                    unilateral_hi=float(ur["hi"].iloc[0]),
                    best_unilateral=ur["best_deviation"].iloc[0],
                    units=int(ur["units"].iloc[0]),
                )
        truth_rows.append(row)
        for prof in pure_equilibria(g, eps=TOL * scale):
            rr, rlo, rhi = g.regret_ci(prof, rng=gen, n_boot=300)
            eq_rows.append(
                {
                    "mechanism": mech,
                    "kind": "role game (pure)",
                    "theta_buyer": prof[0],
                    "theta_seller": prof[1],
                    "regret": rr,
                    "lo": rlo,
                    "hi": rhi,
                    "buyer_payoff": float(g.mean_payoffs(prof)[0]),
                    "seller_payoff": float(g.mean_payoffs(prof)[1]),
                }
            )
        if not uni.empty:
            for _, ur in uni[uni["regret"] <= TOL].iterrows():
                eq_rows.append(
                    {
                        "mechanism": mech,
                        "kind": "unilateral (pure, symmetric)",
                        "theta_buyer": ur["theta_buyer"],
                        "theta_seller": ur["theta_seller"],
                        "regret": ur["regret"],
                        "lo": ur["lo"],
                        "hi": ur["hi"],
                    }
                )
        for name in (d for d in DYNAMICS if d in SOLVERS):
            res = solve(g, name, rng=gen)
            rr, rlo, rhi = g.regret_ci(res.mixture, rng=gen, n_boot=200)
            mb, ms = res.mixture
            solver_rows.append(
                {
                    "mechanism": mech,
                    "solver": name,
                    "regret": res.regret,
                    "lo": rlo,
                    "hi": rhi,
                    "regret_share_of_range": res.regret / scale,
                    "iterations": res.iterations,
                    "converged": res.converged,
                    "buyer_mean_theta": float(mb @ np.array(tb)),
                    "seller_mean_theta": float(ms @ np.array(ts)),
                    "buyer_mixture": " ".join(f"{fmt(t)}:{p:.2f}" for t, p in zip(tb, mb) if p > 0.005),
                    "seller_mixture": " ".join(f"{fmt(t)}:{p:.2f}" for t, p in zip(ts, ms) if p > 0.005),
                    "instances": instances,
                }
            )
        games.append(g.to_frame().drop(columns=["profile"]).assign(mechanism=mech))
        if not uni.empty:
            unis.append(uni.assign(mechanism=mech))
    heat_cols = ["mechanism", "kind", "theta_buyer", "theta_seller", "regret"]
    return {
        "truth": pd.DataFrame(truth_rows),
        "equilibria": pd.DataFrame(eq_rows),
        "solvers": pd.DataFrame(solver_rows),
        "role_games": pd.concat(games, ignore_index=True) if games else pd.DataFrame(),
        "unilateral": pd.concat(unis, ignore_index=True) if unis else pd.DataFrame(),
        "regret": pd.concat(heats, ignore_index=True) if heats else pd.DataFrame(columns=heat_cols),
        "notes": pd.DataFrame({"note": notes}, dtype=object),
    }


def _learning_frames(learn: pd.DataFrame, rounds: pd.DataFrame, gen) -> dict[str, pd.DataFrame]:
    curves = []
    if not rounds.empty and "theta_buyer" in rounds:
        for role in ROLES:
            for (mech, learner), g in rounds.groupby(["mechanism", "learner"], sort=False):
                curves.append(
                    group_mean_ci(g, ["step"], f"theta_{role}").assign(mechanism=mech, learner=learner, role=role)
                )
    rows = []
    for (mech, learner), g in learn.groupby(["mechanism", "learner"], sort=False):
        row = {"mechanism": mech, "learner": learner, "runs": len(g)}
        for col in LEARNING_COLUMNS:
            b = boot(g.assign(_a=0), col, ["_a"], gen)
            row[col] = float(b["estimate"].iloc[0])
            row[f"{col}_ci"] = f"[{fmt(float(b['lo'].iloc[0]))}, {fmt(float(b['hi'].iloc[0]))}]"
        rows.append(row)
    return {
        "learning": pd.DataFrame(rows),
        "learning_curves": pd.concat(curves, ignore_index=True) if curves else pd.DataFrame(),
    }


def dataset(store) -> dict[str, pd.DataFrame]:
    """Tidy frames behind the section (empty dict when nothing is stored): ``truth``
    (regret of (1, 1) per mechanism), ``equilibria``, ``solvers``, ``role_games``,
    ``unilateral``, ``regret`` (every profile, role game and unilateral), ``learning``
    (where learners settle), ``learning_curves``, ``notes`` and ``meta``."""
    runs, agents, rounds = store.table("runs"), store.table("agents"), store.table("rounds")
    if runs.empty:
        return {}
    gen = analysis_rng(store, ANALYSIS_STREAM)
    game = runs[runs["part"] == "game"] if "part" in runs else runs.iloc[0:0]
    learn = runs[runs["part"] == "learning"] if "part" in runs else runs.iloc[0:0]
    return {"meta": one_row(name=store.name), **_game_frames(game, agents, gen), **_learning_frames(learn, rounds, gen)}


# ---------------------------------------------------------------------- figures
def _regret_figure(frames, figdir: Path, name: str) -> Figure | None:
    heat = frames["regret"]
    if heat.empty:
        return None
    mechs = list(dict.fromkeys(heat["mechanism"]))
    two = bool((heat["kind"] == "unilateral").any())
    fig, axes = new_figure(2 if two else 1, len(mechs), width=3.9, height=3.4)
    for c, mech in enumerate(mechs):
        for r, what in enumerate(("role game", "unilateral")):
            d = heat[(heat["mechanism"] == mech) & (heat["kind"] == what)]
            if d.empty or r >= (2 if two else 1):
                continue
            tb, ts = _thetas(d)
            mat = (
                d.pivot(index="theta_buyer", columns="theta_seller", values="regret")
                .reindex(index=tb, columns=ts)
                .to_numpy()
            )
            ax = axes[r][c]
            im = ax.imshow(mat, origin="lower", aspect="auto", cmap="viridis")
            ax.set_xticks(range(len(ts)), [fmt(x) for x in ts], fontsize=7)
            ax.set_yticks(range(len(tb)), [fmt(x) for x in tb], fontsize=7)
            ax.set_xlabel("seller θ (ask / cost)")
            ax.set_ylabel("buyer θ (bid / value)")
            eq = np.argwhere(mat <= TOL * max(1.0, float(np.nanmax(mat))))
            ax.scatter(eq[:, 1], eq[:, 0], marker="*", color="white", s=60, label="equilibrium")
            ax.scatter(
                [ts.index(1.0)],
                [tb.index(1.0)],
                marker="o",
                facecolors="none",
                edgecolors="red",
                s=60,
                label="truthful",
            )
            ax.set_title(f"({panel(r * len(mechs) + c)}) {mech_label(mech)}: {what} regret", fontsize=9)
            fig.colorbar(im, ax=ax, fraction=0.046)
            if c == 0 and r == 0:
                ax.legend(fontsize=6, loc="upper right")
    png, svg = save(fig, figdir, f"{name}-regret")
    return Figure(
        f"{name}-regret",
        (
            "Regret of every symmetric profile (buyers bid θ_b × value, sellers ask θ_s × cost). Top: role game, "
            "where a whole role deviates together (a coalition); bottom: unilateral, where one agent deviates and "
            "everyone else keeps the profile (Nash in the n-agent game). Stars: regret ≤ 1e-9 (relative); red circle: "
            "truthful."
        ),
        png,
        svg,
    )


def _learning_figure(frames, figdir: Path, name: str) -> Figure | None:
    lc = frames["learning_curves"]
    if lc.empty:
        return None
    fig, axes = new_figure(1, 2, width=4.8, height=3.4)
    for ax, role in zip(axes[0], ROLES):
        for (mech, learner), s in lc[lc["role"] == role].groupby(["mechanism", "learner"], sort=False):
            band(
                ax,
                s,
                "step",
                color=mech_color(mech),
                linestyle="-" if learner == Hedge.name else "--",
                name=f"{mech_label(mech)}, {learner}",
            )
        ax.axhline(1.0, color="grey", linewidth=0.8, linestyle=":")
        ax.set_xscale("log")
        ax.set_xlabel("round (log)")
        ax.set_ylabel("mean θ")
        ax.set_title(f"({'ab'[role == 'seller']}) {role}s' mean θ over time", fontsize=10)
        ax.legend(fontsize=6)
    png, svg = save(fig, figdir, f"{name}-learning")
    return Figure(
        f"{name}-learning",
        (
            "Learning in the Mesa relay market: every buyer and seller a Hedge (full information) or EXP3 (bandit) "
            "learner over θ ∈ [0.5, 1.5]; mean over agents of the expected θ of their mixed strategies, per round; "
            "band = 95% CI over runs."
        ),
        png,
        svg,
    )


def figures(frames: dict[str, pd.DataFrame], figdir: Path) -> list[Figure]:
    """Regret heat maps (role game and unilateral) and the learners' θ over time (PNG and SVG)."""
    if not frames:
        return []
    name = str(meta(frames, "name", "equilibrium"))
    out = [_regret_figure(frames, figdir, name), _learning_figure(frames, figdir, name)]
    return [f for f in out if f is not None]


# ---------------------------------------------------------------------- claims
def _truth_claims(tr: pd.DataFrame) -> list[Claim]:
    if tr.empty or "unilateral_regret" not in tr:
        return []
    tr = tr.set_index("mechanism")
    out = []

    def n_of(r) -> int:
        return int(r["units"]) if "units" in r and np.isfinite(r["units"]) else 0

    for mech in (m for m in tr.index if has(m, "truthful")):
        r = tr.loc[mech]
        if not np.isfinite(r["unilateral_regret"]):
            continue
        out.append(
            Claim(
                f"{cap(mech_label(mech))}: truthful reporting is an equilibrium against unilateral deviations "
                "(regret of (1, 1) ≤ 1e-9)",
                judge_all(r["unilateral_regret"] <= TOL, n_of(r)),
                f"unilateral regret {ci_text(r['unilateral_regret'], r['unilateral_lo'], r['unilateral_hi'])}; "
                f"role-game regret (whole role deviating) {ci_text(r['role_game_regret'], r['role_game_lo'], r['role_game_hi'])}.",
                n=n_of(r),
            )
        )
    kda, tasc = mech_name(KDA), mech_name(TASC)
    if kda in tr.index and np.isfinite(tr.loc[kda, "unilateral_regret"]):
        r = tr.loc[kda]
        out.append(
            Claim(
                "k-double auction: truthful reporting is not an equilibrium (unilateral regret of (1, 1) with CI above 0)",
                judge(r["unilateral_lo"] > 0, n_of(r)),
                f"unilateral regret {ci_text(r['unilateral_regret'], r['unilateral_lo'], r['unilateral_hi'])} "
                f"(best deviation {r['best_unilateral']}); role-game regret "
                f"{ci_text(r['role_game_regret'], r['role_game_lo'], r['role_game_hi'])}.",
                n=n_of(r),
            )
        )
    if tasc in tr.index and np.isfinite(tr.loc[tasc, "unilateral_regret"]):
        r = tr.loc[tasc]
        out.append(
            Claim(
                "TASC as written: no uniform shading or inflation level pays on average against truthful others "
                "(unilateral regret of (1, 1) ≤ 1e-9; its flaw needs instance-specific deviations)",
                judge(r["unilateral_regret"] <= TOL, n_of(r)),
                f"unilateral regret {ci_text(r['unilateral_regret'], r['unilateral_lo'], r['unilateral_hi'])}"
                + (f" (best deviation {r['best_unilateral']})" if r["unilateral_regret"] > 0 else "")
                + ".",
                n=n_of(r),
            )
        )
    return out


def _solver_claim(sv: pd.DataFrame) -> list[Claim]:
    if sv.empty:
        return []
    good = sv["regret_share_of_range"] < SOLVER_TOL
    parts = "; ".join(
        f"{mech_label(m)}: " + ", ".join(f"{r['solver']} {r['regret_share_of_range']:.2%}" for _, r in g.iterrows())
        for m, g in sv.groupby("mechanism", sort=False)
    )
    n = int(sv["instances"].min())
    return [
        Claim(
            "Replicator dynamics, regret matching and fictitious play each find an approximate equilibrium of the "
            "role game (regret < 1% of the payoff range)",
            judge(bool(good.all()), n, partly=bool(good.any())),
            parts + " (regret / payoff range).",
            n=n,
        )
    ]


def _learning_claims(lt: pd.DataFrame) -> list[Claim]:
    out = []
    for r in lt.to_dict("records"):
        mech, learner, n = r["mechanism"], r["learner"], int(r["runs"])
        b, s = r["final_theta_buyer"], r["final_theta_seller"]
        evidence = (
            f"final mean θ: buyers {fmt(b)} {r['final_theta_buyer_ci']}, sellers {fmt(s)} {r['final_theta_seller_ci']}."
        )
        if mech == mech_name(KDA):
            out.append(
                Claim(
                    f"k-double auction, {learner} learners: buyers learn to shade and sellers to inflate "
                    "(final mean θ < 0.95 / > 1.05)",
                    judge(b < 0.95 and s > 1.05, n),
                    evidence,
                    n=n,
                )
            )
        elif has(mech, "truthful"):
            ok = abs(b - 1) <= NEAR_TRUTH and abs(s - 1) <= NEAR_TRUTH
            out.append(
                Claim(
                    f"{cap(mech_label(mech))}, {learner} learners stay near truthful (|θ − 1| ≤ 0.1, both roles)",
                    judge(ok, n),
                    evidence,
                    n=n,
                )
            )
    return out


def claims(frames: dict[str, pd.DataFrame]) -> list[Claim]:
    """The statements, checked (mechanisms chosen by their objects and declared properties)."""
    if not frames:
        return []
    return [*_truth_claims(frames["truth"]), *_solver_claim(frames["solvers"]), *_learning_claims(frames["learning"])]


# ---------------------------------------------------------------------- the section
NOTE = (
    "Role game vs unilateral: in the role game every member of a role plays the same θ and a "
    "deviation moves the whole role, so it measures what a coalition could gain; the unilateral "
    "regret is the Nash notion for the n-agent market with everyone else at the profile."
)


def build(store, figdir: Path) -> Section:
    sec = Section(store.name, TITLE, store.spec.description, settings_of(store))
    frames = dataset(store)
    if not frames:
        return empty_section(sec)
    sec.notes.extend(frames["notes"]["note"])
    rg, uni = frames["role_games"], frames["unilateral"]
    for mech in dict.fromkeys(rg["mechanism"]) if not rg.empty else ():
        sec.data.append(
            (
                f"equilibrium_role_game_{mech}",
                rg[rg["mechanism"] == mech].drop(columns=["mechanism"]).reset_index(drop=True),
            )
        )
        if not uni.empty and (uni["mechanism"] == mech).any():
            sec.data.append(
                (
                    f"equilibrium_unilateral_{mech}",
                    uni[uni["mechanism"] == mech].drop(columns=["mechanism"]).reset_index(drop=True),
                )
            )
    if not frames["truth"].empty:
        sec.tables.append(
            (
                (
                    "Is truthful reporting (θ = 1 for both roles) an equilibrium? Regret of (1, 1) in the role "
                    "game (a whole role deviates together) and against unilateral deviations (one agent "
                    "deviates), 95% bootstrap CI over instances"
                ),
                frames["truth"],
            )
        )
    if not frames["equilibria"].empty:
        sec.tables.append(("Pure equilibria on the grid (regret ≤ 1e-9 × payoff range)", frames["equilibria"]))
    if not frames["solvers"].empty:
        sec.tables.append(
            (
                (
                    "Role-game equilibria by the three solvers (replicator dynamics, regret matching, "
                    "fictitious play): mixtures, regret with bootstrap CI"
                ),
                frames["solvers"],
            )
        )
    if not frames["learning"].empty:
        sec.tables.append(
            (
                (
                    "Where learners settle: mean θ over the last 10% of rounds, utilities and trades over the "
                    "whole run (95% bootstrap CI over runs)"
                ),
                frames["learning"],
            )
        )
    sec.figures.extend(figures(frames, figdir))
    sec.claims.extend(claims(frames))
    sec.notes.append(NOTE)
    return sec
