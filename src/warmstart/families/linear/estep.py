"""The E-step of the population fit, one chunk of users at a time.

A pass over the users is a map (``chunk_terms`` per chunk of users: their log likelihood and their
contributions to the M-step sums) and a reduce (``PassTotal``: the chunks' terms added in chunk order). Every
backend (``warmstart.families.linear.backend``) cuts the users into the same chunks and adds their terms in the
same order, wherever it computed them, so the in-process and the distributed fits agree to the last bit.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from warmstart.families.linear.model import (
    GaussianTypes,
    Summary,
    TypePosterior,
    back_solve,
    batched_tri_inv,
    logsumexp_rows,
    type_posterior,
)


def chunk_terms(s: Summary, comps: GaussianTypes, terms: Any, logw: np.ndarray, moments: bool) -> tuple[float, Any]:
    """One chunk of users' E-step: their summed log likelihood and either their M-step contributions
    ``(W, Sm, Smm, Sres, Sn)`` or (``moments=False``) their responsibilities ``(n, K + 1)``. The contributions
    of a pass are the sum of its chunks' in chunk order (``PassTotal``), whichever process computed them, so
    every backend that keeps the chunks gives the same floating-point result.

    >>> import numpy as np
    >>> from warmstart.families.linear.model import summarise
    >>> types = GaussianTypes(mu=np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 0.0]]),  # 2 types and the novel one
    ...                       cov=np.stack([0.1 * np.eye(2), 0.1 * np.eye(2), np.eye(2)]),
    ...                       noise_var=np.full(3, 0.25))
    >>> weights = np.array([0.5, 0.45, 0.05])
    >>> rewards = np.array([[1.0] * 3, [-1.0] * 3, [1.1] * 3, [0.0] * 3])            # 4 users, 3 events each
    >>> stats = summarise(np.tile([1.0, 0.0], (4, 3, 1)), rewards)
    >>> terms, log_weights = types.precision(), np.log(weights)
    >>> ll, resp = chunk_terms(stats, types, terms, log_weights, moments=False)
    >>> round(ll, 3), resp.round(3).tolist()                 # user 3's zeros fit no type well
    (-8.913, [[0.975, 0.0, 0.025], [0.0, 0.972, 0.028], [0.976, 0.0, 0.024], [0.395, 0.356, 0.249]])
    >>> ll, (W, Sm, Smm, Sres, Sn) = chunk_terms(stats, types, terms, log_weights, moments=True)
    >>> W.round(3).tolist(), Sn.round(3).tolist()             # responsibility-weighted users and events
    ([2.347, 1.328, 0.326], [7.04, 3.984, 0.977])
    """
    post = type_posterior(s, comps, terms, need_mean=False)
    joint = post.log_evidence + logw
    norm = logsumexp_rows(joint)
    ll = float(norm.sum())
    resp = np.exp(joint - norm[:, None])
    if not moments:
        return ll, resp
    return ll, resp_moments(s, post, resp)


def resp_moments(s: Summary, post: TypePosterior, resp: np.ndarray) -> tuple[np.ndarray, ...]:
    """The M-step sums ``(W, Sm, Smm, Sres, Sn)`` of a chunk of users given their posteriors under every
    component (``type_posterior(..., need_mean=False)``) and their responsibilities ``resp (n, K + 1)``: the
    responsibility-weighted count of users, posterior first and second moments of ``theta``, expected squared
    residuals and events. ``chunk_terms`` calls it with the E-step's responsibilities; the fair fit
    (``warmstart.families.linear.fair``) with its projected ones.

    >>> import numpy as np
    >>> from warmstart.families.linear.model import summarise
    >>> types = GaussianTypes(mu=np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 0.0]]),  # 2 types and the novel one
    ...                       cov=np.stack([0.1 * np.eye(2), 0.1 * np.eye(2), np.eye(2)]),
    ...                       noise_var=np.full(3, 0.25))
    >>> stats = summarise(np.tile([1.0, 0.0], (2, 3, 1)), np.array([[1.0] * 3, [-1.0] * 3]))  # 2 users
    >>> post = type_posterior(stats, types, need_mean=False)
    >>> W, Sm, Smm, Sres, Sn = resp_moments(stats, post, np.array([[1.0, 0.0, 0.0], [0.5, 0.5, 0.0]]))
    >>> W.tolist(), Sn.tolist()                 # user 0 all in type 0; user 1 half in each of types 0 and 1
    ([1.5, 0.5, 0.0], [4.5, 1.5, 0.0])
    """
    K1, d = post.log_evidence.shape[1], s.dim
    W = np.zeros(K1)
    Sm = np.zeros((K1, d))
    Smm = np.zeros((K1, d, d))
    Sres = np.zeros(K1)
    Sn = np.zeros(K1)
    # M-step moments only where a user has non-negligible responsibility (about one type per user)
    n_idx, k_idx = np.nonzero(resp > 1e-10)
    r = resp[n_idx, k_idx]
    L = post.chol[n_idx, k_idx]
    m = back_solve(L, post.mean[n_idx, k_idx])
    Li = batched_tri_inv(L)
    A = s.A[n_idx]
    # E ||r - X theta||^2 = c - 2 b.m + m'Am + tr(A S), with S = Li' Li
    Am = np.matmul(A, m[..., None])[..., 0]
    trAS = (np.matmul(Li, A) * Li).sum(axis=(-1, -2))
    res = s.c[n_idx] - 2 * (s.b[n_idx] * m).sum(-1) + (m * Am).sum(-1) + trAS
    sLi = Li * np.sqrt(r)[:, None, None]
    rm = r[:, None] * m
    for k in range(K1):
        sel = k_idx == k
        if not sel.any():
            continue
        W[k] = r[sel].sum()
        Sm[k] = rm[sel].sum(0)
        rows = sLi[sel].reshape(-1, d)
        Smm[k] = rows.T @ rows + rm[sel].T @ m[sel]
        Sres[k] = r[sel] @ res[sel]
        Sn[k] = r[sel] @ s.n[n_idx[sel]]
    return W, Sm, Smm, Sres, Sn


def chunked_terms(summary: Summary, comps: GaussianTypes, weights: np.ndarray, chunk: int,
                  moments: bool) -> list[tuple[float, Any]]:
    """``chunk_terms`` of every chunk of ``summary``, in order (what a remote worker returns for its users).

    >>> import numpy as np
    >>> from warmstart.families.linear.model import summarise
    >>> types = GaussianTypes(mu=np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 0.0]]),  # 2 types and the novel one
    ...                       cov=np.stack([0.1 * np.eye(2), 0.1 * np.eye(2), np.eye(2)]),
    ...                       noise_var=np.full(3, 0.25))
    >>> weights = np.array([0.5, 0.45, 0.05])
    >>> rewards = np.array([[1.0] * 3, [-1.0] * 3, [1.1] * 3, [0.0] * 3])            # 4 users, 3 events each
    >>> stats = summarise(np.tile([1.0, 0.0], (4, 3, 1)), rewards)
    >>> parts = chunked_terms(stats, types, weights, chunk=2, moments=True)
    >>> len(parts), [round(ll, 3) for ll, _ in parts]        # two chunks of two users
    (2, [-3.581, -5.332])
    """
    terms, logw = comps.precision(), np.log(weights)
    return [chunk_terms(summary[start : start + chunk], comps, terms, logw, moments)
            for start in range(0, summary.n_users, chunk)]


class PassTotal:
    """The running sum of chunks' E-step terms, added in chunk order.

    >>> import numpy as np
    >>> from warmstart.families.linear.model import summarise
    >>> types = GaussianTypes(mu=np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 0.0]]),  # 2 types and the novel one
    ...                       cov=np.stack([0.1 * np.eye(2), 0.1 * np.eye(2), np.eye(2)]),
    ...                       noise_var=np.full(3, 0.25))
    >>> weights = np.array([0.5, 0.45, 0.05])
    >>> rewards = np.array([[1.0] * 3, [-1.0] * 3, [1.1] * 3, [0.0] * 3])            # 4 users, 3 events each
    >>> stats = summarise(np.tile([1.0, 0.0], (4, 3, 1)), rewards)
    >>> total = PassTotal(n_types=3, dim=2, moments=True)
    >>> for ll, part in chunked_terms(stats, types, weights, chunk=2, moments=True):
    ...     total.add(ll, part)
    >>> ll, (W, Sm, Smm, Sres, Sn) = total.result()
    >>> round(ll, 3), W.round(3).tolist()                    # the same as one chunk of all four users
    (-8.913, [2.347, 1.328, 0.326])
    """

    def __init__(self, n_types: int, dim: int, moments: bool) -> None:
        self.moments = moments
        self.ll = 0.0
        self.stats = (np.zeros(n_types), np.zeros((n_types, dim)), np.zeros((n_types, dim, dim)),
                      np.zeros(n_types), np.zeros(n_types))
        self.resp: list[np.ndarray] = []

    def add(self, ll: float, part: Any) -> None:
        self.ll += ll
        if self.moments:
            for total, term in zip(self.stats, part, strict=True):
                total += term
        else:
            self.resp.append(part)

    def result(self) -> tuple[float, Any]:
        if self.moments:
            return self.ll, self.stats
        K1 = self.stats[0].shape[0]
        return self.ll, (np.concatenate(self.resp) if self.resp else np.zeros((0, K1)))
