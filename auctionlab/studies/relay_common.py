"""What the relay studies' report sections share: one palette, one set of mechanism labels,
colours and one order, all read from the mechanism objects; variant names ("tasc/mwm");
the bootstrap helper; and the verdict rules for claims about every sample.

Mechanisms are given as objects — a :class:`~auctionlab.mechanisms.relay.mechanisms.RelayMechanism`
class or instance — or as registry names (what the stored tables hold); nothing here keys
on a label. A name that is not registered in this process (a user's mechanism whose class
is not imported) is shown under its own name with a palette colour fixed by its place.
"""

from __future__ import annotations

from collections.abc import Mapping
from string import ascii_lowercase
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.colors import to_hex, to_rgb

from auctionlab.mechanisms.relay.assignment import ASSIGNMENT_ALGORITHMS
from auctionlab.mechanisms.relay.mechanisms import (
    MECHANISMS,
    TASC,
    RelayMechanism,
    mechanism_class,
)
from auctionlab.mechanisms.relay.tasc import TIE_PAIRS
from auctionlab.report.sections import judge
from auctionlab.report.stats import bootstrap_table

TOL = 1e-9
N_BOOT = 1000
ANALYSIS_STREAM = 1_000_007  # spawn key of the report's bootstrap generator (apart from any run's)
ROLES = ("buyer", "seller")
# The one palette of the relay sections: mechanisms without a colour of their own, strategies
# (by their place in the spec) and the two roles take their colours from it.
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")
ALG_STYLE = {"mwm": "-", "mm": "--", "ora": ":", "-": "-"}

MechanismLike = str | RelayMechanism | type[RelayMechanism]


# ---------------------------------------------------------------------- what the mechanism objects say
def mech_name(mech: MechanismLike) -> str:
    """The registry name of a mechanism given as a name, a class or an instance."""
    if isinstance(mech, str):
        return mech
    return str(mech.name)


def mechanism_of(mech: MechanismLike) -> type[RelayMechanism] | RelayMechanism | None:
    """The mechanism object behind a stored name (None: a plain callable, or a name not
    registered in this process); classes and instances are returned as they are."""
    if not isinstance(mech, str):
        return mech
    return mechanism_class(mech) if mech in MECHANISMS else None


def mech_label(mech: MechanismLike) -> str:
    obj = mechanism_of(mech)
    return str(obj.label) if obj is not None else mech_name(mech)


def mech_color(mech: MechanismLike) -> str:
    """The mechanism's own colour, else a palette entry fixed by its place in the registry."""
    obj = mechanism_of(mech)
    if obj is not None and obj.color:
        return str(obj.color)
    name, names = mech_name(mech), list(MECHANISMS)
    return PALETTE[(names.index(name) if name in names else len(names)) % len(PALETTE)]


def mech_order(names) -> list[str]:
    """Mechanism names in the order the study ran them (first appearance in the stored
    runs, i.e. the spec's order): the report follows the spec, with no list of names here."""
    return list(dict.fromkeys(mech_name(m) for m in names))


def has(mech: MechanismLike, prop: str) -> bool:
    """Whether the mechanism declares the property (``truthful``, ``budget_balanced``, ...)."""
    obj = mechanism_of(mech)
    return bool(obj is not None and getattr(obj, prop, False))


def rows_of(frame: pd.DataFrame, mech: MechanismLike, column: str = "mechanism") -> pd.DataFrame:
    """The rows of one mechanism (given as an object or a name)."""
    if frame.empty or column not in frame:
        return frame.iloc[0:0]
    return frame[frame[column] == mech_name(mech)]


def tie_rule_of(params: Mapping[str, Any]) -> str:
    """The step-5 tie rule TASC ran with under a spec's parameters: its ``tasc_tie`` (the
    first value of a sweep), TASC's default when not named."""
    tie = params.get(f"{TASC.name}_tie", TASC().tie)
    return str(tie[0] if isinstance(tie, (list, tuple)) else tie)


def tie_rule_text(tie: str) -> str:
    """A tie rule in words: ``'second' = (s_{i_k}, r_{j_β})``."""
    return f"'{tie}' = {TIE_PAIRS.get(tie, '?')}"


def split_variant(variant: str) -> tuple[str, str]:
    """``"tasc/mwm"`` -> ``("tasc", "mwm")``; ``"vcg"`` -> ``("vcg", "")``; a setting suffix is
    dropped (``"tasc/mwm [tie=first]"`` -> ``("tasc", "mwm")``, see :func:`variant_setting`)."""
    mech, _, alg = variant.partition(" [")[0].partition("/")
    return mech, alg


