"""Private types for the relay market: buyers' valuations over relays, sellers' costs.

The paper's model (its §6): a buyer values each useful relay uniformly on (0, Vmax] and
every other relay at 0; a seller's cost is uniform on (0, 1].
"""

from __future__ import annotations

import numpy as np

from auctionlab._validate import check_range_pair, check_real, check_rng
from auctionlab.errors import ConfigError
from auctionlab.mechanisms.relay.network import RelayNetwork


def _open_low(gen: np.random.Generator, lo: float, hi: float, size) -> np.ndarray:
    """Uniform on (lo, hi]: Generator.uniform gives [lo, hi), so reflect it."""
    return hi - gen.uniform(0.0, hi - lo, size=size)


def _check(network, vmax, cost_range, rng) -> tuple:
    if not isinstance(network, RelayNetwork):
        raise ConfigError(f"network must be a RelayNetwork, got {type(network).__name__}")
    vmax = check_real(vmax, "vmax", minimum=0.0, open_min=True)
    lo, hi = check_range_pair(cost_range, "cost_range")
    return network, vmax, lo, hi, check_rng(rng)


def uniform_valuations(
    network: RelayNetwork, *, rng, vmax: float = 4.0, cost_range: tuple[float, float] = (0.0, 1.0)
) -> tuple[np.ndarray, np.ndarray]:
    """Values (n, m) uniform on (0, vmax] on useful pairs (0 elsewhere) and costs (m,) on (lo, hi]."""
    network, vmax, lo, hi, gen = _check(network, vmax, cost_range, rng)
    values = np.where(network.useful, _open_low(gen, 0.0, vmax, network.useful.shape), 0.0)
    costs = _open_low(gen, lo, hi, network.m)
    return values, costs


def capacity_valuations(
    network: RelayNetwork, *, rng, vmax: float = 4.0, cost_range: tuple[float, float] = (0.0, 1.0)
) -> tuple[np.ndarray, np.ndarray]:
    """Values proportional to capacity gain, costs uniform on (lo, hi].

    V_i^j = vmax · g_ij / max_j' g_ij' with g = c_R − c_D on useful pairs (0 elsewhere):
    each buyer values its best relay at ``vmax`` and the others in proportion to the
    capacity they add. The normalisation is per buyer because gains span orders of
    magnitude across a network (path loss d^-4): one global scale would leave most values
    near zero. Buyers with no useful relay value every relay at 0. Only the costs are random.
    """
    network, vmax, lo, hi, gen = _check(network, vmax, cost_range, rng)
    gain = network.gain
    best = gain.max(axis=1, keepdims=True)
    values = vmax * np.divide(gain, best, out=np.zeros_like(gain), where=best > 0)
    costs = _open_low(gen, lo, hi, network.m)
    return values, costs
