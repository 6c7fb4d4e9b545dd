"""Report section of the relay-manipulation study: how often and how much one agent gains by
deviating under TASC, trade reduction, k-DA, VCG and McAfee, and what truthfulness costs.

``dataset(store)`` shapes the stored ``runs`` and ``agents`` tables into tidy frames (every
bootstrap is drawn here, from the report's own generator); ``figures(frames, figdir)``
draws them; ``claims(frames)`` checks the statements; ``build(store, figdir)`` composes
the section. Confidence intervals are percentile-bootstrap intervals over *instances*:
the sampled agents of one instance are summarised first, so the resampled unit is
independent. The tests are fixed here in advance:

- "no profitable deviation" (mechanisms declared truthful): the largest maximum gain of
  every sampled agent is ≤ ``TOL`` (1e-9); n = best-response searches;
- "rare" (TASC as written): some agent gains, but fewer than ``RARE`` = 10% of the agents
  ("partly" when no gain was found at all, or when the share is above 10%), judged once per
  reading and named in it: per step-5 tie rule present (a spec sweeps ``tasc_tie``; the
  first setting is the plain variant, e.g. ``tasc/mwm``, the others carry their setting,
  ``tasc/mwm [tie=first]``) and per denominator — *all sampled agents* (n = sampled agents)
  or *candidates*, the sampled agents with a phase-1 partner, the only ones whose report
  TASC reads (n = such agents);
- "common" (k-DA): more than ``COMMON`` = 50% of the sampled agents that trade under
  truthful reports can gain, in both roles; n = such agents in the smaller role;
- "VCG runs a deficit": profit < 0 in more than half of the instances; n = instances;
- "budget balanced": profit ≥ −1e-9 in every (instance, variant); "McAfee is neither IR nor
  truthful": some instance or agent shows it; "trade reduction trades no more than TASC":
  the per-(instance, algorithm) difference in trades is ≥ 0 everywhere.

A claim about every sample is contradicted by one counter-example whatever n; otherwise a
verdict on fewer than 30 samples reads "insufficient data".
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from auctionlab.mechanisms.relay.mechanisms import (
    KDA,
    TASC,
    VCG,
    McAfee,
    McAfeeHomogeneous,
    TradeReduction,
)
from auctionlab.mechanisms.relay.tasc import TIE_PAIRS
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
from auctionlab.studies.relay_common import (
    ALG_STYLE,
    ANALYSIS_STREAM,
    ROLES,
    TOL,
    and_,
    boot,
    boot_one,
    cap,
    has,
    judge_all,
    judge_any,
    mech_color,
    mech_label,
    mech_name,
    mech_order,
    meta,
    one_row,
    panel,
    role_color,
    rows_of,
    split_variant,
    tie_rule_of,
    tie_rule_text,
    variant_color,
    variant_label,
    variant_order,
    variant_setting,
)

RARE = 0.10
COMMON = 0.50
TITLE = "Manipulating relay double auctions: TASC, trade reduction, k-DA, VCG, McAfee"


# ---------------------------------------------------------------------- data shaping
def per_instance_gains(runs: pd.DataFrame, agents: pd.DataFrame) -> pd.DataFrame:
    """One row per (run, variant, role): share of sampled agents with a profitable deviation,
    the same among agents that trade under truthful reports, mean and largest maximum gain,
    with the run's n, m, Vmax."""
    a = agents.copy()
    a["trader_profitable"] = np.where(a["trades_truthfully"].astype(bool), a["profitable"].astype(float), np.nan)
    g = (
        a.groupby(["run_id", "variant", "mechanism", "algorithm", "role"], sort=False)
        .agg(
            agents=("max_gain", "size"),
            share_profitable=("profitable", "mean"),
            trader_share=("trader_profitable", "mean"),
            traders=("trades_truthfully", "sum"),
            mean_gain=("max_gain", "mean"),
            max_gain=("max_gain", "max"),
        )
        .reset_index()
    )
    keys = runs[["run_id", "n", "m", "vmax"]].drop_duplicates("run_id")
    g["share_profitable"] = g["share_profitable"].astype(float)
    return g.merge(keys, on="run_id", how="left")


