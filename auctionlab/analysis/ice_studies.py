"""Report sections for the ICE studies: convergence, manipulation, proxy tournaments.

Built from stored tables alone (never re-simulating). Every verdict is computed from the
numbers by a test fixed here in advance:

- *convergence* — "closes by the rule": every run's ``closed_by`` is ``cutoffs`` or
  ``no_optimistic_trade`` (not ``max_rounds``); "rounds grow with a cutoff": along that
  axis of the cutoff grid the mean rounds to close never fall and end higher than they
  start, for every value of the other cutoff (partly: for some); "payments approach the
  truthful one-shot Threshold payments as CUTOFF_thresh rises": the mean RMS difference
  at the largest CUTOFF_thresh is below that at the smallest for every CUTOFF_eff;
  "larger ρ closes sooner": least-squares slope of rounds on ρ with its 95% CI below 0.
  Runs without trade at the optimistic values (PP = 0: α's are 0 by definition) are left
  out of the figures and the cutoff/ρ claims.
- *manipulation* — CIs are percentile-bootstrap intervals over instances (the deviators of
  one instance are averaged first, so instances are the independent units); "gains
  more / less" comparisons use the paired per-instance difference.
- *tournament* — A[a, b] = mean focal utility of proxy a in a population of b over
  instances; leaderboard = row means of A (a uniformly mixed background) with a bootstrap
  CI over instances; replicator dynamics run on A / max|A| (a positive rescaling changes
  only the time scale), with bands from bootstrap resamples of the instances.

Bootstrap generators are seeded from the experiment's master seed, so a report is
reproducible.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from auctionlab.analysis.games import replicator_trajectory
from auctionlab.analysis.metrics import fmt, group_mean_ci, trend
from auctionlab.analysis.plots import band, new_figure, save
from auctionlab.analysis.sections import (
    SECTIONS, Claim, Figure, Section, analysis_rng, ci_text, empty_section, claim_verdict, settings_of
)
from auctionlab.analysis.stats import bootstrap_ci, gain_ci
from auctionlab.errors import ConfigError, InvalidInputError
from auctionlab.experiments.store import ResultStore

N_BOOT = 2000
ANALYSIS_STREAM = 1_000_003  # spawn key of the report's bootstrap generator (apart from any run's)
TOL = 1e-6
CLOSED_BY_RULE = ("cutoffs", "no_optimistic_trade")
REPLICATOR_STEPS, REPLICATOR_DT, REPLICATOR_BOOT = 1500, 0.1, 100
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f")


# ====================================================================== convergence
def _sweeps(store: ResultStore, runs: pd.DataFrame) -> list[dict]:
    """Each grid of the spec: its varying keys and fixed values, and the runs it covers
    (runs of other grids with the same fixed values included: e.g. ρ = 0.5 from the cutoff grid)."""
    spec = store.spec
    keys = [k for k in spec.grid_keys if k in runs.columns]
    common = bool(spec.params.get("common_instances", False))
    out = []
    for gi, g in enumerate(spec.grids):
        varying = [k for k, v in g.items() if len(v) > 1 and k in runs.columns]
        fixed = {k: v[0] for k, v in g.items() if len(v) == 1 and k in runs.columns}
        sel = runs
        for k, v in fixed.items():
            sel = sel[np.isclose(sel[k].astype(float), float(v))] if isinstance(v, (int, float)) else sel[sel[k] == v]
        if common and keys:  # the same configuration in two grids is the same run: keep one
            sel = sel.drop_duplicates(subset=[*keys, "replication"])
        out.append({"index": gi, "varying": varying, "fixed": fixed, "runs": sel})
    return out


def _filled_rounds(rounds: pd.DataFrame, runs: pd.DataFrame, by: list[str], cols: list[str]) -> pd.DataFrame:
    """Per-round values of the given runs, each run's last value carried forward to the
    longest run of the group (a closed exchange keeps its final state)."""
    r = rounds[rounds["run_id"].isin(runs["run_id"])][["run_id", "round", *cols]].copy()
    r = r.merge(runs[["run_id", *by]], on="run_id")
    parts = []
    for _, g in r.groupby(by or (lambda _: 0), sort=True):
        last = int(g["round"].max())
        for rid, h in g.groupby("run_id"):
            h = h.set_index("round").reindex(range(last + 1)).ffill()
            h["run_id"] = rid
            for k in by:
                h[k] = h[k].iloc[0]
            parts.append(h.reset_index())
    return pd.concat(parts, ignore_index=True) if parts else r


def _label(keys: list[str], row) -> str:
    names = {"step": "ρ", "n_bidders": "n", "n_goods": "m", "cutoff_eff": "CUTOFF_eff", "cutoff_thresh": "CUTOFF_thresh"}
    return ", ".join(f"{names.get(k, k)} = {fmt(float(v)) if isinstance(v, (int, float, np.number)) else v}"
                     for k, v in zip(keys, row if isinstance(row, tuple) else (row,)))


def convergence_section(store: ResultStore, figdir: Path) -> Section:
    spec = store.spec
    runs, rounds = store.table("runs"), store.table("rounds")
    sec = Section(store.name, "ICE convergence: αeff, αthresh, efficiency, rounds to close", spec.description,
                  settings_of(store))
    if runs.empty or rounds.empty:
        return empty_section(sec)
    runs = runs.copy()
    for k, v in (("cutoff_eff", spec.params.get("cutoff_eff", 0.95)),
                 ("cutoff_thresh", spec.params.get("cutoff_thresh", 0.9)), ("step", spec.params.get("step", 0.5))):
        if k not in runs.columns:
            runs[k] = v
    all_runs = runs
    # instances with no trade at the optimistic values have PP = 0, so αeff = αthresh = 0 by
    # definition and close at once: they say nothing about convergence and are left out of
    # the figures (not of the claims about closing)
    no_trade = runs["closed_by"] == "no_optimistic_trade"
    runs = runs[~no_trade]
    if runs.empty:
        sec.notes.append(f"All {len(all_runs)} runs had no trade at the optimistic values.")
        return sec
    sweeps = _sweeps(store, runs)
    heat = next((s for s in sweeps if set(s["varying"]) == {"cutoff_eff", "cutoff_thresh"}), None)
    paths = [s for s in sweeps if s is not heat] or [{"index": 0, "varying": [], "fixed": {}, "runs": runs}]

    # ---- figure 1: alpha trajectories, figure 3: efficiency per round
    cols = ["alpha_eff", "alpha_thresh", "efficiency"]
    traj = []
    for s in paths:
        f = _filled_rounds(rounds, s["runs"], s["varying"], cols)
        traj.append((s, f))
    fig, axes = new_figure(len(paths), 2, width=4.4, height=3.1)
    fig_e, axes_e = new_figure(1, len(paths), width=4.4, height=3.1)
    for r, (s, f) in enumerate(traj):
        groups = list(f.groupby(s["varying"], sort=True)) if s["varying"] else [((), f)]
        for gi, (key, g) in enumerate(groups):
            name = _label(s["varying"], key) if s["varying"] else "all runs"
            color = PALETTE[gi % len(PALETTE)]
            for c, col in enumerate(("alpha_eff", "alpha_thresh")):
                band(axes[r][c], group_mean_ci(g, ["round"], col), "round", color=color, marker="o", name=name)
            band(axes_e[0][r], group_mean_ci(g, ["round"], "efficiency"), "round", color=color, marker="o", name=name)
        fixed = _label(list(s["fixed"]), tuple(s["fixed"].values())) if s["fixed"] else ""
        for c, (col, title) in enumerate((("cutoff_eff", "αeff"), ("cutoff_thresh", "αthresh"))):
            ax = axes[r][c]
            ax.set_title(f"{title} per round" + (f" — by {', '.join(s['varying'])}" if s["varying"] else ""), fontsize=9)
            ax.set_xlabel("round")
            ax.set_ylim(-0.02, 1.05)
            ax.set_ylabel(f"{title} (mean, 95% CI)")
            vals = s["runs"][col].unique()
            if len(vals) == 1:
                ax.axhline(float(vals[0]), color="grey", linestyle=":", linewidth=1)
            ax.legend(fontsize=7, loc="lower right")
        axe = axes_e[0][r]
        axe.set_title("efficiency of λ^t" + (f" — by {', '.join(s['varying'])}" if s["varying"] else ""), fontsize=9)
        axe.set_xlabel("round")
        axe.set_ylabel("true value / efficient value")
        axe.legend(fontsize=7, loc="lower right")
        if fixed:
            axes[r][0].text(0.02, 0.03, fixed, transform=axes[r][0].transAxes, fontsize=6.5, color="#555")
    png, svg = save(fig, figdir, f"{store.name}-alpha")
    sec.figures.append(Figure(f"{store.name}-alpha", (
        "αeff and αthresh per round, mean over instances with 95% bands; a run that has closed keeps its last "
        "value. Dotted: the closing cutoff. Rows: the proxy step ρ and the instance size sweeps (ρ = 0.5 taken "
        "from the cutoff grid's point at the default cutoffs)." + _excluded(no_trade)), png, svg))

    # ---- figure 2: heat maps over the cutoff grid
    summary = []
    for s in sweeps:
        by = s["varying"] or ["n_bidders"]
        for metric in ("rounds", "efficiency", "payment_rms_vs_truth", "payment_max_vs_truth"):
            if metric in s["runs"]:
                t = group_mean_ci(s["runs"], by, metric)
                t.insert(0, "metric", metric)
                t.insert(0, "sweep", ", ".join(s["varying"]) or "one point")
                summary.append(t)
    if heat is not None:
        h = heat["runs"]
        piv = {m: h.pivot_table(index="cutoff_eff", columns="cutoff_thresh", values=m, aggfunc="mean")
               for m in ("rounds", "payment_rms_vs_truth")}
        fig2, ax2 = new_figure(1, 2, width=4.6, height=3.6)
        for ax, (m, title) in zip(ax2[0], (("rounds", "rounds to close (mean)"),
                                           ("payment_rms_vs_truth", "RMS |p − p_thresh(truth)| (mean)"))):
            p = piv[m]
            im = ax.imshow(p.to_numpy(), origin="lower", cmap="viridis", aspect="auto")
            ax.set_xticks(range(p.shape[1]), [fmt(float(x)) for x in p.columns])
            ax.set_yticks(range(p.shape[0]), [fmt(float(x)) for x in p.index])
            ax.set_xlabel("CUTOFF_thresh")
            ax.set_ylabel("CUTOFF_eff")
            ax.set_title(title, fontsize=9)
            _annotate(ax, p.to_numpy())
            fig2.colorbar(im, ax=ax, shrink=0.85)
        png, svg = save(fig2, figdir, f"{store.name}-cutoffs")
        sec.figures.append(Figure(f"{store.name}-cutoffs", (
            f"Over the CUTOFF_eff × CUTOFF_thresh grid ({_label(list(heat['fixed']), tuple(heat['fixed'].values()))}; "
            f"{h['replication'].nunique()} instances per cell, the same instances in every cell): mean rounds to "
            "close, and the RMS difference between the final Threshold payments and the Threshold payments of the "
            "one-shot exchange at the true values." + _excluded(no_trade)), png, svg))
        for m, p in piv.items():
            t = p.copy()
            t.index = [f"CUTOFF_eff = {fmt(float(x))}" for x in t.index]
            t.columns = [f"CUTOFF_thresh = {fmt(float(x))}" for x in t.columns]
            sec.tables.append((f"Mean {m} over the cutoff grid", t.reset_index(names="")))
    png, svg = save(fig_e, figdir, f"{store.name}-efficiency")
    sec.figures.append(Figure(f"{store.name}-efficiency", (
        "Efficiency of the provisional trade λ^t (its true value over the efficient true value) per round, mean "
        "with 95% bands; the last round is the final trade WD(v̲)." + _excluded(no_trade)), png, svg))
    if summary:
        sec.tables.append(("Per grid point: mean and 95% CI of rounds to close, final efficiency and the distance "
                           "of the final Threshold payments from the truthful one-shot ones",
                           pd.concat(summary, ignore_index=True)))
    keep = [c for c in ("run_id", "round", "final", "pp", "po", "alpha_eff", "alpha_thresh", "efficiency",
                        "rp_failures", "penalized") if c in rounds]
    sec.data.append((f"{store.name}_rounds", rounds[keep]))
    cols_r = [c for c in ("run_id", *spec.grid_keys, "rounds", "closed_by", "efficiency", "budget_surplus",
                          "payment_rms_vs_truth", "payment_max_vs_truth", "time_total_s") if c in runs]
    sec.data.append((f"{store.name}_runs", runs[cols_r]))

    # ---- claims
    ok = all_runs["closed_by"].isin(CLOSED_BY_RULE)
    counts = all_runs["closed_by"].value_counts().to_dict()
    sec.claims.append(Claim(
        "αeff and αthresh reach the cutoffs (or no trade remains at the optimistic values) within max_rounds on "
        "every run",
        "holds" if ok.all() else "fails",
        f"{int(ok.sum())} of {len(all_runs)} runs closed by the rule ({', '.join(f'{k}: {v}' for k, v in counts.items())}); "
        f"rounds {int(all_runs['rounds'].min())}–{int(all_runs['rounds'].max())}, mean "
        f"{fmt(all_runs['rounds'].mean())}."))
    if heat is not None:
        p = heat["runs"].pivot_table(index="cutoff_eff", columns="cutoff_thresh", values="rounds", aggfunc="mean")
        a = p.to_numpy()
        for axis, key, other in ((1, "CUTOFF_thresh", p.index), (0, "CUTOFF_eff", p.columns)):
            lines = a if axis == 1 else a.T  # one line per value of the other cutoff
            mono = [bool(np.all(np.diff(x) >= -TOL)) for x in lines]
            rise = [bool(x[-1] > x[0] + TOL) for x in lines]
            grows = [m and r for m, r in zip(mono, rise)]
            okey = "CUTOFF_eff" if axis == 1 else "CUTOFF_thresh"
            ev = "; ".join(f"{okey} {fmt(float(o))}: " + " → ".join(fmt(float(v)) for v in x)
                           for o, x in zip(other, lines))
            if key == "CUTOFF_eff" and not any(rise):
                first_eff = heat["runs"]["rounds_to_alpha_eff"].mean() if "rounds_to_alpha_eff" in heat["runs"] else np.nan
                binding = float((heat["runs"]["rounds_to_alpha_eff"] <= heat["runs"]["rounds_to_alpha_thresh"]).mean()) \
                    if "rounds_to_alpha_thresh" in heat["runs"] else np.nan
                ev += (f". αeff reaches its cutoff first (mean round {fmt(float(first_eff))}) in {binding:.0%} of the "
                       "runs: αthresh is the condition that keeps the exchange open")
            sec.claims.append(Claim(
                f"Rounds to close grow with {key}",
                claim_verdict(all(grows), partly=any(grows)),
                f"mean rounds along {key} = " + " → ".join(fmt(float(v)) for v in (p.columns if axis == 1 else p.index))
                + f", per {okey}: {ev}."))
        q = heat["runs"].pivot_table(index="cutoff_eff", columns="cutoff_thresh", values="payment_rms_vs_truth",
                                     aggfunc="mean")
        lo_hi = [(float(q.iloc[i, 0]), float(q.iloc[i, -1])) for i in range(q.shape[0])]
        better = [hi < lo for lo, hi in lo_hi]
        sec.claims.append(Claim(
            "Final Threshold payments approach the truthful one-shot Threshold payments as CUTOFF_thresh rises",
            claim_verdict(all(better), partly=any(better)),
            f"mean RMS difference at CUTOFF_thresh = {fmt(float(q.columns[0]))} → {fmt(float(q.columns[-1]))}: "
            + "; ".join(f"CUTOFF_eff {fmt(float(e))}: {fmt(lo)} → {fmt(hi)}" for e, (lo, hi) in zip(q.index, lo_hi))
            + (f" (RMS of the truthful payments themselves: {fmt(float(heat['runs']['truthful_payment_rms'].mean()))} "
               "on average)." if "truthful_payment_rms" in heat["runs"] else ".")))
    step_sweep = next((s for s in paths if s["varying"] == ["step"]), None)
    if step_sweep is not None:
        d = step_sweep["runs"]
        tr = trend(d["step"], d["rounds"])
        means = d.groupby("step")["rounds"].mean()
        sec.claims.append(Claim(
            "A larger proxy step ρ closes the exchange in fewer rounds",
            claim_verdict(tr.decreasing, partly=bool(tr.slope < 0)),
            "mean rounds " + ", ".join(f"{fmt(v)} at ρ = {fmt(float(k))}" for k, v in means.items())
            + f"; slope {fmt(tr.slope)} rounds per unit ρ (95% CI {fmt(tr.ci_low)} to {fmt(tr.ci_high)})."))
    eff = all_runs["efficiency"].astype(float)
    sec.claims.append(Claim(
        "Straightforward proxies reach an efficient final trade",
        "holds" if bool((eff >= 1 - TOL).all()) else "fails",
        f"final efficiency: min {fmt(float(eff.min()))}, mean {fmt(float(eff.mean()))}; "
        f"{int((eff >= 1 - TOL).sum())} of {len(eff)} runs efficient."))
    sec.claims.append(Claim(
        "Threshold payments are budget balanced: Σ payments ≥ 0 on every run",
        "holds" if bool((all_runs["budget_surplus"] >= -TOL).all()) else "fails",
        f"budget surplus: min {fmt(float(all_runs['budget_surplus'].min()))}, "
        f"max {fmt(float(all_runs['budget_surplus'].max()))}."))
    return sec


def _annotate(ax, values: np.ndarray, fontsize: float = 7) -> None:
    """Write each cell's value on a heat map, white on the dark half of viridis."""
    lo, hi = float(np.nanmin(values)), float(np.nanmax(values))
    for i in range(values.shape[0]):
        for j in range(values.shape[1]):
            v = float(values[i, j])
            dark = hi > lo and (v - lo) < 0.5 * (hi - lo)
            ax.text(j, i, fmt(v, 3), ha="center", va="center", fontsize=fontsize, color="white" if dark else "black")


