"""One-step lookahead on the mixture belief: the value of what one reward would tell about the user's type.

While the type is unknown, each candidate is worth its posterior mean reward now plus ``weight`` times its
*knowledge gradient* (Frazier, Powell & Dayanik, 2008): how much the best posterior mean among the candidates
is expected to grow once its reward is seen. The reward of a candidate ``a`` is, under component ``k``,
``N(m_k . x_a, x_a' S_k x_a + noise_k)``; after seeing ``y`` the component weights are reweighted by that
density and every component's mean moves by the exact rank-one update, so the posterior mean of every
candidate ``b`` is ``sum_k p_k(y) (m_k . x_b + x_b' S_k x_a (y - m_k . x_a) / v_ka)``. The expectation over ``y``
is a Gauss-Hermite rule per component (``N_NODES = 5`` nodes by default: the best mean after ``y`` is a
maximum, not smooth, so the rule is an approximation: in the tests within 5% or 0.02 of brute force, and
converging to it as ``nodes`` grows).

The candidates of later steps are not known; the current ones stand in for them, so the knowledge gradient is
the expected gain of the next decision among candidates like these. ``mixture_ids`` acts on it when built with
``lookahead > 0`` (see ``MixtureIDS``).
"""

from __future__ import annotations

import numpy as np

N_NODES = 5
_Z, _W = np.polynomial.hermite_e.hermegauss(N_NODES)  # nodes and weights for a standard normal
_W = _W / _W.sum()
MIN_PROB = 1e-4  # components below this posterior probability are left out of the lookahead


def knowledge_gradient(probs: np.ndarray, mean: np.ndarray, cov: np.ndarray, noise_var: np.ndarray,
                       X: np.ndarray, nodes: int = N_NODES) -> tuple[np.ndarray, np.ndarray]:
    """``(value, kg)``, both ``(A,)``: each candidate's posterior mean reward and its knowledge gradient under
    the mixture ``probs (K,)``, ``mean (K, d)``, ``cov (K, d, d)``, ``noise_var (K,)``; ``X (A, d)``; ``nodes``
    Gauss-Hermite nodes per component.

    >>> import numpy as np
    >>> probs, mean = np.array([0.5, 0.5]), np.array([[1.0, 0.0], [-1.0, 0.0]])    # two types, each sure
    >>> cov, noise = np.stack([0.01 * np.eye(2)] * 2), np.full(2, 0.25)
    >>> X = np.array([[1.0, 0.0], [0.0, 0.5], [0.0, 1.0]])   # 0 tells them apart; 1 and 2 do not
    >>> value, kg = knowledge_gradient(probs, mean, cov, noise, X)
    >>> value.round(3).tolist(), kg.round(2).tolist()   # seeing 0's reward nearly tells the type: 0.5 at most
    ([0.0, 0.0, 0.0], [0.48, 0.0, 0.01])
    """
    gz, gw = (_Z, _W) if nodes == N_NODES else np.polynomial.hermite_e.hermegauss(nodes)
    keep = probs > MIN_PROB
    p, m, S, nv = probs[keep] / probs[keep].sum(), mean[keep], cov[keep], noise_var[keep]
    M = m @ X.T  # (K, A): each component's mean reward of each candidate
    C = np.einsum("ad,kde,be->kab", X, S, X)  # (K, A, B): covariances of the candidates' rewards
    V = np.einsum("kaa->ka", C) + nv[:, None]  # (K, A): predictive variance of a reward
    value = p @ M
    y = M.T[:, :, None] + np.sqrt(V.T)[:, :, None] * gz  # (A, J, G): nodes of y under each component j
    z = (y[..., None] - M.T[:, None, None, :]) / V.T[:, None, None, :]  # (A, J, G, K): (y - m_k.x_a) / v_ka
    log_q = np.log(p) - 0.5 * np.log(V.T)[:, None, None, :] - 0.5 * z * z * V.T[:, None, None, :]
    q = np.exp(log_q - log_q.max(-1, keepdims=True))
    q /= q.sum(-1, keepdims=True)  # the component weights after seeing y
    after = q @ M + np.einsum("ajgk,kab->ajgb", q * z, C)  # (A, J, G, B): posterior means after y
    expected_best = np.einsum("j,g,ajg->a", p, gw / gw.sum(), after.max(-1))
    return value, np.maximum(expected_best - value.max(), 0.0)


def lookahead_action(probs: np.ndarray, mean: np.ndarray, cov: np.ndarray, noise_var: np.ndarray,
                     X: np.ndarray, weight: float) -> int:
    """The candidate with the largest ``value + weight * kg`` (``knowledge_gradient``); ties to the first.

    >>> import numpy as np
    >>> probs, mean = np.array([0.5, 0.5]), np.array([[1.0, 0.3], [-1.0, 0.3]])    # both like 1 a little
    >>> cov, noise = np.stack([0.01 * np.eye(2)] * 2), np.full(2, 0.25)
    >>> X = np.eye(2)                          # 1 is worth 0.3 now, 0 nothing but it tells the type
    >>> lookahead_action(probs, mean, cov, noise, X, 0.0), lookahead_action(probs, mean, cov, noise, X, 1.0)
    (1, 0)
    """
    value, kg = knowledge_gradient(probs, mean, cov, noise_var, X)
    return int(np.argmax(value + weight * kg))