def first_setting(frame: pd.DataFrame) -> pd.DataFrame:
    """The rows of the first mechanism-parameter setting (variants without a setting suffix)."""
    if frame.empty or "variant" not in frame:
        return frame
    return frame[[not variant_setting(v) for v in frame["variant"]]]


def tie_of(variant: str, first_tie: str) -> str:
    """The step-5 tie rule a TASC variant ran with (``first_tie``: the first setting's)."""
    for part in variant_setting(variant).split(", "):
        key, _, value = part.partition("=")
        if key == "tie":
            return value
    return first_tie


def tie_frequency(agents: pd.DataFrame, first_tie: str) -> pd.DataFrame:
    """TASC as written: the share of agents with a profitable deviation per grid point and
    tie rule under both denominators — all sampled agents, and the candidates among them
    (a phase-1 partner: the agents whose report TASC reads) — pooled over algorithms and
    roles, with the number of agents behind each share; then the same over all points."""
    t = rows_of(agents, TASC)
    if t.empty:
        return pd.DataFrame()
    t = t.assign(tie=[tie_of(v, first_tie) for v in t["variant"]])
    t["profitable"] = t["profitable"].astype(bool)
    t["relevant"] = t["relevant"].astype(bool)
    keys = ["n", "m", "vmax", "tie"]
    rows = []
    groups = list(t.groupby(keys, sort=True)) + [(("all", "all", "all", tie), g) for tie, g in t.groupby("tie")]
    for key, g in groups:
        cand = g[g["relevant"]]
        rows.append(
            {
                **dict(zip(keys, key)),
                "tie_pair": TIE_PAIRS.get(str(key[-1]), ""),
                "agents": len(g),
                "profitable": int(g["profitable"].sum()),
                "share_of_all_agents": float(g["profitable"].mean()),
                "candidates": len(cand),
                "share_of_candidates": float(cand["profitable"].mean()) if len(cand) else float("nan"),
                "candidates_fraction": float(g["relevant"].mean()),
            }
        )
    return pd.DataFrame(rows)


def price_of_truthfulness(runs: pd.DataFrame) -> pd.DataFrame:
    """Per run and algorithm: what trade reduction gives up against TASC as written (its
    first setting's tie rule) (trades, welfare share, capacity-gain share; positive = TASC
    as written has more)."""
    t = first_setting(rows_of(runs, TASC)).set_index(["run_id", "algorithm"])
    r = rows_of(runs, TradeReduction).set_index(["run_id", "algorithm"])
    common = t.index.intersection(r.index)
    if common.empty:
        return pd.DataFrame()
    t, r = t.loc[common], r.loc[common]
    out = pd.DataFrame(
        {
            "trades_tasc": t["trades"].astype(float),
            "trades_tr": r["trades"].astype(float),
            "delta_trades": t["trades"].astype(float) - r["trades"].astype(float),
            "delta_welfare_share": t["welfare_share"] - r["welfare_share"],
            "delta_capacity_gain_share": t["capacity_gain_share"] - r["capacity_gain_share"],
            "n": t["n"],
            "m": t["m"],
            "vmax": t["vmax"],
        }
    ).reset_index()
    out["differs"] = (out["delta_trades"] != 0).astype(float)
    return out


def grid_slices(points: pd.DataFrame) -> list[tuple[str, dict]]:
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


def _summary(inst: pd.DataFrame, agents: pd.DataFrame, variants: list[str], gen) -> pd.DataFrame:
    share = boot(inst, "share_profitable", ["variant", "role"], gen)
    trader = boot(inst, "trader_share", ["variant", "role"], gen)
    gain = boot(inst, "mean_gain", ["variant", "role"], gen)
    pooled = (
        agents.groupby(["variant", "role"])
        .agg(
            agents=("max_gain", "size"),
            profitable=("profitable", "sum"),
            largest_gain=("max_gain", "max"),
            relevant=("relevant", "mean"),
        )
        .reset_index()
    )
    any_inst = (
        (inst.groupby(["run_id", "variant", "role"])["share_profitable"].max() > 0)
        .groupby(["variant", "role"])
        .mean()
        .rename("instances_with_a_gain")
        .reset_index()
    )
    summary = pooled.merge(share[["variant", "role", "estimate", "lo", "hi"]], on=["variant", "role"], how="left")
    summary = summary.rename(columns={"estimate": "share_profitable", "lo": "share_lo", "hi": "share_hi"})
    summary = summary.merge(
        trader[["variant", "role", "estimate", "lo", "hi"]].rename(
            columns={"estimate": "share_of_traders", "lo": "traders_lo", "hi": "traders_hi"}
        ),
        on=["variant", "role"],
        how="left",
    )
    summary = summary.merge(
        gain[["variant", "role", "estimate", "lo", "hi"]].rename(
            columns={"estimate": "mean_max_gain", "lo": "gain_lo", "hi": "gain_hi"}
        ),
        on=["variant", "role"],
        how="left",
    )
    summary = summary.merge(any_inst, on=["variant", "role"], how="left")
    summary["variant"] = pd.Categorical(summary["variant"], variants, ordered=True)
    summary = summary.sort_values(["variant", "role"]).reset_index(drop=True)
    summary["variant"] = summary["variant"].astype(str)
    return summary


