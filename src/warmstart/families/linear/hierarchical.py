"""The one-type linear-Gaussian hierarchical model, fitted exactly: ``theta_u ~ N(mu, Sigma)`` (full
covariance), ``r = x . theta_u + noise``, ``noise ~ N(0, sigma^2)``; its log marginal likelihood is in closed
form given ``(mu, Sigma, sigma^2)`` (``model.log_evidence``) and the maximum is reached by EM, which has no
grouping to start from (one type) and so gives the same answer for the same data.

It is the structure criterion of the dynamics fit (``warmstart.families.linear.dynamics_fit``): the in-sample
log marginal likelihood of every training user, and a Wald test of a column's population-mean coefficient
with a *robust* (sandwich) standard error, valid when the users' parameters are a mixture of types rather
than one Gaussian: the score of a user's marginal likelihood in ``mu`` is ``Sigma^-1 (m_u - mu)`` (``m_u`` the
user's posterior mean), its information ``X_u' (X_u Sigma X_u' + sigma^2 I)^-1 X_u = A_u / sigma^2 -
(A_u / sigma^2) P_u^-1 (A_u / sigma^2)``, ``P_u = Sigma^-1 + A_u / sigma^2``.

>>> rng = np.random.default_rng(0)
>>> n, T = 400, 20
>>> X = rng.standard_normal((n * T, 2))
>>> theta = np.array([1.0, -0.2]) + 0.3 * rng.standard_normal((n, 2))
>>> user = np.repeat(np.arange(n), T)
>>> r = np.einsum("ij,ij->i", X, theta[user]) + 0.5 * rng.standard_normal(n * T)
>>> fit = fit_hierarchical(summarise_rows(user, X, r, n))
>>> fit.mu.round(2).tolist(), fit.z().round(0).tolist(), round(float(np.sqrt(fit.noise_var)), 2)
([1.02, -0.21], [65.0, -13.0], 0.5)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from warmstart.families.linear.model import GaussianTypes, Summary, log_evidence, summarise_rows

__all__ = ["HierarchicalFit", "fit_hierarchical", "summarise_rows"]


@dataclass(frozen=True, eq=False)
class HierarchicalFit:
    """The maximum-likelihood ``mu (d,)``, ``cov (d, d)``, ``noise_var``; ``loglik`` the in-sample log marginal
    likelihood summed over users; ``se`` the robust standard errors of ``mu``; ``iterations`` of EM.

    >>> fit = HierarchicalFit(np.array([1.0, -0.5]), np.eye(2), 0.25, -10.0, np.array([0.5, 0.1]), 3)
    >>> fit.z().tolist(), fit.n_params()
    ([2.0, -5.0], 6)
    """

    mu: np.ndarray
    cov: np.ndarray
    noise_var: float
    loglik: float
    se: np.ndarray
    iterations: int

    def z(self) -> np.ndarray:
        """Wald statistics ``mu / se``.

        >>> HierarchicalFit(np.ones(1), np.eye(1), 1.0, 0.0, np.array([0.25]), 1).z().tolist()
        [4.0]
        """
        return self.mu / np.maximum(self.se, 1e-300)

    def n_params(self) -> int:
        """Free parameters: the mean, the covariance's lower triangle and the noise variance.

        >>> HierarchicalFit(np.ones(3), np.eye(3), 1.0, 0.0, np.ones(3), 1).n_params()
        10
        """
        d = self.mu.shape[0]
        return d + d * (d + 1) // 2 + 1


def _posterior(summary: Summary, mu: np.ndarray, cov: np.ndarray, s2: float) -> tuple[np.ndarray, np.ndarray]:
    """Every user's posterior mean ``(n, d)`` and covariance ``(n, d, d)``."""
    prec = np.linalg.inv(cov)
    P = prec[None] + summary.A / s2
    V = np.linalg.inv(P)
    m = np.einsum("nij,nj->ni", V, (prec @ mu)[None] + summary.b / s2)
    return m, V


def fit_hierarchical(summary: Summary, max_iter: int = 300, tol: float = 1e-7, reg: float = 1e-8
                     ) -> HierarchicalFit:
    """Maximum likelihood by EM from the pooled ridge estimate (see the module's example); ``reg`` keeps the
    covariance positive definite, ``tol`` the relative change of the log likelihood that stops EM.

    >>> s = summarise_rows(np.array([0, 0, 1, 1]), np.ones((4, 1)), np.array([1.0, 1.2, 2.0, 2.2]), 2)
    >>> round(float(fit_hierarchical(s).mu[0]), 2)
    1.6
    """
    d, N = summary.dim, max(float(summary.n.sum()), 1.0)
    A, b = summary.A.sum(0), summary.b.sum(0)
    mu = np.linalg.solve(A + 1e-6 * np.eye(d), b)
    s2 = max(float((summary.c.sum() - b @ mu) / N), 1e-6)
    cov = np.eye(d) * max(float(np.mean(np.diag(np.linalg.inv(A / N + 1e-6 * np.eye(d))))) * s2, 1e-3)
    prev, it = -np.inf, 0
    for it in range(1, max_iter + 1):
        m, V = _posterior(summary, mu, cov, s2)
        mu = m.mean(0)
        dev = m - mu
        cov = (V.sum(0) + dev.T @ dev) / summary.n_users + reg * np.eye(d)
        cov = 0.5 * (cov + cov.T)
        second = V + np.einsum("ni,nj->nij", m, m)
        resid = summary.c - 2 * np.einsum("ni,ni->n", summary.b, m) + np.einsum("nij,nji->n", summary.A, second)
        s2 = max(float(resid.sum() / N), 1e-8)
        ll = float(log_evidence(summary, GaussianTypes(mu[None], cov[None], np.array([s2]))).sum())
        if abs(ll - prev) <= tol * max(abs(ll), 1.0):
            break
        prev = ll
    m, V = _posterior(summary, mu, cov, s2)
    prec = np.linalg.inv(cov)
    As = summary.A / s2
    info = (As - np.einsum("nij,njk,nkl->nil", As, V, As)).sum(0)
    score = (m - mu) @ prec
    bread = np.linalg.pinv(info)
    sandwich = bread @ (score.T @ score) @ bread
    se = np.sqrt(np.maximum(np.diag(sandwich), 0.0))
    return HierarchicalFit(mu, cov, s2, ll, se, it)
