"""Wireless network and capacity model for the relay market (SPEC A1).

n source–destination pairs and m relays in a square; capacities follow Shannon's formula
with path loss dist^-γ. A relay is *useful* to a source when cooperative capacity beats
direct transmission; those pairs are the edges of the buyer × seller graph.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from auctionlab._validate import (
    as_float_array,
    check_nonnegative_finite,
    check_positive_float,
    check_positive_int,
)
from auctionlab.errors import ConfigError, NetworkError

MODES = ("DF", "AF")


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
        object.__setattr__(self, "useful", self.relayed > self.direct[:, None])
        for a in (self.direct, self.relayed, self.useful):
            a.flags.writeable = False

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
    def from_capacities(cls, direct, relayed, *, mode: str = "given") -> "RelayNetwork":
        """A network from capacity matrices (no geometry)."""
        direct = as_float_array(direct, "direct", (None,))
        n = direct.shape[0]
        relayed = as_float_array(relayed, "relayed", (n, None))
        if n < 1 or relayed.shape[1] < 1:
            raise NetworkError(f"need n >= 1 sources and m >= 1 relays, got {relayed.shape}")
        check_nonnegative_finite(direct, "direct", NetworkError)
        check_nonnegative_finite(relayed, "relayed", NetworkError)
        return cls(direct=direct.copy(), relayed=relayed.copy(), mode=mode)

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
    ) -> "RelayNetwork":
        """A network from node coordinates (arrays of shape (n, 2), (n, 2), (m, 2))."""
        src = as_float_array(sources, "sources", (None, 2))
        dst = as_float_array(destinations, "destinations", (src.shape[0], 2))
        rel = as_float_array(relays, "relays", (None, 2))
        if src.shape[0] < 1 or rel.shape[0] < 1:
            raise NetworkError(f"need n >= 1 sources and m >= 1 relays, got n={src.shape[0]}, m={rel.shape[0]}")
        for name, arr in (("sources", src), ("destinations", dst), ("relays", rel)):
            if not np.all(np.isfinite(arr)):
                raise NetworkError(f"{name} contains non-finite coordinates")
        if mode not in MODES:
            raise ConfigError(f"mode must be one of {MODES}, got {mode!r}")
        W = check_positive_float(bandwidth, "bandwidth")
        P = check_positive_float(power, "power")
        g = check_positive_float(path_loss, "path_loss")
        N0 = check_positive_float(noise, "noise")

        # squared distances (no sqrt): SNR = P/N0 · (d²)^(−γ/2)
        d_sd = ((src - dst) ** 2).sum(axis=1)
        d_sr = _sq_dist(src, rel)
        d_rd = _sq_dist(dst, rel)
        for name, d in (("source-destination", d_sd), ("source-relay", d_sr), ("relay-destination", d_rd)):
            if np.any(d == 0):
                idx = tuple(int(i) for i in np.argwhere(d == 0)[0])
                raise NetworkError(f"{name} distance is zero at {list(idx)}: coincident nodes have infinite SNR")
        k, e = P / N0, -g / 2.0
        snr_sd = k * d_sd**e
        snr_sr = k * d_sr**e
        snr_rd = k * d_rd**e
        direct = W * np.log2(1.0 + snr_sd)
        if mode == "DF":
            relayed = (W / 2) * np.minimum(np.log2(1.0 + snr_sr), np.log2(1.0 + snr_sd[:, None] + snr_rd))
        else:  # AF
            relayed = (W / 2) * np.log2(1.0 + snr_sd[:, None] + snr_sr * snr_rd / (snr_sr + snr_rd + 1.0))
        return cls(direct=direct, relayed=relayed, mode=mode, sources=src, destinations=dst, relays=rel)


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
    then relays, so the same seed always gives the same network.
    """
    n = check_positive_int(n, "n")
    m = check_positive_int(m, "m")
    side = check_positive_float(area, "area")
    if mode not in MODES:
        raise ConfigError(f"mode must be one of {MODES}, got {mode!r}")
    gen = np.random.default_rng(rng)
    pts = gen.uniform(0.0, side, size=(2 * n + m, 2))
    return RelayNetwork.from_positions(
        pts[:n], pts[n : 2 * n], pts[2 * n :],
        mode=mode, bandwidth=bandwidth, power=power, path_loss=path_loss, noise=noise,
    )
