"""Exhaustive reference for tiny exchanges, independent of mip.py.

Valuations by enumerating every sat vector of a tree (eq. 4-6 read literally), efficient
trades by a dynamic programme over bidders whose state is the running Σ_i λ_i.
"""

from __future__ import annotations

import itertools
import math
import random

import numpy as np

from auctionlab.mechanisms.exchange import Exchange
from auctionlab.mechanisms.exchange.tbbl import BidTree


def sat_table(tree: BidTree, node_values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """All sat vectors valid under (5): (leaf demand Σ q·sat per good, value)."""
    n = tree.n_nodes
    S = np.array(list(itertools.product((0, 1), repeat=n)), dtype=np.int64)
    ok = np.ones(len(S), dtype=bool)
    for k in range(n):
        if tree.is_leaf[k]:
            continue
        kids = [c for c in range(n) if tree.parent[c] == k]
        cnt = S[:, kids].sum(axis=1)
        ok &= (tree.ic_x[k] * S[:, k] <= cnt) & (cnt <= tree.ic_y[k] * S[:, k])
    S = S[ok]
    return S @ tree.trade, S @ node_values


def brute_value(table: tuple[np.ndarray, np.ndarray], lam: np.ndarray) -> float:
    D, V = table
    fits = np.all(D <= lam[None, :], axis=1)
    return float(V[fits].max()) if fits.any() else -math.inf


def bidder_tables(ex: Exchange, values) -> list[dict[tuple, float]]:
    """v_i(λ_i) for every λ_i in the box (1) allows, per bidder (finite values only)."""
    x0 = ex.endowments
    total = x0.sum(axis=0)
    vals = ex.node_values(values)
    out = []
    for i, b in enumerate(ex.bidders):
        table = sat_table(b.tree, vals[ex.node_offset[i] : ex.node_offset[i + 1]])
        ranges = [range(-int(x0[i, j]), int(total[j] - x0[i, j]) + 1) for j in range(ex.n_goods)]
        vi = {}
        for lam in itertools.product(*ranges):
            v = brute_value(table, np.array(lam))
            if v > -math.inf:
                vi[lam] = v
        out.append(vi)
    return out


def brute_optimum(ex: Exchange, tables: list[dict[tuple, float]], exclude: int | None = None) -> float:
    """max Σ v_i(λ_i) over Feas(x0), optionally without bidder ``exclude`` (bids and endowment).

    Dense DP over the running sum s = Σ λ_i on the grid [-T, T] per good (T = total
    units): a partial sum above T can never come back to ≤ 0 (2), so it is dropped.
    """
    T = ex.endowments.sum(axis=0)
    shape = tuple(int(2 * t + 1) for t in T)
    best = np.full(shape, -math.inf)
    best[tuple(int(t) for t in T)] = 0.0
    for i in range(ex.n_bidders):
        if i == exclude:
            continue
        new = np.full(shape, -math.inf)
        for lam, vi in tables[i].items():
            src, dst = [], []
            for d, size in zip(lam, shape):
                if abs(d) >= size:
                    break
                src.append(slice(max(0, -d), size - max(0, d)))
                dst.append(slice(max(0, d), size - max(0, -d)))
            else:
                src_t, dst_t = tuple(src), tuple(dst)
                np.maximum(new[dst_t], best[src_t] + vi, out=new[dst_t])
        best = new
    feasible = best[tuple(slice(0, int(t) + 1) for t in T)]  # every sum ≤ 0
    return float(feasible.max())


def threshold_c_bisect(vcg: list[float], budget: float) -> float:
    """Reference C by bisection (the implementation sorts)."""
    f = lambda c: sum(max(0.0, d - c) for d in vcg)  # noqa: E731
    if f(0.0) <= budget:
        return 0.0
    lo, hi = 0.0, max(vcg)
    for _ in range(200):
        mid = (lo + hi) / 2
        if f(mid) <= budget:
            hi = mid
        else:
            lo = mid
    return hi


# --------------------------------------------------------------------------- tiny instances
def random_tree(r: random.Random, goods: list[str], owned: dict[str, int], max_nodes: int, bounds: bool) -> dict:
    """A random TBBL tree (≤ max_nodes nodes) whose sell leaves the endowment covers."""
    budget = [max_nodes]

    def val(base: float = 0.0) -> object:
        v = base + r.choice([0, 0, r.randint(-4, 4), r.randint(-8, 8) / 2])
        if bounds and v != 0 and r.random() < 0.6:
            return [v - r.randint(0, 4), v + r.randint(0, 4)]
        return v

    def make_leaf() -> dict:
        budget[0] -= 1
        trade = {}
        for g in r.sample(goods, r.randint(1, min(2, len(goods)))):
            if owned.get(g, 0) > 0 and r.random() < 0.75:
                trade[g] = -r.randint(1, owned[g])
            else:
                trade[g] = 1 if r.random() < 0.8 else 2
        worth = sum(q * (r.randint(3, 8) if q > 0 else r.randint(1, 4)) for q in trade.values())
        return {"value": val(worth), "trade": trade}

    def make(depth: int) -> dict:
        if depth >= 2 or budget[0] < 3 or r.random() < 0.35:
            return make_leaf()
        budget[0] -= 1
        k = r.randint(1, min(3, budget[0]))
        children = [make(depth + 1) for _ in range(k)]
        x = r.randint(0, k)
        y = r.randint(x, k)
        if x == 0 and r.random() < 0.7:
            x = min(1, y)
        return {"value": val(), "ic": [x, y], "children": children}

    if r.random() < 0.15:
        return make_leaf()
    budget[0] -= 1
    k = r.randint(1, 3)
    children = [make(1) for _ in range(k)]
    x = r.randint(0, k)
    y = r.randint(max(x, 1), k)
    return {"value": val(), "ic": [x, y], "children": children}


def random_tiny_exchange(seed: int, bounds: bool = False) -> Exchange:
    r = random.Random(seed)
    m = r.randint(1, 3)
    goods = ["A", "B", "C"][:m]
    n = r.randint(1, 4) if r.random() < 0.1 else r.randint(2, 4)
    bidders = {}
    for i in range(n):
        owned = {g: r.randint(1, 2) for g in goods if r.random() < 0.45}
        spec = {"tree": random_tree(r, goods, owned, 7, bounds)}
        if owned:
            spec["endowment"] = owned
        bidders[f"b{i}"] = spec
    return Exchange.from_dict({"goods": goods, "bidders": bidders})
