"""Relay-market strategies: deviations for buyers (sources) and sellers (relays).

Types and reports: a buyer's true type is its value vector over the m relays,
``np.ndarray`` of shape (m,), zero on relays that are not useful to it; its report is a bid
vector of the same shape. A seller's true type is its cost (a float) and its report an ask.
Every strategy returns a new object (never mutates the type) and keeps reports finite and
non-negative. Vectors: operations that would turn a zero entry (a relay the buyer does not
value, usually a useless one) into a positive bid leave zeros alone — a misreport is about
*how much* a buyer bids, not about bidding on relays that cannot serve it.

Deviations are :class:`~auctionlab.strategies.base.Wrapper` subclasses applied to their
``base`` strategy's report (default truthful), so ``Scale(0.8, base=OwnRelayOnly())`` is
"truthful except shade by 20%" and ``OwnRelayOnly(base=Scale(0.8))`` is "shade only the
bid on the relay phase 1 assigned to me".
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np

from auctionlab._validate import check_bool
from auctionlab.errors import ConfigError
from auctionlab.strategies._checks import check_finite, check_grid, is_vector
from auctionlab.strategies.base import Observation, Strategy, Truthful, Wrapper

__all__ = [
    "BestResponse",
    "candidate_levels",
    "scalar_grid",
    "vector_grid",
    "DropRelays",
    "Noise",
    "OthersOnly",
    "OwnRelayOnly",
    "Scale",
    "Shift",
    "Truthful",
]


def _require_vector(x: Any, who: str) -> np.ndarray:
    if not is_vector(x):
        raise ConfigError(f"{who} applies to buyers only (a value vector over relays), got {type(x).__name__}")
    return x


def _require_rows(x: np.ndarray, who: str) -> np.ndarray:
    """The batch form of :func:`_require_vector`: k bid vectors as the rows of a 2-D array."""
    if x.ndim != 2:
        raise ConfigError(f"{who} applies to buyers only (a value vector over relays), got float")
    return x


class Scale(Wrapper):
    """Multiply the report by θ ≥ 0: θ < 1 shades (buyers' classic manipulation), θ > 1
    inflates (sellers' classic manipulation); θ = 1 is truthful."""

    name = "scale"
    deviation = "scale"

    def __init__(self, theta: float = 0.9, base: Strategy | None = None) -> None:
        self.theta = check_finite(theta, "theta", self.name, lo=0.0)
        super().__init__(base)

    def is_identity(self) -> bool:
        return self.theta == 1.0

    def transform(self, report: Any, true_type: Any, obs: Observation) -> Any:
        return report * self.theta if is_vector(report) else float(report) * self.theta

    batch_exact = True

    def _own_batch_params(self) -> Hashable:
        return (self.theta,)

    def transform_many(
        self,
        reports: np.ndarray,
        true_types: np.ndarray,
        observations: Sequence[Observation],
        members: Sequence[Strategy],
    ) -> np.ndarray:
        return reports * self.theta


class Shift(Wrapper):
    """Add δ to the report, clipped at 0. For a bid vector only positive entries shift
    (zeros — relays the buyer does not value — stay zero)."""

    name = "shift"
    deviation = "shift"

    def __init__(self, delta: float = -0.1, base: Strategy | None = None) -> None:
        self.delta = check_finite(delta, "delta", self.name)
        super().__init__(base)

    def is_identity(self) -> bool:
        return self.delta == 0.0

    def transform(self, report: Any, true_type: Any, obs: Observation) -> Any:
        if is_vector(report):
            return np.where(report > 0, np.maximum(report + self.delta, 0.0), report)
        return max(float(report) + self.delta, 0.0)

    batch_exact = True

    def _own_batch_params(self) -> Hashable:
        return (self.delta,)

    def transform_many(
        self,
        reports: np.ndarray,
        true_types: np.ndarray,
        observations: Sequence[Observation],
        members: Sequence[Strategy],
    ) -> np.ndarray:
        if reports.ndim == 2:
            return np.where(reports > 0, np.maximum(reports + self.delta, 0.0), reports)
        return np.maximum(reports + self.delta, 0.0)


class Noise(Wrapper):
    """Random perturbation with scale σ ≥ 0, redrawn every round.

    ``mode="multiplicative"`` (default): report × exp(σ·Z), Z ~ N(0, 1) — log-normal,
    median-preserving, never negative, keeps zeros at zero. ``mode="additive"``:
    max(report + σ·Z, 0), applied to positive entries only for bid vectors. A vector draws
    one Z per relay (all m, whatever the values, so the stream does not depend on them).
    """

    name = "noise"
    deviation = "noise"
    classifier = {**Strategy.classifier, "stochastic": True}
    MODES = ("multiplicative", "additive")

    def __init__(
        self, sigma: float = 0.1, mode: str = "multiplicative", base: Strategy | None = None, rng: Any = None
    ) -> None:
        self.sigma = check_finite(sigma, "sigma", self.name, lo=0.0)
        if mode not in self.MODES:
            raise ConfigError(f"{self.name}: mode must be one of {self.MODES}, got {mode!r}")
        self.mode = mode
        super().__init__(base)
        if rng is not None:
            self.seed(rng)

    def is_identity(self) -> bool:
        return self.sigma == 0.0

    def transform(self, report: Any, true_type: Any, obs: Observation) -> Any:
        vec = is_vector(report)
        z = self.rng.standard_normal(report.shape) if vec else float(self.rng.standard_normal())
        if self.mode == "multiplicative":
            return report * np.exp(self.sigma * z) if vec else float(report) * math.exp(self.sigma * z)
        if vec:
            return np.where(report > 0, np.maximum(report + self.sigma * z, 0.0), report)
        return max(float(report) + self.sigma * z, 0.0)

    batch_exact = True

    def _own_batch_params(self) -> Hashable:
        return (self.sigma, self.mode)

    def transform_many(
        self,
        reports: np.ndarray,
        true_types: np.ndarray,
        observations: Sequence[Observation],
        members: Sequence[Strategy],
    ) -> np.ndarray:
        # Each agent draws from its own stream, as one report() would: the same numbers.
        if reports.ndim == 2:
            z = np.empty(reports.shape)
            for s, row in zip(members, z):  # filled in place: the numbers standard_normal(m) returns
                s.rng.standard_normal(out=row)
            if self.mode == "multiplicative":
                return reports * np.exp(self.sigma * z)
            return np.where(reports > 0, np.maximum(reports + self.sigma * z, 0.0), reports)
        sig = self.sigma
        zs = [float(s.rng.standard_normal()) for s in members]
        if self.mode == "multiplicative":  # math.exp, as report() (NumPy's exp may differ in the last bit)
            return np.array([r * math.exp(sig * z) for r, z in zip(reports.tolist(), zs)], dtype=np.float64)
        return np.maximum(reports + sig * np.array(zs, dtype=np.float64), 0.0)


class DropRelays(Wrapper):
    """Buyers: bid zero on some relays. Exactly one of

    - ``relays``: a fixed set of relay indices;
    - ``fraction``: each round, a uniformly random ``round(fraction · p)`` of the ``p``
      positive entries (stochastic);
    - ``keep_top``: keep the ``keep_top`` highest bids (ties: lower index), zero the rest.
    """

    name = "drop_relays"
    deviation = "drop_relays"
    classifier = {**Strategy.classifier, "role": "buyer"}

    def __init__(
        self,
        relays: Sequence[int] | None = None,
        fraction: float | None = None,
        keep_top: int | None = None,
        base: Strategy | None = None,
        rng: Any = None,
    ) -> None:
        given = [x is not None for x in (relays, fraction, keep_top)]
        if sum(given) == 0:
            keep_top = 1
        elif sum(given) > 1:
            raise ConfigError(f"{self.name}: give exactly one of relays, fraction, keep_top")
        self.relays = None
        self.fraction = None
        self.keep_top = None
        if relays is not None:
            try:
                idx = np.asarray(relays).ravel()
            except (TypeError, ValueError):
                raise ConfigError(f"{self.name}: relays must be integer indices, got {relays!r}") from None
            # exact types: 1.5 is not an index (a cast to int would truncate it), nor is True
            if idx.size and (idx.dtype.kind not in "iu" or (idx.dtype.kind == "u" and idx.max() > 2**62)):
                raise ConfigError(f"{self.name}: relays must be integer indices, got {relays!r}")
            idx = idx.astype(np.int64)
            if np.any(idx < 0):
                raise ConfigError(f"{self.name}: relay indices must be >= 0, got {relays!r}")
            self.relays = np.unique(idx)
        elif fraction is not None:
            self.fraction = check_finite(fraction, "fraction", self.name, lo=0.0)
            if self.fraction > 1.0:
                raise ConfigError(f"{self.name}: fraction must be in [0, 1], got {fraction!r}")
        else:
            if isinstance(keep_top, bool) or not isinstance(keep_top, (int, np.integer)) or keep_top < 0:
                raise ConfigError(f"{self.name}: keep_top must be a non-negative integer, got {keep_top!r}")
            self.keep_top = int(keep_top)
        super().__init__(base)
        self.classifier["stochastic"] = bool(self.fraction is not None or self.base.flag("stochastic"))
        if rng is not None:
            self.seed(rng)

    def is_identity(self) -> bool:
        return (self.relays is not None and self.relays.size == 0) or self.fraction == 0.0

    @property
    def params(self) -> dict[str, Any]:
        p = {k: v for k, v in super().params.items() if k not in ("relays", "fraction", "keep_top")}
        if self.relays is not None:
            return {"relays": self.relays.tolist(), **p}
        if self.fraction is not None:
            return {"fraction": self.fraction, **p}
        return {"keep_top": self.keep_top, **p}

    def transform(self, report: Any, true_type: Any, obs: Observation) -> Any:
        rep = _require_vector(report, self.name).copy()
        if self.relays is not None:
            idx = self.relays[self.relays < rep.size]
            rep[idx] = 0.0
        elif self.fraction is not None:
            pos = np.flatnonzero(rep > 0)
            k = int(round(self.fraction * pos.size))
            if k:
                rep[self.rng.choice(pos, size=k, replace=False)] = 0.0
        else:
            order = np.argsort(-rep, kind="stable")
            rep[order[self.keep_top :]] = 0.0
        return rep

    batch_exact = True

    def _own_batch_params(self) -> Hashable:
        relays = None if self.relays is None else tuple(self.relays.tolist())
        return (relays, self.fraction, self.keep_top)

    def transform_many(
        self,
        reports: np.ndarray,
        true_types: np.ndarray,
        observations: Sequence[Observation],
        members: Sequence[Strategy],
    ) -> np.ndarray:
        rep = _require_rows(reports, self.name).copy()
        if self.relays is not None:
            rep[:, self.relays[self.relays < rep.shape[1]]] = 0.0
        elif self.fraction is not None:  # a random subset per agent, from its own stream
            for row, s in zip(rep, members):
                pos = np.flatnonzero(row > 0)
                k = int(round(self.fraction * pos.size))
                if k:
                    row[s.rng.choice(pos, size=k, replace=False)] = 0.0
        else:
            order = np.argsort(-rep, axis=1, kind="stable")
            np.put_along_axis(rep, order[:, self.keep_top :], 0.0, axis=1)
        return rep


class _AssignedRelaySplit(Wrapper):
    """Buyers: the base deviation on one side of the split "bid on my assigned relay" /
    "bids on the other relays", the truth on the other side (``obs.assigned``: phase 1 is
    bid-independent, so the market may reveal it). ``own`` says which side deviates."""

    own: bool
    classifier = {**Strategy.classifier, "role": "buyer"}

    def __init__(self, base: Strategy | None = None) -> None:
        super().__init__(base if base is not None else Scale(0.9))

    def is_identity(self) -> bool:
        return bool(self.base.flag("truthful"))

    def transform(self, report: Any, true_type: Any, obs: Observation) -> Any:
        outside, inside = (true_type, report) if self.own else (report, true_type)
        out = np.array(_require_vector(outside, self.name), dtype=np.float64)
        a = obs.assigned
        if a >= 0:
            out[a] = inside[a]
        return out

    def transform_many(
        self,
        reports: np.ndarray,
        true_types: np.ndarray,
        observations: Sequence[Observation],
        members: Sequence[Strategy],
    ) -> np.ndarray:
        outside, inside = (true_types, reports) if self.own else (reports, true_types)
        out = np.array(_require_rows(outside, self.name), dtype=np.float64)
        a = np.fromiter((o.assigned for o in observations), dtype=np.intp, count=out.shape[0])
        rows = np.flatnonzero(a >= 0)
        out[rows, a[rows]] = inside[rows, a[rows]]
        return out


class OwnRelayOnly(_AssignedRelaySplit):
    """Buyers: deviate only on the bid on my assigned relay; every other bid is truthful.
    Without an assigned relay the report is truthful."""

    name = "own_relay_only"
    deviation = "own_relay_only"
    own = True
    batch_exact = True


class OthersOnly(_AssignedRelaySplit):
    """Buyers: deviate on every bid *except* the one on my assigned relay, which stays
    truthful (TASC, trade reduction and k-DA read only that bid, VCG reads all)."""

    name = "others_only"
    deviation = "others_only"
    own = False
    batch_exact = True


DEFAULT_BR_THETAS = tuple(np.round(np.linspace(0.0, 3.0, 61), 6).tolist())  # step 0.05
DEFAULT_BR_SHIFTS = (-1.0, -0.5, -0.2, -0.1, -0.05, 0.05, 0.1, 0.2, 0.5, 1.0)
DEFAULT_BR_EPS = 1e-7
# Extra families of the whole-vector grid (:func:`vector_grid`).
VECTOR_KEEP_TOP = (1, 2, 3)
VECTOR_OWN_FACTORS = (0.0, 0.5, 0.8, 0.9, 1.1, 1.25, 1.5, 2.0)
# Deviation families, as codes in the grids' ``kinds`` arrays.
KIND_NAMES = ("truth", "theta", "shift", "level", "keep_top", "own_scale")


def candidate_levels(candidates: Any, eps: float = DEFAULT_BR_EPS) -> np.ndarray:
    """The levels a best response sweeps: 0, every candidate c and c ± eps (clipped at 0), sorted, unique."""
    c = np.asarray(candidates, dtype=np.float64).ravel()
    return np.unique(np.concatenate([[0.0], c, c + eps, np.maximum(c - eps, 0.0)]))


def scalar_grid(
    truth: float,
    thetas: Sequence[float] | np.ndarray = DEFAULT_BR_THETAS,
    shifts: Sequence[float] | np.ndarray = DEFAULT_BR_SHIFTS,
    candidates: Any = None,
    *,
    eps: float = DEFAULT_BR_EPS,
    positive_only: bool = False,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:class:`BestResponse`'s grid on one number t (an ask, or the one bid a mechanism
    reads), in its order: t; θ·t for θ ≠ 1; max(t + δ, 0) — left at t when
    ``positive_only`` and t = 0, as a bid vector's zeros stay zero —; the
    :func:`candidate_levels` when ``candidates`` is given. Returns the reports, their
    family codes (:data:`KIND_NAMES`) and each one's parameter."""
    t = float(truth)
    th = np.array([x for x in thetas if x != 1.0], dtype=np.float64)
    sh = np.asarray(shifts, dtype=np.float64)
    shifted = np.maximum(t + sh, 0.0) if (t > 0 or not positive_only) else np.full(sh.size, t)
    lv = candidate_levels(candidates, eps) if candidates is not None else np.empty(0)
    reports = np.concatenate([[t], t * th, shifted, lv])
    kinds = np.concatenate([[0], np.ones(th.size), np.full(sh.size, 2), np.full(lv.size, 3)]).astype(np.int8)
    return reports, kinds, np.concatenate([[1.0], th, sh, lv])


def vector_grid(
    truth: np.ndarray, thetas: Sequence[float] = DEFAULT_BR_THETAS, shifts: Sequence[float] = DEFAULT_BR_SHIFTS
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The deviation grid of a buyer facing a mechanism that reads its whole bid vector v:
    v; θ·v for θ ≠ 1; v + δ on positive entries (clipped at 0); "bid only on my top 1/2/3
    relays" (:data:`VECTOR_KEEP_TOP`); the bid on its most valued relay scaled by each of
    :data:`VECTOR_OWN_FACTORS` (when it values some relay). Not exhaustive: against a
    truthful mechanism any gain found is a bug. Returns reports (K, m), codes, parameters."""
    v = np.asarray(truth, dtype=np.float64)
    rows, kinds, param = [v], [0], [1.0]
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
    for kt in VECTOR_KEEP_TOP:
        r = v.copy()
        r[order[kt:]] = 0.0
        rows.append(r)
        kinds.append(4)
        param.append(kt)
    own = int(np.argmax(v)) if v.max() > 0 else -1
    if own >= 0:
        for f in VECTOR_OWN_FACTORS:
            r = v.copy()
            r[own] = v[own] * f
            rows.append(r)
            kinds.append(5)
            param.append(f)
    return np.array(rows), np.array(kinds, dtype=np.int8), np.array(param, dtype=np.float64)


class BestResponse(Strategy):
    """The omniscient manipulator: try a rich grid of reports through the oracle, play the best.

    Grid, in this order (truthful first, so ties and gains ≤ ``tol`` keep the truth and the
    measured gain is never negative):

    1. the true type;
    2. θ · type for every θ in ``thetas`` (default 0, 0.05, …, 3);
    3. type + δ on positive entries, clipped at 0, for δ in ``shifts``;
    4. when ``use_candidates`` and the market offers ``obs.info["candidates"]`` (report
       levels where the outcome can change — the other agents' reports), the scalar that
       matters set to each level c and to c ± ``eps`` (clipped at 0): a seller's ask, or a
       buyer's bid on its assigned relay (``obs.assigned``); plus that bid at 0.

    The chosen report and its gain over truth are kept in ``last_report`` / ``last_gain``.
    Cost: one oracle call per grid point (about 70 + 3·|candidates| per round).
    """

    name = "best_response"
    classifier = {**Strategy.classifier, "deviation": "best_response", "needs_oracle": True}

    def __init__(
        self,
        thetas: Sequence[float] = DEFAULT_BR_THETAS,
        shifts: Sequence[float] = DEFAULT_BR_SHIFTS,
        use_candidates: bool = True,
        eps: float = DEFAULT_BR_EPS,
        tol: float = 1e-12,
    ) -> None:
        self.thetas = check_grid(thetas, "thetas", self.name, lo=0.0)
        self.shifts = check_grid(shifts, "shifts", self.name)
        self.use_candidates = check_bool(use_candidates, f"{self.name}: use_candidates")
        self.eps = check_finite(eps, "eps", self.name, lo=0.0)
        self.tol = check_finite(tol, "tol", self.name, lo=0.0)
        self._reset()

    def _reset(self) -> None:
        self.last_gain = 0.0
        self.last_report: Any = None
        self.last_utility = math.nan

    def grid(self, true_type: Any, obs: Observation) -> list[Any]:
        """The candidate reports, truthful first (:func:`scalar_grid`'s families; for a bid
        vector θ and δ apply to the whole vector and the levels to the assigned relay's bid)."""
        cand = obs.info.get("candidates") if self.use_candidates else None
        if not is_vector(true_type):
            reps, _, _ = scalar_grid(float(true_type), self.thetas, self.shifts, cand, eps=self.eps)
            return [float(x) for x in reps]
        t = np.asarray(true_type, dtype=np.float64)
        out: list[Any] = [t]
        out += [t * th for th in self.thetas if th != 1.0]
        out += [np.where(t > 0, np.maximum(t + d, 0.0), t) for d in self.shifts]
        a = obs.assigned
        if cand is not None and a >= 0:  # only the assigned relay's bid is a scalar worth sweeping
            for x in candidate_levels(cand, self.eps):
                r = t.copy()
                r[a] = x
                out.append(r)
        return out

    def report(self, true_type: Any, obs: Observation) -> Any:
        oracle = obs.require_oracle(self.name)
        grid = self.grid(true_type, obs)
        many = getattr(oracle, "many", None)  # a batch oracle answers the whole grid in one call
        if many is not None:
            utils = np.asarray(many(grid), dtype=np.float64)
        else:
            utils = np.fromiter((oracle(r) for r in grid), dtype=np.float64, count=len(grid))
        best = int(np.argmax(utils))
        if utils[best] <= utils[0] + self.tol:
            best = 0
        self.last_gain = float(utils[best] - utils[0])
        self.last_utility = float(utils[best])
        self.last_report = grid[best]
        return grid[best]
