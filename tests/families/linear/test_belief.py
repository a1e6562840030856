import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from warmstart.families.linear.belief import Belief, BeliefBatch, BeliefFormatError
from warmstart.families.linear.model import summarise


def _events(rng, n, d):
    return rng.normal(size=(n, d)) / np.sqrt(d), rng.normal(size=n)


def test_incremental_belief_equals_posterior_recomputed_from_all_raw_data(population, rng):
    X, r = _events(rng, 40, population.dim)
    b = Belief.fresh(population)
    for x, y in zip(X, r):
        b.observe(x, y)
    ref = BeliefBatch.from_summary(population, summarise(X[None], r[None])).user(0)
    assert np.allclose(b.mean, ref.mean, atol=1e-9)
    assert np.allclose(b.cov, ref.cov, atol=1e-9)
    assert np.allclose(b.log_evidence, ref.log_evidence, atol=1e-7)
    assert np.allclose(b.type_probs(), ref.type_probs(), atol=1e-9)


def test_batch_update_equals_single_user_updates(population, rng):
    n, d = 5, population.dim
    batch = BeliefBatch.fresh(population, n)
    singles = [Belief.fresh(population) for _ in range(n)]
    for _ in range(10):
        X, r = _events(rng, n, d)
        batch.observe(np.arange(n), X, r)
        for i in range(n):
            singles[i].observe(X[i], r[i])
    for i in range(n):
        assert np.allclose(batch.type_probs()[i], singles[i].type_probs())
        assert np.allclose(batch.mean[i], singles[i].mean)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), n=st.integers(1, 12))
def test_event_order_does_not_change_the_undiscounted_belief(population, seed, n):
    rng = np.random.default_rng(seed)
    X, r = _events(rng, n, population.dim)
    a, b = Belief.fresh(population), Belief.fresh(population)
    for i in range(n):
        a.observe(X[i], r[i])
    for i in rng.permutation(n):
        b.observe(X[i], r[i])
    assert np.allclose(a.type_probs(), b.type_probs(), atol=1e-8)
    assert np.allclose(a.mean, b.mean, atol=1e-8)
    assert np.allclose(a.A, b.A) and np.isclose(a.c, b.c)


def test_discounted_belief_forgets_old_evidence(population, rng):
    X, r = _events(rng, 30, population.dim)
    b = Belief.fresh(population, discount=0.9)
    for x, y in zip(X, r):
        b.observe(x, y)
    assert b.n == pytest.approx(sum(0.9**k for k in range(30)))
    ref = BeliefBatch.from_summary(population, summarise(X[None], r[None], discount=0.9)).user(0)
    assert np.allclose(b.type_probs(), ref.type_probs())


def test_bytes_round_trip_is_small_and_exact(population, rng):
    b = Belief.fresh(population)
    X, r = _events(rng, 25, population.dim)
    for x, y in zip(X, r):
        b.observe(x, y)
    data = b.to_bytes()
    assert len(data) <= 2048
    back = Belief.from_bytes(data, population)
    assert np.allclose(back.type_probs(), b.type_probs(), atol=1e-9)
    assert np.allclose(back.mean, b.mean, atol=1e-9)


def test_damaged_or_foreign_bytes_are_rejected(population, rng):
    data = Belief.fresh(population).to_bytes()
    with pytest.raises(BeliefFormatError, match="magic"):
        Belief.from_bytes(b"XXX" + data[3:], population)
    with pytest.raises(BeliefFormatError, match="version"):
        Belief.from_bytes(data[:3] + bytes([9]) + data[4:], population)
    with pytest.raises(BeliefFormatError, match="bytes"):
        Belief.from_bytes(data[:-8], population)
    with pytest.raises(BeliefFormatError):
        Belief.from_bytes(data[:10], population)


@pytest.mark.parametrize(
    "x, r, field",
    [(np.zeros(3), 0.0, "x"), (np.full(10, np.nan), 0.0, "x"), (np.zeros(10), float("inf"), "reward")],
)
def test_bad_event_raises_and_changes_nothing(population, x, r, field):
    b = Belief.fresh(population)
    before = (b.mean.copy(), b.cov.copy(), b.log_evidence.copy(), b.A.copy(), b.n)
    with pytest.raises(ValueError, match=field):
        b.observe(x, r)
    assert np.array_equal(before[0], b.mean) and np.array_equal(before[1], b.cov)
    assert np.array_equal(before[2], b.log_evidence) and np.array_equal(before[3], b.A) and before[4] == b.n


def test_batch_rejects_unknown_user_and_leaves_state(population):
    batch = BeliefBatch.fresh(population, 3)
    before = batch.mean.copy()
    with pytest.raises(ValueError, match="users"):
        batch.observe(np.array([5]), np.zeros((1, population.dim)), np.zeros(1))
    assert np.array_equal(before, batch.mean)
