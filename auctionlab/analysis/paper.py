"""Report sections for the TASC paper's §6 (Figs. 8–11) and the ICE convergence run.

Each builder draws the figure in the paper's layout from the stored tables, tabulates the
numbers behind it, and checks the paper's qualitative statements against them. The tests
behind each verdict are fixed here, before looking at any particular result:

- "profit < 1": the largest mean profit over (algorithm, m) is below 1;
- "profit falls with m": the least-squares slope of per-instance profit on m has its whole
  95% CI below 0 (reported separately over m < n and m ≥ n);
- "mostly zero profit": more than half of the instances have profit exactly 0;
- "degradation independent of m": the fitted change over the m range is within ±20% of
  the mean degradation;
- "degradation falls with Vmax": mean degradation strictly decreases from level to level
  and the slope's 95% CI is below 0;
- "runtime grows with m": slope CI above 0; "MM flattens once m ≥ n": the slope of the
  mean runtime for m ≥ n is below a third of its slope for m ≤ n;
- Fig. 8 "no gain from misreporting": in every (instance, algorithm, role, true value)
  the truthful report is a best response on the swept reports.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from auctionlab.analysis.metrics import fmt, group_mean_ci, trend
from auctionlab.analysis.plots import COLORS, MARKERS, RULE_STYLE, band, label, new_figure, save
from auctionlab.analysis.sections import SECTIONS, Claim, Figure, Section, claim_verdict, settings_of
from auctionlab.experiments.store import ResultStore

FLAT_TOLERANCE = 0.20  # "independent of m": fitted change within ±20 % of the mean
FLATTEN_RATIO = 1 / 3  # "flattens": slope after m = n below a third of the slope before
PANEL = "abcdefghijkl"


def _order(values, preferred) -> list:
    vals = list(dict.fromkeys(values))
    return [v for v in preferred if v in vals] + [v for v in vals if v not in preferred]


def _pm(mean: float, half: float) -> str:
    return f"{fmt(mean)} ± {fmt(half, 2)}" if np.isfinite(half) else fmt(mean)


def _pivot(s: pd.DataFrame, index: str, columns: list[str]) -> pd.DataFrame:
    """A readable 'mean ± half-width' table: rows ``index``, one column per ``columns`` combination."""
    s = s.copy()
    s["cell"] = [_pm(m, h) for m, h in zip(s["mean"], s["half_width"])]
    s["col"] = s[columns].astype(str).agg(" / ".join, axis=1) if len(columns) > 1 else s[columns[0]].map(label)
    t = s.pivot(index=index, columns="col", values="cell")
    return t.reset_index()


def _algorithms(spec, df) -> list[str]:
    return _order(df["algorithm"].unique(), spec.params.get("algorithms", ["mwm", "ora", "mm"]))


def _rules(spec, df) -> list[str]:
    return _order(df["rule"].unique(), ["tasc", "trade_reduction"])


# ---------------------------------------------------------------------- Fig. 8
def truthfulness_section(store: ResultStore, figdir: Path) -> Section:
    spec = store.spec
    runs, agents = store.table("runs"), store.table("agents")
    sec = Section(store.name, "Fig. 8 — truthfulness: utility vs own report", spec.description, settings_of(store))
    if runs.empty or agents.empty:
        sec.notes.append("No runs are stored yet.")
        return sec
    algs, rules = _algorithms(spec, runs), _rules(spec, runs)
    curves = group_mean_ci(agents, ["algorithm", "rule", "role", "true_value", "report"], "utility")
    fig, axes = new_figure(2, len(algs), width=4.0, height=3.1)
    tones = ["#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd"]
    for r, role in enumerate(["buyer", "seller"]):
        truths = sorted(curves.loc[curves["role"] == role, "true_value"].unique())
        for c, alg in enumerate(algs):
            ax = axes[r][c]
            for vi, v in enumerate(truths):
                for rule in rules:
                    sub = curves[(curves["algorithm"] == alg) & (curves["rule"] == rule) & (curves["role"] == role)
                                 & (curves["true_value"] == v)]
                    sym = "V" if role == "buyer" else "C"
                    band(ax, sub, "report", color=tones[vi % 4], linestyle=RULE_STYLE.get(rule, "-"),
                         name=f"{sym} = {v:g}, {label(rule)}")
                ax.axvline(v, color=tones[vi % 4], linestyle=":", linewidth=1)
            ax.set_title(f"({PANEL[r * len(algs) + c]}) {role}, {label(alg)}", fontsize=10)
            ax.set_xlabel("bid on assigned relay" if role == "buyer" else "ask")
            ax.set_ylabel("utility (mean, 95% CI)")
            if c == 0:
                ax.legend(fontsize=7)
    png, svg = save(fig, figdir, store.name)
    n_inst = runs["run_id"].nunique()
    sec.figures.append(Figure(store.name, (
        f"Utility of a random buyer (a–{PANEL[len(algs) - 1]}) and seller ({PANEL[len(algs)]}–"
        f"{PANEL[2 * len(algs) - 1]}) against its own report, every other report truthful, mean over "
        f"{n_inst} random instances (n = {int(runs['n'].iloc[0])}, m = {int(runs['m'].iloc[0])}) with 95% "
        "bands. Dotted lines: true values. Solid: TASC as written; dashed: trade reduction."), png, svg))

    summary = (runs.groupby(["rule", "algorithm", "role", "true_value"], sort=False)
               .agg(cases=("gain", "size"), truth_best_share=("peaks_at_truth", "mean"),
                    violations=("peaks_at_truth", lambda s: int((~s.astype(bool)).sum())),
                    max_gain=("gain", "max"), mean_truthful_utility=("truthful_utility", "mean"),
                    mean_best_utility=("best_utility", "mean"))
               .reset_index())
    sec.tables.append(("Is the truthful report a best response? Per rule, algorithm, role and true value "
                       "(cases = instances; gain = best swept utility − truthful utility)", summary))
    sec.data.append(("fig8_curves", curves))

    for rule in rules:
        sub = runs[runs["rule"] == rule]
        bad = sub[~sub["peaks_at_truth"].astype(bool)]
        by_role = ", ".join(f"{role}s {int((bad['role'] == role).sum())}/{int((sub['role'] == role).sum())}"
                            for role in ("buyer", "seller"))
        # does the *mean* curve peak at the truth?
        cs = curves[curves["rule"] == rule]
        peaks = 0
        lines = 0
        for _, g in cs.groupby(["algorithm", "role", "true_value"]):
            lines += 1
            v = g["true_value"].iloc[0]
            u_true = g.loc[g["report"] == v, "mean"].max()
            peaks += bool(g["mean"].max() <= u_true + 1e-12)
        evidence = (f"{len(sub) - len(bad)} of {len(sub)} cases ({(1 - len(bad) / max(len(sub), 1)):.1%}) have no "
                    f"profitable deviation on the sweep (violations: {by_role}); largest gain "
                    f"{fmt(float(sub['gain'].max()))}; mean curves peaking at the true value: {peaks} of {lines}.")
        if rule == "tasc":
            statement = ("No buyer or seller can raise its utility by reporting other than its true value, "
                         "for either true value and every assignment algorithm (Fig. 8, TASC)")
            if len(bad):
                evidence += (" TASC as written is manipulable: the choice between the two boundary "
                             "pairs depends on reports.")
        else:
            statement = f"Same test for the {label(rule)} variant (not in the paper)"
        sec.claims.append(Claim(statement, claim_verdict(len(bad) == 0, partly=peaks == lines), evidence))
    return sec


# ---------------------------------------------------------------------- Fig. 9
def profit_section(store: ResultStore, figdir: Path) -> Section:
    spec = store.spec
    runs = store.table("runs")
    sec = Section(store.name, "Fig. 9 — auctioneer's profit vs m", spec.description, settings_of(store))
    if runs.empty:
        sec.notes.append("No runs are stored yet.")
        return sec
    algs, rules = _algorithms(spec, runs), _rules(spec, runs)
    s = group_mean_ci(runs, ["rule", "algorithm", "m"], "profit")
    fig, axes = new_figure(1, len(rules), width=4.6)
    for ax, rule in zip(axes[0], rules):
        for alg in algs:
            band(ax, s[(s["rule"] == rule) & (s["algorithm"] == alg)], "m", color=COLORS.get(alg),
                 marker=MARKERS.get(alg), name=label(alg))
        ax.set_title(f"({PANEL[rules.index(rule)]}) {label(rule)}" + (" (paper's Fig. 9)" if rule == "tasc" else ""),
                     fontsize=10)
        ax.set_xlabel("number of relays m")
        ax.set_ylabel("profit (mean, 95% CI)")
        ax.legend(fontsize=8)
    png, svg = save(fig, figdir, store.name)
    reps = spec.replications
    sec.figures.append(Figure(store.name, (
        f"Auctioneer's profit vs m, n = {int(runs['n'].iloc[0])}, {reps} instances per point, mean with 95% "
        "bands. (a) TASC as written (the paper's figure); (b) the truthful trade-reduction rule for comparison."),
        png, svg))
    zero = group_mean_ci(runs.assign(zero=runs["zero_profit"].astype(float)), ["rule", "algorithm", "m"], "zero")
    t = _pivot(s, "m", ["rule", "algorithm"])
    sec.tables.append(("Mean profit ± 95% CI half-width per m (columns: rule / algorithm)", t))
    zt = zero.pivot_table(index="m", columns=["rule", "algorithm"], values="mean").round(4)
    zt.columns = [" / ".join(map(str, c)) for c in zt.columns]
    sec.tables.append(("Share of instances with profit exactly 0", zt.reset_index()))
    sec.data.append(("fig9_profit", s))

    tasc = runs[runs["rule"] == "tasc"]
    st = s[s["rule"] == "tasc"]
    if not tasc.empty:
        top = st.loc[st["mean"].idxmax()]
        sec.claims.append(Claim(
            "Profit is small: below 1 for all three assignment algorithms (Fig. 9)",
            claim_verdict(bool(st["mean"].max() < 1)),
            f"largest mean profit {fmt(top['mean'])} (95% CI up to {fmt(top['ci_high'])}) for {label(top['algorithm'])}"
            f" at m = {int(top['m'])}; means range {fmt(st['mean'].min())} to {fmt(st['mean'].max())}."))
        n = int(tasc["n"].iloc[0])
        parts, all_down, any_down, flat_after = [], True, False, []
        for alg in algs:
            a = tasc[tasc["algorithm"] == alg]
            tr = trend(a["m"], a["profit"])
            after = a[a["m"] >= n]
            tra = trend(after["m"], after["profit"])
            all_down &= tr.decreasing
            any_down |= tr.decreasing
            if not tra.decreasing:
                flat_after.append(label(alg))
            ends = st[st["algorithm"] == alg].sort_values("m")
            parts.append(f"{label(alg)}: {fmt(ends['mean'].iloc[0])} at m = {int(ends['m'].iloc[0])} → "
                         f"{fmt(ends['mean'].iloc[-1])} at m = {int(ends['m'].iloc[-1])}, slope "
                         f"{fmt(tr.slope * 10)} per 10 relays (95% CI {fmt(tr.ci_low * 10)} to {fmt(tr.ci_high * 10)}); "
                         f"for m ≥ n: {fmt(tra.slope * 10)} ({fmt(tra.ci_low * 10)} to {fmt(tra.ci_high * 10)})")
        verdict = "agrees" if all_down and not flat_after else ("partly" if any_down else "disagrees")
        ev = "; ".join(parts) + "."
        if all_down and flat_after:
            ev += f" The fall happens for m < n; for m ≥ n it is not significant ({', '.join(flat_after)})."
        sec.claims.append(Claim("Profit decreases as the number of sellers m grows (Fig. 9)", verdict, ev))
        zs = tasc.groupby("algorithm")["zero_profit"].mean()
        notrade = tasc.groupby("algorithm")["trades"].apply(lambda x: float((x == 0).mean()))
        sec.claims.append(Claim(
            "Profit is 0 in most instances, because P^b = P^s in most cases (§6.3)",
            claim_verdict(bool((zs > 0.5).all()), partly=bool((zs > 0.5).any())),
            "share of instances with zero profit: " + ", ".join(f"{label(a)} {zs[a]:.1%}" for a in algs)
            + "; instances with no trade at all: " + ", ".join(f"{label(a)} {notrade[a]:.1%}" for a in algs)
            + ". With bids and asks drawn from continuous distributions the boundary buyer's bid and seller's "
              "ask coincide with probability 0, so P^b > P^s whenever anyone trades."))
    return sec


# ---------------------------------------------------------------------- Fig. 10
def efficiency_section(store: ResultStore, figdir: Path) -> Section:
    spec = store.spec
    runs = store.table("runs")
    sec = Section(store.name, "Fig. 10 — degradation of system efficiency vs the pure assignment",
                  spec.description, settings_of(store))
    if runs.empty:
        sec.notes.append("No runs are stored yet.")
        return sec
    sweep = np.asarray(spec.sweep_of_points())
    runs = runs.assign(sweep=sweep[runs["point"].to_numpy()])
    algs, rules = _algorithms(spec, runs), _rules(spec, runs)
    a, b = runs[runs["sweep"] == 0], runs[runs["sweep"] == 1]
    sa = group_mean_ci(a, ["rule", "algorithm", "m"], "degradation")
    sb = group_mean_ci(b, ["rule", "algorithm", "vmax"], "degradation") if not b.empty else None
    fig, axes = new_figure(1, 2 if sb is not None else 1, width=4.6)
    for rule in rules:
        for alg in algs:
            nm = f"{label(alg)}" + ("" if rule == "tasc" else f" ({label(rule)})")
            band(axes[0][0], sa[(sa["rule"] == rule) & (sa["algorithm"] == alg)], "m", color=COLORS.get(alg),
                 linestyle=RULE_STYLE.get(rule, "-"), marker=MARKERS.get(alg), name=nm)
            if sb is not None:
                band(axes[0][1], sb[(sb["rule"] == rule) & (sb["algorithm"] == alg)], "vmax", color=COLORS.get(alg),
                     linestyle=RULE_STYLE.get(rule, "-"), marker=MARKERS.get(alg), name=nm)
    axes[0][0].set_title(f"(a) vs m (Vmax = {fmt(float(a['vmax'].iloc[0]))})", fontsize=10)
    axes[0][0].set_xlabel("number of relays m")
    axes[0][0].set_ylabel("degradation (mean, 95% CI)")
    axes[0][0].legend(fontsize=7, ncol=2, loc="center", bbox_to_anchor=(0.5, 0.66), framealpha=0.9)
    if sb is not None:
        axes[0][1].set_title(f"(b) vs Vmax (m = {int(b['m'].iloc[0])})", fontsize=10)
        axes[0][1].set_xlabel("Vmax")
        axes[0][1].set_ylabel("degradation (mean, 95% CI)")
    png, svg = save(fig, figdir, store.name)
    sec.figures.append(Figure(store.name, (
        "Performance degradation of TASC relative to the pure relay assignment, 1 − (efficiency with TASC) / "
        "(efficiency of the assignment alone), measured in what each algorithm optimises: total capacity "
        "(MWM), number of relayed sources (MM), minimum capacity over all sources (ORA). Losers of the auction "
        f"fall back to direct transmission. n = {int(runs['n'].iloc[0])}, {spec.replications} instances per point; "
        "solid: TASC as written, dashed: trade reduction."), png, svg))
    sec.tables.append(("(a) mean degradation ± 95% CI half-width per m (columns: rule / algorithm)",
                       _pivot(sa, "m", ["rule", "algorithm"])))
    if sb is not None:
        sec.tables.append(("(b) mean degradation ± 95% CI half-width per Vmax", _pivot(sb, "vmax", ["rule", "algorithm"])))
    other = []
    for col in ("degradation_capacity", "degradation_trades", "degradation_min_capacity", "degradation_gain"):
        s = group_mean_ci(a[a["rule"] == "tasc"], ["algorithm"], col)
        s.insert(0, "measure", col)
        other.append(s)
    sec.tables.append(("Every efficiency measure for every algorithm (TASC, sweep (a), all m pooled); "
                       "degradation_gain is the loss in capacity *gain* over direct transmission",
                       pd.concat(other, ignore_index=True)))
    sec.data.append(("fig10a_degradation", sa))
    if sb is not None:
        sec.data.append(("fig10b_degradation", sb))

    ta, tb = a[a["rule"] == "tasc"], b[b["rule"] == "tasc"]
    parts, flat_all, flat_any = [], True, False
    for alg in [x for x in algs if x in ("mwm", "mm")] or algs:
        d = ta[ta["algorithm"] == alg]
        tr = trend(d["m"], d["degradation"])
        mean = float(d["degradation"].mean())
        change = tr.slope * float(d["m"].max() - d["m"].min())
        rel = change / mean if mean else np.nan
        flat = bool(abs(rel) <= FLAT_TOLERANCE)
        flat_all &= flat
        flat_any |= flat
        ends = sa[(sa["rule"] == "tasc") & (sa["algorithm"] == alg)].sort_values("m")
        parts.append(f"{label(alg)}: {fmt(ends['mean'].iloc[0])} at m = {int(ends['m'].iloc[0])}, "
                     f"{fmt(ends['mean'].iloc[-1])} at m = {int(ends['m'].iloc[-1])}; fitted change over the range "
                     f"{fmt(change)} = {rel:+.0%} of the mean {fmt(mean)}")
    sec.claims.append(Claim(
        "(a) For both MWM and MM the degradation does not depend on the number of sellers m (Fig. 10(a))",
        claim_verdict(flat_all, partly=flat_any),
        "; ".join(parts) + f" (flat = within ±{FLAT_TOLERANCE:.0%})."))
    if "ora" in algs:
        d = ta[ta["algorithm"] == "ora"]
        same = float((d["degradation_min_capacity"].abs() <= 1e-12).mean())
        mean = float(d["degradation_min_capacity"].mean())
        sec.claims.append(Claim(
            "With ORA and the minimum capacity as the efficiency measure, TASC does not degrade performance (§6.4)",
            claim_verdict(same >= 0.99, partly=same >= 0.5),
            f"the minimum capacity is unchanged in {same:.1%} of instances; mean degradation {fmt(mean)} "
            f"(95% CI {fmt(group_mean_ci(d.assign(_a=0), ['_a'], 'degradation_min_capacity')['ci_low'].iloc[0])} to "
            f"{fmt(group_mean_ci(d.assign(_a=0), ['_a'], 'degradation_min_capacity')['ci_high'].iloc[0])}). "
            "Sources that lose the auction fall back to direct transmission, which can set a new minimum."))
    if not tb.empty:
        parts, ok_all = [], True
        for alg in [x for x in algs if x in ("mwm", "mm")] or algs:
            d = tb[tb["algorithm"] == alg]
            means = d.groupby("vmax")["degradation"].mean().sort_index()
            mono = bool(np.all(np.diff(means.to_numpy()) < 0))
            tr = trend(d["vmax"], d["degradation"])
            ok_all &= mono and tr.decreasing
            parts.append(f"{label(alg)}: " + ", ".join(f"{fmt(v)} at Vmax {fmt(k)}" for k, v in means.items())
                         + f" ({'strictly decreasing' if mono else 'not monotone'}; slope {fmt(tr.slope)} per unit, "
                           f"95% CI {fmt(tr.ci_low)} to {fmt(tr.ci_high)})")
        sec.claims.append(Claim("(b) The degradation decreases as Vmax grows, for MWM and MM (Fig. 10(b))",
                                claim_verdict(ok_all), "; ".join(parts) + "."))
    return sec


# ---------------------------------------------------------------------- Fig. 11
def runtime_section(store: ResultStore, figdir: Path) -> Section:
    spec = store.spec
    runs = store.table("runs")
    sec = Section(store.name, "Fig. 11 — running time of TASC vs m", spec.description, settings_of(store))
    if runs.empty:
        sec.notes.append("No runs are stored yet.")
        return sec
    runs = runs[runs["rule"] == "tasc"] if "rule" in runs else runs
    algs = _algorithms(spec, runs)
    s = group_mean_ci(runs, ["algorithm", "m"], "time_tasc_ms")
    fig, axes = new_figure(1, 2, width=4.6)
    for ax, shown, title in ((axes[0][0], algs, "(a) all algorithms"),
                             (axes[0][1], [x for x in algs if x != "mwm"], "(b) without MWM (as in the paper)")):
        for alg in shown:
            band(ax, s[s["algorithm"] == alg], "m", color=COLORS.get(alg), marker=MARKERS.get(alg), name=label(alg))
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("number of relays m")
        ax.set_ylabel("time per auction, ms (mean, 95% CI)")
        ax.legend(fontsize=8)
    png, svg = save(fig, figdir, store.name)
    n = int(runs["n"].iloc[0])
    sec.figures.append(Figure(store.name, (
        f"Running time of TASC (relay assignment + winner determination and pricing) vs m, n = {n}, "
        f"{spec.replications} instances per point, wall clock on this machine while the sweep ran "
        "(other workers busy on the same cores)."), png, svg))
    sec.tables.append(("Mean time per auction in ms ± 95% CI half-width", _pivot(s, "m", ["algorithm"])))
    split = []
    for col in ("time_assign_ms", "time_clear_ms", "time_network_ms"):
        x = group_mean_ci(runs, ["algorithm"], col)
        x.insert(0, "stage", col)
        split.append(x)
    sec.tables.append(("Where the time goes (all m pooled): assignment, clearing, and building the network "
                       "(not part of the auction)", pd.concat(split, ignore_index=True)))
    sec.data.append(("fig11_runtime", s))
    parts, grow = [], True
    for alg in [x for x in algs if x in ("mwm", "ora")]:
        d = runs[runs["algorithm"] == alg]
        tr = trend(d["m"], d["time_tasc_ms"])
        grow &= tr.increasing
        parts.append(f"{label(alg)}: slope {fmt(tr.slope * 10)} ms per 10 relays (95% CI {fmt(tr.ci_low * 10)} to "
                     f"{fmt(tr.ci_high * 10)})")
    if parts:
        sec.claims.append(Claim("For MWM and ORA the running time increases with m (Fig. 11)",
                                claim_verdict(grow), "; ".join(parts) + "."))
    if "mm" in algs:
        d = s[s["algorithm"] == "mm"].sort_values("m")
        before, after = d[d["m"] <= n], d[d["m"] >= n]
        tb = trend(before["m"], before["mean"])
        ta = trend(after["m"], after["mean"])
        ok = bool(tb.slope > 0 and ta.slope < FLATTEN_RATIO * tb.slope)
        sec.claims.append(Claim(
            "For MM the running time first increases, then levels off once m ≥ n (Fig. 11)",
            claim_verdict(ok, partly=bool(ta.slope < tb.slope)),
            f"slope of the mean for m ≤ n: {fmt(tb.slope * 10)} ms per 10 relays; for m ≥ n: {fmt(ta.slope * 10)} "
            f"(levelling off = below {FLATTEN_RATIO:.2g} of the first); mean {fmt(d['mean'].iloc[0])} ms at "
            f"m = {int(d['m'].iloc[0])}, {fmt(float(d.loc[d['m'] == n, 'mean'].iloc[0]) if (d['m'] == n).any() else np.nan)} "
            f"ms at m = n, {fmt(d['mean'].iloc[-1])} ms at m = {int(d['m'].iloc[-1])}."))
    sec.notes.append("Absolute times depend on the machine and on the load; the paper used a 2 GHz Pentium with a "
                     "different implementation, so only the shapes of the curves are comparable.")
    return sec
