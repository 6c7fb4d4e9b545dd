"""Proxies: how a bidder revises its bounds in ICE (SPEC B9).

A proxy knows only its bidder's bid tree (and, for the bidder's own reasons, the truth).
Each query it receives :class:`Feedback` — the provisional trade and prices of the last
round, the result of the last revealed-preference check and the nodes Lemma 2 names —
and returns new ``(lower, upper)`` node bounds. Returning the bounds unchanged after a
failed check means "I give up this round": the exchange then applies the penalty.

Strategic variants (misreporting, lazy, stubborn, late revealers) live in
:mod:`auctionlab.strategies`; this module holds the interface and the straightforward
proxy the mechanism's analysis assumes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from auctionlab.errors import ConfigError, InvalidInputError
from auctionlab.market.exchange.activity import RPResult


@dataclass(frozen=True, eq=False)
class Feedback:
    """What the exchange tells one bidder's proxy at one query."""

    round: int
    final: bool  # this round is the last-and-final round
    lower: np.ndarray  # the bidder's current bounds
    upper: np.ndarray
    prices: np.ndarray | None  # provisional prices of the previous round (None in round 0)
    trade: np.ndarray | None  # this bidder's provisional trade of the previous round
    satisfied: np.ndarray | None  # nodes satisfied in that provisional trade (bool per node)
    rp: RPResult | None = None  # the last RP check this round (None before the first)
    queries: int = 0  # RP checks already made this round

    @property
    def must_revise(self) -> bool:
        return self.rp is not None and not self.rp.passed


class Proxy:
    """Base proxy: keeps its bounds as they are (never narrows)."""

    name = "Proxy"
    classifier: dict = {"truthful": False, "deviation": None, "stochastic": False, "learning": False}

    def revise(self, feedback: Feedback) -> tuple[np.ndarray, np.ndarray]:
        return feedback.lower, feedback.upper


class StraightforwardProxy(Proxy):
    r"""Keeps the true value inside its bounds and narrows toward it where feedback asks.

    On a failed RP check it closes a fraction ``step`` (ρ ∈ (0, 1]) of the remaining gap
    to the truth on the nodes the feedback names, sat(L*) Δ sat(U*) — on *both* bounds:
    Lemma 2 names lower bounds on sat(L*) \ sat(U*) and upper bounds on
    sat(U*) \ sat(L*), but when the truth strictly prefers the witness U* no such move
    keeps the truth inside the bounds; raising the lower bounds on sat(U*) \ sat(L*)
    (making U* the new candidate) is the truthful way to pass. Gaps below ``snap``
    (relative) snap to the truth, and after ``snap_after`` failed checks in one round the
    named nodes go straight to the truth, so a check on exact values on every node that
    differs between L* and U* always passes eventually. If a penalty has pushed an upper
    bound below the truth, the proxy targets the truth clipped into its bounds.
    Besides answering the activity rule, it reveals a little each round (``reveal``):

    - ``"rp"``: nothing more — only what the feedback demands;
    - ``"provisional"``: close a fraction ρ of both gaps on the nodes its provisional
      trade satisfies (a provisional trader refines what it trades);
    - ``"all"`` (default): close a fraction ρ of both gaps on every node.

    Measured on generated instances (see the ice-convergence study), with "rp" or
    "provisional" the bounds of bidders who pass RP while losing never narrow, so the
    Threshold payments at the upper and lower bounds (αthresh) can stall short of any
    cutoff; "all" makes them converge geometrically. In the last-and-final round,
    ``final="truth"`` reveals the true values (that round's trade and Threshold payments
    are computed at the lower bounds); ``final="rp"`` (default) keeps bidding as before,
    so the final trade measures what the iterative process itself achieved.
    """

    name = "Straightforward"
    classifier = {"truthful": True, "deviation": None, "stochastic": False, "learning": False}

    REVEAL = ("rp", "provisional", "all")

    def __init__(self, truth: np.ndarray, step: float = 0.5, *, reveal: str = "all", final: str = "rp",
                 snap: float = 1e-6, snap_after: int = 20) -> None:
        self.truth = np.asarray(truth, dtype=float).copy()
        if not np.all(np.isfinite(self.truth)):
            raise InvalidInputError("true node values must be finite")
        if not (isinstance(step, (int, float)) and 0.0 < step <= 1.0):
            raise ConfigError(f"step must be in (0, 1], got {step!r}")
        if final not in ("truth", "rp"):
            raise ConfigError(f"final must be 'truth' or 'rp', got {final!r}")
        self.step, self.final, self.snap, self.snap_after = float(step), final, snap, int(snap_after)
        if reveal not in self.REVEAL:
            raise ConfigError(f"reveal must be one of {self.REVEAL}, got {reveal!r}")
        self.reveal = reveal

    def _target(self, fb: Feedback) -> np.ndarray:
        if fb.lower.shape != self.truth.shape:
            raise InvalidInputError(f"proxy truth has {self.truth.size} nodes, the tree {fb.lower.size}")
        return np.clip(self.truth, fb.lower, fb.upper)

    def narrow(self, fb: Feedback, nodes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Close a fraction ρ of both gaps to the truth on ``nodes`` (snapping small gaps)."""
        target = self._target(fb)
        lo, hi = fb.lower.copy(), fb.upper.copy()
        t = target[nodes]
        full = fb.queries >= self.snap_after
        for arr in (lo, hi):
            new = t if full else arr[nodes] + self.step * (t - arr[nodes])
            close = np.abs(new - t) <= self.snap * (1.0 + np.abs(t))
            arr[nodes] = np.where(close, t, new)
        return lo, hi

    def revise(self, fb: Feedback) -> tuple[np.ndarray, np.ndarray]:
        if fb.final and self.final == "truth":
            target = self._target(fb)
            return target, target.copy()
        if fb.must_revise:
            return self.narrow(fb, np.union1d(fb.rp.raise_lower, fb.rp.lower_upper))
        if fb.queries == 0 and fb.round > 0:
            if self.reveal == "all":
                return self.narrow(fb, np.arange(self.truth.size))
            if self.reveal == "provisional" and fb.satisfied is not None:
                return self.narrow(fb, np.flatnonzero(fb.satisfied))
        return fb.lower, fb.upper
