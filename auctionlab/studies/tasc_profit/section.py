"""Fig. 9 — the auctioneer's profit vs the number of relays m.

``dataset(store)`` shapes the stored runs into tidy frames, ``figures(frames, figdir)``
draws them, ``claims(frames)`` checks the paper's statements on them, and ``build`` puts
the three into a report section. Each step reads only its input, so it can be tested on
hand-made frames.

Two readings of the value distribution are kept side by side (the ``value_grid`` column):
bids and asks drawn from continuous distributions (the default; ``value_grid`` = 0), and
bids and asks on a 0.01 grid. The paper says profit is "mostly 0 because P^b = P^s"; with
continuous draws the boundary buyer's bid equals the boundary seller's ask with
probability 0, on a grid it happens often.

Tests fixed before looking at results: "profit < 1": the largest mean profit over
(algorithm, m) is below 1; "profit falls with m": the least-squares slope of per-instance
profit on m has its whole 95% CI below 0 (also shown over m ≥ n); "mostly zero": more
than half of the instances have profit exactly 0 (pooled over m; "partly" when that holds
at some m only).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from auctionlab.experiments.store import ResultStore
from auctionlab.report.metrics import fmt, group_mean_ci, ordered, pivot_ci, trend
from auctionlab.report.plots import COLORS, MARKERS, band, label, new_figure, save
from auctionlab.report.sections import Claim, Figure, Section, judge, settings_of

NAME = "tasc-profit"
PANEL = "abcdefghijkl"
GRID_MS = (50, 100, 150)  # where the grid reading's numbers are quoted


def reading(step: float) -> str:
    """The name of a value-resolution reading."""
    return "continuous values" if not step else f"values on a {step:g} grid"


def dataset(store: ResultStore) -> dict[str, pd.DataFrame]:
    """``runs`` (one row per instance × algorithm × rule, with ``value_grid``), ``profit``
    and ``zero`` (mean ± CI per rule, algorithm, m, value_grid)."""
    runs = store.table("runs")
    return frames_from_runs(runs)


def frames_from_runs(runs: pd.DataFrame) -> dict[str, pd.DataFrame]:
    if runs.empty:
        return {"runs": runs}
    runs = runs.copy()
    vg = store_param(runs, "value_grid", 0.0)
    runs["value_grid"] = vg
    runs["zero"] = runs["zero_profit"].astype(float)
    keys = ["rule", "algorithm", "value_grid", "m"]
    return {"runs": runs, "profit": group_mean_ci(runs, keys, "profit"), "zero": group_mean_ci(runs, keys, "zero")}


def store_param(runs: pd.DataFrame, col: str, default: float) -> pd.Series:
    """A grid column that only some grids set (missing = the default)."""
    if col not in runs:
        return pd.Series(default, index=runs.index, dtype=float)
    return runs[col].astype(float).fillna(default)


def _algs(runs):
    return ordered(runs["algorithm"].unique(), ["mwm", "ora", "mm"])


def _rules(runs):
    return ordered(runs["rule"].unique(), ["tasc", "trade_reduction"])


def figures(frames: dict[str, pd.DataFrame], figdir: Path, name: str = NAME) -> list[Figure]:
    runs = frames["runs"]
    if runs.empty:
        return []
    s = frames["profit"]
    algs, rules = _algs(runs), _rules(runs)
    steps = sorted(runs["value_grid"].unique())
    panels = [(r, 0.0) for r in rules if 0.0 in steps] + [("tasc", st) for st in steps if st and "tasc" in rules]
    fig, axes = new_figure(1, len(panels), width=4.6)
    for i, (ax, (rule, st)) in enumerate(zip(axes[0], panels)):
        for alg in algs:
            band(
                ax,
                s[(s["rule"] == rule) & (s["algorithm"] == alg) & (s["value_grid"] == st)],
                "m",
                color=COLORS.get(alg),
                marker=MARKERS.get(alg),
                name=label(alg),
            )
        extra = " (paper's Fig. 9)" if rule == "tasc" and not st else ""
        ax.set_title(f"({PANEL[i]}) {label(rule)}, {reading(st)}{extra}", fontsize=9)
        ax.set_xlabel("number of relays m")
        ax.set_ylabel("profit (mean, 95% CI)")
        ax.legend(fontsize=8)
    png, svg = save(fig, figdir, name)
    n = int(runs["n"].iloc[0])
    per = int(frames["profit"]["n"].min())
    return [
        Figure(
            name,
            (
                f"Auctioneer's profit vs m, n = {n}, at least {per} instances per point, mean with 95% bands. "
                "Panels: TASC as written with continuous values (the paper's figure), the truthful trade-reduction rule "
                "for comparison, and TASC with bids and asks on a 0.01 grid (the reading under which prices tie)."
            ),
            png,
            svg,
        )
    ]


def tables(frames: dict[str, pd.DataFrame]) -> list[tuple[str, pd.DataFrame]]:
    if frames["runs"].empty:
        return []
    out = []
    for st, s in frames["profit"].groupby("value_grid"):
        out.append(
            (
                f"Mean profit ± 95% CI half-width per m, {reading(st)} (columns: rule / algorithm)",
                pivot_ci(s, "m", ["rule", "algorithm"]),
            )
        )
    z = frames["zero"].assign(col=lambda d: d["rule"] + " / " + d["algorithm"] + " / " + d["value_grid"].map(reading))
    zt = z.pivot(index="m", columns="col", values="mean").round(4).reset_index()
    out.append(("Share of instances with profit exactly 0 (columns: rule / algorithm / reading)", zt))
    return out


def claims(frames: dict[str, pd.DataFrame]) -> list[Claim]:
    runs = frames["runs"]
    if runs.empty:
        return []
    out: list[Claim] = []
    tasc = runs[runs["rule"] == "tasc"]
    if tasc.empty:
        return out
    algs = _algs(tasc)
    n = int(tasc["n"].iloc[0])
    steps = sorted(tasc["value_grid"].unique())
    s_all = frames["profit"]
    for st in steps:
        t = tasc[tasc["value_grid"] == st]
        st_tab = s_all[(s_all["rule"] == "tasc") & (s_all["value_grid"] == st)]
        per_point = int(st_tab["n"].min())
        tag = f" [reading: {reading(st)}]"
        top = st_tab.loc[st_tab["mean"].idxmax()]
        out.append(
            Claim(
                "Profit is small: below 1 for all three assignment algorithms (Fig. 9)" + tag,
                judge(bool(st_tab["mean"].max() < 1), per_point),
                f"largest mean profit {fmt(top['mean'])} (95% CI up to {fmt(top['ci_high'])}) for "
                f"{label(top['algorithm'])} at m = {int(top['m'])}; means range {fmt(st_tab['mean'].min())} to "
                f"{fmt(st_tab['mean'].max())}; n = instances per point.",
                n=per_point,
            )
        )
        if t["m"].nunique() > 1:
            parts, all_down, any_down, flat_after = [], True, False, []
            for alg in algs:
                a = t[t["algorithm"] == alg]
                tr = trend(a["m"], a["profit"])
                after = a[a["m"] >= n]
                tra = trend(after["m"], after["profit"])
                all_down &= tr.decreasing
                any_down |= tr.decreasing
                if after["m"].nunique() > 1 and not tra.decreasing:
                    flat_after.append(label(alg))
                ends = st_tab[st_tab["algorithm"] == alg].sort_values("m")
                parts.append(
                    f"{label(alg)}: {fmt(ends['mean'].iloc[0])} at m = {int(ends['m'].iloc[0])} → "
                    f"{fmt(ends['mean'].iloc[-1])} at m = {int(ends['m'].iloc[-1])}, slope "
                    f"{fmt(tr.slope * 10)} per 10 relays (95% CI {fmt(tr.ci_low * 10)} to "
                    f"{fmt(tr.ci_high * 10)}); for m ≥ n: {fmt(tra.slope * 10)}"
                )
            ev = "; ".join(parts) + "."
            if all_down and flat_after:
                ev += f" The fall happens for m < n; for m ≥ n it is not significant ({', '.join(flat_after)})."
            ok = all_down and not flat_after
            out.append(
                Claim(
                    "Profit decreases as the number of sellers m grows (Fig. 9)" + tag,
                    judge(ok, per_point, partly=any_down),
                    ev,
                    n=per_point,
                )
            )
        zs = t.groupby("algorithm")["zero"].mean()
        by_m = t.groupby("m")["zero"].mean()
        prof_m = t.groupby("m")["profit"].mean()
        notrade = t.groupby("algorithm")["trades"].apply(lambda x: float((x == 0).mean()))
        quoted = [mm for mm in GRID_MS if mm in by_m.index] or list(by_m.index[:3])
        ev = (
            "share of instances with zero profit: "
            + ", ".join(f"{label(a)} {zs[a]:.1%}" for a in algs)
            + "; by m (all algorithms): "
            + ", ".join(f"{by_m[mm]:.0%} at m = {mm}" for mm in quoted)
            + ", mean profit "
            + " / ".join(fmt(prof_m[mm], 2) for mm in quoted)
            + "; instances with no trade at all: "
            + ", ".join(f"{label(a)} {notrade[a]:.1%}" for a in algs)
            + "."
        )
        if not st:
            ev += (
                " With continuous bids and asks the boundary buyer's bid and seller's ask coincide with "
                "probability 0, so P^b > P^s whenever anyone trades."
            )
        else:
            ev += f" On a {st:g} grid the boundary bid and ask tie often, so P^b = P^s and the profit is 0."
        out.append(
            Claim(
                "Profit is 0 in most instances, because P^b = P^s in most cases (§6.3)" + tag,
                judge(
                    bool((zs > 0.5).all()),
                    int(len(t) / max(len(algs), 1)),
                    partly=bool((zs > 0.5).any() or (by_m > 0.5).any()),
                ),
                ev,
                n=int(len(t) / max(len(algs), 1)),
            )
        )
    if len(steps) > 1:
        verdicts = {
            c.statement.rsplit("[reading: ", 1)[1].rstrip("]"): c.verdict
            for c in out
            if c.statement.startswith("Profit is 0")
        }
        out.append(
            Claim(
                "Which reading reproduces the paper's profit statements",
                "n/a",
                "; ".join(f"{r}: 'mostly 0' {v}" for r, v in verdicts.items())
                + ". The paper's statements fit values drawn at a finite resolution; its simulator most likely "
                "used discretised values.",
            )
        )
    return out


def build(store: ResultStore, figdir: Path) -> Section:
    sec = Section(store.name, "Fig. 9 — auctioneer's profit vs m", store.spec.description, settings_of(store))
    frames = dataset(store)
    if frames["runs"].empty:
        sec.notes.append("No runs are stored yet.")
        return sec
    sec.figures += figures(frames, figdir, store.name)
    sec.tables += tables(frames)
    sec.claims += claims(frames)
    sec.data.append(("fig9_profit", frames["profit"]))
    return sec
