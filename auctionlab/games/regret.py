"""Regret kernels on dense payoff tensors, vectorised and batch-aware.

A payoff tensor has shape ``(n_players, k_0, ..., k_(n-1))``; a batched one carries a
leading bootstrap axis ``(B, n_players, *K)``. A mixture is one probability vector per
player. These functions know nothing of labels or samples: :class:`~auctionlab.games.game.EmpiricalGame`
and the solvers call them on the mean (or resampled) tensor.
"""

from __future__ import annotations

import numpy as np

Mixture = list[np.ndarray]

__all__ = ["deviation_values", "mixture_regrets", "pure_regret_tensor"]


def deviation_values(tensor: np.ndarray, mix: Mixture) -> list[np.ndarray]:
    """``v[i][..., s]``: player i's expected payoff of pure s against the others' mixtures.

    ``tensor`` is ``(n, *K)`` or batched ``(B, n, *K)``; the result keeps the batch axis.
    """
    n = len(mix)
    lead = tensor.ndim - 1 - n
    if n == 2:  # the common case, as two matrix products
        u0 = tensor[..., 0, :, :]
        u1 = tensor[..., 1, :, :]
        return [u0 @ mix[1], np.swapaxes(u1, -1, -2) @ mix[0]]
    out = []
    for i in range(n):
        t = np.take(tensor, i, axis=lead)
        for j in reversed(range(n)):
            if j != i:
                t = np.tensordot(t, mix[j], axes=([lead + j], [0]))
        out.append(t)
    return out


def mixture_regrets(tensor: np.ndarray, mix: Mixture) -> np.ndarray:
    """Per-player regret of a mixture, shape ``(n,)`` or ``(n, B)`` for a batched tensor."""
    vals = deviation_values(tensor, mix)
    return np.stack([v.max(axis=-1) - v @ x for v, x in zip(vals, mix)])


def pure_regret_tensor(tensor: np.ndarray) -> np.ndarray:
    """Regret of every pure profile, shape ``K``: the best unilateral gain at each cell."""
    reg = np.zeros(tensor.shape[1:])
    for i in range(tensor.shape[0]):
        np.maximum(reg, tensor[i].max(axis=i, keepdims=True) - tensor[i], out=reg)
    return reg


# the names the module had when it lived in one file
_pure_values = deviation_values
_mixture_regrets = mixture_regrets
_pure_regret_tensor = pure_regret_tensor
