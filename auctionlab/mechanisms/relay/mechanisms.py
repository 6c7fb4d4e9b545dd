"""Relay mechanisms as objects that describe themselves, and one auction round with counterfactuals.

A *relay mechanism* is an instance of a :class:`RelayMechanism` subclass: a frozen
dataclass whose fields are its parameters (``KDA(k=0.5)``), whose class attributes say what
it is (``name``, ``label``, ``color`` and the properties ``truthful``, ``budget_balanced``,
``individually_rational``, ``uses_assignment`` — clears on the bid-independent phase-1
assignment — and ``homogeneous`` — built for a homogeneous market), and which has one
implementation serving both uses:

- ``mechanism(network, bids, asks, sigma) -> RelayOutcome``: one auction, ``bids`` (n, m),
  ``asks`` (m,), ``sigma`` (n,) the phase-1 assignment (−1 = unassigned; ignored by
  mechanisms that do not use it);
- ``mechanism.responses(network, bids, asks, sigma, role, index, reports)``: what one
  agent gets under each of K counterfactual reports, every other report fixed, as
  :class:`~auctionlab.mechanisms.relay.outcome.AgentOutcomes` — vectorised where it pays and
  equal, report by report, to rerunning the single auction.

Mechanisms are pure and deterministic (ties by index) and never import Mesa.
``MECHANISMS`` registers mechanism *classes* by name; :func:`resolve_mechanism` turns a
name (with its parameters), a class, an instance or a plain user callable
``(network, bids, asks, sigma) -> RelayOutcome`` into an object. Adding a mechanism is one
subclass and one ``MECHANISMS.register(Subclass.name, Subclass)``: the Mesa model, the
strategies' oracles, the best-response search, the studies and the report read everything
they need from the object.

:class:`RelayRound` freezes one round — instance, reports, assignment, mechanism — and
answers "what would agent x get had it reported r, everyone else fixed?" through the
mechanism's ``responses`` with the same phase-1 assignment (valid because phase 1 never
reads reports). It is what the Mesa model hands its agents as an oracle and what the
manipulation measurements and studies run on; it imports no Mesa and no strategy.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, cast

import numpy as np

from auctionlab._validate import as_real_array, check_nonnegative_finite, is_real_number
from auctionlab.errors import ConfigError, InvalidReportError
from auctionlab.mechanisms.relay.baselines import (
    k_double_auction,
    kda_responses,
    mcafee,
    mcafee_responses,
    vcg_double_auction,
    vcg_responses,
)
from auctionlab.mechanisms.relay.network import RelayNetwork
from auctionlab.mechanisms.relay.outcome import AgentOutcomes, RelayOutcome
from auctionlab.mechanisms.relay.tasc import (
    TIE_RULES,
    _assignment,
    _phase2,
    assign,
    check_reports,
    check_sigma,
    check_tie,
    phase2_responses,
)
from auctionlab.registry import Registry

ROLES = ("buyer", "seller")


def _partner(sigma: np.ndarray, j: int) -> int:
    """The buyer phase 1 assigned relay ``j`` to (−1 = none)."""
    hit = np.flatnonzero(sigma == j)
    return int(hit[0]) if hit.size else -1


# ---------------------------------------------------------------------- the mechanism objects
@dataclass(frozen=True)
class RelayMechanism:
    """Base class of relay mechanisms (see the module docstring).

    A subclass sets the class attributes, implements :meth:`__call__` (one auction) and,
    where it pays, a vectorised :meth:`responses` (the default reruns the auction once per
    report). A mechanism that reads a single number from a buyer's bid vector derives from
    :class:`ScalarMechanism` instead, which lets the best-response search sweep that
    number. Parameters are dataclass fields, checked in ``__post_init__``.
    """

    name: ClassVar[str] = "mechanism"
    label: ClassVar[str] = "mechanism"
    color: ClassVar[str | None] = None  # None: the report picks one from its palette
    truthful: ClassVar[bool] = False  # reporting the truth is a dominant strategy
    budget_balanced: ClassVar[bool] = False  # the auctioneer never runs a deficit (profit ≥ 0)
    individually_rational: ClassVar[bool] = False  # truthful agents never lose
    uses_assignment: ClassVar[bool] = False  # clears on the bid-independent phase-1 sigma
    homogeneous: ClassVar[bool] = False  # built for a homogeneous market (studies transform the instance)

    def __call__(self, network: RelayNetwork, bids, asks, sigma) -> RelayOutcome:
        raise NotImplementedError

    @property
    def params(self) -> dict[str, Any]:
        """The parameters (dataclass fields) and their values."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}

    def properties(self) -> dict[str, bool]:
        """The declared properties, for tables and claims."""
        return {
            k: bool(getattr(self, k))
            for k in ("truthful", "budget_balanced", "individually_rational", "uses_assignment", "homogeneous")
        }

    # ------------------------------------------------------------------ counterfactuals
    def responses(
        self,
        network: RelayNetwork,
        bids: np.ndarray,
        asks: np.ndarray,
        sigma: np.ndarray,
        role: str,
        index: int,
        reports: np.ndarray,
        cache: dict | None = None,
    ) -> AgentOutcomes:
        """What agent ``(role, index)`` gets under each report in ``reports`` — (K, m) bid
        vectors of a buyer, (K,) asks of a seller — every other report as in ``bids`` and
        ``asks``. ``cache`` is scratch space owned by the caller for work that depends on
        the fixed reports only (one dict per profile). Default: one auction per report."""
        rows = []
        for r in reports:
            if role == "buyer":
                b = bids.copy()
                b[index] = r
                out = self(network, b, asks, sigma)
                win = bool(out.buyer_wins[index])
                rows.append(
                    (win, float(out.buyer_payments[index]) if win else 0.0, int(out.sigma[index]) if win else -1)
                )
            else:
                a = asks.copy()
                a[index] = r
                out = self(network, bids, a, sigma)
                win = bool(out.seller_wins[index])
                rows.append((win, float(out.seller_payments[index]) if win else 0.0, int(index) if win else -1))
        if not rows:
            return AgentOutcomes.none(0)
        w, p, r = zip(*rows)
        return AgentOutcomes(np.array(w, dtype=bool), np.array(p, dtype=np.float64), np.array(r, dtype=np.intp))

    def buyer_scalar(
        self, network: RelayNetwork, sigma: np.ndarray, index: int, reports: np.ndarray
    ) -> np.ndarray | None:
        """The one number the mechanism reads from each of buyer ``index``'s bid vectors
        (K, m) -> (K,), or None when it reads whole vectors (this default)."""
        return None

    def reads(self, sigma: np.ndarray, role: str, index: int) -> bool:
        """Whether this agent's report can change anything (False: it never trades)."""
        return True

    def levels(
        self, network: RelayNetwork, bids: np.ndarray, asks: np.ndarray, sigma: np.ndarray, role: str
    ) -> np.ndarray:
        """Report levels (of the number the mechanism reads from ``role``) at which the
        outcome can change: other agents' reports. Default: the phase-1 pairs' bids on
        their own relays and every ask."""
        on = np.flatnonzero(sigma >= 0)
        return np.unique(np.concatenate([bids[on, sigma[on]], asks]))


