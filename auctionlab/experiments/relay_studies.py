"""Strategic studies on the relay market (issue 7): manipulation, tournaments, equilibria.

Three run kinds, each a pure function of ``(params, SeedSequence)``:

``relay-manipulation``
    One random instance per run (network, values U(0, Vmax] on useful pairs, costs
    U(cost_range]). On that same instance every requested mechanism is cleared with
    truthful reports (efficiency, profit, deficit) and a sample of ``agents`` buyers and
    ``agents`` sellers (the same agents for every mechanism: common random numbers)
    each search for a best response, every other report truthful. The gain of the best
    response over truth is the agent's *maximum manipulation gain*.

``relay-tournament``
    Per mechanism: (1) a *league*: the Mesa :class:`~auctionlab.market.relay.model.RelayMarket`
    with every agent given a strategy drawn uniformly from the strategy set, stepped for
    ``league_rounds`` random markets (a new network and new types every step), so that
    learners learn; mean utility per strategy and role is the leaderboard. (2) a *payoff
    matrix* for replicator dynamics: on fresh instances, everyone plays background
    strategy b and sampled focal agents switch to each strategy a (common random
    numbers), giving A[a, b] per role. Learners enter the matrix frozen: they play θ drawn
    from the mixed strategy their type of learner held, pooled over agents, at the end
    of the league.

``relay-equilibrium``
    ``part = "game"``: a role game over buyer shading levels × seller inflation levels
    (everyone in a role plays the role's θ; a role's payoff is its members' mean
    utility), one payoff sample per instance and profile, plus *unilateral* deviation
    payoffs (one sampled agent switches θ while everyone else plays the profile), which
    is the Nash notion of the n-agent game. ``part = "learning"``: Hedge or EXP3
    learners in the Mesa model for ``rounds`` auctions; mean θ per role over time.

The deviation set of the best response (:func:`best_response`) is the grid of
:class:`~auctionlab.strategies.relay.BestResponse` — the truth, θ·truth for θ in
0, 0.05, …, 3, truth + δ for ten shifts, and every other agent's report c as well as
c ± 1e-7 and 0 — applied to *the one number the mechanism reads*:

- TASC, trade reduction, k-DA: a buyer's bid on its phase-1 relay (no other bid is
  read) and a seller's ask. Utilities are piecewise constant (TASC, trade reduction)
  or piecewise linear (k-DA) in that number with breakpoints only at other agents'
  reports, so this grid is an *exact* best response (up to gaps < 1e-7 between reports).
- VCG: sellers as above (ask grid + others' asks); buyers report vectors: θ·values,
  values + δ, "bid only on my top 1/2/3 relays", and the bid on its most valued relay
  scaled by 0, 0.5, …, 2. Not exhaustive, but VCG is truthful, so any gain found is a bug.
- McAfee applied to relays (``mcafee``, the registered reduction documented in
  :func:`~auctionlab.market.relay.mechanisms.mcafee_mechanism`: a buyer's single bid is
  its highest bid on a useful relay, winners are paired by rank whatever the network):
  the grid on that scalar. Here McAfee is neither IR nor truthful — a buyer can be
  paired with a relay it does not value.
- ``mcafee_homogeneous``: where McAfee *does* apply. The instance is made homogeneous —
  buyer i values every relay at v_i = its highest value on a useful relay, and every
  relay can serve every buyer — and McAfee runs on one bid per buyer (its highest bid on
  any relay). Efficiency there is measured in that homogeneous market (capacity is
  meaningless and left NaN).

Agents whose report a mechanism never reads (a source or relay without a phase-1
partner under TASC, trade reduction, k-DA) have gain 0 by construction and are not
searched. A deviation is *profitable* when its gain exceeds ``tol`` (1e-9).

Speed: counterfactuals go through :class:`FastRound`, which evaluates a whole batch of
reports of one agent per NumPy call (TASC's phase 2 vectorised over rows; McAfee and
k-DA in closed form; VCG with one assignment problem per report, since W*_{−i} does not
depend on i's own report). Its results equal
:meth:`~auctionlab.market.relay.mechanisms.RelayRound.utility_if` exactly (the tests
compare them report by report).
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment

from auctionlab.errors import ConfigError
from auctionlab.experiments.kinds import (
    RUN_KINDS,
    RunKind,
    RunOutput,
    choice,
    cost_range,
    names_in,
    positive_float,
    positive_int,
)
from auctionlab.market.relay.assignment import ASSIGNMENT_ALGORITHMS, max_weight_matching
from auctionlab.market.relay.baselines import mcafee
from auctionlab.market.relay.mechanisms import resolve_mechanism
from auctionlab.market.relay.network import MODES, RelayNetwork, random_network
from auctionlab.market.relay.outcome import RelayOutcome
from auctionlab.market.relay.tasc import assign
from auctionlab.market.relay.valuations import uniform_valuations
from auctionlab.strategies.base import Observation, Strategy
from auctionlab.strategies.learning import DEFAULT_THETAS
from auctionlab.strategies.registry import strategy_from_spec
from auctionlab.strategies.relay import DEFAULT_BR_SHIFTS, DEFAULT_BR_THETAS

MAX_NODES = 1000
PHASE1_MECHANISMS = ("tasc", "trade_reduction", "kda")  # clear on the phase-1 assignment: one variant per algorithm
STUDY_MECHANISMS = PHASE1_MECHANISMS + ("vcg", "mcafee", "mcafee_homogeneous")
TOL = 1e-9
EPS = 1e-7
VCG_OWN_FACTORS = (0.0, 0.5, 0.8, 0.9, 1.1, 1.25, 1.5, 2.0)
VCG_KEEP_TOP = (1, 2, 3)


def mcafee_homogeneous_mechanism(network: RelayNetwork, bids, asks, sigma) -> RelayOutcome:
    """McAfee on a homogeneous relay market: buyer i's single bid is its highest bid on *any*
    relay (every relay is taken to serve every buyer equally). Truthful, IR and budget
    balanced when values are homogeneous (v_i the same on every relay); module-level so
    it pickles. Not registered in ``MECHANISMS``: on a real network it is not IR."""
    return mcafee(np.asarray(bids, dtype=np.float64).max(axis=1), asks)


def _mechanism_fn(name: str, kda_k: float):
    return mcafee_homogeneous_mechanism if name == "mcafee_homogeneous" else resolve_mechanism(name, kda_k=kda_k)


def homogeneous_values(values: np.ndarray, useful: np.ndarray) -> np.ndarray:
    """Each buyer values every relay at its highest value on a useful relay (0 if none)."""
    v = np.where(useful, values, 0.0).max(axis=1)
    return np.repeat(v[:, None], values.shape[1], axis=1)


def draw_instance(gen: np.random.Generator, p: Mapping[str, Any]) -> tuple[RelayNetwork, np.ndarray, np.ndarray]:
    """A random network and the paper's private types, drawn from ``gen`` in a fixed order."""
    net = random_network(int(p["n"]), int(p["m"]), rng=gen, mode=p.get("mode", "DF"), area=float(p.get("area", 1000.0)))
    values, costs = uniform_valuations(net, rng=gen, vmax=float(p["vmax"]), cost_range=tuple(p["cost_range"]))
    return net, values, costs


def _matching_value(w: np.ndarray) -> float:
    """Optimum of the maximum-weight matching on non-negative weights (as the VCG baseline computes it)."""
    if w.size == 0:
        return 0.0
    r, c = linear_sum_assignment(w, maximize=True)
    return float(w[r, c].sum())


