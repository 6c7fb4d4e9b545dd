"""Brute-force references for tiny relay markets, independent of the package's algorithms."""

from __future__ import annotations

import numpy as np


def all_matchings(useful: np.ndarray):
    """Every one-to-one partial assignment of sources to useful relays, as sigma tuples."""
    n, m = useful.shape

    def rec(i, used):
        if i == n:
            yield ()
            return
        for rest in rec(i + 1, used):
            yield (-1,) + rest
        for j in range(m):
            if useful[i, j] and j not in used:
                for rest in rec(i + 1, used | {j}):
                    yield (j,) + rest

    yield from rec(0, frozenset())


def capacities(direct, relayed, sigma):
    return np.array([relayed[i, j] if j >= 0 else direct[i] for i, j in enumerate(sigma)])


def best(direct, relayed, objective):
    useful = relayed > direct[:, None]
    return max(objective(capacities(direct, relayed, s), s) for s in all_matchings(useful))


def rank_positions(values, descending):
    """Index order with ties broken by index."""
    keys = [(-v if descending else v, i) for i, v in enumerate(values)]
    return [i for _, i in sorted(keys)]


__all__ = ["all_matchings", "best", "capacities", "rank_positions"]


def literal_algorithm2(bids, asks, sigma, reduction=False, tie="second"):
    """Algorithm 2 step by step with Python lists (1-indexed positions as in the paper);
    ``tie``: on equal counts in step 5, the "first" pair (alpha, k) or the "second" (k, beta).

    Returns (winning buyers, winning sellers, P^b, P^s) or None for no trade.
    """
    cand = [i for i in range(len(sigma)) if sigma[i] >= 0]
    S = sorted(cand, key=lambda i: (-bids[i][sigma[i]], i))
    R = sorted([sigma[i] for i in cand], key=lambda j: (asks[j], j))
    B = lambda t: bids[S[t - 1]][sigma[S[t - 1]]]  # noqa: E731
    A = lambda t: asks[R[t - 1]]  # noqa: E731
    ts = [t for t in range(1, len(S) + 1) if B(t) >= A(t)]
    if not ts or max(ts) < 2:
        return None
    k = max(ts)

    def sigma_set(x, y):
        prefix_r = set(R[: y - 1])
        return [i for i in S[: x - 1] if sigma[i] in prefix_r]

    if reduction:
        x, y = k, k
    else:
        alpha = max(t for t in range(1, len(S) + 1) if B(t) >= A(k))
        beta = max(t for t in range(1, len(R) + 1) if B(k) >= A(t))
        n1, n2 = len(sigma_set(alpha, k)), len(sigma_set(k, beta))
        x, y = (alpha, k) if n1 > n2 or (tie == "first" and n1 == n2) else (k, beta)
    winners = sigma_set(x, y)
    return sorted(winners), sorted(sigma[i] for i in winners), B(x), A(y)
