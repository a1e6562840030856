"""Beliefs under extreme but finite input: an event that would overflow float64 is refused
(``NonFiniteUpdateError``) and leaves the belief exactly as it was; any event within the default magnitude
bounds keeps every belief finite and decodable; on normal input the guarded update is bitwise the plain one."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from warmstart import _kernels
from warmstart._validate import Bounds, NonFiniteUpdateError
from warmstart.api import make_policy
from warmstart.families.generic import TypeBelief, TypePopulation
from warmstart.families.linear.belief import Belief, BeliefBatch, _observe
from warmstart.families.linear.changepoint import ChangePointBelief
from warmstart.families.linear.model import stable_cholesky
from warmstart.policies.mixture import _safe_cholesky

HUGE_EVENTS = [("reward 1e160", 0.1, 1e160), ("features 1e308", 1e308, 1.0), ("features 1e160", 1e160, 1.0),
               ("reward -1e300", 0.1, -1e300)]


def _arrays(belief):
    if isinstance(belief, ChangePointBelief):
        return [belief.log_w.copy(), *[a for b in belief.runs for a in _arrays(b)]]
    return [a.copy() for a in (belief.mean, belief.cov, belief.log_evidence, belief.A, belief.b)] + [
        np.array([belief.c, belief.n])]


def _same(before, after):
    return len(before) == len(after) and all(np.array_equal(a, b) for a, b in zip(before, after))


def _warm(belief, rng, n=5):
    for _ in range(n):
        x = rng.normal(size=belief.dim) / np.sqrt(belief.dim)
        belief.observe(x, float(rng.normal()))
    return belief


@pytest.mark.parametrize("jit", [True, False], ids=["compiled", "numpy"])
@pytest.mark.parametrize("kind", ["plain", "discounted", "changepoint"])
@pytest.mark.parametrize(("label", "x", "r"), HUGE_EVENTS, ids=[e[0] for e in HUGE_EVENTS])
def test_an_event_that_would_overflow_is_refused_and_changes_nothing(population, rng, kind, jit, label, x, r):
    if jit and not _kernels.JIT:
        pytest.skip("numba is not installed")
    make = {"plain": lambda: Belief.fresh(population), "discounted": lambda: Belief.fresh(population, 0.9),
            "changepoint": lambda: ChangePointBelief(population)}[kind]
    with _kernels.disabled() if not jit else _nullcontext():
        belief = _warm(make(), rng)
        before, blob = _arrays(belief), belief.to_bytes()
        with pytest.raises(NonFiniteUpdateError, match="non-finite"):
            belief.observe(np.full(population.dim, x), r)
        assert _same(before, _arrays(belief)) and belief.to_bytes() == blob
        belief.observe(np.full(population.dim, 0.1), 0.5)  # still usable
        assert np.isfinite(belief.type_probs()).all()


class _nullcontext:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


@pytest.mark.parametrize("discount", [1.0, 0.9])
def test_a_batch_refuses_an_event_that_would_overflow_for_every_user(population, rng, discount):
    batch = BeliefBatch.fresh(population, 3, discount)
    d = population.dim
    batch.observe(np.arange(3), rng.normal(size=(3, d)) / 3, rng.normal(size=3))
    before = [a.copy() for a in (batch.mean, batch.cov, batch.log_evidence, batch.summary.A, batch.summary.c)]
    with pytest.raises(NonFiniteUpdateError):
        batch.observe(np.arange(3), np.full((3, d), 0.1), np.array([0.5, 1e200, 0.5]))
    after = [batch.mean, batch.cov, batch.log_evidence, batch.summary.A, batch.summary.c]
    assert all(np.array_equal(a, b) for a, b in zip(before, after))


@pytest.mark.parametrize("jit", [True, False], ids=["compiled", "numpy"])
def test_the_guarded_update_is_bitwise_the_plain_one_on_normal_input(population, rng, jit):
    if jit and not _kernels.JIT:
        pytest.skip("numba is not installed")
    with _kernels.disabled() if not jit else _nullcontext():
        belief = Belief.fresh(population)
        ref = Belief.fresh(population)
        noise = population.components.noise_var
        for _ in range(30):
            x, r = rng.normal(size=population.dim) / 3, float(rng.normal())
            belief.observe(x, r)
            if jit:  # the reference: the kernel in place, as the update was before the guard
                _kernels.observe_one(ref.mean, ref.cov, ref.log_evidence, noise, ref.A, ref.b, x, r)
            else:
                _observe(ref.mean, ref.cov, ref.log_evidence, noise, x, np.float64(r))
                ref.A += np.outer(x, x)
                ref.b += x * r
            ref.c += r * r
            ref.n += 1.0
        assert _same(_arrays(ref), _arrays(belief))


bounded = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)
extreme = st.sampled_from([1e6, -1e6, 5e-324, -5e-324, 0.0, 1e-300, 999_999.999])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(events=st.lists(st.tuples(st.one_of(bounded, extreme), st.one_of(bounded, extreme),
                                 st.one_of(bounded, extreme)), min_size=1, max_size=25),
       changepoint=st.booleans())
def test_events_within_the_default_bounds_keep_a_belief_finite_and_decodable(population, events, changepoint):
    """A hostile user sending features and rewards at the bounds, repeated: the belief stays finite, its bytes
    decode to a finite belief, and the type probabilities are a distribution."""
    bounds = Bounds()
    belief = ChangePointBelief(population) if changepoint else Belief.fresh(population)
    for scale, spread, r in events:
        x = np.full(population.dim, scale)
        x[0] = spread
        bounds.check_features(x)
        bounds.check_rewards(r)
        belief.observe(x, r)  # within the bounds: never refused
    probs = belief.type_probs()
    assert np.isfinite(probs).all() and abs(probs.sum() - 1) < 1e-9
    back = type(belief).from_bytes(belief.to_bytes(), population)
    assert np.isfinite(back.type_probs()).all()
    policy = make_policy("mixture_ids_cp" if changepoint else "mixture_ids", population, seed=0)
    decision = policy.act(belief, np.full((3, population.dim), 1e6) * np.array([[1.0], [-1.0], [0.5]]))
    assert np.isfinite(decision.probabilities).all()


def test_type_belief_refuses_an_event_its_family_cannot_absorb():
    from support.families import bernoulli  # noqa: F401 - registers the family

    pop = TypePopulation(family="test_bernoulli", weights=np.array([0.5, 0.5]),
                         params={"p": np.array([[0.0, 0.5], [0.0, 0.2]])})  # action 0 never pays under any type
    belief = TypeBelief.fresh(pop)
    belief.observe(np.array([0.0, 1.0]), 1.0)
    before, n = ({k: v.copy() for k, v in belief.state.items()}, belief.log_evidence.copy()), belief.n
    with pytest.raises(NonFiniteUpdateError):
        belief.observe(np.array([1.0, 0.0]), 1.0)  # log 0 under every type
    assert np.array_equal(belief.log_evidence, before[1]) and belief.n == n
    assert all(np.array_equal(belief.state[k], v) for k, v in before[0].items())


def test_update_many_refuses_before_any_state_changes(population, rng):
    policy = make_policy("mixture_ids", population, seed=0)
    users = [policy.new_user() for _ in range(3)]
    X = rng.normal(size=(3, 4, population.dim)) / 3
    blobs = [policy.state_to_bytes(u) for u in users]
    with pytest.raises(NonFiniteUpdateError, match=r"rewards\[1\]"):
        policy.update_many(users, X, [0, 0, 0], [0.5, 1e200, 0.5])
    assert [policy.state_to_bytes(u) for u in users] == blobs
    policy.update_many(users, X, [0, 1, 2], [0.5, 0.1, -0.2])
    assert all(u.n == 1 for u in users)


def test_stable_cholesky_is_numpys_when_numpy_succeeds_and_factors_what_it_cannot():
    rng = np.random.default_rng(0)
    M = rng.normal(size=(4, 5, 5))
    P = M @ np.swapaxes(M, -1, -2) + np.eye(5)
    assert np.array_equal(stable_cholesky(P), np.linalg.cholesky(P))
    u = np.ones(5)
    bad = np.eye(5) + 1e17 * np.outer(u, u)  # positive definite, beyond float64's resolution
    bad[1, 2] = bad[2, 1] = bad[1, 2] * (1 + 1e-15)
    L = stable_cholesky(np.stack([P[0], bad]))
    assert np.isfinite(L).all() and np.array_equal(L[0], np.linalg.cholesky(P[0]))
    assert np.allclose(L[1] @ L[1].T, bad, rtol=1e-6)


def test_a_covariance_that_lost_positive_definiteness_still_gives_a_factor():
    cov = np.diag([1.0, 1e-3, -1e-9])  # a rank-one downdate that overshot by rounding
    L = _safe_cholesky(cov)
    assert np.isfinite(L).all() and np.allclose(L @ L.T, np.diag([1.0, 1e-3, 0.0]), atol=1e-8)