def _efficiency(runs: pd.DataFrame, variants: list[str], gen) -> pd.DataFrame:
    rows = []
    for v in variants:
        d = runs[runs["variant"] == v]
        est, lo, hi = boot_one(d, "profit", gen)
        rows.append(
            {
                "variant": v,
                "trades": float(d["trades"].mean()),
                "welfare_share": float(d["welfare_share"].mean()),
                "capacity_gain_share": float(d["capacity_gain_share"].mean()),
                "profit": est,
                "profit_lo": lo,
                "profit_hi": hi,
                "deficit_share": float((d["profit"] < -1e-9).mean()),
                "mean_deficit": float(d["deficit"].mean()),
                "ir_violations_per_instance": float(d["ir_violations"].mean()),
                "time_ms": float(d["time_ms"].mean()),
            }
        )
    return pd.DataFrame(rows)


def _price_summary(pot: pd.DataFrame, gen) -> pd.DataFrame:
    rows = []
    for alg, d in pot.groupby("algorithm", sort=False):
        row = {
            "algorithm": alg,
            "trades_tasc": float(d["trades_tasc"].mean()),
            "trades_tr": float(d["trades_tr"].mean()),
        }
        for col in ("delta_trades", "delta_welfare_share", "delta_capacity_gain_share", "differs"):
            b = boot(d.assign(_a=0), col, ["_a"], gen)
            if len(b):
                row[col] = float(b["estimate"].iloc[0])
                row[f"{col}_ci"] = f"[{fmt(float(b['lo'].iloc[0]))}, {fmt(float(b['hi'].iloc[0]))}]"
        row["min_delta_trades"] = float(d["delta_trades"].min())
        rows.append(row)
    return pd.DataFrame(rows)


