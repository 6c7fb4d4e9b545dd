"""Report section of ``ice-manipulation``: what a deviating proxy gains under each payment rule.

``dataset(store)`` -> tidy frames, ``figures(frames, figdir)`` -> figures, ``claims(frames)``
-> claims, ``build(store, figdir)`` composing them. Built from stored tables alone.

Frames:

- ``cases``: one row per (instance, deviator, deviation), with ``strategy`` (the deviating
  proxy's registry name), ``baseline_trade`` (anything trades in the all-reference
  baseline) and ``hit_max_rounds`` (the deviation run *or* its baseline stopped at
  ``max_rounds``);
- ``gains``: long, one row per (deviation, instance, payment rule): the mean gain of the
  instance's deviators over their baseline utility, ``valid`` when the instance has trade
  and no run of it stopped at ``max_rounds`` (the units every verdict is computed on);
- ``table``: per (deviation, rule): valid instances, mean gain with its 95%
  percentile-bootstrap CI over instances, the paired CI of Threshold's gain minus this
  rule's, and the number of cases that hit ``max_rounds``;
- ``rules``: the payment-rule objects present (name, label, budget balanced).

The claim checked is the paper's: among *budget-balanced* rules Threshold minimises the
ex-post gain from manipulation — compared on the shading deviations (strategy
``misreport``), pairing Threshold with every other budget-balanced rule instance by
instance. VCG is the truthful, deficit-running reference, not a competitor. Every verdict
carries n (valid instances) and reads "insufficient data" below 30.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from auctionlab.errors import ConfigError
from auctionlab.report.metrics import fmt
from auctionlab.report.plots import new_figure, save
from auctionlab.report.sections import Claim, Figure, Section, judge, settings_of
from auctionlab.studies.ice_common import (
    ANALYSIS_STREAM,
    PALETTE,
    STALL_NOTE,
    TOL,
    ci,
    ci_str,
    paired_ci,
    reduced_heading,
    rules_in,
    stopped,
)
from auctionlab.studies.ice_convergence.section import stall_finding

CONTROL = "control"
SHADING = "misreport"  # registry name of the shading deviations
SLOW = ("lazy", "late_revealer", "stubborn")  # registry names of the proxies that reveal little
DESIGN = "threshold"  # the exchange's own rule


# ---------------------------------------------------------------------- dataset
def dataset(store: Any) -> dict[str, Any]:
    spec = store.spec
    return frames_from(store.table("runs"), params=dict(spec.params), master_seed=spec.master_seed, name=store.name)


def _strategy_names(cases: pd.DataFrame, params: dict[str, Any]) -> pd.Series:
    if "strategy" in cases:
        return cases["strategy"]
    from auctionlab.strategies.registry import strategy_from_spec

    table = params.get("deviations") or {}
    ref = params.get("reference", "straightforward")
    names = {}
    for d in cases["deviation"].unique():
        try:
            names[d] = strategy_from_spec(ref if d == CONTROL else table[d]).name
        except (KeyError, ConfigError):  # a deviation the spec no longer lists
            names[d] = str(d)
    return cases["deviation"].map(names)


def frames_from(
    runs: pd.DataFrame, *, params: dict[str, Any] | None = None, master_seed: int = 0, name: str = "ice-manipulation"
) -> dict[str, Any]:
    """:func:`dataset` on a runs table given directly (hand-made ones in tests)."""
    params = params or {}
    cases = runs.copy()
    if cases.empty:
        return {
            "name": name,
            "cases": cases,
            "gains": pd.DataFrame(),
            "table": pd.DataFrame(),
            "rules": [],
            "params": params,
            "master_seed": master_seed,
        }
    cases["strategy"] = _strategy_names(cases, params)
    cases["baseline_trade"] = cases["baseline_traded_units"] > 0
    cases["hit_max_rounds"] = stopped(cases["closed_by"]) | stopped(cases["baseline_closed_by"])
    rules = rules_in(list(cases.columns), "gain_")
    per_inst = (
        cases.groupby(["deviation", "run_id"], sort=False)
        .agg(
            strategy=("strategy", "first"),
            baseline_trade=("baseline_trade", "first"),
            hit_max_rounds=("hit_max_rounds", "any"),
            **{f"gain_{r.name}": (f"gain_{r.name}", "mean") for r in rules},
        )
        .reset_index()
    )
    # an instance is a valid unit for a deviation when it has trade and none of its runs stopped at max_rounds
    per_inst["valid"] = per_inst["baseline_trade"] & ~per_inst["hit_max_rounds"]
    gains = per_inst.melt(
        id_vars=["deviation", "run_id", "strategy", "baseline_trade", "hit_max_rounds", "valid"],
        value_vars=[f"gain_{r.name}" for r in rules],
        var_name="rule",
        value_name="gain",
    )
    gains["rule"] = gains["rule"].str.removeprefix("gain_")
    frames = {
        "name": name,
        "cases": cases,
        "gains": gains,
        "rules": rules,
        "params": params,
        "master_seed": master_seed,
    }
    frames["table"] = gain_table(frames)
    frames["table_all"] = gain_table(frames, valid="baseline_trade")
    return frames


def _gen(frames: dict[str, Any], k: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(frames["master_seed"], spawn_key=(ANALYSIS_STREAM, k)))


def order(deviations) -> list[str]:
    names = list(dict.fromkeys(deviations))
    return [n for n in names if n == CONTROL] + [n for n in names if n != CONTROL]


def gain_table(frames: dict[str, Any], valid: str = "valid") -> pd.DataFrame:
    """Per (deviation, rule) on the instances whose ``valid`` column is true: ``"valid"``
    (trade, no run stopped at max_rounds: the verdicts' sample) or ``"baseline_trade"``
    (every instance with trade, stalled runs included: context only)."""
    gains, cases = frames["gains"], frames["cases"]
    gen = _gen(frames, 0 if valid == "valid" else 3)
    rows = []
    for d in order(gains["deviation"]):
        gd = gains[(gains["deviation"] == d) & gains[valid].astype(bool)]
        design = gd[gd["rule"] == DESIGN].set_index("run_id")["gain"]
        cd = cases[cases["deviation"] == d]
        for r in frames["rules"]:
            gr = gd[gd["rule"] == r.name].set_index("run_id")["gain"]
            est = ci(gr, gen)
            common = design.index.intersection(gr.index)
            diff = paired_ci(design[common], gr[common], gen) if r.name != DESIGN else (math.nan,) * 3
            rows.append(
                {
                    "deviation": d,
                    "strategy": cd["strategy"].iloc[0] if len(cd) else "",
                    "rule": r.name,
                    "budget_balanced": bool(r.budget_balanced),
                    "n": len(gr),
                    "gain": est[0],
                    "gain_lo": est[1],
                    "gain_hi": est[2],
                    "threshold_minus_rule": diff[0],
                    "diff_lo": diff[1],
                    "diff_hi": diff[2],
                    "share_gaining": float((cd[f"gain_{r.name}"] > TOL).mean()) if len(cd) else math.nan,
                    "cases": len(cd),
                    "cases_max_rounds": int(cd["hit_max_rounds"].sum()),
                    "instances_without_trade": int((~cd.drop_duplicates("run_id")["baseline_trade"]).sum()),
                }
            )
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------- figures
def figures(frames: dict[str, Any], figdir: Path) -> list[Figure]:
    table = frames["table"]
    if table.empty:
        return []
    devs = [d for d in order(table["deviation"]) if d != CONTROL]
    rules = frames["rules"]
    fig, axes = new_figure(1, 1, width=7.5, height=0.5 * len(devs) * max(len(rules), 1) ** 0.5 + 2.2)
    ax = axes[0][0]
    y = np.arange(len(devs))
    w = 0.8 / max(len(rules), 1)
    for i, r in enumerate(rules):
        t = table[table["rule"] == r.name].set_index("deviation").reindex(devs)
        yy = y + (i - (len(rules) - 1) / 2) * w
        ax.errorbar(
            t["gain"],
            yy,
            xerr=[t["gain"] - t["gain_lo"], t["gain_hi"] - t["gain"]],
            fmt="o" if r.budget_balanced else "s",
            color=PALETTE[i % len(PALETTE)],
            capsize=2,
            markersize=3.5,
            label=r.label + ("" if r.budget_balanced else " (not budget balanced)"),
        )
    ax.axvline(0, color="grey", linewidth=1, linestyle=":")
    ax.set_yticks(y, devs)
    ax.invert_yaxis()
    ax.set_xlabel("deviator's gain over the reference proxy (mean over valid instances, 95% CI)")
    ax.legend(fontsize=6.5, loc="best")
    name = frames["name"]
    png, svg = save(fig, figdir, name)
    n = int(table["n"].max()) if len(table) else 0
    return [
        Figure(
            name,
            (
                f"One deviating bidder against reference bidders: its utility gain under every payment rule, computed from "
                f"the same runs (the bidding does not depend on the rule). Up to {n} instances per deviation — instances "
                "with trade in the baseline and no run stopped at max_rounds; the deviators of an instance averaged. Bars: "
                "95% percentile-bootstrap CIs over instances."
            ),
            png,
            svg,
        )
    ]


# ---------------------------------------------------------------------- claims
def claims(frames: dict[str, Any]) -> list[Claim]:
    cases, table, _gains = frames["cases"], frames["table"], frames["gains"]
    out: list[Claim] = []
    if cases.empty:
        return out
    rules = frames["rules"]
    ctrl = cases[cases["deviation"] == CONTROL]
    if not ctrl.empty:
        cols = [f"gain_{r.name}" for r in rules]
        exact = bool((ctrl[cols] == 0).all().all())
        out.append(
            Claim(
                "The reference proxy against itself gains exactly 0 (rerunning it reproduces the baseline bit for bit)",
                "agrees" if exact else "disagrees",
                f"{len(ctrl)} control cases; largest |gain| {fmt(float(ctrl[cols].abs().max().max()))}.",
                len(ctrl),
            )
        )
    base = cases.drop_duplicates("run_id")
    traded = base[base["baseline_trade"]]
    n_tr = len(traded)
    for r in rules:
        col = f"baseline_surplus_{r.name}"
        if col not in traded:
            continue
        if r.budget_balanced:
            ok = bool((traded[col] >= -TOL).all())
            out.append(
                Claim(
                    f"{r.label} payments never run a deficit",
                    judge(ok, n_tr),
                    f"{n_tr} baseline instances with trade; min surplus "
                    f"{fmt(float(traded[col].min())) if n_tr else 'n/a'}.",
                    n_tr,
                )
            )
        else:
            deficit = traded[col] < -TOL
            out.append(
                Claim(
                    f"{r.label} payments run a deficit on instances with trade (the price of truthfulness)",
                    judge(bool(deficit.all()), n_tr, partly=bool(deficit.any())),
                    f"deficit on {int(deficit.sum())} of {n_tr} instances with trade; mean surplus "
                    f"{fmt(float(traded[col].mean())) if n_tr else 'n/a'}.",
                    n_tr,
                )
            )
    # the paper's claim: Threshold vs the other budget-balanced rules, on shading
    shading = table[(table["strategy"] == SHADING)]
    others = [r for r in rules if r.budget_balanced and r.name != DESIGN]
    if not shading.empty and others and DESIGN in {r.name for r in rules}:
        comp = shading[shading["rule"].isin([r.name for r in others])]
        larger = comp["diff_lo"] > TOL
        smaller = comp["diff_hi"] < -TOL
        n = int(comp["n"].min()) if len(comp) else 0
        parts = "; ".join(
            f"{row.deviation} vs {row.rule}: {ci_str(row.threshold_minus_rule, row.diff_lo, row.diff_hi)}"
            for row in comp.itertuples()
        )
        ev = (
            f"paired per-instance differences with 95% CIs, valid instances only: {parts}. Threshold significantly "
            f"smaller in {int(smaller.sum())}, larger in {int(larger.sum())} of {len(comp)} comparisons."
            if n
            else "no valid instance (every instance with trade had a run stopped at max_rounds, or none traded)."
        )
        ta = frames.get("table_all")
        if ta is not None and not ta.empty:
            ca = ta[(ta["strategy"] == SHADING) & ta["rule"].isin([r.name for r in others])]
            if len(ca) and int(ca["n"].min()) > n:
                la = ca["diff_lo"] > TOL
                ev += (
                    f" For context only (not the verdict): over every instance with trade, runs stopped at "
                    f"max_rounds included (n = {int(ca['n'].min())}), Threshold is significantly larger in "
                    f"{int(la.sum())} and smaller in {int((ca['diff_hi'] < -TOL).sum())} of {len(ca)} comparisons."
                )
        out.append(
            Claim(
                "Among budget-balanced payment rules Threshold leaves the smallest gain from shading (paired difference "
                "Threshold − other rule never significantly above 0)",
                judge(not larger.any(), n, partly=bool((~larger).any())),
                ev,
                n,
                headline=3,
            )
        )
    vcg = [r for r in rules if not r.budget_balanced]
    for r in vcg:
        t = table[(table["rule"] == r.name) & (table["deviation"] != CONTROL)]
        sig = t[t["gain_lo"] > TOL]
        n = int(t["n"].min()) if len(t) else 0
        out.append(
            Claim(
                f"Under {r.label} payments (truthful in the one-shot exchange) no deviation gains on average",
                judge(sig.empty, n),
                (
                    "largest mean gain " + fmt(float(t["gain"].max())) + "."
                    if sig.empty
                    else "significant: "
                    + ", ".join(f"{x.deviation} {ci_str(x.gain, x.gain_lo, x.gain_hi)}" for x in sig.itertuples())
                    + ". In ICE the others' final reports are their lower bounds, not their values, so VCG is not exactly "
                    "truthful here."
                ),
                n,
            )
        )
    t = table[(table["rule"] == DESIGN) & (table["deviation"] != CONTROL)]
    if not t.empty:
        sig = t[t["gain_lo"] > TOL]
        n = int(t["n"].min())
        out.append(
            Claim(
                "ICE with Threshold payments is not ex-post truthful: some deviation gains on average (95% CI above 0)",
                judge(not sig.empty, n),
                (
                    "significant: "
                    + ", ".join(f"{x.deviation} {ci_str(x.gain, x.gain_lo, x.gain_hi)}" for x in sig.itertuples())
                )
                if len(sig)
                else f"no CI above 0; largest mean gain {fmt(float(t['gain'].max()))}.",
                n,
            )
        )
    slow = cases[cases["strategy"].isin(SLOW)]
    if not slow.empty:  # a claim about max_rounds: those runs are its subject
        per = slow.groupby("deviation")["closed_by"].apply(lambda s: float(stopped(s).mean()))
        base_rate = float(stopped(base["baseline_closed_by"]).mean())
        n = int(slow.groupby("deviation").size().min())
        out.append(
            Claim(
                "Proxies that reveal little (lazy, late revealer, stubborn) stop at max_rounds more often than the "
                "reference bidders' baseline",
                judge(bool((per > base_rate).all()), n, partly=bool((per > base_rate).any())),
                ", ".join(f"{d}: {v:.0%}" for d, v in per.items()) + f" of cases vs {base_rate:.0%} of baselines.",
                n,
            )
        )
    return out


# ---------------------------------------------------------------------- the section
def build(store: Any, figdir: Path) -> Section:
    spec = store.spec
    ref = spec.params.get("reference", "straightforward")
    if not isinstance(ref, str):
        from auctionlab.studies.ice_runs import exchange_strategy

        ref = exchange_strategy(ref, "reference").label
    sec = Section(
        store.name,
        f"ICE manipulation: what a deviating proxy gains against {ref} bidders, rule by rule" + reduced_heading(store),
        spec.description,
        settings_of(store),
    )
    runs = store.table("runs")
    if runs.empty:
        sec.notes.append("No runs are stored yet.")
        return sec
    frames = dataset(store)
    sec.figures.extend(figures(frames, figdir))
    sec.tables.append(
        (
            (
                "Per deviation and payment rule: valid instances n (trade in the baseline, no run stopped at "
                "max_rounds), mean gain with 95% bootstrap CI, paired CI of Threshold's gain minus the rule's, "
                "share of cases that gain, and cases that hit max_rounds (flagged, left out of n)"
            ),
            frames["table"],
        )
    )
    sec.tables.append(
        (
            (
                "The same over every instance with trade, runs stopped at max_rounds included (context "
                "only: no verdict uses it)"
            ),
            frames["table_all"],
        )
    )
    sec.claims.extend(claims(frames))
    cases = frames["cases"]
    base = cases.drop_duplicates("run_id")
    base_stalled = base["baseline_trade"] & stopped(base["baseline_closed_by"])
    text = stall_finding(
        ref,
        int(base_stalled.sum()),
        int(base["baseline_trade"].sum()),
        int((base["baseline_trade"] & ~base_stalled).sum()),
        "the gain verdicts",
    )
    if text:
        sec.notes.append(text)
    sec.notes.append(STALL_NOTE)
    sec.notes.append(
        f"{int((~base['baseline_trade']).sum())} of {len(base)} instances have no trade in the baseline and "
        f"{int(cases['hit_max_rounds'].sum())} of {len(cases)} cases stopped at max_rounds (deviation or baseline); "
        "both are left out of every gain verdict. Deviators are drawn among the bidders who trade in the baseline."
    )
    sec.data.append((f"{store.name}_cases", cases))
    return sec


__all__ = ["build", "claims", "dataset", "figures", "frames_from", "gain_table"]