@dataclass(frozen=True)
class ScalarMechanism(RelayMechanism):
    """A mechanism that reads one number from a buyer's bid vector (and a seller's ask).

    Subclasses implement :meth:`buyer_scalar`, :meth:`buyer_report` (a bid vector that
    puts a given number there) and :meth:`scalar_responses` on the numbers themselves.
    """

    def responses(self, network, bids, asks, sigma, role, index, reports, cache=None) -> AgentOutcomes:
        x = np.asarray(reports, dtype=np.float64)
        if role == "buyer":
            x = self.buyer_scalar(network, sigma, index, np.atleast_2d(x))
        return self.scalar_responses(network, bids, asks, sigma, role, index, x.ravel(), cache)

    def scalar_responses(
        self,
        network: RelayNetwork,
        bids: np.ndarray,
        asks: np.ndarray,
        sigma: np.ndarray,
        role: str,
        index: int,
        x: np.ndarray,
        cache: dict | None = None,
    ) -> AgentOutcomes:
        """:meth:`responses` with a buyer's reports given as the number read, ``x`` (K,)."""
        raise NotImplementedError

    def buyer_scalar(self, network, sigma, index, reports) -> np.ndarray:
        raise NotImplementedError

    def buyer_report(
        self, network: RelayNetwork, sigma: np.ndarray, index: int, truth: np.ndarray, x: float
    ) -> np.ndarray:
        """A bid vector for buyer ``index`` (true values ``truth``) whose read number is ``x``."""
        raise NotImplementedError


