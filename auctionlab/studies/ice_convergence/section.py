"""Report section of ``ice-convergence``: how ICE closes with the paper's bidder and with ``eager``.

``dataset(store)`` -> tidy frames, ``figures(frames, figdir)`` -> figures, ``claims(frames)``
-> claims, and ``build(store, figdir)`` composing them. Built from stored tables alone.

Frames:

- ``runs``: one row per (instance, grid point, bidder kind ``proxy``), with ``hit_max_rounds``
  (the run stopped at ``max_rounds``, not by its closing rule), ``no_trade`` (no trade at
  the optimistic values: PP = 0, so αeff = αthresh = 0 by definition and the run closes
  at once) and ``cell`` (the grid point as text);
- ``rounds``: αeff, αthresh, efficiency per round, each run carried forward to the longest
  run of its cell (a closed exchange keeps its final state);
- ``summary``: per (cell, proxy): runs, how many closed by the cutoffs / by no trade / by
  ``max_rounds``, the share of runs with trade stopped at ``max_rounds`` with a bootstrap CI, rounds, final αeff and αthresh, final efficiency,
  payment accuracy (RMS distance of the final payments from the truthful one-shot
  payments under the same rule) and, for runs that stopped at ``max_rounds``, how many
  had no activity-rule failure in their last ``QUIET`` rounds and how much αthresh still
  moved there (the stall's signature).

Claims are judged on the *main cell* (the grid point at the kind's default cutoffs and
step, and the smallest size, if several) and say "insufficient data (n = …)" below 30
instances. The reference bidder is the registry name ``straightforward`` (the paper's
bidder); ``eager`` is the extension that reveals a share of every gap each round. Runs
that stop at ``max_rounds`` are flagged in every table and left out of every verdict
except the one about closing.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from auctionlab.report.metrics import fmt, group_mean_ci, trend
from auctionlab.report.plots import band, new_figure, save
from auctionlab.report.sections import (
    MIN_N,
    Claim,
    Figure,
    Section,
    judge,
    settings_of,
)
from auctionlab.studies.ice_common import (
    ANALYSIS_STREAM,
    PALETTE,
    STALL_NOTE,
    STALLED,
    TOL,
    ci,
    ci_str,
    reduced_heading,
    rule,
    share_ci,
    stopped,
)

REFERENCE = "straightforward"  # the paper's bidder (registry name)
EXTENSION = "eager"  # reveals ρ of every gap each round (registry name)
QUIET = 5  # rounds at the end of a stalled run checked for activity-rule failures
CELL_KEYS = ("n_bidders", "n_goods", "cutoff_eff", "cutoff_thresh", "step")
DEFAULTS = {"cutoff_eff": 0.95, "cutoff_thresh": 0.9}


# ---------------------------------------------------------------------- dataset
def dataset(store: Any) -> dict[str, Any]:
    """The section's tidy frames from a stored experiment (see the module docstring)."""
    spec = store.spec
    runs, rounds = store.table("runs"), store.table("rounds")
    return frames_from(runs, rounds, params=dict(spec.params), master_seed=spec.master_seed, name=store.name)


def frames_from(
    runs: pd.DataFrame,
    rounds: pd.DataFrame,
    *,
    params: dict[str, Any] | None = None,
    master_seed: int = 0,
    name: str = "ice-convergence",
) -> dict[str, Any]:
    """:func:`dataset` on tables given directly (hand-made ones in tests)."""
    params = params or {}
    runs = runs.copy()
    if "proxy" not in runs:  # stored before bidder kinds were compared: one kind, the default
        runs["proxy"] = REFERENCE
    for k, v in (
        ("cutoff_eff", params.get("cutoff_eff", DEFAULTS["cutoff_eff"])),
        ("cutoff_thresh", params.get("cutoff_thresh", DEFAULTS["cutoff_thresh"])),
        ("step", params.get("step", math.nan)),
    ):
        if k not in runs:
            runs[k] = v
    runs["hit_max_rounds"] = stopped(runs["closed_by"])
    runs["no_trade"] = runs["closed_by"] == "no_optimistic_trade"
    keys = [k for k in CELL_KEYS if k in runs and runs[k].nunique(dropna=False) > 1]
    runs["cell"] = runs.apply(lambda r: cell_label({k: r[k] for k in keys}), axis=1) if keys else "all runs"
    main = main_cell(runs, params)
    runs["main"] = runs["cell"] == main
    if rounds is not None and not rounds.empty:
        rounds = rounds.copy()
        if "proxy" not in rounds:
            rounds["proxy"] = REFERENCE
        rounds = _filled(rounds, runs)
    else:
        rounds = pd.DataFrame(columns=["run_id", "proxy", "cell", "round", "alpha_eff", "alpha_thresh", "efficiency"])
    return {
        "name": name,
        "runs": runs,
        "rounds": rounds,
        "summary": summary(runs, rounds, master_seed),
        "main": main,
        "keys": keys,
        "params": params,
        "master_seed": master_seed,
        "cutoff_thresh": float(params.get("cutoff_thresh", DEFAULTS["cutoff_thresh"])),
    }