def _excluded(no_trade: pd.Series) -> str:
    k = int(no_trade.sum())
    return (f" {k} of {len(no_trade)} runs had no trade at the optimistic values (PP = 0, so αeff = αthresh = 0 by "
            "definition; they close at once) and are not shown.") if k else ""


# ====================================================================== manipulation
def _instance_means(runs: pd.DataFrame, cols: list[str]) -> pd.DataFrame:
    """Per (deviation, instance): the mean over that instance's deviators."""
    return runs.groupby(["deviation", "run_id"], sort=True)[cols].mean().reset_index()


def _order_deviations(names) -> list[str]:
    names = list(dict.fromkeys(names))
    first = [n for n in ("control",) if n in names]
    return first + [n for n in names if n not in first]


def manipulation_section(store: ResultStore, figdir: Path) -> Section:
    spec = store.spec
    runs = store.table("runs")
    sec = Section(store.name, "ICE manipulation: what a deviating proxy gains against straightforward bidders",
                  spec.description, settings_of(store))
    if runs.empty:
        return empty_section(sec)
    gen = analysis_rng(store, ANALYSIS_STREAM)
    devs = _order_deviations(runs["deviation"])
    inst = _instance_means(runs, ["gain_threshold", "gain_vcg", "efficiency_loss", "rounds", "baseline_rounds"])
    rows = []
    for d in devs:
        g = inst[inst["deviation"] == d]
        raw = runs[runs["deviation"] == d]
        gt = bootstrap_ci(g["gain_threshold"], level=0.95, n_boot=N_BOOT, rng=gen)
        gv = bootstrap_ci(g["gain_vcg"], level=0.95, n_boot=N_BOOT, rng=gen)
        diff = gain_ci(g["gain_threshold"], g["gain_vcg"], paired=True, n_boot=N_BOOT, rng=gen)
        el = bootstrap_ci(g["efficiency_loss"], level=0.95, n_boot=N_BOOT, rng=gen)
        extra = gain_ci(g["rounds"], g["baseline_rounds"], paired=True, n_boot=N_BOOT, rng=gen)
        rows.append({
            "deviation": d, "label": raw["label"].iloc[0], "instances": len(g), "cases": len(raw),
            "gain_threshold": gt[0], "gain_threshold_lo": gt[1], "gain_threshold_hi": gt[2],
            "gain_vcg": gv[0], "gain_vcg_lo": gv[1], "gain_vcg_hi": gv[2],
            "thr_minus_vcg": diff[0], "thr_minus_vcg_lo": diff[1], "thr_minus_vcg_hi": diff[2],
            "share_gaining_threshold": float((raw["gain_threshold"] > TOL).mean()),
            "share_gaining_vcg": float((raw["gain_vcg"] > TOL).mean()),
            "max_gain_threshold": float(raw["gain_threshold"].max()), "max_gain_vcg": float(raw["gain_vcg"].max()),
            "efficiency_loss": el[0], "efficiency_loss_lo": el[1], "efficiency_loss_hi": el[2],
            "rounds": float(raw["rounds"].mean()), "extra_rounds": extra[0], "extra_rounds_lo": extra[1],
            "extra_rounds_hi": extra[2], "share_max_rounds": float((raw["closed_by"] == "max_rounds").mean()),
        })
    table = pd.DataFrame(rows)

    fig, axes = new_figure(1, 3, width=4.3, height=3.4)
    y = np.arange(len(devs))
    for off, (col, name, color) in enumerate((("gain_threshold", "Threshold", "#1f77b4"),
                                              ("gain_vcg", "VCG", "#ff7f0e"))):
        yy = y + (off - 0.5) * 0.3
        axes[0][0].errorbar(table[col], yy, xerr=[table[col] - table[f"{col}_lo"], table[f"{col}_hi"] - table[col]],
                            fmt="o", color=color, label=name, capsize=2, markersize=4)
    axes[0][0].axvline(0, color="grey", linewidth=1, linestyle=":")
    axes[0][0].set_title("(a) utility gain of the deviator", fontsize=9)
    axes[0][0].set_xlabel("gain over straightforward (mean, 95% CI)")
    axes[0][0].legend(fontsize=7)
    axes[0][1].errorbar(table["efficiency_loss"], y, fmt="o", color="#2ca02c", capsize=2, markersize=4,
                        xerr=[table["efficiency_loss"] - table["efficiency_loss_lo"],
                              table["efficiency_loss_hi"] - table["efficiency_loss"]])
    axes[0][1].axvline(0, color="grey", linewidth=1, linestyle=":")
    axes[0][1].set_title("(b) efficiency loss", fontsize=9)
    axes[0][1].set_xlabel("baseline − deviation efficiency")
    axes[0][2].errorbar(table["extra_rounds"], y, fmt="o", color="#9467bd", capsize=2, markersize=4,
                        xerr=[table["extra_rounds"] - table["extra_rounds_lo"],
                              table["extra_rounds_hi"] - table["extra_rounds"]])
    axes[0][2].axvline(0, color="grey", linewidth=1, linestyle=":")
    axes[0][2].set_title("(c) extra rounds to close", fontsize=9)
    axes[0][2].set_xlabel("rounds − baseline rounds")
    for ax in axes[0]:
        ax.set_yticks(y, devs if ax is axes[0][0] else [""] * len(devs))
        ax.invert_yaxis()
    png, svg = save(fig, figdir, store.name)
    p = spec.params
    n_inst = runs["run_id"].nunique()
    sec.figures.append(Figure(store.name, (
        f"One deviating bidder against straightforward others, {n_inst} instances of {p.get('n_bidders', '?')} "
        f"bidders × {p.get('n_goods', '?')} goods, {p.get('deviators', '?')} deviator(s) per instance drawn among "
        f"the bidders who trade under straightforward bidding ({p.get('deviator_pool', 'traders')}). (a) the "
        "deviator's utility gain under Threshold (ICE's rule) and VCG payments at the same final bounds; (b) loss "
        "of efficiency of the final trade; (c) extra rounds. Points: mean over instances (deviators of an instance "
        "averaged), bars: 95% percentile-bootstrap CI over instances. 'control' reruns straightforward."),
        png, svg))
    shown = table[["deviation", "instances", "cases", "gain_threshold", "gain_threshold_lo", "gain_threshold_hi",
                   "gain_vcg", "gain_vcg_lo", "gain_vcg_hi", "thr_minus_vcg_lo", "thr_minus_vcg_hi",
                   "share_gaining_threshold", "share_gaining_vcg", "max_gain_threshold", "efficiency_loss",
                   "rounds", "extra_rounds", "share_max_rounds"]]
    sec.tables.append(("Per deviation: mean gain with 95% bootstrap CI under Threshold and VCG, CI of the paired "
                       "difference (Threshold − VCG), share of cases that gain, efficiency loss, rounds", shown))
    base = runs.drop_duplicates("run_id")
    budget = pd.DataFrame({
        "payments": ["Threshold", "VCG"],
        "mean_surplus": [base["baseline_surplus_threshold"].mean(), base["baseline_surplus_vcg"].mean()],
        "min_surplus": [base["baseline_surplus_threshold"].min(), base["baseline_surplus_vcg"].min()],
        "max_surplus": [base["baseline_surplus_threshold"].max(), base["baseline_surplus_vcg"].max()],
        "share_deficit": [float((base["baseline_surplus_threshold"] < -TOL).mean()),
                          float((base["baseline_surplus_vcg"] < -TOL).mean())],
    })
    sec.tables.append(("Budget (Σ payments) in the all-straightforward baseline runs", budget))
    sec.data.append((f"{store.name}_cases", runs))

    # ---- claims
    ctrl = runs[runs["deviation"] == "control"]
    if not ctrl.empty:
        exact = bool((ctrl["gain_threshold"] == 0).all() and (ctrl["gain_vcg"] == 0).all())
        sec.claims.append(Claim(
            "Straightforward against straightforward gains exactly 0 (rerunning the reference proxy reproduces the "
            "baseline bit for bit)",
            "holds" if exact else "fails",
            f"{len(ctrl)} control cases; largest |gain| {fmt(float(ctrl[['gain_threshold', 'gain_vcg']].abs().max().max()))}."))
    traded = base[base["baseline_traded_units"] > 0]
    if not traded.empty:
        thr_bb = bool((traded["baseline_surplus_threshold"] >= -TOL).all())
        vcg_def = traded["baseline_surplus_vcg"] < -TOL
        est = bootstrap_ci(traded["baseline_surplus_vcg"], n_boot=N_BOOT, rng=gen)
        sec.claims.append(Claim(
            "Threshold beats VCG on budget balance: Threshold payments never run a deficit, VCG payments do on "
            "instances with trade",
            claim_verdict(thr_bb and bool(vcg_def.all()), partly=thr_bb and bool(vcg_def.any())),
            f"{len(traded)} baseline instances with trade: Threshold surplus ≥ 0 on "
            f"{int((traded['baseline_surplus_threshold'] >= -TOL).sum())}; VCG deficit on {int(vcg_def.sum())}, "
            f"mean VCG surplus {ci_text(*est)}."))
    shade = table[table["deviation"].str.startswith("misreport")]
    if not shade.empty:
        smaller = shade["thr_minus_vcg_hi"] < 0
        larger = shade["thr_minus_vcg_lo"] > 0
        sec.claims.append(Claim(
            "Shading gains under Threshold are smaller than under VCG",
            claim_verdict(bool(smaller.all()), partly=bool(smaller.any())),
            "; ".join(f"{r.deviation}: Threshold {ci_text(r.gain_threshold, r.gain_threshold_lo, r.gain_threshold_hi)}"
                      f" vs VCG {ci_text(r.gain_vcg, r.gain_vcg_lo, r.gain_vcg_hi)}, paired difference CI "
                      f"[{fmt(r.thr_minus_vcg_lo)}, {fmt(r.thr_minus_vcg_hi)}]" for r in shade.itertuples())
            + f". Threshold gains significantly larger for {int(larger.sum())} of {len(shade)} strengths. "
              "(Theory expects the reverse: in the one-shot exchange VCG makes truthful bidding dominant, and "
              "Threshold gives up some of that for budget balance; in ICE the other bidders' final reports are "
              "their lower bounds, not their values, so VCG is not exactly truthful here either.)"))
    devs_only = table[table["deviation"] != "control"]
    sig = devs_only[devs_only["gain_threshold_lo"] > 0]
    sec.claims.append(Claim(
        "ICE with Threshold payments is not ex-post truthful: some deviation gains on average (95% CI above 0) "
        "",
        "holds" if len(sig) else "fails",
        ("significant mean gains: " + ", ".join(f"{r.deviation} {ci_text(r.gain_threshold, r.gain_threshold_lo, r.gain_threshold_hi)}"
                                                 for r in sig.itertuples()))
        if len(sig) else f"no deviation's CI lies above 0; largest mean gain {fmt(float(devs_only['gain_threshold'].max()))}."))
    sig_v = devs_only[devs_only["gain_vcg_lo"] > 0]
    sec.claims.append(Claim(
        "Under VCG payments no deviation gains on average (no 95% CI above 0)",
        "holds" if sig_v.empty else "fails",
        ("largest mean VCG gain " + fmt(float(devs_only["gain_vcg"].max())) + "." if sig_v.empty else
         "significant: " + ", ".join(f"{r.deviation} {ci_text(r.gain_vcg, r.gain_vcg_lo, r.gain_vcg_hi)}"
                                     for r in sig_v.itertuples())
         + ". VCG rewards a bidder with the reported welfare of the trade; a straightforward proxy's final "
           "report is its lower bounds, below its values, so a proxy that ends closer to its values (a late "
           "revealer reports them in the final round) can raise its VCG utility.")))
    dev_rows = runs[runs["deviation"] != "control"]
    better = dev_rows["efficiency_loss"] < -TOL
    gains_eff = devs_only[devs_only["efficiency_loss_hi"] < 0]
    sec.claims.append(Claim(
        "No deviation makes the final trade more efficient on average than straightforward bidding (no "
        "efficiency-loss CI below 0)",
        "holds" if gains_eff.empty else "fails",
        "mean loss per deviation: " + ", ".join(
            f"{r.deviation} {ci_text(r.efficiency_loss, r.efficiency_loss_lo, r.efficiency_loss_hi)}"
            for r in devs_only.itertuples())
        + f"; {int(better.sum())} of {len(dev_rows)} single cases end more efficient than their baseline (the "
          "straightforward final trade is WD at the lower bounds, which may differ from the efficient one)."))
    slow = devs_only[devs_only["deviation"].isin(["lazy", "late_revealer", "stubborn"])]
    if not slow.empty:
        ok = slow["extra_rounds_lo"] > 0
        sec.claims.append(Claim(
            "Proxies that reveal only what the activity rule demands (lazy, late revealer, stubborn) slow the "
            "exchange down",
            claim_verdict(bool(ok.all()), partly=bool(ok.any())),
            "; ".join(f"{r.deviation}: {ci_text(r.extra_rounds, r.extra_rounds_lo, r.extra_rounds_hi)} extra "
                      f"rounds, {r.share_max_rounds:.0%} hit max_rounds" for r in slow.itertuples()) + "."))
    n_none = int((base["baseline_traded_units"] == 0).sum())
    sec.notes.append("Gains are measured for the deviating bidder only, in the same instance and from the same "
                     "initial bounds as its straightforward baseline (paired). Deviators are drawn among the "
                     "bidders who trade in the baseline, where manipulation can matter; bidders who do not trade "
                     f"rarely gain by shading. In {n_none} of {len(base)} instances nobody trades in the baseline; "
                     "there the deviators are drawn among all bidders (and these instances are kept in the means).")
    return sec