@dataclass(frozen=True)
class PhaseOneMechanism(ScalarMechanism):
    """Clears the phase-1 pairs: reads a buyer's bid on its assigned relay and a seller's ask;
    agents without a phase-1 partner never trade."""

    uses_assignment: ClassVar[bool] = True

    def buyer_scalar(self, network, sigma, index, reports) -> np.ndarray:
        j = int(sigma[index])
        return reports[:, j] if j >= 0 else np.zeros(reports.shape[0])

    def buyer_report(self, network, sigma, index, truth, x) -> np.ndarray:
        vec = np.asarray(truth, dtype=np.float64).copy()
        if sigma[index] >= 0:
            vec[sigma[index]] = x
        return vec

    def reads(self, sigma, role, index) -> bool:
        return bool(sigma[index] >= 0) if role == "buyer" else _partner(sigma, index) >= 0


@dataclass(frozen=True)
class AssignedPairsAuction(PhaseOneMechanism):
    """Phase 2 of TASC on the given assignment (:mod:`~auctionlab.mechanisms.relay.tasc`):
    the shared body of :class:`TASC` and :class:`TradeReduction`, which differ in ``rule``
    (how the boundary pair is chosen) and in their parameters: only TASC as written has a
    step-5 choice, hence a tie rule. Not registered itself."""

    budget_balanced: ClassVar[bool] = True
    individually_rational: ClassVar[bool] = True
    rule: ClassVar[str] = "tasc"

    @property
    def tie_rule(self) -> str:
        """The step-5 tie rule phase 2 is run with (the default where there is no choice)."""
        return TIE_RULES[0]

    def __call__(self, network, bids, asks, sigma) -> RelayOutcome:
        bids, asks = check_reports(bids, asks)
        sigma, cand, rel = _assignment(sigma, *bids.shape)
        return _phase2(bids, asks, sigma, self.rule, cand, rel, self.tie_rule)

    def scalar_responses(self, network, bids, asks, sigma, role, index, x, cache=None) -> AgentOutcomes:
        return phase2_responses(bids, asks, sigma, self.rule, role, index, x, self.tie_rule)


@dataclass(frozen=True)
class TASC(AssignedPairsAuction):
    """TASC phase 2 exactly as written (Algorithm 2) on the given assignment: IR and budget
    balanced, not truthful.

    ``tie`` (``tasc_tie`` in specs) is the rule for step 5 when the two candidate boundary
    pairs have equal winner counts, which the paper leaves open: ``"second"`` (default) takes
    (s_{i_k}, r_{j_β}), ``"first"`` takes (s_{i_α}, r_{j_k})."""

    tie: str = TIE_RULES[0]
    name: ClassVar[str] = "tasc"
    label: ClassVar[str] = "TASC"
    color: ClassVar[str] = "#1f77b4"
    rule: ClassVar[str] = "tasc"

    def __post_init__(self) -> None:
        check_tie(self.tie, "tasc_tie")

    @property
    def tie_rule(self) -> str:
        return self.tie


@dataclass(frozen=True)
class TradeReduction(AssignedPairsAuction):
    """The trade-reduction variant of phase 2: truthful, IR and budget balanced for any
    bid-independent assignment. Its boundary pair is always (s_{i_k}, r_{j_k}): there is no
    step-5 choice and so no tie rule (``TradeReduction(tie=...)`` is refused, and specs have
    no ``trade_reduction_tie``)."""

    name: ClassVar[str] = "trade_reduction"
    label: ClassVar[str] = "trade reduction"
    color: ClassVar[str] = "#2ca02c"
    truthful: ClassVar[bool] = True
    rule: ClassVar[str] = "trade_reduction"


