"""Report sections for the relay-market strategic studies: manipulation, tournament, equilibrium.

Built from stored tables alone. Confidence intervals are percentile-bootstrap intervals
over *instances* (runs): the sampled agents of one instance are summarised first, so the
unit that is resampled is independent. Bootstrap generators are seeded from the
experiment's master seed, so a report is reproducible. Every verdict is computed by a
test fixed here in advance:

- *manipulation* — "no profitable deviation": the largest maximum gain of every sampled
  agent is ≤ ``TOL`` (1e-9); "rare" (TASC as written): some agent gains, but fewer than
  ``RARE`` = 10% of the sampled agents, pooled over algorithms and roles ("partly" when no
  gain was found at all, or when the share is above 10%); "common" (k-DA): more than
  ``COMMON`` = 50% of the sampled agents that trade under truthful reports can gain, in
  both roles; "VCG runs a deficit": profit < 0 in more than half of the instances;
  "budget balanced": profit ≥ −1e-9 in every instance; "trade reduction trades no more
  than TASC": the per-instance difference in trades is ≥ 0 everywhere.
- *tournament* — leaderboard = mean utility per agent and round in the league, CI over
  runs; "best response ≥ truthful under k-DA": point estimates in both roles; "nobody
  beats truthful against a truthful population under trade reduction": in the payoff
  matrix (paired by construction) max_a A[a, truthful] − A[truthful, truthful] ≤ ``TOL``
  in both roles; replicator claims compare the final share with the initial 1/k.
  Replicator dynamics run on A / max|A| (a positive rescaling only changes time), with
  bands from bootstrap resamples of the runs.
- *equilibrium* — "truthful is an equilibrium against unilateral deviations": the
  unilateral regret of (1, 1) is ≤ ``TOL``; "not an equilibrium": its bootstrap CI lies
  above 0; "solvers find an equilibrium": regret of the returned mixture below
  ``SOLVER_TOL`` = 1% of the role game's payoff range; learners "shade / inflate": mean θ
  over the last 10% of rounds < 0.95 for buyers and > 1.05 for sellers; "stay near
  truthful": within ``NEAR_TRUTH`` = 0.1 of 1 for both roles.
"""

from __future__ import annotations

from pathlib import Path
from string import ascii_lowercase

import numpy as np
import pandas as pd
from matplotlib.colors import to_hex, to_rgb

from auctionlab.analysis.games import SOLVERS, EmpiricalGame, pure_equilibria, replicator_trajectory, solve
from auctionlab.analysis.metrics import fmt, group_mean_ci
from auctionlab.analysis.plots import band, new_figure, save
from auctionlab.analysis.sections import (
    SECTIONS, Claim, Figure, Section, analysis_rng, ci_text, empty_section, settings_of
)
from auctionlab.analysis.stats import bootstrap_table, resample_means
from auctionlab.errors import ConfigError
from auctionlab.experiments.store import ResultStore
from auctionlab.market.relay.assignment import ASSIGNMENT_ALGORITHMS
from auctionlab.market.relay.mechanisms import (
    KDA,
    MECHANISMS,
    TASC,
    VCG,
    McAfee,
    McAfeeHomogeneous,
    RelayMechanism,
    TradeReduction,
    mechanism_class,
)

TOL = 1e-9
RARE = 0.10
COMMON = 0.50
SOLVER_TOL = 0.01
NEAR_TRUTH = 0.10
N_BOOT = 1000
ANALYSIS_STREAM = 1_000_007  # spawn key of the report's bootstrap generator (apart from any run's)
REPLICATOR_STEPS, REPLICATOR_DT, REPLICATOR_BOOT = 1000, 0.2, 30
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
           "#17becf")
ALG_STYLE = {"mwm": "-", "mm": "--", "ora": ":", "-": "-"}


# ---------------------------------------------------------------------- what the mechanism objects say
def mechanism_of(name: str) -> type[RelayMechanism] | None:
    """The registered class of a stored mechanism name (None: a plain callable, or a name
    not registered in this process)."""
    return mechanism_class(name) if name in MECHANISMS else None


def mech_label(name: str) -> str:
    cls = mechanism_of(name)
    return cls.label if cls is not None else name


def mech_color(name: str) -> str:
    """The mechanism's own colour, else a palette entry fixed by its place in the registry."""
    cls = mechanism_of(name)
    if cls is not None and cls.color:
        return cls.color
    names = list(MECHANISMS)
    return PALETTE[(names.index(name) if name in names else len(names)) % len(PALETTE)]


def mech_order(names) -> list[str]:
    """Mechanism names in the order the study ran them (first appearance in the stored
    runs, i.e. the spec's order): the report follows the spec, with no list of names here."""
    return list(dict.fromkeys(names))


def _has(name: str, prop: str) -> bool:
    cls = mechanism_of(name)
    return bool(cls is not None and getattr(cls, prop))


def _split(variant: str) -> tuple[str, str]:
    mech, _, alg = variant.partition("/")
    return mech, alg


def variant_order(variants) -> list[str]:
    """Variants grouped by mechanism (in :func:`mech_order`), each mechanism's algorithms in
    the order they were run."""
    variants = list(dict.fromkeys(variants))
    ranks = {m: i for i, m in enumerate(mech_order(_split(v)[0] for v in variants))}
    return sorted(variants, key=lambda v: ranks[_split(v)[0]])  # stable: run order within a mechanism


def _vcolor(variant: str) -> str:
    """One hue per mechanism, a lighter / darker shade for the second / third assignment algorithm."""
    mech, alg = _split(variant)
    base = np.array(to_rgb(mech_color(mech)))
    algs = list(ASSIGNMENT_ALGORITHMS)
    k = algs.index(alg) if alg in algs else 0
    if k == 0:
        return to_hex(base)
    return to_hex(base + (1 - base) * 0.5 if k % 2 else base * 0.45)


