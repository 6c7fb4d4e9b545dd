"""Report section of ``learning-dynamics``: where learning bidders go in each market.

``dataset(store)`` -> tidy frames, ``figures(frames, figdir)`` -> figures, ``claims(frames)``
-> claims, ``findings(frames)`` -> the measured findings (notes), and ``build(store, figdir)``
composing them. Built from stored tables alone.

Frames:

- ``runs``: one row per learning run (``market``, ``setting`` = the relay mechanism or the
  exchange's payment rule, ``rule``), with ``label`` and, for relay runs, the sup-distance of
  each side's learned bid function from the Chatterjee–Samuelson one (``cs_buyer``, ``cs_seller``);
- ``traj``: per (market, setting, rule, episode, param) the mean over seeds of each run's
  mean over its agents (relay ``buyer a``, ``seller b``, ...; exchange the mass on each arm;
  ``market efficiency`` / ``market budget``), with 95% bands over seeds and ``n`` seeds;
- ``summary``: per (market, setting, rule): runs, learned parameters, ε, efficiency, budget.

The verdicts rest on whole runs (one seed is one learning trajectory) and each verdict is
checked on every run, so they need fewer samples than a mean would: below
:data:`MIN_RUNS` runs a claim reads "insufficient data (n = …)". The Chatterjee–Samuelson
equilibrium is a known result on the bilateral k-double auction (Chatterjee and Samuelson,
1983); the TASC and ICE papers make no claim about learning bidders, so nothing here is
attributed to them: the TASC and exchange rows are findings of this study.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from auctionlab.report.metrics import fmt, group_mean_ci
from auctionlab.report.plots import band, new_figure, save
from auctionlab.report.sections import Claim, Figure, Section, judge, settings_of
from auctionlab.studies import relay_common as C

MIN_RUNS = 5  # runs (seeds) below which a verdict reads "insufficient data"
CS = {"buyer": (2 / 3, 1 / 12), "seller": (2 / 3, 1 / 4)}  # k = 1/2, types U[0, 1]
CS_EPS = 0.01  # ε tolerance per side: a seventh of the CS utility per round (0.0703)
CS_DIST = 1 / 6  # two grid steps of the default grid (1/12) in sup-distance
TRUTH_EPS = 1e-9
ROLES = ("buyer", "seller")
PARAMS = ("a", "b")


def sup_distance(a: float, b: float, ref: tuple[float, float]) -> float:
    """max over types t in [0, 1] of |(a t + b) − (a' t + b')|."""
    da, db = a - ref[0], b - ref[1]
    return max(abs(db), abs(da + db))


def setting_label(market: str, setting: str) -> str:
    if market == "relay":
        return C.mech_label(setting)
    from auctionlab.studies.ice_common import rule

    try:
        return f"ICE, {rule(setting).label} payments"
    except KeyError:
        return f"ICE, {setting} payments"


# ---------------------------------------------------------------------- dataset
def dataset(store: Any) -> dict[str, Any]:
    return frames_from(store.table("runs"), store.table("rounds"), params=dict(store.spec.params), name=store.name)


def frames_from(
    runs: pd.DataFrame, rounds: pd.DataFrame, *, params: dict[str, Any] | None = None, name: str = "learning-dynamics"
) -> dict[str, Any]:
    """:func:`dataset` on tables given directly (hand-made ones in tests)."""
    params = params or {}
    runs = runs.copy()
    if "rule" not in runs:
        runs["rule"] = params.get("rule", "hedge")
    runs["label"] = [setting_label(m, s) for m, s in zip(runs["market"], runs["setting"])]
    for role in ROLES:
        a, b = f"{role}_a", f"{role}_b"
        runs[f"cs_{role}"] = [
            sup_distance(x, y, CS[role]) if np.isfinite(x) and np.isfinite(y) else math.nan
            for x, y in zip(
                runs.get(a, pd.Series(math.nan, index=runs.index)).astype(float),
                runs.get(b, pd.Series(math.nan, index=runs.index)).astype(float),
            )
        ]
    return {
        "name": name,
        "params": params,
        "runs": runs,
        "traj": trajectories(runs, rounds),
        "summary": summary(runs),
    }


def trajectories(runs: pd.DataFrame, rounds: pd.DataFrame) -> pd.DataFrame:
    """Per (market, setting, rule, episode, param): mean over seeds of each run's agent mean, 95% band."""
    cols = ["market", "setting", "rule", "episode", "param", "n", "mean", "ci_low", "ci_high"]
    if rounds is None or rounds.empty or runs.empty:
        return pd.DataFrame(columns=cols)
    r = rounds.merge(runs[["run_id", "market", "setting", "rule"]], on="run_id")
    r = r[~((r["market"] == "relay") & r["param"].isin(["mean_a", "mean_b"]))]
    r = r.assign(param=r["role"].astype(str) + " " + r["param"].astype(str))
    r["param"] = r["param"].str.replace("^bidder ", "", regex=True)
    per_run = r.groupby(["run_id", "market", "setting", "rule", "episode", "param"], sort=False)["value"].mean()
    per_run = per_run.reset_index()
    out = group_mean_ci(per_run, ["market", "setting", "rule", "episode", "param"], "value")
    return out[cols]


