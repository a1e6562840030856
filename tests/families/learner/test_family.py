"""The learner family behind the family protocol: the generic engine (EM driver, population file, belief,
``type_ts``) runs it with nothing learner-specific, and it agrees with the learner's own fit and belief."""

from __future__ import annotations

import numpy as np
import pytest

from warmstart.data.bandit_log import TrainingLog
from warmstart.families.generic import TypeBelief, TypePopulation, fit_types
from warmstart.families.learner.belief import LearnerBeliefBatch
from warmstart.families.learner.family import LearnerBKT, as_learner_population, as_type_population
from warmstart.families.learner.population import LearnerPopulation
from warmstart.families.registry import family, fit, load_population
from warmstart.policies import PolicyContext, check_policy, make_policy
from warmstart.sim.learners import simulate_learners

N_SKILLS = 4
TRUTH = LearnerPopulation(np.array([0.6, 0.4]), L0=np.full((2, N_SKILLS), 0.2),
                          T=np.array([[0.35] * N_SKILLS, [0.04] * N_SKILLS]), F=np.zeros((2, N_SKILLS)),
                          G=np.full((2, N_SKILLS), 0.2), S=np.full((2, N_SKILLS), 0.1))


@pytest.fixture(scope="module")
def log():
    return simulate_learners(TRUTH, 400, 40, rng=0)


@pytest.fixture(scope="module")
def stats(log):
    return family("learner_bkt").summarise(log)


@pytest.fixture(scope="module")
def fitted(stats):
    return fit("learner_bkt", stats, k_range=(1, 3))


def _by_learn_rate(params):
    order = np.argsort(params["T"].mean(1))
    return {k: v[order] for k, v in params.items()}


def test_the_learner_fit_through_the_registry_finds_both_types(log, fitted):
    assert isinstance(fitted, TypePopulation) and fitted.family == "learner_bkt"
    assert fitted.n_types == 2 and [k for k, _, _ in fitted.fit.tried] == [1, 2, 3]
    p = _by_learn_rate(fitted.params)
    np.testing.assert_allclose(p["T"].mean(1), [0.04, 0.35], atol=0.05)
    drawn = np.bincount(log.types, minlength=2) / log.n_students  # the shares the simulator drew
    np.testing.assert_allclose(fitted.weights[np.argsort(fitted.params["T"].mean(1))], drawn[::-1], atol=0.05)


def test_the_bic_of_each_k_tried_counts_the_students_it_was_fitted_on(stats, fitted):
    """K is chosen on held-out students, so each K tried was fitted (and its log likelihood taken) on the
    others: the penalty of its BIC counts those, not every student; with K fixed nothing is held out."""
    n_fit = stats.n_students - round(0.2 * stats.n_students)  # the default heldout_fraction
    for k, loglik, bic in fitted.fit.tried:
        n_free = k * N_SKILLS * 4 + k - 1
        assert bic == pytest.approx(-2.0 * loglik + n_free * np.log(n_fit), rel=1e-12), k
    fixed = fit("learner_bkt", stats, n_types=2, n_init=1)
    assert fixed.fit.tried == ((2, fixed.fit.loglik, fixed.fit.bic),)


def test_generic_em_on_the_protocol_agrees_with_the_learner_fit(stats, fitted):
    generic = fit_types(LearnerBKT(), stats, n_types=2, n_init=1, max_iter=300, tol=1e-9)
    own, gen = _by_learn_rate(fitted.params), _by_learn_rate(generic.params)
    for name in ("L0", "T", "G", "S"):
        np.testing.assert_allclose(gen[name], own[name], atol=0.02, err_msg=name)
    assert generic.fit.loglik == pytest.approx(fitted.fit.loglik, rel=1e-3)


def test_e_step_sums_are_additive_over_users(stats, fitted):
    fam = LearnerBKT()
    ll, whole = fam.e_step(stats, fitted.params, fitted.weights)
    ll_a, a = fam.e_step(fam.take(stats, slice(0, 150)), fitted.params, fitted.weights)
    ll_b, b = fam.e_step(fam.take(stats, np.arange(150, stats.n_students)), fitted.params, fitted.weights)
    assert ll == pytest.approx(ll_a + ll_b, rel=1e-12)
    assert whole.keys() == a.keys()
    for key in whole:
        np.testing.assert_allclose(a[key] + b[key], whole[key], rtol=1e-10, atol=1e-12, err_msg=key)


def test_belief_is_exact_and_matches_the_learner_belief(log, stats, fitted):
    fam = LearnerBKT()
    learner = as_learner_population(fitted)
    for u in (0, 7, 123, 399):
        rows = log.student == u
        belief = TypeBelief.fresh(fitted)
        for s, c in zip(log.skill[rows], log.correct[rows]):
            belief.observe(np.eye(N_SKILLS)[s], float(c))
        np.testing.assert_allclose(belief.type_probs(), fitted.posterior(fam.take(stats, [u]))[0], rtol=1e-9)
        _, batch = LearnerBeliefBatch.from_log(learner, log.student[rows], log.skill[rows], log.correct[rows],
                                               grid=None)
        np.testing.assert_allclose(belief.type_probs(), batch.type_probs()[0], rtol=1e-9)
        np.testing.assert_allclose(belief.state["known"].T, batch.known[0], rtol=1e-9)


def test_a_tutoring_log_read_as_a_bandit_log_gives_the_same_statistics(log, stats):
    n = log.n_students
    t = np.bincount(log.student, minlength=n).max()
    action = np.full((n, t), -1)
    reward = np.zeros((n, t))
    for u in range(n):
        rows = np.flatnonzero(log.student == u)
        action[u, : rows.size] = log.skill[rows]
        reward[u, : rows.size] = log.correct[rows]
    candidates = np.broadcast_to(np.eye(N_SKILLS), (n, t, N_SKILLS, N_SKILLS))
    bandit = TrainingLog(candidates, action, np.full((n, t), 1 / N_SKILLS), reward)
    again = family("learner_bkt").summarise(bandit)
    for name in ("student", "skill", "correct"):
        np.testing.assert_array_equal(getattr(again, name), getattr(stats, name))
    bad = TrainingLog(candidates, action, np.full((n, t), 1 / N_SKILLS), np.where(action >= 0, 0.5, 0.0))
    with pytest.raises(ValueError, match="reward: expected 0 or 1"):
        family("learner_bkt").summarise(bad)


def test_population_file_and_learner_population_round_trip(fitted, tmp_path):
    back = load_population(fitted.save(tmp_path / "learner.npz"))
    assert isinstance(back, TypePopulation) and back.fingerprint() == fitted.fingerprint()
    assert back.fit == fitted.fit
    assert as_type_population(as_learner_population(back), back.fit).fingerprint() == fitted.fingerprint()
    with pytest.raises(ValueError, match="population: expected a population of the 'learner_bkt' family"):
        as_learner_population(TypePopulation(family="linear_gaussian", weights=np.ones(1),
                                             params={"mu": np.zeros((1, 2))}))


def test_type_ts_serves_the_learner_family(fitted):
    policy = make_policy("type_ts", PolicyContext(population=fitted), seed=0)
    check_policy(policy)
    state = policy.new_user()
    with pytest.raises(ValueError, match="reward: expected 0 or 1"):
        policy.update(state, np.eye(N_SKILLS), 0, 0.5)
    # a student who knows nothing yet: the candidate with the largest expected learning gain is practised
    d = policy.act(state, np.eye(N_SKILLS))
    gain = (1 - fitted.params["L0"]) * fitted.params["T"]
    assert gain[:, d.action].max() == pytest.approx(gain.max(1).max()) or d.propensity < 1
