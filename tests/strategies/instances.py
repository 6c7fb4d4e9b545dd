"""Hand-built relay instances shared by the strategy, measurement and model tests."""

import numpy as np

from auctionlab.market.relay.network import RelayNetwork


def pinned_instance(sigma, own, asks, n, m):
    """A network whose only useful pairs are ``sigma`` (so every assignment algorithm returns
    it), values ``own`` on those pairs and 0 elsewhere, costs ``asks``."""
    sigma = np.asarray(sigma)
    relayed = np.zeros((n, m))
    values = np.zeros((n, m))
    on = np.flatnonzero(sigma >= 0)
    relayed[on, sigma[on]] = 1.0
    values[on, sigma[on]] = own
    return RelayNetwork.from_capacities(np.zeros(n), relayed), values, np.asarray(asks, dtype=float)


# SPEC A4′: b0 gains 2.3 by bidding 0.6 under "tasc"; r1 earns 1.0 truthfully, 1.8 by asking 1.7.
BUYER_CASE = dict(sigma=[3, 4, 0, 1, 2], own=[2.9, 3.3, 0.2, 3.3, 0.6], asks=[0.5, 1.2, 1.9, 0.1, 2.9], n=5, m=5)
SELLER_CASE = dict(sigma=[-1, 2, 1, 3, 0], own=[3.1, 3.0, 2.6, 1.7], asks=[1.1, 0.1, 1.9, 0.7], n=5, m=4)
