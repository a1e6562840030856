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

    >>> import numpy as np
    >>> from warmstart.families.linear import GaussianTypes, Population
    >>> from warmstart.families.linear.belief import BeliefBatch
    >>> types = GaussianTypes(mu=np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 0.0]]),  # 2 types and the novel one
    ...                       cov=np.stack([0.1 * np.eye(2), 0.1 * np.eye(2), np.eye(2)]),
    ...                       noise_var=np.full(3, 0.25))
    >>> batch = BeliefBatch.fresh(Population(types, weights=np.array([0.5, 0.45, 0.05])), n_users=3)
    >>> batch.observe(np.array([0, 2]), np.array([[1.0, 0.0], [1.0, 0.0]]), np.array([1.0, -1.0]))
    >>> batch.type_probs().round(3).tolist()     # user 0 looks like type 0, user 2 like type 1, user 1 new
    [[0.963, 0.003, 0.034], [0.5, 0.45, 0.05], [0.004, 0.959, 0.038]]
    >>> X = np.tile([[1.0, 0.0], [-1.0, 0.0]], (3, 1, 1))          # the same two candidates for each user
    >>> actions, propensities = batch_thompson(batch, np.arange(3), X, np.random.default_rng(0),
    ...                                        n_samples=100)
    >>> actions.tolist(), propensities.tolist()                     # the new user's draw is a coin flip
    ([0, 0, 1], [0.99, 0.48, 0.99])
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
    """The numpy reference of ``warmstart._kernels.batch_thompson`` (same arguments, same result):
    ``u (N, M)`` uniforms pick each draw's component, ``z (N, M, d)`` standard normals its parameters.

    >>> import numpy as np
    >>> from warmstart.families.linear import GaussianTypes, Population
    >>> from warmstart.families.linear.belief import BeliefBatch
    >>> types = GaussianTypes(mu=np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 0.0]]),  # 2 types and the novel one
    ...                       cov=np.stack([0.1 * np.eye(2), 0.1 * np.eye(2), np.eye(2)]),
    ...                       noise_var=np.full(3, 0.25))
    >>> batch = BeliefBatch.fresh(Population(types, weights=np.array([0.5, 0.45, 0.05])), n_users=3)
    >>> batch.observe(np.array([0, 2]), np.array([[1.0, 0.0], [1.0, 0.0]]), np.array([1.0, -1.0]))
    >>> batch.type_probs().round(3).tolist()     # user 0 looks like type 0, user 2 like type 1, user 1 new
    [[0.963, 0.003, 0.034], [0.5, 0.45, 0.05], [0.004, 0.959, 0.038]]
    >>> X = np.tile([[1.0, 0.0], [-1.0, 0.0]], (3, 1, 1))          # the same two candidates for each user
    >>> from warmstart import _kernels
    >>> rng, users = np.random.default_rng(0), np.arange(3)
    >>> u, z = rng.random((3, 8)), rng.standard_normal((3, 8, 2))       # 8 draws per user
    >>> args = (batch.mean, batch.cov, batch.type_probs(users), users, u, z, X)
    >>> actions, propensities = batch_thompson_numpy(*args)
    >>> actions.tolist(), propensities.tolist()
    ([0, 1, 1], [1.0, 0.625, 1.0])
    >>> [r.tolist() for r in _kernels.batch_thompson(*args)] == [actions.tolist(), propensities.tolist()]
    True
    """
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
