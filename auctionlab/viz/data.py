"""The tables behind the interactive page's plots (no Solara, no drawing)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from auctionlab.errors import ConfigError


def utilities_frame(model: Any) -> pd.DataFrame:
    """Mean utility per step and strategy (columns ``step``, ``role``, ``strategy``, ``utility``)
    from the model's agent table; empty before the first step."""
    agents = model.datacollector.get_agent_vars_dataframe()
    if agents is None or len(agents) == 0:
        return pd.DataFrame(columns=["step", "role", "strategy", "utility"])
    df = agents.reset_index()
    step = "Step" if "Step" in df.columns else "step"
    df = df[(df[step] > 0) & df["utility"].notna()]  # the step-0 rows are collected before any auction
    label = "strategy_label" if "strategy_label" in df.columns else "strategy"
    out = (
        df.groupby([step, "role", label], sort=True)["utility"]
        .mean()
        .reset_index()
        .rename(columns={step: "step", label: "strategy"})
    )
    return out[["step", "role", "strategy", "utility"]]


def network_frame(model: Any) -> dict[str, pd.DataFrame]:
    """Positions of sources, destinations and relays, and the pairs that traded in the last
    auction (``nodes``: kind, index, x, y; ``links``: source, relay, x0, y0, x1, y1, traded)."""
    net = model.network
    if net.sources is None or net.relays is None:
        raise ConfigError("this network was built from capacities and has no positions to draw")
    rows = []
    for kind, pts in (("source", net.sources), ("destination", net.destinations), ("relay", net.relays)):
        if pts is None:
            continue
        for i, (x, y) in enumerate(np.asarray(pts, dtype=float)):
            rows.append({"kind": kind, "index": i, "x": x, "y": y})
    nodes = pd.DataFrame(rows, columns=["kind", "index", "x", "y"])
    sigma = np.asarray(model.sigma)
    won = np.asarray(model.outcome.buyer_wins, dtype=bool)
    on = np.flatnonzero(sigma >= 0)
    src, rel = np.asarray(net.sources, dtype=float), np.asarray(net.relays, dtype=float)
    links = pd.DataFrame(
        {
            "source": on,
            "relay": sigma[on],
            "x0": src[on, 0],
            "y0": src[on, 1],
            "x1": rel[sigma[on], 0],
            "y1": rel[sigma[on], 1],
            "traded": won[on],
        }
    )
    return {"nodes": nodes, "links": links}


def bounds_frame(model: Any, bidder: str) -> pd.DataFrame:
    """The current lower and upper value of every node of one bidder's tree, with its true value
    (columns ``node``, ``lower``, ``upper``, ``truth``)."""
    names = list(model.exchange.names)
    if bidder not in names:
        raise ConfigError(f"unknown bidder {bidder!r}; bidders: {', '.join(map(str, names))}")
    tree = model.exchange.bidder(bidder).tree
    truth = model.truth.bidder(bidder).tree.lower if getattr(model, "truth", None) is not None else None
    lower, upper = np.asarray(tree.lower, dtype=float), np.asarray(tree.upper, dtype=float)
    return pd.DataFrame(
        {
            "node": np.arange(lower.size),
            "lower": lower,
            "upper": upper,
            "truth": np.asarray(truth, dtype=float) if truth is not None else np.full(lower.size, np.nan),
        }
    )