@dataclass(frozen=True)
class KDA(PhaseOneMechanism):
    """k-double auction on the phase-1 pairs: each pair with B ≥ A trades at A + k(B − A).
    Budget balanced (profit 0) and IR, not truthful. ``k`` ∈ [0, 1] (``kda_k`` in specs)."""

    k: float = 0.5
    name: ClassVar[str] = "kda"
    label: ClassVar[str] = "k-DA"
    color: ClassVar[str] = "#d62728"
    budget_balanced: ClassVar[bool] = True
    individually_rational: ClassVar[bool] = True

    def __post_init__(self) -> None:
        k = self.k
        if not is_real_number(k) or not 0.0 <= float(k) <= 1.0:
            raise ConfigError(f"kda_k must be a number in [0, 1], got {k!r}")
        object.__setattr__(self, "k", float(k))

    def __call__(self, network, bids, asks, sigma) -> RelayOutcome:
        return k_double_auction(bids, asks, sigma, k=self.k)

    def scalar_responses(self, network, bids, asks, sigma, role, index, x, cache=None) -> AgentOutcomes:
        return kda_responses(bids, asks, sigma, self.k, role, index, x)


@dataclass(frozen=True)
class VCG(RelayMechanism):
    """VCG double auction on the useful pairs (it computes its own matching; ``sigma`` is
    ignored): efficient, truthful and IR, but runs a deficit."""

    name: ClassVar[str] = "vcg"
    label: ClassVar[str] = "VCG"
    color: ClassVar[str] = "#9467bd"
    truthful: ClassVar[bool] = True
    individually_rational: ClassVar[bool] = True

    def __call__(self, network, bids, asks, sigma) -> RelayOutcome:
        if not isinstance(network, RelayNetwork):
            raise ConfigError(f"network must be a RelayNetwork, got {type(network).__name__}")
        return vcg_double_auction(bids, asks, useful=network.useful)

    def responses(self, network, bids, asks, sigma, role, index, reports, cache=None) -> AgentOutcomes:
        R = np.asarray(reports, dtype=np.float64)
        return vcg_responses(
            bids, asks, network.useful, role, index, np.atleast_2d(R) if role == "buyer" else R.ravel(), cache
        )

    def levels(self, network, bids, asks, sigma, role) -> np.ndarray:
        return np.unique(asks) if role == "seller" else np.empty(0)


@dataclass(frozen=True)
class McAfee(ScalarMechanism):
    """McAfee's homogeneous-goods double auction applied to relays (ignores ``sigma``).

    Reduction: buyer i's single bid is its highest bid over the relays useful to it (0 when
    none is), i.e. it bids for "a relay"; every seller's ask is used as is. Winners are
    paired as McAfee pairs them — the t-th highest winning bidder with the t-th lowest
    winning ask — *whatever* the network. So McAfee is the textbook truthful, IR, budget
    balanced mechanism only in a homogeneous setting (every relay useful to every buyer and
    valued equally by it). In a heterogeneous network a buyer can be paired with a relay it
    values less than its bid or not at all (utility < 0, capacity below direct): that
    failure is kept visible on purpose rather than patched.
    """

    name: ClassVar[str] = "mcafee"
    label: ClassVar[str] = "McAfee (max-bid reduction)"
    color: ClassVar[str] = "#8c564b"
    budget_balanced: ClassVar[bool] = True

    def mask(self, network: RelayNetwork) -> np.ndarray:
        """The relays each buyer's single bid is taken over."""
        return network.useful

    def _single_bids(self, network, bids) -> np.ndarray:
        return np.where(self.mask(network), np.asarray(bids, dtype=np.float64), 0.0).max(axis=1)

    def __call__(self, network, bids, asks, sigma) -> RelayOutcome:
        if not isinstance(network, RelayNetwork):
            raise ConfigError(f"network must be a RelayNetwork, got {type(network).__name__}")
        bids, asks = check_reports(bids, asks, (network.n, network.m))
        return mcafee(self._single_bids(network, bids), asks)

    def buyer_scalar(self, network, sigma, index, reports) -> np.ndarray:
        return np.where(self.mask(network)[index], reports, 0.0).max(axis=1)

    def buyer_report(self, network, sigma, index, truth, x) -> np.ndarray:
        """Bid ``x`` on the best relay, the other bids scaled below it."""
        mask = self.mask(network)[index]
        vec = np.asarray(truth, dtype=np.float64)
        top = np.where(mask, vec, 0.0).max()
        return np.where(mask, vec * (x / top), 0.0) if top > 0 else np.where(mask, x, 0.0)

    def scalar_responses(self, network, bids, asks, sigma, role, index, x, cache=None) -> AgentOutcomes:
        return mcafee_responses(self._single_bids(network, bids), asks, role, index, x)

    def levels(self, network, bids, asks, sigma, role) -> np.ndarray:
        return np.unique(np.concatenate([self._single_bids(network, bids), asks]))


