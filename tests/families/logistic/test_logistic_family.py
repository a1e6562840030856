"""The Bernoulli-logistic family: its filter against brute-force quadrature, its fit on a simulated 0/1 log with
two planted types, the belief, bad rewards, numerical safety, and the generic path (file, bytes, ``type_ts``)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.special import ndtr

from warmstart.data.bandit_log import TrainingLog
from warmstart.families.generic import TypeBelief, TypePopulation, fit_types
from warmstart.families.logistic.family import LogisticBernoulli, simulate
from warmstart.families.logistic.model import KAPPA2, Events, adf_pass, adf_step
from warmstart.families.registry import (
    available_families,
    family,
    fit,
    load_population,
    population_from_bytes,
)
from warmstart.policies import PolicyContext, check_policy, make_policy

MU = np.array([[2.5, -2.5, 0.0],
               [-2.5, 2.5, 0.5]])
SHARES = np.array([0.65, 0.35])


@pytest.fixture(scope="module")
def planted():
    log, types = simulate(MU, SHARES, n_users=400, n_events=25, seed=0)
    fam = family("logistic_bernoulli")
    population = fit("logistic_bernoulli", fam.summarise(log), k_range=(1, 4), n_init=2, max_iter=100, seed=0)
    return log, types, population


def _matched(population: TypePopulation) -> np.ndarray:
    """The fitted types in the order of the planted ones (by the sign of the first weight)."""
    return np.argsort(-population.params["mu"][:, 0])


def test_registered():
    assert "logistic_bernoulli" in available_families()
    assert isinstance(family("logistic_bernoulli"), LogisticBernoulli)


@pytest.mark.parametrize(("m", "s2", "x", "r"), [(0.0, 1.0, 1.0, 1.0), (1.5, 4.0, -0.7, 1.0), (-2.0, 0.5, 2.0, 0.0)])
def test_one_step_is_moment_matching_of_the_probit_likelihood(m, s2, x, r):
    """Brute force on a grid: the predictive probability and the posterior mean and variance of ``w`` under
    the prior ``N(m, s2)`` and the likelihood ``Phi(y kappa x w)`` equal the closed-form step's."""
    w = np.linspace(m - 12 * math.sqrt(s2), m + 12 * math.sqrt(s2), 200_001)
    prior = np.exp(-0.5 * (w - m) ** 2 / s2) / math.sqrt(2 * math.pi * s2)
    lik = ndtr((2 * r - 1) * math.sqrt(KAPPA2) * x * w)
    dw = w[1] - w[0]
    z = (prior * lik).sum() * dw
    mean_bf = (w * prior * lik).sum() * dw / z
    var_bf = ((w - mean_bf) ** 2 * prior * lik).sum() * dw / z
    mean, cov = np.array([m]), np.array([[s2]])
    logp = adf_step(mean, cov, np.array([x]), np.float64(r))
    assert math.exp(float(logp)) == pytest.approx(z, rel=1e-6)
    assert mean[0] == pytest.approx(mean_bf, rel=1e-6, abs=1e-9)
    assert cov[0, 0] == pytest.approx(var_bf, rel=1e-6)


def test_the_predictive_is_close_to_the_logistic_one():
    """The probit approximation's predictive vs ``E[sigmoid(x . w)]`` by quadrature: within 0.02."""
    for m, s2 in [(0.0, 1.0), (2.0, 0.1), (-1.0, 9.0), (4.0, 2.0)]:
        w = np.linspace(m - 12 * math.sqrt(s2), m + 12 * math.sqrt(s2), 100_001)
        prior = np.exp(-0.5 * (w - m) ** 2 / s2)
        exact = (prior / (1 + np.exp(-w))).sum() / prior.sum()
        approx = math.exp(float(adf_step(np.array([m]), np.array([[s2]]), np.ones(1), np.float64(1.0))))
        assert abs(approx - exact) < 0.02


def test_huge_logits_stay_finite_and_positive_definite():
    mean, cov = np.zeros((1, 2)), np.eye(2)[None] * 1e4
    for r in (1.0, 0.0, 0.0, 1.0):
        logp = adf_step(mean, cov, np.array([1e3, -1e3]), np.float64(r))
        assert np.isfinite(logp).all() and np.isfinite(mean).all() and np.isfinite(cov).all()
        assert np.linalg.eigvalsh(cov[0]).min() > 0
    # a surprise at a huge logit: a tiny but finite probability
    mean, cov = np.array([[50.0]]), np.array([[[1e-4]]])
    logp = adf_step(mean, cov, np.array([10.0]), np.float64(0.0))
    assert np.isfinite(logp).all() and logp[0] < -1000


def test_fit_recovers_the_planted_types(planted):
    _, types, population = planted
    assert isinstance(population, TypePopulation) and population.family == "logistic_bernoulli"
    assert population.n_types == 2, population.fit.tried
    order = _matched(population)
    assert np.abs(population.params["mu"][order] - MU).max() < 0.6
    assert np.abs(population.weights[order] - np.bincount(types) / types.size).max() < 0.05
    # each type's spread is small (users were drawn with sd 0.3 around their type)
    assert np.sqrt(np.diagonal(population.params["cov"], axis1=1, axis2=2)).max() < 0.8