# ====================================================================== fast counterfactuals
def _phase2_batch(B: np.ndarray, A: np.ndarray, perm: np.ndarray, rule: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """TASC phase 2 (``rule`` "tasc" or "trade_reduction") on K report profiles at once.

    ``B``, ``A``: (K, l) bids of the candidate buyers on their own relays and asks of those
    relays, columns in candidate order (increasing buyer index); ``perm`` sorts the
    candidates by relay index (the sellers' tie order). Returns ``win`` (K, l) and the
    uniform prices ``pb``, ``ps`` (K,), exactly as :func:`auctionlab.market.relay.tasc._phase2`.
    """
    K, l = B.shape
    rows = np.arange(K)
    by_bid = np.argsort(-B, axis=1, kind="stable")  # ties: lower buyer index first
    by_ask = perm[np.argsort(A[:, perm], axis=1, kind="stable")]  # ties: lower relay index first
    bs = np.take_along_axis(B, by_bid, axis=1)
    as_ = np.take_along_axis(A, by_ask, axis=1)
    k = np.count_nonzero(bs >= as_, axis=1)
    ar = np.broadcast_to(np.arange(l), (K, l))
    pos_b = np.empty((K, l), dtype=np.intp)
    np.put_along_axis(pos_b, by_bid, ar, axis=1)
    pos_a = np.empty((K, l), dtype=np.intp)
    np.put_along_axis(pos_a, by_ask, ar, axis=1)
    km1 = np.maximum(k - 1, 0)
    if rule == "trade_reduction":
        x = y = k
    else:
        alpha = np.count_nonzero(bs >= as_[rows, km1][:, None], axis=1)
        beta = np.count_nonzero(as_ <= bs[rows, km1][:, None], axis=1)
        n1 = np.count_nonzero((pos_b < (alpha - 1)[:, None]) & (pos_a < (k - 1)[:, None]), axis=1)
        n2 = np.count_nonzero((pos_b < (k - 1)[:, None]) & (pos_a < (beta - 1)[:, None]), axis=1)
        first = n1 > n2  # tie rule of tasc.py: the second pair on equal counts
        x = np.where(first, alpha, k)
        y = np.where(first, k, beta)
    win = (pos_b < (x - 1)[:, None]) & (pos_a < (y - 1)[:, None]) & (k >= 2)[:, None]
    pb = bs[rows, np.maximum(x - 1, 0)]
    ps = as_[rows, np.maximum(y - 1, 0)]
    return win, pb, ps


def _mcafee_batch(Bs: np.ndarray, As: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """McAfee on K profiles: ``Bs`` (K, n) scalar bids, ``As`` (K, m) asks.

    Returns ``ob``, ``oa`` (the sorted orders), ``trades`` (K,), ``pb``, ``ps`` (K,), as
    :func:`auctionlab.market.relay.baselines.mcafee` computes them.
    """
    K, n = Bs.shape
    m = As.shape[1]
    rows = np.arange(K)
    ob = np.argsort(-Bs, axis=1, kind="stable")
    oa = np.argsort(As, axis=1, kind="stable")
    bs = np.take_along_axis(Bs, ob, axis=1)
    as_ = np.take_along_axis(As, oa, axis=1)
    L = min(n, m)
    k = np.count_nonzero(bs[:, :L] >= as_[:, :L], axis=1)
    kk = np.minimum(k, L - 1)
    with np.errstate(invalid="ignore"):
        t = np.where(k < L, (bs[rows, kk] + as_[rows, kk]) / 2, np.inf)
    km1 = np.maximum(k - 1, 0)
    bk, ak = bs[rows, km1], as_[rows, km1]
    full = (ak <= t) & (t <= bk)
    trades = np.where(k == 0, 0, np.where(full, k, k - 1))
    pb = np.where(full, t, bk)
    ps = np.where(full, t, ak)
    return ob, oa, trades, pb, ps


class FastRound:
    """Utilities of one agent for a batch of its own reports, every other report fixed.

    Equal to :meth:`RelayRound.utility_if` (same mechanism, same phase-1 ``sigma``) report
    by report, but one vectorised evaluation per batch. ``mechanism`` is a name in
    :data:`STUDY_MECHANISMS`. Buyers' reports are vectors (K, m) in :meth:`buyer`; for the
    mechanisms that read one number of a buyer (:attr:`scalar_buyers`) :meth:`buyer_scalar`
    takes that number directly (own-relay bid, or McAfee's single bid).
    """

    def __init__(self, network: RelayNetwork, values: np.ndarray, costs: np.ndarray, bids: np.ndarray,
                 asks: np.ndarray, sigma: np.ndarray, mechanism: str, kda_k: float = 0.5) -> None:
        if mechanism not in STUDY_MECHANISMS:
            raise ConfigError(f"mechanism must be one of {STUDY_MECHANISMS}, got {mechanism!r}")
        self.network, self.values, self.costs = network, values, costs
        self.bids, self.asks, self.sigma = bids, asks, sigma
        self.mechanism, self.kda_k = mechanism, float(kda_k)
        n, m = bids.shape
        self.n, self.m = n, m
        self.partner = np.full(m, -1, dtype=np.intp)
        on = np.flatnonzero(sigma >= 0)
        self.partner[sigma[on]] = on
        self.scalar_buyers = mechanism != "vcg"
        if mechanism in ("tasc", "trade_reduction"):
            self._cand = on
            self._rel = sigma[on]
            self._colb = np.full(n, -1, dtype=np.intp)
            self._colb[on] = np.arange(on.size)
            self._cols = np.full(m, -1, dtype=np.intp)
            self._cols[self._rel] = np.arange(on.size)
            self._B = bids[on, self._rel]
            self._A = asks[self._rel]
            self._perm = np.argsort(self._rel, kind="stable")
        elif mechanism in ("mcafee", "mcafee_homogeneous"):
            mask = network.useful if mechanism == "mcafee" else np.ones((n, m), dtype=bool)
            self._mask = mask
            self._sb = np.where(mask, bids, 0.0).max(axis=1)
        elif mechanism == "vcg":
            surplus = bids - asks[None, :]
            self._allowed_base = network.useful
            self._w = np.where((surplus > 0) & network.useful, surplus, 0.0)
            self._wminus_b: dict[int, float] = {}
            self._wminus_s: dict[int, float] = {}

    # ------------------------------------------------------------------ who matters
    def relevant(self, role: str, index: int) -> bool:
        """Whether this agent's report can change anything (False: utility 0 whatever it reports)."""
        if self.mechanism in PHASE1_MECHANISMS:
            return bool(self.sigma[index] >= 0) if role == "buyer" else bool(self.partner[index] >= 0)
        return True

    def scalar_of(self, index: int, report: np.ndarray) -> np.ndarray:
        """The number(s) a scalar-reading mechanism takes from buyer reports (K, m) -> (K,)."""
        R = np.atleast_2d(np.asarray(report, dtype=np.float64))
        if self.mechanism in PHASE1_MECHANISMS:
            j = self.sigma[index]
            return R[:, j] if j >= 0 else np.zeros(R.shape[0])
        if self.mechanism in ("mcafee", "mcafee_homogeneous"):
            return np.where(self._mask[index], R, 0.0).max(axis=1)
        raise ConfigError("VCG reads whole bid vectors")

    def levels(self, role: str) -> np.ndarray:
        """Report levels at which the outcome can change (other agents' reports), as
        :attr:`RelayRound.candidates` offers them to omniscient strategies."""
        if self.mechanism in PHASE1_MECHANISMS:
            on = np.flatnonzero(self.sigma >= 0)
            return np.unique(np.concatenate([self.bids[on, self.sigma[on]], self.asks]))
        if self.mechanism in ("mcafee", "mcafee_homogeneous"):
            return np.unique(np.concatenate([self._sb, self.asks]))
        return np.unique(self.asks) if role == "seller" else np.empty(0)

    # ------------------------------------------------------------------ buyers
    def buyer(self, i: int, reports: np.ndarray) -> np.ndarray:
        """Buyer ``i``'s true utility for each bid vector in ``reports`` (K, m)."""
        R = np.atleast_2d(np.asarray(reports, dtype=np.float64))
        if self.scalar_buyers:
            return self.buyer_scalar(i, self.scalar_of(i, R))
        return np.array([self._vcg_buyer(i, r) for r in R])

    def buyer_scalar(self, i: int, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64).ravel()
        K = x.size
        mech = self.mechanism
        if mech in ("tasc", "trade_reduction"):
            c = self._colb[i]
            if c < 0 or self._cand.size < 2:
                return np.zeros(K)
            B = np.repeat(self._B[None, :], K, axis=0)
            B[:, c] = x
            A = np.broadcast_to(self._A, (K, self._A.size))
            win, pb, _ = _phase2_batch(B, A, self._perm, mech)
            return np.where(win[:, c], self.values[i, self.sigma[i]] - pb, 0.0)
        if mech == "kda":
            j = self.sigma[i]
            if j < 0:
                return np.zeros(K)
            a, k = self.asks[j], self.kda_k
            return np.where(x >= a, self.values[i, j] - (a + k * (x - a)), 0.0)
        if mech in ("mcafee", "mcafee_homogeneous"):
            Bs = np.repeat(self._sb[None, :], K, axis=0)
            Bs[:, i] = x
            As = np.repeat(self.asks[None, :], K, axis=0)
            ob, oa, trades, pb, _ = _mcafee_batch(Bs, As)
            pos = np.argmax(ob == i, axis=1)
            wins = pos < trades
            relay = np.take_along_axis(oa, np.minimum(pos, self.m - 1)[:, None], axis=1)[:, 0]
            return np.where(wins, self.values[i, relay] - pb, 0.0)
        raise ConfigError("VCG buyers report vectors: use buyer()")

    def _vcg_buyer(self, i: int, row: np.ndarray) -> float:
        """VCG utility of buyer i bidding ``row``: one assignment problem (W*_{−i} is cached)."""
        if i not in self._wminus_b:
            self._wminus_b[i] = _matching_value(np.delete(self._w, i, axis=0))
        surplus_i = row - self.asks
        allowed_i = (surplus_i > 0) & self._allowed_base[i]
        w = self._w.copy()
        w[i] = np.where(allowed_i, surplus_i, 0.0)
        allowed = w > 0
        allowed[i] = allowed_i
        sigma = max_weight_matching(w, allowed)
        j = sigma[i]
        if j < 0:
            return 0.0
        buyers = np.flatnonzero(sigma >= 0)
        w_star = float(w[buyers, sigma[buyers]].sum())
        pay = row[j] - (w_star - self._wminus_b[i])
        return float(self.values[i, j] - pay)

    # ------------------------------------------------------------------ sellers
    def seller(self, j: int, x: np.ndarray) -> np.ndarray:
        """Seller ``j``'s true utility for each ask in ``x`` (K,)."""
        x = np.asarray(x, dtype=np.float64).ravel()
        K = x.size
        mech = self.mechanism
        if mech in ("tasc", "trade_reduction"):
            c = self._cols[j]
            if c < 0 or self._cand.size < 2:
                return np.zeros(K)
            A = np.repeat(self._A[None, :], K, axis=0)
            A[:, c] = x
            B = np.broadcast_to(self._B, (K, self._B.size))
            win, _, ps = _phase2_batch(B, A, self._perm, mech)
            return np.where(win[:, c], ps - self.costs[j], 0.0)
        if mech == "kda":
            i = self.partner[j]
            if i < 0:
                return np.zeros(K)
            b, k = self.bids[i, j], self.kda_k
            return np.where(b >= x, (x + k * (b - x)) - self.costs[j], 0.0)
        if mech in ("mcafee", "mcafee_homogeneous"):
            Bs = np.repeat(self._sb[None, :], K, axis=0)
            As = np.repeat(self.asks[None, :], K, axis=0)
            As[:, j] = x
            _, oa, trades, _, ps = _mcafee_batch(Bs, As)
            pos = np.argmax(oa == j, axis=1)
            return np.where(pos < trades, ps - self.costs[j], 0.0)
        return np.array([self._vcg_seller(j, float(a)) for a in x])

    def _vcg_seller(self, j: int, ask: float) -> float:
        if j not in self._wminus_s:
            self._wminus_s[j] = _matching_value(np.delete(self._w, j, axis=1))
        surplus_j = self.bids[:, j] - ask
        allowed_j = (surplus_j > 0) & self._allowed_base[:, j]
        w = self._w.copy()
        w[:, j] = np.where(allowed_j, surplus_j, 0.0)
        allowed = w > 0
        allowed[:, j] = allowed_j
        sigma = max_weight_matching(w, allowed)
        hit = np.flatnonzero(sigma == j)
        if hit.size == 0:
            return 0.0
        buyers = np.flatnonzero(sigma >= 0)
        w_star = float(w[buyers, sigma[buyers]].sum())
        pay = ask + (w_star - self._wminus_s[j])
        return float(pay - self.costs[j])

    def utilities(self, role: str, index: int, reports: Any) -> np.ndarray:
        return self.buyer(index, reports) if role == "buyer" else self.seller(index, reports)


# ====================================================================== best responses
def _scalar_grid(t: float, levels: np.ndarray, thetas: Sequence[float], shifts: Sequence[float],
                 buyer: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """BestResponse's grid on one number: truth, θ·t, t + δ, and the levels c, c ± EPS, 0.
    Returns reports, kind codes (0 truth, 1 theta, 2 shift, 3 level) and the parameter."""
    th = np.array([x for x in thetas if x != 1.0], dtype=np.float64)
    sh = np.asarray(shifts, dtype=np.float64)
    shifted = np.maximum(t + sh, 0.0) if (t > 0 or not buyer) else np.full(sh.size, t)
    lv = np.unique(np.concatenate([[0.0], levels, levels + EPS, np.maximum(levels - EPS, 0.0)]))
    reports = np.concatenate([[t], t * th, shifted, lv])
    kinds = np.concatenate([[0], np.ones(th.size), np.full(sh.size, 2), np.full(lv.size, 3)]).astype(np.int8)
    param = np.concatenate([[1.0], th, sh, lv])
    return reports, kinds, param


KIND_NAMES = ("truth", "theta", "shift", "level", "keep_top", "own_scale")


def _vcg_buyer_grid(v: np.ndarray, own: int, thetas, shifts) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rows = [v]
    kinds, param = [0], [1.0]
    for th in thetas:
        if th != 1.0:
            rows.append(v * th)
            kinds.append(1)
            param.append(th)
    for d in shifts:
        rows.append(np.where(v > 0, np.maximum(v + d, 0.0), v))
        kinds.append(2)
        param.append(d)
    order = np.argsort(-v, kind="stable")
    for kt in VCG_KEEP_TOP:
        r = v.copy()
        r[order[kt:]] = 0.0
        rows.append(r)
        kinds.append(4)
        param.append(kt)
    if own >= 0:
        for f in VCG_OWN_FACTORS:
            r = v.copy()
            r[own] = v[own] * f
            rows.append(r)
            kinds.append(5)
            param.append(f)
    return np.array(rows), np.array(kinds, dtype=np.int8), np.array(param, dtype=np.float64)


def best_response(fr: FastRound, role: str, index: int, truth: Any, *,
                  thetas: Sequence[float] = DEFAULT_BR_THETAS, shifts: Sequence[float] = DEFAULT_BR_SHIFTS,
                  tol: float = 1e-12) -> dict[str, Any]:
    """The best report of one agent over the deviation set (module docstring), others fixed.

    Returns ``truthful_utility``, ``best_utility``, ``gain`` (≥ 0: the truth comes first and
    wins ties up to ``tol``), ``report`` (the best report: a vector for buyers, a float for
    sellers), ``scalar`` (the number the mechanism reads, NaN for VCG buyers), ``kind``
    and ``param`` (which deviation family and its parameter).
    """
    if role == "buyer":
        v = np.asarray(truth, dtype=np.float64)
        if fr.scalar_buyers:
            t = float(fr.scalar_of(index, v[None, :])[0])
            reps, kinds, param = _scalar_grid(t, fr.levels(role), thetas, shifts, True)
            utils = fr.buyer_scalar(index, reps)
        else:
            own = int(np.argmax(v)) if v.max() > 0 else -1
            reps, kinds, param = _vcg_buyer_grid(v, own, thetas, shifts)
            utils = fr.buyer(index, reps)
    else:
        t = float(truth)
        reps, kinds, param = _scalar_grid(t, fr.levels(role), thetas, shifts, False)
        utils = fr.seller(index, reps)
    best = int(np.argmax(utils))
    if utils[best] <= utils[0] + tol:
        best = 0
    rep = reps[best]
    if role == "buyer" and fr.scalar_buyers:
        scalar = float(rep)
        vec = np.asarray(truth, dtype=np.float64).copy()
        if fr.mechanism in PHASE1_MECHANISMS:
            if fr.sigma[index] >= 0:
                vec[fr.sigma[index]] = scalar
        else:  # McAfee reads the max: bid `scalar` on the best relay, scale the rest below it
            mask = fr._mask[index]
            top = np.where(mask, vec, 0.0).max()
            vec = np.where(mask, vec * (scalar / top), 0.0) if top > 0 else np.where(mask, scalar, 0.0)
        rep = vec
    else:
        scalar = float(rep) if role == "seller" else math.nan
    return {
        "truthful_utility": float(utils[0]), "best_utility": float(utils[best]),
        "gain": float(utils[best] - utils[0]), "report": rep, "scalar": scalar,
        "kind": KIND_NAMES[int(kinds[best])], "param": float(param[best]),
    }


# ====================================================================== checks
def _check_instance(p: Mapping[str, Any]) -> None:
    positive_int(p, "n", maximum=MAX_NODES)
    positive_int(p, "m", maximum=MAX_NODES)
    positive_float(p, "vmax")
    cost_range(p)
    if "mode" in p:
        choice(p, "mode", MODES)
    if "area" in p:
        positive_float(p, "area")


def _check_kda_k(p: Mapping[str, Any]) -> None:
    k = p["kda_k"]
    if isinstance(k, bool) or not isinstance(k, (int, float)) or not 0.0 <= float(k) <= 1.0:
        raise ConfigError(f"kda_k must be a number in [0, 1], got {k!r}")


def _grid_or_default(p: Mapping[str, Any], key: str, default: Sequence[float], lo: float | None) -> tuple[float, ...]:
    v = p.get(key)
    if v is None:
        return tuple(default)
    if isinstance(v, (str, bytes)) or not isinstance(v, Sequence) or not v:
        raise ConfigError(f"{key} must be a non-empty list of numbers (or omitted for the default), got {v!r}")
    out = []
    for x in v:
        if isinstance(x, bool) or not isinstance(x, (int, float)) or not math.isfinite(x) or (lo is not None and x < lo):
            raise ConfigError(f"{key} must hold finite numbers{f' >= {lo}' if lo is not None else ''}, got {v!r}")
        out.append(float(x))
    return tuple(out)


def _nonneg_int(p: Mapping[str, Any], key: str) -> int:
    v = p[key]
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 0:
        raise ConfigError(f"{key} must be a non-negative integer, got {v!r}")
    return int(v)


# ====================================================================== relay-manipulation
# Parameters: instance (n, m, vmax, cost_range, mode, area); which variants (algorithms ×
# phase-1 mechanisms, plus VCG / McAfee); kda_k; ``agents`` buyers and as many sellers sampled per
# instance (0 = all of them); ``tol`` for "profitable"; the best response's θ grid and shifts
# (None = BestResponse's defaults).
MANIP_DEFAULTS: dict[str, Any] = {
    "n": 20, "m": 20, "vmax": 4.0, "cost_range": [0.0, 1.0], "mode": "DF", "area": 1000.0,
    "algorithms": ["mwm", "mm", "ora"], "mechanisms": list(STUDY_MECHANISMS), "kda_k": 0.5,
    "agents": 8, "tol": TOL, "thetas": None, "shifts": None,
}
MANIP_METRICS = (
    "candidates", "trades", "total_capacity", "capacity_gain_share", "welfare", "welfare_share",
    "profit", "deficit", "budget_balanced", "ir_violations",
    "buyers_sampled", "buyers_profitable", "buyer_share_profitable", "buyer_mean_gain", "buyer_max_gain",
    "sellers_sampled", "sellers_profitable", "seller_share_profitable", "seller_mean_gain", "seller_max_gain",
    "any_profitable", "time_ms",
)


def check_manipulation(p: dict[str, Any]) -> None:
    _check_instance(p)
    names_in(p, "algorithms", ASSIGNMENT_ALGORITHMS, "assignment algorithm")
    names_in(p, "mechanisms", STUDY_MECHANISMS, "study mechanism")
    _check_kda_k(p)
    _nonneg_int(p, "agents")
    tol = p["tol"]
    if isinstance(tol, bool) or not isinstance(tol, (int, float)) or not 0 <= tol < 1:
        raise ConfigError(f"tol must be a number in [0, 1), got {tol!r}")
    _grid_or_default(p, "thetas", DEFAULT_BR_THETAS, 0.0)
    _grid_or_default(p, "shifts", DEFAULT_BR_SHIFTS, None)


def _sample(gen: np.random.Generator, size: int, k: int) -> np.ndarray:
    """``k`` distinct indices out of ``size`` (all of them, in order, when k == 0 or k ≥ size)."""
    if k == 0 or k >= size:
        return np.arange(size)
    return np.sort(gen.choice(size, size=k, replace=False))


def variants(p: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(mechanism, algorithm) pairs evaluated on each instance; "-" for mechanisms without phase 1."""
    out = []
    for mech in p["mechanisms"]:
        if mech in PHASE1_MECHANISMS:
            out += [(mech, alg) for alg in p["algorithms"]]
        else:
            out.append((mech, "-"))
    return out


def run_manipulation(p: dict[str, Any], seed: np.random.SeedSequence) -> RunOutput:
    """One instance; per mechanism variant: truthful efficiency / profit / deficit and the
    maximum manipulation gain of the sampled buyers and sellers (others truthful)."""
    gen = np.random.default_rng(seed)
    net, values, costs = draw_instance(gen, p)
    n, m = net.n, net.m
    buyers = _sample(gen, n, int(p["agents"]))
    sellers = _sample(gen, m, int(p["agents"]))
    thetas = _grid_or_default(p, "thetas", DEFAULT_BR_THETAS, 0.0)
    shifts = _grid_or_default(p, "shifts", DEFAULT_BR_SHIFTS, None)
    tol, kda_k = float(p["tol"]), float(p["kda_k"])
    direct_total = float(net.direct.sum())
    sigmas = {alg: assign(net, alg) for alg in p["algorithms"]}
    sig_mwm = sigmas.get("mwm")
    if sig_mwm is None:
        sig_mwm = assign(net, "mwm")
    pure_gain = float(net.capacities(sig_mwm).sum()) - direct_total
    true_surplus = np.where(net.useful & (values > costs[None, :]), values - costs[None, :], 0.0)
    w_opt = _matching_value(true_surplus)
    vh = homogeneous_values(values, net.useful) if "mcafee_homogeneous" in p["mechanisms"] else None
    if vh is not None:  # the efficient surplus of the homogeneous market: greedy by rank
        bs = np.sort(vh[:, 0])[::-1]
        as_ = np.sort(costs)
        L = min(n, m)
        w_opt_h = float(np.maximum(bs[:L] - as_[:L], 0.0).sum())
    rows: list[dict[str, Any]] = []
    agent_rows: list[dict[str, Any]] = []
    for mech, alg in variants(p):
        t0 = time.perf_counter()
        sigma = sigmas[alg] if alg != "-" else np.full(n, -1, dtype=np.intp)
        vals = vh if mech == "mcafee_homogeneous" else values
        out = _mechanism_fn(mech, kda_k)(net, vals, costs, sigma)
        ub, us = out.utilities(vals, costs)
        win = np.flatnonzero(out.buyer_wins)
        welfare = float(vals[win, out.sigma[win]].sum() - costs[out.sigma[win]].sum())
        homog = mech == "mcafee_homogeneous"
        total_cap = math.nan if homog else float(net.capacities(out.traded).sum())
        fr = FastRound(net, vals, costs, vals, costs, sigma, mech, kda_k)
        gains = {"buyer": [], "seller": []}
        for role, idxs in (("buyer", buyers), ("seller", sellers)):
            for idx in idxs:
                idx = int(idx)
                truth = vals[idx] if role == "buyer" else float(costs[idx])
                relevant = fr.relevant(role, idx)
                u_true = float(ub[idx] if role == "buyer" else us[idx])
                if relevant:
                    br = best_response(fr, role, idx, truth, thetas=thetas, shifts=shifts)
                else:
                    br = {"truthful_utility": u_true, "best_utility": u_true, "gain": 0.0, "scalar": math.nan,
                          "kind": "truth", "param": 1.0}
                if role == "buyer":
                    j = int(out.sigma[idx]) if out.buyer_wins[idx] else int(sigma[idx])
                    truthful_report = float(vals[idx, j]) if j >= 0 else float(vals[idx].max())
                    trades = bool(out.buyer_wins[idx])
                else:
                    truthful_report = float(costs[idx])
                    trades = bool(out.seller_wins[idx])
                gains[role].append(br["gain"])
                agent_rows.append({
                    "variant": mech if alg == "-" else f"{mech}/{alg}", "mechanism": mech, "algorithm": alg,
                    "role": role, "index": idx, "relevant": relevant, "trades_truthfully": trades,
                    "truthful_report": truthful_report, "truthful_utility": br["truthful_utility"],
                    "realised_utility": u_true, "best_utility": br["best_utility"], "max_gain": br["gain"],
                    "profitable": bool(br["gain"] > tol), "best_report": br["scalar"], "best_kind": br["kind"],
                    "best_param": br["param"],
                })
        gb, gs = np.array(gains["buyer"]), np.array(gains["seller"])
        row = {
            "n": n, "m": m, "vmax": float(p["vmax"]),
            "variant": mech if alg == "-" else f"{mech}/{alg}", "mechanism": mech, "algorithm": alg,
            "candidates": int((sigma >= 0).sum()) if mech in PHASE1_MECHANISMS else -1,
            "trades": int(out.n_trades), "total_capacity": total_cap,
            "capacity_gain_share": (total_cap - direct_total) / pure_gain if pure_gain > 0 and not homog else math.nan,
            "welfare": welfare,
            "welfare_share": welfare / (w_opt_h if homog else w_opt) if (w_opt_h if homog else w_opt) > 0 else math.nan,
            "profit": float(out.profit), "deficit": float(max(0.0, -out.profit)),
            "budget_balanced": bool(out.profit >= -1e-9),
            "ir_violations": int((ub < -1e-9).sum() + (us < -1e-9).sum()),
        }
        for role, g in (("buyer", gb), ("seller", gs)):
            row[f"{role}s_sampled"] = int(g.size)
            row[f"{role}s_profitable"] = int((g > tol).sum())
            row[f"{role}_share_profitable"] = float((g > tol).mean()) if g.size else math.nan
            row[f"{role}_mean_gain"] = float(g.mean()) if g.size else math.nan
            row[f"{role}_max_gain"] = float(g.max()) if g.size else math.nan
        row["any_profitable"] = bool((gb > tol).any() or (gs > tol).any())
        row["time_ms"] = (time.perf_counter() - t0) * 1e3
        rows.append(row)
    return RunOutput(runs=rows, agents=pd.DataFrame(agent_rows))


# ====================================================================== relay-tournament
# The league's best responders search a coarser θ grid than BestResponse's default (the
# candidate levels, which make the search exact for TASC / trade reduction / k-DA, are kept):
# the league asks them every round through the Mesa model's oracle, one mechanism call per report.
LEAGUE_BR_THETAS = (0.0, 0.5, 0.75, 0.9, 1.1, 1.25, 1.5, 2.0)
DEFAULT_TOURNAMENT_STRATEGIES: dict[str, dict[str, Any]] = {
    "truthful": {"buyer": "truthful", "seller": "truthful"},
    "scale10": {"buyer": {"strategy": "scale", "params": {"theta": 0.9}},
                "seller": {"strategy": "scale", "params": {"theta": 1.1}}},
    "scale25": {"buyer": {"strategy": "scale", "params": {"theta": 0.75}},
                "seller": {"strategy": "scale", "params": {"theta": 1.25}}},
    "shift": {"buyer": {"strategy": "shift", "params": {"delta": -0.2}},
              "seller": {"strategy": "shift", "params": {"delta": 0.1}}},
    "noise": {"buyer": {"strategy": "noise", "params": {"sigma": 0.2}},
              "seller": {"strategy": "noise", "params": {"sigma": 0.2}}},
    "best_response": {"buyer": {"strategy": "best_response", "params": {"thetas": list(LEAGUE_BR_THETAS)}},
                      "seller": {"strategy": "best_response", "params": {"thetas": list(LEAGUE_BR_THETAS)}}},
    "hedge": {"buyer": "hedge", "seller": "hedge"},
    "exp3": {"buyer": "exp3", "seller": "exp3"},
}
# Parameters: instance size and types; the phase-1 ``algorithm``; ``mechanisms``; ``strategies``
# (label -> {buyer = spec, seller = spec}); ``league_rounds`` Mesa steps of the league;
# ``matrix_instances`` fresh instances and ``matrix_agents`` focal agents per role for A[a, b].
TOURNAMENT_DEFAULTS: dict[str, Any] = {
    "n": 16, "m": 16, "vmax": 4.0, "cost_range": [0.0, 1.0],
    "algorithm": "mwm", "mechanisms": ["kda", "tasc", "trade_reduction"], "kda_k": 0.5,
    "strategies": DEFAULT_TOURNAMENT_STRATEGIES, "league_rounds": 40, "matrix_instances": 3, "matrix_agents": 4,
}
TOURNAMENT_METRICS = ("part", "role", "strategy", "background", "mean_utility", "observations")


def _tournament_strategies(p: Mapping[str, Any]) -> dict[str, dict[str, Strategy]]:
    """Label -> role -> Strategy prototype (built, hence validated)."""
    spec = p["strategies"]
    if not isinstance(spec, Mapping) or not spec:
        raise ConfigError(f"strategies must be a table label -> {{buyer = spec, seller = spec}}, got {spec!r}")
    out: dict[str, dict[str, Strategy]] = {}
    for label, roles in spec.items():
        if isinstance(roles, (str, Strategy)) or (isinstance(roles, Mapping) and "strategy" in roles):
            roles = {"buyer": roles, "seller": roles}
        if not isinstance(roles, Mapping) or set(roles) != {"buyer", "seller"}:
            raise ConfigError(f"strategies.{label} must give a 'buyer' and a 'seller' spec, got {roles!r}")
        out[str(label)] = {}
        for role in ("buyer", "seller"):
            try:
                s = strategy_from_spec(roles[role])
            except ConfigError as exc:
                raise ConfigError(f"strategies.{label}.{role}: {exc}") from None
            r = s.flag("role")
            if r not in ("any", role):
                raise ConfigError(f"strategies.{label}.{role}: {s.label!r} is for {r}s only")
            out[str(label)][role] = s
    return out


def check_tournament(p: dict[str, Any]) -> None:
    _check_instance(p)
    if not isinstance(p["algorithm"], str):
        raise ConfigError(f"algorithm must be a name, got {p['algorithm']!r}")
    ASSIGNMENT_ALGORITHMS.resolve(p["algorithm"])
    names_in(p, "mechanisms", STUDY_MECHANISMS, "study mechanism")
    if "mcafee_homogeneous" in p["mechanisms"]:
        raise ConfigError("mcafee_homogeneous needs homogeneous values; the tournament draws network values")
    _check_kda_k(p)
    _tournament_strategies(p)
    positive_int(p, "league_rounds", maximum=100_000)
    _nonneg_int(p, "matrix_instances")
    positive_int(p, "matrix_agents", maximum=MAX_NODES)


def _is_learner(s: Strategy) -> bool:
    return bool(s.flag("learning"))


def _is_best_response(s: Strategy) -> bool:
    return s.flag("deviation") == "best_response"


def _learned_thetas(model, labels: dict[str, np.ndarray], protos: dict[str, dict[str, Strategy]]) -> dict:
    """Per (label, role): (thetas, mean probabilities over that learner's agents) at the end."""
    out = {}
    for role, agents in (("buyer", model.buyers), ("seller", model.sellers)):
        lab = labels[role]
        for label, roles in protos.items():
            if not _is_learner(roles[role]):
                continue
            idx = np.flatnonzero(lab == label)
            if idx.size == 0:  # nobody played it: the learner's initial mixture
                s = roles[role].clone()
                out[(label, role)] = (np.asarray(s.thetas), np.asarray(s.probabilities))
                continue
            probs = np.mean([agents[i].strategy.probabilities for i in idx], axis=0)
            out[(label, role)] = (np.asarray(agents[idx[0]].strategy.thetas), probs)
    return out


def _profile_reports(fr_truth: FastRound, gen: np.random.Generator, label: str, protos, learned, values, costs,
                     sigma, partner) -> tuple[np.ndarray, np.ndarray]:
    """Everyone's reports when everyone plays ``label`` (best response: to the truthful profile)."""
    n, m = values.shape
    bids, asks = values.copy(), costs.copy()
    for role, size in (("buyer", n), ("seller", m)):
        s = protos[label][role]
        for idx in range(size):
            rep = _one_report(fr_truth, gen, s, label, role, idx, values, costs, sigma, partner, learned)
            if role == "buyer":
                bids[idx] = rep
            else:
                asks[idx] = rep
    return bids, asks


def _one_report(fr: FastRound, gen: np.random.Generator, s: Strategy, label: str, role: str, idx: int,
                values, costs, sigma, partner, learned) -> Any:
    """One agent's report under strategy ``s`` against the profile frozen in ``fr``."""
    truth = values[idx] if role == "buyer" else float(costs[idx])
    if _is_best_response(s):
        if not fr.relevant(role, idx):
            return truth
        return best_response(fr, role, idx, truth, thetas=s.thetas, shifts=s.shifts)["report"]
    if _is_learner(s):
        thetas, probs = learned[(label, role)]
        th = float(thetas[gen.choice(thetas.size, p=probs / probs.sum())])
        return truth * th
    st = s.clone()
    st.seed(np.random.default_rng(int(gen.integers(0, 2**63))))
    info = {"assigned": int(sigma[idx])} if role == "buyer" else {"partner": int(partner[idx])}
    return st.report(truth, Observation(0, role, idx, None, info))


def _balanced_labels(gen: np.random.Generator, labels: list[str], size: int) -> np.ndarray:
    """Strategy labels for ``size`` seats: every label equally often (the remainder drawn
    without replacement), in random seat order — so no strategy is missing from a role."""
    k = len(labels)
    reps, extra = divmod(size, k)
    pool = list(labels) * reps + [labels[i] for i in np.sort(gen.choice(k, size=extra, replace=False))]
    return np.array(pool, dtype=object)[gen.permutation(size)]


def run_tournament(p: dict[str, Any], seed: np.random.SeedSequence) -> RunOutput:
    """Per mechanism: a league in the Mesa model (leaderboard) and a payoff matrix on fresh
    instances (background b, focal a) for replicator dynamics."""
    from auctionlab.market.relay.model import RelayMarket

    protos = _tournament_strategies(p)
    labels_all = list(protos)
    n, m = int(p["n"]), int(p["m"])
    kda_k = float(p["kda_k"])
    rows: list[dict[str, Any]] = []
    theta_rows: list[dict[str, Any]] = []
    mech_seeds = seed.spawn(len(p["mechanisms"]))
    for mech, mseed in zip(p["mechanisms"], mech_seeds):
        league_seed, matrix_seed = mseed.spawn(2)
        gen = np.random.default_rng(league_seed)
        labels = {"buyer": _balanced_labels(gen, labels_all, n), "seller": _balanced_labels(gen, labels_all, m)}
        population = {role: [protos[lab][role] for lab in labels[role]] for role in ("buyer", "seller")}
        model = RelayMarket(n=n, m=m, algorithm=p["algorithm"], mechanism=mech, vmax=float(p["vmax"]),
                            cost_range=tuple(p["cost_range"]), channel="redraw", types="redraw",
                            population=population, kda_k=kda_k, collect_agents=False,
                            rng=np.random.default_rng(gen.integers(0, 2**63)))
        learners = [(role, i, a) for role, agents in (("buyer", model.buyers), ("seller", model.sellers))
                    for i, a in enumerate(agents) if _is_learner(a.strategy)]
        for step in range(1, int(p["league_rounds"]) + 1):
            model.step()
            acc: dict[tuple[str, str], list[float]] = {}
            for role, i, a in learners:
                acc.setdefault((role, labels[role][i]), []).append(a.strategy.mean_theta)
            for (role, lab), v in acc.items():
                theta_rows.append({"mechanism": mech, "step": step, "role": role, "strategy": lab,
                                   "mean_theta": float(np.mean(v))})
        for role in ("buyer", "seller"):
            hist = model.utility_history(role)  # (steps, agents)
            for lab in labels_all:
                idx = np.flatnonzero(labels[role] == lab)
                u = hist[:, idx]
                rows.append({"mechanism": mech, "part": "league", "role": role, "strategy": lab, "background": "",
                             "mean_utility": float(u.mean()) if u.size else math.nan, "observations": int(u.size)})
        learned = _learned_thetas(model, labels, protos)

        # ---------------- payoff matrix: everyone plays b, sampled focal agents try every a
        gen = np.random.default_rng(matrix_seed)
        sums = {(role, a, b): [0.0, 0] for role in ("buyer", "seller") for a in labels_all for b in labels_all}
        for _ in range(int(p["matrix_instances"])):
            net, values, costs = draw_instance(gen, p)
            sigma = assign(net, p["algorithm"])
            partner = np.full(m, -1, dtype=np.intp)
            on = np.flatnonzero(sigma >= 0)
            partner[sigma[on]] = on
            fr_truth = FastRound(net, values, costs, values, costs, sigma, mech, kda_k)
            focal = {"buyer": _sample(gen, n, int(p["matrix_agents"])),
                     "seller": _sample(gen, m, int(p["matrix_agents"]))}
            for b in labels_all:
                bids, asks = _profile_reports(fr_truth, gen, b, protos, learned, values, costs, sigma, partner)
                fr = FastRound(net, values, costs, bids, asks, sigma, mech, kda_k)
                for role in ("buyer", "seller"):
                    for idx in focal[role]:
                        idx = int(idx)
                        reps = [_one_report(fr, gen, protos[a][role], a, role, idx, values, costs, sigma, partner,
                                            learned) for a in labels_all]
                        if role == "buyer":
                            u = fr.buyer(idx, np.vstack(reps))
                        else:
                            u = fr.seller(idx, np.array(reps, dtype=np.float64))
                        for a, ua in zip(labels_all, u):
                            cell = sums[(role, a, b)]
                            cell[0] += float(ua)
                            cell[1] += 1
        for (role, a, b), (s, c) in sums.items():
            rows.append({"mechanism": mech, "part": "matrix", "role": role, "strategy": a, "background": b,
                         "mean_utility": s / c if c else math.nan, "observations": int(c)})
    for r in rows:
        r.update(n=n, m=m)
    rounds = pd.DataFrame(theta_rows) if theta_rows else None
    return RunOutput(runs=rows, rounds=rounds)


# ====================================================================== relay-equilibrium
# Parameters: ``part`` ("game" or "learning"); instance size and types; ``algorithm``;
# ``mechanism``; game: ``buyer_thetas`` × ``seller_thetas`` (both containing 1), ``instances`` per
# run, ``deviators`` sampled per role for unilateral deviations (0 = none); learning: ``learner``
# (hedge, exp3, fictitious_play) over ``learner_thetas`` with ``eta`` / ``gamma``, ``rounds``
# Mesa steps, ``channel`` ("static": one network, new types every round; "redraw").
EQUILIBRIUM_DEFAULTS: dict[str, Any] = {
    "part": "game", "n": 12, "m": 12, "vmax": 4.0, "cost_range": [0.0, 1.0],
    "algorithm": "mwm", "mechanism": "kda", "kda_k": 0.5,
    "buyer_thetas": [0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0], "seller_thetas": [1.0, 1.25, 1.5, 1.75, 2.0, 2.5, 3.0],
    "instances": 10, "deviators": 3,
    "learner": "hedge", "rounds": 200, "learner_thetas": list(DEFAULT_THETAS), "eta": 0.5, "gamma": 0.1,
    "channel": "static",
}
EQUILIBRIUM_METRICS = (
    "instance", "theta_buyer", "theta_seller", "buyer_payoff", "seller_payoff", "trades", "welfare", "profit",
    "final_theta_buyer", "final_theta_seller", "final_played_theta_buyer", "final_played_theta_seller",
    "mean_utility_buyer", "mean_utility_seller", "mean_trades", "mean_welfare",
)


def check_equilibrium(p: dict[str, Any]) -> None:
    _check_instance(p)
    choice(p, "part", ("game", "learning"))
    if not isinstance(p["algorithm"], str):
        raise ConfigError(f"algorithm must be a name, got {p['algorithm']!r}")
    ASSIGNMENT_ALGORITHMS.resolve(p["algorithm"])
    choice(p, "mechanism", [x for x in STUDY_MECHANISMS if x != "mcafee_homogeneous"])
    _check_kda_k(p)
    for key in ("buyer_thetas", "seller_thetas", "learner_thetas"):
        g = _grid_or_default(p, key, (), 0.0)
        if len(set(g)) != len(g):
            raise ConfigError(f"{key} lists a level twice: {list(g)}")
    if 1.0 not in p["buyer_thetas"] or 1.0 not in p["seller_thetas"]:
        raise ConfigError("buyer_thetas and seller_thetas must contain 1.0 (truthful)")
    positive_int(p, "instances", maximum=100_000)
    _nonneg_int(p, "deviators")
    choice(p, "learner", ("hedge", "exp3", "fictitious_play"))
    positive_int(p, "rounds", maximum=10_000_000)
    positive_float(p, "eta")
    g = p["gamma"]
    if isinstance(g, bool) or not isinstance(g, (int, float)) or not 0 < g <= 1:
        raise ConfigError(f"gamma must be in (0, 1], got {g!r}")
    choice(p, "channel", ("static", "redraw"))


def _role_game(p: Mapping[str, Any], gen: np.random.Generator) -> RunOutput:
    """Role payoffs at every (θ_buyer, θ_seller) on ``instances`` instances, plus unilateral
    deviation payoffs of ``deviators`` sampled agents per role."""
    mech, kda_k = p["mechanism"], float(p["kda_k"])
    tb, ts = [float(x) for x in p["buyer_thetas"]], [float(x) for x in p["seller_thetas"]]
    fn = _mechanism_fn(mech, kda_k)
    rows, dev_rows = [], []
    for inst in range(int(p["instances"])):
        net, values, costs = draw_instance(gen, p)
        n, m = net.n, net.m
        sigma = assign(net, p["algorithm"]) if mech in PHASE1_MECHANISMS else np.full(n, -1, dtype=np.intp)
        d = int(p["deviators"])
        devs = ({"buyer": _sample(gen, n, d), "seller": _sample(gen, m, d)} if d else
                {"buyer": np.empty(0, dtype=int), "seller": np.empty(0, dtype=int)})
        for thb in tb:
            for ths in ts:
                bids, asks = values * thb, costs * ths
                out = fn(net, bids, asks, sigma)
                ub, us = out.utilities(values, costs)
                win = np.flatnonzero(out.buyer_wins)
                rows.append({
                    "mechanism": mech, "instance": inst, "theta_buyer": thb, "theta_seller": ths,
                    "buyer_payoff": float(ub.mean()), "seller_payoff": float(us.mean()),
                    "trades": int(out.n_trades), "profit": float(out.profit),
                    "welfare": float(values[win, out.sigma[win]].sum() - costs[out.sigma[win]].sum()),
                })
                if not (devs["buyer"].size or devs["seller"].size):
                    continue
                fr = FastRound(net, values, costs, bids, asks, sigma, mech, kda_k)
                for role, grid, base in (("buyer", tb, ub), ("seller", ts, us)):
                    for idx in devs[role]:
                        idx = int(idx)
                        if role == "buyer":
                            u = fr.buyer(idx, np.outer(grid, values[idx]))
                        else:
                            u = fr.seller(idx, np.asarray(grid) * costs[idx])
                        for th, ua in zip(grid, u):
                            dev_rows.append({"mechanism": mech, "instance": inst, "theta_buyer": thb,
                                             "theta_seller": ths, "role": role, "agent": idx, "deviation": th,
                                             "utility": float(ua), "profile_utility": float(base[idx])})
    agents = pd.DataFrame(dev_rows) if dev_rows else None
    if agents is not None:  # one row per (instance, profile, role, deviation): mean over the sampled agents
        agents = (agents.groupby(["mechanism", "instance", "theta_buyer", "theta_seller", "role", "deviation"],
                                 sort=True)
                  .agg(utility=("utility", "mean"), profile_utility=("profile_utility", "mean"),
                       agents=("agent", "size"))
                  .reset_index())
        agents["gain"] = agents["utility"] - agents["profile_utility"]
    return RunOutput(runs=rows, agents=agents)


def _learning(p: Mapping[str, Any], gen: np.random.Generator) -> RunOutput:
    """Hedge / EXP3 / fictitious-play learners in every seat of the Mesa model for ``rounds`` auctions."""
    from auctionlab.market.relay.model import RelayMarket

    thetas = list(p["learner_thetas"])
    params: dict[str, Any] = {"thetas": thetas}
    if p["learner"] == "hedge":
        params["eta"] = float(p["eta"])
    elif p["learner"] == "exp3":
        _, hi = cost_range(p)
        params["gamma"] = float(p["gamma"])
        params["reward_range"] = [-max(float(p["vmax"]), hi), max(float(p["vmax"]), hi)]
    spec = {"strategy": p["learner"], "params": params}
    model = RelayMarket(n=int(p["n"]), m=int(p["m"]), algorithm=p["algorithm"], mechanism=p["mechanism"],
                        vmax=float(p["vmax"]), cost_range=tuple(p["cost_range"]), channel=p["channel"],
                        types="redraw", population={"buyer": spec, "seller": spec}, kda_k=float(p["kda_k"]),
                        collect_agents=False, rng=gen)
    recs = []
    for step in range(1, int(p["rounds"]) + 1):
        model.step()
        rec: dict[str, Any] = {"mechanism": p["mechanism"], "learner": p["learner"], "step": step}
        for role, agents in (("buyer", model.buyers), ("seller", model.sellers)):
            rec[f"theta_{role}"] = float(np.mean([a.strategy.mean_theta for a in agents]))
            rec[f"played_theta_{role}"] = float(np.mean([a.strategy.theta for a in agents]))
            rec[f"utility_{role}"] = float(model.utilities(role).mean())
        rec.update(trades=float(model.trades), welfare=float(model.welfare), profit=float(model.profit))
        recs.append(rec)
    rounds = pd.DataFrame(recs)
    tail = rounds.tail(max(1, len(rounds) // 10))
    row = {
        "mechanism": p["mechanism"], "learner": p["learner"],
        "final_theta_buyer": float(tail["theta_buyer"].mean()), "final_theta_seller": float(tail["theta_seller"].mean()),
        "final_played_theta_buyer": float(tail["played_theta_buyer"].mean()),
        "final_played_theta_seller": float(tail["played_theta_seller"].mean()),
        "mean_utility_buyer": float(rounds["utility_buyer"].mean()),
        "mean_utility_seller": float(rounds["utility_seller"].mean()),
        "mean_trades": float(rounds["trades"].mean()), "mean_welfare": float(rounds["welfare"].mean()),
    }
    return RunOutput(runs=[row], rounds=rounds)


def run_equilibrium(p: dict[str, Any], seed: np.random.SeedSequence) -> RunOutput:
    """``part = "game"``: the shading × inflation role game (and unilateral deviations) on
    random instances; ``part = "learning"``: learners in the Mesa model."""
    gen = np.random.default_rng(seed)
    out = _role_game(p, gen) if p["part"] == "game" else _learning(p, gen)
    for r in out.runs:
        r["part"] = p["part"]
    return out


# ====================================================================== registration
RUN_KINDS.register("relay-manipulation", RunKind(
    name="relay-manipulation", fn=run_manipulation, defaults=MANIP_DEFAULTS, checker=check_manipulation,
    metrics=MANIP_METRICS, id_columns=("n", "m", "vmax", "variant", "mechanism", "algorithm"), chunk=10,
    description="maximum manipulation gain (best response, others truthful) of sampled buyers and sellers under "
                "TASC, trade reduction, k-DA, VCG and McAfee on the same instances, with efficiency and profit",
))
RUN_KINDS.register("relay-tournament", RunKind(
    name="relay-tournament", fn=run_tournament, defaults=TOURNAMENT_DEFAULTS, checker=check_tournament,
    metrics=TOURNAMENT_METRICS, id_columns=("n", "m", "mechanism"), chunk=1,
    description="relay strategies (truthful, scaling, shift, noise, best response, learners) in a Mesa league "
                "and a background x focal payoff matrix, per mechanism",
))
RUN_KINDS.register("relay-equilibrium", RunKind(
    name="relay-equilibrium", fn=run_equilibrium, defaults=EQUILIBRIUM_DEFAULTS, checker=check_equilibrium,
    metrics=EQUILIBRIUM_METRICS, id_columns=("mechanism", "part", "learner"), chunk=1,
    description="buyer shading x seller inflation role game (with unilateral deviations), or Hedge/EXP3 learners "
                "in the Mesa relay market",
))


def paper_scale_manipulation_spec() -> dict[str, Any]:
    """The manipulation study at the paper's scale (n = 100, m = 50..150): a spec mapping for
    ``auctionlab run`` (save as TOML/JSON) or :func:`~auctionlab.experiments.runner.run_experiment`.
    About half an hour on one core (VCG dominates); the catalog's ``relay-manipulation`` is the affordable default."""
    return {
        "name": "relay-manipulation-paper", "model": "relay-manipulation", "replications": 200,
        "master_seed": 20110707, "chunk": 5, "analysis": "relay-manipulation",
        "description": "relay-manipulation at the paper's scale: n = 100, m = 50..150, Vmax 1..8",
        "params": {"agents": 10},
        "grids": [{"n": [100], "m": [50, 100, 150], "vmax": [4.0]},
                  {"n": [100], "m": [100], "vmax": [1.0, 2.0, 8.0]}],
    }