@dataclass(frozen=True)
class McAfeeHomogeneous(McAfee):
    """McAfee on a homogeneous relay market: buyer i's single bid is its highest bid on *any*
    relay (every relay is taken to serve every buyer equally). Truthful, IR and budget
    balanced when values are homogeneous (v_i the same on every relay) — the studies run it
    on the homogeneous transform of each instance; on a real network it is not IR."""

    name: ClassVar[str] = "mcafee_homogeneous"
    label: ClassVar[str] = "McAfee (homogeneous)"
    color: ClassVar[str] = "#e377c2"
    truthful: ClassVar[bool] = True
    individually_rational: ClassVar[bool] = True
    homogeneous: ClassVar[bool] = True

    def mask(self, network: RelayNetwork) -> np.ndarray:
        return np.ones((network.n, network.m), dtype=bool)

    def _single_bids(self, network, bids) -> np.ndarray:
        return np.asarray(bids, dtype=np.float64).max(axis=1)


@dataclass(frozen=True)
class FunctionMechanism(RelayMechanism):
    """A user callable ``(network, bids, asks, sigma) -> RelayOutcome`` as a mechanism.

    Nothing is known about it, so no property is claimed; it is handed the phase-1
    assignment (``uses_assignment``), and counterfactuals rerun it once per report. It
    pickles when ``fn`` does (a module-level function or a ``functools.partial`` of one).
    """

    fn: Callable[..., RelayOutcome]
    registered_as: str | None = None
    uses_assignment: ClassVar[bool] = True

    def __post_init__(self) -> None:
        if not callable(self.fn):
            raise ConfigError(f"a relay mechanism must be callable, got {type(self.fn).__name__}")

    @property
    def name(self) -> str:  # type: ignore[override]
        return self.registered_as or str(getattr(self.fn, "__name__", type(self.fn).__name__))

    @property
    def label(self) -> str:  # type: ignore[override]
        return self.name

    def __call__(self, network, bids, asks, sigma) -> RelayOutcome:
        return self.fn(network, bids, asks, sigma)


# ---------------------------------------------------------------------- registry and resolution
MECHANISMS: Registry[Callable] = Registry("mechanism")
for _cls in (TASC, TradeReduction, KDA, VCG, McAfee, McAfeeHomogeneous):
    MECHANISMS.register(_cls.name, _cls)


def mechanism_class(name: str) -> type[RelayMechanism] | None:
    """The registered class of a mechanism name (None for a plain registered callable)."""
    entry = MECHANISMS[name]
    return entry if isinstance(entry, type) and issubclass(entry, RelayMechanism) else None


def _build(cls: type[RelayMechanism], params: Mapping[str, Any]) -> RelayMechanism:
    """An instance of ``cls`` with its parameters taken from ``params`` spelled
    ``<name>_<field>`` (the spelling specs and RelayMarket use: ``kda_k`` is KDA's ``k``);
    other keys are ignored. The one place where spec parameters meet mechanism parameters."""
    kw = {f.name: params[f"{cls.name}_{f.name}"] for f in dataclasses.fields(cls) if f"{cls.name}_{f.name}" in params}
    return cls(**kw)