def test_belief_identifies_the_type_and_equals_the_posterior(planted):
    _, _, population = planted
    log, types = simulate(MU, np.array([0.5, 0.5]), n_users=80, n_events=12, seed=1)
    stats = family("logistic_bernoulli").summarise(log)
    posterior = population.posterior(stats)
    order = _matched(population)
    hits = 0
    for u in range(80):
        belief = TypeBelief.fresh(population)
        for t in range(12):
            belief.observe(log.chosen[u, t], float(log.reward[u, t]))
        np.testing.assert_allclose(belief.type_probs(), posterior[u], rtol=1e-9, atol=1e-12)
        hits += int(np.argmax(belief.type_probs()[order])) == types[u]
    assert hits >= 74


def test_bad_rewards_are_refused_with_the_field_and_what_was_given(planted):
    _, _, population = planted
    log, _ = simulate(MU, SHARES, n_users=3, n_events=4, seed=2)
    bad = TrainingLog(log.candidates, log.action, log.propensity, np.where(log.reward > 0, 4.0, 0.0))
    with pytest.raises(ValueError, match=r"reward: expected 0/1 rewards .* got 4.0"):
        family("logistic_bernoulli").summarise(bad)
    belief = TypeBelief.fresh(population)
    with pytest.raises(ValueError, match="reward: expected 0 or 1 for the family 'logistic_bernoulli', got 0.5"):
        belief.observe(np.ones(3), 0.5)
    assert belief.n == 0.0
    with pytest.raises(ValueError, match="x: expected shape"):
        belief.observe(np.ones(4), 1.0)
    with pytest.raises(ValueError, match="got 0.5"):
        Events.from_rows(np.array([0, 0]), np.ones((2, 3)), np.array([1.0, 0.5]), 1)


def test_padding_is_ignored():
    """A user's padded events (action -1) change nothing: the same as the user's real events alone."""
    log, _ = simulate(MU, SHARES, n_users=2, n_events=6, seed=3)
    action = log.action.copy()
    action[1, 3:] = -1
    fam = family("logistic_bernoulli")
    padded = fam.summarise(TrainingLog(log.candidates, action, log.propensity, log.reward))
    short = fam.summarise(TrainingLog(log.candidates[1:, :3], log.action[1:, :3], log.propensity[1:, :3],
                                      log.reward[1:, :3]))
    params = {"mu": MU, "cov": np.stack([np.eye(3)] * 2)}
    np.testing.assert_allclose(adf_pass(padded, **params).log_evidence[1], adf_pass(short, **params).log_evidence[0])


def test_population_and_belief_bytes_round_trip(planted, tmp_path):
    _, _, population = planted
    back = load_population(population.save(tmp_path / "logistic.npz"))
    assert isinstance(back, TypePopulation) and back.fingerprint() == population.fingerprint()
    assert back.fit == population.fit
    assert population_from_bytes(population.to_bytes()).fingerprint() == population.fingerprint()
    belief = TypeBelief.fresh(population)
    for x, r in [(np.array([1.0, 0.0, 0.0]), 1.0), (np.array([0.0, 1.0, 0.0]), 0.0)]:
        belief.observe(x, r)
    again = TypeBelief.from_bytes(belief.to_bytes(), back)
    np.testing.assert_array_equal(again.type_probs(), belief.type_probs())
    np.testing.assert_array_equal(again.state["cov"], belief.state["cov"])
    assert again.n == 2.0


def test_type_ts_serves_it_through_the_policy_contract(planted):
    _, _, population = planted
    check_policy(make_policy("type_ts", PolicyContext(dim=3, population=population), seed=0))
    policy = make_policy("type_ts", PolicyContext(dim=3, population=population), seed=0)
    state = policy.new_user()
    X = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    rng = np.random.default_rng(4)
    w = MU[1]  # a user of the minority type: item 1 pays
    for _ in range(20):
        d = policy.act(state, X)
        policy.update(state, X, d.action, float(rng.random() < 1 / (1 + math.exp(-X[d.action] @ w))))
    assert state.type_probs()[_matched(population)[1]] > 0.95
    assert policy.act(state, X).action == 1


def test_fit_is_deterministic_under_a_seed():
    log, _ = simulate(MU, SHARES, n_users=60, n_events=10, seed=5)
    stats = LogisticBernoulli().summarise(log)
    a = fit_types(LogisticBernoulli(), stats, n_types=2, n_init=2, seed=3)
    b = fit_types(LogisticBernoulli(), stats, n_types=2, n_init=2, seed=3)
    assert a.fingerprint() == b.fingerprint()


def test_the_soft_step_moves_towards_its_target():
    """A fractional target pulls the logit towards it: 0.9 up, 0.1 down, the prior's own prediction nowhere;
    the covariance shrinks along x; and the pseudo log likelihood is the cross-entropy of the predictive."""
    from warmstart.families.logistic.model import predict_proba, soft_step

    for y, sign in ((0.9, 1), (0.1, -1), (0.5, 0)):
        mean, cov = np.zeros((1, 2)), np.eye(2)[None].copy()
        p = float(predict_proba(mean, cov, np.array([1.0, 0.0]))[0])
        logp = soft_step(mean, cov, np.array([1.0, 0.0]), y)
        assert np.sign(mean[0, 0]) == sign and mean[0, 1] == 0.0
        assert cov[0, 0, 0] < 1.0 and cov[0, 1, 1] == 1.0
        assert float(logp[0]) == pytest.approx(y * math.log(p) + (1 - y) * math.log(1 - p))
