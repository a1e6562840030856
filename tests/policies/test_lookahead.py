"""The one-step lookahead (knowledge gradient) on the mixture belief, and ``mixture_ids`` acting on it."""

import numpy as np
import pytest

from warmstart.data.bandit_log import training_log
from warmstart.policies import PolicyContext, make_policy
from warmstart.policies.check import check_policy
from warmstart.policies.lookahead import knowledge_gradient, lookahead_action
from warmstart.policies.mixture import _IDENTIFIED


def _mixture(rng, K=4, d=3):
    probs = rng.dirichlet(np.ones(K))
    mean = rng.normal(size=(K, d))
    L = 0.3 * rng.normal(size=(K, d, d))
    cov = L @ np.swapaxes(L, -1, -2) + 0.01 * np.eye(d)
    return probs, mean, cov, rng.uniform(0.1, 0.5, K)


def _kg_monte_carlo(probs, mean, cov, noise_var, X, a, rng, n=400_000):
    """Brute force: draw (type, theta, y) from the prior, update every component exactly on (x_a, y), and
    average the best posterior mean reward."""
    k = rng.choice(len(probs), size=n, p=probs)
    theta = mean[k] + np.einsum("nij,nj->ni", np.linalg.cholesky(cov)[k], rng.normal(size=(n, mean.shape[1])))
    y = theta @ X[a] + np.sqrt(noise_var[k]) * rng.normal(size=n)
    post = []
    for j in range(len(probs)):  # exact Gaussian conditioning of component j on one observation
        s = cov[j] @ X[a]
        v = X[a] @ s + noise_var[j]
        m_after = mean[j][None] + np.outer((y - mean[j] @ X[a]) / v, s)
        loglik = -0.5 * np.log(v) - 0.5 * (y - mean[j] @ X[a]) ** 2 / v
        post.append((np.log(probs[j]) + loglik, m_after @ X.T))
    logw = np.stack([p[0] for p in post], 1)
    w = np.exp(logw - logw.max(1, keepdims=True))
    w /= w.sum(1, keepdims=True)
    after = np.einsum("nk,knb->nb", w, np.stack([p[1] for p in post]))
    return after.max(1).mean() - (probs @ (mean @ X.T)).max()


@pytest.mark.parametrize("seed", [0, 1])
def test_knowledge_gradient_matches_brute_force(seed):
    rng = np.random.default_rng(seed)
    probs, mean, cov, noise_var = _mixture(rng)
    X = rng.normal(size=(5, 3))
    value, kg = knowledge_gradient(probs, mean, cov, noise_var, X)
    _, fine = knowledge_gradient(probs, mean, cov, noise_var, X, nodes=61)
    np.testing.assert_allclose(value, probs @ (mean @ X.T))
    for a in range(X.shape[0]):
        reference = _kg_monte_carlo(probs, mean, cov, noise_var, X, a, rng)
        assert fine[a] == pytest.approx(reference, abs=0.01)        # the rule converges to brute force
        assert kg[a] == pytest.approx(reference, rel=0.05, abs=0.02)  # 5 nodes: close


def test_nothing_to_learn_is_worth_nothing():
    """One component known exactly: no reward changes the posterior, so every knowledge gradient is zero and
    the lookahead plays the best mean."""
    mean, cov = np.array([[0.5, -1.0]]), np.zeros((1, 2, 2))
    X = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    value, kg = knowledge_gradient(np.ones(1), mean, cov, np.full(1, 0.25), X)
    np.testing.assert_allclose(kg, 0.0, atol=1e-12)
    assert lookahead_action(np.ones(1), mean, cov, np.full(1, 0.25), X, 5.0) == int(np.argmax(value)) == 0


@pytest.fixture(scope="module")
def context(population, small_log):
    return PolicyContext(dim=10, population=population, train_log=training_log(small_log))


def test_mixture_ids_with_lookahead_passes_the_public_check(context):
    check_policy("mixture_ids", context, lookahead=1.0)
    check_policy("mixture_ids_lookahead", context)


def test_lookahead_is_off_by_default_and_checked(context):
    assert "lookahead" not in make_policy("mixture_ids", context).settings()
    assert make_policy("mixture_ids_lookahead", context).settings()["lookahead"] == 1.0
    for bad in (-1.0, float("inf"), float("nan")):
        with pytest.raises(ValueError, match="^lookahead: expected a finite weight >= 0, got"):
            make_policy("mixture_ids", context, lookahead=bad)


def test_lookahead_plans_until_the_type_is_known_then_ids(context, truth):
    """Before the type is known the lookahead's argmax is played (propensity 1); once a type holds 99% the
    decision is mixture_ids' own, draw for draw."""
    rng = np.random.default_rng(3)
    user = truth.sample_users(1, rng, kind="population")
    X = truth.candidates(rng, (40,))
    look = make_policy("mixture_ids", context, seed=5, lookahead=1.0)
    state = look.new_user()
    probs, mean, cov = state.components()
    noise = state.population.components.noise_var
    decision = look.act(state, X[0])
    assert decision.propensity == 1.0
    assert decision.action == lookahead_action(probs, mean, cov, noise, X[0], 1.0)
    rewards = X @ user.theta[0] + 0.5 * rng.normal(size=X.shape[:2])
    actions = rng.integers(0, X.shape[1], size=X.shape[0])
    rows = np.arange(X.shape[0])
    known = look.replay(X[rows, actions], rewards[rows, actions])
    assert known.type_probs().max() >= _IDENTIFIED
    plain = make_policy("mixture_ids", context, seed=5)
    look.reseed(11)
    plain.reseed(11)
    for t in range(5):
        assert look.act(known, X[t]).probabilities.tolist() == plain.act(known, X[t]).probabilities.tolist()
