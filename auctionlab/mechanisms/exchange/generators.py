"""Random exchange instances (seeded; never global seeding).

Every good has a market value μ_j. Bidders are

* **buyers**: no endowment; leaves buy 1-3 goods they are interested in, valued around
  ``q·μ·U(0.9, 1.6)``; internal nodes sometimes add a complementarity bonus;
* **sellers**: own several goods (multi-unit); leaves sell what they own, valued at
  ``−q·μ·U(0.5, 1.0)``; internal nodes sometimes add a (negative) fixed cost;
* **traders**: own a few goods and want others; leaves are swaps (sell one, buy one,
  mixed sign), pure buys or pure sells.

Buyers value goods above sellers' costs, so some trade is usually efficient; small
trees with bundles can still leave none (about a quarter of 4 × 3 exchanges with 6-node
trees and single units). With ``require_trade=True`` (default) an instance whose truth
has no efficient trade is redrawn from the same generator (up to :data:`MAX_DRAWS`
draws), so every returned instance has one whenever a draw had one; an instance whose
first draw trades is exactly what it was without this option.
Trees mix AND / OR / XOR and general IC(x, y), nested two or three levels deep, with
bundle leaves. Values are rounded to cents, so instances print and save cleanly.
Sellers' and traders' internal nodes never carry positive values: by (4) a sell leaf can
be satisfied without selling, so a positive value there would be free money. For the
same reason a buyer's internal node that can be satisfied without any leaf (an IC(0, y),
or one whose required children all can) gets value 0 unless ``free_value=True``: no
tree is worth anything at the empty trade unless asked.

With ``bound_width`` the function also hides a truth: it returns
``BoundedPair(bounded, truth)`` where every non-zero node value v gets bounds
``[v − w·|v|·U(0,1), v + w·|v|·U(0,1)]`` (rounded outward to cents) and ``truth`` is the
exact exchange — the input of the iterative exchange.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np

from auctionlab._validate import check_bool, check_rng
from auctionlab.errors import ConfigError
from auctionlab.mechanisms.exchange.instance import Exchange

ROLES = ("buyer", "seller", "trader")
MAX_DRAWS = 50
"""Draws ``random_exchange`` makes at most, with ``require_trade``, to find an instance with trade."""


class BoundedPair(NamedTuple):
    bounded: Exchange
    truth: Exchange


def _cents(x: float) -> float:
    return round(float(x), 2)


class _TreeMaker:
    """Builds one bidder's plain-data tree for its role (uses the shared generator)."""

    def __init__(
        self,
        rng: np.random.Generator,
        role: str,
        mu: np.ndarray,
        goods: list[str],
        owned: dict[int, int],
        wanted: list[int],
    ) -> None:
        self.rng, self.role, self.mu, self.goods = rng, role, mu, goods
        self.owned, self.wanted = owned, wanted
        self.mean_mu = float(mu.mean())

    def tree(self, nodes: int, depth: int, free_value: bool = False) -> dict:
        root = self._node(0, max(nodes, 3), depth)
        if "trade" in root:  # always an internal root
            root = {"value": 0, "ic": [1, 1], "children": [root]}
        if not free_value:
            _no_free_value(root)
        return root

    def _node(self, level: int, budget: int, depth: int) -> dict:
        rng = self.rng
        if level >= depth or budget < 3:
            return self._leaf()
        k = int(rng.integers(2, min(4, budget - 1) + 1))
        extra = rng.multinomial(budget - 1 - k, np.full(k, 1.0 / k))
        children = [self._node(level + 1, 1 + int(e), depth) for e in extra]
        return {"value": self._internal_value(), "ic": self._ic(k), "children": children}

    def _ic(self, k: int) -> list[int]:
        rng = self.rng
        weights = {"buyer": (0.3, 0.25, 0.25, 0.2), "seller": (0.15, 0.5, 0.15, 0.2), "trader": (0.2, 0.3, 0.3, 0.2)}
        op = rng.choice(4, p=weights[self.role])
        if op == 0:
            return [k, k]  # AND
        if op == 1:
            return [1, k]  # OR
        if op == 2:
            return [1, 1]  # XOR
        x = int(rng.integers(0, k + 1)) if rng.random() < 0.2 else int(rng.integers(1, k + 1))
        y = int(rng.integers(max(x, 1), k + 1))
        return [x, y]

    def _internal_value(self) -> float:
        rng = self.rng
        if rng.random() >= 0.25:
            return 0
        if self.role == "buyer":
            return _cents(rng.uniform(0.0, 0.3) * self.mean_mu)
        return _cents(-rng.uniform(0.0, 0.2) * self.mean_mu)

    def _pick(self, pool: list[int], size: int) -> list[int]:
        return [int(g) for g in self.rng.choice(pool, size=min(size, len(pool)), replace=False)]

    def _buy(self, size: int) -> tuple[dict[str, int], float]:
        trade, val = {}, 0.0
        for j in self._pick(self.wanted, size):
            q = 1 if self.rng.random() < 0.8 else 2
            trade[self.goods[j]] = q
            val += q * self.mu[j] * self.rng.uniform(0.9, 1.6)
        return trade, val

    def _sell(self, size: int) -> tuple[dict[str, int], float]:
        trade, val = {}, 0.0
        for j in self._pick(sorted(self.owned), size):
            q = int(self.rng.integers(1, min(2, self.owned[j]) + 1))
            trade[self.goods[j]] = -q
            val -= q * self.mu[j] * self.rng.uniform(0.5, 1.0)
        return trade, val

    def _leaf(self) -> dict:
        rng = self.rng
        size = 1 if rng.random() < 0.5 else int(rng.integers(2, 4))
        if self.role == "buyer":
            trade, val = self._buy(size)
        elif self.role == "seller":
            trade, val = self._sell(min(size, 2))
        else:
            kind = rng.random()
            if kind < 0.5:
                t1, v1 = self._sell(1)
                t2, v2 = self._buy(1)
                trade, val = {**t1, **t2}, v1 + v2
            elif kind < 0.75:
                trade, val = self._buy(min(size, 2))
            else:
                trade, val = self._sell(1)
        return {"value": _cents(val), "trade": trade}


