"""``warmstart explain``: the right type is named, the evidence adds up, and bad input is refused clearly."""

import json

import numpy as np
import pytest

from warmstart.data.events import EventData, events_from_log
from warmstart.families.linear.belief import BeliefBatch
from warmstart.families.linear.events import event_summary
from warmstart.families.linear.model import GaussianTypes
from warmstart.families.linear.population import Population
from warmstart.governance.explain import explain_user, format_explanation
from warmstart.sim.linear_types import EventLog
from warmstart.sim.users import UserBatch


@pytest.fixture(scope="module")
def true_population(truth):
    """The simulator's own types as a population (type k is true type k), with a broad novel component."""
    cfg = truth.config
    K, d = cfg.n_types, cfg.dim
    mu = np.vstack([truth.type_means, truth.type_means.mean(0)])
    cov = np.concatenate([np.broadcast_to(cfg.within_sd**2 * np.eye(d), (K, d, d)),
                          (cfg.outlier_var * np.eye(d))[None]])
    shares = cfg.type_shares()
    return Population(GaussianTypes(mu, cov, np.full(K + 1, cfg.noise_sd**2)), shares / shares.sum())


def users_of(truth, theta: np.ndarray, n_events: int, seed: int) -> EventData:
    """Users with the given parameters, logged by a uniform-random policy."""
    rng = np.random.default_rng(seed)
    n = theta.shape[0]
    cands = truth.candidates(rng, (n, n_events))
    action = rng.integers(truth.config.n_actions, size=(n, n_events))
    chosen = np.take_along_axis(cands, action[:, :, None, None], axis=2)[:, :, 0]
    reward = np.einsum("ntd,nd->nt", chosen, theta) + truth.config.noise_sd * rng.standard_normal((n, n_events))
    log = EventLog(cands, action, np.full(action.shape, 1 / truth.config.n_actions), reward,
                   UserBatch(theta, np.zeros(n, dtype=int)))
    return events_from_log(log)


def test_explanation_names_the_true_type_of_a_user_with_many_events(truth, true_population):
    rng = np.random.default_rng(0)
    theta = truth.type_means[[3, 5]] + truth.config.within_sd * rng.standard_normal((2, truth.config.dim))
    events = users_of(truth, theta, 120, seed=1)
    for user, k in (("0", 3), (1, 5)):
        e = explain_user(true_population, events, user)
        assert e.top == k and e.probs[k] > 0.99 and e.n_events == 120
        text = format_explanation(e)
        assert f"Most likely: type {k}" in text and "120 events" in text
        assert "recomputed" in text and "forgotten" in text and "novel (fits no type)" in text
        # the type's meaning is its mean: the features it favours most are named, in order of |coefficient|
        mu = truth.type_means[k]
        j = int(np.argmax(mu))
        assert e.effects[0].name == f"f_{int(np.argmax(np.abs(mu)))}" and f"f_{j} ({mu[j]:+.2f})" in text
        assert e.trajectory[-1] == (120, pytest.approx(e.probs[k]))


def test_evidence_adds_up_to_the_closed_form_posterior(truth, true_population):
    theta = truth.type_means[[1]] * 0.5 + truth.type_means[[6]] * 0.5  # between two types: a close call
    events = users_of(truth, theta, 15, seed=2)
    e = explain_user(true_population, events, 0)
    batch = BeliefBatch.from_summary(true_population, event_summary(events, events.features))
    np.testing.assert_allclose(e.probs, batch.type_probs()[0], atol=1e-9)
    logev = batch.log_evidence[0]
    assert e.log_evidence_ratio == pytest.approx(logev[e.top] - logev[e.runner_up], abs=1e-8)
    w = true_population.log_weights
    assert e.log_prior_ratio == pytest.approx(w[e.top] - w[e.runner_up])
    assert all(v.log_ratio > 0 for v in e.favouring) and all(v.log_ratio < 0 for v in e.opposing)
    json.dumps(e.to_dict(), allow_nan=False)


def test_a_user_unlike_every_type_is_explained_as_novel(truth, true_population):
    theta = -3.0 * truth.type_means[[2]]
    e = explain_user(true_population, users_of(truth, theta, 60, seed=3), "0")
    assert e.top == true_population.novel_index
    text = format_explanation(e)
    assert "fits none of the known types" in text and "closest known type" in text


def test_unknown_user_and_dimension_mismatch_are_clear_errors(truth, true_population):
    events = users_of(truth, truth.type_means[:3], 5, seed=4)
    with pytest.raises(ValueError, match=r"3 users, e\.g\. 0, 1, 2\), got 'alice'"):
        explain_user(true_population, events, "alice")
    wrong = EventData.from_rows(["a"], [0], ["x"], [1.0], features=np.ones((1, 4)))
    with pytest.raises(ValueError, match="expected 10 features per item.*got 4"):
        explain_user(true_population, wrong, "a")