# ====================================================================== tournament
def payoff_samples(runs: pd.DataFrame, value: str = "focal_utility") -> tuple[list[str], np.ndarray]:
    """Strategies (in the order first seen) and the per-instance payoff array U[r, a, b]
    (instances with a missing profile are dropped)."""
    strategies = list(dict.fromkeys(runs["focal_strategy"]).keys())
    for b in runs["background"]:
        if b not in strategies:
            strategies.append(b)
    k = len(strategies)
    piv = runs.pivot_table(index="run_id", columns=["focal_strategy", "background"], values=value, aggfunc="mean")
    cols = [(a, b) for a in strategies for b in strategies]
    piv = piv.reindex(columns=pd.MultiIndex.from_tuples(cols)).dropna()
    return strategies, piv.to_numpy().reshape(len(piv), k, k)


def replicator_from_samples(u: np.ndarray, steps: int = REPLICATOR_STEPS, dt: float = REPLICATOR_DT) -> np.ndarray:
    """Replicator trajectory from equal shares on the mean payoff matrix, rescaled to max |A| = 1."""
    a = u.mean(axis=0)
    scale = float(np.max(np.abs(a))) or 1.0
    k = a.shape[0]
    return replicator_trajectory(a / scale, np.full(k, 1.0 / k), steps=steps, dt=dt)