def summary(runs: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for (market, setting, rule), g in runs.groupby(["market", "setting", "rule"], sort=False):
        row: dict[str, Any] = {"market": market, "setting": setting, "label": g["label"].iloc[0], "rule": rule}
        row["runs"] = len(g)
        if market == "relay":
            for c in ("buyer_a", "buyer_b", "seller_a", "seller_b", "buyer_truthful_share", "seller_truthful_share"):
                row[c] = fmt(float(g[c].mean()))
            row["eps (max over runs)"] = fmt(float(np.nanmax(g[["eps_buyer", "eps_seller"]].to_numpy(float))))
            row["truthful efficiency"] = fmt(float(g["truthful_efficiency"].mean()))
        else:
            row["mass on the paper's bidder"] = fmt(float(g["truthful_mass"].mean()))
            row["mass on shading"] = fmt(float(g["shading_mass"].mean()))
            row["modal arms"] = ", ".join(f"{k} ({v})" for k, v in g["modal_arm"].value_counts().items())
            row["eps (max over runs)"] = fmt(float(g["eps"].max()))
            row["stopped at max_rounds"] = fmt(float(g["max_rounds_share"].mean()))
        e = group_mean_ci(g.assign(_a=0), ["_a"], "efficiency").iloc[0]
        row["efficiency"] = (
            f"{fmt(e['mean'])} ± {fmt(e['half_width'], 2)}" if np.isfinite(e["half_width"]) else fmt(e["mean"])
        )
        row["budget per episode"] = fmt(float(g["budget"].mean()))
        row["deficit share"] = fmt(float(g["deficit_share"].mean()))
        row["eps_method"] = g["eps_method"].iloc[0]
        rows.append(row)
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------- figures
def figures(frames: dict[str, Any], figdir: Path) -> list[Figure]:
    out: list[Figure] = []
    traj, runs, name = frames["traj"], frames["runs"], frames["name"]
    for market in ("relay", "exchange"):
        t = traj[traj["market"] == market]
        ran = runs[runs["market"] == market]  # the spec's order
        keys = [k for k in dict.fromkeys(zip(ran["setting"], ran["rule"])) if k in set(zip(t["setting"], t["rule"]))]
        if not keys:
            continue
        fig, axes = new_figure(1, len(keys), width=3.6, height=3.0)
        for ax, (setting, rule) in zip(axes[0], keys):
            g = t[(t["setting"] == setting) & (t["rule"] == rule)]
            params = [p for p in dict.fromkeys(g["param"]) if not p.startswith("market ")]
            for i, p in enumerate(params):
                style = "--" if p.endswith(" b") else "-"
                band(ax, g[g["param"] == p], "episode", color=C.strategy_color(i), linestyle=style, name=p)
            if market == "relay" and setting == "kda":
                for role in ROLES:
                    for val in CS[role]:
                        ax.axhline(val, color="grey", linestyle=":", linewidth=0.8)
            ax.set_title(f"{setting_label(market, setting)} ({rule})", fontsize=8)
            ax.set_xlabel("episode")
            ax.legend(fontsize=5)
        png, svg = save(fig, figdir, f"{name}-{market}-trajectories")
        what = (
            "the most probable affine bid function a·type + b of each side (mean over agents), dotted: the "
            "Chatterjee–Samuelson values 2/3, 1/12 (buyer) and 2/3, 1/4 (seller)"
            if market == "relay"
            else "the learners' mass on each arm (mean over bidders)"
        )
        out.append(
            Figure(
                f"{name}-{market}-trajectories",
                f"{market.capitalize()} market: {what}, per checkpoint episode; mean over seeds with 95% bands.",
                png,
                svg,
            )
        )
    if not runs.empty:
        fig, axes = new_figure(1, 3, width=3.6, height=3.0)
        labels = [f"{lab} ({r})" for lab, r in dict.fromkeys(zip(runs["label"], runs["rule"]))]
        keys = list(dict.fromkeys(zip(runs["label"], runs["rule"])))
        x = np.arange(len(keys))
        eps = (
            runs[["eps_buyer", "eps_seller", "eps"]].astype(float).max(axis=1)
            if "eps" in runs
            else runs[["eps_buyer", "eps_seller"]].astype(float).max(axis=1)
        )
        r = runs.assign(_eps=eps)
        for ax, col, title in (
            (axes[0][0], "_eps", "final utility loss ε (each run)"),
            (axes[0][1], "efficiency", "efficiency (each run)"),
            (axes[0][2], "budget", "budget per episode (each run)"),
        ):
            for i, (lab, rule) in enumerate(keys):
                v = r[(r["label"] == lab) & (r["rule"] == rule)][col].astype(float).to_numpy()
                ax.scatter(np.full(v.size, i), v, s=10, color=C.strategy_color(i))
                if v.size:
                    ax.plot([i - 0.3, i + 0.3], [np.nanmean(v)] * 2, color="black", linewidth=1)
            ax.set_xticks(x, labels, rotation=35, ha="right", fontsize=6)
            ax.set_title(title, fontsize=8)
        axes[0][2].axhline(0.0, color="grey", linestyle=":", linewidth=0.8)
        png, svg = save(fig, figdir, f"{name}-outcomes")
        out.append(
            Figure(
                f"{name}-outcomes",
                "Per mechanism and payment rule, every run (dots) and their mean (bar): the final utility loss ε "
                "(relay: grid best response at the learned profile; exchange: see eps_method), the efficiency and "
                "the budget (mechanism's surplus per episode) of the market the learners produce over the final window.",
                png,
                svg,
            )
        )
    return out


# ---------------------------------------------------------------------- claims and findings
def _relay(frames: dict[str, Any], setting: str) -> pd.DataFrame:
    runs = frames["runs"]
    return runs[(runs["market"] == "relay") & (runs["setting"] == setting)]


def claims(frames: dict[str, Any]) -> list[Claim]:
    out: list[Claim] = []
    runs, params = frames["runs"], frames["params"]
    if runs.empty:
        return out
    kda = _relay(frames, "kda")
    bilateral = kda[kda["pairs"] == 1] if "pairs" in kda else kda
    if not bilateral.empty and float(params.get("kda_k", 0.5)) == 0.5:
        n = len(bilateral)
        eps_ok = (bilateral["eps_buyer"] <= CS_EPS) & (bilateral["eps_seller"] <= CS_EPS)
        dist_ok = (bilateral["cs_buyer"] <= CS_DIST + 1e-9) & (bilateral["cs_seller"] <= CS_DIST + 1e-9)
        ok = eps_ok & dist_ok
        out.append(
            Claim(
                "Known result (Chatterjee–Samuelson; not a claim of the TASC or ICE papers): in the bilateral "
                "k-double auction with k = 1/2 and uniform types, learners reach the linear equilibrium (buyer "
                f"2/3·v + 1/12, seller 2/3·c + 1/4): ε ≤ {fmt(CS_EPS)} per side and each learned bid function "
                f"within sup-distance {fmt(CS_DIST)} of the equilibrium one",
                judge(bool(ok.all()), n, partly=bool(ok.any()), min_n=MIN_RUNS),
                f"{int(ok.sum())} of {n} runs within both tolerances ({int(eps_ok.sum())} by ε, {int(dist_ok.sum())} by "
                f"distance); learned buyer {fmt(float(bilateral['buyer_a'].mean()))}·v + "
                f"{fmt(float(bilateral['buyer_b'].mean()))}, seller {fmt(float(bilateral['seller_a'].mean()))}·c + "
                f"{fmt(float(bilateral['seller_b'].mean()))} (means over runs); largest ε "
                f"{fmt(float(bilateral[['eps_buyer', 'eps_seller']].to_numpy(float).max()))}; largest distance "
                f"{fmt(float(bilateral[['cs_buyer', 'cs_seller']].to_numpy(float).max()))}.",
                n,
            )
        )
    for setting in dict.fromkeys(runs.loc[runs["market"] == "relay", "setting"]):
        g = _relay(frames, setting)
        n = len(g)
        if C.has(setting, "truthful"):
            truthful = (g["buyer_truthful_share"] == 1.0) & (g["seller_truthful_share"] == 1.0)
            eps0 = (g["eps_buyer"].fillna(0) <= TRUTH_EPS) & (g["eps_seller"].fillna(0) <= TRUTH_EPS)
            ok = truthful & eps0
            out.append(
                Claim(
                    f"{C.mech_label(setting)} is truthful (truth-telling is dominant), so learners stay truthful: "
                    "every agent's learned bid function is the truth (a = 1, b = 0) and no grid deviation gains",
                    "disagrees" if not ok.all() else judge(True, n, min_n=MIN_RUNS),
                    f"{int(truthful.sum())} of {n} runs with every agent truthful; largest ε "
                    f"{fmt(float(g[['eps_buyer', 'eps_seller']].to_numpy(float).max()))}.",
                    n,
                )
            )
        bb = C.has(setting, "budget_balanced")
        deficit = g["deficit_share"] > 0
        out.append(
            Claim(
                f"{C.mech_label(setting)} {'never runs a deficit' if bb else 'runs a deficit'} in the market the "
                "learners produce (final window)",
                ("disagrees" if deficit.any() else judge(True, n, min_n=MIN_RUNS))
                if bb
                else ("agrees" if deficit.any() else judge(False, n, min_n=MIN_RUNS)),
                f"runs with a deficit in some round: {int(deficit.sum())} of {n}; mean budget per round "
                f"{fmt(float(g['budget'].mean()))}.",
                n,
            )
        )
    from auctionlab.studies.ice_common import rule as payment_rule

    for setting in dict.fromkeys(runs.loc[runs["market"] == "exchange", "setting"]):
        g = runs[(runs["market"] == "exchange") & (runs["setting"] == setting)]
        n = len(g)
        try:
            balanced = bool(payment_rule(setting).budget_balanced)
        except KeyError:
            continue
        if not balanced:
            continue
        deficit = g["deficit_share"] > 0
        out.append(
            Claim(
                f"{setting_label('exchange', setting)} are budget balanced, with learning bidders too: "
                "Σ payments ≥ 0 in every episode of the final window",
                "disagrees" if deficit.any() else judge(True, n, min_n=MIN_RUNS),
                f"runs with a deficit episode: {int(deficit.sum())} of {n}; mean budget per episode "
                f"{fmt(float(g['budget'].mean()))}.",
                n,
            )
        )
    return out


def findings(frames: dict[str, Any]) -> list[str]:
    """Where the learners go where no known answer exists (TASC, relay mechanisms that are
    neither truthful nor the bilateral k-DA, and every exchange payment rule), with n."""
    runs = frames["runs"]
    out: list[str] = []
    for setting in dict.fromkeys(runs.loc[runs["market"] == "relay", "setting"]):
        if C.has(setting, "truthful") or setting == "kda":
            continue
        g = _relay(frames, setting)
        n = len(g)
        small = f" — few runs (n = {n} < {MIN_RUNS}), read as indicative" if n < MIN_RUNS else ""
        out.append(
            f"Finding ({C.mech_label(setting)}, as written; n = {n} runs{small}): learners end at buyer "
            f"{fmt(float(g['buyer_a'].mean()))}·v + {fmt(float(g['buyer_b'].mean()))}, seller "
            f"{fmt(float(g['seller_a'].mean()))}·c + {fmt(float(g['seller_b'].mean()))} (means over agents and runs); "
            f"share of agents still truthful: buyers {fmt(float(g['buyer_truthful_share'].mean()))}, sellers "
            f"{fmt(float(g['seller_truthful_share'].mean()))}; largest ε at the learned profile "
            f"{fmt(float(g[['eps_buyer', 'eps_seller']].to_numpy(float).max()))}; efficiency "
            f"{fmt(float(g['efficiency'].mean()))} against {fmt(float(g['truthful_efficiency'].mean()))} with truthful "
            f"reports on the same rounds; budget per round {fmt(float(g['budget'].mean()))}."
        )
    for setting in dict.fromkeys(runs.loc[runs["market"] == "exchange", "setting"]):
        g = runs[(runs["market"] == "exchange") & (runs["setting"] == setting)]
        n = len(g)
        small = f" — few runs (n = {n} < {MIN_RUNS}), read as indicative" if n < MIN_RUNS else ""
        modal = ", ".join(f"{k} in {v}" for k, v in g["modal_arm"].value_counts().items())
        k_arms = _arms(frames, setting)
        spread = _spread(frames, setting, k_arms)
        moved = (
            f" The learners have barely left uniform play (every arm's final mass within {fmt(spread)} of 1/{k_arms}):"
            " in this many episodes the modal arms are noise, not a destination."
            if np.isfinite(spread) and spread < 0.02
            else ""
        )
        out.append(
            f"Finding ({setting_label('exchange', setting)}, {int(g['episodes'].iloc[0])} episodes, n = {n} runs{small}): "
            f"final mass on the paper's bidder {fmt(float(g['truthful_mass'].mean()))}, on shading "
            f"{fmt(float(g['shading_mass'].mean()))} (uniform would be {fmt(1 / max(1, k_arms))} per arm); "
            f"most common modal arm: {modal}; ε {fmt(float(g['eps_mean'].mean()))} per episode on average, at most "
            f"{fmt(float(g['eps'].max()))} ({g['eps_method'].iloc[0]}; mean utility per episode "
            f"{fmt(float(g['mean_utility'].mean())) if 'mean_utility' in g else 'n/a'}); efficiency {fmt(float(g['efficiency'].mean()))}, "
            f"budget per episode {fmt(float(g['budget'].mean()))}, {fmt(float(g['max_rounds_share'].mean()))} of the "
            "episodes stopped at max_rounds." + moved
        )
    return out


def _spread(frames: dict[str, Any], setting: str, k: int) -> float:
    """The largest distance of an arm's final mass (mean over bidders and seeds) from uniform."""
    t = frames["traj"]
    t = t[(t["market"] == "exchange") & (t["setting"] == setting) & ~t["param"].str.startswith("market ")]
    if t.empty or k < 1:
        return math.nan
    last = t[t["episode"] == t["episode"].max()]
    return float((last["mean"] - 1 / k).abs().max())


def _arms(frames: dict[str, Any], setting: str) -> int:
    t = frames["traj"]
    t = t[(t["market"] == "exchange") & (t["setting"] == setting)]
    return int(t.loc[~t["param"].str.startswith("market "), "param"].nunique())


# ---------------------------------------------------------------------- the section
def build(store: Any, figdir: Path) -> Section:
    from auctionlab.studies.ice_common import reduced_heading

    spec = store.spec
    sec = Section(
        store.name,
        "Learning bidders: relay mechanisms and exchange payment rules" + reduced_heading(store),
        spec.description,
        settings_of(store),
    )
    if store.table("runs").empty:
        sec.notes.append("No runs are stored yet.")
        return sec
    frames = dataset(store)
    sec.figures.extend(figures(frames, figdir))
    sec.tables.append(
        (
            "Per mechanism / payment rule and learning rule: the learned profile, ε, efficiency and budget",
            frames["summary"],
        )
    )
    sec.claims.extend(claims(frames))
    sec.notes.extend(findings(frames))
    sec.data.append((f"{store.name}_trajectories", frames["traj"]))
    sec.data.append((f"{store.name}_runs", frames["runs"]))
    return sec


__all__ = ["build", "claims", "dataset", "figures", "findings", "frames_from", "summary", "trajectories"]