def resolve_mechanism(spec: Any, **params: Any) -> RelayMechanism:
    """A mechanism object from ``spec``: an instance (returned as is), a registered name or a
    :class:`RelayMechanism` subclass (built with ``params`` such as ``kda_k=0.3``), or a
    user callable ``(network, bids, asks, sigma) -> RelayOutcome`` (wrapped)."""
    if isinstance(spec, RelayMechanism):
        return spec
    if isinstance(spec, str):
        entry = MECHANISMS[spec]
        if isinstance(entry, type) and issubclass(entry, RelayMechanism):
            return _build(entry, params)
        # a registered entry that is not a mechanism class is a mechanism function
        return FunctionMechanism(cast(Callable[..., RelayOutcome], entry), registered_as=spec)
    if isinstance(spec, type) and issubclass(spec, RelayMechanism):
        return _build(spec, params)
    if callable(spec):
        return FunctionMechanism(spec)
    raise ConfigError(f"mechanism must be a name, a RelayMechanism or a callable, got {type(spec).__name__}")


# The single-auction callables under their former names (``kda_mechanism`` takes ``k``).
tasc_mechanism = TASC()
trade_reduction_mechanism = TradeReduction()
vcg_mechanism = VCG()
mcafee_mechanism = McAfee()


def kda_mechanism(network: RelayNetwork, bids, asks, sigma, k: float = 0.5) -> RelayOutcome:
    """k-double auction on the phase-1 pairs: each pair with B ≥ A trades at A + k(B − A)."""
    return KDA(k)(network, bids, asks, sigma)


# ---------------------------------------------------------------------- one round
def buyer_utility(outcome: RelayOutcome, values: np.ndarray, i: int) -> float:
    if not outcome.buyer_wins[i]:
        return 0.0
    return float(values[i, outcome.sigma[i]] - outcome.buyer_payments[i])


def seller_utility(outcome: RelayOutcome, costs: np.ndarray, j: int) -> float:
    if not outcome.seller_wins[j]:
        return 0.0
    return float(outcome.seller_payments[j] - costs[j])


def check_buyer_report(report: Any, m: int, who: str = "bid") -> np.ndarray:
    arr = as_real_array(report, who, (m,))
    check_nonnegative_finite(arr, who)
    return arr


def check_seller_report(report: Any, who: str = "ask") -> float:
    if not is_real_number(report):  # float() would take '1.5' and drop a NumPy complex's imaginary part
        raise InvalidReportError(f"{who} must be a number, got {report!r}")
    try:
        v = float(report)
    except OverflowError:
        raise InvalidReportError(f"{who} must be a finite number, got an integer too large for a float") from None
    if not (v >= 0.0 and v < np.inf):
        raise InvalidReportError(f"{who} = {report!r}: must be finite and non-negative")
    return v


@dataclass(frozen=True, eq=False)
class Oracle:
    """One player's counterfactual utility in a frozen round: ``oracle(report) -> float``,
    and ``oracle.many(reports) -> (K,)`` for a list or array of reports (one vectorised
    mechanism call; equal to calling it report by report)."""

    round: RelayRound
    role: str
    index: int

    def __call__(self, report: Any) -> float:
        return self.round.utility_if(self.role, self.index, report)

    def many(self, reports: Any) -> np.ndarray:
        reps = np.vstack(reports) if self.role == "buyer" else np.asarray(reports, dtype=np.float64).ravel()
        return self.round.utilities_if(self.role, self.index, reps)