def cell_label(values: dict[str, Any]) -> str:
    names = {
        "step": "ρ",
        "n_bidders": "bidders",
        "n_goods": "goods",  # m is the relays' symbol (the TASC paper's); goods get their word
        "cutoff_eff": "CUTOFF_eff",
        "cutoff_thresh": "CUTOFF_thresh",
    }
    return (
        ", ".join(
            f"{names.get(k, k)} = {fmt(float(v)) if isinstance(v, (int, float, np.number)) else v}"
            for k, v in values.items()
        )
        or "all runs"
    )


def main_cell(runs: pd.DataFrame, params: dict[str, Any]) -> str:
    """The cell the verdicts rest on: default cutoffs and step, smallest size; else the largest cell."""
    sel = runs
    for k in ("cutoff_eff", "cutoff_thresh"):
        want = float(params.get(k, DEFAULTS[k]))
        hit = sel[np.isclose(sel[k].astype(float), want)]
        sel = hit if not hit.empty else sel
    if "step" in sel and sel["step"].nunique() > 1:
        want = params.get("step", 0.5)
        hit = sel[np.isclose(sel["step"].astype(float), float(want if want is not None else 0.5))]
        sel = hit if not hit.empty else sel
    for k in ("n_bidders", "n_goods"):
        if k in sel and sel[k].nunique() > 1:
            sel = sel[sel[k] == sel[k].min()]
    if sel.empty:
        return str(runs["cell"].value_counts().index[0])
    return str(sel["cell"].value_counts().index[0])


def _filled(rounds: pd.DataFrame, runs: pd.DataFrame) -> pd.DataFrame:
    cols = [c for c in ("alpha_eff", "alpha_thresh", "efficiency", "rp_failures") if c in rounds]
    r = rounds[["run_id", "proxy", "round", *cols]].merge(
        runs[["run_id", "proxy", "cell", "hit_max_rounds", "no_trade"]], on=["run_id", "proxy"]
    )
    parts = []
    for _, g in r.groupby(["cell", "proxy"], sort=True):
        last = int(g["round"].max())
        for (rid, proxy), h in g.groupby(["run_id", "proxy"]):
            h = h.set_index("round").reindex(range(last + 1)).ffill()
            h["run_id"], h["proxy"] = rid, proxy
            parts.append(h.reset_index())
    return pd.concat(parts, ignore_index=True) if parts else r


def _stall(rounds: pd.DataFrame, runs: pd.DataFrame) -> pd.DataFrame:
    """Per stalled run: any RP failure in its last QUIET rounds, αthresh's change over them."""
    out = []
    for r in runs[runs["hit_max_rounds"]].itertuples():
        h = rounds[(rounds["run_id"] == r.run_id) & (rounds["proxy"] == r.proxy) & (rounds["round"] < r.rounds)]
        # a stalled run's last round before the last-and-final one is the round every later one repeats
        tail = h[h["round"] >= r.rounds - (2 if r.closed_by == STALLED else QUIET)]
        quiet = bool((tail.get("rp_failures", pd.Series(dtype=float)).fillna(0) == 0).all())
        at = tail["alpha_thresh"].astype(float).to_numpy() if "alpha_thresh" in tail else np.array([])
        at = at[np.isfinite(at)]
        out.append(
            {
                "run_id": r.run_id,
                "proxy": r.proxy,
                "quiet": quiet,
                "alpha_thresh_move": float(at.max() - at.min()) if at.size else math.nan,
            }
        )
    return pd.DataFrame(out, columns=["run_id", "proxy", "quiet", "alpha_thresh_move"])


