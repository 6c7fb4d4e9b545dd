"""Wireless network and capacity model for the relay market (the paper's §3).

n source–destination pairs and m relays in a square; capacities follow Shannon's formula
with path loss dist^-γ. A relay is *useful* to a source when cooperative capacity beats
direct transmission; those pairs are the edges of the buyer × seller graph.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from auctionlab._validate import (
    as_real_array,
    check_nonnegative_finite,
    check_real,
    check_rng,
    check_size,
)
from auctionlab.errors import ConfigError, NetworkError

MODES = ("DF", "AF")
# The largest network built from geometry: every capacity matrix is (n, m) floats and the
# construction holds several at once, so this bounds memory at about a gigabyte.
MAX_PAIRS = 10_000_000


@dataclass(frozen=True, eq=False)
class RelayNetwork:
    """Capacities of a relay network: ``direct`` (n,), ``relayed`` (n, m), ``useful`` (n, m).

    Positions are kept when the network was built from geometry (``None`` when it was
    built from capacity matrices). Capacities are in bit/s.
    """

    direct: np.ndarray
    relayed: np.ndarray
    mode: str = "DF"
    sources: np.ndarray | None = None
    destinations: np.ndarray | None = None
    relays: np.ndarray | None = None
    useful: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        # Checked whichever way the network is built; arrays the caller still holds are
        # copied (so that freezing them never changes the caller's objects).
        direct = _frozen(as_real_array(self.direct, "direct", (None,), NetworkError), self.direct)
        relayed = _frozen(as_real_array(self.relayed, "relayed", (direct.shape[0], None), NetworkError), self.relayed)
        if direct.shape[0] < 1 or relayed.shape[1] < 1:
            raise NetworkError(f"need n >= 1 sources and m >= 1 relays, got relayed shape {relayed.shape}")
        check_nonnegative_finite(direct, "direct", NetworkError)
        check_nonnegative_finite(relayed, "relayed", NetworkError)
        if not isinstance(self.mode, str):
            raise ConfigError(f"mode must be a string, got {self.mode!r}")
        n, m = relayed.shape
        for name, want in (("sources", n), ("destinations", n), ("relays", m)):
            pts = getattr(self, name)
            if pts is not None:
                pts = _frozen(as_real_array(pts, name, (want, 2), NetworkError), pts)
                if not np.isfinite(pts).all():
                    raise NetworkError(f"{name} contains non-finite coordinates")
                object.__setattr__(self, name, pts)
        object.__setattr__(self, "direct", direct)
        object.__setattr__(self, "relayed", relayed)
        useful = relayed > direct[:, None]
        useful.flags.writeable = False
        object.__setattr__(self, "useful", useful)

    @property
    def n(self) -> int:
        return self.direct.shape[0]

    @property
    def m(self) -> int:
        return self.relayed.shape[1]

    @property
    def gain(self) -> np.ndarray:
        """Capacity gain c_R − c_D of every pair, 0 where the relay is not useful."""
        return np.where(self.useful, self.relayed - self.direct[:, None], 0.0)

    def capacities(self, sigma: np.ndarray) -> np.ndarray:
        """Per-source capacity when source i uses relay ``sigma[i]`` (−1 = direct)."""
        sigma = np.asarray(sigma)
        out = self.direct.copy()
        on = sigma >= 0
        out[on] = self.relayed[np.flatnonzero(on), sigma[on]]
        return out

    # ------------------------------------------------------------------ constructors
    @classmethod
    def from_capacities(cls, direct, relayed, *, mode: str = "given") -> RelayNetwork:
        """A network from capacity matrices (no geometry; the arrays are checked and copied)."""
        return cls(direct=direct, relayed=relayed, mode=mode)

    @classmethod
    def from_positions(
        cls,
        sources,
        destinations,
        relays,
        *,
        mode: str = "DF",
        bandwidth: float = 22e6,
        power: float = 1.0,
        path_loss: float = 4.0,
        noise: float = 1e-10,
    ) -> RelayNetwork:
        """A network from node coordinates (arrays of shape (n, 2), (n, 2), (m, 2))."""
        src = as_real_array(sources, "sources", (None, 2), NetworkError)
        dst = as_real_array(destinations, "destinations", (src.shape[0], 2), NetworkError)
        rel = as_real_array(relays, "relays", (None, 2), NetworkError)
        if src.shape[0] < 1 or rel.shape[0] < 1:
            raise NetworkError(f"need n >= 1 sources and m >= 1 relays, got n={src.shape[0]}, m={rel.shape[0]}")
        _check_pairs(src.shape[0], rel.shape[0])
        for name, arr in (("sources", src), ("destinations", dst), ("relays", rel)):
            if not np.all(np.isfinite(arr)):
                raise NetworkError(f"{name} contains non-finite coordinates")
        _check_mode(mode)
        W = check_real(bandwidth, "bandwidth", minimum=0.0, open_min=True)
        P = check_real(power, "power", minimum=0.0, open_min=True)
        g = check_real(path_loss, "path_loss", minimum=0.0, open_min=True)
        N0 = check_real(noise, "noise", minimum=0.0, open_min=True)
        params = f"bandwidth={bandwidth!r}, power={power!r}, path_loss={path_loss!r}, noise={noise!r}"

        with np.errstate(over="ignore", divide="ignore", invalid="ignore"):  # overflow is checked below
            # squared distances (no sqrt): SNR = P/N0 · (d²)^(−γ/2)
            d_sd = ((src - dst) ** 2).sum(axis=1)
            d_sr = _sq_dist(src, rel)
            d_rd = _sq_dist(dst, rel)
            for name, d in (("source-destination", d_sd), ("source-relay", d_sr), ("relay-destination", d_rd)):
                if np.any(d == 0):
                    idx = tuple(int(i) for i in np.argwhere(d == 0)[0])
                    raise NetworkError(f"{name} distance is zero at {list(idx)}: coincident nodes have infinite SNR")
                if not np.isfinite(d).all():
                    raise NetworkError(f"{name} distances overflow: coordinates are too large to square")
            k, e = P / N0, -g / 2.0
            if not np.isfinite(k):
                raise NetworkError(
                    f"power / noise = {P!r} / {N0!r} overflows: the network parameters ({params}) "
                    "give infinite capacities"
                )
            snr_sd = k * d_sd**e
            snr_sr = k * d_sr**e
            snr_rd = k * d_rd**e
            direct = W * np.log2(1.0 + snr_sd)
            if mode == "DF":
                relayed = (W / 2) * np.minimum(np.log2(1.0 + snr_sr), np.log2(1.0 + snr_sd[:, None] + snr_rd))
            else:  # AF
                relayed = (W / 2) * np.log2(1.0 + snr_sd[:, None] + snr_sr * snr_rd / (snr_sr + snr_rd + 1.0))
        for name, cap in (("direct", direct), ("relayed", relayed)):
            if not (np.minimum.reduce(cap, axis=None) >= 0.0 and np.maximum.reduce(cap, axis=None) < np.inf):
                idx = tuple(int(i) for i in np.argwhere(~np.isfinite(cap) | (cap < 0))[0])
                where = idx[0] if len(idx) == 1 else idx
                raise NetworkError(
                    f"{name} capacity [{where}] = {float(cap[idx])}: the network parameters ({params}) "
                    "give capacities that are not finite"
                )
        for a in (direct, relayed):  # fresh arrays: frozen as they are, not copied
            a.flags.writeable = False
        return cls(direct=direct, relayed=relayed, mode=mode, sources=src, destinations=dst, relays=rel)


def _frozen(arr: np.ndarray, given) -> np.ndarray:
    """``arr`` read-only: as it is when it is already read-only, else a copy if it is the
    caller's object (or a view of it), so the caller's arrays are never changed."""
    if not arr.flags.writeable:
        return arr
    if isinstance(given, np.ndarray) and (arr is given or np.may_share_memory(arr, given)):
        arr = arr.copy()
    arr.flags.writeable = False
    return arr


def _check_mode(mode) -> str:
    if not isinstance(mode, str) or mode not in MODES:
        raise ConfigError(f"mode must be one of {MODES}, got {mode!r}")
    return mode


def _check_pairs(n: int, m: int) -> None:
    if n * m > MAX_PAIRS:
        raise ConfigError(
            f"a network of n={n} sources and m={m} relays has {n * m} source-relay pairs, "
            f"above the size limit of {MAX_PAIRS} pairs"
        )


def _sq_dist(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Squared Euclidean distances between the rows of ``a`` (k, 2) and ``b`` (l, 2): (k, l)."""
    dx = a[:, 0, None] - b[None, :, 0]
    dy = a[:, 1, None] - b[None, :, 1]
    return dx * dx + dy * dy


def random_network(
    n: int,
    m: int,
    *,
    rng,
    mode: str = "DF",
    area: float = 1000.0,
    bandwidth: float = 22e6,
    power: float = 1.0,
    path_loss: float = 4.0,
    noise: float = 1e-10,
) -> RelayNetwork:
    """n source–destination pairs and m relays placed uniformly in an ``area`` × ``area`` square.

    ``rng`` is a ``numpy.random.Generator`` or a seed; draws are sources, destinations,
    then relays, so the same seed always gives the same network. At most ``MAX_PAIRS``
    source-relay pairs (``n * m``).
    """
    n = check_size(n, "n", MAX_PAIRS)
    m = check_size(m, "m", MAX_PAIRS)
    _check_pairs(n, m)
    side = check_real(area, "area", minimum=0.0, open_min=True)
    _check_mode(mode)
    gen = check_rng(rng)
    pts = gen.uniform(0.0, side, size=(2 * n + m, 2))
    return RelayNetwork.from_positions(
        pts[:n],
        pts[n : 2 * n],
        pts[2 * n :],
        mode=mode,
        bandwidth=bandwidth,
        power=power,
        path_loss=path_loss,
        noise=noise,
    )