@dataclass(eq=False)
class RelayRound:
    """One relay auction with its reports frozen, able to answer counterfactuals.

    Buyers are players ``("buyer", i)``, sellers ``("seller", j)``. Arrays are not copied;
    treat them as read-only. ``outcome`` is computed on first use. ``mechanism`` is a
    :class:`RelayMechanism` (a plain callable is wrapped); counterfactuals go through its
    ``responses``, many reports per call (:meth:`utilities_if`).
    """

    network: RelayNetwork
    values: np.ndarray
    costs: np.ndarray
    bids: np.ndarray
    asks: np.ndarray
    sigma: np.ndarray
    mechanism: RelayMechanism
    round: int = 0
    _outcome: RelayOutcome | None = field(default=None, repr=False)
    _candidates: np.ndarray | None = field(default=None, repr=False)
    _cache: dict = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.mechanism, RelayMechanism):  # a user callable
            self.mechanism = resolve_mechanism(self.mechanism)

    @classmethod
    def from_instance(
        cls,
        network: RelayNetwork,
        values,
        costs,
        *,
        bids=None,
        asks=None,
        mechanism: str | RelayMechanism | Callable = "tasc",
        algorithm: str | Callable = "mwm",
        sigma=None,
        kda_k: float = 0.5,
        round: int = 0,
    ) -> RelayRound:
        """A round from an instance; reports default to the truth, ``sigma`` to phase 1 with ``algorithm``."""
        if not isinstance(network, RelayNetwork):
            raise ConfigError(f"network must be a RelayNetwork, got {type(network).__name__}")
        n, m = network.n, network.m
        values = as_real_array(values, "values", (n, m))
        costs = as_real_array(costs, "costs", (m,))
        check_reports(values, costs)
        bids = values if bids is None else as_real_array(bids, "bids", (n, m))
        asks = costs if asks is None else as_real_array(asks, "asks", (m,))
        check_reports(bids, asks)
        sigma = assign(network, algorithm) if sigma is None else check_sigma(sigma, n, m)
        return cls(network, values, costs, bids, asks, sigma, resolve_mechanism(mechanism, kda_k=kda_k), round)

    # ------------------------------------------------------------------ protocol
    @property
    def n(self) -> int:
        return self.network.n

    @property
    def m(self) -> int:
        return self.network.m

    @property
    def outcome(self) -> RelayOutcome:
        if self._outcome is None:
            self._outcome = self.mechanism(self.network, self.bids, self.asks, self.sigma)
        return self._outcome

    def players(self) -> list[tuple[str, int]]:
        return [("buyer", i) for i in range(self.n)] + [("seller", j) for j in range(self.m)]

    def _check_player(self, role: str, index: int) -> int:
        size = {"buyer": self.n, "seller": self.m}.get(role)
        if size is None:
            raise ConfigError(f"role must be 'buyer' or 'seller', got {role!r}")
        if isinstance(index, bool) or not isinstance(index, (int, np.integer)) or not 0 <= index < size:
            raise ConfigError(f"{role} index must be in 0..{size - 1}, got {index!r}")
        return int(index)

    def true_type(self, role: str, index: int) -> Any:
        i = self._check_player(role, index)
        if role == "buyer":
            v = self.values[i].view()
            v.flags.writeable = False
            return v
        return float(self.costs[i])

    def report_of(self, role: str, index: int) -> Any:
        i = self._check_player(role, index)
        return self.bids[i].copy() if role == "buyer" else float(self.asks[i])

    def utility(self, role: str, index: int) -> float:
        """Realised utility of a player in this round."""
        i = self._check_player(role, index)
        if role == "buyer":
            return buyer_utility(self.outcome, self.values, i)
        return seller_utility(self.outcome, self.costs, i)

    def utility_if(self, role: str, index: int, report: Any) -> float:
        """The player's true utility had it reported ``report``, every other report fixed."""
        i = self._check_player(role, index)
        if role == "buyer":
            rep = check_buyer_report(report, self.m, f"report of buyer {i}")[None, :]
        else:
            rep = np.array([check_seller_report(report, f"report of seller {i}")])
        return float(self._utilities(role, i, rep, False)[0])

    def utilities_if(self, role: str, index: int, reports: Any, *, scalar: bool = False) -> np.ndarray:
        """:meth:`utility_if` for K reports at once: (K, m) bid vectors of a buyer or (K,)
        asks of a seller; with ``scalar=True`` a buyer's reports are given as the one number
        the mechanism reads (a :class:`ScalarMechanism`), (K,)."""
        i = self._check_player(role, index)
        if role == "buyer" and not scalar:
            reps = as_real_array(reports, f"reports of buyer {i}", (None, self.m))
        else:
            reps = as_real_array(reports, f"reports of {role} {i}", (None,))
            if scalar and role == "buyer" and not isinstance(self.mechanism, ScalarMechanism):
                raise ConfigError(f"mechanism {self.mechanism.name!r} reads whole bid vectors, not one number")
        check_nonnegative_finite(reps, f"reports of {role} {i}")
        return self._utilities(role, i, reps, scalar)

    def responses_if(self, role: str, index: int, reports: np.ndarray, *, scalar: bool = False) -> AgentOutcomes:
        """What the player gets under each report (checked by the caller), others fixed."""
        mech = self.mechanism
        if scalar:
            if not isinstance(mech, ScalarMechanism):
                raise ConfigError(f"mechanism {mech.name!r} reads whole bid vectors, not one number")
            return mech.scalar_responses(
                self.network, self.bids, self.asks, self.sigma, role, index, reports, self._cache
            )
        return mech.responses(self.network, self.bids, self.asks, self.sigma, role, index, reports, self._cache)

    def _utilities(self, role: str, i: int, reports: np.ndarray, scalar: bool) -> np.ndarray:
        res = self.responses_if(role, i, reports, scalar=scalar)
        return res.buyer_utilities(self.values[i]) if role == "buyer" else res.seller_utilities(float(self.costs[i]))

    def oracle(self, role: str, index: int) -> Oracle:
        """``utility_if`` bound to one player: the oracle a strategy receives (with a
        ``many(reports)`` method for a batch of reports)."""
        return Oracle(self, role, self._check_player(role, index))

    @property
    def candidates(self) -> np.ndarray:
        """Report levels where the outcome can change: the phase-1 pairs' bids on their own
        relays and every ask (sorted, unique). Offered to omniscient strategies only."""
        if self._candidates is None:
            on = np.flatnonzero(self.sigma >= 0)
            self._candidates = np.unique(np.concatenate([self.bids[on, self.sigma[on]], self.asks]))
        return self._candidates

    def info(self, role: str, index: int, *, omniscient: bool = False) -> dict[str, Any]:
        """Public information for one player: a buyer's ``assigned`` relay / a seller's
        ``partner`` buyer from phase 1 (−1 = none), plus ``candidates`` when ``omniscient``."""
        i = self._check_player(role, index)
        if role == "buyer":
            out: dict[str, Any] = {"assigned": int(self.sigma[i])}
        else:
            hit = np.flatnonzero(self.sigma == i)
            out = {"partner": int(hit[0]) if hit.size else -1}
        if omniscient:
            out["candidates"] = self.candidates
        return out