def _vlabel(variant: str) -> str:
    mech, alg = _split(variant)
    return mech_label(mech) + (f" / {alg.upper()}" if alg else "")


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _and(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def _panel(i: int) -> str:
    """Panel letter i: a, b, ..., z, aa, bb, ..."""
    return ascii_lowercase[i % 26] * (i // 26 + 1)


def _order(values, preferred) -> list:
    vals = list(dict.fromkeys(values))
    return [v for v in preferred if v in vals] + sorted(v for v in vals if v not in preferred)


def _boot(df: pd.DataFrame, value: str, by: list[str], gen: np.random.Generator, n_boot: int = N_BOOT) -> pd.DataFrame:
    """bootstrap_table on the finite values only (NaN = not applicable in that run)."""
    d = df[np.isfinite(df[value].astype(float))]
    if d.empty:
        return pd.DataFrame(columns=[*by, "estimate", "lo", "hi", "n"])
    keys = {k: f"_key_{k}" for k in by}  # a group key named "n" would clash with the count column
    d = d[[*by, value]].rename(columns=keys).assign(**{value: d[value].astype(float)})
    out = bootstrap_table(d, value, list(keys.values()), rng=gen, n_boot=n_boot)
    out = out.rename(columns={"n": "count"}).rename(columns={v: k for k, v in keys.items()})
    return out.rename(columns={"count": "n"}) if "n" not in by else out


# ====================================================================== manipulation
def per_instance_gains(runs: pd.DataFrame, agents: pd.DataFrame) -> pd.DataFrame:
    """One row per (run, variant, role): share of sampled agents with a profitable deviation,
    the same among agents that trade under truthful reports, mean and largest maximum gain,
    with the run's n, m, Vmax."""
    a = agents.copy()
    a["trader_profitable"] = np.where(a["trades_truthfully"].astype(bool), a["profitable"].astype(float), np.nan)
    g = (a.groupby(["run_id", "variant", "mechanism", "algorithm", "role"], sort=False)
         .agg(agents=("max_gain", "size"), share_profitable=("profitable", "mean"),
              trader_share=("trader_profitable", "mean"), traders=("trades_truthfully", "sum"),
              mean_gain=("max_gain", "mean"), max_gain=("max_gain", "max"))
         .reset_index())
    keys = runs[["run_id", "n", "m", "vmax"]].drop_duplicates("run_id")
    g["share_profitable"] = g["share_profitable"].astype(float)
    return g.merge(keys, on="run_id", how="left")


def price_of_truthfulness(runs: pd.DataFrame) -> pd.DataFrame:
    """Per run and algorithm: what trade reduction gives up against TASC as written
    (trades, welfare share, capacity-gain share; positive = TASC as written has more)."""
    t = runs[runs["mechanism"] == TASC.name].set_index(["run_id", "algorithm"])
    r = runs[runs["mechanism"] == TradeReduction.name].set_index(["run_id", "algorithm"])
    common = t.index.intersection(r.index)
    if common.empty:
        return pd.DataFrame()
    t, r = t.loc[common], r.loc[common]
    out = pd.DataFrame({
        "trades_tasc": t["trades"].astype(float), "trades_tr": r["trades"].astype(float),
        "delta_trades": t["trades"].astype(float) - r["trades"].astype(float),
        "delta_welfare_share": t["welfare_share"] - r["welfare_share"],
        "delta_capacity_gain_share": t["capacity_gain_share"] - r["capacity_gain_share"],
        "n": t["n"], "m": t["m"], "vmax": t["vmax"],
    }).reset_index()
    out["differs"] = (out["delta_trades"] != 0).astype(float)
    return out


def _slices(points: pd.DataFrame) -> list[tuple[str, dict]]:
    """Which one-dimensional cuts of the (n, m, Vmax) grid to plot, as (x key, fixed values):
    the diagonal n = m when it has several points (x = "n", fixed Vmax), then m with n fixed,
    then Vmax with n and m fixed — each the cut with most x values; ties go to the cut whose
    fixed values are closest to the middle of the grid."""
    mid = {k: float(np.median(points[k].unique())) for k in ("n", "m", "vmax")}

    def best_cut(df: pd.DataFrame, x: str, others: list[str]):
        best = None
        for fixed, g in df.groupby(others):
            fixed = fixed if isinstance(fixed, tuple) else (fixed,)
            nx = g[x].nunique()
            off = sum(abs(float(v) - mid[k]) / (mid[k] or 1.0) for k, v in zip(others, fixed))
            score = (nx, -off)
            if nx > 1 and (best is None or score > best[0]):
                best = (score, dict(zip(others, fixed)))
        return None if best is None else best[1]

    out = []
    diag = points[points["n"] == points["m"]]
    cut = best_cut(diag, "n", ["vmax"])
    if cut is not None:
        out.append(("n", {**cut, "m": "n"}))
    else:
        cut = best_cut(points, "n", ["m", "vmax"])
        if cut is not None:
            out.append(("n", cut))
    for x in ("m", "vmax"):
        others = [k for k in ("n", "m", "vmax") if k != x]
        cut = best_cut(points, x, others)
        if cut is not None:
            out.append((x, cut))
    return out


def manipulation_section(store: ResultStore, figdir: Path) -> Section:
    spec = store.spec
    runs, agents = store.table("runs"), store.table("agents")
    sec = Section(store.name, "Manipulating relay double auctions: TASC, trade reduction, k-DA, VCG, McAfee",
                  spec.description, settings_of(store))
    if runs.empty or agents.empty:
        return empty_section(sec)
    gen = analysis_rng(store, ANALYSIS_STREAM)
    variants = variant_order(runs["variant"].unique())
    inst = per_instance_gains(runs, agents)
    n_inst = runs["run_id"].nunique()

    # ---------------- summary table: how often, how much
    share = _boot(inst, "share_profitable", ["variant", "role"], gen)
    trader = _boot(inst, "trader_share", ["variant", "role"], gen)
    gain = _boot(inst, "mean_gain", ["variant", "role"], gen)
    pooled = (agents.groupby(["variant", "role"])
              .agg(agents=("max_gain", "size"), profitable=("profitable", "sum"), largest_gain=("max_gain", "max"),
                   relevant=("relevant", "mean"))
              .reset_index())
    any_inst = ((inst.groupby(["run_id", "variant", "role"])["share_profitable"].max() > 0)
                .groupby(["variant", "role"]).mean().rename("instances_with_a_gain").reset_index())
    summary = pooled.merge(share[["variant", "role", "estimate", "lo", "hi"]], on=["variant", "role"], how="left")
    summary = summary.rename(columns={"estimate": "share_profitable", "lo": "share_lo", "hi": "share_hi"})
    summary = summary.merge(trader[["variant", "role", "estimate", "lo", "hi"]].rename(
        columns={"estimate": "share_of_traders", "lo": "traders_lo", "hi": "traders_hi"}), on=["variant", "role"],
        how="left")
    summary = summary.merge(gain[["variant", "role", "estimate", "lo", "hi"]].rename(
        columns={"estimate": "mean_max_gain", "lo": "gain_lo", "hi": "gain_hi"}), on=["variant", "role"], how="left")
    summary = summary.merge(any_inst, on=["variant", "role"], how="left")
    summary["variant"] = pd.Categorical(summary["variant"], variants, ordered=True)
    summary = summary.sort_values(["variant", "role"]).reset_index(drop=True)
    summary["variant"] = summary["variant"].astype(str)
    sec.tables.append((
        "How often and how much one agent can gain by deviating, every other report truthful (per variant and role; "
        "share_profitable = share of sampled agents whose best response gains > 1e-9, share_of_traders = the same "
        "among agents that trade under truthful reports, mean_max_gain = mean maximum gain over sampled agents; "
        "[lo, hi] = 95% bootstrap CI over instances; instances_with_a_gain counts sampled agents only, a lower bound)",
        summary))

    # ---------------- efficiency table
    eff_rows = []
    for v in variants:
        d = runs[runs["variant"] == v]
        pr = _boot(d.assign(_a=0), "profit", ["_a"], gen)
        eff_rows.append({
            "variant": v, "trades": float(d["trades"].mean()), "welfare_share": float(d["welfare_share"].mean()),
            "capacity_gain_share": float(d["capacity_gain_share"].mean()),
            "profit": float(pr["estimate"].iloc[0]), "profit_lo": float(pr["lo"].iloc[0]),
            "profit_hi": float(pr["hi"].iloc[0]), "deficit_share": float((d["profit"] < -1e-9).mean()),
            "mean_deficit": float(d["deficit"].mean()), "ir_violations_per_instance": float(d["ir_violations"].mean()),
            "time_ms": float(d["time_ms"].mean()),
        })
    eff = pd.DataFrame(eff_rows)
    sec.tables.append((
        "Efficiency, profit and deficit under truthful reports, per variant (means over instances; welfare_share = "
        "true surplus / optimal surplus over useful pairs; capacity_gain_share = capacity gained over direct "
        "transmission / that of the pure MWM assignment; profit CI by bootstrap; time_ms includes the best-response "
        "searches)", eff))

    # ---------------- price of truthfulness
    pot = price_of_truthfulness(runs)
    if not pot.empty:
        prow = []
        for alg, d in pot.groupby("algorithm", sort=False):
            row = {"algorithm": alg, "trades_tasc": float(d["trades_tasc"].mean()), "trades_tr": float(d["trades_tr"].mean())}
            for col in ("delta_trades", "delta_welfare_share", "delta_capacity_gain_share", "differs"):
                b = _boot(d.assign(_a=0), col, ["_a"], gen)
                if len(b):
                    row[col] = float(b["estimate"].iloc[0])
                    row[f"{col}_ci"] = f"[{fmt(float(b['lo'].iloc[0]))}, {fmt(float(b['hi'].iloc[0]))}]"
            row["min_delta_trades"] = float(d["delta_trades"].min())
            prow.append(row)
        sec.tables.append((
            "The price of truthfulness: what trade reduction gives up against TASC as written on the same instances "
            "(TASC − trade reduction; differs = share of instances where the number of trades differs)",
            pd.DataFrame(prow)))

    # ---------------- grid table
    grid = (inst.groupby(["n", "m", "vmax", "variant", "role"])["share_profitable"].mean().unstack("role")
            .reset_index())
    grid["variant"] = pd.Categorical(grid["variant"], variants, ordered=True)
    grid = grid.sort_values(["variant", "n", "m", "vmax"]).reset_index(drop=True)
    grid["variant"] = grid["variant"].astype(str)
    sec.data.append(("relay_manipulation_grid", grid))
    sec.data.append(("relay_manipulation_instances", inst))

    # ---------------- figure 1: how often / how much, per variant
    fig, axes = new_figure(1, 2, width=6.2, height=3.6)
    x = np.arange(len(variants))
    for k, role in enumerate(("buyer", "seller")):
        s = summary[summary["role"] == role].set_index("variant").reindex(variants)
        ax = axes[0][0]
        ax.bar(x + (k - 0.5) * 0.38, s["share_profitable"], 0.38, label=f"{role}s",
               yerr=[s["share_profitable"] - s["share_lo"], s["share_hi"] - s["share_profitable"]],
               color=("#1f77b4", "#ff7f0e")[k], capsize=2)
        ax = axes[0][1]
        ax.bar(x + (k - 0.5) * 0.38, s["mean_max_gain"], 0.38, label=f"{role}s",
               yerr=[s["mean_max_gain"] - s["gain_lo"], s["gain_hi"] - s["mean_max_gain"]],
               color=("#1f77b4", "#ff7f0e")[k], capsize=2)
    for ax, title in ((axes[0][0], "(a) share of agents with a profitable deviation"),
                      (axes[0][1], "(b) mean maximum manipulation gain")):
        ax.set_xticks(x, [_vlabel(v) for v in variants], rotation=60, ha="right", fontsize=7)
        ax.set_title(title, fontsize=10)
        ax.legend(fontsize=8)
    png, svg = save(fig, figdir, f"{store.name}-frequency")
    sec.figures.append(Figure(f"{store.name}-frequency", (
        f"Best responses (others truthful) of sampled buyers and sellers on {n_inst} random instances, pooled over the "
        "grid; bars = mean over instances, whiskers = 95% bootstrap CI. Trade reduction, VCG and McAfee in the "
        "homogeneous market it is built for should show nothing; TASC as written a little; the k-double auction a lot."),
        png, svg))

    # ---------------- figure 2: distribution of positive gains
    pos = agents[agents["profitable"].astype(bool)]
    if not pos.empty:
        fig, axes = new_figure(1, 2, width=4.6, height=3.4)
        for ax, role in zip(axes[0], ("buyer", "seller")):
            for v in variants:
                g = np.sort(pos.loc[(pos["variant"] == v) & (pos["role"] == role), "max_gain"].to_numpy())
                if g.size == 0:
                    continue
                mech, _, alg = v.partition("/")
                tot = int(((agents["variant"] == v) & (agents["role"] == role)).sum())
                ax.step(g, np.arange(1, g.size + 1) / tot, where="post", color=_vcolor(v),
                        linestyle=ALG_STYLE.get(alg or "-", "-"), label=_vlabel(v))
            ax.set_xscale("log")
            ax.set_xlabel("maximum manipulation gain (log)")
            ax.set_ylabel("share of sampled agents with gain ≤ x")
            ax.set_title(f"({'ab'[role == 'seller']}) {role}s, profitable deviations only", fontsize=10)
            ax.legend(fontsize=6)
        png, svg = save(fig, figdir, f"{store.name}-gains")
        sec.figures.append(Figure(f"{store.name}-gains", (
            "Distribution of the maximum manipulation gain among agents that have a profitable deviation "
            "(cumulative count divided by all sampled agents of the variant, so each curve ends at the share with a "
            "gain). Gains are in the units of values (Vmax) and costs."), png, svg))

    # ---------------- figure 3: how the answers move with n, m, Vmax
    points = runs.groupby(["n", "m", "vmax"])["run_id"].nunique().rename("runs").reset_index()
    slices = _slices(points)
    shown = [v for v in variants if not _has(_split(v)[0], "truthful")]  # truthful ones are 0 everywhere
    if slices:
        fig, axes = new_figure(2, len(slices), width=4.2, height=3.2)
        for c, (xkey, fixed) in enumerate(slices):
            sub = inst
            for k2, v2 in fixed.items():
                sub = sub[sub[k2] == (sub["n"] if v2 == "n" else v2)]
            for r, role in enumerate(("buyer", "seller")):
                ax = axes[r][c]
                for v in shown:
                    d = sub[(sub["variant"] == v) & (sub["role"] == role)]
                    if d.empty:
                        continue
                    s = _boot(d, "share_profitable", [xkey], gen, n_boot=300).rename(
                        columns={"estimate": "mean", "lo": "ci_low", "hi": "ci_high"})
                    mech, _, alg = v.partition("/")
                    band(ax, s, xkey, color=_vcolor(v), linestyle=ALG_STYLE.get(alg or "-", "-"),
                         marker="o", name=_vlabel(v))
                fx = ", ".join(f"{k2} = {v2 if isinstance(v2, str) else fmt(float(v2))}" for k2, v2 in fixed.items())
                ax.set_title(f"({_panel(r * len(slices) + c)}) {role}s vs {xkey} ({fx})", fontsize=9)
                ax.set_xlabel(xkey)
                ax.set_ylabel("share with a profitable deviation")
                if c == 0 and r == 0:
                    ax.legend(fontsize=6)
        png, svg = save(fig, figdir, f"{store.name}-grid")
        sec.figures.append(Figure(f"{store.name}-grid", (
            "How the share of agents with a profitable deviation moves with n, m and Vmax (the other two fixed as "
            "shown); mean over instances with 95% bootstrap bands. Mechanisms declared truthful ("
            + _and([mech_label(m) for m in mech_order(_split(v)[0] for v in variants) if _has(m, "truthful")] or ["none"])
            + ") should be 0 everywhere and are not drawn."), png, svg))

    # ---------------- figure 4: efficiency and the price of truthfulness
    fig, axes = new_figure(1, 3, width=4.0, height=3.6)
    e = eff.set_index("variant").reindex(variants)
    cols = [mech_color(_split(v)[0]) for v in variants]
    axes[0][0].bar(x, e["welfare_share"], color=cols)
    axes[0][0].set_title("(a) welfare / optimal welfare", fontsize=10)
    axes[0][1].bar(x, e["profit"], yerr=[e["profit"] - e["profit_lo"], e["profit_hi"] - e["profit"]], color=cols,
                   capsize=2)
    axes[0][1].axhline(0, color="black", linewidth=0.8)
    axes[0][1].set_title("(b) auctioneer's profit (< 0: deficit)", fontsize=10)
    for ax in axes[0][:2]:
        ax.set_xticks(x, [_vlabel(v) for v in variants], rotation=60, ha="right", fontsize=7)
    ax = axes[0][2]
    if not pot.empty:
        pts = pot.groupby(["algorithm", "n", "m"])["delta_trades"].mean().reset_index()
        for alg, d in pts.groupby("algorithm"):
            d = d[d["n"] == d["m"]] if (d["n"] == d["m"]).sum() > 1 else d
            d = d.sort_values("n")
            ax.plot(d["n"], d["delta_trades"], marker="o", linestyle=ALG_STYLE.get(alg, "-"), label=alg.upper())
        ax.set_xlabel("n (= m where available)")
        ax.set_ylabel("trades: TASC − trade reduction")
        ax.legend(fontsize=8)
    ax.set_title("(c) price of truthfulness", fontsize=10)
    png, svg = save(fig, figdir, f"{store.name}-efficiency")
    sec.figures.append(Figure(f"{store.name}-efficiency", (
        "Truthful outcomes on the same instances: (a) welfare relative to the efficient matching of useful pairs, "
        "(b) profit with 95% bootstrap CI (VCG runs a deficit), (c) the trades trade reduction gives up against TASC "
        "as written, per assignment algorithm."), png, svg))

    # ---------------- claims: by the properties the mechanism objects declare, and about named ones
    present = mech_order(runs["mechanism"].unique())

    def of(cls: type[RelayMechanism]) -> pd.DataFrame:
        return agents[agents["mechanism"] == cls.name]

    for mech in (m for m in present if _has(m, "truthful")):
        d = agents[agents["mechanism"] == mech]
        if d.empty:
            continue
        algs = [a.upper() for a in dict.fromkeys(d["algorithm"]) if a != "-"]
        top = float(d["max_gain"].max())
        by = ", ".join(f"{role}s {int((d['role'] == role).sum())}" for role in ("buyer", "seller"))
        sec.claims.append(Claim(
            f"{_cap(mech_label(mech))}: no agent gains by deviating{', for ' + _and(algs) if algs else ''} "
            "(max gain ≤ 1e-9; the mechanism is declared truthful)", "holds" if top <= TOL else "fails",
            f"{len(d)} best-response searches ({by}) on {d['run_id'].nunique()} instances; "
            f"largest gain {fmt(top)}; profitable in {int(d['profitable'].sum())}."))
    t = of(TASC)
    if not t.empty:
        rate = float(t["profitable"].mean())
        per = ", ".join(
            f"{_vlabel(v)}: " + "; ".join(
                f"{r['role']}s {ci_text(r['share_profitable'], r['share_lo'], r['share_hi'])}"
                for _, r in summary[summary["variant"] == v].iterrows())
            for v in variants if _split(v)[0] == TASC.name)
        verdict = "holds" if 0 < rate < RARE else "partly"
        sec.claims.append(Claim(
            "TASC as written: profitable deviations exist but are rare (some agent gains; < 10% of agents)",
            verdict, f"{int(t['profitable'].sum())} of {len(t)} sampled agents ({rate:.2%}) can gain; largest gain "
                     f"{fmt(float(t['max_gain'].max()))}; per variant {per}."))
    k = of(KDA)
    if not k.empty:
        tr = k[k["trades_truthfully"].astype(bool)]
        by = tr.groupby("role")["profitable"].mean()
        ok = bool(len(by) == 2 and (by > COMMON).all())
        sec.claims.append(Claim(
            "k-double auction: profitable deviations are common (more than half of the agents who trade can gain, "
            "both roles)", "holds" if ok else "fails",
            "among agents that trade under truthful reports: " + ", ".join(f"{r}s {v:.1%}" for r, v in by.items())
            + f"; among all sampled agents {float(k['profitable'].mean()):.1%}; mean maximum gain "
              f"{fmt(float(k['max_gain'].mean()))}, largest {fmt(float(k['max_gain'].max()))}."))
    v = runs[runs["mechanism"] == VCG.name]
    if not v.empty:
        share_def = float((v["profit"] < -1e-9).mean())
        r = eff.set_index("variant").loc[VCG.name]
        sec.claims.append(Claim("VCG double auction runs a deficit (profit < 0 in most instances)",
                                "holds" if share_def > 0.5 else "fails",
                                f"deficit in {share_def:.1%} of {len(v)} instances; mean profit "
                                f"{ci_text(r['profit'], r['profit_lo'], r['profit_hi'])}."))
    balanced = [m for m in present if _has(m, "budget_balanced")]
    bb = runs[runs["mechanism"].isin(balanced)]
    if not bb.empty:
        worst = float(bb["profit"].min())
        sec.claims.append(Claim(f"{_and([mech_label(m) for m in balanced])} never run a deficit (budget balance, "
                                "as declared)", "holds" if worst >= -1e-9 else "fails",
                                f"smallest profit over {len(bb)} (instance, variant) pairs: {fmt(worst)}."))
    mc = runs[runs["mechanism"] == McAfee.name]
    if not mc.empty:
        mca = of(McAfee)
        ir = float((mc["ir_violations"] > 0).mean())
        sec.claims.append(Claim(
            "McAfee applied to relays through the max-bid reduction is neither IR nor truthful (it ignores who can "
            "relay for whom)", "holds" if (ir > 0 or mca["profitable"].any()) else "fails",
            f"instances with an agent at negative utility under truthful reports: {ir:.1%}; sampled agents with a "
            f"profitable deviation: {float(mca['profitable'].mean()):.1%}; welfare share "
            f"{fmt(float(mc['welfare_share'].mean()))} (homogeneous market: "
            f"{fmt(float(runs.loc[runs['mechanism'] == McAfeeHomogeneous.name, 'welfare_share'].mean()))})."))
    if not pot.empty:
        worst = float(pot["delta_trades"].min())
        parts = "; ".join(f"{r['algorithm'].upper()}: {fmt(r['delta_trades'])} trades {r.get('delta_trades_ci', '')} "
                          f"fewer, in {r['differs']:.1%} of instances, welfare share −{fmt(r['delta_welfare_share'])}"
                          for r in prow)
        sec.claims.append(Claim("Trade reduction trades the same or fewer pairs than TASC as written",
                                "holds" if worst >= 0 else "fails",
                                f"smallest per-instance difference {fmt(worst)}; {parts}."))
    sec.notes.append(
        "Best responses search BestResponse's grid on the number each mechanism reads (exact for TASC, trade "
        "reduction and k-DA, whose utilities change only at other agents' reports); VCG buyers search a grid of "
        "vectors. Agents are sampled uniformly from all buyers and sellers, the same agents for every mechanism; "
        "agents without a phase-1 partner cannot influence TASC, trade reduction or k-DA and have gain 0. McAfee "
        "'homogeneous' runs on a transformed instance (each buyer values every relay at its best value).")
    return sec


# ====================================================================== tournament
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
        labels = _order(d["strategy"].unique(), list(dict.fromkeys(d["strategy"])))
        for role in res:
            res[role] = res[role].reindex(index=labels, columns=labels)
        n, m = float(d["n"].iloc[0]), float(d["m"].iloc[0])
        if "buyer" in res and "seller" in res:
            res["mixed"] = (n * res["buyer"] + m * res["seller"]) / (n + m)
        out[mech] = res
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
            mats[role] = g.pivot(index="strategy", columns="background", values="mean_utility").reindex(
                index=labels, columns=labels).to_numpy()
        if set(mats) == {"buyer", "seller"}:
            out.append((n * mats["buyer"] + m * mats["seller"]) / (n + m))
            ids.append(rid)
    return ids, np.array(out)


def tournament_section(store: ResultStore, figdir: Path) -> Section:
    spec = store.spec
    runs, rounds = store.table("runs"), store.table("rounds")
    sec = Section(store.name, "Tournament of relay strategies: leaderboard and replicator dynamics",
                  spec.description, settings_of(store))
    if runs.empty:
        return empty_section(sec)
    gen = analysis_rng(store, ANALYSIS_STREAM)
    mechs = mech_order(runs["mechanism"].unique())
    truthful_label, br_label = tournament_roles(store)
    league = runs[runs["part"] == "league"]
    labels = list(dict.fromkeys(league["strategy"]))
    n_runs = runs["run_id"].nunique()

    # ---------------- leaderboard
    lb = _boot(league, "mean_utility", ["mechanism", "role", "strategy"], gen)
    lb["rank"] = lb.groupby(["mechanism", "role"])["estimate"].rank(ascending=False, method="min").astype(int)
    lb = lb.sort_values(["mechanism", "role", "rank"]).reset_index(drop=True)
    lb = lb.rename(columns={"estimate": "mean_utility", "n": "runs"})
    sec.tables.append(("Leaderboard: mean utility per agent and round in the league (every agent given a strategy "
                       "uniformly at random, a new random market every round), 95% bootstrap CI over runs", lb))
    fig, axes = new_figure(2, len(mechs), width=4.2, height=3.2)
    for c, mech in enumerate(mechs):
        for r, role in enumerate(("buyer", "seller")):
            ax = axes[r][c]
            d = lb[(lb["mechanism"] == mech) & (lb["role"] == role)].set_index("strategy").reindex(labels)
            xs = np.arange(len(labels))
            ax.bar(xs, d["mean_utility"], yerr=[d["mean_utility"] - d["lo"], d["hi"] - d["mean_utility"]],
                   color=[PALETTE[i % len(PALETTE)] for i in range(len(labels))], capsize=2)
            ax.set_xticks(xs, labels, rotation=60, ha="right", fontsize=7)
            ax.set_title(f"({_panel(r * len(mechs) + c)}) {mech_label(mech)}, {role}s", fontsize=9)
            ax.set_ylabel("mean utility per round")
    png, svg = save(fig, figdir, f"{store.name}-leaderboard")
    sec.figures.append(Figure(f"{store.name}-leaderboard", (
        f"League leaderboard over {n_runs} runs: mean utility per agent and round with 95% bootstrap CI over runs. "
        "Strategies are compared on different agents (random types), so small differences are noise."), png, svg))

    # ---------------- payoff matrix and replicator dynamics
    mats = tournament_matrices(runs)
    mx = runs[runs["part"] == "matrix"]
    finals = []
    if mats:
        fig, axes = new_figure(1, len(mats), width=4.4, height=3.4)
        for c, (mech, res) in enumerate(mats.items()):
            if "mixed" not in res:
                continue
            A = res["mixed"].to_numpy()
            labs = list(res["mixed"].index)
            if not np.all(np.isfinite(A)):
                sec.notes.append(f"{mech}: the payoff matrix has empty cells; replicator dynamics skipped.")
                continue
            traj = replicator(A)
            ids, per_run = _mixed_matrix_by_run(mx[mx["mechanism"] == mech], labs)
            boots = []
            if len(ids) > 1 and np.all(np.isfinite(per_run)):
                for _ in range(REPLICATOR_BOOT):
                    pick = gen.integers(0, len(ids), size=len(ids))
                    boots.append(replicator(per_run[pick].mean(axis=0)))
            ax = axes[0][c]
            t = np.arange(traj.shape[0]) * REPLICATOR_DT
            for i, lab in enumerate(labs):
                col = PALETTE[i % len(PALETTE)]
                ax.plot(t, traj[:, i], color=col, label=lab)
                if boots:
                    b = np.array([x[:, i] for x in boots])
                    ax.fill_between(t, np.quantile(b, 0.025, axis=0), np.quantile(b, 0.975, axis=0), color=col,
                                    alpha=0.15, linewidth=0)
                finals.append({"mechanism": mech, "strategy": lab, "initial_share": 1.0 / len(labs),
                               "final_share": float(traj[-1, i]),
                               "final_lo": float(np.quantile([x[-1, i] for x in boots], 0.025)) if boots else np.nan,
                               "final_hi": float(np.quantile([x[-1, i] for x in boots], 0.975)) if boots else np.nan})
            ax.set_title(f"({_panel(c)}) {mech_label(mech)}", fontsize=10)
            ax.set_xlabel("time (replicator units)")
            ax.set_ylabel("population share")
            if c == 0:
                ax.legend(fontsize=7)
        png, svg = save(fig, figdir, f"{store.name}-replicator")
        sec.figures.append(Figure(f"{store.name}-replicator", (
            "Replicator dynamics on the empirical payoff matrix A[a, b] (mean utility of one agent playing a when "
            "everyone else plays b; buyers and sellers weighted by n and m), from equal shares; bands: 95% of "
            f"{REPLICATOR_BOOT} bootstrap resamples of the runs. Learners enter A with the mixed strategy they had "
            "learned by the end of the league."), png, svg))
        for mech, res in mats.items():
            if "mixed" in res:
                t = res["mixed"].reset_index().rename(columns={"strategy": "focal \\ background"})
                sec.tables.append((f"Payoff matrix A (role-weighted), {mech_label(mech)}: mean utility of "
                                   "a focal agent playing the row when everyone else plays the column", t))
        if finals:
            sec.tables.append(("Replicator dynamics: final population shares (95% bootstrap interval over runs)",
                               pd.DataFrame(finals)))

    # ---------------- learners in the league
    if not rounds.empty and "mean_theta" in rounds:
        fig, axes = new_figure(1, 2, width=4.6, height=3.3)
        for ax, role in zip(axes[0], ("buyer", "seller")):
            d = rounds[rounds["role"] == role]
            for i, ((mech, strat), g) in enumerate(d.groupby(["mechanism", "strategy"], sort=False)):
                s = g.groupby("step")["mean_theta"].agg(["mean", "std", "count"]).reset_index()
                half = 1.96 * s["std"].fillna(0) / np.sqrt(s["count"].clip(lower=1))
                s = s.assign(ci_low=s["mean"] - half, ci_high=s["mean"] + half)
                band(ax, s, "step", color=mech_color(mech), linestyle="-" if strat == "hedge" else "--",
                     name=f"{mech_label(mech)}, {strat}")
            ax.axhline(1.0, color="grey", linewidth=0.8, linestyle=":")
            ax.set_title(f"({'ab'[role == 'seller']}) learners' expected θ, {role}s", fontsize=10)
            ax.set_xlabel("league round")
            ax.set_ylabel("mean θ (report / truth)")
            ax.legend(fontsize=6)
        png, svg = save(fig, figdir, f"{store.name}-learners")
        sec.figures.append(Figure(f"{store.name}-learners", (
            "Learners in the league: mean expected θ (their mixed strategy's mean multiplier on the truth) over "
            "rounds; band = 95% CI over runs."), png, svg))

    # ---------------- claims: selected by mechanism object (and property) and by strategy object
    T, BR = truthful_label, br_label
    if KDA.name in mechs and T is not None and BR is not None:
        d = lb[lb["mechanism"] == KDA.name].set_index(["role", "strategy"])
        if {("buyer", BR), ("buyer", T)} <= set(d.index):
            parts, ok = [], True
            for role in ("buyer", "seller"):
                br, tr = d.loc[(role, BR)], d.loc[(role, T)]
                ok &= bool(br["mean_utility"] >= tr["mean_utility"])
                parts.append(f"{role}s: best response {ci_text(br['mean_utility'], br['lo'], br['hi'])} vs truthful "
                             f"{ci_text(tr['mean_utility'], tr['lo'], tr['hi'])}")
            sec.claims.append(Claim("Under the k-double auction the best response earns at least as much as truthful "
                                    "reporting (league)", "holds" if ok else "fails", "; ".join(parts) + "."))
    for mech in (m for m in mechs if _has(m, "truthful")):
        res = mats.get(mech)
        if T is not None and res and T in (res.get("buyer", pd.DataFrame()).columns):
            parts, ok = [], True
            for role in ("buyer", "seller"):
                col = res[role][T]
                gain = float((col - col[T]).max())
                best = str((col - col[T]).idxmax())
                ok &= gain <= TOL
                parts.append(f"{role}s: largest gain over truthful {fmt(gain)} ({best})")
            sec.claims.append(Claim(f"Under {mech_label(mech)} no strategy beats truthful reporting against a "
                                    "truthful population (payoff matrix, paired)", "holds" if ok else "fails",
                                    "; ".join(parts) + "."))
    fin = pd.DataFrame(finals)
    if not fin.empty and T is not None and T in set(fin["strategy"]):
        for mech in [KDA.name] * (KDA.name in mechs) + [m for m in mechs if _has(m, "truthful")]:
            expect_down = mech == KDA.name
            f = fin[fin["mechanism"] == mech].set_index("strategy")
            if f.empty:
                continue
            share = float(f.loc[T, "final_share"])
            init = float(f.loc[T, "initial_share"])
            winner = str(f["final_share"].idxmax())
            if expect_down:
                sec.claims.append(Claim(
                    "Under the k-double auction truthful reporting does not survive replicator dynamics (its share "
                    "falls below the initial 1/k)", "holds" if share < init else "fails",
                    f"truthful share {init:.3f} → {share:.3f}; largest final share: {winner} "
                    f"({float(f['final_share'].max()):.3f})."))
            else:
                tb = share + (float(f.loc[BR, "final_share"]) if BR in f.index else 0.0)
                sec.claims.append(Claim(
                    f"Under {mech_label(mech)} truthful reporting (and the best response, which coincides with it) "
                    "is not driven out by replicator dynamics", "holds" if share >= init else "fails",
                    f"truthful share {init:.3f} → {share:.3f}; truthful + best response {tb:.3f}; largest final "
                    f"share: {winner} ({float(f['final_share'].max()):.3f})."))
    return sec


def tournament_roles(store: ResultStore) -> tuple[str | None, str | None]:
    """The tournament's labels of the truthful strategy and of the best response, found from
    the strategy objects the spec builds (not from their labels): the first label whose
    buyer and seller strategies are both deterministic truthful, and the first whose are
    both best responses."""
    from auctionlab.experiments.kinds import RUN_KINDS
    from auctionlab.experiments.relay_studies import _tournament_strategies

    try:
        protos = _tournament_strategies(RUN_KINDS["relay-tournament"].full_params(store.spec.params))
    except (ConfigError, KeyError):  # strategies this version cannot build: no claims that need the roles
        return None, None

    def first(test) -> str | None:
        return next((lab for lab, roles in protos.items() if all(test(s) for s in roles.values())), None)

    truthful = first(lambda s: bool(s.flag("truthful")) and not s.flag("stochastic") and not s.flag("learning"))
    return truthful, first(lambda s: s.flag("deviation") == "best_response")


# ====================================================================== equilibrium
def role_game(game_runs: pd.DataFrame, buyer_thetas, seller_thetas) -> EmpiricalGame:
    """The role game of one mechanism: buyer θ × seller θ, one payoff sample per instance and profile."""
    g = EmpiricalGame({"buyer": [float(x) for x in buyer_thetas], "seller": [float(x) for x in seller_thetas]})
    return g.add_frame(game_runs.assign(theta_buyer=game_runs["theta_buyer"].astype(float),
                                        theta_seller=game_runs["theta_seller"].astype(float)),
                       ["theta_buyer", "theta_seller"], ["buyer_payoff", "seller_payoff"])


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
        boot = np.maximum(resample_means(w.to_numpy(), n_boot=n_boot, rng=gen).max(axis=1), 0.0)
        role, th = means.idxmax()
        rows.append({"theta_buyer": float(tb), "theta_seller": float(ts), "regret": reg,
                     "lo": float(np.quantile(boot, 0.025)), "hi": float(np.quantile(boot, 0.975)),
                     "best_deviation": f"{role} → {fmt(float(th))}" if reg > 0 else "none", "units": len(w)})
    return pd.DataFrame(rows)


def equilibrium_section(store: ResultStore, figdir: Path) -> Section:
    spec = store.spec
    runs, agents, rounds = store.table("runs"), store.table("agents"), store.table("rounds")
    sec = Section(store.name, "Empirical games and learning in the relay market: shading × inflation",
                  spec.description, settings_of(store))
    if runs.empty:
        return empty_section(sec)
    gen = analysis_rng(store, ANALYSIS_STREAM)
    game = runs[runs["part"] == "game"]
    mechs = mech_order(game["mechanism"].unique()) if len(game) else []
    solver_rows, truth_rows, eq_rows = [], [], []
    heat: dict[str, tuple[np.ndarray, np.ndarray | None]] = {}
    for mech in mechs:
        d = game[game["mechanism"] == mech]
        tb = sorted(d["theta_buyer"].astype(float).unique())
        ts = sorted(d["theta_seller"].astype(float).unique())
        g = role_game(d, tb, ts)
        if not g.is_complete:
            sec.notes.append(f"{mech}: the role game is incomplete ({len(g.missing_profiles())} profiles missing).")
            continue
        reg = g.pure_regrets()
        u = g.payoff_tensor()
        scale = float(np.ptp(u)) or 1.0
        uni = unilateral_regret(agents[agents["mechanism"] == mech], gen) if not agents.empty and "gain" in agents \
            else pd.DataFrame()
        umat = None
        if not uni.empty:
            umat = uni.pivot(index="theta_buyer", columns="theta_seller", values="regret").reindex(
                index=tb, columns=ts).to_numpy()
        heat[mech] = (reg, umat)
        truth = (1.0, 1.0)
        r, lo, hi = g.regret_ci(truth, rng=gen, n_boot=N_BOOT)
        row = {"mechanism": mech, "role_game_regret": r, "role_game_lo": lo, "role_game_hi": hi}
        if not uni.empty:
            ur = uni[(uni["theta_buyer"] == 1.0) & (uni["theta_seller"] == 1.0)]
            if len(ur):
                row.update(unilateral_regret=float(ur["regret"].iloc[0]), unilateral_lo=float(ur["lo"].iloc[0]),
                           unilateral_hi=float(ur["hi"].iloc[0]), best_unilateral=ur["best_deviation"].iloc[0])
        truth_rows.append(row)
        for prof in pure_equilibria(g, eps=TOL * scale):
            rr, rlo, rhi = g.regret_ci(prof, rng=gen, n_boot=300)
            eq_rows.append({"mechanism": mech, "kind": "role game (pure)", "theta_buyer": prof[0],
                            "theta_seller": prof[1], "regret": rr, "lo": rlo, "hi": rhi,
                            "buyer_payoff": float(g.mean_payoffs(prof)[0]),
                            "seller_payoff": float(g.mean_payoffs(prof)[1])})
        if not uni.empty:
            for _, ur in uni[uni["regret"] <= TOL].iterrows():
                eq_rows.append({"mechanism": mech, "kind": "unilateral (pure, symmetric)",
                                "theta_buyer": ur["theta_buyer"], "theta_seller": ur["theta_seller"],
                                "regret": ur["regret"], "lo": ur["lo"], "hi": ur["hi"]})
        for name in SOLVERS:
            res = solve(g, name, rng=gen)
            rr, rlo, rhi = g.regret_ci(res.mixture, rng=gen, n_boot=200)
            mb, ms = res.mixture
            solver_rows.append({
                "mechanism": mech, "solver": name, "regret": res.regret, "lo": rlo, "hi": rhi,
                "regret_share_of_range": res.regret / scale, "iterations": res.iterations, "converged": res.converged,
                "buyer_mean_theta": float(mb @ np.array(tb)), "seller_mean_theta": float(ms @ np.array(ts)),
                "buyer_mixture": " ".join(f"{fmt(t)}:{p:.2f}" for t, p in zip(tb, mb) if p > 0.005),
                "seller_mixture": " ".join(f"{fmt(t)}:{p:.2f}" for t, p in zip(ts, ms) if p > 0.005),
            })
        sec.data.append((f"equilibrium_role_game_{mech}", g.to_frame().drop(columns=["profile"])))
        if not uni.empty:
            sec.data.append((f"equilibrium_unilateral_{mech}", uni))
    if truth_rows:
        sec.tables.append(("Is truthful reporting (θ = 1 for both roles) an equilibrium? Regret of (1, 1) in the role "
                           "game (a whole role deviates together) and against unilateral deviations (one agent "
                           "deviates), 95% bootstrap CI over instances", pd.DataFrame(truth_rows)))
    if eq_rows:
        sec.tables.append(("Pure equilibria on the grid (regret ≤ 1e-9 × payoff range)", pd.DataFrame(eq_rows)))
    if solver_rows:
        sec.tables.append(("Role-game equilibria by the three solvers (replicator dynamics, regret matching, "
                           "fictitious play): mixtures, regret with bootstrap CI", pd.DataFrame(solver_rows)))

    if heat:
        two = any(v[1] is not None for v in heat.values())
        fig, axes = new_figure(2 if two else 1, len(heat), width=3.9, height=3.4)
        for c, (mech, (reg, umat)) in enumerate(heat.items()):
            d = game[game["mechanism"] == mech]
            tb = sorted(d["theta_buyer"].astype(float).unique())
            ts = sorted(d["theta_seller"].astype(float).unique())
            for r, (mat, what) in enumerate(((reg, "role game"), (umat, "unilateral"))):
                if mat is None or r >= (2 if two else 1):
                    continue
                ax = axes[r][c]
                im = ax.imshow(mat, origin="lower", aspect="auto", cmap="viridis")
                ax.set_xticks(range(len(ts)), [fmt(x) for x in ts], fontsize=7)
                ax.set_yticks(range(len(tb)), [fmt(x) for x in tb], fontsize=7)
                ax.set_xlabel("seller θ (ask / cost)")
                ax.set_ylabel("buyer θ (bid / value)")
                eq = np.argwhere(mat <= TOL * max(1.0, float(np.nanmax(mat))))
                ax.scatter(eq[:, 1], eq[:, 0], marker="*", color="white", s=60, label="equilibrium")
                ax.scatter([ts.index(1.0)], [tb.index(1.0)], marker="o", facecolors="none", edgecolors="red", s=60,
                           label="truthful")
                ax.set_title(f"({_panel(r * len(heat) + c)}) {mech_label(mech)}: {what} regret",
                             fontsize=9)
                fig.colorbar(im, ax=ax, fraction=0.046)
                if c == 0 and r == 0:
                    ax.legend(fontsize=6, loc="upper right")
        png, svg = save(fig, figdir, f"{store.name}-regret")
        sec.figures.append(Figure(f"{store.name}-regret", (
            "Regret of every symmetric profile (buyers bid θ_b × value, sellers ask θ_s × cost). Top: role game, "
            "where a whole role deviates together (a coalition); bottom: unilateral, where one agent deviates and "
            "everyone else keeps the profile (Nash in the n-agent game). Stars: regret ≤ 1e-9 (relative); red circle: "
            "truthful."), png, svg))

    # ---------------- learning
    learn = runs[runs["part"] == "learning"]
    if not rounds.empty and "theta_buyer" in rounds:
        lr = rounds.copy()
        fig, axes = new_figure(1, 2, width=4.8, height=3.4)
        for ax, role in zip(axes[0], ("buyer", "seller")):
            for (mech, learner), g in lr.groupby(["mechanism", "learner"], sort=False):
                s = group_mean_ci(g, ["step"], f"theta_{role}")
                band(ax, s, "step", color=mech_color(mech), linestyle="-" if learner == "hedge" else "--",
                     name=f"{mech_label(mech)}, {learner}")
            ax.axhline(1.0, color="grey", linewidth=0.8, linestyle=":")
            ax.set_xscale("log")
            ax.set_xlabel("round (log)")
            ax.set_ylabel("mean θ")
            ax.set_title(f"({'ab'[role == 'seller']}) {role}s' mean θ over time", fontsize=10)
            ax.legend(fontsize=6)
        png, svg = save(fig, figdir, f"{store.name}-learning")
        sec.figures.append(Figure(f"{store.name}-learning", (
            "Learning in the Mesa relay market: every buyer and seller a Hedge (full information) or EXP3 (bandit) "
            "learner over θ ∈ [0.5, 1.5]; mean over agents of the expected θ of their mixed strategies, per round; "
            "band = 95% CI over runs."), png, svg))
    if not learn.empty:
        lt = []
        for (mech, learner), g in learn.groupby(["mechanism", "learner"], sort=False):
            row = {"mechanism": mech, "learner": learner, "runs": len(g)}
            for col in ("final_theta_buyer", "final_theta_seller", "mean_utility_buyer", "mean_utility_seller",
                        "mean_trades", "mean_welfare"):
                b = _boot(g.assign(_a=0), col, ["_a"], gen)
                row[col] = float(b["estimate"].iloc[0])
                row[f"{col}_ci"] = f"[{fmt(float(b['lo'].iloc[0]))}, {fmt(float(b['hi'].iloc[0]))}]"
            lt.append(row)
        lt = pd.DataFrame(lt)
        sec.tables.append(("Where learners settle: mean θ over the last 10% of rounds, utilities and trades over the "
                           "whole run (95% bootstrap CI over runs)", lt))

    # ---------------- claims
    tr = pd.DataFrame(truth_rows).set_index("mechanism") if truth_rows else pd.DataFrame()
    for mech in (m for m in mechs if _has(m, "truthful")):
        if mech in tr.index and "unilateral_regret" in tr:
            r = tr.loc[mech]
            sec.claims.append(Claim(
                f"{_cap(mech_label(mech))}: truthful reporting is an equilibrium against unilateral deviations "
                "(regret of (1, 1) ≤ 1e-9)", "holds" if r["unilateral_regret"] <= TOL else "fails",
                f"unilateral regret {ci_text(r['unilateral_regret'], r['unilateral_lo'], r['unilateral_hi'])}; "
                f"role-game regret (whole role deviating) {ci_text(r['role_game_regret'], r['role_game_lo'], r['role_game_hi'])}."))
    if KDA.name in tr.index and "unilateral_regret" in tr:
        r = tr.loc[KDA.name]
        sec.claims.append(Claim(
            "k-double auction: truthful reporting is not an equilibrium (unilateral regret of (1, 1) with CI above 0)",
            "holds" if r["unilateral_lo"] > 0 else "fails",
            f"unilateral regret {ci_text(r['unilateral_regret'], r['unilateral_lo'], r['unilateral_hi'])} "
            f"(best deviation {r['best_unilateral']}); role-game regret "
            f"{ci_text(r['role_game_regret'], r['role_game_lo'], r['role_game_hi'])}."))
    if TASC.name in tr.index and "unilateral_regret" in tr:
        r = tr.loc[TASC.name]
        sec.claims.append(Claim(
            "TASC as written: no uniform shading or inflation level pays on average against truthful others "
            "(unilateral regret of (1, 1) ≤ 1e-9; its flaw needs instance-specific deviations)",
            "holds" if r["unilateral_regret"] <= TOL else "fails",
            f"unilateral regret {ci_text(r['unilateral_regret'], r['unilateral_lo'], r['unilateral_hi'])}"
            + (f" (best deviation {r['best_unilateral']})" if r["unilateral_regret"] > 0 else "") + "."))
    if solver_rows:
        sv = pd.DataFrame(solver_rows)
        good = sv["regret_share_of_range"] < SOLVER_TOL
        parts = "; ".join(f"{mech_label(m)}: " + ", ".join(
            f"{r['solver']} {r['regret_share_of_range']:.2%}" for _, r in g.iterrows()) for m, g in sv.groupby(
            "mechanism", sort=False))
        sec.claims.append(Claim(
            "Replicator dynamics, regret matching and fictitious play each find an approximate equilibrium of the "
            "role game (regret < 1% of the payoff range)",
            "holds" if good.all() else ("partly" if good.any() else "fails"), parts + " (regret / payoff range)."))
    if not learn.empty:
        lt_i = lt.set_index(["mechanism", "learner"])
        for (mech, learner), r in lt_i.iterrows():
            b, s = r["final_theta_buyer"], r["final_theta_seller"]
            if mech == KDA.name:
                ok = b < 0.95 and s > 1.05
                sec.claims.append(Claim(f"k-double auction, {learner} learners: buyers learn to shade and sellers to "
                                        "inflate (final mean θ < 0.95 / > 1.05)", "holds" if ok else "fails",
                                        f"final mean θ: buyers {fmt(b)} {r['final_theta_buyer_ci']}, sellers {fmt(s)} "
                                        f"{r['final_theta_seller_ci']}."))
            elif _has(mech, "truthful"):
                ok = abs(b - 1) <= NEAR_TRUTH and abs(s - 1) <= NEAR_TRUTH
                sec.claims.append(Claim(f"{_cap(mech_label(mech))}, {learner} learners stay near truthful (|θ − 1| ≤ 0.1, "
                                        "both roles)", "holds" if ok else "fails",
                                        f"final mean θ: buyers {fmt(b)} {r['final_theta_buyer_ci']}, sellers {fmt(s)} "
                                        f"{r['final_theta_seller_ci']}."))
    sec.notes.append("Role game vs unilateral: in the role game every member of a role plays the same θ and a "
                     "deviation moves the whole role, so it measures what a coalition could gain; the unilateral "
                     "regret is the Nash notion for the n-agent market with everyone else at the profile.")
    return sec