def tournament_section(store: ResultStore, figdir: Path) -> Section:
    spec = store.spec
    runs = store.table("runs")
    sec = Section(store.name, "Tournament of exchange proxies: leaderboard, payoff matrix, replicator dynamics",
                  spec.description, settings_of(store))
    if runs.empty:
        return empty_section(sec)
    gen = analysis_rng(store, ANALYSIS_STREAM)
    strategies, u = payoff_samples(runs)
    k, n_inst = len(strategies), u.shape[0]
    if n_inst == 0:
        sec.notes.append("No instance has every (focal, background) profile stored yet.")
        return sec
    a = u.mean(axis=0)
    score = u.mean(axis=2)  # (r, a): against a uniformly mixed background
    ref = spec.params.get("reference", "straightforward")
    ref = ref if isinstance(ref, str) and ref in strategies else strategies[0]
    j_ref = strategies.index(ref)
    rows = []
    for i, s in enumerate(strategies):
        est = bootstrap_ci(score[:, i], n_boot=N_BOOT, rng=gen)
        rel = gain_ci(score[:, i], score[:, j_ref], paired=True, n_boot=N_BOOT, rng=gen)
        home = bootstrap_ci(u[:, i, i], n_boot=N_BOOT, rng=gen)
        rows.append({"strategy": s, "mean_utility": est[0], "lo": est[1], "hi": est[2],
                     f"minus_{ref}": rel[0], f"minus_{ref}_lo": rel[1], f"minus_{ref}_hi": rel[2],
                     "homogeneous": home[0], "homogeneous_lo": home[1], "homogeneous_hi": home[2]})
    board = pd.DataFrame(rows).sort_values("mean_utility", ascending=False).reset_index(drop=True)
    board.insert(0, "rank", np.arange(1, k + 1))
    diag = runs[runs["focal_strategy"] == runs["background"]]
    eff = diag.groupby("background")[["efficiency", "rounds"]].mean()
    board["homogeneous_efficiency"] = board["strategy"].map(eff["efficiency"])
    board["homogeneous_rounds"] = board["strategy"].map(eff["rounds"])

    traj = replicator_from_samples(u)
    boots = []
    for _ in range(REPLICATOR_BOOT):
        idx = gen.integers(0, n_inst, size=n_inst)
        try:
            boots.append(replicator_from_samples(u[idx]))
        except (ConfigError, InvalidInputError):  # a resample the dynamics cannot run on is left out of the band
            continue
    boots_a = np.array(boots) if boots else traj[None]
    t = np.arange(traj.shape[0]) * REPLICATOR_DT

    fig, axes = new_figure(1, 3, width=4.4, height=3.6)
    ax = axes[0][0]
    yy = np.arange(k)
    ax.errorbar(board["mean_utility"], yy, xerr=[board["mean_utility"] - board["lo"], board["hi"] - board["mean_utility"]],
                fmt="o", color="#1f77b4", capsize=2, label="vs uniform mix")
    ax.errorbar(board["homogeneous"], yy + 0.2, fmt="s", color="#ff7f0e", capsize=2, markersize=3.5,
                xerr=[board["homogeneous"] - board["homogeneous_lo"], board["homogeneous_hi"] - board["homogeneous"]],
                label="among its own kind")
    ax.set_yticks(yy, board["strategy"])
    ax.set_ylim(k - 0.5, -1.4)  # top to bottom by rank, a free row on top for the legend
    ax.set_xlabel("focal bidder's utility (mean, 95% CI)")
    ax.set_title("(a) leaderboard", fontsize=9)
    ax.legend(fontsize=7, loc="upper right", ncol=2)
    ax = axes[0][1]
    im = ax.imshow(a, cmap="viridis")
    ax.set_xticks(range(k), strategies, rotation=45, ha="right", fontsize=7)
    ax.set_yticks(range(k), strategies, fontsize=7)
    ax.set_xlabel("background (everyone else)")
    ax.set_ylabel("focal bidder")
    ax.set_title("(b) payoff matrix A[a, b]", fontsize=9)
    _annotate(ax, a, fontsize=6.5)
    fig.colorbar(im, ax=ax, shrink=0.8)
    ax = axes[0][2]
    lo, hi = np.quantile(boots_a, [0.025, 0.975], axis=0)
    for i, s in enumerate(strategies):
        c = PALETTE[i % len(PALETTE)]
        ax.plot(t, traj[:, i], color=c, label=s, linewidth=1.4)
        ax.fill_between(t, lo[:, i], hi[:, i], color=c, alpha=0.15, linewidth=0)
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel("time (payoffs scaled to max |A| = 1)")
    ax.set_ylabel("population share")
    ax.set_title("(c) replicator dynamics from equal shares", fontsize=9)
    ax.legend(fontsize=7)
    png, svg = save(fig, figdir, store.name)
    p = spec.params
    sec.figures.append(Figure(store.name, (
        f"{n_inst} random exchanges of {p.get('n_bidders', '?')} bidders × {p.get('n_goods', '?')} goods; in each, a "
        "focal bidder (drawn among the traders of the all-straightforward run) plays proxy a while all others play "
        "b, for every ordered pair. (a) mean focal utility against a uniformly mixed background (row means of A) and "
        "in a homogeneous population (diagonal), 95% bootstrap CIs over instances; (b) A[a, b], the mean focal "
        "utility; (c) one-population replicator dynamics ẋ_a = x_a((Ax)_a − xᵀAx) on A from equal shares, bands "
        f"from {len(boots)} bootstrap resamples of the instances."), png, svg))
    sec.tables.append(("Leaderboard (Threshold payments): mean utility against a uniform mix of backgrounds, its "
                       f"difference from {ref}'s (paired by instance, tighter than the utilities' own CIs, which "
                       "carry the spread between instances), and among its own kind, with 95% bootstrap CIs; "
                       "efficiency and rounds of homogeneous populations", board))
    mat = pd.DataFrame(a, index=strategies, columns=strategies).reset_index(names="focal \\ background")
    sec.tables.append(("Empirical payoff matrix A[a, b] (mean focal utility)", mat))
    final = traj[-1]
    mean_f = float(final @ a @ final)
    eps = float(np.max(a @ final) - mean_f)
    fin = pd.DataFrame({"strategy": strategies, "final_share": final, "share_lo": lo[-1], "share_hi": hi[-1],
                        "fitness": a @ final})
    sec.tables.append((f"Replicator dynamics end point (t = {fmt(t[-1])}): shares with bootstrap 95% bands and "
                       "fitness (A x)_a", fin))
    sec.data.append((f"{store.name}_profiles", runs))

    # ---- claims
    if ref in strategies:
        j = j_ref
        parts, sig, pos = [], [], []
        for i, s in enumerate(strategies):
            if i == j:
                continue
            g = gain_ci(u[:, i, j], u[:, j, j], paired=True, n_boot=N_BOOT, rng=gen)
            parts.append(f"{s}: {ci_text(*g)}")
            if g[1] > 0:
                sig.append(s)
            if g[0] > TOL:
                pos.append(s)
        verdict = "holds" if not pos else ("partly" if not sig else "fails")
        sec.claims.append(Claim(
            f"{ref} is a best response to itself: no proxy gains by entering an all-{ref} population",
            verdict, "gain of a lone entrant over the incumbent's utility (paired, 95% CI): " + "; ".join(parts) + "."))
        effs = eff["efficiency"] if not eff.empty else pd.Series(dtype=float)
        if ref in effs.index:
            best = bool(effs[ref] >= effs.max() - TOL)
            sec.claims.append(Claim(
                f"A homogeneous {ref} population trades most efficiently",
                "holds" if best else "fails",
                ", ".join(f"{s} {fmt(float(v))}" for s, v in effs.sort_values(ascending=False).items()) + "."))
    scale = float(np.max(np.abs(a))) or 1.0
    sec.claims.append(Claim(
        "The replicator dynamics settle: their end point is an approximate equilibrium of the empirical game "
        "(no strategy's fitness exceeds the population mean by more than 1% of max |A|)",
        "holds" if eps <= 0.01 * scale else "fails",
        "end shares " + ", ".join(f"{s} {x:.3f}" for s, x in zip(strategies, final))
        + f"; largest fitness advantage {fmt(eps)} (max |A| = {fmt(scale)})."))
    sec.notes.append("A[a, b] is the payoff of a single a-proxy among b-proxies; the replicator dynamics assume a "
                     "proxy's fitness in a mixed population is linear in the shares (f = A x), interpolating between "
                     "those one-against-all measurements. Payoffs are utilities under Threshold payments; instances "
                     "differ in scale, so the bootstrap resamples whole instances.")
    return sec