def summary(runs: pd.DataFrame, rounds: pd.DataFrame, master_seed: int = 0) -> pd.DataFrame:
    """Per (cell, proxy): closing shares with CIs, rounds, final α's, efficiency, payment accuracy, stall signature."""
    gen = np.random.default_rng(np.random.SeedSequence(master_seed, spawn_key=(ANALYSIS_STREAM,)))
    stall = (
        _stall(rounds, runs)
        if not rounds.empty
        else pd.DataFrame(columns=["run_id", "proxy", "quiet", "alpha_thresh_move"])
    )
    rows = []
    for (cell, proxy), g in runs.groupby(["cell", "proxy"], sort=True):
        mr = share_ci(g.loc[~g["no_trade"], "hit_max_rounds"], gen)  # among runs with trade, as in the claims
        closed = g[~g["hit_max_rounds"]]
        st = stall[(stall["proxy"] == proxy) & stall["run_id"].isin(g.loc[g["hit_max_rounds"], "run_id"])]
        rows.append(
            {
                "cell": cell,
                "proxy": proxy,
                "runs": len(g),
                "with_trade": int((~g["no_trade"]).sum()),
                "closed_by_cutoffs": int((g["closed_by"] == "cutoffs").sum()),
                "closed_by_no_trade": int(g["no_trade"].sum()),
                "hit_max_rounds": int(g["hit_max_rounds"].sum()),
                "share_max_rounds": mr[0],
                "share_max_rounds_lo": mr[1],
                "share_max_rounds_hi": mr[2],
                "rounds": float(g["rounds"].mean()),
                "final_alpha_eff": float(g["final_alpha_eff"].mean()),
                "final_alpha_thresh": float(g["final_alpha_thresh"].mean()) if "final_alpha_thresh" in g else math.nan,
                "efficiency": float(g["efficiency"].mean()),
                "efficiency_closed": float(closed["efficiency"].mean()) if len(closed) else math.nan,
                "payment_rms": float(g["payment_rms_vs_truth"].mean()),
                "payment_rms_closed": float(closed["payment_rms_vs_truth"].mean()) if len(closed) else math.nan,
                "stalled_quiet": int(st["quiet"].sum()) if len(st) else 0,
                "stalled_alpha_thresh_move": float(st["alpha_thresh_move"].mean()) if len(st) else math.nan,
                "stalled_final_alpha_thresh": float(g.loc[g["hit_max_rounds"], "final_alpha_thresh"].mean())
                if g["hit_max_rounds"].any() and "final_alpha_thresh" in g
                else math.nan,
            }
        )
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------- figures
def figures(frames: dict[str, Any], figdir: Path) -> list[Figure]:
    runs, rounds, name, main = frames["runs"], frames["rounds"], frames["name"], frames["main"]
    out: list[Figure] = []
    if runs.empty:
        return out
    proxies = list(dict.fromkeys(runs["proxy"]))
    color = {p: PALETTE[i % len(PALETTE)] for i, p in enumerate(proxies)}
    r = rounds[(rounds["cell"] == main) & ~rounds["no_trade"].astype(bool)] if not rounds.empty else rounds
    fig, axes = new_figure(1, 3, width=4.2, height=3.2)
    for p in proxies:
        g = r[r["proxy"] == p] if not r.empty else r
        for ax, col in zip(axes[0], ("alpha_eff", "alpha_thresh", "efficiency")):
            if not g.empty and col in g and g[col].notna().any():
                band(
                    ax,
                    group_mean_ci(g.dropna(subset=[col]), ["round"], col),
                    "round",
                    color=color[p],
                    marker="o",
                    name=p,
                )
    for ax, title in zip(axes[0], ("αeff per round", "αthresh per round", "efficiency of $\\lambda^t$")):
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("round")
        ax.set_ylim(-0.02, 1.05)
        ax.legend(fontsize=7, loc="lower right")
    axes[0][1].axhline(frames["cutoff_thresh"], color="grey", linestyle=":", linewidth=1)
    png, svg = save(fig, figdir, f"{name}-alpha")
    out.append(
        Figure(
            f"{name}-alpha",
            (
                f"Main cell ({main}): αeff, αthresh and the provisional trade's efficiency per round, mean over instances "
                "with trade at the optimistic values, 95% bands; a closed run keeps its last value. Dotted: CUTOFF_thresh. "
                f"'{REFERENCE}' is the paper's bidder, '{EXTENSION}' the extension that reveals a share of every gap each "
                "round."
            ),
            png,
            svg,
        )
    )

    fig2, axes2 = new_figure(1, 2, width=4.4, height=3.2)
    s = frames["summary"]
    cells = list(dict.fromkeys(s["cell"]))
    x = np.arange(len(cells))
    w = 0.8 / max(len(proxies), 1)
    for i, p in enumerate(proxies):
        sp = s[s["proxy"] == p].set_index("cell").reindex(cells)
        axes2[0][0].bar(
            x + i * w,
            sp["share_max_rounds"],
            width=w,
            color=color[p],
            label=p,
            yerr=[
                sp["share_max_rounds"] - sp["share_max_rounds_lo"],
                sp["share_max_rounds_hi"] - sp["share_max_rounds"],
            ],
            capsize=2,
        )
        axes2[0][1].bar(x + i * w, sp["rounds"], width=w, color=color[p], label=p)
    for ax, title in zip(axes2[0], ("share of runs stopped by max_rounds (95% CI)", "mean rounds")):
        ax.set_xticks(x + 0.4 - w / 2, cells, rotation=30, ha="right", fontsize=6)
        ax.set_title(title, fontsize=9)
        ax.legend(fontsize=7)
    png, svg = save(fig2, figdir, f"{name}-cutoffs")
    out.append(
        Figure(
            f"{name}-cutoffs",
            (
                "Per grid point and bidder kind: the share of runs that stopped at max_rounds instead of closing by the "
                "rule, and the mean rounds."
            ),
            png,
            svg,
        )
    )

    fig3, ax3 = new_figure(1, 1, width=4.6, height=3.2)
    for p in proxies:
        sp = s[s["proxy"] == p].set_index("cell").reindex(cells)
        ax3[0][0].plot(x, sp["efficiency"], marker="o", color=color[p], label=f"{p}: all runs")
        ax3[0][0].plot(
            x, sp["efficiency_closed"], marker="s", linestyle="--", color=color[p], label=f"{p}: closed by the rule"
        )
    ax3[0][0].set_xticks(x, cells, rotation=30, ha="right", fontsize=6)
    ax3[0][0].set_ylabel("final efficiency (mean)")
    ax3[0][0].legend(fontsize=6)
    png, svg = save(fig3, figdir, f"{name}-efficiency")
    out.append(
        Figure(
            f"{name}-efficiency",
            (
                "Final efficiency per grid point and bidder kind, over all runs and over the runs closed by the rule "
                "(runs stopped at max_rounds left out)."
            ),
            png,
            svg,
        )
    )
    return out