def _no_free_value(node: dict) -> bool:
    """Zero the positive values of nodes that can be satisfied with no leaf; returns
    whether ``node`` can (leaves cannot; an internal node can when at least x of its
    children can, x of its IC(x, y))."""
    if "trade" in node:
        return False
    empty = sum(_no_free_value(c) for c in node["children"])
    can = empty >= int(node["ic"][0])
    if can and node["value"] > 0:
        node["value"] = 0
    return can


def random_exchange(
    n_bidders: int,
    n_goods: int,
    *,
    rng: int | np.random.Generator,
    nodes: int = 15,
    depth: tuple[int, int] = (2, 3),
    max_units: int = 3,
    roles: tuple[float, float, float] = (0.4, 0.3, 0.3),
    bound_width: float | None = None,
    require_trade: bool = True,
    free_value: bool = False,
) -> Exchange | BoundedPair:
    """A random exchange with ``n_bidders`` × ``n_goods`` (see module docstring).

    ``rng`` is a seed or a ``numpy.random.Generator``; ``nodes`` is the approximate tree
    size; ``depth`` the range of tree depths; ``roles`` the probabilities of buyer,
    seller, trader (at least one buyer and one seller when n_bidders ≥ 2).
    ``require_trade`` redraws instances whose truth has no efficient trade (with at least
    two bidders); ``free_value`` lets buyer nodes satisfiable without any leaf keep a
    positive value (a tree worth something at the empty trade).
    """
    if n_bidders < 1 or n_goods < 1:
        raise ConfigError(f"need at least one bidder and one good, got {n_bidders} × {n_goods}")
    if nodes < 3 or max_units < 1 or not (1 <= depth[0] <= depth[1]):
        raise ConfigError("nodes must be ≥ 3, max_units ≥ 1 and depth a range (lo ≤ hi, lo ≥ 1)")
    p = np.asarray(roles, dtype=float)
    if p.shape != (3,) or np.any(p < 0) or p.sum() <= 0:
        raise ConfigError(f"roles must be three non-negative weights, got {roles!r}")
    if bound_width is not None and not (bound_width >= 0 and math.isfinite(bound_width)):
        raise ConfigError(f"bound_width must be a finite non-negative number, got {bound_width!r}")
    check_bool(require_trade, "require_trade")
    check_bool(free_value, "free_value")
    seed = rng if isinstance(rng, (int, np.integer)) else None
    gen = check_rng(rng)
    params = {
        "n_bidders": n_bidders,
        "n_goods": n_goods,
        "nodes": nodes,
        "depth": list(depth),
        "max_units": max_units,
        "roles": [float(r) for r in roles],
        "bound_width": bound_width,
    }
    if not require_trade:
        params["require_trade"] = False
    if free_value:
        params["free_value"] = True
    for draw in range(MAX_DRAWS):
        truth = _draw(gen, n_bidders, n_goods, nodes, depth, max_units, p, free_value, seed, params, draw)
        if not require_trade or n_bidders < 2 or _has_trade(truth):
            break
    if bound_width is None:
        return truth
    lower = truth.lower.copy()
    upper = truth.upper.copy()
    nz = lower != 0.0
    width = bound_width * np.abs(lower[nz])
    lower[nz] = np.floor((lower[nz] - width * gen.random(int(nz.sum()))) * 100) / 100
    upper[nz] = np.ceil((upper[nz] + width * gen.random(int(nz.sum()))) * 100) / 100
    lower = np.minimum(lower, truth.lower)  # floor/ceil in floating point: keep the truth inside
    upper = np.maximum(upper, truth.upper)
    bounded = truth.with_bounds(lower, upper)
    return BoundedPair(bounded, truth)