def _grid_bands(runs: pd.DataFrame, inst: pd.DataFrame, variants: list[str], gen) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The cuts of the grid (slice, x, fixed values as text) and, per cut, role and variant
    not declared truthful, the share with a profitable deviation against x with bootstrap bands."""
    points = runs.groupby(["n", "m", "vmax"])["run_id"].nunique().rename("runs").reset_index()
    cuts = grid_slices(points)
    shown = [v for v in variants if not has(split_variant(v)[0], "truthful")]  # truthful ones are 0 everywhere
    slices, bands = [], []
    for c, (xkey, fixed) in enumerate(cuts):
        fx = ", ".join(f"{k} = {v if isinstance(v, str) else fmt(float(v))}" for k, v in fixed.items())
        slices.append({"slice": c, "x": xkey, "fixed": fx})
        sub = inst
        for k, v in fixed.items():
            sub = sub[sub[k] == (sub["n"] if v == "n" else v)]
        for role in ROLES:
            for var in shown:
                d = sub[(sub["variant"] == var) & (sub["role"] == role)]
                if d.empty:
                    continue
                s = boot(d, "share_profitable", [xkey], gen, n_boot=300)
                s = s.rename(columns={"count" if xkey == "n" else "n": "instances"})
                bands.append(
                    s.rename(columns={xkey: "x_value", "estimate": "mean", "lo": "ci_low", "hi": "ci_high"}).assign(
                        slice=c, role=role, variant=var
                    )
                )
    cols = ["slice", "role", "variant", "x_value", "mean", "ci_low", "ci_high", "instances"]
    band_frame = pd.concat(bands, ignore_index=True)[cols] if bands else pd.DataFrame(columns=cols)
    return pd.DataFrame(slices, columns=["slice", "x", "fixed"]), band_frame


def dataset(store) -> dict[str, pd.DataFrame]:
    """Tidy frames behind the section (empty dict when nothing is stored): ``runs`` and
    ``agents`` as stored, ``variants`` (report order), ``instances`` (per run, variant and
    role), ``summary``, ``efficiency``, ``price`` (per run and algorithm) and
    ``price_summary``, ``grid``, ``grid_slices`` and ``grid_bands``, and ``meta``."""
    runs, agents = store.table("runs"), store.table("agents")
    if runs.empty or agents.empty:
        return {}
    gen = analysis_rng(store, ANALYSIS_STREAM)
    variants = variant_order(runs["variant"].unique())
    first_tie = tie_rule_of(store.spec.params)
    inst = per_instance_gains(runs, agents)
    summary = _summary(inst, agents, variants, gen)
    eff = _efficiency(runs, variants, gen)
    pot = price_of_truthfulness(runs)
    price_summary = _price_summary(pot, gen) if not pot.empty else pd.DataFrame()
    grid = inst.groupby(["n", "m", "vmax", "variant", "role"])["share_profitable"].mean().unstack("role").reset_index()
    grid["variant"] = pd.Categorical(grid["variant"], variants, ordered=True)
    grid = grid.sort_values(["variant", "n", "m", "vmax"]).reset_index(drop=True)
    grid["variant"] = grid["variant"].astype(str)
    slices, bands = _grid_bands(runs, inst, variants, gen)
    order = pd.DataFrame(
        {
            "variant": variants,
            "mechanism": [split_variant(v)[0] for v in variants],
            "algorithm": [split_variant(v)[1] for v in variants],
        }
    )
    keyed = agents.merge(runs[["run_id", "n", "m", "vmax"]].drop_duplicates("run_id"), on="run_id", how="left")
    return {
        "meta": one_row(name=store.name, instances=int(runs["run_id"].nunique()), first_tie=first_tie),
        "tie_frequency": tie_frequency(keyed, first_tie),
        "runs": runs,
        "agents": agents,
        "variants": order,
        "instances": inst,
        "summary": summary,
        "efficiency": eff,
        "price": pot,
        "price_summary": price_summary,
        "grid": grid,
        "grid_slices": slices,
        "grid_bands": bands,
    }


# ---------------------------------------------------------------------- figures
def _variants(frames) -> list[str]:
    return list(frames["variants"]["variant"])


def _frequency_figure(frames, figdir: Path, name: str) -> Figure:
    variants, summary = _variants(frames), frames["summary"]
    fig, axes = new_figure(1, 2, width=6.2, height=3.6)
    x = np.arange(len(variants))
    for k, role in enumerate(ROLES):
        s = summary[summary["role"] == role].set_index("variant").reindex(variants)
        axes[0][0].bar(
            x + (k - 0.5) * 0.38,
            s["share_profitable"],
            0.38,
            label=f"{role}s",
            yerr=[s["share_profitable"] - s["share_lo"], s["share_hi"] - s["share_profitable"]],
            color=role_color(role),
            capsize=2,
        )
        axes[0][1].bar(
            x + (k - 0.5) * 0.38,
            s["mean_max_gain"],
            0.38,
            label=f"{role}s",
            yerr=[s["mean_max_gain"] - s["gain_lo"], s["gain_hi"] - s["mean_max_gain"]],
            color=role_color(role),
            capsize=2,
        )
    for ax, title in (
        (axes[0][0], "(a) share of agents with a profitable deviation"),
        (axes[0][1], "(b) mean maximum manipulation gain"),
    ):
        ax.set_xticks(x, [variant_label(v) for v in variants], rotation=60, ha="right", fontsize=7)
        ax.set_title(title, fontsize=10)
        ax.legend(fontsize=8)
    png, svg = save(fig, figdir, f"{name}-frequency")
    return Figure(
        f"{name}-frequency",
        (
            f"Best responses (others truthful) of sampled buyers and sellers on {meta(frames, 'instances')} random "
            "instances, pooled over the grid; bars = mean over instances, whiskers = 95% bootstrap CI. Trade reduction, "
            "VCG and McAfee in the homogeneous market it is built for should show nothing; TASC as written a little; the "
            "k-double auction a lot."
        ),
        png,
        svg,
    )


def _gains_figure(frames, figdir: Path, name: str) -> Figure | None:
    agents, variants = frames["agents"], _variants(frames)
    pos = agents[agents["profitable"].astype(bool)]
    if pos.empty:
        return None
    fig, axes = new_figure(1, 2, width=4.6, height=3.4)
    for ax, role in zip(axes[0], ROLES):
        for v in variants:
            g = np.sort(pos.loc[(pos["variant"] == v) & (pos["role"] == role), "max_gain"].to_numpy())
            if g.size == 0:
                continue
            tot = int(((agents["variant"] == v) & (agents["role"] == role)).sum())
            ax.step(
                g,
                np.arange(1, g.size + 1) / tot,
                where="post",
                color=variant_color(v),
                linestyle=ALG_STYLE.get(split_variant(v)[1] or "-", "-"),
                label=variant_label(v),
            )
        ax.set_xscale("log")
        ax.set_xlabel("maximum manipulation gain (log)")
        ax.set_ylabel("share of sampled agents with gain ≤ x")
        ax.set_title(f"({'ab'[role == 'seller']}) {role}s, profitable deviations only", fontsize=10)
        ax.legend(fontsize=6)
    png, svg = save(fig, figdir, f"{name}-gains")
    return Figure(
        f"{name}-gains",
        (
            "Distribution of the maximum manipulation gain among agents that have a profitable deviation "
            "(cumulative count divided by all sampled agents of the variant, so each curve ends at the share with a "
            "gain). Gains are in the units of values (Vmax) and costs."
        ),
        png,
        svg,
    )


def _grid_figure(frames, figdir: Path, name: str) -> Figure | None:
    slices, bands, variants = frames["grid_slices"], frames["grid_bands"], _variants(frames)
    if slices.empty:
        return None
    shown = [v for v in variants if not has(split_variant(v)[0], "truthful")]
    fig, axes = new_figure(2, len(slices), width=4.2, height=3.2)
    for c, sl in enumerate(slices.itertuples(index=False)):
        for r, role in enumerate(ROLES):
            ax = axes[r][c]
            for v in shown:
                s = bands[(bands["slice"] == sl.slice) & (bands["role"] == role) & (bands["variant"] == v)]
                if s.empty:
                    continue
                s = s[["x_value", "mean", "ci_low", "ci_high"]].rename(columns={"x_value": sl.x})
                band(
                    ax,
                    s,
                    sl.x,
                    color=variant_color(v),
                    linestyle=ALG_STYLE.get(split_variant(v)[1] or "-", "-"),
                    marker="o",
                    name=variant_label(v),
                )
            ax.set_title(f"({panel(r * len(slices) + c)}) {role}s vs {sl.x} ({sl.fixed})", fontsize=9)
            ax.set_xlabel(sl.x)
            ax.set_ylabel("share with a profitable deviation")
            if c == 0 and r == 0:
                ax.legend(fontsize=6)
    png, svg = save(fig, figdir, f"{name}-grid")
    truthful = [mech_label(m) for m in mech_order(split_variant(v)[0] for v in variants) if has(m, "truthful")]
    return Figure(
        f"{name}-grid",
        (
            "How the share of agents with a profitable deviation moves with n, m and Vmax (the other two fixed as "
            "shown); mean over instances with 95% bootstrap bands. Mechanisms declared truthful ("
            + and_(truthful or ["none"])
            + ") should be 0 everywhere and are not drawn."
        ),
        png,
        svg,
    )


def _efficiency_figure(frames, figdir: Path, name: str) -> Figure:
    variants, pot = _variants(frames), frames["price"]
    fig, axes = new_figure(1, 3, width=4.0, height=3.6)
    x = np.arange(len(variants))
    e = frames["efficiency"].set_index("variant").reindex(variants)
    cols = [mech_color(split_variant(v)[0]) for v in variants]
    axes[0][0].bar(x, e["welfare_share"], color=cols)
    axes[0][0].set_title("(a) welfare / optimal welfare", fontsize=10)
    axes[0][1].bar(
        x, e["profit"], yerr=[e["profit"] - e["profit_lo"], e["profit_hi"] - e["profit"]], color=cols, capsize=2
    )
    axes[0][1].axhline(0, color="black", linewidth=0.8)
    axes[0][1].set_title("(b) auctioneer's profit (< 0: deficit)", fontsize=10)
    for ax in axes[0][:2]:
        ax.set_xticks(x, [variant_label(v) for v in variants], rotation=60, ha="right", fontsize=7)
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
    png, svg = save(fig, figdir, f"{name}-efficiency")
    return Figure(
        f"{name}-efficiency",
        (
            "Truthful outcomes on the same instances: (a) welfare relative to the efficient matching of useful pairs, "
            "(b) profit with 95% bootstrap CI (VCG runs a deficit), (c) the trades trade reduction gives up against TASC "
            "as written, per assignment algorithm."
        ),
        png,
        svg,
    )


def figures(frames: dict[str, pd.DataFrame], figdir: Path) -> list[Figure]:
    """Frequency and size of gains per variant, the distribution of positive gains, the
    grid cuts, and efficiency with the price of truthfulness (PNG and SVG under ``figdir``)."""
    if not frames:
        return []
    name = str(meta(frames, "name", "relay-manipulation"))
    out = [
        _frequency_figure(frames, figdir, name),
        _gains_figure(frames, figdir, name),
        _grid_figure(frames, figdir, name),
        _efficiency_figure(frames, figdir, name),
    ]
    return [f for f in out if f is not None]


# ---------------------------------------------------------------------- claims
def _truthful_claims(agents: pd.DataFrame, present: list[str]) -> list[Claim]:
    out = []
    for mech in (m for m in present if has(m, "truthful")):
        d = rows_of(agents, mech)
        if d.empty:
            continue
        algs = [a.upper() for a in dict.fromkeys(d["algorithm"]) if a != "-"]
        top = float(d["max_gain"].max())
        by = ", ".join(f"{role}s {int((d['role'] == role).sum())}" for role in ROLES)
        out.append(
            Claim(
                f"{cap(mech_label(mech))}: no agent gains by deviating{', for ' + and_(algs) if algs else ''} "
                "(max gain ≤ 1e-9; the mechanism is declared truthful)",
                judge_all(top <= TOL, len(d)),
                f"{len(d)} best-response searches ({by}) on {d['run_id'].nunique()} instances; "
                f"largest gain {fmt(top)}; profitable in {int(d['profitable'].sum())}.",
                n=len(d),
            )
        )
    return out


def _tasc_claim(
    agents: pd.DataFrame, summary: pd.DataFrame, variants: list[str], freq: pd.DataFrame, first_tie: str
) -> list[Claim]:
    """ "Rare" for TASC as written, once per reading: tie rule × denominator, both named."""
    t = rows_of(agents, TASC)
    if t.empty:
        return []
    t = t.assign(tie=[tie_of(v, first_tie) for v in t["variant"]])
    out: list[Claim] = []
    for tie in dict.fromkeys(t["tie"]):
        d = t[t["tie"] == tie]
        mine = [v for v in variants if split_variant(v)[0] == mech_name(TASC) and tie_of(v, first_tie) == tie]
        per = ", ".join(
            f"{variant_label(v)}: "
            + "; ".join(
                f"{r['role']}s {ci_text(r['share_profitable'], r['share_lo'], r['share_hi'])}"
                for _, r in summary[summary["variant"] == v].iterrows()
            )
            for v in mine
        )
        points = ""
        if not freq.empty:
            f = freq[(freq["tie"] == tie) & (freq["n"] != "all")]
            points = "; by point (n × m, Vmax): " + ", ".join(
                f"{r['n']} × {r['m']} ({fmt(float(r['vmax']))}): {r['share_of_all_agents']:.1%} of {r['agents']} "
                f"agents / {r['share_of_candidates']:.1%} of {r['candidates']} candidates"
                for r in f.to_dict("records")
            )
        cand = d[d["relevant"].astype(bool)]
        for label_, sample in (("all sampled agents", d), ("candidates (sampled agents with a phase-1 partner)", cand)):
            rate = float(sample["profitable"].mean()) if len(sample) else float("nan")
            out.append(
                Claim(
                    f"TASC as written: profitable deviations exist but are rare (some agent gains; < 10%) "
                    f"[reading: tie rule {tie_rule_text(tie)} on equal counts; share of {label_}]",
                    judge(0 < rate < RARE, len(sample), partly=True),
                    f"{int(sample['profitable'].sum())} of {len(sample)} ({rate:.2%}) can gain; largest gain "
                    f"{fmt(float(d['max_gain'].max()))}; candidates are {float(d['relevant'].mean()):.0%} of the "
                    f"sampled agents ({int(d['profitable'].sum())} of {len(d)} sampled agents, "
                    f"{int(cand['profitable'].sum())} of {len(cand)} candidates); per variant, share of sampled "
                    f"agents {per}{points}.",
                    n=len(sample),
                    # the headline: the first reading (the spec's own tie rule) over all sampled agents
                    headline=1 if not out else None,
                )
            )
    return out


def _kda_claim(agents: pd.DataFrame) -> list[Claim]:
    k = rows_of(agents, KDA)
    if k.empty:
        return []
    tr = k[k["trades_truthfully"].astype(bool)]
    by = tr.groupby("role")["profitable"].mean()
    traders = tr.groupby("role").size()
    n = int(min(int(traders.get(role, 0)) for role in ROLES))  # both roles must be judged
    ok = bool(len(by) == 2 and (by > COMMON).all())
    return [
        Claim(
            "k-double auction: profitable deviations are common (more than half of the agents who trade can gain, "
            "both roles)",
            judge(ok, n),
            "among agents that trade under truthful reports: "
            + ", ".join(f"{r}s {v:.1%}" for r, v in by.items())
            + f"; among all sampled agents {float(k['profitable'].mean()):.1%}; mean maximum gain "
            f"{fmt(float(k['max_gain'].mean()))}, largest {fmt(float(k['max_gain'].max()))}.",
            n=n,
        )
    ]


def _vcg_claim(runs: pd.DataFrame, eff: pd.DataFrame) -> list[Claim]:
    v = rows_of(runs, VCG)
    if v.empty:
        return []
    share_def = float((v["profit"] < -1e-9).mean())
    e = eff.set_index("variant")
    name = mech_name(VCG)
    if name in e.index:
        r = e.loc[name]
        profit = ci_text(r["profit"], r["profit_lo"], r["profit_hi"])
    else:
        profit = fmt(float(v["profit"].mean()))
    return [
        Claim(
            "VCG double auction runs a deficit (profit < 0 in most instances)",
            judge(share_def > 0.5, len(v)),
            f"deficit in {share_def:.1%} of {len(v)} instances; mean profit {profit}.",
            n=len(v),
        )
    ]


def _budget_claim(runs: pd.DataFrame, present: list[str]) -> list[Claim]:
    balanced = [m for m in present if has(m, "budget_balanced")]
    bb = runs[runs["mechanism"].isin(balanced)]
    if bb.empty:
        return []
    worst = float(bb["profit"].min())
    return [
        Claim(
            f"{and_([mech_label(m) for m in balanced])} never run a deficit (budget balance, as declared)",
            judge_all(worst >= -1e-9, len(bb)),
            f"smallest profit over {len(bb)} (instance, variant) pairs: {fmt(worst)}.",
            n=len(bb),
        )
    ]


def _mcafee_claim(runs: pd.DataFrame, agents: pd.DataFrame) -> list[Claim]:
    mc = rows_of(runs, McAfee)
    if mc.empty:
        return []
    mca = rows_of(agents, McAfee)
    ir = float((mc["ir_violations"] > 0).mean())
    found = bool(ir > 0 or mca["profitable"].any())
    return [
        Claim(
            "McAfee applied to relays through the max-bid reduction is neither IR nor truthful (it ignores who can "
            "relay for whom)",
            judge_any(found, len(mc)),
            f"instances with an agent at negative utility under truthful reports: {ir:.1%}; sampled agents with a "
            f"profitable deviation: {float(mca['profitable'].mean()):.1%}; welfare share "
            f"{fmt(float(mc['welfare_share'].mean()))} (homogeneous market: "
            f"{fmt(float(rows_of(runs, McAfeeHomogeneous)['welfare_share'].mean()))}).",
            n=len(mc),
        )
    ]


def _price_claim(pot: pd.DataFrame, price_summary: pd.DataFrame) -> list[Claim]:
    if pot.empty:
        return []
    worst = float(pot["delta_trades"].min())
    parts = "; ".join(
        f"{r['algorithm'].upper()}: {fmt(r['delta_trades'])} trades {r.get('delta_trades_ci', '')} "
        f"fewer, in {r['differs']:.1%} of instances, welfare share −{fmt(r['delta_welfare_share'])}"
        for r in price_summary.to_dict("records")
    )
    return [
        Claim(
            "Trade reduction trades the same or fewer pairs than TASC as written (its first tie-rule setting)",
            judge_all(worst >= 0, len(pot)),
            f"smallest per-instance difference {fmt(worst)}; {parts}.",
            n=len(pot),
        )
    ]


def claims(frames: dict[str, pd.DataFrame]) -> list[Claim]:
    """The statements, checked (mechanisms chosen by their objects and declared properties)."""
    if not frames:
        return []
    runs, agents, variants = frames["runs"], frames["agents"], _variants(frames)
    present = mech_order(runs["mechanism"].unique())
    return [
        *_truthful_claims(agents, present),
        *_tasc_claim(
            agents,
            frames["summary"],
            variants,
            frames.get("tie_frequency", pd.DataFrame()),
            meta(frames, "first_tie", "second"),
        ),
        *_kda_claim(agents),
        *_vcg_claim(runs, frames["efficiency"]),
        *_budget_claim(runs, present),
        *_mcafee_claim(runs, agents),
        *_price_claim(frames["price"], frames["price_summary"]),
    ]


# ---------------------------------------------------------------------- the section
NOTE = (
    "Best responses search BestResponse's grid on the number each mechanism reads (exact for TASC, trade "
    "reduction and k-DA, whose utilities change only at other agents' reports); VCG buyers search a grid of "
    "vectors. Agents are sampled uniformly from all buyers and sellers, the same agents for every mechanism; "
    "agents without a phase-1 partner cannot influence TASC, trade reduction or k-DA and have gain 0. McAfee "
    "'homogeneous' runs on a transformed instance (each buyer values every relay at its best value)."
)


def build(store, figdir: Path) -> Section:
    sec = Section(store.name, TITLE, store.spec.description, settings_of(store))
    frames = dataset(store)
    if not frames:
        return empty_section(sec)
    sec.tables.append(
        (
            (
                "How often and how much one agent can gain by deviating, every other report truthful (per variant and role; "
                "share_profitable = share of sampled agents whose best response gains > 1e-9, share_of_traders = the same "
                "among agents that trade under truthful reports, mean_max_gain = mean maximum gain over sampled agents; "
                "[lo, hi] = 95% bootstrap CI over instances; instances_with_a_gain counts sampled agents only, a lower bound)"
            ),
            frames["summary"],
        )
    )
    sec.tables.append(
        (
            (
                "Efficiency, profit and deficit under truthful reports, per variant (means over instances; welfare_share = "
                "true surplus / optimal surplus over useful pairs; capacity_gain_share = capacity gained over direct "
                "transmission / that of the pure MWM assignment; profit CI by bootstrap; time_ms includes the best-response "
                "searches)"
            ),
            frames["efficiency"],
        )
    )
    if not frames["tie_frequency"].empty:
        sec.tables.append(
            (
                (
                    "TASC as written, manipulation frequency by step-5 tie rule and denominator, side by side: the share "
                    "of all sampled agents with a profitable deviation (agents = n) and of the candidates among them, the "
                    "sampled agents with a phase-1 partner (candidates = n); pooled over assignment algorithms and roles, "
                    "per grid point and over all points"
                ),
                frames["tie_frequency"],
            )
        )
    if not frames["price_summary"].empty:
        sec.tables.append(
            (
                (
                    "The price of truthfulness: what trade reduction gives up against TASC as written on the same instances "
                    "(TASC − trade reduction; differs = share of instances where the number of trades differs)"
                ),
                frames["price_summary"],
            )
        )
    sec.data.append(("relay_manipulation_grid", frames["grid"]))
    sec.data.append(("relay_manipulation_instances", frames["instances"]))
    sec.figures.extend(figures(frames, figdir))
    sec.claims.extend(claims(frames))
    sec.notes.append(NOTE)
    return sec