# ---------------------------------------------------------------------- claims
def _main(frames: dict[str, Any], proxy: str) -> pd.DataFrame:
    runs = frames["runs"]
    return runs[runs["main"] & (runs["proxy"] == proxy)]


def claims(frames: dict[str, Any]) -> list[Claim]:
    runs = frames["runs"]
    out: list[Claim] = []
    if runs.empty:
        return out
    gen = np.random.default_rng(np.random.SeedSequence(frames["master_seed"], spawn_key=(ANALYSIS_STREAM, 1)))
    s = frames["summary"]
    main = frames["main"]
    proxies = list(dict.fromkeys(runs["proxy"]))
    for p in proxies:
        g = _main(frames, p)
        trade = g[~g["no_trade"]]
        n = len(trade)
        stalled = trade["hit_max_rounds"]
        row = s[(s["cell"] == main) & (s["proxy"] == p)]
        quiet = int(row["stalled_quiet"].iloc[0]) if len(row) else 0
        move = float(row["stalled_alpha_thresh_move"].iloc[0]) if len(row) else math.nan
        est = share_ci(stalled, gen) if n else (math.nan,) * 3
        who = "the paper's bidder" if p == REFERENCE else ("the eager extension" if p == EXTENSION else p)
        ev = (
            f"{main}, {n} instances with trade at the optimistic values: {int(stalled.sum())} stopped at "
            f"max_rounds or stalled (share {ci_str(*est)}), {int((trade['closed_by'] == 'cutoffs').sum())} closed by the "
            f"cutoffs; mean rounds {fmt(float(trade['rounds'].mean())) if n else 'n/a'}."
        )
        if stalled.any():
            ev += (
                f" Of the stalled runs, {quiet} had no activity-rule failure in their last {QUIET} rounds and "
                f"αthresh moved by {fmt(move)} on average there (final αthresh "
                f"{fmt(float(trade.loc[stalled, 'final_alpha_thresh'].mean()))}, cutoff "
                f"{fmt(frames['cutoff_thresh'])}): the bidders satisfy the rule while the payment gap stays open."
            )
        out.append(
            Claim(
                f"With {who} ({p}), ICE closes by its rule (cutoffs) within max_rounds",
                judge(not stalled.any(), n, partly=bool((~stalled).any())),
                ev,
                n,
                headline=2 if p == REFERENCE else None,
            )
        )
    # efficiency and payment accuracy of runs that closed by the rule
    for p in proxies:
        g = _main(frames, p)
        closed = g[~g["hit_max_rounds"] & ~g["no_trade"]]
        eff = closed["efficiency"].astype(float)
        n = len(closed)
        excl = int(g["hit_max_rounds"].sum())
        out.append(
            Claim(
                f"{p}: the final trade is efficient on every run that closes by the rule",
                judge(bool((eff >= 1 - TOL).all()), n, partly=bool((eff >= 1 - TOL).mean() >= 0.9) if n else False),
                f"{main}: {int((eff >= 1 - TOL).sum())} of {n} efficient, mean {fmt(float(eff.mean())) if n else 'n/a'} "
                f"({excl} runs that stopped at max_rounds left out).",
                n,
            )
        )
        e = ci(closed["payment_rms_vs_truth"], gen)
        t = float(closed["truthful_payment_rms"].mean()) if n and "truthful_payment_rms" in closed else math.nan
        out.append(
            Claim(
                f"{p}: final payments are within 10% of the truthful one-shot payments (RMS over bidders, relative "
                "to the RMS of the truthful payments)",
                judge(bool(e[0] <= 0.1 * t), n, partly=bool(e[1] <= 0.1 * t)),
                f"{main}: mean RMS distance {ci_str(*e)} vs truthful payments' RMS {fmt(t) if n else 'n/a'} ({excl} "
                "max_rounds runs left out).",
                n,
            )
        )
    # rounds along CUTOFF_thresh and ρ (runs closed by the rule). The claim is made for every
    # bidder kind swept over the key, with n = the smallest number of closed runs per value:
    # when (almost) every run stopped at max_rounds it reads "insufficient data", it is not dropped.
    for key, label, sign in (("cutoff_thresh", "CUTOFF_thresh", 1), ("step", "the proxy step ρ", -1)):
        if key not in frames["keys"]:
            continue
        for p in proxies:
            swept = runs[(runs["proxy"] == p) & ~runs["no_trade"]]
            other = [k for k in frames["keys"] if k != key]
            if other:  # the sweep: every other key at the main cell's value
                m = runs[runs["main"]].iloc[0]
                for k in other:
                    swept = swept[np.isclose(swept[k].astype(float), float(m[k]))]
            values = sorted(swept[key].dropna().unique())
            if len(values) < 2:
                continue  # this bidder kind was not swept over the key
            d = swept[~swept["hit_max_rounds"]]
            counts = d.groupby(key).size().reindex(values, fill_value=0)
            n = int(counts.min())
            statement = (
                f"{p}: rounds to close {'grow with' if sign > 0 else 'fall as'} {label} {'rises' if sign < 0 else ''}"
            ).strip()
            per_value = ", ".join(
                f"{int(c)} of {int((swept[key] == v).sum())} at {fmt(float(v))}" for v, c in counts.items()
            )
            if d[key].nunique() < 2:
                out.append(
                    Claim(
                        statement,
                        judge(False, n),
                        f"runs with trade closed by the rule per value: {per_value}; the others stopped at "
                        "max_rounds and are left out, so no trend can be estimated (see the closing "
                        "claim above); n = smallest number of closed runs per value.",
                        n,
                    )
                )
                continue
            tr = trend(d[key], d["rounds"])
            means = d.groupby(key)["rounds"].mean()
            ok = tr.ci_low > 0 if sign > 0 else tr.ci_high < 0
            out.append(
                Claim(
                    statement,
                    judge(bool(ok), n, partly=bool(tr.slope * sign > 0)),
                    "mean rounds "
                    + ", ".join(f"{fmt(v)} at {fmt(float(k))}" for k, v in means.items())
                    + f"; slope {fmt(tr.slope)} (95% CI {fmt(tr.ci_low)} to {fmt(tr.ci_high)}); runs with trade closed "
                    f"by the rule per value: {per_value} (runs stopped at max_rounds left out); n = smallest number "
                    "of closed runs per value.",
                    n,
                )
            )
    bb = runs
    if "budget_surplus" in bb:
        rule_name = frames["params"].get("payment_rule", "threshold")
        balanced = bool(rule(rule_name).budget_balanced) if isinstance(rule_name, str) else True
        if balanced:
            ok = bool((bb["budget_surplus"] >= -TOL).all())
            out.append(
                Claim(
                    f"{rule(rule_name).label} payments are budget balanced: Σ payments ≥ 0 on every run",
                    "agrees" if ok else "disagrees",
                    f"budget surplus min {fmt(float(bb['budget_surplus'].min()))}, max "
                    f"{fmt(float(bb['budget_surplus'].max()))} over {len(bb)} runs.",
                    len(bb),
                )
            )
    return out


