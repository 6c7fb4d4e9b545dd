"""Fig. 8 — truthfulness: a random agent's utility against its own report.

``dataset(store)`` -> tidy frames, ``figures(frames, figdir)``, ``claims(frames)``,
``build(store, figdir)`` (see :mod:`auctionlab.studies.tasc_profit.section`).

A *case* is one (instance, algorithm, rule, role, true value): a random candidate buyer
(one with a phase-1 relay) or candidate seller (one with a phase-1 partner) sweeps its
own report, everyone else truthful. The case is *manipulable* when some swept report beats
the truthful one (a lower bound on the sweep's resolution).

How often TASC as written can be manipulated depends on what it is counted over, and the
report states both denominators:

- per **candidate** agent: the share of manipulable cases (the swept agent is drawn
  uniformly among the candidates);
- per agent of **all** agents: the same share weighted by the candidates' fraction of
  the population (candidate pairs / n for buyers, / m for sellers), since an agent
  without a phase-1 partner never trades and cannot gain.

The frequencies hold for one step-5 tie rule of TASC (what it does when the two boundary
pairs' winner counts tie): the spec's ``tasc_tie``, by default ``"second"``, which takes
(s_{i_k}, r_{j_β}); ``"first"`` takes (s_{i_α}, r_{j_k}). Every verdict names the tie rule
and the denominators it was read with. (The relay-manipulation study measures both tie
rules side by side on the same instances, with exact best responses.)
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from auctionlab.experiments.store import ResultStore
from auctionlab.report.metrics import fmt, group_mean_ci, ordered
from auctionlab.report.plots import RULE_STYLE, band, label, new_figure, save
from auctionlab.report.sections import Claim, Figure, Section, judge, settings_of
from auctionlab.studies.relay_common import tie_rule_of, tie_rule_text

NAME = "tasc-truthfulness"
PANEL = "abcdefghijkl"


def tie_rule(tie: str = "second") -> str:
    """The step-5 tie rule in words."""
    return f"{tie_rule_text(tie)}: on equal winner counts in step 5 that boundary pair is taken"


TONES = ["#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd"]


def dataset(store: ResultStore) -> dict[str, pd.DataFrame]:
    return frames_from_tables(store.table("runs"), store.table("agents"))


def frames_from_tables(runs: pd.DataFrame, agents: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """``cases`` (one row per case, ``manipulable`` and ``weight_all`` = the candidates'
    share of the role's population), ``curves`` (mean utility ± CI per report) and
    ``frequency`` (manipulation frequency per rule and role under both denominators)."""
    if runs.empty or agents.empty:
        return {"cases": runs, "curves": agents}
    cases = runs.copy()
    cases["manipulable"] = ~cases["peaks_at_truth"].astype(bool)
    if "candidates" in cases:
        pop = np.where(cases["role"] == "buyer", cases["n"], cases["m"]).astype(float)
        cases["weight_all"] = cases["candidates"] / pop
    else:
        cases["weight_all"] = np.nan
    curves = group_mean_ci(agents, ["algorithm", "rule", "role", "true_value", "report"], "utility")
    return {"cases": cases, "curves": curves, "frequency": frequency(cases)}


def frequency(cases: pd.DataFrame) -> pd.DataFrame:
    """Manipulation frequency per rule and role (and pooled): the share of candidate agents
    with a profitable deviation, and the share of all agents (candidates' fraction weighted)."""
    rows = []
    for (rule, role), g in list(cases.groupby(["rule", "role"], sort=False)) + [
        ((r, "all"), g) for r, g in cases.groupby("rule", sort=False)
    ]:
        man = g["manipulable"].astype(float)
        rows.append(
            {
                "rule": rule,
                "role": role,
                "cases": len(g),
                "manipulable": int(man.sum()),
                "share_of_candidates": float(man.mean()),
                "share_of_all_agents": float((man * g["weight_all"]).mean()),
                "candidates_fraction": float(g["weight_all"].mean()),
                "max_gain": float(g["gain"].max()),
            }
        )
    return pd.DataFrame(rows)


def _algs(df):
    return ordered(df["algorithm"].unique(), ["mwm", "ora", "mm"])


def _rules(df):
    return ordered(df["rule"].unique(), ["tasc", "trade_reduction"])


def figures(frames, figdir: Path, name: str = NAME) -> list[Figure]:
    cases, curves = frames["cases"], frames["curves"]
    if cases.empty:
        return []
    algs, rules = _algs(cases), _rules(cases)
    fig, axes = new_figure(2, len(algs), width=4.0, height=3.1)
    for r, role in enumerate(["buyer", "seller"]):
        truths = sorted(curves.loc[curves["role"] == role, "true_value"].unique())
        for c, alg in enumerate(algs):
            ax = axes[r][c]
            for vi, v in enumerate(truths):
                for rule in rules:
                    sub = curves[
                        (curves["algorithm"] == alg)
                        & (curves["rule"] == rule)
                        & (curves["role"] == role)
                        & (curves["true_value"] == v)
                    ]
                    sym = "V" if role == "buyer" else "C"
                    band(
                        ax,
                        sub,
                        "report",
                        color=TONES[vi % 4],
                        linestyle=RULE_STYLE.get(rule, "-"),
                        name=f"{sym} = {v:g}, {label(rule)}",
                    )
                ax.axvline(v, color=TONES[vi % 4], linestyle=":", linewidth=1)
            ax.set_title(f"({PANEL[r * len(algs) + c]}) {role}, {label(alg)}", fontsize=10)
            ax.set_xlabel("bid on assigned relay" if role == "buyer" else "ask")
            ax.set_ylabel("utility (mean, 95% CI)")
            if c == 0:
                ax.legend(fontsize=7)
    png, svg = save(fig, figdir, name)
    n_inst = cases["run_id"].nunique() if "run_id" in cases else len(cases)
    return [
        Figure(
            name,
            (
                f"Utility of a random buyer (a–{PANEL[len(algs) - 1]}) and seller ({PANEL[len(algs)]}–"
                f"{PANEL[2 * len(algs) - 1]}) against its own report, every other report truthful, mean over "
                f"{n_inst} random instances (n = {int(cases['n'].iloc[0])}, m = {int(cases['m'].iloc[0])}) with 95% "
                "bands. Dotted lines: true values. Solid: TASC as written; dashed: trade reduction."
            ),
            png,
            svg,
        )
    ]


def tables(frames, tie: str = "second") -> list[tuple[str, pd.DataFrame]]:
    cases = frames["cases"]
    if cases.empty:
        return []
    summary = (
        cases.groupby(["rule", "algorithm", "role", "true_value"], sort=False)
        .agg(
            cases=("gain", "size"),
            truth_best_share=("peaks_at_truth", "mean"),
            violations=("manipulable", "sum"),
            max_gain=("gain", "max"),
            mean_truthful_utility=("truthful_utility", "mean"),
            mean_best_utility=("best_utility", "mean"),
        )
        .reset_index()
    )
    return [
        (
            (
                "Is the truthful report a best response? Per rule, algorithm, role and true value "
                "(cases = instances; gain = best swept utility − truthful utility)"
            ),
            summary,
        ),
        (
            (
                "Manipulation frequency per rule and role, over candidate agents and over all agents "
                f"(tie rule {tie_rule(tie)})"
            ),
            frames["frequency"],
        ),
    ]


def claims(frames, tie: str = "second") -> list[Claim]:
    cases, curves = frames["cases"], frames["curves"]
    if cases.empty:
        return []
    out: list[Claim] = []
    freq = frames["frequency"]
    for rule in _rules(cases):
        sub = cases[cases["rule"] == rule]
        bad = sub[sub["manipulable"]]
        by_role = ", ".join(
            f"{role}s {int((bad['role'] == role).sum())}/{int((sub['role'] == role).sum())}"
            for role in ("buyer", "seller")
        )
        cs = curves[curves["rule"] == rule]
        peaks = lines = 0
        for _, g in cs.groupby(["algorithm", "role", "true_value"]):
            lines += 1
            v = g["true_value"].iloc[0]
            peaks += bool(g["mean"].max() <= g.loc[g["report"] == v, "mean"].max() + 1e-12)
        f = freq[(freq["rule"] == rule) & (freq["role"] == "all")].iloc[0]
        evidence = (
            f"{len(sub) - len(bad)} of {len(sub)} cases ({(1 - len(bad) / max(len(sub), 1)):.1%}) have no "
            f"profitable deviation on the sweep (violations: {by_role}); largest gain "
            f"{fmt(float(sub['gain'].max()))}; mean curves peaking at the true value: {peaks} of {lines}. "
            f"Manipulation frequency: {f['share_of_candidates']:.1%} of candidate agents"
            + (
                f", {f['share_of_all_agents']:.1%} of all agents (candidates are "
                f"{f['candidates_fraction']:.0%} of the agents)."
                if np.isfinite(f["share_of_all_agents"])
                else " (the share of all agents needs the candidates column, which these runs do not keep)."
            )
        )
        reading = (
            "[reading: swept agent drawn among the candidates (agents with a phase-1 partner); frequency over "
            "candidates and over all agents"
        )
        if rule == "tasc":
            statement = (
                "No buyer or seller can raise its utility by reporting other than its true value, "
                f"for either true value and every assignment algorithm (Fig. 8, TASC) {reading}; tie rule '{tie}']"
            )
            if len(bad):
                evidence += (
                    " TASC as written is manipulable: the choice between the two boundary pairs depends "
                    f"on reports (tie rule {tie_rule(tie)})."
                )
        else:
            statement = f"Same test for the {label(rule)} variant (not in the paper) {reading}; no tie rule]"
        out.append(Claim(statement, judge(len(bad) == 0, len(sub), partly=peaks == lines), evidence, n=len(sub)))
    return out


def build(store: ResultStore, figdir: Path) -> Section:
    sec = Section(
        store.name, "Fig. 8 — truthfulness: utility vs own report", store.spec.description, settings_of(store)
    )
    frames = dataset(store)
    if frames["cases"].empty:
        sec.notes.append("No runs are stored yet.")
        return sec
    sec.figures += figures(frames, figdir, store.name)
    tie = tie_rule_of(store.spec.params)
    sec.tables += tables(frames, tie)
    sec.claims += claims(frames, tie)
    sec.data.append(("fig8_curves", frames["curves"]))
    return sec
