"""Vectorised decisions for many users at once: mixture Thompson sampling over a ``BeliefBatch``.

This is the serving path for bulk traffic: one call decides for N users, with no Python loop over users.
Each user's propensity is estimated from ``n_samples`` posterior draws, like the one-user policy.
"""

from __future__ import annotations

import numpy as np

from warmstart import _kernels
from warmstart.families.linear.belief import BeliefBatch


def batch_thompson(
    batch: BeliefBatch, users: np.ndarray, X: np.ndarray, rng: np.random.Generator, n_samples: int = 32
) -> tuple[np.ndarray, np.ndarray]:
    """Decide for ``users`` (indices into ``batch``) among candidates ``X (N, A, d)``.

    Returns ``(actions (N,), propensities (N,))``. Draw 0 of each user is the one played; its propensity is
    the share of the ``n_samples`` draws that choose the same action, the played draw included, so it is never
    zero (inverse-propensity weights stay finite) and is biased up by at most ``1 / n_samples``.
    """
    users = np.asarray(users)
    X = np.asarray(X, dtype=float)
    n, _, d = X.shape
    probs = batch.type_probs(users)  # (N, K1)
    u = rng.random((n, n_samples))
    z = rng.standard_normal((n, n_samples, d))
    kernel = _kernels.batch_thompson if _kernels.JIT else batch_thompson_numpy
    return kernel(batch.mean, batch.cov, probs, users, u, z, X)


def batch_thompson_numpy(
    mean: np.ndarray, cov: np.ndarray, probs: np.ndarray, users: np.ndarray, u: np.ndarray, z: np.ndarray,
    X: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """The numpy reference of ``warmstart._kernels.batch_thompson`` (same arguments, same result)."""
    n, n_samples, _ = z.shape
    K1 = probs.shape[1]
    cdf = np.cumsum(probs, axis=1)
    ks = np.minimum((u[:, :, None] * cdf[:, -1:, None] >= cdf[:, None, :]).sum(-1), K1 - 1)  # (N, M)
    # factor only the (user, component) pairs that were drawn: after a few events most users have one or two
    pair_ids, inverse = np.unique(np.arange(n)[:, None] * K1 + ks, return_inverse=True)
    pu, pk = np.divmod(pair_ids, K1)
    L = np.linalg.cholesky(cov[users[pu], pk])  # (P, d, d)
    draw_pair = inverse.reshape(n, n_samples)
    thetas = mean[users[pu], pk][draw_pair] + np.matmul(L[draw_pair], z[..., None])[..., 0]  # (N, M, d)
    scores = np.matmul(thetas, np.swapaxes(X, 1, 2))  # (N, M, A)
    choice = scores.argmax(-1)  # (N, M)
    actions = choice[:, 0]
    propensity = (choice == actions[:, None]).mean(1)
    return actions, propensity