def _has_trade(ex: Exchange) -> bool:
    from auctionlab.mechanisms.exchange.mip import solve_wd  # (mip imports this package's instance module)

    return bool(solve_wd(ex, "lower").traders)


def _draw(
    gen: np.random.Generator,
    n_bidders: int,
    n_goods: int,
    nodes: int,
    depth: tuple[int, int],
    max_units: int,
    p: np.ndarray,
    free_value: bool,
    seed: Any,
    params: dict,
    draw: int,
) -> Exchange:
    """One draw of the true exchange from ``gen``."""
    goods = [f"g{j}" for j in range(n_goods)]
    mu = np.round(gen.uniform(5.0, 20.0, size=n_goods), 2)
    role_idx = gen.choice(3, size=n_bidders, p=p / p.sum())
    if n_bidders >= 2:
        if not np.any(role_idx == 1):
            role_idx[int(gen.integers(n_bidders))] = 1
        if not np.any(role_idx == 0):
            free = np.flatnonzero(role_idx != 1)
            pick = free if free.size else np.flatnonzero(role_idx == 1)[1:]
            role_idx[int(gen.choice(pick))] = 0
    role_names = [ROLES[r] for r in role_idx]

    owned: list[dict[int, int]] = []
    for role in role_names:
        if role == "seller":
            own = gen.choice(n_goods, size=min(n_goods, int(gen.integers(2, 7))), replace=False)
            owned.append({int(j): int(gen.integers(1, max_units + 1)) for j in own})
        elif role == "trader":
            own = gen.choice(n_goods, size=min(n_goods, int(gen.integers(1, 4))), replace=False)
            owned.append({int(j): int(gen.integers(1, min(2, max_units) + 1)) for j in own})
        else:
            owned.append({})
    supplied = sorted({j for o in owned for j in o}) or list(range(n_goods))

    bidders: dict[str, Any] = {}
    for i, role in enumerate(role_names):
        if role == "buyer":
            pool = supplied if gen.random() < 0.8 else list(range(n_goods))
            wanted = [int(j) for j in gen.choice(pool, size=min(len(pool), int(gen.integers(2, 7))), replace=False)]
        elif role == "trader":
            pool = [j for j in supplied if j not in owned[i]] or [j for j in range(n_goods) if j not in owned[i]]
            wanted = (
                [int(j) for j in gen.choice(pool, size=min(len(pool), int(gen.integers(1, 4))), replace=False)]
                if pool
                else []
            )
        else:
            wanted = []
        if role == "trader" and not wanted:
            role = role_names[i] = "seller"
        maker = _TreeMaker(gen, role, mu, goods, owned[i], wanted)
        size = int(max(3, round(nodes * gen.uniform(0.7, 1.3))))
        tree = maker.tree(size, int(gen.integers(depth[0], depth[1] + 1)), free_value)
        spec: dict[str, Any] = {"tree": tree}
        if owned[i]:
            spec["endowment"] = {goods[j]: q for j, q in sorted(owned[i].items())}
        bidders[f"b{i}"] = spec

    meta = {
        "generator": "random_exchange",
        "seed": int(seed) if seed is not None else None,
        "params": params,
        "roles": {f"b{i}": r for i, r in enumerate(role_names)},
    }
    if draw:
        meta["draw"] = draw + 1  # the draw that had an efficient trade
    return Exchange.from_dict({"goods": goods, "bidders": bidders, "meta": meta})
