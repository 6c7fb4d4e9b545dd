"""TASC: truthful auction for cooperative communications, and its
trade-reduction variant.

Phase 1 assigns relays from capacities alone (:mod:`.assignment`); phase 2 sorts the
candidate pairs, finds k, and clears at uniform prices set by a boundary pair that never
trades. Phase 2 is O(l log l) in the number l of candidate pairs.

Conventions: buyers are sorted by their bid on their *own assigned* relay, non-increasing;
sellers by ask, non-decreasing; ties by index (lower first), never by anything reported.

Step 5 compares the winner counts of the two candidate boundary pairs, (s_{i_α}, r_{j_k})
and (s_{i_k}, r_{j_β}); the paper says nothing about equal counts. The *tie rule* decides
(:data:`TIE_RULES`): ``"second"`` (the default) takes (s_{i_k}, r_{j_β}), ``"first"`` takes
(s_{i_α}, r_{j_k}). Neither makes Algorithm 2 truthful; they differ in which manipulations
pay (in the seller example of :func:`clear`, an ask equal to a bid ties the counts).

Example (Algorithm 2 as written is manipulable; buyer instance, b0 is the boundary buyer and loses):

>>> import numpy as np
>>> sigma = np.array([3, 4, 0, 1, 2])
>>> bids = np.zeros((5, 5)); bids[np.arange(5), sigma] = [2.9, 3.3, 0.2, 3.3, 0.6]
>>> out = clear(bids, [0.5, 1.2, 1.9, 0.1, 2.9], sigma)
>>> out.boundary, out.buyer_wins.nonzero()[0].tolist(), out.buyer_price, out.seller_price
((0, 4), [3], 2.9, 2.9)
"""

from __future__ import annotations

import numpy as np

from auctionlab._validate import all_nonnegative_finite, as_real_array, check_choice, check_nonnegative_finite
from auctionlab.errors import ConfigError, InternalError, InvalidAssignmentError, ShapeError
from auctionlab.mechanisms.relay.assignment import ASSIGNMENT_ALGORITHMS, mm, mwm, ora
from auctionlab.mechanisms.relay.network import RelayNetwork
from auctionlab.mechanisms.relay.outcome import AgentOutcomes, RelayOutcome

_F8 = np.dtype(np.float64)
TIE_PAIRS = {"second": "(s_{i_k}, r_{j_β})", "first": "(s_{i_α}, r_{j_k})"}
"""Step 5 on equal winner counts: the boundary pair each tie rule takes."""
TIE_RULES = tuple(TIE_PAIRS)
"""The tie rules of step 5, the default first."""


def check_tie(tie, name: str = "tie") -> str:
    """A tie rule of step 5, one of :data:`TIE_RULES` (ConfigError naming them otherwise)."""
    return str(check_choice(tie, name, TIE_RULES))


_min = np.minimum.reduce  # the ufunc reduction skips the ndarray-method wrapper


