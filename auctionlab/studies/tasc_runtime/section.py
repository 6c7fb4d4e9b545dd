"""Fig. 11 — running time of TASC (relay assignment + winner determination and pricing) vs m.

``dataset(store)`` -> tidy frames, ``figures(frames, figdir)``, ``claims(frames)``,
``build(store, figdir)`` (see :mod:`auctionlab.studies.tasc_profit.section`).

How the times are taken decides what they mean, and every verdict names its reading:

- **serial medians** (``timing_repeats`` = r > 0 in the spec, the catalog's setting): each
  run repeats every assignment and clearing r times in its own process and keeps the
  median (and quartiles) of the r times; the runner executes such runs one at a time with
  no worker beside them. The figure and the verdicts read the median over instances of
  these per-instance medians; the spread is the inter-quartile range over instances.
- **single timings** (results stored without repeats): one wall-clock time per auction,
  taken while other workers of the sweep may have shared the cores. Still read through
  medians (robust to descheduled outliers), and the verdicts say so.

Means are tabulated for comparison only, never judged.

Tests fixed before looking at results: "grows with m": the least-squares slope of the
per-m medians on m has its whole 95% CI above 0; "MM levels off once m ≥ n": the slope of
the medians for m ≥ n is below a third of their slope for m ≤ n ("partly" when merely smaller).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from auctionlab.experiments.store import ResultStore
from auctionlab.report.metrics import fmt, group_quantiles, ordered, trend
from auctionlab.report.plots import (
    COLORS,
    MARKERS,
    label,
    new_figure,
    quantile_band,
    save,
)
from auctionlab.report.sections import Claim, Figure, Section, judge, settings_of

NAME = "tasc-runtime"
FLATTEN_RATIO = 1 / 3  # "levels off": slope after m = n below a third of the slope before


def dataset(store: ResultStore) -> dict[str, pd.DataFrame]:
    return frames_from_runs(store.table("runs"))


def repeats_of(runs: pd.DataFrame) -> int:
    """The in-process repeats behind each stored time (0: single timings)."""
    if "time_repeats" not in runs or runs.empty or runs["time_repeats"].isna().any():
        return 0
    return int(runs["time_repeats"].min())


def reading(runs: pd.DataFrame) -> str:
    """The reading of the stored times, in words (named in every verdict)."""
    r = repeats_of(runs)
    if r:
        return (
            f"serial medians: each instance's time is the median of {r} in-process repeats, runs timed one at a "
            "time with no concurrent worker; median over instances"
        )
    return "single wall-clock timings per instance, possibly while workers shared the cores; median over instances"


def frames_from_runs(runs: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """``runs`` (TASC rows) -> ``time`` (median, quartiles, IQR and mean over instances per
    algorithm and m, of each instance's time: a serial median when the runs repeated it)
    and ``stages`` (median and mean of each stage, all m pooled)."""
    if runs.empty:
        return {"runs": runs}
    if "rule" in runs:
        runs = runs[runs["rule"] == "tasc"]
    stages = []
    for col in ("time_assign_ms", "time_clear_ms", "time_network_ms"):
        if col in runs:
            x = group_quantiles(runs, ["algorithm"], col)
            x.insert(0, "stage", col)
            stages.append(x)
    return {
        "runs": runs,
        "time": group_quantiles(runs, ["algorithm", "m"], "time_tasc_ms"),
        "stages": pd.concat(stages, ignore_index=True) if stages else pd.DataFrame(),
    }


def _algs(runs):
    return ordered(runs["algorithm"].unique(), ["mwm", "ora", "mm"])


def figures(frames, figdir: Path, name: str = NAME) -> list[Figure]:
    runs = frames["runs"]
    if runs.empty:
        return []
    s = frames["time"]
    algs = _algs(runs)
    fig, axes = new_figure(1, 2, width=4.6)
    for ax, shown, title in (
        (axes[0][0], algs, "(a) all algorithms"),
        (axes[0][1], [x for x in algs if x != "mwm"], "(b) without MWM (as in the paper)"),
    ):
        for alg in shown:
            quantile_band(
                ax, s[s["algorithm"] == alg], "m", color=COLORS.get(alg), marker=MARKERS.get(alg), name=label(alg)
            )
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("number of relays m")
        ax.set_ylabel("time per auction, ms (median, IQR)")
        ax.legend(fontsize=8)
    png, svg = save(fig, figdir, name)
    return [
        Figure(
            name,
            (
                f"Running time of TASC (relay assignment + winner determination and pricing) vs m, "
                f"n = {int(runs['n'].iloc[0])}, at least {int(s['n'].min())} instances per point: median with the "
                f"inter-quartile band over instances; reading: {reading(runs)}. Wall clock on this machine."
            ),
            png,
            svg,
        )
    ]


def tables(frames) -> list[tuple[str, pd.DataFrame]]:
    if frames["runs"].empty:
        return []
    s = frames["time"].copy()
    s["cell"] = [
        f"{fmt(md)} [{fmt(a)}, {fmt(b)}] (mean {fmt(mn)})"
        for md, a, b, mn in zip(s["median"], s["q25"], s["q75"], s["mean"])
    ]
    t = s.assign(col=s["algorithm"].map(label)).pivot(index="m", columns="col", values="cell").reset_index()
    out = [
        (
            f"Time per auction in ms: median [quartiles] over instances (mean, for comparison); "
            f"reading: {reading(frames['runs'])}",
            t,
        )
    ]
    if not frames["stages"].empty:
        out.append(
            (
                (
                    "Where the time goes (all m pooled): assignment, clearing, and building the network "
                    "(not part of the auction); medians, quartiles and means in ms"
                ),
                frames["stages"],
            )
        )
    return out


def claims(frames) -> list[Claim]:
    runs = frames["runs"]
    if runs.empty:
        return []
    s = frames["time"]
    algs = _algs(runs)
    n = int(runs["n"].iloc[0])
    per = int(s["n"].min())
    r = repeats_of(runs)
    tag = f"[reading: serial medians of {r} repeats]" if r else "[reading: medians of single timings]"
    how = f" Reading: {reading(runs)}; n = {per} instances per (algorithm, m)."
    out: list[Claim] = []
    if s["m"].nunique() < 3:
        return out
    parts, grow = [], True
    for alg in [x for x in algs if x in ("mwm", "ora")]:
        d = s[s["algorithm"] == alg]
        tr = trend(d["m"], d["median"])
        grow &= tr.increasing
        parts.append(
            f"{label(alg)}: median {fmt(d['median'].iloc[0])} ms at m = {int(d['m'].iloc[0])} → "
            f"{fmt(d['median'].iloc[-1])} ms at m = {int(d['m'].iloc[-1])}, slope of the medians "
            f"{fmt(tr.slope * 10)} ms per 10 relays (95% CI {fmt(tr.ci_low * 10)} to {fmt(tr.ci_high * 10)})"
        )
    if parts:
        out.append(
            Claim(
                f"For MWM and ORA the running time increases with m (Fig. 11) {tag}",
                judge(grow, per),
                "; ".join(parts) + "." + how,
                n=per,
            )
        )
    if "mm" in algs:
        d = s[s["algorithm"] == "mm"].sort_values("m")
        before, after = d[d["m"] <= n], d[d["m"] >= n]
        tb, ta = trend(before["m"], before["median"]), trend(after["m"], after["median"])
        ok = bool(tb.slope > 0 and ta.slope < FLATTEN_RATIO * tb.slope)
        mean_d = d.set_index("m")["mean"]
        out.append(
            Claim(
                f"For MM the running time first increases, then levels off once m ≥ n (Fig. 11) {tag}",
                judge(ok, per, partly=bool(ta.slope < tb.slope)),
                f"slope of the medians for m ≤ n: {fmt(tb.slope * 10)} ms per 10 relays; for m ≥ n: "
                f"{fmt(ta.slope * 10)} (levelling off = below {FLATTEN_RATIO:.2g} of the first); median "
                f"{fmt(d['median'].iloc[0])} ms at m = {int(d['m'].iloc[0])}, {fmt(d['median'].iloc[-1])} ms at "
                f"m = {int(d['m'].iloc[-1])} (IQR {fmt(d['iqr'].iloc[-1])}); the means ({fmt(mean_d.iloc[0])} → "
                f"{fmt(mean_d.iloc[-1])} ms) are not judged." + how,
                n=per,
            )
        )
    return out


def build(store: ResultStore, figdir: Path) -> Section:
    sec = Section(store.name, "Fig. 11 — running time of TASC vs m", store.spec.description, settings_of(store))
    frames = dataset(store)
    if frames["runs"].empty:
        sec.notes.append("No runs are stored yet.")
        return sec
    sec.figures += figures(frames, figdir, store.name)
    sec.tables += tables(frames)
    sec.claims += claims(frames)
    sec.data.append(("fig11_runtime", frames["time"]))
    sec.notes.append(
        "Absolute times depend on the machine and on the load; the paper used a 2 GHz Pentium with a "
        "different implementation, so only the shapes of the curves are comparable."
    )
    return sec
