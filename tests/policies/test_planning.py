from itertools import product

import numpy as np
import pytest

from warmstart.families.linear.model import GaussianTypes
from warmstart.families.linear.population import Population
from warmstart.policies.base import PolicyContext, UserTruth
from warmstart.policies.baselines import single_gaussian
from warmstart.policies.check import check_policy
from warmstart.policies.planning import HabitPlanner
from warmstart.policies.registry import make_policy
from warmstart.sim.satiation import SatiationDynamics, SatiationPopulation

# two categories, 1 is clickbait; habit decay 0.9, so one click costs harm / (1 - 0.9) = 10 harm in all
TINY = SatiationDynamics(n_categories=2, exposure_decay=0.5, habit_decay=0.9, clickbait=(1,))
TINY_THETA = np.array([1.0, 1.5, 0.0, 0.0, -0.1])  # clickbait pulls 0.5 more now, costs 1.0 later


def _tight_context(theta: np.ndarray) -> PolicyContext:
    return PolicyContext(dim=theta.size, population=single_gaussian(theta, 1e-6 * np.eye(theta.size), 0.01))


def test_planner_refuses_clickbait_that_the_myopic_policy_takes():
    ctx = _tight_context(TINY_THETA)
    X = TINY.features(np.zeros(2), np.zeros(()))
    myopic = make_policy("mixture_ts", ctx, seed=0).act(make_policy("mixture_ts", ctx).new_user(), X)
    plan_policy = make_policy("mixture_plan", ctx, seed=0, dynamics=TINY, depth=2)
    plan = plan_policy.act(plan_policy.new_user(), X)
    assert myopic.action == 1 and plan.action == 0
    assert plan.propensity == pytest.approx(1.0) and plan.probabilities is not None
    oracle = make_policy("oracle_plan", ctx, dynamics=TINY)
    truth = UserTruth(TINY_THETA, 0, TINY_THETA, 1e-6 * np.eye(5), 0.01)
    assert oracle.act(oracle.new_user(truth), X).action == 0
    # with a weaker habit the clickbait is worth it again: the planner is not simply avoiding category 1
    mild = TINY_THETA.copy()
    mild[-1] = -0.02
    assert make_policy("oracle_plan", ctx, dynamics=TINY).act(mild, X).action == 1


def _brute_force(theta, dyn, X0_state, depth, gamma, tail=3000):
    """Every sequence simulated step by step, plus the habit's effect on the next ``tail`` steps, minus the
    (choice-independent) effect of the habit already there; the best value per first action."""
    e0, h0 = X0_state
    C = dyn.n_categories
    best = np.full(C, -np.inf)
    decay = gamma ** np.arange(tail) * dyn.habit_decay ** np.arange(tail)
    for seq in product(range(C), repeat=depth):
        e, h, v = e0.copy(), np.asarray(h0, dtype=float), 0.0
        for t, a in enumerate(seq):
            v += gamma**t * dyn.features(e, h)[a] @ theta
            e, h = dyn.advance(e, h, np.asarray(a))
        v += gamma**depth * theta[-1] * float(h) * decay.sum()  # the habit left after the lookahead, decaying
        v -= theta[-1] * float(h0) * decay.sum()  # the same for every sequence
        best[seq[0]] = max(best[seq[0]], v)
    return best


@pytest.mark.parametrize(("depth", "gamma"), [(1, 1.0), (2, 0.9), (3, 1.0)])
def test_planner_values_equal_a_brute_force_simulation(depth, gamma):
    dyn = SatiationDynamics(n_categories=3, exposure_decay=0.6, habit_decay=0.9, clickbait=(2,))
    rng = np.random.default_rng(depth)
    thetas = np.hstack([rng.uniform(1, 3, (4, 3)), -rng.uniform(0, 1, (4, 3)), -rng.uniform(0, 0.3, (4, 1))])
    e0, h0 = rng.uniform(0, 2, 3), rng.uniform(0, 5)
    X = dyn.features(e0, np.asarray(h0))
    got = HabitPlanner(dyn, depth=depth, discount=gamma).values(thetas, X)
    for m in range(4):
        want = _brute_force(thetas[m], dyn, (e0, h0), depth, gamma)
        np.testing.assert_allclose(got[m], want, rtol=1e-9, atol=1e-9)
    # a permuted candidate set gives the same values, permuted
    perm = np.array([2, 0, 1])
    np.testing.assert_allclose(HabitPlanner(dyn, depth=depth, discount=gamma).values(thetas, X[perm]),
                               got[:, perm], atol=1e-12)