def variant_setting(variant: str) -> str:
    """The mechanism parameters a variant of a sweep differs by from the first setting
    (``"tasc/mwm [tie=first]"`` -> ``"tie=first"``; ``""`` for the first setting)."""
    _, sep, rest = variant.partition(" [")
    return rest.rstrip("]") if sep else ""


def variant_order(variants) -> list[str]:
    """Variants grouped by mechanism (in :func:`mech_order`), each mechanism's algorithms in
    the order they were run."""
    variants = list(dict.fromkeys(variants))
    ranks = {m: i for i, m in enumerate(mech_order(split_variant(v)[0] for v in variants))}
    return sorted(variants, key=lambda v: ranks[split_variant(v)[0]])  # stable: run order within a mechanism


def variant_color(variant: str) -> str:
    """One hue per mechanism, a lighter / darker shade for the second / third assignment algorithm."""
    mech, alg = split_variant(variant)
    base = np.array(to_rgb(mech_color(mech)))
    algs = list(ASSIGNMENT_ALGORITHMS)
    k = algs.index(alg) if alg in algs else 0
    shade = base if k == 0 else (base + (1 - base) * 0.5 if k % 2 else base * 0.45)
    r, g, b = (float(x) for x in shade)
    return to_hex((r, g, b))


def variant_label(variant: str) -> str:
    mech, alg = split_variant(variant)
    setting = variant_setting(variant)
    return mech_label(mech) + (f" / {alg.upper()}" if alg else "") + (f" ({setting})" if setting else "")


def role_color(role: str) -> str:
    return PALETTE[ROLES.index(role)]


def strategy_color(i: int) -> str:
    """The colour of the i-th strategy of a study (its place in the spec)."""
    return PALETTE[i % len(PALETTE)]


# ---------------------------------------------------------------------- text
def cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def and_(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def panel(i: int) -> str:
    """Panel letter i: a, b, ..., z, aa, bb, ..."""
    return ascii_lowercase[i % 26] * (i // 26 + 1)


# ---------------------------------------------------------------------- numbers
def boot(df: pd.DataFrame, value: str, by: list[str], gen: np.random.Generator, n_boot: int = N_BOOT) -> pd.DataFrame:
    """bootstrap_table on the finite values only (NaN = not applicable in that run)."""
    d = df[np.isfinite(df[value].astype(float))]
    if d.empty:
        return pd.DataFrame(columns=[*by, "estimate", "lo", "hi", "n"])
    keys = {k: f"_key_{k}" for k in by}  # a group key named "n" would clash with the count column
    d = d[[*by, value]].rename(columns=keys).assign(**{value: d[value].astype(float)})
    out = bootstrap_table(d, value, list(keys.values()), rng=gen, n_boot=n_boot)
    out = out.rename(columns={"n": "count"}).rename(columns={v: k for k, v in keys.items()})
    return out.rename(columns={"count": "n"}) if "n" not in by else out


def boot_one(
    df: pd.DataFrame, value: str, gen: np.random.Generator, n_boot: int = N_BOOT
) -> tuple[float, float, float]:
    """(estimate, lo, hi) of one column's mean over all rows (NaN when no finite value)."""
    b = boot(df.assign(_a=0), value, ["_a"], gen, n_boot)
    if b.empty:
        return float("nan"), float("nan"), float("nan")
    return float(b["estimate"].iloc[0]), float(b["lo"].iloc[0]), float(b["hi"].iloc[0])


def one_row(**values: Any) -> pd.DataFrame:
    """A one-row frame (a section's facts that are not tables, e.g. its name)."""
    return pd.DataFrame([values])


def meta(frames: dict[str, pd.DataFrame], key: str, default: Any = None) -> Any:
    m = frames.get("meta")
    return default if m is None or m.empty or key not in m else m[key].iloc[0]


# ---------------------------------------------------------------------- verdicts
def judge_all(ok: bool, n: int | None) -> str:
    """Verdict of "no sample violates ...": one violation is conclusive at any ``n``; no
    violation supports the statement only on enough samples (:func:`judge`)."""
    return "disagrees" if not ok else judge(True, n)


def judge_any(found: bool, n: int | None) -> str:
    """Verdict of "some sample shows ...": one instance is conclusive at any ``n``; finding
    none contradicts the statement only on enough samples (:func:`judge`)."""
    return "agrees" if found else judge(False, n)
