"""Bid-independent relay assignment algorithms Φ (phase 1 of TASC).

Each algorithm is a function ``(direct, relayed) -> sigma`` with ``sigma[i]`` the relay
assigned to source i or −1. They see capacities only — never bids or asks — which is what
TASC's truthfulness argument rests on. Only *useful* pairs (c_R > c_D) are ever assigned.
Ties are broken deterministically (scipy's algorithms are deterministic given the input).

Users add their own algorithm with ``ASSIGNMENT_ALGORITHMS.register("name", fn)``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy.optimize import linear_sum_assignment
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import maximum_bipartite_matching

from auctionlab._validate import as_real_array, check_nonnegative_finite
from auctionlab.errors import NetworkError, SolverError
from auctionlab.registry import Registry

AssignmentAlgorithm = Callable[[np.ndarray, np.ndarray], np.ndarray]


def _prepare(direct, relayed) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    direct = as_real_array(direct, "direct", (None,))
    relayed = as_real_array(relayed, "relayed", (direct.shape[0], None))
    if direct.shape[0] < 1 or relayed.shape[1] < 1:
        raise NetworkError(f"need n >= 1 sources and m >= 1 relays, got relayed shape {relayed.shape}")
    check_nonnegative_finite(direct, "direct", NetworkError)
    check_nonnegative_finite(relayed, "relayed", NetworkError)
    gain = relayed - direct[:, None]
    return direct, relayed, gain


def max_weight_matching(weights: np.ndarray, allowed: np.ndarray) -> np.ndarray:
    """Maximum-weight matching on the allowed edges (weights > 0 there) as a sigma vector."""
    w = np.where(allowed, weights, 0.0)
    rows, cols = linear_sum_assignment(w, maximize=True)
    keep = allowed[rows, cols]
    sigma = np.full(weights.shape[0], -1, dtype=np.intp)
    sigma[rows[keep]] = cols[keep]
    return sigma


def mwm(direct, relayed) -> np.ndarray:
    """Maximum-weight matching: maximise total network capacity.

    Total capacity is Σ_i c_D(i) + Σ_matched (c_R − c_D), so the edge weights are the
    capacity gains (a documented decision: the paper does not say). Solved with scipy's ``linear_sum_assignment``.
    """
    _, _, gain = _prepare(direct, relayed)
    return max_weight_matching(gain, gain > 0)


def mm(direct, relayed) -> np.ndarray:
    """Maximum-cardinality matching on the useful pairs (most relayed sources), Hopcroft–Karp."""
    _, _, gain = _prepare(direct, relayed)
    match = maximum_bipartite_matching(csr_matrix(gain > 0), perm_type="column")
    return np.asarray(match, dtype=np.intp)


def _saturates(rows: np.ndarray) -> bool:
    """Whether every row of the boolean biadjacency matrix ``rows`` can be matched."""
    if rows.shape[0] == 0:
        return True
    if rows.shape[0] > rows.shape[1] or not rows.any(axis=1).all():
        return False
    match = maximum_bipartite_matching(csr_matrix(rows), perm_type="column")
    return bool((match >= 0).all())


def ora(direct, relayed) -> np.ndarray:
    """Optimal relay assignment: maximise the minimum capacity over all n sources.

    A source's capacity is c_R with its relay or c_D without one. Exact max–min by a
    binary search over candidate thresholds T (every achievable minimum is some c_D or
    c_R value): T is feasible when every source with c_D < T can be matched to a relay
    giving c_R ≥ T. Tie rule: among max–min-optimal assignments, the one with the largest
    total capacity (a maximum-weight matching restricted to edges with c_R ≥ T* in which
    every source with c_D < T* must be matched).
    """
    direct, relayed, gain = _prepare(direct, relayed)
    useful = gain > 0
    best_each = np.maximum(direct, np.where(useful, relayed, 0.0).max(axis=1))
    hi = best_each.min()

    def feasible(t: float) -> bool:
        need = direct < t
        return _saturates(useful[need] & (relayed[need] >= t))

    if feasible(hi):  # the common case when relays are plentiful: every source gets its best
        t_star = hi
    else:
        cands = np.unique(np.concatenate([direct, relayed[useful]]))
        cands = cands[(cands >= direct.min()) & (cands < hi)]
        lo_i, hi_i = 0, len(cands) - 1  # cands[0] = min(direct) is always feasible
        while lo_i < hi_i:
            mid = (lo_i + hi_i + 1) // 2
            if feasible(cands[mid]):
                lo_i = mid
            else:
                hi_i = mid - 1
        t_star = cands[lo_i]
    allowed = useful & (relayed >= t_star)
    need = direct < t_star
    scale = gain[allowed].max() if allowed.any() else 1.0
    weights = gain / scale + np.where(need, need.shape[0] + 1.0, 0.0)[:, None]
    sigma = max_weight_matching(weights, allowed)
    if np.any(sigma[need] < 0):  # cannot happen for a feasible threshold; guard numerics
        raise SolverError("ORA failed to match every source below the max-min threshold")
    return sigma


ASSIGNMENT_ALGORITHMS: Registry[AssignmentAlgorithm] = Registry(
    "assignment algorithm", {"mwm": mwm, "mm": mm, "ora": ora}
)
