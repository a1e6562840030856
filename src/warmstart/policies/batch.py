"""Vectorised decisions for many users at once: mixture Thompson sampling over a ``BeliefBatch``.

This is the serving path for bulk traffic: one call decides for N users, with no Python loop over users.
Each user's propensity is estimated from ``n_samples`` posterior draws, like the one-user policy.
"""

from __future__ import annotations

import numpy as np

from warmstart.belief.belief import BeliefBatch


def batch_thompson(
    batch: BeliefBatch, users: np.ndarray, X: np.ndarray, rng: np.random.Generator, n_samples: int = 32
) -> tuple[np.ndarray, np.ndarray]:
    """Decide for ``users`` (indices into ``batch``) among candidates ``X (N, A, d)``.

    Returns ``(actions (N,), propensities (N,))``. Draw 0 of each user is the one played.
    """
    n, _, d = X.shape
    probs = batch.type_probs()[users]  # (N, K1)
    cdf = np.cumsum(probs, axis=1)
    u = rng.random((n, n_samples)) * cdf[:, -1:]
    ks = np.minimum((u[:, :, None] >= cdf[:, None, :]).sum(-1), probs.shape[1] - 1)  # (N, M)
    L = np.linalg.cholesky(batch.cov[users])  # (N, K1, d, d)
    z = rng.standard_normal((n, n_samples, d))
    rows = np.arange(n)[:, None]
    # theta draws: mean_k + L_k z for each draw's component, then the scores of all candidates
    thetas = batch.mean[users][rows, ks] + (L[rows, ks] * z[:, :, None, :]).sum(-1)  # (N, M, d)
    scores = np.einsum("nmd,nad->nma", thetas, X)  # (N, M, A)
    choice = scores.argmax(-1)  # (N, M)
    actions = choice[:, 0]
    propensity = (choice == actions[:, None]).mean(1)
    return actions, propensity
