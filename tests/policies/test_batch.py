import numpy as np

from warmstart.families.linear.belief import BeliefBatch
from warmstart.policies.batch import batch_thompson
from warmstart.policies.mixture import posterior_samples


def _batch_with_history(population, n_users, rng, events=2, shared=False):
    batch = BeliefBatch.fresh(population, n_users)
    users = np.arange(n_users)
    for _ in range(events):
        x = rng.normal(size=(1 if shared else n_users, population.dim)) / np.sqrt(population.dim)
        r = rng.normal(size=1 if shared else n_users)
        batch.observe(users, np.repeat(x, n_users, 0) if shared else x, np.repeat(r, n_users) if shared else r)
    return batch


def test_same_seed_same_batch_decisions(population, rng):
    batch = _batch_with_history(population, 50, rng)
    X = rng.normal(size=(50, 20, population.dim)) / np.sqrt(population.dim)
    a1, p1 = batch_thompson(batch, np.arange(50), X, np.random.default_rng(3))
    a2, p2 = batch_thompson(batch, np.arange(50), X, np.random.default_rng(3))
    assert np.array_equal(a1, a2) and np.array_equal(p1, p2)
    assert np.all((p1 > 0) & (p1 <= 1))


def test_batch_decisions_follow_the_thompson_distribution(population, rng):
    """Many copies of one belief: the batch's choice frequencies and propensity estimates match the
    distribution of argmax under the mixture posterior, computed slowly from 40,000 one-user draws."""
    n = 4000
    batch = _batch_with_history(population, n, rng, events=2, shared=True)
    X1 = rng.normal(size=(20, population.dim)) / np.sqrt(population.dim)
    actions, prop = batch_thompson(batch, np.arange(n), np.repeat(X1[None], n, 0), np.random.default_rng(4))
    thetas = posterior_samples(batch.user(0), 40000, np.random.default_rng(5))
    ref = np.bincount(np.argmax(thetas @ X1.T, axis=1), minlength=20) / 40000
    freq = np.bincount(actions, minlength=20) / n
    assert np.abs(freq - ref).max() < 0.03
    # the propensity counts the played draw among the M draws, so E[p] = 1/M + (M - 1)/M P(a): never zero,
    # biased up by at most 1/M
    m = 32
    assert abs(prop.mean() - (1 / m + (m - 1) / m * (ref**2).sum())) < 0.01


def test_users_subset_only_reads_those_users(population, rng):
    batch = _batch_with_history(population, 10, rng)
    X = rng.normal(size=(3, 20, population.dim))
    a, p = batch_thompson(batch, np.array([1, 4, 7]), X, np.random.default_rng(0))
    assert a.shape == (3,) and p.shape == (3,)