# ---------------------------------------------------------------------- mechanism parameters by key
# (relay-path) The ``<mechanism>_<field>`` spelling of every registered mechanism class's
# parameters, read from the classes themselves: what specs and RelayMarket accept.
def mechanism_parameters() -> dict[str, tuple[type[RelayMechanism], str, Any]]:
    """``{"<name>_<field>": (class, field, default)}`` for every registered mechanism class
    with parameters (``kda_k`` is KDA's ``k``)."""
    out: dict[str, tuple[type[RelayMechanism], str, Any]] = {}
    for name in MECHANISMS:
        cls = mechanism_class(name)
        if cls is None:
            continue
        for f in dataclasses.fields(cls):
            if f.default is not dataclasses.MISSING:
                out[f"{cls.name}_{f.name}"] = (cls, f.name, f.default)
    return out


def check_mechanism_parameters(params: Mapping[str, Any]) -> dict[str, Any]:
    """Check ``<mechanism>_<field>`` values by building each named class with them (whatever
    mechanism is run); unknown keys raise. Returns the values as the classes normalise them."""
    known = mechanism_parameters()
    unknown = sorted(k for k in params if k not in known)
    if unknown:
        raise ConfigError(f"unknown mechanism parameter(s) {unknown}; accepted: {', '.join(sorted(known)) or 'none'}")
    out: dict[str, Any] = {}
    for key, value in params.items():
        cls, fname, _ = known[key]
        out[key] = getattr(cls(**{fname: value}), fname)
    return out