def finding(frames: dict[str, Any]) -> str | None:
    """The stall, stated as a finding with its rate and its reason (None without the paper's bidder)."""
    g = _main(frames, REFERENCE)
    trade = g[~g["no_trade"]]
    if trade.empty:
        return None
    k, n = int(trade["hit_max_rounds"].sum()), len(trade)
    size = "" if n >= MIN_N else f" — too few to estimate the rate well (n = {n} < {MIN_N})"
    return (
        f"Finding: with the paper's bidder ({REFERENCE}: it reveals only what the activity rule requires), "
        f"{k} of {n} runs with trade ({k / n:.0%}) stop at max_rounds instead of closing by the rule{size}. "
        "Why: revealed preference constrains only the bidders' relative preferences (which trade they prefer "
        "at the prices), so a bidder who passes the rule — typically one who loses at the current prices — "
        "never has to narrow its bounds; Threshold payments depend on absolute values (each bidder's "
        "marginal contribution), so the payments at the upper and lower bounds stay apart and αthresh "
        "plateaus below CUTOFF_thresh. The eager extension closes because it narrows every gap each round, "
        "which the rule does not ask for."
    )


def stall_finding(reference: str, stalled: int, with_trade: int, valid: int, what: str) -> str | None:
    """The baseline stall of the strategy studies, stated as a finding (None when no baseline
    instance with trade stalled): ``stalled`` of ``with_trade`` instances with trade whose
    all-``reference`` run stopped at ``max_rounds``; ``valid`` instances remain for ``what``."""
    if with_trade <= 0 or stalled <= 0:
        return None
    short = (
        (
            f' — below {MIN_N}, so those verdicts read "insufficient data (n = …)", honestly: the sample is '
            "what the reference bidder leaves, not a sizing error"
        )
        if valid < MIN_N
        else ""
    )
    if reference == REFERENCE:
        why = (
            "Why: the paper's bidder reveals only what the activity rule requires; bidders who pass the rule "
            "never narrow their bounds, so the Threshold payments at the upper and lower bounds stay apart, "
            "αthresh plateaus below CUTOFF_thresh and the run ends at max_rounds (see the ice-convergence "
            "section). The baseline stays the paper's bidder; the eager extension, which closes, would "
            "answer a different question."
        )
    else:
        why = (
            f"The reference bidder {reference} stalls: its runs end at max_rounds instead of closing by the rule "
            "(see the ice-convergence section)."
        )
    return (
        f"Finding: in the all-{reference} baseline {stalled} of {with_trade} instances with trade "
        f"({stalled / with_trade:.0%}) stopped at max_rounds. Instances with a stalled run are left out of "
        f"every verdict, so at most {valid} remain for {what}{short}. {why}"
    )


