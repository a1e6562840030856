"""The compiled kernels against their numpy references, and the policies with the kernels on and off."""

import numpy as np
import pytest

from warmstart import _kernels
from warmstart.families.linear.belief import BeliefBatch, _observe
from warmstart.policies.base import PolicyContext
from warmstart.policies.batch import batch_thompson_numpy
from warmstart.policies.mixture import _Q, _TIE, ids_distribution, mixture_draws_numpy
from warmstart.policies.registry import make_policy


def _spd(rng, k, d):
    G = rng.normal(size=(k, d, d))
    return G @ np.swapaxes(G, 1, 2) / d + 0.05 * np.eye(d)


def test_mixture_draws_match_numpy(rng):
    K1, d, n = 9, 10, 100
    mean, cov = rng.normal(size=(K1, d)), _spd(rng, K1, d)
    counts = rng.multinomial(n, np.full(K1, 1 / K1))
    counts[4] += counts[3]
    counts[3] = 0
    z = rng.standard_normal((n, d))
    np.testing.assert_allclose(_kernels.mixture_draws(mean, cov, counts, z),
                               mixture_draws_numpy(mean, cov, counts, z), rtol=0, atol=1e-12)


def test_mixture_draws_survive_a_covariance_a_hair_off_positive_definite(rng):
    d = 4
    v = rng.normal(size=d)
    cov = (np.outer(v, v) - 1e-13 * np.eye(d))[None]  # rank one, smallest eigenvalue just below zero
    z = rng.standard_normal((5, d))
    out = _kernels.mixture_draws(np.zeros((1, d)), cov, np.array([5]), z)
    np.testing.assert_allclose(out, mixture_draws_numpy(np.zeros((1, d)), cov, np.array([5]), z), atol=1e-6)
    # every draw lies on the covariance's one direction
    np.testing.assert_allclose(np.abs(out @ v) / np.linalg.norm(v), np.linalg.norm(out, axis=1), rtol=1e-5)


@pytest.mark.parametrize("seed", range(25))
def test_ids_pair_matches_numpy(seed):
    rng = np.random.default_rng(seed)
    M, A = 100, 20
    # draws from a few types with spread, like a mixture posterior early on
    centres = rng.normal(size=(3, A))
    R = centres[rng.integers(3, size=M)] + (0.05 + 0.5 * (seed % 3)) * rng.normal(size=(M, A))
    i, j, q = _kernels.ids_pair(R, _Q, 1e-12, _TIE)
    ri, rj, rq = ids_distribution(R)
    assert (i, j) == (ri, rj) and i <= j
    assert q == pytest.approx(rq, abs=1e-12)


def test_ids_pair_without_information_exploits(rng):
    R = np.tile(rng.normal(size=7), (30, 1))  # every draw agrees: nothing to learn
    a = int(np.argmax(R[0]))
    assert _kernels.ids_pair(R, _Q, 1e-12, _TIE) == ids_distribution(R) == (a, a, 1.0)


def test_observe_one_matches_numpy(rng):
    K1, d = 9, 10
    mean, cov, logev = rng.normal(size=(K1, d)), _spd(rng, K1, d), rng.normal(size=K1)
    noise_var = rng.uniform(0.1, 1.0, size=K1)
    A, b = np.eye(d), np.zeros(d)
    x, r = rng.normal(size=d), 0.7
    ref = [a.copy() for a in (mean, cov, logev)]
    _observe(*ref[:3], noise_var, x, np.float64(r))
    _kernels.observe_one(mean, cov, logev, noise_var, A, b, x, r)
    for got, want in zip((mean, cov, logev), ref):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(A, np.eye(d) + np.outer(x, x))
    np.testing.assert_allclose(b, x * r)


def test_batch_thompson_matches_numpy(population, rng):
    n, M, d = 300, 32, population.dim
    batch = BeliefBatch.fresh(population, 400)
    users = rng.choice(400, size=n, replace=False)
    for _ in range(2):
        batch.observe(np.arange(400), rng.normal(size=(400, d)) / np.sqrt(d), rng.normal(size=400))
    probs = batch.type_probs()[users]
    u, z = rng.random((n, M)), rng.standard_normal((n, M, d))
    X = rng.normal(size=(n, 20, d)) / np.sqrt(d)
    a1, p1 = _kernels.batch_thompson(batch.mean, batch.cov, probs, users, u, z, X)
    a2, p2 = batch_thompson_numpy(batch.mean, batch.cov, probs, users, u, z, X)
    assert np.array_equal(a1, a2)
    np.testing.assert_array_equal(p1, p2)


@pytest.mark.parametrize("name", ["mixture_ids", "mixture_ts"])
def test_policies_decide_the_same_with_and_without_the_kernels(name, population, truth, monkeypatch):
    ctx = PolicyContext(dim=population.dim, population=population)
    env_rng = np.random.default_rng(8)
    X = truth.candidates(env_rng, (60,))
    theta = truth.sample_users(1, env_rng).theta[0]

    def run():
        policy = make_policy(name, ctx, seed=2)
        state = policy.new_user()
        out = []
        for t in range(60):
            dec = policy.act(state, X[t])
            policy.update(state, X[t], dec.action, float(X[t, dec.action] @ theta))
            out.append((dec.action, round(dec.propensity, 12)))
        return out, state.type_probs()

    with_kernels, p1 = run()
    monkeypatch.setattr(_kernels, "JIT", False)
    without, p2 = run()
    assert with_kernels == without
    np.testing.assert_allclose(p1, p2, rtol=1e-9, atol=1e-12)