@pytest.fixture(scope="module")
def true_types():
    """The simulator's true types as a population (plus a broad novel component): no fit needed."""
    truth = SatiationPopulation()
    K, d = truth.type_means.shape
    mu = np.vstack([truth.type_means, truth.type_means.mean(0)])
    cov = np.stack([truth.type_prior(k)[1] for k in range(K)] + [truth.type_prior(-1)[1]])
    shares = truth.config.type_shares()
    pop = Population(GaussianTypes(mu, cov, np.full(K + 1, 0.25)), shares / shares.sum())
    return truth, PolicyContext(dim=d, population=pop)


def _serve(name, ctx, truth, theta, steps, seed, **params):
    dyn = truth.dynamics
    policy = make_policy(name, ctx, seed=seed, **params)
    state = policy.new_user()
    rng = np.random.default_rng(0)
    e, h = np.zeros(dyn.n_categories), np.zeros(())
    out = []
    for _ in range(steps):
        X = dyn.features(e, h)
        d = policy.act(state, X)
        assert 0.0 < d.propensity <= 1.0 and d.probabilities is not None
        assert d.probabilities[d.action] == pytest.approx(d.propensity)
        assert d.probabilities.sum() == pytest.approx(1.0)
        policy.update(state, X, d.action, float(X[d.action] @ theta + 0.5 * rng.normal()))
        out.append((d.action, d.propensity))
        e, h = dyn.advance(e, h, np.asarray(d.action))
    return out


@pytest.mark.parametrize("sample", ["type", "theta"])
def test_same_seed_same_decisions_and_valid_propensities(true_types, sample):
    truth, ctx = true_types
    theta = truth.type_means[1]
    params = {"dynamics": truth.dynamics, "n_samples": 50, "sample": sample}
    a = _serve("mixture_plan", ctx, truth, theta, 25, seed=3, **params)
    assert a == _serve("mixture_plan", ctx, truth, theta, 25, seed=3, **params)
    assert a != _serve("mixture_plan", ctx, truth, theta, 25, seed=4, **params)
    assert any(p < 1.0 for _, p in a)  # early on the draws disagree: the propensity is a real estimate


def test_planning_keeps_a_susceptible_user_off_clickbait_and_myopic_ts_does_not(true_types):
    truth, ctx = true_types
    theta = truth.type_means[1]  # susceptible: clickbait is their most appealing category in the moment
    late = slice(20, 60)
    plan = _serve("mixture_plan", ctx, truth, theta, 60, seed=0, dynamics=truth.dynamics, n_samples=50)
    ts = _serve("mixture_ts", ctx, truth, theta, 60, seed=0, n_samples=50)
    clickbait = truth.config.clickbait[0]
    # the planner still serves clickbait now and then (when every regular category is satiated it is worth
    # its habit cost), but far less than the myopic policy, for which it is nearly always the best of the moment
    assert np.mean([a == clickbait for a, _ in plan[late]]) <= 0.25
    assert np.mean([a == clickbait for a, _ in ts[late]]) >= 0.75


def test_contract_without_dynamics_and_bad_features_with_them(population):
    check_policy("mixture_plan", PolicyContext(dim=10, population=population), n_samples=20)
    ctx = PolicyContext(dim=5, population=single_gaussian(TINY_THETA, np.eye(5), 0.25))
    policy = make_policy("mixture_plan", ctx, dynamics=TINY)
    with pytest.raises(ValueError, match="actions"):
        policy.act(policy.new_user(), np.random.default_rng(0).normal(size=(2, 5)))
    assert policy.act(policy.new_user(), TINY.features(np.zeros(2), np.zeros(()))[:1]).propensity == 1.0
    with pytest.raises(ValueError, match="dynamics"):
        make_policy("mixture_plan", PolicyContext(dim=10, population=population), dynamics=TINY)
    with pytest.raises(ValueError, match="depth"):
        make_policy("mixture_plan", ctx, dynamics=TINY, depth=0)


def test_type_sampling_propensity_is_the_posterior_mass_of_the_types_that_play_the_action(true_types):
    truth, ctx = true_types
    policy = make_policy("mixture_plan", ctx, seed=0, dynamics=truth.dynamics)
    state = policy.new_user()
    X = truth.dynamics.features(np.zeros(6), np.zeros(()))
    policy.update(state, X, 5, 3.5)  # one strong click on clickbait: the susceptible types gain mass
    d = policy.act(state, X)
    plans = np.argmax(policy.planner.values(state.mean, X), axis=1)
    want = np.bincount(plans, weights=state.type_probs(), minlength=6)
    np.testing.assert_allclose(d.probabilities, want / want.sum())
    assert d.propensity == pytest.approx(want[d.action]) and 0.0 < d.propensity < 1.0
