"""Report section of ``tournament-exchange``: exchange proxies against each other.

``dataset(store)`` -> tidy frames, ``figures(frames, figdir)`` -> figures, ``claims(frames)``
-> claims, ``build(store, figdir)`` composing them. Built from stored tables alone.

Frames:

- ``profiles``: the stored tournament rows, one per (instance, focal proxy a = ``player``,
  background b = ``opponent``) with ``hit_max_rounds`` flagged;
- ``results``: the :class:`~auctionlab.tournament.ResultSet` of those rows (one repetition
  per instance; instances missing a profile dropped) — what ``Tournament(...).play()``
  returns for the same seeds; ``u`` = its payoffs U[r, a, b], A = mean over instances;
- ``entry``: long, one row per (instance, entrant a, payment rule): a lone a-proxy's
  utility in an all-reference population minus the reference's own there, ``valid`` when
  the all-reference run trades and neither run stopped at ``max_rounds``;
- ``board``: the result set's leaderboard (``summarise()``) with the diagonal and the
  number of profiles that hit ``max_rounds``.

The section also tabulates a Moran process on A: the fixation probability of each proxy
invading a population of the reference proxy, with its interval and n.

Claims: the reference (``reference`` in the spec, by registry name) is a best response to
itself; Threshold vs the other budget-balanced rules on the entrants' gains (the paper's
claim, VCG as the truthful reference); the replicator dynamics settle. Each carries n
(valid instances) and reads "insufficient data" below 30.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from auctionlab.errors import ConfigError, InvalidInputError
from auctionlab.games import replicator_trajectory
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
from auctionlab.studies.tournament_common import moran_caption, moran_table, result_set
from auctionlab.tournament.plot import draw_payoff

REPLICATOR_STEPS, REPLICATOR_DT, REPLICATOR_BOOT = 1500, 0.1, 100
DESIGN = "threshold"


def payoff_samples(runs: pd.DataFrame, value: str = "payoff") -> tuple[list[str], np.ndarray]:
    """Strategies (in the order first seen) and the per-instance payoff array U[r, a, b]: the
    :class:`~auctionlab.tournament.ResultSet` of the stored rows (instances with a missing
    profile dropped), repetitions first."""
    rs = result_set(runs, value=value)
    return rs.players, rs.payoffs.transpose(2, 0, 1)


def replicator_from_samples(u: np.ndarray, steps: int = REPLICATOR_STEPS, dt: float = REPLICATOR_DT) -> np.ndarray:
    """Replicator trajectory from equal shares on the mean payoff matrix, rescaled to max |A| = 1."""
    a = u.mean(axis=0)
    scale = float(np.max(np.abs(a))) or 1.0
    k = a.shape[0]
    return replicator_trajectory(a / scale, np.full(k, 1.0 / k), steps=steps, dt=dt)


def _reference_key(runs: pd.DataFrame, params: dict[str, Any]) -> str | None:
    """The strategies-table key of the reference proxy (matched by registry name)."""
    from auctionlab.strategies.registry import strategy_from_spec

    ref = params.get("reference", "straightforward")
    keys = list(dict.fromkeys(runs["player"]))
    if isinstance(ref, str) and ref in keys:
        return ref
    try:
        want = strategy_from_spec(ref).label
        table = params.get("strategies") or {}
        for k in keys:
            if k in table and strategy_from_spec(table[k]).label == want:
                return k
    except (KeyError, TypeError, ConfigError):  # a reference the table cannot name: the first strategy
        pass
    return keys[0] if keys else None


# ---------------------------------------------------------------------- dataset
def dataset(store: Any) -> dict[str, Any]:
    spec = store.spec
    return frames_from(store.table("runs"), params=dict(spec.params), master_seed=spec.master_seed, name=store.name)


def frames_from(
    runs: pd.DataFrame, *, params: dict[str, Any] | None = None, master_seed: int = 0, name: str = "tournament-exchange"
) -> dict[str, Any]:
    params = params or {}
    prof = runs.copy()
    frames: dict[str, Any] = {"name": name, "profiles": prof, "params": params, "master_seed": master_seed}
    if prof.empty:
        frames.update(results=None, strategies=[], u=np.zeros((0, 0, 0)), entry=pd.DataFrame(), ref=None, rules=[])
        return frames
    prof["hit_max_rounds"] = stopped(prof["closed_by"])
    try:
        results = result_set(prof)
    except InvalidInputError:  # no instance with every profile stored yet
        frames.update(results=None, strategies=[], u=np.zeros((0, 0, 0)), entry=pd.DataFrame(), ref=None, rules=[])
        return frames
    strategies, u = results.players, results.payoffs.transpose(2, 0, 1)
    ref = _reference_key(prof, params)
    rules = rules_in(list(prof.columns), "payoff_")
    rows = []
    if ref is not None:
        home = prof[(prof["player"] == ref) & (prof["opponent"] == ref)].set_index("run_id")
        for a in strategies:
            if a == ref:
                continue
            ent = prof[(prof["player"] == a) & (prof["opponent"] == ref)].set_index("run_id")
            common = ent.index.intersection(home.index)
            traded = home.loc[common, "traded_units"] > 0 if "traded_units" in home else pd.Series(True, index=common)
            valid = traded & ~home.loc[common, "hit_max_rounds"] & ~ent.loc[common, "hit_max_rounds"]
            for r in rules or [None]:
                col = f"payoff_{r.name}" if r is not None else "payoff"
                for rid in common:
                    rows.append(
                        {
                            "entrant": a,
                            "run_id": rid,
                            "rule": r.name if r is not None else params.get("payment_rule", DESIGN),
                            "gain": float(ent.at[rid, col] - home.at[rid, col]),
                            "valid": bool(valid[rid]),
                        }
                    )
    frames.update(
        results=results,
        strategies=strategies,
        u=u,
        ref=ref,
        rules=rules,
        entry=pd.DataFrame(rows, columns=["entrant", "run_id", "rule", "gain", "valid"]),
    )
    frames["board"] = board(frames)
    return frames


def _gen(frames: dict[str, Any], k: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(frames["master_seed"], spawn_key=(ANALYSIS_STREAM, k)))


def board(frames: dict[str, Any]) -> pd.DataFrame:
    """The result set's leaderboard (:meth:`ResultSet.summarise`: score = mean focal utility against
    the *other* proxies, t interval over instances) with each proxy among its own kind (the
    diagonal, bootstrap CI), the efficiency and rounds of homogeneous populations and the
    profiles that stopped at max_rounds."""
    u, results, prof = frames["u"], frames["results"], frames["profiles"]
    if u.shape[0] == 0:
        return pd.DataFrame()
    gen = _gen(frames, 0)
    out = results.summarise().rename(columns={"repetitions": "instances"})
    extra = []
    for s in out["strategy"]:
        i = results.players.index(s)
        home = ci(u[:, i, i], gen)
        mine = prof[prof["player"] == s]
        diag = prof[(prof["player"] == s) & (prof["opponent"] == s)]
        extra.append(
            {
                "homogeneous": home[0],
                "homogeneous_lo": home[1],
                "homogeneous_hi": home[2],
                "homogeneous_efficiency": float(diag["efficiency"].mean()),
                "homogeneous_rounds": float(diag["rounds"].mean()),
                "profiles": len(mine),
                "profiles_max_rounds": int(mine["hit_max_rounds"].sum()),
            }
        )
    return pd.concat([out.drop(columns=["median", "sd"]), pd.DataFrame(extra)], axis=1)


def entry_table(frames: dict[str, Any]) -> pd.DataFrame:
    e = frames["entry"]
    if e.empty:
        return pd.DataFrame()
    gen = _gen(frames, 1)
    rows = []
    for (a, r), every in e.groupby(["entrant", "rule"], sort=False):
        g = every[every["valid"]]
        est = ci(g["gain"], gen)
        design = e[e["valid"] & (e["entrant"] == a) & (e["rule"] == DESIGN)].set_index("run_id")["gain"]
        mine = g.set_index("run_id")["gain"]
        common = design.index.intersection(mine.index)
        diff = paired_ci(design[common], mine[common], gen) if r != DESIGN else (math.nan,) * 3
        rows.append(
            {
                "entrant": a,
                "rule": r,
                "n": len(g),
                "gain": est[0],
                "gain_lo": est[1],
                "gain_hi": est[2],
                "threshold_minus_rule": diff[0],
                "diff_lo": diff[1],
                "diff_hi": diff[2],
                "excluded": int((~every["valid"]).sum()),
            }
        )
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------- figures
def figures(frames: dict[str, Any], figdir: Path) -> list[Figure]:
    u, strategies = frames["u"], frames["strategies"]
    if u.shape[0] == 0:
        return []
    k, n_inst = len(strategies), u.shape[0]
    b = frames["board"]
    gen = _gen(frames, 2)
    traj = replicator_from_samples(u)
    boots = []
    for _ in range(REPLICATOR_BOOT):
        idx = gen.integers(0, n_inst, size=n_inst)
        try:
            boots.append(replicator_from_samples(u[idx]))
        except (ConfigError, InvalidInputError):
            continue
    boots_a = np.array(boots) if boots else traj[None]
    frames["replicator"] = (traj, boots_a)
    t = np.arange(traj.shape[0]) * REPLICATOR_DT
    fig, axes = new_figure(1, 3, width=4.4, height=3.6)
    ax = axes[0][0]
    yy = np.arange(k)
    ax.errorbar(
        b["mean"],
        yy,
        xerr=[b["mean"] - b["ci_low"], b["ci_high"] - b["mean"]],
        fmt="o",
        color=PALETTE[0],
        capsize=2,
        label="vs the other proxies",
    )
    ax.errorbar(
        b["homogeneous"],
        yy + 0.2,
        fmt="s",
        color=PALETTE[1],
        capsize=2,
        markersize=3.5,
        xerr=[b["homogeneous"] - b["homogeneous_lo"], b["homogeneous_hi"] - b["homogeneous"]],
        label="among its own kind",
    )
    ax.set_yticks(yy, b["strategy"])
    ax.set_ylim(k - 0.5, -1.4)
    ax.set_xlabel("focal bidder's utility (mean, 95% CI)")
    ax.set_title("(a) leaderboard", fontsize=9)
    ax.legend(fontsize=7, loc="upper right", ncol=2)
    ax = draw_payoff(frames["results"].payoff_frame(), axes[0][1], title="(b) payoff matrix A[a, b]")
    ax.set_xlabel("background (everyone else)")
    ax.set_ylabel("focal bidder")
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
    name = frames["name"]
    png, svg = save(fig, figdir, name)
    return [
        Figure(
            name,
            (
                f"{n_inst} random exchange{'s' if n_inst != 1 else ''}; in each, a focal bidder (drawn from the run's seed) plays proxy a while all "
                "others play b, for every ordered pair (the tournament API's invasion format). (a) the tournament score "
                "(mean focal utility against the other proxies, 95% t interval over instances) and among its own kind "
                "(diagonal, 95% bootstrap CI); (b) A[a, b] in rank order; (c) one-population replicator dynamics on A "
                "from equal shares, bands from "
                f"{len(boots)} bootstrap resamples of the instances."
            ),
            png,
            svg,
        )
    ]


# ---------------------------------------------------------------------- claims
def claims(frames: dict[str, Any]) -> list[Claim]:
    out: list[Claim] = []
    u, strategies, ref = frames["u"], frames["strategies"], frames["ref"]
    if u.shape[0] == 0 or ref is None:
        return out
    et = entry_table(frames)
    own = frames["params"].get("payment_rule", DESIGN)
    if not et.empty:
        mine = et[et["rule"] == own]
        sig = mine[mine["gain_lo"] > TOL]
        pos = mine[mine["gain"] > TOL]
        n = int(mine["n"].min()) if len(mine) else 0
        ok = pos.empty
        out.append(
            Claim(
                f"{ref} is a best response to itself: no proxy gains by entering an all-{ref} population",
                judge(ok, n, partly=sig.empty),
                "gain of a lone entrant over the incumbent's utility (paired, 95% CI; instances with trade and no run "
                "stopped at max_rounds): "
                + "; ".join(f"{x.entrant}: {ci_str(x.gain, x.gain_lo, x.gain_hi)}" for x in mine.itertuples())
                + ".",
                n,
            )
        )
        others = [r.name for r in frames["rules"] if r.budget_balanced and r.name != DESIGN]
        comp = et[et["rule"].isin(others)]
        if not comp.empty:
            larger = comp["diff_lo"] > TOL
            n = int(comp["n"].min())
            out.append(
                Claim(
                    "Among budget-balanced payment rules Threshold leaves entrants the smallest gain (paired difference "
                    "Threshold − other rule never significantly above 0)",
                    judge(not larger.any(), n, partly=bool((~larger).any())),
                    "; ".join(
                        f"{x.entrant} vs {x.rule}: {ci_str(x.threshold_minus_rule, x.diff_lo, x.diff_hi)}"
                        for x in comp.itertuples()
                    )
                    + ".",
                    n,
                )
            )
    b = frames["board"]
    effs = b.set_index("strategy")["homogeneous_efficiency"]
    if ref in effs.index:
        out.append(
            Claim(
                f"A homogeneous {ref} population trades most efficiently",
                judge(bool(effs[ref] >= effs.max() - TOL), int(u.shape[0])),
                ", ".join(f"{s} {fmt(float(v))}" for s, v in effs.sort_values(ascending=False).items()) + ".",
                int(u.shape[0]),
            )
        )
    traj = frames["replicator"][0] if "replicator" in frames else replicator_from_samples(u)
    a = u.mean(axis=0)
    final = traj[-1]
    eps = float(np.max(a @ final) - final @ a @ final)
    scale = float(np.max(np.abs(a))) or 1.0
    out.append(
        Claim(
            "The replicator dynamics settle: their end point is an approximate equilibrium of the empirical game "
            "(no strategy's fitness exceeds the population mean by more than 1% of max |A|)",
            judge(eps <= 0.01 * scale, int(u.shape[0])),
            "end shares "
            + ", ".join(f"{s} {x:.3f}" for s, x in zip(strategies, final))
            + f"; largest fitness advantage {fmt(eps)} (max |A| = {fmt(scale)}).",
            int(u.shape[0]),
        )
    )
    return out


# ---------------------------------------------------------------------- the section
def build(store: Any, figdir: Path) -> Section:
    spec = store.spec
    sec = Section(
        store.name,
        "Tournament of exchange proxies: leaderboard, payoff matrix, payment rules, replicator "
        "dynamics" + reduced_heading(store),
        spec.description,
        settings_of(store),
    )
    runs = store.table("runs")
    if runs.empty:
        sec.notes.append("No runs are stored yet.")
        return sec
    frames = dataset(store)
    if frames["u"].shape[0] == 0:
        sec.notes.append("No instance has every (focal, background) profile stored yet.")
        return sec
    sec.figures.extend(figures(frames, figdir))
    sec.tables.append(
        (
            (
                "Leaderboard: mean utility against a uniform mix of backgrounds and among its own kind with "
                "95% bootstrap CIs; efficiency and rounds of homogeneous populations; profiles that stopped "
                "at max_rounds (flagged)"
            ),
            frames["board"],
        )
    )
    et = entry_table(frames)
    if not et.empty:
        sec.tables.append(
            (
                (
                    f"Gain of a lone entrant in an all-{frames['ref']} population under every payment rule "
                    "(valid instances n: trade, no run stopped at max_rounds; excluded: the others), paired CI "
                    "of Threshold's gain minus the rule's"
                ),
                et,
            )
        )
    strategies = frames["strategies"]
    mat = pd.DataFrame(frames["u"].mean(axis=0), index=strategies, columns=strategies).reset_index(
        names="focal \\ background"
    )
    sec.tables.append(("Empirical payoff matrix A[a, b] (mean focal utility)", mat))
    if frames["ref"] is not None:
        moran = moran_table(frames["results"], frames["ref"], _gen(frames, 3))
        if not moran.empty:
            sec.tables.append((moran_caption(str(frames["ref"])), moran))
    sec.claims.extend(claims(frames))
    ref = frames["ref"]
    if ref is not None:
        prof = frames["profiles"]
        home = prof[(prof["player"] == ref) & (prof["opponent"] == ref)].drop_duplicates("run_id")
        trade = home["traded_units"] > 0 if "traded_units" in home else pd.Series(True, index=home.index)
        stalled = trade & home["hit_max_rounds"]
        text = stall_finding(
            str(ref), int(stalled.sum()), int(trade.sum()), int((trade & ~stalled).sum()), "the entrant verdicts"
        )
        if text:
            sec.notes.append(text)
    sec.notes.append(STALL_NOTE)
    sec.notes.append(
        "A[a, b] is the payoff of a single a-proxy among b-proxies; the replicator dynamics assume a "
        "proxy's fitness in a mixed population is linear in the shares (f = A x). Instances differ in "
        "scale, so the bootstrap resamples whole instances."
    )
    sec.data.append((f"{store.name}_profiles", frames["profiles"]))
    return sec


__all__ = [
    "board",
    "build",
    "claims",
    "dataset",
    "entry_table",
    "figures",
    "frames_from",
    "payoff_samples",
    "replicator_from_samples",
]