def check_reports(bids, asks, shape: tuple[int, int] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Bids (n, m) and asks (m,) as finite non-negative float arrays with n, m ≥ 1
    (and bids of exactly ``shape`` when given, e.g. a network's (n, m)).

    Real numbers only: booleans, complex numbers and strings are rejected, not converted.
    Float64 arrays of the right shapes are checked with one reduction each and returned as
    they are; anything else goes through the full diagnosis, which names the bad entry."""
    if (
        type(bids) is np.ndarray
        and type(asks) is np.ndarray
        and bids.dtype is _F8
        and asks.dtype is _F8
        and bids.ndim == 2
        and bids.size
        and (shape is None or bids.shape == shape)
        and asks.shape == bids.shape[1:]
        and all_nonnegative_finite(bids)
        and all_nonnegative_finite(asks)
    ):
        return bids, asks
    bids = as_real_array(bids, "bids", (None, None) if shape is None else shape)
    asks = as_real_array(asks, "asks", (bids.shape[1],))
    if bids.shape[0] < 1 or bids.shape[1] < 1:
        raise ShapeError(f"bids must be (n, m) with n, m >= 1, got {bids.shape}")
    check_nonnegative_finite(bids, "bids")
    check_nonnegative_finite(asks, "asks")
    return bids, asks


def check_sigma(sigma, n: int, m: int) -> np.ndarray:
    """A one-to-one partial assignment of n buyers to m relays (−1 = unassigned)."""
    arr = np.asarray(sigma)
    if arr.shape != (n,):
        raise ShapeError(f"sigma must have shape ({n},), got {arr.shape}")
    if arr.dtype.kind not in "iu":
        if arr.dtype.kind != "f" or not np.all(np.isfinite(arr)) or np.any(arr != np.round(arr)):
            raise InvalidAssignmentError(f"sigma must contain integer relay indices, got dtype {arr.dtype}")
    if arr.size and (arr.max() >= m or arr.min() < -1):  # before the cast, which could wrap a huge index
        i = int(np.flatnonzero((arr < -1) | (arr >= m))[0])
        raise InvalidAssignmentError(f"sigma[{i}] = {arr[i]} points outside the relays 0..{m - 1} (−1 = unassigned)")
    arr = arr.astype(np.intp)
    if not arr.size:
        return arr
    # The range first (a count over a huge index would allocate that many bins), then one
    # count of sigma + 1 checks one-to-one-ness.
    if arr.max() >= m or arr.min() < -1:
        i = int(np.flatnonzero((arr < -1) | (arr >= m))[0])
        raise InvalidAssignmentError(f"sigma[{i}] = {arr[i]} points outside the relays 0..{m - 1} (−1 = unassigned)")
    uses = np.bincount(arr + 1, minlength=m + 1)
    uses[0] = 0  # bin 0 counts the unassigned buyers, who may be many
    if uses.max() > 1:
        j = int(np.argmax(uses)) - 1
        who = np.flatnonzero(arr == j).tolist()
        raise InvalidAssignmentError(f"sigma is not one-to-one: relay {j} is assigned to buyers {who}")
    return arr


# Phase 2 works row-wise on the last axis: 1-D arrays for one auction, (K, l) arrays for K
# counterfactual profiles. These helpers keep one body of code for both shapes while the
# 1-D case keeps NumPy's cheap 1-D calls (2-D fancy indexing and axis reductions cost
# several microseconds more on small arrays, which a single auction would pay).
def _take(a: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """``a`` reordered row-wise by ``idx`` (same shape)."""
    return a[idx] if a.ndim == 1 else a[np.arange(a.shape[0])[:, None], idx]


def _rank_of(order: np.ndarray, ar: np.ndarray) -> np.ndarray:
    """Row-wise inverse permutation: the rank of each column in ``order`` (``ar`` = arange(l))."""
    pos = np.empty_like(order)
    if order.ndim == 1:
        pos[order] = ar
    else:
        pos[np.arange(order.shape[0])[:, None], order] = ar
    return pos


def _count(mask: np.ndarray):
    """Row-wise number of True entries (a scalar for 1-D)."""
    return int(np.count_nonzero(mask)) if mask.ndim == 1 else mask.sum(axis=1)


def _at(a: np.ndarray, i):
    """``a[i]`` row-wise, ``i`` a scalar (1-D) or one index per row."""
    return a[i] if a.ndim == 1 else a[np.arange(a.shape[0]), i]


def _col(x):
    """A per-row scalar shaped to broadcast against the rows."""
    return x[:, None] if isinstance(x, np.ndarray) else x


def _pick(cond, a, b):
    """Row-wise ``a if cond else b``."""
    return np.where(cond, a, b) if isinstance(cond, np.ndarray) else (a if cond else b)


def _rank(B: np.ndarray, A: np.ndarray, rel: np.ndarray) -> tuple:
    """Steps 1–3 of phase 2. ``B``, ``A``: bids of the candidate buyers on their own relays
    and asks of those relays, (l,) or (K, l), columns in candidate order (increasing buyer
    index); ``rel`` (l,) the candidates' relays, the sellers' tie order. Returns the sort
    orders ``by_bid``, ``by_ask`` (column indices), the sorted ``bs``, ``as_`` and ``k`` = the
    number of sorted pairs with bid ≥ ask (bs − as_ is non-increasing, so this is max{t})."""
    by_bid = np.argsort(-B, axis=-1, kind="stable")  # ties: lower buyer index first
    if A.ndim == 1:  # ties: lower relay index first
        by_ask = np.lexsort((rel, A))
    else:  # the same order, sorting once by relay and then stably by ask (one sort per row)
        perm = np.argsort(rel, kind="stable")
        by_ask = perm[np.argsort(A[:, perm], axis=1, kind="stable")]
    bs, as_ = _take(B, by_bid), _take(A, by_ask)
    return by_bid, by_ask, bs, as_, _count(bs >= as_)


def _first_pair(n1, n2, tie: str):
    """Step 5: whether the first candidate pair, (s_{i_α}, r_{j_k}), is the boundary — its
    winner count ``n1`` is larger than the second's ``n2``, or equal under the tie rule
    "first" (the default "second" takes (s_{i_k}, r_{j_β}) on equal counts). Scalars or
    row-wise arrays."""
    return n1 >= n2 if tie == "first" else n1 > n2


def _boundary(by_bid, by_ask, bs, as_, k, rule: str, tie: str = "second") -> tuple:
    """Steps 4–5 on the output of :func:`_rank` (k ≥ 2 where it matters): the boundary
    ranks ``x``, ``y``, the winners ``win`` (a mask in candidate order: buyer ranked above
    x and seller above y), their number, and, for TASC as written, the two candidate
    boundary indices ``alpha``, ``beta`` (None under trade reduction). ``tie``: the step-5
    tie rule (:data:`TIE_RULES`).

    The two counts step 5 compares are the sizes of the two candidate winner sets, so the
    chosen set is one of the masks already counted (no third pass)."""
    ar = np.arange(by_bid.shape[-1])
    pos_b, pos_a = _rank_of(by_bid, ar), _rank_of(by_ask, ar)
    km1 = np.maximum(k - 1, 0) if isinstance(k, np.ndarray) else k - 1
    below_k = _col(km1)  # (k − 1 clamped at 0 changes nothing: ranks are ≥ 0)
    top_b, top_a = pos_b < below_k, pos_a < below_k
    if rule == "trade_reduction":
        win = top_b & top_a
        return k, k, win, _count(win), None, None
    alpha = _count(bs >= _col(_at(as_, km1)))
    beta = _count(as_ <= _col(_at(bs, km1)))
    # Σ(S_{x−1}, R_{y−1}) for the two candidate boundary pairs (α, k) and (k, β).
    w1 = (pos_b < _col(alpha - 1)) & top_a
    w2 = top_b & (pos_a < _col(beta - 1))
    n1, n2 = _count(w1), _count(w2)
    first = _first_pair(n1, n2, tie)
    return (
        _pick(first, alpha, k),
        _pick(first, k, beta),
        _pick(_col(first), w1, w2),
        _pick(first, n1, n2),
        alpha,
        beta,
    )


def _assignment(sigma, n: int, m: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(sigma, cand, rel)``: sigma checked as by :func:`check_sigma` (an intp copy), the
    assigned buyers in increasing order and their relays. Integer input is checked on the
    way to what phase 2 needs (cand and rel); anything else, or any failure, goes through
    :func:`check_sigma` for the diagnosis."""
    if type(sigma) is np.ndarray and sigma.dtype.kind == "i" and sigma.shape == (n,) and n:
        arr = sigma.astype(np.intp)  # a copy: the outcome never shares the caller's array
        cand = (arr >= 0).nonzero()[0]
        rel = arr[cand]
        used = np.zeros(m, dtype=bool)
        try:
            used[rel] = True  # IndexError: a relay index >= m
        except IndexError:
            pass
        else:
            if _min(arr) >= -1 and np.count_nonzero(used) == rel.size:  # in range and one-to-one
                return arr, cand, rel
    arr = check_sigma(sigma, n, m)
    cand = np.flatnonzero(arr >= 0)
    return arr, cand, arr[cand]


_ARANGE = np.arange(4096)  # ranks for the inverse permutation (sliced; larger auctions build their own)


def _phase2(
    bids: np.ndarray,
    asks: np.ndarray,
    sigma: np.ndarray,
    rule: str,
    cand: np.ndarray | None = None,
    rel: np.ndarray | None = None,
    tie: str = "second",
) -> RelayOutcome:
    """Phase 2 of one auction on inputs already checked by :func:`check_reports` and
    :func:`check_sigma` (``cand``, ``rel``: the assigned buyers and their relays, when known;
    ``tie``: the step-5 tie rule, checked).

    The same steps as :func:`_rank` and :func:`_boundary` (which serve K profiles at once),
    written for one profile with as few array operations as possible (and NumPy's C entry
    points rather than its Python wrappers): winners are read off the buyers' order through
    ``r``, the ask rank of each pair."""
    n, m = bids.shape
    if cand is None:
        cand = (sigma >= 0).nonzero()[0]  # increasing buyer index
        rel = sigma[cand]
    elif rel is None:
        raise InternalError("phase 2 was given the assigned buyers without their relays")
    B, A = bids[cand, rel], asks[rel]
    by_bid = (-B).argsort(kind="stable")  # ties: lower buyer index first
    by_ask = np.lexsort((rel, A))  # ties: lower relay index first
    bs, as_ = B[by_bid], A[by_ask]
    k = int(np.count_nonzero(bs >= as_))  # bs − as_ is non-increasing: k = max{t : B_t ≥ A_t}
    if k < 2:
        return RelayOutcome.no_trade(n, m, sigma, rule, k)
    l = by_bid.size
    pos = np.empty(l, dtype=np.intp)
    pos[by_ask] = _ARANGE[:l] if l <= _ARANGE.size else np.arange(l)
    r = pos[by_bid]  # the ask rank (0-based) of each pair, pairs in bid order
    S, R = cand[by_bid], rel[by_ask]
    if rule == "trade_reduction":
        x = y = k
        won = r[: k - 1] < k - 1
        wins = int(np.count_nonzero(won))
        pairs = None
    else:
        alpha = int(np.count_nonzero(bs >= as_[k - 1]))
        beta = int(as_.searchsorted(bs[k - 1], "right"))  # as_ is sorted: the number of asks <= B_k
        # Σ(S_{x−1}, R_{y−1}) for the two candidate boundary pairs (α, k) and (k, β): buyers
        # ranked below x − 1 whose sellers rank below y − 1.
        w1, w2 = r[: alpha - 1] < k - 1, r[: k - 1] < beta - 1
        n1, n2 = int(np.count_nonzero(w1)), int(np.count_nonzero(w2))
        first = _first_pair(n1, n2, tie)
        x, y, won, wins = (alpha, k, w1, n1) if first else (k, beta, w2, n2)
        pairs = ((int(S[alpha - 1]), int(R[k - 1])), (int(S[k - 1]), int(R[beta - 1])))
    buyers = S[: x - 1][won]
    pb, ps = float(bs[x - 1]), float(as_[y - 1])
    sellers = sigma[buyers]
    buyer_wins, seller_wins = np.zeros(n, dtype=bool), np.zeros(m, dtype=bool)
    buyer_pay, seller_pay = np.zeros(n), np.zeros(m)
    buyer_wins[buyers] = True
    seller_wins[sellers] = True
    buyer_pay[buyers] = pb
    seller_pay[sellers] = ps
    return RelayOutcome._of(
        buyer_wins=buyer_wins,
        seller_wins=seller_wins,
        sigma=sigma,
        buyer_payments=buyer_pay,
        seller_payments=seller_pay,
        profit=float(wins * (pb - ps)),
        rule=rule,
        k=k,
        boundary=(int(S[x - 1]), int(R[y - 1])),
        buyer_price=pb,
        seller_price=ps,
        ranking=(S, R),
        boundary_candidates=pairs,
    )


def phase2_responses(
    bids: np.ndarray,
    asks: np.ndarray,
    sigma: np.ndarray,
    rule: str,
    role: str,
    index: int,
    reports: np.ndarray,
    tie: str = "second",
) -> AgentOutcomes:
    """Phase 2 for K counterfactual reports of one agent, every other report fixed, in one
    vectorised pass (the same steps as a single auction, row by row; ``tie``: the step-5 tie rule).

    ``reports`` (K,) is the number phase 2 reads from that agent: a buyer's bid on its
    assigned relay, a seller's ask. An agent without a phase-1 partner never trades.
    Inputs are taken as checked.
    """
    x = np.asarray(reports, dtype=np.float64).ravel()
    K = x.size
    cand = np.flatnonzero(sigma >= 0)
    rel = sigma[cand]
    col = np.flatnonzero(cand == index if role == "buyer" else rel == index)
    if col.size == 0 or cand.size < 2:
        return AgentOutcomes.none(K)
    c = int(col[0])
    B = np.repeat(bids[cand, rel][None, :], K, axis=0)
    A = np.repeat(asks[rel][None, :], K, axis=0)
    (B if role == "buyer" else A)[:, c] = x
    by_bid, by_ask, bs, as_, k = _rank(B, A, rel)
    xb, ya, win, _, _, _ = _boundary(by_bid, by_ask, bs, as_, k, rule, tie)
    wins = win[:, c] & (k >= 2)
    price = _at(bs, np.maximum(xb - 1, 0)) if role == "buyer" else _at(as_, np.maximum(ya - 1, 0))
    return AgentOutcomes(wins, np.where(wins, price, 0.0), np.where(wins, int(rel[c]), -1))


def clear(bids, asks, sigma, *, tie: str = "second") -> RelayOutcome:
    """TASC phase 2 (Algorithm 2) exactly as written: boundary pair chosen between
    (s_{i_α}, r_{j_k}) and (s_{i_k}, r_{j_β}) by the larger |Σ(S_{x−1}, R_{y−1})|, on equal
    counts the pair the tie rule ``tie`` names (:data:`TIE_RULES`; default the second).

    Individually rational and budget balanced, but *not* truthful: an agent can sometimes move
    the choice of the boundary pair to its own advantage. Seller instance: r1 earns 1.0
    truthfully and 1.8 by asking 1.8 (any ask in [1.75, 1.9], under either tie rule: the
    counts differ). At ask 1.7, equal to a bid, the two counts tie 1–1: under the rule
    "second" r1 still earns 1.8, under "first" it does not trade.

    >>> sigma = np.array([-1, 2, 1, 3, 0])
    >>> bids = np.zeros((5, 4)); bids[[1, 2, 3, 4], [2, 1, 3, 0]] = [3.1, 3.0, 2.6, 1.7]
    >>> asks = np.array([1.1, 0.1, 1.9, 0.7])
    >>> _, sellers = clear(bids, asks, sigma).utilities(bids, asks)
    >>> float(sellers[1])
    1.0
    >>> lie = asks.copy(); lie[1] = 1.8
    >>> _, sellers = clear(bids, lie, sigma).utilities(bids, asks)
    >>> round(float(sellers[1]), 6)
    1.8
    >>> lie[1] = 1.7
    >>> earned = {}
    >>> for t in TIE_RULES:
    ...     _, sellers = clear(bids, lie, sigma, tie=t).utilities(bids, asks)
    ...     earned[t] = round(float(sellers[1]), 6)
    >>> earned
    {'second': 1.8, 'first': 0.0}

    The paper's worked example (5 buyers, 7 sellers, MWM; the capacity matrix doubles as the
    bid matrix): winners (s1, r1), (s4, r4), (s5, r6), P^b = 8, P^s = 7, profit 3.

    >>> from auctionlab.mechanisms.relay.network import RelayNetwork
    >>> caps = np.array([[12.0, 3, 0, 5, 0, 2, 0], [0, 2, 4, 0, 1, 0, 8], [2, 0, 0, 3, 6, 0, 1],
    ...                  [4, 0, 2, 11, 0, 3, 0], [0, 1, 0, 0, 2, 10, 3]])
    >>> out = tasc(RelayNetwork.from_capacities(np.zeros(5), caps), caps, [3.0, 1, 6, 5, 4, 2, 7], "mwm")
    >>> (out.sigma + 1).tolist(), out.k, [b + 1 for b in out.boundary]
    ([1, 7, 5, 4, 6], 4, [2, 7])
    >>> (np.flatnonzero(out.buyer_wins) + 1).tolist(), out.buyer_price, out.seller_price, out.profit
    ([1, 4, 5], 8.0, 7.0, 3.0)
    """
    tie = check_tie(tie)
    bids, asks = check_reports(bids, asks)
    sigma, cand, rel = _assignment(sigma, *bids.shape)
    return _phase2(bids, asks, sigma, "tasc", cand, rel, tie)


def trade_reduction(bids, asks, sigma) -> RelayOutcome:
    """Phase 2 of the truthful variant: boundary pair always (s_{i_k}, r_{j_k}),
    P^b = B_{i_k}, P^s = A_{j_k}, winners Σ(S_{k−1}, R_{k−1}).

    Truthful, IR and budget balanced for any bid-independent sigma.
    """
    bids, asks = check_reports(bids, asks)
    sigma, cand, rel = _assignment(sigma, *bids.shape)
    return _phase2(bids, asks, sigma, "trade_reduction", cand, rel)


PHASE2_RULES = {"tasc": clear, "trade_reduction": trade_reduction}
_BUILTIN = frozenset({mm, mwm, ora})


def assign(network: RelayNetwork, algorithm="mwm") -> np.ndarray:
    """Phase 1: run a registered (or user-supplied) assignment algorithm and check its output.

    The result must be one-to-one and use useful pairs only, whatever the algorithm.
    """
    if not isinstance(network, RelayNetwork):
        raise ConfigError(f"network must be a RelayNetwork, got {type(network).__name__}")
    if not isinstance(algorithm, str) and not callable(algorithm):
        raise ConfigError(
            f"algorithm must be a registered name ({', '.join(sorted(ASSIGNMENT_ALGORITHMS))}) "
            f"or a callable, got {algorithm!r}"
        )
    fn = ASSIGNMENT_ALGORITHMS.resolve(algorithm)
    sigma = fn(network.direct, network.relayed)
    if fn in _BUILTIN:  # valid by construction (and by tests); skip the O(n) re-check
        return sigma
    sigma = check_sigma(sigma, network.n, network.m)
    on = np.flatnonzero(sigma >= 0)
    if not network.useful[on, sigma[on]].all():
        i = int(on[~network.useful[on, sigma[on]]][0])
        raise InvalidAssignmentError(
            f"assignment algorithm {algorithm!r} gave source {i} relay {sigma[i]}, which is not useful to it"
        )
    return sigma


def tasc(
    network: RelayNetwork, bids, asks, algorithm="mwm", *, rule: str = "tasc", tie: str = "second"
) -> RelayOutcome:
    """The whole auction: phase 1 with ``algorithm`` (a name in ASSIGNMENT_ALGORITHMS or a
    callable), then phase 2 with ``rule`` ("tasc" as written, or "trade_reduction"). ``tie``
    is the step-5 tie rule of "tasc" (:data:`TIE_RULES`); trade reduction has no step 5 and
    accepts only the default."""
    if not isinstance(rule, str) or rule not in PHASE2_RULES:
        raise ConfigError(f"unknown rule {rule!r}; available: {', '.join(PHASE2_RULES)}")
    tie = check_tie(tie)
    if rule == "trade_reduction" and tie != TIE_RULES[0]:
        raise ConfigError(f"tie = {tie!r} has no meaning under trade reduction (it has no step-5 choice)")
    if not isinstance(network, RelayNetwork):
        raise ConfigError(f"network must be a RelayNetwork, got {type(network).__name__}")
    bids, asks = check_reports(bids, asks, network.relayed.shape)
    return _phase2(bids, asks, assign(network, algorithm), rule, tie=tie)