# ---------------------------------------------------------------------- the section
def build(store: Any, figdir: Path) -> Section:
    spec = store.spec
    sec = Section(
        store.name,
        "ICE convergence: the paper's bidder and the eager extension" + reduced_heading(store),
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
                "Per grid point and bidder kind: how runs closed (runs stopped at max_rounds flagged, with "
                "the share's 95% CI), rounds, final αeff / αthresh, final efficiency (all runs, and runs "
                "closed by the rule), payment accuracy (RMS distance from the truthful one-shot payments), "
                f"and for stalled runs: how many had no activity-rule failure in their last {QUIET} rounds "
                "and how much αthresh moved there"
            ),
            frames["summary"],
        )
    )
    sec.claims.extend(claims(frames))
    text = finding(frames)
    if text:
        sec.notes.append(text)
    sec.notes.append(STALL_NOTE)
    keep = [
        c
        for c in ("run_id", "proxy", "cell", "round", "alpha_eff", "alpha_thresh", "efficiency")
        if c in frames["rounds"]
    ]
    sec.data.append((f"{store.name}_rounds", frames["rounds"][keep]))
    sec.data.append((f"{store.name}_runs", frames["runs"]))
    return sec


__all__ = ["build", "claims", "dataset", "figures", "finding", "frames_from", "stall_finding", "summary"]
