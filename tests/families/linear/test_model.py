import numpy as np
from scipy.stats import multivariate_normal

from warmstart.families.linear.model import (
    GaussianTypes,
    Summary,
    batched_tri_inv,
    log_evidence,
    summarise,
    type_posterior,
)


def _random_types(rng, K, d):
    mu = rng.normal(size=(K, d))
    B = rng.normal(size=(K, d, d)) * 0.3
    cov = B @ B.transpose(0, 2, 1) + 0.2 * np.eye(d)
    return GaussianTypes(mu, cov, rng.uniform(0.1, 0.6, size=K))


def test_evidence_and_posterior_match_brute_force_gaussian_algebra(rng):
    d, K, T = 4, 3, 7
    types = _random_types(rng, K, d)
    X = rng.normal(size=(1, T, d))
    r = rng.normal(size=(1, T))
    post = type_posterior(summarise(X, r), types)
    for k in range(K):
        # marginal of r under type k: N(X mu, X Sigma X' + s2 I)
        cov = X[0] @ types.cov[k] @ X[0].T + types.noise_var[k] * np.eye(T)
        ref = multivariate_normal(X[0] @ types.mu[k], cov).logpdf(r[0])
        assert np.isclose(post.log_evidence[0, k], ref, rtol=1e-10, atol=1e-10)
        # posterior by the textbook formulas
        prec = np.linalg.inv(types.cov[k]) + X[0].T @ X[0] / types.noise_var[k]
        mean = np.linalg.solve(prec, np.linalg.solve(types.cov[k], types.mu[k]) + X[0].T @ r[0] / types.noise_var[k])
        assert np.allclose(post.mean[0, k], mean, atol=1e-10)
        assert np.allclose(post.cov()[0, k], np.linalg.inv(prec), atol=1e-10)


def test_chunked_log_evidence_equals_one_pass(rng):
    types = _random_types(rng, 2, 3)
    s = summarise(rng.normal(size=(25, 5, 3)), rng.normal(size=(25, 5)))
    assert np.allclose(log_evidence(s, types, chunk=4), type_posterior(s, types).log_evidence)


def test_discounted_summary_weights_latest_event_by_one(rng):
    X = rng.normal(size=(1, 3, 2))
    r = rng.normal(size=(1, 3))
    s = summarise(X, r, discount=0.5)
    w = np.array([0.25, 0.5, 1.0])
    assert np.allclose(s.A[0], (X[0] * w[:, None]).T @ X[0])
    assert np.allclose(s.b[0], (X[0] * w[:, None]).T @ r[0])
    assert np.isclose(s.n[0], w.sum())


def test_masked_summary_skips_padding(rng):
    X = rng.normal(size=(2, 4, 3))
    r = rng.normal(size=(2, 4))
    mask = np.array([[1, 1, 0, 0], [1, 1, 1, 1]], dtype=bool)
    s = summarise(X, r, mask=mask)
    ref = summarise(X[:1, :2], r[:1, :2])
    assert np.allclose(s.A[0], ref.A[0]) and np.isclose(s.n[0], 2)


def test_tri_inverse(rng):
    M = rng.normal(size=(5, 4, 4))
    L = np.linalg.cholesky(M @ M.transpose(0, 2, 1) + np.eye(4))
    assert np.allclose(batched_tri_inv(L) @ L, np.eye(4), atol=1e-12)


def test_bad_summary_names_the_field():
    s = Summary(np.zeros((1, 2, 2)), np.zeros((1, 2)), np.zeros(1), np.array([-1.0]))
    try:
        s.validate()
    except ValueError as exc:
        assert "summary.n" in str(exc) and "-1.0" in str(exc)
    else:
        raise AssertionError("negative counts were accepted")
    s = Summary(np.full((1, 2, 2), np.nan), np.zeros((1, 2)), np.zeros(1), np.zeros(1))
    try:
        s.validate()
    except ValueError as exc:
        assert "summary.A" in str(exc) and "finite" in str(exc)
    else:
        raise AssertionError("NaN was accepted")
