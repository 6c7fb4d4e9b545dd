"""Hand-built relay instances shared by the strategy, measurement and model tests."""

import numpy as np

from auctionlab.mechanisms.relay.network import RelayNetwork


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


# TASC as written is manipulable: b0 gains 2.3 by bidding 0.6 under "tasc"; r1 earns 1.0 truthfully, 1.8 by asking 1.7.
BUYER_CASE = dict(sigma=[3, 4, 0, 1, 2], own=[2.9, 3.3, 0.2, 3.3, 0.6], asks=[0.5, 1.2, 1.9, 0.1, 2.9], n=5, m=5)
SELLER_CASE = dict(sigma=[-1, 2, 1, 3, 0], own=[3.1, 3.0, 2.6, 1.7], asks=[1.1, 0.1, 1.9, 0.7], n=5, m=4)


# ---------------------------------------------------------------------- exchange scripts
def rp(passed, raise_lower=(), lower_upper=()):
    """A hand-written revealed-preference result naming Lemma 2's nodes."""
    from auctionlab.mechanisms.exchange.activity import RPResult

    z = np.zeros(0)
    return RPResult(
        bool(passed),
        0.0,
        0.0,
        z,
        z,
        z,
        z,
        np.asarray(raise_lower, dtype=np.intp),
        np.asarray(lower_upper, dtype=np.intp),
    )


def feedback(lower, upper, *, round=1, final=False, rp_result=None, queries=0, satisfied=None):
    """The exchange's Feedback with scripted bounds and check result."""
    from auctionlab.mechanisms.exchange.proxies import Feedback

    return Feedback(
        round=round,
        final=final,
        lower=np.asarray(lower, dtype=float),
        upper=np.asarray(upper, dtype=float),
        prices=None,
        trade=None,
        satisfied=None if satisfied is None else np.asarray(satisfied, dtype=bool),
        rp=rp_result,
        queries=queries,
    )


EXCHANGE_TRUTH = np.array([0.0, 6.0, -4.0, 3.0, 2.0, -1.0])
EXCHANGE_LOWER = np.array([0.0, 2.0, -8.0, 1.0, 0.0, -3.0])
EXCHANGE_UPPER = np.array([0.0, 10.0, -1.0, 5.0, 4.0, 0.0])


def exchange_script(rounds=6):
    """(round, final, rp result, queries) for a scripted run: first query of each round,
    then a failed check naming some nodes, then the last round is final."""
    steps = []
    for t in range(rounds):
        final = t == rounds - 1
        steps.append((t, final, None, 0))
        if t > 0:
            steps.append((t, final, rp(False, [1, 3], [2]), 1))
            steps.append((t, final, rp(False, [4], [5, 1]), 2))
    return steps
